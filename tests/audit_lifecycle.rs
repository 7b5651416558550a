//! `oms::audit` on hand-written journals of orders' lives at the exchange: a correct journal
//! passes (fills, a replace with a fill on the old terms, a cancel that a fill races, a refused
//! cancel and replace, an expiry, unexpected reports, the working orders cancelled after the
//! window's end before a late logout), and each rule about cancels, replaces and fills fails
//! on a journal with one record changed or inserted, naming the rule, the record and the order.

use std::collections::HashMap;
use std::num::NonZeroU32;

use jiff::civil::time;
use oms::audit::{AuditOptions, AuditReport, Rule, audit};
use oms::model::AnswerKind;
use oms::throttle::{ThrottleMode, ThrottleSettings};
use oms::{
    DaySet, Event, EventRecord, OrderRequest, OrderState, RejectReason as R, RequestType as Q, ResponseType,
    Side, TradingWindow,
};

/// 2026-11-23T10:00:00Z: the window opens (until 10:00:10).
const OPEN: i64 = 1_795_428_000_000_000_000;
const MS: i64 = 1_000_000;

fn throttle(mode: ThrottleMode, rate: u32, burst: u32) -> ThrottleSettings {
    let nz = |v| NonZeroU32::new(v).expect("non-zero");
    ThrottleSettings { mode, rate: nz(rate), burst: nz(burst) }
}

/// A journal written by hand, at times in ms after the window opens. Round trips are the time
/// since the order's send, cancel or replace, so the journal holds on virtual time too.
#[derive(Default)]
struct J {
    records: Vec<EventRecord>,
    /// Per order: when its last send, cancel or replace went out (ms).
    out_at: HashMap<u64, i64>,
}

/// Order `id`: symbol 7, buy 10 @ 10.
fn order(id: u64) -> OrderRequest {
    OrderRequest::new(id, 7, Side::Buy, 10.0, 10)
}

/// Order `id` as it would be replaced: `qty` @ `px`.
fn to(id: u64, px: f64, qty: u64) -> OrderRequest {
    OrderRequest { price: px, qty, ..order(id) }
}

impl J {
    fn event(mut self, ms: i64, e: Event) -> Self {
        self.records.push(EventRecord::new(OPEN + ms * MS, e));
        self
    }
    fn out(mut self, ms: i64, id: u64, e: Event) -> Self {
        self.out_at.insert(id, ms);
        self.event(ms, e)
    }
    /// Time since order `id`'s last message out, ns.
    fn rtt(&self, ms: i64, id: u64) -> u64 {
        ((ms - self.out_at.get(&id).copied().unwrap_or(ms)) * MS) as u64
    }

