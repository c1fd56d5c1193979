//! The receive side's bytes: data in order and waiting for the application, followed
//! by room where out-of-order segments land at their offsets.
//!
//! ```text
//!   front                  RCV.NXT                                   limit()
//!   |---- readable: len() ----|--- out-of-order room: window() ---------|
//!                             ^ write_at offset 0
//! ```
//!
//! The [`RecvBuffer`] holds the bytes; the [`Assembler`](super::assembler::Assembler)
//! remembers which out-of-order offsets hold data. Both count offsets from RCV.NXT, so
//! a segment is handled as:
//!
//! 1. trim it to the window, then [`write_at`](RecvBuffer::write_at)`(seq - RCV.NXT,
//!    payload)`, which stores what fits and says how much;
//! 2. record the stored bytes in the assembler (`add(offset, stored)`);
//! 3. when the assembler has bytes at offset 0 (`remove_front`), pass the count to
//!    [`commit`](RecvBuffer::commit): they become readable, RCV.NXT advances by it and
//!    every out-of-order offset shifts down by the same amount in both structures.
//!
//! The application takes bytes with [`read`](RecvBuffer::read) (or
//! [`peek`](RecvBuffer::peek) / [`readable_slices`](RecvBuffer::readable_slices)
//! followed by [`consume`](RecvBuffer::consume)); that frees room at the front and
//! [`window`](RecvBuffer::window) grows by as much. Reading moves no out-of-order byte:
//! offsets are relative to RCV.NXT, which reading does not change.
//!
//! Every call copies with at most two `memcpy`s (the ring may wrap once) and none
//! allocates except a `write_at` that needs more room.
//!
//! # Memory
//!
//! [`RecvBuffer::new`] allocates nothing. Storage grows when a `write_at` reaches past
//! it: 1 KiB first, then doubling, the last step stopping at the limit exactly (so
//! [`allocated`](RecvBuffer::allocated) never exceeds the limit in force when the
//! storage last grew). Growth keeps every readable and out-of-order byte at its
//! logical position. The buffer does not know which out-of-order offsets hold data,
//! so it cannot free itself: the connection calls
//! [`shrink_if_empty`](RecvBuffer::shrink_if_empty)`(assembler_is_not_empty)` when it
//! goes idle or closes, and an idle connection then holds no buffer memory.
//!
//! # Limits
//!
//! [`set_limit`](RecvBuffer::set_limit) may lower the limit below what is held:
//! readable bytes stay, and so do out-of-order bytes already stored, but `write_at`
//! stores nothing past the new limit. (Shrinking an advertised window is the
//! connection's decision, not this buffer's; RFC 9293 section 3.8.6 discourages it.)

use super::ring::Ring;
use super::ring_pool::RingPool;

/// Received bytes: an in-order readable region followed by room for out-of-order
/// data. See the [module docs](self).
#[derive(Debug, Clone)]
pub struct RecvBuffer {
    ring: Ring,
    /// Readable bytes, at logical positions `0..len` of the ring (`len <= capacity`).
    /// Out-of-order data lives at positions `len..capacity`.
    len: usize,
    limit: usize,
}

impl RecvBuffer {
    /// An empty buffer that holds up to `limit` bytes, readable and out-of-order
    /// together. Allocates nothing.
    pub const fn new(limit: usize) -> RecvBuffer {
        RecvBuffer {
            ring: Ring::new(),
            len: 0,
            limit,
        }
    }

    /// Makes this buffer what [`new`](Self::new)`(limit)` makes: in place when
    /// it holds no storage (then its ring is a new one already; a freed
    /// connection's buffers, reopened), with nothing to drop.
    #[inline]
    pub(crate) fn renew(&mut self, limit: usize) {
        if self.ring.capacity() != 0 {
            crate::hint::cold_path();
            *self = RecvBuffer::new(limit);
            return;
        }
        self.len = 0;
        self.limit = limit;
    }

