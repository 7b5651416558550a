//! The engine's rules, one test (or a few) per rule, on a manual clock.

mod common;

use common::*;
use oms::EventKind as K;
use oms::{OrderRequest, RejectReason as R, RequestType, ResponseType, Side};

const MON_0959_59: &str = "2026-11-23T09:59:59Z";

// ---- Rule 1: the trading window -------------------------------------------------------------

#[test]
fn logon_once_at_start_logout_once_at_end_and_again_next_day() {
    let mut rig = Rig::new(&config("10:00:00", "13:00:00", 100, None), MON_0959_59, 1);
    assert_eq!(rig.engine.exchange().logons(), 0);
    rig.new_order(1);
    assert_eq!(rig.rejects(1), [R::OutsideWindow]);

    rig.advance(SEC - 1);
    assert_eq!(rig.engine.exchange().logons(), 0, "1 ns before the start");
    rig.advance(1);
    assert_eq!(rig.engine.exchange().logons(), 1, "exactly at the start");
    assert_eq!(rig.of(K::Logon)[0].time_ns, wall("2026-11-23T10:00:00Z"));
    rig.new_order(2);
    assert_eq!(rig.sent_ids(), [2]);
    for _ in 0..100 {
        rig.advance(SEC);
    }
    assert_eq!(rig.engine.exchange().logons(), 1, "logon exactly once per window");

    let end = rig.engine.clock().mono_at_wall(wall("2026-11-23T13:00:00Z"));
    rig.advance_to(end - 1);
    assert!(rig.engine.logged_on());
    rig.advance(1);
    assert!(!rig.engine.logged_on());
    assert_eq!(rig.engine.exchange().logouts(), 1, "exactly at the end");
    rig.new_order(3);
    assert_eq!(rig.rejects(3), [R::OutsideWindow], "the end is outside: [start, end)");

    // Next day: one more logon and logout, never more.
    let next = rig.engine.clock().mono_at_wall(wall("2026-11-24T10:00:00Z"));
    rig.advance_to(next);
    assert_eq!((rig.engine.exchange().logons(), rig.engine.exchange().logouts()), (2, 1));
    rig.advance(3 * 3600 * SEC);
    assert_eq!((rig.engine.exchange().logons(), rig.engine.exchange().logouts()), (2, 2));
    assert_eq!(rig.kinds().iter().filter(|k| **k == K::Logon).count(), 2);
}

#[test]
fn started_inside_a_window_logs_on_at_once() {
    let rig = Rig::new(&config("10:00:00", "13:00:00", 100, None), "2026-11-23T11:30:00Z", 1);
    assert_eq!(rig.engine.exchange().logons(), 1);
    assert_eq!(rig.kinds(), [K::Logon]);
}

#[test]
fn window_across_midnight_and_weekdays() {
    let mut cfg = config("22:00", "02:00", 100, None);
    cfg.session.days = Some(vec!["Fri".into()]);
    // Friday 2026-11-27 23:00: inside Friday's window.
    let mut rig = Rig::new(&cfg, "2026-11-27T23:00:00Z", 1);
    assert!(rig.engine.logged_on());
    let sat_0159 = rig.engine.clock().mono_at_wall(wall("2026-11-28T01:59:59Z"));
    rig.advance_to(sat_0159);
    assert!(rig.engine.logged_on(), "still inside on Saturday 01:59:59");
    rig.advance(SEC);
    assert!(!rig.engine.logged_on(), "closed at Saturday 02:00");
    // Saturday 22:00 is not a window (Fridays only).
    rig.advance(20 * 3600 * SEC);
    assert!(!rig.engine.logged_on());
    assert_eq!(rig.engine.exchange().logons(), 1);
}