    fn logon(self, ms: i64) -> Self {
        self.event(ms, Event::Logon)
    }
    fn logout(self, ms: i64) -> Self {
        self.event(ms, Event::Logout)
    }
    fn queued(self, ms: i64, id: u64) -> Self {
        self.event(ms, Event::Queued { order: order(id) })
    }
    fn sent(self, ms: i64, id: u64) -> Self {
        self.out(ms, id, Event::Sent { order: order(id), in_oms_ns: 0 })
    }
    fn accepted(self, ms: i64, id: u64) -> Self {
        let round_trip_ns = self.rtt(ms, id);
        self.event(ms, Event::Response { order: order(id), response: ResponseType::Accept, round_trip_ns })
    }
    /// Sent and accepted at once: working.
    fn working(self, ms: i64, id: u64) -> Self {
        self.sent(ms, id).accepted(ms, id)
    }
    fn cancel_queued(self, ms: i64, id: u64) -> Self {
        self.event(ms, Event::CancelQueued { order: order(id) })
    }
    fn cancel_sent(self, ms: i64, id: u64) -> Self {
        self.out(ms, id, Event::CancelSent { order: order(id), in_oms_ns: 0 })
    }
    fn replace_queued(self, ms: i64, o: OrderRequest) -> Self {
        self.event(ms, Event::ReplaceQueued { order: o })
    }
    fn modified(self, ms: i64, o: OrderRequest) -> Self {
        self.event(ms, Event::Modified { order: o })
    }
    fn replace_sent(self, ms: i64, o: OrderRequest) -> Self {
        self.out(ms, o.order_id, Event::ReplaceSent { order: o, in_oms_ns: 0 })
    }
    fn replaced(self, ms: i64, o: OrderRequest) -> Self {
        let round_trip_ns = self.rtt(ms, o.order_id);
        self.event(ms, Event::Replaced { order: o, round_trip_ns })
    }
    /// A fill of `qty` at 10, `cum` filled after it, `done`: filled in full.
    fn fill(self, ms: i64, id: u64, qty: u64, cum: u64, done: bool) -> Self {
        let e = Event::Fill {
            order_id: id,
            symbol_id: 7,
            side: 'B',
            last_qty: qty,
            last_px: 10.0,
            cum_qty: cum,
            complete: done,
        };
        self.event(ms, e)
    }
    /// Our cancel carried out (with its round trip), or the venue's own (`solicited` false).
    fn venue_cancelled(self, ms: i64, id: u64, solicited: bool) -> Self {
        let round_trip_ns = if solicited { self.rtt(ms, id) } else { 0 };
        self.event(ms, Event::VenueCancelled { order: order(id), solicited, round_trip_ns })
    }
    fn cancel_rejected(self, ms: i64, id: u64, request: Q) -> Self {
        self.event(ms, Event::CancelRejected { order: order(id), request, code: 0 })
    }
    fn expired(self, ms: i64, id: u64) -> Self {
        self.event(ms, Event::Expired { order: order(id) })
    }
    fn unexpected(self, ms: i64, id: u64, answer: AnswerKind, state: Option<OrderState>, qty: u64) -> Self {
        let price = if qty > 0 { 10.0 } else { 0.0 };
        self.event(ms, Event::UnexpectedReport { order_id: id, answer, state, qty, price })
    }
    fn rejected(self, ms: i64, o: OrderRequest, request: Q, reason: R) -> Self {
        self.event(ms, Event::Rejected { order: o, request, reason, value: 0.0 })
    }
    fn unanswered(self, ms: i64, id: u64) -> Self {
        self.event(ms, Event::Unanswered { order: order(id) })
    }

    fn numbered(&self) -> Vec<EventRecord> {
        self.records.iter().enumerate().map(|(i, r)| EventRecord { seq: i as u64 + 1, ..*r }).collect()
    }

    fn audit_with(&self, t: &ThrottleSettings, o: AuditOptions) -> AuditReport {
        let window =
            TradingWindow::new(jiff::tz::TimeZone::UTC, time(10, 0, 0, 0), time(10, 0, 10, 0), DaySet::ALL);
        audit(&self.numbered(), &window, t, o)
    }

    /// Audited at 100/s, burst 10 (token bucket), on virtual time (exact timers and latencies).
    fn audit(&self) -> AuditReport {
        self.audit_with(&throttle(ThrottleMode::TokenBucket, 100, 10), AuditOptions::VIRTUAL_TIME)
    }

    /// Audited at 2/s, burst 1 (token bucket), on virtual time.
    fn audit_slow(&self) -> AuditReport {
        self.audit_with(&throttle(ThrottleMode::TokenBucket, 2, 1), AuditOptions::VIRTUAL_TIME)
    }
}

/// Exactly `rules` are broken, `rules[0]` first at record `seq` (about `order`), with `words`
/// in its message.
#[track_caller]
fn broken_all(report: &AuditReport, rules: &[Rule], seq: u64, order: Option<u64>, words: &str) {
    let mut sorted = rules.to_vec();
    sorted.sort_by_key(|r| Rule::ALL.iter().position(|x| x == r));
    assert_eq!(report.broken(), sorted, "{report}");
    let v = report.rule(rules[0]).first.as_ref().expect("a violation");
    assert_eq!((v.seq, v.order_id), (seq, order), "{report}");
    assert!(v.message.contains(words), "{:?} does not say {words:?}", v.message);
}

/// Exactly `rule` is broken, first at record `seq` (about `order`), with `words` in its message.
#[track_caller]
fn broken(report: &AuditReport, rule: Rule, seq: u64, order: Option<u64>, words: &str) {
    broken_all(report, &[rule], seq, order, words);
}

#[track_caller]
fn clean(report: &AuditReport) {
    assert!(report.is_clean() && report.complete, "{report}");
}

