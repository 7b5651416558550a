//! Any number of crashes and restarts, on manual clocks: each run of the engine stops without a
//! shutdown (its records are all that is left, as after `kill -9`), the next one restarts from
//! the records of every run before it (folded with `oms::recovery::StateBuilder`, as `oms run`
//! folds a journal), and the whole journal is audited as `oms audit` reads it. The throttle's
//! bound must hold over every span of it within one exchange session, however many restarts
//! the span crosses and however short the gaps between them (shorter than the bucket takes to
//! refill, where a restart that forgot the sends before it would show).

mod common;

use common::*;
use oms::EventKind as K;
use oms::audit::{AuditOptions, AuditReport, audit};
use oms::engine::RecoveredState;
use oms::recovery::StateBuilder;
use oms::{Config, EventRecord, OrderRequest, RequestType, ResponseType, Side};
use proptest::prelude::*;

/// The records of every run so far, numbered on as one journal.
#[derive(Default)]
struct Journal(Vec<EventRecord>);

impl Journal {
    /// Appends a run's records (each run numbers from 1).
    fn append(&mut self, run: &[EventRecord]) {
        let last = self.0.last().map_or(0, |r| r.seq);
        self.0.extend(run.iter().map(|r| EventRecord { seq: r.seq + last, ..*r }));
    }

    /// What a restart restores from it.
    fn fold(&self, cfg: &Config) -> RecoveredState {
        let valid = cfg.validate().expect("valid config");
        let mut b = StateBuilder::new(&valid.engine.session.window, &valid.engine.throttle);
        self.0.iter().for_each(|r| b.push(r));
        b.finish()
    }

    fn audit(&self, cfg: &Config) -> AuditReport {
        let (window, throttle) = cfg.rules().expect("rules");
        audit(&self.0, &window, &throttle, AuditOptions::LIVE)
    }
}

fn order(id: u64, price: f64, qty: u64) -> OrderRequest {
    OrderRequest::new(id, 7, Side::Buy, price, qty)
}

/// The wall time the rig's clock shows now.
fn wall_now(rig: &Rig) -> i64 {
    rig.engine.clock().wall_ns(rig.now())
}

/// Sends times (wall ns) of the records.
fn send_times(records: &[EventRecord]) -> Vec<i64> {
    records.iter().filter(|r| r.kind == K::Sent).map(|r| r.time_ns).collect()
}

/// The sequence that broke the throttle after a second `kill -9` of `oms run`: a window at
/// 10:00:00, 5 orders/s with a burst of 5, 60 New orders 5 ms apart from 0.5 s into it (a
/// deep queue) with a modify and a cancel; the first run dies 4 s into the window, the second
/// restarts 0.5 s later and dies 5 s after that, the third restarts 0.5 s later and drains the
/// queue. The bucket is empty at each crash (the queue keeps it so), and a restart 0.5 s later
/// may send what 0.5 s refilled (2 or 3 orders), never a full bucket; `oms audit` passes on
/// the three runs' journal.
fn two_quick_restarts(sliding: bool) {
    let mut cfg = config("10:00:00", "10:00:40", 5, Some(5));
    if sliding {
        cfg.throttle.mode = "sliding-window".into();
    }
    let mut journal = Journal::default();

    let mut a = Rig::new(&cfg, "2026-11-23T09:59:57Z", 1);
    a.advance(3 * SEC + 500 * MS);
    for id in 1..=60 {
        a.new_order(id);
        if id == 30 {
            a.submit(0, order(12, 99.5, 3), RequestType::Modify);
            a.submit(0, order(20, 0.0, 0), RequestType::Cancel);
        }
        a.advance(5 * MS);
    }
    a.advance_to(a.engine.clock().mono_at_wall(wall("2026-11-23T10:00:04Z")));
    for id in a.sent_ids().into_iter().step_by(2) {
        a.respond(id, ResponseType::Accept);
    }
    let crash_a = wall_now(&a);
    journal.append(a.events());
    drop(a);

    let mut b = Rig::recovered_at(&cfg, crash_a + 500 * MS as i64, 1, journal.fold(&cfg)).expect("recovers");
    let restart_b = wall_now(&b);
    b.advance(5 * SEC);
    let crash_b = wall_now(&b);
    let b_sends = send_times(b.events());
    journal.append(b.events());
    drop(b);

    let state = journal.fold(&cfg);
    assert!(!state.queued.is_empty(), "the queue is still deep at the second crash");
    let mut c = Rig::recovered_at(&cfg, crash_b + 500 * MS as i64, 1, state).expect("recovers");
    let restart_c = wall_now(&c);
    c.advance(20 * SEC);
    let report = c.engine.shutdown();
    let c_sends = send_times(report.sink.events());
    journal.append(report.sink.events());

    // The token bucket, at each restart: what 0.5 s refilled (at 5/s: 2 or 3 sends), not a
    // full bucket of 5. (The sliding window frees the slots of the sends a second old.)
    let at_once = |sends: &[i64], restart: i64| sends.iter().filter(|&&t| t < restart + MS as i64).count();
    if !sliding {
        for (run, sends, restart) in [("first", &b_sends, restart_b), ("second", &c_sends, restart_c)] {
            let n = at_once(sends, restart);
            assert!(n <= 3, "the {run} restart sent {n} at once");
        }
    }
    let report = journal.audit(&cfg);
    assert!(report.is_clean(), "{report}");
}

