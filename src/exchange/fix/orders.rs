//! The orders this session sent: which still wait for their first answer, where each order's
//! ClOrdID chain stands, and which order each recent MsgSeqNum carried. Both tables are sized
//! once (from the engine's limit of orders at the exchange) and never grow, so tracking an order
//! allocates nothing.
//!
//! **The ClOrdID chain.** A NewOrderSingle carries ClOrdID `<order id>`; the n-th cancel or
//! replace request of the order (n = 1, 2, …) carries `<order id>.<n>`, with OrigClOrdID (41) the
//! order's live ClOrdID: `<order id>` until a replace is carried out, then that replace's. Every
//! ClOrdID the session sends is therefore unique as long as n only grows, and an inbound ClOrdID
//! or OrigClOrdID names its order by the digits before the dot ([`parse_cl_ord_id`]), whatever
//! request it was: no lookup is needed to route an answer. After a restart the engine rebuilds
//! its open orders from the journal, which holds one `cancel_sent` or `replace_sent` record per
//! request and a `replaced` record for each replace carried out: n and the live request are
//! counted from those and handed back ([`OrderTable::restore`]), so the chain goes on where the
//! wire left it (the engine records a request right after it is encoded, before the loop turn's
//! write, so the journal never knows fewer requests than the counterparty saw).
//!
//! - By order id: an open-addressing table (linear probing, Fibonacci hashing, backward-shift
//!   deletion, load ≤ 1/2) of `(id, requests sent, live request, awaiting its first answer)`.
//!   An entry is made when the New is sent and dropped at a report that ends the order (filled,
//!   cancelled, rejected, expired); a request for an order without an entry is not sent (its
//!   chain is unknown: a guess could repeat a ClOrdID).
//! - By MsgSeqNum: a ring of `(seq, order id, request number)` indexed by `seq mod size`, to
//!   name the order (and whether the message was its New or a request) a session Reject (which
//!   only gives RefSeqNum) or a gap fill is about. A slot is overwritten `size` messages later; a
//!   Reject that late names no order and is reported as such.

use super::text::{self, U64_DIGITS};

/// Bytes of the longest ClOrdID this session writes: `<u64>.<u32>`.
pub const CL_ORD_ID_BYTES: usize = U64_DIGITS + 1 + 10;

/// Writes the ClOrdID of order `id`'s request `n` (`n` = 0: the New) into `out`: `<id>` or
/// `<id>.<n>`; returns the bytes used.
#[inline]
pub fn write_cl_ord_id(out: &mut [u8; CL_ORD_ID_BYTES], id: u64, n: u32) -> &[u8] {
    let mut d = [0u8; U64_DIGITS];
    let digits = text::write_u64(&mut d, id);
    let mut len = digits.len();
    out[..len].copy_from_slice(digits);
    if n > 0 {
        out[len] = b'.';
        len += 1;
        let digits = text::write_u64(&mut d, u64::from(n));
        out[len..len + digits.len()].copy_from_slice(digits);
        len += digits.len();
    }
    &out[..len]
}

/// Reads a ClOrdID this session writes: `<id>` (request 0, the New) or `<id>.<n>` (request n ≥ 1);
/// `None` for anything else.
#[inline]
pub fn parse_cl_ord_id(v: &[u8]) -> Option<(u64, u32)> {
    match v.iter().position(|&b| b == b'.') {
        None => Some((text::parse_u64(v)?, 0)),
        Some(dot) => {
            let id = text::parse_u64(&v[..dot])?;
            let n = text::parse_u64(&v[dot + 1..]).and_then(|n| u32::try_from(n).ok())?;
            (n > 0).then_some((id, n))
        }
    }
}

/// Where an order's ClOrdID chain stands.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Chain {
    /// Cancel and replace requests sent so far (the last one's ClOrdID is `<id>.<requests>`).
    pub requests: u32,
    /// The request whose ClOrdID is the order's live one: the replace carried out last, 0 for
    /// the New.
    pub live: u32,
    /// The request sent and not answered yet, 0 for none.
    pub pending: u32,
}

#[derive(Clone, Copy, Debug, Default)]
struct Slot {
    id: u64,
    chain: Chain,
    used: bool,
    awaiting: bool,
}

/// Sent orders: their first answer awaited or not, their ClOrdID chain, and the order (and
/// request) of each recent MsgSeqNum.
pub struct OrderTable {
    slots: Box<[Slot]>,
    len: usize,
    awaiting: usize,
    shift: u32,
    by_seq: Box<[(u64, u64, u32)]>,
}

