//! The writer's space: segments prepared ahead, finished segments being let go, and the bounded
//! slices of work that keep them so ([`JournalWriter::housekeep`](crate::sink::EventSink)).
//!
//! A slice does the first of these that applies, and only that:
//! 1. journal a flush failure the interval thread reported (`sync_failed`);
//! 2. fault in the next [`FAULT_PAGES`] pages, while fewer than the target are ready ahead (the
//!    target: `prepare_records` after creation and after each logout, and always [`RUNWAY`]);
//! 3. one system call towards the next segment, while less than one segment is mapped beyond
//!    the target, twice the reserve and the runway (or, after a failure, once [`RETRY`] has
//!    passed);
//! 4. drop the page-table entries of [`ZAP_PAGES`] pages of a finished segment;
//! 5. every [`REFRESH`], fault in again the pages just ahead of the writer ([`REFRESH_WINDOW`]
//!    records, [`REFRESH_PAGES`] per slice): the kernel's writeback write-protects pages it cleans
//!    (pre-faulted ones too, after `dirty_expire_centisecs`), and re-faulting a page that is still
//!    writable costs a page-table walk.
//!
//! The costs per slice measured on the dev VM are in docs/BENCHMARKS.md.

use std::collections::VecDeque;
use std::time::Duration;

use super::{JournalWriter, PAGE};
use crate::journal::JournalError;
use crate::journal::format::SegmentHeader;
use crate::journal::segment::{Builder, Inject, Segment};
use crate::journal::ticker::Ticker;
use crate::record::RECORD_SIZE;

/// Pages faulted in per slice.
pub(super) const FAULT_PAGES: u64 = 2;
/// Pages faulted in per step while preparing on the caller's thread (start-up, `prepare`).
const BULK_PAGES: u64 = 256;
/// Pages of a finished segment whose page-table entries one slice drops.
const ZAP_PAGES: usize = 32;
/// Records kept faulted in ahead of the writer (at least).
pub(super) const RUNWAY: u64 = 4096;
/// While more could be faulted in, the writer stops taking requests with this few faulted-in
/// records ahead, so that its idle turns fault more in rather than the writes themselves.
pub(super) const RUNWAY_LOW: u64 = 1024;
/// How often the pages near the writer are faulted in again.
pub(super) const REFRESH: Duration = Duration::from_secs(1);
/// Records ahead of the writer faulted in again every [`REFRESH`].
pub(super) const REFRESH_WINDOW: u64 = 16 * 1024;
/// Pages faulted in again per slice.
const REFRESH_PAGES: u64 = 8;
/// How long after a failed preparation the next attempt is made.
const RETRY: Duration = Duration::from_millis(200);
/// Idle slices between two readings of the clock (for [`REFRESH`]).
const IDLE_CHECK: u32 = 64;
/// Slots per page.
pub(super) const SLOTS_PER_PAGE: u64 = (PAGE / RECORD_SIZE) as u64;

/// A finished segment whose page tables are being dropped.
#[derive(Debug)]
struct Retired {
    seg: Segment,
    zapped: usize,
}

/// The writer's cold state: see the module docs.
#[derive(Debug)]
pub(in crate::journal) struct Space {
    /// Segments prepared after the current one, in order.
    pub(super) ahead: VecDeque<Segment>,
    retired: VecDeque<Retired>,
    pub(super) builder: Option<Builder>,
    /// Header of the next segment to build.
    pub(super) template: SegmentHeader,
    /// A group that may read the segments built ([`WriterOptions::readers_group`](super::WriterOptions::readers_group)).
    pub(super) readers: Option<u32>,
    inject: Inject,
    pub(super) clock: Ticker,
    /// Fault in up to this sequence number (set at creation and at each `sync`).
    pub(super) target_seq: u64,
    prepare: u64,
    pub(super) cap: u64,
    pub(super) retry_at: Option<Duration>,
    next_refresh: Duration,
    /// A re-faulting pass in progress: next sequence number, end.
    refresh: Option<(u64, u64)>,
    idle: u32,
    /// Segments built and not yet handed to the interval thread (its queue was full).
    backlog: Vec<Segment>,
    pub(super) prepare_failures: u64,
    pub(super) last_error: Option<String>,
    pub(super) built: u32,
    pub(super) pages_faulted: u64,
    pub(super) slices: u64,
}

