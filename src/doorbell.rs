//! A [`Doorbell`]: how a thread that has gone to sleep with nothing to do is woken by the threads
//! that hand it work, without a lost wake-up and without a system call while it is awake.
//!
//! The sleeper is the engine thread under `idle = "backoff"` (and the simulated exchange's
//! thread): once it has found nothing to do for a while it sleeps until the next timer it knows.
//! A producer that pushes into a ring meanwhile must wake it. The pusher ([`Doorbell::ring`])
//! pays one fence and one load of the `sleeping` flag per push, and the wake-up system call (a
//! write to an eventfd) only when the flag says the sleeper is, or is about to be, asleep.
//!
//! **No lost wake-up.** The protocol is the classic one (Dekker's, as in an eventcount):
//!
//! ```text
//! sleeper                                   pusher
//! S1 sleeping = true                        P1 push (the ring's release store of its tail)
//! S2 fence(SeqCst)                          P2 fence(SeqCst)
//! S3 look at every ring (and its timers):   P3 if sleeping: write 1 to the eventfd
//!    work? sleeping = false, go on
//! S4 wait on the eventfd until the deadline
//! S5 sleeping = false; read the eventfd (reset it)
//! ```
//!
//! The two SeqCst fences are ordered one way or the other in the single total order of SeqCst
//! operations. If S2 comes first, S1 happens before P2 and so before P3's load: the pusher sees
//! `sleeping == true` and writes the eventfd. If P2 comes first, P1 happens before S2 and so
//! before S3's loads: the sleeper finds the push and does not sleep. Either way the push is
//! seen. The eventfd keeps a count, so a write that comes between S3 and S4 (the pusher was
//! quick) is not lost either: the wait at S4 returns at once. A write that comes after S5 (the
//! pusher saw the flag just before S5 cleared it) leaves the count up, and the next wait
//! returns at once, finds nothing, and waits again: a spurious wake-up, never a lost one.
//! `tests/doorbell.rs` hammers the race: pushes timed around the sleeper's decision, each one
//! seen within a bound.
//!
//! **What it waits on.** [`Doorbell::wait`] is one `ppoll` on the eventfd and, when given, one
//! more descriptor (a FIX session's socket: an inbound message wakes the engine as a push
//! does), with a timeout in nanoseconds (the next logon, logout, throttle permit or heartbeat).
//! If the eventfd cannot be made (the process is out of descriptors), the doorbell still works
//! as a short sleep: the sleeper sleeps at most [`FALLBACK_SLEEP`] at a time and a ring does
//! nothing.

use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering, fence};
use std::time::Duration;

/// The longest sleep when the doorbell has no eventfd (see the module docs).
pub const FALLBACK_SLEEP: Duration = Duration::from_micros(200);

/// What a pusher and a sleeper share: the `sleeping` flag and the eventfd. See the module docs.
#[derive(Debug)]
pub struct Doorbell {
    /// Set by the sleeper from just before its last look at the rings until it wakes.
    sleeping: AtomicBool,
    /// The eventfd (non-blocking); `None` if it could not be made.
    fd: Option<OwnedFd>,
    /// Wake-up system calls made by pushers.
    wakes: AtomicU64,
    /// Sleeps begun by the sleeper.
    sleeps: AtomicU64,
}

/// Why [`Doorbell::wait`] returned.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Woken {
    /// A pusher rang.
    Rung,
    /// The other descriptor is ready.
    Ready,
    /// The timeout passed (or a signal came).
    Timeout,
}

impl Default for Doorbell {
    fn default() -> Self {
        Self::new()
    }
}

impl Doorbell {
    /// A doorbell with its eventfd (without one if the OS refuses it; see the module docs).
    pub fn new() -> Doorbell {
        // SAFETY: a plain system call; no memory is passed.
        let raw = unsafe { libc::eventfd(0, libc::EFD_NONBLOCK | libc::EFD_CLOEXEC) };
        // SAFETY: `raw` is a new descriptor that nothing else owns.
        let fd = (raw >= 0).then(|| unsafe { OwnedFd::from_raw_fd(raw) });
        Doorbell { sleeping: AtomicBool::new(false), fd, wakes: AtomicU64::new(0), sleeps: AtomicU64::new(0) }
    }

    /// A duplicate of the eventfd (for a producer in another process: it writes it as
    /// [`ring`](Self::ring) does, after the same fence and a load of a flag the sleeper sets
    /// with [`prepare`](Self::prepare)); `None` without one.
    pub fn try_clone_fd(&self) -> Option<OwnedFd> {
        self.fd.as_ref().and_then(|fd| fd.try_clone().ok())
    }

    /// Whether it has its eventfd (else the sleeper only naps).
    pub fn has_eventfd(&self) -> bool {
        self.fd.is_some()
    }

    /// The pusher's side, after a push (P2, P3): wakes the sleeper if it is, or is about to be,
    /// asleep. One fence and one load when it is awake.
    #[inline(always)]
    pub fn ring(&self) {
        fence(Ordering::SeqCst);
        if self.sleeping.load(Ordering::Relaxed) {
            self.wake();
        }
    }

