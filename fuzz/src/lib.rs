//! Shared checks for the layer4-wire fuzz targets.
//!
//! Each `check_*` function takes untrusted bytes, parses them the way a stack would,
//! and asserts the invariants that must hold whatever the bytes:
//!
//! - nothing panics (every getter after `new_checked`, every `Display`);
//! - where a `Repr` parses, `parse(emit(parse(x))) == parse(x)`, under both
//!   [`ChecksumMode`]s (an `Enabled` emit must produce a checksum that verifies);
//! - `ChecksumMode::Enabled` is `Offloaded` plus a checksum check: when the `Enabled`
//!   parse succeeds the `Offloaded` one gives the same value, and when only the
//!   `Offloaded` one succeeds the `Enabled` error is a checksum error;
//! - iterators make progress and stop.
//!
//! The fuzz targets under `fuzz_targets/` are thin wrappers around these, so the
//! `ip_packet` and `pcap` targets run the same per-layer checks as the single-layer
//! targets.

use std::io::{self, Write as _};
use std::net::{Ipv4Addr, Ipv6Addr};

use layer4_wire::tcp::TcpOptionIter;
use layer4_wire::{
    quoted_ipv4, quoted_ipv6, walk_chain, AddrPair, ChainEnd, ChecksumMode, Error, Icmpv4Packet,
    Icmpv4Repr, Icmpv6Packet, Icmpv6Repr, IpProtocol, Ipv4Packet, Ipv4Repr, Ipv6ExtHeader,
    Ipv6ExtHeaderRepr, Ipv6FragmentHeader, Ipv6FragmentRepr, Ipv6OptionIter, Ipv6Packet, Ipv6Repr,
    Ipv6RoutingHeader, LinkType, PcapReader, PcapWriter, Quoted, TcpOptions, TcpPacket, TcpRepr,
    UdpPacket, UdpRepr,
};

/// Both checksum modes, `Enabled` first.
pub const MODES: [ChecksumMode; 2] = [ChecksumMode::Enabled, ChecksumMode::Offloaded];

/// The most pcap records one input is read for.
pub const MAX_PCAP_RECORDS: usize = 64;

/// Format a value and throw the text away: `Display` must not panic.
pub fn display(value: impl std::fmt::Display) {
    let _ = write!(io::sink(), "{value}");
}

/// Split an input into an address pair and the rest.
///
/// Byte 0 picks the family (bit 0 clear: IPv4, set: IPv6); the addresses follow, as
/// on the wire (source then destination: 8 bytes for IPv4, 32 for IPv6). Reading the
/// addresses from the input lets seeds taken from real captures keep checksums that
/// verify.
pub fn split_addrs(data: &[u8]) -> Option<(AddrPair, &[u8])> {
    let (&control, rest) = data.split_first()?;
    if control & 1 == 0 {
        let (a, rest) = split_array::<8>(rest)?;
        let src = Ipv4Addr::new(a[0], a[1], a[2], a[3]);
        let dst = Ipv4Addr::new(a[4], a[5], a[6], a[7]);
        Some((AddrPair::V4 { src, dst }, rest))
    } else {
        split_v6_addrs(rest)
    }
}

/// Split 32 bytes of IPv6 source and destination off the front of `data`.
pub fn split_v6_addrs(data: &[u8]) -> Option<(AddrPair, &[u8])> {
    let (a, rest) = split_array::<32>(data)?;
    let mut src = [0u8; 16];
    let mut dst = [0u8; 16];
    src.copy_from_slice(&a[..16]);
    dst.copy_from_slice(&a[16..]);
    Some((
        AddrPair::V6 {
            src: Ipv6Addr::from(src),
            dst: Ipv6Addr::from(dst),
        },
        rest,
    ))
}

fn split_array<const N: usize>(data: &[u8]) -> Option<(&[u8; N], &[u8])> {
    if data.len() < N {
        return None;
    }
    let (head, rest) = data.split_at(N);
    Some((head.try_into().ok()?, rest))
}

