//! Property test of orders' whole lives: random interleavings of requests (New, Modify, Cancel)
//! and of the exchange's answers (first answers, fills within and beyond what is left, cancels
//! and replaces carried out or refused, expiries, answers that fit nothing) driven through a
//! real engine on a manual clock, with a short window so that many runs reach its end (working
//! orders cancelled before the logout, or left working when `cancel_on_logout` is off).
//!
//! A model written here from the rules of an order's life (not the engine's state machine)
//! follows the engine's decisions in its journal (what it sent, cancelled, replaced) and
//! predicts what each answer must do. After every step:
//!
//! - each answer's record is the one the model predicts (applied with these numbers, or an
//!   `unexpected_report` stating the order's state);
//! - no order is ever filled beyond its live version's quantity (a fill on the old terms after
//!   a replace was sent counts against the old quantity), and a cancel or replace goes out only
//!   for a working order with nothing pending;
//! - the engine's state, quantity, filled quantity and average price of every order at the
//!   exchange are the model's, and an order the model has ended is gone from the engine;
//! - the journal so far keeps every rule of [`oms::audit`].
//!
//! After shutdown every New order has exactly one final record, every order the model knows is
//! final, and the audit of the whole journal passes.

mod common;

use std::collections::HashMap;

use common::*;
use oms::audit::{AuditOptions, Auditor, Rule};
use oms::model::AnswerKind;
use oms::{
    Answer, Event, EventRecord, OrderRequest, OrderResponse, OrderState, RequestType, ResponseType, Side,
};
use proptest::prelude::*;
use proptest::test_runner::{Config as RunnerConfig, FileFailurePersistence, TestRunner};

#[derive(Clone, Debug)]
enum Op {
    New {
        qty: u64,
    },
    Modify {
        k: usize,
        qty: u64,
        up: bool,
    },
    Cancel {
        k: usize,
    },
    Accept {
        k: usize,
    },
    Reject {
        k: usize,
    },
    Fill {
        k: usize,
        qty: u64,
        up: bool,
    },
    /// A fill that races a pending cancel or replace.
    RaceFill {
        k: usize,
        qty: u64,
    },
    CancelAck {
        k: usize,
    },
    ReplaceAck {
        k: usize,
    },
    CancelReject {
        k: usize,
    },
    Expire {
        k: usize,
    },
    Step {
        ms: u64,
    },
}

fn op() -> impl Strategy<Value = Op> {
    let k = || 0usize..64;
    prop_oneof![
        4 => (4u64..20).prop_map(|qty| Op::New { qty }),
        6 => (k(), 1u64..24, any::<bool>()).prop_map(|(k, qty, up)| Op::Modify { k, qty, up }),
        3 => k().prop_map(|k| Op::Cancel { k }),
        6 => k().prop_map(|k| Op::Accept { k }),
        1 => k().prop_map(|k| Op::Reject { k }),
        5 => (k(), 1u64..6, any::<bool>()).prop_map(|(k, qty, up)| Op::Fill { k, qty, up }),
        3 => (k(), 1u64..6).prop_map(|(k, qty)| Op::RaceFill { k, qty }),
        3 => k().prop_map(|k| Op::CancelAck { k }),
        3 => k().prop_map(|k| Op::ReplaceAck { k }),
        2 => k().prop_map(|k| Op::CancelReject { k }),
        1 => k().prop_map(|k| Op::Expire { k }),
        // Mostly short steps (the throttle's next permit), sometimes a long one.
        4 => (0u64..150).prop_map(|ms| Op::Step { ms }),
        1 => (300u64..1500).prop_map(|ms| Op::Step { ms }),
    ]
}

/// Where an order at the exchange stands, in the model.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum S {
    PendingNew,
    Working,
    PartlyFilled,
    PendingCancel,
    PendingReplace,
    Filled,
    Cancelled,
    Rejected,
    Expired,
    Unanswered,
}

