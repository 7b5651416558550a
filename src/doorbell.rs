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
//! **Which ring: the ready mask.** A sleeper with many rings would look at every one of them
//! each turn to find the few with work: 12-14 instructions per idle ring per turn
//! (`docs/BENCHMARKS.md`). A [`ReadyMask`] tells it which: one bit per ring in words of 64
//! (each on a cache line of its own). A set bit means "the sleeper watches this ring": it
//! visits the ring every turn ([`ReadyMask::take`]: one load of the word). A pusher, after its
//! push, loads the word and sets its bit with a `fetch_or` only when it finds it clear
//! ([`Doorbell::ring_marking`]). The sleeper clears bits only in a *sweep*, every
//! [`SWEEP_TAKES`] takes of a word: the bits of the rings that had no work since the last sweep
//! (a `fetch_and`), and it visits those rings once more after it. So a busy ring's pusher finds
//! its bit set and writes nothing: the word's line is written only when a ring goes from idle
//! to busy (a pusher) or busy to idle (a sweep), not on every push and every turn, and the
//! sleeper learns of a busy ring's push from the ring itself, not from the word first (the
//! word's line and the ring's, two cache misses in a row). A ring a visit left with work (a
//! full batch) after its bit was cleared is kept in the sleeper's own copy, no atomic. No push
//! is missed:
//!
//! ```text
//! pusher                                    sleeper (a sweep)
//! P1 push (release store of the ring's tail) E1 word.fetch_and(!idle bits)
//! P2 fence(SeqCst)  (the doorbell's)          E2 fence(SeqCst)
//! P3 if word & bit == 0: word.fetch_or(bit)   E3 visit each ring of the cleared bits (acquire
//!                                                load of its tail)
//! ```
//!
//! Between sweeps a set bit stays set, and the sleeper visits the ring every turn: a push into
//! it is seen by the next visits (the ring's own acquire/release). Take a push P1 whose pusher
//! finds its bit set at P3 and skips the `fetch_or`. If that load read the word before some E1
//! cleared the bit, P3 is coherence-ordered before E1, so P2 precedes E1, and so E2, in the
//! single total order of SeqCst operations. Were E3 not to see P1, E3 would be
//! coherence-ordered before P1 and E2 would precede P2 in that order: a cycle. So E3, which
//! visits the ring, finds the push. If instead the load read the word after every E1 so far,
//! the bit is still set, and the sleeper visits the ring at its next turns, up to and
//! including the next sweep's E3. When the pusher finds the bit clear it sets it (release), and
//! the sleeper's next take (an acquire load) sees the bit and with it the push. Without E2 the
//! formal model does not order E3 after P1 (an RMW is no fence for other locations), although
//! x86's locked `and` is one; without P2 the pusher's load could pass its own store of the tail
//! (a store buffer) and the push would wait for the ring's next one. `tests/ready_mask.rs`
//! hammers the race: pushes timed around the sleeper's sweeps, each one taken within a bound.
//!
//! **What it waits on.** [`Doorbell::wait`] is one `ppoll` on the eventfd and, when given, one
//! more descriptor (a FIX session's socket: an inbound message wakes the engine as a push
//! does), with a timeout in nanoseconds (the next logon, logout, throttle permit or heartbeat).
//! If the eventfd cannot be made (the process is out of descriptors), the doorbell still works
//! as a short sleep: the sleeper sleeps at most [`FALLBACK_SLEEP`] at a time and a ring does
//! nothing.

