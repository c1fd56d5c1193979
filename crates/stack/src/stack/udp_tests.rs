//! Hostile UDP at the stack: datagrams from strangers at a connected socket, empty
//! datagrams, broadcast without `SO_BROADCAST`, and floods at closed ports.

use core::net::{IpAddr, Ipv4Addr, SocketAddr};

use super::tests::{Impairment, Pair, A4, B4};
use crate::error::Error;
use crate::wire::{AddrPair, ChecksumMode, IpProtocol, UdpPacket, UdpRepr};

/// Hands B a UDP datagram from `src` to `dst`, built by A.
fn datagram_to_b(pair: &mut Pair, src: SocketAddr, dst: SocketAddr, payload: &[u8]) {
    let addrs = AddrPair::new(src.ip(), dst.ip()).unwrap();
    let udp = UdpRepr {
        src_port: src.port(),
        dst_port: dst.port(),
        payload,
    };
    let mut body = vec![0u8; udp.buffer_len()];
    udp.emit(
        &mut UdpPacket::new_unchecked(&mut body[..]),
        &addrs,
        ChecksumMode::Enabled,
    );
    let packet = pair
        .a
        .build_ip_packet(src.ip(), dst.ip(), IpProtocol::Udp, &body, 64, 0)
        .unwrap();
    pair.b.handle_packet(pair.now, &packet);
}

#[test]
fn a_connected_socket_takes_datagrams_from_its_peer_only_and_empty_ones_too() {
    let mut pair = Pair::new(Impairment::default(), 150);
    let local = SocketAddr::new(IpAddr::V4(B4), 5353);
    let peer = SocketAddr::new(IpAddr::V4(A4), 53);
    let s = pair.b.udp_bind(local).unwrap();
    pair.b.udp_connect(s, peer).unwrap();
    // Another port of the peer's host, another host: not for this socket. As
    // on Linux, the datagram finds no socket: counted, and a port unreachable
    // goes back.
    for stranger in [
        SocketAddr::new(IpAddr::V4(A4), 54),
        SocketAddr::new(IpAddr::V4(Ipv4Addr::new(10, 0, 0, 9)), 53),
    ] {
        datagram_to_b(&mut pair, stranger, local, b"spoofed answer");
    }
    assert_eq!(pair.b.stats().udp.no_ports, 2);
    assert_eq!(pair.b.stats().icmp.out_type[3], 2);
    let mut buf = [0u8; 64];
    assert_eq!(pair.b.udp_recv_from(s, &mut buf), Err(Error::WouldBlock));
    // The peer's datagrams arrive, an empty one as an empty datagram.
    datagram_to_b(&mut pair, peer, local, b"");
    datagram_to_b(&mut pair, peer, local, b"answer");
    assert_eq!(pair.b.udp_recv_from(s, &mut buf), Ok((0, peer)));
    assert_eq!(pair.b.udp_recv_from(s, &mut buf), Ok((6, peer)));
    assert_eq!(pair.b.stats().udp.in_datagrams, 2);
}

#[test]
fn broadcast_needs_the_broadcast_option_to_connect_or_send() {
    let mut pair = Pair::new(Impairment::default(), 151);
    let s = pair
        .a
        .udp_bind(SocketAddr::new(IpAddr::V4(Ipv4Addr::UNSPECIFIED), 68))
        .unwrap();
    for dst in [Ipv4Addr::BROADCAST, Ipv4Addr::new(10, 0, 0, 255)] {
        let dst = SocketAddr::new(IpAddr::V4(dst), 67);
        assert_eq!(
            pair.a.udp_send_to(s, b"discover", dst),
            Err(Error::BroadcastNotAllowed),
            "{dst}"
        );
        // Linux's connect(2) refuses it too (EACCES), rather than letting every
        // later send fail.
        assert_eq!(
            pair.a.udp_connect(s, dst),
            Err(Error::BroadcastNotAllowed),
            "{dst}"
        );
    }
    pair.a.udp_set_broadcast(s, true).unwrap();
    for dst in [Ipv4Addr::BROADCAST, Ipv4Addr::new(10, 0, 0, 255)] {
        let dst = SocketAddr::new(IpAddr::V4(dst), 67);
        assert_eq!(pair.a.udp_send_to(s, b"discover", dst), Ok(8), "{dst}");
        // The limited broadcast needs no route, for connect as for send_to.
        assert_eq!(pair.a.udp_connect(s, dst), Ok(()), "{dst}");
        assert_eq!(pair.a.udp_send(s, b"request"), Ok(7), "{dst}");
    }
}

#[test]
fn a_flood_at_a_closed_port_gets_at_most_the_burst_of_port_unreachables() {
    let mut pair = Pair::new(Impairment::default(), 152);
    let burst = pair.b.config().icmp_errors_burst;
    let closed = SocketAddr::new(IpAddr::V4(B4), 9);
    for i in 0..1000u16 {
        let src = SocketAddr::new(IpAddr::V4(A4), 1024 + i);
        datagram_to_b(&mut pair, src, closed, b"x");
    }
    let mut buf = [0u8; 1500];
    let mut sent = 0;
    while pair.b.poll_transmit(pair.now, &mut buf).is_some() {
        sent += 1;
    }
    assert_eq!(sent, burst);
    let stats = pair.b.stats();
    assert_eq!(stats.udp.no_ports, 1000);
    assert_eq!(stats.icmp.out_rate_limited, 1000 - burst as u64);
}
