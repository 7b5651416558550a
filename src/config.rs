//! Configuration: TOML via serde, a default for every field, and [`Config::validate`], which
//! checks every section, reports every problem at once and produces the checked values each
//! part of the system is built from ([`ValidConfig`]). Those types live with their users: the
//! trading window in [`crate::window`], the throttle mode in [`crate::throttle`], the sync policy
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
//! idle = "backoff"               # the default; or "spin" (a core set aside), "yield", "park"
//! spin_us = 20                   # backoff: spin 20 µs after the last work, then yield
//! yield_us = 20                  #   20 µs, then sleep until woken (a push, the FIX socket,
//! sleep_max_us = 100000          #   the next timer), at most 100 ms at a time
//! spin_min_us = 2                # backoff: while work comes less often, the spin and yield
//!                                #   budget halves per gap, down to 2 µs
//! [exchange]
//! kind = "fix"                   # or "simulated" (the default), whose keys are:
//!                                #   latency_min_us = 200, latency_max_us = 800 (every answer),
//!                                #   reject_ratio = 0.1, seed = 1, fill_ratio = 1.0 (accepted
//!                                #   orders that fill), fill_parts = 1 (fills per order),
//!                                #   fill_interval_us = 1000 (ack to first fill, and between)
//! host = "127.0.0.1"
//! port = 9878
//! sender_comp_id = "OMS"
//! target_comp_id = "EXCH"
//! heartbeat_secs = 30            # default 30
//! store = "fix-store"            # sequence numbers (QuickFIX FileStore layout); default "fix-store"
//! reset_on_logon = false         # default false
//! [exchange.symbols]             # optional: Symbol (55) per symbol id; others go as the id
//! 1 = "RELIANCE"
//! [risk]                         # optional: pre-trade limits (`config/risk.rs`)
//! max_order_qty = 10000
//! ```
//!
//! Every problem is reported at once, each with its line: unknown sections and keys, values of
//! the wrong type (`parse.rs` reads each key on its own, so serde's stop at the first error hides
//! nothing) and values out of range ([`Config::validate`]), in one list sorted by line
//! ([`ParsedConfig`], [`Config::load_valid`]). Values with a fixed set of choices (`mode`,
//! `sync`, `idle`) are read as text and checked with the rest. Values are shown as the file
//! wrote them.
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
use crate::throttle::ThrottleSettings;
use crate::window::TradingWindow;

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
    /// Pre-trade risk limits; none without the section.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub risk: Option<RiskConfig>,
    /// Producers in other processes; the defaults without the section (a run listens only
    /// with `dir` set or `oms run --listen`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ipc: Option<IpcConfig>,
}

/// One problem with one field.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Problem {
    /// The field (`section.key`, or `section` for a problem between keys).
    pub field: String,
    /// What is wrong, in words.
    pub message: String,
    /// The line of the text where the field is (or its section, for a key left out), when the
    /// configuration came from text.
    pub line: Option<usize>,
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(line) = self.line {
            write!(f, "line {line}: ")?;
        }
        if self.field.is_empty() {
            write!(f, "{}", self.message)
        } else {
            write!(f, "{}: {}", self.field, self.message)
        }
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
    /// Not valid TOML (the message names the line and column).
    #[error("{}{source}", file_prefix(file))]
    Parse {
        /// The file, when the text came from one.
        file: Option<PathBuf>,
        /// The parser's error (line, column, what was expected).
        #[source]
        source: Box<toml::de::Error>,
    },
    /// TOML, but some keys are unknown, some values of the wrong type or not acceptable: every
    /// one of them, each with its line when the configuration came from text.
    #[error("{}invalid configuration:{}", file_prefix(file), list(file, problems))]
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

