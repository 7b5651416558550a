//! The journal's preparation thread (`oms-journal-prep`, [`Preparation::Thread`], the default):
//! the long system calls of preparing space run there, so that no order waits behind them.
//!
//! **Why a thread.** Preparing a segment is a handful of system calls that each take from a
//! microsecond to tens of milliseconds on a loaded file system (`openat`, `fallocate`, `mmap`,
//! `link`; `MADV_POPULATE_WRITE` of fresh pages waits for the file system to allocate them;
//! `munmap` / `MADV_DONTNEED` of a finished segment). Split into the engine's idle turns, each
//! call was still one slice, and an order arriving during a slice waited for it: on the dev VM
//! single slices reached 335 µs at p99.9 and 40 ms at the worst (docs/BENCHMARKS.md). No call can
//! be split finer than itself, so they moved to a thread of their own, at the lowest priority the
//! kernel has (`SCHED_IDLE`, or nice 19 where that is refused): it runs when a core has nothing
//! better to do, and never preempts the engine or a producer on wakeup (the reason an earlier
//! preparation thread at normal priority was dropped). The price, measured on a machine loaded
//! by other processes: such a thread gets next to no CPU there, the writer runs short of room
//! and its idle turns do the work as before (below); the figures are in docs/BENCHMARKS.md,
//! *The preparation thread*.
//!
//! **What the engine thread still does** (its idle-turn slice, `space.rs`): it takes the
//! segments the thread built (a pop from a queue, then bookkeeping), reads how far the thread
//! has faulted pages in (one load), tells the thread its write position and how far to fault in
//! (two stores), asks for the next segment when one is needed (a push), and hands a finished
//! segment to the thread at each roll (a push). Nothing that waits, and no system call but the
//! wake-up of a sleeping thread (below).
//!
//! **The thread late or stopped** (a busy machine gives a `SCHED_IDLE` thread next to no time;
//! a test can hold it): the engine never waits for it. [`EventSink::takes_requests`](crate::EventSink)
//! turns `false` as before when the prepared room runs low (producers see backpressure, no order
//! is lost), and while it is `false` the idle turns go back to the idle-turn path
//! ([`Preparation::IdleTurns`]: one system call a slice), taking back the build asked of the
//! thread if it has not begun it; the reserve, mapped and reserved on disk, holds the end of the
//! session. Only a build the thread has begun is left to it (two builders would race for the
//! same file): a roll that finds no segment ready then drops the record and counts it, as on a
//! full disk, which only a user that ignores `takes_requests` past the reserve can meet.
//!
//! **Waking.** The thread sleeps ([`POLL`] at most) while it has nothing to do; the writer's
//! slice wakes it (`unpark`: a `futex` call only if it sleeps) when it asks for a segment, after
//! a roll, and when the pages faulted in ahead are down to half of [`THREAD_RUNWAY`]: a few
//! short calls per segment, in idle turns, never on the hot path.
//!
//! **Handoff.** Lock-free queues (`crossbeam_queue::ArrayQueue`) and atomics only: `jobs`
//! (builders of the next segment, one at a time), `built` (the segment, or the error naming the
//! file), `known` (every segment the writer adds, in order: what the thread faults in),
//! `retired` (finished segments: their page tables dropped, then let go), `fault_errors`.
//!
//! **Shutdown.** [`JournalWriter::close`] and drop stop the thread and join it before the
//! segments prepared ahead are deleted; a segment it built and the writer never took is deleted
//! with them, a builder it held removes its `.tmp` file. A panic of the thread is returned by
//! `close` as an error naming the journal.

use std::collections::VecDeque;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crossbeam_queue::ArrayQueue;

use super::space::{REFRESH, REFRESH_WINDOW, SLOTS_PER_PAGE};
use super::{JournalWriter, PAGE};
use crate::journal::JournalError;
use crate::journal::segment::{Builder, Inject, Segment};
use crate::record::RECORD_SIZE;

/// Where the writer's preparation of space runs ([`WriterOptions`](super::WriterOptions)'s
/// `preparation`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Preparation {
    /// A low-priority thread of the writer's own builds, maps and faults in the next segments
    /// and lets finished ones go; the engine's idle turns only swap segments in and out (see
    /// the `writer/thread.rs` module docs). The default.
    #[default]
    Thread,
    /// Everything on the engine's thread, one system call per idle-turn slice (no thread):
    /// deterministic, for tests that count slices, and for embedders who want no thread.
    IdleTurns,
}

