//! The New-order rules of the [`Auditor`]: every order's fate (`fates`), FIFO among queued
//! orders (`fifo`), modifies in place (`modify`), the throttle over every message sent
//! (`throttle`), orders well formed (`well_formed`), first answers matched to orders in flight
//! (`responses`), and the queue emptied at a logout (`session_end`). Cancels, replaces and the
//! later answers are `life_rules.rs`.

use super::{Auditor, Bound, excess_message};
use crate::audit::Rule;
use crate::audit::orders::{Front, Live, Open, Queued};
use crate::model::{OrderLife, OrderRequest, OrderState, RejectReason, RequestType, ResponseType};
use crate::record::EventRecord;

impl Auditor {
    /// An execution report or an exchange reject names an order whose first answer (its
    /// `response`) is already recorded, or one this journal does not know.
    pub(super) fn on_exchange_order_event(&mut self, r: &EventRecord, id: u64) {
        self.count(Rule::Responses);
        match self.orders.get(id).copied() {
            None => {}
            Some(Live::Open(o)) if o.life.state() == OrderState::Sent => {
                self.fail(Rule::Responses, r.seq, Some(id), || {
                    format!(
                        "a {} record for an order in flight since seq {} without its response: the \
                         response (its first answer) is recorded first",
                        r.kind.name(),
                        o.since_seq
                    )
                })
            }
            Some(Live::Open(_)) => {}
            Some(Live::Queued(q)) => self.fail(Rule::Responses, r.seq, Some(id), || {
                format!(
                    "a {} record for an order queued since seq {}: it never reached the exchange",
                    r.kind.name(),
                    q.since_seq
                )
            }),
        }
    }

    fn check_well_formed(&mut self, r: &EventRecord, o: &OrderRequest) {
        self.count(Rule::WellFormed);
        let price_ok = o.price.is_finite() && o.price > 0.0;
        if !price_ok || o.qty == 0 || !matches!(o.side, 'B' | 'S') {
            self.fail(Rule::WellFormed, r.seq, Some(o.order_id), || {
                format!("{} with price {}, qty {}, side {:?}", r.kind.name(), o.price, o.qty, o.side)
            });
        }
    }

    pub(super) fn on_queued(&mut self, r: &EventRecord, o: &OrderRequest) {
        self.count(Rule::Fates);
        self.check_window(r, o.order_id);
        self.check_well_formed(r, o);
        if let Some(live) = self.orders.get(o.order_id).copied() {
            self.fail(Rule::Fates, r.seq, Some(o.order_id), || {
                format!("queued while an order with this id is still {} (since seq {}): that is a duplicate_order_id",
                    live.state(), live.since_seq())
            });
        }
        let q = Queued::from_record(o, r.seq);
        self.orders.enqueue(o.order_id, q);
    }

    /// A message to the exchange about order `id` (a New order, a cancel, a replace): inside
    /// the window and a logged-on session, the exchange session up, within the throttle.
    pub(super) fn check_message(&mut self, r: &EventRecord, id: u64) {
        if r.kind == crate::model::EventKind::CancelSent {
            self.check_cancel_window(r, id);
        } else {
            self.check_window(r, id);
        }
        self.check_exchange_ready(r, id);
        self.count(Rule::Throttle);
        let excess = match &mut self.bound {
            Bound::Sliding(b) => b.push(r.time_ns),
            Bound::Bucket(b) => b.push(r.time_ns),
        };
        if let Some(e) = excess {
            self.fail(Rule::Throttle, r.seq, Some(id), || excess_message(&e));
        }
        self.count(Rule::Fifo);
    }

