//! Property tests of `oms replay`: random scenarios (as text, through the parser) under random
//! throttle settings, with a window covering part of the run. Checked on the journal's events:
//!
//! - the throttle bound of the mode within each session (logon → logout);
//! - FIFO among queued orders, and no direct send while an order is queued;
//! - conservation: every `new` line ends exactly once in sent / cancelled / rejected(new), and
//!   cancelled records carry request = cancel;
//! - exact latencies (a response's `latency_ns` is its time minus its order's send time);
//! - gap-free sequence numbers and non-decreasing times;
//! - the same scenario replayed twice gives identical bytes.
//!
//! And the parser never panics, whatever the text.

use std::collections::{HashMap, VecDeque};
use std::fmt::Write;

use oms::replay::{AutoResponse, parse_scenario, parse_start, replay};
use oms::throttle::ThrottleMode;
use oms::{Config, EventKind as K, EventRecord, MemorySink, RejectReason as R, RequestType, ResponseType};
use proptest::prelude::*;

#[derive(Clone, Debug)]
enum Line {
    New { id: u64, p: u8, bad: u8 },
    Modify { id: u64, p: u8, qty: u64 },
    Cancel { id: u64, p: u8 },
    Response { id: u64, accept: bool },
    Advance,
}

fn line() -> impl Strategy<Value = (u32, Line)> {
    // Gaps in µs: often none, often sub-ms, sometimes up to 2.5 s (80 lines span the 20 s window).
    let gap = prop_oneof![3 => Just(0u32), 3 => 0u32..1000, 3 => 0u32..400_000, 1 => 0u32..2_500_000];
    let l = prop_oneof![
        6 => (1u64..20, 0u8..4, prop_oneof![8 => Just(0u8), 1 => 1u8..5]).prop_map(|(id, p, bad)| Line::New { id, p, bad }),
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

fn check(
    events: &[EventRecord],
    mode: ThrottleMode,
    rate: u64,
    burst: u64,
    news: u64,
) -> Result<(), TestCaseError> {
    let mut queue: VecDeque<u64> = VecDeque::new();
    let mut sent_at: HashMap<u64, i64> = HashMap::new();
    let mut session: Vec<i64> = Vec::new();
    let mut terminal = 0u64;
    for (i, e) in events.iter().enumerate() {
        prop_assert_eq!(e.seq, i as u64 + 1, "gap in seq");
        if i > 0 {
            prop_assert!(e.time_ns >= events[i - 1].time_ns, "time went back at seq {}", e.seq);
        }
        let id = e.order_id;
        match e.kind {
            K::Logon => session.clear(),
            K::Logout => prop_assert!(queue.is_empty(), "queued orders at logout"),
            K::Queued => queue.push_back(id),
            K::Sent => {
                terminal += 1;
                if queue.contains(&id) {
                    prop_assert_eq!(queue.pop_front(), Some(id), "FIFO broken");
                } else {
                    prop_assert!(queue.is_empty(), "{} sent directly while {:?} queued", id, queue);
                }
                prop_assert!(sent_at.insert(id, e.time_ns).is_none(), "{} in flight twice", id);
                session.push(e.time_ns);
                let j = session.len() - 1;
                for (k, &tk) in session.iter().enumerate() {
                    let (count, span) = ((j - k + 1) as u64, (session[j] - tk) as u128);
                    match mode {
                        ThrottleMode::TokenBucket => {
                            let allowed = burst + (u128::from(rate) * span / 1_000_000_000) as u64;
                            prop_assert!(count <= allowed, "{} sends in {} ns > {}", count, span, allowed);
                        }
                        ThrottleMode::SlidingWindow => {
                            prop_assert!(
                                span >= 1_000_000_000 || count <= rate,
                                "{} sends in {} ns",
                                count,
                                span
                            )
                        }
                    }
                }
            }
            K::Modified => prop_assert!(queue.contains(&id)),
            K::Cancelled => {
                terminal += 1;
                prop_assert_eq!(e.request, RequestType::Cancel);
                let pos = queue.iter().position(|x| *x == id);
                prop_assert!(pos.is_some(), "cancelled {} not queued", id);
                queue.remove(pos.unwrap_or_default());
            }
            K::Rejected if e.request == RequestType::New => {
                terminal += 1;
                if matches!(e.reason, Some(R::SessionEnded | R::Shutdown)) && queue.contains(&id) {
                    prop_assert_eq!(queue.pop_front(), Some(id), "queue emptied out of order");
                }
            }
            K::Rejected | K::UnmatchedResponse | K::ClockStep => {}
            K::Response => {
                let sent = sent_at.remove(&id);
                prop_assert!(sent.is_some(), "response for {} not in flight", id);
                prop_assert_eq!(e.latency_ns as i64, e.time_ns - sent.unwrap_or_default(), "inexact latency");
            }
            K::Unanswered => prop_assert!(sent_at.remove(&id).is_some()),
        }
    }
    prop_assert!(queue.is_empty() && sent_at.is_empty(), "live orders after shutdown");
    prop_assert_eq!(terminal, news, "every New ends exactly once");
    Ok(())
}

fn bytes(events: &[EventRecord]) -> Vec<[u8; 64]> {
    events.iter().map(EventRecord::to_bytes).collect()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 128, ..ProptestConfig::default() })]

    #[test]
    fn random_scenarios_keep_every_rule(
        sliding in any::<bool>(), rate in 1u32..12, burst in 1u32..6, early in 0u32..3000,
        auto in prop_oneof![Just(None), (0u32..800, any::<bool>()).prop_map(Some)],
        lines in proptest::collection::vec(line(), 1..80),
    ) {
        let mode = if sliding { ThrottleMode::SlidingWindow } else { ThrottleMode::TokenBucket };
        let mut c = Config::default();
        c.session.timezone = "UTC".into();
        (c.session.start, c.session.end) = ("10:00:00".into(), "10:00:20".into());
        c.throttle.mode = mode.name().into();
        c.throttle.max_orders_per_sec = rate;
        c.throttle.burst = Some(burst);
        c.engine.max_queued_orders = 8;
        c.engine.max_in_flight = 6;
        let cfg = c.validate().expect("valid config");
        let (text, news) = render(&lines);
        let scenario = parse_scenario(&text).expect("generated scenarios parse");
        // The run starts up to 3 s before the window opens.
        let start = parse_start("2026-11-23T10:00:00Z").expect("valid") - i64::from(early) * 1_000_000;
        let auto = auto.map(|(ms, accept)| AutoResponse {
            delay_ns: u64::from(ms) * 1_000_000,
            kind: if accept { ResponseType::Accept } else { ResponseType::Reject },
        });
        let a = replay(&cfg, &scenario, start, auto, MemorySink::default()).expect("replay runs");
        let burst = if sliding { u64::from(rate) } else { u64::from(burst) };
        check(a.sink.events(), mode, u64::from(rate), burst, news)?;
        let b = replay(&cfg, &scenario, start, auto, MemorySink::default()).expect("replay runs");
        prop_assert_eq!(bytes(a.sink.events()), bytes(b.sink.events()), "not deterministic");
    }

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
