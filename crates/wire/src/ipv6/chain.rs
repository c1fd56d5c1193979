//! The walk along an IPv6 packet's extension headers to its upper layer
//! ([`walk_chain`]).
//!
//! The walk is syntactic and bounded. It checks each header's length, the TLV layout
//! of hop-by-hop and destination options, where hop-by-hop may appear, and how many
//! headers there are; it stops at the first header that is not an extension header it
//! knows, at No Next Header, or at a non-first fragment. What the headers *mean* is
//! the caller's to decide, with what the walk returns: unrecognised option types
//! ([`super::Ipv6OptionAction`]), a routing header with segments left
//! ([`super::Ipv6RoutingHeader::segments_left`]), reassembly.
//!
//! Only hop-by-hop (0), routing (43), fragment (44) and destination options (60) are
//! walked over ([`IpProtocol::is_ipv6_extension`]). Any other number ends the walk as
//! the upper layer, including AH (51) and ESP (50), which this crate does not parse.

use core::fmt;

use super::ext::{Ipv6ExtHeader, Ipv6RoutingHeader};
use super::fragment::{Ipv6FragmentHeader, Ipv6FragmentRepr, HEADER_LEN as FRAG_HEADER_LEN};
use crate::error::{Error, Result};
use crate::ip::IpProtocol;

/// The most extension headers [`walk_chain`] steps over; one more is
/// [`Error::ChainTooLong`].
///
/// RFC 8200 section 4.1 recommends at most one of each kind, destination options
/// twice: six in all. Eight leaves room without letting a crafted packet make every
/// receiver walk hundreds of headers.
pub const MAX_EXT_HEADERS: usize = 8;

/// One extension header the walk passed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ExtHeaderInfo {
    /// Which extension header (its Next Header number).
    pub kind: IpProtocol,
    /// Its first byte, counted from the start of the IPv6 payload.
    pub offset: usize,
    /// Its length in bytes.
    pub len: usize,
}

impl ExtHeaderInfo {
    const EMPTY: ExtHeaderInfo = ExtHeaderInfo {
        kind: IpProtocol::Ipv6NoNxt,
        offset: 0,
        len: 0,
    };

    /// The header's bytes within the IPv6 payload the walk was given, or `None` if
    /// `payload` is a different (shorter) buffer.
    pub fn bytes<'a>(&self, payload: &'a [u8]) -> Option<&'a [u8]> {
        payload.get(self.offset..self.offset + self.len)
    }
}

/// The extension headers a walk passed, in order: a fixed-capacity list (no heap).
#[derive(Clone, Copy)]
pub struct ExtHeaderList {
    items: [ExtHeaderInfo; MAX_EXT_HEADERS],
    len: usize,
}

impl ExtHeaderList {
    /// An empty list.
    pub const fn new() -> ExtHeaderList {
        ExtHeaderList {
            items: [ExtHeaderInfo::EMPTY; MAX_EXT_HEADERS],
            len: 0,
        }
    }

    fn push(&mut self, info: ExtHeaderInfo) -> Result<()> {
        let slot = self.items.get_mut(self.len).ok_or(Error::ChainTooLong)?;
        *slot = info;
        self.len += 1;
        Ok(())
    }

    /// The headers, in the order they appear.
    pub fn as_slice(&self) -> &[ExtHeaderInfo] {
        &self.items[..self.len]
    }

    /// Iterate over the headers in order.
    pub fn iter(&self) -> core::slice::Iter<'_, ExtHeaderInfo> {
        self.as_slice().iter()
    }

    /// How many headers were passed.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether no extension header was passed.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Whether the list holds [`MAX_EXT_HEADERS`] headers.
    pub fn is_full(&self) -> bool {
        self.len == MAX_EXT_HEADERS
    }
}

impl Default for ExtHeaderList {
    fn default() -> Self {
        Self::new()
    }
}

impl PartialEq for ExtHeaderList {
    fn eq(&self, other: &Self) -> bool {
        self.as_slice() == other.as_slice()
    }
}

impl Eq for ExtHeaderList {}

impl fmt::Debug for ExtHeaderList {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(self.as_slice()).finish()
    }
}

