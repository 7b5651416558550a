//! The `risk` rule: every order taken or modified within the configured limits, every refusal
//! for a limit the one the limits give (`audit/risk.rs` is the model they are judged on).

use crate::audit::orders::Front;
use crate::model::{OrderRequest, RejectReason, RequestType, ResponseType};
use crate::record::{Event, EventRecord};

use super::super::Rule;
use super::Auditor;

impl Auditor {
    /// Whether the refusal of `o`'s `request` for risk limit `reason` at record `r` fits: with
    /// limits configured, the model must refuse it for that limit first (else a `risk`
    /// violation; the request's shape is the callers' part); without limits, none fits.
    pub(super) fn risk_refusal_fits(
        &mut self,
        r: &EventRecord,
        o: &OrderRequest,
        reason: RejectReason,
    ) -> bool {
        let Some(model) = &self.risk else { return false };
        let verdict = match r.request {
            RequestType::Modify => model.judge_modify(o.order_id, o),
            RequestType::New | RequestType::Cancel | RequestType::Unknown => model.judge_new(o),
        };
        self.count(Rule::Risk);
        if verdict != Some(reason) {
            let said = verdict.map_or("nothing refuses it", RejectReason::name);
            self.fail(Rule::Risk, r.seq, Some(o.order_id), || {
                format!(
                    "a {} of {} {} @ {} refused {}, but by the limits and the orders before it: {said}",
                    r.request.name(),
                    o.qty,
                    o.side,
                    o.price,
                    reason.name()
                )
            });
        }
        true
    }

    /// Whether a `halted` refusal of order `id`'s `request` fits: only while halted. The queue
    /// is rejected at the halt, oldest first: a New or a replace at its front leaves it.
    pub(super) fn halted_refusal_fits(&mut self, id: u64, request: RequestType) -> bool {
        let expected = match request {
            RequestType::Modify => Front::Replace(id),
            RequestType::New => Front::New(id),
            RequestType::Cancel | RequestType::Unknown => return false,
        };
        if self.orders.front() == Some(expected) {
            self.leave_front(expected);
        }
        self.halted
    }

    /// The kill switch: between a `halted` record and its `resumed`, nothing but cancels is
    /// queued or sent (no New, no replace, no modify).
    fn on_halt_rule(&mut self, r: &EventRecord, e: &Event) {
        let taken = match e {
            Event::Halted => {
                self.halted = true;
                return;
            }
            Event::Reference { .. } => return,
            Event::Resumed => {
                self.halted = false;
                return;
            }
            Event::Queued { order } | Event::Sent { order, .. } => Some(("a New", order.order_id)),
            Event::Modified { order } => Some(("a modify", order.order_id)),
            Event::ReplaceQueued { order } | Event::ReplaceSent { order, .. } => {
                Some(("a replace", order.order_id))
            }
            Event::Logon
            | Event::Logout
            | Event::ClientAttached { .. }
            | Event::ClientDetached { .. }
            | Event::Cancelled { .. }
            | Event::Rejected { .. }
            | Event::Response { .. }
            | Event::UnmatchedResponse { .. }
            | Event::Unanswered { .. }
            | Event::ClockStep { .. }
            | Event::Recovered { .. }
            | Event::SyncFailed
            | Event::ExchangeSession(_)
            | Event::Execution { .. }
            | Event::ExchangeReject { .. }
            | Event::CancelQueued { .. }
            | Event::CancelSent { .. }
            | Event::Fill { .. }
            | Event::VenueCancelled { .. }
            | Event::Replaced { .. }
            | Event::CancelRejected { .. }
            | Event::Expired { .. }
            | Event::UnexpectedReport { .. }
            | Event::Unfit(_) => None,
        };
        if let Some((what, id)) = taken {
            self.count(Rule::Risk);
            if self.halted {
                self.fail(Rule::Risk, r.seq, Some(id), || {
                    format!("{what} of order {id} taken while trading is halted (only cancels go out)")
                });
            }
        }
    }

