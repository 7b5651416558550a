//! A simulated exchange on its own thread: answers every order after a latency drawn from a
//! fixed value or a uniform range, rejecting a configurable fraction, through the response ring.
//!
//! Both draws for an order (its latency, then whether it is rejected) are made when the exchange
//! thread takes the order, in the order the orders were sent, so a seed gives every order the
//! same latency and verdict however the threads interleave.
//!
//! The engine-side `send` only pushes `(order id, send time)` into an SPSC ring (rtrb; the engine
//! thread is its one producer): no allocation, no syscall. The exchange thread takes each order,
//! adds the drawn latency to its send time to get its due time, and keeps pending answers in a
//! min-heap by due time, pre-sized so it does not grow in steady state; it sleeps briefly when
//! idle (it is a test fixture, not the measured path).
//!
//! **No order is dropped.** An order that finds the ring full (a `capacity` below the engine's
//! `max_in_flight`, and an exchange thread behind) waits in a backlog on the engine side, in the
//! order sent, with its send time, and goes into the ring at the next `send` or
//! [`Exchange::poll`] that finds room: it is answered like any other order, its latency counting
//! the wait, and counted in [`SimulatedStats::overflow`]. The backlog allocates only when it
//! grows, which a `capacity` of at least `max_in_flight` never lets happen: every order in the
//! ring is in flight.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, VecDeque};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::thread::JoinHandle;
use std::time::Duration;

use super::{Exchange, ExchangeEvent, NotSent};
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
    /// Orders that found the ring to the exchange thread full and waited in the backlog (each is
    /// still answered).
    pub overflow: AtomicU64,
    /// Accept responses delivered.
    pub accepted: AtomicU64,
    /// Reject responses delivered.
    pub rejected: AtomicU64,
    /// Logons received.
    pub logons: AtomicU64,
    /// Logouts received.
    pub logouts: AtomicU64,
    /// Loop turns of the exchange thread. A test on a manual clock waits for two more turns
    /// after moving the clock: the second one began after the move, so it has seen it.
    pub turns: AtomicU64,
}