/// The records of `j` before `at` (1-based: the record that gets seq `at`), then `insert`, then
/// the rest: `insert` gets seq `at`.
fn insert(j: J, at: usize, insert: impl FnOnce(J) -> J) -> J {
    let mut head = J { records: j.records[..at - 1].to_vec(), out_at: j.out_at.clone() };
    head = insert(head);
    head.records.extend_from_slice(&j.records[at - 1..]);
    head
}

/// Logon; orders 1, 2, 3, 5, 6 working. Order 1: filled 4 of 10, replaced to 12 @ 10.5 with a
/// fill of 2 on the old terms meanwhile, then filled. Order 2: a cancel that a fill races.
/// Order 3: a cancel and a replace refused, a late replace ack (unexpected), expired, then a
/// fill for it (unexpected). At the window's end orders 5 and 6 are cancelled before the
/// logout: 5 is cancelled, 6 still unanswered at the grace's end, then the late logout.
fn good() -> J {
    J::default()
        .logon(0) // 1
        .working(0, 1) // 2, 3
        .working(0, 2) // 4, 5
        .working(0, 3) // 6, 7
        .working(0, 5) // 8, 9
        .working(0, 6) // 10, 11
        .fill(2, 1, 4, 4, false) // 12
        .replace_sent(3, to(1, 10.5, 12)) // 13
        .fill(4, 1, 2, 6, false) // 14: on the old terms, 4 left
        .replaced(5, to(1, 10.5, 12)) // 15
        .fill(6, 1, 6, 12, true) // 16
        .cancel_sent(10, 2) // 17
        .fill(11, 2, 3, 3, false) // 18: the fill raced the cancel
        .venue_cancelled(12, 2, true) // 19
        .cancel_sent(20, 3) // 20
        .cancel_rejected(21, 3, Q::Cancel) // 21
        .replace_sent(22, to(3, 10.0, 8)) // 22
        .cancel_rejected(23, 3, Q::Modify) // 23
        .unexpected(24, 3, AnswerKind::Replaced, Some(OrderState::Working), 0) // 24
        .expired(30, 3) // 25
        .unexpected(30, 3, AnswerKind::Fill, None, 1) // 26
        .cancel_queued(10_000, 5) // 27
        .cancel_queued(10_000, 6) // 28
        .cancel_sent(10_000, 5) // 29
        .cancel_sent(10_000, 6) // 30
        .venue_cancelled(10_002, 5, true) // 31
        .unanswered(10_500, 6) // 32
        .logout(10_500) // 33
}

#[test]
fn a_correct_journal_of_whole_lives_passes_live_and_virtual() {
    let j = good();
    clean(&j.audit());
    clean(&j.audit_with(&throttle(ThrottleMode::TokenBucket, 100, 10), AuditOptions::LIVE));
    let r = j.audit();
    // 5 sends, 2 replaces, 4 cancels.
    assert_eq!(r.rule(Rule::Throttle).checked, 11, "{r}");
    assert_eq!(r.rule(Rule::Fates).checked, 5, "{r}");
}

#[test]
fn an_overfill_breaks_the_lifecycle_rule() {
    // The last fill takes order 1 beyond the live version's 12.
    let mut j = good();
    j.records[15] = EventRecord::new(OPEN + 6 * MS, overfill(1, 7, 13));
    broken(&j.audit(), Rule::Lifecycle, 16, Some(1), "7 with 6 of 12 left of the live version");
    // A fill on the old terms after the replace was sent: 6 of 10 were left, not 8 of 12.
    let mut j = good();
    j.records[13] = EventRecord::new(OPEN + 4 * MS, overfill(1, 7, 11));
    broken(&j.audit(), Rule::Lifecycle, 14, Some(1), "7 with 6 of 10 left of the live version");
    // A fill that states another filled quantity than its fills add up to.
    let mut j = good();
    j.records[13] = EventRecord::new(OPEN + 4 * MS, overfill(1, 2, 5));
    broken(&j.audit(), Rule::Lifecycle, 14, Some(1), "states 5 filled, but its fills add up to 6 of 10");
}

fn overfill(id: u64, qty: u64, cum: u64) -> Event {
    Event::Fill {
        order_id: id,
        symbol_id: 7,
        side: 'B',
        last_qty: qty,
        last_px: 10.0,
        cum_qty: cum,
        complete: false,
    }
}

