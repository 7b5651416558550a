//! Property test of the pre-trade risk limits: random flows of New orders on two symbols, the
//! exchange's first answers, fills (which move positions, the day's notional and the reference
//! price), cancels, and Modify of working orders (a replace books the larger of its two versions
//! until the exchange carries it out), through a real engine on a manual clock with every limit set tight
//! enough to bite. A model written here from the stated rules (not the engine's books) decides
//! each New before the engine sees it:
//!
//! - an order the engine sends, the model takes (never an order out that the model refuses);
//! - an order the engine refuses for a limit, the model refuses for that limit (never a refusal
//!   the model allows, nor for another limit);
//! - the same for each Modify: a replace goes out exactly when the model takes it.
//!
//! Prices are quarters and quantities whole, so every notional is exact and the model's sums
//! equal the engine's. The journal is audited with the limits at the end.

mod common;

use std::collections::HashMap;

use common::*;
use oms::audit::{AuditOptions, Auditor, Rule};
use oms::config::RiskConfig;
use oms::{Answer, OrderRequest, RejectReason as R, RequestType, ResponseType, Side};
use proptest::prelude::*;

#[derive(Clone, Debug)]
enum Op {
    New { symbol: i32, sell: bool, quarters: u32, qty: u64 },
    Accept { k: usize },
    Reject { k: usize },
    Fill { k: usize, qty: u64, quarters: u32 },
    Cancel { k: usize },
    Modify { k: usize, more: u64, quarters: u32 },
    Replaced { k: usize },
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        4 => (1..=2i32, any::<bool>(), 36..=44u32, 1..=60u64)
            .prop_map(|(symbol, sell, quarters, qty)| Op::New { symbol, sell, quarters, qty }),
        2 => any::<usize>().prop_map(|k| Op::Accept { k }),
        1 => any::<usize>().prop_map(|k| Op::Reject { k }),
        3 => (any::<usize>(), 1..=40u64, 36..=44u32).prop_map(|(k, qty, quarters)| Op::Fill { k, qty, quarters }),
        1 => any::<usize>().prop_map(|k| Op::Cancel { k }),
        3 => (any::<usize>(), 1..=40u64, 36..=44u32).prop_map(|(k, more, quarters)| Op::Modify { k, more, quarters }),
        1 => any::<usize>().prop_map(|k| Op::Replaced { k }),
    ]
}

/// An open order as the model holds it.
#[derive(Clone, Copy, Debug)]
struct Open {
    symbol: i32,
    sell: bool,
    price: f64,
    qty: u64,
    cum: u64,
    working: bool,
    cancelling: bool,
    /// A replace at the exchange: its price and quantity.
    replacing: Option<(f64, u64)>,
    /// While a replace is taken: the larger of the two versions' leaves and notional.
    over: Option<(u64, f64)>,
}

impl Open {
    /// What it books: the larger version while a replace is taken, else its leaves at its price.
    fn held(&self) -> (u64, f64) {
        self.over.unwrap_or(((self.qty - self.cum), self.price * (self.qty - self.cum) as f64))
    }
}

/// One symbol as the model holds it.
#[derive(Clone, Copy, Debug, Default)]
struct Sym {
    position: i64,
    day: f64,
    reference: f64,
}

const MAX_QTY: u64 = 50;
const MAX_NOTIONAL: f64 = 450.0;
const BAND_BPS: f64 = 500.0;
const MAX_OPEN: usize = 4;
const MAX_POSITION: i64 = 120;
const MAX_DAILY: f64 = 1200.0;

#[derive(Default)]
struct Model {
    open: HashMap<u64, Open>,
    syms: HashMap<i32, Sym>,
}

impl Model {
    /// The first limit a New `o` breaks, in the stated order.
    fn judge(&self, o: &OrderRequest) -> Option<R> {
        self.judge_as(o, o.qty, (0, 0.0), 1)
    }

