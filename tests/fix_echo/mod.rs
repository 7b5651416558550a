//! A minimal in-process FIX counterparty for the allocation tests: our decoder and encoder on a
//! thread of the test process (its allocations are not counted: the counters are per thread).

use std::io::{Read, Write};
use std::net::TcpListener;

use oms::exchange::fix::decode::decode;
use oms::exchange::fix::encode::MessageWriter;

/// Answers the Logon, then every NewOrderSingle with an ExecutionReport (New).
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
            let reply = |t: &[u8], out: &mut Vec<u8>, seq: u64, id: Option<&[u8]>| {
                let mut w = MessageWriter::begin(out, t);
                w.str(49, b"EXCH").str(56, b"OMS").uint(34, seq).str(52, b"20260101-00:00:00.000");
                match id {
                    None => {
                        w.str(98, b"0").str(108, b"30");
                    }
                    Some(id) => {
                        w.str(11, id).str(17, b"E").str(37, b"O").str(150, b"0").str(39, b"0");
                    }
                }
                w.finish().expect("room");
            };
            match m.msg_type() {
                b"A" => reply(b"A", &mut out, seq, None),
                b"D" => reply(b"8", &mut out, seq, m.get(11)),
                _ => seq -= 1,
            }
            seq += 1;
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
