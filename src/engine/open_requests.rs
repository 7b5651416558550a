//! Modify and Cancel of an order: in the queue, the local O(1) operations they always were; at
//! the exchange, a replace or a cancel sent to it.
//!
//! Only a logged-on session sends them: outside the window a cancel or replace of an open order
//! is refused `outside_window` as a New order is (and `shutdown` while the engine stops); a
//! cancel still goes out after the window's end while the engine cancels its working orders
//! before the Logout (`timers.rs`).
//! Every message to the exchange takes a throttle permit. A cancel of an open order goes out at
//! once when a permit is free and no other cancel waits; otherwise it waits in the cancel line,
//! which the dispatch serves before the queue (a cancel reduces what is at risk). A replace
//! keeps its place in line with the New orders: it goes out at once only when the queue is
//! empty, else it waits in the queue (a Modify of it rewrites it in place, a Cancel drops it).
//! One cancel or replace per order at a time: a second request while one waits or is pending
//! is refused `request_pending` (the producer learns at once, and the versions of an order form
//! one chain), as is one before the order's first answer. A replace to a quantity at or below
//! what is already filled is refused `replace_below_filled`.
//!
//! Each request is answered with one record when it is taken: `modified` / `cancelled` (in the
//! queue), `replace_sent` / `replace_queued`, `cancel_sent` / `cancel_queued`, or a `rejected`;
//! a waiting one's `replace_sent` / `cancel_sent` follows when it goes out.

use super::Engine;
use crate::exchange::Exchange;
use crate::model::{OrderRequest, Refusal, RejectReason, RequestType, Waiting};
use crate::record::Event;
use crate::risk::booking;
use crate::sink::EventSink;

/// The larger of two bookings (quantity, notional), each part on its own.
#[inline]
fn larger(a: (u64, f64), b: (u64, f64)) -> (u64, f64) {
    (a.0.max(b.0), a.1.max(b.1))
}

impl<E: Exchange, S: EventSink> Engine<E, S> {
    /// A valid Modify of order `o.order_id` to `o.price` / `o.qty`.
    #[inline]
    pub(super) fn on_modify(&mut self, o: OrderRequest, arrival_ns: u64, now: u64, p: u16) {
        let id = o.order_id;
        // A client (a producer at or past the first client's number) touches only its own
        // orders; in-process producers are trusted (one compare).
        if p >= self.first_client && self.not_owner(id, p) {
            return self.refuse_not_owner(&o, RequestType::Modify, now, p);
        }
        // A queued order, or a replace waiting in the queue, is rewritten in place (a replace
        // never to what is filled).
        if let Some(q) = self.queue.get_mut(id) {
            if q.replace && self.open.get(id).is_some_and(|x| o.qty <= x.life.cum_qty()) {
                return self.reject(&o, RequestType::Modify, RejectReason::ReplaceBelowFilled, now, p);
            }
            let q = if !self.guarded {
                q
            } else {
                if self.halted {
                    return self.reject(&o, RequestType::Modify, RejectReason::Halted, now, p);
                }
                let (replace, old) = (q.replace, q.order);
                if let Err((reason, value)) = self.book_queued_modify(&o, replace, old) {
                    // The order as it would become (its symbol and side: the limit's).
                    let new = OrderRequest { price: o.price, qty: o.qty, ..old };
                    return self.reject_valued(&new, RequestType::Modify, reason, value, now, p);
                }
                let Some(q) = self.queue.get_mut(id) else { return };
                q
            };
            (q.order.price, q.order.qty) = (o.price, o.qty);
            let order = q.order;
            self.stats.modified += 1;
            return self.emit_at(now, p, Event::Modified { order });
        }
        if self.halted && self.open.contains(id) {
            // The kill switch: no Modify of an open order, whatever it waits for.
            return self.reject(&o, RequestType::Modify, RejectReason::Halted, now, p);
        }
        let open = self.open.get(id).map(|x| (x.waiting, x.life.may_replace(o.qty), x.order));
        let reason = match open {
            None => RejectReason::NotOpen,
            Some((Waiting::Nothing, Ok(()), order)) => {
                let new = OrderRequest { price: o.price, qty: o.qty, ..order };
                if self.risk.is_some()
                    && self.phase.refuses_sending().is_none()
                    && let Err((reason, value)) = self.check_replace(&new)
                {
                    // The order as it would become (its symbol and side: the limit's).
                    return self.reject_valued(&new, RequestType::Modify, reason, value, now, p);
                }
                return self.replace(new, arrival_ns, now, p);
            }
            Some((Waiting::Cancel | Waiting::Replace, _, _)) | Some((_, Err(Refusal::Pending), _)) => {
                RejectReason::RequestPending
            }
            Some((_, Err(Refusal::BelowFilled), _)) => RejectReason::ReplaceBelowFilled,
            Some((_, Err(Refusal::NotOpen), _)) => RejectReason::NotOpen,
        };
        self.reject(&o, RequestType::Modify, reason, now, p)
    }

