//! Cancel of a working order on the wire: on_data(Cancel) → `Exchange::send_cancel`, beside
//! on_data(New) → `Exchange::send` in the same run.
//!
//! The requests, in one producer ring at the offered rate: the first [`LAG`] are New orders;
//! after them New and Cancel alternate, the k-th Cancel (k from 1) for order k, so each Cancel
//! comes 1 + 2·[`LAG`] requests after its order's New (at least [`LAG`] + 1 for the first
//! ones): long after the order's accept, so every Cancel meets a working order. The exchange
//! accepts each New at once (the order is working) and answers each cancel `Cancelled` at once
//! (the order ends), both through the response ring, so about [`LAG`] orders are working at any
//! time and the open-order table never fills. The throttle (2·10⁹/s) never binds: nothing
//! queues, and the section counts the `queued` / `cancel_queued` records to show it.
//!
//! The measurement is the New path's: the time from the request's intended instant to the
//! exchange adapter's call (`send` or `send_cancel`), read on the engine thread with the
//! engine's clock into pre-sized hdrhistograms. A request refused instead (e.g.
//! `request_pending`, a Cancel before its order's first answer) is counted, not timed.

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicI32, AtomicU64, Ordering};
use std::time::Duration;

use hdrhistogram::Histogram;
use oms::engine::EngineBuilder;
use oms::exchange::NotSent;
use oms::{
    Answer, EngineClock, EventKind, EventRecord, EventSink, Exchange, Logon, Logout, OrderRequest,
    OrderResponse, RejectReason, RequestType, Responder, ResponseType,
};

use crate::common;
use crate::driver::{self, Schedule, Stalls, histogram};
use crate::oms_design::{self, Measuring};

/// New orders ahead of the first Cancel: a Cancel comes at least `LAG + 1` requests (10 ms at
/// 100k/s) after its order's New, and about `LAG` orders are working at any time.
pub const LAG: u64 = 1024;

/// The request with index `i`: its type and its order fields (a Cancel carries its order's).
pub fn request(i: u64) -> (RequestType, OrderRequest) {
    if i < LAG {
        return (RequestType::New, Schedule::order(i));
    }
    let j = i - LAG;
    if j.is_multiple_of(2) {
        (RequestType::New, Schedule::order(LAG + j / 2))
    } else {
        (RequestType::Cancel, Schedule::order(j / 2))
    }
}

/// Index of the New of order `id`.
#[inline(always)]
fn new_index(id: u64) -> u64 {
    let k = Schedule::index(id);
    if k < LAG { k } else { LAG + 2 * (k - LAG) }
}

/// Index of the Cancel of order `id`.
#[inline(always)]
fn cancel_index(id: u64) -> u64 {
    LAG + 2 * Schedule::index(id) + 1
}

/// The exchange of the section: stamps `send` and `send_cancel`, accepts each New and carries
/// out each cancel at once through the response ring.
pub struct CancelExchange {
    schedule: Schedule,
    responder: Responder,
    /// on_data(New) → `send`, ns from the intended instant.
    pub new_send: Histogram<u64>,
    /// on_data(Cancel) → `send_cancel`, ns from the intended instant.
    pub cancel_send: Histogram<u64>,
    /// New orders sent.
    pub sent: u64,
    /// Cancels sent.
    pub cancels: u64,
    /// Answers the ring refused (must stay 0 for a valid run).
    pub lost: u64,
    /// Most orders working at the exchange at once (accepted, their cancel not yet sent).
    pub max_working: u64,
    /// The engine's turns of 1 ms or more (see `ProbeExchange::turns`); the work counted is
    /// messages sent.
    pub turns: Stalls,
    /// The engine thread's id, set at its first turn.
    pub tid: Arc<AtomicI32>,
}

impl CancelExchange {
    fn new(schedule: &Schedule, responder: Responder) -> Self {
        CancelExchange {
            schedule: schedule.clone(),
            responder,
            new_send: histogram(),
            cancel_send: histogram(),
            sent: 0,
            cancels: 0,
            lost: 0,
            max_working: 0,
            turns: Stalls::new(0, 1_000_000),
            tid: Default::default(),
        }
    }

