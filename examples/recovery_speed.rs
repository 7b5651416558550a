//! How long recovery takes per million journal records: `oms::recovery::read` (open, check the
//! configuration, fold every committed record into the engine's state) against reading the same
//! records alone.
//!
//! ```text
//! cargo run --release --example recovery_speed -- [--orders 1000000] [--queued 500000] [--sliding]
//! ```
//!
//! The journal is written first, as an engine under load would leave it when killed: every
//! order queued, sent `--queued` orders later (so that many wait in the queue throughout, the
//! worst case for the queue's index, and at the end), accepted 1000 orders after its send and
//! filled 1000 orders after that (the last ones are in flight or working at the end); every 10th order modified and every 50th cancelled while
//! queued. `--sliding` uses the sliding-window throttle (its history
//! is rebuilt too). Last, `JournalWriter::resume` on the same journal (after closing it). The journal is in a temporary directory; each measurement is the best of 5, in wall-clock time and in the thread's CPU time
//! (the file is in the page cache after the first).

use std::time::{Duration, Instant};

use oms::exchange::NullExchange;
use oms::journal::{Journal, JournalWriter, SyncPolicy, WriterOptions};
use oms::sink::CountingSink;
use oms::{
    Config, EngineBuilder, EngineClock, Event, EventKind, EventRecord, EventSink, OrderRequest, RequestType,
    ResponseType, Side,
};

struct Args {
    orders: u64,
    queued: u64,
    sliding: bool,
}

fn args() -> Result<Args, String> {
    let mut a = Args { orders: 1_000_000, queued: 500_000, sliding: false };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let mut value = || it.next().ok_or_else(|| format!("{flag} needs a value"));
        match flag.as_str() {
            "--orders" => a.orders = value()?.parse().map_err(|e| format!("--orders: {e}"))?,
            "--queued" => a.queued = value()?.parse().map_err(|e| format!("--queued: {e}"))?,
            "--sliding" => a.sliding = true,
            other => return Err(format!("unknown argument {other:?}")),
        }
    }
    if a.orders == 0 || a.queued >= a.orders {
        return Err("--orders must be > 0 and --queued below it".into());
    }
    Ok(a)
}

/// Writes the journal; returns the writer (left open, idle, as a crashed engine leaves its
/// journal: not closed) and the number of records.
fn write(cfg: &Config, a: &Args) -> Result<(JournalWriter, u64), Box<dyn std::error::Error>> {
    let valid = cfg.validate()?;
    let clock = EngineClock::system();
    let mut w =
        JournalWriter::create_with(&valid.journal, &cfg.journal_meta(&clock), WriterOptions::default())?;
    let t0 = clock.wall_ns(clock.now_ns());
    let mut n = 0u64;
    let mut put = |kind: EventKind, id: u64, request: RequestType, t: i64| -> Result<(), String> {
        // A batch writer: room is made on the spot (the writer builds a segment when it needs one).
        while !w.takes_requests() && w.housekeep() {}
        let o = OrderRequest::new(id, 7, Side::Buy, 100.0 + (id % 13) as f64, 1 + id % 100);
        let event = match kind {
            EventKind::Logon => Event::Logon,
            EventKind::Queued => Event::Queued { order: o },
            EventKind::Modified => Event::Modified { order: o },
            EventKind::Cancelled => Event::Cancelled { order: o },
            EventKind::Sent => Event::Sent { order: o, in_oms_ns: 0 },
            EventKind::Response => {
                Event::Response { order: o, response: ResponseType::Accept, round_trip_ns: 1 }
            }
            EventKind::Filled => Event::Fill {
                order_id: id,
                symbol_id: o.symbol_id,
                side: 'B',
                last_qty: o.qty,
                last_px: o.price,
                cum_qty: o.qty,
                complete: true,
            },
            other => return Err(format!("no {} records in this journal", other.name())),
        };
        debug_assert_eq!(
            event.order().map_or(RequestType::Unknown, |_| request),
            EventRecord::new(t, event).request
        );
        let r = EventRecord::new(t, event);
        let r = if kind == EventKind::Logon { r } else { r.from_producer((id % 4) as u16) };
        w.record(&r);
        n += 1;
        Ok(())
    };
    put(EventKind::Logon, 0, RequestType::Unknown, t0)?;
    let cancelled = |id: u64| id.is_multiple_of(50);
    // The journal ends mid-flow, as after a crash: the last `queued` orders still wait, the
    // last 1000 sent are in flight.
    for i in 0..a.orders {
        let t = t0 + i as i64 * 1_000; // 1 µs apart
        put(EventKind::Queued, i, RequestType::New, t)?;
        if i.is_multiple_of(10) {
            put(EventKind::Modified, i, RequestType::Modify, t)?;
        }
        if let Some(s) = i.checked_sub(a.queued) {
            if cancelled(s) {
                put(EventKind::Cancelled, s, RequestType::Cancel, t)?;
            } else {
                put(EventKind::Sent, s, RequestType::New, t)?;
            }
        }
        // Accepted 1000 orders after its send, filled in full 1000 orders after that (so
        // the orders at the exchange stay about 2000); the last ones stay in flight or working.
        if let Some(s) = i.checked_sub(a.queued + 1000).filter(|s| !cancelled(*s)) {
            put(EventKind::Response, s, RequestType::New, t)?;
        }
        if let Some(s) = i.checked_sub(a.queued + 2000).filter(|s| !cancelled(*s)) {
            put(EventKind::Filled, s, RequestType::Unknown, t)?;
        }
    }
    Ok((w, n))
}