    /// The risk model after record `r` (event `e`), which the other rules have checked: an
    /// order taken or modified is judged first, then booked; fills move positions; an order
    /// the lifecycle no longer holds releases its booking.
    pub(super) fn on_risk(&mut self, r: &EventRecord, e: &Event) {
        self.on_halt_rule(r, e);
        let Some(model) = &mut self.risk else { return };
        let mut broke = None;
        match e {
            // The day's notional starts again with each session, not at a logon that
            // continues the session a restart interrupted.
            Event::Logon if !self.logon_continues => model.new_day(),
            Event::Recovered { .. } => {
                for id in model.ids() {
                    let replace = self
                        .orders
                        .open(id)
                        .and_then(|x| x.replace.map(|q| (q.price, q.qty)).or_else(|| x.life.replacement()));
                    model.restarted(id, replace);
                }
            }
            Event::Queued { order } | Event::Sent { order, .. } if !model.holds(order.order_id) => {
                broke = model.judge_new(order).map(|v| (v, "taken", *order));
                model.take(order);
            }
            Event::Modified { order } if model.holds(order.order_id) => {
                broke = model.judge_modify(order.order_id, order).map(|v| (v, "modified", *order));
                if model.replace_waits(order.order_id) {
                    model.replace_taken(order.order_id, order, true);
                } else {
                    model.modified_queued(order.order_id, order);
                }
            }
            Event::ReplaceQueued { order } => {
                broke = model.judge_modify(order.order_id, order).map(|v| (v, "replace taken", *order));
                model.replace_taken(order.order_id, order, true);
            }
            Event::ReplaceSent { order, .. } => {
                if !model.replace_waits(order.order_id) {
                    broke = model.judge_modify(order.order_id, order).map(|v| (v, "replace sent", *order));
                }
                model.replace_taken(order.order_id, order, false);
            }
            Event::Fill { order_id, symbol_id, side, last_qty, last_px, .. } => {
                model.fill(*order_id, *symbol_id, *side == 'B', *last_qty, *last_px)
            }
            Event::Replaced { order, .. } => model.settled(order.order_id, Some(order)),
            Event::CancelRejected { order, .. } => model.settled(order.order_id, None),
            Event::Reference { symbol, price } => model.reference(*symbol, *price),
            Event::Rejected {
                order,
                request: RequestType::New,
                reason: RejectReason::QueueFull | RejectReason::NotSent,
                ..
            } => model.passed(order.symbol_id),
            Event::Logon
            | Event::Halted
            | Event::Resumed
            | Event::ClientAttached { .. }
            | Event::ClientDetached { .. }
            | Event::Response { response: ResponseType::Accept, .. }
            | Event::Queued { .. }
            | Event::Sent { .. }
            | Event::Modified { .. }
            | Event::Cancelled { .. }
            | Event::Rejected { .. }
            | Event::Response { .. }
            | Event::Unanswered { .. }
            | Event::CancelQueued { .. }
            | Event::CancelSent { .. }
            | Event::VenueCancelled { .. }
            | Event::Expired { .. }
            | Event::Logout
            | Event::UnmatchedResponse { .. }
            | Event::ClockStep { .. }
            | Event::SyncFailed
            | Event::ExchangeSession(_)
            | Event::Execution { .. }
            | Event::ExchangeReject { .. }
            | Event::UnexpectedReport { .. }
            | Event::Unfit(_) => {}
        }
        if let Some(id) = e.order_id()
            && model.holds(id)
            && self.orders.get(id).is_none()
        {
            model.end(id);
        }
        if matches!(e, Event::Queued { .. } | Event::Sent { .. } | Event::Modified { .. })
            || matches!(e, Event::ReplaceQueued { .. } | Event::ReplaceSent { .. })
        {
            self.count(Rule::Risk);
        }
        if let Some((reason, what, o)) = broke {
            self.fail(Rule::Risk, r.seq, Some(o.order_id), || {
                format!(
                    "order {} {what} ({} {} @ {}) beyond the limits: {} refuses it",
                    o.order_id,
                    o.qty,
                    o.side,
                    o.price,
                    reason.name()
                )
            });
        }
    }
}
