//! What an `exchange_session` record reports ([`SessionReport`]): the session event with its
//! numbers, and the two fields of the record that carry them.

use super::EventRecord;
use crate::model::{DisconnectCause, SessionEvent};

/// What an `exchange_session` record reports, with its numbers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SessionReport {
    /// Logged on (at the window start, or again after a reconnect).
    LoggedOn {
        /// Our next MsgSeqNum.
        next_out_seq: u64,
        /// The next MsgSeqNum expected from the counterparty.
        next_in_seq: u64,
    },
    /// The Logon was answered by a Logout, by a disconnect, or not at all.
    LogonRefused {
        /// Until the next attempt, ns.
        retry_in_ns: u64,
    },
    /// The connection ended inside the window (or could not be made).
    Disconnected {
        /// Why.
        cause: DisconnectCause,
        /// Until the next attempt, ns.
        retry_in_ns: u64,
    },
    /// Logged out at the window's end.
    LoggedOut,
    /// An inbound gap: a ResendRequest went out.
    ResendRequested {
        /// BeginSeqNo.
        begin: u64,
        /// EndSeqNo (0: infinity).
        end: u64,
    },
    /// The counterparty asked for messages again and was answered with a gap fill.
    GapFilled {
        /// The first sequence number filled.
        begin: u64,
        /// NewSeqNo.
        new_seq: u64,
    },
    /// The counterparty moved its sequence number (SequenceReset).
    SequenceReset {
        /// NewSeqNo.
        new_seq: u64,
    },
    /// A session-level Reject of one of our messages that was not an order.
    SessionRejected {
        /// RefSeqNum.
        ref_seq: u64,
        /// SessionRejectReason (373).
        code: u64,
    },
    /// A message the session could not use.
    Unhandled {
        /// Its MsgSeqNum.
        seq: u64,
    },
}

impl SessionReport {
    /// The report's sub-code.
    pub const fn event(&self) -> SessionEvent {
        match self {
            SessionReport::LoggedOn { .. } => SessionEvent::LoggedOn,
            SessionReport::LogonRefused { .. } => SessionEvent::LogonRefused,
            SessionReport::Disconnected { .. } => SessionEvent::Disconnected,
            SessionReport::LoggedOut => SessionEvent::LoggedOut,
            SessionReport::ResendRequested { .. } => SessionEvent::ResendRequested,
            SessionReport::GapFilled { .. } => SessionEvent::GapFilled,
            SessionReport::SequenceReset { .. } => SessionEvent::SequenceReset,
            SessionReport::SessionRejected { .. } => SessionEvent::SessionRejected,
            SessionReport::Unhandled { .. } => SessionEvent::Unhandled,
        }
    }

    /// The record's numbers: (`qty`, `order_id`, `latency_ns`) and the disconnect cause.
    #[inline(always)]
    pub(super) const fn numbers(&self) -> (u64, u64, u64, Option<DisconnectCause>) {
        match *self {
            SessionReport::LoggedOn { next_out_seq, next_in_seq } => (next_out_seq, next_in_seq, 0, None),
            SessionReport::LogonRefused { retry_in_ns } => (0, 0, retry_in_ns, None),
            SessionReport::Disconnected { cause, retry_in_ns } => (0, 0, retry_in_ns, Some(cause)),
            SessionReport::LoggedOut => (0, 0, 0, None),
            SessionReport::ResendRequested { begin, end } => (begin, end, 0, None),
            SessionReport::GapFilled { begin, new_seq } => (begin, new_seq, 0, None),
            SessionReport::SequenceReset { new_seq } => (new_seq, 0, 0, None),
            SessionReport::SessionRejected { ref_seq, code } => (ref_seq, code, 0, None),
            SessionReport::Unhandled { seq } => (seq, 0, 0, None),
        }
    }

    /// The report a record's numbers and codes make; `None` when they do not make one.
    pub(super) fn from_numbers(
        event: SessionEvent,
        cause: Option<DisconnectCause>,
        r: &EventRecord,
    ) -> Option<Self> {
        let (a, b, wait) = (r.qty, r.order_id, r.latency_ns);
        Some(match event {
            SessionEvent::LoggedOn => SessionReport::LoggedOn { next_out_seq: a, next_in_seq: b },
            SessionEvent::LogonRefused => SessionReport::LogonRefused { retry_in_ns: wait },
            SessionEvent::Disconnected => SessionReport::Disconnected { cause: cause?, retry_in_ns: wait },
            SessionEvent::LoggedOut => SessionReport::LoggedOut,
            SessionEvent::ResendRequested => SessionReport::ResendRequested { begin: a, end: b },
            SessionEvent::GapFilled => SessionReport::GapFilled { begin: a, new_seq: b },
            SessionEvent::SequenceReset => SessionReport::SequenceReset { new_seq: a },
            SessionEvent::SessionRejected => SessionReport::SessionRejected { ref_seq: a, code: b },
            SessionEvent::Unhandled => SessionReport::Unhandled { seq: a },
        })
    }
}
