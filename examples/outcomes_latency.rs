//! Commit → seen: how long after the journal writer publishes a record a producer's
//! [`Outcomes`](oms::journal::Outcomes) reader on another thread returns it.
//!
//! ```text
//! cargo run --release --example outcomes_latency -- [--rate 20000] [--seconds 3] [--producers 4] [--batch 16]
//! ```
//!
//! A writer thread appends records open loop at `--rate`, `--batch` at a time back to back
//! (batch *k* at `start + k·batch/rate`), sleeping in between as an engine parks when idle
//! (`--batch 1` spins between records instead), answering `--producers` producers in turn; each carries the TSC reading taken just before its
//! append (the append publishes it). Each `sent` record is followed by the exchange's answer to
//! the order sent 1000 before (a reject: its life ends), so the reader's order fold holds about
//! 1000 live orders, as behind an engine; the answers are not timed. A reader thread follows producer 1's outcomes and, for
//! each, takes the TSC again: the difference is commit → seen, including the records of the
//! other producers it skips. Two readers, one run each: one that spins when it finds nothing
//! new (a dedicated core), one that sleeps 50 µs, as `oms tail` and the demo's desks do. The
//! writer is pinned to core 0 and the reader to core 1 when there are two cores.

use std::sync::{Arc, Barrier};
use std::time::{Duration, Instant};

use hdrhistogram::Histogram;
use oms::journal::{JournalWriter, OutcomeKind, OutcomePoll, Outcomes, SyncPolicy, WriterOptions};
use oms::{Config, EngineClock, Event, EventRecord, EventSink, OrderRequest, ResponseType, Side};

struct Args {
    rate: u64,
    seconds: u64,
    producers: u16,
    batch: u64,
}

fn args() -> Result<Args, String> {
    let mut a = Args { rate: 20_000, seconds: 3, producers: 4, batch: 16 };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let mut value = || it.next().ok_or_else(|| format!("{flag} needs a value"));
        match flag.as_str() {
            "--rate" => a.rate = value()?.parse().map_err(|e| format!("--rate: {e}"))?,
            "--seconds" => a.seconds = value()?.parse().map_err(|e| format!("--seconds: {e}"))?,
            "--producers" => a.producers = value()?.parse().map_err(|e| format!("--producers: {e}"))?,
            "--batch" => a.batch = value()?.parse().map_err(|e| format!("--batch: {e}"))?,
            other => return Err(format!("unknown argument {other:?}")),
        }
    }
    if a.rate == 0 || a.seconds == 0 || a.producers < 2 || a.batch == 0 {
        return Err("--rate, --seconds and --batch must be > 0, --producers at least 2".into());
    }
    Ok(a)
}

fn pin(core: usize) {
    let ids = core_affinity::get_core_ids().unwrap_or_default();
    if ids.len() >= 2
        && let Some(id) = ids.get(core)
    {
        core_affinity::set_for_current(*id);
    }
}

/// Orders between a send and its answer.
const LIVE: u64 = 1000;

