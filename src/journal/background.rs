//! The journal's background thread: prepares segments ahead (create, `fallocate`, `fsync`,
//! map and pre-fault, link), hands them to the writer, retires and flushes full ones, applies
//! the sync policy and re-faults pages the kernel's writeback write-protected. Nothing here runs
//! on the engine thread except the hand-over queues in [`Shared`]. The segments' memory is
//! touched only through [`SegmentMap`].

use std::fs::{File, OpenOptions};
use std::os::fd::AsRawFd;
use std::os::unix::fs::{FileExt, OpenOptionsExt};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crossbeam_queue::ArrayQueue;

use super::SyncPolicy;
use crate::record::RECORD_SIZE;

use super::JournalError;
use super::format::{SegmentHeader, segment_path};
use super::mapping::SegmentMap;

pub(super) const PAGE: usize = 4096;
/// Shortest park of the background thread (a retry or a sync interval due sooner is rounded up
/// to this).
const POLL: Duration = Duration::from_millis(2);
/// Longest park of the background thread when nothing is scheduled: the writer unparks it at
/// every roll-over, `sync` and shutdown, so this is only a safety net. (It used to wake every
/// `POLL`: 500 wake-ups a second, each of which preempts a spinning engine or producer thread
/// when every core is taken by one; see docs/BENCHMARKS.md for the before/after.)
const IDLE_PARK: Duration = Duration::from_millis(100);
/// How long the background thread waits before retrying a failed segment preparation.
const RETRY: Duration = Duration::from_millis(200);
/// How often the background thread re-faults the unwritten part of the live segments: the
/// kernel's periodic writeback (after `dirty_expire_centisecs`, 30 s by default) cleans the
/// pre-faulted pages and write-protects them, which would put a page fault back on the engine
/// thread once per page. Re-faulting pages that are still writable is a page-table walk.
const REFRESH: Duration = Duration::from_secs(10);
/// Segments kept prepared ahead of the current one. Two, so that a burst that fills a segment
/// while the background thread is starved of CPU (producer and engine spinning on both cores of a
/// small machine) still finds the next one ready rather than turning into `journal_full` rejects.
pub(super) const SEGMENTS_AHEAD: usize = 2;

/// A prepared, mapped, pre-faulted segment.
#[derive(Clone, Debug)]
pub(super) struct Segment {
    pub(super) map: SegmentMap,
    pub(super) path: PathBuf,
    pub(super) index: u32,
}

/// State shared with the background thread. The engine thread touches only `ready` (when its
/// segment is nearly full or full) and `retired` (at a roll-over).
pub(super) struct Shared {
    pub(super) ready: ArrayQueue<Segment>,
    pub(super) retired: ArrayQueue<Segment>,
    pub(super) stop: AtomicBool,
    pub(super) sync_requests: AtomicU64,
    pub(super) prepare_failures: AtomicU64,
    /// The last preparation failed and no segment has been prepared since.
    pub(super) retry_pending: AtomicBool,
    pub(super) last_error: Mutex<Option<String>>,
}

