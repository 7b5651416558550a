//! The risk books' unit tests.

use super::*;
use crate::model::Side;

fn settings(default: Limits) -> RiskSettings {
    RiskSettings {
        default,
        symbols: vec![(7, Limits { max_order_qty: Some(5), ..Limits::default() })],
        max_symbols: NonZeroUsize::new(2).unwrap(),
        no_reference: NoReference::Allow,
    }
}

fn buy(id: u64, symbol: i32, price: f64, qty: u64) -> OrderRequest {
    OrderRequest::new(id, symbol, Side::Buy, price, qty)
}

#[test]
fn each_limit_refuses_with_its_reason() {
    let l = Limits {
        max_order_qty: Some(100),
        max_order_notional: Some(1000.0),
        price_band_bps: Some(100),
        max_open_orders: Some(2),
        max_position: Some(150),
        max_daily_notional: Some(1300.0),
    };
    let mut r = Risk::new(&settings(l));
    assert_eq!(r.take_new(&buy(1, 1, 1.0, 101)), Err(RejectReason::MaxOrderQty));
    assert_eq!(r.take_new(&buy(1, 1, 20.0, 60)), Err(RejectReason::MaxOrderNotional));
    assert_eq!(r.take_new(&buy(1, 7, 1.0, 6)), Err(RejectReason::MaxOrderQty), "the symbol's own");
    assert!(r.book(1).is_none(), "no book for a refused order's symbol");
    r.take_new(&buy(1, 1, 10.0, 90)).unwrap();
    assert_eq!(r.take_new(&buy(2, 1, 10.0, 61)), Err(RejectReason::MaxPosition));
    r.fill(1, 'B', 10, 10.0);
    r.rebook(1, 'B', (90, 900.0), (80, 800.0));
    assert_eq!(r.book(1).unwrap().position, 10);
    assert_eq!(r.take_new(&buy(2, 1, 10.2, 10)), Err(RejectReason::PriceBand));
    r.take_new(&buy(2, 1, 10.1, 10)).unwrap();
    assert_eq!(r.take_new(&buy(3, 1, 10.0, 1)), Err(RejectReason::MaxOpenOrders));
    r.close(1, 'B', (10, 101.0));
    // Position 10 + open 80 + 61 = 151; filled 100 + open 800 + 10 × 50 = 1400 > 1300.
    assert_eq!(r.take_new(&buy(3, 1, 10.0, 61)), Err(RejectReason::MaxPosition));
    assert_eq!(r.take_new(&buy(3, 1, 10.0, 50)), Err(RejectReason::MaxDailyNotional));
    r.take_new(&buy(3, 1, 10.0, 40)).unwrap();
    assert_eq!(r.book(1).unwrap().open_orders(), 2);
    r.new_day();
    assert_eq!(r.book(1).unwrap().day_notional, 0.0);
}

#[test]
fn the_symbol_table_is_bounded_and_the_band_policy_applies() {
    let l = Limits { price_band_bps: Some(10), ..Limits::default() };
    let mut s = settings(l);
    s.no_reference = NoReference::Refuse;
    let mut r = Risk::new(&s);
    assert_eq!(r.take_new(&buy(1, 1, 1.0, 1)), Err(RejectReason::NoReferencePrice));
    r.restore(1, 0, 0.0, 1.0);
    assert!(r.take_new(&buy(1, 1, 1.0, 1)).is_ok());
    // Symbols 7 (configured) and 1 fill the table of two.
    assert_eq!(r.take_new(&buy(1, 2, 1.0, 1)), Err(RejectReason::TooManySymbols));
    assert_eq!(r.books().len(), 2);
}

#[test]
fn a_modify_is_checked_as_the_order_it_would_become() {
    let l = Limits { max_position: Some(100), max_order_qty: Some(80), ..Limits::default() };
    let mut r = Risk::new(&settings(l));
    r.take_new(&buy(1, 1, 10.0, 60)).unwrap();
    let held = booking(10.0, 60);
    assert_eq!(r.check_modify(&buy(1, 1, 10.0, 80), 80, held), Ok(()));
    assert_eq!(r.check_modify(&buy(1, 1, 10.0, 81), 81, held), Err(RejectReason::MaxOrderQty));
    r.take_new(&buy(2, 1, 10.0, 30)).unwrap();
    assert_eq!(r.check_modify(&buy(1, 1, 10.0, 71), 71, held), Err(RejectReason::MaxPosition));
    assert_eq!(r.check_modify(&buy(1, 1, 10.0, 70), 70, held), Ok(()));
}

/// The checks a New takes (the derived limits first, the exact ones for what they refuse) give
/// the verdicts and the books of the exact checks alone, order after order: at the band's ends,
/// at each limit, with fills moving the reference.
#[test]
fn the_derived_limits_decide_as_the_exact_checks() {
    let mut rng = fastrand::Rng::with_seed(11);
    for round in 0..200 {
        let l = Limits {
            max_order_qty: rng.bool().then(|| rng.u64(1..200)),
            max_order_notional: rng.bool().then(|| rng.u64(100..20_000) as f64),
            price_band_bps: rng.bool().then(|| rng.u32(1..3_000)),
            max_open_orders: rng.bool().then(|| rng.u32(1..8)),
            max_position: rng.bool().then(|| rng.u64(0..500)),
            max_daily_notional: rng.bool().then(|| rng.u64(100..50_000) as f64),
        };
        let mut s = settings(l);
        s.no_reference = if round % 2 == 0 { NoReference::Allow } else { NoReference::Refuse };
        let (mut fast, mut exact) = (Risk::new(&s), Risk::new(&s));
        for id in 0..200 {
            let symbol = rng.i32(0..3);
            let side = if rng.bool() { Side::Buy } else { Side::Sell };
            // Prices on and around the band's ends once there is a reference.
            let reference = fast.book(symbol).map_or(0.0, |b| b.reference);
            let price = if reference > 0.0 && rng.bool() {
                let bps = f64::from(l.price_band_bps.unwrap_or(100)) / 10_000.0;
                let edge = if rng.bool() { reference + bps * reference } else { reference - bps * reference };
                let mut p = edge.max(f64::MIN_POSITIVE);
                for _ in 0..rng.usize(0..3) {
                    p = if rng.bool() { p.next_up() } else { p.next_down() };
                }
                p
            } else {
                rng.u32(1..400) as f64 * 0.05
            };
            let o = OrderRequest::new(id, symbol, side, price, rng.u64(1..150));
            let verdict = fast.take_new(&o);
            let expected = match exact.lookup(symbol) {
                Some(i) => exact.take_new_exact(i, &o),
                None => exact.take_new_symbol(&o),
            };
            assert_eq!(verdict, expected, "round {round}, order {o:?}");
            match rng.u32(0..4) {
                0 if verdict.is_ok() => {
                    let px = price + rng.i32(-3..4) as f64 * 0.01;
                    for r in [&mut fast, &mut exact] {
                        r.fill(symbol, side.as_char(), 1, px);
                    }
                }
                1 if verdict.is_ok() => {
                    for r in [&mut fast, &mut exact] {
                        r.close(symbol, side.as_char(), booking(price, o.qty));
                    }
                }
                _ => {}
            }
        }
        for symbol in 0..3 {
            let (a, b) =
                (fast.book(symbol).map(|b| format!("{b:?}")), exact.book(symbol).map(|b| format!("{b:?}")));
            assert_eq!(a, b, "round {round}, symbol {symbol}");
        }
    }
}
