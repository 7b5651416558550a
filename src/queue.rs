//! The pending queue: orders waiting for the throttle, oldest first, with O(1) modify, cancel
//! and pop by order id.
//!
//! A doubly linked list threaded through a pre-allocated [`Slab`]: `push_back` and `pop_front`
//! touch the ends, `modify` finds the node through the id index and rewrites it in place (so the
//! order keeps its place in line), `cancel` unlinks it. Per queued order the engine holds one
//! 56-byte node (the order, its arrival time and producer, two links) plus 4-byte index buckets
//! at load ≤ 1/2 (see [`PendingQueue::heap_bytes`]): 64 bytes at the default capacity of 2^20.

use crate::model::OrderRequest;
use crate::slab::{Layout, NIL, Slab, SlabEntry, SlabFull};

/// An order waiting in the queue.
#[derive(Clone, Copy, Debug, PartialEq, Default)]
pub struct QueuedOrder {
    /// The order, with any modifications applied.
    pub order: OrderRequest,
    /// When it arrived (monotonic ns), to report its time inside the OMS when sent.
    pub arrival_ns: u64,
    /// The producer whose request it is (its records carry it).
    pub producer: u16,
    /// A replace of an order open at the exchange (its new price and quantity), waiting in
    /// line with the New orders; else a New order.
    pub replace: bool,
}

#[derive(Clone, Copy, Debug)]
struct Node {
    item: QueuedOrder,
    prev: u32,
    /// Next in line while queued; next free slot while free.
    next: u32,
}

impl Default for Node {
    fn default() -> Self {
        Node { item: QueuedOrder::default(), prev: NIL, next: NIL }
    }
}

impl SlabEntry for Node {
    const LAYOUT: Layout = Layout::Spread;
    #[inline]
    fn key(&self) -> u64 {
        self.item.order.order_id
    }
    #[inline]
    fn next_free(&self) -> u32 {
        self.next
    }
    #[inline]
    fn set_next_free(&mut self, next: u32) {
        self.next = next;
    }
}

/// The queue is at capacity.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct QueueFull;

/// FIFO of orders waiting to be sent.
#[derive(Debug)]
pub struct PendingQueue {
    slab: Slab<Node>,
    head: u32,
    tail: u32,
}

impl PendingQueue {
    /// A queue for up to `capacity` orders, allocated now.
    pub fn with_capacity(capacity: usize) -> Self {
        PendingQueue { slab: Slab::with_capacity(capacity), head: NIL, tail: NIL }
    }

    /// Orders waiting.
    #[inline]
    pub fn len(&self) -> usize {
        self.slab.len()
    }

    /// Whether nothing waits.
    #[inline]
    pub fn is_empty(&self) -> bool {
        self.head == NIL
    }

    /// Heap bytes held, for the memory budget.
    #[cfg(test)]
    fn heap_bytes(&self) -> usize {
        self.slab.heap_bytes()
    }

    /// Starts loading what a lookup of `id` will touch first (its index bucket). Several
    /// requests ahead of the one being handled, it hides the cache miss of a random lookup in a
    /// large queue.
    #[inline(always)]
    pub fn prefetch_index(&self, id: u64) {
        if !self.is_empty() {
            self.slab.prefetch_index(id);
        }
    }

    /// Starts loading the node `id`'s index bucket points to (after
    /// [`PendingQueue::prefetch_index`], once the bucket is likely cached).
    #[inline(always)]
    pub fn prefetch_node(&self, id: u64) {
        if !self.is_empty() {
            self.slab.prefetch_entry(id);
        }
    }

    /// Starts loading the neighbours in line of the node `id`'s index bucket points to (after
    /// [`PendingQueue::prefetch_node`], once the node is likely cached): a cancel unlinks the
    /// node, writing both.
    #[inline(always)]
    pub fn prefetch_links(&self, id: u64) {
        if self.is_empty() {
            return;
        }
        if let Some(n) = self.slab.home_entry(id) {
            self.slab.prefetch_slot(n.prev);
            self.slab.prefetch_slot(n.next);
        }
    }

