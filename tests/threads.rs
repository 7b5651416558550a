//! Several producer threads at once, the engine on its own thread, the simulated exchange on its
//! own (issue 2, rule 9): every order is accounted for and each producer's order is preserved.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use oms::engine::EngineBuilder;
use oms::exchange::SimulatedExchange;
use oms::runner::EngineHandle;
use oms::runner::IdleStrategy;
use oms::{Config, EngineClock, MemorySink, OrderRequest, RequestType, Side};
use oms::{EventKind as K, EventRecord, RejectReason};

const PRODUCERS: u64 = 4;
const ORDERS: u64 = 5_000;

fn id(p: u64, i: u64) -> u64 {
    p * 1_000_000 + i
}

fn producer_of(id: u64) -> u64 {
    id / 1_000_000
}

#[test]
fn many_producers_every_order_accounted_for_in_order() {
    let now = jiff::Timestamp::now();
    let tod =
        |t: jiff::Timestamp| t.to_zoned(jiff::tz::TimeZone::UTC).time().strftime("%H:%M:%S").to_string();
    let mut cfg = Config::default();
    cfg.session.timezone = "UTC".into();
    cfg.session.start = tod(now - jiff::SignedDuration::from_hours(1));
    cfg.session.end = tod(now + jiff::SignedDuration::from_hours(1));
    cfg.throttle.max_orders_per_sec = 200_000;
    cfg.throttle.burst = Some(64);
    cfg.engine.ring_capacity = 256; // small, so producers meet backpressure
    cfg.engine.max_in_flight = 1 << 14;
    cfg.engine.idle = IdleStrategy::Yield.name().into();
    cfg.exchange.latency_min_us = 1;
    cfg.exchange.latency_max_us = 200;
    cfg.exchange.reject_ratio = 0.2;
    let valid = cfg.validate().expect("valid config");

    let (mut b, responder) = EngineBuilder::new(&valid.engine, EngineClock::system());
    let producers: Vec<_> = (0..PRODUCERS).map(|_| b.producer()).collect();
    let exchange = SimulatedExchange::spawn(&valid.exchange, responder, b.clock().clone(), 1 << 14)
        .expect("exchange thread");
    let sim = exchange.stats();
    let engine = b.build(exchange, MemorySink::with_capacity(1 << 20));
    let engine = EngineHandle::spawn(engine, &valid.runner).expect("engine thread");

    let threads: Vec<_> = producers
        .into_iter()
        .enumerate()
        .map(|(p, mut producer)| {
            std::thread::spawn(move || {
                let mut backpressure = 0u64;
                let mut submit = |o: OrderRequest, t: RequestType| {
                    let mut msg = (o, t);
                    while let Err(back) = producer.on_data(msg.0, msg.1) {
                        backpressure += 1;
                        msg = (back.order, back.request);
                        std::thread::yield_now();
                    }
                };
                for i in 0..ORDERS {
                    let o = OrderRequest::new(id(p as u64, i), p as i32, Side::Sell, 50.0, 1 + i);
                    submit(o, RequestType::New);
                    if i % 7 == 3 {
                        submit(OrderRequest { price: 51.0, ..o }, RequestType::Modify);
                    }
                    if i % 11 == 5 {
                        submit(o, RequestType::Cancel);
                    }
                }
                backpressure
            })
        })
        .collect();
    let backpressure: u64 = threads.into_iter().map(|t| t.join().expect("producer thread")).sum();

    // Let the exchange answer what it was sent (bounded wait; the assertions below do not
    // depend on how much got answered, only that everything is accounted for).
    let deadline = Instant::now() + Duration::from_secs(20);
    let mut last = u64::MAX;
    loop {
        std::thread::sleep(Duration::from_millis(50));
        let r = sim.received.load(std::sync::atomic::Ordering::Relaxed);
        let answered = sim.accepted.load(std::sync::atomic::Ordering::Relaxed)
            + sim.rejected.load(std::sync::atomic::Ordering::Relaxed);
        if (r == last && answered == r) || Instant::now() > deadline {
            break;
        }
        last = r;
    }
    let report = engine.stop().expect("engine stops cleanly");
    let events: &[EventRecord] = report.sink.events();

    // Every New ends exactly once in sent / cancelled / rejected.
    let mut terminal: HashMap<u64, u32> = HashMap::new();
    for e in events {
        let terminal_event = match e.kind {
            K::Sent | K::Cancelled => true,
            K::Rejected => e.request == oms::RequestType::New,
            _ => false,
        };
        if terminal_event {
            *terminal.entry(e.order_id).or_default() += 1;
        }
    }
    assert_eq!(terminal.len() as u64, PRODUCERS * ORDERS, "orders lost");
    assert!(terminal.values().all(|n| *n == 1), "an order ended twice");
    // Sent orders end in a response or as unanswered, exactly once.
    let sent = events.iter().filter(|e| e.kind == K::Sent).count();
    let answered = events.iter().filter(|e| matches!(e.kind, K::Response | K::Unanswered)).count();
    assert_eq!(sent, answered);
    assert_eq!(events.iter().filter(|e| e.kind == K::UnmatchedResponse).count(), 0);
    // Per-producer order: each producer's orders are sent in the order it submitted them.
    let mut last_sent: HashMap<u64, u64> = HashMap::new();
    for e in events.iter().filter(|e| e.kind == K::Sent) {
        let p = producer_of(e.order_id);
        if let Some(prev) = last_sent.insert(p, e.order_id) {
            assert!(e.order_id > prev, "producer {p}: {} sent after {prev}", e.order_id);
        }
    }
    assert_eq!(last_sent.len() as u64, PRODUCERS);
    // Nothing unexpected was rejected: no bad input here, the window is open, the queue is large.
    for e in events.iter().filter(|e| e.kind == K::Rejected && e.request == oms::RequestType::New) {
        assert_eq!(e.reason, Some(RejectReason::Shutdown), "{e:?}");
    }
    let seqs: Vec<u64> = events.iter().map(|e| e.seq).collect();
    assert_eq!(seqs, (1..=events.len() as u64).collect::<Vec<_>>(), "gap-free sequence");
    eprintln!("{} events, {sent} sent, {backpressure} backpressure retries", events.len());
}
