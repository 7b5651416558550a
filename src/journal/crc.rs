//! CRC-32 of a record's first 60 bytes: the same value as `crc32fast::hash(&bytes[..60])`
//! (IEEE 802.3 / zlib CRC-32), computed faster for this one fixed size.
//!
//! Why: measured on these machines (`examples`-style loop over 1M records, /dev/shm), a
//! `crc32fast::hash` call over 60 bytes costs ~24 ns in a loop (generic dispatch, a fold chain,
//! and a 12-byte partial block), more than three times the rest of an append (~7 ns). Here
//! the 60 bytes are preceded by four bytes ([`NEUTRAL_PREFIX`]) that leave the CRC register
//! at its initial value, which makes exactly four 16-byte lanes; each lane is folded straight
//! to the end with carry-less multiplies (independent, so they run in parallel), then the
//! 128-bit remainder is reduced to 32 bits exactly as crc32fast does (constants and Barrett
//! reduction from Intel's "Fast CRC Computation Using PCLMULQDQ"). Without PCLMULQDQ (or off
//! x86-64) it falls back to crc32fast. Tests compare both on random input.

use crate::event::{EventRecord, RECORD_SIZE};

/// Four bytes after which the CRC-32 register is back at its initial value (all ones): the
/// CRC-32 of `NEUTRAL_PREFIX ++ m` equals the CRC-32 of `m`.
pub const NEUTRAL_PREFIX: [u8; 4] = neutral_prefix();

const fn neutral_prefix() -> [u8; 4] {
    // Run 32 steps of the reflected CRC-32 (polynomial 0xEDB88320) backwards from all ones: a
    // forward step shifts right and XORs the polynomial (whose bit 31 is set) if the bit shifted
    // out was 1, so bit 31 of the result tells which case it was.
    const POLY: u32 = 0xEDB8_8320;
    let mut reg = u32::MAX;
    let mut i = 0;
    while i < 32 {
        reg = if reg & 0x8000_0000 != 0 { ((reg ^ POLY) << 1) | 1 } else { reg << 1 };
        i += 1;
    }
    // `reg` is the register right after the prefix was XORed into the initial all-ones value.
    (reg ^ u32::MAX).to_le_bytes()
}

/// The record's eight little-endian 64-bit words (`words[i]` = bytes `8i..8i+8` read as a
/// little-endian `u64`). The checksum lives in the high half of word 7.
pub type RecordWords = [u64; RECORD_SIZE / 8];

/// The words of a record as stored: fields at their wire offsets, `seq` replaced by `seq`, the
/// checksum half left 0. Built from the fields rather than from `to_bytes()`: 16-byte loads
/// over a just-built byte array defeat store-to-load forwarding (perf showed it as the hottest
/// instruction of the append, ~20 ns per record).
#[inline(always)]
pub fn record_words(r: &EventRecord, seq: u64) -> RecordWords {
    [
        seq,
        r.time_ns as u64,
        r.order_id,
        r.price.to_bits(),
        r.qty,
        r.latency_ns,
        u64::from(r.symbol as u32) | (u64::from(r.side) << 32),
        u64::from(r.kind)
            | (u64::from(r.response) << 8)
            | (u64::from(r.reason) << 16)
            | (u64::from(r.request) << 24),
    ]
}

/// CRC-32 of the first 60 bytes of the record made of `words` (the high half of word 7, the
/// checksum itself, is ignored).
#[inline]
pub fn record_crc_words(words: &RecordWords) -> u32 {
    #[cfg(target_arch = "x86_64")]
    {
        if std::arch::is_x86_feature_detected!("pclmulqdq") && std::arch::is_x86_feature_detected!("sse4.1") {
            // SAFETY: the CPU has the features `x86::crc60` is compiled for (checked above).
            return unsafe { x86::crc60(words) };
        }
    }
    let mut b = [0u8; RECORD_SIZE];
    for (chunk, w) in b.chunks_exact_mut(8).zip(words) {
        chunk.copy_from_slice(&w.to_le_bytes());
    }
    crc32fast::hash(&b[..60])
}

/// CRC-32 of `bytes[..60]` (equal to `crc32fast::hash(&bytes[..60])`).
#[inline]
pub fn record_crc(bytes: &[u8; RECORD_SIZE]) -> u32 {
    record_crc_words(&words_of(bytes))
}

