//! [`SharedRing`]: the one type that touches a client's shared memory.
//!
//! The ring is a sealed memfd, mapped by the engine's process and by one client process:
//!
//! ```text
//! offset   size  written by  what
//! 0        8     listener    magic "OMSIPCR\0"
//! 8        8     listener    version (low 32 bits) | capacity (high 32 bits, a power of two)
//! 16       8     listener    the client's producer number
//! 128      8     client      head: messages published so far (release store after the slot)
//! 256      8     engine      tail: messages taken so far (release store after the copy)
//! 384      8     engine      sleeping: 1 while the engine may be asleep (the doorbell's flag)
//! 512      64·N  client      N slots of 8 words ([`encode`] / [`decode`])
//! ```
//!
//! Head, tail and the flag each have a 128-byte line of their own (no false sharing, and the
//! adjacent-line prefetcher pairs lines).
//!
//! **The unsafe boundary.** Another process may write any byte of this memory at any moment,
//! and may try to shrink the file under it. Both are made harmless here:
//!
//! - every access is an atomic load or store of an aligned `u64` (`AtomicU64` through a pointer
//!   into the mapping): no reference to plain data another process can change is ever made, so
//!   a concurrent write is at worst a value the reader did not expect, never undefined
//!   behaviour; a message is copied out word by word ([`SharedRing::read_slot`]) and only the
//!   copy is looked at;
//! - every offset is computed from this process's own copy of the capacity, checked against the
//!   mapping's length when the ring is made: nothing read from the memory is ever used as an
//!   offset or a length (an index read from it is a count that the engine checks against its own
//!   tail before use, `inputs.rs`);
//! - the memfd is sealed (`F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL`) before it is handed to
//!   the client: `ftruncate` to make the engine's loads fault (SIGBUS) fails with `EPERM`.

use std::fs::File;
use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::sync::atomic::{AtomicU64, Ordering};

use memmap2::{MmapOptions, MmapRaw};

use crate::model::{OrderRequest, RequestType};

/// First word of every ring.
pub const MAGIC: u64 = u64::from_le_bytes(*b"OMSIPCR\0");
/// The layout's version (the first word's and the handshake's).
pub const VERSION: u32 = 1;
/// Bytes before slot 0.
pub const HEADER_BYTES: usize = 512;
/// Bytes per message.
pub const SLOT_BYTES: usize = 64;
/// Largest ring, in messages.
pub const MAX_CAPACITY: u32 = 1 << 20;

const HEAD: usize = 128;
const TAIL: usize = 256;
const SLEEPING: usize = 384;

/// Bytes of a ring of `capacity` messages.
pub const fn ring_bytes(capacity: u32) -> usize {
    HEADER_BYTES + capacity as usize * SLOT_BYTES
}

/// A client's ring, mapped. `Send` and `Sync`: every access is atomic.
#[derive(Debug)]
pub struct SharedRing {
    map: MmapRaw,
    /// This process's own copy of the capacity (never re-read from the memory).
    capacity: u32,
}

impl SharedRing {
    /// A new ring for `producer` of `capacity` messages (a power of two up to
    /// [`MAX_CAPACITY`]): a sealed memfd, its header written. Returns the mapping and the
    /// descriptor to hand to the client.
    pub fn create(capacity: u32, producer: u16) -> io::Result<(SharedRing, OwnedFd)> {
        if !capacity.is_power_of_two() || capacity > MAX_CAPACITY {
            return Err(io::Error::new(io::ErrorKind::InvalidInput, "ring capacity not a power of two"));
        }
        // SAFETY: the name is a NUL-terminated literal; a plain system call otherwise.
        let raw = unsafe {
            libc::memfd_create(c"oms-ipc-ring".as_ptr(), libc::MFD_CLOEXEC | libc::MFD_ALLOW_SEALING)
        };
        if raw < 0 {
            return Err(io::Error::last_os_error());
        }
        // SAFETY: `raw` is a new descriptor nothing else owns.
        let fd = unsafe { OwnedFd::from_raw_fd(raw) };
        let file = File::from(fd.try_clone()?);
        file.set_len(ring_bytes(capacity) as u64)?;
        let seals = libc::F_SEAL_SHRINK | libc::F_SEAL_GROW | libc::F_SEAL_SEAL;
        // SAFETY: a plain fcntl on a descriptor this function owns; no memory is passed.
        if unsafe { libc::fcntl(file.as_raw_fd(), libc::F_ADD_SEALS, seals) } != 0 {
            return Err(io::Error::last_os_error());
        }
        let ring = SharedRing::map(&file, capacity)?;
        ring.word(0).store(MAGIC, Ordering::Relaxed);
        ring.word(8).store(u64::from(VERSION) | u64::from(capacity) << 32, Ordering::Relaxed);
        ring.word(16).store(u64::from(producer), Ordering::Relaxed);
        ring.prefault();
        Ok((ring, fd))
    }

