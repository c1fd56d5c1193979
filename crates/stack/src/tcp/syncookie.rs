//! SYN cookies (RFC 4987 section 3.6), laid out as Linux lays them out.
//!
//! When a listener's SYN queue is full, the SYN-ACK's ISN is a cookie and the
//! listener keeps nothing. The cookie is
//!
//! ```text
//! cookie = H0(tuple) + peer ISN + (counter << 24) + ((H1(tuple, counter) + mss index) mod 2^24)
//! ```
//!
//! with H0, H1 SipHash-2-4 under a 128-bit key of the cookie generator's own,
//! `counter` the time in 64-second steps, and the MSS index into a small table of
//! common MSS values ([`MSS_TABLE_V4`], [`MSS_TABLE_V6`]). The returning ACK
//! acknowledges cookie + 1: subtracting H0 and the peer's ISN (ACK.SEQ - 1) gives the
//! counter's low 8 bits, which must be the current step or the one before; the low
//! 24 bits minus H1 must then be a valid MSS index, which a forged cookie hits with
//! probability 4 / 2^24.
//!
//! When the SYN carried timestamps, the low 6 bits of our TSval carry what else the
//! SYN offered (window shift, 0xf for none; SACK; ECN), and the ACK echoes them in
//! its TSecr ([`encode_ts_options`], [`decode_ts_options`]). Without timestamps a
//! cookie connection runs without window scaling, SACK and ECN.

//= https://www.rfc-editor.org/rfc/rfc4987#section-3.6

use core::fmt;
use core::hash::Hasher;
use core::net::SocketAddr;

use siphasher::sip::SipHasher24;

use crate::rand::StackRng;
use crate::time::Instant;
use crate::wire::SeqNumber;

use super::isn::write_ip;

/// The length of one cookie time step: 64 seconds, as Linux.
pub const COOKIE_STEP_SECS: u64 = 64;
/// Cookies older than this many steps are refused: the current and the previous
/// step are accepted (Linux's `MAX_SYNCOOKIE_AGE`).
pub const MAX_COOKIE_AGE: u32 = 2;
/// The low bits of the cookie that carry the MSS index (the high 8 carry the step).
const COOKIE_BITS: u32 = 24;
const COOKIE_MASK: u32 = (1 << COOKIE_BITS) - 1;

/// The MSS values an IPv4 cookie can encode (Linux's `msstab`).
pub const MSS_TABLE_V4: [u16; 4] = [536, 1300, 1440, 1460];
/// The MSS values an IPv6 cookie can encode (Linux's IPv6 `msstab`: MTUs 1280, 1480,
/// 1500 and 9000 less 60 bytes of headers).
pub const MSS_TABLE_V6: [u16; 4] = [1220, 1420, 1440, 8940];

/// The low TSval bits that carry options.
pub const TS_OPTION_BITS: u32 = 6;
const TS_MASK: u32 = (1 << TS_OPTION_BITS) - 1;
const TS_WSCALE_MASK: u32 = 0xf;
const TS_SACK: u32 = 1 << 4;
const TS_ECN: u32 = 1 << 5;

/// What a cookie SYN-ACK's TSval remembers of the SYN.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct CookieOptions {
    /// The peer's window shift, when it offered window scaling (at most 14).
    pub window_scale: Option<u8>,
    /// The peer offered SACK.
    pub sack_permitted: bool,
    /// The SYN was an ECN-setup SYN and we agreed.
    pub ecn: bool,
}

/// The TSval of a cookie SYN-ACK: `ts_now` with its low 6 bits replaced by
/// `options`, moved back one 64-tick step if that would put it ahead of `ts_now`
/// (a TSval must not run ahead of the clock later segments use).
pub fn encode_ts_options(ts_now: u32, options: CookieOptions) -> u32 {
    let mut bits = options
        .window_scale
        .map_or(TS_WSCALE_MASK, |s| u32::from(s.min(14)));
    if options.sack_permitted {
        bits |= TS_SACK;
    }
    if options.ecn {
        bits |= TS_ECN;
    }
    let ts = (ts_now & !TS_MASK) | bits;
    if bits > ts_now & TS_MASK {
        ts.wrapping_sub(1 << TS_OPTION_BITS)
    } else {
        ts
    }
}

/// The options a cookie ACK's TSecr echoes, or `None` when they cannot have come
/// from us (a window shift above 14 other than the 0xf that means none).
pub fn decode_ts_options(tsecr: u32) -> Option<CookieOptions> {
    let wscale = tsecr & TS_WSCALE_MASK;
    let window_scale = match wscale {
        TS_WSCALE_MASK => None,
        0..=14 => Some(wscale as u8),
        _ => return None,
    };
    Some(CookieOptions {
        window_scale,
        sack_permitted: tsecr & TS_SACK != 0,
        ecn: tsecr & TS_ECN != 0,
    })
}

