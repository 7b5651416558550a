//! Helpers for the engine-thread tests: an exchange that reports from inside the engine thread,
//! and readers of a thread's state, CPU time and affinity in `/proc`.
#![allow(dead_code)] // each test binary uses a different subset

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use oms::exchange::NotSent;
use oms::{Config, Exchange, Logon, Logout, OrderRequest};

/// 2026-11-23T05:00:00Z: 10:30 in Asia/Kolkata, inside the default window (10:00-13:00), which
/// ends 2.5 h of manual time later.
pub const WALL_IN_WINDOW: i64 = 1_795_410_000_000_000_000;

/// What the engine thread said about itself at logon (its first call into the exchange).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EngineThread {
    /// Kernel thread id.
    pub tid: u64,
    /// `std::thread::current().name()`.
    pub name: Option<String>,
    /// The thread's own `Cpus_allowed_list` (`/proc/thread-self/status`).
    pub cpus_allowed: Vec<usize>,
}

/// Shared between a [`Probe`] and the test.
#[derive(Debug, Default)]
pub struct ProbeState {
    /// Orders sent.
    pub sent: AtomicU64,
    /// Set by the first logon.
    pub thread: OnceLock<EngineThread>,
}

/// An exchange that counts sends and, at logon, records which thread calls it.
#[derive(Debug, Clone, Default)]
pub struct Probe(pub Arc<ProbeState>);

impl Exchange for Probe {
    fn send(&mut self, _order: &OrderRequest) -> Result<(), NotSent> {
        self.0.sent.fetch_add(1, Ordering::SeqCst);
        Ok(())
    }
    fn send_logon(&mut self, _logon: &Logon) {
        let status = std::fs::read_to_string("/proc/thread-self/status").expect("own status");
        let list = status
            .lines()
            .find_map(|l| l.strip_prefix("Cpus_allowed_list:"))
            .expect("Cpus_allowed_list in /proc/thread-self/status");
        let _ = self.0.thread.set(EngineThread {
            tid: current_tid(),
            name: std::thread::current().name().map(String::from),
            cpus_allowed: parse_cpu_list(list.trim()),
        });
    }
    fn send_logout(&mut self, _logout: &Logout) {}
}

impl ProbeState {
    /// The engine thread, once it has logged on (waits at most `secs`).
    pub fn engine_thread(&self, secs: u64) -> EngineThread {
        wait_until(secs, "the engine thread to log on", || self.thread.get().is_some());
        self.thread.get().cloned().expect("set")
    }

    /// Orders sent so far.
    pub fn sent(&self) -> u64 {
        self.sent.load(Ordering::SeqCst)
    }
}

/// Waits until `cond` holds; panics naming `what` after `secs` seconds.
pub fn wait_until(secs: u64, what: &str, mut cond: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(secs);
    while !cond() {
        assert!(Instant::now() < deadline, "waited {secs} s for {what}");
        std::thread::sleep(Duration::from_micros(200));
    }
}

/// The calling thread's kernel id (`/proc/thread-self` links to `PID/task/TID`).
pub fn current_tid() -> u64 {
    let link = std::fs::read_link("/proc/thread-self").expect("/proc/thread-self");
    let tid = link.file_name().and_then(|n| n.to_str()).expect("PID/task/TID");
    tid.parse().expect("numeric thread id")
}

/// `0-2,5` → `[0, 1, 2, 5]`.
pub fn parse_cpu_list(s: &str) -> Vec<usize> {
    let mut out = Vec::new();
    for part in s.split(',').filter(|p| !p.is_empty()) {
        let num = |x: &str| x.trim().parse::<usize>().unwrap_or_else(|e| panic!("{s:?}: {e}"));
        match part.split_once('-') {
            Some((a, b)) => out.extend(num(a)..=num(b)),
            None => out.push(num(part)),
        }
    }
    out
}

/// CPU time a thread of this process has used, ns (first field of its `schedstat`).
pub fn thread_cpu_ns(tid: u64) -> u64 {
    let path = format!("/proc/self/task/{tid}/schedstat");
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    text.split_whitespace().next().and_then(|v| v.parse().ok()).unwrap_or_else(|| panic!("{path}: {text:?}"))
}

/// A thread's scheduler state letter (`R` running, `S` sleeping, …) from its `stat`.
pub fn thread_state(tid: u64) -> char {
    let path = format!("/proc/self/task/{tid}/stat");
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    // The name in parentheses may hold spaces: the state follows the last ')'.
    let after = text.rsplit_once(')').map(|(_, rest)| rest.trim_start()).unwrap_or_default();
    after.chars().next().unwrap_or_else(|| panic!("{path}: {text:?}"))
}

/// A config whose window (UTC) is open now, on the system clock, with small tables.
pub fn open_now_config() -> Config {
    let now = jiff::Timestamp::now().to_zoned(jiff::tz::TimeZone::UTC);
    let tod = |z: jiff::Zoned| z.time().strftime("%H:%M:%S").to_string();
    let mut cfg = Config::default();
    cfg.session.timezone = "UTC".into();
    cfg.session.start = tod(&now - jiff::SignedDuration::from_hours(1));
    cfg.session.end = tod(&now + jiff::SignedDuration::from_hours(1));
    small(cfg)
}

/// The default window (Asia/Kolkata 10:00-13:00), for a manual clock at [`WALL_IN_WINDOW`].
pub fn manual_config() -> Config {
    small(Config::default())
}

fn small(mut cfg: Config) -> Config {
    cfg.engine.max_queued_orders = 64;
    cfg.engine.max_in_flight = 64;
    cfg.engine.ring_capacity = 64;
    cfg
}

/// The cores this process may run on.
pub fn cores() -> Vec<usize> {
    core_affinity::get_core_ids().unwrap_or_default().into_iter().map(|c| c.id).collect()
}

/// Stops the engine, failing (and leaving the thread behind) if it takes more than `secs`
/// seconds: a parked engine only sees the stop request when it wakes.
pub fn stop_within<E, S>(handle: oms::EngineHandle<E, S>, secs: u64) -> oms::EngineReport<E, S>
where
    E: Send + 'static,
    S: Send + 'static,
{
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(handle.stop());
    });
    match rx.recv_timeout(Duration::from_secs(secs)) {
        Ok(report) => report.expect("the engine thread stops cleanly"),
        Err(_) => panic!("the engine thread did not stop within {secs} s"),
    }
}
