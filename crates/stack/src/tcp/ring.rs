//! The byte ring under [`SendBuffer`](super::send_buffer::SendBuffer) and
//! [`RecvBuffer`](super::recv_buffer::RecvBuffer): storage that is allocated lazily,
//! grows geometrically up to a limit, and copies in and out with at most two `memcpy`s
//! per call (one on each side of the wrap).
//!
//! The ring knows nothing about which bytes are meaningful: it maps *logical
//! positions* `0..capacity` (0 is the front) onto its storage. The buffers keep the
//! lengths and clamp every position before they call in here, so every method's
//! precondition is that the positions it is given lie inside the capacity.
//!
//! # Growth
//!
//! Capacities are powers of two from [`MIN_CAPACITY`] (1 KiB: the small messages of
//! short connections allocate and zero little) up, doubling, except that the last step
//! stops at the limit exactly: a 100 000-byte limit gives 1, 2, 4, ..., 64 KiB, then
//! 100 000 bytes, never 128 KiB. So storage never exceeds the limit in force when it
//! grew, and a limit below 1 KiB is allocated exactly. Positions are
//! wrapped with a compare and a subtraction, once per call, so a capacity that is not a
//! power of two costs nothing extra.

use super::ring_pool::RingPool;
use crate::wire::checksum;

/// The sum of bytes that follow `before` bytes of a checksummed whole, given their
/// sum taken from an even start: byte-swapped when `before` is odd.
//= https://www.rfc-editor.org/rfc/rfc1071#section-2
//# (B)  Byte Order Independence
#[inline]
pub(crate) fn odd_aligned(sum: u16, before: usize) -> u16 {
    if before % 2 == 1 {
        sum.swap_bytes()
    } else {
        sum
    }
}

/// The first allocation, unless the limit is smaller.
pub(crate) const MIN_CAPACITY: usize = 1024;

/// A ring of bytes addressed by logical position. See the [module docs](self).
///
/// The storage is never zeroed: its capacity is the ring's, and its length is the
/// prefix written so far. A write past that prefix extends it with the bytes
/// written (zeroing only a gap it leaves, when out-of-order data lands beyond it),
/// so a short connection's ring costs a `malloc` and the copy of its bytes, not a
/// `memset` of the whole storage as well. Reads only ever cover written bytes
/// (the buffers read what they stored), which lie in the prefix.
#[derive(Debug, Default)]
pub(crate) struct Ring {
    /// The storage: its capacity (exactly as allocated) is the ring's capacity (0:
    /// nothing allocated); its length, the storage indexes written so far.
    buf: Vec<u8>,
    /// The storage index of logical position 0: `head < capacity`, or 0 when empty.
    head: usize,
}

impl Clone for Ring {
    /// The same bytes at the same positions, in storage of the same capacity (a
    /// derived clone would allocate only the written prefix).
    fn clone(&self) -> Ring {
        let mut buf = Vec::with_capacity(self.buf.capacity());
        buf.extend_from_slice(&self.buf);
        Ring {
            buf,
            head: self.head,
        }
    }
}

impl Ring {
    /// A ring with no storage.
    pub(crate) const fn new() -> Ring {
        Ring {
            buf: Vec::new(),
            head: 0,
        }
    }

    /// Bytes of storage held.
    #[inline]
    pub(crate) fn capacity(&self) -> usize {
        self.buf.capacity()
    }

    /// The storage index of logical position `pos` (`pos <= capacity`).
    #[inline]
    fn index(&self, pos: usize) -> usize {
        let cap = self.buf.capacity();
        debug_assert!(pos <= cap);
        let i = self.head + pos;
        if i >= cap {
            i - cap
        } else {
            i
        }
    }

    /// Makes the storage indexes `..end` (`end <= capacity`) written, zeroing the
    /// ones that were not, so that they can be overwritten in place.
    #[inline]
    fn written_to(&mut self, end: usize) {
        debug_assert!(end <= self.buf.capacity());
        if end > self.buf.len() {
            self.zero_to(end);
        }
    }

    /// [`written_to`](Self::written_to)'s first pass over the storage, out of
    /// line: once a ring was written all round, it never runs again.
    #[cold]
    #[inline(never)]
    fn zero_to(&mut self, end: usize) {
        self.buf.resize(end, 0);
    }

