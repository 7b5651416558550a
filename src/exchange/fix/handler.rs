//! The FIX session's inbound side for [`FixExchange`](super::FixExchange): each session output
//! (an application message, a gap fill) turned into the engine's answers and events, with the
//! ClOrdID chain of the orders it follows.

use super::*;

/// Turns session outputs into answers and events.
pub(super) struct Handler<'s> {
    pub(super) orders: &'s mut OrderTable,
    pub(super) responder: &'s mut Responder,
    pub(super) deferred: &'s mut Vec<Answer>,
    pub(super) stats: &'s mut FixStats,
    pub(super) events: &'s mut dyn FnMut(ExchangeEvent<'_>),
}

/// Whether an ExecutionReport about request `n` of an order (0: its New) says the order's life
/// ended at the exchange: filled, cancelled, expired or done for the day, or its New rejected
/// (a trade that leaves nothing, LeavesQty 0, ends it too: the caller checks that).
fn ends_order(exec_type: u8, ord_status: u8, n: u32) -> bool {
    matches!(exec_type, b'4' | b'C' | b'3')
        || matches!(ord_status, b'2' | b'4' | b'C' | b'3')
        || (n == 0 && (exec_type == b'8' || ord_status == b'8'))
}

impl Handler<'_> {
    fn answer(&mut self, a: Answer) {
        FixExchange::respond(self.responder, self.deferred, self.stats, a);
    }

    fn first_answer(&mut self, order_id: u64, response_type: ResponseType) {
        self.answer(Answer::Response(OrderResponse { order_id, response_type }));
    }

    pub(super) fn on_output(&mut self, o: Output<'_>) {
        match o {
            Output::Event(e) => {
                if let ExchangeEvent::LoggedOn { .. } = e {
                    self.stats.logons += 1;
                }
                if let ExchangeEvent::GapFilled { begin, new_seq } = e {
                    self.gap_filled(begin, new_seq);
                }
                (self.events)(e);
            }
            Output::App(m) => self.on_app(m),
            Output::Reject { ref_seq, reason, text } => match self.orders.order_at(ref_seq) {
                Some((order_id, n)) => {
                    self.refused(order_id, n);
                    let source = RejectSource::SessionReject;
                    (self.events)(ExchangeEvent::OrderRejected { order_id, source, reason, text });
                }
                None => (self.events)(ExchangeEvent::SessionRejected { ref_seq, reason, text }),
            },
        }
    }

    /// Order `order_id`'s message `n` (0: the New, else its n-th request) was turned down
    /// outside an execution report (a session Reject, a BusinessMessageReject, a gap fill over
    /// it): an unanswered New is answered `reject`, a pending request is answered refused (the
    /// order goes on as it was). Anything else was answered already.
    fn refused(&mut self, order_id: u64, n: u32) {
        if n == 0 {
            if self.orders.answered(order_id) {
                self.first_answer(order_id, ResponseType::Reject);
                self.orders.ended(order_id);
            }
        } else if self.orders.settled(order_id, n) {
            self.answer(Answer::CancelRejected { order_id, code: 0 });
        }
    }

    /// Whether a refusal of order `order_id`'s request `n` is about a request that is not the
    /// pending one (a duplicate of an answer given already): the engine would take it for the
    /// refusal of the request that is pending. Only known for a request of an order the session
    /// follows.
    fn stale(&self, order_id: u64, n: u32) -> bool {
        n > 0 && self.orders.chain(order_id).is_some_and(|c| c.pending != n)
    }

    /// Messages in `[begin, new_seq)` will never reach the counterparty: each unanswered order
    /// is answered `reject`, each pending request refused.
    fn gap_filled(&mut self, begin: u64, new_seq: u64) {
        for seq in begin..new_seq {
            let Some((order_id, n)) = self.orders.order_at(seq) else { continue };
            let open = if n == 0 {
                self.orders.awaits(order_id)
            } else {
                self.orders.chain(order_id).is_some_and(|c| c.pending == n)
            };
            if open {
                self.refused(order_id, n);
                let text = "the counterparty asked for it again; gap-filled, not re-sent";
                (self.events)(ExchangeEvent::OrderRejected {
                    order_id,
                    source: RejectSource::GapFilled,
                    reason: 0,
                    text,
                });
            }
        }
    }

    fn on_app(&mut self, m: Message<'_>) {
        let seq = m.seq_num().unwrap_or(0);
        match m.msg_type() {
            tags::msg::EXECUTION_REPORT => self.on_execution_report(m, seq),
            tags::msg::ORDER_CANCEL_REJECT => {
                let request = m.get(tags::CL_ORD_ID).and_then(parse_cl_ord_id);
                let orig = || m.get(tags::ORIG_CL_ORD_ID).and_then(parse_cl_ord_id).map(|(id, _)| (id, 0));
                let Some((order_id, n)) = request.or_else(orig) else {
                    let reason =
                        "OrderCancelReject without a ClOrdID (11) or OrigClOrdID (41) of this session";
                    return (self.events)(ExchangeEvent::Unhandled { msg_type: "9", seq, reason });
                };
                if self.stale(order_id, n) {
                    let reason = "OrderCancelReject of a request that is not pending (answered already)";
                    return (self.events)(ExchangeEvent::Unhandled { msg_type: "9", seq, reason });
                }
                self.orders.settled(order_id, n);
                let code = m.get_u64(tags::CXL_REJ_REASON).map_or(0, |c| c.min(u64::from(u32::MAX)) as u32);
                self.answer(Answer::CancelRejected { order_id, code });
            }
            tags::msg::BUSINESS_REJECT => {
                let by_id = m.get(tags::BUSINESS_REJECT_REF_ID).and_then(parse_cl_ord_id);
                let order =
                    by_id.or_else(|| m.get_u64(tags::REF_SEQ_NUM).and_then(|s| self.orders.order_at(s)));
                let Some((order_id, n)) = order else {
                    let reason = "BusinessMessageReject naming no order of this session";
                    return (self.events)(ExchangeEvent::Unhandled { msg_type: "j", seq, reason });
                };
                self.refused(order_id, n);
                let reason =
                    m.get_u64(tags::BUSINESS_REJECT_REASON).map_or(0, |r| r.min(u64::from(u32::MAX)) as u32);
                let text = m.get_str(tags::TEXT);
                (self.events)(ExchangeEvent::OrderRejected {
                    order_id,
                    source: RejectSource::BusinessReject,
                    reason,
                    text,
                });
            }
            _ => {
                let msg_type = std::str::from_utf8(m.msg_type()).unwrap_or("?");
                (self.events)(ExchangeEvent::Unhandled {
                    msg_type,
                    seq,
                    reason: "application message not handled",
                });
            }
        }
    }

    /// An ExecutionReport: the order's first answer if it awaits one, then what the report says
    /// as an [`Answer`] (a fill, a cancel or replace carried out, a request refused, an
    /// expiry), or as an [`ExchangeEvent::Execution`] (pending new, pending cancel or replace,
    /// anything else). The engine judges whether the answer fits the order.
    fn on_execution_report(&mut self, m: Message<'_>, seq: u64) {
        let Some((order_id, n)) = m.get(tags::CL_ORD_ID).and_then(parse_cl_ord_id) else {
            let reason = "ExecutionReport without a ClOrdID (11) of this session";
            return (self.events)(ExchangeEvent::Unhandled { msg_type: "8", seq, reason });
        };
        let first = |t| m.get(t).and_then(|v| v.first().copied()).unwrap_or(0);
        let (exec_type, ord_status) = (first(tags::EXEC_TYPE), first(tags::ORD_STATUS));
        let last_qty = m.get(tags::LAST_QTY).and_then(text::parse_qty);
        // A trade without a readable price still counts its quantity (never overfilled); its
        // fill record shows the price 0.
        let last_px = m.get(tags::LAST_PX).and_then(text::parse_f64).unwrap_or(0.0);
        let report =
            ExecutionReport { order_id, exec_type, ord_status, last_qty: last_qty.unwrap_or(0), last_px };
        // Pending New: not an answer yet.
        if exec_type == b'A' {
            return (self.events)(ExchangeEvent::Execution(report));
        }
        let rejected = exec_type == b'8' || ord_status == b'8';
        if n == 0 && (self.orders.answered(order_id) || exec_type == b'0' || rejected) {
            // The first answer, or a New / Rejected report for an order not known to await one
            // (sent before a restart, or not tracked): the engine matches it or records it
            // `unmatched_response`.
            self.first_answer(order_id, if rejected { ResponseType::Reject } else { ResponseType::Accept });
            if matches!(exec_type, b'0' | b'8') || rejected {
                if rejected {
                    self.orders.ended(order_id);
                }
                return;
            }
        }
        let answer = match exec_type {
            b'F' => last_qty.map(|last_qty| Answer::Fill { order_id, last_qty, last_px }),
            b'4' => Some(Answer::Cancelled { order_id }),
            b'5' => {
                self.orders.replaced(order_id, n);
                Some(Answer::Replaced { order_id })
            }
            b'C' | b'3' => Some(Answer::Expired { order_id }),
            // A request refused in an execution report rather than an OrderCancelReject (a
            // duplicate of an answer given already is only journaled).
            b'8' if !self.stale(order_id, n) => {
                self.orders.settled(order_id, n);
                Some(Answer::CancelRejected { order_id, code: 0 })
            }
            _ => None,
        };
        match answer {
            Some(a) => self.answer(a),
            None => (self.events)(ExchangeEvent::Execution(report)),
        }
        // LeavesQty is read only for a trade whose OrdStatus does not say filled.
        let leaves_qty = || m.get(tags::LEAVES_QTY).and_then(text::parse_qty);
        if ends_order(exec_type, ord_status, n) || (exec_type == b'F' && leaves_qty() == Some(0)) {
            self.orders.ended(order_id);
        }
    }
}