    /// Whether order `id` is queued. An empty queue answers without touching the index (the
    /// common case when the throttle does not bind: a lookup in a table sized for 1M orders is
    /// a cache miss, the costliest step of a New order in the engine-step profile).
    #[inline]
    pub fn contains(&self, id: u64) -> bool {
        !self.is_empty() && self.slab.find(id).is_some()
    }

    /// Appends a New order. The caller guarantees its id is not queued already.
    #[inline]
    pub fn push_back(
        &mut self,
        order: OrderRequest,
        arrival_ns: u64,
        producer: u16,
    ) -> Result<(), QueueFull> {
        self.push(QueuedOrder { order, arrival_ns, producer, replace: false })
    }

    /// Appends a replace of an open order (`order`: its new version). The caller guarantees
    /// its id is not queued already.
    #[inline]
    pub fn push_replace(
        &mut self,
        order: OrderRequest,
        arrival_ns: u64,
        producer: u16,
    ) -> Result<(), QueueFull> {
        self.push(QueuedOrder { order, arrival_ns, producer, replace: true })
    }

    #[inline]
    fn push(&mut self, item: QueuedOrder) -> Result<(), QueueFull> {
        let node = Node { item, prev: self.tail, next: NIL };
        let slot = self.slab.insert(node).map_err(|SlabFull| QueueFull)?;
        if self.tail == NIL {
            self.head = slot;
        } else {
            self.slab.get_mut(self.tail).next = slot;
        }
        self.tail = slot;
        Ok(())
    }

    /// Removes and returns the oldest order.
    #[inline]
    pub fn pop_front(&mut self) -> Option<QueuedOrder> {
        if self.head == NIL {
            return None;
        }
        let id = self.slab.get(self.head).key();
        self.cancel(id)
    }

    /// Replaces price and qty of queued order `id` in place (its place in line is kept).
    /// Returns the order as it now stands, or `None` if `id` is not queued.
    #[cfg(test)]
    pub fn modify(&mut self, id: u64, price: f64, qty: u64) -> Option<&QueuedOrder> {
        let q = self.get_mut(id)?;
        q.order.price = price;
        q.order.qty = qty;
        Some(q)
    }

    /// Queued order `id`, if it is queued, to change in place (not its id).
    #[inline]
    pub fn get_mut(&mut self, id: u64) -> Option<&mut QueuedOrder> {
        let slot = self.slab.find(id)?;
        Some(&mut self.slab.get_mut(slot).item)
    }

    /// Queued order `id`, if it is queued.
    #[inline]
    pub fn get(&self, id: u64) -> Option<&QueuedOrder> {
        if self.is_empty() {
            return None;
        }
        self.slab.find(id).map(|slot| &self.slab.get(slot).item)
    }

    /// Removes queued order `id`.
    #[inline]
    pub fn cancel(&mut self, id: u64) -> Option<QueuedOrder> {
        let (_, node) = self.slab.remove(id)?;
        match node.prev {
            NIL => self.head = node.next,
            p => self.slab.get_mut(p).next = node.next,
        }
        match node.next {
            NIL => self.tail = node.prev,
            n => self.slab.get_mut(n).prev = node.prev,
        }
        Some(node.item)
    }

