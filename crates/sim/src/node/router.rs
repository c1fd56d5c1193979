//! A simulated router: forwards IPv4 and IPv6 by longest-prefix match, decrements the
//! TTL / hop limit, and answers what it cannot forward with ICMP errors: time
//! exceeded, destination unreachable (no route), fragmentation needed (IPv4 with DF,
//! carrying the next-hop MTU) and packet too big (IPv6). IPv4 packets without DF
//! that are larger than the next link's MTU are fragmented. ICMP errors are
//! rate-limited per router with a token bucket like Linux's (`icmp_msgs_per_sec`
//! 1000, `icmp_msgs_burst` 50).
//!
//! Forwarding takes no time: a packet that arrives is offered to the next link at
//! the same instant. Packets addressed to the router itself are counted and
//! discarded (routers do not answer pings).

use crate::network::Fabric;
use crate::packet::{Header, Packet};
use layer4::ip::cidr::IpCidr;
use layer4::ip::fragment::Fragmenter;
use layer4::ip::ratelimit::TokenBucket;
use layer4::time::Instant;
use layer4::wire::icmpv4::Icmpv4TimeExceeded;
use layer4::wire::icmpv6::Icmpv6TimeExceeded;
use layer4::wire::{
    AddrPair, ChecksumMode, Ecn, Icmpv4DstUnreachable, Icmpv4Message, Icmpv4Packet, Icmpv4Repr,
    Icmpv6DstUnreachable, Icmpv6Packet, Icmpv6Repr, IpProtocol, Ipv4Options, Ipv4Packet, Ipv4Repr,
    Ipv6Packet, Ipv6Repr,
};
use std::net::IpAddr;

/// The most an ICMPv4 error carries of the offending packet, so that the error
/// stays within 576 bytes.
//= https://www.rfc-editor.org/rfc/rfc1812#section-4.3.2.3
const ICMPV4_QUOTE: usize = 576 - 20 - 8;

/// The most an ICMPv6 error carries of the offending packet.
//= https://www.rfc-editor.org/rfc/rfc4443#section-2.4
//# (c) Every ICMPv6 error message (type < 128) MUST include as much of
//#     the IPv6 offending (invoking) packet (the packet that caused the
//#     error) as possible without making the error message packet exceed
//#     the minimum IPv6 MTU [IPv6].
const ICMPV6_QUOTE: usize = 1280 - 40 - 8;

/// TTL / hop limit of the errors a router originates.
const ICMP_TTL: u8 = 64;

/// What a router counted.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RouterStats {
    /// Packets forwarded (a fragmented packet counts once).
    pub forwarded: u64,
    /// Packets addressed to the router itself (discarded).
    pub local: u64,
    /// Packets that did not parse, or IPv4 headers with a bad checksum.
    pub malformed: u64,
    /// Packets with no route.
    pub no_route: u64,
    /// Packets dropped because their TTL / hop limit expired.
    pub ttl_expired: u64,
    /// Packets too big for the next link that could not be fragmented (IPv4 with
    /// DF, IPv6).
    pub too_big: u64,
    /// IPv4 packets fragmented.
    pub fragmented: u64,
    /// Fragments created.
    pub fragments_created: u64,
    /// IPv4 packets that needed fragmenting but could not be.
    pub fragment_failures: u64,
    /// ICMP and ICMPv6 errors sent, by type: index 0 time exceeded, 1 destination
    /// unreachable (no route), 2 fragmentation needed / packet too big.
    pub icmp_sent: [u64; 3],
    /// ICMP errors withheld by the rate limit.
    pub icmp_rate_limited: u64,
    /// ICMP errors not sent because the router has no address of the family, or no
    /// route back to the packet's source.
    pub icmp_unsendable: u64,
}

impl RouterStats {
    /// All ICMP errors sent.
    pub fn icmp_total(&self) -> u64 {
        self.icmp_sent.iter().sum()
    }
}

/// Prefixes to interfaces, longest prefix first. Lookups scan in order; a router
/// has a route per host address, a handful in any scenario, so a scan beats a trie.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ForwardingTable {
    /// (network prefix, interface index, added by hand), longest prefix first, then
    /// in insertion order.
    routes: Vec<(IpCidr, usize, bool)>,
}

impl ForwardingTable {
    /// An empty table.
    pub fn new() -> ForwardingTable {
        ForwardingTable::default()
    }

