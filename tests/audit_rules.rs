//! `oms::audit` on hand-written journals: a correct one passes (ids reused once an order has
//! ended, a restart inside the window), and each check of each rule fails on a journal that
//! breaks it, naming the first offending record.

use std::num::NonZeroU32;

use jiff::civil::time;
use oms::audit::{AuditOptions, AuditReport, Rule, audit};
use oms::model::FixCode;
use oms::throttle::{ThrottleMode, ThrottleSettings};
use oms::{
    DaySet, Event, EventRecord, OrderRequest, RejectReason as R, RequestType as Q, ResponseType, Side,
    TradingWindow,
};

/// 2026-11-23T10:00:00Z: the window opens.
const OPEN: i64 = 1_795_428_000_000_000_000;
const MS: i64 = 1_000_000;

fn daily(start: (i8, i8, i8, i32), end: (i8, i8, i8, i32)) -> TradingWindow {
    let t = |(h, m, s, ns): (i8, i8, i8, i32)| time(h, m, s, ns);
    TradingWindow::new(jiff::tz::TimeZone::UTC, t(start), t(end), DaySet::ALL)
}

/// 10:00:00 to 10:00:10 UTC.
fn ten_seconds() -> TradingWindow {
    daily((10, 0, 0, 0), (10, 0, 10, 0))
}

fn throttle(mode: ThrottleMode, rate: u32, burst: u32) -> ThrottleSettings {
    let nz = |v| NonZeroU32::new(v).expect("non-zero");
    ThrottleSettings { mode, rate: nz(rate), burst: nz(burst) }
}

/// A journal written by hand, at times in ms after the window opens.
#[derive(Default)]
struct J(Vec<EventRecord>);

impl J {
    fn order(id: u64) -> OrderRequest {
        OrderRequest::new(id, 7, Side::Buy, 10.0, 5)
    }

    fn event(self, ms: i64, e: Event) -> Self {
        self.raw(EventRecord::new(OPEN + ms * MS, e))
    }

    fn raw(mut self, r: EventRecord) -> Self {
        self.0.push(r);
        self
    }

    fn logon(self, ms: i64) -> Self {
        self.event(ms, Event::Logon)
    }
    fn logout(self, ms: i64) -> Self {
        self.event(ms, Event::Logout)
    }
    fn queued(self, ms: i64, id: u64) -> Self {
        self.event(ms, Event::Queued { order: J::order(id) })
    }
    fn sent(self, ms: i64, id: u64) -> Self {
        self.sent_as(ms, J::order(id))
    }
    fn sent_as(self, ms: i64, o: OrderRequest) -> Self {
        self.event(ms, Event::Sent { order: o, in_oms_ns: 0 })
    }
    fn modified(self, ms: i64, o: OrderRequest) -> Self {
        self.event(ms, Event::Modified { order: o })
    }
    fn cancelled(self, ms: i64, id: u64) -> Self {
        self.event(ms, Event::Cancelled { order: J::order(id) })
    }
    fn rejected(self, ms: i64, o: OrderRequest, q: Q, reason: R) -> Self {
        self.event(ms, Event::Rejected { order: o, request: q, reason, value: 0.0 })
    }
    fn response(self, ms: i64, id: u64, latency_ms: i64) -> Self {
        let round_trip_ns = (latency_ms * MS) as u64;
        self.event(ms, Event::Response { order: J::order(id), response: ResponseType::Accept, round_trip_ns })
    }
    fn unmatched(self, ms: i64, id: u64) -> Self {
        self.event(ms, Event::UnmatchedResponse { order_id: id, response: ResponseType::Accept })
    }
    fn unanswered(self, ms: i64, id: u64) -> Self {
        self.event(ms, Event::Unanswered { order: J::order(id) })
    }
    /// A fill of `qty` of order `id` (symbol 7, buy, qty 5), `cum` filled after it.
    fn fill(self, ms: i64, id: u64, qty: u64, cum: u64) -> Self {
        let (last_qty, cum_qty, complete) = (qty, cum, cum == J::order(id).qty);
        let e =
            Event::Fill { order_id: id, symbol_id: 7, side: 'B', last_qty, last_px: 10.0, cum_qty, complete };
        self.event(ms, e)
    }

