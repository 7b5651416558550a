//! Pre-trade risk limits: what a New order (or a Modify, as the order it would become) may be
//! before it is queued or sent, per symbol, with what is open and filled on that symbol.
//!
//! [`RiskSettings`] are the limits ([`Limits`], each optional: a default for every symbol and
//! overrides per symbol) and the size of the symbol table; [`Risk`] is the engine's state, one
//! [`Book`] per symbol in a table allocated when the engine is built (at most
//! [`RiskSettings::max_symbols`]; a New order of one more symbol is refused `too_many_symbols`).
//! Every check and every update is O(1): one lookup of the symbol (open addressing, load ≤ 1/2)
//! and a few compares; nothing allocates, locks or formats.
//!
//! The checks of a New order, in order (each refusal its own [`RejectReason`]):
//! `max_order_qty`, `max_order_notional` (price × qty), `price_band` (the price more than
//! `price_band_bps` basis points from the symbol's reference price, the last fill's) or
//! `no_reference_price` (no fill yet and the policy is [`NoReference::Refuse`]),
//! `max_open_orders` (queued and at the exchange, this one included), `max_position` (the
//! position if every open order of the same side filled, this one included) and
//! `max_daily_notional` (the notional filled since the session's logon, plus that of every open
//! order and of this one).
//!
//! **What an open order holds.** An order books its leaves quantity and their notional (price ×
//! leaves) on its side when it is accepted (queued or sent); a fill moves what it fills from
//! the book to the position and the day's notional; its end releases what it still books. A
//! Modify of a queued order rebooks it exactly. A replace of an order at the exchange books the
//! larger of the live and the new version from when it is taken until the exchange answers
//! (`replaced`: the new version; `cancel_rejected`: the live one), so a replace in flight never
//! lets a New through that both versions together would refuse; a replace refused before it
//! went out keeps the larger booking until the order's next answer or its end (never less than
//! what is at risk).

use std::num::NonZeroUsize;

use crate::model::{OrderRequest, RejectReason, Side};

/// What a symbol's orders may be; `None`: no such limit.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Limits {
    /// Largest quantity of one order.
    pub max_order_qty: Option<u64>,
    /// Largest price × quantity of one order.
    pub max_order_notional: Option<f64>,
    /// Farthest an order's price may be from the reference price, in basis points of it.
    pub price_band_bps: Option<u32>,
    /// Most orders open (queued or at the exchange) on the symbol.
    pub max_open_orders: Option<u32>,
    /// Largest position, long or short, counting every open order of the same side as filled.
    pub max_position: Option<u64>,
    /// Largest notional filled in a session plus that of every open order.
    pub max_daily_notional: Option<f64>,
}

impl Limits {
    /// These limits, with `over`'s where it sets one.
    pub fn overridden_by(self, over: &Limits) -> Limits {
        Limits {
            max_order_qty: over.max_order_qty.or(self.max_order_qty),
            max_order_notional: over.max_order_notional.or(self.max_order_notional),
            price_band_bps: over.price_band_bps.or(self.price_band_bps),
            max_open_orders: over.max_open_orders.or(self.max_open_orders),
            max_position: over.max_position.or(self.max_position),
            max_daily_notional: over.max_daily_notional.or(self.max_daily_notional),
        }
    }
}

/// What the price band does for a symbol with no reference price yet (no fill).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum NoReference {
    /// The order passes the band.
    #[default]
    Allow,
    /// The order is refused `no_reference_price`.
    Refuse,
}

impl NoReference {
    /// Its name in the configuration.
    pub const fn name(self) -> &'static str {
        match self {
            NoReference::Allow => "allow",
            NoReference::Refuse => "refuse",
        }
    }

    /// The policy named `name`.
    pub fn from_name(name: &str) -> Option<NoReference> {
        [NoReference::Allow, NoReference::Refuse].into_iter().find(|p| p.name() == name)
    }
}

