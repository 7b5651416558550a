//! Configuration: TOML via serde, a default for every field, and [`Config::validate`], which
//! checks every section, reports every problem at once and produces the checked values each
//! part of the system is built from ([`ValidConfig`]). Those types live with their users: the
//! trading window in [`crate::session`], the throttle mode in [`crate::throttle`], the sync policy
//! in [`crate::journal`], the idle strategy in [`crate::runner`], the capacities in
//! [`crate::engine`], the simulated exchange's settings in [`crate::exchange`]. This module only
//! parses and validates.
//!
//! ```toml
//! [session]
//! username = "trader"
//! password = "secret"            # or password_env = "OMS_PASSWORD"
//! timezone = "Asia/Kolkata"
//! start = "10:00:00"             # a window may cross midnight (end < start)
//! end = "13:00:00"
//! days = ["Mon","Tue","Wed","Thu","Fri"]   # optional; default every day
//! [throttle]
//! max_orders_per_sec = 100
//! mode = "token-bucket"          # or "sliding-window"
//! burst = 100                    # token bucket capacity; default = max_orders_per_sec
//! [journal]
//! path = "oms.journal"
//! sync = "on-logout"             # "none", "on-logout", or an interval in ms (e.g. 200)
//! prepare_records = 4000000      # optional: space prepared before each session (default: a segment)
//! [engine]
//! core = 1                       # optional
//! ring_capacity = 65536
//! max_queued_orders = 1048576
//! idle = "spin"                  # "spin", "yield" or "park"
//! [exchange]
//! kind = "fix"                   # or "simulated" (the default: latency_min_us, latency_max_us,
//!                                #   reject_ratio, seed)
//! host = "127.0.0.1"
//! port = 9878
//! sender_comp_id = "OMS"
//! target_comp_id = "EXCH"
//! heartbeat_secs = 30            # default 30
//! store = "fix-store"            # sequence numbers (QuickFIX FileStore layout); default "fix-store"
//! reset_on_logon = false         # default false
//! [exchange.symbols]             # optional: Symbol (55) per symbol id; others go as the id
//! 1 = "RELIANCE"
//! ```
//!
//! Values with a fixed set of choices (`mode`, `sync`, `idle`) are read as text and checked with
//! the rest, so a typo there is reported next to every other problem rather than hiding them.
//! The password never leaves a [`Secret`]: `Debug` redacts it and
//! [`Config::public_toml`] (what the journal header stores) leaves it out.

use std::fmt;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::clock::EngineClock;
use crate::engine::EngineSettings;
use crate::exchange::{FixSettings, SimulatedSettings};
use crate::journal::{JournalMeta, JournalSettings};
#[cfg(doc)]
use crate::model::Secret;
use crate::runner::RunnerSettings;
use crate::session::TradingWindow;
use crate::throttle::ThrottleSettings;

/// The whole configuration, as read from TOML. Every field has a default.
#[derive(Clone, Debug, Default, Deserialize, Serialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    /// Exchange session and trading window.
    pub session: SessionConfig,
    /// Order rate limit.
    pub throttle: ThrottleConfig,
    /// Journal location and durability.
    pub journal: JournalConfig,
    /// Engine thread, rings and capacities.
    pub engine: EngineConfig,
    /// The exchange: the simulated one (the default) or a FIX session.
    pub exchange: ExchangeConfig,
}

/// One problem with one field.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Problem {
    /// The field (`section.key`, or `section` for a problem between keys).
    pub field: String,
    /// What is wrong, in words.
    pub message: String,
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.field, self.message)
    }
}

/// Why a configuration cannot be used. Every variant names the file when there is one.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file could not be read.
    #[error("{}: cannot read the configuration: {source}", path.display())]
    Read {
        /// The file.
        path: PathBuf,
        /// The OS error.
        #[source]
        source: std::io::Error,
    },
    /// Not valid TOML, or a value of the wrong type (the message names the line).
    #[error("{}{source}", file_prefix(file))]
    Parse {
        /// The file, when the text came from one.
        file: Option<PathBuf>,
        /// The parser's error (line, column, what was expected).
        #[source]
        source: Box<toml::de::Error>,
    },
    /// Parsed, but some values are not acceptable: every one of them.
    #[error("{}invalid configuration:{}", file_prefix(file), list(problems))]
    Invalid {
        /// The file, when the configuration came from one.
        file: Option<PathBuf>,
        /// Every problem found.
        problems: Vec<Problem>,
    },
}

fn file_prefix(file: &Option<PathBuf>) -> String {
    file.as_ref().map(|p| format!("{}: ", p.display())).unwrap_or_default()
}

fn list(problems: &[Problem]) -> String {
    problems.iter().map(|p| format!("\n  - {p}")).collect()
}

impl ConfigError {
    /// The same error, naming `path` as the file it came from.
    pub fn in_file(self, path: &Path) -> ConfigError {
        let file = Some(path.to_path_buf());
        match self {
            ConfigError::Parse { source, .. } => ConfigError::Parse { file, source },
            ConfigError::Invalid { problems, .. } => ConfigError::Invalid { file, problems },
            read @ ConfigError::Read { .. } => read,
        }
    }

