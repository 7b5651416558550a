//! [`Listener`]: the thread of `oms run --listen DIR` that lets clients attach and notices
//! them go.
//!
//! It sleeps in `poll(2)` on the control socket, an eventfd the engine writes when it hands a
//! ring back, and each client's connection. An accepted connection is checked (`SO_PEERCRED`:
//! the run's own user only), its hello read, a ring made (a sealed memfd, mapped here) and sent
//! with the engine's eventfd (`SCM_RIGHTS`); the engine is told through its control ring and its
//! doorbell. When a connection ends — the client exits, closes, or is killed, `kill -9` too: the
//! kernel closes its descriptors — the engine is told at once, takes everything the client
//! published, applies the exit policy and hands the ring back, and only then is the slot free
//! for another client. So a client's death is noticed within the time of one wake-up, far
//! inside a second.

use std::io::{self, Read};
use std::os::fd::{AsRawFd, OwnedFd};
use std::os::unix::fs::{DirBuilderExt, MetadataExt, PermissionsExt};
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;

use super::access::Access;
use super::inputs::{ClientPort, ToEngine};
use super::shm::{SharedRing, VERSION};
use super::wire::{self, ANSWER, ANY, HELLO, Status};
use super::{IpcError, JOURNAL_LINK, SOCKET};

/// The listening thread. [`Listener::stop`] (or drop) closes every connection and removes the
/// socket.
#[derive(Debug)]
pub struct Listener {
    stop: Arc<AtomicBool>,
    wake: Arc<OwnedFd>,
    thread: Option<JoinHandle<()>>,
    socket: PathBuf,
}

/// Creates `dir` (mode 0700, or 0750 with a group) if needed; refuses one owned by another
/// user, and makes an existing one that mode (and the group's).
fn private_dir(dir: &Path, access: &Access) -> Result<(), IpcError> {
    let io = |source| IpcError::Io { path: dir.to_path_buf(), source };
    let mode = access.dir_mode();
    if !dir.exists() {
        std::fs::DirBuilder::new().recursive(true).mode(mode).create(dir).map_err(io)?;
    }
    let meta = std::fs::metadata(dir).map_err(io)?;
    if !meta.is_dir() {
        return Err(io(io::Error::other("not a directory")));
    }
    if meta.uid() != wire::euid() {
        return Err(IpcError::NotOwner { path: dir.to_path_buf(), uid: meta.uid() });
    }
    access.chown(dir).map_err(io)?;
    if meta.mode() & 0o777 != mode {
        std::fs::set_permissions(dir, std::fs::Permissions::from_mode(mode)).map_err(io)?;
    }
    Ok(())
}

impl Listener {
    /// Listens in `dir` (created mode 0700; the socket `dir/oms.sock`, mode 0600; with the
    /// port's `group`, 0750 and 0660, given to that group) for clients of the engine whose
    /// `port` this is, telling them where the journal is (`journal`, a link `dir/journal`). A
    /// socket left by a run that died is replaced; one a live run listens on is an error; a
    /// group that does not exist, or that this user is not in, is an error naming it.
    pub fn start(dir: &Path, port: ClientPort, journal: Option<&Path>) -> Result<Listener, IpcError> {
        let access = Access::new(port.settings.group.as_deref())?;
        private_dir(dir, &access)?;
        let socket = dir.join(SOCKET);
        let io = |path: &Path| {
            let path = path.to_path_buf();
            move |source| IpcError::Io { path, source }
        };
        if std::fs::symlink_metadata(&socket).is_ok() {
            if UnixStream::connect(&socket).is_ok() {
                return Err(IpcError::InUse { path: socket });
            }
            std::fs::remove_file(&socket).map_err(io(&socket))?;
        }
        let listener = UnixListener::bind(&socket).map_err(io(&socket))?;
        access.chown(&socket).map_err(io(&socket))?;
        std::fs::set_permissions(&socket, std::fs::Permissions::from_mode(access.socket_mode()))
            .map_err(io(&socket))?;
        listener.set_nonblocking(true).map_err(io(&socket))?;
        let link = dir.join(JOURNAL_LINK);
        let _ = std::fs::remove_file(&link);
        if let Some(journal) = journal {
            let absolute = std::path::absolute(journal).map_err(io(journal))?;
            std::os::unix::fs::symlink(absolute, &link).map_err(io(&link))?;
        }
        let wake = port.wake.clone();
        let stop = Arc::new(AtomicBool::new(false));
        let bell_fd = match port.bell.try_clone_fd() {
            Some(fd) => fd,
            // No eventfd in the engine's doorbell: it naps instead, and a client's writes go
            // to one nobody reads.
            None => super::eventfd().map_err(io(dir))?,
        };
        let mut state = State {
            listener,
            port,
            bell_fd,
            conns: Vec::new(),
            slots: Vec::new(),
            access,
            stop: stop.clone(),
        };
        state.slots =
            (0..state.port.settings.max_clients).map(|_| SlotState::Free { generation: 0 }).collect();
        let thread = std::thread::Builder::new()
            .name("oms-ipc-listen".into())
            .spawn(move || state.run())
            .map_err(io(dir))?;
        Ok(Listener { stop, wake, thread: Some(thread), socket })
    }

