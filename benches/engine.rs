//! Engine micro-benchmarks (criterion), single thread, TSC clock, the benches' sink
//! (`common::BenchSink`: the memory-mapped journal) and a no-op exchange that answers at once.
//!
//! - `engine/step/single`: one New pushed into a producer ring, then one `poll`: the poll takes
//!   the previous order's response (match + record), pops the New, checks it, takes a throttle
//!   permit, sends, records. Per order, ring push included.
//! - `engine/step/batch256`: 256 New pushed (not timed), then one timed `poll` that handles them
//!   and the previous batch's 256 responses. Per order, amortised; the push is not timed.
//! - `engine/queued_1M/{modify,cancel}`: 1M orders waiting in the queue (throttle 1/s), a Modify
//!   or a Cancel of a random queued order through `Engine::on_request` (validation, lookup,
//!   record). Cancelled orders are put back (not timed) so the queue stays at 1M.
//! - `engine/queued_1M/{modify,cancel}_batch256`: the same, 256 requests through the producer
//!   ring (pushed untimed), then one timed `poll` that takes them as a batch.
//!
//! Targets: step median ≤ 100 ns per order; modify / cancel with 1M queued median ≤ 200 ns.
#![allow(missing_docs)] // criterion_main! generates an undocumented `pub fn main`

mod common;

use std::time::{Duration, Instant};

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use oms::Producer;
use oms::engine::Inbound;
use oms::engine::{Engine, EngineBuilder};
use oms::{EngineClock, RequestType};

use common::{AnsweringExchange, BenchSink};

const QUEUED: u64 = 1_000_000;

fn engine(rate: u32, burst: u32) -> (Engine<AnsweringExchange, BenchSink>, Producer, tempfile::TempDir) {
    let dir = tempfile::tempdir().expect("temp dir");
    let raw = common::raw_config(None, rate, burst, dir.path());
    let cfg = raw.validate().expect("bench config is valid");
    let clock = EngineClock::system();
    let (mut b, responder) = EngineBuilder::new(&cfg.engine, clock.clone());
    let producer = b.producer().expect("a producer handle");
    let sink = common::make_sink(&raw, &clock);
    let mut e = b.build(AnsweringExchange { responder, lost: 0 }, sink);
    e.poll(); // logon
    assert!(e.logged_on(), "bench window is open");
    (e, producer, dir)
}

fn step(c: &mut Criterion) {
    let mut g = c.benchmark_group("engine/step");
    g.throughput(Throughput::Elements(1));
    {
        let (mut e, mut p, _dir) = engine(2_000_000_000, 2_000_000_000);
        let mut id = 0u64;
        g.bench_function("single", |b| {
            b.iter_custom(|iters| {
                let mut total = Duration::ZERO;
                let mut left = iters;
                while left > 0 {
                    let n = left.min(1024);
                    let t = Instant::now();
                    for _ in 0..n {
                        id += 1;
                        p.on_data(common::order(id), RequestType::New).expect("ring has room");
                        std::hint::black_box(e.poll());
                    }
                    total += t.elapsed();
                    common::journal_catch_up(e.sink_mut());
                    left -= n;
                }
                total
            })
        });
        assert_eq!(e.exchange().lost, 0);
    }
    {
        let (mut e, mut p, _dir) = engine(2_000_000_000, 2_000_000_000);
        let mut id = 0u64;
        g.bench_function("batch256", |b| {
            b.iter_custom(|iters| {
                let mut total = Duration::ZERO;
                let mut left = iters;
                while left > 0 {
                    let n = left.min(256);
                    for _ in 0..n {
                        id += 1;
                        p.on_data(common::order(id), RequestType::New).expect("ring has room");
                    }
                    let t = Instant::now();
                    std::hint::black_box(e.poll());
                    total += t.elapsed();
                    common::journal_catch_up(e.sink_mut());
                    left -= n;
                }
                total
            })
        });
        assert_eq!(e.exchange().lost, 0);
    }
    g.finish();
}

/// An engine with `QUEUED` orders (ids 2..=QUEUED+1) waiting: throttle 1/s, burst 1, so order 1
/// goes out and the rest queue.
fn queued_engine() -> (Engine<AnsweringExchange, BenchSink>, Producer, tempfile::TempDir, EngineClock) {
    let (mut e, p, dir) = engine(1, 1);
    let clock = e.clock().clone();
    for id in 1..=QUEUED + 1 {
        e.on_request(Inbound {
            order: common::order(id),
            request: RequestType::New,
            arrival_raw: clock.raw(),
            producer: 0,
        });
    }
    assert_eq!(e.queue_len() as u64, QUEUED, "all but the first order queued");
    (e, p, dir, clock)
}

