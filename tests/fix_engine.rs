//! The engine trading through its FIX exchange against QuickFIX (examples/fix_acceptor.py) on
//! loopback, built from a config as `oms run` would: the window's logon and logout drive the
//! session; orders within the throttle are answered with their latency in the journal; rejects
//! and fills become records; a refused logon is journaled and retried while orders wait; the
//! acceptor killed and restarted inside the window leaves orders queued until the reconnect,
//! then they go out in order. Each journal is then checked by `oms audit` and read by
//! `oms decode` (the binaries), and searched for the password.
//!
//! Real time (the counterparty runs in it): windows are set a second or so from now, and every
//! wait has a deadline and says what it waited for.

mod fix_common;

use std::time::{Duration, Instant};

use fix_common::rig::Rig;
use fix_common::{Acceptor, PASSWORD, WAIT, free_port, tempdir};
use oms::model::SessionEvent;
use oms::record::{Event, SessionReport};
use oms::{EventKind as K, RejectReason, ResponseType};

#[test]
fn the_window_drives_the_session_and_every_order_is_answered_with_its_latency() {
    let dir = tempdir();
    let port = free_port();
    let mut acc = Acceptor::start(port, &dir.path().join("acceptor"), &["--max-qty", "1000"]);
    let mut rig = Rig::new(dir.path(), port, PASSWORD, 1.5, 10.0, 50);
    // Before the window: rejected, no connection.
    rig.new_order(100, 1, 10, 5.0);
    assert_eq!(rig.of(K::Rejected)[0].reason, Some(RejectReason::OutsideWindow));
    assert!(rig.engine.exchange().stats().logons == 0 && acc.lines_starting("IN A").is_empty());

    rig.until("the FIX session logged on", WAIT, |r| r.count_session(SessionEvent::LoggedOn) == 1);
    assert!(Instant::now() >= rig.window_start, "logged on before the window opened");
    acc.expect("LOGON", WAIT);
    let kinds: Vec<K> = rig.records().iter().map(|r| r.kind).filter(|k| *k != K::ClockStep).collect();
    assert_eq!(kinds, [K::Rejected, K::Logon, K::ExchangeSession], "{}", rig.dump());
    let on = rig.of(K::ExchangeSession)[0];
    assert_eq!((on.qty, on.order_id), (2, 2), "Logon sent and answered: the next numbers are 2 and 2");

    // 8 orders within the throttle (50/s, burst 50): all go at once.
    for id in 1..=5 {
        rig.new_order(id, 1, 10 * id, 100.25);
    }
    rig.new_order(6, 1, 5000, 10.5); // above the acceptor's limit: Rejected execution report
    rig.new_order(7, 2, 300, 99.75); // FILL: accepted, then filled
    rig.new_order(8, 3, 10, 1.0); // BMR: a BusinessMessageReject
    assert_eq!(rig.of(K::Sent).len(), 8, "{}", rig.dump());
    assert_eq!(rig.of(K::Queued).len(), 0);
    rig.until("8 responses, a fill and a business reject", WAIT, |r| {
        r.of(K::Response).len() == 8 && r.of(K::Filled).len() == 1 && r.of(K::ExchangeReject).len() == 1
    });
    let responses = rig.of(K::Response);
    let answer = |id| responses.iter().find(|r| r.order_id == id).map(|r| r.response);
    for id in 1..=8 {
        let want = if matches!(id, 6 | 8) { ResponseType::Reject } else { ResponseType::Accept };
        assert_eq!(answer(id), Some(want), "order {id}");
    }
    for r in &responses {
        let sent = rig.of(K::Sent).into_iter().find(|s| s.order_id == r.order_id).expect("sent");
        assert!(r.latency_ns > 0, "order {}: no latency", r.order_id);
        assert!(
            r.latency_ns as i64 <= r.time_ns - sent.time_ns,
            "order {}: latency beyond its span",
            r.order_id
        );
        assert_eq!((r.qty, r.price, r.symbol_id), (sent.qty, sent.price, sent.symbol_id));
    }
    let fill = rig.of(K::Filled)[0];
    assert_eq!((fill.order_id, fill.qty, fill.price), (7, 300, 99.75));
    assert!(rig.of(K::Execution).is_empty(), "the fill is an answer, not an execution: {}", rig.dump());
    let bmr = rig.of(K::ExchangeReject)[0];
    assert_eq!((bmr.order_id, bmr.qty), (8, 2), "BusinessRejectReason 2: unknown security");
    let seq_of = |k, id| rig.records().iter().find(|r| r.kind == k && r.order_id == id).map(|r| r.seq);
    assert!(seq_of(K::Response, 7) < seq_of(K::Filled, 7), "the fill after its order's response");
    assert!(seq_of(K::Response, 8) < seq_of(K::ExchangeReject, 8));
    for id in 1..=8 {
        acc.expect(&format!("ORDER {id} "), WAIT);
    }

    // The window's end: Logout, answered.
    let end = rig.window_end;
    rig.run_until(end);
    rig.until("logged out", WAIT, |r| r.count_session(SessionEvent::LoggedOut) == 1);
    acc.expect("LOGOUT", WAIT);
    let logout = rig.of(K::Logout)[0];
    assert!(
        logout.seq < rig.records().last().expect("records").seq,
        "the engine's logout, then the session's"
    );
    let (records, text, stats) = rig.finish();
    // The accepted orders 1..5 stay working (the acceptor only acknowledges them) until the end:
    // cancelled before the Logout, or left unanswered at shutdown.
    let cancelled = records.iter().filter(|r| r.kind == K::VenueCancelled).count() as u64;
    assert_eq!(stats.unanswered + cancelled, 5, "{records:#?}");
    assert_eq!(records.iter().filter(|r| r.kind == K::ExchangeSession).count(), 2, "{records:#?}");
    for want in [
        "exchange_session logged_on next_out_seq=2 next_in_seq=2",
        "filled order=7",
        "exchange_reject order=8 source=business_reject code=2",
        "exchange_session logged_out",
    ] {
        assert!(text.contains(want), "oms decode shows {want:?}:\n{text}");
    }
}