    /// The problems of an [`ConfigError::Invalid`] error (empty for the others).
    pub fn problems(&self) -> &[Problem] {
        match self {
            ConfigError::Invalid { problems, .. } => problems,
            _ => &[],
        }
    }
}

/// Collects problems while the sections validate themselves.
#[derive(Debug, Default)]
struct Problems(Vec<Problem>);

impl Problems {
    fn push(&mut self, field: &str, message: impl Into<String>) {
        self.0.push(Problem { field: field.to_string(), message: message.into() });
    }

    /// `v` as a non-zero value, or a problem.
    fn non_zero<T: TryInto<N> + Copy, N>(&mut self, field: &str, v: T) -> Option<N> {
        let n = v.try_into().ok();
        if n.is_none() {
            self.push(field, "must be > 0");
        }
        n
    }

    fn finish<T>(self, value: Option<T>) -> Result<T, ConfigError> {
        match value {
            Some(v) if self.0.is_empty() => Ok(v),
            _ => Err(ConfigError::Invalid { file: None, problems: self.0 }),
        }
    }
}

/// A configuration that passed [`Config::validate`]: what the engine, the runner, the journal
/// and the simulated exchange are built from.
#[derive(Clone, Debug)]
pub struct ValidConfig {
    /// The engine: trading window and credentials, throttle, capacities.
    pub engine: EngineSettings,
    /// Journal.
    pub journal: JournalSettings,
    /// Engine thread: pinning and idle strategy.
    pub runner: RunnerSettings,
    /// Simulated exchange (always valid: its keys have defaults).
    pub exchange: SimulatedSettings,
    /// The FIX session, when `[exchange] kind = "fix"`.
    pub fix: Option<FixSettings>,
}

/// Largest simulated latency, µs (an hour): far beyond any exchange, and it keeps every due time
/// within `u64` nanoseconds.
pub const MAX_SIMULATED_LATENCY_US: u64 = 3_600_000_000;

impl Config {
    /// Parses TOML text. Parse errors carry line and column.
    pub fn from_toml_str(text: &str) -> Result<Config, ConfigError> {
        toml::from_str(text).map_err(|e| ConfigError::Parse { file: None, source: Box::new(e) })
    }

    /// Reads and parses a TOML file; errors name the file (and line, for parse errors).
    pub fn load(path: impl AsRef<Path>) -> Result<Config, ConfigError> {
        let path = path.as_ref();
        let text = std::fs::read_to_string(path)
            .map_err(|source| ConfigError::Read { path: path.to_path_buf(), source })?;
        Config::from_toml_str(&text).map_err(|e| e.in_file(path))
    }

    /// Loads and validates a file in one step.
    pub fn load_valid(path: impl AsRef<Path>) -> Result<ValidConfig, ConfigError> {
        let path = path.as_ref();
        Config::load(path)?.validate().map_err(|e| e.in_file(path))
    }

    /// The journal header's metadata for a run of this configuration on `clock`.
    pub fn journal_meta(&self, clock: &EngineClock) -> JournalMeta {
        JournalMeta::new(clock, self.session.timezone.clone(), self.public_toml())
    }

    /// The configuration as TOML without any password (for the journal header).
    pub fn public_toml(&self) -> String {
        // `password` is `skip_serializing`; serialization of plain data cannot fail.
        toml::to_string(self).unwrap_or_default()
    }

    /// Checks every section and reports every problem at once.
    pub fn validate(&self) -> Result<ValidConfig, ConfigError> {
        let mut p = Problems::default();
        let session = self.session.validate(&mut p);
        let throttle = self.throttle.validate(&mut p);
        let journal = self.journal.validate(&mut p);
        let (capacities, runner) = self.engine.validate(&mut p);
        let (exchange, fix) = self.exchange.validate(&self.session, &mut p);
        let all = (|| {
            Some(ValidConfig {
                engine: EngineSettings { session: session?, throttle: throttle?, capacities: capacities? },
                journal: journal?,
                runner: runner?,
                exchange: exchange?,
                fix: fix?,
            })
        })();
        p.finish(all)
    }

    /// Just the rules the engine enforces, the trading window and the throttle: what a journal's
    /// audit needs, without the credentials (a stored configuration names a password
    /// variable that need not be set where the audit runs).
    pub fn rules(&self) -> Result<(TradingWindow, ThrottleSettings), ConfigError> {
        let mut p = Problems::default();
        let window = self.session.window(&mut p);
        let throttle = self.throttle.validate(&mut p);
        p.finish(window.zip(throttle))
    }
}

mod engine;
mod exchange;
mod journal;
mod session;
mod throttle;

pub use engine::{EngineConfig, MAX_LIVE_ORDERS, MAX_RING_CAPACITY};
pub use exchange::ExchangeConfig;
pub use journal::{JournalConfig, MAX_PREPARE_RECORDS, MAX_SEGMENT_BYTES, SyncValue};
pub use session::SessionConfig;
pub use throttle::{MAX_SLIDING_WINDOW_RATE, ThrottleConfig};

#[cfg(test)]
mod tests;
