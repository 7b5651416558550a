//! The event loop: drain the rings, fire timers, apply the rules, send, match, record.
//!
//! One [`Engine`] owns all mutable state (session, throttle, queue, in-flight table, sink); it
//! runs on one thread and shares nothing but the rings, so it takes no lock. [`Engine::poll`] is
//! one loop turn and is public: the threaded runner ([`crate::runner`]) calls it in a loop, tests
//! and the replay tool call it directly on a manual clock.
//!
//! **A decision uses the time at which it is made.** Each decision reads the clock (one TSC
//! read) and, if that reading has reached the next logon or logout deadline (one compare), fires
//! the timer first: a New order handled after the window end is `outside_window` even if its loop
//! turn began inside, a queued order whose permit comes due after the end is never sent, and one
//! handled at the start is accepted even if its turn began before. The window is `[start, end)`.
//!
//! A loop turn, in order:
//! 1. **Timers** (when due): logon at the window start (see [`crate::throttle`] for what the
//!    throttle keeps across sessions), logout at its end (queued orders rejected `session_ended`).
//! 2. **Dispatch**: send queued orders while the throttle has a permit (a fresh reading after
//!    each send: the exchange call takes time).
//! 3. **Responses**: match each to its in-flight order; latency = arrival stamp − send time.
//! 4. **Requests**, up to [`BATCH`] per producer ring, from the rings the ready mask names:
//!    those with work since its last sweep or pushed into since ([`crate::doorbell::ReadyMask`]:
//!    a turn costs about the same with 1 ring as with 64 of which 63 are idle), lowest ring
//!    first, each request at a fresh reading (none while the sink cannot take more than the end
//!    of the session: the rings hold them, and producers see backpressure).
//! 5. **Dispatch** again, at a fresh reading.
//! 6. **Exchange**: the adapter's own turn ([`Exchange::poll`]: a FIX session writes the turn's
//!    orders in one `write`, reads, runs its timers); its reports are recorded (`adapter.rs`).
//! 7. **Housekeeping**: a turn that found nothing to do gives the sink a bounded slice of its own
//!    work ([`EventSink::housekeep`]), on the engine's core, in time it would spend idle.
//!
//! A New order is checked in this order: fields (`invalid_price`, `invalid_qty`, `invalid_side`),
//! `outside_window` (`shutdown` once the engine is stopping), `journal_full`,
//! `duplicate_order_id`, `halted` (the kill switch, [`Engine::halt`]), then the pre-trade risk
//! limits when `[risk]` sets any ([`crate::risk`]: one reason per limit); then it is sent at once if the queue is empty and the throttle allows,
//! else queued (`queue_full` if the queue is at capacity). A new order never overtakes a queued
//! one. Sending also pauses while `max_in_flight` orders are unanswered, the sink is out of
//! room, or the exchange is not [ready](Exchange::ready) (a FIX session logging on or
//! reconnecting): orders wait in the queue. An order is in the in-flight table before the
//! exchange has it.

use std::num::NonZeroUsize;

use std::sync::Arc;

use crate::clock::EngineClock;
use crate::doorbell::{Doorbell, Drained, ReadyMask};
use crate::exchange::Exchange;
use crate::model::{Logon, Logout, OrderRequest, RejectReason, RequestType};
use crate::open::OpenOrders;
use crate::queue::PendingQueue;
pub use crate::queue::QueuedOrder;
use crate::record::{Event, EventRecord};
pub use crate::ring::Inbound;
use crate::ring::{InboundResponse, Requests, Responses};
use crate::risk::{Risk, RiskSettings, booking};
use crate::sink::EventSink;
use crate::throttle::{Throttle, ThrottleSettings};
use crate::window::{SessionSettings, TradingWindow, WindowSpan};

mod adapter;
mod answers;
mod builder;
mod clients;
mod halt;
mod inspect;
mod open_requests;
mod recover;
mod shutdown;
mod timers;

pub use builder::{EngineBuilder, HaltSwitch};
pub use recover::{RecoverError, RecoveredState, SymbolFills};

