//! The engine with a session adapter (an exchange with `ready`, `poll` and its own timers), on a
//! manual clock: orders wait while it is not ready and the throttle is not consulted; what it
//! reports becomes typed records (text never in the journal); an order's response comes before
//! its other reports; its timers are engine deadlines; a shutdown polls it until its logout is
//! answered. The same wiring against a real FIX counterparty is tests/fix_engine.rs.

use std::collections::VecDeque;

use oms::audit::{AuditOptions, audit};
use oms::engine::{BATCH, Engine, EngineBuilder};
use oms::exchange::NotSent;
use oms::exchange::{DisconnectCause, ExchangeEvent, ExecutionReport, RejectSource};
use oms::model::FixCode;
use oms::record::{Event, SessionReport};
use oms::{
    Config, EngineClock, EventKind as K, EventRecord, Exchange, Logon, Logout, MemorySink, OrderRequest,
    OrderResponse, Producer, RequestType, Responder, ResponseType, Side, ValidConfig,
};
use quanta::Mock;

const SEC: u64 = 1_000_000_000;
const MS: u64 = 1_000_000;

/// What the stub does at its next `poll`, in order.
enum Step {
    Ready(bool),
    Answer(u64, ResponseType),
    Report(ExchangeEvent<'static>),
}

/// A session adapter driven by the test: it is ready when told, answers through the
/// responder and reports events at its next poll, and keeps a deadline.
struct Stub {
    ready: bool,
    sent: Vec<u64>,
    logons: usize,
    logouts: usize,
    steps: VecDeque<Step>,
    responder: Responder,
    deadline: Option<u64>,
    /// After `send_logout`: polls until the Logout is answered.
    logout_polls: Option<usize>,
    /// How many of the next sends it does not take (`NotSent`).
    refuse: usize,
}

impl Stub {
    fn then(&mut self, s: Step) {
        self.steps.push_back(s);
    }
}

impl Exchange for Stub {
    fn send(&mut self, order: &OrderRequest) -> Result<(), NotSent> {
        assert!(self.ready, "order {} handed to a session that is not ready", order.order_id);
        if self.refuse > 0 {
            self.refuse -= 1;
            return Err(NotSent);
        }
        self.sent.push(order.order_id);
        Ok(())
    }
    fn send_logon(&mut self, _: &Logon) {
        self.logons += 1;
    }
    fn send_logout(&mut self, _: &Logout) {
        self.logouts += 1;
        self.ready = false;
        self.logout_polls = Some(3);
    }
    fn ready(&self) -> bool {
        self.ready
    }
    fn poll(&mut self, _now: u64, events: &mut dyn FnMut(ExchangeEvent<'_>)) -> usize {
        let mut work = 0;
        while let Some(s) = self.steps.pop_front() {
            work += 1;
            match s {
                Step::Ready(r) => self.ready = r,
                Step::Answer(order_id, response_type) => {
                    self.responder.on_data(OrderResponse { order_id, response_type }).expect("ring room")
                }
                Step::Report(e) => events(e),
            }
        }
        if let Some(n) = self.logout_polls {
            work += 1;
            if n == 0 {
                self.logout_polls = None;
                self.deadline = None;
                events(ExchangeEvent::LoggedOut { text: "see you tomorrow (logout text)" });
            } else {
                self.logout_polls = Some(n - 1);
            }
        }
        work
    }
    fn next_deadline_ns(&self) -> Option<u64> {
        self.logout_polls.map(|_| 0).or(self.deadline)
    }
}

struct Rig {
    engine: Engine<Stub, MemorySink>,
    mock: std::sync::Arc<Mock>,
    producer: Producer,
    valid: ValidConfig,
}

const PASSWORD: &str = "s3cr3t-pw";

impl Rig {
    /// Inside a 10:00-13:00 UTC window, 2 orders/s with a burst of 2, the stub not ready.
    fn new() -> Rig {
        Rig::with(2, 2, 64)
    }

