//! Running an [`Engine`] on its own thread: pinning, idle strategy, clean stop.
//!
//! [`EngineHandle::spawn`] starts the thread (named `oms-engine`), pins it to the configured core
//! when there is one (a core that does not exist is an error returned before any work starts),
//! and loops on [`Engine::poll`] ([`run`]). When a turn finds nothing to do, the
//! [`IdleStrategy`] decides what the thread does: `spin` (a pause instruction; lowest latency),
//! `yield`, or `park` (sleep until the next timer, at most `park_max_us`, for shared machines).
//! [`EngineHandle::stop`] asks the loop to finish, runs [`Engine::shutdown`] on the engine
//! thread, and returns the final counters with the exchange and sink.

use std::num::NonZeroU64;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc;
use std::thread::JoinHandle;
use std::time::Duration;

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
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<Option<EngineReport<E, S>>>>,
}

impl<E: Exchange + Send + 'static, S: EventSink + Send + 'static> EngineHandle<E, S> {
    /// Runs `engine` on a new thread (named `oms-engine`), pinned as `settings` say, idling as
    /// they say.
    pub fn spawn(engine: Engine<E, S>, settings: &RunnerSettings) -> Result<EngineHandle<E, S>, RunError> {
        let core = settings.core.map(core_id).transpose()?;
        let settings = *settings;
        let stop = Arc::new(AtomicBool::new(false));
        let flag = stop.clone();
        let (pinned_tx, pinned_rx) = mpsc::sync_channel::<bool>(1);
        let thread = std::thread::Builder::new().name("oms-engine".into()).spawn(move || {
            let pinned = core.is_none_or(core_affinity::set_for_current);
            let _ = pinned_tx.send(pinned);
            if !pinned {
                // Nothing ran: no logon, no record. `spawn` reports the error.
                return None;
            }
            let mut engine = engine;
            run(&mut engine, &settings, &flag);
            Some(engine.shutdown())
        })?;
        if pinned_rx.recv() != Ok(true) {
            let _ = thread.join();
            return Err(RunError::PinRefused { core: settings.core.unwrap_or_default() });
        }
        Ok(EngineHandle { stop, thread: Some(thread) })
    }
}

/// Polls `engine` until `stop` is set, idling as `settings` say when a turn finds nothing to do.
pub fn run<E: Exchange, S: EventSink>(
    engine: &mut Engine<E, S>,
    settings: &RunnerSettings,
    stop: &AtomicBool,
) {
    let park_max_ns = settings.park_max_us.get().saturating_mul(1000);
    while !stop.load(Ordering::Relaxed) {
        if engine.poll() > 0 {
            continue;
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

    /// Stops the loop, shuts the engine down on its thread, and returns the report.
    pub fn stop(mut self) -> Result<EngineReport<E, S>, RunError> {
        self.stop.store(true, Ordering::Relaxed);
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
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            t.thread().unpark();
            let _ = t.join();
        }
    }
}
