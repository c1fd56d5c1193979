//! Hostile ICMP and ICMPv6 at the stack: forged "fragmentation needed" / "packet
//! too big" (RFC 1191, RFC 8201, RFC 5927), errors and echo replies toward
//! addresses that are not one host (RFC 1122 section 3.2.2, RFC 4443 section
//! 2.4), and echo requests larger than the path MTU (RFC 1122 section 3.2.2.6).

use core::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

use super::tests::{connect, pattern, Impairment, Pair, A4, A6, B4, B6};
use super::*;
use crate::ip::{Fragmenter, Reassembled, Reassembler, ReassemblyConfig};
use crate::wire::{
    AddrPair, ChecksumMode, Icmpv4DstUnreachable, Icmpv4Packet, Icmpv4Repr, Icmpv6Packet,
    Icmpv6Repr, IpProtocol, Ipv4Packet, UdpPacket, UdpRepr,
};

/// Hands A (`to_a`) or B an IP packet carrying `body` from `src` to `dst`.
pub(super) fn hand(
    pair: &mut Pair,
    to_a: bool,
    src: IpAddr,
    dst: IpAddr,
    proto: IpProtocol,
    body: &[u8],
) {
    let now = pair.now;
    let packet = pair
        .b
        .build_ip_packet(src, dst, proto, body, 64, 0)
        .unwrap();
    let stack = if to_a { &mut pair.a } else { &mut pair.b };
    stack.handle_packet(now, &packet);
}

pub(super) fn icmpv4_body(repr: &Icmpv4Repr<'_>) -> Vec<u8> {
    let mut body = vec![0u8; repr.buffer_len()];
    repr.emit(
        &mut Icmpv4Packet::new_unchecked(&mut body[..]),
        ChecksumMode::Enabled,
    );
    body
}

pub(super) fn icmpv6_body(src: IpAddr, dst: IpAddr, repr: &Icmpv6Repr<'_>) -> Vec<u8> {
    let addrs = AddrPair::new(src, dst).unwrap();
    let mut body = vec![0u8; repr.buffer_len()];
    repr.emit(
        &mut Icmpv6Packet::new_unchecked(&mut body[..]),
        &addrs,
        ChecksumMode::Enabled,
    );
    body
}

/// A "fragmentation needed" (IPv4) or "packet too big" (IPv6) reporting `mtu` from a
/// router, quoting `quote`, handed to A.
pub(super) fn too_big_to_a(pair: &mut Pair, quote: &[u8], mtu: u16) {
    if quote[0] >> 4 == 4 {
        let err = Icmpv4Repr::DstUnreachable {
            reason: Icmpv4DstUnreachable::FragRequired,
            next_hop_mtu: mtu,
            invoking: quote,
        };
        let router = IpAddr::V4(Ipv4Addr::new(10, 0, 0, 254));
        hand(
            pair,
            true,
            router,
            IpAddr::V4(A4),
            IpProtocol::Icmp,
            &icmpv4_body(&err),
        );
    } else {
        let err = Icmpv6Repr::PacketTooBig {
            mtu: u32::from(mtu),
            invoking: quote,
        };
        let router = IpAddr::V6(Ipv6Addr::new(0xfd00, 0, 0, 0, 0, 0, 0, 0xfe));
        let body = icmpv6_body(router, IpAddr::V6(A6), &err);
        hand(
            pair,
            true,
            router,
            IpAddr::V6(A6),
            IpProtocol::Icmpv6,
            &body,
        );
    }
}

/// A connection from A to B (over IPv6 if `v6`) with a full-sized data segment just
/// sent: the connection and that segment's IP and TCP headers, to quote.
pub(super) fn sending_connection(pair: &mut Pair, v6: bool, port: u16) -> (SocketHandle, Vec<u8>) {
    let server = if v6 {
        SocketAddr::new(IpAddr::V6(B6), port)
    } else {
        SocketAddr::new(IpAddr::V4(B4), port)
    };
    let (c, _l, _s) = connect(pair, server);
    pair.a.tcp_send(pair.now, c, &pattern(3000, 1)).unwrap();
    let mut buf = [0u8; 1500];
    let n = pair.a.poll_transmit(pair.now, &mut buf).unwrap();
    assert_eq!(n, 1500);
    let hl = if v6 { 40 } else { 20 };
    (c, buf[..hl + 8].to_vec())
}

