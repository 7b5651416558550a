//! Running an [`Engine`] on its own thread: pinning, idle strategy, clean stop.
//!
//! [`EngineHandle::spawn`] starts the thread (named `oms-engine`), pins it to the configured core
//! when there is one (a core that does not exist is an error returned before any work starts),
//! and loops on [`Engine::poll`] ([`run`]). When a turn finds nothing to do, the
//! [`IdleStrategy`] decides what the thread does: `spin` (a pause instruction; lowest latency),
//! `yield`, `park` (sleep until the next timer, at most `park_max_us`), or `backoff` (spin, then
//! yield, then sleep until woken: for shared machines and low rates).
//! [`EngineHandle::stop`] asks the loop to finish, runs [`Engine::shutdown`] on the engine
//! thread, and returns the final counters with the exchange and sink.
//!
//! **The default strategy is `backoff`**: an idle engine costs next to no CPU (an idle `oms run`
//! 0.2 % of a core, against 92 % spinning), and a busy one never sleeps (at 1M orders/s the
//! next order comes before the spin phase ends). `spin` holds its core at 100 % even with
//! nothing to do and saves the wake-up (tens of µs) of an order that comes after a quiet spell:
//! choose it, with `[engine] core`, for a core set aside for the engine (figures in
//! `docs/BENCHMARKS.md`).
//!
//! **`backoff`.** After the last turn that found work, the thread spins for `spin_us`, then
//! yields for `yield_us` (a budget that adapts, below), then sleeps on the engine's
//! [`Doorbell`] until the next timer the engine knows ([`Engine::next_deadline_ns`]: logon,
//! logout, a throttle permit for a waiting order, the exchange adapter's heartbeat or
//! reconnect), at most `sleep_max_us`. A push into
//! any ring (a producer's request, an exchange's answer) wakes it: the pusher pays one fence and
//! one load per push, and a system call only when the engine sleeps ([`crate::doorbell`] has the
//! protocol and why no wake-up is lost). With an exchange that has a descriptor to wait on
//! ([`Exchange::wait_fd`]: a FIX session's socket), the sleep waits on it too, so an inbound
//! message wakes the engine. A stop and a [`EngineHandle::wait_until_done`] ring the doorbell.
//! While spinning, a turn costs what it costs under `spin` and one TSC reading.
//!
//! **The budget adapts to the gaps between work** (`backoff.rs`): a gap longer than
//! `spin_us + yield_us` halves the spin and yield budget, down to `spin_min_us` (2 µs by
//! default); a gap the full budget catches (caught spinning or yielding, or slept through
//! when the full budget would have caught it) restores it at once. At 10k orders/s (gaps of 100 µs) the engine so sleeps 2 µs after each order
//! instead of spending 40 µs spinning and yielding for nothing; at 100k/s and above it keeps
//! spinning. The gap of a spell that ended in a sleep runs to the arrival stamp of the request
//! that woke it, so the wake-up's own latency does not count.
//!
//! **Waiting until the work is done.** [`EngineHandle::wait_until_done`] returns once every
//! request handed over before the call has been decided and every order sent has been answered
//! (the rings, the queue and the in-flight table empty), or fails at its deadline saying what was
//! left. The engine thread owns that state, so it is the engine thread that answers: the waiter
//! takes a ticket, and the loop looks at the tickets only in a turn that found no work (one
//! relaxed load and one compare; nothing in a turn that works), where it checks
//! [`Engine::is_done`] and publishes the answer. The hot path pays nothing.

use std::num::NonZeroU64;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use core_affinity::CoreId;

use crate::doorbell::Doorbell;
use crate::engine::{Engine, EngineReport};
use crate::exchange::Exchange;
use crate::sink::EventSink;

mod backoff;
use backoff::{BackoffState, Phase, Stopwatch};

/// What the engine thread does when a loop turn found no work.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum IdleStrategy {
    /// Busy-spin (lowest latency on a core set aside; burns the core).
    Spin,
    /// `thread::yield_now` between turns.
    Yield,
    /// Sleep until the next timer, at most `park_max_us`; not woken by a push.
    Park,
    /// Spin for `spin_us` after the last work, then yield for `yield_us`, then sleep until a
    /// push, the exchange's socket or the next timer wakes it (see the module docs); while the
    /// gaps between work are longer than that, the spin and yield budget halves per gap down
    /// to `spin_min_us`, and any gap the full budget catches restores it. The default.
    #[default]
    Backoff,
}