/// The `[risk]` section, checked.
#[derive(Clone, Debug, PartialEq)]
pub struct RiskSettings {
    /// The limits of every symbol without its own.
    pub default: Limits,
    /// Symbols with limits of their own (the default's where they set none), each once.
    pub symbols: Vec<(i32, Limits)>,
    /// Most symbols the engine keeps a book for (those of `symbols` included).
    pub max_symbols: NonZeroUsize,
    /// The band's policy for a symbol without a reference price.
    pub no_reference: NoReference,
}

impl RiskSettings {
    /// The limit `reason` names for `symbol`, in its own unit (`price_band`: basis points;
    /// `no_reference_price`: the band it needs; `too_many_symbols`: `max_symbols`), if the
    /// reason is a limit and the limit is set.
    pub fn limit_of(&self, symbol: i32, reason: RejectReason) -> Option<f64> {
        let l = self.limits(symbol);
        match reason {
            RejectReason::MaxOrderQty => l.max_order_qty.map(|v| v as f64),
            RejectReason::MaxOrderNotional => l.max_order_notional,
            RejectReason::PriceBand | RejectReason::NoReferencePrice => l.price_band_bps.map(f64::from),
            RejectReason::MaxOpenOrders => l.max_open_orders.map(f64::from),
            RejectReason::MaxPosition => l.max_position.map(|v| v as f64),
            RejectReason::MaxDailyNotional => l.max_daily_notional,
            RejectReason::TooManySymbols => Some(self.max_symbols.get() as f64),
            _ => None,
        }
    }

    /// The limits of `symbol`.
    pub fn limits(&self, symbol: i32) -> Limits {
        match self.symbols.iter().find(|(s, _)| *s == symbol) {
            Some((_, l)) => self.default.overridden_by(l),
            None => self.default,
        }
    }
}

/// One symbol's limits and state, in the form the checks read: every limit set (an unset one
/// is the largest value), the band's policy folded in.
#[derive(Clone, Copy, Debug)]
pub struct Book {
    /// The symbol.
    pub symbol: i32,
    max_qty: u64,
    max_notional: f64,
    /// The band as a fraction of the reference (infinite: none).
    band: f64,
    /// A band is set and the policy refuses orders without a reference.
    refuse_unreferenced: bool,
    max_open: u32,
    max_position: i64,
    max_daily: f64,
    /// The last fill's price (0: none yet).
    pub reference: f64,
    /// Orders open: queued or at the exchange.
    pub open_orders: u32,
    /// Quantity booked by open orders, buy side and sell side.
    pub open_qty: [u64; 2],
    /// Notional booked by open orders.
    pub open_notional: f64,
    /// Filled buys minus filled sells.
    pub position: i64,
    /// Notional filled since the session's logon.
    pub day_notional: f64,
    /// What a New of each side may still add before `max_position`: the limit less the
    /// position (signed for the side) less the side's open quantity, 0 if that is negative
    /// (exact: i128). Kept by every change of the position or the open quantity, so a New's
    /// check of the position is one compare ([`Book::refresh_room`]).
    room: [u64; 2],
}

impl Book {
    fn new(symbol: i32, l: &Limits, policy: NoReference) -> Book {
        Book {
            symbol,
            max_qty: l.max_order_qty.unwrap_or(u64::MAX),
            max_notional: l.max_order_notional.unwrap_or(f64::INFINITY),
            band: l.price_band_bps.map_or(f64::INFINITY, |b| f64::from(b) / 10_000.0),
            refuse_unreferenced: l.price_band_bps.is_some() && policy == NoReference::Refuse,
            max_open: l.max_open_orders.unwrap_or(u32::MAX),
            max_position: l.max_position.map_or(i64::MAX, |m| i64::try_from(m).unwrap_or(i64::MAX)),
            max_daily: l.max_daily_notional.unwrap_or(f64::INFINITY),
            reference: 0.0,
            open_orders: 0,
            open_qty: [0; 2],
            open_notional: 0.0,
            position: 0,
            day_notional: 0.0,
            room: [0; 2],
        }
        .refreshed()
    }