    pub(super) fn on_sent(&mut self, r: &EventRecord, o: &OrderRequest) {
        let id = o.order_id;
        self.check_message(r, id);
        self.check_well_formed(r, o);
        self.check_cancels_first(r, id);
        let open = Open {
            since_seq: r.seq,
            sent_ns: r.time_ns,
            symbol_id: o.symbol_id,
            side: o.side,
            life: OrderLife::sent(o.price, o.qty),
            request_ns: 0,
            cancel_ticket: None,
            replace: None,
        };
        match self.orders.get(id).copied() {
            Some(Live::Queued(q)) => {
                let front = self.orders.front();
                if front != Some(Front::New(id)) {
                    self.fail(Rule::Fifo, r.seq, Some(id), || {
                        format!(
                            "sent from the queue before order {}, which was queued earlier",
                            front.map_or(0, Front::id)
                        )
                    });
                }
                let same = q.price.to_bits() == o.price.to_bits()
                    && q.qty == o.qty
                    && q.symbol_id == o.symbol_id
                    && q.side == o.side;
                if !same {
                    self.fail(Rule::Modify, r.seq, Some(id), || {
                        format!(
                            "sent as {} {} @ {} (symbol {}) but its {} values are {} {} @ {} (symbol {})",
                            o.side,
                            o.qty,
                            o.price,
                            o.symbol_id,
                            if q.modified { "last modified" } else { "queued" },
                            q.side,
                            q.qty,
                            q.price,
                            q.symbol_id
                        )
                    });
                }
                self.orders.send(id, open);
            }
            Some(Live::Open(f)) => {
                self.fail(Rule::Fates, r.seq, Some(id), || {
                    format!("sent twice: it is at the exchange since seq {}", f.since_seq)
                });
            }
            None => {
                // Sent at once: a New request of its own.
                self.count(Rule::Fates);
                self.check_queue_empty(r, id, "sent at once");
                self.orders.send(id, open);
            }
        }
    }

    /// A New order or a replace goes out: no cancel may wait in the cancel line (it is served
    /// first: a cancel reduces what is at risk).
    pub(super) fn check_cancels_first(&mut self, r: &EventRecord, id: u64) {
        let n = self.orders.waiting_cancels();
        if n > 0 {
            let first = self.orders.cancel_front().unwrap_or_default();
            self.fail(Rule::Fifo, r.seq, Some(id), || {
                format!(
                    "a {} while {n} cancel(s) waited in the cancel line (oldest: the cancel of order \
                     {first}): waiting cancels go out first",
                    r.kind.name()
                )
            });
        }
    }

    /// Something sent at once: nothing may wait in the queue.
    pub(super) fn check_queue_empty(&mut self, r: &EventRecord, id: u64, what: &str) {
        if let Some(front) = self.orders.front() {
            let n = self.orders.queued_len();
            self.fail(Rule::Fifo, r.seq, Some(id), || {
                format!(
                    "{what} while {n} order(s) or replace(s) waited in the queue (oldest: order {})",
                    front.id()
                )
            });
        }
    }

    pub(super) fn on_modified(&mut self, r: &EventRecord, o: &OrderRequest) {
        self.count(Rule::Modify);
        let id = o.order_id;
        if o.validate_modify().is_err() {
            self.fail(Rule::Modify, r.seq, Some(id), || {
                format!(
                    "modified to price {} and qty {}: a modify with these values must be rejected",
                    o.price, o.qty
                )
            });
        }
        let Some(q) = self.orders.queued_mut(id) else {
            self.fail(Rule::Modify, r.seq, Some(id), || {
                "modified while neither it nor a replace of it is in the queue".into()
            });
            return;
        };
        let (symbol_id, side) = (q.symbol_id, q.side);
        (q.price, q.qty, q.modified) = (o.price, o.qty, true);
        if (symbol_id, side) != (o.symbol_id, o.side) {
            self.fail(Rule::Modify, r.seq, Some(id), || {
                format!("a modify changed symbol/side from {symbol_id}/{side} to {}/{}: it changes only price and qty",
                    o.symbol_id, o.side)
            });
        }
    }

    pub(super) fn on_cancelled(&mut self, r: &EventRecord, id: u64) {
        if !self.orders.is_queued(id) {
            self.fail(Rule::Fates, r.seq, Some(id), || "cancelled while not in the queue".into());
        }
        self.orders.end(id);
    }

    pub(super) fn on_rejected(
        &mut self,
        r: &EventRecord,
        o: &OrderRequest,
        request: RequestType,
        reason: RejectReason,
    ) {
        match request {
            RequestType::New => self.on_rejected_new(r, o, reason),
            RequestType::Modify => self.on_rejected_modify(r, o, reason),
            RequestType::Cancel => self.on_rejected_cancel(r, o, reason),
            RequestType::Unknown => {
                if reason != RejectReason::InvalidRequestType {
                    self.reason_unfit(Rule::Fates, r, o, request, reason);
                }
            }
        }
    }

