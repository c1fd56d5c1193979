//! The path between the two stacks of [`super`]'s model, narrower than their
//! links: ICMP "fragmentation needed" / "packet too big" for a packet in flight
//! ([`Op::TooBig`], [`Op::TooBigPassed`]), black holes that drop packets above
//! a size ([`Op::BlackHole`], with or without those errors), and the path
//! configurations a program's head byte picks ([`path_variant`]: small MSS
//! options, estimates that expire within seconds, RFC 1191's 68-byte floor, no
//! cache, links of different MTUs, packetization-layer PMTUD off).
//!
//! **What the settle owes under a black hole.** A hole ends at an op-chosen
//! time (at most about 14 s after it opened) or lasts through the settle. A
//! lasting hole at or above the smallest packet the sender can shrink to (its
//! floor: 576 bytes over IPv4 and 1280 over IPv6 by black-hole detection, RFC
//! 4821; with the hole's "too big" errors, the path MTU cache's floor, 552 or
//! 68 bytes over IPv4) is passable: the stack must find it, so the settle may
//! not end in a timeout that was not there when it began. A lasting hole below
//! the floor (or any, with PMTUD off and no errors) is not: full-sized
//! segments never pass, and the property is the plain one — the bytes arrive
//! or one side has an error — for which the settle waits up to a day (R2's
//! timeout, about 15 minutes of retransmissions, must come).

use std::net::IpAddr;

use layer4::time::{Duration, Instant};
use layer4::wire::{
    AddrPair, ChecksumMode, Icmpv4DstUnreachable, Icmpv4Packet, Icmpv4Repr, Icmpv6DstUnreachable,
    Icmpv6Packet, Icmpv6Repr, IpProtocol, Ipv4Packet, Ipv6Packet,
};
use layer4::Config;

use super::{Op, Run};
use crate::live::Family;

/// The MTU a "too big" error reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mtu {
    /// This value (0 over IPv4: a router older than RFC 1191, which gives none).
    Exactly(u32),
    /// The length of the packet it quotes, less this many bytes (0: equal).
    BelowPacket(u16),
}

/// The values [`Mtu::Exactly`] takes: none, below and at the IPv4 floors (68,
/// the cache's 552, the 576 every host accepts), RFC 1191's plateaus, black-hole
/// detection's 1024, around the IPv6 minimum and the link's 1500, above it, and
/// past what IPv4's field holds.
const MTUS: [u32; 24] = [
    0, 1, 67, 68, 296, 508, 551, 552, 575, 576, 577, 1000, 1023, 1024, 1279, 1280, 1281, 1400,
    1492, 1499, 1500, 1501, 9000, 65535,
];

impl Mtu {
    fn decode(b: u8) -> Mtu {
        if b < 96 {
            Mtu::Exactly(MTUS[usize::from(b) % MTUS.len()])
        } else {
            Mtu::BelowPacket(u16::from(b - 96) * 4)
        }
    }

    fn value(self, packet_len: usize) -> u32 {
        match self {
            Mtu::Exactly(m) => m,
            Mtu::BelowPacket(d) => (packet_len as u32).saturating_sub(d.into()),
        }
    }
}

/// A black hole in one direction: packets longer than `above` bytes are
/// dropped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Hole {
    /// The largest packet that passes.
    pub above: u16,
    /// Whether each packet dropped is answered with a "too big" carrying
    /// `above` (a narrow link whose router reports it; otherwise a black hole
    /// proper, RFC 2923 section 2.1).
    pub icmp: bool,
    /// How long it lasts, in milliseconds; `None`: through the settle.
    pub lasts_ms: Option<u32>,
}

/// The sizes a hole passes at most: black-hole detection's steps (1024, 576,
/// 1280) and the cache's floors with a byte either side.
const HOLE_EDGES: [u16; 16] = [
    576, 575, 577, 1024, 1023, 1280, 1279, 552, 551, 68, 40, 1500, 1499, 1460, 1232, 1100,
];

impl Hole {
    fn decode(size: u8, time: u8) -> Hole {
        let s = size & 0x7f;
        let above = if s < 16 {
            HOLE_EDGES[usize::from(s)]
        } else {
            40 + u16::from(s - 16) * 13
        };
        Hole {
            above,
            icmp: size & 0x80 != 0,
            lasts_ms: (time >= 32).then(|| u32::from(time - 31) * 64),
        }
    }
}

