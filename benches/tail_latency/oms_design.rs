//! The `oms` design under the driver: one producer handle, the engine on its own (pinned,
//! spinning) thread, a no-op exchange that answers every order at once through the
//! [`Responder`], and the event sink of `common::BenchSink` (the journal once it lands).
//!
//! The exchange's one answer is `Reject`: it ends the order's life at the exchange, so the
//! engine's table of orders at the exchange (`max_working_orders`) never fills however many
//! orders a run sends, and every order costs one answer, as the engine drains them (at most
//! `BATCH` answers and `BATCH` requests per ring per turn). An `Accept` would leave each order
//! working: past `max_working_orders` the engine stops sending; and an `Accept` followed by a
//! fill is two answers per order, which overflow the response ring whenever the engine falls
//! behind (a backlog of requests adds 256 answers per turn more than it drains). The engine
//! matches a `Reject` and records its `response` as it does an `Accept`, then takes the order
//! out of its table; the cancel section ([`crate::cancel`]) measures orders that stay working.
//!
//! Measurement points, both on the engine thread and allocation-free:
//! - **on_data → send**: [`ProbeExchange::send`] reads the clock when the engine calls `send`.
//! - **round trip**: [`ProbeSink::record`] reads the clock after the engine's `response` event has
//!   gone to the inner sink, i.e. the response is matched and persisted.

use std::path::Path;
use std::time::Duration;

use oms::engine::{Engine, EngineBuilder};
use oms::exchange::NotSent;
use oms::runner::{EngineHandle, IdleStrategy, RunnerSettings};
use oms::{
    EngineClock, Exchange, Logon, Logout, OrderRequest, OrderResponse, RequestType, Responder, ResponseType,
};
use oms::{EventKind, EventRecord, EventSink};

use crate::common;
use crate::driver::{self, Probe, Schedule, Stalls};

/// Answers [`ProbeExchange`] holds at most while the response ring is full.
const HELD: usize = 1 << 20;

/// No-op exchange that stamps `send` and answers `Reject` at once through the response ring
/// (the order is done; see the module docs).
pub struct ProbeExchange {
    probe: Probe,
    responder: Responder,
    /// Responses the ring refused and the holding queue had no room for (must stay 0 for a
    /// valid run).
    pub lost: u64,
    /// Answers the response ring refused, oldest first, pushed again at the next turns (with
    /// many producer rings a backlog sends `BATCH` orders per ring per turn, more than the
    /// engine takes answers from the one response ring). Pre-allocated; never used while the
    /// engine keeps up.
    held: std::collections::VecDeque<u64>,
    /// The engine's turns of 1 ms or more, timed between consecutive [`Exchange::poll`] calls
    /// (one per turn, with the turn's clock reading: no extra read), in engine-clock ns; the
    /// work counted is orders sent.
    pub turns: Stalls,
    /// The engine thread's id, set at its first turn.
    pub tid: std::sync::Arc<std::sync::atomic::AtomicI32>,
    /// Loop turns, and the turn clock readings of the first and the last.
    polls: (u64, u64, u64),
}

impl ProbeExchange {
    /// A probe on `schedule` answering through `responder`.
    pub fn new(schedule: &Schedule, responder: Responder) -> Self {
        ProbeExchange {
            probe: Probe::new(schedule),
            responder,
            lost: 0,
            turns: Stalls::new(0, 1_000_000),
            tid: Default::default(),
            polls: (0, 0, 0),
            held: std::collections::VecDeque::with_capacity(HELD),
        }
    }

    #[cold]
    fn hold(&mut self, order_id: u64) {
        if self.held.len() < HELD {
            self.held.push_back(order_id);
        } else {
            self.lost += 1;
        }
    }

    /// Loop turns so far, and the engine-clock ns from the first to the last.
    pub fn turn_count(&self) -> (u64, u64) {
        (self.polls.0, self.polls.2.saturating_sub(self.polls.1))
    }

    /// The probe, with its histograms.
    pub fn into_probe(self) -> Probe {
        self.probe
    }
}

impl ProbeExchange {
    /// The send probe.
    pub fn probe(&self) -> &Probe {
        &self.probe
    }
}

