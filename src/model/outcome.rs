//! What the engine decides: the [`EventKind`] of every journal record and the [`RejectReason`] of
//! every rejected request. Their numeric values are the journal's wire values; their snake_case
//! names are what the CLI, the CSV and the scenario format print.

wire_enum! {
    /// What happened.
    pub enum EventKind {
        /// Logon sent at a window start.
        Logon = 1 => "logon",
        /// Logout sent at a window end (or at shutdown while logged on).
        Logout = 2 => "logout",
        /// A New order waits in the queue for the throttle.
        Queued = 3 => "queued",
        /// An order went to the exchange; `latency_ns` is its time inside the OMS.
        Sent = 4 => "sent",
        /// A queued order's price and qty were replaced.
        Modified = 5 => "modified",
        /// A queued order was removed.
        Cancelled = 6 => "cancelled",
        /// A request was rejected; `reason` says why, `request` says which request.
        Rejected = 7 => "rejected",
        /// The exchange answered a sent order; `latency_ns` is the round trip.
        Response = 8 => "response",
        /// A response for an order that is not in flight (unknown or already answered).
        UnmatchedResponse = 9 => "unmatched_response",
        /// A sent order still unanswered at shutdown.
        Unanswered = 10 => "unanswered",
        /// The wall clock was re-anchored to the OS clock (at a logon) and moved by more than
        /// `clock::RECORDED_STEP_NS`: `latency_ns` holds the step, new minus old wall time of the same
        /// instant, in ns, as a two's-complement `i64` (negative: the clock went back). Records
        /// after it carry times on the new anchor.
        ClockStep = 11 => "clock_step",
        /// The engine restarted on this journal and rebuilt its state from the records before it:
        /// `qty` holds the number of orders it restored to the queue, `order_id` the number it
        /// restored open at the exchange (sent, their life not ended; before format version 5:
        /// in flight, sent and unanswered). A logon that follows may come late in its window (a
        /// start-up).
        Recovered = 12 => "recovered",
        /// The journal could not flush its records to disk (an `msync` / `fsync` failed): records up
        /// to this one may be lost on a power failure. Written by the journal writer itself, with the
        /// time of the record before it; `oms verify` exits 1 on such a journal.
        SyncFailed = 13 => "sync_failed",
        /// The exchange session changed state or repaired its sequence (a FIX logon, a refused
        /// logon, a disconnect, a logout, a resend, a gap fill ...): what happened is a
        /// [`SessionEvent`](super::SessionEvent) in the record's exchange detail, with its numbers.
        /// The counterparty's text never goes into the journal.
        ExchangeSession = 14 => "exchange_session",
        /// An execution report after an order's first answer (a fill, a cancel by the venue ...), or
        /// for an order this session did not send: `order_id`, `qty` = LastQty, `price` = LastPx,
        /// ExecType and OrdStatus in the record's exchange detail.
        Execution = 15 => "execution",
        /// An order turned down by the exchange outside an execution report (a session Reject, a
        /// BusinessMessageReject, a gap fill over it, not sent): `order_id`, the
        /// [`RejectSource`](super::RejectSource) in the exchange detail, the counterparty's reason
        /// code in `qty`. The order's `response` (reject) is recorded before it.
        ExchangeReject = 16 => "exchange_reject",
        /// A Cancel of an order open at the exchange waits for a throttle permit; cancels go out
        /// ahead of the queue. The order as it is live.
        CancelQueued = 17 => "cancel_queued",
        /// A cancel went to the exchange for an open order (the order as it is live); `latency_ns`
        /// is the Cancel's time inside the OMS.
        CancelSent = 18 => "cancel_sent",
        /// A Modify of an order open at the exchange waits in the queue, in its place among the
        /// New orders: the order as it would become (its new price and quantity).
        ReplaceQueued = 19 => "replace_queued",
        /// A replace went to the exchange: the order as it would become; `latency_ns` is the
        /// Modify's time inside the OMS.
        ReplaceSent = 20 => "replace_sent",
        /// An execution filled part of an open order, which stays open: `qty` = LastQty,
        /// `price` = LastPx, `latency_ns` = the order's filled quantity after it.
        Fill = 21 => "fill",
        /// The exchange cancelled an open order: the cancel sent for it (`request` Cancel;
        /// `latency_ns` the cancel's round trip), or on its own (`request` New, latency 0).
        VenueCancelled = 22 => "venue_cancelled",
        /// The exchange carried out the replace sent for an order: the order as it now is;
        /// `latency_ns` the replace's round trip.
        Replaced = 23 => "replaced",
        /// The exchange refused the cancel (`request` Cancel) or replace (`request` Modify) sent
        /// for an order, which goes on as it was; `latency_ns` holds the venue's reason code.
        CancelRejected = 24 => "cancel_rejected",
        /// An open order ended at the venue: done for the day, or expired.
        Expired = 25 => "expired",
        /// An answer from the exchange that does not fit its order's state (a fill of a
        /// cancelled order, a replace acknowledged with none pending, an overfill): recorded, and
        /// nothing changed. `latency_ns` holds which answer (byte 0, an `AnswerKind`) and the
        /// order's state then (byte 1, an `OrderState`; 0: not open); `qty` and `price` a
        /// fill's numbers.
        UnexpectedReport = 26 => "unexpected_report",
        /// The execution that filled an open order in full (its last fill; its life ends): as
        /// `fill`.
        Filled = 27 => "filled",
        /// The kill switch: trading halted. The queue is rejected `halted` right after it, a
        /// cancel of every working order lined up (the engine's own), and every New or Modify is
        /// refused `halted` until `resumed`; cancels still go out.
        Halted = 28 => "halted",
        /// Trading resumed after a halt.
        Resumed = 29 => "resumed",
        /// A producer in another process attached (`oms::ipc`): the record's `producer` is the
        /// number it got, `order_id` its process id. The producer's requests follow it.
        ClientAttached = 30 => "client_attached",
        /// A producer in another process went: every request it published was taken before this
        /// record. `order_id` is its process id, `latency_ns` the cause (byte 0: 1 its socket
        /// ended, 2 its ring broke the protocol, 3 the engine stopped) and the exit policy (byte
        /// 1: 1 cancel, 0 keep); the policy's cancels follow, for the same producer.
        ClientDetached = 31 => "client_detached",
        /// A reference price set for a symbol by request (the operator's, or a scenario's): the
        /// price band's centre until the symbol's next fill (or the next reference).
        /// `symbol_id` and `price` carry it; the engine's own record (producer 65535).
        Reference = 32 => "reference",
    }
}

