//! The audit's own model of the pre-trade risk limits: per symbol, the orders open and what
//! each books, the position, the reference price and the notional filled since the logon, all
//! folded from the records; and the limits of the configuration, checked against it at each
//! order taken and each refusal. It shares no code with the engine's books ([`crate::risk`]):
//! it reads the rules as `docs/journal-format.md` and `[risk]` state them.
//!
//! What an order books follows the records: its live version's leaves (quantity less filled)
//! and their notional at its price, from when it is taken (`queued`, or `sent` at once; a
//! `modified` queued New is its new version); a replace taken (`replace_queued`,
//! `replace_sent`, or a waiting one `modified`) books instead the larger of that and the new
//! version's leaves and notional, each part on its own, until the exchange answers
//! (`replaced`, `cancel_rejected`: the live version again), a `fill` taking its quantity (at the
//! live version's price) off that larger booking meanwhile; a `fill` moves its quantity to the
//! position and its notional to the day's; any end releases what is booked.

use std::collections::{HashMap, HashSet};

use crate::model::{OrderRequest, RejectReason};
use crate::risk::{Limits, NoReference, RiskSettings};

/// One order the model holds open.
#[derive(Clone, Copy, Debug)]
struct Held {
    symbol: i32,
    buy: bool,
    /// What a replace taken and not answered books (the larger version); `None`: the live one.
    over: Option<(u64, f64)>,
    live_px: f64,
    live_qty: u64,
    cum: u64,
    /// A replace of it waits in the queue (its `replace_sent` is not a new request).
    replace_waits: bool,
}

impl Held {
    /// What it books: the larger version a replace set, or its live version's leaves at its
    /// price.
    fn held(&self) -> (u64, f64) {
        self.over.unwrap_or_else(|| {
            let leaves = self.live_qty.saturating_sub(self.cum);
            (leaves, self.live_px * leaves as f64)
        })
    }
}

/// One symbol.
#[derive(Clone, Copy, Debug, Default)]
struct Symbol {
    open: u64,
    open_qty: [u64; 2],
    open_notional: f64,
    position: i128,
    day: f64,
    reference: Option<f64>,
}

/// The model; see the module docs.
#[derive(Debug)]
pub(crate) struct RiskModel {
    settings: RiskSettings,
    orders: HashMap<u64, Held>,
    symbols: HashMap<i32, Symbol>,
    /// Symbols with a book: the configured ones and those of every order taken.
    known: HashSet<i32>,
}

/// What a request would be refused for, if anything.
pub(crate) type Verdict = Option<RejectReason>;

impl RiskModel {
    pub(crate) fn new(settings: &RiskSettings) -> RiskModel {
        RiskModel {
            settings: settings.clone(),
            orders: HashMap::new(),
            symbols: HashMap::new(),
            known: settings.symbols.iter().map(|(s, _)| *s).collect(),
        }
    }

    fn limits(&self, symbol: i32) -> Limits {
        self.settings.limits(symbol)
    }

    /// Whether order `id` is held open.
    pub(crate) fn holds(&self, id: u64) -> bool {
        self.orders.contains_key(&id)
    }

    /// What a New `o` would be refused for now.
    pub(crate) fn judge_new(&self, o: &OrderRequest) -> Verdict {
        if !self.known.contains(&o.symbol_id) && self.known.len() >= self.settings.max_symbols.get() {
            return Some(RejectReason::TooManySymbols);
        }
        let l = self.limits(o.symbol_id);
        size(&l, o.price, o.qty).or_else(|| self.exposure(&l, o, o.qty, (0, 0.0), 1))
    }

    /// What a Modify of held order `id` to `new` would be refused for now (`None` also when the
    /// order is not held: the lifecycle rules judge that).
    pub(crate) fn judge_modify(&self, id: u64, new: &OrderRequest) -> Verdict {
        let h = self.orders.get(&id)?;
        let l = self.limits(h.symbol);
        let o = OrderRequest { symbol_id: h.symbol, side: if h.buy { 'B' } else { 'S' }, ..*new };
        size(&l, new.price, new.qty)
            .or_else(|| self.exposure(&l, &o, new.qty.saturating_sub(h.cum), h.held(), 0))
    }

