//! [`Venue`]: the exchange a configuration names, the one place it is chosen (`oms run` and
//! the demo start theirs here).
//!
//! `[exchange] kind = "simulated"` (the default) is the simulated exchange on its own thread;
//! `kind = "fix"` ([`ValidConfig::fix`]) is the FIX 4.4 session, driven on the engine thread
//! (its [`Exchange::poll`] each loop turn), logging on at the window's start with the
//! `[session]` credentials.

use crate::clock::EngineClock;
use crate::config::ValidConfig;
#[cfg(feature = "fix")]
use crate::exchange::fix::{FixError, FixExchange};
use crate::exchange::{Exchange, ExchangeEvent, NotSent, RestoredOrder, SimulatedExchange, WaitFd};
use crate::model::{Logon, Logout, OrderRequest};
use crate::ring::Responder;

/// Why the configured exchange could not be started.
#[derive(Debug, thiserror::Error)]
pub enum VenueError {
    /// The simulated exchange's thread could not be started.
    #[error("cannot start the simulated exchange: {0}")]
    Simulated(#[source] std::io::Error),
    /// The FIX session could not be set up (its counterparty's address, its store).
    #[cfg(feature = "fix")]
    #[error("cannot set up the FIX session: {0}")]
    Fix(#[source] FixError),
    /// `[exchange] kind = "fix"` in a build without the FIX session (the `fix` feature).
    #[cfg(not(feature = "fix"))]
    #[error("[exchange] kind = \"fix\": this build has no FIX session (the `fix` feature)")]
    NoFix,
}

/// The exchange of a run. One lives for the whole run, so its size does not matter, and the
/// FIX session is held inline: no pointer to follow on each send.
#[derive(Debug)]
#[allow(clippy::large_enum_variant, reason = "one value per run; inline keeps the send path direct")]
pub enum Venue {
    /// The simulated exchange (`[exchange] kind = "simulated"`).
    Simulated(SimulatedExchange),
    /// The FIX 4.4 session (`[exchange] kind = "fix"`).
    #[cfg(feature = "fix")]
    Fix(FixExchange),
}

impl Venue {
    /// Starts the configured exchange, answering through `responder` (the engine builder's),
    /// on the engine's clock. The error says what could not be started (no password in it:
    /// the credentials are only used at Logon).
    pub fn start(valid: &ValidConfig, responder: Responder, clock: EngineClock) -> Result<Venue, VenueError> {
        let capacity = valid.engine.capacities.max_working_orders.get();
        match &valid.fix {
            None => SimulatedExchange::spawn(&valid.exchange, responder, clock, capacity)
                .map(Venue::Simulated)
                .map_err(VenueError::Simulated),
            #[cfg(feature = "fix")]
            Some(settings) => {
                let window = valid.engine.session.window.clone();
                // The session follows every order at the exchange (its ClOrdID chain), not only
                // those awaiting a first answer.
                let capacity = valid.engine.capacities.max_working_orders.get();
                FixExchange::new(settings, window, responder, clock, capacity)
                    .map(Venue::Fix)
                    .map_err(VenueError::Fix)
            }
            #[cfg(not(feature = "fix"))]
            Some(_) => Err(VenueError::NoFix),
        }
    }
}

impl Exchange for Venue {
    #[inline]
    fn send(&mut self, order: &OrderRequest) -> Result<(), NotSent> {
        match self {
            Venue::Simulated(x) => x.send(order),
            #[cfg(feature = "fix")]
            Venue::Fix(x) => x.send(order),
        }
    }
    fn send_cancel(&mut self, order: &OrderRequest) -> Result<(), NotSent> {
        match self {
            Venue::Simulated(x) => x.send_cancel(order),
            #[cfg(feature = "fix")]
            Venue::Fix(x) => x.send_cancel(order),
        }
    }
    fn send_replace(&mut self, order: &OrderRequest) -> Result<(), NotSent> {
        match self {
            Venue::Simulated(x) => x.send_replace(order),
            #[cfg(feature = "fix")]
            Venue::Fix(x) => x.send_replace(order),
        }
    }
    fn restore(&mut self, order: &RestoredOrder) {
        match self {
            Venue::Simulated(x) => x.restore(order),
            #[cfg(feature = "fix")]
            Venue::Fix(x) => x.restore(order),
        }
    }
    fn send_logon(&mut self, logon: &Logon) {
        match self {
            Venue::Simulated(x) => x.send_logon(logon),
            #[cfg(feature = "fix")]
            Venue::Fix(x) => x.send_logon(logon),
        }
    }
    fn send_logout(&mut self, logout: &Logout) {
        match self {
            Venue::Simulated(x) => x.send_logout(logout),
            #[cfg(feature = "fix")]
            Venue::Fix(x) => x.send_logout(logout),
        }
    }
    fn ready(&self) -> bool {
        match self {
            Venue::Simulated(x) => x.ready(),
            #[cfg(feature = "fix")]
            Venue::Fix(x) => x.ready(),
        }
    }
    fn poll(&mut self, now_ns: u64, events: &mut dyn FnMut(ExchangeEvent<'_>)) -> usize {
        match self {
            Venue::Simulated(x) => x.poll(now_ns, events),
            #[cfg(feature = "fix")]
            Venue::Fix(x) => x.poll(now_ns, events),
        }
    }
    fn next_deadline_ns(&self) -> Option<u64> {
        match self {
            Venue::Simulated(x) => x.next_deadline_ns(),
            #[cfg(feature = "fix")]
            Venue::Fix(x) => x.next_deadline_ns(),
        }
    }
    fn wait_fd(&self) -> Option<WaitFd> {
        match self {
            Venue::Simulated(x) => x.wait_fd(),
            #[cfg(feature = "fix")]
            Venue::Fix(x) => x.wait_fd(),
        }
    }
}
