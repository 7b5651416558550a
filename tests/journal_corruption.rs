//! Corruption: random damage to a three-segment journal (flipped bytes, garbage, truncation,
//! empty files, wrong magic or version, a segment missing from the middle) never makes the
//! reader or the `oms` binary panic, never makes them accept a damaged record, and is reported
//! as corruption (exit 1, naming the file) whenever it touches a byte under a checksum: the
//! header up to and including its CRC field, the header's time zone and configuration strings,
//! every byte of every published record. Errors keep their kind and numbers, and sequence
//! numbers at the top of the range never overflow.

mod journal_common;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

use journal_common::*;
use oms::journal::SyncPolicy;
use oms::journal::{Corruption, Follower, Journal, JournalError, Poll, segment_path};
use oms::record::RecordError;
use proptest::prelude::*;

const RECORDS: u64 = 2500; // 960 + 960 + 580
const CAP: u64 = 960;
const HEADER: usize = 4096;
const SEG: usize = 65536;

/// File contents and record bytes of the pristine journal.
type Pristine = (Vec<Vec<u8>>, Vec<[u8; 64]>);

/// The pristine journal: file contents and records.
fn pristine() -> &'static Pristine {
    static P: OnceLock<Pristine> = OnceLock::new();
    P.get_or_init(|| {
        let dir = tempfile::tempdir().unwrap();
        let base = dir.path().join("oms.journal");
        write_journal(&base, RECORDS, SMALL_SEGMENT, SyncPolicy::OnLogout);
        let files: Vec<Vec<u8>> = (0..3).map(|i| std::fs::read(segment_path(&base, i)).unwrap()).collect();
        let records = Journal::open(&base).unwrap().records().map(|r| r.unwrap().to_bytes()).collect();
        (files, records)
    })
}

#[derive(Clone, Debug)]
enum Damage {
    Flip { file: usize, at: usize, xor: u8 },
    Garbage { file: usize, at: usize, bytes: Vec<u8> },
    Truncate { file: usize, len: usize },
    Empty { file: usize },
    RemoveMiddle,
    Magic { file: usize },
    Version { file: usize, version: u16 },
}

fn damage() -> impl Strategy<Value = Damage> {
    let file = 0usize..3;
    // Bias offsets toward the used record slots and the header.
    // Bias offsets toward the header (fixed part, CRC field, strings), the used record slots
    // and the last records.
    let at = prop_oneof![
        0usize..128,
        80usize..100,
        128usize..1024,
        HEADER..HEADER + 40 * 64,
        HEADER + 570 * 64..HEADER + 590 * 64,
        0usize..SEG
    ];
    prop_oneof![
        4 => (file.clone(), at.clone(), 1u8..=255).prop_map(|(file, at, xor)| Damage::Flip { file, at, xor }),
        2 => (file.clone(), at, proptest::collection::vec(any::<u8>(), 1..200))
            .prop_map(|(file, at, bytes)| Damage::Garbage { file, at, bytes }),
        1 => (file.clone(), 0usize..SEG).prop_map(|(file, len)| Damage::Truncate { file, len }),
        1 => file.clone().prop_map(|file| Damage::Empty { file }),
        1 => Just(Damage::RemoveMiddle),
        1 => file.clone().prop_map(|file| Damage::Magic { file }),
        1 => (file, 2u16..u16::MAX).prop_map(|(file, version)| Damage::Version { file, version }),
    ]
}

/// Applies the damage.
fn apply(files: &mut [Option<Vec<u8>>], d: &Damage) {
    match d {
        Damage::Flip { file, at, xor } => {
            if let Some(b) = &mut files[*file]
                && let Some(x) = b.get_mut(*at)
            {
                *x ^= xor;
            }
        }
        Damage::Garbage { file, at, bytes } => {
            if let Some(b) = &mut files[*file] {
                for (i, v) in bytes.iter().enumerate() {
                    if let Some(x) = b.get_mut(at + i) {
                        *x = *v;
                    }
                }
            }
        }
        Damage::Truncate { file, len } => {
            if let Some(b) = &mut files[*file] {
                b.truncate(*len);
            }
        }
        Damage::Empty { file } => {
            if let Some(b) = &mut files[*file] {
                b.clear();
            }
        }
        Damage::RemoveMiddle => {
            files[1] = None;
        }
        Damage::Magic { file } => {
            if let Some(b) = &mut files[*file]
                && b.len() >= 8
            {
                b[..8].copy_from_slice(b"NOTOMS!!");
            }
        }
        Damage::Version { file, version } => {
            if let Some(b) = &mut files[*file]
                && b.len() >= 10
            {
                b[8..10].copy_from_slice(&version.to_le_bytes());
            }
        }
    }
}

