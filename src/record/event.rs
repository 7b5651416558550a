//! The typed view of a record: what each kind means, with its own fields.
//!
//! [`EventRecord`] is the flat, decoded form of the 64 bytes, and several kinds reuse its fields
//! for their own numbers (a `recovered` record's counts sit in `qty` and `order_id`, an exchange
//! record's codes where an order record keeps its symbol). [`Event`] names them: every reader
//! matches on it, and the two functions below are the only places that know which field holds
//! what:
//!
//! - [`EventRecord::new`] is the encoding table: an [`Event`] at a time, as the flat fields;
//! - [`EventRecord::event`] is its inverse, the decoding.
//!
//! A new kind is added here (a variant and its two rows), in [`EventKind`] (its wire value and
//! name), and then wherever a reader must decide something about it: readers match on [`Event`]
//! without a catch-all arm, so the compiler lists those places.
//!
//! A record whose fields do not fit its kind ([`EventRecord::misfit`]: a rejected record
//! without a reason, a `modified` record answering a New, an exchange record with a symbol's
//! bits where its codes belong ...) is never written by the engine, and decoding a journal
//! refuses it; a record made by hand can still be one, and reads as [`Event::Unfit`].

use super::codes::{detach_codes, report_codes};
use super::fits::REQUESTS_FITTING;
use super::{ENGINE, EventRecord, ExchangeDetail, SessionReport};
use crate::model::{
    AnswerKind, DetachCause, EventKind, FixCode, OrderRequest, OrderState, RejectReason, RejectSource,
    RequestType, ResponseType,
};