#[test]
fn two_quick_restarts_keep_the_token_bucket() {
    two_quick_restarts(false);
}

#[test]
fn two_quick_restarts_keep_the_sliding_window() {
    two_quick_restarts(true);
}

/// What a producer does at one step of a run.
#[derive(Clone, Copy, Debug)]
enum Step {
    /// A New order (a fresh id).
    New,
    /// A Modify of the `k`-th most recent New of the run.
    Modify(usize),
    /// A Cancel of the `k`-th most recent New of the run.
    Cancel(usize),
    /// The exchange answers the oldest order in flight.
    Respond,
}

fn step() -> impl Strategy<Value = (u64, Step)> {
    let step = prop_oneof![
        6 => Just(Step::New),
        1 => (0..8usize).prop_map(Step::Modify),
        1 => (0..8usize).prop_map(Step::Cancel),
        2 => Just(Step::Respond),
    ];
    (0..400u64, step)
}

/// One run: the steps it takes (each after a pause, ms), then how long it runs on before the
/// crash and how long the engine stays down after it (ms).
fn run() -> impl Strategy<Value = (Vec<(u64, Step)>, u64, u64)> {
    (prop::collection::vec(step(), 0..30), 0..3000u64, prop_oneof![3 => 0..400u64, 1 => 0..4000u64])
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 96, ..ProptestConfig::default() })]

    /// Random flows, crash times and restart gaps (most of them shorter than the bucket takes to
    /// refill, some past the window's end): after every sequence of crashes and restarts, the
    /// whole journal passes the audit — the throttle's bound over every span of a session, the
    /// window, and every order's fate.
    #[test]
    fn any_crashes_keep_every_rule(
        sliding in any::<bool>(),
        rate in 1..=8u32,
        burst in 1..=6u32,
        start_ms in 0..2000u64,
        runs in prop::collection::vec(run(), 1..6),
        drain_ms in 0..30_000u64,
    ) {
        let mut cfg = config("10:00:00", "10:00:12", rate, Some(burst));
        if sliding {
            cfg.throttle.mode = "sliding-window".into();
        }
        let mut journal = Journal::default();
        let mut next_id = 1u64;
        let mut at = wall("2026-11-23T09:59:59Z") + (start_ms * MS) as i64;
        for (round, (steps, run_ms, gap_ms)) in runs.iter().enumerate() {
            let mut rig = if round == 0 {
                let mut rig = Rig::new(&cfg, "2026-11-23T09:59:59Z", 1);
                rig.advance(start_ms * MS);
                rig
            } else {
                Rig::recovered_at(&cfg, at, 1, journal.fold(&cfg)).expect("recovers")
            };
            let mut news: Vec<u64> = Vec::new();
            for &(pause, step) in steps {
                rig.advance(pause * MS);
                let recent = |k: usize| news.iter().rev().nth(k % news.len().max(1)).copied();
                match step {
                    Step::New => {
                        rig.new_order(next_id);
                        news.push(next_id);
                        next_id += 1;
                    }
                    Step::Modify(k) => {
                        if let Some(id) = recent(k) {
                            rig.submit(0, order(id, 99.0, 3), RequestType::Modify);
                        }
                    }
                    Step::Cancel(k) => {
                        if let Some(id) = recent(k) {
                            rig.submit(0, order(id, 0.0, 0), RequestType::Cancel);
                        }
                    }
                    Step::Respond => {
                        if let Some(&id) = rig.sent_ids().iter().find(|id| {
                            !rig.events().iter().any(|r| r.kind == K::Response && r.order_id == **id)
                        }) {
                            rig.respond(id, ResponseType::Accept);
                        }
                    }
                }
            }
            rig.advance(run_ms * MS);
            at = wall_now(&rig) + (gap_ms * MS) as i64;
            journal.append(rig.events());
        }
        // The last restart drains what is left, then stops cleanly.
        let mut last = Rig::recovered_at(&cfg, at, 1, journal.fold(&cfg)).expect("recovers");
        last.advance(drain_ms * MS);
        journal.append(last.engine.shutdown().sink.events());
        let report = journal.audit(&cfg);
        prop_assert!(report.is_clean(), "{}", report);
    }
}

