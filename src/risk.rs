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

use crate::model::{OrderRequest, RejectReason};

mod book;

pub use book::Book;
use book::{Spec, side_index, valid_side_index};

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

/// The engine's risk state: a fixed table of [`Book`]s, open-addressed by symbol (at most half
/// full): a symbol's book is in the bucket its hash names, or (when another symbol took it) in
/// one of the next. A New finds its book with one multiply and one compare of the bucket's
/// symbol (on the book's first line, which the check reads next). An empty bucket holds a
/// symbol whose own bucket is another (`vacant`): a symbol found in its own bucket is
/// never an empty one.
#[derive(Clone, Debug)]
pub struct Risk {
    /// The buckets: a book each, taken or not.
    books: Box<[Book]>,
    /// Beside each book, what of its limits only the cold paths read.
    specs: Box<[Spec]>,
    /// Which buckets hold a symbol's book.
    taken: Box<[bool]>,
    /// The taken buckets, in the order their symbols were first seen.
    order: Vec<u32>,
    mask: usize,
    /// `mask * STRIDE`: a hash masked by it is the byte offset of a bucket.
    offsets: usize,
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

/// A book's size, the stride of the table's buckets (a power of two).
const STRIDE: usize = std::mem::size_of::<Book>();

/// The hash's multiplier: odd (consecutive symbols have different buckets), and small enough
/// that times [`STRIDE`] it is a 32-bit immediate.
const MULTIPLIER: usize = 0x9E_3779;

/// `symbol`'s hash times [`STRIDE`]: masked by `mask * STRIDE`, the byte offset of its bucket
/// (one multiply and one `and`, no shift).
#[inline(always)]
fn hash(symbol: i32) -> usize {
    (symbol as u32 as usize).wrapping_mul(MULTIPLIER * STRIDE)
}

/// The symbol an empty bucket `b` holds: one whose own bucket is not `b` (symbol 0's bucket is
/// 0, symbol 1's is not: the multiplier is odd).
fn vacant(b: usize) -> i32 {
    i32::from(b == 0)
}

impl Risk {
    /// The state for `settings`, every table allocated now; the symbols with limits of their
    /// own have their books already.
    pub fn new(settings: &RiskSettings) -> Risk {
        let capacity = settings.max_symbols.get().max(settings.symbols.len());
        let buckets = (2 * capacity).next_power_of_two().max(16);
        let mask = buckets - 1;
        let empty = |b| Book::new(vacant(b), &Limits::default(), NoReference::Allow);
        let (books, specs) = (0..buckets).map(empty).unzip::<_, _, Vec<_>, Vec<_>>();
        let mut risk = Risk {
            books: books.into_boxed_slice(),
            specs: specs.into_boxed_slice(),
            taken: vec![false; buckets].into_boxed_slice(),
            order: Vec::with_capacity(capacity),
            mask,
            offsets: mask * STRIDE,
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
    pub fn books(&self) -> impl ExactSizeIterator<Item = &Book> {
        self.order.iter().map(|&b| &self.books[b as usize])
    }

    /// The book of `symbol`, if it has one.
    pub fn book(&self, symbol: i32) -> Option<&Book> {
        self.lookup(symbol).map(|i| &self.books[i])
    }

    /// The bucket of `symbol`'s book, if it has one: one compare when the symbol is in its own
    /// bucket (the common case: the table is at most half full).
    #[inline(always)]
    fn lookup(&self, symbol: i32) -> Option<usize> {
        let b = self.home(symbol);
        debug_assert!(b < self.books.len());
        // SAFETY: `b` is masked by `mask`, and `books` has `mask + 1` buckets (made so in
        // `Risk::new`, never resized): `b` is in bounds. (Measured: the bounds checks of
        // this lookup and of the book it finds were 8 of a New's 78 instructions.)
        if unsafe { self.books.get_unchecked(b) }.symbol == symbol {
            return Some(b); // not an empty bucket: see `vacant`
        }
        self.probe(symbol, b)
    }

    /// The bucket `symbol`'s hash names.
    #[inline(always)]
    fn home(&self, symbol: i32) -> usize {
        (hash(symbol) & self.offsets) / STRIDE
    }

    /// [`Risk::lookup`] past the symbol's own bucket `b` (taken by another symbol, or empty).
    #[cold]
    #[inline(never)]
    fn probe(&self, symbol: i32, mut b: usize) -> Option<usize> {
        loop {
            if !self.taken[b] {
                return None;
            }
            if self.books[b].symbol == symbol {
                return Some(b);
            }
            b = (b + 1) & self.mask;
        }
    }

    /// The bucket of `symbol`'s book, made now if it has none and the table has room.
    fn book_index(&mut self, symbol: i32) -> Option<usize> {
        let mut b = self.home(symbol);
        while self.taken[b] {
            if self.books[b].symbol == symbol {
                return Some(b);
            }
            b = (b + 1) & self.mask;
        }
        if self.order.len() >= self.capacity {
            return None;
        }
        let limits = self.settings.limits(symbol);
        (self.books[b], self.specs[b]) = Book::new(symbol, &limits, self.settings.no_reference);
        self.taken[b] = true;
        self.order.push(b as u32);
        Some(b)
    }

    /// Checks a New order `o` (its fields valid) and, passed, books it: one more open order,
    /// its quantity and notional. O(1): one lookup of the symbol, one compare per limit
    /// (`Book::take_new`); an order those refuse (or of a quantity above `i64::MAX`, or of
    /// a symbol without a book) takes the exact checks, out of line.
    #[inline(always)]
    pub fn take_new(&mut self, o: &OrderRequest) -> Result<(), RejectReason> {
        // `lookup`'s first step, written out: the book found is the one checked, its address
        // computed once, its index only on the cold paths.
        let at = hash(o.symbol_id) & self.offsets;
        debug_assert!(at / STRIDE < self.books.len() && at.is_multiple_of(STRIDE));
        // SAFETY: `at` is masked by `offsets`, `mask * STRIDE` with `mask + 1` buckets in
        // `books` (made so in `Risk::new`, never resized) and `STRIDE` a power of two: `at` is
        // the offset of a bucket, in bounds. (By offset, not index: measured, the index's
        // shift was 2 of a New's 45 instructions.)
        let b = unsafe { &mut *self.books.as_mut_ptr().byte_add(at) };
        if b.symbol == o.symbol_id && o.qty <= b.qty_cap() {
            // The quantity fits an `i64`: the same value as `o.qty as f64`, in one instruction.
            let notional = o.price * o.qty as i64 as f64;
            if b.take_new(o.price, o.qty, notional, valid_side_index(o.side)) {
                return Ok(());
            }
        }
        self.take_new_cold(at, o)
    }

    /// [`Risk::take_new`] for what its first look did not take: a symbol not in its own bucket
    /// (probed; and never an empty one: see `vacant`) or without a book, a quantity above
    /// `i64::MAX`, an order the derived limits refuse.
    #[cold]
    #[inline(never)]
    fn take_new_cold(&mut self, at: usize, o: &OrderRequest) -> Result<(), RejectReason> {
        let i = at / STRIDE;
        if self.books[i].symbol == o.symbol_id {
            return self.take_new_exact(i, o);
        }
        match self.probe(o.symbol_id, i) {
            Some(i) => self.take_new_exact(i, o),
            None => self.take_new_symbol(o),
        }
    }

    /// [`Risk::take_new`] by the exact checks, in their order, for the order the derived
    /// limits did not pass: its reason, or booked after all.
    #[cold]
    #[inline(never)]
    fn take_new_exact(&mut self, i: usize, o: &OrderRequest) -> Result<(), RejectReason> {
        let (b, spec) = (&mut self.books[i], &self.specs[i]);
        let notional = o.price * o.qty as f64;
        b.size(spec, o.qty, notional)?;
        b.exposure(spec, o, o.qty, notional, (0, 0.0), 1)?;
        let open_left = b.open_orders_left();
        b.book_new(side_index(o.side), o.qty, notional, open_left);
        Ok(())
    }

    /// [`Risk::take_new`] for a symbol without a book: one is made, if the table has room
    /// (`too_many_symbols` if not), and only if the order is taken.
    #[cold]
    #[inline(never)]
    fn take_new_symbol(&mut self, o: &OrderRequest) -> Result<(), RejectReason> {
        if self.order.len() >= self.capacity {
            return Err(RejectReason::TooManySymbols);
        }
        let limits = self.settings.limits(o.symbol_id);
        let (fresh, spec) = Book::new(o.symbol_id, &limits, self.settings.no_reference);
        let notional = o.price * o.qty as f64;
        fresh.size(&spec, o.qty, notional)?;
        fresh.exposure(&spec, o, o.qty, notional, (0, 0.0), 1)?;
        match self.book_index(o.symbol_id) {
            Some(i) => self.take_new_exact(i, o),
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
        let (b, spec) = (&self.books[i], &self.specs[i]);
        // The order's own size limits are for its whole quantity; the rest for what it leaves.
        b.size(spec, new.qty, new.price * new.qty as f64)?;
        b.exposure(spec, new, new_leaves, new.price * new_leaves as f64, held, 0)
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
                fresh = Book::new(o.symbol_id, &Limits::default(), self.settings.no_reference).0;
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
            RejectReason::MaxOpenOrders => f64::from(b.open_orders().saturating_add(more)),
            RejectReason::MaxPosition => {
                let signed = if s == 0 { i128::from(b.position) } else { -i128::from(b.position) };
                let exposure = b.open_qty[s].saturating_sub(held.0).saturating_add(leaves);
                (signed + i128::from(exposure)) as f64
            }
            RejectReason::MaxDailyNotional => {
                b.day_notional + (b.open_notional - held.1).max(0.0) + o.price * leaves as f64
            }
            RejectReason::TooManySymbols => (self.order.len() + 1) as f64,
            _ => 0.0,
        }
    }

    /// An open order of `symbol` / `side` now books `new` instead of `old`.
    #[inline]
    pub fn rebook(&mut self, symbol: i32, side: char, old: (u64, f64), new: (u64, f64)) {
        if let Some(b) = self.book_mut(symbol) {
            b.rebook(side_index(side), old, new);
        }
    }

    /// An open order of `symbol` / `side` that booked `held` ended: released.
    #[inline]
    pub fn close(&mut self, symbol: i32, side: char, held: (u64, f64)) {
        if let Some(b) = self.book_mut(symbol) {
            b.close(side_index(side), held);
        }
    }

    /// A fill of `qty` at `px` of an order of `symbol` / `side`: the position, the day's
    /// notional and the reference price move.
    #[inline]
    pub fn fill(&mut self, symbol: i32, side: char, qty: u64, px: f64) {
        if let Some(i) = self.lookup(symbol) {
            let (b, spec) = (&mut self.books[i], &self.specs[i]);
            let q = i64::try_from(qty).unwrap_or(i64::MAX);
            b.position = if side_index(side) == 0 {
                b.position.saturating_add(q)
            } else {
                b.position.saturating_sub(q)
            };
            b.day_notional += px * qty as f64;
            b.set_reference(spec, px);
            b.refresh_room();
        }
    }

    /// A logon: the day's notional starts again, unless the logon continues the session a
    /// restart interrupted ([`Risk::continue_day`]).
    pub fn new_day(&mut self) {
        if std::mem::take(&mut self.continue_day) {
            return;
        }
        for &b in &self.order {
            self.books[b as usize].day_notional = 0.0;
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
            let (b, spec) = (&mut self.books[i], &self.specs[i]);
            (b.position, b.day_notional) = (position, day_notional);
            b.set_reference(spec, reference);
            b.refresh_room();
        }
    }

    /// `symbol`'s reference price is `price` (a `reference` request), its book made now if it
    /// has none and the table has room.
    pub fn set_reference(&mut self, symbol: i32, price: f64) {
        if let Some(i) = self.book_index(symbol) {
            self.books[i].set_reference(&self.specs[i], price);
        }
    }

    /// Books an order restored open (recovery), holding `held`.
    pub fn restore_open(&mut self, o: &OrderRequest, held: (u64, f64)) {
        if let Some(i) = self.book_index(o.symbol_id) {
            let b = &mut self.books[i];
            b.count_open(1);
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
mod tests;
