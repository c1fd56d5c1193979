//! [`Ipv6TcpSegment`]: the common IPv6 TCP packet, read from fixed offsets.
//!
//! What [`Ipv4TcpSegment`](crate::Ipv4TcpSegment) is for IPv4: nearly every
//! packet of a TCP connection over IPv6 is a 40-byte fixed header whose Next
//! Header is TCP (no extension header: no fragment, no hop-by-hop options).
//! [`Ipv6TcpSegment::parse`] reads such a packet from fixed offsets, without the
//! general [`Ipv6Packet`](crate::Ipv6Packet) / [`Ipv6Repr`](crate::Ipv6Repr) /
//! [`walk_chain`](crate::walk_chain) / [`TcpRepr::parse`] walk, and sums the
//! pseudo-header and the TCP header in one pass over 32-bit words; the TCP header
//! is read in the same steps as IPv4's (`ipv4_tcp::parse_tcp`).
//!
//! It makes every check the general parse makes on such a packet (the version,
//! the payload length against the buffer, the TCP lengths and option lengths) and
//! gives the same values; any packet of another layout (an extension header, a
//! jumbogram, another protocol) or that the general parse refuses is `None`, and
//! the caller takes the general path, which explains why. IPv6 has no header
//! checksum; the TCP checksum is left to the caller, as for IPv4:
//! [`Ipv6TcpSegment::header_sum`] is the part over the pseudo-header and header.

use core::net::Ipv6Addr;

use crate::ip::Ecn;
use crate::ipv4_tcp::{parse_tcp, words};
use crate::tcp::TcpRepr;

/// The Next Header value of TCP.
const NEXT_HEADER_TCP: u8 = 6;

/// The fixed IPv6 header's length.
const HEADER_LEN: usize = 40;

/// A TCP segment in an IPv6 packet of the common layout (see the module doc).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Ipv6TcpSegment<'a> {
    /// The IPv6 source address.
    pub src_addr: Ipv6Addr,
    /// The IPv6 destination address.
    pub dst_addr: Ipv6Addr,
    /// The ECN codepoint of the traffic class.
    pub ecn: Ecn,
    /// The TCP segment, as [`TcpRepr::parse`] gives it.
    pub tcp: TcpRepr<'a>,
    /// The TCP header and payload: the IPv6 payload (its length the header's
    /// Payload Length; bytes past it are link padding, as the general parse
    /// takes them).
    pub segment: &'a [u8],
    /// The one's-complement sum of the TCP pseudo-header (of `segment`'s length)
    /// and of the TCP header.
    header_sum: u16,
}

impl<'a> Ipv6TcpSegment<'a> {
    /// The segment in `bytes`, an IPv6 packet, when it has the common layout and
    /// its TCP header and options are well-formed. `None` for any other packet,
    /// valid or not: the general parse then decides.
    // Inlined, as `Ipv4TcpSegment::parse`: the caller reads the fields where
    // they are made.
    #[inline(always)]
    pub fn parse(bytes: &'a [u8]) -> Option<Ipv6TcpSegment<'a>> {
        let (ip, rest) = bytes.split_first_chunk::<HEADER_LEN>()?;
        //= https://www.rfc-editor.org/rfc/rfc8200#section-3
        //# Version             4-bit Internet Protocol version number = 6.
        if ip[0] >> 4 != 6 || ip[6] != NEXT_HEADER_TCP {
            return None;
        }
        // Payload Length: the TCP segment, at most the buffer. (A zero length
        // with TCP next is an empty, and so truncated, TCP header: `None`.)
        let len = usize::from(u16::from_be_bytes([ip[4], ip[5]]));
        let segment = rest.get(..len)?;
        let (_, addr_bytes) = ip.split_last_chunk::<32>()?;
        let (tcp, header_sum) = parse_tcp(segment, words(addr_bytes))?;
        let (src, dst) = addr_bytes.split_first_chunk::<16>()?;
        let dst = dst.first_chunk::<16>()?;
        Some(Ipv6TcpSegment {
            src_addr: Ipv6Addr::from(*src),
            dst_addr: Ipv6Addr::from(*dst),
            // The traffic class is the low nibble of byte 0 and the high nibble
            // of byte 1; the ECN codepoint its low two bits.
            ecn: Ecn::from_bits(ip[1] >> 4),
            tcp,
            segment,
            header_sum,
        })
    }

    /// The one's-complement sum of the TCP pseudo-header and the TCP header: with
    /// the payload's sum it makes the segment's (`0xffff` when the checksum
    /// verifies).
    #[inline]
    pub fn header_sum(&self) -> u16 {
        self.header_sum
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checksum;
    use crate::ip::{AddrPair, ChecksumMode, IpProtocol};
    use crate::ipv6::{Ipv6Packet, Ipv6Repr};
    use crate::seq::SeqNumber;
    use crate::tcp::{TcpFlags, TcpPacket};
    use core::net::IpAddr;
    use proptest::prelude::*;

    const SRC: Ipv6Addr = Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 1, 0);
    const DST: Ipv6Addr = Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, 2);

