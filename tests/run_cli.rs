//! `oms run` as a process: a short window a couple of seconds from now, orders from a file or
//! standard input, `--once`, SIGTERM; the journal it leaves is audited and verified with the
//! `oms` binary. Every wait has a deadline.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use oms::journal::Journal;
use oms::{EventKind as K, EventRecord, RejectReason as R};

const OMS: &str = env!("CARGO_BIN_EXE_oms");

/// `HH:MM:SS.mmm` in UTC, `secs` from now.
fn tod(secs: f64) -> String {
    let t = jiff::Timestamp::now() + jiff::SignedDuration::from_secs_f64(secs);
    t.to_zoned(jiff::tz::TimeZone::UTC).time().strftime("%H:%M:%S%.3f").to_string()
}

/// Writes a config whose UTC window opens `open` s from now and closes `close` s from now.
fn write_config(dir: &Path, open: f64, close: f64, rate: u32, latency_us: u64) -> PathBuf {
    let path = dir.join("oms.toml");
    let text = format!(
        "[session]\nusername = \"trader\"\npassword = \"run-test-secret\"\ntimezone = \"UTC\"\n\
         start = \"{}\"\nend = \"{}\"\n\
         [throttle]\nmax_orders_per_sec = {rate}\nburst = 2\n\
         [engine]\nidle = \"park\"\npark_max_us = 200\nring_capacity = 1024\nmax_queued_orders = 1024\n\
         max_in_flight = 1024\n\
         [exchange]\nlatency_min_us = {latency_us}\nlatency_max_us = {latency_us}\n\
         [journal]\nsegment_bytes = 1048576\n",
        tod(open),
        tod(close)
    );
    std::fs::write(&path, text).expect("write config");
    path
}

fn records(path: &Path) -> Vec<EventRecord> {
    Journal::open(path).expect("journal").records().collect::<Result<_, _>>().expect("sound journal")
}

