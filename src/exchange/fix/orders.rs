//! The orders this session sent: which still wait for their first answer, and which order each
//! recent MsgSeqNum carried. Both tables are sized once (from the engine's in-flight limit) and
//! never grow, so tracking an order allocates nothing.
//!
//! - Awaiting an answer: an open-addressing set of order ids (linear probing, Fibonacci hashing,
//!   backward-shift deletion, load ≤ 1/2). The first ExecutionReport for an id in the set is the
//!   order's response; later ones are events of their own.
//! - By MsgSeqNum: a ring of `(seq, order id)` indexed by `seq mod size`, to name the order a
//!   session Reject (which only gives RefSeqNum) or a gap fill is about. A slot is overwritten
//!   `size` messages later; a Reject that late names no order and is reported as such.

/// Sent orders awaiting their first answer, and the order of each recent MsgSeqNum.
pub struct OrderTable {
    ids: Box<[u64]>,
    used: Box<[bool]>,
    len: usize,
    shift: u32,
    by_seq: Box<[(u64, u64)]>,
}

impl std::fmt::Debug for OrderTable {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OrderTable")
            .field("awaiting", &self.len)
            .field("slots", &self.ids.len())
            .field("seq_ring", &self.by_seq.len())
            .finish()
    }
}

impl OrderTable {
    /// Room for `capacity` orders awaiting an answer (and at least 1024 MsgSeqNums).
    pub fn with_capacity(capacity: usize) -> OrderTable {
        let slots = (capacity.max(1) * 2).next_power_of_two();
        let ring = slots.max(1024);
        OrderTable {
            ids: vec![0; slots].into_boxed_slice(),
            used: vec![false; slots].into_boxed_slice(),
            len: 0,
            shift: 64 - slots.trailing_zeros(),
            by_seq: vec![(0, 0); ring].into_boxed_slice(),
        }
    }

    /// Orders awaiting an answer.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether none awaits an answer.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    #[inline]
    fn home(&self, id: u64) -> usize {
        if self.shift >= 64 { 0 } else { (id.wrapping_mul(0x9E37_79B9_7F4A_7C15) >> self.shift) as usize }
    }

    #[inline]
    fn find(&self, id: u64) -> Result<usize, usize> {
        let mask = self.ids.len() - 1;
        let mut i = self.home(id);
        loop {
            if !self.used[i] {
                return Err(i);
            }
            if self.ids[i] == id {
                return Ok(i);
            }
            i = (i + 1) & mask;
        }
    }

    /// Records order `id` sent as MsgSeqNum `seq`. Returns false when the order could not be
    /// tracked (the table is at half its slots: more orders in flight than it was sized for) or
    /// was already awaiting an answer.
    #[inline]
    pub fn sent(&mut self, id: u64, seq: u64) -> bool {
        let ring = self.by_seq.len() - 1;
        self.by_seq[(seq as usize) & ring] = (seq, id);
        if self.len * 2 >= self.ids.len() {
            return false;
        }
        match self.find(id) {
            Ok(_) => false,
            Err(i) => {
                self.ids[i] = id;
                self.used[i] = true;
                self.len += 1;
                true
            }
        }
    }

    /// Whether `id` awaits its first answer.
    pub fn awaits(&self, id: u64) -> bool {
        self.find(id).is_ok()
    }

    /// Takes `id` out of the awaiting set; true if it was there (this is its first answer).
    #[inline]
    pub fn answered(&mut self, id: u64) -> bool {
        let Ok(mut hole) = self.find(id) else { return false };
        let mask = self.ids.len() - 1;
        // Backward-shift deletion: pull later members of the probe run into the hole.
        let mut i = (hole + 1) & mask;
        while self.used[i] {
            let home = self.home(self.ids[i]);
            // Move `i` into `hole` unless its home lies cyclically in (hole, i].
            let stays = if hole <= i { hole < home && home <= i } else { hole < home || home <= i };
            if !stays {
                self.ids[hole] = self.ids[i];
                hole = i;
            }
            i = (i + 1) & mask;
        }
        self.used[hole] = false;
        self.len -= 1;
        true
    }

    /// The order sent as MsgSeqNum `seq`, if it is still remembered.
    pub fn order_at(&self, seq: u64) -> Option<u64> {
        let (s, id) = self.by_seq[(seq as usize) & (self.by_seq.len() - 1)];
        (s == seq && seq != 0).then_some(id)
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    use proptest::prelude::*;

    use super::*;

    proptest! {
        #[test]
        fn behaves_like_a_set(ops in prop::collection::vec((any::<bool>(), 0u64..64), 0..400)) {
            let mut t = OrderTable::with_capacity(32);
            let mut model = HashSet::new();
            for (seq, (add, id)) in ops.into_iter().enumerate() {
                if add {
                    let fits = model.len() < 64 / 2;
                    let want = fits && !model.contains(&id);
                    prop_assert_eq!(t.sent(id, seq as u64 + 1), want);
                    if want {
                        model.insert(id);
                    }
                    prop_assert_eq!(t.order_at(seq as u64 + 1), Some(id));
                } else {
                    prop_assert_eq!(t.answered(id), model.remove(&id));
                }
                prop_assert_eq!(t.len(), model.len());
                for k in 0..64 {
                    prop_assert_eq!(t.awaits(k), model.contains(&k));
                }
            }
        }
    }

    #[test]
    fn seq_ring_forgets_old_numbers() {
        let mut t = OrderTable::with_capacity(1);
        t.sent(7, 5);
        assert_eq!(t.order_at(5), Some(7));
        assert_eq!(t.order_at(6), None);
        t.sent(8, 5 + 1024);
        assert_eq!(t.order_at(5), None);
        assert_eq!(t.order_at(1029), Some(8));
    }
}
