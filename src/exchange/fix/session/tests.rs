//! The session rules on a manual clock: the counterparty's messages are made with the encoder,
//! ours are decoded from the outbound buffer.

use super::*;
use crate::exchange::fix::decode::decode;

const SEC: u64 = 1_000_000_000;
const HB: u64 = 10 * SEC;

fn params() -> SessionParams {
    SessionParams {
        sender: "OMS".into(),
        target: "EXCH".into(),
        heartbeat_secs: 10,
        reset_on_logon: false,
        username: "trader".into(),
        password: Secret::new("hunter2"),
        reconnect_min_ns: SEC,
        reconnect_max_ns: 4 * SEC,
        answer_timeout_ns: 5 * SEC,
    }
}

/// One message we sent: type, MsgSeqNum, fields.
#[derive(Debug)]
struct Sent {
    msg_type: String,
    seq: u64,
    fields: Vec<(u32, String)>,
}

impl Sent {
    fn get(&self, tag: u32) -> Option<&str> {
        self.fields.iter().find(|(t, _)| *t == tag).map(|(_, v)| v.as_str())
    }
}

struct T {
    s: Session,
    out: Vec<u8>,
    events: Vec<String>,
    now: Now,
}

impl T {
    fn new(p: SessionParams) -> T {
        T {
            s: Session::new(p, 1, 1),
            out: Vec::with_capacity(1 << 16),
            events: Vec::new(),
            now: Now { mono_ns: 1_000 * SEC, wall_ns: 1_764_597_600_000_000_000 },
        }
    }

    fn advance(&mut self, ns: u64) {
        self.now.mono_ns += ns;
        self.now.wall_ns += ns as i64;
    }

    fn record(events: &mut Vec<String>, o: Output<'_>) {
        events.push(match o {
            Output::Event(e) => format!("{e:?}"),
            Output::App(m) => format!("App({})", String::from_utf8_lossy(m.msg_type())),
            Output::Reject { ref_seq, reason, .. } => format!("Reject({ref_seq}, {reason})"),
        });
    }

    fn timer(&mut self) -> Command {
        let events = &mut self.events;
        self.s.on_timer(self.now, &mut self.out, &mut |o| Self::record(events, o))
    }

    fn connected(&mut self) -> Command {
        let events = &mut self.events;
        self.s.on_connected(self.now, &mut self.out, &mut |o| Self::record(events, o))
    }

    fn feed(&mut self, bytes: &[u8]) -> Command {
        let (m, n) = decode(bytes, 1 << 16).expect("valid message").expect("complete message");
        assert_eq!(n, bytes.len());
        let events = &mut self.events;
        self.s.on_message(self.now, m, &mut self.out, &mut |o| Self::record(events, o))
    }

    /// Our messages since the last call.
    fn sent(&mut self) -> Vec<Sent> {
        let mut v = Vec::new();
        let mut at = 0;
        while at < self.out.len() {
            let (m, n) = decode(&self.out[at..], 1 << 16).expect("we write valid FIX").expect("complete");
            v.push(Sent {
                msg_type: String::from_utf8(m.msg_type().to_vec()).unwrap(),
                seq: m.seq_num().unwrap(),
                fields: m.fields().map(|(t, v)| (t, String::from_utf8(v.to_vec()).unwrap())).collect(),
            });
            at += n;
        }
        self.out.clear();
        v
    }

    fn types(&mut self) -> Vec<String> {
        self.sent().into_iter().map(|s| s.msg_type).collect()
    }

    /// Opens the window, connects, sends the Logon and takes the counterparty's Logon (seq 1).
    fn logged_on(p: SessionParams) -> T {
        let mut t = T::new(p);
        t.s.open(t.now);
        assert_eq!(t.timer(), Command::Connect);
        assert_eq!(t.connected(), Command::None);
        assert_eq!(t.types(), ["A"]);
        let logon = peer(b"A", 1, &[(98, "0"), (108, "10")]);
        assert_eq!(t.feed(&logon), Command::None);
        assert!(t.s.is_active());
        t.events.clear();
        t
    }
}

