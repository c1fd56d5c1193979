//! Vocabulary shared by IPv4 and IPv6: protocol numbers, ECN codepoints, address pairs
//! for pseudo-header checksums, and the checksum policy.

use core::fmt;
use core::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use crate::checksum;

/// An IP protocol number (IPv4 "protocol", IPv6 "next header").
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum IpProtocol {
    /// IPv6 hop-by-hop options (0).
    HopByHop,
    /// ICMP for IPv4 (1).
    Icmp,
    /// TCP (6).
    Tcp,
    /// UDP (17).
    Udp,
    /// IPv6 routing header (43).
    Ipv6Route,
    /// IPv6 fragment header (44).
    Ipv6Frag,
    /// ICMP for IPv6 (58).
    Icmpv6,
    /// IPv6 "no next header" (59).
    Ipv6NoNxt,
    /// IPv6 destination options (60).
    Ipv6Opts,
    /// Any other protocol number.
    Unknown(u8),
}

impl From<u8> for IpProtocol {
    fn from(v: u8) -> Self {
        match v {
            0 => IpProtocol::HopByHop,
            1 => IpProtocol::Icmp,
            6 => IpProtocol::Tcp,
            17 => IpProtocol::Udp,
            43 => IpProtocol::Ipv6Route,
            44 => IpProtocol::Ipv6Frag,
            58 => IpProtocol::Icmpv6,
            59 => IpProtocol::Ipv6NoNxt,
            60 => IpProtocol::Ipv6Opts,
            other => IpProtocol::Unknown(other),
        }
    }
}

impl From<IpProtocol> for u8 {
    fn from(p: IpProtocol) -> u8 {
        match p {
            IpProtocol::HopByHop => 0,
            IpProtocol::Icmp => 1,
            IpProtocol::Tcp => 6,
            IpProtocol::Udp => 17,
            IpProtocol::Ipv6Route => 43,
            IpProtocol::Ipv6Frag => 44,
            IpProtocol::Icmpv6 => 58,
            IpProtocol::Ipv6NoNxt => 59,
            IpProtocol::Ipv6Opts => 60,
            IpProtocol::Unknown(v) => v,
        }
    }
}

impl IpProtocol {
    /// Whether this number names an IPv6 extension header that
    /// [`crate::ipv6`]'s chain walk steps over.
    pub fn is_ipv6_extension(self) -> bool {
        matches!(
            self,
            IpProtocol::HopByHop
                | IpProtocol::Ipv6Route
                | IpProtocol::Ipv6Frag
                | IpProtocol::Ipv6Opts
        )
    }
}

impl fmt::Display for IpProtocol {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            IpProtocol::HopByHop => f.write_str("hop-by-hop"),
            IpProtocol::Icmp => f.write_str("icmp"),
            IpProtocol::Tcp => f.write_str("tcp"),
            IpProtocol::Udp => f.write_str("udp"),
            IpProtocol::Ipv6Route => f.write_str("ipv6-route"),
            IpProtocol::Ipv6Frag => f.write_str("ipv6-frag"),
            IpProtocol::Icmpv6 => f.write_str("icmp6"),
            IpProtocol::Ipv6NoNxt => f.write_str("ipv6-nonxt"),
            IpProtocol::Ipv6Opts => f.write_str("ipv6-opts"),
            IpProtocol::Unknown(v) => write!(f, "ip-proto-{v}"),
        }
    }
}

/// The two ECN bits of the IPv4 TOS / IPv6 traffic-class octet.
//= https://www.rfc-editor.org/rfc/rfc3168#section-5
//# The ECN field in the IP header is used with two bits, making four ECN codepoints
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Ecn {
    /// 00: not ECN-capable transport.
    #[default]
    NotEct,
    /// 01: ECN-capable transport, ECT(1).
    Ect1,
    /// 10: ECN-capable transport, ECT(0).
    Ect0,
    /// 11: congestion experienced.
    Ce,
}