#[test]
fn packet_too_big_that_quotes_nothing_we_sent_leaves_the_path_mtu_alone() {
    for v6 in [false, true] {
        let mut pair = Pair::new(Impairment::default(), 140 + u64::from(v6));
        let dst = if v6 { IpAddr::V6(B6) } else { IpAddr::V4(B4) };
        let (c, genuine) = sending_connection(&mut pair, v6, 80);
        let hl = genuine.len() - 8;
        let now = pair.now;

        // A connection that does not exist: another source port.
        let mut no_conn = genuine.clone();
        no_conn[hl] ^= 0x55;
        too_big_to_a(&mut pair, &no_conn, 1280);
        // The live connection, a sequence number it never sent (RFC 5927).
        let mut stale = genuine.clone();
        stale[hl + 4] ^= 0x80;
        too_big_to_a(&mut pair, &stale, 1280);
        // A UDP datagram from a port no socket has.
        let mut udp = genuine.clone();
        udp[if v6 { 6 } else { 9 }] = 17;
        too_big_to_a(&mut pair, &udp, 1280);
        // An ICMP message (no ports, nothing to check it against).
        let mut icmp = genuine[..hl].to_vec();
        icmp[if v6 { 6 } else { 9 }] = if v6 { 58 } else { 1 };
        icmp.extend_from_slice(&[if v6 { 129 } else { 0 }, 0, 0, 0, 0, 0, 0, 0]);
        too_big_to_a(&mut pair, &icmp, 1280);

        // The TCP and UDP quotes of no socket count as Linux counts them
        // (`tcp_v4_err`, `__udp4_lib_err`, `tcp_v6_err`, `__udp6_lib_err`);
        // the stale one is an OutOfWindowIcmp, the ICMP one nothing.
        let st = pair.a.stats();
        let in_errors = if v6 {
            st.icmp6.in_errors
        } else {
            st.icmp.in_errors
        };
        assert_eq!(in_errors, 2, "v6 {v6}");
        assert_eq!(st.tcp.out_of_window_icmps, 1, "v6 {v6}");
        assert_eq!(pair.a.path_mtu(now, dst), 1500, "v6 {v6}: the cache");
        assert_eq!(pair.a.tcp_info(now, c).unwrap().pmtu, 1500, "v6 {v6}");
        // A connection opened now still starts at the link MTU.
        let (d, _) = sending_connection(&mut pair, v6, 81);
        assert_eq!(pair.a.tcp_info(pair.now, d).unwrap().pmtu, 1500, "v6 {v6}");

        // The genuine quote lowers both.
        too_big_to_a(&mut pair, &genuine, 1280);
        assert_eq!(pair.a.path_mtu(pair.now, dst), 1280, "v6 {v6}");
        assert_eq!(pair.a.tcp_info(pair.now, c).unwrap().pmtu, 1280, "v6 {v6}");
    }
}

#[test]
fn every_connection_to_a_destination_learns_its_packet_too_big() {
    for v6 in [false, true] {
        let mut pair = Pair::new(Impairment::default(), 142 + u64::from(v6));
        // Two connections to the same destination, both sending full-sized
        // segments before any error came back.
        let (c1, quote1) = sending_connection(&mut pair, v6, 80);
        let (c2, quote2) = sending_connection(&mut pair, v6, 81);
        too_big_to_a(&mut pair, &quote1, 1400);
        assert_eq!(pair.a.tcp_info(pair.now, c1).unwrap().pmtu, 1400);
        // The second one's error reports what the cache already holds: the
        // connection must still shrink, or its segments keep being dropped.
        too_big_to_a(&mut pair, &quote2, 1400);
        assert_eq!(pair.a.tcp_info(pair.now, c2).unwrap().pmtu, 1400, "v6 {v6}");
        let mut buf = [0u8; 1500];
        let sizes: Vec<usize> =
            std::iter::from_fn(|| pair.a.poll_transmit(pair.now, &mut buf)).collect();
        assert!(sizes.iter().all(|&n| n <= 1400), "v6 {v6}: {sizes:?}");
    }
}

