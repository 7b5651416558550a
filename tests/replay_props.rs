//! Property tests of `oms replay`: random scenarios (as text, through the parser) under random
//! throttle settings, with a short random window covering part of the run (so that many runs
//! reach its end with orders queued). The scenarios interleave requests (new, modify, cancel)
//! with the exchange's answers (responses, fills, cancels and replaces carried out or refused,
//! expiries) at random, fitting or not, and may have every message answered automatically
//! (accept, reject, or fill). Each journal goes through [`oms::audit`] on virtual time:
//! every rule (window, sessions with exact timers, throttle bound over every message, FIFO,
//! modify, fates, session end, responses with exact latencies and round trips, the lifecycle:
//! never overfilled, one request pending at a time, every answer fitting the order's state or
//! recorded as unexpected; gap-free sequence numbers and times that never go back);
//! the number of New orders it saw is the number of `new` lines; the same scenario replayed twice
//! gives identical bytes. Over the whole run, a share of the cases must log out with orders
//! queued (`session_ended`).
//!
//! And the parser never panics, whatever the text.

use std::cell::Cell;
use std::fmt::Write;

use oms::audit::{AuditOptions, Rule, audit};
use oms::exchange::AutoAnswer;
use oms::replay::{AutoResponse, parse_scenario, parse_start, replay};
use oms::throttle::ThrottleMode;
use oms::{Config, EventKind, EventRecord, MemorySink, RejectReason};
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
    Fill {
        id: u64,
        qty: u64,
    },
    /// An answer about order `id` that is not a fill or a first answer (`cancelled`,
    /// `replaced`, `cancel_rejected`, `expired`: `what` 0 to 3).
    Answer {
        id: u64,
        what: u8,
    },
    /// A cancel (`qty` 0) or a modify of order `id` and, at the same instant, an answer to it
    /// (`what` as in [`Line::Answer`], or 4: a fill of 1).
    Amend {
        id: u64,
        p: u8,
        qty: u64,
        what: u8,
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
        1 => (1u64..20, 0u64..4).prop_map(|(id, qty)| Line::Fill { id, qty }),
        1 => (1u64..20, 0u8..4).prop_map(|(id, what)| Line::Answer { id, what }),
        1 => (1u64..20, 0u8..4, 0u64..8, 0u8..5).prop_map(|(id, p, qty, what)| Line::Amend { id, p, qty, what }),
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
                    _ => ("10.5", 1 + id % 5, if id % 2 == 0 { 'B' } else { 'S' }),
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
            Line::Fill { id, qty } => writeln!(text, "{at} fill id={id} qty={qty} px=10.25"),
            Line::Answer { id, what } => answer(&mut text, &at, *id, *what),
            Line::Amend { id, p, qty, what } => {
                let _ = match qty {
                    0 => writeln!(text, "{at} cancel id={id} p={p}"),
                    q => writeln!(text, "{at} modify id={id} px=10.75 qty={q} p={p}"),
                };
                match what {
                    4 => writeln!(text, "{at} fill id={id} qty=1 px=10.5"),
                    w => answer(&mut text, &at, *id, *w),
                }
            }
            Line::Advance => writeln!(text, "{at} advance"),
        };
    }
    (text, news)
}

/// An answer line about order `id` at `at`: `cancelled`, `replaced`, `cancel_rejected` or
/// `expired` (`what` 0 to 3).
fn answer(text: &mut String, at: &str, id: u64, what: u8) -> std::fmt::Result {
    match what {
        0 => writeln!(text, "{at} cancelled id={id}"),
        1 => writeln!(text, "{at} replaced id={id}"),
        2 => writeln!(text, "{at} cancel_rejected id={id} code={}", id % 3),
        _ => writeln!(text, "{at} expired id={id}"),
    }
}

fn bytes(events: &[EventRecord]) -> Vec<[u8; 64]> {
    events.iter().map(EventRecord::to_bytes).collect()
}

