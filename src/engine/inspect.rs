//! What an [`Engine`] shows of itself off the order path: its parts, counts and deadlines,
//! for the runner, the CLI, tests and benches.

use super::*;

impl<E: Exchange, S: EventSink> Engine<E, S> {
    /// Counters so far.
    pub fn stats(&self) -> &EngineStats {
        &self.stats
    }

    /// The sink (e.g. to read a [`crate::MemorySink`] in tests).
    pub fn sink(&self) -> &S {
        &self.sink
    }

    /// The sink, mutably.
    pub fn sink_mut(&mut self) -> &mut S {
        &mut self.sink
    }

    /// The exchange adapter.
    pub fn exchange(&self) -> &E {
        &self.exchange
    }

    /// The exchange adapter, mutably (replay takes the scripted exchange's due answers).
    pub fn exchange_mut(&mut self) -> &mut E {
        &mut self.exchange
    }

    /// The doorbell every producer and responder of this engine rings after a push: what a
    /// runner sleeps on ([`crate::doorbell`]).
    pub fn doorbell(&self) -> &Arc<Doorbell> {
        &self.bell
    }

    /// The engine's clock.
    pub fn clock(&self) -> &EngineClock {
        &self.clock
    }

    /// The settings it was built from.
    pub fn settings(&self) -> &EngineSettings {
        &self.cfg
    }

    /// The risk limits' book of `symbol` (position, open orders, the day's notional), when
    /// limits are set and the symbol has one.
    pub fn risk_book(&self, symbol: i32) -> Option<&crate::risk::Book> {
        self.risk.as_ref()?.book(symbol)
    }

    /// Orders waiting in the queue.
    pub fn queue_len(&self) -> usize {
        self.queue.len()
    }

    /// The queued orders, oldest first.
    pub fn queued(&self) -> impl Iterator<Item = &QueuedOrder> + '_ {
        self.queue.iter()
    }

    /// Orders sent whose first answer is awaited.
    pub fn in_flight_len(&self) -> usize {
        self.open.awaiting()
    }

    /// Orders at the exchange: sent, or working until filled, cancelled or expired.
    pub fn open_len(&self) -> usize {
        self.open.len()
    }

    /// Order `id`'s life, if it is at the exchange.
    pub fn open_order(&self, id: u64) -> Option<crate::model::OrderLife> {
        self.open.get(id).map(|o| o.life)
    }

    /// Whether a session is logged on.
    pub fn logged_on(&self) -> bool {
        matches!(self.phase, Phase::LoggedOn { .. } | Phase::Closing { .. })
    }

    /// Whether the rings hold nothing and the operator's switch ([`crate::engine::HaltSwitch`])
    /// asks for nothing the engine has not taken: the sleeper's last look.
    pub fn rings_empty(&self) -> bool {
        self.responses.iter().all(|r| r.is_empty())
            && self.inputs.iter().all(|r| r.is_empty())
            && self.clients_idle()
            && self.switch.as_ref().is_none_or(|s| s.state() == u8::from(self.halted))
    }

    /// The earliest arrival stamp (engine clock, ns) of the requests waiting in the producer
    /// rings, if any: after a sleep, when the work that woke it came.
    pub fn first_request_arrival_ns(&self) -> Option<u64> {
        let raw = self.inputs.iter().filter_map(|r| r.oldest_arrival_raw()).min()?;
        Some(self.clock.mono_ns(raw))
    }

    /// Whether the engine is done with everything handed to it so far: nothing in a ring, in
    /// the queue or in flight (every request decided, every order sent answered). What
    /// [`EngineHandle::wait_until_done`](crate::runner::EngineHandle::wait_until_done) waits for.
    pub fn is_done(&self) -> bool {
        self.queue.is_empty()
            && self.cancels.is_empty()
            && self.open.awaiting() == 0
            && !self.requests_pending()
            && self.rings_empty()
    }

    /// The next instant (monotonic ns) at which the engine has something to do without new
    /// input: a logon, a logout, a throttle permit for a queued order, or the exchange adapter's
    /// next timer (a heartbeat, a reconnect). `None` if nothing is scheduled. (Replay advances
    /// virtual time to it; the `park` idle strategy sleeps until it, at most `park_max_us`:
    /// data arriving from the exchange is not a deadline.)
    pub fn next_deadline_ns(&self) -> Option<u64> {
        let timer = match self.phase {
            // The timer is due at every turn then; the Logout's own deadline is the grace's end.
            Phase::Closing { deadline, .. } => Some(deadline),
            _ => (self.timer_ns != NO_TIMER).then_some(self.timer_ns),
        };
        [timer, self.next_send_ns(), self.exchange.next_deadline_ns()].into_iter().flatten().min()
    }

    /// When the throttle next allows a send, if an order is queued and nothing else stops it
    /// (logged on, in-flight room, sink room, exchange ready). After an [`Engine::poll`] that did
    /// no work this is always in the future: the engine never idles while it holds both a permit
    /// and a queued order (a turn sends at most [`BATCH`] queued orders, so a poll that sent
    /// some may leave a permit for the next).
    pub fn next_send_ns(&self) -> Option<u64> {
        let waiting = (!self.cancels.is_empty() && self.can_send_requests())
            || (!self.queue.is_empty() && self.can_send_now());
        (self.logged_on() && waiting).then(|| self.throttle.next_available_ns(self.clock.now_ns()))
    }
}