#[test]
fn nothing_is_sent_at_or_after_the_end() {
    // 1 order/s: most of 10 orders wait in the queue when the window closes.
    let mut rig = Rig::new(&config("10:00:00", "10:00:05", 1, None), MON_0959_59, 1);
    rig.advance(SEC);
    for id in 1..=10 {
        rig.new_order(id);
    }
    rig.advance(10 * SEC);
    let logout_seq = rig.of(K::Logout)[0].seq;
    assert!(rig.of(K::Sent).iter().all(|e| e.seq < logout_seq));
    assert!(rig.of(K::Sent).iter().all(|e| e.time_ns < wall("2026-11-23T10:00:05Z")));
    assert_eq!(rig.sent_ids(), [1, 2, 3, 4, 5]);
    // Rule 6: the rest were rejected session_ended, just before the logout.
    for id in 6..=10 {
        assert_eq!(rig.rejects(id), [R::SessionEnded]);
    }
    assert_eq!(rig.engine.queue_len(), 0);
}

// ---- Rule 2: throttle (the property test is in engine_props.rs) -------------------------------

#[test]
fn throttled_orders_queue_and_go_out_the_moment_a_permit_frees() {
    let mut rig = Rig::new(&config("10:00:00", "13:00:00", 3, Some(1)), MON_0959_59, 1);
    rig.advance(SEC);
    for id in 1..=4 {
        rig.new_order(id);
    }
    assert_eq!(rig.sent_ids(), [1]);
    assert_eq!(rig.ids(K::Queued), [2, 3, 4]);
    // 3/s with burst 1: one permit every 333_333_333.33 ns; the next send is when the engine says.
    let t = rig.engine.next_send_ns().expect("a send is scheduled");
    assert_eq!(t - rig.now(), 333_333_334);
    rig.advance(t - rig.now() - 1);
    assert_eq!(rig.sent_ids(), [1]);
    rig.advance(1);
    assert_eq!(rig.sent_ids(), [1, 2]);
    // A new order never overtakes a queued one, even if it arrives with a free permit.
    rig.advance(2 * SEC);
    assert_eq!(rig.sent_ids(), [1, 2, 3, 4]);
    rig.new_order(5);
    assert_eq!(rig.sent_ids(), [1, 2, 3, 4, 5]);
    // The `sent` record of a queued order shows its time inside the OMS.
    let sent2 = rig.of(K::Sent)[1];
    assert_eq!(sent2.latency_ns, 333_333_334);
}

#[test]
fn bucket_is_full_again_at_each_logon() {
    let mut rig = Rig::new(&config("10:00:00", "10:00:01", 2, Some(5)), MON_0959_59, 1);
    rig.advance(SEC);
    for id in 1..=5 {
        rig.new_order(id);
    }
    assert_eq!(rig.sent_ids().len(), 5, "burst of 5 at logon");
    let next = rig.engine.clock().mono_at_wall(wall("2026-11-24T10:00:00Z"));
    rig.advance_to(next);
    for id in 6..=10 {
        rig.new_order(id);
    }
    assert_eq!(rig.sent_ids().len(), 10, "a full burst again at the next logon");
}

#[test]
fn sliding_window_never_exceeds_x_in_any_second() {
    let mut cfg = config("10:00:00", "13:00:00", 3, None);
    cfg.throttle.mode = oms::throttle::ThrottleMode::SlidingWindow.name().into();
    let mut rig = Rig::new(&cfg, MON_0959_59, 1);
    rig.advance(SEC);
    for id in 1..=7 {
        rig.new_order(id);
    }
    assert_eq!(rig.sent_ids(), [1, 2, 3]);
    rig.advance(SEC - 1);
    assert_eq!(rig.sent_ids().len(), 3);
    rig.advance(1);
    assert_eq!(rig.sent_ids().len(), 6, "exactly 1 s after the first three");
    rig.advance(SEC);
    assert_eq!(rig.sent_ids().len(), 7);
}

// ---- Rule 3: modify and cancel in the queue ------------------------------------------------

