//! The send throttle: at most X orders per second to the exchange, in one of two modes
//! ([`ThrottleMode`]), on the engine's monotonic nanoseconds (see [`crate::clock`]).
//!
//! The engine owns one [`Throttle`]. For every order it wants to send it calls
//! [`Throttle::try_acquire`]; when that fails the order stays queued and the engine arms a timer
//! at [`Throttle::next_available_ns`], which is exact (at that instant `try_acquire` succeeds,
//! one nanosecond earlier it fails), so the queue drains at the earliest lawful instants without
//! polling. [`Throttle::logon`] is called at each logon: the token bucket starts full, the
//! sliding window keeps its history (the exchange counts sends, not sessions).
//!
//! ```
//! use std::num::NonZeroU32;
//! use oms::throttle::{Throttle, ThrottleMode, ThrottleSettings};
//!
//! let rate = NonZeroU32::new(3).unwrap();
//! let burst = NonZeroU32::new(2).unwrap();
//! let mut th = Throttle::new(&ThrottleSettings { mode: ThrottleMode::TokenBucket, rate, burst });
//! th.logon(0);
//! assert!(th.try_acquire(0) && th.try_acquire(0)); // the burst
//! assert!(!th.try_acquire(0));
//! let t = th.next_available_ns(0); // ceil(1e9 / 3)
//! assert_eq!(t, 333_333_334);
//! assert!(!th.try_acquire(t - 1) && th.try_acquire(t));
//! ```
//!
//! # Token bucket (GCRA, exact integer arithmetic)
//!
//! Rate `r` = `max_orders_per_sec` tokens per second, capacity `b` = `burst`, full at each logon.
//! Implemented as the Generic Cell Rate Algorithm (the "virtual scheduling" form of a token
//! bucket): one `u128` *theoretical arrival time* (TAT). Time is scaled by the rate — a scaled
//! instant is `now_ns · r` — so one token is worth exactly `1e9` scaled units whatever `r` is:
//! rates that do not divide 10⁹ (7/s, 3/s) have no rounding and no drift, and there is no float
//! anywhere. A send at `τ = now_ns · r` is allowed iff `max(TAT, τ) <= τ + (b-1)·1e9`; it then
//! sets `TAT = max(TAT, τ) + 1e9`. `u128` keeps every product exact (`u64::MAX · u32::MAX` fits)
//! and on x86-64 the widening multiply is a single instruction.
//!
//! **The bound.** For any two sends at `t_i <= t_j` (ns), the number of sends in `[t_i, t_j]` is
//! at most
//!
//! ```text
//! burst + floor(rate · (t_j − t_i) / 1e9)
//! ```
//!
//! So this is *not* "at most X in any second" when `burst > 1`: a full bucket allows `burst`
//! sends at once and then `rate` per second, i.e. up to `burst + rate − 1` sends inside one
//! second (`burst + rate` in a closed 1 s span). The bound holds within a session: the bucket is
//! full again at each logon, so sends just before a logout and just after the next logon may
//! together exceed it. Use the sliding-window mode when the exchange counts strictly. Proof sketch: after the send at `t_i`, `TAT >= τ_i + 1e9`, and each
//! later send adds `1e9`; so before the `n`-th send of the run `TAT >= τ_i + (n−1)·1e9`, and
//! that send being allowed means `τ_i + (n−1)·1e9 <= τ_j + (b−1)·1e9`, i.e.
//! `n − b <= r·(t_j − t_i)/1e9`.
//!
//! With `burst = 1` and a rate that does not divide 10⁹, the bound itself forces consecutive
//! sends to be `ceil(1e9 / rate)` ns apart (3/s: 333 333 334 ns), so a saturated queue drains
//! slightly below the nominal rate; with `burst >= 2` the GCRA keeps its fractional credit and a
//! saturated queue drains at exactly `rate` per second (k-th refill at `ceil(k·1e9 / rate)`).
//!
//! # Sliding window (strict)
//!
//! No window `[t, t + 1 s)` ever holds more than `max_orders_per_sec` sends (`burst` is
//! ignored), across sessions too: a logout and a logon do not clear the history, so sends just
//! before a window end still count against the next window's first second. A send is allowed
//! iff the X-th most recent send is at least 1 s old (half-open windows: exactly 1 s later is
//! allowed). The last X sends live in a ring pre-allocated with X entries, each holding its send
//! time + 1 s (its expiry), so a decision is one load, one compare and one store: O(1), no
//! allocation. The price is memory: 8·X bytes (8 MB at X = 10⁶).
//!
//! # Restoring
//!
//! An engine that restarts on its journal rebuilds its throttle from the sends recorded there
//! ([`Throttle::record_send`], on wall-clock ns), moves it to its own monotonic time base
//! ([`Throttle::rebase`]) and, when it logs on again into the session it was in when it
//! stopped, keeps the bucket as it was ([`Throttle::continue_session`]): the bound holds across
//! the restart. (`restore.rs`.)
//!
//! # Range
//!
//! Monotonic ns are `u64` (584 years of uptime): no overflow for any `now_ns`, idle gaps of any
//! length, any rate and burst up to `u32::MAX`. Only instants within 1 s of `u64::MAX` saturate
//! (a sliding-window expiry or a next-available time is clamped to `u64::MAX`).

