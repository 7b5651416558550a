//! Recovery: the state an engine restarts with, read from the journal of its previous run.
//!
//! The journal is the system of record: every decision the engine made is a committed record
//! before anyone else sees it. [`read`] opens a journal, checks that the configuration is the
//! one it was written with (trading window, time zone, throttle: a different session needs a
//! new journal), and folds its committed records ([`StateBuilder`]) into a
//! [`RecoveredState`]: the queue in order with every modify applied, the orders at the exchange
//! with their send times and where each stands, the waiting cancels, the throttle, the session. [`EngineBuilder::recover`] builds an engine
//! from it.
//!
//! ```no_run
//! use oms::{Config, EngineBuilder, EngineClock, MemorySink};
//! use oms::exchange::NullExchange;
//!
//! let valid = Config::load_valid("oms.toml")?;
//! let recovery = oms::recovery::read("oms.journal".as_ref(), &valid)?;
//! let mut clock = EngineClock::system();
//! recovery.state.prepare_clock(&mut clock); // before anything else gets the clock
//! let (builder, _responder) = EngineBuilder::new(&valid.engine, clock);
//! let engine = builder.recover(recovery.state, NullExchange::default(), MemorySink::default())?;
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! **What is not recovered, by design.** A request still in a producer's ring when the engine
//! stopped was never accepted: there is no record of it, and nothing to restore. Its producer
//! learns that from its outcomes ([`crate::journal::Outcomes`]): no record answers it, and a
//! `recovered` record marks the restart. A simulated exchange restarts empty too: it never
//! answers the orders restored open, which stay open until a shutdown records them
//! `unanswered` (an exchange that keeps its session, such as a FIX acceptor, can still answer
//! them, and the answer matches).
//!
//! **Cost.** One pass over the journal: reading and one or two hash-table
//! operations per order; `docs/BENCHMARKS.md` has the measured time per million records.

use std::path::{Path, PathBuf};

use crate::config::{Config, ConfigError, ValidConfig};
#[cfg(doc)]
use crate::engine::EngineBuilder;
use crate::engine::RecoveredState;
use crate::journal::{FORMAT_VERSION, Journal, JournalError, TornTail};

mod check;
mod fold;

pub use check::Difference;
pub use fold::StateBuilder;

/// What [`read`] found: the state to restart with, and where the journal ends.
#[derive(Debug)]
pub struct Recovery {
    /// The journal's base path.
    pub path: PathBuf,
    /// The state to restart the engine with.
    pub state: RecoveredState,
    /// Committed records read.
    pub records: u64,
    /// Sequence number of the last committed record (0: none); the next record continues
    /// after it.
    pub last_seq: u64,
    /// An unpublished record after the last committed one (the writer stopped mid-append):
    /// not part of the journal; a resumed writer overwrites it.
    pub torn_tail: Option<TornTail>,
    /// Whether the previous run closed the journal (a clean stop rather than a crash).
    pub closed: bool,
}

impl Recovery {
    /// One paragraph on what would be restored, for people (`oms run`).
    pub fn summary(&self) -> String {
        let s = &self.state;
        let stop =
            if self.closed { "closed cleanly" } else { "not closed (the engine stopped without closing it)" };
        let session = match s.logged_on_at {
            Some(t) => format!("logged on since {}", crate::clock::wall_text(t)),
            None => "logged out".into(),
        };
        let torn = match &self.torn_tail {
            Some(t) => {
                format!("; an unpublished record at {} offset {} is discarded", t.path.display(), t.offset)
            }
            None => String::new(),
        };
        format!(
            "{}: {} committed records (last seq {}), {stop}{torn}; restores {} queued and {} open at the exchange \
             ({} cancels waiting); the session was {session}",
            self.path.display(),
            self.records,
            self.last_seq,
            s.queued.len(),
            s.open.len(),
            s.cancels.len(),
        )
    }
}

/// Why a journal cannot be recovered.
#[derive(Debug, thiserror::Error)]
pub enum RecoveryError {
    /// The journal cannot be opened or read, or is corrupt (names the file and offset).
    #[error("cannot recover from the journal: {0}")]
    Journal(#[from] JournalError),
    /// The configuration stored in the journal header cannot be read.
    #[error("{}: the configuration in the journal header cannot be read: {source}", path.display())]
    HeaderConfig {
        /// The journal.
        path: PathBuf,
        /// Why.
        #[source]
        source: ConfigError,
    },
    /// The configuration differs from the journal's (or cannot hold what it restores).
    #[error(
        "{}: the journal was written under another configuration; a different session needs a new \
         journal:{}",
        path.display(),
        check::list(differences)
    )]
    Mismatch {
        /// The journal.
        path: PathBuf,
        /// Every field that differs.
        differences: Vec<Difference>,
    },
}

impl RecoveryError {
    /// The differing fields of a [`RecoveryError::Mismatch`] (empty for the others).
    pub fn differences(&self) -> &[Difference] {
        match self {
            RecoveryError::Mismatch { differences, .. } => differences,
            _ => &[],
        }
    }
}

/// Reads the journal at `path` (its base path) for an engine configured as `valid`: checks the
/// configuration against the header's, folds every committed record, and checks that the
/// engine's tables hold what it restores. A torn tail is not part of the journal; corruption
/// before it is an error.
pub fn read(path: &Path, valid: &ValidConfig) -> Result<Recovery, RecoveryError> {
    let journal = Journal::open(path)?;
    if let Some((p, h)) = journal.segments().find(|(_, h)| h.version < FORMAT_VERSION) {
        return Err(JournalError::OlderVersion { path: p.to_path_buf(), found: h.version }.into());
    }
    let header = &journal.header().meta;
    let stored = Config::from_toml_str(&header.config_toml)
        .and_then(|c| c.rules())
        .map_err(|source| RecoveryError::HeaderConfig { path: path.to_path_buf(), source })?;
    let differences = check::rules(&stored, valid);
    if !differences.is_empty() {
        return Err(RecoveryError::Mismatch { path: path.to_path_buf(), differences });
    }
    let mut fold = StateBuilder::new(&valid.engine.session.window, &valid.engine.throttle);
    let mut records = journal.records();
    for r in &mut records {
        fold.push(&r?);
    }
    let torn_tail = records.torn_tail().cloned();
    let closed = journal.segments().any(|(_, h)| h.closed);
    let (records, last_seq) = (fold.records(), fold.last_seq());
    let state = fold.finish();
    let differences = check::capacities(&state, valid);
    if !differences.is_empty() {
        return Err(RecoveryError::Mismatch { path: path.to_path_buf(), differences });
    }
    Ok(Recovery { path: path.to_path_buf(), state, records, last_seq, torn_tail, closed })
}