/// What an engine is built from: the rules it enforces and the sizes of its tables. Produced by
/// [`Config::validate`](crate::config::Config::validate) as `ValidConfig::engine`.
#[derive(Clone, Debug)]
pub struct EngineSettings {
    /// The trading window and the credentials.
    pub session: SessionSettings,
    /// The throttle.
    pub throttle: ThrottleSettings,
    /// Ring and table sizes.
    pub capacities: Capacities,
    /// Pre-trade risk limits (none: no check).
    pub risk: Option<RiskSettings>,
}

/// Ring and table sizes, all allocated when the engine is built.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Capacities {
    /// Capacity of each producer ring and of the response ring.
    pub ring_capacity: NonZeroUsize,
    /// Most orders waiting in the queue; one more is rejected `queue_full`.
    pub max_queued_orders: NonZeroUsize,
    /// Most orders sent and not yet answered; at this many, sending pauses.
    pub max_in_flight: NonZeroUsize,
    /// Most orders at the exchange (sent, or working until filled, cancelled or expired); at
    /// this many, sending pauses.
    pub max_working_orders: NonZeroUsize,
}

/// Most messages taken from one ring in one loop turn (keeps timers and other rings responsive).
pub const BATCH: usize = 256;

/// Most producers one engine numbers (0 to 65534; 65535 is the engine's own records).
pub const MAX_PRODUCERS: usize = crate::record::ENGINE as usize;

/// [`EngineBuilder::producer`] was asked for more than [`MAX_PRODUCERS`] producers.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[error("at most {MAX_PRODUCERS} producers per engine (each record names its producer in 16 bits)")]
pub struct TooManyProducers;

impl Capacities {
    /// The records an engine of these capacities with `producers` producers may still make
    /// once its journal has stopped taking requests, up to the end of its session: the
    /// journal's reserve ([`crate::journal::WriterOptions::with_reserve`]), so that every
    /// accepted order still gets its fate in the journal.
    ///
    /// - `6 · (max_queued_orders + max_working_orders)`: an order in the engine's care may still
    ///   be sent, answered, reported on by the exchange (an `execution` besides the answer),
    ///   cancelled at the window's end (`cancel_queued`, `cancel_sent`, its answer), and end
    ///   (a fill, `unanswered`), or be rejected (`session_ended`, `shutdown`);
    /// - `6 · producers · min(BATCH, ring_capacity)`: the requests taken in the loop turn that
    ///   reaches the reserve (the intake is checked once per turn), each a New order that may
    ///   go the same way;
    /// - `(producers + 1) · ring_capacity`: a full ring per producer drained at shutdown (one
    ///   record each) and the response ring (answers that match no order);
    /// - 64 more: logon, logout, the exchange session's own reports around its logout, clock
    ///   steps, `sync_failed`.
    ///
    /// An exchange may report more than that on an order (many partial fills, a cancel
    /// refused and sent again): those are not bounded by the engine's capacities. If they
    /// outrun the reserve, the writer prepares a segment on the spot and, if even that fails (a
    /// full disk), counts the records it drops (`oms verify` exits 1).
    pub fn journal_reserve(&self, producers: usize) -> u64 {
        let (queued, working, ring) = (
            self.max_queued_orders.get() as u64,
            self.max_working_orders.get() as u64,
            self.ring_capacity.get() as u64,
        );
        let producers = producers as u64;
        let turn = 6 * producers * ring.min(BATCH as u64);
        6 * (queued + working) + turn + (producers + 1) * ring + 64
    }
}

