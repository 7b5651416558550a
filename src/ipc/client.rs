//! [`Client`]: a producer in another process, attached to a running engine through DIR.

use std::io::Write;
use std::os::fd::{AsRawFd, OwnedFd};
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering, fence};
use std::thread::JoinHandle;
use std::time::Duration;

use super::shm::{SharedRing, encode};
use super::wire::{self, ANSWER, ANY, HELLO, Status};
use super::{IpcError, JOURNAL_LINK, SOCKET};
use crate::model::{OrderRequest, RequestType};
use crate::ring::Backpressure;

/// Why [`Client::on_data`] did not take a request; the request is handed back in either case.
#[derive(Clone, Copy, Debug, PartialEq, thiserror::Error)]
pub enum SendError {
    /// The ring is full: retry later or shed load (as an in-process producer's
    /// [`Backpressure`]).
    #[error("{0}")]
    Full(Backpressure),
    /// The engine is gone (its process ended, or it let this client go): nothing more will be
    /// taken. Connect again (to a restarted `oms run`).
    #[error("the engine is gone: {:?} for order {} not accepted", .0.request, .0.order.order_id)]
    Disconnected(Backpressure),
}

impl SendError {
    /// The request handed back.
    pub fn into_inner(self) -> Backpressure {
        match self {
            SendError::Full(b) | SendError::Disconnected(b) => b,
        }
    }
}

/// A producer in another process: [`on_data`](Client::on_data) as an in-process
/// [`Producer`](crate::Producer)'s, into a ring in shared memory. `Send`, not `Clone`.
///
/// Made by [`connect`](super::connect). A thread of its own waits on the control socket and
/// marks the client disconnected when the engine's end closes (the engine stopped, crashed, or
/// let this client go); `on_data` reads that mark (one load). Dropping the client closes the
/// socket: the engine takes everything already published, then lets the slot go.
pub struct Client {
    ring: SharedRing,
    head: u64,
    /// The engine's tail as last read (re-read only when the ring looks full).
    tail: u64,
    capacity: u64,
    producer: u16,
    clock: quanta::Clock,
    /// The engine's eventfd: written when the engine may be asleep.
    bell: OwnedFd,
    gone: Arc<AtomicBool>,
    sock: Arc<UnixStream>,
    watcher: Option<JoinHandle<()>>,
    journal: Option<PathBuf>,
}

impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Client")
            .field("producer", &self.producer)
            .field("head", &self.head)
            .field("capacity", &self.capacity)
            .field("connected", &self.is_connected())
            .finish_non_exhaustive()
    }
}

/// Attaches to the engine listening in `dir` as the first free client producer.
pub fn connect(dir: impl AsRef<Path>) -> Result<Client, IpcError> {
    connect_as(dir, None)
}

/// Attaches as `producer` (a client producer number, free), or the first free one if `None`.
/// Asking for the number a client had before a restart lets it own its orders again (under
/// `on_client_exit = "keep"`) and find them in the journal under the same number.
pub fn connect_as(dir: impl AsRef<Path>, producer: Option<u16>) -> Result<Client, IpcError> {
    let dir = dir.as_ref();
    let path = dir.join(SOCKET);
    let io = |what: &'static str| move |source| IpcError::Io { path: path_of(dir, what), source };
    let sock = UnixStream::connect(&path).map_err(io(SOCKET))?;
    // The handshake is one message each way; an engine that does not answer is not waited on.
    sock.set_read_timeout(Some(Duration::from_secs(10))).map_err(io(SOCKET))?;
    let want = producer.map_or(ANY, u32::from);
    let pid = std::process::id();
    (&sock).write_all(&wire::words([HELLO, super::shm::VERSION, want, pid])).map_err(io(SOCKET))?;
    let (answer, mut fds) = wire::recv_with_fds(sock.as_raw_fd()).map_err(io(SOCKET))?;
    let [magic, status, number, capacity] = wire::unwords(&answer);
    if magic != ANSWER {
        return Err(IpcError::Protocol("the answer is not an oms engine's".into()));
    }
    match Status::from_u32(status) {
        Some(Status::Attached) => {}
        Some(s) => return Err(IpcError::Refused(s)),
        None => return Err(IpcError::Protocol(format!("unknown status {status}"))),
    }
    if fds.len() != 2 {
        return Err(IpcError::Protocol(format!("{} descriptors instead of 2", fds.len())));
    }
    let bell = fds.pop().ok_or_else(|| IpcError::Protocol("no eventfd".into()))?;
    let ring_fd = fds.pop().ok_or_else(|| IpcError::Protocol("no ring".into()))?;
    let ring = SharedRing::open(ring_fd, capacity).map_err(io("ring"))?;
    let producer = u16::try_from(number).map_err(|_| IpcError::Protocol(format!("producer {number}")))?;
    let sock = Arc::new(sock);
    let gone = Arc::new(AtomicBool::new(false));
    let watcher = {
        let (sock, gone) = (sock.clone(), gone.clone());
        std::thread::Builder::new()
            .name("oms-ipc-watch".into())
            .spawn(move || watch(&sock, &gone))
            .map_err(io("watcher thread"))?
    };
    let journal = std::fs::read_link(dir.join(JOURNAL_LINK)).ok();
    Ok(Client {
        head: ring.head(),
        tail: ring.tail(),
        capacity: u64::from(ring.capacity()),
        ring,
        producer,
        clock: quanta::Clock::new(),
        bell,
        gone,
        sock,
        watcher: Some(watcher),
        journal,
    })
}

