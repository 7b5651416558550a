//! Building an engine: the producer and responder handles with their rings, the kill switch's
//! handle, then [`EngineBuilder::build`], which allocates every table.

use std::sync::Arc;
use std::sync::atomic::{AtomicU8, Ordering};

use crossbeam_queue::ArrayQueue;

use super::{Engine, EngineSettings, EngineStats, MAX_PRODUCERS, NO_TIMER, Phase, TooManyProducers, adapter};
use crate::clock::EngineClock;
use crate::doorbell::{Doorbell, ReadyMask};
use crate::exchange::Exchange;
use crate::model::RejectReason;
use crate::open::OpenOrders;
use crate::queue::PendingQueue;
use crate::ring::{Producer, Requests, Responder, Responses, request_ring, response_ring};
use crate::risk::Risk;
use crate::sink::EventSink;
use crate::throttle::Throttle;

/// The operator's handle on the engine, for any thread ([`EngineBuilder::halt_switch`]): the
/// kill switch (`halt` asks the engine to halt trading, `resume` to resume it) and reference
/// prices for the price band (`set_reference`). The engine reads the handle's state once per
/// loop turn (one load) and journals each change as one decision ([`Engine::halt`],
/// [`Engine::set_reference`]).
#[derive(Clone, Debug, Default)]
pub struct HaltSwitch(Arc<Control>);

/// What a [`HaltSwitch`] shares with the engine.
#[derive(Debug)]
struct Control {
    /// [`HALT_ASKED`] and [`REFERENCES_WAIT`].
    state: AtomicU8,
    /// Reference prices asked for, oldest first.
    references: ArrayQueue<(i32, f64)>,
    /// The engine's doorbell (a switch made by [`EngineBuilder::halt_switch`]): rung after each
    /// change, so an engine asleep under `idle = "backoff"` takes a halt at once, not at the
    /// end of its sleep.
    bell: Option<Arc<Doorbell>>,
}

impl Default for Control {
    fn default() -> Control {
        Control { state: AtomicU8::new(0), references: ArrayQueue::new(REFERENCE_CAPACITY), bell: None }
    }
}

/// A halt is asked for.
pub(super) const HALT_ASKED: u8 = 1;
/// Reference prices wait for the engine.
pub(super) const REFERENCES_WAIT: u8 = 2;
/// Reference prices a [`HaltSwitch`] holds until the engine's next turn takes them.
const REFERENCE_CAPACITY: usize = 256;

impl HaltSwitch {
    /// Asks the engine to halt trading.
    pub fn halt(&self) {
        self.0.state.fetch_or(HALT_ASKED, Ordering::Release);
        self.wake();
    }

    /// Asks the engine to resume trading.
    pub fn resume(&self) {
        self.0.state.fetch_and(!HALT_ASKED, Ordering::Release);
        self.wake();
    }

    /// Rings the engine's doorbell after a change (the doorbell's protocol: the change is
    /// stored, then the fence and the look at the sleeper's flag; the sleeper's last look
    /// compares the switch's state with its own, [`Engine::rings_empty`]).
    fn wake(&self) {
        if let Some(bell) = &self.0.bell {
            bell.ring();
        }
    }

    /// Whether a halt is asked for.
    pub fn is_halted(&self) -> bool {
        self.state() & HALT_ASKED != 0
    }

    /// Asks the engine to take `price` as `symbol`'s reference price (the price band's centre
    /// until the symbol's next fill). Refused `invalid_price` (NaN, infinite or ≤ 0), or
    /// `queue_full` while 256 wait for the engine's next turn (try again).
    pub fn set_reference(&self, symbol: i32, price: f64) -> Result<(), RejectReason> {
        if !(price.is_finite() && price > 0.0) {
            return Err(RejectReason::InvalidPrice);
        }
        self.0.references.push((symbol, price)).map_err(|_| RejectReason::QueueFull)?;
        self.0.state.fetch_or(REFERENCES_WAIT, Ordering::Release);
        self.wake();
        Ok(())
    }

    /// The state the engine compares with its own each turn.
    #[inline(always)]
    pub(super) fn state(&self) -> u8 {
        self.0.state.load(Ordering::Acquire)
    }

    /// The reference prices that wait, oldest first (the flag cleared before they are taken:
    /// one pushed meanwhile sets it again).
    pub(super) fn take_references(&self, mut f: impl FnMut(i32, f64)) {
        self.0.state.fetch_and(!REFERENCES_WAIT, Ordering::AcqRel);
        while let Some((symbol, price)) = self.0.references.pop() {
            f(symbol, price);
        }
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
    /// The rings of producers in other processes, with the producer numbers they reserved.
    clients: Option<Box<crate::ipc::ClientInputs>>,
    /// Producer numbers reserved for clients (in-process producers made later come after).
    reserved: usize,
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
            clients: None,
            reserved: 0,
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
    /// request carry its producer's number. At most [`MAX_PRODUCERS`](super::MAX_PRODUCERS) (`u16::MAX` is
    /// [`ENGINE`](crate::record::ENGINE), the engine's own records): one more is
    /// [`TooManyProducers`].
    pub fn producer(&mut self) -> Result<Producer, TooManyProducers> {
        let index =
            u16::try_from(self.inputs.len() + self.reserved).ok().filter(|i| *i < crate::record::ENGINE);
        let index = index.ok_or(TooManyProducers)?;
        let capacity = self.cfg.capacities.ring_capacity.get();
        let (producer, requests) =
            request_ring(capacity, self.clock.quanta().clone(), index, self.bell.clone(), self.ready.bit());
        self.inputs.push(requests);
        Ok(producer)
    }

    /// Makes the engine take producers in other processes ([`crate::ipc`]): reserves
    /// `settings.max_clients` producer numbers, from the next one, and returns the listener's
    /// end ([`crate::ipc::Listener::start`] takes it). Once only; at most
    /// [`MAX_CLIENTS`](crate::ipc::MAX_CLIENTS) clients.
    pub fn clients(&mut self, settings: &crate::ipc::IpcSettings) -> std::io::Result<crate::ipc::ClientPort> {
        let invalid = |what: &str| std::io::Error::new(std::io::ErrorKind::InvalidInput, what.to_string());
        if self.clients.is_some() {
            return Err(invalid("the engine takes clients already"));
        }
        if settings.max_clients == 0 || settings.max_clients > crate::ipc::MAX_CLIENTS {
            return Err(invalid("max_clients must be 1 to 64"));
        }
        let first = self.inputs.len() + self.reserved;
        let last = first + usize::from(settings.max_clients);
        let first = u16::try_from(first)
            .ok()
            .filter(|_| last <= MAX_PRODUCERS)
            .ok_or_else(|| invalid(&TooManyProducers.to_string()))?;
        let (inputs, port) = crate::ipc::client_inputs(first, settings, self.bell.clone())?;
        self.clients = Some(Box::new(inputs));
        self.reserved += usize::from(settings.max_clients);
        Ok(port)
    }

    /// How the engine finds the producer rings with work: `false` (the default), it visits only
    /// the rings whose bit is set in the engine's ready mask, those that had work since the
    /// last sweep or were pushed into since ([`crate::doorbell::ReadyMask`]: one load per 64
    /// rings and one visit per watched ring on a turn without requests);
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
        let bell = self.bell.clone();
        self.switch
            .get_or_insert_with(|| HaltSwitch(Arc::new(Control { bell: Some(bell), ..Control::default() })))
            .clone()
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
        let first_client = self.clients.as_ref().map_or(crate::record::ENGINE, |c| c.first());
        let mut engine = Engine {
            clients: self.clients,
            first_client,
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
