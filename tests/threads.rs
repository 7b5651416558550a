//! Several producer threads at once, the engine on its own thread, the simulated exchange on its
//! own: every order reaches the fate its requests call for (none is left for shutdown: the
//! exchange rejects some and fills the others in full), each
//! producer's order and the queue's FIFO order reach the exchange, every Modify and Cancel has
//! its effect on what is sent, and full rings are met and survived.
//!
//! The engine runs on a manual clock, so the test decides when the throttle grants permits:
//! 1. Warm-up orders use up the token bucket, and the exchange holds the engine inside the last
//!    warm-up send until every producer has found its (small) ring full: backpressure is certain,
//!    not hoped for.
//! 2. With the clock still, every New from the producers is queued, so the Modify and Cancel that
//!    follow it through the same ring find it queued: their effects are exact, not a matter of
//!    timing.
//! 3. The test then moves the clock until every order is sent, answered and, if accepted,
//!    filled, with a deadline: an engine that stops draining or sending fails here, naming what
//!    is missing.

mod runner_common;

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use oms::exchange::NotSent;
use oms::exchange::SimulatedExchange;
use oms::runner::{EngineHandle, IdleStrategy};
use oms::{EngineBuilder, EngineClock, Exchange, Logon, Logout, MemorySink, Producer};
use oms::{EventKind as K, EventRecord, OrderRequest, RejectReason, RequestType, ResponseType, Side};
use runner_common::{WALL_IN_WINDOW, manual_config, stop_within, wait_until};

const PRODUCERS: u64 = 4;
const ORDERS: u64 = 5_000;
/// Warm-up orders: exactly the bucket, so nothing else gets a permit until the clock moves.
const WARMUP: u64 = 8;
/// Each producer ring's capacity: small, so a held engine fills it at once.
const RING: usize = 16;
/// How long any one wait may take before the test fails.
const PATIENCE: Duration = Duration::from_secs(60);

fn id(p: u64, i: u64) -> u64 {
    (p + 1) * 1_000_000 + i
}

fn warmup_id(k: u64) -> u64 {
    9_000_000 + k
}

fn modified(i: u64) -> bool {
    i % 7 == 3
}

fn cancelled(i: u64) -> bool {
    i % 11 == 5
}

fn new_order(p: u64, i: u64) -> OrderRequest {
    let side = if i.is_multiple_of(2) { Side::Buy } else { Side::Sell };
    OrderRequest::new(id(p, i), p as i32, side, 50.0, 1 + i)
}

/// The price and qty order `(p, i)` must be sent with (or cancelled with).
fn final_values(p: u64, i: u64) -> (f64, u64) {
    if modified(i) { (51.0 + p as f64, 100_000 + i) } else { (50.0, 1 + i) }
}

/// Shared between the test and its [`Tap`].
#[derive(Debug, Default)]
struct TapState {
    sent: AtomicU64,
    holding: AtomicBool,
    release: AtomicBool,
}

/// Records every order as the exchange receives it, forwards to the simulated exchange, and
/// holds the engine thread inside the send of order `hold_on` until released.
#[derive(Debug)]
struct Tap {
    inner: SimulatedExchange,
    sent: Vec<OrderRequest>,
    state: Arc<TapState>,
    hold_on: u64,
}

impl Exchange for Tap {
    fn send(&mut self, order: &OrderRequest) -> Result<(), NotSent> {
        self.inner.send(order)?;
        self.sent.push(*order);
        self.state.sent.fetch_add(1, Ordering::SeqCst);
        if order.order_id == self.hold_on {
            self.state.holding.store(true, Ordering::SeqCst);
            let deadline = Instant::now() + PATIENCE;
            while !self.state.release.load(Ordering::SeqCst) {
                assert!(Instant::now() < deadline, "the test never released the engine");
                std::thread::yield_now();
            }
        }
        Ok(())
    }
    fn send_cancel(&mut self, order: &OrderRequest) -> Result<(), NotSent> {
        self.inner.send_cancel(order)
    }
    fn send_replace(&mut self, order: &OrderRequest) -> Result<(), NotSent> {
        self.inner.send_replace(order)
    }
    fn send_logon(&mut self, logon: &Logon) {
        self.inner.send_logon(logon);
    }
    fn send_logout(&mut self, logout: &Logout) {
        self.inner.send_logout(logout);
    }
}