use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::sync::Arc;
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

    /// [`ring`](Self::ring) after a push into the ring of `ready` (P2, P3 of the ready mask,
    /// then the doorbell's P3): the ring's bit is set before the sleeper is looked at, so a
    /// sleeper woken finds it.
    #[inline(always)]
    pub fn ring_marking(&self, ready: &ReadyBit) {
        fence(Ordering::SeqCst);
        ready.mark();
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

/// One word of a [`ReadyMask`], on a cache line of its own (its pushers write it, the sleeper
/// reads it and clears bits in a sweep; words of other rings do not share the line).
#[derive(Debug, Default)]
#[repr(align(128))]
struct ReadyWord(AtomicU64);

/// A pusher's bit in a [`ReadyMask`]: `Send`, one per ring (see the module docs).
#[derive(Debug)]
pub struct ReadyBit {
    word: Arc<ReadyWord>,
    bit: u64,
}

impl ReadyBit {
    /// Sets the bit unless it is set: one load, and a `fetch_or` only when the sleeper has
    /// cleared the bit since (a sweep found the ring idle). Call after the push and a SeqCst fence
    /// ([`Doorbell::ring_marking`] does both).
    #[inline(always)]
    pub fn mark(&self) {
        if self.word.0.load(Ordering::Relaxed) & self.bit == 0 {
            self.word.0.fetch_or(self.bit, Ordering::Release);
        }
    }
}

/// How many [`ReadyMask::take`]s of a word between two sweeps of its idle rings (see the module
/// docs): about 100 µs of a spinning engine's turns.
pub const SWEEP_TAKES: u32 = 1024;

/// What a visit of a ring found ([`ReadyMask::drained`], [`ReadyMask::visit`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Drained {
    /// Nothing in the ring.
    Empty,
    /// Took what was there.
    Emptied,
    /// Took a batch and left work in the ring: visit it again next turn.
    LeftWork,
}

/// One word of the mask, as the sleeper holds it.
#[derive(Debug, Default)]
struct MaskWord {
    /// The shared word.
    shared: Arc<ReadyWord>,
    /// Bits of rings a visit left with work after a sweep took their bits (the sleeper's own).
    kept: u64,
    /// Bits of rings that had work since the last sweep.
    busy: u64,
    /// Takes since the last sweep.
    takes: u32,
}

impl MaskWord {
    /// Clears the bits of the rings in `set` that had no work since the last sweep (E1, E2 of
    /// the module docs); the caller visits them after this (E3).
    #[cold]
    #[inline(never)]
    fn sweep(&mut self, set: u64) {
        self.takes = 0;
        let idle = set & !self.busy;
        self.busy = 0;
        if idle != 0 {
            self.shared.0.fetch_and(!idle, Ordering::AcqRel);
            fence(Ordering::SeqCst);
        }
    }
}

/// Which of a sleeper's rings to visit: ring `i`'s pusher sets bit `i` when it finds it clear
/// ([`ReadyBit::mark`]); the sleeper visits the rings whose bit is set ([`ReadyMask::take`])
/// and clears the bits of rings that stayed idle for a while (see the module docs for the
/// protocol and why no push is missed). Any set of rings numbered from 0 can have one.
#[derive(Debug, Default)]
pub struct ReadyMask {
    /// Per word of 64 rings.
    words: Vec<MaskWord>,
    /// Bits handed out.
    len: usize,
}

impl ReadyMask {
    /// The bit of the next ring (numbered from 0 in the order of the calls).
    pub fn bit(&mut self) -> ReadyBit {
        let (k, b) = (self.len / 64, self.len % 64);
        if k == self.words.len() {
            self.words.push(MaskWord::default());
        }
        self.len += 1;
        ReadyBit { word: self.words[k].shared.clone(), bit: 1 << b }
    }

    /// Bits handed out: the rings it covers.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether no bit was handed out.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Words of 64 rings: `0..words()` are the words to [`take`](Self::take).
    #[inline(always)]
    pub fn words(&self) -> usize {
        self.words.len()
    }

    /// The rings of word `k` to visit this turn: bit `b` is ring `64 k + b`. Those whose bit is
    /// set, and those a visit after a sweep left with work. Every [`SWEEP_TAKES`] takes, first
    /// clears the bits of the rings that had no work since the last sweep (E1, E2 of the
    /// module docs); they are still visited this turn (E3). Visit each ring and tell the mask
    /// what it found ([`drained`](Self::drained)). One load, no store to the shared word,
    /// between sweeps.
    #[inline(always)]
    pub fn take(&mut self, k: usize) -> u64 {
        let Some(w) = self.words.get_mut(k) else { return 0 };
        // Acquire: a bit set by a pusher's `fetch_or` (after its push) brings the push with it.
        let set = w.shared.0.load(Ordering::Acquire);
        let bits = set | std::mem::take(&mut w.kept);
        w.takes += 1;
        if w.takes >= SWEEP_TAKES {
            w.sweep(set);
        }
        bits
    }

