//! What each `[journal] sync` policy promises, checked against the page cache: `cachestat(2)`
//! tells how many pages of a file range are dirty (not yet written to disk) or under writeback,
//! so "flushed" is checked where the data is, not in the writer's own counters (a writer that
//! counted a flush without making it fails these tests).
//!
//! * `on-logout`: once the engine's turn that logged out returns, every record up to the logout
//!   is on disk (and nothing was flushed before: no flush on the order path);
//! * an interval: once the interval has passed (on the writer's clock, a manual one here), what
//!   was published before is flushed, by the sleeping sync thread;
//! * `none`: the writer never flushes;
//! * a failed flush (injected EIO) is counted, journaled as `sync_failed`, flagged in the header,
//!   and makes `oms verify` exit 1.
//!
//! The page cache of the temp dir's file system must be written back by `msync` (ext4, xfs, …;
//! not tmpfs, which has no disk): the tests refuse to run on tmpfs rather than pass vacuously.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use oms::engine::{Engine, EngineBuilder};
use oms::exchange::{ExchangeCall, RecordingExchange};
use oms::journal::{Faults, Journal, JournalWriter, SyncPolicy, WriterOptions, segment_path};
use oms::{
    Config, EngineClock, Event, EventKind, EventRecord, EventSink, OrderRequest, OrderResponse, Producer,
};
use oms::{RequestType, Responder, ResponseType, Side};

const SEGMENT: u64 = 64 * 1024; // 960 records after the 4096-byte header
const PAGE: u64 = 4096;

/// Pages of `path`'s bytes `off..off + len` that are dirty or under writeback.
fn unflushed_pages(path: &Path, off: u64, len: u64) -> u64 {
    #[repr(C)]
    struct Range {
        off: u64,
        len: u64,
    }
    #[repr(C)]
    #[derive(Default)]
    struct Stat {
        nr_cache: u64,
        nr_dirty: u64,
        nr_writeback: u64,
        nr_evicted: u64,
        nr_recently_evicted: u64,
    }
    let f = std::fs::File::open(path).expect("open the segment");
    let range = Range { off, len };
    let mut st = Stat::default();
    // SAFETY: `cachestat(fd, range, stat, flags)` reads `range` and writes `stat`, both live
    // `#[repr(C)]` values of the layouts the kernel expects; the fd is open for the call.
    let rc = unsafe {
        libc::syscall(
            451, // cachestat (Linux 6.5+; the same number on every architecture)
            std::os::fd::AsRawFd::as_raw_fd(&f),
            &range as *const Range,
            &mut st as *mut Stat,
            0u32,
        )
    };
    assert_eq!(rc, 0, "cachestat failed (needs Linux 6.5+): {}", std::io::Error::last_os_error());
    st.nr_dirty + st.nr_writeback
}

/// Refuses to run where `msync` writes nothing back (tmpfs): the checks would pass vacuously.
fn disk_backed(dir: &Path) {
    // SAFETY: `statfs` fills the zeroed struct for a NUL-terminated path that outlives the call.
    let mut st: libc::statfs = unsafe { std::mem::zeroed() };
    let c = std::ffi::CString::new(dir.as_os_str().as_encoded_bytes()).expect("path");
    // SAFETY: as above.
    assert_eq!(unsafe { libc::statfs(c.as_ptr(), &mut st) }, 0, "statfs {}", dir.display());
    assert_ne!(
        st.f_type as i64,
        0x0102_1994,
        "{} is on tmpfs, which has no disk to flush to: set TMPDIR to a directory on a disk",
        dir.display()
    );
}

fn config(dir: &Path, sync: SyncPolicy) -> Config {
    let mut cfg = Config::default();
    cfg.session.timezone = "UTC".into();
    cfg.session.start = "10:00:00".into();
    cfg.session.end = "10:00:05".into();
    // The Logout at the window's end itself (orders still working stay so): what is on disk
    // by then is the question here, not the cancels before it.
    cfg.session.cancel_on_logout = false;
    cfg.throttle.max_orders_per_sec = 1_000_000;
    cfg.engine.ring_capacity = 256;
    cfg.engine.max_queued_orders = 256;
    cfg.engine.max_in_flight = 256;
    cfg.journal.path = dir.join("oms.journal");
    cfg.journal.segment_bytes = SEGMENT;
    cfg.journal.sync = sync.into();
    cfg
}