impl EventKind {
    /// One more than the largest wire value: the length of a table indexed by `kind as usize`.
    pub const SLOTS: usize = EventKind::Reference as usize + 1;

    /// Whether the kind is an exchange session's report (`exchange_session`, `execution`,
    /// `exchange_reject`): its record carries an exchange detail where order records carry the
    /// symbol (see [`crate::record`]).
    pub const fn is_exchange(self) -> bool {
        matches!(self, EventKind::ExchangeSession | EventKind::Execution | EventKind::ExchangeReject)
    }
}

wire_enum! {
    /// Why a request was rejected.
    pub enum RejectReason {
        /// A New order arrived while no session was logged on.
        OutsideWindow = 1 => "outside_window",
        /// Price not finite or not > 0.
        InvalidPrice = 2 => "invalid_price",
        /// Quantity 0.
        InvalidQty = 3 => "invalid_qty",
        /// Side other than `'B'` / `'S'`.
        InvalidSide = 4 => "invalid_side",
        /// `RequestType::Unknown`.
        InvalidRequestType = 5 => "invalid_request_type",
        /// A New whose id is already queued or in flight.
        DuplicateOrderId = 6 => "duplicate_order_id",
        /// Modify/Cancel of an order that is not in the queue. Written by format versions before
        /// 5, when only queued orders could be modified or cancelled; now `not_open`.
        NotQueued = 7 => "not_queued",
        /// The pending queue is at `max_queued_orders`.
        QueueFull = 8 => "queue_full",
        /// The journal has no room left: nothing more is accepted or sent.
        JournalFull = 9 => "journal_full",
        /// Still queued when the window ended.
        SessionEnded = 10 => "session_ended",
        /// Still queued (or still in a ring) when the engine stopped.
        Shutdown = 11 => "shutdown",
        /// The exchange did not take the order when it was sent (a session adapter not logged on,
        /// an order it cannot encode): nothing went out.
        NotSent = 12 => "not_sent",
        /// A Modify or Cancel of an order that is neither queued nor open at the exchange (an
        /// unknown id, or an order whose life has ended).
        NotOpen = 13 => "not_open",
        /// A Modify or Cancel of an order with a cancel or replace pending, or whose first answer
        /// is awaited: one request at a time, so the versions of an order form one chain. The
        /// order is as it was; send the request again once the exchange has answered.
        RequestPending = 14 => "request_pending",
        /// A Modify of an open order to a quantity at or below what is already filled.
        ReplaceBelowFilled = 15 => "replace_below_filled",
        /// A Cancel or Modify of an open order that waited for a permit (the cancel in its
        /// line, the replace in the queue) when the order's life ended at the exchange (filled,
        /// cancelled by the venue, expired): nothing was sent.
        OrderEnded = 16 => "order_ended",
        /// A New or Modify over the symbol's `max_order_qty` (`[risk]`).
        MaxOrderQty = 17 => "max_order_qty",
        /// A New or Modify whose price × quantity is over the symbol's `max_order_notional`.
        MaxOrderNotional = 18 => "max_order_notional",
        /// A New or Modify priced more than `price_band_bps` from the symbol's reference price
        /// (its last fill's).
        PriceBand = 19 => "price_band",
        /// A New or Modify of a symbol with a price band and no reference price yet, under the
        /// policy `no_reference = "refuse"`.
        NoReferencePrice = 20 => "no_reference_price",
        /// A New order over the symbol's `max_open_orders` (queued and at the exchange).
        MaxOpenOrders = 21 => "max_open_orders",
        /// A New or Modify that would take the symbol's position past `max_position` if every
        /// open order of its side filled.
        MaxPosition = 22 => "max_position",
        /// A New or Modify that would take the notional filled in the session plus that of the
        /// open orders past the symbol's `max_daily_notional`.
        MaxDailyNotional = 23 => "max_daily_notional",
        /// A New order of a symbol with no book while the risk table holds `max_symbols` books.
        TooManySymbols = 24 => "too_many_symbols",
        /// Trading is halted (the kill switch): a New or Modify refused, or an order or replace
        /// still queued when the halt came.
        Halted = 25 => "halted",
        /// A Modify or Cancel from a producer in another process of an order another producer
        /// owns (it may touch only its own orders).
        NotOwner = 26 => "not_owner",
    }
}