/// What one record says. See the [module docs](crate::record).
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Event {
    /// Logon sent at a window start.
    Logon,
    /// Trading halted (the kill switch).
    Halted,
    /// Trading resumed after a halt.
    Resumed,
    /// A producer in another process attached (the record's producer is its number).
    ClientAttached {
        /// Its process id.
        pid: u32,
    },
    /// A producer in another process went; everything it published was taken before.
    ClientDetached {
        /// Its process id.
        pid: u32,
        /// Why.
        cause: DetachCause,
        /// Whether its orders are cancelled (`on_client_exit = "cancel"`).
        cancel: bool,
    },
    /// A reference price set for a symbol (the price band's centre until its next fill).
    Reference {
        /// The symbol.
        symbol: i32,
        /// The price.
        price: f64,
    },
    /// Logout sent at a window end (or at shutdown while logged on).
    Logout,
    /// A New order waits in the queue for the throttle.
    Queued {
        /// The order as queued.
        order: OrderRequest,
    },
    /// An order went to the exchange.
    Sent {
        /// The order as sent.
        order: OrderRequest,
        /// Time inside the OMS, from its arrival to its send, ns.
        in_oms_ns: u64,
    },
    /// A queued order's price and quantity were replaced.
    Modified {
        /// The order as it now is.
        order: OrderRequest,
    },
    /// A queued order was removed.
    Cancelled {
        /// The order as it was queued.
        order: OrderRequest,
    },
    /// A request was refused.
    Rejected {
        /// The order the request carried.
        order: OrderRequest,
        /// Which request (a rejected Modify or Cancel leaves its order as it was).
        request: RequestType,
        /// Why.
        reason: RejectReason,
        /// A risk limit's refusal ([`RejectReason::is_limit`]): the number the limit refused,
        /// in its unit ([`crate::risk::Risk::value_of`]; the limit is the configuration's, in
        /// the journal header); 0 for any other reason (and in journals before version 8).
        value: f64,
    },
    /// The exchange answered a sent order.
    Response {
        /// The order as it was sent; only its `order_id` where the record did not keep the
        /// rest (`side` is `'\0'` then).
        order: OrderRequest,
        /// Accept or Reject (as the exchange said, `Unknown` included).
        response: ResponseType,
        /// From the send to the answer's arrival, ns.
        round_trip_ns: u64,
    },
    /// An answer for an order that is not in flight (unknown, or already answered).
    UnmatchedResponse {
        /// The id the answer named.
        order_id: u64,
        /// What it said.
        response: ResponseType,
    },
    /// A sent order still unanswered at shutdown.
    Unanswered {
        /// The order as it was sent.
        order: OrderRequest,
    },
    /// The wall clock was re-anchored to the OS clock and moved: records after it carry times
    /// on the new anchor.
    ClockStep {
        /// New minus old wall time of the same instant, ns (negative: the clock went back).
        step_ns: i64,
    },
    /// The engine restarted on this journal and rebuilt its state from the records before it.
    Recovered {
        /// Orders restored to the queue.
        queued: u64,
        /// Orders restored at the exchange (sent, their life not ended).
        open: u64,
    },
    /// The journal could not flush its records to disk (written by the journal itself).
    SyncFailed,
    /// The exchange session changed state or repaired its sequence.
    ExchangeSession(SessionReport),
    /// An execution report after an order's first answer (a fill, a cancel by the venue ...),
    /// or for an order this session did not send.
    Execution {
        /// ClOrdID as an order id.
        order_id: u64,
        /// LastQty (32), 0 when absent.
        last_qty: u64,
        /// LastPx (31), 0 when absent.
        last_px: f64,
        /// ExecType (150).
        exec_type: FixCode,
        /// OrdStatus (39).
        ord_status: FixCode,
    },
    /// An order turned down by the exchange outside an execution report (after its response).
    ExchangeReject {
        /// The order.
        order_id: u64,
        /// Who turned it down.
        source: RejectSource,
        /// The counterparty's reason code (SessionRejectReason 373 or BusinessRejectReason 380).
        code: u64,
    },
    /// A Cancel of an order open at the exchange waits for a throttle permit (cancels go ahead
    /// of the queue).
    CancelQueued {
        /// The order as it is live.
        order: OrderRequest,
    },
    /// A cancel went to the exchange.
    CancelSent {
        /// The order as it is live.
        order: OrderRequest,
        /// The Cancel's time inside the OMS, ns.
        in_oms_ns: u64,
    },
    /// A Modify of an order open at the exchange waits in the queue, among the New orders.
    ReplaceQueued {
        /// The order as it would become.
        order: OrderRequest,
    },
    /// A replace went to the exchange.
    ReplaceSent {
        /// The order as it would become.
        order: OrderRequest,
        /// The Modify's time inside the OMS, ns.
        in_oms_ns: u64,
    },
    /// An execution filled part of an open order (`fill`), or the rest of it (`filled`: the
    /// order's life ends).
    Fill {
        /// The order's id, symbol and side (its price and quantity: the live version's, which
        /// the record does not keep: see the fold).
        order_id: u64,
        /// Its symbol.
        symbol_id: i32,
        /// Its side.
        side: char,
        /// Quantity of this execution (LastQty).
        last_qty: u64,
        /// Its price (LastPx).
        last_px: f64,
        /// The order's filled quantity after it.
        cum_qty: u64,
        /// Whether it filled the order in full (`filled`).
        complete: bool,
    },
    /// The exchange cancelled an open order.
    VenueCancelled {
        /// The order as it was live.
        order: OrderRequest,
        /// Whether it carried out a cancel sent for the order (else the venue cancelled it on
        /// its own).
        solicited: bool,
        /// The cancel's round trip (cancel sent to its answer), ns; 0 when unsolicited.
        round_trip_ns: u64,
    },
    /// The exchange carried out the replace sent for an order.
    Replaced {
        /// The order as it now is.
        order: OrderRequest,
        /// The replace's round trip, ns.
        round_trip_ns: u64,
    },
    /// The exchange refused the cancel or replace sent for an order; it goes on as it was.
    CancelRejected {
        /// The order as it is live.
        order: OrderRequest,
        /// Which request was refused: Cancel or Modify.
        request: RequestType,
        /// The venue's reason code (FIX CxlRejReason, 102), 0 if none.
        code: u64,
    },
    /// An open order ended at the venue (done for the day, or expired).
    Expired {
        /// The order as it was live.
        order: OrderRequest,
    },
    /// An answer that did not fit its order's state: recorded, nothing changed.
    UnexpectedReport {
        /// The order it named.
        order_id: u64,
        /// Which answer.
        answer: AnswerKind,
        /// The order's state then; `None` when it was not open (unknown, or ended).
        state: Option<OrderState>,
        /// A fill's quantity (0 for other answers).
        qty: u64,
        /// A fill's price (0 for other answers).
        price: f64,
    },
    /// A record whose fields do not fit its kind ([`EventRecord::misfit`] says how): only a
    /// record made by hand; decoding a journal refuses them.
    Unfit(EventKind),
}

