//! The scripted exchange used by replay: it answers nothing by itself, it remembers.
//!
//! Replay delivers the responses a scenario scripts (`response` lines) through the ordinary
//! [`Responder`](crate::ring::Responder). With an auto-response delay set, every order sent is
//! also remembered with its send time (the engine clock's reading at `send`), and the replay
//! driver asks [`ScriptedExchange::next_due_ns`] / [`ScriptedExchange::pop_due`] when each answer
//! is due. The delay is the same for every order and sends happen in time order, so the pending
//! answers are a FIFO: no heap needed, O(1) per order.

use std::collections::VecDeque;

use super::{Exchange, NotSent};
use crate::clock::EngineClock;
use crate::model::{Logon, Logout, OrderRequest, OrderResponse, ResponseType};

/// An exchange that counts calls and, optionally, schedules one response per order sent.
#[derive(Debug)]
pub struct ScriptedExchange {
    clock: EngineClock,
    auto: Option<(u64, ResponseType)>,
    /// (due time in monotonic ns, order id), in due order.
    pending: VecDeque<(u64, u64)>,
    sent: u64,
    logons: u64,
    logouts: u64,
}

impl ScriptedExchange {
    /// An exchange on the engine's `clock`. With `auto = Some((delay_ns, kind))` every order
    /// sent is answered `kind`, `delay_ns` after its send.
    pub fn new(clock: EngineClock, auto: Option<(u64, ResponseType)>) -> Self {
        ScriptedExchange { clock, auto, pending: VecDeque::new(), sent: 0, logons: 0, logouts: 0 }
    }

    /// When the oldest scheduled answer is due (monotonic ns), if any.
    #[inline]
    pub fn next_due_ns(&self) -> Option<u64> {
        self.pending.front().map(|&(due, _)| due)
    }

    /// Takes the oldest scheduled answer if it is due at or before `now_ns`.
    #[inline]
    pub fn pop_due(&mut self, now_ns: u64) -> Option<OrderResponse> {
        let (kind, &(due, order_id)) = (self.auto?.1, self.pending.front()?);
        (due <= now_ns).then(|| {
            self.pending.pop_front();
            OrderResponse { order_id, response_type: kind }
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

    /// Logons sent.
    pub fn logons(&self) -> u64 {
        self.logons
    }

    /// Logouts sent.
    pub fn logouts(&self) -> u64 {
        self.logouts
    }
}

impl Exchange for ScriptedExchange {
    #[inline]
    fn send(&mut self, order: &OrderRequest) -> Result<(), NotSent> {
        self.sent += 1;
        if let Some((delay, _)) = self.auto {
            let due = self.clock.now_ns().saturating_add(delay);
            self.pending.push_back((due, order.order_id));
        }
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

    #[test]
    fn answers_each_order_after_the_delay_in_send_order() {
        let (clock, mock) = EngineClock::manual(0);
        let mut x = ScriptedExchange::new(clock, Some((150, ResponseType::Reject)));
        x.send(&OrderRequest::new(1, 1, Side::Buy, 1.0, 1)).expect("taken");
        mock.increment(10u64);
        x.send(&OrderRequest::new(2, 1, Side::Buy, 1.0, 1)).expect("taken");
        assert_eq!((x.sent(), x.pending(), x.next_due_ns()), (2, 2, Some(150)));
        assert_eq!(x.pop_due(149), None);
        assert_eq!(x.pop_due(160), Some(OrderResponse { order_id: 1, response_type: ResponseType::Reject }));
        assert_eq!(x.pop_due(160).map(|r| r.order_id), Some(2));
        assert_eq!(x.pop_due(u64::MAX), None);

        let (clock, _) = EngineClock::manual(0);
        let mut quiet = ScriptedExchange::new(clock, None);
        quiet.send(&OrderRequest::new(1, 1, Side::Buy, 1.0, 1)).expect("taken");
        assert_eq!((quiet.sent(), quiet.pending(), quiet.next_due_ns()), (1, 0, None));
    }
}
