//! Reading a journal back: [`Journal`] (a finished or crashed journal: iterate, verify). The
//! live follower (`oms tail`) is in `follower.rs` and checks slots with the same
//! `check_slot`.
//!
//! A slot is accepted only if its sequence number is the one expected at its position (so stale
//! or misplaced data is caught) and its CRC-32C matches. The first slot whose sequence number is 0
//! ends the journal. That slot may hold the body of a record the writer never published (it was
//! killed between writing the body and storing the sequence number): that is a *torn tail*,
//! reported and ignored. Anything else (a bad checksum on a published record, a wrong sequence
//! number, data after the end, a missing or truncated segment) is corruption, reported with the
//! file and byte offset.
//!
//! **One set of rules.** Every reader opens a segment with [`open_segment`] (a regular file, a
//! sound header, the index its name gives, a base file starting at sequence number 1) and
//! judges what follows the end with the same [`Records`] code: the rest of the segment and
//! every later segment (prepared ahead and never used) must be zeros, each later segment must
//! continue the sequence numbers and be as long as its header says. [`Journal`], recovery and
//! `JournalWriter::resume` read with [`Records`]; the follower (`oms tail`) checks slots with
//! the same `check_slot` and, at the end of a closed journal, runs [`check_after_end`]. So a
//! journal one of them refuses, all refuse, with the same error.
//!
//! [`Journal`] reads each segment file with `pread(2)`, a window of [`WINDOW_SLOTS`] records at
//! a time into one buffer that stays in the CPU's cache, not through a mapping: a file
//! truncated under a reader would turn a mapping into SIGBUS, a read just sees the shorter
//! file. A journal still being written is read as far as it was published; where the end
//! seems to be followed by data, the end slot is read again (the writer publishes in order), so
//! a record published meanwhile is read on, not called a gap. Segments after the end are checked for zeros a chunk at a time, skipping
//! the ranges the file system reports as holes (`SEEK_DATA`), which read as zeros: a segment
//! prepared ahead is mostly unwritten blocks, so this costs a few system calls, not a read of
//! the whole file.

use std::collections::HashSet;
use std::fs::{File, OpenOptions};
use std::io::Read;
use std::os::unix::fs::{FileExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

use crate::record::{EventRecord, RECORD_SIZE, bytes_to_words, checksums, stored_checksum};

use super::format::{
    FIXED_HEADER, SegmentHeader, existing_segments, offsets, segment_path, split_segment_path, u32_at, u64_at,
};
use super::{Corruption, FileKind, JournalError};

mod report;
mod zeros;
pub use report::{LastGood, SegmentSummary, TornTail, VerifyReport};
use zeros::{first_nonzero, first_nonzero_in};

/// Records whose CRCs are computed in one go.
const CRC_BLOCK: usize = 256;

/// Records read from a segment file at a time (256 KiB): the window is read into the same
/// buffer again and again, so it stays in the CPU's cache and costs no page faults. Reading a
/// whole segment into a fresh buffer cost a page fault and the kernel's zeroing of every 4 KiB
/// of it, more than the copy itself (`docs/BENCHMARKS.md`, the readers).
const WINDOW_SLOTS: u64 = 4096;

/// One opened segment file (header only; records are read when iterated).
#[derive(Clone, Debug)]
struct SegmentFile {
    path: PathBuf,
    header: SegmentHeader,
}

/// A journal opened for reading: one segment, or a base path with all its segments.
#[derive(Debug)]
pub struct Journal {
    segments: Vec<SegmentFile>,
    /// A problem found while opening a later segment (missing, foreign, unreadable): reported
    /// when iteration gets there.
    trailing_error: Option<JournalError>,
}

/// Opens `path` for reading, if it is a regular file: anything else (a directory, a FIFO, a
/// device, a socket) is [`JournalError::NotAFile`], refused before a byte is read. The file is
/// opened non-blocking, so that a path replaced by a FIFO after the check does not block the
/// open either (and is then refused).
pub(super) fn open_file(path: &Path) -> Result<File, JournalError> {
    let not_a_file = |kind| JournalError::NotAFile { path: path.to_path_buf(), kind };
    let meta = std::fs::metadata(path).map_err(|e| JournalError::io(path, "open", e))?;
    if let Some(kind) = FileKind::of(meta.file_type()) {
        return Err(not_a_file(kind));
    }
    let file = OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK)
        .open(path)
        .map_err(|e| JournalError::io(path, "open", e))?;
    let meta = file.metadata().map_err(|e| JournalError::io(path, "stat", e))?;
    match FileKind::of(meta.file_type()) {
        Some(kind) => Err(not_a_file(kind)),
        None => Ok(file),
    }
}