/// Producer `p`'s requests, retrying on a full ring (with a deadline). Returns the producer and
/// how many times its ring was full.
fn produce(p: u64, mut producer: Producer, met_full: Arc<AtomicU64>) -> (Producer, u64) {
    let mut full = 0u64;
    let deadline = Instant::now() + PATIENCE;
    let mut submit = |o: OrderRequest, t: RequestType| {
        let mut msg = (o, t);
        while let Err(back) = producer.on_data(msg.0, msg.1) {
            full += 1;
            if full == 1 {
                met_full.fetch_add(1, Ordering::SeqCst);
            }
            assert!(Instant::now() < deadline, "producer {p}: ring still full after {PATIENCE:?}");
            msg = (back.order, back.request);
            std::thread::yield_now();
        }
    };
    for i in 0..ORDERS {
        let o = new_order(p, i);
        submit(o, RequestType::New);
        if modified(i) {
            let (price, qty) = final_values(p, i);
            submit(OrderRequest { price, qty, ..o }, RequestType::Modify);
        }
        if cancelled(i) {
            submit(o, RequestType::Cancel);
            // Too late: a cancelled order cannot be modified back to life.
            submit(OrderRequest { price: 99.0, qty: 99, ..o }, RequestType::Modify);
        }
    }
    (producer, full)
}

