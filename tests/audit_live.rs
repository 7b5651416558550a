//! `oms audit` on journals written by a running engine (not a replay): one driven step by step
//! on a manual clock through every kind of record, one on its own thread on the TSC with
//! producer threads and the simulated exchange. Both must pass; the first must fail
//! `--virtual-time`, since a live engine stamps a response at the loop turn that takes it and
//! measures its latency to its arrival.

use std::path::Path;
use std::process::{Command, Output};
use std::sync::Arc;
use std::time::{Duration, Instant};

use oms::audit::{AuditOptions, Rule, audit};
use oms::engine::{Engine, EngineBuilder};
use oms::exchange::{RecordingExchange, SimulatedExchange};
use oms::journal::{Journal, JournalWriter, WriterOptions};
use oms::runner::{EngineHandle, IdleStrategy};
use oms::{Config, EngineClock, EventKind as K, EventRecord, OrderRequest, OrderResponse, RequestType};
use oms::{ResponseType, Side};
use quanta::Mock;

const MS: u64 = 1_000_000;

fn oms(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_oms")).args(args).output().expect("run oms")
}

fn p(path: &Path) -> &str {
    path.to_str().expect("UTF-8 path")
}

fn audit_cli(path: &Path, extra: &[&str]) -> (i32, String) {
    let mut args = vec!["audit", p(path)];
    args.extend(extra);
    let o = oms(&args);
    let out = format!("{}{}", String::from_utf8_lossy(&o.stdout), String::from_utf8_lossy(&o.stderr));
    (o.status.code().unwrap_or(-1), out)
}

fn records(path: &Path) -> Vec<EventRecord> {
    let j = Journal::open(path).expect("journal opens");
    j.records().collect::<Result<Vec<_>, _>>().expect("every record valid")
}

fn order(id: u64, qty: u64) -> OrderRequest {
    OrderRequest::new(id, 3, if id.is_multiple_of(2) { Side::Buy } else { Side::Sell }, 100.0, qty)
}

type Live = Engine<RecordingExchange, JournalWriter>;

fn settle(e: &mut Live) {
    while e.poll() > 0 {}
}

/// Moves the clock on by `ns`, stopping at every deadline on the way, as a running engine does.
fn advance(e: &mut Live, mock: &Arc<Mock>, ns: u64) {
    let target = e.clock().now_ns() + ns;
    while let Some(d) = e.next_deadline_ns().filter(|d| *d < target) {
        mock.increment(d - e.clock().now_ns());
        settle(e);
    }
    mock.increment(target - e.clock().now_ns());
    settle(e);
}