#[test]
fn a_refused_logon_is_journaled_and_retried_while_orders_wait_and_nothing_is_sent() {
    let dir = tempdir();
    let port = free_port();
    let mut acc = Acceptor::start(port, &dir.path().join("acceptor"), &[]);
    let mut rig = Rig::new(dir.path(), port, "not-the-password", 0.5, 3600.0, 2);
    rig.until("the window's logon", WAIT, |r| r.engine.logged_on());
    for id in 1..=3 {
        rig.new_order(id, 1, 10, 5.0);
    }
    rig.until("three refusals", WAIT, |r| r.count_session(SessionEvent::LogonRefused) >= 3);
    assert!(rig.engine.logged_on(), "the engine's window stays logged on");
    assert_eq!(rig.engine.queue_len(), 3, "orders wait in the queue");
    assert_eq!(rig.of(K::Queued).len(), 3);
    assert!(rig.of(K::Sent).is_empty(), "{}", rig.dump());
    assert_eq!(rig.engine.next_send_ns(), None, "no permit awaited while refused");
    let refusals: Vec<u64> = rig
        .records()
        .iter()
        .filter_map(|r| match r.event() {
            Event::ExchangeSession(SessionReport::LogonRefused { retry_in_ns }) => Some(retry_in_ns),
            _ => None,
        })
        .collect();
    let ms = 1_000_000;
    assert_eq!(refusals[..3], [200 * ms, 400 * ms, 800 * ms], "retried with a doubling backoff");
    acc.expect("REFUSED unknown username or wrong password", WAIT);
    assert!(
        acc.lines_starting("ORDER").is_empty() && acc.lines_starting("LOGON").is_empty(),
        "{}",
        acc.dump()
    );
    let (records, text, _) = rig.finish();
    let shutdown = records.iter().filter(|r| r.reason == Some(RejectReason::Shutdown)).count();
    assert_eq!(shutdown, 3, "the queued orders end rejected at shutdown");
    assert!(text.contains("exchange_session logon_refused retry_in_ns=200000000"), "{text}");
    assert!(!text.contains(" sent "), "{text}");
}

