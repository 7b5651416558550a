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
use std::num::{NonZeroU32, NonZeroU64, NonZeroUsize};
use std::path::{Path, PathBuf};

use jiff::civil::{Time, Weekday};
use jiff::tz::TimeZone;
use serde::{Deserialize, Serialize};

use crate::clock::EngineClock;
use crate::engine::{Capacities, EngineSettings};
use crate::exchange::{FixSettings, SimulatedSettings};
use crate::journal::{JournalMeta, JournalSettings, SyncPolicy};
use crate::model::{Logon, Logout, Secret};
use crate::runner::{IdleStrategy, RunnerSettings, core_id};
use crate::session::{DaySet, SessionSettings, TradingWindow};
use crate::throttle::{ThrottleMode, ThrottleSettings};

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

/// `[session]`.
#[derive(Clone, Deserialize, Serialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct SessionConfig {
    /// Exchange user name.
    pub username: String,
    /// Password in clear (prefer `password_env`). Never serialized back out.
    #[serde(skip_serializing)]
    pub password: Option<String>,
    /// Name of an environment variable holding the password.
    pub password_env: Option<String>,
    /// IANA time zone of the window.
    pub timezone: String,
    /// Window start, time of day (`HH:MM[:SS[.fff]]`).
    pub start: String,
    /// Window end, time of day; earlier than `start` means the window crosses midnight.
    pub end: String,
    /// Days on which a window starts (`Mon`…`Sun`); default every day.
    pub days: Option<Vec<String>>,
}

impl fmt::Debug for SessionConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SessionConfig")
            .field("username", &self.username)
            .field("password", &self.password.as_ref().map(|_| "***"))
            .field("password_env", &self.password_env)
            .field("timezone", &self.timezone)
            .field("start", &self.start)
            .field("end", &self.end)
            .field("days", &self.days)
            .finish()
    }
}

impl Default for SessionConfig {
    fn default() -> Self {
        SessionConfig {
            username: "trader".into(),
            password: None,
            password_env: None,
            timezone: "Asia/Kolkata".into(),
            start: "10:00:00".into(),
            end: "13:00:00".into(),
            days: None,
        }
    }
}

/// `[throttle]`.
#[derive(Clone, Debug, Deserialize, Serialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct ThrottleConfig {
    /// X: orders per second the exchange accepts.
    pub max_orders_per_sec: u32,
    /// `"token-bucket"` or `"sliding-window"` ([`ThrottleMode`]).
    pub mode: String,
    /// Token-bucket capacity; default = `max_orders_per_sec`. Ignored in sliding-window mode.
    pub burst: Option<u32>,
}

impl Default for ThrottleConfig {
    fn default() -> Self {
        ThrottleConfig { max_orders_per_sec: 100, mode: ThrottleMode::TokenBucket.name().into(), burst: None }
    }
}

/// `[journal] sync` as written: a name or a number of milliseconds.
#[derive(Clone, Debug, Deserialize, Serialize, PartialEq, Eq)]
#[serde(untagged)]
pub enum SyncValue {
    /// `"none"`, `"on-logout"`, or milliseconds as text.
    Name(String),
    /// Milliseconds.
    Ms(i64),
}

impl From<SyncPolicy> for SyncValue {
    fn from(p: SyncPolicy) -> SyncValue {
        match p {
            SyncPolicy::None => SyncValue::Name("none".into()),
            SyncPolicy::OnLogout => SyncValue::Name("on-logout".into()),
            SyncPolicy::IntervalMs(ms) => SyncValue::Ms(i64::try_from(ms.get()).unwrap_or(i64::MAX)),
        }
    }
}

/// `[journal]`.
#[derive(Clone, Debug, Deserialize, Serialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct JournalConfig {
    /// Base path; further segments are `PATH.000001`, `PATH.000002`, …
    pub path: PathBuf,
    /// Durability policy ([`SyncPolicy`]): `"none"`, `"on-logout"` or an interval in ms.
    pub sync: SyncValue,
    /// Size of one segment file in bytes (header included); a multiple of 4096, at least 64 KiB,
    /// at most [`MAX_SEGMENT_BYTES`].
    pub segment_bytes: u64,
    /// Records whose space is prepared (created, reserved, pre-faulted) before each session, so
    /// that a burst finds it ready; default: one segment. Size it for the session's expected
    /// records (about two per order: sent and response; one more per queued, modified, cancelled
    /// or rejected order).
    pub prepare_records: Option<u64>,
}

impl Default for JournalConfig {
    fn default() -> Self {
        JournalConfig {
            path: PathBuf::from("oms.journal"),
            sync: SyncValue::Name("on-logout".into()),
            segment_bytes: 64 << 20,
            prepare_records: None,
        }
    }
}