impl<'a> IntoIterator for &'a ExtHeaderList {
    type Item = &'a ExtHeaderInfo;
    type IntoIter = core::slice::Iter<'a, ExtHeaderInfo>;

    fn into_iter(self) -> Self::IntoIter {
        self.iter()
    }
}

/// Where a walk stopped.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ChainEnd {
    /// An upper-layer header of this protocol starts at [`UpperLayer::offset`].
    Upper(IpProtocol),
    /// A header said No Next Header (59): nothing follows. Bytes from
    /// [`UpperLayer::offset`] on, if any, are to be ignored.
    //= https://www.rfc-editor.org/rfc/rfc8200#section-4.7
    //# The value 59 in the Next Header field of an IPv6 header or any
    //# extension header indicates that there is nothing following that
    //# header.
    NoNextHeader,
    /// A fragment header with a nonzero offset: the bytes from
    /// [`UpperLayer::offset`] on are fragment data, to be reassembled before anything
    /// in them can be read. [`UpperLayer::fragment`] holds the header.
    FragmentData,
}

/// The result of [`walk_chain`]: what the upper layer is, where it starts, and the
/// extension headers on the way.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UpperLayer {
    /// Why the walk stopped.
    pub end: ChainEnd,
    /// Where the upper-layer header (or the ignored bytes, or the fragment data)
    /// begins, counted from the start of the IPv6 payload.
    pub offset: usize,
    /// The fragment header, when the packet had one: this packet is then a fragment
    /// (unless [`Ipv6FragmentRepr::is_atomic`]) and needs reassembly.
    pub fragment: Option<Ipv6FragmentRepr>,
    /// The extension headers passed, in order (the fragment header included).
    pub headers: ExtHeaderList,
}

impl UpperLayer {
    /// The upper-layer protocol, or `None` when the walk ended at No Next Header or
    /// in fragment data.
    pub fn protocol(&self) -> Option<IpProtocol> {
        match self.end {
            ChainEnd::Upper(p) => Some(p),
            ChainEnd::NoNextHeader | ChainEnd::FragmentData => None,
        }
    }
}