    /// The band, the count, the position and the day's notional for `o` leaving `leaves`, with
    /// `held` booked by it already and `more` orders opened by it.
    fn exposure(&self, l: &Limits, o: &OrderRequest, leaves: u64, held: (u64, f64), more: u64) -> Verdict {
        let s = self.symbols.get(&o.symbol_id).copied().unwrap_or_default();
        if let Some(bps) = l.price_band_bps {
            match s.reference {
                // A fill at 0 sets no reference (the engine's books hold 0 for none).
                Some(r) if r > 0.0 => {
                    if (o.price - r).abs() > f64::from(bps) / 10_000.0 * r {
                        return Some(RejectReason::PriceBand);
                    }
                }
                Some(_) | None if self.settings.no_reference == NoReference::Refuse => {
                    return Some(RejectReason::NoReferencePrice);
                }
                Some(_) | None => {}
            }
        }
        if l.max_open_orders.is_some_and(|m| s.open + more > u64::from(m)) {
            return Some(RejectReason::MaxOpenOrders);
        }
        let buy = o.side == 'B';
        let side = usize::from(!buy);
        let signed = if buy { s.position } else { -s.position };
        let worst = signed + i128::from(s.open_qty[side].saturating_sub(held.0)) + i128::from(leaves);
        if l.max_position.is_some_and(|m| worst > i128::from(m)) {
            return Some(RejectReason::MaxPosition);
        }
        let notional = o.price * leaves as f64;
        if l.max_daily_notional.is_some_and(|m| s.day + (s.open_notional - held.1).max(0.0) + notional > m) {
            return Some(RejectReason::MaxDailyNotional);
        }
        None
    }

    /// A New `o` taken: it books its quantity.
    pub(crate) fn take(&mut self, o: &OrderRequest) {
        self.known.insert(o.symbol_id);
        let (qty, notional) = (o.qty, o.price * o.qty as f64);
        let s = self.symbols.entry(o.symbol_id).or_default();
        s.open += 1;
        s.open_qty[usize::from(o.side != 'B')] += qty;
        s.open_notional += notional;
        let h = Held {
            symbol: o.symbol_id,
            buy: o.side == 'B',
            over: None,
            live_px: o.price,
            live_qty: o.qty,
            cum: 0,
            replace_waits: false,
        };
        self.orders.insert(o.order_id, h);
    }

    /// Order `id`, which held `old`, holds what its state says now.
    fn rebook(&mut self, id: u64, old: (u64, f64)) {
        let Some(h) = self.orders.get(&id) else { return };
        let new = h.held();
        let s = self.symbols.entry(h.symbol).or_default();
        let side = usize::from(!h.buy);
        s.open_qty[side] = (s.open_qty[side] + new.0).saturating_sub(old.0);
        s.open_notional = (s.open_notional + new.1 - old.1).max(0.0);
    }

    /// Changes held order `id` with `f` and books what it holds then.
    fn change(&mut self, id: u64, f: impl FnOnce(&mut Held)) {
        let Some(h) = self.orders.get_mut(&id) else { return };
        let old = h.held();
        f(h);
        self.rebook(id, old);
    }

    /// A queued New `id` rewritten to `new`: booked as it is now.
    pub(crate) fn modified_queued(&mut self, id: u64, new: &OrderRequest) {
        self.change(id, |h| (h.live_px, h.live_qty, h.over) = (new.price, new.qty, None));
    }

    /// A replace of held order `id` to `new` taken: the larger of the two versions.
    pub(crate) fn replace_taken(&mut self, id: u64, new: &OrderRequest, waits: bool) {
        self.change(id, |h| {
            let (q, n) = h.held();
            let leaves = new.qty.saturating_sub(h.cum);
            h.over = Some((q.max(leaves), n.max(new.price * leaves as f64)));
            h.replace_waits = waits;
        });
    }

