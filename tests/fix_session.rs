//! Our FIX 4.4 session against QuickFIX (examples/fix_acceptor.py) on loopback: logon, refusal,
//! orders and their answers, rejects, heartbeats and TestRequests, gaps both ways, logout.

mod fix_common;

use std::time::Duration;

use fix_common::*;
use oms::exchange::{Exchange, RejectSource};
use oms::{Answer, ResponseType};

#[test]
fn logon_orders_answered_and_logout() {
    let dir = tempdir();
    let port = free_port();
    let mut acc = Acceptor::start(port, &dir.path().join("acceptor"), &[]);
    let mut oms = Oms::new(&settings(port, &dir.path().join("oms"), 30), PASSWORD);
    oms.logon();
    oms.pump_until("logged on", WAIT, |o| o.fix.logged_on());
    acc.expect("LOGON", WAIT);
    assert_eq!(oms.events[0], Ev::LoggedOn(2, 2), "{:?}", oms.events);
    for id in 1..=50 {
        oms.send(id, 1, 10 + id, 100.25).expect("logged on: the session takes the order");
    }
    oms.poll();
    oms.pump_until("50 answers", WAIT, |o| o.responses.len() == 50);
    for id in 1..=50u64 {
        assert_eq!(oms.answered(id).map(|r| r.response_type), Some(ResponseType::Accept), "order {id}");
    }
    let line = acc.expect("ORDER 50 ", WAIT);
    assert_eq!(line, "ORDER 50 ACME 1 60 100.25 51");
    // Every order went out in one write per poll, not one per order.
    assert!(oms.fix.stats().writes < 10, "{:?}", oms.fix.stats());
    oms.logout();
    oms.pump_until("logged out", WAIT, |o| o.events.iter().any(|e| matches!(e, Ev::LoggedOut(_))));
    acc.expect("LOGOUT", WAIT);
    assert!(!oms.fix.logged_on());
    assert_eq!(oms.fix.seq(), (53, 53), "Logon + 50 orders + Logout each way");
    assert!(!oms.log.contains(PASSWORD) && !format!("{:?}", oms.fix).contains(PASSWORD));
}

#[test]
fn a_wrong_password_is_refused_with_the_acceptors_text_retried_with_backoff_and_nothing_is_sent() {
    let dir = tempdir();
    let port = free_port();
    let mut acc = Acceptor::start(port, &dir.path().join("acceptor"), &[]);
    let mut oms = Oms::new(&settings(port, &dir.path().join("oms"), 30), "not-the-password");
    oms.logon();
    oms.pump_until("three refusals", WAIT, |o| o.count(|e| matches!(e, Ev::LogonRefused(..))) >= 3);
    let refusals: Vec<_> = oms.events.iter().filter(|e| matches!(e, Ev::LogonRefused(..))).cloned().collect();
    let ms = 1_000_000;
    assert_eq!(
        refusals[..3],
        [200 * ms, 400 * ms, 800 * ms]
            .map(|r| Ev::LogonRefused("unknown username or wrong password".into(), r)),
        "the acceptor's Text (58), and a doubling backoff: {:?}",
        oms.events
    );
    assert_eq!(oms.logged_on_count(), 0);
    // An order while refused is not taken (the engine rejects it `not_sent`) and never
    // reaches the acceptor; the session answers nothing for it.
    assert_eq!(oms.send(1, 1, 10, 100.0), Err(oms::exchange::NotSent));
    oms.poll();
    assert_eq!(oms.answered(1), None);
    assert!(!oms.events.iter().any(|e| matches!(e, Ev::OrderRejected(1, ..))));
    for _ in 0..3 {
        acc.expect("REFUSED unknown username or wrong password", WAIT);
    }
    assert!(
        acc.lines_starting("IN D").is_empty() && acc.lines_starting("ORDER").is_empty(),
        "{}",
        acc.dump()
    );
    assert!(acc.lines_starting("LOGON").is_empty(), "{}", acc.dump());
    assert!(!oms.log.contains("not-the-password"), "{}", oms.log);
}