use std::fmt;
use std::num::NonZeroU32;

/// How the throttle counts.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum ThrottleMode {
    /// Token bucket: rate `max_orders_per_sec`, capacity `burst`, full at each logon. Allows up
    /// to `burst + rate·T` sends in any span of length T within a session.
    #[default]
    TokenBucket,
    /// Strict: no window `[t, t+1s)` ever holds more than `max_orders_per_sec` sends, across
    /// sessions too.
    SlidingWindow,
}

impl ThrottleMode {
    /// The configuration's name: `token-bucket` or `sliding-window`.
    pub const fn name(self) -> &'static str {
        match self {
            ThrottleMode::TokenBucket => "token-bucket",
            ThrottleMode::SlidingWindow => "sliding-window",
        }
    }

    /// Parses a configuration name.
    pub fn from_name(s: &str) -> Option<ThrottleMode> {
        [ThrottleMode::TokenBucket, ThrottleMode::SlidingWindow].into_iter().find(|m| m.name() == s)
    }
}

/// A checked `[throttle]`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ThrottleSettings {
    /// Counting mode.
    pub mode: ThrottleMode,
    /// X orders per second.
    pub rate: NonZeroU32,
    /// Bucket capacity (token-bucket mode; ignored by the sliding window).
    pub burst: NonZeroU32,
}

/// Nanoseconds per second: the token-bucket emission interval in scaled units and the sliding
/// window's length in ns.
const NS_PER_SEC: u64 = 1_000_000_000;

/// The rate limiter for sends to the exchange (see the [module docs](self) for both modes and
/// the exact bound each one guarantees).
#[derive(Clone)]
pub struct Throttle {
    inner: Inner,
}

#[derive(Clone)]
enum Inner {
    Bucket(TokenBucket),
    Window(SlidingWindow),
}

/// GCRA state; all times scaled by the rate (`ns · rate`), so one token is `NS_PER_SEC` units.
#[derive(Clone, Debug)]
struct TokenBucket {
    /// Tokens per second.
    rate: u128,
    /// `(burst − 1) · NS_PER_SEC`: how far ahead of now the TAT may be for a send to pass.
    tolerance: u128,
    /// Theoretical arrival time (scaled). `tat <= now · rate` means the bucket is full.
    tat: u128,
    /// The next logon continues the session (no refill): see [`Throttle::continue_session`].
    hold: bool,
}

/// Ring of the expiries (send time + 1 s) of the last X sends; `head` is the oldest.
#[derive(Clone)]
struct SlidingWindow {
    expiry: Box<[u64]>,
    head: usize,
}

impl Throttle {
    /// A throttle for `cfg`, full, with no history. Pre-allocates
    /// everything (the sliding-window ring: `rate` entries); never allocates afterwards.
    pub fn new(cfg: &ThrottleSettings) -> Self {
        let inner = match cfg.mode {
            ThrottleMode::TokenBucket => Inner::Bucket(TokenBucket {
                rate: u128::from(cfg.rate.get()),
                tolerance: u128::from(cfg.burst.get() - 1) * u128::from(NS_PER_SEC),
                tat: 0,
                hold: false,
            }),
            ThrottleMode::SlidingWindow => {
                let len = usize::try_from(cfg.rate.get()).unwrap_or(usize::MAX);
                Inner::Window(SlidingWindow { expiry: vec![0; len].into_boxed_slice(), head: 0 })
            }
        };
        Throttle { inner }
    }