/// An exchange that measures against a schedule, as [`start`] needs it.
pub trait Measuring: Exchange {
    /// Measures against `schedule` from now on (the restarted one).
    fn restart(&mut self, schedule: &Schedule);
    /// Where the engine thread publishes its id at its first turn.
    fn tid(&self) -> std::sync::Arc<std::sync::atomic::AtomicI32>;
}

impl Measuring for ProbeExchange {
    fn restart(&mut self, schedule: &Schedule) {
        self.probe.schedule = schedule.clone();
    }
    fn tid(&self) -> std::sync::Arc<std::sync::atomic::AtomicI32> {
        self.tid.clone()
    }
}

impl Exchange for ProbeExchange {
    #[inline(always)]
    fn send(&mut self, order: &OrderRequest) -> Result<(), NotSent> {
        self.probe.on_send(order.order_id);
        let resp = OrderResponse { order_id: order.order_id, response_type: ResponseType::Reject };
        if !self.held.is_empty() || self.responder.on_data(resp).is_err() {
            self.hold(order.order_id);
        }
        Ok(())
    }
    fn send_logon(&mut self, _logon: &Logon) {}
    fn send_logout(&mut self, _logout: &Logout) {}
    #[inline(always)]
    fn poll(&mut self, now_ns: u64, _events: &mut dyn FnMut(oms::exchange::ExchangeEvent<'_>)) -> usize {
        if self.turns.is_fresh() {
            self.tid.store(driver::current_tid(), std::sync::atomic::Ordering::Release);
            self.polls.1 = now_ns;
        }
        self.turns.see(now_ns, self.probe.sent);
        self.polls.0 += 1;
        self.polls.2 = now_ns;
        while let Some(&order_id) = self.held.front() {
            let resp = OrderResponse { order_id, response_type: ResponseType::Reject };
            if self.responder.on_data(resp).is_err() {
                break;
            }
            self.held.pop_front();
        }
        0
    }
}

/// Wraps the real sink; stamps the round trip when a `response` event has been recorded.
pub struct ProbeSink<S> {
    inner: S,
    probe: Probe,
}

impl<S> ProbeSink<S> {
    /// Wraps `inner`, stamping on `probe`.
    pub fn new(inner: S, probe: Probe) -> Self {
        ProbeSink { inner, probe }
    }

    /// Measures against `schedule` from now on.
    pub fn restart(&mut self, schedule: &Schedule) {
        self.probe.schedule = schedule.clone();
    }

    /// The round-trip probe.
    pub fn probe(&self) -> &Probe {
        &self.probe
    }
}

impl<S: EventSink> EventSink for ProbeSink<S> {
    #[inline(always)]
    fn record(&mut self, event: &EventRecord) {
        self.inner.record(event);
        if event.kind == EventKind::Response {
            self.probe.on_response(event.order_id);
        } else if event.kind == EventKind::Rejected {
            self.probe.on_reject();
        }
    }
    fn has_room(&self) -> bool {
        self.inner.has_room()
    }
    fn takes_requests(&self) -> bool {
        self.inner.takes_requests()
    }
    fn housekeep(&mut self) -> bool {
        self.inner.housekeep()
    }
    fn sync(&mut self) {
        self.inner.sync()
    }
}

/// Outcome of one oms run.
pub struct Outcome {
    /// The probe, read back from the engine thread (exchange side: sends; sink side: round trips).
    pub send: Probe,
    /// The sink-side probe (round trips, achieved rate).
    pub rt: Probe,
    /// Times the producer ring pushed back.
    pub pushback: u64,
    /// Responses lost to a full response ring (0 expected).
    pub lost: u64,
    /// Whether every order was answered before the timeout.
    pub complete: bool,
    /// Where the engine's and the producer's time went during the run.
    pub time: (driver::Whereabouts, driver::Whereabouts),
}

/// Starts a built engine: restarts `schedule` now that the set-up (the journal's space, the
/// engine's tables) is done, so it is not counted, points the exchange's probe and, through
/// `restart_sink`, the sink's at it, spawns the engine thread and starts accounting its time.
pub fn start<X: Measuring + Send + 'static, S: EventSink + Send + 'static>(
    mut engine: Engine<X, S>,
    runner: &RunnerSettings,
    schedule: &Schedule,
    restart_sink: impl FnOnce(&mut S, &Schedule),
) -> (Schedule, EngineHandle<X, S>, driver::Whereabouts) {
    let schedule = schedule.restarted();
    engine.exchange_mut().restart(&schedule);
    restart_sink(engine.sink_mut(), &schedule);
    let tid = engine.exchange().tid();
    let handle = EngineHandle::spawn(engine, runner).expect("engine thread starts (and pins)");
    let time = driver::Whereabouts::start(driver::engine_tid(&tid));
    (schedule, handle, time)
}

/// The event sink behind the engine in a run.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SinkKind {
    /// `common::BenchSink`: the memory-mapped journal (journal on).
    Journal,
    /// `oms::sink::CountingSink`: counts the records, keeps nothing (journal off).
    Counting,
}

