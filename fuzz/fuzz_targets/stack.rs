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
#![no_main]

use layer4::wire::{
    AddrPair, ChecksumMode, Ecn, IpProtocol, Ipv4Options, Ipv4Packet, Ipv4Repr, Ipv6Packet,
    Ipv6Repr, TcpPacket,
};
use layer4::{Config, Duration, Instant, ListenOptions, SocketHandle, Stack};
use libfuzzer_sys::fuzz_target;
use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr};

/// The stack's IPv4 address and its IPv4 peer's.
const V4_LOCAL: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 1);
const V4_PEER: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 2);
/// The stack's IPv6 address and its IPv6 peer's.
const V6_LOCAL: Ipv6Addr = Ipv6Addr::new(0xfd00, 0, 0, 0, 0, 0, 0, 1);
const V6_PEER: Ipv6Addr = Ipv6Addr::new(0xfd00, 0, 0, 0, 0, 0, 0, 2);

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
    let sockets = Sockets {
        listeners: [listener, listener6],
        clients: [client, client6],
        udp,
    };
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
                let packet = match kind {
                    0 => body.to_vec(),
                    3 => {
                        if body.len() > 65535 {
                            continue;
                        }
                        let repr = Ipv6Repr {
                            src_addr: V6_PEER,
                            dst_addr: V6_LOCAL,
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
                            dst: V6_LOCAL,
                        };
                        fill_tcp_checksum(&mut packet, 40, addrs);
                        packet
                    }
                    _ => {
                        let repr = Ipv4Repr {
                            src_addr: V4_PEER,
                            dst_addr: V4_LOCAL,
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
                            dst: V4_LOCAL,
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
    listeners: [SocketHandle; 2],
    clients: [SocketHandle; 2],
    udp: SocketHandle,
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
    for listener in sockets.listeners {
        while let Ok((h, _)) = stack.tcp_accept(listener) {
            accepted.push(h);
        }
    }
    for &h in accepted.iter().chain(sockets.clients.iter()) {
        let _ = stack.tcp_recv(now, h, buf);
        let _ = stack.tcp_send(now, h, b"reply");
        let _ = stack.tcp_info(now, h);
    }
    let _ = stack.udp_recv_from(sockets.udp, buf);
    let _ = stack.socket_table(now);
}
