//! The reserve `Capacities::journal_reserve` sizes holds everything an engine records once it has
//! stopped taking requests, on a full disk (the first segment and its reserve are all there is):
//! with an exchange that reports on its orders as a FIX session does (a fill besides each order's
//! response), and with several producers whose full rings are all taken in the loop turn that
//! reaches the reserve. The end of the session lands in the journal and nothing is dropped. Time
//! (the engine's and the writer's) is a manual clock.

mod common;

use oms::engine::{Engine, EngineBuilder};
use oms::exchange::NotSent;
use oms::exchange::{Exchange, ExchangeEvent, ExecutionReport};
use oms::journal::{Journal, JournalWriter, WriterOptions};
use oms::{Answer, EngineClock, EventKind as K, EventRecord, EventSink, Logon, Logout, OrderRequest};
use oms::{OrderResponse, Producer, RejectReason, RequestType, Responder, ResponseType, Side};

/// Keeps what is sent unanswered until `answering`; then, in its polls, answers each order
/// (accept) through the responder, fills it (each order is for 1) and reports the fill's
/// execution report too.
#[derive(Debug)]
struct FillingExchange {
    responder: Responder,
    sent: Vec<u64>,
    answered: usize,
    answering: bool,
}

impl Exchange for FillingExchange {
    fn send(&mut self, order: &OrderRequest) -> Result<(), NotSent> {
        self.sent.push(order.order_id);
        Ok(())
    }
    fn send_logon(&mut self, _logon: &Logon) {}
    fn send_logout(&mut self, _logout: &Logout) {}
    fn poll(&mut self, _now_ns: u64, events: &mut dyn FnMut(ExchangeEvent<'_>)) -> usize {
        let mut work = 0;
        while self.answering && self.answered < self.sent.len() {
            let order_id = self.sent[self.answered];
            let r = OrderResponse { order_id, response_type: ResponseType::Accept };
            if self.responder.on_data(r).is_err()
                || self.responder.on_answer(Answer::Fill { order_id, last_qty: 1, last_px: 10.0 }).is_err()
            {
                break;
            }
            let fill =
                ExecutionReport { order_id, exec_type: b'F', ord_status: b'2', last_qty: 1, last_px: 10.0 };
            // The engine records the order's response (drained from the ring) before the fill.
            events(ExchangeEvent::Execution(fill));
            self.answered += 1;
            work += 1;
        }
        work
    }
}

type Live = Engine<FillingExchange, JournalWriter>;

/// An engine on a manual clock, logged on (window 10:00-13:00 UTC), over a journal of 256 KiB
/// segments whose disk is full from the second segment on, with its reserve from `Capacities::journal_reserve`.
struct Rig {
    engine: Live,
    producers: Vec<Producer>,
    path: std::path::PathBuf,
    /// The last order id offered.
    id: u64,
    _dir: tempfile::TempDir,
}

impl Rig {
    fn new(producers: usize, ring: usize, queue: usize, in_flight: usize) -> Rig {
        let dir = tempfile::tempdir().expect("temp dir");
        let mut cfg = common::config("10:00", "13:00", 1_000_000, Some(1000));
        cfg.engine.ring_capacity = ring;
        cfg.engine.max_queued_orders = queue;
        cfg.engine.max_in_flight = in_flight;
        cfg.engine.max_working_orders = in_flight;
        cfg.journal.path = dir.path().join("oms.journal");
        cfg.journal.segment_bytes = 256 * 1024;
        let valid = cfg.validate().expect("valid config");
        let (clock, _mock) = EngineClock::manual(common::wall("2026-11-23T10:00:00Z"));
        let (wclock, _writer_mock) = quanta::Clock::mock();
        let opts = WriterOptions {
            inject_enospc_from_segment: Some(1),
            clock: Some(wclock),
            ..WriterOptions::with_reserve(valid.engine.capacities.journal_reserve(producers))
        };
        let journal =
            JournalWriter::create_with(&valid.journal, &cfg.journal_meta(&clock), opts).expect("journal");
        let (mut b, responder) = EngineBuilder::new(&valid.engine, clock);
        let producers = (0..producers).map(|_| b.producer().expect("a producer handle")).collect();
        let exchange = FillingExchange { responder, sent: Vec::new(), answered: 0, answering: false };
        let mut rig =
            Rig { engine: b.build(exchange, journal), producers, path: cfg.journal.path, id: 0, _dir: dir };
        rig.settle();
        assert!(rig.engine.logged_on());
        rig
    }

    /// Polls until a turn finds nothing to do (or only requests it does not take).
    fn settle(&mut self) {
        let mut turns = 0;
        while self.engine.poll() > 0 {
            turns += 1;
            assert!(turns < 1_000_000, "the engine never settled");
        }
    }