/// A message from the counterparty (EXCH → OMS).
fn peer(msg_type: &[u8], seq: u64, fields: &[(u32, &str)]) -> Vec<u8> {
    let mut buf = Vec::with_capacity(1024);
    let mut w = MessageWriter::begin(&mut buf, msg_type);
    w.str(49, b"EXCH").str(56, b"OMS").uint(34, seq).str(52, b"20251201-14:00:00.000");
    for (t, v) in fields {
        w.str(*t, v.as_bytes());
    }
    w.finish().unwrap();
    buf
}

#[test]
fn logon_carries_the_credentials_and_heartbeat_interval() {
    let mut t = T::new(params());
    t.s.open(t.now);
    assert_eq!(t.s.state(), State::Waiting { at: t.now.mono_ns });
    assert_eq!(t.timer(), Command::Connect);
    assert_eq!(t.connected(), Command::None);
    let sent = t.sent();
    assert_eq!(sent.len(), 1);
    let logon = &sent[0];
    assert_eq!((logon.msg_type.as_str(), logon.seq), ("A", 1));
    assert_eq!(logon.get(108), Some("10"));
    assert_eq!(logon.get(553), Some("trader"));
    assert_eq!(logon.get(554), Some("hunter2"));
    assert_eq!(logon.get(141), None, "no reset unless configured");
    assert!(!format!("{:?}", t.s).contains("hunter2"), "{:?}", t.s);
    assert_eq!(t.feed(&peer(b"A", 1, &[(98, "0"), (108, "10")])), Command::None);
    assert_eq!(t.events, ["LoggedOn { next_out_seq: 2, next_in_seq: 2 }"]);
    assert_eq!(t.s.seq(), (2, 2));
}

#[test]
fn reset_on_logon_starts_both_sides_at_one() {
    let mut t = T::new(SessionParams { reset_on_logon: true, ..params() });
    t.s.set_seq(40, 30);
    t.s.open(t.now);
    let _ = t.timer();
    let _ = t.connected();
    let logon = t.sent().remove(0);
    assert_eq!((logon.seq, logon.get(141)), (1, Some("Y")));
    let _ = t.feed(&peer(b"A", 1, &[(98, "0"), (108, "10"), (141, "Y")]));
    assert_eq!(t.s.seq(), (2, 2));
}

#[test]
fn a_new_session_from_a_stale_store_asks_the_counterparty_to_reset_too() {
    let mut t = T::new(params());
    t.s.set_seq(40, 30);
    t.s.reset_at_next_logon();
    t.s.open(t.now);
    let _ = t.timer();
    let _ = t.connected();
    let logon = t.sent().remove(0);
    assert_eq!((logon.seq, logon.get(141)), (1, Some("Y")));
    let _ = t.feed(&peer(b"A", 1, &[(98, "0"), (108, "10"), (141, "Y")]));
    assert_eq!(t.s.seq(), (2, 2));
    // Only that Logon: a reconnect continues the numbers.
    let _ = t.feed(&peer(b"5", 2, &[]));
    t.advance(SEC);
    let _ = t.timer();
    let _ = t.connected();
    let logon = t.sent().into_iter().find(|m| m.msg_type == "A").unwrap();
    assert_eq!((logon.seq, logon.get(141)), (3, None));
}

#[test]
fn heartbeat_test_request_and_silent_counterparty() {
    let mut t = T::logged_on(params());
    // Nothing sent for one interval: a Heartbeat.
    t.advance(HB - 1);
    assert_eq!(t.timer(), Command::None);
    assert!(t.types().is_empty());
    t.advance(1);
    assert_eq!(t.timer(), Command::None);
    assert_eq!(t.types(), ["0"]);
    // Inbound silence for 1.2 intervals: one TestRequest, not two.
    t.advance(HB / 5);
    assert_eq!(t.timer(), Command::None);
    let sent = t.sent();
    assert_eq!(sent.len(), 1);
    assert_eq!((sent[0].msg_type.as_str(), sent[0].get(112)), ("1", Some("1")));
    t.advance(1);
    assert_eq!(t.timer(), Command::None);
    assert!(t.types().is_empty());
    // Its Heartbeat clears it; silence starts over.
    let _ = t.feed(&peer(b"0", 2, &[(112, "1")]));
    t.advance(HB * 6 / 5);
    let _ = t.timer();
    assert_eq!(t.types(), ["1"], "a new TestRequest (which also counts as our heartbeat)");
    // No answer: 2.4 intervals of silence is a dead counterparty.
    t.advance(HB * 6 / 5);
    assert_eq!(t.timer(), Command::Disconnect);
    assert_eq!(
        t.events.last().unwrap(),
        &format!(
            "Disconnected {{ cause: SilentPeer, text: \"no message for 2.4 heartbeat intervals\", retry_in_ns: {SEC} }}"
        )
    );
    assert_eq!(t.s.state(), State::Waiting { at: t.now.mono_ns + SEC });
    assert_eq!(t.s.next_deadline_ns(), Some(t.now.mono_ns + SEC));
}

