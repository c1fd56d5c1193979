//! IPv6 (RFC 8200): the fixed header ([`Ipv6Packet`], [`Ipv6Repr`]), the extension
//! headers ([`ext`], [`fragment`]) and the walk along the extension-header chain to
//! the upper layer ([`chain`]).
//!
//! Jumbograms (RFC 2675) are not represented: a zero payload length followed by a
//! hop-by-hop header is reported as [`Error::Unsupported`].

use core::fmt;
use core::net::Ipv6Addr;

use crate::error::{Error, Result};
use crate::ip::{Ecn, IpProtocol};
use crate::ipv4::tcpdump_proto_name;

pub mod chain;
pub mod ext;
pub mod fragment;

pub use chain::{walk_chain, ChainEnd, ExtHeaderInfo, ExtHeaderList, UpperLayer, MAX_EXT_HEADERS};
pub use ext::{
    Ipv6ExtHeader, Ipv6ExtHeaderRepr, Ipv6Option, Ipv6OptionAction, Ipv6OptionIter,
    Ipv6RoutingHeader,
};
pub use fragment::{Ipv6FragmentHeader, Ipv6FragmentRepr};

//= https://www.rfc-editor.org/rfc/rfc8200#section-3
//# +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//# |Version| Traffic Class |           Flow Label                  |
//# +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//# |         Payload Length        |  Next Header  |   Hop Limit   |
//# +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// Byte ranges of the fixed IPv6 header.
mod field {
    use core::ops::Range;

    pub const VER_TC_FLOW: Range<usize> = 0..4;
    pub const LENGTH: Range<usize> = 4..6;
    pub const NXT_HDR: usize = 6;
    pub const HOP_LIMIT: usize = 7;
    pub const SRC_ADDR: Range<usize> = 8..24;
    pub const DST_ADDR: Range<usize> = 24..40;
}

/// Length of the fixed IPv6 header.
pub const HEADER_LEN: usize = 40;

/// Largest flow label (20 bits).
pub const MAX_FLOW_LABEL: u32 = 0x000f_ffff;

/// A read (and, over a mutable buffer, write) view of an IPv6 packet.
///
/// # Panics
///
/// A view made with [`Ipv6Packet::new_unchecked`] trusts the buffer: its getters may
/// panic when the buffer is shorter than the fixed header or than the payload length
/// says. Untrusted bytes must go through [`Ipv6Packet::new_checked`]; after it
/// succeeds no getter panics, whatever the bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ipv6Packet<T: AsRef<[u8]>> {
    buffer: T,
}

impl<T: AsRef<[u8]>> Ipv6Packet<T> {
    /// Wrap a buffer without checking it (see the panic contract on the type).
    pub fn new_unchecked(buffer: T) -> Ipv6Packet<T> {
        Ipv6Packet { buffer }
    }

    /// Wrap a buffer, checking that every getter can read what it needs.
    pub fn new_checked(buffer: T) -> Result<Ipv6Packet<T>> {
        let packet = Self::new_unchecked(buffer);
        packet.check_len()?;
        Ok(packet)
    }

    /// Check the version and the payload length against the buffer.
    ///
    /// In order: [`Error::Truncated`] below 40 bytes; [`Error::BadVersion`] when the
    /// version nibble is not 6; [`Error::Unsupported`] for a jumbogram (a zero payload
    /// length with a hop-by-hop header next, RFC 2675); [`Error::Truncated`] when
    /// `40 + payload_len` runs past the buffer. A longer buffer (link padding) is
    /// accepted. A zero payload length with any other next header is an ordinary empty
    /// payload (e.g. No Next Header).
    pub fn check_len(&self) -> Result<()> {
        let data = self.buffer.as_ref();
        if data.len() < HEADER_LEN {
            return Err(Error::Truncated);
        }
        //= https://www.rfc-editor.org/rfc/rfc8200#section-3
        //# Version             4-bit Internet Protocol version number = 6.
        let version = self.version();
        if version != 6 {
            return Err(Error::BadVersion(version));
        }
        if self.payload_len() == 0 && self.next_header() == IpProtocol::HopByHop {
            return Err(Error::Unsupported);
        }
        if HEADER_LEN + usize::from(self.payload_len()) > data.len() {
            return Err(Error::Truncated);
        }
        Ok(())
    }

    /// The underlying buffer.
    pub fn into_inner(self) -> T {
        self.buffer
    }

