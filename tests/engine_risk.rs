//! Pre-trade risk limits in the engine, on a manual clock: each limit refuses with its own
//! reason, a Modify is checked as the order it would become and a refused one leaves the order
//! as it was, open orders and fills move the books, and without `[risk]` nothing changes.
//! Every journal here is audited.

mod common;

use common::*;
use oms::EventKind as K;
use oms::config::{LimitsConfig, RiskConfig};
use oms::{Answer, Config, OrderRequest, RejectReason as R, RequestType, ResponseType, Side};

const MON_0959_59: &str = "2026-11-23T09:59:59Z";

/// The window 10:00-13:00 UTC, 100/s with a burst of 100, and `risk`.
fn cfg(risk: Option<RiskConfig>) -> Config {
    let mut c = config("10:00:00", "13:00:00", 100, Some(100));
    c.risk = risk;
    c
}

fn logged_on(c: &Config) -> Rig {
    let mut rig = Rig::new(c, MON_0959_59, 1);
    rig.advance(SEC);
    assert!(rig.engine.logged_on());
    rig
}

fn buy(id: u64, px: f64, qty: u64) -> OrderRequest {
    OrderRequest::new(id, 7, Side::Buy, px, qty)
}

fn sell(id: u64, px: f64, qty: u64) -> OrderRequest {
    OrderRequest::new(id, 7, Side::Sell, px, qty)
}

/// Every rule holds so far (the session is still on).
fn audit_all(c: &Config, rig: &Rig) {
    let (window, throttle) = c.rules().expect("rules");
    let risk = c.risk_rules().expect("risk rules");
    let mut a =
        oms::audit::Auditor::new(&window, &throttle, oms::audit::AuditOptions::LIVE).with_risk(risk.as_ref());
    for r in rig.events() {
        a.push(r);
    }
    let report = a.report();
    assert!(report.is_clean(), "{report}");
    let checked = report.rule(oms::audit::Rule::Risk).checked;
    assert!(c.risk.is_none() || checked > 0, "the risk rule checked the orders: {report}");
}

fn limits() -> RiskConfig {
    RiskConfig {
        max_order_qty: Some(1000),
        max_order_notional: Some(50_000.0),
        max_open_orders: Some(3),
        max_position: Some(1500),
        max_daily_notional: Some(200_000.0),
        ..RiskConfig::default()
    }
}

#[test]
fn a_fat_finger_order_is_refused_and_the_next_one_goes_out() {
    let c = cfg(Some(limits()));
    let mut rig = logged_on(&c);
    rig.submit(0, buy(1, 100.0, 1_000_000), RequestType::New);
    rig.submit(0, buy(2, 100.0, 600), RequestType::New);
    rig.submit(0, buy(3, 100.0, 400), RequestType::New);
    assert_eq!(rig.rejects(1), [R::MaxOrderQty]);
    assert_eq!(rig.rejects(2), [R::MaxOrderNotional], "600 × 100 is over 50,000");
    assert_eq!(rig.sent_ids(), [3]);
    assert_eq!(rig.of(K::Rejected)[0].reason.map(|r| r.name()), Some("max_order_qty"));
    audit_all(&c, &rig);
}

