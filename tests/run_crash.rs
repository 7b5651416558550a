//! `kill -9` of `oms run` at random moments under load, each followed by a restart on the same
//! journal: 12 kills with a token-bucket throttle and 12 with a sliding window (20 orders/s,
//! burst 60), orders fed on standard input faster than the throttle lets them out (a deep
//! queue), with modifies and cancels in flight. Across all runs of a journal: every New order
//! that was accepted (has a record) ends exactly once (sent, cancelled or rejected), none is
//! sent twice, the orders queued at each restart go out in their original order, the throttle
//! bound holds over the whole journal including each restart (`oms audit`), sequence numbers
//! have no gaps and `oms verify` exits 0. Every wait has a deadline.
//!
//! The restarts come faster than the bucket refills (60 tokens take 3 s; from the kill to the
//! `recovered` record takes 0.1–1.6 s here, debug build and checks included), so a restart that
//! forgot the sends before an earlier restart would send a bucket the exchange never granted,
//! and the audit would see it. (At 200/s with a burst of 4 the bucket was full again 20 ms
//! after any crash, whatever the restart remembered.) `two_quick_kills_*` replays the sequence
//! that first showed it: two kills in a row at 5/s.

use std::collections::HashMap;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use oms::journal::Journal;
use oms::recovery::StateBuilder;
use oms::{Config, EventKind as K, EventRecord, RequestType};

const OMS: &str = env!("CARGO_BIN_EXE_oms");
const KILLS: usize = 12;

/// A config whose UTC window is open now (for two hours), a throttle of `rate` orders/s with a
/// `burst` that binds, and an exchange that answers in 0.1–0.9 s: a sliding window sends its
/// orders of a second in one burst as each second frees up, so with round trips of tens of ms a
/// kill mostly finds nothing in flight; with these, nearly always some.
fn write_config(dir: &Path, sliding: bool, rate: u32, burst: u32) -> PathBuf {
    let now = jiff::Timestamp::now();
    let tod =
        |t: jiff::Timestamp| t.to_zoned(jiff::tz::TimeZone::UTC).time().strftime("%H:%M:%S").to_string();
    let mode = if sliding { "sliding-window" } else { "token-bucket" };
    let text = format!(
        "[session]\nusername = \"trader\"\npassword = \"crash-test-secret\"\ntimezone = \"UTC\"\n\
         start = \"{}\"\nend = \"{}\"\n\
         [throttle]\nmode = \"{mode}\"\nmax_orders_per_sec = {rate}\nburst = {burst}\n\
         [journal]\nsegment_bytes = 1048576\nsync = \"none\"\n\
         [engine]\nidle = \"park\"\npark_max_us = 200\nring_capacity = 4096\nmax_queued_orders = 65536\n\
         max_in_flight = 4096\n\
         [exchange]\nlatency_min_us = 100000\nlatency_max_us = 900000\nreject_ratio = 0.05\n",
        tod(now - jiff::SignedDuration::from_hours(1)),
        tod(now + jiff::SignedDuration::from_hours(1)),
    );
    let path = dir.join(format!("{mode}.toml"));
    std::fs::write(&path, text).expect("write config");
    path
}

/// The fold `oms run` restarts with, for the engine `config` describes.
fn fold_model(config: &Path) -> StateBuilder {
    let valid = Config::load_valid(config).expect("config");
    StateBuilder::new(&valid.engine.session.window, &valid.engine.throttle)
}

/// The committed records of a closed journal, or of one whose writer was killed (a torn tail
/// is not an error; corruption is).
fn records(path: &Path) -> Vec<EventRecord> {
    let j = Journal::open(path).expect("journal");
    j.records().collect::<Result<_, _>>().expect("no corruption")
}

/// The records of a live journal so far; `None` while it cannot be read in one piece (not
/// created yet, or a segment appearing or going away as the writer starts): look again.
fn records_now(path: &Path) -> Option<Vec<EventRecord>> {
    Journal::open(path).ok()?.records().collect::<Result<_, _>>().ok()
}