/// Opens the segment file `path` with the readers' rules: a regular file ([`open_file`]), a
/// header that decodes ([`SegmentHeader::decode`]: every byte of it checked but the dropped
/// count), the segment index its name gives (`….000007` is segment 7; a header that says
/// another number than 0 needs that name), and, for a base file (segment 0), a first sequence
/// number of 1. Returns the file, its header and its length.
pub(super) fn open_segment(path: &Path) -> Result<(File, SegmentHeader, u64), JournalError> {
    let mut f = open_file(path)?;
    let (header, len) = read_header_from(&mut f, path)?;
    let index = header.segment_index;
    if index != 0 {
        let in_name = split_segment_path(path).map_or(0, |(_, i)| i);
        if in_name != index {
            let problem = Corruption::WrongIndex { in_header: index, in_name };
            return Err(JournalError::corrupt(path, offsets::SEGMENT_INDEX as u64, problem));
        }
    } else if header.first_seq != 1 {
        let problem = Corruption::SequenceGap { found: header.first_seq, expected: 1 };
        return Err(JournalError::corrupt(path, offsets::FIRST_SEQ as u64, problem));
    }
    Ok((f, header, len))
}

/// Reads and checks the header of `f` (the file `path`, read from its start); also returns the
/// file's length.
fn read_header_from(f: &mut File, path: &Path) -> Result<(SegmentHeader, u64), JournalError> {
    let len = f.metadata().map_err(|e| JournalError::io(path, "stat", e))?.len();
    let mut buf = vec![0u8; len.min(4096) as usize];
    f.read_exact(&mut buf).map_err(|e| JournalError::io(path, "read the header", e))?;
    if buf.len() >= FIXED_HEADER && buf[..8] == super::format::MAGIC {
        // The whole header (its padding is checked too), when the file is that long.
        let want = u32_at(&buf, offsets::HEADER_BYTES) as u64;
        if want > buf.len() as u64 && want <= len {
            let mut more = vec![0u8; (want - buf.len() as u64) as usize];
            f.read_exact(&mut more).map_err(|e| JournalError::io(path, "read the header", e))?;
            buf.extend_from_slice(&more);
        }
    }
    Ok((SegmentHeader::decode(path, &buf, len)?, len))
}

impl Journal {
    /// Opens `path`: if it is a base file (segment 0), the journal is it and every numbered
    /// segment next to it (`path.000001`, …, which must be contiguous); if it is a numbered
    /// segment, just that segment. Errors if `path` itself is not a readable journal segment;
    /// problems with later segments are reported by [`Journal::records`] when it gets there.
    pub fn open(path: impl AsRef<Path>) -> Result<Journal, JournalError> {
        let path = path.as_ref();
        let (_, header, _) = open_segment(path)?;
        let first = SegmentFile { path: path.to_path_buf(), header };
        if first.header.segment_index != 0 {
            return Ok(Journal { segments: vec![first], trailing_error: None });
        }
        Journal::with_later(path, first)
    }

    /// `first`, a segment of the journal at `base`, and every numbered segment after it (which
    /// must follow without a gap and belong to the journal; a problem with one is reported when
    /// iteration gets there).
    fn with_later(base: &Path, first: SegmentFile) -> Result<Journal, JournalError> {
        let from = first.header.segment_index;
        let journal_id = first.header.journal_id;
        let mut j = Journal { segments: vec![first], trailing_error: None };
        let Some(next) = from.checked_add(1) else { return Ok(j) };
        let later = existing_segments(base)?.into_iter().filter(|(index, _)| *index > from);
        for (expected, (index, seg_path)) in (next..).zip(later) {
            if index != expected {
                j.trailing_error = Some(JournalError::MissingSegment {
                    path: segment_path(base, expected),
                    index: expected,
                    found: seg_path,
                });
                break;
            }
            match open_segment(&seg_path).and_then(|(_, h, _)| continues(&seg_path, &h, journal_id, index)) {
                Ok(header) => j.segments.push(SegmentFile { path: seg_path, header }),
                Err(e) => {
                    j.trailing_error = Some(e);
                    break;
                }
            }
        }
        Ok(j)
    }

