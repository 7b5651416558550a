//! Pre-allocated storage for live orders, addressed by order id in O(1).
//!
//! [`Slab`] is a fixed array of entries with an intrusive free list and an [`IdIndex`]: an
//! open-addressing hash table of `u32` slot numbers (linear probing, backward-shift deletion, so
//! no tombstones and no rehash, ever). Both are sized once, at start-up; nothing here allocates
//! afterwards.
//!
//! Why not `std::collections::HashMap<u64, u32>`: with churn (orders come and go) hashbrown may
//! rehash, which allocates when the table is more than half full, and each bucket costs 16 B + a
//! control byte. The index here stores only the 4-byte slot number (the key lives in the entry),
//! at a load factor of at most 1/2: 8 bytes per order of capacity, and a probe is one cache line
//! in the table plus one in the slab.

/// "No slot" marker in links.
pub const NIL: u32 = u32::MAX;

/// An entry that can live in a [`Slab`].
pub trait SlabEntry: Copy + Default {
    /// How the slab's index places the ids of these entries. A constant of the entry type, so
    /// that every lookup compiles to the one hash (no test of the layout at run time).
    const LAYOUT: Layout;
    /// The order id this entry is filed under.
    fn key(&self) -> u64;
    /// Link used while the entry is free.
    fn next_free(&self) -> u32;
    /// Sets the free-list link.
    fn set_next_free(&mut self, next: u32);
}

/// How an [`IdIndex`] places ids.
///
/// Both layouts are a multiplicative (Fibonacci) hash, which spreads any id pattern evenly and
/// keeps linear-probing clusters short (so backward-shift deletion stays O(1) on average).
/// [`Layout::Grouped`] hashes `id / 16` instead of `id` and keeps `id % 16` as the position
/// inside a 16-bucket group (one 64-byte line of `u32` buckets): 16 consecutive ids share one
/// cache line. The in-flight table uses it: responses arrive roughly in send order and ids are
/// usually sequential, so the live window of in-flight ids sits in a few hot lines instead of
/// costing a cache miss per lookup (that miss was 40 % of `on_request` in the engine-step
/// profile). An identity-like hash would keep even more locality but makes one cluster of the
/// whole live window, and deletion then scans it (measured: `docs/BENCHMARKS.md`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Layout {
    /// Every id hashed on its own (the pending queue: random access by nature).
    Spread,
    /// Ids hashed in groups of 16 consecutive ids, one cache line per group.
    Grouped,
}

const GROUP_BITS: u32 = 4;

/// Fewest buckets an index has: with [`Layout::Grouped`], two groups, so that the hash of the
/// group keeps at least one bit (a shift by less than 64).
const MIN_BUCKETS: usize = 2 << GROUP_BITS;

/// The Fibonacci hash of `x`, its top `64 - shift` bits (`shift` in 1..64).
#[inline(always)]
fn fib(x: u64, shift: u32) -> usize {
    (x.wrapping_mul(0x9E37_79B9_7F4A_7C15) >> shift) as usize
}