/// `oms run` on `journal`; its stderr is drained by a thread (kept for messages).
struct Run {
    child: Child,
    stderr: JoinHandle<String>,
}

/// What `oms run` is fed.
#[derive(Clone, Copy)]
enum Orders<'a> {
    None,
    Stdin,
    File(&'a Path),
}

fn start(config: &Path, journal: &Path, orders: Orders) -> Run {
    let mut c = Command::new(OMS);
    c.arg("run").arg("--config").arg(config).arg("--journal").arg(journal);
    match orders {
        Orders::None => {}
        Orders::Stdin => {
            c.args(["--orders", "-", "--producers", "2"]).stdin(Stdio::piped());
        }
        Orders::File(f) => {
            c.arg("--orders").arg(f);
        }
    }
    let mut child = c.stdout(Stdio::null()).stderr(Stdio::piped()).spawn().expect("oms run");
    let mut err = child.stderr.take().expect("stderr");
    let stderr = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = err.read_to_string(&mut s);
        s
    });
    Run { child, stderr }
}

impl Run {
    /// Panics (with its stderr) if the process has exited.
    fn assert_running(&mut self, what: &str) {
        if let Some(status) = self.child.try_wait().expect("wait") {
            let err = std::mem::replace(&mut self.stderr, std::thread::spawn(String::new));
            panic!("{what}: oms run exited ({status}):\n{}", err.join().unwrap_or_default());
        }
    }

    /// Waits (at most 60 s) for the process to exit; its status and stderr.
    fn wait(mut self, what: &str) -> (std::process::ExitStatus, String) {
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            if let Some(status) = self.child.try_wait().expect("wait") {
                return (status, self.stderr.join().unwrap_or_default());
            }
            if Instant::now() >= deadline {
                let _ = self.child.kill();
                panic!("{what}: oms run still running after 60 s");
            }
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    fn signal(&self, signal: libc::c_int) {
        // SAFETY: a plain syscall on the pid of a child we spawned and have not waited for.
        let rc = unsafe { libc::kill(self.child.id() as libc::pid_t, signal) };
        assert_eq!(rc, 0, "kill");
    }
}

/// The `k`-th New order of a flow whose ids start at `first_id` (`at` is its `@ms`), with a
/// modify of an order three before it every 7th, and a cancel of one five before it every 11th.
fn flow_lines(first_id: u64, k: u64, at: u64) -> String {
    let id = first_id + k;
    let mut lines = format!(
        "@{at} new id={id} sym=7 side={} px={} qty={} p={}\n",
        if k.is_multiple_of(2) { 'B' } else { 'S' },
        100 + k % 9,
        1 + k % 5,
        k % 2
    );
    if k % 7 == 6 {
        let m = id - 3;
        lines += &format!("@{at} modify id={m} px=99.5 qty=9 p={}\n", (m - first_id) % 2);
    }
    if k % 11 == 10 {
        let c = id - 5;
        lines += &format!("@{at} cancel id={c} p={}\n", (c - first_id) % 2);
    }
    lines
}

/// Writes orders to the run's standard input, about one line every `every` (more than twice
/// what the throttle lets out), until told to stop or the pipe breaks (the process died).
fn feed(mut stdin: ChildStdin, first_id: u64, every: Duration, stop: Arc<AtomicBool>) -> JoinHandle<u64> {
    std::thread::spawn(move || {
        let mut k = 0u64;
        while !stop.load(Ordering::Relaxed) {
            let lines = flow_lines(first_id, k, 0);
            if stdin.write_all(lines.as_bytes()).and_then(|()| stdin.flush()).is_err() {
                break;
            }
            k += 1;
            std::thread::sleep(every);
        }
        k
    })
}

/// Waits (at most 60 s) until `ready` holds over the journal's records.
fn wait_for(run: &mut Run, journal: &Path, what: &str, ready: impl Fn(&[EventRecord]) -> bool) {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        run.assert_running(what);
        if records_now(journal).is_some_and(|ev| ready(&ev)) {
            return;
        }
        assert!(Instant::now() < deadline, "{what}: not within 60 s");
        std::thread::sleep(Duration::from_millis(10));
    }
}