    pub(super) fn reason_unfit(
        &mut self,
        rule: Rule,
        r: &EventRecord,
        o: &OrderRequest,
        request: RequestType,
        reason: RejectReason,
    ) {
        let state = match self.orders.get(o.order_id) {
            Some(live) => live.state(),
            None => "not live",
        };
        let session = if self.session.is_some() { "logged on" } else { "logged out" };
        self.fail(rule, r.seq, Some(o.order_id), || {
            format!(
                "a {} request rejected {} does not fit: price {}, qty {}, side {:?}, the order is {state}, {session}",
                request.name(),
                reason.name(),
                o.price,
                o.qty,
                o.side
            )
        });
    }

    fn on_rejected_new(&mut self, r: &EventRecord, o: &OrderRequest, reason: RejectReason) {
        let id = o.order_id;
        let valid = o.validate_new();
        let logged_on = self.session.is_some();
        let fits = match reason {
            RejectReason::InvalidPrice | RejectReason::InvalidQty | RejectReason::InvalidSide => {
                valid == Err(reason)
            }
            // Never a New's reason.
            RejectReason::NotOwner => false,
            RejectReason::OutsideWindow => valid.is_ok() && (!logged_on || self.after_end(r)),
            RejectReason::JournalFull => valid.is_ok() && logged_on,
            RejectReason::DuplicateOrderId => valid.is_ok() && logged_on && self.orders.get(id).is_some(),
            RejectReason::QueueFull => {
                valid.is_ok() && logged_on && self.orders.get(id).is_none() && self.orders.queued_len() > 0
            }
            RejectReason::InvalidRequestType
            | RejectReason::NotQueued
            | RejectReason::NotOpen
            | RejectReason::RequestPending
            | RejectReason::ReplaceBelowFilled
            | RejectReason::OrderEnded => false,
            // A risk limit: the limits and the books are the risk rule's (`risk_rules.rs`).
            RejectReason::MaxOrderQty
            | RejectReason::MaxOrderNotional
            | RejectReason::PriceBand
            | RejectReason::NoReferencePrice
            | RejectReason::MaxPosition
            | RejectReason::MaxDailyNotional
            | RejectReason::MaxOpenOrders
            | RejectReason::TooManySymbols => {
                valid.is_ok()
                    && logged_on
                    && self.orders.get(id).is_none()
                    && self.risk_refusal_fits(r, o, reason)
            }
            // The kill switch: the queue rejected at the halt (the queued order's fate, not a
            // request of its own), or a New refused while halted.
            RejectReason::Halted => {
                if self.orders.front() == Some(Front::New(id)) {
                    if !self.halted_refusal_fits(id, RequestType::New) {
                        self.reason_unfit(Rule::Fates, r, o, RequestType::New, reason);
                    }
                    return;
                }
                self.halted_refusal_fits(id, RequestType::New) && valid.is_ok()
            }
            RejectReason::SessionEnded => return self.on_session_ended(r, id, RequestType::New),
            RejectReason::NotSent => {
                if self.orders.front() == Some(Front::New(id)) {
                    // The queue's oldest order, which the exchange did not take as it left the
                    // queue: its fate. Sent (had it gone out) only while logged on.
                    self.orders.end(id);
                    if !logged_on {
                        self.reason_unfit(Rule::Fates, r, o, RequestType::New, reason);
                    }
                    return;
                }
                // A New the exchange did not take as it was sent at once.
                valid.is_ok() && logged_on && self.orders.get(id).is_none()
            }
            RejectReason::Shutdown => {
                self.shutdown_seen = true;
                if self.orders.front() == Some(Front::New(id)) {
                    // The queue emptied at shutdown, oldest first.
                    self.orders.end(id);
                    return;
                }
                // A New still in a ring at shutdown (not validated).
                true
            }
        };
        self.count(Rule::Fates);
        if !fits {
            self.reason_unfit(Rule::Fates, r, o, RequestType::New, reason);
        }
    }

