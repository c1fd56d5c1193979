//! The connection table: 4-tuple → socket handle, O(1) per packet.
//!
//! A `HashMap<FourTuple, SocketHandle>` stores each 64-byte key beside its handle; at
//! a million connections, with the table's spare capacity, that is ~150 bytes per
//! connection. The connection already knows its tuple, so this table stores only
//! the 8-byte handle and compares keys by looking the handle up in the socket slab
//! (the lookup touches that connection next anyway). Hashes are SipHash-1-3 keyed
//! from the seed, as in the other maps ([`KeyedState::hash_tuple`]).
//!
//! The table also keeps freed connection slots for reuse (at most
//! `TcpConfig::spare_slots`, 256 by default): a short connection's slot (~900
//! bytes) then costs no allocation, no free and no move of a fresh connection
//! into new memory; the next open rebuilds the connection in the slot
//! ([`Connection::reopen`](crate::tcp::Connection)). A spare slot holds nothing
//! but its own bytes. Its congestion state goes to a pool of at most as many
//! ([`CcPool`]), lent to a connection when it is about to send
//! (`Stack::tcp_send`), for its controller to renew rather than allocate; a
//! connection that stays idle in a reused slot holds none. Ring storage a read
//! lets go of goes to a pool of at most as many 1 KiB storages ([`RingPool`]),
//! for the next send's first storage. All are counted by
//! [`Stack::tcp_spare_slot_bytes`](crate::Stack::tcp_spare_slot_bytes).
//!
//! The bound is what a burst of closes needs kept until the opens that follow
//! it: with 64 connections in flight, 64 close and 64 open again, and a bound
//! of 32 (sessions 9 to 11) left every other open building a fresh slot, growing
//! its rings and dropping its congestion state. The lists grow only as far as
//! their use asks (`tcp::spare_list`), so a stack that rarely closes a
//! connection holds little.

use core::cell::Cell;
use core::net::SocketAddr;
use hashbrown::HashTable;

use super::demux::{packed_v4, packed_v6, FourTuple, KeyedState, PackedV6, TupleHash};
use super::{Entry, Socket, TcpSlot};
use crate::socket::{Slab, SocketHandle};
use crate::tcp::conn::CcPool;
use crate::tcp::ring_pool::RingPool;
use crate::tcp::spare_list::push_bounded;

/// The most bytes one unit of `TcpConfig::spare_slots` lets the spares hold: a
/// slot (888 bytes) with its place in the list and the small box it keeps once a
/// state was lent to it (8 + 16), the largest congestion state (BBR's, 960)
/// with the send records' room it keeps (16 × 72) and its place in the pool
/// (16), and a ring storage (1,024) with its place (24): 4,088 bytes.
/// [`Stack::tcp_spare_slot_bytes`](crate::Stack::tcp_spare_slot_bytes) stays
/// within the bound times this (the tests hold it to that).
pub(crate) const SPARE_UNIT_BYTES_MAX: usize = 4096;

/// 4-tuple → handle of a TCP connection in the slab.
#[derive(Debug)]
pub(crate) struct ConnTable {
    table: HashTable<SocketHandle>,
    hasher: KeyedState,
    /// The last tuple found (or inserted) and its handle: a bulk transfer's segments all go to
    /// one connection, and comparing a tuple is cheaper than hashing it (SipHash of
    /// two socket addresses was ~6 % of a bulk receiver's profile). Cleared when that
    /// handle leaves the table. Kept as the packed IPv4 key ([`FourTuple::packed_v4`]): copying
    /// and comparing two `SocketAddr`s cost ~60 instructions a segment, the packed
    /// key a handful. IPv6 tuples have their own cache, [`last_v6`](Self::last_v6).
    last: Cell<Option<(u128, SocketHandle)>>,
    /// [`last`](Self::last) for IPv6 tuples, as [`PackedV6`]: without it every
    /// IPv6 segment paid the SipHash of its 36-byte tuple (~130 instructions)
    /// and a comparison of four `SocketAddr`s. Apart from `last` so that the
    /// IPv4 cache stays one integer compare.
    last_v6: Cell<Option<(PackedV6, SocketHandle)>>,
    /// Freed connection slots kept for reuse, at most `spare_max`. Boxed, as
    /// the slab holds them: reuse moves a pointer, not the slot.
    #[allow(clippy::vec_box)]
    spare: Vec<Box<TcpSlot>>,
    /// The most slots, congestion states and ring storages kept
    /// (`TcpConfig::spare_slots`).
    spare_max: usize,
    /// The congestion states of freed slots, at most `spare_max`, lent to
    /// connections about to send ([`CcPool`]).
    pub(crate) cc_pool: CcPool,
    /// Spare 1 KiB ring storage, at most `spare_max`, for the first send
    /// storage of a connection (`Stack::tcp_send`), kept when a read lets go of
    /// a receive storage (`Stack::tcp_recv`).
    pub(crate) ring_pool: RingPool,
}

/// The tuple hash kept by the connection at `handle`, if it is one.
fn hash_of(sockets: &Slab<Entry>, handle: SocketHandle) -> u64 {
    match sockets.get(handle).map(|e| &e.socket) {
        Some(Socket::Tcp(slot)) => slot.tuple_hash,
        _ => 0,
    }
}

