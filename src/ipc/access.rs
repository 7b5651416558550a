//! Who may attach: the run's own user, and, with `[ipc] group` (`--listen-group`), the members
//! of that group. The directory and the socket say so to the file system (0700 / 0600, or
//! 0750 / 0660 with the group's ownership), and the listener checks each peer anyway
//! (`SO_PEERCRED`: its user and group; `SO_PEERGROUPS`: its supplementary groups).

use std::ffi::CString;
use std::io;
use std::os::fd::AsRawFd;
use std::os::unix::ffi::OsStrExt;
use std::path::Path;

use super::IpcError;

/// `SO_PEERGROUPS` (Linux 4.13; the generic and x86 value, which the `libc` crate does not
/// export for this target).
const SO_PEERGROUPS: libc::c_int = 59;

/// Who may attach besides the run's user.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Access {
    /// The run's effective user.
    pub euid: u32,
    /// The configured group, if any.
    pub gid: Option<u32>,
}

impl Access {
    /// The run's user, and the members of `group` if one is named: refuses a group that does
    /// not exist, or one the run's user is not in (it could not give it the directory).
    pub fn new(group: Option<&str>) -> Result<Access, IpcError> {
        let euid = super::wire::euid();
        let Some(name) = group else { return Ok(Access { euid, gid: None }) };
        let bad = |why: &str| IpcError::Group { group: name.to_string(), why: why.to_string() };
        let gid = group_id(name).map_err(|e| bad(&e.to_string()))?.ok_or_else(|| bad("no such group"))?;
        if euid != 0 && !member(gid).map_err(|e| bad(&e.to_string()))? {
            return Err(bad("this user is not in it"));
        }
        Ok(Access { euid, gid: Some(gid) })
    }

    /// The directory's mode: 0700, or 0750 with a group.
    pub fn dir_mode(&self) -> u32 {
        if self.gid.is_some() { 0o750 } else { 0o700 }
    }

    /// The socket's mode: 0600, or 0660 with a group.
    pub fn socket_mode(&self) -> u32 {
        if self.gid.is_some() { 0o660 } else { 0o600 }
    }

    /// Gives `path` to the group (its owner stays), when there is one.
    pub fn chown(&self, path: &Path) -> io::Result<()> {
        let Some(gid) = self.gid else { return Ok(()) };
        let c = CString::new(path.as_os_str().as_bytes()).map_err(io::Error::other)?;
        // SAFETY: a NUL-terminated path alive across the call; uid -1 leaves the owner.
        if unsafe { libc::chown(c.as_ptr(), u32::MAX, gid) } != 0 {
            return Err(io::Error::last_os_error());
        }
        Ok(())
    }

    /// Whether the peer of `sock` (user `uid`, group `gid` as `SO_PEERCRED` gave them) may attach.
    pub fn admits(&self, sock: &impl AsRawFd, uid: u32, gid: u32) -> bool {
        if uid == self.euid {
            return true;
        }
        let Some(group) = self.gid else { return false };
        gid == group || peer_groups(sock).is_ok_and(|gs| gs.contains(&group))
    }
}

/// The id of group `name`; `None` if there is none.
fn group_id(name: &str) -> io::Result<Option<u32>> {
    let c = CString::new(name).map_err(io::Error::other)?;
    let mut buf = vec![0 as libc::c_char; 16 * 1024];
    loop {
        // SAFETY: `grp` and `out` are written by the call; `buf` is `buf.len()` bytes, alive
        // across it; `c` is NUL-terminated.
        let (rc, out) = unsafe {
            let mut grp: libc::group = std::mem::zeroed();
            let mut out: *mut libc::group = std::ptr::null_mut();
            let rc = libc::getgrnam_r(c.as_ptr(), &mut grp, buf.as_mut_ptr(), buf.len(), &mut out);
            (rc, if out.is_null() { None } else { Some(grp.gr_gid) })
        };
        match rc {
            0 => return Ok(out),
            libc::ERANGE if buf.len() < 1 << 20 => buf.resize(buf.len() * 4, 0),
            e => return Err(io::Error::from_raw_os_error(e)),
        }
    }
}

/// Whether this process is in group `gid` (its effective group or a supplementary one).
fn member(gid: u32) -> io::Result<bool> {
    // SAFETY: a plain system call.
    if unsafe { libc::getegid() } == gid {
        return Ok(true);
    }
    // SAFETY: with size 0, only the count is returned.
    let n = unsafe { libc::getgroups(0, std::ptr::null_mut()) };
    if n < 0 {
        return Err(io::Error::last_os_error());
    }
    let mut groups = vec![0 as libc::gid_t; n as usize + 1];
    // SAFETY: `groups` has room for `groups.len()` ids, alive across the call.
    let n = unsafe { libc::getgroups(groups.len() as libc::c_int, groups.as_mut_ptr()) };
    if n < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(groups[..n as usize].contains(&gid))
}

/// The supplementary groups of the peer of `sock`, as when it connected.
fn peer_groups(sock: &impl AsRawFd) -> io::Result<Vec<u32>> {
    let mut groups = vec![0 as libc::gid_t; 64];
    loop {
        let mut len = (groups.len() * size_of::<libc::gid_t>()) as libc::socklen_t;
        // SAFETY: `groups` has room for `len` bytes and `len` lives across the call.
        let rc = unsafe {
            libc::getsockopt(
                sock.as_raw_fd(),
                libc::SOL_SOCKET,
                SO_PEERGROUPS,
                groups.as_mut_ptr().cast(),
                &mut len,
            )
        };
        let n = len as usize / size_of::<libc::gid_t>();
        if rc == 0 {
            groups.truncate(n);
            return Ok(groups);
        }
        let e = io::Error::last_os_error();
        if e.raw_os_error() == Some(libc::ERANGE) && n > groups.len() && n <= 1 << 16 {
            groups.resize(n, 0);
            continue;
        }
        return Err(e);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_group_that_does_not_exist_is_named_in_the_error() {
        let e = Access::new(Some("no-such-group-for-oms")).expect_err("no such group");
        assert!(
            e.to_string().contains("no-such-group-for-oms") && e.to_string().contains("no such group"),
            "{e}"
        );
        let none = Access::new(None).expect("no group");
        assert_eq!((none.dir_mode(), none.socket_mode()), (0o700, 0o600));
    }
}