/// Sources that do not name one host: no ICMP error, no echo reply goes to them.
fn not_one_host() -> Vec<IpAddr> {
    vec![
        IpAddr::V4(Ipv4Addr::UNSPECIFIED),
        IpAddr::V4(Ipv4Addr::BROADCAST),
        IpAddr::V4(Ipv4Addr::new(10, 0, 0, 255)), // B's subnet broadcast
        IpAddr::V4(Ipv4Addr::new(224, 0, 0, 1)),
        IpAddr::V6(Ipv6Addr::UNSPECIFIED),
        IpAddr::V6(Ipv6Addr::new(0xff02, 0, 0, 0, 0, 0, 0, 1)),
    ]
}

#[test]
fn no_icmp_error_or_echo_reply_goes_to_a_source_that_is_not_one_host() {
    let mut pair = Pair::new(Impairment::default(), 144);
    let mut sources = not_one_host();
    // The control: from a host, each packet is answered.
    sources.push(IpAddr::V4(A4));
    sources.push(IpAddr::V6(A6));
    for src in sources {
        let genuine = src == IpAddr::V4(A4) || src == IpAddr::V6(A6);
        let dst = if src.is_ipv4() {
            IpAddr::V4(B4)
        } else {
            IpAddr::V6(B6)
        };
        // A UDP datagram to a closed port.
        let addrs = AddrPair::new(src, dst).unwrap();
        let udp = UdpRepr {
            src_port: 68,
            dst_port: 67,
            payload: b"discover",
        };
        let mut body = vec![0u8; udp.buffer_len()];
        udp.emit(
            &mut UdpPacket::new_unchecked(&mut body[..]),
            &addrs,
            ChecksumMode::Enabled,
        );
        hand(&mut pair, false, src, dst, IpProtocol::Udp, &body);
        // An echo request.
        let (proto, body) = if src.is_ipv4() {
            let req = Icmpv4Repr::EchoRequest {
                ident: 1,
                seq_no: 1,
                data: b"ping",
            };
            (IpProtocol::Icmp, icmpv4_body(&req))
        } else {
            let req = Icmpv6Repr::EchoRequest {
                ident: 1,
                seq_no: 1,
                data: b"ping",
            };
            (IpProtocol::Icmpv6, icmpv6_body(src, dst, &req))
        };
        hand(&mut pair, false, src, dst, proto, &body);
        // A protocol the stack does not speak (IPv4 answers it).
        hand(&mut pair, false, src, dst, IpProtocol::from(253), b"x");
        let mut buf = [0u8; 1500];
        let mut answers = 0;
        while pair.b.poll_transmit(pair.now, &mut buf).is_some() {
            answers += 1;
        }
        let want = match (genuine, src.is_ipv4()) {
            (false, _) => 0,
            (true, true) => 3,
            (true, false) => 2,
        };
        assert_eq!(answers, want, "from {src}");
    }
}