#[test]
fn modify_in_place_cancel_removes_and_not_open_otherwise() {
    let mut rig = Rig::new(&config("10:00:00", "13:00:00", 1, None), MON_0959_59, 1);
    rig.advance(SEC);
    for id in 1..=3 {
        rig.new_order(id);
    }
    // 1 sent, 2 and 3 queued.
    rig.submit(0, OrderRequest::new(2, 0, Side::Buy, 101.5, 20), RequestType::Modify);
    rig.submit(0, OrderRequest::new(2, 0, Side::Buy, 102.5, 30), RequestType::Modify);
    let m = rig.of(K::Modified);
    assert_eq!(m.len(), 2);
    assert_eq!((m[1].price, m[1].qty, m[1].symbol_id, m[1].side), (102.5, 30, 7, 'B'), "values after modify");
    rig.submit(0, OrderRequest::new(3, 0, Side::Buy, 0.0, 0), RequestType::Cancel);
    assert_eq!(rig.ids(K::Cancelled), [3]);
    // Modify/cancel of an order sent and not answered yet: request_pending (the exchange's
    // first answer comes first; tests/engine_lifecycle.rs has the rest of its life); of a
    // cancelled or an unknown order: not_open.
    rig.submit(0, OrderRequest::new(1, 0, Side::Buy, 1.0, 1), RequestType::Modify);
    rig.submit(0, OrderRequest::new(1, 0, Side::Buy, 1.0, 1), RequestType::Cancel);
    rig.submit(0, OrderRequest::new(3, 0, Side::Buy, 1.0, 1), RequestType::Cancel);
    rig.submit(0, OrderRequest::new(99, 0, Side::Buy, 1.0, 1), RequestType::Modify);
    assert_eq!(rig.rejects(1), [R::RequestPending, R::RequestPending]);
    assert_eq!(rig.rejects(3), [R::NotOpen]);
    assert_eq!(rig.rejects(99), [R::NotOpen]);
    // A bad modify leaves the queued order untouched.
    rig.submit(0, OrderRequest::new(2, 0, Side::Buy, f64::NAN, 5), RequestType::Modify);
    rig.submit(0, OrderRequest::new(2, 0, Side::Buy, 5.0, 0), RequestType::Modify);
    assert_eq!(rig.rejects(2), [R::InvalidPrice, R::InvalidQty]);
    let q: Vec<_> = rig.engine.queued().map(|q| (q.order.order_id, q.order.price, q.order.qty)).collect();
    assert_eq!(q, [(2, 102.5, 30)]);
    // The order goes out with the modified values.
    rig.advance(SEC);
    let sent = rig.engine.exchange().sent().nth(1).copied().unwrap();
    assert_eq!((sent.order_id, sent.price, sent.qty), (2, 102.5, 30));
    let rec = rig.of(K::Sent)[1];
    assert_eq!((rec.price, rec.qty), (102.5, 30));
    // Rejected modify/cancel records say which request they answer.
    assert!(rig.of(K::Rejected).iter().all(|e| e.request != RequestType::New));
}

// ---- Rule 4: responses ------------------------------------------------------------------------

#[test]
fn responses_match_with_exact_latency_and_unmatched_otherwise() {
    let mut rig = Rig::new(&config("10:00:00", "13:00:00", 100, None), MON_0959_59, 1);
    rig.advance(SEC);
    rig.new_order(1);
    rig.new_order(2);
    rig.advance(150 * MS);
    rig.respond(1, ResponseType::Accept);
    rig.advance(50 * MS);
    rig.respond(2, ResponseType::Reject);
    rig.respond(1, ResponseType::Accept); // already answered
    rig.respond(42, ResponseType::Accept); // never sent
    let r = rig.of(K::Response);
    assert_eq!(r.len(), 2);
    assert_eq!((r[0].order_id, r[0].response, r[0].latency_ns), (1, ResponseType::Accept, 150 * MS));
    assert_eq!((r[1].order_id, r[1].response, r[1].latency_ns), (2, ResponseType::Reject, 200 * MS));
    assert_eq!((r[0].price, r[0].qty, r[0].symbol_id), (100.0, 10, 7), "the matched order's fields");
    assert_eq!(rig.ids(K::UnmatchedResponse), [1, 42]);
    assert_eq!(rig.engine.in_flight_len(), 0);
}

