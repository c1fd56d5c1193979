//! A segment template: what stays the same in the IP and TCP headers of a TCP
//! connection's segments (version, TTL or hop limit, DSCP, protocol, addresses),
//! with the addresses summed once for both the IPv4 header checksum and the TCP
//! pseudo-header, so that the headers of a common segment are written as arrays
//! and checksummed from the few fields that change, not read back.
//!
//! It is made per segment from the connection's addresses and socket options (a
//! few additions), so that nothing is kept that could go stale when the
//! application changes the TTL or DSCP, and the connection's state does not grow.
//!
//! What it writes is byte for byte what [`Ipv4Repr::emit`](crate::Ipv4Repr::emit)
//! (no options, Don't Fragment set), [`Ipv6Repr::emit`](crate::Ipv6Repr::emit) (flow
//! label zero) and [`TcpRepr::emit`](crate::TcpRepr::emit) (options: none, or the
//! timestamp alone in the NOP, NOP, TS layout) write; the tests check it. Anything
//! else (SYNs, RSTs, SACK blocks) goes through the
//! `Repr`s.
//!
//! The checksums are sums of 16-bit words, and a 32-bit big-endian field adds up to
//! the same one's-complement sum as its two halves (2^16 = 1 modulo 0xffff), so the
//! sums here are taken over whole fields, never over the bytes written.

use core::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use crate::ip::{AddrPair, ChecksumMode, Ecn, IpProtocol};
use crate::seq::SeqNumber;
use crate::tcp::TcpFlags;

/// The IPv4 header length without options.
const IPV4_HEADER: usize = 20;
/// The IPv6 fixed header length.
const IPV6_HEADER: usize = 40;
/// The TCP header without options.
const TCP_HEADER: usize = 20;
/// NOP, NOP, then the timestamp option's kind (8) and length (10).
const TS_PREFIX: [u8; 4] = [1, 1, 8, 10];

/// Folds a wide one's-complement accumulator to 16 bits, in a fixed number of steps
/// (each keeps the value modulo 0xffff and never makes a nonzero sum zero): the
/// same result as folding until it fits, without the loop.
#[inline]
fn fold(sum: u64) -> u16 {
    let sum = (sum & 0xffff_ffff) + (sum >> 32); // < 2^33
    let sum = (sum & 0xffff) + (sum >> 16); // < 2^18
    let sum = (sum & 0xffff) + (sum >> 16); // < 2^16 + 4
    let sum = (sum & 0xffff) + (sum >> 16); // <= 0xffff
    sum as u16
}

/// The sum of the 16-bit words of `bytes` (an even number of them).
fn words(bytes: &[u8]) -> u64 {
    bytes
        .chunks_exact(2)
        .map(|w| u64::from(u16::from_be_bytes([w[0], w[1]])))
        .sum()
}

/// The pseudo-header of an upper-layer checksum without its length: the addresses
/// and the protocol, summed once per connection.
//= https://www.rfc-editor.org/rfc/rfc9293#section-3.1
//# The checksum also covers a pseudo-header (Figure 2) conceptually
//# prefixed to the TCP header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PseudoHeader {
    /// The addresses' and the protocol's words, summed (folded at the end only).
    base: u64,
    v6: bool,
}

impl PseudoHeader {
    /// The pseudo-header of `protocol` between `addrs`.
    pub fn new(addrs: &AddrPair, protocol: IpProtocol) -> PseudoHeader {
        let (sum, v6) = match *addrs {
            AddrPair::V4 { src, dst } => (words(&src.octets()) + words(&dst.octets()), false),
            AddrPair::V6 { src, dst } => (words(&src.octets()) + words(&dst.octets()), true),
        };
        PseudoHeader {
            base: sum + u64::from(u8::from(protocol)),
            v6,
        }
    }

    /// The pseudo-header's sum for a packet of `length` bytes, as
    /// [`AddrPair::pseudo_header`] gives it (over IPv4 the length is 16 bits).
    #[inline]
    pub fn sum(&self, length: usize) -> u16 {
        fold(self.raw(length))
    }