impl std::fmt::Debug for OrderTable {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OrderTable")
            .field("orders", &self.len)
            .field("awaiting", &self.awaiting)
            .field("slots", &self.slots.len())
            .field("seq_ring", &self.by_seq.len())
            .finish()
    }
}

impl OrderTable {
    /// Room for `capacity` orders at the exchange (and at least 1024 MsgSeqNums).
    pub fn with_capacity(capacity: usize) -> OrderTable {
        let slots = (capacity.max(1) * 2).next_power_of_two();
        let ring = slots.max(1024);
        OrderTable {
            slots: vec![Slot::default(); slots].into_boxed_slice(),
            len: 0,
            awaiting: 0,
            shift: 64 - slots.trailing_zeros(),
            by_seq: vec![(0, 0, 0); ring].into_boxed_slice(),
        }
    }

    /// Orders tracked (sent, their life not known to have ended).
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether none is.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Orders awaiting their first answer.
    pub fn awaiting(&self) -> usize {
        self.awaiting
    }

    #[inline]
    fn home(&self, id: u64) -> usize {
        if self.shift >= 64 { 0 } else { (id.wrapping_mul(0x9E37_79B9_7F4A_7C15) >> self.shift) as usize }
    }

    #[inline]
    fn find(&self, id: u64) -> Result<usize, usize> {
        let mask = self.slots.len() - 1;
        let mut i = self.home(id);
        loop {
            let s = &self.slots[i];
            if !s.used {
                return Err(i);
            }
            if s.id == id {
                return Ok(i);
            }
            i = (i + 1) & mask;
        }
    }

    #[inline]
    fn remember(&mut self, seq: u64, id: u64, request: u32) {
        let ring = self.by_seq.len() - 1;
        self.by_seq[(seq as usize) & ring] = (seq, id, request);
    }

    /// Puts order `id` in the table awaiting (or not) its first answer with `chain`; an entry
    /// already there keeps its request count if that is higher (a ClOrdID is never repeated).
    /// False if the table is at half its slots (more orders than it was sized for).
    #[inline]
    fn put(&mut self, id: u64, chain: Chain, awaiting: bool) -> bool {
        match self.find(id) {
            Ok(i) => {
                let s = &mut self.slots[i];
                let requests = s.chain.requests.max(chain.requests);
                let (live, pending) = (chain.live.min(requests), chain.pending.min(requests));
                s.chain = Chain { requests, live, pending };
                self.awaiting = self.awaiting + usize::from(awaiting) - usize::from(s.awaiting);
                s.awaiting = awaiting;
                true
            }
            Err(_) if self.len * 2 >= self.slots.len() => false,
            Err(i) => {
                self.slots[i] = Slot { id, chain, used: true, awaiting };
                self.len += 1;
                self.awaiting += usize::from(awaiting);
                true
            }
        }
    }

    /// Records order `id`'s New sent as MsgSeqNum `seq`: its first answer is awaited. Returns
    /// false when the order could not be tracked (the table is at half its slots: more orders
    /// at the exchange than it was sized for); it is then answered only by reports, and no
    /// cancel or replace of it can be sent.
    #[inline]
    pub fn sent(&mut self, id: u64, seq: u64) -> bool {
        self.remember(seq, id, 0);
        self.put(id, Chain::default(), true)
    }

    /// Puts back an order open at the exchange as the journal left it (a restart): its chain,
    /// and whether its first answer is still awaited. False if the table is full.
    pub fn restore(&mut self, id: u64, chain: Chain, awaiting: bool) -> bool {
        self.put(id, chain, awaiting)
    }

    /// Whether `id` awaits its first answer.
    pub fn awaits(&self, id: u64) -> bool {
        self.find(id).is_ok_and(|i| self.slots[i].awaiting)
    }

    /// Order `id`'s first answer came: true if it was awaited (this is it).
    #[inline]
    pub fn answered(&mut self, id: u64) -> bool {
        let Ok(i) = self.find(id) else { return false };
        let s = &mut self.slots[i];
        let was = s.awaiting;
        s.awaiting = false;
        self.awaiting -= usize::from(was);
        was
    }

    /// Where order `id`'s chain stands, if it is tracked.
    #[inline]
    pub fn chain(&self, id: u64) -> Option<Chain> {
        self.find(id).ok().map(|i| self.slots[i].chain)
    }

