//! [`JournalWriter`]: the engine's [`EventSink`] over memory-mapped segments.
//!
//! **Hot path.** [`EventSink::record`] numbers the event, builds its eight words and checksum
//! ([`EventRecord::to_words`], [`seal`]) and hands them to `SegmentMap::write_slot` (in
//! `mapping.rs`), which writes bytes 8..64 into the next slot of the current segment and then
//! publishes the slot by storing its sequence number (bytes 0..8) with release ordering. A reader
//! that sees a non-zero sequence number sees the whole record; a crash between the two steps
//! leaves the slot's sequence number at 0, so the half-written record is never accepted. No
//! allocation, lock, syscall or formatting happens there: a comparison with the capacity, the
//! words, the checksum, seven plain stores and one release store. At the end of a segment the
//! writer moves to the next prepared one (a pointer swap).
//!
//! **Preparation** (creating, reserving, mapping and faulting in the next segments, letting
//! finished ones go) runs on the writer's own low-priority thread by default
//! ([`Preparation::Thread`], `writer/thread.rs`): the engine's idle turns
//! ([`EventSink::housekeep`]) only swap ready segments in and finished ones out, with no system
//! call. [`Preparation::IdleTurns`] keeps it all on the engine's thread, one bounded slice at a
//! time (`space.rs`). Either way, the space for the session (`[journal] prepare_records`, at
//! least one segment) is prepared when the writer is created, before logon. The `interval` sync
//! policy has a thread of its own, which sleeps between flushes (`flush.rs`).
//!
//! **Backpressure, then `journal_full`.** [`EventSink::takes_requests`] is `false` while the
//! mapped room ahead is down to [`WriterOptions::reserve_records`], or the pre-faulted room to a
//! short runway while more could be faulted in: the engine leaves requests in the producer rings
//! (producers see `Backpressure`) and its idle turns prepare more. (The reserve itself is mapped,
//! with its blocks reserved, but not necessarily faulted in: it is written only at the end of a
//! session, where a page fault costs nothing that matters, and faulting it in would keep
//! megabytes of zeros dirty for nothing.)
//! [`EventSink::has_room`] is `false` (New orders rejected `journal_full`, nothing sent) only when
//! preparing the next segment has failed (a full disk) and the room left is down to twice the
//! reserve; at the reserve the engine stops taking requests as above, and the reserve (sized by
//! [`WriterOptions::with_reserve`] and `Capacities::journal_reserve`) holds the end of the session. A disk smaller than the reserve
//! (preparing fails with less than the reserve mapped ahead) cannot hold it whatever happens: the
//! room there is split, half for `journal_full` rejects (at once), half kept for the end of the
//! session, rather than taking no request at all. [`JournalWriter::watch`] tells another thread
//! that preparing fails, and why (`oms run` prints it). A temporary failure that clears
//! (the retry runs every 200 ms of the writer's clock) changes nothing. As a last resort, a record
//! for which no slot is left (not even after preparing a segment on the spot) is dropped and
//! counted ([`JournalStats::dropped`], and in the segment's header: `oms verify` exits 1).

use std::fs::{File, OpenOptions};
use std::num::NonZeroU64;
use std::os::fd::AsRawFd;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::Ordering;

use super::flush::{Flusher, IntervalThread, SyncShared};
use super::format::{FIXED_HEADER, FORMAT_VERSION, MAX_HEADER_BYTES, SegmentHeader, existing_segments};
#[cfg(feature = "test-hooks")]
use super::segment::Faults;
use super::segment::{Builder, Inject, Segment};
use super::ticker::Ticker;
use super::{ConfigProblem, JournalError, JournalMeta, JournalSettings, SyncPolicy};
use crate::record::{Event, EventRecord, RECORD_SIZE, seal};
use crate::sink::EventSink;

mod resume;
mod space;
mod thread;
mod watch;

pub use thread::Preparation;
pub use watch::JournalWatch;

pub(super) const PAGE: usize = 4096;
/// The fewest records a segment must hold.
const MIN_SEGMENT_RECORDS: u64 = 16;