/// `[engine]`.
#[derive(Clone, Debug, Deserialize, Serialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct EngineConfig {
    /// CPU core to pin the engine thread to; none = not pinned.
    pub core: Option<usize>,
    /// Capacity of each producer ring and of the response ring.
    pub ring_capacity: usize,
    /// Most orders waiting in the queue; one more is rejected `queue_full`.
    pub max_queued_orders: usize,
    /// Most orders sent and not yet answered; at this many, sending pauses (orders stay queued).
    pub max_in_flight: usize,
    /// `"spin"`, `"yield"` or `"park"` ([`IdleStrategy`]).
    pub idle: String,
    /// Longest sleep of the `park` strategy, µs.
    pub park_max_us: u64,
}

impl Default for EngineConfig {
    fn default() -> Self {
        EngineConfig {
            core: None,
            ring_capacity: 65536,
            max_queued_orders: 1 << 20,
            max_in_flight: 1 << 16,
            idle: IdleStrategy::Spin.name().into(),
            park_max_us: 1000,
        }
    }
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

/// Largest `max_orders_per_sec` in sliding-window mode (its history ring holds X send times).
pub const MAX_SLIDING_WINDOW_RATE: u32 = 10_000_000;

/// Largest ring capacity (each producer ring and the response ring are allocated at start-up).
pub const MAX_RING_CAPACITY: usize = 1 << 24;

/// Largest `max_queued_orders + max_in_flight`: 2^26 live orders, about 4 GiB of tables (56 bytes
/// each), allocated at start-up. Far above what one exchange session holds, and it keeps a typo in
/// the config an error message rather than an out-of-memory abort.
pub const MAX_LIVE_ORDERS: usize = 1 << 26;

/// Largest journal segment, bytes (1 TiB): each segment is mapped and pre-faulted whole, with
/// two more prepared ahead; far beyond any useful size, and it keeps a typo an error message
/// rather than a failed `fallocate` or `mmap` at start-up.
pub const MAX_SEGMENT_BYTES: u64 = 1 << 40;

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

/// Parses `Mon`, `monday`, `MON` …
fn parse_weekday(s: &str) -> Option<Weekday> {
    let l = s.to_ascii_lowercase();
    let days = [
        ("mon", "monday", Weekday::Monday),
        ("tue", "tuesday", Weekday::Tuesday),
        ("wed", "wednesday", Weekday::Wednesday),
        ("thu", "thursday", Weekday::Thursday),
        ("fri", "friday", Weekday::Friday),
        ("sat", "saturday", Weekday::Saturday),
        ("sun", "sunday", Weekday::Sunday),
    ];
    days.into_iter().find(|(a, b, _)| l == *a || l == *b).map(|(_, _, d)| d)
}

impl SessionConfig {
    fn validate(&self, p: &mut Problems) -> Option<SessionSettings> {
        if self.username.trim().is_empty() {
            p.push("session.username", "must not be empty");
        }
        let password = match (&self.password, &self.password_env) {
            (Some(_), Some(_)) => {
                p.push("session", "set either password or password_env, not both");
                None
            }
            (Some(pw), None) => Some(Secret::new(pw.clone())),
            (None, Some(var)) => match std::env::var(var) {
                Ok(pw) => Some(Secret::new(pw)),
                Err(_) => {
                    p.push(
                        "session.password_env",
                        format!("environment variable {var:?} is not set (or not UTF-8)"),
                    );
                    None
                }
            },
            (None, None) => Some(Secret::default()),
        };
        let window = self.window(p)?;
        let username = self.username.clone();
        Some(SessionSettings {
            window,
            logon: Logon { username: username.clone(), password: password? },
            logout: Logout { username },
        })
    }