/// Records faulted in ahead of the writer by the thread (at least; 2 MiB): more than the idle
/// turns keep, so that a thread that runs late still leaves the writer a runway.
pub(super) const THREAD_RUNWAY: u64 = 32 * 1024;
/// Pages faulted in per call by the thread (between two looks at the stop flag).
const CHUNK_PAGES: u64 = 64;
/// How long the thread sleeps when it has nothing to do (the writer wakes it sooner when it
/// asks for a segment, retires one, or the pages faulted in ahead run down to half the runway).
const POLL: Duration = Duration::from_millis(50);

/// What the writer and its preparation thread share.
#[derive(Debug)]
pub(super) struct Shared {
    stop: AtomicBool,
    /// The writer's next sequence number (as of its last slice).
    next_seq: AtomicU64,
    /// Fault in up to this sequence number (set by the writer).
    fault_to: AtomicU64,
    /// Faulted in up to this sequence number (by the writer itself, before the thread's turn).
    writer_faulted: AtomicU64,
    /// Faulted in up to this sequence number (by the thread).
    faulted: AtomicU64,
    /// Pages the thread faulted in.
    pages: AtomicU64,
    jobs: ArrayQueue<Builder>,
    built: ArrayQueue<Result<Segment, JournalError>>,
    known: ArrayQueue<Segment>,
    retired: ArrayQueue<Segment>,
    fault_errors: ArrayQueue<JournalError>,
}

impl Shared {
    fn new(next_seq: u64, faulted: u64) -> Shared {
        Shared {
            stop: AtomicBool::new(false),
            next_seq: AtomicU64::new(next_seq),
            fault_to: AtomicU64::new(faulted),
            writer_faulted: AtomicU64::new(faulted),
            faulted: AtomicU64::new(faulted),
            pages: AtomicU64::new(0),
            jobs: ArrayQueue::new(1),
            built: ArrayQueue::new(1),
            known: ArrayQueue::new(64),
            retired: ArrayQueue::new(64),
            fault_errors: ArrayQueue::new(4),
        }
    }
}

/// The writer's side of its preparation thread.
#[derive(Debug)]
pub(super) struct PrepThread {
    shared: Arc<Shared>,
    handle: Option<JoinHandle<()>>,
    /// A build was asked of the thread and its result not taken yet.
    in_flight: bool,
    /// A segment was retired since the thread was last woken.
    retired: bool,
    /// Segments not yet handed to the thread (its `known` queue was full).
    known_backlog: VecDeque<Segment>,
}

impl PrepThread {
    /// Starts the thread; `segs` are the writer's current and prepared segments, faulted in up
    /// to `faulted`.
    pub(super) fn spawn(
        segs: VecDeque<Segment>,
        next_seq: u64,
        faulted: u64,
        inject: Inject,
    ) -> std::io::Result<PrepThread> {
        let shared = Arc::new(Shared::new(next_seq, faulted));
        let sh = Arc::clone(&shared);
        let handle = std::thread::Builder::new()
            .name("oms-journal-prep".into())
            .spawn(move || Worker { sh, inject, segs, faulted, refresh: None }.run())?;
        Ok(PrepThread {
            shared,
            handle: Some(handle),
            in_flight: false,
            retired: false,
            known_backlog: VecDeque::new(),
        })
    }

    /// Wakes the thread if it sleeps (a `futex` call then, in an idle turn; nothing if it is
    /// awake).
    fn wake(&mut self) {
        self.retired = false;
        if let Some(h) = &self.handle {
            h.thread().unpark();
        }
    }

    /// Pages the thread faulted in so far.
    pub(super) fn pages(&self) -> u64 {
        self.shared.pages.load(Ordering::Relaxed)
    }

    /// Stops the thread and joins it; the segment it built and nobody took, if any. `Err` if
    /// it panicked.
    pub(super) fn stop(&mut self) -> Result<Option<Segment>, ()> {
        self.shared.stop.store(true, Ordering::Release);
        let mut result = Ok(());
        if let Some(h) = self.handle.take() {
            h.thread().unpark();
            result = h.join().map_err(|_| ());
        }
        while self.shared.jobs.pop().is_some() {}
        while self.shared.retired.pop().is_some() {}
        while self.shared.known.pop().is_some() {}
        self.known_backlog.clear();
        self.in_flight = false;
        result.map(|()| self.shared.built.pop().and_then(Result::ok))
    }
}

impl Drop for PrepThread {
    fn drop(&mut self) {
        let _ = self.stop();
    }
}

