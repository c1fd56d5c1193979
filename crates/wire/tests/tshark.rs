//! Wireshark's dissectors read what we emit: a capture written with our `PcapWriter`
//! (`LinkType::Raw`) holding one of every packet kind layer4 sends is decoded by
//! `tshark` to the values we put in, with every checksum it checks "Good", nothing
//! malformed and no checksum complaint among its expert entries.
//!
//! Skips (printing why) when tshark is not installed, except under CI (`CI=true`),
//! where a missing tshark fails.

mod common;

use std::collections::BTreeMap;
use std::process::Command;

use common::{
    icmpv4_bytes, icmpv6_bytes, ipv4_header, ipv4_packet, ipv6_header, ipv6_packet, tcp_bytes,
    udp_bytes, v4, v6, TempDir,
};
use layer4_wire::icmpv4::{Icmpv4ParamProblem, Icmpv4TimeExceeded};
use layer4_wire::icmpv6::{Icmpv6ParamProblem, Icmpv6TimeExceeded};
use layer4_wire::pcap::DEFAULT_SNAPLEN;
use layer4_wire::{
    Ecn, Icmpv4DstUnreachable, Icmpv4Repr, Icmpv6DstUnreachable, Icmpv6Repr, IpProtocol,
    Ipv4Options, Ipv4Repr, Ipv6ExtHeader, Ipv6ExtHeaderRepr, Ipv6FragmentHeader, Ipv6FragmentRepr,
    LinkType, PcapWriter, SackBlocks, SeqNumber, TcpFlags, TcpOptions, TcpRepr, TcpTimestamp,
    TfoCookie, UdpRepr,
};

/// The fields asked of tshark, in order.
const FIELDS: &[&str] = &[
    "frame.number",
    "ip.src",
    "ip.dst",
    "ip.ttl",
    "ip.id",
    "ip.dsfield.dscp",
    "ip.dsfield.ecn",
    "ip.flags.df",
    "ip.flags.mf",
    "ip.frag_offset",
    "ip.hdr_len",
    "ip.len",
    "ip.opt.type",
    "ip.checksum.status",
    "ipv6.src",
    "ipv6.dst",
    "ipv6.hlim",
    "ipv6.flow",
    "ipv6.nxt",
    "ipv6.hopopts.nxt",
    "ipv6.dstopts.nxt",
    "ipv6.opt.type",
    "ipv6.fraghdr.nxt",
    "ipv6.fraghdr.offset",
    "ipv6.fraghdr.more",
    "ipv6.fraghdr.ident",
    "tcp.srcport",
    "tcp.dstport",
    "tcp.seq",
    "tcp.seq_raw",
    "tcp.ack_raw",
    "tcp.flags",
    "tcp.window_size_value",
    "tcp.urgent_pointer",
    "tcp.hdr_len",
    "tcp.len",
    "tcp.options.mss_val",
    "tcp.options.sack_perm",
    "tcp.options.timestamp.tsval",
    "tcp.options.timestamp.tsecr",
    "tcp.options.wscale.shift",
    "tcp.options.tfo.cookie",
    "tcp.options.sack_le",
    "tcp.options.sack_re",
    "tcp.checksum.status",
    "udp.srcport",
    "udp.dstport",
    "udp.length",
    "udp.checksum.status",
    "icmp.type",
    "icmp.code",
    "icmp.mtu",
    "icmp.ident",
    "icmp.seq",
    "icmp.pointer",
    "icmp.checksum.status",
    "icmpv6.type",
    "icmpv6.code",
    "icmpv6.mtu",
    "icmpv6.pointer",
    "icmpv6.echo.identifier",
    "icmpv6.echo.sequence_number",
    "icmpv6.checksum.status",
    "_ws.malformed",
];

/// Preferences: check every checksum tshark can, show absolute sequence numbers.
const PREFS: &[&str] = &[
    "-o",
    "ip.check_checksum:TRUE",
    "-o",
    "tcp.check_checksum:TRUE",
    "-o",
    "udp.check_checksum:TRUE",
    "-o",
    "tcp.relative_sequence_numbers:FALSE",
];

/// Wireshark's `proto_checksum_enum_e`: 0 bad, 1 good, 2 unverified, ...
const GOOD: &str = "1";

/// One packet of the capture and what tshark must say about it: field -> the value
/// tshark prints (all occurrences, comma-separated, as `-T fields` aggregates them).
struct Case {
    name: &'static str,
    packet: Vec<u8>,
    want: Vec<(&'static str, String)>,
}

impl Case {
    fn new(name: &'static str, packet: Vec<u8>) -> Case {
        Case {
            name,
            packet,
            want: Vec::new(),
        }
    }

