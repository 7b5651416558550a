//! The configuration parser and validator (`Config::from_toml_str`, `validate`, `rules`) over
//! arbitrary text, and what a valid configuration feeds: the trading window's instants, the
//! throttle, the replay start, and (when its capacities are small) a replay audited against it.

use std::fmt::Write as _;
use std::path::Path;

use oms::Config;
use oms::replay::{default_start_wall_ns, parse_scenario};
use oms::throttle::{Throttle, ThrottleMode};

use super::scenario::replay_audited;

/// A short order flow replayed under every small valid configuration.
const FLOW: &str = "\
@0 new id=1 sym=1 side=B px=10 qty=1
@0 new id=2 sym=1 side=S px=10 qty=1
@0 new id=3 sym=1 side=B px=10 qty=1
@1 modify id=3 px=11 qty=2
@2 cancel id=2
@5 response id=1 accept
@1000 new id=4 sym=2 side=S px=9.5 qty=3
@1000.5 new id=5 sym=2 side=S px=9.5 qty=3
@3600000 new id=6 sym=2 side=S px=9.5 qty=3
";

/// Instants the window and throttle are asked about: the ends of the ranges and a few days.
const TIMES: [i64; 7] =
    [i64::MIN, -1, 0, 1_795_000_000_000_000_000, 1_795_003_600_000_000_001, i64::MAX - 1, i64::MAX];

/// Parses and validates the input; returns what happened.
pub fn run(data: &[u8]) -> String {
    let text = String::from_utf8_lossy(data);
    let mut out = String::new();
    let config = match Config::from_toml_str(&text) {
        Ok(c) => c,
        Err(e) => {
            let msg = e.in_file(Path::new("fz.toml")).to_string();
            assert!(msg.starts_with("fz.toml: "), "{msg}");
            let _ = writeln!(out, "parse: {msg}");
            return out;
        }
    };
    // What the journal header stores must read back as the same configuration.
    let public = config.public_toml();
    let again = Config::from_toml_str(&public)
        .unwrap_or_else(|e| panic!("public_toml does not parse: {e}\n{public}"));
    assert_eq!(again.public_toml(), public, "public_toml does not round-trip");

    let rules = config.rules();
    let valid = match config.validate() {
        Ok(v) => v,
        Err(e) => {
            assert!(!e.problems().is_empty(), "an invalid configuration without a problem: {e}");
            let msg = e.in_file(Path::new("fz.toml")).to_string();
            assert!(msg.starts_with("fz.toml: "), "{msg}");
            let _ = writeln!(out, "invalid: {msg}");
            if let Ok((window, throttle)) = rules {
                exercise_rules(&window, &throttle);
            }
            return out;
        }
    };
    let (window, throttle) = rules.unwrap_or_else(|e| panic!("valid, yet its rules are not: {e}"));
    assert_eq!(throttle, valid.engine.throttle);
    let w = &valid.engine.session.window;
    assert_eq!((window.start(), window.end(), window.days()), (w.start(), w.end(), w.days()));
    assert_eq!(window.timezone().iana_name(), w.timezone().iana_name());
    exercise_rules(&window, &throttle);
    let _ = writeln!(out, "valid");

    let caps = &valid.engine.capacities;
    let small = caps.ring_capacity.get() <= 1024
        && caps.max_queued_orders.get() + caps.max_in_flight.get() <= 4096
        && (throttle.mode == ThrottleMode::TokenBucket || throttle.rate.get() <= 100_000);
    for now in TIMES {
        let Some(start) = default_start_wall_ns(&valid, now) else { continue };
        if small && now == TIMES[3] {
            let flow = parse_scenario(FLOW).expect("the fixed flow parses");
            let _ = writeln!(out, "{}", replay_audited(&valid, &flow, start, None));
        }
    }
    out
}

/// Asks the window and the throttle about instants across the whole range.
fn exercise_rules(window: &oms::TradingWindow, throttle: &oms::throttle::ThrottleSettings) {
    for t in TIMES {
        if let Some(span) = window.current_or_next(t) {
            assert!(span.start_ns < span.end_ns, "an empty window {span:?}");
            assert!(t < span.end_ns, "a window already over at {t}: {span:?}");
            assert_eq!(window.contains(t), span.contains(t));
        }
    }
    if throttle.mode == ThrottleMode::SlidingWindow && throttle.rate.get() > 100_000 {
        return; // its history ring holds `rate` entries
    }
    let mut th = Throttle::new(throttle);
    for now in [0, 1, 999_999_999, 1_000_000_000, u64::MAX / 2, u64::MAX - 1, u64::MAX] {
        th.logon(now);
        let next = th.next_available_ns(now);
        assert!(next >= now);
        if th.try_acquire(now) {
            let _ = th.next_available_ns(now);
        }
    }
}
