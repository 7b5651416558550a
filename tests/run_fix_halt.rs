//! The kill switch of `oms run` over FIX 4.4 against the QuickFIX acceptor
//! (examples/fix_acceptor.py) on loopback, with a `kill -9` between the halt and its resume.
//!
//! Four orders work at the acceptor; a `halt` line on the run's standard input halts trading.
//! The throttle (1 message a second, burst 1) lets the engine's cancels out one a second, so
//! the run is killed (`SIGKILL`, as soon as the journal holds the `halted` record) with cancels
//! still waiting. The same command again recovers from the journal: still halted, it sends the
//! cancels that were left, refuses a New `halted`, and nothing but cancels reaches the acceptor
//! until a `resume` line; an order after the resume goes out. The acceptor received one cancel
//! for every working order; `oms audit` (its `risk` rule: nothing but cancels between a halt
//! and its resume) and `oms verify` accept the journal of both runs.
//!
//! Real time (the counterparty runs in it): every wait has a deadline and says what it waited
//! for. The check that the restart sent at least one cancel leaves a margin of 3 s: the last of
//! the four cancels is due 3 s after the halt.

mod fix_common;

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use fix_common::{Acceptor, PASSWORD, USER, WAIT, free_port, tempdir};
use oms::journal::Journal;
use oms::{EventKind as K, EventRecord, RejectReason};

const OMS: &str = env!("CARGO_BIN_EXE_oms");

/// `HH:MM:SS` in UTC, `secs` from now.
fn tod(secs: i64) -> String {
    let t = jiff::Timestamp::now() + jiff::SignedDuration::from_secs(secs);
    t.to_zoned(jiff::tz::TimeZone::UTC).time().strftime("%H:%M:%S").to_string()
}

/// A config for the acceptor on `port`: the window opened a minute ago and lasts an hour; one
/// message a second.
fn write_config(dir: &Path, port: u16) -> PathBuf {
    let path = dir.join("oms.toml");
    let text = format!(
        "[session]\nusername = \"{USER}\"\npassword = \"{PASSWORD}\"\ntimezone = \"UTC\"\n\
         start = \"{}\"\nend = \"{}\"\n\
         [throttle]\nmax_orders_per_sec = 1\nburst = 1\n\
         [engine]\nidle = \"park\"\npark_max_us = 200\nring_capacity = 1024\nmax_queued_orders = 1024\n\
         max_in_flight = 1024\n\
         [journal]\nsegment_bytes = 1048576\n\
         [exchange]\nkind = \"fix\"\nhost = \"127.0.0.1\"\nport = {port}\nsender_comp_id = \"OMS\"\n\
         target_comp_id = \"EXCH\"\nheartbeat_secs = 5\nstore = \"{}\"\n\
         [exchange.symbols]\n1 = \"ACME\"\n",
        tod(-60),
        tod(3600),
        dir.join("store").display()
    );
    std::fs::write(&path, text).expect("write config");
    path
}

/// `oms run --orders -` on `journal`, its standard input ours, its stderr drained by a thread.
struct Run {
    child: Child,
    stdin: Option<ChildStdin>,
    stderr: Option<JoinHandle<String>>,
}

impl Run {
    fn start(config: &Path, journal: &Path) -> Run {
        let mut child = Command::new(OMS)
            .args(["run", "--orders", "-", "--config"])
            .arg(config)
            .arg("--journal")
            .arg(journal)
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("oms run");
        let stdin = child.stdin.take();
        let mut err = child.stderr.take().expect("stderr");
        let stderr = std::thread::spawn(move || {
            let mut s = String::new();
            let _ = err.read_to_string(&mut s);
            s
        });
        Run { child, stdin, stderr: Some(stderr) }
    }

    /// Writes orders-input lines (each `@0`: at once).
    fn send(&mut self, lines: &[&str]) {
        let stdin = self.stdin.as_mut().expect("stdin open");
        for l in lines {
            writeln!(stdin, "@0 {l}").expect("write to oms run");
        }
        stdin.flush().expect("flush oms run's stdin");
    }

    /// Panics (with its stderr) if the process has exited.
    fn assert_running(&mut self, what: &str) {
        if let Some(status) = self.child.try_wait().expect("wait") {
            let err = self.stderr.take().map(|h| h.join().unwrap_or_default()).unwrap_or_default();
            panic!("{what}: oms run exited ({status}):\n{err}");
        }
    }