#[test]
fn an_echo_reply_leaves_without_df_and_an_error_with_it() {
    let mut pair = Pair::new(Impairment::default(), 145);
    let (src, dst) = (IpAddr::V4(A4), IpAddr::V4(B4));
    let req = Icmpv4Repr::EchoRequest {
        ident: 3,
        seq_no: 4,
        data: &[0x55; 1000],
    };
    hand(
        &mut pair,
        false,
        src,
        dst,
        IpProtocol::Icmp,
        &icmpv4_body(&req),
    );
    hand(&mut pair, false, src, dst, IpProtocol::from(253), b"x");
    let mut buf = [0u8; 1500];
    let mut df = Vec::new();
    while let Some(n) = pair.b.poll_transmit(pair.now, &mut buf) {
        let p = Ipv4Packet::new_checked(&buf[..n]).unwrap();
        df.push((buf[20], p.dont_frag()));
    }
    // Type 0 (echo reply) without DF, type 3 (protocol unreachable) with it.
    assert_eq!(df, vec![(0, false), (3, true)]);
}

#[test]
fn echo_request_larger_than_the_path_mtu_is_answered_whole_in_fragments() {
    let mut pair = Pair::new(Impairment::default(), 146);
    let data = pattern(4000, 9);
    for (src, dst) in [
        (IpAddr::V4(A4), IpAddr::V4(B4)),
        (IpAddr::V6(A6), IpAddr::V6(B6)),
    ] {
        let (proto, body) = if src.is_ipv4() {
            let req = Icmpv4Repr::EchoRequest {
                ident: 7,
                seq_no: 2,
                data: &data,
            };
            (IpProtocol::Icmp, icmpv4_body(&req))
        } else {
            let req = Icmpv6Repr::EchoRequest {
                ident: 7,
                seq_no: 2,
                data: &data,
            };
            (IpProtocol::Icmpv6, icmpv6_body(src, dst, &req))
        };
        let mut whole = pair
            .a
            .build_ip_packet(src, dst, proto, &body, 64, 0)
            .unwrap();
        let fragments: Vec<Vec<u8>> = if src.is_ipv4() {
            // Built with DF: clear it (and fix the header checksum) to cut it.
            whole[6] &= !0x40;
            Ipv4Packet::new_unchecked(&mut whole[..]).fill_checksum();
            let f = Fragmenter::ipv4(&whole, 1500).unwrap();
            (0..f.count())
                .map(|i| {
                    let mut b = vec![0u8; f.fragment_len(i).unwrap()];
                    f.write(i, &mut b).unwrap();
                    b
                })
                .collect()
        } else {
            let f = Fragmenter::ipv6(&whole, 1500, 77).unwrap();
            (0..f.count())
                .map(|i| {
                    let mut b = vec![0u8; f.fragment_len(i).unwrap()];
                    f.write(i, &mut b).unwrap();
                    b
                })
                .collect()
        };
        for f in &fragments {
            pair.b.handle_packet(pair.now, f);
        }
        // What B sends fits the MTU, and reassembles into the whole reply.
        let mut reasm = Reassembler::new(ReassemblyConfig::default());
        let mut reply = None;
        let mut buf = [0u8; 1500];
        while let Some(n) = pair.b.poll_transmit(pair.now, &mut buf) {
            let r = if src.is_ipv4() {
                reasm.handle_ipv4(pair.now, &buf[..n])
            } else {
                reasm.handle_ipv6(pair.now, &buf[..n])
            };
            if let Reassembled::Complete(p) = r {
                reply = Some(p);
            }
        }
        let reply = reply.unwrap_or_else(|| panic!("{src}: no whole echo reply"));
        let hl = if src.is_ipv4() { 20 } else { 40 };
        let text = crate::wire::dump(&reply).to_string();
        assert!(text.contains("echo reply, id 7, seq 2"), "{text}");
        assert_eq!(
            &reply[hl + 8..],
            &data[..],
            "{src}: the data comes back whole"
        );
    }
}