/// Waits (at most `secs`) for `child` to exit; its output.
fn wait(mut child: Child, secs: u64, what: &str) -> Output {
    let deadline = Instant::now() + Duration::from_secs(secs);
    while child.try_wait().expect("wait").is_none() {
        if Instant::now() >= deadline {
            let _ = child.kill();
            let out = child.wait_with_output().expect("output");
            panic!("{what} still running after {secs} s; stderr:\n{}", String::from_utf8_lossy(&out.stderr));
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    child.wait_with_output().expect("output")
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// `oms run --config CONFIG --journal JOURNAL`, output captured.
fn run(config: &Path, journal: &Path) -> Command {
    let mut c = Command::new(OMS);
    c.arg("run").arg("--config").arg(config).arg("--journal").arg(journal);
    c.stdout(Stdio::piped()).stderr(Stdio::piped());
    c
}

/// `oms audit` and `oms verify` on a journal: both exit 0, and verify says it was closed.
fn assert_audited_and_verified(journal: &Path, config: &Path) {
    let audit =
        Command::new(OMS).arg("audit").arg(journal).arg("--config").arg(config).output().expect("audit");
    assert_eq!(audit.status.code(), Some(0), "{}", String::from_utf8_lossy(&audit.stdout));
    let verify = Command::new(OMS).arg("verify").arg(journal).output().expect("verify");
    let text = String::from_utf8_lossy(&verify.stdout);
    assert_eq!(verify.status.code(), Some(0), "{text}");
    assert!(text.contains("closed cleanly"), "{text}");
}

#[test]
fn a_short_window_runs_once_end_to_end() {
    let dir = tempfile::tempdir().expect("tempdir");
    let config = write_config(dir.path(), 2.0, 4.5, 5, 300);
    let orders = dir.path().join("flow.txt");
    let mut flow = vec!["@0 new id=1 sym=7 side=B px=100 qty=10   # before the window opens".to_string()];
    for id in 2..=12 {
        flow.push(format!("@{} new id={id} sym=7 side=S px=101.5 qty=5 p={}", 2300 + id * 10, id % 2));
    }
    flow.push("@2500 modify id=10 px=99 qty=7 p=0".into());
    flow.push("@2510 cancel id=11 p=1".into());
    flow.push("@2600 advance".into());
    std::fs::write(&orders, flow.join("\n") + "\n").expect("orders");
    let journal = dir.path().join("oms.journal");

    let child = run(&config, &journal).arg("--orders").arg(&orders).arg("--once").spawn().expect("oms run");
    let out = wait(child, 60, "oms run --once");
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(0), "{err}");
    assert!(err.lines().any(|l| l.starts_with("oms run: ") && l.contains("| sent ")), "a status line: {err}");
    assert!(err.contains("journal closed"), "{err}");

    let ev = records(&journal);
    let of = |k: K| ev.iter().filter(move |r| r.kind == k);
    assert_eq!(of(K::Rejected).find(|r| r.order_id == 1).and_then(|r| r.reason), Some(R::OutsideWindow));
    assert_eq!(of(K::Logon).count(), 1);
    assert_eq!(of(K::Logout).count(), 1, "--once stops after the window's logout");
    assert!(of(K::Sent).count() >= 2, "the burst goes out");
    let sent10 = of(K::Sent).find(|r| r.order_id == 10).map(|r| (r.price, r.qty));
    assert!(sent10.is_none() || sent10 == Some((99.0, 7)), "order 10 goes out modified: {sent10:?}");
    assert!(ev.iter().all(|r| r.kind != K::Sent || r.order_id != 11), "order 11 was cancelled");
    assert!(ev.iter().any(|r| r.producer == 1), "p=1 has its own ring");
    assert_audited_and_verified(&journal, &config);
}

#[test]
fn a_malformed_orders_file_is_named_and_nothing_starts() {
    let dir = tempfile::tempdir().expect("tempdir");
    let config = write_config(dir.path(), 1.0, 60.0, 5, 300);
    let journal = dir.path().join("oms.journal");
    for (text, line, what) in [
        ("@0 new id=1 sym=1 side=B px=1 qty=1\n\n@5 new id=2 sym=1 side=B px=1\n", 3, "missing qty"),
        ("@0 new id=1 sym=1 side=B px=1 qty=1\n@1 response id=1 accept\n", 2, "the exchange answers"),
        ("@0 new id=1 sym=1 side=B px=1 qty=1 p=1\n@1 cancel id=1 p=2\n", 2, "--producers"),
    ] {
        let orders = dir.path().join("bad.txt");
        std::fs::write(&orders, text).expect("orders");
        let mut c = run(&config, &journal);
        c.arg("--orders").arg(&orders).arg("--once");
        if what == "--producers" {
            c.args(["--producers", "2"]);
        }
        let out = wait(c.spawn().expect("oms run"), 30, "oms run with a bad file");
        let err = stderr(&out);
        assert_eq!(out.status.code(), Some(2), "{err}");
        assert!(err.contains(&format!("bad.txt:{line}: ")) && err.contains(what), "{err}");
        assert!(!journal.exists(), "nothing starts: no journal");
    }
}

#[test]
fn a_malformed_line_on_standard_input_ends_the_input_there() {
    let dir = tempfile::tempdir().expect("tempdir");
    let config = write_config(dir.path(), -60.0, 6.0, 100, 300);
    let journal = dir.path().join("oms.journal");
    let mut child = run(&config, &journal)
        .args(["--orders", "-", "--once"])
        .stdin(Stdio::piped())
        .spawn()
        .expect("oms run");
    let mut stdin = child.stdin.take().expect("stdin");
    stdin.write_all(b"@0 new id=1 sym=1 side=B px=10 qty=1\n# a comment\n").expect("write");
    // The first line is taken before the bad one arrives.
    let deadline = Instant::now() + Duration::from_secs(30);
    while !journal.exists() || records(&journal).iter().all(|r| r.order_id != 1 || r.kind != K::Sent) {
        assert!(Instant::now() < deadline, "order 1 not sent within 30 s");
        std::thread::sleep(Duration::from_millis(20));
    }
    stdin.write_all(b"@5 modify id=1 px=oops qty=1\n@6 cancel id=1\n").expect("write");
    let out = wait(child, 60, "oms run after a bad line");
    drop(stdin);
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.contains("<stdin>:3: "), "the line is named: {err}");
    let ev = records(&journal);
    assert!(
        ev.iter().all(|r| r.request != oms::RequestType::Modify && r.request != oms::RequestType::Cancel)
    );
    assert_audited_and_verified(&journal, &config);
}

/// Orders taken before a bad line on standard input run their course: the bad line ends the
/// input, not what came before it (the one due later is handed over at its time, the one sent
/// gets its answer).
#[test]
fn a_bad_line_on_standard_input_keeps_the_orders_before_it() {
    let dir = tempfile::tempdir().expect("tempdir");
    // A 50 ms exchange: no answer could come before a run that stopped at the bad line.
    let config = write_config(dir.path(), -60.0, 4.0, 100, 50_000);
    let journal = dir.path().join("oms.journal");
    let mut child = run(&config, &journal)
        .args(["--orders", "-", "--once"])
        .stdin(Stdio::piped())
        .spawn()
        .expect("oms run");
    let mut stdin = child.stdin.take().expect("stdin");
    stdin
        .write_all(
            b"@0 new id=1 sym=1 side=B px=10 qty=1\n\
              @300 new id=2 sym=1 side=S px=11 qty=2\n\
              @100 new id=3 sym=1 side=B px=abc qty=1\n\
              @400 new id=4 sym=1 side=B px=12 qty=1\n",
        )
        .expect("write");
    drop(stdin);
    let out = wait(child, 60, "oms run after a bad line");
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.contains("<stdin>:3: px=\"abc\""), "the line is named: {err}");
    let ev = records(&journal);
    let fate = |id: u64| -> Vec<K> { ev.iter().filter(|r| r.order_id == id).map(|r| r.kind).collect() };
    // The simulated exchange fills every order it accepts (fill_ratio 1 by default).
    assert_eq!(fate(1), [K::Sent, K::Response, K::Filled], "{err}");
    assert_eq!(
        fate(2),
        [K::Sent, K::Response, K::Filled],
        "the line before the bad one, due later, still goes"
    );
    assert!(fate(3).is_empty() && fate(4).is_empty(), "nothing from the bad line or after it");
    assert!(ev.iter().all(|r| r.reason != Some(R::Shutdown)), "nothing rejected shutdown");
    assert_audited_and_verified(&journal, &config);
}

