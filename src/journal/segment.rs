//! Preparing a segment file one system call at a time: [`Builder`] is a small state machine whose
//! [`Builder::step`] makes one call (create, one chunk of `fallocate`, write the header, map,
//! link), so that the writer can prepare its next segments in bounded slices of the engine's idle
//! turns (see `space.rs`) instead of on a thread that competes with the engine and the producers
//! for the machine's cores.
//!
//! A segment is built under `NAME.tmp` (mode 0600) and linked to its final name only when
//! complete, with `link`, which fails rather than overwrite; a builder dropped before that removes
//! its `.tmp` file. Its blocks are reserved with `fallocate` (a sparse file would turn a full disk
//! into SIGBUS at the first write into a hole); mapping does not fault any page in: pages are
//! pre-faulted separately, a few at a time, close ahead of the writer.

use std::fs::{File, OpenOptions};
use std::os::fd::AsRawFd;
use std::os::unix::fs::{FileExt, OpenOptionsExt};
use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicBool;

use super::format::{SegmentHeader, offsets, segment_path};
use super::mapping::SegmentMap;
use super::{Corruption, JournalError};
use crate::record::RECORD_SIZE;

/// Bytes reserved by one `fallocate` step (a few µs on ext4 for unwritten extents).
const ALLOCATE_CHUNK: u64 = 4 << 20;

/// A prepared, mapped segment (pages not necessarily faulted in yet).
#[derive(Clone, Debug)]
pub(super) struct Segment {
    pub(super) map: SegmentMap,
    pub(super) path: PathBuf,
    pub(super) index: u32,
    /// Sequence number of slot 0.
    pub(super) first_seq: u64,
}

impl Segment {
    /// The sequence number after the last slot.
    pub(super) fn end_seq(&self) -> u64 {
        self.first_seq + self.map.capacity()
    }
}

/// Test hook (feature `test-hooks`, [`WriterOptions`]'s `faults`): failures a test switches on
/// and off while a writer runs. Without the feature nothing can build one, and the writer's
/// paths that consult it see none.
#[derive(Debug, Default)]
pub struct Faults {
    /// While set, reserving a segment's blocks fails with ENOSPC (a full disk that may clear).
    pub enospc: AtomicBool,
    /// While set, every flush to disk fails with EIO.
    pub sync_error: AtomicBool,
    /// While set, the writer's preparation thread does nothing (a thread that runs late).
    pub hold_preparation: AtomicBool,
}

/// What a test asks the builder to fail (see `WriterOptions`).
#[derive(Clone, Debug, Default)]
pub(super) struct Inject {
    /// Segment `n` and later fail to reserve their blocks (ENOSPC).
    pub(super) enospc_from_segment: Option<u32>,
    /// While set, every reservation fails (ENOSPC); clearing it frees the "disk" again.
    pub(super) faults: Option<std::sync::Arc<Faults>>,
}

