//! What each idle strategy does with the engine's core when there is no work.
//!
//! - `park` sleeps until the engine's next deadline, at most `park_max_us`. On a manual clock the
//!   sleep is computed from manual time, so the tests move the clock while the engine is parked
//!   and check it acts within a bound that a park ignoring its deadline (or its maximum) would
//!   blow by far: the real-time limits here are tens of times the sleep they check, for a busy
//!   two-core CI box.
//! - `park` leaves the core idle: CPU time of the engine thread over a quiet second, read from
//!   `/proc/self/task/TID/schedstat`, is a small fraction of a second, where a spinning engine in
//!   the same second uses a large part of one.
//! - `yield` gives the core away: pinned to one core with a busy thread, a yielding engine lets
//!   that thread have nearly all of it, where a spinning engine takes about half. Comparing the
//!   two threads' shares of the same core keeps the check independent of the machine's load.

mod runner_common;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use oms::runner::{EngineHandle, IdleStrategy};
use oms::{EngineBuilder, EngineClock, EngineReport, MemorySink, OrderRequest, Producer, RequestType, Side};
use quanta::Mock;
use runner_common::*;

/// A running engine on a manual clock at [`WALL_IN_WINDOW`], with a [`Probe`] exchange.
struct Manual {
    handle: Option<EngineHandle<Probe, MemorySink>>,
    probe: Arc<ProbeState>,
    producer: Producer,
    mock: Arc<Mock>,
}

impl Manual {
    fn stop(mut self) -> EngineReport<Probe, MemorySink> {
        stop_within(self.handle.take().expect("running"), 30)
    }
}

impl Drop for Manual {
    fn drop(&mut self) {
        // A failed check may leave the engine parked for a long time: let the test fail now
        // instead of joining the thread (the process ends it when the tests are done).
        if std::thread::panicking() {
            std::mem::forget(self.handle.take());
        }
    }
}

/// Starts an engine on a manual clock; `before` runs on the producer before the thread starts.
fn manual_engine(cfg: oms::Config, before: impl FnOnce(&mut Producer)) -> Manual {
    let valid = cfg.validate().expect("valid");
    let (clock, mock) = EngineClock::manual(WALL_IN_WINDOW);
    let (mut b, _r) = EngineBuilder::new(&valid.engine, clock);
    let mut producer = b.producer().expect("a producer handle");
    before(&mut producer);
    let probe = Probe::default();
    let engine = b.build(probe.clone(), MemorySink::with_capacity(64));
    let handle = EngineHandle::spawn(engine, &valid.runner).expect("spawn");
    Manual { handle: Some(handle), probe: probe.0, producer, mock }
}

fn order(id: u64) -> OrderRequest {
    OrderRequest::new(id, 1, Side::Buy, 10.0, 1)
}

/// Waits until the engine thread is asleep (state `S`): parked, since nothing else in its loop
/// blocks.
fn wait_parked(tid: u64) {
    wait_until(30, "the engine thread to park", || thread_state(tid) == 'S');
}

#[test]
fn park_wakes_for_the_next_deadline_not_at_park_max() {
    // 4 orders/s, burst 1: after each send the next permit is 250 ms of manual time away.
    let mut cfg = manual_config();
    cfg.throttle.max_orders_per_sec = 4;
    cfg.throttle.burst = Some(1);
    cfg.engine.idle = IdleStrategy::Park.name().into();
    cfg.engine.park_max_us = 60_000_000; // a minute: only the deadline can wake it sooner
    let m = manual_engine(cfg, |p| {
        p.on_data(order(1), RequestType::New).expect("room");
        p.on_data(order(2), RequestType::New).expect("room");
        p.on_data(order(3), RequestType::New).expect("room");
    });
    let tid = m.probe.engine_thread(30).tid;
    wait_until(30, "order 1 to be sent", || m.probe.sent() == 1);
    wait_parked(tid);
    assert_eq!(m.probe.sent(), 1, "order 2 waits for the throttle");
    // The parked engine sleeps 250 ms at a time (the distance to its deadline in manual time);
    // once manual time reaches the deadline, the next wake-up sends order 2.
    m.mock.increment(Duration::from_millis(250));
    let t0 = Instant::now();
    wait_until(15, "order 2 after the throttle deadline passed (park sleeps ≤ 250 ms)", || {
        m.probe.sent() == 2
    });
    eprintln!("order 2 sent {:?} after the deadline passed", t0.elapsed());
    let report = m.stop();
    assert_eq!(report.stats.sent, 2, "order 3 waits for the next permit");
}

