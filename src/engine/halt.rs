//! The operator's controls: the kill switch (halt and resume) and reference prices, from the
//! engine's owner or from a [`HaltSwitch`](super::HaltSwitch) any thread holds.

use super::Engine;
use super::builder::{HALT_ASKED, REFERENCES_WAIT};
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

    /// The handle's state differs from the engine's: reference prices wait, or the kill
    /// switch changed (halt or resume as it says). Out of line: rare.
    #[cold]
    #[inline(never)]
    pub(super) fn switched(&mut self, now: u64) {
        let Some(switch) = self.switch.clone() else { return };
        if switch.state() & REFERENCES_WAIT != 0 {
            switch.take_references(|symbol, price| self.reference_at(now, symbol, price));
        }
        if switch.state() & HALT_ASKED != 0 {
            self.halt_at(now);
        } else {
            self.resume_at(now);
        }
    }

    /// Sets `symbol`'s reference price (the price band's centre until its next fill, or the
    /// next reference), in one journaled decision (a `reference` record); with `[risk]`, the
    /// symbol's book takes it (made now if it has none and the table has room). Refused
    /// `invalid_price` (NaN, infinite or ≤ 0): nothing is journaled.
    pub fn set_reference(&mut self, symbol: i32, price: f64) -> Result<(), RejectReason> {
        if !(price.is_finite() && price > 0.0) {
            return Err(RejectReason::InvalidPrice);
        }
        let now = self.tick();
        self.reference_at(now, symbol, price);
        Ok(())
    }

    fn reference_at(&mut self, now: u64, symbol: i32, price: f64) {
        self.emit(EventRecord::new(self.clock.wall_ns(now), Event::Reference { symbol, price }));
        if let Some(risk) = &mut self.risk {
            risk.set_reference(symbol, price);
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
