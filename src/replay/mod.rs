//! Replay: the real engine on virtual time, from a scenario file.
//!
//! *"What would this order flow do under this window and throttle?"* — [`parse_scenario`] reads
//! a scenario (one timed event per line, see `docs/scenario-format.md`), and [`replay()`] runs it
//! through the same [`Engine`](crate::Engine) code as live, on a manual clock that jumps from one
//! wake-up to the next, against a [`ScriptedExchange`](crate::exchange::ScriptedExchange). Every
//! decision lands in the [`EventSink`](crate::EventSink) given (a journal for `oms replay`, a
//! [`MemorySink`](crate::MemorySink) in tests), stamped with virtual wall-clock times, so
//! latencies are exact: a response scripted 150 ms after its order's send shows
//! `latency_ns = 150000000`. The same scenario gives the same events, always.
//!
//! # Why the real engine, on a manual clock
//!
//! A simulator written for replay would drift from the engine it models. Here the engine cannot
//! tell replay from live: requests enter through producer rings and are stamped with the clock's
//! reading, timers are deadlines the driver jumps to
//! ([`Engine::next_deadline_ns`](crate::Engine::next_deadline_ns)), and sends happen exactly when
//! the throttle allows. Idle time costs nothing, so a day of virtual time replays in the time its
//! events take: about 2 M scenario events per second end to end (`benches/replay.rs`).
//!
//! # Semantics
//!
//! - At equal times: timers (logon, logout, throttle permits) and due automatic answers run first,
//!   then the scenario's lines, in file order.
//! - Answer lines (`response`, `fill`, `cancelled`, `replaced`, `cancel_rejected`, `expired`)
//!   arrive at their time; with [`AutoResponse`] every message sent is also answered a fixed
//!   delay after its send (an order accepted, rejected or filled; a cancel or replace carried
//!   out).
//! - After the last line, time keeps running while a session is logged on and orders are queued,
//!   cancels wait for a permit, or automatic answers are owed — up to the window end at most (the
//!   logout runs; queued orders and cancels are rejected `session_ended`). Then the engine shuts
//!   down as live: orders still at the exchange are `unanswered` (the queue is empty by then, so
//!   no `shutdown` rejects).
//!
//! ```
//! use oms::replay::{parse_scenario, replay, AutoResponse};
//! use oms::{Config, EventKind, MemorySink};
//!
//! let mut cfg = Config::default();
//! cfg.session.timezone = "UTC".into();
//! let cfg = cfg.validate().unwrap();
//! let scenario = parse_scenario("@0 new id=1 sym=7 side=B px=101.5 qty=10\n").unwrap();
//! let start = oms::replay::parse_start("2026-11-23T10:00:00Z").unwrap();
//! let auto = "150".parse::<AutoResponse>().ok();
//! let report = replay(&cfg, &scenario, start, auto, MemorySink::default()).unwrap();
//! let response = report.sink.events().iter().find(|e| e.kind == EventKind::Response).unwrap();
//! assert_eq!(response.latency_ns, 150_000_000);
//! ```

mod driver;
mod scenario;
mod sink;
mod start;

pub use driver::{AutoResponse, ReplayError, ReplayReport, replay};
pub use scenario::{
    Action, MAX_SCENARIO_PRODUCERS, ScenarioError, ScenarioEvent, Verbs, parse_ms, parse_scenario,
    parse_scenario_line, parse_scenario_line_for,
};
pub use sink::BatchJournal;
pub use start::{default_start_wall_ns, parse_start};
