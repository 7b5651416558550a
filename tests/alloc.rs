//! Zero heap allocations per order in steady state: a counting global allocator wraps the system
//! one; after a warm-up, over a million requests and answers go through the engine (rings,
//! checks, throttle, queue, open-order table, the simulated exchange on its own thread) into the
//! memory-mapped journal, rolling over into prepared segments dozens of times, and the
//! allocation count of the whole process (the engine's thread and the exchange's) must not move.
//! Every risk limit is set (none refuses), so their checks and books are on the path too.
//! Every step of an order's life is in the workload: New orders sent and queued, Modify and
//! Cancel in the queue, acknowledgments, partial and full fills, replaces and cancels of working
//! orders sent to the exchange and carried out. Then the same workload runs past the prepared
//! space, so that the engine's idle turns build segments: that may allocate a few small objects
//! per segment built (paths, the header), never per order.
//!
//! This file holds a single test so no other test thread allocates while it measures.

use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use oms::engine::{Engine, EngineBuilder};
use oms::exchange::{SimulatedExchange, SimulatedStats};
use oms::journal::{JournalWriter, SyncPolicy, WriterOptions};
use oms::{Config, EngineClock, OrderRequest, RequestType, Side};

mod counting_alloc;

#[global_allocator]
static GLOBAL: counting_alloc::CountingAllocator = counting_alloc::CountingAllocator;

/// Iterations (1 µs of manual time each) of the warm-up, the measured phase and the phase that
/// builds segments.
const WARM_UP: u64 = 20_000;
const MEASURED: u64 = 130_000;
const BUILDING: u64 = 100_000;
/// The exchange thread is let catch up every this many iterations (µs): every delay of the
/// workload is far longer, so each answer reaches the engine in time for the step that needs it.
const SETTLE_EVERY: u64 = 10;

/// Waits until the exchange thread has started two more loop turns: it has seen the clock.
fn settle(stats: &SimulatedStats) {
    let k = stats.turns.load(Ordering::SeqCst);
    let deadline = Instant::now() + Duration::from_secs(30);
    while stats.turns.load(Ordering::SeqCst) < k + 2 {
        assert!(Instant::now() < deadline, "the exchange thread made no progress in 30 s");
        std::thread::yield_now();
    }
}

