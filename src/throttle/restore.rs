//! Rebuilding a throttle from the sends a journal recorded, for an engine that restarts.
//!
//! The journal holds each send's wall-clock time. Replaying them with
//! [`Throttle::record_send`] on a throttle whose time base is wall-clock ns gives exactly the
//! state a live throttle had after those sends (each one was allowed when it was made, so
//! recording it unconditionally is what `try_acquire` did). [`Throttle::rebase`] then moves
//! every time in the state onto the restarted engine's monotonic ns (`mono = wall − zero`,
//! where `zero` is the wall time at monotonic 0); times before monotonic 0 become 0, which
//! changes nothing (a bucket full by then is full; an expiry already passed has passed).

use super::{Inner, NS_PER_SEC, Throttle};

impl Throttle {
    /// Records a send made at `now_ns` without asking for a permit (rebuilding the state from a
    /// journal; see the module docs). `now_ns` is non-decreasing across calls, as for
    /// [`try_acquire`](Self::try_acquire).
    pub fn record_send(&mut self, now_ns: u64) {
        match &mut self.inner {
            Inner::Bucket(b) => b.tat = b.tat.max(u128::from(now_ns) * b.rate) + u128::from(NS_PER_SEC),
            Inner::Window(w) => {
                if let Some(slot) = w.expiry.get_mut(w.head) {
                    *slot = now_ns.saturating_add(NS_PER_SEC);
                }
                w.head = if w.head + 1 == w.expiry.len() { 0 } else { w.head + 1 };
            }
        }
    }

    /// Moves the state to a time base whose 0 is at `offset_ns` of the current one: every time
    /// `t` it holds becomes `t − offset_ns` (0 if earlier). From wall-clock ns to an engine's
    /// monotonic ns, `offset_ns` is the wall time at monotonic 0.
    pub fn rebase(&mut self, offset_ns: u64) {
        match &mut self.inner {
            Inner::Bucket(b) => b.tat = b.tat.saturating_sub(u128::from(offset_ns) * b.rate),
            Inner::Window(w) => w.expiry.iter_mut().for_each(|e| *e = e.saturating_sub(offset_ns)),
        }
    }

    /// Moves every time the state holds by `by_ns` (later if positive; at least 0). An engine
    /// whose wall clock is re-anchored by a step `s` (the wall time of every instant moves by
    /// `s`) calls `shift(-s)`: each recorded send keeps its wall time, so the bound holds in
    /// wall-clock time — the journal's, which the audit checks — across the step. An unused
    /// state (a full bucket never drawn from, free sliding-window slots) stays unused.
    pub fn shift(&mut self, by_ns: i64) {
        let d = by_ns.unsigned_abs();
        let moved = |t: u64| if by_ns >= 0 { t.saturating_add(d) } else { t.saturating_sub(d) };
        match &mut self.inner {
            Inner::Bucket(b) if b.tat > 0 => {
                let d = u128::from(d) * b.rate;
                b.tat = if by_ns >= 0 { b.tat.saturating_add(d) } else { b.tat.saturating_sub(d) };
            }
            Inner::Bucket(_) => {}
            Inner::Window(w) => w.expiry.iter_mut().filter(|e| **e > 0).for_each(|e| *e = moved(*e)),
        }
    }

    /// The next [`logon`](Self::logon) continues the session the recorded sends belong to: the
    /// token bucket keeps its level instead of being refilled (an engine that stopped while
    /// logged on and restarts in the same window logs on again, but the exchange's session —
    /// and its count of sends — goes on). The sliding window never refills anyway.
    pub fn continue_session(&mut self) {
        if let Inner::Bucket(b) = &mut self.inner {
            b.hold = true;
        }
    }

