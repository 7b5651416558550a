//! Shared test rig: an engine on a manual clock with a recording exchange and an in-memory sink.
#![allow(dead_code)] // each test binary uses a different part of the rig

use std::ops::Deref;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use oms::engine::{Engine, EngineBuilder, RecoverError, RecoveredState};
use oms::exchange::NotSent;
use oms::exchange::RecordingExchange;
use oms::{
    Config, EngineClock, EventKind, EventRecord, EventSink, Exchange, Logon, Logout, MemorySink,
    OrderRequest, OrderResponse, RequestType,
};
use oms::{Producer, Responder};
use oms::{RejectReason, ResponseType, Side};
use quanta::Mock;

pub const MS: u64 = 1_000_000;
pub const SEC: u64 = 1_000_000_000;

/// Wall-clock ns of an RFC 3339 instant.
pub fn wall(ts: &str) -> i64 {
    ts.parse::<jiff::Timestamp>().expect("valid timestamp in test").as_nanosecond() as i64
}

/// A config with a UTC window and the given throttle. The Logout goes at the window's end
/// (`cancel_on_logout` off: orders still open stay open); `tests/engine_lifecycle.rs` tests the
/// cancels before the Logout.
pub fn config(start: &str, end: &str, rate: u32, burst: Option<u32>) -> Config {
    let mut c = Config::default();
    c.session.cancel_on_logout = false;
    c.session.timezone = "UTC".into();
    c.session.start = start.into();
    c.session.end = end.into();
    c.session.password = Some("s3cr3t-pw".into());
    c.throttle.max_orders_per_sec = rate;
    c.throttle.burst = burst;
    c.engine.ring_capacity = 1024;
    c.engine.max_queued_orders = 1024;
    c.engine.max_in_flight = 1024;
    c
}

/// A cost in ns of manual-clock time, shared between a test and the exchange or sink it slows.
#[derive(Clone, Debug, Default)]
pub struct Cost(Arc<AtomicU64>);

impl Cost {
    pub fn set(&self, ns: u64) {
        self.0.store(ns, Ordering::Relaxed);
    }

    /// Advances `mock` by the cost.
    fn spend(&self, mock: &Mock) {
        let ns = self.0.load(Ordering::Relaxed);
        if ns > 0 {
            mock.increment(ns);
        }
    }
}

/// A recording exchange whose `send` takes `send_cost` ns of manual-clock time (an exchange API
/// call is not free: the window may end while it runs). Reads as a [`RecordingExchange`].
#[derive(Debug)]
pub struct TimedExchange {
    inner: RecordingExchange,
    mock: Arc<Mock>,
    send_cost: Cost,
}

impl Deref for TimedExchange {
    type Target = RecordingExchange;
    fn deref(&self) -> &RecordingExchange {
        &self.inner
    }
}

impl Exchange for TimedExchange {
    fn send(&mut self, order: &OrderRequest) -> Result<(), NotSent> {
        let taken = self.inner.send(order);
        self.send_cost.spend(&self.mock);
        taken
    }
    fn send_cancel(&mut self, order: &OrderRequest) -> Result<(), NotSent> {
        let taken = self.inner.send_cancel(order);
        self.send_cost.spend(&self.mock);
        taken
    }
    fn send_replace(&mut self, order: &OrderRequest) -> Result<(), NotSent> {
        let taken = self.inner.send_replace(order);
        self.send_cost.spend(&self.mock);
        taken
    }
    fn send_logon(&mut self, logon: &Logon) {
        self.inner.send_logon(logon);
    }
    fn send_logout(&mut self, logout: &Logout) {
        self.inner.send_logout(logout);
    }
}

/// A memory sink whose `record` takes `record_cost` ns of manual-clock time (a journal append).
/// Reads as a [`MemorySink`].
#[derive(Debug)]
pub struct TimedSink {
    inner: MemorySink,
    mock: Arc<Mock>,
    record_cost: Cost,
}

impl Deref for TimedSink {
    type Target = MemorySink;
    fn deref(&self) -> &MemorySink {
        &self.inner
    }
}

impl EventSink for TimedSink {
    fn record(&mut self, event: &EventRecord) {
        self.inner.record(event);
        self.record_cost.spend(&self.mock);
    }
    fn has_room(&self) -> bool {
        self.inner.has_room()
    }
    fn sync(&mut self) {
        self.inner.sync();
    }
}

pub struct Rig {
    pub engine: Engine<TimedExchange, TimedSink>,
    pub mock: Arc<Mock>,
    pub producers: Vec<Producer>,
    pub responder: Responder,
    /// What each `send` costs in manual-clock ns (0 unless a test sets it).
    pub send_cost: Cost,
    /// What each recorded event costs in manual-clock ns (0 unless a test sets it).
    pub record_cost: Cost,
}

/// The recording exchange and memory sink of a [`Rig`], each charging its cost to the clock.
fn timed_parts(mock: &Arc<Mock>) -> (TimedExchange, TimedSink, Cost, Cost) {
    let (send_cost, record_cost) = (Cost::default(), Cost::default());
    let exchange = TimedExchange {
        inner: RecordingExchange::with_capacity(1024),
        mock: mock.clone(),
        send_cost: send_cost.clone(),
    };
    let sink = TimedSink {
        inner: MemorySink::with_capacity(1 << 16),
        mock: mock.clone(),
        record_cost: record_cost.clone(),
    };
    (exchange, sink, send_cost, record_cost)
}

