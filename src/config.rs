//! Configuration: TOML via serde, a default for every field, and [`Config::validate`] which
//! reports every problem at once and turns the raw text fields into checked values
//! ([`ValidConfig`]).
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
//! [engine]
//! core = 1                       # optional
//! ring_capacity = 65536
//! max_queued_orders = 1048576
//! idle = "spin"                  # "spin", "yield" or "park"
//! ```
//!
//! The password never leaves [`Secret`]: `Debug` redacts it and [`Config::public_toml`] (what the
//! journal header stores) leaves it out.

use std::fmt;
use std::num::{NonZeroU32, NonZeroU64, NonZeroUsize};
use std::path::{Path, PathBuf};

use jiff::civil::{Time, Weekday};
use jiff::tz::TimeZone;
use serde::{Deserialize, Serialize};

use crate::order::{Logon, Logout, Secret};

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
    /// The simulated exchange (used by the demo and tests).
    pub exchange: SimulatedExchangeConfig,
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
    /// Window start, time of day (`HH:MM[:SS]`).
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

/// How the throttle counts.
#[derive(Clone, Copy, Debug, Default, Deserialize, Serialize, PartialEq, Eq)]
#[serde(rename_all = "kebab-case")]
pub enum ThrottleMode {
    /// Token bucket: rate `max_orders_per_sec`, capacity `burst`. Allows up to
    /// `burst + rate·T` sends in any span of length T.
    #[default]
    TokenBucket,
    /// Strict: no window `[t, t+1s)` ever holds more than `max_orders_per_sec` sends.
    SlidingWindow,
}

/// `[throttle]`.
#[derive(Clone, Debug, Deserialize, Serialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct ThrottleConfig {
    /// X: orders per second the exchange accepts.
    pub max_orders_per_sec: u32,
    /// Counting mode.
    pub mode: ThrottleMode,
    /// Token-bucket capacity; default = `max_orders_per_sec`. Ignored in sliding-window mode.
    pub burst: Option<u32>,
}

impl Default for ThrottleConfig {
    fn default() -> Self {
        ThrottleConfig { max_orders_per_sec: 100, mode: ThrottleMode::TokenBucket, burst: None }
    }
}

/// `[journal] sync`: when mapped pages are flushed to disk (always off the engine thread).
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

impl Serialize for SyncPolicy {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            SyncPolicy::None => s.serialize_str("none"),
            SyncPolicy::OnLogout => s.serialize_str("on-logout"),
            SyncPolicy::IntervalMs(ms) => s.serialize_u64(ms.get()),
        }
    }
}

impl<'de> Deserialize<'de> for SyncPolicy {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Raw {
            Name(String),
            Ms(u64),
        }
        match Raw::deserialize(d)? {
            Raw::Name(s) if s == "none" => Ok(SyncPolicy::None),
            Raw::Name(s) if s == "on-logout" => Ok(SyncPolicy::OnLogout),
            Raw::Name(s) => match s.parse::<u64>().ok().and_then(NonZeroU64::new) {
                Some(ms) => Ok(SyncPolicy::IntervalMs(ms)),
                None => Err(serde::de::Error::custom(format!(
                    "journal.sync: expected \"none\", \"on-logout\" or an interval in ms > 0, got {s:?}"
                ))),
            },
            Raw::Ms(ms) => NonZeroU64::new(ms)
                .map(SyncPolicy::IntervalMs)
                .ok_or_else(|| serde::de::Error::custom("journal.sync: an interval must be > 0 ms")),
        }
    }
}

/// `[journal]`.
#[derive(Clone, Debug, Deserialize, Serialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct JournalConfig {
    /// Base path; further segments are `PATH.000001`, `PATH.000002`, …
    pub path: PathBuf,
    /// Durability policy.
    pub sync: SyncPolicy,
    /// Size of one segment file in bytes (header included); a multiple of 4096, at least 64 KiB.
    pub segment_bytes: u64,
}

impl Default for JournalConfig {
    fn default() -> Self {
        JournalConfig {
            path: PathBuf::from("oms.journal"),
            sync: SyncPolicy::OnLogout,
            segment_bytes: 64 << 20,
        }
    }
}

