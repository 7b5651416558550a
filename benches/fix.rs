//! FIX codec micro-benchmarks (criterion).
//!
//! - `fix/encode_new_order_single`: one NewOrderSingle (D) through the logged-on session into the
//!   outbound buffer: header (CompIDs, MsgSeqNum, SendingTime), ClOrdID, Symbol, Side,
//!   TransactTime, OrderQty, OrdType, Price, BodyLength and CheckSum. What `FixExchange::send`
//!   costs on the engine thread, before the loop turn's one `write`.
//! - `fix/decode_execution_report`: framing, checksum and field check of one ExecutionReport as
//!   QuickFIX sends it, then the fields the exchange reads.
#![allow(missing_docs)] // criterion_main! generates an undocumented `pub fn main`

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

criterion_group!(benches, encode);
criterion_main!(benches);
