//! The FIX 4.4 initiator session as pure logic: no socket, no clock, no file. Time comes in as a
//! [`Now`]; outbound messages are appended to the caller's buffer; what happened goes to an
//! `emit` callback; what the connection must do comes back as a [`Command`]. The unit tests drive
//! it on a manual clock with messages from the encoder.
//!
//! What it does:
//! - **Logon** (A) when connected, with HeartBtInt (108), Username (553), Password (554), and
//!   ResetSeqNumFlag (141) when configured. A Logout, a disconnect or silence instead of a Logon
//!   is a refusal: reported with the counterparty's Text (58) and retried with backoff while the
//!   window is open (doubling from the minimum to the maximum; a logon resets it).
//! - **In sync before orders.** A Logon that continues earlier numbers of ours (MsgSeqNum above
//!   1: a reconnect, a restart from the store) may reach a counterparty that lost some of them;
//!   it asks for them with a ResendRequest, and whatever we sent before that request arrives is
//!   in the range it asks for and gap-filled. So the session logs on *synchronizing*: it sends a
//!   TestRequest and takes application messages only once that TestRequest's Heartbeat arrives.
//!   The counterparty processes our messages in order, so by then it has seen our Logon and
//!   everything before the TestRequest, and any ResendRequest it sent on seeing them has reached
//!   us (one connection keeps order) and been answered. A ResendRequest before the Heartbeat is
//!   gap-filled as always; when the fill covers the TestRequest (the counterparty discards what it
//!   received past its gap), a new TestRequest follows the fill. No answer within 2.4 heartbeat
//!   intervals of the Logon's answer is a silent counterparty (disconnect, retry). A Logon at
//!   MsgSeqNum 1 (ResetSeqNumFlag, or a new store) needs none of this: no number of ours
//!   precedes it, so there is nothing to ask for again. [`ExchangeEvent::LoggedOn`] is reported
//!   when the session is in sync, the moment orders may go out.
//! - **Heartbeats** both ways: a Heartbeat (0) when we sent nothing for an interval; a
//!   TestRequest (1) after 1.2 intervals of inbound silence; a disconnect (silent counterparty)
//!   after 2.4 intervals, QuickFIX's thresholds. An inbound TestRequest is answered with its
//!   TestReqID.
//! - **Inbound sequence**: a gap (MsgSeqNum above the expected one) sends one ResendRequest (2)
//!   for everything from the expected number and drops the early message (the counterparty sends
//!   it again); a number below the expected one is a duplicate when PossDupFlag (43) is set
//!   (ignored), else a fatal error (Logout with the reason, disconnect), as the spec says.
//!   SequenceReset (4) in gap-fill mode moves the expected number forward when in sequence; in
//!   reset mode it applies whatever its own number.
//! - **ResendRequest from the counterparty** is answered with one SequenceReset-GapFill over the
//!   whole range, never by re-sending: an order re-sent later is an order at a stale price that
//!   nobody would enter now, and venues treat PossDup orders inconsistently. The orders in the
//!   range were not processed by the counterparty (that is what asking for them means), so the
//!   exchange layer answers each unanswered one `reject`. Hence no message store either.
//! - **Logout** (5) at the window's end; the counterparty's Logout (or a timeout) ends it.

use super::decode::Message;
use super::encode::{EncodeError, MessageWriter};
use super::tags::{self, msg};
use super::text::{TIMESTAMP_BYTES, TimestampCache};
use crate::exchange::event::{DisconnectCause, ExchangeEvent};
use crate::model::Secret;

/// The two readings of the clock the session needs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Now {
    /// Monotonic ns (timers).
    pub mono_ns: u64,
    /// Wall-clock ns since the Unix epoch (SendingTime).
    pub wall_ns: i64,
}

