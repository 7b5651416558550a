//! [`SegmentMap`]: the memory of one segment (header, then 64-byte slots) shared by the writer
//! and the flusher (`flush.rs`: on the engine thread, or on the `interval` sync policy's thread,
//! `oms-journal-sync`). It is the one place that touches that memory, and it owns the rules that
//! make sharing it sound:
//!
//! * **Publish protocol.** [`SegmentMap::write_slot`] writes words 1..8 of a slot (plain stores),
//!   then publishes it by storing word 0, the sequence number, with release ordering
//!   ([`SegmentMap::publish`]). [`SegmentMap::load_seq`] is the matching acquire load: a thread
//!   that loads a non-zero sequence number sees the whole record. The writer, the flusher
//!   ([`SegmentMap::committed`], which finds the first unpublished slot for flushing) and the
//!   publish-protocol test use this one pair; nothing else reads or writes a sequence word.
//! * **One writer, each slot once.** `write_slot` is an `unsafe fn`: its caller promises to be
//!   the only writer of the slots and to write each slot at most once. That is what makes a body
//!   read after a non-zero sequence number free of data races.
//! * **Bounds.** The layout (header size, slot count, alignment) is checked once when the map is
//!   built; the safe methods check their slot index, `write_slot` leaves it to its caller (the
//!   writer already compares its position with the capacity on the hot path).
//! * **Live header fields.** `dropped`, `closed` and `sync_failed` are stored atomically
//!   ([`SegmentMap::store_dropped`], [`SegmentMap::mark_closed`], [`SegmentMap::mark_sync_failed`]).
//! * **Page residency.** [`SegmentMap::prefault`] faults pages in for writing ahead of the writer
//!   (`MADV_POPULATE_WRITE`, or an atomic compare-exchange of an unwritten slot's zero sequence
//!   word with zero, which faults the page without changing it); [`SegmentMap::zap`] drops the
//!   page-table entries of a finished range (`MADV_DONTNEED`: on a shared file mapping the data
//!   stays in the file and the page cache), so that unmapping a finished segment later is cheap.
//!
//! A map sits on a shared file mapping ([`SegmentMap::map_file`]) or, in tests, on a zeroed heap
//! buffer aligned to 64 bytes, so that Miri can run the publish protocol (it cannot run `mmap`).
//! Readers in other processes (`oms tail`, `oms verify`) do not map the file at all: they read it
//! with `pread`, which cannot be turned into SIGBUS by a truncated file (see `follower.rs`).
//!
//! A file mapping stays valid only while nobody truncates the file: the segment files are created
//! by the writer with mode 0600 and never shortened by it.

use std::fs::File;
use std::ptr::NonNull;
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};

use memmap2::{Advice, MmapOptions, MmapRaw};

use crate::record::{RECORD_SIZE, Words};

use super::format::{FIXED_HEADER, offsets};

/// Size of a page; pre-faulting touches one slot per page where `MADV_POPULATE_WRITE` is missing.
const PAGE: usize = 4096;

/// The memory of one segment: `header_bytes` of header, then `capacity` slots of 64 bytes.
///
/// Cloning shares the memory (it stays mapped until the last clone is dropped). The pointers are
/// kept inline, so the writer's hot path reaches a slot with a single load from its own struct.
#[derive(Clone)]
pub(crate) struct SegmentMap {
    /// Start of the region (the header).
    base: NonNull<u8>,
    /// Slot 0 (`base + header_bytes`), 64-byte aligned.
    slots: NonNull<u8>,
    header_bytes: usize,
    cap: u64,
    len: usize,
    backing: Arc<Backing>,
}

// SAFETY: the pointers point into memory owned by `backing` (kept alive by the `Arc`), which is
// not tied to a thread. Concurrent access is sound: sequence words and live header fields are
// only accessed atomically; slot bodies are written only by `write_slot`, whose contract (one
// writer, each slot once, before its release store) makes every body read that follows an
// acquire load of a non-zero sequence number happen after the write.
unsafe impl Send for SegmentMap {}
// SAFETY: as for `Send`; `&SegmentMap` offers no non-atomic write except through `unsafe fn
// write_slot`.
unsafe impl Sync for SegmentMap {}