    /// Routes `dest` through interface `iface`, replacing a route to the same network.
    pub fn add(&mut self, dest: IpCidr, iface: usize) {
        self.insert(dest, iface, true);
    }

    fn insert(&mut self, dest: IpCidr, iface: usize, manual: bool) {
        let dest = dest.network();
        if let Some(r) = self.routes.iter_mut().find(|r| r.0 == dest) {
            *r = (dest, iface, manual);
            return;
        }
        let at = self
            .routes
            .iter()
            .position(|r| r.0.prefix_len() < dest.prefix_len())
            .unwrap_or(self.routes.len());
        self.routes.insert(at, (dest, iface, manual));
    }

    /// Drops the routes [`ForwardingTable::add`] did not add.
    fn clear_computed(&mut self) {
        self.routes.retain(|r| r.2);
    }

    /// The interface of the longest prefix containing `dst`.
    pub fn lookup(&self, dst: IpAddr) -> Option<usize> {
        self.routes.iter().find(|r| r.0.contains(dst)).map(|r| r.1)
    }

    /// The routes, longest prefix first: (prefix, interface index).
    pub fn iter(&self) -> impl Iterator<Item = (IpCidr, usize)> + '_ {
        self.routes.iter().map(|r| (r.0, r.1))
    }

    /// The number of routes.
    pub fn len(&self) -> usize {
        self.routes.len()
    }

    /// Whether the table is empty.
    pub fn is_empty(&self) -> bool {
        self.routes.is_empty()
    }
}

/// One interface: the link direction leaving the router and its MTU.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Iface {
    pub(crate) link: usize,
    pub(crate) mtu: usize,
}

/// Which ICMP error to send.
#[derive(Debug, Clone, Copy)]
enum IcmpError {
    TimeExceeded,
    NoRoute,
    /// Fragmentation needed / packet too big, with the next-hop MTU.
    TooBig(usize),
}

impl IcmpError {
    fn index(self) -> usize {
        match self {
            IcmpError::TimeExceeded => 0,
            IcmpError::NoRoute => 1,
            IcmpError::TooBig(_) => 2,
        }
    }
}

/// The fast path's decision per destination, remembered: the interface for an
/// address that is not the router's own and has a route, else `None` (the full path
/// decides). Direct-mapped by a hash of the address; emptied whenever the table
/// changes. (Scanning the table for every packet was ~90 instructions a packet.)
#[derive(Debug, Default)]
struct ForwardCache {
    entries: [Option<(IpAddr, Option<usize>)>; 8],
}

impl ForwardCache {
    #[inline]
    fn index(dst: IpAddr) -> usize {
        let x = match dst {
            IpAddr::V4(a) => u64::from(u32::from(a)),
            IpAddr::V6(a) => {
                let v = u128::from(a);
                (v as u64) ^ ((v >> 64) as u64)
            }
        };
        (x.wrapping_mul(0x9E37_79B9_7F4A_7C15) >> 61) as usize
    }
}

/// A router. See the [module docs](self).
#[derive(Debug)]
pub(crate) struct Router {
    pub(crate) addresses: Vec<IpCidr>,
    pub(crate) ifaces: Vec<Iface>,
    /// Change it only through the router's methods, which empty the cache.
    pub(crate) table: ForwardingTable,
    cache: ForwardCache,
    icmp_limit: TokenBucket,
    pub(crate) stats: RouterStats,
    ident: u16,
}

impl Router {
    pub(crate) fn new(addresses: Vec<IpCidr>) -> Router {
        Router {
            addresses,
            ifaces: Vec::new(),
            table: ForwardingTable::new(),
            cache: ForwardCache::default(),
            icmp_limit: TokenBucket::icmp(),
            stats: RouterStats::default(),
            ident: 0,
        }
    }

    /// Routes `dest` through interface `iface` (a route added by hand).
    pub(crate) fn add_route(&mut self, dest: IpCidr, iface: usize) {
        self.cache = ForwardCache::default();
        self.table.add(dest, iface);
    }

    /// Adds a computed route (replaced by the next route computation).
    pub(crate) fn add_computed_route(&mut self, dest: IpCidr, iface: usize) {
        self.cache = ForwardCache::default();
        if !self
            .table
            .routes
            .iter()
            .any(|r| r.2 && r.0 == dest.network())
        {
            self.table.insert(dest, iface, false);
        }
    }

    pub(crate) fn clear_computed_routes(&mut self) {
        self.cache = ForwardCache::default();
        self.table.clear_computed();
    }

