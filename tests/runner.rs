//! The engine thread: its name and pinning (read back from the thread's own affinity mask), each
//! idle strategy running and stopping cleanly, and a missing core as a clear error.

mod runner_common;

use oms::exchange::RecordingExchange;
use oms::runner::{EngineHandle, IdleStrategy};
use oms::{EngineBuilder, EngineClock, EventKind, MemorySink, OrderRequest, RequestType, RunError, Side};
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
        let kinds: Vec<_> = report.sink.events().iter().map(|e| e.kind).collect();
        assert_eq!(
            kinds,
            [EventKind::Logon, EventKind::Sent, EventKind::Logout, EventKind::Unanswered],
            "{idle:?}"
        );
        assert_eq!(report.exchange.sent().count(), 1);
    }
}
