//! An order's life as one state machine: the engine keeps one per order at the exchange, and
//! every reader of the journal (recovery, the outcomes follower, the audit) replays the same
//! transitions from the records, so they cannot disagree about where an order stands.
//!
//! ```text
//! queued ──send──> sent ──accept──> working ──fill──> partially filled ──fill──> filled
//!   │                │                 │  │                 │
//!   │                └─reject─> rejected   │                 │   (from working or partially filled:)
//!   │                                      ├─cancel sent──> pending cancel ──cancelled──> cancelled
//!   │                                      │                      └─cancel rejected──> back
//!   │                                      ├─replace sent─> pending replace ─replaced──> working (new version)
//!   │                                      │                      └─replace rejected─> back
//!   │                                      └─expired──> expired (done for the day at the venue)
//!   └─cancelled / rejected (local)                 sent, working, pending ─end of session─> unanswered
//! ```
//!
//! A fill may come while a cancel or replace is pending (the exchange filled first). A fill for
//! the old version after a replace was sent is applied to the old version's terms: an order is
//! never filled beyond the quantity of the version that was live (leaves = qty − cum). A
//! replace that would set the quantity at or below what is already filled is refused before it
//! is sent; one acknowledged after fills that reached its quantity leaves the order filled.
//! One cancel or replace is pending at a time. A report that does not fit the state (a fill for
//! a cancelled order, a replace acknowledgment with none pending, an overfill) is refused with a
//! [`Unexpected`] and changes nothing: the caller records it as such.
//!
//! Fill prices are kept exactly: the notional is an integer of nano-units (`qty · round(px ·
//! 10⁹)` summed in `i128`), so the average price has no float drift however many fills.

wire_enum! {
    /// Where an order stands.
    pub enum OrderState {
        /// Waiting in the engine's queue for a permit (local).
        Queued = 1 => "queued",
        /// Sent; its first answer is awaited (pending new).
        Sent = 2 => "sent",
        /// Accepted by the exchange, nothing filled.
        Working = 3 => "working",
        /// Accepted, filled in part.
        PartiallyFilled = 4 => "partially_filled",
        /// A cancel was sent and is not answered yet.
        PendingCancel = 5 => "pending_cancel",
        /// A replace was sent and is not answered yet.
        PendingReplace = 6 => "pending_replace",
        /// Filled in full. Final.
        Filled = 7 => "filled",
        /// Cancelled, in the queue or at the exchange. Final.
        Cancelled = 8 => "cancelled",
        /// Refused, by the engine or the exchange. Final.
        Rejected = 9 => "rejected",
        /// Done for the day, or expired, at the venue. Final.
        Expired = 10 => "expired",
        /// The session ended with the order still open at the exchange, its fate unknown. Final.
        Unanswered = 11 => "unanswered",
    }
}

wire_enum! {
    /// Which answer about an order an exchange gave (an `unexpected_report` record says which
    /// did not fit).
    pub enum AnswerKind {
        /// The first answer: accepted or rejected.
        Response = 1 => "response",
        /// A fill.
        Fill = 2 => "fill",
        /// A cancel carried out.
        Cancelled = 3 => "cancelled",
        /// A replace carried out.
        Replaced = 4 => "replaced",
        /// A cancel or replace refused.
        CancelRejected = 5 => "cancel_rejected",
        /// Done for the day.
        Expired = 6 => "expired",
    }
}

impl OrderState {
    /// Whether nothing more happens to the order.
    pub const fn is_final(self) -> bool {
        matches!(
            self,
            OrderState::Filled
                | OrderState::Cancelled
                | OrderState::Rejected
                | OrderState::Expired
                | OrderState::Unanswered
        )
    }

    /// Whether the order is at the exchange and may trade (working, filled in part, or with a
    /// cancel or replace pending).
    pub const fn is_open(self) -> bool {
        matches!(
            self,
            OrderState::Working
                | OrderState::PartiallyFilled
                | OrderState::PendingCancel
                | OrderState::PendingReplace
        )
    }
}

