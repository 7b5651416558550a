//! The on-disk format: constants, the segment header (encode / decode), segment file naming.
//!
//! `docs/journal-format.md` is the byte-level contract; this file is its one implementation.
//!
//! A segment file is `header_bytes` of header (a multiple of 4096, so records start page
//! aligned), then `capacity` slots of [`RECORD_SIZE`] bytes. The header is fixed-layout up to
//! byte [`FIXED_HEADER`]; the time zone name and the public configuration (TOML, no password)
//! follow as UTF-8, then zero padding.

use std::ffi::OsString;
use std::path::{Path, PathBuf};

use crate::record::{RECORD_SIZE, crc32c_update};

use super::{Corruption, HeaderFlag, HeaderText, JournalError, JournalMeta, ZeroArea};

/// First 8 bytes of every segment.
pub const MAGIC: [u8; 8] = *b"OMSJRNL\0";
/// The format version this build writes (3: CRC-32C checksums, the `sync_failed` header flag;
/// 4: the reject reason `not_sent`; 5: an order's life at the exchange, the record kinds 17 to
/// 27 (`cancel_queued`, `cancel_sent`, `replace_queued`, `replace_sent`, `fill`,
/// `venue_cancelled`, `replaced`, `cancel_rejected`, `expired`, `unexpected_report`, `filled`),
/// the reject reasons `not_open`, `request_pending` and `replace_below_filled`, and the
/// `recovered` record's `order_id` counting the orders restored open at the exchange rather
/// than in flight); 6: the reject reason `order_ended` (a cancel or replace that still waited
/// for a permit when its order's life ended, answered instead of dropped without a record);
/// 7: the reject reasons of the pre-trade risk limits (`max_order_qty`, `max_order_notional`,
/// `price_band`, `no_reference_price`, `max_open_orders`, `max_position`,
/// `max_daily_notional`, `too_many_symbols`) and the kill switch (the kinds `halted`,
/// `resumed`, the reject reason `halted`); 8: producers in other processes (the kinds
/// `client_attached`, `client_detached`, the reject reason `not_owner`), the kind `reference`
/// (a reference price set for a symbol by request), and a risk limit's `rejected` record
/// carrying the value it refused.
pub const FORMAT_VERSION: u16 = 8;
/// The oldest version this build reads: versions from it to [`FORMAT_VERSION`] share every
/// layout, and each later one only adds record values (a kind, a reason) the earlier ones never
/// hold, so a journal of an older version is read as it was written.
pub const OLDEST_READ_VERSION: u16 = 3;
/// Size of the fixed part of the header; the variable strings start here.
pub const FIXED_HEADER: usize = 128;
/// Header sizes are rounded up to this (records start on a page boundary).
pub const HEADER_ALIGN: usize = 4096;
/// The largest header (its size is a `u32` field and a multiple of [`HEADER_ALIGN`]).
pub const MAX_HEADER_BYTES: u64 = u32::MAX as u64 / HEADER_ALIGN as u64 * HEADER_ALIGN as u64;

/// Byte offsets of the header fields (see `docs/journal-format.md`).
pub mod offsets {
    /// `[u8; 8]` magic.
    pub const MAGIC: usize = 0;
    /// `u16` format version.
    pub const VERSION: usize = 8;
    /// `u16` record size (64).
    pub const RECORD_SIZE: usize = 10;
    /// `u32` header size = offset of record slot 0.
    pub const HEADER_BYTES: usize = 12;
    /// `u64` file size of the segment.
    pub const SEGMENT_BYTES: usize = 16;
    /// `u32` segment index (0 = the base file).
    pub const SEGMENT_INDEX: usize = 24;
    /// `u32` flags (0; reserved).
    pub const FLAGS: usize = 28;
    /// `u64` sequence number of slot 0.
    pub const FIRST_SEQ: usize = 32;
    /// `u64` random journal id, the same in every segment of one journal.
    pub const JOURNAL_ID: usize = 40;
    /// `i64` journal creation time, ns since the Unix epoch.
    pub const CREATED_WALL_NS: usize = 48;
    /// `i64` wall-clock anchor, ns since the Unix epoch.
    pub const ANCHOR_WALL_NS: usize = 56;
    /// `u64` raw clock reading (TSC ticks) at the anchor.
    pub const ANCHOR_RAW: usize = 64;
    /// `f64` nanoseconds per raw tick.
    pub const NS_PER_TICK: usize = 72;
    /// `u32` byte length of the time zone name.
    pub const TIMEZONE_LEN: usize = 80;
    /// `u32` byte length of the configuration TOML.
    pub const CONFIG_LEN: usize = 84;
    /// `u32` CRC-32C of bytes 0..88 and of the strings.
    pub const HEADER_CRC: usize = 88;
    /// 4 reserved bytes, zero.
    pub const RESERVED_A: usize = 92;
    /// `u64` records the writer had to drop (live field, not under the CRC).
    pub const DROPPED: usize = 96;
    /// `u32` 1 once the writer closed the journal with this as its last segment (live field).
    pub const CLOSED: usize = 104;
    /// `u32` 1 once a flush of the journal to disk failed while this segment was being written or
    /// flushed (live field).
    pub const SYNC_FAILED: usize = 108;
    /// 16 reserved bytes (up to the strings at 128), zero.
    pub const RESERVED_B: usize = 112;
}