fn queued(c: &mut Criterion) {
    let mut g = c.benchmark_group("engine/queued_1M");
    g.throughput(Throughput::Elements(1));
    let (mut e, mut p, _dir, clock) = queued_engine();
    let mut rng = fastrand::Rng::with_seed(7);
    let mut ids: Vec<u64> = (2..=QUEUED + 1).collect();
    rng.shuffle(&mut ids);
    let mut k = 0usize;
    g.bench_function("modify", |b| {
        b.iter_custom(|iters| {
            let mut total = Duration::ZERO;
            let mut left = iters;
            while left > 0 {
                let n = left.min(1024);
                let t = Instant::now();
                for _ in 0..n {
                    k = (k + 1) % ids.len();
                    let mut o = common::order(ids[k]);
                    o.price += 0.5;
                    e.on_request(Inbound {
                        order: o,
                        request: RequestType::Modify,
                        arrival_raw: clock.raw(),
                        producer: 0,
                    });
                }
                total += t.elapsed();
                common::journal_catch_up(e.sink_mut());
                left -= n;
            }
            total
        })
    });
    g.bench_function("cancel", |b| {
        b.iter_custom(|iters| {
            let mut total = Duration::ZERO;
            let mut left = iters;
            while left > 0 {
                let n = left.min(1024) as usize;
                let start = k;
                let t = Instant::now();
                for _ in 0..n {
                    k = (k + 1) % ids.len();
                    let o = common::order(ids[k]);
                    e.on_request(Inbound {
                        order: o,
                        request: RequestType::Cancel,
                        arrival_raw: clock.raw(),
                        producer: 0,
                    });
                }
                total += t.elapsed();
                // Untimed: put them back (at the back of the queue), so it stays at 1M.
                let mut j = start;
                for _ in 0..n {
                    j = (j + 1) % ids.len();
                    let o = common::order(ids[j]);
                    e.on_request(Inbound {
                        order: o,
                        request: RequestType::New,
                        arrival_raw: clock.raw(),
                        producer: 0,
                    });
                }
                common::journal_catch_up(e.sink_mut());
                left -= n as u64;
            }
            total
        })
    });
    // The same through a producer ring: 256 requests pushed (not timed), then one timed `poll`
    // that takes them as a batch (the engine starts loading each one's queue entry two requests
    // ahead).
    g.bench_function("modify_batch256", |b| {
        b.iter_custom(|iters| {
            let mut total = Duration::ZERO;
            let mut left = iters;
            while left > 0 {
                let n = left.min(256);
                for _ in 0..n {
                    k = (k + 1) % ids.len();
                    let mut o = common::order(ids[k]);
                    o.price += 0.5;
                    p.on_data(o, RequestType::Modify).expect("ring has room");
                }
                let t = Instant::now();
                std::hint::black_box(e.poll());
                total += t.elapsed();
                common::journal_catch_up(e.sink_mut());
                left -= n;
            }
            total
        })
    });
    g.bench_function("cancel_batch256", |b| {
        b.iter_custom(|iters| {
            let mut total = Duration::ZERO;
            let mut left = iters;
            while left > 0 {
                let n = left.min(256) as usize;
                let start = k;
                for _ in 0..n {
                    k = (k + 1) % ids.len();
                    p.on_data(common::order(ids[k]), RequestType::Cancel).expect("ring has room");
                }
                let t = Instant::now();
                std::hint::black_box(e.poll());
                total += t.elapsed();
                // Untimed: put them back (at the back of the queue), so it stays at 1M.
                let mut j = start;
                for _ in 0..n {
                    j = (j + 1) % ids.len();
                    p.on_data(common::order(ids[j]), RequestType::New).expect("ring has room");
                }
                e.poll();
                common::journal_catch_up(e.sink_mut());
                left -= n as u64;
            }
            total
        })
    });
    assert_eq!(e.queue_len() as u64, QUEUED, "the queue stayed full");
    assert_eq!(e.stats().rejected_total(), 0, "no modify / cancel missed");
    g.finish();
}

criterion_group!(benches, step, queued);
criterion_main!(benches);
