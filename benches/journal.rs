//! Journal micro-benchmarks: append (checksum + copy + release store into a pre-faulted
//! mapping), the checksum of 60 bytes alone (the record's CRC-32C beside format version 2's
//! CRC-32), and the reader side of `oms stats` and
//! `oms decode --format csv`.
//!
//! `cargo bench --bench journal`. Append is timed with `iter_custom` over fresh journals whose
//! single segment holds the whole batch: segment creation, fallocate and pre-faulting happen
//! before the clock starts (as a session's space is prepared before logon in production).
#![allow(missing_docs)] // criterion_main! generates an undocumented `pub fn main`

use std::hint::black_box;
use std::time::{Duration, Instant};

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use oms::cli::{Format, Formatter, Stats};
use oms::journal::{Journal, JournalMeta, JournalWriter, Preparation, WriterOptions};
use oms::journal::{JournalSettings, SyncPolicy};
use oms::{Config, EngineClock, Event, EventRecord, EventSink, OrderRequest, RequestType, Side};

/// Records per timed journal (64 MiB segment).
const CHUNK: u64 = 1 << 20;

fn event(seq: u64) -> EventRecord {
    let o = OrderRequest::new(
        seq / 3,
        (seq % 7) as i32,
        Side::Buy,
        100.0 + (seq % 50) as f64 * 0.25,
        1 + seq % 500,
    );
    let ns = 100_000 + (seq * 7919) % 900_000;
    let event = match seq % 4 {
        0 => Event::Queued { order: o },
        1 => Event::Sent { order: o, in_oms_ns: ns },
        2 => Event::Response { order: o, response: oms::ResponseType::Accept, round_trip_ns: ns },
        _ => Event::Rejected {
            order: o,
            request: RequestType::New,
            reason: oms::RejectReason::QueueFull,
            value: 0.0,
        },
    };
    EventRecord { seq, ..EventRecord::new(1_704_169_800_000_000_000 + seq as i64 * 1000, event) }
}

/// Header metadata of a journal written on a manual clock at 0, default configuration.
fn meta() -> JournalMeta {
    let (clock, _) = EngineClock::manual(0);
    Config::default().journal_meta(&clock)
}

fn writer(dir: &std::path::Path, n: u64) -> JournalWriter {
    let segment_bytes = (n * 64 + 4096).next_multiple_of(4096);
    let settings = JournalSettings {
        path: dir.join("bench.journal"),
        sync: SyncPolicy::None,
        segment_bytes,
        prepare_records: std::num::NonZeroU64::new(n),
    };
    let opts = WriterOptions { reserve_records: 0, ..Default::default() };
    // Created with the whole batch prepared (faulted in), as a session's space is before logon.
    JournalWriter::create_with(&settings, &meta(), opts).expect("create")
}

fn append(c: &mut Criterion) {
    let template = event(3);
    let mut g = c.benchmark_group("journal");
    g.throughput(Throughput::Elements(1));
    g.sample_size(20).measurement_time(Duration::from_secs(4)).warm_up_time(Duration::from_secs(1));
    g.bench_function("append_record", |b| {
        b.iter_custom(|iters| {
            let mut total = Duration::ZERO;
            let mut left = iters;
            while left > 0 {
                let n = left.min(CHUNK);
                let dir = tempfile::tempdir().expect("tempdir");
                let mut w = writer(dir.path(), n);
                // The engine builds each event in registers / on its stack: vary a template
                // rather than stream a 64 MiB array of prepared events through the cache.
                let mut e = template;
                let start = Instant::now();
                for seq in 1..=n {
                    e.seq = seq;
                    e.order_id = seq;
                    e.time_ns += 1000;
                    w.record(black_box(&e));
                }
                total += start.elapsed();
                w.close().expect("close");
                left -= n;
            }
            total
        })
    });
    let bytes = event(7).to_bytes();
    // Side by side: format version 2's checksum (CRC-32, crc32fast) and version 3's (CRC-32C,
    // SSE4.2) over the same 60 bytes, and the writer's form (from the words, as `seal` does).
    g.bench_function("crc32fast_60_bytes", |b| b.iter(|| crc32fast::hash(black_box(&bytes[..60]))));
    g.bench_function("record_checksum_crc32c", |b| b.iter(|| oms::record::checksum(black_box(&bytes))));
    let words = oms::record::bytes_to_words(&bytes);
    g.bench_function("seal_crc32c", |b| {
        b.iter(|| {
            let mut w = black_box(words);
            oms::record::seal(&mut w);
            w[7]
        })
    });
    g.finish();
}