    /// Waits (at most `WAIT`) until `ready` holds over the journal's records; returns them.
    fn wait_for(
        &mut self,
        journal: &Path,
        what: &str,
        ready: impl Fn(&[EventRecord]) -> bool,
    ) -> Vec<EventRecord> {
        let deadline = Instant::now() + WAIT;
        loop {
            self.assert_running(what);
            if let Some(ev) = records_now(journal)
                && ready(&ev)
            {
                return ev;
            }
            assert!(Instant::now() < deadline, "{what}: not within {WAIT:?}:\n{}", dump(&records(journal)));
            std::thread::sleep(Duration::from_millis(5));
        }
    }

    /// `kill -9`, and the wait for the process to be gone (it holds the journal's lock until
    /// then).
    fn kill_9(mut self) {
        self.child.kill().expect("SIGKILL");
        self.child.wait().expect("wait");
    }

    /// SIGTERM, and the wait (at most 60 s) for a clean exit; its stderr.
    fn stop(mut self) -> String {
        // SAFETY: a plain syscall on the pid of a child we spawned and have not waited for.
        let rc = unsafe { libc::kill(self.child.id() as libc::pid_t, libc::SIGTERM) };
        assert_eq!(rc, 0, "kill -TERM");
        let deadline = Instant::now() + Duration::from_secs(60);
        let status = loop {
            if let Some(status) = self.child.try_wait().expect("wait") {
                break status;
            }
            assert!(Instant::now() < deadline, "oms run still running 60 s after SIGTERM");
            std::thread::sleep(Duration::from_millis(10));
        };
        let err = self.stderr.take().map(|h| h.join().unwrap_or_default()).unwrap_or_default();
        assert_eq!(status.code(), Some(0), "{err}");
        err
    }
}

