//! Latency of orders through the engine and its FIX session, open loop, on loopback:
//!
//! ```text
//! cargo run --release --example fix_engine_latency -- --rate 1000 --seconds 10 [--echo] [--reader thread]
//! ```
//!
//! The acceptor's venv (`target/quickfix-venv`) is installed the first time it is needed
//! (`examples/quickfix`).
//!
//! A producer thread (pinned to the first core) hands New orders to the engine (`on_data`) at
//! fixed intended times (rate R, throttle at 10·R: not binding); the engine runs on its own
//! thread (pinned to the last core, spinning) with a FIX exchange to the QuickFIX acceptor (or `--echo`: a minimal in-process
//! counterparty, our codec on a thread). Measured from each order's **intended** time
//! (coordinated-omission-correct: a stall delays every order behind it):
//!
//! - **on the wire**: until the loop turn's `write` of its NewOrderSingle has returned (the bytes
//!   are in the kernel, on their way over loopback);
//! - **round trip**: until its first ExecutionReport arrived (the responder's arrival stamp);
//! - **send → answer**: the journal's `response` latency (from the engine's send).
//!
//! `--reader engine` (the default) is the shipped design: the engine thread reads the socket in
//! its own loop turns (`FixExchange::poll`). `--reader thread` is the alternative, built here
//! only to compare: the engine thread encodes and writes (one `write` per turn) and a session
//! thread blocks in `read`, decodes the ExecutionReports and pushes the answers through the
//! `Responder` (a prototype: no heartbeats, resends or reconnects, which a 10 s run does not
//! need).

#[path = "../fix_common/mod.rs"]
mod fix_common;
mod split;
mod tap;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use hdrhistogram::Histogram;
use oms::engine::EngineBuilder;
use oms::exchange::{Exchange, FixExchange};
use oms::runner::EngineHandle;
use oms::{Config, EngineClock, OrderRequest, RequestType, Side};

use tap::{LatencySink, Shared, WireTap};

struct Args {
    rate: u64,
    seconds: u64,
    echo: bool,
    thread_reader: bool,
}

fn args() -> Result<Args, String> {
    let mut a = Args { rate: 1000, seconds: 10, echo: false, thread_reader: false };
    let mut it = std::env::args().skip(1);
    while let Some(k) = it.next() {
        let mut v = || it.next().ok_or(format!("{k} needs a value"));
        match k.as_str() {
            "--rate" => a.rate = v()?.parse().map_err(|e| format!("--rate: {e}"))?,
            "--seconds" => a.seconds = v()?.parse().map_err(|e| format!("--seconds: {e}"))?,
            "--echo" => a.echo = true,
            "--reader" => {
                a.thread_reader = match v()?.as_str() {
                    "engine" => false,
                    "thread" => true,
                    other => return Err(format!("--reader engine|thread, not {other}")),
                }
            }
            _ => {
                return Err(format!(
                    "unknown argument {k}; use --rate N --seconds N [--echo] [--reader engine|thread]"
                ));
            }
        }
    }
    if a.rate == 0 || a.seconds == 0 {
        return Err("--rate and --seconds must be > 0".into());
    }
    Ok(a)
}

fn main() {
    if let Err(e) = run() {
        eprintln!("fix_engine_latency: {e}");
        std::process::exit(1);
    }
}