impl IdleStrategy {
    /// The configuration's name: `spin`, `yield` or `park`.
    pub const fn name(self) -> &'static str {
        match self {
            IdleStrategy::Spin => "spin",
            IdleStrategy::Yield => "yield",
            IdleStrategy::Park => "park",
            IdleStrategy::Backoff => "backoff",
        }
    }

    /// Every strategy.
    pub const ALL: [IdleStrategy; 4] =
        [IdleStrategy::Spin, IdleStrategy::Yield, IdleStrategy::Park, IdleStrategy::Backoff];

    /// Parses a configuration name.
    pub fn from_name(s: &str) -> Option<IdleStrategy> {
        Self::ALL.into_iter().find(|i| i.name() == s)
    }
}

/// How the engine thread runs: a checked `[engine]` `core`, `idle`, `park_max_us` and the
/// `backoff` strategy's `spin_us`, `yield_us`, `sleep_max_us`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RunnerSettings {
    /// Core to pin to; none = not pinned.
    pub core: Option<usize>,
    /// What an idle loop turn does.
    pub idle: IdleStrategy,
    /// Longest sleep of the `park` strategy, µs.
    pub park_max_us: NonZeroU64,
    /// The `backoff` strategy's phases.
    pub backoff: Backoff,
}

/// The phases of the `backoff` idle strategy (`[engine] spin_us`, `yield_us`, `spin_min_us`,
/// `sleep_max_us`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Backoff {
    /// Spin at most this long after the last turn that found work, µs.
    pub spin_us: u64,
    /// Then yield at most this long, µs.
    pub yield_us: u64,
    /// The least the spin and yield budget shrinks to while the gaps between work are longer
    /// than `spin_us + yield_us` (the budget adapts: see [`IdleStrategy::Backoff`]), µs.
    pub spin_min_us: u64,
    /// Then sleep until woken, at most this long at a time, µs.
    pub sleep_max_us: NonZeroU64,
}

impl Default for Backoff {
    /// 20 µs of spinning, 20 µs of yielding (at least 2 µs of spinning when the gaps are
    /// long), sleeps of at most 100 ms.
    fn default() -> Self {
        Backoff {
            spin_us: 20,
            yield_us: 20,
            spin_min_us: 2,
            sleep_max_us: NonZeroU64::new(100_000).unwrap_or(NonZeroU64::MIN),
        }
    }
}

/// Errors from starting or stopping the engine thread.
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    /// The configured core is not one this process may run on.
    #[error("cannot pin to core {core}: the cores available to this process are {available:?}")]
    CoreUnavailable {
        /// The configured core.
        core: usize,
        /// Cores the OS reports.
        available: Vec<usize>,
    },
    /// The core exists, but the OS refused to pin the engine thread to it.
    #[error("the OS refused to pin the engine thread to core {core}")]
    PinRefused {
        /// The configured core.
        core: usize,
    },
    /// The OS refused to start a thread.
    #[error("cannot start the engine thread: {0}")]
    Spawn(#[from] std::io::Error),
    /// The engine thread panicked (a bug: please report it with the journal).
    #[error("the engine thread panicked")]
    Panicked,
}

/// [`EngineHandle::wait_until_done`] gave up.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum WaitError {
    /// The deadline passed with work left: `left` is what the engine saw in its last idle turn
    /// after the call (`None`: it had no idle turn, e.g. busy with a continuous flow).
    #[error("the engine was not done within {within:?}: {}", left.map_or_else(
        || "it had no idle turn since the wait began".to_string(),
        |l| l.to_string()))]
    TimedOut {
        /// How long the call waited.
        within: Duration,
        /// What was left at the engine's last idle turn.
        left: Option<Outstanding>,
    },
    /// The engine thread is no longer running (it panicked).
    #[error("the engine thread is not running")]
    Stopped,
}

/// What kept an engine from being done, as of one idle turn.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Outstanding {
    /// Orders in the queue.
    pub queued: u64,
    /// Orders sent and not answered.
    pub in_flight: u64,
    /// Whether a request or a response was still in a ring (the journal had no room to take
    /// requests, or one arrived at that moment).
    pub in_rings: bool,
}

impl std::fmt::Display for Outstanding {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} queued, {} in flight", self.queued, self.in_flight)?;
        if self.in_rings {
            write!(f, ", messages still in the rings")?;
        }
        Ok(())
    }
}

