//! The encoder: one message at a time appended to a caller's buffer whose capacity was reserved
//! up front, so encoding never allocates (`Vec::extend_from_slice` within capacity does not).
//!
//! BodyLength (9) is only known once the body is written, and FIX wants it without leading
//! zeros. The writer reserves room for the longest header prefix, writes the body after it, then
//! writes `8=FIX.4.4|9=N|` right-aligned against the body and moves the message down over the
//! unused part of the reservation (one `copy_within` of the message, ~200 bytes for an order).
//! CheckSum (10) is the byte sum modulo 256 of everything before it, in three digits.
//!
//! A message that does not fit in the remaining capacity is not written at all: the buffer is
//! left as it was and [`MessageWriter::finish`] says [`EncodeError::NoRoom`].

use super::tags;
use super::text::{self, PRICE_BYTES, TIMESTAMP_BYTES, U64_DIGITS};

/// `8=FIX.4.4<SOH>9=`.
const PREFIX_HEAD: &[u8] = b"8=FIX.4.4\x019=";
/// Longest BodyLength written: 7 digits (bodies are far below 10 MB).
const MAX_BODY_DIGITS: usize = 7;
/// Room reserved in front of the body for `8=FIX.4.4|9=NNNNNNN|`.
const RESERVE: usize = PREFIX_HEAD.len() + MAX_BODY_DIGITS + 1;
/// `10=NNN<SOH>`.
const TRAILER_BYTES: usize = 7;

/// Why a message was not written (the buffer is left unchanged either way).
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum EncodeError {
    /// No room left in the outbound buffer.
    #[error("no room left in the outbound buffer for the message")]
    NoRoom,
    /// A value has no FIX form (a price that is not finite, negative, or above ~1.8e11).
    #[error("a value of the message has no FIX form")]
    BadValue,
}

/// Appends one message to a buffer. Create with [`MessageWriter::begin`], add fields in order,
/// then [`MessageWriter::finish`].
pub struct MessageWriter<'b> {
    buf: &'b mut Vec<u8>,
    start: usize,
    body_start: usize,
    overflow: bool,
    bad_value: bool,
}

impl std::fmt::Debug for MessageWriter<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never the bytes: a Logon being written holds the password.
        f.debug_struct("MessageWriter")
            .field("start", &self.start)
            .field("len", &(self.buf.len() - self.start))
            .finish_non_exhaustive()
    }
}

impl<'b> MessageWriter<'b> {
    /// Starts a message of type `msg_type` (35) at the end of `buf`.
    #[inline]
    pub fn begin(buf: &'b mut Vec<u8>, msg_type: &[u8]) -> Self {
        let start = buf.len();
        let mut w =
            MessageWriter { buf, start, body_start: start + RESERVE, overflow: false, bad_value: false };
        w.raw(&[0; RESERVE]);
        w.str(tags::MSG_TYPE, msg_type);
        w
    }

    #[inline]
    fn raw(&mut self, bytes: &[u8]) {
        if self.overflow || self.buf.capacity() - self.buf.len() < bytes.len() {
            self.overflow = true;
            return;
        }
        self.buf.extend_from_slice(bytes);
    }

    #[inline]
    fn tag(&mut self, tag: u32) {
        let mut d = [0; U64_DIGITS];
        self.raw(text::write_u64(&mut d, u64::from(tag)));
        self.raw(b"=");
    }

    /// A field with a text value (written as is: the caller keeps SOH out of it).
    #[inline]
    pub fn str(&mut self, tag: u32, value: &[u8]) -> &mut Self {
        self.tag(tag);
        self.raw(value);
        self.raw(b"\x01");
        self
    }

    /// A field with an unsigned integer value.
    #[inline]
    pub fn uint(&mut self, tag: u32, value: u64) -> &mut Self {
        let mut d = [0; U64_DIGITS];
        let digits = text::write_u64(&mut d, value);
        self.str(tag, digits)
    }

    /// A field with a one-character value.
    #[inline]
    pub fn char(&mut self, tag: u32, value: u8) -> &mut Self {
        self.str(tag, &[value])
    }

    /// A price field; a price that cannot be written in plain decimal (see
    /// [`text::write_price`]) makes the message fail with [`EncodeError::BadValue`].
    #[inline]
    pub fn price(&mut self, tag: u32, value: f64) -> &mut Self {
        let mut d = [0; PRICE_BYTES];
        match text::write_price(&mut d, value) {
            Some(p) => self.str(tag, p),
            None => {
                self.bad_value = true;
                self
            }
        }
    }

