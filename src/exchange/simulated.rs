//! A simulated exchange on its own thread: answers every order after a latency drawn from a
//! fixed value or a uniform range, rejecting a configurable fraction, fills the orders it
//! accepts (a configurable fraction, in a configurable number of parts), and answers cancels
//! and replaces after a latency drawn the same way, through the response ring.
//!
//! **The model.** A New order is answered (accepted or rejected) a drawn latency after its send.
//! An accepted order that fills (`fill_ratio` of them) is filled in `fill_parts` parts,
//! `fill_interval_us` after the acknowledgment and after each other, each part a share of what
//! is left (`leaves / parts left`, rounded up; the last part takes the rest) at the order's
//! price; the other accepted orders stay working until they are cancelled. A cancel is carried
//! out (`Cancelled`) a drawn latency after its send, unless the order is no longer live then
//! (filled meanwhile: the cancel lost the race) — `CancelRejected` with code
//! [`CXL_REJ_TOO_LATE`]. A replace is carried out (`Replaced`: the fills still to come are
//! shares of the new quantity, at the new price) a drawn latency after its send, unless the
//! order is no longer live or has filled as much as the new quantity by then
//! (`CancelRejected`, [`CXL_REJ_TOO_LATE`]). At a Logout the venue's day ends: orders still
//! open there are forgotten and nothing more is said about them (their answers due after the
//! Logout are dropped; the engine records such orders `unanswered`).
//!
//! **Reproducible.** Every draw (a New's latency, then its verdict, then whether it fills; a
//! cancel's or a replace's latency) is made when the exchange thread takes the message, in the
//! order the engine sent them, and answers due at the same instant go in a fixed order (the
//! order of the messages that caused them), so a seed gives every order the same answers at the
//! same times however the threads interleave.
//!
//! The engine-side calls (`send`, `send_cancel`, `send_replace`, `send_logout`) only push a
//! small message with the clock's reading into an SPSC ring (rtrb; the engine thread is its one
//! producer): no allocation, no syscall. The exchange thread takes each message, adds the drawn
//! latency to its send time to get its due time, and keeps the answers it owes in a min-heap by
//! due time and the live orders in a map, both pre-sized so they do not grow in steady state.
//!
//! **Idle, it sleeps.** With nothing to take and nothing due, the exchange thread sleeps on a
//! [`Doorbell`] until the engine hands it a message (each `send` rings it: one fence and one
//! load, a system call only while the thread sleeps) or its next answer is due, at most
//! [`IDLE_SLEEP_MAX`]: an idle simulated exchange costs next to no CPU. On a manual clock
//! ([`EngineClock::is_manual`]) due times are not instants the thread can sleep until, so it
//! naps [`MANUAL_NAP`] at a time and looks again, as a test moves the clock.
//!
//! **No message is dropped.** A message that finds the ring full (a `capacity` below what the
//! engine has outstanding, and an exchange thread behind) waits in a backlog on the engine side,
//! in the order sent, with its send time, and goes into the ring at the next call or
//! [`Exchange::poll`] that finds room: it is answered like any other, its latency counting the
//! wait, and counted in [`SimulatedStats::overflow`]. The backlog is pre-sized to `capacity`
//! and allocates only beyond that.

use std::cmp::{Ordering as Order, Reverse};
use std::collections::{BinaryHeap, HashMap, VecDeque};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::thread::JoinHandle;
use std::time::Duration;

use super::{Exchange, ExchangeEvent, NotSent};
use crate::clock::EngineClock;
use crate::doorbell::Doorbell;
use crate::model::{Logon, Logout, OrderRequest, OrderResponse, ResponseType};
use crate::ring::{Answer, Responder};

/// The code of every `CancelRejected` the simulated exchange gives: FIX CxlRejReason (102) 0,
/// "too late to cancel" (the order filled, or was cancelled, before the request reached it).
pub const CXL_REJ_TOO_LATE: u32 = 0;

/// The longest sleep of an idle exchange thread: it wakes for a message from the engine or its
/// next due answer sooner.
pub const IDLE_SLEEP_MAX: Duration = Duration::from_millis(100);

/// How long an idle exchange thread on a manual clock sleeps before it looks at the clock again.
pub const MANUAL_NAP: Duration = Duration::from_micros(20);

/// Most parts an order may be filled in (`fill_parts`).
pub const MAX_FILL_PARTS: u32 = 1000;