    /// The header of the first segment.
    pub fn header(&self) -> &SegmentHeader {
        &self.segments[0].header
    }

    /// The segment files, in order, with their headers.
    pub fn segments(&self) -> impl Iterator<Item = (&Path, &SegmentHeader)> {
        self.segments.iter().map(|s| (s.path.as_path(), &s.header))
    }

    /// Every valid record in order; ends at the journal's end, or with one `Err` at the first
    /// corruption.
    pub fn records(&self) -> Records<'_> {
        Records {
            journal: self,
            seg: 0,
            buf: vec![0; WINDOW_SLOTS as usize * RECORD_SIZE],
            file: None,
            file_len: 0,
            win_slot: 0,
            win_slots: 0,
            loaded: false,
            start: 0,
            slot: 0,
            avail: 0,
            expected: self.segments[0].header.first_seq,
            done: false,
            torn: None,
            last_good: None,
            crcs: vec![0; CRC_BLOCK],
            crc_base: 0,
            crc_len: 0,
        }
    }

    /// Canonical paths of the segment files (to skip duplicates when several paths are given).
    pub fn canonical_paths(&self) -> HashSet<PathBuf> {
        self.segments
            .iter()
            .map(|s| std::fs::canonicalize(&s.path).unwrap_or_else(|_| s.path.clone()))
            .collect()
    }
}

/// The readers' verdict on what follows the end of a closed journal that a follower found at
/// slot `slot` (sequence number `expected`) of the segment file `path` of the journal at `base`:
/// what [`Records`] checks after an end (a torn tail is allowed; data after it, a truncated
/// file, a later segment that does not continue the journal or holds data, a record after the
/// segment marked closed are not). `Ok(true)`: the journal ends there; `Ok(false)`: a record is
/// there after all (another writer resumed the journal since it was found closed).
pub(super) fn check_after_end(
    base: &Path,
    path: &Path,
    slot: u64,
    expected: u64,
) -> Result<bool, JournalError> {
    let (_, header, _) = open_segment(path)?;
    let journal = Journal::with_later(base, SegmentFile { path: path.to_path_buf(), header })?;
    let mut records = journal.records();
    (records.start, records.expected) = (slot, expected);
    match records.next() {
        Some(Err(e)) => Err(e),
        Some(Ok(_)) => Ok(false),
        None => Ok(true),
    }
}

/// `header` (of segment file `path`, named as segment `index`) if it belongs to the journal
/// `journal_id` and its name.
pub(super) fn continues(
    path: &Path,
    header: &SegmentHeader,
    journal_id: u64,
    index: u32,
) -> Result<SegmentHeader, JournalError> {
    if header.journal_id != journal_id {
        let problem = Corruption::OtherJournal { found: header.journal_id, expected: journal_id };
        return Err(JournalError::corrupt(path, offsets::JOURNAL_ID as u64, problem));
    }
    if header.segment_index != index {
        let problem = Corruption::WrongIndex { in_header: header.segment_index, in_name: index };
        return Err(JournalError::corrupt(path, offsets::SEGMENT_INDEX as u64, problem));
    }
    Ok(header.clone())
}

/// Checks a published slot (`bytes`, whose sequence word is not 0) at the position of sequence
/// number `expected`, `crc` being the CRC-32C of its first 60 bytes: the sequence number, the
/// checksum and the field values.
#[inline(always)]
pub(super) fn check_slot(
    bytes: &[u8; RECORD_SIZE],
    expected: u64,
    crc: u32,
) -> Result<EventRecord, Corruption> {
    let words = bytes_to_words(bytes);
    if words[0] != expected {
        return Err(Corruption::WrongSeq { found: words[0], expected });
    }
    if stored_checksum(&words) != crc {
        return Err(Corruption::Checksum { seq: words[0] });
    }
    Ok(EventRecord::from_words(&words)?)
}

