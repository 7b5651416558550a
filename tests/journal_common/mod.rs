//! Helpers shared by the journal, crash and CLI tests.
#![allow(dead_code)] // each test binary uses a different subset

use std::path::{Path, PathBuf};

use oms::journal::{JournalMeta, JournalWriter, SegmentHeader, WriterOptions};
use oms::journal::{JournalSettings, SyncPolicy};
use oms::{
    Config, EngineClock, Event, EventKind, EventRecord, EventSink, OrderRequest, RejectReason, RequestType,
    ResponseType, Side,
};

/// The password planted in test configurations; it must never reach a journal byte.
pub const PASSWORD: &str = "hunter2-Sup3r-S3cret";
/// 2024-01-02T04:30:00Z = 10:00 in Asia/Kolkata.
pub const T0: i64 = 1_704_169_800_000_000_000;
/// Smallest segment the config allows: 960 records after a 4096-byte header.
pub const SMALL_SEGMENT: u64 = 64 * 1024;

pub fn config(base: &Path, segment_bytes: u64, sync: SyncPolicy) -> Config {
    let mut c = Config::default();
    c.session.password = Some(PASSWORD.into());
    c.journal.path = base.to_path_buf();
    c.journal.sync = sync.into();
    c.journal.segment_bytes = segment_bytes;
    c
}

/// The checked journal section of `c`.
pub fn journal(c: &Config) -> JournalSettings {
    c.validate().expect("test config is valid").journal
}

pub fn meta(c: &Config) -> JournalMeta {
    let (clock, _mock) = EngineClock::manual(T0);
    c.journal_meta(&clock)
}

/// A deterministic variety of events; `seq` and `time_ns` set.
pub fn event(seq: u64) -> EventRecord {
    let i = seq;
    let side = if i.is_multiple_of(2) { Side::Buy } else { Side::Sell };
    let o =
        OrderRequest::new(1000 + i / 3, (i % 7) as i32, side, 100.0 + (i % 50) as f64 * 0.25, 1 + i % 500);
    let t = T0 + i as i64 * 1_000;
    let event = match i % 10 {
        0 => Event::Logon,
        1 | 2 => Event::Queued { order: o },
        3 | 4 => Event::Sent { order: o, in_oms_ns: 500 + i % 1000 },
        5 | 6 => Event::Response {
            order: o,
            response: if i.is_multiple_of(4) { ResponseType::Reject } else { ResponseType::Accept },
            round_trip_ns: 100_000 + (i * 7919) % 900_000,
        },
        7 => Event::Rejected {
            order: o,
            request: RequestType::New,
            reason: RejectReason::ALL[(i as usize / 10) % RejectReason::ALL.len()],
            value: 0.0,
        },
        8 => Event::Modified { order: o },
        _ => Event::Cancelled { order: o },
    };
    let mut r = EventRecord::new(t, event);
    r.seq = seq;
    // Order events answer one of three producers; logon (every tenth) is the engine's own.
    if r.kind == EventKind::Logon { r } else { r.from_producer((i % 3) as u16) }
}

/// Writes events 1..=n, preparing more space whenever the writer would stop taking requests (as
/// the engine's idle turns would), and closes the journal.
pub fn write_journal(base: &Path, n: u64, segment_bytes: u64, sync: SyncPolicy) -> Vec<EventRecord> {
    let c = config(base, segment_bytes, sync);
    let mut w =
        JournalWriter::create_with(&journal(&c), &meta(&c), WriterOptions::default()).expect("create");
    let mut out = Vec::with_capacity(n as usize);
    for seq in 1..=n {
        if !w.takes_requests() {
            w.prepare(0).expect("journal space");
        }
        let e = event(seq);
        w.record(&e);
        out.push(e);
    }
    let stats = w.close().expect("close");
    assert_eq!(stats.records, n);
    assert_eq!(stats.dropped, 0);
    out
}

/// Every file of the journal at `base` (base and numbered segments).
pub fn journal_files(base: &Path) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(base.parent().unwrap())
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| {
            p.file_name().unwrap().to_str().unwrap().starts_with(base.file_name().unwrap().to_str().unwrap())
        })
        .collect();
    v.sort();
    v
}