impl Space {
    /// The space of a writer whose next segment to build is `next` (its header) and whose next
    /// record is `next_seq`, with `cap` slots a segment; `built` segments built so far.
    pub(super) fn new(
        next: SegmentHeader,
        inject: Inject,
        clock: Ticker,
        (prepare, cap): (u64, u64),
        next_seq: u64,
        built: u32,
    ) -> Space {
        let now = clock.now();
        Space {
            ahead: VecDeque::with_capacity(16),
            retired: VecDeque::with_capacity(64),
            builder: None,
            template: next,
            readers: None,
            inject,
            next_refresh: now + REFRESH,
            clock,
            target_seq: next_seq + prepare,
            prepare,
            cap,
            retry_at: None,
            refresh: None,
            idle: 0,
            backlog: Vec::new(),
            prepare_failures: 0,
            last_error: None,
            built,
            pages_faulted: 0,
            slices: 0,
        }
    }

    /// Aims the preparation at `prepare_records` past `next_seq` (a new session).
    pub(super) fn aim(&mut self, next_seq: u64) {
        self.target_seq = self.target_seq.max(next_seq + self.prepare);
    }

    /// A segment the writer has finished.
    #[inline]
    pub(super) fn retire(&mut self, seg: Segment) {
        self.retired.push_back(Retired { seg, zapped: 0 });
    }

    /// Drops the page-table entries of the next pages of the oldest finished segment; `false`
    /// if there is none.
    pub(super) fn zap_one(&mut self) -> bool {
        let Some(r) = self.retired.front_mut() else { return false };
        let len = r.seg.map.len();
        let n = (ZAP_PAGES * PAGE).min(len - r.zapped);
        // Best effort: if it fails, the mapping is torn down whole when the segment is dropped.
        let _ = r.seg.map.zap(r.zapped, n);
        r.zapped += n;
        if r.zapped >= len {
            self.retired.pop_front();
        }
        true
    }

    /// Deletes the segments prepared ahead and never used (at close).
    pub(super) fn discard_unused(&mut self) {
        self.builder = None; // removes its `.tmp` file
        while let Some(seg) = self.ahead.pop_back() {
            let path = seg.path.clone();
            drop(seg);
            let _ = std::fs::remove_file(&path);
        }
        self.retired.clear();
    }

    pub(super) fn failed(&mut self, e: &JournalError) {
        self.prepare_failures += 1;
        self.last_error = Some(e.to_string());
    }
}

/// What one step of preparation did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Step {
    /// Something (more may be left).
    Did,
    /// Nothing is needed now.
    Idle,
    /// The next segment cannot be built now (failed, or waiting to retry).
    Blocked,
}

impl JournalWriter {
    /// What housekeeping aims to have faulted in: the target, and always a runway past the
    /// write position.
    fn fault_want(&self) -> u64 {
        self.space.target_seq.max(self.next_seq + RUNWAY)
    }

    /// What is kept mapped (blocks reserved): the faulting target, and twice the reserve plus
    /// the runway, so that a failure to prepare more (a disk full for a moment) leaves a runway
    /// of records before New orders are rejected `journal_full` (at twice the reserve).
    pub(super) fn map_want(&self) -> u64 {
        self.fault_want().max(self.next_seq + 2 * self.reserve + RUNWAY)
    }

    /// Whether the space is prepared as far as it is aimed.
    fn prepared(&self) -> bool {
        self.faulted_seq >= self.fault_want().min(self.allocated_seq) && self.allocated_seq >= self.map_want()
    }

    /// One housekeeping slice (see the module docs); whether it did anything.
    pub(super) fn slice(&mut self) -> bool {
        let did = self.slice_inner();
        self.space.slices += u64::from(did);
        did
    }

