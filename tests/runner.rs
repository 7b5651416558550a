//! The engine thread: its name and pinning (read back from the thread's own affinity mask), each
//! idle strategy running and stopping cleanly, a missing core as a clear error, waiting until the
//! engine is done, and responses given from inside `Exchange::send`.

mod runner_common;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use oms::exchange::NotSent;
use oms::exchange::{ExchangeEvent, RecordingExchange};
use oms::runner::{EngineHandle, IdleStrategy, Outstanding, WaitError};
use oms::{
    Answer, EngineBuilder, EngineClock, EventKind, Exchange, Logon, Logout, MemorySink, OrderRequest,
    OrderResponse, Producer, RequestType, Responder, ResponseType, RunError, Side,
};
use runner_common::*;

#[test]
fn a_missing_core_is_a_clear_error_and_nothing_runs() {
    let mut valid = open_now_config().validate().expect("valid");
    valid.runner.core = Some(100_000);
    let (b, _r) = EngineBuilder::new(&valid.engine, EngineClock::system());
    let engine = b.build(RecordingExchange::default(), MemorySink::default());
    let err = match EngineHandle::spawn(engine, &valid.runner) {
        Err(e) => e,
        Ok(_) => panic!("spawn on core 100000 must fail"),
    };
    assert!(matches!(err, RunError::CoreUnavailable { core: 100_000, .. }), "{err:?}");
    assert!(err.to_string().contains("core 100000"), "{err}");
}

/// Spawns an engine with a [`Probe`] exchange on `core` and returns what its thread reported.
fn engine_thread_on(core: Option<usize>) -> EngineThread {
    let mut cfg = open_now_config();
    cfg.engine.idle = IdleStrategy::Park.name().into();
    cfg.engine.core = core;
    let valid = cfg.validate().expect("valid");
    let (b, _r) = EngineBuilder::new(&valid.engine, EngineClock::system());
    let probe = Probe::default();
    let engine = b.build(probe.clone(), MemorySink::with_capacity(64));
    let running = EngineHandle::spawn(engine, &valid.runner).expect("spawn");
    let thread = probe.0.engine_thread(30);
    stop_within(running, 30);
    thread
}

#[test]
fn the_engine_thread_is_named_and_pinned_to_exactly_its_core() {
    let all = cores();
    assert!(!all.is_empty(), "no cores reported");
    // Every core (at most 4): a pinned mask is that one core whatever the process mask is.
    for &core in all.iter().take(4) {
        let t = engine_thread_on(Some(core));
        assert_eq!(t.name.as_deref(), Some("oms-engine"));
        assert_eq!(t.cpus_allowed, [core], "engine thread pinned to core {core}");
        assert_ne!(t.tid, current_tid(), "the engine runs on its own thread");
    }
    // Not pinned: the thread keeps the process's mask.
    let own = std::fs::read_to_string("/proc/self/status").expect("status");
    let own = own.lines().find_map(|l| l.strip_prefix("Cpus_allowed_list:")).expect("list");
    let t = engine_thread_on(None);
    assert_eq!(t.cpus_allowed, parse_cpu_list(own.trim()), "unpinned engine thread");
}

#[test]
fn every_idle_strategy_runs_and_stops_cleanly() {
    for idle in [IdleStrategy::Spin, IdleStrategy::Yield, IdleStrategy::Park] {
        let mut cfg = open_now_config();
        cfg.engine.idle = idle.name().into();
        let valid = cfg.validate().expect("valid");
        let (mut b, _r) = EngineBuilder::new(&valid.engine, EngineClock::system());
        let mut p = b.producer().expect("a producer handle");
        let engine = b.build(RecordingExchange::default(), MemorySink::with_capacity(64));
        let running = EngineHandle::spawn(engine, &valid.runner).expect("spawn");
        assert!(running.is_running());
        p.on_data(OrderRequest::new(1, 1, Side::Buy, 1.0, 1), RequestType::New).expect("room");
        wait_until(30, &format!("the {idle:?} engine to take the order from its ring"), || p.pending() == 0);
        let report = stop_within(running, 30);
        // A `clock_step` may come first: the logon re-anchors the wall clock, and a busy machine
        // can hold the thread between the two readings long enough to record the step.
        let kinds: Vec<_> =
            report.sink.events().iter().map(|e| e.kind).filter(|k| *k != EventKind::ClockStep).collect();
        assert_eq!(
            kinds,
            [EventKind::Logon, EventKind::Sent, EventKind::Logout, EventKind::Unanswered],
            "{idle:?}"
        );
        assert_eq!(report.exchange.sent().count(), 1);
    }
}