impl Event {
    /// The record kind.
    pub const fn kind(&self) -> EventKind {
        match self {
            Event::Logon => EventKind::Logon,
            Event::Halted => EventKind::Halted,
            Event::Resumed => EventKind::Resumed,
            Event::ClientAttached { .. } => EventKind::ClientAttached,
            Event::ClientDetached { .. } => EventKind::ClientDetached,
            Event::Reference { .. } => EventKind::Reference,
            Event::Logout => EventKind::Logout,
            Event::Queued { .. } => EventKind::Queued,
            Event::Sent { .. } => EventKind::Sent,
            Event::Modified { .. } => EventKind::Modified,
            Event::Cancelled { .. } => EventKind::Cancelled,
            Event::Rejected { .. } => EventKind::Rejected,
            Event::Response { .. } => EventKind::Response,
            Event::UnmatchedResponse { .. } => EventKind::UnmatchedResponse,
            Event::Unanswered { .. } => EventKind::Unanswered,
            Event::ClockStep { .. } => EventKind::ClockStep,
            Event::Recovered { .. } => EventKind::Recovered,
            Event::SyncFailed => EventKind::SyncFailed,
            Event::ExchangeSession(_) => EventKind::ExchangeSession,
            Event::Execution { .. } => EventKind::Execution,
            Event::ExchangeReject { .. } => EventKind::ExchangeReject,
            Event::CancelQueued { .. } => EventKind::CancelQueued,
            Event::CancelSent { .. } => EventKind::CancelSent,
            Event::ReplaceQueued { .. } => EventKind::ReplaceQueued,
            Event::ReplaceSent { .. } => EventKind::ReplaceSent,
            Event::Fill { complete: false, .. } => EventKind::Fill,
            Event::Fill { complete: true, .. } => EventKind::Filled,
            Event::VenueCancelled { .. } => EventKind::VenueCancelled,
            Event::Replaced { .. } => EventKind::Replaced,
            Event::CancelRejected { .. } => EventKind::CancelRejected,
            Event::Expired { .. } => EventKind::Expired,
            Event::UnexpectedReport { .. } => EventKind::UnexpectedReport,
            Event::Unfit(kind) => *kind,
        }
    }

    /// The id of the order the event is about; `None` for the engine's, the journal's and the
    /// exchange session's own events (and an unfit record).
    pub const fn order_id(&self) -> Option<u64> {
        match self {
            Event::Queued { order }
            | Event::Sent { order, .. }
            | Event::Modified { order }
            | Event::Cancelled { order }
            | Event::Rejected { order, .. }
            | Event::Response { order, .. }
            | Event::Unanswered { order }
            | Event::CancelQueued { order }
            | Event::CancelSent { order, .. }
            | Event::ReplaceQueued { order }
            | Event::ReplaceSent { order, .. }
            | Event::VenueCancelled { order, .. }
            | Event::Replaced { order, .. }
            | Event::CancelRejected { order, .. }
            | Event::Expired { order } => Some(order.order_id),
            Event::UnmatchedResponse { order_id, .. }
            | Event::Execution { order_id, .. }
            | Event::ExchangeReject { order_id, .. }
            | Event::Fill { order_id, .. }
            | Event::UnexpectedReport { order_id, .. } => Some(*order_id),
            Event::Logon
            | Event::Halted
            | Event::Resumed
            | Event::ClientAttached { .. }
            | Event::ClientDetached { .. }
            | Event::Reference { .. }
            | Event::Logout
            | Event::ClockStep { .. }
            | Event::Recovered { .. }
            | Event::SyncFailed
            | Event::ExchangeSession(_)
            | Event::Unfit(_) => None,
        }
    }

