//! The golden captures (tests/data, real packets from the Linux kernel, checksum
//! offload off): every packet parses at every layer with checksums verified, emitting
//! what was parsed gives back the captured bytes, and named packets carry the values
//! tcpdump printed for them (NAME.tcpdump.txt, NAME.tcpdump-v.txt).

mod common;

use std::collections::BTreeMap;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use common::{golden_ip_packets, parse_ip, parse_transport, parse_whole, Net, Transport, GOLDEN};
use layer4_wire::{
    AddrPair, ChainEnd, ChecksumMode, Ecn, Icmpv4DstUnreachable, Icmpv4Packet, Icmpv4Repr,
    Icmpv6DstUnreachable, Icmpv6Packet, Icmpv6Repr, IpProtocol, Ipv4Packet, Ipv4Repr,
    Ipv6ExtHeader, Ipv6ExtHeaderRepr, Ipv6FragmentHeader, Ipv6FragmentRepr, Ipv6Packet, Ipv6Repr,
    Quoted, SeqNumber, TcpFlags, TcpPacket, TcpTimestamp, UdpPacket,
};

const A4: Ipv4Addr = Ipv4Addr::new(10, 77, 1, 2);
const R4: Ipv4Addr = Ipv4Addr::new(10, 77, 1, 1);
const B4: Ipv4Addr = Ipv4Addr::new(10, 77, 2, 2);

fn a6() -> Ipv6Addr {
    "fd00:77:1::2".parse().expect("address")
}
fn r6() -> Ipv6Addr {
    "fd00:77:1::1".parse().expect("address")
}
fn b6() -> Ipv6Addr {
    "fd00:77:2::2".parse().expect("address")
}

/// What [`check_packet`] verified.
#[derive(Debug, Default)]
struct Tally {
    ipv4_headers: usize,
    ipv6_headers: usize,
    ipv6_ext_headers: usize,
    fragments: usize,
    transport: BTreeMap<&'static str, usize>,
}

/// Emit `repr` at the IP layer and compare with the captured header bytes.
fn check_ip_layer(what: &str, ip: &[u8], tally: &mut Tally) {
    match ip[0] >> 4 {
        4 => {
            let packet = Ipv4Packet::new_checked(ip).unwrap_or_else(|e| panic!("{what}: {e:?}"));
            assert!(packet.verify_checksum(), "{what}: IPv4 header checksum");
            let repr = Ipv4Repr::parse(&packet, ChecksumMode::Enabled)
                .unwrap_or_else(|e| panic!("{what}: {e:?}"));
            assert_eq!(repr.total_len(), ip.len(), "{what}: total length");
            let mut out = vec![0u8; repr.buffer_len()];
            repr.emit(
                &mut Ipv4Packet::new_unchecked(&mut out[..]),
                ChecksumMode::Enabled,
            );
            assert_eq!(
                out,
                ip[..repr.buffer_len()],
                "{what}: IPv4 header re-emitted"
            );
            tally.ipv4_headers += 1;
        }
        6 => {
            let packet = Ipv6Packet::new_checked(ip).unwrap_or_else(|e| panic!("{what}: {e:?}"));
            let repr = Ipv6Repr::parse(&packet).unwrap_or_else(|e| panic!("{what}: {e:?}"));
            assert_eq!(repr.total_len(), ip.len(), "{what}: total length");
            let mut out = vec![0u8; repr.buffer_len()];
            repr.emit(&mut Ipv6Packet::new_unchecked(&mut out[..]));
            assert_eq!(out, ip[..40], "{what}: IPv6 header re-emitted");
            tally.ipv6_headers += 1;

            let payload = &ip[40..];
            let upper = packet
                .walk_chain()
                .unwrap_or_else(|e| panic!("{what}: walk: {e:?}"));
            for info in upper.headers.iter() {
                let bytes = info.bytes(payload).expect("header inside the payload");
                let out = if info.kind == IpProtocol::Ipv6Frag {
                    let h = Ipv6FragmentHeader::new_checked(bytes)
                        .unwrap_or_else(|e| panic!("{what}: {e:?}"));
                    let r = Ipv6FragmentRepr::parse(&h).unwrap_or_else(|e| panic!("{what}: {e:?}"));
                    let mut out = vec![0u8; r.buffer_len()];
                    r.emit(&mut Ipv6FragmentHeader::new_unchecked(&mut out[..]));
                    out
                } else {
                    let h = Ipv6ExtHeader::new_checked(bytes)
                        .unwrap_or_else(|e| panic!("{what}: {e:?}"));
                    let r =
                        Ipv6ExtHeaderRepr::parse(&h).unwrap_or_else(|e| panic!("{what}: {e:?}"));
                    let mut out = vec![0u8; r.buffer_len()];
                    r.emit(&mut Ipv6ExtHeader::new_unchecked(&mut out[..]));
                    out
                };
                assert_eq!(out, bytes, "{what}: {:?} header re-emitted", info.kind);
                tally.ipv6_ext_headers += 1;
            }
        }
        v => panic!("{what}: IP version {v}"),
    }
}

