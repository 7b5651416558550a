//! The ready mask: no push is missed by an engine that visits only the rings whose bit is set.
//!
//! The race is between a producer setting its ring's bit (or finding it set and leaving it) and the
//! engine's sweep clearing the bits of rings idle since the last one (`oms::doorbell::SWEEP_TAKES`
//! turns) and visiting them once more. A push the engine missed would stay in its ring until the
//! next push into that ring set the bit again; here no next push comes before the engine has taken
//! the last ones, so a missed push shows as a request not taken within the bound (2 s, generous for
//! a busy CI machine; a taken request normally shows in µs). The engine spins (a sweep every ~100
//! µs); 64 producer rings share one word, driven by two threads; each step pushes 1 to 3 requests
//! back to back into one ring (the later ones mostly find the bit still set and skip the
//! `fetch_or`: the path the argument in `oms::doorbell` is about), waits until the engine has taken
//! them all, then pauses a random 0-3 µs (busy), so the pushes land anywhere around the engine's
//! sweeps, hundreds of times. Without the visit after a sweep's clear the first test fails (`ring
//! 44: 202 of 203 pushes taken after 2.0 s`). A second test runs the same with 130 rings (three
//! words) and the `backoff` idle strategy.

mod runner_common;

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use oms::runner::{EngineHandle, IdleStrategy};
use oms::{EngineBuilder, EngineClock, EventKind, EventRecord, EventSink, OrderRequest, RequestType, Side};
use runner_common::*;

/// Threads pushing at once, each into its share of the rings.
const THREADS: usize = 2;
/// Steps of each thread.
const STEPS: u64 = 20_000;
/// How long a pushed request may wait to be taken before the test calls it missed.
const BOUND: Duration = Duration::from_secs(2);

/// Rejects per producer index (each request is a Cancel of an order the engine never saw).
#[derive(Clone)]
struct Counts(Arc<[AtomicU64]>);

impl EventSink for Counts {
    fn record(&mut self, event: &EventRecord) {
        if event.kind == EventKind::Rejected
            && let Some(c) = self.0.get(usize::from(event.producer))
        {
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

/// `rings` producer rings, `THREADS` threads pushing into them as the module docs say, the
/// engine idling as `idle`. Returns the longest wait for a burst to be taken.
fn hammer(rings: usize, idle: IdleStrategy) -> Duration {
    let mut cfg = manual_config();
    cfg.engine.idle = idle.name().into();
    cfg.engine.spin_us = 0;
    cfg.engine.yield_us = 0;
    cfg.engine.sleep_max_us = 60_000_000;
    cfg.engine.ring_capacity = 8;
    let valid = cfg.validate().expect("valid");
    let (clock, _mock) = EngineClock::manual(WALL_IN_WINDOW);
    let (mut b, _responder) = EngineBuilder::new(&valid.engine, clock);
    // Thread t takes every THREADS-th ring from t: the threads' rings share the words.
    let mut shares: Vec<Vec<oms::Producer>> = (0..THREADS).map(|_| Vec::new()).collect();
    for i in 0..rings {
        shares[i % THREADS].push(b.producer().expect("a producer"));
    }
    let counts = Counts((0..rings).map(|_| AtomicU64::new(0)).collect());
    let engine = b.build(Probe::default(), counts.clone());
    let handle = EngineHandle::spawn(engine, &valid.runner).expect("spawn");

    let mut threads = Vec::new();
    for (t, mut mine) in shares.into_iter().enumerate() {
        let counts = counts.clone();
        threads.push(std::thread::spawn(move || {
            let mut rng = fastrand::Rng::with_seed(t as u64);
            let mut worst = Duration::ZERO;
            let mut taken = vec![0u64; mine.len()];
            for step in 0..STEPS {
                let k = rng.usize(0..mine.len());
                let p = &mut mine[k];
                let index = usize::from(p.index());
                let burst = rng.u64(1..=3);
                for j in 0..burst {
                    let o = OrderRequest::new(step * 4 + j + 1, 1, Side::Buy, 10.0, 1);
                    p.on_data(o, RequestType::Cancel).expect("the ring has room: at most 3 at a time");
                }
                taken[k] += burst;
                let t0 = Instant::now();
                while counts.0[index].load(Ordering::SeqCst) < taken[k] {
                    let waited = t0.elapsed();
                    assert!(
                        waited < BOUND,
                        "ring {index}: {} of {} pushes taken after {waited:?}: a push missed by the ready mask",
                        counts.0[index].load(Ordering::SeqCst),
                        taken[k]
                    );
                    std::hint::spin_loop();
                }
                worst = worst.max(t0.elapsed());
                pause(rng.u64(0..3));
            }
            worst
        }));
    }
    let worst = threads.into_iter().map(|t| t.join().expect("no push missed")).max().unwrap_or_default();
    let report = stop_within(handle, 30);
    let total: u64 = counts.0.iter().map(|c| c.load(Ordering::SeqCst)).sum();
    assert_eq!(report.stats.requests, total);
    assert!(total >= THREADS as u64 * STEPS, "every step pushed at least once: {total}");
    // Every ring was pushed into (the words were shared by both threads' rings).
    assert!(counts.0.iter().all(|c| c.load(Ordering::SeqCst) > 0), "a ring never pushed into");
    worst
}

#[test]
fn no_push_is_missed_by_an_engine_sweeping_the_ready_word() {
    let worst = hammer(64, IdleStrategy::Spin);
    eprintln!("64 rings, spin: longest wait for a burst to be taken {worst:?}");
}

#[test]
fn no_push_is_missed_across_several_words_with_backoff() {
    let worst = hammer(130, IdleStrategy::Backoff);
    eprintln!("130 rings, backoff: longest wait for a burst to be taken {worst:?}");
}
