//! Journal writer and reader: round trip over several segments, no overwrite, mode 0600, no
//! password bytes, full disk (injected and, where mounting is allowed, a real tmpfs), torn tail,
//! live following.

mod journal_common;

use std::os::unix::fs::PermissionsExt;
use std::time::Duration;

use journal_common::*;
use oms::journal::SyncPolicy;
use oms::journal::{Follower, Journal, JournalError, JournalWriter, Poll, WriterOptions, segment_path};
use oms::{EventKind, EventRecord, EventSink};

#[test]
fn round_trip_across_segments() {
    for sync in [SyncPolicy::None, SyncPolicy::OnLogout, SyncPolicy::IntervalMs(1.try_into().unwrap())] {
        let dir = tempfile::tempdir().unwrap();
        let base = dir.path().join("oms.journal");
        let written = write_journal(&base, 2500, SMALL_SEGMENT, sync);
        let j = Journal::open(&base).unwrap();
        let read: Vec<EventRecord> = j.records().collect::<Result<_, _>>().unwrap();
        assert_eq!(read.len(), 2500);
        for (r, w) in read.iter().zip(&written) {
            assert_eq!(r, w);
        }
        let report = j.verify();
        assert!(report.is_sound(), "{:?}", report.error);
        assert_eq!(report.records, 2500);
        assert!(report.closed);
        assert_eq!(report.torn_tail, None);
        // 960 records per 64 KiB segment: 3 segments, and the unused prepared one was deleted.
        assert_eq!(report.segments.len(), 3);
        assert_eq!(report.segments.iter().map(|s| s.records).collect::<Vec<_>>(), [960, 960, 580]);
        assert_eq!(journal_files(&base).len(), 3, "{:?}", journal_files(&base));
        let h = j.header();
        assert_eq!(h.meta.timezone, "Asia/Kolkata");
        assert_eq!(h.meta.created_wall_ns, T0);
        assert_eq!(h.meta.anchor_wall_ns, T0);
        assert_eq!(h.meta.ns_per_tick, 1.0);
        assert!(h.meta.config_toml.contains("max_orders_per_sec = 100"), "{}", h.meta.config_toml);

        // A numbered segment opens on its own.
        let one = Journal::open(segment_path(&base, 1)).unwrap();
        let recs: Vec<_> = one.records().collect::<Result<_, _>>().unwrap();
        assert_eq!(recs.len(), 960);
        assert_eq!(recs[0].seq, 961);
    }
}

#[test]
fn refuses_to_overwrite_unless_told() {
    let dir = tempfile::tempdir().unwrap();
    let base = dir.path().join("oms.journal");
    write_journal(&base, 10, SMALL_SEGMENT, SyncPolicy::None);
    let c = config(&base, SMALL_SEGMENT, SyncPolicy::None);
    let err = JournalWriter::create(&journal(&c), &meta(&c)).unwrap_err();
    assert!(matches!(err, JournalError::Exists { .. }), "{err}");
    assert!(err.to_string().contains("oms.journal"), "{err}");
    // The message names the way to replace it.
    assert!(
        err.to_string().contains("JournalWriter::create_with") && err.to_string().contains("overwrite: true"),
        "{err}"
    );
    // A leftover numbered segment also blocks a new journal.
    std::fs::remove_file(&base).unwrap();
    std::fs::write(segment_path(&base, 4), b"x").unwrap();
    let err = JournalWriter::create(&journal(&c), &meta(&c)).unwrap_err();
    assert!(err.to_string().contains("oms.journal.000004"), "{err}");
    let opts = WriterOptions { overwrite: true, ..Default::default() };
    let w = JournalWriter::create_with(&journal(&c), &meta(&c), opts).unwrap();
    w.close().unwrap();
    assert!(!segment_path(&base, 4).exists());
    assert_eq!(Journal::open(&base).unwrap().verify().records, 0);
}