/// Parse one captured packet at every layer, checksums verified, and emit each layer
/// back.
fn check_packet(what: &str, ip: &[u8], tally: &mut Tally) {
    check_ip_layer(what, ip, tally);
    let view = parse_ip(ip).unwrap_or_else(|e| panic!("{what}: {e:?}"));
    if view.fragment {
        // The transport header (and checksum) spans fragments: nothing to check here.
        tally.fragments += 1;
        return;
    }
    let transport = parse_transport(&view)
        .unwrap_or_else(|| panic!("{what}: unexpected protocol {:?}", view.protocol))
        .unwrap_or_else(|e| panic!("{what}: transport: {e:?}"));
    let bytes = view.transport;
    let (name, out) = match transport {
        Transport::Tcp(r) => {
            assert!(
                TcpPacket::new_checked(bytes)
                    .expect("parsed")
                    .verify_checksum(&view.addrs),
                "{what}: TCP checksum"
            );
            ("tcp", common::tcp_bytes(&r, &view.addrs))
        }
        Transport::Udp(r) => {
            let p = UdpPacket::new_checked(bytes).expect("parsed");
            assert_ne!(p.checksum(), 0, "{what}: Linux always sends a UDP checksum");
            assert!(p.verify_checksum(&view.addrs), "{what}: UDP checksum");
            ("udp", common::udp_bytes(&r, &view.addrs))
        }
        Transport::Icmpv4(r) => {
            let p = Icmpv4Packet::new_checked(bytes).expect("parsed");
            assert!(p.verify_checksum(), "{what}: ICMP checksum");
            ("icmpv4", common::icmpv4_bytes(&r))
        }
        Transport::Icmpv6(r) => {
            let p = Icmpv6Packet::new_checked(bytes).expect("parsed");
            assert!(p.verify_checksum(&view.addrs), "{what}: ICMPv6 checksum");
            ("icmpv6", common::icmpv6_bytes(&r, &view.addrs))
        }
    };
    assert_eq!(out, bytes, "{what}: {name} re-emitted");
    *tally.transport.entry(name).or_default() += 1;
}

#[test]
fn every_golden_packet_parses_verifies_and_reemits() {
    let mut tally = Tally::default();
    let mut total = 0;
    for (name, count) in GOLDEN {
        let packets = golden_ip_packets(name);
        assert_eq!(packets.len(), count, "{name}: packet count");
        for (i, ip) in packets.iter().enumerate() {
            check_packet(&format!("{name} #{}", i + 1), ip, &mut tally);
        }
        total += count;
    }
    // Every capture is listed: a new file in tests/data must be added to GOLDEN.
    let mut on_disk: Vec<String> = std::fs::read_dir(common::data_dir())
        .expect("tests/data")
        .filter_map(|e| {
            let name = e.ok()?.file_name().into_string().ok()?;
            Some(name.strip_suffix(".pcap")?.to_owned())
        })
        .collect();
    on_disk.sort();
    let mut listed: Vec<String> = GOLDEN.iter().map(|(n, _)| n.to_string()).collect();
    listed.sort();
    assert_eq!(on_disk, listed, "captures on disk vs GOLDEN");

    assert_eq!(total, 96);
    assert_eq!(tally.ipv4_headers + tally.ipv6_headers, 96);
    assert_eq!(tally.ipv4_headers, 60, "{tally:?}");
    // The six IPv6 fragments each carry one fragment header; nothing else has any.
    assert_eq!(tally.ipv6_ext_headers, 6, "{tally:?}");
    assert_eq!(tally.fragments, 12, "{tally:?}");
    let want: BTreeMap<&str, usize> = [("tcp", 44), ("udp", 22), ("icmpv4", 9), ("icmpv6", 9)]
        .into_iter()
        .collect();
    assert_eq!(tally.transport, want);
}