/// One run: returns the commit → seen histogram (ns) of producer 1's records.
fn run(a: &Args, spin: bool) -> Result<Histogram<u64>, Box<dyn std::error::Error>> {
    let dir = tempfile::tempdir()?;
    let mut cfg = Config::default();
    cfg.journal.path = dir.path().join("oms.journal");
    cfg.journal.sync = SyncPolicy::None.into();
    let total = a.rate * a.seconds;
    // One segment holds the whole run: no roll, no segment preparation while measuring.
    cfg.journal.segment_bytes = (2 * total * 64 + (1 << 20)).div_ceil(4096) * 4096;
    let valid = cfg.validate()?;
    let clock = EngineClock::system();
    let mut w =
        JournalWriter::create_with(&valid.journal, &cfg.journal_meta(&clock), WriterOptions::default())?;
    // The whole run's space prepared (allocated and faulted in) before measuring.
    w.prepare(2 * total + 1024)?;
    let mut reader = Outcomes::follow(&valid.journal.path, 1)?;
    let q = clock.quanta().clone();
    let start = Arc::new(Barrier::new(2));
    let go = start.clone();
    let expected = (0..total).filter(|i| i % u64::from(a.producers) == 1).count() as u64;
    let reader = std::thread::spawn(move || -> Result<Histogram<u64>, String> {
        pin(1);
        let mut h = Histogram::<u64>::new_with_bounds(1, 10_000_000_000, 3).map_err(|e| e.to_string())?;
        go.wait();
        while h.len() < expected {
            match reader.poll().map_err(|e| e.to_string())? {
                OutcomePoll::Outcome(o) => {
                    let now = q.raw();
                    if let OutcomeKind::Sent { in_oms_ns: stamp } = o.kind {
                        let _ = h.record(q.delta_as_nanos(stamp, now).max(1));
                    }
                }
                OutcomePoll::Pending if spin => std::hint::spin_loop(),
                OutcomePoll::Pending => std::thread::sleep(Duration::from_micros(50)),
                OutcomePoll::Closed => break,
            }
        }
        Ok(h)
    });

    pin(0);
    let q = clock.quanta();
    start.wait();
    let t0 = Instant::now();
    let period_ns = 1e9 / a.rate as f64;
    for i in 0..total {
        if i % a.batch == 0 {
            let due = t0 + Duration::from_nanos((i as f64 * period_ns) as u64);
            if a.batch > 1 {
                std::thread::sleep(due.saturating_duration_since(Instant::now()));
            }
            while Instant::now() < due {
                std::hint::spin_loop();
            }
        }
        let producer = |id: u64| (id % u64::from(a.producers)) as u16;
        let o = OrderRequest::new(i, 1, Side::Buy, 100.0, 1);
        let r = EventRecord::new(0, Event::Sent { order: o, in_oms_ns: q.raw() }).from_producer(producer(i));
        w.record(&r);
        // The exchange's answer to the order sent LIVE orders before: the reader's fold holds
        // about LIVE open orders, as it would behind an engine.
        if let Some(id) = i.checked_sub(LIVE) {
            let order = OrderRequest::new(id, 1, Side::Buy, 100.0, 1);
            let answer = Event::Response { order, response: ResponseType::Reject, round_trip_ns: 1 };
            w.record(&EventRecord::new(0, answer).from_producer(producer(id)));
        }
    }
    let h = reader.join().map_err(|_| "the reader panicked")??;
    w.close()?;
    Ok(h)
}

fn main() -> std::process::ExitCode {
    let a = match args() {
        Ok(a) => a,
        Err(e) => {
            eprintln!("outcomes_latency: {e}");
            return std::process::ExitCode::from(2);
        }
    };
    println!(
        "commit -> seen by an Outcomes reader of producer 1 of {}, {} records/s in batches of {} for {} s ({} cores)",
        a.producers,
        a.rate,
        a.batch,
        a.seconds,
        core_affinity::get_core_ids().map_or(0, |c| c.len())
    );
    for (spin, name) in [(true, "reader spins when idle"), (false, "reader sleeps 50 µs when idle")] {
        match run(&a, spin) {
            Ok(h) => {
                let us = |q: f64| h.value_at_quantile(q) as f64 / 1e3;
                println!(
                    "  {name:<31} p50 {:>8.2} µs  p90 {:>8.2} µs  p99 {:>8.2} µs  p99.9 {:>8.2} µs  max {:>9.2} µs  ({} seen)",
                    us(0.5),
                    us(0.9),
                    us(0.99),
                    us(0.999),
                    h.max() as f64 / 1e3,
                    h.len()
                );
            }
            Err(e) => {
                eprintln!("outcomes_latency: {e}");
                return std::process::ExitCode::from(1);
            }
        }
    }
    std::process::ExitCode::SUCCESS
}
