//! One symbol's book: its limits in the form the checks read, and what is open and filled.
//!
//! A New's check is a few compares on the book's first cache line ([`Book::take_new`]): the
//! limits are derived when the book is made or its reference moves, so that the check divides
//! nothing, converts nothing but the quantity, and branches only to refuse. What it passes the
//! exact checks ([`Book::size`], [`Book::exposure`], the rules [`crate::risk`] states) pass
//! too; what it does not pass goes to them, which give the reason (or pass it after all: the
//! fast check is allowed to be narrower, never wider).

use crate::model::{OrderRequest, RejectReason, Side};

use super::{Limits, NoReference};

/// One symbol's limits and state. The first 64 bytes are what a New's check reads and its
/// booking writes (but the open quantity and the day's notional, in the second 64); the book is
/// aligned to 128 so that both lines are one pair.
#[derive(Clone, Copy, Debug)]
#[repr(C, align(128))]
pub struct Book {
    // The first cache line.
    /// The symbol (in an empty bucket of the table, one whose own bucket is another).
    pub symbol: i32,
    /// `max_open_orders` (at most `i32::MAX`: the engine holds at most 2^26 live orders) less
    /// the orders open (queued or at the exchange), at least `i32::MIN`; ≤ 0: none may open.
    open_room: i32,
    /// `max_order_qty`, at most `i64::MAX` (a quantity within it converts to `f64` as an `i64`:
    /// one instruction, the same value); a larger quantity takes the exact checks.
    qty_cap: u64,
    max_notional: f64,
    /// The prices the band passes: exactly those of [`Book::band`] ([`band_interval`]); with no
    /// reference `[0, ∞]`, or empty if the policy refuses.
    lo: f64,
    hi: f64,
    /// What a New of each side may still add before `max_position`: the limit less the
    /// position (signed for the side) less the side's open quantity, 0 if that is negative
    /// (exact: i128). Kept by every change of the position or the open quantity, so a New's
    /// check of the position is one compare ([`Book::refresh_room`]).
    room: [u64; 2],
    /// Notional booked by open orders.
    pub open_notional: f64,
    // The second cache line.
    /// Notional filled since the session's logon.
    pub day_notional: f64,
    max_daily: f64,
    /// Quantity booked by open orders, buy side and sell side.
    pub open_qty: [u64; 2],
    /// Filled buys minus filled sells.
    pub position: i64,
    /// The last fill's price or the operator's reference (0: none yet).
    pub reference: f64,
    max_position: i64,
    /// `max_open_orders`, at most `i32::MAX`.
    max_open: i32,
}

/// What of a book's limits only its cold paths read: the exact order size, the band.
#[derive(Clone, Copy, Debug)]
pub(super) struct Spec {
    max_qty: u64,
    /// The band as a fraction of the reference (infinite: none).
    band: f64,
    /// A band is set and the policy refuses orders without a reference.
    refuse_unreferenced: bool,
}

#[inline(always)]
pub(super) fn side_index(side: char) -> usize {
    usize::from(side == Side::Sell.as_char())
}

/// The side index of a valid New's side (`B` or `S`): the low bit of its character, one
/// instruction fewer than a compare.
#[inline(always)]
pub(super) fn valid_side_index(side: char) -> usize {
    const { assert!(Side::Buy.as_char() as u32 & 1 == 0 && Side::Sell.as_char() as u32 & 1 == 1) };
    debug_assert!(side == Side::Buy.as_char() || side == Side::Sell.as_char());
    (side as usize) & 1
}

/// The prices `p` with `|p − reference| ≤ band × reference` as [`Book::band`] computes it (in
/// `f64`, the same roundings), `reference > 0`: an interval, since `p − reference` rounds
/// monotonically in `p`. Its ends are found from `reference ∓ band × reference` by stepping
/// one representable number at a time (a step or two): each end passes, and the next number
/// out does not, unless four steps did not find it (then the interval is narrower than the
/// band, which is allowed: the exact check decides what is outside).
fn band_interval(reference: f64, band: f64) -> (f64, f64) {
    let width = band * reference;
    if !width.is_finite() {
        return (0.0, f64::INFINITY);
    }
    let passes = |p: f64| (p - reference).abs() <= width;
    let mut hi = (reference + width).min(f64::MAX);
    for _ in 0..4 {
        if !passes(hi.next_up()) || hi.next_up() == f64::INFINITY {
            break;
        }
        hi = hi.next_up();
    }
    while !passes(hi) {
        hi = hi.next_down(); // ends at `reference` at worst, which passes
    }
    let mut lo = reference - width;
    if lo <= 0.0 {
        return (0.0, hi); // every positive price below the reference passes
    }
    for _ in 0..4 {
        if !passes(lo.next_down()) || lo.next_down() <= 0.0 {
            break;
        }
        lo = lo.next_down();
    }
    while !passes(lo) {
        lo = lo.next_up();
    }
    (lo, hi)
}