/// `Enabled` must be `Offloaded` plus a checksum check (`other_ok` says which errors
/// only `Enabled` may add).
fn check_modes<R: PartialEq + std::fmt::Debug>(
    enabled: &Result<R, Error>,
    offloaded: &Result<R, Error>,
    checksum_errors: &[Error],
) {
    match (enabled, offloaded) {
        (Ok(e), Ok(o)) => assert_eq!(e, o, "Enabled and Offloaded parses differ"),
        (Ok(_), Err(e)) => panic!("Enabled parse succeeded but Offloaded failed: {e:?}"),
        (Err(e), Ok(_)) => assert!(
            checksum_errors.contains(e),
            "only Enabled failed, with a non-checksum error {e:?}"
        ),
        (Err(_), Err(_)) => {}
    }
}

// ---------------------------------------------------------------------------------
// IPv4

/// Check an IPv4 packet; returns the header (parsed without checksum check) and the
/// payload when it parses.
pub fn check_ipv4(data: &[u8]) -> Option<(Ipv4Repr, &[u8])> {
    let packet = Ipv4Packet::new_checked(data).ok()?;
    // After new_checked no getter may panic.
    let _ = (
        packet.version(),
        packet.header_len(),
        packet.dscp(),
        packet.ecn(),
        packet.tos(),
        packet.total_len(),
        packet.ident(),
        packet.reserved_flag(),
        packet.dont_frag(),
        packet.more_frags(),
        packet.frag_offset(),
        packet.ttl(),
        packet.protocol(),
        packet.checksum(),
        packet.src_addr(),
        packet.dst_addr(),
        packet.verify_checksum(),
    );
    let options = packet.options();
    assert_eq!(
        packet.payload(),
        &data[packet.header_len()..usize::from(packet.total_len())]
    );
    let payload = &data[packet.header_len()..usize::from(packet.total_len())];
    assert_eq!(packet.header_len(), 20 + options.len());
    assert_eq!(
        usize::from(packet.total_len()),
        packet.header_len() + payload.len()
    );

    let enabled = Ipv4Repr::parse(&packet, ChecksumMode::Enabled);
    let offloaded = Ipv4Repr::parse(&packet, ChecksumMode::Offloaded);
    check_modes(&enabled, &offloaded, &[Error::BadChecksum]);
    let repr = offloaded.ok()?;
    display(repr);
    assert_eq!(repr.payload_len, payload.len());
    assert_eq!(repr.frag_offset % 8, 0);

    for mode in MODES {
        let mut buf = vec![0u8; repr.total_len()];
        let mut out = Ipv4Packet::new_unchecked(&mut buf[..]);
        repr.emit(&mut out, mode);
        out.payload_mut().copy_from_slice(payload);
        let again = Ipv4Repr::parse(&Ipv4Packet::new_checked(&buf[..]).unwrap(), mode)
            .expect("an emitted IPv4 header parses");
        assert_eq!(again, repr, "IPv4 round trip ({mode:?})");
        // The header fields survive byte for byte, except the reserved flag (written
        // zero) and the checksum (recomputed or zeroed).
        assert_eq!(buf[..6], data[..6]);
        assert_eq!(buf[6] & 0x7f, data[6] & 0x7f);
        assert_eq!(buf[7..10], data[7..10]);
        assert_eq!(buf[12..repr.buffer_len()], data[12..repr.buffer_len()]);
    }
    Some((repr, payload))
}

// ---------------------------------------------------------------------------------
// IPv6