/// The engine-side half of the simulated exchange (implements [`Exchange`]).
#[derive(Debug)]
pub struct SimulatedExchange {
    /// `(order id, send time)`, engine thread to exchange thread.
    orders: rtrb::Producer<(u64, u64)>,
    /// Orders that found `orders` full, oldest first, `(order id, send time)`.
    backlog: VecDeque<(u64, u64)>,
    clock: EngineClock,
    stats: Arc<SimulatedStats>,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl SimulatedExchange {
    /// Starts the exchange thread. `capacity` sizes the ring of orders to it and its heap of
    /// pending answers: use the engine's `max_in_flight`, which the engine never exceeds, and the
    /// ring never fills (a smaller one makes orders wait in the backlog; see the module docs).
    /// `clock` must be the engine's clock.
    pub fn spawn(
        cfg: &SimulatedSettings,
        mut responder: Responder,
        clock: EngineClock,
        capacity: usize,
    ) -> std::io::Result<Self> {
        let (orders, mut rx) = rtrb::RingBuffer::<(u64, u64)>::new(capacity.max(1));
        let stats = Arc::new(SimulatedStats::default());
        let stop = Arc::new(AtomicBool::new(false));
        let (st, stp, clk) = (stats.clone(), stop.clone(), clock.clone());
        let min_ns = cfg.latency_min_us.saturating_mul(1000);
        let max_ns = cfg.latency_max_us.saturating_mul(1000).max(min_ns);
        let reject_ratio = cfg.reject_ratio;
        let mut rng = fastrand::Rng::with_seed(cfg.seed);
        let thread = std::thread::Builder::new().name("oms-sim-exchange".into()).spawn(move || {
            // (due time, order id, rejected?), earliest first.
            let mut due: BinaryHeap<Reverse<(u64, u64, bool)>> = BinaryHeap::with_capacity(capacity.max(1));
            while !stp.load(Ordering::Relaxed) {
                while let Ok((id, sent_ns)) = rx.pop() {
                    let latency = if max_ns > min_ns { rng.u64(min_ns..=max_ns) } else { min_ns };
                    let reject = rng.f64() < reject_ratio;
                    due.push(Reverse((sent_ns.saturating_add(latency), id, reject)));
                }
                let now = clk.now_ns();
                let mut worked = false;
                while let Some(&Reverse((at, id, reject))) = due.peek() {
                    if at > now {
                        break;
                    }
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
                st.turns.fetch_add(1, Ordering::SeqCst);
            }
        })?;
        Ok(SimulatedExchange { orders, backlog: VecDeque::new(), clock, stats, stop, thread: Some(thread) })
    }

    /// Moves backlogged orders into the ring while it has room, oldest first; returns how many.
    #[cold]
    fn flush_backlog(&mut self) -> usize {
        let mut moved = 0;
        while let Some(&order) = self.backlog.front() {
            if self.orders.push(order).is_err() {
                break;
            }
            self.backlog.pop_front();
            moved += 1;
        }
        moved
    }

    /// The shared counters.
    pub fn stats(&self) -> Arc<SimulatedStats> {
        self.stats.clone()
    }
}

impl Exchange for SimulatedExchange {
    #[inline]
    fn send(&mut self, order: &OrderRequest) -> Result<(), NotSent> {
        self.stats.received.fetch_add(1, Ordering::Relaxed);
        let entry = (order.order_id, self.clock.now_ns());
        // Behind a backlog, an order waits its turn: the thread takes orders in the order sent.
        if !self.backlog.is_empty() {
            self.flush_backlog();
        }
        if !self.backlog.is_empty() || self.orders.push(entry).is_err() {
            self.stats.overflow.fetch_add(1, Ordering::Relaxed);
            self.backlog.push_back(entry);
        }
        Ok(())
    }
    fn send_logon(&mut self, _logon: &Logon) {
        self.stats.logons.fetch_add(1, Ordering::Relaxed);
    }
    fn send_logout(&mut self, _logout: &Logout) {
        self.stats.logouts.fetch_add(1, Ordering::Relaxed);
    }
    fn poll(&mut self, _now_ns: u64, _events: &mut dyn FnMut(ExchangeEvent<'_>)) -> usize {
        if self.backlog.is_empty() { 0 } else { self.flush_backlog() }
    }
    /// While orders wait in the backlog, now: the engine keeps polling until they are handed over.
    fn next_deadline_ns(&self) -> Option<u64> {
        (!self.backlog.is_empty()).then(|| self.clock.now_ns())
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

#[cfg(test)]
mod tests {
    //! The exchange thread on a manual clock: the test moves the clock in small steps and, after
    //! each, waits until the thread has seen it (two more loop turns), so every response arrives
    //! at the first step at or after its due time and the latencies the engine records are exact
    //! to the step.

    use std::time::Instant;

    use super::*;
    use crate::config::Config;
    use crate::engine::{Engine, EngineBuilder};
    use crate::model::{EventKind, RequestType, Side};
    use crate::sink::MemorySink;

    /// 2026-11-23 10:30 in Asia/Kolkata: inside the default window (10:00-13:00).
    const WALL: i64 = 1_795_410_000_000_000_000;

    fn settings(latency_min_us: u64, latency_max_us: u64, reject_ratio: f64, seed: u64) -> SimulatedSettings {
        SimulatedSettings { latency_min_us, latency_max_us, reject_ratio, seed }
    }

    /// Waits (at most 10 s) until the exchange thread has started two more loop turns.
    fn settle(stats: &SimulatedStats) {
        let k = stats.turns.load(Ordering::SeqCst);
        let deadline = Instant::now() + Duration::from_secs(10);
        while stats.turns.load(Ordering::SeqCst) < k + 2 {
            assert!(Instant::now() < deadline, "the exchange thread made no progress in 10 s");
            std::thread::yield_now();
        }
    }

    /// One answered order: (order id, verdict, latency the engine recorded in ns).
    type Answer = (u64, ResponseType, u64);

    /// Sends `n` orders through an engine to a simulated exchange on a manual clock, the first
    /// `first` of them at once and the rest after `gap_steps` clock steps of `step_ns`, then
    /// steps the clock until every order is answered. Returns the answers sorted by order id.
    fn run(s: &SimulatedSettings, n: u64, first: u64, gap_steps: u64, step_ns: u64) -> Vec<Answer> {
        run_with_capacity(s, n, first, gap_steps, step_ns, n as usize)
    }

    /// [`run`] with the exchange's `capacity` given.
    fn run_with_capacity(
        s: &SimulatedSettings,
        n: u64,
        first: u64,
        gap_steps: u64,
        step_ns: u64,
        capacity: usize,
    ) -> Vec<Answer> {
        let mut cfg = Config::default();
        cfg.throttle.max_orders_per_sec = 1_000_000;
        cfg.throttle.burst = Some(n as u32);
        cfg.engine.ring_capacity = n as usize;
        cfg.engine.max_in_flight = n as usize;
        cfg.engine.max_queued_orders = n as usize;
        let valid = cfg.validate().expect("valid config");
        let (clock, mock) = EngineClock::manual(WALL);
        let (mut b, responder) = EngineBuilder::new(&valid.engine, clock);
        let mut producer = b.producer().expect("a producer handle");
        let sim = SimulatedExchange::spawn(s, responder, b.clock().clone(), capacity).expect("thread");
        let stats = sim.stats();
        let mut engine: Engine<SimulatedExchange, MemorySink> =
            b.build(sim, MemorySink::with_capacity(4 * n as usize));
        let mut send = |ids: std::ops::Range<u64>, engine: &mut Engine<_, _>| {
            for id in ids {
                let o = OrderRequest::new(id, 1, Side::Buy, 10.0, 1);
                producer.on_data(o, RequestType::New).expect("the ring holds every order");
            }
            engine.poll();
        };
        let answered = |engine: &Engine<_, MemorySink>| {
            engine.sink().events().iter().filter(|e| e.kind == EventKind::Response).count() as u64
        };
        send(1..first + 1, &mut engine);
        let deadline = Instant::now() + Duration::from_secs(60);
        let mut steps = 0;
        while answered(&engine) < n {
            assert!(Instant::now() < deadline, "{} of {n} answered in 60 s", answered(&engine));
            settle(&stats);
            if steps == gap_steps && first < n {
                send(first + 1..n + 1, &mut engine);
                settle(&stats);
            }
            mock.increment(step_ns);
            steps += 1;
            settle(&stats);
            while engine.poll() > 0 {}
        }
        assert_eq!(engine.stats().sent, n);
        assert_eq!(engine.stats().unmatched, 0);
        let mut answers: Vec<Answer> = engine
            .sink()
            .events()
            .iter()
            .filter(|e| e.kind == EventKind::Response)
            .map(|e| (e.order_id, e.response, e.latency_ns))
            .collect();
        answers.sort_by_key(|a| a.0);
        answers
    }

    #[test]
    fn latencies_stay_within_the_bounds_and_cover_them() {
        let answers = run(&settings(100, 300, 0.0, 1), 2000, 2000, 0, 1_000);
        let lat: Vec<u64> = answers.iter().map(|a| a.2).collect();
        assert!(lat.iter().all(|l| (100_000..=300_000).contains(l)), "{lat:?}");
        // Uniform over 200 µs, 2000 draws: both ends of the range are reached (to within 10 µs).
        assert!(lat.iter().min().is_some_and(|m| *m <= 110_000), "{lat:?}");
        assert!(lat.iter().max().is_some_and(|m| *m >= 290_000), "{lat:?}");
        let below_mid = lat.iter().filter(|l| **l < 200_000).count();
        assert!((800..=1200).contains(&below_mid), "{below_mid} of 2000 below the middle");
        assert!(answers.iter().all(|a| a.1 == ResponseType::Accept));
    }

    #[test]
    fn a_fixed_latency_is_exact() {
        let answers = run(&settings(150, 150, 0.0, 1), 500, 500, 0, 10_000);
        assert_eq!(answers.len(), 500);
        assert!(answers.iter().all(|a| a.2 == 150_000), "{answers:?}");
    }

    #[test]
    fn the_reject_ratio_is_honoured() {
        let rejects = |ratio: f64| {
            let answers = run(&settings(10, 10, ratio, 3), 2000, 2000, 0, 10_000);
            assert_eq!(answers.len(), 2000);
            answers.iter().filter(|a| a.1 == ResponseType::Reject).count()
        };
        assert_eq!(rejects(0.0), 0);
        assert_eq!(rejects(1.0), 2000);
        // Binomial(2000, 0.25): mean 500, standard deviation 19.4; ±100 is over 5 deviations.
        let quarter = rejects(0.25);
        assert!((400..=600).contains(&quarter), "{quarter} of 2000 rejected at ratio 0.25");
    }

    #[test]
    fn a_seed_gives_every_order_the_same_latency_and_verdict() {
        let s = settings(20, 400, 0.3, 42);
        let at_once = run(&s, 1000, 1000, 0, 1_000);
        // Half the orders first, the rest after some answers have gone out: the exchange
        // thread interleaves its work differently, the draws per order must not change.
        let in_two_goes = run(&s, 1000, 500, 150, 1_000);
        assert_eq!(at_once.len(), 1000);
        let differ = |a: &[Answer], b: &[Answer]| a.iter().zip(b).filter(|(x, y)| x != y).count();
        let first = at_once.iter().zip(&in_two_goes).find(|(x, y)| x != y);
        assert_eq!(differ(&at_once, &in_two_goes), 0, "same seed, first difference: {first:?}");
        let other_seed = run(&settings(20, 400, 0.3, 43), 1000, 1000, 0, 1_000);
        assert!(differ(&at_once, &other_seed) > 500, "another seed gives other draws");
    }

    /// A ring of one order: most of a burst finds it full. Every order is still answered,
    /// exactly once, as the exchange would answer it (here: accepted), not dropped or rejected.
    #[test]
    fn orders_that_find_the_ring_full_are_all_answered_once() {
        const N: u64 = 1000;
        let (clock, mock) = EngineClock::manual(WALL);
        let (responder, mut tap) = crate::exchange::response_tap(N as usize, &clock);
        let mut sim =
            SimulatedExchange::spawn(&settings(10, 10, 0.0, 5), responder, clock.clone(), 1).expect("thread");
        let stats = sim.stats();
        for id in 1..=N {
            sim.send(&OrderRequest::new(id, 1, Side::Buy, 10.0, 1)).expect("taken");
        }
        // Nothing is due before the clock moves: the thread takes at most one order per idle turn.
        assert!(stats.overflow.load(Ordering::Relaxed) > 0, "the ring never filled: the test proves nothing");
        mock.increment(10_000);
        let mut answers = vec![0u32; N as usize + 1];
        let mut got = 0;
        let deadline = Instant::now() + Duration::from_secs(10);
        while got < N {
            assert!(Instant::now() < deadline, "{got} of {N} orders answered in 10 s");
            sim.poll(clock.now_ns(), &mut |e| panic!("the simulated exchange reports nothing: {e:?}"));
            while let Some((r, _)) = tap.pop() {
                let crate::ring::Answer::Response(r) = r else { panic!("only first answers: {r:?}") };
                assert_eq!(r.response_type, ResponseType::Accept, "order {}", r.order_id);
                answers[r.order_id as usize] += 1;
                got += 1;
            }
            std::thread::yield_now();
        }
        // Two more turns of the exchange thread: a second answer to any order would show now.
        sim.poll(clock.now_ns(), &mut |_| {});
        settle(&stats);
        assert!(tap.is_empty(), "more answers than orders");
        let not_once: Vec<_> = (1..=N).filter(|&id| answers[id as usize] != 1).collect();
        assert!(not_once.is_empty(), "orders not answered exactly once: {not_once:?}");
        assert_eq!(stats.accepted.load(Ordering::Relaxed), N);
        assert_eq!(stats.received.load(Ordering::Relaxed), N);
    }

    /// Through the engine, an exchange with room for 2 of 300 orders sent at once: the engine
    /// polls the exchange each turn, the backlog drains, every order is answered once and matched.
    #[test]
    fn through_the_engine_a_small_capacity_answers_every_order() {
        let answers = run_with_capacity(&settings(50, 50, 0.0, 9), 300, 300, 0, 10_000, 2);
        let ids: Vec<u64> = answers.iter().map(|a| a.0).collect();
        assert_eq!(ids, (1..=300).collect::<Vec<_>>(), "each order answered exactly once");
        assert!(answers.iter().all(|a| a.1 == ResponseType::Accept && a.2 >= 50_000), "{answers:?}");
    }
}
