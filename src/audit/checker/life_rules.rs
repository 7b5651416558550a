//! The lifecycle rules of the [`Auditor`]: cancels and replaces of orders at the exchange, and
//! every answer after an order's first (`lifecycle`); with them the throttle and the window
//! over every message (`throttle`, `window`), the cancel line and the queue in order (`fifo`),
//! a replace sent with its last values (`modify`), the round trips of cancels and replaces
//! (`responses`), and the reject reasons of Modify and Cancel requests.

use super::Auditor;
use crate::audit::Rule;
use crate::audit::orders::{Front, Queued};
use crate::model::{AnswerKind, Filled, OrderRequest, OrderState, Refusal, RejectReason, RequestType};
use crate::record::EventRecord;

impl Auditor {
    /// The order `id` must be at the exchange for record `r`; its state if it is.
    fn open_state(&mut self, r: &EventRecord, id: u64) -> Option<OrderState> {
        self.count(Rule::Lifecycle);
        let state = self.orders.open(id).map(|o| o.life.state());
        if state.is_none() {
            let what = match self.orders.get(id) {
                Some(live) => live.state(),
                None => "not live",
            };
            self.fail(Rule::Lifecycle, r.seq, Some(id), || {
                format!(
                    "a {} record for an order that is not at the exchange (it is {what}); an answer that \
                     fits no order is an unexpected_report",
                    r.kind.name()
                )
            });
        }
        state
    }

    /// Why a cancel or replace may not go out for an order in `state` (not working).
    fn not_working(&mut self, r: &EventRecord, id: u64, state: OrderState, refusal: Refusal) {
        let why = match (state, refusal) {
            (OrderState::Sent, _) => {
                "it awaits its first answer: only a working order (accepted, not filled) is cancelled or \
                 replaced"
            }
            (_, Refusal::Pending) => "a cancel or replace of it is pending: one at a time",
            (_, Refusal::BelowFilled) => "a replace never asks for what is already filled",
            (_, Refusal::NotOpen) => "only a working order (accepted, not filled) is cancelled or replaced",
        };
        self.misfit(r, id, state, why);
    }

    /// A transition the order's state does not allow.
    fn misfit(&mut self, r: &EventRecord, id: u64, state: OrderState, why: &str) {
        self.fail(Rule::Lifecycle, r.seq, Some(id), || {
            format!("a {} record for an order that is {}: {why}", r.kind.name(), state.name())
        });
    }

    pub(super) fn on_cancel_queued(&mut self, r: &EventRecord, o: &OrderRequest) {
        let id = o.order_id;
        self.check_cancel_window(r, id);
        let Some(state) = self.open_state(r, id) else { return };
        // A Cancel drops a replace of the order waiting in the queue: the order is cancelled
        // instead.
        self.orders.drop_replace(id);
        let waits = self.orders.open(id).is_some_and(|x| x.cancel_waits());
        let may = self.orders.open(id).map(|x| x.life.may_cancel());
        if waits {
            self.misfit(r, id, state, "a cancel of it already waits (one request at a time)");
        } else if let Some(Err(refusal)) = may {
            self.not_working(r, id, state, refusal);
        }
        self.orders.wait_cancel(id);
    }

    pub(super) fn on_cancel_sent(&mut self, r: &EventRecord, o: &OrderRequest) {
        let id = o.order_id;
        self.check_message(r, id);
        let Some(state) = self.open_state(r, id) else { return };
        if self.orders.open(id).is_some_and(|x| x.cancel_waits()) {
            let first = self.orders.cancel_front();
            if first != Some(id) {
                self.fail(Rule::Fifo, r.seq, Some(id), || {
                    format!(
                        "its cancel went out before the cancel of order {}, which waited longer",
                        first.unwrap_or_default()
                    )
                });
            }
            self.orders.unwait_cancel(id);
        } else {
            let n = self.orders.waiting_cancels();
            if n > 0 {
                self.fail(Rule::Fifo, r.seq, Some(id), || {
                    format!("a cancel sent at once while {n} cancel(s) waited in line")
                });
            }
            self.orders.drop_replace(id);
        }
        if let Some(Err(refusal)) = self.orders.life_mut(id).map(|l| l.cancel_sent()) {
            self.not_working(r, id, state, refusal);
        }
        self.orders.set_request_ns(id, r.time_ns);
    }

