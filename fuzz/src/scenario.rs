//! The scenario parser (`oms::replay::parse_scenario`) over arbitrary text, and what parses
//! replayed through the real engine on virtual time, checked by the rule checker.
//!
//! Input: the scenario's bytes (not UTF-8 is read lossily, so every input reaches the parser).
//! The input's length picks the throttle mode (bit 0) and whether orders are answered 3 ms
//! after their send (bit 1), so the corpus covers both modes and both response paths.

use std::fmt::Write as _;

use oms::audit::{AuditOptions, audit};
use oms::replay::{AutoResponse, ReplayError, parse_scenario, parse_start, replay};
use oms::{Config, MemorySink, ValidConfig};

/// Most scenario events replayed (longer scenarios are only parsed).
pub const MAX_REPLAYED: usize = 256;

/// The configuration scenarios are replayed with: a 2-second UTC window and small capacities,
/// so that the window's end, the throttle, a full queue and full rings all happen.
pub fn replay_config(sliding: bool) -> ValidConfig {
    let mut c = Config::default();
    c.session.timezone = "UTC".into();
    c.session.start = "10:00:00".into();
    c.session.end = "10:00:02".into();
    c.throttle.max_orders_per_sec = 5;
    c.throttle.burst = Some(2);
    if sliding {
        c.throttle.mode = "sliding-window".into();
    }
    c.engine.ring_capacity = 4;
    c.engine.max_queued_orders = 8;
    c.engine.max_in_flight = 4;
    c.validate().expect("the fuzz replay configuration is valid")
}

/// Replays `scenario` from `start` and audits the events on virtual time: an engine error or a
/// broken rule panics. Returns a one-line summary.
pub fn replay_audited(
    cfg: &ValidConfig,
    scenario: &[oms::replay::ScenarioEvent],
    start: i64,
    auto: Option<AutoResponse>,
) -> String {
    match replay(cfg, scenario, start, auto, MemorySink::default()) {
        Ok(report) => {
            let events = report.sink.events();
            let s = &cfg.engine;
            let a = audit(events, &s.session.window, &s.throttle, AuditOptions::VIRTUAL_TIME);
            assert!(a.is_clean(), "a replay breaks a rule:\n{a}");
            format!("replayed: {} records, {} sent", events.len(), report.stats.sent)
        }
        Err(e @ ReplayError::TimeOutOfRange { .. }) => format!("replay: {e}"),
        Err(e) => panic!("replay failed: {e}"),
    }
}

/// Parses (and, if it parses and is short, replays) the input; returns what happened.
pub fn run(data: &[u8]) -> String {
    let text = String::from_utf8_lossy(data);
    let lines = text.lines().count();
    let mut out = String::new();
    let scenario = match parse_scenario(&text) {
        Ok(s) => s,
        Err(e) => {
            assert!((1..=lines).contains(&e.line), "error line {} of {lines} lines: {e}", e.line);
            assert!(!e.message.is_empty());
            let _ = writeln!(out, "error: {e}");
            return out;
        }
    };
    for w in scenario.windows(2) {
        assert!(w[0].at_ns <= w[1].at_ns && w[0].line < w[1].line, "events out of order: {w:?}");
    }
    assert!(scenario.iter().all(|e| (1..=lines).contains(&e.line)));
    let _ = writeln!(out, "parsed: {} events", scenario.len());
    if scenario.len() <= MAX_REPLAYED {
        let cfg = replay_config(data.len() & 1 == 1);
        let auto = (data.len() & 2 == 2).then(|| "3".parse().expect("a valid auto-response"));
        let start = parse_start("2026-11-23T09:59:59Z").expect("a valid start");
        let _ = writeln!(out, "{}", replay_audited(&cfg, &scenario, start, auto));
    }
    out
}