/// Options of [`JournalWriter::create_with`] and [`JournalWriter::resume`].
#[derive(Clone, Debug)]
pub struct WriterOptions {
    /// Slots kept for the end of the session: [`EventSink::takes_requests`] turns `false` when no
    /// more than this many pre-faulted slots are left ahead, and [`EventSink::has_room`] when the
    /// disk is full and no more than twice this many are left. Size it for what the engine still
    /// records once it stops taking requests: sends of queued orders and their responses, the
    /// exchange's reports on them, the `session_ended` / `shutdown` rejects of the queued orders,
    /// logout, `unanswered`, and the requests still in the rings at shutdown — see
    /// [`WriterOptions::with_reserve`] and `Capacities::journal_reserve`. Default 65536 (4 MiB of records).
    pub reserve_records: u64,
    /// Remove an existing journal at the same path (base file and numbered segments) instead of
    /// refusing to start (never one a writer has open). Default `false`: a journal is never
    /// overwritten silently. [`JournalWriter::resume`] ignores it.
    pub overwrite: bool,
    /// Where preparation runs: the writer's own thread (default) or the engine's idle turns.
    pub preparation: Preparation,
    /// A group (id) that may read the segments this writer creates (0640, given to it; default
    /// `None`: 0600). `oms run` sets `[ipc] group`'s, for its clients' outcomes.
    pub readers_group: Option<u32>,
    /// Test hook (feature `test-hooks`): preparing segment `n` or any later one fails with
    /// ENOSPC, as on a full disk.
    #[cfg(feature = "test-hooks")]
    pub inject_enospc_from_segment: Option<u32>,
    /// Test hook (feature `test-hooks`): failures switched on and off while the writer runs.
    #[cfg(feature = "test-hooks")]
    pub faults: Option<Arc<Faults>>,
    /// Test hook (feature `test-hooks`): the clock that times retries, re-faulting and the
    /// interval policy (a mock clock in tests); default the OS monotonic clock.
    #[cfg(feature = "test-hooks")]
    pub clock: Option<quanta::Clock>,
}

impl WriterOptions {
    /// Default options with a reserve of `records`: what the writer keeps prepared for the
    /// records its user makes after it stops taking requests (an engine's:
    /// [`Capacities::journal_reserve`](crate::engine::Capacities::journal_reserve)).
    pub fn with_reserve(records: u64) -> Self {
        WriterOptions { reserve_records: records, ..WriterOptions::default() }
    }
}

impl Default for WriterOptions {
    fn default() -> Self {
        WriterOptions {
            reserve_records: 65536,
            overwrite: false,
            preparation: Preparation::Thread,
            readers_group: None,
            #[cfg(feature = "test-hooks")]
            inject_enospc_from_segment: None,
            #[cfg(feature = "test-hooks")]
            faults: None,
            #[cfg(feature = "test-hooks")]
            clock: None,
        }
    }
}

impl WriterOptions {
    /// The injected failures (none in a build without the `test-hooks` feature).
    pub(super) fn injected(&self) -> Inject {
        #[cfg(feature = "test-hooks")]
        return Inject { enospc_from_segment: self.inject_enospc_from_segment, faults: self.faults.clone() };
        #[cfg(not(feature = "test-hooks"))]
        Inject { enospc_from_segment: None, faults: None }
    }

    /// The clock that times the writer's retries and intervals: the OS monotonic clock, or a
    /// test's (feature `test-hooks`).
    pub(super) fn ticker(&self) -> Ticker {
        #[cfg(feature = "test-hooks")]
        return Ticker::new(self.clock.clone());
        #[cfg(not(feature = "test-hooks"))]
        Ticker::new(None)
    }
}

/// What a writer did, returned by [`JournalWriter::close`] (and [`JournalWriter::stats`]).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct JournalStats {
    /// Records in the journal (published; a resumed writer counts the records before it too).
    pub records: u64,
    /// Sequence number of the last record written (0 if none).
    pub last_seq: u64,
    /// Segment files holding records.
    pub segments: u32,
    /// Records dropped because not even the reserve was left (last resort; should stay 0).
    pub dropped: u64,
    /// Failed attempts to prepare space (e.g. ENOSPC).
    pub prepare_failures: u64,
    /// The last preparation error, if any.
    pub last_prepare_error: Option<String>,
    /// Segment files this writer built (including those prepared ahead and never used; a
    /// resumed writer reuses the segments it finds and counts only those it builds).
    pub segments_built: u32,
    /// Pages faulted in ahead of the writer (including those faulted again after writeback).
    pub pages_faulted: u64,
    /// Housekeeping slices that did something.
    pub slices: u64,
    /// Flush rounds that succeeded (each `msync`s what was published and not yet flushed).
    pub syncs: u64,
    /// Flushes that failed; each also set the header flag and was journaled as `sync_failed`.
    pub sync_errors: u64,
    /// The last flush error, if any.
    pub last_sync_error: Option<String>,
    /// Every record up to this sequence number has been flushed to disk.
    pub synced_seq: u64,
}