// ---- Rule 5: bad input -------------------------------------------------------------------------

#[test]
fn every_bad_input_gets_its_own_reason() {
    let mut cfg = config("10:00:00", "13:00:00", 1, None);
    cfg.engine.max_queued_orders = 2;
    let mut rig = Rig::new(&cfg, MON_0959_59, 1);
    rig.advance(SEC);
    let o = |id, px, qty, side| OrderRequest { symbol_id: 1, price: px, qty, side, order_id: id };
    let cases = [
        (o(10, f64::NAN, 1, 'B'), R::InvalidPrice),
        (o(11, f64::INFINITY, 1, 'B'), R::InvalidPrice),
        (o(12, -1.0, 1, 'B'), R::InvalidPrice),
        (o(13, 0.0, 1, 'B'), R::InvalidPrice),
        (o(14, 1.0, 0, 'B'), R::InvalidQty),
        (o(15, 1.0, 1, 'x'), R::InvalidSide),
    ];
    for (order, reason) in cases {
        rig.submit(0, order, RequestType::New);
        assert_eq!(rig.rejects(order.order_id), [reason], "{order:?}");
    }
    rig.submit(0, o(16, 1.0, 1, 'B'), RequestType::Unknown);
    assert_eq!(rig.rejects(16), [R::InvalidRequestType]);

    rig.new_order(1); // sent
    rig.new_order(2); // queued
    rig.new_order(1); // duplicate of an in-flight order
    rig.new_order(2); // duplicate of a queued order
    assert_eq!(rig.rejects(1), [R::DuplicateOrderId]);
    assert_eq!(rig.rejects(2), [R::DuplicateOrderId]);
    rig.new_order(3); // queued (2 of 2)
    rig.new_order(4); // queue full
    assert_eq!(rig.rejects(4), [R::QueueFull]);
    let rejected = rig.of(K::Rejected);
    let rec = rejected.iter().find(|e| e.order_id == 15).unwrap();
    assert_eq!(rec.side, 'x', "the bad value is recorded as it came");
}

// ---- Rule 6: shutdown --------------------------------------------------------------------------

#[test]
fn shutdown_rejects_queued_records_unanswered_and_drains_rings() {
    let mut rig = Rig::new(&config("10:00:00", "13:00:00", 1, None), MON_0959_59, 2);
    rig.advance(SEC);
    rig.new_order(1); // sent, never answered
    rig.new_order(2); // queued
    // Still in a ring when the engine stops: must not be lost.
    rig.producers[1].on_data(OrderRequest::new(3, 1, Side::Sell, 1.0, 1), RequestType::New).unwrap();
    let report = rig.engine.shutdown();
    let ev = report.sink.events();
    let find = |id: u64, k: K| ev.iter().find(|e| e.order_id == id && e.kind == k).copied();
    assert_eq!(find(2, K::Rejected).and_then(|e| e.reason), Some(R::Shutdown));
    assert_eq!(find(3, K::Rejected).and_then(|e| e.reason), Some(R::Shutdown));
    assert!(find(1, K::Unanswered).is_some());
    assert_eq!(report.exchange.logouts(), 1, "a live session is logged out at shutdown");
    assert_eq!(report.stats.unanswered, 1);
    assert_eq!(report.stats.rejected_for(R::Shutdown), 2);
    let seqs: Vec<u64> = ev.iter().map(|e| e.seq).collect();
    assert_eq!(seqs, (1..=ev.len() as u64).collect::<Vec<_>>(), "gap-free sequence");
}

// ---- Rule 7: the records -----------------------------------------------------------------------

