//! The kill switch: halt and resume, from the engine's owner or from a [`HaltSwitch`] any
//! thread holds.

use super::{Engine, HaltSwitch};
use crate::exchange::Exchange;
use crate::model::RejectReason;
use crate::record::{Event, EventRecord};
use crate::sink::EventSink;

impl<E: Exchange, S: EventSink> Engine<E, S> {
    /// Halts trading (the kill switch), in one journaled decision: a `halted` record, the queue
    /// rejected `halted` (New orders and replaces, oldest first), and a cancel of every working
    /// order lined up (the engine's own, producer 65535), which the dispatch sends ahead of
    /// everything, within the throttle; an order that becomes working later is cancelled too.
    /// Until [`Engine::resume`], every New and Modify is refused `halted`; Cancels still go out.
    /// Nothing happens if trading is halted already.
    pub fn halt(&mut self) {
        if let Some(switch) = &self.switch {
            switch.halt();
        }
        let now = self.tick();
        self.halt_at(now);
    }

    /// Resumes trading after a halt (a `resumed` record); nothing happens if it is not halted.
    pub fn resume(&mut self) {
        if let Some(switch) = &self.switch {
            switch.resume();
        }
        let now = self.tick();
        self.resume_at(now);
    }

    /// The kill switch's handle changed: halt or resume as it says. Out of line: rare.
    #[cold]
    #[inline(never)]
    pub(super) fn switched(&mut self, now: u64) {
        match self.switch.as_ref().map(HaltSwitch::is_halted) {
            Some(true) => self.halt_at(now),
            Some(false) => self.resume_at(now),
            None => {}
        }
    }

    fn halt_at(&mut self, now: u64) {
        if self.halted {
            return;
        }
        (self.halted, self.guarded) = (true, true);
        self.emit(EventRecord::new(self.clock.wall_ns(now), Event::Halted));
        self.reject_queue(RejectReason::Halted, now);
        self.cancel_all_working(now);
    }

    fn resume_at(&mut self, now: u64) {
        if !self.halted {
            return;
        }
        (self.halted, self.guarded) = (false, self.risk.is_some());
        self.emit(EventRecord::new(self.clock.wall_ns(now), Event::Resumed));
    }

    /// Whether trading is halted (the kill switch).
    pub fn is_halted(&self) -> bool {
        self.halted
    }
}
