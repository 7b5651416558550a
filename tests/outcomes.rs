//! Each producer learns its orders' fates from the journal (`oms::journal::Outcomes`): four
//! producer threads submit while each follows its own outcomes, in this process and from
//! another one (`oms tail --producer N`).

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use oms::engine::EngineBuilder;
use oms::exchange::SimulatedExchange;
use oms::journal::{Journal, JournalWriter, OutcomeKind, OutcomePoll, Outcomes, WriterOptions};
use oms::runner::{EngineHandle, IdleStrategy};
use oms::{Config, EngineClock, EventRecord, OrderRequest, RequestType, Side};

const PRODUCERS: u64 = 4;
const ORDERS: u64 = 1000;

/// A config whose UTC window is open now, with a throttle that queues the bursts.
fn config(path: &Path) -> Config {
    let now = jiff::Timestamp::now();
    let tod =
        |t: jiff::Timestamp| t.to_zoned(jiff::tz::TimeZone::UTC).time().strftime("%H:%M:%S").to_string();
    let mut cfg = Config::default();
    cfg.session.timezone = "UTC".into();
    cfg.session.start = tod(now - jiff::SignedDuration::from_hours(1));
    cfg.session.end = tod(now + jiff::SignedDuration::from_hours(1));
    cfg.throttle.max_orders_per_sec = 4_000;
    cfg.throttle.burst = Some(16);
    cfg.engine.ring_capacity = 256;
    cfg.engine.max_queued_orders = 1 << 12;
    cfg.engine.max_in_flight = 1 << 12;
    cfg.engine.idle = IdleStrategy::Park.name().into();
    cfg.engine.park_max_us = 200;
    cfg.exchange.latency_min_us = 50;
    cfg.exchange.latency_max_us = 2_000;
    cfg.exchange.reject_ratio = 0.1;
    cfg.journal.path = path.to_path_buf();
    // A few segments: the readers move from one to the next (smaller ones, on a loaded
    // two-vCPU machine, can fill before the next is prepared, and records are dropped).
    cfg.journal.segment_bytes = 1 << 18;
    cfg
}

fn records(path: &Path) -> Vec<EventRecord> {
    Journal::open(path).expect("journal").records().collect::<Result<_, _>>().expect("sound journal")
}

/// A child process whose stdout is read as it comes (a full pipe would stop it).
struct Reading {
    child: Child,
    stdout: std::thread::JoinHandle<Vec<u8>>,
}

fn reading(mut child: Child) -> Reading {
    let mut out = child.stdout.take().expect("piped stdout");
    let stdout = std::thread::spawn(move || {
        let mut buf = Vec::new();
        let _ = std::io::Read::read_to_end(&mut out, &mut buf);
        buf
    });
    Reading { child, stdout }
}

