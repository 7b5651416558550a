//! `[exchange]`: which exchange (`kind`), the simulated exchange's keys, and the FIX session's.

use std::collections::BTreeMap;
use std::num::NonZeroU32;
use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use super::{MAX_SIMULATED_LATENCY_US, Problems, SessionConfig};
use crate::exchange::fix::settings::DEFAULT_HEARTBEAT_SECS;
use crate::exchange::{FixSettings, MAX_FILL_PARTS, SimulatedSettings};

/// Longest heartbeat interval accepted, seconds (an hour).
pub const MAX_HEARTBEAT_SECS: i64 = 3600;
/// Longest reconnect delay accepted, ms (an hour): the session counts in ns, which this keeps
/// far from `u64::MAX`.
pub const MAX_RECONNECT_MS: u64 = 3_600_000;
/// Longest CompID or ticker accepted.
pub const MAX_ID_LEN: usize = 64;

/// `[exchange]`: the simulated exchange (the default) or a FIX 4.4 session (`kind = "fix"`).
#[derive(Clone, Debug, Deserialize, Serialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct ExchangeConfig {
    /// `"simulated"` or `"fix"`.
    pub kind: String,
    /// Simulated: shortest response latency, µs.
    pub latency_min_us: u64,
    /// Simulated: longest response latency, µs (= min for a fixed latency).
    pub latency_max_us: u64,
    /// Simulated: fraction of orders rejected, 0.0 ..= 1.0.
    pub reject_ratio: f64,
    /// Simulated: random seed (every draw is reproducible).
    pub seed: u64,
    /// Simulated: fraction of accepted orders that fill, 0.0 ..= 1.0 (the others stay working
    /// until cancelled).
    pub fill_ratio: f64,
    /// Simulated: fills per filled order, 1 ..= 1000 (1: one full fill).
    pub fill_parts: u64,
    /// Simulated: time from an order's acknowledgment to its first fill and between fills, µs.
    pub fill_interval_us: u64,
    /// FIX: counterparty host.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub host: Option<String>,
    /// FIX: counterparty port.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub port: Option<i64>,
    /// FIX: SenderCompID (49).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sender_comp_id: Option<String>,
    /// FIX: TargetCompID (56).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub target_comp_id: Option<String>,
    /// FIX: HeartBtInt (108), seconds; default 30.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub heartbeat_secs: Option<i64>,
    /// FIX: directory of the sequence-number store; default `fix-store`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub store: Option<PathBuf>,
    /// FIX: ResetSeqNumFlag (141) on every Logon; default false.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reset_on_logon: Option<bool>,
    /// FIX: first reconnect delay, ms; default 500.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reconnect_min_ms: Option<u64>,
    /// FIX: longest reconnect delay, ms; default 30000.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reconnect_max_ms: Option<u64>,
    /// FIX: Symbol (55) per symbol id (`"1" = "RELIANCE"`); other ids are sent as their number.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub symbols: Option<BTreeMap<String, String>>,
}

impl Default for ExchangeConfig {
    fn default() -> Self {
        let sim = SimulatedSettings::default();
        ExchangeConfig {
            kind: "simulated".into(),
            latency_min_us: sim.latency_min_us,
            latency_max_us: sim.latency_max_us,
            reject_ratio: sim.reject_ratio,
            seed: sim.seed,
            fill_ratio: sim.fill_ratio,
            fill_parts: u64::from(sim.fill_parts),
            fill_interval_us: sim.fill_interval_us,
            host: None,
            port: None,
            sender_comp_id: None,
            target_comp_id: None,
            heartbeat_secs: None,
            store: None,
            reset_on_logon: None,
            reconnect_min_ms: None,
            reconnect_max_ms: None,
            symbols: None,
        }
    }
}

/// A FIX field value we write: printable ASCII, no `|` or SOH, and for CompIDs (which name the
/// store's files) no path separator.
fn check_text(p: &mut Problems, field: &str, v: &str, file_name: bool) -> bool {
    let bad = |c: char| !c.is_ascii_graphic() || c == '|' || (file_name && matches!(c, '/' | '\\' | '.'));
    if v.is_empty() || v.len() > MAX_ID_LEN || v.chars().any(bad) {
        let extra = if file_name { ", '/', '\\\\', '.'" } else { "" };
        p.push(
            field,
            format!("{v:?} must be 1 to {MAX_ID_LEN} printable ASCII characters without spaces, '|'{extra}"),
        );
        return false;
    }
    true
}