/// Iterator over a journal's valid records; see [`Journal::records`].
#[derive(Debug)]
pub struct Records<'a> {
    journal: &'a Journal,
    seg: usize,
    /// Slots `win_slot..win_slot + win_slots` of the loaded segment, as read from its file.
    buf: Vec<u8>,
    /// The loaded segment's file, and its length when it was opened.
    file: Option<File>,
    file_len: u64,
    win_slot: u64,
    win_slots: u64,
    loaded: bool,
    /// The slot of the first segment to start at (0; a follower's end check starts later).
    start: u64,
    slot: u64,
    /// Complete slots present in the file (less than the capacity if truncated).
    avail: u64,
    expected: u64,
    done: bool,
    torn: Option<TornTail>,
    /// CRCs of slots `crc_base..crc_base + crc_len` of the loaded segment, computed a block at a
    /// time ([`checksums`]).
    crcs: Vec<u32>,
    crc_base: u64,
    crc_len: u64,
    /// (segment, seq, offset) of the last valid record (the path is looked up on demand: no
    /// allocation per record).
    last_good: Option<(usize, u64, u64)>,
}

impl Records<'_> {
    /// The unpublished record found after the last good one, once iteration has ended.
    pub fn torn_tail(&self) -> Option<&TornTail> {
        self.torn.as_ref()
    }

    /// The last valid record returned so far.
    pub fn last_good(&self) -> Option<LastGood> {
        self.last_good.map(|(seg, seq, offset)| LastGood {
            seq,
            path: self.journal.segments[seg].path.clone(),
            offset,
        })
    }

    fn fail(&mut self, e: JournalError) -> Option<Result<EventRecord, JournalError>> {
        self.done = true;
        Some(Err(e))
    }

    fn load(&mut self) -> Result<(), JournalError> {
        let s = &self.journal.segments[self.seg];
        let file = open_file(&s.path)?;
        self.file_len = file.metadata().map_err(|e| JournalError::io(&s.path, "stat", e))?.len();
        self.file = Some(file);
        let hb = s.header.header_bytes;
        let len = self.file_len.min(s.header.segment_bytes);
        self.avail = len.saturating_sub(hb) / RECORD_SIZE as u64;
        self.slot = std::mem::take(&mut self.start);
        (self.win_slots, self.crc_len) = (0, 0);
        self.loaded = true;
        Ok(())
    }

    /// Reads the window of the loaded segment that starts at `slot` (`slot < avail`): up to
    /// [`WINDOW_SLOTS`], never past the complete slots present. The checksums computed before
    /// are of bytes read earlier: they are computed again.
    fn fill(&mut self, slot: u64) -> Result<(), JournalError> {
        let s = &self.journal.segments[self.seg];
        let n = (self.avail - slot).min(WINDOW_SLOTS);
        let bytes = &mut self.buf[..n as usize * RECORD_SIZE];
        let at = s.header.header_bytes + slot * RECORD_SIZE as u64;
        let read = match &self.file {
            Some(f) => f.read_exact_at(bytes, at),
            None => Err(std::io::ErrorKind::NotConnected.into()),
        };
        read.map_err(|e| JournalError::io(&s.path, "read", e))?;
        (self.win_slot, self.win_slots, self.crc_len) = (slot, n, 0);
        Ok(())
    }

    /// The bytes of `slot` of the loaded segment (`slot < avail`), reading its window if it is
    /// not the one read.
    fn slot_bytes(&mut self, slot: u64) -> Result<[u8; RECORD_SIZE], JournalError> {
        if !(self.win_slot..self.win_slot + self.win_slots).contains(&slot) {
            self.fill(slot)?;
        }
        let at = (slot - self.win_slot) as usize * RECORD_SIZE;
        let mut b = [0u8; RECORD_SIZE];
        b.copy_from_slice(&self.buf[at..at + RECORD_SIZE]);
        Ok(b)
    }

    /// The file offset of the first byte that is not zero in slots `from..avail` of the loaded
    /// segment: the part of them in the window read, then the file after it.
    fn first_data_from(&mut self, from: u64) -> Result<Option<u64>, JournalError> {
        let s = &self.journal.segments[self.seg];
        let hb = s.header.header_bytes;
        let win_end = self.win_slot + self.win_slots;
        if (self.win_slot..win_end).contains(&from) {
            let (a, b) = ((from - self.win_slot) as usize, self.win_slots as usize);
            if let Some(off) = first_nonzero(&self.buf[a * RECORD_SIZE..b * RECORD_SIZE]) {
                return Ok(Some(hb + from * RECORD_SIZE as u64 + off as u64));
            }
        }
        let after = hb + from.max(win_end) * RECORD_SIZE as u64;
        let end = hb + self.avail * RECORD_SIZE as u64;
        match &self.file {
            Some(f) if after < end => {
                first_nonzero_in(f, after, end).map_err(|e| JournalError::io(&s.path, "read", e))
            }
            _ => Ok(None),
        }
    }

    /// Checks that nothing follows an end found at slot `self.slot` (sequence number 0).
    /// `Ok(true)` if the slot holds a record after all, read again after data was found beyond
    /// it: a writer still appending publishes in order, so the journal grew while it was read,
    /// and iteration goes on.
    fn check_end(&mut self) -> Result<bool, JournalError> {
        let slot = self.slot_bytes(self.slot)?;
        if let Some(data) = self.first_data_from(self.slot + 1)? {
            self.fill(self.slot)?;
            if u64_at(&self.buf, 0) != 0 {
                return Ok(true);
            }
            let s = &self.journal.segments[self.seg];
            let hb = s.header.header_bytes;
            let data_at = hb + (data - hb) / RECORD_SIZE as u64 * RECORD_SIZE as u64;
            let problem = Corruption::DataAfterGap { seq: self.expected, data_at };
            let at = hb + self.slot * RECORD_SIZE as u64;
            return Err(JournalError::corrupt(&s.path, at, problem));
        }
        let s = &self.journal.segments[self.seg];
        if slot.iter().any(|&b| b != 0) {
            let at = s.header.header_bytes + self.slot * RECORD_SIZE as u64;
            self.torn = Some(TornTail { path: s.path.clone(), offset: at, seq: self.expected });
        }
        if self.avail < s.header.capacity() {
            return Err(truncated(s, self.file_len));
        }
        let journal = self.journal;
        for (before, later) in journal.segments[self.seg..].iter().zip(&journal.segments[self.seg + 1..]) {
            self.check_unused(before, later, &s.path)?;
        }
        self.trailing().map(|()| false)
    }

    /// Checks `later`, a segment after the end of the journal (which ended in `ended_in`):
    /// prepared ahead and never used, it continues the sequence numbers of `before`, holds
    /// nothing but zeros after its header and is as long as its header says.
    fn check_unused(
        &mut self,
        before: &SegmentFile,
        later: &SegmentFile,
        ended_in: &Path,
    ) -> Result<(), JournalError> {
        let (path, h) = (&later.path, &later.header);
        let expected = before.header.first_seq + before.header.capacity();
        if h.first_seq != expected {
            let problem = Corruption::SequenceGap { found: h.first_seq, expected };
            return Err(JournalError::corrupt(path, offsets::FIRST_SEQ as u64, problem));
        }
        let file = open_file(path)?;
        let len = file.metadata().map_err(|e| JournalError::io(path, "stat", e))?.len();
        let end = len.min(h.segment_bytes);
        let data =
            first_nonzero_in(&file, h.header_bytes, end).map_err(|e| JournalError::io(path, "read", e))?;
        if let Some(at) = data {
            let slot_at = h.header_bytes + (at - h.header_bytes) / RECORD_SIZE as u64 * RECORD_SIZE as u64;
            let problem = Corruption::DataAfterEnd { seq: self.expected, ended_in: ended_in.to_path_buf() };
            return Err(JournalError::corrupt(path, slot_at, problem));
        }
        if len < h.segment_bytes {
            return Err(truncated(later, len));
        }
        Ok(())
    }

    fn trailing(&self) -> Result<(), JournalError> {
        match &self.journal.trailing_error {
            Some(e) => Err(e.clone()),
            None => Ok(()),
        }
    }
}

