//! Many producers: the engine with 1, 4, 16 and 64 producer rings, (a) all active at the same
//! aggregate rate (order `i` goes into ring `i mod N`), (b) one active and the rest idle,
//! each with the engine finding the rings with work through its ready mask (`mask`, the
//! default: it visits the rings whose bit is set, and a sweep clears the bits of rings idle for
//! ~1024 turns) and by polling every ring each turn (`every_ring`, the design before the mask;
//! `EngineBuilder::poll_every_ring`), interleaved in the same run.
//!
//! One producer thread (pinned to the producer core) drives every ring: on a 2-vCPU machine 64
//! spinning producer threads would share one core, and the figures would be the scheduler's
//! time slices, not the engine's. The engine's side, what the section is about, is the same:
//! the rings it visits, and the mask's word the pushes set. The threads' own contention on that
//! word (one cache line for 64 rings) is not measured here; `tests/ready_mask.rs` runs threads
//! at once for correctness.
//!
//! Per run: on_data → send percentiles (open loop, from the intended instant, as in
//! [`crate::oms_design`]), the engine's **ns per loop turn** (turns counted in the probe
//! exchange's `poll`, once per turn; `ns/turn` over the wall-clock time between its first and
//! last turn, `cpu/turn` over the engine thread's CPU time, which leaves out the time it was
//! preempted: the engine spins, so most turns find nothing, and those are what 63 idle rings
//! make longer), its CPU share, and how often the producer was pushed back. The rings hold [`RING`] requests each (the default
//! 65536 would allocate 64 × 3.7 MiB), the same for every count.

use std::path::Path;
use std::time::Duration;

use oms::engine::EngineBuilder;
use oms::runner::IdleStrategy;
use oms::{EngineClock, RequestType};
use serde_json::{Value, json};

use crate::common;
use crate::driver::{self, Probe, Schedule};
use crate::oms_design::{ProbeExchange, ProbeSink, start};
use crate::report;

/// Producer rings per run.
pub const COUNTS: [usize; 4] = [1, 4, 16, 64];
/// Capacity of each producer ring.
pub const RING: usize = 8192;

/// Which rings get the orders.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Active {
    /// Order `i` into ring `i mod N`.
    All,
    /// Every order into ring 0; the others stay empty.
    One,
}

impl Active {
    fn name(self) -> &'static str {
        match self {
            Active::All => "all_active",
            Active::One => "one_active",
        }
    }
}

/// One run's figures.
pub struct Outcome {
    /// on_data → send.
    pub send: Probe,
    /// Loop turns and the engine-clock ns from the first to the last.
    pub turns: (u64, u64),
    /// Producer push-backs (a full ring).
    pub pushback: u64,
    /// Every order answered in time.
    pub complete: bool,
    /// Where the engine's and the producer's time went.
    pub time: (driver::Whereabouts, driver::Whereabouts),
}

/// One run: `n` rings, `active` of them fed, the engine polling every ring or not, spinning idle.
pub fn run(
    schedule: &Schedule,
    engine_core: Option<usize>,
    dir: &Path,
    n: usize,
    active: Active,
    every_ring: bool,
) -> Outcome {
    driver::settle();
    let mut raw = common::raw_config(engine_core, 2_000_000_000, 2_000_000_000, dir);
    raw.engine.idle = IdleStrategy::Spin.name().into();
    raw.engine.ring_capacity = RING;
    raw.journal.prepare_records = Some(schedule.orders * 2 + 65_536);
    let cfg = raw.validate().expect("bench config is valid");
    let clock = EngineClock::new(schedule.clock.clone(), oms::clock::system_wall_ns());
    let (mut b, responder) = EngineBuilder::new(&cfg.engine, clock.clone());
    b.poll_every_ring(every_ring);
    let mut producers: Vec<_> = (0..n).map(|_| b.producer().expect("a producer handle")).collect();
    let inner = common::make_sink(&raw, &clock);
    let rt_probe = Probe::new(schedule);
    let done = rt_probe.done.clone();
    let engine = b.build(ProbeExchange::new(schedule, responder), ProbeSink::new(inner, rt_probe));
    let (schedule, handle, engine_time) = start(engine, &cfg.runner, schedule, |sink, s| sink.restart(s));
    let schedule = &schedule;
    let pushback = driver::produce(schedule, |o| {
        let k = match active {
            Active::All => (Schedule::index(o.order_id) % n as u64) as usize,
            Active::One => 0,
        };
        producers[k].on_data(o, RequestType::New).map_err(|e| e.order)
    });
    let complete = driver::wait_for(&done, schedule.orders, Duration::from_secs(60));
    let engine_time = engine_time.stop();
    let report = handle.stop().expect("engine thread stops cleanly");
    assert_eq!(report.exchange.lost, 0, "the response ring overflowed: the run is invalid");
    Outcome {
        turns: report.exchange.turn_count(),
        time: (engine_time, driver::producer_stalls().1),
        send: report.exchange.into_probe(),
        pushback,
        complete,
    }
}