/// Check the options of a hop-by-hop or destination-options header's data: each
/// option re-emits to itself, and the iterator stops.
pub fn check_ipv6_options(data: &[u8]) -> Result<(), Error> {
    let mut iter = Ipv6OptionIter::new(data);
    let mut count = 0;
    let mut result = Ok(());
    while let Some(item) = iter.next() {
        count += 1;
        assert!(
            count <= data.len() + 1,
            "IPv6 option iterator does not stop"
        );
        let option = match item {
            Ok(option) => option,
            Err(e) => {
                assert!(matches!(e, Error::BadOption { .. }), "{e:?}");
                result = Err(e);
                continue;
            }
        };
        assert!(iter.position() <= data.len());
        let mut buf = vec![0xa5; option.buffer_len()];
        option.emit(&mut buf);
        let again: Vec<_> = Ipv6OptionIter::new(&buf).collect();
        assert_eq!(again, [Ok(option)], "IPv6 option round trip");
    }
    // Fused after an error.
    assert!(iter.next().is_none());
    result
}

/// Check one hop-by-hop / routing / destination-options header at the start of `data`.
pub fn check_ipv6_ext_header(data: &[u8]) {
    let Ok(header) = Ipv6ExtHeader::new_checked(data) else {
        return;
    };
    let _ = (
        header.next_header(),
        header.hdr_ext_len(),
        header.header_len(),
        header.payload(),
    );
    assert_eq!(header.data().len() + 2, header.header_len());
    assert_eq!(header.header_len() % 8, 0);
    let options = check_ipv6_options(header.data());
    assert_eq!(options, header.check_options());

    let repr = Ipv6ExtHeaderRepr::parse(&header).expect("a checked header parses");
    display(repr);
    let mut buf = vec![0u8; repr.buffer_len()];
    repr.emit(&mut Ipv6ExtHeader::new_unchecked(&mut buf[..]));
    assert_eq!(buf, data[..repr.buffer_len()], "extension header re-emits");
    let again = Ipv6ExtHeaderRepr::parse(&Ipv6ExtHeader::new_checked(&buf[..]).unwrap()).unwrap();
    assert_eq!(again, repr);

    let routing = Ipv6RoutingHeader::new_checked(data).expect("same length rule");
    let _ = (
        routing.next_header(),
        routing.routing_type(),
        routing.segments_left(),
        routing.data(),
        routing.payload(),
    );
    assert_eq!(routing.header_len(), header.header_len());
}

/// Check a fragment header at the start of `data`.
pub fn check_ipv6_fragment(data: &[u8]) -> Option<Ipv6FragmentRepr> {
    let header = Ipv6FragmentHeader::new_checked(data).ok()?;
    let _ = (header.payload(), header.ident(), header.more_frags());
    let repr = Ipv6FragmentRepr::parse(&header).expect("a checked fragment header parses");
    display(repr);
    assert_eq!(repr.frag_offset % 8, 0);
    let mut buf = [0u8; 8];
    repr.emit(&mut Ipv6FragmentHeader::new_unchecked(&mut buf[..]));
    let again = Ipv6FragmentRepr::parse(&Ipv6FragmentHeader::new_checked(&buf[..]).unwrap())
        .expect("an emitted fragment header parses");
    assert_eq!(again, repr, "fragment header round trip");
    Some(repr)
}

