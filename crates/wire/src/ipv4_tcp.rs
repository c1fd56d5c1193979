//! [`Ipv4TcpSegment`]: the common IPv4 TCP packet, read from fixed offsets.
//!
//! Nearly every packet of a TCP connection over IPv4 has one IP layout: a 20-byte
//! IPv4 header (IHL 5, no options), not a fragment, protocol TCP.
//! [`Ipv4TcpSegment::parse`] reads such a packet field by field from fixed offsets,
//! without the general [`Ipv4Packet`](crate::Ipv4Packet) /
//! [`Ipv4Repr`](crate::Ipv4Repr) / [`TcpRepr::parse`] walk, and sums the IPv4
//! header and the TCP header (with its pseudo-header) in one pass over 32-bit
//! words. A TCP header of 20 bytes, or of 32 with the timestamp option in the
//! layout RFC 7323 Appendix A recommends (NOP, NOP, then the 10-byte option: every
//! data segment and ACK of a timestamped connection), is read in line; any other
//! (a SYN's or SYN-ACK's options, SACK blocks, ...) has its options read by
//! [`TcpOptions::parse_over`] out of line.
//!
//! It makes every check the general parse makes on such a packet (the lengths
//! against each other and the buffer, the header checksum, the option lengths) and
//! gives the same values; any packet of another IP layout (IP options, a fragment,
//! another protocol) or that the general parse refuses (a bad header checksum,
//! truncated lengths, a data offset below 5 or past the segment, an illegal option
//! length) is `None`, and the caller takes the general path, which explains why.
//! The TCP checksum is left to the caller, who may sum the payload while copying
//! it: [`Ipv4TcpSegment::header_sum`] is the part over the headers.

use core::net::Ipv4Addr;

use crate::checksum;
use crate::ip::{ChecksumMode, Ecn};
use crate::seq::SeqNumber;
use crate::tcp::{TcpFlags, TcpOptions, TcpRepr, TcpTimestamp};

/// The IPv4 protocol number of TCP.
const PROTOCOL_TCP: u8 = 6;

/// Version 4, IHL 5: the first byte of an IPv4 header without options.
const VERSION_IHL_5: u8 = 0x45;

/// The More Fragments flag and the fragment offset (the reserved flag and DF do not
/// make a fragment).
const MF_AND_OFFSET: u16 = 0x3fff;

/// The first four bytes of the option area in RFC 7323 Appendix A's layout.
//= https://www.rfc-editor.org/rfc/rfc7323#appendix-A
const NOP_NOP_TIMESTAMP: [u8; 4] = [1, 1, 8, 10];

/// A TCP segment in an IPv4 packet of the common layout (see the module doc).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Ipv4TcpSegment<'a> {
    /// The IPv4 source address.
    pub src_addr: Ipv4Addr,
    /// The IPv4 destination address.
    pub dst_addr: Ipv4Addr,
    /// The ECN codepoint of the IPv4 header.
    pub ecn: Ecn,
    /// The TCP segment, as [`TcpRepr::parse`] gives it.
    pub tcp: TcpRepr<'a>,
    /// The TCP header and payload: the IPv4 payload up to the total length.
    pub segment: &'a [u8],
    /// The one's-complement sum of the TCP pseudo-header (of `segment`'s length)
    /// and of the TCP header.
    header_sum: u16,
}