/// A cancel or replace of an open order that the engine took and that waits for a throttle
/// permit (`cancel_queued`, `replace_queued`): a second request for the order is refused while
/// it waits, as while a request is pending at the exchange.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Waiting {
    /// Nothing waits.
    #[default]
    Nothing,
    /// A cancel waits, ahead of the queue.
    Cancel,
    /// A replace waits in the queue, among the New orders.
    Replace,
}

/// Why a request about an order is refused before anything goes to the exchange.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Refusal {
    /// The order is not open at the exchange (its first answer is awaited, or it is final).
    NotOpen,
    /// A cancel or replace is pending: one at a time.
    Pending,
    /// A replace to a quantity at or below what is already filled.
    BelowFilled,
}

/// A report that does not fit the order's state; nothing changed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Unexpected {
    /// The state the order was in.
    pub state: OrderState,
    /// What came.
    pub what: &'static str,
}

/// What a fill did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Filled {
    /// Filled in part: this much is left.
    Partly {
        /// Quantity still open.
        leaves: u64,
    },
    /// Filled in full.
    Fully,
}

/// An order's life: its state, the live version's price and quantity, what is filled, and the
/// cancel or replace pending. The transitions are drawn at the top of `src/model/life.rs`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct OrderLife {
    state: OrderState,
    price: f64,
    qty: u64,
    cum_qty: u64,
    /// Σ last qty × round(last px · 10⁹).
    notional: i128,
    /// The replacement's price, while a replace is pending.
    replacement_price: f64,
    /// The replacement's quantity, while a replace is pending (0: none; a replace always asks
    /// for more than is filled, so never 0). Two plain fields rather than an `Option` keep the
    /// life in 64 bytes, which the open-order table copies on every send.
    replacement_qty: u64,
    /// The state before the pending cancel or replace (to return to when it is refused).
    before: OrderState,
}

/// A price in nano-units (`round(px · 10⁹)`), saturating for absurd prices.
fn nanos(px: f64) -> i128 {
    (px * 1e9).round() as i128
}

impl OrderLife {
    /// An order waiting in the queue at `price` for `qty`.
    pub const fn queued(price: f64, qty: u64) -> OrderLife {
        OrderLife::at(OrderState::Queued, price, qty)
    }

    /// An order sent at `price` for `qty`, its first answer awaited.
    pub const fn sent(price: f64, qty: u64) -> OrderLife {
        OrderLife::at(OrderState::Sent, price, qty)
    }

    const fn at(state: OrderState, price: f64, qty: u64) -> OrderLife {
        OrderLife {
            state,
            price,
            qty,
            cum_qty: 0,
            notional: 0,
            replacement_price: 0.0,
            replacement_qty: 0,
            before: state,
        }
    }

    /// Where the order stands.
    pub const fn state(&self) -> OrderState {
        self.state
    }

    /// The live version's price.
    pub const fn price(&self) -> f64 {
        self.price
    }

    /// The live version's quantity.
    pub const fn qty(&self) -> u64 {
        self.qty
    }

    /// Quantity filled so far.
    pub const fn cum_qty(&self) -> u64 {
        self.cum_qty
    }

    /// Quantity still open (0 once final).
    pub const fn leaves(&self) -> u64 {
        if self.state.is_final() { 0 } else { self.qty.saturating_sub(self.cum_qty) }
    }

    /// The average fill price (exact to the nano-unit), if anything is filled.
    pub fn avg_price(&self) -> Option<f64> {
        (self.cum_qty > 0).then(|| (self.notional / i128::from(self.cum_qty)) as f64 / 1e9)
    }

    /// The replacement (price, quantity) asked for while a replace is pending.
    pub const fn replacement(&self) -> Option<(f64, u64)> {
        if self.replacement_qty == 0 { None } else { Some((self.replacement_price, self.replacement_qty)) }
    }

    const fn clear_replacement(&mut self) {
        self.replacement_qty = 0;
    }

    fn unexpected(&self, what: &'static str) -> Unexpected {
        Unexpected { state: self.state, what }
    }

    /// A queued order's price and quantity replaced in the queue.
    pub fn modify_queued(&mut self, price: f64, qty: u64) -> Result<(), Unexpected> {
        if self.state != OrderState::Queued {
            return Err(self.unexpected("a modify in the queue"));
        }
        (self.price, self.qty) = (price, qty);
        Ok(())
    }