/// The calling thread's CPU time so far: on a shared machine it leaves out the time another
/// process held the core, which wall-clock time does not.
fn thread_cpu() -> Duration {
    let mut ts = libc::timespec { tv_sec: 0, tv_nsec: 0 };
    // SAFETY: `clock_gettime` writes the timespec it is given.
    unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut ts) };
    Duration::new(ts.tv_sec as u64, ts.tv_nsec as u32)
}

/// The best wall-clock time and the best thread CPU time of 5 runs of `f`.
fn best_of_5(
    mut f: impl FnMut() -> Result<(), Box<dyn std::error::Error>>,
) -> Result<(Duration, Duration), Box<dyn std::error::Error>> {
    let (mut wall, mut cpu) = (Duration::MAX, Duration::MAX);
    for _ in 0..5 {
        let (t, c) = (Instant::now(), thread_cpu());
        f()?;
        wall = wall.min(t.elapsed());
        cpu = cpu.min(thread_cpu() - c);
    }
    Ok((wall, cpu))
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let a = args()?;
    let dir = tempfile::tempdir()?;
    let mut cfg = Config::default();
    cfg.session.timezone = "UTC".into();
    cfg.journal.path = dir.path().join("oms.journal");
    cfg.journal.sync = SyncPolicy::None.into();
    cfg.throttle.max_orders_per_sec = 1_000_000;
    if a.sliding {
        cfg.throttle.mode = "sliding-window".into();
    }
    cfg.engine.max_queued_orders = (a.queued as usize + 1).next_power_of_two();
    let (crashed, records) = write(&cfg, &a)?;
    let valid = cfg.validate()?;
    let path = valid.journal.path.clone();

    let read = best_of_5(|| {
        let n = Journal::open(&path)?.records().try_fold(0u64, |n, r| r.map(|_| n + 1))?;
        assert_eq!(n, records);
        Ok(())
    })?;
    let mut restored = (0, 0);
    let recover = best_of_5(|| {
        let r = oms::recovery::read(&path, &valid)?;
        restored = (r.state.queued.len(), r.state.open.len());
        Ok(())
    })?;
    // Restoring that state into an engine (tables allocated, queue and in-flight table filled).
    let state = oms::recovery::read(&path, &valid)?.state;
    let mut clock = EngineClock::system();
    state.prepare_clock(&mut clock);
    let t = Instant::now();
    let (builder, _responder) = EngineBuilder::new(&valid.engine, clock.clone());
    let engine = builder.recover(state.clone(), NullExchange::default(), CountingSink::default())?;
    let restore = t.elapsed();
    let t = Instant::now();
    let (builder, _responder) = EngineBuilder::new(&valid.engine, clock);
    let fresh = builder.build(NullExchange::default(), CountingSink::default());
    let build = t.elapsed();
    assert_eq!(engine.queue_len(), state.queued.len());
    drop((engine, fresh));
    // Reopening the journal to append (`oms run` does it after `recovery::read`): it reads the
    // whole journal again, maps the current segment and prepares the space for a session. The
    // writer is closed first (it holds the journal's lock); each resumed writer is closed too.
    // (Closing deletes the segment prepared ahead, whose zeros the reads above also checked.)
    crashed.close()?;
    let read_closed = best_of_5(|| {
        Journal::open(&path)?.records().try_fold(0u64, |n, r| r.map(|_| n + 1))?;
        Ok(())
    })?;
    let mut resume = Duration::MAX;
    for _ in 0..3 {
        let t = Instant::now();
        let w = JournalWriter::resume(&valid.journal, WriterOptions::default())?;
        resume = resume.min(t.elapsed());
        assert_eq!(w.next_seq(), records + 1);
        w.close()?;
    }
    let per_m = |d: Duration| d.as_secs_f64() * 1e3 / (records as f64 / 1e6);
    println!(
        "{records} records ({} orders, ~{} queued throughout, {} throttle); restores {} queued and {} in flight",
        a.orders,
        a.queued,
        if a.sliding { "sliding-window" } else { "token-bucket" },
        restored.0,
        restored.1
    );
    // One line per pass over the records: best wall-clock time, and best thread CPU time.
    let pass = |name: &str, (wall, cpu): (Duration, Duration)| {
        let rate = |d: Duration| records as f64 / d.as_secs_f64() / 1e6;
        println!(
            "  {name:<15} {:>7.1} ms  ({:>5.1} ms per million records, {:>5.1} M records/s; CPU time {:.1} ms = {:.1} M records/s)",
            wall.as_secs_f64() * 1e3,
            per_m(wall),
            rate(wall),
            cpu.as_secs_f64() * 1e3,
            rate(cpu)
        )
    };
    pass("read only:", read);
    pass("recovery::read:", recover);
    println!(
        "  EngineBuilder::recover: {:>7.1} ms for that state (build alone, same tables: {:.1} ms)",
        restore.as_secs_f64() * 1e3,
        build.as_secs_f64() * 1e3
    );
    println!(
        "  JournalWriter::resume: {:>7.1} ms  ({:>5.1} ms per million records; reading the same \
         journal, closed: {:.1} ms)",
        resume.as_secs_f64() * 1e3,
        per_m(resume),
        read_closed.0.as_secs_f64() * 1e3
    );
    Ok(())
}