impl<'a> Ipv4TcpSegment<'a> {
    /// The segment in `bytes`, an IPv4 packet, when it has the common IP layout,
    /// its TCP header and options are well-formed and its header checksum
    /// verifies (checked only with [`ChecksumMode::Enabled`]). `None` for any
    /// other packet, valid or not: the general parse then decides.
    // Inlined: the caller reads the fields where they are made, instead of a
    // copy of the whole (large) segment.
    #[inline(always)]
    pub fn parse(bytes: &'a [u8], ip_checksum: ChecksumMode) -> Option<Ipv4TcpSegment<'a>> {
        Self::parse_with::<true>(bytes, ip_checksum)
    }

    /// [`parse`](Self::parse) of the segments of a bulk transfer alone: `None`
    /// also for a TCP header with options other than the timestamp in RFC 7323
    /// Appendix A's layout (or none), which `parse` reads out of line. For a
    /// caller that takes nothing else on its path (a run of predicted segments)
    /// and is best without the call.
    #[inline(always)]
    pub fn parse_common(bytes: &'a [u8], ip_checksum: ChecksumMode) -> Option<Ipv4TcpSegment<'a>> {
        Self::parse_with::<false>(bytes, ip_checksum)
    }

    /// [`parse`](Self::parse), or with `ANY_OPTIONS` false
    /// [`parse_common`](Self::parse_common).
    #[inline(always)]
    fn parse_with<const ANY_OPTIONS: bool>(
        bytes: &'a [u8],
        ip_checksum: ChecksumMode,
    ) -> Option<Ipv4TcpSegment<'a>> {
        let (ip, rest) = bytes.split_first_chunk::<20>()?;
        let [version_ihl, tos, len0, len1, _, _, frag0, frag1, _, protocol, _, _, s0, s1, s2, s3, d0, d1, d2, d3] =
            *ip;
        if version_ihl != VERSION_IHL_5
            || protocol != PROTOCOL_TCP
            || u16::from_be_bytes([frag0, frag1]) & MF_AND_OFFSET != 0
        {
            return None;
        }
        // Total length: at least the two fixed headers, at most the buffer (bytes
        // past it are link-layer padding, as the general parse takes them).
        let total = usize::from(u16::from_be_bytes([len0, len1]));
        let segment = rest.get(..total.checked_sub(20)?)?;
        let (tcp, after) = segment.split_first_chunk::<20>()?;
        // The options of a layout other than the two read here are left to
        // `TcpOptions::parse_over` (`other`).
        let (timestamp, options_sum, payload, other) = match tcp[12] >> 4 {
            5 => (None, 0, after, None),
            // Without other layouts to fall back to, the layout is checked
            // after the split, on the array (what the bulk transfer's parse is
            // fastest with).
            8 if !ANY_OPTIONS || after.starts_with(&NOP_NOP_TIMESTAMP) => {
                let (bytes, payload) = after.split_first_chunk::<12>()?;
                let [nop_ts @ .., a0, a1, a2, a3, b0, b1, b2, b3] = *bytes;
                if nop_ts != NOP_NOP_TIMESTAMP {
                    return None;
                }
                let ts = TcpTimestamp {
                    tsval: u32::from_be_bytes([a0, a1, a2, a3]),
                    tsecr: u32::from_be_bytes([b0, b1, b2, b3]),
                };
                (Some(ts), words(bytes), payload, None)
            }
            offset if ANY_OPTIONS => {
                let (bytes, sum, payload) = option_area(after, offset)?;
                (None, sum, payload, Some(bytes))
            }
            _ => return None,
        };
        // The IPv4 header's words; its two address words also start the TCP
        // pseudo-header.
        let (_, addr_bytes) = ip.split_last_chunk::<8>()?;
        let addrs = words(addr_bytes);
        if ip_checksum == ChecksumMode::Enabled {
            //= https://www.rfc-editor.org/rfc/rfc791#section-3.1
            //# The checksum field is the 16 bit one's complement of the one's
            //# complement sum of all 16 bit words in the header.
            if checksum::finish_native(words(ip)) != 0xffff {
                return None;
            }
        }
        // The pseudo-header's last four bytes: zero, the protocol, the TCP length
        // (below 65,536: it is part of the total length).
        let length = (segment.len() as u16).to_be_bytes();
        let pseudo = addrs + words(&[0, PROTOCOL_TCP, length[0], length[1]]);
        let header_sum = checksum::finish_native(pseudo + words(tcp) + options_sum);
        let [sp0, sp1, dp0, dp1, q0, q1, q2, q3, a0, a1, a2, a3, offset_ae, flags, w0, w1, _, _, u0, u1] =
            *tcp;
        let ae = u16::from(offset_ae & 0x01) << 8;
        let mut options = TcpOptions {
            timestamp,
            ..TcpOptions::new()
        };
        if let Some(bytes) = other {
            // Over the options in place (they are `TcpOptions::new()` here:
            // no timestamp in this layout), as `TcpOptions::parse` reads them.
            if options.parse_over(bytes).is_err() {
                return None;
            }
        }
        Some(Ipv4TcpSegment {
            src_addr: Ipv4Addr::new(s0, s1, s2, s3),
            dst_addr: Ipv4Addr::new(d0, d1, d2, d3),
            ecn: Ecn::from_bits(tos),
            tcp: TcpRepr {
                src_port: u16::from_be_bytes([sp0, sp1]),
                dst_port: u16::from_be_bytes([dp0, dp1]),
                seq_number: SeqNumber(u32::from_be_bytes([q0, q1, q2, q3])),
                ack_number: SeqNumber(u32::from_be_bytes([a0, a1, a2, a3])),
                flags: TcpFlags::from_bits_truncate(ae | u16::from(flags)),
                window_len: u16::from_be_bytes([w0, w1]),
                urgent_pointer: u16::from_be_bytes([u0, u1]),
                options,
                payload,
            },
            segment,
            header_sum,
        })
    }

    /// The one's-complement sum of the TCP pseudo-header and the TCP header: with
    /// the payload's sum it makes the segment's (`0xffff` when the checksum
    /// verifies). The header is a whole number of words, so the payload's sum starts
    /// at an even offset and [`checksum::combine`] joins the two.
    #[inline]
    pub fn header_sum(&self) -> u16 {
        self.header_sum
    }
}

/// The TCP segment `segment` (header and payload) of an IP packet of the common
/// layout, read from fixed offsets as the module doc says: the segment as
/// [`TcpRepr::parse`] gives it and the sum of its pseudo-header and header.
/// `addrs` is the sum of the pseudo-header's addresses as native-endian 32-bit
/// words (the IPv6 header's last 32 bytes). For
/// [`Ipv6TcpSegment`](crate::Ipv6TcpSegment): the same steps as the TCP part of
/// [`Ipv4TcpSegment::parse`], which keeps its own copy, in line between its IP
/// header's checks (sharing this function cost the IPv4 receive path about 20
/// instructions a segment, session 13 measured: its code came out otherwise).
#[inline(always)]
pub(crate) fn parse_tcp(segment: &[u8], addrs: u64) -> Option<(TcpRepr<'_>, u16)> {
    let (tcp, after) = segment.split_first_chunk::<20>()?;
    // The options of a layout other than the two read here are left to
    // `TcpOptions::parse_over` (`other`).
    let (timestamp, options_sum, payload, other) = match tcp[12] >> 4 {
        5 => (None, 0, after, None),
        8 if after.starts_with(&NOP_NOP_TIMESTAMP) => {
            let (bytes, payload) = after.split_first_chunk::<12>()?;
            let [_, _, _, _, a0, a1, a2, a3, b0, b1, b2, b3] = *bytes;
            let ts = TcpTimestamp {
                tsval: u32::from_be_bytes([a0, a1, a2, a3]),
                tsecr: u32::from_be_bytes([b0, b1, b2, b3]),
            };
            (Some(ts), words(bytes), payload, None)
        }
        offset => {
            let (bytes, sum, payload) = option_area(after, offset)?;
            (None, sum, payload, Some(bytes))
        }
    };
    // The pseudo-header's last words: zero, the protocol, the TCP length (below
    // 65,536: it is part of the IP packet's 16-bit length field). IPv6's
    // pseudo-header has the length as 32 bits and the next header after three
    // zero bytes (RFC 8200 section 8.1): the same 16-bit words, so the same sum.
    let length = (segment.len() as u16).to_be_bytes();
    let pseudo = addrs + words(&[0, PROTOCOL_TCP, length[0], length[1]]);
    let header_sum = checksum::finish_native(pseudo + words(tcp) + options_sum);
    let [sp0, sp1, dp0, dp1, q0, q1, q2, q3, a0, a1, a2, a3, offset_ae, flags, w0, w1, _, _, u0, u1] =
        *tcp;
    let ae = u16::from(offset_ae & 0x01) << 8;
    let mut options = TcpOptions {
        timestamp,
        ..TcpOptions::new()
    };
    if let Some(bytes) = other {
        // Over the options in place (they are `TcpOptions::new()` here:
        // no timestamp in this layout), as `TcpOptions::parse` reads them.
        if options.parse_over(bytes).is_err() {
            return None;
        }
    }
    Some((
        TcpRepr {
            src_port: u16::from_be_bytes([sp0, sp1]),
            dst_port: u16::from_be_bytes([dp0, dp1]),
            seq_number: SeqNumber(u32::from_be_bytes([q0, q1, q2, q3])),
            ack_number: SeqNumber(u32::from_be_bytes([a0, a1, a2, a3])),
            flags: TcpFlags::from_bits_truncate(ae | u16::from(flags)),
            window_len: u16::from_be_bytes([w0, w1]),
            urgent_pointer: u16::from_be_bytes([u0, u1]),
            options,
            payload,
        },
        header_sum,
    ))
}

/// The option area of a TCP header of data offset `offset` (in words) other
/// than the two layouts [`Ipv4TcpSegment::parse`] reads in line (a SYN's, a
/// SACK's, ...), from `after`, the segment past the fixed 20 bytes: the option
/// bytes, their sum and the payload. `None` where [`TcpRepr::parse`] fails on
/// the length: a data offset below 5 or past the segment.
// Out of line, as `TcpOptions::parse_over`: the common layouts' code stays dense.
#[inline(never)]
fn option_area(after: &[u8], offset: u8) -> Option<(&[u8], u64, &[u8])> {
    let len = usize::from(offset).checked_sub(5)? * 4;
    let (bytes, payload) = after.split_at_checked(len)?;
    Some((bytes, words_of(bytes), payload))
}

/// The sum of `bytes` as native-endian 32-bit words (a multiple of four bytes),
/// unreduced, for [`checksum::finish_native`].
#[inline(always)]
pub(crate) fn words<const N: usize>(bytes: &[u8; N]) -> u64 {
    words_of(bytes)
}

/// [`words`] of a slice (its length a multiple of four; a last partial word
/// counts as zero, which no caller has).
#[inline(always)]
fn words_of(bytes: &[u8]) -> u64 {
    let mut sum = 0u64;
    for word in bytes.chunks_exact(4) {
        sum += u64::from(u32::from_ne_bytes(word.try_into().unwrap_or([0; 4])));
    }
    sum
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ip::{AddrPair, IpProtocol};
    use crate::ipv4::{Ipv4Packet, Ipv4Repr};
    use crate::tcp::TcpPacket;
    use core::net::IpAddr;
    use proptest::prelude::*;

    /// An IPv4 packet carrying a TCP segment with these options and payload,
    /// checksums filled.
    fn packet(tcp_options: &[u8], payload: &[u8]) -> Vec<u8> {
        let tcp_len = 20 + tcp_options.len() + payload.len();
        let total = (20 + tcp_len) as u16;
        let mut p = vec![
            0x45, 0x02, 0, 0, 0x12, 0x34, 0x40, 0, 64, 6, 0, 0, 10, 0, 0, 1, 10, 0, 0, 2,
        ];
        p[2..4].copy_from_slice(&total.to_be_bytes());
        p.extend_from_slice(&[
            0xc0, 0x01, 0x00, 0x50, 1, 2, 3, 4, 5, 6, 7, 8, 0, 0x18, 0x01, 0xf5, 0, 0, 0, 7,
        ]);
        p[32] = (((20 + tcp_options.len()) / 4) as u8) << 4;
        p.extend_from_slice(tcp_options);
        p.extend_from_slice(payload);
        let sum = checksum::finish(checksum::data(&p[..20]));
        p[10..12].copy_from_slice(&sum.to_be_bytes());
        let pseudo = checksum::pseudo_header_v4(
            Ipv4Addr::new(10, 0, 0, 1),
            Ipv4Addr::new(10, 0, 0, 2),
            6,
            tcp_len as u16,
        );
        let sum = checksum::finish(checksum::combine(&[pseudo, checksum::data(&p[20..])]));
        p[36..38].copy_from_slice(&sum.to_be_bytes());
        p
    }

    const TIMESTAMP: [u8; 12] = [1, 1, 8, 10, 0, 0, 1, 0, 0, 0, 2, 0];

    /// What the general parse makes of `bytes`, when it is a TCP segment of the
    /// IP layout [`Ipv4TcpSegment`] reads (the reference for the fixed-offset parse):
    /// the addresses, the ECN codepoint, the segment, and the header sum the stack
    /// computes for a deferred checksum.
    fn general(bytes: &[u8]) -> Option<(Ipv4Addr, Ipv4Addr, Ecn, TcpRepr<'_>, u16)> {
        let ip = Ipv4Packet::new_checked(bytes).ok()?;
        let repr = Ipv4Repr::parse(&ip, ChecksumMode::Enabled).ok()?;
        if ip.header_len() != 20
            || repr.more_frags
            || repr.frag_offset != 0
            || repr.protocol != IpProtocol::Tcp
        {
            return None;
        }
        let segment = &bytes[20..usize::from(ip.total_len())];
        let tcp = TcpPacket::new_checked(segment).ok()?;
        let addrs = AddrPair::new(IpAddr::V4(repr.src_addr), IpAddr::V4(repr.dst_addr))?;
        let seg = TcpRepr::parse(&tcp, &addrs, ChecksumMode::Offloaded).ok()?;
        let header_len = usize::from(tcp.header_len());
        let sum = checksum::combine(&[
            addrs.pseudo_header(IpProtocol::Tcp, segment.len()),
            checksum::data(&segment[..header_len]),
        ]);
        Some((repr.src_addr, repr.dst_addr, repr.ecn, seg, sum))
    }

    fn fixed(bytes: &[u8]) -> Option<(Ipv4Addr, Ipv4Addr, Ecn, TcpRepr<'_>, u16)> {
        let s = Ipv4TcpSegment::parse(bytes, ChecksumMode::Enabled)?;
        Some((s.src_addr, s.dst_addr, s.ecn, s.tcp, s.header_sum()))
    }

    #[test]
    fn timestamped_and_bare_segments_read_as_the_general_parse_reads_them() {
        for options in [&TIMESTAMP[..], &[]] {
            let p = packet(options, b"hello, world");
            let got = fixed(&p).expect("common layout");
            assert_eq!(Some(got), general(&p));
            assert_eq!(got.3.payload, b"hello, world");
            assert_eq!(got.3.seq_number, SeqNumber(0x0102_0304));
            assert_eq!(got.3.flags, TcpFlags::ACK | TcpFlags::PSH);
            // The header sum and the payload's make the whole segment's.
            let payload = checksum::data(got.3.payload);
            assert_eq!(checksum::combine(&[got.4, payload]), 0xffff);
        }
    }

    /// A SYN's options in Linux's layout: MSS, SACK-permitted, timestamps, NOP,
    /// window scale.
    const SYN_OPTIONS: [u8; 20] = [
        2, 4, 5, 0xb4, 4, 2, 8, 10, 0, 0, 1, 0, 0, 0, 0, 0, 1, 3, 3, 7,
    ];

    #[test]
    fn other_tcp_options_read_as_the_general_parse_reads_them() {
        let cases: Vec<(&str, Vec<u8>)> = vec![
            ("SYN options", packet(&SYN_OPTIONS, b"")),
            ("SYN options and data", packet(&SYN_OPTIONS, b"x")),
            (
                "SACK-permitted",
                packet(&[4, 2, 8, 10, 0, 0, 1, 0, 0, 0, 2, 0], b"x"),
            ),
            ("four NOPs", packet(&[1, 1, 1, 1], b"x")),
            ("timestamp and SACK", {
                let mut o = TIMESTAMP.to_vec();
                o.extend_from_slice(&[1, 1, 5, 10, 0, 0, 0, 1, 0, 0, 0, 2]);
                packet(&o, b"x")
            }),
            ("MSS", packet(&[2, 4, 5, 0xb4], b"x")),
            ("40 bytes of NOPs", packet(&[1; 40], b"x")),
            ("end of list, then garbage", packet(&[0, 99, 99, 99], b"x")),
            ("unknown option", packet(&[1, 1, 99, 2], b"x")),
        ];
        for (name, p) in &cases {
            let got = fixed(p);
            assert!(got.is_some(), "{name}");
            assert_eq!(got, general(p), "{name}");
            let (.., tcp, sum) = got.unwrap_or_else(|| unreachable!());
            assert_eq!(
                checksum::combine(&[sum, checksum::data(tcp.payload)]),
                0xffff,
                "{name}"
            );
        }
        let syn = fixed(&cases[0].1).map(|f| f.3.options);
        assert_eq!(
            syn,
            Some(TcpOptions {
                mss: Some(1460),
                window_scale: Some(7),
                sack_permitted: true,
                timestamp: Some(TcpTimestamp {
                    tsval: 256,
                    tsecr: 0
                }),
                ..TcpOptions::new()
            })
        );
    }

    #[test]
    fn other_layouts_and_bad_headers_are_left_to_the_general_parse() {
        let good = packet(&TIMESTAMP, b"data");
        let mut cases: Vec<(&str, Vec<u8>)> = vec![
            ("truncated", good[..good.len() - 1].to_vec()),
            ("headers only, cut", good[..39].to_vec()),
            ("MSS of a bad length", packet(&[2, 3, 5, 0xb4], b"x")),
            ("option of length 0", packet(&[1, 1, 99, 0], b"x")),
            ("option of length 1", packet(&[1, 1, 99, 1], b"x")),
            ("option past the header", packet(&[1, 1, 99, 3], b"x")),
            ("timestamp of a bad length", {
                let mut o = TIMESTAMP;
                o[3] = 9;
                packet(&o, b"x")
            }),
            ("data offset past the segment", {
                let mut p = packet(&SYN_OPTIONS[..16], b"");
                p[32] = 0xa0;
                p
            }),
        ];
        let mut edit = |name: &'static str, f: &dyn Fn(&mut Vec<u8>)| {
            let mut p = good.clone();
            f(&mut p);
            cases.push((name, p));
        };
        edit("IHL 6", &|p| p[0] = 0x46);
        edit("IHL 4", &|p| p[0] = 0x44);
        edit("version 6", &|p| p[0] = 0x65);
        edit("more fragments", &|p| p[6] |= 0x20);
        edit("fragment offset", &|p| p[7] = 1);
        edit("UDP", &|p| p[9] = 17);
        edit("bad header checksum", &|p| p[10] ^= 1);
        edit("total length past the buffer", &|p| p[3] += 1);
        edit("total length below the headers", &|p| {
            p[2..4].copy_from_slice(&[0, 39])
        });
        edit("data offset 6, timestamp cut", &|p| p[32] = 0x60);
        edit("data offset 15", &|p| p[32] = 0xf0);
        edit("data offset 4", &|p| p[32] = 0x40);
        edit("data offset 0", &|p| p[32] = 0x00);
        for (name, p) in &cases {
            assert_eq!(
                Ipv4TcpSegment::parse(p, ChecksumMode::Enabled),
                None,
                "{name}"
            );
            assert_eq!(general(p), None, "{name}");
        }
        // Without header checksum verification, a bad one does not matter.
        let mut p = good.clone();
        p[10] ^= 1;
        assert!(Ipv4TcpSegment::parse(&p, ChecksumMode::Offloaded).is_some());
    }

