//! `oms::audit` on hand-written journals with an exchange session's records: a FIX session's
//! day passes (logon refused and retried with orders queued, logged on, sent, answered, filled,
//! rejected by the venue, disconnected and back, logout, and what is read while a shutdown's
//! logout goes out); sends while the exchange session is down or before it first logs on, and an
//! execution report before its order's response, are violations.

use std::num::NonZeroU32;

use jiff::civil::time;
use oms::audit::{AuditOptions, AuditReport, Rule, audit};
use oms::model::{DisconnectCause, FixCode, RejectSource, SessionEvent as E};
use oms::record::SessionReport;
use oms::throttle::{ThrottleMode, ThrottleSettings};
use oms::{
    DaySet, Event, EventRecord, OrderRequest, RejectReason as R, RequestType as Q, ResponseType, Side,
    TradingWindow,
};

/// 2026-11-23T10:00:00Z: the window opens (until 10:00:10).
const OPEN: i64 = 1_795_428_000_000_000_000;
const MS: i64 = 1_000_000;

#[derive(Default)]
struct J(Vec<EventRecord>);

impl J {
    fn push(mut self, r: EventRecord) -> Self {
        self.0.push(r);
        self
    }
    fn at(ms: i64) -> i64 {
        OPEN + ms * MS
    }
    fn order(id: u64) -> OrderRequest {
        OrderRequest::new(id, 7, Side::Buy, 10.0, 5)
    }
    fn event(self, ms: i64, e: Event) -> Self {
        self.push(EventRecord::new(J::at(ms), e))
    }
    fn logon(self, ms: i64) -> Self {
        self.event(ms, Event::Logon)
    }
    fn logout(self, ms: i64) -> Self {
        self.event(ms, Event::Logout)
    }
    fn session(self, ms: i64, event: E) -> Self {
        let report = match event {
            E::LoggedOn => SessionReport::LoggedOn { next_out_seq: 1, next_in_seq: 1 },
            E::LogonRefused => SessionReport::LogonRefused { retry_in_ns: 0 },
            E::Disconnected => {
                SessionReport::Disconnected { cause: DisconnectCause::PeerClosed, retry_in_ns: 0 }
            }
            E::LoggedOut => SessionReport::LoggedOut,
            E::ResendRequested => SessionReport::ResendRequested { begin: 1, end: 0 },
            E::GapFilled => SessionReport::GapFilled { begin: 1, new_seq: 2 },
            E::SequenceReset => SessionReport::SequenceReset { new_seq: 2 },
            E::SessionRejected => SessionReport::SessionRejected { ref_seq: 1, code: 0 },
            E::Unhandled => SessionReport::Unhandled { seq: 1 },
        };
        self.event(ms, Event::ExchangeSession(report))
    }
    fn queued(self, ms: i64, id: u64) -> Self {
        self.event(ms, Event::Queued { order: J::order(id) })
    }
    fn sent(self, ms: i64, id: u64) -> Self {
        self.event(ms, Event::Sent { order: J::order(id), in_oms_ns: 0 })
    }
    fn response(self, ms: i64, id: u64, t: ResponseType) -> Self {
        self.event(ms, Event::Response { order: J::order(id), response: t, round_trip_ns: 0 })
    }
    fn rejected(self, ms: i64, id: u64, reason: R) -> Self {
        self.event(ms, Event::Rejected { order: J::order(id), request: Q::New, reason, value: 0.0 })
    }
    fn unanswered(self, ms: i64, id: u64) -> Self {
        self.event(ms, Event::Unanswered { order: J::order(id) })
    }
    fn execution(self, ms: i64, id: u64) -> Self {
        let (exec_type, ord_status) = (FixCode::new(b'F').expect("code"), FixCode::new(b'2').expect("code"));
        self.event(ms, Event::Execution { order_id: id, last_qty: 5, last_px: 10.0, exec_type, ord_status })
    }
    fn venue_reject(self, ms: i64, id: u64) -> Self {
        self.event(ms, Event::ExchangeReject { order_id: id, source: RejectSource::BusinessReject, code: 2 })
    }
    fn audit(mut self) -> AuditReport {
        for (i, r) in self.0.iter_mut().enumerate() {
            r.seq = i as u64 + 1;
        }
        let window =
            TradingWindow::new(jiff::tz::TimeZone::UTC, time(10, 0, 0, 0), time(10, 0, 10, 0), DaySet::ALL);
        let nz = |v| NonZeroU32::new(v).expect("non-zero");
        let throttle = ThrottleSettings { mode: ThrottleMode::TokenBucket, rate: nz(100), burst: nz(100) };
        audit(&self.0, &window, &throttle, AuditOptions::LIVE)
    }
}

fn first(report: &AuditReport, rule: Rule) -> (u64, Option<u64>, String) {
    let v = report.rule(rule).first.as_ref().unwrap_or_else(|| panic!("{rule:?} holds:\n{report}"));
    (v.seq, v.order_id, v.message.clone())
}