/// What the engine thread shares with its handle: the stop flag, the waiters' tickets, the
/// engine's doorbell and the thread's CPU time.
#[derive(Debug, Default)]
struct Control {
    /// The engine's doorbell: a stop or a wait rings it.
    bell: Arc<Doorbell>,
    /// The engine thread's id (Linux TID; 0 until it runs).
    tid: AtomicU64,
    /// Set by [`EngineHandle::stop`] (and on drop); read by every loop turn.
    stop: AtomicBool,
    /// The last ticket taken by [`EngineHandle::wait_until_done`]; read by idle turns only.
    asked: AtomicU64,
    /// The last ticket the engine thread found done (it alone writes it).
    answered: AtomicU64,
    /// [`Outstanding`] at the last idle turn that could not answer (for the timeout's message;
    /// the three are stored one by one, so they may come from two neighbouring turns).
    queued: AtomicU64,
    in_flight: AtomicU64,
    in_rings: AtomicBool,
    /// Tickets for which `queued`, `in_flight`, `in_rings` were written (the last one).
    reported: AtomicU64,
}

impl Control {
    /// Whether a waiter took a ticket after [`Control::answer`] saw `seen`.
    fn asked_since(&self, seen: u64) -> bool {
        self.asked.load(Ordering::Acquire) != seen
    }

    /// On an idle turn: answers the waiters' tickets if the engine is done, else says what is
    /// left. One load and one compare when nobody waits. Returns the last ticket it saw.
    #[inline]
    fn answer<E: Exchange, S: EventSink>(&self, engine: &Engine<E, S>) -> u64 {
        // Acquire: what the waiter handed over before taking its ticket (a request pushed into
        // a ring) is visible to the checks below.
        let asked = self.asked.load(Ordering::Acquire);
        if asked != self.answered.load(Ordering::Relaxed) {
            self.note_progress(engine, asked);
        }
        asked
    }

    #[cold]
    fn note_progress<E: Exchange, S: EventSink>(&self, engine: &Engine<E, S>, asked: u64) {
        if engine.is_done() {
            self.answered.store(asked, Ordering::Release);
        } else {
            self.queued.store(engine.queue_len() as u64, Ordering::Relaxed);
            self.in_flight.store(engine.in_flight_len() as u64, Ordering::Relaxed);
            self.in_rings.store(!engine.rings_empty(), Ordering::Relaxed);
            self.reported.store(asked, Ordering::Release);
        }
    }
}

/// The core with OS id `core`, if this process may run on it.
pub fn core_id(core: usize) -> Result<CoreId, RunError> {
    let ids = core_affinity::get_core_ids().unwrap_or_default();
    ids.iter()
        .find(|id| id.id == core)
        .copied()
        .ok_or_else(|| RunError::CoreUnavailable { core, available: ids.iter().map(|i| i.id).collect() })
}

/// Controls a running engine thread.
#[derive(Debug)]
pub struct EngineHandle<E, S> {
    control: Arc<Control>,
    thread: Option<JoinHandle<Option<EngineReport<E, S>>>>,
}

impl<E: Exchange + Send + 'static, S: EventSink + Send + 'static> EngineHandle<E, S> {
    /// Runs `engine` on a new thread (named `oms-engine`), pinned as `settings` say, idling as
    /// they say.
    pub fn spawn(engine: Engine<E, S>, settings: &RunnerSettings) -> Result<EngineHandle<E, S>, RunError> {
        let core = settings.core.map(core_id).transpose()?;
        let settings = *settings;
        let control = Arc::new(Control { bell: engine.doorbell().clone(), ..Control::default() });
        let shared = control.clone();
        let (pinned_tx, pinned_rx) = mpsc::sync_channel::<bool>(1);
        let thread = std::thread::Builder::new().name("oms-engine".into()).spawn(move || {
            let pinned = core.is_none_or(core_affinity::set_for_current);
            shared.tid.store(current_tid(), Ordering::Release);
            let _ = pinned_tx.send(pinned);
            if !pinned {
                // Nothing ran: no logon, no record. `spawn` reports the error.
                return None;
            }
            let mut engine = engine;
            turns(&mut engine, &settings, &shared.stop, Some(&shared));
            Some(engine.shutdown())
        })?;
        if pinned_rx.recv() != Ok(true) {
            let _ = thread.join();
            return Err(RunError::PinRefused { core: settings.core.unwrap_or_default() });
        }
        Ok(EngineHandle { control, thread: Some(thread) })
    }
}

/// Polls `engine` until `stop` is set, idling as `settings` say when a turn finds nothing to do.
pub fn run<E: Exchange, S: EventSink>(
    engine: &mut Engine<E, S>,
    settings: &RunnerSettings,
    stop: &AtomicBool,
) {
    turns(engine, settings, stop, None)
}

