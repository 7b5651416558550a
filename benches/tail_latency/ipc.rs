//! A producer in another process (`oms::ipc`) against the same producer in-process, side by
//! side in one run: `-- --only ipc`.
//!
//! The engine is built as in [`crate::oms_design`] (the probe exchange answering `Reject`, the
//! journal sink, idle `backoff`, the default), once with an in-process [`oms::Producer`] and
//! once taking clients, with a [`oms::ipc::Listener`] in this process and the producer in a
//! child process: this bench's own binary run again with [`CHILD_ENV`] set, which attaches
//! (`oms::ipc::connect`), pins itself to the producer core and runs the same open-loop
//! schedule. **One time base:** order 0's instant is a raw TSC reading (the machine's) and the
//! schedule is paced in raw ticks converted with the parent's calibration, both handed over in
//! the environment; the child's own quanta calibration (a quick one, different in each process
//! by up to 10⁻⁴: 0.6 ms over a run) is never used. Latency is from each order's intended
//! instant to the exchange's `send` on the engine thread, as everywhere in this harness. A
//! `send` before its intended instant (a negative latency: the two sides' clocks disagree) is
//! counted, and a run with any prints no percentiles, only the count.
//!
//! The pairs run interleaved, in-process then child, then child then in-process, twice.
//!
//! Measured: at 100k orders/s, the `send` percentiles of both; unpaced, the saturation
//! throughput of both; and, when `strace` is installed, in a second pair of paced runs, the
//! system calls per order of the child producer (`strace -c -f` around the whole process: its
//! start-up, attach and wake-ups of the engine included) and of the engine thread (`strace -c
//! -p TID` attached for the run: its sleeps and wake-ups under `backoff` included).

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

use oms::engine::EngineBuilder;
use oms::ipc::{IpcSettings, Listener};
use oms::runner::IdleStrategy;
use oms::{EngineClock, RequestType};

use crate::common;
use crate::driver::{self, Probe, Schedule};
use crate::oms_design::{self, ProbeExchange, ProbeSink};
use crate::report;

/// Set in the child: `DIR START_RAW NS_PER_2_40_TICKS RATE ORDERS WARMUP` (RATE 0: unpaced).
pub const CHILD_ENV: &str = "OMS_BENCH_IPC_CHILD";

/// In the child process (the environment says so): attaches, produces its schedule, exits.
/// Returns `false` in the parent. Call first thing in `main`.
pub fn child_main() -> bool {
    let Ok(spec) = std::env::var(CHILD_ENV) else { return false };
    let f: Vec<&str> = spec.split(' ').collect();
    let num = |i: usize| f[i].parse::<u64>().expect("a number in the child's spec");
    let rate = Some(num(3)).filter(|r| *r > 0);
    let schedule = Schedule::at(quanta::Clock::new(), num(1), num(2), rate, num(4), num(5));
    let mut client = oms::ipc::connect(f[0]).expect("the child attaches");
    driver::pin(driver::core_split().map(|c| c.0));
    driver::produce_here(&schedule, |o| {
        client.on_data(o, RequestType::New).map_err(|e| e.into_inner().order)
    });
    // Its ring drains before the client goes (a drop would be taken too; this keeps the
    // socket's end out of the measured run).
    while client.pending() > 0 {
        std::hint::spin_loop();
    }
    true
}

/// One measured run.
struct Measured {
    send: [u64; 6],
    /// Orders sent before their intended instant (should be 0: one time base).
    early: u64,
    achieved: f64,
    complete: bool,
    engine_syscalls: Option<u64>,
    child_syscalls: Option<u64>,
}

/// Total calls in an `strace -c` summary file.
fn strace_total(path: &Path) -> Option<u64> {
    let text = std::fs::read_to_string(path).ok()?;
    let line = text.lines().find(|l| l.trim_end().ends_with("total"))?;
    // "100.00    0.000123           4        30         2 total": the calls column.
    let cols: Vec<&str> = line.split_whitespace().collect();
    cols.get(3)?.parse().ok()
}

fn have_strace() -> bool {
    Command::new("strace").arg("-V").stdout(Stdio::null()).stderr(Stdio::null()).status().is_ok()
}