/// One problem a line: `FILE:LINE: field: message` when the file and the line are known.
fn list(file: &Option<PathBuf>, problems: &[Problem]) -> String {
    let item = |p: &Problem| match (file, p.line) {
        (Some(file), Some(line)) => {
            format!("\n  - {}:{line}: {}", file.display(), Problem { line: None, ..p.clone() })
        }
        _ => format!("\n  - {p}"),
    };
    problems.iter().map(item).collect()
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
        self.0.push(Problem { field: field.to_string(), message: message.into(), line: None });
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
    /// Producers in other processes (`[ipc]`, its defaults without the section).
    pub ipc: crate::ipc::IpcSettings,
}

/// Largest simulated latency, µs (an hour): far beyond any exchange, and it keeps every due time
/// within `u64` nanoseconds.
pub const MAX_SIMULATED_LATENCY_US: u64 = 3_600_000_000;

impl Config {
    /// Parses TOML text. A syntax error is [`ConfigError::Parse`] (line and column); unknown
    /// keys and values of the wrong type are [`ConfigError::Invalid`], every one of them with
    /// its line. [`ParsedConfig`] also reports the values' problems in the same list.
    pub fn from_toml_str(text: &str) -> Result<Config, ConfigError> {
        ParsedConfig::parse(text)?.into_config()
    }

    /// Reads and parses a TOML file; errors name the file (and the line).
    pub fn load(path: impl AsRef<Path>) -> Result<Config, ConfigError> {
        ParsedConfig::load(path)?.into_config()
    }

    /// Loads and validates a file in one step: every problem at once (unknown keys, values of
    /// the wrong type, values out of range), each with the file and its line.
    pub fn load_valid(path: impl AsRef<Path>) -> Result<ValidConfig, ConfigError> {
        ParsedConfig::load(path)?.validate()
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
        let risk = match &self.risk {
            Some(r) => r.validate(&mut p).map(Some),
            None => Some(None),
        };
        let ipc = self.ipc.clone().unwrap_or_default().validate(&mut p);
        let all = (|| {
            Some(ValidConfig {
                engine: EngineSettings {
                    session: session?,
                    throttle: throttle?,
                    capacities: capacities?,
                    risk: risk?,
                },
                journal: journal?,
                runner: runner?,
                exchange: exchange?,
                fix: fix?,
                ipc: ipc?,
            })
        })();
        p.finish(all)
    }

