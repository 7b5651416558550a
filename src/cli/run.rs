//! `oms run`: the engine as a process, on the real clock, writing its journal.
//!
//! ```text
//! oms run --config FILE --journal PATH [--orders FILE|-] [--once] [--producers N]
//! ```
//!
//! The engine thread is pinned and idles as `[engine]` says; the exchange is chosen from
//! `[exchange]` in one place (`crate::venue`). `--orders` feeds requests in the scenario format at
//! their real times (`orders.rs`); a status line goes to standard error once a second
//! (`status.rs`, read from the journal). SIGINT or SIGTERM stops it cleanly: queued orders are
//! rejected `shutdown`, orders in flight are recorded `unanswered`, the journal is closed, exit
//! 0. `--once` stops after the first logout that follows the end of the orders input (at once
//! if no window opens today): with a window open all day, at 23:59:59.
//!
//! When PATH holds a journal, `oms run` recovers from it ([`crate::recovery`]): the state its
//! previous run left — queue, orders in flight, throttle, session — after checking that the
//! configuration is the one it was written with — and appends to it
//! ([`JournalWriter::resume`]: sequence numbers continue after the last committed record, a
//! torn tail is overwritten). So `kill -9` in the middle of a busy window, then the same
//! command again, loses nothing the journal had accepted. An `--orders FILE` then goes on
//! where the journal shows the engine stopped taking it: per producer, the leading lines the
//! engine took are not handed over again (`taken.rs`); the rest are, those that were still in
//! a ring at the crash among them. Standard input is taken as it comes.
//!
//! Exit codes: 0 a clean stop; 1 the journal cannot be written or resumed, or the engine
//! failed; 2 bad usage (configuration, orders input, a journal under another configuration).
//! A bad line on standard input ends the input there (the orders before it run their course)
//! and makes the run exit 2 when it stops.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::{Duration, Instant};

use crate::clock::EngineClock;
use crate::config::{Config, ParsedConfig, ValidConfig};
use crate::engine::{EngineBuilder, RecoveredState};
use crate::journal::{JournalError, JournalSettings, JournalWriter, WriterOptions, existing_segments};
use crate::recovery::{self, RecoveryError};
use crate::runner::EngineHandle;
use crate::window::TradingWindow;

use super::CliError;

mod orders;
pub(super) mod signal;
mod status;
mod taken;

use crate::venue::Venue;
use orders::{Feed, Input};
use status::Status;

/// Arguments of `oms run`.
#[derive(Debug, clap::Args)]
pub struct RunArgs {
    /// Configuration (TOML): window, throttle, engine, exchange, journal sync policy.
    #[arg(long, value_name = "FILE")]
    pub config: PathBuf,
    /// Journal to write (base path). An existing journal there is recovered from.
    #[arg(long, value_name = "PATH")]
    pub journal: PathBuf,
    /// Requests to feed, one `@<ms> new|modify|cancel|advance ...` per line (the scenario
    /// format of `oms replay`), each at its time after the start; `-` reads standard input as
    /// lines arrive.
    #[arg(long, value_name = "FILE|-")]
    pub orders: Option<PathBuf>,
    /// Stop after the first logout that follows the end of the orders input: at the end of the
    /// window (23:59:59 for a window open all day).
    ///
    /// The run lasts until the window the orders trade in ends (at once if no window opens
    /// today): with a window open all day (00:00:00 to 23:59:59, as in examples/oms.toml) that
    /// is 23:59:59. Ctrl-C (SIGINT) or SIGTERM stops it earlier, just as cleanly: queued orders
    /// are rejected `shutdown`, orders in flight recorded `unanswered`, the journal closed, exit
    /// 0. Without --once, run until SIGINT or SIGTERM.
    #[arg(long)]
    pub once: bool,
    /// Producer rings (lines use `p=0` … `p=N-1`). Default: as many as the orders file uses;
    /// 1 for standard input.
    #[arg(long, value_name = "N")]
    pub producers: Option<usize>,
    /// Take producers in other processes: listen in DIR (made mode 0700; the socket
    /// DIR/oms.sock) for clients (`oms submit --connect DIR`, `oms::ipc::connect`). Overrides
    /// `[ipc] dir`. Clients are numbered after the --orders producers.
    #[arg(long, value_name = "DIR")]
    pub listen: Option<PathBuf>,
    /// Let the members of GROUP attach too: DIR mode 0750 and the socket 0660, both given to
    /// GROUP (this user must be in it). Overrides `[ipc] group`.
    #[arg(long, value_name = "GROUP")]
    pub listen_group: Option<String>,
}

