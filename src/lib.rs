//! # oms — a lock-free, low-latency order management engine
//!
//! Upstream threads hand orders (New / Modify / Cancel) to the OMS through their own SPSC rings;
//! one pinned engine thread forwards them to a single exchange session inside a trading window, at
//! most X orders per second (the rest queued, oldest first), applies Modify/Cancel to orders still
//! queued, matches every exchange response to its order, and records every decision as a 64-byte
//! event in a memory-mapped journal.
//!
//! What a user needs is at the crate root (the types of the README example), in
//! [`exchange`] (the [`Exchange`] trait and the exchanges that come with the crate), in
//! [`journal`] (the memory-mapped writer and the readers), in [`audit`] (the rule checker behind
//! `oms audit`) and in [`replay`]. `README.md` is the tour; `docs/ARCHITECTURE.md` follows an
//! order through the code, file by file.
//!
//! Lints for every target are set in `Cargo.toml` (`[lints]`).

pub mod audit;
#[cfg(feature = "cli")]
pub mod cli;
pub mod clock;
pub mod config;
pub mod doorbell;
pub mod engine;
pub mod exchange;
mod idmap;
pub mod ipc;
pub mod journal;
pub mod lifecycle;
pub mod model;
#[cfg(any(feature = "cli", feature = "fix"))]
mod numfmt;
mod open;
mod queue;
pub mod record;
pub mod recovery;
pub mod replay;
mod ring;
pub mod risk;
pub mod runner;
pub mod sink;
mod slab;
pub mod throttle;
pub mod venue;
pub mod window;

/// The date and time crate of the configuration API ([`TradingWindow::new`] takes its time zone
/// and times of day), re-exported so that a program builds windows with the version `oms` was
/// built with (`oms::jiff::Timestamp::now()`), with no `jiff` dependency of its own to keep in step.
pub use jiff;

pub use clock::EngineClock;
pub use config::{Config, ConfigError, ValidConfig};
pub use engine::{Engine, EngineBuilder, EngineReport, EngineStats};
pub use exchange::Exchange;
pub use model::{
    AnswerKind, EventKind, Logon, Logout, OrderLife, OrderRequest, OrderResponse, OrderState, RejectReason,
    RequestType, ResponseType, Secret, Side,
};
pub use record::{Event, EventRecord};
pub use ring::{Answer, Backpressure, Producer, Responder, ResponseBackpressure};
pub use runner::{EngineHandle, RunError, WaitError};
pub use sink::{EventSink, MemorySink};
pub use window::{Closing, DaySet, TradingWindow, WindowSpan};

/// The README's examples, compiled and run as doc-tests.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
pub struct ReadmeDoctests;
