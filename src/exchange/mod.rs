//! The exchange side: the [`Exchange`] trait (the original `send`, `sendLogon`, `sendLogout`) and
//! its implementations: a simulated exchange on its own thread, a recording one for tests, and a
//! scripted one for replay.
//!
//! The engine calls an `Exchange` only from its own thread, so implementations need not be
//! thread-safe (the original exchange API is not). Responses come back through a
//! [`Responder`](crate::ring::Responder), which an adapter may use from any one thread.

mod recording;
mod scripted;
mod simulated;

pub use recording::{ExchangeCall, NullExchange, RecordingExchange};
pub use scripted::ScriptedExchange;
pub use simulated::{SimulatedExchange, SimulatedSettings, SimulatedStats};

use crate::model::{Logon, Logout, OrderRequest};

/// One exchange session. Called only from the engine thread.
pub trait Exchange {
    /// Sends an order (`send(const OrderRequest&)`). Must not block: it runs on the hot path.
    fn send(&mut self, order: &OrderRequest);
    /// Logs the session on (`sendLogon()`), at each window start.
    fn send_logon(&mut self, logon: &Logon);
    /// Logs the session off (`sendLogout()`), at each window end.
    fn send_logout(&mut self, logout: &Logout);
}

impl<E: Exchange + ?Sized> Exchange for Box<E> {
    fn send(&mut self, order: &OrderRequest) {
        (**self).send(order)
    }
    fn send_logon(&mut self, logon: &Logon) {
        (**self).send_logon(logon)
    }
    fn send_logout(&mut self, logout: &Logout) {
        (**self).send_logout(logout)
    }
}