/// Counters kept by the engine (plain integers: one writer).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct EngineStats {
    /// Requests taken from the producer rings.
    pub requests: u64,
    /// Responses taken from the response ring.
    pub responses_in: u64,
    /// Orders sent.
    pub sent: u64,
    /// New orders that had to wait in the queue.
    pub queued: u64,
    /// Successful modifies.
    pub modified: u64,
    /// Successful cancels.
    pub cancelled: u64,
    /// Rejects, indexed by `RejectReason as usize` (index 0 unused).
    pub rejected: [u64; RejectReason::ALL.len() + 1],
    /// Responses matched to an in-flight order.
    pub matched: u64,
    /// Responses that matched nothing.
    pub unmatched: u64,
    /// Orders still at the exchange at shutdown (their first answer awaited, or working).
    pub unanswered: u64,
    /// Fills applied.
    pub fills: u64,
    /// Cancels of open orders sent.
    pub cancels_sent: u64,
    /// Replaces of open orders sent.
    pub replaces_sent: u64,
    /// Answers that did not fit their order's state (`unexpected_report`).
    pub unexpected: u64,
    /// Logons sent.
    pub logons: u64,
    /// Logouts sent.
    pub logouts: u64,
    /// Events recorded.
    pub events: u64,
    /// Deepest the queue has been.
    pub max_queue_len: u64,
}

impl EngineStats {
    /// Rejects for one reason.
    pub fn rejected_for(&self, reason: RejectReason) -> u64 {
        self.rejected[reason as usize]
    }

    /// All rejects.
    pub fn rejected_total(&self) -> u64 {
        self.rejected.iter().sum()
    }
}

/// Where the engine stands with the trading window: logged on inside one, cancelling its
/// working orders after its end, logged out until the next, or stopping.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Phase {
    /// Waiting for the next window (None: no window ahead, which validation rules out).
    LoggedOut { next: Option<WindowSpan> },
    /// Inside `span`.
    LoggedOn { span: WindowSpan },
    /// `span` has ended and the session is still on: cancels of the working orders go out
    /// (nothing else is sent); the Logout follows once no order is open, or at `deadline`
    /// (monotonic ns). See [`crate::window::Closing`].
    Closing { span: WindowSpan, deadline: u64 },
    /// [`Engine::shutdown`] is draining the rings; `logged_on`: a logout is still owed.
    Stopping { logged_on: bool },
}

impl Phase {
    /// Why a request that would go to the exchange (a New order with valid fields, a cancel or
    /// replace of an open order) is refused in this state, if it is.
    #[inline]
    fn refuses_sending(self) -> Option<RejectReason> {
        match self {
            Phase::LoggedOn { .. } => None,
            Phase::LoggedOut { .. } | Phase::Closing { .. } => Some(RejectReason::OutsideWindow),
            Phase::Stopping { .. } => Some(RejectReason::Shutdown),
        }
    }

    /// Why a cancel of an open order is refused in this state, if it is: it goes out while the
    /// session is on, in the window and after it while the working orders are cancelled.
    #[inline]
    fn refuses_cancel(self) -> Option<RejectReason> {
        match self {
            Phase::Closing { .. } => None,
            other => other.refuses_sending(),
        }
    }
}

/// Whether the open-order table takes one more New order: fewer than `max_in_flight` orders
/// await their first answer (`awaiting`), and it is not `full`.
#[inline(always)]
fn room_for_new(awaiting: usize, full: bool, capacities: &Capacities) -> bool {
    awaiting < capacities.max_in_flight.get() && !full
}

/// `Engine::timer_ns` when no logon or logout is ahead.
const NO_TIMER: u64 = u64::MAX;