fn kill_and_restart(sliding: bool, seed: u64) {
    let dir = tempfile::tempdir().expect("tempdir");
    let config = write_config(dir.path(), sliding, 20, 60);
    let journal = dir.path().join("oms.journal");
    let mut rng = fastrand::Rng::with_seed(seed);
    for round in 0..KILLS {
        let mut run = start(&config, &journal, Orders::Stdin);
        let stop = Arc::new(AtomicBool::new(false));
        let first_id = (round as u64 + 1) * 1_000_000;
        let stdin = run.child.stdin.take().expect("stdin");
        let feeder = feed(stdin, first_id, Duration::from_millis(10), stop.clone());
        // Under load: this run has restored the journal and taken orders of its own.
        let what = format!("round {round}");
        wait_for(&mut run, &journal, &what, |ev| {
            ev.iter().filter(|r| r.kind == K::Recovered).count() == round
                && ev.iter().any(|r| r.order_id >= first_id && r.order_id < first_id + 1_000_000)
        });
        std::thread::sleep(Duration::from_millis(rng.u64(20..400)));
        run.signal(libc::SIGKILL);
        let (status, _) = run.wait(&what);
        assert_eq!(std::os::unix::process::ExitStatusExt::signal(&status), Some(libc::SIGKILL), "{what}");
        stop.store(true, Ordering::Relaxed);
        let _ = feeder.join();
        let report = Journal::open(&journal).expect("journal").verify();
        assert!(report.is_sound(), "{what}: {:?}", report.error);
        assert!(!report.closed, "{what}: a killed run leaves the journal open");
    }

    // A last run, without orders: it recovers, drains the queue at the throttle's pace, and
    // stops cleanly on SIGTERM.
    let mut run = start(&config, &journal, Orders::None);
    wait_for(&mut run, &journal, "the last run", |ev| {
        let Some(k) = ev.iter().rposition(|r| r.kind == K::Recovered) else { return false };
        let mut model = fold_model(&config);
        ev.iter().for_each(|r| model.push(r));
        ev.iter().filter(|r| r.kind == K::Recovered).count() == KILLS && k > 0 && model.queued_len() == 0
    });
    run.signal(libc::SIGTERM);
    let (status, err) = run.wait("the last run");
    assert_eq!(status.code(), Some(0), "{err}");

    check_journal(&journal, &config, KILLS);
}

/// `oms verify` and `oms audit` pass on the closed journal.
fn assert_verify_and_audit(journal: &Path, config: &Path) {
    let verify = Command::new(OMS).arg("verify").arg(journal).output().expect("oms verify");
    let text = String::from_utf8_lossy(&verify.stdout).into_owned();
    assert_eq!(verify.status.code(), Some(0), "{text}");
    assert!(text.contains("closed cleanly"), "{text}");
    let audit =
        Command::new(OMS).arg("audit").arg(journal).arg("--config").arg(config).output().expect("audit");
    assert_eq!(audit.status.code(), Some(0), "{}", String::from_utf8_lossy(&audit.stdout));
}