/// How a run ends.
enum End {
    /// SIGINT / SIGTERM, or `--once` done; with the bad line that ended standard input, if one
    /// did (the run still exits 2).
    Clean {
        /// `<stdin>:LINE: what`.
        bad_input: Option<String>,
    },
    /// The orders could not be handed over (the message says why).
    BadInput(String),
}

/// A usage error: the message on stderr, exit 2.
fn usage(msg: impl std::fmt::Display) -> Result<ExitCode, CliError> {
    eprintln!("oms run: {msg}");
    Ok(ExitCode::from(2))
}

/// A failure after the checks: the message on stderr, exit 1.
fn failed(msg: impl std::fmt::Display) -> Result<ExitCode, CliError> {
    eprintln!("oms run: {msg}");
    Ok(ExitCode::from(1))
}

/// Whether a journal (its base file or any numbered segment) exists at `path`.
fn journal_exists(path: &Path) -> Result<bool, CliError> {
    Ok(std::fs::symlink_metadata(path).is_ok() || !existing_segments(path)?.is_empty())
}

/// Whether a window is open at `now_ns` or opens later the same day in its time zone.
fn window_today(window: &TradingWindow, now_ns: i64) -> bool {
    let Some(span) = window.current_or_next(now_ns) else { return false };
    if span.contains(now_ns) {
        return true;
    }
    let midnight = jiff::Timestamp::from_nanosecond(i128::from(now_ns))
        .and_then(|t| t.to_zoned(window.timezone().clone()).tomorrow())
        .and_then(|z| z.start_of_day())
        .map(|z| z.timestamp().as_nanosecond());
    midnight.is_ok_and(|m| i128::from(span.start_ns) < m)
}

/// Runs `oms run`. Every message names the subcommand (`oms run: …`).
pub fn run(a: &RunArgs) -> Result<ExitCode, CliError> {
    match run_checked(a) {
        Err(CliError::BrokenPipe) => Err(CliError::BrokenPipe),
        Err(e) => failed(e),
        done => done,
    }
}

