//! One clock abstraction for the engine: TSC in production, a manual clock in tests, a virtual
//! clock in replay. All three are a [`quanta::Clock`] (`Clock::new()` reads the TSC,
//! `Clock::mock()` returns whatever the test or the replay sets), so the engine has one code path.
//!
//! The engine works in **monotonic nanoseconds since an anchor**: `delta_as_nanos(anchor_raw, raw)`
//! is one multiply and one shift on TSC ticks, and keeping deadlines (logon, logout, next throttle
//! refill) in ns makes the manual and virtual clocks exact. Wall-clock time (for the trading window
//! and for event timestamps) is the wall time at monotonic 0 plus `mono_ns`: no syscall per order.
//!
//! quanta calibrates the TSC against the OS clock once, at start; the residual rate error makes
//! the TSC-derived wall time drift from the OS clock at a steady rate: 0.774 ppm slow on the dev
//! VM, 2.8 ms per hour (measured over an hour, `docs/clock-drift.md`).
//! [`EngineClock::reanchor`] corrects it: it reads the OS clock again and moves the wall anchor
//! so the wall time of *now* is the OS's; monotonic ns, and so every deadline, queue and
//! throttle time, are unchanged. The engine re-anchors at each logon (off the order path) and
//! records a step larger than [`RECORDED_STEP_NS`] in the journal (`clock_step`).
//!
//! **Reaching back.** Monotonic ns are a `u64` from 0 at the anchor, so an instant before the
//! anchor has no reading. An engine that restarts on a journal carries orders sent before it
//! started; [`EngineClock::reach_back`] moves the origin of monotonic time back (every reading
//! grows by the same amount, the wall time of every instant stays), so their send times have
//! readings and a late response's latency is exact. It costs one addition per reading.
//!
//! A manual clock keeps tests exact: its "OS clock" is the wall time it was started at plus an
//! offset that only a test sets ([`EngineClock::manual_wall_offset`]), so re-anchoring is a
//! no-op until then. A clock built with [`EngineClock::new`] keeps its anchor.

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use quanta::{Clock, Mock};

/// A re-anchor step larger than this, either way, is recorded in the journal (`clock_step`):
/// well above the error of one re-anchor (tens of ns), well below a day's drift (milliseconds).
pub const RECORDED_STEP_NS: u64 = 1_000;

/// The engine's clock: a quanta clock plus a wall-clock anchor.
#[derive(Clone, Debug)]
pub struct EngineClock {
    clock: Clock,
    anchor_raw: u64,
    /// Wall-clock ns at monotonic 0 (at the anchor, unless the origin was moved back).
    zero_wall_ns: i64,
    /// Monotonic ns at `anchor_raw` (0 unless [`EngineClock::reach_back`] moved the origin).
    origin_ns: u64,
    wall: WallSource,
}

/// Where [`EngineClock::reanchor`] reads the true wall-clock time.
#[derive(Clone, Debug)]
enum WallSource {
    /// Nowhere: the anchor is fixed.
    Fixed,
    /// The OS clock (`CLOCK_REALTIME`).
    System,
    /// A manual clock: the wall time it started at, plus a test's offset.
    Manual { start_wall_ns: i64, offset: WallOffset },
}

/// The offset of a manual clock's "OS clock" from its own wall time: what
/// [`EngineClock::reanchor`] will find. 0 until a test sets it.
#[derive(Clone, Debug, Default)]
pub struct WallOffset(Arc<AtomicI64>);

impl WallOffset {
    /// From now on the OS clock shows the manual wall time plus `ns`.
    pub fn set(&self, ns: i64) {
        self.0.store(ns, Ordering::Relaxed);
    }

    fn get(&self) -> i64 {
        self.0.load(Ordering::Relaxed)
    }
}

/// Nanoseconds since the Unix epoch, from the OS (off the hot path only).
pub fn system_wall_ns() -> i64 {
    match SystemTime::now().duration_since(UNIX_EPOCH) {
        Ok(d) => d.as_nanos() as i64,
        Err(e) => -(e.duration().as_nanos() as i64),
    }
}