    /// A UTC timestamp field (`YYYYMMDD-HH:MM:SS.sss`) from wall-clock ns since the epoch.
    #[inline]
    pub fn timestamp(&mut self, tag: u32, wall_ns: i64) -> &mut Self {
        let mut t = [0; TIMESTAMP_BYTES];
        text::write_timestamp(&mut t, wall_ns);
        self.str(tag, &t)
    }

    /// Writes BodyLength and CheckSum. On success the message occupies `buf[start..]` and its
    /// length is returned; on an error the buffer is truncated back to where it was.
    #[inline]
    pub fn finish(self) -> Result<usize, EncodeError> {
        // The trailer's room is checked before anything moves.
        if self.bad_value {
            self.buf.truncate(self.start);
            return Err(EncodeError::BadValue);
        }
        if self.overflow || self.buf.capacity() - self.buf.len() < TRAILER_BYTES {
            self.buf.truncate(self.start);
            return Err(EncodeError::NoRoom);
        }
        let body_len = self.buf.len() - self.body_start;
        let mut d = [0; U64_DIGITS];
        let digits = text::write_u64(&mut d, body_len as u64);
        if digits.len() > MAX_BODY_DIGITS {
            self.buf.truncate(self.start);
            return Err(EncodeError::NoRoom);
        }
        let prefix_len = PREFIX_HEAD.len() + digits.len() + 1;
        let at = self.body_start - prefix_len;
        let b = &mut self.buf[..];
        b[at..at + PREFIX_HEAD.len()].copy_from_slice(PREFIX_HEAD);
        b[at + PREFIX_HEAD.len()..self.body_start - 1].copy_from_slice(digits);
        b[self.body_start - 1] = 0x01;
        let end = b.len();
        b.copy_within(at..end, self.start);
        let end = end - (at - self.start);
        self.buf.truncate(end);
        let sum = checksum(&self.buf[self.start..]);
        let trailer = [b'1', b'0', b'=', b'0' + sum / 100, b'0' + (sum / 10) % 10, b'0' + sum % 10, 0x01];
        self.buf.extend_from_slice(&trailer);
        Ok(self.buf.len() - self.start)
    }
}

/// The FIX checksum: the byte sum modulo 256.
#[inline]
pub fn checksum(bytes: &[u8]) -> u8 {
    bytes.iter().fold(0u8, |acc, &b| acc.wrapping_add(b))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn body_length_and_checksum_are_those_of_the_spec() {
        let mut buf = Vec::with_capacity(256);
        buf.extend_from_slice(b"prior");
        let mut w = MessageWriter::begin(&mut buf, b"0");
        w.uint(34, 2).str(49, b"A").str(56, b"B").str(554, b"hunter2");
        assert!(!format!("{w:?}").contains("hunter2"));
        let n = w.finish().unwrap();
        let msg = &buf[5..];
        assert_eq!(n, msg.len());
        let body = b"35=0\x0134=2\x0149=A\x0156=B\x01554=hunter2\x01";
        let mut want = format!("8=FIX.4.4\x019={}\x01", body.len()).into_bytes();
        want.extend_from_slice(body);
        let sum = want.iter().map(|&b| u32::from(b)).sum::<u32>() % 256;
        want.extend_from_slice(format!("10={sum:03}\x01").as_bytes());
        assert_eq!(msg, &want[..]);
        assert_eq!(&buf[..5], b"prior");
    }

    #[test]
    fn a_message_that_does_not_fit_leaves_the_buffer_unchanged() {
        let mut buf = Vec::with_capacity(40);
        buf.extend_from_slice(b"xy");
        let cap = buf.capacity();
        let mut w = MessageWriter::begin(&mut buf, b"D");
        w.str(58, &[b'a'; 64]);
        assert_eq!(w.finish(), Err(EncodeError::NoRoom));
        assert_eq!(buf, b"xy");
        assert_eq!(buf.capacity(), cap, "never grows");
        // A price that has no plain decimal form fails the message too.
        let mut buf = Vec::with_capacity(256);
        let mut w = MessageWriter::begin(&mut buf, b"D");
        w.price(44, f64::INFINITY);
        assert_eq!(w.finish(), Err(EncodeError::BadValue));
        assert!(buf.is_empty());
    }
}
