//! Checking that the unused part of a segment is zeros: in memory, and in a file, skipping the
//! holes the file system reports.

use std::fs::File;
use std::os::fd::AsRawFd;
use std::os::unix::fs::FileExt;

/// Bytes read at a time when checking a file for zeros.
const ZERO_CHUNK: usize = 1 << 20;

/// Offset of the first non-zero byte of `file` in `from..to`, reading it `ZERO_CHUNK` bytes at a
/// time. Ranges the file system reports as holes (`lseek` `SEEK_DATA` / `SEEK_HOLE`) read as
/// zeros and are skipped unread; a file system without them has no holes to report, and the
/// whole range is read. (The buffer is a fresh allocation per file: on the dev VM, reading into
/// a buffer whose pages were written before cost 4 times the kernel time of reading into fresh
/// ones.)
pub(super) fn first_nonzero_in(file: &File, from: u64, to: u64) -> std::io::Result<Option<u64>> {
    let mut buf = Vec::new();
    let mut pos = from;
    while pos < to {
        let Some((data, hole)) = data_extent(file, pos, to)? else { return Ok(None) };
        let mut at = data;
        if buf.is_empty() {
            buf = vec![0u8; ZERO_CHUNK];
        }
        while at < hole {
            let n = ((hole - at) as usize).min(ZERO_CHUNK);
            let got = file.read_at(&mut buf[..n], at)?;
            if got == 0 {
                // The file ended (it is shorter than `to`): nothing more to read.
                return Ok(None);
            }
            if let Some(off) = first_nonzero(&buf[..got]) {
                return Ok(Some(at + off as u64));
            }
            at += got as u64;
        }
        pos = hole;
    }
    Ok(None)
}

/// The next range of `file` at or after `pos` (and before `to`) that may hold data, as the file
/// system reports it; `None` if only holes are left.
fn data_extent(file: &File, pos: u64, to: u64) -> std::io::Result<Option<(u64, u64)>> {
    let fd = file.as_raw_fd();
    let Ok(off) = libc::off_t::try_from(pos) else { return Ok(Some((pos, to))) };
    // SAFETY: plain syscall on a file descriptor we own; no memory is passed.
    let data = unsafe { libc::lseek(fd, off, libc::SEEK_DATA) };
    if data < 0 {
        let e = std::io::Error::last_os_error();
        return match e.raw_os_error() {
            // No data at or after `pos`.
            Some(libc::ENXIO) => Ok(None),
            // No SEEK_DATA here: read it all.
            Some(libc::EINVAL | libc::EOPNOTSUPP) => Ok(Some((pos, to))),
            _ => Err(e),
        };
    }
    let data = (data as u64).max(pos);
    if data >= to {
        return Ok(None);
    }
    // SAFETY: as above.
    let hole = unsafe { libc::lseek(fd, data as libc::off_t, libc::SEEK_HOLE) };
    if hole < 0 {
        return Ok(Some((data, to)));
    }
    Ok(Some((data, (hole as u64).clamp(data + 1, to))))
}

/// Offset of the first non-zero byte.
pub(super) fn first_nonzero(b: &[u8]) -> Option<usize> {
    let mut chunks = b.chunks_exact(64);
    let mut base = 0;
    for c in &mut chunks {
        if c.iter().fold(0u8, |a, &x| a | x) != 0 {
            return c.iter().position(|&x| x != 0).map(|p| base + p);
        }
        base += 64;
    }
    chunks.remainder().iter().position(|&x| x != 0).map(|p| base + p)
}
