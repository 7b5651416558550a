//! What an exchange session reports besides its answers about orders: logons, refusals,
//! disconnects, execution reports that are no answer (pending states), rejects tied to an order,
//! sequence repairs.
//!
//! An adapter hands these to the engine from [`Exchange::poll`](super::Exchange::poll); each fits
//! an event record (numbers and one-byte codes) except the counterparty's text, which borrows the
//! adapter's receive buffer for the duration of the call (for standard error, never the journal).

pub use crate::model::{DisconnectCause, RejectSource};

/// An ExecutionReport (35=8), in the fields a record can hold.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct ExecutionReport {
    /// The order its ClOrdID (11) names.
    pub order_id: u64,
    /// ExecType (150), e.g. `b'0'` new, `b'F'` trade, `b'4'` canceled, `b'8'` rejected.
    pub exec_type: u8,
    /// OrdStatus (39).
    pub ord_status: u8,
    /// LastQty (32), 0 when absent.
    pub last_qty: u64,
    /// LastPx (31), 0.0 when absent.
    pub last_px: f64,
}

/// One thing the session did or saw.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum ExchangeEvent<'a> {
    /// Logged on (at the window start, or again after a reconnect) and in sync: orders may go
    /// out from here. A FIX Logon that continues earlier sequence numbers is reported once a
    /// TestRequest's Heartbeat showed the counterparty has asked for all it will ask for again
    /// (a gap fill it asked for comes before this). With the sequence numbers the session goes
    /// on from.
    LoggedOn {
        /// Our next MsgSeqNum.
        next_out_seq: u64,
        /// The next MsgSeqNum we expect.
        next_in_seq: u64,
    },
    /// The Logon was answered by a Logout, by closing the connection, or not at all. `text` is the
    /// counterparty's Text (58) or what happened; the session tries again in `retry_in_ns`.
    LogonRefused {
        /// Why, in words.
        text: &'a str,
        /// Until the next attempt, ns.
        retry_in_ns: u64,
    },
    /// The connection ended inside the window (or could not be made); the session tries again
    /// in `retry_in_ns`.
    Disconnected {
        /// Why.
        cause: DisconnectCause,
        /// Details (the counterparty's Text for a Logout, the OS error, ...).
        text: &'a str,
        /// Until the next attempt, ns.
        retry_in_ns: u64,
    },
    /// Logged out at the window's end (the counterparty answered, or did not in time).
    LoggedOut {
        /// The counterparty's Text (58), or what happened.
        text: &'a str,
    },
    /// An execution report that is not an answer about the order (pending new, pending cancel
    /// or replace, a restatement ...; fills, cancels, replaces and expiries go through the
    /// responder as answers).
    Execution(ExecutionReport),
    /// An order, or a cancel or replace of it, turned down outside an execution report: the
    /// order's response (`reject`) went through the responder if it had none yet, the pending
    /// request's refusal (`CancelRejected`) if it was that.
    OrderRejected {
        /// The order.
        order_id: u64,
        /// Who turned it down.
        source: RejectSource,
        /// SessionRejectReason (373) or BusinessRejectReason (380); 0 otherwise.
        reason: u32,
        /// The counterparty's Text (58), if any.
        text: &'a str,
    },
    /// A session-level Reject (35=3) of one of our messages that was not an order.
    SessionRejected {
        /// RefSeqNum (45).
        ref_seq: u64,
        /// SessionRejectReason (373).
        reason: u32,
        /// Text (58).
        text: &'a str,
    },
    /// An inbound gap: we asked for messages `begin ..= end` again (`end` 0: all after `begin`).
    ResendRequested {
        /// First missing MsgSeqNum.
        begin: u64,
        /// Last missing MsgSeqNum, 0 for "all".
        end: u64,
    },
    /// The counterparty asked for our messages from `begin`; we answered with a gap fill to
    /// `new_seq` (never re-sending an order).
    GapFilled {
        /// First MsgSeqNum asked for.
        begin: u64,
        /// Our next MsgSeqNum.
        new_seq: u64,
    },
    /// The counterparty moved its sequence to `new_seq` (SequenceReset, reset or gap fill mode).
    SequenceReset {
        /// The next MsgSeqNum we expect.
        new_seq: u64,
    },
    /// A message this session could not use (an application message it does not handle, an
    /// execution report whose ClOrdID is not of this session's form ...): reported, not acted
    /// on.
    Unhandled {
        /// MsgType (35).
        msg_type: &'a str,
        /// MsgSeqNum (34).
        seq: u64,
        /// Why.
        reason: &'static str,
    },
}
