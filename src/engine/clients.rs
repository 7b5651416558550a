//! Producers in other processes ([`crate::ipc`]): their rings taken between turns, drained each
//! turn after the in-process rings, let go with everything they published taken; the exit
//! policy; a client touches only its own orders (`not_owner`).
//!
//! A turn with clients configured and none attached costs one load (the control ring's); with
//! clients attached, one acquire load of each ring's head, and for each message eight atomic
//! loads of its slot (the copy that is checked, never the shared memory itself).

use super::{BATCH, Engine};
use crate::exchange::Exchange;
use crate::ipc::{ClientInputs, Drained, ExitPolicy, ToEngine};
use crate::model::{DetachCause, OrderRequest, RejectReason, RequestType, Waiting};
use crate::record::Event;
use crate::sink::EventSink;

impl<E: Exchange, S: EventSink> Engine<E, S> {
    /// The clients' part of a turn: what the listener sent, then up to [`BATCH`] messages from
    /// each attached ring. Returns the work done. Out of line: the turn without clients stays
    /// as it was (`benches/instructions.rs`).
    #[inline(never)]
    pub(super) fn poll_clients(&mut self) -> usize {
        let Some(mut c) = self.clients.take() else { return 0 };
        let mut work = 0;
        if c.control_waits() {
            work += self.client_control(&mut c);
        }
        if c.attached() > 0 {
            let now_raw = self.clock.raw();
            for slot in 0..c.len() {
                if !c.is_attached(slot) {
                    continue;
                }
                match c.drain(slot, BATCH, now_raw, |msg| self.on_request(msg)) {
                    Drained::Taken(n) => work += n,
                    Drained::Broken => {
                        self.client_gone(&mut c, slot as u16, DetachCause::Protocol);
                        work += 1;
                    }
                }
            }
        }
        self.clients = Some(c);
        work
    }

    /// Attaches and detaches, between turns. Out of line: rare.
    #[cold]
    #[inline(never)]
    fn client_control(&mut self, c: &mut ClientInputs) -> usize {
        let mut n = 0;
        while let Some(msg) = c.next_control() {
            n += 1;
            match msg {
                ToEngine::Attach { slot, generation, ring, pid } => {
                    let now = self.tick();
                    if c.install(slot, generation, ring, pid, self.clock.raw()) {
                        self.emit_at(now, c.first() + slot, Event::ClientAttached { pid });
                    }
                }
                ToEngine::Detach { slot, generation } => {
                    // Stale if the engine dropped that client already (and its slot may hold
                    // the next one).
                    if c.holds(slot, generation) {
                        self.client_gone(c, slot, DetachCause::Closed);
                    }
                }
            }
        }
        n
    }

    /// The client of `slot` goes: what it published is taken (unless its ring broke the
    /// protocol), a `client_detached` record, the exit policy, and the ring handed back.
    #[cold]
    #[inline(never)]
    fn client_gone(&mut self, c: &mut ClientInputs, slot: u16, cause: DetachCause) {
        let producer = c.first() + slot;
        if cause != DetachCause::Protocol {
            // Everything published fits in one ring: one drain takes it all.
            let now_raw = self.clock.raw();
            if c.drain(usize::from(slot), usize::MAX, now_raw, |msg| self.on_request(msg)) == Drained::Broken
            {
                return self.client_gone(c, slot, DetachCause::Protocol);
            }
        }
        let cancel = cause != DetachCause::Shutdown && c.policy() == ExitPolicy::Cancel;
        let now = self.tick();
        self.emit_at(now, producer, Event::ClientDetached { pid: c.pid(slot), cause, cancel });
        if cancel {
            self.cancel_client_orders(c, slot, producer);
        }
        c.release(slot, cause == DetachCause::Protocol);
    }