fn tcp<'a>(ip: &'a [u8], what: &str) -> (AddrPair, layer4_wire::TcpRepr<'a>) {
    match parse_whole(ip, what) {
        (v, Transport::Tcp(r)) => (v.addrs, r),
        (_, t) => panic!("{what}: not TCP: {t:?}"),
    }
}

fn icmpv4<'a>(ip: &'a [u8], what: &str) -> (Ipv4Repr, Icmpv4Repr<'a>) {
    match parse_whole(ip, what) {
        (
            common::IpView {
                net: Net::V4(h), ..
            },
            Transport::Icmpv4(r),
        ) => (h, r),
        (_, t) => panic!("{what}: not ICMP: {t:?}"),
    }
}

fn icmpv6<'a>(ip: &'a [u8], what: &str) -> (Ipv6Repr, Icmpv6Repr<'a>) {
    match parse_whole(ip, what) {
        (
            common::IpView {
                net: Net::V6(h, _), ..
            },
            Transport::Icmpv6(r),
        ) => (h, r),
        (_, t) => panic!("{what}: not ICMPv6: {t:?}"),
    }
}

fn quoted(r: Option<layer4_wire::Result<Quoted>>, what: &str) -> Quoted {
    r.unwrap_or_else(|| panic!("{what}: not an error message"))
        .unwrap_or_else(|e| panic!("{what}: quote: {e:?}"))
}

#[test]
fn tcp4_session_syn_carries_linux_default_options_and_ecn_setup() {
    // tcpdump: Flags [SEW], seq 1498154253, win 64240,
    //          options [mss 1460,sackOK,TS val 85809763 ecr 0,nop,wscale 10]
    let packets = golden_ip_packets("tcp4_session");
    let (addrs, syn) = tcp(&packets[0], "tcp4_session SYN");
    assert_eq!(addrs, common::v4(A4.octets(), B4.octets()));
    assert_eq!((syn.src_port, syn.dst_port), (46800, 5000));
    assert_eq!(syn.flags, TcpFlags::SYN | TcpFlags::ECE | TcpFlags::CWR);
    assert_eq!(syn.seq_number, SeqNumber(1498154253));
    assert_eq!(syn.window_len, 64240);
    assert_eq!(syn.options.mss, Some(1460));
    assert!(syn.options.sack_permitted);
    assert_eq!(
        syn.options.timestamp,
        Some(TcpTimestamp {
            tsval: 85809763,
            tsecr: 0
        })
    );
    // The capture's wscale is 10 (the kernel's default rmem gives shift 10 here).
    assert_eq!(syn.options.window_scale, Some(10));
    assert!(syn.options.sack_ranges.is_empty());
    assert!(syn.options.fast_open.is_none());
    assert!(syn.payload.is_empty());

    // SYN-ACK [S.E]: mss 1360 from b's 1400-byte MTU.
    let (_, syn_ack) = tcp(&packets[1], "tcp4_session SYN-ACK");
    assert_eq!(syn_ack.flags, TcpFlags::SYN | TcpFlags::ACK | TcpFlags::ECE);
    assert_eq!(syn_ack.ack_number, SeqNumber(1498154254));
    assert_eq!(syn_ack.options.mss, Some(1360));

    // The first data segment is ECT(0) at the IP layer and carries 36 bytes.
    let view = parse_ip(&packets[3]).expect("IP");
    let Net::V4(ip) = view.net else {
        panic!("IPv4")
    };
    assert_eq!(ip.ecn, Ecn::Ect0);
    let (_, data) = tcp(&packets[3], "tcp4_session data");
    assert_eq!(data.flags, TcpFlags::PSH | TcpFlags::ACK);
    assert_eq!(data.payload.len(), 36);
    assert_eq!(data.options.timestamp.map(|t| t.tsecr), Some(3146004372));
}

