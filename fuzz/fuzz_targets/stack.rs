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
//! (Bits 1 and 2 of the mode byte and bit 3 of an op were unused before
//! session 17: an older corpus's inputs with them set now run with
//! transparent sockets.)
#![no_main]

use layer4::wire::{
    AddrPair, ChecksumMode, Ecn, IpProtocol, Ipv4Options, Ipv4Packet, Ipv4Repr, Ipv6Packet,
    Ipv6Repr, TcpPacket,
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
                let packet = match kind {
                    0 => body.to_vec(),
                    3 => {
                        if body.len() > 65535 {
                            continue;
                        }
                        let repr = Ipv6Repr {
                            src_addr: V6_PEER,
                            dst_addr: dst6,
                            next_header: IpProtocol::Tcp,
                            payload_len: body.len(),
                            hop_limit: 64,
                            dscp: 0,
                            ecn: Ecn::NotEct,
                            flow_label: 0,
                        };
                        let mut packet = vec![0u8; 40 + body.len()];
                        repr.emit(&mut Ipv6Packet::new_unchecked(&mut packet[..]));
                        packet[40..].copy_from_slice(body);
                        let addrs = AddrPair::V6 {
                            src: V6_PEER,
                            dst: dst6,
                        };
                        fill_tcp_checksum(&mut packet, 40, addrs);
                        packet
                    }
                    _ => {
                        let repr = Ipv4Repr {
                            src_addr: V4_PEER,
                            dst_addr: dst4,
                            protocol: IpProtocol::Tcp,
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
                            continue;
                        }
                        let mut packet = vec![0u8; repr.total_len()];
                        repr.emit(
                            &mut Ipv4Packet::new_unchecked(&mut packet[..]),
                            ChecksumMode::Enabled,
                        );
                        packet[20..].copy_from_slice(body);
                        let addrs = AddrPair::V4 {
                            src: V4_PEER,
                            dst: dst4,
                        };
                        fill_tcp_checksum(&mut packet, 20, addrs);
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
