//! Reading journals back: [`Journal`] (a finished or crashed journal: iterate, verify) and
//! [`Follower`] (a live one: `oms tail`).
//!
//! A slot is accepted only if its sequence number is the one expected at its position (so stale
//! or misplaced data is caught) and its CRC-32 matches. The first slot whose sequence number is 0
//! ends the journal. That slot may hold the body of a record the writer never published (it was
//! killed between writing the body and storing the sequence number): that is a *torn tail*,
//! reported and ignored. Anything else (a bad checksum on a published record, a wrong sequence
//! number, data after the end, a missing or truncated segment) is corruption, reported with the
//! file and byte offset.
//!
//! [`Journal`] reads each segment file into memory with `read(2)` (one at a time), not through a
//! mapping: a file truncated under a reader would turn a mapping into SIGBUS, a read just sees
//! the shorter file. [`Follower`] must see new records as they are published, so it maps the
//! file read-only.

use std::collections::HashSet;
use std::fs::File;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::atomic::{Ordering, fence};

use memmap2::{MmapOptions, MmapRaw};

use crate::record::{EventRecord, RECORD_SIZE, bytes_to_words, checksums};

use super::JournalError;

/// Records whose CRCs are computed in one go.
const CRC_BLOCK: usize = 256;
use super::format::{FIXED_HEADER, SegmentHeader, existing_segments, offsets, segment_path, u32_at, u64_at};

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
    trailing_error: Option<String>,
    trailing_error_path: PathBuf,
}

/// Reads and checks the header of `path`.
fn read_header(path: &Path) -> Result<(SegmentHeader, u64), JournalError> {
    let mut f = File::open(path).map_err(|e| JournalError::io(path, "open", e))?;
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
            trailing_error_path: path.to_path_buf(),
        };
        if !is_base {
            return Ok(j);
        }
        for (expected, (index, seg_path)) in (1u32..).zip(existing_segments(path)?) {
            if index != expected {
                j.trailing_error_path = segment_path(path, expected);
                j.trailing_error =
                    Some(format!("segment {expected} is missing ({} exists)", seg_path.display()));
                break;
            }
            let problem = match read_header(&seg_path) {
                Ok((h, _)) if h.journal_id != journal_id => format!(
                    "offset {}: belongs to another journal (journal id {:#x}, expected {journal_id:#x})",
                    offsets::JOURNAL_ID,
                    h.journal_id
                ),
                Ok((h, _)) if h.segment_index != index => format!(
                    "offset {}: header says segment {}, the file name says {index}",
                    offsets::SEGMENT_INDEX,
                    h.segment_index
                ),
                Ok((header, _)) => {
                    j.segments.push(SegmentFile { path: seg_path, header });
                    continue;
                }
                Err(e) => strip_path(&e),
            };
            j.trailing_error_path = seg_path;
            j.trailing_error = Some(problem);
            break;
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
                let n = (last_seq + 1).saturating_sub(h.first_seq).min(h.capacity());
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
            dropped: segments.iter().map(|s| s.dropped).sum(),
            closed: segments.iter().any(|s| s.closed),
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

/// The message of an error without its leading "path: " (the path is reported separately).
fn strip_path(e: &JournalError) -> String {
    let s = e.to_string();
    let prefix = format!("{}: ", e.path().display());
    s.strip_prefix(&prefix).map(str::to_string).unwrap_or(s)
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
    /// Records the writer dropped (recorded in this segment's header).
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
            let off = rest_start + off / RECORD_SIZE * RECORD_SIZE;
            return Err(JournalError::Corrupt {
                path: s.path.clone(),
                offset: at as u64,
                problem: format!(
                    "record seq {} is missing (slot empty) but data follows at offset {off}",
                    self.expected
                ),
            });
        }
        if self.avail < s.header.capacity() {
            return Err(truncated(s, self.buf.len() as u64));
        }
        for later in &self.journal.segments[self.seg + 1..] {
            let bytes = std::fs::read(&later.path).map_err(|e| JournalError::io(&later.path, "read", e))?;
            let hb = (later.header.header_bytes as usize).min(bytes.len());
            if let Some(off) = first_nonzero(&bytes[hb..]) {
                return Err(JournalError::Corrupt {
                    path: later.path.clone(),
                    offset: (hb + off / RECORD_SIZE * RECORD_SIZE) as u64,
                    problem: format!(
                        "data after the end of the journal (record seq {} is missing in {})",
                        self.expected,
                        s.path.display()
                    ),
                });
            }
        }
        self.trailing()
    }

    fn trailing(&self) -> Result<(), JournalError> {
        match &self.journal.trailing_error {
            Some(problem) => Err(JournalError::Segments {
                path: self.journal.trailing_error_path.clone(),
                problem: problem.clone(),
            }),
            None => Ok(()),
        }
    }
}