/// The part of the header covered by the CRC, before the strings.
const CRC_FIXED: usize = offsets::HEADER_CRC;

/// A decoded segment header.
#[derive(Clone, Debug, PartialEq)]
pub struct SegmentHeader {
    /// Format version.
    pub version: u16,
    /// Offset of record slot 0 (header size).
    pub header_bytes: u64,
    /// Size of the segment file.
    pub segment_bytes: u64,
    /// Segment index (0 = base file).
    pub segment_index: u32,
    /// Sequence number of slot 0.
    pub first_seq: u64,
    /// Random id shared by every segment of one journal.
    pub journal_id: u64,
    /// What the run recorded about itself: creation time, clock anchor and calibration, time
    /// zone, public configuration.
    pub meta: JournalMeta,
    /// Records the writer dropped because not even the reserve was left (live field).
    pub dropped: u64,
    /// Whether the writer closed the journal with this segment as its last one (live field).
    pub closed: bool,
    /// Whether a flush to disk failed while the writer had this segment (live field): the
    /// journal's records may not all have reached the disk.
    pub sync_failed: bool,
}

impl SegmentHeader {
    /// Number of record slots in the segment.
    pub fn capacity(&self) -> u64 {
        (self.segment_bytes - self.header_bytes) / RECORD_SIZE as u64
    }

    /// The header size needed for these strings: fixed part plus strings, rounded up to 4096.
    pub fn header_bytes_for(timezone: &str, config_toml: &str) -> u64 {
        let raw = FIXED_HEADER + timezone.len() + config_toml.len();
        raw.div_ceil(HEADER_ALIGN) as u64 * HEADER_ALIGN as u64
    }

    /// Encodes the header into `header_bytes` bytes (live fields as in `self`).
    pub fn encode(&self) -> Vec<u8> {
        let mut b = vec![0u8; self.header_bytes as usize];
        b[offsets::MAGIC..offsets::MAGIC + 8].copy_from_slice(&MAGIC);
        put(&mut b, offsets::VERSION, &self.version.to_le_bytes());
        put(&mut b, offsets::RECORD_SIZE, &(RECORD_SIZE as u16).to_le_bytes());
        put(&mut b, offsets::HEADER_BYTES, &(self.header_bytes as u32).to_le_bytes());
        put(&mut b, offsets::SEGMENT_BYTES, &self.segment_bytes.to_le_bytes());
        put(&mut b, offsets::SEGMENT_INDEX, &self.segment_index.to_le_bytes());
        put(&mut b, offsets::FIRST_SEQ, &self.first_seq.to_le_bytes());
        put(&mut b, offsets::JOURNAL_ID, &self.journal_id.to_le_bytes());
        let m = &self.meta;
        put(&mut b, offsets::CREATED_WALL_NS, &m.created_wall_ns.to_le_bytes());
        put(&mut b, offsets::ANCHOR_WALL_NS, &m.anchor_wall_ns.to_le_bytes());
        put(&mut b, offsets::ANCHOR_RAW, &m.anchor_raw.to_le_bytes());
        put(&mut b, offsets::NS_PER_TICK, &m.ns_per_tick.to_bits().to_le_bytes());
        put(&mut b, offsets::TIMEZONE_LEN, &(m.timezone.len() as u32).to_le_bytes());
        put(&mut b, offsets::CONFIG_LEN, &(m.config_toml.len() as u32).to_le_bytes());
        put(&mut b, offsets::DROPPED, &self.dropped.to_le_bytes());
        put(&mut b, offsets::CLOSED, &u32::from(self.closed).to_le_bytes());
        put(&mut b, offsets::SYNC_FAILED, &u32::from(self.sync_failed).to_le_bytes());
        let tz_end = FIXED_HEADER + m.timezone.len();
        b[FIXED_HEADER..tz_end].copy_from_slice(m.timezone.as_bytes());
        b[tz_end..tz_end + m.config_toml.len()].copy_from_slice(m.config_toml.as_bytes());
        let crc = header_crc(&b, tz_end + m.config_toml.len());
        put(&mut b, offsets::HEADER_CRC, &crc.to_le_bytes());
        b
    }

