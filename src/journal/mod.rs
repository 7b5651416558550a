//! The memory-mapped event journal: 64-byte records in pre-allocated, pre-faulted segment files.
//!
//! * [`JournalWriter`] implements [`EventSink`](crate::sink::EventSink) for the engine thread.
//!   Its hot path is a bounds check, building the record's eight words, a checksum over its
//!   first 60 bytes and a 64-byte store ending in one release store: no allocation, no lock, no
//!   syscall. The session's space is prepared (created, reserved, pre-faulted) before logon;
//!   after that the writer's own `SCHED_IDLE` thread prepares more ([`Preparation`]), and the
//!   engine's idle turns ([`EventSink::housekeep`](crate::sink::EventSink::housekeep)) only swap
//!   ready segments in, so no order waits behind a system call of the preparation, and the
//!   thread runs only when a core is idle. A journal that falls behind pushes back
//!   ([`EventSink::takes_requests`](crate::sink::EventSink::takes_requests)) rather than
//!   rejecting orders; only a full disk makes it reject New orders `journal_full`, and
//!   [`JournalWatch`] tells another thread why (`oms run` prints it). A lazily
//!   faulted page of a fresh mapping costs the engine microseconds where a pre-faulted one costs
//!   nothing (docs/BENCHMARKS.md has the measurements).
//! * [`JournalWriter::resume`] reopens an existing journal (after a crash or a clean stop) to
//!   append after its last committed record: it reads the whole journal with the reader's rules
//!   first and refuses one the reader refuses; a torn tail is zeroed, segments prepared ahead are
//!   reused, `.tmp` leftovers removed. A writer locks the base file (`flock`): one writer at a
//!   time.
//! * The `[journal] sync` policy flushes on the engine thread at logout (`on-logout`), or on a
//!   thread that sleeps between flushes (an interval); a failed flush is counted, journaled
//!   (`sync_failed`) and flagged in the segment header (`oms verify` exits 1).
//! * The segments' shared memory is touched only through one type, `mapping::SegmentMap`,
//!   which owns the publish protocol (release store of the sequence number after the body,
//!   acquire load before reading it) and the one `unsafe fn` of the writer's path.
//! * [`Journal`] reads a journal back (one segment, or a base path with all its segments),
//!   validating every record (sequence number in place, CRC-32C), every header byte and what
//!   follows the end, and [`Journal::verify`] reports the last good record, any torn tail and the
//!   first corruption, naming file and offset. Every reader, recovery and resume judge a journal
//!   with these same rules (one journal, one verdict: `reader.rs`).
//! * [`Outcomes`] follows one producer's records: what became of its requests, from any thread
//!   or process, with no work on the engine thread (`oms tail --producer N`).
//! * [`Follower`] follows a live journal (`oms tail`). Like [`Journal`], it reads the files with
//!   `pread` rather than mapping them, so a file truncated under it is an error, not SIGBUS.
//!
//! The format is versioned and documented byte by byte in `docs/journal-format.md`.

use std::num::NonZeroU64;
use std::path::PathBuf;

use crate::clock::EngineClock;

mod error;
mod flush;
mod follower;
mod format;
mod mapping;
mod outcomes;
mod reader;
mod segment;
mod ticker;
mod writer;

pub use error::{ConfigProblem, Corruption, FileKind, HeaderFlag, HeaderText, JournalError, ZeroArea};
pub use follower::{Follower, Poll};
#[cfg(feature = "cli")]
pub(crate) use format::existing_segments;
pub use format::{FORMAT_VERSION, MAGIC, OLDEST_READ_VERSION, SegmentHeader, header_checksum, segment_path};
pub use outcomes::{Outcome, OutcomeKind, OutcomePoll, Outcomes};
pub use reader::{Journal, LastGood, Records, SegmentSummary, TornTail, VerifyReport};
#[cfg(feature = "test-hooks")]
pub use segment::Faults;
pub use writer::{JournalStats, JournalWatch, JournalWriter, Preparation, WriterOptions};

/// When mapped pages are flushed to disk: `[journal] sync`. A flush writes what was published
/// (`msync` of the records, the headers of new segments, `fsync` of the directory).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum SyncPolicy {
    /// Leave it to the kernel (data survives a process crash, not a power loss); the writer
    /// never flushes.
    None,
    /// Flush at every logout and at shutdown, on the engine thread: the engine goes on only once
    /// everything up to the logout record is on disk.
    #[default]
    OnLogout,
    /// Flush every this many milliseconds from a thread that sleeps in between (nothing published
    /// stays unflushed much longer than that), and at every logout and at shutdown as `on-logout`.
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
    /// Records whose space is prepared (files created, blocks reserved, pages faulted in) before
    /// the session: when the writer is created and again after each logout. `None`: one segment.
    pub prepare_records: Option<NonZeroU64>,
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
