//! Replay into a real journal: what is read back equals what the engine recorded, also across
//! many segment roll-overs (where a live writer could report `journal_full` while the next
//! segment is being prepared: the batch sink waits instead, so the output never depends on
//! timing). Two runs give the same records (the files differ only in the header's random
//! journal id, by the journal's design).

use std::fmt::Write;
use std::path::Path;

use oms::journal::Journal;
use oms::replay::{BatchJournal, parse_scenario, parse_start, replay};
use oms::{Config, EventRecord, MemorySink, RejectReason};

fn config() -> Config {
    let mut c = Config::default();
    c.session.timezone = "UTC".into();
    (c.session.start, c.session.end) = ("10:00:00".into(), "12:00:00".into());
    c.throttle.max_orders_per_sec = 1000;
    c.throttle.burst = Some(10);
    c.journal.segment_bytes = 64 * 1024; // ~1000 records per segment: many roll-overs
    c
}

fn scenario() -> String {
    let mut s = String::new();
    for i in 0..6000u64 {
        let _ = writeln!(
            s,
            "@{}.{:03} new id={} sym=1 side=B px=10 qty=1 p={}",
            i / 4,
            (i % 4) * 250,
            i + 1,
            i % 3
        );
        if i % 5 == 0 {
            let _ = writeln!(s, "@{}.{:03} response id={} accept", i / 4, (i % 4) * 250, i / 2 + 1);
        }
    }
    s
}

fn read_back(path: &Path) -> Vec<EventRecord> {
    let j = Journal::open(path).expect("journal opens");
    assert!(j.verify().is_sound(), "journal not sound");
    j.records().map(|r| r.expect("valid record")).collect()
}

fn bytes_without_checksum(events: &[EventRecord]) -> Vec<[u8; 60]> {
    events.iter().map(|e| e.to_bytes()[..60].try_into().expect("60 bytes")).collect()
}

#[test]
fn journal_matches_memory_across_segment_rolls_and_is_reproducible() {
    let dir = tempfile::tempdir().expect("temp dir");
    let c = config();
    let cfg = c.validate().expect("valid");
    let sc = parse_scenario(&scenario()).expect("parses");
    let start = parse_start("2026-11-23T10:00:00Z").expect("valid");

    let mem = replay(&cfg, &sc, start, None, MemorySink::default()).expect("runs");
    assert!(mem.sink.events().len() > 10_000);
    assert_eq!(mem.stats.rejected_for(RejectReason::JournalFull), 0);

    let mut files = Vec::new();
    for name in ["a.journal", "b.journal"] {
        let path = dir.path().join(name);
        let sink = BatchJournal::create(&c, &cfg, &path, start, false).expect("journal created");
        let r = replay(&cfg, &sc, start, None, sink).expect("runs");
        let stats = r.sink.close().expect("journal closes");
        assert!(stats.segments > 10, "only {} segments", stats.segments);
        assert_eq!(stats.dropped, 0);
        let back = read_back(&path);
        assert_eq!(bytes_without_checksum(&back), bytes_without_checksum(mem.sink.events()));
        files.push(path);
    }
    // An existing journal is not replaced unless asked, and is left as it was.
    let old_id = Journal::open(&files[0]).expect("opens").header().journal_id;
    assert!(BatchJournal::create(&c, &cfg, &files[0], start, false).is_err());
    assert_eq!(bytes_without_checksum(&read_back(&files[0])), bytes_without_checksum(mem.sink.events()));
    assert_eq!(Journal::open(&files[0]).expect("opens").header().journal_id, old_id);
}

#[test]
fn overwrite_replaces_every_segment_of_the_old_journal() {
    let dir = tempfile::tempdir().expect("temp dir");
    let c = config();
    let cfg = c.validate().expect("valid");
    let start = parse_start("2026-11-23T10:00:00Z").expect("valid");
    let path = dir.path().join("o.journal");
    let big = parse_scenario(&scenario()).expect("parses");
    let sink = BatchJournal::create(&c, &cfg, &path, start, false).expect("journal created");
    let old_segments =
        replay(&cfg, &big, start, None, sink).expect("runs").sink.close().expect("closes").segments;
    assert!(old_segments > 10, "only {old_segments} segments");
    let old_id = Journal::open(&path).expect("opens").header().journal_id;

    // A much shorter run over it: one segment.
    let small =
        parse_scenario("@0 new id=77 sym=3 side=S px=5 qty=2\n@10 response id=77 reject\n").expect("parses");
    let mem = replay(&cfg, &small, start, None, MemorySink::default()).expect("runs");
    let sink = BatchJournal::create(&c, &cfg, &path, start, true).expect("overwrite allowed");
    let stats = replay(&cfg, &small, start, None, sink).expect("runs").sink.close().expect("closes");
    assert_eq!(stats.segments, 1);

    let j = Journal::open(&path).expect("opens");
    assert_ne!(j.header().journal_id, old_id, "a new journal, not the old one reopened");
    assert_eq!(j.segments().count(), 1, "no segment of the old journal is read back");
    let back = read_back(&path);
    assert_eq!(bytes_without_checksum(&back), bytes_without_checksum(mem.sink.events()));
    assert!(back.iter().all(|r| r.order_id == 0 || r.order_id == 77), "{back:?}");
    // No file of the old run is left beside it.
    let names: Vec<String> = std::fs::read_dir(dir.path())
        .expect("dir")
        .filter_map(|e| e.ok()?.file_name().into_string().ok())
        .filter(|n| n.starts_with("o.journal"))
        .collect();
    assert_eq!(names, ["o.journal"], "files of the old journal left behind");
}