impl EngineClock {
    /// Anchors `clock` so that its current reading is wall-clock `wall_ns_now`. The anchor is
    /// fixed: [`reanchor`](Self::reanchor) does nothing.
    pub fn new(clock: Clock, wall_ns_now: i64) -> Self {
        let anchor_raw = clock.raw();
        EngineClock { clock, anchor_raw, zero_wall_ns: wall_ns_now, origin_ns: 0, wall: WallSource::Fixed }
    }

    /// The production clock: TSC (via quanta), anchored to the OS wall clock now and
    /// re-anchored to it by [`reanchor`](Self::reanchor).
    pub fn system() -> Self {
        let mut c = Self::new(Clock::new(), 0);
        c.wall = WallSource::System;
        c.reanchor();
        c
    }

    /// A manual clock starting at wall-clock `wall_ns_now`; advance it with
    /// [`Mock::increment`] (in nanoseconds).
    pub fn manual(wall_ns_now: i64) -> (Self, Arc<Mock>) {
        let (clock, mock) = Clock::mock();
        let mut c = Self::new(clock, wall_ns_now);
        c.wall = WallSource::Manual { start_wall_ns: wall_ns_now, offset: WallOffset::default() };
        (c, mock)
    }

    /// Whether this is a manual clock ([`EngineClock::manual`]): its time moves only when a
    /// test moves it, so a thread cannot sleep until one of its instants.
    pub fn is_manual(&self) -> bool {
        matches!(self.wall, WallSource::Manual { .. })
    }

    /// A manual clock's [`WallOffset`] (shared by its clones); `None` for other clocks.
    pub fn manual_wall_offset(&self) -> Option<WallOffset> {
        match &self.wall {
            WallSource::Manual { offset, .. } => Some(offset.clone()),
            WallSource::Fixed | WallSource::System => None,
        }
    }

    /// Reads the true wall-clock time (see the module docs) and moves the anchor so that the
    /// wall time of now is that reading. Returns the step: new minus old wall time of the same
    /// instant, ns. Monotonic readings do not change. Off the hot path: a system clock reads
    /// the OS clock a few times (a syscall at worst).
    pub fn reanchor(&mut self) -> i64 {
        let zero = match &self.wall {
            WallSource::Fixed => return 0,
            WallSource::System => self.system_anchor(),
            // The manual "OS clock" reads start + raw + offset; monotonic is origin + raw.
            WallSource::Manual { start_wall_ns, offset } => {
                start_wall_ns.saturating_add(offset.get()).saturating_sub(self.origin_ns as i64)
            }
        };
        let step = zero.saturating_sub(self.zero_wall_ns);
        self.zero_wall_ns = zero;
        step
    }

    /// The OS wall clock's time at monotonic 0: of three (OS, TSC, OS) readings, the one with
    /// the tightest OS pair (least likely preempted), the TSC reading taken as the pair's midpoint.
    fn system_anchor(&self) -> i64 {
        let mut best: Option<(i64, i64)> = None; // (width, anchor)
        for _ in 0..3 {
            let before = system_wall_ns();
            let raw = self.clock.raw();
            let after = system_wall_ns();
            let width = after.saturating_sub(before);
            let mid = before.saturating_add(width / 2);
            let anchor = mid.saturating_sub(self.mono_ns(raw) as i64);
            if best.is_none_or(|(w, _)| width < w) {
                best = Some((width, anchor));
            }
        }
        best.map_or(self.zero_wall_ns, |(_, anchor)| anchor)
    }

    /// The underlying quanta clock (to stamp arrivals on other threads).
    pub fn quanta(&self) -> &Clock {
        &self.clock
    }

    /// A raw reading (TSC ticks, or ns for a mock clock).
    #[inline(always)]
    pub fn raw(&self) -> u64 {
        self.clock.raw()
    }