/// The journal writer: implements [`EventSink`] for the engine thread. See the module docs.
///
/// ```no_run
/// use oms::journal::JournalWriter;
/// use oms::{Config, EngineClock, Event, EventRecord, EventSink};
///
/// let config = Config::default();
/// let valid = config.validate()?;
/// let clock = EngineClock::system();
/// let mut w = JournalWriter::create(&valid.journal, &config.journal_meta(&clock))?;
/// w.record(&EventRecord::new(clock.wall_ns(clock.now_ns()), Event::Logon));
/// let stats = w.close()?;
/// assert_eq!(stats.records, 1);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct JournalWriter {
    /// The current segment. This writer is the only writer of its slots (and of every segment's
    /// slots: a segment is current once; the flushers only read).
    seg: Segment,
    /// Next slot to write in `seg`; every slot below it is written, none above.
    pos: u64,
    next_seq: u64,
    /// Slots with a sequence number below this have been faulted in for writing.
    faulted_seq: u64,
    /// The first sequence number with no mapped segment (`seg` and `ahead` cover the rest).
    allocated_seq: u64,
    reserve: u64,
    /// [`EventSink::takes_requests`] while `next_seq` is below this: the reserve is left of the
    /// mapped room, and (while more can be faulted in) a runway of faulted-in slots.
    intake_limit: u64,
    /// [`EventSink::has_room`] while `next_seq` is below this: `u64::MAX` unless preparing a
    /// segment failed, then twice the reserve short of the end of the mapped room.
    room_limit: u64,
    /// Preparing a segment failed and has not succeeded since.
    failing: bool,
    /// The mapped room ahead (records) when the current failure began.
    failed_room: u64,
    /// What a [`JournalWatch`] sees.
    health: Arc<watch::Health>,
    dropped: u64,
    /// Time of the last record (a `sync_failed` record written by the writer itself takes it).
    last_time_ns: i64,
    segments: u32,
    space: space::Space,
    /// The preparation thread ([`Preparation::Thread`]).
    prep: Option<thread::PrepThread>,
    durability: Durability,
    base: PathBuf,
    closed: bool,
    /// The base file, locked (`flock`, exclusive) for the writer's life: a journal has one
    /// writer at a time ([`JournalWriter::resume`] of a journal another writer has open fails
    /// [`JournalError::InUse`]). The kernel drops the lock when the process dies, however it dies.
    _lock: File,
}

/// The sync policy's state.
/// Where a writer starts appending: its segment and slot, the next sequence number, the last
/// sequence number of the segments already allocated, and what the journal says so far.
struct Position {
    seg: Segment,
    pos: u64,
    next_seq: u64,
    allocated_seq: u64,
    dropped: u64,
    last_time_ns: i64,
}

struct Durability {
    policy: SyncPolicy,
    shared: Arc<SyncShared>,
    /// Flushes on the engine thread at `sync` and `close` (`None` under the `none` policy).
    flusher: Option<Flusher>,
    thread: Option<IntervalThread>,
    /// Failed flushes already journaled as `sync_failed`.
    journaled_errors: u64,
}

impl Durability {
    /// The sync policy's state for a writer whose first segments are `segs`, each with the
    /// bytes of it already on disk (`None`: a new segment, whose header and name are not).
    fn start(
        policy: SyncPolicy,
        base: &Path,
        opts: &WriterOptions,
        clock: &Ticker,
        segs: &[(Segment, Option<usize>)],
    ) -> Result<Durability, JournalError> {
        let new_flusher = || {
            let mut f = Flusher::new(base.to_path_buf(), opts.injected().faults);
            for (seg, synced) in segs {
                match synced {
                    None => f.add(seg.clone()),
                    Some(bytes) => f.add_synced(seg.clone(), *bytes),
                }
            }
            f
        };
        let shared = Arc::new(SyncShared::new());
        let flusher = (policy != SyncPolicy::None).then(new_flusher);
        let mut thread = None;
        if let SyncPolicy::IntervalMs(ms) = policy {
            let interval = std::time::Duration::from_millis(ms.get());
            thread = Some(
                IntervalThread::spawn(Arc::clone(&shared), new_flusher(), interval, clock.clone())
                    .map_err(|e| JournalError::io(base, "start the journal sync thread", e))?,
            );
        }
        Ok(Durability { policy, shared, flusher, thread, journaled_errors: 0 })
    }
}