    /// Whether a replace of `id` waits in the queue (its `replace_sent` then books nothing new).
    pub(crate) fn replace_waits(&self, id: u64) -> bool {
        self.orders.get(&id).is_some_and(|h| h.replace_waits)
    }

    /// The exchange answered the replace or cancel of `id`: it books its live version, `live`
    /// when the replace was carried out.
    pub(crate) fn settled(&mut self, id: u64, live: Option<&OrderRequest>) {
        self.change(id, |h| {
            if let Some(o) = live {
                (h.live_px, h.live_qty) = (o.price, o.qty);
            }
            (h.over, h.replace_waits) = (None, false);
        });
    }

    /// A reference price set for `symbol` by request: the band's centre until its next fill.
    /// The engine makes the symbol a book for it if the table has room; if not, it keeps
    /// neither.
    pub(crate) fn reference(&mut self, symbol: i32, px: f64) {
        if self.book(symbol) {
            self.symbols.entry(symbol).or_default().reference = Some(px);
        }
    }

    /// A New of `symbol` passed the limits and was refused after all (`queue_full`, or
    /// `not_sent` as it went out): the engine made its symbol a book when it passed, and keeps
    /// it.
    pub(crate) fn passed(&mut self, symbol: i32) {
        self.book(symbol);
    }

    /// Whether `symbol` has a book, made now if the table has room.
    fn book(&mut self, symbol: i32) -> bool {
        if self.known.contains(&symbol) {
            return true;
        }
        if self.known.len() >= self.settings.max_symbols.get() {
            return false;
        }
        self.known.insert(symbol)
    }

    /// A fill of `qty` at `px` of order `id` (symbol, side from the record).
    pub(crate) fn fill(&mut self, id: u64, symbol: i32, buy: bool, qty: u64, px: f64) {
        let s = self.symbols.entry(symbol).or_default();
        s.position += if buy { i128::from(qty) } else { -i128::from(qty) };
        s.day += px * qty as f64;
        s.reference = Some(px);
        self.change(id, |h| {
            h.over = h
                .over
                .map(|(q, n)| (q.saturating_sub(qty), (n - h.live_px * qty as f64).max(0.0)))
                .filter(|o| *o != (0, 0.0));
            h.cum += qty;
        });
    }

    /// Order `id` is no longer open: what it books is released.
    pub(crate) fn end(&mut self, id: u64) {
        let Some(h) = self.orders.remove(&id) else { return };
        let held = h.held();
        let s = self.symbols.entry(h.symbol).or_default();
        let side = usize::from(!h.buy);
        s.open = s.open.saturating_sub(1);
        s.open_qty[side] = s.open_qty[side].saturating_sub(held.0);
        s.open_notional = if s.open == 0 { 0.0 } else { (s.open_notional - held.1).max(0.0) };
    }

    /// The orders held.
    pub(crate) fn ids(&self) -> Vec<u64> {
        self.orders.keys().copied().collect()
    }

    /// After a restart, order `id` books what the restarted engine restores for it: its live
    /// version, or the larger of it and `replace` (price, quantity), a replace at the exchange
    /// or waiting in the queue.
    pub(crate) fn restarted(&mut self, id: u64, replace: Option<(f64, u64)>) {
        self.change(id, |h| {
            h.over = None;
            if let Some((price, qty)) = replace {
                let (q, n) = h.held();
                let leaves = qty.saturating_sub(h.cum);
                h.over = Some((q.max(leaves), n.max(price * leaves as f64)));
            }
        });
    }

    /// A logon: the day's notional starts again.
    pub(crate) fn new_day(&mut self) {
        for s in self.symbols.values_mut() {
            s.day = 0.0;
        }
    }
}

/// The order's own size: quantity, then notional.
fn size(l: &Limits, price: f64, qty: u64) -> Verdict {
    if l.max_order_qty.is_some_and(|m| qty > m) {
        return Some(RejectReason::MaxOrderQty);
    }
    if l.max_order_notional.is_some_and(|m| price * qty as f64 > m) {
        return Some(RejectReason::MaxOrderNotional);
    }
    None
}