/// End of the CRC-covered strings of a pristine segment header.
fn strings_end(header: &[u8]) -> usize {
    let len = |at: usize| u32::from_le_bytes(header[at..at + 4].try_into().unwrap()) as usize;
    128 + len(80) + len(84)
}

/// Whether `damaged` differs from `pristine` where the format promises to notice: a missing or
/// shortened file, or any changed byte but these: the dropped count (a running count the writer
/// updates, bytes 96..104), a live flag that still reads 0 or 1 (`closed` 104..108, `sync_failed`
/// 108..112: a change of state, not damage), and, by the publish protocol, the body of a slot
/// whose sequence number reads 0 right after the last record: an unpublished (torn) tail (the
/// last record itself, if its sequence number reads 0, or the slot after it). Everything else of
/// a header is under its CRC or must be zero; every slot after the end must be zero.
fn must_fail(pristine: &[Vec<u8>], damaged: &[Option<Vec<u8>>]) -> bool {
    let slot_of = |seq: u64| ((seq - 1) / CAP) as usize * SEG + HEADER + ((seq - 1) % CAP) as usize * 64;
    let last = slot_of(RECORDS);
    let file_of = |global: usize| global / SEG;
    let flag = |d: &[u8], at: usize| matches!(u32::from_le_bytes(d[at..at + 4].try_into().unwrap()), 0 | 1);
    pristine.iter().zip(damaged).enumerate().any(|(file, (p, d))| {
        let Some(d) = d else { return true };
        if d.len() != p.len() {
            return true;
        }
        // The torn slot: the last record's (if its seq reads 0 now), else the one after it.
        let seq_zero = |global: usize| file_of(global) == file && d[global % SEG..global % SEG + 8] == [0; 8];
        let torn = if seq_zero(last) {
            Some(last % SEG)
        } else if seq_zero(last + 64) {
            Some((last + 64) % SEG)
        } else {
            None
        };
        let free = |at: usize| {
            (96..104).contains(&at)
                || ((104..108).contains(&at) && flag(d, 104))
                || ((108..112).contains(&at) && flag(d, 108))
                || torn.is_some_and(|t| (t..t + 64).contains(&at))
        };
        p.iter().zip(d).enumerate().any(|(at, (a, b))| a != b && !free(at))
    })
}

fn materialize(dir: &Path, files: &[Option<Vec<u8>>]) -> PathBuf {
    let base = dir.join("oms.journal");
    for (i, f) in files.iter().enumerate() {
        if let Some(bytes) = f {
            std::fs::write(segment_path(&base, i as u32), bytes).unwrap();
        }
    }
    base
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 160, ..ProptestConfig::default() })]

    #[test]
    fn random_damage_is_caught_never_accepted_never_a_panic(damages in proptest::collection::vec(damage(), 1..4)) {
        let (pristine_files, pristine_records) = pristine();
        let mut files: Vec<Option<Vec<u8>>> = pristine_files.iter().cloned().map(Some).collect();
        for d in &damages {
            apply(&mut files, d);
        }
        let must_fail = must_fail(pristine_files, &files);
        let dir = tempfile::tempdir().unwrap();
        let base = materialize(dir.path(), &files);

        // `flagged`: the live header fields (not under the CRC) say records were dropped or a
        // flush failed; `oms verify` exits 1 on those too.
        let (sound, flagged) = match Journal::open(&base) {
            Err(e) => {
                prop_assert!(e.to_string().contains("oms.journal"), "{e}");
                (false, false)
            }
            Ok(j) => {
                // Whatever is returned is a byte-identical prefix of what was written.
                let mut n = 0;
                for r in j.records() {
                    match r {
                        Ok(rec) => {
                            prop_assert_eq!(rec.to_bytes(), pristine_records[n]);
                            n += 1;
                        }
                        Err(e) => prop_assert!(e.to_string().contains("oms.journal"), "{}", e),
                    }
                }
                let report = j.verify();
                prop_assert_eq!(report.records, n as u64);
                if let Some(e) = &report.error {
                    prop_assert!(e.to_string().contains("oms.journal"), "{}", e);
                }
                (report.is_sound(), report.dropped > 0 || report.sync_failed)
            }
        };
        prop_assert!(!(must_fail && sound), "damage {:?} went unnoticed", damages);

        // The follower (`oms tail`) reaches the same verdict: it ends a sound journal closed at
        // its end with the same records, and never ends one the reader refuses (it fails, or
        // waits where the closed mark is gone).
        let reader = Journal::open(&base).ok().map(|j| j.verify());
        let closed_at_end = reader.as_ref().is_some_and(|r| {
            let end = r.last_good.as_ref().and_then(|g| r.segments.iter().position(|s| s.path == g.path));
            end.is_some_and(|e| r.segments[e].closed)
        });
        let (followed, ending) = follow(&base);
        if sound && closed_at_end {
            prop_assert_eq!(&ending, "closed", "a sound, closed journal the follower does not end");
            prop_assert_eq!(followed, reader.as_ref().map_or(0, |r| r.records));
        }
        if !sound {
            prop_assert_ne!(&ending, "closed", "the follower ends a journal the reader refuses: {:?}", damages);
        }

        let o = Command::new(env!("CARGO_BIN_EXE_oms")).arg("verify").arg(&base).output().unwrap();
        prop_assert_eq!(o.status.code(), Some(if sound && !flagged { 0 } else { 1 }), "{}", String::from_utf8_lossy(&o.stderr));
        if !sound {
            prop_assert!(String::from_utf8_lossy(&o.stderr).contains("oms.journal"));
        }
        for fmt in ["csv", "text"] {
            let o = Command::new(env!("CARGO_BIN_EXE_oms")).args(["decode", "--format", fmt]).arg(&base).output().unwrap();
            prop_assert!(matches!(o.status.code(), Some(0 | 1)), "decode crashed: {:?}", o.status);
        }
        let o = Command::new(env!("CARGO_BIN_EXE_oms")).arg("stats").arg(&base).output().unwrap();
        prop_assert!(matches!(o.status.code(), Some(0 | 1)), "stats crashed: {:?}", o.status);
    }
}

