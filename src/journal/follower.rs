//! [`Follower`]: follows a live journal, returning records as they are published (`oms tail`).
//!
//! **No mapping.** The follower reads the segment files with `pread` (a block of slots at a
//! time while it catches up), never through a mapping: a file truncated under a mapping turns the
//! next read into SIGBUS, which kills the process; a `pread` just returns fewer bytes, and the
//! follower reports the truncation as an error naming the file.
//!
//! **Publish protocol through `pread`.** The writer stores a slot's body, then its sequence
//! number (release). A `pread` copies the slot while the writer may be storing into it, in an
//! order the kernel chooses, so a copy taken at the frontier can show a sequence number with part
//! of an older (zero) body. A slot that fails its checks is therefore read again once, on its
//! own, before it is called corruption: by then the sequence number the first copy saw has been
//! stored, and with it the body stored before it.
//!
//! **End of the journal.** The writer marks its last segment `closed`. When its last record
//! exactly fills a segment, the follower has already moved into the next segment, which the
//! writer had only prepared (and deletes at close): it is never marked. So the follower keeps the
//! segment it came from until it reads a record of the new one, and a `closed` mark there ends
//! the follow too. Before it says *closed*, the follower checks what follows the end with the
//! readers' rules (`reader::check_after_end`): data after the end, a truncated segment, a
//! segment after the end that does not continue the journal are errors, as `oms verify` reports
//! them. A `closed` flag that is neither 0 nor 1 is an error too, never a wait.

use std::fs::File;
use std::io::ErrorKind;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};

use crate::record::{EventRecord, RECORD_SIZE, checksum};

use super::format::{SegmentHeader, offsets, segment_path, split_segment_path, u32_at, u64_at};
use super::reader::{check_after_end, check_slot, continues, open_segment};
use super::{Corruption, HeaderFlag, JournalError};

/// Slots read at a time while catching up.
const BLOCK: u64 = 256;

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

/// A segment file being followed.
#[derive(Debug)]
struct Followed {
    file: File,
    path: PathBuf,
    header: SegmentHeader,
}

impl Followed {
    /// Opens segment `path` and checks its header and length.
    fn open(path: &Path) -> Result<Followed, JournalError> {
        let (file, header, _) = open_segment(path)?;
        let f = Followed { file, path: path.to_path_buf(), header };
        f.check_length()?;
        Ok(f)
    }

    /// As [`Followed::open`], but `Ok(None)` if the file does not exist (yet, or any more).
    fn open_if_exists(path: &Path) -> Result<Option<Followed>, JournalError> {
        match Followed::open(path) {
            Err(JournalError::Io { source, .. }) if source.kind() == ErrorKind::NotFound => Ok(None),
            other => other.map(Some),
        }
    }

    /// An error if the file is shorter than its header says (it was truncated).
    fn check_length(&self) -> Result<(), JournalError> {
        let len = self.file.metadata().map_err(|e| JournalError::io(&self.path, "stat", e))?.len();
        if len < self.header.segment_bytes {
            let problem = Corruption::Truncated { len, expected: self.header.segment_bytes };
            return Err(JournalError::corrupt(&self.path, len, problem));
        }
        Ok(())
    }

    /// Reads `buf.len()` bytes at `offset`; a short read means the file was truncated.
    fn read(&self, buf: &mut [u8], offset: u64) -> Result<(), JournalError> {
        let mut done = 0;
        while done < buf.len() {
            match self.file.read_at(&mut buf[done..], offset + done as u64) {
                Ok(0) => {
                    self.check_length()?;
                    // Not shorter than the header says, yet the read ended: report what was
                    // read against what the header promises.
                    let len = offset + done as u64;
                    let problem = Corruption::Truncated { len, expected: self.header.segment_bytes };
                    return Err(JournalError::corrupt(&self.path, len, problem));
                }
                Ok(n) => done += n,
                Err(e) if e.kind() == ErrorKind::Interrupted => {}
                Err(e) => return Err(JournalError::io(&self.path, "read", e)),
            }
        }
        Ok(())
    }