/// [`run`], answering [`EngineHandle::wait_until_done`] in idle turns when `waits` is given.
fn turns<E: Exchange, S: EventSink>(
    engine: &mut Engine<E, S>,
    settings: &RunnerSettings,
    stop: &AtomicBool,
    waits: Option<&Control>,
) {
    let park_max_ns = settings.park_max_us.get().saturating_mul(1000);
    let mut backoff = BackoffState::new(&settings.backoff);
    let watch = Stopwatch::new();
    while !stop.load(Ordering::Relaxed) {
        if engine.poll() > 0 {
            if backoff.idle_spell() {
                backoff.worked(watch.now_ns());
            }
            continue;
        }
        let seen = waits.map(|w| (w, w.answer(engine)));
        match settings.idle {
            IdleStrategy::Backoff => match backoff.phase(watch.now_ns()) {
                Phase::Spin => std::hint::spin_loop(),
                Phase::Yield => std::thread::yield_now(),
                Phase::Sleep => sleep(&mut backoff, &watch, engine, stop, seen),
            },
            IdleStrategy::Spin => std::hint::spin_loop(),
            IdleStrategy::Yield => std::thread::yield_now(),
            IdleStrategy::Park => {
                let now = engine.clock().now_ns();
                let until = engine.next_deadline_ns().map_or(park_max_ns, |d| d.saturating_sub(now));
                let ns = until.min(park_max_ns);
                if ns > 0 {
                    // Parked, not asleep: `EngineHandle::stop` unparks the thread, so a stop
                    // never waits for `park_max_us`.
                    std::thread::park_timeout(Duration::from_nanos(ns));
                }
            }
        }
    }
}

/// Sleeps on the engine's doorbell until a push, the exchange's descriptor or the next deadline
/// (the protocol of [`crate::doorbell`]: flag, fence, last look, wait). A request found on
/// waking tells `backoff` when the work came ([`BackoffState::woken_by`]).
#[cold]
fn sleep<E: Exchange, S: EventSink>(
    backoff: &mut BackoffState,
    watch: &Stopwatch,
    engine: &Engine<E, S>,
    stop: &AtomicBool,
    seen: Option<(&Control, u64)>,
) {
    let bell = engine.doorbell();
    // The doorbell's flag, and the one in each client ring's header (`crate::ipc`).
    engine.prepare_sleep();
    // A waiter's ticket taken since this idle turn's answer: answer it before sleeping.
    let asked = seen.is_some_and(|(w, ticket)| w.asked_since(ticket));
    if stop.load(Ordering::Relaxed) || asked || !engine.rings_empty() {
        engine.cancel_sleep();
        // Work came while the spell's turns ran late (the thread preempted): the gap ends at
        // its arrival, not at this look.
        work_arrived(backoff, watch, engine);
        return;
    }
    let now = engine.clock().now_ns();
    let ns = engine.next_deadline_ns().map_or(backoff.sleep_max_ns, |d| d.saturating_sub(now));
    let ns = ns.min(backoff.sleep_max_ns);
    if ns == 0 {
        engine.cancel_sleep();
        return;
    }
    let other = engine.exchange().wait_fd().map(|w| {
        let read = if w.readable { libc::POLLIN } else { 0 };
        (w.fd, read | if w.writable { libc::POLLOUT } else { 0 })
    });
    bell.wait(Duration::from_nanos(ns), other);
    engine.cancel_sleep();
    work_arrived(backoff, watch, engine);
}

/// Tells `backoff` when the oldest request in the rings arrived, if there is one: how long it
/// waited (engine clock), back from now (stopwatch).
fn work_arrived<E: Exchange, S: EventSink>(
    backoff: &mut BackoffState,
    watch: &Stopwatch,
    engine: &Engine<E, S>,
) {
    if let Some(arrival) = engine.first_request_arrival_ns() {
        let waited = engine.clock().now_ns().saturating_sub(arrival);
        backoff.woken_by(watch.now_ns().saturating_sub(waited));
    }
}

/// The calling thread's Linux thread id.
fn current_tid() -> u64 {
    // SAFETY: a plain system call without arguments.
    let tid = unsafe { libc::syscall(libc::SYS_gettid) };
    u64::try_from(tid).unwrap_or(0)
}

