//! Our FIX session across failures, against QuickFIX: the acceptor killed and restarted inside
//! the session, our side restarted in the same session (sequence numbers from the store), and our
//! numbers ahead of what the acceptor saw (its ResendRequest, our gap fill). Each Logon that
//! continues our numbers is followed by a TestRequest, and the session takes orders once its
//! Heartbeat is back (the gap fill, if any, before it).

mod fix_common;

use fix_common::*;
use oms::ResponseType;
use oms::exchange::RejectSource;

/// The MsgSeqNum of each ORDER line the acceptor printed, in order, once it printed the one for
/// order `last` (its output is read on another thread: it may lag our side's answers).
fn order_seqs(acc: &mut Acceptor, oms: &mut Oms, last: u64) -> Vec<u64> {
    let prefix = format!("ORDER {last} ");
    acc.expect_pumping(oms, |l| l.starts_with(&prefix), &prefix, WAIT);
    acc.lines_starting("ORDER ").iter().map(|l| l.rsplit(' ').next().unwrap().parse().unwrap()).collect()
}

#[test]
fn the_acceptor_killed_and_restarted_inside_the_session() {
    let dir = tempdir();
    let port = free_port();
    let mut acc = Acceptor::start(port, &dir.path().join("acceptor"), &[]);
    let mut oms = Oms::new(&settings(port, &dir.path().join("oms"), 30), PASSWORD);
    oms.logon();
    oms.pump_until("logged on", WAIT, |o| o.fix.logged_on());
    for id in 1..=10 {
        oms.send(id, 1, 10, 5.0).expect("logged on: the session takes the order");
    }
    oms.poll();
    oms.pump_until("10 answers", WAIT, |o| o.responses.len() == 10);
    let (out_before, in_before) = oms.fix.seq();
    assert_eq!((out_before, in_before), (12, 12));

    acc.kill();
    // An order sent before we notice: it never reaches the dead acceptor.
    oms.send(11, 1, 10, 5.0).expect("logged on: the session takes the order");
    oms.pump_until("the loss noticed", WAIT, |o| o.count(|e| matches!(e, Ev::Disconnected(..))) >= 1);
    acc.restart();
    oms.pump_until("logged on again", WAIT, |o| o.logged_on_count() == 2);
    // The numbers continue: our Logon is 13 (order 11 took 12), the acceptor's is 12. The
    // acceptor never had 12 and asks for it (its 13) from our Logon on: a gap fill over our
    // TestRequest (14) too, so a second TestRequest (15), answered by its Heartbeat (14). Only
    // then is the session logged on in the events.
    assert_eq!(
        oms.events.iter().filter(|e| matches!(e, Ev::LoggedOn(..))).nth(1),
        Some(&Ev::LoggedOn(16, 15)),
        "{:?}",
        oms.events
    );
    // Order 11 answered `reject` by the gap fill, before the session was in sync.
    assert_eq!(oms.answered(11).map(|r| r.response_type), Some(ResponseType::Reject));
    // QuickFIX counts an inbound message after its callback: killed between its answer to order
    // 10 (MsgSeqNum 11) and that count, it asks from 11. Order 10 keeps its one answer either way.
    assert!(
        oms.events.contains(&Ev::GapFilled(12, 15)) || oms.events.contains(&Ev::GapFilled(11, 15)),
        "{:?}",
        oms.events
    );
    assert_eq!(oms.responses.iter().filter(|r| r.0.order_id == 10).count(), 1);
    assert!(oms.events.iter().any(|e| matches!(e, Ev::OrderRejected(11, RejectSource::GapFilled, ..))));
    // Orders after the reconnect go out in order and are answered.
    for id in 12..=20 {
        oms.send(id, 1, 10, 5.0).expect("logged on: the session takes the order");
    }
    oms.poll();
    oms.pump_until("20 answers", WAIT, |o| o.responses.len() == 20);
    assert!(oms.responses[11..].iter().all(|r| r.0.response_type == ResponseType::Accept));
    let seqs = order_seqs(&mut acc, &mut oms, 20);
    assert_eq!(seqs, (2..=11).chain(16..=24).collect::<Vec<_>>(), "{}", acc.dump());
    let ids: Vec<u64> =
        acc.lines_starting("ORDER ").iter().map(|l| l.split(' ').nth(1).unwrap().parse().unwrap()).collect();
    assert_eq!(ids, (1..=10).chain(12..=20).collect::<Vec<_>>());
}