/// Rewrites the header of the segment file `path` through `edit`, re-encoding it (so its CRC is
/// valid, as a crafted file's would be).
pub fn rewrite_header(path: &Path, edit: impl FnOnce(&mut SegmentHeader)) {
    let mut bytes = std::fs::read(path).expect("read the segment");
    let mut h = SegmentHeader::decode(path, &bytes, bytes.len() as u64).expect("a valid header");
    edit(&mut h);
    let encoded = h.encode();
    bytes[..encoded.len()].copy_from_slice(&encoded);
    std::fs::write(path, bytes).expect("write the segment");
}

/// Runs the `oms` binary with `args`.
pub fn oms(args: &[&std::ffi::OsStr]) -> std::process::Output {
    std::process::Command::new(env!("CARGO_BIN_EXE_oms")).args(args).output().expect("run oms")
}

/// The final state each script of [`life_stream`] leaves its order in, by `k % 5`.
pub const LIFE_ENDS: [&str; 5] = ["filled", "cancelled", "cancelled", "rejected", "rejected"];

/// Whole order lives, `live` orders under way at a time and their records interleaved round
/// robin, as an engine with fills, cancels and replaces writes them: `orders` orders, each by
/// `k % 5` (see [`LIFE_ENDS`]): queued, sent, accepted, filled in two parts; sent at once,
/// accepted, filled in part, replaced (a fill of the old version while the replace is pending),
/// cancelled at the exchange; queued, modified, cancelled in the queue; sent, rejected by the
/// exchange; a New refused as it is taken. Order `k` has id `5000 + k` and is producer
/// `k % 3`'s; `seq` and `time_ns` are set.
pub fn life_stream(orders: u64, live: usize) -> Vec<EventRecord> {
    fn script(k: u64) -> Vec<Event> {
        let o = OrderRequest::new(5000 + k, (k % 7) as i32, Side::Buy, 100.0 + (k % 9) as f64 * 0.5, 10);
        let accept = Event::Response { order: o, response: ResponseType::Accept, round_trip_ns: 90_000 };
        let fill = |last_qty, cum_qty, complete| Event::Fill {
            order_id: o.order_id,
            symbol_id: o.symbol_id,
            side: o.side,
            last_qty,
            last_px: o.price,
            cum_qty,
            complete,
        };
        let bigger = OrderRequest { qty: 12, price: o.price + 0.25, ..o };
        match k % 5 {
            0 => vec![
                Event::Queued { order: o },
                Event::Sent { order: o, in_oms_ns: 900 },
                accept,
                fill(4, 4, false),
                fill(6, 10, true),
            ],
            1 => vec![
                Event::Sent { order: o, in_oms_ns: 400 },
                accept,
                fill(3, 3, false),
                Event::ReplaceSent { order: bigger, in_oms_ns: 300 },
                fill(2, 5, false),
                Event::Replaced { order: bigger, round_trip_ns: 70_000 },
                Event::CancelSent { order: bigger, in_oms_ns: 200 },
                Event::VenueCancelled { order: bigger, solicited: true, round_trip_ns: 60_000 },
            ],
            2 => vec![
                Event::Queued { order: o },
                Event::Modified { order: OrderRequest { qty: 7, ..o } },
                Event::Cancelled { order: OrderRequest { qty: 7, ..o } },
            ],
            3 => vec![
                Event::Sent { order: o, in_oms_ns: 500 },
                Event::Response { order: o, response: ResponseType::Reject, round_trip_ns: 80_000 },
            ],
            _ => vec![Event::Rejected {
                order: OrderRequest { qty: 0, ..o },
                request: RequestType::New,
                reason: RejectReason::InvalidQty,
                value: 0.0,
            }],
        }
    }
    let mut out = Vec::new();
    let mut next = 0;
    // (producer, order's events not yet emitted, oldest first)
    let mut under_way: Vec<(u16, std::collections::VecDeque<Event>)> = Vec::new();
    while next < orders || !under_way.is_empty() {
        while under_way.len() < live && next < orders {
            under_way.push(((next % 3) as u16, script(next).into()));
            next += 1;
        }
        for (producer, events) in &mut under_way {
            let e = events.pop_front().expect("a script has a record left");
            let seq = out.len() as u64 + 1;
            let mut r = EventRecord::new(T0 + seq as i64 * 1_000, e).from_producer(*producer);
            r.seq = seq;
            out.push(r);
        }
        under_way.retain(|(_, events)| !events.is_empty());
    }
    out
}
