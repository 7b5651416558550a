//! The orders at the exchange, by order id: each from its send until its life ends (filled,
//! cancelled, rejected, expired, or unanswered at shutdown), with its [`OrderLife`].
//!
//! A [`Slab`] like the queue's: O(1) insert at the send, O(1) lookup for each answer (a fill,
//! a cancel or replace carried out or refused), O(1) removal when the life ends, and a walk at
//! shutdown to record what is still open. Ids of orders sent in a row are usually sequential
//! and answered roughly in send order, so the index keeps 16 consecutive ids in one cache line
//! ([`Layout::Grouped`]). The table counts the orders whose first answer is awaited: sending
//! pauses at `max_in_flight` of them, and at a full table.

use crate::model::{OrderLife, OrderRequest, OrderState, Waiting};
use crate::slab::{Layout, NIL, Slab, SlabEntry, SlabFull, VacantEntry};

/// An order at the exchange.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct OpenOrder {
    /// Its id, symbol and side; the price and quantity of the version that is live.
    pub order: OrderRequest,
    /// The producer whose New request it is (its records carry it).
    pub producer: u16,
    /// When it was sent (monotonic ns): its first answer's round trip counts from here.
    pub sent_ns: u64,
    /// Where it stands.
    pub life: OrderLife,
    /// When the pending cancel or replace was sent (monotonic ns): its round trip counts from
    /// here.
    pub request_ns: u64,
    /// A cancel or replace taken and waiting for a permit.
    pub waiting: Waiting,
    /// When the waiting cancel arrived (monotonic ns), for its time inside the OMS.
    pub wait_ns: u64,
    /// The producer whose Cancel waits (its records carry it).
    pub wait_producer: u16,
    /// What it books against the risk limits (quantity, notional) while a replace of it is
    /// taken and not answered: the larger of its two versions; `(0, 0.0)` otherwise (it books
    /// its live version). See [`crate::risk`] and [`OpenOrder::held`].
    pub booked: (u64, f64),
}

impl OpenOrder {
    /// Order `order`, sent at `sent_ns` for `producer`: its first answer awaited.
    #[inline(always)]
    fn sent(order: OrderRequest, sent_ns: u64, producer: u16) -> OpenOrder {
        OpenOrder {
            order,
            producer,
            sent_ns,
            life: OrderLife::sent(order.price, order.qty),
            request_ns: 0,
            waiting: Waiting::Nothing,
            wait_ns: 0,
            wait_producer: 0,
            booked: (0, 0.0),
        }
    }

    /// What it books against the risk limits: `booked`, or else its live version's leaves
    /// (quantity less filled) at its price.
    #[inline]
    pub fn held(&self) -> (u64, f64) {
        crate::risk::held(self.booked, self.life.price(), self.life.qty().saturating_sub(self.life.cum_qty()))
    }

    /// The order as it is live: the live version's price and quantity.
    pub fn live(&self) -> OrderRequest {
        OrderRequest { price: self.life.price(), qty: self.life.qty(), ..self.order }
    }
}

impl Default for OpenOrder {
    fn default() -> Self {
        OpenOrder {
            order: OrderRequest::default(),
            producer: 0,
            sent_ns: 0,
            life: OrderLife::sent(0.0, 0),
            request_ns: 0,
            waiting: Waiting::Nothing,
            wait_ns: 0,
            wait_producer: 0,
            booked: (0, 0.0),
        }
    }
}

#[derive(Clone, Copy, Debug, Default)]
struct Slot {
    open: OpenOrder,
    next_free: u32,
    live: bool,
}

impl SlabEntry for Slot {
    const LAYOUT: Layout = Layout::Grouped;
    #[inline]
    fn key(&self) -> u64 {
        self.open.order.order_id
    }
    #[inline]
    fn next_free(&self) -> u32 {
        self.next_free
    }
    #[inline]
    fn set_next_free(&mut self, next: u32) {
        self.next_free = next;
        self.live = false;
    }
}

/// An order id not at the exchange, with the place the lookup that found it absent has for
/// it: the duplicate check of a New order and the record of its send in one lookup. It holds
/// the table borrowed (nothing can change it in between).
#[derive(Debug)]
pub struct Vacancy<'a> {
    entry: VacantEntry<'a, Slot>,
    awaiting: &'a mut usize,
}

