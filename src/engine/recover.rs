//! Restarting an engine with the state its previous run left in the journal.
//!
//! [`RecoveredState`] is what the engine restores: the queue in order (modifies applied,
//! cancelled and rejected orders gone, replaces of open orders in their place), the orders at
//! the exchange with their send times and where each stands, the cancels waiting for a permit,
//! the throttle as the recorded sends left it, and whether a session was logged on.
//! [`crate::recovery`] computes it from a journal; [`EngineBuilder::recover`] builds an engine
//! that starts from it:
//!
//! - the exchange takes back each open order first ([`Exchange::restore`]: for FIX, its
//!   ClOrdID chain as the journal counts its requests), then the queue, the open-order table
//!   and the cancel line are filled (a late answer still matches, with its round trip measured
//!   from the original send);
//! - with risk limits, their books: the positions, the day's notional and the reference prices
//!   the fills left ([`SymbolFills`]), and every restored order booked as it was (a replace at
//!   the exchange or waiting in the queue: the larger of its two versions);
//! - the throttle is moved onto the engine's monotonic time ([`Throttle::rebase`]), so the
//!   bound holds across the restart; if the engine restarts inside the window it was logged on
//!   in, its logon continues that session ([`Throttle::continue_session`]: the bucket is not
//!   refilled);
//! - a `recovered` record states how many orders were restored (`qty`: queued, `order_id`:
//!   open at the exchange); the wall clock is re-anchored to the OS clock right after it, as at a logon (a
//!   `clock_step` if it moves), so the restored times sit on the anchor the session runs on;
//! - a halt (the kill switch) without its resume: the engine restarts halted (what the halt's
//!   decision had still to do when the process died is done: the queue rejected `halted`, the
//!   working orders' cancels lined up);
//! - if the window the engine was logged on in has ended meanwhile, the restored queue is
//!   rejected `session_ended` (the window it waited for is over; there is no session to log
//!   out of: it died with the process), and so are the waiting cancels. Open orders
//!   stay open.
//!
//! The session itself needs nothing: the engine logs on at its first poll if a window is open
//! (a logon late in its window, which the audit accepts after a `recovered` record), or waits.
//!
//! Times of restored orders are wall-clock ns; the engine keeps monotonic ns from its clock's
//! origin, so the clock must reach back to the oldest of them
//! ([`RecoveredState::prepare_clock`], before the clock is shared with anything).

use super::{Engine, EngineBuilder};
use crate::clock::EngineClock;
use crate::exchange::{Exchange, RestoredOrder};
use crate::lifecycle::{LiveOrder, OpenLife};
use crate::model::{OrderState, RejectReason, RequestType, Waiting};
use crate::open::OpenOrder;
use crate::record::{Event, EventRecord};
use crate::sink::EventSink;
use crate::throttle::{Throttle, ThrottleSettings};

/// How much further back than the oldest restored order [`RecoveredState::prepare_clock`]
/// reaches: room for the re-anchor at recovery (steps are micro- to milliseconds).
const REACH_BACK_MARGIN_NS: i64 = 1_000_000_000;

/// The state an engine restarts with: the queue, the orders at the exchange, the waiting
/// cancels, the throttle and the session its previous run left ([`crate::recovery`] reads it from a journal;
/// [`EngineBuilder::recover`] restores it).
#[derive(Clone, Debug)]
pub struct RecoveredState {
    /// Orders waiting in the queue, in queue order (New orders and replaces of open orders).
    pub queued: Vec<LiveOrder>,
    /// Orders at the exchange (sent, their life not ended), oldest send first.
    pub open: Vec<OpenLife>,
    /// Cancels of open orders waiting for a permit, in line order: the order id and the
    /// producer whose Cancel it is.
    pub cancels: Vec<(u64, u16)>,
    /// The throttle after the recorded sends, on wall-clock ns ([`Throttle::record_send`]).
    pub throttle: Throttle,
    /// The settings the throttle was built from.
    pub throttle_settings: ThrottleSettings,
    /// When the session that was logged on at the end of the records logged on (wall ns);
    /// `None` if no session was logged on.
    pub logged_on_at: Option<i64>,
    /// Time of the last record (wall ns), if any.
    pub last_time_ns: Option<i64>,
    /// What the fills left per symbol, for the risk limits' books: every symbol an order was
    /// taken for in the journal (each has a book), in the order it was first taken.
    pub fills: Vec<SymbolFills>,
    /// Trading was halted (the kill switch) and not resumed: the restarted engine is halted.
    pub halted: bool,
}