#[test]
fn a_fix_sessions_day_passes() {
    let report = J::default()
        .logon(0)
        .queued(1, 1)
        .session(2, E::LogonRefused)
        .queued(3, 2)
        .session(500, E::LoggedOn)
        .sent(500, 1)
        .sent(500, 2)
        .response(501, 1, ResponseType::Accept)
        .execution(501, 1)
        .response(502, 2, ResponseType::Reject)
        .venue_reject(502, 2)
        .session(600, E::Disconnected)
        .queued(700, 3)
        .session(900, E::LoggedOn)
        .session(900, E::ResendRequested)
        .sent(900, 3)
        .response(901, 3, ResponseType::Accept)
        .execution(950, 99) // an order of an earlier run
        .sent(1000, 4)
        .logout(10_000)
        .session(10_001, E::LoggedOut)
        .response(10_002, 4, ResponseType::Accept)
        .execution(10_003, 4)
        // Accepted orders work on until the shutdown leaves them unanswered.
        .unanswered(10_004, 1)
        .unanswered(10_004, 3)
        .unanswered(10_004, 4)
        .audit();
    assert!(report.is_clean(), "{report}");
    assert_eq!(report.rule(Rule::Responses).checked, 8, "4 responses, 3 executions, 1 reject");
}

#[test]
fn what_the_exchange_says_while_a_shutdown_logout_goes_out_is_allowed() {
    let report = J::default()
        .logon(0)
        .session(1, E::LoggedOn)
        .sent(2, 1)
        .sent(2, 2)
        .queued(2, 3)
        .rejected(3000, 3, R::Shutdown)
        .logout(3000)
        .response(3001, 2, ResponseType::Accept)
        .execution(3001, 2)
        .session(3002, E::LoggedOut)
        .unanswered(3003, 1)
        .unanswered(3003, 2)
        .audit();
    assert!(report.is_clean(), "{report}");
    // A send there is not.
    let report = J::default().logon(0).session(1, E::LoggedOn).logout(3000).sent(3001, 1).audit();
    assert_eq!(first(&report, Rule::Sessions).0, 4);
}

#[test]
fn a_send_while_the_exchange_session_is_down_breaks_the_window_rule() {
    for down in [E::LogonRefused, E::Disconnected, E::LoggedOut] {
        let report = J::default()
            .logon(0)
            .session(1, E::LoggedOn)
            .sent(2, 1)
            .session(3, down)
            .sent(4, 2)
            .response(5, 1, ResponseType::Accept)
            .response(5, 2, ResponseType::Accept)
            .logout(10_000)
            .unanswered(10_000, 1)
            .unanswered(10_000, 2)
            .audit();
        let (seq, id, message) = first(&report, Rule::Window);
        assert_eq!((seq, id), (5, Some(2)), "{down:?}: {message}");
        assert!(message.contains(down.name()) && message.contains("seq 4"), "{message}");
        assert_eq!(report.broken(), [Rule::Window], "{report}");
    }
}

#[test]
fn sends_before_the_exchange_session_first_logs_on_break_the_window_rule() {
    let report = J::default()
        .logon(0)
        .sent(1, 1)
        .sent(1, 2)
        .session(5, E::LoggedOn)
        .response(6, 1, ResponseType::Accept)
        .response(6, 2, ResponseType::Accept)
        .logout(10_000)
        .audit();
    let (seq, id, message) = first(&report, Rule::Window);
    assert_eq!((seq, id), (2, Some(1)), "{message}");
    assert!(message.starts_with("2 order(s) sent after the logon"), "{message}");
    // An exchange that never reports (the simulated one) is ready at the logon.
    let report = J::default()
        .logon(0)
        .sent(1, 1)
        .response(6, 1, ResponseType::Accept)
        .logout(10_000)
        .unanswered(10_000, 1)
        .audit();
    assert!(report.is_clean(), "{report}");
}

#[test]
fn an_execution_or_venue_reject_before_the_orders_response_breaks_the_responses_rule() {
    let report = J::default()
        .logon(0)
        .session(1, E::LoggedOn)
        .sent(2, 1)
        .execution(3, 1)
        .response(4, 1, ResponseType::Accept)
        .logout(10_000)
        .audit();
    let (seq, id, message) = first(&report, Rule::Responses);
    assert_eq!((seq, id), (4, Some(1)), "{message}");
    assert!(message.contains("without its response"), "{message}");

    let report = J::default()
        .logon(0)
        .session(1, E::LoggedOn)
        .queued(2, 1)
        .venue_reject(3, 1)
        .rejected(10_000, 1, R::SessionEnded)
        .logout(10_000)
        .audit();
    let (seq, id, message) = first(&report, Rule::Responses);
    assert_eq!((seq, id), (4, Some(1)), "{message}");
    assert!(message.contains("queued since seq 3"), "{message}");
}

#[test]
fn exchange_records_answer_no_request_and_carry_no_reject_reason() {
    let on = Event::ExchangeSession(SessionReport::LoggedOn { next_out_seq: 1, next_in_seq: 1 });
    let bad = EventRecord { request: Q::New, ..EventRecord::new(J::at(1), on) };
    let report = J::default().logon(0).push(bad).logout(10_000).audit();
    let (seq, _, message) = first(&report, Rule::Records);
    assert_eq!(seq, 2, "{message}");
    assert!(message.contains("exchange_session record answering a new request"), "{message}");
}
