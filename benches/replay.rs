//! Replay throughput: scenario events per second, end to end (parse the text, run the engine on
//! virtual time, count the events), and the two halves apart.
//!
//! The scenario: 200 000 lines, one every 50 µs of virtual time inside one window, a trading mix
//! of 60 % new (some bad), 15 % modify, 10 % cancel, 15 % responses, over 4 producers, with a
//! 10 000/s token bucket (burst 100) so orders queue, drain and get modified / cancelled in the
//! queue. `cargo bench --bench replay`; criterion reports `elem/s` = scenario events per second.
#![allow(missing_docs)] // criterion_main! generates an undocumented `pub fn main`

use std::fmt::Write;
use std::hint::black_box;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use oms::replay::{parse_scenario, parse_start, replay};
use oms::sink::CountingSink;
use oms::{Config, ValidConfig};

const LINES: usize = 200_000;

fn scenario_text(lines: usize) -> String {
    let mut rng = fastrand::Rng::with_seed(7);
    let mut text = String::with_capacity(lines * 48);
    let mut next_id = 1u64;
    for i in 0..lines {
        let t_us = i as u64 * 50;
        let at = format!("@{}.{:03}", t_us / 1000, t_us % 1000);
        let p = rng.u8(0..4);
        let recent = next_id.saturating_sub(rng.u64(1..200)).max(1);
        let _ = match rng.u8(0..100) {
            0..60 => {
                next_id += 1;
                let px = if rng.u8(0..50) == 0 {
                    "NaN".to_string()
                } else {
                    format!("{}.{}", rng.u16(90..110), rng.u8(0..100))
                };
                let side = if rng.bool() { 'B' } else { 'S' };
                writeln!(
                    text,
                    "{at} new id={next_id} sym={} side={side} px={px} qty={} p={p}",
                    rng.u16(1..500),
                    rng.u32(1..1000)
                )
            }
            60..75 => writeln!(
                text,
                "{at} modify id={recent} px={}.5 qty={} p={p}",
                rng.u16(90..110),
                rng.u32(1..1000)
            ),
            75..85 => writeln!(text, "{at} cancel id={recent} p={p}"),
            _ => writeln!(
                text,
                "{at} response id={recent} {}",
                if rng.u8(0..10) == 0 { "reject" } else { "accept" }
            ),
        };
    }
    text
}

fn config() -> ValidConfig {
    let mut c = Config::default();
    c.session.timezone = "UTC".into();
    (c.session.start, c.session.end) = ("00:00:00".into(), "23:00:00".into());
    c.throttle.max_orders_per_sec = 10_000;
    c.throttle.burst = Some(100);
    c.engine.max_queued_orders = 1 << 16;
    c.engine.max_in_flight = 1 << 18;
    c.engine.ring_capacity = 1024;
    c.validate().expect("bench config is valid")
}

fn bench(c: &mut Criterion) {
    let text = scenario_text(LINES);
    let cfg = config();
    let start = parse_start("2026-11-23T00:00:00Z").expect("valid start");
    let parsed = parse_scenario(&text).expect("bench scenario parses");
    let report = replay(&cfg, &parsed, start, None, CountingSink::default()).expect("replay runs");
    eprintln!(
        "scenario: {LINES} lines, {} engine events, {} sent, {} queued, {} modified, {} cancelled, {} matched",
        report.sink.count,
        report.stats.sent,
        report.stats.queued,
        report.stats.modified,
        report.stats.cancelled,
        report.stats.matched
    );

    let mut g = c.benchmark_group("replay");
    g.throughput(Throughput::Elements(LINES as u64));
    g.sample_size(20);
    g.bench_function("end_to_end", |b| {
        b.iter(|| {
            let sc = parse_scenario(black_box(&text)).expect("parses");
            let r = replay(&cfg, &sc, start, None, CountingSink::default()).expect("runs");
            black_box(r.sink.count)
        })
    });
    g.bench_function("parse_only", |b| b.iter(|| parse_scenario(black_box(&text)).expect("parses").len()));
    g.bench_function("run_only", |b| {
        b.iter(|| {
            replay(&cfg, black_box(&parsed), start, None, CountingSink::default()).expect("runs").sink.count
        })
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
