//! Property tests of the engine as a state machine (issue 2, rules 2 and 8).
//!
//! Random arrivals (New / Modify / Cancel / responses, good and bad), random clock advances (both
//! stepping through every deadline, as a running engine does, and raw jumps), random throttle
//! settings. After every step a checker replays the new event records against a model and checks:
//! the throttle bound of the mode, FIFO among queued orders, that a new order never overtakes a
//! queued one, that the engine never idles while holding a permit and a queued order, and the
//! lifecycle of every order. At the end (after shutdown): conservation — every New request ends
//! exactly once in sent / cancelled / rejected.

mod common;

use std::collections::{HashSet, VecDeque};

use common::*;
use oms::throttle::ThrottleMode;
use oms::{
    EventKind as K, EventRecord, OrderRequest, OrderResponse, RejectReason as R, RequestType, ResponseType,
};
use proptest::prelude::*;

#[derive(Clone, Debug)]
enum Op {
    New { id: u64, bad: u8 },
    Modify { id: u64, qty: u64 },
    Cancel { id: u64 },
    Respond { id: u64, accept: bool },
    Step { ms: u64 },
    Jump { ms: u64 },
    Poll,
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        6 => (1u64..30, prop_oneof![8 => Just(0u8), 1 => 1u8..4]).prop_map(|(id, bad)| Op::New { id, bad }),
        2 => (1u64..30, 0u64..5).prop_map(|(id, qty)| Op::Modify { id, qty }),
        2 => (1u64..30).prop_map(|id| Op::Cancel { id }),
        2 => (1u64..30, any::<bool>()).prop_map(|(id, accept)| Op::Respond { id, accept }),
        3 => (0u64..1500).prop_map(|ms| Op::Step { ms }),
        1 => (0u64..1500).prop_map(|ms| Op::Jump { ms }),
        3 => Just(Op::Poll),
    ]
}

/// Replays event records against a model of the queue and the in-flight set.
struct Checker {
    mode: ThrottleMode,
    rate: u64,
    burst: u64,
    queue: VecDeque<u64>,
    in_flight: HashSet<u64>,
    session_sends: Vec<i64>,
    seen: usize,
    terminal_new: u64,
}

impl Checker {
    fn check(&mut self, events: &[EventRecord]) -> Result<(), TestCaseError> {
        for e in &events[self.seen..] {
            let id = e.order_id;
            match e.kind {
                K::Logon => self.session_sends.clear(),
                K::Logout => prop_assert!(self.queue.is_empty(), "orders still queued at logout"),
                K::Queued => {
                    prop_assert!(
                        !self.queue.contains(&id) && !self.in_flight.contains(&id),
                        "{id} live twice"
                    );
                    self.queue.push_back(id);
                }
                K::Sent => {
                    self.terminal_new += 1;
                    if self.queue.contains(&id) {
                        prop_assert_eq!(self.queue.front(), Some(&id), "FIFO broken");
                        self.queue.pop_front();
                    } else {
                        prop_assert!(self.queue.is_empty(), "{} overtook queued orders {:?}", id, self.queue);
                    }
                    prop_assert!(self.in_flight.insert(id), "{} sent twice", id);
                    self.session_sends.push(e.time_ns);
                    self.check_bound()?;
                }
                K::Modified => prop_assert!(self.queue.contains(&id), "modified {} not queued", id),
                K::Cancelled => {
                    self.terminal_new += 1;
                    let pos = self.queue.iter().position(|x| *x == id);
                    prop_assert!(pos.is_some(), "cancelled {} not queued", id);
                    self.queue.remove(pos.unwrap_or_default());
                }
                K::Rejected if e.request == RequestType::New => {
                    self.terminal_new += 1;
                    match e.reason {
                        Some(R::DuplicateOrderId) => {
                            prop_assert!(self.queue.contains(&id) || self.in_flight.contains(&id))
                        }
                        Some(R::SessionEnded | R::Shutdown) if self.queue.contains(&id) => {
                            prop_assert_eq!(self.queue.pop_front(), Some(id), "queue emptied out of order")
                        }
                        // Intake rejects (bad fields, outside window, queue full) leave live orders alone.
                        _ => {}
                    }
                }
                K::Rejected => {}
                K::Response | K::Unanswered => {
                    prop_assert!(self.in_flight.remove(&id), "{} not in flight", id)
                }
                K::UnmatchedResponse => prop_assert!(!self.in_flight.contains(&id)),
                K::ClockStep => {}
            }
        }
        self.seen = events.len();
        Ok(())
    }

