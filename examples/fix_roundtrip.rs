//! Round trip through the QuickFIX acceptor on loopback: NewOrderSingle out, ExecutionReport back,
//! open loop at a fixed rate, latencies in an hdrhistogram.
//!
//! ```text
//! cargo run --release --example fix_roundtrip -- --rate 1000 --seconds 10
//! ```
//!
//! The acceptor's venv (`target/quickfix-venv`) is installed the first time it is needed
//! (`examples/quickfix`).
//!
//! One thread drives the FIX exchange as the engine would: send when an order is due, `poll`
//! otherwise (one `write` per turn, reads, timers). Latency is measured from the order's
//! *intended* send time (coordinated-omission-correct: a stall delays every order behind it) to
//! the responder's arrival stamp of its ExecutionReport; the `send → answer` column starts at
//! the actual `send` call instead. The acceptor is started from `target/quickfix-venv` on a free
//! port unless `--port` names a running one. `--park` sleeps 50 µs in idle turns instead of
//! spinning, leaving the core to the acceptor on a machine with fewer free cores than two.
//! `--echo` replaces QuickFIX by a minimal counterparty on a thread of this process (our decoder
//! and encoder, one ExecutionReport per order, no logging or store): the round trip of our own
//! stack plus loopback TCP, without the Python acceptor's cost.

use std::time::{Duration, Instant};

use hdrhistogram::Histogram;
use oms::exchange::{Exchange, ExchangeEvent, FixExchange, FixSettings, response_tap};
use oms::{Config, EngineClock, Logon, OrderRequest, ResponseType, Secret, Side};

#[path = "fix_common/mod.rs"]
mod fix_common;

use fix_common::{start_acceptor, start_echo};

struct Args {
    rate: u64,
    seconds: u64,
    port: Option<u16>,
    /// Sleep 50 µs when a turn found nothing to do (else spin, as a pinned engine would).
    park: bool,
    /// Answer from a minimal in-process counterparty instead of QuickFIX.
    echo: bool,
}