    /// The order with its fields, for the events that carry them (a response whose record did
    /// not keep them carries its id only).
    pub const fn order(&self) -> Option<&OrderRequest> {
        match self {
            Event::Queued { order }
            | Event::Sent { order, .. }
            | Event::Modified { order }
            | Event::Cancelled { order }
            | Event::Rejected { order, .. }
            | Event::Response { order, .. }
            | Event::Unanswered { order }
            | Event::CancelQueued { order }
            | Event::CancelSent { order, .. }
            | Event::ReplaceQueued { order }
            | Event::ReplaceSent { order, .. }
            | Event::VenueCancelled { order, .. }
            | Event::Replaced { order, .. }
            | Event::CancelRejected { order, .. }
            | Event::Expired { order } => Some(order),
            Event::UnmatchedResponse { .. }
            | Event::Execution { .. }
            | Event::ExchangeReject { .. }
            | Event::Fill { .. }
            | Event::UnexpectedReport { .. }
            | Event::Logon
            | Event::Halted
            | Event::Resumed
            | Event::ClientAttached { .. }
            | Event::ClientDetached { .. }
            | Event::Reference { .. }
            | Event::Logout
            | Event::ClockStep { .. }
            | Event::Recovered { .. }
            | Event::SyncFailed
            | Event::ExchangeSession(_)
            | Event::Unfit(_) => None,
        }
    }
}

/// How a record's fields do not fit its kind ([`EventRecord::misfit`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Misfit {
    /// It answers a request its kind does not answer (a `modified` record answering a New).
    Request(RequestType),
    /// A `rejected` record without a reason (`None`), or another kind with one (the reason
    /// found).
    Reason(Option<RejectReason>),
    /// A verdict on a record that is not an answer from the exchange.
    Response(ResponseType),
    /// An exchange record whose codes (bytes 48..52) are not valid for it: the field and the
    /// raw value.
    Detail(&'static str, u32),
    /// An exchange record with a side.
    Side,
}

impl Misfit {
    /// What is wrong, for messages: "a {kind} record {this}".
    pub fn describe(&self) -> String {
        match self {
            Misfit::Request(q) => format!("answering a {} request", q.name()),
            Misfit::Reason(Some(reason)) => format!("with a reject reason ({})", reason.name()),
            Misfit::Reason(None) => "without a reject reason".into(),
            Misfit::Response(v) => format!("with an exchange verdict ({})", v.name()),
            Misfit::Detail(field, value) => format!("with {field} {value}, which is not a valid value"),
            Misfit::Side => "with a side (an exchange record concerns no instrument)".into(),
        }
    }
}

