//! [`JournalWriter::resume`]: reopening an existing journal to append after its last committed
//! record (a restart after a crash or a clean stop).
//!
//! The journal is read with the reader's rules before anything is written ([`Journal`] and its
//! records: the same code as `oms verify`), and nothing is written into a journal the reader
//! refuses; resume adds no rule of its own, so a journal `oms verify` passes is one it resumes:
//!
//! * **The end.** A slot is committed when its sequence word is non-zero and the record is valid
//!   (sequence number in place, CRC); the first slot whose sequence word is 0 ends the journal.
//!   The next record gets the sequence number after the last committed one, in the slot after
//!   it (the first slot of the next segment when its segment is exactly full).
//! * **A torn tail** (a body written, its sequence word still 0: the writer died between the
//!   two) is zeroed before anything else is written, so that no byte but those of the record
//!   being written ever follows the last committed one: the reader's "data after the end"
//!   check cannot trigger, even if the resumed writer is killed before its first record.
//! * **Segments prepared ahead and never used** (all zero after the header, continuing the
//!   sequence numbers of the one before, as long as their header says: the reader's rules for
//!   what follows the end) are reused, in order. They are
//!   complete (a segment gets its final name only once its blocks are reserved and its header
//!   written), they carry the journal's header, and a `sync_failed` flag a failed flush of their
//!   header left stays with them; removing them would only repeat the same work before logon.
//!   Their blocks are reserved again (`fallocate` over allocated blocks changes nothing; a copy
//!   may have made a file sparse, and a store into a hole of a mapping on a full disk is SIGBUS).
//! * **`.tmp` files** (a preparation cut short, or a link whose `.tmp` name was not removed yet)
//!   are removed: readers ignore them and the builder would remove them anyway.
//! * **Header fields.** `closed` is cleared wherever it is set (the journal is open again).
//!   `dropped` and `sync_failed` stay as they are in every segment: the journal's count of
//!   dropped records is the largest over its segments and goes on from there, and a journal
//!   that once failed a flush stays marked. The header meta (journal id, creation time, clock
//!   anchor, time zone, configuration) and the segment size are the journal's own, carried into
//!   every new segment: `JournalSettings::segment_bytes` is not used.
//! * **Durability.** Under a sync policy other than `none`, every segment file is flushed
//!   (`fdatasync`) before the first append: what the previous run committed may still have been
//!   only in the page cache when it died.
//! * **One writer.** The base file is locked for the writer's life; a journal another writer
//!   has open is refused ([`JournalError::InUse`]).

use std::num::NonZeroU64;
use std::path::{Path, PathBuf};

use super::space::Space;
use super::{Durability, JournalWriter, Position, WriterOptions, lock_base};
use crate::journal::format::{FORMAT_VERSION, SegmentHeader, split_segment_path};
use crate::journal::reader::{Journal, TornTail};
use crate::journal::segment::{Existing, sync_dir};
use crate::journal::{JournalError, JournalSettings, SyncPolicy};
use crate::record::RECORD_SIZE;

/// What an existing journal holds, read and checked before anything is written.
struct Found {
    /// Every segment file, in order, with its header.
    segments: Vec<(PathBuf, SegmentHeader)>,
    /// The last committed record's sequence number (0: none) and time.
    last_seq: u64,
    last_time_ns: i64,
    torn: Option<TornTail>,
    /// The segment the next record goes into (or, when it is exactly full, after which it goes).
    current: usize,
}

impl Found {
    /// Reads the journal at `base` with the reader's rules; any corruption is the reader's error.
    fn read(base: &Path) -> Result<Found, JournalError> {
        let journal = Journal::open(base)?;
        let index = journal.header().segment_index;
        if index != 0 {
            return Err(JournalError::NotBase { path: base.to_path_buf(), index });
        }
        // Everything is the reader's: segment 0 starts at 1, every segment after the end
        // continues the one before, is as long as its header says and holds only zeros.
        let mut records = journal.records();
        let mut last = None;
        for r in &mut records {
            last = Some(r?);
        }
        let torn = records.torn_tail().cloned();
        let segments: Vec<(PathBuf, SegmentHeader)> =
            journal.segments().map(|(p, h)| (p.to_path_buf(), h.clone())).collect();
        let (last_seq, last_time_ns) = last.map_or((0, 0), |r| (r.seq, r.time_ns));
        // Segment 0 starts at 1 (the reader checks it), so there is one.
        let current = segments.iter().rposition(|(_, h)| h.first_seq <= last_seq.max(1)).unwrap_or(0);
        if let Some(t) = &torn {
            debug_assert_eq!(t.seq, last_seq + 1, "the reader reports the slot after the last record");
        }
        Ok(Found { segments, last_seq, last_time_ns, torn, current })
    }
}

