//! The offending packet an ICMP or ICMPv6 error message quotes, read leniently enough
//! to find the socket the error concerns.
//!
//! An error message carries the start of the packet that caused it: the IP header and
//! at least eight bytes of what followed. The quote is usually truncated, so the IP
//! total length (or payload length) it states is larger than what is there; that is
//! expected and accepted. What is checked is what the lookup needs: the version, the
//! header length, and for TCP and UDP the eight transport bytes that hold the ports
//! (and the TCP sequence number).
//!
//! The parsers here read only the handful of fields they need, on their own, so that
//! nothing in the ICMP path depends on the full IPv4 and IPv6 header parsers.

use core::fmt;
use core::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use crate::error::{Error, Result};
use crate::ip::IpProtocol;
use crate::seq::SeqNumber;

//= https://www.rfc-editor.org/rfc/rfc1122#section-3.2.2
//# Every ICMP error message includes the Internet header and at
//# least the first 8 data octets of the datagram that triggered
//# the error; more than 8 octets MAY be sent; this header and data
//# MUST be unchanged from the received datagram.

/// The bytes of the transport header a quote must hold for its ports to be read.
pub const QUOTED_TRANSPORT_LEN: usize = 8;

/// The most IPv6 extension headers [`quoted_ipv6`] steps over before giving up with
/// [`Error::ChainTooLong`].
pub const MAX_QUOTED_EXTENSIONS: usize = 8;

/// What an ICMP error message says about the packet that caused it: enough to find
/// the socket (or the path-MTU entry) the error concerns.
///
/// `src` and `dst` are the quoted packet's addresses, so `src` is normally one of
/// ours. Ports are present for TCP and UDP quotes of a first (or only) fragment;
/// `tcp_seq` is present for TCP quotes, so a stack can check that the sequence number
/// lies in its send window before acting on the error (RFC 5927).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Quoted {
    /// Source address of the quoted packet.
    pub src: IpAddr,
    /// Destination address of the quoted packet.
    pub dst: IpAddr,
    /// The upper-layer protocol of the quoted packet (past any IPv6 extension headers).
    pub protocol: IpProtocol,
    /// The quoted TCP or UDP source port.
    pub src_port: Option<u16>,
    /// The quoted TCP or UDP destination port.
    pub dst_port: Option<u16>,
    /// The quoted TCP sequence number.
    pub tcp_seq: Option<SeqNumber>,
}

impl Quoted {
    fn new(src: IpAddr, dst: IpAddr, protocol: IpProtocol) -> Quoted {
        Quoted {
            src,
            dst,
            protocol,
            src_port: None,
            dst_port: None,
            tcp_seq: None,
        }
    }

    /// Fill in ports (and the TCP sequence number) from the transport bytes at the
    /// start of `transport`, which must hold all eight of them.
    fn with_transport(mut self, transport: &[u8]) -> Result<Quoted> {
        if !matches!(self.protocol, IpProtocol::Tcp | IpProtocol::Udp) {
            return Ok(self);
        }
        let t = transport
            .get(..QUOTED_TRANSPORT_LEN)
            .ok_or(Error::Truncated)?;
        self.src_port = Some(u16::from_be_bytes([t[0], t[1]]));
        self.dst_port = Some(u16::from_be_bytes([t[2], t[3]]));
        if self.protocol == IpProtocol::Tcp {
            self.tcp_seq = Some(SeqNumber(u32::from_be_bytes([t[4], t[5], t[6], t[7]])));
        }
        Ok(self)
    }
}

impl fmt::Display for Quoted {
    /// `10.0.0.1.5000 > 10.0.0.2.9999 udp`, or `10.0.0.1 > 10.0.0.2 icmp` without ports.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (self.src_port, self.dst_port) {
            (Some(sp), Some(dp)) => write!(
                f,
                "{}.{} > {}.{} {}",
                self.src, sp, self.dst, dp, self.protocol
            ),
            _ => write!(f, "{} > {} {}", self.src, self.dst, self.protocol),
        }
    }
}