impl SinkKind {
    /// The name in the tables and in `summary.json` (`sink`).
    pub const fn name(self) -> &'static str {
        match self {
            SinkKind::Journal => "journal",
            SinkKind::Counting => "counting",
        }
    }
}

/// One run of the oms design on `schedule`, the engine idling as `idle`, recording into the
/// journal (the caller pins itself to the producer core).
pub fn run(schedule: &Schedule, engine_core: Option<usize>, dir: &Path, idle: IdleStrategy) -> Outcome {
    run_with(schedule, engine_core, dir, idle, SinkKind::Journal, None)
}

/// [`run`], recording into the sink `sink` names, with the risk limits `risk` (`None`: none),
/// each symbol of the driver's orders given the reference price `reference` before the run
/// (the band's centre).
pub fn run_with(
    schedule: &Schedule,
    engine_core: Option<usize>,
    dir: &Path,
    idle: IdleStrategy,
    sink: SinkKind,
    risk: Option<(oms::config::RiskConfig, f64)>,
) -> Outcome {
    driver::settle();
    let mut raw = common::raw_config(engine_core, 2_000_000_000, 2_000_000_000, dir);
    raw.engine.idle = idle.name().into();
    let reference = risk.as_ref().map(|r| r.1);
    raw.risk = risk.map(|r| r.0);
    // The session's journal space prepared before logon: two records (sent, response) per order,
    // and a margin.
    raw.journal.prepare_records = Some(schedule.orders * 2 + 65_536);
    let clock = EngineClock::new(schedule.clock.clone(), oms::clock::system_wall_ns());
    match sink {
        SinkKind::Journal => {
            let inner = common::make_sink(&raw, &clock);
            run_on(schedule, &raw, clock, inner, reference)
        }
        SinkKind::Counting => run_on(schedule, &raw, clock, oms::sink::CountingSink::default(), reference),
    }
}

fn run_on<S: EventSink + Send + 'static>(
    schedule: &Schedule,
    raw: &oms::Config,
    clock: EngineClock,
    inner: S,
    reference: Option<f64>,
) -> Outcome {
    let cfg = raw.validate().expect("bench config is valid");
    let (mut b, responder) = EngineBuilder::new(&cfg.engine, clock.clone());
    let mut producer = b.producer().expect("a producer handle");
    let rt_probe = Probe::new(schedule);
    let done = rt_probe.done.clone();
    let sink = ProbeSink::new(inner, rt_probe);
    let mut engine = b.build(ProbeExchange::new(schedule, responder), sink);
    if let Some(price) = reference {
        for symbol in 0..driver::SYMBOLS {
            engine.set_reference(symbol, price).expect("a valid reference price");
        }
    }
    let (schedule, handle, engine_time) = start(engine, &cfg.runner, schedule, |sink, s| sink.restart(s));
    let schedule = &schedule;
    let pushback = driver::produce(schedule, |o| producer.on_data(o, RequestType::New).map_err(|e| e.order));
    let complete = driver::wait_for(&done, schedule.orders, Duration::from_secs(60));
    let engine_time = engine_time.stop();
    let report = handle.stop().expect("engine thread stops cleanly");
    Outcome {
        time: (engine_time, driver::producer_stalls().1),
        lost: report.exchange.lost,
        send: report.exchange.probe,
        rt: report.sink.probe,
        pushback,
        complete,
    }
}