/// The record kinds of an order's life at the exchange that [`random_lives_keep_every_rule`]
/// must reach.
const LIFE: [EventKind; 9] = [
    EventKind::Fill,
    EventKind::Filled,
    EventKind::CancelSent,
    EventKind::VenueCancelled,
    EventKind::ReplaceSent,
    EventKind::Replaced,
    EventKind::CancelRejected,
    EventKind::Expired,
    EventKind::UnexpectedReport,
];

/// One case: a random scenario under random settings (sliding window or token bucket, rate,
/// burst, window length in ms, how early the run starts in ms); whether it logged out with
/// orders queued.
fn one_case(
    (sliding, rate, burst, window_ms, early): (bool, u32, u32, u32, u32),
    auto: Option<(u32, u8)>,
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
    let auto = auto.map(|(ms, kind)| AutoResponse {
        delay_ns: u64::from(ms) * 1_000_000,
        kind: [AutoAnswer::Accept, AutoAnswer::Reject, AutoAnswer::Fill][usize::from(kind % 3)],
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
    let auto = prop_oneof![Just(None), (0u32..800, 0u8..3).prop_map(Some)];
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
    fn the_parser_never_panics(text in "(@[0-9.\\-]{0,4} ?(new|modify|cancel|response|fill|cancelled|replaced|cancel_rejected|expired|advance|x)?( [a-z]{0,4}=?[-0-9a-zA-Z.]{0,4})*[ #\n]?){0,8}") {
        let _ = parse_scenario(&text);
    }

    #[test]
    fn the_parser_never_panics_on_any_string(text in "\\PC*") {
        if let Err(e) = parse_scenario(&text) {
            prop_assert!(e.line >= 1);
        }
    }
}

/// What the exchange says to a cancel or a replace in a story.
#[derive(Clone, Copy, Debug)]
enum Reply {
    /// Nothing (the request stays pending; a later request finds it so).
    Silence,
    /// Carried out (`cancelled` / `replaced`).
    Done,
    /// Refused (`cancel_rejected`).
    Refused,
    /// A fill of `qty` first, then refused (a request that loses the race).
    FillFirst { qty: u64 },
}

/// One step of an order's life after its acceptance.
#[derive(Clone, Copy, Debug)]
enum Step {
    /// A fill (beyond what is left: refused, an `unexpected_report`).
    Fill { qty: u64 },
    /// A Modify to `qty` (at or below what is filled: refused before it goes out).
    Modify { qty: u64, reply: Reply },
    /// A Cancel.
    Cancel { reply: Reply },
    /// The venue ends the order on its own: `expired`, or `cancelled` unsolicited.
    Venue { expire: bool },
}

/// One order: when it starts (ms), its producer, its quantity, whether it is accepted, and its
/// steps, each after a gap (ms).
type Story = (u32, u8, u64, bool, Vec<(u32, Step)>);

fn reply() -> impl Strategy<Value = Reply> {
    prop_oneof![
        1 => Just(Reply::Silence),
        4 => Just(Reply::Done),
        2 => Just(Reply::Refused),
        2 => (1u64..6).prop_map(|qty| Reply::FillFirst { qty }),
    ]
}

fn story() -> impl Strategy<Value = Story> {
    let step = prop_oneof![
        4 => (1u64..6).prop_map(|qty| Step::Fill { qty }),
        3 => (1u64..14, reply()).prop_map(|(qty, reply)| Step::Modify { qty, reply }),
        3 => reply().prop_map(|reply| Step::Cancel { reply }),
        1 => any::<bool>().prop_map(|expire| Step::Venue { expire }),
    ];
    (
        0u32..2000,
        0u8..3,
        1u64..12,
        prop::bool::weighted(0.9),
        proptest::collection::vec((1u32..40, step), 0..6),
    )
}

/// The scenario of `stories` (order `k + 1` is story `k`): each story's lines at their times,
/// the stories interleaved in time.
fn render_stories(stories: &[Story]) -> String {
    let mut lines: Vec<(u32, String)> = Vec::new();
    for (k, (start, p, qty, accepted, steps)) in stories.iter().enumerate() {
        let id = k + 1;
        let mut t = *start;
        lines.push((t, format!("new id={id} sym=3 side=B px=20 qty={qty} p={p}")));
        t += 1;
        lines.push((t, format!("response id={id} {}", if *accepted { "accept" } else { "reject" })));
        for &(gap, step) in steps {
            t += gap;
            let (request, reply, done) = match step {
                Step::Fill { qty } => {
                    lines.push((t, format!("fill id={id} qty={qty} px=20.5")));
                    continue;
                }
                Step::Venue { expire } => {
                    lines.push((t, format!("{} id={id}", if expire { "expired" } else { "cancelled" })));
                    continue;
                }
                Step::Modify { qty, reply } => {
                    (format!("modify id={id} px=19.5 qty={qty} p={p}"), reply, format!("replaced id={id}"))
                }
                Step::Cancel { reply } => {
                    (format!("cancel id={id} p={p}"), reply, format!("cancelled id={id}"))
                }
            };
            lines.push((t, request));
            // The answer 3 ms later: the request has gone out by then, or waits for a permit.
            t += 3;
            match reply {
                Reply::Silence => {}
                Reply::Done => lines.push((t, done)),
                Reply::Refused => lines.push((t, format!("cancel_rejected id={id} code=1"))),
                Reply::FillFirst { qty } => {
                    lines.push((t, format!("fill id={id} qty={qty} px=20")));
                    lines.push((t + 1, format!("cancel_rejected id={id}")));
                    t += 1;
                }
            }
        }
    }
    lines.sort_by_key(|l| l.0);
    lines.iter().map(|(t, l)| format!("@{t} {l}\n")).collect()
}

/// Random lives of up to 12 orders, their steps interleaved: partial and full fills, overfills,
/// replaces up and down (some below what is filled), cancels, answers that carry them out,
/// refuse them, come after a fill that won the race, or never come; the venue expiring or
/// cancelling orders on its own. Every journal keeps every rule on virtual time (never
/// overfilled, one request pending at a time, exact round trips, every order ending exactly
/// once), and over the run every kind of record of an order's life is written.
#[test]
fn random_lives_keep_every_rule() {
    let mut runner = TestRunner::new(RunnerConfig {
        cases: 128,
        source_file: Some(file!()),
        failure_persistence: Some(Box::new(FileFailurePersistence::WithSource("proptest-regressions"))),
        ..RunnerConfig::default()
    });
    let mut c = Config::default();
    c.session.timezone = "UTC".into();
    c.session.start = "10:00:00".into();
    c.session.end = "10:01:00".into();
    // Enough permits for most requests to go out at once; some wait.
    c.throttle.max_orders_per_sec = 400;
    c.throttle.burst = Some(8);
    (c.engine.max_queued_orders, c.engine.max_in_flight, c.engine.max_working_orders) = (64, 64, 64);
    c.engine.ring_capacity = 256;
    let cfg = c.validate().expect("valid config");
    let (window, throttle) = c.rules().expect("valid rules");
    let start = parse_start("2026-11-23T10:00:00Z").expect("valid");
    let life = Cell::new([0u32; LIFE.len()]);
    let result = runner.run(&proptest::collection::vec(story(), 1..13), |stories| {
        let text = render_stories(&stories);
        let scenario = parse_scenario(&text).expect("generated scenarios parse");
        let r = replay(&cfg, &scenario, start, None, MemorySink::default()).expect("replay runs");
        let report = audit(r.sink.events(), &window, &throttle, AuditOptions::VIRTUAL_TIME);
        prop_assert!(report.is_clean(), "{}\n{}", report, text);
        prop_assert_eq!(report.rule(Rule::Fates).checked, stories.len() as u64, "every order ends once");
        let mut sum = life.get();
        for (n, k) in sum.iter_mut().zip(LIFE) {
            *n += r.sink.events().iter().filter(|e| e.kind == k).count() as u32;
        }
        life.set(sum);
        Ok(())
    });
    if let Err(e) = result {
        panic!("{e}");
    }
    let life = life.get();
    eprintln!(
        "records of an order's life: {:?}",
        LIFE.iter().map(|k| k.name()).zip(life).collect::<Vec<_>>()
    );
    for (k, n) in LIFE.iter().zip(life) {
        assert!(n >= 10, "only {n} {} records in 128 cases: the generator stopped reaching them", k.name());
    }
}