#[test]
fn park_wakes_within_park_max_when_no_deadline_is_near() {
    // The next deadline is the logout, 2.5 h of manual time away: only park_max_us (100 ms)
    // bounds the sleep, so a new order is taken within it.
    let mut cfg = manual_config();
    cfg.engine.idle = IdleStrategy::Park.name().into();
    cfg.engine.park_max_us = 100_000;
    let mut m = manual_engine(cfg, |_| {});
    let tid = m.probe.engine_thread(30).tid;
    wait_parked(tid);
    m.producer.on_data(order(1), RequestType::New).expect("room");
    let t0 = Instant::now();
    wait_until(15, "the parked engine to take a new order (park sleeps ≤ 100 ms)", || m.probe.sent() == 1);
    eprintln!("new order sent {:?} after it was handed over", t0.elapsed());
    m.stop();
}

#[test]
fn stop_wakes_a_parked_engine() {
    // park_max a minute and the next deadline (the logout) hours of manual time away: the
    // parked engine would sleep a minute; a stop must end it at once.
    let mut cfg = manual_config();
    cfg.engine.idle = IdleStrategy::Park.name().into();
    cfg.engine.park_max_us = 60_000_000;
    let m = manual_engine(cfg, |_| {});
    let tid = m.probe.engine_thread(30).tid;
    wait_parked(tid);
    let t0 = Instant::now();
    let handle = { m }.handle.take().expect("running");
    let _report = stop_within(handle, 30);
    assert!(t0.elapsed() < Duration::from_secs(20), "stop took {:?}: it waited for park_max", t0.elapsed());
}

/// CPU time, ns, of each thread in `tids` over one second.
fn cpu_over_a_second(tids: &[u64]) -> Vec<u64> {
    let before: Vec<u64> = tids.iter().map(|t| thread_cpu_ns(*t)).collect();
    std::thread::sleep(Duration::from_secs(1));
    tids.iter().zip(before).map(|(t, b)| thread_cpu_ns(*t) - b).collect()
}

/// An engine with nothing to do on a manual clock (logged on, no orders), idling as `idle`,
/// pinned to `core`. Returns it and its thread id.
fn quiet_engine(idle: IdleStrategy, core: Option<usize>) -> (Manual, u64) {
    let mut cfg = manual_config();
    cfg.engine.idle = idle.name().into();
    cfg.engine.core = core;
    let m = manual_engine(cfg, |_| {});
    let tid = m.probe.engine_thread(30).tid;
    (m, tid)
}

#[test]
fn park_leaves_the_core_idle() {
    let (park, park_tid) = quiet_engine(IdleStrategy::Park, None); // park_max_us: 1000 (default)
    let (spin, spin_tid) = quiet_engine(IdleStrategy::Spin, None);
    let cpu = cpu_over_a_second(&[park_tid, spin_tid]);
    let (park_ns, spin_ns) = (cpu[0], cpu[1]);
    eprintln!(
        "over one quiet second: park {} ms, spin {} ms of CPU",
        park_ns / 1_000_000,
        spin_ns / 1_000_000
    );
    park.stop();
    spin.stop();
    // Spinning uses all the CPU it is given (a whole core on an idle machine): the reading works.
    assert!(spin_ns > 4 * park_ns.max(10_000_000), "spin {spin_ns} ns vs park {park_ns} ns");
    // Parking wakes about 1000 times a second for a few µs each: well under 15% of a core.
    assert!(park_ns < 150_000_000, "a parked engine used {park_ns} ns of CPU in one quiet second");
}