#[test]
fn tcp6_session_syn_advertises_the_ipv6_mss() {
    let packets = golden_ip_packets("tcp6_session");
    let (addrs, syn) = tcp(&packets[0], "tcp6_session SYN");
    assert_eq!(
        addrs,
        AddrPair::V6 {
            src: a6(),
            dst: b6()
        }
    );
    assert_eq!(syn.flags, TcpFlags::SYN | TcpFlags::ECE | TcpFlags::CWR);
    assert_eq!(syn.seq_number, SeqNumber(3960804544));
    assert_eq!(syn.options.mss, Some(1440));
    let (_, syn_ack) = tcp(&packets[1], "tcp6_session SYN-ACK");
    assert_eq!(syn_ack.options.mss, Some(1220));
    let (_, reply) = tcp(&packets[5], "tcp6_session reply");
    assert_eq!(reply.payload.len(), 414);
}

#[test]
fn tcp4_rst_answers_the_syn() {
    let packets = golden_ip_packets("tcp4_rst");
    let (_, syn) = tcp(&packets[0], "tcp4_rst SYN");
    assert_eq!(syn.flags, TcpFlags::SYN);
    assert_eq!(syn.seq_number, SeqNumber(893082062));
    let (_, rst) = tcp(&packets[1], "tcp4_rst RST");
    assert_eq!(rst.flags, TcpFlags::RST | TcpFlags::ACK);
    assert_eq!(rst.seq_number, SeqNumber(0));
    assert_eq!(rst.ack_number, SeqNumber(893082063));
    assert_eq!(rst.window_len, 0);
    assert!(rst.options.is_empty());
}

#[test]
fn tcp4_sack_duplicate_acks_carry_the_sack_blocks_tcpdump_printed() {
    let packets = golden_ip_packets("tcp4_sack");
    let (_, syn) = tcp(&packets[0], "tcp4_sack SYN");
    assert_eq!(syn.options.mss, Some(512));

    // 1-based packet number in tcp4_sack.tcpdump.txt -> its ack and its
    // `sack N {l:r}...` blocks.
    let want: BTreeMap<usize, (u32, Vec<(u32, u32)>)> = [
        (10, (611622219, vec![(611622719, 611623219)])),
        (
            11,
            (
                611622219,
                vec![(611623719, 611624219), (611622719, 611623219)],
            ),
        ),
        (
            13,
            (
                611622219,
                vec![(611623719, 611624719), (611622719, 611623219)],
            ),
        ),
        (15, (611623219, vec![(611623719, 611624719)])),
    ]
    .into_iter()
    .collect();
    for (i, ip) in packets.iter().enumerate() {
        let n = i + 1;
        let (_, seg) = tcp(ip, &format!("tcp4_sack #{n}"));
        let blocks: Vec<(u32, u32)> = seg
            .options
            .sack_ranges
            .as_slice()
            .iter()
            .map(|(l, r)| (l.0, r.0))
            .collect();
        match want.get(&n) {
            Some((ack, want_blocks)) => {
                assert_eq!(&blocks, want_blocks, "tcp4_sack #{n}");
                // From b, acking the first hole still open.
                assert_eq!(seg.src_port, 5002, "tcp4_sack #{n}");
                assert_eq!(seg.ack_number, SeqNumber(*ack), "tcp4_sack #{n}");
            }
            None => assert!(blocks.is_empty(), "tcp4_sack #{n}: {blocks:?}"),
        }
    }
}

#[test]
fn frag_needed_carries_the_next_hop_mtu_and_quotes_the_request() {
    // tcpdump: ICMP 10.77.2.2 unreachable - need to frag (mtu 1400), length 556
    let packets = golden_ip_packets("icmp4_frag_needed");
    let (ip, msg) = icmpv4(&packets[1], "icmp4_frag_needed #2");
    assert_eq!((ip.src_addr, ip.dst_addr), (R4, A4));
    assert_eq!(ip.total_len(), 576);
    assert_eq!(ip.dscp << 2 | ip.ecn.bits(), 0xc0);
    let Icmpv4Repr::DstUnreachable {
        reason,
        next_hop_mtu,
        invoking,
    } = msg
    else {
        panic!("not destination unreachable: {msg:?}")
    };
    assert_eq!(reason, Icmpv4DstUnreachable::FragRequired);
    assert_eq!(next_hop_mtu, 1400);
    assert_eq!(invoking.len(), 548);
    // The quote is the start of the captured request, byte for byte.
    assert_eq!(invoking, &packets[0][..548]);
    let q = quoted(msg.quoted(), "icmp4_frag_needed");
    assert_eq!(q.src, IpAddr::V4(A4));
    assert_eq!(q.dst, IpAddr::V4(B4));
    assert_eq!(q.protocol, IpProtocol::Icmp);
    assert_eq!((q.src_port, q.dst_port), (None, None));
}