impl EventRecord {
    /// The encoding table: `event` at wall time `time_ns`, as the flat fields (sequence number
    /// 0 until a sink numbers it; the engine's producer [`ENGINE`] until
    /// [`from_producer`](Self::from_producer) says whose request it answers).
    #[inline(always)]
    pub fn new(time_ns: i64, event: Event) -> EventRecord {
        let bare = |kind| EventRecord {
            seq: 0,
            time_ns,
            kind,
            order_id: 0,
            symbol_id: 0,
            side: '\0',
            price: 0.0,
            qty: 0,
            latency_ns: 0,
            request: RequestType::Unknown,
            response: ResponseType::Unknown,
            reason: None,
            producer: ENGINE,
        };
        let order = |kind, o: &OrderRequest, request| EventRecord {
            order_id: o.order_id,
            symbol_id: o.symbol_id,
            side: o.side,
            price: o.price,
            qty: o.qty,
            request,
            ..bare(kind)
        };
        let exchange =
            |kind, detail: ExchangeDetail| EventRecord { symbol_id: detail.bits() as i32, ..bare(kind) };
        match event {
            Event::Logon => bare(EventKind::Logon),
            Event::Halted => bare(EventKind::Halted),
            Event::Resumed => bare(EventKind::Resumed),
            Event::ClientAttached { pid } => {
                EventRecord { order_id: u64::from(pid), ..bare(EventKind::ClientAttached) }
            }
            Event::ClientDetached { pid, cause, cancel } => EventRecord {
                order_id: u64::from(pid),
                latency_ns: cause as u64 | u64::from(cancel) << 8,
                ..bare(EventKind::ClientDetached)
            },
            Event::Reference { symbol, price } => {
                EventRecord { symbol_id: symbol, price, ..bare(EventKind::Reference) }
            }
            Event::Logout => bare(EventKind::Logout),
            Event::Queued { order: o } => order(EventKind::Queued, &o, RequestType::New),
            Event::Sent { order: o, in_oms_ns } => {
                EventRecord { latency_ns: in_oms_ns, ..order(EventKind::Sent, &o, RequestType::New) }
            }
            Event::Modified { order: o } => order(EventKind::Modified, &o, RequestType::Modify),
            Event::Cancelled { order: o } => order(EventKind::Cancelled, &o, RequestType::Cancel),
            Event::Rejected { order: o, request, reason, value } => EventRecord {
                reason: Some(reason),
                latency_ns: value.to_bits(),
                ..order(EventKind::Rejected, &o, request)
            },
            Event::Response { order: o, response, round_trip_ns } => EventRecord {
                response,
                latency_ns: round_trip_ns,
                ..order(EventKind::Response, &o, RequestType::New)
            },
            Event::UnmatchedResponse { order_id, response } => {
                EventRecord { order_id, response, ..bare(EventKind::UnmatchedResponse) }
            }
            Event::Unanswered { order: o } => order(EventKind::Unanswered, &o, RequestType::New),
            Event::ClockStep { step_ns } => {
                EventRecord { latency_ns: step_ns as u64, ..bare(EventKind::ClockStep) }
            }
            Event::Recovered { queued, open } => {
                EventRecord { qty: queued, order_id: open, ..bare(EventKind::Recovered) }
            }
            Event::SyncFailed => bare(EventKind::SyncFailed),
            Event::ExchangeSession(report) => {
                let (qty, order_id, latency_ns, cause) = report.numbers();
                let detail = ExchangeDetail::Session { event: report.event(), cause };
                EventRecord { qty, order_id, latency_ns, ..exchange(EventKind::ExchangeSession, detail) }
            }
            Event::Execution { order_id, last_qty, last_px, exec_type, ord_status } => EventRecord {
                order_id,
                qty: last_qty,
                price: last_px,
                ..exchange(EventKind::Execution, ExchangeDetail::Execution { exec_type, ord_status })
            },
            Event::ExchangeReject { order_id, source, code } => EventRecord {
                order_id,
                qty: code,
                ..exchange(EventKind::ExchangeReject, ExchangeDetail::Reject { source })
            },
            Event::CancelQueued { order: o } => order(EventKind::CancelQueued, &o, RequestType::Cancel),
            Event::CancelSent { order: o, in_oms_ns } => {
                EventRecord { latency_ns: in_oms_ns, ..order(EventKind::CancelSent, &o, RequestType::Cancel) }
            }
            Event::ReplaceQueued { order: o } => order(EventKind::ReplaceQueued, &o, RequestType::Modify),
            Event::ReplaceSent { order: o, in_oms_ns } => EventRecord {
                latency_ns: in_oms_ns,
                ..order(EventKind::ReplaceSent, &o, RequestType::Modify)
            },
            Event::Fill { order_id, symbol_id, side, last_qty, last_px, cum_qty, complete } => EventRecord {
                order_id,
                symbol_id,
                side,
                price: last_px,
                qty: last_qty,
                latency_ns: cum_qty,
                request: RequestType::New,
                ..bare(if complete { EventKind::Filled } else { EventKind::Fill })
            },
            Event::VenueCancelled { order: o, solicited, round_trip_ns } => {
                let request = if solicited { RequestType::Cancel } else { RequestType::New };
                EventRecord { latency_ns: round_trip_ns, ..order(EventKind::VenueCancelled, &o, request) }
            }
            Event::Replaced { order: o, round_trip_ns } => EventRecord {
                latency_ns: round_trip_ns,
                ..order(EventKind::Replaced, &o, RequestType::Modify)
            },
            Event::CancelRejected { order: o, request, code } => {
                EventRecord { latency_ns: code, ..order(EventKind::CancelRejected, &o, request) }
            }
            Event::Expired { order: o } => order(EventKind::Expired, &o, RequestType::New),
            Event::UnexpectedReport { order_id, answer, state, qty, price } => EventRecord {
                order_id,
                qty,
                price,
                latency_ns: u64::from(answer as u8) | u64::from(state.map_or(0, |s| s as u8)) << 8,
                ..bare(EventKind::UnexpectedReport)
            },
            Event::Unfit(kind) => bare(kind),
        }
    }

