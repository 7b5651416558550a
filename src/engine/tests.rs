//! Engine internals that no public path can reach.

use super::*;
use crate::config::Config;
use crate::exchange::RecordingExchange;
use crate::model::Side;
use crate::sink::MemorySink;

/// An engine logged on inside a UTC window, on a manual clock, with `max_in_flight` 1.
fn logged_on_engine() -> Engine<RecordingExchange, MemorySink> {
    let mut c = Config::default();
    c.session.timezone = "UTC".into();
    (c.session.start, c.session.end) = ("00:00:00".into(), "23:59:59".into());
    c.engine.max_in_flight = 1;
    let v = c.validate().expect("valid config");
    let (clock, _mock) = EngineClock::manual(1_800_000_000_000_000_000 + 3_600_000_000_000);
    let (b, _responder) = EngineBuilder::new(&v.engine, clock);
    let mut e = b.build(RecordingExchange::default(), MemorySink::default());
    e.poll();
    assert!(e.logged_on());
    e
}

#[test]
fn an_order_the_in_flight_table_cannot_hold_never_reaches_the_exchange() {
    let mut e = logged_on_engine();
    let now = e.clock.now_ns();
    // The table is full (the callers' `can_send_now` check is bypassed on purpose).
    e.in_flight.insert(OrderRequest::new(1, 1, Side::Buy, 1.0, 1), now, 0).expect("room for one");
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