    /// Decodes and checks a header: magic, version, sizes, CRC, strings, the sequence range,
    /// the bytes the format keeps zero (flags, reserved bytes, the padding after the strings)
    /// and the live flags (0 or 1). `bytes` is the start of the file (at least the whole
    /// header when the file is that long); `file_len` is the file's length. Errors name `path`
    /// and the offset of the bad byte.
    pub fn decode(path: &Path, bytes: &[u8], file_len: u64) -> Result<SegmentHeader, JournalError> {
        let corrupt =
            |offset: usize, problem: Corruption| JournalError::corrupt(path, offset as u64, problem);
        if file_len == 0 {
            return Err(corrupt(0, Corruption::EmptyFile));
        }
        if bytes.len() < 8 || bytes[..8] != MAGIC {
            return Err(JournalError::Foreign { path: path.to_path_buf() });
        }
        if bytes.len() < FIXED_HEADER {
            let problem = Corruption::TruncatedHeader { len: file_len, needs: FIXED_HEADER as u64 };
            return Err(corrupt(bytes.len(), problem));
        }
        let version = u16_at(bytes, offsets::VERSION);
        if !(OLDEST_READ_VERSION..=FORMAT_VERSION).contains(&version) {
            return Err(JournalError::Version {
                path: path.to_path_buf(),
                found: version,
                supported: FORMAT_VERSION,
            });
        }
        let record_size = u16_at(bytes, offsets::RECORD_SIZE);
        if record_size as usize != RECORD_SIZE {
            return Err(corrupt(offsets::RECORD_SIZE, Corruption::RecordSize { found: record_size }));
        }
        let header_bytes = u32_at(bytes, offsets::HEADER_BYTES) as u64;
        let tz_len = u32_at(bytes, offsets::TIMEZONE_LEN) as u64;
        let cfg_len = u32_at(bytes, offsets::CONFIG_LEN) as u64;
        let strings_end = FIXED_HEADER as u64 + tz_len + cfg_len;
        if !header_bytes.is_multiple_of(HEADER_ALIGN as u64) || header_bytes < strings_end {
            return Err(corrupt(offsets::HEADER_BYTES, Corruption::HeaderSize { header_bytes, strings_end }));
        }
        if (bytes.len() as u64) < strings_end {
            let problem = Corruption::TruncatedHeader { len: file_len, needs: strings_end };
            return Err(corrupt(bytes.len(), problem));
        }
        let segment_bytes = u64_at(bytes, offsets::SEGMENT_BYTES);
        if segment_bytes < header_bytes + RECORD_SIZE as u64
            || !(segment_bytes - header_bytes).is_multiple_of(RECORD_SIZE as u64)
        {
            return Err(corrupt(
                offsets::SEGMENT_BYTES,
                Corruption::SegmentSize { segment_bytes, header_bytes },
            ));
        }
        let stored = u32_at(bytes, offsets::HEADER_CRC);
        let computed = header_crc(bytes, strings_end as usize);
        if stored != computed {
            return Err(corrupt(offsets::HEADER_CRC, Corruption::HeaderChecksum { stored, computed }));
        }
        let tz_end = FIXED_HEADER + tz_len as usize;
        let text = |range: std::ops::Range<usize>, field: HeaderText| {
            String::from_utf8(bytes[range.clone()].to_vec())
                .map_err(|_| corrupt(range.start, Corruption::NotUtf8 { field }))
        };
        let timezone = text(FIXED_HEADER..tz_end, HeaderText::TimeZone)?;
        let config_toml = text(tz_end..strings_end as usize, HeaderText::Configuration)?;
        let first_seq = u64_at(bytes, offsets::FIRST_SEQ);
        if first_seq == 0 {
            return Err(corrupt(offsets::FIRST_SEQ, Corruption::FirstSeqZero));
        }
        // Every slot's sequence number, and the one after the last slot (where the next segment
        // starts), must fit a u64: readers count with them.
        let capacity = (segment_bytes - header_bytes) / RECORD_SIZE as u64;
        if first_seq.checked_add(capacity).is_none() {
            return Err(corrupt(offsets::FIRST_SEQ, Corruption::SequenceRange { first_seq, capacity }));
        }
        // Bytes the format keeps zero: the flags field (under the CRC), the reserved bytes
        // (not under it) and the padding after the strings (as far as `bytes` reaches: a
        // shorter file is reported as truncated by its reader).
        let padding = strings_end as usize..(header_bytes as usize).min(bytes.len());
        let zeros = [
            (offsets::FLAGS..offsets::FLAGS + 4, ZeroArea::Flags),
            (offsets::RESERVED_A..offsets::RESERVED_A + 4, ZeroArea::Reserved),
            (offsets::RESERVED_B..FIXED_HEADER, ZeroArea::Reserved),
            (padding, ZeroArea::Padding),
        ];
        for (range, area) in zeros {
            if let Some(at) = bytes[range.clone()].iter().position(|&b| b != 0) {
                let at = range.start + at;
                return Err(corrupt(at, Corruption::NotZero { area, value: bytes[at] }));
            }
        }
        let flag = |at: usize, flag: HeaderFlag| match u32_at(bytes, at) {
            0 => Ok(false),
            1 => Ok(true),
            value => Err(corrupt(at, Corruption::Flag { flag, value })),
        };
        let closed = flag(offsets::CLOSED, HeaderFlag::Closed)?;
        let sync_failed = flag(offsets::SYNC_FAILED, HeaderFlag::SyncFailed)?;
        Ok(SegmentHeader {
            version,
            header_bytes,
            segment_bytes,
            segment_index: u32_at(bytes, offsets::SEGMENT_INDEX),
            first_seq,
            journal_id: u64_at(bytes, offsets::JOURNAL_ID),
            meta: JournalMeta {
                created_wall_ns: u64_at(bytes, offsets::CREATED_WALL_NS) as i64,
                anchor_wall_ns: u64_at(bytes, offsets::ANCHOR_WALL_NS) as i64,
                anchor_raw: u64_at(bytes, offsets::ANCHOR_RAW),
                ns_per_tick: f64::from_bits(u64_at(bytes, offsets::NS_PER_TICK)),
                timezone,
                config_toml,
            },
            dropped: u64_at(bytes, offsets::DROPPED),
            closed,
            sync_failed,
        })
    }
}