impl std::fmt::Debug for JournalWriter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("JournalWriter")
            .field("base", &self.base)
            .field("segment", &self.seg.index)
            .field("pos", &self.pos)
            .field("cap", &self.seg.map.capacity())
            .field("next_seq", &self.next_seq)
            .field("faulted_seq", &self.faulted_seq)
            .field("allocated_seq", &self.allocated_seq)
            .finish()
    }
}

impl JournalWriter {
    /// Creates a new journal at `cfg.path` with default [`WriterOptions`]. Refuses to replace an
    /// existing journal ([`JournalError::Exists`]); to replace it (never one a writer has open):
    ///
    /// ```no_run
    /// # use oms::journal::{JournalWriter, WriterOptions};
    /// # fn f(cfg: &oms::ValidConfig, meta: &oms::journal::JournalMeta) -> Result<(), oms::journal::JournalError> {
    /// let replace = WriterOptions { overwrite: true, ..WriterOptions::default() };
    /// let writer = JournalWriter::create_with(&cfg.journal, meta, replace)?;
    /// # Ok(()) }
    /// ```
    ///
    /// To continue an existing journal instead, see [`JournalWriter::resume`].
    pub fn create(cfg: &JournalSettings, meta: &JournalMeta) -> Result<JournalWriter, JournalError> {
        Self::create_with(cfg, meta, WriterOptions::default())
    }

    /// Creates a new journal and prepares, on the calling thread (start-up, before logon), the
    /// space for `cfg.prepare_records` records (at least the first segment) and the reserve:
    /// files created, blocks reserved, pages faulted in. Fails if the first segment cannot be
    /// made; a failure further on is counted in [`JournalStats::prepare_failures`] and retried
    /// by [`EventSink::housekeep`].
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
        remove_or_refuse(&base, opts.overwrite)?;