struct Rig {
    engine: Engine<RecordingExchange, JournalWriter>,
    producer: Producer,
    responder: Responder,
    mock: Arc<quanta::Mock>,
    seen: usize,
    next_id: u64,
    base: PathBuf,
}

impl Rig {
    fn new(cfg: &Config, faults: Option<Arc<Faults>>) -> Rig {
        let valid = cfg.validate().expect("valid");
        let start = "2026-11-23T10:00:00Z".parse::<jiff::Timestamp>().expect("ts").as_nanosecond() as i64;
        let (clock, mock) = EngineClock::manual(start);
        let opts = WriterOptions { faults, reserve_records: 1000, ..Default::default() };
        let journal =
            JournalWriter::create_with(&valid.journal, &cfg.journal_meta(&clock), opts).expect("journal");
        let (mut b, responder) = EngineBuilder::new(&valid.engine, clock);
        let producer = b.producer().expect("a producer handle");
        let engine = b.build(RecordingExchange::with_capacity(4096), journal);
        Rig { engine, producer, responder, mock, seen: 0, next_id: 1, base: cfg.journal.path.clone() }
    }

    /// `n` orders, 1 ms apart, each answered; the engine polled until idle after each.
    fn trade(&mut self, n: u64) {
        for _ in 0..n {
            let o = OrderRequest::new(self.next_id, 1, Side::Buy, 10.0, 1);
            self.next_id += 1;
            self.producer.on_data(o, RequestType::New).expect("room");
            self.mock.increment(1_000_000u64);
            self.settle();
            let calls = &self.engine.exchange().calls;
            while self.seen < calls.len() {
                if let ExchangeCall::Send(o) = &calls[self.seen] {
                    let r = OrderResponse { order_id: o.order_id, response_type: ResponseType::Accept };
                    self.responder.on_data(r).expect("room");
                }
                self.seen += 1;
            }
            self.settle();
        }
    }

    fn settle(&mut self) {
        for _ in 0..100_000 {
            if self.engine.poll() == 0 && self.engine.rings_empty() {
                return;
            }
        }
        panic!("the engine never settled");
    }

    fn stats(&self) -> oms::journal::JournalStats {
        self.engine.sink().stats()
    }
}

/// Segment files and, for each, the byte range of its whole pages of records up to `seq`.
fn flushed_ranges(base: &Path, seq: u64) -> Vec<(PathBuf, u64, u64)> {
    let per = (SEGMENT - PAGE) / 64;
    let mut v = Vec::new();
    let mut index = 0;
    let mut first = 1;
    while first <= seq {
        let n = (seq - first + 1).min(per);
        let end = (PAGE + n * 64) / PAGE * PAGE;
        v.push((segment_path(base, index), 0, end));
        first += per;
        index += 1;
    }
    v
}

fn unflushed(base: &Path, seq: u64) -> u64 {
    flushed_ranges(base, seq).iter().map(|(p, off, end)| unflushed_pages(p, *off, end - off)).sum()
}

#[test]
fn on_logout_everything_up_to_the_logout_is_on_disk_before_the_engine_goes_on() {
    let dir = tempfile::tempdir().expect("temp dir");
    disk_backed(dir.path());
    let cfg = config(dir.path(), SyncPolicy::OnLogout);
    let mut rig = Rig::new(&cfg, None);
    rig.trade(1500); // ~3000 records: three segments
    let written = rig.engine.sink().next_seq() - 1;
    assert!(written > 2 * 960, "{written} records");
    assert_eq!(rig.stats().syncs, 0, "no flush on the order path");
    assert!(unflushed(&rig.base, written) > 0, "the records are still only in the page cache");
    // The window ends: the turn that logs out returns only once the logout is on disk.
    rig.mock.increment(5_000_000_000u64);
    rig.engine.poll();
    assert!(!rig.engine.logged_on());
    let logout = rig.engine.sink().next_seq() - 1;
    let j = Journal::open(&rig.base).expect("open");
    let last = j.records().last().expect("records").expect("valid");
    assert_eq!((last.seq, last.kind), (logout, EventKind::Logout));
    assert_eq!(unflushed(&rig.base, logout), 0, "records up to the logout are on disk");
    let s = rig.stats();
    assert!(s.syncs >= 1 && s.synced_seq >= logout, "{s:?}");
    assert_eq!(s.sync_errors, 0);
    let report = rig.engine.shutdown();
    report.sink.close().expect("close");
}

