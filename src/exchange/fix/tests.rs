//! How session outputs become answers and events: first answers, fills, cancels and replaces
//! carried out or refused, expiries, the ClOrdID chain both ways, rejects tied to the order (or
//! request) they name, gap fills over unanswered orders and pending requests.

use super::*;
use crate::exchange::fix::encode::MessageWriter;
use crate::exchange::tap::{ResponseTap, response_tap};

struct H {
    orders: OrderTable,
    responder: Responder,
    tap: ResponseTap,
    deferred: Vec<Answer>,
    stats: FixStats,
    events: Vec<String>,
}

impl H {
    fn new(ring: usize) -> H {
        let (clock, _) = EngineClock::manual(0);
        let (responder, tap) = response_tap(ring, &clock);
        H {
            orders: OrderTable::with_capacity(16),
            responder,
            tap,
            deferred: Vec::with_capacity(16),
            stats: FixStats::default(),
            events: Vec::new(),
        }
    }

    fn out(&mut self, o: Output<'_>) {
        let events = &mut self.events;
        let mut record = |e: ExchangeEvent<'_>| events.push(format!("{e:?}"));
        let mut h = Handler {
            orders: &mut self.orders,
            responder: &mut self.responder,
            deferred: &mut self.deferred,
            stats: &mut self.stats,
            events: &mut record,
        };
        h.on_output(o);
    }

    fn app(&mut self, msg_type: &[u8], fields: &[(u32, &str)]) {
        let mut buf = Vec::with_capacity(512);
        let mut w = MessageWriter::begin(&mut buf, msg_type);
        w.uint(34, 9);
        for (t, v) in fields {
            w.str(*t, v.as_bytes());
        }
        w.finish().unwrap();
        let (m, _) = decode(&buf, 4096).unwrap().unwrap();
        self.out(Output::App(m));
    }

    fn answers(&mut self) -> Vec<Answer> {
        std::iter::from_fn(|| self.tap.pop()).map(|(a, _)| a).collect()
    }

    fn responses(&mut self) -> Vec<(u64, ResponseType)> {
        self.answers()
            .into_iter()
            .filter_map(|a| match a {
                Answer::Response(r) => Some((r.order_id, r.response_type)),
                _ => None,
            })
            .collect()
    }
}

fn accept(order_id: u64) -> Answer {
    Answer::Response(OrderResponse { order_id, response_type: ResponseType::Accept })
}

fn reject(order_id: u64) -> Answer {
    Answer::Response(OrderResponse { order_id, response_type: ResponseType::Reject })
}

#[test]
fn the_first_report_answers_and_later_ones_are_answers_or_events() {
    let mut h = H::new(16);
    for (id, seq) in [(1, 2), (2, 3), (3, 4)] {
        assert!(h.orders.sent(id, seq));
    }
    h.app(b"8", &[(11, "1"), (150, "0"), (39, "0")]);
    h.app(b"8", &[(11, "1"), (150, "F"), (39, "1"), (32, "10"), (31, "99.5"), (151, "5")]);
    h.app(b"8", &[(11, "2"), (150, "8"), (39, "8"), (58, "too big")]);
    // Pending New is not an answer; the New after it is.
    h.app(b"8", &[(11, "3"), (150, "A"), (39, "A")]);
    assert!(h.orders.awaits(3));
    h.app(b"8", &[(11, "3"), (150, "0"), (39, "0")]);
    // A first report that is already a fill answers `accept`, then the fill.
    assert!(h.orders.sent(4, 5));
    h.app(b"8", &[(11, "4"), (150, "F"), (39, "2"), (32, "5"), (31, "7"), (151, "0")]);
    assert_eq!(
        h.answers(),
        [
            accept(1),
            Answer::Fill { order_id: 1, last_qty: 10, last_px: 99.5 },
            reject(2),
            accept(3),
            accept(4),
            Answer::Fill { order_id: 4, last_qty: 5, last_px: 7.0 }
        ]
    );
    assert_eq!(h.events.len(), 1);
    assert!(h.events[0].contains("order_id: 3, exec_type: 65"), "{:?}", h.events);
    // The rejected and the filled orders left the table; 1 and 3 are working.
    assert_eq!((h.orders.len(), h.orders.awaiting()), (2, 0));
    assert!(h.orders.chain(2).is_none() && h.orders.chain(4).is_none());
}

