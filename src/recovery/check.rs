//! Whether a configuration may carry on a journal: the same trading window, time zone and
//! throttle as the header's, and tables that hold what the journal restores.

use std::fmt;

use jiff::civil::Weekday;

use crate::config::ValidConfig;
use crate::engine::RecoveredState;
use crate::throttle::{ThrottleMode, ThrottleSettings};
use crate::window::{DaySet, TradingWindow};

/// One configuration field whose value differs from the journal's.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Difference {
    /// The field, as in the TOML (`session.start`, `throttle.max_orders_per_sec`, …).
    pub field: &'static str,
    /// Its value in the journal (for a capacity: what the journal restores).
    pub journal: String,
    /// Its value in the configuration.
    pub configured: String,
}

impl fmt::Display for Difference {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {} in the journal, {} in the configuration", self.field, self.journal, self.configured)
    }
}

/// The differences as an indented list, one per line.
pub(super) fn list(differences: &[Difference]) -> String {
    differences.iter().map(|d| format!("\n  - {d}")).collect()
}

fn days(set: DaySet) -> String {
    let all = [
        (Weekday::Monday, "Mon"),
        (Weekday::Tuesday, "Tue"),
        (Weekday::Wednesday, "Wed"),
        (Weekday::Thursday, "Thu"),
        (Weekday::Friday, "Fri"),
        (Weekday::Saturday, "Sat"),
        (Weekday::Sunday, "Sun"),
    ];
    let names: Vec<&str> = all.iter().filter(|(d, _)| set.contains(*d)).map(|(_, n)| *n).collect();
    format!("[{}]", names.join(","))
}

/// The window and throttle rules stored in the journal header against the configured ones.
pub(super) fn rules(stored: &(TradingWindow, ThrottleSettings), valid: &ValidConfig) -> Vec<Difference> {
    let (w0, t0) = stored;
    let (w1, t1) = (&valid.engine.session.window, &valid.engine.throttle);
    let mut out = Vec::new();
    let mut differ = |field, a: String, b: String| {
        if a != b {
            out.push(Difference { field, journal: a, configured: b });
        }
    };
    let zone = |w: &TradingWindow| w.timezone().iana_name().unwrap_or("(unnamed zone)").to_string();
    differ("session.timezone", zone(w0), zone(w1));
    differ("session.start", w0.start().to_string(), w1.start().to_string());
    differ("session.end", w0.end().to_string(), w1.end().to_string());
    differ("session.days", days(w0.days()), days(w1.days()));
    differ("throttle.mode", t0.mode.name().into(), t1.mode.name().into());
    differ("throttle.max_orders_per_sec", t0.rate.to_string(), t1.rate.to_string());
    if t0.mode == ThrottleMode::TokenBucket && t1.mode == ThrottleMode::TokenBucket {
        differ("throttle.burst", t0.burst.to_string(), t1.burst.to_string());
    }
    out
}

/// Whether the configured tables hold what the journal restores.
pub(super) fn capacities(state: &RecoveredState, valid: &ValidConfig) -> Vec<Difference> {
    let caps = &valid.engine.capacities;
    let mut out = Vec::new();
    if state.queued.len() > caps.max_queued_orders.get() {
        out.push(Difference {
            field: "engine.max_queued_orders",
            journal: format!("{} orders queued", state.queued.len()),
            configured: caps.max_queued_orders.to_string(),
        });
    }
    if state.open.len() > caps.max_working_orders.get() {
        out.push(Difference {
            field: "engine.max_working_orders",
            journal: format!("{} orders open at the exchange", state.open.len()),
            configured: caps.max_working_orders.to_string(),
        });
    }
    out
}