#[test]
fn files_are_private_and_never_contain_the_password() {
    let dir = tempfile::tempdir().unwrap();
    let base = dir.path().join("oms.journal");
    write_journal(&base, 2000, SMALL_SEGMENT, SyncPolicy::OnLogout);
    let files = journal_files(&base);
    assert_eq!(files.len(), 3);
    for f in &files {
        let mode = std::fs::metadata(f).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600, "{}", f.display());
        let bytes = std::fs::read(f).unwrap();
        assert!(!bytes.windows(PASSWORD.len()).any(|w| w == PASSWORD.as_bytes()), "{}", f.display());
        // The user name is in the header (so the search above would have found the password).
        assert!(bytes.windows(6).any(|w| w == b"trader"));
    }
}

#[test]
fn the_writer_numbers_the_records() {
    let dir = tempfile::tempdir().unwrap();
    let base = dir.path().join("oms.journal");
    let c = config(&base, SMALL_SEGMENT, SyncPolicy::None);
    let mut w = JournalWriter::create(&journal(&c), &meta(&c)).unwrap();
    w.record(&event(1));
    w.record(&event(7)); // the caller's seq is not the journal's
    let stats = w.close().unwrap();
    assert_eq!(stats.last_seq, 2);
    let seqs: Vec<u64> = Journal::open(&base).unwrap().records().map(|r| r.unwrap().seq).collect();
    assert_eq!(seqs, [1, 2]);
}

/// What [`fill_like_an_engine`] saw.
struct Filled {
    report: oms::journal::VerifyReport,
    stats: oms::journal::JournalStats,
    /// Records written when `has_room` turned false (New orders would be `journal_full` from here).
    room_until: u64,
    /// Records written when `takes_requests` stayed false (the engine stops taking requests).
    intake_until: u64,
}

/// Drives a writer as the engine does on a full disk: one record per request while it takes
/// requests, idle turns (`housekeep`) while it does not; once it stays closed (nothing left to
/// prepare, the clock frozen so no retry comes), the end of the session: `reserve` records, then
/// 5 more than the room (dropped, counted, no panic).
fn fill_like_an_engine(base: &std::path::Path, opts: WriterOptions) -> Filled {
    let (clock, _mock) = quanta::Clock::mock();
    let c = config(base, SMALL_SEGMENT, SyncPolicy::OnLogout);
    let opts = WriterOptions { clock: Some(clock), ..opts };
    let mut w = JournalWriter::create_with(&journal(&c), &meta(&c), opts).unwrap();
    let reserve = w.reserve_records();
    let mut seq = 0;
    let mut room_until = None;
    let intake_until = loop {
        if w.takes_requests() {
            if !w.has_room() && room_until.is_none() {
                room_until = Some(seq);
            }
            seq += 1;
            w.record(&event(seq));
            assert!(seq < 1_000_000, "never filled");
        } else if !w.housekeep() {
            assert!(!w.takes_requests(), "idle turns found nothing to do while requests wait");
            break seq;
        }
    };
    assert!(!w.has_room());
    // The end of the session fits the reserve exactly...
    for _ in 0..reserve {
        seq += 1;
        w.record(&event(seq));
    }
    // ...and beyond it, records are dropped and counted, without a panic.
    for _ in 0..5 {
        seq += 1;
        w.record(&event(seq));
    }
    let stats = w.close().unwrap();
    Filled {
        report: Journal::open(base).unwrap().verify(),
        stats,
        room_until: room_until.expect("has_room turned false"),
        intake_until,
    }
}