/// Check an IPv6 packet and the walk of its extension headers; returns the fixed
/// header, the payload, and the walk when they parse.
pub fn check_ipv6(data: &[u8]) -> Option<(Ipv6Repr, &[u8], layer4_wire::UpperLayer)> {
    let packet = Ipv6Packet::new_checked(data).ok()?;
    let _ = (
        packet.version(),
        packet.traffic_class(),
        packet.dscp(),
        packet.ecn(),
        packet.flow_label(),
        packet.hop_limit(),
        packet.src_addr(),
        packet.dst_addr(),
    );
    let payload = &data[40..40 + usize::from(packet.payload_len())];
    assert_eq!(packet.payload(), payload);

    let repr = Ipv6Repr::parse(&packet).expect("a checked IPv6 packet parses");
    display(repr);
    let mut buf = vec![0u8; repr.total_len()];
    let mut out = Ipv6Packet::new_unchecked(&mut buf[..]);
    repr.emit(&mut out);
    out.payload_mut().copy_from_slice(payload);
    assert_eq!(buf, data[..repr.total_len()], "IPv6 header re-emits");
    let again = Ipv6Repr::parse(&Ipv6Packet::new_checked(&buf[..]).unwrap()).unwrap();
    assert_eq!(again, repr, "IPv6 round trip");

    // The extension headers, parsed on their own wherever the payload starts.
    check_ipv6_ext_header(payload);
    check_ipv6_fragment(payload);

    let walk = packet.walk_chain();
    assert_eq!(walk, walk_chain(packet.next_header(), payload));
    let walk = walk.ok()?;
    assert!(walk.offset <= payload.len());
    let mut end = 0;
    let mut fragments = 0;
    for (i, info) in walk.headers.iter().enumerate() {
        assert_eq!(info.offset, end, "headers are contiguous");
        let bytes = info
            .bytes(payload)
            .expect("a walked header is in the payload");
        end = info.offset + info.len;
        assert!(info.kind.is_ipv6_extension());
        match info.kind {
            IpProtocol::Ipv6Frag => {
                fragments += 1;
                assert_eq!(check_ipv6_fragment(bytes), walk.fragment);
            }
            kind => {
                assert!(
                    kind != IpProtocol::HopByHop || i == 0,
                    "hop-by-hop not first"
                );
                let header = Ipv6ExtHeader::new_checked(bytes).expect("walked header");
                assert_eq!(header.header_len(), bytes.len());
                if kind != IpProtocol::Ipv6Route {
                    header
                        .check_options()
                        .expect("walked options are well formed");
                }
                check_ipv6_ext_header(bytes);
            }
        }
    }
    assert_eq!(end, walk.offset);
    assert!(fragments <= 1);
    assert_eq!(fragments == 1, walk.fragment.is_some());
    if walk.end == ChainEnd::FragmentData {
        assert!(walk.fragment.is_some_and(|f| f.frag_offset != 0));
    }
    Some((repr, payload, walk))
}

// ---------------------------------------------------------------------------------
// TCP

/// Check a TCP option list: each option re-emits to itself and the iterator stops.
pub fn check_tcp_options(bytes: &[u8]) {
    let mut iter = TcpOptionIter::new(bytes);
    let mut count = 0;
    for item in iter.by_ref() {
        count += 1;
        assert!(
            count <= bytes.len() + 1,
            "TCP option iterator does not stop"
        );
        let Ok(option) = item else {
            continue;
        };
        display(option);
        let mut buf = vec![0xa5; option.buffer_len()];
        assert_eq!(option.emit(&mut buf), buf.len());
        let again: Vec<_> = TcpOptionIter::new(&buf).collect();
        assert_eq!(again, [Ok(option)], "TCP option round trip");
    }
    assert!(iter.next().is_none());

    if let Ok(options) = TcpOptions::parse(bytes) {
        assert!(options.buffer_len() <= TcpOptions::MAX_LEN);
        assert_eq!(options.buffer_len() % 4, 0);
        let mut buf = vec![0xa5; options.buffer_len()];
        assert_eq!(options.emit(&mut buf), buf.len());
        let mut expected = options;
        expected.sack_ranges.truncate(options.sack_blocks_emitted());
        assert_eq!(
            TcpOptions::parse(&buf),
            Ok(expected),
            "TCP options round trip"
        );
    }
}

/// What `TcpRepr::emit` promises to write back: everything, except the SACK blocks
/// that do not fit next to the other options.
fn tcp_emitted<'a>(repr: &TcpRepr<'a>) -> TcpRepr<'a> {
    let mut out = TcpRepr {
        payload: &[],
        ..*repr
    };
    out.options
        .sack_ranges
        .truncate(repr.options.sack_blocks_emitted());
    out
}