    fn is_local(&self, addr: IpAddr) -> bool {
        self.addresses.iter().any(|a| a.addr() == addr)
    }

    /// The interface to forward a packet for `dst` on, if it is not for the router
    /// and has a route.
    #[inline]
    fn fast_route(&mut self, dst: IpAddr) -> Option<usize> {
        let i = ForwardCache::index(dst);
        if let Some(Some((cached, iface))) = self.cache.entries.get(i) {
            if *cached == dst {
                return *iface;
            }
        }
        let iface = if self.is_local(dst) {
            None
        } else {
            self.table.lookup(dst)
        };
        if let Some(entry) = self.cache.entries.get_mut(i) {
            *entry = Some((dst, iface));
        }
        iface
    }

    /// A packet arrived on one of the router's links.
    pub(crate) fn handle_packet(&mut self, now: Instant, mut packet: Packet, fabric: &mut Fabric) {
        // The common case on the packet's header summary alone, without touching its
        // bytes (see `crate::packet`): a valid header, not for us, a route, TTL to
        // spare, small enough for the next link. Anything else takes the full path,
        // which checks again in the order of RFC 1812.
        let dst = match packet.header() {
            Header::V4 { dst, ttl, .. } if ttl > 1 => Some(IpAddr::V4(dst)),
            Header::V6 { dst, hop_limit, .. } if hop_limit > 1 => Some(IpAddr::V6(dst)),
            _ => None,
        };
        if let Some(dst) = dst {
            if let Some(iface) = self.fast_route(dst) {
                let Iface { link, mtu } = self.ifaces[iface];
                if packet.len() <= mtu && packet.decrement_ttl_lazily() {
                    self.stats.forwarded += 1;
                    fabric.offer(now, link, packet);
                    return;
                }
            }
        }
        packet.write_pending();
        match packet.ip_version() {
            Some(4) => self.forward_v4(now, packet, fabric),
            Some(6) => self.forward_v6(now, packet, fabric),
            _ => {
                self.stats.malformed += 1;
                fabric.recycle(packet.data);
            }
        }
    }

    fn forward_v4(&mut self, now: Instant, mut packet: Packet, fabric: &mut Fabric) {
        let header = Ipv4Packet::new_checked(&packet.data[..])
            .ok()
            .and_then(|p| {
                //= https://www.rfc-editor.org/rfc/rfc1812#section-5.2.2
                // A router validates the header (length, version, checksum) before
                // forwarding; an invalid one is discarded.
                p.verify_checksum().then(|| {
                    (
                        p.src_addr(),
                        p.dst_addr(),
                        p.ttl(),
                        p.dont_frag(),
                        usize::from(p.total_len()),
                    )
                })
            });
        let Some((_src, dst, ttl, dont_frag, total_len)) = header else {
            self.stats.malformed += 1;
            fabric.recycle(packet.data);
            return;
        };
        packet.data.truncate(total_len);
        if self.is_local(IpAddr::V4(dst)) {
            self.stats.local += 1;
            fabric.recycle(packet.data);
            return;
        }
        let Some(iface) = self.table.lookup(IpAddr::V4(dst)) else {
            self.stats.no_route += 1;
            self.icmp_error(now, &packet.data, IcmpError::NoRoute, fabric);
            fabric.recycle(packet.data);
            return;
        };
        //= https://www.rfc-editor.org/rfc/rfc1812#section-4.2.2.9
        //# A router MUST NOT originate or forward a datagram with a Time-to-Live (TTL) value of zero.
        if ttl <= 1 {
            self.stats.ttl_expired += 1;
            //= https://www.rfc-editor.org/rfc/rfc1812#section-5.2.7.3
            //# A router MUST generate a Time Exceeded message Code 0 (In Transit)
            //# when it discards a packet due to an expired TTL field.
            self.icmp_error(now, &packet.data, IcmpError::TimeExceeded, fabric);
            fabric.recycle(packet.data);
            return;
        }
        let Iface { link, mtu } = self.ifaces[iface];
        if packet.len() > mtu {
            if dont_frag {
                self.stats.too_big += 1;
                //= https://www.rfc-editor.org/rfc/rfc1191#section-4
                //# To support the Path MTU Discovery technique specified in this memo,
                //# the router MUST include the MTU of that next-hop network in the
                //# low-order 16 bits of the ICMP header field that is labelled
                //# "unused" in the ICMP specification [7].
                self.icmp_error(now, &packet.data, IcmpError::TooBig(mtu), fabric);
                fabric.recycle(packet.data);
                return;
            }
            set_ttl_v4(&mut packet.data, ttl - 1);
            self.fragment_v4(now, packet, link, mtu, fabric);
            return;
        }
        set_ttl_v4(&mut packet.data, ttl - 1);
        // The header is in the cache now: summarize it for the next routers.
        packet.learn_header();
        self.stats.forwarded += 1;
        fabric.offer(now, link, packet);
    }

