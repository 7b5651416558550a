//! The decoder: finds one complete message at the front of a byte stream and checks its frame
//! (BeginString `FIX.4.4`, BodyLength, CheckSum, `tag=value<SOH>` fields, MsgType first) without
//! copying or allocating. A [`Message`] borrows the bytes and looks fields up by a linear scan:
//! session and order messages have a few dozen fields and the session reads a handful of them.
//!
//! Any byte sequence gives `Ok(None)` (need more bytes), a message, or a [`DecodeError`]; nothing
//! panics (a proptest feeds arbitrary bytes). A framing error on a TCP stream leaves no reliable
//! way to find the next message, so the session treats it as fatal for the connection.

use std::fmt;

use super::encode::checksum;
use super::tags;
use super::text::{self, Masked};

pub use super::tags::SOH;
const BEGIN: &[u8] = b"8=FIX.4.4\x019=";

/// Why the bytes at the front of the stream are not a FIX 4.4 message.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum DecodeError {
    /// The stream does not start with `8=FIX.4.4|9=`.
    #[error("the message does not start with 8=FIX.4.4|9=")]
    BadBeginString,
    /// BodyLength (9) is not a number of at most 7 digits followed by SOH.
    #[error("BodyLength (9) is not a number")]
    BadBodyLength,
    /// The message would be longer than the receive buffer allows.
    #[error("message of {0} bytes is longer than the receive buffer")]
    TooLong(usize),
    /// The body is not followed by `10=NNN|`.
    #[error("no CheckSum (10) where BodyLength (9) says the body ends")]
    BadTrailer,
    /// The CheckSum does not match the bytes.
    #[error("CheckSum (10) is {got}, the bytes sum to {expected}")]
    BadChecksum {
        /// What the bytes sum to.
        expected: u8,
        /// What the message says.
        got: u8,
    },
    /// A field of the body is not `tag=value|` with a numeric tag, or MsgType (35) is not first.
    #[error("malformed field at byte {0} of the body")]
    BadField(usize),
}

/// One decoded message, borrowing the receive buffer.
#[derive(Clone, Copy)]
pub struct Message<'a> {
    /// The whole message, `8=` to the final SOH.
    raw: &'a [u8],
    /// The body: from `35=` to the SOH before `10=`.
    body: &'a [u8],
}

impl fmt::Debug for Message<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Message({})", Masked(self.raw))
    }
}

/// The fields of a body, in order: `(tag, value)`.
#[derive(Clone, Debug)]
pub struct Fields<'a> {
    rest: &'a [u8],
}

impl<'a> Iterator for Fields<'a> {
    type Item = (u32, &'a [u8]);

    fn next(&mut self) -> Option<Self::Item> {
        // The body was checked by `decode`: every field is `digits=value<SOH>`.
        let end = self.rest.iter().position(|&b| b == SOH)?;
        let field = &self.rest[..end];
        self.rest = &self.rest[end + 1..];
        let eq = field.iter().position(|&b| b == b'=')?;
        let tag = text::parse_u64(&field[..eq]).and_then(|t| u32::try_from(t).ok())?;
        Some((tag, &field[eq + 1..]))
    }
}

impl<'a> Message<'a> {
    /// The whole message as received.
    pub fn raw(&self) -> &'a [u8] {
        self.raw
    }

    /// The message rendered for people, password masked.
    pub fn masked(&self) -> Masked<'a> {
        Masked(self.raw)
    }

    /// The body's fields in order (MsgType first).
    pub fn fields(&self) -> Fields<'a> {
        Fields { rest: self.body }
    }

    /// The first value of `tag`.
    #[inline]
    pub fn get(&self, tag: u32) -> Option<&'a [u8]> {
        // Compare the tag's digits rather than parse every field's tag.
        let mut d = [0u8; text::U64_DIGITS];
        let digits = text::write_u64(&mut d, u64::from(tag));
        let n = digits.len();
        let mut rest = self.body;
        while !rest.is_empty() {
            let end = rest.iter().position(|&b| b == SOH)?;
            let field = &rest[..end];
            if field.len() > n && field[n] == b'=' && &field[..n] == digits {
                return Some(&field[n + 1..]);
            }
            rest = &rest[end + 1..];
        }
        None
    }

    /// The first value of `tag` as an unsigned integer.
    pub fn get_u64(&self, tag: u32) -> Option<u64> {
        self.get(tag).and_then(text::parse_u64)
    }

    /// The first value of `tag` as text (`""` when absent or not UTF-8).
    pub fn get_str(&self, tag: u32) -> &'a str {
        self.get(tag).and_then(|v| std::str::from_utf8(v).ok()).unwrap_or("")
    }

    /// Whether `tag` is `Y`.
    pub fn flag(&self, tag: u32) -> bool {
        self.get(tag) == Some(b"Y")
    }

    /// MsgType (35): always present, `decode` checks it is the first field.
    pub fn msg_type(&self) -> &'a [u8] {
        self.get(tags::MSG_TYPE).unwrap_or_default()
    }

    /// MsgSeqNum (34).
    pub fn seq_num(&self) -> Option<u64> {
        self.get_u64(tags::MSG_SEQ_NUM)
    }
}