/// One symbol's fills in a journal: what the risk limits' book restores.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct SymbolFills {
    /// The symbol.
    pub symbol: i32,
    /// Filled buys minus filled sells, over the whole journal.
    pub position: i64,
    /// Notional filled since the last logon (the engine's next logon starts the day
    /// again).
    pub day_notional: f64,
    /// The reference price: the last fill's, or a later `reference` record's.
    pub reference: f64,
}

impl RecoveredState {
    /// The earliest wall-clock time the engine must be able to express in monotonic ns: the
    /// oldest restored order's (or request's).
    pub fn earliest_ns(&self) -> Option<i64> {
        let queued = self.queued.iter().map(|q| q.since_ns);
        let open = self.open.iter().flat_map(|o| {
            [Some(o.sent_ns), request_time(o), (o.waiting == Waiting::Cancel).then_some(o.wait_ns)]
        });
        queued.chain(open.flatten()).min()
    }

    /// Moves `clock`'s origin back so that every restored order's time has a monotonic reading
    /// ([`EngineClock::reach_back`]). Call it before the clock goes to the engine builder and
    /// the exchange.
    pub fn prepare_clock(&self, clock: &mut EngineClock) {
        if let Some(t) = self.earliest_ns() {
            // A second more: the re-anchor at recovery may move the wall clock forward a little.
            clock.reach_back(t.saturating_sub(REACH_BACK_MARGIN_NS));
        }
    }
}

/// Why [`EngineBuilder::recover`] refused a state.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum RecoverError {
    /// More queued orders than `engine.max_queued_orders` allows.
    #[error("{restored} orders to restore to the queue, but engine.max_queued_orders is {capacity}")]
    QueueCapacity {
        /// Orders to restore.
        restored: usize,
        /// The configured capacity.
        capacity: usize,
    },
    /// More open orders than `engine.max_working_orders` allows.
    #[error("{restored} orders to restore open at the exchange, but engine.max_working_orders is {capacity}")]
    OpenCapacity {
        /// Orders to restore.
        restored: usize,
        /// The configured capacity.
        capacity: usize,
    },
    /// The state's throttle was built for other settings than the engine's.
    #[error("the restored throttle is for {restored:?}, but the engine's is {configured:?}")]
    Throttle {
        /// The state's settings.
        restored: ThrottleSettings,
        /// The engine's.
        configured: ThrottleSettings,
    },
    /// The clock's monotonic 0 is after the oldest restored order's time.
    #[error(
        "the engine clock cannot express the oldest restored order's time ({earliest_ns} ns since the \
         epoch; its monotonic 0 is at {zero_ns}): prepare it with RecoveredState::prepare_clock"
    )]
    ClockStartsLate {
        /// The oldest restored order's time, wall ns.
        earliest_ns: i64,
        /// The clock's wall time at monotonic 0.
        zero_ns: i64,
    },
    /// Two restored orders have the same id.
    #[error("order {order_id} is restored twice")]
    Duplicate {
        /// The id.
        order_id: u64,
    },
    /// A restored replace or cancel is of an order not restored open.
    #[error("a {request} of order {order_id} is restored, but the order is not open")]
    NotOpen {
        /// The id.
        order_id: u64,
        /// The request: a replace (`modify`) or a `cancel`.
        request: &'static str,
    },
}