#[test]
fn sigterm_shuts_down_cleanly() {
    let dir = tempfile::tempdir().expect("tempdir");
    // 1 order/s and a 60 s exchange: one order in flight, the rest queued, when the signal comes.
    let config = write_config(dir.path(), -60.0, 3600.0, 1, 60_000_000);
    let mut cfg_text = std::fs::read_to_string(&config).expect("config");
    cfg_text = cfg_text.replace("burst = 2", "burst = 1");
    std::fs::write(&config, cfg_text).expect("config");
    let orders = dir.path().join("flow.txt");
    let flow: String = (1..=5).map(|id| format!("@0 new id={id} sym=1 side=B px=10 qty=1\n")).collect();
    std::fs::write(&orders, flow).expect("orders");
    let journal = dir.path().join("oms.journal");
    let child = run(&config, &journal).arg("--orders").arg(&orders).spawn().expect("oms run");
    let deadline = Instant::now() + Duration::from_secs(30);
    while !journal.exists() || records(&journal).iter().filter(|r| r.kind == K::Queued).count() < 4 {
        assert!(Instant::now() < deadline, "orders not queued within 30 s");
        std::thread::sleep(Duration::from_millis(20));
    }
    // SAFETY: a plain syscall on the pid of a child we spawned and have not waited for.
    let rc = unsafe { libc::kill(child.id() as libc::pid_t, libc::SIGTERM) };
    assert_eq!(rc, 0);
    let out = wait(child, 30, "oms run after SIGTERM");
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let ev = records(&journal);
    let ids = |k: K| ev.iter().filter(|r| r.kind == k).map(|r| r.order_id).collect::<Vec<_>>();
    // One order a second: order 1 at once, maybe order 2 if the signal came a second later.
    let sent = ids(K::Sent);
    assert!(!sent.is_empty() && sent.len() < 5, "{sent:?}");
    assert_eq!(sent, (1..=sent.len() as u64).collect::<Vec<_>>());
    assert_eq!(ids(K::Unanswered), sent, "in flight → unanswered");
    let shutdown: Vec<u64> =
        ev.iter().filter(|r| r.reason == Some(R::Shutdown)).map(|r| r.order_id).collect();
    assert_eq!(shutdown, (sent.len() as u64 + 1..=5).collect::<Vec<_>>(), "queued → shutdown");
    assert_eq!(ids(K::Logout).len(), 1);
    assert_audited_and_verified(&journal, &config);

    // The journal is there now: a second run recovers from it (nothing to restore after a
    // clean stop), appends after its last record and stops cleanly on SIGTERM.
    let last = ev.last().expect("records").seq;
    let child = run(&config, &journal).spawn().expect("oms run again");
    let deadline = Instant::now() + Duration::from_secs(30);
    let live = || Journal::open(&journal).ok()?.records().collect::<Result<Vec<_>, _>>().ok();
    while !live().is_some_and(|ev| ev.iter().any(|r| r.kind == K::Recovered)) {
        assert!(Instant::now() < deadline, "no recovered record within 30 s");
        std::thread::sleep(Duration::from_millis(20));
    }
    // SAFETY: a plain syscall on the pid of a child we spawned and have not waited for.
    let rc = unsafe { libc::kill(child.id() as libc::pid_t, libc::SIGTERM) };
    assert_eq!(rc, 0);
    let out = wait(child, 30, "the second oms run after SIGTERM");
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(0), "{err}");
    assert!(err.contains("restores 0 queued and 0 open at the exchange"), "{err}");
    let again = records(&journal);
    assert_eq!(again[..ev.len()], ev[..], "the first run's records are kept as they were");
    assert!(again.iter().enumerate().all(|(i, r)| r.seq == i as u64 + 1), "sequence numbers without a gap");
    let recovered = &again[ev.len()];
    assert_eq!((recovered.seq, recovered.kind), (last + 1, K::Recovered));
    assert_eq!((recovered.qty, recovered.order_id), (0, 0));
    assert_audited_and_verified(&journal, &config);

    // Under another configuration it is refused, naming what differs.
    let other = std::fs::read_to_string(&config)
        .expect("config")
        .replace("max_orders_per_sec = 1", "max_orders_per_sec = 2");
    std::fs::write(&config, other).expect("config");
    let out = run(&config, &journal).output().expect("oms run again");
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.contains("throttle.max_orders_per_sec: 1 in the journal, 2 in the configuration"), "{err}");
}