#[test]
fn open_orders_count_against_the_position_and_their_number() {
    let c = cfg(Some(limits()));
    let mut rig = logged_on(&c);
    for id in 1..=3 {
        rig.submit(0, buy(id, 10.0, 400), RequestType::New);
    }
    // Three open: a fourth is one too many, whatever its size.
    rig.submit(0, sell(4, 10.0, 1), RequestType::New);
    assert_eq!(rig.rejects(4), [R::MaxOpenOrders]);
    let book = *rig.engine.risk_book(7).expect("a book");
    assert_eq!((book.open_orders(), book.open_qty, book.position), (3, [1200, 0], 0));
    // Order 1 fills: the position is 400, the open buys 800; a cancel frees a place.
    rig.respond(1, ResponseType::Accept);
    rig.answer(Answer::Fill { order_id: 1, last_qty: 400, last_px: 10.0 });
    let book = *rig.engine.risk_book(7).expect("a book");
    assert_eq!((book.open_orders(), book.open_qty, book.position), (2, [800, 0], 400));
    assert_eq!(book.reference, 10.0);
    // 400 filled + 800 open + 301 = 1501: over 1500; 300 is not.
    rig.submit(0, buy(5, 10.0, 301), RequestType::New);
    assert_eq!(rig.rejects(5), [R::MaxPosition]);
    rig.submit(0, buy(6, 10.0, 300), RequestType::New);
    assert_eq!(rig.sent_ids(), [1, 2, 3, 6]);
    // A sell is the other side: the worst case short is -400 + 1000 = 600.
    rig.submit(0, sell(7, 10.0, 1), RequestType::New);
    assert_eq!(rig.rejects(7), [R::MaxOpenOrders]);
    rig.respond(2, ResponseType::Reject);
    rig.submit(0, sell(7, 10.0, 1000), RequestType::New);
    assert_eq!(rig.rejects(7), [R::MaxOpenOrders], "only its first refusal");
    assert_eq!(rig.sent_ids(), [1, 2, 3, 6, 7]);
    audit_all(&c, &rig);
}

#[test]
fn a_modify_is_checked_as_the_order_it_would_become_and_a_refused_one_changes_nothing() {
    let c =
        cfg(Some(RiskConfig { max_position: Some(1000), max_order_qty: Some(800), ..RiskConfig::default() }));
    let mut rig = logged_on(&c);
    rig.submit(0, buy(1, 10.0, 500), RequestType::New);
    rig.respond(1, ResponseType::Accept);
    rig.submit(0, buy(2, 10.0, 400), RequestType::New);
    // Order 1 to 601: 601 + 400 = 1001 > 1000.
    rig.submit(0, buy(1, 10.0, 601), RequestType::Modify);
    assert_eq!(rig.rejects(1), [R::MaxPosition]);
    assert_eq!(rig.engine.open_order(1).map(|l| l.qty()), Some(500), "as it was");
    rig.submit(0, buy(1, 10.0, 801), RequestType::Modify);
    assert_eq!(rig.rejects(1), [R::MaxPosition, R::MaxOrderQty]);
    // To 600 it fits; while the replace is at the exchange both versions count: the larger.
    rig.submit(0, buy(1, 10.0, 600), RequestType::Modify);
    assert_eq!(rig.of(K::ReplaceSent).len(), 1);
    assert_eq!(rig.engine.risk_book(7).map(|b| b.open_qty[0]), Some(1000));
    rig.answer(Answer::Replaced { order_id: 1 });
    assert_eq!(rig.engine.risk_book(7).map(|b| b.open_qty[0]), Some(1000));
    audit_all(&c, &rig);
}

#[test]
fn a_queued_modify_rebooks_the_order_exactly() {
    let mut c = cfg(Some(RiskConfig { max_position: Some(100), ..RiskConfig::default() }));
    c.throttle.max_orders_per_sec = 1;
    c.throttle.burst = Some(1);
    let mut rig = logged_on(&c);
    rig.submit(0, buy(1, 10.0, 10), RequestType::New);
    rig.submit(0, buy(2, 10.0, 50), RequestType::New);
    assert_eq!(rig.ids(K::Queued), [2]);
    rig.submit(0, buy(2, 10.0, 91), RequestType::Modify);
    assert_eq!(rig.rejects(2), [R::MaxPosition]);
    rig.submit(0, buy(2, 10.0, 20), RequestType::Modify);
    assert_eq!(rig.engine.risk_book(7).map(|b| b.open_qty[0]), Some(30));
    rig.submit(0, buy(3, 10.0, 70), RequestType::New);
    rig.submit(0, buy(2, 10.0, 10), RequestType::Cancel);
    assert_eq!(rig.engine.risk_book(7).map(|b| (b.open_orders(), b.open_qty[0])), Some((2, 80)));
    audit_all(&c, &rig);
}

