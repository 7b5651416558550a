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

#[cfg(test)]
mod tests {
    use super::*;

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
