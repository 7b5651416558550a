//! `[throttle]`: the rate limit, checked into [`ThrottleSettings`].

use std::num::NonZeroU32;

use serde::{Deserialize, Serialize};

use super::Problems;
use crate::throttle::{ThrottleMode, ThrottleSettings};

/// `[throttle]`.
#[derive(Clone, Debug, Deserialize, Serialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct ThrottleConfig {
    /// X: orders per second the exchange accepts.
    pub max_orders_per_sec: u32,
    /// `"token-bucket"` or `"sliding-window"` ([`ThrottleMode`]).
    pub mode: String,
    /// Token-bucket capacity; default = `max_orders_per_sec`. Ignored in sliding-window mode.
    pub burst: Option<u32>,
}

impl Default for ThrottleConfig {
    fn default() -> Self {
        ThrottleConfig { max_orders_per_sec: 100, mode: ThrottleMode::TokenBucket.name().into(), burst: None }
    }
}

/// Largest `max_orders_per_sec` in sliding-window mode (its history ring holds X send times).
pub const MAX_SLIDING_WINDOW_RATE: u32 = 10_000_000;

impl ThrottleConfig {
    pub(super) fn validate(&self, p: &mut Problems) -> Option<ThrottleSettings> {
        let mode = ThrottleMode::from_name(&self.mode);
        if mode.is_none() {
            p.push(
                "throttle.mode",
                format!("{:?} is not a mode (\"token-bucket\" or \"sliding-window\")", self.mode),
            );
        }
        let rate: Option<NonZeroU32> = p.non_zero("throttle.max_orders_per_sec", self.max_orders_per_sec);
        if mode == Some(ThrottleMode::SlidingWindow) && self.max_orders_per_sec > MAX_SLIDING_WINDOW_RATE {
            p.push(
                "throttle.max_orders_per_sec",
                format!(
                    "{} is above {MAX_SLIDING_WINDOW_RATE}, the most the sliding-window mode supports (it \
                     keeps the last X send times: 8 bytes each)",
                    self.max_orders_per_sec
                ),
            );
        }
        let burst = match self.burst {
            Some(b) => p.non_zero("throttle.burst", b),
            None => rate,
        };
        Some(ThrottleSettings { mode: mode?, rate: rate?, burst: burst? })
    }
}
