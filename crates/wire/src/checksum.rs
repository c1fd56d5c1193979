//! The internet checksum (RFC 1071), pseudo-headers, and incremental update (RFC 1624).
//!
//! All functions return the folded one's-complement *sum* as a `u16` in the same
//! numeric form a big-endian read of the checksum field gives. A header's checksum
//! field holds the complement of the sum; a packet verifies when the sum over it
//! (with the field in place, plus the pseudo-header) is `0xffff`.

use core::net::{Ipv4Addr, Ipv6Addr};

//= https://www.rfc-editor.org/rfc/rfc1071#section-2
//# (B)  Byte Order Independence
//#
//#      The sum of 16-bit integers can be computed in either byte order.

/// Fold a wide one's-complement accumulator to 16 bits.
#[inline]
fn fold(mut sum: u64) -> u16 {
    while sum > 0xffff {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    sum as u16
}

/// The one's-complement sum of `data`, taken as big-endian 16-bit words with an odd
/// final byte padded by a zero.
///
/// The bytes are summed four at a time in native byte order into a 64-bit accumulator
/// (which cannot overflow below 2^32 words, i.e. 16 GiB) and folded once at the end;
/// RFC 1071's byte-order independence makes the final byte swap exact. Blocks of 64
/// bytes keep sixteen independent lanes so the compiler vectorises the loop; of the
/// safe formulations measured (u16 lanes, u64 words with carry counting, 4/8/16 lanes)
/// this was the fastest (docs/benchmarks.md).
#[inline]
pub fn data(data: &[u8]) -> u16 {
    let mut lanes = [0u64; 16];
    let mut blocks = data.chunks_exact(64);
    for block in &mut blocks {
        for (lane, word) in lanes.iter_mut().zip(block.chunks_exact(4)) {
            *lane += u64::from(u32::from_ne_bytes([word[0], word[1], word[2], word[3]]));
        }
    }
    let mut sum: u64 = lanes.iter().sum();
    let rest = blocks.remainder();
    let mut words = rest.chunks_exact(4);
    for word in &mut words {
        sum += u64::from(u32::from_ne_bytes([word[0], word[1], word[2], word[3]]));
    }
    let tail = words.remainder();
    if !tail.is_empty() {
        let mut padded = [0u8; 4];
        padded[..tail.len()].copy_from_slice(tail);
        sum += u64::from(u32::from_ne_bytes(padded));
    }
    let folded = fold(sum);
    if cfg!(target_endian = "little") {
        folded.swap_bytes()
    } else {
        folded
    }
}

/// The one's-complement sum of several partial sums.
///
/// Each partial sum must cover a byte range that starts at an even offset of the
/// checksummed whole (every header boundary in IP does).
#[inline]
pub fn combine(sums: &[u16]) -> u16 {
    fold(sums.iter().map(|&s| u64::from(s)).sum())
}

/// The sum of the IPv4 pseudo-header for an upper-layer packet of `length` bytes.
//= https://www.rfc-editor.org/rfc/rfc9293#section-3.1
//# The checksum also covers a pseudo-header (Figure 2) conceptually
//# prefixed to the TCP header.
#[inline]
pub fn pseudo_header_v4(src: Ipv4Addr, dst: Ipv4Addr, protocol: u8, length: u16) -> u16 {
    let s = src.octets();
    let d = dst.octets();
    let words = [
        u16::from_be_bytes([s[0], s[1]]),
        u16::from_be_bytes([s[2], s[3]]),
        u16::from_be_bytes([d[0], d[1]]),
        u16::from_be_bytes([d[2], d[3]]),
        u16::from(protocol),
        length,
    ];
    combine(&words)
}

/// The sum of the IPv6 pseudo-header for an upper-layer packet of `length` bytes.
//= https://www.rfc-editor.org/rfc/rfc8200#section-8.1
//# Any transport or other upper-layer protocol that includes the
//# addresses from the IP header in its checksum computation must be
//# modified for use over IPv6, to include the 128-bit IPv6 addresses
//# instead of 32-bit IPv4 addresses.
#[inline]
pub fn pseudo_header_v6(src: Ipv6Addr, dst: Ipv6Addr, next_header: u8, length: u32) -> u16 {
    let mut sum: u64 = 0;
    for seg in src.segments().iter().chain(dst.segments().iter()) {
        sum += u64::from(*seg);
    }
    sum += u64::from(length >> 16) + u64::from(length & 0xffff);
    sum += u64::from(next_header);
    fold(sum)
}

/// The value to store in a checksum field, given the sum over everything it covers
/// (with the field itself zero).
#[inline]
pub fn finish(sum: u16) -> u16 {
    !sum
}

/// Update a stored checksum after one 16-bit word of the covered data changed from
/// `old` to `new`, without summing the packet again.
//= https://www.rfc-editor.org/rfc/rfc1624#section-3
//# HC' = ~(~HC + ~m + m')    --    [Eqn. 3]
#[inline]
pub fn update(stored: u16, old: u16, new: u16) -> u16 {
    !combine(&[!stored, !old, new])
}

/// [`update`] for a 32-bit field (two adjacent words), e.g. an IPv4 address.
#[inline]
pub fn update_u32(stored: u16, old: u32, new: u32) -> u16 {
    let c = update(stored, (old >> 16) as u16, (new >> 16) as u16);
    update(c, old as u16, new as u16)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// The textbook definition: big-endian 16-bit words, one at a time.
    fn reference(bytes: &[u8]) -> u16 {
        let mut sum: u32 = 0;
        for pair in bytes.chunks(2) {
            let word = if pair.len() == 2 {
                u16::from_be_bytes([pair[0], pair[1]])
            } else {
                u16::from_be_bytes([pair[0], 0])
            };
            sum += u32::from(word);
            sum = (sum & 0xffff) + (sum >> 16);
        }
        sum as u16
    }

    #[test]
    fn rfc1071_example_sums_to_ddf2() {
        // RFC 1071 section 3: bytes 00 01 f2 03 f4 f5 f6 f7 sum to ddf2.
        assert_eq!(
            data(&[0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7]),
            0xddf2
        );
    }

    #[test]
    fn real_ipv4_header_verifies() {
        // 20-byte IPv4 header from a Linux loopback capture, checksum 0xb861.
        let hdr = [
            0x45, 0x00, 0x00, 0x73, 0x00, 0x00, 0x40, 0x00, 0x40, 0x11, 0xb8, 0x61, 0xc0, 0xa8,
            0x00, 0x01, 0xc0, 0xa8, 0x00, 0xc7,
        ];
        assert_eq!(data(&hdr), 0xffff);
        let mut zeroed = hdr;
        zeroed[10] = 0;
        zeroed[11] = 0;
        assert_eq!(finish(data(&zeroed)), 0xb861);
    }

    #[test]
    fn incremental_update_matches_recompute_for_ttl_decrement() {
        let mut hdr = [
            0x45, 0x00, 0x00, 0x73, 0x00, 0x00, 0x40, 0x00, 0x40, 0x11, 0x00, 0x00, 0xc0, 0xa8,
            0x00, 0x01, 0xc0, 0xa8, 0x00, 0xc7,
        ];
        let before = finish(data(&hdr));
        let old_word = u16::from_be_bytes([hdr[8], hdr[9]]);
        hdr[8] -= 1;
        let new_word = u16::from_be_bytes([hdr[8], hdr[9]]);
        assert_eq!(update(before, old_word, new_word), finish(data(&hdr)));
    }

    proptest! {
        #[test]
        fn fast_sum_equals_reference(bytes in proptest::collection::vec(any::<u8>(), 0..2000)) {
            prop_assert_eq!(data(&bytes), reference(&bytes));
        }

        #[test]
        fn split_at_even_offset_combines(bytes in proptest::collection::vec(any::<u8>(), 0..600), cut in 0usize..300) {
            let cut = (cut * 2).min(bytes.len() & !1);
            let (a, b) = bytes.split_at(cut);
            prop_assert_eq!(combine(&[data(a), data(b)]), reference(&bytes));
        }

        #[test]
        fn update_matches_recompute(mut bytes in proptest::collection::vec(any::<u8>(), 4..64), word in 0usize..2, new: u16) {
            let stored = finish(data(&bytes));
            let at = word * 2;
            let old = u16::from_be_bytes([bytes[at], bytes[at + 1]]);
            bytes[at..at + 2].copy_from_slice(&new.to_be_bytes());
            let recomputed = finish(data(&bytes));
            let updated = update(stored, old, new);
            // One's complement has two zeros (0x0000 and 0xffff); both verify alike.
            prop_assert!(updated == recomputed || (updated == 0 && recomputed == 0xffff) || (updated == 0xffff && recomputed == 0));
        }

        #[test]
        fn update_u32_matches_recompute(mut bytes in proptest::collection::vec(any::<u8>(), 8..64), new: u32) {
            let stored = finish(data(&bytes));
            let old = u32::from_be_bytes([bytes[0], bytes[1], bytes[2], bytes[3]]);
            bytes[0..4].copy_from_slice(&new.to_be_bytes());
            let recomputed = finish(data(&bytes));
            let updated = update_u32(stored, old, new);
            prop_assert!(updated == recomputed || (updated == 0 && recomputed == 0xffff) || (updated == 0xffff && recomputed == 0));
        }
    }
}