    /// The checksum field of a `length`-byte packet whose header words sum to
    /// `header` (folded or not) and payload to `payload` (each starting at an even
    /// offset).
    #[inline]
    pub fn checksum(&self, length: usize, header: u64, payload: u16) -> u16 {
        !fold(self.raw(length) + header + u64::from(payload))
    }

    /// The unfolded sum.
    #[inline]
    fn raw(&self, length: usize) -> u64 {
        let length = if self.v6 {
            u64::from(length as u32)
        } else {
            u64::from(length as u16)
        };
        self.base + length
    }
}

/// The fields of a TCP header that [`emit_tcp_header`] writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TcpHeaderFields {
    /// The sequence number.
    pub seq_number: SeqNumber,
    /// The acknowledgment number (zero without the ACK flag).
    pub ack_number: SeqNumber,
    /// The control bits.
    pub flags: TcpFlags,
    /// The window field, already scaled.
    pub window_len: u16,
    /// The urgent pointer.
    pub urgent_pointer: u16,
    /// The timestamp option's TSval and TSecr, if the segment carries it.
    pub timestamp: Option<(u32, u32)>,
}

impl TcpHeaderFields {
    /// The header's length: 20 bytes, 32 with the timestamp.
    #[inline]
    pub fn header_len(&self) -> usize {
        TCP_HEADER + if self.timestamp.is_some() { 12 } else { 0 }
    }
}

/// What stays the same in the headers of a TCP connection's segments: the
/// addresses, TTL and DSCP, and their sums (the addresses summed once for both the
/// IPv4 header checksum and the TCP pseudo-header). See the
/// [module documentation](self).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SegmentTemplate {
    addrs: AddrPair,
    /// IPv4: the sum of the header's constant words (version and length, Don't
    /// Fragment, TTL and protocol, addresses), unfolded. Unused over IPv6.
    ip_sum: u64,
    pseudo: PseudoHeader,
    /// The TTL (hop limit) and DSCP.
    ttl: u8,
    dscp: u8,
}

impl SegmentTemplate {
    /// The template of TCP segments from `src` to `dst` (addresses of one family;
    /// `None` otherwise) with `ttl` (the IPv6 hop limit) and `dscp`.
    pub fn new(src: IpAddr, dst: IpAddr, ttl: u8, dscp: u8) -> Option<SegmentTemplate> {
        match AddrPair::new(src, dst)? {
            AddrPair::V4 { src, dst } => Some(Self::new_v4(src, dst, ttl, dscp)),
            AddrPair::V6 { src, dst } => Some(Self::new_v6(src, dst, ttl, dscp)),
        }
    }

    /// [`new`](Self::new) for two IPv4 addresses.
    #[inline]
    pub fn new_v4(src: Ipv4Addr, dst: Ipv4Addr, ttl: u8, dscp: u8) -> SegmentTemplate {
        let protocol = u64::from(u8::from(IpProtocol::Tcp));
        let addresses = u64::from(u32::from_be_bytes(src.octets()))
            + u64::from(u32::from_be_bytes(dst.octets()));
        SegmentTemplate {
            addrs: AddrPair::V4 { src, dst },
            ip_sum: 0x4500 + 0x4000 + (u64::from(ttl) << 8) + protocol + addresses,
            pseudo: PseudoHeader {
                base: addresses + protocol,
                v6: false,
            },
            ttl,
            dscp,
        }
    }

    /// [`new`](Self::new) for two IPv6 addresses. (Its caller in the stack,
    /// `Connection::segment_template_v6`, is the out-of-line part.)
    #[inline]
    pub fn new_v6(src: Ipv6Addr, dst: Ipv6Addr, ttl: u8, dscp: u8) -> SegmentTemplate {
        let protocol = u64::from(u8::from(IpProtocol::Tcp));
        let halves = |x: u128| {
            u64::from((x >> 96) as u32)
                + u64::from((x >> 64) as u32)
                + u64::from((x >> 32) as u32)
                + u64::from(x as u32)
        };
        let addresses =
            halves(u128::from_be_bytes(src.octets())) + halves(u128::from_be_bytes(dst.octets()));
        SegmentTemplate {
            addrs: AddrPair::V6 { src, dst },
            ip_sum: 0,
            pseudo: PseudoHeader {
                base: addresses + protocol,
                v6: true,
            },
            ttl,
            dscp,
        }
    }