#[test]
fn steady_state_allocates_nothing() {
    let mut cfg = Config::default();
    cfg.session.timezone = "UTC".into();
    cfg.session.start = "00:00:00".into();
    cfg.session.end = "23:59:59".into();
    // Two permits a µs: each iteration's replace or cancel and its first New take them; its
    // second New waits in the queue.
    cfg.throttle.max_orders_per_sec = 2_000_000;
    cfg.throttle.burst = Some(2);
    cfg.engine.ring_capacity = 1024;
    cfg.engine.max_queued_orders = 1 << 16;
    cfg.engine.max_in_flight = 1 << 16;
    // The simulated exchange: acknowledgments 50 µs after the send, nothing rejected, every
    // order filled in two parts 200 µs apart; replaces and cancels answered after 50 µs.
    cfg.exchange.latency_min_us = 50;
    cfg.exchange.latency_max_us = 50;
    cfg.exchange.reject_ratio = 0.0;
    cfg.exchange.fill_ratio = 1.0;
    cfg.exchange.fill_parts = 2;
    cfg.exchange.fill_interval_us = 200;
    // Every risk limit set (none refuses): their checks and books are on the order path too.
    cfg.risk = Some(oms::config::RiskConfig {
        max_order_qty: Some(1_000_000),
        max_order_notional: Some(1e12),
        price_band_bps: Some(1_000_000),
        max_open_orders: Some(1 << 20),
        max_position: Some(1 << 62),
        max_daily_notional: Some(1e300),
        ..oms::config::RiskConfig::default()
    });
    let dir = tempfile::tempdir().expect("temp dir");
    cfg.journal.path = dir.path().join("oms.journal");
    cfg.journal.sync = SyncPolicy::None.into();
    cfg.journal.segment_bytes = 1 << 20; // 16320 records: a roll-over every ~1700 iterations
    // The warm-up and the measured phase, prepared before the session (as before a logon).
    cfg.journal.prepare_records = Some(PREPARED);
    let valid = cfg.validate().expect("valid config");
    let start = "2026-11-23T01:00:00Z".parse::<jiff::Timestamp>().expect("timestamp").as_nanosecond() as i64;
    let (clock, mock) = EngineClock::manual(start);
    let opts = WriterOptions { reserve_records: 4096, ..Default::default() };
    let journal =
        JournalWriter::create_with(&valid.journal, &cfg.journal_meta(&clock), opts).expect("journal");
    let (mut builder, responder) = EngineBuilder::new(&valid.engine, clock);
    let mut producer = builder.producer().expect("a producer handle");
    let sim = SimulatedExchange::spawn(&valid.exchange, responder, builder.clock().clone(), 1 << 16)
        .expect("exchange thread");
    let sim_stats = sim.stats();
    let mut engine = builder.build(sim, journal);

    // Iteration i at i µs: order 2i + 1 is sent; order 2i + 2 waits in the queue, is modified
    // and cancelled there. Orders sent at an even i are replaced (10 -> 12) 100 µs later,
    // before their first fill (at 250 µs), and filled; those sent at an odd i are filled in
    // part (at 250 µs) and cancelled 300 µs after their send, before their last fill.
    let mut iteration = |engine: &mut Engine<SimulatedExchange, JournalWriter>, i: u64| {
        let a = 2 * i + 1;
        let b = 2 * i + 2;
        let o = |id| OrderRequest::new(id, 1, Side::Buy, 100.0, 10);
        if i.is_multiple_of(2) && i >= 100 {
            let target = 2 * (i - 100) + 1;
            producer
                .on_data(OrderRequest::new(target, 1, Side::Buy, 100.5, 12), RequestType::Modify)
                .expect("room");
        } else if !i.is_multiple_of(2) && i >= 300 {
            producer.on_data(o(2 * (i - 300) + 1), RequestType::Cancel).expect("room");
        }
        producer.on_data(o(a), RequestType::New).expect("room");
        producer.on_data(o(b), RequestType::New).expect("room");
        producer.on_data(OrderRequest::new(b, 1, Side::Buy, 101.0, 20), RequestType::Modify).expect("room");
        producer.on_data(o(b), RequestType::Cancel).expect("room");
        mock.increment(1_000u64);
        while engine.poll() > 0 {}
        if i.is_multiple_of(SETTLE_EVERY) {
            settle(&sim_stats);
            while engine.poll() > 0 {}
        }
    };

    for i in 0..WARM_UP {
        iteration(&mut engine, i);
    }
    let before = counting_alloc::all_threads();
    let stats_before = engine.stats().clone();
    let segments_before = engine.sink().stats().segments;
    for i in WARM_UP..WARM_UP + MEASURED {
        iteration(&mut engine, i);
    }
    let after = counting_alloc::all_threads();
    let s = engine.stats().clone();
    let journal = engine.sink().stats();
    let events = (s.requests - stats_before.requests) + (s.responses_in - stats_before.responses_in);
    assert_eq!(
        after - before,
        0,
        "{} allocations during {events} requests and answers; {journal:?}",
        after - before
    );
    assert!(events >= 1_000_000, "only {events} requests and answers");
    // The workload really exercised every path, into the journal, across roll-overs.
    let n = |f: fn(&oms::EngineStats) -> u64| f(&s) - f(&stats_before);
    let m = MEASURED;
    assert!(n(|s| s.sent) >= m && n(|s| s.modified) >= m && n(|s| s.cancelled) >= m, "{s:?}");
    assert!(n(|s| s.matched) >= m - 100, "{s:?}");
    assert!(n(|s| s.replaces_sent) >= m / 2 - 100 && n(|s| s.cancels_sent) >= m / 2 - 100, "{s:?}");
    assert!(n(|s| s.fills) >= m - 200, "partial and full fills: {s:?}");
    // Every request and answer fit (the exchange kept up): nothing refused, nothing unexpected.
    let refused = s.rejected_total() - stats_before.rejected_total();
    assert_eq!((n(|s| s.unexpected), n(|s| s.unmatched), refused), (0, 0, 0), "{s:?}");
    let done = |c: &std::sync::atomic::AtomicU64| c.load(Ordering::SeqCst);
    let (replaced, cancelled, filled) =
        (done(&sim_stats.replaced), done(&sim_stats.cancelled), done(&sim_stats.filled));
    assert!(replaced >= m / 2 && cancelled >= m / 2 && filled >= m / 2, "{replaced} {cancelled} {filled}");
    assert!(engine.logged_on());
    assert!(journal.records >= 1_000_000 && journal.dropped == 0, "{journal:?}");
    assert!(
        journal.segments - segments_before >= 50,
        "only {} roll-overs",
        journal.segments - segments_before
    );

    // Past the prepared space: the idle turns build segments. A few allocations per segment.
    let built_before = journal.segments_built;
    let before = counting_alloc::all_threads();
    for i in WARM_UP + MEASURED..WARM_UP + MEASURED + BUILDING {
        iteration(&mut engine, i);
    }
    let allocations = counting_alloc::all_threads() - before;
    let journal = engine.sink().stats();
    let built = u64::from(journal.segments_built - built_before);
    assert!(built >= 40, "only {built} segments built: the test is about building them");
    assert!(allocations <= 32 * built, "{allocations} allocations for {built} segments built");
    assert_eq!(journal.dropped, 0);
}

/// Records prepared up front: the warm-up and the measured phase (8.5 records an iteration:
/// 1.275 M), with a little room.
const PREPARED: u64 = 1_320_000;