    fn slice_inner(&mut self) -> bool {
        if self.journal_sync_failures() {
            return true;
        }
        if let Some(seg) = self.space.backlog.pop() {
            self.hand_to_thread(seg);
            return true;
        }
        if let Some(did) = self.thread_slice() {
            return did;
        }
        match self.prepare_step(FAULT_PAGES, true, self.space.cap) {
            Step::Did => return true,
            Step::Idle | Step::Blocked => {}
        }
        if self.space.zap_one() {
            return true;
        }
        self.refresh_step()
    }

    /// One step of preparation: fault in `pages` pages towards [`Self::fault_want`], or one
    /// system call towards the next segment while less than `margin` slots are mapped beyond
    /// [`Self::map_want`]. With `honor_retry`, a failed preparation is retried only after
    /// [`RETRY`].
    fn prepare_step(&mut self, pages: u64, honor_retry: bool, margin: u64) -> Step {
        if self.faulted_seq < self.fault_want() && self.faulted_seq < self.allocated_seq {
            self.fault_pages(pages);
            return Step::Did;
        }
        if self.allocated_seq >= self.map_want() + margin {
            return Step::Idle;
        }
        if honor_retry
            && let Some(t) = self.space.retry_at
            && self.space.clock.now() < t
        {
            return Step::Blocked;
        }
        self.build_step()
    }

    /// One system call towards the next segment.
    fn build_step(&mut self) -> Step {
        if self.thread_building() {
            return Step::Blocked;
        }
        let space = &mut self.space;
        let builder = space
            .builder
            .get_or_insert_with(|| Builder::new(&self.base, space.template.clone(), space.readers));
        match builder.step(&space.inject) {
            Ok(None) => Step::Did,
            Ok(Some(seg)) => {
                space.builder = None;
                self.add_segment(seg);
                Step::Did
            }
            Err(e) => {
                debug_assert_eq!(builder.index(), space.template.segment_index);
                space.builder = None;
                self.build_failed(e);
                Step::Blocked
            }
        }
    }

    /// Building the next segment failed (here or on the preparation thread): retried after
    /// [`RETRY`]; the limits and the watch learn of it.
    pub(super) fn build_failed(&mut self, e: JournalError) {
        let space = &mut self.space;
        space.failed(&e);
        space.retry_at = Some(space.clock.now() + RETRY);
        if !self.failing {
            self.failing = true;
            self.failed_room = self.allocated_seq.saturating_sub(self.next_seq);
        }
        self.update_limits();
        let space = &self.space;
        let reserve = self.effective_reserve();
        self.health.failed(space.prepare_failures, self.failed_room, reserve, space.last_error.as_ref());
    }

    /// A segment is built: it follows the last one.
    pub(super) fn add_segment(&mut self, seg: Segment) {
        debug_assert_eq!(seg.first_seq, self.allocated_seq);
        self.allocated_seq = seg.end_seq();
        self.space.template.segment_index += 1;
        self.space.template.first_seq = seg.end_seq();
        self.space.built += 1;
        self.space.retry_at = None;
        if self.failing {
            self.failing = false;
            self.health.recovered();
        }
        if let Some(f) = &mut self.durability.flusher {
            f.add(seg.clone());
        }
        if self.durability.thread.is_some() {
            self.hand_to_thread(seg.clone());
        }
        self.tell_thread(&seg);
        self.space.ahead.push_back(seg);
        self.update_limits();
    }

    fn hand_to_thread(&mut self, seg: Segment) {
        if let Err(seg) = self.durability.shared.segments.push(seg) {
            self.space.backlog.push(seg);
        }
    }

    /// The segment holding sequence number `seq`, if mapped.
    fn segment_of(&self, seq: u64) -> Option<&Segment> {
        if (self.seg.first_seq..self.seg.end_seq()).contains(&seq) {
            return Some(&self.seg);
        }
        self.space.ahead.iter().find(|s| (s.first_seq..s.end_seq()).contains(&seq))
    }