fn put(b: &mut [u8], at: usize, v: &[u8]) {
    b[at..at + v.len()].copy_from_slice(v);
}

/// CRC-32C of bytes `0..88` followed by the strings.
/// The checksum the header at the start of `b` should carry (over bytes 0..88 and its strings),
/// or `None` if its string lengths run past `b`: for tools that edit a header on purpose (fault
/// injection, fuzzing) and must re-seal it.
pub fn header_checksum(b: &[u8]) -> Option<u32> {
    let len = |at: usize| Some(u32::from_le_bytes(b.get(at..at + 4)?.try_into().ok()?) as usize);
    let end =
        FIXED_HEADER.checked_add(len(offsets::TIMEZONE_LEN)?)?.checked_add(len(offsets::CONFIG_LEN)?)?;
    (end <= b.len()).then(|| header_crc(b, end))
}

fn header_crc(b: &[u8], strings_end: usize) -> u32 {
    let c = crc32c_update(u32::MAX, &b[..CRC_FIXED]);
    !crc32c_update(c, &b[FIXED_HEADER..strings_end])
}

/// Little-endian `u16` at `at` (caller checked the length).
pub(crate) fn u16_at(b: &[u8], at: usize) -> u16 {
    u16::from_le_bytes([b[at], b[at + 1]])
}

/// Little-endian `u32` at `at` (caller checked the length).
pub(crate) fn u32_at(b: &[u8], at: usize) -> u32 {
    let mut a = [0u8; 4];
    a.copy_from_slice(&b[at..at + 4]);
    u32::from_le_bytes(a)
}

/// Little-endian `u64` at `at` (caller checked the length).
pub(crate) fn u64_at(b: &[u8], at: usize) -> u64 {
    let mut a = [0u8; 8];
    a.copy_from_slice(&b[at..at + 8]);
    u64::from_le_bytes(a)
}

/// The file of segment `index`: `base` itself for 0, else `base.000001`, `base.000002`, …
pub fn segment_path(base: &Path, index: u32) -> PathBuf {
    if index == 0 {
        return base.to_path_buf();
    }
    let mut s: OsString = base.as_os_str().to_owned();
    s.push(format!(".{index:06}"));
    PathBuf::from(s)
}

/// If `path` is named like a numbered segment (`….000001`), its base path and index.
pub fn split_segment_path(path: &Path) -> Option<(PathBuf, u32)> {
    let name = path.file_name()?.to_str()?;
    let (stem, digits) = name.rsplit_once('.')?;
    if digits.len() < 6 || !digits.bytes().all(|c| c.is_ascii_digit()) || stem.is_empty() {
        return None;
    }
    let index: u32 = digits.parse().ok()?;
    if index == 0 {
        return None;
    }
    Some((path.with_file_name(stem), index))
}