#[test]
fn every_configuration_problem_is_reported_in_one_run() {
    let dir = tempfile::tempdir().expect("tempdir");
    let config = dir.path().join("bad.toml");
    let text = "[session]\nbogus_key = 1\nstart = \"25:00\"\n[throttle]\nburst = -5\n[journal]\nsync = \"sometimes\"\n";
    std::fs::write(&config, text).expect("config");
    let journal = dir.path().join("oms.journal");
    let out = run(&config, &journal).output().expect("oms run");
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(2), "{err}");
    let file = config.display();
    for needle in [
        format!("{file}:2: session.bogus_key: unknown key"),
        format!("{file}:3: session.start: \"25:00\" is not a time of day"),
        format!("{file}:5: throttle.burst: -5 is not a whole number"),
        format!("{file}:7: journal.sync: \"sometimes\" is not \"none\", \"on-logout\" or an interval"),
    ] {
        assert!(err.contains(&needle), "missing {needle:?} in:\n{err}");
    }
    assert!(!err.contains("Name(") && !err.contains("u32"), "{err}");
    assert!(!journal.exists(), "nothing starts");
}

#[test]
fn every_bad_line_of_an_orders_file_is_reported_at_once() {
    let dir = tempfile::tempdir().expect("tempdir");
    let config = write_config(dir.path(), 1.0, 60.0, 5, 300);
    let journal = dir.path().join("oms.journal");
    let orders = dir.path().join("bad.txt");
    let text = "@0 new id=1 sym=1 side=B px=1 qty=1\n\
                @1 new id=2 sym=1 side=B px=1\n\
                @2 cancel id=1\n\
                @3 buy id=3\n\
                @4 response id=1 accept\n\
                @5 cancel id=1 p=3\n\
                @1 cancel id=1\n\
                @6 new id=4 sym=1 side=B px=abc qty=1\n";
    std::fs::write(&orders, text).expect("orders");
    let out = run(&config, &journal)
        .arg("--orders")
        .arg(&orders)
        .args(["--producers", "2"])
        .output()
        .expect("oms run");
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(2), "{err}");
    let file = orders.display();
    for (line, what) in [
        (2, "missing qty"),
        (4, "unknown verb \"buy\" (expected new, modify, cancel, advance, halt, resume or reference)"),
        (5, "the exchange answers"),
        (6, "--producers"),
        (7, "time goes backwards"),
        (8, "px=\"abc\""),
    ] {
        let needle = format!("{file}:{line}: ");
        let at =
            err.lines().find(|l| l.contains(&needle)).unwrap_or_else(|| panic!("no {needle:?} in:\n{err}"));
        assert!(at.contains(what), "{needle}: {what:?} not in {at:?}\n{err}");
    }
    assert!(err.contains("6 bad lines"), "{err}");
    assert!(!err.contains(&format!("{file}:1:")) && !err.contains(&format!("{file}:3:")), "{err}");
    assert!(!journal.exists(), "nothing starts");

    // Past a cap, the rest are counted, not listed.
    let many: String = (1..=50).map(|i| format!("@{i} cancel id=x{i}\n")).collect();
    std::fs::write(&orders, many).expect("orders");
    let out = run(&config, &journal).arg("--orders").arg(&orders).output().expect("oms run");
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert_eq!(err.lines().filter(|l| l.contains(&format!("{file}:"))).count(), 20 + 1, "{err}");
    assert!(err.contains("50 bad lines") && err.contains("30 more"), "{err}");
}