#[test]
fn an_interval_flushes_what_was_published_once_the_interval_has_passed() {
    let dir = tempfile::tempdir().expect("temp dir");
    disk_backed(dir.path());
    let cfg = config(dir.path(), SyncPolicy::IntervalMs(50.try_into().unwrap()));
    let valid = cfg.validate().expect("valid");
    let (clock, mock) = quanta::Clock::mock();
    let (eclock, _) = EngineClock::manual(0);
    let opts = WriterOptions { clock: Some(clock), ..Default::default() };
    let mut w =
        JournalWriter::create_with(&valid.journal, &cfg.journal_meta(&eclock), opts).expect("journal");
    let mut seq = 0;
    for round in 1..=3 {
        for _ in 0..1000 {
            seq += 1;
            w.record(&EventRecord::new(seq as i64, Event::Logon));
            if !w.takes_requests() {
                w.prepare(0).expect("room");
            }
        }
        assert!(unflushed(&cfg.journal.path, seq) > 0, "round {round}: published, not flushed yet");
        // The interval passes on the writer's clock: the sync thread flushes on its next wake-up.
        mock.increment(Duration::from_millis(50));
        let deadline = Instant::now() + Duration::from_secs(60);
        while w.stats().synced_seq < seq {
            assert!(Instant::now() < deadline, "round {round}: not flushed 60 s after the interval");
            std::thread::sleep(Duration::from_millis(5));
        }
        assert_eq!(unflushed(&cfg.journal.path, seq), 0, "round {round}: flushed");
    }
    let s = w.close().expect("close");
    assert!(s.syncs >= 3 && s.sync_errors == 0, "{s:?}");
}

#[test]
fn none_never_flushes() {
    let dir = tempfile::tempdir().expect("temp dir");
    let cfg = config(dir.path(), SyncPolicy::None);
    let mut rig = Rig::new(&cfg, None);
    rig.trade(1500);
    rig.mock.increment(5_000_000_000u64);
    rig.settle();
    assert!(!rig.engine.logged_on());
    let report = rig.engine.shutdown();
    let s = report.sink.close().expect("close");
    assert_eq!((s.syncs, s.synced_seq, s.sync_errors), (0, 0, 0), "{s:?}");
}

#[test]
fn a_failed_flush_is_counted_journaled_and_fails_verify() {
    let dir = tempfile::tempdir().expect("temp dir");
    let cfg = config(dir.path(), SyncPolicy::OnLogout);
    let faults = Arc::new(Faults::default());
    let mut rig = Rig::new(&cfg, Some(faults.clone()));
    rig.trade(100);
    faults.sync_error.store(true, Ordering::Relaxed);
    rig.mock.increment(5_000_000_000u64);
    rig.engine.poll();
    let s = rig.stats();
    assert!(s.sync_errors >= 1, "{s:?}");
    assert!(s.last_sync_error.as_deref().unwrap_or("").contains("Input/output error"), "{s:?}");
    let report = rig.engine.shutdown();
    report.sink.close().expect("close");
    let j = Journal::open(&rig.base).expect("open");
    let kinds: Vec<EventKind> = j.records().map(|r| r.expect("valid").kind).collect();
    let logout = kinds.iter().position(|k| *k == EventKind::Logout).expect("logout");
    assert_eq!(kinds[logout + 1], EventKind::SyncFailed, "the failure is journaled right after the logout");
    let v = j.verify();
    assert!(v.is_sound() && v.sync_failed, "{v:?}");
    let o =
        std::process::Command::new(env!("CARGO_BIN_EXE_oms")).arg("verify").arg(&rig.base).output().unwrap();
    let out = String::from_utf8_lossy(&o.stdout);
    assert_eq!(o.status.code(), Some(1), "{out}");
    assert!(out.contains("NOT DURABLE"), "{out}");
    // The rules still hold: a failed flush moves no order.
    let o =
        std::process::Command::new(env!("CARGO_BIN_EXE_oms")).arg("audit").arg(&rig.base).output().unwrap();
    assert_eq!(o.status.code(), Some(0), "{}", String::from_utf8_lossy(&o.stdout));
}