    /// The version nibble (6 for a valid packet).
    #[inline]
    pub fn version(&self) -> u8 {
        self.buffer.as_ref()[field::VER_TC_FLOW.start] >> 4
    }

    /// The traffic class octet (DSCP and ECN together).
    #[inline]
    pub fn traffic_class(&self) -> u8 {
        let d = self.buffer.as_ref();
        (d[0] << 4) | (d[1] >> 4)
    }

    /// The differentiated-services codepoint: the high six bits of the traffic class.
    #[inline]
    pub fn dscp(&self) -> u8 {
        self.traffic_class() >> 2
    }

    /// The ECN codepoint: the low two bits of the traffic class.
    //= https://www.rfc-editor.org/rfc/rfc3168#section-5
    //# The IPv4 TOS octet corresponds to the Traffic Class octet in IPv6,
    //# and the ECN field is defined identically in both cases.
    #[inline]
    pub fn ecn(&self) -> Ecn {
        Ecn::from_bits(self.traffic_class())
    }

    /// The 20-bit flow label.
    #[inline]
    pub fn flow_label(&self) -> u32 {
        let d = self.buffer.as_ref();
        u32::from_be_bytes([0, d[1] & 0x0f, d[2], d[3]])
    }

    /// The payload length: everything after the fixed header, extension headers
    /// included.
    //= https://www.rfc-editor.org/rfc/rfc8200#section-3
    //# Length of the IPv6
    //# payload, i.e., the rest of the packet
    //# following this IPv6 header, in octets.
    #[inline]
    pub fn payload_len(&self) -> u16 {
        read_u16(self.buffer.as_ref(), field::LENGTH.start)
    }

    /// The type of the header after the fixed header.
    #[inline]
    pub fn next_header(&self) -> IpProtocol {
        IpProtocol::from(self.buffer.as_ref()[field::NXT_HDR])
    }

    /// The hop limit.
    #[inline]
    pub fn hop_limit(&self) -> u8 {
        self.buffer.as_ref()[field::HOP_LIMIT]
    }

    /// The source address.
    #[inline]
    pub fn src_addr(&self) -> Ipv6Addr {
        read_addr(&self.buffer.as_ref()[field::SRC_ADDR])
    }

    /// The destination address.
    #[inline]
    pub fn dst_addr(&self) -> Ipv6Addr {
        read_addr(&self.buffer.as_ref()[field::DST_ADDR])
    }

    /// The payload (extension headers and upper layer), bounded by the payload length.
    #[inline]
    pub fn payload(&self) -> &[u8] {
        let end = HEADER_LEN + usize::from(self.payload_len());
        &self.buffer.as_ref()[HEADER_LEN..end]
    }

    /// Walk the extension-header chain of the payload to the upper layer; see
    /// [`walk_chain`].
    pub fn walk_chain(&self) -> Result<UpperLayer> {
        walk_chain(self.next_header(), self.payload())
    }
}

impl<T: AsRef<[u8]> + AsMut<[u8]>> Ipv6Packet<T> {
    /// Set the version nibble.
    #[inline]
    pub fn set_version(&mut self, version: u8) {
        let d = self.buffer.as_mut();
        d[0] = (d[0] & 0x0f) | (version << 4);
    }

    /// Set the traffic class octet.
    #[inline]
    pub fn set_traffic_class(&mut self, tc: u8) {
        let d = self.buffer.as_mut();
        d[0] = (d[0] & 0xf0) | (tc >> 4);
        d[1] = (d[1] & 0x0f) | (tc << 4);
    }

    /// Set the DSCP (six bits), keeping the ECN bits.
    #[inline]
    pub fn set_dscp(&mut self, dscp: u8) {
        let tc = self.traffic_class();
        self.set_traffic_class((tc & 0b11) | (dscp << 2));
    }

    /// Set the ECN codepoint, keeping the DSCP.
    #[inline]
    pub fn set_ecn(&mut self, ecn: Ecn) {
        let tc = self.traffic_class();
        self.set_traffic_class((tc & !0b11) | ecn.bits());
    }

    /// Set the flow label (only the low 20 bits are stored).
    #[inline]
    pub fn set_flow_label(&mut self, label: u32) {
        debug_assert!(label <= MAX_FLOW_LABEL);
        let b = label.to_be_bytes();
        let d = self.buffer.as_mut();
        d[1] = (d[1] & 0xf0) | (b[1] & 0x0f);
        d[2] = b[2];
        d[3] = b[3];
    }