impl Vacancy<'_> {
    /// Orders whose first answer is awaited.
    #[inline(always)]
    pub fn awaiting(&self) -> usize {
        *self.awaiting
    }

    /// Whether the table is full.
    #[inline(always)]
    pub fn is_full(&self) -> bool {
        self.entry.slab().is_full()
    }

    /// Records the send of `order` (the id looked up) at `sent_ns` for `producer`.
    #[inline(always)]
    pub fn insert(self, order: OrderRequest, sent_ns: u64, producer: u16) -> Result<(), SlabFull> {
        let open = OpenOrder::sent(order, sent_ns, producer);
        self.entry.insert(Slot { open, next_free: NIL, live: true })?;
        *self.awaiting += 1;
        Ok(())
    }
}

/// The table of orders at the exchange.
#[derive(Debug)]
pub struct OpenOrders {
    slab: Slab<Slot>,
    /// Orders whose first answer is awaited (state `sent`).
    awaiting: usize,
    /// Orders with a cancel or replace pending at the exchange.
    pending: usize,
}

/// How an order in `state` counts: (awaiting its first answer, a request pending).
fn counts(state: OrderState) -> (usize, usize) {
    match state {
        OrderState::Sent => (1, 0),
        OrderState::PendingCancel | OrderState::PendingReplace => (0, 1),
        _ => (0, 0),
    }
}

impl OpenOrders {
    /// A table for up to `capacity` orders at the exchange, allocated now.
    pub fn with_capacity(capacity: usize) -> Self {
        OpenOrders { slab: Slab::with_capacity(capacity), awaiting: 0, pending: 0 }
    }

    /// Orders at the exchange.
    #[inline]
    pub fn len(&self) -> usize {
        self.slab.len()
    }

    /// Whether none is.
    #[inline]
    pub fn is_empty(&self) -> bool {
        self.slab.is_empty()
    }

    /// Whether the table is full (sending must pause).
    #[inline]
    pub fn is_full(&self) -> bool {
        self.slab.is_full()
    }

    /// Orders whose first answer is awaited.
    #[inline]
    pub fn awaiting(&self) -> usize {
        self.awaiting
    }

    /// Orders with a cancel or replace pending at the exchange.
    #[inline]
    pub fn pending(&self) -> usize {
        self.pending
    }

    /// Whether order `id` is at the exchange.
    #[inline]
    pub fn contains(&self, id: u64) -> bool {
        !self.is_empty() && self.slab.find(id).is_some()
    }

    /// Order `id`, if it is at the exchange.
    #[inline(always)]
    pub fn get(&self, id: u64) -> Option<&OpenOrder> {
        if self.is_empty() {
            return None;
        }
        self.slab.find(id).map(|slot| &self.slab.get(slot).open)
    }

    /// Applies `f` to order `id` if it is at the exchange, keeping the count of orders awaiting
    /// their first answer; `f`'s result.
    #[inline(always)]
    pub fn update<R>(&mut self, id: u64, f: impl FnOnce(&mut OpenOrder) -> R) -> Option<R> {
        if self.is_empty() {
            return None;
        }
        let slot = self.slab.find(id)?;
        let open = &mut self.slab.get_mut(slot).open;
        let was = counts(open.life.state());
        let r = f(open);
        let is = counts(open.life.state());
        self.awaiting = self.awaiting + is.0 - was.0;
        self.pending = self.pending + is.1 - was.1;
        Some(r)
    }

    /// The first answer for order `id` if it awaits one: accepted, the order is working;
    /// refused, it is rejected (the caller removes it). Returns the order as sent, its send time and producer;
    /// `None` if `id` is not awaiting its first answer (the table is unchanged).
    #[inline(always)]
    pub fn first_answer(&mut self, id: u64, accepted: bool) -> Option<(OrderRequest, u64, u16)> {
        if self.awaiting == 0 {
            return None;
        }
        let slot = self.slab.find(id)?;
        let open = &mut self.slab.get_mut(slot).open;
        if open.life.state() != OrderState::Sent {
            return None;
        }
        let answered = (open.order, open.sent_ns, open.producer);
        self.awaiting -= 1;
        let _ = if accepted { open.life.accept() } else { open.life.reject() };
        Some(answered)
    }