    /// An IPv6 packet (traffic class `class`) carrying a TCP segment with these
    /// options and payload, its checksum filled.
    fn packet(class: u8, tcp_options: &[u8], payload: &[u8]) -> Vec<u8> {
        let tcp_len = 20 + tcp_options.len() + payload.len();
        let mut p = vec![0x60 | (class >> 4), class << 4, 0x12, 0x34];
        p.extend_from_slice(&(tcp_len as u16).to_be_bytes());
        p.extend_from_slice(&[6, 64]);
        p.extend_from_slice(&SRC.octets());
        p.extend_from_slice(&DST.octets());
        p.extend_from_slice(&[
            0xc0, 0x01, 0x00, 0x50, 1, 2, 3, 4, 5, 6, 7, 8, 0, 0x18, 0x01, 0xf5, 0, 0, 0, 7,
        ]);
        p[52] = (((20 + tcp_options.len()) / 4) as u8) << 4;
        p.extend_from_slice(tcp_options);
        p.extend_from_slice(payload);
        let pseudo = checksum::pseudo_header_v6(SRC, DST, 6, tcp_len as u32);
        let sum = checksum::finish(checksum::combine(&[pseudo, checksum::data(&p[40..])]));
        p[56..58].copy_from_slice(&sum.to_be_bytes());
        p
    }

    /// What the general parse (as the stack's `handle_ipv6` and `deliver_tcp`
    /// take a packet) makes of `bytes` when its upper layer follows the fixed
    /// header at once and is TCP: the reference for the fixed-offset parse.
    fn general(bytes: &[u8]) -> Option<(Ipv6Addr, Ipv6Addr, Ecn, TcpRepr<'_>, u16)> {
        let ip = Ipv6Packet::new_checked(bytes).ok()?;
        let repr = Ipv6Repr::parse(&ip).ok()?;
        let upper = ip.walk_chain().ok()?;
        if upper.offset != 0 || upper.fragment.is_some() || upper.protocol()? != IpProtocol::Tcp {
            return None;
        }
        let segment = &bytes[40..40 + repr.payload_len];
        let tcp = TcpPacket::new_checked(segment).ok()?;
        let addrs = AddrPair::new(IpAddr::V6(repr.src_addr), IpAddr::V6(repr.dst_addr))?;
        let seg = TcpRepr::parse(&tcp, &addrs, ChecksumMode::Offloaded).ok()?;
        let header_len = usize::from(tcp.header_len());
        let sum = checksum::combine(&[
            addrs.pseudo_header(IpProtocol::Tcp, segment.len()),
            checksum::data(&segment[..header_len]),
        ]);
        Some((repr.src_addr, repr.dst_addr, repr.ecn, seg, sum))
    }