#[test]
fn the_price_band_follows_the_last_fill_and_its_policy_without_one() {
    let risk =
        RiskConfig { price_band_bps: Some(100), no_reference: "refuse".into(), ..RiskConfig::default() };
    let mut c = cfg(Some(risk));
    // Symbol 8 sets a quantity limit of its own and inherits the band.
    c.risk.as_mut().unwrap().symbols = Some(
        [(
            "8".to_string(),
            LimitsConfig { price_band_bps: None, max_order_qty: Some(5), ..Default::default() },
        )]
        .into(),
    );
    let mut rig = logged_on(&c);
    rig.submit(0, buy(1, 10.0, 5), RequestType::New);
    assert_eq!(rig.rejects(1), [R::NoReferencePrice]);
    rig.submit(0, OrderRequest::new(2, 8, Side::Buy, 10.0, 6), RequestType::New);
    assert_eq!(rig.rejects(2), [R::MaxOrderQty], "symbol 8's own limit, the band the default's");
    c.risk.as_mut().unwrap().no_reference = "allow".into();
    let mut rig = logged_on(&c);
    rig.submit(0, buy(1, 10.0, 5), RequestType::New);
    rig.respond(1, ResponseType::Accept);
    rig.answer(Answer::Fill { order_id: 1, last_qty: 5, last_px: 10.0 });
    rig.submit(0, buy(2, 10.11, 5), RequestType::New);
    rig.submit(0, sell(3, 9.89, 5), RequestType::New);
    rig.submit(0, buy(4, 10.1, 5), RequestType::New);
    assert_eq!(rig.rejects(2), [R::PriceBand]);
    assert_eq!(rig.rejects(3), [R::PriceBand]);
    assert_eq!(rig.sent_ids(), [1, 4]);
    audit_all(&c, &rig);
}

#[test]
fn the_days_notional_counts_fills_and_open_orders_and_starts_again_at_each_logon() {
    let c = cfg(Some(RiskConfig { max_daily_notional: Some(1000.0), ..RiskConfig::default() }));
    let mut rig = logged_on(&c);
    rig.submit(0, buy(1, 10.0, 60), RequestType::New);
    rig.respond(1, ResponseType::Accept);
    rig.answer(Answer::Fill { order_id: 1, last_qty: 60, last_px: 10.0 });
    rig.submit(0, sell(2, 10.0, 30), RequestType::New);
    // 600 filled + 300 open + 101 > 1000.
    rig.submit(0, sell(3, 10.0, 11), RequestType::New);
    assert_eq!(rig.rejects(3), [R::MaxDailyNotional]);
    rig.submit(0, sell(4, 10.0, 10), RequestType::New);
    assert_eq!(rig.sent_ids(), [1, 2, 4]);
    // The next day's session starts from nothing filled (the open orders stay).
    rig.advance_to_wall("2026-11-24T10:00:01Z");
    assert!(rig.engine.logged_on());
    assert_eq!(rig.engine.risk_book(7).map(|b| b.day_notional), Some(0.0));
    audit_all(&c, &rig);
}

#[test]
fn a_symbol_beyond_the_table_is_refused_with_its_reason() {
    let c = cfg(Some(RiskConfig { max_symbols: 2, ..RiskConfig::default() }));
    let mut rig = logged_on(&c);
    for (id, symbol) in [(1, 1), (2, 2), (3, 3), (4, 1)] {
        rig.submit(0, OrderRequest::new(id, symbol, Side::Buy, 1.0, 1), RequestType::New);
    }
    assert_eq!(rig.rejects(3), [R::TooManySymbols]);
    assert_eq!(rig.sent_ids(), [1, 2, 4]);
    audit_all(&c, &rig);
}