    /// Copies `data` to storage indexes `at..at + data.len()` (within the
    /// capacity): in place where the storage was written, appended where it ends.
    #[inline]
    fn put(&mut self, at: usize, data: &[u8]) {
        let end = at + data.len();
        debug_assert!(end <= self.buf.capacity());
        if at == self.buf.len() {
            // The storage's first pass, written in order: append.
            self.buf.extend_from_slice(data);
            return;
        }
        if end <= self.buf.len() {
            self.buf[at..end].copy_from_slice(data);
            return;
        }
        // A gap before the new bytes (out-of-order data beyond what was written)
        // is zeroed: storage is never left unwritten below its length.
        if at > self.buf.len() {
            self.buf.resize(at, 0);
        }
        let (old, new) = data.split_at(self.buf.len() - at);
        self.buf[at..].copy_from_slice(old);
        self.buf.extend_from_slice(new);
    }

    /// The bytes at logical positions `pos..pos + len`, as the part before the wrap
    /// and the part after it (empty if there is no wrap).
    /// Requires `pos + len <= capacity`.
    #[inline]
    pub(crate) fn slices(&self, pos: usize, len: usize) -> (&[u8], &[u8]) {
        debug_assert!(pos + len <= self.buf.capacity());
        let start = self.index(pos);
        let first = len.min(self.buf.capacity() - start);
        (&self.buf[start..start + first], &self.buf[..len - first])
    }

    /// Copies `data` to logical positions `pos..pos + data.len()`.
    /// Requires `pos + data.len() <= capacity`.
    #[inline]
    pub(crate) fn write(&mut self, pos: usize, data: &[u8]) {
        debug_assert!(pos + data.len() <= self.buf.capacity());
        let start = self.index(pos);
        let first = data.len().min(self.buf.capacity() - start);
        let (a, b) = data.split_at(first);
        self.put(start, a);
        if !b.is_empty() {
            // Past the wrap (rare: skip the call to `memcpy` otherwise).
            self.put(0, b);
        }
    }

    /// [`write`](Self::write), returning the one's-complement sum of `data` (RFC
    /// 1071) taken while copying it: the bytes are read once for both.
    // Always in line: into each of the receive buffer's two summed writes
    // (pooled and not), as into the one there was.
    #[inline(always)]
    pub(crate) fn write_summed(&mut self, pos: usize, data: &[u8]) -> u16 {
        debug_assert!(pos + data.len() <= self.buf.capacity());
        let start = self.index(pos);
        match self.buf.get_mut(start..start + data.len()) {
            // Storage already written all round (every pass after the first) and no
            // wrap: the common case.
            Some(out) => checksum::copy(out, data),
            None => self.write_summed_slow(start, data),
        }
    }

    /// [`write_summed`](Self::write_summed) of bytes that cross the end of the
    /// storage, or reach past its written prefix (the storage's first pass), from
    /// storage index `start`. Rare once a ring was written all round, so out of
    /// line: the contiguous path then keeps fewer registers.
    #[cold]
    #[inline(never)]
    fn write_summed_slow(&mut self, start: usize, data: &[u8]) -> u16 {
        let first = data.len().min(self.buf.capacity() - start);
        let (a, b) = data.split_at(first);
        self.written_to(start + first);
        let sum = checksum::copy(&mut self.buf[start..start + first], a);
        if b.is_empty() {
            return sum;
        }
        self.written_to(b.len());
        let rest = checksum::copy(&mut self.buf[..b.len()], b);
        checksum::combine(&[sum, odd_aligned(rest, a.len())])
    }

    /// Copies the bytes at logical positions `pos..pos + out.len()` into `out`.
    /// Requires `pos + out.len() <= capacity`.
    #[inline]
    pub(crate) fn read(&self, pos: usize, out: &mut [u8]) {
        let (a, b) = self.slices(pos, out.len());
        let (oa, ob) = out.split_at_mut(a.len());
        oa.copy_from_slice(a);
        if !b.is_empty() {
            ob.copy_from_slice(b);
        }
    }

    /// Moves the front forward by `n` (`n <= capacity`): position `n` becomes 0 and
    /// the old positions `0..n` become the last ones.
    #[inline]
    pub(crate) fn advance(&mut self, n: usize) {
        self.head = self.index(n);
    }

    /// Puts logical position 0 at the start of the storage. Only for when no byte is
    /// meaningful (it relabels every position).
    #[inline]
    pub(crate) fn reset_front(&mut self) {
        self.head = 0;
    }