/// Check a TCP segment (the whole IP payload) between `addrs`; returns it parsed
/// without checksum check.
pub fn check_tcp<'a>(segment: &'a [u8], addrs: &AddrPair) -> Option<TcpRepr<'a>> {
    let packet = TcpPacket::new_checked(segment).ok()?;
    let _ = (
        packet.src_port(),
        packet.dst_port(),
        packet.seq_number(),
        packet.ack_number(),
        packet.flags(),
        packet.window_len(),
        packet.checksum(),
        packet.urgent_at(),
        packet.segment_len(),
        packet.verify_checksum(addrs),
    );
    let header_len = usize::from(packet.header_len());
    assert!((20..=60).contains(&header_len));
    assert_eq!(packet.options().len() + 20, header_len);
    assert_eq!(packet.payload().len() + header_len, segment.len());
    check_tcp_options(packet.options());

    let enabled = TcpRepr::parse(&packet, addrs, ChecksumMode::Enabled);
    let offloaded = TcpRepr::parse(&packet, addrs, ChecksumMode::Offloaded);
    check_modes(&enabled, &offloaded, &[Error::BadChecksum]);
    let repr = offloaded.ok()?;
    display(repr);
    display(repr.display_with(addrs));
    assert_eq!(repr.segment_len(), packet.segment_len());
    assert!(repr.header_len() <= 60);
    assert_eq!(repr.options, TcpOptions::parse(packet.options()).unwrap());

    let expected = tcp_emitted(&repr);
    for mode in MODES {
        let mut buf = vec![0x5a; repr.buffer_len()];
        repr.emit(&mut TcpPacket::new_unchecked(&mut buf[..]), addrs, mode);
        let out = TcpPacket::new_checked(&buf[..]).expect("an emitted segment is whole");
        assert_eq!(usize::from(out.header_len()), repr.header_len());
        let again = TcpRepr::parse(&out, addrs, mode).expect("an emitted segment parses");
        assert_eq!(again.payload, repr.payload);
        assert_eq!(tcp_emitted(&again), expected, "TCP round trip ({mode:?})");
        // A second round trip changes nothing: the canonical layout is a fixed point.
        let mut buf2 = vec![0x5a; again.buffer_len()];
        again.emit(&mut TcpPacket::new_unchecked(&mut buf2[..]), addrs, mode);
        assert_eq!(buf2, buf, "TCP emit is not idempotent ({mode:?})");
    }
    Some(repr)
}

// ---------------------------------------------------------------------------------
// UDP

/// Check a UDP datagram (the whole IP payload) between `addrs`; returns it parsed
/// without checksum check.
pub fn check_udp<'a>(datagram: &'a [u8], addrs: &AddrPair) -> Option<UdpRepr<'a>> {
    let packet = UdpPacket::new_checked(datagram).ok()?;
    let _ = (
        packet.src_port(),
        packet.dst_port(),
        packet.is_empty(),
        packet.checksum(),
        packet.verify_checksum(addrs),
    );
    let len = usize::from(packet.len());
    assert_eq!(packet.payload().len() + 8, len);

    let enabled = UdpRepr::parse(&packet, addrs, ChecksumMode::Enabled);
    let offloaded = UdpRepr::parse(&packet, addrs, ChecksumMode::Offloaded);
    check_modes(&enabled, &offloaded, &[Error::BadChecksum, Error::Illegal]);
    let repr = offloaded.ok()?;
    display(repr);
    display(repr.display_with(addrs));
    assert_eq!(repr.buffer_len(), len);

    for mode in MODES {
        let mut buf = vec![0x5a; repr.buffer_len()];
        repr.emit(&mut UdpPacket::new_unchecked(&mut buf[..]), addrs, mode);
        let out = UdpPacket::new_checked(&buf[..]).expect("an emitted datagram is whole");
        let again = UdpRepr::parse(&out, addrs, mode).expect("an emitted datagram parses");
        assert_eq!(again, repr, "UDP round trip ({mode:?})");
        // A datagram whose checksum verified re-emits byte for byte.
        if mode == ChecksumMode::Enabled && packet.checksum() != 0 && enabled.is_ok() {
            assert_eq!(buf, datagram[..len], "UDP emit(parse(bytes)) != bytes");
        }
    }
    Some(repr)
}

