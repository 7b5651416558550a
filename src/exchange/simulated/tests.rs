//! The exchange thread on a manual clock: the test moves the clock in small steps and, after
//! each, waits until the thread has seen it (two more loop turns), so every answer arrives
//! at the first step at or after its due time and the times the engine records are exact to
//! the step.

use std::time::Instant;

use super::*;
use crate::config::Config;
use crate::engine::{Engine, EngineBuilder};
use crate::exchange::{ResponseTap, response_tap};
use crate::model::{EventKind, RequestType, Side};
use crate::sink::MemorySink;

/// 2026-11-23 10:30 in Asia/Kolkata: inside the default window (10:00-13:00).
const WALL: i64 = 1_795_410_000_000_000_000;
const US: u64 = 1_000;

/// First answers only: nothing fills.
fn settings(latency_min_us: u64, latency_max_us: u64, reject_ratio: f64, seed: u64) -> SimulatedSettings {
    SimulatedSettings {
        latency_min_us,
        latency_max_us,
        reject_ratio,
        seed,
        fill_ratio: 0.0,
        ..Default::default()
    }
}

/// A fixed latency, nothing rejected, every order filled in `parts` parts `interval_us`
/// apart.
fn filling(latency_us: u64, parts: u32, interval_us: u64) -> SimulatedSettings {
    SimulatedSettings {
        latency_min_us: latency_us,
        latency_max_us: latency_us,
        reject_ratio: 0.0,
        fill_ratio: 1.0,
        fill_parts: parts,
        fill_interval_us: interval_us,
        seed: 7,
    }
}

/// Waits (at most 10 s) until the exchange thread has started two more loop turns.
fn settle(stats: &SimulatedStats) {
    let k = stats.turns.load(Ordering::SeqCst);
    let deadline = Instant::now() + Duration::from_secs(10);
    while stats.turns.load(Ordering::SeqCst) < k + 2 {
        assert!(Instant::now() < deadline, "the exchange thread made no progress in 10 s");
        std::thread::yield_now();
    }
}

/// The exchange alone on a manual clock: messages in, answers out through a tap, each with
/// the monotonic time (µs) it arrived.
struct Alone {
    sim: SimulatedExchange,
    tap: ResponseTap,
    clock: EngineClock,
    mock: Arc<quanta::Mock>,
    stats: Arc<SimulatedStats>,
    /// When false, messages are not waited for before the clock moves (the thread takes
    /// them whenever it comes round to them).
    settle_sends: bool,
    /// Every answer so far, with the µs it arrived.
    log: Vec<(u64, Answer)>,
}

impl Alone {
    fn new(s: &SimulatedSettings, capacity: usize) -> Alone {
        let (clock, mock) = EngineClock::manual(WALL);
        let (responder, tap) = response_tap(4 * capacity, &clock);
        let sim = SimulatedExchange::spawn(s, responder, clock.clone(), capacity).expect("thread");
        let stats = sim.stats();
        Alone { sim, tap, clock, mock, stats, settle_sends: true, log: Vec::new() }
    }

    fn sent(&self) {
        if self.settle_sends {
            settle(&self.stats);
        }
    }

    fn new_order(&mut self, id: u64, qty: u64, px: f64) {
        self.sim.send(&OrderRequest::new(id, 1, Side::Buy, px, qty)).expect("taken");
        self.sent();
    }

    fn cancel(&mut self, id: u64) {
        self.sim.send_cancel(&OrderRequest::new(id, 1, Side::Buy, 0.0, 0)).expect("taken");
        self.sent();
    }

    fn replace(&mut self, id: u64, qty: u64, px: f64) {
        self.sim.send_replace(&OrderRequest::new(id, 1, Side::Buy, px, qty)).expect("taken");
        self.sent();
    }

    fn now_us(&self) -> u64 {
        self.clock.now_ns() / US
    }

    /// Moves the clock to `t_us` a µs at a time; the answers that arrived meanwhile (also
    /// kept in `log`).
    fn run_to(&mut self, t_us: u64) -> Vec<(u64, Answer)> {
        let from = self.log.len();
        while self.now_us() < t_us {
            self.mock.increment(US);
            settle(&self.stats);
            while let Some((a, raw)) = self.tap.pop() {
                self.log.push((self.clock.mono_ns(raw) / US, a));
            }
        }
        self.log[from..].to_vec()
    }
}

