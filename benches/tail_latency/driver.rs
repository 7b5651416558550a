//! The open-loop driver shared by every design: the send schedule, the latency probe, pinning.
//!
//! Order `i` (id `i + 1`) is *intended* to be sent at `start + i · 10⁹ / rate` ns. The producer
//! spins until that instant, then hands the order over; when the design pushes back (a full
//! ring) or the producer falls behind, the order goes as soon as it can, and its latency is still
//! counted from the intended instant. That is what makes the measurement free of coordinated
//! omission: a stall shows up in every order it delayed, not just in the one that hit it.
//!
//! The intended instant is a pure function of the order id, so the measuring side (the exchange
//! wrapper and the sink wrapper on the engine thread, or the baseline's sender thread) recomputes
//! it from the id: nothing extra travels with the order and the library API is unchanged.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use hdrhistogram::Histogram;
use oms::{OrderRequest, RequestType, Side};
use quanta::Clock;

/// The symbols of the orders of [`Schedule::order`]: `0..SYMBOLS`.
pub const SYMBOLS: i32 = 64;

/// Highest latency a histogram tracks (60 s); anything above is clamped to it.
const HIST_MAX_NS: u64 = 60_000_000_000;

/// A fresh histogram: 1 ns .. 60 s at 3 significant digits, allocated once, never resized.
pub fn histogram() -> Histogram<u64> {
    Histogram::new_with_bounds(1, HIST_MAX_NS, 3).expect("static histogram bounds are valid")
}

/// When each order is meant to go: `start_raw` (a raw clock reading) plus `i / rate` seconds.
#[derive(Clone, Debug)]
pub struct Schedule {
    /// The clock every party reads (the engine's quanta clock).
    pub clock: Clock,
    /// Raw reading of order 0's intended instant.
    pub start_raw: u64,
    /// Offered orders per second; `None` = as fast as the design takes them (saturation probe).
    pub rate: Option<u64>,
    /// Orders in the run, warm-up included.
    pub orders: u64,
    /// The first `warmup` orders are sent but not recorded.
    pub warmup: u64,
    /// How far ahead of its making (or of [`Schedule::restarted`]) order 0 is due.
    lead_ticks: u64,
    /// `CLOCK_MONOTONIC` (ns) of `start_raw`, to place a sample on a `perf record -k mono` trace.
    pub start_mono_ns: u64,
    /// The measuring process's calibration: ns in 2⁴⁰ raw ticks (its `clock.delta_as_nanos`).
    /// The producer paces on raw ticks computed with it ([`Schedule::due_raw`]), so a producer
    /// in another process, whose own clock calibrates the TSC differently (by up to 10⁻⁴ in a
    /// quick calibration: 0.6 ms over a 6 s run), sends each order at the instant the measuring
    /// side counts from.
    pub ns_per_2_40_ticks: u64,
}

/// ns in 2⁴⁰ raw ticks of `clock` (its calibration, as one number another process can use).
pub fn calibration(clock: &Clock) -> u64 {
    clock.delta_as_nanos(0, 1 << 40).max(1)
}

impl Schedule {
    /// A schedule starting `lead` from now.
    pub fn new(clock: Clock, rate: Option<u64>, orders: u64, warmup: u64, lead: Duration) -> Self {
        let now = clock.raw();
        // Find the raw reading `lead` ahead by sampling (raw ticks need not be ns).
        let t0 = Instant::now();
        while t0.elapsed() < Duration::from_micros(100) {
            std::hint::spin_loop();
        }
        let ticks_per_100us = clock.raw().saturating_sub(now).max(1);
        let lead_ticks = (lead.as_nanos() as u64 / 100_000).saturating_mul(ticks_per_100us);
        let start_mono_ns = mono_ns() + lead.as_nanos() as u64;
        let ns_per_2_40_ticks = calibration(&clock);
        Schedule {
            clock,
            start_raw: now + lead_ticks,
            rate,
            orders,
            warmup,
            lead_ticks,
            start_mono_ns,
            ns_per_2_40_ticks,
        }
    }

