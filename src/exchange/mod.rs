//! The exchange side: the [`Exchange`] trait (the original `send`, `sendLogon`, `sendLogout`) and
//! its implementations: a simulated exchange on its own thread, a recording one for tests, a
//! scripted one for replay, and a FIX 4.4 initiator session ([`fix`]).
//!
//! The engine calls an `Exchange` only from its own thread, so implementations need not be
//! thread-safe (the original exchange API is not). Responses come back through a
//! [`Responder`](crate::ring::Responder), which an adapter may use from any one thread.
//!
//! **Answering from inside [`Exchange::send`] is allowed**: an adapter that knows the answer at
//! once (a simulator, a test double, an in-process venue) may call
//! [`Responder::on_data`](crate::ring::Responder::on_data) from `send` (or from
//! [`Exchange::poll`]). The engine puts the order in its in-flight table before it calls `send`
//! and reads the response ring only between its calls into the exchange, so the response is
//! matched in the next loop turn like any other (`tests/runner.rs` does this). A full ring hands
//! the response back ([`ResponseBackpressure`](crate::ResponseBackpressure)) rather than block:
//! keep it and push it again from `poll`, which runs at the end of every turn (the engine drains
//! the ring at the start of the next), or size `[engine] ring_capacity` for a turn's sends.

mod event;
pub mod fix;
mod recording;
mod scripted;
mod simulated;
mod tap;

pub use tap::{ResponseTap, response_tap};

pub use event::{DisconnectCause, ExchangeEvent, ExecutionReport, RejectSource};
#[cfg(feature = "fix")]
pub use fix::FixExchange;
pub use fix::FixSettings;
pub use recording::{ExchangeCall, NullExchange, RecordingExchange};
pub use scripted::{AutoAnswer, ScriptedExchange};
pub use simulated::{CXL_REJ_TOO_LATE, MAX_FILL_PARTS, SimulatedExchange, SimulatedSettings, SimulatedStats};

use crate::model::{Logon, Logout, OrderRequest, OrderState};

/// The exchange did not take an order ([`Exchange::send`]): nothing went out (a session
/// adapter not logged on, an order it cannot encode). The engine takes the order back out of
/// flight and records it `rejected` `not_sent`: its fate, in the journal, in order.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[error("the exchange did not take the order: nothing was sent")]
pub struct NotSent;

/// An order open at the exchange that the engine restored from its journal at a restart, as
/// handed to [`Exchange::restore`]: what an adapter needs to go on with it.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct RestoredOrder {
    /// The order as it is live: its id, symbol and side, the live version's price and quantity.
    pub order: OrderRequest,
    /// Where it stands (sent: its first answer is awaited; pending cancel or replace: the last
    /// request sent is not answered yet).
    pub state: OrderState,
    /// Cancel and replace requests sent for it so far: its `cancel_sent` and `replace_sent`
    /// records, numbered from 1 in the order sent.
    pub requests_sent: u32,
    /// The request live at the exchange: the number of the one its last `replaced` record
    /// answered, 0 for none (the New is live).
    pub live_request: u32,
}

/// A descriptor whose readiness means [`Exchange::poll`] has work: what an engine asleep under
/// `idle = "backoff"` waits on beside its doorbell ([`Exchange::wait_fd`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct WaitFd {
    /// The descriptor (a socket).
    pub fd: std::os::fd::RawFd,
    /// Wake when it has bytes to read (or is closed).
    pub readable: bool,
    /// Wake when it takes bytes (a connect under way, output the kernel did not take yet).
    pub writable: bool,
}