    /// The queued order goes to the exchange.
    pub fn send(&mut self) -> Result<(), Unexpected> {
        if self.state != OrderState::Queued {
            return Err(self.unexpected("a send"));
        }
        self.state = OrderState::Sent;
        Ok(())
    }

    /// The first answer: accepted.
    pub fn accept(&mut self) -> Result<(), Unexpected> {
        if self.state != OrderState::Sent {
            return Err(self.unexpected("an acceptance"));
        }
        self.state = OrderState::Working;
        Ok(())
    }

    /// Refused: by the exchange (its first answer), or by the engine while queued.
    pub fn reject(&mut self) -> Result<(), Unexpected> {
        if !matches!(self.state, OrderState::Sent | OrderState::Queued) {
            return Err(self.unexpected("a rejection"));
        }
        self.state = OrderState::Rejected;
        Ok(())
    }

    /// Cancelled in the queue (local).
    pub fn cancel_queued(&mut self) -> Result<(), Unexpected> {
        if self.state != OrderState::Queued {
            return Err(self.unexpected("a cancel in the queue"));
        }
        self.state = OrderState::Cancelled;
        Ok(())
    }

    /// A fill of `last_qty` at `last_px` of an open order (its first answer comes before: a
    /// fill of an order awaiting it does not fit); one that would take the order beyond the
    /// live version's quantity does not fit either.
    pub fn fill(&mut self, last_qty: u64, last_px: f64) -> Result<Filled, Unexpected> {
        let open = self.state.is_open();
        if !open || last_qty == 0 {
            return Err(self.unexpected(if last_qty == 0 { "a fill of nothing" } else { "a fill" }));
        }
        let cum = self.cum_qty.checked_add(last_qty).filter(|c| *c <= self.qty);
        let Some(cum) = cum else { return Err(self.unexpected("an overfill")) };
        self.cum_qty = cum;
        self.notional += i128::from(last_qty) * nanos(last_px);
        if cum == self.qty {
            self.state = OrderState::Filled;
            self.clear_replacement();
            return Ok(Filled::Fully);
        }
        match self.state {
            OrderState::Working => self.state = OrderState::PartiallyFilled,
            // A pending request goes on; refused, it returns to "filled in part".
            OrderState::PendingCancel | OrderState::PendingReplace => {
                self.before = OrderState::PartiallyFilled
            }
            _ => {}
        }
        Ok(Filled::Partly { leaves: self.qty - cum })
    }

    /// Whether a cancel may be sent now.
    pub fn may_cancel(&self) -> Result<(), Refusal> {
        match self.state {
            OrderState::Working | OrderState::PartiallyFilled => Ok(()),
            OrderState::PendingCancel | OrderState::PendingReplace | OrderState::Sent => {
                Err(Refusal::Pending)
            }
            _ => Err(Refusal::NotOpen),
        }
    }

    /// Whether a replace to `qty` may be sent now.
    pub fn may_replace(&self, qty: u64) -> Result<(), Refusal> {
        self.may_cancel()?;
        if qty <= self.cum_qty { Err(Refusal::BelowFilled) } else { Ok(()) }
    }

    /// A cancel went to the exchange.
    pub fn cancel_sent(&mut self) -> Result<(), Refusal> {
        self.may_cancel()?;
        (self.before, self.state) = (self.state, OrderState::PendingCancel);
        Ok(())
    }

    /// A replace to `price` / `qty` went to the exchange.
    pub fn replace_sent(&mut self, price: f64, qty: u64) -> Result<(), Refusal> {
        self.may_replace(qty)?;
        (self.before, self.state) = (self.state, OrderState::PendingReplace);
        (self.replacement_price, self.replacement_qty) = (price, qty);
        Ok(())
    }

    /// The exchange cancelled the order: our cancel acknowledged, or on its own (an unsolicited
    /// cancel of an open order).
    pub fn cancelled(&mut self) -> Result<(), Unexpected> {
        if !self.state.is_open() && self.state != OrderState::Sent {
            return Err(self.unexpected("a cancellation"));
        }
        self.state = OrderState::Cancelled;
        self.clear_replacement();
        Ok(())
    }