#[test]
fn packet_too_big_carries_mtu_1280_and_quotes_the_request() {
    // tcpdump: ICMP6, packet too big, mtu 1280, length 1240
    let packets = golden_ip_packets("icmp6_packet_too_big");
    let (ip, msg) = icmpv6(&packets[1], "icmp6_packet_too_big #2");
    assert_eq!((ip.src_addr, ip.dst_addr), (r6(), a6()));
    assert_eq!(ip.total_len(), 1280);
    let Icmpv6Repr::PacketTooBig { mtu, invoking } = msg else {
        panic!("not packet too big: {msg:?}")
    };
    assert_eq!(mtu, 1280);
    assert_eq!(invoking.len(), 1232);
    assert_eq!(invoking, &packets[0][..1232]);
    let q = quoted(msg.quoted(), "icmp6_packet_too_big");
    assert_eq!((q.src, q.dst), (IpAddr::V6(a6()), IpAddr::V6(b6())));
    assert_eq!(q.protocol, IpProtocol::Icmpv6);
}

#[test]
fn time_exceeded_quotes_the_whole_request() {
    let packets = golden_ip_packets("icmp4_time_exceeded");
    let (ip, msg) = icmpv4(&packets[1], "icmp4_time_exceeded #2");
    assert_eq!((ip.src_addr, ip.dst_addr), (R4, A4));
    assert!(matches!(
        msg,
        Icmpv4Repr::TimeExceeded {
            reason: layer4_wire::icmpv4::Icmpv4TimeExceeded::TtlExpired,
            ..
        }
    ));
    assert_eq!(msg.invoking(), Some(&packets[0][..]));
    assert_eq!(packets[0].len(), 84);

    let packets = golden_ip_packets("icmp6_time_exceeded");
    let (ip, msg) = icmpv6(&packets[1], "icmp6_time_exceeded #2");
    assert_eq!((ip.src_addr, ip.dst_addr), (r6(), a6()));
    assert!(matches!(
        msg,
        Icmpv6Repr::TimeExceeded {
            reason: layer4_wire::icmpv6::Icmpv6TimeExceeded::HopLimitExceeded,
            ..
        }
    ));
    assert_eq!(msg.invoking(), Some(&packets[0][..]));
    assert_eq!(packets[0].len(), 104);
}

#[test]
fn port_unreachables_quote_the_udp_ports() {
    // tcpdump: ICMP 10.77.2.2 udp port 7778 unreachable
    let packets = golden_ip_packets("udp4");
    let (ip, msg) = icmpv4(&packets[11], "udp4 #12");
    assert_eq!((ip.src_addr, ip.dst_addr), (B4, A4));
    assert!(matches!(
        msg,
        Icmpv4Repr::DstUnreachable {
            reason: Icmpv4DstUnreachable::PortUnreachable,
            next_hop_mtu: 0,
            ..
        }
    ));
    let q = quoted(msg.quoted(), "udp4 #12");
    assert_eq!((q.src, q.dst), (IpAddr::V4(A4), IpAddr::V4(B4)));
    assert_eq!(q.protocol, IpProtocol::Udp);
    assert_eq!((q.src_port, q.dst_port), (Some(40000), Some(7778)));
    assert_eq!(q.tcp_seq, None);

    // tcpdump: ICMP6, destination unreachable, unreachable port, fd00:77:2::2 udp port 7778
    let packets = golden_ip_packets("udp6");
    let (ip, msg) = icmpv6(&packets[11], "udp6 #12");
    assert_eq!((ip.src_addr, ip.dst_addr), (b6(), a6()));
    assert!(matches!(
        msg,
        Icmpv6Repr::DstUnreachable {
            reason: Icmpv6DstUnreachable::PortUnreachable,
            ..
        }
    ));
    let q = quoted(msg.quoted(), "udp6 #12");
    assert_eq!((q.src, q.dst), (IpAddr::V6(a6()), IpAddr::V6(b6())));
    assert_eq!(q.protocol, IpProtocol::Udp);
    assert_eq!((q.src_port, q.dst_port), (Some(40000), Some(7778)));
}