/// Creates, reserves, pre-faults and names one segment (background thread, and segment 0 at
/// start-up).
pub(super) fn prepare_segment(
    base: &Path,
    header: &SegmentHeader,
    durable: bool,
    inject: Option<u32>,
) -> Result<Segment, JournalError> {
    let path = segment_path(base, header.segment_index);
    let mut tmp_name = path.as_os_str().to_owned();
    tmp_name.push(".tmp");
    let tmp = PathBuf::from(tmp_name);
    let _ = std::fs::remove_file(&tmp); // a leftover of a crash during preparation
    let file = OpenOptions::new()
        .read(true)
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(&tmp)
        .map_err(|e| JournalError::io(&tmp, "create", e))?;
    let guard = RemoveOnDrop(Some(tmp.clone()));
    let len = header.segment_bytes;
    if inject.is_some_and(|n| header.segment_index >= n) {
        let e = std::io::Error::from_raw_os_error(libc::ENOSPC);
        return Err(JournalError::io(&tmp, &format!("reserve {len} bytes (fallocate, injected)"), e));
    }
    reserve(&file, len)
        .map_err(|e| JournalError::io(&tmp, &format!("reserve {len} bytes (fallocate)"), e))?;
    let bytes = header.encode();
    file.write_all_at(&bytes, 0).map_err(|e| JournalError::io(&tmp, "write the header", e))?;
    // Sync the allocation and the header before pre-faulting: writing back a pre-faulted page
    // cleans it and write-protects it again, and the engine would then take a page fault
    // (ext4 `page_mkwrite`) on the first record of every page. Seen in a profile of the engine
    // step before this order was fixed.
    if durable {
        file.sync_all().map_err(|e| JournalError::io(&tmp, "sync", e))?;
    }
    let map = SegmentMap::map_file(&file, header.header_bytes, len)
        .map_err(|e| JournalError::io(&tmp, "map", e))?;
    std::fs::hard_link(&tmp, &path).map_err(|e| {
        if e.kind() == std::io::ErrorKind::AlreadyExists {
            JournalError::Exists { path: path.clone() }
        } else {
            JournalError::io(&path, "link the prepared segment", e)
        }
    })?;
    drop(guard);
    if durable {
        sync_dir(&path);
    }
    Ok(Segment { map, path, index: header.segment_index })
}

struct RemoveOnDrop(Option<PathBuf>);

impl Drop for RemoveOnDrop {
    fn drop(&mut self) {
        if let Some(p) = self.0.take() {
            let _ = std::fs::remove_file(p);
        }
    }
}

/// Reserves the file's blocks: `fallocate`, or writing zeros where the file system lacks it.
fn reserve(file: &File, len: u64) -> std::io::Result<()> {
    let Ok(len_off) = libc::off_t::try_from(len) else {
        return Err(std::io::Error::from_raw_os_error(libc::EFBIG));
    };
    // SAFETY: plain syscall on a file descriptor we own; no memory is passed.
    let rc = unsafe { libc::fallocate(file.as_raw_fd(), 0, 0, len_off) };
    if rc == 0 {
        return Ok(());
    }
    let err = std::io::Error::last_os_error();
    if err.raw_os_error() != Some(libc::EOPNOTSUPP) {
        return Err(err);
    }
    let zeros = vec![0u8; 1 << 20];
    let mut at = 0u64;
    while at < len {
        let n = (len - at).min(zeros.len() as u64) as usize;
        file.write_all_at(&zeros[..n], at)?;
        at += n as u64;
    }
    Ok(())
}

pub(super) fn sync_dir(path: &Path) {
    if let Some(dir) = path.parent() {
        let dir = if dir.as_os_str().is_empty() { Path::new(".") } else { dir };
        if let Ok(d) = File::open(dir) {
            let _ = d.sync_all();
        }
    }
}

/// A segment the background thread may still flush.
pub(super) struct Live {
    pub(super) map: SegmentMap,
    pub(super) index: u32,
    /// Bytes from the start of the file known flushed.
    pub(super) synced: usize,
}

impl Live {
    pub(super) fn new(s: &Segment) -> Live {
        Live { map: s.map.clone(), index: s.index, synced: 0 }
    }

    /// Faults the not yet written pages in for writing again (see [`REFRESH`]).
    fn refault_unwritten(&self) {
        let n = self.map.committed();
        let from = (self.map.header_bytes() + n as usize * RECORD_SIZE).div_ceil(PAGE) * PAGE;
        if from < self.map.len() {
            let _ = self.map.populate_write(from, self.map.len() - from);
        }
    }

    /// Flushes the committed range not yet flushed (the header page on the first call). Pages
    /// past the committed records are left alone: flushing them would write-protect them again
    /// and the engine would take a page fault on each.
    fn flush_committed(&mut self) {
        let n = self.map.committed();
        let end = self.map.header_bytes() + n as usize * RECORD_SIZE;
        let from = self.synced / PAGE * PAGE;
        let from = if self.synced == 0 { 0 } else { from };
        if end > from {
            let _ = self.map.flush(from, end - from);
            self.synced = end;
        }
    }
}