impl std::fmt::Debug for SegmentMap {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SegmentMap")
            .field("header_bytes", &self.header_bytes)
            .field("capacity", &self.cap)
            .field("len", &self.len)
            .finish()
    }
}

/// What owns the memory.
enum Backing {
    /// A shared, read-write mapping of a segment file.
    File(MmapRaw),
    /// A zeroed heap buffer (tests: Miri cannot run `mmap`). Freed on drop.
    #[cfg(test)]
    Heap(NonNull<[Line]>),
}

// SAFETY: `Heap` owns its allocation (like a `Box<[Line]>`, kept as a raw pointer so that the
// pointers derived from it stay valid under Miri's aliasing model); `MmapRaw` is Send + Sync.
#[cfg(test)]
unsafe impl Send for Backing {}
// SAFETY: as for `Send`; `Backing` itself offers no access to the memory.
#[cfg(test)]
unsafe impl Sync for Backing {}

/// One 64-byte-aligned line of a heap-backed map.
#[cfg(test)]
#[derive(Clone, Copy)]
#[repr(C, align(64))]
struct Line([u8; 64]);

#[cfg(test)]
impl Drop for Backing {
    fn drop(&mut self) {
        if let Backing::Heap(lines) = self {
            // SAFETY: `lines` came from `Box::into_raw` in `SegmentMap::heap` and is freed only
            // here, when the last `SegmentMap` sharing this backing is gone.
            drop(unsafe { Box::from_raw(lines.as_ptr()) });
        }
    }
}

impl SegmentMap {
    /// Maps the first `segment_bytes` of `file` shared and read-write (a header of
    /// `header_bytes`, then slots). No page is faulted in: see [`SegmentMap::prefault`].
    ///
    /// # Panics
    /// If the layout is impossible (header not a multiple of 64 bytes or smaller than the fixed
    /// header, no slot, a partial slot): the writer builds headers that never are.
    pub(crate) fn map_file(
        file: &File,
        header_bytes: u64,
        segment_bytes: u64,
    ) -> std::io::Result<SegmentMap> {
        let len =
            usize::try_from(segment_bytes).map_err(|_| std::io::Error::from_raw_os_error(libc::EFBIG))?;
        let map = MmapOptions::new().len(len).map_raw(file)?;
        let base =
            NonNull::new(map.as_mut_ptr()).ok_or_else(|| std::io::Error::other("mmap returned null"))?;
        Ok(SegmentMap::new(base, len, header_bytes as usize, Backing::File(map)))
    }

    /// A zeroed, heap-backed map of `header_bytes` and `cap` slots (tests).
    #[cfg(test)]
    pub(crate) fn heap(header_bytes: usize, cap: u64) -> SegmentMap {
        let len = header_bytes + cap as usize * RECORD_SIZE;
        let lines = vec![Line([0; 64]); len.div_ceil(64)].into_boxed_slice();
        let lines = NonNull::from(Box::leak(lines));
        SegmentMap::new(lines.cast::<u8>(), len, header_bytes, Backing::Heap(lines))
    }

    fn new(base: NonNull<u8>, len: usize, header_bytes: usize, backing: Backing) -> SegmentMap {
        assert!(
            header_bytes >= FIXED_HEADER && header_bytes.is_multiple_of(RECORD_SIZE),
            "header of {header_bytes} bytes"
        );
        assert!(
            len > header_bytes && (len - header_bytes).is_multiple_of(RECORD_SIZE),
            "segment of {len} bytes"
        );
        assert!((base.as_ptr() as usize).is_multiple_of(RECORD_SIZE), "unaligned segment memory");
        // SAFETY: `header_bytes < len` (asserted), so the result is inside the region.
        let slots = unsafe { base.add(header_bytes) };
        let cap = ((len - header_bytes) / RECORD_SIZE) as u64;
        SegmentMap { base, slots, header_bytes, cap, len, backing: Arc::new(backing) }
    }

    /// Number of slots.
    #[inline(always)]
    pub(crate) fn capacity(&self) -> u64 {
        self.cap
    }

    /// Size of the header (offset of slot 0).
    pub(crate) fn header_bytes(&self) -> usize {
        self.header_bytes
    }

    /// Size of the whole region.
    pub(crate) fn len(&self) -> usize {
        self.len
    }