/// Follows the journal at `base` until the follower would wait: the records it returned and how
/// it ended ("closed", "pending", or the error).
fn follow(base: &Path) -> (u64, String) {
    let mut f = match Follower::open(base) {
        Ok(f) => f,
        Err(e) => return (0, e.to_string()),
    };
    let mut n = 0;
    loop {
        match f.poll() {
            Ok(Poll::Record(_)) => n += 1,
            Ok(Poll::Closed) => return (n, "closed".into()),
            Ok(Poll::Pending) => return (n, "pending".into()),
            Err(e) => return (n, e.to_string()),
        }
        assert!(n <= 3 * CAP, "the follower returns more records than there are slots");
    }
}

#[test]
fn every_single_byte_flip_in_published_records_is_caught() {
    let (files, _) = pristine();
    // Every byte of a few records, including the last one of a full segment.
    for slot in [0usize, 1, 500, 959] {
        for byte in 0..64 {
            let mut damaged: Vec<Option<Vec<u8>>> = files.iter().cloned().map(Some).collect();
            let at = HEADER + slot * 64 + byte;
            damaged[0].as_mut().unwrap()[at] ^= 0x20;
            let dir = tempfile::tempdir().unwrap();
            let base = materialize(dir.path(), &damaged);
            let report = Journal::open(&base).unwrap().verify();
            let err = report.error.unwrap_or_else(|| panic!("flip at {at} not caught")).to_string();
            assert!(err.contains(&format!("offset {}", HEADER + slot * 64)), "{err}");
            assert_eq!(report.records, slot as u64);
        }
    }
}

/// Every byte under the header's CRC (bytes 0..92, the CRC field included, and the strings), of
/// every segment, flipped alone, makes that segment unreadable, with an error naming it.
#[test]
fn every_single_byte_flip_under_a_header_checksum_is_caught() {
    let (files, _) = pristine();
    let dir = tempfile::tempdir().unwrap();
    let base = materialize(dir.path(), &files.iter().cloned().map(Some).collect::<Vec<_>>());
    for (i, pristine) in files.iter().enumerate() {
        let path = segment_path(&base, i as u32);
        let end = strings_end(pristine);
        assert!(end > 128 + 100, "the header carries the strings");
        for at in (0..92).chain(128..end) {
            let mut b = pristine.clone();
            b[at] ^= 0x10;
            std::fs::write(&path, &b).unwrap();
            let e = Journal::open(&path).expect_err(&format!("segment {i}: flip at {at} not caught"));
            assert_eq!(e.path(), path, "{e}");
        }
        std::fs::write(&path, pristine).unwrap();
    }
    assert!(Journal::open(&base).unwrap().verify().is_sound());
}

