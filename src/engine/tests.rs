//! Engine internals that no public path can reach.

use super::*;
use crate::config::Config;
use crate::exchange::RecordingExchange;
use crate::model::{EventKind, OrderResponse, ResponseType, Side};
use crate::sink::MemorySink;

impl Engine<RecordingExchange, MemorySink> {
    /// Sends `o` (tracked in flight) as `dispatch` would.
    fn mock_send(&mut self, o: OrderRequest) {
        let now = self.clock.now_ns();
        self.send(o, now, now, 0);
    }
}

/// An engine logged on inside a UTC window, on a manual clock, with `max_in_flight` and
/// `max_working_orders` 1.
fn logged_on_engine() -> Engine<RecordingExchange, MemorySink> {
    let mut c = Config::default();
    c.session.timezone = "UTC".into();
    (c.session.start, c.session.end) = ("00:00:00".into(), "23:59:59".into());
    c.engine.max_in_flight = 1;
    c.engine.max_working_orders = 1;
    let v = c.validate().expect("valid config");
    let (clock, _mock) = EngineClock::manual(1_800_000_000_000_000_000 + 3_600_000_000_000);
    let (b, _responder) = EngineBuilder::new(&v.engine, clock);
    let mut e = b.build(RecordingExchange::default(), MemorySink::default());
    e.poll();
    assert!(e.logged_on());
    e
}

#[test]
fn an_order_the_open_order_table_cannot_hold_never_reaches_the_exchange() {
    let mut e = logged_on_engine();
    let now = e.clock.now_ns();
    // The table is full (the callers' `can_send_now` check is bypassed on purpose).
    e.open.insert(OrderRequest::new(1, 1, Side::Buy, 1.0, 1), now, 0).expect("room for one");
    let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        e.send(OrderRequest::new(2, 1, Side::Buy, 1.0, 1), now, now, 0);
    }));
    assert_eq!(e.exchange.sent().count(), 0, "the exchange has an order the engine does not track");
    if cfg!(debug_assertions) {
        assert!(outcome.is_err(), "the impossible case is loud in a debug build");
    } else {
        let last = e.sink.events().last().copied().expect("a record");
        assert_eq!((last.kind, last.order_id), (EventKind::Rejected, 2));
    }
}

#[test]
fn an_answer_drained_ahead_of_a_report_is_recorded_as_the_response_step_records_it() {
    use crate::ring::{Answer, InboundResponse};
    let mut a = logged_on_engine();
    let mut b = logged_on_engine();
    for e in [&mut a, &mut b] {
        e.mock_send(OrderRequest::new(1, 3, Side::Sell, 10.5, 7));
    }
    let raw = a.clock.quanta().raw();
    let answers = [
        Answer::Response(OrderResponse { order_id: 1, response_type: ResponseType::Accept }),
        Answer::Fill { order_id: 1, last_qty: 3, last_px: 10.5 },
        Answer::Response(OrderResponse { order_id: 2, response_type: ResponseType::Reject }),
        Answer::Cancelled { order_id: 1 },
        Answer::Fill { order_id: 1, last_qty: 4, last_px: 10.25 },
    ];
    for answer in answers {
        let r = InboundResponse { answer, arrival_raw: raw };
        let now = a.clock.now_ns();
        a.on_response(r, now);
        let Engine { open, queue, risk, clock, stats, .. } = &mut b;
        let (rec, dropped) = answers::answered(r, now, open, queue, risk, clock, stats);
        b.emit(rec);
        assert!(dropped.is_none());
    }
    assert_eq!(a.sink.events(), b.sink.events());
    assert_eq!(a.stats, b.stats);
    let kinds: Vec<EventKind> = a.sink.events().iter().map(|r| r.kind).collect();
    assert_eq!(
        kinds[kinds.len() - 5..],
        [
            EventKind::Response,
            EventKind::Fill,
            EventKind::UnmatchedResponse,
            EventKind::VenueCancelled,
            EventKind::UnexpectedReport
        ]
    );
}

/// The builder numbers producers 0 to 65534 and refuses one more with a typed error (65535
/// is the engine's own number in every record).
#[test]
fn one_producer_too_many_is_an_error_not_a_panic() {
    let mut c = Config::default();
    c.engine.ring_capacity = 1;
    let v = c.validate().expect("valid config");
    let (clock, _mock) = EngineClock::manual(0);
    let (mut b, _responder) = EngineBuilder::new(&v.engine, clock);
    for _ in 0..MAX_PRODUCERS {
        b.producer().expect("within the limit");
    }
    assert_eq!(b.producer().err(), Some(TooManyProducers));
    assert!(TooManyProducers.to_string().contains("65535"));
}