/// The single-threaded OMS engine. See the module docs for one loop turn.
pub struct Engine<E: Exchange, S: EventSink> {
    clock: EngineClock,
    inputs: Box<[Requests]>,
    responses: Box<[Responses]>,
    /// What every ring's pusher rings (the runner sleeps on it).
    bell: Arc<Doorbell>,
    /// The rings of producers in other processes, when the engine takes them
    /// ([`EngineBuilder::clients`]): their own field and drain (`clients.rs`).
    clients: Option<Box<crate::ipc::ClientInputs>>,
    /// The first client producer number ([`crate::record::ENGINE`] without clients): a Modify
    /// or Cancel from one at or past it may touch only its own orders.
    first_client: u16,
    /// Which producer rings have requests: each push sets its ring's bit.
    ready: ReadyMask,
    /// Poll every producer ring each turn instead of the mask's ([`EngineBuilder::poll_every_ring`]).
    every_ring: bool,
    exchange: E,
    sink: S,
    window: TradingWindow,
    logon: Logon,
    logout: Logout,
    phase: Phase,
    /// The next logon or logout deadline (monotonic ns; [`NO_TIMER`] if none): every clock
    /// reading is compared with it.
    timer_ns: u64,
    throttle: Throttle,
    queue: PendingQueue,
    /// The orders at the exchange, each with its life.
    open: OpenOrders,
    /// Cancels of open orders waiting for a permit, oldest first (order id, the producer whose
    /// Cancel it is): they go ahead of the queue. At most one per open order (pre-allocated).
    cancels: std::collections::VecDeque<(u64, u16)>,
    /// The risk limits' books, when limits are set.
    risk: Option<Risk>,
    /// Trading is halted (the kill switch): News and Modifies are refused, cancels go out.
    halted: bool,
    /// Risk limits are set or trading is halted: a New or Modify has more to pass than its
    /// fields and the session (one test on the paths without either). Without `halted` it is
    /// `risk.is_some()`: `on_new` relies on it.
    guarded: bool,
    /// The kill switch's handle, when one was handed out.
    switch: Option<HaltSwitch>,
    stats: EngineStats,
    cfg: EngineSettings,
    /// What the exchange's reports have had on standard error this second (cold).
    said: adapter::Said,
}

/// What is left when an engine has shut down.
#[derive(Debug)]
pub struct EngineReport<E, S> {
    /// Final counters.
    pub stats: EngineStats,
    /// The exchange adapter, handed back.
    pub exchange: E,
    /// The sink, handed back (e.g. to close a journal).
    pub sink: S,
}

impl<E: Exchange, S: EventSink> std::fmt::Debug for Engine<E, S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Engine")
            .field("phase", &self.phase)
            .field("queued", &self.queue.len())
            .field("open", &self.open.len())
            .field("producers", &self.inputs.len())
            .field("stats", &self.stats)
            .finish_non_exhaustive()
    }
}

impl<E: Exchange, S: EventSink> Engine<E, S> {
    /// One loop turn (see the module docs). Returns how many messages and sends it handled.
    pub fn poll(&mut self) -> usize {
        let now = self.tick();
        if let Some(switch) = &self.switch
            && switch.state() != u8::from(self.halted)
        {
            self.switched(now);
        }
        let (mut work, now) = self.dispatch(now);
        for i in 0..self.responses.len() {
            for _ in 0..BATCH {
                let Some(r) = self.responses[i].pop() else { break };
                self.on_response(r, now);
                work += 1;
            }
        }
        if self.sink.takes_requests() {
            // The rings are out of `self` while their batches are handled (no allocation).
            let mut inputs = std::mem::take(&mut self.inputs);
            // The rings the ready mask names (`ReadyMask::visit`, written out: the batches need
            // `self`), or every ring with `poll_every_ring` or a single ring (its tail tells
            // what its bit would; its producer finds the bit set, never cleared, and skips the
            // `fetch_or`). One call site of the request path: a second
            // one would tip the inliner against inlining it (+100 instructions per order in
            // `benches/instructions.rs`).
            let every = self.every_ring || inputs.len() == 1;
            for k in 0..self.ready.words() {
                let mut bits = if every { self.ready.all(k) } else { self.ready.take(k) };
                while bits != 0 {
                    let bit = bits & bits.wrapping_neg();
                    bits ^= bit;
                    let Some(ring) = inputs.get_mut(k * 64 + bit.trailing_zeros() as usize) else { continue };
                    let n = ring.drain(BATCH, |a, b| self.on_requests(a, b));
                    work += n;
                    if n > 0 && !every {
                        let left = if n == BATCH { Drained::LeftWork } else { Drained::Emptied };
                        self.ready.drained(k, bit, left);
                    }
                }
            }
            self.inputs = inputs;
            if self.clients.is_some() {
                work += self.poll_clients();
            }
        }
        let now = self.tick();
        let (sent, now) = self.dispatch(now);
        work += sent + self.poll_exchange(now);
        if work == 0 && self.said.holding {
            self.say_held(now);
        }
        if work == 0 && self.sink.housekeep() {
            work = 1;
        }
        work
    }

