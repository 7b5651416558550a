//! The domain types, in one dependency-free place every other module may use: orders and the
//! requests that carry them, exchange responses, sides, the session credentials, what the
//! engine decides about them (event kinds and reject reasons), and what an exchange session
//! reports (session events, disconnect causes, reject sources).
//!
//! Nothing here knows about rings, clocks, configuration or the journal.

mod credentials;
mod exchange;
mod order;
mod outcome;

pub use credentials::{Logon, Logout, Secret};
pub use exchange::{DisconnectCause, FixCode, RejectSource, SessionEvent};
pub use order::{OrderRequest, OrderResponse, RequestType, ResponseType, Side};
pub use outcome::{EventKind, RejectReason};
