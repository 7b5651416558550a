//! `oms run` on a disk too small for its journal's reserve: a real 2 MiB tmpfs, 64 KiB segments
//! and a reserve (a 65536-order queue) of hundreds of segments. Before its first status line
//! `oms run` says on standard error that the journal cannot prepare space and why ("No space
//! left on device", naming the file); New orders are rejected `journal_full`, then the engine
//! pushes back (standard input is left unread); SIGINT ends the run cleanly and the journal
//! verifies. The same on a restart on the full disk.
//!
//! Mounting needs root (CAP_SYS_ADMIN): CI runs as root; a machine where the mount fails fails
//! this test unless `OMS_SKIP_REAL_DISK_FULL=1` says to skip it knowingly. (The same behaviour
//! without a real file system, through the writer's ENOSPC injection: tests/journal_full.rs.)

use std::io::{BufRead, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc::Receiver;
use std::time::{Duration, Instant};

use oms::RejectReason;
use oms::journal::Journal;

const OMS: &str = env!("CARGO_BIN_EXE_oms");
/// The longest any one wait may take.
const PATIENCE: Duration = Duration::from_secs(60);

/// A tmpfs of `size` mounted on `path`, unmounted when dropped.
struct Mount(PathBuf);

impl Mount {
    /// Mounts, or `None` where the test is knowingly skipped; panics where it cannot mount.
    fn tmpfs(path: &Path, size: &str) -> Option<Mount> {
        std::fs::create_dir_all(path).expect("mount point");
        let out = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size},mode=0700"), "tmpfs"])
            .arg(path)
            .output();
        if matches!(&out, Ok(o) if o.status.success()) {
            return Some(Mount(path.to_path_buf()));
        }
        let why = match &out {
            Ok(o) => String::from_utf8_lossy(&o.stderr).into_owned(),
            Err(e) => e.to_string(),
        };
        if std::env::var("OMS_SKIP_REAL_DISK_FULL").as_deref() == Ok("1") {
            eprintln!("run_small_disk: SKIPPED (OMS_SKIP_REAL_DISK_FULL=1): cannot mount a tmpfs: {why}");
            return None;
        }
        panic!(
            "run_small_disk cannot mount a tmpfs ({why}); run the tests as root, or set \
             OMS_SKIP_REAL_DISK_FULL=1 to skip this test knowingly"
        );
    }
}

impl Drop for Mount {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg(&self.0).status();
    }
}

/// A window open all day (UTC), the simulated exchange, 64 KiB segments and a 65536-order queue.
fn write_config(dir: &Path) -> PathBuf {
    let path = dir.join("oms.toml");
    let text = "[session]\nusername = \"trader\"\npassword = \"small-disk-secret\"\ntimezone = \"UTC\"\n\
                start = \"00:00:00\"\nend = \"23:59:59\"\n\
                [throttle]\nmax_orders_per_sec = 100\nburst = 10\n\
                [journal]\nsegment_bytes = 65536\n\
                [engine]\nidle = \"park\"\npark_max_us = 200\nring_capacity = 4096\n\
                max_queued_orders = 65536\nmax_in_flight = 4096\n";
    std::fs::write(&path, text).expect("write config");
    path
}

/// A running `oms run --orders -`: its standard error line by line, each with when it came.
struct Run {
    child: Child,
    lines: Receiver<(Instant, String)>,
    seen: Vec<(Instant, String)>,
    feeder: Option<std::thread::JoinHandle<()>>,
}

impl Run {
    /// Starts `oms run` and feeds it `orders` New orders (ids from `first_id`) on standard
    /// input, all due at once, from a thread (which blocks where the engine pushes back).
    fn start(config: &Path, journal: &Path, first_id: u64, orders: u64) -> Run {
        let mut child = Command::new(OMS)
            .args(["run", "--orders", "-", "--config"])
            .arg(config)
            .arg("--journal")
            .arg(journal)
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("run oms");
        let mut stdin = child.stdin.take().expect("stdin");
        let feeder = std::thread::spawn(move || {
            for id in first_id..first_id + orders {
                let line = format!("@0 new id={id} sym=1 side=B px=100 qty=1\n");
                if stdin.write_all(line.as_bytes()).is_err() {
                    return; // oms run has stopped reading: it ended
                }
            }
        });
        let stderr = child.stderr.take().expect("stderr");
        let (tx, lines) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for line in std::io::BufReader::new(stderr).lines() {
                let Ok(line) = line else { return };
                if tx.send((Instant::now(), line)).is_err() {
                    return;
                }
            }
        });
        Run { child, lines, seen: Vec::new(), feeder: Some(feeder) }
    }

    /// Waits for a line of standard error that `want` accepts; the line and when it came.
    fn wait_for(&mut self, what: &str, want: impl Fn(&str) -> bool) -> (Instant, String) {
        if let Some(l) = self.seen.iter().find(|(_, l)| want(l)) {
            return l.clone();
        }
        let deadline = Instant::now() + PATIENCE;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(l) => {
                    self.seen.push(l.clone());
                    if want(&l.1) {
                        return l;
                    }
                }
                Err(_) => panic!("no {what} on standard error; it said:\n{}", self.said()),
            }
        }
    }

    fn said(&self) -> String {
        self.seen.iter().map(|(_, l)| format!("{l}\n")).collect()
    }

    /// SIGINT, then waits for a clean exit.
    fn interrupt(mut self) -> String {
        // SAFETY: kill(2) on the child's pid; no memory is passed.
        let rc = unsafe { libc::kill(self.child.id() as libc::pid_t, libc::SIGINT) };
        assert_eq!(rc, 0, "SIGINT");
        let deadline = Instant::now() + PATIENCE;
        let status = loop {
            if let Some(s) = self.child.try_wait().expect("wait") {
                break s;
            }
            if Instant::now() > deadline {
                let _ = self.child.kill();
                panic!("oms run still running after SIGINT; it said:\n{}", self.said());
            }
            std::thread::sleep(Duration::from_millis(20));
        };
        while let Ok(l) = self.lines.recv_timeout(Duration::from_secs(5)) {
            self.seen.push(l);
        }
        if let Some(f) = self.feeder.take() {
            let _ = f.join();
        }
        assert_eq!(status.code(), Some(0), "oms run after SIGINT; it said:\n{}", self.said());
        self.said()
    }
}

