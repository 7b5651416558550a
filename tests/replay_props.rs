//! Property tests of `oms replay`: random scenarios (as text, through the parser) under random
//! throttle settings, with a short random window covering part of the run (so that many runs
//! reach its end with orders queued). Each journal goes through [`oms::audit`] on virtual time:
//! every rule (window, sessions with exact timers, throttle bound, FIFO, modify, fates, session
//! end, responses with exact latencies, gap-free sequence numbers and times that never go back);
//! the number of New orders it saw is the number of `new` lines; the same scenario replayed twice
//! gives identical bytes. Over the whole run, a share of the cases must log out with orders
//! queued (`session_ended`).
//!
//! And the parser never panics, whatever the text.

use std::cell::Cell;
use std::fmt::Write;

use oms::audit::{AuditOptions, Rule, audit};
use oms::replay::{AutoResponse, parse_scenario, parse_start, replay};
use oms::throttle::ThrottleMode;
use oms::{Config, EventRecord, MemorySink, RejectReason, ResponseType};
use proptest::prelude::*;
use proptest::test_runner::{Config as RunnerConfig, FileFailurePersistence, TestRunner};

#[derive(Clone, Debug)]
enum Line {
    New {
        id: u64,
        p: u8,
        bad: u8,
    },
    /// `n` `new` lines at the same time, ids `id..id + n`.
    Burst {
        id: u64,
        p: u8,
        n: u64,
    },
    Modify {
        id: u64,
        p: u8,
        qty: u64,
    },
    Cancel {
        id: u64,
        p: u8,
    },
    Response {
        id: u64,
        accept: bool,
    },
    Advance,
}

fn line() -> impl Strategy<Value = (u32, Line)> {
    // Gaps in µs: often none, often sub-ms, sometimes up to 2.5 s (80 lines span ~15 s).
    let gap = prop_oneof![3 => Just(0u32), 3 => 0u32..1000, 3 => 0u32..400_000, 1 => 0u32..2_500_000];
    let l = prop_oneof![
        6 => (1u64..20, 0u8..4, prop_oneof![8 => Just(0u8), 1 => 1u8..5]).prop_map(|(id, p, bad)| Line::New { id, p, bad }),
        1 => (1u64..20, 0u8..4, 2u64..7).prop_map(|(id, p, n)| Line::Burst { id, p, n }),
        2 => (1u64..20, 0u8..4, 0u64..5).prop_map(|(id, p, qty)| Line::Modify { id, p, qty }),
        2 => (1u64..20, 0u8..4).prop_map(|(id, p)| Line::Cancel { id, p }),
        2 => (1u64..20, any::<bool>()).prop_map(|(id, accept)| Line::Response { id, accept }),
        1 => Just(Line::Advance),
    ];
    (gap, l)
}

/// The scenario text (gaps in µs, so times have decimals) and how many `new` lines it has.
fn render(lines: &[(u32, Line)]) -> (String, u64) {
    let (mut text, mut t_us, mut news) = (String::new(), 0u64, 0u64);
    for (gap, l) in lines {
        t_us += u64::from(*gap);
        let at = format!("@{}.{:03}", t_us / 1000, t_us % 1000);
        let _ = match l {
            Line::New { id, p, bad } => {
                news += 1;
                let (px, qty, side) = match bad {
                    1 => ("NaN", 1, 'B'),
                    2 => ("10", 0, 'S'),
                    3 => ("10", 1, 'x'),
                    4 => ("-inf", 1, 'B'),
                    _ => ("10.5", 1, if id % 2 == 0 { 'B' } else { 'S' }),
                };
                writeln!(text, "{at} new id={id} sym=1 side={side} px={px} qty={qty} p={p}")
            }
            Line::Burst { id, p, n } => {
                news += n;
                (*id..id + n)
                    .try_for_each(|id| writeln!(text, "{at} new id={id} sym=2 side=S px=9.75 qty=3 p={p}"))
            }
            Line::Modify { id, p, qty } => writeln!(text, "{at} modify id={id} px=11 qty={qty} p={p}"),
            Line::Cancel { id, p } => writeln!(text, "{at} cancel id={id} p={p}   # comment"),
            Line::Response { id, accept } => {
                writeln!(text, "{at} response id={id} {}", if *accept { "accept" } else { "reject" })
            }
            Line::Advance => writeln!(text, "{at} advance"),
        };
    }
    (text, news)
}

fn bytes(events: &[EventRecord]) -> Vec<[u8; 64]> {
    events.iter().map(EventRecord::to_bytes).collect()
}

