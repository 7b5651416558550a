//! The 64-byte event record: everything the engine decides becomes one of these, and this file
//! is its one encoding.
//!
//! [`EventRecord`] is the decoded, typed form. [`EventRecord::to_words`] is the only place that
//! lays a record out: eight little-endian 64-bit words, the wire form. The byte form
//! ([`words_to_bytes`]), the checksum ([`seal`], [`checksum`]) and the decoding
//! ([`EventRecord::from_words`]) all derive from it; `docs/journal-format.md` is the byte-level
//! contract.
//!
//! | offset | word | field        | type | meaning                                                   |
//! |-------:|-----:|--------------|------|-----------------------------------------------------------|
//! | 0      | 0    | `seq`        | u64  | 1, 2, 3 … per journal; 0 = not yet published              |
//! | 8      | 1    | `time_ns`    | i64  | wall-clock time, ns since the Unix epoch (UTC)            |
//! | 16     | 2    | `order_id`   | u64  | order the event concerns (0 for logon/logout)             |
//! | 24     | 3    | `price`      | f64  | price (as sent, as modified, or as rejected)              |
//! | 32     | 4    | `qty`        | u64  | quantity                                                  |
//! | 40     | 5    | `latency_ns` | u64  | `response`: round trip; `sent`: time inside the OMS       |
//! | 48     | 6    | `symbol_id`  | i32  | symbol id; for `exchange_session`, `execution`, `exchange_reject`: their codes |
//! | 52     | 6    | `side`       | u24  | side as a Unicode scalar (`'B'`, `'S'`, or what came in); 0 n/a |
//! | 55     | 6    | `kind`       | u8   | [`EventKind`]                                             |
//! | 56     | 7    | `reason`     | u8   | [`RejectReason`] for `rejected` events, 0 otherwise       |
//! | 57     | 7    | `response` / `request` | u4 / u4 | low nibble [`ResponseType`], high nibble [`RequestType`] |
//! | 58     | 7    | `producer`   | u16  | index of the producer whose request the event answers; [`ENGINE`] for the engine's own |
//! | 60     | 7    | `checksum`   | u32  | CRC-32C (Castagnoli) of bytes 0..60                       |
//!
//! The three exchange kinds (`exchange_session`, `execution`, `exchange_reject`) concern no
//! instrument: bytes 48..52 hold their codes instead of a symbol id (side 0), and `order_id`,
//! `qty`, `price`, `latency_ns` hold their numbers (see `docs/journal-format.md`). Decoding is
//! strict for them too: a code that is not valid refuses the record. The flat record keeps those
//! bytes in `symbol_id` (a separate field costs the journal append instructions per record;
//! `docs/BENCHMARKS.md`); [`EventRecord::event`] reads them into the typed [`Event`].
//!
//! Building the words from the fields and checksumming those (rather than serializing into a
//! byte array first and reading it back) matters on the hot path: 16-byte loads over a
//! just-built byte array defeat store-to-load forwarding (perf showed it as the hottest
//! instruction of the append; `docs/BENCHMARKS.md`).

use crate::model::{
    DisconnectCause, EventKind, FixCode, RejectReason, RejectSource, RequestType, ResponseType, SessionEvent,
};

mod codes;
mod crc;
mod event;
mod fits;
mod session;

pub(crate) use crc::crc32c_update;
pub use crc::{checksum, checksums, seal, stored_checksum};
pub use event::{Event, Misfit};
pub use session::SessionReport;

/// Size of one record in bytes.
pub const RECORD_SIZE: usize = 64;

/// Bytes covered by the checksum (everything before it).
pub const CHECKSUMMED: usize = 60;

/// The `producer` of an event that answers no producer's request (logon, logout, a clock step):
/// the engine's own.
pub const ENGINE: u16 = u16::MAX;

/// A record's eight little-endian 64-bit words (`words[i]` holds bytes `8i..8i+8`). The checksum
/// lives in the high half of word 7.
pub type Words = [u64; RECORD_SIZE / 8];