    fn want(mut self, field: &'static str, value: impl ToString) -> Case {
        self.want.push((field, value.to_string()));
        self
    }
}

/// tshark prints a bool as 1 / 0 in `-T fields`.
fn bit(b: bool) -> &'static str {
    if b {
        "1"
    } else {
        "0"
    }
}

fn hex16(v: u16) -> String {
    format!("0x{v:04x}")
}

fn hex_bytes(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

/// Expectations of the IPv4 header `h` (as the outermost header).
fn ip4_wants(h: &Ipv4Repr, total_len: usize) -> Vec<(&'static str, String)> {
    vec![
        ("ip.ttl", h.ttl.to_string()),
        ("ip.id", hex16(h.ident)),
        ("ip.dsfield.dscp", h.dscp.to_string()),
        ("ip.dsfield.ecn", h.ecn.bits().to_string()),
        ("ip.flags.df", bit(h.dont_frag).to_string()),
        ("ip.flags.mf", bit(h.more_frags).to_string()),
        // In 8-octet units, as on the wire.
        ("ip.frag_offset", (h.frag_offset / 8).to_string()),
        ("ip.hdr_len", h.buffer_len().to_string()),
        ("ip.len", total_len.to_string()),
    ]
}

/// Expectations of a TCP segment (the outermost one) sent between `addrs`.
fn tcp_wants(r: &TcpRepr<'_>) -> Vec<(&'static str, String)> {
    let o = &r.options;
    let mut w = vec![
        ("tcp.srcport", r.src_port.to_string()),
        ("tcp.dstport", r.dst_port.to_string()),
        ("tcp.seq_raw", r.seq_number.0.to_string()),
        ("tcp.flags", hex16(r.flags.bits())),
        ("tcp.window_size_value", r.window_len.to_string()),
        ("tcp.hdr_len", r.header_len().to_string()),
        ("tcp.len", r.payload.len().to_string()),
        ("tcp.checksum.status", GOOD.to_string()),
    ];
    if r.flags.contains(TcpFlags::ACK) {
        w.push(("tcp.ack_raw", r.ack_number.0.to_string()));
    }
    if r.flags.contains(TcpFlags::URG) {
        w.push(("tcp.urgent_pointer", r.urgent_pointer.to_string()));
    }
    w.push((
        "tcp.options.mss_val",
        o.mss.map(|v| v.to_string()).unwrap_or_default(),
    ));
    w.push((
        "tcp.options.wscale.shift",
        o.window_scale.map(|v| v.to_string()).unwrap_or_default(),
    ));
    w.push((
        "tcp.options.sack_perm",
        // The field is the option itself: kind 4, length 2.
        if o.sack_permitted { "0402" } else { "" }.to_string(),
    ));
    let (tsval, tsecr) = o
        .timestamp
        .map(|t| (t.tsval.to_string(), t.tsecr.to_string()))
        .unwrap_or_default();
    w.push(("tcp.options.timestamp.tsval", tsval));
    w.push(("tcp.options.timestamp.tsecr", tsecr));
    w.push((
        "tcp.options.tfo.cookie",
        o.fast_open
            .map(|c| hex_bytes(c.as_bytes()))
            .unwrap_or_default(),
    ));
    let blocks = o.sack_ranges.as_slice();
    w.push((
        "tcp.options.sack_le",
        blocks
            .iter()
            .map(|b| b.0 .0.to_string())
            .collect::<Vec<_>>()
            .join(","),
    ));
    w.push((
        "tcp.options.sack_re",
        blocks
            .iter()
            .map(|b| b.1 .0.to_string())
            .collect::<Vec<_>>()
            .join(","),
    ));
    w
}

const SRC4: [u8; 4] = [192, 0, 2, 1];
const DST4: [u8; 4] = [198, 51, 100, 2];
const ROUTER4: [u8; 4] = [203, 0, 113, 1];
const SRC6: &str = "2001:db8::1";
const DST6: &str = "2001:db8:1::2";
const ROUTER6: &str = "2001:db8::fe";

fn tcp4(r: &TcpRepr<'_>, ident: u16) -> (Ipv4Repr, Vec<u8>) {
    let addrs = v4(SRC4, DST4);
    let h = ipv4_header(&addrs, IpProtocol::Tcp, ident);
    let packet = ipv4_packet(&h, &tcp_bytes(r, &addrs));
    (h, packet)
}

/// The cases, in capture order (frame N is `cases()[N - 1]`).
fn cases() -> Vec<Case> {
    let mut out = Vec::new();
    let a4 = v4(SRC4, DST4);
    let a6 = v6(SRC6, DST6);

    // 1. IPv4 + TCP SYN with every option we send: mss, sackOK, TS, wscale, TFO cookie.
    let syn = TcpRepr {
        src_port: 40001,
        dst_port: 80,
        seq_number: SeqNumber(0x1234_5678),
        ack_number: SeqNumber(0),
        flags: TcpFlags::SYN | TcpFlags::ECE | TcpFlags::CWR,
        window_len: 64240,
        urgent_pointer: 0,
        options: TcpOptions {
            mss: Some(1460),
            window_scale: Some(7),
            sack_permitted: true,
            sack_ranges: SackBlocks::new(),
            timestamp: Some(TcpTimestamp {
                tsval: 3_000_000_001,
                tsecr: 0,
            }),
            fast_open: TfoCookie::new(&[0xc0, 0x01, 0x5e, 0xed, 0x01, 0x02, 0x03, 0x04]),
        },
        payload: &[],
    };
    let (h, p) = tcp4(&syn, 0x0101);
    let mut c = Case::new("tcp4 syn, all options", p.clone())
        .want("ip.src", "192.0.2.1")
        .want("ip.dst", "198.51.100.2")
        .want("ip.checksum.status", GOOD);
    c.want.extend(ip4_wants(&h, p.len()));
    c.want.extend(tcp_wants(&syn));
    out.push(c);

    // 2. Data with SACK blocks (and timestamps, as Linux sends them).
    let data = TcpRepr {
        src_port: 80,
        dst_port: 40001,
        seq_number: SeqNumber(0xfedc_ba98),
        ack_number: SeqNumber(0x1234_5679),
        flags: TcpFlags::PSH | TcpFlags::ACK,
        window_len: 501,
        urgent_pointer: 0,
        options: TcpOptions {
            timestamp: Some(TcpTimestamp {
                tsval: 77,
                tsecr: 3_000_000_001,
            }),
            sack_ranges: SackBlocks::from_slice(&[
                (SeqNumber(0x1234_6000), SeqNumber(0x1234_6100)),
                (SeqNumber(0x1234_5800), SeqNumber(0x1234_5a00)),
                (SeqNumber(0xffff_ff00), SeqNumber(0x0000_0100)),
            ])
            .expect("three blocks"),
            ..TcpOptions::new()
        },
        payload: b"layer4 says hello with SACK blocks",
    };
    let addrs = a4.reversed();
    let h = ipv4_header(&addrs, IpProtocol::Tcp, 0x0202);
    let p = ipv4_packet(&h, &tcp_bytes(&data, &addrs));
    let mut c = Case::new("tcp4 data with sack", p.clone())
        .want("ip.src", "198.51.100.2")
        .want("ip.dst", "192.0.2.1");
    c.want.extend(ip4_wants(&h, p.len()));
    c.want.extend(tcp_wants(&data));
    out.push(c);

    // 3. FIN.
    let fin = TcpRepr {
        src_port: 40001,
        dst_port: 80,
        seq_number: SeqNumber(0x1234_5679),
        ack_number: SeqNumber(0xfedc_babb),
        flags: TcpFlags::FIN | TcpFlags::ACK,
        window_len: 502,
        urgent_pointer: 0,
        options: TcpOptions::new(),
        payload: &[],
    };
    let (h, p) = tcp4(&fin, 0x0303);
    let fin_packet = p.clone();
    let mut c = Case::new("tcp4 fin", p.clone());
    c.want.extend(ip4_wants(&h, p.len()));
    c.want.extend(tcp_wants(&fin));
    out.push(c);

    // 4. RST, with URG and a pointer for good measure.
    let rst = TcpRepr {
        src_port: 40001,
        dst_port: 80,
        seq_number: SeqNumber(0x1234_567a),
        ack_number: SeqNumber(0),
        flags: TcpFlags::RST | TcpFlags::URG,
        window_len: 0,
        urgent_pointer: 9,
        options: TcpOptions::new(),
        payload: &[],
    };
    let (h, p) = tcp4(&rst, 0x0404);
    let mut c = Case::new("tcp4 rst", p.clone());
    c.want.extend(ip4_wants(&h, p.len()));
    c.want.extend(tcp_wants(&rst));
    out.push(c);

    // 5. IPv6 + TCP SYN-ACK with AE set.
    let syn_ack = TcpRepr {
        src_port: 443,
        dst_port: 50000,
        seq_number: SeqNumber(7),
        ack_number: SeqNumber(0x8000_0001),
        flags: TcpFlags::SYN | TcpFlags::ACK | TcpFlags::AE,
        window_len: 65535,
        urgent_pointer: 0,
        options: TcpOptions {
            mss: Some(1440),
            window_scale: Some(14),
            sack_permitted: true,
            timestamp: Some(TcpTimestamp { tsval: 1, tsecr: 2 }),
            ..TcpOptions::new()
        },
        payload: &[],
    };
    let h6 = ipv6_header(&a6, IpProtocol::Tcp, 0xabcde);
    let tcp6_packet = ipv6_packet(&h6, &tcp_bytes(&syn_ack, &a6));
    let mut c = Case::new("tcp6 syn-ack", tcp6_packet.clone())
        .want("ipv6.src", SRC6)
        .want("ipv6.dst", DST6)
        .want("ipv6.hlim", 64)
        .want("ipv6.flow", "0x0abcde")
        .want("ipv6.nxt", 6);
    c.want.extend(tcp_wants(&syn_ack));
    out.push(c);

    // 6. IPv4 + UDP.
    let udp = UdpRepr {
        src_port: 40002,
        dst_port: 9999,
        payload: b"a datagram from layer4",
    };
    let h = Ipv4Repr {
        dscp: 46,
        ecn: Ecn::Ect1,
        ..ipv4_header(&a4, IpProtocol::Udp, 0x0606)
    };
    let udp4_packet = ipv4_packet(&h, &udp_bytes(&udp, &a4));
    let mut c = Case::new("udp4", udp4_packet.clone())
        .want("udp.srcport", 40002)
        .want("udp.dstport", 9999)
        .want("udp.length", 8 + udp.payload.len())
        .want("udp.checksum.status", GOOD)
        .want("ip.checksum.status", GOOD);
    c.want.extend(ip4_wants(&h, udp4_packet.len()));
    out.push(c);

    // 7. IPv6 + UDP.
    let udp6 = UdpRepr {
        src_port: 40000,
        dst_port: 7778,
        payload: b"nineteen bytes here",
    };
    let udp6_packet = ipv6_packet(
        &ipv6_header(&a6, IpProtocol::Udp, 0x12345),
        &udp_bytes(&udp6, &a6),
    );
    out.push(
        Case::new("udp6", udp6_packet.clone())
            .want("ipv6.src", SRC6)
            .want("ipv6.dst", DST6)
            .want("ipv6.flow", "0x012345")
            .want("udp.srcport", 40000)
            .want("udp.dstport", 7778)
            .want("udp.length", 27)
            .want("udp.checksum.status", GOOD),
    );

    // 8, 9. ICMPv4 echo request and reply (TTL 1 on the request, quoted below).
    let echo_data: Vec<u8> = (0..56u8).collect();
    let req = Icmpv4Repr::EchoRequest {
        ident: 0x1234,
        seq_no: 7,
        data: &echo_data,
    };
    let h = Ipv4Repr {
        ttl: 1,
        ..ipv4_header(&a4, IpProtocol::Icmp, 0x0808)
    };
    let echo4_packet = ipv4_packet(&h, &icmpv4_bytes(&req));
    out.push(
        Case::new("icmp4 echo request", echo4_packet.clone())
            .want("icmp.type", 8)
            .want("icmp.code", 0)
            .want("icmp.ident", 0x1234)
            .want("icmp.seq", 7)
            .want("icmp.checksum.status", GOOD)
            .want("ip.ttl", 1),
    );
    let rep = Icmpv4Repr::EchoReply {
        ident: 0x1234,
        seq_no: 7,
        data: &echo_data,
    };
    out.push(
        Case::new(
            "icmp4 echo reply",
            ipv4_packet(
                &ipv4_header(&a4.reversed(), IpProtocol::Icmp, 0x0909),
                &icmpv4_bytes(&rep),
            ),
        )
        .want("icmp.type", 0)
        .want("icmp.code", 0)
        .want("icmp.ident", 0x1234)
        .want("icmp.seq", 7)
        .want("icmp.checksum.status", GOOD),
    );

    // 10. Port unreachable quoting the UDP datagram of 6.
    let msg = Icmpv4Repr::DstUnreachable {
        reason: Icmpv4DstUnreachable::PortUnreachable,
        next_hop_mtu: 0,
        invoking: &udp4_packet,
    };
    out.push(
        Case::new(
            "icmp4 port unreachable",
            ipv4_packet(
                &ipv4_header(&a4.reversed(), IpProtocol::Icmp, 0x0a0a),
                &icmpv4_bytes(&msg),
            ),
        )
        .want("ip.src", "198.51.100.2,192.0.2.1")
        .want("ip.dst", "192.0.2.1,198.51.100.2")
        .want("icmp.type", 3)
        .want("icmp.code", 3)
        .want("icmp.checksum.status", GOOD)
        .want("udp.srcport", 40002)
        .want("udp.dstport", 9999),
    );

    // 11. Fragmentation needed, MTU 1400, from a router, quoting the FIN of 3.
    let msg = Icmpv4Repr::DstUnreachable {
        reason: Icmpv4DstUnreachable::FragRequired,
        next_hop_mtu: 1400,
        invoking: &fin_packet,
    };
    let from_router = v4(ROUTER4, SRC4);
    out.push(
        Case::new(
            "icmp4 frag needed",
            ipv4_packet(
                &ipv4_header(&from_router, IpProtocol::Icmp, 0x0b0b),
                &icmpv4_bytes(&msg),
            ),
        )
        .want("ip.src", "203.0.113.1,192.0.2.1")
        .want("icmp.type", 3)
        .want("icmp.code", 4)
        .want("icmp.mtu", 1400)
        .want("icmp.checksum.status", GOOD)
        .want("tcp.srcport", 40001)
        .want("tcp.dstport", 80)
        .want("tcp.seq", 0x1234_5679u32),
    );

    // 12. Time exceeded in transit quoting the echo request of 8.
    let msg = Icmpv4Repr::TimeExceeded {
        reason: Icmpv4TimeExceeded::TtlExpired,
        invoking: &echo4_packet,
    };
    out.push(
        Case::new(
            "icmp4 time exceeded",
            ipv4_packet(
                &ipv4_header(&from_router, IpProtocol::Icmp, 0x0c0c),
                &icmpv4_bytes(&msg),
            ),
        )
        .want("icmp.type", "11,8")
        .want("icmp.code", "0,0")
        // tshark does not verify the quoted message's checksum (2: unverified).
        .want("icmp.checksum.status", "1,2"),
    );

    // 13. IPv4 with options (Router Alert, then NOP NOP NOP EOL) carrying UDP.
    let opts = [0x94, 0x04, 0x00, 0x00, 0x01, 0x01, 0x01, 0x00];
    let h = Ipv4Repr {
        options: Ipv4Options::new(&opts).expect("two words"),
        ..ipv4_header(&a4, IpProtocol::Udp, 0x0d0d)
    };
    let opts_packet = ipv4_packet(&h, &udp_bytes(&udp, &a4));
    let mut c = Case::new("ipv4 with options", opts_packet.clone())
        .want("ip.opt.type", "148,1,1,1,0")
        .want("ip.checksum.status", GOOD)
        .want("udp.checksum.status", GOOD);
    c.want.extend(ip4_wants(&h, opts_packet.len()));
    out.push(c);

    // 14. Parameter problem pointing at the options of 13.
    let msg = Icmpv4Repr::ParamProblem {
        reason: Icmpv4ParamProblem::AtPointer,
        pointer: 20,
        invoking: &opts_packet,
    };
    out.push(
        Case::new(
            "icmp4 parameter problem",
            ipv4_packet(
                &ipv4_header(&from_router, IpProtocol::Icmp, 0x0e0e),
                &icmpv4_bytes(&msg),
            ),
        )
        .want("icmp.type", 12)
        .want("icmp.code", 0)
        .want("icmp.pointer", 20)
        .want("icmp.checksum.status", GOOD),
    );

    // 15, 16. IPv4 fragment pair of one UDP datagram (48 bytes: 24 + 24).
    let frag_udp = UdpRepr {
        src_port: 6000,
        dst_port: 6001,
        payload: b"forty bytes, split over two fragments...",
    };
    let whole = udp_bytes(&frag_udp, &a4);
    assert_eq!(whole.len(), 48);
    for (i, (offset, more)) in [(0u16, true), (24, false)].into_iter().enumerate() {
        let h = Ipv4Repr {
            dont_frag: false,
            more_frags: more,
            frag_offset: offset,
            ..ipv4_header(&a4, IpProtocol::Udp, 0xf00d)
        };
        let part = &whole[usize::from(offset)..usize::from(offset) + 24];
        let p = ipv4_packet(&h, part);
        let mut c = Case::new(
            if i == 0 {
                "ipv4 first fragment"
            } else {
                "ipv4 last fragment"
            },
            p.clone(),
        )
        .want("ip.checksum.status", GOOD);
        c.want.extend(ip4_wants(&h, p.len()));
        if i == 1 {
            // tshark reassembles the datagram here and checks its UDP checksum.
            c = c
                .want("udp.srcport", 6000)
                .want("udp.dstport", 6001)
                .want("udp.length", 48)
                .want("udp.checksum.status", GOOD);
        }
        out.push(c);
    }

    // 17, 18. ICMPv6 echo request (hop limit 1, quoted below) and reply.
    let req6 = Icmpv6Repr::EchoRequest {
        ident: 0xbeef,
        seq_no: 3,
        data: &echo_data,
    };
    let h = layer4_wire::Ipv6Repr {
        hop_limit: 1,
        ..ipv6_header(&a6, IpProtocol::Icmpv6, 0)
    };
    let echo6_packet = ipv6_packet(&h, &icmpv6_bytes(&req6, &a6));
    out.push(
        Case::new("icmp6 echo request", echo6_packet.clone())
            .want("icmpv6.type", 128)
            .want("icmpv6.code", 0)
            .want("icmpv6.echo.identifier", "0xbeef")
            .want("icmpv6.echo.sequence_number", 3)
            .want("icmpv6.checksum.status", GOOD)
            .want("ipv6.hlim", 1),
    );
    let rep6 = Icmpv6Repr::EchoReply {
        ident: 0xbeef,
        seq_no: 3,
        data: &echo_data,
    };
    let back6 = a6.reversed();
    out.push(
        Case::new(
            "icmp6 echo reply",
            ipv6_packet(
                &ipv6_header(&back6, IpProtocol::Icmpv6, 0),
                &icmpv6_bytes(&rep6, &back6),
            ),
        )
        .want("icmpv6.type", 129)
        .want("icmpv6.code", 0)
        .want("icmpv6.echo.identifier", "0xbeef")
        .want("icmpv6.echo.sequence_number", 3)
        .want("icmpv6.checksum.status", GOOD),
    );

    // 19-22. ICMPv6 errors from a router.
    let r6 = v6(ROUTER6, SRC6);
    let error6 = |msg: &Icmpv6Repr<'_>| {
        ipv6_packet(
            &ipv6_header(&r6, IpProtocol::Icmpv6, 0),
            &icmpv6_bytes(msg, &r6),
        )
    };
    let msg = Icmpv6Repr::DstUnreachable {
        reason: Icmpv6DstUnreachable::PortUnreachable,
        invoking: &udp6_packet,
    };
    out.push(
        Case::new("icmp6 port unreachable", error6(&msg))
            .want("ipv6.src", format!("{ROUTER6},{SRC6}"))
            .want("icmpv6.type", 1)
            .want("icmpv6.code", 4)
            .want("icmpv6.checksum.status", GOOD)
            .want("udp.srcport", 40000)
            .want("udp.dstport", 7778),
    );
    let msg = Icmpv6Repr::PacketTooBig {
        mtu: 1280,
        invoking: &tcp6_packet,
    };
    out.push(
        Case::new("icmp6 packet too big", error6(&msg))
            .want("icmpv6.type", 2)
            .want("icmpv6.code", 0)
            .want("icmpv6.mtu", 1280)
            .want("icmpv6.checksum.status", GOOD)
            .want("tcp.srcport", 443),
    );
    let msg = Icmpv6Repr::TimeExceeded {
        reason: Icmpv6TimeExceeded::HopLimitExceeded,
        invoking: &echo6_packet,
    };
    out.push(
        Case::new("icmp6 time exceeded", error6(&msg))
            .want("icmpv6.type", "3,128")
            .want("icmpv6.code", "0,0")
            .want("icmpv6.checksum.status", "1,2"),
    );
    let msg = Icmpv6Repr::ParamProblem {
        reason: Icmpv6ParamProblem::ErroneousHeaderField,
        pointer: 4,
        invoking: &udp6_packet,
    };
    out.push(
        Case::new("icmp6 parameter problem", error6(&msg))
            .want("icmpv6.type", 4)
            .want("icmpv6.code", 0)
            .want("icmpv6.pointer", 4)
            .want("icmpv6.checksum.status", GOOD),
    );

    // 23. IPv6 with hop-by-hop, destination options and an (atomic) fragment header,
    // carrying UDP.
    let hbh_data = [0x01, 0x04, 0, 0, 0, 0]; // PadN(4)
    let dst_data = [0x04, 0x01, 0x05, 0x01, 0x01, 0x00]; // Tunnel Encap Limit 5, PadN(1)
    let mut chain = vec![0u8; 8 + 8 + 8];
    Ipv6ExtHeaderRepr {
        next_header: IpProtocol::Ipv6Opts,
        data: &hbh_data,
    }
    .emit(&mut Ipv6ExtHeader::new_unchecked(&mut chain[0..8]));
    Ipv6ExtHeaderRepr {
        next_header: IpProtocol::Ipv6Frag,
        data: &dst_data,
    }
    .emit(&mut Ipv6ExtHeader::new_unchecked(&mut chain[8..16]));
    Ipv6FragmentRepr {
        next_header: IpProtocol::Udp,
        frag_offset: 0,
        more_frags: false,
        ident: 0x0102_0304,
    }
    .emit(&mut Ipv6FragmentHeader::new_unchecked(&mut chain[16..24]));
    chain.extend(udp_bytes(&udp6, &a6));
    out.push(
        Case::new(
            "ipv6 hop-by-hop, destination options, fragment",
            ipv6_packet(&ipv6_header(&a6, IpProtocol::HopByHop, 0), &chain),
        )
        .want("ipv6.nxt", 0)
        .want("ipv6.hopopts.nxt", 60)
        .want("ipv6.dstopts.nxt", 44)
        .want("ipv6.opt.type", "0x01,0x04,0x01")
        .want("ipv6.fraghdr.nxt", 17)
        .want("ipv6.fraghdr.offset", 0)
        .want("ipv6.fraghdr.more", 0)
        .want("ipv6.fraghdr.ident", "0x01020304")
        .want("udp.srcport", 40000)
        .want("udp.checksum.status", GOOD),
    );

    // 24, 25. IPv6 fragment pair of one ICMPv6 echo request (108 bytes: 56 + 52).
    let big_data: Vec<u8> = (0..100u8).collect();
    let big = Icmpv6Repr::EchoRequest {
        ident: 0x5151,
        seq_no: 9,
        data: &big_data,
    };
    let whole = icmpv6_bytes(&big, &a6);
    assert_eq!(whole.len(), 108);
    for (i, (offset, end, more)) in [(0u16, 56usize, true), (56, 108, false)]
        .into_iter()
        .enumerate()
    {
        let mut payload = vec![0u8; 8];
        Ipv6FragmentRepr {
            next_header: IpProtocol::Icmpv6,
            frag_offset: offset,
            more_frags: more,
            ident: 0xdead_beef,
        }
        .emit(&mut Ipv6FragmentHeader::new_unchecked(&mut payload[..]));
        payload.extend(&whole[usize::from(offset)..end]);
        let mut c = Case::new(
            if i == 0 {
                "ipv6 first fragment"
            } else {
                "ipv6 last fragment"
            },
            ipv6_packet(&ipv6_header(&a6, IpProtocol::Ipv6Frag, 0x777), &payload),
        )
        .want("ipv6.nxt", 44)
        .want("ipv6.fraghdr.nxt", 58)
        .want("ipv6.fraghdr.offset", offset / 8)
        .want("ipv6.fraghdr.more", bit(more))
        .want("ipv6.fraghdr.ident", "0xdeadbeef");
        if i == 1 {
            // Reassembled here: the ICMPv6 checksum covers both fragments.
            c = c
                .want("icmpv6.type", 128)
                .want("icmpv6.echo.identifier", "0x5151")
                .want("icmpv6.echo.sequence_number", 9)
                .want("icmpv6.checksum.status", GOOD);
        }
        out.push(c);
    }

    out
}