fn read(c: &mut Criterion) {
    const N: u64 = 2_000_000;
    let dir = tempfile::tempdir().expect("tempdir");
    let settings = JournalSettings {
        path: dir.path().join("read.journal"),
        sync: SyncPolicy::None,
        segment_bytes: 64 << 20,
        prepare_records: None,
    };
    let mut w = JournalWriter::create(&settings, &meta()).expect("create");
    for seq in 1..=N {
        if !w.takes_requests() {
            w.prepare(0).expect("journal space");
        }
        w.record(&event(seq));
    }
    w.close().expect("close");
    let path = settings.path.clone();

    let mut g = c.benchmark_group("journal_read");
    g.throughput(Throughput::Elements(N));
    g.sample_size(10).measurement_time(Duration::from_secs(8));
    g.bench_function("stats_2M", |b| {
        b.iter(|| {
            let j = Journal::open(&path).expect("open");
            let mut s = Stats::new();
            for r in j.records() {
                s.add(&r.expect("valid"));
            }
            assert_eq!(s.records, N);
            black_box(s.latency.value_at_quantile(0.99))
        })
    });
    g.bench_function("verify_2M", |b| {
        b.iter(|| {
            let report = Journal::open(&path).expect("open").verify();
            assert_eq!(report.records, N);
            black_box(report.last_good)
        })
    });
    g.bench_function("decode_csv_2M", |b| {
        let mut out = Vec::with_capacity(1 << 20);
        b.iter(|| {
            let j = Journal::open(&path).expect("open");
            let mut f = Formatter::new(Format::Csv, &j.header().meta.timezone)
                .unwrap_or_else(|_| Formatter::utc(Format::Csv));
            let mut bytes = 0;
            for r in j.records() {
                f.line(&mut out, &r.expect("valid"));
                if out.len() > (1 << 20) - 256 {
                    bytes += out.len();
                    black_box(&out);
                    out.clear();
                }
            }
            bytes + out.len()
        })
    });
    g.finish();
}

/// Minor page faults of the calling thread so far.
fn thread_faults() -> u64 {
    // SAFETY: `getrusage` fills the zeroed struct it is given.
    let mut ru: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: as above; RUSAGE_THREAD reports the calling thread.
    unsafe { libc::getrusage(libc::RUSAGE_THREAD, &mut ru) };
    ru.ru_minflt as u64
}

