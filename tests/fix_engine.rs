//! The engine trading through its FIX exchange against QuickFIX (examples/fix_acceptor.py) on
//! loopback, built from a config as `oms run` would: the window's logon and logout drive the
//! session; orders within the throttle are answered with their latency in the journal; rejects
//! and fills become records; a refused logon is journaled and retried while orders wait; the
//! acceptor killed and restarted inside the window leaves orders queued until the reconnect,
//! then they go out in order. Each journal is then checked by `oms audit` and read by
//! `oms decode` (the binaries), and searched for the password.
//!
//! Real time (the counterparty runs in it): windows are set a second or so from now, and every
//! wait has a deadline and says what it waited for.

mod fix_common;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use fix_common::{Acceptor, PASSWORD, USER, WAIT, free_port, tempdir};
use oms::engine::{Engine, EngineBuilder, EngineReport};
use oms::exchange::FixExchange;
use oms::journal::{Journal, JournalWriter, WriterOptions};
use oms::model::SessionEvent;
use oms::record::{Event, SessionReport};
use oms::{
    Config, EngineClock, EventKind as K, EventRecord, EventSink, MemorySink, OrderRequest, Producer,
    RejectReason, RequestType, ResponseType, Side,
};

/// Records to memory (for the test to look at while the engine runs) and to a journal.
struct Both {
    mem: MemorySink,
    journal: JournalWriter,
}

impl EventSink for Both {
    fn record(&mut self, e: &EventRecord) {
        self.mem.record(e);
        self.journal.record(e);
    }
    fn has_room(&self) -> bool {
        self.journal.has_room()
    }
    fn takes_requests(&self) -> bool {
        self.journal.takes_requests()
    }
    fn housekeep(&mut self) -> bool {
        self.journal.housekeep()
    }
    fn sync(&mut self) {
        self.journal.sync();
    }
}

struct Rig {
    engine: Engine<FixExchange, Both>,
    producer: Producer,
    journal: PathBuf,
    config: PathBuf,
    window_start: Instant,
    window_end: Instant,
}

/// `HH:MM:SS.mmm` in UTC, `secs` from now.
fn utc_in(secs: f64) -> String {
    let t = jiff::Timestamp::now() + jiff::SignedDuration::from_secs_f64(secs);
    t.to_zoned(jiff::tz::TimeZone::UTC).time().strftime("%H:%M:%S%.3f").to_string()
}

impl Rig {
    /// An engine whose window opens `open_in` s from now and lasts `length` s, trading through
    /// a FIX exchange to the acceptor on `port`, with `password`.
    fn new(dir: &Path, port: u16, password: &str, open_in: f64, length: f64, rate: u32) -> Rig {
        let mut c = Config::default();
        c.session.timezone = "UTC".into();
        c.session.username = USER.into();
        c.session.password = Some(password.into());
        c.throttle.max_orders_per_sec = rate;
        c.journal.path = dir.join("oms.journal");
        (c.engine.ring_capacity, c.engine.max_queued_orders, c.engine.max_in_flight) = (1024, 1024, 1024);
        c.exchange.kind = "fix".into();
        c.exchange.host = Some("127.0.0.1".into());
        c.exchange.port = Some(port.into());
        c.exchange.sender_comp_id = Some("OMS".into());
        c.exchange.target_comp_id = Some("EXCH".into());
        c.exchange.store = Some(dir.join("fix-store"));
        (c.exchange.reconnect_min_ms, c.exchange.reconnect_max_ms) = (Some(200), Some(800));
        let symbols = [("1", "ACME"), ("2", "FILL"), ("3", "BMR")];
        c.exchange.symbols = Some(symbols.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect());
        let window_start = Instant::now() + Duration::from_secs_f64(open_in);
        (c.session.start, c.session.end) = (utc_in(open_in), utc_in(open_in + length));
        let window_end = window_start + Duration::from_secs_f64(length);
        let valid = c.validate().expect("valid config");
        let config = dir.join("oms.toml");
        std::fs::write(&config, c.public_toml()).expect("write the config");

        // How `oms run` builds it.
        let clock = EngineClock::system();
        let options = WriterOptions::with_reserve(valid.engine.capacities.journal_reserve(1));
        let journal = JournalWriter::create_with(&valid.journal, &c.journal_meta(&clock), options)
            .expect("create the journal");
        let (mut builder, responder) = EngineBuilder::new(&valid.engine, clock.clone());
        let producer = builder.producer().expect("a producer handle");
        let fix = FixExchange::new(
            valid.fix.as_ref().expect("kind = fix"),
            valid.engine.session.window.clone(),
            responder,
            clock,
            valid.engine.capacities.max_in_flight.get(),
        )
        .expect("FIX exchange");
        let engine = builder.build(fix, Both { mem: MemorySink::default(), journal });
        Rig { engine, producer, journal: c.journal.path.clone(), config, window_start, window_end }
    }

