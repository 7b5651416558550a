//! The journal reader over arbitrary files: `Journal::open`, `records`, `verify`, the `oms decode`
//! formatters, `oms stats` and `oms audit` over what it returns, and the `Follower`.
//!
//! Input: one mode byte, then the bytes of up to three segment files (the base file, `.000001`,
//! `.000002`), split where the journal magic starts a new file. The mode's bits:
//!
//! * bit 0: recompute each header's CRC after the mutation (so mutations reach the checks
//!   behind it: sizes, sequence numbers, strings);
//! * bit 1: recompute the CRC of every published slot (so mutations reach the record fields);
//! * bit 2: pad each file with zeros up to its header's segment size (at most [`MAX_PAD`]), so
//!   a seed can be a real journal with its empty slots trimmed.
//!
//! Besides "no panic", it checks what the reader promises: every error names the file,
//! `verify` agrees with iterating, the follower returns the same records as the reader, a
//! closed, sound journal ends a follow (never an endless `Pending`), and a journal the reader
//! refuses never does.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use oms::audit::{AuditOptions, audit};
use oms::cli::{Format, Formatter, Stats};
use oms::journal::{Follower, Journal, MAGIC, Poll, header_checksum, segment_path};
use oms::record::{CHECKSUMMED, RECORD_SIZE, checksum};

/// Files are padded to at most this many bytes (mode bit 2).
pub const MAX_PAD: usize = 1 << 20;
/// Bit 0 of the mode byte: reseal the headers.
pub const RESEAL_HEADERS: u8 = 1;
/// Bit 1 of the mode byte: reseal the published slots.
pub const RESEAL_RECORDS: u8 = 2;
/// Bit 2 of the mode byte: pad each file to its segment size.
pub const PAD: u8 = 4;

/// The file name every input is written to (and every error must name).
pub const NAME: &str = "fz.journal";

// Header offsets (docs/journal-format.md).
const HEADER_BYTES: usize = 12;
const SEGMENT_BYTES: usize = 16;
const HEADER_CRC: usize = 88;

fn u32_at(b: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_le_bytes(b.get(at..at + 4)?.try_into().ok()?))
}

fn u64_at(b: &[u8], at: usize) -> Option<u64> {
    Some(u64::from_le_bytes(b.get(at..at + 8)?.try_into().ok()?))
}

/// The segment files of an input: split before every occurrence of the magic after the first
/// byte, at most three files (the rest stays in the last).
pub fn split_files(body: &[u8]) -> Vec<Vec<u8>> {
    let mut starts = vec![0usize];
    let mut i = 1;
    while i + MAGIC.len() <= body.len() && starts.len() < 3 {
        if body[i..i + MAGIC.len()] == MAGIC {
            starts.push(i);
            i += MAGIC.len();
        } else {
            i += 1;
        }
    }
    starts.push(body.len());
    starts.windows(2).map(|w| body[w[0]..w[1]].to_vec()).collect()
}

/// Applies the mode to one file.
pub fn prepare(mode: u8, mut f: Vec<u8>) -> Vec<u8> {
    if mode & PAD != 0
        && let Some(seg) = u64_at(&f, SEGMENT_BYTES)
        && seg as usize <= MAX_PAD
        && f.len() < seg as usize
    {
        f.resize(seg as usize, 0);
    }
    if mode & RESEAL_HEADERS != 0
        && let Some(crc) = header_checksum(&f)
    {
        f[HEADER_CRC..HEADER_CRC + 4].copy_from_slice(&crc.to_le_bytes());
    }
    if mode & RESEAL_RECORDS != 0
        && let Some(hb) = u32_at(&f, HEADER_BYTES)
        && (hb as usize) < f.len()
    {
        for slot in f[hb as usize..].chunks_exact_mut(RECORD_SIZE) {
            if slot[..8] != [0; 8]
                && let Ok(bytes) = <&[u8; RECORD_SIZE]>::try_from(&*slot)
            {
                let crc = checksum(bytes);
                slot[CHECKSUMMED..].copy_from_slice(&crc.to_le_bytes());
            }
        }
    }
    f
}

/// Writes the input's files under `dir` (removing files of an earlier input); the base path.
pub fn materialize(dir: &Path, data: &[u8]) -> PathBuf {
    let base = dir.join(NAME);
    let (mode, body) = data.split_first().map_or((0, &[][..]), |(m, b)| (*m, b));
    let files = split_files(body);
    for i in 0..3u32 {
        let p = segment_path(&base, i);
        match files.get(i as usize) {
            Some(f) => std::fs::write(&p, prepare(mode, f.clone())).expect("write a segment file"),
            None => {
                let _ = std::fs::remove_file(&p);
            }
        }
    }
    base
}

fn names_file(e: &dyn std::fmt::Display) -> String {
    let msg = e.to_string();
    assert!(msg.contains(NAME), "an error that does not name the file: {msg}");
    msg
}

