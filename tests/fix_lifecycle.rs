//! An order's whole life through the engine and its FIX session against QuickFIX
//! (examples/fix_acceptor.py) on loopback: a working order cancelled (OrderCancelRequest, 35=F),
//! replaced (OrderCancelReplaceRequest, 35=G) and then filled on its new terms, filled in parts,
//! cancelled too late (the fill got there first), cancelled or done for the day by the venue, and
//! its ClOrdID chain going on after the engine crashed and recovered from its journal (the
//! acceptor turns down any ClOrdID it has seen). Every journal passes `oms audit`
//! ([`Rig::finish`]).
//!
//! Real time (the counterparty runs in it): each window opens a moment from now and lasts an
//! hour; every wait has a deadline and says what it waited for.

mod fix_common;

use fix_common::rig::Rig;
use fix_common::{Acceptor, PASSWORD, WAIT, free_port, tempdir};
use oms::model::{AnswerKind, SessionEvent};
use oms::record::Event;
use oms::{EventKind as K, EventRecord, RequestType, ResponseType};

/// A rig logged on to a fresh acceptor started with `args`.
fn logged_on(dir: &std::path::Path, args: &[&str]) -> (Acceptor, Rig) {
    let port = free_port();
    let acc = Acceptor::start(port, &dir.join("acceptor"), args);
    let mut rig = Rig::new(dir, port, PASSWORD, 0.3, 3600.0, 100);
    rig.until("logged on", WAIT, |r| r.count_session(SessionEvent::LoggedOn) == 1);
    (acc, rig)
}

/// Submits order `id` and runs the engine until it is accepted.
fn working(rig: &mut Rig, id: u64, symbol: i32, qty: u64, price: f64) {
    rig.new_order(id, symbol, qty, price);
    rig.until("accepted", WAIT, |r| r.has(K::Response, id));
}

impl Rig {
    fn has(&self, kind: K, id: u64) -> bool {
        self.records().iter().any(|r| r.kind == kind && r.order_id == id)
    }

    fn one(&self, kind: K, id: u64) -> EventRecord {
        let all: Vec<EventRecord> = self.of(kind).into_iter().filter(|r| r.order_id == id).collect();
        assert_eq!(all.len(), 1, "one {kind:?} of order {id}:\n{}", self.dump());
        all[0]
    }

    /// The kinds of order `id`'s records, in order.
    fn life(&self, id: u64) -> Vec<K> {
        self.records()
            .iter()
            .filter(|r| r.order_id == id && r.kind != K::ExchangeSession)
            .map(|r| r.kind)
            .collect()
    }
}

#[test]
fn a_working_order_is_cancelled_over_fix_and_the_venue_cancels_and_ends_others() {
    let dir = tempdir();
    let (mut acc, mut rig) = logged_on(dir.path(), &["--pending-acks"]);
    working(&mut rig, 1, 1, 100, 10.0);
    rig.cancel(1);
    rig.until("cancelled", WAIT, |r| r.has(K::VenueCancelled, 1));
    assert_eq!(acc.expect("CANCEL", WAIT), "CANCEL 1.1 1 canceled");
    let sent = rig.one(K::CancelSent, 1);
    let done = rig.one(K::VenueCancelled, 1);
    match done.event() {
        Event::VenueCancelled { order, solicited, round_trip_ns } => {
            assert!(solicited, "our cancel, carried out");
            assert!(
                round_trip_ns > 0 && round_trip_ns as i64 <= done.time_ns - sent.time_ns,
                "{round_trip_ns}"
            );
            assert_eq!((order.qty, order.price), (100, 10.0));
        }
        other => panic!("{other:?}"),
    }
    // The acceptor acknowledged it pending first (ExecType 6): an execution record.
    assert_eq!(rig.life(1), [K::Sent, K::Response, K::CancelSent, K::Execution, K::VenueCancelled]);
    assert_eq!(rig.engine.open_len(), 0);

    // The venue's own doing: a cancel nobody asked for, and done for the day.
    working(&mut rig, 2, 1, 10, 5.0);
    working(&mut rig, 3, 1, 10, 5.0);
    acc.command("cancel 2");
    acc.command("done 3");
    rig.until("ended by the venue", WAIT, |r| r.has(K::VenueCancelled, 2) && r.has(K::Expired, 3));
    match rig.one(K::VenueCancelled, 2).event() {
        Event::VenueCancelled { solicited, round_trip_ns, .. } => {
            assert_eq!((solicited, round_trip_ns), (false, 0))
        }
        other => panic!("{other:?}"),
    }
    // A cancel of an order that ended is refused at once: nothing goes out.
    rig.cancel(2);
    assert_eq!(rig.one(K::Rejected, 2).reason, Some(oms::RejectReason::NotOpen));
    let (records, text, stats) = rig.finish();
    assert_eq!((stats.unanswered, stats.unexpected), (0, 0), "{records:#?}");
    assert_eq!(acc.lines_starting("CANCEL").len(), 2, "{}", acc.dump());
    for want in
        ["cancel_sent order=1", "venue_cancelled order=1", "our_cancel", "by_the_venue", "expired order=3"]
    {
        assert!(text.contains(want), "oms decode shows {want:?}:\n{text}");
    }
}