// ---------------------------------------------------------------------------------
// ICMP and the quoted packet

/// Check `quoted_ipv4` on the invoking packet of an ICMP error, and against the strict
/// IPv4 parser where that one accepts the quote.
pub fn check_quoted_ipv4(invoking: &[u8]) -> Result<Quoted, Error> {
    let quoted = quoted_ipv4(invoking);
    if let Ok(q) = quoted {
        display(q);
    }
    if let Ok(packet) = Ipv4Packet::new_checked(invoking) {
        // What the strict parser accepts, the lenient one reads the same way (it only
        // needs eight transport bytes more for TCP and UDP).
        match quoted {
            Ok(q) => {
                assert_eq!(q.src, packet.src_addr());
                assert_eq!(q.dst, packet.dst_addr());
                assert_eq!(q.protocol, packet.protocol());
            }
            Err(e) => {
                assert_eq!(
                    e,
                    Error::Truncated,
                    "strict IPv4 accepts, quoted_ipv4 {e:?}"
                );
                assert!(matches!(
                    packet.protocol(),
                    IpProtocol::Tcp | IpProtocol::Udp
                ));
            }
        }
    }
    quoted
}

/// Check `quoted_ipv6` on the invoking packet of an ICMPv6 error, and against the
/// strict IPv6 parser and `walk_chain` where they accept the quote.
pub fn check_quoted_ipv6(invoking: &[u8]) -> Result<Quoted, Error> {
    let quoted = quoted_ipv6(invoking);
    if let Ok(q) = quoted {
        display(q);
    }
    let Ok(packet) = Ipv6Packet::new_checked(invoking) else {
        return quoted;
    };
    let Ok(walk) = packet.walk_chain() else {
        return quoted;
    };
    let ChainEnd::Upper(protocol) = walk.end else {
        return quoted;
    };
    // A chain the strict walk accepts to an upper-layer header, the lenient quote
    // reader must follow to the same header.
    match quoted {
        Ok(q) => {
            assert_eq!(q.src, packet.src_addr());
            assert_eq!(q.dst, packet.dst_addr());
            assert_eq!(q.protocol, protocol, "quoted_ipv6 and walk_chain disagree");
            if let Some(t) = packet.payload().get(walk.offset..walk.offset + 4) {
                if q.src_port.is_some() {
                    assert_eq!(q.src_port, Some(u16::from_be_bytes([t[0], t[1]])));
                    assert_eq!(q.dst_port, Some(u16::from_be_bytes([t[2], t[3]])));
                }
            }
        }
        Err(e) => {
            assert_eq!(
                e,
                Error::Truncated,
                "walk_chain reaches {protocol:?} at {}, quoted_ipv6 {e:?}",
                walk.offset
            );
            assert!(matches!(protocol, IpProtocol::Tcp | IpProtocol::Udp));
        }
    }
    quoted
}