    /// The counting mode.
    pub fn mode(&self) -> ThrottleMode {
        match self.inner {
            Inner::Bucket(_) => ThrottleMode::TokenBucket,
            Inner::Window(_) => ThrottleMode::SlidingWindow,
        }
    }

    /// A session begins at `now_ns`: the token bucket is full again; the sliding window keeps
    /// its history, so no `[t, t + 1 s)` holds more than X sends across a logout and a logon.
    pub fn logon(&mut self, now_ns: u64) {
        match &mut self.inner {
            Inner::Bucket(b) => {
                if !std::mem::take(&mut b.hold) {
                    b.tat = u128::from(now_ns) * b.rate;
                }
            }
            Inner::Window(_) => {}
        }
    }

    /// Takes one send permit at `now_ns` if allowed. `now_ns` is non-decreasing across calls.
    #[inline(always)]
    pub fn try_acquire(&mut self, now_ns: u64) -> bool {
        match &mut self.inner {
            Inner::Bucket(b) => {
                let now = u128::from(now_ns) * b.rate;
                let tat = b.tat.max(now);
                let ok = tat <= now + b.tolerance;
                b.tat = if ok { tat + u128::from(NS_PER_SEC) } else { b.tat };
                ok
            }
            Inner::Window(w) => {
                let head = w.head;
                let Some(slot) = w.expiry.get_mut(head) else {
                    // Unreachable: the ring has `rate >= 1` entries and `head < len`.
                    return false;
                };
                let ok = now_ns >= *slot;
                *slot = if ok { now_ns.saturating_add(NS_PER_SEC) } else { *slot };
                let next = head + usize::from(ok);
                w.head = if next == w.expiry.len() { 0 } else { next };
                ok
            }
        }
    }

    /// Earliest time `>= now_ns` at which [`try_acquire`](Self::try_acquire) would succeed
    /// (`== now_ns` if it would now). Exact: at the returned instant it succeeds, one ns earlier
    /// it fails. Clamped to `u64::MAX`.
    pub fn next_available_ns(&self, now_ns: u64) -> u64 {
        let at = match &self.inner {
            Inner::Bucket(b) => {
                // Allowed iff tat <= t·rate + tolerance  ⇔  t >= ceil((tat − tolerance) / rate).
                let t = b.tat.saturating_sub(b.tolerance).div_ceil(b.rate);
                u64::try_from(t).unwrap_or(u64::MAX)
            }
            Inner::Window(w) => w.expiry.get(w.head).copied().unwrap_or(u64::MAX),
        };
        at.max(now_ns)
    }
}

impl fmt::Debug for Throttle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.inner {
            Inner::Bucket(b) => f
                .debug_struct("Throttle")
                .field("mode", &ThrottleMode::TokenBucket)
                .field("rate", &b.rate)
                .field("burst", &(b.tolerance / u128::from(NS_PER_SEC) + 1))
                .field("tat_scaled", &b.tat)
                .finish(),
            // The ring can hold millions of entries: summarize it.
            Inner::Window(w) => f
                .debug_struct("Throttle")
                .field("mode", &ThrottleMode::SlidingWindow)
                .field("rate", &w.expiry.len())
                .field("oldest_expiry_ns", &w.expiry.get(w.head))
                .finish(),
        }
    }
}

mod restore;