/// Waits for the child to exit (at most 60 s) and returns its stdout.
fn finish(mut r: Reading, what: &str) -> String {
    let deadline = Instant::now() + Duration::from_secs(60);
    while r.child.try_wait().expect("wait").is_none() {
        if Instant::now() >= deadline {
            let _ = r.child.kill();
            panic!("{what} did not exit within 60 s of the journal being closed");
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    let out = r.child.wait_with_output().expect("output");
    assert!(out.status.success(), "{what}: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(r.stdout.join().expect("reader")).expect("utf-8")
}

/// The outcomes one producer thread saw, with the ids of the New orders it submitted.
struct Seen {
    producer: u16,
    news: Vec<u64>,
    outcomes: Vec<(u64, u64, OutcomeKind, bool)>, // (seq, order id, kind, final)
}

#[test]
fn each_producer_sees_exactly_its_own_outcomes_in_order() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path: PathBuf = dir.path().join("oms.journal");
    let cfg = config(&path);
    let valid = cfg.validate().expect("valid config");
    let clock = EngineClock::system();
    let options = WriterOptions::with_reserve(valid.engine.capacities.journal_reserve(PRODUCERS as usize));
    let writer =
        JournalWriter::create_with(&valid.journal, &cfg.journal_meta(&clock), options).expect("journal");
    let (mut b, responder) = EngineBuilder::new(&valid.engine, clock.clone());
    let producers: Vec<_> = (0..PRODUCERS).map(|_| b.producer().expect("a producer handle")).collect();
    let exchange = SimulatedExchange::spawn(&valid.exchange, responder, clock, 1 << 12).expect("exchange");
    let engine = EngineHandle::spawn(b.build(exchange, writer), &valid.runner).expect("engine thread");

    // Another process follows producer 2 while the engine runs.
    let tail = Command::new(env!("CARGO_BIN_EXE_oms"))
        .args(["tail", "--format", "csv", "--producer", "2"])
        .arg(&path)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("oms tail");
    let tail = reading(tail);

    let (done_tx, done_rx) = std::sync::mpsc::channel::<()>();
    let threads: Vec<_> = producers
        .into_iter()
        .map(|mut producer| {
            let (path, done) = (path.clone(), done_tx.clone());
            std::thread::spawn(move || {
                let p = producer.index();
                let mut outcomes = Outcomes::follow(&path, p).expect("follow");
                let mut seen = Seen { producer: p, news: Vec::new(), outcomes: Vec::new() };
                let deadline = Instant::now() + Duration::from_secs(120);
                let mut drain = |seen: &mut Seen| loop {
                    assert!(Instant::now() < deadline, "producer {p}: no end to its outcomes in 120 s");
                    match outcomes.poll().expect("a sound journal") {
                        OutcomePoll::Outcome(o) => {
                            seen.outcomes.push((o.seq, o.order.order_id, o.kind, o.is_final()))
                        }
                        OutcomePoll::Pending => return false,
                        OutcomePoll::Closed => return true,
                    }
                };
                for i in 0..ORDERS {
                    let id = u64::from(p) * 1_000_000 + i;
                    let o = OrderRequest::new(id, 7, Side::Buy, 100.0 + (i % 5) as f64, 1 + i % 9);
                    let mut requests = vec![(o, RequestType::New)];
                    if i % 4 == 1 {
                        requests.push((OrderRequest { qty: 50, ..o }, RequestType::Modify));
                    }
                    if i % 6 == 2 {
                        requests.push((o, RequestType::Cancel));
                    }
                    for (mut o, mut t) in requests {
                        while let Err(back) = producer.on_data(o, t) {
                            assert!(Instant::now() < deadline, "producer {p}: ring never drained");
                            (o, t) = (back.order, back.request);
                            drain(&mut seen);
                            std::thread::yield_now();
                        }
                    }
                    seen.news.push(id);
                    drain(&mut seen);
                }
                done.send(()).expect("main thread waits");
                while !drain(&mut seen) {
                    std::thread::sleep(Duration::from_millis(1));
                }
                seen
            })
        })
        .collect();
    for _ in 0..PRODUCERS {
        done_rx.recv_timeout(Duration::from_secs(120)).expect("every producer submits within 120 s");
    }
    // Let the exchange answer what is in flight, then stop: the rest meets the shutdown path.
    std::thread::sleep(Duration::from_millis(100));
    let report = engine.stop().expect("engine stops");
    let journal = report.sink.close().expect("journal closes");
    assert_eq!(journal.dropped, 0, "the journal kept every record");
    assert!(journal.segments > 1, "the readers crossed a segment boundary");
    let seen: Vec<Seen> = threads.into_iter().map(|t| t.join().expect("producer thread")).collect();

    let all = records(&path);
    for s in &seen {
        let mine: Vec<u64> = all.iter().filter(|r| r.producer == s.producer).map(|r| r.seq).collect();
        let got: Vec<u64> = s.outcomes.iter().map(|o| o.0).collect();
        assert_eq!(got, mine, "producer {}: its records, all of them, in journal order", s.producer);
        let lo = u64::from(s.producer) * 1_000_000;
        assert!(
            s.outcomes.iter().all(|o| (lo..lo + ORDERS).contains(&o.1)),
            "producer {}: only its own orders",
            s.producer
        );
        for id in &s.news {
            let finals: Vec<OutcomeKind> =
                s.outcomes.iter().filter(|o| o.1 == *id && o.3).map(|o| o.2).collect();
            let all: Vec<_> = s.outcomes.iter().filter(|o| o.1 == *id).collect();
            assert_eq!(finals.len(), 1, "producer {} order {id}: one final fate, got {all:?}", s.producer);
        }
    }
    let kinds =
        |f: fn(&OutcomeKind) -> bool| seen.iter().flat_map(|s| &s.outcomes).filter(|o| f(&o.2)).count();
    assert!(kinds(|k| matches!(k, OutcomeKind::Response { .. })) > 0, "some orders answered");
    assert!(kinds(|k| matches!(k, OutcomeKind::Queued)) > 0, "some orders queued");
    assert!(kinds(|k| matches!(k, OutcomeKind::Cancelled | OutcomeKind::Modified)) > 0, "some amended");

    // The other process printed exactly what `oms decode --producer 2` prints afterwards.
    let followed = finish(tail, "oms tail --producer 2");
    let decoded = Command::new(env!("CARGO_BIN_EXE_oms"))
        .args(["decode", "--format", "csv", "--producer", "2"])
        .arg(&path)
        .output()
        .expect("oms decode");
    assert!(decoded.status.success());
    assert_eq!(followed, String::from_utf8(decoded.stdout).expect("utf-8"));
    let lines = followed.lines().count() - 1;
    assert_eq!(lines, seen[2].outcomes.len(), "the other process saw what producer 2 saw");
}
