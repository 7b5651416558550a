//! The `backoff` idle strategy's wake-up: no push is ever missed by an engine going to sleep.
//!
//! The engine runs with `spin_us = 0` and `yield_us = 0`, so every turn that finds nothing goes
//! straight into the sleep protocol (flag, fence, last look, wait), and `sleep_max_us` is a
//! minute, so only a wake-up ends a sleep in time: a lost one shows as a request not taken
//! within the bound (2 s, generous for a busy CI machine; a taken request normally shows in
//! tens of µs). Several producers and an exchange-side responder push one message at a time,
//! each waiting until the engine has recorded it, then pausing a random 0-40 µs (busy, so the
//! next push lands anywhere around the engine's decision to sleep), thousands of times.

mod runner_common;

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use oms::runner::{EngineHandle, IdleStrategy};
use oms::{
    EngineBuilder, EngineClock, EventKind, EventRecord, EventSink, OrderRequest, OrderResponse, RequestType,
    ResponseType, Side,
};
use runner_common::*;

/// Producers pushing at once (and one responder).
const PRODUCERS: usize = 3;
/// Messages each of them pushes.
const PUSHES: u64 = 3_000;
/// How long a pushed message may wait to be taken before the test calls it lost.
const BOUND: Duration = Duration::from_secs(2);

/// Counts records per source: rejects per producer index, unmatched responses in the last slot.
#[derive(Clone, Default)]
struct Counts(Arc<[AtomicU64; PRODUCERS + 1]>);

impl EventSink for Counts {
    fn record(&mut self, event: &EventRecord) {
        let slot = match event.kind {
            EventKind::Rejected => usize::from(event.producer),
            EventKind::UnmatchedResponse => PRODUCERS,
            _ => return,
        };
        if let Some(c) = self.0.get(slot) {
            c.fetch_add(1, Ordering::SeqCst);
        }
    }
}

/// Busy-waits `us` µs.
fn pause(us: u64) {
    let until = Instant::now() + Duration::from_micros(us);
    while Instant::now() < until {
        std::hint::spin_loop();
    }
}

/// Pushes `PUSHES` messages with `push(k)`, each taken (its `count` reaching k) within
/// [`BOUND`]; returns the longest wait.
fn hammer(seed: u64, count: &AtomicU64, mut push: impl FnMut(u64)) -> Duration {
    let mut rng = fastrand::Rng::with_seed(seed);
    let mut worst = Duration::ZERO;
    for k in 1..=PUSHES {
        push(k);
        let t0 = Instant::now();
        while count.load(Ordering::SeqCst) < k {
            let waited = t0.elapsed();
            assert!(waited < BOUND, "push {k} of source {seed} not taken within {waited:?}: a lost wake-up");
            std::hint::spin_loop();
        }
        worst = worst.max(t0.elapsed());
        pause(rng.u64(0..40));
    }
    worst
}

#[test]
fn no_push_is_missed_by_an_engine_going_to_sleep() {
    let mut cfg = manual_config();
    cfg.engine.idle = IdleStrategy::Backoff.name().into();
    cfg.engine.spin_us = 0;
    cfg.engine.yield_us = 0;
    cfg.engine.sleep_max_us = 60_000_000;
    let valid = cfg.validate().expect("valid");
    let (clock, _mock) = EngineClock::manual(WALL_IN_WINDOW);
    let (mut b, mut responder) = EngineBuilder::new(&valid.engine, clock);
    let producers: Vec<_> = (0..PRODUCERS).map(|_| b.producer().expect("a producer")).collect();
    let counts = Counts::default();
    let engine = b.build(Probe::default(), counts.clone());
    let bell = engine.doorbell().clone();
    let handle = EngineHandle::spawn(engine, &valid.runner).expect("spawn");

    let mut threads = Vec::new();
    for (i, mut p) in producers.into_iter().enumerate() {
        let counts = counts.clone();
        threads.push(std::thread::spawn(move || {
            hammer(i as u64, &counts.0[i], |k| {
                // A Cancel of an order the engine never saw: rejected, one record.
                let o = OrderRequest::new(k, 1, Side::Buy, 10.0, 1);
                p.on_data(o, RequestType::Cancel).expect("the ring has room: one message at a time");
            })
        }));
    }
    let c = counts.clone();
    threads.push(std::thread::spawn(move || {
        hammer(PRODUCERS as u64, &c.0[PRODUCERS], |k| {
            // An answer about an order never sent: recorded unmatched.
            let r = OrderResponse { order_id: 1_000_000 + k, response_type: ResponseType::Accept };
            responder.on_data(r).expect("the ring has room: one answer at a time");
        })
    }));
    let worst: Vec<Duration> = threads.into_iter().map(|t| t.join().expect("no lost wake-up")).collect();
    eprintln!(
        "longest wait for a push to be taken, per source: {worst:?}; engine sleeps {}, wake-ups {}",
        bell.sleeps(),
        bell.wakes()
    );
    let report = stop_within(handle, 30);
    assert_eq!(report.stats.requests, PRODUCERS as u64 * PUSHES);
    assert_eq!(report.stats.unmatched, PUSHES);
    // The race was run: the engine went to sleep and was woken by pushes many times (a
    // strategy that never slept would pass the bound without testing anything).
    assert!(bell.sleeps() > PUSHES / 10, "the engine slept {} times", bell.sleeps());
    assert!(bell.wakes() > PUSHES / 10, "pushes woke the engine {} times", bell.wakes());
}