    /// A schedule whose order 0 is due at raw reading `start_raw`, paced with the measuring
    /// process's calibration `ns_per_2_40_ticks` (a producer in another process: the TSC is
    /// the machine's, the calibration the parent's, so both sides share one time base; `clock`
    /// only reads the TSC).
    pub fn at(
        clock: Clock,
        start_raw: u64,
        ns_per_2_40_ticks: u64,
        rate: Option<u64>,
        orders: u64,
        warmup: u64,
    ) -> Self {
        Schedule {
            clock,
            start_raw,
            rate,
            orders,
            warmup,
            lead_ticks: 0,
            start_mono_ns: 0,
            ns_per_2_40_ticks,
        }
    }

    /// Raw reading at which order `i` is due: `start_raw` plus its intended ns in ticks of
    /// the measuring side's calibration, rounded up (never before the measuring side's instant).
    #[inline(always)]
    pub fn due_raw(&self, i: u64) -> u64 {
        let ns = u128::from(self.intended_ns(i));
        let per = u128::from(self.ns_per_2_40_ticks);
        self.start_raw + ((ns << 40).div_ceil(per)) as u64
    }

    /// The same schedule, starting its lead from now. A design calls it once its set-up (the
    /// journal's space prepared before logon, the tables allocated) is done and before it makes
    /// its probes, so that the set-up is not counted as a stall of the first orders.
    pub fn restarted(&self) -> Schedule {
        let start_raw = self.clock.raw() + self.lead_ticks;
        let start_mono_ns = mono_ns() + self.clock.delta_as_nanos(0, self.lead_ticks);
        Schedule { start_raw, start_mono_ns, ..self.clone() }
    }

    /// Intended send instant of order `i`, ns after `start_raw` (0 for every order when
    /// unpaced).
    #[inline(always)]
    pub fn intended_ns(&self, i: u64) -> u64 {
        match self.rate {
            Some(r) => (u128::from(i) * 1_000_000_000 / u128::from(r)) as u64,
            None => 0,
        }
    }

    /// ns since `start_raw` for a raw reading.
    #[inline(always)]
    pub fn since_start_ns(&self, raw: u64) -> u64 {
        self.clock.delta_as_nanos(self.start_raw, raw)
    }

    /// The order with index `i`: id `i + 1`, a valid New (symbol `i % SYMBOLS`, price 100 to
    /// 124.75, quantity 10 to 99).
    #[inline(always)]
    pub fn order(i: u64) -> OrderRequest {
        let side = if i & 1 == 0 { Side::Buy } else { Side::Sell };
        OrderRequest::new(
            i + 1,
            (i % SYMBOLS as u64) as i32,
            side,
            100.0 + (i % 100) as f64 * 0.25,
            10 + i % 90,
        )
    }

    /// Index of the order with id `id`.
    #[inline(always)]
    pub fn index(id: u64) -> u64 {
        id.wrapping_sub(1)
    }
}

/// Runs the open-loop producer on a thread of its own pinned to the first core of [`core_split`] (the calling
/// thread stays unpinned, so engine config validation still sees every core): for each order,
/// wait for its intended instant (unless unpaced), then call `submit` until it accepts the order.
/// Returns the number of times `submit` pushed back.
pub fn produce(s: &Schedule, submit: impl FnMut(OrderRequest) -> Result<(), OrderRequest> + Send) -> u64 {
    std::thread::scope(|scope| {
        std::thread::Builder::new()
            .name("producer".into())
            .spawn_scoped(scope, || {
                pin(core_split().map(|c| c.0));
                produce_here(s, submit)
            })
            .expect("spawn the producer thread")
            .join()
            .expect("producer thread")
    })
}

