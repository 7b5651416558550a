//! The audit's `risk` rule on hand-written journals: a journal within the limits passes, and
//! each limit fails a journal that takes an order beyond it, or refuses one the limits allow,
//! naming the record.

use std::num::{NonZeroU32, NonZeroUsize};

use jiff::civil::time;
use oms::audit::{AuditOptions, AuditReport, Auditor, Rule};
use oms::risk::{Limits, NoReference, RiskSettings};
use oms::throttle::{ThrottleMode, ThrottleSettings};
use oms::{
    DaySet, Event, EventRecord, OrderRequest, RejectReason as R, RequestType as Q, ResponseType, Side,
    TradingWindow,
};

/// 2026-11-23T10:00:00Z: the window opens.
const OPEN: i64 = 1_795_428_000_000_000_000;
const MS: i64 = 1_000_000;
const DAY: i64 = 86_400_000;

fn buy(id: u64, px: f64, qty: u64) -> OrderRequest {
    OrderRequest::new(id, 7, Side::Buy, px, qty)
}

fn sell(id: u64, px: f64, qty: u64) -> OrderRequest {
    OrderRequest::new(id, 7, Side::Sell, px, qty)
}

/// A journal written by hand, at ms after the window opens; one record per ms unless told.
#[derive(Default)]
struct J {
    records: Vec<EventRecord>,
    ms: i64,
}

impl J {
    fn at(mut self, ms: i64) -> Self {
        self.ms = ms;
        self
    }
    fn e(mut self, e: Event) -> Self {
        let seq = self.records.len() as u64 + 1;
        self.records.push(EventRecord { seq, ..EventRecord::new(OPEN + self.ms * MS, e) });
        self.ms += 1;
        self
    }
    fn logon(self) -> Self {
        self.e(Event::Logon)
    }
    fn logout(self) -> Self {
        self.e(Event::Logout)
    }
    fn sent(self, o: OrderRequest) -> Self {
        self.e(Event::Sent { order: o, in_oms_ns: 0 })
    }
    fn queued(self, o: OrderRequest) -> Self {
        self.e(Event::Queued { order: o })
    }
    fn accepted(self, o: OrderRequest) -> Self {
        self.e(Event::Response { order: o, response: ResponseType::Accept, round_trip_ns: 0 })
    }
    fn fill(self, o: OrderRequest, qty: u64, px: f64, cum: u64) -> Self {
        let complete = cum == o.qty;
        self.e(Event::Fill {
            order_id: o.order_id,
            symbol_id: o.symbol_id,
            side: o.side,
            last_qty: qty,
            last_px: px,
            cum_qty: cum,
            complete,
        })
    }
    fn refused(self, o: OrderRequest, q: Q, reason: R) -> Self {
        self.e(Event::Rejected { order: o, request: q, reason, value: 0.0 })
    }
    fn replace_sent(self, o: OrderRequest) -> Self {
        self.e(Event::ReplaceSent { order: o, in_oms_ns: 0 })
    }
    fn replaced(self, o: OrderRequest) -> Self {
        self.e(Event::Replaced { order: o, round_trip_ns: 0 })
    }

    fn audit(&self, risk: Option<&RiskSettings>) -> AuditReport {
        let window =
            TradingWindow::new(jiff::tz::TimeZone::UTC, time(10, 0, 0, 0), time(13, 0, 0, 0), DaySet::ALL);
        let nz = |v| NonZeroU32::new(v).expect("non-zero");
        let throttle = ThrottleSettings { mode: ThrottleMode::TokenBucket, rate: nz(1000), burst: nz(1000) };
        let mut a = Auditor::new(&window, &throttle, AuditOptions::LIVE).with_risk(risk);
        for r in &self.records {
            a.push(r);
        }
        a.report()
    }
}

fn settings(limits: Limits) -> RiskSettings {
    RiskSettings {
        default: limits,
        symbols: Vec::new(),
        max_symbols: NonZeroUsize::new(4).expect("non-zero"),
        no_reference: NoReference::Allow,
    }
}