/// Walk the extension headers at the start of an IPv6 `payload`, whose first header
/// is `first` (the fixed header's Next Header), to the upper layer.
///
/// Stops, successfully, at the first number that is not a walked extension header
/// ([`ChainEnd::Upper`]), at No Next Header ([`ChainEnd::NoNextHeader`]), or after a
/// fragment header with a nonzero offset ([`ChainEnd::FragmentData`]). A first
/// fragment (offset 0) is walked through, since its extension and upper-layer headers
/// must all be in it.
///
/// Errors: [`Error::Truncated`] when a header runs past `payload`;
/// [`Error::BadOption`] when a TLV option of a hop-by-hop or destination-options
/// header runs past its header; [`Error::Illegal`] for a hop-by-hop header anywhere
/// but first; [`Error::ChainTooLong`] past [`MAX_EXT_HEADERS`] headers;
/// [`Error::Unsupported`] for a second fragment header. Never loops: each step either
/// consumes a header or returns.
pub fn walk_chain(first: IpProtocol, payload: &[u8]) -> Result<UpperLayer> {
    let mut next = first;
    let mut offset = 0usize;
    let mut fragment: Option<Ipv6FragmentRepr> = None;
    let mut headers = ExtHeaderList::new();
    loop {
        let end = |end| UpperLayer {
            end,
            offset,
            fragment,
            headers,
        };
        //= https://www.rfc-editor.org/rfc/rfc8200#section-4
        //# When processing a
        //# sequence of Next Header values in a packet, the first one that is not
        //# an extension header [IANA-EH] indicates that the next item in the
        //# packet is the corresponding upper-layer header.  A special "No Next
        //# Header" value is used if there is no upper-layer header.
        if next == IpProtocol::Ipv6NoNxt {
            return Ok(end(ChainEnd::NoNextHeader));
        }
        if !next.is_ipv6_extension() {
            return Ok(end(ChainEnd::Upper(next)));
        }
        //= https://www.rfc-editor.org/rfc/rfc8200#section-4
        //# The same
        //# action should be taken if a node encounters a Next Header value of
        //# zero in any header other than an IPv6 header.
        //= https://www.rfc-editor.org/rfc/rfc8200#section-4.1
        //# IPv6 nodes must accept and attempt to process extension headers in
        //# any order and occurring any number of times in the same packet,
        //# except for the Hop-by-Hop Options header, which is restricted to
        //# appear immediately after an IPv6 header only.
        if next == IpProtocol::HopByHop && !headers.is_empty() {
            return Err(Error::Illegal);
        }
        if headers.is_full() {
            return Err(Error::ChainTooLong);
        }
        let rest = payload.get(offset..).ok_or(Error::Truncated)?;
        // Set for a fragment header with a nonzero offset: what follows it is the middle
        // of the original packet, not a header.
        let mut fragment_data_follows = false;
        let (len, following) = match next {
            //= https://www.rfc-editor.org/rfc/rfc8200#section-4.5
            //# The Fragment
            //# header is identified by a Next Header value of 44 in the
            //# immediately preceding header
            IpProtocol::Ipv6Frag => {
                if fragment.is_some() {
                    return Err(Error::Unsupported);
                }
                let repr = Ipv6FragmentRepr::parse(&Ipv6FragmentHeader::new_checked(rest)?)?;
                fragment = Some(repr);
                fragment_data_follows = repr.frag_offset != 0;
                (FRAG_HEADER_LEN, repr.next_header)
            }
            //= https://www.rfc-editor.org/rfc/rfc8200#section-4.4
            //# The Routing header is identified by a Next
            //# Header value of 43 in the immediately preceding header
            IpProtocol::Ipv6Route => {
                let header = Ipv6RoutingHeader::new_checked(rest)?;
                (header.header_len(), header.next_header())
            }
            //= https://www.rfc-editor.org/rfc/rfc8200#section-4.3
            //# Options             Variable-length field, of length such that the
            //#                     complete Hop-by-Hop Options header is an
            //#                     integer multiple of 8 octets long.  Contains
            //#                     one or more TLV-encoded options, as described
            //#                     in Section 4.2.
            _ => {
                let header = Ipv6ExtHeader::new_checked(rest)?;
                header.check_options()?;
                (header.header_len(), header.next_header())
            }
        };
        headers.push(ExtHeaderInfo {
            kind: next,
            offset,
            len,
        })?;
        offset += len;
        next = following;
        if fragment_data_follows {
            return Ok(UpperLayer {
                end: ChainEnd::FragmentData,
                offset,
                fragment,
                headers,
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checksum;
    use crate::ipv6::tests::SYN6;
    use crate::ipv6::{Ipv6ExtHeaderRepr, Ipv6Packet, Ipv6Repr};
    use proptest::prelude::*;

    /// An MLDv2 report as Linux sends it when joining ff02::1:ff12:3456 from
    /// fe80::1: hop limit 1, hop-by-hop header with Router Alert (MLD) and PadN, then
    /// ICMPv6 type 143 with one CHANGE_TO_EXCLUDE record. The ICMPv6 checksum
    /// (0x3ca0) was computed by hand over the pseudo-header and is checked below.
    const MLD_REPORT: [u8; 76] = [
        0x60, 0x00, 0x00, 0x00, 0x00, 0x24, 0x00, 0x01, // plen 36, HBH, hlim 1
        0xfe, 0x80, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
        0x01, // src fe80::1
        0xff, 0x02, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
        0x16, // dst ff02::16
        0x3a, 0x00, 0x05, 0x02, 0x00, 0x00, 0x01, 0x00, // HBH: ICMPv6, RA(MLD), PadN
        0x8f, 0x00, 0x3c, 0xa0, 0x00, 0x00, 0x00, 0x01, // MLDv2 report, 1 record
        0x04, 0x00, 0x00, 0x00, // CHANGE_TO_EXCLUDE, no aux data, no sources
        0xff, 0x02, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01, 0xff, 0x12, 0x34,
        0x56, // ff02::1:ff12:3456
    ];

    #[test]
    fn real_mld_report_checksum_verifies() {
        let p = Ipv6Packet::new_checked(&MLD_REPORT[..]).unwrap();
        let icmp = &p.payload()[8..];
        let pseudo = checksum::pseudo_header_v6(p.src_addr(), p.dst_addr(), 58, 28);
        assert_eq!(checksum::combine(&[pseudo, checksum::data(icmp)]), 0xffff);
    }

    #[test]
    fn no_extension_headers_end_at_the_upper_layer() {
        let p = Ipv6Packet::new_checked(&SYN6[..]).unwrap();
        let up = p.walk_chain().unwrap();
        assert_eq!(up.end, ChainEnd::Upper(IpProtocol::Tcp));
        assert_eq!(up.protocol(), Some(IpProtocol::Tcp));
        assert_eq!(up.offset, 0);
        assert!(up.fragment.is_none());
        assert!(up.headers.is_empty());
    }

    #[test]
    fn real_mld_report_walks_past_hop_by_hop() {
        let p = Ipv6Packet::new_checked(&MLD_REPORT[..]).unwrap();
        let up = p.walk_chain().unwrap();
        assert_eq!(up.protocol(), Some(IpProtocol::Icmpv6));
        assert_eq!(up.offset, 8);
        assert_eq!(
            up.headers.as_slice(),
            &[ExtHeaderInfo {
                kind: IpProtocol::HopByHop,
                offset: 0,
                len: 8
            }]
        );
        assert_eq!(
            up.headers.as_slice()[0].bytes(p.payload()),
            Some(&MLD_REPORT[40..48])
        );
        assert_eq!(p.payload()[up.offset], 143);
    }

    #[test]
    fn every_truncation_of_the_mld_headers_is_truncated() {
        let payload = &MLD_REPORT[40..];
        for len in 0..8 {
            assert_eq!(
                walk_chain(IpProtocol::HopByHop, &payload[..len]).unwrap_err(),
                Error::Truncated,
                "length {len}"
            );
        }
        // From 8 bytes on, the hop-by-hop header is whole; the upper layer is the
        // ICMPv6 parser's to check.
        for len in 8..=payload.len() {
            assert!(walk_chain(IpProtocol::HopByHop, &payload[..len]).is_ok());
        }
    }

    /// Builds a payload from a list of (kind, header bytes after the next-header
    /// octet) and an upper-layer tail, chaining the next-header octets.
    fn chain(headers: &[(IpProtocol, &[u8])], upper: IpProtocol, tail: &[u8]) -> Vec<u8> {
        let mut out = Vec::new();
        for (i, (_, body)) in headers.iter().enumerate() {
            let following = headers.get(i + 1).map_or(upper, |h| h.0);
            out.push(u8::from(following));
            out.extend_from_slice(body);
        }
        out.extend_from_slice(tail);
        out
    }

    const DEST_PADN: &[u8] = &[0x00, 0x01, 0x04, 0x00, 0x00, 0x00, 0x00]; // PadN(4)
    const HBH_RA: &[u8] = &[0x00, 0x05, 0x02, 0x00, 0x00, 0x01, 0x00];
    const ROUTING_DONE: &[u8] = &[
        0x02, 0x04, 0x00, 0x00, 0x00, 0x00, 0x00, // SRH, len 24, segments left 0
        0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x99,
    ];
    const FIRST_FRAG: &[u8] = &[0x00, 0x00, 0x01, 0x12, 0x34, 0x56, 0x78]; // off 0, M
    const LATER_FRAG: &[u8] = &[0x00, 0x05, 0xa8, 0x12, 0x34, 0x56, 0x78]; // off 1448, last

    #[test]
    fn full_recommended_order_is_walked() {
        // HBH, Dest, Routing, Fragment (first), Dest, TCP: RFC 8200 section 4.1 order.
        let payload = chain(
            &[
                (IpProtocol::HopByHop, HBH_RA),
                (IpProtocol::Ipv6Opts, DEST_PADN),
                (IpProtocol::Ipv6Route, ROUTING_DONE),
                (IpProtocol::Ipv6Frag, FIRST_FRAG),
                (IpProtocol::Ipv6Opts, DEST_PADN),
            ],
            IpProtocol::Tcp,
            &SYN6[40..],
        );
        let up = walk_chain(IpProtocol::HopByHop, &payload).unwrap();
        assert_eq!(up.end, ChainEnd::Upper(IpProtocol::Tcp));
        assert_eq!(up.offset, 8 + 8 + 24 + 8 + 8);
        let kinds: Vec<_> = up
            .headers
            .iter()
            .map(|h| (h.kind, h.offset, h.len))
            .collect();
        assert_eq!(
            kinds,
            [
                (IpProtocol::HopByHop, 0, 8),
                (IpProtocol::Ipv6Opts, 8, 8),
                (IpProtocol::Ipv6Route, 16, 24),
                (IpProtocol::Ipv6Frag, 40, 8),
                (IpProtocol::Ipv6Opts, 48, 8),
            ]
        );
        let frag = up.fragment.unwrap();
        assert_eq!(frag.frag_offset, 0);
        assert!(frag.more_frags);
        assert_eq!(frag.ident, 0x1234_5678);
        assert_eq!(frag.next_header, IpProtocol::Ipv6Opts);
        // The routing header the caller may inspect further.
        let r = Ipv6RoutingHeader::new_checked(up.headers.as_slice()[2].bytes(&payload).unwrap())
            .unwrap();
        assert_eq!((r.routing_type(), r.segments_left()), (4, 0));
    }

    #[test]
    fn later_fragment_ends_the_walk_at_fragment_data() {
        let payload = chain(
            &[
                (IpProtocol::Ipv6Opts, DEST_PADN),
                (IpProtocol::Ipv6Frag, LATER_FRAG),
            ],
            IpProtocol::Udp,
            &[0xab; 32],
        );
        let up = walk_chain(IpProtocol::Ipv6Opts, &payload).unwrap();
        assert_eq!(up.end, ChainEnd::FragmentData);
        assert_eq!(up.protocol(), None);
        assert_eq!(up.offset, 16);
        assert_eq!(up.headers.len(), 2);
        let frag = up.fragment.unwrap();
        assert_eq!(frag.frag_offset, 1448);
        assert!(!frag.more_frags);
        assert_eq!(frag.next_header, IpProtocol::Udp);
    }

    #[test]
    fn fragment_data_that_looks_like_headers_is_not_walked() {
        // The data of a later fragment happens to start with bytes that would be a
        // truncated hop-by-hop header; the walk must not read them.
        let payload = chain(
            &[(IpProtocol::Ipv6Frag, LATER_FRAG)],
            IpProtocol::HopByHop,
            &[0, 9],
        );
        let up = walk_chain(IpProtocol::Ipv6Frag, &payload).unwrap();
        assert_eq!(up.end, ChainEnd::FragmentData);
        assert_eq!(up.offset, 8);
    }

    #[test]
    fn atomic_fragment_is_walked_through() {
        let atomic: &[u8] = &[0x00, 0x00, 0x00, 0, 0, 0, 7];
        let payload = chain(&[(IpProtocol::Ipv6Frag, atomic)], IpProtocol::Udp, &[0; 8]);
        let up = walk_chain(IpProtocol::Ipv6Frag, &payload).unwrap();
        assert_eq!(up.end, ChainEnd::Upper(IpProtocol::Udp));
        assert_eq!(up.offset, 8);
        assert!(up.fragment.unwrap().is_atomic());
    }

    #[test]
    fn no_next_header_ends_with_no_upper_layer() {
        let up = walk_chain(IpProtocol::Ipv6NoNxt, &[1, 2, 3]).unwrap();
        assert_eq!(up.end, ChainEnd::NoNextHeader);
        assert_eq!(up.offset, 0);
        let payload = chain(
            &[(IpProtocol::Ipv6Opts, DEST_PADN)],
            IpProtocol::Ipv6NoNxt,
            &[9; 5],
        );
        let up = walk_chain(IpProtocol::Ipv6Opts, &payload).unwrap();
        assert_eq!(up.end, ChainEnd::NoNextHeader);
        assert_eq!(up.protocol(), None);
        assert_eq!(up.offset, 8);
    }

    #[test]
    fn eight_headers_walk_and_nine_are_too_long() {
        let eight = [(IpProtocol::Ipv6Opts, DEST_PADN); 8];
        let payload = chain(&eight, IpProtocol::Tcp, &[]);
        let up = walk_chain(IpProtocol::Ipv6Opts, &payload).unwrap();
        assert_eq!(up.offset, 64);
        assert!(up.headers.is_full());
        let nine = [(IpProtocol::Ipv6Opts, DEST_PADN); 9];
        let payload = chain(&nine, IpProtocol::Tcp, &[]);
        assert_eq!(
            walk_chain(IpProtocol::Ipv6Opts, &payload).unwrap_err(),
            Error::ChainTooLong
        );
        // The bound holds even when the ninth header is cut off.
        let payload = chain(&nine, IpProtocol::Tcp, &[]);
        assert_eq!(
            walk_chain(IpProtocol::Ipv6Opts, &payload[..66]).unwrap_err(),
            Error::ChainTooLong
        );
    }

    #[test]
    fn hop_by_hop_anywhere_but_first_is_illegal() {
        let payload = chain(
            &[
                (IpProtocol::Ipv6Opts, DEST_PADN),
                (IpProtocol::HopByHop, HBH_RA),
            ],
            IpProtocol::Tcp,
            &[],
        );
        assert_eq!(
            walk_chain(IpProtocol::Ipv6Opts, &payload).unwrap_err(),
            Error::Illegal
        );
        // Twice, the second time right after the first.
        let payload = chain(
            &[
                (IpProtocol::HopByHop, HBH_RA),
                (IpProtocol::HopByHop, HBH_RA),
            ],
            IpProtocol::Tcp,
            &[],
        );
        assert_eq!(
            walk_chain(IpProtocol::HopByHop, &payload).unwrap_err(),
            Error::Illegal
        );
    }

    #[test]
    fn tlv_overrun_in_hop_by_hop_or_destination_options_is_bad_option() {
        let overrun: &[u8] = &[0x00, 0x1e, 0x05, 0, 0, 0, 0]; // 5 data octets, 4 remain
        for kind in [IpProtocol::HopByHop, IpProtocol::Ipv6Opts] {
            let payload = chain(&[(kind, overrun)], IpProtocol::Tcp, &[0; 20]);
            assert_eq!(
                walk_chain(kind, &payload).unwrap_err(),
                Error::BadOption { kind: 0x1e }
            );
        }
        // The same bytes in a routing header are type-specific data, not TLVs.
        let payload = chain(&[(IpProtocol::Ipv6Route, overrun)], IpProtocol::Tcp, &[]);
        assert!(walk_chain(IpProtocol::Ipv6Route, &payload).is_ok());
    }

    #[test]
    fn second_fragment_header_is_unsupported() {
        let payload = chain(
            &[
                (IpProtocol::Ipv6Frag, FIRST_FRAG),
                (IpProtocol::Ipv6Frag, FIRST_FRAG),
            ],
            IpProtocol::Udp,
            &[0; 8],
        );
        assert_eq!(
            walk_chain(IpProtocol::Ipv6Frag, &payload).unwrap_err(),
            Error::Unsupported
        );
    }

    #[test]
    fn every_truncation_inside_the_headers_is_truncated() {
        let payload = chain(
            &[
                (IpProtocol::HopByHop, HBH_RA),
                (IpProtocol::Ipv6Route, ROUTING_DONE),
                (IpProtocol::Ipv6Frag, FIRST_FRAG),
                (IpProtocol::Ipv6Opts, DEST_PADN),
            ],
            IpProtocol::Tcp,
            &[0; 20],
        );
        let headers_end = 8 + 24 + 8 + 8;
        for len in 0..headers_end {
            assert_eq!(
                walk_chain(IpProtocol::HopByHop, &payload[..len]).unwrap_err(),
                Error::Truncated,
                "length {len}"
            );
        }
        for len in headers_end..=payload.len() {
            assert_eq!(
                walk_chain(IpProtocol::HopByHop, &payload[..len])
                    .unwrap()
                    .offset,
                headers_end
            );
        }
    }

    #[test]
    fn packet_built_from_reprs_walks_back_to_them() {
        // Emit a whole packet, IPv6 + HBH + UDP-ish data, from reprs and walk it.
        let hbh = Ipv6ExtHeaderRepr {
            next_header: IpProtocol::Udp,
            data: &HBH_RA[1..],
        };
        let ip = Ipv6Repr {
            src_addr: "fe80::1".parse().unwrap(),
            dst_addr: "ff02::16".parse().unwrap(),
            next_header: IpProtocol::HopByHop,
            payload_len: hbh.buffer_len() + 8,
            hop_limit: 1,
            dscp: 0,
            ecn: crate::ip::Ecn::NotEct,
            flow_label: 0,
        };
        let mut buf = vec![0u8; ip.total_len()];
        ip.emit(&mut Ipv6Packet::new_unchecked(&mut buf[..]));
        hbh.emit(&mut Ipv6ExtHeader::new_unchecked(&mut buf[40..]));
        let p = Ipv6Packet::new_checked(&buf[..]).unwrap();
        let up = p.walk_chain().unwrap();
        assert_eq!(up.protocol(), Some(IpProtocol::Udp));
        assert_eq!(up.offset, 8);
        let parsed = Ipv6ExtHeaderRepr::parse(
            &Ipv6ExtHeader::new_checked(up.headers.as_slice()[0].bytes(p.payload()).unwrap())
                .unwrap(),
        )
        .unwrap();
        assert_eq!(parsed, hbh);
        assert_eq!(format!("{:?}", up.headers).matches("HopByHop").count(), 1);
        assert_eq!(ExtHeaderList::default(), ExtHeaderList::new());
        assert_eq!((&up.headers).into_iter().count(), 1);
    }

    fn arb_ext_kind() -> impl Strategy<Value = IpProtocol> {
        prop_oneof![
            Just(IpProtocol::HopByHop),
            Just(IpProtocol::Ipv6Route),
            Just(IpProtocol::Ipv6Frag),
            Just(IpProtocol::Ipv6Opts),
            Just(IpProtocol::Ipv6NoNxt),
            Just(IpProtocol::Tcp),
            Just(IpProtocol::Udp),
            Just(IpProtocol::Icmpv6),
            any::<u8>().prop_map(IpProtocol::from),
        ]
    }

    proptest! {
        #[test]
        fn arbitrary_payloads_never_panic_and_stay_in_bounds(
            first in arb_ext_kind(),
            payload in proptest::collection::vec(any::<u8>(), 0..200),
        ) {
            if let Ok(up) = walk_chain(first, &payload) {
                prop_assert!(up.offset <= payload.len());
                prop_assert!(up.headers.len() <= MAX_EXT_HEADERS);
                let mut at = 0;
                for h in &up.headers {
                    prop_assert_eq!(h.offset, at);
                    prop_assert!(h.bytes(&payload).is_some());
                    at += h.len;
                }
                prop_assert_eq!(at, up.offset);
            }
        }

        #[test]
        fn chains_of_valid_headers_walk_to_their_end(
            kinds in proptest::collection::vec(
                prop_oneof![
                    Just(IpProtocol::Ipv6Opts),
                    Just(IpProtocol::Ipv6Route),
                ],
                0..=7,
            ),
            hbh_first: bool,
            units in proptest::collection::vec(0usize..4, 8),
        ) {
            let mut list: Vec<(IpProtocol, Vec<u8>)> = Vec::new();
            if hbh_first {
                list.push((IpProtocol::HopByHop, HBH_RA.to_vec()));
            }
            for (i, &k) in kinds.iter().enumerate() {
                // Hdr Ext Len, then a single PadN filling the header.
                let n = units[i];
                let len = (n + 1) * 8;
                let mut body = vec![n as u8, 1, (len - 4) as u8];
                body.resize(len - 1, 0);
                list.push((k, body));
            }
            list.truncate(MAX_EXT_HEADERS);
            let refs: Vec<(IpProtocol, &[u8])> = list.iter().map(|(k, b)| (*k, &b[..])).collect();
            let payload = chain(&refs, IpProtocol::Tcp, &[0; 20]);
            let first = refs.first().map_or(IpProtocol::Tcp, |h| h.0);
            let up = walk_chain(first, &payload).unwrap();
            prop_assert_eq!(up.end, ChainEnd::Upper(IpProtocol::Tcp));
            prop_assert_eq!(up.offset, payload.len() - 20);
            prop_assert_eq!(up.headers.len(), refs.len());
        }
    }
}
