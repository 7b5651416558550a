//! An engine over a live journal that runs out of prepared space: a segment that is late (the
//! engine writes faster than its idle turns prepare), a full disk, and a full disk that clears.
//! While the disk has room, the journal pushes back (producers see `Backpressure`) and never
//! rejects; on a full disk, New orders are rejected `journal_full` only while the reserve is
//! still twice what the end of the session needs, then the engine stops taking requests; nothing
//! is ever dropped and the end of the session is always recorded. The full disk is simulated with
//! the writer's ENOSPC injection (the real-tmpfs variant of the writer alone is in
//! tests/journal.rs); time (the engine's and the writer's retry timer) is a manual clock.

use std::sync::Arc;
use std::sync::atomic::Ordering;

use oms::engine::{Engine, EngineBuilder};
use oms::exchange::{ExchangeCall, RecordingExchange};
use oms::journal::{Faults, Journal, JournalWriter, Preparation, WriterOptions};
use oms::{
    Config, EngineClock, EventKind as K, EventSink, OrderRequest, OrderResponse, Producer, RejectReason,
};
use oms::{RequestType, Responder, ResponseType, Side};

type Live = Engine<RecordingExchange, JournalWriter>;

/// A window open 10:00-13:00 UTC, 64 KiB segments (960 records after the header) under `dir`.
fn config(dir: &std::path::Path, rate: u32, burst: Option<u32>, ring: usize, queue: usize) -> Config {
    let mut cfg = Config::default();
    cfg.session.timezone = "UTC".into();
    cfg.session.start = "10:00".into();
    cfg.session.end = "13:00".into();
    cfg.throttle.max_orders_per_sec = rate;
    cfg.throttle.burst = burst;
    cfg.engine.ring_capacity = ring;
    cfg.engine.max_queued_orders = queue;
    cfg.engine.max_in_flight = 64;
    cfg.engine.max_working_orders = 64;
    cfg.journal.path = dir.join("oms.journal");
    cfg.journal.segment_bytes = 64 * 1024;
    cfg
}

/// An engine on a manual clock at Monday 10:00 over a journal whose writer has its own manual
/// clock (its retry timer), with one producer.
struct Rig {
    engine: Live,
    producer: Producer,
    responder: Responder,
    mock: Arc<quanta::Mock>,
    writer_mock: Arc<quanta::Mock>,
    path: std::path::PathBuf,
    /// New orders handed to the producer ring (ids 1..=pushed).
    pushed: u64,
    /// Exchange calls seen (sends answered) so far.
    seen: usize,
    backpressure: u64,
    /// Records in the journal before this rig's engine started (a resumed journal).
    before: u64,
}

impl Rig {
    fn new(cfg: &Config, opts: WriterOptions) -> Rig {
        Rig::with(cfg, opts, false)
    }

    /// As [`Rig::new`], over the journal already at the configured path (resumed).
    fn resume(cfg: &Config, opts: WriterOptions) -> Rig {
        Rig::with(cfg, opts, true)
    }

    fn with(cfg: &Config, opts: WriterOptions, resume: bool) -> Rig {
        let valid = cfg.validate().expect("valid config");
        let start = "2026-11-23T10:00:00Z".parse::<jiff::Timestamp>().expect("ts").as_nanosecond() as i64;
        let (clock, mock) = EngineClock::manual(start);
        let (wclock, writer_mock) = quanta::Clock::mock();
        // These tests count what the engine's idle turns prepare on a manual clock: preparation
        // on the engine's thread (the preparation thread's own tests: journal_prep_thread.rs).
        let opts = WriterOptions { clock: Some(wclock), preparation: Preparation::IdleTurns, ..opts };
        let journal = if resume {
            JournalWriter::resume(&valid.journal, opts).expect("journal")
        } else {
            JournalWriter::create_with(&valid.journal, &cfg.journal_meta(&clock), opts).expect("journal")
        };
        let before = journal.next_seq() - 1;
        let (mut b, responder) = EngineBuilder::new(&valid.engine, clock);
        let producer = b.producer().expect("a producer handle");
        let engine = b.build(RecordingExchange::with_capacity(1024), journal);
        Rig {
            engine,
            producer,
            responder,
            mock,
            writer_mock,
            path: cfg.journal.path.clone(),
            pushed: 0,
            seen: 0,
            backpressure: 0,
            before,
        }
    }

