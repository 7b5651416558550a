//! [`StateBuilder`]: folds journal records, one at a time, into the state an engine restarts
//! with ([`RecoveredState`]).
//!
//! It follows the engine's own bookkeeping, record by record: `queued` appends to the queue,
//! `modified` rewrites a queued order in place, `cancelled` and the `session_ended` /
//! `shutdown` rejects of queued orders (always the oldest first) remove it, `sent` moves an
//! order in flight and counts against the throttle, `response` and `unanswered` end it,
//! `logon` / `logout` open and close the session. O(1) per record: the queue is a deque whose
//! removed entries go stale (skipped when they reach the front), indexed by order id.
//!
//! A `recovered` record is a restart, and the fold decides about it what the restarted engine
//! decided ([`EngineBuilder::recover`](crate::engine::EngineBuilder::recover)): when the
//! engine restarted inside the window of the session it was logged on in, its next logon
//! continues that session and the token bucket keeps its level
//! ([`Throttle::continue_session`]). A fold that took that logon for a new session would refill
//! the bucket, forget every send before it, and hand the next restart a full bucket the
//! exchange never granted. The logon the engine was logged on since survives any number of
//! restarts without a logon in between.

use std::collections::{HashMap, VecDeque};
use std::hash::BuildHasherDefault;

use crate::audit::IdHasher;
use crate::engine::{RecoveredState, RestoredOrder};
use crate::model::{EventKind, OrderRequest, RejectReason, RequestType};
use crate::record::EventRecord;
use crate::session::TradingWindow;
use crate::throttle::{Throttle, ThrottleSettings};

type IdMap<V> = HashMap<u64, V, BuildHasherDefault<IdHasher>>;

/// Folds records, one at a time, into a [`RecoveredState`], following the engine's own
/// bookkeeping: `queued` appends to the queue, `modified` rewrites a queued order in place,
/// `cancelled` and the `session_ended` / `shutdown` rejects of queued orders (always the oldest
/// first) remove it, `sent` moves an order in flight and counts against the throttle,
/// `response` and `unanswered` end it, `logon` / `logout` open and close the session. O(1) per
/// record (amortized). A `recovered` record continues the session it interrupted, as the
/// restarted engine did (see the module docs).
#[derive(Debug)]
pub struct StateBuilder {
    window: TradingWindow,
    settings: ThrottleSettings,
    throttle: Throttle,
    /// The queue in order; `None` where an order left it from the middle.
    queue: VecDeque<Option<RestoredOrder>>,
    /// Position (since the start) of `queue[0]`.
    queue_base: u64,
    /// Queued order id → its position.
    queued: IdMap<u64>,
    in_flight: IdMap<RestoredOrder>,
    logged_on_at: Option<i64>,
    last_time_ns: Option<i64>,
    last_seq: u64,
    records: u64,
}

/// The order fields a record carries.
fn order_of(r: &EventRecord) -> OrderRequest {
    OrderRequest { symbol_id: r.symbol_id, price: r.price, qty: r.qty, side: r.side, order_id: r.order_id }
}

/// Wall-clock ns as the throttle's `u64` time (0 before the epoch).
fn wall_u64(t: i64) -> u64 {
    u64::try_from(t).unwrap_or(0)
}

impl StateBuilder {
    /// An empty state for an engine trading in `window` with a throttle of `settings`.
    pub fn new(window: &TradingWindow, settings: &ThrottleSettings) -> Self {
        StateBuilder {
            window: window.clone(),
            settings: *settings,
            throttle: Throttle::new(settings),
            queue: VecDeque::new(),
            queue_base: 0,
            queued: IdMap::default(),
            in_flight: IdMap::default(),
            logged_on_at: None,
            last_time_ns: None,
            last_seq: 0,
            records: 0,
        }
    }

