//! `JournalWriter::resume`: reopening a journal to append after its last committed record.
//!
//! Journals are left as a clean close leaves them, or as a killed writer does: a child process
//! (this test binary, re-invoked) writes records and exits without closing its writer (no
//! destructor runs, as under SIGKILL: segments prepared ahead stay, the journal is not marked
//! closed). A torn tail, leftover `.tmp` files and damage are crafted on top. After each resume,
//! more records and a close, the whole journal is checked: `verify` sound and closed, sequence
//! numbers 1..n without a gap, every record as written, every segment carrying the original
//! header meta.

mod journal_common;

use std::os::unix::fs::{FileExt, MetadataExt};
use std::path::{Path, PathBuf};
use std::process::Command;

use journal_common::*;
use oms::journal::{Corruption, Journal, JournalError, JournalWriter, SyncPolicy, WriterOptions};
use oms::journal::{JournalSettings, SegmentHeader, segment_path};
use oms::{EventRecord, EventSink};

const CHILD_ENV: &str = "OMS_RESUME_CHILD";
/// Slots of a 64 KiB segment after its 4096-byte header.
const CAP: u64 = 960;

/// Options with a small reserve, so that a writer maps a few segments ahead, not a hundred.
fn options() -> WriterOptions {
    WriterOptions { reserve_records: 64, ..WriterOptions::default() }
}

/// `JournalWriter::resume`, waiting out a lock held only for a moment by another test's child
/// process. The lock is a `flock` on the base file's open file description, and a test of this
/// binary that spawns a child (`killed_writer`) gives the child a copy of every descriptor open
/// at that instant, closed (close-on-exec) only when the child execs: a writer of this test that
/// closed just before still holds the lock through that copy for that moment. A lock held for
/// longer than the deadline is a real `InUse` and is returned.
fn resume(s: &JournalSettings, o: WriterOptions) -> Result<JournalWriter, JournalError> {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    loop {
        match JournalWriter::resume(s, o.clone()) {
            Err(JournalError::InUse { .. }) if std::time::Instant::now() < deadline => {
                std::thread::sleep(std::time::Duration::from_millis(5));
            }
            r => return r,
        }
    }
}

fn settings(base: &Path, sync: SyncPolicy, prepare_records: Option<u64>) -> JournalSettings {
    let mut s = journal(&config(base, SMALL_SEGMENT, sync));
    s.prepare_records = prepare_records.map(|n| n.try_into().expect("non-zero"));
    s
}

/// Appends `event(seq)` for `seq` in `from..=to` as the engine would (preparing more space
/// when the writer stops taking requests, as its idle turns would).
fn append(w: &mut JournalWriter, from: u64, to: u64) {
    assert_eq!(w.next_seq(), from, "the writer continues after the last committed record");
    for seq in from..=to {
        if !w.takes_requests() {
            w.prepare(0).expect("journal space");
        }
        w.record(&event(seq));
    }
}

/// In the child: create a journal at `$OMS_RESUME_CHILD`, write `$OMS_RESUME_N` records with
/// `$OMS_RESUME_PREPARE` records prepared ahead, and exit without closing the writer.
#[test]
fn resume_child() {
    let Ok(base) = std::env::var(CHILD_ENV) else { return };
    let n: u64 = std::env::var("OMS_RESUME_N").expect("n").parse().expect("n");
    let prepare: u64 = std::env::var("OMS_RESUME_PREPARE").expect("prepare").parse().expect("prepare");
    let base = PathBuf::from(base);
    let c = config(&base, SMALL_SEGMENT, SyncPolicy::None);
    let mut w =
        JournalWriter::create_with(&settings(&base, SyncPolicy::None, Some(prepare)), &meta(&c), options())
            .expect("create");
    append(&mut w, 1, n);
    // No destructor runs: the writer is abandoned as a killed process abandons it.
    std::process::exit(0);
}

/// A journal at `base` with `n` records, left by a writer that never closed it, with `prepare`
/// records' worth of segments prepared ahead.
fn killed_writer(base: &Path, n: u64, prepare: u64) {
    let out = Command::new(std::env::current_exe().expect("test binary"))
        .args(["--exact", "resume_child", "--nocapture", "--test-threads=1"])
        .env(CHILD_ENV, base)
        .env("OMS_RESUME_N", n.to_string())
        .env("OMS_RESUME_PREPARE", prepare.to_string())
        .output()
        .expect("run the child");
    assert!(out.status.success(), "child: {}", String::from_utf8_lossy(&out.stderr));
    let report = Journal::open(base).expect("journal").verify();
    assert!(report.is_sound() && !report.closed && report.records == n, "{report:?}");
}

