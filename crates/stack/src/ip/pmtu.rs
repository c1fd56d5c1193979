//! The path MTU cache: what ICMP "fragmentation needed" (RFC 1191) and ICMPv6
//! "packet too big" (RFC 8201) messages taught us about the largest packet that
//! reaches each destination.
//!
//! # Rules
//!
//! - A report only ever lowers the estimate; a value at or above the current one is
//!   ignored (RFC 1191 section 3, RFC 8201 section 4).
//! - IPv4 reports are raised to [`PathMtuConfig::min_ipv4`], 552 by default like
//!   Linux's `net.ipv4.route.min_pmtu` (512 bytes of data plus 40 of headers), so a
//!   forged ICMP message cannot shrink a path to tiny packets (RFC 5927 section 7 on
//!   such attacks). RFC 1191's own floor is 68; setting `min_ipv4` to 68 gives it.
//! - IPv6 reports below 1280, the IPv6 minimum link MTU, are discarded (RFC 8201
//!   section 4); the estimate never falls below 1280.
//! - An IPv4 message from an old router carries no next-hop MTU (the field is zero):
//!   [`PathMtuCache::report_ipv4_without_mtu`] takes the greatest plateau of RFC 1191
//!   section 7 below the quoted packet's total length (section 5).
//! - An estimate expires [`PathMtuConfig::expires`] after it was last lowered (10
//!   minutes by default, RFC 1191 section 6.3 and Linux's `mtu_expires`); the path then
//!   goes back to the link MTU and discovery starts again. Connections already open
//!   that took the lower value are raised then by the stack (`stack::pmtu_raise`),
//!   each no sooner than `expires` after its own last decrease.
//! - The stack reports only errors that quote something it sent (a TCP segment in
//!   flight, a bound UDP socket's datagram; see `Stack::on_icmp_error`): the cache itself
//!   trusts what it is told.
//!
//! # Bounds and cost
//!
//! At most [`PathMtuConfig::capacity`] destinations (default 1024); a new one evicts
//! the entry that expires first, which is the one lowered longest ago. Entries live in
//! a `BTreeMap` by address plus one by expiry: O(log n) per call, deterministic.
//!
//! The `link_mtu` every call takes is the MTU of the route to the destination: the
//! link's, or the route's own [`super::Route::mtu`] when smaller.

use core::net::{IpAddr, Ipv4Addr};
use std::collections::BTreeMap;

use crate::time::{Duration, Instant};

/// The IPv6 minimum link MTU (RFC 8200 section 5).
pub const IPV6_MIN_MTU: u16 = 1280;

/// The smallest MTU RFC 1191 lets an IPv4 path estimate reach.
//= https://www.rfc-editor.org/rfc/rfc1191#section-3
//# A host MUST never reduce its estimate of the Path MTU below 68
//# octets.
pub const IPV4_MIN_MTU: u16 = 68;

/// RFC 1191 section 7, Table 7-1: the MTU plateaus, largest first.
pub const PLATEAUS: [u16; 11] = [
    65535, // official maximum MTU
    32000, // just in case
    17914, // 16 Mb IBM token ring
    8166,  // IEEE 802.4
    4352,  // FDDI
    2002,  // IEEE 802.5 (4 Mb)
    1492,  // IEEE 802.3, Ethernet
    1006,  // SLIP, ARPANET
    508,   // IEEE 802/source-route bridge, ARCNET
    296,   // point-to-point (low delay)
    68,    // official minimum MTU
];

/// The greatest plateau of [`PLATEAUS`] strictly below `len`, if any.
pub fn plateau_below(len: u16) -> Option<u16> {
    PLATEAUS.iter().copied().find(|&p| p < len)
}

/// Bounds and policy of the [`PathMtuCache`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PathMtuConfig {
    /// The most destinations remembered. Default 1024.
    pub capacity: usize,
    /// How long a lowered estimate lasts. Default 600 s (RFC 1191 section 6.3; Linux's
    /// `net.ipv4.route.mtu_expires`).
    pub expires: Duration,
    /// The floor for IPv4 estimates (at least [`IPV4_MIN_MTU`] whatever is set).
    /// Default 552, Linux's `net.ipv4.route.min_pmtu`.
    pub min_ipv4: u16,
}

