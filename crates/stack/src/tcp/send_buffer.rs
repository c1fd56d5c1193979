//! The send side's bytes: what the application wrote that the peer has not
//! acknowledged yet.
//!
//! A [`SendBuffer`] is a byte queue whose front is SND.UNA. The connection keeps the
//! sequence numbers; the buffer only knows offsets from the front, so the byte at
//! sequence number `s` is at offset `s - SND.UNA`. Bytes from the front up to
//! SND.NXT are in flight; the rest are waiting for the window:
//!
//! ```text
//!   front (SND.UNA)        SND.NXT                 len()             limit()
//!   |--- sent, not acked ---|--- written, not sent ---|---- free() ----|
//! ```
//!
//! - [`write`](SendBuffer::write) appends what the application hands over, as much as
//!   fits under the limit;
//! - [`read_at`](SendBuffer::read_at) copies a segment's payload straight into the
//!   outgoing packet, for first transmissions and retransmissions alike
//!   ([`slices_at`](SendBuffer::slices_at) lends the bytes instead, for checksumming
//!   or gathering);
//! - [`consume`](SendBuffer::consume) drops what the peer acknowledged.
//!
//! Every call copies with at most two `memcpy`s (the ring may wrap once) and none
//! allocates except a `write` that needs more room.
//!
//! # Memory
//!
//! [`SendBuffer::new`] allocates nothing. Storage grows when a write needs it: 1 KiB
//! first, then doubling, the last step stopping at the limit exactly (so
//! [`allocated`](SendBuffer::allocated) never exceeds the limit in force when the
//! storage last grew). Emptying the buffer does not free it, because a connection
//! that just drained its data usually writes again soon, and freeing on every
//! acknowledgement would turn request-response traffic into an allocation per
//! request. Instead the connection calls [`shrink_if_empty`](SendBuffer::shrink_if_empty)
//! when it goes idle (nothing in flight, nothing queued) or closes, and an idle
//! connection then holds no buffer memory.
//!
//! # Limits
//!
//! [`set_limit`](SendBuffer::set_limit) may lower the limit below what is held: the
//! bytes stay (they were accepted and must be delivered) and `write` accepts nothing
//! until acknowledgements bring the length under the new limit.

use super::ring::Ring;
use super::ring_pool::RingPool;

/// Bytes written by the application and not yet acknowledged, front = SND.UNA. See the
/// [module docs](self).
#[derive(Debug, Clone)]
pub struct SendBuffer {
    ring: Ring,
    /// Bytes held, at logical positions `0..len` of the ring (`len <= capacity`).
    len: usize,
    limit: usize,
}

impl SendBuffer {
    /// An empty buffer that accepts up to `limit` bytes. Allocates nothing.
    pub const fn new(limit: usize) -> SendBuffer {
        SendBuffer {
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
            *self = SendBuffer::new(limit);
            return;
        }
        self.len = 0;
        self.limit = limit;
    }

    /// Bytes held: sent-but-unacknowledged plus not yet sent.
    #[inline]
    pub fn len(&self) -> usize {
        self.len
    }

    /// No byte is held.
    #[inline]
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// How many more bytes [`write`](Self::write) accepts now: `limit - len`, or 0 if
    /// the limit was lowered below the length.
    #[inline]
    pub fn free(&self) -> usize {
        self.limit.saturating_sub(self.len)
    }

    /// The most bytes the buffer accepts.
    #[inline]
    pub fn limit(&self) -> usize {
        self.limit
    }

    /// Changes the limit. Lowering it below [`len`](Self::len) keeps every byte held;
    /// writes are refused until the length falls below the new limit. Storage is not
    /// reallocated: a smaller limit takes effect on memory at the next
    /// [`shrink_if_empty`](Self::shrink_if_empty).
    pub fn set_limit(&mut self, limit: usize) {
        self.limit = limit;
    }

    /// Bytes of storage held, for memory accounting (0 when nothing is allocated).
    #[inline]
    pub fn allocated(&self) -> usize {
        self.ring.capacity()
    }

    /// Appends as much of `data` as fits under the limit and returns how many bytes
    /// that was (from the start of `data`). Grows the storage if it must.
    pub fn write(&mut self, data: &[u8]) -> usize {
        self.write_pooled(data, &mut RingPool::new(0))
    }

    /// [`write`](Self::write), taking a first storage from `pool` when it keeps
    /// one ([`RingPool`]).
    #[inline]
    pub(crate) fn write_pooled(&mut self, data: &[u8], pool: &mut RingPool) -> usize {
        let n = data.len().min(self.free());
        if n == 0 {
            return 0;
        }
        let end = self.len + n;
        if end > self.ring.capacity() {
            self.ring.reserve(end, self.limit, self.len, pool);
        }
        self.ring.write(self.len, &data[..n]);
        self.len = end;
        n
    }