#[test]
fn a_test_request_is_answered_with_its_id() {
    let mut t = T::logged_on(params());
    let _ = t.feed(&peer(b"1", 2, &[(112, "PING-7")]));
    let sent = t.sent();
    assert_eq!((sent[0].msg_type.as_str(), sent[0].get(112)), ("0", Some("PING-7")));
}

#[test]
fn logon_refused_by_a_logout_is_retried_with_doubling_backoff() {
    let mut t = T::new(params());
    t.s.open(t.now);
    let mut delays = Vec::new();
    for _ in 0..5 {
        assert_eq!(t.timer(), Command::Connect);
        let _ = t.connected();
        t.sent();
        assert_eq!(t.feed(&peer(b"5", 1, &[(58, "wrong password")])), Command::Disconnect);
        let State::Waiting { at } = t.s.state() else { panic!("{:?}", t.s.state()) };
        delays.push(at - t.now.mono_ns);
        assert_eq!(t.s.send_app(&mut t.out, t.now, b"D", |_| {}), Err(SendError::NotLoggedOn));
        t.advance(at - t.now.mono_ns - 1);
        assert_eq!(t.timer(), Command::None, "not before the backoff");
        t.advance(1);
    }
    assert_eq!(delays, [SEC, 2 * SEC, 4 * SEC, 4 * SEC, 4 * SEC]);
    assert!(
        t.events.iter().all(|e| e.starts_with("LogonRefused { text: \"wrong password\"")),
        "{:?}",
        t.events
    );
    assert!(t.out.is_empty(), "nothing but Logons was sent");
    // A successful logon resets the backoff.
    assert_eq!(t.timer(), Command::Connect);
    let _ = t.connected();
    let _ = t.feed(&peer(b"A", 1, &[(98, "0"), (108, "10")]));
    let _ = t.feed(&peer(b"5", 2, &[(58, "maintenance")]));
    assert_eq!(t.s.state(), State::Waiting { at: t.now.mono_ns + SEC });
}

#[test]
fn no_answer_to_the_logon_or_a_closed_connection_is_a_refusal() {
    let mut t = T::new(params());
    t.s.open(t.now);
    let _ = t.timer();
    let _ = t.connected();
    t.advance(5 * SEC);
    assert_eq!(t.timer(), Command::Disconnect);
    assert!(t.events[0].starts_with("LogonRefused { text: \"no answer to the Logon\""), "{:?}", t.events);
    t.advance(SEC);
    let _ = t.timer();
    let _ = t.connected();
    let events = &mut t.events;
    t.s.on_disconnected(t.now, DisconnectCause::PeerClosed, "", &mut |o| T::record(events, o));
    assert!(t.events[1].contains("the connection closed before the Logon was answered"), "{:?}", t.events);
}