/// CPU time thread `tid` of this process has used: from `/proc/self/task/TID/schedstat` (ns),
/// else from its `stat` (user + system, clock ticks); `None` where neither can be read.
pub fn thread_cpu_time(tid: u64) -> Option<Duration> {
    let schedstat = std::fs::read_to_string(format!("/proc/self/task/{tid}/schedstat")).ok();
    if let Some(ns) = schedstat.and_then(|t| t.split_whitespace().next()?.parse::<u64>().ok()) {
        return Some(Duration::from_nanos(ns));
    }
    let stat = std::fs::read_to_string(format!("/proc/self/task/{tid}/stat")).ok()?;
    // Fields after the command name (which may hold spaces), from field 3 on: utime is field 14,
    // stime field 15, in clock ticks.
    let rest = &stat[stat.rfind(')')? + 2..];
    let mut fields = rest.split(' ');
    let utime: u64 = fields.nth(11)?.parse().ok()?;
    let stime: u64 = fields.next()?.parse().ok()?;
    // SAFETY: a plain system call without memory arguments.
    let hz = unsafe { libc::sysconf(libc::_SC_CLK_TCK) };
    let hz = u64::try_from(hz).ok().filter(|h| *h > 0)?;
    Some(Duration::from_nanos((utime + stime).saturating_mul(1_000_000_000) / hz))
}

impl<E, S> EngineHandle<E, S> {
    /// The CPU time the engine thread has used so far ([`thread_cpu_time`]). `None` where it
    /// cannot be read, or once the thread has ended.
    pub fn engine_cpu_time(&self) -> Option<Duration> {
        match self.control.tid.load(Ordering::Acquire) {
            0 => None,
            tid => thread_cpu_time(tid),
        }
    }

    /// Whether the engine thread is still running.
    pub fn is_running(&self) -> bool {
        self.thread.as_ref().is_some_and(|t| !t.is_finished())
    }

    /// Waits until the engine is done with everything handed to it before this call: every
    /// request taken from its ring and decided, the queue empty, every order sent answered by
    /// the exchange (and a stray response recorded). Requests count if handing them over
    /// happened before the call: from this thread, or from threads joined or otherwise
    /// synchronized with it. An exchange's later reports on answered orders (a fill after the
    /// accept) are not waited for.
    ///
    /// Orders over the throttle go out at its pace, so this may take a while; at the window's
    /// end queued orders are rejected `session_ended`, which also ends the wait. An exchange that
    /// never answers keeps its orders in flight: then, at `within`, [`WaitError::TimedOut`] says
    /// what was left. The engine keeps running either way; [`EngineHandle::stop`] ends it.
    ///
    /// The caller sleeps between looks (50 µs, doubling to 1 ms) while the engine thread checks
    /// in its idle turns: nothing on the engine's hot path.
    pub fn wait_until_done(&self, within: Duration) -> Result<(), WaitError> {
        let deadline = Instant::now() + within;
        let c = &self.control;
        // Release: what this thread handed over before is visible to the engine's check.
        let ticket = c.asked.fetch_add(1, Ordering::AcqRel) + 1;
        c.bell.ring(); // a sleeping engine checks now, not at its next timer
        if let Some(t) = &self.thread {
            t.thread().unpark(); // as does a parked one
        }
        let mut pause = Duration::from_micros(50);
        loop {
            if c.answered.load(Ordering::Acquire) >= ticket {
                return Ok(());
            }
            if !self.is_running() {
                return Err(WaitError::Stopped);
            }
            let now = Instant::now();
            if now >= deadline {
                let left = (c.reported.load(Ordering::Acquire) >= ticket).then(|| Outstanding {
                    queued: c.queued.load(Ordering::Relaxed),
                    in_flight: c.in_flight.load(Ordering::Relaxed),
                    in_rings: c.in_rings.load(Ordering::Relaxed),
                });
                return Err(WaitError::TimedOut { within, left });
            }
            std::thread::sleep(pause.min(deadline - now));
            pause = (pause * 2).min(Duration::from_millis(1));
        }
    }

    /// Stops the loop, shuts the engine down on its thread, and returns the report.
    pub fn stop(mut self) -> Result<EngineReport<E, S>, RunError> {
        self.control.stop.store(true, Ordering::Relaxed);
        self.control.bell.ring();
        if let Some(t) = &self.thread {
            t.thread().unpark();
        }
        match self.thread.take().map(|t| t.join()) {
            Some(Ok(Some(report))) => Ok(report),
            _ => Err(RunError::Panicked),
        }
    }
}

impl<E, S> Drop for EngineHandle<E, S> {
    fn drop(&mut self) {
        self.control.stop.store(true, Ordering::Relaxed);
        self.control.bell.ring();
        if let Some(t) = self.thread.take() {
            t.thread().unpark();
            let _ = t.join();
        }
    }
}