    /// The queued orders, oldest first.
    pub fn iter(&self) -> impl Iterator<Item = &QueuedOrder> + '_ {
        let mut cur = self.head;
        std::iter::from_fn(move || {
            if cur == NIL {
                return None;
            }
            let node = self.slab.get(cur);
            cur = node.next;
            Some(&node.item)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Side;
    use proptest::prelude::*;
    use std::collections::VecDeque;

    fn o(id: u64) -> OrderRequest {
        OrderRequest::new(id, 1, Side::Buy, 10.0, 5)
    }

    fn ids(q: &PendingQueue) -> Vec<u64> {
        q.iter().map(|x| x.order.order_id).collect()
    }

    #[test]
    fn fifo_modify_keeps_place_cancel_unlinks() {
        let mut q = PendingQueue::with_capacity(4);
        for id in 1..=4 {
            q.push_back(o(id), id, 0).unwrap();
        }
        assert_eq!(q.push_back(o(5), 5, 0), Err(QueueFull));
        let m = q.modify(2, 11.5, 9).unwrap();
        assert_eq!((m.order.price, m.order.qty, m.arrival_ns), (11.5, 9, 2));
        assert_eq!(ids(&q), [1, 2, 3, 4]);
        assert_eq!(q.cancel(3).unwrap().order.order_id, 3);
        assert!(q.cancel(3).is_none());
        assert!(q.modify(3, 1.0, 1).is_none());
        assert_eq!(ids(&q), [1, 2, 4]);
        q.cancel(1).unwrap();
        q.cancel(4).unwrap();
        assert_eq!(ids(&q), [2]);
        q.push_back(o(7), 7, 0).unwrap();
        assert_eq!(q.pop_front().unwrap().order.price, 11.5);
        assert_eq!(q.pop_front().unwrap().order.order_id, 7);
        assert!(q.pop_front().is_none() && q.is_empty());
    }

    #[test]
    fn memory_per_queued_order_is_within_budget() {
        let cap = 1 << 20;
        let q = PendingQueue::with_capacity(cap);
        let per_order = q.heap_bytes() / cap;
        assert!(per_order <= 64, "{per_order} bytes per queued order");
        assert_eq!(std::mem::size_of::<Node>(), 56);
    }

    #[derive(Debug, Clone)]
    enum Op {
        Push(u64),
        Pop,
        Modify(u64, u64),
        Cancel(u64),
    }

    fn op() -> impl Strategy<Value = Op> {
        prop_oneof![
            (0u64..50).prop_map(Op::Push),
            Just(Op::Pop),
            (0u64..50, 1u64..100).prop_map(|(i, q)| Op::Modify(i, q)),
            (0u64..50).prop_map(Op::Cancel),
        ]
    }

    proptest! {
        /// Same behaviour as a VecDeque model under any sequence of operations.
        #[test]
        fn matches_a_vecdeque_model(ops in proptest::collection::vec(op(), 1..300)) {
            let mut q = PendingQueue::with_capacity(16);
            let mut m: VecDeque<(u64, u64)> = VecDeque::new();
            for op in ops {
                match op {
                    Op::Push(id) => {
                        if m.iter().any(|x| x.0 == id) { continue; }
                        let r = q.push_back(o(id), 0, 0);
                        if m.len() < 16 { prop_assert!(r.is_ok()); m.push_back((id, 5)); }
                        else { prop_assert_eq!(r, Err(QueueFull)); }
                    }
                    Op::Pop => prop_assert_eq!(q.pop_front().map(|x| (x.order.order_id, x.order.qty)), m.pop_front()),
                    Op::Modify(id, qty) => {
                        let hit = m.iter_mut().find(|x| x.0 == id);
                        let expect = hit.map(|x| { x.1 = qty; *x });
                        prop_assert_eq!(q.modify(id, 1.0, qty).map(|x| (x.order.order_id, x.order.qty)), expect);
                    }
                    Op::Cancel(id) => {
                        // The engine's look-ahead hints (no effect on any result).
                        q.prefetch_index(id);
                        q.prefetch_node(id);
                        q.prefetch_links(id);
                        let pos = m.iter().position(|x| x.0 == id);
                        let expect = pos.and_then(|p| m.remove(p));
                        prop_assert_eq!(q.cancel(id).map(|x| (x.order.order_id, x.order.qty)), expect);
                    }
                }
                let got: Vec<(u64, u64)> = q.iter().map(|x| (x.order.order_id, x.order.qty)).collect();
                prop_assert_eq!(got, m.iter().copied().collect::<Vec<_>>());
                prop_assert_eq!(q.len(), m.len());
            }
        }
    }
}