/// The background thread's state.
pub(super) struct Background {
    pub(super) shared: Arc<Shared>,
    pub(super) base: PathBuf,
    /// Header of the next segment to prepare.
    pub(super) template: SegmentHeader,
    pub(super) policy: SyncPolicy,
    pub(super) inject: Option<u32>,
    pub(super) live: Vec<Live>,
    pub(super) retry_at: Option<Instant>,
    pub(super) seen_sync_requests: u64,
    pub(super) last_sync: Instant,
    pub(super) last_refresh: Instant,
}

impl Background {
    pub(super) fn run(&mut self) {
        loop {
            let stopping = self.shared.stop.load(Ordering::Acquire);
            self.retire();
            if stopping {
                self.finish();
                return;
            }
            self.prepare_next();
            self.sync_if_due();
            if self.last_refresh.elapsed() >= REFRESH {
                self.last_refresh = Instant::now();
                for l in &self.live {
                    l.refault_unwritten();
                }
            }
            std::thread::park_timeout(self.park_for());
        }
    }

    /// How long to park: until a retry or an interval sync is due, else [`IDLE_PARK`]. Work
    /// that the writer creates (a roll-over, a sync request, shutdown) unparks the thread.
    fn park_for(&self) -> Duration {
        let now = Instant::now();
        let mut d = IDLE_PARK;
        if let Some(t) = self.retry_at {
            d = d.min(t.saturating_duration_since(now));
        }
        if let SyncPolicy::IntervalMs(ms) = self.policy {
            d = d.min(Duration::from_millis(ms.get()).saturating_sub(self.last_sync.elapsed()));
        }
        d.max(POLL)
    }

    fn retire(&mut self) {
        while let Some(seg) = self.shared.retired.pop() {
            if let Some(i) = self.live.iter().position(|l| l.index == seg.index) {
                let mut live = self.live.remove(i);
                if self.policy != SyncPolicy::None {
                    live.flush_committed();
                    // The live header fields (dropped, closed) may have changed since.
                    let _ = live.map.flush(0, live.map.header_bytes());
                }
            }
            drop(seg); // unmaps, once the writer no longer holds it either
        }
    }

    fn prepare_next(&mut self) {
        while !self.shared.ready.is_full() && self.retry_at.is_none_or(|t| Instant::now() >= t) {
            self.prepare_one();
        }
    }

    fn prepare_one(&mut self) {
        let durable = self.policy != SyncPolicy::None;
        match prepare_segment(&self.base, &self.template, durable, self.inject) {
            Ok(seg) => {
                self.retry_at = None;
                self.shared.retry_pending.store(false, Ordering::Release);
                self.template.segment_index += 1;
                self.template.first_seq += seg.map.capacity();
                self.live.push(Live::new(&seg));
                if let Err(seg) = self.shared.ready.push(seg) {
                    // Cannot happen (single producer, checked not full); keep the file, unused.
                    self.live.retain(|l| l.index != seg.index);
                }
            }
            Err(e) => {
                self.retry_at = Some(Instant::now() + RETRY);
                if let Ok(mut last) = self.shared.last_error.lock() {
                    *last = Some(e.to_string());
                }
                self.shared.retry_pending.store(true, Ordering::Release);
                self.shared.prepare_failures.fetch_add(1, Ordering::Release);
            }
        }
    }

    fn sync_if_due(&mut self) {
        let requests = self.shared.sync_requests.load(Ordering::Acquire);
        let due = match self.policy {
            SyncPolicy::None => false,
            SyncPolicy::OnLogout => requests != self.seen_sync_requests,
            SyncPolicy::IntervalMs(ms) => {
                requests != self.seen_sync_requests
                    || self.last_sync.elapsed() >= Duration::from_millis(ms.get())
            }
        };
        if due {
            self.seen_sync_requests = requests;
            self.last_sync = Instant::now();
            for l in &mut self.live {
                l.flush_committed();
            }
        }
    }

    fn finish(&mut self) {
        while let Some(unused) = self.shared.ready.pop() {
            self.live.retain(|l| l.index != unused.index);
            let path = unused.path.clone();
            drop(unused);
            let _ = std::fs::remove_file(&path);
        }
        if self.policy != SyncPolicy::None {
            for l in &mut self.live {
                l.flush_committed();
            }
            sync_dir(&self.base);
        }
        self.live.clear();
    }
}