/// The session's fixed parameters.
#[derive(Clone, Debug)]
pub struct SessionParams {
    /// SenderCompID (49) of our messages.
    pub sender: String,
    /// TargetCompID (56) of our messages.
    pub target: String,
    /// HeartBtInt (108), seconds.
    pub heartbeat_secs: u32,
    /// Send ResetSeqNumFlag (141) = Y on Logon (both sides start at 1).
    pub reset_on_logon: bool,
    /// Username (553).
    pub username: String,
    /// Password (554).
    pub password: Secret,
    /// First reconnect delay, ns.
    pub reconnect_min_ns: u64,
    /// Longest reconnect delay, ns.
    pub reconnect_max_ns: u64,
    /// How long a connect, a Logon or a Logout may stay unanswered, ns.
    pub answer_timeout_ns: u64,
}

/// What the connection must do after a session call.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[must_use]
pub enum Command {
    /// Nothing.
    None,
    /// Open a connection, then call [`Session::on_connected`] (or report the failure).
    Connect,
    /// Close the connection after writing what is buffered. The session has already reported
    /// why and scheduled what comes next.
    Disconnect,
}

/// What the session tells the exchange layer.
#[derive(Clone, Copy, Debug)]
pub enum Output<'a> {
    /// Goes to the engine as is.
    Event(ExchangeEvent<'a>),
    /// An application message in sequence (ExecutionReport, BusinessMessageReject, ...).
    App(Message<'a>),
    /// A session-level Reject (3) of our message `ref_seq`.
    Reject {
        /// RefSeqNum (45).
        ref_seq: u64,
        /// SessionRejectReason (373).
        reason: u32,
        /// Text (58).
        text: &'a str,
    },
}

/// Where the session is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum State {
    /// Outside the window: no connection wanted.
    Idle,
    /// Waiting until `at` (monotonic ns) to connect.
    Waiting {
        /// When to connect.
        at: u64,
    },
    /// Connecting, until `deadline`.
    Connecting {
        /// Give up then.
        deadline: u64,
    },
    /// Logon sent, no answer yet.
    LogonSent {
        /// Give up then.
        deadline: u64,
    },
    /// Logged on, not known to be in sync yet: the TestRequest sent after the Logon awaits its
    /// Heartbeat; no application message goes out (see the module docs).
    Synchronizing {
        /// When the Logon was answered (monotonic ns): the TestRequest's answer is due within
        /// 2.4 heartbeat intervals of it.
        since: u64,
        /// MsgSeqNum of the TestRequest awaiting its Heartbeat.
        test_seq: u64,
    },
    /// Logged on and in sync: application messages go out.
    Active,
    /// Logout sent at the window's end.
    LogoutSent {
        /// Disconnect anyway then.
        deadline: u64,
    },
}

/// Why an application message was not written.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum SendError {
    /// The session is not logged on.
    #[error("the FIX session is not logged on")]
    NotLoggedOn,
    /// The session is logged on but not known to be in sync yet (see [`State::Synchronizing`]).
    #[error("the FIX session is logged on but not yet in sync with the counterparty")]
    NotInSync,
    /// The message could not be encoded.
    #[error(transparent)]
    Encode(#[from] EncodeError),
}

/// The session state machine.
#[derive(Debug)]
pub struct Session {
    p: SessionParams,
    heartbeat_ns: u64,
    state: State,
    window_open: bool,
    next_out: u64,
    next_in: u64,
    last_sent_ns: u64,
    last_recv_ns: u64,
    /// Id of the TestRequest awaiting its Heartbeat.
    test_request: Option<u64>,
    /// MsgSeqNum of our last Logon.
    logon_seq: u64,
    test_requests_sent: u64,
    /// A ResendRequest is out and covers up to this number.
    resend_until: Option<u64>,
    backoff_ns: u64,
    /// Formatted texts of our own (errors only: never on the order path).
    scratch: String,
    /// SendingTime (52) formatting.
    clock_text: TimestampCache,
    /// The next Logon asks the counterparty to reset too (a new session from a stale store).
    reset_next_logon: bool,
}

type Emit<'e> = dyn FnMut(Output<'_>) + 'e;

