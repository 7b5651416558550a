//! Making the journal durable: [`Flusher`] flushes what has been published (`msync` of the
//! committed range, the headers of new segments, then `fsync` of the directory for their names);
//! [`IntervalThread`] runs one every `[journal] sync` milliseconds.
//!
//! **Who flushes.** `on-logout` (and every logout under an interval policy, and shutdown) flushes
//! on the engine thread, in [`EventSink::sync`](crate::sink::EventSink::sync): the engine goes on
//! only once everything up to the logout record is on disk, which is the policy's promise. The
//! interval policy's periodic flushes run on their own thread, which sleeps between them: a
//! flush is mostly waiting for the disk (IO wait, not CPU), and waiting must never happen on the
//! engine thread while orders flow. Nothing else in the journal runs off the engine thread.
//!
//! **Page faults.** Flushing a page write-protects it until it is written again. Ranges are
//! flushed from the last flushed page up to the last published record only, so the pre-faulted
//! pages ahead stay writable; the one page shared with the next record is faulted in again right
//! after the flush, so the engine does not take that fault on its next record.
//!
//! **Failures.** A failed flush is counted, remembered ([`SyncShared`]) and marked in the header
//! of the segment it concerned (`sync_failed`, which makes `oms verify` exit 1); the writer then
//! journals a `sync_failed` event. Linux may drop dirty pages whose write-back failed, so a failed
//! flush is never silently retried into success.

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

use crossbeam_queue::ArrayQueue;

use super::segment::Faults;
use super::segment::{Segment, sync_dir};
use super::ticker::Ticker;
use crate::record::RECORD_SIZE;

const PAGE: usize = 4096;

/// Counters and hand-over shared by the writer and the interval thread.
#[derive(Debug)]
pub(super) struct SyncShared {
    /// Successful flush rounds.
    pub(super) syncs: AtomicU64,
    /// Failed flushes.
    pub(super) errors: AtomicU64,
    /// Every record with a sequence number up to this is on disk (it stops moving at the first
    /// failed flush).
    pub(super) synced_seq: AtomicU64,
    pub(super) last_error: Mutex<Option<String>>,
    /// Segments built by the writer, for the interval thread.
    pub(super) segments: ArrayQueue<Segment>,
    pub(super) stop: AtomicBool,
}

impl SyncShared {
    pub(super) fn new() -> SyncShared {
        SyncShared {
            syncs: AtomicU64::new(0),
            errors: AtomicU64::new(0),
            synced_seq: AtomicU64::new(0),
            last_error: Mutex::new(None),
            segments: ArrayQueue::new(256),
            stop: AtomicBool::new(false),
        }
    }

    fn failed(&self, what: String) {
        self.errors.fetch_add(1, Ordering::AcqRel);
        if let Ok(mut last) = self.last_error.lock() {
            *last = Some(what);
        }
    }
}

/// A segment the flusher still has something to flush in.
#[derive(Debug)]
struct Tracked {
    seg: Segment,
    header_synced: bool,
    /// Bytes from the start of the file known flushed.
    synced: usize,
}

/// Flushes published records and new segments' headers and names; see the module docs.
#[derive(Debug)]
pub(super) struct Flusher {
    live: Vec<Tracked>,
    dir_dirty: bool,
    base: PathBuf,
    faults: Option<Arc<Faults>>,
}

impl Flusher {
    pub(super) fn new(base: PathBuf, faults: Option<Arc<Faults>>) -> Flusher {
        Flusher { live: Vec::with_capacity(16), dir_dirty: false, base, faults }
    }

    /// A newly built segment: its header and name are flushed at the next round.
    pub(super) fn add(&mut self, seg: Segment) {
        self.live.push(Tracked { seg, header_synced: false, synced: 0 });
        self.dir_dirty = true;
    }

    /// A segment of a resumed journal whose first `synced` bytes (header included) and name are
    /// already on disk.
    pub(super) fn add_synced(&mut self, seg: Segment, synced: usize) {
        self.live.push(Tracked { seg, header_synced: true, synced });
    }