#[test]
fn full_disk_injected_enospc() {
    let dir = tempfile::tempdir().unwrap();
    let base = dir.path().join("oms.journal");
    let opts =
        WriterOptions { inject_enospc_from_segment: Some(2), reserve_records: 100, ..Default::default() };
    let f = fill_like_an_engine(&base, opts);
    // Two segments of 960 slots exist: New orders stop with twice the reserve left, requests
    // with the reserve left.
    assert_eq!(f.room_until, 2 * 960 - 200, "has_room turns false with twice the reserve left");
    assert_eq!(f.intake_until, 2 * 960 - 100, "takes_requests turns false with the reserve left");
    assert!(f.report.is_sound(), "{:?}", f.report.error);
    assert_eq!(f.report.records, 2 * 960);
    assert_eq!(f.stats.dropped, 5);
    assert_eq!(f.report.dropped, 5, "the drop count is in the header");
    assert!(f.stats.prepare_failures >= 1);
    assert!(f.stats.last_prepare_error.unwrap().contains("No space left"));
    // A journal with dropped records is not a good journal.
    let o = oms(&["verify".as_ref(), base.as_os_str()]);
    let stdout = String::from_utf8_lossy(&o.stdout);
    assert_eq!(o.status.code(), Some(1), "{stdout}");
    assert!(stdout.contains("INCOMPLETE") && stdout.contains("dropped 5 records"), "{stdout}");
}

/// The same on a real, tiny tmpfs. Mounting needs root (CAP_SYS_ADMIN): CI runs as root; a
/// machine where it cannot mount fails this test unless `OMS_SKIP_REAL_DISK_FULL=1` says to skip
/// it knowingly.
#[test]
fn full_disk_real_tmpfs() {
    let dir = tempfile::tempdir().unwrap();
    let mnt = dir.path().join("mnt");
    std::fs::create_dir(&mnt).unwrap();
    // Room for exactly 3 segments of 64 KiB.
    let out = std::process::Command::new("mount")
        .args(["-t", "tmpfs", "-o", "size=192k,mode=0700", "tmpfs"])
        .arg(&mnt)
        .output();
    let mounted = matches!(&out, Ok(o) if o.status.success());
    if !mounted {
        let why = match &out {
            Ok(o) => String::from_utf8_lossy(&o.stderr).into_owned(),
            Err(e) => e.to_string(),
        };
        if std::env::var("OMS_SKIP_REAL_DISK_FULL").as_deref() == Ok("1") {
            eprintln!(
                "full_disk_real_tmpfs: SKIPPED (OMS_SKIP_REAL_DISK_FULL=1): cannot mount a tmpfs: {why}"
            );
            return;
        }
        panic!(
            "full_disk_real_tmpfs cannot mount a tmpfs ({why}); run the tests as root, or set \
             OMS_SKIP_REAL_DISK_FULL=1 to skip this test knowingly"
        );
    }
    struct Unmount(std::path::PathBuf);
    impl Drop for Unmount {
        fn drop(&mut self) {
            let _ = std::process::Command::new("umount").arg(&self.0).status();
        }
    }
    let _guard = Unmount(mnt.clone());
    let base = mnt.join("oms.journal");
    let opts = WriterOptions { reserve_records: 100, ..Default::default() };
    let f = fill_like_an_engine(&base, opts);
    assert_eq!(f.room_until, 3 * 960 - 200);
    assert_eq!(f.intake_until, 3 * 960 - 100);
    assert!(f.report.is_sound(), "{:?}", f.report.error);
    assert_eq!(f.report.records, 3 * 960);
    assert_eq!(f.stats.dropped, 5);
    let err = f.stats.last_prepare_error.unwrap();
    assert!(err.contains("No space left") && err.contains("fallocate"), "{err}");
    // No half-prepared segment left behind.
    assert_eq!(journal_files(&base).len(), 3, "{:?}", journal_files(&base));
}