fn truncated(s: &SegmentFile, len: u64) -> JournalError {
    JournalError::Corrupt {
        path: s.path.clone(),
        offset: len,
        problem: format!("truncated: the file is {len} bytes, its header says {}", s.header.segment_bytes),
    }
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
                    let e = JournalError::Corrupt {
                        path: s.path.clone(),
                        offset: offsets::FIRST_SEQ as u64,
                        problem: format!(
                            "segment starts at seq {}, expected {} (sequence gap)",
                            s.header.first_seq, self.expected
                        ),
                    };
                    return self.fail(e);
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
            if seq != self.expected {
                let e = JournalError::Corrupt {
                    path: s.path.clone(),
                    offset: at as u64,
                    problem: format!("sequence number {seq}, expected {}", self.expected),
                };
                return self.fail(e);
            }
            if !(self.crc_base..self.crc_base + self.crc_len).contains(&self.slot) {
                let n = (self.avail - self.slot).min(CRC_BLOCK as u64);
                let end = at + n as usize * RECORD_SIZE;
                checksums(&self.buf[at..end], &mut self.crcs);
                self.crc_base = self.slot;
                self.crc_len = n;
            }
            if self.crcs[(self.slot - self.crc_base) as usize] != u32_at(bytes, 60) {
                let e = JournalError::Corrupt {
                    path: s.path.clone(),
                    offset: at as u64,
                    problem: format!("checksum mismatch in record seq {seq}"),
                };
                return self.fail(e);
            }
            let rec = match EventRecord::from_words(&bytes_to_words(bytes)) {
                Ok(rec) => rec,
                Err(e) => {
                    let e = JournalError::Corrupt {
                        path: s.path.clone(),
                        offset: at as u64,
                        problem: e.to_string(),
                    };
                    return self.fail(e);
                }
            };
            self.last_good = Some((self.seg, seq, at as u64));
            self.slot += 1;
            self.expected += 1;
            return Some(Ok(rec));
        }
    }
}

/// What [`Follower::poll`] found.
#[derive(Clone, Debug, PartialEq)]
pub enum Poll {
    /// The next record.
    Record(EventRecord),
    /// Nothing new yet.
    Pending,
    /// The writer closed the journal and every record has been returned.
    Closed,
}

/// A mapped segment being followed.
#[derive(Debug)]
struct Followed {
    map: MmapRaw,
    path: PathBuf,
    header: SegmentHeader,
}

/// Follows a live journal, returning records as they are published (`oms tail`).
///
/// It maps each segment read-only and loads each slot's sequence word before reading the body,
/// with an acquire fence in between: the writer publishes the body first and the sequence word
/// last (release), so a non-zero sequence word means the body is complete.
#[derive(Debug)]
pub struct Follower {
    base: PathBuf,
    seg: Followed,
    slot: u64,
    expected: u64,
}

impl Follower {
    /// Starts following at the first record of `path` (a base file or a numbered segment).
    pub fn open(path: impl AsRef<Path>) -> Result<Follower, JournalError> {
        let path = path.as_ref();
        let seg = Self::map(path)?;
        let base = match super::format::split_segment_path(path) {
            Some((b, i)) if i == seg.header.segment_index => b,
            _ => path.to_path_buf(),
        };
        let expected = seg.header.first_seq;
        Ok(Follower { base, seg, slot: 0, expected })
    }

