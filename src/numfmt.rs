//! Integers and calendar dates as text without allocation: the one digit writer and the one
//! day-count-to-date conversion, shared by the FIX encoder (on the engine thread, per order)
//! and the journal decoder (`oms decode`, millions of records a second).

/// Most bytes an unsigned integer takes.
pub const U64_DIGITS: usize = 20;

/// "00" to "99": two digits per division (the encoder writes a dozen integers per message).
pub const DIGIT_PAIRS: &[u8; 200] = b"0001020304050607080910111213141516171819\
2021222324252627282930313233343536373839\
4041424344454647484950515253545556575859\
6061626364656667686970717273747576777879\
8081828384858687888990919293949596979899";

/// Writes `v` in decimal at the end of `out`; returns the digits used.
#[inline]
pub fn write_u64(out: &mut [u8; U64_DIGITS], mut v: u64) -> &[u8] {
    let mut i = U64_DIGITS;
    while v >= 100 {
        let p = (v % 100) as usize * 2;
        v /= 100;
        i -= 2;
        out[i..i + 2].copy_from_slice(&DIGIT_PAIRS[p..p + 2]);
    }
    if v >= 10 {
        let p = v as usize * 2;
        i -= 2;
        out[i..i + 2].copy_from_slice(&DIGIT_PAIRS[p..p + 2]);
    } else {
        i -= 1;
        out[i] = b'0' + v as u8;
    }
    &out[i..]
}

/// Days since 1970-01-01 to (year, month, day) in the proleptic Gregorian calendar
/// (H. Hinnant's `civil_from_days`).
pub fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

/// Most bytes [`write_price_like`] writes: a sign, six integer digits, a point, eight decimals.
pub const PRICE_LIKE_BYTES: usize = 16;

const POW10: [f64; 9] = [1.0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8];
const IPOW10: [u64; 9] = [1, 10, 100, 1_000, 10_000, 100_000, 1_000_000, 10_000_000, 100_000_000];

/// Writes `v` exactly as `format!("{v}")` does (the shortest decimal that reads back as `v`,
/// never an exponent) for the values prices take: `0 < |v| < 10⁶` with at most eight
/// decimals. `None` for any other value: the caller formats it with `Display`. A fraction of the
/// cost of `Display`'s general shortest-digits search (`oms decode` prints one per record).
///
/// Why it is the same string: below 10⁶ the doubles are closer together than 10⁻⁸, so for each
/// number of decimals `k` at most one `n / 10ᵏ` reads back as `v`; the smallest such `k`
/// gives the fewest digits, which is the string `Display` picks. Whether `n / 10ᵏ` reads back
/// as `v` is checked exactly: `n` and `10ᵏ` are exact doubles and their quotient is correctly
/// rounded.
pub fn write_price_like(out: &mut [u8; PRICE_LIKE_BYTES], v: f64) -> Option<&[u8]> {
    let a = v.abs();
    // Also false for NaN.
    if !(a > 0.0 && a < 1e6) {
        return None;
    }
    let (k, n) = (0..POW10.len()).find_map(|k| {
        let n = (a * POW10[k]).round();
        (n / POW10[k] == a).then_some((k, n as u64))
    })?;
    let mut digits = [0; U64_DIGITS];
    let int = write_u64(&mut digits, n / IPOW10[k]);
    let mut len = 0;
    let mut put = |bytes: &[u8]| {
        out[len..len + bytes.len()].copy_from_slice(bytes);
        len += bytes.len();
    };
    if v < 0.0 {
        put(b"-");
    }
    put(int);
    if k > 0 {
        put(b".");
        let frac = n % IPOW10[k];
        // The decimals with their leading zeros: `frac + 10ᵏ` without its leading 1.
        let padded = write_u64(&mut digits, frac + IPOW10[k]);
        put(&padded[1..]);
    }
    Some(&out[..len])
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn display_or_none(v: f64) -> Option<String> {
        let mut b = [0; PRICE_LIKE_BYTES];
        write_price_like(&mut b, v).map(|s| String::from_utf8(s.to_vec()).expect("ascii"))
    }

    #[test]
    fn prices_print_as_display_does() {
        for v in
            [100.25, 0.1, 0.5, 1.0, 999_999.999_999_99, 123.456_789_01, 1e-8, 0.000_123, 42.0, -3.5, 0.07]
        {
            assert_eq!(display_or_none(v), Some(format!("{v}")), "{v}");
        }
        // Not a price-like value: left to Display.
        for v in [0.0, -0.0, 0.1 + 0.2, 1e6, 1e-9, f64::NAN, f64::INFINITY, 1.234_567_891_234_5] {
            assert_eq!(display_or_none(v), None, "{v}");
        }
    }

    proptest! {
        #[test]
        fn any_double_prints_as_display_or_is_left_to_it(bits in any::<u64>()) {
            let v = f64::from_bits(bits);
            if let Some(s) = display_or_none(v) {
                prop_assert_eq!(s, format!("{v}"));
            }
        }

        #[test]
        fn decimals_print_as_display(n in 1u64..100_000_000_000_000, k in 0usize..=8, neg in any::<bool>()) {
            let v = n as f64 / POW10[k] * if neg { -1.0 } else { 1.0 };
            if v.abs() < 1e6 {
                prop_assert_eq!(display_or_none(v), Some(format!("{v}")));
            }
        }
    }

    #[test]
    fn civil_dates() {
        assert_eq!(civil_from_days(0), (1970, 1, 1));
        assert_eq!(civil_from_days(19_724), (2024, 1, 2));
        assert_eq!(civil_from_days(-1), (1969, 12, 31));
        assert_eq!(civil_from_days(11_016), (2000, 2, 29));
        assert_eq!(civil_from_days(-719_468), (0, 3, 1));
    }

    #[test]
    fn digits() {
        let mut b = [0; U64_DIGITS];
        for x in [0, 9, 10, 99, 100, 12345, u64::MAX] {
            assert_eq!(write_u64(&mut b, x), x.to_string().as_bytes(), "{x}");
        }
    }
}
