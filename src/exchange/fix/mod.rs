//! A FIX 4.4 initiator session as an [`Exchange`]: orders go out as NewOrderSingle (D), and
//! each order's first ExecutionReport (8) comes back through the [`Responder`] as its response.
//!
//! The pieces, each in its own file: [`encode`] and [`decode`](mod@decode) (the codec: BodyLength,
//! CheckSum, fields), [`session`] (the session rules as pure logic on passed-in time), [`store`]
//! (sequence numbers across restarts, QuickFIX FileStore layout), [`transport`] (non-blocking
//! TCP, one write per loop turn), [`orders`] (which orders await their first answer).
//!
//! Threading: a `FixExchange` is driven by one thread, the engine's. [`Exchange::send`] encodes
//! into a pre-allocated buffer (no allocation, no system call); [`Exchange::poll`], once per loop
//! turn, writes everything the turn encoded in one `write`, reads what arrived, runs the session
//! timers and hands session events to the caller (the engine records them: see
//! `src/engine/adapter.rs`). Reading on the engine thread was measured against a session thread
//! that blocks in `read` and pushes answers through the responder, and kept: on two cores the
//! extra thread costs more than the engine's one `read` per idle turn (`docs/BENCHMARKS.md`).
//! No maintained Rust FIX crate fits these
//! constraints (hotfix is async, on tokio, and allocates per message), so the codec and session
//! are this crate's own, small, and tested against QuickFIX.
//!
//! After a Logon that continues earlier sequence numbers (a reconnect, a restart from the store),
//! the session is not [ready](Exchange::ready) until a TestRequest round trip shows the
//! counterparty in sync: orders wait in the engine's queue meanwhile, so none is sent into a
//! range the counterparty then asks for again ([`session`] has the reasoning).
//!
//! Responses: an ExecutionReport with ExecType/OrdStatus Rejected (8) answers `reject`, any other
//! (New, or a fill or cancel that skips New) answers `accept`, except Pending New (A), which is
//! not an answer yet. A session Reject (3) or BusinessMessageReject (j) naming an unanswered
//! order answers it `reject`; so does a gap fill over it (the counterparty never saw it). A
//! later report is an [`ExchangeEvent::Execution`].

#[cfg(doc)]
use crate::exchange::{Exchange, ExchangeEvent};
#[cfg(doc)]
use crate::ring::Responder;

// The session's settings are plain data the configuration builds whether or not this build
// has the session itself (the `fix` feature).
pub mod settings;

#[cfg(feature = "fix")]
pub mod decode;
#[cfg(feature = "fix")]
pub mod encode;
#[cfg(feature = "fix")]
mod exchange;
#[cfg(feature = "fix")]
pub mod orders;
#[cfg(feature = "fix")]
pub mod session;
#[cfg(feature = "fix")]
pub mod store;
#[cfg(feature = "fix")]
pub mod tags;
#[cfg(feature = "fix")]
pub mod text;
#[cfg(feature = "fix")]
pub mod transport;

#[cfg(feature = "fix")]
pub use exchange::{ANSWER_TIMEOUT_NS, FixError, FixExchange, FixStats, INBOUND_BYTES, OUTBOUND_BYTES};
pub use settings::FixSettings;
