//! The order rules of the [`Auditor`]: every order's fate (`fates`), FIFO among queued orders
//! (`fifo`), modifies in place (`modify`), the throttle over every send (`throttle`), orders
//! well formed (`well_formed`), answers matched to orders in flight (`responses`), and the
//! queue emptied at a logout (`session_end`).

use super::{Auditor, Bound, excess_message};
use crate::audit::Rule;
use crate::audit::orders::{Live, Queued, Sent};
use crate::model::{OrderRequest, RejectReason, RequestType};
use crate::record::EventRecord;

impl Auditor {
    /// An execution report or an exchange reject names an order whose first answer (its
    /// `response`) is already recorded, or one this journal does not know.
    pub(super) fn on_exchange_order_event(&mut self, r: &EventRecord, id: u64) {
        self.count(Rule::Responses);
        match self.orders.get(id).copied() {
            None => {}
            Some(Live::InFlight(f)) => self.fail(Rule::Responses, r.seq, Some(id), || {
                format!(
                    "a {} record for an order in flight since seq {} without its response: the \
                     response (its first answer) is recorded first",
                    r.kind.name(),
                    f.since_seq
                )
            }),
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
        let q = Queued {
            ticket: 0,
            since_seq: r.seq,
            symbol_id: o.symbol_id,
            side: o.side,
            price: o.price,
            qty: o.qty,
            modified: false,
        };
        self.orders.enqueue(o.order_id, q);
    }

    pub(super) fn on_sent(&mut self, r: &EventRecord, o: &OrderRequest) {
        let id = o.order_id;
        self.check_window(r, id);
        self.check_exchange_ready(r, id);
        self.check_well_formed(r, o);
        self.count(Rule::Throttle);
        let excess = match &mut self.bound {
            Bound::Sliding(b) => b.push(r.time_ns),
            Bound::Bucket(b) => b.push(r.time_ns),
        };
        if let Some(e) = excess {
            self.fail(Rule::Throttle, r.seq, Some(id), || excess_message(&e));
        }
        self.count(Rule::Fifo);
        match self.orders.get(id).copied() {
            Some(Live::Queued(q)) => {
                let front = self.orders.front();
                if front != Some(id) {
                    self.fail(Rule::Fifo, r.seq, Some(id), || {
                        format!(
                            "sent from the queue before order {}, which was queued earlier",
                            front.unwrap_or_default()
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
                self.orders.fly(id, Sent { since_seq: r.seq, sent_ns: r.time_ns });
            }
            Some(Live::InFlight(f)) => {
                self.fail(Rule::Fates, r.seq, Some(id), || {
                    format!("sent twice: it is in flight since seq {}", f.since_seq)
                });
            }
            None => {
                // Sent at once: a New request of its own.
                self.count(Rule::Fates);
                if let Some(front) = self.orders.front() {
                    let n = self.orders.queued_len();
                    self.fail(Rule::Fifo, r.seq, Some(id), || {
                        format!("sent at once while {n} order(s) waited in the queue (oldest: order {front})")
                    });
                }
                self.orders.fly(id, Sent { since_seq: r.seq, sent_ns: r.time_ns });
            }
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
            self.fail(Rule::Modify, r.seq, Some(id), || "modified while not in the queue".into());
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
            RequestType::Modify => {
                let fits = match reason {
                    RejectReason::InvalidPrice | RejectReason::InvalidQty => {
                        o.validate_modify() == Err(reason)
                    }
                    RejectReason::NotQueued => {
                        o.validate_modify().is_ok() && !self.orders.is_queued(o.order_id)
                    }
                    RejectReason::OutsideWindow
                    | RejectReason::InvalidSide
                    | RejectReason::InvalidRequestType
                    | RejectReason::DuplicateOrderId
                    | RejectReason::QueueFull
                    | RejectReason::JournalFull
                    | RejectReason::SessionEnded
                    | RejectReason::Shutdown
                    | RejectReason::NotSent => false,
                };
                if !fits {
                    self.reason_unfit(Rule::Modify, r, o, request, reason);
                }
            }
            RequestType::Cancel => {
                let fits = match reason {
                    RejectReason::NotQueued => !self.orders.is_queued(o.order_id),
                    RejectReason::OutsideWindow
                    | RejectReason::InvalidPrice
                    | RejectReason::InvalidQty
                    | RejectReason::InvalidSide
                    | RejectReason::InvalidRequestType
                    | RejectReason::DuplicateOrderId
                    | RejectReason::QueueFull
                    | RejectReason::JournalFull
                    | RejectReason::SessionEnded
                    | RejectReason::Shutdown
                    | RejectReason::NotSent => false,
                };
                if !fits {
                    self.reason_unfit(Rule::Fates, r, o, request, reason);
                }
            }
            RequestType::Unknown => {
                if reason != RejectReason::InvalidRequestType {
                    self.reason_unfit(Rule::Fates, r, o, request, reason);
                }
            }
        }
    }

    fn reason_unfit(
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
            RejectReason::OutsideWindow => valid.is_ok() && !logged_on,
            RejectReason::JournalFull => valid.is_ok() && logged_on,
            RejectReason::DuplicateOrderId => valid.is_ok() && logged_on && self.orders.get(id).is_some(),
            RejectReason::QueueFull => {
                valid.is_ok() && logged_on && self.orders.get(id).is_none() && self.orders.queued_len() > 0
            }
            RejectReason::InvalidRequestType | RejectReason::NotQueued => false,
            RejectReason::SessionEnded => return self.on_session_ended(r, id),
            RejectReason::NotSent => {
                if self.orders.front() == Some(id) {
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
                if self.orders.front() == Some(id) {
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

    fn on_session_ended(&mut self, r: &EventRecord, id: u64) {
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
        let front = self.orders.front();
        if front == Some(id) {
            self.orders.end(id);
            return;
        }
        if self.orders.is_queued(id) {
            self.fail(Rule::SessionEnd, r.seq, Some(id), || {
                format!(
                    "rejected session_ended out of queue order: order {} was queued earlier",
                    front.unwrap_or_default()
                )
            });
            self.orders.end(id);
        } else {
            self.fail(Rule::SessionEnd, r.seq, Some(id), || {
                "rejected session_ended but it is not in the queue".into()
            });
        }
    }

    pub(super) fn on_response(&mut self, r: &EventRecord, id: u64, round_trip_ns: u64) {
        self.count(Rule::Responses);
        let Some(Live::InFlight(f)) = self.orders.get(id).copied() else {
            self.fail(Rule::Responses, r.seq, Some(id), || {
                "a response matched to an order that is not in flight (it should be unmatched_response)"
                    .into()
            });
            return;
        };
        self.orders.end(id);
        let elapsed = i128::from(r.time_ns) - i128::from(f.sent_ns);
        let latency = i128::from(round_trip_ns);
        let ok = if self.options.exact_latency { latency == elapsed } else { latency <= elapsed };
        if !ok {
            self.fail(Rule::Responses, r.seq, Some(id), || {
                format!(
                    "latency {round_trip_ns} ns, but the response is recorded {elapsed} ns after the send (seq {})",
                    f.since_seq
                )
            });
        }
    }

    pub(super) fn on_unmatched(&mut self, r: &EventRecord, id: u64) {
        self.count(Rule::Responses);
        if let Some(Live::InFlight(f)) = self.orders.get(id).copied() {
            self.fail(Rule::Responses, r.seq, Some(id), || {
                format!("unmatched_response for an order in flight since seq {}", f.since_seq)
            });
        }
    }

    pub(super) fn on_unanswered(&mut self, r: &EventRecord, id: u64) {
        self.shutdown_seen = true;
        if !matches!(self.orders.get(id), Some(Live::InFlight(_))) {
            self.fail(Rule::Fates, r.seq, Some(id), || "unanswered, but it is not in flight".into());
        }
        self.orders.end(id);
        if self.session.is_some() || self.orders.queued_len() > 0 {
            self.fail(Rule::Fates, r.seq, Some(id), || {
                "unanswered while a session is on or orders are queued: it is recorded only at shutdown, after both"
                    .into()
            });
        }
    }
}
