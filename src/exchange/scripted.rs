//! The scripted exchange used by replay: it answers nothing by itself, it remembers.
//!
//! Replay delivers the answers a scenario scripts (`response`, `fill`, `cancelled`, `replaced`,
//! `cancel_rejected`, `expired` lines) through the ordinary [`Responder`](crate::ring::Responder).
//! With an automatic answer set ([`AutoAnswer`], a delay), every message sent is also answered
//! that delay after its send (the engine clock's reading at the call): an order accepted,
//! rejected, or accepted and filled in full at its price; a cancel carried out; a replace
//! carried out. The replay driver asks [`ScriptedExchange::next_due_ns`] /
//! [`ScriptedExchange::pop_due`] when each answer is due. The delay is the same for every
//! message and sends happen in time order, so the pending answers are a FIFO: no heap needed,
//! O(1) per message.

use std::collections::VecDeque;

use super::{Exchange, NotSent};
use crate::clock::EngineClock;
use crate::model::{Logon, Logout, OrderRequest, OrderResponse, ResponseType};
use crate::ring::Answer;

/// How the scripted exchange answers each order by itself (a cancel is always carried out, a
/// replace always replaces).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AutoAnswer {
    /// Accepted: the order works until the scenario fills, cancels or expires it.
    Accept,
    /// Rejected.
    Reject,
    /// Accepted and, at the same instant, filled in full at its price.
    Fill,
}

impl AutoAnswer {
    /// Its name in `--auto-response MS:NAME`.
    pub const fn name(self) -> &'static str {
        match self {
            AutoAnswer::Accept => "accept",
            AutoAnswer::Reject => "reject",
            AutoAnswer::Fill => "fill",
        }
    }

    /// The answer of that name.
    pub fn from_name(s: &str) -> Option<AutoAnswer> {
        [AutoAnswer::Accept, AutoAnswer::Reject, AutoAnswer::Fill].into_iter().find(|a| a.name() == s)
    }
}

/// An exchange that counts calls and, optionally, schedules an answer to each message sent.
#[derive(Debug)]
pub struct ScriptedExchange {
    clock: EngineClock,
    auto: Option<(u64, AutoAnswer)>,
    /// (due time in monotonic ns, the answer), in due order.
    pending: VecDeque<(u64, Answer)>,
    sent: u64,
    cancels: u64,
    replaces: u64,
    logons: u64,
    logouts: u64,
}

impl ScriptedExchange {
    /// An exchange on the engine's `clock`. With `auto = Some((delay_ns, answer))` every order
    /// sent is answered `answer`, and every cancel and replace is carried out, `delay_ns`
    /// after its send.
    pub fn new(clock: EngineClock, auto: Option<(u64, AutoAnswer)>) -> Self {
        ScriptedExchange {
            clock,
            auto,
            pending: VecDeque::new(),
            sent: 0,
            cancels: 0,
            replaces: 0,
            logons: 0,
            logouts: 0,
        }
    }

    /// When the oldest scheduled answer is due (monotonic ns), if any.
    #[inline]
    pub fn next_due_ns(&self) -> Option<u64> {
        self.pending.front().map(|&(due, _)| due)
    }

    /// Takes the oldest scheduled answer if it is due at or before `now_ns`.
    #[inline]
    pub fn pop_due(&mut self, now_ns: u64) -> Option<Answer> {
        let &(due, answer) = self.pending.front()?;
        (due <= now_ns).then(|| {
            self.pending.pop_front();
            answer
        })
    }

    /// Scheduled answers not yet delivered.
    pub fn pending(&self) -> usize {
        self.pending.len()
    }

    /// Orders sent.
    pub fn sent(&self) -> u64 {
        self.sent
    }

    /// Cancels sent.
    pub fn cancels(&self) -> u64 {
        self.cancels
    }

    /// Replaces sent.
    pub fn replaces(&self) -> u64 {
        self.replaces
    }

    /// Logons sent.
    pub fn logons(&self) -> u64 {
        self.logons
    }

    /// Logouts sent.
    pub fn logouts(&self) -> u64 {
        self.logouts
    }

    /// Schedules `answer` the automatic delay after now, if answers are automatic.
    #[inline]
    fn schedule(&mut self, answer: impl FnOnce(AutoAnswer) -> Answer) {
        if let Some((delay, auto)) = self.auto {
            let due = self.clock.now_ns().saturating_add(delay);
            self.pending.push_back((due, answer(auto)));
        }
    }
}