#[test]
fn every_decision_is_a_record_with_the_values_sent() {
    let mut rig = Rig::new(&config("10:00:00", "13:00:00", 100, None), MON_0959_59, 1);
    rig.advance(SEC);
    rig.submit(0, OrderRequest::new(5, 33, Side::Sell, 99.25, 7), RequestType::New);
    let s = rig.of(K::Sent)[0];
    assert_eq!((s.order_id, s.symbol_id, s.side, s.price, s.qty), (5, 33, 'S', 99.25, 7));
    assert_eq!(s.time_ns, wall("2026-11-23T10:00:00Z"));
    assert_eq!(s.latency_ns, 0, "sent in the same instant it arrived");
    assert_eq!(rig.kinds(), [K::Logon, K::Sent]);
    assert!(!rig.events().iter().any(|e| e.to_bytes().windows(9).any(|w| w == b"s3cr3t-pw")));
}

// ---- Decisions use the time at which they are decided -------------------------------------------

#[test]
fn a_new_order_decided_after_the_end_is_outside_even_if_its_turn_began_inside() {
    let end = wall("2026-11-23T10:00:05Z");
    let mut rig =
        Rig::new(&config("10:00:00", "10:00:05", 100, Some(10)), "2026-11-23T10:00:04.99999999Z", 1);
    assert!(rig.engine.logged_on());
    rig.send_cost.set(20);
    rig.push_new(1);
    rig.push_new(2);
    rig.engine.poll();
    assert_eq!(rig.sent_ids(), [1], "order 1 is decided at 10:00:04.999999990; its send takes 20 ns");
    assert_eq!(rig.rejects(2), [R::OutsideWindow], "order 2 is decided at 10:00:05.000000010");
    assert_eq!(rig.engine.exchange().logouts(), 1);
    assert!(rig.of(K::Sent).iter().all(|e| e.time_ns < end));
}

#[test]
fn a_queued_order_due_in_a_turn_that_crosses_the_end_is_not_sent() {
    let end = wall("2026-11-23T10:00:05Z");
    // 10^8 orders/s, burst 1: one permit every 10 ns.
    let cfg = config("10:00:00", "10:00:05", 100_000_000, Some(1));
    let mut rig = Rig::new(&cfg, "2026-11-23T10:00:04.99999997Z", 1);
    for id in 1..=3 {
        rig.push_new(id);
    }
    rig.poll();
    assert_eq!(rig.sent_ids(), [1], "sent at end − 30 ns; 2 is due at end − 20, 3 at end − 10");
    rig.mock.increment(10u64);
    rig.send_cost.set(20);
    // One turn at end − 20: order 2 goes out and its send takes the clock to the end; order 3's
    // permit is due at end − 10, but by then the window is over.
    rig.engine.poll();
    assert_eq!(rig.sent_ids(), [1, 2]);
    assert_eq!(rig.rejects(3), [R::SessionEnded]);
    assert!(rig.of(K::Sent).iter().all(|e| e.time_ns < end));
    let logout = rig.of(K::Logout)[0];
    assert_eq!(logout.time_ns, end);
}

#[test]
fn a_new_order_decided_at_the_start_is_inside_even_if_its_turn_began_before() {
    let mut rig = Rig::new(&config("10:00:00", "13:00:00", 100, None), "2026-11-23T09:59:59.999999999Z", 1);
    assert!(!rig.engine.logged_on());
    // Recording an event takes 1 ns: the reject of order 1 takes the clock to the start.
    rig.record_cost.set(1);
    rig.push(0, OrderRequest::new(1, 7, Side::Buy, f64::NAN, 10), RequestType::New);
    rig.push_new(2);
    rig.engine.poll();
    assert_eq!(rig.rejects(1), [R::InvalidPrice]);
    assert!(rig.rejects(2).is_empty(), "order 2 is decided at 10:00:00");
    assert_eq!(rig.sent_ids(), [2]);
    assert_eq!(rig.kinds(), [K::Rejected, K::Logon, K::Sent]);
    assert_eq!(rig.of(K::Logon)[0].time_ns, wall("2026-11-23T10:00:00Z"));
}