impl S {
    fn is_final(self) -> bool {
        matches!(self, S::Filled | S::Cancelled | S::Rejected | S::Expired | S::Unanswered)
    }
    /// Accepted, not ended, nothing pending: a desk may cancel or replace it.
    fn rests(self) -> bool {
        matches!(self, S::Working | S::PartlyFilled)
    }
    /// A cancel or replace is pending.
    fn is_pending(self) -> bool {
        matches!(self, S::PendingCancel | S::PendingReplace)
    }
    /// Accepted and not ended: it may trade.
    fn trades(self) -> bool {
        matches!(self, S::Working | S::PartlyFilled | S::PendingCancel | S::PendingReplace)
    }
    /// The engine's name for it.
    fn state(self) -> OrderState {
        match self {
            S::PendingNew => OrderState::Sent,
            S::Working => OrderState::Working,
            S::PartlyFilled => OrderState::PartiallyFilled,
            S::PendingCancel => OrderState::PendingCancel,
            S::PendingReplace => OrderState::PendingReplace,
            S::Filled => OrderState::Filled,
            S::Cancelled => OrderState::Cancelled,
            S::Rejected => OrderState::Rejected,
            S::Expired => OrderState::Expired,
            S::Unanswered => OrderState::Unanswered,
        }
    }
}

/// An order at the exchange, in the model.
#[derive(Clone, Copy, Debug)]
struct M {
    s: S,
    /// The live version's price and quantity.
    px: f64,
    qty: u64,
    cum: u64,
    /// Σ last qty × last px in nano-units.
    notional: i128,
    /// The replacement asked for while a replace is pending.
    replacement: Option<(f64, u64)>,
}

impl M {
    /// Accepted, not ended, nothing pending: working or filled in part.
    fn resting(&self) -> S {
        if self.cum > 0 { S::PartlyFilled } else { S::Working }
    }
}

/// The model, fed with the journal's records in order and with the answers injected.
#[derive(Default)]
struct Model {
    orders: HashMap<u64, M>,
    /// Answers injected and not yet seen in the journal, in order.
    answers: Vec<Answer>,
    /// Final records per New order id.
    finals: HashMap<u64, u32>,
    /// What the case exercised.
    seen: Seen,
}

/// Paths a case went through.
#[derive(Clone, Copy, Debug, Default)]
struct Seen {
    /// A fill applied while a replace was pending (on the old terms).
    fill_while_replacing: bool,
    /// A fill refused as an overfill of an order that trades.
    overfill: bool,
    /// A replace carried out after fills.
    replaced_after_fills: bool,
    /// Our cancel carried out.
    cancelled: bool,
    /// A cancel or replace refused.
    refused: bool,
    /// The engine's own cancels after the window's end.
    closing: bool,
    /// Orders left unanswered.
    unanswered: bool,
}

fn nanos(px: f64) -> i128 {
    (px * 1e9).round() as i128
}

impl Model {
    fn end(&mut self, id: u64) {
        *self.finals.entry(id).or_default() += 1;
    }

