//! `Outcomes::poll` allocates nothing per record, nor while it waits (`Pending`), while it folds
//! whole order lives (queued, sent, filled in parts, replaced, cancelled, rejected) through the
//! order state machine: a counting global allocator wraps the system one. One segment, so no
//! file is opened while it counts.
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
    const ORDERS: u64 = 8_000;
    let dir = tempfile::tempdir().expect("tempdir");
    let base = dir.path().join("oms.journal");
    let c = config(&base, 4 << 20, SyncPolicy::None);
    let mut w =
        JournalWriter::create_with(&journal(&c), &meta(&c), WriterOptions::default()).expect("create");
    // As many orders under way at once as the follower's tables hold before they grow.
    let records = life_stream(ORDERS, Outcomes::ORDERS / 2);
    for r in &records {
        w.record(r);
    }
    // No thread of the writer's runs meanwhile (preparation happens only in `housekeep`).
    let mine = records.iter().filter(|r| r.producer == 1).count();
    assert!(records.len() > 30_000);

    let mut outcomes = Outcomes::follow(&base, 1).expect("follow");
    let (mut seen, mut finals) = (0, 0);
    let before = counting_alloc::all_threads();
    let mut pending = 0;
    while pending < 10_000 {
        match outcomes.poll().expect("sound journal") {
            OutcomePoll::Outcome(o) => {
                assert_eq!(records[o.seq as usize - 1].producer, 1);
                finals += usize::from(o.is_final());
                seen += 1;
            }
            OutcomePoll::Pending => pending += 1,
            OutcomePoll::Closed => panic!("the writer is open"),
        }
    }
    let allocated = counting_alloc::all_threads() - before;
    assert_eq!(seen, mine, "every record of producer 1");
    assert_eq!(finals as u64, (0..ORDERS).filter(|k| k % 3 == 1).count() as u64, "one end per order");
    assert_eq!(allocated, 0, "{allocated} allocations over {seen} outcomes and 10 000 pending polls");

    w.close().expect("close");
    assert_eq!(outcomes.poll().expect("sound journal"), OutcomePoll::Closed);
}