#[test]
fn torn_tail_is_reported_and_ignored() {
    let dir = tempfile::tempdir().unwrap();
    let base = dir.path().join("oms.journal");
    write_journal(&base, 10, SMALL_SEGMENT, SyncPolicy::None);
    // Plant the body of record 11 without its sequence number, as a kill between the body
    // write and the publishing store leaves it.
    let mut bytes = std::fs::read(&base).unwrap();
    let at = 4096 + 10 * 64;
    let body = event(11).to_bytes();
    bytes[at + 8..at + 64].copy_from_slice(&body[8..]);
    std::fs::write(&base, &bytes).unwrap();
    let report = Journal::open(&base).unwrap().verify();
    assert!(report.is_sound(), "{:?}", report.error);
    assert_eq!(report.records, 10);
    let torn = report.torn_tail.unwrap();
    assert_eq!((torn.offset, torn.seq), (at as u64, 11));
    let last = report.last_good.unwrap();
    assert_eq!((last.seq, last.offset), (10, at as u64 - 64));

    // Data after the gap is corruption, not a torn tail.
    bytes[at + 64 * 3..at + 64 * 4].copy_from_slice(&body);
    std::fs::write(&base, &bytes).unwrap();
    let report = Journal::open(&base).unwrap().verify();
    let err = report.error.unwrap().to_string();
    assert!(err.contains(&format!("offset {at}")) && err.contains("missing"), "{err}");
}

#[test]
fn follower_sees_records_as_they_are_published() {
    let dir = tempfile::tempdir().unwrap();
    let base = dir.path().join("oms.journal");
    let c = config(&base, SMALL_SEGMENT, SyncPolicy::None);
    let mut w = JournalWriter::create(&journal(&c), &meta(&c)).unwrap();
    let mut f = Follower::open(&base).unwrap();
    assert_eq!(f.poll().unwrap(), Poll::Pending);
    let mut seq = 0;
    let mut seen = 0;
    for batch in [5u64, 1000, 2000] {
        for _ in 0..batch {
            if !w.takes_requests() {
                w.prepare(0).expect("journal space");
            }
            seq += 1;
            w.record(&event(seq));
        }
        loop {
            match f.poll().unwrap() {
                Poll::Record(r) => {
                    seen += 1;
                    assert_eq!(r.seq, seen);
                    assert_eq!(r, event(seen));
                }
                Poll::Pending => break,
                Poll::Closed => panic!("not closed yet"),
            }
        }
        assert_eq!(seen, seq);
    }
    w.close().unwrap();
    assert_eq!(f.poll().unwrap(), Poll::Closed);
    assert_eq!(event(10).kind, EventKind::Logon);
}

/// Polls `f` until it returns something other than a record, counting the records (bounded:
/// a follower of a finite file returns at most `max` records).
fn drain(f: &mut Follower, max: u64) -> (u64, Result<Poll, JournalError>) {
    let mut n = 0;
    loop {
        match f.poll() {
            Ok(Poll::Record(_)) => {
                n += 1;
                assert!(n <= max, "more than {max} records");
            }
            other => return (n, other),
        }
    }
}

#[test]
fn follower_ends_when_the_last_record_exactly_fills_a_segment() {
    let dir = tempfile::tempdir().unwrap();
    let base = dir.path().join("oms.journal");
    let c = config(&base, SMALL_SEGMENT, SyncPolicy::None);
    let mut w = JournalWriter::create(&journal(&c), &meta(&c)).unwrap();
    for seq in 1..=960 {
        w.record(&event(seq));
    }
    // Segment 1 is prepared (not yet used): the follower moves into it after the last record of
    // segment 0, as it must when the writer goes on.
    assert!(segment_path(&base, 1).exists());
    let mut f = Follower::open(&base).unwrap();
    let (n, end) = drain(&mut f, 960);
    assert_eq!((n, end.unwrap()), (960, Poll::Pending));
    assert_eq!(f.current_path(), segment_path(&base, 1), "the follower waits in the prepared segment");
    // The writer closes with segment 0 as its last segment; segment 1 is never marked closed
    // (it is deleted), so only segment 0's mark can end the follow.
    w.close().unwrap();
    assert!(!segment_path(&base, 1).exists());
    assert_eq!(f.poll().unwrap(), Poll::Closed);
}

