//! Tail-latency harness: the `oms` engine against a conventional design, open loop, with
//! coordinated-omission-correct percentiles. `cargo bench --bench tail_latency` (add `-- --quick`
//! or set `OMS_BENCH_QUICK=1` for the CI smoke version, well under a minute).
//!
//! **What runs.** For each offered rate (10k, 100k and 1M orders/s, then "max": 90 % of the
//! engine's measured saturation throughput) the same open-loop producer ([`driver`]) feeds first
//! the oms engine ([`oms_design`]), then the baseline ([`baseline`]: Mutex + VecDeque + HashMap,
//! a Condvar-woken sender thread, responses logged as text through a BufWriter). Before the max
//! runs, an unpaced saturation probe of each design measures the highest throughput it takes.
//! Then the Modify / Cancel mix ([`mix`]) and the cancel of working orders ([`cancel`]: at 10k
//! and 100k requests/s, New and Cancel alternating, on_data(Cancel) → `send_cancel` beside
//! on_data(New) → `send`). Last, the ring comparison ([`rings`]): crossbeam `ArrayQueue` vs
//! `rtrb` in the same driver. And many producers ([`producers`]: 1 to 64 rings, all active or
//! one, the engine's ready mask against polling every ring). And the risk limits at 1M/s
//! ([`risk`]: no `[risk]` and every limit set, none binding, alternating, twice each).
//!
//! **How it measures.** Order `i` is meant to go at `start + i / rate`; its latency is taken from
//! that intended instant, so a stall counts against every order it delays. Two points: at the
//! exchange `send` (on_data → send) and when the response has been matched and recorded (round
//! trip; the no-op exchange answers inline through the response ring, so no third thread
//! spins; its answer is `Reject`, which ends the order, so that the engine's table of orders
//! at the exchange never fills: see [`oms_design`]). Both are read on the engine thread with the engine's TSC clock and go into
//! pre-sized hdrhistograms (no allocation). The first 0.25 s (0.05 s quick) of each run is
//! warm-up and not recorded.
//!
//! **Where.** The producer is pinned to the first core and the engine (or the baseline's sender)
//! to the second; on a single-core machine nothing is pinned and the header says so. The throttle
//! is set to 2·10⁹/s so it never binds. At each rate the oms engine runs twice, idling by
//! spinning (`spin`) and by `backoff` (spin 20 µs, yield 20 µs, adapting down to 2 µs, then
//! sleep until a push wakes it), each recording into the journal and then into a counting sink
//! (`oms counting`, `oms backoff counting`: the journal off, so the two rows show what the
//! journal costs), each beside the same baseline run; each oms row reports the engine thread's
//! CPU time as a share of one core (`engine_cpu_pct` in `summary.json`, with `idle`, `sink` and
//! `producers`).
//!
//! **One section.** `-- --only mix` (or `rates`, `cancel`, `rings`, `producers`, `risk`) runs that section alone and writes no
//! files; `rates` includes the saturation probe and the max run.
//!
//! **Output.** A table per rate (both designs and the baseline/oms ratio per percentile), then
//! in `$CARGO_TARGET_DIR/tail-latency/` (default `target/tail-latency/`): `summary.json`, one
//! `.hgrm` per run and metric, and `percentiles.svg`.

#[path = "../common/mod.rs"]
mod common;

mod baseline;
mod cancel;
mod driver;
mod ipc;
mod mix;
mod oms_design;
mod producers;
mod report;
mod rings;
mod risk;

use std::path::PathBuf;
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use driver::Schedule;
use oms::runner::IdleStrategy;
use report::Run;

/// The engine's idle strategies measured at every rate, each beside the baseline.
const IDLES: [IdleStrategy; 2] = [IdleStrategy::Spin, IdleStrategy::Backoff];

/// The sinks behind the engine at every rate: the journal (journal on), then a counting sink
/// (journal off: what the journal costs, in the same run).
const SINKS: [oms_design::SinkKind; 2] = [oms_design::SinkKind::Journal, oms_design::SinkKind::Counting];

/// Run lengths, per mode.
struct Plan {
    quick: bool,
    /// `--only SECTION`: run that section alone (`rates`, `mix`, `cancel`, `rings`, `ipc`,
    /// `producers` or `risk`) and write
    /// no files.
    only: Option<String>,
    /// (offered rate, seconds measured)
    rates: Vec<(u64, f64)>,
    warmup_s: f64,
    probe_orders: u64,
    baseline_probe_orders: u64,
    max_secs: f64,
    ring_secs: f64,
    ring_blast: u64,
    /// Seconds per run of the many-producers section.
    producer_secs: f64,
}