fn path_of(dir: &Path, what: &str) -> PathBuf {
    dir.join(what)
}

/// Waits until the socket ends (the engine's side closed), then marks the client gone.
fn watch(sock: &UnixStream, gone: &AtomicBool) {
    let mut buf = [0u8; 64];
    loop {
        let mut fd =
            libc::pollfd { fd: sock.as_raw_fd(), events: libc::POLLIN | libc::POLLRDHUP, revents: 0 };
        // SAFETY: one initialized pollfd, alive across the call.
        let rc = unsafe { libc::poll(&mut fd, 1, -1) };
        if rc < 0 {
            if std::io::Error::last_os_error().kind() == std::io::ErrorKind::Interrupted {
                continue;
            }
            break;
        }
        if fd.revents & (libc::POLLHUP | libc::POLLRDHUP | libc::POLLERR) != 0 {
            break;
        }
        // The engine says nothing after the handshake: data is drained, an end is the end.
        // SAFETY: reads at most 64 bytes into `buf`, alive across the call.
        let n =
            unsafe { libc::recv(sock.as_raw_fd(), buf.as_mut_ptr().cast(), buf.len(), libc::MSG_DONTWAIT) };
        if n == 0 || (n < 0 && std::io::Error::last_os_error().kind() != std::io::ErrorKind::WouldBlock) {
            break;
        }
    }
    gone.store(true, Ordering::Release);
}

impl Client {
    /// This client's producer number: the journal's records about its requests carry it
    /// ([`Outcomes::follow`](crate::journal::Outcomes::follow), `oms decode --producer N`).
    pub fn producer(&self) -> u16 {
        self.producer
    }

    /// The journal the engine writes (its base path), when the listener published it.
    pub fn journal(&self) -> Option<&Path> {
        self.journal.as_deref()
    }

    /// Whether the engine still has this client.
    pub fn is_connected(&self) -> bool {
        !self.gone.load(Ordering::Acquire)
    }

    /// Requests published and not yet taken by the engine.
    pub fn pending(&self) -> usize {
        self.head.wrapping_sub(self.ring.tail()).min(self.capacity) as usize
    }

    /// Hands a request to the engine (`onData(OrderRequest&&, RequestType)`), as an in-process
    /// [`Producer::on_data`](crate::Producer::on_data): never blocks, never allocates, no
    /// system call unless the engine sleeps (then one write to its eventfd: the doorbell's
    /// protocol, with the flag in the ring's header). A full ring hands the request back
    /// ([`SendError::Full`]), and so does an engine that is gone ([`SendError::Disconnected`]).
    #[inline]
    pub fn on_data(&mut self, order: OrderRequest, request: RequestType) -> Result<(), SendError> {
        if self.gone.load(Ordering::Relaxed) {
            return Err(SendError::Disconnected(Backpressure { order, request }));
        }
        if self.head.wrapping_sub(self.tail) >= self.capacity {
            self.tail = self.ring.tail();
            if self.head.wrapping_sub(self.tail) >= self.capacity {
                return Err(SendError::Full(Backpressure { order, request }));
            }
        }
        let arrival_raw = self.clock.raw();
        self.ring.write_slot(self.head, &encode(&order, request, arrival_raw));
        self.head += 1;
        self.ring.publish_head(self.head);
        fence(Ordering::SeqCst);
        if self.ring.sleeping() {
            self.wake();
        }
        Ok(())
    }

    #[cold]
    #[inline(never)]
    fn wake(&self) {
        let one: u64 = 1;
        // SAFETY: writes the 8 bytes of `one`, alive across the call, to the engine's eventfd
        // (a full counter, EAGAIN, means a wake-up is pending anyway).
        let _ = unsafe { libc::write(self.bell.as_raw_fd(), (&raw const one).cast(), 8) };
    }

    /// The ring, for tests of a hostile client (writes anywhere in it).
    #[doc(hidden)]
    pub fn ring(&self) -> &SharedRing {
        &self.ring
    }
}

impl Drop for Client {
    fn drop(&mut self) {
        let _ = self.sock.shutdown(std::net::Shutdown::Both);
        if let Some(w) = self.watcher.take() {
            let _ = w.join();
        }
    }
}