/// What the engine thread does when a loop turn found no work.
#[derive(Clone, Copy, Debug, Default, Deserialize, Serialize, PartialEq, Eq)]
#[serde(rename_all = "kebab-case")]
pub enum IdleStrategy {
    /// Busy-spin (lowest latency; burns the core).
    #[default]
    Spin,
    /// `thread::yield_now` between turns.
    Yield,
    /// Sleep until the next timer, at most `park_max_us` (for shared machines).
    Park,
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
    /// Idle strategy.
    pub idle: IdleStrategy,
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
            idle: IdleStrategy::Spin,
            park_max_us: 1000,
        }
    }
}

/// `[exchange]`: the simulated exchange.
#[derive(Clone, Debug, Deserialize, Serialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct SimulatedExchangeConfig {
    /// Shortest response latency, µs.
    pub latency_min_us: u64,
    /// Longest response latency, µs (= min for a fixed latency).
    pub latency_max_us: u64,
    /// Fraction of orders rejected, 0.0 ..= 1.0.
    pub reject_ratio: f64,
    /// Random seed (latency and reject draws are reproducible).
    pub seed: u64,
}

impl Default for SimulatedExchangeConfig {
    fn default() -> Self {
        SimulatedExchangeConfig { latency_min_us: 200, latency_max_us: 800, reject_ratio: 0.1, seed: 1 }
    }
}

/// Every problem found in a configuration (and, when loaded from a file, which file).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct ConfigError {
    /// The file, when the configuration came from one.
    pub file: Option<PathBuf>,
    /// One line per problem, each naming the field (and line, for parse errors).
    pub problems: Vec<String>,
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.file {
            Some(p) => write!(f, "invalid configuration in {}:", p.display())?,
            None => write!(f, "invalid configuration:")?,
        }
        for p in &self.problems {
            write!(f, "\n  - {p}")?;
        }
        Ok(())
    }
}

impl ConfigError {
    fn one(file: Option<&Path>, problem: String) -> Self {
        ConfigError { file: file.map(Path::to_path_buf), problems: vec![problem] }
    }
}

/// Days of the week as a bit set (bit 0 = Monday).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DaySet(u8);

impl DaySet {
    /// Every day.
    pub const ALL: DaySet = DaySet(0x7f);

    /// A set of the given days.
    pub fn of(days: &[Weekday]) -> DaySet {
        let mut set = DaySet(0);
        for d in days {
            set.insert(*d);
        }
        set
    }

    /// Whether `day` is in the set.
    pub fn contains(self, day: Weekday) -> bool {
        self.0 & (1 << (day.to_monday_zero_offset() as u8)) != 0
    }

    fn insert(&mut self, day: Weekday) -> bool {
        let bit = 1 << (day.to_monday_zero_offset() as u8);
        let fresh = self.0 & bit == 0;
        self.0 |= bit;
        fresh
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

/// A checked session: the window and the credentials.
#[derive(Clone, Debug)]
pub struct ValidSession {
    /// Time zone of the window.
    pub timezone: TimeZone,
    /// Window start (time of day).
    pub start: Time,
    /// Window end (time of day); `end < start` crosses midnight.
    pub end: Time,
    /// Days on which a window starts.
    pub days: DaySet,
    /// Logon message (holds the password).
    pub logon: Logon,
    /// Logout message.
    pub logout: Logout,
}

/// A checked throttle.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ValidThrottle {
    /// Mode.
    pub mode: ThrottleMode,
    /// X orders per second.
    pub rate: NonZeroU32,
    /// Bucket capacity (token-bucket mode).
    pub burst: NonZeroU32,
}

/// A checked engine section.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ValidEngine {
    /// Core to pin to.
    pub core: Option<usize>,
    /// Ring capacity.
    pub ring_capacity: NonZeroUsize,
    /// Queue capacity.
    pub max_queued_orders: NonZeroUsize,
    /// In-flight capacity.
    pub max_in_flight: NonZeroUsize,
    /// Idle strategy.
    pub idle: IdleStrategy,
    /// Longest park, µs.
    pub park_max_us: NonZeroU64,
}

/// A configuration that passed [`Config::validate`]: what the engine is built from.
#[derive(Clone, Debug)]
pub struct ValidConfig {
    /// Session and window.
    pub session: ValidSession,
    /// Throttle.
    pub throttle: ValidThrottle,
    /// Journal (already checked).
    pub journal: JournalConfig,
    /// Engine.
    pub engine: ValidEngine,
    /// Simulated exchange (already checked).
    pub exchange: SimulatedExchangeConfig,
}