    /// The IP header's length: 20 (IPv4) or 40 (IPv6).
    #[inline]
    pub fn ip_header_len(&self) -> usize {
        match self.addrs {
            AddrPair::V4 { .. } => IPV4_HEADER,
            AddrPair::V6 { .. } => IPV6_HEADER,
        }
    }

    /// The TCP pseudo-header (addresses and protocol).
    #[inline]
    pub fn pseudo_header(&self) -> PseudoHeader {
        self.pseudo
    }

    /// Writes the IP header of a `segment_len`-byte TCP segment with codepoint `ecn`
    /// (and, over IPv4, identification `ident`) at the start of `out`; returns its
    /// length, or `None` if `out` is shorter.
    #[inline]
    pub fn emit_ip_header(
        &self,
        out: &mut [u8],
        segment_len: usize,
        ecn: Ecn,
        ident: u16,
        checksum: ChecksumMode,
    ) -> Option<usize> {
        let class = (self.dscp << 2) | ecn.bits();
        match self.addrs {
            AddrPair::V4 { src, dst } => {
                let out = out.get_mut(..IPV4_HEADER)?;
                let total = (IPV4_HEADER + segment_len) as u16;
                let sum = match checksum {
                    ChecksumMode::Enabled => {
                        !fold(self.ip_sum + u64::from(class) + u64::from(total) + u64::from(ident))
                    }
                    ChecksumMode::Offloaded => 0,
                };
                let [t0, t1] = total.to_be_bytes();
                let [i0, i1] = ident.to_be_bytes();
                let [c0, c1] = sum.to_be_bytes();
                let (head, addresses) = out.split_at_mut(12);
                head.copy_from_slice(&[
                    0x45,
                    class,
                    t0,
                    t1,
                    i0,
                    i1,
                    0x40, // Don't Fragment
                    0,
                    self.ttl,
                    u8::from(IpProtocol::Tcp),
                    c0,
                    c1,
                ]);
                // Each address as one 32-bit word.
                let (out_src, out_dst) = addresses.split_at_mut(4);
                out_src.copy_from_slice(&src.octets());
                out_dst.copy_from_slice(&dst.octets());
                Some(IPV4_HEADER)
            }
            AddrPair::V6 { src, dst } => {
                emit_ipv6_header(out, segment_len, class, self.ttl, &src, &dst)
            }
        }
    }
}

/// [`SegmentTemplate::emit_ip_header`] over IPv6: traffic class `class`, hop
/// limit `hop_limit`. Out of line and cold: the IPv4 path through
/// [`SegmentTemplate::emit_ip_header`], inlined into the stack's transmit loop,
/// comes out shorter with the IPv6 branch known to be unlikely (session 13
/// measured taking `#[cold]` away: IPv4 +49 instructions a connection, IPv6
/// -7); for IPv6 it costs nothing but the code's place.
#[cold]
#[inline(never)]
fn emit_ipv6_header(
    out: &mut [u8],
    segment_len: usize,
    class: u8,
    hop_limit: u8,
    src: &Ipv6Addr,
    dst: &Ipv6Addr,
) -> Option<usize> {
    let out = out.get_mut(..IPV6_HEADER)?;
    let [l0, l1] = (segment_len as u16).to_be_bytes();
    // Version 6, the traffic class, a zero flow label.
    out[..8].copy_from_slice(&[
        0x60 | (class >> 4),
        class << 4,
        0,
        0,
        l0,
        l1,
        u8::from(IpProtocol::Tcp),
        hop_limit,
    ]);
    out[8..24].copy_from_slice(&src.octets());
    out[24..40].copy_from_slice(&dst.octets());
    Some(IPV6_HEADER)
}