/// A's SYN handed to B, which answers with a SYN-ACK kept here (never
/// delivered): B holds a half-open connection. Returns the SYN-ACK's IP and
/// TCP headers, to quote.
fn half_open_at_b(pair: &mut Pair, v6: bool, port: u16) -> Vec<u8> {
    let server = if v6 {
        SocketAddr::new(IpAddr::V6(B6), port)
    } else {
        SocketAddr::new(IpAddr::V4(B4), port)
    };
    pair.b.tcp_listen(server, ListenOptions::default()).unwrap();
    pair.a.tcp_connect(pair.now, server, None).unwrap();
    let mut buf = [0u8; 1500];
    let n = pair.a.poll_transmit(pair.now, &mut buf).unwrap();
    pair.b.handle_packet(pair.now, &buf[..n]);
    let n = pair.b.poll_transmit(pair.now, &mut buf).unwrap();
    let hl = if v6 { 40 } else { 20 };
    assert!(n >= hl + 20 && buf[hl + 13] & 0x12 == 0x12, "a SYN-ACK");
    buf[..hl + 8].to_vec()
}

/// A destination unreachable (`port`: port unreachable, else host
/// unreachable) from A's address to B, quoting `quote`.
fn unreachable_to_b(pair: &mut Pair, quote: &[u8], port: bool) {
    if quote[0] >> 4 == 4 {
        let err = Icmpv4Repr::DstUnreachable {
            reason: if port {
                Icmpv4DstUnreachable::PortUnreachable
            } else {
                Icmpv4DstUnreachable::HostUnreachable
            },
            next_hop_mtu: 0,
            invoking: quote,
        };
        let (src, dst) = (IpAddr::V4(A4), IpAddr::V4(B4));
        hand(pair, false, src, dst, IpProtocol::Icmp, &icmpv4_body(&err));
    } else {
        let err = Icmpv6Repr::DstUnreachable {
            reason: if port {
                crate::wire::Icmpv6DstUnreachable::PortUnreachable
            } else {
                crate::wire::Icmpv6DstUnreachable::AddrUnreachable
            },
            invoking: quote,
        };
        let (src, dst) = (IpAddr::V6(A6), IpAddr::V6(B6));
        let body = icmpv6_body(src, dst, &err);
        hand(pair, false, src, dst, IpProtocol::Icmpv6, &body);
    }
}

#[test]
fn a_port_unreachable_quoting_our_syn_ack_drops_the_half_open_connection() {
    for v6 in [false, true] {
        let mut pair = Pair::new(Impairment::default(), 160 + u64::from(v6));
        let syn_ack = half_open_at_b(&mut pair, v6, 80);
        let hl = syn_ack.len() - 8;
        assert_eq!(pair.b.tcp_conn_count, 1);
        // Forged: our ISN plus or minus one (RFC 5927): ignored and counted.
        for delta in [1u32, u32::MAX] {
            let mut forged = syn_ack.clone();
            let isn = u32::from_be_bytes(forged[hl + 4..hl + 8].try_into().unwrap());
            forged[hl + 4..hl + 8].copy_from_slice(&isn.wrapping_add(delta).to_be_bytes());
            unreachable_to_b(&mut pair, &forged, true);
        }
        assert_eq!(pair.b.stats().tcp.out_of_window_icmps, 2, "v6 {v6}");
        // A soft error (host / address unreachable) leaves it too (RFC 9293
        // MUST-56).
        unreachable_to_b(&mut pair, &syn_ack, false);
        assert_eq!(pair.b.tcp_conn_count, 1, "v6 {v6}");
        assert_eq!(pair.b.stats().tcp.listen_drops, 0, "v6 {v6}");
        // The genuine quote of our SYN-ACK: the half-open connection goes,
        // counted as Linux counts it (`tcp_req_err`: a ListenDrop, not an
        // AttemptFail), and the listener's SYN queue is free.
        unreachable_to_b(&mut pair, &syn_ack, true);
        assert_eq!(pair.b.tcp_conn_count, 0, "v6 {v6}");
        assert_eq!(pair.b.stats().tcp.listen_drops, 1, "v6 {v6}");
        assert_eq!(pair.b.stats().tcp.attempt_fails, 0, "v6 {v6}");
        assert_eq!(pair.b.stats().tcp.out_of_window_icmps, 2, "v6 {v6}");
        let pending: usize = pair
            .b
            .sockets
            .iter()
            .filter_map(|(_, e)| match &e.socket {
                Socket::Listener(l) => Some(l.syn_pending),
                _ => None,
            })
            .sum();
        assert_eq!(pending, 0, "v6 {v6}");
        // The client's next SYN opens a new one, which completes.
        let ok = pair.run_until(crate::time::Duration::from_secs(10), |p| {
            p.b.tcp_conn_count == 1 && p.a.stats().tcp.curr_estab == 1
        });
        assert!(ok, "v6 {v6}: the retried handshake did not complete");
    }
}