/// Largest `max_orders_per_sec` in sliding-window mode (its history ring holds X send times).
pub const MAX_SLIDING_WINDOW_RATE: u32 = 10_000_000;

/// Largest ring capacity (each producer ring and the response ring are allocated at start-up).
pub const MAX_RING_CAPACITY: usize = 1 << 24;

/// Largest `max_queued_orders + max_in_flight`: 2^26 live orders, about 4 GiB of tables (56 bytes
/// each), allocated at start-up. Far above what one exchange session holds, and it keeps a typo in
/// the config an error message rather than an out-of-memory abort.
pub const MAX_LIVE_ORDERS: usize = 1 << 26;

impl Config {
    /// Parses TOML text. Parse errors carry line and column.
    pub fn from_toml_str(text: &str) -> Result<Config, ConfigError> {
        toml::from_str(text).map_err(|e| ConfigError::one(None, e.to_string()))
    }

    /// Reads and parses a TOML file; errors name the file (and line, for parse errors).
    pub fn load(path: impl AsRef<Path>) -> Result<Config, ConfigError> {
        let path = path.as_ref();
        let text = std::fs::read_to_string(path)
            .map_err(|e| ConfigError::one(Some(path), format!("cannot read: {e}")))?;
        toml::from_str(&text).map_err(|e| ConfigError::one(Some(path), e.to_string()))
    }

    /// Loads and validates a file in one step.
    pub fn load_valid(path: impl AsRef<Path>) -> Result<ValidConfig, ConfigError> {
        let path = path.as_ref();
        Config::load(path)?.validate().map_err(|mut e| {
            e.file = Some(path.to_path_buf());
            e
        })
    }

    /// The configuration as TOML without any password (for the journal header).
    pub fn public_toml(&self) -> String {
        // `password` is `skip_serializing`; serialization of plain data cannot fail.
        toml::to_string(self).unwrap_or_default()
    }