/// The op codes of this module: the byte's high three bits set and its low
/// four below 4 (bit 4 is the direction, as for the other ops). Other such
/// bytes keep their old meaning, so the corpus of before stays meaningful.
pub(super) fn decode_op(op: u8, side: bool, arg: &mut dyn FnMut() -> u8) -> Option<Op> {
    if op < 0xe0 {
        return None;
    }
    Some(match op & 0x0f {
        0 => Op::TooBig(side, Mtu::decode(arg())),
        1 => Op::TooBigPassed(side, Mtu::decode(arg())),
        2 | 3 => {
            let size = arg();
            Op::BlackHole(side, Hole::decode(size, arg()))
        }
        _ => return None,
    })
}

/// The path configurations (the head byte's top three bits): 0 as before; 1
/// the server announces an MSS of 536; 2 the client one of 88; 3 estimates
/// expire after 2 s (a raise in reach of a program's time); 4 the same with
/// RFC 1191's floor of 68 bytes over IPv4; 5 no path MTU cache and 3 s; 6 a
/// client on a 9000-byte link (a jumbo MSS option the server's 1500 meets); 7
/// black-hole detection off, estimates expiring after 2 s.
pub fn path_variant(mut config: Config, variant: u8, client: bool) -> Config {
    let secs = |s| Duration::from_secs(s);
    match variant {
        1 if !client => config.tcp.mss_clamp = Some(536),
        2 if client => config.tcp.mss_clamp = Some(88),
        3 => config.pmtu.expires = secs(2),
        4 => {
            config.pmtu.expires = secs(2);
            config.pmtu.min_ipv4 = 68;
        }
        5 => {
            config.pmtu.capacity = 0;
            config.pmtu.expires = secs(3);
        }
        6 if client => config.mtu = 9000,
        7 => {
            config.tcp.mtu_probing = layer4::tcp::MtuProbing::Off;
            config.pmtu.expires = secs(2);
        }
        _ => {}
    }
    config
}

/// What an ICMP error built by [`Run::icmp_error`] says.
#[derive(Debug, Clone, Copy)]
pub(super) enum IcmpKind {
    PortUnreachable,
    TooBig(u32),
}

/// The most of a packet an ICMP error quotes: as routers do, what fits the
/// 576 bytes every IPv4 host takes (RFC 1812 4.3.2.3) or IPv6's minimum MTU
/// (RFC 4443 2.4 (c)).
const QUOTE_V4: usize = 576 - 20 - 8;
const QUOTE_V6: usize = 1280 - 40 - 8;

impl Run {
    /// The active hole of one direction, if any (an ended one is forgotten).
    fn hole(&mut self, to_server: bool) -> Option<Hole> {
        let i = usize::from(to_server);
        let (hole, since) = self.holes[i]?;
        let ended = hole
            .lasts_ms
            .is_some_and(|ms| self.now >= since + Duration::from_millis(ms.into()));
        if ended {
            self.holes[i] = None;
            return None;
        }
        Some(hole)
    }

    /// Hands `p` to its destination, unless a hole of its direction drops it.
    pub(super) fn deliver(&mut self, to_server: bool, p: &[u8]) {
        let now = self.now;
        if let Some(hole) = self.hole(to_server) {
            if p.len() > usize::from(hole.above) {
                if hole.icmp {
                    self.icmp_error(to_server, p, IcmpKind::TooBig(hole.above.into()));
                }
                return;
            }
        }
        if to_server {
            self.server.handle_packet(now, p);
        } else {
            self.client.handle_packet(now, p);
        }
    }

    /// [`Op::TooBig`] and [`Op::TooBigPassed`]: a router answers the next
    /// packet of one direction with a "too big"; the packet is dropped, or (a
    /// router that fragments it anyway, or a stale error) delivered as well.
    pub(super) fn too_big(&mut self, to_server: bool, mtu: Mtu, passed: bool) {
        let Some(p) = self.queue(to_server).pop_front() else {
            return;
        };
        self.icmp_error(to_server, &p, IcmpKind::TooBig(mtu.value(p.len())));
        if passed {
            self.deliver(to_server, &p);
        }
    }