    /// Copies the bytes starting `offset` bytes after the front (SND.UNA) into `out`
    /// and returns how many: `out.len()`, or fewer if the buffer ends first (0 if
    /// `offset >= len`).
    #[inline]
    pub fn read_at(&self, offset: usize, out: &mut [u8]) -> usize {
        let n = out.len().min(self.len.saturating_sub(offset));
        if n == 0 {
            return 0;
        }
        self.ring.read(offset, &mut out[..n]);
        n
    }

    /// Lends up to `len` bytes starting `offset` bytes after the front, as the part
    /// before the ring's wrap and the part after it (the second is empty when the
    /// bytes are contiguous). Clamped to what is held, like
    /// [`read_at`](Self::read_at).
    #[inline]
    pub fn slices_at(&self, offset: usize, len: usize) -> (&[u8], &[u8]) {
        let n = len.min(self.len.saturating_sub(offset));
        if n == 0 {
            return (&[], &[]);
        }
        self.ring.slices(offset, n)
    }

    /// Drops `n` bytes from the front (they were acknowledged: SND.UNA advanced by
    /// `n`) and returns how many were dropped, at most [`len`](Self::len). Keeps the
    /// storage; see [`shrink_if_empty`](Self::shrink_if_empty).
    #[inline]
    pub fn consume(&mut self, n: usize) -> usize {
        //= https://www.rfc-editor.org/rfc/rfc9293#section-3.10.7.4
        //# If SND.UNA < SEG.ACK =< SND.NXT, then set SND.UNA <- SEG.ACK.
        //# Any segments on the retransmission queue that are thereby entirely
        //# acknowledged are removed.
        let n = n.min(self.len);
        self.len -= n;
        if self.len == 0 {
            // Start over at the beginning of the storage: the next writes and reads
            // are contiguous for as long as possible.
            self.ring.reset_front();
        } else {
            self.ring.advance(n);
        }
        n
    }

    /// Frees the storage if no byte is held, and says whether the buffer now holds no
    /// memory. The connection calls this when it goes idle or closes; the next
    /// [`write`](Self::write) allocates again.
    pub fn shrink_if_empty(&mut self) -> bool {
        self.shrink_if_empty_into(&mut RingPool::new(0));
        self.ring.capacity() == 0
    }

