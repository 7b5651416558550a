//! The `backoff` idle strategy's phases and how long it spins: [`BackoffState`], a pure state
//! machine on the engine's clock (time passed in), driven by the runner's loop.
//!
//! **Adaptive budget.** An idle spell spins, then yields, for a *budget*, then sleeps. The
//! budget starts at the configured `spin_us + yield_us` and follows the gaps between work:
//! - a gap longer than `spin_us + yield_us` (the spell ended in a sleep that the full budget
//!   would not have saved) halves it, down to `spin_min_us`: at 10k orders/s (a gap of 100 µs)
//!   the engine goes to sleep after `spin_min_us` instead of burning 40 µs per order;
//! - a gap within `spin_us + yield_us` (caught while spinning or yielding, or slept through
//!   when the full budget would have caught it) sets it back to `spin_us + yield_us` at once:
//!   at 100k/s and above the engine keeps spinning, and a stall of the producer (one long gap)
//!   costs one halving that the next short gap undoes. (Leaving the budget as it was after a
//!   gap it caught let a few stalls at 1M/s pin it to its floor, where gaps of 1 µs are still
//!   caught but every gap over the floor slept: p99 at 1M/s 521 µs against 41 µs spinning.)
//!
//! A gap is measured from the spell's first idle turn to the arrival of the request that woke a
//! sleeper, or that the last look before a sleep found (the thread was preempted while
//! spinning: the time it lost is no gap). The arrival is the request's stamp, the producer's
//! clock reading before its push, so the wake-up's own latency does not count: the runner
//! subtracts how long the request waited, on the engine's clock, from the wake-up's time on the
//! [`Stopwatch`]. When the spell ended without a sleep or without a request (a response, a
//! wait, a timer), the gap runs to the turn that found work. The spin phase is the first
//! `min(budget, spin_us)` of the spell, the yield phase the rest of the budget.

use super::Backoff;

/// The time base of the phases: a real monotonic clock (the TSC through `quanta`), ns since it
/// was made. Not the engine's clock, which tests drive by hand: an idle spell lasts real time.
#[derive(Debug)]
pub(crate) struct Stopwatch {
    clock: quanta::Clock,
    origin: u64,
}

impl Stopwatch {
    pub(crate) fn new() -> Stopwatch {
        let clock = quanta::Clock::new();
        let origin = clock.raw();
        Stopwatch { clock, origin }
    }

    /// ns since [`new`](Self::new).
    #[inline(always)]
    pub(crate) fn now_ns(&self) -> u64 {
        self.clock.delta_as_nanos(self.origin, self.clock.raw())
    }
}

/// What an idle turn does.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Phase {
    /// A pause instruction.
    Spin,
    /// `thread::yield_now`.
    Yield,
    /// Sleep on the doorbell.
    Sleep,
}

/// Where the `backoff` strategy is in an idle spell, and its budget (see the module docs).
#[derive(Clone, Debug)]
pub(crate) struct BackoffState {
    /// The configured spin phase, ns.
    spin_ns: u64,
    /// The configured spin and yield phases, ns: the budget's ceiling.
    max_ns: u64,
    /// The budget's floor, ns (`spin_min_us`, at most `max_ns`).
    floor_ns: u64,
    /// Spin and yield this long in the next spells, ns.
    budget_ns: u64,
    /// Longest sleep, ns.
    pub(crate) sleep_max_ns: u64,
    /// When the spell's first idle turn was (none while working).
    since: Option<u64>,
    /// The arrival stamp of the request that woke the sleeper in this spell.
    woken_by: Option<u64>,
}

impl BackoffState {
    pub(crate) fn new(b: &Backoff) -> BackoffState {
        let max_ns = b.spin_us.saturating_add(b.yield_us).saturating_mul(1000);
        BackoffState {
            spin_ns: b.spin_us.saturating_mul(1000),
            max_ns,
            floor_ns: b.spin_min_us.saturating_mul(1000).min(max_ns),
            budget_ns: max_ns,
            sleep_max_ns: b.sleep_max_us.get().saturating_mul(1000),
            since: None,
            woken_by: None,
        }
    }

    /// The spin and yield budget now, ns.
    #[cfg(test)]
    pub(crate) fn budget_ns(&self) -> u64 {
        self.budget_ns
    }

    /// Whether an idle spell is under way.
    #[inline(always)]
    pub(crate) fn idle_spell(&self) -> bool {
        self.since.is_some()
    }

    /// An idle turn at `now`: what it does.
    #[inline]
    pub(crate) fn phase(&mut self, now: u64) -> Phase {
        let idle = now.saturating_sub(*self.since.get_or_insert(now));
        if idle < self.budget_ns.min(self.spin_ns) {
            Phase::Spin
        } else if idle < self.budget_ns {
            Phase::Yield
        } else {
            Phase::Sleep
        }
    }

    /// A sleep ended, or the look before one found work, and the rings hold a request that
    /// arrived at `arrival` (the earliest).
    pub(crate) fn woken_by(&mut self, arrival: u64) {
        if self.since.is_some() {
            self.woken_by = Some(self.woken_by.map_or(arrival, |a| a.min(arrival)));
        }
    }

    /// A turn at `now` found work: the spell (if any) ends, and its gap adapts the budget.
    #[inline]
    pub(crate) fn worked(&mut self, now: u64) {
        let Some(since) = self.since.take() else { return };
        let end = self.woken_by.take().unwrap_or(now);
        let gap = end.saturating_sub(since);
        self.budget_ns =
            if gap > self.max_ns { (self.budget_ns / 2).max(self.floor_ns) } else { self.max_ns };
    }
}

#[cfg(test)]
mod tests {
    use std::num::NonZeroU64;