// ---- Windows already over -------------------------------------------------------------------------

#[test]
fn windows_that_ended_during_a_stall_are_never_logged_on() {
    let mut rig = Rig::new(&config("10:00:00", "13:00:00", 100, None), MON_0959_59, 1);
    // No poll from Monday 09:59:59 until Thursday 11:00: Monday's to Wednesday's windows are over.
    rig.mock.increment(3 * 24 * 3600 * SEC + 3601 * SEC);
    rig.engine.poll();
    assert_eq!(rig.kinds(), [K::Logon], "one logon, into Thursday's window, which is still open");
    assert_eq!(rig.of(K::Logon)[0].time_ns, wall("2026-11-26T11:00:00Z"));
    assert_eq!((rig.engine.exchange().logons(), rig.engine.exchange().logouts()), (1, 0));
}

#[test]
fn a_first_poll_after_the_window_ended_does_not_log_on() {
    let cfg = config("10:00:00", "13:00:00", 100, None);
    let valid = cfg.validate().expect("valid");
    let (clock, mock) = oms::EngineClock::manual(wall("2026-11-23T09:00:00Z"));
    let (b, _responder) = oms::EngineBuilder::new(&valid.engine, clock);
    let mut engine = b.build(oms::exchange::RecordingExchange::default(), oms::MemorySink::default());
    mock.increment(5 * 3600 * SEC); // 14:00: the window the engine was built for is over
    engine.poll();
    assert!(!engine.logged_on());
    assert!(engine.sink().events().is_empty(), "no logon / logout pair for a window already over");
    assert_eq!(engine.next_deadline_ns(), Some(engine.clock().mono_at_wall(wall("2026-11-24T10:00:00Z"))));
}

#[test]
fn shutdown_after_the_next_window_began_logs_out_once_and_does_not_open_it() {
    let mut rig = Rig::new(&config("10:00:00", "13:00:00", 100, None), MON_0959_59, 1);
    rig.advance(SEC);
    assert!(rig.engine.logged_on());
    // No poll until Tuesday 11:00, then the engine stops.
    rig.mock.increment(25 * 3600 * SEC);
    let report = rig.engine.shutdown();
    let kinds: Vec<K> = report.sink.events().iter().map(|e| e.kind).collect();
    assert_eq!(kinds, [K::Logon, K::Logout]);
    assert_eq!(report.sink.events()[1].time_ns, wall("2026-11-24T11:00:00Z"));
    assert_eq!((report.exchange.logons(), report.exchange.logouts()), (1, 1));
}

// ---- Overlapping and touching windows -------------------------------------------------------------

#[test]
fn overlapping_windows_are_one_continuous_window() {
    // New York, 03:00 → 02:30 next day. On 2024-03-10, 02:30 does not exist and resolves to
    // 03:30 EDT (07:30Z): Saturday's window ends after Sunday's starts (03:00 EDT, 07:00Z).
    let mut cfg = config("03:00", "02:30", 1, Some(1));
    cfg.session.timezone = "America/New_York".into();
    let mut rig = Rig::new(&cfg, "2024-03-10T06:50:00Z", 1);
    assert!(rig.engine.logged_on(), "01:50 EST is inside Saturday's window");
    rig.advance_to(rig.engine.clock().mono_at_wall(wall("2024-03-10T07:29:59Z")));
    rig.new_order(1);
    rig.new_order(2);
    rig.advance(61 * SEC);
    assert_eq!(rig.sent_ids(), [1, 2], "order 2 goes out at 03:30 EDT, when its permit is due");
    assert_eq!(rig.of(K::Sent)[1].time_ns, wall("2024-03-10T07:30:00Z"));
    assert!(rig.of(K::Rejected).is_empty(), "nothing rejected at the seam");
    assert_eq!((rig.engine.exchange().logons(), rig.engine.exchange().logouts()), (1, 0));
    // The continuous window ends at Sunday's end, 02:30 EDT on Monday.
    rig.advance_to(rig.engine.clock().mono_at_wall(wall("2024-03-11T06:30:00Z")) - 1);
    assert!(rig.engine.logged_on());
    rig.advance(1);
    assert!(!rig.engine.logged_on());
    assert_eq!(rig.engine.exchange().logouts(), 1);
}