impl Default for PathMtuConfig {
    fn default() -> PathMtuConfig {
        PathMtuConfig {
            capacity: 1024,
            //= https://www.rfc-editor.org/rfc/rfc1191#section-6.3
            //# When a PMTU
            //# value has not been decreased for a while (on the order of 10
            //# minutes), the PMTU estimate should be set to the first-hop data-link
            //# MTU, and the packetization layers should be notified of the change.
            expires: Duration::from_secs(600),
            min_ipv4: 552,
        }
    }
}

#[derive(Debug, Clone, Copy)]
struct Entry {
    mtu: u16,
    expires: Instant,
    seq: u64,
}

/// Path MTU estimates by destination. See the [module docs](self).
#[derive(Debug, Clone)]
pub struct PathMtuCache {
    config: PathMtuConfig,
    entries: BTreeMap<IpAddr, Entry>,
    by_expiry: BTreeMap<(Instant, u64), IpAddr>,
    next_seq: u64,
}

impl PathMtuCache {
    /// An empty cache.
    pub fn new(config: PathMtuConfig) -> PathMtuCache {
        PathMtuCache {
            config,
            entries: BTreeMap::new(),
            by_expiry: BTreeMap::new(),
            next_seq: 0,
        }
    }

    /// The configuration.
    pub fn config(&self) -> &PathMtuConfig {
        &self.config
    }

    /// The path MTU to use for `dst` now: the cached estimate while it lasts, never
    /// more than `link_mtu`.
    pub fn mtu(&self, now: Instant, dst: IpAddr, link_mtu: u16) -> u16 {
        match self.entries.get(&dst) {
            Some(e) if e.expires > now => e.mtu.min(link_mtu),
            _ => link_mtu,
        }
    }

    /// When the estimate held for `dst` expires, if one is held and has not expired
    /// at `now`: a connection that took it is raised then.
    pub fn expiry(&self, now: Instant, dst: IpAddr) -> Option<Instant> {
        self.entries
            .get(&dst)
            .map(|e| e.expires)
            .filter(|&at| at > now)
    }

    /// An ICMP "fragmentation needed" (IPv4, a nonzero next-hop MTU) or ICMPv6 "packet
    /// too big" reported `mtu` for the path to `dst`. Returns the new, lower estimate
    /// when it changed (the stack then tells the connections to `dst`), or `None` when
    /// the report is ignored.
    ///
    /// An IPv4 report with `mtu == 0` comes from a router older than RFC 1191: use
    /// [`PathMtuCache::report_ipv4_without_mtu`] instead; here it is ignored.
    pub fn report(&mut self, now: Instant, dst: IpAddr, mtu: u32, link_mtu: u16) -> Option<u16> {
        let new = self.reported(dst, mtu)?;
        self.lower(now, dst, new, link_mtu)
    }

    /// What a report of `mtu` for `dst` says the path's MTU is, floors applied, or
    /// `None` when it is to be ignored; the cache is not changed (see
    /// [`PathMtuCache::lower`]). The connection the report quotes takes this value
    /// even when the cache keeps nothing (`capacity` 0).
    pub fn reported(&self, dst: IpAddr, mtu: u32) -> Option<u16> {
        let reported = u16::try_from(mtu).unwrap_or(u16::MAX);
        match dst {
            IpAddr::V4(_) => {
                if reported == 0 {
                    return None;
                }
                Some(reported.max(self.min_ipv4()))
            }
            IpAddr::V6(_) => {
                //= https://www.rfc-editor.org/rfc/rfc8201#section-4
                //# If a node receives a Packet Too Big
                //# message reporting a next-hop MTU that is less than the IPv6 minimum
                //# link MTU, it must discard it.  A node must not reduce its estimate
                //# of the Path MTU below the IPv6 minimum link MTU on receipt of a
                //# Packet Too Big message.
                if reported < IPV6_MIN_MTU {
                    return None;
                }
                Some(reported)
            }
        }
    }

