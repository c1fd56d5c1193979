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
///
/// Two end-around-carry additions, 64 to 32 bits and 32 to 16 (2^32 - 1 is a
/// multiple of 2^16 - 1, so both keep the value modulo 0xffff). A non-zero sum folds
/// to a value in `1..=0xffff` and zero stays zero, as repeated folding gives it.
#[inline]
fn fold(sum: u64) -> u16 {
    let (half, carry) = (sum as u32).overflowing_add((sum >> 32) as u32);
    // No overflow: with a carry out, `half` is at most 2^32 - 2.
    let half = half + u32::from(carry);
    let (quarter, carry) = (half as u16).overflowing_add((half >> 16) as u16);
    quarter + u16::from(carry)
}

/// The one's-complement sum of `data`, taken as big-endian 16-bit words with an odd
/// final byte padded by a zero.
///
/// The bytes are read four at a time as native-endian `u32` words, summed without
/// reduction into wide accumulators, and folded once at the end; RFC 1071's byte-order
/// independence makes the final byte swap exact. On x86-64 CPUs with AVX2 (checked at
/// run time, once) the sum runs on 256-bit vectors through the `pulp` crate, which owns
/// the `unsafe` of calling a `#[target_feature]` function; elsewhere a safe
/// auto-vectorised loop does it (SSE2 on baseline x86-64, NEON on aarch64). Both give
/// the same result; docs/benchmarks.md has the figures.
#[inline]
pub fn data(data: &[u8]) -> u16 {
    // Headers (an IPv4 header, ICMP, a pseudo-header) are summed word by word: for a
    // few dozen bytes the vector path's dispatch costs more than it saves.
    if data.len() <= SHORT {
        return finish_native(words_sum(data));
    }
    #[cfg(target_arch = "x86_64")]
    if let Some(sum) = avx2::sum(data) {
        return finish_native(sum);
    }
    finish_native(portable_sum(data))
}

/// Copies `src` into `dst` and returns the one's-complement sum of the bytes copied,
/// as [`data`] gives it: a segment's payload is read once, for both.
///
/// Copies `min(dst.len(), src.len())` bytes. With AVX2 each 32-byte vector is loaded
/// once, stored, and added to the sums; up to [`SHORT`] bytes, each 4-byte word is;
/// elsewhere it is a copy, then [`data`] over the copied bytes (still in L1).
///
/// Only the dispatch is inlined (an empty payload costs a compare); the short and
/// portable paths are out of line, which keeps large callers such as
/// `Connection::poll_segment_with` lean.
#[inline(always)]
pub fn copy(dst: &mut [u8], src: &[u8]) -> u16 {
    let n = dst.len().min(src.len());
    if n == 0 {
        return 0;
    }
    #[cfg(target_arch = "x86_64")]
    if n > SHORT {
        if let Some(sum) = avx2::copy_sum(&mut dst[..n], &src[..n]) {
            return finish_native(sum);
        }
    }
    copy_without_avx2(dst, src)
}

/// [`copy`] of at most [`SHORT`] bytes, or on a CPU without AVX2.
#[inline(never)]
fn copy_without_avx2(dst: &mut [u8], src: &[u8]) -> u16 {
    let n = dst.len().min(src.len());
    let (dst, src) = (&mut dst[..n], &src[..n]);
    if n > SHORT {
        dst.copy_from_slice(src);
        return finish_native(portable_sum(dst));
    }
    finish_native(copy_words(dst, src))
}

/// Copies `src` into `dst` (equal lengths) four bytes at a time and returns their
/// sum as [`words_sum`] gives it. For a few bytes this is cheaper than a call to
/// `memcpy` and a second pass.
#[inline(always)]
fn copy_words(dst: &mut [u8], src: &[u8]) -> u64 {
    let whole = src.len() - src.len() % 4;
    let (src, src_tail) = src.split_at(whole);
    let (dst, dst_tail) = dst.split_at_mut(whole.min(dst.len()));
    let mut sum = 0u64;
    for (out, word) in dst.chunks_exact_mut(4).zip(src.chunks_exact(4)) {
        out.copy_from_slice(word);
        sum += u64::from(native_word(word));
    }
    // Spelled out per length, like the padded word in `words_sum`.
    let padded = match (dst_tail, src_tail) {
        ([x], [a]) => {
            *x = *a;
            [*a, 0, 0, 0]
        }
        ([x, y], [a, b]) => {
            (*x, *y) = (*a, *b);
            [*a, *b, 0, 0]
        }
        ([x, y, z], [a, b, c]) => {
            (*x, *y, *z) = (*a, *b, *c);
            [*a, *b, *c, 0]
        }
        _ => [0; 4],
    };
    sum + u64::from(u32::from_ne_bytes(padded))
}