        let template = SegmentHeader {
            version: FORMAT_VERSION,
            header_bytes,
            segment_bytes,
            segment_index: 0,
            first_seq: 1,
            journal_id: fastrand::u64(..) ^ meta.created_wall_ns as u64,
            meta: meta.clone(),
            dropped: 0,
            closed: false,
            sync_failed: false,
        };
        let inject = opts.injected();
        let seg0 = Builder::new(&base, template.clone(), opts.readers_group).finish(&inject)?;
        // A resume in another process between the link and this lock would find the journal
        // (empty) and hold the lock: this then fails `InUse`, and nothing is written twice.
        let lock = lock_base(&base)?;
        let cap = seg0.map.capacity();
        let clock = opts.ticker();
        let durability = Durability::start(cfg.sync, &base, &opts, &clock, &[(seg0.clone(), None)])?;
        let prepare = cfg.prepare_records.map_or(cap, NonZeroU64::get);
        let mut next = template;
        next.segment_index = 1;
        next.first_seq = seg0.end_seq();
        let mut space = space::Space::new(next, inject, clock, (prepare, cap), 1, 1);
        space.readers = opts.readers_group;
        let at = Position {
            allocated_seq: seg0.end_seq(),
            seg: seg0,
            pos: 0,
            next_seq: 1,
            dropped: 0,
            last_time_ns: 0,
        };
        Ok(JournalWriter::start(at, &opts, space, durability, base, lock))
    }

    /// A writer at `at` with its space, durability, base path and lock: nothing failing, its
    /// limits set, the space `opts` asks for prepared.
    fn start(
        at: Position,
        opts: &WriterOptions,
        space: space::Space,
        durability: Durability,
        base: PathBuf,
        lock: File,
    ) -> JournalWriter {
        let mut w = JournalWriter {
            segments: at.seg.index + 1,
            seg: at.seg,
            pos: at.pos,
            next_seq: at.next_seq,
            faulted_seq: at.next_seq,
            allocated_seq: at.allocated_seq,
            reserve: opts.reserve_records,
            intake_limit: 0,
            room_limit: u64::MAX,
            failing: false,
            failed_room: 0,
            health: Arc::default(),
            dropped: at.dropped,
            last_time_ns: at.last_time_ns,
            space,
            prep: None,
            durability,
            base,
            closed: false,
            _lock: lock,
        };
        w.prepare_up_front();
        w.update_limits();
        if opts.preparation == Preparation::Thread {
            w.start_thread(opts.injected());
        }
        w
    }

    /// The journal's base path.
    pub fn path(&self) -> &Path {
        &self.base
    }

    /// Slots kept for the end of the session (see [`WriterOptions::reserve_records`]).
    pub fn reserve_records(&self) -> u64 {
        self.reserve
    }

    /// Sequence number the next record will get.
    pub fn next_seq(&self) -> u64 {
        self.next_seq
    }

    /// Slots ready ahead of the write position: mapped and faulted in.
    pub fn prepared_room(&self) -> u64 {
        self.faulted_seq.saturating_sub(self.next_seq)
    }

    /// Slots mapped (blocks reserved) ahead of the write position.
    pub fn mapped_room(&self) -> u64 {
        self.allocated_seq.saturating_sub(self.next_seq)
    }

    /// A view of this writer's preparation of space for another thread (whether it is failing,
    /// and why): see [`JournalWatch`].
    pub fn watch(&self) -> JournalWatch {
        JournalWatch::new(Arc::clone(&self.health), self.base.clone())
    }

    /// The reserve kept for the end of the session: [`WriterOptions::reserve_records`], unless
    /// preparing space failed with less than that mapped ahead (a disk smaller than the
    /// reserve): then half of the room there was, the other half taking `journal_full` rejects.
    fn effective_reserve(&self) -> u64 {
        if self.failing && self.failed_room < self.reserve {
            self.failed_room.div_ceil(2)
        } else {
            self.reserve
        }
    }

    /// Recomputes the limits behind `takes_requests` and `has_room` (after the mapped or
    /// faulted-in room, or the failure state, changed; never on the hot path).
    fn update_limits(&mut self) {
        let reserve = self.effective_reserve();
        let mut intake = self.allocated_seq.saturating_sub(reserve);
        if self.faulted_seq < self.allocated_seq {
            intake = intake.min(self.faulted_seq.saturating_sub(space::RUNWAY_LOW));
        }
        self.intake_limit = intake;
        self.room_limit =
            if self.failing { self.allocated_seq.saturating_sub(2 * reserve) } else { u64::MAX };
    }

    /// A snapshot of the counters.
    pub fn stats(&self) -> JournalStats {
        let sh = &self.durability.shared;
        JournalStats {
            records: self.next_seq - 1,
            last_seq: self.next_seq - 1,
            segments: self.segments,
            dropped: self.dropped,
            prepare_failures: self.space.prepare_failures,
            last_prepare_error: self.space.last_error.clone(),
            segments_built: self.space.built,
            pages_faulted: self.space.pages_faulted + self.prep.as_ref().map_or(0, |t| t.pages()),
            slices: self.space.slices,
            syncs: sh.syncs.load(Ordering::Acquire),
            sync_errors: sh.errors.load(Ordering::Acquire),
            last_sync_error: sh.last_error.lock().ok().and_then(|e| e.clone()),
            synced_seq: sh.synced_seq.load(Ordering::Acquire),
        }
    }

    /// Appends one record: sets its `seq` to the next sequence number and its checksum, writes
    /// it and publishes it. This is [`EventSink::record`].
    #[inline(always)]
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
        self.last_time_ns = event.time_ns;
    }

    /// Moves to the next prepared segment (preparing one on the spot if there is none: the
    /// engine ignored [`EventSink::takes_requests`], or nobody called `housekeep`); `false` if
    /// even that fails.
    #[cold]
    #[inline(never)]
    fn roll(&mut self) -> bool {
        let next = match self.space.ahead.pop_front() {
            Some(s) => s,
            None => {
                if !self.build_now() {
                    return false;
                }
                match self.space.ahead.pop_front() {
                    Some(s) => s,
                    None => return false,
                }
            }
        };
        let old = std::mem::replace(&mut self.seg, next);
        self.pos = 0;
        self.segments += 1;
        self.retire(old);
        true
    }

    #[cold]
    #[inline(never)]
    fn drop_record(&mut self) {
        self.dropped += 1;
        self.seg.map.store_dropped(self.dropped);
    }

    /// Journals flush failures not journaled yet as one `sync_failed` record, and marks the
    /// current segment's header.
    fn journal_sync_failures(&mut self) -> bool {
        let errors = self.durability.shared.errors.load(Ordering::Acquire);
        if errors == self.durability.journaled_errors || self.closed {
            return false;
        }
        self.durability.journaled_errors = errors;
        self.seg.map.mark_sync_failed();
        self.append(&EventRecord::new(self.last_time_ns, Event::SyncFailed));
        true
    }

    /// Flushes everything published (policy `on-logout` and interval), on this thread.
    fn flush_now(&mut self) {
        let Some(f) = &mut self.durability.flusher else { return };
        f.round(&self.durability.shared);
        // The page the next record goes into was flushed with the last record: `round` faulted
        // it in again.
        self.journal_sync_failures();
    }

    fn shutdown(&mut self) -> Result<JournalStats, JournalError> {
        if self.closed {
            return Ok(self.stats());
        }
        if let Some(t) = &mut self.durability.thread {
            t.stop();
        }
        self.durability.thread = None;
        self.journal_sync_failures();
        let thread = self.stop_thread();
        // The segments prepared ahead go before the journal is marked closed: a follower that
        // sees the mark checks what follows the end, and finds no file half deleted.
        self.space.discard_unused();
        self.seg.map.store_dropped(self.dropped);
        self.seg.map.mark_closed();
        if let Some(f) = &mut self.durability.flusher {
            f.round(&self.durability.shared);
            f.flush_header(&self.seg, &self.durability.shared);
        }
        self.closed = true;
        thread.map(|()| self.stats())
    }

    /// Marks the journal closed, flushes it per the sync policy, deletes the segments prepared
    /// ahead and not used, and stops the interval policy's thread. Also done (best effort) on
    /// drop. A flush that fails is in [`JournalStats::sync_errors`] and in the header.
    pub fn close(mut self) -> Result<JournalStats, JournalError> {
        self.shutdown()
    }
}

