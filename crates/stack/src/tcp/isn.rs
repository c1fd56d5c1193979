//! Initial sequence numbers (RFC 6528, RFC 9293 section 3.4.1).
//!
//! `ISN = M + F(localip, localport, remoteip, remoteport, secretkey)`: M is a clock
//! that ticks every 4 microseconds, taken from the `now` the caller passes (the stack
//! reads no clock); F is SipHash-2-4 (what Linux uses for the same job) keyed with a
//! 128-bit secret drawn once from the stack's [`StackRng`].
//!
//! The same function also gives each connection its timestamp offset (RFC 7323):
//! F runs as SipHash-2-4 with its 128-bit output, whose first 64-bit half makes the
//! ISN offset and whose second half the timestamp offset. One keyed hash per
//! connection instead of two under separate keys; the halves are separate outputs
//! of one pseudorandom function, so a peer that reads every TSval of a tuple learns
//! nothing of the half that makes its ISN.
//!
//! The connection identifiers are hashed as explicit big-endian bytes (family tag,
//! address, port), never through `core::hash::Hash`, whose output for standard types
//! is not promised to stay the same across Rust releases: a recorded simulation must
//! get the same ISNs from the same seed on any toolchain.
//!
//! The key lives as long as the generator; like Linux, layer4 does not rotate it
//! (rotating would break the monotonic per-tuple ISN that TIME-WAIT reuse relies on).

use core::fmt;
use core::hash::Hasher;
use core::net::{IpAddr, SocketAddr};

use siphasher::sip128::SipHasher24 as SipHasher24x128;

use crate::rand::StackRng;
use crate::time::{Duration, Instant};
use crate::wire::SeqNumber;

/// The period of the ISN clock M: 4 microseconds, so M advances by 250,000 a second
/// and wraps every 2^32 * 4 us (about 4.8 hours).
pub const ISN_TICK: Duration = Duration::from_micros(4);

//= https://www.rfc-editor.org/rfc/rfc9293#section-3.4.1
//# A TCP implementation MUST use the above type of "clock" for clock-
//# driven selection of initial sequence numbers (MUST-8), and SHOULD
//# generate its initial sequence numbers with the expression:
//#
//# ISN = M + F(localip, localport, remoteip, remoteport, secretkey)
//#
//# where M is the 4 microsecond timer, and F() is a pseudorandom
//# function (PRF) of the connection's identifying parameters ("localip,
//# localport, remoteip, remoteport") and a secret key ("secretkey")
//# (SHLD-1).  F() MUST NOT be computable from the outside (MUST-9), or an
//# attacker could still guess at sequence numbers from the ISN used for
//# some other connection.

/// The RFC 6528 ISN generator: a secret key and nothing else; the clock is the
/// caller's `now`.
///
/// `Debug` does not print the key.
pub struct IsnGenerator {
    key: [u8; 16],
}

impl IsnGenerator {
    /// A generator whose secret is drawn from `rng` (16 bytes). Give it a generator
    /// of its own: `IsnGenerator::new(&mut rng.fork("isn"))`.
    pub fn new(rng: &mut StackRng) -> IsnGenerator {
        //= https://www.rfc-editor.org/rfc/rfc6528#section-3
        //# Key lengths of 128 bits should be adequate.
        IsnGenerator { key: rng.bytes() }
    }

    /// A generator with a given secret (tests, or a driver that keeps the key
    /// across restarts).
    pub fn with_key(key: [u8; 16]) -> IsnGenerator {
        IsnGenerator { key }
    }

    /// The initial send sequence number for a connection from `local` to `remote`
    /// opened at `now`.
    pub fn isn(&self, now: Instant, local: SocketAddr, remote: SocketAddr) -> SeqNumber {
        self.isn_and_ts_offset(now, local, remote).0
    }

    /// The initial send sequence number for a connection from `local` to `remote`
    /// opened at `now`, and its timestamp offset ([`ts_offset`](Self::ts_offset)),
    /// from one SipHash.
    pub fn isn_and_ts_offset(
        &self,
        now: Instant,
        local: SocketAddr,
        remote: SocketAddr,
    ) -> (SeqNumber, u32) {
        //= https://www.rfc-editor.org/rfc/rfc6528#section-3
        //# TCP SHOULD generate its Initial Sequence Numbers with the expression:
        //#
        //#    ISN = M + F(localip, localport, remoteip, remoteport, secretkey)
        //#
        //# where M is the 4 microsecond timer, and F() is a pseudorandom
        //# function (PRF) of the connection-id.  F() MUST NOT be computable from
        //# the outside, or an attacker could still guess at sequence numbers
        //# from the ISN used for some other connection.
        let (isn_offset, ts_offset) = self.offsets(&local, &remote);
        (SeqNumber(clock(now).wrapping_add(isn_offset)), ts_offset)
    }

