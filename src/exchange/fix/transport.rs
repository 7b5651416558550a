//! The connection: a non-blocking TCP socket (Nagle off), connected without blocking, written
//! from one outbound buffer and read into one fixed receive buffer. Nothing here blocks the
//! calling thread and nothing allocates after start-up.
//!
//! Writes are coalesced by the caller: messages are appended to the outbound buffer during a loop
//! turn and [`Transport::flush`] writes them in one `write` (more only when the kernel takes part
//! of it). What the kernel does not take stays buffered for the next flush.

use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpStream};

use socket2::{Domain, Protocol, Socket, Type};

/// What a poll of the connection found.
#[derive(Debug)]
pub enum Progress {
    /// Nothing new.
    Idle,
    /// The connect completed.
    Connected,
    /// Bytes arrived (in [`Transport::received`]).
    Data,
    /// The connection ended: `None` for an orderly close by the peer, else the error.
    Closed(Option<io::Error>),
}

#[derive(Debug)]
enum Conn {
    None,
    Connecting(Socket),
    Up(TcpStream),
}

/// One TCP connection at a time, and its buffers.
pub struct Transport {
    addr: SocketAddr,
    conn: Conn,
    /// Received bytes not yet consumed: `rx[..rx_len]`.
    rx: Box<[u8]>,
    rx_len: usize,
    /// Bytes of the outbound buffer already written.
    tx_done: usize,
    /// `write` system calls made (including those the kernel answered "would block").
    writes: u64,
}

impl std::fmt::Debug for Transport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Not the buffers: sizes only.
        f.debug_struct("Transport")
            .field("addr", &self.addr)
            .field("conn", &self.conn)
            .field("received", &self.rx_len)
            .field("written_of_buffer", &self.tx_done)
            .field("writes", &self.writes)
            .finish()
    }
}

impl Transport {
    /// A transport to `addr` with a receive buffer of `rx_capacity` bytes (the longest message
    /// it can take).
    pub fn new(addr: SocketAddr, rx_capacity: usize) -> Transport {
        Transport {
            addr,
            conn: Conn::None,
            rx: vec![0; rx_capacity].into_boxed_slice(),
            rx_len: 0,
            tx_done: 0,
            writes: 0,
        }
    }

    /// The counterparty's address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `write` system calls so far.
    pub fn writes(&self) -> u64 {
        self.writes
    }

    /// The socket to wait on while idle, if there is one: writable while a connect is under way
    /// (it completed or failed); once connected, readable (bytes or the peer's close), and
    /// writable too when `unsent` (output the kernel has not taken yet).
    pub fn wait_fd(&self, unsent: bool) -> Option<crate::exchange::WaitFd> {
        use crate::exchange::WaitFd;
        use std::os::fd::AsRawFd;
        match &self.conn {
            Conn::None => None,
            Conn::Connecting(s) => Some(WaitFd { fd: s.as_raw_fd(), readable: false, writable: true }),
            Conn::Up(s) => Some(WaitFd { fd: s.as_raw_fd(), readable: true, writable: unsent }),
        }
    }

    /// Whether a connection is up.
    pub fn is_up(&self) -> bool {
        matches!(self.conn, Conn::Up(_))
    }

    /// Starts a non-blocking connect (a previous connection is closed first).
    pub fn connect(&mut self) -> io::Result<()> {
        self.close();
        let socket = Socket::new(Domain::for_address(self.addr), Type::STREAM, Some(Protocol::TCP))?;
        socket.set_nonblocking(true)?;
        socket.set_tcp_nodelay(true)?;
        match socket.connect(&self.addr.into()) {
            Ok(()) => {}
            Err(e)
                if e.raw_os_error() == Some(libc::EINPROGRESS) || e.kind() == io::ErrorKind::WouldBlock => {}
            Err(e) => return Err(e),
        }
        self.conn = Conn::Connecting(socket);
        Ok(())
    }

    /// Closes the connection (if any) and forgets buffered bytes both ways.
    pub fn close(&mut self) {
        if let Conn::Up(s) = &self.conn {
            let _ = s.shutdown(std::net::Shutdown::Both);
        }
        self.conn = Conn::None;
        self.rx_len = 0;
        self.tx_done = 0;
    }

    /// Checks a pending connect, then reads what arrived (as much as fits).
    pub fn poll(&mut self) -> Progress {
        match &mut self.conn {
            Conn::None => Progress::Idle,
            Conn::Connecting(socket) => match socket.take_error() {
                Ok(Some(e)) | Err(e) => {
                    self.conn = Conn::None;
                    Progress::Closed(Some(e))
                }
                Ok(None) => match socket.peer_addr() {
                    Ok(_) => {
                        let Conn::Connecting(socket) = std::mem::replace(&mut self.conn, Conn::None) else {
                            return Progress::Idle;
                        };
                        self.conn = Conn::Up(socket.into());
                        self.rx_len = 0;
                        self.tx_done = 0;
                        Progress::Connected
                    }
                    Err(e) if e.kind() == io::ErrorKind::NotConnected => Progress::Idle,
                    Err(e) => {
                        self.conn = Conn::None;
                        Progress::Closed(Some(e))
                    }
                },
            },
            Conn::Up(stream) => {
                if self.rx_len == self.rx.len() {
                    // Full: the caller must consume first (a message longer than the buffer is
                    // caught by the decoder).
                    return Progress::Data;
                }
                match stream.read(&mut self.rx[self.rx_len..]) {
                    Ok(0) => {
                        self.close();
                        Progress::Closed(None)
                    }
                    Ok(n) => {
                        self.rx_len += n;
                        Progress::Data
                    }
                    Err(e)
                        if e.kind() == io::ErrorKind::WouldBlock
                            || e.kind() == io::ErrorKind::Interrupted =>
                    {
                        Progress::Idle
                    }
                    Err(e) => {
                        self.close();
                        Progress::Closed(Some(e))
                    }
                }
            }
        }
    }

    /// The bytes received and not yet consumed.
    pub fn received(&self) -> &[u8] {
        &self.rx[..self.rx_len]
    }

    /// Drops the first `n` received bytes (the messages handled).
    pub fn consume(&mut self, n: usize) {
        let n = n.min(self.rx_len);
        self.rx.copy_within(n..self.rx_len, 0);
        self.rx_len -= n;
    }

    /// Writes as much of `out` as the kernel takes; when all of it went, clears `out`. Returns the
    /// error that closed the connection, if one did. Without a connection, nothing is written and
    /// `out` is kept.
    pub fn flush(&mut self, out: &mut Vec<u8>) -> Result<(), io::Error> {
        let Conn::Up(stream) = &mut self.conn else { return Ok(()) };
        while self.tx_done < out.len() {
            self.writes += 1;
            match stream.write(&out[self.tx_done..]) {
                Ok(0) => {
                    self.close();
                    return Err(io::Error::new(
                        io::ErrorKind::WriteZero,
                        "the connection takes no more bytes",
                    ));
                }
                Ok(n) => self.tx_done += n,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => {
                    self.close();
                    return Err(e);
                }
            }
        }
        if self.tx_done == out.len() {
            out.clear();
            self.tx_done = 0;
        } else if self.tx_done > out.capacity() / 2 {
            // Keep room at the end: move the unwritten tail to the front.
            out.drain(..self.tx_done);
            self.tx_done = 0;
        }
        Ok(())
    }
}