/// The thread's own state.
struct Worker {
    sh: Arc<Shared>,
    inject: Inject,
    /// The segments it may fault in, in order (the oldest dropped once the writer is past them).
    segs: VecDeque<Segment>,
    /// Faulted in up to this sequence number.
    faulted: u64,
    /// A re-faulting pass in progress: next sequence number, end.
    refresh: Option<(u64, u64)>,
}

impl Worker {
    fn run(mut self) {
        lower_priority();
        let mut next_refresh = Instant::now() + REFRESH;
        while !self.sh.stop.load(Ordering::Acquire) {
            if self.held() {
                std::thread::park_timeout(POLL);
                continue;
            }
            let mut did = false;
            while let Some(seg) = self.sh.retired.pop() {
                // Dropping the page tables first makes the last unmapping cheap, wherever it
                // happens (the flusher may hold the segment a while longer). Best effort.
                let _ = seg.map.zap(0, seg.map.len());
                did = true;
            }
            while let Some(seg) = self.sh.known.pop() {
                self.segs.push_back(seg);
            }
            let next = self.sh.next_seq.load(Ordering::Acquire);
            while self.segs.front().is_some_and(|s| s.end_seq() <= next) {
                self.segs.pop_front();
            }
            if let Some(builder) = self.sh.jobs.pop() {
                did = true;
                match self.build(builder) {
                    Some(result) => {
                        // One build at a time: the writer took the last result before asking.
                        let _ = self.sh.built.push(result);
                    }
                    None => break, // stopped
                }
            }
            did |= self.fault_ahead(next);
            let now = Instant::now();
            if now >= next_refresh {
                next_refresh = now + REFRESH;
                let end = self.faulted.min(next + REFRESH_WINDOW);
                self.refresh = Some((next, end));
            }
            if let Some((cur, end)) = self.refresh {
                let to = self.fault_range(cur, end);
                self.refresh = (to > cur && to < end).then_some((to, end));
                did |= to > cur;
            }
            if !did {
                std::thread::park_timeout(POLL);
            }
        }
    }

    /// A test holds the thread back ([`Faults`](crate::journal::Faults)'s `hold_preparation`).
    fn held(&self) -> bool {
        self.inject.faults.as_ref().is_some_and(|f| f.hold_preparation.load(Ordering::Acquire))
    }

    /// Runs `builder` to the end; `None` if the writer stopped the thread meanwhile (the
    /// builder is dropped: its `.tmp` file goes).
    fn build(&self, mut builder: Builder) -> Option<Result<Segment, JournalError>> {
        loop {
            if self.sh.stop.load(Ordering::Acquire) {
                return None;
            }
            match builder.step(&self.inject) {
                Ok(None) => {}
                Ok(Some(seg)) => return Some(Ok(seg)),
                Err(e) => return Some(Err(e)),
            }
        }
    }

    /// Faults in towards the writer's `fault_to`, a chunk at a time; whether it did anything.
    fn fault_ahead(&mut self, next: u64) -> bool {
        let mut did = false;
        self.faulted = self.faulted.max(next).max(self.sh.writer_faulted.load(Ordering::Acquire));
        while self.faulted < self.sh.fault_to.load(Ordering::Acquire) && !self.sh.stop.load(Ordering::Acquire)
        {
            let to = self.sh.fault_to.load(Ordering::Acquire);
            let end = self.fault_range(self.faulted, to);
            if end <= self.faulted {
                break; // a segment the thread does not know yet
            }
            self.faulted = end;
            self.sh.faulted.store(end, Ordering::Release);
            did = true;
        }
        did
    }

    /// Faults in up to [`CHUNK_PAGES`] pages from `seq` (within one segment, up to `end`);
    /// returns the sequence number after the last slot faulted in (`seq` if it is not mapped).
    fn fault_range(&mut self, seq: u64, end: u64) -> u64 {
        let Some(seg) = self.segs.iter().find(|s| (s.first_seq..s.end_seq()).contains(&seq)) else {
            return seq;
        };
        let slot = seq - seg.first_seq;
        let page_slot = slot / SLOTS_PER_PAGE * SLOTS_PER_PAGE;
        let end_slot = (page_slot + CHUNK_PAGES * SLOTS_PER_PAGE)
            .min(end.saturating_sub(seg.first_seq).next_multiple_of(SLOTS_PER_PAGE))
            .min(seg.map.capacity());
        if end_slot <= page_slot {
            return seq;
        }
        let from = seg.map.header_bytes() + page_slot as usize * RECORD_SIZE;
        let len = (end_slot - page_slot) as usize * RECORD_SIZE;
        if let Err(e) = seg.map.prefault(from, len) {
            let _ = self.sh.fault_errors.push(JournalError::io(
                &seg.path,
                "fault in pages ahead of the writer",
                e,
            ));
        }
        self.sh.pages.fetch_add(len.div_ceil(PAGE) as u64, Ordering::Relaxed);
        seg.first_seq + end_slot
    }
}

