//! Corruption: one bit flipped, uniformly anywhere in the datagram (IP header
//! included), like netem's `corrupt` but over the whole packet rather than only
//! its linear part.
//!
//! Over IPv4 every such packet is caught by a receiver: a flip in the header by
//! the header checksum (or the length checks), a flip in a TCP segment or UDP
//! datagram by its checksum, since a one's-complement sum detects every
//! single-bit error. The exception is a UDP checksum field flipped to zero, which
//! reads as "no checksum" (the data is then still intact). Over IPv6, which has
//! no header checksum, a flip in the traffic class, flow label or hop limit goes
//! unnoticed, as it would on a real network.

use layer4::rand::StackRng;

/// Flips one uniformly chosen bit of `data` and returns its index (bit 0 is the
/// most significant bit of byte 0), or `None` for an empty packet.
pub(crate) fn flip_random_bit(data: &mut [u8], rng: &mut StackRng) -> Option<usize> {
    let bits = data.len().checked_mul(8)?;
    if bits == 0 {
        return None;
    }
    let bit = rng.range(0..bits);
    flip_bit(data, bit);
    Some(bit)
}

fn flip_bit(data: &mut [u8], bit: usize) {
    if let Some(byte) = data.get_mut(bit / 8) {
        *byte ^= 0x80 >> (bit % 8);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use layer4::wire::tcp::{TcpFlags, TcpOptions, TcpPacket, TcpRepr};
    use layer4::wire::udp::{UdpPacket, UdpRepr};
    use layer4::wire::{verify, SeqNumber};
    use layer4::wire::{
        AddrPair, ChecksumMode, Ecn, IpProtocol, Ipv4Options, Ipv4Packet, Ipv4Repr,
    };
    use std::net::Ipv4Addr;

    const SRC: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 1);
    const DST: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 2);

    fn ipv4(protocol: IpProtocol, transport: &[u8]) -> Vec<u8> {
        let ip = Ipv4Repr {
            src_addr: SRC,
            dst_addr: DST,
            protocol,
            payload_len: transport.len(),
            ttl: 64,
            dscp: 0,
            ecn: Ecn::NotEct,
            ident: 0x1234,
            dont_frag: true,
            more_frags: false,
            frag_offset: 0,
            options: Ipv4Options::default(),
        };
        let mut buf = vec![0; ip.total_len()];
        ip.emit(
            &mut Ipv4Packet::new_unchecked(&mut buf[..]),
            ChecksumMode::Enabled,
        );
        buf[ip.buffer_len()..].copy_from_slice(transport);
        buf
    }

    fn tcp_packet() -> Vec<u8> {
        let addrs = AddrPair::V4 { src: SRC, dst: DST };
        let tcp = TcpRepr {
            src_port: 40000,
            dst_port: 80,
            seq_number: SeqNumber(1000),
            ack_number: SeqNumber(2000),
            flags: TcpFlags::ACK | TcpFlags::PSH,
            window_len: 5000,
            urgent_pointer: 0,
            options: TcpOptions::default(),
            payload: b"GET / HTTP/1.1\r\n\r\n",
        };
        let mut seg = vec![0; tcp.buffer_len()];
        tcp.emit(
            &mut TcpPacket::new_unchecked(&mut seg[..]),
            &addrs,
            ChecksumMode::Enabled,
        );
        ipv4(IpProtocol::Tcp, &seg)
    }

    fn udp_packet() -> Vec<u8> {
        let addrs = AddrPair::V4 { src: SRC, dst: DST };
        let udp = UdpRepr {
            src_port: 5353,
            dst_port: 53,
            payload: b"\x12\x34\x01\x00\x00\x01\x00\x00\x00\x00\x00\x00",
        };
        let mut dgram = vec![0; udp.buffer_len()];
        udp.emit(
            &mut UdpPacket::new_unchecked(&mut dgram[..]),
            &addrs,
            ChecksumMode::Enabled,
        );
        ipv4(IpProtocol::Udp, &dgram)
    }

    #[test]
    fn every_single_bit_flip_of_an_ipv4_tcp_segment_is_rejected() {
        let packet = tcp_packet();
        assert_eq!(verify(&packet), Ok(()));
        for bit in 0..packet.len() * 8 {
            let mut bad = packet.clone();
            flip_bit(&mut bad, bit);
            assert!(verify(&bad).is_err(), "flip of bit {bit} went unnoticed");
        }
    }

    #[test]
    fn every_single_bit_flip_of_an_ipv4_udp_datagram_is_rejected() {
        let packet = udp_packet();
        assert_eq!(verify(&packet), Ok(()));
        let checksum = u16::from_be_bytes([packet[26], packet[27]]);
        // A checksum with one bit set could be flipped to zero ("no checksum").
        assert_ne!(checksum.count_ones(), 1);
        for bit in 0..packet.len() * 8 {
            let mut bad = packet.clone();
            flip_bit(&mut bad, bit);
            assert!(verify(&bad).is_err(), "flip of bit {bit} went unnoticed");
        }
    }

    #[test]
    fn random_flip_changes_exactly_one_bit() {
        let mut rng = StackRng::from_seed(9).fork("corrupt");
        for _ in 0..1000 {
            let original = tcp_packet();
            let mut p = original.clone();
            let bit = flip_random_bit(&mut p, &mut rng).unwrap();
            let differing: u32 = original
                .iter()
                .zip(&p)
                .map(|(a, b)| (a ^ b).count_ones())
                .sum();
            assert_eq!(differing, 1);
            assert!(bit < p.len() * 8);
            assert!(verify(&p).is_err());
        }
    }

    #[test]
    fn empty_packet_is_left_alone() {
        let mut rng = StackRng::from_seed(1);
        assert_eq!(flip_random_bit(&mut [], &mut rng), None);
    }
}