/// One exchange session. Called only from the engine thread.
pub trait Exchange {
    /// Sends an order (`send(const OrderRequest&)`). Must not block: it runs on the hot path.
    /// `Err(NotSent)` when nothing went out. It may answer at once through its
    /// [`Responder`](crate::ring::Responder) (see the module docs).
    fn send(&mut self, order: &OrderRequest) -> Result<(), NotSent>;
    /// Asks the exchange to cancel an order it accepted (`order`: the order as it is live). Its
    /// answer comes through the [`Responder`](crate::ring::Responder) as an
    /// [`Answer`](crate::ring::Answer): `Cancelled`, or `CancelRejected` (the order goes on),
    /// or a fill that got there first. Must not block. Default: the exchange cannot cancel
    /// (`Err(NotSent)`: the engine rejects the Cancel `not_sent`).
    fn send_cancel(&mut self, order: &OrderRequest) -> Result<(), NotSent> {
        let _ = order;
        Err(NotSent)
    }

    /// Asks the exchange to replace an order it accepted with `order` (same id, the new price
    /// and quantity). Its answer: `Replaced`, or `CancelRejected` (the order goes on as it
    /// was); fills may come for the old version meanwhile. Must not block. Default: the
    /// exchange cannot replace (`Err(NotSent)`).
    fn send_replace(&mut self, order: &OrderRequest) -> Result<(), NotSent> {
        let _ = order;
        Err(NotSent)
    }

    /// Takes back an order the engine restored open at the exchange at a restart, before the
    /// engine's first loop turn: an adapter that names requests after earlier ones (FIX:
    /// OrigClOrdID and a new ClOrdID per request) goes on from where the journal left the
    /// order. Default: nothing to do.
    fn restore(&mut self, order: &RestoredOrder) {
        let _ = order;
    }

    /// Logs the session on (`sendLogon()`), at each window start.
    fn send_logon(&mut self, logon: &Logon);
    /// Logs the session off (`sendLogout()`), at each window end.
    fn send_logout(&mut self, logout: &Logout);

    /// Whether an order handed to [`Exchange::send`] now would go out (a session adapter is
    /// logged on). While false, orders should stay queued. Default: always.
    fn ready(&self) -> bool {
        true
    }

    /// The adapter's own work for one engine loop turn, called after the turn's sends: write
    /// what they encoded (one write for all), read what arrived, run session timers. Session
    /// events go to `events`; order responses go through the adapter's
    /// [`Responder`](crate::ring::Responder). Returns how much work was done (0: idle).
    /// Default: nothing to do.
    fn poll(&mut self, now_ns: u64, events: &mut dyn FnMut(ExchangeEvent<'_>)) -> usize {
        let _ = (now_ns, events);
        0
    }

    /// The next instant (monotonic ns) at which [`Exchange::poll`] has timer work (a
    /// heartbeat, a reconnect). Default: none.
    fn next_deadline_ns(&self) -> Option<u64> {
        None
    }

    /// The descriptor whose readiness gives [`Exchange::poll`] work (a session's socket), if
    /// there is one: an engine that sleeps between orders waits on it too, so what arrives on
    /// it wakes the engine. Default: none (answers come through the response ring, whose
    /// pushes wake the engine).
    fn wait_fd(&self) -> Option<WaitFd> {
        None
    }
}

impl<E: Exchange + ?Sized> Exchange for Box<E> {
    fn send(&mut self, order: &OrderRequest) -> Result<(), NotSent> {
        (**self).send(order)
    }
    fn send_cancel(&mut self, order: &OrderRequest) -> Result<(), NotSent> {
        (**self).send_cancel(order)
    }
    fn send_replace(&mut self, order: &OrderRequest) -> Result<(), NotSent> {
        (**self).send_replace(order)
    }
    fn restore(&mut self, order: &RestoredOrder) {
        (**self).restore(order)
    }
    fn send_logon(&mut self, logon: &Logon) {
        (**self).send_logon(logon)
    }
    fn send_logout(&mut self, logout: &Logout) {
        (**self).send_logout(logout)
    }
    fn ready(&self) -> bool {
        (**self).ready()
    }
    fn poll(&mut self, now_ns: u64, events: &mut dyn FnMut(ExchangeEvent<'_>)) -> usize {
        (**self).poll(now_ns, events)
    }
    fn next_deadline_ns(&self) -> Option<u64> {
        (**self).next_deadline_ns()
    }
    fn wait_fd(&self) -> Option<WaitFd> {
        (**self).wait_fd()
    }
}