    /// A hole opens in one direction (replacing the one there was).
    pub(super) fn open_hole(&mut self, to_server: bool, hole: Hole) {
        self.holes[usize::from(to_server)] = Some((hole, self.now));
    }

    /// Whether a hole lasts through the settle.
    pub(super) fn hole_lasts(&self) -> bool {
        self.holes
            .iter()
            .flatten()
            .any(|(h, _)| h.lasts_ms.is_none())
    }

    /// Whether the hole of one direction, if it lasts through the settle, is
    /// one its sender can get through (the module docs).
    pub(super) fn passable(&self, to_server: bool) -> bool {
        let Some((h, _)) = self.holes[usize::from(to_server)] else {
            return true;
        };
        if h.lasts_ms.is_some() {
            return true;
        }
        let v4 = self.family == Family::V4;
        let probing = self.path != 7;
        let plpmtud_floor = if v4 { 576 } else { 1280 };
        let cache_floor = match (v4, self.path) {
            (true, 4) => 68,
            (true, _) => 552,
            (false, _) => 1280,
        };
        (probing && h.above >= plpmtud_floor) || (h.icmp && h.above >= cache_floor)
    }

    /// An ICMP error about `p`, a packet of one direction, from the router
    /// or host it reached, to its sender. A port unreachable comes from the
    /// destination and quotes the IP header and 8 bytes (the refusals the
    /// model had first); a "too big" from a router on the path, quoting what
    /// routers quote.
    pub(super) fn icmp_error(&mut self, to_server: bool, p: &[u8], kind: IcmpKind) {
        let now = self.now;
        let router = self.family.spoofed_addr(0xfe);
        let (src, dst, protocol, body) = if p[0] >> 4 == 4 {
            let ip = Ipv4Packet::new_unchecked(p);
            let header_and_8 = usize::from(p[0] & 0x0f) * 4 + 8;
            let (err, src) = match kind {
                IcmpKind::PortUnreachable => (
                    Icmpv4Repr::DstUnreachable {
                        reason: Icmpv4DstUnreachable::PortUnreachable,
                        next_hop_mtu: 0,
                        invoking: &p[..header_and_8.min(p.len())],
                    },
                    IpAddr::V4(ip.dst_addr()),
                ),
                IcmpKind::TooBig(mtu) => (
                    Icmpv4Repr::DstUnreachable {
                        reason: Icmpv4DstUnreachable::FragRequired,
                        next_hop_mtu: mtu.min(65535) as u16,
                        invoking: &p[..QUOTE_V4.min(p.len())],
                    },
                    router,
                ),
            };
            let mut body = vec![0u8; err.buffer_len()];
            err.emit(
                &mut Icmpv4Packet::new_unchecked(&mut body[..]),
                ChecksumMode::Enabled,
            );
            (src, IpAddr::V4(ip.src_addr()), IpProtocol::Icmp, body)
        } else {
            let ip = Ipv6Packet::new_unchecked(p);
            let dst = IpAddr::V6(ip.src_addr());
            let (err, src) = match kind {
                IcmpKind::PortUnreachable => (
                    Icmpv6Repr::DstUnreachable {
                        reason: Icmpv6DstUnreachable::PortUnreachable,
                        invoking: &p[..(40 + 8).min(p.len())],
                    },
                    IpAddr::V6(ip.dst_addr()),
                ),
                IcmpKind::TooBig(mtu) => (
                    Icmpv6Repr::PacketTooBig {
                        mtu,
                        invoking: &p[..QUOTE_V6.min(p.len())],
                    },
                    router,
                ),
            };
            let mut body = vec![0u8; err.buffer_len()];
            if let Some(addrs) = AddrPair::new(src, dst) {
                err.emit(
                    &mut Icmpv6Packet::new_unchecked(&mut body[..]),
                    &addrs,
                    ChecksumMode::Enabled,
                );
            }
            (src, dst, IpProtocol::Icmpv6, body)
        };
        let sender = if to_server {
            &mut self.client
        } else {
            &mut self.server
        };
        sender.handle_packet(now, &crate::live::ip_packet_any(src, dst, protocol, &body));
    }
}

/// The instant a hole opened, beside it.
pub(super) type OpenHole = (Hole, Instant);
