//! Synthetic packets for the queue tests: real IPv4/IPv6 headers (so `flow_key`,
//! `ecn` and `mark_ce` work) followed by UDP ports.

use crate::packet::Packet;
use layer4::time::Instant;
use layer4::wire::{ChecksumMode, Ecn, IpProtocol, Ipv4Options, Ipv4Packet, Ipv4Repr};
use layer4::wire::{Ipv6Packet, Ipv6Repr};
use std::net::{Ipv4Addr, Ipv6Addr};

/// An IPv4/UDP datagram of `len` bytes (at least 28) from source port `port`.
pub(crate) fn udp4(port: u16, ecn: Ecn, len: usize, uid: u64) -> Packet {
    let len = len.max(28);
    let mut data = vec![0; len];
    let repr = Ipv4Repr {
        src_addr: Ipv4Addr::new(10, 0, 0, 1),
        dst_addr: Ipv4Addr::new(10, 0, 0, 2),
        protocol: IpProtocol::Udp,
        payload_len: len - 20,
        ttl: 64,
        dscp: 0,
        ecn,
        ident: 0,
        dont_frag: true,
        more_frags: false,
        frag_offset: 0,
        options: Ipv4Options::default(),
    };
    repr.emit(
        &mut Ipv4Packet::new_unchecked(&mut data[..]),
        ChecksumMode::Enabled,
    );
    data[20..22].copy_from_slice(&port.to_be_bytes());
    data[22..24].copy_from_slice(&9000u16.to_be_bytes());
    Packet::new(data, uid)
}

/// An IPv6/UDP datagram of `len` bytes (at least 48) from source port `port`.
pub(crate) fn udp6(port: u16, ecn: Ecn, len: usize, uid: u64) -> Packet {
    let len = len.max(48);
    let mut data = vec![0; len];
    let repr = Ipv6Repr {
        src_addr: Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, 1),
        dst_addr: Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, 2),
        next_header: IpProtocol::Udp,
        payload_len: len - 40,
        hop_limit: 64,
        dscp: 0,
        ecn,
        flow_label: 0,
    };
    repr.emit(&mut Ipv6Packet::new_unchecked(&mut data[..]));
    data[40..42].copy_from_slice(&port.to_be_bytes());
    data[42..44].copy_from_slice(&9000u16.to_be_bytes());
    Packet::new(data, uid)
}

/// `ms` milliseconds after the origin.
pub(crate) fn ms(ms: u64) -> Instant {
    Instant::from_nanos(ms * 1_000_000)
}
