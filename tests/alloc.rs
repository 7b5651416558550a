//! Zero heap allocations per order in steady state: a counting global allocator wraps the system
//! one; after a warm-up, at least 1M New / Modify / Cancel / response events go through the
//! engine (rings, checks, throttle, queue, in-flight table, exchange) into the memory-mapped
//! journal, rolling over into prepared segments dozens of times, and the allocation count must
//! not move. Then the same workload runs past the prepared space, so that the engine's idle
//! turns build segments: that may allocate a few small objects per segment built (paths, the
//! header), never per order.
//!
//! This file holds a single test so no other test thread allocates while it measures.

use oms::engine::{Engine, EngineBuilder};
use oms::exchange::NullExchange;
use oms::journal::{JournalWriter, SyncPolicy, WriterOptions};
use oms::{Config, EngineClock, OrderRequest, OrderResponse, RequestType, ResponseType, Side};

mod counting_alloc;

#[global_allocator]
static GLOBAL: counting_alloc::CountingAllocator = counting_alloc::CountingAllocator;

#[test]
fn steady_state_allocates_nothing() {
    let mut cfg = Config::default();
    cfg.session.timezone = "UTC".into();
    cfg.session.start = "00:00:00".into();
    cfg.session.end = "23:59:59".into();
    cfg.throttle.max_orders_per_sec = 1_000_000;
    cfg.throttle.burst = Some(16);
    cfg.engine.ring_capacity = 1024;
    cfg.engine.max_queued_orders = 1 << 16;
    cfg.engine.max_in_flight = 1 << 16;
    let dir = tempfile::tempdir().expect("temp dir");
    cfg.journal.path = dir.path().join("oms.journal");
    cfg.journal.sync = SyncPolicy::None.into();
    cfg.journal.segment_bytes = 1 << 20; // 16320 records: a roll-over every ~3300 iterations
    // The warm-up and the measured phase, prepared before the session (as before a logon).
    cfg.journal.prepare_records = Some(PREPARED);
    let valid = cfg.validate().expect("valid config");
    let start = "2026-11-23T01:00:00Z".parse::<jiff::Timestamp>().expect("timestamp").as_nanosecond() as i64;
    let (clock, mock) = EngineClock::manual(start);
    let opts = WriterOptions { reserve_records: 4096, ..Default::default() };
    let journal =
        JournalWriter::create_with(&valid.journal, &cfg.journal_meta(&clock), opts).expect("journal");
    let (mut builder, mut responder) = EngineBuilder::new(&valid.engine, clock);
    let mut producer = builder.producer().expect("a producer handle");
    let mut engine = builder.build(NullExchange::default(), journal);

    // Per iteration: two News (one is sent, one waits), a Modify and a Cancel of the waiting one,
    // and a response for an order sent 8 iterations earlier; 1 µs passes (one permit at 1M/s).
    let mut iteration = |engine: &mut Engine<NullExchange, JournalWriter>, i: u64| -> u64 {
        let a = 2 * i + 1;
        let b = 2 * i + 2;
        let o = |id| OrderRequest::new(id, 1, Side::Buy, 100.0, 10);
        producer.on_data(o(a), RequestType::New).expect("room");
        producer.on_data(o(b), RequestType::New).expect("room");
        producer.on_data(OrderRequest::new(b, 1, Side::Buy, 101.0, 20), RequestType::Modify).expect("room");
        producer.on_data(o(b), RequestType::Cancel).expect("room");
        let answered = 2 * i.saturating_sub(8) + 1;
        responder
            .on_data(OrderResponse { order_id: answered, response_type: ResponseType::Accept })
            .expect("room");
        mock.increment(1_000u64);
        while engine.poll() > 0 {}
        5
    };

    for i in 0..100_000 {
        iteration(&mut engine, i);
    }
    let before = counting_alloc::all_threads();
    let segments_before = engine.sink().stats().segments;
    let mut events = 0;
    for i in 100_000..300_000 {
        events += iteration(&mut engine, i);
    }
    assert_eq!(events, 1_000_000);
    let after = counting_alloc::all_threads();
    let stats = engine.stats().clone();
    let journal = engine.sink().stats();
    assert_eq!(after - before, 0, "{} allocations during {events} events; {journal:?}", after - before);
    // The workload really exercised every path, into the journal, across roll-overs.
    assert!(stats.sent >= 290_000 && stats.modified >= 290_000 && stats.cancelled >= 290_000, "{stats:?}");
    assert!(stats.matched >= 290_000, "{stats:?}");
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
    for i in 300_000..500_000 {
        iteration(&mut engine, i);
    }
    let allocations = counting_alloc::all_threads() - before;
    let journal = engine.sink().stats();
    let built = u64::from(journal.segments_built - built_before);
    assert!(built >= 40, "only {built} segments built: the test is about building them");
    assert!(allocations <= 32 * built, "{allocations} allocations for {built} segments built");
    assert_eq!(journal.dropped, 0);
}

/// Records prepared up front: the warm-up and the measured phase (about 5 records an iteration).
const PREPARED: u64 = 1_700_000;