    /// The per-connection timestamp offset (RFC 7323): every incarnation of a
    /// 4-tuple gets the same offset, so its timestamps keep increasing across
    /// incarnations and a SYN can end TIME-WAIT (RFC 6191). It is the second half
    /// of F()'s 128-bit output, the ISN's offset the first: a TSval gives away
    /// nothing of the ISN.
    pub fn ts_offset(&self, local: SocketAddr, remote: SocketAddr) -> u32 {
        self.offsets(&local, &remote).1
    }

    /// F(): SipHash-2-4 with 128-bit output of the connection-id under the secret
    /// key; each 64-bit half folded to 32 bits: (ISN offset, timestamp offset).
    fn offsets(&self, local: &SocketAddr, remote: &SocketAddr) -> (u32, u32) {
        // The same byte string as `write_ip` + port, twice, gathered into one
        // `write`: SipHash's result depends only on the bytes, and one call costs
        // a fraction of six.
        let mut bytes = [0u8; 38];
        let mut n = 0;
        for addr in [local, remote] {
            n = put_tagged_ip(&mut bytes, n, addr.ip());
            bytes[n..n + 2].copy_from_slice(&addr.port().to_be_bytes());
            n += 2;
        }
        // One-shot: the same SipHash of the same bytes as `write` + `finish128`,
        // without the streaming tail's book-keeping.
        let f = SipHasher24x128::new_with_key(&self.key).hash(&bytes[..n]);
        let fold = |f: u64| (f ^ (f >> 32)) as u32;
        (fold(f.h1), fold(f.h2))
    }
}

/// M: the 4-microsecond clock, counting from the driver's time origin and wrapping.
fn clock(now: Instant) -> u32 {
    // Truncation is the wrap-around the RFC's 32-bit timer has.
    (now.as_nanos() / ISN_TICK.as_nanos() as u64) as u32
}

/// [`write_ip`]'s bytes (the family tag, then the address) put into `bytes` at
/// `at`, for a one-shot hash; returns the index past them. `bytes` must have 17
/// bytes free at `at`.
pub(crate) fn put_tagged_ip(bytes: &mut [u8], at: usize, ip: IpAddr) -> usize {
    match ip {
        IpAddr::V4(a) => {
            bytes[at] = 4;
            bytes[at + 1..at + 5].copy_from_slice(&a.octets());
            at + 5
        }
        IpAddr::V6(a) => {
            bytes[at] = 6;
            bytes[at + 1..at + 17].copy_from_slice(&a.octets());
            at + 17
        }
    }
}

/// An address with a family tag, so that an IPv4 address and the IPv6 address whose
/// bytes start the same never feed F() the same input.
/// The bytes are [`put_tagged_ip`]'s: the hash of a byte stream does not depend on
/// how it is cut into writes, so the streamed and the one-shot forms agree.
pub(crate) fn write_ip(h: &mut impl Hasher, ip: IpAddr) {
    let mut bytes = [0u8; 17];
    let n = put_tagged_ip(&mut bytes, 0, ip);
    h.write(&bytes[..n]);
}

impl fmt::Debug for IsnGenerator {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("IsnGenerator").finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use core::net::{Ipv4Addr, Ipv6Addr, SocketAddrV4};
    use proptest::prelude::*;

    fn v4(a: [u8; 4], port: u16) -> SocketAddr {
        SocketAddr::V4(SocketAddrV4::new(Ipv4Addr::from(a), port))
    }

    fn gen(seed: u64) -> IsnGenerator {
        IsnGenerator::new(&mut StackRng::from_seed(seed).fork("isn"))
    }

    const LOCAL: [u8; 4] = [10, 0, 0, 1];
    const REMOTE: [u8; 4] = [10, 0, 0, 2];