/// An exchange that accepts and fills every order from inside `send`, through its
/// [`Responder`] (so each order's life ends); an answer the full ring hands back waits in
/// `backlog` and is pushed again from `poll`.
struct AcceptsInSend {
    responder: Responder,
    backlog: Vec<Answer>,
    /// Times `on_answer` handed an answer back.
    ring_full: u64,
    /// `ready` (orders wait in the queue until the test opens it).
    open: Arc<AtomicBool>,
}

impl AcceptsInSend {
    fn new(responder: Responder) -> Self {
        AcceptsInSend { responder, backlog: Vec::new(), ring_full: 0, open: Arc::new(AtomicBool::new(true)) }
    }

    fn push(&mut self, a: Answer) {
        if let Err(back) = self.responder.on_answer(a) {
            self.ring_full += 1;
            self.backlog.push(back.0);
        }
    }
}

impl Exchange for AcceptsInSend {
    fn send(&mut self, order: &OrderRequest) -> Result<(), NotSent> {
        let order_id = order.order_id;
        // Behind a backlog, answers wait their turn: a fill never overtakes its acceptance.
        let accept = Answer::Response(OrderResponse { order_id, response_type: ResponseType::Accept });
        let fill = Answer::Fill { order_id, last_qty: order.qty, last_px: order.price };
        for a in [accept, fill] {
            if self.backlog.is_empty() {
                self.push(a);
            } else {
                self.backlog.push(a);
            }
        }
        Ok(())
    }
    fn send_logon(&mut self, _: &Logon) {}
    fn send_logout(&mut self, _: &Logout) {}
    fn ready(&self) -> bool {
        self.open.load(Ordering::SeqCst)
    }
    fn poll(&mut self, _now_ns: u64, _events: &mut dyn FnMut(ExchangeEvent<'_>)) -> usize {
        let waiting = std::mem::take(&mut self.backlog);
        let n = waiting.len();
        for a in waiting {
            if self.backlog.is_empty() {
                self.push(a);
            } else {
                self.backlog.push(a);
            }
        }
        n
    }
}

/// Hands `n` New orders (ids 1..=n) to the engine, retrying while the ring is full.
fn hand_over(p: &mut Producer, n: u64) {
    for id in 1..=n {
        let mut o = OrderRequest::new(id, 1, Side::Buy, 100.0, 1);
        while let Err(back) = p.on_data(o, RequestType::New) {
            o = back.order;
            std::thread::yield_now();
        }
    }
}

#[test]
fn wait_until_done_returns_once_the_queue_is_sent_and_every_order_answered() {
    for idle in [IdleStrategy::Spin, IdleStrategy::Park] {
        let mut cfg = open_now_config();
        cfg.engine.idle = idle.name().into();
        cfg.throttle.max_orders_per_sec = 200;
        cfg.throttle.burst = Some(5);
        let valid = cfg.validate().expect("valid");
        let (mut b, responder) = EngineBuilder::new(&valid.engine, EngineClock::system());
        let mut p = b.producer().expect("a producer handle");
        let exchange = AcceptsInSend::new(responder);
        let running = EngineHandle::spawn(b.build(exchange, MemorySink::with_capacity(512)), &valid.runner)
            .expect("spawn");
        // 60 orders against a burst of 5 at 200/s: 55 wait in the queue for about 0.3 s.
        hand_over(&mut p, 60);
        running.wait_until_done(Duration::from_secs(30)).expect("done within 30 s");
        let report = stop_within(running, 30);
        let s = &report.stats;
        assert!(s.queued > 0, "{idle:?}: the throttle queued orders (else the wait proves nothing): {s:?}");
        assert_eq!((s.sent, s.matched, s.unmatched, s.fills), (60, 60, 0, 60), "{idle:?}: {s:?}");
        assert_eq!((s.rejected_total(), s.unanswered), (0, 0), "{idle:?}: nothing left for the stop: {s:?}");
    }
}

#[test]
fn wait_until_done_times_out_naming_what_is_left() {
    let mut cfg = open_now_config();
    cfg.engine.idle = IdleStrategy::Park.name().into();
    let valid = cfg.validate().expect("valid");
    let (mut b, _r) = EngineBuilder::new(&valid.engine, EngineClock::system());
    let mut p = b.producer().expect("a producer handle");
    // Never answers: the order stays in flight.
    let running = EngineHandle::spawn(
        b.build(RecordingExchange::default(), MemorySink::with_capacity(64)),
        &valid.runner,
    )
    .expect("spawn");
    hand_over(&mut p, 1);
    let err = running.wait_until_done(Duration::from_millis(300)).expect_err("an order is never answered");
    let left = Outstanding { queued: 0, in_flight: 1, in_rings: false };
    assert_eq!(err, WaitError::TimedOut { within: Duration::from_millis(300), left: Some(left) });
    assert!(err.to_string().ends_with("0 queued, 1 in flight"), "{err}");
    assert!(running.is_running(), "the engine runs on after a wait gave up");
    let report = stop_within(running, 30);
    assert_eq!(report.stats.unanswered, 1);
}

/// `Responder::on_data` may be called from inside `Exchange::send`: the order is in the
/// in-flight table before the exchange has it, and the engine drains the response ring only
/// between its calls into the exchange. With a response ring of 4, a turn that sends 60 queued
/// orders fills it and `on_data` hands responses back: pushed again from `poll`, every one is
/// matched.
#[test]
fn responses_given_from_inside_send_are_matched_even_when_the_ring_fills() {
    let mut cfg = open_now_config();
    cfg.engine.ring_capacity = 4;
    cfg.throttle.max_orders_per_sec = 100_000;
    let valid = cfg.validate().expect("valid");
    let (mut b, responder) = EngineBuilder::new(&valid.engine, EngineClock::system());
    let mut p = b.producer().expect("a producer handle");
    let exchange = AcceptsInSend::new(responder);
    let open = exchange.open.clone();
    open.store(false, Ordering::SeqCst);
    let running = EngineHandle::spawn(b.build(exchange, MemorySink::with_capacity(1024)), &valid.runner)
        .expect("spawn");
    hand_over(&mut p, 60);
    wait_until(30, "the 60 orders in the queue", || p.pending() == 0);
    open.store(true, Ordering::SeqCst);
    running.wait_until_done(Duration::from_secs(30)).expect("done within 30 s");
    let report = stop_within(running, 30);
    let s = &report.stats;
    assert_eq!((s.queued, s.matched, s.unmatched, s.fills, s.unanswered), (60, 60, 0, 60, 0), "{s:?}");
    let events = report.sink.events();
    for id in 1..=60 {
        let of = |k: EventKind| events.iter().position(|e| e.kind == k && e.order_id == id);
        let (sent, answered, filled) = (of(EventKind::Sent), of(EventKind::Response), of(EventKind::Filled));
        assert!(sent.is_some() && sent < answered && answered < filled, "order {id}: sent, answered, filled");
    }
    assert!(report.exchange.ring_full > 0, "the response ring filled: the backlog path ran");
}