    proptest! {
        #[test]
        fn fixed_parse_agrees_with_the_general_parse_on_mangled_packets(
            layout in 0usize..3,
            payload in proptest::collection::vec(any::<u8>(), 0..200),
            edits in proptest::collection::vec((0usize..64, any::<u8>()), 0..4),
            cut in 0usize..300,
        ) {
            let options: &[u8] = [&TIMESTAMP[..], &[], &SYN_OPTIONS][layout];
            let mut p = packet(options, &payload);
            for (at, byte) in edits {
                if let Some(b) = p.get_mut(at) {
                    *b = byte;
                }
            }
            p.truncate(p.len().saturating_sub(cut % 8));
            prop_assert_eq!(fixed(&p), general(&p));
            // The bulk transfer's parse reads the same, or leaves the segment
            // to `parse` when its options are not the timestamp alone.
            let any = Ipv4TcpSegment::parse(&p, ChecksumMode::Enabled);
            let common = Ipv4TcpSegment::parse_common(&p, ChecksumMode::Enabled);
            let ts_or_none = |s: &Ipv4TcpSegment<'_>| {
                let tcp_len = s.segment.len() - s.tcp.payload.len();
                tcp_len == 20 || (tcp_len == 32 && s.segment[20..24] == NOP_NOP_TIMESTAMP)
            };
            prop_assert_eq!(common, any.filter(ts_or_none));
        }
    }
}