/// A second `oms run` on a journal another one is writing says only that: it takes the lock
/// before it reads the journal, so it neither prints a recovery it will not make nor spends the
/// time to read it.
#[test]
fn a_second_run_on_a_live_journal_is_refused_before_any_recovery() {
    let dir = tempfile::tempdir().expect("tempdir");
    let config = write_config(dir.path(), -60.0, 3600.0, 100, 300);
    let journal = dir.path().join("oms.journal");
    let first = run(&config, &journal).spawn().expect("oms run");
    let deadline = Instant::now() + Duration::from_secs(30);
    let live = || Journal::open(&journal).ok()?.records().collect::<Result<Vec<_>, _>>().ok();
    while !live().is_some_and(|ev| ev.iter().any(|r| r.kind == K::Logon)) {
        assert!(Instant::now() < deadline, "the first run did not log on within 30 s");
        std::thread::sleep(Duration::from_millis(20));
    }
    let second = wait(run(&config, &journal).spawn().expect("oms run again"), 30, "the second oms run");
    let err = stderr(&second);
    // SAFETY: a plain syscall on the pid of a child we spawned and have not waited for.
    let rc = unsafe { libc::kill(first.id() as libc::pid_t, libc::SIGTERM) };
    assert_eq!(rc, 0);
    let first = wait(first, 30, "the first oms run after SIGTERM");
    assert_eq!(second.status.code(), Some(1), "{err}");
    assert!(
        err.starts_with(&format!("oms run: {}: another writer has this journal open", journal.display())),
        "{err}"
    );
    assert!(!err.contains("restores") && !err.contains("not closed"), "no recovery is announced: {err}");
    assert_eq!(first.status.code(), Some(0), "{}", stderr(&first));
    assert_audited_and_verified(&journal, &config);
}

/// A journal that cannot be created is named as the user gave it, with the subcommand; the file
/// that failed (the segment being prepared) follows.
#[test]
fn a_journal_that_cannot_be_created_is_named_as_given() {
    let dir = tempfile::tempdir().expect("tempdir");
    let config = write_config(dir.path(), -60.0, 3600.0, 100, 300);
    let expect_named = |out: &Output, journal: &Path, tmp: &Path| {
        let err = stderr(out);
        assert_eq!(out.status.code(), Some(1), "{err}");
        let head = format!(
            "oms run: {}: cannot create the journal: cannot create {}: ",
            journal.display(),
            tmp.display()
        );
        assert!(err.starts_with(&head), "{head:?} not at the start of:\n{err}");
    };
    // The segment's `.tmp` name is taken by a directory: creating it fails, root or not.
    let journal = dir.path().join("day.journal");
    let tmp = dir.path().join("day.journal.tmp");
    std::fs::create_dir(&tmp).expect("a directory in the way");
    expect_named(&run(&config, &journal).output().expect("oms run"), &journal, &tmp);

    // A read-only directory. Root writes there regardless of the mode bits, so as root the
    // run is made as `nobody`.
    use std::os::unix::fs::PermissionsExt;
    use std::os::unix::process::CommandExt;
    let ro = dir.path().join("ro");
    std::fs::create_dir(&ro).expect("dir");
    std::fs::set_permissions(&ro, std::fs::Permissions::from_mode(0o555)).expect("chmod");
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).expect("chmod");
    let journal = ro.join("day.journal");
    let mut c = run(&config, &journal);
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } == 0 {
        // The build's own directory may be closed to others (a clone in a `mktemp -d`
        // directory, mode 0700): `nobody` runs a copy of the binary from this directory.
        let copy = dir.path().join("oms");
        std::fs::copy(OMS, &copy).expect("a copy of oms");
        let args: Vec<std::ffi::OsString> = c.get_args().map(|a| a.to_owned()).collect();
        c = Command::new(&copy);
        c.args(args).stdout(Stdio::piped()).stderr(Stdio::piped());
        c.uid(65534).gid(65534);
    }
    let out = c.output().expect("oms run as a user who cannot write there");
    expect_named(&out, &journal, &ro.join("day.journal.tmp"));
    assert!(stderr(&out).contains("Permission denied"), "{}", stderr(&out));
}

