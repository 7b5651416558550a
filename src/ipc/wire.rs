//! The control socket's few messages: the client's hello, the listener's answer with the ring
//! and the engine's eventfd as `SCM_RIGHTS`, and the peer's credentials.
//!
//! ```text
//! hello  (client → listener, 16 bytes): magic "OMSH", version, wanted producer (u32::MAX: any), pid
//! answer (listener → client, 16 bytes): magic "OMSA", status, producer, ring capacity
//!        with status 0 (attached): two descriptors, the ring's memfd and the engine's eventfd
//! ```
//!
//! After the answer nothing more is said: the socket stays open for the client's life, and its
//! end (the client's exit, even by `kill -9`, or the engine's) is how each side learns of the
//! other's.

use std::io;
use std::mem::size_of;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};

/// Hello's first word.
pub const HELLO: u32 = u32::from_le_bytes(*b"OMSH");
/// Answer's first word.
pub const ANSWER: u32 = u32::from_le_bytes(*b"OMSA");
/// A hello's wanted producer when any will do.
pub const ANY: u32 = u32::MAX;

/// Why the listener turned a client away (an answer's status), or 0.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u32)]
pub enum Status {
    /// Attached: the descriptors follow.
    Attached = 0,
    /// Every client slot is taken (`max_clients`).
    Full = 1,
    /// Another version of the protocol.
    Version = 2,
    /// The producer number asked for is taken or not a client's.
    ProducerTaken = 3,
    /// The hello was not one.
    BadHello = 4,
    /// The engine could not make the ring (out of memory or descriptors).
    Failed = 5,
}

impl Status {
    /// From the wire (`None`: not a status).
    pub fn from_u32(v: u32) -> Option<Status> {
        [
            Status::Attached,
            Status::Full,
            Status::Version,
            Status::ProducerTaken,
            Status::BadHello,
            Status::Failed,
        ]
        .into_iter()
        .find(|s| *s as u32 == v)
    }
}

/// Four `u32`s as 16 bytes.
pub fn words(w: [u32; 4]) -> [u8; 16] {
    let mut b = [0u8; 16];
    for (i, x) in w.iter().enumerate() {
        b[4 * i..4 * i + 4].copy_from_slice(&x.to_le_bytes());
    }
    b
}

/// 16 bytes as four `u32`s.
pub fn unwords(b: &[u8; 16]) -> [u32; 4] {
    std::array::from_fn(|i| u32::from_le_bytes([b[4 * i], b[4 * i + 1], b[4 * i + 2], b[4 * i + 3]]))
}

/// Space for two descriptors' control message.
const CMSG_BYTES: usize = 64;

/// Control-message buffer, aligned for `cmsghdr`.
#[repr(C, align(8))]
struct Cmsg([u8; CMSG_BYTES]);

/// Sends `bytes` with `fds` attached (`SCM_RIGHTS`) on socket `sock`, in one `sendmsg`.
pub fn send_with_fds(sock: RawFd, bytes: &[u8; 16], fds: &[RawFd]) -> io::Result<()> {
    let mut iov = libc::iovec { iov_base: bytes.as_ptr() as *mut libc::c_void, iov_len: bytes.len() };
    let mut cmsg = Cmsg([0; CMSG_BYTES]);
    let fd_bytes = std::mem::size_of_val(fds) as u32;
    // SAFETY: a zeroed msghdr is a valid one (no name, no control yet).
    let mut msg: libc::msghdr = unsafe { std::mem::zeroed() };
    msg.msg_iov = &mut iov;
    msg.msg_iovlen = 1;
    if !fds.is_empty() {
        // SAFETY: CMSG_SPACE is arithmetic.
        let space = unsafe { libc::CMSG_SPACE(fd_bytes) } as usize;
        assert!(space <= CMSG_BYTES);
        msg.msg_control = cmsg.0.as_mut_ptr().cast();
        msg.msg_controllen = space as _;
        // SAFETY: `msg` points at `cmsg`, `space` bytes, aligned and large enough for one
        // header and `fds` (asserted): CMSG_FIRSTHDR is that buffer's start, CMSG_DATA within it.
        unsafe {
            let hdr = libc::CMSG_FIRSTHDR(&msg);
            (*hdr).cmsg_level = libc::SOL_SOCKET;
            (*hdr).cmsg_type = libc::SCM_RIGHTS;
            (*hdr).cmsg_len = libc::CMSG_LEN(fd_bytes) as _;
            std::ptr::copy_nonoverlapping(fds.as_ptr().cast::<u8>(), libc::CMSG_DATA(hdr), fd_bytes as usize);
        }
    }
    // SAFETY: `msg` and what it points at (`iov` → `bytes`, `cmsg`) live across the call.
    let n = unsafe { libc::sendmsg(sock, &msg, libc::MSG_NOSIGNAL) };
    match n {
        16 => Ok(()),
        n if n < 0 => Err(io::Error::last_os_error()),
        _ => Err(io::Error::new(io::ErrorKind::WriteZero, "short send")),
    }
}