/// Read the IPv4 packet quoted by an ICMP error message (RFC 792: "Internet Header +
/// 64 bits of Original Data Datagram").
///
/// Errors: [`Error::Truncated`] when the quote is shorter than a 20-byte header, than
/// the header length it states, or (for TCP and UDP) than the header plus eight
/// transport bytes; [`Error::BadVersion`] when the version is not 4;
/// [`Error::BadHeaderLen`] when IHL is below 5; [`Error::BadTotalLen`] when the total
/// length is shorter than the header. A total length longer than the quote is fine.
///
/// A quote of a fragment other than the first has no transport header, so its ports
/// are `None`.
pub fn quoted_ipv4(invoking: &[u8]) -> Result<Quoted> {
    const MIN_HEADER: usize = 20;
    let h = invoking.get(..MIN_HEADER).ok_or(Error::Truncated)?;
    let version = h[0] >> 4;
    if version != 4 {
        return Err(Error::BadVersion(version));
    }
    let header_len = usize::from(h[0] & 0x0f) * 4;
    if header_len < MIN_HEADER {
        return Err(Error::BadHeaderLen);
    }
    if invoking.len() < header_len {
        return Err(Error::Truncated);
    }
    let total_len = usize::from(u16::from_be_bytes([h[2], h[3]]));
    if total_len < header_len {
        return Err(Error::BadTotalLen);
    }
    let frag_offset = u16::from_be_bytes([h[6], h[7]]) & 0x1fff;
    let src = Ipv4Addr::new(h[12], h[13], h[14], h[15]);
    let dst = Ipv4Addr::new(h[16], h[17], h[18], h[19]);
    let quoted = Quoted::new(src.into(), dst.into(), IpProtocol::from(h[9]));
    //= https://www.rfc-editor.org/rfc/rfc792#page-1
    //# Also ICMP
    //# messages are only sent about errors in handling fragment zero of
    //# fragemented datagrams.
    if frag_offset != 0 {
        return Ok(quoted);
    }
    quoted.with_transport(&invoking[header_len..])
}

