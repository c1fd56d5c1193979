//! The whole stack fed arbitrary packet sequences: listeners on 10.0.0.1:80 and
//! [fd00::1]:80, a UDP socket on :53 and outgoing connections to 10.0.0.2:80 and
//! [fd00::2]:80 face whatever the input says. Input: a mode byte, whose bit 0 says
//! whether received checksums are verified (`checksum_rx` `Enabled`, so that the
//! verified paths run: header prediction, the deferred payload checksum, runs) or
//! not (`Offloaded`, so that even raw packets' hostile segments reach the TCP state
//! machine); then records of one op byte, then
//! - op % 4 == 0: a 2-byte length and a raw IP packet;
//! - op % 4 == 1: a 2-byte length and a TCP segment, wrapped in IPv4 from 10.0.0.2
//!   with its TCP checksum filled in;
//! - op % 4 == 2: one byte, time advances by that many times 10 ms;
//! - op % 4 == 3: a 2-byte length and a TCP segment, wrapped in IPv6 from fd00::2
//!   with its TCP checksum filled in (the fixed-layout IPv6 receive path).
//!
//! A packet whose op has bit 2 set joins a batch instead of arriving at once; the
//! batch arrives through `Stack::handle_packets` (whose runs of in-order segments
//! take their own path) at the next time step, at 16 packets, or at the end.
//! After every record the stack is drained (transmit, events, accept, read).
//!
//! Mode bit 1 adds transparent sockets (`Stack::tcp_listen_transparent` of
//! every port, IPv4 and IPv6, and `Stack::udp_bind_transparent` of every
//! port); with it, a wrapped segment whose op has bit 3 set goes to a foreign
//! address (203.0.113.7, 2001:db8::7) instead of the stack's. Mode bit 2 makes
//! the IPv4 transparent listener hold SYNs (`Stack::tcp_hold_syns`): the drain
//! completes those to even ports and refuses the others (a RST, an ICMP
//! unreachable or silence, by port).
//!
//! A wrapped segment whose op has bit 4 set arrives as an ICMP or ICMPv6 error
//! instead, from the peer to the segment's destination (the stack's address or,
//! with bit 3, the foreign one), quoting the packet the stack would have sent on
//! that segment's connection: from the destination to the peer, the segment's
//! ports swapped, its acknowledgment number less one as the quoted sequence
//! number (the last byte the segment acknowledges: what a connection has in
//! flight is quoted by replaying the peer's ACK), the rest of the segment as it
//! is; bit 7 makes the quote UDP (the ports swapped, nothing else changed), for
//! the UDP sockets' datagrams. Bits 5 and 6 choose the error: "fragmentation
//! needed" / "packet too big" with the segment's window field as the MTU, port
//! unreachable, host (address) unreachable, or time exceeded. Its checksums are
//! filled in. So the errors reach the connections and sockets, transparent
//! ones too, through the checks of `Stack::quote_owner` and RFC 5927.
//!
//! (Bits 1 and 2 of the mode byte and bit 3 of an op were unused before
//! session 17, and bits 4 to 7 of an op before session 18: an older corpus's
//! inputs with them set now run with transparent sockets, or send ICMP
//! errors.)
#![no_main]

use layer4::wire::icmpv4::Icmpv4TimeExceeded;
use layer4::wire::icmpv6::Icmpv6TimeExceeded;
use layer4::wire::{
    AddrPair, ChecksumMode, Ecn, Icmpv4DstUnreachable, Icmpv4Packet, Icmpv4Repr,
    Icmpv6DstUnreachable, Icmpv6Packet, Icmpv6Repr, IpProtocol, Ipv4Options, Ipv4Packet, Ipv4Repr,
    Ipv6Packet, Ipv6Repr, TcpPacket,
};
use layer4::{Config, Duration, Instant, ListenOptions, SocketHandle, Stack, SynRefusal};
use libfuzzer_sys::fuzz_target;
use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr};

/// The stack's IPv4 address and its IPv4 peer's.
const V4_LOCAL: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 1);
const V4_PEER: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 2);
/// The stack's IPv6 address and its IPv6 peer's.
const V6_LOCAL: Ipv6Addr = Ipv6Addr::new(0xfd00, 0, 0, 0, 0, 0, 0, 1);
const V6_PEER: Ipv6Addr = Ipv6Addr::new(0xfd00, 0, 0, 0, 0, 0, 0, 2);
/// Addresses not the stack's, which only its transparent sockets take.
const V4_FOREIGN: Ipv4Addr = Ipv4Addr::new(203, 0, 113, 7);
const V6_FOREIGN: Ipv6Addr = Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, 7);