impl Exchange for ScriptedExchange {
    #[inline]
    fn send(&mut self, order: &OrderRequest) -> Result<(), NotSent> {
        self.sent += 1;
        let order_id = order.order_id;
        self.schedule(|auto| {
            let response_type =
                if auto == AutoAnswer::Reject { ResponseType::Reject } else { ResponseType::Accept };
            Answer::Response(OrderResponse { order_id, response_type })
        });
        if self.auto.is_some_and(|(_, a)| a == AutoAnswer::Fill) {
            let (last_qty, last_px) = (order.qty, order.price);
            self.schedule(|_| Answer::Fill { order_id, last_qty, last_px });
        }
        Ok(())
    }
    #[inline]
    fn send_cancel(&mut self, order: &OrderRequest) -> Result<(), NotSent> {
        self.cancels += 1;
        let order_id = order.order_id;
        self.schedule(|_| Answer::Cancelled { order_id });
        Ok(())
    }
    #[inline]
    fn send_replace(&mut self, order: &OrderRequest) -> Result<(), NotSent> {
        self.replaces += 1;
        let order_id = order.order_id;
        self.schedule(|_| Answer::Replaced { order_id });
        Ok(())
    }
    fn send_logon(&mut self, _logon: &Logon) {
        self.logons += 1;
    }
    fn send_logout(&mut self, _logout: &Logout) {
        self.logouts += 1;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Side;

    fn response(order_id: u64, response_type: ResponseType) -> Answer {
        Answer::Response(OrderResponse { order_id, response_type })
    }

    #[test]
    fn answers_each_message_after_the_delay_in_send_order() {
        let (clock, mock) = EngineClock::manual(0);
        let mut x = ScriptedExchange::new(clock, Some((150, AutoAnswer::Reject)));
        x.send(&OrderRequest::new(1, 1, Side::Buy, 1.0, 1)).expect("taken");
        mock.increment(10u64);
        x.send(&OrderRequest::new(2, 1, Side::Buy, 1.0, 1)).expect("taken");
        assert_eq!((x.sent(), x.pending(), x.next_due_ns()), (2, 2, Some(150)));
        assert_eq!(x.pop_due(149), None);
        assert_eq!(x.pop_due(160), Some(response(1, ResponseType::Reject)));
        assert_eq!(x.pop_due(160).map(|r| r.order_id()), Some(2));
        assert_eq!(x.pop_due(u64::MAX), None);

        let (clock, mock) = EngineClock::manual(0);
        let mut x = ScriptedExchange::new(clock, Some((100, AutoAnswer::Fill)));
        x.send(&OrderRequest::new(3, 1, Side::Sell, 9.5, 7)).expect("taken");
        mock.increment(20u64);
        x.send_replace(&OrderRequest::new(3, 1, Side::Sell, 9.0, 8)).expect("taken");
        mock.increment(5u64);
        x.send_cancel(&OrderRequest::new(3, 1, Side::Sell, 9.0, 8)).expect("taken");
        let all: Vec<_> = std::iter::from_fn(|| x.pop_due(u64::MAX)).collect();
        assert_eq!(
            all,
            [
                response(3, ResponseType::Accept),
                Answer::Fill { order_id: 3, last_qty: 7, last_px: 9.5 },
                Answer::Replaced { order_id: 3 },
                Answer::Cancelled { order_id: 3 },
            ]
        );
        assert_eq!((x.sent(), x.replaces(), x.cancels()), (1, 1, 1));

        let (clock, _) = EngineClock::manual(0);
        let mut quiet = ScriptedExchange::new(clock, None);
        quiet.send(&OrderRequest::new(1, 1, Side::Buy, 1.0, 1)).expect("taken");
        quiet.send_cancel(&OrderRequest::new(1, 1, Side::Buy, 1.0, 1)).expect("taken");
        assert_eq!((quiet.sent(), quiet.cancels(), quiet.pending(), quiet.next_due_ns()), (1, 1, 0, None));
    }

    #[test]
    fn names_round_trip() {
        for a in [AutoAnswer::Accept, AutoAnswer::Reject, AutoAnswer::Fill] {
            assert_eq!(AutoAnswer::from_name(a.name()), Some(a));
        }
        assert_eq!(AutoAnswer::from_name("maybe"), None);
    }
}