fn run_checked(a: &RunArgs) -> Result<ExitCode, CliError> {
    let mut parsed = match ParsedConfig::load(&a.config) {
        Ok(c) => c,
        Err(e) => return usage(e),
    };
    parsed.config.journal.path = a.journal.clone();
    let valid = match parsed.validate() {
        Ok(v) => v,
        Err(e) => return usage(e),
    };
    let config = parsed.config;
    let mut valid = valid;
    if let Some(dir) = &a.listen {
        valid.ipc.dir = Some(dir.clone());
    }
    if let Some(group) = &a.listen_group {
        valid.ipc.group = Some(group.clone());
    }
    let clients = if valid.ipc.dir.is_some() { usize::from(valid.ipc.max_clients) } else { 0 };
    let mut input = match Input::open(a.orders.as_deref(), a.producers) {
        Ok(i) => i,
        Err(msg) => return usage(msg),
    };
    if let Err(e) = signal::install() {
        return failed(format!("cannot install the SIGINT / SIGTERM handler: {e}"));
    }

    let mut clock = EngineClock::system();
    let (writer, recovered) = match open_journal(a, &config, &valid, &mut clock, input.producers() + clients)
    {
        Ok(opened) => opened,
        Err(Opening::Usage(msg)) => return usage(msg),
        Err(Opening::Failed(msg)) => return failed(msg),
    };
    if recovered.is_some() && input.is_file() {
        match taken::Taken::read(&a.journal) {
            Ok(taken) => {
                if let Some(msg) = input.skip_taken(&taken) {
                    eprintln!("oms run: {msg}");
                }
            }
            Err(e) => return Err(e.into()),
        }
    }
    let journal_watch = writer.watch();
    let (mut builder, responder) = EngineBuilder::new(&valid.engine, clock.clone());
    let producers: Result<Vec<_>, _> = (0..input.producers()).map(|_| builder.producer()).collect();
    input.set_switch(builder.halt_switch());
    let mut producers = match producers {
        Ok(p) => p,
        Err(e) => return failed(e),
    };
    let listener = match &valid.ipc.dir {
        None => None,
        Some(dir) => {
            let port = match builder.clients(&valid.ipc) {
                Ok(p) => p,
                Err(e) => return failed(format!("cannot take clients: {e}")),
            };
            let first = port.first_producer();
            match crate::ipc::Listener::start(dir, port, Some(&a.journal)) {
                Ok(l) => {
                    eprintln!(
                        "oms run: listening in {} for up to {} clients (producers {} to {}; on_client_exit = \"{}\")",
                        dir.display(),
                        valid.ipc.max_clients,
                        first,
                        first + valid.ipc.max_clients - 1,
                        valid.ipc.on_client_exit.name()
                    );
                    Some(l)
                }
                Err(e) => return failed(format!("cannot listen: {e}")),
            }
        }
    };
    let venue = match Venue::start(&valid, responder, clock.clone()) {
        Ok(v) => v,
        Err(e) => return failed(e),
    };
    let engine = match recovered {
        None => builder.build(venue, writer),
        Some(state) => match builder.recover(state, venue, writer) {
            Ok(engine) => engine,
            Err(e) => return failed(format!("{}: cannot recover: {e}", a.journal.display())),
        },
    };
    let handle = match EngineHandle::spawn(engine, &valid.runner) {
        Ok(h) => h,
        Err(e) => return failed(e),
    };
    let window = &valid.engine.session.window;
    let mut status = Status::open(&a.journal, window, valid.fix.is_some())?;
    status.watch_journal(journal_watch);

    let started = Instant::now();
    let end = run_loop(a, &valid, &clock, &mut input, &mut producers, &mut status, &handle);
    // Read while the thread runs (its `/proc` entry goes with it).
    let cpu =
        CpuUse { engine: handle.engine_cpu_time(), process: process_cpu_time(), over: started.elapsed() };
    // Clients first: each sees the engine gone; what they published is taken at the stop.
    if let Some(l) = listener {
        l.stop();
    }
    let report = match handle.stop() {
        Ok(r) => r,
        Err(e) => return failed(e),
    };
    let journal = report.sink.close()?;
    // The last records (the shutdown's), for the final status line.
    while !status.closed() {
        status.follow()?;
    }
    eprintln!("{}", status.line(clock.wall_ns(clock.now_ns())));
    eprintln!("oms run: journal closed: {} records in {}", journal.records, a.journal.display());
    eprintln!("oms run: {} (idle = \"{}\")", cpu, valid.runner.idle.name());
    match end {
        Ok(End::Clean { bad_input: None }) => Ok(ExitCode::SUCCESS),
        Ok(End::Clean { bad_input: Some(msg) }) => {
            usage(format!("the orders input ended at a bad line: {msg}"))
        }
        Ok(End::BadInput(msg)) => usage(msg),
        Err(e) => Err(e),
    }
}

/// The CPU time the engine thread and the whole process used over a run.
struct CpuUse {
    engine: Option<Duration>,
    process: Option<Duration>,
    over: Duration,
}

impl std::fmt::Display for CpuUse {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let secs = self.over.as_secs_f64().max(1e-9);
        let said = |t: Option<Duration>| match t {
            Some(t) => {
                format!("{:.3} s ({:.1} % of a core)", t.as_secs_f64(), 100.0 * t.as_secs_f64() / secs)
            }
            None => "unknown".to_string(),
        };
        write!(
            f,
            "CPU time over {:.1} s: engine thread {}, process {}",
            secs,
            said(self.engine),
            said(self.process)
        )
    }
}