fn write_capture(path: &std::path::Path, cases: &[Case]) {
    let file = std::fs::File::create(path).expect("create pcap");
    let mut w = PcapWriter::new(
        std::io::BufWriter::new(file),
        LinkType::Raw,
        DEFAULT_SNAPLEN,
    )
    .expect("pcap header");
    for (i, c) in cases.iter().enumerate() {
        w.write_packet(1_700_000_000_000_000_000 + i as u64 * 1_000_000, &c.packet)
            .expect("write packet");
    }
    w.flush().expect("flush");
}

/// `tshark -T fields` output: one map per frame, field -> printed value.
fn tshark_fields(path: &std::path::Path, fields: &[&str]) -> Vec<BTreeMap<String, String>> {
    let mut cmd = Command::new("tshark");
    cmd.arg("-r")
        .arg(path)
        .args(["-T", "fields", "-E", "separator=/t", "-E", "occurrence=a"])
        .args(PREFS);
    for f in fields {
        cmd.args(["-e", f]);
    }
    let out = common::run(&mut cmd);
    out.lines()
        .map(|line| {
            let values: Vec<&str> = line.split('\t').collect();
            assert_eq!(values.len(), fields.len(), "tshark line: {line:?}");
            fields
                .iter()
                .map(|f| f.to_string())
                .zip(values.into_iter().map(str::to_owned))
                .collect()
        })
        .collect()
}

