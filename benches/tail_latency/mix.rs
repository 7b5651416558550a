//! The Modify / Cancel mix: 80 % New, 10 % Modify, 10 % Cancel of recently queued orders, with a
//! throttle at 60 % of the offered rate so that the queue grows deep (10 % of the offered rate
//! per second) and every Modify / Cancel is a lookup among many queued orders.
//!
//! The metric is **on_data → decision**: from a request's intended instant to the engine's first
//! record about it (`queued`, `sent`, `modified`, `cancelled` or `rejected`), i.e. the time the
//! OMS takes to take a request in and decide, which is what a deep queue could slow down. (A
//! queued order's send time is the throttle's, not the OMS's.) One producer ring: the engine
//! handles its requests in order and records each one's first event before taking the next, so
//! the k-th first record answers the k-th request.

use std::path::Path;
use std::time::Duration;

use hdrhistogram::Histogram;
use oms::engine::EngineBuilder;
use oms::{EngineClock, EventKind, EventRecord, EventSink, RequestType};

use crate::common;
use crate::driver::{self, Schedule, histogram};
use crate::oms_design::{self, ProbeExchange};

/// Share of New among the requests, in tenths (the rest split evenly into Modify and Cancel).
const NEW_TENTHS: u64 = 8;
/// A Modify / Cancel targets one of this many most recent New orders (likely still queued).
const RECENT: u64 = 512;

/// The request with index `i` of the mix: its type and its order fields.
pub fn request(i: u64) -> (RequestType, oms::OrderRequest) {
    let h = mix(i);
    let kind = match h % 10 {
        x if x < NEW_TENTHS => RequestType::New,
        x if x == NEW_TENTHS => RequestType::Modify,
        _ => RequestType::Cancel,
    };
    if kind == RequestType::New || i == 0 {
        return (RequestType::New, Schedule::order(i));
    }
    // The nearest New at or before a random recent index.
    let mut j = i - 1 - (h >> 8) % RECENT.min(i);
    while mix(j) % 10 >= NEW_TENTHS && j > 0 {
        j -= 1;
    }
    let mut o = Schedule::order(j);
    o.price += 0.25;
    o.qty += 1;
    (kind, o)
}

