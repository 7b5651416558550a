//! The journal's errors: [`JournalError`] names the file (and, for damage, the byte offset);
//! [`Corruption`] and [`ConfigProblem`] say what is wrong, with the numbers found.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::record::{RECORD_SIZE, RecordError};

use super::format::HEADER_ALIGN;

/// Everything that can go wrong with a journal. Every variant names the file; corruption names
/// the byte offset too. Cloning is cheap (the I/O error is shared), so a reader can report the
/// same problem each time it is asked.
#[derive(Clone, Debug, thiserror::Error)]
pub enum JournalError {
    /// An I/O operation failed.
    #[error("{path}: cannot {op}: {source}", path = .path.display())]
    Io {
        /// The file (or directory).
        path: PathBuf,
        /// What was being done ("open", "reserve 67108864 bytes (fallocate)", …).
        op: String,
        /// The OS error.
        #[source]
        source: Arc<std::io::Error>,
    },
    /// The writer refuses to replace an existing journal (the default; `WriterOptions::overwrite`
    /// replaces it).
    #[error(
        "{path}: a journal file already exists; refusing to overwrite it (remove it, choose another \
         path, or replace it: JournalWriter::create_with(.., WriterOptions {{ overwrite: true, .. }}))",
        path = .path.display()
    )]
    Exists {
        /// The existing file.
        path: PathBuf,
    },
    /// The file does not start with the journal magic.
    #[error("{path}: not an oms journal (bad magic at offset 0)", path = .path.display())]
    Foreign {
        /// The file.
        path: PathBuf,
    },
    /// The file is a journal of a format version this build does not read.
    #[error(
        "{path}: offset 8: unsupported journal format version {found} (this build reads versions {oldest} to {supported})",
        oldest = super::format::OLDEST_READ_VERSION,
        path = .path.display()
    )]
    Version {
        /// The file.
        path: PathBuf,
        /// Version in the file.
        found: u16,
        /// Version this build reads.
        supported: u16,
    },
    /// A journal of an older format version, which this build reads but does not continue:
    /// before version 5 an accepted order's life ended at its response, so a restart on it
    /// would take every accepted order for one still working; before version 6 a cancel or
    /// replace still waiting when its order ended was dropped without a record; a version-6
    /// reader takes the risk limits' reject reasons of version 7 for corruption, and a
    /// version-7 reader the client records of version 8. A journal never mixes versions.
    #[error(
        "{path}: journal format version {found}, older than this build's (version {current}), which records \
         order lives it did not: this build reads it (decode, stats, verify) but neither recovers from it nor \
         appends to it; start a new journal",
        current = super::format::FORMAT_VERSION,
        path = .path.display()
    )]
    OlderVersion {
        /// The first segment of that version.
        path: PathBuf,
        /// Its version.
        found: u16,
    },
    /// Bad data at a known place.
    #[error("{path}: offset {offset}: {problem}", path = .path.display())]
    Corrupt {
        /// The file.
        path: PathBuf,
        /// Byte offset in the file.
        offset: u64,
        /// What is wrong.
        problem: Corruption,
    },
    /// A numbered segment is missing while a later one exists.
    #[error("{path}: segment {index} is missing ({found} exists)", path = .path.display(), found = .found.display())]
    MissingSegment {
        /// The file that should exist.
        path: PathBuf,
        /// Its segment index.
        index: u32,
        /// The later segment found in its place.
        found: PathBuf,
    },
    /// Another writer has the journal open (it holds the lock on the base file): a journal has
    /// one writer at a time. The lock is a `flock` on the base file's open file description, so
    /// a child process started by another thread while this process's writer was open holds it
    /// too, until the child calls `exec` (the descriptor is close-on-exec): a resume right after
    /// a close can meet that moment; retrying shortly after is safe.
    #[error(
        "{path}: another writer has this journal open (the base file is locked); a journal has one \
         writer at a time",
        path = .path.display()
    )]
    InUse {
        /// The base file.
        path: PathBuf,
    },
    /// A numbered segment was given where the journal's base file is needed (to resume it).
    #[error(
        "{path}: this is segment {index} of a journal, not its base file (segment 0)",
        path = .path.display()
    )]
    NotBase {
        /// The file given.
        path: PathBuf,
        /// Its segment index.
        index: u32,
    },
    /// The path is not a regular file (a directory, a FIFO, a device, a socket): a journal
    /// segment is a regular file. Readers refuse it before reading a byte (opening a FIFO for
    /// reading would wait for a writer).
    #[error("{path}: is a {kind}, not a regular file (a journal segment is a regular file)", path = .path.display())]
    NotAFile {
        /// The path.
        path: PathBuf,
        /// What it is.
        kind: FileKind,
    },
    /// The journal configuration cannot be used.
    #[error("{path}: invalid journal configuration: {problem}", path = .path.display())]
    Config {
        /// The journal base path.
        path: PathBuf,
        /// What is wrong.
        problem: ConfigProblem,
    },
}