    fn numbered(&self) -> Vec<EventRecord> {
        self.0.iter().enumerate().map(|(i, r)| EventRecord { seq: i as u64 + 1, ..*r }).collect()
    }

    fn audit_with(&self, w: &TradingWindow, t: &ThrottleSettings, o: AuditOptions) -> AuditReport {
        audit(&self.numbered(), w, t, o)
    }

    /// Audited under the ten-second window at 2/s, burst 1 (token bucket), live.
    fn audit(&self) -> AuditReport {
        self.audit_with(&ten_seconds(), &throttle(ThrottleMode::TokenBucket, 2, 1), AuditOptions::LIVE)
    }
}

/// Exactly `rule` is broken, first at record `seq` (about `order`), with `words` in its message.
#[track_caller]
fn broken(report: &AuditReport, rule: Rule, seq: u64, order: Option<u64>, words: &str) {
    assert_eq!(report.broken(), [rule], "{report}");
    let v = report.rule(rule).first.as_ref().expect("a violation");
    assert_eq!((v.seq, v.order_id), (seq, order), "{report}");
    assert!(v.message.contains(words), "{:?} does not say {words:?}", v.message);
}

/// Logon, order 1 sent at once, accepted and filled, 2 and 3 queued, 3 modified, 2 sent, 3
/// cancelled, id 3 reused and sent, id 1 reused and queued at the logout (session_ended).
fn good() -> J {
    let modified = OrderRequest { price: 11.0, qty: 9, ..J::order(3) };
    J::default()
        .rejected(-500, J::order(9), Q::New, R::OutsideWindow)
        .logon(0)
        .sent(0, 1)
        .queued(0, 2)
        .queued(0, 3)
        .modified(100, modified)
        .response(200, 1, 200)
        .fill(300, 1, 5, 5)
        .sent(500, 2)
        .cancelled(600, 3)
        .sent(1000, 3)
        .queued(1000, 1)
        .rejected(1000, J::order(2), Q::New, R::DuplicateOrderId)
        .rejected(1000, J::order(3), Q::Modify, R::NotQueued)
        .rejected(1000, OrderRequest { qty: 0, ..J::order(4) }, Q::New, R::InvalidQty)
        .rejected(1000, J::order(5), Q::Unknown, R::InvalidRequestType)
        .unmatched(1100, 1)
        .rejected(10_000, J::order(1), Q::New, R::SessionEnded)
        .logout(10_000)
        .unanswered(12_000, 2)
        .unanswered(12_000, 3)
}

#[test]
fn a_correct_journal_passes_and_counts_what_it_checked() {
    let r = good().audit();
    assert!(r.is_clean() && r.complete, "{r}");
    let checked = |rule| r.rule(rule).checked;
    assert_eq!(checked(Rule::Records), 21);
    assert_eq!(checked(Rule::Throttle), 3);
    assert_eq!(checked(Rule::Fates), 8, "New orders: 9, 1, 2, 3, 3 again, 1 again, 2 again, 4");
    assert_eq!(checked(Rule::Responses), 2);
    assert_eq!(checked(Rule::SessionEnd), 1);
}

#[test]
fn a_restart_inside_the_window_may_log_on_late_even_on_virtual_time() {
    let j = J::default().logon(0).sent(0, 1).logout(3000).unanswered(3000, 1).logon(4000).sent(4000, 2);
    let j = j.logout(10_000).unanswered(10_000, 2);
    let r =
        j.audit_with(&ten_seconds(), &throttle(ThrottleMode::TokenBucket, 2, 1), AuditOptions::VIRTUAL_TIME);
    assert!(r.is_clean(), "{r}");
    // Without the shutdown, the late logon is a broken timer on virtual time (fine when live).
    let j = J::default().rejected(-1, J::order(1), Q::New, R::OutsideWindow).logon(5).logout(10_000);
    assert!(j.audit().is_clean());
    let r =
        j.audit_with(&ten_seconds(), &throttle(ThrottleMode::TokenBucket, 2, 1), AuditOptions::VIRTUAL_TIME);
    broken(&r, Rule::Sessions, 2, None, "after its window opened");
}