#[test]
fn rejected_filled_and_business_rejected_orders() {
    let dir = tempdir();
    let port = free_port();
    let _acc = Acceptor::start(port, &dir.path().join("acceptor"), &["--max-qty", "1000"]);
    let mut oms = Oms::new(&settings(port, &dir.path().join("oms"), 30), PASSWORD);
    oms.logon();
    oms.pump_until("logged on", WAIT, |o| o.fix.logged_on());
    oms.send(1, 1, 5000, 10.5).expect("logged on: the session takes the order"); // above the acceptor's limit
    oms.send(2, 2, 300, 99.75).expect("logged on: the session takes the order"); // FILL: accepted, then filled
    oms.send(3, 3, 10, 1.0).expect("logged on: the session takes the order"); // BMR: business reject
    oms.send(4, 1, 1000, 10.0).expect("logged on: the session takes the order"); // at the limit: accepted
    oms.poll();
    oms.pump_until("4 answers and the fill", WAIT, |o| {
        o.responses.len() == 4 && o.later_answers().len() == 1
    });
    let kind = |id| oms.answered(id).map(|r| r.response_type);
    assert_eq!(
        [kind(1), kind(2), kind(3), kind(4)],
        [ResponseType::Reject, ResponseType::Accept, ResponseType::Reject, ResponseType::Accept].map(Some)
    );
    assert_eq!(oms.later_answers(), [Answer::Fill { order_id: 2, last_qty: 300, last_px: 99.75 }]);
    assert_eq!(oms.count(|e| matches!(e, Ev::Execution(_))), 0, "{:?}", oms.events);
    // The rejected and the filled orders are no longer followed; the accepted one is.
    assert_eq!((oms.fix.tracked(), oms.fix.awaiting()), (1, 0));
    assert!(
        oms.events.contains(&Ev::OrderRejected(
            3,
            RejectSource::BusinessReject,
            2,
            "unknown security BMR".into()
        )),
        "{:?}",
        oms.events
    );
}

#[test]
fn heartbeats_and_test_requests_both_ways() {
    let dir = tempdir();
    let port = free_port();
    let mut acc = Acceptor::start(port, &dir.path().join("acceptor"), &[]);
    let mut oms = Oms::new(&settings(port, &dir.path().join("oms"), 1), PASSWORD);
    oms.logon();
    oms.pump_until("logged on", WAIT, |o| o.fix.logged_on());
    // A quiet spell: heartbeats every second both ways, nobody disconnects.
    oms.pump_for(Duration::from_millis(3500));
    assert!(acc.lines_starting("IN 0").len() >= 2, "our heartbeats:\n{}", acc.dump());
    assert!(acc.lines_starting("OUT 0").len() >= 2, "theirs:\n{}", acc.dump());
    assert_eq!(oms.logged_on_count(), 1, "{:?}", oms.events);
    assert!(!oms.events.iter().any(|e| matches!(e, Ev::Disconnected(..))), "{:?}", oms.events);
    // Their TestRequest: answered with its TestReqID.
    acc.command("testrequest");
    let answered = |l: &str| l.starts_with("IN 0") && l.contains("|112=ACCEPTOR-");
    acc.expect_pumping(&mut oms, answered, "our Heartbeat with 112", WAIT);
    // The acceptor goes silent: our TestRequest, then the disconnect after 2.4 intervals.
    acc.signal("-STOP");
    oms.pump_until("silent counterparty detected", WAIT, |o| {
        o.events.iter().any(|e| matches!(e, Ev::Disconnected(oms::exchange::DisconnectCause::SilentPeer, _)))
    });
    acc.signal("-CONT");
    acc.expect_pumping(&mut oms, |l| l.starts_with("IN 1") && l.contains("|112="), "our TestRequest", WAIT);
    oms.pump_until("logged on again", WAIT, |o| o.logged_on_count() == 2);
}