/// Asks the CPU to bring the cache line holding `p` into L1 ahead of a load (a hint: no
/// effect on what any load returns).
#[inline(always)]
fn prefetch<T>(p: &T) {
    #[cfg(target_arch = "x86_64")]
    // SAFETY: `_mm_prefetch` needs SSE, part of every x86-64 target; it is a hint that never
    // faults and reads or writes nothing, whatever the address (here a valid reference).
    unsafe {
        core::arch::x86_64::_mm_prefetch::<{ core::arch::x86_64::_MM_HINT_T0 }>((p as *const T).cast());
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = p;
}

/// Hash index from order id to slot number. Load factor ≤ 1/2.
#[derive(Debug)]
pub struct IdIndex {
    /// 0 = empty, otherwise slot + 1.
    buckets: Box<[u32]>,
    /// `64 −` the bits of the hash: of the id with [`Layout::Spread`], of its group with
    /// [`Layout::Grouped`] (kept rather than computed at each lookup).
    shift: u32,
    mask: usize,
    /// Keys filed in a bucket other than their home. While there are none, a removal has
    /// nothing to shift back (every other key sits at home and stays there), so it skips the
    /// scan of the rest of the cluster: with [`Layout::Grouped`], the in-flight window of
    /// sequential ids fills whole 16-bucket lines, and that scan read the key of each later
    /// bucket of the line.
    displaced: usize,
}

impl IdIndex {
    /// An index for up to `capacity` keys, placed by `layout` (every call after this one must
    /// pass the same: [`Slab`] passes its entry type's constant).
    pub fn with_capacity(capacity: usize, layout: Layout) -> Self {
        let buckets = (capacity.max(1) * 2).next_power_of_two().max(MIN_BUCKETS);
        let bits = buckets.trailing_zeros();
        let shift = match layout {
            Layout::Spread => 64 - bits,
            Layout::Grouped => 64 - (bits - GROUP_BITS),
        };
        let mut table = vec![0u32; buckets].into_boxed_slice();
        // The allocator hands zeroed memory out as untouched pages: write one word per page now,
        // so that the hot path never takes a page fault on its first use of a bucket (as the
        // slab's entries are written at start-up). `black_box` keeps the store of a zero.
        for b in table.iter_mut().step_by(4096 / std::mem::size_of::<u32>()) {
            *b = std::hint::black_box(0);
        }
        IdIndex { buckets: table, shift, mask: buckets - 1, displaced: 0 }
    }

    /// The home bucket of `id`.
    #[inline(always)]
    fn home(&self, id: u64, layout: Layout) -> usize {
        match layout {
            Layout::Spread => fib(id, self.shift),
            Layout::Grouped => {
                (fib(id >> GROUP_BITS, self.shift) << GROUP_BITS) | (id as usize & ((1 << GROUP_BITS) - 1))
            }
        }
    }

    /// Keys not in their home bucket, counted (the figure `displaced` must equal).
    #[cfg(test)]
    fn count_displaced(&self, layout: Layout, key_of: impl Fn(u32) -> u64) -> usize {
        (0..self.buckets.len())
            .filter(|&i| self.buckets[i] != 0 && self.home(key_of(self.buckets[i] - 1), layout) != i)
            .count()
    }

    /// Forgets every key (a walk of every bucket).
    pub fn clear(&mut self) {
        self.buckets.fill(0);
        self.displaced = 0;
    }

    /// Number of buckets (for memory accounting).
    #[cfg(test)]
    pub fn buckets(&self) -> usize {
        self.buckets.len()
    }

    /// Starts loading the bucket where the lookup of `id` begins.
    #[inline(always)]
    pub fn prefetch(&self, id: u64, layout: Layout) {
        prefetch(&self.buckets[self.home(id, layout)]);
    }

    /// The slot in `id`'s home bucket, if any: most often `id`'s own (probe chains are short).
    #[inline(always)]
    fn home_slot(&self, id: u64, layout: Layout) -> Option<u32> {
        self.buckets[self.home(id, layout)].checked_sub(1)
    }

    /// Finds the slot of `id`; `key_of(slot)` returns the key stored in a slot.
    #[inline(always)]
    pub fn find(&self, id: u64, layout: Layout, key_of: impl Fn(u32) -> u64) -> Option<u32> {
        self.probe(id, layout, key_of).ok()
    }

    /// Finds the slot of `id`, or else returns where the lookup ended: `id`'s home bucket and
    /// the empty bucket that ends its probe chain, where [`IdIndex::fill`] files it.
    #[inline(always)]
    fn probe(&self, id: u64, layout: Layout, key_of: impl Fn(u32) -> u64) -> Result<u32, (usize, usize)> {
        let home = self.home(id, layout);
        let mut i = home;
        loop {
            let b = self.buckets[i];
            if b == 0 {
                return Err((home, i));
            }
            if key_of(b - 1) == id {
                return Ok(b - 1);
            }
            i = (i + 1) & self.mask;
        }
    }

    /// Files `slot` in `bucket` for a key whose home is `home`: what [`IdIndex::probe`] returned
    /// for it, the index unchanged since.
    #[inline(always)]
    fn fill(&mut self, home: usize, bucket: usize, slot: u32) {
        debug_assert_eq!(self.buckets[bucket], 0, "bucket {bucket} taken since the probe");
        self.buckets[bucket] = slot + 1;
        self.displaced += usize::from(bucket != home);
    }

    /// Files `slot` under `id`. The caller guarantees `id` is absent and the index not full.
    #[inline(always)]
    pub fn insert(&mut self, id: u64, layout: Layout, slot: u32) {
        let home = self.home(id, layout);
        let mut i = home;
        while self.buckets[i] != 0 {
            i = (i + 1) & self.mask;
        }
        self.buckets[i] = slot + 1;
        self.displaced += usize::from(i != home);
    }

    /// Removes `id`, returning its slot. Backward-shift deletion keeps probe chains intact.
    #[inline(always)]
    pub fn remove(&mut self, id: u64, layout: Layout, key_of: impl Fn(u32) -> u64) -> Option<u32> {
        let id_home = self.home(id, layout);
        let mut i = id_home;
        let slot = loop {
            let b = self.buckets[i];
            if b == 0 {
                return None;
            }
            if key_of(b - 1) == id {
                break b - 1;
            }
            i = (i + 1) & self.mask;
        };
        self.displaced -= usize::from(i != id_home);
        if self.displaced == 0 {
            self.buckets[i] = 0;
            return Some(slot);
        }
        // Shift later members of the cluster back into the hole when their home allows it.
        let mut hole = i;
        let mut j = i;
        loop {
            j = (j + 1) & self.mask;
            let b = self.buckets[j];
            if b == 0 {
                break;
            }
            let home = self.home(key_of(b - 1), layout);
            // Move b into the hole unless its home lies cyclically in (hole, j].
            let dist_home = j.wrapping_sub(home) & self.mask;
            let dist_hole = j.wrapping_sub(hole) & self.mask;
            if dist_home >= dist_hole {
                self.buckets[hole] = b;
                // It was displaced (it could move, so it was past its home); now it may be home.
                self.displaced -= usize::from(hole == home);
                hole = j;
            }
        }
        self.buckets[hole] = 0;
        Some(slot)
    }
}

/// An id absent from a [`Slab`], with the index bucket its lookup found for it: inserting it
/// there ([`VacantEntry::insert`]) takes no second lookup. It holds the slab borrowed, so the
/// index cannot change in between.
#[derive(Debug)]
pub struct VacantEntry<'a, T: SlabEntry> {
    slab: &'a mut Slab<T>,
    id: u64,
    home: usize,
    bucket: usize,
}