    /// Reads the clock for a decision: if the reading has reached the next logon / logout
    /// deadline, the timer fires first, so the decision sees the session as it is now. One TSC
    /// read and one compare.
    #[inline(always)]
    fn tick(&mut self) -> u64 {
        let now = self.clock.now_ns();
        if now >= self.timer_ns {
            self.fire_timers(now);
        }
        now
    }

    /// Handles a batch of requests taken from a ring (`a` then `b`), in order, each
    /// [`Engine::on_request`]. Ahead of each, the lookups of the next two start loading: the
    /// index bucket of the one two ahead, then the queue node of the one ahead, so a random
    /// Modify / Cancel in a large queue does not wait for two dependent cache misses.
    #[inline]
    fn on_requests(&mut self, a: &[Inbound], b: &[Inbound]) {
        let n = a.len() + b.len();
        let at = |j: usize| if j < a.len() { a[j] } else { b[j - a.len()] };
        for j in 0..n.min(3) {
            self.queue.prefetch_index(at(j).order.order_id);
        }
        for j in 0..n {
            if j + 3 < n {
                self.queue.prefetch_index(at(j + 3).order.order_id);
            }
            if j + 2 < n {
                self.queue.prefetch_node(at(j + 2).order.order_id);
            }
            if j + 1 < n && at(j + 1).request == RequestType::Cancel {
                self.queue.prefetch_links(at(j + 1).order.order_id);
            }
            self.on_request(at(j));
        }
    }

    /// Handles one request as if it had come through a ring (tests, replay, benchmarks).
    #[inline]
    pub fn on_request(&mut self, msg: Inbound) {
        self.stats.requests += 1;
        let now = self.tick();
        let arrival_ns = self.clock.mono_ns(msg.arrival_raw);
        let (o, p) = (msg.order, msg.producer);
        match msg.request {
            RequestType::New => self.on_new(o, arrival_ns, now, p),
            RequestType::Modify => match o.validate_modify() {
                Err(reason) => self.reject(&o, RequestType::Modify, reason, now, p),
                Ok(()) => self.on_modify(o, arrival_ns, now, p),
            },
            RequestType::Cancel => self.on_cancel(o, arrival_ns, now, p),
            RequestType::Unknown => {
                self.reject(&o, RequestType::Unknown, RejectReason::InvalidRequestType, now, p)
            }
        }
    }

    #[inline]
    fn on_new(&mut self, o: OrderRequest, arrival_ns: u64, now: u64, producer: u16) {
        let verdict = if let Err(reason) = o.validate_new() {
            Err(reason)
        } else if let Some(reason) = self.phase.refuses_sending() {
            Err(reason)
        } else if !self.sink.has_room() {
            Err(RejectReason::JournalFull)
        } else if self.queue.contains(o.order_id) {
            Err(RejectReason::DuplicateOrderId)
        } else {
            Ok(())
        };
        if let Err(reason) = verdict {
            return self.reject(&o, RequestType::New, reason, now, producer);
        }
        // One lookup of the open-order table is the duplicate check and, if the order goes out
        // at once, the place of its record there.
        let Some(vacancy) = self.open.vacancy(o.order_id) else {
            return self.reject(&o, RequestType::New, RejectReason::DuplicateOrderId, now, producer);
        };
        // The kill switch, then the risk limits when set: checked and, passed, the order
        // booked (released if it is not taken after all). One test of `guarded` without either.
        if self.guarded {
            if self.halted {
                return self.refuse_new(&o, RejectReason::Halted, now, producer);
            }
            debug_assert!(self.risk.is_some(), "guarded and not halted: limits are set");
            // SAFETY: `guarded` without `halted` means limits are set: `guarded` is set to
            // `risk.is_some()` when the engine is built and at a resume, and to `true` only
            // with `halted`; `risk` is set once, when the engine is built. (Measured: the
            // test of the `Option` was 2 of a New's 45 instructions with limits on.)
            let risk = unsafe { self.risk.as_mut().unwrap_unchecked() };
            if let Err(reason) = risk.take_new(&o) {
                return self.refuse_new(&o, reason, now, producer);
            }
        }
        if self.queue.is_empty()
            && self.cancels.is_empty()
            && room_for_new(vacancy.awaiting(), vacancy.is_full(), &self.cfg.capacities)
            && self.sink.has_room()
            && self.exchange.ready()
            && self.throttle.try_acquire(now)
        {
            let tracked = vacancy.insert(o, now, producer);
            self.send_tracked(tracked.is_ok(), o, arrival_ns, now, producer);
        } else if self.queue.push_back(o, arrival_ns, producer).is_ok() {
            self.stats.queued += 1;
            self.stats.max_queue_len = self.stats.max_queue_len.max(self.queue.len() as u64);
            self.emit_at(now, producer, Event::Queued { order: o });
        } else {
            self.risk_close(&o, booking(o.price, o.qty));
            self.reject(&o, RequestType::New, RejectReason::QueueFull, now, producer);
        }
    }