#[test]
fn each_exec_type_becomes_its_answer_and_pending_states_stay_events() {
    let mut h = H::new(64);
    for id in 1..=6 {
        h.orders.sent(id, id + 1);
        h.app(b"8", &[(11, &id.to_string()), (150, "0"), (39, "0")]);
    }
    h.answers();
    h.orders.request_sent(1, 1, 20);
    h.app(b"8", &[(11, "1.1"), (41, "1"), (150, "6"), (39, "6")]);
    h.app(b"8", &[(11, "1.1"), (41, "1"), (150, "4"), (39, "4")]);
    h.orders.request_sent(2, 1, 21);
    h.app(b"8", &[(11, "2.1"), (41, "2"), (150, "E"), (39, "E")]);
    h.app(b"8", &[(11, "2.1"), (41, "2"), (150, "5"), (39, "0"), (38, "50"), (44, "7.5")]);
    h.app(b"8", &[(11, "3"), (150, "C"), (39, "C")]);
    h.app(b"8", &[(11, "4"), (150, "3"), (39, "3")]);
    h.orders.request_sent(5, 1, 22);
    h.app(b"9", &[(11, "5.1"), (41, "5"), (39, "0"), (434, "1"), (102, "1")]);
    h.orders.request_sent(5, 2, 23);
    h.app(b"9", &[(11, "5.2"), (41, "5"), (39, "0"), (434, "2")]);
    h.app(b"8", &[(11, "6"), (150, "D"), (39, "0")]);
    assert_eq!(
        h.answers(),
        [
            Answer::Cancelled { order_id: 1 },
            Answer::Replaced { order_id: 2 },
            Answer::Expired { order_id: 3 },
            Answer::Expired { order_id: 4 },
            Answer::CancelRejected { order_id: 5, code: 1 },
            Answer::CancelRejected { order_id: 5, code: 0 },
        ]
    );
    let execs: Vec<&str> = h.events.iter().map(|e| &e[..e.find(", ord_status").unwrap_or(e.len())]).collect();
    assert_eq!(
        execs,
        [
            "Execution(ExecutionReport { order_id: 1, exec_type: 54",
            "Execution(ExecutionReport { order_id: 2, exec_type: 69",
            "Execution(ExecutionReport { order_id: 6, exec_type: 68",
        ]
    );
    // The replace's ClOrdID is order 2's live one now; 1, 3 and 4 ended; 5 and 6 go on.
    assert_eq!(h.orders.chain(2), Some(Chain { requests: 1, live: 1, pending: 0 }));
    assert!((1..=4).filter(|id| *id != 2).all(|id| h.orders.chain(id).is_none()));
    assert!(h.orders.chain(5).is_some() && h.orders.chain(6).is_some());
}