    /// Whether the writer marked this segment as its last (an error if the flag is neither 0
    /// nor 1).
    fn closed(&self) -> Result<bool, JournalError> {
        let mut b = [0u8; 4];
        self.read(&mut b, offsets::CLOSED as u64)?;
        match u32_at(&b, 0) {
            0 => Ok(false),
            1 => Ok(true),
            value => {
                let problem = Corruption::Flag { flag: HeaderFlag::Closed, value };
                Err(JournalError::corrupt(&self.path, offsets::CLOSED as u64, problem))
            }
        }
    }

    /// File offset of slot `slot`.
    fn offset(&self, slot: u64) -> u64 {
        self.header.header_bytes + slot * RECORD_SIZE as u64
    }
}

/// Follows a live journal, returning records as they are published (`oms tail`). See the
/// module docs for how it reads (`pread`, never a mapping) and how it knows the end.
#[derive(Debug)]
pub struct Follower {
    base: PathBuf,
    seg: Followed,
    /// The segment `seg` follows, until a record of `seg` has been read (see the module docs).
    prev: Option<Followed>,
    /// Next slot of `seg` to return.
    slot: u64,
    /// Its sequence number.
    expected: u64,
    /// Slots `buf_slot..buf_slot + buf_len` of `seg`, each with a non-zero sequence number.
    buf: Vec<u8>,
    buf_slot: u64,
    buf_len: u64,
    /// The end of the closed journal has been checked ([`Poll::Closed`] returned).
    ended: bool,
}

impl Follower {
    /// Starts following at the first record of `path` (a base file or a numbered segment).
    pub fn open(path: impl AsRef<Path>) -> Result<Follower, JournalError> {
        let path = path.as_ref();
        let seg = Followed::open(path)?;
        let base = match split_segment_path(path) {
            Some((b, i)) if i == seg.header.segment_index => b,
            _ => path.to_path_buf(),
        };
        let expected = seg.header.first_seq;
        Ok(Follower {
            base,
            seg,
            prev: None,
            slot: 0,
            expected,
            buf: vec![0; BLOCK as usize * RECORD_SIZE],
            buf_slot: 0,
            buf_len: 0,
            ended: false,
        })
    }

    /// The segment file being read.
    pub fn current_path(&self) -> &Path {
        &self.seg.path
    }

    /// The time zone recorded in the journal header.
    pub fn timezone(&self) -> &str {
        &self.seg.header.meta.timezone
    }

    /// Returns the next published record, `Pending` if there is none yet, or `Closed` once the
    /// writer has closed the journal and everything has been read. A truncated, damaged or
    /// foreign file is an error naming the file (and the offset).
    pub fn poll(&mut self) -> Result<Poll, JournalError> {
        if self.ended {
            return Ok(Poll::Closed);
        }
        if self.slot == self.seg.header.capacity() {
            if self.seg.closed()? {
                let (path, slot) = (self.seg.path.clone(), self.slot);
                return self.end(&path, slot);
            }
            if !self.next_segment()? {
                return Ok(Poll::Pending);
            }
        }
        if self.slot >= self.buf_slot + self.buf_len {
            self.fill()?;
        }
        if self.buf_len == 0 {
            return self.unpublished();
        }
        let at = ((self.slot - self.buf_slot) as usize) * RECORD_SIZE;
        let mut bytes = [0u8; RECORD_SIZE];
        bytes.copy_from_slice(&self.buf[at..at + RECORD_SIZE]);
        let rec = match check_slot(&bytes, self.expected, checksum(&bytes)) {
            Ok(rec) => rec,
            Err(_) => {
                // Possibly a copy taken while the writer was storing the slot: read it again.
                self.seg.read(&mut bytes, self.seg.offset(self.slot))?;
                check_slot(&bytes, self.expected, checksum(&bytes)).map_err(|problem| {
                    JournalError::corrupt(&self.seg.path, self.seg.offset(self.slot), problem)
                })?
            }
        };
        let next = self.expected.checked_add(1).ok_or_else(|| {
            // The header check (first_seq + capacity fits a u64) makes this impossible; a
            // crafted file still gets an error rather than an overflow.
            let problem = Corruption::SequenceRange {
                first_seq: self.seg.header.first_seq,
                capacity: self.seg.header.capacity(),
            };
            JournalError::corrupt(&self.seg.path, offsets::FIRST_SEQ as u64, problem)
        })?;
        self.slot += 1;
        self.expected = next;
        self.prev = None;
        Ok(Poll::Record(rec))
    }

