//! The connection table: 4-tuple → socket handle, O(1) per packet.
//!
//! A `HashMap<FourTuple, SocketHandle>` stores each 64-byte key beside its handle; at
//! a million connections, with the table's spare capacity, that is ~150 bytes per
//! connection. The connection already knows its tuple, so this table stores only
//! the 8-byte handle and compares keys by looking the handle up in the socket slab
//! (the lookup touches that connection next anyway). Hashes are SipHash-1-3 keyed
//! from the seed, as in the other maps ([`KeyedState::hash_tuple`]).

use core::cell::Cell;
use core::net::SocketAddr;
use hashbrown::HashTable;

use super::demux::{FourTuple, KeyedState, TupleHash};
use super::{Entry, Socket};
use crate::socket::{Slab, SocketHandle};

/// 4-tuple → handle of a TCP connection in the slab.
#[derive(Debug)]
pub(crate) struct ConnTable {
    table: HashTable<SocketHandle>,
    hasher: KeyedState,
    /// The last tuple found (or inserted) and its handle: a bulk transfer's segments all go to
    /// one connection, and comparing a tuple is cheaper than hashing it (SipHash of
    /// two socket addresses was ~6 % of a bulk receiver's profile). Cleared when that
    /// handle leaves the table. Kept as the packed IPv4 key ([`packed_v4`]): copying
    /// and comparing two `SocketAddr`s cost ~60 instructions a segment, the packed
    /// key a handful. IPv6 tuples are not cached (they take the hashed look-up).
    last: Cell<Option<(u128, SocketHandle)>>,
}

/// `key` as one integer when both its addresses are IPv4 (equal integers, equal
/// tuples), else `None`.
fn packed_v4(key: &FourTuple) -> Option<u128> {
    match (&key.local, &key.remote) {
        (SocketAddr::V4(l), SocketAddr::V4(r)) => Some(
            u128::from(l.ip().to_bits())
                | u128::from(r.ip().to_bits()) << 32
                | u128::from(l.port()) << 64
                | u128::from(r.port()) << 80,
        ),
        _ => None,
    }
}

/// The tuple hash kept by the connection at `handle`, if it is one.
fn hash_of(sockets: &Slab<Entry>, handle: SocketHandle) -> u64 {
    match sockets.get(handle).map(|e| &e.socket) {
        Some(Socket::Tcp(slot)) => slot.tuple_hash,
        _ => 0,
    }
}

/// The tuple of the connection at `handle`, if it is one.
fn tuple_of(sockets: &Slab<Entry>, handle: SocketHandle) -> Option<FourTuple> {
    match &sockets.get(handle)?.socket {
        Socket::Tcp(slot) => Some(FourTuple::new(slot.conn.local(), slot.conn.remote())),
        _ => None,
    }
}

impl ConnTable {
    pub(crate) fn new(hasher: KeyedState) -> ConnTable {
        ConnTable {
            table: HashTable::new(),
            hasher,
            last: Cell::new(None),
        }
    }

    /// The connection with tuple `key`.
    pub(crate) fn get(&self, key: &FourTuple, sockets: &Slab<Entry>) -> Option<SocketHandle> {
        self.get_hashed(key, &mut TupleHash::default(), sockets)
    }

    /// [`get`](Self::get), with `key`'s hash computed into `hash` (or taken from
    /// it) when the last-tuple cache does not answer.
    #[inline]
    pub(crate) fn get_hashed(
        &self,
        key: &FourTuple,
        hash: &mut TupleHash,
        sockets: &Slab<Entry>,
    ) -> Option<SocketHandle> {
        let packed = packed_v4(key);
        if let (Some((last, handle)), Some(packed)) = (self.last.get(), packed) {
            if last == packed {
                return Some(handle);
            }
        }
        self.get_uncached(key, packed, hash, sockets)
    }

    /// [`get_hashed`](Self::get_hashed) past the last-tuple cache (`packed` is
    /// `key`'s packed form, if it has one).
    #[inline(never)]
    fn get_uncached(
        &self,
        key: &FourTuple,
        packed: Option<u128>,
        hash: &mut TupleHash,
        sockets: &Slab<Entry>,
    ) -> Option<SocketHandle> {
        let hash = hash.of(&self.hasher, key);
        let found = self
            .table
            .find(hash, |&h| tuple_of(sockets, h).as_ref() == Some(key))
            .copied();
        if let (Some(handle), Some(packed)) = (found, packed) {
            self.last.set(Some((packed, handle)));
        }
        found
    }

    /// Whether a connection has tuple `key`.
    pub(crate) fn contains(
        &self,
        key: &FourTuple,
        hash: &mut TupleHash,
        sockets: &Slab<Entry>,
    ) -> bool {
        self.get_hashed(key, hash, sockets).is_some()
    }

    /// The hash of `key` (computed into `hash`, or taken from it).
    pub(crate) fn hash(&self, key: &FourTuple, hash: &mut TupleHash) -> u64 {
        hash.of(&self.hasher, key)
    }

    /// Adds `handle` under `key`. The handle must already be in `sockets` with that
    /// tuple and its hash (`TcpSlot::tuple_hash`: growing the table takes every
    /// entry's hash from its connection), and `key` must not be in the table.
    pub(crate) fn insert(
        &mut self,
        key: &FourTuple,
        hash: &mut TupleHash,
        handle: SocketHandle,
        sockets: &Slab<Entry>,
    ) {
        let hash = hash.of(&self.hasher, key);
        // Every handle in the table is a live connection (removed before it is
        // freed), so the fallback never answers.
        self.table
            .insert_unique(hash, handle, |&h| hash_of(sockets, h));
        // A new connection's next segment is most likely its own (the SYN-ACK, the
        // handshake's ACK).
        if let Some(packed) = packed_v4(key) {
            self.last.set(Some((packed, handle)));
        }
    }

    /// Removes `handle`, filed under `key`, if it is there.
    pub(crate) fn remove(
        &mut self,
        key: &FourTuple,
        hash: &mut TupleHash,
        handle: SocketHandle,
    ) -> bool {
        if self.last.get().is_some_and(|(_, h)| h == handle) {
            self.last.set(None);
        }
        let hash = hash.of(&self.hasher, key);
        match self.table.find_entry(hash, |&h| h == handle) {
            Ok(entry) => {
                entry.remove();
                true
            }
            Err(_) => false,
        }
    }
}