    fn records(&self) -> &[EventRecord] {
        self.engine.sink().mem.events()
    }

    fn of(&self, kind: K) -> Vec<EventRecord> {
        self.records().iter().filter(|r| r.kind == kind).copied().collect()
    }

    fn session_events(&self) -> Vec<SessionEvent> {
        self.records()
            .iter()
            .filter_map(|r| match r.event() {
                Event::ExchangeSession(report) => Some(report.event()),
                _ => None,
            })
            .collect()
    }

    fn count_session(&self, e: SessionEvent) -> usize {
        self.session_events().iter().filter(|x| **x == e).count()
    }

    fn new_order(&mut self, id: u64, symbol: i32, qty: u64, price: f64) {
        let o = OrderRequest::new(id, symbol, Side::Buy, price, qty);
        self.producer.on_data(o, RequestType::New).expect("ring room");
        self.engine.poll();
    }

    fn pump(&mut self) {
        if self.engine.poll() == 0 {
            std::thread::sleep(Duration::from_micros(200));
        }
    }

    /// Runs the engine until `f` holds, for at most `within`.
    fn until(&mut self, what: &str, within: Duration, f: impl Fn(&Rig) -> bool) {
        let deadline = Instant::now() + within;
        while !f(self) {
            assert!(Instant::now() < deadline, "not within {within:?}: {what}\n{}", self.dump());
            self.pump();
        }
    }

    /// Runs the engine until `t`.
    fn run_until(&mut self, t: Instant) {
        while Instant::now() < t {
            self.pump();
        }
    }

    fn dump(&self) -> String {
        let lines: Vec<String> = self.records().iter().map(|r| format!("{r:?}")).collect();
        format!("records:\n{}\nexchange: {:?}", lines.join("\n"), self.engine.exchange())
    }

    /// Shuts the engine down, closes the journal; `oms audit` must pass and no file of the
    /// journal may hold the password. Returns the records, `oms decode`'s text and the counters.
    fn finish(self) -> (Vec<EventRecord>, String, oms::EngineStats) {
        let (journal, config) = (self.journal.clone(), self.config.clone());
        let EngineReport { stats, sink, .. } = self.engine.shutdown();
        let records = sink.mem.events().to_vec();
        sink.journal.close().expect("close the journal");
        let audit = oms(&["audit", path(&journal), "--config", path(&config)]);
        assert!(audit.0, "oms audit failed:\n{}\n{}", audit.1, audit.2);
        let decode = oms(&["decode", path(&journal)]);
        assert!(decode.0, "oms decode failed: {}", decode.2);
        let on_disk = Journal::open(&journal).expect("open the journal").records().count();
        assert_eq!(on_disk, records.len(), "journal and memory agree");
        for entry in std::fs::read_dir(journal.parent().expect("dir")).expect("list") {
            let p = entry.expect("entry").path();
            if p.is_file() {
                let bytes = std::fs::read(&p).expect("read");
                assert!(
                    !bytes.windows(PASSWORD.len()).any(|w| w == PASSWORD.as_bytes()),
                    "{} holds the password",
                    p.display()
                );
            }
        }
        (records, decode.1, stats)
    }
}