    /// Monotonic ns for a raw reading: ns since the anchor, plus the origin
    /// ([`reach_back`](Self::reach_back); 0 unless moved). Readings before the anchor count as
    /// the anchor.
    #[inline(always)]
    pub fn mono_ns(&self, raw: u64) -> u64 {
        self.origin_ns + self.clock.delta_as_nanos(self.anchor_raw, raw)
    }

    /// Monotonic ns since the anchor, now.
    #[inline(always)]
    pub fn now_ns(&self) -> u64 {
        self.mono_ns(self.raw())
    }

    /// Wall-clock ns since the Unix epoch for a monotonic reading.
    #[inline(always)]
    pub fn wall_ns(&self, mono_ns: u64) -> i64 {
        self.zero_wall_ns.saturating_add(mono_ns as i64)
    }

    /// The monotonic reading at which the wall clock shows `wall_ns` (0 if that is before
    /// monotonic 0).
    pub fn mono_at_wall(&self, wall_ns: i64) -> u64 {
        wall_ns.saturating_sub(self.zero_wall_ns).max(0) as u64
    }

    /// Wall-clock ns at the anchor (the raw reading [`anchor_raw`](Self::anchor_raw)).
    pub fn anchor_wall_ns(&self) -> i64 {
        self.zero_wall_ns.saturating_add(self.origin_ns as i64)
    }

    /// Moves the origin of monotonic time back so that wall-clock `wall_ns` has a monotonic
    /// reading (`mono_at_wall(wall_ns)` is exact, not clamped to 0): every reading grows by the
    /// same amount, the wall time of every instant is unchanged. Nothing if `wall_ns` already
    /// has one. Call it before the clock is cloned (an engine and its exchange adapter must
    /// read the same monotonic time).
    pub fn reach_back(&mut self, wall_ns: i64) {
        let back = self.zero_wall_ns.saturating_sub(wall_ns);
        if back > 0 {
            self.origin_ns += back as u64;
            self.zero_wall_ns = wall_ns;
        }
    }

    /// Raw reading at the anchor.
    pub fn anchor_raw(&self) -> u64 {
        self.anchor_raw
    }

    /// The TSC-to-ns calibration: nanoseconds per raw tick (1.0 for a manual clock).
    pub fn ns_per_tick(&self) -> f64 {
        const SPAN: u64 = 1 << 40;
        self.clock.delta_as_nanos(0, SPAN) as f64 / SPAN as f64
    }
}

