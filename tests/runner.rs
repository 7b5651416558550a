//! The engine thread: pinning, each idle strategy, clean stop.

use oms::exchange::RecordingExchange;
use oms::runner::{EngineHandle, IdleStrategy};
use oms::{
    Config, EngineBuilder, EngineClock, EventKind, MemorySink, OrderRequest, RequestType, RunError, Side,
};

fn open_now_config() -> Config {
    let now = jiff::Timestamp::now().to_zoned(jiff::tz::TimeZone::UTC);
    let tod = |z: jiff::Zoned| z.time().strftime("%H:%M:%S").to_string();
    let mut cfg = Config::default();
    cfg.session.timezone = "UTC".into();
    cfg.session.start = tod(&now - jiff::SignedDuration::from_hours(1));
    cfg.session.end = tod(&now + jiff::SignedDuration::from_hours(1));
    cfg.engine.max_queued_orders = 64;
    cfg.engine.max_in_flight = 64;
    cfg.engine.ring_capacity = 64;
    cfg
}

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

#[test]
fn every_idle_strategy_runs_pins_and_stops_cleanly() {
    for idle in [IdleStrategy::Spin, IdleStrategy::Yield, IdleStrategy::Park] {
        let mut cfg = open_now_config();
        cfg.engine.idle = idle.name().into();
        cfg.engine.core = Some(0);
        let valid = cfg.validate().expect("valid");
        let (mut b, _r) = EngineBuilder::new(&valid.engine, EngineClock::system());
        let mut p = b.producer();
        let engine = b.build(RecordingExchange::default(), MemorySink::with_capacity(64));
        let running = EngineHandle::spawn(engine, &valid.runner).expect("spawn");
        assert!(running.is_running());
        p.on_data(OrderRequest::new(1, 1, Side::Buy, 1.0, 1), RequestType::New).expect("room");
        while p.pending() > 0 {
            std::thread::yield_now();
        }
        let report = running.stop().expect("clean stop");
        let kinds: Vec<_> = report.sink.events().iter().map(|e| e.kind).collect();
        assert_eq!(
            kinds,
            [EventKind::Logon, EventKind::Sent, EventKind::Logout, EventKind::Unanswered],
            "{idle:?}"
        );
        assert_eq!(report.exchange.sent().count(), 1);
    }
}