/// Puts the calling thread at the lowest priority: `SCHED_IDLE`, or nice 19 where that is
/// refused. Best effort: a thread left at normal priority still never holds the engine up.
fn lower_priority() {
    let param = libc::sched_param { sched_priority: 0 };
    // SAFETY: `param` is a valid `sched_param` for the call's duration; pid 0 is this thread.
    let rc = unsafe { libc::sched_setscheduler(0, libc::SCHED_IDLE, &param) };
    if rc != 0 {
        // SAFETY: plain syscall; `who` 0 with PRIO_PROCESS is the calling thread on Linux.
        unsafe { libc::setpriority(libc::PRIO_PROCESS, 0, 19) };
    }
}

impl JournalWriter {
    /// Starts the preparation thread (after the space asked for up front is prepared); on
    /// failure the idle turns keep preparing, and the error is in the stats.
    pub(super) fn start_thread(&mut self, inject: Inject) {
        let mut segs: VecDeque<Segment> = VecDeque::with_capacity(8);
        segs.push_back(self.seg.clone());
        segs.extend(self.space.ahead.iter().cloned());
        match PrepThread::spawn(segs, self.next_seq, self.faulted_seq, inject) {
            Ok(t) => self.prep = Some(t),
            Err(e) => {
                let e = JournalError::io(&self.base, "start the journal preparation thread", e);
                self.space.failed(&e);
            }
        }
    }

    /// The idle-turn slice with a preparation thread: take what it did, tell it what is wanted.
    pub(super) fn thread_slice(&mut self) -> Option<bool> {
        let t = self.prep.as_mut()?;
        if let Some(result) = t.shared.built.pop() {
            t.in_flight = false;
            match result {
                Ok(seg) => self.add_segment(seg),
                Err(e) => self.build_failed(e),
            }
            return Some(true);
        }
        if let Some(e) = t.shared.fault_errors.pop() {
            self.space.failed(&e);
            return Some(true);
        }
        while let Some(seg) = t.known_backlog.pop_front() {
            if let Err(seg) = t.shared.known.push(seg) {
                t.known_backlog.push_front(seg);
                break;
            }
        }
        let mut did = false;
        let faulted = t.shared.faulted.load(Ordering::Acquire);
        t.shared.next_seq.store(self.next_seq, Ordering::Release);
        t.shared.writer_faulted.store(self.faulted_seq, Ordering::Release);
        let want = self.space.target_seq.max(self.next_seq + THREAD_RUNWAY).min(self.allocated_seq);
        t.shared.fault_to.store(want, Ordering::Release);
        if t.retired || want >= faulted.max(self.faulted_seq) + THREAD_RUNWAY / 2 {
            t.wake();
        }
        if faulted > self.faulted_seq {
            self.faulted_seq = faulted;
            self.update_limits();
            did = true;
        }
        // Short of room (the thread late: a busy machine gives a `SCHED_IDLE` thread little
        // time): the idle-turn path does the work, taking back a build the thread has not begun.
        if self.next_seq >= self.intake_limit && !self.thread_building() {
            return if did { Some(true) } else { None };
        }
        let in_flight = self.prep.as_ref().is_some_and(|t| t.in_flight);
        if !in_flight
            && self.space.builder.is_none()
            && self.allocated_seq < self.map_want() + self.space.cap
            && self.space.retry_at.is_none_or(|at| self.space.clock.now() >= at)
        {
            let builder = Builder::new(&self.base, self.space.template.clone(), self.space.readers);
            let t = self.prep.as_mut()?;
            if t.shared.jobs.push(builder).is_ok() {
                t.in_flight = true;
                t.wake();
                did = true;
            }
        }
        Some(did || self.space.zap_one())
    }

    /// A segment the writer added: the thread may fault it in.
    pub(super) fn tell_thread(&mut self, seg: &Segment) {
        if let Some(t) = &mut self.prep {
            t.shared.writer_faulted.store(self.faulted_seq, Ordering::Release);
            if let Err(seg) = t.shared.known.push(seg.clone()) {
                t.known_backlog.push_back(seg);
            }
        }
    }

