//! Crash test: a child process (this test binary, re-invoked) writes events at full speed into
//! small segments (so it rolls over constantly) and is killed with SIGKILL at random moments,
//! 24 times. After each kill, through the library and through the `oms` binary: the journal
//! verifies, every record the child reported as published is there with the right content,
//! sequence numbers have no gaps, and no torn record is accepted.

mod journal_common;

use std::io::{BufRead, Write};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use journal_common::*;
use oms::EventSink;
use oms::journal::SyncPolicy;
use oms::journal::{Journal, JournalWriter, NextSegment};

const CHILD_ENV: &str = "OMS_JOURNAL_CRASH_CHILD";
const SEGMENT: u64 = 256 * 1024; // 4032 records

/// In the child: write forever, reporting the last published seq every 1000 records.
#[test]
fn crash_child() {
    let Ok(dir) = std::env::var(CHILD_ENV) else { return };
    let base = Path::new(&dir).join("oms.journal");
    let sync = match std::env::var("OMS_CRASH_SYNC").as_deref() {
        Ok("none") => SyncPolicy::None,
        Ok("interval") => SyncPolicy::IntervalMs(1.try_into().unwrap()),
        _ => SyncPolicy::OnLogout,
    };
    let c = config(&base, SEGMENT, sync);
    let mut w = JournalWriter::create(&journal(&c), &meta(&c)).unwrap();
    let mut out = std::io::stdout().lock();
    let mut seq = 0u64;
    loop {
        if !w.has_room() {
            assert_eq!(w.wait_next_segment(Duration::from_secs(60)), NextSegment::Ready);
        }
        seq += 1;
        w.record(&event(seq));
        if seq.is_multiple_of(1000) {
            // `record` has returned: seq is published.
            writeln!(out, "{seq}").unwrap();
            out.flush().unwrap();
            if seq.is_multiple_of(50_000) {
                w.sync();
            }
        }
    }
}

#[test]
fn sigkill_at_random_moments_loses_nothing_published() {
    let exe = std::env::current_exe().unwrap();
    let mut rng = fastrand::Rng::with_seed(0x5eed);
    let mut torn_tails = 0;
    let mut max_records = 0;
    for round in 0..24 {
        let dir = tempfile::tempdir().unwrap();
        let sync = ["none", "on-logout", "interval"][round % 3];
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
        let run_for = Duration::from_micros(rng.u64(0..60_000));
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

        let base = dir.path().join("oms.journal");
        let j = Journal::open(&base).unwrap();
        let report = j.verify();
        assert!(report.is_sound(), "round {round}: {:?}", report.error);
        let last = report.last_good.as_ref().map(|l| l.seq).unwrap_or(0);
        assert!(last >= reported, "round {round}: last good {last} < reported {reported}");
        assert_eq!(report.records, last, "round {round}: gaps");
        assert_eq!(report.first_seq, Some(1));
        assert!(!report.closed);
        torn_tails += usize::from(report.torn_tail.is_some());
        max_records = max_records.max(last);
        for (i, r) in j.records().enumerate() {
            let r = r.unwrap();
            assert_eq!(r, event(i as u64 + 1), "round {round}");
        }

        let oms = env!("CARGO_BIN_EXE_oms");
        let o = Command::new(oms).args(["verify"]).arg(&base).output().unwrap();
        assert_eq!(o.status.code(), Some(0), "round {round}: {}", String::from_utf8_lossy(&o.stderr));
        let o = Command::new(oms).args(["decode", "--format", "csv"]).arg(&base).output().unwrap();
        assert_eq!(o.status.code(), Some(0), "round {round}: {}", String::from_utf8_lossy(&o.stderr));
        assert_eq!(o.stdout.iter().filter(|&&b| b == b'\n').count() as u64, last + 1);
    }
    eprintln!("24 kills: {torn_tails} left an unpublished (torn) record; longest run {max_records} records");
}
