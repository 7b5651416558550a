//! Producers in other processes: shared-memory rings into a running engine.
//!
//! A strategy in another process calls [`connect`]`(DIR)` and gets a [`Client`] whose
//! [`on_data`](Client::on_data) is an in-process [`Producer`](crate::Producer)'s: a request
//! written into an SPSC ring, stamped with the clock, no system call unless the engine sleeps.
//! The engine takes the ring between two loop turns and drains it like its own rings; its
//! records about the client's requests carry the client's producer number, so
//! [`Outcomes::follow`](crate::journal::Outcomes::follow) gives the client its fates from the
//! journal, in any process.
//!
//! ```text
//! client process                       oms run
//!   connect(DIR) ── DIR/oms.sock ──►   listener thread (poll: socket, connections, eventfd)
//!      hello ─────────────────────►      SO_PEERCRED: same user; makes a sealed memfd ring
//!      ◄── answer + SCM_RIGHTS ───       [ring memfd, engine's eventfd]; tells the engine
//!   on_data: slot, head (release),       (control ring + doorbell)        │
//!     fence, sleeping? write eventfd      engine thread, between turns: ◄─┘ takes the ring;
//!                                         each turn: copy each slot out, check, decide
//!   (socket ends: exit, kill -9) ────►  listener: Detach → engine drains, exit policy,
//!                                         journals `client_detached`, hands the ring back
//! ```
//!
//! **Files and users.** DIR is made mode 0700 and the socket 0600, so only the run's user can
//! connect; the listener checks the peer's user (`SO_PEERCRED`) anyway. With a group
//! (`[ipc] group`, `oms run --listen-group`), DIR is 0750 and the socket 0660, both given to
//! that group, and a peer whose group or one of whose supplementary groups is that group is
//! let in too (`access.rs`). The ring is a memfd
//! passed over the socket: no ring file lies in DIR for anyone to open. `DIR/journal` links to
//! the journal, so a client can follow its outcomes.
//!
//! **A client is not trusted** ([`shm`] has the unsafe boundary): every message is copied out
//! of shared memory with atomic loads before it is looked at, every field is checked by the
//! engine's usual rules (a bad price, side or request type is a reject reason), a head that moves
//! back or past the capacity drops the client (`client_detached`, cause `protocol`), the
//! arrival stamp is clamped to the time since the client attached, and the memfd is sealed so
//! it cannot be shrunk under the engine. A client may modify or cancel only its own orders
//! (rejected `not_owner`).
//!
//! **Order ids are one space, shared with every producer**, and a New whose id is live (queued
//! or at the exchange) is `duplicate_order_id`, whoever owns it: the id is the one the
//! exchange sees (ClOrdID), the journal records and the audit follows, and the one a client
//! looks up in its outcomes. Scoping ids per client would mean rewriting them on the way to the
//! exchange and back, a journal whose ids are not the clients', and a mapping to rebuild after a
//! restart. Two clients choosing the same id never touch each other's orders: the second New
//! is refused, and a Modify or Cancel of the other's order is refused `not_owner`. Give each
//! strategy its own id range (e.g. its producer number in the top bits).
//!
//! **Producer numbers** are reserved when the engine is built (`max_clients` of them, after the
//! in-process producers): a client gets the first free one, or the one it asks for
//! ([`connect_as`]: a restarted strategy takes its number back, and with it, under
//! `on_client_exit = "keep"`, its orders).

mod access;
mod client;
mod inputs;
mod listener;
pub mod shm;
mod wire;

use std::os::fd::{FromRawFd, OwnedFd};
use std::path::PathBuf;

pub use crate::model::DetachCause;
pub use client::{Client, SendError, connect, connect_as};
pub(crate) use inputs::client_inputs;
pub use inputs::{ClientInputs, ClientPort, Drained, ExitPolicy, Freed, IpcSettings, MAX_CLIENTS, ToEngine};
pub use listener::Listener;
pub use wire::Status;

/// The control socket's name in DIR.
pub const SOCKET: &str = "oms.sock";
/// The link to the journal in DIR.
pub const JOURNAL_LINK: &str = "journal";

/// Why attaching, or listening, failed.
#[derive(Debug, thiserror::Error)]
pub enum IpcError {
    /// A system call on a file failed.
    #[error("{}: {source}", path.display())]
    Io {
        /// The file (the socket, DIR, the ring).
        path: PathBuf,
        /// The OS error.
        #[source]
        source: std::io::Error,
    },
    /// The engine turned the client away.
    #[error("the engine refused the client: {}", match .0 {
        Status::Full => "every client slot is taken (max_clients)",
        Status::Version => "another version of the protocol",
        Status::ProducerTaken => "that producer number is taken or not a client's",
        Status::BadHello => "a bad hello",
        Status::Failed => "it could not make the ring",
        Status::Attached => "attached",
    })]
    Refused(Status),
    /// The other side does not speak the protocol.
    #[error("not an oms engine's answer: {0}")]
    Protocol(String),
    /// DIR belongs to another user.
    #[error("{}: owned by user {uid}, not this one", path.display())]
    NotOwner {
        /// DIR.
        path: PathBuf,
        /// Its owner.
        uid: u32,
    },
    /// The configured group cannot be used.
    #[error("group {group:?}: {why}")]
    Group {
        /// Its name.
        group: String,
        /// Why not (it does not exist, this user is not in it).
        why: String,
    },
    /// Another run listens on the socket.
    #[error("{}: another oms run is listening there", path.display())]
    InUse {
        /// The socket.
        path: PathBuf,
    },
}

/// A new non-blocking, close-on-exec eventfd.
/// The id of `group` (none: `None`), refusing a group that does not exist or that the run's
/// user is not in, as the listener does: `oms run` gives the journal's segments to it.
#[cfg(feature = "cli")]
pub(crate) fn group_id(group: Option<&str>) -> Result<Option<u32>, IpcError> {
    Ok(access::Access::new(group)?.gid)
}

pub(crate) fn eventfd() -> std::io::Result<OwnedFd> {
    // SAFETY: a plain system call; no memory is passed.
    let raw = unsafe { libc::eventfd(0, libc::EFD_NONBLOCK | libc::EFD_CLOEXEC) };
    if raw < 0 {
        return Err(std::io::Error::last_os_error());
    }
    // SAFETY: `raw` is a new descriptor nothing else owns.
    Ok(unsafe { OwnedFd::from_raw_fd(raw) })
}