/// Writes the TCP header from `src_port` to `dst_port` that `fields` describe
/// (checksum field zero) at the start of `out`; returns its length and the sum of
/// its words (unfolded, for [`PseudoHeader::checksum`]), or `None` if `out` is
/// shorter. The bytes are those
/// [`TcpRepr::emit_unsummed`](crate::TcpRepr::emit_unsummed) writes for the same
/// header with no option but the timestamp.
#[inline]
pub fn emit_tcp_header(
    out: &mut [u8],
    src_port: u16,
    dst_port: u16,
    fields: &TcpHeaderFields,
) -> Option<(usize, u64)> {
    let len = fields.header_len();
    let mut h = [0u8; TCP_HEADER + 12];
    let (fixed, _) = h.split_first_chunk_mut::<TCP_HEADER>()?;
    let sum = emit_tcp_fixed_header(fixed, src_port, dst_port, fields, len);
    // Two fixed-size copies rather than one of a variable length (a call to memcpy).
    match fields.timestamp {
        Some((tsval, tsecr)) => {
            h[20..24].copy_from_slice(&TS_PREFIX);
            h[24..28].copy_from_slice(&tsval.to_be_bytes());
            h[28..32].copy_from_slice(&tsecr.to_be_bytes());
            out.get_mut(..TCP_HEADER + 12)?.copy_from_slice(&h);
            let ts = u64::from(u32::from_be_bytes(TS_PREFIX)) + u64::from(tsval) + u64::from(tsecr);
            Some((len, sum + ts))
        }
        None => {
            out.get_mut(..TCP_HEADER)?.copy_from_slice(&h[..TCP_HEADER]);
            Some((len, sum))
        }
    }
}