    /// Makes the capacity at least `needed`, growing (if it must) to the next step of
    /// the [growth policy](self#growth) capped at `limit` (callers pass `needed <=
    /// limit`; a larger `needed` is honoured anyway). The bytes at logical positions
    /// `0..keep` (`keep <=` the old capacity) keep their positions; after a growth,
    /// position 0 is at the start of the storage. A short connection's first
    /// storage ([`MIN_CAPACITY`] bytes) comes from `pool` when it keeps one
    /// ([`RingPool`]; `RingPool::new(0)` keeps none).
    #[inline]
    pub(crate) fn reserve(
        &mut self,
        needed: usize,
        limit: usize,
        keep: usize,
        pool: &mut RingPool,
    ) {
        if self.buf.capacity() == 0 && needed <= MIN_CAPACITY && limit >= MIN_CAPACITY {
            if let Some(storage) = pool.take() {
                self.buf = storage;
                self.head = 0;
                return;
            }
        }
        self.grow(needed, limit, keep);
    }

    /// [`reserve`](Self::reserve) without a kept storage: allocates.
    #[cold]
    fn grow(&mut self, needed: usize, limit: usize, keep: usize) {
        let cap = self.buf.capacity();
        if needed <= cap {
            return;
        }
        debug_assert!(keep <= cap);
        if cap == 0 && needed <= MIN_CAPACITY && limit >= MIN_CAPACITY {
            // A short connection's one allocation, without the growth policy's
            // arithmetic (which comes to `MIN_CAPACITY` here).
            self.buf = Vec::with_capacity(MIN_CAPACITY);
            self.head = 0;
            return;
        }
        let target = needed
            .max(MIN_CAPACITY)
            .max(cap.saturating_mul(2))
            .checked_next_power_of_two()
            .unwrap_or(usize::MAX)
            .min(limit)
            .max(needed);
        // Exactly `target` bytes (`Vec::with_capacity` promises the capacity
        // asked for), written as the bytes arrive: nothing is zeroed here.
        let mut grown = Vec::with_capacity(target);
        if cap == 0 {
            // The first allocation (every short connection's only one): nothing to
            // keep, so skip the two empty copies and their `memcpy` calls.
            self.buf = grown;
            self.head = 0;
            return;
        }
        // The kept positions may include storage never written (out-of-order
        // holes): written once here, so that they can be copied.
        self.written_to(cap);
        let (a, b) = self.slices(0, keep.min(cap));
        grown.extend_from_slice(a);
        grown.extend_from_slice(b);
        self.buf = grown;
        self.head = 0;
    }