/// The engine's idle-turn housekeeping: records are appended a page (64 records) at a time,
/// then `housekeep` runs until it has nothing left to do and the writer takes requests again,
/// as the engine's idle turns would. Both ways of preparing, side by side: `thread` (the
/// default: a low-priority thread prepares, the slices only swap segments) and `idle_turns`
/// (every system call in a slice); each flat out (the writer outruns any preparation: the
/// thread's way falls back to the idle turns' when short of room) and paced at 1M records/s
/// (a page every 64 µs, the idle turns in between). Timed: the engine thread's slices per page
/// of records.
/// Printed once per way: the distribution of single slices that did something, the page faults
/// taken by the appends themselves and by the slices, and the idle turns that found the writer
/// not taking requests (waiting for the thread).
fn housekeeping(c: &mut Criterion) {
    let mut g = c.benchmark_group("journal_housekeep");
    g.throughput(Throughput::Elements(64));
    g.sample_size(20).measurement_time(Duration::from_secs(4)).warm_up_time(Duration::from_secs(1));
    // Paced: a page of records every 64 µs (1M records/s), the idle turns in between.
    let paced = Some(Duration::from_micros(64));
    for (name, preparation, pace) in [
        ("thread", Preparation::Thread, None),
        ("idle_turns", Preparation::IdleTurns, None),
        ("thread_1M_per_s", Preparation::Thread, paced),
        ("idle_turns_1M_per_s", Preparation::IdleTurns, paced),
    ] {
        let dir = tempfile::tempdir().expect("tempdir");
        let settings = JournalSettings {
            path: dir.path().join("hk.journal"),
            sync: SyncPolicy::None,
            segment_bytes: 64 << 20,
            // Little prepared up front: the idle turns (and the thread) do the preparing.
            prepare_records: std::num::NonZeroU64::new(4096),
        };
        let opts = WriterOptions { reserve_records: 4096, preparation, ..Default::default() };
        let mut w = JournalWriter::create_with(&settings, &meta(), opts).expect("create");
        let mut slices =
            hdrhistogram::Histogram::<u64>::new_with_bounds(1, 60_000_000_000, 3).expect("histogram");
        let (mut append_faults, mut slice_faults, mut pages, mut waits) = (0u64, 0u64, 0u64, 0u64);
        // Time spent in slices of < 2 µs, < 20 µs, < 200 µs, longer.
        let mut buckets = [0u64; 4];
        let mut e = event(3);
        let t0 = Instant::now();
        g.bench_function(format!("per_page_of_records/{name}"), |b| {
            b.iter_custom(|iters| {
                let mut total = Duration::ZERO;
                let wall = Instant::now();
                for _ in 0..iters {
                    let f0 = thread_faults();
                    for _ in 0..64 {
                        e.order_id += 1;
                        e.time_ns += 1000;
                        w.record(black_box(&e));
                    }
                    let f1 = thread_faults();
                    append_faults += f1 - f0;
                    pages += 1;
                    let due = pace.map(|p| t0 + p * pages as u32);
                    loop {
                        let t = Instant::now();
                        let did = w.housekeep();
                        let dt = t.elapsed();
                        total += dt;
                        if !did {
                            if w.takes_requests() && due.is_none_or(|d| t >= d) {
                                break;
                            }
                            if w.takes_requests() {
                                continue;
                            }
                            waits += 1;
                            std::hint::spin_loop();
                            continue;
                        }
                        let ns = dt.as_nanos() as u64;
                        slices.saturating_record(ns);
                        let b = [2_000, 20_000, 200_000, u64::MAX].iter().position(|&x| ns < x).unwrap_or(3);
                        buckets[b] += ns;
                    }
                    slice_faults += thread_faults() - f1;
                }
                // Paced, criterion is given the wall time (what it plans the iterations by);
                // the slices' figures are printed below.
                if pace.is_some() { wall.elapsed() } else { total }
            })
        });
        let stats = w.close().expect("close");
        println!(
            "journal_housekeep/{name}: {} pages of records ({} segments): {} slices, single slice p50 {} \
             ns, p99 {} ns, p99.9 {} ns, p99.99 {} ns, max {} ns; minor faults: {append_faults} in the \
             appends, {slice_faults} in the slices ({} pages faulted ahead); idle turns waiting for \
             room: {waits}; time in slices < 2 µs / < 20 µs / < 200 µs / longer: {:?} ms",
            pages,
            stats.segments,
            slices.len(),
            slices.value_at_quantile(0.5),
            slices.value_at_quantile(0.99),
            slices.value_at_quantile(0.999),
            slices.value_at_quantile(0.9999),
            slices.max(),
            stats.pages_faulted,
            buckets.map(|ns| ns / 1_000_000),
        );
    }
    g.finish();
}

criterion_group!(benches, append, housekeeping, read);
criterion_main!(benches);