/// A copy of the pristine journal in a fresh directory under `dir`, after `edit`; its base path.
fn damaged(dir: &Path, edit: impl FnOnce(&mut Vec<Option<Vec<u8>>>)) -> PathBuf {
    let mut files: Vec<Option<Vec<u8>>> = pristine().0.iter().cloned().map(Some).collect();
    edit(&mut files);
    let fresh = tempfile::tempdir_in(dir).unwrap().keep();
    materialize(&fresh, &files)
}

/// The first error of `base`'s records (from `open` or from iterating).
fn first_error(base: &Path) -> JournalError {
    match Journal::open(base) {
        Err(e) => e,
        Ok(j) => j.records().find_map(Result::err).expect("an error"),
    }
}

#[test]
fn errors_keep_their_kind_and_numbers() {
    let dir = tempfile::tempdir().unwrap();
    let slot = |i: usize| HEADER + i * 64;

    let base = damaged(dir.path(), |f| f[0].as_mut().unwrap()[slot(5) + 20] ^= 1);
    let e = first_error(&base);
    assert_eq!(e.corruption(), Some(&Corruption::Checksum { seq: 6 }), "{e}");
    assert!(matches!(&e, JournalError::Corrupt { offset, .. } if *offset == slot(5) as u64), "{e}");

    // A record with another sequence number (valid checksum) in slot 7.
    let base = damaged(dir.path(), |f| {
        let b = f[0].as_mut().unwrap();
        let other = pristine().1[2];
        b[slot(7)..slot(8)].copy_from_slice(&other);
    });
    assert_eq!(first_error(&base).corruption(), Some(&Corruption::WrongSeq { found: 3, expected: 8 }));

    // A field value no record can hold, under a valid checksum: the record error is kept whole.
    let base = damaged(dir.path(), |f| {
        let b = f[0].as_mut().unwrap();
        let mut w = oms::record::bytes_to_words(&pristine().1[0]);
        w[6] = (w[6] & !(0xff << 56)) | (0xEE << 56); // the kind byte (offset 55)
        oms::record::seal(&mut w);
        b[slot(0)..slot(1)].copy_from_slice(&oms::record::words_to_bytes(&w));
    });
    let e = first_error(&base);
    assert_eq!(
        e.corruption(),
        Some(&Corruption::Record(RecordError { seq: 1, field: "kind", value: 0xEE })),
        "{e}"
    );

    let base = damaged(dir.path(), |f| f[2].as_mut().unwrap().truncate(slot(100)));
    let e = first_error(&base);
    let expected = Corruption::Truncated { len: slot(100) as u64, expected: SEG as u64 };
    assert_eq!(e.corruption(), Some(&expected), "{e}");
    assert_eq!(e.path(), segment_path(&base, 2));

    // A later segment's own error is kept as it is, not flattened into text.
    let base = damaged(dir.path(), |f| f[1].as_mut().unwrap()[..8].copy_from_slice(b"NOTOMS!!"));
    let e = first_error(&base);
    assert!(matches!(&e, JournalError::Foreign { path } if *path == segment_path(&base, 1)), "{e}");

    let base = damaged(dir.path(), |f| f[1] = None);
    let e = first_error(&base);
    assert!(matches!(&e, JournalError::MissingSegment { index: 1, .. }), "{e}");
    assert!(e.to_string().contains("oms.journal.000001: segment 1 is missing"), "{e}");
}

/// A header whose first sequence number leaves no room for its slots (`first_seq = u64::MAX`,
/// valid CRC, one valid record) once made the readers overflow; it is refused with an error at
/// the header's offset, by the library and by `oms`.
#[test]
fn a_first_sequence_number_at_the_top_of_the_range_is_an_error_not_an_overflow() {
    let dir = tempfile::tempdir().unwrap();
    let base = dir.path().join("oms.journal");
    write_journal(&base, 1, SMALL_SEGMENT, SyncPolicy::None);
    rewrite_header(&base, |h| h.first_seq = u64::MAX);
    let mut bytes = std::fs::read(&base).unwrap();
    let mut r = event(1);
    r.seq = u64::MAX;
    bytes[HEADER..HEADER + 64].copy_from_slice(&r.to_bytes());
    std::fs::write(&base, &bytes).unwrap();

    let e = Journal::open(&base).expect_err("the header is refused");
    let expected = Corruption::SequenceRange { first_seq: u64::MAX, capacity: CAP };
    assert_eq!(e.corruption(), Some(&expected), "{e}");
    let msg = e.to_string();
    assert!(msg.contains("oms.journal: offset 32: first sequence number 18446744073709551615"), "{msg}");
    assert!(Follower::open(&base).is_err());
    for args in [&["verify"][..], &["decode"], &["decode", "--format", "csv"], &["stats"], &["tail"]] {
        let mut a: Vec<&std::ffi::OsStr> = args.iter().map(std::ffi::OsStr::new).collect();
        a.push(base.as_os_str());
        let o = oms(&a);
        let stderr = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(1), "{args:?}: {stderr}");
        assert!(stderr.contains("offset 32: first sequence number"), "{args:?}: {stderr}");
    }
}