    /// Faults in up to `pages` pages from `seq` (within one segment); returns the sequence number
    /// after the last slot faulted in (`seq` itself if it is not mapped).
    fn fault_from(&mut self, seq: u64, pages: u64) -> u64 {
        let Some(seg) = self.segment_of(seq) else { return seq };
        let slot = seq - seg.first_seq;
        let page_slot = slot / SLOTS_PER_PAGE * SLOTS_PER_PAGE;
        let end_slot = (page_slot + pages * SLOTS_PER_PAGE).min(seg.map.capacity());
        let from = seg.map.header_bytes() + page_slot as usize * RECORD_SIZE;
        let len = (end_slot - page_slot) as usize * RECORD_SIZE;
        // Faulting ahead only saves the writer the faults; the blocks are reserved, so the
        // writer can still write there. A failure is counted, not fatal.
        let failure = (seg.map.prefault(from, len))
            .err()
            .map(|e| JournalError::io(&seg.path, "fault in pages ahead of the writer", e));
        let end = seg.first_seq + end_slot;
        self.space.pages_faulted += len.div_ceil(PAGE) as u64;
        if let Some(e) = failure {
            self.space.failed(&e);
        }
        end
    }

    /// Faults in the next `pages` pages at the front of the prepared room.
    fn fault_pages(&mut self, pages: u64) {
        // The writer may have overtaken the faulting (records written without housekeeping):
        // what it wrote is faulted in.
        let from = self.faulted_seq.max(self.next_seq);
        self.faulted_seq = self.fault_from(from, pages).max(self.faulted_seq);
        self.update_limits();
    }

    /// Every [`REFRESH`], faults in again the pages just ahead of the writer, a few per slice.
    fn refresh_step(&mut self) -> bool {
        if let Some((cur, end)) = self.space.refresh {
            if cur >= end {
                self.space.refresh = None;
                return false;
            }
            let next = self.fault_from(cur, REFRESH_PAGES);
            self.space.refresh = if next > cur { Some((next, end)) } else { None };
            return true;
        }
        self.space.idle = self.space.idle.wrapping_add(1);
        if !self.space.idle.is_multiple_of(IDLE_CHECK) {
            return false;
        }
        let now = self.space.clock.now();
        if now < self.space.next_refresh {
            return false;
        }
        self.space.next_refresh = now + REFRESH;
        let end = self.faulted_seq.min(self.next_seq + REFRESH_WINDOW);
        if end > self.next_seq {
            self.space.refresh = Some((self.next_seq, end));
        }
        false
    }

    /// Prepares synchronously (start-up): faults in and builds until [`Self::want`] is reached
    /// or a segment cannot be built.
    pub(super) fn prepare_up_front(&mut self) {
        while !self.prepared() {
            if self.prepare_step(BULK_PAGES, false, 0) != Step::Did {
                break;
            }
        }
    }

    /// Prepares room for `records` more records on the calling thread: builds the segments and
    /// faults their pages in now (and the reserve beyond them). For start-up, tools and tests;
    /// the engine leaves this to its idle turns ([`EventSink::housekeep`](crate::EventSink)).
    /// Fails with the preparation error if a segment cannot be built (e.g. a full disk).
    pub fn prepare(&mut self, records: u64) -> Result<(), JournalError> {
        self.space.target_seq = self.space.target_seq.max(self.next_seq + records);
        self.wait_for_thread();
        loop {
            if self.prepared() {
                return Ok(());
            }
            if self.prepare_step(BULK_PAGES, false, 0) != Step::Did {
                if self.prepared() {
                    return Ok(());
                }
                let msg = self.space.last_error.clone().unwrap_or_else(|| "no progress".into());
                return Err(JournalError::io(
                    &self.base,
                    "prepare journal space",
                    std::io::Error::other(msg),
                ));
            }
        }
    }

    /// Builds the next segment on the spot (the writer ran out of prepared segments); `false` if
    /// it cannot (a full disk: retried at most every [`RETRY`]).
    pub(super) fn build_now(&mut self) -> bool {
        // A build the preparation thread is doing is not started again here (see `thread.rs`).
        if self.thread_building() {
            return false;
        }
        if !self.space.ahead.is_empty() {
            return true;
        }
        if let Some(t) = self.space.retry_at
            && self.space.clock.now() < t
        {
            return false;
        }
        loop {
            match self.build_step() {
                Step::Did if !self.space.ahead.is_empty() => return true,
                Step::Did => {}
                Step::Idle | Step::Blocked => return false,
            }
        }
    }
}