fn accept(id: u64) -> Answer {
    Answer::Response(OrderResponse { order_id: id, response_type: ResponseType::Accept })
}

fn fill(id: u64, last_qty: u64, last_px: f64) -> Answer {
    Answer::Fill { order_id: id, last_qty, last_px }
}

fn too_late(id: u64) -> Answer {
    Answer::CancelRejected { order_id: id, code: CXL_REJ_TOO_LATE }
}

#[test]
fn an_accepted_order_fills_in_parts_at_the_interval_after_its_ack() {
    let mut x = Alone::new(&filling(100, 3, 50), 16);
    x.new_order(1, 10, 10.5);
    x.new_order(2, 2, 20.0);
    let got = x.run_to(400);
    assert_eq!(
        got,
        [
            (100, accept(1)),
            (100, accept(2)),
            // A share of what is left, rounded up: 10 = 4 + 3 + 3; 2 = 1 + 1 (done early).
            (150, fill(1, 4, 10.5)),
            (150, fill(2, 1, 20.0)),
            (200, fill(1, 3, 10.5)),
            (200, fill(2, 1, 20.0)),
            (250, fill(1, 3, 10.5)),
        ]
    );
    assert_eq!((x.stats.fills.load(Ordering::SeqCst), x.stats.filled.load(Ordering::SeqCst)), (5, 2));
    // One part: one full fill; an interval of 0: at the ack's instant, after it.
    let mut x = Alone::new(&filling(30, 1, 0), 16);
    x.new_order(3, 7, 1.25);
    assert_eq!(x.run_to(40), [(30, accept(3)), (30, fill(3, 7, 1.25))]);
}

#[test]
fn the_fill_ratio_decides_which_accepted_orders_fill() {
    let fills = |ratio: f64| {
        let s = SimulatedSettings { fill_ratio: ratio, ..filling(10, 1, 10) };
        let mut x = Alone::new(&s, 2000);
        for id in 1..=2000 {
            x.sim.send(&OrderRequest::new(id, 1, Side::Buy, 1.0, 1)).expect("taken");
        }
        settle(&x.stats);
        let got = x.run_to(30);
        assert_eq!(got.iter().filter(|(_, a)| matches!(a, Answer::Response(_))).count(), 2000);
        got.iter().filter(|(t, a)| matches!(a, Answer::Fill { .. }) && *t == 20).count()
    };
    assert_eq!(fills(0.0), 0);
    assert_eq!(fills(1.0), 2000);
    // Binomial(2000, 0.25): mean 500, standard deviation 19.4; ±100 is over 5 deviations.
    let quarter = fills(0.25);
    assert!((400..=600).contains(&quarter), "{quarter} of 2000 filled at ratio 0.25");
}

#[test]
fn a_cancel_is_carried_out_after_a_latency_unless_the_order_filled_first() {
    // Acks at 100, fills at 300 and 500.
    let mut x = Alone::new(&filling(100, 2, 200), 16);
    for id in 1..=3 {
        x.new_order(id, 10, 9.0);
    }
    x.run_to(150);
    x.cancel(1); // due 250: before its first fill
    x.run_to(400);
    x.cancel(2); // due 500: the same instant as its last fill, which came first
    x.run_to(450);
    x.cancel(3); // due 550: after its last fill
    x.run_to(700);
    assert_eq!(
        x.log[3..],
        [
            (250, Answer::Cancelled { order_id: 1 }),
            (300, fill(2, 5, 9.0)),
            (300, fill(3, 5, 9.0)),
            (500, fill(2, 5, 9.0)),
            (500, fill(3, 5, 9.0)),
            (500, too_late(2)),
            (550, too_late(3)),
        ]
    );
    let s = &x.stats;
    let counts =
        [&s.cancels_received, &s.cancelled, &s.cancel_rejected, &s.filled].map(|c| c.load(Ordering::SeqCst));
    assert_eq!(counts, [3, 1, 2, 2]);
}