fn path(p: &Path) -> &str {
    p.to_str().expect("UTF-8 path")
}

/// Runs the `oms` binary: (success, stdout, stderr).
fn oms(args: &[&str]) -> (bool, String, String) {
    let o = Command::new(env!("CARGO_BIN_EXE_oms")).args(args).output().expect("run oms");
    (o.status.success(), String::from_utf8_lossy(&o.stdout).into(), String::from_utf8_lossy(&o.stderr).into())
}

#[test]
fn the_window_drives_the_session_and_every_order_is_answered_with_its_latency() {
    let dir = tempdir();
    let port = free_port();
    let mut acc = Acceptor::start(port, &dir.path().join("acceptor"), &["--max-qty", "1000"]);
    let mut rig = Rig::new(dir.path(), port, PASSWORD, 1.5, 10.0, 50);
    // Before the window: rejected, no connection.
    rig.new_order(100, 1, 10, 5.0);
    assert_eq!(rig.of(K::Rejected)[0].reason, Some(RejectReason::OutsideWindow));
    assert!(rig.engine.exchange().stats().logons == 0 && acc.lines_starting("IN A").is_empty());

    rig.until("the FIX session logged on", WAIT, |r| r.count_session(SessionEvent::LoggedOn) == 1);
    assert!(Instant::now() >= rig.window_start, "logged on before the window opened");
    acc.expect("LOGON", WAIT);
    let kinds: Vec<K> = rig.records().iter().map(|r| r.kind).filter(|k| *k != K::ClockStep).collect();
    assert_eq!(kinds, [K::Rejected, K::Logon, K::ExchangeSession], "{}", rig.dump());
    let on = rig.of(K::ExchangeSession)[0];
    assert_eq!((on.qty, on.order_id), (2, 2), "Logon sent and answered: the next numbers are 2 and 2");

    // 8 orders within the throttle (50/s, burst 50): all go at once.
    for id in 1..=5 {
        rig.new_order(id, 1, 10 * id, 100.25);
    }
    rig.new_order(6, 1, 5000, 10.5); // above the acceptor's limit: Rejected execution report
    rig.new_order(7, 2, 300, 99.75); // FILL: accepted, then filled
    rig.new_order(8, 3, 10, 1.0); // BMR: a BusinessMessageReject
    assert_eq!(rig.of(K::Sent).len(), 8, "{}", rig.dump());
    assert_eq!(rig.of(K::Queued).len(), 0);
    rig.until("8 responses, a fill and a business reject", WAIT, |r| {
        r.of(K::Response).len() == 8 && r.of(K::Execution).len() == 1 && r.of(K::ExchangeReject).len() == 1
    });
    let responses = rig.of(K::Response);
    let answer = |id| responses.iter().find(|r| r.order_id == id).map(|r| r.response);
    for id in 1..=8 {
        let want = if matches!(id, 6 | 8) { ResponseType::Reject } else { ResponseType::Accept };
        assert_eq!(answer(id), Some(want), "order {id}");
    }
    for r in &responses {
        let sent = rig.of(K::Sent).into_iter().find(|s| s.order_id == r.order_id).expect("sent");
        assert!(r.latency_ns > 0, "order {}: no latency", r.order_id);
        assert!(
            r.latency_ns as i64 <= r.time_ns - sent.time_ns,
            "order {}: latency beyond its span",
            r.order_id
        );
        assert_eq!((r.qty, r.price, r.symbol_id), (sent.qty, sent.price, sent.symbol_id));
    }
    let fill = rig.of(K::Execution)[0];
    assert_eq!((fill.order_id, fill.qty, fill.price), (7, 300, 99.75));
    let bmr = rig.of(K::ExchangeReject)[0];
    assert_eq!((bmr.order_id, bmr.qty), (8, 2), "BusinessRejectReason 2: unknown security");
    let seq_of = |k, id| rig.records().iter().find(|r| r.kind == k && r.order_id == id).map(|r| r.seq);
    assert!(seq_of(K::Response, 7) < seq_of(K::Execution, 7), "the fill after its order's response");
    assert!(seq_of(K::Response, 8) < seq_of(K::ExchangeReject, 8));
    for id in 1..=8 {
        acc.expect(&format!("ORDER {id} "), WAIT);
    }

    // The window's end: Logout, answered.
    let end = rig.window_end;
    rig.run_until(end);
    rig.until("logged out", WAIT, |r| r.count_session(SessionEvent::LoggedOut) == 1);
    acc.expect("LOGOUT", WAIT);
    let logout = rig.of(K::Logout)[0];
    assert!(
        logout.seq < rig.records().last().expect("records").seq,
        "the engine's logout, then the session's"
    );
    let (records, text, stats) = rig.finish();
    assert_eq!(stats.unanswered, 0);
    assert_eq!(records.iter().filter(|r| r.kind == K::ExchangeSession).count(), 2, "{records:#?}");
    for want in [
        "exchange_session logged_on next_out_seq=2 next_in_seq=2",
        "execution order=7 300@99.75 exec_type=F(trade) ord_status=2(filled)",
        "exchange_reject order=8 source=business_reject code=2",
        "exchange_session logged_out",
    ] {
        assert!(text.contains(want), "oms decode shows {want:?}:\n{text}");
    }
}