/// The engine on `schedule` with its producer in a child process (`child`) or in this one.
fn run(schedule: &Schedule, engine_core: Option<usize>, dir: &Path, child: bool, strace: bool) -> Measured {
    driver::settle();
    let mut raw = common::raw_config(engine_core, 2_000_000_000, 2_000_000_000, dir);
    raw.engine.idle = IdleStrategy::Backoff.name().into();
    raw.journal.prepare_records = Some(schedule.orders * 2 + 65_536);
    let cfg = raw.validate().expect("bench config is valid");
    let clock = EngineClock::new(schedule.clock.clone(), oms::clock::system_wall_ns());
    let (mut b, responder) = EngineBuilder::new(&cfg.engine, clock.clone());
    let mut producer = (!child).then(|| b.producer().expect("a producer handle"));
    let listener = child.then(|| {
        let settings = IpcSettings { max_clients: 1, ring_capacity: 65_536, ..IpcSettings::default() };
        let port = b.clients(&settings).expect("clients");
        Listener::start(&dir.join("ipc"), port, None).expect("listen")
    });
    let rt_probe = Probe::new(schedule);
    let done = rt_probe.done.clone();
    let sink = ProbeSink::new(common::make_sink(&raw, &clock), rt_probe);
    let engine = b.build(ProbeExchange::new(schedule, responder), sink);
    let (schedule, handle, engine_time) =
        oms_design::start(engine, &cfg.runner, schedule, |sink, s| sink.restart(s));
    let out = tempfile::tempdir().expect("temp dir for strace");
    let tracer = strace.then(|| {
        Command::new("strace")
            .args(["-c", "-o"])
            .arg(out.path().join("engine"))
            .arg("-p")
            .arg(engine_time.tid().to_string())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("strace")
    });
    if tracer.is_some() {
        // strace attaches within milliseconds; the schedule's lead covers it.
        std::thread::sleep(Duration::from_millis(100));
    }
    if child {
        let spec = format!(
            "{} {} {} {} {} {}",
            dir.join("ipc").display(),
            schedule.start_raw,
            schedule.ns_per_2_40_ticks,
            schedule.rate.unwrap_or(0),
            schedule.orders,
            schedule.warmup
        );
        let exe = std::env::current_exe().expect("the bench binary");
        let mut c = if strace {
            let mut c = Command::new("strace");
            c.args(["-c", "-f", "-o"]).arg(out.path().join("child")).arg(exe);
            c
        } else {
            Command::new(exe)
        };
        let status = c.env(CHILD_ENV, spec).status().expect("the child producer");
        assert!(status.success(), "the child producer: {status}");
    } else if let Some(p) = producer.as_mut() {
        driver::produce(&schedule, |o| p.on_data(o, RequestType::New).map_err(|e| e.order));
    }
    let complete = driver::wait_for(&done, schedule.orders, Duration::from_secs(60));
    let _ = engine_time.stop();
    let engine_syscalls = tracer.and_then(|mut t| {
        // SAFETY: a plain system call on the pid of a child spawned here.
        unsafe { libc::kill(t.id() as libc::pid_t, libc::SIGINT) };
        let _ = t.wait();
        strace_total(&out.path().join("engine"))
    });
    if let Some(l) = listener {
        l.stop();
    }
    let report = handle.stop().expect("engine thread stops cleanly");
    let probe = report.exchange.probe();
    Measured {
        send: report::pcts(&probe.send),
        early: probe.early,
        achieved: report.sink.probe().achieved(),
        complete,
        engine_syscalls,
        child_syscalls: strace_total(&out.path().join("child")),
    }
}

/// The section: prints its table and returns its rows for `summary.json`.
pub fn section(quick: bool, engine_core: Option<usize>) -> serde_json::Value {
    let (secs, probe) = if quick { (0.5, 300_000) } else { (5.0, 3_000_000) };
    let rate = 100_000u64;
    let clock = quanta::Clock::new();
    let strace = have_strace();
    let mut rows = Vec::new();
    println!("\n== producer in another process (oms::ipc) vs in-process, idle = backoff ==");
    println!(
        "{:<26} {:>9} {:>9} {:>9} {:>9} {:>9} {:>9} {:>12} {:>14} {:>14}",
        "run", "p50", "p90", "p99", "p99.9", "p99.99", "max", "orders/s", "engine sys/ord", "client sys/ord"
    );
    let paced = (rate as f64 * secs) as u64;
    // The paced runs twice: as they are, then under strace for the system calls (strace
    // attached to a thread stops it for a moment and slows each call it traces).
    let plan = [
        ("100k/s", Some(rate), paced, false),
        ("100k/s strace", Some(rate), paced, strace),
        ("saturation", None, probe, false),
    ];
    for round in 0..2 {
        for (label, rate, orders, traced) in plan {
            if label.ends_with("strace") && !traced {
                continue;
            }
            let order = if round == 0 { [false, true] } else { [true, false] };
            for child in order {
                let warmup = rate.map_or(0, |r| r / 4);
                // Order 0 is due late enough for the child to start, calibrate its clock and attach.
                let schedule =
                    Schedule::new(clock.clone(), rate, orders + warmup, warmup, Duration::from_millis(800));
                let dir = tempfile::tempdir().expect("temp dir for the journal");
                let m = run(&schedule, engine_core, dir.path(), child, traced);
                let name = format!("{label} {}", if child { "child process" } else { "in-process" });
                print_row(&name, &m, orders);
                rows.push(serde_json::json!({
                    "run": name, "round": round + 1, "send_ns": m.send, "early": m.early,
                    "achieved_per_s": m.achieved, "complete": m.complete,
                    "engine_syscalls": m.engine_syscalls, "child_syscalls": m.child_syscalls, "orders": orders,
                }));
            }
        }
    }
    serde_json::Value::Array(rows)
}

/// One row of the table; a run with orders sent before their intended instant prints no
/// percentiles (they would be wrong), only how many.
fn print_row(name: &str, m: &Measured, orders: u64) {
    let per = |n: Option<u64>| n.map_or("-".to_string(), |n| format!("{:.4}", n as f64 / orders as f64));
    let tail = if m.complete { "" } else { "  (incomplete)" };
    if m.early > 0 {
        println!(
            "{name:<26} REFUSED: {} of {orders} orders sent before their intended instant \
             (negative latencies: the producer's clock is not the engine's){tail}",
            m.early
        );
        return;
    }
    let p = m.send;
    println!(
        "{name:<26} {:>9} {:>9} {:>9} {:>9} {:>9} {:>9} {:>12.0} {:>14} {:>14}{tail}",
        report::ns(p[0]),
        report::ns(p[1]),
        report::ns(p[2]),
        report::ns(p[3]),
        report::ns(p[4]),
        report::ns(p[5]),
        m.achieved,
        per(m.engine_syscalls),
        per(m.child_syscalls),
    );
}