#[test]
fn an_inbound_gap_sends_one_resend_request_and_the_gap_fill_recovers() {
    let mut t = T::logged_on(params());
    assert_eq!(t.feed(&peer(b"8", 5, &[])), Command::None);
    let sent = t.sent();
    assert_eq!(sent.len(), 1);
    assert_eq!((sent[0].msg_type.as_str(), sent[0].get(7), sent[0].get(16)), ("2", Some("2"), Some("0")));
    assert_eq!(t.events, ["ResendRequested { begin: 2, end: 0 }"], "the early message is dropped");
    let _ = t.feed(&peer(b"8", 6, &[]));
    assert!(t.sent().is_empty(), "one ResendRequest per gap");
    // The counterparty gap-fills 2..5 and re-sends 5 and 6 as possible duplicates.
    let _ = t.feed(&peer(b"4", 2, &[(43, "Y"), (123, "Y"), (36, "5")]));
    let _ = t.feed(&peer(b"8", 5, &[(43, "Y")]));
    let _ = t.feed(&peer(b"8", 6, &[(43, "Y")]));
    assert_eq!(t.s.seq().1, 7);
    assert_eq!(&t.events[1..], ["SequenceReset { new_seq: 5 }", "App(8)", "App(8)"]);
    // A duplicate of an old message is ignored.
    let _ = t.feed(&peer(b"8", 5, &[(43, "Y")]));
    assert_eq!(t.events.len(), 4);
}

#[test]
fn a_logon_above_the_expected_number_asks_for_the_gap() {
    let mut t = T::new(params());
    t.s.open(t.now);
    let _ = t.timer();
    let _ = t.connected();
    t.sent();
    let _ = t.feed(&peer(b"A", 4, &[(98, "0"), (108, "10")]));
    assert!(t.s.is_active());
    let sent = t.sent();
    assert_eq!((sent[0].msg_type.as_str(), sent[0].get(7)), ("2", Some("1")));
    assert_eq!(
        t.events,
        ["LoggedOn { next_out_seq: 2, next_in_seq: 1 }", "ResendRequested { begin: 1, end: 0 }"]
    );
}

#[test]
fn a_resend_request_is_answered_with_one_gap_fill_never_a_resend() {
    let mut t = T::logged_on(params());
    for _ in 0..3 {
        t.s.send_app(&mut t.out, t.now, b"D", |w| {
            w.uint(11, 1);
        })
        .unwrap();
    }
    t.sent();
    assert_eq!(t.s.seq().0, 5);
    let _ = t.feed(&peer(b"2", 2, &[(7, "2"), (16, "0")]));
    let sent = t.sent();
    assert_eq!(sent.len(), 1, "{sent:?}");
    let fill = &sent[0];
    assert_eq!((fill.msg_type.as_str(), fill.seq), ("4", 2));
    assert_eq!((fill.get(123), fill.get(43), fill.get(36)), (Some("Y"), Some("Y"), Some("5")));
    assert!(fill.get(122).is_some(), "OrigSendingTime with PossDupFlag");
    assert_eq!(t.s.seq().0, 5, "a gap fill takes no new number");
    assert_eq!(t.events, ["GapFilled { begin: 2, new_seq: 5 }"]);
    // A bounded range: the fill ends after it.
    let _ = t.feed(&peer(b"2", 3, &[(7, "3"), (16, "3")]));
    let fill = t.sent().remove(0);
    assert_eq!((fill.seq, fill.get(36)), (3, Some("4")));
    // Nothing of ours in the range: nothing to fill.
    let _ = t.feed(&peer(b"2", 4, &[(7, "9"), (16, "0")]));
    assert!(t.sent().is_empty());
}

#[test]
fn a_number_too_low_without_poss_dup_ends_the_session() {
    let mut t = T::logged_on(params());
    let _ = t.feed(&peer(b"0", 2, &[]));
    assert_eq!(t.feed(&peer(b"0", 2, &[])), Command::Disconnect);
    let logout = t.sent().remove(0);
    assert_eq!(logout.msg_type, "5");
    assert_eq!(logout.get(58), Some("MsgSeqNum too low, expecting 3 but received 2"));
    assert!(t.events[0].starts_with("Disconnected { cause: Protocol"), "{:?}", t.events);
}

#[test]
fn sequence_reset_in_reset_mode_applies_whatever_its_number() {
    let mut t = T::logged_on(params());
    let _ = t.feed(&peer(b"4", 99, &[(36, "20")]));
    assert_eq!(t.s.seq().1, 20);
    assert!(t.sent().is_empty(), "no ResendRequest for a reset");
    // Backwards is refused with a session Reject.
    let _ = t.feed(&peer(b"4", 20, &[(36, "3")]));
    let reject = t.sent().remove(0);
    assert_eq!((reject.msg_type.as_str(), reject.get(45), reject.get(373)), ("3", Some("20"), Some("5")));
    assert_eq!(t.s.seq().1, 20);
}