#[test]
fn a_refused_logon_is_journaled_and_retried_while_orders_wait_and_nothing_is_sent() {
    let dir = tempdir();
    let port = free_port();
    let mut acc = Acceptor::start(port, &dir.path().join("acceptor"), &[]);
    let mut rig = Rig::new(dir.path(), port, "not-the-password", 0.5, 3600.0, 2);
    rig.until("the window's logon", WAIT, |r| r.engine.logged_on());
    for id in 1..=3 {
        rig.new_order(id, 1, 10, 5.0);
    }
    rig.until("three refusals", WAIT, |r| r.count_session(SessionEvent::LogonRefused) >= 3);
    assert!(rig.engine.logged_on(), "the engine's window stays logged on");
    assert_eq!(rig.engine.queue_len(), 3, "orders wait in the queue");
    assert_eq!(rig.of(K::Queued).len(), 3);
    assert!(rig.of(K::Sent).is_empty(), "{}", rig.dump());
    assert_eq!(rig.engine.next_send_ns(), None, "no permit awaited while refused");
    let refusals: Vec<u64> = rig
        .records()
        .iter()
        .filter_map(|r| match r.event() {
            Event::ExchangeSession(SessionReport::LogonRefused { retry_in_ns }) => Some(retry_in_ns),
            _ => None,
        })
        .collect();
    let ms = 1_000_000;
    assert_eq!(refusals[..3], [200 * ms, 400 * ms, 800 * ms], "retried with a doubling backoff");
    acc.expect("REFUSED unknown username or wrong password", WAIT);
    assert!(
        acc.lines_starting("ORDER").is_empty() && acc.lines_starting("LOGON").is_empty(),
        "{}",
        acc.dump()
    );
    let (records, text, _) = rig.finish();
    let shutdown = records.iter().filter(|r| r.reason == Some(RejectReason::Shutdown)).count();
    assert_eq!(shutdown, 3, "the queued orders end rejected at shutdown");
    assert!(text.contains("exchange_session logon_refused retry_in_ns=200000000"), "{text}");
    assert!(!text.contains(" sent "), "{text}");
}