/// Fills in the TCP checksum of the segment at `packet[at..]` for `addrs` (when it
/// has room for the field: anything shorter stays as the input made it).
fn fill_tcp_checksum(packet: &mut [u8], at: usize, addrs: AddrPair) {
    if packet.len() >= at + 18 {
        TcpPacket::new_unchecked(&mut packet[at..]).fill_checksum(&addrs);
    }
}

/// Hands `batch` to the stack as one `handle_packets` call, and empties it.
fn flush(stack: &mut Stack, now: Instant, batch: &mut Vec<Vec<u8>>) {
    if !batch.is_empty() {
        stack.handle_packets(now, batch.iter().map(Vec::as_slice));
        batch.clear();
    }
}

/// An IPv4 packet from `src` to `dst` carrying `body` (`None` if too long).
fn ipv4(src: Ipv4Addr, dst: Ipv4Addr, protocol: IpProtocol, body: &[u8]) -> Option<Vec<u8>> {
    let repr = Ipv4Repr {
        src_addr: src,
        dst_addr: dst,
        protocol,
        payload_len: body.len(),
        ttl: 64,
        dscp: 0,
        ecn: Ecn::NotEct,
        ident: 0,
        dont_frag: true,
        more_frags: false,
        frag_offset: 0,
        options: Ipv4Options::default(),
    };
    if repr.total_len() > 65535 {
        return None;
    }
    let mut packet = vec![0u8; repr.total_len()];
    repr.emit(
        &mut Ipv4Packet::new_unchecked(&mut packet[..]),
        ChecksumMode::Enabled,
    );
    packet[20..].copy_from_slice(body);
    Some(packet)
}

/// An IPv6 packet from `src` to `dst` carrying `body` (`None` if too long).
fn ipv6(src: Ipv6Addr, dst: Ipv6Addr, next_header: IpProtocol, body: &[u8]) -> Option<Vec<u8>> {
    if body.len() > 65535 {
        return None;
    }
    let repr = Ipv6Repr {
        src_addr: src,
        dst_addr: dst,
        next_header,
        payload_len: body.len(),
        hop_limit: 64,
        dscp: 0,
        ecn: Ecn::NotEct,
        flow_label: 0,
    };
    let mut packet = vec![0u8; 40 + body.len()];
    repr.emit(&mut Ipv6Packet::new_unchecked(&mut packet[..]));
    packet[40..].copy_from_slice(body);
    Some(packet)
}