    /// Records the latency of request `i` into `h` (after the warm-up).
    #[inline(always)]
    fn stamp(schedule: &Schedule, h: &mut Histogram<u64>, i: u64) {
        if i >= schedule.warmup {
            let now = schedule.since_start_ns(schedule.clock.raw());
            h.saturating_record(now.saturating_sub(schedule.intended_ns(i)).max(1));
        }
    }

    #[inline(always)]
    fn say(&mut self, answer: Answer) {
        if self.responder.on_answer(answer).is_err() {
            self.lost += 1;
        }
    }
}

impl Measuring for CancelExchange {
    fn restart(&mut self, schedule: &Schedule) {
        self.schedule = schedule.clone();
    }
    fn tid(&self) -> Arc<AtomicI32> {
        self.tid.clone()
    }
}

impl Exchange for CancelExchange {
    #[inline(always)]
    fn send(&mut self, order: &OrderRequest) -> Result<(), NotSent> {
        Self::stamp(&self.schedule, &mut self.new_send, new_index(order.order_id));
        self.sent += 1;
        self.max_working = self.max_working.max(self.sent - self.cancels);
        let order_id = order.order_id;
        self.say(Answer::Response(OrderResponse { order_id, response_type: ResponseType::Accept }));
        Ok(())
    }
    #[inline(always)]
    fn send_cancel(&mut self, order: &OrderRequest) -> Result<(), NotSent> {
        Self::stamp(&self.schedule, &mut self.cancel_send, cancel_index(order.order_id));
        self.cancels += 1;
        self.say(Answer::Cancelled { order_id: order.order_id });
        Ok(())
    }
    fn send_logon(&mut self, _logon: &Logon) {}
    fn send_logout(&mut self, _logout: &Logout) {}
    #[inline(always)]
    fn poll(&mut self, now_ns: u64, _events: &mut dyn FnMut(oms::exchange::ExchangeEvent<'_>)) -> usize {
        if self.turns.is_fresh() {
            self.tid.store(driver::current_tid(), Ordering::Release);
        }
        self.turns.see(now_ns, self.sent + self.cancels);
        0
    }
}

/// Wraps the journal: counts the requests decided (sent, cancel sent, or rejected) to tell the
/// driver when the run is over, and what should not happen in it (queueing, rejects).
pub struct CancelSink<S> {
    inner: S,
    /// Requests decided: `sent`, `cancel_sent` and request `rejected` records.
    pub done: Arc<AtomicU64>,
    decided: u64,
    /// `queued` and `cancel_queued` records (0 expected: the throttle never binds).
    pub queued: u64,
    /// Rejected requests: New, Cancel.
    pub rejected: [u64; 2],
    /// The first reject's reason, if any.
    pub first_reject: Option<RejectReason>,
    /// Cancels carried out (`venue_cancelled` records).
    pub cancelled: u64,
}

impl<S: EventSink> EventSink for CancelSink<S> {
    #[inline(always)]
    fn record(&mut self, e: &EventRecord) {
        self.inner.record(e);
        match e.kind {
            EventKind::Sent | EventKind::CancelSent => self.decided += 1,
            EventKind::Queued | EventKind::CancelQueued => {
                self.queued += 1;
                return;
            }
            EventKind::VenueCancelled => {
                self.cancelled += 1;
                return;
            }
            EventKind::Rejected
                if !matches!(e.reason, Some(RejectReason::SessionEnded | RejectReason::Shutdown)) =>
            {
                self.decided += 1;
                self.rejected[usize::from(e.request == RequestType::Cancel)] += 1;
                self.first_reject = self.first_reject.or(e.reason);
            }
            _ => return,
        }
        self.done.store(self.decided, Ordering::Release);
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

/// Outcome of one run of the section.
pub struct Outcome {
    /// on_data(New) → `send`.
    pub new_send: Histogram<u64>,
    /// on_data(Cancel) → `send_cancel`.
    pub cancel_send: Histogram<u64>,
    /// New orders and cancels sent.
    pub sent: (u64, u64),
    /// Cancels carried out (recorded `venue_cancelled`) by the engine's stop.
    pub cancelled: u64,
    /// `queued` / `cancel_queued` records (0 expected).
    pub queued: u64,
    /// Rejected New, Cancel requests, and the first reason.
    pub rejected: ([u64; 2], Option<RejectReason>),
    /// Answers lost to a full response ring (0 expected).
    pub lost: u64,
    /// Most orders working at the exchange at once.
    pub max_working: u64,
    /// Every request decided before the timeout.
    pub complete: bool,
    /// Involuntary context switches during the run.
    pub preempted: u64,
    /// The engine's turns of 1 ms or more and the producer's gaps of 1 ms or more, as text.
    pub stalls: (String, String),
    /// Where the engine's and the producer's time went during the run.
    pub time: (driver::Whereabouts, driver::Whereabouts),
    /// Steal time per vCPU during the run (ms, 10 ms resolution).
    pub steal_ms: Vec<u64>,
}

/// One run of the section at the schedule's rate.
pub fn run(schedule: &Schedule, engine_core: Option<usize>, dir: &Path) -> Outcome {
    driver::settle();
    let mut raw = common::raw_config(engine_core, 2_000_000_000, 2_000_000_000, dir);
    // Two records per request (New: sent, response; Cancel: cancel_sent, venue_cancelled),
    // prepared before logon.
    raw.journal.prepare_records = Some(schedule.orders * 2 + 65_536);
    let cfg = raw.validate().expect("bench config is valid");
    let clock = EngineClock::new(schedule.clock.clone(), oms::clock::system_wall_ns());
    let (mut b, responder) = EngineBuilder::new(&cfg.engine, clock.clone());
    let mut producer = b.producer().expect("a producer handle");
    let journal = common::make_sink(&raw, &clock);
    let sink = CancelSink {
        inner: journal,
        done: Default::default(),
        decided: 0,
        queued: 0,
        rejected: [0; 2],
        first_reject: None,
        cancelled: 0,
    };
    let done = sink.done.clone();
    let engine = b.build(CancelExchange::new(schedule, responder), sink);
    let (schedule, engine, engine_time) = oms_design::start(engine, &cfg.runner, schedule, |_, _| {});
    let schedule = &schedule;
    let pre = driver::preemptions();
    let steal = driver::steal_ms();
    driver::produce_requests(schedule, request, |t, o| producer.on_data(o, t).map_err(|e| e.order));
    let complete = driver::wait_for(&done, schedule.orders, Duration::from_secs(60));
    let engine_time = engine_time.stop();
    let preempted = driver::preemptions() - pre;
    let steal_ms = driver::steal_ms().iter().zip(&steal).map(|(b, a)| b - a).collect();
    let report = engine.stop().expect("engine thread stops cleanly");
    let start_engine_ns = clock.mono_ns(schedule.start_raw);
    let engine = report.exchange.turns.describe(|ns| ns.saturating_sub(start_engine_ns), |ns| ns, "sent");
    let (producer_stalls, producer_time) = driver::producer_stalls();
    let producer = producer_stalls.describe(
        |raw| schedule.since_start_ns(raw),
        |ticks| schedule.clock.delta_as_nanos(0, ticks),
        "requests",
    );
    let x = report.exchange;
    Outcome {
        new_send: x.new_send,
        cancel_send: x.cancel_send,
        sent: (x.sent, x.cancels),
        cancelled: report.sink.cancelled,
        queued: report.sink.queued,
        rejected: (report.sink.rejected, report.sink.first_reject),
        lost: x.lost,
        max_working: x.max_working,
        complete,
        preempted,
        stalls: (engine, producer),
        time: (engine_time, producer_time),
        steal_ms,
    }
}
