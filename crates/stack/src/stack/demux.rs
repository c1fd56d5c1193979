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

impl BuildHasher for KeyedState {
    type Hasher = SipHasher13;

    fn build_hasher(&self) -> SipHasher13 {
        SipHasher13::new_with_keys(self.k0, self.k1)
    }
}