    /// One journal record.
    fn record(&mut self, r: &EventRecord) -> Result<(), TestCaseError> {
        match r.event() {
            Event::Sent { order, .. } => {
                prop_assert!(
                    !self.orders.contains_key(&order.order_id),
                    "order {} sent twice",
                    order.order_id
                );
                let m = M {
                    s: S::PendingNew,
                    px: order.price,
                    qty: order.qty,
                    cum: 0,
                    notional: 0,
                    replacement: None,
                };
                self.orders.insert(order.order_id, m);
            }
            Event::CancelSent { order, .. } => {
                let m = self.orders.get_mut(&order.order_id);
                let s = m.as_ref().map(|m| m.s);
                prop_assert!(
                    matches!(s, Some(S::Working | S::PartlyFilled)),
                    "a cancel sent for order {} in state {:?}",
                    order.order_id,
                    s
                );
                if let Some(m) = m {
                    m.s = S::PendingCancel;
                }
            }
            Event::ReplaceSent { order, .. } => {
                let m = self.orders.get_mut(&order.order_id);
                let now = m.as_ref().map(|m| (m.s, m.cum));
                prop_assert!(
                    matches!(now, Some((S::Working | S::PartlyFilled, cum)) if order.qty > cum),
                    "a replace to {} sent for order {} in state and filled {:?}",
                    order.qty,
                    order.order_id,
                    now
                );
                if let Some(m) = m {
                    (m.s, m.replacement) = (S::PendingReplace, Some((order.price, order.qty)));
                }
            }
            Event::CancelQueued { .. } if r.producer == oms::record::ENGINE => self.seen.closing = true,
            Event::Unanswered { order } => {
                self.seen.unanswered = true;
                let s = self.orders.get(&order.order_id).map(|m| m.s);
                prop_assert!(
                    s.is_some_and(|s| !s.is_final()),
                    "order {} unanswered in state {:?}",
                    order.order_id,
                    s
                );
                if let Some(m) = self.orders.get_mut(&order.order_id) {
                    m.s = S::Unanswered;
                }
                self.end(order.order_id);
            }
            Event::Rejected { order, request: RequestType::New, .. } | Event::Cancelled { order } => {
                self.end(order.order_id)
            }
            Event::Response { .. }
            | Event::UnmatchedResponse { .. }
            | Event::Fill { .. }
            | Event::VenueCancelled { .. }
            | Event::Replaced { .. }
            | Event::CancelRejected { .. }
            | Event::Expired { .. }
            | Event::UnexpectedReport { .. } => {
                prop_assert!(!self.answers.is_empty(), "an answer record no answer explains: {r:?}");
                let a = self.answers.remove(0);
                self.answer(a, r)?;
            }
            _ => {}
        }
        Ok(())
    }