    use super::*;
    use crate::EngineClock;

    const US: u64 = 1000;

    fn state() -> BackoffState {
        let b = Backoff { spin_us: 20, yield_us: 20, spin_min_us: 2, sleep_max_us: NonZeroU64::MIN };
        BackoffState::new(&b)
    }

    /// One idle spell from the clock's reading: idle turns every µs until `gap` µs (the phases
    /// seen, in order, without repeats), then work stamped at `gap` (arriving during a sleep:
    /// the wake-up comes `wake` µs later).
    fn spell(
        s: &mut BackoffState,
        clock: &EngineClock,
        mock: &quanta::Mock,
        gap: u64,
        wake: u64,
    ) -> Vec<Phase> {
        let start = clock.now_ns();
        let mut seen: Vec<Phase> = Vec::new();
        while clock.now_ns() - start < gap * US {
            let p = s.phase(clock.now_ns());
            if seen.last() != Some(&p) {
                seen.push(p);
            }
            if p == Phase::Sleep {
                break;
            }
            mock.increment(US);
        }
        let arrival = start + gap * US;
        if seen.last() == Some(&Phase::Sleep) {
            let now = clock.now_ns();
            mock.increment(arrival.saturating_sub(now) + wake * US);
            s.woken_by(arrival);
        } else {
            let now = clock.now_ns();
            mock.increment(arrival.saturating_sub(now));
        }
        s.worked(clock.now_ns());
        seen
    }

    #[test]
    fn long_gaps_shrink_the_budget_to_its_floor_and_a_gap_the_full_budget_catches_restores_it() {
        let (clock, mock) = EngineClock::manual(0);
        mock.increment(1_000_000);
        let mut s = state();
        assert_eq!(s.budget_ns(), 40 * US);
        // 10k/s: gaps of 100 µs. The first spell spins 20 µs, yields 20 µs, sleeps.
        assert_eq!(spell(&mut s, &clock, &mock, 100, 30), [Phase::Spin, Phase::Yield, Phase::Sleep]);
        assert_eq!(s.budget_ns(), 20 * US);
        assert_eq!(spell(&mut s, &clock, &mock, 100, 30), [Phase::Spin, Phase::Sleep]);
        let budgets: Vec<u64> = (0..4)
            .map(|_| {
                spell(&mut s, &clock, &mock, 100, 30);
                s.budget_ns() / US
            })
            .collect();
        assert_eq!(budgets, [5, 2, 2, 2], "halved down to spin_min_us");
        // 1M/s after stalls: a gap of 1 µs, caught while spinning within the floor: work comes
        // often, the full budget at once (left at its floor, every gap over 2 µs would sleep).
        assert_eq!(spell(&mut s, &clock, &mock, 1, 30), [Phase::Spin]);
        assert_eq!(s.budget_ns(), 40 * US);
        for _ in 0..5 {
            spell(&mut s, &clock, &mock, 100, 30);
        }
        assert_eq!(s.budget_ns(), 2 * US);
        // 100k/s: a gap of 10 µs, which the engine slept through, but 40 µs of spinning and
        // yielding would have caught: the full budget at once. The wake-up's 30 µs (arrival to
        // wake) do not count: the gap ends at the request's arrival stamp.
        assert_eq!(spell(&mut s, &clock, &mock, 10, 30), [Phase::Spin, Phase::Sleep]);
        assert_eq!(s.budget_ns(), 40 * US);
        // And then it spins through the next gaps of 10 µs.
        for _ in 0..5 {
            assert_eq!(spell(&mut s, &clock, &mock, 10, 30), [Phase::Spin]);
            assert_eq!(s.budget_ns(), 40 * US);
        }
        // A gap caught while yielding keeps the full budget.
        assert_eq!(spell(&mut s, &clock, &mock, 30, 30), [Phase::Spin, Phase::Yield]);
        assert_eq!(s.budget_ns(), 40 * US);
    }

    #[test]
    fn a_spell_woken_by_something_other_than_a_request_counts_until_the_work_is_found() {
        let (clock, mock) = EngineClock::manual(0);
        mock.increment(1_000_000);
        let mut s = state();
        for _ in 0..5 {
            spell(&mut s, &clock, &mock, 100, 0);
        }
        assert_eq!(s.budget_ns(), 2 * US);
        // Asleep from 2 µs; a response wakes it at 30 µs (no request stamp): a gap of 30 µs.
        assert_eq!(s.phase(clock.now_ns()), Phase::Spin);
        mock.increment(2 * US);
        assert_eq!(s.phase(clock.now_ns()), Phase::Sleep);
        mock.increment(28 * US);
        s.worked(clock.now_ns());
        assert_eq!(s.budget_ns(), 40 * US);
        // No spell, no change.
        s.worked(clock.now_ns());
        assert_eq!(s.budget_ns(), 40 * US);
    }

    #[test]
    fn a_budget_of_zero_sleeps_at_once_and_a_floor_above_the_ceiling_is_the_ceiling() {
        let b = Backoff { spin_us: 0, yield_us: 0, spin_min_us: 5, sleep_max_us: NonZeroU64::MIN };
        let mut s = BackoffState::new(&b);
        assert_eq!(s.phase(7), Phase::Sleep);
        s.worked(1_000_000);
        assert_eq!(s.budget_ns(), 0);
        let b = Backoff { spin_us: 3, yield_us: 0, spin_min_us: 5, sleep_max_us: NonZeroU64::MIN };
        let mut s = BackoffState::new(&b);
        for k in 0..3 {
            assert_eq!(s.phase(k * 1_000_000), Phase::Spin);
            s.worked(k * 1_000_000 + 500_000);
        }
        assert_eq!(s.budget_ns(), 3 * US);
    }
}
