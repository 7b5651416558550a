//! The codes an exchange session reports besides order responses, as the journal stores them:
//! what happened to the session ([`SessionEvent`]), why a connection ended ([`DisconnectCause`]),
//! who turned an order down outside an execution report ([`RejectSource`]), and the one-letter
//! FIX values of an execution report ([`FixCode`]). Their numeric values are wire values; their
//! snake_case names are what the CLI prints.

wire_enum! {
    /// What happened to the exchange session: the sub-code of an `exchange_session` record.
    pub enum SessionEvent {
        /// Logged on (at the window start, or again after a reconnect) and in sync: orders may go
        /// out from here.
        LoggedOn = 1 => "logged_on",
        /// The Logon was answered by a Logout, by a disconnect, or not at all; retried with backoff.
        LogonRefused = 2 => "logon_refused",
        /// The connection ended inside the window (or could not be made); retried with backoff.
        Disconnected = 3 => "disconnected",
        /// Logged out at the window's end.
        LoggedOut = 4 => "logged_out",
        /// An inbound gap: a ResendRequest went out.
        ResendRequested = 5 => "resend_requested",
        /// The counterparty asked for messages again and was answered with a gap fill.
        GapFilled = 6 => "gap_filled",
        /// The counterparty moved its sequence number (SequenceReset).
        SequenceReset = 7 => "sequence_reset",
        /// A session-level Reject of one of our messages that was not an order.
        SessionRejected = 8 => "session_rejected",
        /// A message the session could not use.
        Unhandled = 9 => "unhandled",
    }
}

impl SessionEvent {
    /// Whether orders can go out after this event: `Some(true)` once logged on, `Some(false)`
    /// once the session is down (refused, disconnected, logged out), `None` if it changes
    /// nothing (sequence repairs, rejects, unhandled messages happen inside a live session).
    pub const fn ready_after(self) -> Option<bool> {
        match self {
            SessionEvent::LoggedOn => Some(true),
            SessionEvent::LogonRefused | SessionEvent::Disconnected | SessionEvent::LoggedOut => Some(false),
            SessionEvent::ResendRequested
            | SessionEvent::GapFilled
            | SessionEvent::SequenceReset
            | SessionEvent::SessionRejected
            | SessionEvent::Unhandled => None,
        }
    }
}

wire_enum! {
    /// Why a connection ended.
    pub enum DisconnectCause {
        /// The counterparty closed the connection.
        PeerClosed = 1 => "peer_closed",
        /// A read or write failed (connection reset, broken pipe ...).
        Io = 2 => "io_error",
        /// Nothing arrived for 2.4 heartbeat intervals, a TestRequest included.
        SilentPeer = 3 => "silent_peer",
        /// The counterparty sent a Logout inside the window.
        PeerLogout = 4 => "peer_logout",
        /// Bytes that are not a FIX 4.4 message (bad frame or checksum).
        Garbled = 5 => "garbled",
        /// A session rule broken by the counterparty (MsgSeqNum too low, wrong CompID, ...).
        Protocol = 6 => "protocol",
        /// The connection could not be made (refused, unreachable, timed out).
        ConnectFailed = 7 => "connect_failed",
        /// Our outbound buffer is full: the counterparty does not read.
        Backlog = 8 => "backlog",
    }
}

wire_enum! {
    /// Who turned an order down, when it was not an execution report.
    pub enum RejectSource {
        /// A session-level Reject (35=3) naming the order's message (RefSeqNum 45).
        SessionReject = 1 => "session_reject",
        /// A BusinessMessageReject (35=j) naming the order (BusinessRejectRefID 379 or RefSeqNum).
        BusinessReject = 2 => "business_reject",
        /// The counterparty asked for the order's message again and we sent a gap fill instead: the
        /// counterparty never processed it and never will.
        GapFilled = 3 => "gap_filled",
        /// The order could not be sent at all. Written by format versions before 4 (a FIX session
        /// answered such an order `reject` itself); this build's engine records the order
        /// `rejected` `not_sent` instead, and reads this value only in older journals.
        NotSent = 4 => "not_sent",
    }
}

/// A one-character FIX field value as received (ExecType 150, OrdStatus 39), or absent. Only
/// printable ASCII other than space is a value: anything else is refused when decoding a record.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct FixCode(u8);