/// CRC-32 of the first 60 bytes of each 64-byte record in `slots` (a whole number of records)
/// into `out` (one per record; extra entries untouched). For readers: one call per block keeps
/// the CPU busy on many independent records at once.
pub fn record_crcs(slots: &[u8], out: &mut [u32]) {
    debug_assert!(slots.len().is_multiple_of(RECORD_SIZE) && out.len() * RECORD_SIZE >= slots.len());
    #[cfg(target_arch = "x86_64")]
    {
        if std::arch::is_x86_feature_detected!("pclmulqdq") && std::arch::is_x86_feature_detected!("sse4.1") {
            // SAFETY: the CPU has the features `x86::crc60_many` is compiled for (checked above).
            unsafe { x86::crc60_many(slots, out) };
            return;
        }
    }
    for (c, o) in slots.chunks_exact(RECORD_SIZE).zip(out.iter_mut()) {
        *o = crc32fast::hash(&c[..60]);
    }
}

/// The little-endian words of a record's bytes.
#[inline(always)]
pub fn words_of(bytes: &[u8; RECORD_SIZE]) -> RecordWords {
    let mut w = [0u64; RECORD_SIZE / 8];
    for (i, c) in bytes.chunks_exact(8).enumerate() {
        let mut a = [0u8; 8];
        a.copy_from_slice(c);
        w[i] = u64::from_le_bytes(a);
    }
    w
}

#[cfg(target_arch = "x86_64")]
mod x86 {
    use std::arch::x86_64::{
        __m128i, _mm_and_si128, _mm_clmulepi64_si128, _mm_extract_epi32, _mm_set_epi32, _mm_set_epi64x,
        _mm_srli_si128, _mm_xor_si128,
    };

    use super::{NEUTRAL_PREFIX, RECORD_SIZE, RecordWords};

    // Fold constants (reflect(x^(D+32) mod P) << 1, reflect(x^(D-32) mod P) << 1) for a fold by
    // D bits; D = 128 are crc32fast's K3/K4. D = 256 and 384 computed the same way (checked by
    // the tests against crc32fast).
    const K128: (i64, i64) = (0x1751997d0, 0x0ccaa009e);
    const K256: (i64, i64) = (0x0f1da05aa, 0x15a546366);
    const K384: (i64, i64) = (0x03db1ecdc, 0x174359406);
    const K5: i64 = 0x163cd6124;
    const P_X: i64 = 0x1DB710641;
    const U_PRIME: i64 = 0x1F7011641;

    /// Folds `x` forward by the distance of `k`: x.lo·k.0 ⊕ x.hi·k.1.
    #[inline]
    #[target_feature(enable = "pclmulqdq", enable = "sse4.1")]
    fn fold(x: __m128i, k: (i64, i64)) -> __m128i {
        let keys = _mm_set_epi64x(k.1, k.0);
        _mm_xor_si128(_mm_clmulepi64_si128(x, keys, 0x00), _mm_clmulepi64_si128(x, keys, 0x11))
    }

    /// CRC-32 of `NEUTRAL_PREFIX ++ bytes[..60]` (= CRC-32 of `bytes[..60]`), from the words.
    ///
    /// The four 16-byte lanes are built here with SSE2 (baseline on x86-64, so this inlines into
    /// the caller) from 64-bit values already in registers, and handed over in XMM registers:
    /// a 16-byte load never reads memory just written by narrower stores (which defeats
    /// store-to-load forwarding and stalls); the lanes travel as whole 16-byte values.
    ///
    /// # Safety
    /// The CPU must support PCLMULQDQ and SSE4.1.
    #[inline(always)]
    pub(super) unsafe fn crc60(w: &RecordWords) -> u32 {
        // Word i of the 64-byte stream is the high half of record word i-1 and the low half of
        // record word i; the prefix (with the initial all-ones register XORed in) leads.
        let head = u64::from(u32::from_le_bytes(NEUTRAL_PREFIX) ^ u32::MAX);
        let s = |i: usize| (w[i - 1] >> 32) | (w[i] << 32);
        // SAFETY: SSE2 is part of the x86-64 baseline.
        let lane = |lo: u64, hi: u64| unsafe { _mm_set_epi64x(hi as i64, lo as i64) };
        let l0 = lane(head | (w[0] << 32), s(1));
        let l1 = lane(s(2), s(3));
        let l2 = lane(s(4), s(5));
        let l3 = lane(s(6), s(7));
        // SAFETY: the caller guarantees PCLMULQDQ and SSE4.1.
        unsafe { reduce(l0, l1, l2, l3) }
    }