    /// Offers the next New order; `false` if the ring pushed back (the order is offered again
    /// next time).
    fn offer(&mut self) -> bool {
        let id = self.pushed + 1;
        match self.producer.on_data(OrderRequest::new(id, 1, Side::Buy, 10.0, 1), RequestType::New) {
            Ok(()) => {
                self.pushed = id;
                true
            }
            Err(_) => {
                self.backpressure += 1;
                false
            }
        }
    }

    /// Answers every order sent and not answered yet: accepted and filled (each is for 1), as
    /// far as the response ring takes them.
    fn answer(&mut self) {
        let calls = &self.engine.exchange().calls;
        while self.seen < calls.len() {
            if let ExchangeCall::Send(o) = &calls[self.seen] {
                let r = OrderResponse { order_id: o.order_id, response_type: ResponseType::Accept };
                let fill = oms::Answer::Fill { order_id: o.order_id, last_qty: 1, last_px: 10.0 };
                if self.responder.on_data(r).is_err() || self.responder.on_answer(fill).is_err() {
                    break;
                }
            }
            self.seen += 1;
        }
    }

    /// `ns` pass on both clocks.
    fn advance(&self, ns: u64) {
        self.mock.increment(ns);
        self.writer_mock.increment(ns);
    }

    fn journal_full(&self) -> u64 {
        self.engine.stats().rejected_for(RejectReason::JournalFull)
    }

    /// Shuts down, closes the journal and checks what every test checks: nothing dropped, the
    /// journal sound and holding every event, the end of the session recorded, and every New
    /// taken from the ring ending once (sent or rejected). Returns the records.
    fn finish(self) -> (Vec<oms::EventRecord>, oms::journal::JournalStats) {
        let path = self.path.clone();
        let pushed = self.pushed;
        let report = self.engine.shutdown();
        let events = report.stats.events;
        let stats = report.sink.close().expect("close");
        assert_eq!(stats.dropped, 0, "no record is ever dropped");
        let journal = Journal::open(&path).expect("open");
        let verify = journal.verify();
        assert!(verify.is_sound(), "{:?}", verify.error);
        assert_eq!(verify.dropped, 0);
        let mut records: Vec<_> = journal.records().collect::<Result<_, _>>().expect("records");
        records.drain(..self.before as usize);
        assert_eq!(records.len() as u64, events, "every event the engine recorded is in the journal");
        let tail: Vec<_> = records.iter().rev().take(3).map(|r| r.kind).collect();
        assert!(tail.contains(&K::Logout), "the end of the session is recorded: {tail:?}");
        let mut fates = vec![0u32; pushed as usize + 1];
        for r in &records {
            if r.request == RequestType::New && matches!(r.kind, K::Sent | K::Rejected) {
                fates[r.order_id as usize] += 1;
            }
        }
        for (id, n) in fates.iter().enumerate().skip(1) {
            assert_eq!(*n, 1, "order {id} has {n} fates");
        }
        let o =
            std::process::Command::new(env!("CARGO_BIN_EXE_oms")).arg("verify").arg(&path).output().unwrap();
        assert_eq!(o.status.code(), Some(0), "{}", String::from_utf8_lossy(&o.stdout));
        (records, stats)
    }
}

/// Offers `n` orders at a rate the engine keeps up with: each iteration offers one (if the ring
/// takes it), answers what was sent, lets `step_ns` pass and polls the engine until a turn finds
/// nothing to do (or only requests it does not take). The engine never waits for the journal:
/// its idle turns are all the journal gets.
fn run(rig: &mut Rig, n: u64, step_ns: u64) {
    let target = rig.pushed + n;
    let mut turns = 0u64;
    while rig.pushed < target {
        rig.offer();
        rig.answer();
        rig.advance(step_ns);
        settle_or_stuck(rig);
        turns += 1;
        assert!(turns < 100 * n + 1_000_000, "the engine stopped making progress at order {}", rig.pushed);
    }
}

/// Polls until the engine has nothing left to do (rings empty, idle turns find no work).
fn settle(rig: &mut Rig) {
    for _ in 0..1_000_000 {
        rig.answer();
        if rig.engine.poll() == 0 && rig.engine.rings_empty() {
            return;
        }
    }
    panic!("the engine never settled");
}