/// Inputs up to this many bytes take the scalar word loop (`words_sum`).
const SHORT: usize = 64;

/// Fold a sum of native-endian words and put it in big-endian numeric form.
#[inline]
pub(crate) fn finish_native(sum: u64) -> u16 {
    let folded = fold(sum);
    if cfg!(target_endian = "little") {
        folded.swap_bytes()
    } else {
        folded
    }
}

/// The native-endian `u32` in a 4-byte slice (zero if it is not 4 bytes long, which
/// every caller rules out by construction).
///
/// Converting the slice as a whole compiles to one 4-byte load. Assembling the word
/// from four indexed bytes lets LLVM narrow the load when only the high half is used,
/// which stops the loops below from vectorising.
#[inline(always)]
fn native_word(bytes: &[u8]) -> u32 {
    u32::from_ne_bytes(bytes.try_into().unwrap_or([0; 4]))
}

/// The sum of `rest` as native-endian words, four bytes at a time; a final 1-3 bytes
/// are padded with zeros (for an odd length this is RFC 1071's zero pad byte).
#[inline(always)]
fn words_sum(rest: &[u8]) -> u64 {
    let mut sum = 0u64;
    let mut words = rest.chunks_exact(4);
    for word in &mut words {
        sum += u64::from(native_word(word));
    }
    // Spelled out per length: a variable-length copy into a padded word is a call
    // to `memcpy`.
    let padded = match *words.remainder() {
        [a] => [a, 0, 0, 0],
        [a, b] => [a, b, 0, 0],
        [a, b, c] => [a, b, c, 0],
        _ => [0; 4],
    };
    sum + u64::from(u32::from_ne_bytes(padded))
}

/// Lanes of the portable loop: one `u32` word of each 64-byte block per lane.
const LANES: usize = 16;
/// Bytes per block of the portable loop.
const BLOCK: usize = 4 * LANES;
/// Bytes per run of the portable loop. A lane gains one word per block, so over 65,536
/// blocks neither the sum of its high halves nor that of its low halves can pass
/// 65,536 * 0xffff < 2^32.
const PORTABLE_RUN: usize = BLOCK * 65_536;

/// The sum of `data` as native-endian words, in safe Rust that LLVM vectorises for
/// the target's baseline SIMD.
///
/// Each lane keeps two `u32` accumulators: `full`, the wrapping sum of whole words,
/// and `high`, the exact sum of their high 16-bit halves. The exact sum of the low
/// halves is then `full - (high << 16)` modulo 2^32, and the 16-bit words sum to
/// `low + high`. Per 4 words that is one add, one shift and one add, with no widening
/// shuffles (the former u32-into-u64 lanes needed two unpacks per vector).
fn portable_sum(data: &[u8]) -> u64 {
    let whole = data.len() - data.len() % BLOCK;
    let (body, rest) = data.split_at(whole);
    let mut sum = 0u64;
    for run in body.chunks(PORTABLE_RUN) {
        let mut full = [0u32; LANES];
        let mut high = [0u32; LANES];
        for block in run.chunks_exact(BLOCK) {
            for ((full, high), word) in full
                .iter_mut()
                .zip(high.iter_mut())
                .zip(block.chunks_exact(4))
            {
                let word = native_word(word);
                *full = full.wrapping_add(word);
                *high = high.wrapping_add(word >> 16);
            }
        }
        for (full, high) in full.iter().zip(high.iter()) {
            let low = full.wrapping_sub(high << 16);
            sum += u64::from(low) + u64::from(*high);
        }
    }
    sum + words_sum(rest)
}