#[test]
fn without_risk_limits_the_records_are_the_same_as_with_none_set() {
    let run = |risk: Option<RiskConfig>| {
        let c = cfg(risk);
        let mut rig = logged_on(&c);
        rig.submit(0, buy(1, 100.0, 1_000_000), RequestType::New);
        rig.respond(1, ResponseType::Accept);
        rig.answer(Answer::Fill { order_id: 1, last_qty: 10, last_px: 100.0 });
        rig.submit(0, buy(1, 200.0, 2_000_000), RequestType::Modify);
        rig.submit(0, sell(2, 1.0, 5), RequestType::New);
        rig.events().to_vec()
    };
    let none = run(None);
    assert_eq!(none, run(Some(RiskConfig::default())), "a [risk] section without limits refuses nothing");
    assert!(none.iter().all(|r| r.reason.is_none()));
}

/// The state a crashed run's records leave, for an engine configured as `c`.
fn fold(c: &Config, records: &[oms::EventRecord]) -> oms::engine::RecoveredState {
    let valid = c.validate().expect("valid config");
    let mut b = oms::recovery::StateBuilder::new(&valid.engine.session.window, &valid.engine.throttle);
    for r in records {
        b.push(r);
    }
    b.finish()
}

#[test]
fn a_crash_and_a_restart_keep_the_position_the_open_orders_and_the_days_notional() {
    let c = cfg(Some(RiskConfig {
        max_position: Some(100),
        max_open_orders: Some(3),
        max_daily_notional: Some(2000.0),
        price_band_bps: Some(500),
        ..RiskConfig::default()
    }));
    let mut a = logged_on(&c);
    a.submit(0, buy(1, 10.0, 60), RequestType::New);
    a.respond(1, ResponseType::Accept);
    a.answer(Answer::Fill { order_id: 1, last_qty: 60, last_px: 10.0 });
    a.submit(0, buy(2, 10.0, 30), RequestType::New);
    a.respond(2, ResponseType::Accept);
    a.submit(0, sell(3, 10.0, 50), RequestType::New);
    let before_book = *a.engine.risk_book(7).expect("a book");
    // The process dies: its records are all that is left.
    let before = a.events().to_vec();
    let mut b = Rig::recovered(&c, "2026-11-23T10:00:05Z", 1, fold(&c, &before)).expect("restart");
    assert!(b.engine.logged_on(), "the interrupted session goes on");
    let book = *b.engine.risk_book(7).expect("a book");
    assert_eq!(
        (book.position, book.open_orders(), book.open_qty, book.day_notional, book.reference),
        (60, 2, [30, 50], 600.0, 10.0)
    );
    assert_eq!(book.open_notional, before_book.open_notional);
    // 60 filled + 30 open + 11 = 101.
    b.submit(0, buy(4, 10.0, 11), RequestType::New);
    // 5 % from the last fill's 10.
    b.submit(0, buy(5, 10.6, 1), RequestType::New);
    // 600 filled + 800 open + 610 = 2010.
    b.submit(0, sell(6, 10.0, 61), RequestType::New);
    b.submit(0, buy(7, 10.0, 10), RequestType::New);
    // Three open.
    b.submit(0, sell(8, 10.0, 1), RequestType::New);
    let refused: Vec<_> = (4..=8).map(|id| b.rejects(id)).collect();
    assert_eq!(
        refused,
        [vec![R::MaxPosition], vec![R::PriceBand], vec![R::MaxDailyNotional], vec![], vec![R::MaxOpenOrders]]
    );
    assert_eq!(b.sent_ids(), [7]);
    // The two runs as one journal, audited with the limits.
    let last = before.last().map_or(0, |r| r.seq);
    let after = b.events().iter().map(|r| oms::EventRecord { seq: r.seq + last, ..*r });
    let joined: Vec<_> = before.iter().copied().chain(after).collect();
    let (window, throttle) = c.rules().expect("rules");
    let risk = c.risk_rules().expect("risk rules");
    let mut audit =
        oms::audit::Auditor::new(&window, &throttle, oms::audit::AuditOptions::LIVE).with_risk(risk.as_ref());
    for r in &joined {
        audit.push(r);
    }
    let report = audit.report();
    assert!(report.is_clean(), "{report}");
    assert!(report.rule(oms::audit::Rule::Risk).checked >= 8, "{report}");
}