    /// The pre-trade risk limits of `[risk]` (none without the section): what an audit checks
    /// orders against besides [`Config::rules`].
    pub fn risk_rules(&self) -> Result<Option<crate::risk::RiskSettings>, ConfigError> {
        let mut p = Problems::default();
        let risk = match &self.risk {
            Some(r) => r.validate(&mut p).map(Some),
            None => Some(None),
        };
        p.finish(risk)
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

/// A configuration read from TOML text, with what could not be read from it: the unknown keys
/// and the values of the wrong type (each with its line; those keys keep their defaults in
/// [`ParsedConfig::config`]), and where every key is, so that [`ParsedConfig::validate`]
/// reports those problems and every value problem in one list, sorted by line.
///
/// ```
/// use oms::config::ParsedConfig;
/// let text = "[throttle]\nburst = -5\nbrust = 1\n[engine]\nidle = \"nap\"\n";
/// let err = ParsedConfig::parse(text).unwrap().validate().unwrap_err();
/// let lines: Vec<_> = err.problems().iter().map(|p| (p.line, p.field.as_str())).collect();
/// assert_eq!(
///     lines,
///     [(Some(2), "throttle.burst"), (Some(3), "throttle.brust"), (Some(5), "engine.idle")]
/// );
/// ```
#[derive(Debug)]
pub struct ParsedConfig {
    /// The configuration: what the text set, defaults for the rest and for the keys that could
    /// not be read. A caller may change it (e.g. a path given on the command line) before
    /// [`validate`](ParsedConfig::validate).
    pub config: Config,
    problems: Vec<Problem>,
    locations: parse::Locations,
    file: Option<PathBuf>,
}

impl ParsedConfig {
    /// Parses TOML text. `Err` only for a syntax error ([`ConfigError::Parse`]).
    pub fn parse(text: &str) -> Result<ParsedConfig, ConfigError> {
        let read = parse::read(text).map_err(|e| ConfigError::Parse { file: None, source: Box::new(e) })?;
        Ok(ParsedConfig {
            config: read.config,
            problems: read.problems,
            locations: read.locations,
            file: None,
        })
    }

    /// Reads and parses a TOML file; its errors name the file.
    pub fn load(path: impl AsRef<Path>) -> Result<ParsedConfig, ConfigError> {
        let path = path.as_ref();
        let text = std::fs::read_to_string(path)
            .map_err(|source| ConfigError::Read { path: path.to_path_buf(), source })?;
        let mut parsed = ParsedConfig::parse(&text).map_err(|e| e.in_file(path))?;
        parsed.file = Some(path.to_path_buf());
        Ok(parsed)
    }

    /// The keys that could not be read (unknown, or a value of the wrong type).
    pub fn problems(&self) -> &[Problem] {
        &self.problems
    }

    /// The configuration, if every key could be read; else every key that could not.
    pub fn into_config(self) -> Result<Config, ConfigError> {
        if self.problems.is_empty() { Ok(self.config) } else { Err(self.error(Vec::new())) }
    }

    /// [`Config::validate`] of [`config`](ParsedConfig::config), with the keys that could not
    /// be read: every problem in one list, each with its line, sorted by line.
    pub fn validate(&self) -> Result<ValidConfig, ConfigError> {
        match self.config.validate() {
            Ok(valid) if self.problems.is_empty() => Ok(valid),
            Ok(_) => Err(self.error(Vec::new())),
            Err(e) => Err(self.error(e.problems().to_vec())),
        }
    }

    /// [`Config::rules`], with the keys that could not be read, as [`validate`](Self::validate).
    pub fn rules(&self) -> Result<(TradingWindow, ThrottleSettings), ConfigError> {
        match self.config.rules() {
            Ok(rules) if self.problems.is_empty() => Ok(rules),
            Ok(_) => Err(self.error(Vec::new())),
            Err(e) => Err(self.error(e.problems().to_vec())),
        }
    }

    /// [`Config::risk_rules`], with the keys that could not be read, as [`validate`](Self::validate).
    pub fn risk_rules(&self) -> Result<Option<crate::risk::RiskSettings>, ConfigError> {
        match self.config.risk_rules() {
            Ok(rules) if self.problems.is_empty() => Ok(rules),
            Ok(_) => Err(self.error(Vec::new())),
            Err(e) => Err(self.error(e.problems().to_vec())),
        }
    }

    /// Every problem, sorted by line: the reading's, then `values` (a value problem of a key
    /// that could not be read is about its default, and left out).
    fn error(&self, values: Vec<Problem>) -> ConfigError {
        let unread = |p: &Problem| self.problems.iter().any(|q| q.field == p.field);
        let mut problems = self.problems.clone();
        problems.extend(
            values
                .into_iter()
                .filter(|p| !unread(p))
                .map(|p| Problem { line: p.line.or_else(|| self.locations.line(&p.field)), ..p }),
        );
        // Stable: problems without a line (keys the text does not have) stay in order, last.
        problems.sort_by_key(|p| p.line.unwrap_or(usize::MAX));
        ConfigError::Invalid { file: self.file.clone(), problems }
    }
}

mod engine;
mod exchange;
mod ipc;
mod journal;
mod parse;
mod risk;
mod session;
mod throttle;

pub use engine::{EngineConfig, MAX_LIVE_ORDERS, MAX_RING_CAPACITY};
pub use exchange::ExchangeConfig;
pub use ipc::IpcConfig;
pub use journal::{JournalConfig, MAX_PREPARE_RECORDS, MAX_SEGMENT_BYTES, SyncValue};
pub use risk::{LimitsConfig, MAX_RISK_SYMBOLS, RiskConfig};
pub use session::SessionConfig;
pub use throttle::{MAX_SLIDING_WINDOW_RATE, ThrottleConfig};

#[cfg(test)]
mod tests;