#[test]
fn a_replace_changes_the_fills_still_to_come_or_is_refused_too_late() {
    // Acks at 100, first fills (5 of 10) at 300, last fills at 500.
    let mut x = Alone::new(&filling(100, 2, 200), 16);
    for id in 1..=4 {
        x.new_order(id, 10, 10.0);
    }
    x.run_to(150);
    x.replace(1, 4, 9.5); // due 250, before any fill: 4 in 2 parts
    x.run_to(250);
    x.replace(2, 6, 11.0); // due 350: 6 > the 5 filled, the last fill is 1 at 11
    x.replace(3, 5, 11.0); // due 350: 5 is what is filled: too late, the order goes on
    x.run_to(350);
    x.replace(4, 20, 12.0); // due 450: the last fill is 15 at 12
    x.run_to(520);
    x.replace(4, 30, 12.0); // due 620: filled in full at 500: too late
    x.run_to(700);
    assert_eq!(
        x.log[4..],
        [
            (250, Answer::Replaced { order_id: 1 }),
            (300, fill(1, 2, 9.5)),
            (300, fill(2, 5, 10.0)),
            (300, fill(3, 5, 10.0)),
            (300, fill(4, 5, 10.0)),
            (350, Answer::Replaced { order_id: 2 }),
            (350, too_late(3)),
            (450, Answer::Replaced { order_id: 4 }),
            (500, fill(1, 2, 9.5)),
            (500, fill(2, 1, 11.0)),
            (500, fill(3, 5, 10.0)),
            (500, fill(4, 15, 12.0)),
            (620, too_late(4)),
        ]
    );
    assert_eq!(x.stats.replaced.load(Ordering::SeqCst), 3);
}

#[test]
fn at_a_logout_the_venue_forgets_its_open_orders() {
    let mut x = Alone::new(&filling(100, 1, 200), 16);
    x.new_order(1, 10, 10.0); // ack due 100, fill due 300
    x.run_to(50);
    x.new_order(2, 10, 10.0); // ack due 150
    // The thread takes the Logout at 120 but the clock stands at 50: what was due by the
    // Logout is said, nothing after.
    x.mock.increment(70 * US);
    x.sim.send_logout(&Logout { username: "t".into() });
    settle(&x.stats);
    assert_eq!(x.run_to(1000), [(120, accept(1))]);
    x.cancel(1);
    assert_eq!(x.run_to(1200), [(1100, too_late(1))], "the venue no longer knows order 1");
    x.sim.send_logon(&Logon { username: "t".into(), password: Default::default() });
    x.new_order(3, 1, 5.0);
    assert_eq!(x.run_to(1500), [(1300, accept(3)), (1500, fill(3, 1, 5.0))]);
}

#[test]
fn answers_owed_to_an_ended_order_do_not_reach_a_new_order_with_its_id() {
    let mut x = Alone::new(&filling(100, 2, 200), 16);
    x.new_order(1, 10, 10.0); // ack 100, fills due 300, 500
    x.run_to(110);
    x.cancel(1); // cancelled at 210
    x.run_to(220);
    x.new_order(1, 4, 8.0); // the id again: ack 320, fills 520, 720
    x.run_to(800);
    assert_eq!(
        x.log,
        [
            (100, accept(1)),
            (210, Answer::Cancelled { order_id: 1 }),
            (320, accept(1)),
            (520, fill(1, 2, 8.0)),
            (720, fill(1, 2, 8.0)),
        ]
    );
}

/// The same messages at the same times, with the thread taking them as they come (in a
/// turn that may be delivering answers) or each waited for: the same answers at the same
/// times.
#[test]
fn a_seed_gives_the_same_answers_however_the_thread_interleaves() {
    let s = SimulatedSettings {
        latency_min_us: 5,
        latency_max_us: 60,
        reject_ratio: 0.2,
        seed: 11,
        fill_ratio: 0.7,
        fill_parts: 3,
        fill_interval_us: 20,
    };
    let run = |s: &SimulatedSettings, settle_sends: bool| {
        let mut x = Alone::new(s, 256);
        x.settle_sends = settle_sends;
        let mut got = Vec::new();
        for t in 0..300u64 {
            let id = t / 3 + 1;
            match t % 3 {
                0 => x.new_order(id, 1 + t % 17, 10.0 + (t % 5) as f64),
                1 if t % 2 == 1 => x.cancel(id.saturating_sub(5).max(1)),
                _ => x.replace(id.saturating_sub(3).max(1), 2 + t % 19, 11.0),
            }
            got.extend(x.run_to(t + 1));
        }
        got.extend(x.run_to(600));
        got
    };
    let settled = run(&s, true);
    assert!(settled.len() > 300, "{} answers", settled.len());
    let kinds = |k: fn(&Answer) -> bool| settled.iter().filter(|(_, a)| k(a)).count();
    assert!(kinds(|a| matches!(a, Answer::Fill { .. })) > 50);
    assert!(kinds(|a| matches!(a, Answer::Cancelled { .. })) > 5);
    assert!(kinds(|a| matches!(a, Answer::Replaced { .. })) > 5);
    assert!(kinds(|a| matches!(a, Answer::CancelRejected { .. })) > 5);
    assert_eq!(settled, run(&s, false), "same seed, other interleaving");
    assert_ne!(settled, run(&SimulatedSettings { seed: 12, ..s }, true), "another seed, other draws");
}