impl JournalError {
    /// An I/O error on `path` while doing `op`.
    pub fn io(path: &Path, op: &str, source: std::io::Error) -> Self {
        JournalError::Io { path: path.to_path_buf(), op: op.to_string(), source: Arc::new(source) }
    }

    /// Corruption of `path` at byte `offset`.
    pub fn corrupt(path: &Path, offset: u64, problem: Corruption) -> Self {
        JournalError::Corrupt { path: path.to_path_buf(), offset, problem }
    }

    /// The file the error is about.
    pub fn path(&self) -> &Path {
        match self {
            JournalError::Io { path, .. }
            | JournalError::Exists { path }
            | JournalError::Foreign { path }
            | JournalError::Version { path, .. }
            | JournalError::OlderVersion { path, .. }
            | JournalError::Corrupt { path, .. }
            | JournalError::MissingSegment { path, .. }
            | JournalError::InUse { path }
            | JournalError::NotBase { path, .. }
            | JournalError::NotAFile { path, .. }
            | JournalError::Config { path, .. } => path,
        }
    }

    /// What is wrong, if this is corruption.
    pub fn corruption(&self) -> Option<&Corruption> {
        match self {
            JournalError::Corrupt { problem, .. } => Some(problem),
            _ => None,
        }
    }
}