/// Clears the `closed` mark of a finished journal, so that a follower waits for more records as
/// it does behind a running writer (without a writer whose mapping a truncation would break).
fn reopen_for_following(base: &std::path::Path) {
    rewrite_header(base, |h| h.closed = false);
}

#[test]
fn a_follower_reports_a_file_truncated_under_it_instead_of_dying() {
    let dir = tempfile::tempdir().unwrap();
    let base = dir.path().join("oms.journal");
    write_journal(&base, 100, SMALL_SEGMENT, SyncPolicy::None);
    reopen_for_following(&base);

    // Truncated behind the follower's position: through a mapping, the next read is SIGBUS.
    let mut f = Follower::open(&base).unwrap();
    let (n, end) = drain(&mut f, 100);
    assert_eq!((n, end.unwrap()), (100, Poll::Pending));
    let file = std::fs::OpenOptions::new().write(true).open(&base).unwrap();
    file.set_len(4096 + 20 * 64).unwrap();
    let err = f.poll().expect_err("a truncated file is an error").to_string();
    assert!(err.contains("oms.journal") && err.contains("truncated"), "{err}");
    assert!(
        err.contains(&format!("the file is {} bytes, its header says {SMALL_SEGMENT}", 4096 + 20 * 64)),
        "{err}"
    );

    // Truncated ahead of it, past the records: the records are returned, then the error
    // (rather than waiting for records that cannot come).
    let dir = tempfile::tempdir().unwrap();
    let base = dir.path().join("oms.journal");
    write_journal(&base, 100, SMALL_SEGMENT, SyncPolicy::None);
    reopen_for_following(&base);
    let mut f = Follower::open(&base).unwrap();
    assert!(matches!(f.poll().unwrap(), Poll::Record(_)));
    std::fs::OpenOptions::new().write(true).open(&base).unwrap().set_len(4096 + 500 * 64).unwrap();
    let (n, end) = drain(&mut f, 100);
    assert_eq!(n, 99);
    let err = end.expect_err("a truncated file is an error").to_string();
    assert!(err.contains("oms.journal") && err.contains("truncated"), "{err}");
}

/// Waits for `child` to exit, killing it after `deadline` (then the test fails with `what`).
fn wait_exit(child: &mut std::process::Child, deadline: Duration, what: &str) -> std::process::ExitStatus {
    let start = std::time::Instant::now();
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            return status;
        }
        if start.elapsed() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("{what}: `oms tail` still running after {deadline:?}");
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// Spawns `oms tail --format csv base` and a thread that counts its record lines.
fn spawn_tail(base: &std::path::Path) -> (std::process::Child, std::sync::mpsc::Receiver<u64>) {
    use std::io::BufRead;
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_oms"))
        .args(["tail", "--format", "csv"])
        .arg(base)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for (n, _) in std::io::BufReader::new(stdout).lines().map_while(Result::ok).skip(1).enumerate() {
            let _ = tx.send(n as u64 + 1);
        }
    });
    (child, rx)
}

/// Waits until the tail has printed `n` records.
fn wait_lines(rx: &std::sync::mpsc::Receiver<u64>, n: u64) {
    loop {
        let seen = rx.recv_timeout(Duration::from_secs(60)).expect("`oms tail` printed too few records");
        if seen == n {
            return;
        }
    }
}

#[test]
fn oms_tail_exits_when_the_writer_closes_after_exactly_filling_a_segment() {
    let dir = tempfile::tempdir().unwrap();
    let base = dir.path().join("oms.journal");
    let c = config(&base, SMALL_SEGMENT, SyncPolicy::None);
    let mut w = JournalWriter::create(&journal(&c), &meta(&c)).unwrap();
    for seq in 1..=960 {
        w.record(&event(seq));
    }
    assert!(segment_path(&base, 1).exists(), "the next segment is prepared");
    let (mut child, rx) = spawn_tail(&base);
    // The tail flushes its output when it finds nothing new: by then it waits in segment 1.
    wait_lines(&rx, 960);
    w.close().unwrap();
    let status = wait_exit(&mut child, Duration::from_secs(60), "closed journal");
    assert_eq!(status.code(), Some(0), "{status:?}");
}