impl Book {
    pub(super) fn new(symbol: i32, l: &Limits, policy: NoReference) -> (Book, Spec) {
        let max_open = l.max_open_orders.map_or(i32::MAX, |m| i32::try_from(m).unwrap_or(i32::MAX));
        let max_qty = l.max_order_qty.unwrap_or(u64::MAX);
        let spec = Spec {
            max_qty,
            band: l.price_band_bps.map_or(f64::INFINITY, |b| f64::from(b) / 10_000.0),
            refuse_unreferenced: l.price_band_bps.is_some() && policy == NoReference::Refuse,
        };
        let mut book = Book {
            symbol,
            open_room: max_open,
            qty_cap: max_qty.min(i64::MAX as u64),
            max_notional: l.max_order_notional.unwrap_or(f64::INFINITY),
            lo: 0.0,
            hi: f64::INFINITY,
            room: [0; 2],
            open_notional: 0.0,
            day_notional: 0.0,
            max_daily: l.max_daily_notional.unwrap_or(f64::INFINITY),
            open_qty: [0; 2],
            position: 0,
            reference: 0.0,
            max_position: l.max_position.map_or(i64::MAX, |m| i64::try_from(m).unwrap_or(i64::MAX)),
            max_open,
        };
        book.refresh_room();
        book.set_reference(&spec, 0.0);
        (book, spec)
    }

    /// `max_order_qty`, at most `i64::MAX`.
    #[inline(always)]
    pub(super) fn qty_cap(&self) -> u64 {
        self.qty_cap
    }

    /// The room for open orders once one more is open, for a New the exact checks passed
    /// (`max_open_orders` then leaves room for it: at least 0).
    pub(super) fn open_orders_left(&self) -> i32 {
        debug_assert!(self.open_room > 0);
        self.open_room - 1
    }

    /// Orders open: queued or at the exchange.
    pub fn open_orders(&self) -> u32 {
        u32::try_from(i64::from(self.max_open) - i64::from(self.open_room)).unwrap_or(u32::MAX)
    }

    /// The reference price is `price` (0: none): the band's interval follows.
    pub(super) fn set_reference(&mut self, spec: &Spec, price: f64) {
        self.reference = price;
        (self.lo, self.hi) = if price > 0.0 {
            band_interval(price, spec.band)
        } else if spec.refuse_unreferenced {
            (f64::INFINITY, 0.0)
        } else {
            (0.0, f64::INFINITY)
        };
    }

    /// Recomputes `room` from the position and the open quantities (after any change of them
    /// but a New's booking, which takes its quantity from its side's room).
    pub(super) fn refresh_room(&mut self) {
        for s in 0..2 {
            let signed = if s == 0 { i128::from(self.position) } else { -i128::from(self.position) };
            let room = i128::from(self.max_position) - signed - i128::from(self.open_qty[s]);
            self.room[s] = u64::try_from(room.max(0)).unwrap_or(u64::MAX);
        }
    }

    /// One order more (`more` 1) or fewer (-1) open, the count kept within `0..` (and the
    /// room above `i32::MIN`).
    pub(super) fn count_open(&mut self, more: i32) {
        self.open_room = self.open_room.saturating_sub(more).clamp(i32::MIN + 1, self.max_open);
    }