/// The ICMP (or, `v6`, ICMPv6) error of an op with bit 4 set, from the peer to
/// `dst4` / `dst6`, quoting the packet the stack would have sent on `segment`'s
/// connection (see the module docs).
fn icmp_error(v6: bool, op: u8, segment: &[u8], dst4: Ipv4Addr, dst6: Ipv6Addr) -> Option<Vec<u8>> {
    let udp = op & 128 != 0;
    let mut transport = segment.to_vec();
    transport.resize(transport.len().max(12), 0);
    transport.swap(0, 2);
    transport.swap(1, 3);
    let window = match transport.get(14..16) {
        Some(w) => u16::from_be_bytes([w[0], w[1]]),
        None => 0,
    };
    if !udp {
        let ack = u32::from_be_bytes([transport[8], transport[9], transport[10], transport[11]]);
        transport[4..8].copy_from_slice(&ack.wrapping_sub(1).to_be_bytes());
    }
    let protocol = if udp {
        IpProtocol::Udp
    } else {
        IpProtocol::Tcp
    };
    let kind = (op >> 5) & 3;
    if v6 {
        let mut quote = ipv6(dst6, V6_PEER, protocol, &transport)?;
        quote.truncate(1280 - 48);
        let error = match kind {
            0 => Icmpv6Repr::PacketTooBig {
                mtu: u32::from(window),
                invoking: &quote,
            },
            1 | 2 => Icmpv6Repr::DstUnreachable {
                reason: if kind == 1 {
                    Icmpv6DstUnreachable::PortUnreachable
                } else {
                    Icmpv6DstUnreachable::AddrUnreachable
                },
                invoking: &quote,
            },
            _ => Icmpv6Repr::TimeExceeded {
                reason: Icmpv6TimeExceeded::HopLimitExceeded,
                invoking: &quote,
            },
        };
        let addrs = AddrPair::V6 {
            src: V6_PEER,
            dst: dst6,
        };
        let mut body = vec![0u8; error.buffer_len()];
        error.emit(
            &mut Icmpv6Packet::new_unchecked(&mut body[..]),
            &addrs,
            ChecksumMode::Enabled,
        );
        ipv6(V6_PEER, dst6, IpProtocol::Icmpv6, &body)
    } else {
        let mut quote = ipv4(dst4, V4_PEER, protocol, &transport)?;
        quote.truncate(576 - 28);
        let error = match kind {
            0 => Icmpv4Repr::DstUnreachable {
                reason: Icmpv4DstUnreachable::FragRequired,
                next_hop_mtu: window,
                invoking: &quote,
            },
            1 | 2 => Icmpv4Repr::DstUnreachable {
                reason: if kind == 1 {
                    Icmpv4DstUnreachable::PortUnreachable
                } else {
                    Icmpv4DstUnreachable::HostUnreachable
                },
                next_hop_mtu: 0,
                invoking: &quote,
            },
            _ => Icmpv4Repr::TimeExceeded {
                reason: Icmpv4TimeExceeded::TtlExpired,
                invoking: &quote,
            },
        };
        let mut body = vec![0u8; error.buffer_len()];
        error.emit(
            &mut Icmpv4Packet::new_unchecked(&mut body[..]),
            ChecksumMode::Enabled,
        );
        ipv4(V4_PEER, dst4, IpProtocol::Icmp, &body)
    }
}

fuzz_target!(|data: &[u8]| {
    let Some((&mode, data)) = data.split_first() else {
        return;
    };
    let mut config = Config::with_address("10.0.0.1/24".parse().unwrap())
        .address("fd00::1/64".parse().unwrap())
        .seed(1);
    config.checksum_rx = if mode & 1 == 1 {
        ChecksumMode::Enabled
    } else {
        ChecksumMode::Offloaded
    };
    let mut stack = Stack::new(config).unwrap();
    let mut now = Instant::from_nanos(1_000_000_000);
    let listener = stack
        .tcp_listen(
            SocketAddr::from(([10, 0, 0, 1], 80)),
            ListenOptions::default(),
        )
        .unwrap();
    let listener6 = stack
        .tcp_listen(SocketAddr::from((V6_LOCAL, 80)), ListenOptions::default())
        .unwrap();
    let udp = stack
        .udp_bind(SocketAddr::from(([10, 0, 0, 1], 53)))
        .unwrap();
    let client = stack
        .tcp_connect(now, SocketAddr::from(([10, 0, 0, 2], 80)), None)
        .unwrap();
    let client6 = stack
        .tcp_connect(now, SocketAddr::from((V6_PEER, 80)), None)
        .unwrap();
    let _ = stack.tcp_send(now, client, b"hello");
    let _ = stack.tcp_send(now, client6, b"hello");
    let transparent = mode & 2 != 0;
    let mut sockets = Sockets {
        listeners: vec![listener, listener6],
        clients: [client, client6],
        udp: vec![udp],
        holding: None,
    };
    if transparent {
        let any4 = SocketAddr::from(([0, 0, 0, 0], 0));
        let any6 = SocketAddr::from((Ipv6Addr::UNSPECIFIED, 0));
        let t4 = stack
            .tcp_listen_transparent(any4, ListenOptions::default())
            .unwrap();
        let t6 = stack
            .tcp_listen_transparent(any6, ListenOptions::default())
            .unwrap();
        sockets.listeners.extend([t4, t6]);
        sockets.udp.push(stack.udp_bind_transparent(any4).unwrap());
        if mode & 4 != 0 {
            stack.tcp_hold_syns(t4, true).unwrap();
            sockets.holding = Some(t4);
        }
    }
    let mut accepted = Vec::new();
    let mut batch: Vec<Vec<u8>> = Vec::new();
    let mut buf = vec![0u8; 2048];
    let mut rest = data;
    while let Some((&op, tail)) = rest.split_first() {
        rest = tail;
        match op % 4 {
            2 => {
                let Some((&ticks, tail)) = rest.split_first() else {
                    break;
                };
                rest = tail;
                flush(&mut stack, now, &mut batch);
                now += Duration::from_millis(10 * u64::from(ticks));
                stack.handle_timeout(now);
            }
            kind => {
                if rest.len() < 2 {
                    break;
                }
                let len = usize::from(u16::from_be_bytes([rest[0], rest[1]])).min(rest.len() - 2);
                let body = &rest[2..2 + len];
                rest = &rest[2 + len..];
                let foreign = transparent && op & 8 != 0;
                let (dst4, dst6) = match foreign {
                    true => (V4_FOREIGN, V6_FOREIGN),
                    false => (V4_LOCAL, V6_LOCAL),
                };
                let packet = match (kind, op & 16 != 0) {
                    (0, _) => body.to_vec(),
                    (3, false) => {
                        let Some(mut packet) = ipv6(V6_PEER, dst6, IpProtocol::Tcp, body) else {
                            continue;
                        };
                        let addrs = AddrPair::V6 {
                            src: V6_PEER,
                            dst: dst6,
                        };
                        fill_tcp_checksum(&mut packet, 40, addrs);
                        packet
                    }
                    (_, false) => {
                        let Some(mut packet) = ipv4(V4_PEER, dst4, IpProtocol::Tcp, body) else {
                            continue;
                        };
                        let addrs = AddrPair::V4 {
                            src: V4_PEER,
                            dst: dst4,
                        };
                        fill_tcp_checksum(&mut packet, 20, addrs);
                        packet
                    }
                    (kind, true) => {
                        let Some(packet) = icmp_error(kind == 3, op, body, dst4, dst6) else {
                            continue;
                        };
                        packet
                    }
                };
                if op & 4 != 0 {
                    batch.push(packet);
                    if batch.len() >= 16 {
                        flush(&mut stack, now, &mut batch);
                    }
                } else {
                    stack.handle_packet(now, &packet);
                }
            }
        }
        drive(&mut stack, now, &mut buf, &mut accepted, &sockets);
    }
    flush(&mut stack, now, &mut batch);
    drive(&mut stack, now, &mut buf, &mut accepted, &sockets);
});