    /// Answer `a` recorded as `r`: what the model predicts, applied.
    fn answer(&mut self, a: Answer, r: &EventRecord) -> Result<(), TestCaseError> {
        let id = a.order_id();
        let e = r.event();
        let m = self.orders.get(&id).copied().filter(|m| !m.s.is_final());
        let unexpected = |answer: AnswerKind, qty: u64| -> Result<(), TestCaseError> {
            match e {
                Event::UnexpectedReport { order_id, answer: got, state, qty: q, .. } => {
                    prop_assert_eq!((order_id, got, q), (id, answer, qty), "{:?} -> {:?}", a, e);
                    prop_assert_eq!(state, m.map(|m| m.s.state()), "the state an unexpected report states");
                }
                other => prop_assert!(false, "{:?} with order {} as {:?} recorded as {:?}", a, id, m, other),
            }
            Ok(())
        };
        match a {
            Answer::Response(OrderResponse { response_type, .. }) => match m {
                Some(m) if m.s == S::PendingNew => {
                    prop_assert!(
                        matches!(e, Event::Response { response, .. } if response == response_type),
                        "{:?} -> {:?}",
                        a,
                        e
                    );
                    let accepted = response_type == ResponseType::Accept;
                    self.set(id, if accepted { S::Working } else { S::Rejected });
                    if !accepted {
                        self.end(id);
                    }
                }
                _ => prop_assert!(matches!(e, Event::UnmatchedResponse { .. }), "{:?} -> {:?}", a, e),
            },
            Answer::Fill { last_qty, last_px, .. } => {
                // Never beyond the live version's quantity: during a pending replace, the old.
                let Some(mut m) = m.filter(|m| m.s.trades() && m.cum + last_qty <= m.qty) else {
                    self.seen.overfill |= m.is_some_and(|m| m.s.trades());
                    return unexpected(AnswerKind::Fill, last_qty);
                };
                self.seen.fill_while_replacing |= m.s == S::PendingReplace;
                m.cum += last_qty;
                m.notional += i128::from(last_qty) * nanos(last_px);
                let done = m.cum == m.qty;
                prop_assert!(
                    matches!(e, Event::Fill { last_qty: q, cum_qty, complete, .. }
                        if q == last_qty && cum_qty == m.cum && complete == done),
                    "{:?} with {:?} -> {:?}",
                    a,
                    m,
                    e
                );
                if done {
                    (m.s, m.replacement) = (S::Filled, None);
                    self.end(id);
                } else if m.s == S::Working {
                    m.s = S::PartlyFilled;
                }
                self.orders.insert(id, m);
            }
            Answer::Cancelled { .. } => {
                let Some(m) = m else { return unexpected(AnswerKind::Cancelled, 0) };
                let ours = m.s == S::PendingCancel;
                prop_assert!(
                    matches!(e, Event::VenueCancelled { solicited, .. } if solicited == ours),
                    "{:?} with {:?} -> {:?}",
                    a,
                    m,
                    e
                );
                self.seen.cancelled |= ours;
                self.set(id, S::Cancelled);
                self.end(id);
            }
            Answer::Replaced { .. } => {
                let Some(mut m) = m.filter(|m| m.s == S::PendingReplace) else {
                    return unexpected(AnswerKind::Replaced, 0);
                };
                self.seen.replaced_after_fills |= m.cum > 0;
                let (px, qty) = m.replacement.take().unwrap_or((m.px, m.qty));
                (m.px, m.qty) = (px, qty);
                prop_assert!(
                    matches!(e, Event::Replaced { order, .. } if order.qty == qty && order.price == px),
                    "{:?} with {:?} -> {:?}",
                    a,
                    m,
                    e
                );
                m.s = if m.cum >= qty { S::Filled } else { m.resting() };
                if m.s == S::Filled {
                    self.end(id);
                }
                self.orders.insert(id, m);
            }
            Answer::CancelRejected { .. } => {
                let Some(mut m) = m.filter(|m| matches!(m.s, S::PendingCancel | S::PendingReplace)) else {
                    return unexpected(AnswerKind::CancelRejected, 0);
                };
                let request = if m.s == S::PendingCancel { RequestType::Cancel } else { RequestType::Modify };
                prop_assert!(
                    matches!(e, Event::CancelRejected { request: q, .. } if q == request),
                    "{:?} with {:?} -> {:?}",
                    a,
                    m,
                    e
                );
                self.seen.refused = true;
                (m.s, m.replacement) = (m.resting(), None);
                self.orders.insert(id, m);
            }
            Answer::Expired { .. } => {
                let Some(m) = m else { return unexpected(AnswerKind::Expired, 0) };
                prop_assert!(matches!(e, Event::Expired { .. }), "{:?} with {:?} -> {:?}", a, m, e);
                self.set(id, S::Expired);
                self.end(id);
            }
        }
        Ok(())
    }

    fn set(&mut self, id: u64, s: S) {
        if let Some(m) = self.orders.get_mut(&id) {
            m.s = s;
            if s.is_final() {
                m.replacement = None;
            }
        }
    }
}

/// The order an op picks with `k` (0..64): mostly the `k`-th (modulo) of those in a state
/// `fits` (the exchange answers what it was asked, the desk acts on its working orders), none
/// if none fits; with `k` from 48 on, any id up to the next one (ended, queued, unknown).
fn pick(model: &Model, k: usize, next_id: u64, fits: fn(S) -> bool) -> Option<u64> {
    if k >= 48 {
        return Some(1 + k as u64 % next_id);
    }
    let mut ids: Vec<u64> = model.orders.iter().filter(|(_, m)| fits(m.s)).map(|(id, _)| *id).collect();
    ids.sort_unstable();
    (!ids.is_empty()).then(|| ids[k % ids.len()])
}