    /// Checks everything and reports every problem at once.
    pub fn validate(&self) -> Result<ValidConfig, ConfigError> {
        let mut problems = Vec::new();
        let s = &self.session;

        if s.username.trim().is_empty() {
            problems.push("session.username: must not be empty".to_string());
        }
        let password = match (&s.password, &s.password_env) {
            (Some(_), Some(_)) => {
                problems.push("session: set either password or password_env, not both".into());
                Secret::default()
            }
            (Some(p), None) => Secret::new(p.clone()),
            (None, Some(var)) => match std::env::var(var) {
                Ok(p) => Secret::new(p),
                Err(_) => {
                    problems.push(format!(
                        "session.password_env: environment variable {var:?} is not set (or not UTF-8)"
                    ));
                    Secret::default()
                }
            },
            (None, None) => Secret::default(),
        };
        let timezone = match TimeZone::get(&s.timezone) {
            Ok(tz) => Some(tz),
            Err(_) => {
                problems.push(format!("session.timezone: unknown IANA time zone {:?}", s.timezone));
                None
            }
        };
        let mut parse_time = |field: &str, v: &str| match v.parse::<Time>() {
            Ok(t) => Some(t),
            Err(_) => {
                problems.push(format!("session.{field}: {v:?} is not a time of day (HH:MM or HH:MM:SS)"));
                None
            }
        };
        let start = parse_time("start", &s.start);
        let end = parse_time("end", &s.end);
        if let (Some(a), Some(b)) = (start, end)
            && a == b
        {
            problems.push(format!("session: start and end are both {a}: the window would be empty"));
        }
        let days = match &s.days {
            None => DaySet::ALL,
            Some(list) => {
                let mut set = DaySet(0);
                for d in list {
                    match parse_weekday(d) {
                        Some(w) => {
                            if !set.insert(w) {
                                problems.push(format!("session.days: {d:?} is listed twice"));
                            }
                        }
                        None => problems.push(format!("session.days: {d:?} is not a day (Mon..Sun)")),
                    }
                }
                if list.is_empty() {
                    problems.push("session.days: empty list: the session would never open".into());
                }
                set
            }
        };

        let t = &self.throttle;
        let rate = NonZeroU32::new(t.max_orders_per_sec);
        if rate.is_none() {
            problems.push("throttle.max_orders_per_sec: must be > 0".into());
        }
        if t.mode == ThrottleMode::SlidingWindow && t.max_orders_per_sec > MAX_SLIDING_WINDOW_RATE {
            problems.push(format!(
                "throttle.max_orders_per_sec: {} is above {MAX_SLIDING_WINDOW_RATE}, the most the sliding-window \
                 mode supports (it keeps the last X send times: 8 bytes each)",
                t.max_orders_per_sec
            ));
        }
        let burst = match t.burst {
            Some(b) => {
                let nz = NonZeroU32::new(b);
                if nz.is_none() {
                    problems.push("throttle.burst: must be > 0".into());
                }
                nz
            }
            None => rate,
        };

        let j = &self.journal;
        if j.path.as_os_str().is_empty() {
            problems.push("journal.path: must not be empty".into());
        }
        if j.segment_bytes < 64 * 1024 || !j.segment_bytes.is_multiple_of(4096) {
            problems.push(format!(
                "journal.segment_bytes: {} must be a multiple of 4096 and at least 65536",
                j.segment_bytes
            ));
        }

        let e = &self.engine;
        let nz = |problems: &mut Vec<String>, name: &str, v: usize| {
            let r = NonZeroUsize::new(v);
            if r.is_none() {
                problems.push(format!("engine.{name}: must be > 0"));
            }
            r
        };
        let ring_capacity = nz(&mut problems, "ring_capacity", e.ring_capacity);
        let max_queued = nz(&mut problems, "max_queued_orders", e.max_queued_orders);
        let max_in_flight = nz(&mut problems, "max_in_flight", e.max_in_flight);
        if e.ring_capacity > MAX_RING_CAPACITY {
            problems.push(format!("engine.ring_capacity: {} is above {MAX_RING_CAPACITY}", e.ring_capacity));
        }
        if e.max_queued_orders.saturating_add(e.max_in_flight) > MAX_LIVE_ORDERS {
            problems
                .push(format!("engine: max_queued_orders + max_in_flight must be at most {MAX_LIVE_ORDERS}"));
        }
        let park_max_us = NonZeroU64::new(e.park_max_us);
        if park_max_us.is_none() {
            problems.push("engine.park_max_us: must be > 0".into());
        }
        if let Some(core) = e.core {
            let available = core_affinity::get_core_ids().unwrap_or_default();
            if !available.iter().any(|c| c.id == core) {
                let ids: Vec<usize> = available.iter().map(|c| c.id).collect();
                problems.push(format!(
                    "engine.core: core {core} is not available to this process (cores: {ids:?})"
                ));
            }
        }

        let x = &self.exchange;
        if x.latency_min_us > x.latency_max_us {
            problems.push(format!(
                "exchange: latency_min_us ({}) is above latency_max_us ({})",
                x.latency_min_us, x.latency_max_us
            ));
        }
        if !(0.0..=1.0).contains(&x.reject_ratio) {
            problems.push(format!("exchange.reject_ratio: {} is not within 0.0 ..= 1.0", x.reject_ratio));
        }

        match (timezone, start, end, rate, burst, ring_capacity, max_queued, max_in_flight, park_max_us) {
            (
                Some(timezone),
                Some(start),
                Some(end),
                Some(rate),
                Some(burst),
                Some(rc),
                Some(mq),
                Some(mf),
                Some(pk),
            ) if problems.is_empty() => Ok(ValidConfig {
                session: ValidSession {
                    timezone,
                    start,
                    end,
                    days,
                    logon: Logon { username: s.username.clone(), password },
                    logout: Logout { username: s.username.clone() },
                },
                throttle: ValidThrottle { mode: t.mode, rate, burst },
                journal: j.clone(),
                engine: ValidEngine {
                    core: e.core,
                    ring_capacity: rc,
                    max_queued_orders: mq,
                    max_in_flight: mf,
                    idle: e.idle,
                    park_max_us: pk,
                },
                exchange: x.clone(),
            }),
            _ => Err(ConfigError { file: None, problems }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_valid() {
        let v = Config::default().validate().expect("default config is valid");
        assert_eq!(v.throttle.rate.get(), 100);
        assert_eq!(v.throttle.burst.get(), 100);
        assert_eq!(v.engine.ring_capacity.get(), 65536);
    }

    #[test]
    fn the_issue_example_parses() {
        let text = r#"
[session]
username = "trader"
password = "secret"
timezone = "Asia/Kolkata"
start = "10:00:00"
end = "13:00:00"
days = ["Mon","Tue","Wed","Thu","Fri"]
[throttle]
max_orders_per_sec = 100
mode = "token-bucket"
burst = 100
[journal]
path = "oms.journal"
[engine]
core = 0
ring_capacity = 65536
max_queued_orders = 1048576
idle = "spin"
"#;
        let c = Config::from_toml_str(text).unwrap();
        let v = c.validate().unwrap();
        assert!(v.session.days.contains(Weekday::Monday));
        assert!(!v.session.days.contains(Weekday::Sunday));
        assert_eq!(v.session.logon.password.expose(), "secret");
    }

    #[test]
    fn every_problem_is_reported_at_once() {
        let text = r#"
[session]
username = ""
timezone = "Mars/Olympus"
start = "25:00"
end = "13:00"
days = ["Mon", "Funday", "Mon"]
[throttle]
max_orders_per_sec = 0
burst = 0
[engine]
ring_capacity = 0
max_queued_orders = 0
core = 4096
"#;
        let err = Config::from_toml_str(text).unwrap().validate().unwrap_err();
        let all = err.to_string();
        for needle in [
            "session.username",
            "session.timezone",
            "session.start",
            "Funday",
            "listed twice",
            "throttle.max_orders_per_sec",
            "throttle.burst",
            "engine.ring_capacity",
            "engine.max_queued_orders",
            "engine.core",
        ] {
            assert!(all.contains(needle), "missing {needle:?} in:\n{all}");
        }
        assert_eq!(err.problems.len(), 10, "{all}");
    }

    #[test]
    fn capacities_that_would_exhaust_memory_are_errors() {
        let mut c = Config::default();
        c.engine.ring_capacity = MAX_RING_CAPACITY + 1;
        c.engine.max_queued_orders = MAX_LIVE_ORDERS;
        let msg = c.validate().unwrap_err().to_string();
        assert!(
            msg.contains("engine.ring_capacity") && msg.contains("max_in_flight must be at most"),
            "{msg}"
        );
        c.engine.ring_capacity = MAX_RING_CAPACITY;
        c.engine.max_queued_orders = MAX_LIVE_ORDERS - c.engine.max_in_flight;
        assert!(c.validate().is_ok());
    }

    #[test]
    fn parse_errors_name_file_and_line() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("bad.toml");
        std::fs::write(&p, "[throttle]\nmax_orders_per_sec = \"many\"\n").unwrap();
        let msg = Config::load(&p).unwrap_err().to_string();
        assert!(msg.contains("bad.toml"), "{msg}");
        assert!(msg.contains("line 2"), "{msg}");
        std::fs::write(&p, "[sesion]\n").unwrap();
        assert!(Config::load(&p).unwrap_err().to_string().contains("sesion"));
    }

    #[test]
    fn password_is_never_serialized_or_debug_printed() {
        let mut c = Config::default();
        c.session.password = Some("hunter2".into());
        assert!(!c.public_toml().contains("hunter2"));
        assert!(!format!("{c:?}").contains("hunter2"));
        let v = c.validate().unwrap();
        assert!(!format!("{v:?}").contains("hunter2"));
    }

    #[test]
    fn password_env() {
        let mut c = Config::default();
        c.session.password_env = Some("OMS_TEST_PASSWORD_SURELY_UNSET".into());
        assert!(c.validate().unwrap_err().to_string().contains("OMS_TEST_PASSWORD_SURELY_UNSET"));
        c.session.password = Some("x".into());
        assert!(c.validate().unwrap_err().to_string().contains("not both"));
    }

    #[test]
    fn sync_policy_forms() {
        let c = Config::from_toml_str("[journal]\nsync = \"none\"").unwrap();
        assert_eq!(c.journal.sync, SyncPolicy::None);
        let c = Config::from_toml_str("[journal]\nsync = 250").unwrap();
        assert_eq!(c.journal.sync, SyncPolicy::IntervalMs(NonZeroU64::new(250).unwrap()));
        assert!(Config::from_toml_str("[journal]\nsync = 0").is_err());
        assert!(Config::from_toml_str("[journal]\nsync = \"sometimes\"").is_err());
        let back = Config::from_toml_str(&Config::default().public_toml()).unwrap();
        assert_eq!(back, Config::default());
    }
}