    /// Inside a 10:00-13:00 UTC window, `rate` orders/s with a burst of `burst`, rings and tables
    /// of `capacity`, the stub not ready.
    fn with(rate: u32, burst: u32, capacity: usize) -> Rig {
        let mut c = Config::default();
        c.session.timezone = "UTC".into();
        (c.session.start, c.session.end) = ("10:00:00".into(), "13:00:00".into());
        c.session.password = Some(PASSWORD.into());
        c.throttle.max_orders_per_sec = rate;
        c.throttle.burst = Some(burst);
        (c.engine.ring_capacity, c.engine.max_queued_orders, c.engine.max_in_flight) =
            (capacity, capacity, capacity);
        let valid = c.validate().expect("valid config");
        let t0 = "2026-11-23T10:00:00Z".parse::<jiff::Timestamp>().expect("time").as_nanosecond() as i64;
        let (clock, mock) = EngineClock::manual(t0);
        let (mut b, responder) = EngineBuilder::new(&valid.engine, clock);
        let producer = b.producer().expect("a producer handle");
        let stub = Stub {
            ready: false,
            sent: Vec::new(),
            logons: 0,
            logouts: 0,
            steps: VecDeque::new(),
            responder,
            deadline: None,
            logout_polls: None,
            refuse: 0,
        };
        let mut engine = b.build(stub, MemorySink::default());
        engine.poll();
        assert!(engine.logged_on());
        Rig { engine, mock, producer, valid }
    }

    fn stub(&mut self) -> &mut Stub {
        self.engine.exchange_mut()
    }

    fn new_order(&mut self, id: u64) {
        let o = OrderRequest::new(id, 7, Side::Buy, 100.0, 10);
        self.producer.on_data(o, RequestType::New).expect("ring room");
        self.poll();
    }

    fn poll(&mut self) {
        for _ in 0..10 {
            if self.engine.poll() == 0 {
                return;
            }
        }
        panic!("the engine kept finding work for 10 turns");
    }

    fn records(&self) -> Vec<EventRecord> {
        self.engine.sink().events().to_vec()
    }

    fn kinds(&self) -> Vec<(K, u64)> {
        self.records().iter().map(|r| (r.kind, r.order_id)).collect()
    }