#[test]
fn many_producers_every_order_reaches_its_fate_in_order() {
    let mut cfg = manual_config();
    cfg.throttle.max_orders_per_sec = 1000;
    cfg.throttle.burst = Some(WARMUP as u32);
    cfg.engine.ring_capacity = RING;
    cfg.engine.max_queued_orders = 1 << 15;
    cfg.engine.max_in_flight = 1 << 15;
    cfg.engine.idle = IdleStrategy::Yield.name().into();
    cfg.exchange.latency_min_us = 1;
    cfg.exchange.latency_max_us = 200;
    cfg.exchange.reject_ratio = 0.2;
    let valid = cfg.validate().expect("valid config");

    let (clock, mock) = EngineClock::manual(WALL_IN_WINDOW);
    let (mut b, responder) = EngineBuilder::new(&valid.engine, clock);
    let mut warmup = b.producer().expect("a producer handle");
    let producers: Vec<Producer> = (0..PRODUCERS).map(|_| b.producer().expect("a producer handle")).collect();
    let sim = SimulatedExchange::spawn(&valid.exchange, responder, b.clock().clone(), 1 << 15)
        .expect("exchange thread");
    let sim_stats = sim.stats();
    let tap_state = Arc::new(TapState::default());
    let all = (WARMUP + PRODUCERS * ORDERS) as usize;
    let tap = Tap {
        inner: sim,
        sent: Vec::with_capacity(all),
        state: tap_state.clone(),
        hold_on: warmup_id(WARMUP - 1),
    };
    for k in 0..WARMUP {
        let o = OrderRequest::new(warmup_id(k), 9, Side::Buy, 1.0, 1);
        warmup.on_data(o, RequestType::New).expect("room for the warm-up");
    }
    let engine = b.build(tap, MemorySink::with_capacity(1 << 20));
    let handle = EngineHandle::spawn(engine, &valid.runner).expect("engine thread");
    let secs = PATIENCE.as_secs();
    wait_until(secs, "the engine to send the warm-up orders", || tap_state.holding.load(Ordering::SeqCst));

    // 1. The engine is held: every producer fills its ring.
    let met_full = Arc::new(AtomicU64::new(0));
    let threads: Vec<_> = producers
        .into_iter()
        .enumerate()
        .map(|(p, producer)| {
            let met_full = met_full.clone();
            std::thread::spawn(move || produce(p as u64, producer, met_full))
        })
        .collect();
    wait_until(secs, "every producer to find its ring full", || met_full.load(Ordering::SeqCst) == PRODUCERS);
    tap_state.release.store(true, Ordering::SeqCst);
    let done: Vec<(Producer, u64)> =
        threads.into_iter().map(|t| t.join().expect("producer thread")).collect();
    let full: Vec<u64> = done.iter().map(|d| d.1).collect();
    assert!(full.iter().all(|n| *n > 0), "every producer met a full ring: {full:?}");
    wait_until(secs, "the engine to drain every ring", || done.iter().all(|d| d.0.pending() == 0));

    // 2. Move the clock (8 ms = a full bucket of 8 permits) until everything is sent, answered
    // and, if accepted, filled.
    let cancels = (0..ORDERS).filter(|i| cancelled(*i)).count() as u64 * PRODUCERS;
    let expected_sends = WARMUP + PRODUCERS * ORDERS - cancels;
    let answered = || sim_stats.accepted.load(Ordering::SeqCst) + sim_stats.rejected.load(Ordering::SeqCst);
    let unfilled = || sim_stats.accepted.load(Ordering::SeqCst) - sim_stats.filled.load(Ordering::SeqCst);
    let deadline = Instant::now() + 2 * PATIENCE;
    loop {
        let (sent, ans, open) = (tap_state.sent.load(Ordering::SeqCst), answered(), unfilled());
        if sent == expected_sends && ans == expected_sends && open == 0 {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "{sent} of {expected_sends} orders sent, {ans} answered, {open} accepted and not filled"
        );
        mock.increment(Duration::from_millis(WARMUP));
        // Wait for progress before moving on, so manual time never outruns the engine (and
        // never reaches the window's end).
        let t = Instant::now();
        while tap_state.sent.load(Ordering::SeqCst) == sent
            && answered() == ans
            && unfilled() == open
            && t.elapsed() < PATIENCE / 60
        {
            // Sleep rather than spin: the engine and the exchange need the two cores.
            std::thread::sleep(Duration::from_micros(50));
        }
    }
    let report = stop_within(handle, secs);
    check(report.sink.events(), &report.exchange.sent, sim_stats.rejected.load(Ordering::SeqCst));
    eprintln!("{} events; full rings met per producer: {full:?}", report.sink.events().len());
}