impl Session {
    /// A session outside its window, at sequence numbers `next_out` / `next_in`.
    pub fn new(p: SessionParams, next_out: u64, next_in: u64) -> Session {
        let heartbeat_ns = u64::from(p.heartbeat_secs.max(1)) * 1_000_000_000;
        Session {
            backoff_ns: p.reconnect_min_ns,
            p,
            heartbeat_ns,
            state: State::Idle,
            window_open: false,
            next_out,
            next_in,
            last_sent_ns: 0,
            last_recv_ns: 0,
            test_request: None,
            logon_seq: 0,
            test_requests_sent: 0,
            resend_until: None,
            scratch: String::new(),
            clock_text: TimestampCache::default(),
            reset_next_logon: false,
        }
    }

    /// Where the session is.
    pub fn state(&self) -> State {
        self.state
    }

    /// Whether application messages can be sent: logged on and in sync.
    #[inline]
    pub fn is_active(&self) -> bool {
        self.state == State::Active
    }

    /// (our next MsgSeqNum, the next MsgSeqNum expected).
    #[inline]
    pub fn seq(&self) -> (u64, u64) {
        (self.next_out, self.next_in)
    }

    /// Sets both sequence numbers (read from a store); only between connections.
    pub fn set_seq(&mut self, next_out: u64, next_in: u64) {
        self.next_out = next_out;
        self.next_in = next_in;
    }

    /// Starts a new session at the next Logon: both numbers back to 1 and ResetSeqNumFlag (141)
    /// sent, so the counterparty starts over too.
    pub fn reset_at_next_logon(&mut self) {
        self.reset_next_logon = true;
    }

    /// The parameters.
    pub fn params(&self) -> &SessionParams {
        &self.p
    }

    /// The window opened: connect at the next [`Session::on_timer`] (and after every loss, with
    /// backoff, until [`Session::close`]).
    pub fn open(&mut self, now: Now) {
        self.window_open = true;
        self.backoff_ns = self.p.reconnect_min_ns;
        if self.state == State::Idle {
            self.state = State::Waiting { at: now.mono_ns };
        }
    }

    /// The credentials of the next Logons.
    pub fn set_credentials(&mut self, username: &str, password: &Secret) {
        self.p.username.clear();
        self.p.username.push_str(username);
        self.p.password = password.clone();
    }

    /// The window closed: Logout if logged on, else stop trying.
    pub fn close(&mut self, now: Now, out: &mut Vec<u8>) -> Command {
        self.window_open = false;
        match self.state {
            State::Active | State::Synchronizing { .. } => {
                if self.admin(out, now, msg::LOGOUT, |_| {}).is_err() {
                    self.state = State::Idle;
                    return Command::Disconnect;
                }
                self.state =
                    State::LogoutSent { deadline: now.mono_ns.saturating_add(self.p.answer_timeout_ns) };
                Command::None
            }
            State::LogoutSent { .. } => Command::None,
            State::Idle | State::Waiting { .. } => {
                self.state = State::Idle;
                Command::None
            }
            State::Connecting { .. } | State::LogonSent { .. } => {
                self.state = State::Idle;
                Command::Disconnect
            }
        }
    }

    /// The next instant at which [`Session::on_timer`] has something to do.
    pub fn next_deadline_ns(&self) -> Option<u64> {
        match self.state {
            State::Idle => None,
            State::Waiting { at } => Some(at),
            State::Connecting { deadline } | State::LogonSent { deadline } => Some(deadline),
            State::Active | State::Synchronizing { .. } | State::LogoutSent { .. } => {
                let hb = self.last_sent_ns.saturating_add(self.heartbeat_ns);
                let silence = self.last_recv_ns.saturating_add(if self.test_request.is_some() {
                    self.silent_peer_ns()
                } else {
                    self.test_request_ns()
                });
                let mut t = hb.min(silence);
                match self.state {
                    State::LogoutSent { deadline } => t = t.min(deadline),
                    State::Synchronizing { since, .. } => t = t.min(self.sync_deadline(since)),
                    _ => {}
                }
                Some(t)
            }
        }
    }

