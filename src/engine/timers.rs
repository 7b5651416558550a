//! The session's timers: logon at a window start, logout at its end.
//!
//! They fire from [`Engine::tick`](super::Engine), i.e. whenever a clock reading taken for a
//! decision reaches the deadline in `timer_ns`, so they are off the order path except for one
//! compare. A window whose end has passed is never logged on: after a stall (or a late first
//! poll) the engine logs out of the window that was open, skips every window that began and
//! ended meanwhile, and logs on only if a window is open now.
//!
//! Each logon first re-anchors the wall clock to the OS clock ([`crate::clock`]): the logon is
//! decided by the corrected clock, and a step larger than [`RECORDED_STEP_NS`] is recorded
//! (`clock_step`) before it.

use super::{Engine, NO_TIMER, Phase};
use crate::clock::RECORDED_STEP_NS;
use crate::exchange::Exchange;
use crate::model::{RejectReason, RequestType, Waiting};
use crate::record::{Event, EventRecord};
use crate::sink::EventSink;
use crate::window::WindowSpan;

impl<E: Exchange, S: EventSink> Engine<E, S> {
    /// Logon / logout due at `now`, then re-arms `timer_ns`.
    #[cold]
    #[inline(never)]
    pub(super) fn fire_timers(&mut self, now: u64) {
        loop {
            match self.phase {
                Phase::LoggedOn { span } if now >= self.clock.mono_at_wall(span.end_ns) => {
                    self.window_ended(now)
                }
                Phase::LoggedOut { next: Some(span) } if now >= self.clock.mono_at_wall(span.start_ns) => {
                    self.window_started(span, now)
                }
                _ => break,
            }
        }
        self.arm_timer();
    }

    /// `timer_ns` for the current session state.
    pub(super) fn arm_timer(&mut self) {
        self.timer_ns = match self.phase {
            Phase::LoggedOut { next: Some(span) } => self.clock.mono_at_wall(span.start_ns),
            Phase::LoggedOn { span } => self.clock.mono_at_wall(span.end_ns),
            Phase::LoggedOut { next: None } | Phase::Stopping { .. } => NO_TIMER,
        };
    }

    /// `span` has started by the engine's clock: re-anchors the wall clock to the OS clock; then
    /// logs on, unless by the corrected clock the window has not started yet (the timer is
    /// re-armed at its start) or is already over (the session waits for the window open now, or
    /// the next one).
    fn window_started(&mut self, span: WindowSpan, now: u64) {
        self.reanchor(now);
        let wall = self.clock.wall_ns(now);
        if wall < span.start_ns {
            return;
        }
        if wall >= span.end_ns {
            self.phase = Phase::LoggedOut { next: self.window.current_or_next(wall) };
            return;
        }
        self.exchange.send_logon(&self.logon);
        self.stats.logons += 1;
        self.throttle.logon(now);
        self.phase = Phase::LoggedOn { span };
        self.emit(EventRecord::new(wall, Event::Logon));
    }

    /// Re-anchors the wall clock (see [`crate::clock`]); a step larger than
    /// [`RECORDED_STEP_NS`] is recorded as `clock_step` on the new anchor. The throttle's
    /// history moves with it ([`Throttle::shift`](crate::throttle::Throttle::shift)), so every
    /// recorded send keeps its wall time and the bound holds in the journal's time across the
    /// step.
    pub(super) fn reanchor(&mut self, now: u64) {
        let step = self.clock.reanchor();
        self.throttle.shift(step.saturating_neg());
        if step.unsigned_abs() > RECORDED_STEP_NS {
            self.emit(EventRecord::new(self.clock.wall_ns(now), Event::ClockStep { step_ns: step }));
        }
    }

    /// The logged-on window has ended: queued orders are rejected `session_ended`, logout; the
    /// session then waits for the window open now (a stall may have run into one), or the next.
    pub(super) fn window_ended(&mut self, now: u64) {
        self.reject_queued(RejectReason::SessionEnded, now);
        self.logout(now);
        let wall = self.clock.wall_ns(now);
        self.phase = Phase::LoggedOut { next: self.window.current_or_next(wall) };
    }

    /// Rejects every queued order (and replace) with `reason`, oldest first.
    /// Cancels waiting for a permit go first (they are not sent: their orders stay open).
    pub(super) fn reject_queued(&mut self, reason: RejectReason, now: u64) {
        while let Some((id, producer)) = self.cancels.pop_front() {
            let waited = self.open.update(id, |x| {
                let waited = x.waiting == Waiting::Cancel;
                if waited {
                    x.waiting = Waiting::Nothing;
                }
                waited.then(|| x.live())
            });
            if let Some(Some(live)) = waited {
                self.reject(&live, RequestType::Cancel, reason, now, producer);
            }
        }
        while let Some(q) = self.queue.pop_front() {
            if q.replace {
                // A replace waiting in line: the order at the exchange goes on as it is.
                self.open.update(q.order.order_id, |x| x.waiting = Waiting::Nothing);
                self.reject(&q.order, RequestType::Modify, reason, now, q.producer);
            } else {
                self.reject(&q.order, RequestType::New, reason, now, q.producer);
            }
        }
    }

    /// Sends the logout and records it; syncs the sink.
    pub(super) fn logout(&mut self, now: u64) {
        self.exchange.send_logout(&self.logout);
        self.stats.logouts += 1;
        self.emit(EventRecord::new(self.clock.wall_ns(now), Event::Logout));
        self.sink.sync();
    }
}
