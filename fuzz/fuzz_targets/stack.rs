//! The whole stack fed arbitrary packet sequences: listeners on 10.0.0.1:80 and
//! [fd00::1]:80, a UDP socket on :53 and outgoing connections to 10.0.0.2:80 and
//! [fd00::2]:80 face whatever the input says. Checksums are not verified
//! (`checksum_rx = Offloaded`) so that hostile segments reach the TCP state machine.
//! Input: records of one op byte, then
//! - op % 4 == 0: a 2-byte length and a raw IP packet;
//! - op % 4 == 1: a 2-byte length and a TCP segment, wrapped in IPv4 from 10.0.0.2;
//! - op % 4 == 2: one byte, time advances by that many times 10 ms;
//! - op % 4 == 3: a 2-byte length and a TCP segment, wrapped in IPv6 from fd00::2
//!   (the fixed-layout IPv6 receive path, `Ipv6TcpSegment`).
//! After every record the stack is drained (transmit, events, accept, read).
#![no_main]

use layer4::wire::{
    ChecksumMode, Ecn, IpProtocol, Ipv4Options, Ipv4Packet, Ipv4Repr, Ipv6Packet, Ipv6Repr,
};
use layer4::{Config, Duration, Instant, ListenOptions, Stack};
use libfuzzer_sys::fuzz_target;
use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr};

/// The stack's IPv6 address and its IPv6 peer's.
const V6_LOCAL: Ipv6Addr = Ipv6Addr::new(0xfd00, 0, 0, 0, 0, 0, 0, 1);
const V6_PEER: Ipv6Addr = Ipv6Addr::new(0xfd00, 0, 0, 0, 0, 0, 0, 2);

fuzz_target!(|data: &[u8]| {
    let mut config = Config::with_address("10.0.0.1/24".parse().unwrap())
        .address("fd00::1/64".parse().unwrap())
        .seed(1);
    config.checksum_rx = ChecksumMode::Offloaded;
    let mut stack = Stack::new(config).unwrap();
    let mut now = Instant::from_nanos(1_000_000_000);
    let listener = stack
        .tcp_listen(SocketAddr::from(([10, 0, 0, 1], 80)), ListenOptions::default())
        .unwrap();
    let listener6 = stack
        .tcp_listen(SocketAddr::from((V6_LOCAL, 80)), ListenOptions::default())
        .unwrap();
    let udp = stack.udp_bind(SocketAddr::from(([10, 0, 0, 1], 53))).unwrap();
    let client = stack
        .tcp_connect(now, SocketAddr::from(([10, 0, 0, 2], 80)), None)
        .unwrap();
    let client6 = stack
        .tcp_connect(now, SocketAddr::from((V6_PEER, 80)), None)
        .unwrap();
    let _ = stack.tcp_send(now, client, b"hello");
    let _ = stack.tcp_send(now, client6, b"hello");
    let mut accepted = Vec::new();
    let mut buf = vec![0u8; 2048];
    let mut rest = data;
    while let Some((&op, tail)) = rest.split_first() {
        rest = tail;
        match op % 4 {
            2 => {
                let Some((&ticks, tail)) = rest.split_first() else { break };
                rest = tail;
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
                if kind == 0 {
                    stack.handle_packet(now, body);
                } else if kind == 3 {
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
                    if body.len() > 65535 {
                        continue;
                    }
                    let mut packet = vec![0u8; 40 + body.len()];
                    repr.emit(&mut Ipv6Packet::new_unchecked(&mut packet[..]));
                    packet[40..].copy_from_slice(body);
                    stack.handle_packet(now, &packet);
                } else {
                    let repr = Ipv4Repr {
                        src_addr: Ipv4Addr::new(10, 0, 0, 2),
                        dst_addr: Ipv4Addr::new(10, 0, 0, 1),
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
                    repr.emit(&mut Ipv4Packet::new_unchecked(&mut packet[..]), ChecksumMode::Enabled);
                    packet[20..].copy_from_slice(body);
                    stack.handle_packet(now, &packet);
                }
            }
        }
        // Drain everything, as a driver would.
        let mut sent = 0;
        while stack.poll_transmit(now, &mut buf).is_some() {
            sent += 1;
            assert!(sent < 100_000, "runaway transmit");
        }
        while stack.poll_event().is_some() {}
        while let Ok((h, _)) = stack.tcp_accept(listener) {
            accepted.push(h);
        }
        while let Ok((h, _)) = stack.tcp_accept(listener6) {
            accepted.push(h);
        }
        for &h in accepted.iter().chain([client, client6].iter()) {
            let _ = stack.tcp_recv(now, h, &mut buf);
            let _ = stack.tcp_send(now, h, b"reply");
            let _ = stack.tcp_info(now, h);
        }
        let _ = stack.udp_recv_from(udp, &mut buf);
        let _ = stack.socket_table(now);
    }
});
