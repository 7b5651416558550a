//! The demo: `cargo run --release --example harness`.
//!
//! A trading window opens about 2 s after start and lasts about 8 s (local time zone), at
//! X = 3 orders/s. Three upstream "desks" (producer threads) and a simulated exchange (its own
//! thread) exercise every rule; each desk follows its own outcomes in the journal live
//! (`oms::journal::Outcomes`) and tells what became of its requests, and a narrator tells the
//! engine's own records (logon, logout). Together they tell the story:
//! waiting for logon, logon, throttled sends, queueing, modify and cancel in the queue, repeated
//! modifies, partial fills, a replace and a cancel of working orders at the exchange, a cancel
//! that races the order's last fill, a cancel of an unknown order, a burst, a duplicate id,
//! invalid orders, a fat-finger order refused by a pre-trade limit (`[risk]`: the demo's own
//! `max_order_qty`, unless its configuration has a `[risk]`), a halt (the kill switch, from the
//! operator's `HaltSwitch`: the queue rejected `halted`, every working order cancelled, a New
//! refused) and its resume, the window's end (queued orders rejected, working ones cancelled
//! before the logout), an order after logout. At the end the demo reads its
//! own journal back, audits it against the rules (`oms::audit`, as `oms audit` does) and checks
//! what its script promises (exit code 1 if anything is broken), prints a summary and the
//! `oms decode` / `oms audit` commands to read the journal.
//!
//! Flags (`--help`) change the window, rate, journal path, or load a config file.
//!
//! `--exchange fix` trades against a real FIX engine instead of the simulated exchange: the
//! QuickFIX acceptor (examples/fix_acceptor.py, from the venv `.ci/quickfix-setup` installs in
//! `target/quickfix-venv` the first time it is needed) is started on a free loopback port, the engine's FIX 4.4 session logs on at the window's start,
//! sends each order as a NewOrderSingle, and logs out at its end; the acceptor accepts and fills
//! orders (quantities above 15 are rejected). `oms decode` then shows the session's records
//! (`exchange_session` logged_on / logged_out, `execution` fills) between the engine's own.
//! `--fix-port PORT` uses an acceptor already running there instead (CompIDs OMS → EXCH).

mod acceptor;
mod checks;
mod desks;
mod narrator;
#[path = "../quickfix/mod.rs"]
mod quickfix;

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use clap::Parser;
use oms::engine::EngineBuilder;
use oms::journal::{Journal, JournalWriter, WriterOptions};
use oms::runner::{EngineHandle, IdleStrategy};
use oms::venue::Venue;
use oms::{Config, EngineClock};

/// The oms demo: a short narrated trading session, checked against its own journal.
#[derive(Parser, Debug)]
#[command(version, about)]
struct Args {
    /// Journal path (segments continue as PATH.000001, ...; its directory is made if missing;
    /// `--exchange fix` keeps the FIX stores beside it, in PATH with extension `.fix`). An
    /// existing journal there is replaced.
    #[arg(long, default_value = "target/oms.journal")]
    journal: PathBuf,
    /// Seconds from start until the window opens.
    #[arg(long, default_value_t = 2.0)]
    open_after: f64,
    /// Length of the window, seconds (the desks' script is laid out for 8 s).
    #[arg(long, default_value_t = 8.0)]
    window: f64,
    /// Throttle: orders per second.
    #[arg(long, default_value_t = 3)]
    rate: u32,
    /// A TOML config to start from (session times are still set from --open-after/--window
    /// unless --keep-window is given).
    #[arg(long)]
    config: Option<PathBuf>,
    /// Keep the config file's own window instead of opening one shortly after start.
    #[arg(long, requires = "config")]
    keep_window: bool,
    /// The exchange: the simulated one, or a FIX 4.4 session to the QuickFIX acceptor (started
    /// from target/quickfix-venv, which the first run installs from PyPI: Python 3.11 needed).
    #[arg(long, value_enum, default_value_t = ExchangeKind::Simulated)]
    exchange: ExchangeKind,
    /// With `--exchange fix`: trade with the acceptor already listening on this loopback port
    /// instead of starting one.
    #[arg(long)]
    fix_port: Option<u16>,
}

