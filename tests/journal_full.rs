//! A full disk under a running engine (issue 3): once the journal can no longer prepare a next
//! segment and is down to its reserve, new orders are rejected `journal_full` (recorded), nothing
//! more is sent, the end of the session still gets recorded, nothing crashes and nothing is lost.
//! The full disk is simulated with the writer's ENOSPC injection (the real-tmpfs variant of the
//! writer alone is in tests/journal.rs).

use oms::engine::EngineBuilder;
use oms::exchange::RecordingExchange;
use oms::journal::{Journal, JournalMeta, JournalWriter, WriterOptions};
use oms::{Config, EngineClock, EventKind as K, OrderRequest, OrderResponse, RejectReason, RequestType};
use oms::{ResponseType, Side};

#[test]
fn a_full_journal_rejects_new_orders_stops_sending_and_loses_nothing() {
    let dir = tempfile::tempdir().expect("temp dir");
    let mut cfg = Config::default();
    cfg.session.timezone = "UTC".into();
    cfg.session.start = "10:00".into();
    cfg.session.end = "13:00".into();
    cfg.throttle.max_orders_per_sec = 1000;
    cfg.engine.ring_capacity = 64;
    cfg.engine.max_queued_orders = 64;
    cfg.engine.max_in_flight = 64;
    cfg.journal.path = dir.path().join("oms.journal");
    cfg.journal.segment_bytes = 64 * 1024; // 960 records after the header
    let valid = cfg.validate().expect("valid config");
    let start = "2026-11-23T10:00:00Z".parse::<jiff::Timestamp>().expect("ts").as_nanosecond() as i64;
    let (clock, mock) = EngineClock::manual(start);
    // Only segment 0 can ever be prepared: the "disk" is full from segment 1 on.
    let opts =
        WriterOptions { inject_enospc_from_segment: Some(1), reserve_records: 200, ..Default::default() };
    let journal =
        JournalWriter::create_with(&cfg.journal, &JournalMeta::new(&cfg, &clock), opts).expect("journal");
    let (mut b, mut responder) = EngineBuilder::new(&valid, clock);
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
    let rejected = records.iter().filter(|r| r.reason() == Some(RejectReason::JournalFull)).count();
    assert_eq!(rejected, 51);
    let tail: Vec<_> = records.iter().rev().take(2).filter_map(|r| r.kind()).collect();
    assert!(tail.contains(&K::Logout), "the end of the session is recorded: {tail:?}");
    // Every New ends exactly once: sent or rejected.
    let terminal =
        records.iter().filter(|r| r.kind() == Some(K::Sent) || r.kind() == Some(K::Rejected)).count() as u64;
    assert_eq!(terminal, id);
}
