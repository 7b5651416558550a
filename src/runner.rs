//! Running an [`Engine`] on its own thread: pinning, idle strategy, clean stop.
//!
//! [`Engine::spawn`] starts the thread, pins it to `engine.core` when configured (a core that does
//! not exist is an error returned before any work starts), and loops on [`Engine::poll`]. When a
//! turn finds nothing to do, the idle strategy decides what the thread does: `spin` (a pause
//! instruction; lowest latency), `yield`, or `park` (sleep until the next timer, at most
//! `park_max_us`, for shared machines). [`EngineHandle::stop`] asks the loop to finish, runs
//! [`Engine::shutdown`] on the engine thread, and returns the final counters with the exchange
//! and sink.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc;
use std::thread::JoinHandle;
use std::time::Duration;

use crate::config::IdleStrategy;
use crate::engine::{Engine, EngineReport};
use crate::event::EventSink;
use crate::exchange::Exchange;

/// Errors from starting or stopping the engine thread.
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    /// `engine.core` names a core this process cannot run on.
    #[error("engine.core: cannot pin the engine thread to core {core} (available: {available:?})")]
    CoreUnavailable {
        /// The configured core.
        core: usize,
        /// Cores the OS reports.
        available: Vec<usize>,
    },
    /// The OS refused to start a thread.
    #[error("cannot start the engine thread: {0}")]
    Spawn(#[from] std::io::Error),
    /// The engine thread panicked (a bug: please report it with the journal).
    #[error("the engine thread panicked")]
    Panicked,
}

/// Controls a running engine thread.
pub struct EngineHandle<E, S> {
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<Option<EngineReport<E, S>>>>,
}

impl<E: Exchange + Send + 'static, S: EventSink + Send + 'static> Engine<E, S> {
    /// Runs the engine on a new thread (named `oms-engine`), pinned to `engine.core` if set.
    pub fn spawn(self) -> Result<EngineHandle<E, S>, RunError> {
        let core = self.config().engine.core;
        let core_id = match core {
            None => None,
            Some(c) => {
                let ids = core_affinity::get_core_ids().unwrap_or_default();
                match ids.iter().find(|id| id.id == c) {
                    Some(id) => Some(*id),
                    None => {
                        return Err(RunError::CoreUnavailable {
                            core: c,
                            available: ids.iter().map(|i| i.id).collect(),
                        });
                    }
                }
            }
        };
        let stop = Arc::new(AtomicBool::new(false));
        let flag = stop.clone();
        let (pinned_tx, pinned_rx) = mpsc::sync_channel::<bool>(1);
        let thread = std::thread::Builder::new().name("oms-engine".into()).spawn(move || {
            let pinned = core_id.is_none_or(core_affinity::set_for_current);
            let _ = pinned_tx.send(pinned);
            if !pinned {
                // Nothing ran: no logon, no record. `spawn` reports the error.
                return None;
            }
            let mut engine = self;
            engine.run(&flag);
            Some(engine.shutdown())
        })?;
        if pinned_rx.recv() != Ok(true) {
            let _ = thread.join();
            let available = core_affinity::get_core_ids().unwrap_or_default().iter().map(|i| i.id).collect();
            return Err(RunError::CoreUnavailable { core: core.unwrap_or_default(), available });
        }
        Ok(EngineHandle { stop, thread: Some(thread) })
    }

    /// Polls until `stop` is set, idling as configured when there is nothing to do.
    pub fn run(&mut self, stop: &AtomicBool) {
        let idle = self.config().engine.idle;
        let park_max_ns = self.config().engine.park_max_us.get().saturating_mul(1000);
        while !stop.load(Ordering::Relaxed) {
            if self.poll() > 0 {
                continue;
            }
            match idle {
                IdleStrategy::Spin => std::hint::spin_loop(),
                IdleStrategy::Yield => std::thread::yield_now(),
                IdleStrategy::Park => {
                    let now = self.clock().now_ns();
                    let until = self.next_deadline_ns().map_or(park_max_ns, |d| d.saturating_sub(now));
                    let ns = until.min(park_max_ns);
                    if ns > 0 {
                        std::thread::sleep(Duration::from_nanos(ns));
                    }
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
            let _ = t.join();
        }
    }
}
