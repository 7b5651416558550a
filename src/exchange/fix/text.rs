//! Numbers and times as FIX writes them, without allocation: unsigned integers, prices in plain
//! decimal (FIX has no exponent form), UTC timestamps `YYYYMMDD-HH:MM:SS.sss`; and the parsers for
//! what comes back. Plus [`Masked`], the one way a message is ever rendered as text: SOH shown as
//! `|` and the password (554) as `***`.

use std::fmt;

use super::tags;
use crate::numfmt::civil_from_days;

pub use crate::numfmt::{DIGIT_PAIRS, U64_DIGITS, write_u64};

/// Decimal places kept for a price: `f64` holds 15-16 significant digits, and no venue ticks finer.
pub const PRICE_DECIMALS: u32 = 8;

/// Room for any price [`write_price`] writes.
pub const PRICE_BYTES: usize = 32;

/// Writes a finite, non-negative price in plain decimal, rounded to [`PRICE_DECIMALS`] places,
/// trailing zeros dropped (`100.25`, `7`, `0.00000001`). Returns the bytes used, or `None` for a
/// value that is not finite, negative, or too large for 8 decimals in a `u64` (above ~1.8e11).
pub fn write_price(out: &mut [u8; PRICE_BYTES], price: f64) -> Option<&[u8]> {
    const SCALE: f64 = 100_000_000.0;
    if !price.is_finite() || price < 0.0 {
        return None;
    }
    let scaled = (price * SCALE).round();
    if scaled >= u64::MAX as f64 {
        return None;
    }
    let scaled = scaled as u64;
    let (int, mut frac) = (scaled / 100_000_000, scaled % 100_000_000);
    let mut digits = [0u8; U64_DIGITS];
    let int = write_u64(&mut digits, int);
    let mut n = int.len();
    out[..n].copy_from_slice(int);
    if frac != 0 {
        let mut places = PRICE_DECIMALS as usize;
        while frac % 10 == 0 {
            frac /= 10;
            places -= 1;
        }
        out[n] = b'.';
        n += 1;
        for i in (0..places).rev() {
            out[n + i] = b'0' + (frac % 10) as u8;
            frac /= 10;
        }
        n += places;
    }
    Some(&out[..n])
}

/// Bytes of a UTC timestamp with milliseconds: `YYYYMMDD-HH:MM:SS.sss`.
pub const TIMESTAMP_BYTES: usize = 21;

/// Writes wall-clock `ns` since the Unix epoch as `YYYYMMDD-HH:MM:SS.sss` (UTC). Times before
/// 1970 are written as the epoch.
pub fn write_timestamp(out: &mut [u8; TIMESTAMP_BYTES], wall_ns: i64) {
    let ms_total = (wall_ns.max(0) / 1_000_000) as u64;
    let ms = ms_total % 1000;
    let secs = ms_total / 1000;
    let (y, m, d) = civil_from_days((secs / 86_400) as i64);
    let sod = secs % 86_400;
    let (hh, mm, ss) = (sod / 3600, (sod / 60) % 60, sod % 60);
    let two = |o: &mut [u8], v: u64| {
        o[0] = b'0' + (v / 10) as u8;
        o[1] = b'0' + (v % 10) as u8;
    };
    let y = y.clamp(0, 9999) as u64;
    two(&mut out[0..2], y / 100);
    two(&mut out[2..4], y % 100);
    two(&mut out[4..6], m as u64);
    two(&mut out[6..8], d as u64);
    out[8] = b'-';
    two(&mut out[9..11], hh);
    out[11] = b':';
    two(&mut out[12..14], mm);
    out[14] = b':';
    two(&mut out[15..17], ss);
    out[17] = b'.';
    out[18] = b'0' + (ms / 100) as u8;
    two(&mut out[19..21], ms % 100);
}

/// A UTC timestamp formatter that formats the date and time of day once per second and only the
/// milliseconds in between: the session writes two timestamps per order (SendingTime and
/// TransactTime), nearly always within the same second.
#[derive(Clone, Debug)]
pub struct TimestampCache {
    second: i64,
    text: [u8; TIMESTAMP_BYTES],
}

