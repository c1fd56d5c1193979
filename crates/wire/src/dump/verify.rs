//! [`verify`]: parse a whole packet as a receiving stack would, every checksum
//! checked, and report the first problem.

use core::fmt;
use core::net::Ipv6Addr;

use crate::error::Error;
use crate::icmpv4::{Icmpv4Packet, Icmpv4Repr};
use crate::icmpv6::{Icmpv6Packet, Icmpv6Repr};
use crate::ip::{AddrPair, ChecksumMode, IpProtocol};
use crate::ipv4::{Ipv4Packet, Ipv4Repr};
use crate::ipv6::{walk_chain, ChainEnd, Ipv6Packet, Ipv6RoutingHeader};
use crate::tcp::{TcpOptionIter, TcpPacket, TcpRepr};
use crate::udp::{UdpPacket, UdpRepr};

/// The header a [`VerifyError`] is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Layer {
    /// The first byte: no IP version this crate reads.
    Ip,
    /// The IPv4 header.
    Ipv4,
    /// The IPv6 header or its extension headers.
    Ipv6,
    /// The TCP segment.
    Tcp,
    /// The UDP datagram.
    Udp,
    /// The ICMP message.
    Icmpv4,
    /// The ICMPv6 message.
    Icmpv6,
}

impl fmt::Display for Layer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Layer::Ip => "ip",
            Layer::Ipv4 => "ipv4",
            Layer::Ipv6 => "ipv6",
            Layer::Tcp => "tcp",
            Layer::Udp => "udp",
            Layer::Icmpv4 => "icmp",
            Layer::Icmpv6 => "icmp6",
        })
    }
}

/// What [`verify`] found wrong, and in which header.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct VerifyError {
    /// The header the problem is in.
    pub layer: Layer,
    /// The problem, as the layer's parser reported it.
    pub error: Error,
}

impl fmt::Display for VerifyError {
    /// `bad tcp checksum`, or `ipv4: truncated packet`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.error {
            Error::BadChecksum => write!(f, "bad {} checksum", self.layer),
            e => write!(f, "{}: {e}", self.layer),
        }
    }
}

impl core::error::Error for VerifyError {}

fn at(layer: Layer) -> impl Fn(Error) -> VerifyError {
    move |error| VerifyError { layer, error }
}

/// Check one IP packet (bytes from the IP header on, link padding allowed after it)
/// the way a receiving host would: every length, every option layout and every
/// checksum, with [`ChecksumMode::Enabled`]. Returns the first problem found, outermost
/// header first.
///
/// What cannot be checked, and so passes:
/// - the transport checksum of a **fragment**: it covers the whole reassembled
///   datagram. A first fragment's transport header is still checked for structure;
///   a later fragment's data is covered by nothing in the fragment itself (the IPv4
///   header checksum covers the header only; IPv6 has none), so a flipped bit there
///   shows only after reassembly;
/// - a zero UDP checksum over IPv4, which means "no checksum" (RFC 768);
/// - the payload of protocols this crate does not parse (anything but TCP, UDP,
///   ICMP and ICMPv6), and the packet quoted inside an ICMP error.
pub fn verify(packet: &[u8]) -> Result<(), VerifyError> {
    match packet.first().map(|b| b >> 4) {
        None => Err(at(Layer::Ip)(Error::Truncated)),
        Some(4) => verify_ipv4(packet),
        Some(6) => verify_ipv6(packet),
        Some(v) => Err(at(Layer::Ip)(Error::BadVersion(v))),
    }
}

fn verify_ipv4(packet: &[u8]) -> Result<(), VerifyError> {
    let ip = Ipv4Packet::new_checked(packet).map_err(at(Layer::Ipv4))?;
    let repr = Ipv4Repr::parse(&ip, ChecksumMode::Enabled).map_err(at(Layer::Ipv4))?;
    let addrs = AddrPair::V4 {
        src: repr.src_addr,
        dst: repr.dst_addr,
    };
    let payload = ip.payload();
    if repr.frag_offset != 0 {
        return Ok(());
    }
    if repr.more_frags {
        return first_fragment(repr.protocol, payload);
    }
    transport(repr.protocol, payload, &addrs)
}

