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
//!
//! M never gives the same value twice: an ISN handed out in the same 4-microsecond
//! tick as the one before it (or while the caller's clock stands still, as a
//! simulation's may) takes the tick after the last one used. Without that, a tuple
//! opened twice at one instant (a connection reset, then an old duplicate SYN of
//! it) got the same ISN twice, and the old incarnation's segments were acceptable
//! to the new one. The clock runs ahead of time only while ISNs are handed out
//! faster than 250,000 a second, and falls back to time when they slow.

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

/// The RFC 6528 ISN generator: a secret key, and the last tick of M it used; the
/// clock is the caller's `now`.
///
/// `Debug` does not print the key.
pub struct IsnGenerator {
    key: [u8; 16],
    /// The tick of M the last ISN took, unwrapped (`None` before the first).
    last_tick: Option<u64>,
}

impl IsnGenerator {
    /// A generator whose secret is drawn from `rng` (16 bytes). Give it a generator
    /// of its own: `IsnGenerator::new(&mut rng.fork("isn"))`.
    pub fn new(rng: &mut StackRng) -> IsnGenerator {
        //= https://www.rfc-editor.org/rfc/rfc6528#section-3
        //# Key lengths of 128 bits should be adequate.
        IsnGenerator::with_key(rng.bytes())
    }

    /// A generator with a given secret (tests, or a driver that keeps the key
    /// across restarts).
    pub fn with_key(key: [u8; 16]) -> IsnGenerator {
        IsnGenerator {
            key,
            last_tick: None,
        }
    }

    /// The initial send sequence number for a connection from `local` to `remote`
    /// opened at `now`.
    pub fn isn(&mut self, now: Instant, local: SocketAddr, remote: SocketAddr) -> SeqNumber {
        self.isn_and_ts_offset(now, local, remote).0
    }

    /// The initial send sequence number for a connection from `local` to `remote`
    /// opened at `now`, and its timestamp offset ([`ts_offset`](Self::ts_offset)),
    /// from one SipHash.
    pub fn isn_and_ts_offset(
        &mut self,
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
        // Truncation is the wrap-around the RFC's 32-bit timer has.
        let m = self.next_tick(now) as u32;
        (SeqNumber(m.wrapping_add(isn_offset)), ts_offset)
    }