impl Drop for Run {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The records of a live journal so far; `None` while it cannot be read in one piece.
fn records_now(path: &Path) -> Option<Vec<EventRecord>> {
    Journal::open(path).ok()?.records().collect::<Result<_, _>>().ok()
}

fn records(path: &Path) -> Vec<EventRecord> {
    Journal::open(path).expect("journal").records().collect::<Result<_, _>>().expect("sound journal")
}

fn dump(ev: &[EventRecord]) -> String {
    ev.iter().map(|r| format!("{r:?}")).collect::<Vec<_>>().join("\n")
}

fn ids(ev: &[EventRecord], kind: K) -> Vec<u64> {
    ev.iter().filter(|r| r.kind == kind).map(|r| r.order_id).collect()
}

/// The acceptor's ORDER, REPLACE and CANCEL lines, each as (verb, OMS order id).
fn requests_at_the_acceptor(acc: &Acceptor) -> Vec<(String, u64)> {
    let mut out = Vec::new();
    for line in acc.dump().lines() {
        let mut words = line.split(' ');
        let verb = words.next().unwrap_or_default();
        if !["ORDER", "REPLACE", "CANCEL"].contains(&verb) {
            continue;
        }
        // ORDER <ClOrdID> ...; REPLACE / CANCEL <ClOrdID> <OrigClOrdID> ...: the OMS order id is
        // the ClOrdID up to its first '.'.
        let cl = words.next().unwrap_or_default();
        let id = cl.split('.').next().and_then(|s| s.parse().ok()).unwrap_or(u64::MAX);
        out.push((verb.to_string(), id));
    }
    out
}

#[test]
fn a_halt_over_fix_cancels_every_working_order_at_the_acceptor_and_survives_kill_9() {
    let dir = tempdir();
    let mut acc = Acceptor::start(free_port(), &dir.path().join("acceptor"), &[]);
    let config = write_config(dir.path(), acc.port);
    let journal = dir.path().join("oms.journal");

    // First run: four orders working, then the halt; killed with cancels still waiting.
    let mut run = Run::start(&config, &journal);
    acc.expect("LOGON", WAIT);
    run.send(&[
        "new id=1 sym=1 side=B px=100 qty=10",
        "new id=2 sym=1 side=S px=101 qty=20",
        "new id=3 sym=1 side=B px=99.5 qty=30",
        "new id=4 sym=1 side=S px=101.5 qty=40",
    ]);
    run.wait_for(&journal, "four orders working", |ev| {
        (1..=4).all(|id| ev.iter().any(|r| r.kind == K::Response && r.order_id == id))
    });
    run.send(&["halt"]);
    let at_kill = run.wait_for(&journal, "the halt journaled", |ev| ev.iter().any(|r| r.kind == K::Halted));
    run.kill_9();
    let killed = records(&journal);
    let before_restart = ids(&killed, K::CancelSent).len();
    assert!(before_restart < 4, "every cancel went out before the kill:\n{}", dump(&at_kill));

    // The same command again: still halted; the cancels left go out, a New is refused.
    let mut run = Run::start(&config, &journal);
    run.wait_for(&journal, "recovered", |ev| ev.iter().any(|r| r.kind == K::Recovered));
    run.send(&["new id=10 sym=1 side=B px=100 qty=5"]);
    let ev = run.wait_for(&journal, "every working order cancelled", |ev| {
        (1..=4).all(|id| ev.iter().any(|r| r.kind == K::VenueCancelled && r.order_id == id))
            && ev.iter().any(|r| r.order_id == 10 && r.kind == K::Rejected)
    });
    let refused: Vec<_> = ev.iter().filter(|r| r.order_id == 10).map(|r| (r.kind, r.reason)).collect();
    assert_eq!(refused, [(K::Rejected, Some(RejectReason::Halted))], "{}", dump(&ev));
    let mut cancelled = ids(&ev, K::CancelSent);
    assert!(
        cancelled.len() > before_restart,
        "the restart sent the cancels left ({before_restart} before the kill):\n{}",
        dump(&ev)
    );
    cancelled.sort_unstable();
    assert_eq!(cancelled, [1, 2, 3, 4], "one cancel per working order:\n{}", dump(&ev));
    assert!(
        ev.iter().filter(|r| r.kind == K::CancelSent).all(|r| r.producer == u16::MAX),
        "the engine's own cancels"
    );

    // Resumed: an order goes out again; cancelled on request before the stop.
    run.send(&["resume", "new id=11 sym=1 side=B px=100 qty=5"]);
    acc.expect("ORDER 11 ", WAIT);
    run.wait_for(&journal, "order 11 working", |ev| {
        ev.iter().any(|r| r.kind == K::Response && r.order_id == 11)
    });
    run.send(&["cancel id=11"]);
    run.wait_for(&journal, "order 11 cancelled", |ev| {
        ev.iter().any(|r| r.kind == K::VenueCancelled && r.order_id == 11)
    });
    let err = run.stop();
    assert!(!err.contains(PASSWORD), "the password reached stderr");

    // At the acceptor: the four orders, then nothing but their cancels until order 11.
    let seen = requests_at_the_acceptor(&acc);
    let verbs: Vec<(&str, u64)> = seen.iter().map(|(v, id)| (v.as_str(), *id)).collect();
    assert_eq!(&verbs[..4], [("ORDER", 1), ("ORDER", 2), ("ORDER", 3), ("ORDER", 4)], "{}", acc.dump());
    let mut halted_part: Vec<(&str, u64)> = verbs[4..8].to_vec();
    halted_part.sort_unstable();
    assert_eq!(halted_part, [("CANCEL", 1), ("CANCEL", 2), ("CANCEL", 3), ("CANCEL", 4)], "{}", acc.dump());
    assert_eq!(&verbs[8..], [("ORDER", 11), ("CANCEL", 11)], "{}", acc.dump());
    assert_eq!(acc.lines_starting("CANCEL").iter().filter(|l| l.ends_with("canceled")).count(), 5);

    let all = records(&journal);
    let kinds: Vec<K> = all.iter().map(|r| r.kind).collect();
    let halted = kinds.iter().position(|k| *k == K::Halted).expect("halted");
    let resumed = kinds.iter().position(|k| *k == K::Resumed).expect("resumed");
    assert!(
        !all[halted..resumed].iter().any(|r| matches!(r.kind, K::Sent | K::ReplaceSent)),
        "only cancels went out between the halt and the resume:\n{}",
        dump(&all)
    );
    assert_eq!(kinds.iter().filter(|k| **k == K::Halted).count(), 1, "one halt, kept by the restart");
    let audit =
        Command::new(OMS).arg("audit").arg(&journal).arg("--config").arg(&config).output().expect("audit");
    assert_eq!(audit.status.code(), Some(0), "{}", String::from_utf8_lossy(&audit.stdout));
    let verify = Command::new(OMS).arg("verify").arg(&journal).output().expect("verify");
    assert_eq!(verify.status.code(), Some(0), "{}", String::from_utf8_lossy(&verify.stdout));
    let decode = Command::new(OMS).arg("decode").arg(&journal).output().expect("decode");
    let text = String::from_utf8_lossy(&decode.stdout);
    for want in ["halted", "resumed", "recovered", "reason=halted"] {
        assert!(text.contains(want), "oms decode shows {want:?}:\n{text}");
    }
}