    #[test]
    fn same_tuple_advances_250_000_per_second() {
        let g = gen(1);
        let (l, r) = (v4(LOCAL, 40000), v4(REMOTE, 80));
        let t0 = Instant::from_nanos(5_000_000_000);
        let a = g.isn(t0, l, r);
        let b = g.isn(t0 + Duration::from_secs(1), l, r);
        assert_eq!(b - a, 250_000);
        let c = g.isn(t0 + Duration::from_micros(4), l, r);
        assert_eq!(c - a, 1);
        // Less than a tick: no change.
        let d = g.isn(t0 + Duration::from_nanos(3_999), l, r);
        assert_eq!(d, a);
    }

    #[test]
    fn clock_wraps_after_2_pow_32_ticks() {
        let tick = ISN_TICK.as_nanos() as u64;
        assert_eq!(clock(Instant::ZERO), 0);
        assert_eq!(clock(Instant::from_nanos(tick * (1 << 32))), 0);
        assert_eq!(clock(Instant::from_nanos(tick * ((1 << 32) - 1))), u32::MAX);
        assert_eq!(
            clock(Instant::from_nanos(u64::MAX)),
            (u64::MAX / tick) as u32
        );
    }

    #[test]
    fn isn_wraps_without_panicking() {
        let g = gen(2);
        let (l, r) = (v4(LOCAL, 1), v4(REMOTE, 2));
        let _ = g.isn(Instant::from_nanos(u64::MAX), l, r);
    }

    #[test]
    fn different_tuples_give_unrelated_isns() {
        let g = gen(3);
        let now = Instant::from_nanos(1_000_000);
        let base = g.isn(now, v4(LOCAL, 40000), v4(REMOTE, 80));
        let neighbours = [
            g.isn(now, v4(LOCAL, 40001), v4(REMOTE, 80)),
            g.isn(now, v4(LOCAL, 40000), v4(REMOTE, 81)),
            g.isn(now, v4([10, 0, 0, 3], 40000), v4(REMOTE, 80)),
            g.isn(now, v4(LOCAL, 40000), v4([10, 0, 0, 3], 80)),
            // Swapped ends: the peer's view of the same connection.
            g.isn(now, v4(REMOTE, 80), v4(LOCAL, 40000)),
        ];
        for n in neighbours {
            // A neighbouring tuple must not land near the base ISN: with a good PRF
            // the distance is uniform, so within +-2^20 happens with p = 2^-11.
            assert!((n - base).unsigned_abs() > 1 << 20, "{base:?} vs {n:?}");
        }
    }

    #[test]
    fn consecutive_ports_spread_across_the_sequence_space() {
        let g = gen(4);
        let now = Instant::ZERO;
        let mut quarters = [0u32; 4];
        for port in 0..4000u16 {
            let isn = g.isn(now, v4(LOCAL, 30000 + port), v4(REMOTE, 443));
            quarters[(isn.0 >> 30) as usize] += 1;
        }
        for q in quarters {
            assert!((850..1150).contains(&q), "{quarters:?}");
        }
    }

