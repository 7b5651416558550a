//! The FIX 4.4 decoder over arbitrary bytes, and the session state machine over framed
//! messages of arbitrary content.
//!
//! * [`decode_stream`]: two bytes of receive-buffer size, then a byte stream decoded message
//!   after message as the transport does; every accessor of every message is called and checked
//!   against the field list, and the password is masked wherever a message is shown.
//! * [`session`]: lines of input, each `<step><body>`: `step` moves the clock (50 ms a unit;
//!   `0xFF` closes the window, `0xFE` opens it), `body` is a message body (`|` for SOH) that the
//!   harness frames with a correct BodyLength and CheckSum (unless it starts with `!`: then the
//!   raw bytes go to the decoder), so that mutations reach the session logic behind the frame
//!   check. Everything the session writes must decode, and the password may appear only in a
//!   Logon, never in an event (unless the input itself carries it).

use std::fmt::Write as _;

use oms::exchange::fix::decode::{SOH, decode};
use oms::exchange::fix::session::{Command, Now, Output, Session, SessionParams};
use oms::exchange::fix::text::{parse_f64, parse_qty, parse_u64};
use oms::exchange::fix::{INBOUND_BYTES, OUTBOUND_BYTES, tags};
use oms::model::Secret;

/// The password the session logs on with; it must never show outside a Logon.
pub const PASSWORD: &str = "hunter2-Sup3r-S3cret";

/// Decodes and checks every message of `stream` (receive buffer `max_len`); returns a summary.
pub fn decode_all(stream: &[u8], max_len: usize) -> String {
    let mut at = 0;
    let mut n = 0;
    loop {
        match decode(&stream[at..], max_len) {
            Ok(None) => return format!("{n} messages, then {} bytes short of one", stream.len() - at),
            Err(e) => return format!("{n} messages, then: {e}"),
            Ok(Some((m, len))) => {
                assert!(len > 0 && len <= stream.len() - at && len <= max_len, "length {len}");
                assert_eq!(m.raw(), &stream[at..at + len]);
                check_message(&m);
                at += len;
                n += 1;
            }
        }
    }
}

/// Every accessor agrees with the field list; the password is masked.
fn check_message(m: &oms::exchange::fix::decode::Message<'_>) {
    let fields: Vec<(u32, &[u8])> = m.fields().collect();
    assert_eq!(fields.first().map(|f| f.0), Some(tags::MSG_TYPE), "MsgType is not first");
    assert_eq!(m.msg_type(), fields[0].1);
    for (i, (tag, value)) in fields.iter().enumerate() {
        if fields[..i].iter().all(|(t, _)| t != tag) {
            assert_eq!(m.get(*tag), Some(*value), "get({tag}) is not its first value");
        }
        let _ = (parse_u64(value), parse_qty(value));
        if let Some(f) = parse_f64(value) {
            assert!(!f.is_nan(), "a FIX float parsed as NaN");
        }
    }
    let _ = (m.seq_num(), m.get_str(tags::TEXT), m.flag(tags::POSS_DUP_FLAG), m.get_u64(tags::MSG_SEQ_NUM));
    let shown = m.masked().to_string();
    let debug = format!("{m:?}");
    for (tag, value) in &fields {
        if *tag == tags::PASSWORD && *value != b"***" {
            let clear = format!("554={}", String::from_utf8_lossy(value));
            assert!(!shown.contains(&clear) && !debug.contains(&clear), "the password shows: {shown}");
        }
    }
}

/// The decoder over an arbitrary stream.
pub fn decode_stream(data: &[u8]) -> String {
    let (max_len, stream) = match data {
        [a, b, rest @ ..] => (usize::from(u16::from_le_bytes([*a, *b])), rest),
        _ => (INBOUND_BYTES, data),
    };
    decode_all(stream, max_len)
}

/// Frames `body` (`|` read as SOH, a final SOH added if missing) as a FIX 4.4 message.
pub fn frame(body: &[u8]) -> Vec<u8> {
    let mut b: Vec<u8> = body.iter().map(|&c| if c == b'|' { SOH } else { c }).collect();
    if b.last() != Some(&SOH) {
        b.push(SOH);
    }
    let mut m = format!("8=FIX.4.4\x019={}\x01", b.len()).into_bytes();
    m.extend_from_slice(&b);
    let sum = m.iter().fold(0u8, |s, &c| s.wrapping_add(c));
    m.extend_from_slice(format!("10={sum:03}\x01").as_bytes());
    m
}