#[test]
fn an_inbound_gap_is_recovered_by_our_resend_request() {
    let dir = tempdir();
    let port = free_port();
    let mut acc = Acceptor::start(port, &dir.path().join("acceptor"), &[]);
    let mut oms = Oms::new(&settings(port, &dir.path().join("oms"), 30), PASSWORD);
    oms.logon();
    oms.pump_until("logged on", WAIT, |o| o.fix.logged_on());
    acc.command("gap");
    let skipped: u64 = acc.expect("GAP", WAIT)[4..].parse().expect("GAP n");
    oms.send(1, 1, 10, 5.0).expect("logged on: the session takes the order");
    oms.poll();
    oms.pump_until("the gap asked for and filled", WAIT, |o| {
        o.events.iter().any(|e| matches!(e, Ev::SequenceReset(_))) && o.responses.len() == 1
    });
    assert!(oms.events.contains(&Ev::ResendRequested(skipped, 0)), "{:?}", oms.events);
    let resend = format!("|7={skipped}|");
    acc.expect_pumping(&mut oms, |l| l.starts_with("IN 2") && l.contains(&resend), "our ResendRequest", WAIT);
    // The execution report past the gap was dropped, then came again (PossDup) and answered.
    assert_eq!(oms.answered(1).map(|r| r.response_type), Some(ResponseType::Accept));
    assert_eq!(oms.responses.len(), 1, "answered once");
    oms.send(2, 1, 10, 5.0).expect("logged on: the session takes the order");
    oms.poll();
    oms.pump_until("in sequence again", WAIT, |o| o.responses.len() == 2);
    assert_eq!(oms.count(|e| matches!(e, Ev::ResendRequested(..))), 1, "{:?}", oms.events);
}

#[test]
fn the_acceptors_resend_request_is_answered_with_a_gap_fill() {
    let dir = tempdir();
    let port = free_port();
    let mut acc = Acceptor::start(port, &dir.path().join("acceptor"), &[]);
    let mut oms = Oms::new(&settings(port, &dir.path().join("oms"), 30), PASSWORD);
    oms.logon();
    oms.pump_until("logged on", WAIT, |o| o.fix.logged_on());
    for id in 1..=3 {
        oms.send(id, 1, 10, 5.0).expect("logged on: the session takes the order");
    }
    oms.poll();
    oms.pump_until("3 answers", WAIT, |o| o.responses.len() == 3);
    acc.command("resend 2");
    oms.pump_until("gap filled", WAIT, |o| o.events.iter().any(|e| matches!(e, Ev::GapFilled(..))));
    let (next_out, _) = oms.fix.seq();
    assert!(oms.events.contains(&Ev::GapFilled(2, next_out)), "{:?}", oms.events);
    // QuickFIX had all of 2..=4 already: it takes the gap fill (MsgSeqNum 2, PossDup) as a
    // duplicate, silently; its message log shows it arrived.
    acc.expect_pumping(&mut oms, |l| l.starts_with("ORDER 3 "), "order 3", WAIT);
    oms.pump_for(Duration::from_millis(300));
    let log = acc.message_log();
    let line = log
        .lines()
        .find(|l| l.contains("|35=4|") && l.contains("|34=2|"))
        .unwrap_or_else(|| panic!("no gap fill in:\n{log}"));
    assert!(
        line.contains("|43=Y|") && line.contains("|123=Y|") && line.contains(&format!("|36={next_out}|")),
        "{line}"
    );
    assert_eq!(acc.lines_starting("ORDER").len(), 3, "no order re-sent:\n{}", acc.dump());
    // Answered orders are not touched by the gap fill; the session goes on.
    assert_eq!(oms.count(|e| matches!(e, Ev::OrderRejected(..))), 0);
    oms.send(4, 1, 10, 5.0).expect("logged on: the session takes the order");
    oms.poll();
    oms.pump_until("answered after the gap fill", WAIT, |o| o.responses.len() == 4);
}