/// The path that rejected orders `journal_full` at saturation, with the disk nearly empty: the
/// engine outruns its journal's preparation. Small segments (960 records), many roll-overs, no
/// waiting: the engine must push back and catch up in its idle turns, never reject or drop.
#[test]
fn an_engine_outrunning_its_journal_pushes_back_and_never_rejects() {
    let dir = tempfile::tempdir().expect("temp dir");
    let cfg = config(dir.path(), 10_000_000, Some(1000), 64, 1024);
    let valid = cfg.validate().expect("valid");
    let mut rig = Rig::new(&cfg, WriterOptions::with_reserve(valid.engine.capacities.journal_reserve(1)));
    // Saturation: more orders per turn than the ring holds, one turn per iteration, so the
    // engine has work (responses at least) in nearly every turn and few idle ones.
    let mut late = 0;
    for _ in 0..3_000 {
        for _ in 0..32 {
            rig.offer();
        }
        rig.answer();
        rig.advance(8_000);
        rig.engine.poll();
        late += u64::from(!rig.engine.sink().takes_requests());
    }
    settle(&mut rig);
    assert!(late > 0, "the journal never fell behind: the test does not exercise the late segment");
    assert!(rig.backpressure > 0, "producers never saw backpressure");
    assert_eq!(rig.journal_full(), 0, "nothing is rejected journal_full while the disk has room");
    assert_eq!(rig.engine.stats().sent, rig.pushed, "every order was sent");
    let pushed = rig.pushed;
    let (records, stats) = rig.finish();
    assert!(stats.segments > 100, "{} segments: the test is about many roll-overs", stats.segments);
    assert!(stats.prepare_failures == 0, "{stats:?}");
    let responses = records.iter().filter(|r| r.kind == K::Response).count() as u64;
    assert_eq!(responses + records.iter().filter(|r| r.kind == K::Unanswered).count() as u64, pushed);
}

/// A full disk met early: reserve 200, a disk full from segment 1 on, and 300 New orders after
/// the journal reports full. The engine rejects New orders `journal_full` while the room left is
/// more than the reserve, then leaves the rest in the ring (backpressure); the end of the session
/// fits; nothing is dropped.
#[test]
fn a_full_disk_rejects_new_orders_then_pushes_back_and_drops_nothing() {
    let dir = tempfile::tempdir().expect("temp dir");
    let cfg = config(dir.path(), 1000, None, 64, 64);
    let opts =
        WriterOptions { inject_enospc_from_segment: Some(1), reserve_records: 200, ..Default::default() };
    let mut rig = Rig::new(&cfg, opts);
    settle(&mut rig);
    // Orders flow (sent and answered) until the journal is down to twice its reserve.
    while rig.journal_full() == 0 {
        assert!(rig.pushed < 10_000, "the journal never reported full");
        assert!(rig.offer());
        rig.answer();
        rig.advance(1_000_000);
        settle(&mut rig);
    }
    let sent_when_full = rig.engine.exchange().sent().count();
    // 300 more: rejected journal_full until the reserve, then held in the ring.
    let offered_before = rig.pushed;
    for _ in 0..300 {
        rig.offer();
        rig.advance(1_000_000);
        settle_or_stuck(&mut rig);
    }
    assert_eq!(rig.engine.exchange().sent().count(), sent_when_full, "nothing is sent once the disk is full");
    assert!(rig.backpressure > 0, "the engine stopped taking requests at the reserve");
    let full = rig.journal_full();
    assert!(full > 50 && full < 200 + 2, "{full} rejected journal_full: at most the room above the reserve");
    assert!(rig.pushed - offered_before < 300, "the ring holds what the engine no longer takes");
    assert!(!rig.engine.sink().takes_requests());
    assert!(rig.engine.logged_on());
    let (records, stats) = rig.finish();
    assert_eq!(stats.segments, 1);
    assert!(stats.prepare_failures >= 1);
    let rejected = records.iter().filter(|r| r.reason == Some(RejectReason::JournalFull)).count() as u64;
    assert_eq!(rejected, full);
    // The orders left in the ring were rejected `shutdown` at the end, inside the reserve.
    assert!(records.iter().any(|r| r.reason == Some(RejectReason::Shutdown)));
}

/// Polls until the engine has nothing to do, or only requests it does not take.
fn settle_or_stuck(rig: &mut Rig) {
    for _ in 0..1_000_000 {
        rig.answer();
        if rig.engine.poll() == 0 {
            return;
        }
    }
    panic!("the engine never settled");
}