/// splitmix64: a fixed pseudo-random sequence, so both sides can recompute a request's type.
fn mix(i: u64) -> u64 {
    let mut z = i.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// Records the decision latency of every request (pre-sized; allocation-free while running).
pub struct MixProbe<S> {
    inner: S,
    schedule: Schedule,
    /// Index of the request whose first record comes next.
    next: u64,
    /// Ids (as request indices) queued and not yet sent: their `sent` is not a first record.
    queued: Vec<u64>,
    /// Decision latency per request type: New, Modify, Cancel.
    pub hist: [Histogram<u64>; 3],
    /// Requests rejected (any reason), per type.
    pub rejected: [u64; 3],
    /// First records seen.
    pub done: std::sync::Arc<std::sync::atomic::AtomicU64>,
    /// The worst decision latency and when (ns after the schedule's start) it ended.
    pub worst: (u64, u64),
}

impl<S> MixProbe<S> {
    fn new(inner: S, schedule: &Schedule) -> Self {
        MixProbe {
            inner,
            schedule: schedule.clone(),
            next: 0,
            queued: vec![0; (schedule.orders as usize).div_ceil(64) + 1],
            hist: [histogram(), histogram(), histogram()],
            rejected: [0; 3],
            done: Default::default(),
            worst: (0, 0),
        }
    }

    fn bit(&mut self, id: u64) -> (&mut u64, u64) {
        let i = Schedule::index(id);
        (&mut self.queued[(i / 64) as usize], 1 << (i % 64))
    }
}

fn slot(t: RequestType) -> usize {
    match t {
        RequestType::Modify => 1,
        RequestType::Cancel => 2,
        _ => 0,
    }
}

impl<S: EventSink> EventSink for MixProbe<S> {
    #[inline(always)]
    fn record(&mut self, e: &EventRecord) {
        self.inner.record(e);
        let first = match e.kind {
            EventKind::Queued => {
                let (w, b) = self.bit(e.order_id);
                *w |= b;
                true
            }
            EventKind::Sent => {
                let (w, b) = self.bit(e.order_id);
                let from_queue = *w & b != 0;
                *w &= !b;
                !from_queue
            }
            EventKind::Modified | EventKind::Cancelled => true,
            EventKind::Rejected => {
                !matches!(e.reason, Some(oms::RejectReason::SessionEnded | oms::RejectReason::Shutdown))
            }
            _ => false,
        };
        if e.kind == EventKind::Cancelled {
            let (w, b) = self.bit(e.order_id);
            *w &= !b;
        }
        if !first || self.next >= self.schedule.orders {
            return;
        }
        let i = self.next;
        self.next += 1;
        let (kind, _) = request(i);
        if e.kind == EventKind::Rejected {
            self.rejected[slot(kind)] += 1;
        }
        if i >= self.schedule.warmup {
            let now = self.schedule.since_start_ns(self.schedule.clock.raw());
            let lat = now.saturating_sub(self.schedule.intended_ns(i)).max(1);
            self.hist[slot(kind)].saturating_record(lat);
            if lat > self.worst.0 {
                self.worst = (lat, now);
            }
        }
        self.done.store(self.next, std::sync::atomic::Ordering::Release);
    }
    fn has_room(&self) -> bool {
        self.inner.has_room()
    }
    fn takes_requests(&self) -> bool {
        self.inner.takes_requests()
    }
    fn housekeep(&mut self) -> bool {
        self.inner.housekeep()
    }
    fn sync(&mut self) {
        self.inner.sync()
    }
}

/// Outcome of one mix run.
pub struct Outcome {
    /// Decision latency per request type (New, Modify, Cancel).
    pub hist: [Histogram<u64>; 3],
    /// Rejected requests per type (Modify / Cancel of an order already sent: `request_pending`
    /// before its answer, `not_open` after it).
    pub rejected: [u64; 3],
    /// Deepest the queue was.
    pub max_queue: u64,
    /// Every request decided before the timeout.
    pub complete: bool,
    /// Involuntary context switches during the run.
    pub preempted: u64,
    /// The worst decision latency (ns), the `CLOCK_MONOTONIC` instant (ns) it ended at, and
    /// when it started (ns after the schedule's start).
    pub worst: (u64, u64, u64),
    /// The engine's turns of 1 ms or more and the producer's gaps of 1 ms or more between
    /// two clock readings, as text (ms after the schedule's start).
    pub stalls: (String, String),
    /// Where the engine's and the producer's time went during the run.
    pub time: (driver::Whereabouts, driver::Whereabouts),
    /// Steal time per vCPU during the run (ms, 10 ms resolution).
    pub steal_ms: Vec<u64>,
}

/// One run of the mix at the schedule's rate, throttle at 60 % of it.
pub fn run(schedule: &Schedule, engine_core: Option<usize>, dir: &Path) -> Outcome {
    driver::settle();
    let rate = schedule.rate.expect("the mix is paced");
    let x = u32::try_from(rate * 6 / 10).unwrap_or(u32::MAX).max(1);
    let mut raw = common::raw_config(engine_core, x, x.min(1000), dir);
    raw.engine.max_queued_orders = (schedule.orders as usize).next_power_of_two();
    // Records per request: a New is queued, then sent, then answered (3); a Modify or Cancel
    // is one record. The session's space is prepared before logon for all of them.
    raw.journal.prepare_records = Some(schedule.orders * 3 + 65_536);
    raw.engine.max_in_flight = 1 << 16;
    let cfg = raw.validate().expect("bench config is valid");
    let clock = EngineClock::new(schedule.clock.clone(), oms::clock::system_wall_ns());
    let (mut b, responder) = EngineBuilder::new(&cfg.engine, clock.clone());
    let mut producer = b.producer().expect("a producer handle");
    let journal = common::make_sink(&raw, &clock);
    let sink = MixProbe::new(journal, schedule);
    let done = sink.done.clone();
    let engine = b.build(ProbeExchange::new(schedule, responder), sink);
    let (schedule, engine, engine_time) =
        oms_design::start(engine, &cfg.runner, schedule, |sink, s| sink.schedule = s.clone());
    let schedule = &schedule;
    let pre = driver::preemptions();
    let steal = driver::steal_ms();
    driver::produce_requests(schedule, request, |t, o| producer.on_data(o, t).map_err(|e| e.order));
    let complete = driver::wait_for(&done, schedule.orders, Duration::from_secs(60));
    let engine_time = engine_time.stop();
    let preempted = driver::preemptions() - pre;
    let steal_ms = driver::steal_ms().iter().zip(&steal).map(|(b, a)| b - a).collect();
    let report = engine.stop().expect("engine thread stops cleanly");
    // Engine-clock ns → ns after the schedule's start.
    let start_engine_ns = clock.mono_ns(schedule.start_raw);
    let engine = report.exchange.turns.describe(|ns| ns.saturating_sub(start_engine_ns), |ns| ns, "sent");
    let (producer_stalls, producer_time) = driver::producer_stalls();
    let producer = producer_stalls.describe(
        |raw| schedule.since_start_ns(raw),
        |ticks| schedule.clock.delta_as_nanos(0, ticks),
        "requests",
    );
    Outcome {
        stalls: (engine, producer),
        time: (engine_time, producer_time),
        steal_ms,
        hist: report.sink.hist,
        rejected: report.sink.rejected,
        max_queue: report.stats.max_queue_len,
        complete,
        preempted,
        worst: (
            report.sink.worst.0,
            schedule.start_mono_ns + report.sink.worst.1,
            report.sink.worst.1.saturating_sub(report.sink.worst.0),
        ),
    }
}
