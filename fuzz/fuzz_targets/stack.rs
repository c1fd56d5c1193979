//! The whole stack fed arbitrary packet sequences: a listener on 10.0.0.1:80, a UDP
//! socket on :53 and an outgoing connection to 10.0.0.2:80 face whatever the input
//! says. Checksums are not verified (`checksum_rx = Offloaded`) so that hostile
//! segments reach the TCP state machine. Input: records of one op byte, then
//! - op % 3 == 0: a 2-byte length and a raw IP packet;
//! - op % 3 == 1: a 2-byte length and a TCP segment, wrapped in IPv4 from 10.0.0.2;
//! - op % 3 == 2: one byte, time advances by that many times 10 ms.
//! After every record the stack is drained (transmit, events, accept, read).
#![no_main]

use layer4::wire::{ChecksumMode, Ecn, IpProtocol, Ipv4Options, Ipv4Packet, Ipv4Repr};
use layer4::{Config, Duration, Instant, ListenOptions, Stack};
use libfuzzer_sys::fuzz_target;
use std::net::{Ipv4Addr, SocketAddr};

fuzz_target!(|data: &[u8]| {
    let mut config = Config::with_address("10.0.0.1/24".parse().unwrap()).seed(1);
    config.checksum_rx = ChecksumMode::Offloaded;
    let mut stack = Stack::new(config).unwrap();
    let mut now = Instant::from_nanos(1_000_000_000);
    let listener = stack
        .tcp_listen(SocketAddr::from(([10, 0, 0, 1], 80)), ListenOptions::default())
        .unwrap();
    let udp = stack.udp_bind(SocketAddr::from(([10, 0, 0, 1], 53))).unwrap();
    let client = stack
        .tcp_connect(now, SocketAddr::from(([10, 0, 0, 2], 80)), None)
        .unwrap();
    let _ = stack.tcp_send(now, client, b"hello");
    let mut accepted = Vec::new();
    let mut buf = vec![0u8; 2048];
    let mut rest = data;
    while let Some((&op, tail)) = rest.split_first() {
        rest = tail;
        match op % 3 {
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
        for &h in accepted.iter().chain([client].iter()) {
            let _ = stack.tcp_recv(now, h, &mut buf);
            let _ = stack.tcp_send(now, h, b"reply");
            let _ = stack.tcp_info(now, h);
        }
        let _ = stack.udp_recv_from(udp, &mut buf);
        let _ = stack.socket_table(now);
    }
});
