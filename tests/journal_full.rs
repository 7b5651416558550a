//! A full disk under a running engine (issue 3): once the journal can no longer prepare a next
//! segment and is down to its reserve, new orders are rejected `journal_full` (recorded), nothing
//! more is sent, the end of the session still gets recorded, nothing crashes and nothing is lost.
//! The full disk is simulated with the writer's ENOSPC injection (the real-tmpfs variant of the
//! writer alone is in tests/journal.rs).

use oms::engine::EngineBuilder;
use oms::exchange::RecordingExchange;
use oms::journal::{Journal, JournalWriter, WriterOptions};
use oms::{Config, EngineClock, EventKind as K, OrderRequest, OrderResponse, RejectReason, RequestType};
use oms::{ResponseType, Side};

/// A window open 10:00-13:00 UTC, small rings and in-flight table, 64 KiB segments (960
/// records after the header) under `dir`; the engine's clock shows Monday 10:00.
fn setup(
    dir: &std::path::Path,
    rate: u32,
    burst: Option<u32>,
    max_queued: usize,
) -> (Config, EngineClock, std::sync::Arc<quanta::Mock>) {
    let mut cfg = Config::default();
    cfg.session.timezone = "UTC".into();
    cfg.session.start = "10:00".into();
    cfg.session.end = "13:00".into();
    cfg.throttle.max_orders_per_sec = rate;
    cfg.throttle.burst = burst;
    cfg.engine.ring_capacity = 64;
    cfg.engine.max_queued_orders = max_queued;
    cfg.engine.max_in_flight = 64;
    cfg.journal.path = dir.join("oms.journal");
    cfg.journal.segment_bytes = 64 * 1024;
    let start = "2026-11-23T10:00:00Z".parse::<jiff::Timestamp>().expect("ts").as_nanosecond() as i64;
    let (clock, mock) = EngineClock::manual(start);
    (cfg, clock, mock)
}

#[test]
fn a_full_journal_rejects_new_orders_stops_sending_and_loses_nothing() {
    let dir = tempfile::tempdir().expect("temp dir");
    let (cfg, clock, mock) = setup(dir.path(), 1000, None, 64);
    let valid = cfg.validate().expect("valid config");
    // Only segment 0 can ever be prepared: the "disk" is full from segment 1 on.
    let opts =
        WriterOptions { inject_enospc_from_segment: Some(1), reserve_records: 200, ..Default::default() };
    let journal =
        JournalWriter::create_with(&valid.journal, &cfg.journal_meta(&clock), opts).expect("journal");
    // The background thread finds the full disk at once (it prepares ahead as soon as it can);
    // wait for that, so the test does not race it.
    assert_eq!(
        journal.wait_next_segment(std::time::Duration::from_secs(60)),
        oms::journal::NextSegment::Failed
    );
    let (mut b, mut responder) = EngineBuilder::new(&valid.engine, clock);
    let mut producer = b.producer();
    let mut engine = b.build(RecordingExchange::with_capacity(1024), journal);

    let order = |id| OrderRequest::new(id, 1, Side::Buy, 10.0, 1);
    let mut id = 0;
    // Orders flow (sent and answered) until the journal is down to its reserve.
    while engine.stats().rejected_for(RejectReason::JournalFull) == 0 {
        id += 1;
        assert!(id < 10_000, "the journal never reported full");
        producer.on_data(order(id), RequestType::New).expect("room");
        if id > 1 {
            responder
                .on_data(OrderResponse { order_id: id - 1, response_type: ResponseType::Accept })
                .expect("room");
        }
        mock.increment(1_000_000u64);
        while engine.poll() > 0 {}
    }
    let sent_when_full = engine.exchange().sent().count();
    // Everything after that is rejected journal_full and nothing more goes out.
    for _ in 0..50 {
        id += 1;
        producer.on_data(order(id), RequestType::New).expect("room");
        mock.increment(1_000_000u64);
        while engine.poll() > 0 {}
    }
    assert_eq!(engine.exchange().sent().count(), sent_when_full, "nothing is sent once the journal is full");
    assert_eq!(engine.stats().rejected_for(RejectReason::JournalFull), 51);
    assert!(engine.logged_on());

    let report = engine.shutdown();
    let events = report.stats.events;
    let stats = report.sink.close().expect("close");
    assert_eq!(stats.dropped, 0, "the reserve held every record");
    assert_eq!(stats.segments, 1);
    assert!(stats.prepare_failures >= 1);

    let journal = Journal::open(&cfg.journal.path).expect("open");
    let verify = journal.verify();
    assert!(verify.is_sound(), "{:?}", verify.error);
    let records: Vec<_> = journal.records().collect::<Result<_, _>>().expect("records");
    assert_eq!(records.len() as u64, events, "every event the engine recorded is in the journal");
    let rejected = records.iter().filter(|r| r.reason == Some(RejectReason::JournalFull)).count();
    assert_eq!(rejected, 51);
    let tail: Vec<_> = records.iter().rev().take(2).map(|r| r.kind).collect();
    assert!(tail.contains(&K::Logout), "the end of the session is recorded: {tail:?}");
    // Every New ends exactly once: sent or rejected.
    let terminal = records.iter().filter(|r| r.kind == K::Sent || r.kind == K::Rejected).count() as u64;
    assert_eq!(terminal, id);
}

/// A reserve larger than a segment (a big queue): the writer counts the segments it already
/// prepared ahead, so a full disk found early still leaves room for every queued order's
/// `shutdown` reject.
#[test]
fn a_reserve_for_a_large_queue_spans_prepared_segments() {
    let dir = tempfile::tempdir().expect("temp dir");
    let (cfg, clock, _mock) = setup(dir.path(), 1, Some(1), 1000);
    let valid = cfg.validate().expect("valid config");
    let opts = WriterOptions {
        inject_enospc_from_segment: Some(2),
        ..WriterOptions::for_engine(&valid.engine.capacities, 1)
    };
    assert!(opts.reserve_records > 960, "this test is about a reserve larger than a segment");
    let journal =
        JournalWriter::create_with(&valid.journal, &cfg.journal_meta(&clock), opts).expect("journal");
    // The background thread finds the full disk while segment 0 is current (it prepares ahead as
    // soon as it can); wait for that, so the test does not race it.
    assert_eq!(
        journal.wait_next_segment(std::time::Duration::from_secs(60)),
        oms::journal::NextSegment::Failed
    );
    let (mut b, _responder) = EngineBuilder::new(&valid.engine, clock);
    let mut producer = b.producer();
    let mut engine = b.build(RecordingExchange::with_capacity(16), journal);
    for id in 1..=1000 {
        producer.on_data(OrderRequest::new(id, 1, Side::Sell, 5.0, 1), RequestType::New).expect("room");
        while engine.poll() > 0 {}
    }
    let full = engine.stats().rejected_for(RejectReason::JournalFull);
    assert!(full > 0 && full < 1000, "{full} rejected journal_full");
    assert_eq!(engine.exchange().sent().count(), 1, "one permit, one send");
    let queued = engine.queue_len() as u64;
    assert_eq!(queued + full + 1, 1000);

    let report = engine.shutdown();
    assert_eq!(report.stats.rejected_for(RejectReason::Shutdown), queued);
    let events = report.stats.events;
    let stats = report.sink.close().expect("close");
    assert_eq!(stats.dropped, 0, "the reserve held the whole end of the session");
    let journal = Journal::open(&cfg.journal.path).expect("open");
    assert!(journal.verify().is_sound());
    assert_eq!(journal.records().count() as u64, events);
}