#[test]
fn records_rule_breaks() {
    let mut v = good().numbered();
    v[4].seq = 7;
    let r = audit(&v, &ten_seconds(), &throttle(ThrottleMode::TokenBucket, 2, 1), AuditOptions::LIVE);
    assert_eq!(r.rule(Rule::Records).first.as_ref().map(|v| v.seq), Some(7), "{r}");
    let back = J::default().logon(0).unmatched(-1, 8).logout(10_000);
    broken(&back.audit(), Rule::Records, 2, Some(8), "time goes back");
    let sent = EventRecord::new(OPEN + 12_000 * MS, Event::Sent { order: J::order(8), in_oms_ns: 0 });
    let cancel_as_sent = good().raw(EventRecord { request: Q::Cancel, ..sent });
    assert!(cancel_as_sent.audit().broken().contains(&Rule::Records));
}

#[test]
fn window_rule_breaks() {
    let late = J::default().logon(0).sent(10_000, 1).logout(10_000).unanswered(10_000, 1);
    broken(&late.audit(), Rule::Window, 2, Some(1), "after the window closed");
    let logged_out = J::default().logon(0).logout(10_000).sent(10_001, 1).unanswered(10_001, 1);
    broken(&logged_out.audit(), Rule::Window, 3, Some(1), "no session");
}

#[test]
fn sessions_rule_breaks() {
    // A stall across the whole window: logon and logout after it closed.
    let over = J::default().rejected(-1, J::order(1), Q::New, R::OutsideWindow).logon(10_000).logout(10_000);
    broken(&over.audit(), Rule::Sessions, 2, None, "no trading window is open");
    let twice = J::default().logon(0).logon(1).logout(10_000);
    broken(&twice.audit(), Rule::Sessions, 2, None, "overlap");
    broken(&J::default().logout(10_000).audit(), Rule::Sessions, 1, None, "no session");
    let open = J::default().logon(0);
    broken(&open.audit(), Rule::Sessions, 1, None, "journal ends while this session is logged on");
    // Out early (only a shutdown does that), yet still running.
    let on = J::default().logon(0).logout(5000).rejected(6000, J::order(1), Q::New, R::OutsideWindow);
    broken(&on.audit(), Rule::Sessions, 3, Some(1), "before the window's end");
    let exact = J::default().logon(0).logout(10_001);
    assert!(exact.audit().is_clean());
    let v = exact.audit_with(
        &ten_seconds(),
        &throttle(ThrottleMode::TokenBucket, 2, 1),
        AuditOptions::VIRTUAL_TIME,
    );
    broken(&v, Rule::Sessions, 2, None, "after the window's end");
}

#[test]
fn throttle_rule_breaks_in_either_mode() {
    let three = J::default().logon(0).sent(0, 1).sent(500, 2).sent(999, 3).logout(10_000);
    let three = three.unanswered(10_000, 1).unanswered(10_000, 2).unanswered(10_000, 3);
    // Token bucket 2/s, burst 1: 3 sends in 0.999 s > 1 + floor(1.998).
    broken(&three.audit(), Rule::Throttle, 4, Some(3), "3 orders sent within 0.999");
    let sliding = throttle(ThrottleMode::SlidingWindow, 2, 1);
    let r = three.audit_with(&ten_seconds(), &sliding, AuditOptions::LIVE);
    broken(&r, Rule::Throttle, 4, Some(3), "at most 2 are allowed");
    // A window 0.5 s short of a day: two sessions 0.5 s apart. The bucket starts full at each
    // logon; the sliding window counts across the logout and logon.
    let day = daily((10, 0, 0, 0), (9, 59, 59, 500_000_000));
    let j =
        J::default().logon(0).sent(86_399_400, 1).logout(86_399_500).logon(86_400_000).sent(86_400_000, 2);
    let j = j.logout(86_400_000 + 86_399_500).unanswered(172_800_000, 1).unanswered(172_800_000, 2);
    let one = |mode| throttle(mode, 1, 1);
    assert!(j.audit_with(&day, &one(ThrottleMode::TokenBucket), AuditOptions::LIVE).is_clean());
    let r = j.audit_with(&day, &one(ThrottleMode::SlidingWindow), AuditOptions::LIVE);
    broken(&r, Rule::Throttle, 5, Some(2), "2 orders sent within 0.600");
}