    /// Lets go of the storage into `pool` (which keeps it, emptied, if it is a
    /// first allocation and the pool has room, or frees it).
    #[inline]
    pub(crate) fn free_into(&mut self, pool: &mut RingPool) {
        // No storage (never taken, or already let go: a closing connection's
        // buffers are let go more than once): nothing for the pool, which would
        // only refuse it.
        if self.buf.capacity() != 0 {
            pool.put(core::mem::take(&mut self.buf));
        }
        self.head = 0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn capacities_double_from_one_kib_and_stop_at_the_limit() {
        let mut r = Ring::new();
        assert_eq!(r.capacity(), 0);
        r.reserve(1, 100_000, 0, &mut RingPool::new(0));
        assert_eq!(r.capacity(), 1024);
        r.reserve(4097, 100_000, 0, &mut RingPool::new(0));
        assert_eq!(r.capacity(), 8192);
        r.reserve(8193, 100_000, 0, &mut RingPool::new(0));
        assert_eq!(r.capacity(), 16384);
        r.reserve(70_000, 100_000, 0, &mut RingPool::new(0));
        assert_eq!(r.capacity(), 100_000);
    }

    #[test]
    fn a_small_limit_is_allocated_exactly() {
        let mut r = Ring::new();
        r.reserve(10, 100, 0, &mut RingPool::new(0));
        assert_eq!(r.capacity(), 100);
    }

    #[test]
    fn writes_and_reads_wrap_around_the_end() {
        let mut r = Ring::new();
        r.reserve(8, 8, 0, &mut RingPool::new(0));
        r.advance(6);
        r.write(0, b"abcd");
        assert_eq!(r.slices(0, 4), (&b"ab"[..], &b"cd"[..]));
        let mut out = [0u8; 3];
        r.read(1, &mut out);
        assert_eq!(&out, b"bcd");
    }

    #[test]
    fn growth_keeps_wrapped_bytes_in_logical_order() {
        let mut r = Ring::new();
        r.reserve(8, 8, 0, &mut RingPool::new(0));
        r.advance(5);
        r.write(0, b"01234567");
        r.reserve(9, 64, 8, &mut RingPool::new(0));
        assert_eq!(r.capacity(), 64);
        assert_eq!(r.slices(0, 8), (&b"01234567"[..], &b""[..]));
    }

    #[test]
    fn a_write_beyond_the_written_storage_fills_the_gap() {
        let mut r = Ring::new();
        r.reserve(1, 64, 0, &mut RingPool::new(0));
        // Out-of-order bytes first, then the hole before them.
        r.write(10, b"klm");
        r.write(0, b"abcdefghij");
        let mut out = [0u8; 13];
        r.read(0, &mut out);
        assert_eq!(&out, b"abcdefghijklm");
        assert_eq!(r.capacity(), 64);
    }

    #[test]
    fn growth_keeps_bytes_around_unwritten_storage() {
        let mut r = Ring::new();
        r.reserve(16, 16, 0, &mut RingPool::new(0));
        r.write(0, b"ab");
        r.write(8, b"ij");
        // Positions 2..8 were never written; growth keeps all 16 positions.
        r.reserve(17, 64, 16, &mut RingPool::new(0));
        assert_eq!(r.capacity(), 64);
        let (a, b) = r.slices(0, 2);
        assert_eq!((a, b), (&b"ab"[..], &b""[..]));
        let (a, _) = r.slices(8, 2);
        assert_eq!(a, b"ij");
        r.write(60, b"wxyz");
        r.advance(62);
        assert_eq!(r.slices(0, 2), (&b"yz"[..], &b""[..]));
    }

    #[test]
    fn pooled_storage_is_reused_and_shows_none_of_its_old_bytes() {
        let mut pool = RingPool::new(4);
        let mut old = Ring::new();
        old.reserve(6, 1 << 20, 0, &mut pool);
        old.write(0, b"secret");
        let storage = old.buf.as_ptr();
        old.free_into(&mut pool);
        assert_eq!((old.capacity(), pool.len()), (0, 1));
        let mut new = Ring::new();
        new.reserve(2, 1 << 20, 0, &mut pool);
        assert_eq!(new.buf.as_ptr(), storage, "the freed storage is reused");
        assert_eq!((new.capacity(), pool.len()), (MIN_CAPACITY, 0));
        // Nothing was written yet: no position is readable, old bytes neither.
        assert!(new.buf.is_empty());
        new.write(0, b"ab");
        assert_eq!(new.slices(0, 2), (&b"ab"[..], &b""[..]));
        // Out-of-order bytes leave a gap that reads as zeros, not as old bytes.
        new.write(4, b"z");
        let mut out = [9u8; 5];
        new.read(0, &mut out);
        assert_eq!(&out, b"ab\0\0z");
    }

    #[test]
    fn a_pooled_reserve_allocates_as_reserve_does_when_the_pool_cannot_serve() {
        let mut pool = RingPool::new(4);
        pool.put(Vec::with_capacity(MIN_CAPACITY));
        // A small limit is allocated exactly, not served the 1 KiB storage.
        let mut small = Ring::new();
        small.reserve(10, 100, 0, &mut pool);
        assert_eq!((small.capacity(), pool.len()), (100, 1));
        // A larger first need gets the growth policy's size.
        let mut big = Ring::new();
        big.reserve(3000, 1 << 20, 0, &mut pool);
        assert_eq!((big.capacity(), pool.len()), (4096, 1));
        // Grown storage is not kept.
        big.free_into(&mut pool);
        small.free_into(&mut pool);
        assert_eq!(pool.len(), 1);
    }

    #[test]
    fn a_clone_keeps_the_capacity_and_the_bytes() {
        let mut r = Ring::new();
        r.reserve(1, 1024, 0, &mut RingPool::new(0));
        r.advance(1000);
        r.write(0, &[7u8; 40]);
        let c = r.clone();
        assert_eq!(c.capacity(), 1024);
        assert_eq!(c.slices(0, 40), r.slices(0, 40));
    }
}
