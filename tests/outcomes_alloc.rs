//! `Outcomes::poll` allocates nothing per record, nor while it waits (`Pending`): a counting
//! global allocator wraps the system one. One segment, so no file is opened while it counts.
//!
//! This file holds a single test so no other test thread allocates while it measures.

mod journal_common;

use journal_common::*;
use oms::EventSink;
use oms::journal::{JournalWriter, OutcomePoll, Outcomes, SyncPolicy, WriterOptions};

mod counting_alloc;

#[global_allocator]
static GLOBAL: counting_alloc::CountingAllocator = counting_alloc::CountingAllocator;

#[test]
fn polling_outcomes_allocates_nothing() {
    const RECORDS: u64 = 30_000;
    let dir = tempfile::tempdir().expect("tempdir");
    let base = dir.path().join("oms.journal");
    let c = config(&base, 4 << 20, SyncPolicy::None);
    let mut w =
        JournalWriter::create_with(&journal(&c), &meta(&c), WriterOptions::default()).expect("create");
    for seq in 1..=RECORDS {
        w.record(&event(seq));
    }
    // No thread of the writer's runs meanwhile (preparation happens only in `housekeep`).
    let mine = (1..=RECORDS).map(event).filter(|r| r.producer == 1).count();

    let mut outcomes = Outcomes::follow(&base, 1).expect("follow");
    let mut seen = 0;
    let before = counting_alloc::all_threads();
    let mut pending = 0;
    while pending < 10_000 {
        match outcomes.poll().expect("sound journal") {
            OutcomePoll::Outcome(o) => {
                assert_eq!(event(o.seq).producer, 1);
                seen += 1;
            }
            OutcomePoll::Pending => pending += 1,
            OutcomePoll::Closed => panic!("the writer is open"),
        }
    }
    let allocated = counting_alloc::all_threads() - before;
    assert_eq!(seen, mine, "every record of producer 1");
    assert_eq!(allocated, 0, "{allocated} allocations over {seen} outcomes and 10 000 pending polls");

    w.close().expect("close");
    assert_eq!(outcomes.poll().expect("sound journal"), OutcomePoll::Closed);
}