    /// Set the payload length.
    #[inline]
    pub fn set_payload_len(&mut self, len: u16) {
        let at = field::LENGTH.start;
        self.buffer.as_mut()[at..at + 2].copy_from_slice(&len.to_be_bytes());
    }

    /// Set the next-header field.
    #[inline]
    pub fn set_next_header(&mut self, next: IpProtocol) {
        self.buffer.as_mut()[field::NXT_HDR] = next.into();
    }

    /// Set the hop limit.
    #[inline]
    pub fn set_hop_limit(&mut self, hop_limit: u8) {
        self.buffer.as_mut()[field::HOP_LIMIT] = hop_limit;
    }

    /// Set the source address.
    #[inline]
    pub fn set_src_addr(&mut self, addr: Ipv6Addr) {
        self.buffer.as_mut()[field::SRC_ADDR].copy_from_slice(&addr.octets());
    }

    /// Set the destination address.
    #[inline]
    pub fn set_dst_addr(&mut self, addr: Ipv6Addr) {
        self.buffer.as_mut()[field::DST_ADDR].copy_from_slice(&addr.octets());
    }

    /// The payload, mutably (bounded by the payload length).
    #[inline]
    pub fn payload_mut(&mut self) -> &mut [u8] {
        let end = HEADER_LEN + usize::from(self.payload_len());
        &mut self.buffer.as_mut()[HEADER_LEN..end]
    }
}

impl<T: AsRef<[u8]>> AsRef<[u8]> for Ipv6Packet<T> {
    fn as_ref(&self) -> &[u8] {
        self.buffer.as_ref()
    }
}

#[inline]
pub(crate) fn read_u16(data: &[u8], at: usize) -> u16 {
    u16::from_be_bytes([data[at], data[at + 1]])
}

#[inline]
fn read_addr(bytes: &[u8]) -> Ipv6Addr {
    let mut octets = [0u8; 16];
    octets.copy_from_slice(bytes);
    Ipv6Addr::from(octets)
}

/// The fixed IPv6 header as a plain value.
///
/// The payload, extension headers included, is not part of it: [`Ipv6Repr::emit`]
/// writes the 40-byte header and the caller writes `payload_len` bytes after it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Ipv6Repr {
    /// Source address.
    pub src_addr: Ipv6Addr,
    /// Destination address.
    pub dst_addr: Ipv6Addr,
    /// Type of the first header after the fixed header.
    pub next_header: IpProtocol,
    /// Length of everything after the fixed header, in bytes.
    pub payload_len: usize,
    /// Hop limit.
    pub hop_limit: u8,
    /// Differentiated-services codepoint (six bits).
    pub dscp: u8,
    /// ECN codepoint.
    pub ecn: Ecn,
    /// Flow label (20 bits).
    pub flow_label: u32,
}

impl Ipv6Repr {
    /// Parse a packet's fixed header (checking the lengths again, so a view made with
    /// `new_unchecked` is safe here). Extension headers are left in the payload; see
    /// [`walk_chain`].
    pub fn parse<T: AsRef<[u8]> + ?Sized>(packet: &Ipv6Packet<&T>) -> Result<Ipv6Repr> {
        packet.check_len()?;
        Ok(Ipv6Repr {
            src_addr: packet.src_addr(),
            dst_addr: packet.dst_addr(),
            next_header: packet.next_header(),
            payload_len: usize::from(packet.payload_len()),
            hop_limit: packet.hop_limit(),
            dscp: packet.dscp(),
            ecn: packet.ecn(),
            flow_label: packet.flow_label(),
        })
    }

    /// The length of the header this emits: always 40.
    #[inline]
    pub fn buffer_len(&self) -> usize {
        HEADER_LEN
    }

    /// The whole packet's length: header plus payload.
    #[inline]
    pub fn total_len(&self) -> usize {
        HEADER_LEN + self.payload_len
    }

    /// Write the fixed header into `packet` (the payload is the caller's to write).
    ///
    /// # Panics
    ///
    /// When the packet's buffer is shorter than 40 bytes. The caller must keep
    /// `payload_len` within 65535, `dscp` within six bits and `flow_label` within 20
    /// bits (checked in debug builds only; release builds truncate).
    pub fn emit<T: AsRef<[u8]> + AsMut<[u8]>>(&self, packet: &mut Ipv6Packet<T>) {
        debug_assert!(self.payload_len <= usize::from(u16::MAX));
        debug_assert!(self.dscp < 64);
        packet.set_version(6);
        packet.set_traffic_class((self.dscp << 2) | self.ecn.bits());
        packet.set_flow_label(self.flow_label);
        packet.set_payload_len(self.payload_len as u16);
        packet.set_next_header(self.next_header);
        packet.set_hop_limit(self.hop_limit);
        packet.set_src_addr(self.src_addr);
        packet.set_dst_addr(self.dst_addr);
    }
}