#[test]
fn a_reference_set_by_request_is_the_bands_centre_journaled_restored_and_audited() {
    let risk =
        RiskConfig { price_band_bps: Some(100), no_reference: "refuse".into(), ..RiskConfig::default() };
    let c = cfg(Some(risk));
    let mut a = logged_on(&c);
    a.submit(0, buy(1, 10.0, 5), RequestType::New);
    assert_eq!(a.rejects(1), [R::NoReferencePrice]);
    assert_eq!(a.engine.set_reference(7, f64::NAN), Err(R::InvalidPrice), "not a price: nothing journaled");
    a.engine.set_reference(7, 10.0).expect("a price");
    let reference: Vec<_> = a.events().iter().filter(|r| r.kind == K::Reference).collect();
    assert_eq!(reference.len(), 1);
    assert_eq!(reference[0].event(), oms::Event::Reference { symbol: 7, price: 10.0 });
    a.submit(0, buy(2, 10.11, 5), RequestType::New);
    a.submit(0, buy(3, 10.1, 5), RequestType::New);
    assert_eq!((a.rejects(2), a.sent_ids()), (vec![R::PriceBand], vec![3]));
    a.engine.set_reference(7, 20.0).expect("a price");
    a.submit(0, buy(4, 10.0, 5), RequestType::New);
    assert_eq!(a.rejects(4), [R::PriceBand], "the band is around 20 now");
    // A fill moves it again.
    a.respond(3, ResponseType::Accept);
    a.answer(Answer::Fill { order_id: 3, last_qty: 5, last_px: 10.05 });
    a.engine.set_reference(8, 50.0).expect("a price");
    // The process dies; the restart keeps both symbols' references.
    let before = a.events().to_vec();
    let b = Rig::recovered(&c, "2026-11-23T10:00:05Z", 1, fold(&c, &before)).expect("restart");
    assert_eq!(b.engine.risk_book(7).map(|b| b.reference), Some(10.05));
    assert_eq!(b.engine.risk_book(8).map(|b| b.reference), Some(50.0));
    audit_all(&c, &a);
    // The audit follows the reference: without its record, order 3 broke the band's policy.
    let tampered: Vec<oms::EventRecord> = before
        .iter()
        .filter(|r| r.kind != K::Reference)
        .enumerate()
        .map(|(i, r)| oms::EventRecord { seq: i as u64 + 1, ..*r })
        .collect();
    let (window, throttle) = c.rules().expect("rules");
    let risk = c.risk_rules().expect("risk rules");
    let mut audit =
        oms::audit::Auditor::new(&window, &throttle, oms::audit::AuditOptions::LIVE).with_risk(risk.as_ref());
    for r in &tampered {
        audit.push(r);
    }
    assert_eq!(audit.report().broken(), [oms::audit::Rule::Risk], "{}", audit.report());
}

#[test]
fn reference_lines_in_a_scenario() {
    let risk =
        RiskConfig { price_band_bps: Some(100), no_reference: "refuse".into(), ..RiskConfig::default() };
    let valid = cfg(Some(risk)).validate().expect("valid");
    let text = "@0 reference sym=7 px=10\n@1 new id=1 sym=7 side=B px=10.05 qty=5\n\
                @2 new id=2 sym=7 side=B px=10.5 qty=5\n@3 reference sym=7 px=10.5\n\
                @4 new id=3 sym=7 side=B px=10.5 qty=5\n";
    let scenario = oms::replay::parse_scenario(text).expect("parses");
    let bad = oms::replay::parse_scenario("@0 reference sym=7 px=-1\n").expect_err("not a price");
    assert!(bad.message.contains("reference: px=-1"), "{}", bad.message);
    let start = wall("2026-11-23T10:00:00Z");
    let report =
        oms::replay::replay(&valid, &scenario, start, None, oms::MemorySink::default()).expect("runs");
    let events = report.sink.events();
    let sent: Vec<u64> = events.iter().filter(|r| r.kind == K::Sent).map(|r| r.order_id).collect();
    assert_eq!(sent, [1, 3]);
    let refused: Vec<_> = events.iter().filter_map(|r| r.reason.map(|x| (r.order_id, x))).collect();
    assert_eq!(refused, [(2, R::PriceBand)]);
    assert_eq!(events.iter().filter(|r| r.kind == K::Reference).count(), 2);
}