    /// New order `o` refused `reason` by the kill switch or a risk limit (with the number it
    /// refused, [`Risk::value_of`]). Out of line: the New path that passes stays small.
    #[cold]
    #[inline(never)]
    fn refuse_new(&mut self, o: &OrderRequest, reason: RejectReason, now: u64, producer: u16) {
        let value = match &self.risk {
            Some(risk) if reason.is_limit() => risk.value_of(o, reason, o.qty, (0, 0.0), 1),
            _ => 0.0,
        };
        self.reject_valued(o, RequestType::New, reason, value, now, producer);
    }

    /// An order that booked `held` against the risk limits is no longer open.
    #[inline(always)]
    fn risk_close(&mut self, o: &OrderRequest, held: (u64, f64)) {
        if let Some(risk) = &mut self.risk {
            risk.close(o.symbol_id, o.side, held);
        }
    }

    /// Whether anything but the throttle stops a New order's send right now (`on_new` asks
    /// the same of the open-order table it holds borrowed).
    #[inline]
    fn can_send_now(&self) -> bool {
        room_for_new(self.open.awaiting(), self.open.is_full(), &self.cfg.capacities)
            && self.can_send_requests()
    }

    /// Whether anything but the throttle stops a cancel or replace of an open order right now
    /// (the in-flight and open-order bounds are for New orders only).
    #[inline]
    fn can_send_requests(&self) -> bool {
        self.sink.has_room() && self.exchange.ready()
    }

    /// Sends `o`, tracking it in flight first: the exchange never has an order the engine cannot
    /// match.
    #[inline]
    fn send(&mut self, o: OrderRequest, arrival_ns: u64, now: u64, producer: u16) {
        let tracked = self.open.insert(o, now, producer);
        self.send_tracked(tracked.is_ok(), o, arrival_ns, now, producer);
    }

    /// Sends `o`, whose record in the open-order table was just made (`tracked`) or failed.
    /// Always inlined: out of line, the New path pays a call and its frame (five arguments, the
    /// order by value), and the inliner weighs the rest of the turn differently
    /// (`benches/instructions.rs`: 10 to 170 instructions per order).
    #[inline(always)]
    fn send_tracked(&mut self, tracked: bool, o: OrderRequest, arrival_ns: u64, now: u64, producer: u16) {
        // Cannot fail: the callers check that the table has room (`can_send_now`), and `on_new`
        // rejects an id that is queued or at the exchange.
        debug_assert!(tracked, "order {} to be sent with the open-order table full", o.order_id);
        if !tracked {
            // A release build keeps the order from the exchange and gives it a fate.
            return self.not_sent(&o, RejectReason::QueueFull, now, producer);
        }
        if self.exchange.send(&o).is_err() {
            // Nothing went out: the order is not at the exchange, and its fate is this reject.
            let _ = self.open.remove(o.order_id);
            return self.not_sent(&o, RejectReason::NotSent, now, producer);
        }
        self.stats.sent += 1;
        self.emit_at(now, producer, Event::Sent { order: o, in_oms_ns: now.saturating_sub(arrival_ns) });
    }