#[test]
fn our_restart_in_the_same_session_continues_from_the_store() {
    let dir = tempdir();
    let port = free_port();
    let store = dir.path().join("oms");
    let mut acc = Acceptor::start(port, &dir.path().join("acceptor"), &[]);
    let mut oms = Oms::new(&settings(port, &store, 30), PASSWORD);
    oms.logon();
    oms.pump_until("logged on", WAIT, |o| o.fix.logged_on());
    for id in 1..=5 {
        oms.send(id, 1, 10, 5.0).expect("logged on: the session takes the order");
    }
    oms.poll();
    oms.pump_until("5 answers", WAIT, |o| o.responses.len() == 5);
    assert_eq!(oms.fix.seq(), (7, 7));
    // A crash: no Logout, the process state gone.
    drop(oms);
    acc.expect("LOGOUT", WAIT);

    let mut oms = Oms::new(&settings(port, &store, 30), PASSWORD);
    assert_eq!(oms.fix.seq(), (7, 7), "read back from the store");
    oms.logon();
    oms.pump_until("logged on", WAIT, |o| o.fix.logged_on());
    // Our Logon 7 and TestRequest 8, the acceptor's Logon 7 and Heartbeat 8.
    assert_eq!(oms.events[0], Ev::LoggedOn(9, 9), "{:?}", oms.events);
    acc.expect_pumping(
        &mut oms,
        |l| l.starts_with("IN A") && l.contains("|34=7|"),
        "our Logon with 34=7",
        WAIT,
    );
    oms.send(6, 1, 10, 5.0).expect("logged on: the session takes the order");
    oms.poll();
    oms.pump_until("answered", WAIT, |o| o.responses.len() == 1);
    assert_eq!(order_seqs(&mut acc, &mut oms, 6), [2, 3, 4, 5, 6, 9]);
    assert!(oms.count(|e| matches!(e, Ev::ResendRequested(..) | Ev::GapFilled(..))) == 0, "{:?}", oms.events);
    assert!(!acc.dump().contains("OUT 2"), "the acceptor saw no gap:\n{}", acc.dump());
}

#[test]
fn our_numbers_ahead_of_the_acceptor_are_gap_filled_on_its_resend_request() {
    let dir = tempdir();
    let port = free_port();
    let store = dir.path().join("oms");
    let mut acc = Acceptor::start(port, &dir.path().join("acceptor"), &[]);
    let mut oms = Oms::new(&settings(port, &store, 30), PASSWORD);
    oms.logon();
    oms.pump_until("logged on", WAIT, |o| o.fix.logged_on());
    oms.logout();
    oms.pump_until("logged out", WAIT, |o| o.count(|e| matches!(e, Ev::LoggedOut(_))) == 1);
    assert_eq!(oms.fix.seq(), (3, 3));
    drop(oms);
    // Our store moves 5 ahead (messages the acceptor never got): QuickFIX's layout, by hand.
    std::fs::write(store.join("FIX.4.4-OMS-EXCH.seqnums"), "0000000008 : 0000000003").unwrap();

    let mut oms = Oms::new(&settings(port, &store, 30), PASSWORD);
    oms.logon();
    oms.pump_until("gap filled", WAIT, |o| o.count(|e| matches!(e, Ev::GapFilled(..))) == 1);
    // Our Logon 8 and TestRequest 9 filled over; the TestRequest again (10) after the fill.
    assert!(oms.events.contains(&Ev::GapFilled(3, 10)), "{:?}", oms.events);
    acc.expect_pumping(
        &mut oms,
        |l| l.starts_with("OUT 2") && l.contains("|7=3|"),
        "the acceptor's ResendRequest",
        WAIT,
    );
    acc.expect_pumping(&mut oms, |l| l.starts_with("IN 4") && l.contains("|36=10|"), "our gap fill", WAIT);
    oms.pump_until("in sync", WAIT, |o| o.fix.logged_on());
    oms.send(1, 1, 10, 5.0).expect("logged on: the session takes the order");
    oms.poll();
    oms.pump_until("answered", WAIT, |o| o.responses.len() == 1);
    assert_eq!(order_seqs(&mut acc, &mut oms, 1), [11]);
}

#[test]
fn a_store_from_an_earlier_window_starts_a_new_session_on_both_sides() {
    let dir = tempdir();
    let port = free_port();
    let store = dir.path().join("oms");
    let mut acc = Acceptor::start(port, &dir.path().join("acceptor"), &[]);
    let mut oms = Oms::new(&settings(port, &store, 30), PASSWORD);
    oms.logon();
    oms.pump_until("logged on", WAIT, |o| o.fix.logged_on());
    for id in 1..=3 {
        oms.send(id, 1, 10, 5.0).expect("logged on: the session takes the order");
    }
    oms.poll();
    oms.pump_until("3 answers", WAIT, |o| o.responses.len() == 3);
    drop(oms);
    acc.expect("LOGOUT", WAIT);
    // The store says it was created two days ago: before this window's start.
    std::fs::write(store.join("FIX.4.4-OMS-EXCH.session"), "20000101-00:00:00").unwrap();
    let mut oms = Oms::new(&settings(port, &store, 30), PASSWORD);
    oms.logon();
    oms.pump_until("logged on", WAIT, |o| o.fix.logged_on());
    assert_eq!(oms.events[0], Ev::LoggedOn(2, 2), "{:?}", oms.events);
    acc.expect_pumping(
        &mut oms,
        |l| l.starts_with("IN A") && l.contains("|34=1|") && l.contains("|141=Y|"),
        "a reset Logon",
        WAIT,
    );
    oms.send(4, 1, 10, 5.0).expect("logged on: the session takes the order");
    oms.poll();
    oms.pump_until("answered", WAIT, |o| o.responses.len() == 1);
    assert_eq!(order_seqs(&mut acc, &mut oms, 4), [2, 3, 4, 2]);
}