fn run() -> Result<(), String> {
    let a = args()?;
    let dir = tempfile::tempdir().map_err(|e| format!("temporary directory: {e}"))?;
    let (acceptor, port) = if a.echo {
        (None, fix_common::start_echo()?)
    } else {
        let (c, p) = fix_common::start_acceptor(&dir.path().join("acceptor"))?;
        (Some(c), p)
    };
    let n = a.rate * a.seconds;
    let cores = core_affinity::get_core_ids().unwrap_or_default();
    let mut c = Config::default();
    c.session.timezone = "UTC".into();
    (c.session.start, c.session.end) = ("00:00:00".into(), "23:59:59.999".into());
    c.session.password = Some("secret".into());
    c.throttle.max_orders_per_sec = u32::try_from(10 * a.rate).map_err(|_| "--rate too high")?;
    c.throttle.burst = Some(u32::try_from(a.rate).map_err(|_| "--rate too high")?);
    c.engine.ring_capacity = 1 << 16;
    c.engine.max_in_flight = 1 << 17;
    // The counterparty only acknowledges: every order stays working until the run ends (then
    // recorded unanswered), so the table of orders at the exchange holds them all.
    let live = usize::try_from(n).map_err(|_| "--rate x --seconds too large")?;
    c.engine.max_working_orders = live.max(c.engine.max_in_flight);
    if c.engine.max_working_orders + c.engine.max_queued_orders > oms::config::MAX_LIVE_ORDERS {
        let most = oms::config::MAX_LIVE_ORDERS - c.engine.max_queued_orders;
        return Err(format!("--rate x --seconds is {n}: at most {most} orders per run"));
    }
    c.engine.idle = "spin".into();
    c.engine.core = (cores.len() >= 2).then(|| cores.len() - 1);
    c.exchange.kind = "fix".into();
    c.exchange.host = Some("127.0.0.1".into());
    c.exchange.port = Some(port.into());
    c.exchange.sender_comp_id = Some("OMS".into());
    c.exchange.target_comp_id = Some("EXCH".into());
    c.exchange.store = Some(dir.path().join("oms"));
    c.exchange.symbols = Some([("1".to_string(), "ACME".to_string())].into());
    let valid = c.validate().map_err(|e| e.to_string())?;

    let clock = EngineClock::system();
    let shared = Arc::new(Shared {
        t0: AtomicU64::new(0),
        interval: 1_000_000_000 / a.rate,
        ready: AtomicBool::new(false),
        answered: AtomicU64::new(0),
    });
    let (mut builder, responder) = EngineBuilder::new(&valid.engine, clock.clone());
    let mut producer = builder.producer().expect("a producer handle");
    let sink = LatencySink::new(clock.clone(), shared.clone(), n)?;
    let exchange: Box<dyn Exchange + Send> = if a.thread_reader {
        Box::new(split::SplitFix::connect(port, responder, clock.clone())?)
    } else {
        let fix = FixExchange::new(
            valid.fix.as_ref().ok_or("kind = fix")?,
            valid.engine.session.window.clone(),
            responder,
            clock.clone(),
            valid.engine.capacities.max_working_orders.get(),
        )
        .map_err(|e| e.to_string())?;
        Box::new(fix)
    };
    let tapped = WireTap::new(exchange, clock.clone(), shared.clone(), n)?;
    let engine =
        EngineHandle::spawn(builder.build(tapped, sink), &valid.runner).map_err(|e| e.to_string())?;

    let deadline = Instant::now() + Duration::from_secs(15);
    while !shared.ready.load(Ordering::Acquire) {
        if Instant::now() > deadline {
            return Err("the FIX session did not log on within 15 s".into());
        }
        std::thread::sleep(Duration::from_millis(1));
    }
    // The producer owns the first core, the engine the last (the counterparty floats).
    if cores.len() >= 2 {
        let _ = core_affinity::set_for_current(cores[0]);
    }
    let t0 = clock.now_ns() + 50_000_000;
    shared.t0.store(t0, Ordering::Release);
    for i in 0..n {
        let due = t0 + i * shared.interval;
        loop {
            let now = clock.now_ns();
            if now >= due {
                break;
            }
            if due - now > 200_000 {
                std::thread::sleep(Duration::from_nanos(due - now - 150_000));
            } else {
                std::hint::spin_loop();
            }
        }
        let id = i + 1;
        let mut o = OrderRequest::new(id, 1, if id % 2 == 0 { Side::Buy } else { Side::Sell }, 100.25, 10);
        while let Err(back) = producer.on_data(o, RequestType::New) {
            o = back.order;
            std::thread::yield_now();
        }
    }
    let deadline = Instant::now() + Duration::from_secs(a.seconds + 60);
    while shared.answered.load(Ordering::Acquire) < n {
        if Instant::now() > deadline {
            return Err(format!("only {} of {n} answered", shared.answered.load(Ordering::Acquire)));
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    let report = engine.stop().map_err(|e| e.to_string())?;
    let wire = report.exchange.wire();
    let s = &report.sink;
    let us = |h: &Histogram<u64>, q: f64| h.value_at_quantile(q) as f64 / 1000.0;
    let through = if a.echo { "an in-process echo counterparty" } else { "QuickFIX" };
    let reader = if a.thread_reader { "a session thread (prototype)" } else { "the engine thread" };
    println!(
        "FIX through the engine to {through} on loopback: {n} orders at {}/s; inbound read on {reader}",
        a.rate
    );
    println!("{:<26} {:>9} {:>9} {:>9} {:>9}", "µs", "p50", "p99", "p99.9", "max");
    for (name, h) in [
        ("on_data → on the wire", wire),
        ("on_data → answer", &s.round_trip),
        ("send → answer", &s.send_to_answer),
    ] {
        println!(
            "{name:<26} {:>9.1} {:>9.1} {:>9.1} {:>9.1}",
            us(h, 0.5),
            us(h, 0.99),
            us(h, 0.999),
            h.max() as f64 / 1000.0
        );
    }
    println!(
        "orders per write: {:.2}; rejected {}; process CPU {:.2} s (all its threads); load average at the end: {}",
        report.exchange.orders_per_write(),
        s.rejected,
        cpu_seconds(),
        std::fs::read_to_string("/proc/loadavg").unwrap_or_default().trim()
    );
    if let Some(mut c) = acceptor {
        let _ = c.kill();
        let _ = c.wait();
    }
    Ok(())
}

/// User + system CPU time of this process so far, seconds.
fn cpu_seconds() -> f64 {
    let mut u = std::mem::MaybeUninit::<libc::rusage>::zeroed();
    // SAFETY: `getrusage` writes a `rusage` into the pointer it is given, which points to one.
    let ok = unsafe { libc::getrusage(libc::RUSAGE_SELF, u.as_mut_ptr()) } == 0;
    if !ok {
        return f64::NAN;
    }
    // SAFETY: initialised by the successful call above (and zeroed before it).
    let u = unsafe { u.assume_init() };
    let t = |v: libc::timeval| v.tv_sec as f64 + v.tv_usec as f64 / 1e6;
    t(u.ru_utime) + t(u.ru_stime)
}