/// The MSS table for the remote address's family.
pub fn mss_table(remote: SocketAddr) -> &'static [u16; 4] {
    match remote {
        SocketAddr::V4(_) => &MSS_TABLE_V4,
        SocketAddr::V6(_) => &MSS_TABLE_V6,
    }
}

/// The index of the largest table MSS not above `mss` (0 when all are above it).
pub fn mss_index(remote: SocketAddr, mss: u16) -> u8 {
    let table = mss_table(remote);
    table.iter().rposition(|&m| m <= mss).unwrap_or(0) as u8
}

/// Why a cookie was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CookieError {
    /// Made more than one time step ago (or in the future).
    Expired,
    /// Not a cookie of ours for this 4-tuple and peer ISN.
    Invalid,
}

/// The SYN cookie generator: a secret key; the clock is the caller's `now`.
///
/// `Debug` does not print the key.
pub struct SynCookies {
    key: [u8; 16],
}

impl SynCookies {
    /// A generator whose secret is drawn from `rng` (16 bytes). Give it a generator
    /// of its own: `SynCookies::new(&mut rng.fork("syn-cookies"))`.
    pub fn new(rng: &mut StackRng) -> SynCookies {
        SynCookies { key: rng.bytes() }
    }

    /// A generator with a given secret (tests).
    pub fn with_key(key: [u8; 16]) -> SynCookies {
        SynCookies { key }
    }

    /// The cookie ISN for a SYN from `remote` (with ISN `peer_isn`) to `local` at
    /// `now`, encoding `mss_index` (below 4).
    pub fn cookie(
        &self,
        now: Instant,
        local: SocketAddr,
        remote: SocketAddr,
        peer_isn: SeqNumber,
        mss_index: u8,
    ) -> SeqNumber {
        let count = counter(now);
        let data = u32::from(mss_index) & 3;
        SeqNumber(
            self.hash(0, local, remote, 0)
                .wrapping_add(peer_isn.0)
                .wrapping_add(count << COOKIE_BITS)
                .wrapping_add(self.hash(1, local, remote, count).wrapping_add(data) & COOKIE_MASK),
        )
    }

    /// Checks `cookie` (the ACK's acknowledgment number less one) for a connection
    /// from `remote` with ISN `peer_isn` (the ACK's sequence number less one) and
    /// returns the MSS index it encodes.
    pub fn check(
        &self,
        now: Instant,
        local: SocketAddr,
        remote: SocketAddr,
        peer_isn: SeqNumber,
        cookie: SeqNumber,
    ) -> Result<u8, CookieError> {
        let count = counter(now);
        let v = cookie
            .0
            .wrapping_sub(self.hash(0, local, remote, 0))
            .wrapping_sub(peer_isn.0);
        let diff = count.wrapping_sub(v >> COOKIE_BITS) & (u32::MAX >> COOKIE_BITS);
        if diff >= MAX_COOKIE_AGE {
            return Err(CookieError::Expired);
        }
        let made = count.wrapping_sub(diff);
        let data = v.wrapping_sub(self.hash(1, local, remote, made)) & COOKIE_MASK;
        if data < mss_table(remote).len() as u32 {
            Ok(data as u8)
        } else {
            Err(CookieError::Invalid)
        }
    }

    fn hash(&self, which: u8, local: SocketAddr, remote: SocketAddr, count: u32) -> u32 {
        let mut h = SipHasher24::new_with_key(&self.key);
        h.write(&[which]);
        write_ip(&mut h, local.ip());
        h.write(&local.port().to_be_bytes());
        write_ip(&mut h, remote.ip());
        h.write(&remote.port().to_be_bytes());
        h.write(&count.to_be_bytes());
        let f = h.finish();
        (f ^ (f >> 32)) as u32
    }
}

/// The time in cookie steps (64 s), wrapping.
fn counter(now: Instant) -> u32 {
    (now.as_nanos() / (COOKIE_STEP_SECS * 1_000_000_000)) as u32
}

impl fmt::Debug for SynCookies {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SynCookies").finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::time::Duration;
    use core::net::{Ipv4Addr, Ipv6Addr, SocketAddrV4, SocketAddrV6};
    use proptest::prelude::*;

    fn v4(a: [u8; 4], port: u16) -> SocketAddr {
        SocketAddr::V4(SocketAddrV4::new(Ipv4Addr::from(a), port))
    }