#[test]
fn tshark_decodes_every_packet_kind_we_emit() {
    const TEST: &str = "tshark_decodes_every_packet_kind_we_emit";
    if !common::have_tool("tshark", TEST) {
        return;
    }
    let dir = TempDir::new("tshark-kinds");
    let path = dir.path("kinds.pcap");
    let cases = cases();
    write_capture(&path, &cases);

    let frames = tshark_fields(&path, FIELDS);
    assert_eq!(frames.len(), cases.len(), "one line per frame");
    let mut failures = Vec::new();
    for (i, (case, got)) in cases.iter().zip(&frames).enumerate() {
        let n = i + 1;
        assert_eq!(got["frame.number"], n.to_string());
        for (field, want) in &case.want {
            let value = got
                .get(*field)
                .unwrap_or_else(|| panic!("{field} is not in FIELDS"));
            if value != want {
                failures.push(format!(
                    "frame {n} ({}): {field} = {value:?}, want {want:?}",
                    case.name
                ));
            }
        }
        if !got["_ws.malformed"].is_empty() {
            failures.push(format!("frame {n} ({}): malformed", case.name));
        }
        // No checksum tshark checked is anything but good.
        for field in [
            "ip.checksum.status",
            "tcp.checksum.status",
            "udp.checksum.status",
            "icmp.checksum.status",
            "icmpv6.checksum.status",
        ] {
            if got[field].split(',').any(|s| s == "0") {
                failures.push(format!("frame {n} ({}): {field} bad", case.name));
            }
        }
    }
    assert!(
        failures.is_empty(),
        "tshark disagrees:\n{}",
        failures.join("\n")
    );
}

