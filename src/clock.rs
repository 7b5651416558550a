//! One clock abstraction for the engine: TSC in production, a manual clock in tests, a virtual
//! clock in replay. All three are a [`quanta::Clock`] (`Clock::new()` reads the TSC,
//! `Clock::mock()` returns whatever the test or the replay sets), so the engine has one code path.
//!
//! The engine works in **monotonic nanoseconds since an anchor**: `delta_as_nanos(anchor_raw, raw)`
//! is one multiply and one shift on TSC ticks, and keeping deadlines (logon, logout, next throttle
//! refill) in ns makes the manual and virtual clocks exact. Wall-clock time (for the trading window
//! and for event timestamps) is `anchor_wall_ns + mono_ns`, taken once at start-up: no syscall per
//! order. quanta calibrates the TSC against the OS clock at start; the residual drift (ppm-level) is
//! what a long-running process would correct by re-anchoring off the hot path between sessions.

use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use quanta::{Clock, Mock};

/// The engine's clock: a quanta clock plus a wall-clock anchor.
#[derive(Clone, Debug)]
pub struct EngineClock {
    clock: Clock,
    anchor_raw: u64,
    anchor_wall_ns: i64,
}

/// Nanoseconds since the Unix epoch, from the OS (off the hot path only).
pub fn system_wall_ns() -> i64 {
    match SystemTime::now().duration_since(UNIX_EPOCH) {
        Ok(d) => d.as_nanos() as i64,
        Err(e) => -(e.duration().as_nanos() as i64),
    }
}

impl EngineClock {
    /// Anchors `clock` so that its current reading is wall-clock `wall_ns_now`.
    pub fn new(clock: Clock, wall_ns_now: i64) -> Self {
        let anchor_raw = clock.raw();
        EngineClock { clock, anchor_raw, anchor_wall_ns: wall_ns_now }
    }

    /// The production clock: TSC (via quanta), anchored to the OS wall clock now.
    pub fn system() -> Self {
        let clock = Clock::new();
        // Read the wall clock as close as possible to the raw anchor.
        let wall = system_wall_ns();
        Self::new(clock, wall)
    }

    /// A manual clock starting at wall-clock `wall_ns_now`; advance it with
    /// [`Mock::increment`] (in nanoseconds).
    pub fn manual(wall_ns_now: i64) -> (Self, Arc<Mock>) {
        let (clock, mock) = Clock::mock();
        (Self::new(clock, wall_ns_now), mock)
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

    /// Monotonic ns since the anchor for a raw reading (0 for readings before the anchor).
    #[inline(always)]
    pub fn mono_ns(&self, raw: u64) -> u64 {
        self.clock.delta_as_nanos(self.anchor_raw, raw)
    }

    /// Monotonic ns since the anchor, now.
    #[inline(always)]
    pub fn now_ns(&self) -> u64 {
        self.mono_ns(self.raw())
    }

    /// Wall-clock ns since the Unix epoch for a monotonic reading.
    #[inline(always)]
    pub fn wall_ns(&self, mono_ns: u64) -> i64 {
        self.anchor_wall_ns.saturating_add(mono_ns as i64)
    }

    /// The monotonic reading at which the wall clock shows `wall_ns` (0 if that is in the past
    /// of the anchor).
    pub fn mono_at_wall(&self, wall_ns: i64) -> u64 {
        wall_ns.saturating_sub(self.anchor_wall_ns).max(0) as u64
    }

    /// Wall-clock ns at the anchor.
    pub fn anchor_wall_ns(&self) -> i64 {
        self.anchor_wall_ns
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
    fn system_clock_is_anchored_near_now() {
        let c = EngineClock::system();
        let diff = (c.wall_ns(c.now_ns()) - system_wall_ns()).abs();
        assert!(diff < 1_000_000_000, "anchor off by {diff} ns");
    }
}