    fn gen() -> SynCookies {
        SynCookies::new(&mut StackRng::from_seed(7).fork("syn-cookies"))
    }

    const L: [u8; 4] = [10, 0, 0, 1];
    const R: [u8; 4] = [10, 0, 0, 2];

    #[test]
    fn cookie_checks_and_returns_its_mss_index() {
        let g = gen();
        let now = Instant::from_nanos(1_000_000_000_000);
        let (l, r) = (v4(L, 80), v4(R, 40000));
        for idx in 0..4 {
            let c = g.cookie(now, l, r, SeqNumber(12345), idx);
            assert_eq!(g.check(now, l, r, SeqNumber(12345), c), Ok(idx));
        }
    }

    #[test]
    fn previous_step_is_accepted_and_two_steps_ago_expired() {
        let g = gen();
        let t0 = Instant::from_nanos(640_000_000_000);
        let (l, r) = (v4(L, 80), v4(R, 40000));
        let c = g.cookie(t0, l, r, SeqNumber(9), 3);
        let step = Duration::from_secs(COOKIE_STEP_SECS);
        assert_eq!(g.check(t0 + step, l, r, SeqNumber(9), c), Ok(3));
        assert_eq!(
            g.check(t0 + step + step, l, r, SeqNumber(9), c),
            Err(CookieError::Expired)
        );
    }

    #[test]
    fn cookie_for_another_tuple_or_isn_is_refused() {
        let g = gen();
        let now = Instant::ZERO;
        let (l, r) = (v4(L, 80), v4(R, 40000));
        let c = g.cookie(now, l, r, SeqNumber(100), 3);
        assert!(g.check(now, l, v4(R, 40001), SeqNumber(100), c).is_err());
        assert!(g
            .check(now, l, v4([10, 0, 0, 3], 40000), SeqNumber(100), c)
            .is_err());
        assert!(g.check(now, l, r, SeqNumber(100 + 1000), c).is_err());
        // Index 3 is the largest: one more is no index.
        assert_eq!(
            g.check(now, l, r, SeqNumber(100), c + 1u32),
            Err(CookieError::Invalid)
        );
    }

    #[test]
    fn mss_index_picks_largest_entry_not_above() {
        let r4 = v4(R, 1);
        assert_eq!(mss_index(r4, 1460), 3);
        assert_eq!(mss_index(r4, 9000), 3);
        assert_eq!(mss_index(r4, 1400), 1);
        assert_eq!(mss_index(r4, 100), 0);
        let r6 = SocketAddr::V6(SocketAddrV6::new(Ipv6Addr::LOCALHOST, 1, 0, 0));
        assert_eq!(mss_index(r6, 1440), 2);
        assert_eq!(mss_table(r6)[usize::from(mss_index(r6, 9000))], 8940);
    }

    #[test]
    fn ts_options_round_trip_without_running_ahead() {
        let opts = CookieOptions {
            window_scale: Some(7),
            sack_permitted: true,
            ecn: true,
        };
        for now in [0u32, 5, 63, 64, 1000, u32::MAX] {
            let ts = encode_ts_options(now, opts);
            assert_eq!(decode_ts_options(ts), Some(opts));
            assert!(now.wrapping_sub(ts) < 64, "{now} {ts}");
        }
        let none = CookieOptions::default();
        assert_eq!(decode_ts_options(encode_ts_options(999, none)), Some(none));
        // 14 is the largest shift; 0xf means none; nothing else is ours... all of
        // 0..=14 and 0xf are, so a 4-bit field cannot be forged invalid.
        assert_eq!(
            decode_ts_options(0x0e).and_then(|o| o.window_scale),
            Some(14)
        );
        assert_eq!(decode_ts_options(0x0f).and_then(|o| o.window_scale), None);
    }

    #[test]
    fn debug_does_not_print_the_key() {
        assert_eq!(
            format!("{:?}", SynCookies::with_key([1; 16])),
            "SynCookies { .. }"
        );
    }

    proptest! {
        #[test]
        fn random_cookies_are_almost_never_accepted(
            seq: u32, cookie: u32, t in 0u64..1u64 << 50,
        ) {
            let g = gen();
            let (l, r) = (v4(L, 80), v4(R, 40000));
            let now = Instant::from_nanos(t);
            let genuine = g.cookie(now, l, r, SeqNumber(seq), 0);
            // Anything but the genuine cookies (4 per step, 2 steps) should fail;
            // a collision has probability about 8 / 2^24 per case.
            prop_assume!(cookie.wrapping_sub(genuine.0) > 8);
            prop_assert!(g.check(now, l, r, SeqNumber(seq), SeqNumber(cookie)).is_err());
        }
    }
}