    /// Writes `words` into slot `slot` and publishes it: words 1..8 with plain stores, then word
    /// 0 (the sequence number, which must not be 0) with [`publish`](Self::publish). The only
    /// write into a segment on the hot path.
    ///
    /// # Safety
    /// * `slot < self.capacity()`;
    /// * the caller is the only writer of this map's slots: no other thread (through any clone
    ///   of this map) or process writes a slot while this runs;
    /// * slot `slot` has never been written (readers do not read a body before its sequence
    ///   number is published, and a published slot is never written again).
    #[inline(always)]
    pub(crate) unsafe fn write_slot(&self, slot: u64, words: &Words) {
        debug_assert!(slot < self.cap, "slot {slot} out of {}", self.cap);
        debug_assert_ne!(words[0], 0, "sequence number 0 means unpublished");
        // SAFETY: `slot < cap` (the caller's promise), so the slot's 64 bytes lie inside the
        // region, 64-byte aligned (`slots` is, and slots are 64 bytes).
        let p = unsafe { self.slots.as_ptr().add(slot as usize * RECORD_SIZE).cast::<u64>() };
        for (i, w) in words.iter().enumerate().skip(1) {
            // SAFETY: word `i < 8` of the slot, in bounds and aligned as above. No other thread
            // accesses it now: the caller is the only writer, and readers read the body only
            // after loading a non-zero sequence number, which is stored below, after this.
            unsafe { p.add(i).write(w.to_le()) };
        }
        self.publish(slot, words[0]);
    }

    /// Stores a slot's sequence number with release ordering: the slot's body, written before,
    /// is visible to any thread whose [`load_seq`](Self::load_seq) returns `seq`.
    #[inline(always)]
    fn publish(&self, slot: u64, seq: u64) {
        self.seq_word(slot).store(seq.to_le(), Ordering::Release);
    }

    /// Loads a slot's sequence number with acquire ordering (0: not published yet).
    ///
    /// # Panics
    /// If `slot >= self.capacity()`.
    #[inline]
    pub(crate) fn load_seq(&self, slot: u64) -> u64 {
        assert!(slot < self.cap, "slot {slot} out of {}", self.cap);
        u64::from_le(self.seq_word(slot).load(Ordering::Acquire))
    }

    /// The sequence word of `slot` (`slot < cap`, checked by the callers).
    #[inline(always)]
    fn seq_word(&self, slot: u64) -> &AtomicU64 {
        debug_assert!(slot < self.cap);
        // SAFETY: `slot < cap`, so the 8 bytes are inside the region, 8-byte aligned, and live as
        // long as `self` (the backing is shared through the `Arc`). A sequence word is only ever
        // accessed atomically (bodies are words 1..8; pre-faulting uses an atomic exchange).
        unsafe { AtomicU64::from_ptr(self.slots.as_ptr().add(slot as usize * RECORD_SIZE).cast::<u64>()) }
    }

    /// The words of a published slot, or `None` if it is not published yet.
    ///
    /// # Panics
    /// If `slot >= self.capacity()`.
    #[cfg(test)]
    pub(crate) fn read_published(&self, slot: u64) -> Option<Words> {
        let seq = self.load_seq(slot);
        if seq == 0 {
            return None;
        }
        let mut words = [0u64; RECORD_SIZE / 8];
        words[0] = seq;
        // SAFETY: `slot < cap` (checked by `load_seq`), so the slot is inside the region and
        // aligned. Its sequence number is non-zero: `write_slot` wrote the body before its
        // release store, which this thread's acquire load has seen, and never writes the slot
        // again (its contract), so these plain reads do not race.
        let p = unsafe { self.slots.as_ptr().add(slot as usize * RECORD_SIZE).cast::<u64>() };
        for (i, w) in words.iter_mut().enumerate().skip(1) {
            // SAFETY: as above, word `i < 8` of the slot.
            *w = u64::from_le(unsafe { p.add(i).read() });
        }
        Some(words)
    }

    /// Number of published slots: the first slot whose sequence number is 0 (slots are
    /// published in order, so a binary search finds it).
    pub(crate) fn committed(&self) -> u64 {
        let (mut lo, mut hi) = (0u64, self.cap);
        while lo < hi {
            let mid = lo + (hi - lo) / 2;
            if self.load_seq(mid) != 0 { lo = mid + 1 } else { hi = mid }
        }
        lo
    }