/// [`produce`] for a workload of mixed requests: request `i` is `request(i)`.
pub fn produce_requests(
    s: &Schedule,
    request: impl Fn(u64) -> (RequestType, OrderRequest) + Sync,
    mut submit: impl FnMut(RequestType, OrderRequest) -> Result<(), OrderRequest> + Send,
) -> u64 {
    std::thread::scope(|scope| {
        std::thread::Builder::new()
            .name("producer".into())
            .spawn_scoped(scope, || {
                pin(core_split().map(|c| c.0));
                pace(s, |i| {
                    let (t, o) = request(i);
                    let mut pushback = 0;
                    let mut o = o;
                    while let Err(back) = submit(t, o) {
                        pushback += 1;
                        o = back;
                        std::hint::spin_loop();
                    }
                    pushback
                })
            })
            .expect("spawn the producer thread")
            .join()
            .expect("producer thread")
    })
}

/// The producer loop, on the calling thread.
pub fn produce_here(s: &Schedule, mut submit: impl FnMut(OrderRequest) -> Result<(), OrderRequest>) -> u64 {
    pace(s, |i| {
        let mut o = Schedule::order(i);
        let mut pushback = 0;
        while let Err(back) = submit(o) {
            pushback += 1;
            o = back;
            std::hint::spin_loop();
        }
        pushback
    })
}

/// Waits for each request's intended instant (unless unpaced), then calls `one(i)`, which
/// returns how many times it was pushed back. Returns the total.
fn pace(s: &Schedule, mut one: impl FnMut(u64) -> u64) -> u64 {
    let mut pushback = 0;
    // Set up before the start (reading `/proc` takes tens of µs).
    let ticks_per_ms = (1e12 / s.clock.delta_as_nanos(0, 1_000_000) as f64) as u64;
    let mut stalls = Stalls::new(s.start_raw, ticks_per_ms.max(1));
    let clock = Whereabouts::start(current_tid());
    // Every run, paced or not, starts at `start_raw` (times before it would all read as 0).
    while s.clock.raw() <= s.start_raw {
        std::hint::spin_loop();
    }
    for i in 0..s.orders {
        if s.rate.is_some() {
            let due = s.due_raw(i);
            loop {
                let raw = s.clock.raw();
                stalls.see(raw, i);
                if raw >= due {
                    break;
                }
                std::hint::spin_loop();
            }
        }
        pushback += one(i);
    }
    *PRODUCER_STALLS.lock().unwrap_or_else(|e| e.into_inner()) = (stalls, clock.stop());
    pushback
}

/// Stretches of at least a threshold between consecutive clock readings of a loop that reads
/// the clock every few hundred ns: the thread either was busy for that long (`work` tells how
/// much it did in it) or was not running (preempted, or its vCPU descheduled by the host).
/// Keeps the first [`Stalls::KEPT`]; counts all. Readings in the caller's unit (raw ticks or ns).
#[derive(Clone, Copy, Debug)]
pub struct Stalls {
    last: u64,
    work_then: u64,
    threshold: u64,
    /// Stretches seen, kept or not.
    pub seen: usize,
    /// (reading that ended it, its length, work done in it), the first `KEPT` of them.
    pub kept: [(u64, u64, u64); Stalls::KEPT],
}

impl Stalls {
    /// How many stretches are kept.
    pub const KEPT: usize = 16;

    /// Stretches of `threshold` or more, counted from the reading `start`.
    pub const fn new(start: u64, threshold: u64) -> Self {
        Stalls { last: start, work_then: 0, threshold, seen: 0, kept: [(0, 0, 0); Stalls::KEPT] }
    }

    /// Whether no reading has been seen yet (started from 0).
    #[inline(always)]
    pub fn is_fresh(&self) -> bool {
        self.last == 0
    }

    /// A clock reading of the loop, and its work counter so far.
    #[inline(always)]
    pub fn see(&mut self, now: u64, work: u64) {
        let gap = now.saturating_sub(self.last);
        if gap >= self.threshold && self.last != 0 {
            self.stretch(now, gap, work);
        }
        self.last = now;
        self.work_then = work;
    }