    fn refreshed(mut self) -> Book {
        self.refresh_room();
        self
    }

    /// Recomputes `room` from the position and the open quantities (after any change of them
    /// but a New's booking, which takes its quantity from its side's room).
    fn refresh_room(&mut self) {
        for s in 0..2 {
            let signed = if s == 0 { i128::from(self.position) } else { -i128::from(self.position) };
            let room = i128::from(self.max_position) - signed - i128::from(self.open_qty[s]);
            self.room[s] = u64::try_from(room.max(0)).unwrap_or(u64::MAX);
        }
    }

    /// The limits for order `o` leaving `leaves` (their notional `notional`) on this book, the
    /// order booking `held` already; `more` orders open if it is taken (1 for a New, 0 for a
    /// Modify). The order's own size (`max_order_qty`, `max_order_notional`) is the callers'.
    #[inline(always)]
    fn exposure(
        &self,
        o: &OrderRequest,
        leaves: u64,
        notional: f64,
        held: (u64, f64),
        more: u32,
    ) -> Result<(), RejectReason> {
        self.band(o.price)?;
        if self.open_orders.saturating_add(more) > self.max_open {
            return Err(RejectReason::MaxOpenOrders);
        }
        // The position if every open order of the side filled, this one too: what the side
        // adds (`exposure`, never past u64) against the room the position leaves (i128: no
        // overflow whatever the values).
        let s = side_index(o.side);
        let signed = if s == 0 { self.position } else { self.position.wrapping_neg() };
        let exposure = self.open_qty[s].saturating_sub(held.0).saturating_add(leaves);
        if i128::from(exposure) > i128::from(self.max_position) - i128::from(signed) {
            return Err(RejectReason::MaxPosition);
        }
        if self.day_notional + (self.open_notional - held.1).max(0.0) + notional > self.max_daily {
            return Err(RejectReason::MaxDailyNotional);
        }
        Ok(())
    }

    /// The price band around the reference price, or the policy without one.
    #[inline(always)]
    fn band(&self, price: f64) -> Result<(), RejectReason> {
        if self.reference > 0.0 {
            if (price - self.reference).abs() > self.band * self.reference {
                return Err(RejectReason::PriceBand);
            }
        } else if self.refuse_unreferenced {
            return Err(RejectReason::NoReferencePrice);
        }
        Ok(())
    }

    /// The order's own size: quantity, then notional (`notional`: price × qty).
    #[inline(always)]
    fn size(&self, qty: u64, notional: f64) -> Result<(), RejectReason> {
        if qty > self.max_qty {
            return Err(RejectReason::MaxOrderQty);
        }
        if notional > self.max_notional {
            return Err(RejectReason::MaxOrderNotional);
        }
        Ok(())
    }
}

const EMPTY: u32 = u32::MAX;

/// A bucket of the symbol index: a symbol and its book's place in `books` ([`EMPTY`]: none).
/// The symbol is kept here, beside the place, so a lookup reads one bucket and no book.
#[derive(Clone, Copy, Debug)]
struct Slot {
    symbol: i32,
    book: u32,
}

/// The engine's risk state: a fixed table of [`Book`]s.
#[derive(Clone, Debug)]
pub struct Risk {
    books: Vec<Book>,
    index: Box<[Slot]>,
    mask: usize,
    capacity: usize,
    settings: RiskSettings,
    /// The next logon continues the session a restart interrupted: the day goes on.
    continue_day: bool,
}

/// The quantity and notional an order books: `leaves` at `price`.
#[inline(always)]
pub fn booking(price: f64, leaves: u64) -> (u64, f64) {
    (leaves, price * leaves as f64)
}

/// What an open order books: `booked` when a replace set it, else its live version's
/// `leaves` at `price` (`booked` is `(0, 0.0)` then).
#[inline(always)]
pub fn held(booked: (u64, f64), price: f64, leaves: u64) -> (u64, f64) {
    if booked == (0, 0.0) { booking(price, leaves) } else { booked }
}