#[test]
fn orders_queued_while_the_acceptor_is_down_go_out_in_order_after_the_reconnect() {
    let dir = tempdir();
    let port = free_port();
    let mut acc = Acceptor::start(port, &dir.path().join("acceptor"), &[]);
    let mut rig = Rig::new(dir.path(), port, PASSWORD, 0.3, 3600.0, 100);
    rig.until("logged on", WAIT, |r| r.count_session(SessionEvent::LoggedOn) == 1);
    rig.new_order(1, 1, 10, 5.0);
    rig.until("order 1 answered", WAIT, |r| r.of(K::Response).len() == 1);
    // QuickFIX answers inside its application callback and stores the next inbound number just
    // after: killed in between, it asks again for order 1's number (and, with EndSeqNo 0, for
    // everything after it) at the next logon. That case has its own test; here the acceptor
    // dies with its store up to date.
    acceptor_stored_next_inbound(&acc, 3);

    acc.kill();
    rig.until("the disconnect seen", WAIT, |r| r.count_session(SessionEvent::Disconnected) >= 1);
    for id in 2..=6 {
        rig.new_order(id, 1, 10 * id, 5.0);
    }
    // While the acceptor is down: queued, not sent, however long it takes.
    rig.until("a failed reconnect", WAIT, |r| r.count_session(SessionEvent::Disconnected) >= 2);
    assert_eq!(rig.engine.queue_len(), 5, "{}", rig.dump());
    assert_eq!(rig.of(K::Sent).len(), 1);

    acc.restart();
    rig.until("logged on again and orders 2..6 answered", WAIT, |r| {
        r.count_session(SessionEvent::LoggedOn) == 2 && r.of(K::Response).len() == 6
    });
    let sent: Vec<u64> = rig.of(K::Sent).iter().map(|r| r.order_id).collect();
    assert_eq!(sent, [1, 2, 3, 4, 5, 6], "oldest first");
    let ons: Vec<(u64, u64)> = rig
        .records()
        .iter()
        .filter_map(|r| match r.event() {
            Event::ExchangeSession(SessionReport::LoggedOn { next_out_seq, next_in_seq }) => {
                Some((next_out_seq, next_in_seq))
            }
            _ => None,
        })
        .collect();
    assert!(ons[1].0 > ons[0].0 && ons[1].1 > ons[0].1, "sequence numbers continue: {ons:?}");
    // The acceptor got them in that order, after the reconnect.
    let orders: Vec<u64> = (2..=6)
        .map(|_| {
            let line = acc.expect("ORDER", WAIT);
            line.split(' ').nth(1).and_then(|s| s.parse().ok()).unwrap_or_else(|| panic!("{line}"))
        })
        .collect();
    assert_eq!(orders, [2, 3, 4, 5, 6], "{}", acc.dump());
    let (records, text, _) = rig.finish();
    assert!(text.contains("exchange_session disconnected cause=peer_closed"), "{text}");
    assert!(records.iter().any(|r| r.kind == K::Logout));
}