/// An instant (wall-clock ns since the Unix epoch) as RFC 3339 UTC, for messages.
pub(crate) fn wall_text(ns: i64) -> String {
    jiff::Timestamp::from_nanosecond(i128::from(ns)).map_or_else(|_| format!("{ns} ns"), |t| t.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn manual_clock_moves_only_when_told() {
        let (c, mock) = EngineClock::manual(1_000);
        assert_eq!(c.now_ns(), 0);
        assert_eq!(c.wall_ns(c.now_ns()), 1_000);
        mock.increment(2_500u64);
        assert_eq!(c.now_ns(), 2_500);
        assert_eq!(c.wall_ns(c.now_ns()), 3_500);
        assert_eq!(c.mono_at_wall(3_500), 2_500);
        assert_eq!(c.mono_at_wall(0), 0);
        assert_eq!(c.ns_per_tick(), 1.0);
    }

    #[test]
    fn manual_clock_reanchor_is_a_no_op_until_a_test_sets_an_offset() {
        let (mut c, mock) = EngineClock::manual(1_000);
        mock.increment(500u64);
        assert_eq!(c.reanchor(), 0);
        assert_eq!((c.now_ns(), c.wall_ns(c.now_ns())), (500, 1_500));
        let offset = c.manual_wall_offset().expect("a manual clock");
        offset.set(250);
        assert_eq!(c.wall_ns(c.now_ns()), 1_500, "nothing moves before the re-anchor");
        assert_eq!(c.reanchor(), 250);
        assert_eq!((c.now_ns(), c.wall_ns(c.now_ns())), (500, 1_750), "wall moves, monotonic does not");
        assert_eq!(c.mono_at_wall(1_750), 500);
        assert_eq!(c.reanchor(), 0, "already anchored");
        offset.set(-100);
        assert_eq!(c.reanchor(), -350);
        assert_eq!(c.wall_ns(c.now_ns()), 1_400);
    }

    #[test]
    fn a_clock_built_with_new_keeps_its_anchor() {
        let mut c = EngineClock::new(Clock::new(), 42);
        let anchor = c.anchor_wall_ns();
        assert_eq!(c.reanchor(), 0);
        assert_eq!(c.anchor_wall_ns(), anchor);
        assert!(c.manual_wall_offset().is_none());
    }

    #[test]
    fn system_clock_reanchor_moves_the_wall_to_the_os_clock() {
        let mut c = EngineClock::system();
        assert!(c.manual_wall_offset().is_none());
        // Pretend the TSC-derived wall time has drifted 5 ms fast.
        c.zero_wall_ns += 5_000_000;
        let before = c.now_ns();
        let step = c.reanchor();
        assert!((-6_000_000..-4_000_000).contains(&step), "step {step} ns");
        assert!(c.now_ns() >= before, "monotonic time is unchanged");
        let diff = (c.wall_ns(c.now_ns()) - system_wall_ns()).abs();
        assert!(diff < 1_000_000_000, "re-anchored wall off by {diff} ns");
    }

    #[test]
    fn system_clock_is_anchored_near_now() {
        let c = EngineClock::system();
        let diff = (c.wall_ns(c.now_ns()) - system_wall_ns()).abs();
        assert!(diff < 1_000_000_000, "anchor off by {diff} ns");
    }

    #[test]
    fn reach_back_moves_the_origin_and_keeps_every_wall_time() {
        let (mut c, mock) = EngineClock::manual(10_000);
        mock.increment(500u64);
        let (wall_now, anchor_wall) = (c.wall_ns(c.now_ns()), c.anchor_wall_ns());
        assert_eq!(c.mono_at_wall(4_000), 0, "before monotonic 0: clamped");
        c.reach_back(4_000);
        assert_eq!(c.now_ns(), 6_500, "readings grow by the 6 000 ns moved back");
        assert_eq!(c.wall_ns(c.now_ns()), wall_now, "the wall time of now is unchanged");
        assert_eq!((c.mono_at_wall(4_000), c.wall_ns(0)), (0, 4_000));
        assert_eq!(c.mono_at_wall(10_000), 6_000);
        assert_eq!(c.anchor_wall_ns(), anchor_wall, "the anchor's wall time is unchanged");
        c.reach_back(5_000);
        assert_eq!(c.now_ns(), 6_500, "already reachable: nothing moves");
        // A re-anchor of a manual clock still finds its OS clock (start + raw + offset).
        assert_eq!(c.reanchor(), 0);
        c.manual_wall_offset().expect("manual").set(-100);
        assert_eq!(c.reanchor(), -100);
        assert_eq!(c.wall_ns(c.now_ns()), wall_now - 100);
        assert_eq!(c.now_ns(), 6_500, "monotonic readings never step");
    }

    #[test]
    fn reach_back_on_the_system_clock_survives_a_reanchor() {
        let mut c = EngineClock::system();
        let hour = 3_600_000_000_000i64;
        let then = system_wall_ns() - hour;
        c.reach_back(then);
        assert!(c.now_ns() >= hour as u64, "an hour ago has a reading");
        let step = c.reanchor();
        assert!(step.abs() < 1_000_000, "re-anchoring after reaching back steps {step} ns");
        let diff = (c.wall_ns(c.now_ns()) - system_wall_ns()).abs();
        assert!(diff < 1_000_000_000, "wall off by {diff} ns");
    }
}