    /// The bound over every window ending at the newest send of this session.
    fn check_bound(&self) -> Result<(), TestCaseError> {
        let s = &self.session_sends;
        let (j, tj) = (s.len() - 1, s[s.len() - 1]);
        for (i, &ti) in s.iter().enumerate() {
            let count = (j - i + 1) as u64;
            let span = (tj - ti) as u64;
            match self.mode {
                ThrottleMode::TokenBucket => {
                    let allowed = self.burst + (self.rate as u128 * span as u128 / 1_000_000_000) as u64;
                    prop_assert!(count <= allowed, "{} sends in {} ns > {}", count, span, allowed);
                }
                ThrottleMode::SlidingWindow => {
                    if span < 1_000_000_000 {
                        prop_assert!(count <= self.rate, "{} sends within {} ns", count, span);
                    }
                }
            }
        }
        Ok(())
    }
}

/// Puts a request in a ring without polling: several messages may then meet in one loop turn.
fn push(rig: &mut Rig, p: usize, o: OrderRequest, t: RequestType) {
    rig.producers[p].on_data(o, t).expect("ring has room");
}

fn run(mode: ThrottleMode, rate: u32, burst: u32, start: &str, ops: Vec<Op>) -> Result<(), TestCaseError> {
    let mut cfg = config("10:00:00", "10:00:20", rate, Some(burst));
    cfg.throttle.mode = mode.name().into();
    cfg.engine.max_queued_orders = 8;
    cfg.engine.max_in_flight = 6;
    let mut rig = Rig::new(&cfg, start, 2);
    let mut chk = Checker {
        mode,
        rate: rate as u64,
        burst: if mode == ThrottleMode::TokenBucket { burst as u64 } else { rate as u64 },
        queue: VecDeque::new(),
        in_flight: HashSet::new(),
        session_sends: Vec::new(),
        seen: 0,
        terminal_new: 0,
    };
    let mut news = 0u64;
    for (i, op) in ops.into_iter().enumerate() {
        let p = i % 2;
        match op {
            Op::New { id, bad } => {
                news += 1;
                let mut o = OrderRequest::new(id, 1, oms::Side::Buy, 10.0, 1);
                match bad {
                    1 => o.price = f64::NAN,
                    2 => o.qty = 0,
                    3 => o.side = '?',
                    _ => {}
                }
                push(&mut rig, p, o, RequestType::New);
            }
            Op::Modify { id, qty } => {
                push(&mut rig, p, OrderRequest::new(id, 1, oms::Side::Buy, 11.0, qty), RequestType::Modify)
            }
            Op::Cancel { id } => {
                push(&mut rig, p, OrderRequest::new(id, 1, oms::Side::Buy, 1.0, 1), RequestType::Cancel)
            }
            Op::Respond { id, accept } => {
                let response_type = if accept { ResponseType::Accept } else { ResponseType::Reject };
                rig.responder.on_data(OrderResponse { order_id: id, response_type }).expect("ring has room");
            }
            Op::Poll => rig.poll(),
            Op::Step { ms } => rig.advance(ms * MS),
            Op::Jump { ms } => {
                rig.mock.increment(ms * MS);
                rig.poll();
            }
        }
        chk.check(rig.events())?;
        if let Some(t) = rig.engine.next_send_ns() {
            prop_assert!(t > rig.now(), "engine idles with a permit and a queued order");
        }
    }
    rig.poll();
    let report = rig.engine.shutdown();
    chk.check(report.sink.events())?;
    prop_assert!(chk.queue.is_empty() && chk.in_flight.is_empty(), "live orders left after shutdown");
    prop_assert_eq!(chk.terminal_new, news, "every New ends exactly once");
    let seqs: Vec<u64> = report.sink.events().iter().map(|e| e.seq).collect();
    prop_assert_eq!(seqs, (1..=report.sink.events().len() as u64).collect::<Vec<_>>());
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn token_bucket_rules_hold(rate in 1u32..20, burst in 1u32..8, inside in any::<bool>(),
                               ops in proptest::collection::vec(op(), 1..120)) {
        let start = if inside { "2026-11-23T10:00:00Z" } else { "2026-11-23T09:59:58Z" };
        run(ThrottleMode::TokenBucket, rate, burst, start, ops)?;
    }

    #[test]
    fn sliding_window_rules_hold(rate in 1u32..20, inside in any::<bool>(),
                                 ops in proptest::collection::vec(op(), 1..120)) {
        let start = if inside { "2026-11-23T10:00:00Z" } else { "2026-11-23T09:59:58Z" };
        run(ThrottleMode::SlidingWindow, rate, 1, start, ops)?;
    }
}