/// How long opening a journal waits for another writer's lock to go (see [`lock_base`]).
const LOCK_WAIT: std::time::Duration = std::time::Duration::from_secs(2);

/// Opens the base file `base` and locks it (`flock`, exclusive); the lock lasts as long as the
/// returned file is open. [`JournalError::InUse`] if another writer still holds it after
/// [`LOCK_WAIT`].
fn lock_base(base: &Path) -> Result<File, JournalError> {
    let file = OpenOptions::new()
        .read(true)
        .write(true)
        .open(base)
        .map_err(|e| JournalError::io(base, "open the journal", e))?;
    // A writer killed a moment ago still holds the lock until the kernel has torn the process
    // down (unmapping its segments can take tens of ms): a restart right after `kill -9` waits
    // for that, up to LOCK_WAIT, before it says the journal is in use.
    let deadline = std::time::Instant::now() + LOCK_WAIT;
    loop {
        // SAFETY: plain syscall on a file descriptor we own; no memory is passed.
        let rc = unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) };
        if rc == 0 {
            return Ok(file);
        }
        let e = std::io::Error::last_os_error();
        if e.raw_os_error() != Some(libc::EWOULDBLOCK) {
            return Err(JournalError::io(base, "lock the journal (flock)", e));
        }
        if std::time::Instant::now() >= deadline {
            return Err(JournalError::InUse { path: base.to_path_buf() });
        }
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
}

/// Refuses to start over an existing journal at `base`, or removes it if `overwrite`.
fn remove_or_refuse(base: &Path, overwrite: bool) -> Result<(), JournalError> {
    let mut existing: Vec<PathBuf> = existing_segments(base)?.into_iter().map(|(_, p)| p).collect();
    if std::fs::symlink_metadata(base).is_ok() {
        existing.insert(0, base.to_path_buf());
    }
    if let Some(first) = existing.first() {
        if !overwrite {
            return Err(JournalError::Exists { path: first.clone() });
        }
        // Never remove a journal a writer has open (other failures to lock it are no reason
        // not to remove it).
        if let Err(e @ JournalError::InUse { .. }) = lock_base(base) {
            return Err(e);
        }
        for p in &existing {
            std::fs::remove_file(p).map_err(|e| JournalError::io(p, "remove the old journal file", e))?;
        }
    }
    Ok(())
}

impl Drop for JournalWriter {
    fn drop(&mut self) {
        let _ = self.shutdown();
    }
}

impl EventSink for JournalWriter {
    #[inline(always)]
    fn record(&mut self, event: &EventRecord) {
        self.append(event);
    }

    #[inline]
    fn has_room(&self) -> bool {
        self.next_seq < self.room_limit
    }

    #[inline]
    fn takes_requests(&self) -> bool {
        self.next_seq < self.intake_limit
    }

    fn housekeep(&mut self) -> bool {
        self.slice()
    }

    /// Flushes everything published so far (`on-logout`, and every logout under an interval
    /// policy) before returning; then aims the preparation at `prepare_records` ahead again,
    /// for the next session.
    fn sync(&mut self) {
        if self.durability.policy != SyncPolicy::None {
            self.flush_now();
        }
        self.space.aim(self.next_seq);
    }
}