    /// Every bit of word `k` handed out, set or not (a sleeper that looks at every ring).
    #[inline(always)]
    pub fn all(&self, k: usize) -> u64 {
        match self.len.saturating_sub(k * 64) {
            0 => 0,
            n @ 1..64 => (1 << n) - 1,
            _ => u64::MAX,
        }
    }

    /// What the visit of ring `bit` of word `k` found: a ring that had work stays watched at
    /// the next sweep, and one left with work is visited next turn whatever its bit. No atomic.
    #[inline(always)]
    pub fn drained(&mut self, k: usize, bit: u64, found: Drained) {
        if found != Drained::Empty
            && let Some(w) = self.words.get_mut(k)
        {
            w.busy |= bit;
            if found == Drained::LeftWork {
                w.kept |= bit;
            }
        }
    }

    /// Calls `drain(i)` for each ring `i` [`take`](Self::take) names, lowest first, and tells
    /// the mask what it found: [`take`](Self::take) and [`drained`](Self::drained) in a loop,
    /// for a caller whose `drain` does not need `self` borrowed elsewhere.
    #[inline]
    pub fn visit(&mut self, mut drain: impl FnMut(usize) -> Drained) {
        for k in 0..self.words() {
            let mut bits = self.take(k);
            while bits != 0 {
                let b = bits & bits.wrapping_neg();
                bits ^= b;
                let found = drain(k * 64 + b.trailing_zeros() as usize);
                self.drained(k, b, found);
            }
        }
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
    fn the_mask_watches_the_marked_rings_until_a_sweep_finds_them_idle() {
        let mut mask = ReadyMask::default();
        let bits: Vec<ReadyBit> = (0..130).map(|_| mask.bit()).collect();
        assert_eq!(mask.len(), 130);
        assert_eq!((mask.all(0), mask.all(1), mask.all(2), mask.all(3)), (u64::MAX, u64::MAX, 0b11, 0));
        // Visits every ring named; `busy` rings had work, ring 64 is left with work.
        let visited = |mask: &mut ReadyMask, busy: &[usize]| {
            let mut seen = Vec::new();
            mask.visit(|i| {
                seen.push(i);
                match (busy.contains(&i), i == 64) {
                    (false, _) => Drained::Empty,
                    (true, false) => Drained::Emptied,
                    (true, true) => Drained::LeftWork,
                }
            });
            seen
        };
        let word = |mask: &ReadyMask, k: usize| mask.words[k].shared.0.load(Ordering::Relaxed);
        let takes = |mask: &ReadyMask| mask.words[0].takes;
        assert!(visited(&mut mask, &[]).is_empty());
        for i in [129, 3, 64, 3, 0] {
            bits[i].mark();
        }
        // Marked rings are visited every turn, with no store to the word: a pusher finds its
        // bit set and leaves it.
        for _ in 0..3 {
            assert_eq!(visited(&mut mask, &[0, 64]), [0, 3, 64, 129]);
        }
        assert_eq!(word(&mask, 0), 0b1001);
        // Until the sweep: the rings without work since the last one (3, and 129 of word 2)
        // lose their bits, and are visited once more after the bits are cleared.
        while takes(&mask) + 1 < SWEEP_TAKES {
            assert_eq!(visited(&mut mask, &[0]), [0, 3, 64, 129]);
        }
        assert_eq!(visited(&mut mask, &[0, 64]), [0, 3, 64, 129], "the sweep's turn");
        // Each word sweeps on its own count (here all were taken as often).
        assert_eq!((word(&mask, 0), word(&mask, 1), word(&mask, 2)), (0b0001, 0b1, 0));
        assert_eq!(takes(&mask), 0);
        assert_eq!(visited(&mut mask, &[]), [0, 64]);
        bits[3].mark();
        assert_eq!(word(&mask, 0), 0b1001, "a cleared bit is set again by the next push");
        assert_eq!(visited(&mut mask, &[]), [0, 3, 64]);
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
