//! A simulated exchange on its own thread: answers every order after a latency drawn from a
//! fixed value or a uniform range, rejecting a configurable fraction, through the response ring.
//!
//! The engine-side `send` only pushes `(order id, due time)` into an SPSC ring (no allocation, no
//! syscall). The exchange thread keeps pending answers in a min-heap by due time, pre-sized so it
//! does not grow in steady state, and sleeps briefly when idle (it is a test fixture, not the
//! measured path).

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::thread::JoinHandle;
use std::time::Duration;

use crossbeam_queue::ArrayQueue;

use super::Exchange;
use crate::clock::EngineClock;
use crate::model::{Logon, Logout, OrderRequest, OrderResponse, ResponseType};
use crate::ring::Responder;

/// A checked `[exchange]` section: how the simulated exchange answers.
#[derive(Clone, Debug, PartialEq)]
pub struct SimulatedSettings {
    /// Shortest response latency, µs.
    pub latency_min_us: u64,
    /// Longest response latency, µs (= min for a fixed latency).
    pub latency_max_us: u64,
    /// Fraction of orders rejected, 0.0 ..= 1.0.
    pub reject_ratio: f64,
    /// Random seed (latency and reject draws are reproducible).
    pub seed: u64,
}

/// Counters shared with the exchange thread.
#[derive(Debug, Default)]
pub struct SimulatedStats {
    /// Orders received by `send`.
    pub received: AtomicU64,
    /// Orders that could not be queued to the exchange thread (its ring was full).
    pub overflow: AtomicU64,
    /// Accept responses delivered.
    pub accepted: AtomicU64,
    /// Reject responses delivered.
    pub rejected: AtomicU64,
    /// Logons received.
    pub logons: AtomicU64,
    /// Logouts received.
    pub logouts: AtomicU64,
}

/// The engine-side half of the simulated exchange (implements [`Exchange`]).
#[derive(Debug)]
pub struct SimulatedExchange {
    orders: Arc<ArrayQueue<(u64, u64)>>,
    clock: EngineClock,
    stats: Arc<SimulatedStats>,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl SimulatedExchange {
    /// Starts the exchange thread. `capacity` bounds orders awaiting an answer (use the engine's
    /// `max_in_flight`, which the engine never exceeds). `clock` must be the engine's clock.
    pub fn spawn(
        cfg: &SimulatedSettings,
        mut responder: Responder,
        clock: EngineClock,
        capacity: usize,
    ) -> std::io::Result<Self> {
        let orders: Arc<ArrayQueue<(u64, u64)>> = Arc::new(ArrayQueue::new(capacity.max(1)));
        let stats = Arc::new(SimulatedStats::default());
        let stop = Arc::new(AtomicBool::new(false));
        let (rx, st, stp, clk) = (orders.clone(), stats.clone(), stop.clone(), clock.clone());
        let min_ns = cfg.latency_min_us.saturating_mul(1000);
        let max_ns = cfg.latency_max_us.saturating_mul(1000).max(min_ns);
        let reject_ratio = cfg.reject_ratio;
        let mut rng = fastrand::Rng::with_seed(cfg.seed);
        let thread = std::thread::Builder::new().name("oms-sim-exchange".into()).spawn(move || {
            let mut due: BinaryHeap<Reverse<(u64, u64)>> = BinaryHeap::with_capacity(capacity.max(1));
            while !stp.load(Ordering::Relaxed) {
                while let Some((id, sent_ns)) = rx.pop() {
                    let latency = if max_ns > min_ns { rng.u64(min_ns..=max_ns) } else { min_ns };
                    due.push(Reverse((sent_ns.saturating_add(latency), id)));
                }
                let now = clk.now_ns();
                let mut worked = false;
                while let Some(&Reverse((at, id))) = due.peek() {
                    if at > now {
                        break;
                    }
                    let reject = rng.f64() < reject_ratio;
                    let response_type = if reject { ResponseType::Reject } else { ResponseType::Accept };
                    let mut resp = OrderResponse { order_id: id, response_type };
                    // The engine drains the ring every loop turn; wait for room rather than drop.
                    while let Err(back) = responder.on_data(resp) {
                        if stp.load(Ordering::Relaxed) {
                            return;
                        }
                        resp = back.0;
                        std::thread::yield_now();
                    }
                    due.pop();
                    let counter = if reject { &st.rejected } else { &st.accepted };
                    counter.fetch_add(1, Ordering::Relaxed);
                    worked = true;
                }
                if !worked {
                    std::thread::sleep(Duration::from_micros(20));
                }
            }
        })?;
        Ok(SimulatedExchange { orders, clock, stats, stop, thread: Some(thread) })
    }

    /// The shared counters.
    pub fn stats(&self) -> Arc<SimulatedStats> {
        self.stats.clone()
    }
}

impl Exchange for SimulatedExchange {
    #[inline]
    fn send(&mut self, order: &OrderRequest) {
        self.stats.received.fetch_add(1, Ordering::Relaxed);
        if self.orders.push((order.order_id, self.clock.now_ns())).is_err() {
            self.stats.overflow.fetch_add(1, Ordering::Relaxed);
        }
    }
    fn send_logon(&mut self, _logon: &Logon) {
        self.stats.logons.fetch_add(1, Ordering::Relaxed);
    }
    fn send_logout(&mut self, _logout: &Logout) {
        self.stats.logouts.fetch_add(1, Ordering::Relaxed);
    }
}

impl Drop for SimulatedExchange {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}