    /// Flushes everything published so far: records (segment by segment, in order), the headers
    /// of segments not flushed yet, then the directory. Failures are counted in `shared` and
    /// marked in the segment's header; the round goes on with the rest. Returns whether
    /// everything succeeded.
    pub(super) fn round(&mut self, shared: &SyncShared) -> bool {
        let mut ok = true;
        let mut synced_seq = None;
        let mut done = 0;
        for (i, t) in self.live.iter_mut().enumerate() {
            if !t.header_synced {
                match flush(&t.seg, 0, t.seg.map.header_bytes(), self.faults.as_deref()) {
                    Ok(()) => t.header_synced = true,
                    Err(e) => {
                        ok = false;
                        t.seg.map.mark_sync_failed();
                        shared.failed(format!("{}: cannot flush the header: {e}", t.seg.path.display()));
                    }
                }
            }
            let committed = t.seg.map.committed();
            let end = t.seg.map.header_bytes() + committed as usize * RECORD_SIZE;
            if end > t.synced && committed > 0 {
                let from = t.synced / PAGE * PAGE;
                match flush(&t.seg, from, end - from, self.faults.as_deref()) {
                    Ok(()) => {
                        t.synced = end;
                        synced_seq = Some(t.seg.first_seq + committed - 1);
                        if !end.is_multiple_of(PAGE) {
                            // The page the next record goes into: writable again before the
                            // writer gets there (best effort; the writer would fault it itself).
                            let _ = t.seg.map.prefault(end / PAGE * PAGE, PAGE);
                        }
                    }
                    Err(e) => {
                        ok = false;
                        t.seg.map.mark_sync_failed();
                        shared.failed(format!(
                            "{}: cannot flush records up to seq {}: {e}",
                            t.seg.path.display(),
                            t.seg.first_seq + committed - 1
                        ));
                    }
                }
            }
            if committed < t.seg.map.capacity() {
                break; // later segments hold nothing published yet
            }
            if t.header_synced && t.synced == t.seg.map.len().min(end) && i == done {
                done += 1;
            }
        }
        if self.dir_dirty {
            match sync_dir(&self.base) {
                Ok(()) => self.dir_dirty = false,
                Err(e) => {
                    ok = false;
                    shared.failed(format!("{}: cannot flush the directory: {e}", self.base.display()));
                }
            }
        }
        // Finished segments are forgotten (their mapping goes with the last clone).
        self.live.drain(..done);
        // After any failure nothing is known to be on disk any more (the kernel may have dropped
        // the pages whose write-back failed, and a later flush would not see them dirty).
        if let Some(s) = synced_seq
            && ok
            && shared.errors.load(Ordering::Acquire) == 0
        {
            shared.synced_seq.fetch_max(s, Ordering::AcqRel);
        }
        if ok {
            shared.syncs.fetch_add(1, Ordering::AcqRel);
        }
        ok
    }

    /// Flushes the header of `seg` (live fields changed: closed, dropped, sync_failed).
    pub(super) fn flush_header(&self, seg: &Segment, shared: &SyncShared) -> bool {
        match flush(seg, 0, seg.map.header_bytes(), self.faults.as_deref()) {
            Ok(()) => true,
            Err(e) => {
                seg.map.mark_sync_failed();
                shared.failed(format!("{}: cannot flush the header: {e}", seg.path.display()));
                false
            }
        }
    }
}

/// `msync` of `seg`'s bytes `from..from + len` (or the injected failure).
fn flush(seg: &Segment, from: usize, len: usize, faults: Option<&Faults>) -> std::io::Result<()> {
    if faults.is_some_and(|f| f.sync_error.load(Ordering::Relaxed)) {
        return Err(std::io::Error::from_raw_os_error(libc::EIO));
    }
    seg.map.flush(from, len)
}

/// The interval policy's thread: a [`Flusher`] round every `interval`, asleep in between.
#[derive(Debug)]
pub(super) struct IntervalThread {
    handle: Option<JoinHandle<()>>,
    shared: Arc<SyncShared>,
}

impl IntervalThread {
    /// Starts the thread; `clock` tells it when a round is due (a mock clock in tests).
    pub(super) fn spawn(
        shared: Arc<SyncShared>,
        mut flusher: Flusher,
        interval: Duration,
        clock: Ticker,
    ) -> std::io::Result<IntervalThread> {
        let s = Arc::clone(&shared);
        let handle = std::thread::Builder::new().name("oms-journal-sync".into()).spawn(move || {
            let mut due = clock.now() + interval;
            loop {
                while let Some(seg) = s.segments.pop() {
                    flusher.add(seg);
                }
                if s.stop.load(Ordering::Acquire) {
                    return;
                }
                let now = clock.now();
                if now >= due {
                    flusher.round(&s);
                    due = clock.now() + interval;
                }
                let wait = due.saturating_sub(clock.now());
                std::thread::park_timeout(
                    wait.clamp(Duration::from_millis(1), interval.max(Duration::from_millis(1))),
                );
            }
        })?;
        Ok(IntervalThread { handle: Some(handle), shared })
    }

    /// Stops and joins the thread (the writer flushes once more itself).
    pub(super) fn stop(&mut self) {
        self.shared.stop.store(true, Ordering::Release);
        if let Some(h) = self.handle.take() {
            h.thread().unpark();
            let _ = h.join();
        }
    }
}

impl Drop for IntervalThread {
    fn drop(&mut self) {
        self.stop();
    }
}