    #[cold]
    #[inline(never)]
    fn wake(&self) {
        let Some(fd) = &self.fd else { return };
        self.wakes.fetch_add(1, Ordering::Relaxed);
        let one: u64 = 1;
        // SAFETY: writes the 8 bytes of `one`, which lives across the call, to a descriptor this
        // doorbell owns. A full counter (EAGAIN) means a wake-up is pending anyway.
        let _ = unsafe { libc::write(fd.as_raw_fd(), (&raw const one).cast(), 8) };
    }

    /// The sleeper's side, before its last look (S1, S2). After this, look at every source of
    /// work; then [`wait`](Self::wait) if there is none, or [`cancel`](Self::cancel).
    #[inline]
    pub fn prepare(&self) {
        self.sleeping.store(true, Ordering::Relaxed);
        fence(Ordering::SeqCst);
    }

    /// The last look found work: no sleep.
    #[inline]
    pub fn cancel(&self) {
        self.sleeping.store(false, Ordering::Relaxed);
    }

    /// Sleeps (S4, S5) until a pusher rings, `other` is ready (a descriptor and the `poll`
    /// events awaited on it), or `timeout` passes. Call after [`prepare`](Self::prepare) and a
    /// last look that found nothing.
    pub fn wait(&self, timeout: Duration, other: Option<(RawFd, i16)>) -> Woken {
        self.sleeps.fetch_add(1, Ordering::Relaxed);
        let woken = match &self.fd {
            Some(fd) => Self::poll(fd.as_raw_fd(), timeout, other),
            None => {
                std::thread::sleep(timeout.min(FALLBACK_SLEEP));
                Woken::Timeout
            }
        };
        self.sleeping.store(false, Ordering::Relaxed);
        if woken == Woken::Rung
            && let Some(fd) = &self.fd
        {
            let mut count: u64 = 0;
            // SAFETY: reads at most 8 bytes into `count`, which lives across the call, from a
            // descriptor this doorbell owns (non-blocking: EAGAIN if another read took it).
            let _ = unsafe { libc::read(fd.as_raw_fd(), (&raw mut count).cast(), 8) };
        }
        woken
    }

    fn poll(bell: RawFd, timeout: Duration, other: Option<(RawFd, i16)>) -> Woken {
        let mut fds = [
            libc::pollfd { fd: bell, events: libc::POLLIN, revents: 0 },
            libc::pollfd { fd: -1, events: 0, revents: 0 },
        ];
        if let Some((fd, events)) = other {
            fds[1] = libc::pollfd { fd, events, revents: 0 };
        }
        let n: libc::nfds_t = if other.is_some() { 2 } else { 1 };
        let ts = libc::timespec {
            tv_sec: timeout.as_secs().min(i64::MAX as u64) as libc::time_t,
            tv_nsec: libc::c_long::from(timeout.subsec_nanos() as i32),
        };
        // SAFETY: `fds` holds `n` initialized entries and `ts` a valid timespec, both alive
        // across the call; no signal mask is passed.
        let rc = unsafe { libc::ppoll(fds.as_mut_ptr(), n, &ts, std::ptr::null()) };
        if rc <= 0 {
            Woken::Timeout
        } else if fds[0].revents != 0 {
            Woken::Rung
        } else {
            Woken::Ready
        }
    }

    /// Wake-up system calls made by pushers so far.
    pub fn wakes(&self) -> u64 {
        self.wakes.load(Ordering::Relaxed)
    }

    /// Sleeps begun so far.
    pub fn sleeps(&self) -> u64 {
        self.sleeps.load(Ordering::Relaxed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_ring_while_awake_makes_no_system_call_and_one_while_asleep_wakes() {
        let bell = Doorbell::new();
        assert!(bell.has_eventfd());
        bell.ring();
        assert_eq!(bell.wakes(), 0, "nobody sleeps: no wake-up");
        bell.prepare();
        bell.ring();
        assert_eq!(bell.wakes(), 1);
        // The ring came before the wait: the wait returns at once (the count kept it).
        assert_eq!(bell.wait(Duration::from_secs(30), None), Woken::Rung);
        // Reset by the wait: the next one times out.
        bell.prepare();
        assert_eq!(bell.wait(Duration::from_millis(1), None), Woken::Timeout);
        assert_eq!(bell.sleeps(), 2);
        bell.ring();
        assert_eq!(bell.wakes(), 1, "awake again: no wake-up");
    }

    #[test]
    fn the_other_descriptor_wakes_the_sleeper() {
        let other = Doorbell::new();
        let fd = other.fd.as_ref().map(|f| f.as_raw_fd()).expect("an eventfd");
        other.prepare();
        other.ring();
        let bell = Doorbell::new();
        bell.prepare();
        assert_eq!(bell.wait(Duration::from_secs(30), Some((fd, libc::POLLIN))), Woken::Ready);
        bell.cancel();
    }
}
