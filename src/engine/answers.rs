//! What the exchange says about an order, applied to its life ([`OrderLife`]) and recorded.
//!
//! - The first answer (`response`): accepted, the order is working; rejected, its life ends.
//!   Its round trip is measured from the send.
//! - A `fill`: never beyond the quantity of the version that is live (a fill for the old
//!   version after a replace was sent counts against the old version); filled in full, the
//!   order's life ends. The record carries the filled quantity after it.
//! - A cancel carried out (`venue_cancelled`, with the cancel's round trip when it was ours), a
//!   replace carried out (`replaced`, the new version live, with its round trip), a cancel or
//!   replace refused (`cancel_rejected`: the order goes on as it was), an expiry (`expired`).
//! - Anything that does not fit the order's state (a fill of a cancelled order, a replace
//!   acknowledged with none pending, an overfill, an answer for an order not at the exchange)
//!   is recorded as an `unexpected_report` and changes nothing; a first answer for an order
//!   not awaiting one stays an `unmatched_response`.
//!
//! Each record is stamped with the later of the turn's reading and the answer's arrival (the
//! journal's times never go back) and carries the producer of the order's New request.

use super::{Engine, EngineStats, Phase};
use crate::clock::EngineClock;
use crate::exchange::Exchange;
use crate::model::Waiting;
use crate::model::{
    AnswerKind, EventKind, Filled, OrderResponse, OrderState, RejectReason, RequestType, ResponseType,
};
use crate::open::{OpenOrder, OpenOrders};
use crate::queue::PendingQueue;
use crate::record::{Event, EventRecord};
use crate::ring::{Answer, InboundResponse};
use crate::risk::Risk;
use crate::sink::EventSink;

impl<E: Exchange, S: EventSink> Engine<E, S> {
    /// Applies and records one answer taken from a response ring at the turn's reading `now`.
    /// Always inlined into the loop's response step: a call there costs the answer of each
    /// order a frame (`benches/instructions.rs`).
    #[inline(always)]
    pub(super) fn on_answer(&mut self, r: InboundResponse, now: u64) {
        if let Answer::Response(response) = r.answer {
            // The first answer, the most frequent: its own path, one record and nothing else
            // to record.
            let rec = first_answered(
                response,
                r,
                now,
                &mut self.open,
                &mut self.risk,
                &self.clock,
                &mut self.stats,
            );
            self.emit(rec);
            if rec.kind == EventKind::Response
                && (matches!(self.phase, Phase::Closing { .. }) || self.halted || self.clients.is_some())
            {
                self.working_now(&rec, now);
            }
            return;
        }
        let (rec, dropped) =
            answered(r, now, &mut self.open, &mut self.queue, &mut self.risk, &self.clock, &mut self.stats);
        self.emit(rec);
        if let Some(rec) = dropped {
            self.emit(rec);
        }
        // After the window's end, an order that became working (accepted, or its replace
        // answered) is cancelled before the Logout; a refused cancel is not sent again.
        if (matches!(self.phase, Phase::Closing { .. }) || self.halted || self.clients.is_some())
            && match rec.kind {
                EventKind::Response | EventKind::Replaced => true,
                EventKind::CancelRejected => rec.request == RequestType::Modify,
                _ => false,
            }
        {
            self.working_now(&rec, now);
        }
    }

    /// The order of `rec` became working (accepted, or its replace answered or refused) while
    /// its working orders are to be cancelled: after the window's end or a halt (the engine's
    /// cancel), or its client went under the cancel policy (the client's). Out of line: the
    /// answer path without any of them stays as it was (`benches/instructions.rs`).
    #[inline(never)]
    fn working_now(&mut self, rec: &EventRecord, now: u64) {
        if matches!(self.phase, Phase::Closing { .. }) || self.halted {
            self.cancel_if_working(rec.order_id, now);
        } else if self.client_doomed(rec.producer) {
            self.cancel_if_working_for(rec.order_id, now, rec.producer);
        }
    }
}

/// An order's life at the exchange ended (a record stamped `time` says so): it leaves the
/// table. A cancel or replace of it that waited for a permit is answered: its `rejected`
/// `order_ended` record, returned.
#[inline(always)]
fn end(
    open: &mut OpenOrders,
    queue: &mut PendingQueue,
    id: u64,
    time: i64,
    stats: &mut EngineStats,
) -> Option<EventRecord> {
    let x = open.remove(id)?;
    if x.waiting == Waiting::Nothing {
        return None;
    }
    waiting_ended(&x, queue, time, stats)
}

