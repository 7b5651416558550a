//! The memory-mapped event journal: 64-byte records in pre-allocated, pre-faulted segment files.
//!
//! * [`JournalWriter`] implements [`EventSink`](crate::sink::EventSink) for the engine thread.
//!   Its hot path is a bounds check, a 64-byte copy, a CRC-32 over 60 bytes and one release
//!   store: no allocation, no lock, no syscall. A background thread creates, `fallocate`s and
//!   pre-faults the *next* segment as soon as the current one is taken, hands it over through a
//!   lock-free slot, unmaps finished segments and runs the `[journal] sync` policy. On these
//!   machines a lazily faulted page of a fresh mapping stalls a record for up to ~20 ms while a
//!   pre-faulted one costs ~0.2 ms at worst (the journal issue's measurement), which is why no
//!   fault may land on the engine. The checksum is a CRC-32 specialised for the record's fixed
//!   60 bytes ([`crc`]); crc32fast's general entry point cost more than the rest of an append.
//! * [`Journal`] reads a journal back (one segment, or a base path with all its segments),
//!   validating every record (sequence number in place, CRC-32) and [`Journal::verify`] reports
//!   the last good record, any torn tail and the first corruption, naming file and offset.
//! * [`Follower`] follows a live journal (`oms tail`).
//!
//! The format is versioned and documented byte by byte in `docs/journal-format.md`.

use std::num::NonZeroU64;
use std::path::{Path, PathBuf};

use crate::clock::EngineClock;

mod background;
pub mod format;
pub mod reader;
pub mod writer;

pub use format::{FORMAT_VERSION, MAGIC, SegmentHeader, segment_path};
pub use reader::{Follower, Journal, LastGood, Poll, Records, SegmentSummary, TornTail, VerifyReport};
pub use writer::{JournalStats, JournalWriter, NextSegment, WriterOptions};

/// Everything that can go wrong with a journal. Every variant names the file; corruption names
/// the byte offset too.
#[derive(Debug, thiserror::Error)]
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
        source: std::io::Error,
    },
    /// The writer refuses to replace an existing journal.
    #[error(
        "{path}: a journal file already exists; refusing to overwrite it (remove it, choose another \
         path, or set WriterOptions::overwrite)",
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
        "{path}: offset 8: unsupported journal format version {found} (this build reads version {supported})",
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
    /// Bad data at a known place.
    #[error("{path}: offset {offset}: {problem}", path = .path.display())]
    Corrupt {
        /// The file.
        path: PathBuf,
        /// Byte offset in the file.
        offset: u64,
        /// What is wrong.
        problem: String,
    },
    /// A segment is missing between two that exist, or segments disagree about their journal.
    #[error("{path}: {problem}", path = .path.display())]
    Segments {
        /// The segment (or expected segment) concerned.
        path: PathBuf,
        /// What is wrong.
        problem: String,
    },
    /// The journal configuration cannot be used.
    #[error("{path}: invalid journal configuration: {problem}", path = .path.display())]
    Config {
        /// The journal base path.
        path: PathBuf,
        /// What is wrong.
        problem: String,
    },
}

impl JournalError {
    /// An I/O error on `path` while doing `op`.
    pub fn io(path: &Path, op: &str, source: std::io::Error) -> Self {
        JournalError::Io { path: path.to_path_buf(), op: op.to_string(), source }
    }

    /// The file the error is about.
    pub fn path(&self) -> &Path {
        match self {
            JournalError::Io { path, .. }
            | JournalError::Exists { path }
            | JournalError::Foreign { path }
            | JournalError::Version { path, .. }
            | JournalError::Corrupt { path, .. }
            | JournalError::Segments { path, .. }
            | JournalError::Config { path, .. } => path,
        }
    }
}

/// When mapped pages are flushed to disk (always off the engine thread): `[journal] sync`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum SyncPolicy {
    /// Leave it to the kernel (data survives a process crash, not a power loss).
    None,
    /// Flush at every logout and at shutdown.
    #[default]
    OnLogout,
    /// Flush every this many milliseconds, from a background thread.
    IntervalMs(NonZeroU64),
}

/// A checked `[journal]` section: where the journal goes and how it is kept.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct JournalSettings {
    /// Base path; further segments are `PATH.000001`, `PATH.000002`, …
    pub path: PathBuf,
    /// Durability policy.
    pub sync: SyncPolicy,
    /// Size of one segment file in bytes (header included).
    pub segment_bytes: u64,
}

/// What the journal header records about the run, besides the format itself.
///
/// Build it with [`JournalMeta::new`] from the engine clock, the session's time zone and the
/// public configuration ([`Config::public_toml`](crate::config::Config::public_toml), which
/// never contains the password), or with
/// [`Config::journal_meta`](crate::config::Config::journal_meta).
#[derive(Clone, Debug, PartialEq)]
pub struct JournalMeta {
    /// When the journal is created, ns since the Unix epoch.
    pub created_wall_ns: i64,
    /// Wall-clock anchor of the engine clock, ns since the Unix epoch.
    pub anchor_wall_ns: i64,
    /// Raw clock reading (TSC ticks) at the anchor.
    pub anchor_raw: u64,
    /// TSC calibration: nanoseconds per raw tick.
    pub ns_per_tick: f64,
    /// IANA time zone of the session (decoders show times in it).
    pub timezone: String,
    /// The public configuration (TOML, no password).
    pub config_toml: String,
}

impl JournalMeta {
    /// The header metadata for a run on `clock` (created "now" by that clock) in `timezone`
    /// with the public configuration `config_toml`.
    pub fn new(clock: &EngineClock, timezone: impl Into<String>, config_toml: impl Into<String>) -> Self {
        JournalMeta {
            created_wall_ns: clock.wall_ns(clock.now_ns()),
            anchor_wall_ns: clock.anchor_wall_ns(),
            anchor_raw: clock.anchor_raw(),
            ns_per_tick: clock.ns_per_tick(),
            timezone: timezone.into(),
            config_toml: config_toml.into(),
        }
    }
}