impl ExchangeConfig {
    /// Checks the section: the simulated exchange's settings (always: their keys have
    /// defaults), and the FIX session's when `kind = "fix"` (`Some(None)` otherwise).
    pub(super) fn validate(
        &self,
        session: &SessionConfig,
        p: &mut Problems,
    ) -> (Option<SimulatedSettings>, Option<Option<FixSettings>>) {
        let simulated = self.validate_simulated(p);
        let fix = match self.kind.as_str() {
            "simulated" => {
                self.no_fix_keys(p);
                Some(None)
            }
            "fix" if cfg!(feature = "fix") => self.validate_fix(session, p).map(Some),
            "fix" => {
                p.push(
                    "exchange.kind",
                    "\"fix\": this build has no FIX session (built without the `fix` feature)",
                );
                None
            }
            other => {
                p.push(
                    "exchange.kind",
                    format!("{other:?} is not an exchange kind (\"simulated\" or \"fix\")"),
                );
                None
            }
        };
        (simulated, fix)
    }

    fn validate_simulated(&self, p: &mut Problems) -> Option<SimulatedSettings> {
        let mut ok = true;
        if self.latency_min_us > self.latency_max_us {
            ok = false;
            p.push(
                "exchange",
                format!(
                    "latency_min_us ({}) is above latency_max_us ({})",
                    self.latency_min_us, self.latency_max_us
                ),
            );
        }
        if self.latency_max_us > MAX_SIMULATED_LATENCY_US {
            ok = false;
            p.push(
                "exchange.latency_max_us",
                format!("{} is above {MAX_SIMULATED_LATENCY_US} (an hour)", self.latency_max_us),
            );
        }
        for (field, ratio) in
            [("exchange.reject_ratio", self.reject_ratio), ("exchange.fill_ratio", self.fill_ratio)]
        {
            if !(0.0..=1.0).contains(&ratio) {
                ok = false;
                p.push(field, format!("{ratio} is not within 0.0 ..= 1.0"));
            }
        }
        let fill_parts = u32::try_from(self.fill_parts).ok().filter(|n| (1..=MAX_FILL_PARTS).contains(n));
        if fill_parts.is_none() {
            ok = false;
            p.push(
                "exchange.fill_parts",
                format!("{} is not within 1 ..= {MAX_FILL_PARTS}", self.fill_parts),
            );
        }
        if self.fill_interval_us > MAX_SIMULATED_LATENCY_US {
            ok = false;
            p.push(
                "exchange.fill_interval_us",
                format!("{} is above {MAX_SIMULATED_LATENCY_US} (an hour)", self.fill_interval_us),
            );
        }
        ok.then_some(SimulatedSettings {
            latency_min_us: self.latency_min_us,
            latency_max_us: self.latency_max_us,
            reject_ratio: self.reject_ratio,
            seed: self.seed,
            fill_ratio: self.fill_ratio,
            fill_parts: fill_parts?,
            fill_interval_us: self.fill_interval_us,
        })
    }

    /// FIX keys with the simulated exchange are a mistake worth saying.
    fn no_fix_keys(&self, p: &mut Problems) {
        let set = [
            ("exchange.host", self.host.is_some()),
            ("exchange.port", self.port.is_some()),
            ("exchange.sender_comp_id", self.sender_comp_id.is_some()),
            ("exchange.target_comp_id", self.target_comp_id.is_some()),
            ("exchange.heartbeat_secs", self.heartbeat_secs.is_some()),
            ("exchange.store", self.store.is_some()),
            ("exchange.reset_on_logon", self.reset_on_logon.is_some()),
            ("exchange.reconnect_min_ms", self.reconnect_min_ms.is_some()),
            ("exchange.reconnect_max_ms", self.reconnect_max_ms.is_some()),
            ("exchange.symbols", self.symbols.is_some()),
        ];
        for (field, _) in set.into_iter().filter(|(_, is_set)| *is_set) {
            p.push(field, "only used with kind = \"fix\"");
        }
    }