    /// The decoding: what this record says ([`Event::Unfit`] if its fields do not fit its
    /// kind; see [`misfit`](Self::misfit)).
    #[inline]
    pub fn event(&self) -> Event {
        if self.misfit().is_some() {
            return Event::Unfit(self.kind);
        }
        let order = || OrderRequest {
            symbol_id: self.symbol_id,
            price: self.price,
            qty: self.qty,
            side: self.side,
            order_id: self.order_id,
        };
        match self.kind {
            EventKind::Logon => Event::Logon,
            EventKind::Halted => Event::Halted,
            EventKind::Resumed => Event::Resumed,
            EventKind::ClientAttached => Event::ClientAttached { pid: self.order_id as u32 },
            EventKind::ClientDetached => match detach_codes(self.latency_ns) {
                Ok((cause, cancel)) => Event::ClientDetached { pid: self.order_id as u32, cause, cancel },
                Err(_) => Event::Unfit(self.kind),
            },
            EventKind::Reference => Event::Reference { symbol: self.symbol_id, price: self.price },
            EventKind::Logout => Event::Logout,
            EventKind::Queued => Event::Queued { order: order() },
            EventKind::Sent => Event::Sent { order: order(), in_oms_ns: self.latency_ns },
            EventKind::Modified => Event::Modified { order: order() },
            EventKind::Cancelled => Event::Cancelled { order: order() },
            EventKind::Rejected => match self.reason {
                Some(reason) => Event::Rejected {
                    order: order(),
                    request: self.request,
                    reason,
                    value: f64::from_bits(self.latency_ns),
                },
                None => Event::Unfit(self.kind),
            },
            EventKind::Response => {
                Event::Response { order: order(), response: self.response, round_trip_ns: self.latency_ns }
            }
            EventKind::UnmatchedResponse => {
                Event::UnmatchedResponse { order_id: self.order_id, response: self.response }
            }
            EventKind::Unanswered => Event::Unanswered { order: order() },
            EventKind::ClockStep => Event::ClockStep { step_ns: self.latency_ns as i64 },
            EventKind::Recovered => Event::Recovered { queued: self.qty, open: self.order_id },
            EventKind::SyncFailed => Event::SyncFailed,
            EventKind::ExchangeSession | EventKind::Execution | EventKind::ExchangeReject => {
                match ExchangeDetail::from_bits(self.kind, self.symbol_id as u32) {
                    Ok(ExchangeDetail::Session { event, cause }) => {
                        SessionReport::from_numbers(event, cause, self)
                            .map_or(Event::Unfit(self.kind), Event::ExchangeSession)
                    }
                    Ok(ExchangeDetail::Execution { exec_type, ord_status }) => Event::Execution {
                        order_id: self.order_id,
                        last_qty: self.qty,
                        last_px: self.price,
                        exec_type,
                        ord_status,
                    },
                    Ok(ExchangeDetail::Reject { source }) => {
                        Event::ExchangeReject { order_id: self.order_id, source, code: self.qty }
                    }
                    Ok(ExchangeDetail::None) | Err(_) => Event::Unfit(self.kind),
                }
            }
            EventKind::CancelQueued => Event::CancelQueued { order: order() },
            EventKind::CancelSent => Event::CancelSent { order: order(), in_oms_ns: self.latency_ns },
            EventKind::ReplaceQueued => Event::ReplaceQueued { order: order() },
            EventKind::ReplaceSent => Event::ReplaceSent { order: order(), in_oms_ns: self.latency_ns },
            EventKind::Fill | EventKind::Filled => Event::Fill {
                order_id: self.order_id,
                symbol_id: self.symbol_id,
                side: self.side,
                last_qty: self.qty,
                last_px: self.price,
                cum_qty: self.latency_ns,
                complete: self.kind == EventKind::Filled,
            },
            EventKind::VenueCancelled => Event::VenueCancelled {
                order: order(),
                solicited: self.request == RequestType::Cancel,
                round_trip_ns: self.latency_ns,
            },
            EventKind::Replaced => Event::Replaced { order: order(), round_trip_ns: self.latency_ns },
            EventKind::CancelRejected => {
                Event::CancelRejected { order: order(), request: self.request, code: self.latency_ns }
            }
            EventKind::Expired => Event::Expired { order: order() },
            EventKind::UnexpectedReport => match report_codes(self.latency_ns) {
                Ok((answer, state)) => Event::UnexpectedReport {
                    order_id: self.order_id,
                    answer,
                    state,
                    qty: self.qty,
                    price: self.price,
                },
                Err(_) => Event::Unfit(self.kind),
            },
        }
    }

