//! The 64-byte event record: everything the engine decides becomes one of these.
//!
//! The record is `#[repr(C)]`, 64 bytes (one cache line), with every field naturally aligned so
//! there is no padding. The journal stores exactly these bytes, little-endian
//! ([`EventRecord::to_bytes`] / [`EventRecord::from_bytes`]); `docs/journal-format.md` is the
//! byte-level contract.
//!
//! | offset | field        | type | meaning                                                        |
//! |-------:|--------------|------|----------------------------------------------------------------|
//! | 0      | `seq`        | u64  | 1, 2, 3 … per journal; 0 = not yet published                   |
//! | 8      | `time_ns`    | i64  | wall-clock time, ns since the Unix epoch (UTC)                 |
//! | 16     | `order_id`   | u64  | order the event concerns (0 for logon/logout)                  |
//! | 24     | `price`      | f64  | price (as sent, as modified, or as rejected)                   |
//! | 32     | `qty`        | u64  | quantity                                                       |
//! | 40     | `latency_ns` | u64  | `response`: round trip; `sent`: time inside the OMS            |
//! | 48     | `symbol`     | i32  | symbol id                                                      |
//! | 52     | `side`       | u32  | side as a Unicode scalar (`'B'`, `'S'`, or what came in); 0 n/a |
//! | 56     | `kind`       | u8   | [`EventKind`]                                                  |
//! | 57     | `response`   | u8   | [`ResponseType`] for `response` events                         |
//! | 58     | `reason`     | u8   | [`RejectReason`] for `rejected` events                         |
//! | 59     | `request`    | u8   | [`RequestType`] the event answers (tells a rejected Modify from a rejected New) |
//! | 60     | `checksum`   | u32  | CRC-32 of bytes 0..60 (filled in by the journal)               |

use crate::order::{OrderRequest, RequestType, ResponseType};

/// What happened.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[repr(u8)]
pub enum EventKind {
    /// Logon sent at a window start.
    Logon = 1,
    /// Logout sent at a window end (or at shutdown while logged on).
    Logout = 2,
    /// A New order waits in the queue for the throttle.
    Queued = 3,
    /// An order went to the exchange; `latency_ns` is its time inside the OMS.
    Sent = 4,
    /// A queued order's price and qty were replaced.
    Modified = 5,
    /// A queued order was removed.
    Cancelled = 6,
    /// A request was rejected; `reason` says why, `request` says which request.
    Rejected = 7,
    /// The exchange answered a sent order; `latency_ns` is the round trip.
    Response = 8,
    /// A response for an order that is not in flight (unknown or already answered).
    UnmatchedResponse = 9,
    /// A sent order still unanswered at shutdown.
    Unanswered = 10,
}

impl EventKind {
    /// Every kind, in wire order.
    pub const ALL: [EventKind; 10] = [
        EventKind::Logon,
        EventKind::Logout,
        EventKind::Queued,
        EventKind::Sent,
        EventKind::Modified,
        EventKind::Cancelled,
        EventKind::Rejected,
        EventKind::Response,
        EventKind::UnmatchedResponse,
        EventKind::Unanswered,
    ];

    /// Decodes the wire value.
    pub const fn from_u8(v: u8) -> Option<EventKind> {
        if v >= 1 && v <= 10 { Some(Self::ALL[(v - 1) as usize]) } else { None }
    }

    /// snake_case name, as in the CLI and CSV.
    pub const fn name(self) -> &'static str {
        match self {
            EventKind::Logon => "logon",
            EventKind::Logout => "logout",
            EventKind::Queued => "queued",
            EventKind::Sent => "sent",
            EventKind::Modified => "modified",
            EventKind::Cancelled => "cancelled",
            EventKind::Rejected => "rejected",
            EventKind::Response => "response",
            EventKind::UnmatchedResponse => "unmatched_response",
            EventKind::Unanswered => "unanswered",
        }
    }

    /// Parses a snake_case name.
    pub fn from_name(s: &str) -> Option<EventKind> {
        Self::ALL.into_iter().find(|k| k.name() == s)
    }
}