    pub(super) fn on_replace_queued(&mut self, r: &EventRecord, o: &OrderRequest) {
        let id = o.order_id;
        self.check_window(r, id);
        self.count(Rule::Modify);
        self.check_replace_values(r, o);
        let Some(state) = self.open_state(r, id) else { return };
        let Some(x) = self.orders.open(id).copied() else { return };
        if x.cancel_waits() || x.replace.is_some() {
            self.misfit(r, id, state, "a cancel or replace of it already waits (one request at a time)");
        } else {
            self.check_may_replace(r, id, state, x.life.may_replace(o.qty), x.life.cum_qty());
        }
        let q = Queued::from_record(o, r.seq);
        self.orders.enqueue_replace(id, q);
    }

    pub(super) fn on_replace_sent(&mut self, r: &EventRecord, o: &OrderRequest) {
        let id = o.order_id;
        self.check_message(r, id);
        self.check_replace_values(r, o);
        self.check_cancels_first(r, id);
        let Some(state) = self.open_state(r, id) else { return };
        let Some(x) = self.orders.open(id).copied() else { return };
        if let Some(q) = x.replace {
            let front = self.orders.front();
            if front != Some(Front::Replace(id)) {
                self.fail(Rule::Fifo, r.seq, Some(id), || {
                    format!(
                        "its replace went out of the queue before order {}, which was queued earlier",
                        front.map_or(0, Front::id)
                    )
                });
            }
            if q.price.to_bits() != o.price.to_bits() || q.qty != o.qty {
                self.fail(Rule::Modify, r.seq, Some(id), || {
                    format!(
                        "replace sent as {} @ {} but its {} values are {} @ {}",
                        o.qty,
                        o.price,
                        if q.modified { "last modified" } else { "queued" },
                        q.qty,
                        q.price
                    )
                });
            }
            self.orders.drop_replace(id);
        } else {
            self.check_queue_empty(r, id, "a replace sent at once");
            if x.cancel_waits() {
                self.misfit(r, id, state, "a cancel of it waits (one request at a time)");
            }
        }
        let refused = self.orders.life_mut(id).map(|l| l.replace_sent(o.price, o.qty));
        if let Some(Err(refusal)) = refused {
            self.check_may_replace(r, id, state, Err(refusal), x.life.cum_qty());
        }
        self.orders.set_request_ns(id, r.time_ns);
    }

    /// A replace keeps the order's symbol and side, and asks for a valid price and quantity.
    fn check_replace_values(&mut self, r: &EventRecord, o: &OrderRequest) {
        let id = o.order_id;
        if o.validate_modify().is_err() {
            self.fail(Rule::Modify, r.seq, Some(id), || {
                format!(
                    "a replace to price {} and qty {}: a modify with these values must be rejected",
                    o.price, o.qty
                )
            });
        }
        if let Some(x) = self.orders.open(id)
            && (x.symbol_id, x.side) != (o.symbol_id, o.side)
        {
            let (symbol_id, side) = (x.symbol_id, x.side);
            self.fail(Rule::Modify, r.seq, Some(id), || {
                format!(
                    "a replace changes symbol/side from {symbol_id}/{side} to {}/{}: it changes only price and qty",
                    o.symbol_id, o.side
                )
            });
        }
    }

    fn check_may_replace(
        &mut self,
        r: &EventRecord,
        id: u64,
        state: OrderState,
        may: Result<(), Refusal>,
        cum: u64,
    ) {
        match may {
            Ok(()) => {}
            Err(Refusal::BelowFilled) if state != OrderState::Sent => {
                self.misfit(r, id, state, &format!("a replace never asks for what is already filled ({cum})"))
            }
            Err(refusal) => self.not_working(r, id, state, refusal),
        }
    }

    pub(super) fn on_fill(
        &mut self,
        r: &EventRecord,
        id: u64,
        last_qty: u64,
        last_px: f64,
        cum_qty: u64,
        complete: bool,
    ) {
        let Some(state) = self.open_state(r, id) else { return };
        let Some(life) = self.orders.life_mut(id) else { return };
        let before = *life;
        let filled = life.fill(last_qty, last_px);
        let after = *life;
        match filled {
            Err(_) => {
                let why = if !state.is_open() {
                    "the exchange fills only an order it has accepted (a fill before the first answer is \
                     an unexpected_report)"
                        .to_string()
                } else if last_qty == 0 {
                    "a fill of nothing".to_string()
                } else {
                    format!(
                        "a fill of {last_qty} with {} of {} left of the live version: never filled beyond \
                         its quantity (a fill that would overfill is an unexpected_report)",
                        before.leaves(),
                        before.qty()
                    )
                };
                self.misfit(r, id, state, &why);
            }
            Ok(filled) => {
                if cum_qty != after.cum_qty() || complete != (filled == Filled::Fully) {
                    self.fail(Rule::Lifecycle, r.seq, Some(id), || {
                        format!(
                            "the fill states {cum_qty} filled{}, but its fills add up to {} of {}",
                            if complete { " in full" } else { "" },
                            after.cum_qty(),
                            after.qty()
                        )
                    });
                }
                if filled == Filled::Fully {
                    self.end_at_exchange(r, id);
                }
            }
        }
    }

