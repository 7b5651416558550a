//! Stopping the engine: what is still in the rings goes through the loop's own paths.

use super::{Engine, EngineReport, NO_TIMER, Phase};
use crate::exchange::Exchange;
use crate::model::RejectReason;
use crate::sink::EventSink;

impl<E: Exchange, S: EventSink> Engine<E, S> {
    /// Stops the engine cleanly: a window that has ended logs out as usual (no window is opened
    /// just to be closed); the rings are drained through the usual paths (responses are matched,
    /// Modify / Cancel still apply, a New order is rejected for a bad field or else `shutdown`);
    /// queued orders, replaces and cancels are rejected `shutdown`; a live session is logged out (a session adapter is
    /// polled, for at most 2 s, until its Logout is answered; what it reports meanwhile is
    /// recorded); orders still at the exchange (awaiting their first answer, or working) are
    /// recorded `unanswered`; the sink is synced.
    pub fn shutdown(mut self) -> EngineReport<E, S> {
        let now = self.clock.now_ns();
        if let Phase::LoggedOn { span } = self.phase
            && now >= self.clock.mono_at_wall(span.end_ns)
        {
            // No cancelling of working orders before this Logout: the engine is stopping, and
            // what is still open is recorded `unanswered` below.
            self.reject_queued(RejectReason::SessionEnded, now);
            self.log_out_after(now);
        }
        self.phase = Phase::Stopping { logged_on: self.logged_on() };
        self.timer_ns = NO_TIMER;
        // Off the hot path: a fresh clock reading per record keeps journal times non-decreasing.
        for i in 0..self.responses.len() {
            while let Some(r) = self.responses[i].pop() {
                let now = self.clock.now_ns();
                self.on_response(r, now);
            }
        }
        for i in 0..self.inputs.len() {
            while let Some(msg) = self.inputs[i].pop() {
                self.on_request(msg);
            }
        }
        self.drain_clients_at_shutdown();
        let now = self.clock.now_ns();
        self.reject_queued(RejectReason::Shutdown, now);
        if self.phase == (Phase::Stopping { logged_on: true }) {
            self.logout(now);
        }
        // A session adapter's Logout goes out and its answer (and any late order answers) is
        // read and recorded.
        self.finish_exchange();
        let now = self.clock.now_ns();
        self.record_unanswered(now);
        self.sink.sync();
        EngineReport { stats: self.stats, exchange: self.exchange, sink: self.sink }
    }
}