    /// Checks a Modify `o` of a queued order (`old`; a replace waiting in the queue when
    /// `replace`) against the risk limits as the order it would become and, passed, rebooks it:
    /// a queued New exactly as it becomes, a replace the larger of its versions.
    fn book_queued_modify(
        &mut self,
        o: &OrderRequest,
        replace: bool,
        old: OrderRequest,
    ) -> Result<(), (RejectReason, f64)> {
        let held =
            if replace { self.open.get(o.order_id).map(|x| (x.life.cum_qty(), x.held())) } else { None };
        let Some(risk) = &mut self.risk else { return Ok(()) };
        let new = OrderRequest { price: o.price, qty: o.qty, ..old };
        let (cum, held) = held.unwrap_or((0, booking(old.price, old.qty)));
        let leaves = new.qty.saturating_sub(cum);
        risk.check_modify(&new, leaves, held).map_err(|r| (r, risk.value_of(&new, r, leaves, held, 0)))?;
        let booked =
            if replace { larger(held, booking(new.price, leaves)) } else { booking(new.price, leaves) };
        risk.rebook(new.symbol_id, new.side, held, booked);
        if replace {
            self.open.update(o.order_id, |x| x.booked = booked);
        }
        Ok(())
    }

    /// Checks the replace of an open order to `new` against the risk limits as the order it
    /// would become (it is booked once it is taken: `book_replace`).
    fn check_replace(&self, new: &OrderRequest) -> Result<(), (RejectReason, f64)> {
        let (Some(risk), Some(x)) = (&self.risk, self.open.get(new.order_id)) else { return Ok(()) };
        let (leaves, held) = (new.qty.saturating_sub(x.life.cum_qty()), x.held());
        risk.check_modify(new, leaves, held).map_err(|r| (r, risk.value_of(new, r, leaves, held, 0)))
    }

    /// The replace of an open order to `new` is taken (waiting in the queue, or sent): with
    /// risk limits, the order books the larger of its two versions until the exchange answers.
    #[inline]
    fn book_replace(&mut self, new: &OrderRequest) {
        let (Some(risk), Some(x)) = (&mut self.risk, self.open.get(new.order_id)) else { return };
        let held = x.held();
        let booked = larger(held, booking(new.price, new.qty.saturating_sub(x.life.cum_qty())));
        risk.rebook(new.symbol_id, new.side, held, booked);
        self.open.update(new.order_id, |x| x.booked = booked);
    }

    /// A replace of an open order to `new`: at once if nothing waits in the queue and a permit
    /// is free, else in the queue.
    fn replace(&mut self, new: OrderRequest, arrival_ns: u64, now: u64, p: u16) {
        if let Some(reason) = self.phase.refuses_sending() {
            return self.reject(&new, RequestType::Modify, reason, now, p);
        }
        // Not ahead of a waiting cancel: a permit that fell due in this turn goes to the cancel.
        if self.queue.is_empty()
            && self.cancels.is_empty()
            && self.logged_on()
            && self.can_send_requests()
            && self.throttle.try_acquire(now)
        {
            return self.send_replace(new, arrival_ns, now, p);
        }
        if self.queue.push_replace(new, arrival_ns, p).is_err() {
            return self.reject(&new, RequestType::Modify, RejectReason::QueueFull, now, p);
        }
        self.open.update(new.order_id, |x| x.waiting = Waiting::Replace);
        self.stats.max_queue_len = self.stats.max_queue_len.max(self.queue.len() as u64);
        self.book_replace(&new);
        self.emit_at(now, p, Event::ReplaceQueued { order: new });
    }

    /// Sends the replace of an open order to `new` (a permit taken).
    pub(super) fn send_replace(&mut self, new: OrderRequest, arrival_ns: u64, now: u64, p: u16) {
        let id = new.order_id;
        let ready = self.open.update(id, |x| {
            x.waiting = Waiting::Nothing;
            x.life.may_replace(new.qty)
        });
        match ready {
            // The order ended (or filled past the new quantity) while its replace waited.
            None | Some(Err(Refusal::NotOpen)) => {
                return self.reject(&new, RequestType::Modify, RejectReason::NotOpen, now, p);
            }
            Some(Err(Refusal::BelowFilled)) => {
                return self.reject(&new, RequestType::Modify, RejectReason::ReplaceBelowFilled, now, p);
            }
            Some(Err(Refusal::Pending)) => {
                return self.reject(&new, RequestType::Modify, RejectReason::RequestPending, now, p);
            }
            Some(Ok(())) => {}
        }
        if self.exchange.send_replace(&new).is_err() {
            return self.reject(&new, RequestType::Modify, RejectReason::NotSent, now, p);
        }
        self.open.update(id, |x| {
            x.request_ns = now;
            let _ = x.life.replace_sent(new.price, new.qty);
        });
        self.stats.replaces_sent += 1;
        self.book_replace(&new);
        self.emit_at(now, p, Event::ReplaceSent { order: new, in_oms_ns: now.saturating_sub(arrival_ns) });
    }

