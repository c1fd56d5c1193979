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

/// Up to this size, storage is taken with `malloc` and zeroed here; above it,
/// with `calloc`.
const CALLOC_ABOVE: usize = 64 * 1024;

/// `len` zero bytes. Small storage comes from `malloc` and is zeroed in place:
/// glibc's `calloc` skips its per-thread cache, so a short connection's four
/// 1 KiB rings cost ~450 instructions each through it against ~150 this way
/// (docs/benchmarks.md, session 5). Large storage is asked for zeroed, which the
/// kernel provides lazily as fresh pages.
fn zeroed(len: usize) -> Vec<u8> {
    if len <= CALLOC_ABOVE {
        // Deliberately not `vec![0; len]`: that is the `calloc` this avoids.
        #[allow(clippy::slow_vector_initialization)]
        let mut v = Vec::with_capacity(len);
        v.resize(len, 0);
        v
    } else {
        vec![0u8; len]
    }
}

/// A ring of bytes addressed by logical position. See the [module docs](self).
#[derive(Debug, Clone, Default)]
pub(crate) struct Ring {
    /// The storage; its length is the capacity (0: nothing allocated).
    buf: Vec<u8>,
    /// The storage index of logical position 0: `head < buf.len()`, or 0 when empty.
    head: usize,
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
        self.buf.len()
    }

    /// The storage index of logical position `pos` (`pos <= capacity`).
    #[inline]
    fn index(&self, pos: usize) -> usize {
        debug_assert!(pos <= self.buf.len());
        let i = self.head + pos;
        if i >= self.buf.len() {
            i - self.buf.len()
        } else {
            i
        }
    }

    /// The bytes at logical positions `pos..pos + len`, as the part before the wrap
    /// and the part after it (empty if there is no wrap).
    /// Requires `pos + len <= capacity`.
    #[inline]
    pub(crate) fn slices(&self, pos: usize, len: usize) -> (&[u8], &[u8]) {
        debug_assert!(pos + len <= self.buf.len());
        let start = self.index(pos);
        let first = len.min(self.buf.len() - start);
        (&self.buf[start..start + first], &self.buf[..len - first])
    }

    /// Copies `data` to logical positions `pos..pos + data.len()`.
    /// Requires `pos + data.len() <= capacity`.
    #[inline]
    pub(crate) fn write(&mut self, pos: usize, data: &[u8]) {
        debug_assert!(pos + data.len() <= self.buf.len());
        let start = self.index(pos);
        let first = data.len().min(self.buf.len() - start);
        let (a, b) = data.split_at(first);
        self.buf[start..start + first].copy_from_slice(a);
        if !b.is_empty() {
            // Past the wrap (rare: skip the call to `memcpy` otherwise).
            self.buf[..b.len()].copy_from_slice(b);
        }
    }

    /// [`write`](Self::write), returning the one's-complement sum of `data` (RFC
    /// 1071) taken while copying it: the bytes are read once for both.
    #[inline]
    pub(crate) fn write_summed(&mut self, pos: usize, data: &[u8]) -> u16 {
        debug_assert!(pos + data.len() <= self.buf.len());
        let start = self.index(pos);
        match self.buf.get_mut(start..start + data.len()) {
            Some(out) => checksum::copy(out, data),
            None => self.write_summed_wrapped(start, data),
        }
    }

    /// [`write_summed`](Self::write_summed) of bytes that cross the end of the
    /// storage, from storage index `start`. Rare (once per capacity's worth of
    /// data), so out of line: the contiguous path then keeps fewer registers.
    #[cold]
    #[inline(never)]
    fn write_summed_wrapped(&mut self, start: usize, data: &[u8]) -> u16 {
        let first = data.len().min(self.buf.len().saturating_sub(start));
        let (a, b) = data.split_at(first);
        let sum = checksum::copy(self.buf.get_mut(start..).unwrap_or_default(), a);
        let rest = checksum::copy(&mut self.buf, b);
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
    /// position 0 is at the start of the storage.
    #[cold]
    pub(crate) fn reserve(&mut self, needed: usize, limit: usize, keep: usize) {
        let cap = self.buf.len();
        if needed <= cap {
            return;
        }
        debug_assert!(keep <= cap);
        let target = needed
            .max(MIN_CAPACITY)
            .max(cap.saturating_mul(2))
            .checked_next_power_of_two()
            .unwrap_or(usize::MAX)
            .min(limit)
            .max(needed);
        let mut grown = zeroed(target);
        if cap == 0 {
            // The first allocation (every short connection's only one): nothing to
            // keep, so skip the two empty copies and their `memcpy` calls.
            self.buf = grown;
            self.head = 0;
            return;
        }
        let (a, b) = self.slices(0, keep.min(cap));
        grown[..a.len()].copy_from_slice(a);
        grown[a.len()..a.len() + b.len()].copy_from_slice(b);
        self.buf = grown;
        self.head = 0;
    }

    /// Frees the storage.
    pub(crate) fn free(&mut self) {
        self.buf = Vec::new();
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
        r.reserve(1, 100_000, 0);
        assert_eq!(r.capacity(), 1024);
        r.reserve(4097, 100_000, 0);
        assert_eq!(r.capacity(), 8192);
        r.reserve(8193, 100_000, 0);
        assert_eq!(r.capacity(), 16384);
        r.reserve(70_000, 100_000, 0);
        assert_eq!(r.capacity(), 100_000);
    }

    #[test]
    fn a_small_limit_is_allocated_exactly() {
        let mut r = Ring::new();
        r.reserve(10, 100, 0);
        assert_eq!(r.capacity(), 100);
    }

    #[test]
    fn writes_and_reads_wrap_around_the_end() {
        let mut r = Ring::new();
        r.reserve(8, 8, 0);
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
        r.reserve(8, 8, 0);
        r.advance(5);
        r.write(0, b"01234567");
        r.reserve(9, 64, 8);
        assert_eq!(r.capacity(), 64);
        assert_eq!(r.slices(0, 8), (&b"01234567"[..], &b""[..]));
    }
}