#[test]
fn session_reject_and_app_messages_go_to_the_exchange_layer() {
    let mut t = T::logged_on(params());
    let _ = t.feed(&peer(b"3", 2, &[(45, "7"), (373, "1"), (58, "Required tag missing")]));
    let _ = t.feed(&peer(b"j", 3, &[(45, "8"), (379, "42")]));
    assert_eq!(t.events, ["Reject(7, 1)", "App(j)"]);
}

#[test]
fn logout_at_the_window_end_and_its_timeout() {
    let mut t = T::logged_on(params());
    assert_eq!(t.s.close(t.now, &mut t.out), Command::None);
    assert_eq!(t.types(), ["5"]);
    assert_eq!(t.feed(&peer(b"5", 2, &[])), Command::Disconnect);
    assert_eq!(t.s.state(), State::Idle);
    assert_eq!(t.events, ["LoggedOut { text: \"\" }"]);
    assert_eq!(t.timer(), Command::None, "no reconnect outside the window");

    let mut t = T::logged_on(params());
    let _ = t.s.close(t.now, &mut t.out);
    t.advance(5 * SEC);
    assert_eq!(t.timer(), Command::Disconnect);
    assert_eq!(t.events, ["LoggedOut { text: \"no answer to the Logout\" }"]);
    assert_eq!(t.s.state(), State::Idle);
}

#[test]
fn a_window_that_opens_while_the_logout_is_out_connects_again_after_it() {
    // Answered.
    let mut t = T::logged_on(params());
    let _ = t.s.close(t.now, &mut t.out);
    t.s.open(t.now);
    assert!(matches!(t.s.state(), State::LogoutSent { .. }), "the Logout is still out");
    assert_eq!(t.feed(&peer(b"5", 2, &[])), Command::Disconnect);
    assert_eq!(t.s.state(), State::Waiting { at: t.now.mono_ns });
    assert_eq!(t.timer(), Command::Connect, "the new window's session starts at once");
    // Timed out.
    let mut t = T::logged_on(params());
    let _ = t.s.close(t.now, &mut t.out);
    t.s.open(t.now);
    t.advance(5 * SEC);
    assert_eq!(t.timer(), Command::Disconnect);
    assert_eq!(t.s.state(), State::Waiting { at: t.now.mono_ns });
    assert_eq!(t.timer(), Command::Connect);
}

#[test]
fn a_logout_from_the_counterparty_is_answered_and_retried() {
    let mut t = T::logged_on(params());
    assert_eq!(t.feed(&peer(b"5", 2, &[(58, "end of day")])), Command::Disconnect);
    assert_eq!(t.types(), ["5"]);
    assert_eq!(
        t.events,
        [format!("Disconnected {{ cause: PeerLogout, text: \"end of day\", retry_in_ns: {SEC} }}")]
    );
}

#[test]
fn a_message_for_another_session_is_a_protocol_error() {
    let mut t = T::logged_on(params());
    let mut buf = Vec::with_capacity(256);
    let mut w = MessageWriter::begin(&mut buf, b"0");
    w.str(49, b"SOMEONE").str(56, b"OMS").uint(34, 2).str(52, b"20251201-14:00:00.000");
    w.finish().unwrap();
    assert_eq!(t.feed(&buf), Command::Disconnect);
    assert!(t.events[0].contains("CompID problem"), "{:?}", t.events);
}

#[test]
fn deadlines_follow_the_state() {
    let mut t = T::new(params());
    assert_eq!(t.s.next_deadline_ns(), None);
    t.s.open(t.now);
    assert_eq!(t.s.next_deadline_ns(), Some(t.now.mono_ns));
    let _ = t.timer();
    assert_eq!(t.s.next_deadline_ns(), Some(t.now.mono_ns + 5 * SEC));
    let _ = t.connected();
    let _ = t.feed(&peer(b"A", 1, &[(98, "0"), (108, "10")]));
    assert_eq!(t.s.next_deadline_ns(), Some(t.now.mono_ns + HB), "the next heartbeat");
}