/// One engine event, decoded. See the module docs for its wire layout.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct EventRecord {
    /// Sequence number, from 1, assigned by the sink that records the event (0 until then).
    pub seq: u64,
    /// Wall-clock time, ns since the Unix epoch, UTC.
    pub time_ns: i64,
    /// What happened.
    pub kind: EventKind,
    /// Order id (0 for logon/logout).
    pub order_id: u64,
    /// Symbol id. For the exchange kinds (`exchange_session`, `execution`, `exchange_reject`),
    /// which concern no instrument, their codes as stored (bytes 48..52): read them with
    /// [`EventRecord::event`].
    pub symbol_id: i32,
    /// Side as it came in (`'B'`, `'S'`, or what upstream sent); `'\0'` when not applicable.
    pub side: char,
    /// Price.
    pub price: f64,
    /// Quantity.
    pub qty: u64,
    /// Round-trip latency (`response`) or time inside the OMS (`sent`), ns.
    pub latency_ns: u64,
    /// The request this event answers (tells a rejected Modify from a rejected New).
    pub request: RequestType,
    /// The exchange's verdict (`response` and `unmatched_response` events).
    pub response: ResponseType,
    /// Why (`rejected` events).
    pub reason: Option<RejectReason>,
    /// Index of the producer whose request this event answers ([`ENGINE`] for the engine's own
    /// events).
    pub producer: u16,
}

/// The codes of an exchange record, by kind (the encoding's own: readers see them in
/// [`Event`]). Stored in bytes 48..52 (the low half of word 6,
/// little-endian): byte 48 the first code, byte 49 the second, bytes 50..52 zero.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub(crate) enum ExchangeDetail {
    /// Not an exchange record.
    #[default]
    None,
    /// `exchange_session`: what happened (byte 48) and, for `disconnected` only, why (byte 49).
    Session {
        /// What happened.
        event: SessionEvent,
        /// Why the connection ended (`disconnected` only).
        cause: Option<DisconnectCause>,
    },
    /// `execution`: ExecType (150) in byte 48, OrdStatus (39) in byte 49.
    Execution {
        /// ExecType (150).
        exec_type: FixCode,
        /// OrdStatus (39).
        ord_status: FixCode,
    },
    /// `exchange_reject`: who turned the order down (byte 48).
    Reject {
        /// Who.
        source: RejectSource,
    },
}

impl ExchangeDetail {
    /// The detail's four bytes as the low half of word 6.
    #[inline(always)]
    pub(crate) const fn bits(self) -> u32 {
        let (a, b) = match self {
            ExchangeDetail::None => (0, 0),
            ExchangeDetail::Session { event, cause } => (
                event as u8,
                match cause {
                    Some(c) => c as u8,
                    None => 0,
                },
            ),
            ExchangeDetail::Execution { exec_type, ord_status } => (exec_type.byte(), ord_status.byte()),
            ExchangeDetail::Reject { source } => (source as u8, 0),
        };
        a as u32 | (b as u32) << 8
    }

    /// Decodes the detail of a record of `kind` from the low half of its word 6; `Err` names
    /// the field and the raw value that is not valid.
    pub(crate) fn from_bits(kind: EventKind, bits: u32) -> Result<ExchangeDetail, (&'static str, u32)> {
        let (a, b) = (bits as u8, (bits >> 8) as u8);
        if bits >> 16 != 0 {
            return Err(("exchange detail", bits));
        }
        match kind {
            EventKind::ExchangeSession => {
                let event = SessionEvent::from_u8(a).ok_or(("session event", a.into()))?;
                let cause = match (event, b) {
                    (SessionEvent::Disconnected, b) => {
                        Some(DisconnectCause::from_u8(b).ok_or(("disconnect cause", b.into()))?)
                    }
                    (_, 0) => None,
                    (_, b) => return Err(("disconnect cause", b.into())),
                };
                Ok(ExchangeDetail::Session { event, cause })
            }
            EventKind::Execution => Ok(ExchangeDetail::Execution {
                exec_type: FixCode::new(a).ok_or(("exec type", a.into()))?,
                ord_status: FixCode::new(b).ok_or(("ord status", b.into()))?,
            }),
            EventKind::ExchangeReject => {
                let source = RejectSource::from_u8(a).ok_or(("reject source", a.into()))?;
                if b != 0 {
                    return Err(("exchange detail", bits));
                }
                Ok(ExchangeDetail::Reject { source })
            }
            _ if bits == 0 => Ok(ExchangeDetail::None),
            _ => Err(("exchange detail", bits)),
        }
    }
}