/// When `o`'s pending cancel or replace was sent, if one is pending.
fn request_time(o: &OpenLife) -> Option<i64> {
    matches!(o.life.state(), OrderState::PendingCancel | OrderState::PendingReplace).then_some(o.request_ns)
}

impl EngineBuilder {
    /// Builds an engine that carries on from `state`: allocates every table as
    /// [`build`](Self::build) does, then
    ///
    /// - records `recovered` (`qty`: orders restored to the queue, `order_id`: open at the
    ///   exchange) and re-anchors the wall clock to the OS clock, as a logon does (a
    ///   `clock_step` if it moves);
    /// - fills the queue (in order), the open-order table and the cancel line (a late answer
    ///   still matches, its round trip measured from the original send or request);
    /// - moves the throttle onto the engine's monotonic time, so the bound holds across the
    ///   restart; if the engine restarts inside the window it was logged on in, its logon
    ///   continues that session (the token bucket is not refilled);
    /// - if that window has ended, rejects the restored queue `session_ended` (there is no
    ///   session to log out of: it died with the process), as are the waiting cancels.
    ///   Open orders stay open.
    ///
    /// The session needs nothing more: the first poll logs on if a window is open (late in its
    /// window, which the audit accepts after a `recovered` record), or the engine waits. The
    /// clock must have been prepared with [`RecoveredState::prepare_clock`].
    pub fn recover<E: Exchange, S: EventSink>(
        self,
        state: RecoveredState,
        exchange: E,
        sink: S,
    ) -> Result<Engine<E, S>, RecoverError> {
        let caps = self.cfg.capacities;
        let check = |restored: usize, capacity: usize, err: fn(usize, usize) -> RecoverError| {
            if restored > capacity { Err(err(restored, capacity)) } else { Ok(()) }
        };
        check(state.queued.len(), caps.max_queued_orders.get(), |restored, capacity| {
            RecoverError::QueueCapacity { restored, capacity }
        })?;
        check(state.open.len(), caps.max_working_orders.get(), |restored, capacity| {
            RecoverError::OpenCapacity { restored, capacity }
        })?;
        if state.throttle_settings != self.cfg.throttle {
            let (restored, configured) = (state.throttle_settings, self.cfg.throttle);
            return Err(RecoverError::Throttle { restored, configured });
        }
        let zero_ns = self.clock.wall_ns(0);
        if let Some(earliest_ns) = state.earliest_ns().filter(|t| *t < zero_ns) {
            return Err(RecoverError::ClockStartsLate { earliest_ns, zero_ns });
        }

        // The exchange takes back each open order first: an adapter that names requests after
        // earlier ones (FIX: the ClOrdID chain) goes on where the journal left it, so a cancel
        // or replace of a restored order can be sent (and never repeats a ClOrdID).
        let mut exchange = exchange;
        for o in &state.open {
            exchange.restore(&RestoredOrder {
                order: o.live(),
                state: o.life.state(),
                requests_sent: o.requests_sent,
                live_request: o.live_request,
            });
        }
        let mut engine = self.build(exchange, sink);
        let now = engine.clock.now_ns();
        let wall_now = engine.clock.wall_ns(now);
        let crashed = state.logged_on_at.and_then(|t| engine.window.current(t));
        let (queued, open) = (state.queued.len() as u64, state.open.len() as u64);
        engine.emit(EventRecord::new(wall_now, Event::Recovered { queued, open }));
        // A halt survives the crash: the restarted engine is halted (and its switch says so).
        if state.halted {
            (engine.halted, engine.guarded) = (true, true);
            if let Some(switch) = &engine.switch {
                switch.halt();
            }
        }
        // Anchor the wall clock to the OS clock now, as a logon does, so the restored times
        // are placed on the anchor the session runs on (the logon right after steps by next to
        // nothing, and the throttle moves with any step: `reanchor`).
        engine.reanchor(now);

        let mut throttle = state.throttle;
        throttle.rebase(u64::try_from(engine.clock.wall_ns(0)).unwrap_or(0));
        if crashed.is_some_and(|span| span.contains(wall_now)) {
            throttle.continue_session();
            if let Some(risk) = &mut engine.risk {
                risk.continue_day();
            }
        }
        engine.throttle = throttle;
        for o in &state.open {
            let id = o.order.order_id;
            if engine.open.contains(id) {
                return Err(RecoverError::Duplicate { order_id: id });
            }
            let mono = |t: i64| engine.clock.mono_at_wall(t);
            let open = OpenOrder {
                order: o.order,
                producer: o.producer,
                sent_ns: mono(o.sent_ns),
                life: o.life,
                request_ns: request_time(o).map_or(0, mono),
                waiting: o.waiting,
                wait_ns: if o.waiting == Waiting::Cancel { mono(o.wait_ns) } else { 0 },
                wait_producer: 0, // the cancel line's, below
                booked: (0, 0.0),
            };
            let mut open = open;
            if let Some(risk) = &mut engine.risk {
                // A replace at the exchange: the larger of the two versions until it is answered.
                if let Some((price, qty)) = o.life.replacement() {
                    let new = crate::risk::booking(price, qty.saturating_sub(o.life.cum_qty()));
                    let live = open.held();
                    open.booked = (live.0.max(new.0), live.1.max(new.1));
                }
                risk.restore_open(&o.order, open.held());
            }
            // Cannot fail: the capacity was checked above.
            let _ = engine.open.restore(open);
        }
        if let Some(risk) = &mut engine.risk {
            for f in &state.fills {
                risk.restore(f.symbol, f.position, f.day_notional, f.reference);
            }
        }
        for q in &state.queued {
            let id = q.order.order_id;
            let open = engine.open.get(id).map(|x| x.waiting);
            if engine.queue.contains(id) || (!q.replace && open.is_some()) {
                return Err(RecoverError::Duplicate { order_id: id });
            }
            if q.replace && open != Some(Waiting::Replace) {
                return Err(RecoverError::NotOpen { order_id: id, request: RequestType::Modify.name() });
            }
            if let Some(risk) = &mut engine.risk {
                let o = q.order;
                if q.replace {
                    // A replace waiting books the larger of the order's two versions.
                    let cum = engine.open.get(id).map_or(0, |x| x.life.cum_qty());
                    let (lq, ln) = crate::risk::booking(o.price, o.qty.saturating_sub(cum));
                    let held = engine.open.get(id).map_or((0, 0.0), |x| x.held());
                    let booked = (held.0.max(lq), held.1.max(ln));
                    risk.rebook(o.symbol_id, o.side, held, booked);
                    engine.open.update(id, |x| x.booked = booked);
                } else {
                    risk.restore_open(&o, crate::risk::booking(o.price, o.qty));
                }
            }
            let arrival = engine.clock.mono_at_wall(q.since_ns);
            // Cannot fail: the capacity was checked above.
            let _ = if q.replace {
                engine.queue.push_replace(q.order, arrival, q.producer)
            } else {
                engine.queue.push_back(q.order, arrival, q.producer)
            };
        }
        for &(id, producer) in &state.cancels {
            if engine.open.get(id).map(|x| x.waiting) != Some(Waiting::Cancel) {
                return Err(RecoverError::NotOpen { order_id: id, request: RequestType::Cancel.name() });
            }
            if engine.cancels.iter().any(|(c, _)| *c == id) {
                return Err(RecoverError::Duplicate { order_id: id });
            }
            engine.cancels.push_back((id, producer));
            engine.open.update(id, |x| x.wait_producer = producer);
        }
        engine.stats.max_queue_len = engine.queue.len() as u64;
        if crashed.is_some_and(|span| wall_now >= span.end_ns) {
            engine.reject_queued(RejectReason::SessionEnded, now);
        }
        if engine.halted {
            // A crash in the middle of the halt's decision: what it had still to do.
            engine.reject_queue(RejectReason::Halted, now);
            engine.cancel_all_working(now);
        }
        Ok(engine)
    }
}