    /// A Cancel of order `o.order_id`: in the queue, removed there; at the exchange, a cancel.
    #[inline]
    pub(super) fn on_cancel(&mut self, o: OrderRequest, arrival_ns: u64, now: u64, p: u16) {
        let id = o.order_id;
        if p >= self.first_client && self.not_owner(id, p) {
            return self.refuse_not_owner(&o, RequestType::Cancel, now, p);
        }
        match self.queue.cancel(id) {
            Some(q) if !q.replace => {
                self.risk_close(&q.order, booking(q.order.price, q.order.qty));
                self.stats.cancelled += 1;
                return self.emit_at(now, p, Event::Cancelled { order: q.order });
            }
            // A replace waiting in the queue is dropped: the order is cancelled instead.
            Some(_) => {
                self.open.update(id, |x| x.waiting = Waiting::Nothing);
            }
            None => {}
        }
        let open = self.open.get(id).map(|x| (x.waiting, x.life.may_cancel(), x.live()));
        let reason = match open {
            None => RejectReason::NotOpen,
            Some((Waiting::Nothing, Ok(()), live)) => return self.cancel(live, arrival_ns, now, p),
            Some((Waiting::Cancel | Waiting::Replace, _, _)) | Some((_, Err(Refusal::Pending), _)) => {
                RejectReason::RequestPending
            }
            Some((_, Err(Refusal::NotOpen | Refusal::BelowFilled), _)) => RejectReason::NotOpen,
        };
        self.reject(&o, RequestType::Cancel, reason, now, p)
    }

    /// A cancel of the open order `live`: at once if no cancel waits and a permit is free, else
    /// in the cancel line.
    fn cancel(&mut self, live: OrderRequest, arrival_ns: u64, now: u64, p: u16) {
        if let Some(reason) = self.phase.refuses_cancel() {
            return self.reject(&live, RequestType::Cancel, reason, now, p);
        }
        if self.cancels.is_empty()
            && self.logged_on()
            && self.can_send_requests()
            && self.throttle.try_acquire(now)
        {
            return self.send_cancel(live, arrival_ns, now, p);
        }
        // Room: at most one waiting cancel per open order, and the line holds as many.
        self.cancels.push_back((live.order_id, p));
        self.open.update(live.order_id, |x| {
            (x.waiting, x.wait_ns, x.wait_producer) = (Waiting::Cancel, arrival_ns, p)
        });
        self.emit_at(now, p, Event::CancelQueued { order: live });
    }

    /// Whether the cancel at the front of the line still waits; drops it if its order ended.
    pub(super) fn cancel_still_waits(&mut self) -> bool {
        let Some(&(id, _)) = self.cancels.front() else { return false };
        let waits = matches!(self.open.get(id), Some(x) if x.waiting == Waiting::Cancel);
        if !waits {
            self.cancels.pop_front();
        }
        waits
    }

    /// Sends the waiting cancel of order `id` (a permit taken).
    pub(super) fn send_waiting_cancel(&mut self, id: u64, now: u64, p: u16) {
        let taken = self.open.update(id, |x| {
            let arrival = if x.waiting == Waiting::Cancel { x.wait_ns } else { now };
            x.waiting = Waiting::Nothing;
            (x.live(), arrival)
        });
        if let Some((live, arrival_ns)) = taken {
            self.send_cancel(live, arrival_ns, now, p);
        }
    }

    /// Sends the cancel of the open order `live` (a permit taken).
    fn send_cancel(&mut self, live: OrderRequest, arrival_ns: u64, now: u64, p: u16) {
        if self.exchange.send_cancel(&live).is_err() {
            return self.reject(&live, RequestType::Cancel, RejectReason::NotSent, now, p);
        }
        self.open.update(live.order_id, |x| {
            x.request_ns = now;
            let _ = x.life.cancel_sent();
        });
        self.stats.cancels_sent += 1;
        self.emit_at(now, p, Event::CancelSent { order: live, in_oms_ns: now.saturating_sub(arrival_ns) });
    }

    /// Whether a cancel waits for a permit, or a cancel or replace is pending at the exchange
    /// (a replace waiting in the queue is in the queue).
    pub(super) fn requests_pending(&self) -> bool {
        !self.cancels.is_empty() || self.open.pending() > 0
    }
}