/// Why a request was rejected.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[repr(u8)]
pub enum RejectReason {
    /// A New order arrived while no session was logged on.
    OutsideWindow = 1,
    /// Price not finite or not > 0.
    InvalidPrice = 2,
    /// Quantity 0.
    InvalidQty = 3,
    /// Side other than `'B'` / `'S'`.
    InvalidSide = 4,
    /// `RequestType::Unknown`.
    InvalidRequestType = 5,
    /// A New whose id is already queued or in flight.
    DuplicateOrderId = 6,
    /// Modify/Cancel of an order that is not in the queue.
    NotQueued = 7,
    /// The pending queue is at `max_queued_orders`.
    QueueFull = 8,
    /// The journal has no room left: nothing more is accepted or sent.
    JournalFull = 9,
    /// Still queued when the window ended.
    SessionEnded = 10,
    /// Still queued (or still in a ring) when the engine stopped.
    Shutdown = 11,
}

impl RejectReason {
    /// Every reason, in wire order.
    pub const ALL: [RejectReason; 11] = [
        RejectReason::OutsideWindow,
        RejectReason::InvalidPrice,
        RejectReason::InvalidQty,
        RejectReason::InvalidSide,
        RejectReason::InvalidRequestType,
        RejectReason::DuplicateOrderId,
        RejectReason::NotQueued,
        RejectReason::QueueFull,
        RejectReason::JournalFull,
        RejectReason::SessionEnded,
        RejectReason::Shutdown,
    ];

    /// Decodes the wire value.
    pub const fn from_u8(v: u8) -> Option<RejectReason> {
        if v >= 1 && v <= 11 { Some(Self::ALL[(v - 1) as usize]) } else { None }
    }

    /// snake_case name, as in the CLI and CSV.
    pub const fn name(self) -> &'static str {
        match self {
            RejectReason::OutsideWindow => "outside_window",
            RejectReason::InvalidPrice => "invalid_price",
            RejectReason::InvalidQty => "invalid_qty",
            RejectReason::InvalidSide => "invalid_side",
            RejectReason::InvalidRequestType => "invalid_request_type",
            RejectReason::DuplicateOrderId => "duplicate_order_id",
            RejectReason::NotQueued => "not_queued",
            RejectReason::QueueFull => "queue_full",
            RejectReason::JournalFull => "journal_full",
            RejectReason::SessionEnded => "session_ended",
            RejectReason::Shutdown => "shutdown",
        }
    }

    /// Parses a snake_case name.
    pub fn from_name(s: &str) -> Option<RejectReason> {
        Self::ALL.into_iter().find(|r| r.name() == s)
    }
}

/// Size of one record in bytes.
pub const RECORD_SIZE: usize = 64;

/// Byte range covered by the checksum.
pub const CHECKSUM_RANGE: std::ops::Range<usize> = 0..60;

/// One engine event (64 bytes, `#[repr(C)]`). See the module docs for the layout.
#[derive(Clone, Copy, Debug, PartialEq, Default)]
#[repr(C, align(64))]
pub struct EventRecord {
    /// Sequence number, from 1; 0 means "not published".
    pub seq: u64,
    /// Wall-clock time, ns since the Unix epoch, UTC.
    pub time_ns: i64,
    /// Order id (0 for logon/logout).
    pub order_id: u64,
    /// Price.
    pub price: f64,
    /// Quantity.
    pub qty: u64,
    /// Round-trip latency (`response`) or time inside the OMS (`sent`), ns.
    pub latency_ns: u64,
    /// Symbol id.
    pub symbol: i32,
    /// Side as a Unicode scalar value; 0 when not applicable.
    pub side: u32,
    /// [`EventKind`] as u8.
    pub kind: u8,
    /// [`ResponseType`] as u8 (response events).
    pub response: u8,
    /// [`RejectReason`] as u8 (rejected events), 0 otherwise.
    pub reason: u8,
    /// [`RequestType`] as u8 of the request this event answers.
    pub request: u8,
    /// CRC-32 of bytes 0..60, filled in by the journal writer.
    pub checksum: u32,
}

const _: () = assert!(std::mem::size_of::<EventRecord>() == RECORD_SIZE);

