//! Demultiplexing keys and the keyed hasher of the stack's maps.
//!
//! Connections are found by 4-tuple in a hash map: O(1) per packet, never a scan.
//! The hasher is SipHash-1-3 keyed from the stack's seed, so a peer cannot choose
//! tuples that collide (hash flooding) and runs stay reproducible. Maps keyed by
//! the stack's own (address, port) pairs, which no peer chooses, take a cheaper
//! seeded hash ([`LocalKeyState`]).
//!
//! What the flood resistance rests on: SipHash is a pseudorandom function of its
//! 128-bit key (Aumasson and Bernstein, "SipHash: a fast short-input PRF",
//! INDOCRYPT 2012, <https://www.aumasson.jp/siphash/siphash.pdf>; its abstract
//! names "defense against hash-flooding DoS attacks" among its uses: a table
//! keyed with it resists inputs chosen without the key); SipHash-1-3, the
//! variant with fewer rounds, is what Rust's own `HashMap` uses for the same
//! purpose. The key comes from the seed, which
//! the real-network driver draws from the OS: a peer who does not know it cannot
//! pick tuples whose hashes collide, whatever their encoding. The encoding is
//! fixed and injective per family (an IPv4 tuple as 12 bytes, an IPv6 one as 36;
//! the length is hashed too), so distinct tuples are distinct inputs. Each
//! packet pays one hash at most ([`TupleHash`]), and none while the connection
//! table's last-tuple cache answers. A cheaper seeded hash is not enough here:
//! foldhash (hashbrown's default) calls itself "minimally DoS-resistant" and
//! warns against it where people study a long-running program's behaviour to
//! reverse engineer its random state and build colliding inputs
//! (<https://docs.rs/foldhash>), which is where a network peer stands.

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

    /// The tuple as one integer when both its addresses are IPv4 (equal
    /// integers, equal tuples): the local address in bits 0..32, the remote one
    /// in 32..64, the local port in 64..80, the remote port in 80..96; else
    /// `None`.
    #[inline]
    pub(crate) fn packed_v4(&self) -> Option<u128> {
        packed_v4(self.local, self.remote)
    }
}

/// [`FourTuple::packed_v4`] of the tuple (`local`, `remote`).
#[inline]
pub(crate) fn packed_v4(local: SocketAddr, remote: SocketAddr) -> Option<u128> {
    match (local, remote) {
        (SocketAddr::V4(l), SocketAddr::V4(r)) => Some(
            u128::from(l.ip().to_bits())
                | u128::from(r.ip().to_bits()) << 32
                | u128::from(l.port()) << 64
                | u128::from(r.port()) << 80,
        ),
        _ => None,
    }
}

/// An IPv6 tuple as integers (equal values, equal tuples; flow information and
/// scope are left out, as [`FourTuple::new`] clears them): what
/// [`FourTuple::packed_v4`] is for IPv4, for the connection table's last-tuple
/// cache and its comparisons, which would otherwise rebuild and compare four
/// `SocketAddr`s (~60 instructions) a segment.
///
/// The addresses stay `Ipv6Addr`s (their octets in network order): copied and
/// compared as bytes, and already the hash's input, with no byte swap.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct PackedV6 {
    local: core::net::Ipv6Addr,
    remote: core::net::Ipv6Addr,
    /// The local port in bits 0..16, the remote port in 16..32.
    ports: u32,
}