    /// Applies one record (records in journal order).
    pub fn push(&mut self, r: &EventRecord) {
        self.records += 1;
        self.last_seq = r.seq;
        self.last_time_ns = Some(r.time_ns);
        let (id, t) = (r.order_id, r.time_ns);
        let restored = || RestoredOrder { order: order_of(r), producer: r.producer, since_ns: t };
        match r.kind {
            EventKind::Logon => {
                self.logged_on_at = Some(t);
                self.throttle.logon(wall_u64(t));
            }
            EventKind::Logout => self.logged_on_at = None,
            EventKind::Queued => {
                // The engine never queues a live id; if a journal does, the later one stands.
                self.unqueue(id);
                self.in_flight.remove(&id);
                self.queued.insert(id, self.queue_base + self.queue.len() as u64);
                self.queue.push_back(Some(restored()));
            }
            EventKind::Sent => {
                self.unqueue(id);
                self.in_flight.insert(id, restored());
                self.throttle.record_send(wall_u64(t));
            }
            EventKind::Modified => {
                if let Some(q) = self.queued_mut(id) {
                    (q.order.price, q.order.qty) = (r.price, r.qty);
                }
            }
            EventKind::Cancelled => self.unqueue(id),
            EventKind::Rejected => {
                // A queued order is rejected only at a logout or a shutdown, oldest first; a New
                // rejected for its own reasons (a duplicate of a queued id among them) never
                // touches the queue.
                let ends_queued = r.request == RequestType::New
                    && matches!(r.reason, Some(RejectReason::SessionEnded | RejectReason::Shutdown))
                    && self.front() == Some(id);
                if ends_queued {
                    self.unqueue(id);
                }
            }
            EventKind::Response | EventKind::Unanswered => {
                self.in_flight.remove(&id);
            }
            EventKind::Recovered => {
                // The restarted engine's decision (`EngineBuilder::recover`): restarted inside
                // the window it was logged on in, its next logon continues that session. The
                // session it was logged on in stays the one to continue until that logon.
                let interrupted = self.logged_on_at.and_then(|on| self.window.current(on));
                if interrupted.is_some_and(|span| span.contains(t)) {
                    self.throttle.continue_session();
                }
            }
            EventKind::UnmatchedResponse
            | EventKind::ClockStep
            | EventKind::SyncFailed
            // An exchange report follows its order's response (or concerns no order): no order
            // state changes.
            | EventKind::ExchangeSession
            | EventKind::Execution
            | EventKind::ExchangeReject => {}
        }
    }

    /// Orders in the queue.
    pub fn queued_len(&self) -> usize {
        self.queued.len()
    }

    /// Orders in flight.
    pub fn in_flight_len(&self) -> usize {
        self.in_flight.len()
    }

    /// Whether a session is logged on.
    pub fn logged_on(&self) -> bool {
        self.logged_on_at.is_some()
    }

    /// Records folded.
    pub fn records(&self) -> u64 {
        self.records
    }

    /// Sequence number of the last record folded (0 if none).
    pub fn last_seq(&self) -> u64 {
        self.last_seq
    }

    /// The state: the queue in order, the orders in flight by send time.
    pub fn finish(self) -> RecoveredState {
        let queued: Vec<RestoredOrder> = self.queue.into_iter().flatten().collect();
        let mut in_flight: Vec<RestoredOrder> = self.in_flight.into_values().collect();
        in_flight.sort_by_key(|o| (o.since_ns, o.order.order_id));
        RecoveredState {
            queued,
            in_flight,
            throttle: self.throttle,
            throttle_settings: self.settings,
            logged_on_at: self.logged_on_at,
            last_time_ns: self.last_time_ns,
        }
    }

    /// The id at the front of the queue.
    fn front(&self) -> Option<u64> {
        self.queue.front().and_then(|q| q.map(|q| q.order.order_id))
    }

    fn queued_mut(&mut self, id: u64) -> Option<&mut RestoredOrder> {
        let pos = *self.queued.get(&id)?;
        let at = usize::try_from(pos - self.queue_base).ok()?;
        self.queue.get_mut(at).and_then(Option::as_mut)
    }

    /// Removes order `id` from the queue if it is there.
    fn unqueue(&mut self, id: u64) {
        let Some(pos) = self.queued.remove(&id) else { return };
        if let Some(slot) = usize::try_from(pos - self.queue_base).ok().and_then(|at| self.queue.get_mut(at))
        {
            *slot = None;
        }
        while matches!(self.queue.front(), Some(None)) {
            self.queue.pop_front();
            self.queue_base += 1;
        }
    }
}
