//! The journal's preparation thread (`Preparation::Thread`, the default): the writer never waits
//! for it (held back by a test hook, records keep going until the existing limits apply, then
//! the idle turns take its work back, and no record is lost), what it builds reaches the writer
//! once it runs, its failures name the file, and close joins it and leaves no file behind.

mod journal_common;

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use journal_common::*;
use oms::EventSink;
use oms::journal::{Faults, Journal, JournalWriter, SyncPolicy, WriterOptions, segment_path};

/// Calls `housekeep` until `done` holds (the thread works meanwhile); fails after a minute: a
/// hang, not a speed limit.
fn housekeep_until(w: &mut JournalWriter, what: &str, mut done: impl FnMut(&JournalWriter) -> bool) {
    let deadline = Instant::now() + Duration::from_secs(60);
    while !done(w) {
        assert!(Instant::now() < deadline, "never: {what}");
        w.housekeep();
        std::thread::yield_now();
    }
}

/// Records up to `end`, one whenever the writer takes requests, an idle turn after each.
fn write_until(w: &mut JournalWriter, seq: &mut u64, end: u64) {
    let deadline = Instant::now() + Duration::from_secs(60);
    while *seq < end {
        assert!(Instant::now() < deadline, "stuck at record {seq}");
        if w.takes_requests() {
            *seq += 1;
            w.record(&event(*seq));
        }
        w.housekeep();
    }
}

fn writer(base: &std::path::Path, opts: WriterOptions) -> JournalWriter {
    let c = config(base, SMALL_SEGMENT, SyncPolicy::None);
    JournalWriter::create_with(&journal(&c), &meta(&c), opts).expect("create")
}

/// A writer (reserve 100 records) in a new directory whose preparation thread is held back,
/// and the switch that holds it.
fn held_writer() -> (tempfile::TempDir, Arc<Faults>, JournalWriter) {
    let dir = tempfile::tempdir().unwrap();
    let faults = Arc::new(Faults::default());
    faults.hold_preparation.store(true, Ordering::Release);
    let opts = WriterOptions { reserve_records: 100, faults: Some(faults.clone()), ..Default::default() };
    let w = writer(&dir.path().join("oms.journal"), opts);
    (dir, faults, w)
}

fn no_tmp_files(base: &std::path::Path) {
    let tmp: Vec<_> =
        journal_files(base).into_iter().filter(|p| p.extension().is_some_and(|e| e == "tmp")).collect();
    assert!(tmp.is_empty(), "{tmp:?}");
}

#[test]
fn the_writer_never_waits_for_a_held_thread_and_loses_nothing() {
    let (dir, faults, mut w) = held_writer();
    let base = dir.path().join("oms.journal");
    let built = w.stats().segments_built;
    let mut seq = 0;
    // The engine's way: a record per request while it takes requests, a slice per idle turn.
    while w.takes_requests() {
        seq += 1;
        w.record(&event(seq));
        w.housekeep();
        assert!(seq < 1_000_000, "the writer never stopped taking requests");
    }
    assert!(seq > 960, "{seq} records: the test is about rolling over while the thread is held");
    assert_eq!(w.stats().segments_built, built, "nothing was built while the thread was held");
    // The end of the session: the reserve holds it, without a single idle turn.
    let reserve_end = seq + w.reserve_records();
    while seq < reserve_end {
        seq += 1;
        w.record(&event(seq));
    }
    assert_eq!(w.stats().dropped, 0);

    // Still held: the idle turns, short of room, prepare in the thread's place (and take back
    // the build asked of it), and the writer goes on over several segments.
    let end = seq + 5 * 960;
    write_until(&mut w, &mut seq, end);
    assert!(w.stats().segments_built > built, "the idle turns built segments");

    // Released, the thread catches up; the writer rolls on over many more segments.
    faults.hold_preparation.store(false, Ordering::Release);
    let end = seq + 20 * 960;
    write_until(&mut w, &mut seq, end);
    let stats = w.close().expect("close");
    assert_eq!((stats.records, stats.dropped, stats.prepare_failures), (seq, 0, 0), "{stats:?}");
    assert!(stats.segments_built > built + 15, "{stats:?}");
    let j = Journal::open(&base).unwrap();
    let report = j.verify();
    assert!(report.is_sound(), "{:?}", report.error);
    assert_eq!(report.records, seq);
    let read: Vec<_> = j.records().collect::<Result<_, _>>().unwrap();
    assert!(read.iter().zip(1..).all(|(r, s)| *r == event(s)));
    no_tmp_files(&base);
}

#[test]
fn a_roll_takes_back_a_build_the_thread_has_not_begun() {
    let (dir, faults, mut w) = held_writer();
    let base = dir.path().join("oms.journal");
    let built = w.stats().segments_built;
    w.housekeep(); // asks the held thread for the next segment
    let mapped = w.mapped_room();
    // A user that ignores `takes_requests` past the reserve and the mapped room: the roll
    // builds the segment the thread never began, once.
    for seq in 1..=mapped + 10 {
        w.record(&event(seq));
    }
    let stats = w.stats();
    assert_eq!(
        (stats.records, stats.dropped, stats.segments_built),
        (mapped + 10, 0, built + 1),
        "{stats:?}"
    );
    faults.hold_preparation.store(false, Ordering::Release);
    let stats = w.close().expect("close");
    assert_eq!(stats.dropped, 0);
    let report = Journal::open(&base).unwrap().verify();
    assert!(report.is_sound(), "{:?}", report.error);
    assert_eq!(report.records, mapped + 10);
    no_tmp_files(&base);
}

#[test]
fn a_failure_on_the_thread_names_the_file_and_clears() {
    let dir = tempfile::tempdir().unwrap();
    let base = dir.path().join("oms.journal");
    let faults = Arc::new(Faults::default());
    let opts = WriterOptions { reserve_records: 100, faults: Some(faults.clone()), ..Default::default() };
    let mut w = writer(&base, opts);
    let next = w.stats().segments_built;
    faults.enospc.store(true, Ordering::Release);
    // Write until the thread is asked for a segment and fails it.
    housekeep_until(&mut w, "the thread's failure reaches the writer", |w| w.stats().prepare_failures > 0);
    let stats = w.stats();
    let name = segment_path(&base, next).file_name().unwrap().to_string_lossy().into_owned();
    let err = stats.last_prepare_error.clone().unwrap_or_default();
    assert!(err.contains(&name) && err.contains("No space left"), "{err:?} does not name {name}");
    assert!(w.watch().failing(), "the watch sees the failure");
    faults.enospc.store(false, Ordering::Release);
    // The retry comes after 200 ms of the writer's clock.
    let mut seq = 0;
    write_until(&mut w, &mut seq, 10 * 960);
    assert!(!w.watch().failing());
    let stats = w.close().expect("close");
    assert_eq!((stats.records, stats.dropped), (seq, 0));
    assert!(Journal::open(&base).unwrap().verify().is_sound());
    no_tmp_files(&base);
}