/// Parameters built in code skip the configuration's bounds: the largest heartbeat interval a
/// `u32` holds (about 136 years) keeps its deadlines (1, 1.2 and 2.4 intervals) without an
/// overflow.
#[test]
fn the_largest_heartbeat_interval_does_not_overflow_its_deadlines() {
    let hb = u64::from(u32::MAX) * SEC;
    let mut t = T::logged_on(SessionParams { heartbeat_secs: u32::MAX, ..params() });
    let start = t.now.mono_ns;
    // 2.4 such intervals are beyond an i64 of wall ns: only the monotonic time (the timers'
    // time) moves; the wall time only stamps SendingTime (52).
    assert_eq!(t.s.next_deadline_ns(), Some(start + hb), "the next heartbeat");
    t.now.mono_ns += hb;
    assert_eq!(t.timer(), Command::None);
    assert_eq!(t.types(), ["0"]);
    assert_eq!(t.s.next_deadline_ns(), Some(start + hb / 5 * 6), "the TestRequest");
    t.now.mono_ns += hb / 5;
    assert_eq!(t.timer(), Command::None);
    assert_eq!(t.types(), ["1"]);
    assert_eq!(t.s.next_deadline_ns(), Some(start + hb / 5 * 6 + hb), "the heartbeat after it");
    t.now.mono_ns += hb / 5 * 6;
    assert_eq!(t.timer(), Command::Disconnect);
    assert!(t.events.last().is_some_and(|e| e.contains("SilentPeer")), "{:?}", t.events);
}

/// The longest answer timeout and reconnect delay parameters built in code can hold: their
/// deadlines saturate at the end of time rather than overflow.
#[test]
fn the_longest_timeouts_and_backoff_saturate_their_deadlines() {
    let p = SessionParams {
        reconnect_min_ns: u64::MAX,
        reconnect_max_ns: u64::MAX,
        answer_timeout_ns: u64::MAX,
        ..params()
    };
    let mut t = T::new(p);
    t.s.open(t.now);
    assert_eq!(t.timer(), Command::Connect);
    assert_eq!(t.s.next_deadline_ns(), Some(u64::MAX), "the connect timeout");
    let _ = t.connected();
    assert_eq!(t.s.next_deadline_ns(), Some(u64::MAX), "the Logon's answer timeout");
    let events = &mut t.events;
    t.s.on_disconnected(t.now, DisconnectCause::PeerClosed, "", &mut |o| T::record(events, o));
    assert_eq!(t.s.state(), State::Waiting { at: u64::MAX }, "the reconnect");
    let mut t = T::logged_on(SessionParams { answer_timeout_ns: u64::MAX, ..params() });
    let now = t.now;
    assert_eq!(t.s.close(now, &mut t.out), Command::None);
    assert_eq!(t.s.state(), State::LogoutSent { deadline: u64::MAX }, "the Logout's answer timeout");
}

/// Opens the window and logs on from stored numbers (`next_out` above 1: a reconnect or a
/// restart continuing the session); the counterparty's Logon is `peer_seq`. Returns our
/// messages after the Logon.
fn relogon(next_out: u64, next_in: u64, peer_seq: u64) -> (T, Vec<Sent>) {
    let mut t = T::new(params());
    t.s.set_seq(next_out, next_in);
    t.s.open(t.now);
    assert_eq!(t.timer(), Command::Connect);
    assert_eq!(t.connected(), Command::None);
    let logon = t.sent().remove(0);
    assert_eq!((logon.msg_type.as_str(), logon.seq), ("A", next_out));
    assert_eq!(t.feed(&peer(b"A", peer_seq, &[(98, "0"), (108, "10")])), Command::None);
    let sent = t.sent();
    (t, sent)
}

/// Writes an order (NewOrderSingle with ClOrdID `id`); its MsgSeqNum, or why it was not sent.
fn order(t: &mut T, id: u64) -> Result<u64, SendError> {
    t.s.send_app(&mut t.out, t.now, b"D", |w| {
        w.uint(11, id);
    })
}