/// The whole journal after the last writer closed it: sound, closed, 1..=n as written, no torn
/// tail, every segment with segment 0's header meta, no `.tmp` file.
fn check(base: &Path, n: u64, meta_of: &SegmentHeader) {
    let j = Journal::open(base).expect("journal");
    let report = j.verify();
    assert!(report.is_sound(), "{:?}", report.error);
    assert!(report.closed, "closed");
    assert_eq!(report.torn_tail, None);
    assert_eq!((report.records, report.first_seq), (n, Some(1)));
    for (i, r) in j.records().enumerate() {
        let r = r.expect("record");
        assert_eq!(r.seq, i as u64 + 1, "sequence numbers without a gap");
        assert_eq!(r, event(i as u64 + 1), "record {} as written", i + 1);
    }
    for (path, h) in j.segments() {
        assert_eq!(h.journal_id, meta_of.journal_id, "{}", path.display());
        assert_eq!(h.meta, meta_of.meta, "{}", path.display());
        assert_eq!(h.segment_bytes, meta_of.segment_bytes, "{}", path.display());
    }
    let leftovers: Vec<PathBuf> =
        journal_files(base).into_iter().filter(|p| p.extension().is_some_and(|e| e == "tmp")).collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
    // Exactly one segment is marked closed: the last one holding records.
    assert_eq!(report.segments.iter().filter(|s| s.closed).count(), 1, "{:?}", report.segments);
}

fn header(base: &Path) -> SegmentHeader {
    Journal::open(base).expect("journal").header().clone()
}

/// The file and offset of the slot of sequence number `seq` in 64 KiB segments.
fn slot_of(base: &Path, seq: u64) -> (PathBuf, u64) {
    let index = ((seq - 1) / CAP) as u32;
    (segment_path(base, index), 4096 + (seq - 1) % CAP * 64)
}

/// Writes a torn record into the slot of `seq`: a body, and a sequence word still 0.
fn tear(base: &Path, seq: u64) {
    let (path, offset) = slot_of(base, seq);
    let mut body = event(seq).to_bytes();
    body[..8].fill(0);
    let f = std::fs::OpenOptions::new().write(true).open(&path).expect("segment");
    f.write_all_at(&body, offset).expect("write the torn body");
}

fn slot_bytes(base: &Path, seq: u64) -> Vec<u8> {
    let (path, offset) = slot_of(base, seq);
    let mut b = vec![0u8; 64];
    std::fs::File::open(path).expect("segment").read_exact_at(&mut b, offset).expect("read");
    b
}

/// Every file of the journal, with its bytes.
fn snapshot(base: &Path) -> Vec<(PathBuf, Vec<u8>)> {
    journal_files(base).into_iter().map(|p| (p.clone(), std::fs::read(&p).expect("read"))).collect()
}

#[test]
fn resumes_after_a_clean_close() {
    let dir = tempfile::tempdir().unwrap();
    let base = dir.path().join("oms.journal");
    write_journal(&base, 1500, SMALL_SEGMENT, SyncPolicy::None);
    let original = header(&base);
    // Another configuration's segment size, meta and prepare target: the journal keeps its own.
    let mut s = settings(&base, SyncPolicy::None, None);
    s.segment_bytes = 4 * SMALL_SEGMENT;
    let mut w = resume(&s, options()).expect("resume");
    assert_eq!(w.next_seq(), 1501);
    assert!(!Journal::open(&base).unwrap().verify().closed, "open again");
    append(&mut w, 1501, 3000);
    assert_eq!(w.close().expect("close").last_seq, 3000);
    check(&base, 3000, &original);
    // And once more, from where that one stopped.
    let mut w = resume(&s, options()).expect("resume");
    append(&mut w, 3001, 3100);
    w.close().expect("close");
    check(&base, 3100, &original);
}

