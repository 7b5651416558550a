//! [`Ticker`]: the time the journal's housekeeping and the interval policy go by (retry delays,
//! re-faulting, flush intervals): the OS monotonic clock, or a given `quanta` clock (a mock one
//! in tests). It is not the engine's clock and never stamps a record.

use std::time::{Duration, Instant};

/// Time since the ticker was made.
#[derive(Clone, Debug)]
pub(super) enum Ticker {
    /// The OS monotonic clock (no TSC calibration needed).
    Os(Instant),
    /// A given clock and its reading when the ticker was made.
    Given(quanta::Clock, quanta::Instant),
}

impl Ticker {
    /// A ticker on `clock`, or on the OS clock.
    pub(super) fn new(clock: Option<quanta::Clock>) -> Ticker {
        match clock {
            None => Ticker::Os(Instant::now()),
            Some(c) => {
                let start = c.now();
                Ticker::Given(c, start)
            }
        }
    }

    /// Time since the ticker was made.
    pub(super) fn now(&self) -> Duration {
        match self {
            Ticker::Os(start) => start.elapsed(),
            Ticker::Given(c, start) => c.now().saturating_duration_since(*start),
        }
    }
}
