//! An engine asleep under `idle = "backoff"` with a FIX exchange waits on the session's socket
//! beside its doorbell: an execution report that arrives while it sleeps wakes it.
//!
//! The counterparty (our decoder and encoder on a thread of the test) answers the Logon at once
//! and holds each NewOrderSingle's execution report until the test lets it go, once the engine
//! thread is asleep. The engine's longest sleep is a minute and its next timer the session's
//! heartbeat, 30 s away: only the socket can wake it within the test's 10 s bound.

mod runner_common;

use std::io::{Read, Write};
use std::net::TcpListener;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use oms::engine::EngineBuilder;
use oms::exchange::FixExchange;
use oms::exchange::fix::decode::decode;
use oms::exchange::fix::encode::MessageWriter;
use oms::runner::{EngineHandle, IdleStrategy};
use oms::{Config, EngineClock, EventKind, EventRecord, EventSink, OrderRequest, RequestType, Side};
use runner_common::{current_tid, stop_within, thread_state, wait_until};

/// Answers the Logon; tells `orders` of each NewOrderSingle and answers it (ExecutionReport
/// New) only when `go` says so.
fn acceptor(listener: TcpListener, orders: mpsc::Sender<()>, go: mpsc::Receiver<()>) {
    let (mut s, _) = listener.accept().expect("accept");
    let mut rx = vec![0u8; 1 << 16];
    let (mut len, mut seq) = (0, 1u64);
    let mut out = Vec::with_capacity(1 << 16);
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
            match m.msg_type() {
                b"A" => reply(b"A", &[(98, b"0"), (108, b"30")]),
                b"D" => {
                    let _ = orders.send(());
                    if go.recv().is_err() {
                        return;
                    }
                    let cl = m.get(11).unwrap_or_default();
                    reply(b"8", &[(11, cl), (17, b"E"), (37, b"O"), (150, b"0"), (39, b"0")]);
                }
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

/// Counts the session's reports and the responses; notes the engine thread's id.
#[derive(Clone, Default)]
struct Seen {
    session: Arc<AtomicU64>,
    responses: Arc<AtomicU64>,
    tid: Arc<AtomicU64>,
}

impl EventSink for Seen {
    fn record(&mut self, event: &EventRecord) {
        self.tid.store(current_tid(), Ordering::SeqCst);
        match event.kind {
            EventKind::ExchangeSession => self.session.fetch_add(1, Ordering::SeqCst),
            EventKind::Response => self.responses.fetch_add(1, Ordering::SeqCst),
            _ => 0,
        };
    }
}

#[test]
fn an_execution_report_wakes_a_sleeping_engine() {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = listener.local_addr().expect("addr").port();
    let (orders_tx, orders) = mpsc::channel();
    let (go, go_rx) = mpsc::channel();
    std::thread::spawn(move || acceptor(listener, orders_tx, go_rx));
    let dir = tempfile::tempdir().expect("tempdir");
    let mut c = Config::default();
    c.session.timezone = "UTC".into();
    (c.session.start, c.session.end) = ("00:00:00".into(), "23:59:59.999".into());
    c.session.password = Some("pw".into());
    c.engine.idle = IdleStrategy::Backoff.name().into();
    c.engine.sleep_max_us = 60_000_000;
    c.exchange.kind = "fix".into();
    c.exchange.host = Some("127.0.0.1".into());
    c.exchange.port = Some(port.into());
    c.exchange.sender_comp_id = Some("OMS".into());
    c.exchange.target_comp_id = Some("EXCH".into());
    c.exchange.store = Some(dir.path().to_path_buf());
    let valid = c.validate().expect("valid config");
    let clock = EngineClock::system();
    let (mut builder, responder) = EngineBuilder::new(&valid.engine, clock.clone());
    let mut producer = builder.producer().expect("a producer handle");
    let window = valid.engine.session.window.clone();
    let fix = FixExchange::new(valid.fix.as_ref().expect("fix"), window, responder, clock, 1024)
        .expect("FIX exchange");
    let seen = Seen::default();
    let engine = builder.build(fix, seen.clone());
    let bell = engine.doorbell().clone();
    let handle = EngineHandle::spawn(engine, &valid.runner).expect("spawn");
    wait_until(10, "the FIX session to log on", || seen.session.load(Ordering::SeqCst) >= 1);
    let tid = seen.tid.load(Ordering::SeqCst);

    for id in 1..=3u64 {
        // Counted before the push: a sleep begun after it began after the order went out (the
        // turn that takes the order sends it).
        let sleeps = bell.sleeps();
        producer.on_data(OrderRequest::new(id, 7, Side::Buy, 10.0, 1), RequestType::New).expect("room");
        orders.recv_timeout(Duration::from_secs(10)).expect("the order reached the counterparty");
        wait_until(10, "the engine thread to sleep", || thread_state(tid) == 'S' && bell.sleeps() > sleeps);
        let t0 = Instant::now();
        go.send(()).expect("the counterparty runs");
        wait_until(10, "the sleeping engine to take the execution report", || {
            seen.responses.load(Ordering::SeqCst) == id
        });
        eprintln!("order {id}: the execution report taken {:?} after it was let go", t0.elapsed());
    }
    let report = stop_within(handle, 30);
    assert_eq!(report.stats.matched, 3);
}