    /// Cuts an IPv4 packet without DF into fragments for `mtu` and sends them.
    fn fragment_v4(
        &mut self,
        now: Instant,
        packet: Packet,
        link: usize,
        mtu: usize,
        fabric: &mut Fabric,
    ) {
        let mtu16 = u16::try_from(mtu).unwrap_or(u16::MAX);
        let fragmenter = match Fragmenter::ipv4(&packet.data, mtu16) {
            Ok(f) => f,
            Err(_) => {
                self.stats.fragment_failures += 1;
                fabric.recycle(packet.data);
                return;
            }
        };
        self.stats.forwarded += 1;
        self.stats.fragmented += 1;
        for i in 0..fragmenter.count() {
            let Some(len) = fragmenter.fragment_len(i) else {
                break;
            };
            let mut data = fabric.buffer(len);
            match fragmenter.write(i, &mut data) {
                Ok(n) => {
                    data.truncate(n);
                    self.stats.fragments_created += 1;
                    let p = fabric.packet_from_vec(data);
                    fabric.offer(now, link, p);
                }
                Err(_) => {
                    self.stats.fragment_failures += 1;
                    fabric.recycle(data);
                }
            }
        }
        fabric.recycle(packet.data);
    }

    fn forward_v6(&mut self, now: Instant, mut packet: Packet, fabric: &mut Fabric) {
        let header = Ipv6Packet::new_checked(&packet.data[..]).ok().map(|p| {
            (
                p.dst_addr(),
                p.hop_limit(),
                40 + usize::from(p.payload_len()),
            )
        });
        let Some((dst, hop_limit, total_len)) = header else {
            self.stats.malformed += 1;
            fabric.recycle(packet.data);
            return;
        };
        packet.data.truncate(total_len);
        if self.is_local(IpAddr::V6(dst)) {
            self.stats.local += 1;
            fabric.recycle(packet.data);
            return;
        }
        let Some(iface) = self.table.lookup(IpAddr::V6(dst)) else {
            self.stats.no_route += 1;
            self.icmp_error(now, &packet.data, IcmpError::NoRoute, fabric);
            fabric.recycle(packet.data);
            return;
        };
        if hop_limit <= 1 {
            self.stats.ttl_expired += 1;
            //= https://www.rfc-editor.org/rfc/rfc4443#section-3.3
            // A router that receives a packet with hop limit zero, or decrements it
            // to zero, discards it and sends Time Exceeded code 0 to the source.
            self.icmp_error(now, &packet.data, IcmpError::TimeExceeded, fabric);
            fabric.recycle(packet.data);
            return;
        }
        let Iface { link, mtu } = self.ifaces[iface];
        if packet.len() > mtu {
            self.stats.too_big += 1;
            //= https://www.rfc-editor.org/rfc/rfc4443#section-3.2
            //# A Packet Too Big MUST be sent by a router in response to a packet
            //# that it cannot forward because the packet is larger than the MTU of
            //# the outgoing link.
            self.icmp_error(now, &packet.data, IcmpError::TooBig(mtu), fabric);
            fabric.recycle(packet.data);
            return;
        }
        Ipv6Packet::new_unchecked(&mut packet.data[..]).set_hop_limit(hop_limit - 1);
        packet.learn_header();
        self.stats.forwarded += 1;
        fabric.offer(now, link, packet);
    }

    /// Sends `error` about `offending` back to its source, unless the rules forbid
    /// an error about it or the rate limit withholds it.
    fn icmp_error(
        &mut self,
        now: Instant,
        offending: &[u8],
        error: IcmpError,
        fabric: &mut Fabric,
    ) {
        let built = match offending.first().map(|b| b >> 4) {
            Some(4) => self.build_icmpv4(offending, error, fabric, now),
            Some(6) => self.build_icmpv6(offending, error, fabric, now),
            _ => None,
        };
        let Some((dst, data)) = built else { return };
        let Some(iface) = self.table.lookup(dst) else {
            self.stats.icmp_unsendable += 1;
            fabric.recycle(data);
            return;
        };
        self.stats.icmp_sent[error.index()] += 1;
        let link = self.ifaces[iface].link;
        let packet = fabric.packet_from_vec(data);
        fabric.offer(now, link, packet);
    }

