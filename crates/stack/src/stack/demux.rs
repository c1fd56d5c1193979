//! Demultiplexing keys and the keyed hasher of the stack's maps.
//!
//! Connections are found by 4-tuple in a hash map: O(1) per packet, never a scan.
//! The hasher is SipHash-1-3 keyed from the stack's seed, so a peer cannot choose
//! tuples that collide (hash flooding) and runs stay reproducible.

use core::hash::BuildHasher;
use core::net::{IpAddr, SocketAddr};
use std::collections::HashMap;

use siphasher::sip::SipHasher13;

use crate::ip::cidr::IpCidr;
use crate::rand::StackRng;

/// A connection's addresses: local and remote, each an address and a port.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct FourTuple {
    /// The local address and port.
    pub local: SocketAddr,
    /// The remote address and port.
    pub remote: SocketAddr,
}

impl FourTuple {
    /// The tuple, with IPv6 flow information and scope cleared so that equal
    /// addresses hash equally.
    pub fn new(local: SocketAddr, remote: SocketAddr) -> FourTuple {
        FourTuple {
            local: SocketAddr::new(local.ip(), local.port()),
            remote: SocketAddr::new(remote.ip(), remote.port()),
        }
    }
}

/// A listening or bound address: (address, port), the address unspecified for a
/// wildcard.
pub(crate) type ListenKey = (IpAddr, u16);

/// The wildcard address of `addr`'s family.
pub(crate) fn unspecified_like(addr: IpAddr) -> IpAddr {
    match addr {
        IpAddr::V4(_) => IpAddr::V4(core::net::Ipv4Addr::UNSPECIFIED),
        IpAddr::V6(_) => IpAddr::V6(core::net::Ipv6Addr::UNSPECIFIED),
    }
}

/// Whether binding `(ip, port)` overlaps a key of `map`: the same key, the
/// wildcard of its family, or, for a wildcard `ip`, any of the stack's addresses
/// of that family on the port. Keys only ever hold the stack's addresses or a
/// wildcard, so a few lookups answer it; no scan over the map.
pub(crate) fn port_overlaps<V, S: BuildHasher>(
    map: &HashMap<ListenKey, V, S>,
    ip: IpAddr,
    port: u16,
    locals: &[IpCidr],
) -> bool {
    map.contains_key(&(ip, port))
        || map.contains_key(&(unspecified_like(ip), port))
        || (ip.is_unspecified()
            && locals
                .iter()
                .any(|a| a.is_ipv4() == ip.is_ipv4() && map.contains_key(&(a.addr(), port))))
}

/// Whether `addr` can be a TCP peer: not unspecified, multicast or the limited
/// broadcast.
pub(crate) fn is_unicast(addr: IpAddr) -> bool {
    match addr {
        IpAddr::V4(a) => !a.is_unspecified() && !a.is_multicast() && !a.is_broadcast(),
        IpAddr::V6(a) => !a.is_unspecified() && !a.is_multicast(),
    }
}

/// `BuildHasher` for SipHash-1-3 with keys drawn from the stack's generator.
#[derive(Debug, Clone)]
pub(crate) struct KeyedState {
    k0: u64,
    k1: u64,
}

impl KeyedState {
    pub(crate) fn new(mut rng: StackRng) -> KeyedState {
        KeyedState {
            k0: rng.u64(),
            k1: rng.u64(),
        }
    }
}

impl KeyedState {
    /// The hash of a 4-tuple, as one SipHash-1-3 write of its addresses and ports
    /// (the derived `Hash` of two `SocketAddr`s makes eight small writes, each paying
    /// the hasher's buffering; this was ~6 % of a `connect` profile).
    pub(crate) fn hash_tuple(&self, t: &FourTuple) -> u64 {
        use core::hash::Hasher;
        use core::net::IpAddr;
        let mut bytes = [0u8; 36];
        let mut n = 0;
        for addr in [t.local, t.remote] {
            match addr.ip() {
                IpAddr::V4(a) => {
                    bytes[n..n + 4].copy_from_slice(&a.octets());
                    n += 4;
                }
                IpAddr::V6(a) => {
                    bytes[n..n + 16].copy_from_slice(&a.octets());
                    n += 16;
                }
            }
            bytes[n..n + 2].copy_from_slice(&addr.port().to_be_bytes());
            n += 2;
        }
        let mut h = SipHasher13::new_with_keys(self.k0, self.k1);
        h.write(&bytes[..n]);
        h.finish()
    }
}

/// A 4-tuple's hash under the key the connection table and the TIME-WAIT table
/// share, computed on first use: a packet's tuple (or a new connection's) is hashed
/// once however many of those tables it goes through (looked up as a connection,
/// then as a TIME-WAIT record, then inserted as a new connection). Each value
/// belongs to one tuple; the tables take it beside that tuple.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct TupleHash(Option<u64>);

impl TupleHash {
    /// A hash already known (kept beside its connection).
    #[inline]
    pub(crate) fn known(hash: u64) -> TupleHash {
        TupleHash(Some(hash))
    }

    /// The hash of `tuple` (which must be the tuple this value was first used with).
    #[inline]
    pub(crate) fn of(&mut self, hasher: &KeyedState, tuple: &FourTuple) -> u64 {
        match self.0 {
            Some(h) => h,
            None => {
                let h = hasher.hash_tuple(tuple);
                self.0 = Some(h);
                h
            }
        }
    }
}

impl BuildHasher for KeyedState {
    type Hasher = GatheringHasher;

    fn build_hasher(&self) -> GatheringHasher {
        GatheringHasher {
            sip: SipHasher13::new_with_keys(self.k0, self.k1),
            buf: [0; GATHER],
            len: 0,
        }
    }
}

/// Bytes gathered before they go to SipHash in one `write`.
const GATHER: usize = 48;

/// SipHash-1-3 fed in one `write` per key: the derived `Hash` of a map key such as
/// `(IpAddr, u16)` makes four small writes (discriminant, length, octets, port),
/// and each costs SipHash's tail handling. The bytes are gathered here first (a
/// longer key streams through), so the hash is exactly SipHash of the same bytes.
#[derive(Debug, Clone)]
pub(crate) struct GatheringHasher {
    sip: SipHasher13,
    buf: [u8; GATHER],
    len: usize,
}

impl core::hash::Hasher for GatheringHasher {
    #[inline]
    fn write(&mut self, bytes: &[u8]) {
        let end = self.len + bytes.len();
        if let Some(room) = self.buf.get_mut(self.len..end) {
            room.copy_from_slice(bytes);
            self.len = end;
            return;
        }
        self.sip.write(&self.buf[..self.len]);
        self.len = 0;
        self.sip.write(bytes);
    }

    #[inline]
    fn finish(&self) -> u64 {
        let mut sip = self.sip;
        sip.write(&self.buf[..self.len]);
        sip.finish()
    }
}