fn truncated(s: &SegmentFile, len: u64) -> JournalError {
    JournalError::corrupt(&s.path, len, Corruption::Truncated { len, expected: s.header.segment_bytes })
}

impl Records<'_> {
    /// The common case of [`Iterator::next`]: the next slot of the loaded segment, its checksum
    /// already computed, holding the record due. `None` for anything else (the segment's end,
    /// the journal's, a new checksum block, any problem): the full path then decides, and says
    /// what is wrong.
    #[inline(always)]
    fn next_in_block(&mut self) -> Option<EventRecord> {
        let rel = self.slot.wrapping_sub(self.crc_base);
        if !self.loaded || self.done || rel >= self.crc_len || self.expected == u64::MAX {
            return None;
        }
        // The block lies within the window read: `crc_base + crc_len <= win_slot + win_slots`.
        let at = (self.slot - self.win_slot) as usize * RECORD_SIZE;
        let bytes = <&[u8; RECORD_SIZE]>::try_from(self.buf.get(at..at + RECORD_SIZE)?).ok()?;
        let rec = check_slot(bytes, self.expected, self.crcs[rel as usize]).ok()?;
        let hb = self.journal.segments[self.seg].header.header_bytes;
        self.last_good = Some((self.seg, self.expected, hb + self.slot * RECORD_SIZE as u64));
        self.slot += 1;
        self.expected += 1;
        Some(rec)
    }
}