/// The AVX2 sum: the portable scheme on 256-bit vectors, four per loop turn.
///
/// A length that is not a whole number of vectors ends in an *overlapping* vector:
/// the last 32 bytes are loaded (and, when copying, stored: the bytes already copied
/// are written again with the same values), and a mask keeps only the `len % 32`
/// bytes no other vector covered. No byte-wise tail loop and no `memcpy` call for
/// the tail.
#[cfg(target_arch = "x86_64")]
mod avx2 {
    use pulp::x86::V3;
    use pulp::{bytemuck, u16x16, u32x8, NullaryFnOnce};

    /// Bytes per vector.
    const VECTOR: usize = 32;
    /// Bytes per loop turn: four vectors, over two pairs of accumulators.
    const BLOCK: usize = 4 * VECTOR;
    /// Bytes per kernel call (at most). A lane of the two accumulator pairs together
    /// gains at most 16,384 words in a call (4,096 blocks of four vectors, or fewer
    /// blocks, at most three loose vectors and the masked final vector), so the low
    /// and the high sums are each at most 16,384 * 0xffff < 2^30, and `low + high`
    /// fits a `u32` lane.
    const RUN: usize = BLOCK * 4_096;

    /// 32 zero bytes, then 32 bytes of ones: the 32 bytes from `k` keep the last
    /// `k` bytes of a vector and clear the others.
    static TAIL_MASK: [u8; 2 * VECTOR] = {
        let mut mask = [0u8; 2 * VECTOR];
        let mut i = VECTOR;
        while i < 2 * VECTOR {
            mask[i] = 0xff;
            i += 1;
        }
        mask
    };

    /// The sum of `data` as native-endian words, or `None` when this CPU lacks the
    /// x86-64-v3 features (AVX2 among them).
    pub(super) fn sum(data: &[u8]) -> Option<u64> {
        let simd = V3::try_new()?;
        // One kernel call per run: within a call no lane can overflow, and the
        // kernel has no loop over runs to keep registers for (every packet is one
        // run). Runs start at even offsets, so their sums add.
        if data.len() <= RUN {
            return Some(simd.vectorize(Kernel { simd, data }));
        }
        Some(
            data.chunks(RUN)
                .map(|data| simd.vectorize(Kernel { simd, data }))
                .sum(),
        )
    }

    /// Copies `src` into `dst` (equal lengths) and returns the sum of the bytes as
    /// native-endian words, or `None` (nothing copied) without x86-64-v3.
    /// Inlined into [`copy`](super::copy) (a call per segment less).
    #[inline(always)]
    pub(super) fn copy_sum(dst: &mut [u8], src: &[u8]) -> Option<u64> {
        let simd = V3::try_new()?;
        if src.len() <= RUN {
            return Some(simd.vectorize(CopyKernel { simd, dst, src }));
        }
        Some(
            src.chunks(RUN)
                .zip(dst.chunks_mut(RUN))
                .map(|(src, dst)| simd.vectorize(CopyKernel { simd, dst, src }))
                .sum(),
        )
    }

    /// A pair of accumulators: `full`, the lane-wise wrapping sum of whole 32-bit
    /// words, and `high`, the exact sum of their high 16-bit halves.
    #[derive(Clone, Copy)]
    struct Lanes {
        full: u32x8,
        high: u32x8,
    }

    impl Lanes {
        #[inline(always)]
        fn zero(simd: V3) -> Self {
            Lanes {
                full: simd.splat_u32x8(0),
                high: simd.splat_u32x8(0),
            }
        }

        /// Lanes holding `vector` alone.
        #[inline(always)]
        fn of(simd: V3, vector: u32x8) -> Self {
            Lanes {
                full: vector,
                high: simd.shr_const_u32x8::<16>(vector),
            }
        }

        #[inline(always)]
        fn add(self, simd: V3, vector: u32x8) -> Self {
            Lanes {
                full: simd.wrapping_add_u32x8(self.full, vector),
                high: simd.wrapping_add_u32x8(self.high, simd.shr_const_u32x8::<16>(vector)),
            }
        }

        #[inline(always)]
        fn merge(self, simd: V3, other: Self) -> Self {
            Lanes {
                full: simd.wrapping_add_u32x8(self.full, other.full),
                high: simd.wrapping_add_u32x8(self.high, other.high),
            }
        }