#[test]
fn a_cancel_or_replace_for_an_order_not_working_breaks_the_lifecycle_rule() {
    // Pending new: sent, its first answer not in yet.
    let j = insert(good(), 3, |j| j.cancel_sent(0, 1));
    broken(&j.audit(), Rule::Lifecycle, 3, Some(1), "awaits its first answer");
    let j = insert(good(), 3, |j| j.replace_sent(0, to(1, 10.0, 20)));
    broken(&j.audit(), Rule::Lifecycle, 3, Some(1), "awaits its first answer");
    // (A cancel waiting in line for it holds the New orders back: fifo follows; and when the
    // order ends with it still waiting, its `order_ended` reject is missing: fates.)
    let j = insert(good(), 3, |j| j.cancel_queued(0, 1));
    let rules = [Rule::Lifecycle, Rule::Fifo, Rule::Fates];
    broken_all(&j.audit(), &rules, 3, Some(1), "awaits its first answer");
    // Filled.
    let j = insert(good(), 17, |j| j.cancel_sent(7, 1));
    broken(&j.audit(), Rule::Lifecycle, 17, Some(1), "not at the exchange (it is not live)");
    let j = insert(good(), 17, |j| j.replace_sent(7, to(1, 10.0, 20)));
    broken(&j.audit(), Rule::Lifecycle, 17, Some(1), "not at the exchange (it is not live)");
    // Unknown.
    let j = insert(good(), 17, |j| j.cancel_sent(7, 99));
    broken(&j.audit(), Rule::Lifecycle, 17, Some(99), "not at the exchange (it is not live)");
    // Queued (its Cancel is local: `cancelled`).
    let j = insert(good(), 2, |j| j.queued(0, 9).cancel_sent(0, 9).cancelled(0, 9));
    broken(&j.audit(), Rule::Lifecycle, 3, Some(9), "not at the exchange (it is queued)");
    // A replace to what is already filled (4 of order 1).
    let j = insert(good(), 13, |j| j.replace_sent(2, to(1, 10.0, 4)));
    broken(&j.audit(), Rule::Lifecycle, 13, Some(1), "never asks for what is already filled (4)");
}

impl J {
    fn cancelled(self, ms: i64, id: u64) -> Self {
        self.event(ms, Event::Cancelled { order: order(id) })
    }
}

#[test]
fn a_second_cancel_or_replace_while_one_is_pending_breaks_the_lifecycle_rule() {
    // Order 2's cancel is pending (seq 17).
    let j = insert(good(), 18, |j| j.cancel_sent(10, 2));
    broken(&j.audit(), Rule::Lifecycle, 18, Some(2), "pending: one at a time");
    let j = insert(good(), 18, |j| j.replace_sent(10, to(2, 10.0, 20)));
    broken(&j.audit(), Rule::Lifecycle, 18, Some(2), "pending: one at a time");
    // Order 1's replace is pending (seq 13).
    let j = insert(good(), 14, |j| j.cancel_sent(3, 1));
    broken(&j.audit(), Rule::Lifecycle, 14, Some(1), "pending: one at a time");
    // (The cancel still waits when the order is filled: its `order_ended` reject is missing.)
    let j = insert(good(), 14, |j| j.cancel_queued(3, 1));
    broken_all(&j.audit(), &[Rule::Lifecycle, Rule::Fates], 14, Some(1), "pending: one at a time");
}

#[test]
fn a_replace_with_other_values_breaks_the_modify_or_lifecycle_rule() {
    // Sent with another symbol or side: a replace changes only price and quantity.
    let mut j = good();
    let other = OrderRequest { symbol_id: 8, ..to(1, 10.5, 12) };
    j.records[12] = EventRecord::new(OPEN + 3 * MS, Event::ReplaceSent { order: other, in_oms_ns: 0 });
    broken(&j.audit(), Rule::Modify, 13, Some(1), "changes symbol/side from 7/B to 8/B");
    // Acknowledged with other values than the replace asked for.
    let mut j = good();
    j.records[14] = EventRecord::new(
        OPEN + 5 * MS,
        Event::Replaced { order: to(1, 10.5, 11), round_trip_ns: 2 * MS as u64 },
    );
    let r = j.audit();
    let v = r.rule(Rule::Lifecycle).first.as_ref().expect("lifecycle broken");
    assert_eq!((v.seq, v.order_id), (15, Some(1)), "{r}");
    assert!(v.message.contains("replaced as 11 @ 10.5, but the replace sent asked for 12 @ 10.5"), "{r}");
}