/// Checks the journal and what the exchange received against what each order's requests call
/// for.
fn check(events: &[EventRecord], sent: &[OrderRequest], exchange_rejects: u64) {
    let seqs: Vec<u64> = events.iter().map(|e| e.seq).collect();
    assert_eq!(seqs, (1..=events.len() as u64).collect::<Vec<_>>(), "gap-free sequence");
    let mut by_id: HashMap<u64, Vec<&EventRecord>> = HashMap::new();
    for e in events.iter().filter(|e| e.order_id != 0) {
        by_id.entry(e.order_id).or_default().push(e);
    }
    let kinds =
        |id: u64| by_id.get(&id).map(|v| v.iter().map(|e| e.kind).collect::<Vec<_>>()).unwrap_or_default();
    // An order the exchange accepted is filled in full (one part); a rejected one ends there.
    let accepted = |id: u64| {
        by_id
            .get(&id)
            .is_some_and(|v| v.iter().any(|e| e.kind == K::Response && e.response == ResponseType::Accept))
    };
    let answered = |id: u64| {
        if accepted(id) { vec![K::Sent, K::Response, K::Filled] } else { vec![K::Sent, K::Response] }
    };
    let mut expected_events = 2; // one logon, one logout (at shutdown)
    for k in 0..WARMUP {
        let want = answered(warmup_id(k));
        assert_eq!(kinds(warmup_id(k)), want, "warm-up order {k}");
        expected_events += want.len();
    }
    for p in 0..PRODUCERS {
        for i in 0..ORDERS {
            let oid = id(p, i);
            let (price, qty) = final_values(p, i);
            let mut want = vec![K::Queued];
            want.extend(modified(i).then_some(K::Modified));
            if cancelled(i) {
                want.extend([K::Cancelled, K::Rejected]);
            } else {
                want.extend(answered(oid));
            }
            assert_eq!(kinds(oid), want, "order {oid} (producer {p}, #{i})");
            expected_events += want.len();
            for e in &by_id[&oid] {
                match e.kind {
                    K::Queued => assert_eq!((e.price, e.qty), (50.0, 1 + i), "{e:?}"),
                    // A full fill: the whole quantity at the order's price.
                    K::Modified | K::Cancelled | K::Sent | K::Response | K::Filled => {
                        assert_eq!((e.price, e.qty), (price, qty), "{e:?}")
                    }
                    K::Rejected => {
                        assert_eq!((e.request, e.reason), (RequestType::Modify, Some(RejectReason::NotOpen)))
                    }
                    _ => unreachable!("kinds checked above"),
                }
            }
        }
    }
    let count = |k: K| events.iter().filter(|e| e.kind == k).count();
    assert_eq!((count(K::Logon), count(K::Logout)), (1, 1));
    assert_eq!(events.len(), expected_events, "no event beyond those each order's requests call for");
    let rejected_answers =
        events.iter().filter(|e| e.kind == K::Response && e.response == ResponseType::Reject);
    assert_eq!(rejected_answers.count() as u64, exchange_rejects);
    assert!(count(K::Filled) > 0 && exchange_rejects > 0, "both fates occur");
    assert_eq!(count(K::Unanswered), 0, "nothing is left for the shutdown");

    // What the exchange received: the warm-up, then the queue in FIFO order (the order the
    // engine queued them, producers interleaved as their rings were drained), with the values
    // the modifies set; the journal's `sent` records say the same.
    let warm: Vec<u64> = sent.iter().take(WARMUP as usize).map(|o| o.order_id).collect();
    assert_eq!(warm, (0..WARMUP).map(warmup_id).collect::<Vec<_>>());
    let queued: Vec<u64> = events
        .iter()
        .filter(|e| e.kind == K::Queued && !cancelled(e.order_id % 1_000_000))
        .map(|e| e.order_id)
        .collect();
    let to_exchange: Vec<u64> = sent.iter().skip(WARMUP as usize).map(|o| o.order_id).collect();
    assert!(to_exchange == queued, "the exchange received the queue out of FIFO order");
    for o in sent.iter().skip(WARMUP as usize) {
        let (p, i) = (o.order_id / 1_000_000 - 1, o.order_id % 1_000_000);
        assert_eq!((o.price, o.qty), final_values(p, i), "order {} as the exchange received it", o.order_id);
    }
    let journal_sent: Vec<(u64, f64, u64)> =
        events.iter().filter(|e| e.kind == K::Sent).map(|e| (e.order_id, e.price, e.qty)).collect();
    let exchange_sent: Vec<(u64, f64, u64)> = sent.iter().map(|o| (o.order_id, o.price, o.qty)).collect();
    assert!(journal_sent == exchange_sent, "the journal's sends differ from the exchange's");
    // Each producer's orders were queued (and so sent) in the order it submitted them.
    for p in 0..PRODUCERS {
        let mine: Vec<u64> = events
            .iter()
            .filter(|e| e.kind == K::Queued && e.order_id / 1_000_000 == p + 1)
            .map(|e| e.order_id)
            .collect();
        assert!(mine.windows(2).all(|w| w[0] < w[1]), "producer {p}'s orders out of order");
        assert_eq!(mine.len() as u64, ORDERS);
    }
}