    /// Maps the ring handed over as `fd`, which the handshake said holds `capacity` messages
    /// (the client's side). Refuses a descriptor of another size or header.
    pub fn open(fd: OwnedFd, capacity: u32) -> io::Result<SharedRing> {
        let bad = |what: &str| io::Error::new(io::ErrorKind::InvalidData, what.to_string());
        if !capacity.is_power_of_two() || capacity > MAX_CAPACITY {
            return Err(bad("ring capacity not a power of two"));
        }
        let file = File::from(fd);
        if file.metadata()?.len() != ring_bytes(capacity) as u64 {
            return Err(bad("ring of another size"));
        }
        let ring = SharedRing::map(&file, capacity)?;
        let version = ring.word(8).load(Ordering::Relaxed);
        if ring.word(0).load(Ordering::Relaxed) != MAGIC
            || version != u64::from(VERSION) | u64::from(capacity) << 32
        {
            return Err(bad("not an oms ring of this version"));
        }
        Ok(ring)
    }

    fn map(file: &File, capacity: u32) -> io::Result<SharedRing> {
        let map = MmapOptions::new().len(ring_bytes(capacity)).map_raw(file)?;
        if map.len() != ring_bytes(capacity) || map.as_ptr().align_offset(8) != 0 {
            return Err(io::Error::other("mapping of an unexpected size"));
        }
        Ok(SharedRing { map, capacity })
    }

    /// Touches every page (the engine's first message does not fault).
    fn prefault(&self) {
        for off in (0..self.map.len()).step_by(4096) {
            self.word(off).store(0, Ordering::Relaxed);
        }
        self.word(0).store(MAGIC, Ordering::Relaxed);
    }

    /// The word at byte `offset`. Every caller passes a multiple of 8 computed from constants
    /// and this process's `capacity`, below the mapping's length.
    #[inline(always)]
    fn word(&self, offset: usize) -> &AtomicU64 {
        debug_assert!(offset.is_multiple_of(8) && offset + 8 <= self.map.len(), "offset {offset}");
        // Checked in release builds too: a wrong offset must never reach the pointer.
        assert!(offset + 8 <= self.map.len());
        // SAFETY: `offset + 8` is within the mapping (asserted) and a multiple of 8 from its
        // page-aligned start, so the pointer is valid and aligned for an `AtomicU64` as long as
        // `self` (which owns the mapping) lives, and the returned borrow cannot outlive `self`.
        // The bytes may be changed at any moment by another process: `AtomicU64` is an
        // `UnsafeCell`, so no immutability is assumed, and this module only loads and stores it
        // atomically, so such a change is a value, never undefined behaviour. The file cannot
        // shrink under the mapping (sealed, `create`).
        unsafe { &*self.map.as_ptr().add(offset).cast::<AtomicU64>() }
    }

    /// Messages in the ring.
    pub fn capacity(&self) -> u32 {
        self.capacity
    }

    /// The head (messages published), as the client last wrote it: acquire, so the slots
    /// below it are visible. Untrusted on the engine's side.
    #[inline(always)]
    pub fn head(&self) -> u64 {
        self.word(HEAD).load(Ordering::Acquire)
    }

    /// Publishes the head (the client's side), after the slots below it are written.
    #[inline(always)]
    pub fn publish_head(&self, head: u64) {
        self.word(HEAD).store(head, Ordering::Release);
    }

    /// The tail (messages taken), as the engine last wrote it.
    #[inline(always)]
    pub fn tail(&self) -> u64 {
        self.word(TAIL).load(Ordering::Acquire)
    }

    /// Frees the slots below `tail` (the engine's side), after they are copied out.
    #[inline(always)]
    pub fn publish_tail(&self, tail: u64) {
        self.word(TAIL).store(tail, Ordering::Release);
    }

    /// Whether the engine may be asleep (the client's side, after its fence).
    #[inline(always)]
    pub fn sleeping(&self) -> bool {
        self.word(SLEEPING).load(Ordering::Relaxed) != 0
    }

    /// Sets or clears the flag (the engine's side; the doorbell's fence follows a set).
    #[inline(always)]
    pub fn set_sleeping(&self, sleeping: bool) {
        self.word(SLEEPING).store(u64::from(sleeping), Ordering::Relaxed);
    }