/// A record whose words hold a value no field can take (a checksum does not catch a writer
/// of another format version, or a crafted file).
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[error("record seq {seq}: {field} {value} is not a valid value")]
pub struct RecordError {
    /// The record's sequence number (word 0).
    pub seq: u64,
    /// The field.
    pub field: &'static str,
    /// The raw value found.
    pub value: u32,
}

impl EventRecord {
    /// The wire words of this record with sequence number `seq`, checksum half 0 (see [`seal`]).
    /// The one place the layout is written down in code.
    #[inline(always)]
    pub fn to_words(&self, seq: u64) -> Words {
        [
            seq,
            self.time_ns as u64,
            self.order_id,
            self.price.to_bits(),
            self.qty,
            self.latency_ns,
            u64::from(self.symbol_id as u32)
                | (u64::from(u32::from(self.side)) << 32)
                | (u64::from(self.kind as u8) << 56),
            u64::from(self.reason.map_or(0, |r| r as u8))
                | (u64::from(self.response as u8) << 8)
                | (u64::from(self.request as u8) << 12)
                | (u64::from(self.producer) << 16),
        ]
    }

    /// Decodes wire words (the checksum is not checked here: see [`checksum`]).
    #[inline(always)]
    pub fn from_words(w: &Words) -> Result<EventRecord, RecordError> {
        let seq = w[0];
        let bad = |field, value: u32| RecordError { seq, field, value };
        let kind_raw = (w[6] >> 56) as u8;
        let kind = EventKind::from_u8(kind_raw).ok_or_else(|| bad("kind", kind_raw.into()))?;
        let reason = match w[7] as u8 {
            0 => None,
            v => Some(RejectReason::from_u8(v).ok_or_else(|| bad("reason", v.into()))?),
        };
        let response = match (w[7] >> 8) as u8 & 0xf {
            v if v == ResponseType::from_u8(v) as u8 => ResponseType::from_u8(v),
            v => return Err(bad("response", v.into())),
        };
        let request = match (w[7] >> 12) as u8 & 0xf {
            v if v == RequestType::from_u8(v) as u8 => RequestType::from_u8(v),
            v => return Err(bad("request", v.into())),
        };
        let side_raw = (w[6] >> 32) as u32 & 0x00ff_ffff;
        let side = char::from_u32(side_raw).ok_or_else(|| bad("side", side_raw))?;
        let r = EventRecord {
            seq,
            time_ns: w[1] as i64,
            kind,
            order_id: w[2],
            symbol_id: w[6] as u32 as i32,
            side,
            price: f64::from_bits(w[3]),
            qty: w[4],
            latency_ns: w[5],
            request,
            response,
            reason,
            producer: (w[7] >> 16) as u16,
        };
        // Strict: each kind's fields fit it (the typed view reads every decoded record).
        match r.misfit() {
            None => Ok(r),
            Some(Misfit::Request(q)) => Err(bad("request", q as u32)),
            Some(Misfit::Reason(found)) => Err(bad("reason", found.map_or(0, |v| v as u32))),
            Some(Misfit::Response(v)) => Err(bad("response", v as u32)),
            Some(Misfit::Detail(field, value)) => Err(bad(field, value)),
            Some(Misfit::Side) => Err(bad("side", side_raw)),
        }
    }