impl<T: SlabEntry> VacantEntry<'_, T> {
    /// The slab.
    #[inline(always)]
    pub fn slab(&self) -> &Slab<T> {
        self.slab
    }

    /// Stores `value` (whose key must be the id looked up) and returns its slot.
    #[inline(always)]
    pub fn insert(self, value: T) -> Result<u32, SlabFull> {
        debug_assert_eq!(value.key(), self.id, "an entry filed under another id");
        let slab = self.slab;
        let slot = slab.free_head;
        if slot == NIL {
            return Err(SlabFull);
        }
        let e = &mut slab.entries[slot as usize];
        slab.free_head = e.next_free();
        *e = value;
        slab.index.fill(self.home, self.bucket, slot);
        slab.len += 1;
        Ok(slot)
    }
}

/// Fixed-capacity storage with O(1) insert, lookup and removal by order id.
#[derive(Debug)]
pub struct Slab<T: SlabEntry> {
    entries: Box<[T]>,
    index: IdIndex,
    free_head: u32,
    len: usize,
}

/// The slab is full.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SlabFull;

impl<T: SlabEntry> Slab<T> {
    /// Allocates (and touches, so pages are faulted in now rather than on the hot path) room for
    /// `capacity` entries. `capacity` must be below `u32::MAX`.
    pub fn with_capacity(capacity: usize) -> Self {
        assert!(capacity < NIL as usize, "slab capacity {capacity} too large");
        let mut entries = vec![T::default(); capacity].into_boxed_slice();
        for (i, e) in entries.iter_mut().enumerate() {
            e.set_next_free(if i + 1 < capacity { (i + 1) as u32 } else { NIL });
        }
        let free_head = if capacity == 0 { NIL } else { 0 };
        Slab { entries, index: IdIndex::with_capacity(capacity, T::LAYOUT), free_head, len: 0 }
    }

    /// Live entries.
    #[inline(always)]
    pub fn len(&self) -> usize {
        self.len
    }