/// CPU time (user + system) of the whole process so far.
fn process_cpu_time() -> Option<Duration> {
    // SAFETY: `getrusage` fills the zeroed struct it is given, which lives across the call.
    let usage = unsafe {
        let mut u: libc::rusage = std::mem::zeroed();
        (libc::getrusage(libc::RUSAGE_SELF, &mut u) == 0).then_some(u)
    }?;
    let tv = |t: libc::timeval| Duration::new(t.tv_sec as u64, (t.tv_usec as u32).saturating_mul(1000));
    Some(tv(usage.ru_utime) + tv(usage.ru_stime))
}

/// Why the journal could not be opened.
enum Opening {
    /// A journal under another configuration (exit 2).
    Usage(String),
    /// Cannot go on (exit 1): the journal cannot be created, read or resumed (naming it as
    /// given, then the file that failed), or it changed meanwhile.
    Failed(String),
}

/// `doing` (create, recover from, resume) the journal the user named `given` failed with `e`:
/// the path as given first, then the file and the operation that failed. Another writer's lock
/// is said as it is.
fn journal_failed(given: &Path, doing: &str, e: &JournalError) -> Opening {
    let detail = match e {
        JournalError::InUse { .. } => return Opening::Failed(e.to_string()),
        JournalError::Io { path, op, source } if path != given => {
            format!("cannot {op} {}: {source}", path.display())
        }
        JournalError::Io { op, source, .. } => format!("cannot {op}: {source}"),
        other => {
            let text = other.to_string();
            let own = format!("{}: ", given.display());
            text.strip_prefix(&own).map_or(text.clone(), str::to_string)
        }
    };
    Opening::Failed(format!("{}: cannot {doing} the journal: {detail}", given.display()))
}

/// Fails with [`JournalError::InUse`] if a writer holds the journal at `base` (the lock
/// [`JournalWriter`] holds for its life). Checked before the journal is read, so that a second
/// run on a live journal says only that, at once. A base file that cannot be opened is left to
/// the reading, which names the problem.
fn refuse_if_in_use(base: &Path) -> Result<(), JournalError> {
    use std::os::fd::AsRawFd;
    use std::os::unix::fs::OpenOptionsExt;
    // Non-blocking: a FIFO in the journal's place must not hold the run here (the reading
    // refuses anything that is not a regular file, naming it).
    let opened = std::fs::OpenOptions::new().read(true).custom_flags(libc::O_NONBLOCK).open(base);
    let Ok(file) = opened else { return Ok(()) };
    if !file.metadata().is_ok_and(|m| m.is_file()) {
        return Ok(());
    }
    // SAFETY: a plain system call on a descriptor this function owns; no memory is passed. The
    // lock, if taken, goes with the descriptor when `file` is dropped below.
    let rc = unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) };
    if rc != 0 && std::io::Error::last_os_error().raw_os_error() == Some(libc::EWOULDBLOCK) {
        return Err(JournalError::InUse { path: base.to_path_buf() });
    }
    Ok(())
}

/// Creates the journal, or recovers the state of an existing one. Recovery prepares `clock`
/// (it must reach back to the restored orders) before anything else gets a copy.
fn open_journal(
    a: &RunArgs,
    config: &Config,
    valid: &ValidConfig,
    clock: &mut EngineClock,
    producers: usize,
) -> Result<(JournalWriter, Option<RecoveredState>), Opening> {
    let settings = JournalSettings { path: a.journal.clone(), ..valid.journal.clone() };
    let mut options = WriterOptions::with_reserve(valid.engine.capacities.journal_reserve(producers));
    // A client of `[ipc] group` follows its outcomes in the journal: the segments are its to read.
    if valid.ipc.dir.is_some() {
        options.readers_group =
            crate::ipc::group_id(valid.ipc.group.as_deref()).map_err(|e| Opening::Failed(e.to_string()))?;
    }
    if let Some(dir) = a.journal.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir)
            .map_err(|e| Opening::Failed(format!("{}: cannot create the directory: {e}", dir.display())))?;
    }
    let given = a.journal.as_path();
    let exists = journal_exists(given).map_err(|e| match e {
        CliError::Journal(e) => journal_failed(given, "read", &e),
        other => Opening::Failed(other.to_string()),
    })?;
    if !exists {
        let writer = JournalWriter::create_with(&settings, &config.journal_meta(clock), options);
        return Ok((writer.map_err(|e| journal_failed(given, "create", &e))?, None));
    }
    refuse_if_in_use(given).map_err(|e| journal_failed(given, "resume", &e))?;
    let recovery = match recovery::read(given, valid) {
        Ok(r) => r,
        Err(e @ (RecoveryError::Mismatch { .. } | RecoveryError::HeaderConfig { .. })) => {
            return Err(Opening::Usage(e.to_string()));
        }
        Err(RecoveryError::Journal(e)) => return Err(journal_failed(given, "recover from", &e)),
    };
    let writer =
        JournalWriter::resume(&settings, options).map_err(|e| journal_failed(given, "resume", &e))?;
    if writer.next_seq() != recovery.last_seq + 1 {
        return Err(Opening::Failed(format!(
            "{}: the journal changed while it was recovered",
            given.display()
        )));
    }
    // Said only once the journal is this run's (its lock held).
    eprintln!("oms run: {}", recovery.summary());
    recovery.state.prepare_clock(clock);
    Ok((writer, Some(recovery.state)))
}

