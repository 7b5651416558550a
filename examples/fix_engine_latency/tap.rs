//! What the latency example measures with: an exchange wrapper that stamps when each order's
//! turn has written it, and a sink that turns `sent` / `response` records into latencies.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use hdrhistogram::Histogram;
use oms::exchange::NotSent;
use oms::exchange::{Exchange, ExchangeEvent};
use oms::{EngineClock, EventKind, EventRecord, EventSink, Logon, Logout, OrderRequest, ResponseType};

/// Shared between the producer and the engine thread's wrappers.
pub struct Shared {
    /// The first order's intended time (monotonic ns), set before it is sent.
    pub t0: AtomicU64,
    /// Between intended times, ns.
    pub interval: u64,
    /// The exchange was ready once.
    pub ready: AtomicBool,
    /// Orders answered so far.
    pub answered: AtomicU64,
}

impl Shared {
    fn intended(&self, id: u64) -> u64 {
        self.t0.load(Ordering::Relaxed) + (id - 1) * self.interval
    }
}

fn histogram() -> Result<Histogram<u64>, String> {
    Histogram::new_with_bounds(1, 120_000_000_000, 3).map_err(|e| e.to_string())
}

/// The exchange, with each order's "written" time: after the `poll` of the turn that sent it.
pub struct WireTap {
    inner: Box<dyn Exchange + Send>,
    clock: EngineClock,
    shared: Arc<Shared>,
    pending: Vec<u64>,
    wire: Histogram<u64>,
    turns_with_orders: u64,
    orders: u64,
}

impl WireTap {
    pub fn new(
        inner: Box<dyn Exchange + Send>,
        clock: EngineClock,
        shared: Arc<Shared>,
        n: u64,
    ) -> Result<Self, String> {
        let pending = Vec::with_capacity(usize::try_from(n).map_err(|_| "too many orders")?.min(1 << 20));
        Ok(WireTap { inner, clock, shared, pending, wire: histogram()?, turns_with_orders: 0, orders: 0 })
    }

    pub fn wire(&self) -> &Histogram<u64> {
        &self.wire
    }

    pub fn orders_per_write(&self) -> f64 {
        self.orders as f64 / self.turns_with_orders.max(1) as f64
    }
}

impl Exchange for WireTap {
    fn send(&mut self, order: &OrderRequest) -> Result<(), NotSent> {
        self.inner.send(order)?;
        if self.pending.len() < self.pending.capacity() {
            self.pending.push(order.order_id);
        }
        Ok(())
    }
    fn send_logon(&mut self, logon: &Logon) {
        self.inner.send_logon(logon);
    }
    fn send_logout(&mut self, logout: &Logout) {
        self.inner.send_logout(logout);
    }
    fn ready(&self) -> bool {
        self.inner.ready()
    }
    fn poll(&mut self, now_ns: u64, events: &mut dyn FnMut(ExchangeEvent<'_>)) -> usize {
        let work = self.inner.poll(now_ns, events);
        if !self.pending.is_empty() {
            let t = self.clock.now_ns();
            self.turns_with_orders += 1;
            for id in self.pending.drain(..) {
                let _ = self.wire.record(t.saturating_sub(self.shared.intended(id)).max(1));
                self.orders += 1;
            }
        }
        if self.inner.ready() && !self.shared.ready.load(Ordering::Relaxed) {
            self.shared.ready.store(true, Ordering::Release);
        }
        work
    }
    fn next_deadline_ns(&self) -> Option<u64> {
        self.inner.next_deadline_ns()
    }
}

/// Latencies from the engine's records.
pub struct LatencySink {
    clock: EngineClock,
    shared: Arc<Shared>,
    sent_wall: Vec<i64>,
    pub round_trip: Histogram<u64>,
    pub send_to_answer: Histogram<u64>,
    pub rejected: u64,
}

impl LatencySink {
    pub fn new(clock: EngineClock, shared: Arc<Shared>, n: u64) -> Result<Self, String> {
        let n = usize::try_from(n).map_err(|_| "too many orders")?;
        Ok(LatencySink {
            clock,
            shared,
            sent_wall: vec![0; n + 1],
            round_trip: histogram()?,
            send_to_answer: histogram()?,
            rejected: 0,
        })
    }
}

impl EventSink for LatencySink {
    fn record(&mut self, r: &EventRecord) {
        let Some(i) = usize::try_from(r.order_id).ok().filter(|i| *i < self.sent_wall.len()) else { return };
        match r.kind {
            EventKind::Sent => self.sent_wall[i] = r.time_ns,
            EventKind::Response => {
                let intended = self.clock.wall_ns(self.shared.intended(r.order_id));
                let arrival = self.sent_wall[i] + r.latency_ns as i64;
                let _ = self.round_trip.record(arrival.saturating_sub(intended).max(1) as u64);
                let _ = self.send_to_answer.record(r.latency_ns.max(1));
                self.rejected += u64::from(r.response == ResponseType::Reject);
                self.shared.answered.fetch_add(1, Ordering::Release);
            }
            _ => {}
        }
    }
}