/// The tuple (`local`, `remote`) as a [`PackedV6`] when both its addresses are
/// IPv6; else `None`.
#[inline]
pub(crate) fn packed_v6(local: SocketAddr, remote: SocketAddr) -> Option<PackedV6> {
    match (local, remote) {
        (SocketAddr::V6(l), SocketAddr::V6(r)) => Some(PackedV6 {
            local: *l.ip(),
            remote: *r.ip(),
            ports: u32::from(l.port()) | u32::from(r.port()) << 16,
        }),
        _ => None,
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
    key_overlaps(|k| map.contains_key(k), ip, port, locals)
}

/// [`port_overlaps`] for any set of keys, given as its `contains`.
pub(crate) fn key_overlaps(
    contains: impl Fn(&ListenKey) -> bool,
    ip: IpAddr,
    port: u16,
    locals: &[IpCidr],
) -> bool {
    contains(&(ip, port))
        || contains(&(unspecified_like(ip), port))
        || (ip.is_unspecified()
            && locals
                .iter()
                .any(|a| a.is_ipv4() == ip.is_ipv4() && contains(&(a.addr(), port))))
}

/// Whether `addr` can be a peer: not unspecified, multicast or the limited
/// broadcast; over IPv6 not the loopback address either (a packet from ::1
/// arriving on a link came from outside the node) nor an IPv4-mapped address
/// (it stands for an IPv4 peer inside a host's socket API; RFC 6890's registry
/// marks ::ffff:0:0/96 as never a source, and Linux drops a TCP SYN from one).
//= https://www.rfc-editor.org/rfc/rfc4291#section-2.5.3
//# The loopback address must not be used as the source address in IPv6 packets
//# that are sent outside of a single node.
pub(crate) fn is_unicast(addr: IpAddr) -> bool {
    match addr {
        IpAddr::V4(a) => !a.is_unspecified() && !a.is_multicast() && !a.is_broadcast(),
        IpAddr::V6(a) => {
            !a.is_unspecified()
                && !a.is_multicast()
                && !a.is_loopback()
                && a.to_ipv4_mapped().is_none()
        }
    }
}

/// SipHash-1-3 of 4-tuples with keys drawn from the stack's generator.
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
    /// The hash of a 4-tuple: SipHash-1-3 of its addresses and ports. An IPv4
    /// tuple goes in as its packed form ([`FourTuple::packed_v4`]), 12 bytes
    /// written as one 64-bit and one 32-bit word: the hasher then runs
    /// straight through (one compression round for the first word, the second
    /// is the final block's tail), where a byte slice assembled and written
    /// in one `write` took the hasher's general path (its tail loads by
    /// length, ~143 instructions a tuple against ~80). An IPv6 tuple is its
    /// octets and ports, 36 bytes, written the same way as four 64-bit words
    /// and one 32-bit word ([`hash_packed_v6`](Self::hash_packed_v6)).
    #[inline]
    pub(crate) fn hash_tuple(&self, t: &FourTuple) -> u64 {
        match t.packed_v4() {
            Some(packed) => self.hash_packed_v4(packed),
            None => self.hash_other(t),
        }
    }

    /// [`hash_tuple`](Self::hash_tuple) of a tuple that is not IPv4 at both
    /// ends. One call in `hash_tuple`, which IPv4's callers inline.
    #[inline(never)]
    fn hash_other(&self, t: &FourTuple) -> u64 {
        match packed_v6(t.local, t.remote) {
            Some(packed) => self.hash_packed_v6(packed),
            None => self.hash_mixed(t),
        }
    }

    /// [`hash_tuple`](Self::hash_tuple) of a tuple of mixed families, which
    /// no connection has: its addresses' octets and ports as one byte string.
    #[cold]
    #[inline(never)]
    fn hash_mixed(&self, t: &FourTuple) -> u64 {
        use core::hash::Hasher;
        let mut h = SipHasher13::new_with_keys(self.k0, self.k1);
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
        h.write(&bytes[..n]);
        h.finish()
    }

    /// [`hash_tuple`](Self::hash_tuple) of the IPv6 tuple packed as `packed`:
    /// the same 36 bytes as ever (local octets and port, remote octets and
    /// port, in network order), so the same hash, given to the hasher as
    /// whole words (what `Hasher::write_u64` takes is its little-endian bytes):
    /// it then never takes its general path for a slice's tail.
    #[inline(never)]
    pub(crate) fn hash_packed_v6(&self, packed: PackedV6) -> u64 {
        use core::hash::Hasher;
        let mut b = [0u8; 36];
        b[0..16].copy_from_slice(&packed.local.octets());
        b[16..18].copy_from_slice(&(packed.ports as u16).to_be_bytes());
        b[18..34].copy_from_slice(&packed.remote.octets());
        b[34..36].copy_from_slice(&((packed.ports >> 16) as u16).to_be_bytes());
        let word = |at: usize| {
            let mut w = [0u8; 8];
            w.copy_from_slice(&b[at..at + 8]);
            u64::from_le_bytes(w)
        };
        let mut h = SipHasher13::new_with_keys(self.k0, self.k1);
        h.write_u64(word(0));
        h.write_u64(word(8));
        h.write_u64(word(16));
        h.write_u64(word(24));
        h.write_u32(u32::from_le_bytes([b[32], b[33], b[34], b[35]]));
        h.finish()
    }

    /// [`hash_tuple`](Self::hash_tuple) of the IPv4 tuple packed as `packed`
    /// ([`FourTuple::packed_v4`]).
    #[inline(never)]
    pub(crate) fn hash_packed_v4(&self, packed: u128) -> u64 {
        use core::hash::Hasher;
        let mut h = SipHasher13::new_with_keys(self.k0, self.k1);
        h.write_u64(packed as u64);
        h.write_u32((packed >> 64) as u32);
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

    /// [`of`](Self::of) the IPv4 tuple packed as `packed`.
    #[inline]
    pub(crate) fn of_packed_v4(&mut self, hasher: &KeyedState, packed: u128) -> u64 {
        match self.0 {
            Some(h) => h,
            None => {
                let h = hasher.hash_packed_v4(packed);
                self.0 = Some(h);
                h
            }
        }
    }

    /// [`of`](Self::of) the IPv6 tuple packed as `packed`.
    #[inline]
    pub(crate) fn of_packed_v6(&mut self, hasher: &KeyedState, packed: PackedV6) -> u64 {
        match self.0 {
            Some(h) => h,
            None => {
                let h = hasher.hash_packed_v6(packed);
                self.0 = Some(h);
                h
            }
        }
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

/// `BuildHasher` of the maps keyed by one of the stack's own (address, port)
/// pairs: listeners and bound UDP sockets.
///
/// Their keys are never chosen by a peer: an address is one of the stack's own (or
/// a wildcard), a port one the application bound or the stack picked. So, unlike
/// the 4-tuple tables, they need no defence against hash flooding, and SipHash (a
/// derived `Hash` of `(IpAddr, u16)` is 22 bytes through it, ~180 instructions,
/// twice per connection) gives way to a multiply-and-rotate fold of the written
/// words with a final avalanche (MurmurHash3's `fmix64`), seeded from the stack's
/// generator so that runs stay reproducible. Nothing iterates these maps, so the
/// hash decides no output order.
#[derive(Debug, Clone)]
pub(crate) struct LocalKeyState {
    seed: u64,
}

impl LocalKeyState {
    pub(crate) fn new(mut rng: StackRng) -> LocalKeyState {
        LocalKeyState { seed: rng.u64() }
    }
}

impl BuildHasher for LocalKeyState {
    type Hasher = LocalKeyHasher;

    #[inline]
    fn build_hasher(&self) -> LocalKeyHasher {
        LocalKeyHasher { h: self.seed }
    }
}

/// See [`LocalKeyState`].
#[derive(Debug, Clone)]
pub(crate) struct LocalKeyHasher {
    h: u64,
}

impl LocalKeyHasher {
    #[inline]
    fn fold(&mut self, word: u64) {
        self.h = (self.h ^ word)
            .wrapping_mul(0x9e37_79b9_7f4a_7c15)
            .rotate_left(29);
    }
}

impl core::hash::Hasher for LocalKeyHasher {
    #[inline]
    fn write(&mut self, bytes: &[u8]) {
        for chunk in bytes.chunks(8) {
            let mut word = [0u8; 8];
            word[..chunk.len()].copy_from_slice(chunk);
            self.fold(u64::from_le_bytes(word));
        }
    }

    #[inline]
    fn write_u8(&mut self, n: u8) {
        self.fold(u64::from(n));
    }

    #[inline]
    fn write_u16(&mut self, n: u16) {
        self.fold(u64::from(n));
    }

    #[inline]
    fn write_u32(&mut self, n: u32) {
        self.fold(u64::from(n));
    }

    #[inline]
    fn write_u64(&mut self, n: u64) {
        self.fold(n);
    }

    #[inline]
    fn write_usize(&mut self, n: usize) {
        self.fold(n as u64);
    }

    #[inline]
    fn write_isize(&mut self, n: isize) {
        self.fold(n as u64);
    }

    #[inline]
    fn finish(&self) -> u64 {
        // MurmurHash3's fmix64: every input bit reaches the top bits hashbrown
        // takes for its tags and the low bits it takes for the bucket.
        let mut k = self.h;
        k ^= k >> 33;
        k = k.wrapping_mul(0xff51_afd7_ed55_8ccd);
        k ^= k >> 33;
        k = k.wrapping_mul(0xc4ce_b9fe_1a85_ec53);
        k ^= k >> 33;
        k
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use core::net::{Ipv4Addr, Ipv6Addr};

    /// The tuple hash is SipHash-1-3 under the stack's key of a fixed
    /// encoding of the tuple: an IPv4 tuple's packed form as 12 little-endian
    /// bytes, an IPv6 tuple's octets and ports streamed part by part. (What
    /// the module's flood resistance rests on: the hash is the PRF, keyed.)
    #[test]
    fn the_tuple_hash_is_the_keyed_siphash_of_the_tuple() {
        use core::hash::Hasher;
        let state = KeyedState::new(StackRng::from_seed(9));
        let v4 = FourTuple::new(
            SocketAddr::new(IpAddr::V4(Ipv4Addr::new(10, 0, 0, 1)), 40_000),
            SocketAddr::new(IpAddr::V4(Ipv4Addr::new(10, 0, 0, 2)), 80),
        );
        let mut encoded = Vec::new();
        encoded.extend_from_slice(&Ipv4Addr::new(10, 0, 0, 1).to_bits().to_le_bytes());
        encoded.extend_from_slice(&Ipv4Addr::new(10, 0, 0, 2).to_bits().to_le_bytes());
        encoded.extend_from_slice(&40_000u16.to_le_bytes());
        encoded.extend_from_slice(&80u16.to_le_bytes());
        let sip = SipHasher13::new_with_keys(state.k0, state.k1);
        assert_eq!(state.hash_tuple(&v4), sip.hash(&encoded));
        // Another key, another hash: the key is the stack's secret.
        let other = KeyedState::new(StackRng::from_seed(10));
        assert_ne!(state.hash_tuple(&v4), other.hash_tuple(&v4));

        let v6 = FourTuple::new(
            SocketAddr::new(IpAddr::V6(Ipv6Addr::LOCALHOST), 1),
            SocketAddr::new(IpAddr::V6(Ipv6Addr::new(0xfe80, 1, 2, 3, 4, 5, 6, 7)), 443),
        );
        let mut h = SipHasher13::new_with_keys(state.k0, state.k1);
        for addr in [v6.local, v6.remote] {
            match addr.ip() {
                IpAddr::V4(a) => h.write(&a.octets()),
                IpAddr::V6(a) => h.write(&a.octets()),
            }
            h.write(&addr.port().to_be_bytes());
        }
        assert_eq!(state.hash_tuple(&v6), h.finish(), "{v6:?}");

        // A tuple of mixed families (no connection's) is hashed as well, the
        // same way.
        let mixed = FourTuple::new(v4.local, v6.remote);
        let mut h = SipHasher13::new_with_keys(state.k0, state.k1);
        h.write(&Ipv4Addr::new(10, 0, 0, 1).octets());
        h.write(&40_000u16.to_be_bytes());
        h.write(&Ipv6Addr::new(0xfe80, 1, 2, 3, 4, 5, 6, 7).octets());
        h.write(&443u16.to_be_bytes());
        assert_eq!(state.hash_tuple(&mixed), h.finish());
    }

    /// The packed form of an IPv6 tuple tells every field apart and ignores
    /// what `FourTuple::new` clears (flow information, scope); an IPv4 tuple
    /// has none.
    #[test]
    fn a_packed_ipv6_tuple_keeps_each_field_in_its_place() {
        use core::net::SocketAddrV6;
        let a = |last: u16, port: u16| {
            SocketAddr::new(
                IpAddr::V6(Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, last)),
                port,
            )
        };
        let t = packed_v6(a(1, 40_000), a(2, 80));
        assert!(t.is_some());
        for (l, r) in [
            (a(2, 40_000), a(1, 80)),
            (a(1, 80), a(2, 40_000)),
            (a(2, 80), a(1, 40_000)),
            (a(1, 40_001), a(2, 80)),
            (a(3, 40_000), a(2, 80)),
        ] {
            assert_ne!(t, packed_v6(l, r), "{l} {r}");
        }
        let ip = Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, 1);
        let flowing = SocketAddr::V6(SocketAddrV6::new(ip, 40_000, 7, 3));
        assert_eq!(packed_v6(flowing, a(2, 80)), t);
        let v4 = SocketAddr::new(IpAddr::V4(Ipv4Addr::new(10, 0, 0, 1)), 80);
        assert_eq!(packed_v6(v4, v4), None);
        assert_eq!(packed_v6(v4, a(2, 80)), None);
    }

    /// The packed form of an IPv4 tuple tells every field apart (swapped
    /// addresses or ports are another key) and an IPv6 tuple has none.
    #[test]
    fn a_packed_tuple_keeps_each_field_in_its_place() {
        let a = |o: u8, port: u16| SocketAddr::new(IpAddr::V4(Ipv4Addr::new(10, 0, 0, o)), port);
        let t = FourTuple::new(a(1, 40_000), a(2, 80));
        assert_eq!(
            t.packed_v4(),
            Some(
                0x0a00_0001
                    | 0x0a00_0002 << 32
                    | u128::from(40_000u16) << 64
                    | u128::from(80u16) << 80
            )
        );
        for other in [
            FourTuple::new(a(2, 40_000), a(1, 80)),
            FourTuple::new(a(1, 80), a(2, 40_000)),
            FourTuple::new(a(2, 80), a(1, 40_000)),
        ] {
            assert_ne!(t.packed_v4(), other.packed_v4(), "{other:?}");
        }
        let v6 = SocketAddr::new(IpAddr::V6(Ipv6Addr::LOCALHOST), 80);
        assert_eq!(FourTuple::new(v6, v6).packed_v4(), None);
    }

    /// Distinct local keys (addresses of both families, many ports) spread over
    /// the low bits hashbrown picks buckets with.
    #[test]
    fn local_keys_spread_over_buckets() {
        let state = LocalKeyState::new(StackRng::from_seed(7));
        let mut buckets = [0u32; 256];
        for port in 0..4096u16 {
            for ip in [
                IpAddr::V4(Ipv4Addr::new(10, 0, 0, 1)),
                IpAddr::V4(Ipv4Addr::new(10, 0, 0, 2)),
                IpAddr::V6(Ipv6Addr::LOCALHOST),
                IpAddr::V4(Ipv4Addr::UNSPECIFIED),
            ] {
                let key: ListenKey = (ip, port);
                buckets[(state.hash_one(key) & 0xff) as usize] += 1;
            }
        }
        // 16384 keys over 256 buckets: 64 each on average.
        assert!(
            buckets.iter().all(|&n| (32..=110).contains(&n)),
            "{buckets:?}"
        );
        assert_ne!(
            state.hash_one((IpAddr::V4(Ipv4Addr::new(10, 0, 0, 1)), 80u16)),
            state.hash_one((IpAddr::V4(Ipv4Addr::new(10, 0, 0, 1)), 81u16))
        );
    }

    #[test]
    fn a_used_port_overlaps_a_wildcard_bind_of_its_family_only() {
        let v4 = (IpAddr::V4(Ipv4Addr::new(10, 0, 0, 1)), 80u16);
        let used = std::collections::BTreeSet::from([v4]);
        // The overlap rules over the keys in use, wildcards included: a port
        // used on one address overlaps a wildcard bind of its family only.
        let locals: [IpCidr; 1] = ["10.0.0.1/24".parse().unwrap()];
        let contains = |k: &ListenKey| used.contains(k);
        assert!(key_overlaps(
            contains,
            IpAddr::V4(Ipv4Addr::UNSPECIFIED),
            80,
            &locals
        ));
        assert!(!key_overlaps(
            contains,
            IpAddr::V6(Ipv6Addr::UNSPECIFIED),
            80,
            &locals
        ));
        assert!(!key_overlaps(
            contains,
            IpAddr::V4(Ipv4Addr::UNSPECIFIED),
            81,
            &locals
        ));
    }
}