fn verify_ipv6(packet: &[u8]) -> Result<(), VerifyError> {
    let ip = Ipv6Packet::new_checked(packet).map_err(at(Layer::Ipv6))?;
    let payload = ip.payload();
    let upper = walk_chain(ip.next_header(), payload).map_err(at(Layer::Ipv6))?;
    let mut dst = ip.dst_addr();
    //= https://www.rfc-editor.org/rfc/rfc8200#section-8.1
    //# If the IPv6 packet contains a Routing header, the Destination
    //# Address used in the pseudo-header is that of the final destination.
    for info in upper
        .headers
        .iter()
        .filter(|h| h.kind == IpProtocol::Ipv6Route)
    {
        if let Some(last) = info.bytes(payload).and_then(final_destination) {
            dst = last;
        }
    }
    let addrs = AddrPair::V6 {
        src: ip.src_addr(),
        dst,
    };
    let ChainEnd::Upper(protocol) = upper.end else {
        return Ok(());
    };
    let rest = payload.get(upper.offset..).unwrap_or(&[]);
    match upper.fragment {
        Some(fragment) if !fragment.is_atomic() => first_fragment(protocol, rest),
        _ => transport(protocol, rest, &addrs),
    }
}

/// The final destination a routing header names, when segments are left to visit:
/// the last address of a type 0 or type 2 header, the first entry (the last segment)
/// of a segment routing header (RFC 8754 section 2). With no segments left the IPv6
/// destination is already the final one.
fn final_destination(header: &[u8]) -> Option<Ipv6Addr> {
    let header = Ipv6RoutingHeader::new_checked(header).ok()?;
    if header.segments_left() == 0 {
        return None;
    }
    // Both layouts have four octets (reserved, or last entry, flags and tag) before
    // the addresses.
    let addresses = header.data().get(4..)?;
    let address = match header.routing_type() {
        0 | 2 => addresses
            .len()
            .checked_sub(16)
            .and_then(|at| addresses.get(at..))?,
        4 => addresses,
        _ => return None,
    };
    let octets: [u8; 16] = address.get(..16)?.try_into().ok()?;
    Some(Ipv6Addr::from(octets))
}

/// A whole transport message: full parse, checksum included.
fn transport(protocol: IpProtocol, payload: &[u8], addrs: &AddrPair) -> Result<(), VerifyError> {
    let enabled = ChecksumMode::Enabled;
    match protocol {
        IpProtocol::Tcp => {
            let packet = TcpPacket::new_checked(payload).map_err(at(Layer::Tcp))?;
            TcpRepr::parse(&packet, addrs, enabled).map_err(at(Layer::Tcp))?;
        }
        IpProtocol::Udp => {
            let packet = UdpPacket::new_checked(payload).map_err(at(Layer::Udp))?;
            UdpRepr::parse(&packet, addrs, enabled).map_err(at(Layer::Udp))?;
        }
        IpProtocol::Icmp if matches!(addrs, AddrPair::V4 { .. }) => {
            let packet = Icmpv4Packet::new_checked(payload).map_err(at(Layer::Icmpv4))?;
            Icmpv4Repr::parse(&packet, enabled).map_err(at(Layer::Icmpv4))?;
        }
        IpProtocol::Icmpv6 if matches!(addrs, AddrPair::V6 { .. }) => {
            let packet = Icmpv6Packet::new_checked(payload).map_err(at(Layer::Icmpv6))?;
            Icmpv6Repr::parse(&packet, addrs, enabled).map_err(at(Layer::Icmpv6))?;
        }
        _ => {}
    }
    Ok(())
}

/// The first piece of a fragmented datagram: its transport header must be whole (RFC
/// 8200 section 4.5 requires the upper-layer header in the first fragment; IPv4
/// fragments at 8-byte boundaries, so a first fragment holds at least 8 bytes), but
/// the checksum covers the reassembled datagram and cannot be checked here.
fn first_fragment(protocol: IpProtocol, payload: &[u8]) -> Result<(), VerifyError> {
    match protocol {
        IpProtocol::Tcp => {
            let packet = TcpPacket::new_checked(payload).map_err(at(Layer::Tcp))?;
            for option in TcpOptionIter::new(packet.options()) {
                option.map_err(at(Layer::Tcp))?;
            }
        }
        IpProtocol::Udp => {
            let header = payload.get(..8).ok_or(at(Layer::Udp)(Error::Truncated))?;
            if u16::from_be_bytes([header[4], header[5]]) < 8 {
                return Err(at(Layer::Udp)(Error::BadLength));
            }
        }
        IpProtocol::Icmp | IpProtocol::Icmpv6 => {
            let layer = if protocol == IpProtocol::Icmp {
                Layer::Icmpv4
            } else {
                Layer::Icmpv6
            };
            if payload.len() < 8 {
                return Err(at(layer)(Error::Truncated));
            }
        }
        _ => {}
    }
    Ok(())
}