impl Default for TimestampCache {
    fn default() -> Self {
        TimestampCache { second: i64::MIN, text: [0; TIMESTAMP_BYTES] }
    }
}

impl TimestampCache {
    /// `wall_ns` as `YYYYMMDD-HH:MM:SS.sss` (UTC), as [`write_timestamp`] writes it.
    #[inline]
    pub fn format(&mut self, wall_ns: i64) -> &[u8; TIMESTAMP_BYTES] {
        let ns = wall_ns.max(0);
        let second = ns / 1_000_000_000;
        if second != self.second {
            write_timestamp(&mut self.text, ns);
            self.second = second;
        } else {
            let ms = (ns / 1_000_000 % 1000) as u16;
            self.text[18] = b'0' + (ms / 100) as u8;
            self.text[19] = b'0' + (ms / 10 % 10) as u8;
            self.text[20] = b'0' + (ms % 10) as u8;
        }
        &self.text
    }
}

/// Parses an unsigned decimal integer (no sign, no spaces, at most 19 digits); `None` otherwise.
pub fn parse_u64(v: &[u8]) -> Option<u64> {
    if v.is_empty() || v.len() > 19 {
        return None;
    }
    v.iter().try_fold(0u64, |acc, &b| b.is_ascii_digit().then(|| acc * 10 + u64::from(b - b'0')))
}

/// Parses a FIX quantity that is a whole number (`100`, `100.0`); `None` for fractions or junk.
pub fn parse_qty(v: &[u8]) -> Option<u64> {
    match v.iter().position(|&b| b == b'.') {
        None => parse_u64(v),
        Some(dot) if v[dot + 1..].iter().all(|&b| b == b'0') => parse_u64(&v[..dot]),
        Some(_) => None,
    }
}

/// Parses a FIX price or float (`100.25`, `-3`, `.5`); `None` for anything else.
pub fn parse_f64(v: &[u8]) -> Option<f64> {
    // FIX floats are digits, at most one '.', an optional leading '-': check that first so that
    // Rust's wider syntax (`inf`, `1e5`, `+1`) is not accepted.
    let digits = v.strip_prefix(b"-").unwrap_or(v);
    let dots = digits.iter().filter(|&&b| b == b'.').count();
    let ok = !digits.is_empty() && dots <= 1 && digits.iter().all(|&b| b.is_ascii_digit() || b == b'.');
    if !ok || digits == b"." {
        return None;
    }
    std::str::from_utf8(v).ok()?.parse().ok()
}

/// A message (or any run of fields) rendered for people: SOH as `|`, the password (554) as
/// `***`. Every log line, error and `Debug` output of a message goes through this.
#[derive(Clone, Copy)]
pub struct Masked<'a>(pub &'a [u8]);

impl fmt::Display for Masked<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut first = true;
        for field in self.0.split(|&b| b == tags::SOH) {
            if field.is_empty() {
                continue;
            }
            if !first {
                f.write_str("|")?;
            }
            first = false;
            let tag = field.iter().position(|&b| b == b'=').map_or(field, |eq| &field[..eq]);
            if parse_u64(tag) == Some(u64::from(tags::PASSWORD)) {
                write!(f, "{}=***", String::from_utf8_lossy(tag))?;
            } else {
                write!(f, "{}", String::from_utf8_lossy(field))?;
            }
        }
        Ok(())
    }
}