    /// [`shrink_if_empty`](Self::shrink_if_empty), letting go of the storage
    /// into `pool` ([`RingPool`]: kept for the next ring if it is a first
    /// allocation and the pool has room, freed otherwise).
    #[inline]
    pub(crate) fn shrink_if_empty_into(&mut self, pool: &mut RingPool) {
        if self.len == 0 {
            self.ring.free_into(pool);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::collections::VecDeque;

    fn pattern(start: usize, len: usize) -> Vec<u8> {
        (start..start + len)
            .map(|i| (i * 7 + i / 251) as u8)
            .collect()
    }

    fn read_all(b: &SendBuffer) -> Vec<u8> {
        let mut out = vec![0u8; b.len()];
        assert_eq!(b.read_at(0, &mut out), b.len());
        out
    }

    #[test]
    fn a_new_buffer_allocates_nothing() {
        let b = SendBuffer::new(1 << 20);
        assert_eq!(b.allocated(), 0);
        assert_eq!(b.len(), 0);
        assert!(b.is_empty());
        assert_eq!(b.free(), 1 << 20);
        assert_eq!(b.limit(), 1 << 20);
    }

    #[test]
    fn empty_writes_and_reads_allocate_nothing() {
        let mut b = SendBuffer::new(1 << 20);
        assert_eq!(b.write(&[]), 0);
        assert_eq!(b.read_at(0, &mut [0u8; 16]), 0);
        assert_eq!(b.slices_at(0, 16), (&[][..], &[][..]));
        assert_eq!(b.consume(5), 0);
        assert_eq!(b.allocated(), 0);
    }

    #[test]
    fn storage_grows_geometrically_from_one_kib_to_the_limit() {
        let mut b = SendBuffer::new(100_000);
        b.write(&[1]);
        assert_eq!(b.allocated(), 1024);
        b.write(&pattern(0, 4096));
        assert_eq!(b.allocated(), 8192);
        b.write(&pattern(0, 20_000));
        assert_eq!(b.allocated(), 32768);
        assert_eq!(b.write(&pattern(0, 200_000)), 100_000 - 24_097);
        assert_eq!(b.allocated(), 100_000);
        assert_eq!(b.free(), 0);
    }

    #[test]
    fn write_accepts_only_up_to_the_limit() {
        let mut b = SendBuffer::new(10);
        assert_eq!(b.write(b"hello"), 5);
        assert_eq!(b.write(b"wonderful world"), 5);
        assert_eq!(b.write(b"!"), 0);
        assert_eq!(read_all(&b), b"hellowonde");
        assert_eq!(b.allocated(), 10);
    }

    #[test]
    fn read_at_copies_from_an_offset_and_clamps_at_the_end() {
        let mut b = SendBuffer::new(64);
        b.write(b"0123456789");
        let mut out = [0u8; 4];
        assert_eq!(b.read_at(3, &mut out), 4);
        assert_eq!(&out, b"3456");
        assert_eq!(b.read_at(8, &mut out), 2);
        assert_eq!(&out[..2], b"89");
        assert_eq!(b.read_at(10, &mut out), 0);
        assert_eq!(b.read_at(usize::MAX, &mut out), 0);
    }

    #[test]
    fn reads_and_writes_wrap_around_the_ring() {
        let mut b = SendBuffer::new(16);
        b.write(&pattern(0, 12));
        b.consume(10);
        // 2 bytes at positions 10..12; 14 more wrap past the end of the 16-byte ring.
        assert_eq!(b.write(&pattern(12, 20)), 14);
        assert_eq!(b.allocated(), 16);
        assert_eq!(read_all(&b), pattern(10, 16));
        let (a, c) = b.slices_at(0, 16);
        assert_eq!(a.len(), 6);
        assert_eq!(c.len(), 10);
        assert_eq!([a, c].concat(), pattern(10, 16));
        let mut out = [0u8; 5];
        assert_eq!(b.read_at(4, &mut out), 5);
        assert_eq!(out[..], pattern(14, 5)[..]);
    }

    #[test]
    fn growth_preserves_wrapped_data() {
        let mut b = SendBuffer::new(1 << 16);
        b.write(&pattern(0, 4000));
        b.consume(3000);
        b.write(&pattern(4000, 3000)); // wraps in the 4 KiB ring
        assert_eq!(b.allocated(), 4096);
        b.write(&pattern(7000, 5000)); // grows
        assert_eq!(b.allocated(), 16384);
        assert_eq!(read_all(&b), pattern(3000, 9000));
    }

    #[test]
    fn consume_is_clamped_and_returns_what_it_dropped() {
        let mut b = SendBuffer::new(64);
        b.write(b"abcdef");
        assert_eq!(b.consume(2), 2);
        assert_eq!(read_all(&b), b"cdef");
        assert_eq!(b.consume(100), 4);
        assert!(b.is_empty());
        assert_eq!(b.consume(usize::MAX), 0);
    }

    #[test]
    fn slices_at_clamps_to_what_is_held() {
        let mut b = SendBuffer::new(64);
        b.write(b"abcdef");
        assert_eq!(b.slices_at(4, 100), (&b"ef"[..], &[][..]));
        assert_eq!(b.slices_at(6, 1), (&[][..], &[][..]));
        assert_eq!(b.slices_at(usize::MAX, usize::MAX), (&[][..], &[][..]));
    }

    #[test]
    fn lowering_the_limit_keeps_the_data_and_stops_writes() {
        let mut b = SendBuffer::new(100);
        b.write(&pattern(0, 80));
        b.set_limit(50);
        assert_eq!(b.len(), 80);
        assert_eq!(b.free(), 0);
        assert_eq!(b.write(b"x"), 0);
        assert_eq!(read_all(&b), pattern(0, 80));
        b.consume(40);
        assert_eq!(b.free(), 10);
        assert_eq!(b.write(&pattern(80, 20)), 10);
        assert_eq!(read_all(&b), pattern(40, 50));
    }

    #[test]
    fn raising_the_limit_lets_storage_grow_again() {
        let mut b = SendBuffer::new(100);
        b.write(&pattern(0, 100));
        assert_eq!(b.allocated(), 100);
        b.set_limit(10_000);
        assert_eq!(b.write(&pattern(100, 5000)), 5000);
        assert_eq!(b.allocated(), 8192);
        assert_eq!(read_all(&b), pattern(0, 5100));
    }

    #[test]
    fn renew_makes_what_new_makes_with_or_without_storage() {
        let mut b = SendBuffer::new(1 << 16);
        b.write(&pattern(0, 100));
        b.consume(40);
        assert_ne!(b.allocated(), 0);
        b.renew(1 << 10);
        assert_eq!(format!("{b:?}"), format!("{:?}", SendBuffer::new(1 << 10)));
        // No storage (a shed buffer): renewed in place.
        b.renew(1 << 12);
        assert_eq!(format!("{b:?}"), format!("{:?}", SendBuffer::new(1 << 12)));
        assert_eq!(b.write(&pattern(0, 5000)), 4096, "the new limit holds");
    }

    #[test]
    fn shrink_if_empty_frees_only_an_empty_buffer() {
        let mut b = SendBuffer::new(1 << 16);
        b.write(&pattern(0, 100));
        assert!(!b.shrink_if_empty());
        assert_eq!(b.allocated(), 1024);
        b.consume(100);
        assert_eq!(b.allocated(), 1024, "emptying alone keeps the storage");
        assert!(b.shrink_if_empty());
        assert_eq!(b.allocated(), 0);
        assert_eq!(b.write(b"again"), 5);
        assert_eq!(read_all(&b), b"again");
    }

    #[test]
    fn a_zero_limit_never_allocates() {
        let mut b = SendBuffer::new(0);
        assert_eq!(b.write(b"data"), 0);
        assert_eq!(b.allocated(), 0);
    }

    #[test]
    fn segments_stream_through_a_full_buffer_intact() {
        // The bulk-transfer pattern: keep the buffer full, send from the middle,
        // acknowledge from the front; every position of the ring gets used.
        let mut b = SendBuffer::new(10_000);
        let mut written = b.write(&pattern(0, 10_000));
        let mut acked = 0;
        let mut seg = [0u8; 1448];
        for _ in 0..200 {
            assert_eq!(b.read_at(5000, &mut seg), 1448);
            assert_eq!(seg[..], pattern(acked + 5000, 1448)[..]);
            acked += b.consume(1448);
            written += b.write(&pattern(written, 1448));
        }
        assert_eq!(b.allocated(), 10_000);
        assert_eq!(read_all(&b), pattern(acked, 10_000));
    }

    #[derive(Debug, Clone)]
    enum Op {
        Write(usize),
        ReadAt(usize, usize),
        SlicesAt(usize, usize),
        Consume(usize),
        SetLimit(usize),
        Shrink,
    }

    fn op() -> impl Strategy<Value = Op> {
        prop_oneof![
            4 => (0usize..3000).prop_map(Op::Write),
            3 => (0usize..6000, 0usize..3000).prop_map(|(o, l)| Op::ReadAt(o, l)),
            1 => (0usize..6000, 0usize..3000).prop_map(|(o, l)| Op::SlicesAt(o, l)),
            3 => (0usize..3000).prop_map(Op::Consume),
            1 => (0usize..10_000).prop_map(Op::SetLimit),
            1 => Just(Op::Shrink),
        ]
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(512))]

        #[test]
        fn matches_a_vecdeque_model(
            limit in 0usize..10_000,
            ops in proptest::collection::vec(op(), 1..80),
        ) {
            let mut b = SendBuffer::new(limit);
            let mut m: VecDeque<u8> = VecDeque::new();
            let mut m_limit = limit;
            // The largest limit that was in force when storage could have grown.
            let mut max_limit = limit;
            let mut next = 0usize;
            for op in ops {
                match op {
                    Op::Write(n) => {
                        let data = pattern(next, n);
                        let want = n.min(m_limit.saturating_sub(m.len()));
                        prop_assert_eq!(b.write(&data), want);
                        m.extend(&data[..want]);
                        next += want;
                    }
                    Op::ReadAt(off, n) => {
                        let mut out = vec![0xAAu8; n];
                        let got = b.read_at(off, &mut out);
                        let want: Vec<u8> = m.iter().skip(off).take(n).copied().collect();
                        prop_assert_eq!(got, want.len());
                        prop_assert_eq!(&out[..got], &want[..]);
                        prop_assert!(out[got..].iter().all(|&x| x == 0xAA));
                    }
                    Op::SlicesAt(off, n) => {
                        let (x, y) = b.slices_at(off, n);
                        let want: Vec<u8> = m.iter().skip(off).take(n).copied().collect();
                        prop_assert_eq!([x, y].concat(), want);
                    }
                    Op::Consume(n) => {
                        let want = n.min(m.len());
                        prop_assert_eq!(b.consume(n), want);
                        m.drain(..want);
                    }
                    Op::SetLimit(l) => {
                        b.set_limit(l);
                        m_limit = l;
                        max_limit = max_limit.max(l);
                    }
                    Op::Shrink => {
                        let freed = b.shrink_if_empty();
                        prop_assert_eq!(freed, m.is_empty());
                        if m.is_empty() {
                            prop_assert_eq!(b.allocated(), 0);
                        }
                    }
                }
                prop_assert_eq!(b.len(), m.len());
                prop_assert_eq!(b.is_empty(), m.is_empty());
                prop_assert_eq!(b.limit(), m_limit);
                prop_assert_eq!(b.free(), m_limit.saturating_sub(m.len()));
                prop_assert!(b.allocated() >= b.len());
                prop_assert!(b.allocated() <= max_limit);
                prop_assert_eq!(read_all(&b), m.iter().copied().collect::<Vec<u8>>());
            }
        }
    }
}