    /// How many sends in a row [`try_acquire`](Self::try_acquire) would allow at `now_ns` (for
    /// reports, not the hot path: the sliding window counts its whole history).
    pub fn available(&self, now_ns: u64) -> u64 {
        match &self.inner {
            Inner::Bucket(b) => {
                // Send k (from 0) at `now` passes iff max(tat, now·r) + k·1e9 <= now·r + tol.
                let now = u128::from(now_ns) * b.rate;
                let room = (now + b.tolerance).checked_sub(b.tat.max(now));
                room.map_or(0, |room| u64::try_from(room / u128::from(NS_PER_SEC) + 1).unwrap_or(u64::MAX))
            }
            Inner::Window(w) => w.expiry.iter().filter(|&&e| e <= now_ns).count() as u64,
        }
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::super::{ThrottleMode, test_throttle as throttle};
    use super::*;

    const S: u64 = NS_PER_SEC;

    #[test]
    fn a_rebuilt_bucket_refuses_what_the_live_one_would() {
        // Live: rate 1/s, burst 3, logon at 10 s, three sends at once.
        let wall = 1_800_000_000 * S;
        let mut live = throttle(ThrottleMode::TokenBucket, 1, 3);
        live.logon(wall + 10 * S);
        assert!((0..3).all(|_| live.try_acquire(wall + 10 * S)));
        // Rebuilt from the journal on wall time, then moved to a monotonic base whose 0 is at
        // wall + 10.2 s (the restart).
        let mut th = throttle(ThrottleMode::TokenBucket, 1, 3);
        th.logon(wall + 10 * S);
        (0..3).for_each(|_| th.record_send(wall + 10 * S));
        let zero = wall + 10 * S + 200_000_000;
        th.rebase(zero);
        th.continue_session();
        th.logon(0);
        assert_eq!(th.available(0), 0, "the burst was spent 0.2 s before the restart");
        assert_eq!(th.next_available_ns(0), 800_000_000, "one token a second after the sends");
        assert_eq!(live.next_available_ns(zero), zero + 800_000_000);
        // Without continue_session the logon refills, as at any logon.
        let mut fresh = throttle(ThrottleMode::TokenBucket, 1, 3);
        (0..3).for_each(|_| fresh.record_send(wall));
        fresh.rebase(wall);
        fresh.logon(0);
        assert_eq!(fresh.available(0), 3);
    }

    #[test]
    fn continue_session_holds_one_logon_only() {
        let mut th = throttle(ThrottleMode::TokenBucket, 2, 2);
        th.logon(0);
        assert!(th.try_acquire(0) && th.try_acquire(0));
        th.continue_session();
        th.logon(1);
        assert_eq!(th.available(1), 0, "held: not refilled");
        th.logon(2);
        assert_eq!(th.available(2), 2, "the next logon refills again");
    }

    #[test]
    fn a_rebuilt_sliding_window_keeps_the_last_second() {
        let mut th = throttle(ThrottleMode::SlidingWindow, 3, 1);
        for t in [5 * S, 5 * S + 100, 5 * S + 900_000_000] {
            th.record_send(t);
        }
        th.rebase(5 * S + 500_000_000);
        th.continue_session(); // nothing to hold
        th.logon(0);
        assert_eq!(th.available(0), 0, "three sends in the last 0.5 s at 3/s");
        assert_eq!(th.next_available_ns(0), 500_000_000, "the oldest expires 1 s after it was sent");
        assert!(th.try_acquire(500_000_000) && !th.try_acquire(500_000_000));
        assert_eq!(th.available(500_000_100), 1);
        // Fewer sends than the rate: the unused slots are free.
        let mut th = throttle(ThrottleMode::SlidingWindow, 3, 1);
        th.record_send(7 * S);
        th.rebase(7 * S);
        assert_eq!(th.available(0), 2);
        assert_eq!(th.next_available_ns(0), 0);
    }

    #[test]
    fn a_shift_moves_every_recorded_send_and_nothing_else() {
        // Sliding window, 2/s: sends at 1 s and 1.5 s; the clock's wall time steps back 2 ms,
        // so in monotonic time those sends are now 2 ms later.
        let mut th = throttle(ThrottleMode::SlidingWindow, 3, 1);
        th.record_send(S);
        th.record_send(S + 500_000_000);
        th.shift(2_000_000);
        assert_eq!(th.available(S + 500_000_000), 1, "the unused slot stays free");
        th.record_send(S + 500_000_000);
        assert_eq!(th.next_available_ns(S + 500_000_000), 2 * S + 2_000_000);
        th.shift(-3_000_000);
        assert_eq!(th.next_available_ns(0), 2 * S - 1_000_000);
        // Token bucket, 1/s burst 1: one send at 1 s; the next is due 1 ms later after a +1 ms
        // shift. A bucket never drawn from stays full.
        let mut th = throttle(ThrottleMode::TokenBucket, 1, 1);
        th.record_send(S);
        th.shift(1_000_000);
        assert_eq!(th.next_available_ns(0), 2 * S + 1_000_000);
        let mut fresh = throttle(ThrottleMode::TokenBucket, 1, 1);
        fresh.shift(5 * S as i64);
        assert_eq!(fresh.available(0), 1);
    }

    #[test]
    fn rebasing_past_every_time_leaves_a_fresh_throttle() {
        for mode in [ThrottleMode::TokenBucket, ThrottleMode::SlidingWindow] {
            let mut th = throttle(mode, 2, 2);
            th.record_send(S);
            th.record_send(S);
            th.rebase(100 * S);
            assert_eq!(th.available(0), 2, "{mode:?}");
        }
    }

    proptest! {
        /// A throttle rebuilt with `record_send` from the sends a live one allowed, on another
        /// time base, then rebased, decides every later attempt as the live one does.
        #[test]
        fn rebuilt_and_rebased_matches_the_live_throttle(
            sliding in any::<bool>(),
            rate in 1..=50u32,
            burst in 1..=10u32,
            attempts in prop::collection::vec(0..400_000_000u64, 1..80),
            offset in 0..1_000_000 * S,
            restart_after in 0..3 * S,
            later in prop::collection::vec(0..300_000_000u64, 1..40),
        ) {
            let mode = if sliding { ThrottleMode::SlidingWindow } else { ThrottleMode::TokenBucket };
            let mut live = throttle(mode, rate, burst);
            let mut rebuilt = throttle(mode, rate, burst);
            // The live throttle runs on monotonic ns from `offset`; the journal shows wall ns
            // = monotonic + base, with base = 10^18 ns.
            let base = 1_000_000_000 * S;
            let mut now = offset;
            live.logon(now);
            rebuilt.logon(now + base);
            for gap in attempts {
                now += gap;
                if live.try_acquire(now) {
                    rebuilt.record_send(now + base);
                }
            }
            // The restart: the new engine's monotonic 0 is at `now + restart_after` (wall
            // now + restart_after + base); the live throttle's time runs on.
            let zero = now + restart_after;
            rebuilt.rebase(zero + base);
            rebuilt.continue_session();
            rebuilt.logon(0);
            for gap in later {
                now = now.max(zero) + gap;
                let t = now - zero;
                prop_assert_eq!(rebuilt.next_available_ns(t) + zero, live.next_available_ns(now));
                prop_assert_eq!(rebuilt.available(t), live.available(now));
                prop_assert_eq!(rebuilt.try_acquire(t), live.try_acquire(now));
            }
        }
    }
}