    fn connect(&mut self, now: Now) -> Command {
        self.state = State::Connecting { deadline: now.mono_ns.saturating_add(self.p.answer_timeout_ns) };
        Command::Connect
    }

    /// Schedules the next attempt (or goes idle outside the window); returns the delay.
    fn retry_later(&mut self, now: Now) -> u64 {
        self.test_request = None;
        self.resend_until = None;
        if !self.window_open {
            self.state = State::Idle;
            return 0;
        }
        let delay = self.backoff_ns;
        self.backoff_ns = (self.backoff_ns.saturating_mul(2)).min(self.p.reconnect_max_ns);
        self.state = State::Waiting { at: now.mono_ns.saturating_add(delay) };
        delay
    }

    /// Our Logout is answered (or timed out): idle, unless a window opened meanwhile (the
    /// engine logged on again while the Logout was out): then connect again at once.
    fn logged_out(&mut self, now: Now) {
        self.test_request = None;
        self.resend_until = None;
        self.state = if self.window_open { State::Waiting { at: now.mono_ns } } else { State::Idle };
    }

    /// The connection is up: send the Logon.
    pub fn on_connected(&mut self, now: Now, out: &mut Vec<u8>, emit: &mut Emit<'_>) -> Command {
        if !matches!(self.state, State::Connecting { .. }) {
            return Command::Disconnect;
        }
        let reset = self.p.reset_on_logon || self.reset_next_logon;
        if reset {
            self.next_out = 1;
            self.next_in = 1;
        }
        let seq = self.next_out;
        self.logon_seq = seq;
        let sent = self.write(out, now, msg::LOGON, seq, |w, p| {
            w.uint(tags::ENCRYPT_METHOD, 0).uint(tags::HEART_BT_INT, u64::from(p.heartbeat_secs));
            if reset {
                w.char(tags::RESET_SEQ_NUM_FLAG, b'Y');
            }
            w.str(tags::USERNAME, p.username.as_bytes()).str(tags::PASSWORD, p.password.expose().as_bytes());
        });
        if sent.is_ok() {
            self.next_out += 1;
            self.last_sent_ns = now.mono_ns;
        }
        if sent.is_err() {
            return self.drop_connection(now, DisconnectCause::Backlog, "no room for the Logon", emit);
        }
        self.last_recv_ns = now.mono_ns;
        self.state = State::LogonSent { deadline: now.mono_ns.saturating_add(self.p.answer_timeout_ns) };
        Command::None
    }

    /// The connection could not be made.
    pub fn on_connect_failed(&mut self, now: Now, text: &str, emit: &mut Emit<'_>) {
        let retry_in_ns = self.retry_later(now);
        emit(Output::Event(ExchangeEvent::Disconnected {
            cause: DisconnectCause::ConnectFailed,
            text,
            retry_in_ns,
        }));
    }

    /// The transport saw the connection end (EOF or an error) without the session asking.
    pub fn on_disconnected(&mut self, now: Now, cause: DisconnectCause, text: &str, emit: &mut Emit<'_>) {
        let was = self.state;
        let retry_in_ns = self.retry_later(now);
        let event = match was {
            State::LogonSent { .. } => {
                self.scratch.clear();
                self.scratch.push_str("the connection closed before the Logon was answered");
                if !text.is_empty() {
                    self.scratch.push_str(": ");
                    self.scratch.push_str(text);
                }
                ExchangeEvent::LogonRefused { text: &self.scratch, retry_in_ns }
            }
            State::LogoutSent { .. } => {
                ExchangeEvent::LoggedOut { text: "the counterparty closed the connection" }
            }
            State::Connecting { .. } => {
                ExchangeEvent::Disconnected { cause: DisconnectCause::ConnectFailed, text, retry_in_ns }
            }
            State::Active | State::Synchronizing { .. } => {
                ExchangeEvent::Disconnected { cause, text, retry_in_ns }
            }
            State::Idle | State::Waiting { .. } => return,
        };
        emit(Output::Event(event));
    }