#[test]
fn bad_and_unknown_ids_reach_the_engine_or_are_reported_never_dropped() {
    let mut h = H::new(16);
    // Not of this session's form: reported as not handled.
    h.app(b"8", &[(11, "ABC"), (150, "0")]);
    h.app(b"8", &[(11, "7.0"), (150, "F"), (32, "1"), (31, "1")]);
    h.app(b"9", &[(11, "x"), (41, "y"), (102, "0")]);
    h.app(b"9", &[(41, "1.2.3")]);
    h.app(b"X", &[(11, "1")]);
    assert_eq!(h.events.len(), 5, "{:?}", h.events);
    assert!(h.events[0].contains("without a ClOrdID (11) of this session"), "{:?}", h.events);
    assert!(h.events[1].contains("msg_type: \"8\""), "{:?}", h.events);
    assert!(h.events[2].contains("OrderCancelReject without") && h.events[3].contains("msg_type: \"9\""));
    assert!(h.events[4].contains("msg_type: \"X\""), "{:?}", h.events);
    assert!(h.answers().is_empty());
    // Orders this session does not follow (sent before a restart, or never): their answers go
    // to the engine, which records what does not fit.
    h.app(b"8", &[(11, "42"), (150, "0"), (39, "0")]);
    h.app(b"8", &[(11, "42.3"), (150, "F"), (39, "1"), (32, "4"), (31, "2.5")]);
    h.app(b"8", &[(11, "43.1"), (150, "5"), (39, "0")]);
    h.app(b"9", &[(11, "44.2"), (41, "44.1"), (102, "99")]);
    // OrigClOrdID when ClOrdID is not ours.
    h.app(b"9", &[(11, "NONE"), (41, "45.1")]);
    assert_eq!(
        h.answers(),
        [
            accept(42),
            Answer::Fill { order_id: 42, last_qty: 4, last_px: 2.5 },
            Answer::Replaced { order_id: 43 },
            Answer::CancelRejected { order_id: 44, code: 99 },
            Answer::CancelRejected { order_id: 45, code: 0 },
        ]
    );
    assert!(h.orders.is_empty(), "nothing tracked from reports alone");
    // A trade without a readable LastQty is not a fill: journaled as an execution.
    h.app(b"8", &[(11, "42"), (150, "F"), (39, "1"), (32, "2.5"), (31, "1")]);
    assert!(h.answers().is_empty());
    assert!(h.events[5].contains("order_id: 42, exec_type: 70"), "{:?}", h.events);
}

#[test]
fn session_and_business_rejects_answer_the_order_or_request_they_name() {
    let mut h = H::new(16);
    h.orders.sent(7, 20);
    h.orders.sent(8, 21);
    h.orders.sent(9, 22);
    h.orders.sent(10, 23);
    h.out(Output::Reject { ref_seq: 20, reason: 5, text: "Value is incorrect" });
    h.out(Output::Reject { ref_seq: 99, reason: 1, text: "" });
    h.app(b"j", &[(45, "21"), (372, "D"), (380, "2")]);
    h.app(b"j", &[(379, "9"), (372, "D"), (380, "3"), (58, "no")]);
    h.app(b"j", &[(372, "D"), (380, "3")]);
    assert_eq!(h.answers(), [reject(7), reject(8), reject(9)]);
    assert_eq!(
        h.events[0],
        "OrderRejected { order_id: 7, source: SessionReject, reason: 5, text: \"Value is incorrect\" }"
    );
    assert_eq!(h.events[1], "SessionRejected { ref_seq: 99, reason: 1, text: \"\" }");
    assert_eq!(h.events[2], "OrderRejected { order_id: 8, source: BusinessReject, reason: 2, text: \"\" }");
    assert_eq!(h.events[3], "OrderRejected { order_id: 9, source: BusinessReject, reason: 3, text: \"no\" }");
    assert!(h.events[4].contains("naming no order"), "{:?}", h.events);
    // A request turned down at the session or business level: the order goes on, the pending
    // request is refused (once: a second reject of it answers nothing more).
    h.app(b"8", &[(11, "10"), (150, "0"), (39, "0")]);
    h.orders.request_sent(10, 1, 24);
    h.out(Output::Reject { ref_seq: 24, reason: 1, text: "Required tag missing" });
    h.out(Output::Reject { ref_seq: 24, reason: 1, text: "again" });
    h.orders.request_sent(10, 2, 25);
    h.app(b"j", &[(379, "10.2"), (372, "G"), (380, "0")]);
    assert_eq!(
        h.answers(),
        [
            accept(10),
            Answer::CancelRejected { order_id: 10, code: 0 },
            Answer::CancelRejected { order_id: 10, code: 0 }
        ]
    );
    assert!(h.events[5].starts_with("OrderRejected { order_id: 10, source: SessionReject"), "{:?}", h.events);
    assert_eq!(h.orders.chain(10), Some(Chain { requests: 2, live: 0, pending: 0 }));
}

