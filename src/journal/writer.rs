//! [`JournalWriter`]: the engine's [`EventSink`] over memory-mapped, pre-faulted segments.
//!
//! **Hot path.** [`EventSink::record`] writes bytes 8..64 of the record (CRC-32 over bytes 0..60
//! computed with the final sequence number) into the next slot of the current mapping, then
//! publishes the slot by storing its sequence number (bytes 0..8) with release ordering. A
//! reader that loads a non-zero sequence number with acquire ordering sees the whole record; a
//! crash between the two steps leaves the slot's sequence number at 0, so the half-written
//! record is never accepted. No allocation, lock, syscall or formatting happens there.
//!
//! **Background thread** (one per writer). It keeps exactly one segment ready ahead of the
//! current one: it creates `base.NNNNNN.tmp` with mode 0600, reserves its blocks with
//! `fallocate` (a sparse `set_len` would turn a full disk into SIGBUS at the first write into a
//! hole), writes the header, maps it and pre-faults every page (`MADV_POPULATE_WRITE`, or
//! touching each page when the kernel refuses), then hard-links it to its final name (which
//! fails rather than overwrite) and hands it over through a lock-free one-slot queue. The engine
//! thread swaps pointers when its segment is full and sends the old one back; the background
//! thread flushes (per the sync policy) and unmaps it. It also runs the sync policy, flushing
//! only the committed range so that the pre-faulted, not yet written pages stay writable.
//!
//! **Full disk.** When preparing the next segment fails (ENOSPC or any other error), the
//! background thread retries every 200 ms, and [`EventSink::has_room`] turns `false` once
//! no more than [`WriterOptions::reserve_records`] slots are left in the current segment and the
//! segments already prepared ahead (two are kept ready, so a full disk is found with one or two
//! segments of room left, enough for a reserve sized by [`WriterOptions::for_engine`]): the
//! engine then rejects New orders `journal_full` and sends nothing more, and the reserve holds
//! those rejects and the end of the session. If even the reserve runs out, `record` neither
//! panics nor blocks: it drops the record and counts it ([`JournalStats::dropped`]); the count
//! is also stored in the last segment's header, where `oms verify` reports it.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crossbeam_queue::ArrayQueue;

use super::{JournalSettings, SyncPolicy};
use crate::engine::Capacities;
use crate::record::{EventRecord, RECORD_SIZE, Words, seal};
use crate::sink::EventSink;

use super::background::{Background, Live, PAGE, SEGMENTS_AHEAD, Segment, Shared, prepare_segment};
use super::format::{FORMAT_VERSION, SegmentHeader, existing_segments, offsets};
use super::{JournalError, JournalMeta};

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
    /// Slot 0 of the current segment.
    records: *mut u8,
    /// Start of the current mapping (header).
    header: *mut u8,
    cap: u64,
    pos: u64,
    next_seq: u64,
    /// The reserve once preparation has failed (counted over the current and prepared segments).
    reserve: u64,
    /// The reserve while nothing has failed (within the current segment; at most half of it).
    transient_reserve: u64,
    cur: Option<Segment>,
    dropped: u64,
    segments: u32,
    shared: Arc<Shared>,
    bg: Option<JoinHandle<()>>,
    base: PathBuf,
}

// SAFETY: the raw pointers point into the mapping owned by `cur` (an `Arc<MmapRaw>`, which is
// Send + Sync), which moves together with the writer; nothing about them is tied to the thread
// that created the writer. The writer is not `Sync` and all writes go through `&mut self`.
unsafe impl Send for JournalWriter {}

