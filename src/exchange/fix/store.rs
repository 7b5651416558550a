//! Sequence numbers that survive a restart, in QuickFIX's FileStore layout: in the `store`
//! directory, `FIX.4.4-<Sender>-<Target>.seqnums` holds `SSSSSSSSSS : TTTTTTTTTT` (our next
//! outgoing number, then the next one we expect, ten digits each) and `….session` the session's
//! creation time (`YYYYMMDD-HH:MM:SS`, UTC). A store written by QuickFIX for the same session is
//! read as is, and the other way round.
//!
//! QuickFIX's store also keeps every sent message (`.body`, `.header`) to re-send on request. This
//! session never re-sends (it answers a ResendRequest with a gap fill, see the session module), so
//! it keeps no messages.
//!
//! The numbers change with every message, so the `.seqnums` file is memory-mapped and updated in
//! place: no system call per message, and the page cache keeps the numbers across a crash of the
//! process (not of the machine; QuickFIX's default, an `fflush` without `fsync`, gives the same).

use std::fs::{self, File, OpenOptions};
use std::io;
use std::path::{Path, PathBuf};

use memmap2::MmapMut;

use super::text::{self, TIMESTAMP_BYTES};

/// Bytes of the `.seqnums` file.
const SEQNUMS_LEN: usize = 23;
/// Largest sequence number the ten-digit layout holds.
pub const MAX_SEQ: u64 = 9_999_999_999;

/// A store problem, naming the file.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The directory or a file could not be created, read, written or mapped.
    #[error("{}: {source}", path.display())]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// The OS error.
        #[source]
        source: io::Error,
    },
    /// A file does not hold what the layout says.
    #[error("{}: {what}", path.display())]
    Corrupt {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        what: String,
    },
}

fn io_err(path: &Path) -> impl FnOnce(io::Error) -> StoreError + '_ {
    move |source| StoreError::Io { path: path.to_path_buf(), source }
}

/// The persisted sequence numbers of one session (sender, target).
#[derive(Debug)]
pub struct SeqStore {
    seqnums_path: PathBuf,
    session_path: PathBuf,
    map: MmapMut,
    next_out: u64,
    next_in: u64,
    creation_wall_ns: i64,
}

impl SeqStore {
    /// Opens (or creates, starting at 1 / 1 and created now) the store of `sender` → `target`
    /// in `dir`, creating the directory if needed.
    pub fn open(dir: &Path, sender: &str, target: &str, now_wall_ns: i64) -> Result<SeqStore, StoreError> {
        fs::create_dir_all(dir).map_err(io_err(dir))?;
        let prefix = format!("FIX.4.4-{sender}-{target}");
        let seqnums_path = dir.join(format!("{prefix}.seqnums"));
        let session_path = dir.join(format!("{prefix}.session"));
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&seqnums_path)
            .map_err(io_err(&seqnums_path))?;
        let fresh = file.metadata().map_err(io_err(&seqnums_path))?.len() == 0;
        if fresh {
            file.set_len(SEQNUMS_LEN as u64).map_err(io_err(&seqnums_path))?;
        }
        let map = map(&file, &seqnums_path)?;
        let mut store = SeqStore {
            seqnums_path,
            session_path,
            map,
            next_out: 1,
            next_in: 1,
            creation_wall_ns: now_wall_ns,
        };
        if fresh {
            store.write_numbers();
            store.write_creation_time(now_wall_ns)?;
        } else {
            (store.next_out, store.next_in) =
                parse_seqnums(&store.map).ok_or_else(|| StoreError::Corrupt {
                    path: store.seqnums_path.clone(),
                    what: format!(
                        "expected \"NNNNNNNNNN : NNNNNNNNNN\", found {:?}",
                        String::from_utf8_lossy(&store.map)
                    ),
                })?;
            store.creation_wall_ns = match fs::read(&store.session_path) {
                Ok(t) => parse_creation_time(&t).ok_or_else(|| StoreError::Corrupt {
                    path: store.session_path.clone(),
                    what: format!(
                        "expected a time YYYYMMDD-HH:MM:SS, found {:?}",
                        String::from_utf8_lossy(&t)
                    ),
                })?,
                Err(e) if e.kind() == io::ErrorKind::NotFound => {
                    store.write_creation_time(now_wall_ns)?;
                    now_wall_ns
                }
                Err(e) => return Err(io_err(&store.session_path)(e)),
            };
        }
        Ok(store)
    }

    /// Our next outgoing MsgSeqNum.
    pub fn next_out(&self) -> u64 {
        self.next_out
    }

    /// The next MsgSeqNum we expect.
    pub fn next_in(&self) -> u64 {
        self.next_in
    }

    /// When the session was created (reset), wall-clock ns (second precision).
    pub fn creation_wall_ns(&self) -> i64 {
        self.creation_wall_ns
    }

    /// The `.seqnums` file.
    pub fn path(&self) -> &Path {
        &self.seqnums_path
    }

    /// Records both numbers (in place in the mapped file; nothing when unchanged).
    #[inline]
    pub fn set(&mut self, next_out: u64, next_in: u64) {
        if (next_out, next_in) != (self.next_out, self.next_in) {
            self.next_out = next_out.min(MAX_SEQ);
            self.next_in = next_in.min(MAX_SEQ);
            self.write_numbers();
        }
    }

    /// Starts a new session: both numbers back to 1, created now.
    pub fn reset(&mut self, now_wall_ns: i64) -> Result<(), StoreError> {
        self.next_out = 1;
        self.next_in = 1;
        self.write_numbers();
        self.write_creation_time(now_wall_ns)
    }

    fn write_numbers(&mut self) {
        let m = &mut self.map[..];
        ten_digits(&mut m[0..10], self.next_out);
        m[10..13].copy_from_slice(b" : ");
        ten_digits(&mut m[13..23], self.next_in);
    }

    fn write_creation_time(&mut self, now_wall_ns: i64) -> Result<(), StoreError> {
        let mut t = [0; TIMESTAMP_BYTES];
        text::write_timestamp(&mut t, now_wall_ns);
        // Seconds precision, as QuickFIX writes it.
        fs::write(&self.session_path, &t[..17]).map_err(io_err(&self.session_path))?;
        self.creation_wall_ns = now_wall_ns - now_wall_ns.rem_euclid(1_000_000_000);
        Ok(())
    }
}