impl Iterator for Records<'_> {
    type Item = Result<EventRecord, JournalError>;

    /// The common case inlined into the caller's loop (so a record need not pass through
    /// memory on its way to the caller); everything else in `Records::next_slow`.
    #[inline]
    fn next(&mut self) -> Option<Self::Item> {
        match self.next_in_block() {
            Some(rec) => Some(Ok(rec)),
            None => self.next_slow(),
        }
    }
}

impl Records<'_> {
    /// [`Iterator::next`] past the common case: a new window, checksum block, segment or the
    /// journal's end, and every problem.
    #[inline(never)]
    fn next_slow(&mut self) -> Option<Result<EventRecord, JournalError>> {
        loop {
            if self.done {
                return None;
            }
            let segs = &self.journal.segments;
            if !self.loaded {
                let s = &segs[self.seg];
                if self.seg > 0 && s.header.first_seq != self.expected {
                    let problem =
                        Corruption::SequenceGap { found: s.header.first_seq, expected: self.expected };
                    return self.fail(JournalError::corrupt(&s.path, offsets::FIRST_SEQ as u64, problem));
                }
                if let Err(e) = self.load() {
                    return self.fail(e);
                }
                // The writer marks only its last segment closed (a resume clears the mark
                // before it appends): a record after a closed segment is not the writer's.
                if self.seg > 0 && segs[self.seg - 1].header.closed && self.avail > 0 {
                    let first = match self.slot_bytes(0) {
                        Ok(b) => u64_at(&b, 0),
                        Err(e) => return self.fail(e),
                    };
                    if let Some(seq) = Some(first).filter(|&q| q != 0) {
                        let closed = &segs[self.seg - 1];
                        let problem = Corruption::ClosedNotLast { seq, next: s.path.clone() };
                        return self.fail(JournalError::corrupt(
                            &closed.path,
                            offsets::CLOSED as u64,
                            problem,
                        ));
                    }
                }
            }
            let s = &segs[self.seg];
            if self.slot == self.avail {
                if self.avail < s.header.capacity() {
                    let e = truncated(s, self.file_len);
                    return self.fail(e);
                }
                if self.seg + 1 == segs.len() {
                    self.done = true;
                    return self.trailing().err().map(Err);
                }
                self.seg += 1;
                self.loaded = false;
                continue;
            }
            let at = s.header.header_bytes + self.slot * RECORD_SIZE as u64;
            let bytes = match self.slot_bytes(self.slot) {
                Ok(b) => b,
                Err(e) => return self.fail(e),
            };
            let seq = u64_at(&bytes, 0);
            if seq == 0 {
                match self.check_end() {
                    Ok(true) => continue,
                    Ok(false) => self.done = true,
                    Err(e) => return self.fail(e),
                }
                return None;
            }
            if !(self.crc_base..self.crc_base + self.crc_len).contains(&self.slot) {
                // The block lies within the window, which holds the slot.
                let n = (self.win_slot + self.win_slots - self.slot).min(CRC_BLOCK as u64);
                let from = (self.slot - self.win_slot) as usize * RECORD_SIZE;
                checksums(&self.buf[from..from + n as usize * RECORD_SIZE], &mut self.crcs);
                self.crc_base = self.slot;
                self.crc_len = n;
            }
            let crc = self.crcs[(self.slot - self.crc_base) as usize];
            let checked = check_slot(&bytes, self.expected, crc).and_then(|rec| {
                // The header check makes this impossible (first_seq + capacity fits a u64);
                // counting with checked arithmetic keeps a crafted file from panicking anyway.
                let next = self.expected.checked_add(1).ok_or(Corruption::SequenceRange {
                    first_seq: s.header.first_seq,
                    capacity: s.header.capacity(),
                })?;
                Ok((rec, next))
            });
            let (rec, next) = match checked {
                Ok(ok) => ok,
                Err(problem) => {
                    let e = JournalError::corrupt(&s.path, at, problem);
                    return self.fail(e);
                }
            };
            self.last_good = Some((self.seg, seq, at));
            self.slot += 1;
            self.expected = next;
            return Some(Ok(rec));
        }
    }
}