impl FixCode {
    /// The field was absent.
    pub const ABSENT: FixCode = FixCode(0);

    /// The code for byte `b` (`ABSENT` for 0); `None` if `b` is not printable ASCII.
    pub const fn new(b: u8) -> Option<FixCode> {
        match b {
            0 | 0x21..=0x7e => Some(FixCode(b)),
            _ => None,
        }
    }

    /// A code from a received byte: a byte that is not a value becomes `?`.
    pub const fn lossy(b: u8) -> FixCode {
        match FixCode::new(b) {
            Some(c) => c,
            None => FixCode(b'?'),
        }
    }

    /// The byte (0 when absent).
    pub const fn byte(self) -> u8 {
        self.0
    }

    /// The character, if present.
    pub fn char(self) -> Option<char> {
        (self.0 != 0).then_some(self.0 as char)
    }

    /// What the value means as an ExecType (150), in snake_case, if it is a FIX 4.4 value.
    pub const fn exec_type_name(self) -> Option<&'static str> {
        Some(match self.0 {
            b'0' => "new",
            b'3' => "done_for_day",
            b'4' => "canceled",
            b'5' => "replaced",
            b'6' => "pending_cancel",
            b'7' => "stopped",
            b'8' => "rejected",
            b'9' => "suspended",
            b'A' => "pending_new",
            b'B' => "calculated",
            b'C' => "expired",
            b'D' => "restated",
            b'E' => "pending_replace",
            b'F' => "trade",
            b'G' => "trade_correct",
            b'H' => "trade_cancel",
            b'I' => "order_status",
            _ => return None,
        })
    }

    /// What the value means as an OrdStatus (39), in snake_case, if it is a FIX 4.4 value.
    pub const fn ord_status_name(self) -> Option<&'static str> {
        Some(match self.0 {
            b'0' => "new",
            b'1' => "partially_filled",
            b'2' => "filled",
            b'3' => "done_for_day",
            b'4' => "canceled",
            b'6' => "pending_cancel",
            b'7' => "stopped",
            b'8' => "rejected",
            b'9' => "suspended",
            b'A' => "pending_new",
            b'B' => "calculated",
            b'C' => "expired",
            b'D' => "accepted_for_bidding",
            b'E' => "pending_replace",
            _ => return None,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wire_values_and_names_round_trip() {
        for (i, e) in SessionEvent::ALL.into_iter().enumerate() {
            assert_eq!(e as usize, i + 1);
            assert_eq!(SessionEvent::from_u8(e as u8), Some(e));
        }
        for (i, c) in DisconnectCause::ALL.into_iter().enumerate() {
            assert_eq!(c as usize, i + 1);
            assert_eq!(DisconnectCause::from_u8(c as u8), Some(c));
        }
        for (i, s) in RejectSource::ALL.into_iter().enumerate() {
            assert_eq!(s as usize, i + 1);
            assert_eq!(RejectSource::from_u8(s as u8), Some(s));
        }
        for v in [0, 10, 255] {
            assert_eq!(SessionEvent::from_u8(v), None);
        }
        assert_eq!(DisconnectCause::from_u8(9), None);
        assert_eq!(RejectSource::from_u8(5), None);
        let names = |n: &[&str]| n.iter().collect::<std::collections::HashSet<_>>().len() == n.len();
        assert!(names(&SessionEvent::ALL.map(SessionEvent::name)));
        assert!(names(&DisconnectCause::ALL.map(DisconnectCause::name)));
        assert!(names(&RejectSource::ALL.map(RejectSource::name)));
    }

    #[test]
    fn fix_codes_are_printable_ascii_or_absent() {
        assert_eq!(FixCode::new(b'F').and_then(|c| c.exec_type_name()), Some("trade"));
        assert_eq!(FixCode::new(b'2').and_then(|c| c.ord_status_name()), Some("filled"));
        assert_eq!(FixCode::new(0), Some(FixCode::ABSENT));
        assert_eq!(FixCode::ABSENT.char(), None);
        for b in [b' ', 0x7f, 0x80, 0xff, 0x01] {
            assert_eq!(FixCode::new(b), None, "byte {b:#x}");
            assert_eq!(FixCode::lossy(b).byte(), b'?');
        }
        assert_eq!(FixCode::new(b'Z').and_then(|c| c.exec_type_name()), None);
    }
}