/// Receives 16 bytes and up to two descriptors (`SCM_RIGHTS`) from socket `sock` in one
/// `recvmsg` (blocking, as the socket is). Descriptors come close-on-exec.
pub fn recv_with_fds(sock: RawFd) -> io::Result<([u8; 16], Vec<OwnedFd>)> {
    let mut bytes = [0u8; 16];
    let mut iov = libc::iovec { iov_base: bytes.as_mut_ptr().cast(), iov_len: bytes.len() };
    let mut cmsg = Cmsg([0; CMSG_BYTES]);
    // SAFETY: a zeroed msghdr is a valid one.
    let mut msg: libc::msghdr = unsafe { std::mem::zeroed() };
    msg.msg_iov = &mut iov;
    msg.msg_iovlen = 1;
    msg.msg_control = cmsg.0.as_mut_ptr().cast();
    msg.msg_controllen = CMSG_BYTES as _;
    // SAFETY: `msg` and its buffers live across the call; the kernel writes within their lengths.
    let n = unsafe { libc::recvmsg(sock, &mut msg, libc::MSG_CMSG_CLOEXEC) };
    if n < 0 {
        return Err(io::Error::last_os_error());
    }
    let mut fds = Vec::new();
    // SAFETY: the kernel filled `msg_controllen` bytes of `cmsg` with well-formed headers;
    // CMSG_FIRSTHDR / CMSG_NXTHDR walk them within that length, and each SCM_RIGHTS payload
    // holds `(cmsg_len - CMSG_LEN(0)) / 4` descriptors that are now this process's.
    unsafe {
        let mut hdr = libc::CMSG_FIRSTHDR(&msg);
        while !hdr.is_null() {
            if (*hdr).cmsg_level == libc::SOL_SOCKET && (*hdr).cmsg_type == libc::SCM_RIGHTS {
                let len = (*hdr).cmsg_len as usize - libc::CMSG_LEN(0) as usize;
                let data = libc::CMSG_DATA(hdr);
                for i in 0..len / size_of::<RawFd>() {
                    let fd = std::ptr::read_unaligned(data.add(i * size_of::<RawFd>()).cast::<RawFd>());
                    fds.push(OwnedFd::from_raw_fd(fd));
                }
            }
            hdr = libc::CMSG_NXTHDR(&msg, hdr);
        }
    }
    if n != 16 {
        return Err(io::Error::new(
            io::ErrorKind::UnexpectedEof,
            "the other side closed or sent a short message",
        ));
    }
    Ok((bytes, fds))
}

/// The user id, group id and process id of the process at the other end of `sock`
/// (`SO_PEERCRED`: as it was when it connected).
pub fn peer(sock: &impl AsRawFd) -> io::Result<(u32, u32, u32)> {
    let mut cred = libc::ucred { pid: 0, uid: 0, gid: 0 };
    let mut len = size_of::<libc::ucred>() as libc::socklen_t;
    // SAFETY: `cred` and `len` live across the call and `len` is `cred`'s size.
    let rc = unsafe {
        libc::getsockopt(
            sock.as_raw_fd(),
            libc::SOL_SOCKET,
            libc::SO_PEERCRED,
            (&raw mut cred).cast(),
            &mut len,
        )
    };
    if rc != 0 {
        return Err(io::Error::last_os_error());
    }
    Ok((cred.uid, cred.gid, cred.pid as u32))
}

/// This process's effective user id.
pub fn euid() -> u32 {
    // SAFETY: a plain system call that cannot fail.
    unsafe { libc::geteuid() }
}