/// The report holds every rule but `risk`, which fails first at `seq`.
#[track_caller]
fn risk_fails_at(report: &AuditReport, seq: u64) {
    assert_eq!(report.broken(), [Rule::Risk], "{report}");
    let v = report.rule(Rule::Risk).first.as_ref().expect("a violation");
    assert_eq!(v.seq, seq, "{report}");
}

#[track_caller]
fn clean(report: &AuditReport) {
    assert!(report.is_clean(), "{report}");
    assert!(report.rule(Rule::Risk).checked > 0, "the risk rule checked something: {report}");
}

#[test]
fn a_journal_within_the_limits_passes_and_an_order_over_the_quantity_fails() {
    let s =
        settings(Limits { max_order_qty: Some(100), max_order_notional: Some(5000.0), ..Limits::default() });
    let ok = J::default()
        .logon()
        .refused(buy(1, 10.0, 101), Q::New, R::MaxOrderQty)
        .refused(buy(2, 60.0, 100), Q::New, R::MaxOrderNotional)
        .sent(buy(3, 10.0, 100));
    clean(&ok.audit(Some(&s)));
    risk_fails_at(&J::default().logon().sent(buy(1, 10.0, 101)).audit(Some(&s)), 2);
    risk_fails_at(&J::default().logon().queued(buy(1, 60.0, 100)).audit(Some(&s)), 2);
    // A refusal the limits do not make, or not first.
    risk_fails_at(
        &J::default().logon().refused(buy(1, 10.0, 100), Q::New, R::MaxOrderQty).audit(Some(&s)),
        2,
    );
    risk_fails_at(
        &J::default().logon().refused(buy(1, 60.0, 101), Q::New, R::MaxOrderNotional).audit(Some(&s)),
        2,
    );
}

#[test]
fn a_refusal_for_a_limit_without_limits_breaks_the_fates() {
    let j = J::default().logon().refused(buy(1, 10.0, 101), Q::New, R::MaxOrderQty);
    assert_eq!(j.audit(None).broken(), [Rule::Fates]);
}

#[test]
fn open_orders_and_the_position_count_every_open_order_of_the_side() {
    let s = settings(Limits { max_open_orders: Some(2), max_position: Some(100), ..Limits::default() });
    let base = || J::default().logon().sent(buy(1, 10.0, 60)).accepted(buy(1, 10.0, 60));
    // 60 open + 41 = 101.
    risk_fails_at(&base().sent(buy(2, 10.0, 41)).audit(Some(&s)), 4);
    clean(&base().refused(buy(2, 10.0, 41), Q::New, R::MaxPosition).sent(buy(3, 10.0, 40)).audit(Some(&s)));
    // Two open: a third is one too many; filled in full, order 1 frees its place and its 60
    // are the position: a sell may go to 160 (short 100 at worst).
    risk_fails_at(&base().sent(buy(2, 10.0, 40)).sent(sell(3, 10.0, 1)).audit(Some(&s)), 5);
    let filled = base().sent(buy(2, 10.0, 40)).fill(buy(1, 10.0, 60), 60, 10.0, 60);
    clean(&filled.refused(buy(3, 10.0, 1), Q::New, R::MaxPosition).sent(sell(4, 10.0, 160)).audit(Some(&s)));
    let filled = base().sent(buy(2, 10.0, 40)).fill(buy(1, 10.0, 60), 60, 10.0, 60);
    risk_fails_at(&filled.sent(sell(4, 10.0, 161)).audit(Some(&s)), 6);
}