/// A FIX configuration whose window is open now, for the counterparty at `port`.
fn write_fix_config(dir: &Path, port: u16) -> PathBuf {
    let path = dir.join("fix.toml");
    let text = format!(
        "[session]\nusername = \"trader\"\npassword = \"run-test-secret\"\ntimezone = \"UTC\"\n\
         start = \"{}\"\nend = \"{}\"\n\
         [engine]\nidle = \"park\"\npark_max_us = 200\nring_capacity = 1024\nmax_queued_orders = 1024\n\
         max_in_flight = 1024\n\
         [exchange]\nkind = \"fix\"\nhost = \"127.0.0.1\"\nport = {port}\nsender_comp_id = \"OMS\"\n\
         target_comp_id = \"EXCH\"\nstore = \"{}\"\nreconnect_min_ms = 200\nreconnect_max_ms = 400\n\
         [journal]\nsegment_bytes = 1048576\n",
        tod(-60.0),
        tod(3600.0),
        dir.join("store").display()
    );
    std::fs::write(&path, text).expect("write config");
    path
}

/// Runs `oms run` for about `secs` seconds, stops it with SIGTERM; its output.
fn run_for(config: &Path, journal: &Path, secs: f64) -> Output {
    let child = run(config, journal).spawn().expect("oms run");
    std::thread::sleep(Duration::from_secs_f64(secs));
    // SAFETY: a plain syscall on the pid of a child we spawned and have not waited for.
    let rc = unsafe { libc::kill(child.id() as libc::pid_t, libc::SIGTERM) };
    assert_eq!(rc, 0);
    wait(child, 30, "oms run after SIGTERM")
}

/// The status lines (`oms run: HH:MM:SS window …`) of a run's standard error.
fn status_lines(err: &str) -> Vec<&str> {
    err.lines().filter(|l| l.starts_with("oms run: ") && l.contains("| sent ")).collect()
}

/// The status line shows the window and the exchange apart: a counterparty that takes the
/// connection and never answers the Logon is "logging on" while the window is open, never
/// "logged on".
#[test]
fn the_status_line_shows_the_window_and_the_exchange_apart() {
    let dir = tempfile::tempdir().expect("tempdir");
    // Connections queue in the backlog and are never read: the Logon goes unanswered.
    let silent = std::net::TcpListener::bind("127.0.0.1:0").expect("listen");
    let port = silent.local_addr().expect("addr").port();
    let config = write_fix_config(dir.path(), port);
    let out = run_for(&config, &dir.path().join("silent.journal"), 2.5);
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(0), "{err}");
    let lines = status_lines(&err);
    assert!(lines.len() >= 2, "{err}");
    assert!(lines.iter().all(|l| !l.contains("logged on")), "the exchange never logged on:\n{err}");
    assert!(lines[0].contains("window open | exchange logging on"), "{err}");
    drop(silent);

    // Nobody listens: each connect fails and is retried.
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").expect("listen");
        l.local_addr().expect("addr").port()
    };
    let config = write_fix_config(dir.path(), port);
    let out = run_for(&config, &dir.path().join("refused.journal"), 2.5);
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(0), "{err}");
    let lines = status_lines(&err);
    assert!(lines.iter().all(|l| !l.contains("logged on")), "{err}");
    assert!(
        lines.iter().any(|l| l.contains("window open | exchange disconnected (connect_failed)")),
        "{err}"
    );

    // The simulated exchange has no session of its own: it is named, not given states.
    let config = write_config(dir.path(), -60.0, 3600.0, 100, 300);
    let out = run_for(&config, &dir.path().join("sim.journal"), 1.5);
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(0), "{err}");
    let lines = status_lines(&err);
    assert!(lines[0].contains("window open | simulated exchange | sent "), "{err}");
    let last = lines.last().expect("the final status line");
    assert!(last.contains("window closed"), "the shutdown logged out: {err}");
}