    /// Readable bytes (in order, not yet read by the application).
    #[inline]
    pub fn len(&self) -> usize {
        self.len
    }

    /// No byte is readable.
    #[inline]
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Room after the readable bytes, for in-order and out-of-order data alike:
    /// `limit - len`, or 0 if the limit was lowered below the length. This is the
    /// receive window before scaling and silly-window avoidance.
    #[inline]
    pub fn window(&self) -> usize {
        self.limit.saturating_sub(self.len)
    }

    /// The most bytes the buffer holds.
    #[inline]
    pub fn limit(&self) -> usize {
        self.limit
    }

    /// Changes the limit (for auto-tuning, or a `SO_RCVBUF`-like setting). Lowering it
    /// keeps every byte held; [`write_at`](Self::write_at) stores nothing past the new
    /// limit. Storage is not reallocated: a smaller limit takes effect on memory at the
    /// next [`shrink_if_empty`](Self::shrink_if_empty).
    pub fn set_limit(&mut self, limit: usize) {
        self.limit = limit;
    }

    /// Bytes of storage held, for memory accounting (0 when nothing is allocated).
    #[inline]
    pub fn allocated(&self) -> usize {
        self.ring.capacity()
    }

    /// Stores `data` at `offset` bytes after the readable bytes (offset 0 is RCV.NXT,
    /// the next in-order byte), clipping whatever falls past the limit, and returns how
    /// many bytes were stored, counted from the start of `data` (0 if `offset` is at or
    /// past the window). Readable bytes are never touched. Grows the storage if it
    /// must.
    ///
    /// The bytes stay invisible to the application until [`commit`](Self::commit);
    /// storing the same offset again overwrites it.
    pub fn write_at(&mut self, offset: usize, data: &[u8]) -> usize {
        self.write_at_with(offset, data, |ring, end, limit, cap| {
            ring.reserve(end, limit, cap, &mut RingPool::new(0))
        })
    }

    /// [`write_at`](Self::write_at), taking a first storage from `pool` when it
    /// keeps one ([`RingPool`]; the same capacity `write_at` would allocate).
    pub(crate) fn write_at_pooled(
        &mut self,
        offset: usize,
        data: &[u8],
        pool: &mut RingPool,
    ) -> usize {
        self.write_at_with(offset, data, |ring, end, limit, cap| {
            ring.reserve(end, limit, cap, pool)
        })
    }

    /// [`write_at`](Self::write_at) with `grow(ring, end, limit, keep)` to make
    /// the storage at least `end` bytes: a copy for each way of growing, so
    /// that the one without the pool (the predicted path's, whose storage is
    /// always there already) builds no empty pool per segment: as a wrapper over
    /// the pooled form it cost bulk ~30 instructions per segment.
    #[inline(always)]
    fn write_at_with(
        &mut self,
        offset: usize,
        data: &[u8],
        grow: impl FnOnce(&mut Ring, usize, usize, usize),
    ) -> usize {
        //= https://www.rfc-editor.org/rfc/rfc9293#section-3.10.7.4
        //# Data from segments can be moved into buffers until either the buffer is
        //# full or the segment is empty.
        let n = data.len().min(self.window().saturating_sub(offset));
        if n == 0 {
            return 0;
        }
        // Both within the limit (or the old capacity), so no overflow.
        let pos = self.len + offset;
        let end = pos + n;
        if end > self.ring.capacity() {
            // Keep every position: the out-of-order bytes are somewhere past `len`.
            let cap = self.ring.capacity();
            grow(&mut self.ring, end, self.limit, cap);
        }
        self.ring.write(pos, &data[..n]);
        n
    }

    /// [`write_at`](Self::write_at), also returning the one's-complement sum of the
    /// bytes stored, taken while copying them.
    // Out of line (here and pooled), as the one copy of both was: inlined into
    // the stack's segment path, it moves the ring's copy out of line instead.
    #[inline(never)]
    pub fn write_at_summed(&mut self, offset: usize, data: &[u8]) -> (usize, u16) {
        self.write_at_summed_with(offset, data, |ring, end, limit, cap| {
            ring.reserve(end, limit, cap, &mut RingPool::new(0))
        })
    }