    /// An ICMP "fragmentation needed" for `dst` without a next-hop MTU (an old router):
    /// the estimate becomes the greatest plateau below the total length of the quoted
    /// packet (`quoted_total_len`, with its header length `quoted_header_len` in
    /// bytes), raised to the IPv4 floor. Returns the new estimate if it is lower.
    pub fn report_ipv4_without_mtu(
        &mut self,
        now: Instant,
        dst: Ipv4Addr,
        quoted_total_len: u16,
        quoted_header_len: usize,
        link_mtu: u16,
    ) -> Option<u16> {
        let new = self.reported_ipv4_without_mtu(
            now,
            dst,
            quoted_total_len,
            quoted_header_len,
            link_mtu,
        )?;
        self.lower(now, IpAddr::V4(dst), new, link_mtu)
    }

    /// What [`PathMtuCache::report_ipv4_without_mtu`] would take as the path's MTU,
    /// without changing the cache.
    pub fn reported_ipv4_without_mtu(
        &self,
        now: Instant,
        dst: Ipv4Addr,
        quoted_total_len: u16,
        quoted_header_len: usize,
        link_mtu: u16,
    ) -> Option<u16> {
        let current = self.mtu(now, IpAddr::V4(dst), link_mtu);
        let mut total = quoted_total_len;
        //= https://www.rfc-editor.org/rfc/rfc1191#section-5
        //# If the Total Length field returned is
        //# not less than the current PMTU estimate, it must be reduced by
        //# 4 times the value of the returned Header Length field.
        if total >= current {
            let header = u16::try_from(quoted_header_len).unwrap_or(u16::MAX);
            total = total.saturating_sub(header);
        }
        //= https://www.rfc-editor.org/rfc/rfc1191#section-5
        //# The strategy we recommend, then, is to use as the next PMTU estimate
        //# the greatest plateau value that is less than the returned Total
        //# Length field (corrected, if necessary, according to the Note above).
        let plateau = plateau_below(total)?;
        Some(plateau.max(self.min_ipv4()))
    }

    fn min_ipv4(&self) -> u16 {
        self.config.min_ipv4.max(IPV4_MIN_MTU)
    }

    /// Store `new` for `dst` if it is below the current estimate; returns it then.
    /// Nothing is stored with a `capacity` of 0.
    //= https://www.rfc-editor.org/rfc/rfc1191#section-3
    //# A host MUST not increase its estimate of the Path MTU in response to
    //# the contents of a Datagram Too Big message.
    //= https://www.rfc-editor.org/rfc/rfc8201#section-4
    //# A node must not increase its estimate of the Path MTU in response to
    //# the contents of a Packet Too Big message.
    pub fn lower(&mut self, now: Instant, dst: IpAddr, new: u16, link_mtu: u16) -> Option<u16> {
        if new >= self.mtu(now, dst, link_mtu) || self.config.capacity == 0 {
            return None;
        }
        if let Some(old) = self.entries.remove(&dst) {
            self.by_expiry.remove(&(old.expires, old.seq));
        }
        while self.entries.len() >= self.config.capacity {
            let Some((_, victim)) = self.by_expiry.pop_first() else {
                break;
            };
            self.entries.remove(&victim);
        }
        let entry = Entry {
            mtu: new,
            expires: now + self.config.expires,
            seq: self.next_seq,
        };
        self.next_seq += 1;
        self.entries.insert(dst, entry);
        self.by_expiry.insert((entry.expires, entry.seq), dst);
        Some(new)
    }

    /// Forget the estimates that have expired; returns how many. The paths go back to
    /// their link MTU (RFC 1191 section 6.3) for whoever asks [`PathMtuCache::mtu`] next:
    /// new connections, and the open ones the stack raises at the same deadline.
    pub fn handle_timeout(&mut self, now: Instant) -> usize {
        let mut n = 0;
        while let Some((&(expires, _), &dst)) = self.by_expiry.first_key_value() {
            if expires > now {
                break;
            }
            self.by_expiry.pop_first();
            self.entries.remove(&dst);
            n += 1;
        }
        n
    }

    /// Whether [`poll_timeout`](Self::poll_timeout) has a deadline to give
    /// (an estimate held).
    pub(crate) fn has_deadline(&self) -> bool {
        !self.by_expiry.is_empty()
    }

    /// When the next estimate expires, if any.
    pub fn poll_timeout(&self) -> Option<Instant> {
        self.by_expiry.first_key_value().map(|(&(t, _), _)| t)
    }