#[test]
fn oms_tail_on_a_truncated_file_exits_with_a_message_not_a_signal() {
    let dir = tempfile::tempdir().unwrap();
    let base = dir.path().join("oms.journal");
    write_journal(&base, 100, SMALL_SEGMENT, SyncPolicy::None);
    reopen_for_following(&base);
    let (mut child, rx) = spawn_tail(&base);
    wait_lines(&rx, 100);
    std::fs::OpenOptions::new().write(true).open(&base).unwrap().set_len(4096 + 10 * 64).unwrap();
    let status = wait_exit(&mut child, Duration::from_secs(60), "truncated journal");
    let mut stderr = String::new();
    std::io::Read::read_to_string(&mut child.stderr.take().unwrap(), &mut stderr).unwrap();
    assert_eq!(std::os::unix::process::ExitStatusExt::signal(&status), None, "killed by a signal: {stderr}");
    assert_eq!(status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("oms.journal") && stderr.contains("truncated"), "{stderr}");
}

/// The writer stores its running count of dropped records in the header of the segment it is
/// writing: two segments holding 5 each mean 5 drops, not 10 (and huge counts cannot overflow).
#[test]
fn dropped_counts_are_running_totals() {
    let dir = tempfile::tempdir().unwrap();
    let base = dir.path().join("oms.journal");
    write_journal(&base, 1000, SMALL_SEGMENT, SyncPolicy::None);
    for count in [5, u64::MAX] {
        for i in 0..2 {
            rewrite_header(&segment_path(&base, i), |h| h.dropped = count);
        }
        let report = Journal::open(&base).unwrap().verify();
        assert!(report.is_sound(), "{:?}", report.error);
        assert_eq!(report.dropped, count);
    }
}

#[test]
fn a_follower_reports_a_damaged_record_with_its_offset() {
    let dir = tempfile::tempdir().unwrap();
    let base = dir.path().join("oms.journal");
    write_journal(&base, 10, SMALL_SEGMENT, SyncPolicy::None);
    let mut bytes = std::fs::read(&base).unwrap();
    bytes[4096 + 4 * 64 + 30] ^= 0x10;
    std::fs::write(&base, &bytes).unwrap();
    let mut f = Follower::open(&base).unwrap();
    let (n, end) = drain(&mut f, 10);
    assert_eq!(n, 4);
    let err = end.expect_err("a damaged record is an error").to_string();
    assert!(
        err.contains(&format!("oms.journal: offset {}: checksum mismatch in record seq 5", 4096 + 4 * 64)),
        "{err}"
    );
}

/// The follower reads slots with `pread` while the writer stores them: copies taken at the
/// frontier may be torn, and must be read again rather than reported (or accepted).
#[test]
fn a_follower_keeps_up_with_a_writer_in_another_thread() {
    const N: u64 = 20_000; // 21 segments of 960
    let dir = tempfile::tempdir().unwrap();
    let base = dir.path().join("oms.journal");
    let c = config(&base, SMALL_SEGMENT, SyncPolicy::None);
    let mut w = JournalWriter::create(&journal(&c), &meta(&c)).unwrap();
    let mut f = Follower::open(&base).unwrap();
    let writer = std::thread::spawn(move || {
        for seq in 1..=N {
            if !w.takes_requests() {
                w.prepare(0).expect("journal space");
            }
            w.record(&event(seq));
        }
        w.close().unwrap();
    });
    let deadline = std::time::Instant::now() + Duration::from_secs(120);
    let mut seen = 0;
    loop {
        match f.poll().unwrap() {
            Poll::Record(r) => {
                seen += 1;
                assert_eq!(r, event(seen));
            }
            Poll::Pending => {
                assert!(std::time::Instant::now() < deadline, "only {seen} of {N} records followed");
                std::thread::yield_now();
            }
            Poll::Closed => break,
        }
    }
    writer.join().unwrap();
    assert_eq!(seen, N);
}