/// Why the engine let a client go (a `client_detached` record says it).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u8)]
pub enum DetachCause {
    /// Its socket ended: it exited, closed, or died (`kill -9` too).
    Closed = 1,
    /// Its ring broke the protocol (a head moved back, or past the capacity): dropped.
    Protocol = 2,
    /// The engine stopped.
    Shutdown = 3,
}

impl DetachCause {
    /// From the wire.
    pub const fn from_u8(v: u8) -> Option<DetachCause> {
        match v {
            1 => Some(DetachCause::Closed),
            2 => Some(DetachCause::Protocol),
            3 => Some(DetachCause::Shutdown),
            _ => None,
        }
    }

    /// Its snake_case name.
    pub const fn name(self) -> &'static str {
        match self {
            DetachCause::Closed => "closed",
            DetachCause::Protocol => "protocol",
            DetachCause::Shutdown => "shutdown",
        }
    }
}

impl RejectReason {
    /// Whether the reason is a pre-trade risk limit's (`max_order_qty` to `too_many_symbols`):
    /// its `rejected` record carries the number the limit refused (`Event::Rejected::value`).
    pub const fn is_limit(self) -> bool {
        matches!(
            self,
            RejectReason::MaxOrderQty
                | RejectReason::MaxOrderNotional
                | RejectReason::PriceBand
                | RejectReason::NoReferencePrice
                | RejectReason::MaxOpenOrders
                | RejectReason::MaxPosition
                | RejectReason::MaxDailyNotional
                | RejectReason::TooManySymbols
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_wire_values_round_trip() {
        for k in EventKind::ALL {
            assert_eq!(EventKind::from_u8(k as u8), Some(k));
            assert_eq!(EventKind::from_name(k.name()), Some(k));
        }
        for r in RejectReason::ALL {
            assert_eq!(RejectReason::from_u8(r as u8), Some(r));
            assert_eq!(RejectReason::from_name(r.name()), Some(r));
        }
        assert_eq!(EventKind::from_u8(0), None);
        assert_eq!(EventKind::from_u8(EventKind::SLOTS as u8), None);
        assert!(EventKind::ALL.iter().all(|k| (*k as usize) < EventKind::SLOTS));
        assert_eq!(EventKind::ALL.len(), EventKind::SLOTS - 1, "wire values 1.. without a gap");
        assert_eq!(RejectReason::from_u8(0), None);
        assert_eq!(RejectReason::from_u8(RejectReason::ALL.len() as u8 + 1), None);
    }
}