/// A reserve larger than a segment (a big queue): it spans several prepared segments, and a
/// full disk found early still leaves room for every queued order's `shutdown` reject.
#[test]
fn a_reserve_for_a_large_queue_spans_prepared_segments() {
    let dir = tempfile::tempdir().expect("temp dir");
    let cfg = config(dir.path(), 1, Some(1), 64, 1000);
    let valid = cfg.validate().expect("valid config");
    let opts = WriterOptions::with_reserve(valid.engine.capacities.journal_reserve(1));
    assert!(opts.reserve_records > 2 * 960, "this test is about a reserve larger than a segment");
    // The disk is full past the segments holding twice the reserve and 1 to 960 records more:
    // that many of the 1000 orders queue before New orders are rejected `journal_full`.
    let full_from = (2 * opts.reserve_records + 1).div_ceil(960) as u32;
    let opts = WriterOptions { inject_enospc_from_segment: Some(full_from), ..opts };
    let mut rig = Rig::new(&cfg, opts);
    settle(&mut rig); // the idle turns find the full disk
    assert!(!rig.engine.sink().stats().last_prepare_error.unwrap_or_default().is_empty());
    for _ in 0..1000 {
        assert!(rig.offer());
        settle_or_stuck(&mut rig);
    }
    let full = rig.journal_full();
    assert!(full > 0 && full < 1000, "{full} rejected journal_full");
    assert_eq!(rig.engine.exchange().sent().count(), 1, "one permit, one send");
    let queued = rig.engine.queue_len() as u64;
    assert_eq!(queued + full + 1, 1000);
    let (records, stats) = rig.finish();
    assert!(stats.segments >= 2, "the end of the session ran into the reserve's next segment");
    let shutdown = records.iter().filter(|r| r.reason == Some(RejectReason::Shutdown)).count() as u64;
    assert_eq!(shutdown, queued);
}

/// A disk that is full for a moment: preparation fails, the engine goes on in the room already
/// prepared, the next attempt (after the retry delay) succeeds. Nothing visible happens.
#[test]
fn a_short_enospc_changes_nothing() {
    let dir = tempfile::tempdir().expect("temp dir");
    let cfg = config(dir.path(), 1_000_000, Some(1000), 256, 1024);
    let valid = cfg.validate().expect("valid");
    let faults = Arc::new(Faults::default());
    let opts = WriterOptions {
        faults: Some(faults.clone()),
        ..WriterOptions::with_reserve(valid.engine.capacities.journal_reserve(1))
    };
    let mut rig = Rig::new(&cfg, opts);
    run(&mut rig, 5_000, 10_000);
    faults.enospc.store(true, Ordering::Relaxed);
    run(&mut rig, 1_000, 10_000);
    assert!(rig.engine.sink().stats().prepare_failures > 0, "the full disk was met");
    faults.enospc.store(false, Ordering::Relaxed);
    // Long enough for the retry (200 ms of the writer's clock) to come.
    run(&mut rig, 20_000, 1_000_000);
    settle(&mut rig);
    assert_eq!(rig.journal_full(), 0);
    assert_eq!(rig.engine.stats().sent, rig.pushed);
    let (_, stats) = rig.finish();
    assert!(stats.segments > 40);
}

/// A disk full long enough to use up the prepared room: New orders are rejected `journal_full`
/// for a while, then the engine stops taking requests; once the disk has room again (and the
/// retry delay has passed) the engine takes and sends orders again. Every order offered gets a
/// fate, nothing is dropped.
#[test]
fn a_full_disk_that_clears_pushes_back_then_resumes() {
    let dir = tempfile::tempdir().expect("temp dir");
    let cfg = config(dir.path(), 1_000_000, Some(1000), 256, 1024);
    let faults = Arc::new(Faults::default());
    let opts = WriterOptions { faults: Some(faults.clone()), reserve_records: 500, ..Default::default() };
    let mut rig = Rig::new(&cfg, opts);
    run(&mut rig, 3_000, 10_000);
    faults.enospc.store(true, Ordering::Relaxed);
    // Until the engine has stopped taking requests for a while.
    let mut stuck = 0;
    while stuck < 1000 {
        let taken = rig.offer();
        rig.answer();
        rig.advance(10_000);
        settle_or_stuck(&mut rig);
        stuck = if taken { 0 } else { stuck + 1 };
        assert!(rig.pushed < 1_000_000, "the engine never stopped taking requests on a full disk");
    }
    let full = rig.journal_full();
    assert!(full > 0, "New orders were rejected journal_full once the room was down to twice the reserve");
    let sent = rig.engine.stats().sent;
    faults.enospc.store(false, Ordering::Relaxed);
    run(&mut rig, 10_000, 1_000_000);
    settle(&mut rig);
    assert_eq!(rig.journal_full(), full, "no more journal_full once the disk has room");
    assert!(rig.engine.stats().sent >= sent + 10_000, "orders flow again");
    rig.finish();
}

