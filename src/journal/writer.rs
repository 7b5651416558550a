//! [`JournalWriter`]: the engine's [`EventSink`] over memory-mapped, pre-faulted segments.
//!
//! **Hot path.** [`EventSink::record`] numbers the event, builds its eight words and checksum
//! ([`EventRecord::to_words`], [`seal`]) and hands them to `SegmentMap::write_slot` (in
//! `mapping.rs`), which writes bytes 8..64 into the next slot of the current segment and then
//! publishes the slot by storing its sequence number (bytes 0..8) with release ordering. A reader
//! that sees a non-zero sequence number sees the whole record; a crash between the two steps
//! leaves the slot's sequence number at 0, so the half-written record is never accepted. No
//! allocation, lock, syscall or formatting happens there: a comparison with the capacity, the
//! words, the CRC-32, seven plain stores and one release store.
//!
//! **Background thread** (one per writer, `background.rs`). It keeps `SEGMENTS_AHEAD` (two)
//! segments ready ahead of the current one: it creates `base.NNNNNN.tmp` with mode 0600,
//! reserves its blocks with `fallocate` (a sparse `set_len` would turn a full disk into SIGBUS at
//! the first write into a hole), writes the header, maps it and pre-faults every page
//! (`MADV_POPULATE_WRITE`, or touching each page when the kernel refuses), then hard-links it to
//! its final name (which fails rather than overwrite) and hands it over through a lock-free
//! queue. The engine thread takes the next one when its segment is full and sends the old one
//! back; the background thread flushes (per the sync policy) and unmaps it. It also runs the sync
//! policy, flushing only the committed range so that the pre-faulted, not yet written pages stay
//! writable.
//!
//! **Full disk.** When preparing a segment fails (ENOSPC or any other error), the background
//! thread retries every 200 ms, and [`EventSink::has_room`] turns `false` once no more than
//! [`WriterOptions::reserve_records`] slots are left in the current segment and the segments
//! already prepared ahead (so a full disk is found with one or two segments of room left, enough
//! for a reserve sized by [`WriterOptions::for_engine`]): the engine then rejects New orders
//! `journal_full` and sends nothing more, and the reserve holds those rejects and the end of the
//! session. If even the reserve runs out, `record` neither panics nor blocks: it drops the record
//! and counts it ([`JournalStats::dropped`]); the running count is also stored in the current
//! segment's header, where `oms verify` reports it.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crossbeam_queue::ArrayQueue;

use super::{JournalSettings, SyncPolicy};
use crate::engine::Capacities;
use crate::record::{EventRecord, RECORD_SIZE, seal};
use crate::sink::EventSink;

use super::background::{Background, Live, PAGE, SEGMENTS_AHEAD, Segment, Shared, prepare_segment};
use super::format::{FIXED_HEADER, FORMAT_VERSION, MAX_HEADER_BYTES, SegmentHeader, existing_segments};
use super::{ConfigProblem, JournalError, JournalMeta};

/// The fewest records a segment must hold.
const MIN_SEGMENT_RECORDS: u64 = 16;

/// Options of [`JournalWriter::create_with`].
#[derive(Clone, Debug)]
pub struct WriterOptions {
    /// Slots kept in reserve for the end of the session once the disk is full: when preparing a
    /// segment has failed, [`EventSink::has_room`] returns `false` as soon as the room left (the
    /// current segment plus the segments already prepared ahead) is down to this many slots.
    /// Size it for what the engine still records after that: the `journal_full` rejects, the
    /// `session_ended` / `shutdown` rejects of the queued orders, logout, `unanswered` — see
    /// [`WriterOptions::for_engine`]. While nothing has failed, a next segment that is merely not
    /// ready yet makes `has_room` false only within half a segment of the end (the reserve, at
    /// most half a segment). Default 65536 (4 MiB of records).
    pub reserve_records: u64,
    /// Remove an existing journal at the same path (base file and numbered segments) instead of
    /// refusing to start. Default `false`: a journal is never overwritten silently.
    pub overwrite: bool,
    /// Test hook: preparing segment `n` or any later one fails with ENOSPC, as on a full disk.
    #[doc(hidden)]
    pub inject_enospc_from_segment: Option<u32>,
}