#[test]
fn a_gap_fill_rejects_the_unanswered_orders_and_pending_requests_in_its_range_only() {
    let mut h = H::new(16);
    h.orders.sent(1, 3);
    h.orders.sent(2, 12);
    h.orders.sent(3, 13);
    h.orders.sent(4, 20);
    h.orders.sent(5, 8);
    h.app(b"8", &[(11, "2"), (150, "0"), (39, "0")]);
    h.app(b"8", &[(11, "5"), (150, "0"), (39, "0")]);
    // Order 5's first request was answered; its second is pending, inside the range.
    h.orders.request_sent(5, 1, 9);
    h.orders.replaced(5, 1);
    h.orders.request_sent(5, 2, 14);
    h.answers();
    h.out(Output::Event(ExchangeEvent::GapFilled { begin: 9, new_seq: 20 }));
    assert_eq!(h.answers(), [reject(3), Answer::CancelRejected { order_id: 5, code: 0 }]);
    assert!(h.events[0].starts_with("OrderRejected { order_id: 3, source: GapFilled"), "{:?}", h.events);
    assert!(h.events[1].starts_with("OrderRejected { order_id: 5, source: GapFilled"), "{:?}", h.events);
    assert_eq!(h.events[2], "GapFilled { begin: 9, new_seq: 20 }");
    assert!(h.orders.awaits(1) && h.orders.awaits(4));
    assert_eq!(h.orders.chain(5), Some(Chain { requests: 2, live: 1, pending: 0 }));
}

#[test]
fn answers_wait_when_the_ring_is_full_and_keep_their_order() {
    let mut h = H::new(1);
    for id in 1..=3 {
        h.orders.sent(id, id + 1);
        h.app(b"8", &[(11, &id.to_string()), (150, "0"), (39, "0")]);
    }
    h.app(b"8", &[(11, "1"), (150, "F"), (39, "1"), (32, "1"), (31, "1")]);
    let deferred: Vec<u64> = h.deferred.iter().map(|a| a.order_id()).collect();
    assert_eq!(deferred, [2, 3, 1]);
    assert_eq!((h.stats.answers_deferred, h.stats.responses, h.stats.answers), (3, 3, 1));
    assert_eq!(h.responses(), [(1, ResponseType::Accept)]);
}

#[test]
fn a_refusal_of_a_request_that_is_not_pending_is_journaled_not_applied() {
    let mut h = H::new(16);
    h.orders.sent(1, 2);
    h.app(b"8", &[(11, "1"), (150, "0"), (39, "0")]);
    h.orders.request_sent(1, 1, 3);
    h.app(b"9", &[(11, "1.1"), (41, "1"), (102, "0")]);
    // Request 2 pending; a second copy of request 1's refusal (and an execution report saying
    // the same) must not be taken for request 2's.
    h.orders.request_sent(1, 2, 4);
    h.app(b"9", &[(11, "1.1"), (41, "1"), (102, "0")]);
    h.app(b"8", &[(11, "1.1"), (41, "1"), (150, "8"), (39, "0")]);
    // Named by its OrigClOrdID only: which request is unknown, the engine judges.
    h.app(b"9", &[(11, "NONE"), (41, "1")]);
    h.app(b"9", &[(11, "1.2"), (41, "1"), (102, "1")]);
    assert_eq!(
        h.answers(),
        [
            accept(1),
            Answer::CancelRejected { order_id: 1, code: 0 },
            Answer::CancelRejected { order_id: 1, code: 0 },
            Answer::CancelRejected { order_id: 1, code: 1 },
        ]
    );
    assert_eq!(h.events.len(), 2, "{:?}", h.events);
    assert!(h.events[0].contains("not pending") && h.events[0].contains("msg_type: \"9\""), "{:?}", h.events);
    assert!(h.events[1].contains("order_id: 1, exec_type: 56"), "{:?}", h.events);
    assert_eq!(h.orders.chain(1), Some(Chain { requests: 2, live: 0, pending: 0 }));
}