/// The IPv6 part of `tcpdump -v`, on one line:
/// `IP6 2001:db8::1 > 2001:db8::2: class 0x02, flowlabel 0x12345, hlim 64, next-header TCP (6), payload length 40`.
///
/// As in tcpdump, the class and the flow label are shown only when nonzero.
impl fmt::Display for Ipv6Repr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "IP6 {} > {}: ", self.src_addr, self.dst_addr)?;
        let class = (self.dscp << 2) | self.ecn.bits();
        if class != 0 {
            write!(f, "class {class:#04x}, ")?;
        }
        if self.flow_label != 0 {
            write!(f, "flowlabel {:#07x}, ", self.flow_label)?;
        }
        write!(
            f,
            "hlim {}, next-header {} ({}), payload length {}",
            self.hop_limit,
            tcpdump_proto_name(self.next_header),
            u8::from(self.next_header),
            self.payload_len
        )
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::checksum;
    use proptest::prelude::*;

    /// A TCP SYN from 2001:db8::1 port 45250 to 2001:db8::2 port 80, laid out as Linux
    /// sends it: flow label 0xa1b2c, hop limit 64, window 64800, MSS 1440,
    /// SACK-permitted, timestamps, window scale 7. The TCP checksum (0xe8b2) was
    /// computed by hand over the pseudo-header and is checked below.
    pub(crate) const SYN6: [u8; 80] = [
        0x60, 0x0a, 0x1b, 0x2c, 0x00, 0x28, 0x06, 0x40, // ver, flow, plen 40, TCP, hlim 64
        0x20, 0x01, 0x0d, 0xb8, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
        0x01, // src
        0x20, 0x01, 0x0d, 0xb8, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
        0x02, // dst
        0xb0, 0xc2, 0x00, 0x50, 0x8f, 0x3e, 0x21, 0x07, 0x00, 0x00, 0x00, 0x00, 0xa0, 0x02, 0xfd,
        0x20, 0xe8, 0xb2, 0x00, 0x00, // TCP fixed
        0x02, 0x04, 0x05, 0xa0, 0x04, 0x02, 0x08, 0x0a, 0x6b, 0x1e, 0x3a, 0x55, 0x00, 0x00, 0x00,
        0x00, 0x01, 0x03, 0x03, 0x07, // TCP options
    ];

    fn syn6_repr() -> Ipv6Repr {
        Ipv6Repr {
            src_addr: "2001:db8::1".parse().unwrap(),
            dst_addr: "2001:db8::2".parse().unwrap(),
            next_header: IpProtocol::Tcp,
            payload_len: 40,
            hop_limit: 64,
            dscp: 0,
            ecn: Ecn::NotEct,
            flow_label: 0xa1b2c,
        }
    }

    #[test]
    fn real_syn_tcp_checksum_verifies() {
        let p = Ipv6Packet::new_checked(&SYN6[..]).unwrap();
        let pseudo = checksum::pseudo_header_v6(p.src_addr(), p.dst_addr(), 6, 40);
        assert_eq!(
            checksum::combine(&[pseudo, checksum::data(p.payload())]),
            0xffff
        );
    }

    #[test]
    fn real_syn_fields_read_correctly() {
        let p = Ipv6Packet::new_checked(&SYN6[..]).unwrap();
        assert_eq!(p.version(), 6);
        assert_eq!(p.traffic_class(), 0);
        assert_eq!(p.flow_label(), 0xa1b2c);
        assert_eq!(p.payload_len(), 40);
        assert_eq!(p.next_header(), IpProtocol::Tcp);
        assert_eq!(p.hop_limit(), 64);
        assert_eq!(p.src_addr(), "2001:db8::1".parse::<Ipv6Addr>().unwrap());
        assert_eq!(p.dst_addr(), "2001:db8::2".parse::<Ipv6Addr>().unwrap());
        assert_eq!(p.payload(), &SYN6[40..]);
        assert_eq!(Ipv6Repr::parse(&p).unwrap(), syn6_repr());
    }

    #[test]
    fn real_syn_reemits_byte_for_byte() {
        let mut buf = SYN6;
        buf[..40].fill(0xff);
        syn6_repr().emit(&mut Ipv6Packet::new_unchecked(&mut buf[..]));
        assert_eq!(buf, SYN6);
    }

    #[test]
    fn every_truncation_is_rejected_as_truncated() {
        for len in 0..SYN6.len() {
            assert_eq!(
                Ipv6Packet::new_checked(&SYN6[..len]).unwrap_err(),
                Error::Truncated,
                "length {len}"
            );
        }
    }

    #[test]
    fn wrong_version_is_rejected() {
        for first in [0x40u8, 0x00, 0xf0] {
            let mut bytes = SYN6;
            bytes[0] = first;
            assert_eq!(
                Ipv6Packet::new_checked(&bytes[..]).unwrap_err(),
                Error::BadVersion(first >> 4)
            );
        }
    }

    #[test]
    fn payload_len_beyond_buffer_is_truncated() {
        let mut bytes = SYN6;
        bytes[4..6].copy_from_slice(&41u16.to_be_bytes());
        assert_eq!(
            Ipv6Packet::new_checked(&bytes[..]).unwrap_err(),
            Error::Truncated
        );
    }

    #[test]
    fn link_padding_beyond_payload_len_is_not_payload() {
        let mut bytes = [0u8; 100];
        bytes[..80].copy_from_slice(&SYN6);
        let p = Ipv6Packet::new_checked(&bytes[..]).unwrap();
        assert_eq!(p.payload(), &SYN6[40..]);
    }

    #[test]
    fn jumbogram_is_unsupported() {
        let mut bytes = [0u8; 48];
        bytes[..40].copy_from_slice(&SYN6[..40]);
        bytes[4] = 0;
        bytes[5] = 0;
        bytes[6] = 0; // hop-by-hop, which would carry the Jumbo Payload option
        assert_eq!(
            Ipv6Packet::new_checked(&bytes[..]).unwrap_err(),
            Error::Unsupported
        );
    }

    #[test]
    fn empty_payload_with_no_next_header_is_accepted() {
        let mut bytes = SYN6;
        bytes[4] = 0;
        bytes[5] = 0;
        bytes[6] = 59;
        let p = Ipv6Packet::new_checked(&bytes[..40]).unwrap();
        assert!(p.payload().is_empty());
        let repr = Ipv6Repr::parse(&p).unwrap();
        assert_eq!(repr.next_header, IpProtocol::Ipv6NoNxt);
        assert_eq!(repr.payload_len, 0);
    }

    #[test]
    fn parse_rechecks_lengths_of_unchecked_views() {
        let p = Ipv6Packet::new_unchecked(&SYN6[..39]);
        assert_eq!(Ipv6Repr::parse(&p).unwrap_err(), Error::Truncated);
    }

    #[test]
    fn setters_touch_only_their_bits() {
        let mut buf = SYN6;
        let mut p = Ipv6Packet::new_unchecked(&mut buf[..]);
        p.set_dscp(46);
        p.set_ecn(Ecn::Ce);
        assert_eq!(p.traffic_class(), 0xbb);
        assert_eq!(p.version(), 6);
        assert_eq!(p.flow_label(), 0xa1b2c);
        p.set_flow_label(MAX_FLOW_LABEL);
        assert_eq!(p.traffic_class(), 0xbb);
        assert_eq!(p.flow_label(), MAX_FLOW_LABEL);
        p.set_ecn(Ecn::Ect1);
        assert_eq!(p.dscp(), 46);
        assert_eq!(p.ecn(), Ecn::Ect1);
        p.set_hop_limit(255);
        p.set_next_header(IpProtocol::Udp);
        p.set_payload_len(8);
        p.payload_mut().fill(7);
        let p = Ipv6Packet::new_checked(&buf[..]).unwrap();
        assert_eq!(p.hop_limit(), 255);
        assert_eq!(p.next_header(), IpProtocol::Udp);
        assert_eq!(p.payload(), &[7; 8]);
        assert_eq!(p.into_inner()[48..], SYN6[48..]);
    }

    #[test]
    fn display_reads_like_tcpdump() {
        assert_eq!(
            syn6_repr().to_string(),
            "IP6 2001:db8::1 > 2001:db8::2: flowlabel 0xa1b2c, hlim 64, next-header TCP (6), \
             payload length 40"
        );
        let quiet = Ipv6Repr {
            flow_label: 0,
            ..syn6_repr()
        };
        assert_eq!(
            quiet.to_string(),
            "IP6 2001:db8::1 > 2001:db8::2: hlim 64, next-header TCP (6), payload length 40"
        );
        let marked = Ipv6Repr {
            dscp: 10,
            ecn: Ecn::Ect0,
            flow_label: 0x12345,
            next_header: IpProtocol::Icmpv6,
            ..syn6_repr()
        };
        assert_eq!(
            marked.to_string(),
            "IP6 2001:db8::1 > 2001:db8::2: class 0x2a, flowlabel 0x12345, hlim 64, \
             next-header ICMPv6 (58), payload length 40"
        );
    }

    fn arb_repr() -> impl Strategy<Value = Ipv6Repr> {
        (
            any::<u128>(),
            any::<u128>(),
            any::<u8>(),
            0usize..=65535,
            any::<u8>(),
            0u8..64,
            0u8..4,
            0u32..=MAX_FLOW_LABEL,
        )
            .prop_map(|(src, dst, nh, plen, hlim, dscp, ecn, flow)| Ipv6Repr {
                src_addr: Ipv6Addr::from(src),
                dst_addr: Ipv6Addr::from(dst),
                next_header: IpProtocol::from(nh),
                payload_len: plen,
                hop_limit: hlim,
                dscp,
                ecn: Ecn::from_bits(ecn),
                flow_label: flow,
            })
            .prop_filter("jumbogram marker", |r| {
                !(r.payload_len == 0 && r.next_header == IpProtocol::HopByHop)
            })
    }

    proptest! {
        #[test]
        fn parse_of_emit_is_identity(repr in arb_repr()) {
            let mut buf = vec![0u8; repr.total_len()];
            repr.emit(&mut Ipv6Packet::new_unchecked(&mut buf[..]));
            let p = Ipv6Packet::new_checked(&buf[..]).unwrap();
            prop_assert_eq!(p.payload().len(), repr.payload_len);
            prop_assert_eq!(Ipv6Repr::parse(&p).unwrap(), repr);
        }

        #[test]
        fn emit_of_parse_is_identity(repr in arb_repr()) {
            let mut bytes = vec![0u8; repr.total_len()];
            repr.emit(&mut Ipv6Packet::new_unchecked(&mut bytes[..]));
            let parsed = Ipv6Repr::parse(&Ipv6Packet::new_checked(&bytes[..]).unwrap()).unwrap();
            let mut again = vec![0u8; repr.total_len()];
            parsed.emit(&mut Ipv6Packet::new_unchecked(&mut again[..]));
            prop_assert_eq!(again, bytes);
        }

        #[test]
        fn etherparse_agrees_with_emit(repr in arb_repr()) {
            let mut buf = vec![0u8; HEADER_LEN];
            repr.emit(&mut Ipv6Packet::new_unchecked(&mut buf[..]));
            let h = etherparse::Ipv6HeaderSlice::from_slice(&buf).unwrap();
            prop_assert_eq!(h.source_addr(), repr.src_addr);
            prop_assert_eq!(h.destination_addr(), repr.dst_addr);
            prop_assert_eq!(h.next_header().0, u8::from(repr.next_header));
            prop_assert_eq!(usize::from(h.payload_length()), repr.payload_len);
            prop_assert_eq!(h.hop_limit(), repr.hop_limit);
            prop_assert_eq!(h.dscp().value(), repr.dscp);
            prop_assert_eq!(h.ecn().value(), repr.ecn.bits());
            prop_assert_eq!(h.flow_label().value(), repr.flow_label);
        }

        #[test]
        fn arbitrary_bytes_never_panic(
            mut bytes in proptest::collection::vec(any::<u8>(), 0..120),
            force_v6: bool,
        ) {
            if force_v6 && !bytes.is_empty() {
                bytes[0] = 0x60 | (bytes[0] & 0x0f);
            }
            if let Ok(p) = Ipv6Packet::new_checked(&bytes[..]) {
                let _ = (p.version(), p.traffic_class(), p.dscp(), p.ecn(), p.flow_label());
                let _ = (p.payload_len(), p.next_header(), p.hop_limit(), p.src_addr(), p.dst_addr());
                let _ = p.payload();
                let _ = p.walk_chain();
                let _ = Ipv6Repr::parse(&p).map(|r| r.to_string());
            }
            let _ = Ipv6Repr::parse(&Ipv6Packet::new_unchecked(&bytes[..]));
        }
    }
}