impl WriterOptions {
    /// Options whose reserve covers the end of a session of an engine built from `cfg`: every
    /// queued order rejected, every in-flight order recorded `unanswered`, a logout, and a full
    /// ring of `journal_full` rejects per producer for `producers` producers.
    pub fn for_engine(e: &Capacities, producers: usize) -> Self {
        let tail =
            e.max_queued_orders.get() + e.max_in_flight.get() + (producers + 1) * e.ring_capacity.get();
        WriterOptions { reserve_records: tail as u64 + 16, ..WriterOptions::default() }
    }
}

impl Default for WriterOptions {
    fn default() -> Self {
        WriterOptions { reserve_records: 65536, overwrite: false, inject_enospc_from_segment: None }
    }
}

/// State of the segment after the current one; see [`JournalWriter::wait_next_segment`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NextSegment {
    /// Every segment kept ahead is prepared and waiting in the hand-over queue.
    Ready,
    /// Its preparation failed (the background thread retries every 200 ms).
    Failed,
    /// Still being prepared when the wait timed out.
    Pending,
}

/// What a writer did, returned by [`JournalWriter::close`] (and [`JournalWriter::stats`]).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct JournalStats {
    /// Records written (published).
    pub records: u64,
    /// Sequence number of the last record written (0 if none).
    pub last_seq: u64,
    /// Segment files holding records.
    pub segments: u32,
    /// Records dropped because not even the reserve was left (last resort; should stay 0).
    pub dropped: u64,
    /// Failed attempts to prepare the next segment (e.g. ENOSPC).
    pub prepare_failures: u64,
    /// The last preparation error, if any.
    pub last_prepare_error: Option<String>,
}

/// The journal writer: implements [`EventSink`] for the engine thread. See the module docs.
///
/// ```no_run
/// use oms::journal::JournalWriter;
/// use oms::{Config, EngineClock, EventKind, EventRecord, EventSink};
///
/// let config = Config::default();
/// let valid = config.validate()?;
/// let clock = EngineClock::system();
/// let mut w = JournalWriter::create(&valid.journal, &config.journal_meta(&clock))?;
/// w.record(&EventRecord::bare(EventKind::Logon, clock.wall_ns(clock.now_ns())));
/// let stats = w.close()?;
/// assert_eq!(stats.records, 1);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct JournalWriter {
    /// The current segment. This writer is the only writer of its slots (and of every segment's
    /// slots: a segment is current once, and the background thread only reads and flushes).
    seg: Segment,
    /// Next slot to write in `seg`; every slot below it is written, none above.
    pos: u64,
    next_seq: u64,
    /// The reserve once preparation has failed (counted over the current and prepared segments).
    reserve: u64,
    /// The reserve while nothing has failed (within the current segment; at most half of it).
    transient_reserve: u64,
    dropped: u64,
    segments: u32,
    shared: Arc<Shared>,
    /// The background thread; `None` once the writer is shut down.
    bg: Option<JoinHandle<()>>,
    base: PathBuf,
}

impl std::fmt::Debug for JournalWriter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("JournalWriter")
            .field("base", &self.base)
            .field("segment", &self.seg.index)
            .field("pos", &self.pos)
            .field("cap", &self.seg.map.capacity())
            .field("next_seq", &self.next_seq)
            .finish()
    }
}

impl JournalWriter {
    /// Creates a new journal at `cfg.path` with default [`WriterOptions`]. Refuses to replace an
    /// existing journal ([`JournalError::Exists`]).
    pub fn create(cfg: &JournalSettings, meta: &JournalMeta) -> Result<JournalWriter, JournalError> {
        Self::create_with(cfg, meta, WriterOptions::default())
    }