fn args() -> Result<Args, String> {
    let mut a = Args { rate: 1000, seconds: 10, port: None, park: false, echo: false };
    let mut it = std::env::args().skip(1);
    while let Some(k) = it.next() {
        let mut v = || it.next().ok_or(format!("{k} needs a value"));
        match k.as_str() {
            "--rate" => a.rate = v()?.parse().map_err(|e| format!("--rate: {e}"))?,
            "--seconds" => a.seconds = v()?.parse().map_err(|e| format!("--seconds: {e}"))?,
            "--port" => a.port = Some(v()?.parse().map_err(|e| format!("--port: {e}"))?),
            "--park" => a.park = true,
            "--echo" => a.echo = true,
            _ => {
                return Err(format!(
                    "unknown argument {k}; use --rate N --seconds N [--port N] [--park] [--echo]"
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
        eprintln!("fix_roundtrip: {e}");
        std::process::exit(1);
    }
}

fn run() -> Result<(), String> {
    let a = args()?;
    let dir = tempfile::tempdir().map_err(|e| format!("temporary directory: {e}"))?;
    let (acceptor, port) = match a.port {
        Some(p) => (None, p),
        None if a.echo => (None, start_echo()?),
        None => {
            let (c, p) = start_acceptor(&dir.path().join("acceptor"))?;
            (Some(c), p)
        }
    };
    let mut settings = FixSettings::new("127.0.0.1", port, "OMS", "EXCH");
    settings.store = dir.path().join("oms");
    let mut c = Config::default();
    c.session.timezone = "UTC".into();
    c.session.start = "00:00:00".into();
    c.session.end = "23:59:59.999".into();
    let window = c.validate().map_err(|e| e.to_string())?.engine.session.window;
    let clock = EngineClock::system();
    let total = a.rate * a.seconds;
    let cap = usize::try_from(total).unwrap_or(usize::MAX).min(1 << 20);
    let (responder, mut tap) = response_tap(cap, &clock);
    let mut fix =
        FixExchange::new(&settings, window, responder, clock.clone(), cap).map_err(|e| e.to_string())?;
    fix.send_logon(&Logon { username: "trader".into(), password: Secret::new("secret") });
    let deadline = Instant::now() + Duration::from_secs(10);
    let mut problems = Vec::new();
    while !fix.logged_on() {
        if Instant::now() > deadline {
            return Err(format!("no logon within 10 s: {problems:?}"));
        }
        fix.poll(clock.now_ns(), &mut |e| problems.push(format!("{e:?}")));
    }

    // Intended send time and actual send time of each order, by id - 1.
    let n = usize::try_from(total).map_err(|_| "too many orders")?;
    let mut intended = vec![0u64; n];
    let mut sent_at = vec![0u64; n];
    let mut from_intended =
        Histogram::<u64>::new_with_bounds(1, 60_000_000_000, 3).map_err(|e| e.to_string())?;
    let mut from_send = from_intended.clone();
    let interval = 1_000_000_000 / a.rate;
    let start = clock.now_ns() + 10_000_000;
    let (mut next, mut answered, mut rejected) = (0usize, 0usize, 0usize);
    let mut events = 0u64;
    let end_by = Instant::now() + Duration::from_secs(a.seconds + 30);
    while answered < n {
        if Instant::now() > end_by {
            return Err(format!("only {answered} of {n} answered: {fix:?}"));
        }
        let now = clock.now_ns();
        // Every order due by now goes out in this turn (one write for all of them).
        while next < n && start + next as u64 * interval <= now {
            intended[next] = start + next as u64 * interval;
            sent_at[next] = clock.now_ns();
            let id = next as u64 + 1;
            fix.send(&OrderRequest::new(id, 1, Side::Buy, 100.0 + (id % 50) as f64 * 0.25, 10))
                .map_err(|e| e.to_string())?;
            next += 1;
        }
        let work = fix.poll(now, &mut |e: ExchangeEvent<'_>| {
            if !matches!(e, ExchangeEvent::Execution(_)) {
                events += 1;
            }
        });
        if work == 0 && a.park && tap.is_empty() {
            std::thread::sleep(Duration::from_micros(50));
        }
        while let Some((answer, raw)) = tap.pop() {
            // Only first answers are timed (the acceptor does not fill).
            let oms::Answer::Response(r) = answer else { continue };
            let i = usize::try_from(r.order_id - 1).map_err(|_| "bad id")?;
            let at = clock.mono_ns(raw);
            from_intended.record(at.saturating_sub(intended[i]).max(1)).map_err(|e| e.to_string())?;
            from_send.record(at.saturating_sub(sent_at[i]).max(1)).map_err(|e| e.to_string())?;
            answered += 1;
            rejected += usize::from(r.response_type == ResponseType::Reject);
        }
    }
    let stats = fix.stats().clone();
    let us = |h: &Histogram<u64>, q: f64| h.value_at_quantile(q) as f64 / 1000.0;
    let through = if a.echo { "an in-process echo counterparty" } else { "QuickFIX" };
    println!("FIX round trip through {through} on loopback: {total} orders at {}/s", a.rate);
    println!("{:<22} {:>9} {:>9} {:>9} {:>9}", "µs", "p50", "p99", "p99.9", "max");
    for (name, h) in [("intended → answer", &from_intended), ("send → answer", &from_send)] {
        println!(
            "{name:<22} {:>9.1} {:>9.1} {:>9.1} {:>9.1}",
            us(h, 0.5),
            us(h, 0.99),
            us(h, 0.999),
            h.max() as f64 / 1000.0
        );
    }
    println!(
        "rejected {rejected}, session events {events}, writes {} ({:.2} orders per write)",
        stats.writes,
        stats.orders_sent as f64 / stats.writes.max(1) as f64
    );
    if let Some(mut c) = acceptor {
        let _ = c.kill();
        let _ = c.wait();
    }
    Ok(())
}