    /// [`super::record_crcs`] with the target features enabled, so everything inlines.
    ///
    /// # Safety
    /// The CPU must support PCLMULQDQ and SSE4.1.
    #[target_feature(enable = "pclmulqdq", enable = "sse4.1")]
    pub(super) unsafe fn crc60_many(slots: &[u8], out: &mut [u32]) {
        for (c, o) in slots.chunks_exact(RECORD_SIZE).zip(out.iter_mut()) {
            if let Ok(c) = <&[u8; RECORD_SIZE]>::try_from(c) {
                // SAFETY: this function's target features are the ones `crc60` needs.
                *o = unsafe { crc60(&super::words_of(c)) };
            }
        }
    }

    /// CRC-32 of the 64 bytes in `l0..l3` (initial register already XORed into `l0`).
    ///
    /// # Safety
    /// The CPU must support PCLMULQDQ and SSE4.1.
    #[target_feature(enable = "pclmulqdq", enable = "sse4.1")]
    unsafe fn reduce(l0: __m128i, l1: __m128i, l2: __m128i, l3: __m128i) -> u32 {
        // Fold every lane straight to the last one (independent multiplies).
        let x =
            _mm_xor_si128(_mm_xor_si128(fold(l0, K384), fold(l1, K256)), _mm_xor_si128(fold(l2, K128), l3));

        // 128 → 64 bits, then Barrett reduction to 32 bits (as in crc32fast).
        let k3k4 = _mm_set_epi64x(K128.1, K128.0);
        let x = _mm_xor_si128(_mm_clmulepi64_si128(x, k3k4, 0x10), _mm_srli_si128(x, 8));
        let low32 = _mm_set_epi32(0, 0, 0, !0);
        let x = _mm_xor_si128(
            _mm_clmulepi64_si128(_mm_and_si128(x, low32), _mm_set_epi64x(0, K5), 0x00),
            _mm_srli_si128(x, 4),
        );
        let pu = _mm_set_epi64x(U_PRIME, P_X);
        let t1 = _mm_clmulepi64_si128(_mm_and_si128(x, low32), pu, 0x10);
        let t2 = _mm_clmulepi64_si128(_mm_and_si128(t1, low32), pu, 0x00);
        !(_mm_extract_epi32(_mm_xor_si128(x, t2), 1) as u32)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn neutral_prefix_is_neutral() {
        let mut rng = fastrand::Rng::with_seed(11);
        for len in [0usize, 1, 7, 60, 100] {
            let mut m = vec![0u8; len];
            rng.fill(&mut m);
            let mut z = NEUTRAL_PREFIX.to_vec();
            z.extend_from_slice(&m);
            assert_eq!(crc32fast::hash(&z), crc32fast::hash(&m), "len {len}");
        }
    }

    #[test]
    fn words_are_the_wire_bytes() {
        use crate::order::{OrderRequest, RequestType, Side};
        let o = OrderRequest::new(42, -7, Side::Sell, 101.25, 300);
        let mut r = EventRecord::for_order(crate::EventKind::Rejected, -5, &o, RequestType::Modify);
        r.latency_ns = 77;
        r.response = 2;
        r.reason = 9;
        r.seq = 1234;
        r.checksum = r.compute_checksum();
        let mut w = record_words(&r, 1234);
        assert_eq!(record_crc_words(&w), r.checksum);
        w[7] |= u64::from(r.checksum) << 32;
        assert_eq!(w, words_of(&r.to_bytes()));
    }

    #[test]
    fn equals_crc32fast_on_random_and_edge_input() {
        let mut rng = fastrand::Rng::with_seed(7);
        let mut cases: Vec<[u8; RECORD_SIZE]> = vec![[0; RECORD_SIZE], [0xff; RECORD_SIZE]];
        for _ in 0..20_000 {
            let mut b = [0u8; RECORD_SIZE];
            rng.fill(&mut b);
            cases.push(b);
        }
        for i in 0..RECORD_SIZE * 8 {
            let mut b = [0u8; RECORD_SIZE];
            b[i / 8] = 1 << (i % 8);
            cases.push(b);
        }
        for b in &cases {
            assert_eq!(record_crc(b), crc32fast::hash(&b[..60]), "{b:?}");
        }
        let flat: Vec<u8> = cases.iter().flatten().copied().collect();
        let mut out = vec![0u32; cases.len()];
        record_crcs(&flat, &mut out);
        for (b, c) in cases.iter().zip(&out) {
            assert_eq!(*c, crc32fast::hash(&b[..60]));
        }
    }
}
