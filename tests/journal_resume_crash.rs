//! Crash test of `JournalWriter::resume`: a child process (this test binary, re-invoked) resumes
//! the journal (or creates it the first time) and appends records in bursts over small segments
//! (a roll-over every 4032 records, segments prepared ahead), reporting the last published
//! sequence number after each burst; the parent SIGKILLs it at 30 random moments (a quarter of
//! them while it starts: creating, verifying, resuming, preparing), under each sync policy in
//! turn, and each next child resumes the same journal. Each record's content is a function of
//! its sequence number, so after every kill the parent checks the whole journal: sound, never
//! closed, records 1..L without a gap with L at least every number reported so far, each as
//! written, a torn tail only at L + 1. A last child resumes it, appends and closes it cleanly.

mod journal_common;

use std::io::{BufRead, Write};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use journal_common::{SMALL_SEGMENT, config, event, journal, meta};
use oms::EventSink;
use oms::journal::{Journal, JournalSettings, JournalWriter, SyncPolicy, WriterOptions};

const CHILD_ENV: &str = "OMS_RESUME_CRASH_CHILD";
const SEGMENT: u64 = 4 * SMALL_SEGMENT; // 4032 records
const ROUNDS: usize = 30;
/// Records per burst.
const BURST: u64 = 64;

fn settings(base: &Path, sync: SyncPolicy) -> JournalSettings {
    journal(&config(base, SEGMENT, sync))
}

fn sync_policy(name: &str) -> SyncPolicy {
    match name {
        "none" => SyncPolicy::None,
        "on-logout" => SyncPolicy::OnLogout,
        _ => SyncPolicy::IntervalMs(5.try_into().expect("non-zero")),
    }
}

/// In the child: resume the journal (create it if there is none), append bursts of records,
/// report the last published seq after each, idle 1 ms in between (the writer's housekeeping
/// runs there, as in the engine's idle turns). With `$OMS_RESUME_CRASH_LAST` set, append that
/// many records and close.
#[test]
fn resume_crash_child() {
    let Ok(base) = std::env::var(CHILD_ENV) else { return };
    let base = Path::new(&base);
    let sync = sync_policy(&std::env::var("OMS_RESUME_CRASH_SYNC").expect("sync"));
    let s = settings(base, sync);
    let opts = WriterOptions { reserve_records: 256, ..WriterOptions::default() };
    let mut w = if base.exists() {
        JournalWriter::resume(&s, opts).expect("resume")
    } else {
        let c = config(base, SEGMENT, sync);
        JournalWriter::create_with(&s, &meta(&c), opts).expect("create")
    };
    let last: Option<u64> = std::env::var("OMS_RESUME_CRASH_LAST").ok().map(|n| n.parse().expect("n"));
    let mut out = std::io::stdout().lock();
    let mut written = 0;
    while last.is_none_or(|n| written < n) {
        for _ in 0..BURST {
            if !w.takes_requests() {
                w.prepare(0).expect("journal space");
            }
            let seq = w.next_seq();
            w.record(&event(seq));
            written += 1;
        }
        writeln!(out, "{}", w.next_seq() - 1).expect("report");
        out.flush().expect("report");
        let idle = Instant::now() + Duration::from_millis(1);
        while Instant::now() < idle {
            if !w.housekeep() {
                std::thread::sleep(Duration::from_micros(100));
            }
        }
    }
    w.close().expect("close");
}

/// Checks the whole journal: sound, 1..=L as written, a torn tail only at L + 1; returns L.
fn check(base: &Path, what: &str) -> (u64, bool) {
    let j = Journal::open(base).unwrap_or_else(|e| panic!("{what}: {e}"));
    let report = j.verify();
    assert!(report.is_sound(), "{what}: {:?}", report.error);
    let last = report.last_good.as_ref().map_or(0, |g| g.seq);
    assert_eq!(report.records, last, "{what}: gaps");
    assert_eq!(report.dropped, 0, "{what}");
    if let Some(t) = &report.torn_tail {
        assert_eq!(t.seq, last + 1, "{what}: the torn record is the one after the last good");
    }
    for (i, r) in j.records().enumerate() {
        let r = r.unwrap_or_else(|e| panic!("{what}: {e}"));
        assert_eq!(r, event(i as u64 + 1), "{what}: record {} differs", i + 1);
    }
    (last, report.closed)
}

fn child(base: &Path, sync: &str) -> Command {
    let mut c = Command::new(std::env::current_exe().expect("test binary"));
    c.args(["--exact", "resume_crash_child", "--nocapture", "--test-threads=1"])
        .env(CHILD_ENV, base)
        .env("OMS_RESUME_CRASH_SYNC", sync);
    c
}

#[test]
fn sigkill_while_appending_and_resuming_loses_nothing_published() {
    let dir = tempfile::tempdir().expect("tempdir");
    let base = dir.path().join("oms.journal");
    let mut rng = fastrand::Rng::with_seed(0x7e5_0e5e);
    let (mut reported, mut before) = (0u64, 0u64);
    let (mut torn, mut early) = (0, 0);
    for round in 0..ROUNDS {
        let sync = ["none", "on-logout", "5"][round % 3];
        let what = format!("round {round} ({sync})");
        let mut c = child(&base, sync);
        let mut proc = c.stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().expect("child");
        let stdout = proc.stdout.take().expect("stdout");
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
        if rng.u8(0..4) == 0 {
            // While it starts (the resume itself, or before).
            std::thread::sleep(Duration::from_micros(rng.u64(0..30_000)));
            early += 1;
        } else {
            rx.recv_timeout(Duration::from_secs(120))
                .unwrap_or_else(|_| panic!("{what}: the child never reported a record"));
            std::thread::sleep(Duration::from_micros(rng.u64(0..80_000)));
        }
        // SAFETY: plain syscall on a pid we spawned and have not waited for yet.
        let rc = unsafe { libc::kill(proc.id() as libc::pid_t, libc::SIGKILL) };
        assert_eq!(rc, 0);
        let out = proc.wait_with_output().expect("wait");
        let signal = std::os::unix::process::ExitStatusExt::signal(&out.status);
        assert_eq!(signal, Some(libc::SIGKILL), "{what}: {}", String::from_utf8_lossy(&out.stderr));
        reported = reported.max(reader.join().expect("reader"));
        if !base.exists() {
            assert_eq!(reported, 0, "{what}: killed before the journal was made");
            continue;
        }
        let (last, closed) = check(&base, &what);
        assert!(!closed, "{what}: a killed writer leaves the journal open");
        assert!(
            last >= reported.max(before),
            "{what}: last good {last} < reported {reported} / before {before}"
        );
        torn += usize::from(Journal::open(&base).expect("journal").verify().torn_tail.is_some());
        before = last;
    }

    // The last run resumes, appends and closes.
    let out = child(&base, "on-logout").env("OMS_RESUME_CRASH_LAST", "1000").output().expect("last child");
    assert!(out.status.success(), "last run: {}", String::from_utf8_lossy(&out.stderr));
    let (last, closed) = check(&base, "after the last run");
    assert!(closed, "closed cleanly");
    assert!(last >= before + 1000, "{last} < {before} + 1000");
    let segments = Journal::open(&base).expect("journal").segments().count();
    eprintln!(
        "{ROUNDS} kills ({early} while starting): {torn} left a torn record; {last} records in {segments} segments"
    );
    assert!(segments > 3, "the runs never rolled over: {segments} segments");
    let o = journal_common::oms(&["verify".as_ref(), base.as_os_str()]);
    assert_eq!(o.status.code(), Some(0), "{}", String::from_utf8_lossy(&o.stdout));
}