impl EventRecord {
    /// A record about an order (fields copied from the request).
    #[inline]
    pub fn for_order(kind: EventKind, time_ns: i64, o: &OrderRequest, request: RequestType) -> Self {
        EventRecord {
            time_ns,
            order_id: o.order_id,
            price: o.price,
            qty: o.qty,
            symbol: o.symbol_id,
            side: o.side as u32,
            kind: kind as u8,
            request: request as u8,
            ..Default::default()
        }
    }

    /// A record with only a kind and a time (logon, logout).
    #[inline]
    pub fn bare(kind: EventKind, time_ns: i64) -> Self {
        EventRecord { time_ns, kind: kind as u8, ..Default::default() }
    }

    /// The decoded kind, if valid.
    pub fn kind(&self) -> Option<EventKind> {
        EventKind::from_u8(self.kind)
    }

    /// The decoded reject reason, if any.
    pub fn reason(&self) -> Option<RejectReason> {
        RejectReason::from_u8(self.reason)
    }

    /// The decoded response type.
    pub fn response(&self) -> ResponseType {
        ResponseType::from_u8(self.response)
    }

    /// The decoded request type.
    pub fn request(&self) -> RequestType {
        RequestType::from_u8(self.request)
    }

    /// The side as a `char`, if it is a valid non-zero scalar.
    pub fn side_char(&self) -> Option<char> {
        if self.side == 0 { None } else { char::from_u32(self.side) }
    }

    /// Little-endian wire bytes (the checksum field as stored in `self`).
    #[inline]
    pub fn to_bytes(&self) -> [u8; RECORD_SIZE] {
        let mut b = [0u8; RECORD_SIZE];
        b[0..8].copy_from_slice(&self.seq.to_le_bytes());
        b[8..16].copy_from_slice(&self.time_ns.to_le_bytes());
        b[16..24].copy_from_slice(&self.order_id.to_le_bytes());
        b[24..32].copy_from_slice(&self.price.to_le_bytes());
        b[32..40].copy_from_slice(&self.qty.to_le_bytes());
        b[40..48].copy_from_slice(&self.latency_ns.to_le_bytes());
        b[48..52].copy_from_slice(&self.symbol.to_le_bytes());
        b[52..56].copy_from_slice(&self.side.to_le_bytes());
        b[56] = self.kind;
        b[57] = self.response;
        b[58] = self.reason;
        b[59] = self.request;
        b[60..64].copy_from_slice(&self.checksum.to_le_bytes());
        b
    }

    /// Parses wire bytes (no validation; see [`EventRecord::checksum_ok`]).
    #[inline]
    pub fn from_bytes(b: &[u8; RECORD_SIZE]) -> Self {
        let u64_at = |i: usize| u64::from_le_bytes(b[i..i + 8].try_into().expect("8 bytes"));
        let u32_at = |i: usize| u32::from_le_bytes(b[i..i + 4].try_into().expect("4 bytes"));
        EventRecord {
            seq: u64_at(0),
            time_ns: u64_at(8) as i64,
            order_id: u64_at(16),
            price: f64::from_bits(u64_at(24)),
            qty: u64_at(32),
            latency_ns: u64_at(40),
            symbol: u32_at(48) as i32,
            side: u32_at(52),
            kind: b[56],
            response: b[57],
            reason: b[58],
            request: b[59],
            checksum: u32_at(60),
        }
    }

    /// CRC-32 (crc32fast) of the first 60 wire bytes.
    #[inline]
    pub fn compute_checksum(&self) -> u32 {
        crc32fast::hash(&self.to_bytes()[CHECKSUM_RANGE])
    }

    /// Whether the stored checksum matches the contents.
    pub fn checksum_ok(&self) -> bool {
        self.checksum == self.compute_checksum()
    }
}

/// Where the engine's events go. Called only from the engine thread.
///
/// `record` must not allocate, lock or make a syscall in steady state: it runs on the hot path.
pub trait EventSink {
    /// Persists one event. The engine has already set `seq` and `time_ns`.
    fn record(&mut self, event: &EventRecord);