/// The sockets the fuzz input faces.
struct Sockets {
    /// The listeners on the stack's addresses, then the transparent ones.
    listeners: Vec<SocketHandle>,
    clients: [SocketHandle; 2],
    /// The UDP socket on :53, then the transparent one.
    udp: Vec<SocketHandle>,
    /// The transparent listener that holds SYNs, if any.
    holding: Option<SocketHandle>,
}

/// Drains everything, as a driver would: transmit, events, accept, read, write.
fn drive(
    stack: &mut Stack,
    now: Instant,
    buf: &mut [u8],
    accepted: &mut Vec<SocketHandle>,
    sockets: &Sockets,
) {
    let mut sent = 0;
    while stack.poll_transmit(now, buf).is_some() {
        sent += 1;
        assert!(sent < 100_000, "runaway transmit");
    }
    while stack.poll_event().is_some() {}
    if let Some(l) = sockets.holding {
        while let Ok(tuple) = stack.tcp_next_syn(now, l) {
            let port = tuple.local.port();
            let _ = match port % 6 {
                0 | 2 | 4 => stack.tcp_complete_syn(now, l, tuple),
                1 => stack.tcp_refuse_syn(now, l, tuple, SynRefusal::Reset),
                3 => stack.tcp_refuse_syn(now, l, tuple, SynRefusal::HostUnreachable),
                _ => stack.tcp_refuse_syn(now, l, tuple, SynRefusal::Silent),
            };
        }
    }
    for &listener in &sockets.listeners {
        while let Ok((h, _)) = stack.tcp_accept(listener) {
            accepted.push(h);
        }
    }
    for &h in accepted.iter().chain(sockets.clients.iter()) {
        let _ = stack.tcp_recv(now, h, buf);
        let _ = stack.tcp_send(now, h, b"reply");
        let _ = stack.tcp_info(now, h);
    }
    for &udp in &sockets.udp {
        while let Ok((n, from, to)) = stack.udp_recv_from_to(udp, buf) {
            let _ = stack.udp_send_from_to(udp, &buf[..n], to, from);
        }
    }
    let _ = stack.socket_table(now);
}