    #[cold]
    fn stretch(&mut self, now: u64, gap: u64, work: u64) {
        if let Some(k) = self.kept.get_mut(self.seen) {
            *k = (now, gap, work - self.work_then);
        }
        self.seen += 1;
    }

    /// The kept stretches as text, `+start ms: length (work done)`, with `to_ns` turning a
    /// reading into ns after the schedule's start and `len_ns` a length into ns.
    pub fn describe(&self, to_ns: impl Fn(u64) -> u64, len_ns: impl Fn(u64) -> u64, work: &str) -> String {
        let mut out: Vec<String> = self.kept[..self.seen.min(Self::KEPT)]
            .iter()
            .map(|&(end, len, w)| {
                let (end, len) = (to_ns(end), len_ns(len));
                format!(
                    "+{:.1} ms: {:.1} ms ({w} {work})",
                    end.saturating_sub(len) as f64 / 1e6,
                    len as f64 / 1e6
                )
            })
            .collect();
        if self.seen > Self::KEPT {
            out.push(format!("{} more", self.seen - Self::KEPT));
        }
        if out.is_empty() { "none".into() } else { out.join(", ") }
    }
}

static PRODUCER_STALLS: std::sync::Mutex<(Stalls, Whereabouts)> =
    std::sync::Mutex::new((Stalls::new(0, u64::MAX), Whereabouts::UNKNOWN));

/// The pacing loop's stretches of 1 ms or more (raw ticks) in the last paced run, and where
/// the producer thread's time went during it.
pub fn producer_stalls() -> (Stalls, Whereabouts) {
    *PRODUCER_STALLS.lock().unwrap_or_else(|e| e.into_inner())
}

/// The calling thread's kernel id.
pub fn current_tid() -> i32 {
    // SAFETY: `gettid` takes no arguments and cannot fail.
    unsafe { libc::gettid() }
}

/// Where a thread's wall-clock time went over a stretch, from the scheduler's own accounting
/// (`/proc/self/task/TID/schedstat`: time on a CPU, time runnable but waiting in the guest's
/// run queue). The guest does not count the time its vCPU was descheduled by the host (steal)
/// as either, so for a thread that never sleeps (both spinning threads of the oms design) the
/// rest, `wall − on CPU − queued`, is the time the host took. Zero everywhere when the file
/// cannot be read.
#[derive(Clone, Copy, Debug, Default)]
pub struct Whereabouts {
    tid: i32,
    at: (u64, u64, u64),
    /// Wall-clock ns of the stretch.
    pub wall_ns: u64,
    /// ns the thread ran.
    pub on_cpu_ns: u64,
    /// ns the thread was runnable and waited for a guest CPU (preempted inside the guest).
    pub queued_ns: u64,
}

impl Whereabouts {
    /// Nothing measured.
    pub const UNKNOWN: Whereabouts =
        Whereabouts { tid: 0, at: (0, 0, 0), wall_ns: 0, on_cpu_ns: 0, queued_ns: 0 };

    fn read(tid: i32) -> Option<(u64, u64, u64)> {
        let text = std::fs::read_to_string(format!("/proc/self/task/{tid}/schedstat")).ok()?;
        let mut f = text.split_whitespace().map(|v| v.parse::<u64>().ok());
        Some((mono_ns(), f.next()??, f.next()??))
    }

    /// The thread's kernel id.
    pub fn tid(&self) -> i32 {
        self.tid
    }

    /// Starts a stretch for thread `tid` (any thread of this process).
    pub fn start(tid: i32) -> Whereabouts {
        Whereabouts { tid, at: Self::read(tid).unwrap_or_default(), ..Self::UNKNOWN }
    }

    /// Ends the stretch.
    pub fn stop(self) -> Whereabouts {
        match Self::read(self.tid) {
            Some(end) if self.at.0 != 0 => Whereabouts {
                wall_ns: end.0 - self.at.0,
                on_cpu_ns: end.1 - self.at.1,
                queued_ns: end.2 - self.at.2,
                ..self
            },
            _ => Self::UNKNOWN,
        }
    }