    /// Whether the rate limit lets one more error out (counting a refusal).
    fn allow_icmp(&mut self, now: Instant) -> bool {
        //= https://www.rfc-editor.org/rfc/rfc4443#section-2.4
        //# (f) Finally, in order to limit the bandwidth and forwarding costs
        //#     incurred by originating ICMPv6 error messages, an IPv6 node MUST
        //#     limit the rate of ICMPv6 error messages it originates.
        if self.icmp_limit.allow(now) {
            true
        } else {
            self.stats.icmp_rate_limited += 1;
            false
        }
    }

    fn build_icmpv4(
        &mut self,
        offending: &[u8],
        error: IcmpError,
        fabric: &mut Fabric,
        now: Instant,
    ) -> Option<(IpAddr, Vec<u8>)> {
        let p = Ipv4Packet::new_checked(offending).ok()?;
        let src = p.src_addr();
        //= https://www.rfc-editor.org/rfc/rfc1812#section-4.3.2.7
        // No ICMP error about an ICMP error, a non-initial fragment, or a packet
        // whose source is not one unicast host.
        if src.is_unspecified() || src.is_multicast() || src.is_broadcast() || src.is_loopback() {
            return None;
        }
        //= https://www.rfc-editor.org/rfc/rfc792#page-1
        //# Also ICMP
        //# messages are only sent about errors in handling fragment zero of
        //# fragemented datagrams.
        if p.frag_offset() != 0 {
            return None;
        }
        if p.protocol() == IpProtocol::Icmp {
            let t = p.payload().first().copied()?;
            if Icmpv4Message::from(t).is_error() {
                return None;
            }
        }
        if !self.allow_icmp(now) {
            return None;
        }
        let Some(our) = self.addresses.iter().find_map(|a| match a.addr() {
            IpAddr::V4(v4) => Some(v4),
            IpAddr::V6(_) => None,
        }) else {
            self.stats.icmp_unsendable += 1;
            return None;
        };
        let quote = &offending[..offending.len().min(ICMPV4_QUOTE)];
        let repr = match error {
            IcmpError::TimeExceeded => Icmpv4Repr::TimeExceeded {
                reason: Icmpv4TimeExceeded::TtlExpired,
                invoking: quote,
            },
            IcmpError::NoRoute => Icmpv4Repr::DstUnreachable {
                reason: Icmpv4DstUnreachable::NetUnreachable,
                next_hop_mtu: 0,
                invoking: quote,
            },
            IcmpError::TooBig(mtu) => Icmpv4Repr::DstUnreachable {
                reason: Icmpv4DstUnreachable::FragRequired,
                next_hop_mtu: u16::try_from(mtu).unwrap_or(u16::MAX),
                invoking: quote,
            },
        };
        self.ident = self.ident.wrapping_add(1);
        let ip = Ipv4Repr {
            src_addr: our,
            dst_addr: src,
            protocol: IpProtocol::Icmp,
            payload_len: repr.buffer_len(),
            ttl: ICMP_TTL,
            dscp: 0,
            ecn: Ecn::NotEct,
            ident: self.ident,
            dont_frag: false,
            more_frags: false,
            frag_offset: 0,
            options: Ipv4Options::default(),
        };
        let hl = ip.buffer_len();
        let mut data = fabric.buffer(ip.total_len());
        ip.emit(
            &mut Ipv4Packet::new_unchecked(&mut data[..hl]),
            ChecksumMode::Enabled,
        );
        repr.emit(
            &mut Icmpv4Packet::new_unchecked(&mut data[hl..]),
            ChecksumMode::Enabled,
        );
        Some((IpAddr::V4(src), data))
    }