/// One answered order: (order id, verdict, latency the engine recorded in ns).
type Verdict = (u64, ResponseType, u64);

/// Sends `n` orders through an engine to a simulated exchange on a manual clock, the first
/// `first` of them at once and the rest after `gap_steps` clock steps of `step_ns`, then
/// steps the clock until every order is answered. Returns the answers sorted by order id.
fn run(s: &SimulatedSettings, n: u64, first: u64, gap_steps: u64, step_ns: u64) -> Vec<Verdict> {
    run_with_capacity(s, n, first, gap_steps, step_ns, n as usize)
}

/// [`run`] with the exchange's `capacity` given.
fn run_with_capacity(
    s: &SimulatedSettings,
    n: u64,
    first: u64,
    gap_steps: u64,
    step_ns: u64,
    capacity: usize,
) -> Vec<Verdict> {
    let mut cfg = Config::default();
    cfg.throttle.max_orders_per_sec = 1_000_000;
    cfg.throttle.burst = Some(n as u32);
    cfg.engine.ring_capacity = n as usize;
    cfg.engine.max_in_flight = n as usize;
    cfg.engine.max_queued_orders = n as usize;
    let valid = cfg.validate().expect("valid config");
    let (clock, mock) = EngineClock::manual(WALL);
    let (mut b, responder) = EngineBuilder::new(&valid.engine, clock);
    let mut producer = b.producer().expect("a producer handle");
    let sim = SimulatedExchange::spawn(s, responder, b.clock().clone(), capacity).expect("thread");
    let stats = sim.stats();
    let mut engine: Engine<SimulatedExchange, MemorySink> =
        b.build(sim, MemorySink::with_capacity(4 * n as usize));
    let mut send = |ids: std::ops::Range<u64>, engine: &mut Engine<_, _>| {
        for id in ids {
            let o = OrderRequest::new(id, 1, Side::Buy, 10.0, 1);
            producer.on_data(o, RequestType::New).expect("the ring holds every order");
        }
        engine.poll();
    };
    let answered = |engine: &Engine<_, MemorySink>| {
        engine.sink().events().iter().filter(|e| e.kind == EventKind::Response).count() as u64
    };
    send(1..first + 1, &mut engine);
    let deadline = Instant::now() + Duration::from_secs(60);
    let mut steps = 0;
    while answered(&engine) < n {
        assert!(Instant::now() < deadline, "{} of {n} answered in 60 s", answered(&engine));
        settle(&stats);
        if steps == gap_steps && first < n {
            send(first + 1..n + 1, &mut engine);
            settle(&stats);
        }
        mock.increment(step_ns);
        steps += 1;
        settle(&stats);
        while engine.poll() > 0 {}
    }
    assert_eq!(engine.stats().sent, n);
    assert_eq!(engine.stats().unmatched, 0);
    let mut answers: Vec<Verdict> = engine
        .sink()
        .events()
        .iter()
        .filter(|e| e.kind == EventKind::Response)
        .map(|e| (e.order_id, e.response, e.latency_ns))
        .collect();
    answers.sort_by_key(|a| a.0);
    answers
}

#[test]
fn latencies_stay_within_the_bounds_and_cover_them() {
    let answers = run(&settings(100, 300, 0.0, 1), 2000, 2000, 0, 1_000);
    let lat: Vec<u64> = answers.iter().map(|a| a.2).collect();
    assert!(lat.iter().all(|l| (100_000..=300_000).contains(l)), "{lat:?}");
    // Uniform over 200 µs, 2000 draws: both ends of the range are reached (to within 10 µs).
    assert!(lat.iter().min().is_some_and(|m| *m <= 110_000), "{lat:?}");
    assert!(lat.iter().max().is_some_and(|m| *m >= 290_000), "{lat:?}");
    let below_mid = lat.iter().filter(|l| **l < 200_000).count();
    assert!((800..=1200).contains(&below_mid), "{below_mid} of 2000 below the middle");
    assert!(answers.iter().all(|a| a.1 == ResponseType::Accept));
}