#[test]
fn an_icmp_error_quoting_less_than_eight_transport_bytes_is_an_icmp_in_error() {
    // Linux hands an ICMP error to TCP or UDP only with the quoted IP header
    // and 8 bytes past it (`icmp_socket_deliver`, `icmpv6_notify`); a shorter
    // quote counts in IcmpInErrors / Icmp6InErrors, and TCP, which never sees
    // it, counts nothing (not OutOfWindowIcmps).
    for v6 in [false, true] {
        let mut pair = Pair::new(Impairment::default(), 170 + u64::from(v6));
        let dst = if v6 { IpAddr::V6(B6) } else { IpAddr::V4(B4) };
        let (c, genuine) = sending_connection(&mut pair, v6, 80);
        let hl = genuine.len() - 8;
        let in_errors = |p: &Pair| {
            let s = p.a.stats();
            if v6 {
                s.icmp6.in_errors
            } else {
                s.icmp.in_errors
            }
        };
        let before = in_errors(&pair);
        // The ports and no sequence number; the ports and half of it.
        for cut in [4, 6] {
            too_big_to_a(&mut pair, &genuine[..hl + cut], 1280);
        }
        let now = pair.now;
        assert_eq!(pair.a.stats().tcp.out_of_window_icmps, 0, "v6 {v6}");
        assert_eq!(in_errors(&pair), before + 2, "v6 {v6}");
        assert_eq!(pair.a.path_mtu(now, dst), 1500, "v6 {v6}");
        assert_eq!(pair.a.tcp_info(now, c).unwrap().pmtu, 1500, "v6 {v6}");
        // The whole 8 bytes: taken.
        too_big_to_a(&mut pair, &genuine, 1280);
        assert_eq!(in_errors(&pair), before + 2, "v6 {v6}");
        assert_eq!(pair.a.tcp_info(now, c).unwrap().pmtu, 1280, "v6 {v6}");
    }
}

/// A port unreachable from B to A quoting `quote`.
fn port_unreachable_to_a(pair: &mut Pair, quote: &[u8]) {
    if quote[0] >> 4 == 4 {
        let err = Icmpv4Repr::DstUnreachable {
            reason: Icmpv4DstUnreachable::PortUnreachable,
            next_hop_mtu: 0,
            invoking: quote,
        };
        let (src, dst) = (IpAddr::V4(B4), IpAddr::V4(A4));
        hand(pair, true, src, dst, IpProtocol::Icmp, &icmpv4_body(&err));
    } else {
        let err = Icmpv6Repr::DstUnreachable {
            reason: crate::wire::Icmpv6DstUnreachable::PortUnreachable,
            invoking: quote,
        };
        let (src, dst) = (IpAddr::V6(B6), IpAddr::V6(A6));
        let body = icmpv6_body(src, dst, &err);
        hand(pair, true, src, dst, IpProtocol::Icmpv6, &body);
    }
}

/// `quote` (an IP header and 8 transport bytes) made a quote of a UDP
/// datagram (`udp`) or a TCP segment from port `sport` to port `dport`.
fn requoted(quote: &[u8], udp: bool, sport: u16, dport: u16) -> Vec<u8> {
    let mut q = quote.to_vec();
    let v6 = q[0] >> 4 == 6;
    let hl = q.len() - 8;
    q[if v6 { 6 } else { 9 }] = if udp { 17 } else { 6 };
    q[hl..hl + 2].copy_from_slice(&sport.to_be_bytes());
    q[hl + 2..hl + 4].copy_from_slice(&dport.to_be_bytes());
    q
}

