//! An order's life at the exchange, on a manual clock: cancels and replaces of working orders,
//! fills, one request at a time, the throttle over every message, the working orders cancelled
//! at the window's end. Every journal here is audited.

mod common;

use common::*;
use oms::EventKind as K;
use oms::audit::{AuditOptions, Auditor};
use oms::{
    Answer, Config, EventRecord, OrderRequest, OrderState, RejectReason as R, RequestType, ResponseType, Side,
};

const MON_0959_59: &str = "2026-11-23T09:59:59Z";

/// The window 10:00-13:00 UTC, `rate`/s with `burst`, working orders cancelled before the
/// Logout (the default).
fn cfg(rate: u32, burst: u32) -> Config {
    let mut c = config("10:00:00", "13:00:00", rate, Some(burst));
    c.session.cancel_on_logout = true;
    c
}

/// A rig logged on at 10:00:00 with `rate`/s, burst `burst`.
fn logged_on(c: &Config) -> Rig {
    let mut rig = Rig::new(c, MON_0959_59, 2);
    rig.advance(SEC);
    assert!(rig.engine.logged_on());
    rig
}

fn order(id: u64, px: f64, qty: u64) -> OrderRequest {
    OrderRequest::new(id, 7, Side::Buy, px, qty)
}

/// Every rule holds so far (the journal may still have a session on and orders open).
fn audit_so_far(c: &Config, events: &[EventRecord]) {
    let (window, throttle) = c.rules().expect("rules");
    let mut a = Auditor::new(&window, &throttle, AuditOptions::LIVE);
    for r in events {
        a.push(r);
    }
    let report = a.report();
    assert!(report.is_clean(), "{report}\n{events:#?}");
}

/// Every rule holds on the whole journal.
fn audit_all(c: &Config, events: &[EventRecord]) {
    let (window, throttle) = c.rules().expect("rules");
    let report = oms::audit::audit(events, &window, &throttle, AuditOptions::LIVE);
    assert!(report.is_clean(), "{report}");
}

/// The messages sent to the exchange so far, in order.
fn calls(rig: &Rig) -> Vec<String> {
    rig.engine
        .exchange()
        .calls
        .iter()
        .filter_map(|c| match c {
            oms::exchange::ExchangeCall::Send(o) => Some(format!("new {}", o.order_id)),
            oms::exchange::ExchangeCall::Cancel(o) => Some(format!("cancel {}", o.order_id)),
            oms::exchange::ExchangeCall::Replace(o) => Some(format!("replace {} @ {}", o.order_id, o.price)),
            _ => None,
        })
        .collect()
}

/// Order `id` sent and accepted: working.
fn working(rig: &mut Rig, id: u64, qty: u64) {
    rig.submit(0, order(id, 100.0, qty), RequestType::New);
    rig.respond(id, ResponseType::Accept);
    assert_eq!(rig.engine.open_order(id).map(|l| l.state()), Some(OrderState::Working));
}

#[test]
fn a_working_order_is_cancelled_at_the_exchange_with_its_round_trip() {
    let c = cfg(100, 10);
    let mut rig = logged_on(&c);
    working(&mut rig, 1, 10);
    rig.advance(5 * MS);
    rig.submit(1, order(1, 0.0, 0), RequestType::Cancel);
    assert_eq!(rig.engine.exchange().cancels().map(|o| o.order_id).collect::<Vec<_>>(), [1]);
    let sent = rig.of(K::CancelSent);
    assert_eq!((sent.len(), sent[0].producer), (1, 1), "the Cancel's producer is answered");
    assert_eq!(rig.engine.open_order(1).map(|l| l.state()), Some(OrderState::PendingCancel));
    rig.advance(3 * MS);
    rig.answer(Answer::Cancelled { order_id: 1 });
    let done = rig.of(K::VenueCancelled);
    assert_eq!(done.len(), 1);
    assert_eq!(done[0].latency_ns, 3 * MS, "cancel sent -> cancelled");
    assert_eq!(done[0].producer, 0, "the order's producer learns its end");
    assert_eq!(rig.engine.open_len(), 0);
    audit_so_far(&c, rig.events());
}

