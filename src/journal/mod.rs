//! The memory-mapped event journal: 64-byte records in pre-allocated, pre-faulted segment files.
//!
//! * [`JournalWriter`] implements [`EventSink`](crate::sink::EventSink) for the engine thread.
//!   Its hot path is a bounds check, building the record's eight words, a CRC-32 over its first
//!   60 bytes (`crc32fast`) and a 64-byte store ending in one release store: no allocation, no
//!   lock, no syscall. A background thread creates, `fallocate`s and pre-faults the segments
//!   after the current one (two are kept ready), hands them over through a lock-free queue,
//!   unmaps finished segments and runs the `[journal] sync` policy. A lazily faulted page of a
//!   fresh mapping can stall a record for milliseconds where a pre-faulted one does not, which
//!   is why no fault may land on the engine (docs/journal-format.md has the measurements).
//! * The segments' shared memory is touched only through one type, `mapping::SegmentMap`,
//!   which owns the publish protocol (release store of the sequence number after the body,
//!   acquire load before reading it) and the one `unsafe fn` of the writer's path.
//! * [`Journal`] reads a journal back (one segment, or a base path with all its segments),
//!   validating every record (sequence number in place, CRC-32) and [`Journal::verify`] reports
//!   the last good record, any torn tail and the first corruption, naming file and offset.
//! * [`Outcomes`] follows one producer's records: what became of its requests, from any thread
//!   or process, with no work on the engine thread (`oms tail --producer N`).
//! * [`Follower`] follows a live journal (`oms tail`). Like [`Journal`], it reads the files with
//!   `pread` rather than mapping them, so a file truncated under it is an error, not SIGBUS.
//!
//! The format is versioned and documented byte by byte in `docs/journal-format.md`.

use std::num::NonZeroU64;
use std::path::PathBuf;

use crate::clock::EngineClock;

mod background;
mod error;
pub mod follower;
pub mod format;
mod mapping;
pub mod outcomes;
pub mod reader;
pub mod writer;

pub use error::{ConfigProblem, Corruption, HeaderText, JournalError};
pub use follower::{Follower, Poll};
pub use format::{FORMAT_VERSION, MAGIC, SegmentHeader, segment_path};
pub use outcomes::{Outcome, OutcomeKind, OutcomePoll, Outcomes};
pub use reader::{Journal, LastGood, Records, SegmentSummary, TornTail, VerifyReport};
pub use writer::{JournalStats, JournalWriter, NextSegment, WriterOptions};

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