    /// Creates a new journal: prepares segment 0 on the calling thread (start-up, off the hot
    /// path) and starts the background thread, which prepares segment 1 right away.
    pub fn create_with(
        cfg: &JournalSettings,
        meta: &JournalMeta,
        opts: WriterOptions,
    ) -> Result<JournalWriter, JournalError> {
        let base = cfg.path.clone();
        let config_err = |problem: ConfigProblem| JournalError::Config { path: base.clone(), problem };
        let strings = meta.timezone.len() as u64 + meta.config_toml.len() as u64;
        let max = MAX_HEADER_BYTES - FIXED_HEADER as u64;
        if strings > max {
            return Err(config_err(ConfigProblem::HeaderTooLong { bytes: strings, max }));
        }
        let header_bytes = SegmentHeader::header_bytes_for(&meta.timezone, &meta.config_toml);
        let segment_bytes = cfg.segment_bytes;
        if !segment_bytes.is_multiple_of(PAGE as u64) {
            return Err(config_err(ConfigProblem::SegmentNotPageMultiple { segment_bytes }));
        }
        if segment_bytes < header_bytes + MIN_SEGMENT_RECORDS * RECORD_SIZE as u64 {
            return Err(config_err(ConfigProblem::SegmentTooSmall {
                segment_bytes,
                header_bytes,
                min_records: MIN_SEGMENT_RECORDS,
            }));
        }
        let mut existing: Vec<PathBuf> = existing_segments(&base)?.into_iter().map(|(_, p)| p).collect();
        if std::fs::symlink_metadata(&base).is_ok() {
            existing.insert(0, base.clone());
        }
        if let Some(first) = existing.first() {
            if !opts.overwrite {
                return Err(JournalError::Exists { path: first.clone() });
            }
            for p in &existing {
                std::fs::remove_file(p).map_err(|e| JournalError::io(p, "remove the old journal file", e))?;
            }
        }

        let mut template = SegmentHeader {
            version: FORMAT_VERSION,
            header_bytes,
            segment_bytes: cfg.segment_bytes,
            segment_index: 0,
            first_seq: 1,
            journal_id: fastrand::u64(..) ^ meta.created_wall_ns as u64,
            meta: meta.clone(),
            dropped: 0,
            closed: false,
        };
        let durable = cfg.sync != SyncPolicy::None;
        let seg0 = prepare_segment(&base, &template, durable, opts.inject_enospc_from_segment)?;
        let cap = seg0.map.capacity();
        template.segment_index = 1;
        template.first_seq = 1 + cap;

        let shared = Arc::new(Shared {
            ready: ArrayQueue::new(SEGMENTS_AHEAD),
            retired: ArrayQueue::new(4),
            stop: AtomicBool::new(false),
            sync_requests: AtomicU64::new(0),
            prepare_failures: AtomicU64::new(0),
            retry_pending: AtomicBool::new(false),
            last_error: Mutex::new(None),
        });
        let mut bg = Background {
            shared: Arc::clone(&shared),
            base: base.clone(),
            template,
            policy: cfg.sync,
            inject: opts.inject_enospc_from_segment,
            live: vec![Live::new(&seg0)],
            retry_at: None,
            seen_sync_requests: 0,
            last_sync: Instant::now(),
            last_refresh: Instant::now(),
        };
        let bg = std::thread::Builder::new()
            .name("oms-journal".into())
            .spawn(move || bg.run())
            .map_err(|e| JournalError::io(&base, "start the journal background thread", e))?;

        Ok(JournalWriter {
            seg: seg0,
            pos: 0,
            next_seq: 1,
            reserve: opts.reserve_records,
            transient_reserve: opts.reserve_records.min(cap / 2),
            dropped: 0,
            segments: 1,
            shared,
            bg: Some(bg),
            base,
        })
    }

    /// The journal's base path.
    pub fn path(&self) -> &Path {
        &self.base
    }

    /// Slots kept in reserve once preparing a segment has failed.
    pub fn reserve_records(&self) -> u64 {
        self.reserve
    }

    /// Sequence number the next record will get.
    pub fn next_seq(&self) -> u64 {
        self.next_seq
    }

    /// Blocks until the background thread has the next segment ready, has failed to prepare it
    /// (e.g. a full disk), or `timeout` passed. For start-up and tests; never on the hot path.
    pub fn wait_next_segment(&self, timeout: Duration) -> NextSegment {
        let failures = self.shared.prepare_failures.load(Ordering::Acquire);
        let deadline = Instant::now() + timeout;
        loop {
            // Ready once nothing is left to prepare: a benchmark that waits here then measures
            // the append path with the background thread idle.
            if self.shared.ready.is_full() {
                return NextSegment::Ready;
            }
            if self.shared.prepare_failures.load(Ordering::Acquire) > failures
                || (failures > 0 && self.shared.retry_pending.load(Ordering::Acquire))
            {
                return NextSegment::Failed;
            }
            if Instant::now() >= deadline {
                return NextSegment::Pending;
            }
            std::thread::sleep(Duration::from_micros(200));
        }
    }