#[inline(always)]
fn side_index(side: char) -> usize {
    usize::from(side == Side::Sell.as_char())
}

#[inline(always)]
fn hash(symbol: i32) -> usize {
    (symbol as u32).wrapping_mul(0x9E37_79B1) as usize
}

impl Risk {
    /// The state for `settings`, every table allocated now; the symbols with limits of their
    /// own have their books already.
    pub fn new(settings: &RiskSettings) -> Risk {
        let capacity = settings.max_symbols.get().max(settings.symbols.len());
        let buckets = (2 * capacity).next_power_of_two().max(16);
        let mut risk = Risk {
            books: Vec::with_capacity(capacity),
            index: vec![Slot { symbol: 0, book: EMPTY }; buckets].into_boxed_slice(),
            mask: buckets - 1,
            capacity,
            settings: settings.clone(),
            continue_day: false,
        };
        for (symbol, _) in &settings.symbols {
            risk.book_index(*symbol);
        }
        risk
    }

    /// The settings.
    pub fn settings(&self) -> &RiskSettings {
        &self.settings
    }

    /// The books, in the order the symbols were first seen.
    pub fn books(&self) -> &[Book] {
        &self.books
    }

    /// The book of `symbol`, if it has one.
    pub fn book(&self, symbol: i32) -> Option<&Book> {
        self.lookup(symbol).map(|i| &self.books[i])
    }

    /// The index of `symbol`'s book, if it has one: one probe of the index in the common case.
    #[inline(always)]
    fn lookup(&self, symbol: i32) -> Option<usize> {
        let mut b = hash(symbol) & self.mask;
        loop {
            debug_assert!(b < self.index.len());
            // SAFETY: `b` is masked by `mask`, and `index` has `mask + 1` buckets (made so in
            // `Risk::new`, never resized): `b` is in bounds. (Measured: the bounds checks of
            // this lookup and of the book it finds were 8 of a New's 78 instructions.)
            let slot = unsafe { *self.index.get_unchecked(b) };
            if slot.book == EMPTY {
                return None;
            }
            if slot.symbol == symbol {
                return Some(slot.book as usize);
            }
            b = (b + 1) & self.mask;
        }
    }

    /// The index of `symbol`'s book, made now if it has none and the table has room.
    fn book_index(&mut self, symbol: i32) -> Option<usize> {
        let mut b = hash(symbol) & self.mask;
        loop {
            let slot = self.index[b];
            if slot.book == EMPTY {
                break;
            }
            if slot.symbol == symbol {
                return Some(slot.book as usize);
            }
            b = (b + 1) & self.mask;
        }
        if self.books.len() >= self.capacity {
            return None;
        }
        let limits = self.settings.limits(symbol);
        self.index[b] = Slot { symbol, book: self.books.len() as u32 };
        self.books.push(Book::new(symbol, &limits, self.settings.no_reference));
        Some(self.books.len() - 1)
    }

    /// Checks a New order `o` (its fields valid) and, passed, books it: one more open order,
    /// its quantity and notional. O(1): one lookup of the symbol, a few compares.
    #[inline(always)]
    pub fn take_new(&mut self, o: &OrderRequest) -> Result<(), RejectReason> {
        let Some(i) = self.lookup(o.symbol_id) else { return self.take_new_symbol(o) };
        debug_assert!(i < self.books.len());
        // SAFETY: `lookup` returns only a slot's `book`, which `book_index` set to the place of
        // the book it pushed right after; books are never removed: `i` is in bounds.
        let b = unsafe { self.books.get_unchecked_mut(i) };
        let notional = o.price * o.qty as f64;
        b.size(o.qty, notional)?;
        b.band(o.price)?;
        // As `Book::exposure` for a New (nothing booked yet, one more order open).
        if b.open_orders >= b.max_open {
            return Err(RejectReason::MaxOpenOrders);
        }
        // The position if every open order of the side filled, this one too, within the limit:
        // the side's room (`Book::exposure`'s test, kept as one number).
        let s = side_index(o.side);
        if o.qty > b.room[s] {
            return Err(RejectReason::MaxPosition);
        }
        if b.day_notional + b.open_notional + notional > b.max_daily {
            return Err(RejectReason::MaxDailyNotional);
        }
        b.open_orders += 1;
        // No overflow: the quantity fits the room, which the open quantity leaves below the
        // limit less the position (at most 2^64 - 1).
        b.open_qty[s] += o.qty;
        b.room[s] -= o.qty;
        b.open_notional += notional;
        Ok(())
    }