    /// The same record, answering producer `producer`'s request.
    #[inline(always)]
    pub fn from_producer(self, producer: u16) -> Self {
        EventRecord { producer, ..self }
    }

    /// The complete wire bytes (checksum included) of this record as numbered by its `seq`.
    pub fn to_bytes(&self) -> [u8; RECORD_SIZE] {
        let mut w = self.to_words(self.seq);
        seal(&mut w);
        words_to_bytes(&w)
    }

    /// Decodes wire bytes, checking the checksum first.
    pub fn from_bytes(b: &[u8; RECORD_SIZE]) -> Result<EventRecord, DecodeError> {
        let w = bytes_to_words(b);
        if stored_checksum(&w) != checksum(b) {
            return Err(DecodeError::Checksum { seq: w[0] });
        }
        EventRecord::from_words(&w).map_err(DecodeError::Record)
    }
}

/// Why [`EventRecord::from_bytes`] refused a record.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum DecodeError {
    /// The stored checksum does not match the bytes.
    #[error("checksum mismatch in record seq {seq}")]
    Checksum {
        /// Word 0 as stored (unreliable, since the record is damaged).
        seq: u64,
    },
    /// The checksum matches but a field holds an impossible value.
    #[error(transparent)]
    Record(#[from] RecordError),
}

/// The little-endian bytes of `w`.
#[inline(always)]
pub fn words_to_bytes(w: &Words) -> [u8; RECORD_SIZE] {
    let mut b = [0u8; RECORD_SIZE];
    for (chunk, word) in b.chunks_exact_mut(8).zip(w) {
        chunk.copy_from_slice(&word.to_le_bytes());
    }
    b
}