    /// The window part of the section: zone, start, end, days.
    fn window(&self, p: &mut Problems) -> Option<TradingWindow> {
        let timezone = TimeZone::get(&self.timezone).ok();
        if timezone.is_none() {
            p.push("session.timezone", format!("unknown IANA time zone {:?}", self.timezone));
        }
        let mut time = |field: &str, v: &str| {
            let t = v.parse::<Time>().ok();
            if t.is_none() {
                p.push(field, format!("{v:?} is not a time of day (HH:MM or HH:MM:SS)"));
            }
            t
        };
        let start = time("session.start", &self.start);
        let end = time("session.end", &self.end);
        if let (Some(a), Some(b)) = (start, end)
            && a == b
        {
            p.push("session", format!("start and end are both {a}: the window would be empty"));
        }
        let days = match &self.days {
            None => DaySet::ALL,
            Some(list) => {
                let mut seen = Vec::new();
                for d in list {
                    match parse_weekday(d) {
                        Some(w) if seen.contains(&w) => {
                            p.push("session.days", format!("{d:?} is listed twice"))
                        }
                        Some(w) => seen.push(w),
                        None => p.push("session.days", format!("{d:?} is not a day (Mon..Sun)")),
                    }
                }
                if list.is_empty() {
                    p.push("session.days", "empty list: the session would never open");
                }
                DaySet::of(&seen)
            }
        };
        Some(TradingWindow::new(timezone?, start?, end?, days))
    }
}

impl ThrottleConfig {
    fn validate(&self, p: &mut Problems) -> Option<ThrottleSettings> {
        let mode = ThrottleMode::from_name(&self.mode);
        if mode.is_none() {
            p.push(
                "throttle.mode",
                format!("{:?} is not a mode (\"token-bucket\" or \"sliding-window\")", self.mode),
            );
        }
        let rate: Option<NonZeroU32> = p.non_zero("throttle.max_orders_per_sec", self.max_orders_per_sec);
        if mode == Some(ThrottleMode::SlidingWindow) && self.max_orders_per_sec > MAX_SLIDING_WINDOW_RATE {
            p.push(
                "throttle.max_orders_per_sec",
                format!(
                    "{} is above {MAX_SLIDING_WINDOW_RATE}, the most the sliding-window mode supports (it \
                     keeps the last X send times: 8 bytes each)",
                    self.max_orders_per_sec
                ),
            );
        }
        let burst = match self.burst {
            Some(b) => p.non_zero("throttle.burst", b),
            None => rate,
        };
        Some(ThrottleSettings { mode: mode?, rate: rate?, burst: burst? })
    }
}

/// The most records `[journal] prepare_records` may ask for (1 TiB of 64-byte records).
pub const MAX_PREPARE_RECORDS: u64 = 1 << 34;

impl JournalConfig {
    fn validate(&self, p: &mut Problems) -> Option<JournalSettings> {
        if self.path.as_os_str().is_empty() {
            p.push("journal.path", "must not be empty");
        }
        if self.segment_bytes < 64 * 1024
            || self.segment_bytes > MAX_SEGMENT_BYTES
            || !self.segment_bytes.is_multiple_of(4096)
        {
            p.push(
                "journal.segment_bytes",
                format!(
                    "{} must be a multiple of 4096, at least 65536 and at most {MAX_SEGMENT_BYTES}",
                    self.segment_bytes
                ),
            );
        }
        let ms = |v: Option<u64>| v.and_then(NonZeroU64::new).map(SyncPolicy::IntervalMs);
        let sync = match &self.sync {
            SyncValue::Name(s) if s == "none" => Some(SyncPolicy::None),
            SyncValue::Name(s) if s == "on-logout" => Some(SyncPolicy::OnLogout),
            SyncValue::Name(s) => ms(s.parse().ok()),
            SyncValue::Ms(v) => ms(u64::try_from(*v).ok()),
        };
        if sync.is_none() {
            p.push(
                "journal.sync",
                format!("expected \"none\", \"on-logout\" or an interval in ms > 0, got {:?}", self.sync),
            );
        }
        let prepare_records = match self.prepare_records {
            None => Some(None),
            Some(n) if n > MAX_PREPARE_RECORDS => {
                p.push(
                    "journal.prepare_records",
                    format!("{n} is above {MAX_PREPARE_RECORDS} (1 TiB of records)"),
                );
                None
            }
            Some(n) => p.non_zero("journal.prepare_records", n).map(Some),
        };
        Some(JournalSettings {
            path: self.path.clone(),
            sync: sync?,
            segment_bytes: self.segment_bytes,
            prepare_records: prepare_records?,
        })
    }
}

impl EngineConfig {
    fn validate(&self, p: &mut Problems) -> (Option<Capacities>, Option<RunnerSettings>) {
        let ring_capacity: Option<NonZeroUsize> = p.non_zero("engine.ring_capacity", self.ring_capacity);
        let max_queued: Option<NonZeroUsize> = p.non_zero("engine.max_queued_orders", self.max_queued_orders);
        let max_in_flight: Option<NonZeroUsize> = p.non_zero("engine.max_in_flight", self.max_in_flight);
        if self.ring_capacity > MAX_RING_CAPACITY {
            p.push("engine.ring_capacity", format!("{} is above {MAX_RING_CAPACITY}", self.ring_capacity));
        }
        if self.max_queued_orders.saturating_add(self.max_in_flight) > MAX_LIVE_ORDERS {
            p.push("engine", format!("max_queued_orders + max_in_flight must be at most {MAX_LIVE_ORDERS}"));
        }
        let park_max_us: Option<NonZeroU64> = p.non_zero("engine.park_max_us", self.park_max_us);
        let idle = IdleStrategy::from_name(&self.idle);
        if idle.is_none() {
            p.push(
                "engine.idle",
                format!("{:?} is not an idle strategy (\"spin\", \"yield\" or \"park\")", self.idle),
            );
        }
        if let Some(core) = self.core
            && let Err(e) = core_id(core)
        {
            p.push("engine.core", e.to_string());
        }
        let capacities = (|| {
            Some(Capacities {
                ring_capacity: ring_capacity?,
                max_queued_orders: max_queued?,
                max_in_flight: max_in_flight?,
            })
        })();
        let runner = (|| Some(RunnerSettings { core: self.core, idle: idle?, park_max_us: park_max_us? }))();
        (capacities, runner)
    }
}

mod exchange;

pub use exchange::ExchangeConfig;

#[cfg(test)]
mod tests;