/// The session over lines of input; returns the events it emitted, one per line.
pub fn session(data: &[u8]) -> String {
    let params = SessionParams {
        sender: "OMS".into(),
        target: "EXCH".into(),
        heartbeat_secs: 30,
        reset_on_logon: false,
        username: "trader".into(),
        password: Secret::new(PASSWORD),
        reconnect_min_ns: 500_000_000,
        reconnect_max_ns: 30_000_000_000,
        answer_timeout_ns: 10_000_000_000,
    };
    let mut s = Session::new(params, 1, 1);
    let mut now = Now { mono_ns: 1_000_000_000, wall_ns: 1_795_000_000_000_000_000 };
    let mut log = String::new();
    // The session writes into room reserved up front (no allocation), as the exchange's buffer.
    let mut out = Vec::with_capacity(OUTBOUND_BYTES);
    let mut connected = false;
    let echoed = data.windows(PASSWORD.len()).any(|w| w == PASSWORD.as_bytes());
    let mut emit = |o: Output<'_>| {
        let text = match o {
            Output::Event(e) => format!("{e:?}"),
            Output::App(m) => format!("app {m:?}"),
            Output::Reject { ref_seq, reason, text } => format!("reject {ref_seq} {reason} {text}"),
        };
        // Unless the counterparty itself sent those bytes.
        assert!(echoed || !text.contains(PASSWORD), "the password shows in an event: {text}");
        let _ = writeln!(log, "{text}");
    };
    s.open(now);
    for line in data.split(|&b| b == b'\n') {
        let (step, body) = line.split_first().map_or((0, &[][..]), |(s, b)| (*s, b));
        let mut cmd = match step {
            0xFF => s.close(now, &mut out),
            0xFE => {
                s.open(now);
                Command::None
            }
            _ => {
                now.mono_ns += u64::from(step) * 50_000_000;
                now.wall_ns += i64::from(step) * 50_000_000;
                s.on_timer(now, &mut out, &mut emit)
            }
        };
        for _ in 0..4 {
            cmd = match cmd {
                Command::None => break,
                Command::Connect => {
                    connected = true;
                    s.on_connected(now, &mut out, &mut emit)
                }
                Command::Disconnect => {
                    connected = false;
                    Command::None
                }
            };
        }
        check_written(&mut out);
        if !connected || body.is_empty() {
            continue;
        }
        let bytes = match body.strip_prefix(b"!") {
            Some(raw) => raw.to_vec(),
            None => frame(body),
        };
        let mut at = 0;
        while connected && at < bytes.len() {
            let mut cmd = match decode(&bytes[at..], INBOUND_BYTES) {
                Ok(None) => break,
                Ok(Some((m, n))) => {
                    at += n;
                    s.on_message(now, m, &mut out, &mut emit)
                }
                Err(e) => {
                    at = bytes.len();
                    s.on_message_garbled(now, &e.to_string(), &mut emit)
                }
            };
            for _ in 0..4 {
                cmd = match cmd {
                    Command::None => break,
                    Command::Connect => s.on_connected(now, &mut out, &mut emit),
                    Command::Disconnect => {
                        connected = false;
                        Command::None
                    }
                };
            }
            check_written(&mut out);
        }
    }
    log
}

/// What the session wrote decodes, message by message, and carries the password only in a
/// Logon; then it is "sent" (cleared).
fn check_written(out: &mut Vec<u8>) {
    let mut at = 0;
    while at < out.len() {
        match decode(&out[at..], usize::MAX) {
            Ok(Some((m, n))) => {
                check_message(&m);
                if m.get(tags::PASSWORD).is_some() {
                    assert_eq!(m.msg_type(), b"A", "the password in a message that is not a Logon");
                }
                at += n;
            }
            other => panic!(
                "the session wrote bytes that do not decode: {other:?}: {}",
                oms::exchange::fix::text::Masked(&out[at..])
            ),
        }
    }
    out.clear();
}
