//! [`JournalWatch`]: whether the writer can prepare space, seen from another thread.
//!
//! The writer runs on the engine thread and prepares its segments there, in idle turns. When
//! preparing fails (a full disk), the engine goes on in the room already mapped, then rejects
//! New orders `journal_full` and pushes back: the journal records each reject, but not why. The
//! person running the engine must learn at once that the disk is the problem, so the writer
//! publishes its preparation state here, and a thread of the application's (for `oms run`, its
//! main loop) reads it and tells them.
//!
//! The engine thread only stores atomics, and the error's text (already formatted when the
//! preparation failed, off the order path) with a `try_lock` that never waits: a watcher
//! holding the lock for a moment costs the writer one update of the text, never a stall. Every
//! message is formatted by the watcher, on its own thread.

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

/// What the writer publishes (see the module docs).
#[derive(Debug, Default)]
pub(super) struct Health {
    /// Preparing the next segment has failed and not succeeded since.
    failing: AtomicBool,
    /// Failed attempts to prepare space, in all.
    failures: AtomicU64,
    /// Mapped room ahead of the writer (records) when the current failure began.
    room: AtomicU64,
    /// The reserve kept in that room for the end of the session (records).
    reserve: AtomicU64,
    /// The last preparation error.
    error: Mutex<Option<String>>,
}

impl Health {
    /// A failed attempt; `room` and `reserve` as of the start of the failure, `error` its text.
    pub(super) fn failed(&self, failures: u64, room: u64, reserve: u64, error: Option<&String>) {
        if let (Ok(mut slot), Some(e)) = (self.error.try_lock(), error)
            && slot.as_ref() != Some(e)
        {
            *slot = Some(e.clone());
        }
        self.room.store(room, Ordering::Relaxed);
        self.reserve.store(reserve, Ordering::Relaxed);
        self.failures.store(failures, Ordering::Relaxed);
        self.failing.store(true, Ordering::Release);
    }

    /// Preparing space succeeded again.
    pub(super) fn recovered(&self) {
        self.failing.store(false, Ordering::Release);
    }
}

/// A view of a [`JournalWriter`](super::JournalWriter)'s preparation of space from any thread
/// ([`JournalWriter::watch`](super::JournalWriter::watch)): whether it is failing (a full
/// disk), how often it failed, the last error, and [`JournalWatch::news`], a sentence for a
/// person whenever that changes. Reading it costs the writer nothing.
#[derive(Clone, Debug)]
pub struct JournalWatch {
    health: Arc<Health>,
    path: PathBuf,
    /// What [`JournalWatch::news`] last told.
    told_failing: bool,
}

impl JournalWatch {
    pub(super) fn new(health: Arc<Health>, path: PathBuf) -> JournalWatch {
        JournalWatch { health, path, told_failing: false }
    }

    /// Whether preparing space is failing now (it failed and has not succeeded since): the
    /// engine is using up the room already prepared, and then rejects New orders
    /// `journal_full` and stops taking requests.
    pub fn failing(&self) -> bool {
        self.health.failing.load(Ordering::Acquire)
    }

    /// Failed attempts to prepare space so far (each retried after 200 ms of the writer's clock).
    pub fn prepare_failures(&self) -> u64 {
        self.health.failures.load(Ordering::Relaxed)
    }

    /// The last preparation error, if any.
    pub fn last_error(&self) -> Option<String> {
        self.health.error.lock().ok().and_then(|e| e.clone())
    }

    /// A sentence for a person when preparing space has started failing, or succeeds again,
    /// since the last call (each change told once); `None` otherwise. The failure's sentence
    /// says why (the error, naming the file: "No space left on device"), how much room is left
    /// and what the engine does about it.
    pub fn news(&mut self) -> Option<String> {
        let failing = self.failing();
        if failing == self.told_failing {
            return None;
        }
        self.told_failing = failing;
        let path = self.path.display();
        if !failing {
            return Some(format!(
                "journal {path}: space prepared again (after {} failed attempts): New orders are taken again",
                self.prepare_failures()
            ));
        }
        let error = self.last_error().unwrap_or_else(|| "unknown error".into());
        let room = self.health.room.load(Ordering::Relaxed);
        let reserve = self.health.reserve.load(Ordering::Relaxed);
        let rejects = if room <= 2 * reserve {
            "New orders are rejected journal_full from now on".to_string()
        } else {
            format!("New orders will be rejected journal_full once {} are left", 2 * reserve)
        };
        Some(format!(
            "journal {path}: cannot prepare more space: {error}; {room} records of room are left: {rejects}, \
             and requests wait in their rings once {reserve} are left (kept for the end of the session); \
             retrying every 200 ms"
        ))
    }
}