    pub(super) fn on_venue_cancelled(
        &mut self,
        r: &EventRecord,
        id: u64,
        solicited: bool,
        round_trip_ns: u64,
    ) {
        let Some(state) = self.open_state(r, id) else { return };
        let Some(x) = self.orders.open(id).copied() else { return };
        if solicited != (state == OrderState::PendingCancel) {
            let why = if solicited {
                "it says it carried out our cancel, but none was pending"
            } else {
                "our cancel was pending, but it says the venue cancelled on its own"
            };
            self.misfit(r, id, state, why);
        }
        if let Some(Err(_)) = self.orders.life_mut(id).map(|l| l.cancelled()) {
            self.misfit(r, id, state, "a cancel is carried out only for an order open at the exchange");
        }
        if solicited {
            let elapsed = i128::from(r.time_ns) - i128::from(x.request_ns);
            self.check_round_trip(r, id, round_trip_ns, elapsed, x.since_seq, "cancel sent");
        }
        self.end_at_exchange(r, id);
    }

    pub(super) fn on_replaced(&mut self, r: &EventRecord, o: &OrderRequest, round_trip_ns: u64) {
        let id = o.order_id;
        let Some(state) = self.open_state(r, id) else { return };
        let Some(x) = self.orders.open(id).copied() else { return };
        if state != OrderState::PendingReplace {
            return self.misfit(r, id, state, "a replace is carried out only while one is pending");
        }
        let Some(life) = self.orders.life_mut(id) else { return };
        let _ = life.replaced();
        let (qty, price, ended) = (life.qty(), life.price(), life.state().is_final());
        if (o.qty, o.price.to_bits()) != (qty, price.to_bits()) {
            self.fail(Rule::Lifecycle, r.seq, Some(id), || {
                format!("replaced as {} @ {}, but the replace sent asked for {qty} @ {price}", o.qty, o.price)
            });
        }
        let elapsed = i128::from(r.time_ns) - i128::from(x.request_ns);
        self.check_round_trip(r, id, round_trip_ns, elapsed, x.since_seq, "replace sent");
        if ended {
            self.end_at_exchange(r, id);
        }
    }

    /// Order `id`'s life ended at the exchange with record `r`: a cancel or replace of it that
    /// waited for a permit is owed its `rejected` `order_ended`, the next record.
    fn end_at_exchange(&mut self, r: &EventRecord, id: u64) {
        if let Some(x) = self.orders.open(id) {
            let waited = if x.cancel_waits() {
                Some(RequestType::Cancel)
            } else {
                x.replace.map(|_| RequestType::Modify)
            };
            self.owed = waited.map(|request| (id, request, r.seq));
        }
        self.orders.end(id);
    }

    pub(super) fn on_cancel_rejected(&mut self, r: &EventRecord, id: u64, request: RequestType) {
        let Some(state) = self.open_state(r, id) else { return };
        let pending = match state {
            OrderState::PendingCancel => RequestType::Cancel,
            OrderState::PendingReplace => RequestType::Modify,
            _ => {
                return self.misfit(r, id, state, "a cancel or replace is refused only while one is pending");
            }
        };
        if request != pending {
            let (asked, was) = (request.name(), pending.name());
            self.misfit(r, id, state, &format!("it refuses a {asked}, but the request pending is a {was}"));
        }
        if let Some(life) = self.orders.life_mut(id) {
            let _ = life.cancel_rejected();
        }
    }

    pub(super) fn on_expired(&mut self, r: &EventRecord, id: u64) {
        let Some(state) = self.open_state(r, id) else { return };
        if let Some(Err(_)) = self.orders.life_mut(id).map(|l| l.expired()) {
            self.misfit(r, id, state, "only an order open at the exchange expires");
        }
        self.end_at_exchange(r, id);
    }