#[test]
fn udp_datagrams_have_the_sizes_sent() {
    for name in ["udp4", "udp6"] {
        let packets = golden_ip_packets(name);
        let lens: Vec<usize> = packets[..11]
            .iter()
            .enumerate()
            .map(
                |(i, ip)| match parse_whole(ip, &format!("{name} #{}", i + 1)).1 {
                    Transport::Udp(u) => u.payload.len(),
                    t => panic!("{name} #{}: not UDP: {t:?}", i + 1),
                },
            )
            .collect();
        assert_eq!(lens, [0, 0, 1, 1, 7, 7, 100, 100, 513, 513, 19], "{name}");
    }
}

#[test]
fn ipv4_fragments_have_the_offsets_tcpdump_printed() {
    // tcpdump -v: id 47829 offsets 0 [+], 1480 [+], 2960 [none]; lengths 1500, 1500, 68;
    // the reply likewise with id 16227.
    let packets = golden_ip_packets("ipv4_fragments");
    let got: Vec<(u16, u16, bool, usize)> = packets
        .iter()
        .map(|ip| {
            let view = parse_ip(ip).expect("IPv4 fragment");
            let Net::V4(h) = view.net else { panic!("IPv4") };
            assert!(view.fragment);
            assert_eq!(h.protocol, IpProtocol::Icmp);
            assert!(!h.dont_frag);
            (h.ident, h.frag_offset, h.more_frags, h.total_len())
        })
        .collect();
    assert_eq!(
        got,
        [
            (47829, 0, true, 1500),
            (47829, 1480, true, 1500),
            (47829, 2960, false, 68),
            (16227, 0, true, 1500),
            (16227, 1480, true, 1500),
            (16227, 2960, false, 68),
        ]
    );
}

#[test]
fn ipv6_fragment_headers_have_the_offsets_tcpdump_printed() {
    // tcpdump -v: frag (0xed396f45:0|1448), (0xed396f45:1448|1448), (0xed396f45:2896|112),
    // then the reply with 0xe812fedf.
    let packets = golden_ip_packets("ipv6_fragments");
    let got: Vec<(u32, u16, bool, usize, ChainEnd)> = packets
        .iter()
        .map(|ip| {
            let view = parse_ip(ip).expect("IPv6 fragment");
            let Net::V6(_, upper) = view.net else {
                panic!("IPv6")
            };
            let f = upper.fragment.expect("fragment header");
            assert_eq!(f.next_header, IpProtocol::Icmpv6);
            assert_eq!(upper.headers.len(), 1);
            (
                f.ident,
                f.frag_offset,
                f.more_frags,
                view.transport.len(),
                upper.end,
            )
        })
        .collect();
    let first = ChainEnd::Upper(IpProtocol::Icmpv6);
    let later = ChainEnd::FragmentData;
    assert_eq!(
        got,
        [
            (0xed396f45, 0, true, 1448, first),
            (0xed396f45, 1448, true, 1448, later),
            (0xed396f45, 2896, false, 112, later),
            (0xe812fedf, 0, true, 1448, first),
            (0xe812fedf, 1448, true, 1448, later),
            (0xe812fedf, 2896, false, 112, later),
        ]
    );
}

/// Concatenate fragment data in offset order, checking there are no gaps.
fn reassemble(mut pieces: Vec<(u16, Vec<u8>)>) -> Vec<u8> {
    pieces.sort_by_key(|(off, _)| *off);
    let mut out = Vec::new();
    for (off, data) in pieces {
        assert_eq!(usize::from(off), out.len(), "fragment gap or overlap");
        out.extend(data);
    }
    out
}