    /// The first limit `o` (leaving `leaves`) breaks, the order booking `held` already and
    /// opening `more` orders (a New 1, a Modify 0).
    fn judge_as(&self, o: &OrderRequest, leaves: u64, held: (u64, f64), more: usize) -> Option<R> {
        if o.qty > MAX_QTY {
            return Some(R::MaxOrderQty);
        }
        if o.price * o.qty as f64 > MAX_NOTIONAL {
            return Some(R::MaxOrderNotional);
        }
        let s = self.syms.get(&o.symbol_id).copied().unwrap_or_default();
        if s.reference > 0.0 && (o.price - s.reference).abs() > BAND_BPS / 10_000.0 * s.reference {
            return Some(R::PriceBand);
        }
        let mine: Vec<&Open> = self.open.values().filter(|x| x.symbol == o.symbol_id).collect();
        if mine.len() + more > MAX_OPEN {
            return Some(R::MaxOpenOrders);
        }
        let sell = o.side == 'S';
        let side_open: u64 = mine.iter().filter(|x| x.sell == sell).map(|x| x.held().0).sum();
        let signed = if sell { -s.position } else { s.position };
        if signed + (side_open - held.0) as i64 + leaves as i64 > MAX_POSITION {
            return Some(R::MaxPosition);
        }
        let open_notional: f64 = mine.iter().map(|x| x.held().1).sum();
        if s.day + (open_notional - held.1).max(0.0) + o.price * leaves as f64 > MAX_DAILY {
            return Some(R::MaxDailyNotional);
        }
        None
    }
}

fn cfg() -> oms::Config {
    let mut c = config("10:00:00", "13:00:00", 1000, Some(1000));
    c.engine.max_working_orders = 1024;
    c.risk = Some(RiskConfig {
        max_order_qty: Some(MAX_QTY),
        max_order_notional: Some(MAX_NOTIONAL),
        price_band_bps: Some(BAND_BPS as u32),
        max_open_orders: Some(MAX_OPEN as u32),
        max_position: Some(MAX_POSITION as u64),
        max_daily_notional: Some(MAX_DAILY),
        ..RiskConfig::default()
    });
    c
}