#[test]
fn a_logon_that_continues_our_numbers_sends_no_order_until_its_test_request_is_answered() {
    let (mut t, sent) = relogon(5, 4, 4);
    // Logged on, but the counterparty may have lost our 1..4: a TestRequest, no order.
    assert_eq!(sent.len(), 1, "{sent:?}");
    assert_eq!((sent[0].msg_type.as_str(), sent[0].seq, sent[0].get(112)), ("1", 6, Some("1")));
    assert_eq!(t.s.state(), State::Synchronizing { since: t.now.mono_ns, test_seq: 6 });
    assert!(!t.s.is_active());
    assert_eq!(order(&mut t, 1), Err(SendError::NotInSync));
    assert!(t.sent().is_empty(), "nothing written");
    assert!(t.events.is_empty(), "logged_on only once in sync: {:?}", t.events);
    // Other traffic does not put it in sync: a Heartbeat without our TestReqID, one with
    // another, an execution report.
    t.advance(SEC);
    let _ = t.feed(&peer(b"0", 5, &[]));
    let _ = t.feed(&peer(b"0", 6, &[(112, "7")]));
    let _ = t.feed(&peer(b"8", 7, &[]));
    assert!(!t.s.is_active());
    assert_eq!(t.events, ["App(8)"]);
    // Its Heartbeat: in sync, reported as logged on with the numbers it goes on from.
    let _ = t.feed(&peer(b"0", 8, &[(112, "1")]));
    assert!(t.s.is_active());
    assert_eq!(t.events[1..], ["LoggedOn { next_out_seq: 7, next_in_seq: 9 }"]);
    assert_eq!(order(&mut t, 1), Ok(7));
}

#[test]
fn a_resend_request_before_the_heartbeat_is_gap_filled_and_the_order_after_it_is_not() {
    // The counterparty expects our 2 (it lost 2..4): it asks for them on seeing our Logon 5.
    let (mut t, sent) = relogon(5, 4, 4);
    assert_eq!((sent[0].msg_type.as_str(), sent[0].seq), ("1", 6));
    let _ = t.feed(&peer(b"2", 5, &[(7, "2"), (16, "0")]));
    // The gap fill covers our TestRequest (6), which the counterparty drops with the rest of
    // what came past its gap: a new TestRequest follows the fill.
    let sent = t.sent();
    assert_eq!(sent.len(), 2, "{sent:?}");
    assert_eq!((sent[0].msg_type.as_str(), sent[0].seq, sent[0].get(36)), ("4", 2, Some("7")));
    assert_eq!((sent[1].msg_type.as_str(), sent[1].seq, sent[1].get(112)), ("1", 7, Some("2")));
    assert_eq!(t.events, ["GapFilled { begin: 2, new_seq: 7 }"]);
    assert!(!t.s.is_active(), "still waiting for a Heartbeat");
    assert!(order(&mut t, 1).is_err());
    // The first TestRequest's answer (a counterparty that kept it) is not the one awaited.
    let _ = t.feed(&peer(b"0", 6, &[(112, "1")]));
    assert!(!t.s.is_active());
    let _ = t.feed(&peer(b"0", 7, &[(112, "2")]));
    assert!(t.s.is_active());
    assert_eq!(t.events[1..], ["LoggedOn { next_out_seq: 8, next_in_seq: 8 }"]);
    // The order goes after everything the fill covered.
    assert_eq!(order(&mut t, 1), Ok(8));
    let sent = t.sent();
    assert_eq!((sent[0].msg_type.as_str(), sent[0].seq, sent[0].get(11)), ("D", 8, Some("1")));
}

#[test]
fn a_resend_request_that_stops_before_the_test_request_leaves_it_awaited() {
    let (mut t, _) = relogon(5, 4, 4);
    let _ = t.feed(&peer(b"2", 5, &[(7, "3"), (16, "4")]));
    let sent = t.sent();
    assert_eq!(sent.len(), 1, "only the fill: {sent:?}");
    assert_eq!((sent[0].msg_type.as_str(), sent[0].seq, sent[0].get(36)), ("4", 3, Some("5")));
    let _ = t.feed(&peer(b"0", 6, &[(112, "1")]));
    assert!(t.s.is_active());
}