/// One case: a random scenario under random settings (sliding window or token bucket, rate,
/// burst, window length in ms, how early the run starts in ms); whether it logged out with
/// orders queued.
fn one_case(
    (sliding, rate, burst, window_ms, early): (bool, u32, u32, u32, u32),
    auto: Option<(u32, bool)>,
    lines: &[(u32, Line)],
) -> Result<bool, TestCaseError> {
    let mode = if sliding { ThrottleMode::SlidingWindow } else { ThrottleMode::TokenBucket };
    let mut c = Config::default();
    c.session.timezone = "UTC".into();
    c.session.start = "10:00:00".into();
    c.session.end = format!("10:00:{:02}.{:03}", window_ms / 1000, window_ms % 1000);
    c.throttle.mode = mode.name().into();
    c.throttle.max_orders_per_sec = rate;
    c.throttle.burst = Some(burst);
    c.engine.max_queued_orders = 8;
    c.engine.max_in_flight = 6;
    let cfg = c.validate().expect("valid config");
    let (window, throttle) = c.rules().expect("valid rules");
    let (text, news) = render(lines);
    let scenario = parse_scenario(&text).expect("generated scenarios parse");
    // The run starts up to 3 s before the window opens.
    let start = parse_start("2026-11-23T10:00:00Z").expect("valid") - i64::from(early) * 1_000_000;
    let auto = auto.map(|(ms, accept)| AutoResponse {
        delay_ns: u64::from(ms) * 1_000_000,
        kind: if accept { ResponseType::Accept } else { ResponseType::Reject },
    });
    let a = replay(&cfg, &scenario, start, auto, MemorySink::default()).expect("replay runs");
    let report = audit(a.sink.events(), &window, &throttle, AuditOptions::VIRTUAL_TIME);
    prop_assert!(report.is_clean(), "{}\n{}", report, text);
    prop_assert_eq!(report.rule(Rule::Fates).checked, news, "every `new` line ends exactly once");
    let b = replay(&cfg, &scenario, start, auto, MemorySink::default()).expect("replay runs");
    prop_assert_eq!(bytes(a.sink.events()), bytes(b.sink.events()), "not deterministic");
    Ok(a.sink.events().iter().any(|e| e.reason == Some(RejectReason::SessionEnded)))
}

#[test]
fn random_scenarios_keep_every_rule() {
    let mut runner = TestRunner::new(RunnerConfig {
        cases: 128,
        source_file: Some(file!()),
        failure_persistence: Some(Box::new(FileFailurePersistence::WithSource("proptest-regressions"))),
        ..RunnerConfig::default()
    });
    let (cases, ended) = (Cell::new(0u32), Cell::new(0u32));
    // Mostly slow rates and windows of 1 to 8 s, so that orders are still queued at its end.
    let rate = prop_oneof![3 => 1u32..4, 1 => 4u32..12];
    let auto = prop_oneof![Just(None), (0u32..800, any::<bool>()).prop_map(Some)];
    let strategy = (
        (any::<bool>(), rate, 1u32..6, 1_000u32..8_000, 0u32..3000),
        auto,
        proptest::collection::vec(line(), 1..80),
    );
    let result = runner.run(&strategy, |(settings, auto, lines)| {
        let e = one_case(settings, auto, &lines)?;
        cases.set(cases.get() + 1);
        ended.set(ended.get() + u32::from(e));
        Ok(())
    });
    if let Err(e) = result {
        panic!("{e}");
    }
    let (n, ended) = (cases.get(), ended.get());
    eprintln!("{n} cases, {ended} logged out with orders queued");
    // Measured over five runs of 128 cases: 38% to 53% (with the former fixed 20 s window and no
    // bursts, about 0.5%). The bound leaves room for the seed, not for a generator that stops
    // reaching the window's end with orders queued.
    assert!(ended * 10 >= n * 3, "only {ended} of {n} cases reached a logout with orders queued");
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 128, ..ProptestConfig::default() })]

    #[test]
    fn the_parser_never_panics(text in "(@[0-9.\\-]{0,4} ?(new|modify|cancel|response|advance|x)?( [a-z]{0,4}=?[-0-9a-zA-Z.]{0,4})*[ #\n]?){0,8}") {
        let _ = parse_scenario(&text);
    }

    #[test]
    fn the_parser_never_panics_on_any_string(text in "\\PC*") {
        if let Err(e) = parse_scenario(&text) {
            prop_assert!(e.line >= 1);
        }
    }
}
