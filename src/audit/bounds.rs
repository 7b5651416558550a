//! The two throttle bounds as one-pass checks over send times, O(1) amortized per send.
//!
//! A journal of a busy day holds millions of sends, so checking "every interval" pair by pair
//! (O(n²)) is out of the question. Both checks look at each send once:
//!
//! - **Sliding window** ([`SlidingWindowBound`]): no `[t, t + 1 s)` holds more than `rate`
//!   sends. The busiest such interval ending at a send `t_j` starts at the oldest send later than
//!   `t_j − 1 s`; a queue of the send times of the last second (two pointers: push at the back,
//!   drop from the front what is a full second old) gives its count. Memory: the sends of one
//!   second (at most `rate + 1` while the rule holds).
//! - **Token bucket** ([`TokenBucketBound`]): for any sends `i <= j` of one session,
//!   `j − i + 1 <= burst + floor(rate · (t_j − t_i) / 1e9)`. With `v_k = k·1e9 − rate·t_k`
//!   (`k` the send's index in the session) that is `v_j − v_i <= (burst − 1)·1e9`, so only the
//!   smallest `v_i` so far matters: a running minimum. Exact in `i128` (`rate · t` is at most
//!   `2^32 · 2^63`).
//!
//! Each returns the worst interval ending at the send that breaks the bound (the first such
//! send in the journal), as an [`Excess`].

use std::collections::VecDeque;

const NS_PER_SEC: i64 = 1_000_000_000;

/// An interval holding more sends than the bound allows.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Excess {
    /// Sends in the interval.
    pub count: u64,
    /// Time of its first send, ns.
    pub first_ns: i64,
    /// From its first to its last send, ns.
    pub span_ns: i64,
    /// Most sends the bound allows in such an interval.
    pub allowed: u64,
}

/// At most `rate` sends in any `[t, t + 1 s)`, across sessions.
#[derive(Clone, Debug)]
pub(crate) struct SlidingWindowBound {
    rate: u64,
    /// Send times of the last second, oldest first.
    recent: VecDeque<i64>,
}

impl SlidingWindowBound {
    pub(crate) fn new(rate: u64) -> Self {
        SlidingWindowBound { rate, recent: VecDeque::new() }
    }

    /// Adds a send at `t_ns` (non-decreasing); the interval that breaks the bound, if any.
    pub(crate) fn push(&mut self, t_ns: i64) -> Option<Excess> {
        while self.recent.front().is_some_and(|&old| t_ns.saturating_sub(old) >= NS_PER_SEC) {
            self.recent.pop_front();
        }
        self.recent.push_back(t_ns);
        let count = self.recent.len() as u64;
        let first_ns = self.recent.front().copied().unwrap_or(t_ns);
        (count > self.rate).then_some(Excess {
            count,
            first_ns,
            // Saturating: times out of order (a crafted journal) must not overflow.
            span_ns: t_ns.saturating_sub(first_ns),
            allowed: self.rate,
        })
    }
}

/// At most `burst + floor(rate · T / 1 s)` sends in any span `T` of one session.
#[derive(Clone, Debug)]
pub(crate) struct TokenBucketBound {
    rate: i128,
    burst: u64,
    /// `(burst − 1) · 1e9`.
    tolerance: i128,
    /// Index of the next send in the session.
    k: i128,
    /// Smallest `v_i = i·1e9 − rate·t_i` of the session so far, its index and time.
    min: Option<(i128, i128, i64)>,
}

impl TokenBucketBound {
    pub(crate) fn new(rate: u32, burst: u32) -> Self {
        let tolerance = i128::from(burst.saturating_sub(1)) * i128::from(NS_PER_SEC);
        TokenBucketBound { rate: i128::from(rate), burst: u64::from(burst), tolerance, k: 0, min: None }
    }

    /// A new session: the bucket is full again.
    pub(crate) fn reset(&mut self) {
        self.k = 0;
        self.min = None;
    }

