//! Crash test: a child process (this test binary, re-invoked) runs an engine over a journal of
//! small segments (so it rolls over constantly) in bursts of orders and answers, and is killed
//! with SIGKILL at random moments, 24 times, under each sync policy in turn. After each kill the
//! journal must hold what the format promises: every record the child had published (it reports
//! the journal's last sequence number after each burst) is there, intact and in place, from 1
//! without a gap; nothing after the last good record is accepted (at most the one unpublished
//! record a kill can leave is reported as a torn tail); `oms verify` and `oms decode` agree.
//! "Intact" is checked against the records themselves: the engine on a manual clock is
//! deterministic, so the parent runs the same script over a `MemorySink` and compares record by
//! record.

use std::io::{BufRead, Write};
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use oms::engine::{Engine, EngineBuilder};
use oms::exchange::{ExchangeCall, RecordingExchange};
use oms::journal::{Journal, JournalWriter, WriterOptions};
use oms::{Config, EngineClock, EventSink, MemorySink, OrderRequest, OrderResponse, Producer};
use oms::{RequestType, Responder, ResponseType, Side};

const CHILD_ENV: &str = "OMS_JOURNAL_CRASH_CHILD";
const SEGMENT: u64 = 256 * 1024; // 4032 records
/// Orders per burst.
const BURST: u64 = 64;

fn config(dir: &Path, sync: &str) -> Config {
    let mut cfg = Config::default();
    cfg.session.timezone = "UTC".into();
    cfg.session.start = "10:00".into();
    cfg.session.end = "13:00".into();
    cfg.throttle.max_orders_per_sec = 1_000_000_000;
    cfg.engine.ring_capacity = 1024;
    cfg.engine.max_queued_orders = 1024;
    cfg.engine.max_in_flight = 4096;
    cfg.journal.path = dir.join("oms.journal");
    cfg.journal.segment_bytes = SEGMENT;
    cfg.journal.sync = oms::config::SyncValue::Name(sync.into());
    cfg
}

/// The deterministic workload: bursts of New orders (every fifth a Modify or Cancel of an id
/// that is not queued, for variety of records), each burst's sends answered in the next one,
/// 1 µs of manual clock per burst; the engine polled until it has nothing left to do.
struct Script<S: EventSink> {
    engine: Engine<RecordingExchange, S>,
    producer: Producer,
    responder: Responder,
    mock: Arc<quanta::Mock>,
    next_id: u64,
    /// Exchange calls seen (sends answered) so far.
    seen: usize,
}

impl<S: EventSink> Script<S> {
    fn new(cfg: &Config, sink: impl FnOnce(&EngineClock) -> S) -> Self {
        let valid = cfg.validate().expect("valid config");
        let start = "2026-11-23T10:00:00Z".parse::<jiff::Timestamp>().expect("ts").as_nanosecond() as i64;
        let (clock, mock) = EngineClock::manual(start);
        let sink = sink(&clock);
        let (mut b, responder) = EngineBuilder::new(&valid.engine, clock);
        let producer = b.producer().expect("a producer handle");
        let engine = b.build(RecordingExchange::with_capacity(1 << 16), sink);
        Script { engine, producer, responder, mock, next_id: 1, seen: 0 }
    }

    fn burst(&mut self) {
        let calls = &self.engine.exchange().calls;
        while self.seen < calls.len() {
            if let ExchangeCall::Send(o) = &calls[self.seen] {
                let id = o.order_id;
                let kind = if id % 7 == 0 { ResponseType::Reject } else { ResponseType::Accept };
                self.responder.on_data(OrderResponse { order_id: id, response_type: kind }).expect("room");
            }
            self.seen += 1;
        }
        for _ in 0..BURST {
            let id = self.next_id;
            self.next_id += 1;
            let request = match id % 10 {
                3 => RequestType::Modify,
                7 => RequestType::Cancel,
                _ => RequestType::New,
            };
            let o = OrderRequest::new(id, (id % 5) as i32, Side::Sell, 100.0 + (id % 9) as f64, id % 300 + 1);
            self.producer.on_data(o, request).expect("room");
        }
        self.mock.increment(1_000u64);
        for _ in 0..1_000_000 {
            if self.engine.poll() == 0 && self.engine.rings_empty() {
                return;
            }
        }
        panic!("the engine never settled");
    }
}