/// `--exchange`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
enum ExchangeKind {
    /// The simulated exchange (its own thread, random latency and rejects).
    Simulated,
    /// A FIX 4.4 session to the QuickFIX acceptor.
    Fix,
}

fn main() -> ExitCode {
    match run(Args::parse()) {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::from(1),
        Err(e) => {
            eprintln!("harness: {e}");
            ExitCode::from(2)
        }
    }
}

fn secs(s: f64) -> Duration {
    Duration::from_secs_f64(s.max(0.0))
}

fn run(args: Args) -> Result<bool, Box<dyn std::error::Error>> {
    if !(args.open_after >= 0.0
        && args.window > 0.0
        && args.open_after.is_finite()
        && args.window.is_finite())
    {
        return Err("--open-after must be >= 0 and --window > 0".into());
    }
    let mut cfg = match &args.config {
        Some(p) => Config::load(p)?,
        None => Config::default(),
    };
    if !args.keep_window {
        cfg.throttle.max_orders_per_sec = args.rate;
        cfg.throttle.burst = None;
        cfg.session.password = Some("demo-password-never-journaled".into());
        cfg.session.password_env = None;
    }
    if args.config.is_none() {
        // The simulated venue at a pace the story can be followed at: each answer 50 ms after
        // its request, every accepted order filled in two halves, 1 s and 2 s after its
        // acceptance, so the desks can replace and cancel working orders and race a fill.
        cfg.exchange.latency_min_us = 50_000;
        cfg.exchange.latency_max_us = 50_000;
        cfg.exchange.fill_parts = 2;
        cfg.exchange.fill_interval_us = 1_000_000;
    }
    if cfg.risk.is_none() {
        // Pre-trade limits: the desks' orders are 1 to 20 shares near 100, so only the fat
        // finger meets them.
        cfg.risk = Some(oms::config::RiskConfig {
            max_order_qty: Some(desks::MAX_ORDER_QTY),
            max_order_notional: Some(1_000_000.0),
            ..Default::default()
        });
    }
    cfg.journal.path = args.journal.clone();
    if let Some(dir) = args.journal.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(|e| format!("{}: cannot create: {e}", dir.display()))?;
    }
    let fix = args.exchange == ExchangeKind::Fix;
    let store = args.journal.with_extension("fix");
    let mut _acceptor = None;
    if fix {
        let port = match args.fix_port {
            Some(port) => port,
            None => {
                let password = cfg.session.password.clone().unwrap_or_default();
                println!(
                    "oms demo: starting the QuickFIX acceptor (examples/fix_acceptor.py; the first time, \
                     .ci/quickfix-setup installs it from PyPI into target/quickfix-venv) ..."
                );
                let a = acceptor::start(&store.join("acceptor"), &cfg.session.username, &password)?;
                let port = a.port;
                _acceptor = Some(a);
                port
            }
        };
        acceptor::configure(&mut cfg, port, store.join("oms"), desks::SYM);
    }
    // The script's clock starts now, with the acceptor (installed the first time) already up.
    let clock = EngineClock::system();
    let t0 = Instant::now();
    let zone = jiff::tz::TimeZone::system();
    if !args.keep_window {
        cfg.session.timezone = zone.iana_name().unwrap_or("UTC").to_string();
        let tz = jiff::tz::TimeZone::get(&cfg.session.timezone)?;
        let now = jiff::Timestamp::from_nanosecond(clock.wall_ns(clock.now_ns()) as i128)?;
        let at = |s: f64| -> Result<String, jiff::Error> {
            let t = now.checked_add(jiff::SignedDuration::from_secs_f64(s))?;
            Ok(t.to_zoned(tz.clone()).time().strftime("%H:%M:%S%.f").to_string())
        };
        cfg.session.start = at(args.open_after)?;
        cfg.session.end = at(args.open_after + args.window)?;
    }
    // A shared 2-core machine: sleep briefly when idle instead of spinning a core.
    cfg.engine.idle = IdleStrategy::Park.name().into();
    cfg.engine.park_max_us = 200;
    cfg.engine.max_queued_orders = cfg.engine.max_queued_orders.min(1 << 16);
    let valid = cfg.validate()?;

    let hms = |t: jiff::civil::Time| t.strftime("%H:%M:%S%.3f").to_string();
    match &valid.fix {
        Some(f) => println!(
            "oms demo: exchange: FIX 4.4 session {} -> {} at {}:{} (QuickFIX; symbol {} goes as {}, \
             which it fills; quantities above {} are rejected)",
            f.sender_comp_id,
            f.target_comp_id,
            f.host,
            f.port,
            desks::SYM,
            acceptor::DEMO_TICKER,
            acceptor::MAX_QTY
        ),
        None => println!("oms demo: exchange: simulated"),
    }
    println!(
        "oms demo: trading window {} - {} ({}), at most {} orders/s ({:?}), journal {}",
        hms(valid.engine.session.window.start()),
        hms(valid.engine.session.window.end()),
        cfg.session.timezone,
        valid.engine.throttle.rate,
        valid.engine.throttle.mode,
        args.journal.display()
    );
    let options = WriterOptions {
        overwrite: true,
        ..WriterOptions::with_reserve(valid.engine.capacities.journal_reserve(3))
    };
    let journal = JournalWriter::create_with(&valid.journal, &cfg.journal_meta(&clock), options)?;

    let (mut builder, responder) = EngineBuilder::new(&valid.engine, clock.clone());
    let switch = builder.halt_switch();
    let producers = [
        builder.producer().expect("a producer handle"),
        builder.producer().expect("a producer handle"),
        builder.producer().expect("a producer handle"),
    ];
    // The exchange the configuration names, started as `oms run` starts it.
    let exchange = Venue::start(&valid, responder, clock.clone())?;
    let engine = EngineHandle::spawn(builder.build(exchange, journal), &valid.runner)?;
    let tz = valid.engine.session.window.timezone().clone();
    let narrator = narrator::Narrator::start(args.journal.clone(), clock.clone(), tz.clone())?;

    let script = desks::Script::new(t0, secs(args.open_after), secs(args.window));
    let desks = script.start(producers, &args.journal, &tz)?;
    // The operator's kill switch, from this thread (as `kill -USR1` / `-USR2` do to `oms run`).
    for (at, halt) in [(desks::HALT_AT, true), (desks::RESUME_AT, false)] {
        std::thread::sleep((script.opens() + secs(at)).saturating_duration_since(Instant::now()));
        if halt {
            println!("               operator > HALT: the kill switch (HaltSwitch::halt)");
            switch.halt();
        } else {
            println!("               operator > resume trading (HaltSwitch::resume)");
            switch.resume();
        }
    }
    // After the window's end the engine cancels what is still working, for its grace at most.
    let grace = match valid.engine.session.closing {
        oms::window::Closing::CancelFirst { grace_ns } => Duration::from_nanos(grace_ns),
        oms::window::Closing::LogoutAtEnd => Duration::ZERO,
    };
    std::thread::sleep((script.end() + grace).saturating_duration_since(Instant::now()));

    let report = engine.stop()?;
    let journal_stats = report.sink.close()?;
    // The desks and the narrator tell the last records (the shutdown's), then see the journal
    // closed.
    let seen: Vec<(u16, u64)> = desks.into_iter().filter_map(|d| d.join().ok()).collect();
    narrator.finish();
    drop(_acceptor);

    let journal = Journal::open(&args.journal)?;
    let records = journal.records().collect::<Result<Vec<_>, _>>()?;
    println!();
    let ok = checks::check_run(&records, &script, &valid, &args.journal, &seen)?;
    checks::summary(&records, &report.stats, &journal_stats, &valid);
    println!("\nRead the journal:  cargo run --release --bin oms -- decode {}", args.journal.display());
    println!("Audit it:          cargo run --release --bin oms -- audit {}", args.journal.display());
    println!("Elapsed: {:.1} s", t0.elapsed().as_secs_f64());
    Ok(ok)
}
