//! Exchanges for tests and benchmarks: one that records every call, one that does nothing.

use super::{Exchange, NotSent};
use crate::model::{Logon, Logout, OrderRequest};

/// What the engine asked the exchange to do.
#[derive(Clone, Debug, PartialEq)]
pub enum ExchangeCall {
    /// `send_logon` (the username only: the password is not kept).
    Logon(String),
    /// `send_logout`.
    Logout(String),
    /// `send`.
    Send(OrderRequest),
    /// `send_cancel` (the order as live).
    Cancel(OrderRequest),
    /// `send_replace` (the order as it would become).
    Replace(OrderRequest),
}

/// Records every call in order (pre-allocate with [`RecordingExchange::with_capacity`]).
#[derive(Clone, Debug, Default)]
pub struct RecordingExchange {
    /// The calls, oldest first.
    pub calls: Vec<ExchangeCall>,
}

impl RecordingExchange {
    /// Reserves room for `n` calls.
    pub fn with_capacity(n: usize) -> Self {
        RecordingExchange { calls: Vec::with_capacity(n) }
    }

    /// The orders sent, in order.
    pub fn sent(&self) -> impl Iterator<Item = &OrderRequest> + '_ {
        self.calls.iter().filter_map(|c| match c {
            ExchangeCall::Send(o) => Some(o),
            _ => None,
        })
    }

    /// The cancels sent, in order.
    pub fn cancels(&self) -> impl Iterator<Item = &OrderRequest> + '_ {
        self.calls.iter().filter_map(|c| match c {
            ExchangeCall::Cancel(o) => Some(o),
            _ => None,
        })
    }

    /// The replaces sent, in order.
    pub fn replaces(&self) -> impl Iterator<Item = &OrderRequest> + '_ {
        self.calls.iter().filter_map(|c| match c {
            ExchangeCall::Replace(o) => Some(o),
            _ => None,
        })
    }

    /// Number of logons.
    pub fn logons(&self) -> usize {
        self.calls.iter().filter(|c| matches!(c, ExchangeCall::Logon(_))).count()
    }

    /// Number of logouts.
    pub fn logouts(&self) -> usize {
        self.calls.iter().filter(|c| matches!(c, ExchangeCall::Logout(_))).count()
    }
}

impl Exchange for RecordingExchange {
    fn send(&mut self, order: &OrderRequest) -> Result<(), NotSent> {
        self.calls.push(ExchangeCall::Send(*order));
        Ok(())
    }
    fn send_cancel(&mut self, order: &OrderRequest) -> Result<(), NotSent> {
        self.calls.push(ExchangeCall::Cancel(*order));
        Ok(())
    }
    fn send_replace(&mut self, order: &OrderRequest) -> Result<(), NotSent> {
        self.calls.push(ExchangeCall::Replace(*order));
        Ok(())
    }
    fn send_logon(&mut self, logon: &Logon) {
        self.calls.push(ExchangeCall::Logon(logon.username.clone()));
    }
    fn send_logout(&mut self, logout: &Logout) {
        self.calls.push(ExchangeCall::Logout(logout.username.clone()));
    }
}

/// Discards everything but counts sends (benchmarks).
#[derive(Clone, Copy, Debug, Default)]
pub struct NullExchange {
    /// Orders sent.
    pub sent: u64,
    /// Cancels and replaces sent.
    pub requests: u64,
    /// Logons.
    pub logons: u64,
    /// Logouts.
    pub logouts: u64,
}

impl Exchange for NullExchange {
    #[inline]
    fn send(&mut self, _order: &OrderRequest) -> Result<(), NotSent> {
        self.sent += 1;
        Ok(())
    }
    #[inline]
    fn send_cancel(&mut self, _order: &OrderRequest) -> Result<(), NotSent> {
        self.requests += 1;
        Ok(())
    }
    #[inline]
    fn send_replace(&mut self, _order: &OrderRequest) -> Result<(), NotSent> {
        self.requests += 1;
        Ok(())
    }
    fn send_logon(&mut self, _logon: &Logon) {
        self.logons += 1;
    }
    fn send_logout(&mut self, _logout: &Logout) {
        self.logouts += 1;
    }
}