/// The checks over the whole journal (every run of it), after `kills` kills.
fn check_journal(journal: &Path, config: &Path, kills: usize) {
    assert_verify_and_audit(journal, config);

    let ev = records(journal);
    // Sequence numbers 1..n without a gap.
    assert!(ev.iter().enumerate().all(|(i, r)| r.seq == i as u64 + 1), "sequence numbers have gaps");
    let restarts: Vec<(u64, u64)> =
        ev.iter().filter(|r| r.kind == K::Recovered).map(|r| (r.qty, r.order_id)).collect();
    eprintln!("{} records; restarts restored (queued, in flight): {restarts:?}", ev.len());
    let gaps: Vec<i64> = ev
        .windows(2)
        .filter(|w| w[1].kind == K::Recovered)
        .map(|w| (w[1].time_ns - w[0].time_ns) / 1_000_000)
        .collect();
    eprintln!("from each run's last record to the next one's `recovered`, ms: {gaps:?}");
    assert_eq!(restarts.len(), kills);
    assert!(restarts.iter().filter(|r| r.0 > 0).count() >= kills / 2, "most kills left a queue to restore");
    assert!(restarts.iter().any(|r| r.1 > 0), "some kills left orders in flight");

    // Every accepted New ends exactly once; none is sent twice; every sent order is answered or
    // unanswered exactly once. (Ids are never reused: each run has its own range.)
    #[derive(Default)]
    struct Fate {
        accepted: bool,
        sent: u32,
        cancelled: u32,
        rejected: u32,
        responses: u32,
        unanswered: u32,
    }
    let mut fates: HashMap<u64, Fate> = HashMap::new();
    for r in &ev {
        let new_fate = matches!(r.kind, K::Queued | K::Sent | K::Cancelled | K::Response | K::Unanswered)
            || (r.kind == K::Rejected && r.request == RequestType::New);
        if !new_fate {
            continue;
        }
        let f = fates.entry(r.order_id).or_default();
        match r.kind {
            K::Queued => f.accepted = true,
            K::Sent => {
                f.accepted = true;
                f.sent += 1;
            }
            K::Cancelled => f.cancelled += 1,
            K::Rejected => {
                f.accepted = true;
                f.rejected += 1;
            }
            K::Response => f.responses += 1,
            _ => f.unanswered += 1,
        }
    }
    for (id, f) in &fates {
        if !f.accepted {
            continue;
        }
        assert_eq!(
            f.sent + f.cancelled + f.rejected,
            1,
            "order {id}: sent {}, cancelled {}, rejected {}",
            f.sent,
            f.cancelled,
            f.rejected
        );
        // A sent order has one first answer, or none and is unanswered at a session's end; an
        // accepted one may be unanswered too (working when a session ended: the simulated
        // exchange of a new process knows nothing of it). `oms audit` checks the rest.
        assert!(
            f.responses <= f.sent && f.unanswered <= f.sent && f.responses + f.unanswered >= f.sent,
            "order {id}: sent {} times, answered {} times, unanswered {} times",
            f.sent,
            f.responses,
            f.unanswered
        );
    }

    // At each restart, the restored queue goes out in its original order.
    for (k, r) in ev.iter().enumerate().filter(|(_, r)| r.kind == K::Recovered) {
        let mut model = fold_model(config);
        ev[..k].iter().for_each(|r| model.push(r));
        let state = model.finish();
        assert_eq!((r.qty, r.order_id), (state.queued.len() as u64, state.open.len() as u64));
        let restored: Vec<u64> = state.queued.iter().map(|q| q.order.order_id).collect();
        let rank: HashMap<u64, usize> = restored.iter().enumerate().map(|(i, id)| (*id, i)).collect();
        let sent_ranks: Vec<usize> = ev[k..]
            .iter()
            .filter(|r| r.kind == K::Sent)
            .filter_map(|r| rank.get(&r.order_id).copied())
            .collect();
        assert!(
            sent_ranks.windows(2).all(|w| w[0] < w[1]),
            "restart at seq {}: restored orders sent out of order",
            r.seq
        );
    }
}

#[test]
fn kill_9_and_restart_loses_nothing_token_bucket() {
    kill_and_restart(false, 0x0b5e55ed);
}

#[test]
fn kill_9_and_restart_loses_nothing_sliding_window() {
    kill_and_restart(true, 0x5eed_c0de);
}