    /// `false` once the sink is close to full: the engine then rejects New orders
    /// `journal_full` and sends nothing more, so the room left is enough to record the end of
    /// the session. The default sink never fills.
    fn has_room(&self) -> bool {
        true
    }

    /// Called at logout and at shutdown (e.g. to flush); off the order path.
    fn sync(&mut self) {}
}

/// An in-memory sink: a `Vec` pre-allocated to a capacity. Once full it reports `has_room() ==
/// false` and keeps accepting a reserve of records (growing only then), so nothing is lost.
#[derive(Debug, Default)]
pub struct MemorySink {
    events: Vec<EventRecord>,
    capacity: usize,
}

impl MemorySink {
    /// Reserves room for `capacity` events up front.
    pub fn with_capacity(capacity: usize) -> Self {
        MemorySink { events: Vec::with_capacity(capacity), capacity }
    }

    /// The events recorded so far.
    pub fn events(&self) -> &[EventRecord] {
        &self.events
    }

    /// Takes the recorded events out.
    pub fn take(&mut self) -> Vec<EventRecord> {
        std::mem::take(&mut self.events)
    }

    /// Clears the recorded events, keeping the allocation.
    pub fn clear(&mut self) {
        self.events.clear();
    }
}

impl EventSink for MemorySink {
    #[inline]
    fn record(&mut self, event: &EventRecord) {
        self.events.push(*event);
    }

    fn has_room(&self) -> bool {
        self.capacity == 0 || self.events.len() < self.capacity
    }
}

/// A sink that keeps nothing but counts (for benchmarks).
#[derive(Debug, Default, Clone, Copy)]
pub struct CountingSink {
    /// Events recorded.
    pub count: u64,
    /// Last sequence number seen.
    pub last_seq: u64,
}

impl EventSink for CountingSink {
    #[inline]
    fn record(&mut self, event: &EventRecord) {
        self.count += 1;
        self.last_seq = event.seq;
    }
}

impl<S: EventSink + ?Sized> EventSink for Box<S> {
    fn record(&mut self, event: &EventRecord) {
        (**self).record(event)
    }
    fn has_room(&self) -> bool {
        (**self).has_room()
    }
    fn sync(&mut self) {
        (**self).sync()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::order::Side;

    #[test]
    fn layout_is_64_bytes_without_padding() {
        assert_eq!(std::mem::size_of::<EventRecord>(), 64);
        assert_eq!(std::mem::align_of::<EventRecord>(), 64);
        assert_eq!(std::mem::offset_of!(EventRecord, symbol), 48);
        assert_eq!(std::mem::offset_of!(EventRecord, kind), 56);
        assert_eq!(std::mem::offset_of!(EventRecord, checksum), 60);
    }

    #[test]
    fn bytes_round_trip_and_checksum_catches_flips() {
        let o = OrderRequest::new(42, 7, Side::Sell, 101.25, 300);
        let mut r = EventRecord::for_order(EventKind::Sent, 1_700_000_000_000_000_001, &o, RequestType::New);
        r.seq = 9;
        r.latency_ns = 1234;
        r.checksum = r.compute_checksum();
        let b = r.to_bytes();
        let back = EventRecord::from_bytes(&b);
        assert_eq!(back, r);
        assert!(back.checksum_ok());
        for i in 0..64 {
            let mut c = b;
            c[i] ^= 0x10;
            assert!(!EventRecord::from_bytes(&c).checksum_ok(), "flip at byte {i} not caught");
        }
    }

    #[test]
    fn names_round_trip() {
        for k in EventKind::ALL {
            assert_eq!(EventKind::from_u8(k as u8), Some(k));
            assert_eq!(EventKind::from_name(k.name()), Some(k));
        }
        for r in RejectReason::ALL {
            assert_eq!(RejectReason::from_u8(r as u8), Some(r));
            assert_eq!(RejectReason::from_name(r.name()), Some(r));
        }
        assert_eq!(EventKind::from_u8(0), None);
        assert_eq!(EventKind::from_u8(11), None);
        assert_eq!(RejectReason::from_u8(12), None);
    }
}
