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
//! [`Journal`] reads each segment file into memory with `read(2)` (one at a time), not through a
//! mapping: a file truncated under a reader would turn a mapping into SIGBUS, a read just sees
//! the shorter file.

use std::collections::HashSet;
use std::fs::File;
use std::io::Read;
use std::path::{Path, PathBuf};

use crate::record::{EventRecord, RECORD_SIZE, bytes_to_words, checksums, stored_checksum};

use super::format::{FIXED_HEADER, SegmentHeader, existing_segments, offsets, segment_path, u32_at, u64_at};
use super::{Corruption, JournalError};

/// Records whose CRCs are computed in one go.
const CRC_BLOCK: usize = 256;

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

/// Reads and checks the header of `path`; also returns the file's length.
fn read_header(path: &Path) -> Result<(SegmentHeader, u64), JournalError> {
    let mut f = File::open(path).map_err(|e| JournalError::io(path, "open", e))?;
    read_header_from(&mut f, path)
}

/// Reads and checks the header of `f` (the file `path`, read from its start); also returns the
/// file's length.
pub(super) fn read_header_from(f: &mut File, path: &Path) -> Result<(SegmentHeader, u64), JournalError> {
    let len = f.metadata().map_err(|e| JournalError::io(path, "stat", e))?.len();
    let mut buf = vec![0u8; len.min(4096) as usize];
    f.read_exact(&mut buf).map_err(|e| JournalError::io(path, "read the header", e))?;
    if buf.len() >= FIXED_HEADER && buf[..8] == super::format::MAGIC {
        let want = u32_at(&buf, offsets::HEADER_BYTES) as u64;
        if want > buf.len() as u64 && want <= len && want <= 1 << 24 {
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
        let (header, _) = read_header(path)?;
        let is_base = header.segment_index == 0;
        let journal_id = header.journal_id;
        let mut j = Journal {
            segments: vec![SegmentFile { path: path.to_path_buf(), header }],
            trailing_error: None,
        };
        if !is_base {
            return Ok(j);
        }
        for (expected, (index, seg_path)) in (1u32..).zip(existing_segments(path)?) {
            if index != expected {
                j.trailing_error = Some(JournalError::MissingSegment {
                    path: segment_path(path, expected),
                    index: expected,
                    found: seg_path,
                });
                break;
            }
            match read_header(&seg_path).and_then(|(h, _)| continues(&seg_path, &h, journal_id, index)) {
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
            buf: Vec::new(),
            loaded: false,
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

    /// Walks the whole journal and reports its state (never fails: problems are in the report).
    pub fn verify(&self) -> VerifyReport {
        let mut it = self.records();
        let mut records = 0u64;
        let mut first_seq = None;
        let mut error = None;
        for r in &mut it {
            match r {
                Ok(rec) => {
                    records += 1;
                    first_seq.get_or_insert(rec.seq);
                }
                Err(e) => error = Some(e),
            }
        }
        let last_good = it.last_good();
        let last_seq = last_good.as_ref().map(|g| g.seq).unwrap_or(0);
        let segments = self
            .segments
            .iter()
            .map(|s| {
                let h = &s.header;
                let n = last_seq.checked_sub(h.first_seq).map_or(0, |before| (before + 1).min(h.capacity()));
                SegmentSummary {
                    path: s.path.clone(),
                    index: h.segment_index,
                    first_seq: h.first_seq,
                    capacity: h.capacity(),
                    records: n,
                    dropped: h.dropped,
                    closed: h.closed,
                }
            })
            .collect::<Vec<_>>();
        VerifyReport {
            records,
            first_seq,
            last_good,
            torn_tail: it.torn,
            // Each header holds the writer's running count as of its last update: the journal's
            // count is the largest, not the sum.
            dropped: segments.iter().map(|s| s.dropped).max().unwrap_or(0),
            closed: segments.iter().any(|s| s.closed),
            sync_failed: self.segments.iter().any(|s| s.header.sync_failed),
            segments,
            error,
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

/// Where the last valid record is.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LastGood {
    /// Its sequence number.
    pub seq: u64,
    /// Its segment file.
    pub path: PathBuf,
    /// Its byte offset in that file.
    pub offset: u64,
}

/// A slot after the last good record holding the body of a record that was never published
/// (the writer stopped between writing it and publishing it).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TornTail {
    /// The segment file.
    pub path: PathBuf,
    /// Byte offset of the slot.
    pub offset: u64,
    /// The sequence number the slot would have had.
    pub seq: u64,
}

/// One segment in a [`VerifyReport`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SegmentSummary {
    /// The file.
    pub path: PathBuf,
    /// Segment index.
    pub index: u32,
    /// Sequence number of its first slot.
    pub first_seq: u64,
    /// Slots.
    pub capacity: u64,
    /// Valid records in it.
    pub records: u64,
    /// The writer's count of dropped records when it last updated this segment's header (a
    /// running count: the last segment's is the journal's total).
    pub dropped: u64,
    /// Whether the writer closed the journal with this segment last.
    pub closed: bool,
}

/// The result of [`Journal::verify`].
#[derive(Debug)]
pub struct VerifyReport {
    /// Valid records.
    pub records: u64,
    /// Sequence number of the first valid record.
    pub first_seq: Option<u64>,
    /// The last valid record.
    pub last_good: Option<LastGood>,
    /// An unpublished record after the last good one (normal after a crash; ignored).
    pub torn_tail: Option<TornTail>,
    /// Records the writer had to drop (journal full even after the reserve).
    pub dropped: u64,
    /// Whether the writer closed the journal cleanly.
    pub closed: bool,
    /// Whether the writer saw a flush to disk fail (a segment header's `sync_failed` flag).
    pub sync_failed: bool,
    /// Per segment.
    pub segments: Vec<SegmentSummary>,
    /// The first corruption, if any.
    pub error: Option<JournalError>,
}

impl VerifyReport {
    /// No corruption (a torn tail is not corruption).
    pub fn is_sound(&self) -> bool {
        self.error.is_none()
    }
}

/// Iterator over a journal's valid records; see [`Journal::records`].
#[derive(Debug)]
pub struct Records<'a> {
    journal: &'a Journal,
    seg: usize,
    buf: Vec<u8>,
    loaded: bool,
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
        // Reuse the buffer's allocation from one segment to the next.
        self.buf.clear();
        File::open(&s.path)
            .and_then(|mut f| f.read_to_end(&mut self.buf))
            .map_err(|e| JournalError::io(&s.path, "read", e))?;
        let hb = s.header.header_bytes;
        let len = (self.buf.len() as u64).min(s.header.segment_bytes);
        self.avail = len.saturating_sub(hb) / RECORD_SIZE as u64;
        self.slot = 0;
        self.crc_len = 0;
        self.loaded = true;
        Ok(())
    }

    /// Checks that nothing follows an end found at slot `self.slot` (sequence number 0).
    fn check_end(&mut self) -> Result<(), JournalError> {
        let s = &self.journal.segments[self.seg];
        let hb = s.header.header_bytes as usize;
        let at = hb + self.slot as usize * RECORD_SIZE;
        let slot = &self.buf[at..at + RECORD_SIZE];
        if slot.iter().any(|&b| b != 0) {
            self.torn = Some(TornTail { path: s.path.clone(), offset: at as u64, seq: self.expected });
        }
        let rest_start = at + RECORD_SIZE;
        let rest_end = hb + self.avail as usize * RECORD_SIZE;
        if let Some(off) = first_nonzero(&self.buf[rest_start..rest_end]) {
            let data_at = (rest_start + off / RECORD_SIZE * RECORD_SIZE) as u64;
            let problem = Corruption::DataAfterGap { seq: self.expected, data_at };
            return Err(JournalError::corrupt(&s.path, at as u64, problem));
        }
        if self.avail < s.header.capacity() {
            return Err(truncated(s, self.buf.len() as u64));
        }
        for later in &self.journal.segments[self.seg + 1..] {
            let bytes = std::fs::read(&later.path).map_err(|e| JournalError::io(&later.path, "read", e))?;
            let hb = (later.header.header_bytes as usize).min(bytes.len());
            if let Some(off) = first_nonzero(&bytes[hb..]) {
                let problem = Corruption::DataAfterEnd { seq: self.expected, ended_in: s.path.clone() };
                return Err(JournalError::corrupt(
                    &later.path,
                    (hb + off / RECORD_SIZE * RECORD_SIZE) as u64,
                    problem,
                ));
            }
        }
        self.trailing()
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

/// Offset of the first non-zero byte.
fn first_nonzero(b: &[u8]) -> Option<usize> {
    let mut chunks = b.chunks_exact(64);
    let mut base = 0;
    for c in &mut chunks {
        if c.iter().fold(0u8, |a, &x| a | x) != 0 {
            return c.iter().position(|&x| x != 0).map(|p| base + p);
        }
        base += 64;
    }
    chunks.remainder().iter().position(|&x| x != 0).map(|p| base + p)
}

impl Iterator for Records<'_> {
    type Item = Result<EventRecord, JournalError>;

    fn next(&mut self) -> Option<Self::Item> {
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
            }
            let s = &segs[self.seg];
            if self.slot == self.avail {
                if self.avail < s.header.capacity() {
                    let e = truncated(s, self.buf.len() as u64);
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
            let at = s.header.header_bytes as usize + self.slot as usize * RECORD_SIZE;
            let Some(bytes) =
                self.buf.get(at..at + RECORD_SIZE).and_then(|b| <&[u8; RECORD_SIZE]>::try_from(b).ok())
            else {
                let e = truncated(s, self.buf.len() as u64);
                return self.fail(e);
            };
            let seq = u64_at(bytes, 0);
            if seq == 0 {
                self.done = true;
                return self.check_end().err().map(Err);
            }
            if !(self.crc_base..self.crc_base + self.crc_len).contains(&self.slot) {
                let n = (self.avail - self.slot).min(CRC_BLOCK as u64);
                let end = at + n as usize * RECORD_SIZE;
                checksums(&self.buf[at..end], &mut self.crcs);
                self.crc_base = self.slot;
                self.crc_len = n;
            }
            let crc = self.crcs[(self.slot - self.crc_base) as usize];
            let checked = check_slot(bytes, self.expected, crc).and_then(|rec| {
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
                    let e = JournalError::corrupt(&s.path, at as u64, problem);
                    return self.fail(e);
                }
            };
            self.last_good = Some((self.seg, seq, at as u64));
            self.slot += 1;
            self.expected = next;
            return Some(Ok(rec));
        }
    }
}