    /// The number of destinations with an estimate (expired ones not yet removed by
    /// [`PathMtuCache::handle_timeout`] included).
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether no estimate is held.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
}

impl Default for PathMtuCache {
    fn default() -> PathMtuCache {
        PathMtuCache::new(PathMtuConfig::default())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn t(secs: u64) -> Instant {
        Instant::from_nanos(secs * 1_000_000_000)
    }

    fn v4(last: u8) -> IpAddr {
        IpAddr::V4(Ipv4Addr::new(198, 51, 100, last))
    }

    fn v6() -> IpAddr {
        "2001:db8::2".parse().unwrap()
    }

    #[test]
    fn report_lowers_and_only_lowers() {
        let mut c = PathMtuCache::default();
        assert_eq!(c.mtu(t(0), v4(1), 1500), 1500);
        assert_eq!(c.report(t(0), v4(1), 1400, 1500), Some(1400));
        assert_eq!(c.mtu(t(1), v4(1), 1500), 1400);
        assert_eq!(c.report(t(2), v4(1), 1400, 1500), None);
        assert_eq!(c.report(t(2), v4(1), 1450, 1500), None);
        assert_eq!(c.report(t(2), v4(1), 9000, 1500), None);
        assert_eq!(c.mtu(t(3), v4(1), 1500), 1400);
        assert_eq!(c.report(t(4), v4(1), 1300, 1500), Some(1300));
        // A report at or above the link MTU is ignored and stores nothing.
        assert_eq!(c.report(t(4), v4(2), 1500, 1500), None);
        assert_eq!(c.len(), 1);
        // Other destinations are unaffected.
        assert_eq!(c.mtu(t(5), v4(3), 1500), 1500);
    }

    #[test]
    fn ipv4_reports_are_clamped_to_552() {
        let mut c = PathMtuCache::default();
        assert_eq!(c.report(t(0), v4(1), 100, 1500), Some(552));
        assert_eq!(c.report(t(0), v4(1), 68, 1500), None);
        let mut rfc = PathMtuCache::new(PathMtuConfig {
            min_ipv4: 0,
            ..PathMtuConfig::default()
        });
        assert_eq!(rfc.report(t(0), v4(1), 20, 1500), Some(IPV4_MIN_MTU));
    }

    #[test]
    fn ipv6_packet_too_big_below_1280_is_ignored() {
        let mut c = PathMtuCache::default();
        assert_eq!(c.report(t(0), v6(), 1279, 1500), None);
        assert_eq!(c.report(t(0), v6(), 576, 1500), None);
        assert!(c.is_empty());
        assert_eq!(c.report(t(0), v6(), 1280, 1500), Some(1280));
        assert_eq!(c.mtu(t(0), v6(), 1500), 1280);
        // A 32-bit MTU beyond 65535 is just large.
        assert_eq!(c.report(t(0), v6(), u32::MAX, 1500), None);
    }

    #[test]
    fn estimate_expires_after_ten_minutes() {
        let mut c = PathMtuCache::default();
        c.report(t(100), v4(1), 1400, 1500);
        assert_eq!(c.poll_timeout(), Some(t(700)));
        assert_eq!(c.mtu(t(699), v4(1), 1500), 1400);
        assert_eq!(c.mtu(t(700), v4(1), 1500), 1500);
        assert_eq!(c.handle_timeout(t(699)), 0);
        assert_eq!(c.handle_timeout(t(700)), 1);
        assert!(c.is_empty());
        assert_eq!(c.poll_timeout(), None);
    }

    #[test]
    fn lowering_again_restarts_the_timer() {
        let mut c = PathMtuCache::default();
        c.report(t(0), v4(1), 1400, 1500);
        c.report(t(300), v4(1), 1300, 1500);
        assert_eq!(c.poll_timeout(), Some(t(900)));
        assert_eq!(c.len(), 1);
    }

    #[test]
    fn link_mtu_still_caps_the_estimate() {
        let mut c = PathMtuCache::default();
        c.report(t(0), v4(1), 1400, 9000);
        assert_eq!(c.mtu(t(0), v4(1), 1280), 1280);
    }

    #[test]
    fn old_router_report_uses_the_plateau_below_the_total_length() {
        let mut c = PathMtuCache::default();
        let dst = Ipv4Addr::new(198, 51, 100, 1);
        // The packet was 1400 bytes: the plateau below is 1006.
        assert_eq!(
            c.report_ipv4_without_mtu(t(0), dst, 1400, 20, 1500),
            Some(1006)
        );
        // The next one is 1006 bytes: at the estimate, so the 4.2BSD correction
        // applies (986), and the plateau below is 508, raised to 552.
        assert_eq!(
            c.report_ipv4_without_mtu(t(1), dst, 1006, 20, 1500),
            Some(552)
        );
        assert_eq!(c.report_ipv4_without_mtu(t(2), dst, 552, 20, 1500), None);
        // The plain report ignores a zero MTU.
        assert_eq!(c.report(t(3), v4(9), 0, 1500), None);
    }

    #[test]
    fn plateau_below_is_strict() {
        assert_eq!(plateau_below(1500), Some(1492));
        assert_eq!(plateau_below(1492), Some(1006));
        assert_eq!(plateau_below(65535), Some(32000));
        assert_eq!(plateau_below(69), Some(68));
        assert_eq!(plateau_below(68), None);
        assert_eq!(plateau_below(0), None);
    }

    #[test]
    fn without_capacity_nothing_is_kept_but_the_report_is_still_read() {
        let mut c = PathMtuCache::new(PathMtuConfig {
            capacity: 0,
            ..PathMtuConfig::default()
        });
        assert_eq!(c.report(t(0), v4(1), 1400, 1500), None);
        assert!(c.is_empty());
        assert_eq!(c.expiry(t(0), v4(1)), None);
        // What the stack gives the connection the error quotes.
        assert_eq!(c.reported(v4(1), 1400), Some(1400));
        assert_eq!(c.reported(v4(1), 100), Some(552));
        assert_eq!(c.reported(v6(), 1000), None);
        let dst = Ipv4Addr::new(198, 51, 100, 1);
        assert_eq!(
            c.reported_ipv4_without_mtu(t(0), dst, 1400, 20, 1500),
            Some(1006)
        );
    }

    #[test]
    fn expiry_is_the_deadline_of_a_held_estimate() {
        let mut c = PathMtuCache::default();
        assert_eq!(c.expiry(t(0), v4(1)), None);
        c.report(t(10), v4(1), 1400, 1500);
        assert_eq!(c.expiry(t(10), v4(1)), Some(t(610)));
        assert_eq!(c.expiry(t(610), v4(1)), None, "expired, not yet removed");
    }

    #[test]
    fn capacity_evicts_the_oldest() {
        let mut c = PathMtuCache::new(PathMtuConfig {
            capacity: 2,
            ..PathMtuConfig::default()
        });
        c.report(t(0), v4(1), 1400, 1500);
        c.report(t(1), v4(2), 1400, 1500);
        c.report(t(2), v4(3), 1400, 1500);
        assert_eq!(c.len(), 2);
        assert_eq!(c.mtu(t(3), v4(1), 1500), 1500);
        assert_eq!(c.mtu(t(3), v4(2), 1500), 1400);
        assert_eq!(c.mtu(t(3), v4(3), 1500), 1400);
    }

    proptest! {
        #[test]
        fn estimates_never_rise_and_respect_the_floors(
            reports in proptest::collection::vec((any::<bool>(), 0u8..4, any::<u32>(), 0u64..100), 1..100)
        ) {
            let mut c = PathMtuCache::new(PathMtuConfig { capacity: 3, ..PathMtuConfig::default() });
            let mut now = 0;
            for (is_v6, host, mtu, dt) in reports {
                now += dt;
                let dst = if is_v6 {
                    IpAddr::V6(core::net::Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, host.into()))
                } else {
                    v4(host)
                };
                let before = c.mtu(t(now), dst, 1500);
                let result = c.report(t(now), dst, mtu, 1500);
                let after = c.mtu(t(now), dst, 1500);
                prop_assert!(after <= before);
                prop_assert_eq!(result.is_some(), after < before);
                if let Some(new) = result {
                    prop_assert_eq!(new, after);
                    let floor = if is_v6 { IPV6_MIN_MTU } else { 552 };
                    prop_assert!(new >= floor);
                }
                prop_assert!(c.len() <= 3);
                c.handle_timeout(t(now));
            }
        }
    }
}