    /// Stores the live `dropped` header field.
    pub(crate) fn store_dropped(&self, dropped: u64) {
        const { assert!(offsets::DROPPED + 8 <= FIXED_HEADER && offsets::DROPPED.is_multiple_of(8)) };
        // SAFETY: the offset is inside the fixed header (`header_bytes >= FIXED_HEADER`, checked
        // in `new`), 8-byte aligned in a 64-byte aligned region; the field is only ever accessed
        // atomically in this process.
        let word = unsafe { AtomicU64::from_ptr(self.base.as_ptr().add(offsets::DROPPED).cast::<u64>()) };
        word.store(dropped.to_le(), Ordering::Release);
    }

    /// Sets the live `closed` header field to 1.
    pub(crate) fn mark_closed(&self) {
        const { assert!(offsets::CLOSED + 4 <= FIXED_HEADER && offsets::CLOSED.is_multiple_of(4)) };
        // SAFETY: as in `store_dropped`, for a 4-byte aligned field.
        let word = unsafe { AtomicU32::from_ptr(self.base.as_ptr().add(offsets::CLOSED).cast::<u32>()) };
        word.store(1u32.to_le(), Ordering::Release);
    }

    /// Sets the live `sync_failed` header field to 1.
    pub(crate) fn mark_sync_failed(&self) {
        const { assert!(offsets::SYNC_FAILED + 4 <= FIXED_HEADER && offsets::SYNC_FAILED.is_multiple_of(4)) };
        // SAFETY: as in `store_dropped`, for a 4-byte aligned field.
        let word = unsafe { AtomicU32::from_ptr(self.base.as_ptr().add(offsets::SYNC_FAILED).cast::<u32>()) };
        word.store(1u32.to_le(), Ordering::Release);
    }

    /// Flushes bytes `from..from + len` to the file (`msync`); nothing for a heap map.
    pub(crate) fn flush(&self, from: usize, len: usize) -> std::io::Result<()> {
        let len = len.min(self.len.saturating_sub(from));
        match &*self.backing {
            Backing::File(map) if len > 0 => map.flush_range(from, len),
            _ => Ok(()),
        }
    }

    /// Faults the pages of bytes `from..from + len` in for writing (or again, after writeback
    /// cleaned them), without changing their contents: `MADV_POPULATE_WRITE`, or where the kernel
    /// lacks it (before 5.14), an atomic compare-exchange of the first slot of each page whose
    /// sequence word is 0 (it faults the page for writing and stores nothing new). Only pages of
    /// slots are touched that way; a page whose first slot is published is already written, and
    /// the header pages are left alone. Nothing for a heap map.
    pub(crate) fn prefault(&self, from: usize, len: usize) -> std::io::Result<()> {
        let len = len.min(self.len.saturating_sub(from));
        #[allow(irrefutable_let_patterns)] // `Heap` exists only in test builds
        let Backing::File(map) = &*self.backing else { return Ok(()) };
        if len == 0 {
            return Ok(());
        }
        match map.advise_range(Advice::PopulateWrite, from, len) {
            Err(e) if e.raw_os_error() == Some(libc::EINVAL) => {}
            other => return other,
        }
        let first = from.max(self.header_bytes).div_ceil(PAGE) * PAGE;
        for off in (first..from + len).step_by(PAGE) {
            let slot = ((off - self.header_bytes) / RECORD_SIZE) as u64;
            // A failed exchange (a published slot) is a load and faults nothing in for writing,
            // but then the page has been written already.
            let _ = self.seq_word(slot).compare_exchange(0, 0, Ordering::Relaxed, Ordering::Relaxed);
        }
        Ok(())
    }