    /// Adds a send at `t_ns` (non-decreasing); the interval that breaks the bound, if any.
    pub(crate) fn push(&mut self, t_ns: i64) -> Option<Excess> {
        let v = self.k * i128::from(NS_PER_SEC) - self.rate * i128::from(t_ns);
        let (min_v, min_k, min_t) = match self.min {
            Some(m) if m.0 <= v => m,
            _ => (v, self.k, t_ns),
        };
        self.min = Some((min_v, min_k, min_t));
        let j = self.k;
        self.k += 1;
        (v - min_v > self.tolerance).then(|| {
            let span_ns = t_ns.saturating_sub(min_t);
            let refill = self.rate * i128::from(span_ns) / i128::from(NS_PER_SEC);
            Excess {
                count: u64::try_from(j - min_k + 1).unwrap_or(u64::MAX),
                first_ns: min_t,
                span_ns,
                allowed: self.burst.saturating_add(u64::try_from(refill).unwrap_or(u64::MAX)),
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// Index of the first send at which some interval ending there breaks the sliding-window
    /// bound, by trying every pair.
    fn brute_sliding(times: &[i64], rate: u64) -> Option<usize> {
        (0..times.len())
            .find(|&j| (0..=j).any(|i| times[j] - times[i] < NS_PER_SEC && (j - i + 1) as u64 > rate))
    }

    /// The same for the token bucket; `session[k]` numbers the session of send `k`.
    fn brute_bucket(times: &[i64], session: &[u32], rate: u32, burst: u32) -> Option<usize> {
        (0..times.len()).find(|&j| {
            (0..=j).filter(|&i| session[i] == session[j]).any(|i| {
                let allowed =
                    u128::from(burst) + u128::from(rate) * (times[j] - times[i]) as u128 / NS_PER_SEC as u128;
                (j - i + 1) as u128 > allowed
            })
        })
    }

    /// Sorted send times with ties and clusters: gaps mostly small against a second.
    fn times() -> impl Strategy<Value = Vec<(i64, bool)>> {
        let gap = prop_oneof![3 => Just(0i64), 4 => 0i64..300_000_000, 2 => 0i64..1_500_000_000];
        proptest::collection::vec((gap, proptest::bool::weighted(0.05)), 0..80).prop_map(|gaps| {
            let mut t = 1_764_000_000_000_000_000i64;
            gaps.into_iter()
                .map(|(g, new_session)| {
                    t += g;
                    (t, new_session)
                })
                .collect()
        })
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 2000, ..ProptestConfig::default() })]

        #[test]
        fn sliding_window_matches_brute_force(rate in 1u64..8, sends in times()) {
            let times: Vec<i64> = sends.iter().map(|s| s.0).collect();
            let mut b = SlidingWindowBound::new(rate);
            let first = times.iter().position(|&t| b.push(t).is_some());
            prop_assert_eq!(first, brute_sliding(&times, rate));
            if let Some(j) = first {
                let mut b = SlidingWindowBound::new(rate);
                let e = times[..=j].iter().filter_map(|&t| b.push(t)).last();
                let e = e.expect("the excess at the first violation");
                let n = times[..=j].iter().filter(|&&t| t >= e.first_ns).count() as u64;
                prop_assert!(e.count > rate && e.count == n && e.span_ns < NS_PER_SEC, "{:?}", e);
            }
        }

        #[test]
        fn token_bucket_matches_brute_force(rate in 1u32..8, burst in 1u32..5, sends in times()) {
            let times: Vec<i64> = sends.iter().map(|s| s.0).collect();
            let mut session = Vec::with_capacity(sends.len());
            let mut b = TokenBucketBound::new(rate, burst);
            let mut first = None;
            let mut s = 0u32;
            for (k, &(t, new_session)) in sends.iter().enumerate() {
                if new_session {
                    s += 1;
                    b.reset();
                }
                session.push(s);
                if let Some(e) = b.push(t)
                    && first.is_none()
                {
                    first = Some(k);
                    prop_assert!(e.count > e.allowed, "{:?}", e);
                    let expected = u64::from(burst)
                        + (u128::from(rate) * e.span_ns as u128 / NS_PER_SEC as u128) as u64;
                    prop_assert_eq!(e.allowed, expected);
                    prop_assert_eq!(e.span_ns, t - e.first_ns);
                }
            }
            prop_assert_eq!(first, brute_bucket(&times, &session, rate, burst));
        }
    }

    #[test]
    fn the_extreme_rate_and_times_do_not_overflow() {
        let mut b = TokenBucketBound::new(u32::MAX, u32::MAX);
        assert_eq!(b.push(i64::MAX - 1), None);
        assert_eq!(b.push(i64::MAX), None);
        let mut b = TokenBucketBound::new(1, 1);
        assert_eq!(b.push(i64::MIN), None);
        let e = b.push(i64::MIN).expect("two sends at once break 1/s burst 1");
        assert_eq!((e.count, e.allowed, e.span_ns), (2, 1, 0));
        let mut s = SlidingWindowBound::new(1);
        assert_eq!(s.push(i64::MIN), None);
        assert!(s.push(i64::MIN + NS_PER_SEC - 1).is_some());
        assert_eq!(s.push(i64::MAX), None);
    }
}