    /// An answer that fit no order's state: recorded, and it changed nothing. The state it
    /// states must be the order's, and the answer must indeed not fit it.
    pub(super) fn on_unexpected(
        &mut self,
        r: &EventRecord,
        id: u64,
        answer: AnswerKind,
        stated: Option<OrderState>,
        qty: u64,
        price: f64,
    ) {
        self.count(Rule::Lifecycle);
        let life = self.orders.open(id).map(|o| o.life);
        let state = life.map(|l| l.state());
        if stated != state {
            let name = |s: Option<OrderState>| s.map_or("not open at the exchange", OrderState::name);
            self.fail(Rule::Lifecycle, r.seq, Some(id), || {
                format!(
                    "an unexpected_report states the order was {}, but the journal shows it {}",
                    name(stated),
                    name(state)
                )
            });
            return;
        }
        let Some(mut life) = life else { return };
        let fits = match answer {
            AnswerKind::Response => life.state() == OrderState::Sent,
            AnswerKind::Fill => life.fill(qty, price).is_ok(),
            AnswerKind::Cancelled => life.cancelled().is_ok(),
            AnswerKind::Replaced => life.replaced().is_ok(),
            AnswerKind::CancelRejected => life.cancel_rejected().is_ok(),
            AnswerKind::Expired => life.expired().is_ok(),
        };
        if fits {
            let what = if answer == AnswerKind::Fill {
                format!("a fill of {qty} @ {price}")
            } else {
                format!("the answer {}", answer.name())
            };
            let state = state.map_or("", OrderState::name);
            self.fail(Rule::Lifecycle, r.seq, Some(id), || {
                format!(
                    "{what} is recorded as an unexpected_report, but it fits the order's state ({state}): \
                     it is applied"
                )
            });
        }
    }

    /// A Modify refused, or a replace that waited and ends without going out.
    pub(super) fn on_rejected_modify(&mut self, r: &EventRecord, o: &OrderRequest, reason: RejectReason) {
        let id = o.order_id;
        let valid = o.validate_modify().is_ok();
        let open = self.orders.open(id).copied();
        let logged_on = self.session.is_some();
        let front = self.orders.front();
        let fits = match reason {
            // A client's Modify of an order another producer owns (the owner is not followed
            // here: the order must be live, and the request a producer's).
            RejectReason::NotOwner => {
                (self.orders.is_queued(id) || open.is_some()) && r.producer != crate::record::ENGINE
            }
            RejectReason::InvalidPrice | RejectReason::InvalidQty => o.validate_modify() == Err(reason),
            // Written by engines before cancel / replace of open orders.
            RejectReason::NotQueued => valid && !self.orders.is_queued(id),
            RejectReason::NotOpen => {
                valid
                    && !self.orders.is_queued(id)
                    && open.is_none_or(|x| x.life.may_replace(o.qty) == Err(Refusal::NotOpen))
            }
            RejectReason::RequestPending => open.is_some_and(|x| {
                valid
                    && (x.cancel_waits()
                        || x.replace.is_some()
                        || x.life.may_replace(o.qty) == Err(Refusal::Pending))
            }),
            RejectReason::ReplaceBelowFilled => match open {
                // A fill made the waiting replace pointless: it leaves the queue.
                Some(x) if x.replace.is_some_and(|q| q.qty <= x.life.cum_qty()) => {
                    self.orders.drop_replace(id);
                    return;
                }
                Some(x) => valid && o.qty <= x.life.cum_qty(),
                None => false,
            },
            RejectReason::QueueFull => valid && logged_on && open.is_some(),
            RejectReason::OutsideWindow => valid && (!logged_on || self.after_end(r)) && open.is_some(),
            RejectReason::SessionEnded => return self.on_session_ended(r, id, RequestType::Modify),
            // The kill switch: a replace rejected with the queue at the halt, or a Modify refused
            // while halted.
            RejectReason::Halted => {
                let queued = self.orders.is_queued(id) || open.is_some();
                self.halted_refusal_fits(id, RequestType::Modify) && queued
            }
            RejectReason::Shutdown | RejectReason::NotSent if front == Some(Front::Replace(id)) => {
                if reason == RejectReason::Shutdown {
                    self.shutdown_seen = true;
                }
                // The replace at the front of the queue: refused by the exchange as it went out,
                // or rejected with the queue at shutdown. The order goes on as it was.
                if reason == RejectReason::NotSent && !logged_on {
                    self.reason_unfit(Rule::Modify, r, o, RequestType::Modify, reason);
                }
                self.orders.drop_replace(id);
                return;
            }
            RejectReason::Shutdown => {
                self.shutdown_seen = true;
                open.is_some()
            }
            // A replace the exchange did not take as it was sent at once.
            RejectReason::NotSent => logged_on && open.is_some(),
            // A Modify checked against the risk limits as the order it would become.
            RejectReason::MaxOrderQty
            | RejectReason::MaxOrderNotional
            | RejectReason::PriceBand
            | RejectReason::NoReferencePrice
            | RejectReason::MaxPosition
            | RejectReason::MaxDailyNotional => {
                valid
                    && logged_on
                    && (self.orders.is_queued(id) || open.is_some())
                    && self.risk_refusal_fits(r, o, reason)
            }
            RejectReason::InvalidSide
            | RejectReason::InvalidRequestType
            | RejectReason::DuplicateOrderId
            | RejectReason::JournalFull
            | RejectReason::MaxOpenOrders
            | RejectReason::TooManySymbols => false,
            // The replace waited in the queue when the order's life ended (the record before).
            RejectReason::OrderEnded => {
                self.owing.take_if(|w| (w.0, w.1) == (id, RequestType::Modify)).is_some()
            }
        };
        if !fits {
            self.reason_unfit(Rule::Modify, r, o, RequestType::Modify, reason);
        }
    }

