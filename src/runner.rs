//! Running an [`Engine`] on its own thread: pinning, idle strategy, clean stop.
//!
//! [`EngineHandle::spawn`] starts the thread (named `oms-engine`), pins it to the configured core
//! when there is one (a core that does not exist is an error returned before any work starts),
//! and loops on [`Engine::poll`] ([`run`]). When a turn finds nothing to do, the
//! [`IdleStrategy`] decides what the thread does: `spin` (a pause instruction; lowest latency),
//! `yield`, or `park` (sleep until the next timer, at most `park_max_us`, for shared machines).
//! [`EngineHandle::stop`] asks the loop to finish, runs [`Engine::shutdown`] on the engine
//! thread, and returns the final counters with the exchange and sink.
//!
//! **The default strategy, `spin`, holds its core at 100 %** even with nothing to do: right for
//! a core set aside for the engine (`[engine] core`), wasteful in a plain program or on a shared
//! machine, where `park` (or `yield`) gives the core back between timers.
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

use crate::engine::{Engine, EngineReport};
use crate::exchange::Exchange;
use crate::sink::EventSink;

/// What the engine thread does when a loop turn found no work.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum IdleStrategy {
    /// Busy-spin (lowest latency; burns the core).
    #[default]
    Spin,
    /// `thread::yield_now` between turns.
    Yield,
    /// Sleep until the next timer, at most `park_max_us` (for shared machines).
    Park,
}

impl IdleStrategy {
    /// The configuration's name: `spin`, `yield` or `park`.
    pub const fn name(self) -> &'static str {
        match self {
            IdleStrategy::Spin => "spin",
            IdleStrategy::Yield => "yield",
            IdleStrategy::Park => "park",
        }
    }

    /// Parses a configuration name.
    pub fn from_name(s: &str) -> Option<IdleStrategy> {
        [IdleStrategy::Spin, IdleStrategy::Yield, IdleStrategy::Park].into_iter().find(|i| i.name() == s)
    }
}

/// How the engine thread runs: a checked `[engine]` `core`, `idle` and `park_max_us`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RunnerSettings {
    /// Core to pin to; none = not pinned.
    pub core: Option<usize>,
    /// What an idle loop turn does.
    pub idle: IdleStrategy,
    /// Longest sleep of the `park` strategy, µs.
    pub park_max_us: NonZeroU64,
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

/// What the engine thread shares with its handle: the stop flag and the waiters' tickets.
#[derive(Debug, Default)]
struct Control {
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
    /// On an idle turn: answers the waiters' tickets if the engine is done, else says what is
    /// left. One load and one compare when nobody waits.
    #[inline]
    fn answer<E: Exchange, S: EventSink>(&self, engine: &Engine<E, S>) {
        // Acquire: what the waiter handed over before taking its ticket (a request pushed into
        // a ring) is visible to the checks below.
        let asked = self.asked.load(Ordering::Acquire);
        if asked == self.answered.load(Ordering::Relaxed) {
            return;
        }
        self.note_progress(engine, asked);
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
        let control = Arc::new(Control::default());
        let shared = control.clone();
        let (pinned_tx, pinned_rx) = mpsc::sync_channel::<bool>(1);
        let thread = std::thread::Builder::new().name("oms-engine".into()).spawn(move || {
            let pinned = core.is_none_or(core_affinity::set_for_current);
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
    while !stop.load(Ordering::Relaxed) {
        if engine.poll() > 0 {
            continue;
        }
        if let Some(w) = waits {
            w.answer(engine);
        }
        match settings.idle {
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

impl<E, S> EngineHandle<E, S> {
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
        if let Some(t) = &self.thread {
            t.thread().unpark(); // a parked engine checks now, not at its next timer
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
        if let Some(t) = self.thread.take() {
            t.thread().unpark();
            let _ = t.join();
        }
    }
}