    /// Reports a connection problem, schedules the retry, and asks for the disconnect.
    fn drop_connection(
        &mut self,
        now: Now,
        cause: DisconnectCause,
        text: &str,
        emit: &mut Emit<'_>,
    ) -> Command {
        let retry_in_ns = self.retry_later(now);
        emit(Output::Event(ExchangeEvent::Disconnected { cause, text, retry_in_ns }));
        Command::Disconnect
    }

    /// `wall_ns` as a FIX UTC timestamp (`YYYYMMDD-HH:MM:SS.sss`), from the session's cache.
    #[inline]
    pub fn timestamp(&mut self, wall_ns: i64) -> [u8; TIMESTAMP_BYTES] {
        *self.clock_text.format(wall_ns)
    }

    /// Writes the standard header and `body`, then the trailer: one message with MsgSeqNum `seq`.
    fn write(
        &mut self,
        out: &mut Vec<u8>,
        now: Now,
        msg_type: &[u8],
        seq: u64,
        body: impl FnOnce(&mut MessageWriter<'_>, &SessionParams),
    ) -> Result<usize, EncodeError> {
        let sending_time = self.timestamp(now.wall_ns);
        let mut w = MessageWriter::begin(out, msg_type);
        w.str(tags::SENDER_COMP_ID, self.p.sender.as_bytes())
            .str(tags::TARGET_COMP_ID, self.p.target.as_bytes())
            .uint(tags::MSG_SEQ_NUM, seq)
            .str(tags::SENDING_TIME, &sending_time);
        body(&mut w, &self.p);
        w.finish()
    }

    /// A sequenced session message.
    fn admin(
        &mut self,
        out: &mut Vec<u8>,
        now: Now,
        msg_type: &[u8],
        body: impl FnOnce(&mut MessageWriter<'_>),
    ) -> Result<(), EncodeError> {
        self.write(out, now, msg_type, self.next_out, |w, _| body(w))?;
        self.next_out += 1;
        self.last_sent_ns = now.mono_ns;
        Ok(())
    }

    /// Writes an application message (e.g. NewOrderSingle) with the next MsgSeqNum, which it
    /// returns. The hot path: no allocation, no formatting beyond the fields.
    #[inline]
    pub fn send_app(
        &mut self,
        out: &mut Vec<u8>,
        now: Now,
        msg_type: &[u8],
        body: impl FnOnce(&mut MessageWriter<'_>),
    ) -> Result<u64, SendError> {
        if self.state != State::Active {
            return Err(self.not_ready());
        }
        let seq = self.next_out;
        self.write(out, now, msg_type, seq, |w, _| body(w))?;
        self.next_out += 1;
        self.last_sent_ns = now.mono_ns;
        Ok(seq)
    }

    #[cold]
    fn not_ready(&self) -> SendError {
        match self.state {
            State::Synchronizing { .. } => SendError::NotInSync,
            _ => SendError::NotLoggedOn,
        }
    }

    /// Timers: connect, heartbeat, TestRequest, silent counterparty, answer timeouts.
    pub fn on_timer(&mut self, now: Now, out: &mut Vec<u8>, emit: &mut Emit<'_>) -> Command {
        let t = now.mono_ns;
        match self.state {
            State::Idle => Command::None,
            State::Waiting { at } => {
                if t >= at {
                    self.connect(now)
                } else {
                    Command::None
                }
            }
            State::Connecting { deadline } if t >= deadline => {
                self.drop_connection(now, DisconnectCause::ConnectFailed, "connect timed out", emit)
            }
            State::Connecting { .. } => Command::None,
            State::LogonSent { deadline } if t >= deadline => {
                let retry_in_ns = self.retry_later(now);
                let text = "no answer to the Logon";
                emit(Output::Event(ExchangeEvent::LogonRefused { text, retry_in_ns }));
                Command::Disconnect
            }
            State::LogonSent { .. } => Command::None,
            State::LogoutSent { deadline } if t >= deadline => {
                self.logged_out(now);
                emit(Output::Event(ExchangeEvent::LoggedOut { text: "no answer to the Logout" }));
                Command::Disconnect
            }
            State::Synchronizing { since, .. } if t >= self.sync_deadline(since) => self.drop_connection(
                now,
                DisconnectCause::SilentPeer,
                "the TestRequest after the Logon was not answered within 2.4 heartbeat intervals",
                emit,
            ),
            State::Active | State::Synchronizing { .. } | State::LogoutSent { .. } => {
                self.keep_alive(now, out, emit)
            }
        }
    }

    /// When a [`State::Synchronizing`] session that logged on at `since` gives up on the
    /// TestRequest's answer: the silent-counterparty interval, counted from the Logon's answer
    /// (a counterparty that keeps sending but never answers it is as good as silent).
    fn sync_deadline(&self, since: u64) -> u64 {
        since.saturating_add(self.silent_peer_ns())
    }

    /// Sends a TestRequest with a new TestReqID and awaits its Heartbeat; returns its MsgSeqNum.
    fn send_test_request(&mut self, now: Now, out: &mut Vec<u8>) -> Result<u64, EncodeError> {
        self.test_requests_sent += 1;
        let id = self.test_requests_sent;
        let seq = self.next_out;
        self.admin(out, now, msg::TEST_REQUEST, |w| {
            w.uint(tags::TEST_REQ_ID, id);
        })?;
        self.test_request = Some(id);
        Ok(seq)
    }

    /// Logged on, not known to be in sync: the TestRequest whose Heartbeat will show it (see
    /// the module docs). `since` is when the Logon was answered.
    fn synchronize(&mut self, now: Now, since: u64, out: &mut Vec<u8>, emit: &mut Emit<'_>) -> Command {
        match self.send_test_request(now, out) {
            Ok(test_seq) => {
                self.state = State::Synchronizing { since, test_seq };
                Command::None
            }
            Err(_) => self.drop_connection(now, DisconnectCause::Backlog, "no room for a TestRequest", emit),
        }
    }

    /// The session is in sync: application messages go out from here on.
    fn in_sync(&mut self, emit: &mut Emit<'_>) {
        self.state = State::Active;
        emit(Output::Event(ExchangeEvent::LoggedOn {
            next_out_seq: self.next_out,
            next_in_seq: self.next_in,
        }));
    }

    /// Inbound silence after which a TestRequest goes out: 1.2 heartbeat intervals. The interval
    /// is whole seconds in ns (a multiple of 5): dividing first is exact and cannot overflow, for
    /// parameters built in code too (which skip the configuration's bounds).
    fn test_request_ns(&self) -> u64 {
        (self.heartbeat_ns / 5).saturating_mul(6)
    }

    /// Inbound silence after which the counterparty is dead: 2.4 heartbeat intervals (see
    /// [`Session::test_request_ns`]).
    fn silent_peer_ns(&self) -> u64 {
        (self.heartbeat_ns / 5).saturating_mul(12)
    }

    fn keep_alive(&mut self, now: Now, out: &mut Vec<u8>, emit: &mut Emit<'_>) -> Command {
        let t = now.mono_ns;
        let silence = t.saturating_sub(self.last_recv_ns);
        if silence >= self.silent_peer_ns() {
            return self.drop_connection(
                now,
                DisconnectCause::SilentPeer,
                "no message for 2.4 heartbeat intervals",
                emit,
            );
        }
        if silence >= self.test_request_ns()
            && self.test_request.is_none()
            && self.send_test_request(now, out).is_err()
        {
            return self.drop_connection(now, DisconnectCause::Backlog, "no room for a TestRequest", emit);
        }
        if t.saturating_sub(self.last_sent_ns) >= self.heartbeat_ns
            && self.admin(out, now, msg::HEARTBEAT, |_| {}).is_err()
        {
            return self.drop_connection(now, DisconnectCause::Backlog, "no room for a Heartbeat", emit);
        }
        Command::None
    }
}

mod inbound;
#[cfg(test)]
mod tests;
