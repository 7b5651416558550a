//! A FIX 4.4 initiator session as an [`Exchange`]: orders go out as NewOrderSingle (D), cancels
//! of working orders as OrderCancelRequest (F), replaces as OrderCancelReplaceRequest (G); what
//! the counterparty says about an order comes back through the [`Responder`] as an
//! [`Answer`](crate::ring::Answer).
//!
//! The pieces, each in its own file: [`encode`] and [`decode`](mod@decode) (the codec: BodyLength,
//! CheckSum, fields), [`session`] (the session rules as pure logic on passed-in time), [`store`]
//! (sequence numbers across restarts, QuickFIX FileStore layout), [`transport`] (non-blocking
//! TCP, one write per loop turn), [`orders`] (the orders at the exchange: which await their first
//! answer, and each one's ClOrdID chain).
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
//! **ClOrdIDs.** A New carries ClOrdID `<order id>`; the n-th cancel or replace of the order
//! carries `<order id>.<n>`, with OrigClOrdID (41) the order's live ClOrdID (the New's until a
//! replace is carried out, then that replace's). Every answer names its order by the digits
//! before the dot of its ClOrdID (or OrigClOrdID). The chain goes on across a restart from what
//! the journal counts ([`Exchange::restore`]); a request for an order the session does not
//! follow is not sent rather than guessed ([`orders`] has the reasoning).
//!
//! **Answers.** An ExecutionReport (8) of an order awaiting its first answer answers it first:
//! `reject` if it is Rejected (ExecType or OrdStatus 8), else `accept`, except Pending New (A),
//! which is not an answer yet. Then, by ExecType: New (0) is nothing more; a trade (F) is a
//! `Fill` (LastQty 32, LastPx 31; one without a whole LastQty is an `execution` record, its
//! quantity unknown); Canceled (4) `Cancelled`; Replaced (5) `Replaced` (its ClOrdID
//! is the live one from then on); Expired (C) and Done for Day (3) `Expired`; Rejected (8) of a
//! request `CancelRejected`. An OrderCancelReject (9) is `CancelRejected` with its CxlRejReason
//! (102, 0 if absent). Pending Cancel (6), Pending Replace (E) and anything else are an
//! [`ExchangeEvent::Execution`] (the journal's `execution` record). A New or Rejected report of an
//! order not known to await its first answer (sent before a restart) is still a first answer:
//! the engine matches it or records it `unmatched_response`, as it records an answer that fits
//! no order's state `unexpected_report`. A report whose ClOrdID is not of this session's form is
//! [`ExchangeEvent::Unhandled`].
//!
//! A session Reject (3) or BusinessMessageReject (j) naming an unanswered order answers it
//! `reject`, and one naming a pending cancel or replace refuses it (`CancelRejected`, code 0);
//! so does a gap fill over them (the counterparty never saw them). Each is an
//! [`ExchangeEvent::OrderRejected`] as well.

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
