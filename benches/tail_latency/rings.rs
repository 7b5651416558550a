//! Ring choice, measured: crossbeam-queue's `ArrayQueue` (MPMC, a CAS per push and per pop; what
//! `oms::ring` uses) against `rtrb` (SPSC with cached indices: plain loads and stores, the other
//! side's index re-read only when the cached copy says full / empty), in the same open-loop
//! driver and core split as the designs.
//!
//! The message is the engine's own [`Inbound`] (order + request type + arrival stamp). The
//! consumer thread spins on `pop` and records, per message, the one-way latency from the
//! message's intended send instant; an unpaced run gives the throughput.

use std::sync::Arc;

use crossbeam_queue::ArrayQueue;
use hdrhistogram::Histogram;
use oms::RequestType;
use oms::engine::Inbound;

use crate::driver::{self, Schedule};

/// Ring capacity (the engine's default `ring_capacity`).
const CAPACITY: usize = 65536;

/// The producer half of a ring under test.
pub trait Tx: Send {
    /// Pushes or hands the message back.
    fn push(&mut self, m: Inbound) -> Result<(), Inbound>;
}

/// The consumer half.
pub trait Rx: Send {
    /// Pops one message.
    fn pop(&mut self) -> Option<Inbound>;
}

/// `ArrayQueue`, as `oms::ring` holds it.
pub struct Crossbeam(Arc<ArrayQueue<Inbound>>);

impl Tx for Crossbeam {
    #[inline(always)]
    fn push(&mut self, m: Inbound) -> Result<(), Inbound> {
        self.0.push(m)
    }
}

impl Rx for Crossbeam {
    #[inline(always)]
    fn pop(&mut self) -> Option<Inbound> {
        self.0.pop()
    }
}

impl Tx for rtrb::Producer<Inbound> {
    #[inline(always)]
    fn push(&mut self, m: Inbound) -> Result<(), Inbound> {
        rtrb::Producer::push(self, m).map_err(|rtrb::PushError::Full(m)| m)
    }
}

impl Rx for rtrb::Consumer<Inbound> {
    #[inline(always)]
    fn pop(&mut self) -> Option<Inbound> {
        rtrb::Consumer::pop(self).ok()
    }
}

/// The rings compared, by name.
pub const RINGS: [&str; 2] = ["crossbeam ArrayQueue", "rtrb"];

/// One ring run's result.
pub struct RingRun {
    /// One-way latency from the intended instant, ns.
    pub hist: Histogram<u64>,
    /// Messages per second (first intended send, or first pop when unpaced, to last pop).
    pub achieved: f64,
}

/// Drives one ring: this thread produces (already pinned), a consumer thread on `consumer_core`
/// pops and records.
pub fn run(which: usize, s: &Schedule, consumer_core: Option<core_affinity::CoreId>) -> RingRun {
    if which == 0 {
        let q = Arc::new(ArrayQueue::new(CAPACITY));
        drive(Crossbeam(q.clone()), Crossbeam(q), s, consumer_core)
    } else {
        let (p, c) = rtrb::RingBuffer::new(CAPACITY);
        drive(p, c, s, consumer_core)
    }
}

fn drive<T: Tx, R: Rx + 'static>(
    mut tx: T,
    mut rx: R,
    s: &Schedule,
    consumer_core: Option<core_affinity::CoreId>,
) -> RingRun {
    let sc = s.clone();
    let consumer = std::thread::spawn(move || {
        driver::pin(consumer_core);
        let mut hist = driver::histogram();
        let (mut seen, mut first, mut last) = (0u64, None, 0u64);
        while seen < sc.orders {
            let Some(m) = rx.pop() else {
                std::hint::spin_loop();
                continue;
            };
            let now = sc.since_start_ns(sc.clock.raw());
            let i = Schedule::index(m.order.order_id);
            first.get_or_insert(now);
            last = now;
            seen += 1;
            if i >= sc.warmup {
                hist.saturating_record(now.saturating_sub(sc.intended_ns(i)).max(1));
            }
        }
        let from = if sc.rate.is_some() { 0 } else { first.unwrap_or(0) };
        RingRun { hist, achieved: seen as f64 * 1e9 / last.saturating_sub(from).max(1) as f64 }
    });
    let clock = s.clock.clone();
    driver::produce(s, |order| {
        let m = Inbound { order, request: RequestType::New, arrival_raw: clock.raw(), producer: 0 };
        tx.push(m).map_err(|m| m.order)
    });
    consumer.join().expect("ring consumer thread")
}