#[test]
fn an_icmp_error_about_no_socket_is_an_icmp_in_error() {
    // Linux's TCP and UDP error handlers count an error whose quote names no
    // socket in IcmpInErrors / Icmp6InErrors (`tcp_v4_err`, `tcp_v6_err`,
    // `__udp4_lib_err`, `__udp6_lib_err`); one about a TCP connection in
    // TIME-WAIT, or a UDP socket bound to the quoted port (unconnected, or
    // connected to the quoted destination), counts nothing there.
    for v6 in [false, true] {
        let mut pair = Pair::new(Impairment::default(), 180 + u64::from(v6));
        let (c, genuine) = sending_connection(&mut pair, v6, 80);
        let (b, a) = if v6 {
            (IpAddr::V6(B6), IpAddr::V6(A6))
        } else {
            (IpAddr::V4(B4), IpAddr::V4(A4))
        };
        let in_errors = |p: &Pair| {
            let s = p.a.stats();
            if v6 {
                s.icmp6.in_errors
            } else {
                s.icmp.in_errors
            }
        };
        let unbound = pair.a.udp_bind(SocketAddr::new(a, 5001)).unwrap();
        let connected = pair.a.udp_bind(SocketAddr::new(a, 5002)).unwrap();
        pair.a
            .udp_connect(connected, SocketAddr::new(b, 7000))
            .unwrap();
        let before = in_errors(&pair);
        // Sockets that could have sent the datagram.
        port_unreachable_to_a(&mut pair, &requoted(&genuine, true, 5001, 9));
        port_unreachable_to_a(&mut pair, &requoted(&genuine, true, 5002, 7000));
        assert_eq!(in_errors(&pair), before, "v6 {v6}");
        assert_eq!(pair.a.udp_take_error(unbound), Ok(None), "v6 {v6}");
        assert_eq!(
            pair.a.udp_take_error(connected),
            Ok(Some(crate::Error::ConnectionRefused)),
            "v6 {v6}"
        );
        // No socket: a port nothing is bound to, and a destination the
        // connected socket is not connected to (Linux's lookup skips it).
        port_unreachable_to_a(&mut pair, &requoted(&genuine, true, 5003, 7000));
        port_unreachable_to_a(&mut pair, &requoted(&genuine, true, 5002, 7001));
        assert_eq!(in_errors(&pair), before + 2, "v6 {v6}");
        assert_eq!(pair.a.udp_take_error(connected), Ok(None), "v6 {v6}");
        // A TCP quote of no connection, though a listener at B's port 80
        // would not be one either.
        let sport = pair.a.tcp_addrs(c).unwrap().0.port();
        port_unreachable_to_a(&mut pair, &requoted(&genuine, false, sport + 1, 80));
        assert_eq!(in_errors(&pair), before + 3, "v6 {v6}");
        // A connection in TIME-WAIT: found, nothing counted anywhere.
        let (d, _l, s) = connect(&mut pair, SocketAddr::new(b, 81));
        let dport = pair.a.tcp_addrs(d).unwrap().0.port();
        pair.a.close(pair.now, d).unwrap();
        pair.b.close(pair.now, s).unwrap();
        let ok = pair.run_until(crate::time::Duration::from_secs(10), |p| {
            p.a.time_wait_count() == 1
        });
        assert!(ok, "v6 {v6}: no TIME-WAIT");
        let out_of_window = pair.a.stats().tcp.out_of_window_icmps;
        port_unreachable_to_a(&mut pair, &requoted(&genuine, false, dport, 81));
        assert_eq!(in_errors(&pair), before + 3, "v6 {v6}");
        assert_eq!(pair.a.stats().tcp.out_of_window_icmps, out_of_window);
        assert_eq!(pair.a.time_wait_count(), 1, "v6 {v6}");
    }
}