#[test]
fn a_manual_clock_engine_with_a_journal_passes() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("live.journal");
    let mut cfg = Config::default();
    cfg.session.timezone = "UTC".into();
    (cfg.session.start, cfg.session.end) = ("10:00:00".into(), "10:00:05".into());
    cfg.session.password = Some("live-secret".into());
    cfg.throttle.max_orders_per_sec = 2;
    cfg.throttle.burst = Some(1);
    cfg.engine.max_queued_orders = 8;
    cfg.journal.path = path.clone();
    cfg.journal.segment_bytes = 64 * 1024;
    let valid = cfg.validate().expect("valid config");
    let start: jiff::Timestamp = "2026-11-23T09:59:59.5Z".parse().expect("timestamp");
    let (clock, mock) = EngineClock::manual(start.as_nanosecond() as i64);
    let writer = JournalWriter::create_with(
        &valid.journal,
        &cfg.journal_meta(&clock),
        WriterOptions::with_reserve(valid.engine.capacities.journal_reserve(2)),
    )
    .expect("journal");
    let (mut b, mut responder) = EngineBuilder::new(&valid.engine, clock);
    let (mut p0, mut p1) =
        (b.producer().expect("a producer handle"), b.producer().expect("a producer handle"));
    let mut e = b.build(RecordingExchange::with_capacity(256), writer);
    settle(&mut e);

    p0.on_data(order(1, 5), RequestType::New).expect("room"); // outside_window
    settle(&mut e);
    advance(&mut e, &mock, 500 * MS); // logon at 10:00:00
    for id in 2..=7 {
        let p = if id % 2 == 0 { &mut p0 } else { &mut p1 };
        p.on_data(order(id, 5), RequestType::New).expect("room"); // 2 sent, 3..7 queued
    }
    settle(&mut e);
    responder.on_data(OrderResponse { order_id: 2, response_type: ResponseType::Accept }).expect("room");
    advance(&mut e, &mock, 30 * MS); // the response is taken 30 ms after it arrived
    p0.on_data(order(4, 9), RequestType::Modify).expect("room");
    p0.on_data(order(5, 0), RequestType::Modify).expect("room"); // invalid_qty
    p1.on_data(order(6, 5), RequestType::Cancel).expect("room");
    p1.on_data(order(99, 5), RequestType::Cancel).expect("room"); // not_queued
    p1.on_data(order(3, 5), RequestType::New).expect("room"); // duplicate_order_id
    p0.on_data(order(8, 5), RequestType::Unknown).expect("room"); // invalid_request_type
    p0.on_data(OrderRequest { price: f64::NAN, ..order(9, 5) }, RequestType::New).expect("room");
    settle(&mut e);
    advance(&mut e, &mock, 1_200 * MS);
    responder.on_data(OrderResponse { order_id: 3, response_type: ResponseType::Reject }).expect("room");
    responder.on_data(OrderResponse { order_id: 1234, response_type: ResponseType::Accept }).expect("room");
    advance(&mut e, &mock, 2_000 * MS); // 10:00:03.23
    for id in 10..=15 {
        p0.on_data(order(id, 1), RequestType::New).expect("room"); // 10 sent, 11..=15 queued
    }
    settle(&mut e);
    advance(&mut e, &mock, 2_000 * MS); // logout at 10:00:05 with orders queued
    p1.on_data(order(20, 1), RequestType::New).expect("room"); // outside_window
    settle(&mut e);
    let report = e.shutdown();
    report.sink.close().expect("close journal");

    let ev = records(&path);
    let count = |k: K| ev.iter().filter(|r| r.kind == k).count();
    let ended = ev.iter().filter(|r| r.reason.is_some_and(|x| x.name() == "session_ended")).count();
    assert!(ended >= 2, "orders were queued at the logout: {ended}");
    assert!(count(K::Modified) == 1 && count(K::Cancelled) == 1 && count(K::UnmatchedResponse) == 1);
    assert!(count(K::Response) == 2 && count(K::Unanswered) >= 1);

    let (window, throttle) = cfg.rules().expect("rules");
    let report = audit(&ev, &window, &throttle, AuditOptions::LIVE);
    assert!(report.is_clean(), "{report}");
    assert_eq!(report.rule(Rule::Fates).checked, 16, "New orders: 1..=7, 3 again, 9, 10..=15, 20");
    let (code, out) = audit_cli(&path, &[]);
    assert_eq!(code, 0, "{out}");
    // On virtual time the latency would equal the gap; here it is 30 ms shorter.
    let (code, out) = audit_cli(&path, &["--virtual-time"]);
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("FAIL  responses") && out.contains("1 of 13 rules broken: responses"), "{out}");
}