#[test]
fn tshark_finds_nothing_malformed_and_no_bad_checksum() {
    const TEST: &str = "tshark_finds_nothing_malformed_and_no_bad_checksum";
    if !common::have_tool("tshark", TEST) {
        return;
    }
    let dir = TempDir::new("tshark-expert");
    let path = dir.path("kinds.pcap");
    let cases = cases();
    write_capture(&path, &cases);

    let fields = [
        "frame.number",
        "_ws.malformed",
        "_ws.expert.message",
        "_ws.expert.group",
        "_ws.expert.severity",
    ];
    let frames = tshark_fields(&path, &fields);
    assert_eq!(frames.len(), cases.len());
    let mut seen_experts = 0;
    for (case, got) in cases.iter().zip(&frames) {
        let what = format!("frame {} ({})", got["frame.number"], case.name);
        assert!(
            got["_ws.malformed"].is_empty(),
            "{what}: malformed: {got:?}"
        );
        let message = got["_ws.expert.message"].to_ascii_lowercase();
        assert!(
            !message.contains("checksum") && !message.contains("malformed"),
            "{what}: {message}"
        );
        // Expert group 0x01000000 is PI_CHECKSUM; 0x07000000 is PI_MALFORMED.
        for group in got["_ws.expert.group"].split(',').filter(|g| !g.is_empty()) {
            assert!(
                !["16777216", "117440512", "0x01000000", "0x07000000"].contains(&group),
                "{what}: expert group {group}: {message}"
            );
            seen_experts += 1;
        }
        // Errors (severity 0x00800000) are never acceptable.
        assert!(
            !got["_ws.expert.severity"]
                .split(',')
                .any(|s| s == "8388608" || s == "0x00800000"),
            "{what}: expert error: {message}"
        );
    }

    // The same through `-z expert`, tshark's own summary.
    let out = common::run(
        Command::new("tshark")
            .arg("-r")
            .arg(&path)
            .args(["-q", "-z", "expert"])
            .args(PREFS),
    );
    let lower = out.to_ascii_lowercase();
    assert!(!lower.contains("malformed"), "{out}");
    assert!(!lower.contains("bad checksum"), "{out}");
    assert!(!lower.contains("errors ("), "tshark expert errors:\n{out}");
    eprintln!("{seen_experts} expert notes/warnings (none about checksums):\n{out}");
}