impl std::fmt::Debug for JournalWriter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("JournalWriter")
            .field("base", &self.base)
            .field("segment", &self.cur.as_ref().map(|s| s.index))
            .field("pos", &self.pos)
            .field("cap", &self.cap)
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
        let config_err = |problem: String| JournalError::Config { path: base.clone(), problem };
        let header_bytes = SegmentHeader::header_bytes_for(&meta.timezone, &meta.config_toml);
        if !cfg.segment_bytes.is_multiple_of(PAGE as u64) {
            return Err(config_err(format!("segment_bytes {} is not a multiple of 4096", cfg.segment_bytes)));
        }
        if cfg.segment_bytes < header_bytes + 16 * RECORD_SIZE as u64 {
            return Err(config_err(format!(
                "segment_bytes {} leaves room for fewer than 16 records after a {header_bytes}-byte header",
                cfg.segment_bytes
            )));
        }
        if u32::try_from(meta.timezone.len() + meta.config_toml.len()).is_err() {
            return Err(config_err("header strings are too long".into()));
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
        let cap = seg0.cap;
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

        let header = seg0.map.as_mut_ptr();
        let records = seg0.map.as_mut_ptr().wrapping_add(seg0.header_bytes);
        Ok(JournalWriter {
            records,
            header,
            cap,
            pos: 0,
            next_seq: 1,
            reserve: opts.reserve_records,
            transient_reserve: opts.reserve_records.min(cap / 2),
            cur: Some(seg0),
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
        if self.pos == self.cap && !self.roll() {
            self.drop_record();
            return;
        }
        let seq = self.next_seq;
        let mut words = event.to_words(seq);
        seal(&mut words);
        write_slot(self.records, self.cap, self.pos, &words);
        self.pos += 1;
        self.next_seq = seq + 1;
    }

    /// Moves to the prepared next segment; `false` if there is none.
    #[cold]
    #[inline(never)]
    fn roll(&mut self) -> bool {
        let Some(next) = self.shared.ready.pop() else { return false };
        self.header = next.map.as_mut_ptr();
        self.records = next.map.as_mut_ptr().wrapping_add(next.header_bytes);
        self.cap = next.cap;
        self.pos = 0;
        self.segments += 1;
        if let Some(old) = self.cur.replace(next) {
            // The queue holds 4 and the background thread drains it before preparing the one
            // segment that allows the next roll, so this cannot fail; if it did, the old
            // segment would simply be unmapped here.
            let _ = self.shared.retired.push(old);
        }
        // Wake the background thread now to retire the old segment and prepare the next one
        // (it no longer polls). One futex wake per segment, on this cold path.
        if let Some(bg) = &self.bg {
            bg.thread().unpark();
        }
        self.transient_reserve = self.transient_reserve.min(self.cap / 2);
        true
    }

    #[cold]
    #[inline(never)]
    fn drop_record(&mut self) {
        self.dropped += 1;
        store_header_u64(self.header, offsets::DROPPED, self.dropped);
    }

    fn shutdown(&mut self) -> Result<JournalStats, JournalError> {
        let Some(bg) = self.bg.take() else { return Ok(self.stats()) };
        if let Some(cur) = self.cur.take() {
            store_header_u64(self.header, offsets::DROPPED, self.dropped);
            store_header_u32(self.header, offsets::CLOSED, 1);
            self.records = std::ptr::null_mut();
            self.header = std::ptr::null_mut();
            self.cap = 0;
            self.pos = 0;
            // Drained by the background thread after it sees `stop`.
            if let Err(cur) = self.shared.retired.push(cur) {
                drop(cur);
            }
        }
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
    /// segment and joins the background thread. Also done (best effort) on drop.
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
        let left = self.cap - self.pos;
        if !self.shared.retry_pending.load(Ordering::Relaxed) {
            // Nothing failed: only a next segment that is late, near the end of this one, counts.
            return left > self.transient_reserve || !self.shared.ready.is_empty();
        }
        // The disk is full (or failing): stop while the room left still holds the reserve.
        left + self.shared.ready.len() as u64 * self.cap > self.reserve
    }

    fn sync(&mut self) {
        self.shared.sync_requests.fetch_add(1, Ordering::Release);
        if let Some(bg) = &self.bg {
            bg.thread().unpark();
        }
    }
}

/// Writes words 1..8 (bytes 8..64, little-endian) into slot `pos`, then publishes it by storing
/// word 0 (`seq`) with release ordering. The only write into a mapping on the hot path.
#[inline(always)]
fn write_slot(records: *mut u8, cap: u64, pos: u64, words: &Words) {
    debug_assert!(pos < cap, "slot {pos} out of {cap}");
    debug_assert!(!records.is_null());
    debug_assert_eq!(records as usize % RECORD_SIZE, 0);
    let off = pos as usize * RECORD_SIZE;
    // SAFETY: `records` is slot 0 of the current segment's shared mapping, which holds `cap`
    // slots after a page-aligned header and stays mapped while `cur` holds its `Arc<MmapRaw>`;
    // `pos < cap` (the caller rolls or drops first; asserted above), so `off..off + 64` is
    // inside the mapping and 8-byte aligned for the atomic. The file was fallocated and the
    // pages pre-faulted, so the stores cannot hit a hole. Only this writer writes the mapping;
    // the background thread only loads sequence words atomically, and readers read a body only
    // after an acquire load of its non-zero sequence word.
    unsafe {
        let slot = records.add(off).cast::<u64>();
        for (i, w) in words.iter().enumerate().skip(1) {
            slot.add(i).write(w.to_le());
        }
        AtomicU64::from_ptr(slot).store(words[0].to_le(), Ordering::Release);
    }
}

/// Stores a live header field (`dropped`) of the current mapping.
fn store_header_u64(header: *mut u8, at: usize, v: u64) {
    debug_assert!(at + 8 <= super::format::FIXED_HEADER && at.is_multiple_of(8));
    if header.is_null() {
        return;
    }
    // SAFETY: `header` is the start of the current, live mapping (at least one 4096-byte
    // header page); `at` is a fixed, 8-byte aligned offset inside the 128-byte fixed header.
    unsafe { AtomicU64::from_ptr(header.add(at).cast::<u64>()).store(v.to_le(), Ordering::Release) }
}

/// Stores a live header field (`closed`) of the current mapping.
fn store_header_u32(header: *mut u8, at: usize, v: u32) {
    debug_assert!(at + 4 <= super::format::FIXED_HEADER && at.is_multiple_of(4));
    if header.is_null() {
        return;
    }
    // SAFETY: as in `store_header_u64`, with a 4-byte aligned offset.
    unsafe { AtomicU32::from_ptr(header.add(at).cast::<u32>()).store(v.to_le(), Ordering::Release) }
}