#[test]
fn a_reference_from_another_thread_is_taken_at_the_next_turn() {
    let risk = RiskConfig { price_band_bps: Some(100), ..RiskConfig::default() };
    let valid = cfg(Some(risk)).validate().expect("valid");
    let (clock, _mock) = oms::EngineClock::manual(wall("2026-11-23T10:00:01Z"));
    let (mut b, _responder) = oms::EngineBuilder::new(&valid.engine, clock);
    let switch = b.halt_switch();
    let mut e = b.build(oms::exchange::RecordingExchange::default(), oms::MemorySink::default());
    e.poll();
    assert_eq!(switch.set_reference(7, 0.0), Err(R::InvalidPrice));
    let s = switch.clone();
    std::thread::spawn(move || {
        (0..300).map(|i| s.set_reference(7, 1.0 + f64::from(i)).is_ok()).filter(|ok| *ok).count()
    })
    .join()
    .map(|taken| assert_eq!(taken, 256, "the handle holds 256 until the engine's next turn"))
    .expect("thread");
    e.poll();
    let prices: Vec<f64> = e
        .sink()
        .events()
        .iter()
        .filter_map(|r| match r.event() {
            oms::Event::Reference { symbol: 7, price } => Some(price),
            _ => None,
        })
        .collect();
    assert_eq!(prices.len(), 256, "each one journaled, oldest first");
    assert_eq!((prices[0], prices[255]), (1.0, 256.0));
    assert_eq!(e.risk_book(7).map(|b| b.reference), Some(256.0));
    assert!(!e.is_halted(), "a reference is no halt");
}

#[test]
fn each_refusal_carries_the_value_its_limit_refused() {
    let risk = RiskConfig {
        max_order_qty: Some(1000),
        max_order_notional: Some(50_000.0),
        price_band_bps: Some(100),
        max_open_orders: Some(3),
        max_position: Some(1500),
        max_daily_notional: Some(18_050.0),
        ..RiskConfig::default()
    };
    let c = cfg(Some(risk));
    let mut rig = logged_on(&c);
    rig.submit(0, buy(1, 10.0, 1001), RequestType::New);
    rig.submit(0, buy(2, 60.0, 1000), RequestType::New);
    rig.submit(0, buy(3, 10.0, 800), RequestType::New);
    rig.respond(3, ResponseType::Accept);
    rig.answer(Answer::Fill { order_id: 3, last_qty: 100, last_px: 10.0 });
    rig.submit(0, buy(4, 10.2, 10), RequestType::New); // 200 bps off the last fill
    rig.submit(0, buy(5, 10.0, 800), RequestType::New); // 100 filled + 700 open + 800 = 1600
    rig.submit(0, sell(6, 10.0, 1000), RequestType::New);
    rig.submit(0, sell(7, 10.0, 10), RequestType::New); // 1000 filled + 17 000 open + 100
    rig.submit(0, buy(8, 10.0, 1), RequestType::New);
    rig.submit(0, buy(9, 10.0, 1), RequestType::New); // a fourth open order
    rig.submit(
        0,
        OrderRequest { order_id: 3, symbol_id: 0, side: '\0', price: 10.0, qty: 1500 },
        RequestType::Modify,
    );
    let refused: Vec<(u64, R, f64)> = rig
        .events()
        .iter()
        .filter_map(|r| match r.event() {
            oms::Event::Rejected { order, reason, value, .. } => Some((order.order_id, reason, value)),
            _ => None,
        })
        .collect();
    let bps = (10.2f64 - 10.0).abs() / 10.0 * 10_000.0;
    assert_eq!(
        refused,
        [
            (1, R::MaxOrderQty, 1001.0),
            (2, R::MaxOrderNotional, 60_000.0),
            (4, R::PriceBand, bps),
            (5, R::MaxPosition, 1600.0),
            (7, R::MaxDailyNotional, 18_100.0),
            (9, R::MaxOpenOrders, 4.0),
            (3, R::MaxOrderQty, 1500.0),
        ]
    );
    // The Modify's refusal names the order as it would become (its symbol and side).
    let modify = rig.events().iter().rev().find(|r| r.kind == K::Rejected).expect("the Modify's");
    assert_eq!((modify.symbol_id, modify.side, modify.qty), (7, 'B', 1500));
    audit_all(&c, &rig);
}