/// Decodes the message at the front of `buf`: `Ok(None)` if more bytes are needed, or the message
/// and the number of bytes it takes. A message longer than `max_len` bytes is an error, so a
/// bogus BodyLength cannot make the caller wait for bytes that would not fit.
pub fn decode(buf: &[u8], max_len: usize) -> Result<Option<(Message<'_>, usize)>, DecodeError> {
    let n = buf.len().min(BEGIN.len());
    if buf[..n] != BEGIN[..n] {
        return Err(DecodeError::BadBeginString);
    }
    if buf.len() <= BEGIN.len() {
        return Ok(None);
    }
    let digits_at = BEGIN.len();
    let Some(len_end) = buf[digits_at..].iter().take(8).position(|&b| b == SOH) else {
        // At most 7 digits then SOH: more than 7 non-SOH bytes is not a length.
        return if buf.len() - digits_at >= 8 { Err(DecodeError::BadBodyLength) } else { Ok(None) };
    };
    let body_len = text::parse_u64(&buf[digits_at..digits_at + len_end]).ok_or(DecodeError::BadBodyLength)?;
    let body_start = digits_at + len_end + 1;
    let total = (body_start as u64).saturating_add(body_len).saturating_add(7);
    if total > max_len as u64 {
        return Err(DecodeError::TooLong(usize::try_from(total).unwrap_or(usize::MAX)));
    }
    let (total, body_end) = (total as usize, body_start + body_len as usize);
    if buf.len() < total {
        return Ok(None);
    }
    let trailer = &buf[body_end..total];
    if &trailer[..3] != b"10=" || trailer[6] != SOH {
        return Err(DecodeError::BadTrailer);
    }
    let got = text::parse_u64(&trailer[3..6]).ok_or(DecodeError::BadTrailer)?;
    let expected = checksum(&buf[..body_end]);
    if got != u64::from(expected) {
        return Err(DecodeError::BadChecksum { expected, got: got.min(255) as u8 });
    }
    let body = &buf[body_start..body_end];
    check_fields(body)?;
    Ok(Some((Message { raw: &buf[..total], body }, total)))
}