    fn fixed(bytes: &[u8]) -> Option<(Ipv6Addr, Ipv6Addr, Ecn, TcpRepr<'_>, u16)> {
        let s = Ipv6TcpSegment::parse(bytes)?;
        Some((s.src_addr, s.dst_addr, s.ecn, s.tcp, s.header_sum()))
    }

    const TIMESTAMP: [u8; 12] = [1, 1, 8, 10, 0, 0, 1, 0, 0, 0, 2, 0];
    const SYN_OPTIONS: [u8; 20] = [
        2, 4, 5, 0xa0, 4, 2, 8, 10, 0, 0, 1, 0, 0, 0, 0, 0, 1, 3, 3, 7,
    ];

    #[test]
    fn common_segments_read_as_the_general_parse_reads_them() {
        for (class, options) in [
            (0, &TIMESTAMP[..]),
            (0x02, &[][..]),
            (0xb9, &SYN_OPTIONS[..]),
            (0x03, &[1, 1, 1, 1][..]),
        ] {
            let p = packet(class, options, b"hello, world");
            let got = fixed(&p).expect("common layout");
            assert_eq!(Some(got), general(&p), "{options:?}");
            assert_eq!(got.0, SRC);
            assert_eq!(got.1, DST);
            assert_eq!(got.2, Ecn::from_bits(class));
            assert_eq!(got.3.payload, b"hello, world");
            assert_eq!(got.3.seq_number, SeqNumber(0x0102_0304));
            assert_eq!(got.3.flags, TcpFlags::ACK | TcpFlags::PSH);
            // The header sum and the payload's make the whole segment's.
            let payload = checksum::data(got.3.payload);
            assert_eq!(checksum::combine(&[got.4, payload]), 0xffff);
        }
    }

    #[test]
    fn link_padding_past_the_payload_length_is_not_the_segment() {
        let mut p = packet(0, &TIMESTAMP, b"data");
        p.extend_from_slice(&[0xee; 6]);
        let got = fixed(&p).expect("common layout");
        assert_eq!(got.3.payload, b"data");
        assert_eq!(Some(got), general(&p));
    }

    #[test]
    fn other_layouts_and_malformed_packets_are_left_to_the_general_path() {
        let good = packet(0, &TIMESTAMP, b"x");
        let mut cases: Vec<(&str, Vec<u8>)> = Vec::new();
        let mut p = good.clone();
        p[0] = 0x40;
        cases.push(("version 4", p));
        let mut p = good.clone();
        p[6] = 0; // hop-by-hop options first
        cases.push(("an extension header", p));
        let mut p = good.clone();
        p[6] = 17;
        cases.push(("UDP", p));
        let mut p = good.clone();
        p[5] += 1;
        cases.push(("payload length past the buffer", p));
        let mut p = good.clone();
        p[4..6].copy_from_slice(&0u16.to_be_bytes());
        cases.push(("zero payload length", p));
        let mut p = good.clone();
        p[52] = 0x40;
        cases.push(("data offset below 5", p));
        let mut p = good.clone();
        p[52] = 0xf0;
        cases.push(("data offset past the segment", p));
        cases.push(("truncated header", good[..39].to_vec()));
        for (name, p) in &cases {
            assert_eq!(fixed(p), None, "{name}");
        }
        // Those the general parse takes at all, it takes as something else.
        assert_eq!(general(&cases[0].1), None);
        assert_eq!(general(&cases[3].1), None);
        assert_eq!(general(&cases[5].1), None);
    }

    proptest! {
        /// On any bytes with a common-layout start, the fixed parse either agrees
        /// with the general parse or leaves the packet to it.
        #[test]
        fn the_fixed_parse_agrees_with_the_general_parse_or_declines(
            tail in proptest::collection::vec(any::<u8>(), 0..80),
            class: u8,
            offset in 0u8..16,
            cut in 0usize..8,
        ) {
            let mut p = packet(class, &[], &tail);
            p[52] = offset << 4;
            let p = &p[..p.len() - cut.min(p.len())];
            if let Some(got) = fixed(p) {
                prop_assert_eq!(Some(got), general(p));
            }
        }
    }
}