    /// Frees every entry at once (a walk of the whole slab, without a lookup per entry).
    pub fn clear(&mut self) {
        let capacity = self.entries.len();
        for (i, e) in self.entries.iter_mut().enumerate() {
            e.set_next_free(if i + 1 < capacity { (i + 1) as u32 } else { NIL });
        }
        self.free_head = if capacity == 0 { NIL } else { 0 };
        self.index.clear();
        self.len = 0;
    }

    /// Whether no entry is live.
    #[inline(always)]
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Maximum live entries.
    #[inline(always)]
    pub fn capacity(&self) -> usize {
        self.entries.len()
    }

    /// Whether the slab is full.
    #[inline(always)]
    pub fn is_full(&self) -> bool {
        self.free_head == NIL
    }

    /// Bytes of heap this slab holds (entries + index), for memory accounting.
    #[cfg(test)]
    pub fn heap_bytes(&self) -> usize {
        self.entries.len() * std::mem::size_of::<T>() + self.index.buckets() * std::mem::size_of::<u32>()
    }

    /// Stage 1 of a lookup a few requests ahead: starts loading `id`'s index bucket.
    #[inline(always)]
    pub fn prefetch_index(&self, id: u64) {
        self.index.prefetch(id, T::LAYOUT);
    }

    /// Stage 2 (once the bucket is likely cached): starts loading the entry it points to.
    #[inline(always)]
    pub fn prefetch_entry(&self, id: u64) {
        if let Some(slot) = self.index.home_slot(id, T::LAYOUT) {
            prefetch(&self.entries[slot as usize]);
        }
    }

    /// The entry in `id`'s home bucket, if any: most often `id`'s own; a guess for look-ahead
    /// hints only (it may be another key's).
    #[inline(always)]
    pub fn home_entry(&self, id: u64) -> Option<&T> {
        self.index.home_slot(id, T::LAYOUT).map(|slot| &self.entries[slot as usize])
    }

    /// Starts loading entry `slot` (a hint; nothing for `NIL` or a slot past the end).
    #[inline(always)]
    pub fn prefetch_slot(&self, slot: u32) {
        if let Some(e) = self.entries.get(slot as usize) {
            prefetch(e);
        }
    }

    /// The slot of `id`, if live.
    #[inline(always)]
    pub fn find(&self, id: u64) -> Option<u32> {
        let entries = &self.entries;
        self.index.find(id, T::LAYOUT, |s| entries[s as usize].key())
    }