/// The number after `rejected` in a status line.
fn rejected(line: &str) -> Option<u64> {
    let rest = line.split("rejected ").nth(1)?;
    rest.split(|c: char| !c.is_ascii_digit()).next()?.parse().ok()
}

fn is_status(line: &str) -> bool {
    rejected(line).is_some()
}

/// The journal verifies (exit 0) and holds `journal_full` rejects: how many.
fn journal_full_rejects(journal: &Path) -> u64 {
    let verify = Command::new(OMS).arg("verify").arg(journal).output().expect("verify");
    assert_eq!(verify.status.code(), Some(0), "{}", String::from_utf8_lossy(&verify.stdout));
    let j = Journal::open(journal).expect("journal");
    let records: Vec<_> = j.records().collect::<Result<_, _>>().expect("records");
    records.iter().filter(|r| r.reason == Some(RejectReason::JournalFull)).count() as u64
}

/// The run's first words on a journal that cannot prepare space: before the first status line,
/// the failure, naming the file and the disk's error.
fn says_why_before_the_first_status_line(run: &mut Run) {
    let (told, line) =
        run.wait_for("message about the journal's space", |l| l.contains("cannot prepare more space"));
    for what in ["No space left on device", ".tmp", "journal_full"] {
        assert!(line.contains(what), "{what:?} in {line}");
    }
    let (first_status, _) = run.wait_for("status line", is_status);
    assert!(told <= first_status, "the disk is named before the first status line:\n{}", run.said());
}

#[test]
fn oms_run_on_a_disk_smaller_than_its_reserve_says_so_rejects_then_pushes_back() {
    let dir = tempfile::tempdir().expect("temp dir");
    let Some(_mount) = Mount::tmpfs(&dir.path().join("disk"), "2m") else { return };
    let config = write_config(dir.path());
    let journal = dir.path().join("disk/day.journal");

    // A fresh journal: the disk fills while the writer prepares its reserve.
    let mut run = Run::start(&config, &journal, 1, 30_000);
    says_why_before_the_first_status_line(&mut run);
    run.wait_for("journal_full rejects", |l| rejected(l).is_some_and(|n| n > 1000));
    let said = run.interrupt();
    let full = journal_full_rejects(&journal);
    assert!(full > 1000 && full < 30_000, "{full} rejected journal_full: then backpressure\n{said}");

    // A restart on the full disk (what is left of it taken by another file).
    let filler = dir.path().join("disk/filler");
    let left = Command::new("df").args(["--output=avail", "-B1"]).arg(dir.path().join("disk")).output();
    let left: u64 = String::from_utf8_lossy(&left.expect("df").stdout)
        .lines()
        .nth(1)
        .and_then(|l| l.trim().parse().ok())
        .expect("free bytes");
    if left > 0 {
        let f = std::fs::File::create(&filler).expect("filler");
        f.set_len(left).expect("filler size");
        // Allocate it for real (a sparse file takes nothing on tmpfs).
        let st = Command::new("fallocate").args(["-l", &left.to_string()]).arg(&filler).status();
        assert!(st.is_ok_and(|s| s.success()), "fallocate the filler");
    }
    // Fewer orders than the few hundred records of room the last segment has left: each is
    // rejected `journal_full` (a ring's worth of requests at the stop would not fit that room:
    // the writer would count the records it drops, and `oms verify` fail on them).
    let rejected_before = Journal::open(&journal)
        .expect("journal")
        .records()
        .filter(|r| r.as_ref().is_ok_and(|r| r.kind == oms::EventKind::Rejected))
        .count() as u64;
    let mut run = Run::start(&config, &journal, 100_001, 200);
    says_why_before_the_first_status_line(&mut run);
    run.wait_for("journal_full rejects", |l| rejected(l).is_some_and(|n| n >= rejected_before + 200));
    let said = run.interrupt();
    assert!(said.contains("restores 0 queued"), "{said}");
    let after = journal_full_rejects(&journal);
    assert_eq!(after, full + 200, "every order of the restart rejected journal_full:\n{said}");
}