#[test]
fn one_request_at_a_time_and_none_before_the_first_answer() {
    let c = cfg(100, 10);
    let mut rig = logged_on(&c);
    rig.submit(0, order(1, 100.0, 10), RequestType::New);
    // Pending new: no cancel or replace until the exchange has answered.
    rig.submit(0, order(1, 0.0, 0), RequestType::Cancel);
    rig.submit(0, order(1, 101.0, 10), RequestType::Modify);
    rig.respond(1, ResponseType::Accept);
    rig.submit(0, order(1, 0.0, 0), RequestType::Cancel);
    // A cancel is pending: a second cancel and a replace are refused.
    rig.submit(0, order(1, 0.0, 0), RequestType::Cancel);
    rig.submit(0, order(1, 99.0, 5), RequestType::Modify);
    assert_eq!(rig.rejects(1), [R::RequestPending; 4]);
    assert_eq!(rig.engine.exchange().cancels().count(), 1);
    // Refused by the venue: the order works on, and may be cancelled again.
    rig.answer(Answer::CancelRejected { order_id: 1, code: 0 });
    assert_eq!(rig.engine.open_order(1).map(|l| l.state()), Some(OrderState::Working));
    rig.submit(0, order(1, 0.0, 0), RequestType::Cancel);
    assert_eq!(rig.engine.exchange().cancels().count(), 2);
    // An unknown or ended order: not_open.
    rig.submit(0, order(9, 0.0, 0), RequestType::Cancel);
    rig.submit(0, order(9, 1.0, 1), RequestType::Modify);
    assert_eq!(rig.rejects(9), [R::NotOpen, R::NotOpen]);
    audit_so_far(&c, rig.events());
}

#[test]
fn a_replace_goes_out_and_later_fills_count_against_the_new_version() {
    let c = cfg(100, 10);
    let mut rig = logged_on(&c);
    working(&mut rig, 1, 10);
    rig.answer(Answer::Fill { order_id: 1, last_qty: 4, last_px: 100.0 });
    // A replace to at or below what is filled is refused here.
    rig.submit(0, order(1, 100.0, 4), RequestType::Modify);
    assert_eq!(rig.rejects(1), [R::ReplaceBelowFilled]);
    rig.advance(MS);
    rig.submit(0, order(1, 100.5, 12), RequestType::Modify);
    let sent: Vec<_> = rig.engine.exchange().replaces().map(|o| (o.order_id, o.price, o.qty)).collect();
    assert_eq!(sent, [(1, 100.5, 12)]);
    // A fill for the old version meanwhile: on the old terms (10 - 4 = 6 left, not 8).
    rig.answer(Answer::Fill { order_id: 1, last_qty: 7, last_px: 100.0 });
    assert_eq!(rig.of(K::UnexpectedReport).len(), 1, "7 would overfill the live version");
    rig.answer(Answer::Fill { order_id: 1, last_qty: 2, last_px: 100.0 });
    rig.advance(2 * MS);
    rig.answer(Answer::Replaced { order_id: 1 });
    let r = rig.of(K::Replaced);
    assert_eq!((r[0].price, r[0].qty, r[0].latency_ns), (100.5, 12, 2 * MS));
    let life = rig.engine.open_order(1).expect("open");
    assert_eq!((life.qty(), life.cum_qty(), life.leaves()), (12, 6, 6));
    rig.answer(Answer::Fill { order_id: 1, last_qty: 6, last_px: 100.5 });
    let fills = rig.of(K::Filled);
    assert_eq!((fills.len(), fills[0].latency_ns), (1, 12), "filled in full: cum 12");
    assert_eq!(rig.engine.open_len(), 0);
    audit_so_far(&c, rig.events());
}

#[test]
fn cancels_go_ahead_of_the_queue_and_replaces_keep_their_place_in_it() {
    // 1/s, burst 1: one permit at logon, the next a second later.
    let c = cfg(1, 1);
    let mut rig = logged_on(&c);
    rig.submit(0, order(1, 100.0, 10), RequestType::New); // the logon's permit
    rig.respond(1, ResponseType::Accept);
    rig.advance(SEC);
    rig.submit(0, order(2, 100.0, 10), RequestType::New); // second permit
    rig.respond(2, ResponseType::Accept);
    rig.submit(0, order(3, 100.0, 10), RequestType::New); // waits
    rig.submit(0, order(1, 101.0, 10), RequestType::Modify); // replace waits behind 3
    rig.submit(0, order(1, 102.0, 10), RequestType::Modify); // rewrites the waiting replace
    rig.submit(0, order(2, 0.0, 0), RequestType::Cancel); // waits, ahead of the queue
    assert_eq!(rig.ids(K::Queued), [3]);
    assert_eq!(rig.ids(K::ReplaceQueued), [1]);
    assert_eq!(rig.ids(K::CancelQueued), [2]);
    assert_eq!(rig.of(K::Modified).iter().map(|m| m.price).collect::<Vec<_>>(), [102.0]);
    for _ in 0..3 {
        rig.advance(SEC);
    }
    assert_eq!(calls(&rig), ["new 1", "new 2", "cancel 2", "new 3", "replace 1 @ 102"]);
    audit_so_far(&c, rig.events());
}