    /// M for an ISN handed out at `now`: the clock's tick, or the tick after the
    /// last one used when the clock has not moved past it. Unwrapped, so that a
    /// generator idle for longer than M's 4.8-hour wrap still compares right
    /// (truncated to 32 bits by the caller, the RFC's wrap-around).
    //= https://www.rfc-editor.org/rfc/rfc9293#section-3.4.1
    //# To avoid confusion we must prevent segments from one incarnation of a
    //# connection from being used while the same sequence numbers may still be
    //# present in the network from an earlier incarnation.
    //= https://www.rfc-editor.org/rfc/rfc9293#section-3.4.1
    //# The generator is bound to a (possibly fictitious) 32-bit clock whose
    //# low-order bit is incremented roughly every 4 microseconds.
    fn next_tick(&mut self, now: Instant) -> u64 {
        let tick = clock(now);
        let tick = match self.last_tick {
            Some(last) if tick <= last => last.wrapping_add(1),
            _ => tick,
        };
        self.last_tick = Some(tick);
        tick
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

/// M: the 4-microsecond clock, counting from the driver's time origin; it wraps
/// when truncated to 32 bits.
fn clock(now: Instant) -> u64 {
    now.as_nanos() / ISN_TICK.as_nanos() as u64
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
        let (l, r) = (v4(LOCAL, 40000), v4(REMOTE, 80));
        let t0 = Instant::from_nanos(5_000_000_000);
        let a = gen(1).isn(t0, l, r);
        let b = gen(1).isn(t0 + Duration::from_secs(1), l, r);
        assert_eq!(b - a, 250_000);
        let c = gen(1).isn(t0 + Duration::from_micros(4), l, r);
        assert_eq!(c - a, 1);
        // Less than a tick: the same M, for a generator that used none before.
        let d = gen(1).isn(t0 + Duration::from_nanos(3_999), l, r);
        assert_eq!(d, a);
    }

    #[test]
    fn a_tuple_opened_twice_in_one_tick_gets_two_isns() {
        let mut g = gen(1);
        let (l, r) = (v4(LOCAL, 40000), v4(REMOTE, 80));
        let t0 = Instant::from_nanos(5_000_000_000);
        let a = g.isn(t0, l, r);
        // The clock stood still: the next tick.
        let b = g.isn(t0, l, r);
        assert_eq!(b - a, 1);
        // Within the same tick, and another tuple in between: two ticks on.
        let _ = g.isn(t0 + Duration::from_nanos(3_999), v4(LOCAL, 40001), r);
        let c = g.isn(t0 + Duration::from_nanos(3_999), l, r);
        assert_eq!(c - a, 3);
        // Time caught up with M and passed it: M is the clock again.
        let e = g.isn(t0 + Duration::from_secs(1), l, r);
        assert_eq!(e - a, 250_000);
    }

    #[test]
    fn a_clock_that_moves_a_tick_per_isn_is_followed_exactly() {
        let mut g = gen(6);
        let mut fresh = gen(6);
        let (l, r) = (v4(LOCAL, 40000), v4(REMOTE, 80));
        for i in 0..1000u64 {
            let now = Instant::from_nanos(7_000 + i * 4_000);
            assert_eq!(g.isn(now, l, r), fresh.isn(now, l, r));
        }
    }

    #[test]
    fn an_isn_burst_runs_m_ahead_and_time_catches_up() {
        let mut g = gen(7);
        let (l, r) = (v4(LOCAL, 40000), v4(REMOTE, 80));
        let t0 = Instant::from_nanos(1_000_000);
        let first = g.isn(t0, l, r);
        // 100 ISNs at one instant: M runs 99 ticks ahead of the clock.
        for _ in 1..100 {
            let _ = g.isn(t0, l, r);
        }
        // 50 ticks later M is still ahead: one tick past the last.
        let at_50 = g.isn(t0 + Duration::from_micros(200), l, r);
        assert_eq!(at_50 - first, 100);
        // 200 ticks later the clock leads again.
        let at_200 = g.isn(t0 + Duration::from_micros(800), l, r);
        assert_eq!(at_200 - first, 200);
    }

    #[test]
    fn m_follows_the_clock_after_an_idle_longer_than_its_wrap() {
        let mut g = gen(8);
        let (l, r) = (v4(LOCAL, 40000), v4(REMOTE, 80));
        let a = g.isn(Instant::from_nanos(4_000), l, r);
        // 2^32 + 5 ticks later: the wrapped 32-bit clock reads 5 past `a`'s
        // tick, below it were it compared wrapped against the last M.
        let later = Instant::from_nanos(4_000 * ((1u64 << 32) + 6));
        let b = g.isn(later, l, r);
        assert_eq!(b - a, 5);
    }

    #[test]
    fn clock_wraps_after_2_pow_32_ticks() {
        let tick = ISN_TICK.as_nanos() as u64;
        let (l, r) = (v4(LOCAL, 40000), v4(REMOTE, 80));
        let isn = |nanos| gen(11).isn(Instant::from_nanos(nanos), l, r);
        assert_eq!(isn(tick * (1 << 32)), isn(0));
        assert_eq!(isn(tick * ((1 << 32) - 1)), isn(0) - 1u32);
        assert_eq!(isn(u64::MAX), isn(0) + (u64::MAX / tick) as u32);
    }

    #[test]
    fn isn_wraps_without_panicking() {
        let mut g = gen(2);
        let (l, r) = (v4(LOCAL, 1), v4(REMOTE, 2));
        let _ = g.isn(Instant::from_nanos(u64::MAX), l, r);
    }

    #[test]
    fn different_tuples_give_unrelated_isns() {
        let now = Instant::from_nanos(1_000_000);
        let isn = |l, r| gen(3).isn(now, l, r);
        let base = isn(v4(LOCAL, 40000), v4(REMOTE, 80));
        let neighbours = [
            isn(v4(LOCAL, 40001), v4(REMOTE, 80)),
            isn(v4(LOCAL, 40000), v4(REMOTE, 81)),
            isn(v4([10, 0, 0, 3], 40000), v4(REMOTE, 80)),
            isn(v4(LOCAL, 40000), v4([10, 0, 0, 3], 80)),
            // Swapped ends: the peer's view of the same connection.
            isn(v4(REMOTE, 80), v4(LOCAL, 40000)),
        ];
        for n in neighbours {
            // A neighbouring tuple must not land near the base ISN: with a good PRF
            // the distance is uniform, so within +-2^20 happens with p = 2^-11.
            assert!((n - base).unsigned_abs() > 1 << 20, "{base:?} vs {n:?}");
        }
    }

    #[test]
    fn consecutive_ports_spread_across_the_sequence_space() {
        let mut g = gen(4);
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
        let mut g = gen(5);
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
        let mut g = IsnGenerator::with_key(*b"0123456789abcdef");
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
        let mut g = gen(6);
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
        let mut a = IsnGenerator::with_key([1; 16]);
        let mut b = IsnGenerator::with_key([2; 16]);
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
            let mut g = gen(seed);
            let (l, r) = (v4(la, lp), v4(ra, rp));
            let a = g.isn(Instant::from_nanos(t), l, r);
            let b = g.isn(Instant::from_nanos(t + dt), l, r);
            // The clock's ticks, or one when it has not ticked since `a`.
            let ticks = ((t + dt) / 4000 - t / 4000).max(1) as u32;
            prop_assert_eq!(b.0, a.0.wrapping_add(ticks));
        }
    }
}