    /// The slot of `id` if live; else `id`'s [`VacantEntry`]: one lookup that serves both a
    /// check that `id` is absent and its insertion.
    #[inline(always)]
    pub fn entry(&mut self, id: u64) -> Result<u32, VacantEntry<'_, T>> {
        let entries = &self.entries;
        match self.index.probe(id, T::LAYOUT, |s| entries[s as usize].key()) {
            Ok(slot) => Ok(slot),
            Err((home, bucket)) => Err(VacantEntry { slab: self, id, home, bucket }),
        }
    }

    /// Stores `value` (whose key must not be live) and returns its slot.
    #[inline(always)]
    pub fn insert(&mut self, value: T) -> Result<u32, SlabFull> {
        let slot = self.free_head;
        if slot == NIL {
            return Err(SlabFull);
        }
        debug_assert!(self.find(value.key()).is_none(), "duplicate key {}", value.key());
        let e = &mut self.entries[slot as usize];
        self.free_head = e.next_free();
        *e = value;
        self.index.insert(value.key(), T::LAYOUT, slot);
        self.len += 1;
        Ok(slot)
    }

    /// Removes the entry filed under `id`.
    #[inline(always)]
    pub fn remove(&mut self, id: u64) -> Option<(u32, T)> {
        let entries = &self.entries;
        let slot = self.index.remove(id, T::LAYOUT, |s| entries[s as usize].key())?;
        let e = &mut self.entries[slot as usize];
        let value = *e;
        e.set_next_free(self.free_head);
        self.free_head = slot;
        self.len -= 1;
        Some((slot, value))
    }

    /// The entry in `slot` (which must be live).
    #[inline(always)]
    pub fn get(&self, slot: u32) -> &T {
        &self.entries[slot as usize]
    }

    /// The entry in `slot` (which must be live), mutably. Do not change its key.
    #[inline(always)]
    pub fn get_mut(&mut self, slot: u32) -> &mut T {
        &mut self.entries[slot as usize]
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::collections::HashMap;

    /// A test entry, its ids placed [`Layout::Grouped`] if `GROUPED`, else [`Layout::Spread`].
    #[derive(Clone, Copy, Default, Debug, PartialEq)]
    struct E<const GROUPED: bool = false> {
        key: u64,
        val: u64,
        next: u32,
    }
    impl<const GROUPED: bool> SlabEntry for E<GROUPED> {
        const LAYOUT: Layout = if GROUPED { Layout::Grouped } else { Layout::Spread };
        fn key(&self) -> u64 {
            self.key
        }
        fn next_free(&self) -> u32 {
            self.next
        }
        fn set_next_free(&mut self, next: u32) {
            self.next = next;
        }
    }

    #[test]
    fn fills_up_and_reuses_slots() {
        let mut s: Slab<E> = Slab::with_capacity(3);
        for k in 1..=3 {
            s.insert(E { key: k, val: k * 10, next: 0 }).unwrap();
        }
        assert!(s.is_full());
        assert_eq!(s.insert(E { key: 4, ..Default::default() }), Err(SlabFull));
        let (_, e) = s.remove(2).unwrap();
        assert_eq!(e.val, 20);
        assert!(s.remove(2).is_none());
        s.insert(E { key: 4, val: 40, next: 0 }).unwrap();
        assert_eq!(s.get(s.find(4).unwrap()).val, 40);
        assert_eq!(s.len(), 3);
    }

    /// One run of [`matches_a_hashmap`] on a slab of `E<GROUPED>`.
    fn run_against_a_hashmap<const GROUPED: bool>(
        ops: Vec<(bool, u64)>,
        cap: usize,
        stride: u64,
    ) -> Result<(), TestCaseError> {
        let mut s: Slab<E<GROUPED>> = Slab::with_capacity(cap);
        let mut m: HashMap<u64, u64> = HashMap::new();
        for (i, (ins, k)) in ops.into_iter().enumerate() {
            let k = k * stride; // sequential, and strides that collide more on small tables
            // The look-ahead hints (the one `unsafe` block here) on present and absent keys:
            // no effect on any result.
            s.prefetch_index(k);
            s.prefetch_entry(k);
            s.prefetch_slot(k as u32);
            s.prefetch_slot(NIL);
            prop_assert!(s.home_entry(k).is_none() || !m.is_empty());
            if ins {
                if m.contains_key(&k) {
                    continue;
                }
                let e = E { key: k, val: i as u64, next: 0 };
                // Half the inserts through the entry of a lookup.
                let r = if i % 2 == 0 {
                    s.insert(e)
                } else {
                    match s.entry(k) {
                        Ok(_) => return Err(TestCaseError::fail(format!("absent key {k} found"))),
                        Err(vacant) => vacant.insert(e),
                    }
                };
                if m.len() < cap {
                    prop_assert!(r.is_ok());
                    m.insert(k, i as u64);
                } else {
                    prop_assert_eq!(r, Err(SlabFull));
                }
            } else {
                let r = s.remove(k).map(|(_, e)| e.val);
                prop_assert_eq!(r, m.remove(&k));
            }
            prop_assert_eq!(s.len(), m.len());
            let displaced =
                s.index.count_displaced(E::<GROUPED>::LAYOUT, |slot| s.entries[slot as usize].key);
            prop_assert_eq!(s.index.displaced, displaced);
            for (&k, &v) in &m {
                let slot = s.find(k);
                prop_assert!(slot.is_some(), "lost key {}", k);
                prop_assert_eq!(s.entry(k).ok(), slot);
                prop_assert_eq!(s.get(slot.unwrap()).val, v);
            }
        }
        Ok(())
    }

    proptest! {
        /// The slab behaves like a HashMap under any sequence of inserts and removes, including
        /// keys that collide in the table (small key space, dense clusters), with prefetch hints
        /// before each operation (Miri runs this test: `cargo +nightly miri test --lib slab`).
        #[test]
        fn matches_a_hashmap(ops in proptest::collection::vec((any::<bool>(), 0u64..64), 1..400), cap in 1usize..40,
                             grouped in any::<bool>(), stride in prop_oneof![Just(1u64), Just(16), Just(1024)]) {
            if grouped {
                run_against_a_hashmap::<true>(ops, cap, stride)?;
            } else {
                run_against_a_hashmap::<false>(ops, cap, stride)?;
            }
        }
    }
}