#[test]
fn a_fixed_latency_is_exact() {
    let answers = run(&settings(150, 150, 0.0, 1), 500, 500, 0, 10_000);
    assert_eq!(answers.len(), 500);
    assert!(answers.iter().all(|a| a.2 == 150_000), "{answers:?}");
}

#[test]
fn the_reject_ratio_is_honoured() {
    let rejects = |ratio: f64| {
        let answers = run(&settings(10, 10, ratio, 3), 2000, 2000, 0, 10_000);
        assert_eq!(answers.len(), 2000);
        answers.iter().filter(|a| a.1 == ResponseType::Reject).count()
    };
    assert_eq!(rejects(0.0), 0);
    assert_eq!(rejects(1.0), 2000);
    // Binomial(2000, 0.25): mean 500, standard deviation 19.4; ±100 is over 5 deviations.
    let quarter = rejects(0.25);
    assert!((400..=600).contains(&quarter), "{quarter} of 2000 rejected at ratio 0.25");
}

#[test]
fn a_seed_gives_every_order_the_same_latency_and_verdict() {
    let s = settings(20, 400, 0.3, 42);
    let at_once = run(&s, 1000, 1000, 0, 1_000);
    // Half the orders first, the rest after some answers have gone out: the exchange
    // thread interleaves its work differently, the draws per order must not change.
    let in_two_goes = run(&s, 1000, 500, 150, 1_000);
    assert_eq!(at_once.len(), 1000);
    let differ = |a: &[Verdict], b: &[Verdict]| a.iter().zip(b).filter(|(x, y)| x != y).count();
    let first = at_once.iter().zip(&in_two_goes).find(|(x, y)| x != y);
    assert_eq!(differ(&at_once, &in_two_goes), 0, "same seed, first difference: {first:?}");
    let other_seed = run(&settings(20, 400, 0.3, 43), 1000, 1000, 0, 1_000);
    assert!(differ(&at_once, &other_seed) > 500, "another seed gives other draws");
}

/// A ring of one order: most of a burst finds it full. Every order is still answered,
/// exactly once, as the exchange would answer it (here: accepted), not dropped or rejected.
#[test]
fn orders_that_find_the_ring_full_are_all_answered_once() {
    const N: u64 = 1000;
    let (clock, mock) = EngineClock::manual(WALL);
    let (responder, mut tap) = crate::exchange::response_tap(N as usize, &clock);
    let mut sim =
        SimulatedExchange::spawn(&settings(10, 10, 0.0, 5), responder, clock.clone(), 1).expect("thread");
    let stats = sim.stats();
    for id in 1..=N {
        sim.send(&OrderRequest::new(id, 1, Side::Buy, 10.0, 1)).expect("taken");
    }
    // Nothing is due before the clock moves: the thread takes at most one order per idle turn.
    assert!(stats.overflow.load(Ordering::Relaxed) > 0, "the ring never filled: the test proves nothing");
    mock.increment(10_000);
    let mut answers = vec![0u32; N as usize + 1];
    let mut got = 0;
    let deadline = Instant::now() + Duration::from_secs(10);
    while got < N {
        assert!(Instant::now() < deadline, "{got} of {N} orders answered in 10 s");
        sim.poll(clock.now_ns(), &mut |e| panic!("the simulated exchange reports nothing: {e:?}"));
        while let Some((r, _)) = tap.pop() {
            let crate::ring::Answer::Response(r) = r else { panic!("only first answers: {r:?}") };
            assert_eq!(r.response_type, ResponseType::Accept, "order {}", r.order_id);
            answers[r.order_id as usize] += 1;
            got += 1;
        }
        std::thread::yield_now();
    }
    // Two more turns of the exchange thread: a second answer to any order would show now.
    sim.poll(clock.now_ns(), &mut |_| {});
    settle(&stats);
    assert!(tap.is_empty(), "more answers than orders");
    let not_once: Vec<_> = (1..=N).filter(|&id| answers[id as usize] != 1).collect();
    assert!(not_once.is_empty(), "orders not answered exactly once: {not_once:?}");
    assert_eq!(stats.accepted.load(Ordering::Relaxed), N);
    assert_eq!(stats.received.load(Ordering::Relaxed), N);
}