impl Plan {
    fn from_env() -> Plan {
        let args: Vec<String> = std::env::args().collect();
        let quick = args.iter().any(|a| a == "--quick")
            || std::env::var("OMS_BENCH_QUICK").is_ok_and(|v| !v.is_empty() && v != "0");
        let only = args.iter().position(|a| a == "--only").and_then(|k| args.get(k + 1)).cloned();
        if let Some(o) = &only
            && !["rates", "mix", "cancel", "rings", "ipc", "producers", "risk"].contains(&o.as_str())
        {
            eprintln!(
                "tail_latency: --only takes rates, mix, cancel, rings, ipc, producers or risk, not {o:?}"
            );
            std::process::exit(2);
        }
        if quick {
            Plan {
                quick,
                only,
                rates: vec![(10_000, 0.5), (100_000, 0.5), (1_000_000, 0.5)],
                warmup_s: 0.05,
                probe_orders: 1_000_000,
                baseline_probe_orders: 300_000,
                max_secs: 0.3,
                ring_secs: 0.3,
                ring_blast: 1_000_000,
                producer_secs: 0.3,
            }
        } else {
            Plan {
                quick,
                only,
                rates: vec![(10_000, 10.0), (100_000, 5.0), (1_000_000, 3.0)],
                warmup_s: 0.25,
                probe_orders: 10_000_000,
                baseline_probe_orders: 1_000_000,
                max_secs: 2.0,
                ring_secs: 2.0,
                ring_blast: 10_000_000,
                producer_secs: 2.0,
            }
        }
    }

    /// Whether section `name` runs.
    fn runs(&self, name: &str) -> bool {
        self.only.as_deref().is_none_or(|o| o == name)
    }
}

fn out_dir() -> PathBuf {
    let target = std::env::var_os("CARGO_TARGET_DIR").map(PathBuf::from).or_else(|| {
        // <target>/release/deps/tail_latency-<hash>
        std::env::current_exe().ok()?.ancestors().nth(3).map(PathBuf::from)
    });
    target.unwrap_or_else(|| PathBuf::from("target")).join("tail-latency")
}

fn machine() -> String {
    let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let model = cpuinfo
        .lines()
        .find_map(|l| l.strip_prefix("model name").and_then(|r| r.split(':').nth(1)))
        .map_or("unknown CPU".to_string(), |m| m.trim().to_string());
    let n = std::thread::available_parallelism().map_or(1, |n| n.get());
    format!("{model}, {n} vCPU, {} {}", std::env::consts::OS, std::env::consts::ARCH)
}

