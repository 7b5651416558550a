//! Building an engine: the producer and responder handles with their rings, the kill switch's
//! handle, then [`EngineBuilder::build`], which allocates every table.

use std::sync::Arc;

use super::{Engine, EngineSettings, EngineStats, NO_TIMER, Phase, TooManyProducers, adapter};
use crate::clock::EngineClock;
use crate::doorbell::{Doorbell, ReadyMask};
use crate::exchange::Exchange;
use crate::open::OpenOrders;
use crate::queue::PendingQueue;
use crate::ring::{Producer, Requests, Responder, Responses, request_ring, response_ring};
use crate::risk::Risk;
use crate::sink::EventSink;
use crate::throttle::Throttle;

/// The kill switch as a handle any thread may hold ([`EngineBuilder::halt_switch`]): `halt`
/// asks the engine to halt trading, `resume` to resume it; the engine reads the handle once
/// per loop turn and journals each change as one decision ([`Engine::halt`]).
#[derive(Clone, Debug, Default)]
pub struct HaltSwitch(std::sync::Arc<std::sync::atomic::AtomicBool>);

impl HaltSwitch {
    /// Asks the engine to halt trading.
    pub fn halt(&self) {
        self.0.store(true, std::sync::atomic::Ordering::Release);
    }

    /// Asks the engine to resume trading.
    pub fn resume(&self) {
        self.0.store(false, std::sync::atomic::Ordering::Release);
    }

    /// Whether a halt is asked for.
    pub fn is_halted(&self) -> bool {
        self.0.load(std::sync::atomic::Ordering::Acquire)
    }
}

/// Assembles an engine: hands out producer handles, then [`EngineBuilder::build`].
pub struct EngineBuilder {
    pub(super) cfg: EngineSettings,
    pub(super) clock: EngineClock,
    inputs: Vec<Requests>,
    responses: Vec<Responses>,
    /// Rung by every producer and responder after a push (wakes a sleeping engine thread).
    bell: Arc<Doorbell>,
    /// The producer rings' bits: the engine visits the rings whose bit is set.
    ready: ReadyMask,
    /// Poll every producer ring each turn instead (for measurement).
    every_ring: bool,
    switch: Option<HaltSwitch>,
}

impl EngineBuilder {
    /// Starts building from a validated config and a clock. Returns the builder and the single
    /// response handle for the exchange side.
    pub fn new(cfg: &EngineSettings, clock: EngineClock) -> (EngineBuilder, Responder) {
        let bell = Arc::new(Doorbell::new());
        let (responder, responses) =
            response_ring(cfg.capacities.ring_capacity.get(), clock.quanta().clone(), bell.clone());
        let builder = EngineBuilder {
            cfg: cfg.clone(),
            clock,
            inputs: Vec::new(),
            responses: vec![responses],
            bell,
            ready: ReadyMask::default(),
            every_ring: false,
            switch: None,
        };
        (builder, responder)
    }

    /// Another response handle with its own ring, for an exchange adapter that answers from
    /// several threads: one [`Responder`] per thread (each ring has one pushing thread).
    pub fn responder(&mut self) -> Responder {
        let (responder, responses) = response_ring(
            self.cfg.capacities.ring_capacity.get(),
            self.clock.quanta().clone(),
            self.bell.clone(),
        );
        self.responses.push(responses);
        responder
    }

    /// A new producer handle with its own ring: one per upstream thread.
    ///
    /// Producers are numbered from 0 in the order they are made; the engine's records about a
    /// request carry its producer's number. At most [`MAX_PRODUCERS`] (`u16::MAX` is
    /// [`ENGINE`](crate::record::ENGINE), the engine's own records): one more is
    /// [`TooManyProducers`].
    pub fn producer(&mut self) -> Result<Producer, TooManyProducers> {
        let index = u16::try_from(self.inputs.len()).ok().filter(|i| *i < crate::record::ENGINE);
        let index = index.ok_or(TooManyProducers)?;
        let capacity = self.cfg.capacities.ring_capacity.get();
        let (producer, requests) =
            request_ring(capacity, self.clock.quanta().clone(), index, self.bell.clone(), self.ready.bit());
        self.inputs.push(requests);
        Ok(producer)
    }

    /// How the engine finds the producer rings with work: `false` (the default), it visits only
    /// the rings whose producer has set its bit in the engine's ready mask since the last visit
    /// ([`crate::doorbell::ReadyMask`]: one load per 64 rings on a turn without requests);
    /// `true`, it polls every ring each turn, as it did before the mask (12-14 instructions per
    /// idle ring per turn). Kept to measure the two side by side (`benches/tail_latency`,
    /// section `producers`); producers mark their bit either way.
    pub fn poll_every_ring(&mut self, every_ring: bool) -> &mut Self {
        self.every_ring = every_ring;
        self
    }

    /// The kill switch of the engine being built, as a handle for any thread (the same switch
    /// each call).
    pub fn halt_switch(&mut self) -> HaltSwitch {
        self.switch.get_or_insert_with(HaltSwitch::default).clone()
    }

    /// The engine's clock (to share with an exchange adapter that stamps times).
    pub fn clock(&self) -> &EngineClock {
        &self.clock
    }

    /// The settings being built.
    pub fn settings(&self) -> &EngineSettings {
        &self.cfg
    }

    /// Allocates every table (queue, in-flight, index, throttle history) and returns the engine.
    /// The session state is decided on the first [`Engine::poll`].
    pub fn build<E: Exchange, S: EventSink>(self, exchange: E, sink: S) -> Engine<E, S> {
        let cfg = self.cfg;
        let window = cfg.session.window.clone();
        let next = window.current_or_next(self.clock.wall_ns(self.clock.now_ns()));
        let mut engine = Engine {
            throttle: Throttle::new(&cfg.throttle),
            queue: PendingQueue::with_capacity(cfg.capacities.max_queued_orders.get()),
            open: OpenOrders::with_capacity(cfg.capacities.max_working_orders.get()),
            cancels: std::collections::VecDeque::with_capacity(cfg.capacities.max_working_orders.get()),
            risk: cfg.risk.as_ref().map(Risk::new),
            halted: false,
            guarded: cfg.risk.is_some(),
            switch: self.switch,
            logon: cfg.session.logon.clone(),
            logout: cfg.session.logout.clone(),
            window,
            phase: Phase::LoggedOut { next },
            timer_ns: NO_TIMER,
            clock: self.clock,
            inputs: self.inputs.into_boxed_slice(),
            responses: self.responses.into_boxed_slice(),
            bell: self.bell,
            ready: self.ready,
            every_ring: self.every_ring,
            exchange,
            sink,
            stats: EngineStats::default(),
            cfg,
            said: adapter::Said::default(),
        };
        engine.arm_timer();
        engine
    }
}

impl std::fmt::Debug for EngineBuilder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EngineBuilder")
            .field("settings", &self.cfg)
            .field("producers", &self.inputs.len())
            .finish_non_exhaustive()
    }
}