fn run(ops: &[Op]) -> Result<(), TestCaseError> {
    let c = cfg();
    let mut rig = Rig::new(&c, "2026-11-23T09:59:59Z", 1);
    rig.advance(SEC);
    prop_assert!(rig.engine.logged_on());
    let mut model = Model::default();
    let mut next_id = 1u64;
    for op in ops {
        rig.advance(MS);
        let ids: Vec<u64> = {
            let mut v: Vec<u64> = model.open.keys().copied().collect();
            v.sort_unstable();
            v
        };
        let pick = |k: usize| (!ids.is_empty()).then(|| ids[k % ids.len()]);
        match *op {
            Op::New { symbol, sell, quarters, qty } => {
                let id = next_id;
                next_id += 1;
                let side = if sell { Side::Sell } else { Side::Buy };
                let o = OrderRequest::new(id, symbol, side, f64::from(quarters) / 4.0, qty);
                let verdict = model.judge(&o);
                rig.submit(0, o, RequestType::New);
                let sent = rig.sent_ids().contains(&id);
                let refused = rig.rejects(id);
                match verdict {
                    None => prop_assert!(sent, "the model takes order {id} ({o:?}); the engine: {refused:?}"),
                    Some(r) => {
                        prop_assert!(!sent, "order {id} sent, but the model refuses it {r:?}");
                        prop_assert_eq!(refused, vec![r], "order {} ({:?})", id, o);
                    }
                }
                if verdict.is_none() {
                    let x = Open {
                        symbol,
                        sell,
                        price: o.price,
                        qty,
                        cum: 0,
                        working: false,
                        cancelling: false,
                        replacing: None,
                        over: None,
                    };
                    model.open.insert(id, x);
                }
            }
            Op::Accept { k } => {
                if let Some(id) = pick(k).filter(|id| !model.open[id].working) {
                    rig.respond(id, ResponseType::Accept);
                    model.open.get_mut(&id).expect("open").working = true;
                }
            }
            Op::Reject { k } => {
                if let Some(id) = pick(k).filter(|id| !model.open[id].working) {
                    rig.respond(id, ResponseType::Reject);
                    model.open.remove(&id);
                }
            }
            Op::Fill { k, qty, quarters } => {
                if let Some(id) = pick(k).filter(|id| model.open[id].working) {
                    let x = model.open[&id];
                    let qty = qty.min(x.qty - x.cum);
                    let px = f64::from(quarters) / 4.0;
                    rig.answer(Answer::Fill { order_id: id, last_qty: qty, last_px: px });
                    let s = model.syms.entry(x.symbol).or_default();
                    s.position += if x.sell { -(qty as i64) } else { qty as i64 };
                    s.day += px * qty as f64;
                    s.reference = px;
                    if x.cum + qty == x.qty {
                        model.open.remove(&id);
                    } else {
                        let x = model.open.get_mut(&id).expect("open");
                        x.cum += qty;
                        x.over = x
                            .over
                            .map(|(q, n)| (q.saturating_sub(qty), (n - x.price * qty as f64).max(0.0)))
                            .filter(|o| *o != (0, 0.0));
                    }
                }
            }
            Op::Cancel { k } => {
                let idle = |x: &Open| x.working && !x.cancelling && x.replacing.is_none();
                if let Some(id) = pick(k).filter(|id| idle(&model.open[id])) {
                    let x = model.open[&id];
                    let side = if x.sell { Side::Sell } else { Side::Buy };
                    rig.submit(0, OrderRequest::new(id, x.symbol, side, x.price, x.qty), RequestType::Cancel);
                    model.open.get_mut(&id).expect("open").cancelling = true;
                    rig.answer(Answer::Cancelled { order_id: id });
                    model.open.remove(&id);
                }
            }
            Op::Modify { k, more, quarters } => {
                let idle = |x: &Open| x.working && !x.cancelling && x.replacing.is_none();
                if let Some(id) = pick(k).filter(|id| idle(&model.open[id])) {
                    let x = model.open[&id];
                    let side = if x.sell { Side::Sell } else { Side::Buy };
                    let new = OrderRequest::new(id, x.symbol, side, f64::from(quarters) / 4.0, x.cum + more);
                    let leaves = new.qty - x.cum;
                    let verdict = model.judge_as(&new, leaves, x.held(), 0);
                    let before = rig.of(oms::EventKind::ReplaceSent).len();
                    rig.submit(0, new, RequestType::Modify);
                    let sent = rig.of(oms::EventKind::ReplaceSent).len() > before;
                    let refused = rig.rejects(id).last().copied();
                    match verdict {
                        None => {
                            prop_assert!(sent, "the model takes the Modify {new:?}; the engine: {refused:?}")
                        }
                        Some(r) => {
                            prop_assert!(!sent, "Modify {new:?} sent, but the model refuses it {r:?}");
                            prop_assert_eq!(refused, Some(r), "Modify {:?}", new);
                        }
                    }
                    if sent {
                        let x = model.open.get_mut(&id).expect("open");
                        let (q, n) = x.held();
                        x.over = Some((q.max(leaves), n.max(new.price * leaves as f64)));
                        x.replacing = Some((new.price, new.qty));
                    }
                }
            }
            Op::Replaced { k } => {
                if let Some(id) = pick(k).filter(|id| model.open[id].replacing.is_some()) {
                    rig.answer(Answer::Replaced { order_id: id });
                    let x = model.open.get_mut(&id).expect("open");
                    let (price, qty) = x.replacing.take().expect("a replace");
                    (x.price, x.qty, x.over) = (price, qty, None);
                    if x.cum >= x.qty {
                        model.open.remove(&id);
                    }
                }
            }
        }
    }
    let (window, throttle) = c.rules().expect("rules");
    let risk = c.risk_rules().expect("risk rules");
    let mut audit = Auditor::new(&window, &throttle, AuditOptions::LIVE).with_risk(risk.as_ref());
    for r in rig.events() {
        audit.push(r);
    }
    let report = audit.report();
    prop_assert!(report.is_clean(), "{}", report);
    let news = ops.iter().filter(|o| matches!(o, Op::New { .. })).count();
    prop_assert!(report.rule(Rule::Risk).checked > 0 || news == 0, "the risk rule checked nothing");
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn the_engine_refuses_exactly_what_the_limits_refuse(ops in prop::collection::vec(op(), 1..80)) {
        run(&ops)?;
    }
}