#[test]
fn resumes_after_a_kill_with_a_torn_tail() {
    let dir = tempfile::tempdir().unwrap();
    let base = dir.path().join("oms.journal");
    killed_writer(&base, 1000, 960);
    let original = header(&base);
    tear(&base, 1001);
    let report = Journal::open(&base).unwrap().verify();
    assert!(report.is_sound(), "{:?}", report.error);
    assert_eq!(report.torn_tail.as_ref().map(|t| t.seq), Some(1001));

    let s = settings(&base, SyncPolicy::OnLogout, None);
    let mut w = resume(&s, options()).expect("resume");
    // Zeroed before anything is appended: a kill now would leave no torn record behind.
    assert_eq!(slot_bytes(&base, 1001), vec![0u8; 64]);
    let report = Journal::open(&base).unwrap().verify();
    assert!(report.is_sound() && report.torn_tail.is_none(), "{report:?}");
    assert_eq!(w.stats().synced_seq, 1000, "the previous run's records were flushed at resume");
    append(&mut w, 1001, 2500);
    w.sync();
    let stats = w.close().expect("close");
    assert_eq!((stats.sync_errors, stats.synced_seq, stats.dropped), (0, 2500, 0));
    check(&base, 2500, &original);
}

#[test]
fn a_resumed_writer_closed_at_once_leaves_no_torn_record() {
    let dir = tempfile::tempdir().unwrap();
    let base = dir.path().join("oms.journal");
    killed_writer(&base, 10, 960);
    let original = header(&base);
    tear(&base, 11);
    resume(&settings(&base, SyncPolicy::None, None), options()).unwrap().close().unwrap();
    check(&base, 10, &original);
}

#[test]
fn resumes_a_journal_without_a_record() {
    // Killed after creating it (segments prepared ahead), and closed without a record.
    for killed in [true, false] {
        let dir = tempfile::tempdir().unwrap();
        let base = dir.path().join("oms.journal");
        if killed {
            killed_writer(&base, 0, 2 * CAP);
            tear(&base, 1);
        } else {
            write_journal(&base, 0, SMALL_SEGMENT, SyncPolicy::None);
        }
        let original = header(&base);
        let mut w = resume(&settings(&base, SyncPolicy::None, None), options()).unwrap();
        append(&mut w, 1, CAP + 10);
        w.close().unwrap();
        check(&base, CAP + 10, &original);
    }
}

#[test]
fn resumes_at_an_exact_segment_boundary() {
    // Closed cleanly (no segment after the full one) and killed (the next one prepared ahead).
    for killed in [false, true] {
        let dir = tempfile::tempdir().unwrap();
        let base = dir.path().join("oms.journal");
        if killed {
            killed_writer(&base, 2 * CAP, 960);
            assert!(segment_path(&base, 2).exists(), "a segment prepared ahead");
            tear(&base, 2 * CAP + 1); // the torn slot is slot 0 of the next segment
        } else {
            write_journal(&base, 2 * CAP, SMALL_SEGMENT, SyncPolicy::None);
            assert!(!segment_path(&base, 2).exists());
        }
        let original = header(&base);
        let mut w = resume(&settings(&base, SyncPolicy::None, None), options()).unwrap();
        assert_eq!(w.next_seq(), 2 * CAP + 1);
        append(&mut w, 2 * CAP + 1, 2 * CAP + 5);
        w.close().unwrap();
        check(&base, 2 * CAP + 5, &original);
        let j = Journal::open(&base).unwrap();
        let report = j.verify();
        assert_eq!(report.segments[2].first_seq, 2 * CAP + 1, "killed: {killed}");
        assert_eq!(report.segments[2].records, 5, "killed: {killed}");
    }
}

#[test]
fn reuses_segments_prepared_ahead() {
    let dir = tempfile::tempdir().unwrap();
    let base = dir.path().join("oms.journal");
    killed_writer(&base, 100, 5 * CAP);
    let original = header(&base);
    let before = journal_files(&base);
    assert!(before.len() >= 5, "segments prepared ahead: {before:?}");
    let inodes =
        |files: &[PathBuf]| files.iter().map(|p| std::fs::metadata(p).unwrap().ino()).collect::<Vec<_>>();
    let inodes_before = inodes(&before);

    let mut w = resume(&settings(&base, SyncPolicy::None, Some(CAP)), options()).unwrap();
    assert_eq!(w.stats().segments_built, 0, "the prepared segments are reused, none built");
    assert_eq!(inodes(&before), inodes_before, "the same files");
    assert!(w.mapped_room() >= (before.len() as u64 - 1) * CAP, "mapped: {}", w.mapped_room());
    append(&mut w, 101, 4 * CAP);
    let stats = w.close().unwrap();
    assert_eq!(stats.segments, 4);
    check(&base, 4 * CAP, &original);
}