/// The request that waited for open order `x` when its life ended: a replace leaves the queue
/// (a cancel's entry in the line is skipped when it comes up); its `rejected` `order_ended`.
/// Out of line: rare, and the answer path stays small.
#[cold]
#[inline(never)]
fn waiting_ended(
    x: &OpenOrder,
    queue: &mut PendingQueue,
    time: i64,
    stats: &mut EngineStats,
) -> Option<EventRecord> {
    let (order, request, producer) = match x.waiting {
        Waiting::Nothing => return None,
        Waiting::Replace => {
            let q = queue.cancel(x.order.order_id)?;
            (q.order, RequestType::Modify, q.producer)
        }
        Waiting::Cancel => (x.live(), RequestType::Cancel, x.wait_producer),
    };
    let reason = RejectReason::OrderEnded;
    stats.rejected[reason as usize] += 1;
    Some(
        EventRecord::new(time, Event::Rejected { order, request, reason, value: 0.0 })
            .from_producer(producer),
    )
}

/// What an answer `a` that fitted order `x` (now `life`) moves in the risk books: a fill moves
/// its quantity from the order's booking to the position; a replace carried out or refused
/// leaves the order booking its live version (a replace in flight booked the larger of the
/// two). Returns the order's `booked` now and what it holds (which its end releases). Out of
/// line: the answer path without limits pays one branch.
#[inline(never)]
fn rebook(
    risk: &mut Risk,
    x: &OpenOrder,
    life: &crate::model::OrderLife,
    a: &Answer,
) -> ((u64, f64), (u64, f64)) {
    let (symbol, side) = (x.order.symbol_id, x.order.side);
    let old = x.held();
    let booked = match *a {
        Answer::Fill { last_qty, last_px, .. } => {
            risk.fill(symbol, side, last_qty, last_px);
            if x.booked == (0, 0.0) {
                (0, 0.0)
            } else {
                (
                    x.booked.0.saturating_sub(last_qty),
                    (x.booked.1 - x.life.price() * last_qty as f64).max(0.0),
                )
            }
        }
        Answer::Replaced { .. } | Answer::CancelRejected { .. } => (0, 0.0),
        Answer::Cancelled { .. } | Answer::Expired { .. } | Answer::Response(_) => return (x.booked, old),
    };
    let new = crate::risk::held(booked, life.price(), life.qty().saturating_sub(life.cum_qty()));
    risk.rebook(symbol, side, old, new);
    (booked, new)
}

/// The arrival of answer `r` (monotonic ns) and the wall time of its record, taken at the
/// turn's reading `now`.
#[inline(always)]
fn stamp(r: &InboundResponse, now: u64, clock: &EngineClock) -> (u64, i64) {
    let arrival_ns = clock.mono_ns(r.arrival_raw);
    (arrival_ns, clock.wall_ns(now.max(arrival_ns)))
}

/// Applies the first answer `response` (which came as `r`) at `now` and returns its record: a
/// `response` with the round trip from the send, or an `unmatched_response` for an order not
/// awaiting one.
#[inline(always)]
fn first_answered(
    response: OrderResponse,
    r: InboundResponse,
    now: u64,
    open: &mut OpenOrders,
    risk: &mut Option<Risk>,
    clock: &EngineClock,
    stats: &mut EngineStats,
) -> EventRecord {
    let OrderResponse { order_id, response_type } = response;
    stats.responses_in += 1;
    let (arrival_ns, time) = stamp(&r, now, clock);
    let first = open.first_answer(order_id, response_type == ResponseType::Accept);
    let Some((order, sent_ns, producer)) = first else {
        stats.unmatched += 1;
        return EventRecord::new(time, Event::UnmatchedResponse { order_id, response: response_type });
    };
    stats.matched += 1;
    if response_type != ResponseType::Accept {
        // Its life ends. Nothing of it waits: a Cancel or Modify before the first answer is
        // refused `request_pending`.
        if let (Some(x), Some(risk)) = (open.remove(order_id), risk) {
            risk.close(x.order.symbol_id, x.order.side, x.held());
        }
    }
    let round_trip_ns = arrival_ns.saturating_sub(sent_ns);
    let event = Event::Response { order, response: response_type, round_trip_ns };
    EventRecord::new(time, event).from_producer(producer)
}