#[test]
fn fifo_rule_breaks() {
    let base = J::default().logon(0).queued(0, 1).queued(0, 2);
    let swapped = base.sent(500, 2).sent(1000, 1).logout(10_000).unanswered(10_000, 1).unanswered(10_000, 2);
    broken(&swapped.audit(), Rule::Fifo, 4, Some(2), "before order 1");
    let base = J::default().logon(0).queued(0, 1);
    let overtakes =
        base.sent(500, 3).sent(1000, 1).logout(10_000).unanswered(10_000, 1).unanswered(10_000, 3);
    broken(&overtakes.audit(), Rule::Fifo, 3, Some(3), "waited in the queue");
}

#[test]
fn modify_rule_breaks() {
    let to = |price, qty| OrderRequest { price, qty, ..J::order(1) };
    let end = |j: J| j.logout(10_000).unanswered(10_000, 1);
    let old_qty = J::default().logon(0).queued(0, 1).modified(100, to(11.0, 9)).sent_as(500, to(11.0, 5));
    broken(&end(old_qty).audit(), Rule::Modify, 4, Some(1), "last modified values");
    let zero = J::default().logon(0).queued(0, 1).modified(100, to(11.0, 0)).sent_as(500, to(11.0, 0));
    let r = end(zero).audit();
    assert!(r.broken().contains(&Rule::Modify), "{r}");
    assert!(r.rule(Rule::Modify).first.as_ref().is_some_and(|v| v.seq == 3), "{r}");
    let nan = J::default().logon(0).queued(0, 1).modified(100, to(f64::NAN, 3));
    let r = nan.rejected(10_000, J::order(1), Q::New, R::SessionEnded).logout(10_000).audit();
    broken(&r, Rule::Modify, 3, Some(1), "must be rejected");
    let not_queued = J::default().logon(0).sent(0, 1).modified(100, to(11.0, 9));
    broken(&end(not_queued).audit(), Rule::Modify, 3, Some(1), "nor a replace of it is in the queue");
    let wrongly = J::default().logon(0).queued(0, 1).rejected(100, to(11.0, 9), Q::Modify, R::NotQueued);
    let r = wrongly.rejected(10_000, J::order(1), Q::New, R::SessionEnded).logout(10_000).audit();
    broken(&r, Rule::Modify, 3, Some(1), "rejected not_queued does not fit");
}

#[test]
fn well_formed_rule_breaks() {
    let nan = OrderRequest { price: f64::NAN, ..J::order(1) };
    let j = J::default().logon(0).sent_as(0, nan).logout(10_000).unanswered(10_000, 1);
    broken(&j.audit(), Rule::WellFormed, 2, Some(1), "price NaN");
}

#[test]
fn fates_rule_breaks() {
    let end = |j: J| j.logout(10_000);
    let twice = J::default().logon(0).sent(0, 1).sent(500, 1).response(600, 1, 100);
    broken(&end(twice).unanswered(10_000, 1).audit(), Rule::Fates, 3, Some(1), "sent twice");
    let requeued = J::default().logon(0).sent(0, 1).queued(0, 1).unanswered(0, 1);
    assert!(end(requeued).audit().broken().contains(&Rule::Fates));
    let not_queued = J::default().logon(0).cancelled(0, 1);
    broken(&end(not_queued).audit(), Rule::Fates, 2, Some(1), "cancelled while not in the queue");
    let left = J::default().logon(0).sent(0, 1).logout(10_000);
    broken(&left.audit(), Rule::Fates, 2, Some(1), "without a fate");
    let cases = [
        (R::QueueFull, J::order(1), "queue_full"),
        (R::DuplicateOrderId, J::order(1), "duplicate_order_id"),
        (R::OutsideWindow, J::order(1), "outside_window"),
        (R::InvalidQty, J::order(1), "invalid_qty"),
        (R::NotQueued, J::order(1), "not_queued"),
    ];
    for (reason, o, name) in cases {
        let j = end(J::default().logon(0).rejected(0, o, Q::New, reason));
        broken(&j.audit(), Rule::Fates, 2, Some(1), name);
    }
    let cancel = end(J::default().logon(0).rejected(0, J::order(1), Q::Cancel, R::InvalidPrice));
    broken(&cancel.audit(), Rule::Fates, 2, Some(1), "invalid_price");
    let unanswered_early = J::default().logon(0).sent(0, 1).unanswered(0, 1);
    broken(&end(unanswered_early).audit(), Rule::Fates, 3, Some(1), "only at shutdown");
}