/// Logon at 10:00:00 (2/s, burst 1): order 1 working; 2 sent at 500 and working; 3 queued at
/// 600; a replace of 1 queued behind it and modified in place; at 900 a cancel of 2 waits
/// ahead of the queue; each goes out at the next permit: the cancel, then 3, then the replace
/// (`replace_first`: the replace, then 3).
fn line(replace_first: bool) -> J {
    let (new_at, replace_at) = if replace_first { (2000, 1500) } else { (1500, 2000) };
    let j = J::default()
        .logon(0) // 1
        .working(0, 1) // 2, 3
        .working(500, 2) // 4, 5
        .queued(600, 3) // 6
        .replace_queued(700, to(1, 11.0, 10)) // 7
        .modified(800, to(1, 12.0, 10)) // 8
        .cancel_queued(900, 2) // 9
        .cancel_sent(1000, 2); // 10
    let j = if replace_first {
        j.replace_sent(replace_at, to(1, 12.0, 10)).sent(new_at, 3)
    } else {
        j.sent(new_at, 3).replace_sent(replace_at, to(1, 12.0, 10))
    };
    j.accepted(2001, 3) // 13
        .replaced(2002, to(1, 12.0, 10)) // 14
        .venue_cancelled(2003, 2, true) // 15
        .logout(10_000) // 16
        .unanswered(10_000, 1) // 17
        .unanswered(10_000, 3) // 18
}

#[test]
fn cancels_go_ahead_of_the_queue_and_replaces_keep_their_place() {
    clean(&line(false).audit_slow());
    // The replace leaves the queue with its queued values, not the last modified ones.
    let mut j = line(false);
    j.records[11] =
        EventRecord::new(OPEN + 2000 * MS, Event::ReplaceSent { order: to(1, 11.0, 10), in_oms_ns: 0 });
    // (and it is then acknowledged with the values it was sent with, not those asked for).
    let r = j.audit_slow();
    let words = "replace sent as 10 @ 11 but its last modified values are 10 @ 12";
    broken_all(&r, &[Rule::Modify, Rule::Lifecycle], 12, Some(1), words);
    // The replace overtakes order 3 in the queue.
    let r = line(true).audit_slow();
    broken(&r, Rule::Fifo, 11, Some(1), "went out of the queue before order 3, which was queued earlier");
}

/// Orders 1 and 2 working (2/s, burst 1); at 600 a cancel of 1 waits for the permit at 1000; 2's
/// cancel and order 3 go out at the next permits.
fn cancel_line(first: u64, then: (i64, u64), new: i64) -> J {
    J::default()
        .logon(0) // 1
        .working(0, 1) // 2, 3
        .working(500, 2) // 4, 5
        .cancel_queued(600, 1) // 6
        .cancel_sent(1000, first) // 7
        .cancel_sent(then.0, then.1) // 8
        .sent(new, 3) // 9
        .logout(10_000)
        .unanswered(10_000, 1)
        .unanswered(10_000, 2)
        .unanswered(10_000, 3)
}

#[test]
fn a_cancel_or_order_sent_while_a_cancel_waits_breaks_the_fifo_rule() {
    clean(&cancel_line(1, (1500, 2), 2000).audit_slow());
    // At 1000 the cancel of 2 goes out at once, though the cancel of 1 waits for that permit.
    let r = cancel_line(2, (1500, 1), 2000).audit_slow();
    broken(&r, Rule::Fifo, 7, Some(2), "a cancel sent at once while 1 cancel(s) waited in line");
    // At 1000 order 3 goes out at once, though the cancel of 1 waits.
    let j = J::default()
        .logon(0)
        .working(0, 1)
        .working(500, 2)
        .cancel_queued(600, 1)
        .sent(1000, 3)
        .cancel_sent(1500, 1)
        .logout(10_000)
        .unanswered(10_000, 1)
        .unanswered(10_000, 2)
        .unanswered(10_000, 3);
    broken(&j.audit_slow(), Rule::Fifo, 7, Some(3), "a sent while 1 cancel(s) waited in the cancel line");
    // A replace at once likewise.
    let j = J::default()
        .logon(0)
        .working(0, 1)
        .working(500, 2)
        .cancel_queued(600, 1)
        .replace_sent(1000, to(2, 11.0, 10))
        .cancel_sent(1500, 1)
        .logout(10_000)
        .unanswered(10_000, 1)
        .unanswered(10_000, 2);
    broken(&j.audit_slow(), Rule::Fifo, 7, Some(2), "a replace_sent while 1 cancel(s) waited");
}