/// Through the engine, an exchange with room for 2 of 300 orders sent at once: the engine
/// polls the exchange each turn, the backlog drains, every order is answered once and matched.
#[test]
fn through_the_engine_a_small_capacity_answers_every_order() {
    let answers = run_with_capacity(&settings(50, 50, 0.0, 9), 300, 300, 0, 10_000, 2);
    let ids: Vec<u64> = answers.iter().map(|a| a.0).collect();
    assert_eq!(ids, (1..=300).collect::<Vec<_>>(), "each order answered exactly once");
    assert!(answers.iter().all(|a| a.1 == ResponseType::Accept && a.2 >= 50_000), "{answers:?}");
}

/// Through the engine: fills in parts, a cancel of a working order, a replace, and a cancel
/// that loses the race to a fill are recorded as such, with exact round trips, and the
/// journal keeps every rule.
#[test]
fn through_the_engine_every_step_of_a_life_is_recorded_and_audits_clean() {
    let mut cfg = Config::default();
    cfg.throttle.max_orders_per_sec = 1_000_000;
    cfg.throttle.burst = Some(16);
    let valid = cfg.validate().expect("valid config");
    let (clock, mock) = EngineClock::manual(WALL);
    let (mut b, responder) = EngineBuilder::new(&valid.engine, clock);
    let mut producer = b.producer().expect("a producer handle");
    // Acks 100 µs after the send; fills of 5 at 300 and 500 µs.
    let sim =
        SimulatedExchange::spawn(&filling(100, 2, 200), responder, b.clock().clone(), 64).expect("thread");
    let stats = sim.stats();
    let mut engine = b.build(sim, MemorySink::with_capacity(256));
    let t0 = engine.clock().now_ns();
    let step_to = |engine: &mut Engine<SimulatedExchange, MemorySink>, t_us: u64| {
        while engine.clock().now_ns() - t0 < t_us * US {
            mock.increment(10 * US);
            settle(&stats);
            while engine.poll() > 0 {}
        }
    };
    for id in 1..=4 {
        producer.on_data(OrderRequest::new(id, 1, Side::Buy, 10.0, 10), RequestType::New).expect("room");
    }
    while engine.poll() > 0 {}
    let mut request = |engine: &mut Engine<_, _>, o: OrderRequest, r: RequestType| {
        producer.on_data(o, r).expect("room");
        while engine.poll() > 0 {}
        settle(&stats);
    };
    step_to(&mut engine, 150);
    request(&mut engine, OrderRequest::new(1, 1, Side::Buy, 0.0, 0), RequestType::Cancel);
    step_to(&mut engine, 350);
    request(&mut engine, OrderRequest::new(2, 1, Side::Buy, 11.0, 20), RequestType::Modify);
    step_to(&mut engine, 450);
    request(&mut engine, OrderRequest::new(3, 1, Side::Buy, 0.0, 0), RequestType::Cancel);
    step_to(&mut engine, 700);
    let report = engine.shutdown();
    let ev = report.sink.events();
    let of = |id: u64| ev.iter().filter(|e| e.order_id == id).map(|e| e.kind).collect::<Vec<_>>();
    use EventKind as K;
    assert_eq!(of(1), [K::Sent, K::Response, K::CancelSent, K::VenueCancelled]);
    assert_eq!(of(2), [K::Sent, K::Response, K::Fill, K::ReplaceSent, K::Replaced, K::Filled]);
    // The cancel went out while the order was working; the last fill came first, and the
    // venue's "too late" found the order ended.
    assert_eq!(of(3), [K::Sent, K::Response, K::Fill, K::CancelSent, K::Filled, K::UnexpectedReport]);
    assert_eq!(of(4), [K::Sent, K::Response, K::Fill, K::Filled]);
    let find = |id: u64, k: K| ev.iter().find(|e| e.order_id == id && e.kind == k).copied().expect("record");
    assert_eq!(find(1, K::VenueCancelled).latency_ns, 100 * US, "the cancel's round trip");
    let replaced = find(2, K::Replaced);
    assert_eq!((replaced.latency_ns, replaced.qty, replaced.price), (100 * US, 20, 11.0));
    let filled = find(2, K::Filled);
    assert_eq!((filled.qty, filled.price, filled.latency_ns), (15, 11.0, 20), "15 at 11: 20 done");
    assert_eq!(report.stats.unanswered, 0);
    let audit = crate::audit::audit(
        ev,
        &valid.engine.session.window,
        &valid.engine.throttle,
        crate::audit::AuditOptions::LIVE,
    );
    assert!(audit.is_clean(), "{audit}");
}