    /// The control socket's path.
    pub fn socket(&self) -> &Path {
        &self.socket
    }

    /// Whether the thread still runs.
    pub fn is_running(&self) -> bool {
        self.thread.as_ref().is_some_and(|t| !t.is_finished())
    }

    /// Stops the thread: every connection closed (its client sees the engine gone), the socket
    /// removed.
    pub fn stop(mut self) {
        self.halt();
    }

    fn halt(&mut self) {
        self.stop.store(true, Ordering::Release);
        let one: u64 = 1;
        // SAFETY: writes 8 bytes from `one`, alive across the call, to an eventfd this owns.
        let _ = unsafe { libc::write(self.wake.as_raw_fd(), (&raw const one).cast(), 8) };
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
        let _ = std::fs::remove_file(&self.socket);
    }
}

impl Drop for Listener {
    fn drop(&mut self) {
        self.halt();
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum SlotState {
    /// Free; the last generation it had.
    Free { generation: u64 },
    /// The engine holds (or is about to hold) its ring of this generation.
    Busy { generation: u64 },
}

enum ConnState {
    /// Accepted; its hello awaited.
    Hello,
    /// Attached to this slot and generation.
    Attached { slot: u16, generation: u64 },
}

struct Conn {
    stream: UnixStream,
    state: ConnState,
    pid: u32,
}

struct State {
    listener: UnixListener,
    port: ClientPort,
    bell_fd: OwnedFd,
    conns: Vec<Conn>,
    slots: Vec<SlotState>,
    access: Access,
    stop: Arc<AtomicBool>,
}

impl State {
    fn run(&mut self) {
        let mut fds: Vec<libc::pollfd> = Vec::new();
        while !self.stop.load(Ordering::Acquire) {
            self.take_freed();
            fds.clear();
            let pollin = |fd: i32| libc::pollfd { fd, events: libc::POLLIN, revents: 0 };
            fds.push(pollin(self.listener.as_raw_fd()));
            fds.push(pollin(self.port.wake.as_raw_fd()));
            fds.extend(self.conns.iter().map(|c| pollin(c.stream.as_raw_fd())));
            // SAFETY: `fds` holds `fds.len()` initialized entries, alive across the call. The
            // timeout only bounds how long a stop could go unseen were the wake-up lost.
            let rc = unsafe { libc::poll(fds.as_mut_ptr(), fds.len() as libc::nfds_t, 1000) };
            if rc <= 0 {
                continue;
            }
            if fds[1].revents != 0 {
                let mut count: u64 = 0;
                // SAFETY: reads at most 8 bytes into `count`, alive across the call.
                let _ = unsafe { libc::read(self.port.wake.as_raw_fd(), (&raw mut count).cast(), 8) };
            }
            // Connections first (their indices are those of this poll), newest last.
            for i in (0..self.conns.len()).rev() {
                if fds[2 + i].revents != 0 {
                    self.readable(i);
                }
            }
            if fds[0].revents != 0 {
                self.accept_all();
            }
        }
        // Stopping: every client sees its socket end.
        self.conns.clear();
    }

    /// Rings the engine let go of: unmapped here, their slots free; a client the engine
    /// dropped has its socket closed.
    fn take_freed(&mut self) {
        while let Ok(freed) = self.port.back.pop() {
            if let Some(s) = self.slots.get_mut(usize::from(freed.slot)) {
                *s = SlotState::Free { generation: freed.generation };
            }
            if freed.dropped {
                self.conns.retain(|c| {
                    !matches!(c.state, ConnState::Attached { slot, generation } if slot == freed.slot && generation == freed.generation)
                });
            }
        }
    }

    fn accept_all(&mut self) {
        loop {
            let stream = match self.listener.accept() {
                Ok((s, _)) => s,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(_) => return,
            };
            // Another user (not of the group) cannot reach the socket (the directory is 0700,
            // or 0750); checked anyway.
            let Ok((uid, gid, pid)) = wire::peer(&stream) else { continue };
            if !self.access.admits(&stream, uid, gid) || stream.set_nonblocking(true).is_err() {
                continue;
            }
            self.conns.push(Conn { stream, state: ConnState::Hello, pid });
        }
    }

    fn readable(&mut self, i: usize) {
        let mut buf = [0u8; 16];
        let n = (&self.conns[i].stream).read(&mut buf);
        match (&self.conns[i].state, n) {
            (_, Err(e))
                if e.kind() == io::ErrorKind::WouldBlock || e.kind() == io::ErrorKind::Interrupted => {}
            (ConnState::Hello, Ok(16)) => self.hello(i, &buf),
            (ConnState::Hello, _) => {
                self.conns.swap_remove(i);
            }
            // Nothing is said after the hello: data is dropped; an end is the client's end.
            (ConnState::Attached { .. }, Ok(n)) if n > 0 => {}
            (&ConnState::Attached { slot, generation }, _) => {
                self.conns.swap_remove(i);
                self.tell_engine(ToEngine::Detach { slot, generation });
            }
        }
    }

    fn answer(&self, i: usize, status: Status, producer: u32, capacity: u32, fds: &[i32]) -> bool {
        let bytes = wire::words([ANSWER, status as u32, producer, capacity]);
        wire::send_with_fds(self.conns[i].stream.as_raw_fd(), &bytes, fds).is_ok()
    }

    fn hello(&mut self, i: usize, buf: &[u8; 16]) {
        let [magic, version, want, _pid] = wire::unwords(buf);
        let refuse = |s: &mut State, status| {
            s.answer(i, status, 0, 0, &[]);
            s.conns.swap_remove(i);
        };
        if magic != HELLO {
            return refuse(self, Status::BadHello);
        }
        if version != VERSION {
            return refuse(self, Status::Version);
        }
        let first = u32::from(self.port.first);
        let free = |s: &SlotState| matches!(s, SlotState::Free { .. });
        let slot = if want == ANY {
            self.slots.iter().position(free)
        } else {
            want.checked_sub(first).map(|s| s as usize).filter(|s| self.slots.get(*s).is_some_and(free))
        };
        let Some(slot) = slot else {
            return refuse(self, if want == ANY { Status::Full } else { Status::ProducerTaken });
        };
        let SlotState::Free { generation } = self.slots[slot] else { return };
        let generation = generation + 1;
        let producer = self.port.first + slot as u16;
        let capacity = self.port.settings.ring_capacity;
        let Ok((ring, fd)) = SharedRing::create(capacity, producer) else {
            return refuse(self, Status::Failed);
        };
        if !self.answer(
            i,
            Status::Attached,
            u32::from(producer),
            capacity,
            &[fd.as_raw_fd(), self.bell_fd.as_raw_fd()],
        ) {
            self.conns.swap_remove(i);
            return;
        }
        drop(fd);
        self.slots[slot] = SlotState::Busy { generation };
        let pid = self.conns[i].pid;
        self.conns[i].state = ConnState::Attached { slot: slot as u16, generation };
        self.tell_engine(ToEngine::Attach { slot: slot as u16, generation, ring, pid });
    }

    /// Hands `msg` to the engine and rings its doorbell. The ring has room for two messages
    /// per slot, and a slot has at most an attach and a detach in flight.
    fn tell_engine(&mut self, msg: ToEngine) {
        if self.port.control.push(msg).is_err() {
            debug_assert!(false, "the control ring is sized for every slot");
        }
        self.port.bell.ring();
    }
}