/// A checked `[exchange]` section: how the simulated exchange answers.
#[derive(Clone, Debug, PartialEq)]
pub struct SimulatedSettings {
    /// Shortest latency of an answer (to a New, a cancel or a replace), µs.
    pub latency_min_us: u64,
    /// Longest latency, µs (= min for a fixed latency).
    pub latency_max_us: u64,
    /// Fraction of orders rejected, 0.0 ..= 1.0.
    pub reject_ratio: f64,
    /// Random seed (every draw is reproducible).
    pub seed: u64,
    /// Fraction of accepted orders that fill, 0.0 ..= 1.0; the others stay working until
    /// cancelled.
    pub fill_ratio: f64,
    /// Fills per filled order, 1 ..= [`MAX_FILL_PARTS`] (1: one full fill).
    pub fill_parts: u32,
    /// Time from the acknowledgment to the first fill and between fills, µs.
    pub fill_interval_us: u64,
}

impl Default for SimulatedSettings {
    /// The `[exchange]` defaults: 200..=800 µs, 10 % rejected, seed 1, every accepted order
    /// filled in one part 1 ms after its acknowledgment.
    fn default() -> Self {
        SimulatedSettings {
            latency_min_us: 200,
            latency_max_us: 800,
            reject_ratio: 0.1,
            seed: 1,
            fill_ratio: 1.0,
            fill_parts: 1,
            fill_interval_us: 1000,
        }
    }
}

/// Counters shared with the exchange thread.
#[derive(Debug, Default)]
pub struct SimulatedStats {
    /// Orders received by `send`.
    pub received: AtomicU64,
    /// Cancels received by `send_cancel`.
    pub cancels_received: AtomicU64,
    /// Replaces received by `send_replace`.
    pub replaces_received: AtomicU64,
    /// Messages that found the ring to the exchange thread full and waited in the backlog (each
    /// is still answered).
    pub overflow: AtomicU64,
    /// Accept responses delivered.
    pub accepted: AtomicU64,
    /// Reject responses delivered.
    pub rejected: AtomicU64,
    /// Fills delivered (every part).
    pub fills: AtomicU64,
    /// Orders filled in full (their last fill delivered).
    pub filled: AtomicU64,
    /// Cancels carried out.
    pub cancelled: AtomicU64,
    /// Replaces carried out.
    pub replaced: AtomicU64,
    /// Cancels and replaces refused (too late).
    pub cancel_rejected: AtomicU64,
    /// Logons received.
    pub logons: AtomicU64,
    /// Logouts received.
    pub logouts: AtomicU64,
    /// Loop turns of the exchange thread. A test on a manual clock waits for two more turns
    /// after moving the clock: the second one began after the move, so it has seen it.
    pub turns: AtomicU64,
}

impl SimulatedStats {
    /// Every answer delivered so far: first answers, fills, and answers to cancels and replaces.
    pub fn answers(&self) -> u64 {
        [&self.accepted, &self.rejected, &self.fills, &self.cancelled, &self.replaced, &self.cancel_rejected]
            .iter()
            .map(|c| c.load(Ordering::SeqCst))
            .sum()
    }
}

/// A message from the engine thread to the exchange thread, with the engine clock's reading
/// when it was handed over (monotonic ns).
#[derive(Clone, Copy, Debug)]
enum ToVenue {
    New { id: u64, qty: u64, px: f64, at_ns: u64 },
    Cancel { id: u64, at_ns: u64 },
    Replace { id: u64, qty: u64, px: f64, at_ns: u64 },
    Logout { at_ns: u64 },
}