fn main() {
    if ipc::child_main() {
        return;
    }
    let plan = Plan::from_env();
    let t0 = Instant::now();
    let out = out_dir();
    std::fs::create_dir_all(&out).expect("create the output directory");
    let cores = driver::core_split();
    let pinning = match cores {
        Some((p, e)) => {
            format!("producer pinned to core {}, engine / baseline sender to core {}", p.id, e.id)
        }
        None => "single core: nothing pinned (results include thread sharing)".to_string(),
    };
    let engine_core = cores.map(|c| c.1);
    let load = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    println!("tail_latency{}: {}", if plan.quick { " (quick)" } else { "" }, machine());
    println!("{pinning}; oms sink: {}; load average at start: {}", common::SINK_LABEL, load.trim());
    let clock = quanta::Clock::new();
    let lead = Duration::from_millis(20);
    let schedule = |rate: Option<u64>, orders: u64| {
        let warmup = rate.map_or(0, |r| (r as f64 * plan.warmup_s) as u64);
        Schedule::new(clock.clone(), rate, orders + warmup, warmup, lead)
    };

    let mut runs: Vec<Run> = Vec::new();
    let mut run_pair = |label: String, rate: u64, secs: f64| -> String {
        let orders = ((rate as f64 * secs) as u64).max(1);
        // A fresh schedule per design: each run starts its own clock `lead` after its set-up is done.
        let mut oms_runs = Vec::new();
        for (idle, sink) in IDLES.into_iter().flat_map(|i| SINKS.map(|s| (i, s))) {
            let dir = tempfile::tempdir().expect("temp dir for the journal");
            let pre = driver::preemptions();
            let s = schedule(Some(rate), orders);
            let o = oms_design::run_with(&s, engine_core.map(|c| c.id), dir.path(), idle, sink, None);
            assert_eq!(o.lost, 0, "the response ring overflowed: the run is invalid");
            oms_runs.push(Run {
                design: "oms",
                idle: idle.name(),
                sink: sink.name(),
                producers: 1,
                label: label.clone(),
                offered: rate,
                achieved: o.rt.achieved(),
                rejected: o.rt.rejected,
                send: o.send.send,
                rt: o.rt.round_trip,
                complete: o.complete,
                preempted: driver::preemptions() - pre,
                engine_time: Some(o.time.0),
                producer_time: o.time.1,
            });
        }
        let dir = tempfile::tempdir().expect("temp dir for the baseline log");
        let pre = driver::preemptions();
        let b = baseline::run(&schedule(Some(rate), orders), engine_core, dir.path());
        let base = Run {
            design: "baseline",
            idle: "condvar",
            sink: "text log",
            producers: 1,
            label,
            offered: rate,
            achieved: b.probe.achieved(),
            rejected: 0,
            send: b.probe.send,
            rt: b.probe.round_trip,
            complete: b.complete,
            preempted: driver::preemptions() - pre,
            engine_time: None,
            producer_time: driver::producer_stalls().1,
        };
        let mut t = String::new();
        for oms in &oms_runs {
            let one = report::table(oms, &base);
            print!("{one}");
            t += &one;
        }
        runs.extend(oms_runs);
        runs.push(base);
        t
    };
    let mut tables = String::new();
    let mut saturation = serde_json::Value::Null;
    if plan.runs("rates") {
        for &(rate, secs) in &plan.rates {
            tables += &run_pair(report::rate_label(rate as f64), rate, secs);
        }

        // Saturation: unpaced producer, throughput from the first send to the last response.
        let dir = tempfile::tempdir().expect("temp dir for the journal");
        let sat = oms_design::run(
            &schedule(None, plan.probe_orders),
            engine_core.map(|c| c.id),
            dir.path(),
            IdleStrategy::Spin,
        );
        let oms_sat = sat.rt.achieved();
        let dir = tempfile::tempdir().expect("temp dir for the baseline log");
        let bsat = baseline::run(&schedule(None, plan.baseline_probe_orders), engine_core, dir.path())
            .probe
            .achieved();
        println!(
            "\n== saturation (unpaced producer): oms {}/s over {} orders (producer pushed back {} times, {} rejected), baseline {}/s over {} orders",
            report::rate_label(oms_sat),
            plan.probe_orders,
            sat.pushback,
            sat.rt.rejected,
            report::rate_label(bsat),
            plan.baseline_probe_orders
        );
        // The max run: 90 % of the oms saturation, rounded down to two significant digits.
        let target = oms_sat * 0.9;
        let mag = 10f64.powi(target.log10().floor() as i32 - 1);
        let max_rate = ((target / mag).floor() * mag).max(1.0) as u64;
        tables += &run_pair("max".to_string(), max_rate, plan.max_secs);
        saturation = json!([
            {"design": "oms", "orders": plan.probe_orders, "achieved": oms_sat.round() as u64, "rejected": sat.rt.rejected},
            {"design": "baseline", "orders": plan.baseline_probe_orders, "achieved": bsat.round() as u64},
        ]);
    }

    let mix_rows =
        if plan.runs("mix") { mix_section(&plan, &schedule, engine_core.map(|c| c.id)) } else { Vec::new() };
    let cancel_rows = if plan.runs("cancel") {
        cancel_section(&plan, &schedule, engine_core.map(|c| c.id))
    } else {
        Vec::new()
    };
    let ring_rows =
        if plan.runs("rings") { rings_section(&plan, &schedule, engine_core) } else { Vec::new() };
    let ipc_rows =
        if plan.runs("ipc") { ipc::section(plan.quick, engine_core.map(|c| c.id)) } else { json!([]) };
    let producer_rows = if plan.runs("producers") {
        producers::section(
            &schedule,
            engine_core.map(|c| c.id),
            1_000_000,
            &[100_000, 1_000_000],
            plan.producer_secs,
        )
    } else {
        Vec::new()
    };
    let risk_rows = if plan.runs("risk") {
        let &(rate, secs) = plan.rates.last().expect("a rate");
        risk::section(&schedule, engine_core.map(|c| c.id), rate, secs)
    } else {
        Vec::new()
    };
    if plan.only.is_some() {
        println!("\n--only {}: no files written", plan.only.as_deref().unwrap_or_default());
        return;
    }

    // Files.
    for r in &runs {
        for (metric, h) in [("send", &r.send), ("rtt", &r.rt)] {
            let p = out.join(format!("{}-{}-{metric}.hgrm", r.name().replace(' ', "-"), r.label));
            report::write_hgrm(&p, h).expect("write .hgrm");
        }
    }
    let svg = out.join("percentiles.svg");
    let title =
        format!("on_data -> send, open loop, CO-corrected: oms (solid) vs baseline (dashed) - {}", machine());
    if let Err(e) = report::plot(&svg, &runs, &title) {
        eprintln!("plot failed: {e}");
    }
    let summary = json!({
        "machine": machine(),
        "date": jiff::Timestamp::now().strftime("%Y-%m-%d %H:%M UTC").to_string(),
        "quick": plan.quick,
        "pinning": pinning,
        "oms_sink": common::SINK_LABEL,
        "load_at_start": load.trim(),
        "runs": runs.iter().map(report::run_json).collect::<Vec<_>>(),
        "saturation": saturation,
        "rings": ring_rows,
        "mix": mix_rows,
        "cancel": cancel_rows,
        "ipc": ipc_rows,
        "producers": producer_rows,
        "risk": risk_rows,
    });
    let text = serde_json::to_string_pretty(&summary).expect("summary serialises");
    std::fs::write(out.join("summary.json"), text).expect("write summary.json");
    std::fs::write(out.join("tables.txt"), tables).expect("write tables.txt");
    println!(
        "\nwrote {}/{{summary.json,*.hgrm,percentiles.svg,tables.txt}} in {:.1} s",
        out.display(),
        t0.elapsed().as_secs_f64()
    );
}