    /// The 8 words of the slot of sequence number `seq` (`seq mod capacity`): one bounds check
    /// for the slot, not one per word (`benches/instructions.rs`, the client workloads).
    #[inline(always)]
    fn slot(&self, seq: u64) -> &[AtomicU64; 8] {
        let at = HEADER_BYTES + (seq & u64::from(self.capacity - 1)) as usize * SLOT_BYTES;
        // Checked in release builds too: a wrong offset must never reach the pointer.
        assert!(at + SLOT_BYTES <= self.map.len());
        // SAFETY: `at + 64` is within the mapping (asserted) and `at` a multiple of 64 from its
        // page-aligned start, so the pointer is valid and aligned for 8 `AtomicU64`s as long as
        // `self` (which owns the mapping) lives, and the borrow cannot outlive `self`. Another
        // process may change the bytes at any moment: each `AtomicU64` is an `UnsafeCell`, and
        // this module only loads and stores them atomically (see `word`). The file cannot
        // shrink under the mapping (sealed, `create`).
        unsafe { &*self.map.as_ptr().add(at).cast::<[AtomicU64; 8]>() }
    }

    /// A copy of the message of sequence number `seq` (its slot `seq mod capacity`).
    #[inline(always)]
    pub fn read_slot(&self, seq: u64) -> [u64; 8] {
        let w = self.slot(seq);
        std::array::from_fn(|i| w[i].load(Ordering::Relaxed))
    }

    /// Writes the message of sequence number `seq` (the client's side).
    #[inline(always)]
    pub fn write_slot(&self, seq: u64, words: &[u64; 8]) {
        for (slot, w) in self.slot(seq).iter().zip(words) {
            slot.store(*w, Ordering::Relaxed);
        }
    }

    /// Stores `value` at the word `index` of the mapping (any word, header included; taken
    /// modulo the mapping's words). For tests of a hostile client only.
    #[doc(hidden)]
    pub fn scribble(&self, index: usize, value: u64) {
        self.word((index % (self.map.len() / 8)) * 8).store(value, Ordering::Relaxed);
    }
}

/// A request as the 8 words of a slot: order id, price bits, quantity, arrival stamp (raw
/// clock), symbol id (low 32 bits) and side (high 32), request type, two zero words.
#[inline(always)]
pub fn encode(o: &OrderRequest, request: RequestType, arrival_raw: u64) -> [u64; 8] {
    [
        o.order_id,
        o.price.to_bits(),
        o.qty,
        arrival_raw,
        u64::from(o.symbol_id as u32) | u64::from(u32::from(o.side)) << 32,
        request as u64,
        0,
        0,
    ]
}

/// What a slot's words say, every field checked for what it can be: a request type outside
/// 0..=3 reads as `Unknown` (rejected `invalid_request_type`), a side that is not a Unicode
/// scalar as `'\u{FFFD}'` (rejected `invalid_side` on a New). Returns the order, its request
/// and the arrival stamp, which the caller must clamp (it is the client's).
#[inline(always)]
pub fn decode(w: &[u64; 8]) -> (OrderRequest, RequestType, u64) {
    let side = char::from_u32((w[4] >> 32) as u32).unwrap_or('\u{FFFD}');
    let request = if w[5] <= 3 { RequestType::from_u8(w[5] as u8) } else { RequestType::Unknown };
    let order = OrderRequest {
        order_id: w[0],
        price: f64::from_bits(w[1]),
        qty: w[2],
        symbol_id: w[4] as u32 as i32,
        side,
    };
    (order, request, w[3])
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Side;

    #[test]
    fn a_message_round_trips_and_garbage_decodes_to_what_is_rejected() {
        let o = OrderRequest::new(7, -3, Side::Sell, 101.25, 9);
        let w = encode(&o, RequestType::Modify, 42);
        assert_eq!(decode(&w), (o, RequestType::Modify, 42));
        let mut bad = w;
        bad[4] = 0xD800_u64 << 32; // a surrogate: not a char
        bad[5] = 99;
        let (o2, r, _) = decode(&bad);
        assert_eq!((o2.side, r), ('\u{FFFD}', RequestType::Unknown));
    }

    #[test]
    fn the_memfd_is_sealed_and_both_ends_see_the_same_words() {
        let (engine, fd) = SharedRing::create(8, 3).unwrap();
        let dup = fd.try_clone().unwrap();
        let client = SharedRing::open(fd, 8).unwrap();
        client.write_slot(9, &[1, 2, 3, 4, 5, 6, 7, 8]);
        client.publish_head(10);
        assert_eq!((engine.head(), engine.read_slot(9)), (10, [1, 2, 3, 4, 5, 6, 7, 8]));
        assert_eq!(engine.read_slot(1), [1, 2, 3, 4, 5, 6, 7, 8], "9 mod 8");
        engine.set_sleeping(true);
        assert!(client.sleeping());
        let file = File::from(dup);
        let err = file.set_len(0).expect_err("sealed against shrinking");
        assert_eq!(err.raw_os_error(), Some(libc::EPERM));
        assert!(SharedRing::open(file.try_clone().unwrap().into(), 16).is_err(), "wrong size");
        client.scribble(usize::MAX, u64::MAX); // any index lands inside
    }
}