    /// Checks a New on side `s` of `qty` at `price` (`notional`: their product) by the derived
    /// limits, one compare each, and books it if it passes them: one more open order, its
    /// quantity and notional. `true` (taken) implies the exact checks pass. The compares are
    /// the exact checks' own (`>`: a NaN passes both alike), but the band's low end (`>=`: one
    /// instruction fewer; a New's price is never NaN).
    #[inline(always)]
    #[allow(clippy::neg_cmp_op_on_partial_ord)] // `!(price >= lo)`: a NaN fails it, on purpose
    pub(super) fn take_new(&mut self, price: f64, qty: u64, notional: f64, s: usize) -> bool {
        // No overflow: `count_open` keeps the room above `i32::MIN`.
        let open_left = self.open_room - 1;
        if notional > self.max_notional
            || !(price >= self.lo)
            || price > self.hi
            || open_left < 0
            || qty > self.room[s]
            || self.day_notional + self.open_notional + notional > self.max_daily
        {
            return false;
        }
        self.book_new(s, qty, notional, open_left);
        true
    }

    /// Books a New on side `s` that passed, leaving `open_left` room for open orders.
    #[inline(always)]
    pub(super) fn book_new(&mut self, s: usize, qty: u64, notional: f64, open_left: i32) {
        debug_assert!(open_left >= 0 && qty <= self.room[s]);
        self.open_room = open_left;
        // No overflow: the quantity fits the room, which the open quantity leaves below the
        // limit less the position (at most 2^64 - 1).
        self.open_qty[s] += qty;
        self.room[s] -= qty;
        self.open_notional += notional;
    }

    /// The limits for order `o` leaving `leaves` (their notional `notional`) on this book, the
    /// order booking `held` already; `more` orders open if it is taken (1 for a New, 0 for a
    /// Modify). The order's own size (`max_order_qty`, `max_order_notional`) is the callers'.
    pub(super) fn exposure(
        &self,
        spec: &Spec,
        o: &OrderRequest,
        leaves: u64,
        notional: f64,
        held: (u64, f64),
        more: u32,
    ) -> Result<(), RejectReason> {
        self.band(spec, o.price)?;
        if i64::from(self.open_orders()) + i64::from(more) > i64::from(self.max_open) {
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
    fn band(&self, spec: &Spec, price: f64) -> Result<(), RejectReason> {
        if self.reference > 0.0 {
            if (price - self.reference).abs() > spec.band * self.reference {
                return Err(RejectReason::PriceBand);
            }
        } else if spec.refuse_unreferenced {
            return Err(RejectReason::NoReferencePrice);
        }
        Ok(())
    }

    /// The order's own size: quantity, then notional (`notional`: price × qty).
    pub(super) fn size(&self, spec: &Spec, qty: u64, notional: f64) -> Result<(), RejectReason> {
        if qty > spec.max_qty {
            return Err(RejectReason::MaxOrderQty);
        }
        if notional > self.max_notional {
            return Err(RejectReason::MaxOrderNotional);
        }
        Ok(())
    }

    /// An open order on side `s` now books `new` instead of `old`.
    pub(super) fn rebook(&mut self, s: usize, old: (u64, f64), new: (u64, f64)) {
        self.open_qty[s] = self.open_qty[s].saturating_add(new.0).saturating_sub(old.0);
        self.open_notional = (self.open_notional + new.1 - old.1).max(0.0);
        self.refresh_room();
    }

    /// An open order on side `s` that booked `held` ended: released.
    pub(super) fn close(&mut self, s: usize, held: (u64, f64)) {
        self.count_open(-1);
        self.open_qty[s] = self.open_qty[s].saturating_sub(held.0);
        self.open_notional =
            if self.open_orders() == 0 { 0.0 } else { (self.open_notional - held.1).max(0.0) };
        self.refresh_room();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_band_interval_is_the_exact_band() {
        for (reference, bps) in
            [(10.0, 100), (10.05, 1), (0.3, 7), (1e-300, 50), (123.456, 10_000), (7.0, 20_000)]
        {
            let band = f64::from(bps) / 10_000.0;
            let (lo, hi) = band_interval(reference, band);
            let passes = |p: f64| (p - reference).abs() <= band * reference;
            assert!(passes(lo) && passes(hi) && lo <= reference && reference <= hi);
            assert!(!passes(hi.next_up()), "{reference} {bps}: above {hi} passes");
            assert!(lo == 0.0 || !passes(lo.next_down()), "{reference} {bps}: below {lo} passes");
            let mut p = lo;
            for _ in 0..64 {
                assert!(passes(p));
                p = p.next_up();
            }
        }
        assert_eq!(band_interval(1e300, 1e10), (0.0, f64::INFINITY), "an infinite width");
    }
}