#[test]
fn a_permit_that_falls_due_inside_a_turn_goes_to_the_waiting_cancel_not_to_a_new_order() {
    // 1/s, burst 1: order 1 takes the logon's permit; its cancel waits for the next.
    let c = cfg(1, 1);
    let mut rig = logged_on(&c);
    working(&mut rig, 1, 10);
    rig.submit(0, order(1, 0.0, 0), RequestType::Cancel);
    assert_eq!(rig.ids(K::CancelQueued), [1]);
    // 1 ms before the next permit, one turn: an answer whose record takes 2 ms (the permit
    // falls due after the turn's dispatch), then a New taken in the same turn.
    rig.mock.increment(SEC - MS);
    rig.responder.on_answer(Answer::Fill { order_id: 1, last_qty: 1, last_px: 100.0 }).unwrap();
    rig.push(0, order(2, 100.0, 10), RequestType::New);
    rig.record_cost.set(2 * MS);
    rig.engine.poll();
    rig.record_cost.set(0);
    assert_eq!(calls(&rig), ["new 1", "cancel 1"], "the permit went to the cancel; the New waits");
    rig.advance(2 * SEC);
    assert_eq!(calls(&rig), ["new 1", "cancel 1", "new 2"]);
    audit_so_far(&c, rig.events());
}

#[test]
fn a_cancel_drops_a_waiting_replace_and_a_fill_drops_a_pointless_one() {
    let c = cfg(1, 1);
    let mut rig = logged_on(&c);
    rig.submit(0, order(1, 100.0, 10), RequestType::New);
    rig.respond(1, ResponseType::Accept);
    rig.advance(SEC);
    rig.submit(0, order(2, 100.0, 10), RequestType::New);
    rig.respond(2, ResponseType::Accept);
    // No permit: both replaces wait in the queue.
    rig.submit(0, order(1, 100.0, 5), RequestType::Modify);
    rig.submit(0, order(2, 100.0, 20), RequestType::Modify);
    // Order 1 fills 5: its replace to 5 is pointless and leaves the queue.
    rig.answer(Answer::Fill { order_id: 1, last_qty: 5, last_px: 100.0 });
    assert_eq!(rig.rejects(1), [R::ReplaceBelowFilled]);
    // A Cancel of order 2 drops its replace and waits for a permit.
    rig.submit(0, order(2, 0.0, 0), RequestType::Cancel);
    assert_eq!(rig.engine.queue_len(), 0);
    rig.advance(SEC);
    assert_eq!(rig.engine.exchange().replaces().count(), 0);
    assert_eq!(rig.engine.exchange().cancels().map(|o| o.order_id).collect::<Vec<_>>(), [2]);
    audit_so_far(&c, rig.events());
}

#[test]
fn the_throttle_counts_cancels_and_replaces() {
    let c = cfg(2, 2);
    let mut rig = logged_on(&c);
    working(&mut rig, 1, 10);
    working(&mut rig, 2, 10);
    // Both permits spent on the News: the cancel waits half a second.
    let t = rig.now();
    rig.submit(0, order(1, 0.0, 0), RequestType::Cancel);
    assert_eq!(rig.engine.exchange().cancels().count(), 0);
    rig.advance(SEC);
    let sent = rig.of(K::CancelSent);
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0].latency_ns, 500 * MS, "waited for the next permit");
    let _ = t;
    audit_so_far(&c, rig.events());
}