#[test]
fn a_replaced_order_fills_on_its_new_terms() {
    let dir = tempdir();
    let (mut acc, mut rig) = logged_on(dir.path(), &[]);
    working(&mut rig, 1, 1, 100, 10.0);
    rig.modify(1, 1, 150, 10.5);
    rig.until("replaced", WAIT, |r| r.has(K::Replaced, 1));
    assert_eq!(acc.expect("REPLACE", WAIT), "REPLACE 1.1 1 150 10.5 replaced");
    let replaced = rig.one(K::Replaced, 1);
    assert_eq!((replaced.qty, replaced.price), (150, 10.5));
    assert!(replaced.latency_ns > 0, "the replace's round trip is journaled");
    acc.command("fill 1 60");
    rig.until("filled in part", WAIT, |r| r.has(K::Fill, 1));
    acc.command("fill 1 90");
    rig.until("filled", WAIT, |r| r.has(K::Filled, 1));
    let fills: Vec<(u64, f64)> = rig
        .records()
        .iter()
        .filter(|r| matches!(r.kind, K::Fill | K::Filled))
        .map(|r| (r.qty, r.price))
        .collect();
    assert_eq!(fills, [(60, 10.5), (90, 10.5)], "on the new terms");
    assert_eq!(rig.life(1), [K::Sent, K::Response, K::ReplaceSent, K::Replaced, K::Fill, K::Filled]);
    assert_eq!(rig.engine.open_len(), 0);
    // A Modify after the order filled is refused at once.
    rig.modify(1, 1, 200, 10.5);
    assert_eq!(rig.one(K::Rejected, 1).reason, Some(oms::RejectReason::NotOpen));
    let log = acc.message_log();
    assert!(
        log.lines()
            .any(|l| ["|35=G|", "|11=1.1|", "|41=1|", "|38=150|", "|44=10.5|"].iter().all(|f| l.contains(f))),
        "{log}"
    );
    let (_, text, stats) = rig.finish();
    assert_eq!((stats.unanswered, stats.fills), (0, 2));
    assert!(text.contains("replaced order=1") && text.contains("filled order=1"), "{text}");
}

#[test]
fn an_order_fills_in_parts() {
    let dir = tempdir();
    let (mut acc, mut rig) = logged_on(dir.path(), &["--fill-parts", "3", "--fill-delay-ms", "20"]);
    rig.new_order(1, 2, 300, 99.75); // FILL: filled in three parts after its acceptance
    rig.until("filled", WAIT, |r| r.has(K::Filled, 1));
    let cum: Vec<u64> = rig
        .records()
        .iter()
        .filter_map(|r| match r.event() {
            Event::Fill { order_id: 1, last_qty, cum_qty, .. } => Some(last_qty * 1000 + cum_qty),
            _ => None,
        })
        .collect();
    assert_eq!(cum, [100_100, 100_200, 100_300], "last qty 100, cum 100, 200, 300");
    assert_eq!(rig.life(1), [K::Sent, K::Response, K::Fill, K::Fill, K::Filled]);
    for _ in 0..3 {
        acc.expect("FILL 1 100", WAIT);
    }
    let (_, _, stats) = rig.finish();
    assert_eq!((stats.fills, stats.unanswered, stats.unexpected), (3, 0, 0));
}

/// The acceptor fills the order in full while our cancel is on its way: the cancel went out
/// (the order was working as far as the engine knew), the fill comes back first, then the
/// acceptor's OrderCancelReject (too late), which fits no open order any more.
#[test]
fn a_cancel_that_loses_the_race_to_a_fill() {
    let dir = tempdir();
    let (mut acc, mut rig) = logged_on(dir.path(), &[]);
    working(&mut rig, 1, 1, 100, 10.0);
    acc.command("fill 1 100");
    acc.expect("FILL 1 100", WAIT); // the engine has not read it: no loop turn since
    rig.cancel(1);
    assert!(rig.has(K::CancelSent, 1), "the cancel went out:\n{}", rig.dump());
    rig.until("filled and the cancel refused", WAIT, |r| r.has(K::UnexpectedReport, 1));
    assert_eq!(acc.expect("CANCEL", WAIT), "CANCEL 1.1 1 rejected");
    assert_eq!(rig.life(1), [K::Sent, K::Response, K::CancelSent, K::Filled, K::UnexpectedReport]);
    match rig.one(K::UnexpectedReport, 1).event() {
        Event::UnexpectedReport { answer, state, .. } => {
            assert_eq!((answer, state), (AnswerKind::CancelRejected, None), "the order was no longer open");
        }
        other => panic!("{other:?}"),
    }
    let (records, _, stats) = rig.finish();
    assert_eq!((stats.fills, stats.unanswered), (1, 0), "{records:#?}");
    assert!(!records.iter().any(|r| r.kind == K::VenueCancelled), "the order ends filled");
}