#[test]
fn orders_queued_while_the_acceptor_is_down_go_out_in_order_after_the_reconnect() {
    let dir = tempdir();
    let port = free_port();
    let mut acc = Acceptor::start(port, &dir.path().join("acceptor"), &[]);
    let mut rig = Rig::new(dir.path(), port, PASSWORD, 0.3, 3600.0, 100);
    rig.until("logged on", WAIT, |r| r.count_session(SessionEvent::LoggedOn) == 1);
    rig.new_order(1, 1, 10, 5.0);
    rig.until("order 1 answered", WAIT, |r| r.of(K::Response).len() == 1);
    // QuickFIX answers inside its application callback and stores the next inbound number just
    // after: killed in between, it asks again for order 1's number (and, with EndSeqNo 0, for
    // everything after it) at the next logon. That case has its own test; here the acceptor
    // dies with its store up to date.
    acceptor_stored_next_inbound(&acc, 3);

    acc.kill();
    rig.until("the disconnect seen", WAIT, |r| r.count_session(SessionEvent::Disconnected) >= 1);
    for id in 2..=6 {
        rig.new_order(id, 1, 10 * id, 5.0);
    }
    // While the acceptor is down: queued, not sent, however long it takes.
    rig.until("a failed reconnect", WAIT, |r| r.count_session(SessionEvent::Disconnected) >= 2);
    assert_eq!(rig.engine.queue_len(), 5, "{}", rig.dump());
    assert_eq!(rig.of(K::Sent).len(), 1);

    acc.restart();
    rig.until("logged on again and orders 2..6 answered", WAIT, |r| {
        r.count_session(SessionEvent::LoggedOn) == 2 && r.of(K::Response).len() == 6
    });
    let sent: Vec<u64> = rig.of(K::Sent).iter().map(|r| r.order_id).collect();
    assert_eq!(sent, [1, 2, 3, 4, 5, 6], "oldest first");
    let ons: Vec<(u64, u64)> = rig
        .records()
        .iter()
        .filter_map(|r| match r.event() {
            Event::ExchangeSession(SessionReport::LoggedOn { next_out_seq, next_in_seq }) => {
                Some((next_out_seq, next_in_seq))
            }
            _ => None,
        })
        .collect();
    assert!(ons[1].0 > ons[0].0 && ons[1].1 > ons[0].1, "sequence numbers continue: {ons:?}");
    // The acceptor got them in that order, after the reconnect.
    let orders: Vec<u64> = (2..=6)
        .map(|_| {
            let line = acc.expect("ORDER", WAIT);
            line.split(' ').nth(1).and_then(|s| s.parse().ok()).unwrap_or_else(|| panic!("{line}"))
        })
        .collect();
    assert_eq!(orders, [2, 3, 4, 5, 6], "{}", acc.dump());
    let (records, text, _) = rig.finish();
    assert!(text.contains("exchange_session disconnected cause=peer_closed"), "{text}");
    assert!(records.iter().any(|r| r.kind == K::Logout));
}