    fn build_icmpv6(
        &mut self,
        offending: &[u8],
        error: IcmpError,
        fabric: &mut Fabric,
        now: Instant,
    ) -> Option<(IpAddr, Vec<u8>)> {
        let p = Ipv6Packet::new_checked(offending).ok()?;
        let src = p.src_addr();
        let dst = p.dst_addr();
        //= https://www.rfc-editor.org/rfc/rfc4443#section-2.4
        // (e) No error about an ICMPv6 error, about a packet whose source does not
        // identify one node, or (Packet Too Big excepted) about a packet to a
        // multicast address.
        if src.is_unspecified() || src.is_multicast() || src.is_loopback() {
            return None;
        }
        if dst.is_multicast() && !matches!(error, IcmpError::TooBig(_)) {
            return None;
        }
        if let Ok(upper) = p.walk_chain() {
            if upper.protocol() == Some(IpProtocol::Icmpv6) && upper.fragment.is_none() {
                let t = p.payload().get(upper.offset).copied()?;
                if t < 128 {
                    return None;
                }
            }
        }
        if !self.allow_icmp(now) {
            return None;
        }
        let Some(our) = self.addresses.iter().find_map(|a| match a.addr() {
            IpAddr::V6(v6) => Some(v6),
            IpAddr::V4(_) => None,
        }) else {
            self.stats.icmp_unsendable += 1;
            return None;
        };
        let quote = &offending[..offending.len().min(ICMPV6_QUOTE)];
        let repr = match error {
            IcmpError::TimeExceeded => Icmpv6Repr::TimeExceeded {
                reason: Icmpv6TimeExceeded::HopLimitExceeded,
                invoking: quote,
            },
            IcmpError::NoRoute => Icmpv6Repr::DstUnreachable {
                reason: Icmpv6DstUnreachable::NoRoute,
                invoking: quote,
            },
            IcmpError::TooBig(mtu) => Icmpv6Repr::PacketTooBig {
                mtu: u32::try_from(mtu).unwrap_or(u32::MAX),
                invoking: quote,
            },
        };
        let ip = Ipv6Repr {
            src_addr: our,
            dst_addr: src,
            next_header: IpProtocol::Icmpv6,
            payload_len: repr.buffer_len(),
            hop_limit: ICMP_TTL,
            dscp: 0,
            ecn: Ecn::NotEct,
            flow_label: 0,
        };
        let mut data = fabric.buffer(ip.total_len());
        ip.emit(&mut Ipv6Packet::new_unchecked(&mut data[..40]));
        let addrs = AddrPair::new(IpAddr::V6(our), IpAddr::V6(src))?;
        repr.emit(
            &mut Icmpv6Packet::new_unchecked(&mut data[40..]),
            &addrs,
            ChecksumMode::Enabled,
        );
        Some((IpAddr::V6(src), data))
    }
}

/// Writes a new TTL and the header checksum.
/// Writes the TTL; the header checksum is updated incrementally (RFC 1624).
fn set_ttl_v4(data: &mut [u8], ttl: u8) {
    crate::packet::set_ipv4_header_byte(data, 8, ttl);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ttl_update_keeps_the_header_checksum_valid() {
        // A 20-byte IPv4 header: UDP, 10.0.0.1 -> 10.0.0.2, TTL 64, DF.
        let mut data = vec![
            0x45, 0, 0, 20, 0, 0, 0x40, 0, 64, 17, 0, 0, 10, 0, 0, 1, 10, 0, 0, 2,
        ];
        Ipv4Packet::new_unchecked(&mut data[..]).fill_checksum();
        for ttl in (0..64).rev() {
            set_ttl_v4(&mut data, ttl);
            let p = Ipv4Packet::new_checked(&data[..]).unwrap();
            assert_eq!(p.ttl(), ttl);
            assert!(p.verify_checksum(), "ttl {ttl}");
        }
    }

    #[test]
    fn forwarding_table_prefers_the_longest_prefix() {
        let mut t = ForwardingTable::new();
        t.add("10.0.0.0/8".parse().unwrap(), 1);
        t.add("10.1.2.0/24".parse().unwrap(), 2);
        t.add("0.0.0.0/0".parse().unwrap(), 3);
        assert_eq!(t.lookup("10.1.2.3".parse().unwrap()), Some(2));
        assert_eq!(t.lookup("10.9.9.9".parse().unwrap()), Some(1));
        assert_eq!(t.lookup("192.0.2.1".parse().unwrap()), Some(3));
        assert_eq!(t.lookup("fd00::1".parse().unwrap()), None);
        t.add("10.1.2.77/24".parse().unwrap(), 4);
        assert_eq!(t.len(), 3, "same network replaces");
        assert_eq!(t.lookup("10.1.2.3".parse().unwrap()), Some(4));
    }
}