#[test]
fn a_threaded_engine_on_the_tsc_passes() {
    const PRODUCERS: u64 = 2;
    const ORDERS: u64 = 3_000;
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("threaded.journal");
    let now = jiff::Timestamp::now();
    let tod =
        |t: jiff::Timestamp| t.to_zoned(jiff::tz::TimeZone::UTC).time().strftime("%H:%M:%S").to_string();
    let mut cfg = Config::default();
    cfg.session.timezone = "UTC".into();
    cfg.session.start = tod(now - jiff::SignedDuration::from_hours(1));
    cfg.session.end = tod(now + jiff::SignedDuration::from_hours(1));
    cfg.session.password = Some("threaded-secret".into());
    cfg.throttle.max_orders_per_sec = 20_000;
    cfg.throttle.burst = Some(32);
    cfg.engine.ring_capacity = 256;
    cfg.engine.max_queued_orders = 512;
    cfg.engine.max_in_flight = 1 << 12;
    cfg.engine.idle = IdleStrategy::Yield.name().into();
    cfg.exchange.latency_min_us = 1;
    cfg.exchange.latency_max_us = 500;
    cfg.exchange.reject_ratio = 0.1;
    cfg.journal.path = path.clone();
    cfg.journal.segment_bytes = 1 << 20;
    let valid = cfg.validate().expect("valid config");
    let clock = EngineClock::system();
    let writer = JournalWriter::create_with(
        &valid.journal,
        &cfg.journal_meta(&clock),
        WriterOptions::with_reserve(valid.engine.capacities.journal_reserve(PRODUCERS as usize)),
    )
    .expect("journal");
    let (mut b, responder) = EngineBuilder::new(&valid.engine, clock.clone());
    let producers: Vec<_> = (0..PRODUCERS).map(|_| b.producer().expect("a producer handle")).collect();
    let exchange = SimulatedExchange::spawn(&valid.exchange, responder, clock, 1 << 12).expect("exchange");
    let engine = EngineHandle::spawn(b.build(exchange, writer), &valid.runner).expect("engine thread");
    let threads: Vec<_> = producers
        .into_iter()
        .enumerate()
        .map(|(p, mut producer)| {
            std::thread::spawn(move || {
                // A full ring hands the request back: retry, but not forever.
                let deadline = Instant::now() + Duration::from_secs(60);
                let mut submit = |o: OrderRequest, t: RequestType| {
                    let mut msg = (o, t);
                    while let Err(back) = producer.on_data(msg.0, msg.1) {
                        assert!(
                            Instant::now() < deadline,
                            "producer {p}: the engine stopped draining its ring"
                        );
                        msg = (back.order, back.request);
                        std::thread::yield_now();
                    }
                };
                for i in 0..ORDERS {
                    let o = order(p as u64 * 1_000_000 + i, 1 + i % 7);
                    submit(o, RequestType::New);
                    if i % 5 == 1 {
                        submit(OrderRequest { qty: 2 + i % 3, ..o }, RequestType::Modify);
                    }
                    if i % 9 == 4 {
                        submit(o, RequestType::Cancel);
                    }
                }
            })
        })
        .collect();
    for t in threads {
        t.join().expect("producer thread");
    }
    // Stop at once: what is queued, in flight or still in a ring meets the shutdown path.
    let report = engine.stop().expect("engine stops");
    report.sink.close().expect("close journal");
    let ev = records(&path);
    let kinds: Vec<(&str, usize)> =
        K::ALL.iter().map(|k| (k.name(), ev.iter().filter(|r| r.kind == *k).count())).collect();
    eprintln!("{} records: {kinds:?}", ev.len());
    let (window, throttle) = cfg.rules().expect("rules");
    let report = audit(&ev, &window, &throttle, AuditOptions::LIVE);
    assert!(report.is_clean(), "{report}");
    assert_eq!(report.rule(Rule::Fates).checked, PRODUCERS * ORDERS, "every New order is in the journal");
    let (code, out) = audit_cli(&path, &[]);
    assert_eq!(code, 0, "{out}");
}

/// A journal whose writer is still running (or died) is not closed: the audit says so first,
/// judges the rules on the records so far, and leaves out the checks that need the journal's
/// end (every order's fate, the session's logout) rather than calling them broken.
#[test]
fn a_journal_not_closed_is_judged_so_far_and_says_so_first() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("open.journal");
    let mut cfg = Config::default();
    cfg.session.timezone = "UTC".into();
    (cfg.session.start, cfg.session.end) = ("10:00:00".into(), "11:00:00".into());
    cfg.throttle.max_orders_per_sec = 1;
    cfg.throttle.burst = Some(1);
    cfg.journal.path = path.clone();
    cfg.journal.segment_bytes = 64 * 1024;
    let valid = cfg.validate().expect("valid config");
    let start: jiff::Timestamp = "2026-11-23T10:00:00Z".parse().expect("timestamp");
    let (clock, mock) = EngineClock::manual(start.as_nanosecond() as i64);
    let writer = JournalWriter::create_with(
        &valid.journal,
        &cfg.journal_meta(&clock),
        WriterOptions::with_reserve(valid.engine.capacities.journal_reserve(1)),
    )
    .expect("journal");
    let (mut b, _responder) = EngineBuilder::new(&valid.engine, clock);
    let mut p0 = b.producer().expect("a producer handle");
    let mut e = b.build(RecordingExchange::with_capacity(16), writer);
    settle(&mut e);
    for id in 1..=3 {
        p0.on_data(order(id, 5), RequestType::New).expect("room"); // 1 sent, 2 and 3 queued
    }
    advance(&mut e, &mock, MS);
    // The writer is abandoned as a running (or killed) process leaves it: not closed.
    std::mem::forget(e);

    let (code, out) = audit_cli(&path, &[]);
    assert_eq!(code, 0, "every rule holds on the records so far:\n{out}");
    let first = out.lines().next().unwrap_or_default();
    assert!(first.starts_with(&format!("note: {} is not closed", p(&path))), "{out}");
    for needle in [
        "writer is still running, or it stopped without closing it",
        "judged on the 4 records so far",
        "2 orders queued and 1 open at the exchange have no fate yet",
        "a session is logged on",
    ] {
        assert!(out.contains(needle), "{needle:?} not in:\n{out}");
    }
    assert!(!out.contains("FAIL"), "{out}");
    assert!(out.contains("all 13 rules hold over 4 records so far"), "{out}");
}