impl Inject {
    fn enospc(&self, index: u32) -> bool {
        self.enospc_from_segment.is_some_and(|n| index >= n)
            || self.faults.as_ref().is_some_and(|f| f.enospc.load(std::sync::atomic::Ordering::Relaxed))
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Step {
    Create,
    Allocate,
    Header,
    Map,
    Link,
}

/// One segment being prepared; see the module docs.
#[derive(Debug)]
pub(super) struct Builder {
    header: SegmentHeader,
    path: PathBuf,
    tmp: PathBuf,
    file: Option<File>,
    allocated: u64,
    map: Option<SegmentMap>,
    step: Step,
    /// The `.tmp` file exists and is ours to remove.
    owns_tmp: bool,
    /// A group that may read the segment (0640, given to it); none: 0600.
    readers: Option<u32>,
}

impl Builder {
    /// A builder of the segment described by `header` next to `base`, readable by the group
    /// `readers` too if there is one.
    pub(super) fn new(base: &Path, header: SegmentHeader, readers: Option<u32>) -> Builder {
        let path = segment_path(base, header.segment_index);
        let mut tmp = path.as_os_str().to_owned();
        tmp.push(".tmp");
        Builder {
            header,
            path,
            tmp: PathBuf::from(tmp),
            file: None,
            allocated: 0,
            map: None,
            step: Step::Create,
            owns_tmp: false,
            readers,
        }
    }

    /// The segment's index.
    pub(super) fn index(&self) -> u32 {
        self.header.segment_index
    }

    /// Makes one system call towards the segment; returns it once it is complete. After an
    /// error the builder is spent: drop it (its `.tmp` file is removed) and start again later.
    pub(super) fn step(&mut self, inject: &Inject) -> Result<Option<Segment>, JournalError> {
        let len = self.header.segment_bytes;
        match self.step {
            Step::Create => {
                // A leftover of a crash during preparation would make `create_new` fail.
                let _ = std::fs::remove_file(&self.tmp);
                let file = OpenOptions::new()
                    .read(true)
                    .write(true)
                    .create_new(true)
                    .mode(if self.readers.is_some() { 0o640 } else { 0o600 })
                    .open(&self.tmp)
                    .map_err(|e| JournalError::io(&self.tmp, "create", e))?;
                self.owns_tmp = true;
                if let Some(gid) = self.readers {
                    std::os::unix::fs::fchown(&file, None, Some(gid))
                        .map_err(|e| JournalError::io(&self.tmp, &format!("give to group {gid}"), e))?;
                }
                self.file = Some(file);
                self.step = Step::Allocate;
            }
            Step::Allocate => {
                let file = self.file.as_ref().expect("created");
                if inject.enospc(self.header.segment_index) {
                    let e = std::io::Error::from_raw_os_error(libc::ENOSPC);
                    return Err(JournalError::io(
                        &self.tmp,
                        &format!("reserve {len} bytes (fallocate, injected)"),
                        e,
                    ));
                }
                let n = (len - self.allocated).min(ALLOCATE_CHUNK);
                reserve(file, self.allocated, n).map_err(|e| {
                    JournalError::io(&self.tmp, &format!("reserve {len} bytes (fallocate)"), e)
                })?;
                self.allocated += n;
                if self.allocated == len {
                    self.step = Step::Header;
                }
            }
            Step::Header => {
                let file = self.file.as_ref().expect("created");
                let bytes = self.header.encode();
                file.write_all_at(&bytes, 0)
                    .map_err(|e| JournalError::io(&self.tmp, "write the header", e))?;
                self.step = Step::Map;
            }
            Step::Map => {
                let file = self.file.take().expect("created");
                let map = SegmentMap::map_file(&file, self.header.header_bytes, len)
                    .map_err(|e| JournalError::io(&self.tmp, "map", e))?;
                self.map = Some(map);
                self.step = Step::Link;
            }
            Step::Link => {
                std::fs::hard_link(&self.tmp, &self.path).map_err(|e| {
                    if e.kind() == std::io::ErrorKind::AlreadyExists {
                        JournalError::Exists { path: self.path.clone() }
                    } else {
                        JournalError::io(&self.path, "link the prepared segment", e)
                    }
                })?;
                // The name is final: the `.tmp` name goes (one more call, done here: a segment is
                // linked once per segment, not per record).
                let _ = std::fs::remove_file(&self.tmp);
                self.owns_tmp = false;
                let map = self.map.take().expect("mapped");
                return Ok(Some(Segment {
                    map,
                    path: self.path.clone(),
                    index: self.header.segment_index,
                    first_seq: self.header.first_seq,
                }));
            }
        }
        Ok(None)
    }

    /// Runs every step (start-up, and the writer's last resort before dropping a record).
    pub(super) fn finish(mut self, inject: &Inject) -> Result<Segment, JournalError> {
        loop {
            if let Some(s) = self.step(inject)? {
                return Ok(s);
            }
        }
    }
}

impl Drop for Builder {
    fn drop(&mut self) {
        if self.owns_tmp {
            let _ = std::fs::remove_file(&self.tmp);
        }
    }
}

/// An existing segment file opened again for writing (`JournalWriter::resume`).
#[derive(Debug)]
pub(super) struct Existing {
    pub(super) file: File,
    pub(super) path: PathBuf,
    pub(super) header: SegmentHeader,
}

impl Existing {
    /// Opens the segment file `path`, whose checked header is `header`, for writing, and checks
    /// its length again (the reader checked it; a file shorter than its header says would turn a
    /// write past its end into SIGBUS once mapped).
    pub(super) fn open(path: &Path, header: &SegmentHeader) -> Result<Existing, JournalError> {
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .open(path)
            .map_err(|e| JournalError::io(path, "open for appending", e))?;
        let len = file.metadata().map_err(|e| JournalError::io(path, "stat", e))?.len();
        if len < header.segment_bytes {
            let problem = Corruption::Truncated { len, expected: header.segment_bytes };
            return Err(JournalError::corrupt(path, len, problem));
        }
        Ok(Existing { file, path: path.to_path_buf(), header: header.clone() })
    }

    /// Writes zeros over the 64 bytes at `offset` (an unpublished slot's leftover body).
    pub(super) fn zero_slot(&self, offset: u64) -> Result<(), JournalError> {
        debug_assert!(offset >= self.header.header_bytes && offset < self.header.segment_bytes);
        self.file.write_all_at(&[0u8; RECORD_SIZE], offset).map_err(|e| {
            JournalError::io(&self.path, &format!("zero the unpublished slot at offset {offset}"), e)
        })
    }

    /// Clears the live `closed` header field.
    pub(super) fn clear_closed(&self) -> Result<(), JournalError> {
        self.file
            .write_all_at(&0u32.to_le_bytes(), offsets::CLOSED as u64)
            .map_err(|e| JournalError::io(&self.path, "clear the closed flag", e))
    }

    /// Flushes the file's data to disk (`fdatasync`).
    pub(super) fn sync(&self) -> Result<(), JournalError> {
        self.file.sync_data().map_err(|e| JournalError::io(&self.path, "flush (fdatasync)", e))
    }

    /// Reserves the file's blocks again (a copy of the journal may have made it sparse, and a
    /// store into a hole of a mapping on a full disk is SIGBUS), and maps it. `fallocate` over
    /// blocks already allocated changes no byte; where the file system lacks it, nothing is done
    /// (writing zeros, as for a new segment, would erase the records).
    pub(super) fn map(&self) -> Result<Segment, JournalError> {
        let h = &self.header;
        let len = libc::off_t::try_from(h.segment_bytes).map_err(|_| {
            JournalError::io(&self.path, "map", std::io::Error::from_raw_os_error(libc::EFBIG))
        })?;
        // SAFETY: plain syscall on a file descriptor we own; no memory is passed.
        let rc = unsafe { libc::fallocate(self.file.as_raw_fd(), 0, 0, len) };
        if rc != 0 {
            let e = std::io::Error::last_os_error();
            if e.raw_os_error() != Some(libc::EOPNOTSUPP) {
                let op = format!("reserve {} bytes (fallocate)", h.segment_bytes);
                return Err(JournalError::io(&self.path, &op, e));
            }
        }
        let map = SegmentMap::map_file(&self.file, h.header_bytes, h.segment_bytes)
            .map_err(|e| JournalError::io(&self.path, "map", e))?;
        Ok(Segment { map, path: self.path.clone(), index: h.segment_index, first_seq: h.first_seq })
    }
}

/// Reserves bytes `at..at + len` of the file: `fallocate`, or writing zeros where the file system
/// lacks it.
fn reserve(file: &File, at: u64, len: u64) -> std::io::Result<()> {
    let (Ok(at_off), Ok(len_off)) = (libc::off_t::try_from(at), libc::off_t::try_from(len)) else {
        return Err(std::io::Error::from_raw_os_error(libc::EFBIG));
    };
    // SAFETY: plain syscall on a file descriptor we own; no memory is passed.
    let rc = unsafe { libc::fallocate(file.as_raw_fd(), 0, at_off, len_off) };
    if rc == 0 {
        return Ok(());
    }
    let err = std::io::Error::last_os_error();
    if err.raw_os_error() != Some(libc::EOPNOTSUPP) {
        return Err(err);
    }
    let zeros = vec![0u8; 1 << 20];
    let mut done = 0u64;
    while done < len {
        let n = (len - done).min(zeros.len() as u64) as usize;
        file.write_all_at(&zeros[..n], at + done)?;
        done += n as u64;
    }
    Ok(())
}

/// `fsync` of the directory holding `path` (makes new names durable); the error, if any.
pub(super) fn sync_dir(path: &Path) -> std::io::Result<()> {
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    File::open(dir)?.sync_all()
}