    /// How this record's fields do not fit its kind, if they do not: the request it answers,
    /// a reject reason (only on `rejected`, always there), an exchange verdict (only on
    /// `response` and `unmatched_response`), an exchange record's codes and side. `None` for
    /// every record the engine writes; decoding a journal refuses the others.
    #[inline(always)]
    pub fn misfit(&self) -> Option<Misfit> {
        if REQUESTS_FITTING[self.kind as usize] & (1 << (self.request as u8 & 7)) == 0 {
            return Some(Misfit::Request(self.request));
        }
        if (self.kind == EventKind::Rejected) != self.reason.is_some() {
            return Some(Misfit::Reason(self.reason));
        }
        let answers = matches!(self.kind, EventKind::Response | EventKind::UnmatchedResponse);
        if !answers && self.response != ResponseType::Unknown {
            return Some(Misfit::Response(self.response));
        }
        if self.kind.is_exchange() {
            if self.side != '\0' {
                return Some(Misfit::Side);
            }
            if let Err((field, value)) = ExchangeDetail::from_bits(self.kind, self.symbol_id as u32) {
                return Some(Misfit::Detail(field, value));
            }
        }
        if self.kind == EventKind::UnexpectedReport
            && let Err((field, value)) = report_codes(self.latency_ns)
        {
            return Some(Misfit::Detail(field, value));
        }
        if self.kind == EventKind::ClientDetached
            && let Err((field, value)) = detach_codes(self.latency_ns)
        {
            return Some(Misfit::Detail(field, value));
        }
        if matches!(self.kind, EventKind::ClientAttached | EventKind::ClientDetached)
            && (self.order_id > u64::from(u32::MAX) || self.producer == ENGINE)
        {
            return Some(Misfit::Detail("client process id", (self.order_id >> 32) as u32));
        }
        None
    }
}