    /// A snapshot of the counters.
    pub fn stats(&self) -> JournalStats {
        JournalStats {
            records: self.next_seq - 1,
            last_seq: self.next_seq - 1,
            segments: self.segments,
            dropped: self.dropped,
            prepare_failures: self.shared.prepare_failures.load(Ordering::Relaxed),
            last_prepare_error: self.shared.last_error.lock().ok().and_then(|e| e.clone()),
        }
    }

    /// Appends one record: sets its `seq` to the next sequence number and its checksum, writes
    /// it and publishes it. This is [`EventSink::record`].
    #[inline]
    pub fn append(&mut self, event: &EventRecord) {
        if self.pos == self.seg.map.capacity() && !self.roll() {
            self.drop_record();
            return;
        }
        let seq = self.next_seq;
        let mut words = event.to_words(seq);
        seal(&mut words);
        // SAFETY: `pos < capacity`: it was checked just above, and a roll starts a new segment at
        // 0. This writer is the only writer of the segment's slots (see `seg`), and slot `pos`
        // has not been written: `pos` only grows within a segment and a segment is current once.
        unsafe { self.seg.map.write_slot(self.pos, &words) };
        self.pos += 1;
        self.next_seq = seq + 1;
    }

    /// Moves to the prepared next segment; `false` if there is none.
    #[cold]
    #[inline(never)]
    fn roll(&mut self) -> bool {
        let Some(next) = self.shared.ready.pop() else { return false };
        let old = std::mem::replace(&mut self.seg, next);
        self.pos = 0;
        self.segments += 1;
        // The queue holds 4. Without the background thread, at most SEGMENTS_AHEAD (2) rolls can
        // happen, and it drains the queue before it prepares the segment that allows another,
        // so this does not fail; if it did, the old segment would be unmapped without the flush
        // its retirement does.
        let _ = self.shared.retired.push(old);
        // Wake the background thread now to retire the old segment and prepare the next one
        // (it no longer polls). One futex wake per segment, on this cold path.
        if let Some(bg) = &self.bg {
            bg.thread().unpark();
        }
        self.transient_reserve = self.transient_reserve.min(self.seg.map.capacity() / 2);
        true
    }

    #[cold]
    #[inline(never)]
    fn drop_record(&mut self) {
        self.dropped += 1;
        self.seg.map.store_dropped(self.dropped);
    }

    fn shutdown(&mut self) -> Result<JournalStats, JournalError> {
        let Some(bg) = self.bg.take() else { return Ok(self.stats()) };
        self.seg.map.store_dropped(self.dropped);
        self.seg.map.mark_closed();
        // Flushed by the background thread after it sees `stop` (the writer's own handle keeps
        // the segment mapped until the writer is dropped; nothing is written after this).
        let _ = self.shared.retired.push(self.seg.clone());
        self.shared.stop.store(true, Ordering::Release);
        bg.thread().unpark();
        let joined = bg.join();
        let stats = self.stats();
        match joined {
            Ok(()) => Ok(stats),
            Err(_) => Err(JournalError::io(
                &self.base,
                "finish the journal background thread",
                std::io::Error::other("it panicked"),
            )),
        }
    }

    /// Marks the journal closed, flushes it per the sync policy, deletes the unused prepared
    /// segments and joins the background thread. Also done (best effort) on drop.
    pub fn close(mut self) -> Result<JournalStats, JournalError> {
        self.shutdown()
    }
}

impl Drop for JournalWriter {
    fn drop(&mut self) {
        let _ = self.shutdown();
    }
}

impl EventSink for JournalWriter {
    #[inline]
    fn record(&mut self, event: &EventRecord) {
        self.append(event);
    }

    #[inline]
    fn has_room(&self) -> bool {
        let cap = self.seg.map.capacity();
        let left = cap - self.pos;
        if !self.shared.retry_pending.load(Ordering::Relaxed) {
            // Nothing failed: only a next segment that is late, near the end of this one, counts.
            return left > self.transient_reserve || !self.shared.ready.is_empty();
        }
        // The disk is full (or failing): stop while the room left still holds the reserve.
        left + self.shared.ready.len() as u64 * cap > self.reserve
    }

    fn sync(&mut self) {
        self.shared.sync_requests.fetch_add(1, Ordering::Release);
        if let Some(bg) = &self.bg {
            bg.thread().unpark();
        }
    }
}