    /// The exchange confirmed the pending replace: the new version is live. If fills meanwhile
    /// reached its quantity, the order is filled.
    pub fn replaced(&mut self) -> Result<(), Unexpected> {
        let Some((price, qty)) = self.replacement().filter(|_| self.state == OrderState::PendingReplace)
        else {
            return Err(self.unexpected("a replace acknowledgment"));
        };
        // Fills that came for the old version while the replace was on its way may already
        // reach the new quantity: the order is then done (filled), with more filled than the
        // new version asks for, every fill within the version live when it came.
        (self.price, self.qty) = (price, qty);
        self.clear_replacement();
        self.state = if self.cum_qty >= qty {
            OrderState::Filled
        } else if self.cum_qty > 0 {
            OrderState::PartiallyFilled
        } else {
            OrderState::Working
        };
        Ok(())
    }

    /// The exchange refused the pending cancel or replace: back to where the order was.
    pub fn cancel_rejected(&mut self) -> Result<(), Unexpected> {
        if !matches!(self.state, OrderState::PendingCancel | OrderState::PendingReplace) {
            return Err(self.unexpected("a cancel reject"));
        }
        self.state = self.before;
        self.clear_replacement();
        Ok(())
    }

    /// Done for the day, or expired, at the venue.
    pub fn expired(&mut self) -> Result<(), Unexpected> {
        if !self.state.is_open() && self.state != OrderState::Sent {
            return Err(self.unexpected("an expiry"));
        }
        self.state = OrderState::Expired;
        self.clear_replacement();
        Ok(())
    }