    fn validate_fix(&self, session: &SessionConfig, p: &mut Problems) -> Option<FixSettings> {
        let mut ok = true;
        let host = match self.host.as_deref() {
            Some(h) if !h.trim().is_empty() => h.to_string(),
            _ => {
                ok = false;
                p.push("exchange.host", "required with kind = \"fix\"");
                String::new()
            }
        };
        let port = match self.port {
            Some(v) => match u16::try_from(v) {
                Ok(port) if port > 0 => port,
                _ => {
                    ok = false;
                    p.push("exchange.port", format!("{v} is not a port (1 ..= 65535)"));
                    0
                }
            },
            None => {
                ok = false;
                p.push("exchange.port", "required with kind = \"fix\"");
                0
            }
        };
        let mut comp_id = |field: &str, v: &Option<String>| match v {
            Some(v) => {
                ok &= check_text(p, field, v, true);
                v.clone()
            }
            None => {
                ok = false;
                p.push(field, "required with kind = \"fix\"");
                String::new()
            }
        };
        let sender = comp_id("exchange.sender_comp_id", &self.sender_comp_id);
        let target = comp_id("exchange.target_comp_id", &self.target_comp_id);
        let heartbeat_secs = match self.heartbeat_secs {
            None => Some(DEFAULT_HEARTBEAT_SECS),
            Some(v) if (1..=MAX_HEARTBEAT_SECS).contains(&v) => {
                u32::try_from(v).ok().and_then(NonZeroU32::new)
            }
            Some(v) => {
                p.push("exchange.heartbeat_secs", format!("{v} is not within 1 ..= {MAX_HEARTBEAT_SECS}"));
                None
            }
        };
        let store = self.store.clone().unwrap_or_else(|| PathBuf::from("fix-store"));
        if store.as_os_str().is_empty() {
            ok = false;
            p.push("exchange.store", "must not be empty");
        }
        let defaults = FixSettings::new("", 0, "", "");
        let reconnect_min_ms = self.reconnect_min_ms.unwrap_or(defaults.reconnect_min_ms);
        let reconnect_max_ms = self.reconnect_max_ms.unwrap_or(defaults.reconnect_max_ms);
        if reconnect_max_ms > MAX_RECONNECT_MS {
            ok = false;
            p.push(
                "exchange.reconnect_max_ms",
                format!("{reconnect_max_ms} is above {MAX_RECONNECT_MS} (an hour)"),
            );
        }
        if reconnect_min_ms == 0 || reconnect_min_ms > reconnect_max_ms {
            ok = false;
            p.push(
                "exchange",
                format!("reconnect_min_ms ({reconnect_min_ms}) must be > 0 and at most reconnect_max_ms ({reconnect_max_ms})"),
            );
        }
        let mut symbols = Vec::new();
        for (id, ticker) in self.symbols.iter().flatten() {
            match id.trim().parse::<i32>() {
                Ok(n) => {
                    ok &= check_text(p, "exchange.symbols", ticker, false);
                    symbols.push((n, ticker.clone()));
                }
                Err(_) => {
                    ok = false;
                    p.push("exchange.symbols", format!("{id:?} is not a symbol id (a 32-bit integer)"));
                }
            }
        }
        symbols.sort_unstable();
        if symbols.windows(2).any(|w| w[0].0 == w[1].0) {
            ok = false;
            p.push("exchange.symbols", "a symbol id is listed twice (e.g. \"1\" and \"01\")");
        }
        // The credentials travel as FIX fields: a SOH inside would break the message.
        if session.username.contains('\x01') {
            ok = false;
            p.push("session.username", "must not contain the SOH character (\\x01) with kind = \"fix\"");
        }
        if session.password.as_deref().is_some_and(|pw| pw.contains('\x01')) {
            ok = false;
            p.push("session.password", "must not contain the SOH character (\\x01) with kind = \"fix\"");
        }
        let heartbeat_secs = heartbeat_secs?;
        ok.then_some(FixSettings {
            host,
            port,
            sender_comp_id: sender,
            target_comp_id: target,
            heartbeat_secs,
            store,
            reset_on_logon: self.reset_on_logon.unwrap_or(false),
            symbols,
            reconnect_min_ms,
            reconnect_max_ms,
        })
    }
}