    /// [`write_at_summed`](Self::write_at_summed), taking a first storage from
    /// `pool` when it keeps one ([`RingPool`]).
    #[inline(never)]
    pub(crate) fn write_at_summed_pooled(
        &mut self,
        offset: usize,
        data: &[u8],
        pool: &mut RingPool,
    ) -> (usize, u16) {
        self.write_at_summed_with(offset, data, |ring, end, limit, cap| {
            ring.reserve(end, limit, cap, pool)
        })
    }

    /// [`write_at_summed`](Self::write_at_summed) with `grow` as in
    /// [`write_at_with`](Self::write_at_with).
    #[inline(always)]
    fn write_at_summed_with(
        &mut self,
        offset: usize,
        data: &[u8],
        grow: impl FnOnce(&mut Ring, usize, usize, usize),
    ) -> (usize, u16) {
        let n = data.len().min(self.window().saturating_sub(offset));
        if n == 0 {
            return (0, 0);
        }
        let pos = self.len + offset;
        let end = pos + n;
        if end > self.ring.capacity() {
            let cap = self.ring.capacity();
            grow(&mut self.ring, end, self.limit, cap);
        }
        (n, self.ring.write_summed(pos, &data[..n]))
    }

    /// How many of `len` bytes at `offset` [`write_at`](Self::write_at) would store.
    #[inline]
    pub fn storable(&self, offset: usize, len: usize) -> usize {
        len.min(self.window().saturating_sub(offset))
    }

    /// Makes the `n` bytes stored at offsets `0..n` readable (RCV.NXT advances by `n`)
    /// and returns how many were, at most the storage past the readable bytes. The
    /// caller commits only what [`write_at`](Self::write_at) stored, as its assembler
    /// reports it; committing bytes never written is a bug (the ring's storage ends
    /// at what was written, so reading them would index past it).
    #[inline]
    pub fn commit(&mut self, n: usize) -> usize {
        let n = n.min(self.ring.capacity() - self.len);
        self.len += n;
        n
    }

    /// Copies up to `out.len()` readable bytes into `out` without removing them, and
    /// returns how many.
    #[inline]
    pub fn peek(&self, out: &mut [u8]) -> usize {
        let n = out.len().min(self.len);
        if n == 0 {
            return 0;
        }
        self.ring.read(0, &mut out[..n]);
        n
    }

    /// Moves up to `out.len()` readable bytes into `out` and returns how many.
    #[inline]
    pub fn read(&mut self, out: &mut [u8]) -> usize {
        let n = self.peek(out);
        self.consume(n)
    }

    /// Lends the readable bytes, as the part before the ring's wrap and the part after
    /// it (the second is empty when they are contiguous). Follow with
    /// [`consume`](Self::consume) for what was used.
    #[inline]
    pub fn readable_slices(&self) -> (&[u8], &[u8]) {
        self.ring.slices(0, self.len)
    }

    /// Drops up to `n` readable bytes from the front (the application took them) and
    /// returns how many, at most [`len`](Self::len). Out-of-order bytes stay at their
    /// offsets, and the window grows by the returned count.
    #[inline]
    pub fn consume(&mut self, n: usize) -> usize {
        let n = n.min(self.len);
        self.len -= n;
        self.ring.advance(n);
        n
    }

    /// Frees the storage if nothing is readable and `ooo_held` is false (the caller's
    /// assembler holds no out-of-order data: pass `!assembler.is_empty()`), and says
    /// whether the buffer now holds no memory. The connection calls this when it goes
    /// idle or closes; the next [`write_at`](Self::write_at) allocates again.
    pub fn shrink_if_empty(&mut self, ooo_held: bool) -> bool {
        self.shrink_if_empty_into(ooo_held, &mut RingPool::new(0));
        self.ring.capacity() == 0
    }