    /// A segment the writer has finished: to the thread, or (without one, or its queue full)
    /// to the idle turns.
    #[inline]
    pub(super) fn retire(&mut self, old: Segment) {
        let old = match &mut self.prep {
            Some(t) => match t.shared.retired.push(old) {
                Ok(()) => {
                    t.retired = true;
                    return;
                }
                Err(old) => old,
            },
            None => old,
        };
        self.space.retire(old);
    }

    /// Whether the thread is building the next segment: then the writer must not build it
    /// too. Takes the result if it is there, and takes the build back if the thread has not
    /// begun it (the writer's idle-turn path then goes on with it).
    pub(super) fn thread_building(&mut self) -> bool {
        let Some(t) = &mut self.prep else { return false };
        if !t.in_flight {
            return false;
        }
        if let Some(result) = t.shared.built.pop() {
            t.in_flight = false;
            match result {
                Ok(seg) => self.add_segment(seg),
                Err(e) => self.build_failed(e),
            }
            return false;
        }
        if let Some(builder) = t.shared.jobs.pop() {
            t.in_flight = false;
            self.space.builder = Some(builder);
            return false;
        }
        true
    }

    /// Waits for a build asked of the thread ([`JournalWriter::prepare`] only: a caller that
    /// asks for space on its own thread).
    pub(super) fn wait_for_thread(&mut self) {
        while self.thread_building() {
            std::thread::yield_now();
        }
    }

    /// Stops the thread (close, drop); a segment it built and nobody took goes with the
    /// segments prepared ahead.
    pub(super) fn stop_thread(&mut self) -> Result<(), JournalError> {
        let Some(mut t) = self.prep.take() else { return Ok(()) };
        self.space.pages_faulted += t.pages();
        match t.stop() {
            Ok(Some(seg)) => {
                self.space.ahead.push_back(seg);
                Ok(())
            }
            Ok(None) => Ok(()),
            Err(()) => Err(JournalError::io(
                &self.base,
                "join the journal preparation thread",
                std::io::Error::other("the thread panicked"),
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;

    use super::*;
    use crate::journal::mapping::SegmentMap;

    fn seg(first_seq: u64, cap: u64) -> Segment {
        Segment { map: SegmentMap::heap(4096, cap), path: PathBuf::from("s"), index: 0, first_seq }
    }

    fn worker(sh: &Arc<Shared>, segs: Vec<Segment>) -> Worker {
        Worker { sh: Arc::clone(sh), inject: Inject::default(), segs: segs.into(), faulted: 1, refresh: None }
    }

    #[test]
    fn the_thread_faults_what_the_writer_asks_and_only_in_segments_it_knows() {
        let sh = Arc::new(Shared::new(1, 1));
        let mut w = worker(&sh, vec![seg(1, 960)]);
        // Asked past the first segment, before the writer has handed over the next one.
        sh.fault_to.store(1000, Ordering::Release);
        assert!(w.fault_ahead(1));
        assert_eq!(sh.faulted.load(Ordering::Acquire), 961);
        assert!(!w.fault_ahead(1), "nothing more to do without the next segment");
        // The next one handed over: faulted up to the page that holds the target.
        sh.known.push(seg(961, 960)).unwrap();
        w.segs.extend(std::iter::from_fn(|| sh.known.pop()));
        assert!(w.fault_ahead(1));
        assert_eq!(sh.faulted.load(Ordering::Acquire), 961 + 64);
        assert_eq!(sh.pages.load(Ordering::Relaxed), 15 + 1);
    }

    #[test]
    fn the_thread_starts_from_the_writer_when_the_writer_is_ahead() {
        let sh = Arc::new(Shared::new(1, 1));
        let mut w = worker(&sh, vec![seg(1, 960)]);
        sh.writer_faulted.store(641, Ordering::Release);
        sh.fault_to.store(700, Ordering::Release);
        assert!(w.fault_ahead(500));
        // From slot 640 (page 10) to the page holding 700: one page.
        assert_eq!(sh.faulted.load(Ordering::Acquire), 705);
        assert_eq!(sh.pages.load(Ordering::Relaxed), 1);
    }

    #[test]
    fn a_stopped_thread_gives_back_the_segment_it_built() {
        let sh = Arc::new(Shared::new(1, 1));
        let s = seg(1, 960);
        sh.built.push(Ok(s)).unwrap();
        assert!(sh.built.push(Ok(seg(961, 960))).is_err(), "one build at a time");
        let mut t = PrepThread {
            shared: sh,
            handle: None,
            in_flight: true,
            retired: false,
            known_backlog: VecDeque::new(),
        };
        let back = t.stop().expect("no panic").expect("the built segment");
        assert_eq!(back.first_seq, 1);
        assert!(!t.in_flight);
    }
}