/// An acceptor whose store lost our last numbers (restored to an earlier point: it expects a
/// number of ours it already had) asks for them again at the next Logon. The orders that waited
/// in the queue while it was down go out only once the session is known to be in sync, never
/// into the range it asks for: each is accepted, none rejected `gap_filled`. The acceptor holds
/// its ResendRequest 300 ms, so that it comes after anything sent at the Logon's answer.
#[test]
fn orders_queued_while_down_are_not_gap_filled_by_an_acceptor_that_lost_our_numbers() {
    let dir = tempdir();
    let port = free_port();
    let mut acc = Acceptor::start(port, &dir.path().join("acceptor"), &["--resend-delay-ms", "300"]);
    let mut rig = Rig::new(dir.path(), port, PASSWORD, 0.3, 3600.0, 100);
    rig.until("logged on", WAIT, |r| r.count_session(SessionEvent::LoggedOn) == 1);
    rig.new_order(1, 1, 10, 5.0);
    rig.until("order 1 answered", WAIT, |r| r.of(K::Response).len() == 1);
    acceptor_stored_next_inbound(&acc, 3);
    acc.kill();
    // The store forgets our order (MsgSeqNum 2): the acceptor expects it again. Its own numbers
    // are kept (its answer to order 1 was sent).
    acceptor_forgets_from(&acc, 2);
    rig.until("the disconnect seen", WAIT, |r| r.count_session(SessionEvent::Disconnected) >= 1);
    for id in 2..=4 {
        rig.new_order(id, 1, 10 * id, 5.0);
    }
    assert_eq!(rig.engine.queue_len(), 3, "{}", rig.dump());

    acc.restart();
    rig.until("orders 2..4 answered", WAIT, |r| r.of(K::Response).len() == 4);
    let rejected: Vec<u64> = rig
        .of(K::Response)
        .iter()
        .filter(|r| r.response != ResponseType::Accept)
        .map(|r| r.order_id)
        .collect();
    assert!(rejected.is_empty(), "orders {rejected:?} rejected:\n{}\n{}", rig.dump(), acc.dump());
    assert!(rig.of(K::ExchangeReject).is_empty(), "{}", rig.dump());
    // The acceptor's ResendRequest was answered before the session reported itself logged on
    // again, and the orders went out after that, past everything the gap fill covered.
    let mut filled_to = None;
    let mut logged_on_after_fill = false;
    for r in rig.records() {
        match r.event() {
            Event::ExchangeSession(SessionReport::GapFilled { begin: 2, new_seq }) => {
                filled_to = Some(new_seq)
            }
            Event::ExchangeSession(SessionReport::LoggedOn { .. }) => {
                logged_on_after_fill = filled_to.is_some()
            }
            Event::Sent { .. } if r.order_id == 2 => {
                assert!(logged_on_after_fill, "order 2 sent before the session was in sync:\n{}", rig.dump());
            }
            _ => {}
        }
    }
    let filled_to = filled_to.unwrap_or_else(|| panic!("no gap fill from 2:\n{}", rig.dump()));
    let orders: Vec<(u64, u64)> = (2..=4)
        .map(|_| {
            let line = acc.expect("ORDER", WAIT);
            let id = line.split(' ').nth(1).and_then(|s| s.parse().ok());
            let seq = line.rsplit(' ').next().and_then(|s| s.parse().ok());
            id.zip(seq).unwrap_or_else(|| panic!("{line}"))
        })
        .collect();
    assert_eq!(orders.iter().map(|o| o.0).collect::<Vec<_>>(), [2, 3, 4], "{}", acc.dump());
    assert!(orders.iter().all(|o| o.1 >= filled_to), "gap-filled to {filled_to}: {orders:?}\n{}", acc.dump());
    let (records, text, _) = rig.finish();
    assert!(text.contains("exchange_session gap_filled begin=2"), "{text}");
    assert_eq!(records.iter().filter(|r| r.kind == K::Response).count(), 4);
}

/// Rewrites the (stopped) acceptor's store so that it expects `next` from us again: it forgets
/// our messages from `next` on and keeps its own numbers.
fn acceptor_forgets_from(acc: &Acceptor, next: u64) {
    let file = acc.dir.join("store").join("FIX.4.4-EXCH-OMS.seqnums");
    let text = std::fs::read_to_string(&file).unwrap_or_else(|e| panic!("{}: {e}", file.display()));
    let sender: u64 = text
        .split(':')
        .next()
        .and_then(|t| t.trim().parse().ok())
        .unwrap_or_else(|| panic!("{}: {text:?}", file.display()));
    std::fs::write(&file, format!("{sender:010} : {next:010}")).expect("rewrite the acceptor's store");
}

/// Waits until the acceptor's sequence-number store expects `next` from us.
fn acceptor_stored_next_inbound(acc: &Acceptor, next: u64) {
    let file = acc.dir.join("store").join("FIX.4.4-EXCH-OMS.seqnums");
    let deadline = Instant::now() + WAIT;
    loop {
        let text = std::fs::read_to_string(&file).unwrap_or_default();
        let stored = text.split(':').nth(1).and_then(|t| t.trim().parse::<u64>().ok());
        if stored.is_some_and(|n| n >= next) {
            return;
        }
        assert!(Instant::now() < deadline, "{}: next inbound {stored:?}, want {next}", file.display());
        std::thread::sleep(Duration::from_millis(5));
    }
}
