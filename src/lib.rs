//! # oms — a lock-free, low-latency order management engine
//!
//! Upstream threads hand orders (New / Modify / Cancel) to the OMS through their own SPSC rings;
//! one pinned engine thread forwards them to a single exchange session inside a trading window, at
//! most X orders per second (the rest queued, oldest first), applies Modify/Cancel to orders still
//! queued, matches every exchange response to its order, and records every decision as a 64-byte
//! event in a memory-mapped journal.
//!
//! See `README.md` for a tour and `docs/ARCHITECTURE.md` for where each rule lives.
#![deny(missing_docs, unsafe_op_in_unsafe_fn)]
#![warn(clippy::undocumented_unsafe_blocks)]

pub mod cli;
pub mod clock;
pub mod config;
pub mod engine;
pub mod event;
pub mod exchange;
pub mod inflight;
pub mod journal;
pub mod order;
pub mod queue;
pub mod replay;
pub mod ring;
pub mod runner;
pub mod session;
pub mod slab;
pub mod throttle;

pub use clock::EngineClock;
pub use config::{Config, ConfigError, ValidConfig};
pub use engine::{Engine, EngineBuilder, EngineReport, EngineStats};
pub use event::{EventKind, EventRecord, EventSink, MemorySink, RejectReason};
pub use exchange::{Exchange, SimulatedExchange};
pub use order::{Logon, Logout, OrderRequest, OrderResponse, RequestType, ResponseType, Secret, Side};
pub use ring::{Backpressure, Producer, Responder};
pub use runner::{EngineHandle, RunError};
pub use session::{TradingWindow, WindowSpan};
pub use throttle::Throttle;

/// The README's examples, compiled and run as doc-tests.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
pub struct ReadmeDoctests;