impl Rig {
    /// An engine whose clock shows `start` (RFC 3339) and has `producers` producer handles.
    pub fn new(cfg: &Config, start: &str, producers: usize) -> Rig {
        let valid = cfg.validate().expect("test config is valid");
        let (clock, mock) = EngineClock::manual(wall(start));
        let (mut b, responder) = EngineBuilder::new(&valid.engine, clock);
        let producers = (0..producers).map(|_| b.producer().expect("a producer handle")).collect();
        let (exchange, sink, send_cost, record_cost) = timed_parts(&mock);
        let engine = b.build(exchange, sink);
        let mut rig = Rig { engine, mock, producers, responder, send_cost, record_cost };
        rig.poll();
        rig
    }

    /// An engine whose clock shows `start` (RFC 3339), restarted from `state` (its clock
    /// prepared for it), with `producers` producer handles; polled once.
    pub fn recovered(
        cfg: &Config,
        start: &str,
        producers: usize,
        state: RecoveredState,
    ) -> Result<Rig, RecoverError> {
        Rig::recovered_at(cfg, wall(start), producers, state)
    }

    /// [`Rig::recovered`] with the clock showing `start_ns` (wall-clock ns since the epoch).
    pub fn recovered_at(
        cfg: &Config,
        start_ns: i64,
        producers: usize,
        state: RecoveredState,
    ) -> Result<Rig, RecoverError> {
        let valid = cfg.validate().expect("test config is valid");
        let (mut clock, mock) = EngineClock::manual(start_ns);
        state.prepare_clock(&mut clock);
        let (mut b, responder) = EngineBuilder::new(&valid.engine, clock);
        let producers = (0..producers).map(|_| b.producer().expect("a producer handle")).collect();
        let (exchange, sink, send_cost, record_cost) = timed_parts(&mock);
        let engine = b.recover(state, exchange, sink)?;
        let mut rig = Rig { engine, mock, producers, responder, send_cost, record_cost };
        rig.poll();
        Ok(rig)
    }

    pub fn poll(&mut self) {
        while self.engine.poll() > 0 {}
    }

    pub fn now(&self) -> u64 {
        self.engine.clock().now_ns()
    }

    /// Advances the clock by `ns`, stopping at every deadline on the way (logon, logout, the next
    /// throttle permit) as a continuously running engine would.
    pub fn advance(&mut self, ns: u64) {
        let target = self.now() + ns;
        while let Some(d) = self.engine.next_deadline_ns().filter(|d| *d < target) {
            let now = self.now();
            assert!(d > now, "engine idles at {now} with work due at {d}");
            self.mock.increment(d - now);
            self.poll();
        }
        let now = self.now();
        self.mock.increment(target - now);
        self.poll();
    }

    /// Advances to an absolute monotonic time.
    pub fn advance_to(&mut self, t: u64) {
        let now = self.now();
        assert!(t >= now, "time goes forward");
        self.advance(t - now);
    }

    /// Advances to a wall-clock instant (RFC 3339), as [`Rig::advance`] does.
    pub fn advance_to_wall(&mut self, ts: &str) {
        let t = self.engine.clock().mono_at_wall(wall(ts));
        self.advance_to(t);
    }

    pub fn submit(&mut self, p: usize, o: OrderRequest, t: RequestType) {
        self.push(p, o, t);
        self.poll();
    }

    /// Puts a request in a ring without polling.
    pub fn push(&mut self, p: usize, o: OrderRequest, t: RequestType) {
        self.producers[p].on_data(o, t).expect("ring has room");
    }

    /// Puts a New order (as `new_order` makes it) in ring 0 without polling.
    pub fn push_new(&mut self, id: u64) {
        self.push(0, OrderRequest::new(id, 7, Side::Buy, 100.0, 10), RequestType::New);
    }

    pub fn new_order(&mut self, id: u64) {
        self.submit(0, OrderRequest::new(id, 7, Side::Buy, 100.0, 10), RequestType::New);
    }

    pub fn respond(&mut self, id: u64, t: ResponseType) {
        self.responder.on_data(OrderResponse { order_id: id, response_type: t }).expect("room");
        self.poll();
    }

    /// The exchange says `answer`; polled.
    pub fn answer(&mut self, answer: oms::Answer) {
        self.responder.on_answer(answer).expect("room");
        self.poll();
    }

    pub fn events(&self) -> &[EventRecord] {
        self.engine.sink().events()
    }

    pub fn kinds(&self) -> Vec<EventKind> {
        self.events().iter().map(|e| e.kind).collect()
    }

    /// Events of one kind.
    pub fn of(&self, k: EventKind) -> Vec<EventRecord> {
        self.events().iter().filter(|e| e.kind == k).copied().collect()
    }

    /// Ids of events of one kind, in order.
    pub fn ids(&self, k: EventKind) -> Vec<u64> {
        self.of(k).iter().map(|e| e.order_id).collect()
    }

    /// Reject reasons recorded for `id`.
    pub fn rejects(&self, id: u64) -> Vec<RejectReason> {
        self.of(EventKind::Rejected).iter().filter(|e| e.order_id == id).filter_map(|e| e.reason).collect()
    }

    pub fn sent_ids(&self) -> Vec<u64> {
        self.engine.exchange().sent().map(|o| o.order_id).collect()
    }
}