    /// New order `o`, taken, did not go out: it is rejected `reason` and no longer open. Out of
    /// line: rare, and the send path stays small.
    #[cold]
    #[inline(never)]
    fn not_sent(&mut self, o: &OrderRequest, reason: RejectReason, now: u64, producer: u16) {
        self.risk_close(o, booking(o.price, o.qty));
        self.reject(o, RequestType::New, reason, now, producer);
    }

    /// Sends queued orders, oldest first, while everything allows, at most [`BATCH`] in one call.
    /// The exchange call takes time, so each decision after a send is made at a fresh reading
    /// (which fires a due timer). The bound keeps the turn short: without it, a loop whose sends
    /// take longer than the throttle's interval (a cold cache, a stolen core) earns a permit per
    /// send and can drain a deep queue while new requests wait in their rings (in the Modify /
    /// Cancel mix one call sent 2,563 orders, with a burst of 1,000). The permits not used stay
    /// in the throttle, and the next turn goes on. Returns the sends and the last reading.
    #[inline(always)]
    fn dispatch(&mut self, now: u64) -> (usize, u64) {
        if self.queue.is_empty() && self.cancels.is_empty() {
            return (0, now);
        }
        self.dispatch_queued(now)
    }

    /// [`Engine::dispatch`] with orders queued.
    #[inline(never)]
    fn dispatch_queued(&mut self, mut now: u64) -> (usize, u64) {
        let mut n = 0;
        // Cancels first: they reduce what is at risk at the exchange.
        while n < BATCH && self.logged_on() && !self.cancels.is_empty() && self.can_send_requests() {
            if !self.cancel_still_waits() {
                continue;
            }
            if !self.throttle.try_acquire(now) {
                return (n, now);
            }
            let Some((id, producer)) = self.cancels.pop_front() else { break };
            self.send_waiting_cancel(id, now, producer);
            n += 1;
            now = self.tick();
        }
        while n < BATCH
            && self.logged_on()
            && !self.queue.is_empty()
            && self.can_send_now()
            && self.throttle.try_acquire(now)
        {
            let Some(q) = self.queue.pop_front() else { break };
            if q.replace {
                self.send_replace(q.order, q.arrival_ns, now, q.producer);
            } else {
                self.send(q.order, q.arrival_ns, now, q.producer);
            }
            n += 1;
            now = self.tick();
        }
        (n, now)
    }

    /// Matches a response. `turn_now` is the loop turn's clock reading: the record is stamped
    /// with the later of it and the response's arrival, which keeps journal times non-decreasing
    /// without another TSC read (a TSC read is a good part of an engine step).
    #[inline]
    fn on_response(&mut self, r: InboundResponse, turn_now: u64) {
        self.on_answer(r, turn_now);
    }

    #[inline]
    fn reject(
        &mut self,
        o: &OrderRequest,
        request: RequestType,
        reason: RejectReason,
        now: u64,
        producer: u16,
    ) {
        self.reject_valued(o, request, reason, 0.0, now, producer);
    }

    /// [`Engine::reject`] of a request a risk limit refused, with the number it refused
    /// ([`Risk::value_of`]).
    #[inline]
    fn reject_valued(
        &mut self,
        o: &OrderRequest,
        request: RequestType,
        reason: RejectReason,
        value: f64,
        now: u64,
        producer: u16,
    ) {
        self.stats.rejected[reason as usize] += 1;
        self.emit_at(now, producer, Event::Rejected { order: *o, request, reason, value });
    }

    /// Records `event` at `now`, answering `producer`'s request. Always inlined: at each call
    /// the event's kind is known, so the encoding table folds to the field stores of that kind
    /// (out of line, the event would be built in memory and matched again).
    #[inline(always)]
    fn emit_at(&mut self, now: u64, producer: u16, event: Event) {
        let rec = EventRecord::new(self.clock.wall_ns(now), event);
        self.emit(rec.from_producer(producer));
    }

    #[inline]
    fn emit(&mut self, rec: EventRecord) {
        self.stats.events += 1;
        self.sink.record(&rec);
    }
}

#[cfg(test)]
mod tests;