/// A restart that records `recovered` and dies before its first poll (before it logs on)
/// leaves the interrupted session as it was: the next restart still continues it, and the
/// audit holds the bound across both restarts. A journal whose last run sends a full bucket at
/// its logon breaks the throttle rule.
#[test]
fn a_restart_that_dies_before_its_logon_still_continues_the_session() {
    let cfg = config("10:00:00", "13:00:00", 1, Some(3));
    let mut journal = Journal::default();
    let mut a = Rig::new(&cfg, "2026-11-23T10:30:00Z", 1);
    for id in 1..=6 {
        a.new_order(id);
    }
    assert_eq!(a.sent_ids(), [1, 2, 3], "the burst; 4, 5, 6 queued");
    a.advance(100 * MS);
    journal.append(a.events());
    drop(a);

    // Recovers (a `recovered` record) and dies before its first poll.
    let valid = cfg.validate().expect("valid");
    let state = journal.fold(&cfg);
    let (mut clock, _mock) = oms::EngineClock::manual(wall("2026-11-23T10:30:00.200Z"));
    state.prepare_clock(&mut clock);
    let (builder, _responder) = oms::engine::EngineBuilder::new(&valid.engine, clock);
    let b = builder
        .recover(state, oms::exchange::RecordingExchange::default(), oms::MemorySink::default())
        .expect("recovers");
    assert_eq!(b.sink().events().iter().map(|r| r.kind).collect::<Vec<_>>(), [K::Recovered]);
    journal.append(b.sink().events());
    drop(b);

    let mut c =
        Rig::recovered_at(&cfg, wall("2026-11-23T10:30:00.300Z"), 1, journal.fold(&cfg)).expect("recovers");
    assert_eq!(c.kinds(), [K::Recovered, K::Logon], "nothing sent: the burst was spent 0.3 s ago");
    let logon = c.events()[1];
    c.advance(3 * SEC);
    let times = send_times(c.events());
    let expected = ["01", "02", "03"].map(|s| wall(&format!("2026-11-23T10:30:{s}Z")));
    assert_eq!(times, expected, "one token a second since the burst before the first crash");
    let mut tampered = Journal(journal.0.clone());
    journal.append(c.engine.shutdown().sink.events());
    let report = journal.audit(&cfg);
    assert!(report.is_clean(), "{report}");

    // The last run sends its three queued orders at its logon, as a refilled bucket would.
    let sends: Vec<EventRecord> = (4..=6)
        .map(|id| {
            let o = OrderRequest::new(id, 7, Side::Buy, 100.0, 10);
            EventRecord {
                seq: 3 + id - 4,
                ..EventRecord::new(logon.time_ns, oms::Event::Sent { order: o, in_oms_ns: 0 })
            }
        })
        .collect();
    let mut run = vec![EventRecord { seq: 1, ..c_first(&journal) }, EventRecord { seq: 2, ..logon }];
    run.extend(sends);
    tampered.append(&run);
    // (The tampered journal also ends mid-session, which other rules flag.)
    let report = tampered.audit(&cfg);
    assert!(report.broken().contains(&oms::audit::Rule::Throttle), "{report}");
    assert!(report.to_string().contains("4 orders sent within 0.300000000 s"), "{report}");
}

/// The `recovered` record of the last run in the journal.
fn c_first(journal: &Journal) -> EventRecord {
    *journal.0.iter().rev().find(|r| r.kind == K::Recovered).expect("a recovered record")
}