/// Removes the `.tmp` files of segments of the journal at `base`; whether there were any.
fn remove_leftovers(base: &Path) -> Result<bool, JournalError> {
    let dir = match base.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let Some(base_name) = base.file_name() else { return Ok(false) };
    let entries = std::fs::read_dir(&dir).map_err(|e| JournalError::io(&dir, "list the directory", e))?;
    let mut removed = false;
    for entry in entries {
        let entry = entry.map_err(|e| JournalError::io(&dir, "list the directory", e))?;
        let p = base.with_file_name(entry.file_name());
        let Some(segment) = p.to_str().and_then(|s| s.strip_suffix(".tmp")).map(PathBuf::from) else {
            continue;
        };
        let ours = segment.file_name() == Some(base_name)
            || split_segment_path(&segment).is_some_and(|(b, _)| b.file_name() == Some(base_name));
        if ours {
            std::fs::remove_file(&p).map_err(|e| JournalError::io(&p, "remove a leftover .tmp file", e))?;
            removed = true;
        }
    }
    Ok(removed)
}

impl JournalWriter {
    /// Reopens the journal at `cfg.path` (its base file) to append to it: the next record
    /// continues the sequence numbers after the last committed one. Before anything is written
    /// the whole journal is read with the reader's rules; a journal the reader refuses is
    /// refused with the reader's error (naming the file and offset), and nothing is appended
    /// after corruption. A torn tail is zeroed and overwritten; segments prepared ahead and never
    /// used are reused; leftover `.tmp` files are removed; the `closed` flag is cleared, the
    /// `dropped` and `sync_failed` flags kept; the header meta and the segment size are the
    /// journal's. Then, as [`JournalWriter::create_with`] does, the space for
    /// `cfg.prepare_records` records and the reserve is prepared on the calling thread.
    ///
    /// Fails with [`JournalError::Io`] (not found) naming `cfg.path` if there is no journal
    /// there, [`JournalError::NotBase`] if it is a numbered segment, and
    /// [`JournalError::InUse`] if another writer has it open. The module docs of
    /// `writer/resume.rs` (and docs/journal-format.md) say why each choice.
    pub fn resume(cfg: &JournalSettings, opts: WriterOptions) -> Result<JournalWriter, JournalError> {
        let base = cfg.path.clone();
        let lock = lock_base(&base)?;
        let found = Found::read(&base)?;
        if let Some((path, h)) = found.segments.iter().find(|(_, h)| h.version < FORMAT_VERSION) {
            return Err(JournalError::OlderVersion { path: path.clone(), found: h.version });
        }
        let removed_tmp = remove_leftovers(&base)?;
        // One file open at a time (a long journal has more segments than a process has file
        // descriptors); a mapping outlives its descriptor.
        let sync = cfg.sync != SyncPolicy::None;
        let mut mapped = Vec::with_capacity(found.segments.len() - found.current);
        for (i, (path, h)) in found.segments.iter().enumerate() {
            if i < found.current && !h.closed && !sync {
                continue;
            }
            let file = Existing::open(path, h)?;
            if let Some(t) = found.torn.as_ref().filter(|t| t.path == *path) {
                file.zero_slot(t.offset)?;
            }
            if h.closed {
                file.clear_closed()?;
            }
            if sync {
                file.sync()?;
            }
            if i >= found.current {
                mapped.push(file.map()?);
            }
        }
        if sync && removed_tmp {
            sync_dir(&base).map_err(|e| JournalError::io(&base, "flush the directory", e))?;
        }

        let next_seq = found.last_seq + 1;
        let mut segs = mapped.into_iter();
        let seg = segs.next().expect("the current segment");
        let pos = next_seq - seg.first_seq;
        let cap = seg.map.capacity();
        let header_bytes = seg.map.header_bytes();
        let ahead: Vec<_> = segs.collect();
        let allocated_seq = ahead.last().unwrap_or(&seg).end_seq();
        let inject = opts.injected();
        let clock = opts.ticker();
        let synced = std::iter::once((seg.clone(), Some(header_bytes + pos as usize * RECORD_SIZE)))
            .chain(ahead.iter().map(|s| (s.clone(), Some(s.map.header_bytes()))))
            .collect::<Vec<_>>();
        let durability = Durability::start(cfg.sync, &base, &opts, &clock, &synced)?;
        if cfg.sync != SyncPolicy::None {
            durability.shared.synced_seq.store(found.last_seq, std::sync::atomic::Ordering::Release);
        }

        // New segments carry the journal's header: segment 0's meta and size.
        let (_, last) = found.segments.last().expect("segment 0");
        let mut next = found.segments[0].1.clone();
        next.segment_index = last.segment_index + 1;
        next.first_seq = last.first_seq + last.capacity();
        (next.dropped, next.closed, next.sync_failed) = (0, false, false);
        let prepare = cfg.prepare_records.map_or(cap, NonZeroU64::get);
        let mut space = Space::new(next, inject, clock, (prepare, cap), next_seq, 0);
        space.readers = opts.readers_group;
        space.ahead.extend(ahead);

        let dropped = found.segments.iter().map(|(_, h)| h.dropped).max().unwrap_or(0);
        let at = Position { seg, pos, next_seq, allocated_seq, dropped, last_time_ns: found.last_time_ns };
        Ok(JournalWriter::start(at, &opts, space, durability, base, lock))
    }
}