impl Ecn {
    /// The codepoint from the low two bits of `bits`.
    pub fn from_bits(bits: u8) -> Ecn {
        match bits & 0b11 {
            0b00 => Ecn::NotEct,
            0b01 => Ecn::Ect1,
            0b10 => Ecn::Ect0,
            _ => Ecn::Ce,
        }
    }

    /// The codepoint as two bits.
    pub fn bits(self) -> u8 {
        match self {
            Ecn::NotEct => 0b00,
            Ecn::Ect1 => 0b01,
            Ecn::Ect0 => 0b10,
            Ecn::Ce => 0b11,
        }
    }
}

/// The source and destination of a packet, of one family: what an upper-layer
/// checksum's pseudo-header needs. A pair cannot mix IPv4 and IPv6.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AddrPair {
    /// An IPv4 source and destination.
    V4 {
        /// Source address.
        src: Ipv4Addr,
        /// Destination address.
        dst: Ipv4Addr,
    },
    /// An IPv6 source and destination.
    V6 {
        /// Source address.
        src: Ipv6Addr,
        /// Destination address.
        dst: Ipv6Addr,
    },
}

impl AddrPair {
    /// A pair from two addresses, or `None` when their families differ.
    pub fn new(src: IpAddr, dst: IpAddr) -> Option<AddrPair> {
        match (src, dst) {
            (IpAddr::V4(src), IpAddr::V4(dst)) => Some(AddrPair::V4 { src, dst }),
            (IpAddr::V6(src), IpAddr::V6(dst)) => Some(AddrPair::V6 { src, dst }),
            _ => None,
        }
    }

    /// The source address.
    pub fn src(&self) -> IpAddr {
        match *self {
            AddrPair::V4 { src, .. } => IpAddr::V4(src),
            AddrPair::V6 { src, .. } => IpAddr::V6(src),
        }
    }

    /// The destination address.
    pub fn dst(&self) -> IpAddr {
        match *self {
            AddrPair::V4 { dst, .. } => IpAddr::V4(dst),
            AddrPair::V6 { dst, .. } => IpAddr::V6(dst),
        }
    }

    /// The same pair seen from the other end.
    pub fn reversed(&self) -> AddrPair {
        match *self {
            AddrPair::V4 { src, dst } => AddrPair::V4 { src: dst, dst: src },
            AddrPair::V6 { src, dst } => AddrPair::V6 { src: dst, dst: src },
        }
    }

    /// The pseudo-header sum for an upper-layer packet of `length` bytes.
    ///
    /// Over IPv4 the length field is 16 bits; callers never pass more than an IPv4
    /// datagram can hold.
    pub fn pseudo_header(&self, protocol: IpProtocol, length: usize) -> u16 {
        match *self {
            AddrPair::V4 { src, dst } => {
                checksum::pseudo_header_v4(src, dst, protocol.into(), length as u16)
            }
            AddrPair::V6 { src, dst } => {
                checksum::pseudo_header_v6(src, dst, protocol.into(), length as u32)
            }
        }
    }
}

/// Whether checksums are computed on emit and verified on parse.
///
/// `Offloaded` is for paths where something else owns the checksum: a TUN device with
/// a virtio-net header that says the kernel checked it, or a benchmark of header
/// handling alone. Emit then leaves the field zero and parse does not check it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum ChecksumMode {
    /// Compute on emit, verify on parse.
    #[default]
    Enabled,
    /// Neither compute nor verify.
    Offloaded,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn protocol_numbers_round_trip() {
        for v in 0..=255u8 {
            assert_eq!(u8::from(IpProtocol::from(v)), v);
        }
    }

    #[test]
    fn ecn_bits_round_trip() {
        for v in 0..4u8 {
            assert_eq!(Ecn::from_bits(v).bits(), v);
        }
    }

    #[test]
    fn addr_pair_rejects_mixed_families() {
        let v4 = IpAddr::V4(Ipv4Addr::LOCALHOST);
        let v6 = IpAddr::V6(Ipv6Addr::LOCALHOST);
        assert!(AddrPair::new(v4, v6).is_none());
        let pair = AddrPair::new(v4, v4).expect("same family");
        assert_eq!(pair.reversed().src(), pair.dst());
    }
}
