//! The record checksum: CRC-32C (Castagnoli) of a record's bytes `0..60`, stored in bytes
//! `60..64`; the segment header's checksum uses the same polynomial.

use super::{CHECKSUMMED, RECORD_SIZE, Words, bytes_to_words, words_to_bytes};

/// The checksum of a record's bytes: CRC-32C (Castagnoli) of bytes `0..60`.
#[inline]
pub fn checksum(b: &[u8; RECORD_SIZE]) -> u32 {
    crc32c_words(&bytes_to_words(b))
}

/// The checksum stored in a record's words.
#[inline(always)]
pub fn stored_checksum(w: &Words) -> u32 {
    (w[7] >> 32) as u32
}

/// Computes the checksum of `w` and stores it in the high half of word 7.
#[inline(always)]
pub fn seal(w: &mut Words) {
    w[7] = (w[7] & 0xffff_ffff) | (u64::from(crc32c_words(w)) << 32);
}

/// The checksums of each 64-byte record in `slots` (a whole number of records), into `out`
/// (the reader's block form of [`checksum`]).
pub fn checksums(slots: &[u8], out: &mut [u32]) {
    debug_assert!(slots.len().is_multiple_of(RECORD_SIZE) && out.len() * RECORD_SIZE >= slots.len());
    for (c, o) in slots.chunks_exact(RECORD_SIZE).zip(out.iter_mut()) {
        let c: &[u8; RECORD_SIZE] = c.try_into().expect("chunks of RECORD_SIZE");
        *o = crc32c_words(&bytes_to_words(c));
    }
}

/// CRC-32C of the first 60 bytes of a record given as its little-endian words (the checksum
/// half of word 7 is not read). With SSE4.2 (detected at run time; every x86-64 CPU since 2008)
/// it is eight `crc32` instructions, seven on 8 bytes and one on 4, straight from the words in
/// registers; elsewhere a table, a byte at a time.
#[inline(always)]
fn crc32c_words(w: &Words) -> u32 {
    #[cfg(all(target_arch = "x86_64", not(miri)))]
    if std::arch::is_x86_feature_detected!("sse4.2") {
        // SAFETY: the CPU has SSE4.2, checked just above.
        return unsafe { crc32c_words_sse42(w) };
    }
    crc32c_soft(&words_to_bytes(w)[..CHECKSUMMED])
}

/// [`crc32c_words`] with the SSE4.2 `crc32` instruction.
///
/// # Safety
/// The CPU must support SSE4.2.
#[cfg(all(target_arch = "x86_64", not(miri)))]
#[target_feature(enable = "sse4.2")]
#[inline]
unsafe fn crc32c_words_sse42(w: &Words) -> u32 {
    use std::arch::x86_64::{_mm_crc32_u32, _mm_crc32_u64};
    // `crc32` consumes its operand's bytes in memory (little-endian) order, so a word holds the
    // record's bytes 8i..8i+8 in the order the CRC reads them.
    let mut c = u64::from(u32::MAX);
    for &word in &w[..7] {
        c = _mm_crc32_u64(c, word);
    }
    !_mm_crc32_u32(c as u32, w[7] as u32)
}

/// The CRC-32C lookup table (reflected polynomial 0x82F63B78).
const CRC32C_TABLE: [u32; 256] = {
    let mut t = [0u32; 256];
    let mut i = 0;
    while i < 256 {
        let mut c = i as u32;
        let mut k = 0;
        while k < 8 {
            c = if c & 1 != 0 { (c >> 1) ^ 0x82F6_3B78 } else { c >> 1 };
            k += 1;
        }
        t[i] = c;
        i += 1;
    }
    t
};

/// CRC-32C of `b`, a byte at a time (no SSE4.2, and Miri).
pub(super) fn crc32c_soft(b: &[u8]) -> u32 {
    !crc32c_update(u32::MAX, b)
}

/// Feeds `b` into a CRC-32C register `c` (start with `u32::MAX`, finish with `!`): the segment
/// header's checksum, over two ranges. A table, a byte at a time (headers are read once per
/// segment).
pub(crate) fn crc32c_update(mut c: u32, b: &[u8]) -> u32 {
    for &x in b {
        c = CRC32C_TABLE[((c ^ u32::from(x)) & 0xff) as usize] ^ (c >> 8);
    }
    c
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The hardware and table forms agree, and are the standard CRC-32C (the check value of
    /// "123456789" is 0xE3069283; RFC 3720 gives 32 zero bytes as 0x8A9136AA).
    #[test]
    fn crc32c_is_the_standard_one_in_both_forms() {
        assert_eq!(crc32c_soft(b"123456789"), 0xE306_9283);
        assert_eq!(crc32c_soft(&[0u8; 32]), 0x8A91_36AA);
        let mut rng = 0x9E37_79B9_7F4A_7C15u64;
        for _ in 0..1000 {
            let mut w = [0u64; 8];
            for x in &mut w {
                rng ^= rng << 13;
                rng ^= rng >> 7;
                rng ^= rng << 17;
                *x = rng;
            }
            let b = words_to_bytes(&w);
            assert_eq!(crc32c_words(&w), crc32c_soft(&b[..60]), "{w:x?}");
            assert_eq!(checksum(&b), crc32c_soft(&b[..60]));
        }
    }
}