    /// ns neither on a CPU nor in the guest's run queue: for a spinning thread, the host's.
    pub fn host_ns(&self) -> u64 {
        self.wall_ns.saturating_sub(self.on_cpu_ns + self.queued_ns)
    }

    /// `guest queue X ms, host Y ms of Z s`: the stretch's time off a CPU, and its length.
    pub fn describe(&self) -> String {
        format!(
            "guest queue {:.1} ms, host {:.1} ms of {:.2} s",
            self.queued_ns as f64 / 1e6,
            self.host_ns() as f64 / 1e6,
            self.wall_ns as f64 / 1e9
        )
    }
}

/// Steal time (ms) per CPU so far, from `/proc/stat`: time the host ran something else while
/// this guest's vCPU wanted to run. Empty where the file has no such column.
pub fn steal_ms() -> Vec<u64> {
    let stat = std::fs::read_to_string("/proc/stat").unwrap_or_default();
    // SAFETY: `sysconf` reads a system constant; no pointer, no other effect.
    let per_sec = u64::try_from(unsafe { libc::sysconf(libc::_SC_CLK_TCK) }).unwrap_or(100).max(1);
    stat.lines()
        .filter(|l| l.starts_with("cpu") && l.as_bytes().get(3).is_some_and(u8::is_ascii_digit))
        .filter_map(|l| l.split_whitespace().nth(8)?.parse::<u64>().ok())
        .map(|ticks| ticks * 1000 / per_sec)
        .collect()
}

/// What the measuring side records: on_data→send and round-trip latencies from the intended
/// instant, plus the instant of the last event for the achieved rate. Lives on the engine (or
/// sender) thread; recording allocates nothing.
pub struct Probe {
    /// The schedule (to recompute intended instants).
    pub schedule: Schedule,
    /// on_data → exchange `send`, ns from the intended instant.
    pub send: Histogram<u64>,
    /// on_data → response recorded, ns from the intended instant.
    pub round_trip: Histogram<u64>,
    /// Orders seen at `send`.
    pub sent: u64,
    /// Recorded orders whose `send` came before their intended instant: a clock that is not the
    /// producer's (a negative latency, recorded as 1 ns). A run with any is not a measurement.
    pub early: u64,
    /// Responses recorded.
    pub answered: u64,
    /// Orders the design rejected (oms: e.g. `journal_full`); they never get a response.
    pub rejected: u64,
    /// ns after start of the last recorded response.
    pub last_ns: u64,
    /// ns after start of the first send (for unpaced runs).
    pub first_ns: Option<u64>,
    /// Responses + rejects recorded, published for the driver to know when the run is over.
    pub done: Arc<AtomicU64>,
}

impl Probe {
    /// A probe for schedule `s`.
    pub fn new(s: &Schedule) -> Self {
        Probe {
            schedule: s.clone(),
            send: histogram(),
            round_trip: histogram(),
            sent: 0,
            early: 0,
            answered: 0,
            rejected: 0,
            last_ns: 0,
            first_ns: None,
            done: Arc::new(AtomicU64::new(0)),
        }
    }

    /// Call at the exchange `send` of order `id`.
    #[inline(always)]
    pub fn on_send(&mut self, id: u64) {
        let now = self.schedule.since_start_ns(self.schedule.clock.raw());
        let i = Schedule::index(id);
        self.sent += 1;
        if self.first_ns.is_none() {
            self.first_ns = Some(now);
        }
        if i >= self.schedule.warmup {
            let intended = self.schedule.intended_ns(i);
            self.early += u64::from(now < intended);
            self.send.saturating_record(now.saturating_sub(intended).max(1));
        }
    }