/// The engine-side half of the simulated exchange (implements [`Exchange`]).
#[derive(Debug)]
pub struct SimulatedExchange {
    /// Engine thread to exchange thread.
    to_venue: rtrb::Producer<ToVenue>,
    /// Messages that found `to_venue` full, oldest first.
    backlog: VecDeque<ToVenue>,
    /// Rung after each message handed over: wakes the exchange thread.
    bell: Arc<Doorbell>,
    clock: EngineClock,
    stats: Arc<SimulatedStats>,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl SimulatedExchange {
    /// Starts the exchange thread. `capacity` sizes the ring of messages to it, the backlog,
    /// its book of live orders and its heap of answers owed: use the engine's
    /// `max_working_orders`, which bounds the orders open at once (a smaller one makes messages
    /// wait in the backlog; see the module docs). `clock` must be the engine's clock.
    pub fn spawn(
        cfg: &SimulatedSettings,
        responder: Responder,
        clock: EngineClock,
        capacity: usize,
    ) -> std::io::Result<Self> {
        let capacity = capacity.max(1);
        let (to_venue, mut rx) = rtrb::RingBuffer::<ToVenue>::new(capacity);
        let stats = Arc::new(SimulatedStats::default());
        let stop = Arc::new(AtomicBool::new(false));
        let mut venue = Matcher::new(cfg, responder, stats.clone(), stop.clone(), capacity);
        let clk = clock.clone();
        let bell = Arc::new(Doorbell::new());
        let thread_bell = bell.clone();
        let thread = std::thread::Builder::new().name("oms-sim-exchange".into()).spawn(move || {
            while !venue.stopped() {
                let mut worked = false;
                while let Ok(msg) = rx.pop() {
                    worked = true;
                    if venue.take(msg).is_err() {
                        return;
                    }
                }
                match venue.deliver_until(clk.now_ns()) {
                    Ok(n) => worked |= n > 0,
                    Err(Stopped) => return,
                }
                if !worked {
                    venue.idle(&thread_bell, &rx, &clk);
                }
                venue.stats.turns.fetch_add(1, Ordering::SeqCst);
            }
        })?;
        Ok(SimulatedExchange {
            to_venue,
            backlog: VecDeque::with_capacity(capacity),
            bell,
            clock,
            stats,
            stop,
            thread: Some(thread),
        })
    }

    /// Hands a message to the exchange thread, through the backlog if it is not empty or the
    /// ring is full.
    #[inline]
    fn hand_over(&mut self, msg: ToVenue) {
        // Behind a backlog, a message waits its turn: the thread takes them in the order sent.
        if !self.backlog.is_empty() {
            self.flush_backlog();
        }
        if !self.backlog.is_empty() || self.to_venue.push(msg).is_err() {
            self.stats.overflow.fetch_add(1, Ordering::Relaxed);
            self.backlog.push_back(msg);
        } else {
            self.bell.ring();
        }
    }

    /// Moves backlogged messages into the ring while it has room, oldest first; returns how
    /// many.
    #[cold]
    fn flush_backlog(&mut self) -> usize {
        let mut moved = 0;
        while let Some(&msg) = self.backlog.front() {
            if self.to_venue.push(msg).is_err() {
                break;
            }
            self.backlog.pop_front();
            moved += 1;
        }
        if moved > 0 {
            self.bell.ring();
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
        let at_ns = self.clock.now_ns();
        self.hand_over(ToVenue::New { id: order.order_id, qty: order.qty, px: order.price, at_ns });
        Ok(())
    }
    #[inline]
    fn send_cancel(&mut self, order: &OrderRequest) -> Result<(), NotSent> {
        self.stats.cancels_received.fetch_add(1, Ordering::Relaxed);
        let at_ns = self.clock.now_ns();
        self.hand_over(ToVenue::Cancel { id: order.order_id, at_ns });
        Ok(())
    }
    #[inline]
    fn send_replace(&mut self, order: &OrderRequest) -> Result<(), NotSent> {
        self.stats.replaces_received.fetch_add(1, Ordering::Relaxed);
        let at_ns = self.clock.now_ns();
        self.hand_over(ToVenue::Replace { id: order.order_id, qty: order.qty, px: order.price, at_ns });
        Ok(())
    }
    fn send_logon(&mut self, _logon: &Logon) {
        self.stats.logons.fetch_add(1, Ordering::Relaxed);
    }
    fn send_logout(&mut self, _logout: &Logout) {
        self.stats.logouts.fetch_add(1, Ordering::Relaxed);
        let at_ns = self.clock.now_ns();
        self.hand_over(ToVenue::Logout { at_ns });
    }
    fn poll(&mut self, _now_ns: u64, _events: &mut dyn FnMut(ExchangeEvent<'_>)) -> usize {
        if self.backlog.is_empty() { 0 } else { self.flush_backlog() }
    }
    /// While messages wait in the backlog, now: the engine keeps polling until they are handed
    /// over.
    fn next_deadline_ns(&self) -> Option<u64> {
        (!self.backlog.is_empty()).then(|| self.clock.now_ns())
    }
}

impl Drop for SimulatedExchange {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        self.bell.ring();
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// The exchange thread was told to stop while it waited for room in the response ring.
struct Stopped;

/// An order live at the simulated venue.
#[derive(Clone, Copy, Debug)]
struct Resting {
    /// The sequence number of its New message: answers owed to an earlier order of the same id
    /// (ended, its id used again) do not apply to it.
    origin: u64,
    qty: u64,
    cum: u64,
    px: f64,
    /// Fills still to come (0 for an order that does not fill).
    parts_left: u32,
}

/// An answer owed, due at `at` (monotonic ns).
#[derive(Clone, Copy, Debug)]
struct Due {
    at: u64,
    /// The sequence number of the message that caused it (for a fill: the order's New).
    origin: u64,
    /// 0 for the answer to the message itself; fill `k` is step `k`.
    step: u32,
    id: u64,
    what: What,
}

#[derive(Clone, Copy, Debug)]
enum What {
    Ack { reject: bool },
    Fill,
    Cancel,
    Replace { qty: u64, px: f64 },
}

/// Answers due at the same instant go in the order of the messages that caused them: `(at,
/// origin, step)` is unique, so nothing else needs comparing.
impl Ord for Due {
    fn cmp(&self, other: &Self) -> Order {
        (self.at, self.origin, self.step).cmp(&(other.at, other.origin, other.step))
    }
}
impl PartialOrd for Due {
    fn partial_cmp(&self, other: &Self) -> Option<Order> {
        Some(self.cmp(other))
    }
}
impl PartialEq for Due {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Order::Equal
    }
}
impl Eq for Due {}

/// The exchange thread's state: the settings in ns, the draws, the book and the answers owed.
struct Matcher {
    min_ns: u64,
    max_ns: u64,
    reject_ratio: f64,
    fill_ratio: f64,
    fill_parts: u32,
    fill_interval_ns: u64,
    rng: fastrand::Rng,
    /// Messages taken so far (the last one's sequence number).
    seq: u64,
    book: HashMap<u64, Resting>,
    due: BinaryHeap<Reverse<Due>>,
    responder: Responder,
    stats: Arc<SimulatedStats>,
    stop: Arc<AtomicBool>,
}

impl Matcher {
    fn new(
        cfg: &SimulatedSettings,
        responder: Responder,
        stats: Arc<SimulatedStats>,
        stop: Arc<AtomicBool>,
        capacity: usize,
    ) -> Matcher {
        let min_ns = cfg.latency_min_us.saturating_mul(1000);
        Matcher {
            min_ns,
            max_ns: cfg.latency_max_us.saturating_mul(1000).max(min_ns),
            reject_ratio: cfg.reject_ratio,
            fill_ratio: cfg.fill_ratio,
            fill_parts: cfg.fill_parts.clamp(1, MAX_FILL_PARTS),
            fill_interval_ns: cfg.fill_interval_us.saturating_mul(1000),
            rng: fastrand::Rng::with_seed(cfg.seed),
            seq: 0,
            // Twice the live orders at most: removals never make the map grow (it rehashes in
            // place while at most half full).
            book: HashMap::with_capacity(2 * capacity),
            // An answer or a fill and a cancel or replace per live order, and fills of orders
            // cancelled meanwhile.
            due: BinaryHeap::with_capacity(4 * capacity),
            responder,
            stats,
            stop,
        }
    }

    fn stopped(&self) -> bool {
        self.stop.load(Ordering::Relaxed)
    }

    /// A turn found nothing to take and nothing due: sleeps on `bell` until the engine hands a
    /// message over, the next answer is due, or a stop (the doorbell's protocol: flag, fence,
    /// last look, wait).
    #[cold]
    fn idle(&self, bell: &Doorbell, rx: &rtrb::Consumer<ToVenue>, clock: &EngineClock) {
        if clock.is_manual() {
            std::thread::sleep(MANUAL_NAP);
            return;
        }
        bell.prepare();
        if !rx.is_empty() || self.stopped() {
            bell.cancel();
            return;
        }
        let now = clock.now_ns();
        let until = self
            .due
            .peek()
            .map_or(IDLE_SLEEP_MAX, |Reverse(d)| Duration::from_nanos(d.at.saturating_sub(now)));
        if until.is_zero() {
            bell.cancel();
            return;
        }
        bell.wait(until.min(IDLE_SLEEP_MAX), None);
    }

    fn latency(&mut self) -> u64 {
        if self.max_ns > self.min_ns { self.rng.u64(self.min_ns..=self.max_ns) } else { self.min_ns }
    }

    /// Takes one message from the engine: draws, books, schedules its answer.
    fn take(&mut self, msg: ToVenue) -> Result<(), Stopped> {
        self.seq += 1;
        let origin = self.seq;
        let (at, id, what) = match msg {
            ToVenue::New { id, qty, px, at_ns } => {
                let latency = self.latency();
                let reject = self.rng.f64() < self.reject_ratio;
                let fills = self.rng.f64() < self.fill_ratio;
                let parts_left = if fills { self.fill_parts } else { 0 };
                self.book.insert(id, Resting { origin, qty, cum: 0, px, parts_left });
                (at_ns.saturating_add(latency), id, What::Ack { reject })
            }
            ToVenue::Cancel { id, at_ns } => (at_ns.saturating_add(self.latency()), id, What::Cancel),
            ToVenue::Replace { id, qty, px, at_ns } => {
                (at_ns.saturating_add(self.latency()), id, What::Replace { qty, px })
            }
            ToVenue::Logout { at_ns } => {
                // What was due by the Logout is said; then the day is over.
                self.deliver_until(at_ns)?;
                self.book.clear();
                self.due.clear();
                return Ok(());
            }
        };
        self.due.push(Reverse(Due { at, origin, step: 0, id, what }));
        Ok(())
    }

    /// Delivers every answer due at or before `now`, in due order; returns how many.
    fn deliver_until(&mut self, now: u64) -> Result<usize, Stopped> {
        let mut n = 0;
        while let Some(&Reverse(d)) = self.due.peek() {
            if d.at > now {
                break;
            }
            self.due.pop();
            if let Some((answer, last_fill)) = self.answer(d) {
                self.push(answer)?;
                // Counted once delivered: a reader of the counts finds the answer in the ring.
                self.count(&answer, last_fill);
                n += 1;
            }
        }
        Ok(n)
    }

    /// What the venue says when `d` is due (nothing for a fill of an order no longer live),
    /// and the next fill it schedules; whether the answer is an order's last fill.
    fn answer(&mut self, d: Due) -> Option<(Answer, bool)> {
        let id = d.id;
        let live = self.book.get_mut(&id);
        match d.what {
            What::Ack { reject } => {
                let o = live.filter(|o| o.origin == d.origin)?;
                if reject {
                    self.book.remove(&id);
                    let reject = OrderResponse { order_id: id, response_type: ResponseType::Reject };
                    return Some((Answer::Response(reject), false));
                }
                if o.parts_left > 0 {
                    let at = d.at.saturating_add(self.fill_interval_ns);
                    self.due.push(Reverse(Due { at, origin: d.origin, step: 1, id, what: What::Fill }));
                }
                let accept = OrderResponse { order_id: id, response_type: ResponseType::Accept };
                Some((Answer::Response(accept), false))
            }
            What::Fill => {
                let o = live.filter(|o| o.origin == d.origin && o.parts_left > 0)?;
                let last_qty = (o.qty - o.cum).div_ceil(u64::from(o.parts_left));
                o.cum += last_qty;
                o.parts_left -= 1;
                let (last_px, done) = (o.px, o.cum == o.qty);
                if done {
                    self.book.remove(&id);
                } else {
                    let at = d.at.saturating_add(self.fill_interval_ns);
                    self.due.push(Reverse(Due { at, step: d.step + 1, ..d }));
                }
                Some((Answer::Fill { order_id: id, last_qty, last_px }, done))
            }
            What::Cancel => {
                if self.book.remove(&id).is_some() {
                    return Some((Answer::Cancelled { order_id: id }, false));
                }
                Some((Answer::CancelRejected { order_id: id, code: CXL_REJ_TOO_LATE }, false))
            }
            What::Replace { qty, px } => match live {
                Some(o) if qty > o.cum => {
                    (o.qty, o.px) = (qty, px);
                    Some((Answer::Replaced { order_id: id }, false))
                }
                _ => Some((Answer::CancelRejected { order_id: id, code: CXL_REJ_TOO_LATE }, false)),
            },
        }
    }

    /// Counts answer `a`, delivered (`last_fill`: an order's last fill).
    fn count(&self, a: &Answer, last_fill: bool) {
        let st = &self.stats;
        let counter = match a {
            Answer::Response(r) if r.response_type == ResponseType::Accept => &st.accepted,
            Answer::Response(_) => &st.rejected,
            Answer::Fill { .. } => {
                if last_fill {
                    st.filled.fetch_add(1, Ordering::Relaxed);
                }
                &st.fills
            }
            Answer::Cancelled { .. } => &st.cancelled,
            Answer::Replaced { .. } => &st.replaced,
            Answer::CancelRejected { .. } => &st.cancel_rejected,
            Answer::Expired { .. } => return,
        };
        counter.fetch_add(1, Ordering::Relaxed);
    }

    /// Hands an answer to the engine. The engine drains the ring every loop turn: wait for room
    /// rather than drop.
    fn push(&mut self, mut answer: Answer) -> Result<(), Stopped> {
        while let Err(back) = self.responder.on_answer(answer) {
            if self.stopped() {
                return Err(Stopped);
            }
            answer = back.0;
            std::thread::yield_now();
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests;