/// Applies answer `r` at `now` (see the module docs) and returns its record: the one path of
/// the loop's response step and of an answer drained ahead of an exchange report. A fill that
/// reaches the quantity a replace waiting in the queue asks for makes that replace pointless:
/// it is dropped from the queue at once and its Modify rejected `replace_below_filled` (the
/// second record), so a queued replace always asks for more than is filled. An answer that
/// ends the order answers the cancel or replace that waited for a permit: `order_ended` (the
/// second record).
#[inline(always)]
pub(super) fn answered(
    r: InboundResponse,
    now: u64,
    open: &mut OpenOrders,
    queue: &mut PendingQueue,
    risk: &mut Option<Risk>,
    clock: &EngineClock,
    stats: &mut EngineStats,
) -> (EventRecord, Option<EventRecord>) {
    if let Answer::Response(response) = r.answer {
        return (first_answered(response, r, now, open, risk, clock, stats), None);
    }
    stats.responses_in += 1;
    let (arrival_ns, time) = stamp(&r, now, clock);
    let id = r.answer.order_id();
    let unexpected = |state: Option<OrderState>| {
        let (answer, qty, price) = match r.answer {
            Answer::Fill { last_qty, last_px, .. } => (AnswerKind::Fill, last_qty, last_px),
            Answer::Cancelled { .. } => (AnswerKind::Cancelled, 0, 0.0),
            Answer::Replaced { .. } => (AnswerKind::Replaced, 0, 0.0),
            Answer::CancelRejected { .. } => (AnswerKind::CancelRejected, 0, 0.0),
            Answer::Expired { .. } => (AnswerKind::Expired, 0, 0.0),
            Answer::Response(_) => (AnswerKind::Response, 0, 0.0),
        };
        Event::UnexpectedReport { order_id: id, answer, state, qty, price }
    };
    let Some(x) = open.get(id).copied() else {
        stats.unexpected += 1;
        return (EventRecord::new(time, unexpected(None)), None);
    };
    let rtt = arrival_ns.saturating_sub(x.request_ns);
    let mut life = x.life;
    let (event, ended) = match r.answer {
        Answer::Fill { last_qty, last_px, .. } => match life.fill(last_qty, last_px) {
            Ok(filled) => {
                stats.fills += 1;
                let e = Event::Fill {
                    order_id: id,
                    symbol_id: x.order.symbol_id,
                    side: x.order.side,
                    last_qty,
                    last_px,
                    cum_qty: life.cum_qty(),
                    complete: filled == Filled::Fully,
                };
                (Ok(e), filled == Filled::Fully)
            }
            Err(_) => (Err(()), false),
        },
        Answer::Cancelled { .. } => {
            let solicited = life.state() == OrderState::PendingCancel;
            match life.cancelled() {
                Ok(()) => {
                    let round_trip_ns = if solicited { rtt } else { 0 };
                    (Ok(Event::VenueCancelled { order: x.live(), solicited, round_trip_ns }), true)
                }
                Err(_) => (Err(()), false),
            }
        }
        Answer::Replaced { .. } => match life.replaced() {
            Ok(()) => {
                let order = crate::model::OrderRequest { price: life.price(), qty: life.qty(), ..x.order };
                (Ok(Event::Replaced { order, round_trip_ns: rtt }), life.state() == OrderState::Filled)
            }
            Err(_) => (Err(()), false),
        },
        Answer::CancelRejected { code, .. } => {
            let request = if life.state() == OrderState::PendingReplace {
                RequestType::Modify
            } else {
                RequestType::Cancel
            };
            match life.cancel_rejected() {
                Ok(()) => {
                    (Ok(Event::CancelRejected { order: x.live(), request, code: u64::from(code) }), false)
                }
                Err(_) => (Err(()), false),
            }
        }
        Answer::Expired { .. } => match life.expired() {
            Ok(()) => (Ok(Event::Expired { order: x.live() }), true),
            Err(_) => (Err(()), false),
        },
        Answer::Response(_) => (Err(()), false),
    };
    let Ok(event) = event else {
        stats.unexpected += 1;
        return (EventRecord::new(time, unexpected(Some(x.life.state()))), None);
    };
    if let Some(risk) = risk {
        let (booked, held) = rebook(risk, &x, &life, &r.answer);
        if ended {
            risk.close(x.order.symbol_id, x.order.side, held);
        } else {
            open.update(id, |o| o.booked = booked);
        }
    }
    let mut dropped = None;
    if ended {
        dropped = end(open, queue, id, time, stats);
    } else {
        open.update(id, |o| o.life = life);
        if x.waiting == Waiting::Replace
            && let Some(q) = queue.get(id)
            && q.order.qty <= life.cum_qty()
            && let Some(q) = queue.cancel(id)
        {
            open.update(id, |o| o.waiting = Waiting::Nothing);
            stats.rejected[RejectReason::ReplaceBelowFilled as usize] += 1;
            let reason = RejectReason::ReplaceBelowFilled;
            let rejected =
                Event::Rejected { order: q.order, request: RequestType::Modify, reason, value: 0.0 };
            dropped = Some(EventRecord::new(time, rejected).from_producer(q.producer));
        }
    }
    (EventRecord::new(time, event).from_producer(x.producer), dropped)
}
