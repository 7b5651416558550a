//! Zero heap allocations per order on the FIX send path through the engine: a counting global
//! allocator counts this thread's allocations while 100k orders live their whole life through
//! the engine, each from a producer ring (checks, throttle, open-order table, `FixExchange`
//! encoding the NewOrderSingle, then for its Modify an OrderCancelReplaceRequest, then for its
//! Cancel an OrderCancelRequest, the turn's one `write`, reading the ExecutionReports: new,
//! replaced, a fill, canceled; their answers through the response ring, applied and recorded). The counterparty is the in-process acceptor of
//! tests/fix_echo (its own thread's allocations are not counted).
//!
//! This file holds a single test so no other test thread allocates while it measures.

use std::net::TcpListener;
use std::time::{Duration, Instant};

use oms::engine::EngineBuilder;
use oms::exchange::FixExchange;
use oms::sink::CountingSink;
use oms::{Config, EngineClock, OrderRequest, RequestType, Side};

mod fix_echo;

mod counting_alloc;

#[global_allocator]
static GLOBAL: counting_alloc::CountingAllocator = counting_alloc::CountingAllocator;

#[test]
fn the_fix_send_path_through_the_engine_allocates_nothing() {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = listener.local_addr().expect("addr").port();
    std::thread::spawn(move || fix_echo::acceptor(listener));
    let dir = tempfile::tempdir().expect("tempdir");
    let mut c = Config::default();
    c.session.timezone = "UTC".into();
    (c.session.start, c.session.end) = ("00:00:00".into(), "23:59:59.999".into());
    c.session.password = Some("pw".into());
    c.throttle.max_orders_per_sec = 10_000_000; // not binding
    (c.engine.ring_capacity, c.engine.max_queued_orders, c.engine.max_in_flight) =
        (1 << 16, 1 << 16, 1 << 16);
    c.exchange.kind = "fix".into();
    c.exchange.host = Some("127.0.0.1".into());
    c.exchange.port = Some(port.into());
    c.exchange.sender_comp_id = Some("OMS".into());
    c.exchange.target_comp_id = Some("EXCH".into());
    c.exchange.store = Some(dir.path().to_path_buf());
    c.exchange.symbols = Some([("7".to_string(), "ACME".to_string())].into());
    let valid = c.validate().expect("valid config");
    let clock = EngineClock::system();
    let (mut builder, responder) = EngineBuilder::new(&valid.engine, clock.clone());
    let mut producer = builder.producer().expect("a producer handle");
    let fix = FixExchange::new(
        valid.fix.as_ref().expect("fix"),
        valid.engine.session.window.clone(),
        responder,
        clock,
        valid.engine.capacities.max_in_flight.get(),
    )
    .expect("FIX exchange");
    let mut engine = builder.build(fix, CountingSink::default());
    let deadline = Instant::now() + Duration::from_secs(10);
    while !engine.exchange().logged_on() {
        assert!(Instant::now() < deadline, "no logon within 10 s: {:?}", engine.exchange());
        engine.poll();
    }

    // Each order's whole life, a batch at a time: the New, accepted; a Modify, sent as a replace
    // and answered replaced, then a fill of 1; a Cancel, sent and answered cancelled.
    let mut run = |from: u64, n: u64| {
        let order = |id: u64, step: u64| {
            let side = if id.is_multiple_of(2) { Side::Buy } else { Side::Sell };
            let price = 100.0 + (id % 100) as f64 * 0.25 + step as f64 * 0.5;
            OrderRequest::new(id, 7, side, price, 1 + id % 1000 + step)
        };
        for batch in (from..from + n).step_by(5_000) {
            let ids = batch..(batch + 5_000).min(from + n);
            for (step, request) in
                [RequestType::New, RequestType::Modify, RequestType::Cancel].into_iter().enumerate()
            {
                for id in ids.clone() {
                    producer.on_data(order(id, step.min(1) as u64), request).expect("ring room");
                    if id % 64 == 0 {
                        engine.poll();
                    }
                }
                let done = |e: &oms::engine::Engine<FixExchange, CountingSink>| match request {
                    RequestType::New => e.stats().matched >= ids.end - 1,
                    RequestType::Modify => e.stats().fills >= ids.end - 1,
                    _ => e.open_len() == 0,
                };
                let deadline = Instant::now() + Duration::from_secs(20);
                while !done(&engine) {
                    assert!(Instant::now() < deadline, "answers missing ({request:?}): {:?}", engine.stats());
                    engine.poll();
                }
            }
        }
    };
    run(1, 5_000);
    // The counter counts this thread's allocations.
    let probe = counting_alloc::this_thread();
    drop(std::hint::black_box(vec![1u8; 16]));
    assert_eq!(counting_alloc::this_thread(), probe + 1);
    let before = counting_alloc::this_thread();
    run(5_001, 100_000);
    let after = counting_alloc::this_thread();
    assert_eq!(
        after - before,
        0,
        "{} allocations for 100k orders through the engine, each replaced, filled and cancelled",
        after - before
    );
    let stats = engine.stats().clone();
    assert_eq!((stats.sent, stats.matched, stats.unmatched), (105_000, 105_000, 0), "{stats:?}");
    assert_eq!(
        (stats.replaces_sent, stats.fills, stats.cancels_sent),
        (105_000, 105_000, 105_000),
        "{stats:?}"
    );
    assert_eq!((stats.unexpected, stats.rejected_total()), (0, 0), "{stats:?}");
    let fix = engine.exchange().stats();
    assert_eq!((fix.orders_sent, fix.replaces_sent, fix.cancels_sent), (105_000, 105_000, 105_000));
    assert!(fix.writes < 3 * 105_000 / 32, "messages coalesced: {fix:?}");
}