/// Read the IPv6 packet quoted by an ICMPv6 error message, stepping over hop-by-hop,
/// routing, destination-options and fragment headers to the upper-layer header.
///
/// Errors: [`Error::Truncated`] when the quote is shorter than the 40-byte header,
/// ends inside an extension header, or (for TCP and UDP) holds fewer than eight
/// transport bytes; [`Error::BadVersion`] when the version is not 6;
/// [`Error::ChainTooLong`] past [`MAX_QUOTED_EXTENSIONS`] extension headers. The
/// payload length is not checked against the quote, which is normally shorter.
///
/// A quote of a non-first fragment, or whose chain reaches a header this walk does not
/// step over (ESP, AH, ...), is returned with that protocol and no ports.
pub fn quoted_ipv6(invoking: &[u8]) -> Result<Quoted> {
    const FIXED_HEADER: usize = 40;
    const FRAGMENT_HEADER: usize = 8;
    let h = invoking.get(..FIXED_HEADER).ok_or(Error::Truncated)?;
    let version = h[0] >> 4;
    if version != 6 {
        return Err(Error::BadVersion(version));
    }
    let mut src = [0u8; 16];
    src.copy_from_slice(&h[8..24]);
    let mut dst = [0u8; 16];
    dst.copy_from_slice(&h[24..40]);
    let (src, dst) = (Ipv6Addr::from(src), Ipv6Addr::from(dst));

    let mut next = IpProtocol::from(h[6]);
    let mut at = FIXED_HEADER;
    let mut passed = 0;
    loop {
        // Up to MAX_QUOTED_EXTENSIONS headers are stepped over; only one more
        // extension header after those is too long a chain (the upper-layer header
        // after exactly that many is fine), as in `walk_chain`.
        if next.is_ipv6_extension() {
            if passed == MAX_QUOTED_EXTENSIONS {
                return Err(Error::ChainTooLong);
            }
            passed += 1;
        }
        match next {
            //= https://www.rfc-editor.org/rfc/rfc8200#section-4.3
            //# Hdr Ext Len         8-bit unsigned integer.  Length of the
            //#                     Hop-by-Hop Options header in 8-octet units,
            //#                     not including the first 8 octets.
            IpProtocol::HopByHop | IpProtocol::Ipv6Route | IpProtocol::Ipv6Opts => {
                let ext = invoking.get(at..at + 2).ok_or(Error::Truncated)?;
                next = IpProtocol::from(ext[0]);
                at += (usize::from(ext[1]) + 1) * 8;
            }
            IpProtocol::Ipv6Frag => {
                let ext = invoking
                    .get(at..at + FRAGMENT_HEADER)
                    .ok_or(Error::Truncated)?;
                next = IpProtocol::from(ext[0]);
                let offset = u16::from_be_bytes([ext[2], ext[3]]) >> 3;
                at += FRAGMENT_HEADER;
                if offset != 0 {
                    return Ok(Quoted::new(src.into(), dst.into(), next));
                }
            }
            upper => {
                let transport = invoking.get(at..).ok_or(Error::Truncated)?;
                return Quoted::new(src.into(), dst.into(), upper).with_transport(transport);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The IPv4 UDP datagram a Linux host sent from 127.0.0.1:5000 to 127.0.0.1:9999
    /// (payload "hello"), as quoted whole by the kernel's port unreachable.
    const V4_UDP: [u8; 33] = [
        0x45, 0x00, 0x00, 0x21, 0x87, 0x86, 0x40, 0x00, 0x40, 0x11, 0xb5, 0x43, 0x7f, 0x00, 0x00,
        0x01, 0x7f, 0x00, 0x00, 0x01, 0x13, 0x88, 0x27, 0x0f, 0x00, 0x0d, 0xfe, 0x20, 0x68, 0x65,
        0x6c, 0x6c, 0x6f,
    ];

    /// The IPv6 UDP datagram from [::1]:5000 to [::1]:9999 quoted by a Linux ICMPv6
    /// port unreachable.
    const V6_UDP: [u8; 53] = [
        0x60, 0x0e, 0x05, 0x8e, 0x00, 0x0d, 0x11, 0x40, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
        0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0x13, 0x88, 0x27, 0x0f, 0x00, 0x0d,
        0x00, 0x20, 0x68, 0x65, 0x6c, 0x6c, 0x6f,
    ];

    fn v4_tcp_quote() -> [u8; 28] {
        // 10.0.0.1:40000 -> 10.0.0.2:80, seq 0x01020304, total length 1500 (truncated quote).
        let mut q = [0u8; 28];
        q[..20].copy_from_slice(&[
            0x45, 0x00, 0x05, 0xdc, 0x12, 0x34, 0x40, 0x00, 0x40, 0x06, 0x00, 0x00, 10, 0, 0, 1,
            10, 0, 0, 2,
        ]);
        q[20..28].copy_from_slice(&[0x9c, 0x40, 0x00, 0x50, 0x01, 0x02, 0x03, 0x04]);
        q
    }

    #[test]
    fn real_v4_udp_quote_gives_addresses_and_ports() {
        let q = quoted_ipv4(&V4_UDP).unwrap();
        assert_eq!(q.src, IpAddr::V4(Ipv4Addr::LOCALHOST));
        assert_eq!(q.dst, IpAddr::V4(Ipv4Addr::LOCALHOST));
        assert_eq!(q.protocol, IpProtocol::Udp);
        assert_eq!(q.src_port, Some(5000));
        assert_eq!(q.dst_port, Some(9999));
        assert_eq!(q.tcp_seq, None);
        assert_eq!(q.to_string(), "127.0.0.1.5000 > 127.0.0.1.9999 udp");
    }

    #[test]
    fn v4_quote_longer_total_length_than_quoted_is_accepted() {
        let q = quoted_ipv4(&v4_tcp_quote()).unwrap();
        assert_eq!(q.protocol, IpProtocol::Tcp);
        assert_eq!(q.src_port, Some(40000));
        assert_eq!(q.dst_port, Some(80));
        assert_eq!(q.tcp_seq, Some(SeqNumber(0x0102_0304)));
    }

    #[test]
    fn v4_quote_needs_eight_transport_bytes_for_ports() {
        let q = v4_tcp_quote();
        for cut in 0..q.len() {
            assert_eq!(quoted_ipv4(&q[..cut]), Err(Error::Truncated), "cut {cut}");
        }
    }

    #[test]
    fn v4_quote_with_options_skips_them() {
        let mut q = vec![
            0x46, 0, 0x05, 0xdc, 0, 0, 0, 0, 64, 17, 0, 0, 10, 0, 0, 1, 10, 0, 0, 2,
        ];
        q.extend_from_slice(&[1, 1, 1, 0]); // NOP NOP NOP EOL
        q.extend_from_slice(&[0x13, 0x88, 0x27, 0x0f, 0, 13, 0, 0]);
        let quoted = quoted_ipv4(&q).unwrap();
        assert_eq!(quoted.src_port, Some(5000));
        assert_eq!(quoted.dst_port, Some(9999));
        // The options are there but the transport bytes are cut short.
        assert_eq!(quoted_ipv4(&q[..30]), Err(Error::Truncated));
        // IHL says 24 bytes but the quote has 22.
        assert_eq!(quoted_ipv4(&q[..22]), Err(Error::Truncated));
    }

    #[test]
    fn v4_quote_malformed_fields_are_named() {
        let mut q = v4_tcp_quote();
        q[0] = 0x65;
        assert_eq!(quoted_ipv4(&q), Err(Error::BadVersion(6)));
        q[0] = 0x44;
        assert_eq!(quoted_ipv4(&q), Err(Error::BadHeaderLen));
        q[0] = 0x45;
        q[2] = 0;
        q[3] = 19;
        assert_eq!(quoted_ipv4(&q), Err(Error::BadTotalLen));
    }

    #[test]
    fn v4_non_first_fragment_has_no_ports() {
        let mut q = v4_tcp_quote();
        q[6] = 0x00;
        q[7] = 0xb9; // offset 185 * 8
        let quoted = quoted_ipv4(&q[..20]).unwrap();
        assert_eq!(quoted.protocol, IpProtocol::Tcp);
        assert_eq!(quoted.src_port, None);
    }

    #[test]
    fn v4_icmp_quote_has_no_ports() {
        let mut q = v4_tcp_quote();
        q[9] = 1;
        let quoted = quoted_ipv4(&q[..20]).unwrap();
        assert_eq!(quoted.protocol, IpProtocol::Icmp);
        assert_eq!((quoted.src_port, quoted.dst_port), (None, None));
        assert_eq!(quoted.to_string(), "10.0.0.1 > 10.0.0.2 icmp");
    }

    #[test]
    fn real_v6_udp_quote_gives_addresses_and_ports() {
        let q = quoted_ipv6(&V6_UDP).unwrap();
        assert_eq!(q.src, IpAddr::V6(Ipv6Addr::LOCALHOST));
        assert_eq!(q.protocol, IpProtocol::Udp);
        assert_eq!(q.src_port, Some(5000));
        assert_eq!(q.dst_port, Some(9999));
        for cut in 0..48 {
            assert_eq!(
                quoted_ipv6(&V6_UDP[..cut]),
                Err(Error::Truncated),
                "cut {cut}"
            );
        }
    }

    fn v6_with_chain(chain: &[(u8, &[u8])], upper: u8, transport: &[u8]) -> Vec<u8> {
        let mut p = vec![0x60, 0, 0, 0, 0x05, 0xb4];
        p.push(chain.first().map_or(upper, |c| c.0));
        p.push(64);
        p.extend_from_slice(&Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, 1).octets());
        p.extend_from_slice(&Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, 2).octets());
        for (i, (_, body)) in chain.iter().enumerate() {
            let next = chain.get(i + 1).map_or(upper, |c| c.0);
            let mut ext = body.to_vec();
            ext[0] = next;
            p.extend_from_slice(&ext);
        }
        p.extend_from_slice(transport);
        p
    }

    #[test]
    fn v6_quote_walks_extension_headers() {
        let hbh: &[u8] = &[0, 0, 1, 4, 0, 0, 0, 0]; // PadN
        let dst_opts: &[u8] = &[0, 1, 1, 12, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0];
        let frag: &[u8] = &[0, 0, 0x00, 0x01, 0, 0, 0, 7]; // offset 0, M set
        let tcp = [0x9c, 0x40, 0x00, 0x50, 0xde, 0xad, 0xbe, 0xef];
        let p = v6_with_chain(&[(0, hbh), (60, dst_opts), (44, frag)], 6, &tcp);
        let q = quoted_ipv6(&p).unwrap();
        assert_eq!(q.protocol, IpProtocol::Tcp);
        assert_eq!(q.src_port, Some(40000));
        assert_eq!(q.dst_port, Some(80));
        assert_eq!(q.tcp_seq, Some(SeqNumber(0xdead_beef)));
        assert_eq!(
            q.dst,
            IpAddr::V6(Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, 2))
        );
        for cut in 40..p.len() {
            assert_eq!(quoted_ipv6(&p[..cut]), Err(Error::Truncated), "cut {cut}");
        }
    }

    #[test]
    fn v6_non_first_fragment_has_no_ports() {
        let frag: &[u8] = &[0, 0, 0x05, 0x00, 0, 0, 0, 7]; // offset 160
        let p = v6_with_chain(&[(44, frag)], 17, &[]);
        let q = quoted_ipv6(&p).unwrap();
        assert_eq!(q.protocol, IpProtocol::Udp);
        assert_eq!(q.src_port, None);
    }

    #[test]
    fn v6_chain_past_the_bound_is_too_long() {
        let opt: &[u8] = &[0, 0, 1, 4, 0, 0, 0, 0];
        let chain = vec![(60u8, opt); MAX_QUOTED_EXTENSIONS + 1];
        let p = v6_with_chain(&chain, 17, &[0; 8]);
        assert_eq!(quoted_ipv6(&p), Err(Error::ChainTooLong));
        let p = v6_with_chain(&chain[..MAX_QUOTED_EXTENSIONS - 1], 17, &[0; 8]);
        assert!(quoted_ipv6(&p).is_ok());
    }

    /// Found by the `icmpv6` fuzz target: a quote with exactly
    /// [`MAX_QUOTED_EXTENSIONS`] extension headers before its UDP header was refused as
    /// `ChainTooLong`, though the bound says that many are stepped over (and
    /// `walk_chain` reads the same packet to its upper layer).
    #[test]
    fn v6_chain_of_exactly_the_bound_is_followed() {
        let route: &[u8] = &[0, 0, 0, 0, 0, 0, 0, 0]; // routing type 0, no segments left
        let chain = vec![(43u8, route); MAX_QUOTED_EXTENSIONS];
        let udp = [0x13, 0x88, 0x27, 0x0f, 0x00, 0x08, 0x00, 0x00];
        let mut p = v6_with_chain(&chain, 17, &udp);
        let payload_len = (p.len() - 40) as u16;
        p[4..6].copy_from_slice(&payload_len.to_be_bytes());
        let q = quoted_ipv6(&p).expect("eight extension headers are within the bound");
        assert_eq!(q.protocol, IpProtocol::Udp);
        assert_eq!(q.src_port, Some(5000));
        assert_eq!(q.dst_port, Some(9999));
        // The strict walk agrees on where the upper layer starts.
        let walk = crate::Ipv6Packet::new_checked(&p[..])
            .unwrap()
            .walk_chain()
            .unwrap();
        assert_eq!(walk.protocol(), Some(IpProtocol::Udp));
        assert_eq!(walk.headers.len(), MAX_QUOTED_EXTENSIONS);
        // One more extension header is past the bound, whatever follows it.
        let chain = vec![(43u8, route); MAX_QUOTED_EXTENSIONS + 1];
        let p = v6_with_chain(&chain, 17, &udp);
        assert_eq!(quoted_ipv6(&p), Err(Error::ChainTooLong));
        let p = v6_with_chain(&chain, 17, &[]);
        assert_eq!(quoted_ipv6(&p[..p.len() - 8]), Err(Error::ChainTooLong));
    }

    #[test]
    fn v6_quote_with_wrong_version_is_rejected() {
        let mut p = V6_UDP;
        p[0] = 0x45;
        assert_eq!(quoted_ipv6(&p), Err(Error::BadVersion(4)));
    }

    #[test]
    fn v6_quote_ending_in_an_unknown_header_has_no_ports() {
        let p = v6_with_chain(&[], 50, &[1, 2, 3, 4]); // ESP
        let q = quoted_ipv6(&p).unwrap();
        assert_eq!(q.protocol, IpProtocol::Unknown(50));
        assert_eq!(q.src_port, None);
    }

    mod emitted {
        //! Quotes of packets emitted with this crate's reprs, cut anywhere: the quote
        //! reads back what was emitted once it holds the headers it needs, and is
        //! `Truncated` before.

        use super::*;
        use crate::ip::{AddrPair, ChecksumMode, Ecn};
        use crate::ipv4::{Ipv4Options, Ipv4Packet, Ipv4Repr};
        use crate::ipv6::{
            Ipv6ExtHeader, Ipv6ExtHeaderRepr, Ipv6FragmentHeader, Ipv6FragmentRepr, Ipv6Packet,
            Ipv6Repr,
        };
        use crate::tcp::{TcpFlags, TcpOptions, TcpPacket, TcpRepr};
        use crate::udp::{UdpPacket, UdpRepr};
        use proptest::collection::vec;
        use proptest::prelude::*;

        /// The upper layer of the quoted packet.
        #[derive(Debug, Clone)]
        enum Upper {
            Tcp(u16, u16, u32),
            Udp(u16, u16),
            /// Any other protocol number, with arbitrary bytes after the headers.
            Other(u8, Vec<u8>),
        }

        impl Upper {
            fn protocol(&self) -> IpProtocol {
                match self {
                    Upper::Tcp(..) => IpProtocol::Tcp,
                    Upper::Udp(..) => IpProtocol::Udp,
                    Upper::Other(p, _) => IpProtocol::from(*p),
                }
            }

            fn bytes(&self, addrs: &AddrPair, payload: &[u8]) -> Vec<u8> {
                match *self {
                    Upper::Tcp(src_port, dst_port, seq) => {
                        let repr = TcpRepr {
                            src_port,
                            dst_port,
                            seq_number: SeqNumber(seq),
                            ack_number: SeqNumber(0),
                            flags: TcpFlags::SYN,
                            window_len: 1000,
                            urgent_pointer: 0,
                            options: TcpOptions::new(),
                            payload,
                        };
                        let mut buf = vec![0u8; repr.buffer_len()];
                        repr.emit(
                            &mut TcpPacket::new_unchecked(&mut buf[..]),
                            addrs,
                            ChecksumMode::Enabled,
                        );
                        buf
                    }
                    Upper::Udp(src_port, dst_port) => {
                        let repr = UdpRepr {
                            src_port,
                            dst_port,
                            payload,
                        };
                        let mut buf = vec![0u8; repr.buffer_len()];
                        repr.emit(
                            &mut UdpPacket::new_unchecked(&mut buf[..]),
                            addrs,
                            ChecksumMode::Enabled,
                        );
                        buf
                    }
                    Upper::Other(_, ref bytes) => bytes.clone(),
                }
            }

            /// The quote of a first (or only) fragment whose headers are all there.
            fn quoted(&self, src: IpAddr, dst: IpAddr) -> Quoted {
                let mut q = Quoted::new(src, dst, self.protocol());
                match *self {
                    Upper::Tcp(s, d, seq) => {
                        (q.src_port, q.dst_port) = (Some(s), Some(d));
                        q.tcp_seq = Some(SeqNumber(seq));
                    }
                    Upper::Udp(s, d) => (q.src_port, q.dst_port) = (Some(s), Some(d)),
                    Upper::Other(..) => {}
                }
                q
            }
        }

        /// `not` excludes protocol numbers that would not end the header walk.
        fn arb_upper(not: &'static [u8]) -> impl Strategy<Value = Upper> {
            prop_oneof![
                (any::<u16>(), any::<u16>(), any::<u32>())
                    .prop_map(|(s, d, q)| Upper::Tcp(s, d, q)),
                (any::<u16>(), any::<u16>()).prop_map(|(s, d)| Upper::Udp(s, d)),
                (
                    any::<u8>().prop_filter("walked over", move |p| {
                        *p != 6 && *p != 17 && !not.contains(p)
                    }),
                    vec(any::<u8>(), 0..24)
                )
                    .prop_map(|(p, b)| Upper::Other(p, b)),
            ]
        }

        /// Every cut of `packet`: a quote shorter than `needed` is `Truncated`, a
        /// longer one reads as `want`.
        fn check_cuts(
            packet: &[u8],
            needed: usize,
            want: Quoted,
            quote: fn(&[u8]) -> Result<Quoted>,
        ) -> core::result::Result<(), TestCaseError> {
            prop_assert!(needed <= packet.len());
            for cut in 0..=packet.len() {
                let got = quote(&packet[..cut]);
                if cut < needed {
                    prop_assert_eq!(
                        got,
                        Err(Error::Truncated),
                        "cut {} of {}",
                        cut,
                        packet.len()
                    );
                } else {
                    prop_assert_eq!(got, Ok(want), "cut {} of {}", cut, packet.len());
                }
            }
            Ok(())
        }

        #[derive(Debug, Clone)]
        enum Ext {
            /// Hop-by-hop, routing or destination options: its number and its data
            /// (not interpreted by the quote walk).
            Generic(u8, Vec<u8>),
            Fragment(u16, bool, u32),
        }

        impl Ext {
            fn kind(&self) -> IpProtocol {
                match self {
                    Ext::Generic(k, _) => IpProtocol::from(*k),
                    Ext::Fragment(..) => IpProtocol::Ipv6Frag,
                }
            }
        }

        fn arb_ext() -> impl Strategy<Value = Ext> {
            prop_oneof![
                (
                    prop::sample::select(vec![0u8, 43, 60]),
                    (0usize..3).prop_flat_map(|k| vec(any::<u8>(), 6 + 8 * k))
                )
                    .prop_map(|(k, d)| Ext::Generic(k, d)),
                (
                    prop_oneof![Just(0u16), 1u16..=0x1fff],
                    any::<bool>(),
                    any::<u32>()
                )
                    .prop_map(|(units, more, id)| Ext::Fragment(
                        units * 8,
                        more,
                        id
                    )),
            ]
        }

        proptest! {
            #[test]
            fn ipv4_quotes_read_back_what_was_emitted(
                (src, dst, ttl, ident) in any::<(u32, u32, u8, u16)>(),
                option_words in 0usize..=10,
                frag_units in prop_oneof![Just(0u16), 1u16..=0x1fff],
                upper in arb_upper(&[]),
                payload in vec(any::<u8>(), 0..24),
            ) {
                let (src, dst) = (Ipv4Addr::from(src), Ipv4Addr::from(dst));
                let addrs = AddrPair::V4 { src, dst };
                let transport = upper.bytes(&addrs, &payload);
                let options = [1u8; 40]; // NOPs
                let header = Ipv4Repr {
                    src_addr: src,
                    dst_addr: dst,
                    protocol: upper.protocol(),
                    payload_len: transport.len(),
                    ttl,
                    dscp: 0,
                    ecn: Ecn::NotEct,
                    ident,
                    dont_frag: false,
                    more_frags: false,
                    frag_offset: frag_units * 8,
                    options: Ipv4Options::new(&options[..option_words * 4]).unwrap(),
                };
                let mut packet = vec![0u8; header.total_len()];
                header.emit(&mut Ipv4Packet::new_unchecked(&mut packet[..]), ChecksumMode::Enabled);
                packet[header.buffer_len()..].copy_from_slice(&transport);

                let (want, needed) = if frag_units != 0 {
                    // A later fragment: no transport header to read.
                    (Quoted::new(src.into(), dst.into(), upper.protocol()), header.buffer_len())
                } else {
                    let want = upper.quoted(src.into(), dst.into());
                    let ports = if want.src_port.is_some() { QUOTED_TRANSPORT_LEN } else { 0 };
                    (want, header.buffer_len() + ports)
                };
                check_cuts(&packet, needed, want, quoted_ipv4)?;
            }

            #[test]
            fn ipv6_quotes_walk_the_emitted_chain(
                (src, dst) in any::<(u128, u128)>(),
                chain in vec(arb_ext(), 0..=4),
                upper in arb_upper(&[0, 43, 44, 60]),
                payload in vec(any::<u8>(), 0..24),
            ) {
                let (src, dst) = (Ipv6Addr::from(src), Ipv6Addr::from(dst));
                let addrs = AddrPair::V6 { src, dst };
                let kinds: Vec<IpProtocol> = chain.iter().map(Ext::kind).collect();
                let next_of = |i: usize| kinds.get(i + 1).copied().unwrap_or(upper.protocol());

                let mut body = Vec::new();
                // Where the walk stops: after the first fragment header with a nonzero
                // offset (reporting what follows it), else at the upper layer.
                let mut stop: Option<(usize, IpProtocol)> = None;
                for (i, ext) in chain.iter().enumerate() {
                    match ext {
                        Ext::Generic(_, data) => {
                            let repr = Ipv6ExtHeaderRepr { next_header: next_of(i), data };
                            let mut buf = vec![0u8; repr.buffer_len()];
                            repr.emit(&mut Ipv6ExtHeader::new_unchecked(&mut buf[..]));
                            body.extend(buf);
                        }
                        &Ext::Fragment(frag_offset, more_frags, ident) => {
                            let repr = Ipv6FragmentRepr {
                                next_header: next_of(i),
                                frag_offset,
                                more_frags,
                                ident,
                            };
                            let mut buf = [0u8; 8];
                            repr.emit(&mut Ipv6FragmentHeader::new_unchecked(&mut buf[..]));
                            body.extend(buf);
                            if frag_offset != 0 && stop.is_none() {
                                stop = Some((40 + body.len(), next_of(i)));
                            }
                        }
                    }
                }
                let chain_end = 40 + body.len();
                body.extend(upper.bytes(&addrs, &payload));
                let header = Ipv6Repr {
                    src_addr: src,
                    dst_addr: dst,
                    next_header: kinds.first().copied().unwrap_or(upper.protocol()),
                    payload_len: body.len(),
                    hop_limit: 64,
                    dscp: 0,
                    ecn: Ecn::NotEct,
                    flow_label: 0,
                };
                let mut packet = vec![0u8; header.total_len()];
                header.emit(&mut Ipv6Packet::new_unchecked(&mut packet[..]));
                packet[40..].copy_from_slice(&body);

                let (want, needed) = match stop {
                    Some((end, next)) => (Quoted::new(src.into(), dst.into(), next), end),
                    None => {
                        let want = upper.quoted(src.into(), dst.into());
                        let ports = if want.src_port.is_some() { QUOTED_TRANSPORT_LEN } else { 0 };
                        (want, chain_end + ports)
                    }
                };
                check_cuts(&packet, needed, want, quoted_ipv6)?;
            }
        }
    }

    proptest::proptest! {
        #[test]
        fn arbitrary_quotes_never_panic(bytes in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..120)) {
            let _ = quoted_ipv4(&bytes);
            let _ = quoted_ipv6(&bytes);
        }
    }
}