/// The engine's view of every order the model has at the exchange is the model's.
fn compare(rig: &Rig, model: &Model) -> Result<(), TestCaseError> {
    for (id, m) in &model.orders {
        let life = rig.engine.open_order(*id);
        if m.s.is_final() {
            prop_assert!(life.is_none(), "order {} ended ({:?}) but the engine has it: {:?}", id, m.s, life);
            continue;
        }
        let Some(life) = life else {
            return Err(TestCaseError::fail(format!("order {id} is {m:?} but not open in the engine")));
        };
        prop_assert!(m.cum <= m.qty, "order {} overfilled in the model: {:?}", id, m);
        prop_assert_eq!(
            (life.state(), life.qty(), life.cum_qty(), life.price().to_bits()),
            (m.s.state(), m.qty, m.cum, m.px.to_bits()),
            "order {}: engine {:?}, model {:?}",
            id,
            life,
            m
        );
        let avg = (m.cum > 0).then(|| (m.notional / i128::from(m.cum)) as f64 / 1e9);
        prop_assert_eq!(life.avg_price(), avg, "order {} average price", id);
    }
    Ok(())
}

/// Feeds the records not yet seen to the model and the auditor.
fn feed(
    events: &[EventRecord],
    seen: &mut usize,
    model: &mut Model,
    auditor: &mut Auditor,
) -> Result<(), TestCaseError> {
    for r in &events[*seen..] {
        model.record(r)?;
        auditor.push(r);
    }
    *seen = events.len();
    prop_assert!(auditor.is_clean(), "{}", auditor.report());
    Ok(())
}

/// One case: `rate`/s, `burst`, a window of `window_ms` from 10:00:00, cancels at its end or
/// not, the ops.
fn run(
    rate: u32,
    burst: u32,
    window_ms: u64,
    cancel_on_logout: bool,
    ops: &[Op],
) -> Result<Seen, TestCaseError> {
    let end = format!("10:00:{:02}.{:03}", window_ms / 1000, window_ms % 1000);
    let mut cfg = config("10:00:00", &end, rate, Some(burst));
    cfg.session.cancel_on_logout = cancel_on_logout;
    cfg.session.logout_grace_ms = 300;
    let (window, throttle) = cfg.rules().expect("valid rules");
    let mut auditor = Auditor::new(&window, &throttle, AuditOptions::LIVE);
    let mut rig = Rig::new(&cfg, "2026-11-23T10:00:00Z", 1);
    let (mut model, mut seen) = (Model::default(), 0);
    let mut next_id = 1u64;
    for op in ops {
        let answer = match *op {
            Op::New { qty } => {
                rig.submit(0, OrderRequest::new(next_id, 7, Side::Buy, 10.0, qty), RequestType::New);
                next_id += 1;
                None
            }
            Op::Modify { k, qty, up } => {
                if let Some(id) = pick(&model, k, next_id, S::rests) {
                    let px = if up { 10.5 } else { 9.5 };
                    rig.submit(0, OrderRequest::new(id, 7, Side::Buy, px, qty), RequestType::Modify);
                }
                None
            }
            Op::Cancel { k } => {
                if let Some(id) = pick(&model, k, next_id, S::rests) {
                    rig.submit(0, OrderRequest::new(id, 7, Side::Buy, 10.0, 1), RequestType::Cancel);
                }
                None
            }
            Op::Accept { k } | Op::Reject { k } => {
                let response_type =
                    if matches!(op, Op::Accept { .. }) { ResponseType::Accept } else { ResponseType::Reject };
                pick(&model, k, next_id, |s| s == S::PendingNew)
                    .map(|order_id| Answer::Response(OrderResponse { order_id, response_type }))
            }
            Op::Fill { k, qty, up } => {
                let last_px = if up { 10.25 } else { 9.75 };
                pick(&model, k, next_id, S::trades).map(|order_id| Answer::Fill {
                    order_id,
                    last_qty: qty,
                    last_px,
                })
            }
            Op::RaceFill { k, qty } => pick(&model, k, next_id, S::is_pending).map(|order_id| Answer::Fill {
                order_id,
                last_qty: qty,
                last_px: 10.0,
            }),
            Op::CancelAck { k } => pick(&model, k, next_id, |s| s == S::PendingCancel)
                .map(|order_id| Answer::Cancelled { order_id }),
            Op::ReplaceAck { k } => pick(&model, k, next_id, |s| s == S::PendingReplace)
                .map(|order_id| Answer::Replaced { order_id }),
            Op::CancelReject { k } => pick(&model, k, next_id, S::is_pending)
                .map(|order_id| Answer::CancelRejected { order_id, code: 0 }),
            Op::Expire { k } => {
                pick(&model, k, next_id, S::trades).map(|order_id| Answer::Expired { order_id })
            }
            Op::Step { ms } => {
                rig.advance(ms * MS);
                None
            }
        };
        if let Some(a) = answer {
            model.answers.push(a);
            rig.answer(a);
        }
        feed(rig.events(), &mut seen, &mut model, &mut auditor)?;
        prop_assert!(model.answers.is_empty(), "answers not recorded: {:?}", model.answers);
        compare(&rig, &model)?;
    }
    let report = rig.engine.shutdown();
    let events = report.sink.events();
    feed(events, &mut seen, &mut model, &mut auditor)?;
    for (id, m) in &model.orders {
        prop_assert!(m.s.is_final(), "order {} is {:?} after shutdown", id, m);
    }
    for id in 1..next_id {
        prop_assert_eq!(model.finals.get(&id).copied(), Some(1), "final records of order {}", id);
    }
    let report = auditor.finish();
    prop_assert!(report.is_clean(), "{}", report);
    prop_assert_eq!(report.rule(Rule::Fates).checked, next_id - 1, "every New submitted is in the journal");
    Ok(model.seen)
}