    /// A Cancel refused, or a cancel that waited and ends without going out.
    pub(super) fn on_rejected_cancel(&mut self, r: &EventRecord, o: &OrderRequest, reason: RejectReason) {
        let id = o.order_id;
        let open = self.orders.open(id).copied();
        let logged_on = self.session.is_some();
        let waited = open.is_some_and(|x| x.cancel_waits());
        let fits = match reason {
            // A client's Cancel of an order another producer owns.
            RejectReason::NotOwner => {
                (self.orders.is_queued(id) || open.is_some()) && r.producer != crate::record::ENGINE
            }
            // Written by engines before cancel / replace of open orders.
            RejectReason::NotQueued => !self.orders.is_queued(id),
            RejectReason::NotOpen => {
                !self.orders.is_queued(id)
                    && open.is_none_or(|x| x.life.may_cancel() == Err(Refusal::NotOpen))
            }
            RejectReason::RequestPending => {
                open.is_some_and(|x| x.cancel_waits() || x.life.may_cancel() == Err(Refusal::Pending))
            }
            RejectReason::OutsideWindow => !logged_on && open.is_some(),
            RejectReason::SessionEnded => return self.on_session_ended(r, id, RequestType::Cancel),
            RejectReason::Shutdown | RejectReason::NotSent if waited => {
                if reason == RejectReason::Shutdown {
                    self.shutdown_seen = true;
                }
                // A cancel that waited in line: refused by the exchange as it went out (first in
                // line), or rejected with the line at shutdown. The order goes on as it was.
                let first = self.orders.cancel_front();
                if first != Some(id) {
                    self.fail(Rule::Fifo, r.seq, Some(id), || {
                        format!(
                            "a waiting cancel ends {} before the cancel of order {}, which waited longer",
                            reason.name(),
                            first.unwrap_or_default()
                        )
                    });
                }
                self.orders.unwait_cancel(id);
                return;
            }
            RejectReason::Shutdown => {
                self.shutdown_seen = true;
                open.is_some()
            }
            // A cancel the exchange did not take as it was sent at once.
            RejectReason::NotSent => logged_on && open.is_some(),
            RejectReason::InvalidPrice
            | RejectReason::InvalidQty
            | RejectReason::InvalidSide
            | RejectReason::InvalidRequestType
            | RejectReason::DuplicateOrderId
            | RejectReason::QueueFull
            | RejectReason::JournalFull
            | RejectReason::ReplaceBelowFilled
            | RejectReason::MaxOrderQty
            | RejectReason::MaxOrderNotional
            | RejectReason::PriceBand
            | RejectReason::NoReferencePrice
            | RejectReason::MaxPosition
            | RejectReason::MaxDailyNotional
            | RejectReason::MaxOpenOrders
            | RejectReason::TooManySymbols
            | RejectReason::Halted => false,
            // The cancel waited in line when the order's life ended (the record before).
            RejectReason::OrderEnded => {
                self.owing.take_if(|w| (w.0, w.1) == (id, RequestType::Cancel)).is_some()
            }
        };
        if !fits {
            self.reason_unfit(Rule::Fates, r, o, RequestType::Cancel, reason);
        }
    }
}