/// The connection at `handle`'s tuple, as its two addresses, if it is one.
#[inline]
fn addresses_of(sockets: &Slab<Entry>, handle: SocketHandle) -> Option<(SocketAddr, SocketAddr)> {
    match &sockets.get(handle)?.socket {
        Socket::Tcp(slot) => Some((slot.conn.local(), slot.conn.remote())),
        _ => None,
    }
}

/// Whether the connection at `handle` has the IPv4 tuple packed as `packed`
/// ([`FourTuple::packed_v4`]): two integers compared, not four `SocketAddr`s
/// rebuilt and compared field by field.
#[inline]
fn has_packed_tuple(sockets: &Slab<Entry>, handle: SocketHandle, packed: u128) -> bool {
    addresses_of(sockets, handle).and_then(|(l, r)| packed_v4(l, r)) == Some(packed)
}

/// Whether the connection at `handle` has the IPv6 tuple packed as `packed`.
#[inline]
fn has_packed_v6_tuple(sockets: &Slab<Entry>, handle: SocketHandle, packed: PackedV6) -> bool {
    addresses_of(sockets, handle).and_then(|(l, r)| packed_v6(l, r)) == Some(packed)
}

/// Whether the connection at `handle` has tuple `key`.
fn has_tuple(sockets: &Slab<Entry>, handle: SocketHandle, key: &FourTuple) -> bool {
    addresses_of(sockets, handle).is_some_and(|(l, r)| FourTuple::new(l, r) == *key)
}

impl ConnTable {
    /// An empty table that keeps up to `spare_max` of each kind of spare
    /// (`TcpConfig::spare_slots`).
    pub(crate) fn new(hasher: KeyedState, spare_max: usize) -> ConnTable {
        ConnTable {
            table: HashTable::new(),
            hasher,
            last: Cell::new(None),
            last_v6: Cell::new(None),
            spare: Vec::new(),
            spare_max,
            cc_pool: CcPool::default(),
            ring_pool: RingPool::new(spare_max),
        }
    }

    /// A freed connection slot to reuse, if one is kept.
    #[inline]
    pub(crate) fn take_spare(&mut self) -> Option<Box<TcpSlot>> {
        self.spare.pop()
    }

    /// Keeps a freed connection slot for reuse, once it has let go of all it held,
    /// or frees it when `TcpConfig::spare_slots` are kept already.
    #[inline]
    pub(crate) fn keep_spare(&mut self, mut slot: Box<TcpSlot>) {
        if self.spare.len() < self.spare_max {
            self.cc_pool.collect(&mut slot.conn, self.spare_max);
            slot.conn.shed();
            // Room checked above: never handed back.
            let _ = push_bounded(&mut self.spare, slot, self.spare_max);
        }
    }

    /// Bytes the spare slots hold: the slots (with the small box a slot keeps
    /// once a state was lent to it), the list itself, the congestion states
    /// kept for reuse and the spare ring storage.
    pub(crate) fn spare_bytes(&self) -> usize {
        let bytes = self
            .spare
            .iter()
            .map(|s| core::mem::size_of::<TcpSlot>() + s.conn.shed_bytes())
            .sum::<usize>()
            + self.spare.capacity() * core::mem::size_of::<Box<TcpSlot>>()
            + self.cc_pool.bytes()
            + self.ring_pool.bytes();
        debug_assert!(bytes <= self.spare_max.saturating_mul(SPARE_UNIT_BYTES_MAX));
        bytes
    }

    /// How many freed connection slots are kept.
    pub(crate) fn spare_slots(&self) -> usize {
        self.spare.len()
    }