#[test]
fn a_failed_flush_on_the_interval_thread_is_journaled_in_an_idle_turn() {
    let dir = tempfile::tempdir().expect("temp dir");
    let cfg = config(dir.path(), SyncPolicy::IntervalMs(20.try_into().unwrap()));
    let valid = cfg.validate().expect("valid");
    let faults = Arc::new(Faults { sync_error: true.into(), ..Default::default() });
    let (clock, mock) = quanta::Clock::mock();
    let (eclock, _) = EngineClock::manual(0);
    let opts = WriterOptions { clock: Some(clock), faults: Some(faults), ..Default::default() };
    let mut w =
        JournalWriter::create_with(&valid.journal, &cfg.journal_meta(&eclock), opts).expect("journal");
    for seq in 1..=10 {
        w.record(&EventRecord::new(seq, Event::Logon));
    }
    mock.increment(Duration::from_millis(20));
    let deadline = Instant::now() + Duration::from_secs(60);
    while w.stats().sync_errors == 0 {
        assert!(Instant::now() < deadline, "the interval thread never flushed");
        std::thread::sleep(Duration::from_millis(5));
    }
    assert!(w.housekeep(), "an idle turn journals the failure");
    assert_eq!(w.next_seq(), 12);
    w.close().expect("close");
    let j = Journal::open(&cfg.journal.path).expect("open");
    let last = j.records().last().expect("records").expect("valid");
    assert_eq!((last.seq, last.kind, last.time_ns), (11, EventKind::SyncFailed, 10));
    assert!(j.verify().sync_failed);
}

/// Minor page faults of the calling thread so far.
fn thread_faults() -> u64 {
    // SAFETY: `getrusage` fills the zeroed struct it is given.
    let mut ru: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: as above; RUSAGE_THREAD reports the calling thread.
    assert_eq!(unsafe { libc::getrusage(libc::RUSAGE_THREAD, &mut ru) }, 0);
    ru.ru_minflt as u64
}

/// A writer on a 64 MiB segment with `records` prepared up front, on a disk-backed temp dir.
fn prepared_writer(dir: &Path, sync: SyncPolicy, records: u64) -> JournalWriter {
    disk_backed(dir);
    let mut cfg = config(dir, sync);
    cfg.journal.segment_bytes = 64 << 20;
    cfg.journal.prepare_records = Some(records);
    let valid = cfg.validate().expect("valid");
    let (eclock, _) = EngineClock::manual(0);
    JournalWriter::create_with(&valid.journal, &cfg.journal_meta(&eclock), WriterOptions::default())
        .expect("journal")
}

/// The space prepared before the session is faulted in: appending into it takes no page fault
/// on the writing thread (at most a couple, should the kernel's writeback clean a page of it
/// while the test runs; without pre-faulting it would be one per 64 records, 781 here).
#[test]
fn appends_into_the_prepared_space_take_no_page_fault() {
    let dir = tempfile::tempdir().expect("temp dir");
    let mut w = prepared_writer(dir.path(), SyncPolicy::None, 100_000);
    let before = thread_faults();
    for seq in 1..=50_000 {
        w.record(&EventRecord::new(seq, Event::Logon));
    }
    let faults = thread_faults() - before;
    assert!(faults <= 2, "{faults} page faults in 50 000 appends");
    w.close().expect("close");
}

/// Flushing write-protects the flushed pages, the one being filled included: the flush faults
/// that page in again, so the next record does not take the fault (at most one, should the
/// kernel's writeback meanwhile clean it again; without the re-fault it is always one).
#[test]
fn a_flush_leaves_the_page_of_the_next_record_writable() {
    let dir = tempfile::tempdir().expect("temp dir");
    let mut w = prepared_writer(dir.path(), SyncPolicy::OnLogout, 100_000);
    let mut faults = 0;
    let mut seq = 0;
    for _ in 0..20 {
        // A page holds 64 records: flush with the page a third full, then fill it.
        for _ in 0..20 {
            seq += 1;
            w.record(&EventRecord::new(seq, Event::Logon));
        }
        w.sync();
        let before = thread_faults();
        for _ in 0..44 {
            seq += 1;
            w.record(&EventRecord::new(seq, Event::Logon));
        }
        faults += thread_faults() - before;
    }
    assert!(faults <= 1, "{faults} page faults on the page being filled after 20 flushes");
    let s = w.close().expect("close");
    assert!(s.syncs >= 20, "{s:?}");
}
