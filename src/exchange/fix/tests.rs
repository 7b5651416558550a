//! How session outputs become responses and events: first answers, later reports, rejects tied
//! to the order they name, gap fills over unanswered orders.

use super::*;
use crate::exchange::fix::encode::MessageWriter;
use crate::exchange::tap::{ResponseTap, response_tap};

struct H {
    orders: OrderTable,
    responder: Responder,
    tap: ResponseTap,
    deferred: Vec<OrderResponse>,
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

    fn responses(&mut self) -> Vec<(u64, ResponseType)> {
        std::iter::from_fn(|| self.tap.pop())
            .filter_map(|(a, _)| match a {
                crate::ring::Answer::Response(r) => Some((r.order_id, r.response_type)),
                _ => None,
            })
            .collect()
    }
}

#[test]
fn the_first_report_answers_later_ones_are_events() {
    let mut h = H::new(16);
    for (id, seq) in [(1, 2), (2, 3), (3, 4)] {
        assert!(h.orders.sent(id, seq));
    }
    h.app(b"8", &[(11, "1"), (150, "0"), (39, "0")]);
    h.app(b"8", &[(11, "1"), (150, "F"), (39, "2"), (32, "10"), (31, "99.5")]);
    h.app(b"8", &[(11, "2"), (150, "8"), (39, "8"), (58, "too big")]);
    // Pending New is not an answer; the New after it is.
    h.app(b"8", &[(11, "3"), (150, "A"), (39, "A")]);
    assert!(h.orders.awaits(3));
    h.app(b"8", &[(11, "3"), (150, "0"), (39, "0")]);
    // A first report that is already a fill answers `accept` and is an event too.
    assert!(h.orders.sent(4, 5));
    h.app(b"8", &[(11, "4"), (150, "F"), (39, "2"), (32, "5"), (31, "7")]);
    assert_eq!(
        h.responses(),
        [
            (1, ResponseType::Accept),
            (2, ResponseType::Reject),
            (3, ResponseType::Accept),
            (4, ResponseType::Accept)
        ]
    );
    let fill = |id, qty, px| {
        format!(
            "Execution(ExecutionReport {{ order_id: {id}, exec_type: 70, ord_status: 50, last_qty: {qty}, last_px: {px} }})"
        )
    };
    assert_eq!(h.events[0], fill(1, 10, "99.5"));
    assert!(h.events[1].contains("order_id: 3, exec_type: 65"), "{:?}", h.events);
    assert_eq!(h.events[2], fill(4, 5, "7.0"));
    assert_eq!(h.events.len(), 3);
    assert!(h.orders.is_empty());
}

#[test]
fn reports_without_a_numeric_cl_ord_id_and_unknown_messages_are_reported() {
    let mut h = H::new(16);
    h.app(b"8", &[(11, "ABC"), (150, "0")]);
    h.app(b"9", &[(11, "1")]);
    assert_eq!(h.events.len(), 2);
    assert!(h.events[0].contains("without a numeric ClOrdID"), "{:?}", h.events);
    assert!(h.events[1].contains("msg_type: \"9\""), "{:?}", h.events);
}

#[test]
fn session_and_business_rejects_answer_the_order_they_name() {
    let mut h = H::new(16);
    h.orders.sent(7, 20);
    h.orders.sent(8, 21);
    h.orders.sent(9, 22);
    h.out(Output::Reject { ref_seq: 20, reason: 5, text: "Value is incorrect" });
    h.out(Output::Reject { ref_seq: 99, reason: 1, text: "" });
    h.app(b"j", &[(45, "21"), (372, "D"), (380, "2")]);
    h.app(b"j", &[(379, "9"), (372, "D"), (380, "3"), (58, "no")]);
    h.app(b"j", &[(372, "D"), (380, "3")]);
    assert_eq!(
        h.responses(),
        [(7, ResponseType::Reject), (8, ResponseType::Reject), (9, ResponseType::Reject)]
    );
    assert_eq!(
        h.events[0],
        "OrderRejected { order_id: 7, source: SessionReject, reason: 5, text: \"Value is incorrect\" }"
    );
    assert_eq!(h.events[1], "SessionRejected { ref_seq: 99, reason: 1, text: \"\" }");
    assert_eq!(h.events[2], "OrderRejected { order_id: 8, source: BusinessReject, reason: 2, text: \"\" }");
    assert_eq!(h.events[3], "OrderRejected { order_id: 9, source: BusinessReject, reason: 3, text: \"no\" }");
    assert!(h.events[4].contains("naming no order"), "{:?}", h.events);
}

#[test]
fn a_gap_fill_rejects_the_unanswered_orders_in_its_range_only() {
    let mut h = H::new(16);
    h.orders.sent(1, 10);
    h.orders.sent(2, 12);
    h.orders.sent(3, 13);
    h.orders.sent(4, 20);
    h.app(b"8", &[(11, "2"), (150, "0"), (39, "0")]);
    h.responses();
    h.out(Output::Event(ExchangeEvent::GapFilled { begin: 11, new_seq: 20 }));
    assert_eq!(h.responses(), [(3, ResponseType::Reject)]);
    assert!(h.events[0].starts_with("OrderRejected { order_id: 3, source: GapFilled"), "{:?}", h.events);
    assert_eq!(h.events[1], "GapFilled { begin: 11, new_seq: 20 }");
    assert!(h.orders.awaits(1) && h.orders.awaits(4));
}

#[test]
fn answers_wait_when_the_ring_is_full_and_keep_their_order() {
    let mut h = H::new(1);
    for id in 1..=3 {
        h.orders.sent(id, id + 1);
        h.app(b"8", &[(11, &id.to_string()), (150, "0"), (39, "0")]);
    }
    assert_eq!(h.deferred.iter().map(|r| r.order_id).collect::<Vec<_>>(), [2, 3]);
    assert_eq!(h.stats.responses_deferred, 2);
    assert_eq!(h.responses(), [(1, ResponseType::Accept)]);
}