    /// [`Risk::take_new`] for a symbol without a book: one is made, if the table has room
    /// (`too_many_symbols` if not), and only if the order is taken.
    #[cold]
    #[inline(never)]
    fn take_new_symbol(&mut self, o: &OrderRequest) -> Result<(), RejectReason> {
        if self.books.len() >= self.capacity {
            return Err(RejectReason::TooManySymbols);
        }
        let limits = self.settings.limits(o.symbol_id);
        let fresh = Book::new(o.symbol_id, &limits, self.settings.no_reference);
        let notional = o.price * o.qty as f64;
        fresh.size(o.qty, notional)?;
        fresh.exposure(o, o.qty, notional, (0, 0.0), 1)?;
        match self.book_index(o.symbol_id) {
            Some(_) => self.take_new(o),
            None => Err(RejectReason::TooManySymbols),
        }
    }

    /// Checks a Modify of an open order to `new` (its leaves then `new_leaves`), which now
    /// books `held` (quantity, notional): the order it would become, with what else is open.
    #[inline]
    pub fn check_modify(
        &self,
        new: &OrderRequest,
        new_leaves: u64,
        held: (u64, f64),
    ) -> Result<(), RejectReason> {
        let Some(i) = self.lookup(new.symbol_id) else { return Ok(()) };
        let b = &self.books[i];
        // The order's own size limits are for its whole quantity; the rest for what it leaves.
        b.size(new.qty, new.price * new.qty as f64)?;
        b.exposure(new, new_leaves, new.price * new_leaves as f64, held, 0)
    }

    /// The number limit `reason` refused order `o` on, in the limit's own unit (what the
    /// decoder shows beside the limit): `max_order_qty` the quantity, `max_order_notional`
    /// price × qty, `price_band` the price's distance from the reference in basis points,
    /// `max_open_orders` the orders open with it, `max_position` the position (long or short)
    /// if every open order of its side filled, with it, `max_daily_notional` the day's notional
    /// with every open order and it, `too_many_symbols` the books it would make; 0 for any
    /// other reason. `leaves`, `held` and `more` as for the check that refused it (a New:
    /// `o.qty`, nothing held, one more order). Computed after the refusal, which changed
    /// nothing: off the path of an order that passes.
    #[cold]
    #[inline(never)]
    pub fn value_of(
        &self,
        o: &OrderRequest,
        reason: RejectReason,
        leaves: u64,
        held: (u64, f64),
        more: u32,
    ) -> f64 {
        let fresh;
        let b = match self.lookup(o.symbol_id) {
            Some(i) => &self.books[i],
            None => {
                fresh = Book::new(o.symbol_id, &Limits::default(), self.settings.no_reference);
                &fresh
            }
        };
        let s = side_index(o.side);
        match reason {
            RejectReason::MaxOrderQty => o.qty as f64,
            RejectReason::MaxOrderNotional => o.price * o.qty as f64,
            RejectReason::PriceBand if b.reference > 0.0 => {
                (o.price - b.reference).abs() / b.reference * 10_000.0
            }
            RejectReason::MaxOpenOrders => f64::from(b.open_orders.saturating_add(more)),
            RejectReason::MaxPosition => {
                let signed = if s == 0 { i128::from(b.position) } else { -i128::from(b.position) };
                let exposure = b.open_qty[s].saturating_sub(held.0).saturating_add(leaves);
                (signed + i128::from(exposure)) as f64
            }
            RejectReason::MaxDailyNotional => {
                b.day_notional + (b.open_notional - held.1).max(0.0) + o.price * leaves as f64
            }
            RejectReason::TooManySymbols => (self.books.len() + 1) as f64,
            _ => 0.0,
        }
    }