/// An acceptor whose store lost our last numbers (restored to an earlier point: it expects a
/// number of ours it already had) asks for them again at the next Logon. The orders that waited
/// in the queue while it was down go out only once the session is known to be in sync, never
/// into the range it asks for: each is accepted, none rejected `gap_filled`. The acceptor holds
/// its ResendRequest 300 ms, so that it comes after anything sent at the Logon's answer.
#[test]
fn orders_queued_while_down_are_not_gap_filled_by_an_acceptor_that_lost_our_numbers() {
    let dir = tempdir();
    let port = free_port();
    let mut acc = Acceptor::start(port, &dir.path().join("acceptor"), &["--resend-delay-ms", "300"]);
    let mut rig = Rig::new(dir.path(), port, PASSWORD, 0.3, 3600.0, 100);
    rig.until("logged on", WAIT, |r| r.count_session(SessionEvent::LoggedOn) == 1);
    rig.new_order(1, 1, 10, 5.0);
    rig.until("order 1 answered", WAIT, |r| r.of(K::Response).len() == 1);
    acceptor_stored_next_inbound(&acc, 3);
    acc.kill();
    // The store forgets our order (MsgSeqNum 2): the acceptor expects it again. Its own numbers
    // are kept (its answer to order 1 was sent).
    acceptor_forgets_from(&acc, 2);
    rig.until("the disconnect seen", WAIT, |r| r.count_session(SessionEvent::Disconnected) >= 1);
    for id in 2..=4 {
        rig.new_order(id, 1, 10 * id, 5.0);
    }
    assert_eq!(rig.engine.queue_len(), 3, "{}", rig.dump());

    acc.restart();
    rig.until("orders 2..4 answered", WAIT, |r| r.of(K::Response).len() == 4);
    let rejected: Vec<u64> = rig
        .of(K::Response)
        .iter()
        .filter(|r| r.response != ResponseType::Accept)
        .map(|r| r.order_id)
        .collect();
    assert!(rejected.is_empty(), "orders {rejected:?} rejected:\n{}\n{}", rig.dump(), acc.dump());
    assert!(rig.of(K::ExchangeReject).is_empty(), "{}", rig.dump());
    // The acceptor's ResendRequest was answered before the session reported itself logged on
    // again, and the orders went out after that, past everything the gap fill covered.
    let mut filled_to = None;
    let mut logged_on_after_fill = false;
    for r in rig.records() {
        match r.event() {
            Event::ExchangeSession(SessionReport::GapFilled { begin: 2, new_seq }) => {
                filled_to = Some(new_seq)
            }
            Event::ExchangeSession(SessionReport::LoggedOn { .. }) => {
                logged_on_after_fill = filled_to.is_some()
            }
            Event::Sent { .. } if r.order_id == 2 => {
                assert!(logged_on_after_fill, "order 2 sent before the session was in sync:\n{}", rig.dump());
            }
            _ => {}
        }
    }
    let filled_to = filled_to.unwrap_or_else(|| panic!("no gap fill from 2:\n{}", rig.dump()));
    let orders: Vec<(u64, u64)> = (2..=4)
        .map(|_| {
            let line = acc.expect("ORDER", WAIT);
            let id = line.split(' ').nth(1).and_then(|s| s.parse().ok());
            let seq = line.rsplit(' ').next().and_then(|s| s.parse().ok());
            id.zip(seq).unwrap_or_else(|| panic!("{line}"))
        })
        .collect();
    assert_eq!(orders.iter().map(|o| o.0).collect::<Vec<_>>(), [2, 3, 4], "{}", acc.dump());
    assert!(orders.iter().all(|o| o.1 >= filled_to), "gap-filled to {filled_to}: {orders:?}\n{}", acc.dump());
    let (records, text, _) = rig.finish();
    assert!(text.contains("exchange_session gap_filled begin=2"), "{text}");
    assert_eq!(records.iter().filter(|r| r.kind == K::Response).count(), 4);
}

/// Rewrites the (stopped) acceptor's store so that it expects `next` from us again: it forgets
/// our messages from `next` on and keeps its own numbers.
fn acceptor_forgets_from(acc: &Acceptor, next: u64) {
    let file = acc.dir.join("store").join("FIX.4.4-EXCH-OMS.seqnums");
    let text = std::fs::read_to_string(&file).unwrap_or_else(|e| panic!("{}: {e}", file.display()));
    let sender: u64 = text
        .split(':')
        .next()
        .and_then(|t| t.trim().parse().ok())
        .unwrap_or_else(|| panic!("{}: {text:?}", file.display()));
    std::fs::write(&file, format!("{sender:010} : {next:010}")).expect("rewrite the acceptor's store");
}

/// Waits until the acceptor's sequence-number store expects `next` from us.
fn acceptor_stored_next_inbound(acc: &Acceptor, next: u64) {
    let file = acc.dir.join("store").join("FIX.4.4-EXCH-OMS.seqnums");
    let deadline = Instant::now() + WAIT;
    loop {
        let text = std::fs::read_to_string(&file).unwrap_or_default();
        let stored = text.split(':').nth(1).and_then(|t| t.trim().parse::<u64>().ok());
        if stored.is_some_and(|n| n >= next) {
            return;
        }
        assert!(Instant::now() < deadline, "{}: next inbound {stored:?}, want {next}", file.display());
        std::thread::sleep(Duration::from_millis(5));
    }
}