    /// The writer closed the journal and the follower found its end at slot `slot` of the
    /// segment file `path`: `Closed` once what follows is what the readers accept after an end.
    /// If the closed mark is gone by then (another writer resumed the journal), the follow goes
    /// on: `Pending`.
    fn end(&mut self, path: &Path, slot: u64) -> Result<Poll, JournalError> {
        let verdict = check_after_end(&self.base, path, slot, self.expected);
        let still_closed = || -> Result<bool, JournalError> {
            Ok(self.seg.closed()? || self.prev.as_ref().map(Followed::closed).transpose()? == Some(true))
        };
        match verdict {
            Ok(true) => {
                self.ended = true;
                Ok(Poll::Closed)
            }
            Ok(false) => Ok(Poll::Pending),
            Err(e) => match still_closed() {
                Ok(false) => Ok(Poll::Pending),
                _ => Err(e),
            },
        }
    }

    /// Moves into the next segment if it exists (`false` if not yet).
    fn next_segment(&mut self) -> Result<bool, JournalError> {
        let Some(index) = self.seg.header.segment_index.checked_add(1) else {
            // A crafted header: nothing can follow, and waiting would never end.
            let problem = Corruption::LastIndex { index: self.seg.header.segment_index };
            return Err(JournalError::corrupt(&self.seg.path, offsets::SEGMENT_INDEX as u64, problem));
        };
        let path = segment_path(&self.base, index);
        let Some(mut next) = Followed::open_if_exists(&path)? else { return Ok(false) };
        next.header = continues(&path, &next.header, self.seg.header.journal_id, index)?;
        if next.header.first_seq != self.expected {
            let problem = Corruption::SequenceGap { found: next.header.first_seq, expected: self.expected };
            return Err(JournalError::corrupt(&path, offsets::FIRST_SEQ as u64, problem));
        }
        self.prev = Some(std::mem::replace(&mut self.seg, next));
        self.slot = 0;
        self.buf_slot = 0;
        self.buf_len = 0;
        Ok(true)
    }

    /// Reads the slots from `slot` on (a block, or up to the end of the segment) and keeps the
    /// published ones.
    fn fill(&mut self) -> Result<(), JournalError> {
        let n = (self.seg.header.capacity() - self.slot).min(BLOCK);
        let len = n as usize * RECORD_SIZE;
        self.seg.read(&mut self.buf[..len], self.seg.offset(self.slot))?;
        self.buf_slot = self.slot;
        self.buf_len =
            self.buf[..len].chunks_exact(RECORD_SIZE).take_while(|slot| u64_at(slot, 0) != 0).count() as u64;
        Ok(())
    }

    /// The slot at `slot` is not published: `Closed` if the writer has closed the journal
    /// (marking this segment or the one before), else `Pending`.
    fn unpublished(&mut self) -> Result<Poll, JournalError> {
        // Closed in this segment, or in the one the follower came from (whose last record
        // filled it: the end is right after it, and this segment was only prepared).
        let here = self.seg.closed()?;
        let in_prev = !here && self.prev.as_ref().map(Followed::closed).transpose()? == Some(true);
        if here || in_prev {
            // The writer may have published this slot and then closed between the two reads.
            let mut seq = [0u8; 8];
            self.seg.read(&mut seq, self.seg.offset(self.slot))?;
            if u64_at(&seq, 0) == 0 {
                return match (in_prev, &self.prev) {
                    (true, Some(prev)) => {
                        let (path, capacity) = (prev.path.clone(), prev.header.capacity());
                        self.end(&path, capacity)
                    }
                    _ => self.end(&self.seg.path.clone(), self.slot),
                };
            }
        } else {
            // Truncated below this slot: the read above has reported it; truncated further on:
            // report it now rather than wait for records that cannot come.
            self.seg.check_length()?;
        }
        Ok(Poll::Pending)
    }
}