    /// The session ended with the order still at the exchange, unanswered.
    pub fn unanswered(&mut self) -> Result<(), Unexpected> {
        if !self.state.is_open() && self.state != OrderState::Sent {
            return Err(self.unexpected("unanswered"));
        }
        self.state = OrderState::Unanswered;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn the_happy_life_of_an_order() {
        let mut o = OrderLife::queued(100.0, 10);
        o.modify_queued(101.0, 12).unwrap();
        o.send().unwrap();
        o.accept().unwrap();
        assert_eq!(o.fill(5, 101.0), Ok(Filled::Partly { leaves: 7 }));
        assert_eq!(o.state(), OrderState::PartiallyFilled);
        assert_eq!(o.fill(7, 100.5), Ok(Filled::Fully));
        assert_eq!((o.state(), o.cum_qty(), o.leaves()), (OrderState::Filled, 12, 0));
        // (5 · 101 + 7 · 100.5) / 12, exact to the nano-unit.
        assert_eq!(o.avg_price(), Some(100.708333333));
        assert!(o.fill(1, 1.0).is_err(), "nothing after the last fill");
    }

    #[test]
    fn a_replace_down_to_less_than_the_old_version_filled_meanwhile_leaves_the_order_done() {
        let mut o = OrderLife::sent(100.0, 7);
        o.accept().unwrap();
        o.replace_sent(99.0, 1).unwrap();
        o.fill(2, 100.0).unwrap(); // on the old version's terms: 2 of 7
        o.replaced().unwrap();
        assert_eq!((o.state(), o.cum_qty(), o.qty(), o.leaves()), (OrderState::Filled, 2, 1, 0));
        assert!(o.accept().is_err() && o.fill(1, 99.0).is_err(), "done: nothing more");
    }

    #[test]
    fn a_fill_on_the_old_version_after_a_replace_was_sent() {
        let mut o = OrderLife::sent(100.0, 10);
        o.accept().unwrap();
        o.fill(4, 100.0).unwrap();
        assert_eq!(o.may_replace(4), Err(Refusal::BelowFilled));
        o.replace_sent(99.0, 6).unwrap();
        assert_eq!(o.may_cancel(), Err(Refusal::Pending), "one request at a time");
        // The old version (10) trades on: 6 more fills it.
        assert_eq!(o.fill(6, 100.0), Ok(Filled::Fully));
        assert_eq!(o.replaced().map_err(|m| m.what), Err("a replace acknowledgment"));
        // Another order: the replace is acknowledged after fills that reach its quantity.
        let mut o = OrderLife::sent(100.0, 10);
        o.accept().unwrap();
        o.replace_sent(99.0, 6).unwrap();
        assert_eq!(o.fill(7, 100.0), Ok(Filled::Partly { leaves: 3 }), "on the old terms");
        o.replaced().unwrap();
        assert_eq!((o.state(), o.qty(), o.leaves()), (OrderState::Filled, 6, 0));
    }

    #[test]
    fn refused_requests_return_the_order_to_where_it_was() {
        let mut o = OrderLife::sent(100.0, 10);
        assert_eq!(o.may_cancel(), Err(Refusal::Pending), "the first answer is awaited");
        o.accept().unwrap();
        o.cancel_sent().unwrap();
        o.fill(3, 100.0).unwrap();
        o.cancel_rejected().unwrap();
        assert_eq!(o.state(), OrderState::PartiallyFilled);
        o.cancel_sent().unwrap();
        o.cancelled().unwrap();
        assert_eq!((o.state(), o.leaves()), (OrderState::Cancelled, 0));
        assert!(o.cancelled().is_err() && o.fill(1, 1.0).is_err() && o.replaced().is_err());
        assert_eq!(o.may_cancel(), Err(Refusal::NotOpen));
    }

    #[test]
    fn overfills_and_fills_of_nothing_change_nothing() {
        let mut o = OrderLife::sent(10.0, 5);
        o.accept().unwrap();
        let before = o;
        assert_eq!(o.fill(6, 10.0).map_err(|m| m.what), Err("an overfill"));
        assert_eq!(o.fill(0, 10.0).map_err(|m| m.what), Err("a fill of nothing"));
        assert_eq!(o, before);
    }

    /// What may happen to an order, in any order.
    #[derive(Clone, Copy, Debug)]
    enum Step {
        Accept,
        Reject,
        Fill(u64),
        Cancel,
        Replace(u64),
        Cancelled,
        Replaced,
        CancelRejected,
        Expired,
    }

    fn step() -> impl Strategy<Value = Step> {
        prop_oneof![
            Just(Step::Accept),
            Just(Step::Reject),
            (0..8u64).prop_map(Step::Fill),
            Just(Step::Cancel),
            (1..15u64).prop_map(Step::Replace),
            Just(Step::Cancelled),
            Just(Step::Replaced),
            Just(Step::CancelRejected),
            Just(Step::Expired),
        ]
    }

    proptest! {
        /// Random interleavings of fills, cancels and replaces: never filled beyond the live
        /// version's quantity, a refused or misfit step changes nothing, a final state stays
        /// final, and the fills add up.
        #[test]
        fn never_overfilled_and_final_stays_final(qty in 1..12u64, steps in prop::collection::vec(step(), 0..40)) {
            let mut o = OrderLife::sent(100.0, qty);
            let mut filled = 0u64;
            for s in steps {
                let before = o;
                let changed = match s {
                    Step::Accept => o.accept().is_ok(),
                    Step::Reject => o.reject().is_ok(),
                    Step::Fill(n) => o.fill(n, 100.0).inspect(|_| filled += n).is_ok(),
                    Step::Cancel => o.cancel_sent().is_ok(),
                    Step::Replace(n) => o.replace_sent(99.0, n).is_ok(),
                    Step::Cancelled => o.cancelled().is_ok(),
                    Step::Replaced => o.replaced().is_ok(),
                    Step::CancelRejected => o.cancel_rejected().is_ok(),
                    Step::Expired => o.expired().is_ok(),
                };
                if !changed {
                    prop_assert_eq!(o, before, "a refused step changes nothing");
                }
                if before.state().is_final() {
                    prop_assert_eq!(o, before, "final stays final");
                }
                // A fill is applied on the terms of the version live when it comes.
                if changed && matches!(s, Step::Fill(_)) {
                    prop_assert!(o.cum_qty() <= before.qty(), "filled beyond the live version");
                }
                prop_assert_eq!(o.cum_qty(), filled);
                if o.state() == OrderState::Filled {
                    prop_assert!(o.cum_qty() >= o.qty());
                }
            }
        }
    }
}