    /// Records request `n` of order `id` sent as MsgSeqNum `seq` (`n` the chain's next number):
    /// it is pending.
    #[inline]
    pub fn request_sent(&mut self, id: u64, n: u32, seq: u64) {
        self.remember(seq, id, n);
        if let Ok(i) = self.find(id) {
            let c = &mut self.slots[i].chain;
            c.requests = c.requests.max(n);
            c.pending = n;
        }
    }

    /// Request `n` of order `id` was carried out as a replace: its ClOrdID is the live one, and
    /// it is no longer pending. A number this session never sent changes nothing.
    #[inline]
    pub fn replaced(&mut self, id: u64, n: u32) {
        if let Ok(i) = self.find(id) {
            let c = &mut self.slots[i].chain;
            if (1..=c.requests).contains(&n) {
                c.live = n;
                if c.pending == n {
                    c.pending = 0;
                }
            }
        }
    }

    /// Request `n` of order `id` was answered (refused): true if it was the pending one, which
    /// it no longer is.
    #[inline]
    pub fn settled(&mut self, id: u64, n: u32) -> bool {
        let Ok(i) = self.find(id) else { return false };
        let c = &mut self.slots[i].chain;
        let was = n > 0 && c.pending == n;
        if was {
            c.pending = 0;
        }
        was
    }

    /// Order `id`'s life ended at the exchange: it leaves the table. True if it was there.
    #[inline]
    pub fn ended(&mut self, id: u64) -> bool {
        let Ok(mut hole) = self.find(id) else { return false };
        self.awaiting -= usize::from(self.slots[hole].awaiting);
        let mask = self.slots.len() - 1;
        // Backward-shift deletion: pull later members of the probe run into the hole.
        let mut i = (hole + 1) & mask;
        while self.slots[i].used {
            let home = self.home(self.slots[i].id);
            // Move `i` into `hole` unless its home lies cyclically in (hole, i].
            let stays = if hole <= i { hole < home && home <= i } else { hole < home || home <= i };
            if !stays {
                self.slots[hole] = self.slots[i];
                hole = i;
            }
            i = (i + 1) & mask;
        }
        self.slots[hole] = Slot::default();
        self.len -= 1;
        true
    }