    fn map(path: &Path) -> Result<Followed, JournalError> {
        let (header, len) = read_header(path)?;
        if len < header.segment_bytes {
            return Err(JournalError::Corrupt {
                path: path.to_path_buf(),
                offset: len,
                problem: format!(
                    "truncated: the file is {len} bytes, its header says {}",
                    header.segment_bytes
                ),
            });
        }
        let file = File::open(path).map_err(|e| JournalError::io(path, "open", e))?;
        let map = MmapOptions::new()
            .len(header.segment_bytes as usize)
            .map_raw_read_only(&file)
            .map_err(|e| JournalError::io(path, "map", e))?;
        Ok(Followed { map, path: path.to_path_buf(), header })
    }

    /// The segment file being read.
    pub fn current_path(&self) -> &Path {
        &self.seg.path
    }

    /// The time zone recorded in the journal header.
    pub fn timezone(&self) -> &str {
        &self.seg.header.meta.timezone
    }

    /// Reads an aligned little-endian word of the mapping, then fences (acquire).
    fn load_u64(&self, at: usize) -> u64 {
        debug_assert!(at.is_multiple_of(8) && at + 8 <= self.seg.map.len());
        // SAFETY: `at + 8 <= len` (asserted; callers pass header offsets or slots below the
        // capacity) and `at` is 8-byte aligned in a page-aligned mapping, which lives as long as
        // `self.seg`. The writer (usually another process) stores this word atomically; a
        // volatile aligned 8-byte load is a single load instruction on the supported targets.
        // The file is never truncated by the writer, so the page exists.
        let v = unsafe { self.seg.map.as_ptr().add(at).cast::<u64>().read_volatile() };
        fence(Ordering::Acquire);
        u64::from_le(v)
    }

    fn closed(&self) -> bool {
        self.load_u64(offsets::CLOSED) & 0xffff_ffff == 1
    }

    /// Returns the next published record, `Pending` if there is none yet, or `Closed` once the
    /// writer has closed the journal and everything has been read.
    pub fn poll(&mut self) -> Result<Poll, JournalError> {
        if self.slot == self.seg.header.capacity() {
            let next = segment_path(&self.base, self.seg.header.segment_index + 1);
            if !next.exists() {
                return Ok(if self.closed() { Poll::Closed } else { Poll::Pending });
            }
            let seg = Self::map(&next)?;
            if seg.header.journal_id != self.seg.header.journal_id || seg.header.first_seq != self.expected {
                return Err(JournalError::Segments {
                    path: next,
                    problem: format!("does not continue the journal at seq {}", self.expected),
                });
            }
            self.seg = seg;
            self.slot = 0;
        }
        let at = self.seg.header.header_bytes as usize + self.slot as usize * RECORD_SIZE;
        let seq = self.load_u64(at);
        if seq == 0 {
            if self.closed() && self.load_u64(at) == 0 {
                return Ok(Poll::Closed);
            }
            return Ok(Poll::Pending);
        }
        let mut bytes = [0u8; RECORD_SIZE];
        debug_assert!(at + RECORD_SIZE <= self.seg.map.len());
        // SAFETY: the slot `at..at + 64` is inside the mapping (slot < capacity); its sequence
        // word was non-zero after the acquire fence, so the writer finished the body before and
        // never writes this slot again.
        unsafe {
            std::ptr::copy_nonoverlapping(self.seg.map.as_ptr().add(at), bytes.as_mut_ptr(), RECORD_SIZE)
        };
        let decoded = if seq != self.expected {
            Err(format!("sequence number {seq}, expected {}", self.expected))
        } else {
            EventRecord::from_bytes(&bytes).map_err(|e| e.to_string())
        };
        let rec = decoded.map_err(|problem| JournalError::Corrupt {
            path: self.seg.path.clone(),
            offset: at as u64,
            problem,
        })?;
        self.slot += 1;
        self.expected += 1;
        Ok(Poll::Record(rec))
    }
}