#[test]
fn session_end_rule_breaks() {
    let q = J::default().logon(0).queued(0, 1).queued(0, 2);
    broken(&q.logout(10_000).audit(), Rule::SessionEnd, 4, Some(1), "still queued at the logout");
    let reject = |j: J, id| j.rejected(10_000, J::order(id), Q::New, R::SessionEnded);
    let q = || J::default().logon(0).queued(0, 1).queued(0, 2);
    let order = reject(reject(q(), 2), 1).logout(10_000);
    broken(&order.audit(), Rule::SessionEnd, 4, Some(2), "out of queue order");
    // Between the rejects and the logout the exchange may still answer (the working orders are
    // cancelled before the logout), but nothing else is decided.
    let answer = reject(reject(q(), 1), 2).unmatched(10_000, 7).logout(10_000);
    assert!(answer.audit().is_clean(), "{}", answer.audit());
    let modified = OrderRequest { price: 11.0, ..J::order(2) };
    let gap = reject(q(), 1).modified(10_000, modified);
    let gap = reject(gap, 2).logout(10_000);
    broken(&gap.audit(), Rule::SessionEnd, 5, Some(2), "right before the logout");
    let reject_at_5 = |j: J, id| j.rejected(5_000, J::order(id), Q::New, R::SessionEnded);
    let early = reject_at_5(reject_at_5(q(), 1), 2).logout(5_000);
    broken(&early.audit(), Rule::SessionEnd, 4, None, "before the window's end");
}

#[test]
fn responses_rule_breaks() {
    // Accepted orders work on: the shutdown after the logout leaves them unanswered.
    let end = |j: J| j.logout(10_000).unanswered(10_000, 1);
    let long = J::default().logon(0).sent(0, 1).response(100, 1, 101);
    broken(&end(long).audit(), Rule::Responses, 3, Some(1), "latency 101000000 ns");
    let short = J::default().logon(0).sent(0, 1).response(100, 1, 99);
    assert!(end(short).audit().is_clean(), "live: at most the gap");
    let v = J::default().logon(0).sent(0, 1).response(100, 1, 99).logout(10_000).unanswered(10_000, 1);
    let r =
        v.audit_with(&ten_seconds(), &throttle(ThrottleMode::TokenBucket, 2, 1), AuditOptions::VIRTUAL_TIME);
    broken(&r, Rule::Responses, 3, Some(1), "latency 99000000 ns");
    let queued = J::default().logon(0).queued(0, 1).response(100, 1, 100);
    let r = queued.rejected(10_000, J::order(1), Q::New, R::SessionEnded).logout(10_000).audit();
    assert!(r.broken().contains(&Rule::Responses), "{r}");
    let unmatched = J::default().logon(0).sent(0, 1).unmatched(100, 1).response(200, 1, 200);
    broken(&end(unmatched).audit(), Rule::Responses, 3, Some(1), "in flight since seq 2");
    // An execution report before the response breaks the rule, unless it is a Pending New.
    let report = |exec_type: u8| Event::Execution {
        order_id: 1,
        last_qty: 0,
        last_px: 0.0,
        exec_type: FixCode::new(exec_type).expect("a FIX code"),
        ord_status: FixCode::new(exec_type).expect("a FIX code"),
    };
    let early = J::default().logon(0).sent(0, 1).event(50, report(b'6')).response(100, 1, 100);
    broken(&end(early).audit(), Rule::Responses, 3, Some(1), "without its response");
    let pending_new = J::default().logon(0).sent(0, 1).event(50, report(b'A')).response(100, 1, 100);
    assert!(end(pending_new).audit().is_clean(), "a Pending New comes before the response");
}