/// The words of little-endian bytes `b`.
#[inline(always)]
pub fn bytes_to_words(b: &[u8; RECORD_SIZE]) -> Words {
    let mut w = [0u64; RECORD_SIZE / 8];
    for (word, chunk) in w.iter_mut().zip(b.chunks_exact(8)) {
        let mut a = [0u8; 8];
        a.copy_from_slice(chunk);
        *word = u64::from_le_bytes(a);
    }
    w
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::model::{AnswerKind, OrderRequest, OrderState, Side};

    fn sample() -> EventRecord {
        let o = OrderRequest::new(42, -7, Side::Sell, 101.25, 300);
        let event = Event::Rejected {
            order: o,
            request: RequestType::Modify,
            reason: RejectReason::JournalFull,
            value: 0.0,
        };
        let mut r = EventRecord::new(-5, event);
        r.seq = 1234;
        r.latency_ns = 77;
        r.from_producer(3)
    }

    #[test]
    fn a_decoded_record_is_64_bytes() {
        assert_eq!(std::mem::size_of::<EventRecord>(), 64);
    }

    #[test]
    fn words_are_the_documented_offsets() {
        let r = sample();
        let b = r.to_bytes();
        assert_eq!(u64::from_le_bytes(b[0..8].try_into().unwrap()), 1234);
        assert_eq!(i64::from_le_bytes(b[8..16].try_into().unwrap()), -5);
        assert_eq!(u64::from_le_bytes(b[16..24].try_into().unwrap()), 42);
        assert_eq!(f64::from_le_bytes(b[24..32].try_into().unwrap()), 101.25);
        assert_eq!(u64::from_le_bytes(b[32..40].try_into().unwrap()), 300);
        assert_eq!(u64::from_le_bytes(b[40..48].try_into().unwrap()), 77);
        assert_eq!(i32::from_le_bytes(b[48..52].try_into().unwrap()), -7);
        assert_eq!(b[52..55], [b'S', 0, 0]);
        assert_eq!(b[55], EventKind::Rejected as u8);
        assert_eq!(b[56], RejectReason::JournalFull as u8);
        assert_eq!(b[57], ResponseType::Unknown as u8 | (RequestType::Modify as u8) << 4);
        assert_eq!(u16::from_le_bytes(b[58..60].try_into().unwrap()), 3);
        assert_eq!(u32::from_le_bytes(b[60..64].try_into().unwrap()), crc::crc32c_soft(&b[..60]));
    }

    #[test]
    fn bytes_round_trip_and_every_flip_is_caught() {
        let r = sample();
        let b = r.to_bytes();
        assert_eq!(EventRecord::from_bytes(&b), Ok(r));
        for i in 0..RECORD_SIZE {
            for bit in 0..8 {
                let mut c = b;
                c[i] ^= 1 << bit;
                assert!(EventRecord::from_bytes(&c).is_err(), "flip of bit {bit} at byte {i} not caught");
            }
        }
        let mut out = [0u32; 2];
        let two: Vec<u8> = b.iter().chain(b.iter()).copied().collect();
        checksums(&two, &mut out);
        assert_eq!(out, [checksum(&b); 2]);
    }

    fn exchange_samples() -> Vec<EventRecord> {
        let mut v = Vec::new();
        for event in SessionEvent::ALL {
            let report = match event {
                SessionEvent::LoggedOn => SessionReport::LoggedOn { next_out_seq: 5, next_in_seq: 7 },
                SessionEvent::LogonRefused => SessionReport::LogonRefused { retry_in_ns: 500_000_000 },
                SessionEvent::Disconnected => SessionReport::Disconnected {
                    cause: DisconnectCause::SilentPeer,
                    retry_in_ns: 500_000_000,
                },
                SessionEvent::LoggedOut => SessionReport::LoggedOut,
                SessionEvent::ResendRequested => SessionReport::ResendRequested { begin: 5, end: 7 },
                SessionEvent::GapFilled => SessionReport::GapFilled { begin: 5, new_seq: 7 },
                SessionEvent::SequenceReset => SessionReport::SequenceReset { new_seq: 5 },
                SessionEvent::SessionRejected => SessionReport::SessionRejected { ref_seq: 5, code: 7 },
                SessionEvent::Unhandled => SessionReport::Unhandled { seq: 5 },
            };
            v.push(EventRecord::new(9, Event::ExchangeSession(report)));
        }
        let (exec_type, ord_status) = (FixCode::new(b'F').unwrap(), FixCode::new(b'2').unwrap());
        v.push(EventRecord::new(
            10,
            Event::Execution { order_id: 42, last_qty: 100, last_px: 101.25, exec_type, ord_status },
        ));
        let absent = FixCode::ABSENT;
        v.push(EventRecord::new(
            10,
            Event::Execution {
                order_id: 0,
                last_qty: 0,
                last_px: 0.0,
                exec_type: absent,
                ord_status: absent,
            },
        ));
        for source in RejectSource::ALL {
            v.push(EventRecord::new(11, Event::ExchangeReject { order_id: 43, source, code: 99 }));
        }
        v
    }

    /// One event of every kind (some kinds several times), in wire order.
    pub(crate) fn every_kind() -> Vec<Event> {
        let o = OrderRequest::new(42, -7, Side::Sell, 101.25, 300);
        let mut events = vec![
            Event::Logon,
            Event::Logout,
            Event::Queued { order: o },
            Event::Sent { order: o, in_oms_ns: 5 },
            Event::Modified { order: o },
            Event::Cancelled { order: o },
            Event::Rejected {
                order: o,
                request: RequestType::Cancel,
                reason: RejectReason::NotQueued,
                value: 0.0,
            },
            Event::Response { order: o, response: ResponseType::Accept, round_trip_ns: 9 },
            Event::UnmatchedResponse { order_id: 4, response: ResponseType::Reject },
            Event::Unanswered { order: o },
            Event::ClockStep { step_ns: -2_500_000 },
            Event::Recovered { queued: 12, open: 3 },
            Event::SyncFailed,
        ];
        events.extend(exchange_samples().iter().map(EventRecord::event));
        let fill = |complete| Event::Fill {
            order_id: 42,
            symbol_id: -7,
            side: 'S',
            last_qty: 100,
            last_px: 101.5,
            cum_qty: 300,
            complete,
        };
        events.extend([
            Event::CancelQueued { order: o },
            Event::CancelSent { order: o, in_oms_ns: 6 },
            Event::ReplaceQueued { order: o },
            Event::ReplaceSent { order: o, in_oms_ns: 7 },
            fill(false),
            Event::VenueCancelled { order: o, solicited: true, round_trip_ns: 11 },
            Event::VenueCancelled { order: o, solicited: false, round_trip_ns: 0 },
            Event::Replaced { order: o, round_trip_ns: 12 },
            Event::CancelRejected { order: o, request: RequestType::Modify, code: 1 },
            Event::CancelRejected { order: o, request: RequestType::Cancel, code: 0 },
            Event::Expired { order: o },
            Event::UnexpectedReport {
                order_id: 42,
                answer: AnswerKind::Fill,
                state: Some(OrderState::Cancelled),
                qty: 5,
                price: 99.0,
            },
            Event::UnexpectedReport {
                order_id: 43,
                answer: AnswerKind::Replaced,
                state: None,
                qty: 0,
                price: 0.0,
            },
            fill(true),
            Event::Halted,
            Event::Resumed,
            Event::ClientAttached { pid: 4321 },
            Event::ClientDetached { pid: 4321, cause: crate::model::DetachCause::Protocol, cancel: true },
            Event::Reference { symbol: -7, price: 101.25 },
        ]);
        events
    }

    /// Every event, encoded and decoded, is itself: the encoding table and the decoding are
    /// inverses.
    #[test]
    fn the_typed_view_round_trips_every_kind() {
        let events = every_kind();
        let mut kinds: Vec<EventKind> = events.iter().map(Event::kind).collect();
        kinds.dedup();
        assert_eq!(kinds, EventKind::ALL, "one event of every kind, in wire order");
        for (i, e) in events.into_iter().enumerate() {
            let mut r = EventRecord::new(1_000 + i as i64, e).from_producer(2);
            r.seq = i as u64 + 1;
            assert_eq!(r.kind, e.kind());
            assert_eq!(r.misfit(), None, "{e:?}");
            let back = EventRecord::from_bytes(&r.to_bytes()).expect("decodes");
            assert_eq!(back, r);
            assert_eq!(back.event(), e);
        }
    }

    /// What decoding refuses of a record whose checksum is right but whose fields do not fit
    /// its kind, and how the typed view reads such a record made by hand.
    #[test]
    fn records_that_do_not_fit_their_kind_are_refused() {
        let o = OrderRequest::new(42, 7, Side::Buy, 10.0, 1);
        let queued = EventRecord { seq: 1, ..EventRecord::new(5, Event::Queued { order: o }) };
        let rejected = EventRecord {
            seq: 1,
            ..EventRecord::new(
                5,
                Event::Rejected {
                    order: o,
                    request: RequestType::New,
                    reason: RejectReason::QueueFull,
                    value: 0.0,
                },
            )
        };
        for (r, misfit, field, value) in [
            (
                EventRecord { request: RequestType::Modify, ..queued },
                Misfit::Request(RequestType::Modify),
                "request",
                2,
            ),
            (
                EventRecord { reason: Some(RejectReason::QueueFull), ..queued },
                Misfit::Reason(Some(RejectReason::QueueFull)),
                "reason",
                8,
            ),
            (EventRecord { reason: None, ..rejected }, Misfit::Reason(None), "reason", 0),
            (
                EventRecord { response: ResponseType::Accept, ..queued },
                Misfit::Response(ResponseType::Accept),
                "response",
                1,
            ),
        ] {
            assert_eq!(r.misfit(), Some(misfit));
            assert_eq!(r.event(), Event::Unfit(r.kind));
            let e = EventRecord::from_bytes(&r.to_bytes()).unwrap_err();
            assert_eq!(e, DecodeError::Record(RecordError { seq: 1, field, value }), "{r:?}");
        }
    }

    #[test]
    fn exchange_records_round_trip_with_their_detail_in_bytes_48_to_52() {
        for (i, mut r) in exchange_samples().into_iter().enumerate() {
            r.seq = i as u64 + 1;
            let b = r.to_bytes();
            assert_eq!(EventRecord::from_bytes(&b), Ok(r), "{r:?}");
            assert_eq!(u32::from_le_bytes(b[48..52].try_into().unwrap()), r.symbol_id as u32);
            assert_eq!(b[52..55], [0, 0, 0]);
        }
        let r = exchange_samples()[2];
        assert_eq!(
            r.to_bytes()[48..50],
            [SessionEvent::Disconnected as u8, DisconnectCause::SilentPeer as u8]
        );
        // Order records keep their symbol there, whatever its bits.
        let o = OrderRequest::new(1, -1, Side::Buy, 1.0, 1);
        let rec = EventRecord::new(0, Event::Queued { order: o });
        assert_eq!(EventRecord::from_bytes(&rec.to_bytes()).map(|d| d.symbol_id), Ok(-1));
    }

    #[test]
    fn impossible_exchange_details_are_refused() {
        let samples = exchange_samples();
        let session = samples[0];
        let disconnected = samples[2];
        let execution = samples[SessionEvent::ALL.len()];
        let reject = *samples.last().unwrap();
        for (r, bits, field, value) in [
            (session, 0, "session event", 0),
            (session, 10, "session event", 10),
            (session, 1 | 3 << 8, "disconnect cause", 3),
            (disconnected, 3, "disconnect cause", 0),
            (disconnected, 3 | 9 << 8, "disconnect cause", 9),
            (session, 1 | 1 << 16, "exchange detail", 1 | 1 << 16),
            (execution, u32::from(b' '), "exec type", u32::from(b' ')),
            (execution, u32::from(b'F') | 0x80 << 8, "ord status", 0x80),
            (reject, 0, "reject source", 0),
            (reject, 5, "reject source", 5),
            (reject, 1 | 1 << 8, "exchange detail", 1 | 1 << 8),
        ] {
            let mut w = r.to_words(1);
            w[6] = (w[6] & !0xffff_ffff) | u64::from(bits);
            seal(&mut w);
            let e = EventRecord::from_bytes(&words_to_bytes(&w)).unwrap_err();
            assert_eq!(e, DecodeError::Record(RecordError { seq: 1, field, value }), "{r:?} with {bits:#x}");
        }
        // A side in an exchange record.
        let mut w = session.to_words(1);
        w[6] |= u64::from(u32::from('B')) << 32;
        seal(&mut w);
        let e = EventRecord::from_bytes(&words_to_bytes(&w)).unwrap_err();
        assert_eq!(e, DecodeError::Record(RecordError { seq: 1, field: "side", value: 'B'.into() }));
    }

    #[test]
    fn impossible_values_are_refused_even_with_a_valid_checksum() {
        let r = sample();
        for (word, shift, width, value, field) in [
            (6, 56, 0xff, 0xEE, "kind"),
            (7, 0, 0xff, 0xEE, "reason"),
            (7, 8, 0xf, 0xE, "response"),
            (7, 12, 0xf, 0xE, "request"),
            (6, 32, 0xff_ffff, 0xD800, "side"),
        ] {
            let mut w = r.to_words(r.seq);
            let (value, width): (u64, u64) = (value, width);
            w[word] = (w[word] & !(width << shift)) | (value << shift);
            seal(&mut w);
            let e = EventRecord::from_bytes(&words_to_bytes(&w)).unwrap_err();
            assert_eq!(e, DecodeError::Record(RecordError { seq: 1234, field, value: value as u32 }));
        }
    }
}