/// The numbered segments (index ≥ 1) that exist next to `base`, sorted by index.
pub fn existing_segments(base: &Path) -> Result<Vec<(u32, PathBuf)>, JournalError> {
    let dir = match base.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let Some(base_name) = base.file_name().and_then(|n| n.to_str()) else {
        return Ok(Vec::new());
    };
    let entries = std::fs::read_dir(&dir).map_err(|e| JournalError::io(&dir, "list the directory", e))?;
    let mut found = Vec::new();
    for entry in entries {
        let entry = entry.map_err(|e| JournalError::io(&dir, "list the directory", e))?;
        let p = base.with_file_name(entry.file_name());
        if let Some((b, idx)) = split_segment_path(&p)
            && b.file_name().and_then(|n| n.to_str()) == Some(base_name)
        {
            found.push((idx, p));
        }
    }
    found.sort();
    Ok(found)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> SegmentHeader {
        let timezone = "Asia/Kolkata".to_string();
        let config_toml = "[session]\nusername = \"u\"\n".to_string();
        SegmentHeader {
            version: FORMAT_VERSION,
            header_bytes: SegmentHeader::header_bytes_for(&timezone, &config_toml),
            segment_bytes: 65536,
            segment_index: 3,
            first_seq: 1 + 3 * 960,
            journal_id: 0xdead_beef,
            meta: JournalMeta {
                created_wall_ns: 1_700_000_000_000_000_000,
                anchor_wall_ns: 1_700_000_000_000_000_001,
                anchor_raw: 12345,
                ns_per_tick: 0.37,
                timezone,
                config_toml,
            },
            dropped: 0,
            closed: false,
            sync_failed: false,
        }
    }

    #[test]
    fn header_round_trips_and_catches_flips() {
        let h = sample();
        let b = h.encode();
        assert_eq!(b.len(), 4096);
        let p = Path::new("x");
        assert_eq!(SegmentHeader::decode(p, &b, 65536).unwrap(), h);
        assert_eq!(h.capacity(), (65536 - 4096) / 64);
        // Every byte of the header is checked (under the CRC, or zero, or a flag that is 0 or
        // 1) but the running count of dropped records.
        let dropped = offsets::DROPPED..offsets::DROPPED + 8;
        for i in (0..b.len()).filter(|i| !dropped.contains(i)) {
            let mut c = b.clone();
            c[i] ^= 0x04;
            assert!(SegmentHeader::decode(p, &c, 65536).is_err(), "flip at {i} accepted");
        }
        // Live fields are outside the CRC.
        let mut c = b.clone();
        c[offsets::DROPPED] = 7;
        c[offsets::CLOSED] = 1;
        c[offsets::SYNC_FAILED] = 1;
        let d = SegmentHeader::decode(p, &c, 65536).unwrap();
        assert_eq!((d.dropped, d.closed, d.sync_failed), (7, true, true));
        c[offsets::CLOSED] = 0x81;
        let e = SegmentHeader::decode(p, &c, 65536).unwrap_err();
        let flag = Corruption::Flag { flag: HeaderFlag::Closed, value: 0x81 };
        assert_eq!(e.corruption(), Some(&flag), "{e}");
        assert!(e.to_string().contains("x: offset 104: the closed flag is 0x81, not 0 or 1"), "{e}");
        let mut c = b.clone();
        c[700] = 0x20;
        let e = SegmentHeader::decode(p, &c, 65536).unwrap_err();
        let pad = Corruption::NotZero { area: ZeroArea::Padding, value: 0x20 };
        assert_eq!((e.corruption(), e.to_string().contains("offset 700")), (Some(&pad), true), "{e}");
    }

    #[test]
    fn segment_names() {
        let base = Path::new("/tmp/run/oms.journal");
        assert_eq!(segment_path(base, 0), base);
        assert_eq!(segment_path(base, 1), Path::new("/tmp/run/oms.journal.000001"));
        assert_eq!(segment_path(base, 1234567), Path::new("/tmp/run/oms.journal.1234567"));
        assert_eq!(split_segment_path(&segment_path(base, 42)), Some((base.to_path_buf(), 42)));
        assert_eq!(split_segment_path(base), None);
        assert_eq!(split_segment_path(Path::new("a.12345")), None);
        assert_eq!(split_segment_path(Path::new("a.000001.tmp")), None);
    }
}