/// Writes `version` into every segment header of the journal at `base`, sealing each header's
/// checksum again.
fn relabel(base: &std::path::Path, version: u16) {
    for path in journal_files(base) {
        let mut b = std::fs::read(&path).unwrap();
        b[8..10].copy_from_slice(&version.to_le_bytes());
        let crc = oms::journal::header_checksum(&b).expect("a whole header");
        b[88..92].copy_from_slice(&crc.to_le_bytes());
        std::fs::write(&path, b).unwrap();
    }
}

/// A journal of the oldest version this build reads (its records are a subset of the current
/// version's) reads as it was written; a version outside the range is refused, naming the file
/// and the versions this build reads.
#[test]
fn older_versions_that_share_the_layout_are_read_and_others_refused() {
    use oms::journal::{FORMAT_VERSION, OLDEST_READ_VERSION};
    let dir = tempfile::tempdir().unwrap();
    let base = dir.path().join("oms.journal");
    let written = write_journal(&base, 1200, SMALL_SEGMENT, SyncPolicy::None);
    relabel(&base, OLDEST_READ_VERSION);
    let j = Journal::open(&base).unwrap();
    assert_eq!(j.header().version, OLDEST_READ_VERSION);
    let read: Vec<EventRecord> = j.records().collect::<Result<_, _>>().unwrap();
    assert_eq!(read, written);
    assert!(j.verify().is_sound());
    for version in [OLDEST_READ_VERSION - 1, FORMAT_VERSION + 1] {
        relabel(&base, version);
        let err = Journal::open(&base).expect_err("refused");
        let text = err.to_string();
        assert!(matches!(err, JournalError::Version { found, .. } if found == version), "{text}");
        assert!(
            text.contains(&format!(
                "version {version} (this build reads versions {OLDEST_READ_VERSION} to {FORMAT_VERSION})"
            )),
            "{text}"
        );
    }
}

/// A journal of an older version is read but not continued: before version 5 an accepted
/// order's life ended at its response, so neither recovery nor a resumed writer may take its
/// records with today's meaning. Both say so, naming the file and its version.
#[test]
fn an_older_version_is_neither_recovered_from_nor_resumed() {
    use oms::journal::{FORMAT_VERSION, OLDEST_READ_VERSION};
    let dir = tempfile::tempdir().unwrap();
    let base = dir.path().join("oms.journal");
    write_journal(&base, 1200, SMALL_SEGMENT, SyncPolicy::None);
    let c = config(&base, SMALL_SEGMENT, SyncPolicy::None);
    for version in OLDEST_READ_VERSION..FORMAT_VERSION {
        relabel(&base, version);
        assert!(Journal::open(&base).is_ok(), "version {version} is read");
        let err = JournalWriter::resume(&journal(&c), WriterOptions::default()).expect_err("not resumed");
        let text = err.to_string();
        assert!(matches!(err, JournalError::OlderVersion { found, .. } if found == version), "{text}");
        assert!(
            text.contains(&format!("journal format version {version}")) && text.contains("oms.journal"),
            "{text}"
        );
        let valid = c.validate().expect("valid");
        let err = oms::recovery::read(&base, &valid).expect_err("not recovered");
        assert!(err.to_string().contains(&format!("journal format version {version}")), "{err}");
    }
    relabel(&base, FORMAT_VERSION);
    assert!(JournalWriter::resume(&journal(&c), WriterOptions::default()).is_ok(), "today's version resumes");
}