#[test]
fn removes_leftover_tmp_files() {
    let dir = tempfile::tempdir().unwrap();
    let base = dir.path().join("oms.journal");
    killed_writer(&base, 100, 960);
    let original = header(&base);
    let next = journal_files(&base).len() as u32;
    // A preparation cut short (a file with no header), and a link whose `.tmp` name stayed.
    let cut_short = PathBuf::from(format!("{}.tmp", segment_path(&base, next).display()));
    std::fs::write(&cut_short, b"half a segment").unwrap();
    let linked = PathBuf::from(format!("{}.tmp", segment_path(&base, 1).display()));
    std::fs::hard_link(segment_path(&base, 1), &linked).unwrap();
    // Someone else's file is left alone.
    let other = dir.path().join("other.journal.000001.tmp");
    std::fs::write(&other, b"not ours").unwrap();

    let mut w = resume(&settings(&base, SyncPolicy::None, None), options()).unwrap();
    assert!(!cut_short.exists() && !linked.exists());
    assert!(other.exists());
    append(&mut w, 101, 100 + 4 * CAP);
    w.close().unwrap();
    check(&base, 100 + 4 * CAP, &original);
}

#[test]
fn keeps_dropped_and_sync_failed_flags() {
    let dir = tempfile::tempdir().unwrap();
    let base = dir.path().join("oms.journal");
    write_journal(&base, 1200, SMALL_SEGMENT, SyncPolicy::None);
    let original = header(&base);
    // Segment 0 once failed a flush; the writer had dropped 3 records when it last updated it.
    rewrite_header(&base, |h| {
        h.sync_failed = true;
        h.dropped = 3;
    });
    let mut w = resume(&settings(&base, SyncPolicy::None, None), options()).unwrap();
    append(&mut w, 1201, 3000);
    let stats = w.close().unwrap();
    assert_eq!(stats.dropped, 3, "the journal's count goes on from the largest");
    let report = Journal::open(&base).unwrap().verify();
    assert!(report.sync_failed, "a journal that once failed a flush stays marked");
    assert_eq!(report.dropped, 3);
    let o = oms(&["verify".as_ref(), base.as_os_str()]);
    assert_eq!(o.status.code(), Some(1), "{}", String::from_utf8_lossy(&o.stdout));
    // The records are all there all the same (`check` minus the flags).
    let j = Journal::open(&base).unwrap();
    let read: Vec<EventRecord> = j.records().collect::<Result<_, _>>().unwrap();
    assert_eq!(read.len(), 3000);
    assert!(read.iter().enumerate().all(|(i, r)| *r == event(i as u64 + 1)));
    assert_eq!(j.header().meta, original.meta);
}

/// Resume refuses, with `expected`'s error, and leaves every byte of every file as it was.
fn refused(base: &Path, what: &str, expected: impl Fn(&JournalError) -> bool) -> JournalError {
    let before = snapshot(base);
    let e = resume(&settings(base, SyncPolicy::OnLogout, None), options()).expect_err(what);
    assert!(expected(&e), "{what}: {e:?}");
    assert_eq!(snapshot(base), before, "{what}: the journal is left untouched");
    e
}

