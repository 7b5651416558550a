//! A minimal in-process FIX counterparty for the allocation tests: our decoder and encoder on a
//! thread of the test process (its allocations are not counted: the counters are per thread).

use std::io::{Read, Write};
use std::net::TcpListener;

use oms::exchange::fix::decode::decode;
use oms::exchange::fix::encode::MessageWriter;

/// Answers the Logon; every NewOrderSingle with an ExecutionReport New; every
/// OrderCancelReplaceRequest with Replaced, then a fill of 1 at its price; every
/// OrderCancelRequest with Canceled.
pub fn acceptor(listener: TcpListener) {
    let (mut s, _) = listener.accept().expect("accept");
    let mut rx = vec![0u8; 1 << 20];
    let (mut len, mut seq) = (0, 1u64);
    let mut out = Vec::with_capacity(1 << 22);
    loop {
        let n = match s.read(&mut rx[len..]) {
            Ok(0) | Err(_) => return,
            Ok(n) => n,
        };
        len += n;
        let mut at = 0;
        while let Ok(Some((m, used))) = decode(&rx[at..len], 1 << 16) {
            let mut reply = |t: &[u8], fields: &[(u32, &[u8])]| {
                let mut w = MessageWriter::begin(&mut out, t);
                w.str(49, b"EXCH").str(56, b"OMS").uint(34, seq).str(52, b"20260101-00:00:00.000");
                for (tag, value) in fields {
                    w.str(*tag, value);
                }
                w.finish().expect("room");
                seq += 1;
            };
            let cl = m.get(11).unwrap_or_default();
            let orig = m.get(41).unwrap_or_default();
            match m.msg_type() {
                b"A" => reply(b"A", &[(98, b"0"), (108, b"30")]),
                b"D" => reply(b"8", &[(11, cl), (17, b"E"), (37, b"O"), (150, b"0"), (39, b"0")]),
                b"G" => {
                    reply(b"8", &[(11, cl), (41, orig), (17, b"E"), (37, b"O"), (150, b"5"), (39, b"0")]);
                    let px = m.get(44).unwrap_or(b"1");
                    let fill =
                        [(11, cl), (17, b"E"), (37, b"O"), (150, b"F"), (39, b"1"), (32, b"1"), (31, px)];
                    reply(b"8", &fill);
                }
                b"F" => reply(b"8", &[(11, cl), (41, orig), (17, b"E"), (37, b"O"), (150, b"4"), (39, b"4")]),
                _ => {}
            }
            at += used;
        }
        rx.copy_within(at..len, 0);
        len -= at;
        if s.write_all(&out).is_err() {
            return;
        }
        out.clear();
    }
}
