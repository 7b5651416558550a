//! The audit's `ownership` rule on hand-written journals of clients attaching and detaching: a
//! correct one passes (a number's next client inherits the orders of one that detached under
//! `keep`; the cancel policy's cancels of a detached client's orders are its own), and a
//! journal tampered so that a Modify or Cancel is applied for a producer that does not own the
//! order (another producer, or a later client of the same number) fails it, naming the record.

use std::num::NonZeroU32;

use jiff::civil::time;
use oms::audit::{AuditOptions, AuditReport, Rule, audit};
use oms::model::DetachCause;
use oms::throttle::{ThrottleMode, ThrottleSettings};
use oms::{DaySet, Event, EventRecord, OrderRequest, Side, TradingWindow};

/// 2026-11-23T10:00:00Z: the window opens.
const OPEN: i64 = 1_795_428_000_000_000_000;
const MS: i64 = 1_000_000;
const ENGINE: u16 = u16::MAX;

fn order(id: u64) -> OrderRequest {
    OrderRequest::new(id, 7, Side::Buy, 10.0, 5)
}

/// Records (ms after the window opens, producer, event), numbered, audited under a window of
/// 10:00:00 to 10:00:10 UTC, 100/s.
fn audited(records: &[(i64, u16, Event)]) -> AuditReport {
    let rs: Vec<EventRecord> = records
        .iter()
        .enumerate()
        .map(|(i, &(ms, p, e))| EventRecord {
            seq: i as u64 + 1,
            ..EventRecord::new(OPEN + ms * MS, e).from_producer(p)
        })
        .collect();
    let window =
        TradingWindow::new(jiff::tz::TimeZone::UTC, time(10, 0, 0, 0), time(10, 0, 10, 0), DaySet::ALL);
    let nz = |v| NonZeroU32::new(v).expect("non-zero");
    let throttle = ThrottleSettings { mode: ThrottleMode::SlidingWindow, rate: nz(100), burst: nz(100) };
    audit(&rs, &window, &throttle, AuditOptions::LIVE)
}

fn attached(pid: u32) -> Event {
    Event::ClientAttached { pid }
}

fn detached(pid: u32, cancel: bool) -> Event {
    Event::ClientDetached { pid, cause: DetachCause::Closed, cancel }
}

fn queued(id: u64) -> Event {
    Event::Queued { order: order(id) }
}

fn modified(id: u64) -> Event {
    Event::Modified { order: OrderRequest { qty: 7, ..order(id) } }
}

fn cancelled(id: u64) -> Event {
    Event::Cancelled { order: order(id) }
}

/// Clients 1 and 2 each queue an order and modify or cancel their own; client 1 detaches under
/// `keep` (record 8) and its next client modifies the inherited order 1; that client queues
/// order 3 and detaches under `cancel` (record 12): the engine cancels orders 1 and 3 for
/// producer 1 — after a third client of number 1 attached for order 1 (records 14, 15), as the
/// cancel of an order awaiting an answer may come. The in-process producer 0 modifies its own
/// order and a client's (the engine lets the program's own producers touch any order).
fn good() -> Vec<(i64, u16, Event)> {
    vec![
        (0, ENGINE, Event::Logon),
        (0, 1, attached(100)),
        (0, 2, attached(200)),
        (1, 1, queued(1)),
        (1, 2, queued(2)),
        (2, 1, modified(1)),
        (3, 2, cancelled(2)),
        (4, 1, detached(100, false)),
        (5, 1, attached(300)),
        (6, 1, modified(1)),
        (7, 1, queued(3)),
        (8, 1, detached(300, true)),
        (8, 1, cancelled(3)),
        (9, 1, attached(400)),
        (9, 1, cancelled(1)),
        (9, 0, queued(4)),
        (9, 2, queued(5)),
        (10, 0, modified(4)),
        (11, 0, cancelled(4)),
        (11, 0, modified(5)), // an in-process producer may touch any order
        (12, 2, cancelled(5)),
        (10_000, ENGINE, Event::Logout),
    ]
}

#[test]
fn clients_touching_their_own_orders_and_inherited_ones_pass() {
    let r = audited(&good());
    assert!(r.is_clean() && r.complete, "{r}");
    assert_eq!(r.rule(Rule::Ownership).checked, 6, "the clients' modifies and cancels: {r}");
}

/// Exactly `ownership` is broken, first at record `seq` about `order`, saying `words`.
#[track_caller]
fn broken(records: &[(i64, u16, Event)], seq: u64, order: u64, words: &str) {
    let r = audited(records);
    assert_eq!(r.broken(), [Rule::Ownership], "{r}");
    let v = r.rule(Rule::Ownership).first.as_ref().expect("a violation");
    assert_eq!((v.seq, v.order_id), (seq, Some(order)), "{r}");
    assert!(v.message.contains(words), "{:?} does not say {words:?}", v.message);
}

#[test]
fn a_modify_or_cancel_applied_for_another_producer_breaks_the_ownership_rule() {
    let mut j = good();
    j[5].1 = 2; // client 2 modifies client 1's order
    broken(&j, 6, 1, "modified applied for producer 2 of order 1, which is producer 1's");
    let mut j = good();
    j[6].1 = 1; // client 1 cancels client 2's order
    broken(&j, 7, 2, "producer 2's");
    let mut j = good();
    j[17].1 = 2; // a client modifies an in-process producer's order
    broken(&j, 18, 4, "producer 0's");
}

#[test]
fn a_later_client_of_the_number_is_a_new_owner_unless_handed_the_orders() {
    // Client 1 detached under `cancel`, not `keep`: its next client does not own order 1.
    let mut j = good();
    j[7].2 = detached(100, true);
    broken(&j, 10, 1, "an earlier client of producer 1");
    // The third client of number 1 modifies order 3 of the second (left under `cancel`): only
    // the engine's cancel of it is the second's.
    let mut j = good();
    j[12] = (9, 1, Event::Modified { order: OrderRequest { qty: 7, ..order(3) } });
    j.swap(12, 13); // attached, then the modify
    j.insert(14, (9, 1, cancelled(3)));
    broken(&j, 14, 3, "an earlier client of producer 1");
}