    /// The connection with tuple `key` (tests; the stack's look-ups share
    /// their hash between tables with [`get_hashed`](Self::get_hashed)).
    #[cfg(test)]
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
        let packed = key.packed_v4();
        if let (Some((last, handle)), Some(packed)) = (self.last.get(), packed) {
            if last == packed {
                return Some(handle);
            }
        }
        self.get_uncached(key, packed, hash, sockets)
    }

    /// [`get_hashed`](Self::get_hashed) past the last-tuple cache (`packed` is
    /// `key`'s packed form, if it has one). An IPv4 tuple is hashed and
    /// compared in its packed form alone; any other takes [`get_other`](Self::get_other).
    #[inline(never)]
    fn get_uncached(
        &self,
        key: &FourTuple,
        packed: Option<u128>,
        hash: &mut TupleHash,
        sockets: &Slab<Entry>,
    ) -> Option<SocketHandle> {
        let Some(packed) = packed else {
            return self.get_other(key, hash, sockets);
        };
        let hash = hash.of_packed_v4(&self.hasher, packed);
        let found = self
            .table
            .find(hash, |&h| has_packed_tuple(sockets, h, packed))
            .copied();
        if let Some(handle) = found {
            self.last.set(Some((packed, handle)));
        }
        found
    }

    /// [`get_uncached`](Self::get_uncached) of a tuple that is not IPv4 at both
    /// ends: an IPv6 tuple through its own last-tuple cache
    /// ([`last_v6`](Self::last_v6)), then hashed and compared in its packed
    /// form; a tuple of mixed families (no connection has one) field by field.
    #[inline(never)]
    fn get_other(
        &self,
        key: &FourTuple,
        hash: &mut TupleHash,
        sockets: &Slab<Entry>,
    ) -> Option<SocketHandle> {
        let Some(packed) = packed_v6(key.local, key.remote) else {
            let hash = hash.of(&self.hasher, key);
            return self
                .table
                .find(hash, |&h| has_tuple(sockets, h, key))
                .copied();
        };
        if let Some((last, handle)) = self.last_v6.get() {
            if last == packed {
                return Some(handle);
            }
        }
        let hash = hash.of_packed_v6(&self.hasher, packed);
        let found = self
            .table
            .find(hash, |&h| has_packed_v6_tuple(sockets, h, packed))
            .copied();
        if let Some(handle) = found {
            self.last_v6.set(Some((packed, handle)));
        }
        found
    }

    /// Whether a connection has tuple `key`.
    #[inline]
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
        match key.packed_v4() {
            Some(packed) => self.last.set(Some((packed, handle))),
            None => self.remember_other(key, handle),
        }
    }

    /// [`insert`](Self::insert)'s last-tuple cache for a tuple that is not
    /// IPv4 at both ends (one call in IPv4's inlined `insert`).
    #[inline(never)]
    fn remember_other(&self, key: &FourTuple, handle: SocketHandle) {
        if let Some(packed) = packed_v6(key.local, key.remote) {
            self.last_v6.set(Some((packed, handle)));
        }
    }

    /// Removes `handle`, filed under the tuple hash `hash` (the one its slot
    /// keeps: nothing is hashed), if it is there.
    pub(crate) fn remove(&mut self, hash: u64, handle: SocketHandle) -> bool {
        if self.last.get().is_some_and(|(_, h)| h == handle) {
            self.last.set(None);
        }
        if self.last_v6.get().is_some_and(|(_, h)| h == handle) {
            self.last_v6.set(None);
        }
        match self.table.find_entry(hash, |&h| h == handle) {
            Ok(entry) => {
                entry.remove();
                true
            }
            Err(_) => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use core::net::{IpAddr, SocketAddr};

    use super::super::tests::{connect, Impairment, Pair, A4, B4, B6};
    use super::super::{FourTuple, ListenOptions, Stack};
    use super::{RingPool, TcpSlot, SPARE_UNIT_BYTES_MAX};
    use crate::config::Config;
    use crate::socket::SocketHandle;
    use crate::tcp::ring::MIN_CAPACITY;
    use crate::time::{Duration, Instant};

    const SERVER: SocketAddr = SocketAddr::new(IpAddr::V4(B4), 80);

    /// Runs `pair` until its connections are gone from the slab on both sides.
    fn close_all(pair: &mut Pair, clients: &[SocketHandle], servers: &[SocketHandle]) {
        for &c in clients {
            pair.a.close(pair.now, c).unwrap();
        }
        for &s in servers {
            pair.b.close(pair.now, s).unwrap();
        }
        pair.run_until(Duration::from_secs(5), |_| false);
    }

    /// Opens `n` connections from `pair.a` to `server` and accepts them all on
    /// `listener`, within `limit`: (clients, servers; servers in accept order).
    fn open_accepted(
        pair: &mut Pair,
        listener: SocketHandle,
        server: SocketAddr,
        n: usize,
        limit: Duration,
    ) -> (Vec<SocketHandle>, Vec<SocketHandle>) {
        let clients: Vec<_> = (0..n)
            .map(|_| pair.a.tcp_connect(pair.now, server, None).unwrap())
            .collect();
        let mut servers = Vec::new();
        pair.run_until(limit, |p| {
            while let Ok((h, _)) = p.b.tcp_accept(listener) {
                servers.push(h);
            }
            servers.len() == n
        });
        assert_eq!(servers.len(), n);
        (clients, servers)
    }

    /// The connection with tuple (`local`, `remote`) in `stack`, as Debug prints it.
    fn debug_of(stack: &Stack, local: SocketAddr, remote: SocketAddr) -> String {
        let key = FourTuple::new(local, remote);
        let handle = stack.conns.get(&key, &stack.sockets).expect("connection");
        format!("{:?}", stack.conn(handle).expect("a connection"))
    }

    /// IPv6 tuples go through their own last-tuple cache (`last_v6`): look-ups
    /// of two connections in turn each find their own, and once a connection
    /// is gone its tuple finds nothing, though it was the last one looked up
    /// (its closing segments were its own): the cache went with it.
    #[test]
    fn ipv6_lookups_find_their_own_connection_and_none_once_it_is_gone() {
        let mut pair = Pair::new(Impairment::default(), 71);
        let server = SocketAddr::new(IpAddr::V6(B6), 80);
        let l = pair.b.tcp_listen(server, ListenOptions::default()).unwrap();
        let (clients, servers) = open_accepted(&mut pair, l, server, 2, Duration::from_secs(5));
        let keys: Vec<FourTuple> = servers
            .iter()
            .map(|&s| {
                let c = pair.b.conn(s).unwrap();
                FourTuple::new(c.local(), c.remote())
            })
            .collect();
        assert_ne!(keys[0], keys[1]);
        for _ in 0..2 {
            for (key, &s) in keys.iter().zip(&servers) {
                assert_eq!(pair.b.conns.get(key, &pair.b.sockets), Some(s));
            }
        }
        close_all(&mut pair, &clients[..1], &servers[..1]);
        assert_eq!(pair.b.conns.get(&keys[0], &pair.b.sockets), None);
        assert_eq!(
            pair.b.conns.get(&keys[1], &pair.b.sockets),
            Some(servers[1])
        );
    }

    #[test]
    fn a_recycled_connection_is_indistinguishable_from_a_fresh_one() {
        // X: a connection that carried data both ways and closed, its slots
        // kept for reuse on both sides.
        let mut x = Pair::new(Impairment::default(), 11);
        let (c, _l, s) = connect(&mut x, SERVER);
        x.a.tcp_send(x.now, c, b"request").unwrap();
        x.b.tcp_send(x.now, s, b"response").unwrap();
        x.run_until(Duration::from_secs(1), |_| false);
        let mut buf = [0u8; 64];
        assert_eq!(x.a.tcp_recv(x.now, c, &mut buf), Ok(8));
        assert_eq!(x.b.tcp_recv(x.now, s, &mut buf), Ok(7));
        close_all(&mut x, &[c], &[s]);
        assert_eq!(x.a.tcp_spare_slots(), 1);
        assert_eq!(x.b.tcp_spare_slots(), 1);

        // Y: fresh stacks with the same seeds, at the same instant.
        let mut y = Pair::new(Impairment::default(), 11);
        y.b.tcp_listen(SERVER, ListenOptions::default()).unwrap();
        y.now = x.now;

        let local = SocketAddr::new(IpAddr::V4(A4), 40_000);
        let cx = x.a.tcp_connect(x.now, SERVER, Some(local)).unwrap();
        let cy = y.a.tcp_connect(y.now, SERVER, Some(local)).unwrap();
        assert_eq!(x.a.tcp_spare_slots(), 0, "the client slot was reused");
        assert_eq!(
            format!("{:?}", x.a.conn(cx).unwrap()),
            format!("{:?}", y.a.conn(cy).unwrap())
        );
        // The SYNs, then the server sides made from them.
        let mut bx = [0u8; 2000];
        let mut by = [0u8; 2000];
        let nx = x.a.poll_transmit(x.now, &mut bx).unwrap();
        let ny = y.a.poll_transmit(y.now, &mut by).unwrap();
        // The TCP segments (the IP identification is the stack's own counter,
        // further along in X).
        assert_eq!(bx[20..nx], by[20..ny]);
        x.b.handle_packet(x.now, &bx[..nx]);
        y.b.handle_packet(y.now, &by[..ny]);
        assert_eq!(x.b.tcp_spare_slots(), 0, "the server slot was reused");
        assert_eq!(debug_of(&x.b, SERVER, local), debug_of(&y.b, SERVER, local));
        let nx = x.b.poll_transmit(x.now, &mut bx).unwrap();
        let ny = y.b.poll_transmit(y.now, &mut by).unwrap();
        assert_eq!(bx[20..nx], by[20..ny], "the same SYN-ACK");
    }

    #[test]
    fn spare_slots_are_bounded_and_counted() {
        const BOUND: usize = 12;
        let mut pair = pair_with_spares(12, BOUND);
        let listener = pair.b.tcp_listen(SERVER, ListenOptions::default()).unwrap();
        let n = BOUND + 8;
        let (clients, servers) =
            open_accepted(&mut pair, listener, SERVER, n, Duration::from_secs(5));
        assert_eq!(pair.a.tcp_spare_slot_bytes(), 0);
        close_all(&mut pair, &clients, &servers);
        for stack in [&pair.a, &pair.b] {
            assert_eq!(stack.tcp_spare_slots(), BOUND);
            // The list grew 4, 8, then to the bound: no room past it.
            assert_eq!(
                stack.tcp_spare_slot_bytes(),
                BOUND * (core::mem::size_of::<TcpSlot>() + core::mem::size_of::<usize>())
            );
        }
        // And they are used again.
        pair.a.tcp_connect(pair.now, SERVER, None).unwrap();
        assert_eq!(pair.a.tcp_spare_slots(), BOUND - 1);
    }

    /// Two stacks (seed `seed`) that keep up to `bound` spares of each kind.
    fn pair_with_spares(seed: u64, bound: usize) -> Pair {
        Pair::with_config(Impairment::default(), seed, |c: &mut Config| {
            c.tcp.spare_slots = bound;
        })
    }

    /// `n` connections carry a request and an answer each, all at once, then
    /// close; what each stack keeps from them, and the memory it holds.
    fn exchange_and_close(
        pair: &mut Pair,
        listener: SocketHandle,
        n: usize,
        request: usize,
        answer: usize,
    ) {
        let (clients, servers) = open_accepted(pair, listener, SERVER, n, Duration::from_secs(10));
        for &c in &clients {
            assert_eq!(
                pair.a.tcp_send(pair.now, c, &vec![b'q'; request]),
                Ok(request)
            );
        }
        let mut buf = vec![0u8; request.max(answer) + 1];
        let mut asked = vec![0; n];
        pair.run_until(Duration::from_secs(10), |p| {
            for (i, &s) in servers.iter().enumerate() {
                while let Ok(k @ 1..) = p.b.tcp_recv(p.now, s, &mut buf) {
                    asked[i] += k;
                    if asked[i] == request {
                        assert_eq!(p.b.tcp_send(p.now, s, &vec![b'r'; answer]), Ok(answer));
                    }
                }
            }
            false
        });
        for &c in &clients {
            let mut got = 0;
            while let Ok(k @ 1..) = pair.a.tcp_recv(pair.now, c, &mut buf) {
                got += k;
            }
            assert_eq!(got, answer);
        }
        close_all(pair, &clients, &servers);
    }

    #[test]
    fn a_burst_of_closes_then_as_many_opens_reuses_a_slot_each() {
        // A server's 64 connections in flight (more than the 32 sessions 9 to
        // 11 kept) close together; the next 64 open together.
        const N: usize = 64;
        let mut pair = Pair::new(Impairment::default(), 17);
        assert!(pair.a.config.tcp.spare_slots >= N, "the default covers it");
        let listener = pair.b.tcp_listen(SERVER, ListenOptions::default()).unwrap();
        exchange_and_close(&mut pair, listener, N, 7, 9);
        for stack in [&pair.a, &pair.b] {
            assert_eq!(stack.tcp_spare_slots(), N, "every freed slot is kept");
            assert_eq!(stack.conns.cc_pool.len(), N, "and its congestion state");
            assert_eq!(stack.conns.ring_pool.len(), N, "and a ring storage");
        }
        // The next burst takes them all again: no open builds a fresh slot, no
        // first send or receive allocates a ring, no sender builds a state.
        let (clients, servers) =
            open_accepted(&mut pair, listener, SERVER, N, Duration::from_secs(10));
        assert_eq!(pair.a.tcp_spare_slots(), 0);
        assert_eq!(pair.b.tcp_spare_slots(), 0);
        for &c in &clients {
            pair.a.tcp_send(pair.now, c, b"again").unwrap();
        }
        for &s in &servers {
            pair.b.tcp_send(pair.now, s, b"again").unwrap();
        }
        for stack in [&pair.a, &pair.b] {
            assert_eq!(stack.conns.cc_pool.len(), 0, "every sender renewed one");
            assert_eq!(stack.conns.ring_pool.len(), 0, "every send took one");
        }
    }

    #[test]
    fn an_unbounded_spare_setting_reports_its_bytes() {
        // `usize::MAX` as "no bound": the bytes' debug check must not overflow.
        let mut pair = pair_with_spares(40, usize::MAX);
        let listener = pair.b.tcp_listen(SERVER, ListenOptions::default()).unwrap();
        let (clients, servers) =
            open_accepted(&mut pair, listener, SERVER, 2, Duration::from_secs(5));
        close_all(&mut pair, &clients, &servers);
        assert!(pair.a.tcp_spare_slots() > 0);
        assert!(pair.a.tcp_spare_slot_bytes() > 0);
    }

    #[test]
    fn the_spares_stay_within_their_bound_under_hostile_churn() {
        // A peer that opens many connections at once, makes each side build
        // the largest congestion state (BBR) and grow its rings, and tears
        // them down by RST, round after round: each kind of spare stays within
        // the bound, and so do the bytes, as documented.
        const BOUND: usize = 8;
        let mut pair = Pair::with_config(Impairment::default(), 18, |c: &mut Config| {
            c.tcp.spare_slots = BOUND;
            c.tcp.congestion_control = "bbr".to_string();
        });
        let listener = pair.b.tcp_listen(SERVER, ListenOptions::default()).unwrap();
        for round in 0..4 {
            let n = 3 * BOUND + round;
            let (clients, servers) =
                open_accepted(&mut pair, listener, SERVER, n, Duration::from_secs(10));
            // Requests of one segment and answers of several (a grown ring on
            // each side for some, a first 1 KiB storage for others).
            for (i, &c) in clients.iter().enumerate() {
                let len = if i % 2 == 0 { 300 } else { 3000 };
                pair.a.tcp_send(pair.now, c, &vec![1; len]).unwrap();
            }
            for (i, &s) in servers.iter().enumerate() {
                let len = if i % 3 == 0 { 5000 } else { 200 };
                pair.b.tcp_send(pair.now, s, &vec![2; len]).unwrap();
            }
            pair.run_until(Duration::from_secs(1), |_| false);
            let mut buf = [0u8; 8192];
            for &c in &clients {
                while let Ok(1..) = pair.a.tcp_recv(pair.now, c, &mut buf) {}
                pair.a.tcp_abort(pair.now, c).unwrap();
            }
            for &s in &servers {
                while let Ok(1..) = pair.b.tcp_recv(pair.now, s, &mut buf) {}
            }
            pair.run_until(Duration::from_secs(1), |_| false);
            for &s in &servers {
                pair.b.close(pair.now, s).unwrap();
            }
            pair.run_until(Duration::from_secs(1), |_| false);
            for stack in [&pair.a, &pair.b] {
                assert_eq!(stack.tcp_spare_slots(), BOUND, "round {round}");
                assert!(stack.conns.cc_pool.len() <= BOUND);
                assert!(stack.conns.ring_pool.len() <= BOUND);
                assert!(
                    stack.tcp_spare_slot_bytes() <= BOUND * SPARE_UNIT_BYTES_MAX,
                    "round {round}: {} bytes",
                    stack.tcp_spare_slot_bytes()
                );
            }
            assert_eq!(pair.a.conns.cc_pool.len(), BOUND, "the pools filled");
            assert_eq!(pair.b.conns.cc_pool.len(), BOUND);
        }
    }

    #[test]
    fn an_idle_connection_in_a_reused_slot_holds_no_congestion_state() {
        // A connection that sent both ways made a controller on each side; its
        // slots, freed, leave their states in the pools.
        let mut pair = Pair::new(Impairment::default(), 13);
        let (c, listener, s) = connect(&mut pair, SERVER);
        pair.a.tcp_send(pair.now, c, b"request").unwrap();
        pair.b.tcp_send(pair.now, s, b"response").unwrap();
        pair.run_until(Duration::from_secs(1), |_| false);
        close_all(&mut pair, &[c], &[s]);
        for stack in [&pair.a, &pair.b] {
            assert_eq!(stack.tcp_spare_slots(), 1);
            assert_eq!(stack.conns.cc_pool.len(), 1);
            assert!(
                stack.tcp_spare_slot_bytes()
                    > core::mem::size_of::<TcpSlot>() + core::mem::size_of::<usize>(),
                "the kept state is counted"
            );
        }

        // The next connection reuses both slots and stays idle: the states stay
        // in the pools, the connections hold none.
        let c = pair.a.tcp_connect(pair.now, SERVER, None).unwrap();
        let mut accepted = None;
        pair.run_until(Duration::from_secs(1), |p| {
            accepted = accepted.or(p.b.tcp_accept(listener).ok().map(|(h, _)| h));
            false
        });
        let s = accepted.expect("accepted");
        assert_eq!(pair.a.tcp_spare_slots(), 0, "the client slot was reused");
        assert_eq!(pair.b.tcp_spare_slots(), 0, "the server slot was reused");
        for (stack, h) in [(&pair.a, c), (&pair.b, s)] {
            assert_eq!(stack.conns.cc_pool.len(), 1);
            // At most the small box a slot keeps once a state went through it.
            assert!(stack.conn(h).unwrap().shed_bytes() <= 16);
        }

        // Sending takes it, and the data arrives.
        pair.a.tcp_send(pair.now, c, b"late").unwrap();
        assert_eq!(pair.a.conns.cc_pool.len(), 0, "lent to the sender");
        pair.run_until(Duration::from_secs(1), |_| false);
        let mut buf = [0u8; 8];
        assert_eq!(pair.b.tcp_recv(pair.now, s, &mut buf), Ok(4));
        assert_eq!(&buf[..4], b"late");
        assert_eq!(
            pair.b.conns.cc_pool.len(),
            1,
            "the receiver made no controller"
        );
    }

    #[test]
    fn ring_storage_a_read_lets_go_of_serves_the_next_send() {
        let mut pair = Pair::new(Impairment::default(), 14);
        let (c, _l, s) = connect(&mut pair, SERVER);
        // A pool's list starts with room for 4 storages.
        let unpooled = pair.b.tcp_spare_slot_bytes();
        pair.a.tcp_send(pair.now, c, b"request").unwrap();
        pair.run_until(Duration::from_secs(1), |_| false);
        let mut buf = [0u8; 64];
        assert_eq!(pair.b.tcp_recv(pair.now, s, &mut buf), Ok(7));
        // The read emptied the receive buffer: its storage is kept, and counted.
        assert_eq!(pair.b.conns.ring_pool.len(), 1);
        assert_eq!(pair.b.tcp_info(pair.now, s).unwrap().buffer_memory, 0);
        let pooled = MIN_CAPACITY + 4 * core::mem::size_of::<Vec<u8>>();
        assert_eq!(pair.b.tcp_spare_slot_bytes(), unpooled + pooled);
        // The answer's send buffer takes it, and carries only the answer's bytes.
        pair.b.tcp_send(pair.now, s, b"answer").unwrap();
        assert_eq!(pair.b.conns.ring_pool.len(), 0, "the send took it");
        assert_eq!(
            pair.b.tcp_info(pair.now, s).unwrap().buffer_memory,
            MIN_CAPACITY
        );
        pair.run_until(Duration::from_secs(1), |_| false);
        assert_eq!(pair.a.tcp_recv(pair.now, c, &mut buf), Ok(6));
        assert_eq!(&buf[..6], b"answer");
        assert_eq!(pair.a.conns.ring_pool.len(), 1);
    }

    #[test]
    fn a_first_receive_storage_comes_from_the_pool_and_an_acked_send_ring_goes_back() {
        let mut pair = Pair::new(Impairment::default(), 16);
        let (c, _l, s) = connect(&mut pair, SERVER);
        assert_eq!(pair.a.conns.ring_pool.len(), 0);
        // A kept storage that held another connection's bytes.
        let mut used = Vec::with_capacity(MIN_CAPACITY);
        used.extend_from_slice(&[0xaa; 1000]);
        pair.b.conns.ring_pool.put(used);
        assert_eq!(pair.b.conns.ring_pool.len(), 1);

        pair.a.tcp_send(pair.now, c, b"request").unwrap();
        assert_eq!(
            pair.a.tcp_info(pair.now, c).unwrap().buffer_memory,
            MIN_CAPACITY
        );
        pair.run_until(Duration::from_secs(1), |_| false);
        // The data's arrival took the kept storage for the receive ring...
        assert_eq!(pair.b.conns.ring_pool.len(), 0, "the receive ring took it");
        assert_eq!(
            pair.b.tcp_info(pair.now, s).unwrap().buffer_memory,
            MIN_CAPACITY
        );
        // ...and its acknowledgment gave the emptied send ring to the sender's pool.
        assert_eq!(
            pair.a.conns.ring_pool.len(),
            1,
            "the acked send ring came back"
        );
        assert_eq!(pair.a.tcp_info(pair.now, c).unwrap().buffer_memory, 0);

        // Only the new bytes are readable.
        let mut buf = [0u8; 64];
        assert_eq!(pair.b.tcp_recv(pair.now, s, &mut buf), Ok(7));
        assert_eq!(&buf[..7], b"request");
        assert_eq!(
            pair.b.tcp_recv(pair.now, s, &mut buf),
            Err(crate::Error::WouldBlock)
        );
        assert_eq!(pair.b.conns.ring_pool.len(), 1, "the read gave it back");
    }

    #[test]
    fn the_ring_pool_stays_bounded_under_churn_and_mixes_no_bytes() {
        const RING_POOL_MAX: usize = 32;
        let mut pair = pair_with_spares(15, RING_POOL_MAX);
        let listener = pair.b.tcp_listen(SERVER, ListenOptions::default()).unwrap();
        for round in 0..3u8 {
            let n = RING_POOL_MAX + 8;
            let (clients, servers) =
                open_accepted(&mut pair, listener, SERVER, n, Duration::from_secs(5));
            // Each request and answer names its round and connection: a reused
            // storage must show the new bytes only.
            let message = |side: u8, i: usize| [side, round, i as u8, 0xee];
            for (i, &c) in clients.iter().enumerate() {
                pair.a.tcp_send(pair.now, c, &message(b'q', i)).unwrap();
            }
            pair.run_until(Duration::from_secs(1), |_| false);
            // Servers accept in any order: answer on the connection that asked.
            for &s in &servers {
                let mut buf = [0u8; 16];
                assert_eq!(pair.b.tcp_recv(pair.now, s, &mut buf), Ok(4));
                assert_eq!((buf[0], buf[1], buf[3]), (b'q', round, 0xee));
                assert!(pair.b.conns.ring_pool.len() <= RING_POOL_MAX);
                pair.b
                    .tcp_send(pair.now, s, &message(b'r', usize::from(buf[2])))
                    .unwrap();
            }
            pair.run_until(Duration::from_secs(1), |_| false);
            for (i, &c) in clients.iter().enumerate() {
                let mut buf = [0u8; 16];
                assert_eq!(pair.a.tcp_recv(pair.now, c, &mut buf), Ok(4));
                assert_eq!(buf[..4], message(b'r', i));
            }
            for stack in [&pair.a, &pair.b] {
                let pool = &stack.conns.ring_pool;
                assert!(pool.len() <= RING_POOL_MAX);
                assert!(
                    pool.bytes()
                        <= RING_POOL_MAX * (MIN_CAPACITY + core::mem::size_of::<Vec<u8>>())
                );
                assert!(stack.tcp_spare_slot_bytes() >= pool.bytes());
            }
            assert_eq!(
                pair.a.conns.ring_pool.len(),
                RING_POOL_MAX,
                "every read gave"
            );
            close_all(&mut pair, &clients, &servers);
        }
    }

    #[test]
    fn a_pooled_ring_shows_the_next_connection_only_its_own_bytes_through_loss_and_reordering() {
        // A lossy, duplicating, reordering link and 100-byte segments: a 900-byte
        // message (under the 1 KiB a pooled storage holds) arrives as ten
        // segments, some out of order, some only by retransmission, into the
        // storage the connection before left in the pool. (Seed 21: both
        // directions of round 1 retransmit after SACK recovery, asserted below.)
        let imp = Impairment {
            loss: 150,
            dup: 50,
            reorder: 300,
        };
        let mut pair = Pair::new(imp, 21);
        for stack in [&mut pair.a, &mut pair.b] {
            stack.config.tcp.mss_clamp = Some(100);
            stack.tcp_config = std::sync::Arc::new(stack.config.tcp.clone());
        }
        let listener = pair.b.tcp_listen(SERVER, ListenOptions::default()).unwrap();
        // Round 0 sends one segment each way (a reader of a message that
        // came in one piece lets go of its ring), filled with 0xaa; round 1
        // sends 900 bytes each way, the client 1..=100 and the server 101..=150:
        // never 0xaa, never the zeros of a gap, never the other direction's bytes.
        let message = |round: u8, from_client: bool| -> Vec<u8> {
            match (round, from_client) {
                (0, _) => vec![0xaa; 80],
                (_, true) => (0..900).map(|k| (k % 100) as u8 + 1).collect(),
                (_, false) => (0..900).map(|k| (k % 50) as u8 + 101).collect(),
            }
        };
        for round in 0..2u8 {
            let (clients, servers) =
                open_accepted(&mut pair, listener, SERVER, 1, Duration::from_secs(30));
            let (c, s) = (clients[0], servers[0]);
            // One direction at a time, so that the receiver's ring is the only
            // one its stack takes from the pool meanwhile.
            for from_client in [true, false] {
                let (tx, rx) = if from_client { (c, s) } else { (s, c) };
                let sender = if from_client {
                    &mut pair.a
                } else {
                    &mut pair.b
                };
                let sent = message(round, from_client);
                assert_eq!(sender.tcp_send(pair.now, tx, &sent), Ok(sent.len()));
                fn receiver(p: &mut Pair, from_client: bool) -> &mut Stack {
                    if from_client {
                        &mut p.b
                    } else {
                        &mut p.a
                    }
                }
                let kept = receiver(&mut pair, from_client).conns.ring_pool.len();
                let mut least_kept = kept;
                let mut read = Vec::new();
                let done = pair.run_until(Duration::from_secs(120), |p| {
                    let now = p.now;
                    let stack = receiver(p, from_client);
                    least_kept = least_kept.min(stack.conns.ring_pool.len());
                    let mut buf = [0u8; 2048];
                    while let Ok(n @ 1..) = stack.tcp_recv(now, rx, &mut buf) {
                        read.extend_from_slice(&buf[..n]);
                    }
                    read.len() == sent.len()
                });
                assert!(done, "round {round}: the message arrives");
                // And is acknowledged: the sender's ring goes back to its pool,
                // for the other direction's receive ring when the sender is its
                // receiver.
                let acked = pair.run_until(Duration::from_secs(120), |p| {
                    let now = p.now;
                    let sender = receiver(p, !from_client);
                    sender.tcp_info(now, tx).unwrap().send_q == 0
                });
                assert!(acked, "round {round}: the message is acknowledged");
                assert!(
                    read == sent,
                    "round {round}, from the client {from_client}: read {read:?}"
                );
                if round == 1 {
                    assert!(kept > 0, "round 0 left its storage");
                    assert!(least_kept < kept, "the receive ring was kept storage");
                    // The link made the receive path work: segments were
                    // retransmitted, after SACKs for data held out of order.
                    let counters = *pair.a.conn(c).unwrap().counters();
                    let counters = if from_client {
                        counters
                    } else {
                        *pair.b.conn(s).unwrap().counters()
                    };
                    assert!(counters.retrans_segs > 0, "{counters:?}");
                    assert!(counters.sack_recoveries > 0, "{counters:?}");
                }
            }
            close_all(&mut pair, &clients, &servers);
        }
    }

    /// Every packet sent, every byte read and every connection's buffer memory
    /// of rounds of short connections to `server` over a lossy, duplicating,
    /// reordering link, with a stack's ring pool (`pooled`) or without: requests and
    /// answers under 1 KiB, grown past it after a pooled first storage, and a
    /// round with send and receive limits under 1 KiB.
    #[allow(clippy::type_complexity)]
    fn ring_pool_churn(
        server: SocketAddr,
        pooled: bool,
    ) -> (Vec<(Instant, bool, Vec<u8>)>, Vec<u8>, Vec<usize>, usize) {
        let imp = Impairment {
            loss: 30,
            dup: 10,
            reorder: 30,
        };
        let mut pair = Pair::new(imp, 16);
        if !pooled {
            pair.a.conns.ring_pool = RingPool::new(0);
            pair.b.conns.ring_pool = RingPool::new(0);
        }
        let listener = pair.b.tcp_listen(server, ListenOptions::default()).unwrap();
        let (mut read, mut memory, mut most_kept) = (Vec::new(), Vec::new(), 0);
        for round in 0..4u8 {
            match round {
                1 => {
                    pair.a.set_tcp_buffers(600, 700);
                    pair.b.set_tcp_buffers(700, 600);
                }
                2 => {
                    pair.a.set_tcp_buffers(64 << 10, 64 << 10);
                    pair.b.set_tcp_buffers(64 << 10, 64 << 10);
                }
                _ => {}
            }
            let n = 6;
            let (clients, servers) =
                open_accepted(&mut pair, listener, server, n, Duration::from_secs(30));
            // Round 3 writes twice: a first storage (pooled when it can be)
            // that the second write grows past 1 KiB.
            let sizes: &[usize] = match round {
                0 => &[7],
                1 => &[300],
                2 => &[900],
                _ => &[500, 2500],
            };
            let message = |side: u8, i: usize, len: usize| -> Vec<u8> {
                (0..len)
                    .map(|k| side ^ round ^ (i as u8) ^ (k as u8))
                    .collect()
            };
            for (ends, from, to) in [(0, &clients, &servers), (1, &servers, &clients)] {
                for (i, &h) in from.iter().enumerate() {
                    for &len in sizes {
                        let stack = if ends == 0 { &mut pair.a } else { &mut pair.b };
                        assert_eq!(stack.tcp_send(pair.now, h, &message(ends, i, len)), Ok(len));
                        memory.push(stack.tcp_info(pair.now, h).unwrap().buffer_memory);
                    }
                }
                let want = sizes.iter().sum::<usize>() * n;
                let mut got = 0;
                pair.run_until(Duration::from_secs(60), |p| {
                    for &h in to.iter() {
                        let stack = if ends == 0 { &mut p.b } else { &mut p.a };
                        let mut buf = [0u8; 4096];
                        while let Ok(k) = stack.tcp_recv(p.now, h, &mut buf) {
                            if k == 0 {
                                break;
                            }
                            got += k;
                            read.extend_from_slice(&buf[..k]);
                            most_kept = most_kept.max(stack.conns.ring_pool.len());
                        }
                    }
                    got == want
                });
                assert_eq!(got, want, "round {round}: everything arrives");
            }
            close_all(&mut pair, &clients, &servers);
        }
        (pair.sent, read, memory, most_kept)
    }

    #[test]
    fn a_ring_pool_changes_no_packet_no_byte_read_and_no_buffer_size() {
        for server in [SERVER, SocketAddr::new(IpAddr::V6(B6), 80)] {
            let (sent, read, memory, kept) = ring_pool_churn(server, true);
            let (sent_unpooled, read_unpooled, memory_unpooled, kept_unpooled) =
                ring_pool_churn(server, false);
            assert!(kept > 0, "{server}: the pool kept storage");
            assert_eq!(kept_unpooled, 0);
            assert_eq!(
                memory, memory_unpooled,
                "{server}: buffer memory after each send"
            );
            assert_eq!(
                read, read_unpooled,
                "{server}: the bytes the applications read"
            );
            assert_eq!(sent.len(), sent_unpooled.len());
            for (i, (p, q)) in sent.iter().zip(&sent_unpooled).enumerate() {
                assert_eq!(p, q, "{server}: packet {i}");
            }
        }
    }
}