/// The README's demonstration: `oms run --orders FILE`, `kill -9` in the middle of the flow,
/// the same command again. The second run hands over only what the first had not handed over
/// and the engine had not taken, so across both every line of the file is taken exactly once
/// (a New, a modify and a cancel each answered once), every New ends once, nothing is sent
/// twice, no `duplicate_order_id`; plus every check over the whole journal as above.
#[test]
fn kill_9_mid_flow_then_the_same_command_again() {
    let dir = tempfile::tempdir().expect("tempdir");
    let config = write_config(dir.path(), false, 200, 4);
    let journal = dir.path().join("oms.journal");
    // 1500 orders in 3 s against 200/s: a queue still deep when the file ends.
    const N: u64 = 1500;
    let flow: String = (0..N).map(|k| flow_lines(1, k, 2 * k)).collect();
    let orders = dir.path().join("flow.txt");
    std::fs::write(&orders, &flow).expect("orders");
    let count = |verb: &str| flow.lines().filter(|l| l.split(' ').nth(1) == Some(verb)).count();

    let mut run = start(&config, &journal, Orders::File(&orders));
    wait_for(&mut run, &journal, "the first run", |ev| ev.iter().filter(|r| r.kind == K::Sent).count() >= 50);
    let mut rng = fastrand::Rng::with_seed(0xf10e);
    std::thread::sleep(Duration::from_millis(rng.u64(200..2500)));
    run.signal(libc::SIGKILL);
    let (status, _) = run.wait("the first run");
    assert_eq!(std::os::unix::process::ExitStatusExt::signal(&status), Some(libc::SIGKILL));
    let taken_before = records(&journal).len();

    let mut run = start(&config, &journal, Orders::File(&orders));
    wait_for(&mut run, &journal, "the second run", |ev| {
        let mut model = fold_model(&config);
        ev.iter().for_each(|r| model.push(r));
        let news: std::collections::HashSet<u64> =
            ev.iter().filter(|r| r.request == RequestType::New).map(|r| r.order_id).collect();
        ev.iter().any(|r| r.kind == K::Recovered) && news.len() as u64 == N && model.queued_len() == 0
    });
    run.signal(libc::SIGTERM);
    let (status, err) = run.wait("the second run");
    assert_eq!(status.code(), Some(0), "{err}");
    assert!(err.contains("the journal shows taken are not handed over again"), "{err}");
    check_journal(&journal, &config, 1);

    let ev = records(&journal);
    assert!(ev.len() > taken_before);
    assert!(
        !ev.iter().any(|r| r.reason == Some(oms::RejectReason::DuplicateOrderId)),
        "a line handed over twice"
    );
    let answered = |request: RequestType, kinds: &[K]| {
        ev.iter().filter(|r| r.request == request && kinds.contains(&r.kind)).count()
    };
    assert_eq!(
        answered(RequestType::Modify, &[K::Modified, K::Rejected]),
        count("modify"),
        "each modify once"
    );
    assert_eq!(
        answered(RequestType::Cancel, &[K::Cancelled, K::Rejected]),
        count("cancel"),
        "each cancel once"
    );
    let sent: Vec<u64> = ev.iter().filter(|r| r.kind == K::Sent).map(|r| r.order_id).collect();
    let unique: std::collections::HashSet<u64> = sent.iter().copied().collect();
    assert_eq!(unique.len(), sent.len(), "an order sent twice");
}