        /// The sum of every 16-bit half added into these lanes. The exact sum of the
        /// low halves is `full - (high << 16)` modulo 2^32 (the run bound keeps it
        /// below 2^32).
        #[inline(always)]
        fn total(self, simd: V3) -> u64 {
            let low = simd.wrapping_sub_u32x8(self.full, simd.shl_const_u32x8::<16>(self.high));
            let lanes: [u32; 8] = bytemuck::cast(simd.wrapping_add_u32x8(low, self.high));
            lanes.iter().map(|&lane| u64::from(lane)).sum()
        }
    }

    /// The part of `last`, the final 32 bytes of a `len`-byte input (`len >= 32`),
    /// that no whole vector covers: its last `len % 32` bytes, the others zeroed.
    ///
    /// `last` starts `len - 32` bytes into the input; when that is odd, each byte
    /// sits in the other half of its 16-bit word from the one it has in the input,
    /// so the halves of every word are swapped back.
    #[inline(always)]
    fn tail(simd: V3, last: u32x8, len: usize) -> u32x8 {
        let keep = len % VECTOR;
        let mask = load(TAIL_MASK.get(keep..keep + VECTOR).unwrap_or_default());
        let tail = simd.and_u32x8(last, mask);
        //= https://www.rfc-editor.org/rfc/rfc1071#section-2
        //# (B)  Byte Order Independence
        if len % 2 == 1 {
            let words: u16x16 = bytemuck::cast(tail);
            bytemuck::cast(simd.or_u16x16(
                simd.shl_const_u16x16::<8>(words),
                simd.shr_const_u16x16::<8>(words),
            ))
        } else {
            tail
        }
    }