/// The Modify / Cancel mix (oms only): decision latency with a deep queue, at the rates of 100k/s
/// and above. Prints its table and returns its rows for `summary.json`.
fn mix_section(
    plan: &Plan,
    schedule: &dyn Fn(Option<u64>, u64) -> Schedule,
    engine_core: Option<usize>,
) -> Vec<Value> {
    let mut mix_rows = Vec::new();
    println!(
        "\n== Modify / Cancel mix (80 % New, 10 % Modify, 10 % Cancel of recent orders; throttle at 60 % of the \
         offered rate, so the queue deepens by 10 % of it per second): on_data -> decision"
    );
    println!(
        "{:<10}{:<9}{:>11}{:>11}{:>11}{:>11}{:>11}{:>11}{:>10}{:>10}",
        "offered", "request", "p50", "p90", "p99", "p99.9", "p99.99", "max", "rejected", "samples"
    );
    for &(rate, secs) in plan.rates.iter().filter(|(r, _)| *r >= 100_000) {
        let orders = (rate as f64 * secs) as u64;
        let dir = tempfile::tempdir().expect("temp dir for the journal");
        let m = mix::run(&schedule(Some(rate), orders), engine_core, dir.path());
        for (k, name) in ["new", "modify", "cancel"].iter().enumerate() {
            let p = report::pcts(&m.hist[k]);
            print!("{:<10}{name:<9}", report::rate_label(rate as f64));
            for v in p {
                print!("{:>11}", report::ns(v));
            }
            println!("{:>10}{:>10}", m.rejected[k], m.hist[k].len());
            mix_rows.push(
                json!({"rate": rate, "request": name, "p50_ns": p[0], "p90_ns": p[1], "p99_ns": p[2],
            "p999_ns": p[3], "p9999_ns": p[4], "max_ns": p[5], "rejected": m.rejected[k],
            "samples": m.hist[k].len()}),
            );
        }
        println!(
            "{:<10}deepest queue {}, preempted {}x, worst {} ending at CLOCK_MONOTONIC {:.3} s{}",
            "",
            m.max_queue,
            m.preempted,
            report::ns(m.worst.0),
            m.worst.1 as f64 / 1e9,
            if m.complete { "" } else { " (INCOMPLETE)" }
        );
        println!(
            "{:<10}not running: engine {}, producer {}; worst request due at +{:.1} ms; \
             engine turns >= 1 ms: {}; producer gaps >= 1 ms: {}; steal per vCPU {:?} ms",
            "",
            m.time.0.describe(),
            m.time.1.describe(),
            m.worst.2 as f64 / 1e6,
            m.stalls.0,
            m.stalls.1,
            m.steal_ms
        );
    }
    mix_rows
}