#[test]
fn a_replace_is_judged_as_the_order_it_would_become_and_books_the_larger_version() {
    let s = settings(Limits { max_position: Some(100), ..Limits::default() });
    let base =
        || J::default().logon().sent(buy(1, 10.0, 60)).accepted(buy(1, 10.0, 60)).sent(buy(2, 10.0, 20));
    risk_fails_at(&base().replace_sent(buy(1, 10.0, 81)).audit(Some(&s)), 5);
    clean(&base().refused(buy(1, 10.0, 81), Q::Modify, R::MaxPosition).audit(Some(&s)));
    risk_fails_at(&base().refused(buy(1, 10.0, 80), Q::Modify, R::MaxPosition).audit(Some(&s)), 5);
    // Down to 30 at the exchange: until it answers, the 60 stay booked.
    let down = base().replace_sent(buy(1, 10.0, 30));
    risk_fails_at(&down.sent(buy(3, 10.0, 30)).audit(Some(&s)), 6);
    let done = base().replace_sent(buy(1, 10.0, 30)).replaced(buy(1, 10.0, 30));
    clean(&done.sent(buy(3, 10.0, 50)).audit(Some(&s)));
}

#[test]
fn the_price_band_follows_the_last_fill_and_the_policy_without_one() {
    let mut s = settings(Limits { price_band_bps: Some(100), ..Limits::default() });
    let base = || {
        J::default().logon().sent(buy(1, 10.0, 5)).accepted(buy(1, 10.0, 5)).fill(buy(1, 10.0, 5), 2, 10.0, 2)
    };
    clean(&base().sent(buy(2, 10.1, 1)).refused(buy(3, 10.11, 1), Q::New, R::PriceBand).audit(Some(&s)));
    risk_fails_at(&base().sent(sell(2, 9.89, 1)).audit(Some(&s)), 5);
    risk_fails_at(&base().refused(buy(2, 10.1, 1), Q::New, R::PriceBand).audit(Some(&s)), 5);
    s.no_reference = NoReference::Refuse;
    risk_fails_at(&J::default().logon().sent(buy(1, 10.0, 5)).audit(Some(&s)), 2);
    clean(&J::default().logon().refused(buy(1, 10.0, 5), Q::New, R::NoReferencePrice).audit(Some(&s)));
}

#[test]
fn the_days_notional_counts_fills_and_open_orders_and_starts_again_at_a_logon() {
    let s = settings(Limits { max_daily_notional: Some(1000.0), ..Limits::default() });
    let day = || {
        J::default()
            .logon()
            .sent(buy(1, 10.0, 60))
            .accepted(buy(1, 10.0, 60))
            .fill(buy(1, 10.0, 60), 60, 10.0, 60)
            .sent(sell(2, 10.0, 30))
    };
    // 600 filled + 300 open + 110 > 1000.
    risk_fails_at(&day().sent(sell(3, 10.0, 11)).audit(Some(&s)), 6);
    clean(&day().sent(sell(3, 10.0, 10)).audit(Some(&s)));
    let next = day().at(3 * 3_600_000).logout().at(DAY).logon();
    clean(&next.sent(sell(3, 10.0, 70)).audit(Some(&s)));
    let next = day().at(3 * 3_600_000).logout().at(DAY).logon();
    risk_fails_at(&next.sent(sell(3, 10.0, 71)).audit(Some(&s)), 8);
}

#[test]
fn symbols_beyond_the_table_are_refused_and_only_then() {
    let s =
        RiskSettings { max_symbols: NonZeroUsize::new(1).expect("non-zero"), ..settings(Limits::default()) };
    let other = |id| OrderRequest::new(id, 8, Side::Buy, 1.0, 1);
    clean(
        &J::default()
            .logon()
            .sent(buy(1, 1.0, 1))
            .refused(other(2), Q::New, R::TooManySymbols)
            .audit(Some(&s)),
    );
    risk_fails_at(&J::default().logon().sent(buy(1, 1.0, 1)).sent(other(2)).audit(Some(&s)), 3);
    risk_fails_at(&J::default().logon().refused(other(2), Q::New, R::TooManySymbols).audit(Some(&s)), 2);
}