/// What is wrong with the bytes at the offset of a [`JournalError::Corrupt`].
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum Corruption {
    /// The file is empty.
    #[error("empty file (0 bytes): not an oms journal segment")]
    EmptyFile,
    /// The file ends inside the header.
    #[error("truncated header: the file is {len} bytes, the header needs {needs}")]
    TruncatedHeader {
        /// File length.
        len: u64,
        /// Bytes the header needs.
        needs: u64,
    },
    /// The header's record size is not this build's.
    #[error("record size {found}, expected {RECORD_SIZE}")]
    RecordSize {
        /// The size in the header.
        found: u16,
    },
    /// The header size is not a multiple of the page size or cannot hold the header's strings.
    #[error(
        "header size {header_bytes} is inconsistent (a multiple of {HEADER_ALIGN} is needed; \
         the strings end at {strings_end})"
    )]
    HeaderSize {
        /// The header size field.
        header_bytes: u64,
        /// Where the time zone and configuration strings end.
        strings_end: u64,
    },
    /// The segment size does not hold whole records after the header.
    #[error("segment size {segment_bytes} does not hold whole records after a {header_bytes}-byte header")]
    SegmentSize {
        /// The segment size field.
        segment_bytes: u64,
        /// The header size field.
        header_bytes: u64,
    },
    /// The header's CRC-32C does not match.
    #[error("header checksum mismatch (stored {stored:#010x}, computed {computed:#010x})")]
    HeaderChecksum {
        /// The stored CRC.
        stored: u32,
        /// The CRC of the bytes.
        computed: u32,
    },
    /// A header string is not UTF-8.
    #[error("{field} is not UTF-8")]
    NotUtf8 {
        /// Which string.
        field: HeaderText,
    },
    /// The header's first sequence number is 0 (sequence numbers start at 1).
    #[error("first sequence number is 0")]
    FirstSeqZero,
    /// The segment's sequence numbers would pass `u64::MAX`.
    #[error(
        "first sequence number {first_seq} leaves no room for {capacity} records (sequence numbers \
         end at {})",
        u64::MAX
    )]
    SequenceRange {
        /// The header's first sequence number.
        first_seq: u64,
        /// Slots in the segment.
        capacity: u64,
    },
    /// A segment of another journal sits among this journal's segments.
    #[error("belongs to another journal (journal id {found:#x}, expected {expected:#x})")]
    OtherJournal {
        /// Journal id in this file.
        found: u64,
        /// Journal id of the first segment.
        expected: u64,
    },
    /// The header's segment index disagrees with the file name (a name that is not a numbered
    /// segment's, `….000001`, is a base file's: segment 0).
    #[error("header says segment {in_header}, {}", name_says(*.in_name))]
    WrongIndex {
        /// Index in the header.
        in_header: u32,
        /// Index in the file name (0: not a numbered segment's name).
        in_name: u32,
    },
    /// A header byte the format keeps zero is not: a reserved field, or the padding after the
    /// header's strings.
    #[error("{area} must be zero, found {value:#04x}")]
    NotZero {
        /// Which bytes.
        area: ZeroArea,
        /// The first non-zero byte.
        value: u8,
    },
    /// A live header flag holds something other than 0 or 1.
    #[error("{flag} flag is {value:#x}, not 0 or 1")]
    Flag {
        /// Which flag.
        flag: HeaderFlag,
        /// What it holds.
        value: u32,
    },
    /// A full segment has the largest index there is: no segment can follow it, so a follower
    /// waiting for one would wait forever.
    #[error(
        "segment {index} is full and not closed, and no segment can follow it (its index is the largest)"
    )]
    LastIndex {
        /// The segment's index (`u32::MAX`).
        index: u32,
    },
    /// A segment does not start where the previous one ended.
    #[error("segment starts at seq {found}, expected {expected} (sequence gap)")]
    SequenceGap {
        /// The segment's first sequence number.
        found: u64,
        /// The number after the previous segment's last slot.
        expected: u64,
    },
    /// A published slot holds another sequence number than its position's.
    #[error("sequence number {found}, expected {expected}")]
    WrongSeq {
        /// Sequence number in the slot.
        found: u64,
        /// Sequence number of the slot's position.
        expected: u64,
    },
    /// A published record's CRC-32C does not match its bytes.
    #[error("checksum mismatch in record seq {seq}")]
    Checksum {
        /// The record's sequence number.
        seq: u64,
    },
    /// The checksum matches but a field holds a value no field can take.
    #[error(transparent)]
    Record(#[from] RecordError),
    /// The journal ends at an empty slot but data follows it in the same segment.
    #[error("record seq {seq} is missing (slot empty) but data follows at offset {data_at}")]
    DataAfterGap {
        /// The sequence number the empty slot should hold.
        seq: u64,
        /// Offset of the first slot with data after it.
        data_at: u64,
    },
    /// A later segment holds data although an earlier one ended the journal.
    #[error("data after the end of the journal (record seq {seq} is missing in {})", .ended_in.display())]
    DataAfterEnd {
        /// The sequence number of the empty slot that ended the journal.
        seq: u64,
        /// The segment where it ended.
        ended_in: PathBuf,
    },
    /// A segment marked closed (the writer marks only its last one) is followed by a record.
    #[error("marked closed (the writer's last segment), but record seq {seq} follows in {}", .next.display())]
    ClosedNotLast {
        /// The record's sequence number.
        seq: u64,
        /// The segment holding it.
        next: PathBuf,
    },
    /// The file is shorter than its header says.
    #[error("truncated: the file is {len} bytes, its header says {expected}")]
    Truncated {
        /// File length.
        len: u64,
        /// The header's segment size.
        expected: u64,
    },
}