/// The cancel of working orders (oms only): on_data(Cancel) → `send_cancel` and on_data(New) →
/// `send` in the same run, at the rates up to 100k/s. Prints its table and returns its rows for
/// `summary.json`.
fn cancel_section(
    plan: &Plan,
    schedule: &dyn Fn(Option<u64>, u64) -> Schedule,
    engine_core: Option<usize>,
) -> Vec<Value> {
    let mut rows = Vec::new();
    println!(
        "\n== Cancel of working orders ({} New first, then New and Cancel alternating, each Cancel for the order \
         accepted {} requests before; the exchange accepts each New and answers each cancel Cancelled; \
         throttle 2·10⁹/s): on_data -> send / send_cancel",
        cancel::LAG,
        2 * cancel::LAG + 1
    );
    println!(
        "{:<10}{:<9}{:>11}{:>11}{:>11}{:>11}{:>11}{:>11}{:>10}{:>10}",
        "offered", "request", "p50", "p90", "p99", "p99.9", "p99.99", "max", "rejected", "samples"
    );
    for &(rate, secs) in plan.rates.iter().filter(|(r, _)| *r <= 100_000) {
        let requests = (rate as f64 * secs) as u64;
        let dir = tempfile::tempdir().expect("temp dir for the journal");
        let c = cancel::run(&schedule(Some(rate), requests), engine_core, dir.path());
        assert_eq!(c.lost, 0, "the response ring overflowed: the run is invalid");
        for (k, (name, h)) in [("new", &c.new_send), ("cancel", &c.cancel_send)].into_iter().enumerate() {
            let p = report::pcts(h);
            print!("{:<10}{name:<9}", report::rate_label(rate as f64));
            for v in p {
                print!("{:>11}", report::ns(v));
            }
            println!("{:>10}{:>10}", c.rejected.0[k], h.len());
            rows.push(json!({"rate": rate, "request": name, "metric": "on_data_to_send", "p50_ns": p[0],
                "p90_ns": p[1], "p99_ns": p[2], "p999_ns": p[3], "p9999_ns": p[4], "max_ns": p[5],
                "mean_ns": h.mean().round() as u64, "rejected": c.rejected.0[k], "samples": h.len(),
                "preempted": c.preempted}));
        }
        println!(
            "{:<10}sent {} New, {} cancels ({} carried out); queued {}; first reject {:?}; most working {}; \
             preempted {}x{}",
            "",
            c.sent.0,
            c.sent.1,
            c.cancelled,
            c.queued,
            c.rejected.1.map(|r| r.name()),
            c.max_working,
            c.preempted,
            if c.complete { "" } else { " (INCOMPLETE)" }
        );
        println!(
            "{:<10}not running: engine {}, producer {}; engine turns >= 1 ms: {}; producer gaps >= 1 ms: {}; \
             steal per vCPU {:?} ms",
            "",
            c.time.0.describe(),
            c.time.1.describe(),
            c.stalls.0,
            c.stalls.1,
            c.steal_ms
        );
    }
    rows
}

/// The ring comparison: crossbeam `ArrayQueue` vs `rtrb` in the same driver, at each rate and
/// unpaced. Prints its table and returns its rows for `summary.json`.
fn rings_section(
    plan: &Plan,
    schedule: &dyn Fn(Option<u64>, u64) -> Schedule,
    engine_core: Option<core_affinity::CoreId>,
) -> Vec<Value> {
    let mut ring_rows = Vec::new();
    println!(
        "\n== rings: one-way latency producer -> consumer thread (Inbound, 64 KiB-slot ring), same driver"
    );
    println!(
        "{:<22}{:>8}{:>12}{:>11}{:>11}{:>11}{:>11}{:>11}",
        "ring", "offered", "achieved", "p50", "p90", "p99", "p99.9", "max"
    );
    let mut ring_specs: Vec<(Option<u64>, u64)> =
        plan.rates.iter().map(|&(r, _)| (Some(r), (r as f64 * plan.ring_secs) as u64)).collect();
    ring_specs.push((None, plan.ring_blast));
    for (rate, orders) in ring_specs {
        for (which, name) in rings::RINGS.iter().enumerate() {
            let r = rings::run(which, &schedule(rate, orders), engine_core);
            let p = report::pcts(&r.hist);
            let label = rate.map_or("unpaced".to_string(), |r| report::rate_label(r as f64));
            let lat = |v: u64| if rate.is_some() { report::ns(v) } else { "-".into() };
            println!(
                "{name:<22}{label:>8}{:>12}{:>11}{:>11}{:>11}{:>11}{:>11}",
                format!("{}/s", report::rate_label(r.achieved)),
                lat(p[0]),
                lat(p[1]),
                lat(p[2]),
                lat(p[3]),
                lat(p[5])
            );
            ring_rows.push(json!({"ring": name, "rate": rate, "label": label, "achieved": r.achieved.round() as u64,
            "p50_ns": p[0], "p90_ns": p[1], "p99_ns": p[2], "p999_ns": p[3], "p9999_ns": p[4], "max_ns": p[5]}));
        }
    }
    ring_rows
}