/// In the child: run bursts forever, reporting the journal's last published seq after each.
#[test]
fn crash_child() {
    let Ok(dir) = std::env::var(CHILD_ENV) else { return };
    let sync = std::env::var("OMS_CRASH_SYNC").unwrap_or_else(|_| "on-logout".into());
    let cfg = config(Path::new(&dir), &sync);
    let valid = cfg.validate().expect("valid config");
    let mut s = Script::new(&cfg, |clock| {
        let opts = WriterOptions::with_reserve(valid.engine.capacities.journal_reserve(1));
        JournalWriter::create_with(&valid.journal, &cfg.journal_meta(clock), opts).expect("journal")
    });
    let mut out = std::io::stdout().lock();
    loop {
        s.burst();
        // `poll` has returned: every record of the burst is published.
        writeln!(out, "{}", s.engine.sink().next_seq() - 1).unwrap();
        out.flush().unwrap();
    }
}

#[test]
fn sigkill_of_an_engine_mid_burst_loses_nothing_published() {
    let exe = std::env::current_exe().unwrap();
    let mut rng = fastrand::Rng::with_seed(0x5eed);
    let mut torn_tails = 0;
    let mut max_records = 0;
    for round in 0..24 {
        let dir = tempfile::tempdir().unwrap();
        let sync = ["none", "on-logout", "5"][round % 3];
        let mut child = Command::new(&exe)
            .args(["--exact", "crash_child", "--nocapture", "--test-threads=1"])
            .env(CHILD_ENV, dir.path())
            .env("OMS_CRASH_SYNC", sync)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let stdout = child.stdout.take().unwrap();
        let (tx, rx) = std::sync::mpsc::channel::<u64>();
        let reader = std::thread::spawn(move || {
            let mut max = 0;
            for line in std::io::BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if let Ok(seq) = line.trim().parse::<u64>() {
                    max = seq;
                    let _ = tx.send(seq);
                }
            }
            max
        });
        // Wait until the child is writing, then let it run a random while before the kill.
        rx.recv_timeout(Duration::from_secs(120)).expect("child never reported a record");
        let run_for = Duration::from_micros(rng.u64(0..80_000));
        let start = Instant::now();
        while start.elapsed() < run_for {
            std::hint::spin_loop();
        }
        // SAFETY: plain syscall on a pid we spawned and have not waited for yet.
        let rc = unsafe { libc::kill(child.id() as libc::pid_t, libc::SIGKILL) };
        assert_eq!(rc, 0);
        let status = child.wait().unwrap();
        assert_eq!(std::os::unix::process::ExitStatusExt::signal(&status), Some(libc::SIGKILL));
        let reported = reader.join().unwrap();

        let cfg = config(dir.path(), sync);
        let base = cfg.journal.path.clone();
        let j = Journal::open(&base).unwrap();
        let report = j.verify();
        assert!(report.is_sound(), "round {round} ({sync}): {:?}", report.error);
        let last = report.last_good.as_ref().map(|l| l.seq).unwrap_or(0);
        assert!(last >= reported, "round {round}: last good {last} < reported {reported}");
        assert_eq!(report.records, last, "round {round}: gaps");
        assert_eq!(report.first_seq, Some(1));
        assert!(!report.closed);
        assert_eq!(report.dropped, 0);
        if let Some(t) = &report.torn_tail {
            assert_eq!(t.seq, last + 1, "round {round}: the torn record is the one after the last good");
            torn_tails += 1;
        }
        max_records = max_records.max(last);

        // The same script over memory gives the same records: those in the journal are intact.
        let mut expected = Script::new(&cfg, |_| MemorySink::with_capacity(0));
        while (expected.engine.sink().events().len() as u64) < last {
            expected.burst();
        }
        for (i, r) in j.records().enumerate() {
            let r = r.unwrap();
            assert_eq!(r, expected.engine.sink().events()[i], "round {round}: record {} differs", i + 1);
        }

        let oms = env!("CARGO_BIN_EXE_oms");
        let o = Command::new(oms).args(["verify"]).arg(&base).output().unwrap();
        assert_eq!(o.status.code(), Some(0), "round {round}: {}", String::from_utf8_lossy(&o.stdout));
        let o = Command::new(oms).args(["decode", "--format", "csv"]).arg(&base).output().unwrap();
        assert_eq!(o.status.code(), Some(0), "round {round}: {}", String::from_utf8_lossy(&o.stderr));
        assert_eq!(o.stdout.iter().filter(|&&b| b == b'\n').count() as u64, last + 1);
    }
    assert!(max_records > 2 * 4032, "the runs never rolled over: longest {max_records} records");
    eprintln!("24 kills: {torn_tails} left an unpublished (torn) record; longest run {max_records} records");
}