fn name_says(in_name: u32) -> String {
    if in_name == 0 {
        "but the file name is a base file's (segment 0), not a numbered segment's".into()
    } else {
        format!("the file name says {in_name}")
    }
}

/// Header bytes the format keeps zero ([`Corruption::NotZero`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ZeroArea {
    /// The `flags` field (bytes 28..32).
    Flags,
    /// The reserved bytes 92..96 and 112..128.
    Reserved,
    /// The padding after the time zone and configuration strings, up to `header_bytes`.
    Padding,
}

impl std::fmt::Display for ZeroArea {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            ZeroArea::Flags => "the header's flags field (reserved)",
            ZeroArea::Reserved => "a reserved header byte",
            ZeroArea::Padding => "the header's padding after its strings",
        })
    }
}

/// A live header flag ([`Corruption::Flag`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum HeaderFlag {
    /// `closed` (offset 104).
    Closed,
    /// `sync_failed` (offset 108).
    SyncFailed,
}

impl std::fmt::Display for HeaderFlag {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            HeaderFlag::Closed => "the closed",
            HeaderFlag::SyncFailed => "the sync_failed",
        })
    }
}

/// What a path is when it is not a regular file ([`JournalError::NotAFile`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FileKind {
    /// A directory.
    Directory,
    /// A named pipe.
    Fifo,
    /// A character device (`/dev/zero`, a terminal).
    CharDevice,
    /// A block device.
    BlockDevice,
    /// A Unix socket.
    Socket,
    /// Anything else that is not a regular file.
    Other,
}

impl FileKind {
    /// What `t` is, or `None` for a regular file.
    pub fn of(t: std::fs::FileType) -> Option<FileKind> {
        use std::os::unix::fs::FileTypeExt;
        Some(if t.is_file() {
            return None;
        } else if t.is_dir() {
            FileKind::Directory
        } else if t.is_fifo() {
            FileKind::Fifo
        } else if t.is_char_device() {
            FileKind::CharDevice
        } else if t.is_block_device() {
            FileKind::BlockDevice
        } else if t.is_socket() {
            FileKind::Socket
        } else {
            FileKind::Other
        })
    }
}

impl std::fmt::Display for FileKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            FileKind::Directory => "directory",
            FileKind::Fifo => "named pipe (FIFO)",
            FileKind::CharDevice => "character device",
            FileKind::BlockDevice => "block device",
            FileKind::Socket => "socket",
            FileKind::Other => "special file",
        })
    }
}

/// A string of the segment header.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum HeaderText {
    /// The session's time zone name.
    TimeZone,
    /// The public configuration (TOML).
    Configuration,
}

impl std::fmt::Display for HeaderText {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            HeaderText::TimeZone => "time zone name",
            HeaderText::Configuration => "configuration",
        })
    }
}

/// Why a journal configuration cannot be used ([`JournalError::Config`]).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ConfigProblem {
    /// Segments are mapped, so their size is a whole number of pages.
    #[error("segment_bytes {segment_bytes} is not a multiple of {HEADER_ALIGN}")]
    SegmentNotPageMultiple {
        /// The configured size.
        segment_bytes: u64,
    },
    /// A segment must hold at least a few records after its header.
    #[error(
        "segment_bytes {segment_bytes} leaves room for fewer than {min_records} records after a \
         {header_bytes}-byte header"
    )]
    SegmentTooSmall {
        /// The configured size.
        segment_bytes: u64,
        /// The header size for this run's time zone and configuration text.
        header_bytes: u64,
        /// The fewest records a segment must hold.
        min_records: u64,
    },
    /// The time zone and configuration text do not fit a header (its size is a 32-bit field).
    #[error("the time zone and configuration text are {bytes} bytes, more than a header holds ({max} bytes)")]
    HeaderTooLong {
        /// Their combined length.
        bytes: u64,
        /// The most a header holds.
        max: u64,
    },
}