/// A disk smaller than the reserve (the reserve of a 65536-order queue spans hundreds of 64 KiB
/// segments; the disk holds two): preparing space fails before the session starts, with far
/// less than the reserve mapped. Half of that room takes `journal_full` rejects, at once, the
/// other half is kept for the end of the session; then the engine pushes back. The writer's
/// watch tells why (the error, naming the file) before the first order, once.
#[test]
fn a_disk_smaller_than_the_reserve_rejects_at_once_then_pushes_back_and_says_why() {
    let dir = tempfile::tempdir().expect("temp dir");
    let cfg = config(dir.path(), 1000, None, 64, 65536);
    let valid = cfg.validate().expect("valid");
    let reserve = WriterOptions::with_reserve(valid.engine.capacities.journal_reserve(1));
    assert!(reserve.reserve_records > 100 * 960, "this test is about a reserve far larger than the disk");
    let opts = WriterOptions { inject_enospc_from_segment: Some(2), ..reserve };
    let mut rig = Rig::new(&cfg, opts);
    let mut watch = rig.engine.sink().watch();
    assert!(watch.failing());
    let news = watch.news().expect("the failure is news");
    for what in [
        "oms.journal.000002.tmp",
        "No space left on device",
        "1920 records of room",
        "journal_full from now on",
    ] {
        assert!(news.contains(what), "{what:?} in {news}");
    }
    assert_eq!(watch.news(), None, "told once");
    settle(&mut rig);
    for _ in 0..3_000 {
        rig.offer();
        rig.advance(1_000_000);
        settle_or_stuck(&mut rig);
    }
    let full = rig.journal_full();
    assert!(full > 900 && full < 960, "{full} rejected journal_full: about half the room");
    assert_eq!(rig.engine.exchange().sent().count(), 0, "nothing is sent on a full disk");
    assert!(rig.backpressure > 0, "then the engine pushes back");
    assert!(!rig.engine.sink().takes_requests());
    assert!(watch.failing() && watch.prepare_failures() > 1, "retried, still failing");
    let (records, stats) = rig.finish();
    assert_eq!(stats.segments, 2);
    // The orders left in the ring were rejected `shutdown` at the end, in the half kept.
    assert!(records.iter().any(|r| r.reason == Some(RejectReason::Shutdown)));
}

/// The same on a restart: a journal written on a disk with room, resumed once the disk is full.
/// The watch says so, New orders are rejected `journal_full`, then the engine pushes back; once
/// the disk has room again the watch says that too.
#[test]
fn a_restart_on_a_full_disk_rejects_then_pushes_back_and_says_why() {
    let dir = tempfile::tempdir().expect("temp dir");
    let cfg = config(dir.path(), 1000, None, 64, 65536);
    let valid = cfg.validate().expect("valid");
    let reserve = WriterOptions::with_reserve(valid.engine.capacities.journal_reserve(1));
    let (clock, _) = EngineClock::manual(0);
    let mut first = JournalWriter::create_with(&valid.journal, &cfg.journal_meta(&clock), Default::default())
        .expect("journal");
    for t in 1..=500 {
        first.record(&oms::EventRecord::new(t, oms::Event::Logon));
    }
    first.close().expect("close");

    let faults = Arc::new(Faults::default());
    faults.enospc.store(true, Ordering::Relaxed);
    let mut rig = Rig::resume(&cfg, WriterOptions { faults: Some(faults.clone()), ..reserve });
    let mut watch = rig.engine.sink().watch();
    let news = watch.news().expect("the failure is news");
    assert!(news.contains("No space left on device") && news.contains("journal_full"), "{news}");
    settle(&mut rig);
    for _ in 0..2_000 {
        rig.offer();
        rig.advance(1_000_000);
        settle_or_stuck(&mut rig);
    }
    let full = rig.journal_full();
    assert!(full > 100, "{full} rejected journal_full");
    assert!(rig.backpressure > 0, "then the engine pushes back");
    faults.enospc.store(false, Ordering::Relaxed);
    rig.advance(300_000_000);
    settle(&mut rig);
    assert!(!watch.failing());
    let news = watch.news().expect("the recovery is news");
    assert!(news.contains("space prepared again"), "{news}");
    rig.finish();
}