#[test]
fn touching_windows_are_one_continuous_window() {
    // New York, 03:00 → 02:00 next day. On 2024-03-10, 02:00 does not exist and resolves to
    // 03:00 EDT: Saturday's window ends exactly where Sunday's starts.
    let mut cfg = config("03:00", "02:00", 100, None);
    cfg.session.timezone = "America/New_York".into();
    let mut rig = Rig::new(&cfg, "2024-03-10T06:50:00Z", 1);
    assert!(rig.engine.logged_on());
    rig.advance_to(rig.engine.clock().mono_at_wall(wall("2024-03-10T07:00:00Z")));
    rig.new_order(1);
    assert_eq!(rig.sent_ids(), [1], "03:00 EDT is inside");
    assert_eq!(rig.kinds(), [K::Logon, K::Sent], "no logout / logon at the seam");
}

// ---- The sliding window across sessions -----------------------------------------------------------

/// The most sends in any `[t, t + 1 s)`.
fn densest_second(rig: &Rig) -> usize {
    let t: Vec<i64> = rig.of(K::Sent).iter().map(|e| e.time_ns).collect();
    (0..t.len()).map(|i| t[i..].iter().take_while(|&&u| u < t[i] + SEC as i64).count()).max().unwrap_or(0)
}

#[test]
fn sliding_window_remembers_the_sends_of_the_previous_session() {
    // 23 h 59 min 59.5 s windows: a logout at 09:59:59.5 and a logon at 10:00:00 every day.
    let mut cfg = config("10:00:00", "09:59:59.5", 2, None);
    cfg.throttle.mode = oms::throttle::ThrottleMode::SlidingWindow.name().into();
    let mut rig = Rig::new(&cfg, MON_0959_59, 1);
    assert!(rig.engine.logged_on());
    rig.advance(400 * MS);
    rig.new_order(1);
    rig.new_order(2);
    rig.advance(600 * MS);
    assert_eq!(rig.engine.exchange().logons(), 2, "logged on again at 10:00:00");
    rig.new_order(3);
    rig.new_order(4);
    assert_eq!(rig.sent_ids(), [1, 2], "two sends at 09:59:59.4 fill [09:59:59.4, 10:00:00.4)");
    rig.advance(400 * MS);
    assert_eq!(rig.sent_ids(), [1, 2, 3, 4]);
    assert_eq!(rig.of(K::Sent)[2].time_ns, wall("2026-11-23T10:00:00.4Z"));
    assert!(densest_second(&rig) <= 2, "more than 2 sends in one second");
}

// ---- Shutdown takes requests through the same path as the loop ------------------------------------

#[test]
fn shutdown_gives_a_malformed_new_its_own_reason() {
    let mut rig = Rig::new(&config("10:00:00", "13:00:00", 1, None), MON_0959_59, 1);
    rig.advance(SEC);
    rig.push(0, OrderRequest::new(1, 7, Side::Buy, f64::NAN, 10), RequestType::New);
    rig.push_new(2);
    let report = rig.engine.shutdown();
    let reason = |id| report.sink.events().iter().find(|e| e.order_id == id).and_then(|e| e.reason);
    assert_eq!(reason(1), Some(R::InvalidPrice), "a bad field is named whenever the order is seen");
    assert_eq!(reason(2), Some(R::Shutdown));
    assert_eq!(report.stats.requests, 2);
}