/// The highest first sequence number a header allows (its last slot just below `u64::MAX`): a
/// full segment of records reads back and verifies without an overflow, through the reader and
/// the follower. (A base file starts at 1: the segment is a numbered one, read alone.)
#[test]
fn the_highest_sequence_numbers_read_back_without_overflow() {
    let dir = tempfile::tempdir().unwrap();
    let written = dir.path().join("oms.journal");
    write_journal(&written, 1, SMALL_SEGMENT, SyncPolicy::None);
    let base = segment_path(&written, 7);
    std::fs::rename(&written, &base).unwrap();
    let first = u64::MAX - CAP;
    rewrite_header(&base, |h| {
        h.segment_index = 7;
        h.first_seq = first;
    });
    let mut bytes = std::fs::read(&base).unwrap();
    for i in 0..CAP {
        let mut r = event(i + 1);
        r.seq = first + i;
        let at = HEADER + i as usize * 64;
        bytes[at..at + 64].copy_from_slice(&r.to_bytes());
    }
    std::fs::write(&base, &bytes).unwrap();

    let report = Journal::open(&base).unwrap().verify();
    assert!(report.is_sound(), "{:?}", report.error);
    assert_eq!(report.records, CAP);
    assert_eq!(report.last_good.unwrap().seq, u64::MAX - 1);
    assert_eq!(report.segments[0].records, CAP);

    let mut f = Follower::open(&base).unwrap();
    let mut n = 0;
    loop {
        match f.poll().unwrap() {
            Poll::Record(r) => {
                assert_eq!(r.seq, first + n);
                n += 1;
                assert!(n <= CAP);
            }
            Poll::Closed => break,
            Poll::Pending => panic!("the journal is closed"),
        }
    }
    assert_eq!(n, CAP);
    let o = oms(&["verify".as_ref(), base.as_os_str()]);
    assert_eq!(o.status.code(), Some(0), "{}", String::from_utf8_lossy(&o.stderr));
}

/// A full segment that is not closed and has the largest index there is (named
/// `….4294967295`, as its header says): no segment can follow it, so the follower reports it
/// after its last record instead of waiting for ever.
#[test]
fn a_full_segment_with_the_last_index_is_an_error_not_a_wait() {
    let dir = tempfile::tempdir().unwrap();
    let written = dir.path().join("oms.journal");
    write_journal(&written, 1, SMALL_SEGMENT, SyncPolicy::None);
    let path = segment_path(&written, u32::MAX);
    std::fs::rename(&written, &path).unwrap();
    let first = 1 + u64::from(u32::MAX) * CAP;
    rewrite_header(&path, |h| {
        h.segment_index = u32::MAX;
        h.first_seq = first;
        h.closed = false;
    });
    let mut bytes = std::fs::read(&path).unwrap();
    for i in 0..CAP {
        let mut r = event(i + 1);
        r.seq = first + i;
        let at = HEADER + i as usize * 64;
        bytes[at..at + 64].copy_from_slice(&r.to_bytes());
    }
    std::fs::write(&path, &bytes).unwrap();

    let report = Journal::open(&path).unwrap().verify();
    assert!(report.is_sound() && report.records == CAP, "{:?}", report.error);
    let mut f = Follower::open(&path).unwrap();
    for i in 0..CAP {
        assert!(matches!(f.poll(), Ok(Poll::Record(r)) if r.seq == first + i));
    }
    let e = f.poll().expect_err("no segment can follow");
    assert_eq!(e.corruption(), Some(&Corruption::LastIndex { index: u32::MAX }), "{e}");
    assert!(e.to_string().contains("oms.journal.4294967295: offset 24"), "{e}");
}