    /// A `session_ended` reject of `request` for order `id`: at a logout, the waiting cancels
    /// first, then the queue (New orders and replaces), oldest first, right before the logout.
    pub(super) fn on_session_ended(&mut self, r: &EventRecord, id: u64, request: RequestType) {
        // A restarted engine rejects what a window that ended while it was down left queued:
        // no session is on, and no logout follows (the session died with the process).
        let after_restart = self.session.is_none() && self.crashed.is_some_and(|s| r.time_ns >= s.end_ns);
        if !after_restart {
            if self.ending.is_none() {
                self.ending = Some(r.seq);
            }
            if self.session.is_none() {
                self.fail(Rule::SessionEnd, r.seq, Some(id), || {
                    "rejected session_ended while no session is logged on".into()
                });
            }
        }
        if request == RequestType::Cancel {
            let first = self.orders.cancel_front();
            if first == Some(id) {
                self.orders.unwait_cancel(id);
            } else {
                self.fail(Rule::SessionEnd, r.seq, Some(id), || match first {
                    Some(first) => format!(
                        "a cancel rejected session_ended out of line order: the cancel of order {first} \
                         waited longer"
                    ),
                    None => "a cancel rejected session_ended, but no cancel of it waits".into(),
                });
                self.orders.unwait_cancel(id);
            }
            return;
        }
        let front = self.orders.front();
        let expected = if request == RequestType::Modify { Front::Replace(id) } else { Front::New(id) };
        if front == Some(expected) {
            self.leave_front(expected);
            return;
        }
        let waits = match request {
            RequestType::Modify => self.orders.open(id).is_some_and(|o| o.replace.is_some()),
            _ => self.orders.is_queued(id),
        };
        if waits {
            self.fail(Rule::SessionEnd, r.seq, Some(id), || {
                format!(
                    "rejected session_ended out of queue order: order {} was queued earlier",
                    front.map_or(0, Front::id)
                )
            });
            self.leave_front(expected);
        } else {
            self.fail(Rule::SessionEnd, r.seq, Some(id), || {
                format!("a {} rejected session_ended, but it is not in the queue", request.name())
            });
        }
    }

    /// The queue entry `front` leaves the queue without being sent (a replace's order stays
    /// open).
    pub(super) fn leave_front(&mut self, front: Front) {
        match front {
            Front::New(id) => {
                self.orders.end(id);
            }
            Front::Replace(id) => {
                self.orders.drop_replace(id);
            }
        }
    }

    pub(super) fn on_response(
        &mut self,
        r: &EventRecord,
        id: u64,
        response: ResponseType,
        round_trip_ns: u64,
    ) {
        self.count(Rule::Responses);
        let Some(f) = self.orders.open(id).copied().filter(|o| o.life.state() == OrderState::Sent) else {
            self.fail(Rule::Responses, r.seq, Some(id), || {
                "a response matched to an order that is not in flight (it should be unmatched_response)"
                    .into()
            });
            return;
        };
        if response == ResponseType::Accept {
            if let Some(life) = self.orders.life_mut(id) {
                let _ = life.accept();
            }
        } else {
            self.orders.end(id);
        }
        let elapsed = i128::from(r.time_ns) - i128::from(f.sent_ns);
        self.check_round_trip(r, id, round_trip_ns, elapsed, f.since_seq, "send");
    }

    /// A round trip of `latency` ns recorded `elapsed` ns after what it measures (at `since_seq`).
    pub(super) fn check_round_trip(
        &mut self,
        r: &EventRecord,
        id: u64,
        latency: u64,
        elapsed: i128,
        since_seq: u64,
        what: &str,
    ) {
        let ok = if self.options.exact_latency {
            i128::from(latency) == elapsed
        } else {
            i128::from(latency) <= elapsed
        };
        if !ok {
            self.fail(Rule::Responses, r.seq, Some(id), || {
                format!(
                    "latency {latency} ns, but the {} is recorded {elapsed} ns after the {what} (seq {since_seq})",
                    r.kind.name()
                )
            });
        }
    }

    pub(super) fn on_unmatched(&mut self, r: &EventRecord, id: u64) {
        self.count(Rule::Responses);
        if let Some(f) = self.orders.open(id).filter(|o| o.life.state() == OrderState::Sent) {
            let since = f.since_seq;
            self.fail(Rule::Responses, r.seq, Some(id), || {
                format!("unmatched_response for an order in flight since seq {since}")
            });
        }
    }

    pub(super) fn on_unanswered(&mut self, r: &EventRecord, id: u64) {
        self.shutdown_seen = true;
        if self.orders.open(id).is_none() {
            self.fail(Rule::Fates, r.seq, Some(id), || "unanswered, but it is not at the exchange".into());
        }
        self.orders.end(id);
        // At shutdown, or at the logout after the window's end once the working orders were
        // cancelled (or their grace is over).
        let session_over = self.session.is_none() || self.after_end(r);
        if !session_over || self.orders.queued_len() > 0 || self.orders.waiting_cancels() > 0 {
            self.fail(Rule::Fates, r.seq, Some(id), || {
                "unanswered while the session is on in its window, or orders or cancels wait: it is \
                 recorded only at shutdown or at the logout after the window's end, after both"
                    .into()
            });
        }
    }
}