    /// The copying kernel over at most [`RUN`] bytes, run by `V3::vectorize` with
    /// AVX2 enabled. `call` is `#[inline(always)]` so that everything it calls is
    /// compiled with AVX2 too.
    struct CopyKernel<'a> {
        simd: V3,
        dst: &'a mut [u8],
        src: &'a [u8],
    }

    impl NullaryFnOnce for CopyKernel<'_> {
        type Output = u64;

        #[inline(always)]
        fn call(self) -> u64 {
            let CopyKernel { simd, dst, src } = self;
            let len = src.len().min(dst.len());
            let (dst, src) = (&mut dst[..len], &src[..len]);
            let Some(at) = len.checked_sub(VECTOR) else {
                dst.copy_from_slice(src);
                return super::words_sum(src);
            };
            let last = load(&src[at..]);
            store(&mut dst[at..], last);
            let whole = len - len % VECTOR;
            let (src, dst) = (&src[..whole], &mut dst[..whole]);
            let tail = Lanes::of(simd, tail(simd, last, len));
            copy_run(simd, tail, src, dst).total(simd)
        }
    }

    /// Copies `src` (whole vectors) into `dst` (as long) and
    /// returns `lanes` with the vectors added.
    #[inline(always)]
    fn copy_run(simd: V3, lanes: Lanes, src: &[u8], dst: &mut [u8]) -> Lanes {
        let (mut a, mut b) = (lanes, Lanes::zero(simd));
        // Split first and zip the two exact-chunk iterators by value: the zip then
        // runs on one index (zipping them by reference tests both ends every turn).
        let whole = src.len() - src.len() % BLOCK;
        let (src, loose) = src.split_at(whole);
        let (dst, out_loose) = dst.split_at_mut(whole.min(dst.len()));
        for (block, out) in src.chunks_exact(BLOCK).zip(dst.chunks_exact_mut(BLOCK)) {
            let (v0, v1) = (load(&block[..32]), load(&block[32..64]));
            let (v2, v3) = (load(&block[64..96]), load(&block[96..]));
            store(&mut out[..32], v0);
            store(&mut out[32..64], v1);
            store(&mut out[64..96], v2);
            store(&mut out[96..], v3);
            a = a.add(simd, v0).add(simd, v2);
            b = b.add(simd, v1).add(simd, v3);
        }
        for (vector, out) in loose
            .chunks_exact(VECTOR)
            .zip(out_loose.chunks_exact_mut(VECTOR))
        {
            let vector = load(vector);
            store(out, vector);
            a = a.add(simd, vector);
        }
        a.merge(simd, b)
    }

    /// The summing kernel: [`CopyKernel`] without the stores (at most [`RUN`] bytes).
    struct Kernel<'a> {
        simd: V3,
        data: &'a [u8],
    }

    impl NullaryFnOnce for Kernel<'_> {
        type Output = u64;

        #[inline(always)]
        fn call(self) -> u64 {
            let Kernel { simd, data } = self;
            let len = data.len();
            let Some(at) = len.checked_sub(VECTOR) else {
                return super::words_sum(data);
            };
            let last = load(&data[at..]);
            let whole = len - len % VECTOR;
            let tail = Lanes::of(simd, tail(simd, last, len));
            sum_run(simd, tail, &data[..whole]).total(simd)
        }
    }

    /// `lanes` with the vectors of `data` (whole vectors) added.
    #[inline(always)]
    fn sum_run(simd: V3, lanes: Lanes, data: &[u8]) -> Lanes {
        let (mut a, mut b) = (lanes, Lanes::zero(simd));
        let mut blocks = data.chunks_exact(BLOCK);
        for block in &mut blocks {
            let (v0, v1) = (load(&block[..32]), load(&block[32..64]));
            let (v2, v3) = (load(&block[64..96]), load(&block[96..]));
            a = a.add(simd, v0).add(simd, v2);
            b = b.add(simd, v1).add(simd, v3);
        }
        for vector in blocks.remainder().chunks_exact(VECTOR) {
            a = a.add(simd, load(vector));
        }
        a.merge(simd, b)
    }

    /// 32 bytes as a vector of eight native-endian words (zero if the slice is not 32
    /// bytes long, which the callers rule out by construction).
    #[inline(always)]
    fn load(bytes: &[u8]) -> u32x8 {
        bytemuck::cast(<[u8; VECTOR]>::try_from(bytes).unwrap_or([0; VECTOR]))
    }

    /// Stores a vector into 32 bytes (nothing if the slice is not 32 bytes long,
    /// which the callers rule out by construction).
    #[inline(always)]
    fn store(out: &mut [u8], vector: u32x8) {
        let bytes: [u8; VECTOR] = bytemuck::cast(vector);
        if let Ok(out) = <&mut [u8; VECTOR]>::try_from(out) {
            *out = bytes;
        }
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
///
/// Summed as 32-bit words (each address four, the length one, the next header one):
/// 2^16 is 1 modulo 0xffff, so a 32-bit word adds what its two halves do and the
/// fold gives the 16-bit sum (RFC 1071 section 2(B), "Parallel Summation"). Ten
/// additions, where the addresses' sixteen 16-bit segments cost ~100 instructions
/// a segment sent or received over IPv6.
#[inline]
pub fn pseudo_header_v6(src: Ipv6Addr, dst: Ipv6Addr, next_header: u8, length: u32) -> u16 {
    #[inline(always)]
    fn words(a: Ipv6Addr) -> u64 {
        let x = a.to_bits();
        u64::from((x >> 96) as u32)
            + u64::from((x >> 64) as u32)
            + u64::from((x >> 32) as u32)
            + u64::from(x as u32)
    }
    fold(words(src) + words(dst) + u64::from(length) + u64::from(next_header))
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

    /// The portable (auto-vectorised) path alone.
    fn portable(bytes: &[u8]) -> u16 {
        finish_native(portable_sum(bytes))
    }

    /// The AVX2 path alone, or `None` on a CPU without it.
    #[cfg(target_arch = "x86_64")]
    fn simd(bytes: &[u8]) -> Option<u16> {
        avx2::sum(bytes).map(finish_native)
    }

    #[cfg(not(target_arch = "x86_64"))]
    fn simd(_bytes: &[u8]) -> Option<u16> {
        None
    }

    /// The AVX2 copy alone (`dst` and `src` of one length), or `None` on a CPU
    /// without it.
    #[cfg(target_arch = "x86_64")]
    fn simd_copy(dst: &mut [u8], src: &[u8]) -> Option<u16> {
        avx2::copy_sum(dst, src).map(finish_native)
    }

    #[cfg(not(target_arch = "x86_64"))]
    fn simd_copy(_dst: &mut [u8], _src: &[u8]) -> Option<u16> {
        None
    }

    /// The former fold, one 16-bit carry at a time.
    fn fold_by_loop(mut sum: u64) -> u16 {
        while sum > 0xffff {
            sum = (sum & 0xffff) + (sum >> 16);
        }
        sum as u16
    }

    /// Every path, checked against the reference.
    fn assert_all_paths_match_reference(bytes: &[u8]) {
        let expected = reference(bytes);
        assert_eq!(data(bytes), expected, "data(), {} bytes", bytes.len());
        assert_eq!(portable(bytes), expected, "portable, {} bytes", bytes.len());
        if let Some(sum) = simd(bytes) {
            assert_eq!(sum, expected, "avx2, {} bytes", bytes.len());
        }
    }

    #[test]
    fn every_length_to_600_matches_reference_on_every_path() {
        // Covers each tail shape of both loops (64- and 128-byte blocks, 32-byte
        // vectors, 4-byte words, 1-3 trailing bytes) at even and odd start addresses.
        let buffer: Vec<u8> = (0..700u32).map(|i| (i * 167 + 13) as u8).collect();
        for start in 0..4 {
            for len in 0..600 {
                assert_all_paths_match_reference(&buffer[start..start + len]);
            }
        }
    }

    #[test]
    fn all_ones_input_longer_than_a_run_does_not_overflow_lanes() {
        // 0xff bytes make every word 0xffff, the worst case for the u32 lane sums.
        // The length spans two portable runs (4 MiB each) and many AVX2 runs (512 KiB
        // each) and ends in an odd byte.
        let bytes = vec![0xffu8; 2 * PORTABLE_RUN + 4_099];
        assert_all_paths_match_reference(&bytes);
    }

    #[test]
    fn random_input_longer_than_a_run_matches_reference() {
        let mut state = 0x9e37_79b9_7f4a_7c15u64;
        let bytes: Vec<u8> = (0..PORTABLE_RUN + 777)
            .map(|_| {
                state = state
                    .wrapping_mul(6_364_136_223_846_793_005)
                    .wrapping_add(1_442_695_040_888_963_407);
                (state >> 56) as u8
            })
            .collect();
        assert_all_paths_match_reference(&bytes);
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

    #[test]
    fn copy_copies_and_sums_every_length_across_a_run() {
        let bytes: Vec<u8> = (0..(1usize << 19) + 200)
            .map(|i| (i * 7 + i / 255) as u8)
            .collect();
        for len in (0..700).chain([(1 << 19) - 1, 1 << 19, (1 << 19) + 133]) {
            for start in 0..4 {
                let src = &bytes[start..start + len];
                let mut dst = vec![0u8; len + 3];
                assert_eq!(
                    copy(&mut dst, src),
                    reference(src),
                    "len {len} start {start}"
                );
                assert_eq!(&dst[..len], src);
                assert_eq!(&dst[len..], &[0, 0, 0]);
            }
        }
    }

    #[test]
    fn simd_and_portable_copy_of_every_length_to_300_at_every_offset_match_reference() {
        // Every length below, at and past one vector, each tail length, odd and even
        // start addresses on both sides; the bytes around the destination stay.
        let bytes: Vec<u8> = (0..400u32).map(|i| (i * 151 + 29) as u8).collect();
        for len in 0..300 {
            for (from, to) in [(0, 0), (1, 0), (0, 1), (3, 2)] {
                let src = &bytes[from..from + len];
                let mut dst = vec![0xa5u8; len + 4];
                let sum = copy_without_avx2(&mut dst[to..to + len], src);
                assert_eq!(
                    sum,
                    reference(src),
                    "portable, len {len} from {from} to {to}"
                );
                assert_eq!(&dst[to..to + len], src);
                assert!(dst[..to].iter().chain(&dst[to + len..]).all(|&b| b == 0xa5));
                let mut dst = vec![0xa5u8; len + 4];
                if let Some(sum) = simd_copy(&mut dst[to..to + len], src) {
                    assert_eq!(sum, reference(src), "len {len} from {from} to {to}");
                }
                if simd(src).is_some() {
                    assert_eq!(&dst[to..to + len], src, "len {len} from {from} to {to}");
                    assert!(dst[..to].iter().chain(&dst[to + len..]).all(|&b| b == 0xa5));
                }
            }
        }
    }

    #[test]
    fn fold_agrees_with_folding_one_carry_at_a_time_at_the_edges() {
        for sum in [
            0,
            1,
            0xfffe,
            0xffff,
            0x1_0000,
            0x1_fffe,
            0xffff_ffff,
            0x1_0000_0000,
            0xffff_0000_ffff,
            u64::MAX - 1,
            u64::MAX,
        ] {
            assert_eq!(fold(sum), fold_by_loop(sum), "{sum:#x}");
        }
    }

    proptest! {
        #[test]
        fn fold_agrees_with_folding_one_carry_at_a_time(sum: u64) {
            prop_assert_eq!(fold(sum), fold_by_loop(sum));
        }

        /// The IPv6 pseudo-header sum, taken in 32-bit words, against the
        /// byte-wise reference over RFC 8200's pseudo-header laid out in full.
        #[test]
        fn ipv6_pseudo_header_matches_reference(
            src: u128,
            dst: u128,
            next_header: u8,
            length: u32,
        ) {
            let (src, dst) = (Ipv6Addr::from_bits(src), Ipv6Addr::from_bits(dst));
            let mut bytes = Vec::with_capacity(40);
            bytes.extend_from_slice(&src.octets());
            bytes.extend_from_slice(&dst.octets());
            bytes.extend_from_slice(&length.to_be_bytes());
            bytes.extend_from_slice(&[0, 0, 0, next_header]);
            prop_assert_eq!(
                pseudo_header_v6(src, dst, next_header, length),
                reference(&bytes)
            );
        }

        /// Every path (`copy`, the AVX2 copy, `data`, the AVX2 and portable sums)
        /// against the byte-wise reference, for random contents, lengths and start
        /// offsets of source and destination.
        #[test]
        fn every_path_matches_reference_at_random_lengths_and_offsets(
            bytes in proptest::collection::vec(any::<u8>(), 0..3100),
            from in 0usize..64,
            to in 0usize..64,
            len in 0usize..3000,
        ) {
            let from = from.min(bytes.len());
            let len = len.min(bytes.len() - from);
            let src = &bytes[from..from + len];
            let expected = reference(src);
            let mut dst = vec![0x3cu8; to + len + 1];
            prop_assert_eq!(copy(&mut dst[to..to + len], src), expected);
            prop_assert_eq!(&dst[to..to + len], src);
            prop_assert!(dst[..to].iter().all(|&b| b == 0x3c));
            prop_assert_eq!(dst[to + len], 0x3c);
            let mut dst = vec![0u8; to + len];
            prop_assert_eq!(copy_without_avx2(&mut dst[to..], src), expected);
            prop_assert_eq!(&dst[to..], src);
            let mut dst = vec![0u8; to + len];
            if let Some(sum) = simd_copy(&mut dst[to..], src) {
                prop_assert_eq!(sum, expected);
                prop_assert_eq!(&dst[to..], src);
            }
            prop_assert_eq!(data(src), expected);
            prop_assert_eq!(portable(src), expected);
            if let Some(sum) = simd(src) {
                prop_assert_eq!(sum, expected);
            }
        }

        #[test]
        fn copy_matches_reference_and_copies(
            bytes in proptest::collection::vec(any::<u8>(), 0..4096 + 64),
            start in 0usize..32,
        ) {
            let src = &bytes[start.min(bytes.len())..];
            let mut dst = vec![0u8; src.len()];
            prop_assert_eq!(copy(&mut dst, src), reference(src));
            prop_assert_eq!(&dst[..], src);
        }

        #[test]
        fn fast_sum_equals_reference_at_any_alignment(
            bytes in proptest::collection::vec(any::<u8>(), 0..4096 + 64),
            start in 0usize..64,
            len in 0usize..4096,
        ) {
            let start = start.min(bytes.len());
            let len = len.min(bytes.len() - start);
            let slice = &bytes[start..start + len];
            prop_assert_eq!(data(slice), reference(slice));
        }

        #[test]
        fn portable_and_simd_paths_agree(
            bytes in proptest::collection::vec(any::<u8>(), 0..4096 + 64),
            start in 0usize..64,
        ) {
            let slice = &bytes[start.min(bytes.len())..];
            prop_assert_eq!(portable(slice), reference(slice));
            if let Some(sum) = simd(slice) {
                prop_assert_eq!(sum, portable(slice));
            }
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
