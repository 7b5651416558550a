//! `[engine]`: the engine's tables and rings ([`Capacities`]) and its thread
//! ([`RunnerSettings`]).

use std::num::{NonZeroU64, NonZeroUsize};

use serde::{Deserialize, Serialize};

use super::Problems;
use crate::engine::Capacities;
use crate::runner::{Backoff, IdleStrategy, RunnerSettings, core_id};

/// `[engine]`.
#[derive(Clone, Debug, Deserialize, Serialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct EngineConfig {
    /// CPU core to pin the engine thread to; none = not pinned.
    pub core: Option<usize>,
    /// Capacity of each producer ring and of the response ring.
    pub ring_capacity: usize,
    /// Most orders waiting in the queue; one more is rejected `queue_full`.
    pub max_queued_orders: usize,
    /// Most orders sent and not yet answered; at this many, sending pauses (orders stay queued).
    pub max_in_flight: usize,
    /// Most orders at the exchange (sent, or working until filled, cancelled or expired); at
    /// this many, sending pauses. At least `max_in_flight`.
    pub max_working_orders: usize,
    /// `"spin"`, `"yield"`, `"park"` or `"backoff"` ([`IdleStrategy`]).
    pub idle: String,
    /// Longest sleep of the `park` strategy, µs.
    pub park_max_us: u64,
    /// `backoff`: spin this long after the last work, µs.
    pub spin_us: u64,
    /// `backoff`: then yield this long, µs.
    pub yield_us: u64,
    /// `backoff`: the least the spin and yield budget adapts down to while the gaps between
    /// work are long, µs.
    pub spin_min_us: u64,
    /// `backoff`: then sleep until woken, at most this long at a time, µs.
    pub sleep_max_us: u64,
}

impl Default for EngineConfig {
    fn default() -> Self {
        EngineConfig {
            core: None,
            ring_capacity: 65536,
            max_queued_orders: 1 << 20,
            max_in_flight: 1 << 16,
            max_working_orders: 1 << 16,
            idle: IdleStrategy::Backoff.name().into(),
            park_max_us: 1000,
            spin_us: Backoff::default().spin_us,
            yield_us: Backoff::default().yield_us,
            spin_min_us: Backoff::default().spin_min_us,
            sleep_max_us: Backoff::default().sleep_max_us.get(),
        }
    }
}

/// Largest ring capacity (each producer ring and the response ring are allocated at start-up).
pub const MAX_RING_CAPACITY: usize = 1 << 24;

/// Largest `max_queued_orders + max_working_orders`: 2^26 live orders, several GiB of tables,
/// allocated at start-up. Far above what one exchange session holds, and it keeps a typo in
/// the config an error message rather than an out-of-memory abort.
pub const MAX_LIVE_ORDERS: usize = 1 << 26;

impl EngineConfig {
    pub(super) fn validate(&self, p: &mut Problems) -> (Option<Capacities>, Option<RunnerSettings>) {
        let ring_capacity: Option<NonZeroUsize> = p.non_zero("engine.ring_capacity", self.ring_capacity);
        let max_queued: Option<NonZeroUsize> = p.non_zero("engine.max_queued_orders", self.max_queued_orders);
        let max_in_flight: Option<NonZeroUsize> = p.non_zero("engine.max_in_flight", self.max_in_flight);
        let max_working: Option<NonZeroUsize> =
            p.non_zero("engine.max_working_orders", self.max_working_orders);
        if self.max_working_orders < self.max_in_flight {
            p.push(
                "engine.max_working_orders",
                format!(
                    "{} is below max_in_flight ({}): every order in flight is at the exchange",
                    self.max_working_orders, self.max_in_flight
                ),
            );
        }
        if self.ring_capacity > MAX_RING_CAPACITY {
            p.push("engine.ring_capacity", format!("{} is above {MAX_RING_CAPACITY}", self.ring_capacity));
        }
        if self.max_queued_orders.saturating_add(self.max_working_orders) > MAX_LIVE_ORDERS {
            p.push(
                "engine",
                format!("max_queued_orders + max_working_orders must be at most {MAX_LIVE_ORDERS}"),
            );
        }
        let park_max_us: Option<NonZeroU64> = p.non_zero("engine.park_max_us", self.park_max_us);
        let idle = IdleStrategy::from_name(&self.idle);
        if idle.is_none() {
            p.push(
                "engine.idle",
                format!(
                    "{:?} is not an idle strategy (\"spin\", \"yield\", \"park\" or \"backoff\")",
                    self.idle
                ),
            );
        }
        if let Some(core) = self.core
            && let Err(e) = core_id(core)
        {
            p.push("engine.core", e.to_string());
        }
        let capacities = (|| {
            Some(Capacities {
                ring_capacity: ring_capacity?,
                max_queued_orders: max_queued?,
                max_in_flight: max_in_flight?,
                max_working_orders: max_working?,
            })
        })();
        let sleep_max_us: Option<NonZeroU64> = p.non_zero("engine.sleep_max_us", self.sleep_max_us);
        let (spin_us, yield_us, spin_min_us) = (self.spin_us, self.yield_us, self.spin_min_us);
        let runner = (|| {
            let backoff = Backoff { spin_us, yield_us, spin_min_us, sleep_max_us: sleep_max_us? };
            Some(RunnerSettings { core: self.core, idle: idle?, park_max_us: park_max_us?, backoff })
        })();
        (capacities, runner)
    }
}