    /// Offers the next New order to producer `p`; `false` if its ring pushed back.
    fn offer(&mut self, p: usize) -> bool {
        let o = OrderRequest::new(self.id + 1, 1, Side::Buy, 10.0, 1);
        let taken = self.producers[p].on_data(o, RequestType::New).is_ok();
        self.id += u64::from(taken);
        taken
    }

    /// Fills every producer ring.
    fn fill_rings(&mut self) {
        for p in 0..self.producers.len() {
            while self.offer(p) {}
        }
    }

    /// Shuts down with the exchange answering and filling every order in flight; checks that
    /// nothing was dropped and the journal holds every event; returns the records.
    fn finish(mut self) -> Vec<EventRecord> {
        self.engine.exchange_mut().answering = true;
        let report = self.engine.shutdown();
        let events = report.stats.events;
        let stats = report.sink.close().expect("close");
        assert!(stats.prepare_failures >= 1, "the disk was full: {stats:?}");
        assert_eq!(stats.segments, 1);
        assert_eq!(stats.dropped, 0, "the reserve was too small: records dropped");
        let journal = Journal::open(&self.path).expect("open");
        let records: Vec<_> = journal.records().collect::<Result<_, _>>().expect("records");
        assert_eq!(records.len() as u64, events, "every event the engine recorded is in the journal");
        assert_eq!(count(&records, K::Logout), 1, "the end of the session is recorded");
        records
    }
}

fn count(records: &[EventRecord], kind: K) -> usize {
    records.iter().filter(|r| r.kind == kind).count()
}

fn shutdown_rejects(records: &[EventRecord]) -> usize {
    records.iter().filter(|r| r.reason == Some(RejectReason::Shutdown)).count()
}

/// The in-flight table full, an order queued, the ring full: at shutdown each order in flight is
/// answered, filled and reported on (three records), the rest rejected `shutdown`.
#[test]
fn the_reserve_holds_a_response_and_a_fill_per_order_in_flight() {
    const IN_FLIGHT: usize = 200;
    const RING: usize = 16;
    let mut rig = Rig::new(1, RING, 1, IN_FLIGHT);
    // Orders one at a time: the in-flight table fills, one order queues, the rest are rejected
    // (queue_full, then journal_full once the room is down to twice the reserve) until the
    // engine stops taking requests at the reserve and the ring fills.
    let mut refused = 0;
    while refused < 10 {
        assert!(rig.id < 1_000_000, "the engine never stopped taking requests");
        refused += u32::from(!rig.offer(0));
        rig.settle();
    }
    assert_eq!(rig.engine.in_flight_len(), IN_FLIGHT);
    assert_eq!(rig.engine.queue_len(), 1);
    assert!(!rig.engine.sink().takes_requests());
    assert!(rig.engine.stats().rejected_for(RejectReason::JournalFull) > 0, "the disk was full");
    assert_eq!(rig.producers[0].pending(), RING);
    let records = rig.finish();
    assert_eq!(count(&records, K::Response), IN_FLIGHT);
    assert_eq!(count(&records, K::Filled), IN_FLIGHT);
    assert_eq!(count(&records, K::Execution), IN_FLIGHT);
    assert_eq!(shutdown_rejects(&records), 1 + RING, "the queued order and the ring's requests");
}

/// Four producers with full rings when the room is one record above the reserve: the loop turn
/// takes all four rings' requests (the intake is checked once per turn) and records each, the
/// rings fill again and are drained at shutdown.
#[test]
fn the_reserve_holds_the_turn_that_reaches_it_and_full_rings_at_shutdown() {
    const PRODUCERS: usize = 4;
    const RING: usize = 64;
    let mut rig = Rig::new(PRODUCERS, RING, 1, 1);
    let reserve = rig.engine.sink().reserve_records();
    // One order sent, one queued, then single orders (each rejected: queue_full, journal_full)
    // until the room is one record above the reserve.
    while rig.engine.sink().mapped_room() > reserve + 1 {
        assert!(rig.engine.sink().takes_requests(), "the intake stopped above the reserve");
        assert!(rig.offer(0));
        rig.settle();
    }
    assert!(rig.engine.sink().takes_requests());
    rig.fill_rings();
    let before = rig.engine.stats().requests;
    rig.engine.poll();
    assert_eq!(rig.engine.stats().requests - before, (PRODUCERS * RING) as u64, "one turn took every ring");
    assert!(!rig.engine.sink().takes_requests());
    rig.fill_rings();
    let records = rig.finish();
    assert_eq!(shutdown_rejects(&records), 1 + PRODUCERS * RING, "the queued order and the rings' requests");
    assert_eq!(
        (count(&records, K::Response), count(&records, K::Filled), count(&records, K::Execution)),
        (1, 1, 1)
    );
}