#[test]
fn refuses_a_corrupt_journal_naming_file_and_offset() {
    let dir = tempfile::tempdir().unwrap();
    let base = dir.path().join("oms.journal");
    killed_writer(&base, 1500, 2 * CAP);
    let reader_error = || Journal::open(&base).unwrap().verify().error.expect("corrupt");

    // A flipped byte in a committed record (seq 1200, in segment 1).
    let (path, offset) = slot_of(&base, 1200);
    let f = std::fs::OpenOptions::new().read(true).write(true).open(&path).unwrap();
    let mut b = [0u8; 1];
    f.read_exact_at(&mut b, offset + 20).unwrap();
    f.write_all_at(&[b[0] ^ 0x10], offset + 20).unwrap();
    let want = reader_error();
    let e = refused(&base, "a damaged record", |e| {
        matches!(e, JournalError::Corrupt { problem: Corruption::Checksum { seq: 1200 }, .. })
    });
    assert_eq!(e.to_string(), want.to_string());
    assert!(e.to_string().contains(&format!("oms.journal.000001: offset {offset}")), "{e}");
    f.write_all_at(&b, offset + 20).unwrap();

    // Data after the end: something in a slot past the torn one.
    tear(&base, 1501);
    let (path, offset) = slot_of(&base, 1503);
    std::fs::OpenOptions::new().write(true).open(&path).unwrap().write_all_at(&[7], offset + 9).unwrap();
    refused(&base, "data after a gap", |e| {
        matches!(e, JournalError::Corrupt { problem: Corruption::DataAfterGap { seq: 1501, .. }, .. })
    });
    std::fs::OpenOptions::new().write(true).open(&path).unwrap().write_all_at(&[0], offset + 9).unwrap();

    // A segment prepared ahead that does not continue the sequence numbers.
    let last = journal_files(&base).len() as u32 - 1;
    assert!(last >= 2, "a segment prepared ahead");
    rewrite_header(&segment_path(&base, last), |h| h.first_seq += 1);
    let e = refused(&base, "a segment out of sequence", |e| {
        matches!(e, JournalError::Corrupt { problem: Corruption::SequenceGap { .. }, offset: 32, .. })
    });
    assert_eq!(e.path(), segment_path(&base, last));
    rewrite_header(&segment_path(&base, last), |h| h.first_seq -= 1);

    // A missing middle segment.
    let one = std::fs::read(segment_path(&base, 1)).unwrap();
    std::fs::remove_file(segment_path(&base, 1)).unwrap();
    refused(&base, "a missing segment", |e| matches!(e, JournalError::MissingSegment { index: 1, .. }));
    std::fs::write(segment_path(&base, 1), one).unwrap();

    // A truncated segment prepared ahead (mapping it whole would be SIGBUS on a write).
    let p = segment_path(&base, last);
    let len = std::fs::metadata(&p).unwrap().len();
    std::fs::OpenOptions::new().write(true).open(&p).unwrap().set_len(len - 4096).unwrap();
    refused(&base, "a truncated segment", |e| matches!(e, JournalError::Corrupt { .. }) && e.path() == p);
    std::fs::OpenOptions::new().write(true).open(&p).unwrap().set_len(len).unwrap();

    // Repaired, it resumes.
    let original = header(&base);
    let mut w = resume(&settings(&base, SyncPolicy::None, None), options()).unwrap();
    append(&mut w, 1501, 1600);
    w.close().unwrap();
    check(&base, 1600, &original);
}

#[test]
fn refuses_a_path_with_no_journal() {
    let dir = tempfile::tempdir().unwrap();
    let base = dir.path().join("oms.journal");
    let e = resume(&settings(&base, SyncPolicy::None, None), options()).unwrap_err();
    assert!(
        matches!(&e, JournalError::Io { source, .. } if source.kind() == std::io::ErrorKind::NotFound),
        "{e}"
    );
    assert_eq!(e.path(), base);
    assert!(std::fs::read_dir(dir.path()).unwrap().next().is_none(), "nothing created");

    // A file that is not a journal.
    std::fs::write(&base, b"hello").unwrap();
    refused(&base, "a foreign file", |e| matches!(e, JournalError::Foreign { .. }));

    // A numbered segment is not the base of a journal.
    std::fs::remove_file(&base).unwrap();
    write_journal(&base, 1000, SMALL_SEGMENT, SyncPolicy::None);
    let one = segment_path(&base, 1);
    let before = snapshot(&base);
    let e = resume(&settings(&one, SyncPolicy::None, None), options()).unwrap_err();
    assert!(matches!(&e, JournalError::NotBase { index: 1, .. }), "{e}");
    assert_eq!(snapshot(&base), before);
}

#[test]
fn one_writer_at_a_time() {
    let dir = tempfile::tempdir().unwrap();
    let base = dir.path().join("oms.journal");
    let c = config(&base, SMALL_SEGMENT, SyncPolicy::None);
    let s = settings(&base, SyncPolicy::None, None);
    let mut live = JournalWriter::create_with(&s, &meta(&c), options()).unwrap();
    append(&mut live, 1, 10);
    let e = JournalWriter::resume(&s, options()).unwrap_err();
    assert!(matches!(&e, JournalError::InUse { .. }), "{e}");
    let overwrite = WriterOptions { overwrite: true, ..options() };
    let e = JournalWriter::create_with(&s, &meta(&c), overwrite).unwrap_err();
    assert!(matches!(&e, JournalError::InUse { .. }), "overwrite never removes a live journal: {e}");
    append(&mut live, 11, 20);
    // A writer that lets go a moment later (as a process killed a moment ago does, once the
    // kernel has torn it down) is waited for: resuming then succeeds, with no retry by the caller.
    let closer = std::thread::spawn(move || {
        std::thread::sleep(std::time::Duration::from_millis(300));
        live.close().unwrap();
    });
    let mut w = JournalWriter::resume(&s, options()).expect("the lock is waited for");
    closer.join().unwrap();
    append(&mut w, 21, 30);
    w.close().unwrap();
    check(&base, 30, &header(&base));
}
