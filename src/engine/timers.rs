//! The session's timers: logon at a window start, logout at its end.
//!
//! At the end, with [`Closing::CancelFirst`] (the default, `cancel_on_logout`) and orders open
//! at the exchange, the Logout waits: the queue is rejected `session_ended` and a cancel of
//! every working order joins the cancel line (the engine's own, producer 65535: a
//! `cancel_queued` each), which goes out within the throttle; an order that becomes working
//! meanwhile (its first answer, a replace answered) is cancelled too. Once no order is open, or
//! the grace has passed, the cancels still waiting are rejected `session_ended`, the orders
//! still open are recorded `unanswered`, and the Logout goes. During that time the timer is due
//! at every turn. With [`Closing::LogoutAtEnd`] the Logout goes at once and working orders stay
//! open.
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
use crate::record::ENGINE;
use crate::record::{Event, EventRecord};
use crate::sink::EventSink;
use crate::window::Closing;
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
                Phase::Closing { deadline, .. } if self.open.is_empty() || now >= deadline => {
                    self.closed(now)
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
            // Due at every turn: the Logout follows the last open order's end.
            Phase::Closing { .. } => 0,
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
        if let Some(risk) = &mut self.risk {
            // The day's notional counts from each logon.
            risk.new_day();
        }
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

    /// The logged-on window has ended: queued orders are rejected `session_ended`; then either
    /// the working orders are cancelled before the Logout (see the module docs) or the Logout
    /// goes at once, and the session waits for the window open now (a stall may have run into
    /// one), or the next.
    pub(super) fn window_ended(&mut self, now: u64) {
        let Phase::LoggedOn { span } = self.phase else { return };
        match self.cfg.session.closing {
            Closing::CancelFirst { grace_ns } if !self.open.is_empty() => {
                self.reject_queue(RejectReason::SessionEnded, now);
                // The grace never runs into the next window: its Logon comes on time.
                let next =
                    self.window.current_or_next(span.end_ns).map(|w| self.clock.mono_at_wall(w.start_ns));
                let deadline = now.saturating_add(grace_ns).min(next.unwrap_or(u64::MAX));
                self.phase = Phase::Closing { span, deadline };
                self.cancel_all_working(now);
            }
            Closing::CancelFirst { .. } | Closing::LogoutAtEnd => {
                self.reject_queued(RejectReason::SessionEnded, now);
                self.log_out_after(now);
            }
        }
    }

    /// The cancels of the working orders are answered, or their grace is over: the cancels
    /// still waiting are rejected `session_ended`, the orders still open recorded `unanswered`,
    /// logout.
    fn closed(&mut self, now: u64) {
        self.reject_cancels(RejectReason::SessionEnded, now);
        self.record_unanswered(now);
        self.log_out_after(now);
    }

    /// Logs out, and waits for the window open now or the next.
    pub(super) fn log_out_after(&mut self, now: u64) {
        self.logout(now);
        let wall = self.clock.wall_ns(now);
        self.phase = Phase::LoggedOut { next: self.window.current_or_next(wall) };
    }

    /// While the working orders are cancelled before the Logout: a cancel of every open order
    /// that can take one and has none waiting (the engine's own request) joins the line.
    pub(super) fn cancel_all_working(&mut self, now: u64) {
        let before = self.cancels.len();
        let cancels = &mut self.cancels;
        self.open.for_each_mut(|x| {
            if x.waiting == Waiting::Nothing && x.life.may_cancel().is_ok() {
                (x.waiting, x.wait_ns) = (Waiting::Cancel, now);
                cancels.push_back((x.order.order_id, ENGINE));
            }
        });
        for i in before..self.cancels.len() {
            let id = self.cancels[i].0;
            if let Some(x) = self.open.get(id) {
                let order = x.live();
                self.emit_at(now, ENGINE, Event::CancelQueued { order });
            }
        }
    }

    /// While the working orders are cancelled before the Logout, order `id` became working (its
    /// first answer, or a replace answered): its cancel joins the line.
    pub(super) fn cancel_if_working(&mut self, id: u64, now: u64) {
        self.cancel_if_working_for(id, now, ENGINE);
    }

    /// [`Self::cancel_if_working`], the cancel being `producer`'s (a client's exit policy).
    pub(super) fn cancel_if_working_for(&mut self, id: u64, now: u64, producer: u16) {
        let lined = self.open.update(id, |x| {
            let cancel = x.waiting == Waiting::Nothing && x.life.may_cancel().is_ok();
            if cancel {
                (x.waiting, x.wait_ns) = (Waiting::Cancel, now);
            }
            cancel.then(|| x.live())
        });
        if let Some(Some(order)) = lined {
            self.cancels.push_back((id, producer));
            self.emit_at(now, producer, Event::CancelQueued { order });
        }
    }

    /// Every order still at the exchange is recorded `unanswered`, oldest send first (its fate
    /// there is unknown).
    pub(super) fn record_unanswered(&mut self, now: u64) {
        let time = self.clock.wall_ns(now);
        for x in self.open.drain_by_send_time() {
            if self.risk.is_some() {
                self.risk_close(&x.order, x.held());
            }
            self.stats.unanswered += 1;
            self.emit(
                EventRecord::new(time, Event::Unanswered { order: x.live() }).from_producer(x.producer),
            );
        }
    }

    /// Rejects the waiting cancels, then the queue, with `reason`.
    pub(super) fn reject_queued(&mut self, reason: RejectReason, now: u64) {
        self.reject_cancels(reason, now);
        self.reject_queue(reason, now);
    }

    /// Rejects every cancel waiting for a permit with `reason`, in line order (they are not
    /// sent: their orders stay open).
    pub(super) fn reject_cancels(&mut self, reason: RejectReason, now: u64) {
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
    }

    /// Rejects every queued order (and replace) with `reason`, oldest first.
    pub(super) fn reject_queue(&mut self, reason: RejectReason, now: u64) {
        while let Some(q) = self.queue.pop_front() {
            if q.replace {
                // A replace waiting in line: the order at the exchange goes on as it is.
                self.open.update(q.order.order_id, |x| x.waiting = Waiting::Nothing);
                self.reject(&q.order, RequestType::Modify, reason, now, q.producer);
            } else {
                self.risk_close(&q.order, crate::risk::booking(q.order.price, q.order.qty));
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