    /// Records a send. The caller guarantees `order.order_id` is not at the exchange.
    #[inline(always)]
    pub fn insert(&mut self, order: OrderRequest, sent_ns: u64, producer: u16) -> Result<(), SlabFull> {
        self.restore(OpenOrder::sent(order, sent_ns, producer))
    }

    /// `None` if order `id` is at the exchange; else its [`Vacancy`], which records its send
    /// without another lookup.
    #[inline(always)]
    pub fn vacancy(&mut self, id: u64) -> Option<Vacancy<'_>> {
        let OpenOrders { slab, awaiting, .. } = self;
        slab.entry(id).err().map(|entry| Vacancy { entry, awaiting })
    }

    /// Puts back an order as it stood (recovery). The caller guarantees its id is not here.
    #[inline(always)]
    pub fn restore(&mut self, open: OpenOrder) -> Result<(), SlabFull> {
        self.slab.insert(Slot { open, next_free: NIL, live: true })?;
        let (awaiting, pending) = counts(open.life.state());
        (self.awaiting, self.pending) = (self.awaiting + awaiting, self.pending + pending);
        Ok(())
    }

    /// Removes order `id` (its life ended).
    #[inline(always)]
    pub fn remove(&mut self, id: u64) -> Option<OpenOrder> {
        let (_, slot) = self.slab.remove(id)?;
        let (awaiting, pending) = counts(slot.open.life.state());
        (self.awaiting, self.pending) = (self.awaiting - awaiting, self.pending - pending);
        Some(slot.open)
    }

    /// Calls `f` on every order at the exchange, in table order (a walk of the whole table: off
    /// the order path). `f` must not change an order's life (the counts follow it).
    pub fn for_each_mut(&mut self, mut f: impl FnMut(&mut OpenOrder)) {
        for i in 0..self.slab.capacity() as u32 {
            let slot = self.slab.get_mut(i);
            if slot.live {
                let state = slot.open.life.state();
                f(&mut slot.open);
                debug_assert_eq!(state, slot.open.life.state(), "for_each_mut changed an order's life");
            }
        }
    }

    /// Every order still at the exchange, oldest send first, removed (shutdown; allocates).
    pub fn drain_by_send_time(&mut self) -> Vec<OpenOrder> {
        let mut out: Vec<OpenOrder> = (0..self.slab.capacity() as u32)
            .map(|i| *self.slab.get(i))
            .filter(|s| s.live)
            .map(|s| s.open)
            .collect();
        out.sort_by_key(|o| (o.sent_ns, o.order.order_id));
        self.slab.clear();
        (self.awaiting, self.pending) = (0, 0);
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Side;

    #[test]
    fn orders_stay_until_their_life_ends_and_the_awaiting_count_follows() {
        let mut t = OpenOrders::with_capacity(2);
        t.insert(OrderRequest::new(1, 1, Side::Buy, 1.0, 5), 100, 0).unwrap();
        t.insert(OrderRequest::new(2, 1, Side::Sell, 1.0, 5), 50, 0).unwrap();
        assert!(t.is_full() && t.awaiting() == 2);
        assert!(t.insert(OrderRequest::new(3, 1, Side::Sell, 1.0, 1), 60, 0).is_err());
        assert_eq!(t.update(1, |o| o.life.accept()), Some(Ok(())));
        assert_eq!((t.len(), t.awaiting()), (2, 1), "accepted: still open, no longer awaited");
        t.update(1, |o| o.life.fill(2, 1.0).map(drop)).unwrap().unwrap();
        assert_eq!(t.get(1).map(|o| o.live().qty), Some(5));
        assert_eq!(t.remove(2).map(|o| o.sent_ns), Some(50));
        assert_eq!((t.len(), t.awaiting()), (1, 0));
        assert!(t.remove(2).is_none() && t.update(2, |_| ()).is_none());
        t.insert(OrderRequest::new(3, 1, Side::Sell, 1.0, 1), 10, 0).unwrap();
        let left: Vec<u64> = t.drain_by_send_time().iter().map(|o| o.order.order_id).collect();
        assert_eq!(left, [3, 1]);
        assert!(t.is_empty() && t.awaiting() == 0);
    }
}