#[test]
fn random_lives_match_the_model_and_keep_every_rule() {
    let mut runner = TestRunner::new(RunnerConfig {
        cases: 128,
        source_file: Some(file!()),
        failure_persistence: Some(Box::new(FileFailurePersistence::WithSource("proptest-regressions"))),
        ..RunnerConfig::default()
    });
    // Windows of 1 to 3 s; runs of 20 to 100 ops, one in ten a step (~0.25 s on average).
    let strategy = (
        prop_oneof![1 => 1u32..4, 3 => 5u32..50],
        1u32..8,
        1_000u64..3_000,
        prop_oneof![3 => Just(true), 1 => Just(false)],
        proptest::collection::vec(op(), 20..100),
    );
    let seen = std::cell::RefCell::new(Vec::new());
    let result = runner.run(&strategy, |(rate, burst, window_ms, cancel_on_logout, ops)| {
        seen.borrow_mut().push(run(rate, burst, window_ms, cancel_on_logout, &ops)?);
        Ok(())
    });
    if let Err(e) = result {
        panic!("{e}");
    }
    let seen = seen.into_inner();
    let share = |f: fn(&Seen) -> bool| seen.iter().filter(|s| f(s)).count();
    let shares = [
        ("a fill while a replace is pending", share(|s| s.fill_while_replacing)),
        ("an overfill refused", share(|s| s.overfill)),
        ("a replace carried out after fills", share(|s| s.replaced_after_fills)),
        ("our cancel carried out", share(|s| s.cancelled)),
        ("a cancel or replace refused", share(|s| s.refused)),
        ("working orders cancelled at the window's end", share(|s| s.closing)),
        ("orders unanswered", share(|s| s.unanswered)),
    ];
    eprintln!("{} cases: {shares:?}", seen.len());
    // Measured over ten runs of 128 cases: the rarest, the working orders cancelled at the
    // window's end, in 13% to 21% of the cases (a fill while a replace is pending: 30% to 42%). The bound leaves room for the seed, not for a
    // generator that stops reaching a path.
    for (what, n) in shares {
        assert!(n * 20 >= seen.len(), "only {n} of {} cases went through {what}", seen.len());
    }
}
