//! `Outcomes` runs every record through the order state machine: each outcome carries where its
//! order stands after it (state, filled quantity, average price, the pending replacement), and
//! an order's life ends exactly once, in the state its records lead to.

mod journal_common;

use std::collections::HashMap;

use journal_common::*;
use oms::journal::{JournalWriter, OutcomeKind, OutcomePoll, Outcomes, SyncPolicy, WriterOptions};
use oms::model::OrderState;
use oms::{Event, EventRecord, EventSink, OrderRequest, Side};

/// Writes `records` to a fresh journal and returns what producer `p` follows from it.
fn follow(records: &[EventRecord], p: u16) -> Vec<oms::journal::Outcome> {
    let dir = tempfile::tempdir().expect("tempdir");
    let base = dir.path().join("oms.journal");
    let c = config(&base, 4 << 20, SyncPolicy::None);
    let mut w =
        JournalWriter::create_with(&journal(&c), &meta(&c), WriterOptions::default()).expect("create");
    for r in records {
        w.record(r);
    }
    w.close().expect("close");
    let mut outcomes = Outcomes::follow(&base, p).expect("follow");
    let mut seen = Vec::new();
    loop {
        match outcomes.poll().expect("sound journal") {
            OutcomePoll::Outcome(o) => seen.push(o),
            OutcomePoll::Pending => panic!("a closed journal has nothing pending"),
            OutcomePoll::Closed => return seen,
        }
    }
}

#[test]
fn each_outcome_carries_its_orders_life() {
    const ORDERS: u64 = 300;
    let records = life_stream(ORDERS, 25);
    for p in 0..3u16 {
        let seen = follow(&records, p);
        let mut by_order: HashMap<u64, Vec<&oms::journal::Outcome>> = HashMap::new();
        for o in &seen {
            by_order.entry(o.order.order_id).or_default().push(o);
        }
        let mine: Vec<u64> = (0..ORDERS).filter(|k| k % 3 == u64::from(p)).collect();
        assert_eq!(by_order.len(), mine.len(), "producer {p}: each of its orders");
        for k in mine {
            let lives = &by_order[&(5000 + k)];
            let states: Vec<&str> =
                lives.iter().map(|o| o.life.expect("a life for every order record").state().name()).collect();
            let finals = lives.iter().filter(|o| o.is_final()).count();
            assert_eq!(finals, 1, "order {k}: one end, got {states:?}");
            assert!(lives.last().expect("records").is_final(), "order {k}: its last record ends it");
            assert_eq!(states.last(), Some(&LIFE_ENDS[(k % 5) as usize]), "order {k}: {states:?}");
            let last = lives.last().expect("records").life.expect("life");
            let expected: &[&str] = match k % 5 {
                0 => &["queued", "sent", "working", "partially_filled", "filled"],
                1 => &[
                    "sent",
                    "working",
                    "partially_filled",
                    "pending_replace",
                    "pending_replace", // a fill of the old version while the replace is pending
                    "partially_filled",
                    "pending_cancel",
                    "cancelled",
                ],
                2 => &["queued", "queued", "cancelled"],
                3 => &["sent", "rejected"],
                _ => &["rejected"],
            };
            assert_eq!(states, expected, "order {k}");
            match k % 5 {
                0 => {
                    assert_eq!((last.cum_qty(), last.qty(), last.leaves()), (10, 10, 0));
                    let px = 100.0 + (k % 9) as f64 * 0.5;
                    assert_eq!(last.avg_price(), Some(px), "order {k}: filled at its price");
                }
                1 => {
                    let pending = lives[4].life.expect("life");
                    assert_eq!(pending.cum_qty(), 5, "the old version's fill counts");
                    assert_eq!(pending.replacement().map(|r| r.1), Some(12));
                    assert_eq!(
                        pending.qty(),
                        10,
                        "the old version is live until the replace is acknowledged"
                    );
                    assert_eq!((last.qty(), last.cum_qty()), (12, 5), "cancelled after the replace");
                    assert!(matches!(lives[7].kind, OutcomeKind::VenueCancelled { solicited: true, .. }));
                }
                2 => assert_eq!(lives[1].life.expect("life").qty(), 7, "the modify applied in the queue"),
                _ => {}
            }
        }
    }
}

/// A Cancel one producer sends for another's order moves that order's life for its owner too:
/// the follower folds every producer's records, not only the ones it returns.
#[test]
fn a_cancel_from_another_producer_moves_the_owners_view() {
    let o = OrderRequest::new(7, 1, Side::Sell, 50.0, 5);
    let at = |seq: u64, p: u16, e: Event| {
        let mut r = EventRecord::new(T0 + seq as i64, e).from_producer(p);
        r.seq = seq;
        r
    };
    let records = [
        at(1, 0, Event::Sent { order: o, in_oms_ns: 1 }),
        at(2, 0, Event::Response { order: o, response: oms::ResponseType::Accept, round_trip_ns: 9 }),
        at(3, 2, Event::CancelSent { order: o, in_oms_ns: 1 }),
        at(4, 0, Event::VenueCancelled { order: o, solicited: true, round_trip_ns: 9 }),
    ];
    let owner = follow(&records, 0);
    let states: Vec<OrderState> = owner.iter().map(|o| o.life.expect("life").state()).collect();
    assert_eq!(states, [OrderState::Sent, OrderState::Working, OrderState::Cancelled]);
    let canceller = follow(&records, 2);
    assert_eq!(canceller.len(), 1);
    assert_eq!(canceller[0].life.map(|l| l.state()), Some(OrderState::PendingCancel));
    assert!(!canceller[0].is_final() && owner[2].is_final());
}