#[test]
fn a_refused_connection_is_reported_and_retried_with_backoff() {
    let dir = tempdir();
    let port = free_port(); // nothing listens there
    let mut oms = Oms::new(&settings(port, &dir.path().join("oms"), 30), PASSWORD);
    oms.logon();
    oms.pump_until("two failed connects", WAIT, |o| {
        o.count(|e| matches!(e, Ev::Disconnected(oms::exchange::DisconnectCause::ConnectFailed, _))) >= 2
    });
    assert_eq!(oms.logged_on_count(), 0);
    assert!(!oms.fix.ready());
}

/// Cancels and replaces of a working order over QuickFIX: each request carries a new ClOrdID of
/// the order's chain (`<id>.<n>`) and OrigClOrdID its live one (the New's until a replace is
/// carried out, then that replace's); each answer comes back as what it says. The acceptor
/// turns down a replace to at or below what is filled, and a cancel that comes after the
/// order filled (too late). An order the session does not follow gets no request at all.
#[test]
fn cancels_and_replaces_of_working_orders_follow_the_cl_ord_id_chain() {
    let dir = tempdir();
    let port = free_port();
    let mut acc = Acceptor::start(port, &dir.path().join("acceptor"), &[]);
    let mut oms = Oms::new(&settings(port, &dir.path().join("oms"), 30), PASSWORD);
    oms.logon();
    oms.pump_until("logged on", WAIT, |o| o.fix.logged_on());
    oms.send(1, 1, 100, 10.0).expect("logged on");
    oms.send(2, 1, 40, 20.0).expect("logged on");
    oms.poll();
    oms.pump_until("accepted", WAIT, |o| o.responses.len() == 2);

    oms.replace(1, 1, 80, 10.5).expect("a working order: the replace goes out");
    oms.poll();
    oms.pump_until("replaced", WAIT, |o| o.later_answers().len() == 1);
    assert_eq!(acc.expect("REPLACE", WAIT), "REPLACE 1.1 1 80 10.5 replaced");
    acc.command("fill 1 30");
    oms.pump_until("filled in part", WAIT, |o| o.later_answers().len() == 2);
    // A replace to the filled quantity: refused by the acceptor (the engine would not send it).
    oms.replace(1, 1, 30, 10.5).expect("sent");
    oms.poll();
    oms.pump_until("replace refused", WAIT, |o| o.later_answers().len() == 3);
    assert_eq!(acc.expect("REPLACE", WAIT), "REPLACE 1.2 1.1 rejected");
    oms.cancel(1, 1, 80, 10.5).expect("sent");
    oms.poll();
    oms.pump_until("cancelled", WAIT, |o| o.later_answers().len() == 4);
    assert_eq!(acc.expect("CANCEL", WAIT), "CANCEL 1.3 1.1 canceled");
    assert_eq!(
        oms.later_answers(),
        [
            Answer::Replaced { order_id: 1 },
            Answer::Fill { order_id: 1, last_qty: 30, last_px: 10.5 },
            Answer::CancelRejected { order_id: 1, code: 99 },
            Answer::Cancelled { order_id: 1 },
        ]
    );
    // Cancelled: the session no longer follows it, and sends nothing more for it.
    assert_eq!(oms.fix.chain(1), None);
    assert_eq!(oms.cancel(1, 1, 50, 10.5), Err(oms::exchange::NotSent));

    // A cancel that loses the race: order 2 fills in full at the acceptor before the cancel
    // gets there (we send it before reading the fill).
    acc.command("fill 2 40");
    acc.expect("FILL 2 40", WAIT);
    oms.cancel(2, 1, 40, 20.0).expect("the fill is not read yet: the order is followed");
    oms.poll();
    oms.pump_until("the fill and the refusal", WAIT, |o| o.later_answers().len() == 6);
    assert_eq!(acc.expect("CANCEL", WAIT), "CANCEL 2.1 2 rejected");
    assert_eq!(
        oms.later_answers()[4..],
        [
            Answer::Fill { order_id: 2, last_qty: 40, last_px: 20.0 },
            Answer::CancelRejected { order_id: 2, code: 0 }
        ]
    );
    let log = acc.message_log();
    for (msg, fields) in [
        ("G", ["|11=1.1|", "|41=1|", "|38=80|", "|44=10.5|"]),
        ("G", ["|11=1.2|", "|41=1.1|", "|38=30|", "|40=2|"]),
        ("F", ["|11=1.3|", "|41=1.1|", "|38=80|", "|54=1|"]),
        ("F", ["|11=2.1|", "|41=2|", "|55=ACME|", "|60="]),
    ] {
        let tag = format!("|35={msg}|");
        assert!(
            log.lines().any(|l| l.contains(&tag) && fields.iter().all(|f| l.contains(f))),
            "no {msg} with {fields:?} in:\n{log}"
        );
    }
    assert!(acc.lines_starting("ERROR").is_empty(), "{}", acc.dump());
    assert_eq!((oms.fix.stats().cancels_sent, oms.fix.stats().replaces_sent), (2, 2));
}