/// Check an ICMPv4 message; returns it parsed without checksum check.
pub fn check_icmpv4(message: &[u8]) -> Option<Icmpv4Repr<'_>> {
    let packet = Icmpv4Packet::new_checked(message).ok()?;
    let _ = (
        packet.msg_type(),
        packet.msg_code(),
        packet.checksum(),
        packet.rest_of_header(),
        packet.echo_ident(),
        packet.echo_seq_no(),
        packet.next_hop_mtu(),
        packet.pointer(),
        packet.data(),
        packet.verify_checksum(),
    );
    let enabled = Icmpv4Repr::parse(&packet, ChecksumMode::Enabled);
    let offloaded = Icmpv4Repr::parse(&packet, ChecksumMode::Offloaded);
    check_modes(&enabled, &offloaded, &[Error::BadChecksum]);
    let repr = offloaded.ok()?;
    display(repr);
    assert_eq!(repr.buffer_len(), message.len());
    assert_eq!(repr.msg_type(), packet.msg_type());
    assert_eq!(repr.is_error(), repr.invoking().is_some());
    if let Some(invoking) = repr.invoking() {
        assert_eq!(repr.quoted(), Some(check_quoted_ipv4(invoking)));
    } else {
        assert_eq!(repr.quoted(), None);
    }

    for mode in MODES {
        let mut buf = vec![0x5a; repr.buffer_len()];
        repr.emit(&mut Icmpv4Packet::new_unchecked(&mut buf[..]), mode);
        let out = Icmpv4Packet::new_checked(&buf[..]).expect("an emitted message is whole");
        let again = Icmpv4Repr::parse(&out, mode).expect("an emitted message parses");
        assert_eq!(again, repr, "ICMPv4 round trip ({mode:?})");
    }
    Some(repr)
}

/// Check an ICMPv6 message between `addrs`; returns it parsed without checksum check.
pub fn check_icmpv6<'a>(message: &'a [u8], addrs: &AddrPair) -> Option<Icmpv6Repr<'a>> {
    let packet = Icmpv6Packet::new_checked(message).ok()?;
    let _ = (
        packet.msg_type(),
        packet.msg_code(),
        packet.checksum(),
        packet.rest_of_header(),
        packet.echo_ident(),
        packet.echo_seq_no(),
        packet.mtu(),
        packet.pointer(),
        packet.data(),
        packet.verify_checksum(addrs),
    );
    let enabled = Icmpv6Repr::parse(&packet, addrs, ChecksumMode::Enabled);
    let offloaded = Icmpv6Repr::parse(&packet, addrs, ChecksumMode::Offloaded);
    check_modes(&enabled, &offloaded, &[Error::BadChecksum]);
    let repr = offloaded.ok()?;
    display(repr);
    assert_eq!(repr.buffer_len(), message.len());
    assert_eq!(repr.msg_type(), packet.msg_type());
    assert_eq!(repr.is_error(), repr.invoking().is_some());
    if let Some(invoking) = repr.invoking() {
        assert_eq!(repr.quoted(), Some(check_quoted_ipv6(invoking)));
    } else {
        assert_eq!(repr.quoted(), None);
    }

    for mode in MODES {
        let mut buf = vec![0x5a; repr.buffer_len()];
        repr.emit(&mut Icmpv6Packet::new_unchecked(&mut buf[..]), addrs, mode);
        let out = Icmpv6Packet::new_checked(&buf[..]).expect("an emitted message is whole");
        let again = Icmpv6Repr::parse(&out, addrs, mode).expect("an emitted message parses");
        assert_eq!(again, repr, "ICMPv6 round trip ({mode:?})");
    }
    Some(repr)
}

// ---------------------------------------------------------------------------------
// Whole packets and capture files