    fn audit_clean(records: &[EventRecord], valid: &ValidConfig) {
        let window = &valid.engine.session.window;
        let report = audit(records, window, &valid.engine.throttle, AuditOptions::LIVE);
        assert!(report.is_clean(), "{report}\n{records:#?}");
    }
}

/// An order the exchange does not take is rejected `not_sent` in order, in the journal, and is
/// not left in flight: sent at once, or as it leaves the queue's front (the next queued order
/// then goes at the next permit). The audit holds the journal to it.
#[test]
fn an_order_the_exchange_does_not_take_is_rejected_not_sent() {
    let mut rig = Rig::with(1, 1, 64);
    rig.stub().ready = true;
    rig.stub().refuse = 1;
    rig.new_order(1);
    assert_eq!(rig.kinds()[1..], [(K::Rejected, 1)]);
    assert_eq!(rig.records()[1].reason, Some(oms::RejectReason::NotSent));
    assert_eq!(rig.engine.in_flight_len(), 0, "nothing went out: nothing in flight");
    rig.new_order(2); // the permit went with order 1's attempt
    rig.new_order(3);
    assert_eq!(rig.engine.queue_len(), 2);
    rig.stub().refuse = 1;
    rig.mock.increment(SEC);
    rig.poll();
    assert_eq!(rig.kinds()[4..], [(K::Rejected, 2)], "the queue's front, not taken");
    assert_eq!((rig.engine.queue_len(), rig.engine.in_flight_len()), (1, 0));
    rig.mock.increment(SEC);
    rig.poll();
    assert_eq!(rig.stub().sent, [3]);
    rig.stub().then(Step::Answer(3, ResponseType::Accept));
    rig.poll();
    let report = rig.engine.shutdown();
    let records = report.sink.events();
    let reasons: Vec<_> = records.iter().filter_map(|r| r.reason).collect();
    assert_eq!(reasons, [oms::RejectReason::NotSent, oms::RejectReason::NotSent]);
    Rig::audit_clean(records, &rig.valid);
    // Recovery's fold agrees: the rejected front order left the queue.
    let mut orders = oms::lifecycle::Lifecycle::new();
    let steps: Vec<_> = records.iter().map(|r| orders.push(r)).collect();
    assert_eq!(orders.queued_len() + orders.in_flight_len(), 0, "{steps:?}");
}

#[test]
fn orders_wait_while_the_exchange_is_not_ready_and_the_throttle_is_untouched() {
    let mut rig = Rig::new();
    assert_eq!(rig.stub().logons, 1, "the window's logon reaches the adapter");
    for id in 1..=3 {
        rig.new_order(id);
    }
    assert_eq!(rig.kinds()[1..], [(K::Queued, 1), (K::Queued, 2), (K::Queued, 3)]);
    assert!(rig.stub().sent.is_empty());
    assert_eq!(rig.engine.next_send_ns(), None, "no permit is awaited while the exchange is not ready");
    let now = rig.engine.clock().now_ns();
    rig.stub().deadline = Some(now + 5 * SEC);
    assert_eq!(rig.engine.next_deadline_ns(), Some(now + 5 * SEC), "the adapter's timer is a deadline");

    // A minute later the session logs on: the bucket is still full (burst 2), nothing was spent.
    rig.mock.increment(60 * SEC);
    rig.stub().then(Step::Report(ExchangeEvent::LoggedOn { next_out_seq: 2, next_in_seq: 2 }));
    rig.stub().then(Step::Ready(true));
    rig.poll();
    assert_eq!(rig.stub().sent, [1, 2], "the burst goes out, oldest first");
    assert_eq!(rig.engine.queue_len(), 1);
    let now = rig.engine.clock().now_ns();
    assert_eq!(rig.engine.next_send_ns(), Some(now + 500 * MS), "the third waits for its permit");
    rig.mock.increment(500 * MS);
    rig.poll();
    assert_eq!(rig.stub().sent, [1, 2, 3]);
    let kinds: Vec<K> = rig.records().iter().map(|r| r.kind).collect();
    assert_eq!(kinds[4..], [K::ExchangeSession, K::Sent, K::Sent, K::Sent]);

    // Disconnected: orders wait again, in order, until the next logon.
    rig.stub().then(Step::Report(ExchangeEvent::Disconnected {
        cause: DisconnectCause::PeerClosed,
        text: "",
        retry_in_ns: SEC,
    }));
    rig.stub().then(Step::Ready(false));
    rig.poll();
    rig.mock.increment(10 * SEC);
    for id in 4..=5 {
        rig.new_order(id);
    }
    assert_eq!(rig.stub().sent, [1, 2, 3]);
    rig.stub().then(Step::Report(ExchangeEvent::LoggedOn { next_out_seq: 5, next_in_seq: 3 }));
    rig.stub().then(Step::Ready(true));
    rig.poll();
    assert_eq!(rig.stub().sent, [1, 2, 3, 4, 5]);
    let report = rig.engine.shutdown();
    Rig::audit_clean(report.sink.events(), &rig.valid);
}

#[test]
fn a_turn_sends_a_bounded_batch_of_queued_orders_and_takes_new_requests_in_between() {
    // 562 orders wait while the session logs on; the bucket holds 1000 permits.
    let n = 2 * BATCH as u64 + 50;
    let mut rig = Rig::with(1000, 1000, 1024);
    for id in 1..=n {
        let o = OrderRequest::new(id, 7, Side::Buy, 100.0, 10);
        rig.producer.on_data(o, RequestType::New).expect("ring room");
    }
    rig.poll();
    assert_eq!(rig.engine.queue_len() as u64, n);
    rig.stub().then(Step::Report(ExchangeEvent::LoggedOn { next_out_seq: 2, next_in_seq: 2 }));
    rig.stub().then(Step::Ready(true));
    rig.engine.poll(); // the adapter reports the logon at the end of this turn
    assert!(rig.stub().sent.is_empty());

    // One turn: a batch goes out, the ring's new order is decided (queued behind the rest, not
    // sent ahead of them), a second batch goes out; the rest waits for the next turn.
    let late = OrderRequest::new(10_000, 7, Side::Buy, 100.0, 10);
    rig.producer.on_data(late, RequestType::New).expect("ring room");
    rig.engine.poll();
    assert_eq!(rig.stub().sent.len(), 2 * BATCH, "a turn sends at most two batches (one per dispatch)");
    assert!(rig.kinds().contains(&(K::Queued, 10_000)), "the new request was decided in that turn");
    assert_eq!(rig.engine.queue_len() as u64, n - 2 * BATCH as u64 + 1);
    rig.poll();
    let sent = &rig.stub().sent;
    assert_eq!(sent.len() as u64, n + 1);
    assert!(sent.windows(2).all(|w| w[0] < w[1]), "oldest first, the late order last");
    let report = rig.engine.shutdown();
    Rig::audit_clean(report.sink.events(), &rig.valid);
}

#[test]
fn an_orders_response_is_recorded_before_its_other_reports() {
    let mut rig = Rig::new();
    rig.stub().then(Step::Report(ExchangeEvent::LoggedOn { next_out_seq: 2, next_in_seq: 2 }));
    rig.stub().then(Step::Ready(true));
    rig.poll();
    rig.new_order(1);
    rig.new_order(2);
    // One poll: order 1 answered and filled, order 2 answered then rejected by a session Reject.
    let fill =
        ExecutionReport { order_id: 1, exec_type: b'F', ord_status: b'2', last_qty: 10, last_px: 99.5 };
    rig.stub().then(Step::Answer(1, ResponseType::Accept));
    rig.stub().then(Step::Report(ExchangeEvent::Execution(fill)));
    rig.stub().then(Step::Answer(2, ResponseType::Reject));
    rig.stub().then(Step::Report(ExchangeEvent::OrderRejected {
        order_id: 2,
        source: RejectSource::SessionReject,
        reason: 5,
        text: "value is incorrect (out of range) for this tag",
    }));
    rig.poll();
    let tail: Vec<(K, u64)> = rig.kinds().into_iter().skip(4).collect();
    assert_eq!(
        tail,
        [(K::Response, 1), (K::Execution, 1), (K::Response, 2), (K::ExchangeReject, 2)],
        "each response first, then the report"
    );
    let r = rig.records();
    let response = r.iter().find(|r| r.kind == K::Response && r.order_id == 2).expect("response");
    assert_eq!(response.response, ResponseType::Reject);
    assert_eq!(response.producer, 0, "the response answers producer 0's order");
    let exec = r.iter().find(|r| r.kind == K::Execution).expect("execution");
    assert_eq!((exec.qty, exec.price, exec.producer), (10, 99.5, oms::record::ENGINE));
    let (exec_type, ord_status) = (FixCode::new(b'F').expect("code"), FixCode::new(b'2').expect("code"));
    assert_eq!(
        exec.event(),
        Event::Execution { order_id: 1, last_qty: 10, last_px: 99.5, exec_type, ord_status }
    );
    let stats = rig.engine.stats().clone();
    assert_eq!((stats.responses_in, stats.matched), (2, 2));
    let report = rig.engine.shutdown();
    Rig::audit_clean(report.sink.events(), &rig.valid);
}

#[test]
fn every_report_becomes_a_typed_record_without_its_text() {
    let mut rig = Rig::new();
    let texts = ["refused: wrong password XYZZY", "connection reset XYZZY", "bye XYZZY", "bad tag XYZZY"];
    let reports = [
        ExchangeEvent::LogonRefused { text: texts[0], retry_in_ns: 500 * MS },
        ExchangeEvent::Disconnected { cause: DisconnectCause::Io, text: texts[1], retry_in_ns: SEC },
        ExchangeEvent::LoggedOn { next_out_seq: 12, next_in_seq: 34 },
        ExchangeEvent::ResendRequested { begin: 7, end: 0 },
        ExchangeEvent::GapFilled { begin: 4, new_seq: 9 },
        ExchangeEvent::SequenceReset { new_seq: 40 },
        ExchangeEvent::SessionRejected { ref_seq: 8, reason: 11, text: texts[3] },
        ExchangeEvent::Unhandled { msg_type: "AE", seq: 41, reason: "application message not handled" },
        ExchangeEvent::Execution(ExecutionReport {
            order_id: 77,
            exec_type: b'4',
            ord_status: 0xff,
            last_qty: 0,
            last_px: 0.0,
        }),
        ExchangeEvent::OrderRejected { order_id: 78, source: RejectSource::GapFilled, reason: 0, text: "" },
        ExchangeEvent::LoggedOut { text: texts[2] },
    ];
    for e in reports {
        rig.stub().then(Step::Report(e));
    }
    rig.poll();
    let records = rig.records();
    let got: Vec<&EventRecord> = records.iter().filter(|r| r.kind.is_exchange()).collect();
    assert_eq!(got.len(), reports.len());
    let code = |b| FixCode::new(b).expect("code");
    let want: [Event; 11] = [
        Event::ExchangeSession(SessionReport::LogonRefused { retry_in_ns: 500 * MS }),
        Event::ExchangeSession(SessionReport::Disconnected { cause: DisconnectCause::Io, retry_in_ns: SEC }),
        Event::ExchangeSession(SessionReport::LoggedOn { next_out_seq: 12, next_in_seq: 34 }),
        Event::ExchangeSession(SessionReport::ResendRequested { begin: 7, end: 0 }),
        Event::ExchangeSession(SessionReport::GapFilled { begin: 4, new_seq: 9 }),
        Event::ExchangeSession(SessionReport::SequenceReset { new_seq: 40 }),
        Event::ExchangeSession(SessionReport::SessionRejected { ref_seq: 8, code: 11 }),
        Event::ExchangeSession(SessionReport::Unhandled { seq: 41 }),
        Event::Execution {
            order_id: 77,
            last_qty: 0,
            last_px: 0.0,
            exec_type: code(b'4'),
            ord_status: code(b'?'),
        },
        Event::ExchangeReject { order_id: 78, source: RejectSource::GapFilled, code: 0 },
        Event::ExchangeSession(SessionReport::LoggedOut),
    ];
    for (r, want) in got.iter().zip(want) {
        assert_eq!(r.event(), want);
        assert_eq!(
            (r.side, r.request, r.response, r.reason),
            ('\0', RequestType::Unknown, ResponseType::Unknown, None),
            "no instrument"
        );
        // What the journal would hold decodes to the same record.
        assert_eq!(EventRecord::from_bytes(&r.to_bytes()).as_ref(), Ok(*r));
        let bytes = r.to_bytes();
        assert!(!bytes.windows(5).any(|w| w == b"XYZZY"), "text in a record: {r:?}");
    }
}

#[test]
fn shutdown_polls_the_exchange_until_its_logout_is_answered() {
    let mut rig = Rig::new();
    rig.stub().then(Step::Report(ExchangeEvent::LoggedOn { next_out_seq: 2, next_in_seq: 2 }));
    rig.stub().then(Step::Ready(true));
    rig.poll();
    for id in 1..=3 {
        rig.new_order(id);
    }
    // Order 3 waits for its permit; 1 and 2 are in flight. The exchange answers order 2 (a
    // reject: its life ends) while its Logout is out.
    rig.stub().then(Step::Answer(2, ResponseType::Reject));
    let report = rig.engine.shutdown();
    assert_eq!(report.exchange.logouts, 1);
    assert_eq!(report.exchange.logout_polls, None, "polled until the Logout was answered");
    let kinds: Vec<(K, u64)> = report.sink.events().iter().map(|r| (r.kind, r.order_id)).collect();
    let n = kinds.len();
    assert_eq!(
        kinds[n - 5..],
        [(K::Rejected, 3), (K::Logout, 0), (K::Response, 2), (K::ExchangeSession, 0), (K::Unanswered, 1)],
        "{kinds:?}"
    );
    assert_eq!(report.stats.unanswered, 1);
    Rig::audit_clean(report.sink.events(), &rig.valid);
}

/// The child of the test below: 200 rejects in one turn, then a quiet second.
fn flood_of_rejects() {
    let mut rig = Rig::new();
    rig.stub().then(Step::Ready(true));
    for i in 0..200 {
        rig.stub().then(Step::Report(ExchangeEvent::OrderRejected {
            order_id: 1000 + i,
            source: RejectSource::BusinessReject,
            reason: 2,
            text: "unknown security",
        }));
    }
    rig.poll();
    let rejects = rig.records().iter().filter(|r| r.kind == K::ExchangeReject).count();
    assert_eq!(rejects, 200, "the journal has every one");
    rig.mock.increment(SEC);
    rig.poll();
}

/// 200 rejects in a second would bury everything else on standard error: the first few are
/// shown, then one line counts the rest once the second is over; the journal keeps all 200.
/// (Standard error is the process's: the test runs itself as a child to read it.)
#[test]
fn a_flood_of_exchange_reports_is_limited_on_standard_error() {
    const CHILD: &str = "OMS_TEST_FLOOD_OF_REJECTS_CHILD";
    if std::env::var_os(CHILD).is_some() {
        flood_of_rejects();
        return;
    }
    let exe = std::env::current_exe().expect("the test binary");
    let out = std::process::Command::new(exe)
        .args(["--exact", "a_flood_of_exchange_reports_is_limited_on_standard_error", "--nocapture"])
        .env(CHILD, "1")
        .output()
        .expect("run the child");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{err}\n{}", String::from_utf8_lossy(&out.stdout));
    let shown = err.lines().filter(|l| l.contains("rejected by the exchange (business_reject")).count();
    assert_eq!(shown, 5, "{err}");
    assert!(
        err.contains("oms: 195 more orders rejected by the exchange in the last 1.0 s not shown here"),
        "{err}"
    );
    assert!(err.lines().count() < 10, "{err}");
}