#[test]
fn at_the_window_end_working_orders_are_cancelled_before_the_logout() {
    let c = cfg(100, 10);
    let mut rig = logged_on(&c);
    working(&mut rig, 1, 10);
    working(&mut rig, 2, 10);
    rig.submit(0, order(3, 100.0, 10), RequestType::New); // awaiting its first answer
    rig.advance_to_wall("2026-11-23T13:00:00Z");
    // The engine's own cancels of both working orders; none for the one still pending new.
    assert_eq!(rig.ids(K::CancelQueued), [1, 2]);
    assert!(rig.of(K::CancelQueued).iter().all(|r| r.producer == oms::record::ENGINE));
    assert_eq!(rig.ids(K::CancelSent), [1, 2]);
    assert_eq!(rig.engine.exchange().logouts(), 0, "the Logout waits for the cancels");
    // New orders are refused; the late first answer is cancelled too.
    rig.submit(0, order(4, 100.0, 10), RequestType::New);
    assert_eq!(rig.rejects(4), [R::OutsideWindow]);
    rig.respond(3, ResponseType::Accept);
    assert_eq!(rig.ids(K::CancelSent), [1, 2, 3]);
    rig.answer(Answer::Cancelled { order_id: 1 });
    rig.answer(Answer::Fill { order_id: 2, last_qty: 10, last_px: 100.0 }); // beat the cancel
    assert_eq!(rig.engine.exchange().logouts(), 0);
    rig.answer(Answer::Cancelled { order_id: 3 });
    assert_eq!(rig.engine.exchange().logouts(), 1, "every order ended: logout");
    assert_eq!(rig.of(K::Unanswered).len(), 0);
    let report = rig.engine.shutdown();
    audit_all(&c, report.sink.events());
}

#[test]
fn cancels_not_answered_within_the_grace_leave_their_orders_unanswered() {
    let mut c = cfg(100, 10);
    c.session.logout_grace_ms = 500;
    let mut rig = logged_on(&c);
    working(&mut rig, 1, 10);
    rig.advance_to_wall("2026-11-23T13:00:00.400Z");
    assert_eq!((rig.ids(K::CancelSent), rig.engine.exchange().logouts()), (vec![1], 0));
    rig.advance(200 * MS);
    assert_eq!(rig.engine.exchange().logouts(), 1);
    assert_eq!(rig.ids(K::Unanswered), [1]);
    let logout = rig.of(K::Logout)[0];
    assert_eq!(logout.time_ns, wall("2026-11-23T13:00:00.500Z"), "at the grace's end");
    // A late answer matches nothing.
    rig.answer(Answer::Cancelled { order_id: 1 });
    assert_eq!(rig.ids(K::UnexpectedReport), [1]);
    let report = rig.engine.shutdown();
    audit_all(&c, report.sink.events());
}

#[test]
fn without_cancel_on_logout_working_orders_stay_open_across_the_logout() {
    let mut c = cfg(100, 10);
    c.session.cancel_on_logout = false;
    let mut rig = logged_on(&c);
    working(&mut rig, 1, 10);
    rig.advance_to_wall("2026-11-23T13:00:00Z");
    assert_eq!(rig.engine.exchange().logouts(), 1);
    assert_eq!(rig.of(K::CancelSent).len(), 0);
    // Outside the window it cannot be cancelled, but the exchange's answers still count.
    rig.submit(0, order(1, 0.0, 0), RequestType::Cancel);
    assert_eq!(rig.rejects(1), [R::OutsideWindow]);
    rig.answer(Answer::Expired { order_id: 1 });
    assert_eq!(rig.ids(K::Expired), [1]);
    let report = rig.engine.shutdown();
    audit_all(&c, report.sink.events());
}

#[test]
fn shutdown_rejects_waiting_cancels_and_records_open_orders_unanswered() {
    let c = cfg(1, 1);
    let mut rig = logged_on(&c);
    working(&mut rig, 1, 10);
    rig.submit(0, order(1, 0.0, 0), RequestType::Cancel); // no permit: waits
    assert_eq!(rig.ids(K::CancelQueued), [1]);
    let report = rig.engine.shutdown();
    let events = report.sink.events();
    let kinds: Vec<K> = events.iter().skip_while(|r| r.kind != K::CancelQueued).map(|r| r.kind).collect();
    assert_eq!(kinds, [K::CancelQueued, K::Rejected, K::Logout, K::Unanswered]);
    assert_eq!(events.iter().find(|r| r.kind == K::Rejected).and_then(|r| r.reason), Some(R::Shutdown));
    audit_all(&c, events);
}