/// Check a whole IP packet the way a stack's receive path reads it: the version
/// nibble picks IPv4 or IPv6; an unfragmented packet (or a first-fragment-free
/// IPv6 walk to the upper layer) goes on to TCP, UDP or ICMP.
pub fn check_ip_packet(data: &[u8]) {
    let Some(&first) = data.first() else {
        return;
    };
    match first >> 4 {
        4 => {
            let Some((ip, payload)) = check_ipv4(data) else {
                return;
            };
            // A fragment waits for reassembly.
            if ip.more_frags || ip.frag_offset != 0 {
                return;
            }
            let addrs = AddrPair::V4 {
                src: ip.src_addr,
                dst: ip.dst_addr,
            };
            check_transport(ip.protocol, payload, &addrs);
        }
        6 => {
            let Some((ip, payload, walk)) = check_ipv6(data) else {
                return;
            };
            let ChainEnd::Upper(protocol) = walk.end else {
                return;
            };
            if walk.fragment.is_some_and(|f| !f.is_atomic()) {
                return;
            }
            let addrs = AddrPair::V6 {
                src: ip.src_addr,
                dst: ip.dst_addr,
            };
            let upper = payload.get(walk.offset..).expect("walk offset in payload");
            check_transport(protocol, upper, &addrs);
        }
        _ => {
            // Neither parser may accept it.
            assert!(Ipv4Packet::new_checked(data).is_err());
            assert!(Ipv6Packet::new_checked(data).is_err());
        }
    }
}

fn check_transport(protocol: IpProtocol, payload: &[u8], addrs: &AddrPair) {
    match (protocol, addrs) {
        (IpProtocol::Tcp, _) => {
            check_tcp(payload, addrs);
        }
        (IpProtocol::Udp, _) => {
            check_udp(payload, addrs);
        }
        (IpProtocol::Icmp, AddrPair::V4 { .. }) => {
            check_icmpv4(payload);
        }
        (IpProtocol::Icmpv6, AddrPair::V6 { .. }) => {
            check_icmpv6(payload, addrs);
        }
        _ => {}
    }
}

const LINK_TYPES: [LinkType; 9] = [
    LinkType::Null,
    LinkType::Ethernet,
    LinkType::Raw,
    LinkType::Loop,
    LinkType::LinuxSll,
    LinkType::Ipv4,
    LinkType::Ipv6,
    LinkType::LinuxSll2,
    LinkType::Other(0xfffe),
];

/// Check `ip_payload` for every link type on `frame`: it is `None` or a tail of the
/// frame.
pub fn check_link_layers(frame: &[u8]) {
    for link in LINK_TYPES {
        display(link);
        if let Some(ip) = link.ip_payload(frame) {
            assert!(ip.len() <= frame.len());
            let tail = &frame[frame.len() - ip.len()..];
            assert!(
                std::ptr::eq(tail, ip),
                "{link}: ip_payload is not a tail of the frame"
            );
        }
    }
}

/// Check a pcap file: read up to [`MAX_PCAP_RECORDS`] records, take the IP packet out
/// of each and check it as [`check_ip_packet`] does; then write the records read back
/// with [`PcapWriter`] and read them again, which must give the same records.
pub fn check_pcap(data: &[u8]) {
    let Ok(mut reader) = PcapReader::new(data) else {
        return;
    };
    let link = reader.link_type();
    display(link);
    let _ = (
        reader.snaplen(),
        reader.is_nanosecond(),
        reader.is_big_endian(),
        reader.version(),
        reader.fcs_len(),
    );
    let max = reader.max_record_len();
    let mut records = Vec::new();
    for _ in 0..MAX_PCAP_RECORDS {
        let Some(Ok(record)) = reader.next_packet() else {
            break;
        };
        assert!(record.data.len() <= max as usize);
        assert!(u64::from(record.orig_len) >= record.data.len() as u64);
        check_link_layers(&record.data);
        if let Some(ip) = link.ip_payload(&record.data) {
            check_ip_packet(ip);
        }
        records.push(record);
    }

    let mut writer = PcapWriter::new(Vec::new(), link, max).expect("max_record_len is valid");
    for record in &records {
        writer
            .write_record(record)
            .expect("a record read writes back");
    }
    let file = writer.into_inner();
    let mut again = PcapReader::new(&file[..]).expect("a written file reads");
    assert_eq!(again.link_type(), link);
    for record in &records {
        let read = again
            .next_packet()
            .expect("as many records")
            .expect("a written record reads");
        assert_eq!(&read, record, "pcap record round trip");
    }
    assert!(again.next_packet().is_none());
}