#[test]
fn reassembled_fragments_hold_a_valid_echo() {
    // IPv4: the echo request and reply each reassemble to 3008 bytes of ICMP whose
    // checksum verifies.
    let packets = golden_ip_packets("ipv4_fragments");
    for (half, want_request) in packets.chunks(3).zip([true, false]) {
        let pieces = half
            .iter()
            .map(|ip| {
                let view = parse_ip(ip).expect("IPv4");
                let Net::V4(h) = view.net else { panic!("IPv4") };
                (h.frag_offset, view.transport.to_vec())
            })
            .collect();
        let whole = reassemble(pieces);
        assert_eq!(whole.len(), 3008);
        let msg = Icmpv4Repr::parse(
            &Icmpv4Packet::new_checked(&whole[..]).expect("ICMP"),
            ChecksumMode::Enabled,
        )
        .expect("reassembled ICMP verifies");
        match msg {
            Icmpv4Repr::EchoRequest {
                ident,
                seq_no,
                data,
            } if want_request => {
                assert_eq!((ident, seq_no, data.len()), (29004, 1, 3000));
            }
            Icmpv4Repr::EchoReply {
                ident,
                seq_no,
                data,
            } if !want_request => {
                assert_eq!((ident, seq_no, data.len()), (29004, 1, 3000));
            }
            other => panic!("unexpected {other:?}"),
        }
    }

    // IPv6: likewise, with the pseudo-header of the packet's addresses.
    let packets = golden_ip_packets("ipv6_fragments");
    for (half, want_request) in packets.chunks(3).zip([true, false]) {
        let mut addrs = None;
        let pieces = half
            .iter()
            .map(|ip| {
                let view = parse_ip(ip).expect("IPv6");
                let Net::V6(_, upper) = view.net else {
                    panic!("IPv6")
                };
                addrs = Some(view.addrs);
                let f = upper.fragment.expect("fragment header");
                (f.frag_offset, view.transport.to_vec())
            })
            .collect();
        let addrs = addrs.expect("three fragments");
        let whole = reassemble(pieces);
        assert_eq!(whole.len(), 3008);
        let msg = Icmpv6Repr::parse(
            &Icmpv6Packet::new_checked(&whole[..]).expect("ICMPv6"),
            &addrs,
            ChecksumMode::Enabled,
        )
        .expect("reassembled ICMPv6 verifies");
        match msg {
            Icmpv6Repr::EchoRequest {
                ident,
                seq_no,
                data,
            } if want_request => {
                assert_eq!((ident, seq_no, data.len()), (29369, 1, 3000));
            }
            Icmpv6Repr::EchoReply {
                ident,
                seq_no,
                data,
            } if !want_request => {
                assert_eq!((ident, seq_no, data.len()), (29369, 1, 3000));
            }
            other => panic!("unexpected {other:?}"),
        }
    }
}

#[test]
fn echo_requests_and_replies_match() {
    let packets = golden_ip_packets("icmp4_echo");
    for (i, ip) in packets.iter().enumerate() {
        let (_, msg) = icmpv4(ip, &format!("icmp4_echo #{}", i + 1));
        let seq = (i / 2 + 1) as u16;
        match msg {
            Icmpv4Repr::EchoRequest {
                ident,
                seq_no,
                data,
            } if i % 2 == 0 => {
                assert_eq!((ident, seq_no, data.len()), (28348, seq, 56));
            }
            Icmpv4Repr::EchoReply {
                ident,
                seq_no,
                data,
            } if i % 2 == 1 => {
                assert_eq!((ident, seq_no, data.len()), (28348, seq, 56));
            }
            other => panic!("icmp4_echo #{}: {other:?}", i + 1),
        }
    }
    let packets = golden_ip_packets("icmp6_echo");
    for (i, ip) in packets.iter().enumerate() {
        let (_, msg) = icmpv6(ip, &format!("icmp6_echo #{}", i + 1));
        let seq = (i / 2 + 1) as u16;
        match msg {
            Icmpv6Repr::EchoRequest {
                ident,
                seq_no,
                data,
            } if i % 2 == 0 => {
                assert_eq!((ident, seq_no, data.len()), (28516, seq, 56));
            }
            Icmpv6Repr::EchoReply {
                ident,
                seq_no,
                data,
            } if i % 2 == 1 => {
                assert_eq!((ident, seq_no, data.len()), (28516, seq, 56));
            }
            other => panic!("icmp6_echo #{}: {other:?}", i + 1),
        }
    }
}
