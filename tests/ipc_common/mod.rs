//! What the tests of producers in other processes share: a listening `oms run` as a child
//! process, its journal's records, waits with deadlines (never a sleep that decides anything).

#![allow(dead_code)] // each test file uses a part

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use oms::EventRecord;
use oms::journal::Journal;

pub const OMS: &str = env!("CARGO_BIN_EXE_oms");

/// How long any wait may take before the test fails.
pub const DEADLINE: Duration = Duration::from_secs(60);

/// A configuration whose UTC window is open now (two hours), a throttle of `rate`/s, a
/// simulated exchange answering in 0.1 to 0.5 ms with `reject_ratio` 0.05 and fills after 1 ms
/// (`fill_ratio` of the accepted), and `ipc` as the `[ipc]` section's keys.
pub fn write_config(dir: &Path, rate: u32, fill_ratio: f64, ipc: &str) -> PathBuf {
    let now = jiff::Timestamp::now();
    let tod =
        |t: jiff::Timestamp| t.to_zoned(jiff::tz::TimeZone::UTC).time().strftime("%H:%M:%S").to_string();
    let text = format!(
        "[session]\nusername = \"trader\"\npassword = \"ipc-test-secret\"\ntimezone = \"UTC\"\n\
         start = \"{}\"\nend = \"{}\"\n\
         [throttle]\nmax_orders_per_sec = {rate}\nburst = {rate}\n\
         [journal]\nsync = \"none\"\n\
         [engine]\nring_capacity = 4096\nmax_queued_orders = 65536\nmax_in_flight = 4096\n\
         [exchange]\nlatency_min_us = 100\nlatency_max_us = 500\nreject_ratio = 0.05\n\
         fill_ratio = {fill_ratio}\nfill_interval_us = 1000\n\
         [ipc]\n{ipc}\n",
        tod(now - jiff::SignedDuration::from_hours(1)),
        tod(now + jiff::SignedDuration::from_hours(1)),
    );
    let path = dir.join("oms.toml");
    std::fs::write(&path, text).expect("write config");
    path
}

/// A process whose stderr a thread collects.
pub struct Proc {
    pub child: Child,
    stderr: Option<JoinHandle<String>>,
    stdout: Option<JoinHandle<String>>,
}

impl Proc {
    pub fn spawn(mut c: Command) -> Proc {
        let mut child = c.stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().expect("spawn oms");
        let collect = |mut r: Box<dyn Read + Send>| {
            std::thread::spawn(move || {
                let mut s = String::new();
                let _ = r.read_to_string(&mut s);
                s
            })
        };
        let stderr = Some(collect(Box::new(child.stderr.take().expect("stderr"))));
        let stdout = Some(collect(Box::new(child.stdout.take().expect("stdout"))));
        Proc { child, stderr, stdout }
    }

    /// Panics, with its output, if it has exited.
    pub fn assert_running(&mut self, what: &str) {
        if let Some(status) = self.child.try_wait().expect("wait") {
            let (out, err) = self.output();
            panic!("{what}: exited ({status}):\n{out}\n{err}");
        }
    }

    fn output(&mut self) -> (String, String) {
        let take = |h: &mut Option<JoinHandle<String>>| h.take().map(|h| h.join().unwrap_or_default());
        (take(&mut self.stdout).unwrap_or_default(), take(&mut self.stderr).unwrap_or_default())
    }

    /// Waits (at most [`DEADLINE`]) for it to exit: its status, stdout and stderr.
    pub fn wait(mut self, what: &str) -> (std::process::ExitStatus, String, String) {
        let deadline = Instant::now() + DEADLINE;
        loop {
            if let Some(status) = self.child.try_wait().expect("wait") {
                let (out, err) = self.output();
                return (status, out, err);
            }
            if Instant::now() >= deadline {
                let _ = self.child.kill();
                let (out, err) = self.output();
                panic!("{what}: still running after {DEADLINE:?}:\n{out}\n{err}");
            }
            std::thread::sleep(Duration::from_millis(5));
        }
    }

    pub fn signal(&self, signal: libc::c_int) {
        // SAFETY: a plain system call on the pid of a child spawned here and not yet waited for.
        let rc = unsafe { libc::kill(self.child.id() as libc::pid_t, signal) };
        assert_eq!(rc, 0, "kill");
    }
}

/// `oms run --config CONFIG --journal JOURNAL --listen DIR`, once its socket is there.
pub fn start_run(config: &Path, journal: &Path, dir: &Path) -> Proc {
    let mut c = Command::new(OMS);
    c.arg("run").arg("--config").arg(config).arg("--journal").arg(journal).arg("--listen").arg(dir);
    let mut run = Proc::spawn(c);
    wait_until("the socket", || {
        run.assert_running("oms run");
        dir.join(oms::ipc::SOCKET).exists()
            && std::os::unix::net::UnixStream::connect(dir.join("oms.sock")).is_ok()
    });
    run
}

/// Stops a run with SIGTERM; asserts a clean exit, returns its stderr.
pub fn stop_run(run: Proc) -> String {
    run.signal(libc::SIGTERM);
    let (status, _, err) = run.wait("oms run");
    assert!(status.success(), "oms run: {status}\n{err}");
    err
}

/// Polls `ready` until it holds (at most [`DEADLINE`]).
pub fn wait_until(what: &str, mut ready: impl FnMut() -> bool) {
    let deadline = Instant::now() + DEADLINE;
    while !ready() {
        assert!(Instant::now() < deadline, "{what}: not within {DEADLINE:?}");
        std::thread::sleep(Duration::from_millis(2));
    }
}

/// The records of a journal so far (live or closed); `None` while it cannot be read in one
/// piece.
pub fn records_now(path: &Path) -> Option<Vec<EventRecord>> {
    Journal::open(path).ok()?.records().collect::<Result<_, _>>().ok()
}

/// Waits until the journal's records satisfy `ready`; returns them.
pub fn wait_records(journal: &Path, what: &str, ready: impl Fn(&[EventRecord]) -> bool) -> Vec<EventRecord> {
    let mut last = Vec::new();
    wait_until(what, || match records_now(journal) {
        Some(r) if ready(&r) => {
            last = r;
            true
        }
        _ => false,
    });
    last
}

/// `oms audit --config CONFIG JOURNAL`: asserts every rule holds.
pub fn audit(config: &Path, journal: &Path) {
    let out =
        Command::new(OMS).arg("audit").arg("--config").arg(config).arg(journal).output().expect("audit");
    assert!(
        out.status.success(),
        "oms audit: {}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}