/// A throttle of `mode` at `rate` per second with `burst` (unit tests).
#[cfg(test)]
fn test_throttle(mode: ThrottleMode, rate: u32, burst: u32) -> Throttle {
    let nz = |v| NonZeroU32::new(v).expect("non-zero");
    Throttle::new(&ThrottleSettings { mode, rate: nz(rate), burst: nz(burst) })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::audit::bounds::{SlidingWindowBound, TokenBucketBound};
    use proptest::prelude::*;

    const S: u64 = NS_PER_SEC;

    use super::test_throttle as throttle;

    fn bucket(rate: u32, burst: u32) -> Throttle {
        throttle(ThrottleMode::TokenBucket, rate, burst)
    }

    fn sliding(rate: u32) -> Throttle {
        throttle(ThrottleMode::SlidingWindow, rate, 1)
    }

    /// Asserts the exactness property at `t`: `next_available_ns(now) == t`, it fails at
    /// `t − 1` (if that is not before `now`) and succeeds at `t`. Consumes the permit.
    fn acquire_exactly_at(th: &mut Throttle, now: u64, t: u64) {
        assert_eq!(th.next_available_ns(now), t, "next_available_ns({now})");
        if t > now {
            assert!(!th.try_acquire(t - 1), "acquire at {} should fail", t - 1);
        }
        assert!(th.try_acquire(t), "acquire at {t} should succeed");
    }

    #[test]
    fn bucket_is_full_at_logon() {
        let mut th = bucket(3, 5);
        th.logon(1_000);
        for _ in 0..5 {
            assert_eq!(th.next_available_ns(1_000), 1_000);
            assert!(th.try_acquire(1_000));
        }
        assert!(!th.try_acquire(1_000));
        // One token refills after ceil(1e9 / 3) ns.
        assert_eq!(th.next_available_ns(1_000), 1_000 + 333_333_334);
        // A fresh throttle is full too.
        let mut th = bucket(3, 5);
        assert_eq!((0..6).filter(|_| th.try_acquire(0)).count(), 5);
    }

    #[test]
    fn bucket_rate_3_burst_1_refill_instants() {
        let mut th = bucket(3, 1);
        th.logon(0);
        assert!(th.try_acquire(0));
        assert!(!th.try_acquire(0));
        // Capacity 1 cannot keep fractional credit: each send at the earliest lawful instant is
        // ceil(1e9 / 3) = 333_333_334 ns after the previous one (and the bound demands it:
        // 2 sends in a span T need 3·T >= 1e9).
        acquire_exactly_at(&mut th, 0, 333_333_334);
        acquire_exactly_at(&mut th, 333_333_334, 666_666_668);
        acquire_exactly_at(&mut th, 666_666_668, 1_000_000_002);
        // Idle: the bucket holds at most 1 token.
        assert!(th.try_acquire(5 * S));
        assert!(!th.try_acquire(5 * S));
        assert_eq!(th.next_available_ns(5 * S), 5 * S + 333_333_334);
    }

    #[test]
    fn bucket_rate_3_burst_5_refill_instants_do_not_drift() {
        let mut th = bucket(3, 5);
        th.logon(0);
        for _ in 0..5 {
            assert!(th.try_acquire(0));
        }
        // k-th refill at ceil(k·1e9 / 3): no accumulated rounding.
        let expected = [333_333_334, 666_666_667, 1_000_000_000, 1_333_333_334, 1_666_666_667, 2 * S];
        let mut now = 0;
        for t in expected {
            acquire_exactly_at(&mut th, now, t);
            now = t;
        }
        // After 300 more: exactly 102 s of refills since the burst.
        for k in 7..=306u64 {
            let t = (k * S).div_ceil(3);
            acquire_exactly_at(&mut th, now, t);
            now = t;
        }
        assert_eq!(now, 102 * S);
    }

    #[test]
    fn bucket_rate_7_burst_2_is_exact_over_ten_seconds() {
        let mut th = bucket(7, 2);
        th.logon(0);
        assert!(th.try_acquire(0) && th.try_acquire(0) && !th.try_acquire(0));
        let mut now = 0;
        for k in 1..=70u64 {
            let t = (k * S).div_ceil(7);
            acquire_exactly_at(&mut th, now, t);
            now = t;
        }
        assert_eq!(now, 10 * S);
        assert_eq!(th.next_available_ns(now), 10 * S + 142_857_143);
    }

    #[test]
    fn bucket_one_million_per_second() {
        let mut th = bucket(1_000_000, 1);
        th.logon(0);
        let mut sent = 0u64;
        let mut now = 0;
        while now < S {
            assert_eq!(th.next_available_ns(now), now);
            assert!(th.try_acquire(now));
            assert!(!th.try_acquire(now));
            sent += 1;
            now = th.next_available_ns(now);
            assert_eq!(now, sent * 1_000);
        }
        assert_eq!(sent, 1_000_000);
    }

    #[test]
    fn bucket_survives_days_idle_and_the_end_of_time() {
        let mut th = bucket(1_000, 10);
        th.logon(0);
        while th.try_acquire(0) {}
        let later = 30 * 24 * 3_600 * S; // 30 days
        for _ in 0..10 {
            assert!(th.try_acquire(later));
        }
        assert!(!th.try_acquire(later));
        assert_eq!(th.next_available_ns(later), later + 1_000_000);

        let mut th = bucket(u32::MAX, u32::MAX);
        th.logon(u64::MAX / 2);
        assert!(th.try_acquire(u64::MAX / 2));
        assert!(th.try_acquire(u64::MAX - 1));
        assert!(th.try_acquire(u64::MAX));
        assert_eq!(th.next_available_ns(u64::MAX), u64::MAX);

        let mut th = bucket(1, 1);
        th.logon(u64::MAX - 10);
        assert!(th.try_acquire(u64::MAX - 10));
        assert!(!th.try_acquire(u64::MAX));
        // The true next instant is past u64::MAX: clamped.
        assert_eq!(th.next_available_ns(u64::MAX), u64::MAX);
    }

    #[test]
    fn bucket_logon_refills() {
        let mut th = bucket(10, 3);
        th.logon(0);
        assert_eq!((0..10).filter(|_| th.try_acquire(5)).count(), 3);
        th.logon(7);
        assert_eq!((0..10).filter(|_| th.try_acquire(7)).count(), 3);
    }

    #[test]
    fn sliding_window_allows_exactly_at_plus_one_second() {
        let mut th = sliding(3);
        th.logon(0);
        assert!(th.try_acquire(0));
        assert!(th.try_acquire(100));
        assert!(th.try_acquire(200));
        assert!(!th.try_acquire(300));
        // The oldest is at 0: the window [1, 1e9+1) would still hold the other two, but
        // [1e9, 2e9) holds none of the three — half-open windows.
        acquire_exactly_at(&mut th, 300, S);
        acquire_exactly_at(&mut th, S, S + 100);
        acquire_exactly_at(&mut th, S + 100, S + 200);
        acquire_exactly_at(&mut th, S + 200, 2 * S);
        // Idle for days: the whole quota is back, and no more.
        let later = 3 * 24 * 3_600 * S;
        assert_eq!((0..10).filter(|_| th.try_acquire(later)).count(), 3);
        assert_eq!(th.next_available_ns(later), later + S);
    }

    #[test]
    fn sliding_window_ignores_burst() {
        let mut th = throttle(ThrottleMode::SlidingWindow, 2, 50);
        assert_eq!(th.mode(), ThrottleMode::SlidingWindow);
        assert_eq!((0..10).filter(|_| th.try_acquire(10)).count(), 2);
        assert_eq!(th.next_available_ns(20), 10 + S);
    }

    #[test]
    fn sliding_window_keeps_its_history_across_a_logon() {
        let mut th = sliding(2);
        assert!(th.try_acquire(400) && th.try_acquire(400));
        // Logout, then a logon 600 ns later: the two sends still fill [400, 400 + 1 s).
        th.logon(1_000);
        assert!(!th.try_acquire(1_000));
        assert_eq!(th.next_available_ns(1_000), 400 + S);
        acquire_exactly_at(&mut th, 1_000, 400 + S);
    }

    #[test]
    fn sliding_window_rate_7_and_one_million() {
        let mut th = sliding(7);
        let sends = [0, 1, 2, 3, 500_000_000, 600_000_000, 999_999_999];
        for t in sends {
            assert!(th.try_acquire(t));
        }
        // Each further send waits for the matching one a second earlier.
        let mut now = 999_999_999;
        for t in sends {
            acquire_exactly_at(&mut th, now, t + S);
            now = t + S;
        }

        let mut th = sliding(1_000_000);
        for _ in 0..1_000_000 {
            assert!(th.try_acquire(42));
        }
        assert!(!th.try_acquire(S + 41));
        assert_eq!(th.next_available_ns(43), S + 42);
        assert!(th.try_acquire(S + 42));
    }

    #[test]
    fn sliding_window_near_the_end_of_time() {
        let mut th = sliding(1);
        assert!(th.try_acquire(u64::MAX - 10));
        assert!(!th.try_acquire(u64::MAX - 1));
        assert_eq!(th.next_available_ns(u64::MAX - 1), u64::MAX);
    }

    #[test]
    fn debug_is_a_summary() {
        let s = format!("{:?}", sliding(1_000_000));
        assert!(s.contains("SlidingWindow") && s.len() < 200, "{s}");
        let s = format!("{:?}", bucket(7, 3));
        assert!(s.contains("TokenBucket") && s.contains("burst: 3"), "{s}");
    }

    // ---- property test ------------------------------------------------------------------

    #[derive(Clone, Debug)]
    enum Op {
        /// Move the clock forward by this many ns.
        Advance(u64),
        /// Try to acquire this many times at the current instant.
        Acquire(u8),
        /// Move the clock to `next_available_ns` (the exact boundary) and try once.
        JumpToNext,
        /// Move the clock to 1 ns before `next_available_ns` and try once.
        JumpJustBefore,
        /// Logon: the bucket refills (its bound restarts); the sliding window keeps its history.
        Logon,
    }

    fn op() -> impl Strategy<Value = Op> {
        prop_oneof![
            2 => (0..3 * S).prop_map(Op::Advance),
            3 => (0..20_000_000u64).prop_map(Op::Advance),
            1 => (0..1_000u64).prop_map(Op::Advance),
            4 => (1..=20u8).prop_map(Op::Acquire),
            3 => Just(Op::JumpToNext),
            2 => Just(Op::JumpJustBefore),
            1 => Just(Op::Logon),
        ]
    }

    /// The mode's bound, checked by the audit's one-pass checkers (themselves tested against
    /// an all-pairs reference in `audit::bounds`): every interval ending at each new send.
    enum Bound {
        Sliding(SlidingWindowBound),
        Bucket(TokenBucketBound),
    }

    impl Bound {
        fn new(mode: ThrottleMode, rate: u32, burst: u32) -> Bound {
            match mode {
                ThrottleMode::SlidingWindow => Bound::Sliding(SlidingWindowBound::new(u64::from(rate))),
                ThrottleMode::TokenBucket => Bound::Bucket(TokenBucketBound::new(rate, burst)),
            }
        }

        /// A logon: the bucket's bound restarts (it starts full); the sliding window's does not.
        fn logon(&mut self) {
            if let Bound::Bucket(b) = self {
                b.reset();
            }
        }

        fn send(&mut self, t: u64) -> Result<(), TestCaseError> {
            let t = i64::try_from(t).unwrap_or(i64::MAX);
            let excess = match self {
                Bound::Sliding(b) => b.push(t),
                Bound::Bucket(b) => b.push(t),
            };
            prop_assert!(excess.is_none(), "bound broken at {t}: {excess:?}");
            Ok(())
        }
    }

    /// One attempt at `now`: checks it against `next_available_ns` (and that value's exactness
    /// on a clone), records a success, and checks the bound on every window ending there.
    fn attempt(th: &mut Throttle, now: u64, bound: &mut Bound) -> Result<(), TestCaseError> {
        let next = th.next_available_ns(now);
        prop_assert!(next >= now);
        if next > now {
            let mut probe = th.clone();
            prop_assert!(!probe.try_acquire(next - 1), "succeeded 1 ns before next_available {next}");
            prop_assert!(probe.try_acquire(next), "failed at next_available {next}");
        }
        let ok = th.try_acquire(now);
        prop_assert_eq!(ok, next == now, "acquire at {} returned {} with next_available {}", now, ok, next);
        if ok {
            bound.send(now)?;
        }
        Ok(())
    }

    proptest! {
        /// State machine over random clock advances and attempts. After every step the bound
        /// holds over all windows of the history: sends only ever get appended, so checking
        /// every window that ends at each new send covers every window of the history at each
        /// step (the audit's one-pass bound checkers, the ones `oms audit` runs).
        #[test]
        fn throttle_never_breaks_its_bound_and_next_available_is_exact(
            sliding_mode in any::<bool>(),
            rate in 1..=1000u32,
            burst in 1..=50u32,
            ops in prop::collection::vec(op(), 1..150),
        ) {
            let mode = if sliding_mode { ThrottleMode::SlidingWindow } else { ThrottleMode::TokenBucket };
            let mut th = throttle(mode, rate, burst);
            let mut now = 0u64;
            th.logon(now);
            let mut bound = Bound::new(mode, rate, burst);
            for op in ops {
                match op {
                    Op::Advance(d) => now += d,
                    Op::Acquire(n) => {
                        for _ in 0..n {
                            attempt(&mut th, now, &mut bound)?;
                        }
                    }
                    Op::JumpToNext => {
                        now = th.next_available_ns(now);
                        attempt(&mut th, now, &mut bound)?;
                    }
                    Op::JumpJustBefore => {
                        now = th.next_available_ns(now).saturating_sub(1).max(now);
                        attempt(&mut th, now, &mut bound)?;
                    }
                    Op::Logon => {
                        let before = th.next_available_ns(now);
                        th.logon(now);
                        bound.logon();
                        if mode == ThrottleMode::TokenBucket {
                            prop_assert_eq!(th.next_available_ns(now), now);
                        } else {
                            prop_assert_eq!(th.next_available_ns(now), before, "the history survives a logon");
                        }
                    }
                }
            }
        }
    }
}
