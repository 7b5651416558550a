//! The checked `[exchange]` section for `kind = "fix"` (produced by
//! [`Config::validate`](crate::config::Config::validate)).

use std::num::NonZeroU32;
use std::path::PathBuf;

/// HeartBtInt (108) when not configured.
pub const DEFAULT_HEARTBEAT_SECS: NonZeroU32 = NonZeroU32::new(30).unwrap();

/// How to reach and run the FIX session. Username and password come from `[session]`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FixSettings {
    /// Counterparty host (an address, or a name resolved once at start-up).
    pub host: String,
    /// Counterparty port.
    pub port: u16,
    /// SenderCompID (49) of our messages.
    pub sender_comp_id: String,
    /// TargetCompID (56) of our messages.
    pub target_comp_id: String,
    /// HeartBtInt (108), seconds.
    pub heartbeat_secs: NonZeroU32,
    /// Directory of the sequence-number store.
    pub store: PathBuf,
    /// Reset both sequence numbers to 1 at every Logon (ResetSeqNumFlag 141 = Y).
    pub reset_on_logon: bool,
    /// Symbol (55) per symbol id, sorted by id; ids not listed are sent as their number.
    pub symbols: Vec<(i32, String)>,
    /// First reconnect delay, ms (doubling up to `reconnect_max_ms`).
    pub reconnect_min_ms: u64,
    /// Longest reconnect delay, ms.
    pub reconnect_max_ms: u64,
}

impl FixSettings {
    /// Settings with the defaults for everything but the address and the CompIDs.
    pub fn new(
        host: impl Into<String>,
        port: u16,
        sender: impl Into<String>,
        target: impl Into<String>,
    ) -> Self {
        FixSettings {
            host: host.into(),
            port,
            sender_comp_id: sender.into(),
            target_comp_id: target.into(),
            heartbeat_secs: DEFAULT_HEARTBEAT_SECS,
            store: PathBuf::from("fix-store"),
            reset_on_logon: false,
            symbols: Vec::new(),
            reconnect_min_ms: 500,
            reconnect_max_ms: 30_000,
        }
    }
}
