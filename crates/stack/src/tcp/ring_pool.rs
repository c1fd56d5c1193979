//! A stack's spare ring storage: the first allocation of a short connection's
//! send or receive ring ([`MIN_CAPACITY`], 1 KiB), kept when a ring lets go of
//! it and handed to the next ring that would allocate exactly that, so that a
//! stack opening and closing short connections does not `malloc` and `free` a
//! ring per request.
//!
//! Bounded: at most `TcpConfig::spare_slots` storages are kept, as many as the
//! freed connection slots the stack keeps (the rest are freed),
//! and only storage of exactly [`MIN_CAPACITY`] bytes: a grown ring's storage is
//! freed as before, and a ring whose limit is below 1 KiB still allocates its
//! exact limit. The kept bytes are counted by
//! [`Stack::tcp_spare_slot_bytes`](crate::Stack::tcp_spare_slot_bytes).
//!
//! Kept storage is emptied ([`Vec::clear`]): its length, the prefix a ring has
//! written ([`Ring`](super::ring::Ring)), starts over at 0, so the bytes of the
//! connection that held it cannot be read by the next one (a ring reads only
//! what it wrote).

use super::ring::MIN_CAPACITY;
use super::spare_list::push_bounded;

/// Spare ring storage, at most `max` storages of [`MIN_CAPACITY`] bytes. See
/// the [module docs](self).
#[derive(Debug, Default)]
pub(crate) struct RingPool {
    kept: Vec<Vec<u8>>,
    max: usize,
}

impl RingPool {
    /// A pool that keeps up to `max` storages (0: a pool that keeps nothing,
    /// for a connection driven without a stack).
    pub(crate) const fn new(max: usize) -> RingPool {
        RingPool {
            kept: Vec::new(),
            max,
        }
    }

    /// A kept storage (empty, [`MIN_CAPACITY`] bytes), if any.
    #[inline]
    pub(crate) fn take(&mut self) -> Option<Vec<u8>> {
        self.kept.pop()
    }

    /// Keeps `storage`, emptied, if it is [`MIN_CAPACITY`] bytes and fewer than
    /// the bound are kept; frees it otherwise.
    #[inline]
    pub(crate) fn put(&mut self, mut storage: Vec<u8>) {
        if storage.capacity() != MIN_CAPACITY || self.kept.len() >= self.max {
            return;
        }
        storage.clear();
        // Refused only past the bound, checked above.
        let _ = push_bounded(&mut self.kept, storage, self.max);
    }

    /// Heap bytes held: the kept storages and the list.
    pub(crate) fn bytes(&self) -> usize {
        self.kept.len() * MIN_CAPACITY + self.kept.capacity() * core::mem::size_of::<Vec<u8>>()
    }

    /// Storages kept.
    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.kept.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_first_allocations_are_kept_up_to_the_bound() {
        let mut pool = RingPool::new(2);
        pool.put(Vec::with_capacity(2 * MIN_CAPACITY));
        pool.put(Vec::with_capacity(100));
        assert_eq!(pool.len(), 0, "grown or small storage is freed");
        for _ in 0..5 {
            pool.put(Vec::with_capacity(MIN_CAPACITY));
        }
        assert_eq!(pool.len(), 2);
        assert_eq!(
            pool.bytes(),
            2 * MIN_CAPACITY + 2 * core::mem::size_of::<Vec<u8>>()
        );
        let mut none = RingPool::new(0);
        none.put(Vec::with_capacity(MIN_CAPACITY));
        assert_eq!((none.len(), none.bytes()), (0, 0));
    }

    #[test]
    fn kept_storage_comes_back_empty() {
        let mut pool = RingPool::new(1);
        let mut used = Vec::with_capacity(MIN_CAPACITY);
        used.extend_from_slice(b"secret");
        pool.put(used);
        let again = pool.take().unwrap();
        assert_eq!((again.len(), again.capacity()), (0, MIN_CAPACITY));
        assert!(pool.take().is_none());
    }
}