    /// Drops the page-table entries of bytes `from..from + len` (`MADV_DONTNEED`): the pages stay
    /// in the file and the page cache (dirty ones are still written back and flushed by `flush`),
    /// and a later access faults them in again. Used on finished segments, so that unmapping one
    /// does not tear down a whole segment's page tables at once. Nothing for a heap map.
    pub(crate) fn zap(&self, from: usize, len: usize) -> std::io::Result<()> {
        let len = len.min(self.len.saturating_sub(from));
        match &*self.backing {
            // SAFETY: a shared file mapping: `MADV_DONTNEED` discards no data (the contents live in
            // the file; a later access reads them back), so no reference into the range can
            // observe a change. Its dirty state moves to the page cache, so nothing written is
            // lost.
            Backing::File(map) if len > 0 => unsafe {
                map.unchecked_advise_range(memmap2::UncheckedAdvice::DontNeed, from, len)
            },
            _ => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::{Duration, Instant};

    use super::*;
    use crate::model::{OrderRequest, Side};
    use crate::record::{Event, EventRecord, checksum, seal, stored_checksum, words_to_bytes};

    /// Slots written by the publish-protocol test (fewer under Miri, which is slow).
    const SLOTS: u64 = if cfg!(miri) { 48 } else { 20_000 };

    /// The sealed words of record `seq`: every field varies with `seq`, so a body of another
    /// record, a half-written body or a zero body fails the comparison or the checksum.
    fn record(seq: u64) -> Words {
        let o = OrderRequest::new(seq * 7, seq as i32, Side::Buy, seq as f64 * 0.25, seq * 3 + 1);
        let r = EventRecord::new(seq as i64 * 1000, Event::Sent { order: o, in_oms_ns: seq ^ 0x5555 });
        let mut w = r.to_words(seq);
        seal(&mut w);
        w
    }

    fn assert_whole(slot: u64, w: &Words) {
        assert_eq!(stored_checksum(w), checksum(&words_to_bytes(w)), "torn body in slot {slot}");
        assert_eq!(*w, record(slot + 1), "slot {slot} holds another record");
    }

    /// Waits (spinning, with a deadline) until `f` returns `Some`.
    fn wait_for<T>(what: &str, deadline: Instant, mut f: impl FnMut() -> Option<T>) -> T {
        loop {
            if let Some(v) = f() {
                return v;
            }
            assert!(Instant::now() < deadline, "timed out waiting for {what}");
            std::thread::yield_now();
        }
    }

    /// A writer thread publishes records while two readers follow: one slot by slot (load the
    /// sequence number, then the body), one through `committed` (the flusher's binary
    /// search). Neither may ever see a published sequence number with a body that is
    /// not the whole record. Under Miri the data-race detector also checks that the body reads
    /// are ordered after the body writes (it reports a race if the publish were not release /
    /// acquire).
    #[test]
    fn a_published_sequence_number_always_comes_with_its_whole_body() {
        let map = SegmentMap::heap(FIXED_HEADER, SLOTS);
        let deadline = Instant::now() + Duration::from_secs(300);
        std::thread::scope(|s| {
            let writer_map = map.clone();
            s.spawn(move || {
                for slot in 0..SLOTS {
                    // SAFETY: this thread is the only writer; each slot is written once, in
                    // order; `slot < SLOTS`, the map's capacity.
                    unsafe { writer_map.write_slot(slot, &record(slot + 1)) };
                }
            });
            let follower_map = map.clone();
            s.spawn(move || {
                for slot in 0..SLOTS {
                    let w = wait_for("the next record", deadline, || follower_map.read_published(slot));
                    assert_whole(slot, &w);
                }
            });
            let flusher_map = map.clone();
            s.spawn(move || {
                let mut seen = 0;
                while seen < SLOTS {
                    let n = flusher_map.committed();
                    assert!(n >= seen, "committed went back from {seen} to {n}");
                    for slot in seen..n {
                        let w =
                            flusher_map.read_published(slot).expect("a slot below `committed` is published");
                        assert_whole(slot, &w);
                    }
                    seen = n;
                    assert!(Instant::now() < deadline, "timed out at {seen} committed records");
                    std::thread::yield_now();
                }
            });
        });
        // `scope` has joined the threads and re-raised any panic of theirs.
        assert_eq!(map.committed(), SLOTS);
    }

    #[test]
    fn committed_counts_the_published_prefix() {
        let map = SegmentMap::heap(FIXED_HEADER, 10);
        assert_eq!(map.committed(), 0);
        for slot in 0..10 {
            // SAFETY: single-threaded; each slot once; `slot < 10`.
            unsafe { map.write_slot(slot, &record(slot + 1)) };
            assert_eq!(map.committed(), slot + 1);
            assert_eq!(map.load_seq(slot), slot + 1);
        }
    }
}