/// The sequence that broke the throttle after a second crash, as it was reported: a window
/// opening 3 s from now for 19 s, 5 orders/s with a burst of 5, 60 New orders 5 ms apart from
/// 0.5 s into the window with a modify and a cancel (a queue that drains for 12 s); `kill -9`
/// 4 s into the window, a restart on `--orders /dev/null` killed after 5 s, a last restart
/// with `--once` that drains the queue and stops after the logout. Both restarts come
/// within tens of ms, long before the bucket refills (1 s): the second one used to send a
/// full bucket at its logon, and `oms audit` failed.
fn two_quick_kills(sliding: bool) {
    let dir = tempfile::tempdir().expect("tempdir");
    let t0 = jiff::Timestamp::now();
    let open = jiff::Timestamp::from_second(t0.as_second() + 4).expect("time");
    let close = open + jiff::SignedDuration::from_secs(19);
    let tod =
        |t: jiff::Timestamp| t.to_zoned(jiff::tz::TimeZone::UTC).time().strftime("%H:%M:%S").to_string();
    let mode = if sliding { "sliding-window" } else { "token-bucket" };
    let config = dir.path().join("c.toml");
    std::fs::write(
        &config,
        format!(
            "[session]\nusername = \"trader\"\npassword = \"crash-test-secret\"\ntimezone = \"UTC\"\n\
             start = \"{}\"\nend = \"{}\"\n\
             [throttle]\nmode = \"{mode}\"\nmax_orders_per_sec = 5\nburst = 5\n\
             [journal]\nsegment_bytes = 1048576\nsync = \"none\"\n\
             [engine]\nidle = \"park\"\nring_capacity = 1024\nmax_queued_orders = 4096\nmax_in_flight = 1024\n\
             [exchange]\nlatency_min_us = 200\nlatency_max_us = 800\nreject_ratio = 0\n",
            tod(open),
            tod(close)
        ),
    )
    .expect("config");
    // `@ms` counts from the start of the run, which is a moment after t0.
    let open_ms = u64::try_from(open.duration_since(t0).as_millis()).expect("the window opens later");
    let mut flow = String::new();
    for k in 0..60u64 {
        let at = open_ms + 500 + 5 * k;
        flow += &format!("@{at} new id={} sym=7 side=B px=100 qty=1\n", k + 1);
        if k == 30 {
            flow += &format!("@{at} modify id=25 px=99.5 qty=2\n@{at} cancel id=28\n");
        }
    }
    let orders = dir.path().join("flow.txt");
    std::fs::write(&orders, flow).expect("orders");
    let journal = dir.path().join("j");

    let mut run = start(&config, &journal, Orders::File(&orders));
    let into_window = |ms: u64| {
        let until = open + jiff::SignedDuration::from_millis(ms as i64);
        let wait = until.duration_since(jiff::Timestamp::now());
        std::thread::sleep(Duration::try_from(wait).unwrap_or_default());
    };
    into_window(4000);
    run.assert_running("the first run");
    run.signal(libc::SIGKILL);
    let _ = run.wait("the first run");

    let mut run = start(&config, &journal, Orders::File(Path::new("/dev/null")));
    std::thread::sleep(Duration::from_secs(5));
    run.assert_running("the second run");
    run.signal(libc::SIGKILL);
    let (_, err2) = run.wait("the second run");
    let ev = records(&journal);
    assert_eq!(ev.iter().filter(|r| r.kind == K::Recovered).count(), 1, "{err2}");
    let mut model = fold_model(&config);
    ev.iter().for_each(|r| model.push(r));
    assert!(model.queued_len() > 0, "the queue is still deep at the second kill");

    let mut c = Command::new(OMS);
    c.args(["run", "--once", "--orders", "/dev/null", "--config"])
        .arg(&config)
        .arg("--journal")
        .arg(&journal);
    let mut last = c.stdout(Stdio::null()).stderr(Stdio::piped()).spawn().expect("oms run");
    let deadline = Instant::now() + Duration::from_secs(60);
    let status = loop {
        if let Some(status) = last.try_wait().expect("wait") {
            break status;
        }
        if Instant::now() >= deadline {
            let _ = last.kill();
            panic!("the last run (--once) still running 60 s after its start");
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let mut err = String::new();
    let _ = last.stderr.take().map(|mut e| e.read_to_string(&mut err));
    assert_eq!(status.code(), Some(0), "{err}");
    assert_verify_and_audit(&journal, &config);
    let ev = records(&journal);
    assert_eq!(ev.iter().filter(|r| r.kind == K::Recovered).count(), 2);
    let sent: std::collections::HashSet<u64> =
        ev.iter().filter(|r| r.kind == K::Sent).map(|r| r.order_id).collect();
    assert_eq!(sent.len(), 59, "every order but the cancelled one sent, once");
}

#[test]
fn two_quick_kills_keep_the_token_bucket() {
    two_quick_kills(false);
}

#[test]
fn two_quick_kills_keep_the_sliding_window() {
    two_quick_kills(true);
}