/// A New of a new symbol passes the limits (its symbol gets a book) and is then refused
/// `queue_full`: the book stays, and counts against `max_symbols`, in the engine, in the
/// audit's model and across a restart alike.
#[test]
fn a_symbol_whose_first_order_is_refused_queue_full_keeps_its_book_everywhere() {
    let mut c = config("10:00:00", "13:00:00", 1, Some(1));
    c.engine.max_queued_orders = 1;
    c.risk = Some(RiskConfig { max_symbols: 2, max_order_qty: Some(1000), ..RiskConfig::default() });
    let mut a = logged_on(&c);
    a.submit(0, buy(1, 10.0, 5), RequestType::New); // sent (the one permit)
    a.submit(0, buy(2, 10.0, 5), RequestType::New); // queued (the queue holds one)
    a.submit(0, OrderRequest::new(3, 8, Side::Buy, 10.0, 5), RequestType::New);
    assert_eq!(a.rejects(3), [R::QueueFull]);
    assert!(a.engine.risk_book(8).is_some(), "symbol 8 passed the limits: it has a book");
    a.submit(0, OrderRequest::new(4, 9, Side::Buy, 10.0, 5), RequestType::New);
    assert_eq!(a.rejects(4), [R::TooManySymbols], "symbols 7 and 8 fill the table");
    audit_all(&c, &a);
    let before = a.events().to_vec();
    let mut b = Rig::recovered(&c, "2026-11-23T10:00:05Z", 1, fold(&c, &before)).expect("restart");
    b.submit(0, OrderRequest::new(5, 9, Side::Buy, 10.0, 5), RequestType::New);
    assert_eq!(b.rejects(5), [R::TooManySymbols], "the restart keeps symbol 8's book");
}

/// A reference makes its symbol a book if the table has room, and is journaled but keeps none
/// if it is full: the audit's model and a restart agree.
#[test]
fn a_reference_makes_a_book_only_while_the_symbol_table_has_room_everywhere() {
    let c = cfg(Some(RiskConfig { max_symbols: 2, price_band_bps: Some(100), ..RiskConfig::default() }));
    let mut a = logged_on(&c);
    a.submit(0, buy(1, 10.0, 5), RequestType::New);
    a.engine.set_reference(8, 10.0).expect("a price");
    assert!(a.engine.risk_book(8).is_some(), "room for symbol 8");
    a.submit(0, OrderRequest::new(2, 9, Side::Buy, 10.0, 5), RequestType::New);
    assert_eq!(a.rejects(2), [R::TooManySymbols], "symbols 7 and 8 fill the table");
    a.engine.set_reference(10, 10.0).expect("a price");
    assert!(a.engine.risk_book(10).is_none(), "no room for symbol 10");
    a.submit(0, OrderRequest::new(3, 10, Side::Buy, 10.0, 5), RequestType::New);
    assert_eq!(a.rejects(3), [R::TooManySymbols]);
    audit_all(&c, &a);
    let before = a.events().to_vec();
    let b = Rig::recovered(&c, "2026-11-23T10:00:05Z", 1, fold(&c, &before)).expect("restart");
    let books: Vec<i32> = [7, 8, 9, 10].into_iter().filter(|s| b.engine.risk_book(*s).is_some()).collect();
    assert_eq!(books, [7, 8], "the same books after a restart");
}