/// Every field is `tag=value<SOH>` (the tag: digits, no leading zero; the value: not empty, no
/// SOH), and the first is 35.
fn check_fields(body: &[u8]) -> Result<(), DecodeError> {
    if !body.starts_with(b"35=") || body.last() != Some(&SOH) {
        return Err(DecodeError::BadField(0));
    }
    let mut at = 0;
    while at < body.len() {
        let end = at + body[at..].iter().position(|&b| b == SOH).ok_or(DecodeError::BadField(at))?;
        let field = &body[at..end];
        let eq = field.iter().position(|&b| b == b'=').ok_or(DecodeError::BadField(at))?;
        // A tag is a positive number without leading zeros: `008` would be tag 8 to `fields`
        // and no tag at all to `get`, which compares digits.
        let tag_ok = eq > 0 && eq <= 9 && field[0] != b'0' && field[..eq].iter().all(u8::is_ascii_digit);
        if !tag_ok || eq + 1 == field.len() {
            return Err(DecodeError::BadField(at));
        }
        at = end + 1;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;
    use crate::exchange::fix::encode::MessageWriter;

    fn encode(msg_type: &[u8], fields: &[(u32, Vec<u8>)]) -> Vec<u8> {
        let mut buf = Vec::with_capacity(1 << 16);
        let mut w = MessageWriter::begin(&mut buf, msg_type);
        for (t, v) in fields {
            w.str(*t, v);
        }
        w.finish().unwrap();
        buf
    }

    #[test]
    fn a_message_from_quickfix_decodes() {
        // A Logon as QuickFIX 1.15 writes it (checksum computed by hand).
        let body = "35=A\x0134=1\x0149=EXCH\x0152=20251201-14:00:00.000\x0156=OMS\x0198=0\x01108=30\x01";
        let head = format!("8=FIX.4.4\x019={}\x01{body}", body.len());
        let sum = head.bytes().map(u32::from).sum::<u32>() % 256;
        let raw = format!("{head}10={sum:03}\x01");
        let (m, n) = decode(raw.as_bytes(), 4096).unwrap().unwrap();
        assert_eq!(n, raw.len());
        assert_eq!((m.msg_type(), m.seq_num(), m.get(108)), (&b"A"[..], Some(1), Some(&b"30"[..])));
        assert_eq!(m.get_str(49), "EXCH");
        assert_eq!(m.get(999), None);
    }

    #[test]
    fn framing_errors_are_named() {
        let good = encode(b"0", &[(34, b"2".to_vec())]);
        let mut bad_sum = good.clone();
        let at = bad_sum.len() - 2;
        bad_sum[at] = if bad_sum[at] == b'0' { b'1' } else { b'0' };
        assert!(matches!(decode(&bad_sum, 4096), Err(DecodeError::BadChecksum { .. })));
        assert_eq!(decode(b"8=FIX.4.2\x019=5\x01", 4096).unwrap_err(), DecodeError::BadBeginString);
        assert_eq!(decode(b"9=5", 4096).unwrap_err(), DecodeError::BadBeginString);
        assert_eq!(decode(b"8=FIX.4.4\x019=12345678", 4096).unwrap_err(), DecodeError::BadBodyLength);
        assert_eq!(decode(b"8=FIX.4.4\x019=x\x01", 4096).unwrap_err(), DecodeError::BadBodyLength);
        assert_eq!(decode(b"8=FIX.4.4\x019=9999\x01", 4096).unwrap_err(), DecodeError::TooLong(10023));
        // BodyLength one short: the trailer is not where it says.
        let s = String::from_utf8(good.clone()).unwrap();
        let len: usize = s.split('\x01').nth(1).unwrap()[2..].parse().unwrap();
        let short = s.replacen(&format!("9={len}"), &format!("9={}", len - 1), 1);
        assert_eq!(decode(short.as_bytes(), 4096).unwrap_err(), DecodeError::BadTrailer);
        // A field without '=' (checksum fixed so only the field is wrong).
        let body = "35=0\x0134\x01";
        let head = format!("8=FIX.4.4\x019={}\x01{body}", body.len());
        let sum = head.bytes().map(u32::from).sum::<u32>() % 256;
        let raw = format!("{head}10={sum:03}\x01");
        assert_eq!(decode(raw.as_bytes(), 4096).unwrap_err(), DecodeError::BadField(5));
    }

    #[test]
    fn every_prefix_of_a_message_is_incomplete_not_an_error() {
        let m = encode(b"D", &[(11, b"42".to_vec()), (55, b"ACME".to_vec())]);
        for cut in 0..m.len() {
            assert_eq!(decode(&m[..cut], 4096).map(|o| o.is_none()), Ok(true), "cut at {cut}");
        }
        let mut two = m.clone();
        two.extend_from_slice(&m);
        let (_, n) = decode(&two, 4096).unwrap().unwrap();
        assert_eq!(n, m.len());
    }

    fn value() -> impl Strategy<Value = Vec<u8>> {
        prop::collection::vec(any::<u8>().prop_filter("no SOH", |b| *b != SOH), 1..40)
    }

    proptest! {
        #[test]
        fn round_trip(
            msg_type in prop::sample::select(vec![&b"0"[..], b"8", b"D", b"AE"]),
            fields in prop::collection::vec((1u32..100_000, value()), 0..20),
        ) {
            let fields: Vec<(u32, Vec<u8>)> = fields.into_iter().filter(|(t, _)| *t != 35).collect();
            let raw = encode(msg_type, &fields);
            let (m, n) = decode(&raw, 1 << 16).unwrap().unwrap();
            prop_assert_eq!(n, raw.len());
            prop_assert_eq!(m.msg_type(), msg_type);
            let got: Vec<(u32, Vec<u8>)> = m.fields().skip(1).map(|(t, v)| (t, v.to_vec())).collect();
            prop_assert_eq!(got, fields);
            // Body length and checksum are the spec's.
            let text = String::from_utf8_lossy(&raw).into_owned();
            let body_start = text.find("35=").unwrap();
            let body_end = raw.len() - 7;
            let nine: usize = text[12..body_start - 1].parse().unwrap();
            prop_assert_eq!(nine, body_end - body_start);
            let sum = raw[..body_end].iter().map(|&b| u32::from(b)).sum::<u32>() % 256;
            let trailer = format!("10={sum:03}\x01");
            prop_assert_eq!(&raw[body_end..], trailer.as_bytes());
        }

        #[test]
        fn arbitrary_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..300)) {
            if let Ok(Some((m, n))) = decode(&bytes, 4096) {
                prop_assert!(n <= bytes.len());
                let _ = (m.msg_type(), m.seq_num(), m.fields().count(), m.masked().to_string());
            }
        }

        #[test]
        fn corrupted_messages_never_panic(
            seed in prop::collection::vec((1u32..1000, value()), 0..8),
            flips in prop::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..4),
        ) {
            let mut raw = encode(b"8", &seed);
            for (i, b) in flips {
                let at = i.index(raw.len());
                raw[at] = b;
            }
            if let Ok(Some((m, _))) = decode(&raw, 4096) {
                let _ = (m.fields().count(), m.get(11), m.masked().to_string());
            }
        }
    }
}