/// Writes the 20-byte fixed part of the TCP header from `src_port` to `dst_port`
/// that `fields` describe (its `timestamp` aside; checksum field zero), with a
/// data offset saying `header_len` bytes, the options to follow; returns the sum
/// of its words (unfolded, for [`PseudoHeader::checksum`]: add the options').
#[inline]
pub fn emit_tcp_fixed_header(
    out: &mut [u8; TCP_HEADER],
    src_port: u16,
    dst_port: u16,
    fields: &TcpHeaderFields,
    header_len: usize,
) -> u64 {
    let seq = fields.seq_number.0;
    let ack = fields.ack_number.0;
    let off_flags = ((header_len as u16 / 4) << 12) | fields.flags.bits();
    let ports = (u32::from(src_port) << 16) | u32::from(dst_port);
    out[..4].copy_from_slice(&ports.to_be_bytes());
    out[4..8].copy_from_slice(&seq.to_be_bytes());
    out[8..12].copy_from_slice(&ack.to_be_bytes());
    out[12..14].copy_from_slice(&off_flags.to_be_bytes());
    out[14..16].copy_from_slice(&fields.window_len.to_be_bytes());
    out[16..18].copy_from_slice(&[0, 0]);
    out[18..20].copy_from_slice(&fields.urgent_pointer.to_be_bytes());
    u64::from(ports)
        + u64::from(seq)
        + u64::from(ack)
        + u64::from(off_flags)
        + u64::from(fields.window_len)
        + u64::from(fields.urgent_pointer)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checksum;
    use crate::tcp::{SackBlocks, TcpOptions, TcpPacket, TcpRepr, TcpTimestamp};
    use crate::{Ipv4Options, Ipv4Packet, Ipv4Repr, Ipv6Packet, Ipv6Repr};
    use core::net::{Ipv4Addr, Ipv6Addr};
    use proptest::prelude::*;

    const ECNS: [Ecn; 4] = [Ecn::NotEct, Ecn::Ect1, Ecn::Ect0, Ecn::Ce];

    fn v4() -> (IpAddr, IpAddr) {
        (
            IpAddr::V4(Ipv4Addr::new(10, 0, 0, 1)),
            IpAddr::V4(Ipv4Addr::new(192, 168, 200, 254)),
        )
    }

    fn v6() -> (IpAddr, IpAddr) {
        (
            IpAddr::V6(Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0xffff, 1)),
            IpAddr::V6(Ipv6Addr::new(0xfe80, 0, 0, 0, 0xa, 0xb, 0xc, 0xd)),
        )
    }

    /// The IP header the general emit writes for a TCP segment.
    #[allow(clippy::too_many_arguments)]
    fn general_ip(
        src: IpAddr,
        dst: IpAddr,
        len: usize,
        ttl: u8,
        dscp: u8,
        ecn: Ecn,
        ident: u16,
        checksum: ChecksumMode,
    ) -> Vec<u8> {
        match (src, dst) {
            (IpAddr::V4(s), IpAddr::V4(d)) => {
                let mut buf = vec![0xa5; 20];
                Ipv4Repr {
                    src_addr: s,
                    dst_addr: d,
                    protocol: IpProtocol::Tcp,
                    payload_len: len,
                    ttl,
                    dscp,
                    ecn,
                    ident,
                    dont_frag: true,
                    more_frags: false,
                    frag_offset: 0,
                    options: Ipv4Options::default(),
                }
                .emit(&mut Ipv4Packet::new_unchecked(&mut buf[..]), checksum);
                buf
            }
            (IpAddr::V6(s), IpAddr::V6(d)) => {
                let mut buf = vec![0xa5; 40];
                Ipv6Repr {
                    src_addr: s,
                    dst_addr: d,
                    next_header: IpProtocol::Tcp,
                    payload_len: len,
                    hop_limit: ttl,
                    dscp,
                    ecn,
                    flow_label: 0,
                }
                .emit(&mut Ipv6Packet::new_unchecked(&mut buf[..]));
                buf
            }
            _ => unreachable!(),
        }
    }

    /// A whole segment through `TcpRepr::emit` (checksum computed over it all).
    fn general_tcp(src: IpAddr, dst: IpAddr, f: &TcpHeaderFields, payload: &[u8]) -> Vec<u8> {
        let options = TcpOptions {
            timestamp: f
                .timestamp
                .map(|(tsval, tsecr)| TcpTimestamp { tsval, tsecr }),
            sack_ranges: SackBlocks::default(),
            ..TcpOptions::default()
        };
        let repr = TcpRepr {
            src_port: 49152,
            dst_port: 443,
            seq_number: f.seq_number,
            ack_number: f.ack_number,
            flags: f.flags,
            window_len: f.window_len,
            urgent_pointer: f.urgent_pointer,
            options,
            payload,
        };
        let mut buf = vec![0x5a; repr.buffer_len()];
        let addrs = AddrPair::new(src, dst).unwrap();
        repr.emit(
            &mut TcpPacket::new_unchecked(&mut buf[..]),
            &addrs,
            ChecksumMode::Enabled,
        );
        buf
    }

    /// The same segment through the template: header, then payload, then checksum
    /// from the header's and payload's sums.
    fn templated_tcp(t: &SegmentTemplate, f: &TcpHeaderFields, payload: &[u8]) -> Vec<u8> {
        let mut buf = vec![0x5a; f.header_len() + payload.len()];
        let (hl, head) = emit_tcp_header(&mut buf, 49152, 443, f).unwrap();
        buf[hl..].copy_from_slice(payload);
        let body = checksum::data(payload);
        let sum = t.pseudo_header().checksum(buf.len(), head, body);
        buf[16..18].copy_from_slice(&sum.to_be_bytes());
        buf
    }

    fn fields_strategy() -> impl Strategy<Value = TcpHeaderFields> {
        (
            any::<u32>(),
            any::<u32>(),
            0u16..0x200,
            any::<u16>(),
            any::<u16>(),
            proptest::option::of((any::<u32>(), any::<u32>())),
        )
            .prop_map(|(seq, ack, flags, window, urgent, ts)| TcpHeaderFields {
                seq_number: SeqNumber(seq),
                ack_number: SeqNumber(ack),
                flags: TcpFlags::from_bits_truncate(flags),
                window_len: window,
                urgent_pointer: urgent,
                timestamp: ts,
            })
    }

    proptest! {
        #[test]
        fn templated_tcp_segment_is_the_general_emit_byte_for_byte(
            f in fields_strategy(),
            payload in proptest::collection::vec(any::<u8>(), 0..300),
            v6_pair in any::<bool>(),
        ) {
            let (src, dst) = if v6_pair { v6() } else { v4() };
            let t = SegmentTemplate::new(src, dst, 64, 0).unwrap();
            prop_assert_eq!(templated_tcp(&t, &f, &payload), general_tcp(src, dst, &f, &payload));
        }

        #[test]
        fn templated_ip_header_is_the_general_emit_byte_for_byte(
            len in 0usize..65000,
            ttl in any::<u8>(),
            dscp in 0u8..64,
            ecn in 0usize..4,
            ident in any::<u16>(),
            v6_pair in any::<bool>(),
            offloaded in any::<bool>(),
        ) {
            let (src, dst) = if v6_pair { v6() } else { v4() };
            let mode = if offloaded { ChecksumMode::Offloaded } else { ChecksumMode::Enabled };
            let t = SegmentTemplate::new(src, dst, ttl, dscp).unwrap();
            let mut out = vec![0xa5u8; t.ip_header_len()];
            prop_assert_eq!(t.emit_ip_header(&mut out, len, ECNS[ecn], ident, mode), Some(out.len()));
            prop_assert_eq!(out, general_ip(src, dst, len, ttl, dscp, ECNS[ecn], ident, mode));
        }

        #[test]
        fn pseudo_header_sum_is_the_address_pairs(len in 0usize..70000, v6_pair in any::<bool>()) {
            let (src, dst) = if v6_pair { v6() } else { v4() };
            let addrs = AddrPair::new(src, dst).unwrap();
            let p = PseudoHeader::new(&addrs, IpProtocol::Tcp);
            prop_assert_eq!(p.sum(len), addrs.pseudo_header(IpProtocol::Tcp, len));
        }
    }

    proptest! {
        #[test]
        fn fold_in_fixed_steps_is_the_loop(sum in any::<u64>()) {
            let mut looped = sum;
            while looped > 0xffff {
                looped = (looped & 0xffff) + (looped >> 16);
            }
            prop_assert_eq!(u64::from(fold(sum)), looped);
        }
    }

    #[test]
    fn fold_edges() {
        for sum in [
            0,
            1,
            0xffff,
            0x1_0000,
            0x1_fffe,
            0xffff_ffff,
            u64::MAX,
            0xffff_0000_ffff,
        ] {
            let mut looped = sum;
            while looped > 0xffff {
                looped = (looped & 0xffff) + (looped >> 16);
            }
            assert_eq!(u64::from(fold(sum)), looped, "{sum:#x}");
        }
    }

    #[test]
    fn mixed_families_make_no_template() {
        let (a, _) = v4();
        let (_, b) = v6();
        assert_eq!(SegmentTemplate::new(a, b, 64, 0), None);
        assert_eq!(
            SegmentTemplate::new(a, a, 64, 0).unwrap().ip_header_len(),
            20
        );
        assert_eq!(
            SegmentTemplate::new(b, b, 64, 0).unwrap().ip_header_len(),
            40
        );
    }

    #[test]
    fn short_buffers_are_refused_not_written_past() {
        let (src, dst) = v6();
        let t = SegmentTemplate::new(src, dst, 64, 0).unwrap();
        let mut out = [0u8; 39];
        let header = t.emit_ip_header(&mut out, 10, Ecn::NotEct, 0, ChecksumMode::Enabled);
        assert_eq!(header, None);
        let f = TcpHeaderFields {
            seq_number: SeqNumber(1),
            ack_number: SeqNumber(2),
            flags: TcpFlags::ACK,
            window_len: 3,
            urgent_pointer: 0,
            timestamp: Some((4, 5)),
        };
        let mut out = [0u8; 31];
        assert_eq!(emit_tcp_header(&mut out, 1, 2, &f), None);
    }
}