#[test]
fn a_new_order_with_the_id_of_an_order_at_the_exchange_is_a_duplicate() {
    let c = cfg(100, 2);
    let mut rig = logged_on(&c);
    working(&mut rig, 1, 10);
    // Everything else would send it at once: the one lookup that files a send finds the id.
    rig.submit(0, order(1, 100.0, 10), RequestType::New);
    rig.submit(0, order(2, 100.0, 10), RequestType::New); // the burst's last permit
    rig.submit(0, order(3, 100.0, 10), RequestType::New); // queued
    // With orders queued, a New waits in the queue: the check still finds both ids.
    rig.submit(0, order(1, 101.0, 5), RequestType::New);
    rig.submit(0, order(2, 101.0, 5), RequestType::New);
    assert_eq!(rig.rejects(1), [R::DuplicateOrderId; 2]);
    assert_eq!(rig.rejects(2), [R::DuplicateOrderId]);
    assert_eq!(rig.engine.exchange().sent().map(|o| o.order_id).collect::<Vec<_>>(), [1, 2]);
    assert_eq!(rig.engine.open_order(1).map(|l| (l.state(), l.qty())), Some((OrderState::Working, 10)));
    assert_eq!(rig.engine.queue_len(), 1);
    audit_so_far(&c, rig.events());
}

#[test]
fn a_cancel_or_replace_still_waiting_when_its_order_ends_is_rejected_order_ended() {
    let c = cfg(1, 1);
    let mut rig = logged_on(&c);
    working(&mut rig, 1, 10); // the logon's permit
    rig.advance(SEC);
    working(&mut rig, 2, 10); // the second; no permit left
    rig.submit(1, order(1, 0.0, 0), RequestType::Cancel); // producer 1's cancel waits in line
    rig.submit(0, order(2, 101.0, 20), RequestType::Modify); // the replace waits in the queue
    assert_eq!(rig.ids(K::CancelQueued), [1]);
    assert_eq!(rig.ids(K::ReplaceQueued), [2]);
    // Order 1 fills in full, the venue cancels order 2 on its own: each waiting request is
    // answered at once, right after the answer that ended its order, for its own producer.
    rig.answer(Answer::Fill { order_id: 1, last_qty: 10, last_px: 100.0 });
    rig.answer(Answer::Cancelled { order_id: 2 });
    let tail: Vec<(K, u64, u16)> = rig
        .events()
        .iter()
        .skip_while(|r| r.kind != K::Filled)
        .map(|r| (r.kind, r.order_id, r.producer))
        .collect();
    assert_eq!(
        tail,
        [(K::Filled, 1, 0), (K::Rejected, 1, 1), (K::VenueCancelled, 2, 0), (K::Rejected, 2, 0)]
    );
    let ended: Vec<(u64, RequestType, Option<R>)> =
        rig.of(K::Rejected).iter().map(|r| (r.order_id, r.request, r.reason)).collect();
    assert_eq!(
        ended,
        [(1, RequestType::Cancel, Some(R::OrderEnded)), (2, RequestType::Modify, Some(R::OrderEnded))]
    );
    assert_eq!(rig.engine.queue_len(), 0);
    // Nothing goes out for them when permits come.
    rig.advance(3 * SEC);
    assert_eq!(calls(&rig), ["new 1", "new 2"]);
    audit_so_far(&c, rig.events());

    // The audit holds the engine to it: without the reject, or with one nothing was owed.
    let events = rig.events().to_vec();
    let at = events.iter().position(|r| r.kind == K::Rejected).expect("the cancel's reject");
    let mut dropped = events.clone();
    dropped.remove(at);
    for r in dropped.iter_mut().skip(at) {
        r.seq -= 1;
    }
    let (window, throttle) = c.rules().expect("rules");
    let mut a = Auditor::new(&window, &throttle, AuditOptions::LIVE);
    dropped.iter().for_each(|r| a.push(r));
    let report = a.report().to_string();
    assert!(
        report.contains("ended at seq") && report.contains("not that request's rejected order_ended"),
        "{report}"
    );
    let mut spurious = events.clone();
    spurious[at].request = RequestType::Modify; // a replace never waited for order 1
    let mut a = Auditor::new(&window, &throttle, AuditOptions::LIVE);
    spurious.iter().for_each(|r| a.push(r));
    let report = a.report().to_string();
    assert!(report.contains("order_ended") && !a.report().is_clean(), "{report}");
}