impl fmt::Debug for Masked<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "\"{self}\"")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn integers() {
        let mut b = [0; U64_DIGITS];
        assert_eq!(write_u64(&mut b, 0), b"0");
        assert_eq!(write_u64(&mut b, 1234567890), b"1234567890");
        assert_eq!(write_u64(&mut b, u64::MAX), u64::MAX.to_string().as_bytes());
        let mut v = 1u64;
        for _ in 0..200 {
            for x in [v - 1, v, v + 1, v.wrapping_mul(7) / 3] {
                assert_eq!(write_u64(&mut b, x), x.to_string().as_bytes(), "{x}");
            }
            v = v.saturating_mul(3) / 2 + 1;
        }
        assert_eq!(parse_u64(b"0012"), Some(12));
        for bad in [&b""[..], b"-1", b"1a", b" 1", b"12345678901234567890"] {
            assert_eq!(parse_u64(bad), None, "{bad:?}");
        }
        assert_eq!(parse_qty(b"100"), Some(100));
        assert_eq!(parse_qty(b"100.00"), Some(100));
        assert_eq!(parse_qty(b"100.5"), None);
    }

    #[test]
    fn prices_are_plain_decimals() {
        let mut b = [0; PRICE_BYTES];
        let mut p = |v: f64| write_price(&mut b, v).map(|s| String::from_utf8(s.to_vec()).unwrap());
        assert_eq!(p(100.25).as_deref(), Some("100.25"));
        assert_eq!(p(7.0).as_deref(), Some("7"));
        assert_eq!(p(0.1 + 0.2).as_deref(), Some("0.3"));
        assert_eq!(p(0.00000001).as_deref(), Some("0.00000001"));
        assert_eq!(p(1e-12).as_deref(), Some("0"));
        assert_eq!(p(123456789.5).as_deref(), Some("123456789.5"));
        assert_eq!(p(f64::NAN), None);
        assert_eq!(p(-1.0), None);
        assert_eq!(p(1e300), None);
        assert_eq!(parse_f64(b"100.25"), Some(100.25));
        assert_eq!(parse_f64(b"-3"), Some(-3.0));
        for bad in [&b""[..], b".", b"1e5", b"inf", b"+1", b"1.2.3", b"NaN"] {
            assert_eq!(parse_f64(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn timestamps_match_jiff() {
        let mut b = [0; TIMESTAMP_BYTES];
        for (s, want) in [
            ("1970-01-01T00:00:00Z", "19700101-00:00:00.000"),
            ("2000-02-29T23:59:59.999Z", "20000229-23:59:59.999"),
            ("2026-12-01T13:53:48.123456789Z", "20261201-13:53:48.123"),
            ("2100-03-01T00:00:00.5Z", "21000301-00:00:00.500"),
        ] {
            let ns = s.parse::<jiff::Timestamp>().unwrap().as_nanosecond() as i64;
            write_timestamp(&mut b, ns);
            assert_eq!(std::str::from_utf8(&b).unwrap(), want);
        }
        // Every third day until 2260 (i64 ns ends in 2262) agrees with jiff.
        for day in (0..106_000i64).step_by(3) {
            let ns = day * 86_400_000_000_000;
            write_timestamp(&mut b, ns);
            let ts = jiff::Timestamp::from_nanosecond(i128::from(ns)).unwrap();
            let want = ts.strftime("%Y%m%d-%H:%M:%S.000").to_string();
            assert_eq!(std::str::from_utf8(&b).unwrap(), want);
        }
    }

    #[test]
    fn the_cache_formats_as_write_timestamp_does() {
        let mut cache = TimestampCache::default();
        let mut b = [0; TIMESTAMP_BYTES];
        let mut t = 1_764_597_599_998_000_000i64;
        for step in [0, 1, 999_999, 1_000_000, 1_000_000, 3_000_000, 86_400_000_000_000, 7, -5] {
            t += step;
            write_timestamp(&mut b, t);
            assert_eq!(cache.format(t), &b, "at {t}");
        }
    }

    #[test]
    fn the_password_is_masked() {
        let m = b"8=FIX.4.4\x019=5\x0135=A\x01553=u\x01554=hunter2\x0110=000\x01";
        let s = Masked(m).to_string();
        assert!(!s.contains("hunter2"), "{s}");
        assert!(s.contains("553=u|554=***|10=000"), "{s}");
        assert!(!format!("{:?}", Masked(m)).contains("hunter2"));
    }
}