    /// The order sent as MsgSeqNum `seq` and which of its messages it was (0: the New, n: its
    /// n-th request), if it is still remembered.
    pub fn order_at(&self, seq: u64) -> Option<(u64, u32)> {
        let (s, id, n) = self.by_seq[(seq as usize) & (self.by_seq.len() - 1)];
        (s == seq && seq != 0).then_some((id, n))
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use proptest::prelude::*;

    use super::*;

    #[derive(Clone, Debug)]
    enum Op {
        Sent(u64),
        Answered(u64),
        Request(u64),
        Replaced(u64, u32),
        Settled(u64, u32),
        Ended(u64),
    }

    fn op() -> impl Strategy<Value = Op> {
        prop_oneof![
            (0u64..64).prop_map(Op::Sent),
            (0u64..64).prop_map(Op::Answered),
            (0u64..64).prop_map(Op::Request),
            (0u64..64, 0u32..6).prop_map(|(id, n)| Op::Replaced(id, n)),
            (0u64..64, 0u32..6).prop_map(|(id, n)| Op::Settled(id, n)),
            (0u64..64).prop_map(Op::Ended),
        ]
    }

    proptest! {
        /// Against a map: membership, the awaited set, each chain; a request number only grows
        /// while the order is in the table.
        #[test]
        fn behaves_like_a_map(ops in prop::collection::vec(op(), 0..400)) {
            let mut t = OrderTable::with_capacity(32);
            // id -> (awaiting, chain)
            let mut model: HashMap<u64, (bool, Chain)> = HashMap::new();
            for (seq, op) in ops.into_iter().enumerate() {
                let seq = seq as u64 + 1;
                match op {
                    Op::Sent(id) => {
                        let fits = model.contains_key(&id) || model.len() < 64 / 2;
                        prop_assert_eq!(t.sent(id, seq), fits);
                        if fits {
                            let e = model.entry(id).or_insert((true, Chain::default()));
                            e.0 = true;
                            (e.1.live, e.1.pending) = (0, 0);
                        }
                        prop_assert_eq!(t.order_at(seq), Some((id, 0)));
                    }
                    Op::Answered(id) => {
                        let was = model.get_mut(&id).map(|e| std::mem::replace(&mut e.0, false));
                        prop_assert_eq!(t.answered(id), was == Some(true));
                    }
                    Op::Request(id) => {
                        if let Some(e) = model.get_mut(&id) {
                            let n = e.1.requests + 1;
                            prop_assert_eq!(t.chain(id).map(|c| c.requests + 1), Some(n));
                            t.request_sent(id, n, seq);
                            (e.1.requests, e.1.pending) = (n, n);
                            prop_assert_eq!(t.order_at(seq), Some((id, n)));
                        }
                    }
                    Op::Replaced(id, n) => {
                        t.replaced(id, n);
                        if let Some(e) = model.get_mut(&id) && n >= 1 && n <= e.1.requests {
                            e.1.live = n;
                            if e.1.pending == n {
                                e.1.pending = 0;
                            }
                        }
                    }
                    Op::Settled(id, n) => {
                        let was = model.get_mut(&id).is_some_and(|e| {
                            let was = n > 0 && e.1.pending == n;
                            if was {
                                e.1.pending = 0;
                            }
                            was
                        });
                        prop_assert_eq!(t.settled(id, n), was);
                    }
                    Op::Ended(id) => prop_assert_eq!(t.ended(id), model.remove(&id).is_some()),
                }
                prop_assert_eq!(t.len(), model.len());
                prop_assert_eq!(t.awaiting(), model.values().filter(|e| e.0).count());
                for k in 0..64 {
                    prop_assert_eq!(t.chain(k), model.get(&k).map(|e| e.1));
                    prop_assert_eq!(t.awaits(k), model.get(&k).is_some_and(|e| e.0));
                }
            }
        }

        #[test]
        fn cl_ord_ids_round_trip(id in any::<u64>(), n in any::<u32>()) {
            let mut b = [0; CL_ORD_ID_BYTES];
            let text = write_cl_ord_id(&mut b, id, n);
            let want = if n == 0 { id.to_string() } else { format!("{id}.{n}") };
            prop_assert_eq!(text, want.as_bytes());
            // `u64::MAX` has 20 digits, one more than the parser reads: such ids come back as
            // nothing, never as another order.
            let back = parse_cl_ord_id(text);
            prop_assert!(back == Some((id, n)) || (back.is_none() && id > 9_999_999_999_999_999_999));
        }

        #[test]
        fn any_bytes_parse_or_not_without_panicking(v in prop::collection::vec(any::<u8>(), 0..40)) {
            if let Some((id, n)) = parse_cl_ord_id(&v) {
                let mut b = [0; CL_ORD_ID_BYTES];
                let again = write_cl_ord_id(&mut b, id, n);
                prop_assert_eq!(parse_cl_ord_id(again), Some((id, n)));
            }
        }
    }

    #[test]
    fn cl_ord_ids_that_are_not_ours_name_no_order() {
        for bad in [&b""[..], b".", b"1.", b".1", b"1.0", b"1.2.3", b"a", b"1.x", b"-1", b"1.4294967296"] {
            assert_eq!(parse_cl_ord_id(bad), None, "{:?}", String::from_utf8_lossy(bad));
        }
        assert_eq!(parse_cl_ord_id(b"17"), Some((17, 0)));
        assert_eq!(parse_cl_ord_id(b"17.4294967295"), Some((17, u32::MAX)));
    }

    #[test]
    fn seq_ring_forgets_old_numbers() {
        let mut t = OrderTable::with_capacity(1);
        t.sent(7, 5);
        assert_eq!(t.order_at(5), Some((7, 0)));
        assert_eq!(t.order_at(6), None);
        t.request_sent(7, 1, 6);
        assert_eq!(t.order_at(6), Some((7, 1)));
        t.sent(8, 5 + 1024);
        assert_eq!(t.order_at(5), None);
        assert_eq!(t.order_at(1029), Some((8, 0)));
    }

    #[test]
    fn a_restored_chain_goes_on_and_never_goes_back() {
        let mut t = OrderTable::with_capacity(4);
        assert!(t.restore(5, Chain { requests: 3, live: 2, pending: 3 }, false));
        assert_eq!(t.chain(5), Some(Chain { requests: 3, live: 2, pending: 3 }));
        // The same id sent again (a New reusing it): the count is kept, the New is live.
        t.sent(5, 9);
        assert_eq!(t.chain(5), Some(Chain { requests: 3, live: 0, pending: 0 }));
        assert!(t.awaits(5));
        t.replaced(5, 4);
        assert_eq!(t.chain(5).map(|c| c.live), Some(0), "request 4 was never sent");
    }
}