/// Runs the input through every reader; returns what happened, one line per reader.
pub fn run(dir: &Path, data: &[u8]) -> String {
    let base = materialize(dir, data);
    let mut out = String::new();
    let journal = match Journal::open(&base) {
        Ok(j) => j,
        Err(e) => {
            let _ = writeln!(out, "open: {}", names_file(&e));
            follow(&base, &[], (false, true), &mut out);
            return out;
        }
    };

    // Iterate, format every record as `oms decode` and `oms stats` do.
    let tz = journal.header().meta.timezone.clone();
    let mut formatters: Vec<Formatter> = [Format::Text, Format::Csv, Format::Jsonl]
        .into_iter()
        .map(|f| Formatter::new(f, &tz).unwrap_or_else(|_| Formatter::utc(f)))
        .collect();
    let mut line = Vec::new();
    let mut stats = Stats::new();
    let mut records = Vec::new();
    let mut error = None;
    for r in journal.records() {
        match r {
            Ok(rec) => {
                for f in &mut formatters {
                    line.clear();
                    f.line(&mut line, &rec);
                    assert!(std::str::from_utf8(&line).is_ok(), "a formatted line is not UTF-8");
                }
                stats.add(&rec);
                records.push(rec);
            }
            Err(e) => {
                assert!(error.is_none(), "two errors from one iteration");
                error = Some(names_file(&e));
            }
        }
    }
    let mut report_text = Vec::new();
    stats.report(&mut report_text).expect("a report into memory");
    stats.write_hgrm(&mut report_text).expect("a histogram into memory");

    // `oms audit` over what was read, against the rules in the header's configuration.
    let stored = oms::Config::from_toml_str(&journal.header().meta.config_toml).and_then(|c| c.rules());
    if let Ok((window, throttle)) = stored {
        for options in [AuditOptions::LIVE, AuditOptions::VIRTUAL_TIME] {
            let report = audit(&records, &window, &throttle, options);
            let _ = report.to_string();
            if options.exact_timers {
                let _ = writeln!(out, "audit: {:?} broken", report.broken());
            }
        }
    }

    // `verify` walks the same records.
    let report = journal.verify();
    assert_eq!(report.records, records.len() as u64, "verify counts other records than iterating");
    assert_eq!(report.error.is_some(), error.is_some(), "verify and iterating disagree on an error");
    assert_eq!(report.last_good.as_ref().map(|g| g.seq), records.last().map(|r| r.seq));
    if report.is_sound() {
        let per_segment: u64 = report.segments.iter().map(|s| s.records).sum();
        assert_eq!(per_segment, report.records, "segment counts do not add up: {:?}", report.segments);
    }
    let _ = writeln!(out, "records: {}", records.len());
    match &error {
        Some(e) => {
            let _ = writeln!(out, "error: {e}");
        }
        None => {
            let _ = writeln!(out, "sound, closed: {}", report.closed);
        }
    }

    // The follower must end a closed, sound journal whose last record's segment carries the
    // closed mark (what the writer leaves), and never end one the reader refuses.
    let end_closed = report.is_sound() && {
        let end_seg = report
            .last_good
            .as_ref()
            .and_then(|g| report.segments.iter().position(|s| s.path == g.path))
            .unwrap_or(0);
        report.segments[end_seg].closed
    };
    follow(&base, &records, (end_closed, !report.is_sound()), &mut out);
    out
}

/// Follows `base` until it would wait; checks the records against `records` (the reader's).
/// `must_close`: the follower must end the journal; `refused`: the reader refused it, so the
/// follower must not end it.
fn follow(base: &Path, records: &[oms::EventRecord], (must_close, refused): (bool, bool), out: &mut String) {
    let mut f = match Follower::open(base) {
        Ok(f) => f,
        Err(e) => {
            let _ = writeln!(out, "follow: {}", names_file(&e));
            assert!(!must_close, "a sound journal the follower cannot open: {e}");
            return;
        }
    };
    let mut n = 0usize;
    // Each poll returns a record, or ends: a bound that cannot be reached by a sound follower.
    for _ in 0..=records.len().max(MAX_PAD / RECORD_SIZE * 3) + 2 {
        match f.poll() {
            Ok(Poll::Record(r)) => {
                if let Some(expected) = records.get(n) {
                    assert_eq!(
                        r.to_bytes(),
                        expected.to_bytes(),
                        "follower record {n} differs from the reader's"
                    );
                }
                n += 1;
            }
            Ok(Poll::Pending) => {
                assert!(!must_close, "a closed journal the follower waits on after {n} records");
                let _ = writeln!(out, "follow: pending after {n}");
                return;
            }
            Ok(Poll::Closed) => {
                assert!(!refused, "the follower ends a journal the reader refuses after {n} records");
                if must_close {
                    assert_eq!(n, records.len(), "the follower ends early");
                }
                let _ = writeln!(out, "follow: closed after {n}");
                return;
            }
            Err(e) => {
                assert!(!must_close, "a sound journal the follower fails on: {e}");
                let _ = writeln!(out, "follow: {} (after {n})", names_file(&e));
                return;
            }
        }
    }
    panic!("the follower keeps returning records past every slot");
}
