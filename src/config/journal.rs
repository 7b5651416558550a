//! `[journal]`: where the journal goes and how it is kept, checked into [`JournalSettings`].

use std::fmt;
use std::num::NonZeroU64;
use std::path::PathBuf;

use serde::de::Visitor;
use serde::{Deserialize, Deserializer, Serialize};

use super::Problems;
use crate::journal::{JournalSettings, SyncPolicy};

/// `[journal] sync` as written: a name or a number of milliseconds.
#[derive(Clone, Debug, Serialize, PartialEq, Eq)]
#[serde(untagged)]
pub enum SyncValue {
    /// `"none"`, `"on-logout"`, or milliseconds as text.
    Name(String),
    /// Milliseconds.
    Ms(i64),
}

impl fmt::Display for SyncValue {
    /// As TOML writes it: `"on-logout"`, `200`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SyncValue::Name(s) => write!(f, "{}", toml::Value::String(s.clone())),
            SyncValue::Ms(ms) => write!(f, "{ms}"),
        }
    }
}

impl<'de> Deserialize<'de> for SyncValue {
    /// A string or an integer; anything else is an error that says what is expected.
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<SyncValue, D::Error> {
        struct Expect;
        impl Visitor<'_> for Expect {
            type Value = SyncValue;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(SYNC_EXPECTED)
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<SyncValue, E> {
                Ok(SyncValue::Name(v.to_string()))
            }
            fn visit_i64<E: serde::de::Error>(self, v: i64) -> Result<SyncValue, E> {
                Ok(SyncValue::Ms(v))
            }
            fn visit_u64<E: serde::de::Error>(self, v: u64) -> Result<SyncValue, E> {
                Ok(SyncValue::Ms(i64::try_from(v).unwrap_or(i64::MAX)))
            }
        }
        d.deserialize_any(Expect)
    }
}

/// What `[journal] sync` takes, in words.
const SYNC_EXPECTED: &str = "\"none\", \"on-logout\" or an interval in ms > 0";

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

/// Largest journal segment, bytes (1 TiB): each segment is mapped and pre-faulted whole, with
/// two more prepared ahead; far beyond any useful size, and it keeps a typo an error message
/// rather than a failed `fallocate` or `mmap` at start-up.
pub const MAX_SEGMENT_BYTES: u64 = 1 << 40;

/// The most records `[journal] prepare_records` may ask for (1 TiB of 64-byte records).
pub const MAX_PREPARE_RECORDS: u64 = 1 << 34;

impl JournalConfig {
    pub(super) fn validate(&self, p: &mut Problems) -> Option<JournalSettings> {
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
            p.push("journal.sync", format!("{} is not {SYNC_EXPECTED}", self.sync));
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