#[test]
fn a_logon_at_one_is_in_sync_at_once() {
    // A new session (both at 1) and a reset one (ResetSeqNumFlag): no number of ours precedes
    // the Logon, nothing can be asked for again.
    let mut t = T::logged_on(params());
    assert!(t.sent().is_empty(), "no TestRequest");
    assert_eq!(order(&mut t, 1), Ok(2));
    let mut t = T::new(SessionParams { reset_on_logon: true, ..params() });
    t.s.set_seq(40, 30);
    t.s.open(t.now);
    let _ = t.timer();
    let _ = t.connected();
    t.sent();
    let _ = t.feed(&peer(b"A", 1, &[(98, "0"), (108, "10"), (141, "Y")]));
    assert!(t.s.is_active());
    assert!(t.sent().is_empty(), "no TestRequest");
    assert_eq!(t.events, ["LoggedOn { next_out_seq: 2, next_in_seq: 2 }"]);
}

#[test]
fn a_reconnect_synchronizes_again() {
    let mut t = T::logged_on(params());
    assert_eq!(order(&mut t, 1), Ok(2));
    t.sent();
    let events = &mut t.events;
    t.s.on_disconnected(t.now, DisconnectCause::PeerClosed, "", &mut |o| T::record(events, o));
    t.advance(SEC);
    assert_eq!(t.timer(), Command::Connect);
    let _ = t.connected();
    let _ = t.feed(&peer(b"A", 2, &[(98, "0"), (108, "10")]));
    let types = t.types();
    assert_eq!(types, ["A", "1"], "the Logon (3), then a TestRequest");
    assert!(!t.s.is_active());
    let _ = t.feed(&peer(b"0", 3, &[(112, "1")]));
    assert!(t.s.is_active());
    assert_eq!(t.events.last().unwrap(), "LoggedOn { next_out_seq: 5, next_in_seq: 4 }");
}

#[test]
fn a_heartbeat_past_an_inbound_gap_still_answers_the_test_request() {
    // The counterparty's numbers jump (it asks us nothing): its Heartbeat to our TestRequest
    // comes past the gap. Its resend will gap-fill it, so it counts now.
    let (mut t, _) = relogon(5, 4, 4);
    let _ = t.feed(&peer(b"0", 9, &[(112, "1")]));
    assert!(t.s.is_active());
    assert_eq!(
        t.events,
        ["LoggedOn { next_out_seq: 7, next_in_seq: 5 }", "ResendRequested { begin: 5, end: 0 }"]
    );
}

#[test]
fn an_unanswered_test_request_after_the_logon_is_a_silent_counterparty() {
    let (mut t, _) = relogon(5, 4, 4);
    let since = t.now.mono_ns;
    assert_eq!(t.s.next_deadline_ns(), Some(since + HB), "our next heartbeat first");
    // The counterparty keeps talking (its heartbeats) but never answers the TestRequest.
    for seq in 5..7 {
        t.advance(HB);
        let _ = t.feed(&peer(b"0", seq, &[]));
        assert_eq!(t.timer(), Command::None);
        assert_eq!(t.types(), ["0"], "our heartbeat; no second TestRequest");
    }
    assert_eq!(t.s.next_deadline_ns(), Some(since + HB * 12 / 5));
    t.advance(HB * 2 / 5 - 1);
    assert_eq!(t.timer(), Command::None);
    t.advance(1);
    assert_eq!(t.timer(), Command::Disconnect);
    assert_eq!(
        t.events,
        [format!(
            "Disconnected {{ cause: SilentPeer, text: \"the TestRequest after the Logon was not answered \
             within 2.4 heartbeat intervals\", retry_in_ns: {SEC} }}"
        )]
    );
    assert_eq!(t.s.state(), State::Waiting { at: t.now.mono_ns + SEC });
}

#[test]
fn the_window_closing_while_synchronizing_logs_out() {
    let (mut t, _) = relogon(5, 4, 4);
    assert_eq!(t.s.close(t.now, &mut t.out), Command::None);
    assert_eq!(t.types(), ["5"]);
    assert!(matches!(t.s.state(), State::LogoutSent { .. }));
    // Its Heartbeat after the Logout changes nothing.
    let _ = t.feed(&peer(b"0", 5, &[(112, "1")]));
    assert!(!t.s.is_active());
    assert_eq!(t.feed(&peer(b"5", 6, &[])), Command::Disconnect);
    assert_eq!(t.events, ["LoggedOut { text: \"\" }"]);
}
