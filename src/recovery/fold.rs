//! [`StateBuilder`]: folds journal records, one at a time, into the state an engine restarts
//! with ([`RecoveredState`]): the orders' lives ([`Lifecycle`]: the queue in order with every
//! modify applied, the orders at the exchange, the waiting cancels), the throttle (every message
//! sent counts against it) and the session (`logon` / `logout`). O(1) per record (amortized).
//!
//! A `recovered` record is a restart, and the fold decides about it what the restarted engine
//! decided ([`EngineBuilder::recover`](crate::engine::EngineBuilder::recover)): when the
//! engine restarted inside the window of the session it was logged on in, its next logon
//! continues that session and the token bucket keeps its level
//! ([`Throttle::continue_session`]). A fold that took that logon for a new session would refill
//! the bucket, forget every send before it, and hand the next restart a full bucket the
//! exchange never granted. The logon the engine was logged on since survives any number of
//! restarts without a logon in between.

use crate::engine::{RecoveredState, SymbolFills};
use crate::idmap::IdMap;
use crate::lifecycle::{Lifecycle, Lives};
use crate::model::{RejectReason, RequestType};
use crate::record::{Event, EventRecord};
use crate::throttle::{Throttle, ThrottleSettings};
use crate::window::TradingWindow;

/// Folds records, one at a time, into a [`RecoveredState`]: the orders' lives
/// ([`Lifecycle`]), the throttle (every message sent counts against it), the session. A `recovered`
/// record continues the session it interrupted, as the restarted engine did (see the module
/// docs).
#[derive(Debug)]
pub struct StateBuilder {
    window: TradingWindow,
    settings: ThrottleSettings,
    throttle: Throttle,
    orders: Lifecycle,
    logged_on_at: Option<i64>,
    last_time_ns: Option<i64>,
    last_seq: u64,
    records: u64,
    fills: Vec<SymbolFills>,
    /// Where each symbol (its bits as a `u32`) is in `fills`.
    symbols: IdMap<usize>,
    /// The symbol looked up last and where it is in `fills`.
    last_symbol: Option<(i32, usize)>,
    /// The next logon continues an interrupted session: the day's notional goes on.
    continue_day: bool,
    /// Trading is halted (a `halted` record without its `resumed`).
    halted: bool,
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
            orders: Lifecycle::new(),
            logged_on_at: None,
            last_time_ns: None,
            last_seq: 0,
            records: 0,
            fills: Vec::new(),
            symbols: IdMap::default(),
            last_symbol: None,
            continue_day: false,
            halted: false,
        }
    }

    /// Applies one record (records in journal order).
    pub fn push(&mut self, r: &EventRecord) {
        self.records += 1;
        self.last_seq = r.seq;
        self.last_time_ns = Some(r.time_ns);
        let t = r.time_ns;
        let event = r.event();
        self.orders.push_event(r, event);
        match event {
            Event::Logon => {
                self.logged_on_at = Some(t);
                self.throttle.logon(wall_u64(t));
                // The day's notional counts from each logon that starts a session, as the
                // engine's books do.
                if !std::mem::take(&mut self.continue_day) {
                    for f in &mut self.fills {
                        f.day_notional = 0.0;
                    }
                }
            }
            Event::Fill { symbol_id, side, last_qty, last_px, .. } => {
                self.fill(symbol_id, side, last_qty, last_px)
            }
            Event::Logout => self.logged_on_at = None,
            Event::Halted => self.halted = true,
            // A client's coming and going changes no state a restart rebuilds (its orders are
            // folded by their own records).
            Event::ClientAttached { .. } | Event::ClientDetached { .. } => {}
            Event::Resumed => self.halted = false,
            // A reference set by request gives its symbol a book, as the engine's does (if its
            // table has room: the restored engine makes the books in this order, to the same
            // bound), and so does a New that passed the limits before it was refused after all.
            Event::Reference { symbol, price } => self.symbol(symbol).reference = price,
            Event::Rejected {
                order,
                request: RequestType::New,
                reason: RejectReason::QueueFull | RejectReason::NotSent,
                ..
            } => {
                self.symbol(order.symbol_id);
            }
            // Every message to the exchange takes a permit; an order taken gives its symbol a
            // book.
            Event::Sent { order, .. } => {
                self.throttle.record_send(wall_u64(t));
                self.symbol(order.symbol_id);
            }
            Event::Queued { order } => {
                self.symbol(order.symbol_id);
            }
            Event::CancelSent { .. } | Event::ReplaceSent { .. } => self.throttle.record_send(wall_u64(t)),
            Event::Recovered { .. } => {
                // The restarted engine's decision (`EngineBuilder::recover`): restarted inside
                // the window it was logged on in, its next logon continues that session. The
                // session it was logged on in stays the one to continue until that logon.
                let interrupted = self.logged_on_at.and_then(|on| self.window.current(on));
                if interrupted.is_some_and(|span| span.contains(t)) {
                    self.throttle.continue_session();
                    self.continue_day = true;
                }
            }
            // The orders' lives are the lifecycle's; nothing else here is about the session
            // or the throttle.
            Event::Modified { .. }
            | Event::Cancelled { .. }
            | Event::Rejected { .. }
            | Event::Response { .. }
            | Event::UnmatchedResponse { .. }
            | Event::Unanswered { .. }
            | Event::ClockStep { .. }
            | Event::SyncFailed
            | Event::ExchangeSession(_)
            | Event::Execution { .. }
            | Event::ExchangeReject { .. }
            | Event::CancelQueued { .. }
            | Event::ReplaceQueued { .. }
            | Event::VenueCancelled { .. }
            | Event::Replaced { .. }
            | Event::CancelRejected { .. }
            | Event::Expired { .. }
            | Event::UnexpectedReport { .. }
            | Event::Unfit(_) => {}
        }
    }

    /// The entry of `symbol` in `fills`, made if it has none. The last symbol's entry is
    /// found without the map (a day's records are mostly of few symbols).
    fn symbol(&mut self, symbol: i32) -> &mut SymbolFills {
        let i = match self.last_symbol {
            Some((s, i)) if s == symbol => i,
            _ => {
                let fills = &mut self.fills;
                let i = *self.symbols.entry(u64::from(symbol.cast_unsigned())).or_insert_with(|| {
                    fills.push(SymbolFills { symbol, position: 0, day_notional: 0.0, reference: 0.0 });
                    fills.len() - 1
                });
                self.last_symbol = Some((symbol, i));
                i
            }
        };
        &mut self.fills[i]
    }

    /// A fill of `qty` at `px` of an order of `symbol` / `side`: the symbol's position, day's
    /// notional and reference, as the engine's risk books take it.
    fn fill(&mut self, symbol: i32, side: char, qty: u64, px: f64) {
        let f = self.symbol(symbol);
        let q = i64::try_from(qty).unwrap_or(i64::MAX);
        f.position = if side == 'S' { f.position.saturating_sub(q) } else { f.position.saturating_add(q) };
        f.day_notional += px * qty as f64;
        f.reference = px;
    }

    /// Orders in the queue.
    pub fn queued_len(&self) -> usize {
        self.orders.queued_len()
    }

    /// Orders open at the exchange.
    pub fn open_len(&self) -> usize {
        self.orders.open_len()
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

    /// The state: the queue in order, the open orders by send time, the cancel line.
    pub fn finish(self) -> RecoveredState {
        let Lives { queued, open, cancels } = self.orders.finish();
        RecoveredState {
            queued,
            open,
            cancels,
            throttle: self.throttle,
            throttle_settings: self.settings,
            logged_on_at: self.logged_on_at,
            last_time_ns: self.last_time_ns,
            fills: self.fills,
            halted: self.halted,
        }
    }
}