/// Spins on its own thread, pinned to `core`, until `stop`; reports its thread id.
fn busy_thread(core: usize, stop: Arc<AtomicBool>, tid: Arc<AtomicU64>) -> std::thread::JoinHandle<()> {
    std::thread::spawn(move || {
        assert!(core_affinity::set_for_current(core_affinity::CoreId { id: core }), "pin the busy thread");
        tid.store(current_tid(), Ordering::SeqCst);
        while !stop.load(Ordering::Relaxed) {
            std::hint::spin_loop();
        }
    })
}

/// CPU of (engine, busy thread), both pinned to `core`, over one second.
fn share_of_one_core(idle: IdleStrategy, core: usize) -> (u64, u64) {
    let (engine, engine_tid) = quiet_engine(idle, Some(core));
    let (stop, tid) = (Arc::new(AtomicBool::new(false)), Arc::new(AtomicU64::new(0)));
    let busy = busy_thread(core, stop.clone(), tid.clone());
    wait_until(30, "the busy thread to start", || tid.load(Ordering::SeqCst) != 0);
    let cpu = cpu_over_a_second(&[engine_tid, tid.load(Ordering::SeqCst)]);
    stop.store(true, Ordering::Relaxed);
    busy.join().expect("busy thread");
    engine.stop();
    (cpu[0], cpu[1])
}

#[test]
fn yield_gives_the_core_to_another_thread() {
    let core = *cores().last().expect("a core");
    let (yield_ns, busy_with_yield) = share_of_one_core(IdleStrategy::Yield, core);
    let (spin_ns, busy_with_spin) = share_of_one_core(IdleStrategy::Spin, core);
    let ms = |ns: u64| ns / 1_000_000;
    eprintln!(
        "one second on core {core}: yield engine {} ms vs busy thread {} ms; spin engine {} ms vs busy \
         thread {} ms",
        ms(yield_ns),
        ms(busy_with_yield),
        ms(spin_ns),
        ms(busy_with_spin)
    );
    // A spinning engine holds its fair share (about half): the two threads did compete.
    assert!(3 * spin_ns > busy_with_spin, "spin {spin_ns} ns vs busy {busy_with_spin} ns");
    // A yielding engine hands the core over: the busy thread gets nearly all of it.
    assert!(10 * yield_ns < busy_with_yield, "yield {yield_ns} ns vs busy {busy_with_yield} ns");
}

/// A manual-clock config idling with `backoff`, sleeping at most a minute at a time: only a
/// wake-up (a push, a stop) or a deadline ends a sleep within the tests' bounds.
fn backoff_config() -> oms::Config {
    let mut cfg = manual_config();
    cfg.engine.idle = IdleStrategy::Backoff.name().into();
    cfg.engine.sleep_max_us = 60_000_000;
    cfg
}

#[test]
fn backoff_sleeps_and_a_push_wakes_it() {
    let mut m = manual_engine(backoff_config(), |_| {});
    let tid = m.probe.engine_thread(30).tid;
    wait_parked(tid);
    for id in 1..=3 {
        m.producer.on_data(order(id), RequestType::New).expect("room");
        let t0 = Instant::now();
        wait_until(15, "the sleeping engine to take a new order (it sleeps up to a minute)", || {
            m.probe.sent() == id
        });
        eprintln!("order {id} sent {:?} after it was handed over", t0.elapsed());
        wait_parked(tid);
    }
    m.stop();
}

#[test]
fn backoff_wakes_for_the_next_deadline() {
    // As `park_wakes_for_the_next_deadline_not_at_park_max`: the next permit is 250 ms of
    // manual time away, the longest sleep a minute.
    let mut cfg = backoff_config();
    cfg.throttle.max_orders_per_sec = 4;
    cfg.throttle.burst = Some(1);
    let m = manual_engine(cfg, |p| {
        p.on_data(order(1), RequestType::New).expect("room");
        p.on_data(order(2), RequestType::New).expect("room");
    });
    let tid = m.probe.engine_thread(30).tid;
    wait_until(30, "order 1 to be sent", || m.probe.sent() == 1);
    wait_parked(tid);
    assert_eq!(m.probe.sent(), 1, "order 2 waits for the throttle");
    m.mock.increment(Duration::from_millis(250));
    wait_until(15, "order 2 after the throttle deadline passed (the sleep is ≤ 250 ms)", || {
        m.probe.sent() == 2
    });
    m.stop();
}