/// The section: every count, both modes, both scans, at `rate_all` (all active) and each of
/// `rates_one` (one active), `secs` each. Prints its table and returns its rows for
/// `summary.json`.
pub fn section(
    schedule: &dyn Fn(Option<u64>, u64) -> Schedule,
    engine_core: Option<usize>,
    rate_all: u64,
    rates_one: &[u64],
    secs: f64,
) -> Vec<Value> {
    println!(
        "\n== many producers: 1-64 rings (ring capacity {RING}), one producer thread driving them all; all \
         active (order i into ring i mod N) or one active; the engine visiting the rings its ready mask names \
         (mask) or polling every ring (every_ring); spin idle: on_data -> send, engine ns per loop turn"
    );
    println!(
        "{:<11}{:>6}{:>5}{:<11}{:>10}{:>10}{:>10}{:>10}{:>10}{:>9}{:>9}{:>9}{:>6}{:>9}",
        "mode",
        "rate",
        "N",
        " scan",
        "p50",
        "p90",
        "p99",
        "p99.9",
        "max",
        "ns/turn",
        "cpu/turn",
        "pushback",
        "cpu%",
        "preempt"
    );
    let mut specs: Vec<(Active, u64)> = vec![(Active::All, rate_all)];
    specs.extend(rates_one.iter().map(|&r| (Active::One, r)));
    let mut rows = Vec::new();
    for (active, rate) in specs {
        for n in COUNTS {
            for every_ring in [false, true] {
                let orders = ((rate as f64 * secs) as u64).max(1);
                let dir = tempfile::tempdir().expect("temp dir for the journal");
                let pre = driver::preemptions();
                let o = run(&schedule(Some(rate), orders), engine_core, dir.path(), n, active, every_ring);
                let preempted = driver::preemptions() - pre;
                let p = report::pcts(&o.send.send);
                let ns_per_turn = o.turns.1 as f64 / o.turns.0.max(1) as f64;
                let cpu = o.time.0;
                let cpu_per_turn = cpu.on_cpu_ns as f64 / o.turns.0.max(1) as f64;
                let cpu_pct = (cpu.wall_ns > 0).then(|| 100.0 * cpu.on_cpu_ns as f64 / cpu.wall_ns as f64);
                let scan = if every_ring { "every_ring" } else { "mask" };
                println!(
                    "{:<11}{:>6}{n:>5} {scan:<10}{:>10}{:>10}{:>10}{:>10}{:>10}{ns_per_turn:>9.1}{cpu_per_turn:>9.1}{:>9}{:>6.0}{:>9}{}",
                    active.name(),
                    report::rate_label(rate as f64),
                    report::ns(p[0]),
                    report::ns(p[1]),
                    report::ns(p[2]),
                    report::ns(p[3]),
                    report::ns(p[5]),
                    o.pushback,
                    cpu_pct.unwrap_or(f64::NAN),
                    preempted,
                    if o.complete { "" } else { " (INCOMPLETE)" }
                );
                rows.push(json!({
                    "design": "oms", "idle": "spin", "producers": n, "mode": active.name(), "scan": scan,
                    "rate": rate, "p50_ns": p[0], "p90_ns": p[1], "p99_ns": p[2], "p999_ns": p[3],
                    "p9999_ns": p[4], "max_ns": p[5], "samples": o.send.send.len(),
                    "turns": o.turns.0, "ns_per_turn": (ns_per_turn * 10.0).round() / 10.0,
                    "cpu_ns_per_turn": (cpu_per_turn * 10.0).round() / 10.0,
                    "engine_cpu_pct": cpu_pct.map(|c| (c * 10.0).round() / 10.0),
                    "pushback": o.pushback, "preempted": preempted, "complete": o.complete,
                    "engine_queued_ms": cpu.queued_ns as f64 / 1e6, "engine_host_ms": cpu.host_ns() as f64 / 1e6,
                    "producer_queued_ms": o.time.1.queued_ns as f64 / 1e6,
                }));
            }
        }
    }
    rows
}
