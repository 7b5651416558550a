//! Orders sent to the exchange and not yet answered, by order id.
//!
//! A [`Slab`] of `(order, send time)`: O(1) insert at send, O(1) match-and-remove when the
//! response arrives (so a second response for the same order is `unmatched_response`), and a walk
//! at shutdown to record what is still unanswered.

use crate::model::OrderRequest;
use crate::slab::{Layout, NIL, Slab, SlabEntry, SlabFull};

/// A sent order awaiting its response.
#[derive(Clone, Copy, Debug, PartialEq, Default)]
pub struct SentOrder {
    /// The order as sent.
    pub order: OrderRequest,
    /// When it was sent (monotonic ns).
    pub sent_ns: u64,
    /// The producer whose New request it is (its records carry it).
    pub producer: u16,
}

#[derive(Clone, Copy, Debug)]
struct Slot {
    sent: SentOrder,
    next_free: u32,
    live: bool,
}

impl Default for Slot {
    fn default() -> Self {
        Slot { sent: SentOrder::default(), next_free: NIL, live: false }
    }
}

impl SlabEntry for Slot {
    #[inline]
    fn key(&self) -> u64 {
        self.sent.order.order_id
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

/// The in-flight table.
#[derive(Debug)]
pub struct InFlight {
    slab: Slab<Slot>,
}

impl InFlight {
    /// A table for up to `capacity` unanswered orders, allocated now.
    pub fn with_capacity(capacity: usize) -> Self {
        InFlight { slab: Slab::with_capacity(capacity, Layout::Grouped) }
    }

    /// Orders in flight.
    #[inline]
    pub fn len(&self) -> usize {
        self.slab.len()
    }

    /// Whether none is in flight.
    #[inline]
    pub fn is_empty(&self) -> bool {
        self.slab.is_empty()
    }

    /// Whether the table is full (sending must pause).
    #[inline]
    pub fn is_full(&self) -> bool {
        self.slab.is_full()
    }

    /// Whether order `id` is in flight.
    #[inline]
    pub fn contains(&self, id: u64) -> bool {
        !self.is_empty() && self.slab.find(id).is_some()
    }

    /// Records a send. The caller guarantees `order.order_id` is not in flight.
    #[inline]
    pub fn insert(&mut self, order: OrderRequest, sent_ns: u64, producer: u16) -> Result<(), SlabFull> {
        let sent = SentOrder { order, sent_ns, producer };
        self.slab.insert(Slot { sent, next_free: NIL, live: true }).map(drop)
    }

    /// Matches a response: removes and returns the sent order.
    #[inline]
    pub fn take(&mut self, id: u64) -> Option<SentOrder> {
        self.slab.remove(id).map(|(_, s)| s.sent)
    }

    /// Removes everything still in flight, oldest send first (shutdown; allocates).
    pub fn drain_by_send_time(&mut self) -> Vec<SentOrder> {
        let mut out: Vec<SentOrder> = (0..self.slab.capacity() as u32)
            .map(|i| *self.slab.get(i))
            .filter(|s| s.live)
            .map(|s| s.sent)
            .collect();
        out.sort_by_key(|s| (s.sent_ns, s.order.order_id));
        for s in &out {
            self.slab.remove(s.order.order_id);
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Side;

    #[test]
    fn match_once_then_unmatched() {
        let mut f = InFlight::with_capacity(2);
        f.insert(OrderRequest::new(1, 1, Side::Buy, 1.0, 1), 100, 0).unwrap();
        f.insert(OrderRequest::new(2, 1, Side::Sell, 1.0, 1), 50, 0).unwrap();
        assert!(f.is_full());
        assert!(f.insert(OrderRequest::new(3, 1, Side::Sell, 1.0, 1), 60, 0).is_err());
        assert_eq!(f.take(1).unwrap().sent_ns, 100);
        assert!(f.take(1).is_none());
        f.insert(OrderRequest::new(3, 1, Side::Sell, 1.0, 1), 10, 0).unwrap();
        let left: Vec<u64> = f.drain_by_send_time().iter().map(|s| s.order.order_id).collect();
        assert_eq!(left, [3, 2]);
        assert!(f.is_empty());
    }
}