#[test]
fn stop_wakes_a_sleeping_backoff_engine() {
    let m = manual_engine(backoff_config(), |_| {});
    let tid = m.probe.engine_thread(30).tid;
    wait_parked(tid);
    let t0 = Instant::now();
    let handle = { m }.handle.take().expect("running");
    let _report = stop_within(handle, 30);
    assert!(t0.elapsed() < Duration::from_secs(20), "stop took {:?}: it waited for sleep_max", t0.elapsed());
}

#[test]
fn backoff_leaves_the_core_idle_and_reports_its_cpu_time() {
    let (backoff, backoff_tid) = quiet_engine(IdleStrategy::Backoff, None);
    let (spin, spin_tid) = quiet_engine(IdleStrategy::Spin, None);
    wait_parked(backoff_tid);
    let before = backoff.handle.as_ref().and_then(|h| h.engine_cpu_time()).expect("the engine's CPU time");
    let cpu = cpu_over_a_second(&[backoff_tid, spin_tid]);
    let spin_cpu = spin.handle.as_ref().and_then(|h| h.engine_cpu_time()).expect("the engine's CPU time");
    let (backoff_ns, spin_ns) = (cpu[0], cpu[1]);
    eprintln!(
        "over one quiet second: backoff {} µs, spin {} ms of CPU; spin's own report {spin_cpu:?}",
        backoff_ns / 1_000,
        spin_ns / 1_000_000
    );
    let after = backoff.handle.as_ref().and_then(|h| h.engine_cpu_time()).expect("the engine's CPU time");
    backoff.stop();
    spin.stop();
    assert!(spin_ns > 4 * backoff_ns.max(10_000_000), "spin {spin_ns} ns vs backoff {backoff_ns} ns");
    // Asleep between timers (the next one hours of manual time away, the longest sleep 100 ms
    // by default): a few wake-ups a second, well under 5 % of a core.
    assert!(backoff_ns < 50_000_000, "a sleeping engine used {backoff_ns} ns of CPU in one quiet second");
    // The handle's report reads the same thread: the spinning engine's shows most of its time.
    assert!(spin_cpu >= Duration::from_millis(100), "spin's reported CPU time {spin_cpu:?}");
    assert!(
        after - before < Duration::from_millis(50),
        "backoff's reported CPU time grew {:?}",
        after - before
    );
}

#[test]
fn a_halt_wakes_a_sleeping_backoff_engine() {
    // The operator's switch rings the doorbell: a halt is taken at once, not at the end of a
    // sleep of up to a minute.
    let valid = backoff_config().validate().expect("valid");
    let (clock, _mock) = EngineClock::manual(WALL_IN_WINDOW);
    let (mut b, _r) = EngineBuilder::new(&valid.engine, clock);
    let _producer = b.producer().expect("a producer handle");
    let switch = b.halt_switch();
    let probe = Probe::default();
    let engine = b.build(probe.clone(), MemorySink::with_capacity(64));
    let handle = EngineHandle::spawn(engine, &valid.runner).expect("spawn");
    let tid = probe.0.engine_thread(30).tid;
    wait_parked(tid);
    let asleep = thread_cpu_ns(tid);
    switch.halt();
    wait_until(15, "the sleeping engine to wake for the halt (it sleeps up to a minute)", || {
        thread_cpu_ns(tid) > asleep
    });
    let report = stop_within(handle, 30);
    let kinds: Vec<oms::EventKind> = report.sink.events().iter().map(|r| r.kind).collect();
    assert!(kinds.contains(&oms::EventKind::Halted), "{kinds:?}");
}
