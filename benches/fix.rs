//! FIX codec micro-benchmarks (criterion).
//!
//! - `fix/encode_new_order_single`: one NewOrderSingle (D) through the logged-on session into the
//!   outbound buffer: header (CompIDs, MsgSeqNum, SendingTime), ClOrdID, Symbol, Side,
//!   TransactTime, OrderQty, OrdType, Price, BodyLength and CheckSum. What `FixExchange::send`
//!   costs on the engine thread, before the loop turn's one `write`.
//! - `fix/decode_execution_report`: framing, checksum and field check of one ExecutionReport as
//!   QuickFIX sends it, then the fields the exchange reads.
//! - `fix_engine_step/null_exchange` and `fix_engine_step/fix`: one engine loop turn carrying one
//!   New order (taken from a producer ring, checked, sent at once, recorded to a counting sink):
//!   with a no-op exchange, and with the FIX session logged on to a counterparty that reads and
//!   discards (the NewOrderSingle encoded, the turn's `write`, the turn's `read` that finds
//!   nothing). The difference is what a FIX order costs the engine thread in time, system calls
//!   included (`cargo bench --bench instructions` counts the instructions).
//! - `fix_engine_step/idle_turn_null_exchange` and `idle_turn_fix`: a loop turn with nothing to
//!   do (the FIX session reads its socket: one `read` that finds nothing).
#![allow(missing_docs)] // criterion_main! generates an undocumented `pub fn main`

mod common;

use std::hint::black_box;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use oms::Secret;
use oms::exchange::fix::decode::decode;
use oms::exchange::fix::encode::MessageWriter;
use oms::exchange::fix::session::{Now, Session, SessionParams};
use oms::exchange::fix::tags;

fn logged_on() -> (Session, Vec<u8>, Now) {
    let p = SessionParams {
        sender: "OMS".into(),
        target: "EXCH".into(),
        heartbeat_secs: 30,
        reset_on_logon: false,
        username: "trader".into(),
        password: Secret::new("pw"),
        reconnect_min_ns: 1_000_000_000,
        reconnect_max_ns: 1_000_000_000,
        answer_timeout_ns: 1_000_000_000,
    };
    let mut s = Session::new(p, 1, 1);
    let mut out = Vec::with_capacity(1 << 20);
    let now = Now { mono_ns: 1_000_000_000, wall_ns: 1_764_597_600_123_456_789 };
    s.open(now);
    let _ = s.on_timer(now, &mut out, &mut |_| {});
    let _ = s.on_connected(now, &mut out, &mut |_| {});
    let mut logon = Vec::with_capacity(256);
    let mut w = MessageWriter::begin(&mut logon, b"A");
    w.str(49, b"EXCH")
        .str(56, b"OMS")
        .uint(34, 1)
        .str(52, b"20251201-14:00:00.000")
        .str(98, b"0")
        .str(108, b"30");
    w.finish().expect("room");
    let (m, _) = decode(&logon, 4096).expect("valid").expect("complete");
    let _ = s.on_message(now, m, &mut out, &mut |_| {});
    assert!(s.is_active());
    out.clear();
    (s, out, now)
}

fn encode(c: &mut Criterion) {
    let mut g = c.benchmark_group("fix");
    g.throughput(Throughput::Elements(1));
    let (mut s, mut out, mut now) = logged_on();
    let mut id = 1_000_000u64;
    g.bench_function("encode_new_order_single", |b| {
        b.iter(|| {
            id += 1;
            now.mono_ns += 1000;
            now.wall_ns += 1000;
            out.clear();
            let transact_time = s.timestamp(now.wall_ns);
            let seq = s
                .send_app(&mut out, now, tags::msg::NEW_ORDER_SINGLE, |w| {
                    w.uint(tags::CL_ORD_ID, id)
                        .str(tags::SYMBOL, b"RELIANCE")
                        .char(tags::SIDE, b'1')
                        .str(tags::TRANSACT_TIME, &transact_time)
                        .uint(tags::ORDER_QTY, 100 + id % 900)
                        .char(tags::ORD_TYPE, b'2')
                        .price(tags::PRICE, 2450.05 + (id % 20) as f64 * 0.05);
                })
                .expect("logged on, room");
            black_box((seq, out.len()))
        })
    });
    let mut report = Vec::with_capacity(512);
    let mut w = MessageWriter::begin(&mut report, b"8");
    w.str(34, b"1234").str(49, b"EXCH").str(52, b"20251201-14:00:00.001").str(56, b"OMS");
    for (t, v) in [
        (6, "0"),
        (11, "1000001"),
        (14, "0"),
        (17, "E1"),
        (37, "O1000001"),
        (38, "100"),
        (39, "0"),
        (44, "2450.05"),
        (54, "1"),
        (55, "RELIANCE"),
        (150, "0"),
        (151, "100"),
    ] {
        w.str(t, v.as_bytes());
    }
    w.finish().expect("room");
    g.bench_function("decode_execution_report", |b| {
        b.iter(|| {
            let (m, n) = decode(black_box(&report), 1 << 16).expect("valid").expect("complete");
            black_box((
                n,
                m.seq_num(),
                m.get_u64(tags::CL_ORD_ID),
                m.get(tags::EXEC_TYPE),
                m.get(tags::ORD_STATUS),
            ))
        })
    });
    g.finish();
}