#[test]
fn a_cancel_that_waited_again_keeps_its_new_place_in_line() {
    // The cancel of 1 is refused as it goes out (not_sent); later 2 and then 1 wait again: the
    // cancel of 2 is first in line.
    let j = J::default()
        .logon(0)
        .working(0, 1)
        .working(500, 2)
        .cancel_queued(600, 1)
        .rejected(1000, order(1), Q::Cancel, R::NotSent)
        .cancel_queued(1100, 2)
        .cancel_queued(1200, 1)
        .cancel_sent(1500, 2)
        .cancel_sent(2000, 1)
        .logout(10_000)
        .unanswered(10_000, 1)
        .unanswered(10_000, 2);
    clean(&j.audit_slow());
}

#[test]
fn a_working_order_without_a_final_state_at_the_end_breaks_the_lifecycle_rule() {
    // Order 3 never expires: it is still working when the journal ends.
    let mut j = good();
    j.records.drain(24..26);
    broken(&j.audit(), Rule::Lifecycle, 6, Some(3), "1 order(s) still open at the exchange");
    // One awaiting its first answer is a fate missing.
    let j = insert(good(), 2, |j| j.sent(0, 9));
    broken(&j.audit(), Rule::Fates, 2, Some(9), "1 order(s) without a fate");
}

#[test]
fn an_answer_without_a_pending_request_breaks_the_lifecycle_rule() {
    // Order 3 is working at seq 25 (its cancel and replace were refused).
    let j = insert(good(), 25, |j| j.venue_cancelled(25, 3, true));
    broken(&j.audit(), Rule::Lifecycle, 25, Some(3), "carried out our cancel, but none was pending");
    let j = insert(good(), 25, |j| j.replaced(25, to(3, 10.0, 8)));
    broken(&j.audit(), Rule::Lifecycle, 25, Some(3), "only while one is pending");
    let j = insert(good(), 25, |j| j.cancel_rejected(25, 3, Q::Cancel));
    broken(&j.audit(), Rule::Lifecycle, 25, Some(3), "refused only while one is pending");
    // The venue's own cancel while ours is pending (order 2, seq 17).
    let j = insert(good(), 18, |j| j.venue_cancelled(10, 2, false));
    broken(&j.audit(), Rule::Lifecycle, 18, Some(2), "our cancel was pending");
    // A refusal of the wrong request: order 3's cancel is pending at seq 21.
    let mut j = good();
    j.records[20] = EventRecord::new(
        OPEN + 21 * MS,
        Event::CancelRejected { order: order(3), request: Q::Modify, code: 0 },
    );
    broken(&j.audit(), Rule::Lifecycle, 21, Some(3), "refuses a modify, but the request pending is a cancel");
    // A fill before the first answer.
    let j = insert(good(), 3, |j| j.fill(0, 1, 1, 1, false));
    broken(&j.audit(), Rule::Lifecycle, 3, Some(1), "fills only an order it has accepted");
}

#[test]
fn an_unexpected_report_that_fits_or_misstates_the_state_breaks_the_lifecycle_rule() {
    // An expiry of a working order fits: it is applied, not unexpected.
    let mut j = good();
    j.records[23] = EventRecord::new(
        OPEN + 24 * MS,
        Event::UnexpectedReport {
            order_id: 3,
            answer: AnswerKind::Expired,
            state: Some(OrderState::Working),
            qty: 0,
            price: 0.0,
        },
    );
    broken(
        &j.audit(),
        Rule::Lifecycle,
        24,
        Some(3),
        "the answer expired is recorded as an unexpected_report",
    );
    // A fill within what is left fits too.
    let mut j = good();
    j.records[23] = EventRecord::new(
        OPEN + 24 * MS,
        Event::UnexpectedReport {
            order_id: 3,
            answer: AnswerKind::Fill,
            state: Some(OrderState::Working),
            qty: 10,
            price: 10.0,
        },
    );
    broken(&j.audit(), Rule::Lifecycle, 24, Some(3), "a fill of 10 @ 10 is recorded as an unexpected_report");
    // The state it states is not the order's.
    let mut j = good();
    j.records[23] = EventRecord::new(
        OPEN + 24 * MS,
        Event::UnexpectedReport {
            order_id: 3,
            answer: AnswerKind::Replaced,
            state: Some(OrderState::PendingCancel),
            qty: 0,
            price: 0.0,
        },
    );
    broken(
        &j.audit(),
        Rule::Lifecycle,
        24,
        Some(3),
        "states the order was pending_cancel, but the journal shows it working",
    );
    let mut j = good();
    j.records[25] = EventRecord::new(
        OPEN + 30 * MS,
        Event::UnexpectedReport {
            order_id: 3,
            answer: AnswerKind::Fill,
            state: Some(OrderState::Working),
            qty: 1,
            price: 10.0,
        },
    );
    broken(
        &j.audit(),
        Rule::Lifecycle,
        26,
        Some(3),
        "states the order was working, but the journal shows it not open",
    );
}