/// A partially filled order whose cancel the acceptor refuses because it filled the rest
/// first, with a replace refused the same way: the engine records each refusal
/// `cancel_rejected` while the order is still open, and the order ends filled.
#[test]
fn requests_refused_while_the_order_is_open_leave_it_as_it_was() {
    let dir = tempdir();
    let (mut acc, mut rig) = logged_on(dir.path(), &[]);
    working(&mut rig, 1, 1, 100, 10.0);
    // A replace the acceptor refuses (above its limit): the order goes on as it was.
    rig.modify(1, 1, 2_000_000, 10.0);
    rig.until("replace refused", WAIT, |r| r.has(K::CancelRejected, 1));
    match rig.one(K::CancelRejected, 1).event() {
        Event::CancelRejected { request, code, .. } => assert_eq!((request, code), (RequestType::Modify, 99)),
        other => panic!("{other:?}"),
    }
    acc.command("fill 1 40");
    rig.until("filled in part", WAIT, |r| r.has(K::Fill, 1));
    // Then it works on: a cancel carried out, of what is left.
    rig.cancel(1);
    rig.until("cancelled", WAIT, |r| r.has(K::VenueCancelled, 1));
    assert_eq!(acc.expect("REPLACE", WAIT), "REPLACE 1.1 1 rejected");
    assert_eq!(acc.expect("CANCEL", WAIT), "CANCEL 1.2 1 canceled");
    assert_eq!(
        rig.life(1),
        [K::Sent, K::Response, K::ReplaceSent, K::CancelRejected, K::Fill, K::CancelSent, K::VenueCancelled]
    );
    let (_, text, _) = rig.finish();
    assert!(text.contains("cancel_rejected order=1"), "{text}");
}

/// The engine crashes with orders working (one of them replaced: its live ClOrdID is `1.1`) and
/// restarts on its journal inside the window: each order's chain goes on from the journal's
/// count of its requests, so the acceptor, which turns down any ClOrdID it has seen, takes every
/// request after the restart.
#[test]
fn the_cl_ord_id_chain_goes_on_after_the_engine_crashes_and_recovers() {
    let dir = tempdir();
    let (mut acc, mut rig) = logged_on(dir.path(), &[]);
    working(&mut rig, 1, 1, 100, 10.0);
    working(&mut rig, 2, 1, 100, 10.0);
    rig.modify(1, 1, 120, 10.0);
    rig.until("replaced", WAIT, |r| r.has(K::Replaced, 1));
    acc.expect("REPLACE 1.1 1 120", WAIT);

    let mut rig = rig.crash_and_recover();
    rig.until("logged on again", WAIT, |r| r.count_session(SessionEvent::LoggedOn) == 1);
    assert_eq!(rig.engine.open_len(), 2, "{}", rig.dump());
    rig.modify(1, 1, 130, 10.25);
    rig.until("replaced again", WAIT, |r| r.has(K::Replaced, 1));
    rig.cancel(1);
    rig.cancel(2);
    rig.until("both cancelled", WAIT, |r| r.has(K::VenueCancelled, 1) && r.has(K::VenueCancelled, 2));
    assert_eq!(acc.expect("REPLACE", WAIT), "REPLACE 1.2 1.1 130 10.25 replaced");
    let cancels = [acc.expect("CANCEL", WAIT), acc.expect("CANCEL", WAIT)];
    assert_eq!(cancels, ["CANCEL 1.3 1.2 canceled", "CANCEL 2.1 2 canceled"]);
    assert!(acc.lines_starting("ERROR").is_empty(), "{}", acc.dump());
    assert!(!acc.message_log().contains("duplicate ClOrdID"), "{}", acc.message_log());
    let (records, _, stats) = rig.finish();
    assert!(records.iter().any(|r| r.kind == K::Recovered), "{records:#?}");
    assert_eq!((stats.unanswered, stats.unexpected, stats.rejected_total()), (0, 0, 0));
    assert!(records.iter().all(|r| r.response != ResponseType::Reject));
}