    #[test]
    fn ipv4_and_ipv6_with_the_same_leading_bytes_differ() {
        let g = gen(5);
        let mapped = Ipv6Addr::from([10, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
        let now = Instant::ZERO;
        let a = g.isn(now, v4(LOCAL, 1), v4(REMOTE, 2));
        let b = g.isn(now, SocketAddr::new(IpAddr::V6(mapped), 1), v4(REMOTE, 2));
        assert_ne!(a, b);
    }

    #[test]
    fn reproducible_from_the_seed() {
        let (l, r) = (v4(LOCAL, 40000), v4(REMOTE, 80));
        let now = Instant::from_nanos(123_456_789);
        assert_eq!(gen(9).isn(now, l, r), gen(9).isn(now, l, r));
        assert_ne!(gen(9).isn(now, l, r), gen(10).isn(now, l, r));
    }

    /// Pins F() for a fixed key, so that a change in the byte encoding (or in
    /// siphasher) that would change every recorded run is noticed.
    #[test]
    fn offset_for_a_fixed_key_is_pinned() {
        let g = IsnGenerator::with_key(*b"0123456789abcdef");
        let (isn, ts) = g.isn_and_ts_offset(Instant::ZERO, v4(LOCAL, 40000), v4(REMOTE, 80));
        assert_eq!(isn, SeqNumber(PINNED_OFFSET));
        assert_eq!(ts, PINNED_TS_OFFSET);
        assert_eq!(
            g.ts_offset(v4(LOCAL, 40000), v4(REMOTE, 80)),
            PINNED_TS_OFFSET
        );
        let later = g.isn(
            Instant::from_nanos(1_000_000_000),
            v4(LOCAL, 40000),
            v4(REMOTE, 80),
        );
        assert_eq!(later, SeqNumber(PINNED_OFFSET.wrapping_add(250_000)));
    }

    /// SipHash-2-4 with 128-bit output under the key `0123456789abcdef` of the
    /// bytes `04 0a000001 9c40 04 0a000002 0050`, each half folded (checked
    /// against an independent SipHash written from the paper, which gives the
    /// reference vectors 0x726fdb47dd0e0e31 (64-bit) and
    /// a3817f04ba25a8e66df67214c7550293 (128-bit) for key 00..0f and the empty
    /// message).
    const PINNED_OFFSET: u32 = 1_157_940_158;
    const PINNED_TS_OFFSET: u32 = 2_075_221_176;

    /// The two halves are separate outputs: across many tuples the timestamp
    /// offset does not follow the ISN offset.
    #[test]
    fn ts_offsets_are_unrelated_to_isn_offsets() {
        let g = gen(6);
        let mut same_quarter = 0;
        let mut equal = 0;
        for port in 0..4000u16 {
            let (isn, ts) =
                g.isn_and_ts_offset(Instant::ZERO, v4(LOCAL, 30000 + port), v4(REMOTE, 443));
            same_quarter += u32::from(isn.0 >> 30 == ts >> 30);
            equal += u32::from(isn.0 == ts);
        }
        // Independent halves: the same top two bits a quarter of the time.
        assert!((850..1150).contains(&same_quarter), "{same_quarter}");
        assert_eq!(equal, 0);
    }

    #[test]
    fn different_keys_give_different_offsets() {
        let a = IsnGenerator::with_key([1; 16]);
        let b = IsnGenerator::with_key([2; 16]);
        let (l, r) = (v4(LOCAL, 40000), v4(REMOTE, 80));
        assert_ne!(a.isn(Instant::ZERO, l, r), b.isn(Instant::ZERO, l, r));
    }

    #[test]
    fn debug_does_not_print_the_key() {
        let g = IsnGenerator::with_key([0x5a; 16]);
        assert_eq!(format!("{g:?}"), "IsnGenerator { .. }");
    }

    /// `offsets` as streaming writes of the same bytes, one part at a time.
    fn offsets_by_parts(key: &[u8; 16], local: SocketAddr, remote: SocketAddr) -> (u32, u32) {
        use siphasher::sip128::Hasher128;
        let mut h = SipHasher24x128::new_with_key(key);
        for addr in [local, remote] {
            write_ip(&mut h, addr.ip());
            h.write(&addr.port().to_be_bytes());
        }
        let f = h.finish128();
        let fold = |f: u64| (f ^ (f >> 32)) as u32;
        (fold(f.h1), fold(f.h2))
    }

    proptest! {
        #[test]
        fn one_shot_offsets_equal_the_streamed_ones(
            key: [u8; 16], a4: u32, b4: u32, a6: u128, b6: u128, p: u16, q: u16,
        ) {
            let g = IsnGenerator::with_key(key);
            let v4 = |a: u32, port| SocketAddr::new(IpAddr::V4(Ipv4Addr::from(a)), port);
            let v6 = |a: u128, port| SocketAddr::new(IpAddr::V6(Ipv6Addr::from(a)), port);
            for (l, r) in [(v4(a4, p), v4(b4, q)), (v6(a6, p), v6(b6, q))] {
                prop_assert_eq!(g.offsets(&l, &r), offsets_by_parts(&key, l, r));
            }
        }

        #[test]
        fn isn_is_offset_plus_clock(
            seed: u64,
            la: [u8; 4], lp: u16, ra: [u8; 4], rp: u16,
            t in 0u64..u64::MAX / 2, dt in 0u64..1_000_000_000_000,
        ) {
            let g = gen(seed);
            let (l, r) = (v4(la, lp), v4(ra, rp));
            let a = g.isn(Instant::from_nanos(t), l, r);
            let b = g.isn(Instant::from_nanos(t + dt), l, r);
            let ticks = ((t + dt) / 4000 - t / 4000) as u32;
            prop_assert_eq!(b.0, a.0.wrapping_add(ticks));
        }
    }
}