    /// An open order of `symbol` / `side` now books `new` instead of `old`.
    #[inline]
    pub fn rebook(&mut self, symbol: i32, side: char, old: (u64, f64), new: (u64, f64)) {
        if let Some(b) = self.book_mut(symbol) {
            let s = side_index(side);
            b.open_qty[s] = b.open_qty[s].saturating_add(new.0).saturating_sub(old.0);
            b.open_notional = (b.open_notional + new.1 - old.1).max(0.0);
            b.refresh_room();
        }
    }

    /// An open order of `symbol` / `side` that booked `held` ended: released.
    #[inline]
    pub fn close(&mut self, symbol: i32, side: char, held: (u64, f64)) {
        if let Some(b) = self.book_mut(symbol) {
            let s = side_index(side);
            b.open_orders = b.open_orders.saturating_sub(1);
            b.open_qty[s] = b.open_qty[s].saturating_sub(held.0);
            b.open_notional = if b.open_orders == 0 { 0.0 } else { (b.open_notional - held.1).max(0.0) };
            b.refresh_room();
        }
    }

    /// A fill of `qty` at `px` of an order of `symbol` / `side`: the position, the day's
    /// notional and the reference price move.
    #[inline]
    pub fn fill(&mut self, symbol: i32, side: char, qty: u64, px: f64) {
        if let Some(b) = self.book_mut(symbol) {
            let q = i64::try_from(qty).unwrap_or(i64::MAX);
            b.position = if side_index(side) == 0 {
                b.position.saturating_add(q)
            } else {
                b.position.saturating_sub(q)
            };
            b.day_notional += px * qty as f64;
            b.reference = px;
            b.refresh_room();
        }
    }

    /// A logon: the day's notional starts again, unless the logon continues the session a
    /// restart interrupted ([`Risk::continue_day`]).
    pub fn new_day(&mut self) {
        if std::mem::take(&mut self.continue_day) {
            return;
        }
        for b in &mut self.books {
            b.day_notional = 0.0;
        }
    }

    /// The next logon continues the session a restart interrupted: its day goes on.
    pub fn continue_day(&mut self) {
        self.continue_day = true;
    }

    /// Restores a book's position, day's notional and reference (recovery); the open orders
    /// are booked again one by one.
    pub fn restore(&mut self, symbol: i32, position: i64, day_notional: f64, reference: f64) {
        if let Some(i) = self.book_index(symbol) {
            let b = &mut self.books[i];
            (b.position, b.day_notional, b.reference) = (position, day_notional, reference);
            b.refresh_room();
        }
    }

    /// `symbol`'s reference price is `price` (a `reference` request), its book made now if it
    /// has none and the table has room.
    pub fn set_reference(&mut self, symbol: i32, price: f64) {
        if let Some(i) = self.book_index(symbol) {
            self.books[i].reference = price;
        }
    }

    /// Books an order restored open (recovery), holding `held`.
    pub fn restore_open(&mut self, o: &OrderRequest, held: (u64, f64)) {
        if let Some(i) = self.book_index(o.symbol_id) {
            let b = &mut self.books[i];
            b.open_orders = b.open_orders.saturating_add(1);
            let s = side_index(o.side);
            b.open_qty[s] = b.open_qty[s].saturating_add(held.0);
            b.open_notional += held.1;
            b.refresh_room();
        }
    }

    #[inline]
    fn book_mut(&mut self, symbol: i32) -> Option<&mut Book> {
        let i = self.lookup(symbol)?;
        self.books.get_mut(i)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
        assert_eq!(r.book(1).unwrap().open_orders, 2);
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
}