    /// Call when the response to order `id` has been recorded.
    #[inline(always)]
    pub fn on_response(&mut self, id: u64) {
        let now = self.schedule.since_start_ns(self.schedule.clock.raw());
        let i = Schedule::index(id);
        self.answered += 1;
        self.last_ns = now;
        if i >= self.schedule.warmup {
            self.round_trip.saturating_record(now.saturating_sub(self.schedule.intended_ns(i)).max(1));
        }
        self.done.store(self.answered + self.rejected, Ordering::Release);
    }

    /// Call when order `id` was rejected: it is finished without a response.
    #[cold]
    pub fn on_reject(&mut self) {
        self.rejected += 1;
        self.done.store(self.answered + self.rejected, Ordering::Release);
    }

    /// Orders per second over the run: all orders over first intended (or first send, when
    /// unpaced) → last response.
    pub fn achieved(&self) -> f64 {
        let from = if self.schedule.rate.is_some() { 0 } else { self.first_ns.unwrap_or(0) };
        let span = self.last_ns.saturating_sub(from).max(1);
        self.answered as f64 * 1e9 / span as f64
    }
}

/// Waits (sleeping) up to a second for an engine thread to publish its id; 0 if it did not.
pub fn engine_tid(tid: &std::sync::atomic::AtomicI32) -> i32 {
    let t0 = Instant::now();
    while tid.load(Ordering::Acquire) == 0 && t0.elapsed() < Duration::from_secs(1) {
        std::thread::sleep(Duration::from_micros(100));
    }
    tid.load(Ordering::Acquire)
}

/// Waits (sleeping, off the measured cores' hot loops) until `done` reaches `n` or `timeout`.
pub fn wait_for(done: &AtomicU64, n: u64, timeout: Duration) -> bool {
    let t0 = Instant::now();
    while done.load(Ordering::Acquire) < n {
        if t0.elapsed() > timeout {
            return false;
        }
        std::thread::sleep(Duration::from_millis(1));
    }
    true
}

/// The cores to use: (producer, engine). `None` when the machine has a single core (no pinning).
pub fn core_split() -> Option<(core_affinity::CoreId, core_affinity::CoreId)> {
    let ids = core_affinity::get_core_ids().unwrap_or_default();
    match ids.as_slice() {
        [a, b, ..] => Some((*a, *b)),
        _ => None,
    }
}

/// Pins the calling thread to `core` if given.
pub fn pin(core: Option<core_affinity::CoreId>) {
    if let Some(c) = core {
        // A failed pin is reported by the caller's header line; the run still goes on.
        let _ = core_affinity::set_for_current(c);
    }
}

/// `CLOCK_MONOTONIC` now, ns (the clock `perf record -k mono` stamps its events with).
pub fn mono_ns() -> u64 {
    let mut ts = libc::timespec { tv_sec: 0, tv_nsec: 0 };
    // SAFETY: `clock_gettime` writes one `timespec` into the struct we own; no other effect.
    unsafe { libc::clock_gettime(libc::CLOCK_MONOTONIC, &mut ts) };
    ts.tv_sec as u64 * 1_000_000_000 + ts.tv_nsec as u64
}

/// Before a design's set-up: writes back what earlier runs left dirty in the page cache, so
/// that no run pays for the writeback of the one before (a saturation run leaves gigabytes).
/// Untimed: the schedule starts after the set-up.
pub fn settle() {
    // SAFETY: `sync` takes no arguments and has no preconditions; it only starts and waits for
    // the writeback of dirty data.
    unsafe { libc::sync() };
}

/// Involuntary context switches of this process so far (all threads, joined ones included):
/// how often another task took a core from the measured threads. Non-zero on a shared machine
/// means the tails include time the threads were not running.
pub fn preemptions() -> u64 {
    // SAFETY: `getrusage` writes one `rusage` into the zeroed struct we own; no other effect.
    let mut ru: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: RUSAGE_SELF with a valid, writable pointer.
    let rc = unsafe { libc::getrusage(libc::RUSAGE_SELF, &mut ru) };
    if rc == 0 { ru.ru_nivcsw as u64 } else { 0 }
}