fn map(file: &File, path: &Path) -> Result<MmapMut, StoreError> {
    // SAFETY: the mapping is of a file in the session's own store directory, which nothing else
    // truncates while the session runs (QuickFIX's FileStore assumes the same); a truncation by
    // another process would fault on access, a concurrent write would only change the digits.
    let map = unsafe { MmapMut::map_mut(file) }.map_err(io_err(path))?;
    if map.len() != SEQNUMS_LEN {
        return Err(StoreError::Corrupt {
            path: path.to_path_buf(),
            what: format!("{} bytes, expected {SEQNUMS_LEN}", map.len()),
        });
    }
    Ok(map)
}

/// `v` as exactly ten digits (`v` < 10^10), two at a time.
fn ten_digits(out: &mut [u8], mut v: u64) {
    for pair in out.rchunks_exact_mut(2) {
        let p = (v % 100) as usize * 2;
        v /= 100;
        pair.copy_from_slice(&text::DIGIT_PAIRS[p..p + 2]);
    }
}

fn parse_seqnums(b: &[u8]) -> Option<(u64, u64)> {
    let s = std::str::from_utf8(b).ok()?;
    let (a, c) = s.split_once(':')?;
    let out = text::parse_u64(a.trim().as_bytes())?;
    let inn = text::parse_u64(c.trim().as_bytes())?;
    (out >= 1 && inn >= 1).then_some((out, inn))
}

/// `YYYYMMDD-HH:MM:SS[.fff…]` as wall-clock ns.
fn parse_creation_time(b: &[u8]) -> Option<i64> {
    let s = std::str::from_utf8(b).ok()?.trim();
    let main = s.get(..17)?;
    let dt = jiff::civil::DateTime::strptime("%Y%m%d-%H:%M:%S", main).ok()?;
    let ts = dt.to_zoned(jiff::tz::TimeZone::UTC).ok()?.timestamp();
    i64::try_from(ts.as_nanosecond()).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    const T0: i64 = 1_764_597_600_000_000_000; // 2025-12-01T14:00:00Z

    #[test]
    fn numbers_survive_a_reopen_in_quickfix_layout() {
        let dir = tempfile::tempdir().unwrap();
        let mut s = SeqStore::open(dir.path(), "OMS", "EXCH", T0).unwrap();
        assert_eq!((s.next_out(), s.next_in()), (1, 1));
        s.set(42, 7);
        drop(s);
        let text = fs::read_to_string(dir.path().join("FIX.4.4-OMS-EXCH.seqnums")).unwrap();
        assert_eq!(text, "0000000042 : 0000000007");
        let session = fs::read_to_string(dir.path().join("FIX.4.4-OMS-EXCH.session")).unwrap();
        assert_eq!(session, "20251201-14:00:00");
        let mut s = SeqStore::open(dir.path(), "OMS", "EXCH", T0 + 5_000_000_000).unwrap();
        assert_eq!((s.next_out(), s.next_in(), s.creation_wall_ns()), (42, 7, T0));
        s.reset(T0 + 60_000_000_000).unwrap();
        drop(s);
        let s = SeqStore::open(dir.path(), "OMS", "EXCH", T0).unwrap();
        assert_eq!((s.next_out(), s.next_in(), s.creation_wall_ns()), (1, 1, T0 + 60_000_000_000));
    }

    #[test]
    fn a_corrupt_store_is_an_error_naming_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("FIX.4.4-A-B.seqnums");
        fs::write(&p, "garbage that is 23 byte").unwrap();
        let e = SeqStore::open(dir.path(), "A", "B", T0).unwrap_err().to_string();
        assert!(e.contains("FIX.4.4-A-B.seqnums") && e.contains("garbage"), "{e}");
        fs::write(&p, "1 : 1").unwrap();
        let e = SeqStore::open(dir.path(), "A", "B", T0).unwrap_err().to_string();
        assert!(e.contains("5 bytes"), "{e}");
        fs::write(&p, "0000000003 : 0000000004").unwrap();
        fs::write(dir.path().join("FIX.4.4-A-B.session"), "yesterday").unwrap();
        let e = SeqStore::open(dir.path(), "A", "B", T0).unwrap_err().to_string();
        assert!(e.contains("FIX.4.4-A-B.session") && e.contains("yesterday"), "{e}");
    }
}
