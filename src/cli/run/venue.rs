//! The exchange `oms run` trades with: the one place it is chosen from the configuration.
//!
//! `[exchange] kind = "simulated"` (the default) is the simulated exchange on its own thread.
//! A FIX session (`kind = "fix"`, [`ValidConfig::fix`]) plugs in here as another variant once
//! the engine drives exchange sessions (their [`Exchange::poll`] each loop turn).

use crate::clock::EngineClock;
use crate::config::ValidConfig;
use crate::exchange::{Exchange, ExchangeEvent, SimulatedExchange};
use crate::model::{Logon, Logout, OrderRequest};
use crate::ring::Responder;

/// The exchange of a run.
#[derive(Debug)]
pub(super) enum Venue {
    /// The simulated exchange (`[exchange] kind = "simulated"`).
    Simulated(SimulatedExchange),
}

impl Venue {
    /// Whether `oms run` can trade with the configured exchange (checked before anything
    /// starts); the reason if not.
    pub(super) fn supported(valid: &ValidConfig) -> Result<(), String> {
        match &valid.fix {
            None => Ok(()),
            Some(_) => Err("[exchange] kind = \"fix\": `oms run` trades with the simulated exchange only \
                            (the engine does not drive a FIX session yet)"
                .into()),
        }
    }

    /// Starts the configured exchange, answering through `responder`, on the engine's clock.
    pub(super) fn start(
        valid: &ValidConfig,
        responder: Responder,
        clock: EngineClock,
    ) -> std::io::Result<Venue> {
        let capacity = valid.engine.capacities.max_in_flight.get();
        Ok(Venue::Simulated(SimulatedExchange::spawn(&valid.exchange, responder, clock, capacity)?))
    }
}

impl Exchange for Venue {
    #[inline]
    fn send(&mut self, order: &OrderRequest) {
        match self {
            Venue::Simulated(x) => x.send(order),
        }
    }
    fn send_logon(&mut self, logon: &Logon) {
        match self {
            Venue::Simulated(x) => x.send_logon(logon),
        }
    }
    fn send_logout(&mut self, logout: &Logout) {
        match self {
            Venue::Simulated(x) => x.send_logout(logout),
        }
    }
    fn ready(&self) -> bool {
        match self {
            Venue::Simulated(x) => x.ready(),
        }
    }
    fn poll(&mut self, now_ns: u64, events: &mut dyn FnMut(ExchangeEvent<'_>)) -> usize {
        match self {
            Venue::Simulated(x) => x.poll(now_ns, events),
        }
    }
    fn next_deadline_ns(&self) -> Option<u64> {
        match self {
            Venue::Simulated(x) => x.next_deadline_ns(),
        }
    }
}
