//! Component micro-benchmarks (criterion): each piece of the hot path alone.
//!
//! - `throttle/{token_bucket,sliding_window}`: one `try_acquire` decision (rate high enough that
//!   every call succeeds, time advancing 1 ns per call).
//! - `ring/{crossbeam,rtrb}/cross_thread`: a message (`oms::engine::Inbound`) pushed on this thread
//!   (core 0) and popped on another (core 1); time per message at full speed.
//! - `ring/{crossbeam,rtrb}/ping_pong`: one message there and one back between the two cores:
//!   twice the one-way hop, which a core-to-core cache-line transfer bounds from below.
//!
//! Journal append and decoding are in `benches/journal.rs`; the pending queue (a private part of
//! the engine) is measured through the engine in `benches/engine.rs` (`engine/queued_1M`).
#![allow(missing_docs)] // criterion_main! generates an undocumented `pub fn main`

#[path = "common/mod.rs"]
mod common;

use std::num::NonZeroU32;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use crossbeam_queue::ArrayQueue;
use oms::RequestType;
use oms::engine::Inbound;
use oms::throttle::{Throttle, ThrottleMode, ThrottleSettings};

fn throttle(c: &mut Criterion) {
    common::cores(); // before anything is pinned
    let mut g = c.benchmark_group("throttle");
    g.throughput(Throughput::Elements(1));
    for (name, mode) in
        [("token_bucket", ThrottleMode::TokenBucket), ("sliding_window", ThrottleMode::SlidingWindow)]
    {
        let rate = NonZeroU32::new(10_000_000).expect("non-zero");
        let mut th = Throttle::new(&ThrottleSettings { mode, rate, burst: rate });
        th.logon(0);
        let mut now = 1_000_000_000u64;
        g.bench_function(name, |b| {
            b.iter(|| {
                now += 1_000; // 1 µs per call: under 10M/s, so every call succeeds
                std::hint::black_box(th.try_acquire(std::hint::black_box(now)))
            })
        });
    }
    g.finish();
}

fn msg(id: u64) -> Inbound {
    Inbound { order: common::order(id), request: RequestType::New, arrival_raw: id, producer: 0 }
}

/// Cross-thread throughput and ping-pong for one ring kind, given constructors of its halves.
fn ring_kind<P, C>(c: &mut Criterion, name: &str, make: impl Fn() -> (P, C))
where
    P: FnMut(Inbound) -> bool + Send + 'static,
    C: FnMut() -> Option<Inbound> + Send + 'static,
{
    let mut g = c.benchmark_group(format!("ring/{name}"));
    g.throughput(Throughput::Elements(1));
    common::pin(0);
    g.bench_function("cross_thread", |b| {
        b.iter_custom(|iters| {
            let (mut push, mut pop) = make();
            let ready = Arc::new(AtomicBool::new(false));
            let r2 = ready.clone();
            let consumer = std::thread::spawn(move || {
                common::pin(1);
                r2.store(true, Ordering::Release);
                let mut n = 0;
                while n < iters {
                    if pop().is_some() {
                        n += 1;
                    } else {
                        std::hint::spin_loop();
                    }
                }
                Instant::now()
            });
            while !ready.load(Ordering::Acquire) {
                std::hint::spin_loop();
            }
            let t = Instant::now();
            for i in 0..iters {
                while !push(msg(i)) {
                    std::hint::spin_loop();
                }
            }
            consumer.join().expect("consumer thread") - t
        })
    });
    g.bench_function("ping_pong", |b| {
        b.iter_custom(|iters| {
            let (mut there, mut there_rx) = make();
            let (mut back, mut back_rx) = make();
            let echo = std::thread::spawn(move || {
                common::pin(1);
                for _ in 0..iters {
                    let m = loop {
                        if let Some(m) = there_rx() {
                            break m;
                        }
                        std::hint::spin_loop();
                    };
                    while !back(m) {}
                }
            });
            let t = Instant::now();
            for i in 0..iters {
                while !there(msg(i)) {}
                while back_rx().is_none() {
                    std::hint::spin_loop();
                }
            }
            let d = t.elapsed();
            echo.join().expect("echo thread");
            d
        })
    });
    g.finish();
}

fn rings(c: &mut Criterion) {
    ring_kind(c, "crossbeam", || {
        let q = Arc::new(ArrayQueue::new(65536));
        let q2 = q.clone();
        (move |m| q.push(m).is_ok(), move || q2.pop())
    });
    ring_kind(c, "rtrb", || {
        let (mut p, mut c) = rtrb::RingBuffer::new(65536);
        (move |m| p.push(m).is_ok(), move || c.pop().ok())
    });
}

criterion_group!(benches, throttle, rings);
criterion_main!(benches);