/// Our side restarted while orders are working: a session that is handed each order's place in
/// its chain (as the engine's recovery does from the journal) goes on with the next ClOrdID and
/// the live OrigClOrdID, which the acceptor takes; one that is not sends nothing rather than
/// guess; one handed too low a count repeats a ClOrdID, and the acceptor turns it down as a
/// duplicate.
#[test]
fn after_a_restart_the_chain_goes_on_from_what_it_is_handed() {
    let dir = tempdir();
    let port = free_port();
    let store = dir.path().join("oms");
    let mut acc = Acceptor::start(port, &dir.path().join("acceptor"), &[]);
    let mut oms = Oms::new(&settings(port, &store, 30), PASSWORD);
    oms.logon();
    oms.pump_until("logged on", WAIT, |o| o.fix.logged_on());
    for id in [1, 2] {
        oms.send(id, 1, 100, 10.0).expect("logged on");
    }
    oms.poll();
    oms.pump_until("accepted", WAIT, |o| o.responses.len() == 2);
    oms.replace(1, 1, 90, 10.0).expect("sent");
    oms.replace(2, 1, 90, 10.0).expect("sent");
    oms.poll();
    oms.pump_until("replaced", WAIT, |o| o.later_answers().len() == 2);
    drop(oms);
    acc.expect("LOGOUT", WAIT);

    let mut oms = Oms::new(&settings(port, &store, 30), PASSWORD);
    let restored = |id, requests_sent, live_request| oms::exchange::RestoredOrder {
        order: oms::OrderRequest::new(id, 1, oms::Side::Buy, 10.0, 90),
        state: oms::model::OrderState::Working,
        requests_sent,
        live_request,
    };
    oms.fix.restore(&restored(1, 1, 1));
    oms.fix.restore(&restored(2, 0, 0)); // too low: the journal would say 1, 1
    oms.logon();
    oms.pump_until("logged on", WAIT, |o| o.fix.logged_on());
    assert_eq!(oms.cancel(3, 1, 90, 10.0), Err(oms::exchange::NotSent), "never sent: no chain");
    oms.cancel(1, 1, 90, 10.0).expect("restored");
    oms.cancel(2, 1, 90, 10.0).expect("restored");
    oms.poll();
    oms.pump_until("two answers", WAIT, |o| o.later_answers().len() == 2);
    assert_eq!(
        oms.later_answers(),
        [Answer::Cancelled { order_id: 1 }, Answer::CancelRejected { order_id: 2, code: 6 }]
    );
    assert_eq!(acc.expect("CANCEL", WAIT), "CANCEL 1.2 1.1 canceled");
    assert_eq!(acc.expect("CANCEL", WAIT), "CANCEL 2.1 2 rejected");
    assert!(acc.message_log().contains("|58=duplicate ClOrdID|"), "{}", acc.message_log());
}