#[test]
fn cancels_and_replaces_count_against_the_throttle() {
    // 2/s, burst 1: a cancel 0.5 s after the send is within the bound, 0.1 s after it is not.
    let j = |ms| J::default().logon(0).working(0, 1).cancel_sent(ms, 1).logout(10_000).unanswered(10_000, 1);
    clean(&j(500).audit_slow());
    broken(&j(100).audit_slow(), Rule::Throttle, 4, Some(1), "2 orders sent within 0.100000000 s");
    let r = |ms| {
        J::default()
            .logon(0)
            .working(0, 1)
            .replace_sent(ms, to(1, 11.0, 10))
            .logout(10_000)
            .unanswered(10_000, 1)
    };
    clean(&r(500).audit_slow());
    broken(&r(100).audit_slow(), Rule::Throttle, 4, Some(1), "2 orders sent within 0.100000000 s");
    // Sliding window, 1/s: the cancel must wait a whole second.
    let one = throttle(ThrottleMode::SlidingWindow, 1, 1);
    assert!(j(1000).audit_with(&one, AuditOptions::VIRTUAL_TIME).is_clean());
    broken(
        &j(999).audit_with(&one, AuditOptions::VIRTUAL_TIME),
        Rule::Throttle,
        4,
        Some(1),
        "at most 1 are allowed",
    );
}

#[test]
fn after_the_windows_end_only_cancels_and_answers_come_before_the_logout() {
    // Order 4 queued at the end is rejected session_ended; order 1 is cancelled before the
    // logout (2/s, burst 1).
    let j = |send: bool| {
        let j = J::default().logon(0).working(0, 1).queued(500, 4);
        let j = j
            .rejected(10_000, order(4), Q::New, R::SessionEnded)
            .cancel_queued(10_000, 1)
            .cancel_sent(10_000, 1);
        let j = if send { j.sent(10_500, 9) } else { j };
        let j = j.venue_cancelled(10_600, 1, true).logout(10_600);
        if send { j.unanswered(10_600, 9) } else { j }
    };
    clean(&j(false).audit_slow());
    // A send there: the window is over, and nothing but cancels goes out before the logout.
    let r = j(true).audit_slow();
    broken_all(
        &r,
        &[Rule::Window, Rule::SessionEnd],
        8,
        Some(9),
        "sent 0.500000000 s after the window closed",
    );
    let v = r.rule(Rule::SessionEnd).first.as_ref().expect("session_end broken");
    assert_eq!((v.seq, v.order_id), (8, Some(9)), "{r}");
    assert!(v.message.contains("a sent record after the session_ended rejects begun at seq 5"), "{r}");
}

#[test]
fn a_late_logout_needs_orders_open_at_the_windows_end_on_virtual_time() {
    // Order 1 ended before the window's end: nothing holds the logout back.
    let j = |logout| {
        J::default()
            .logon(0)
            .working(0, 1)
            .fill(100, 1, 10, 10, true)
            .queued(600, 2)
            .rejected(10_000, order(2), Q::New, R::SessionEnded)
            .logout(logout)
    };
    clean(&j(10_000).audit_slow());
    broken(&j(10_005).audit_slow(), Rule::Sessions, 7, None, "no order was open at the exchange then");
    // Live, a loop turn may be late.
    assert!(j(10_005).audit_with(&throttle(ThrottleMode::TokenBucket, 2, 1), AuditOptions::LIVE).is_clean());
}