    /// The cancel policy: `producer`'s queued orders cancelled, a cancel of each of its working
    /// orders sent (or lined up), and those awaiting a first answer or a replace's cancelled
    /// once working (`ClientInputs::doom`). Each is the client's own Cancel, for its producer.
    fn cancel_client_orders(&mut self, c: &mut ClientInputs, slot: u16, producer: u16) {
        let queued: Vec<u64> = self
            .queue
            .iter()
            .filter(|q| q.producer == producer && !q.replace)
            .map(|q| q.order.order_id)
            .collect();
        let mut open = Vec::new();
        self.open.for_each_mut(|x| {
            if x.producer == producer {
                open.push(x.order.order_id);
            }
        });
        for id in queued {
            if let Some(q) = self.queue.get(id) {
                let (o, now) = (q.order, self.tick());
                self.on_cancel(o, now, now, producer);
            }
        }
        let mut later = false;
        for id in open {
            match self.open.get(id).map(|x| (x.waiting, x.life.may_cancel(), x.live())) {
                Some((Waiting::Nothing | Waiting::Replace, Ok(()), live)) => {
                    let now = self.tick();
                    self.on_cancel(live, now, now, producer);
                }
                Some((Waiting::Cancel, _, _)) | None => {}
                Some(_) => later = true,
            }
        }
        if later {
            c.doom(slot);
        }
    }

    /// Whether `producer`'s order, now working, is to be cancelled: its client went under the
    /// cancel policy.
    #[inline(always)]
    pub(super) fn client_doomed(&self, producer: u16) -> bool {
        self.clients.as_ref().is_some_and(|c| c.is_doomed(producer))
    }

    /// A Modify or Cancel from a client (`producer` at or past the first client's number) of
    /// an order another producer owns.
    #[inline]
    pub(super) fn not_owner(&self, id: u64, producer: u16) -> bool {
        let owner = match self.open.get(id) {
            Some(x) => Some(x.producer),
            None => self.queue.get(id).map(|q| q.producer),
        };
        owner.is_some_and(|o| o != producer)
    }

    /// Refuses `producer`'s `request` of `o` `not_owner`. Out of line: rare.
    #[cold]
    #[inline(never)]
    pub(super) fn refuse_not_owner(
        &mut self,
        o: &OrderRequest,
        request: RequestType,
        now: u64,
        producer: u16,
    ) {
        self.reject(o, request, RejectReason::NotOwner, now, producer);
    }

    /// At shutdown: every attached client's ring drained through the loop's paths (the phase
    /// makes a New `shutdown`), its `client_detached`, its ring handed back.
    pub(super) fn drain_clients_at_shutdown(&mut self) {
        let Some(mut c) = self.clients.take() else { return };
        while let Some(msg) = c.next_control() {
            if let ToEngine::Attach { slot, generation, ring, pid } = msg
                && c.install(slot, generation, ring, pid, self.clock.raw())
            {
                let now = self.tick();
                self.emit_at(now, c.first() + slot, Event::ClientAttached { pid });
            }
        }
        for slot in 0..c.len() {
            if c.is_attached(slot) {
                self.client_gone(&mut c, slot as u16, DetachCause::Shutdown);
            }
        }
        self.clients = Some(c);
    }

    /// Sets the doorbell's `sleeping` flag and each client ring's, then the fence: the
    /// sleeper's first step ([`crate::doorbell`]); a look at every ring must follow.
    pub fn prepare_sleep(&self) {
        if let Some(c) = &self.clients {
            c.set_sleeping(true);
        }
        self.bell.prepare();
    }

    /// Clears the flags: the engine is awake (the last look found work, or it woke).
    pub fn cancel_sleep(&self) {
        self.bell.cancel();
        if let Some(c) = &self.clients {
            c.set_sleeping(false);
        }
    }

    /// Whether every client ring is empty and the listener sent nothing.
    pub(super) fn clients_idle(&self) -> bool {
        self.clients.as_ref().is_none_or(|c| c.idle())
    }
}