    /// [`shrink_if_empty`](Self::shrink_if_empty), letting go of the storage
    /// into `pool` ([`RingPool`]: kept for the next ring if it is a first
    /// allocation and the pool has room, freed otherwise).
    #[inline]
    pub(crate) fn shrink_if_empty_into(&mut self, ooo_held: bool, pool: &mut RingPool) {
        if self.len == 0 && !ooo_held {
            self.ring.free_into(pool);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tcp::assembler::Assembler;
    use proptest::prelude::*;
    use std::collections::VecDeque;

    fn pattern(start: usize, len: usize) -> Vec<u8> {
        (start..start + len)
            .map(|i| (i * 7 + i / 251) as u8)
            .collect()
    }

    fn readable(b: &RecvBuffer) -> Vec<u8> {
        let (x, y) = b.readable_slices();
        [x, y].concat()
    }

    /// The textbook internet checksum: big-endian 16-bit words one at a time, an odd
    /// final byte padded with zero.
    fn reference_sum(bytes: &[u8]) -> u16 {
        let mut sum = 0u32;
        for pair in bytes.chunks(2) {
            let word = u16::from_be_bytes([pair[0], pair.get(1).copied().unwrap_or(0)]);
            sum += u32::from(word);
            sum = (sum & 0xffff) + (sum >> 16);
        }
        sum as u16
    }

    /// A buffer of `limit` bytes with all its storage allocated and its ring's front
    /// `skip` bytes into the storage, holding nothing.
    fn rotated(limit: usize, skip: usize) -> RecvBuffer {
        let mut b = RecvBuffer::new(limit);
        // A byte at the last offset reserves the whole limit.
        b.write_at(limit - 1, &[0x5a]);
        let skip = skip.min(limit);
        assert_eq!(b.write_at(0, &pattern(0, skip)), skip);
        assert_eq!(b.commit(skip), skip);
        assert_eq!(b.consume(skip), skip);
        assert_eq!(b.allocated(), limit);
        b
    }

    #[test]
    fn write_at_summed_across_the_wrap_at_an_odd_split_sums_and_stores_every_byte() {
        // The front is 1001 bytes into 1024 of storage: offset 1 starts 1002 bytes
        // in, so the first 22 bytes go before the wrap and the rest from index 0;
        // with offset 2 the split is odd (21 bytes), the case whose second part's
        // sum is byte-swapped.
        for offset in [1, 2] {
            let mut b = rotated(1024, 1001);
            let data = pattern(77, 300);
            let (n, sum) = b.write_at_summed(offset, &data);
            assert_eq!(n, 300);
            assert_eq!(sum, reference_sum(&data), "offset {offset}");
            assert_eq!(b.commit(offset + n), offset + n);
            assert_eq!(&readable(&b)[offset..], &data[..]);
        }
    }

    #[test]
    fn a_new_buffer_allocates_nothing() {
        let b = RecvBuffer::new(1 << 20);
        assert_eq!(b.allocated(), 0);
        assert_eq!(b.len(), 0);
        assert!(b.is_empty());
        assert_eq!(b.window(), 1 << 20);
        assert_eq!(b.limit(), 1 << 20);
        assert_eq!(b.readable_slices(), (&[][..], &[][..]));
    }

    #[test]
    fn nothing_stored_allocates_nothing() {
        let mut b = RecvBuffer::new(100);
        assert_eq!(b.write_at(0, &[]), 0);
        assert_eq!(b.write_at(100, b"past the window"), 0);
        assert_eq!(b.write_at(usize::MAX, b"far past"), 0);
        assert_eq!(b.commit(10), 0);
        assert_eq!(b.read(&mut [0u8; 10]), 0);
        assert_eq!(b.consume(10), 0);
        assert_eq!(b.allocated(), 0);
    }

    #[test]
    fn in_order_data_becomes_readable_on_commit() {
        let mut b = RecvBuffer::new(64);
        assert_eq!(b.write_at(0, b"hello"), 5);
        assert_eq!(b.len(), 0, "stored is not readable yet");
        assert_eq!(b.commit(5), 5);
        assert_eq!(b.len(), 5);
        assert_eq!(b.window(), 59);
        let mut out = [0u8; 16];
        assert_eq!(b.peek(&mut out), 5);
        assert_eq!(&out[..5], b"hello");
        assert_eq!(b.read(&mut out[..3]), 3);
        assert_eq!(&out[..3], b"hel");
        assert_eq!(readable(&b), b"lo");
        assert_eq!(b.window(), 62);
    }

    #[test]
    fn out_of_order_data_waits_for_the_hole_to_fill() {
        let mut b = RecvBuffer::new(64);
        let mut asm = Assembler::default();
        let stored = b.write_at(5, b"world");
        asm.add(5, stored).unwrap();
        assert_eq!(asm.remove_front(), None);
        let stored = b.write_at(0, b"hello");
        asm.add(0, stored).unwrap();
        let n = asm.remove_front().unwrap();
        assert_eq!(b.commit(n), 10);
        assert_eq!(readable(&b), b"helloworld");
    }

    #[test]
    fn write_at_clips_at_the_limit() {
        let mut b = RecvBuffer::new(10);
        assert_eq!(b.write_at(6, b"abcdef"), 4);
        assert_eq!(b.write_at(0, b"012345"), 6);
        assert_eq!(b.commit(10), 10);
        assert_eq!(readable(&b), b"012345abcd");
        assert_eq!(b.window(), 0);
        assert_eq!(b.write_at(0, b"x"), 0);
        assert_eq!(b.allocated(), 10);
    }

    #[test]
    fn write_at_never_touches_readable_bytes() {
        let mut b = RecvBuffer::new(16);
        b.write_at(0, b"readable");
        b.commit(8);
        assert_eq!(b.write_at(0, &[0xFF; 100]), 8);
        assert_eq!(readable(&b), b"readable");
    }

    #[test]
    fn commit_is_clamped_to_the_storage() {
        let mut b = RecvBuffer::new(1 << 20);
        b.write_at(0, b"abc");
        assert_eq!(b.allocated(), 1024);
        assert_eq!(b.commit(usize::MAX), 1024);
        assert_eq!(b.commit(1), 0);
        assert_eq!(b.len(), 1024);
    }

    #[test]
    fn consume_is_clamped_and_returns_what_it_dropped() {
        let mut b = RecvBuffer::new(64);
        b.write_at(0, b"abcdef");
        b.commit(6);
        assert_eq!(b.consume(2), 2);
        assert_eq!(readable(&b), b"cdef");
        assert_eq!(b.consume(100), 4);
        assert_eq!(b.consume(usize::MAX), 0);
        assert!(b.is_empty());
    }

    #[test]
    fn every_path_wraps_around_the_ring() {
        let mut b = RecvBuffer::new(16);
        b.write_at(0, &pattern(0, 12));
        b.commit(12);
        b.consume(10);
        // Readable 10..12 at storage 10..12; out-of-order bytes wrap past the end.
        assert_eq!(b.write_at(3, &pattern(15, 11)), 11);
        assert_eq!(b.write_at(0, &pattern(12, 3)), 3);
        assert_eq!(b.commit(14), 14);
        assert_eq!(b.allocated(), 16);
        let (x, y) = b.readable_slices();
        assert_eq!((x.len(), y.len()), (6, 10));
        assert_eq!([x, y].concat(), pattern(10, 16));
        let mut out = [0u8; 9];
        assert_eq!(b.peek(&mut out), 9);
        assert_eq!(out[..], pattern(10, 9)[..]);
        assert_eq!(b.read(&mut out), 9);
        assert_eq!(readable(&b), pattern(19, 7));
    }

    #[test]
    fn growth_preserves_readable_and_out_of_order_bytes() {
        let mut b = RecvBuffer::new(1 << 16);
        b.write_at(0, &pattern(0, 4000));
        b.commit(4000);
        b.consume(3000);
        // Readable 3000..4000; out-of-order 4100..4600 wraps in the 4 KiB ring.
        assert_eq!(b.write_at(100, &pattern(4100, 500)), 500);
        assert_eq!(b.allocated(), 4096);
        // Out-of-order far ahead: grows, keeping both.
        assert_eq!(b.write_at(6000, &pattern(10_000, 1000)), 1000);
        assert_eq!(b.allocated(), 8192);
        assert_eq!(readable(&b), pattern(3000, 1000));
        // Fill the holes and commit everything.
        b.write_at(0, &pattern(4000, 100));
        b.write_at(600, &pattern(4600, 5400));
        assert_eq!(b.commit(7000), 7000);
        assert_eq!(readable(&b), pattern(3000, 8000));
    }

    #[test]
    fn storage_grows_geometrically_up_to_the_limit() {
        let mut b = RecvBuffer::new(100_000);
        b.write_at(0, &[1]);
        assert_eq!(b.allocated(), 1024);
        b.write_at(5000, &[1]);
        assert_eq!(b.allocated(), 8192);
        b.write_at(20_000, &[1]);
        assert_eq!(b.allocated(), 32768);
        assert_eq!(b.write_at(99_000, &[1; 5000]), 1000);
        assert_eq!(b.allocated(), 100_000);
    }

    #[test]
    fn lowering_the_limit_keeps_the_data_and_shrinks_the_window() {
        let mut b = RecvBuffer::new(100);
        b.write_at(0, &pattern(0, 80));
        b.commit(60);
        b.set_limit(50);
        assert_eq!(b.window(), 0);
        assert_eq!(b.write_at(0, b"x"), 0);
        assert_eq!(readable(&b), pattern(0, 60));
        // The stored bytes past the readable ones are still there to commit.
        assert_eq!(b.commit(20), 20);
        assert_eq!(readable(&b), pattern(0, 80));
        b.consume(70);
        assert_eq!(b.window(), 40);
    }

    #[test]
    fn renew_makes_what_new_makes_with_or_without_storage() {
        let mut b = RecvBuffer::new(1 << 16);
        b.write_at(0, b"abc");
        b.commit(3);
        assert_ne!(b.allocated(), 0);
        b.renew(1 << 10);
        assert_eq!(format!("{b:?}"), format!("{:?}", RecvBuffer::new(1 << 10)));
        // No storage (a shed buffer): renewed in place.
        b.renew(1 << 12);
        assert_eq!(format!("{b:?}"), format!("{:?}", RecvBuffer::new(1 << 12)));
    }

    #[test]
    fn shrink_if_empty_frees_only_when_nothing_is_held() {
        let mut b = RecvBuffer::new(1 << 16);
        b.write_at(0, b"abc");
        b.commit(3);
        assert!(!b.shrink_if_empty(false));
        b.consume(3);
        assert!(!b.shrink_if_empty(true), "out-of-order data is held");
        assert_eq!(b.allocated(), 1024);
        assert!(b.shrink_if_empty(false));
        assert_eq!(b.allocated(), 0);
        assert_eq!(b.write_at(0, b"again"), 5);
        b.commit(5);
        assert_eq!(readable(&b), b"again");
    }

    #[test]
    fn a_zero_limit_never_allocates() {
        let mut b = RecvBuffer::new(0);
        assert_eq!(b.write_at(0, b"data"), 0);
        assert_eq!(b.window(), 0);
        assert_eq!(b.allocated(), 0);
    }

    #[derive(Debug, Clone)]
    enum Op {
        /// Store the stream bytes at this offset past RCV.NXT.
        WriteAt(usize, usize),
        /// Commit up to this many of the bytes held at offset 0.
        Commit(usize),
        Read(usize),
        Peek(usize),
        Consume(usize),
        SetLimit(usize),
        Shrink,
    }

    fn op() -> impl Strategy<Value = Op> {
        prop_oneof![
            6 => (0usize..6000, 0usize..3000).prop_map(|(o, l)| Op::WriteAt(o, l)),
            3 => (0usize..8000).prop_map(Op::Commit),
            2 => (0usize..4000).prop_map(Op::Read),
            1 => (0usize..4000).prop_map(Op::Peek),
            2 => (0usize..4000).prop_map(Op::Consume),
            1 => (0usize..10_000).prop_map(Op::SetLimit),
            1 => Just(Op::Shrink),
        ]
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(512))]

        /// `write_at_summed` stores what `write_at` stores, wherever the ring's front
        /// is (so across its wrap at every split), and returns the checksum of exactly
        /// the bytes it stored.
        #[test]
        fn write_at_summed_stores_like_write_at_and_sums_what_it_stored(
            limit in 1usize..5000,
            skip in 0usize..5000,
            offset in 0usize..3000,
            data in proptest::collection::vec(any::<u8>(), 0..3000),
        ) {
            let mut summed = rotated(limit, skip);
            let mut plain = summed.clone();
            let (n, sum) = summed.write_at_summed(offset, &data);
            prop_assert_eq!(n, plain.write_at(offset, &data));
            prop_assert_eq!(sum, reference_sum(&data[..n]));
            if n > 0 {
                prop_assert_eq!(summed.commit(offset + n), offset + n);
                prop_assert_eq!(plain.commit(offset + n), offset + n);
                let stored = readable(&summed);
                prop_assert_eq!(&stored[..], &readable(&plain)[..]);
                prop_assert_eq!(&stored[offset..], &data[..n]);
            }
        }

        /// The model: readable bytes in a deque, then one `Option<u8>` per offset past
        /// RCV.NXT (`Some` where data was stored). Stream byte `i` is `pattern(i)`, with
        /// `rcv_nxt` counting the bytes committed so far.
        #[test]
        fn matches_a_vec_model(
            limit in 0usize..10_000,
            ops in proptest::collection::vec(op(), 1..80),
        ) {
            let mut b = RecvBuffer::new(limit);
            let mut readable_m: VecDeque<u8> = VecDeque::new();
            let mut ooo: Vec<Option<u8>> = Vec::new();
            let mut rcv_nxt = 0usize;
            let mut m_limit = limit;
            let mut max_limit = limit;
            for op in ops {
                match op {
                    Op::WriteAt(off, n) => {
                        let data = pattern(rcv_nxt + off, n);
                        let want = n.min(m_limit.saturating_sub(readable_m.len()).saturating_sub(off));
                        prop_assert_eq!(b.write_at(off, &data), want);
                        if want > 0 && ooo.len() < off + want {
                            ooo.resize(off + want, None);
                        }
                        for (i, &x) in data[..want].iter().enumerate() {
                            ooo[off + i] = Some(x);
                        }
                    }
                    Op::Commit(n) => {
                        // Like the assembler: only bytes stored at offset 0 onwards.
                        let held = ooo.iter().take_while(|x| x.is_some()).count();
                        let n = n.min(held);
                        prop_assert_eq!(b.commit(n), n);
                        readable_m.extend(ooo.drain(..n).map(|x| x.unwrap_or_default()));
                        rcv_nxt += n;
                    }
                    Op::Read(n) => {
                        let mut out = vec![0xAAu8; n];
                        let got = b.read(&mut out);
                        let want: Vec<u8> = readable_m.drain(..n.min(readable_m.len())).collect();
                        prop_assert_eq!(&out[..got], &want[..]);
                        prop_assert!(out[got..].iter().all(|&x| x == 0xAA));
                    }
                    Op::Peek(n) => {
                        let mut out = vec![0u8; n];
                        let got = b.peek(&mut out);
                        let want: Vec<u8> = readable_m.iter().take(n).copied().collect();
                        prop_assert_eq!(&out[..got], &want[..]);
                    }
                    Op::Consume(n) => {
                        let want = n.min(readable_m.len());
                        prop_assert_eq!(b.consume(n), want);
                        readable_m.drain(..want);
                    }
                    Op::SetLimit(l) => {
                        b.set_limit(l);
                        m_limit = l;
                        max_limit = max_limit.max(l);
                    }
                    Op::Shrink => {
                        let ooo_held = ooo.iter().any(|x| x.is_some());
                        let freed = b.shrink_if_empty(ooo_held);
                        if readable_m.is_empty() && !ooo_held {
                            prop_assert!(freed);
                            prop_assert_eq!(b.allocated(), 0);
                            ooo.clear();
                        } else {
                            prop_assert!(!freed);
                        }
                    }
                }
                prop_assert_eq!(b.len(), readable_m.len());
                prop_assert_eq!(b.window(), m_limit.saturating_sub(readable_m.len()));
                prop_assert_eq!(b.limit(), m_limit);
                prop_assert!(b.allocated() <= max_limit);
                prop_assert!(b.allocated() >= b.len() + ooo.len());
                prop_assert_eq!(readable(&b), readable_m.iter().copied().collect::<Vec<u8>>());
                // Every stored out-of-order byte is where the model says it is. The
                // holes between them are filled first: `commit` may only cover bytes
                // that were written (the storage past its written prefix is not
                // there to read), as the connection's assembler guarantees.
                let mut probe = b.clone();
                // (past a lowered limit too: those bytes stay held)
                probe.set_limit(usize::MAX);
                let mut i = 0;
                while i < ooo.len() {
                    let hole = ooo[i..].iter().take_while(|x| x.is_none()).count();
                    if hole > 0 {
                        prop_assert_eq!(probe.write_at(i, &vec![0u8; hole]), hole);
                    }
                    i += hole + ooo[i + hole..].iter().take_while(|x| x.is_some()).count();
                }
                let stored = probe.commit(ooo.len());
                prop_assert_eq!(stored, ooo.len());
                let all = readable(&probe);
                for (i, x) in ooo.iter().enumerate() {
                    if let Some(x) = x {
                        prop_assert_eq!(all[readable_m.len() + i], *x);
                    }
                }
            }
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(2000))]
        /// From fresh storage (so through its never-written part, which `rotated`
        /// writes all of first), any sequence of writes, commits of what was
        /// stored and reads leaves `write_at_summed` and `write_at` with the same
        /// bytes, and the sum is that of the bytes stored.
        #[test]
        fn write_at_summed_matches_write_at_from_fresh_storage(
            limit in 1usize..5000,
            ops in proptest::collection::vec((0u8..4, 0usize..3000, 0usize..2000, any::<u8>()), 1..30),
        ) {
            let mut a = RecvBuffer::new(limit);
            let mut b = RecvBuffer::new(limit);
            let mut written: VecDeque<bool> = VecDeque::new();
            for (kind, x, y, seed) in ops {
                match kind {
                    0 | 1 => {
                        let data: Vec<u8> = (0..y).map(|i| (i as u8).wrapping_mul(31).wrapping_add(seed)).collect();
                        let (n, sum) = a.write_at_summed(x, &data);
                        let m = b.write_at(x, &data);
                        prop_assert_eq!(n, m);
                        prop_assert_eq!(sum, reference_sum(&data[..n]));
                        if written.len() < x + n {
                            written.resize(x + n, false);
                        }
                        for w in written.iter_mut().skip(x).take(n) {
                            *w = true;
                        }
                    }
                    2 => {
                        let k = written.iter().take_while(|w| **w).count().min(x);
                        prop_assert_eq!(a.commit(k), b.commit(k));
                        written.drain(..k);
                    }
                    _ => {
                        prop_assert_eq!(a.consume(y), b.consume(y));
                    }
                }
                prop_assert_eq!(readable(&a), readable(&b));
                prop_assert_eq!(a.window(), b.window());
            }
        }
    }
}