/// Orders per engine before a fresh one is built (untimed): none is answered, so the in-flight
/// table fills.
const CHUNK: u64 = 50_000;

fn engine_step(c: &mut Criterion) {
    use oms::engine::EngineBuilder;
    use oms::exchange::{Exchange, NullExchange};
    use oms::sink::CountingSink;
    use oms::{EngineClock, RequestType};
    use std::time::{Duration, Instant};

    let mut g = c.benchmark_group("fix_engine_step");
    g.throughput(Throughput::Elements(1));
    fn run<E: Exchange>(
        iters: u64,
        make: &dyn Fn(&oms::ValidConfig, oms::Responder, &EngineClock) -> E,
    ) -> Duration {
        let dir = tempfile::tempdir().expect("temp dir");
        let mut raw = common::raw_config(None, 2_000_000_000, 2_000_000_000, dir.path());
        raw.engine.max_in_flight = 1 << 17;
        let cfg = raw.validate().expect("bench config");
        let mut total = Duration::ZERO;
        let mut done = 0;
        while done < iters {
            let clock = EngineClock::system();
            let (mut b, responder) = EngineBuilder::new(&cfg.engine, clock.clone());
            let mut p = b.producer().expect("a producer handle");
            let exchange = make(&cfg, responder, &clock);
            let mut e = b.build(exchange, CountingSink::default());
            e.poll();
            let n = (iters - done).min(CHUNK);
            let t = Instant::now();
            for i in 0..n {
                p.on_data(common::order(done + i + 1), RequestType::New).expect("ring room");
                e.poll();
            }
            total += t.elapsed();
            assert_eq!(e.stats().sent, n, "every order sent at once");
            done += n;
        }
        total
    }
    g.bench_function("null_exchange", |b| {
        b.iter_custom(|iters| run(iters, &|_, _, _| NullExchange::default()))
    });
    g.bench_function("fix", |b| {
        b.iter_custom(|iters| {
            run(iters, &|cfg, responder, clock| {
                let store = tempfile::tempdir().expect("temp dir");
                common::logged_on_fix(cfg, responder, clock, store.path())
            })
        })
    });
    type Make<'m, E> = &'m dyn Fn(&oms::ValidConfig, oms::Responder, &EngineClock) -> E;
    fn idle<E: Exchange>(b: &mut criterion::Bencher<'_>, make: Make<'_, E>) {
        let dir = tempfile::tempdir().expect("temp dir");
        let cfg = common::config(None, 1000, 1000, dir.path());
        let clock = EngineClock::system();
        let (builder, responder) = EngineBuilder::new(&cfg.engine, clock.clone());
        let exchange = make(&cfg, responder, &clock);
        let mut e = builder.build(exchange, CountingSink::default());
        e.poll();
        b.iter(|| black_box(e.poll()));
    }
    g.bench_function("idle_turn_null_exchange", |b| idle(b, &|_, _, _| NullExchange::default()));
    g.bench_function("idle_turn_fix", |b| {
        let store = tempfile::tempdir().expect("temp dir");
        idle(b, &|cfg, responder, clock| common::logged_on_fix(cfg, responder, clock, store.path()))
    });
    g.finish();
}

criterion_group!(benches, encode, engine_step);
criterion_main!(benches);