// ---- The wall clock is re-anchored at each logon --------------------------------------------------

#[test]
fn logon_re_anchors_a_slow_wall_clock_and_records_the_step() {
    let mut rig = Rig::new(&config("10:00:00", "13:00:00", 100, None), MON_0959_59, 1);
    // The OS clock is 2 ms ahead of the engine's TSC-derived wall time.
    rig.engine.clock().manual_wall_offset().expect("manual clock").set(2 * MS as i64);
    rig.advance(SEC);
    assert_eq!(rig.kinds(), [K::ClockStep, K::Logon]);
    let step = rig.of(K::ClockStep)[0];
    assert_eq!(step.latency_ns as i64, 2 * MS as i64);
    assert_eq!(step.time_ns, wall("2026-11-23T10:00:00.002Z"), "on the new anchor");
    assert_eq!(rig.of(K::Logon)[0].time_ns, wall("2026-11-23T10:00:00.002Z"));
    rig.new_order(1);
    assert_eq!(rig.of(K::Sent)[0].time_ns, wall("2026-11-23T10:00:00.002Z"));
}

#[test]
fn logon_re_anchors_a_fast_wall_clock_and_waits_for_the_true_start() {
    let mut rig = Rig::new(&config("10:00:00", "13:00:00", 100, None), MON_0959_59, 1);
    // The OS clock is 2 ms behind: when the engine's clock shows 10:00:00, it is 09:59:59.998.
    rig.engine.clock().manual_wall_offset().expect("manual clock").set(-2 * (MS as i64));
    let mono_start = rig.now() + SEC;
    rig.advance(SEC);
    assert_eq!(rig.kinds(), [K::ClockStep], "not yet 10:00 by the OS clock");
    assert_eq!(rig.of(K::ClockStep)[0].latency_ns as i64, -2 * (MS as i64));
    assert_eq!(rig.of(K::ClockStep)[0].time_ns, wall("2026-11-23T09:59:59.998Z"));
    rig.new_order(1);
    assert_eq!(rig.rejects(1), [R::OutsideWindow]);
    rig.advance(2 * MS);
    assert_eq!(rig.kinds()[2..], [K::Logon]);
    assert_eq!(rig.of(K::Logon)[0].time_ns, wall("2026-11-23T10:00:00Z"));
    assert_eq!(rig.now(), mono_start + 2 * MS, "monotonic time is never stepped");
}

#[test]
fn a_step_within_the_threshold_is_applied_but_not_recorded() {
    let mut rig = Rig::new(&config("10:00:00", "13:00:00", 100, None), MON_0959_59, 1);
    let small = oms::clock::RECORDED_STEP_NS as i64;
    rig.engine.clock().manual_wall_offset().expect("manual clock").set(small);
    rig.advance(SEC);
    assert_eq!(rig.kinds(), [K::Logon]);
    assert_eq!(rig.of(K::Logon)[0].time_ns, wall("2026-11-23T10:00:00Z") + small);
}

#[test]
fn the_wall_clock_is_re_anchored_only_at_a_logon() {
    let mut rig = Rig::new(&config("10:00:00", "13:00:00", 100, None), MON_0959_59, 1);
    rig.advance(SEC);
    let offset = rig.engine.clock().manual_wall_offset().expect("manual clock");
    offset.set(5 * MS as i64);
    rig.advance(SEC);
    rig.new_order(1);
    assert_eq!(rig.of(K::Sent)[0].time_ns, wall("2026-11-23T10:00:01Z"), "no re-anchor on the order path");
    // The next day's logon picks the offset up.
    rig.advance_to(rig.engine.clock().mono_at_wall(wall("2026-11-24T10:00:00Z")));
    let steps = rig.of(K::ClockStep);
    assert_eq!(steps.len(), 1);
    assert_eq!(steps[0].latency_ns as i64, 5 * MS as i64);
}