/// Feeds the orders, follows the journal, prints the status, until a signal, `--once`, a bad
/// input line or an engine failure.
fn run_loop(
    a: &RunArgs,
    valid: &ValidConfig,
    clock: &EngineClock,
    input: &mut Input,
    producers: &mut [crate::ring::Producer],
    status: &mut Status,
    handle: &EngineHandle<Venue, JournalWriter>,
) -> Result<End, CliError> {
    let start = Instant::now();
    let mut next_status = start + Duration::from_secs(1);
    let mut input_end: Option<i64> = None;
    let mut bad_input = None;
    loop {
        if signal::received() {
            return Ok(End::Clean { bad_input });
        }
        // SIGUSR1 / SIGUSR2: the kill switch, which the engine reads at its next turn.
        if let (Some(halt), Some(switch)) = (signal::switch_asked(), input.halt_switch()) {
            if halt { switch.halt() } else { switch.resume() }
        }
        if !handle.is_running() {
            return Err(CliError::Output {
                what: "the engine thread".into(),
                source: std::io::Error::other("it stopped on its own"),
            });
        }
        let elapsed = start.elapsed();
        let fed = match input.feed(u64::try_from(elapsed.as_nanos()).unwrap_or(u64::MAX), producers) {
            Ok(f) => f,
            Err(msg) => return Ok(End::BadInput(msg)),
        };
        if let Some(msg) = input.take_bad() {
            let until = if a.once { "the logout at the window's end" } else { "SIGINT or SIGTERM" };
            eprintln!(
                "oms run: {msg}\noms run: the orders input ends at that line; the orders before it run \
                 their course (until {until}), then the run exits 2"
            );
            bad_input = Some(msg);
        }
        status.follow()?;
        if let Some(news) = status.journal_news() {
            eprintln!("{news}");
        }
        let now = Instant::now();
        if now >= next_status {
            eprintln!("{}", status.line(clock.wall_ns(clock.now_ns())));
            next_status += Duration::from_secs(1);
        }
        if a.once && fed == Feed::Done {
            let wall = clock.wall_ns(clock.now_ns());
            let ended = *input_end.get_or_insert(wall);
            if status.logout_since(ended) || !window_today(&valid.engine.session.window, ended) {
                return Ok(End::Clean { bad_input });
            }
        }
        // Lines arriving on standard input are handed over within 2 ms, lines of a file at their
        // time; between them, and with the input done, this thread only follows the journal and
        // looks for a signal, 50 times a second (each look reads the journal's new records:
        // every 2 ms it was most of an idle run's CPU time).
        let (wait, most) = match fed {
            Feed::Wait(at_ns) => (Duration::from_nanos(at_ns).saturating_sub(start.elapsed()), 20),
            Feed::Full => (Duration::from_micros(50), 2),
            Feed::Idle => (Duration::from_millis(2), 2),
            Feed::Done => (Duration::from_millis(20), 20),
        };
        std::thread::sleep(
            wait.min(Duration::from_millis(most)).min(next_status.saturating_duration_since(now)),
        );
    }
}
