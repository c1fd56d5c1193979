//! The `virtio_net_hdr` a TUN device opened with `IFF_VNET_HDR` puts before every
//! packet it hands over and expects before every packet it is given, and what the
//! runtime does with it: completing a partial checksum the kernel left to the
//! device (`VIRTIO_NET_HDR_F_NEEDS_CSUM`) before the packet reaches the stack.
//!
//! The header is in the byte order of a legacy virtio device, which is the host's
//! own unless `TUNSETVNETLE`/`TUNSETVNETBE` changed it (this crate never does).
//!
//! ```text
//! struct virtio_net_hdr {          // 10 bytes
//!     u8  flags;        // NEEDS_CSUM (1), DATA_VALID (2)
//!     u8  gso_type;     // NONE (0), TCPV4 (1), UDP (3), TCPV6 (4), UDP_L4 (5); | ECN (0x80)
//!     u16 hdr_len;      // bytes of IP + transport header (a hint)
//!     u16 gso_size;     // payload bytes per segment the super-packet is cut into
//!     u16 csum_start;   // where the checksummed bytes start (the transport header)
//!     u16 csum_offset;  // where, from csum_start, the checksum field is
//! };
//! ```
//!
//! The runtime takes a packet with [`receive`] instead: a TCP segment the local
//! kernel left partial is handed to the stack as it is, with
//! [`RxOffload::l4_csum_verified`], so a 64 KB super-packet is not summed twice
//! (once to complete the field, once to check it) nor even once. Why that is safe:
//! `F_NEEDS_CSUM` means the kernel built the packet itself (`CHECKSUM_PARTIAL`: a
//! local socket's segment, never on a wire) and never computed its checksum, so
//! completing it here and then verifying it would only compare a sum with itself:
//! it can catch nothing a memcpy between two buffers of this host did not already
//! guarantee. Linux makes the same call: `skb_csum_unnecessary()` is true for a
//! `CHECKSUM_PARTIAL` packet, which its own TCP receive path (veth, loopback)
//! never verifies. `F_DATA_VALID` means the kernel (or the NIC it came from) did
//! verify it (`CHECKSUM_UNNECESSARY`). A packet with neither flag, and any UDP or
//! ICMP packet, is verified by the stack as before.
//!
//! Safe code only: the syscalls that read and write these live in [`crate::tun`].

use layer4::RxOffload;
use layer4_wire::checksum;

/// The size of `struct virtio_net_hdr` (without the `num_buffers` of the mergeable
/// variant), set with `TUNSETVNETHDRSZ`.
pub const VNET_HDR_LEN: usize = 10;

/// `VIRTIO_NET_HDR_F_NEEDS_CSUM`: the checksum field holds only the pseudo-header
/// sum; the bytes from `csum_start` to the end still have to be summed into it.
pub const F_NEEDS_CSUM: u8 = 1;
/// `VIRTIO_NET_HDR_F_DATA_VALID`: the checksum was verified (or never mattered).
pub const F_DATA_VALID: u8 = 2;

/// `VIRTIO_NET_HDR_GSO_NONE`: one packet, not a super-packet.
pub const GSO_NONE: u8 = 0;
/// `VIRTIO_NET_HDR_GSO_TCPV4`: a TCP/IPv4 super-packet.
pub const GSO_TCPV4: u8 = 1;
/// `VIRTIO_NET_HDR_GSO_TCPV6`: a TCP/IPv6 super-packet.
pub const GSO_TCPV6: u8 = 4;
/// `VIRTIO_NET_HDR_GSO_ECN`: the super-packet's first segment carries CWR.
pub const GSO_ECN: u8 = 0x80;

/// A parsed `virtio_net_hdr`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct VnetHdr {
    /// `F_NEEDS_CSUM`, `F_DATA_VALID`.
    pub flags: u8,
    /// `GSO_NONE`, `GSO_TCPV4`, `GSO_TCPV6`, possibly with `GSO_ECN`.
    pub gso_type: u8,
    /// Bytes of IP and transport header.
    pub hdr_len: u16,
    /// Payload bytes per segment of a super-packet.
    pub gso_size: u16,
    /// Offset of the checksummed range (the transport header) in the packet.
    pub csum_start: u16,
    /// Offset of the checksum field from `csum_start`.
    pub csum_offset: u16,
}

impl VnetHdr {
    /// Reads a header from its 10 bytes.
    pub fn parse(b: &[u8; VNET_HDR_LEN]) -> VnetHdr {
        let u16_at = |i: usize| u16::from_ne_bytes([b[i], b[i + 1]]);
        VnetHdr {
            flags: b[0],
            gso_type: b[1],
            hdr_len: u16_at(2),
            gso_size: u16_at(4),
            csum_start: u16_at(6),
            csum_offset: u16_at(8),
        }
    }

    /// The header's 10 bytes.
    pub fn emit(&self) -> [u8; VNET_HDR_LEN] {
        let mut b = [0u8; VNET_HDR_LEN];
        b[0] = self.flags;
        b[1] = self.gso_type;
        b[2..4].copy_from_slice(&self.hdr_len.to_ne_bytes());
        b[4..6].copy_from_slice(&self.gso_size.to_ne_bytes());
        b[6..8].copy_from_slice(&self.csum_start.to_ne_bytes());
        b[8..10].copy_from_slice(&self.csum_offset.to_ne_bytes());
        b
    }
}

/// Why a packet read with a `virtio_net_hdr` was not handed to the stack.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum VnetError {
    /// A GSO type this crate did not ask for (`TUNSETOFFLOAD` enables TCP only).
    UnsupportedGso(u8),
    /// `csum_start + csum_offset + 2` lies beyond the packet.
    ChecksumOutOfBounds,
}

/// Prepares a packet read from the device for [`layer4::Stack::handle_packet_offloaded`]:
/// a TCP segment with `F_NEEDS_CSUM` (its checksum field right where TCP's is,
/// behind an IP header without options or extension headers) or with
/// `F_DATA_VALID` is vouched for as it is; anything else partial is completed
/// ([`complete_rx`]) and left to the stack to verify.
pub fn receive(hdr: &VnetHdr, packet: &mut [u8]) -> Result<RxOffload, VnetError> {
    match hdr.gso_type & !GSO_ECN {
        GSO_NONE | GSO_TCPV4 | GSO_TCPV6 => {}
        other => return Err(VnetError::UnsupportedGso(other)),
    }
    if hdr.flags & F_NEEDS_CSUM != 0 {
        let field = usize::from(hdr.csum_start) + usize::from(hdr.csum_offset);
        if field + 2 > packet.len() {
            return Err(VnetError::ChecksumOutOfBounds);
        }
        if is_plain_tcp(hdr, packet) {
            return Ok(RxOffload::L4_CSUM_VERIFIED);
        }
        complete_rx(hdr, packet)?;
        return Ok(RxOffload::NONE);
    }
    if hdr.flags & F_DATA_VALID != 0 {
        return Ok(RxOffload::L4_CSUM_VERIFIED);
    }
    Ok(RxOffload::NONE)
}

/// Whether the partial checksum `hdr` describes is a TCP checksum right behind the
/// packet's fixed IP header (IPv4 without options, IPv6 without extension
/// headers): the one case the stack is told it need not sum.
fn is_plain_tcp(hdr: &VnetHdr, packet: &[u8]) -> bool {
    const TCP: u8 = 6;
    const TCP_CSUM_OFFSET: u16 = 16;
    let (ip_len, protocol) = match packet.first().map(|b| b >> 4) {
        Some(4) => (20, packet.get(9)),
        Some(6) => (40, packet.get(6)),
        _ => return false,
    };
    usize::from(hdr.csum_start) == ip_len
        && packet.first().is_some_and(|b| b >> 4 == 6 || b & 0x0f == 5)
        && hdr.csum_offset == TCP_CSUM_OFFSET
        && protocol == Some(&TCP)
}

/// Makes a packet read from the device whole: completes a checksum the kernel left
/// partial (`F_NEEDS_CSUM`), so the stack can verify it like any other. A TCP
/// super-packet (`GSO_TCPV4`/`GSO_TCPV6`) is left whole: the stack takes a TCP
/// segment of any length its IP header allows.
pub fn complete_rx(hdr: &VnetHdr, packet: &mut [u8]) -> Result<(), VnetError> {
    match hdr.gso_type & !GSO_ECN {
        GSO_NONE | GSO_TCPV4 | GSO_TCPV6 => {}
        other => return Err(VnetError::UnsupportedGso(other)),
    }
    if hdr.flags & F_NEEDS_CSUM == 0 {
        return Ok(());
    }
    let start = usize::from(hdr.csum_start);
    let field = start + usize::from(hdr.csum_offset);
    if field + 2 > packet.len() {
        return Err(VnetError::ChecksumOutOfBounds);
    }
    // The field holds the pseudo-header's sum; summing the transport bytes with it in
    // place gives the sum over pseudo-header, header and payload (RFC 1071).
    let sum = checksum::data(&packet[start..]);
    let mut value = checksum::finish(sum);
    if value == 0 {
        // 0 and 0xffff are the same one's-complement number; UDP reserves 0 for
        // "no checksum" (RFC 768), so use the other spelling.
        value = 0xffff;
    }
    packet[field..field + 2].copy_from_slice(&value.to_be_bytes());
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::Ipv4Addr;

    #[test]
    fn header_round_trips() {
        let h = VnetHdr {
            flags: F_NEEDS_CSUM,
            gso_type: GSO_TCPV4,
            hdr_len: 52,
            gso_size: 1448,
            csum_start: 20,
            csum_offset: 16,
        };
        assert_eq!(VnetHdr::parse(&h.emit()), h);
    }

    /// A TCP/IPv4 packet with a correct checksum, and the same with the field
    /// holding only the pseudo-header sum (what the kernel hands over).
    fn tcp_packet(payload_len: usize) -> (Vec<u8>, Vec<u8>) {
        let src = Ipv4Addr::new(10, 0, 0, 1);
        let dst = Ipv4Addr::new(10, 0, 0, 2);
        let tcp_len = 20 + payload_len;
        let mut p = vec![0u8; 20 + tcp_len];
        p[0] = 0x45;
        p[2..4].copy_from_slice(&((20 + tcp_len) as u16).to_be_bytes());
        p[8] = 64;
        p[9] = 6;
        p[12..16].copy_from_slice(&src.octets());
        p[16..20].copy_from_slice(&dst.octets());
        p[20..22].copy_from_slice(&1234u16.to_be_bytes());
        p[22..24].copy_from_slice(&80u16.to_be_bytes());
        p[32] = 5 << 4;
        p[33] = 0x10;
        for (i, b) in p[40..].iter_mut().enumerate() {
            *b = (i * 7 + 3) as u8;
        }
        let pseudo = checksum::pseudo_header_v4(src, dst, 6, tcp_len as u16);
        let full = checksum::finish(checksum::combine(&[pseudo, checksum::data(&p[20..])]));
        let mut whole = p.clone();
        whole[36..38].copy_from_slice(&full.to_be_bytes());
        let mut partial = p;
        partial[36..38].copy_from_slice(&pseudo.to_be_bytes());
        (whole, partial)
    }

    #[test]
    fn needs_csum_is_completed_to_the_full_checksum() {
        for len in [0, 1, 1447, 1448, 60000] {
            let (whole, mut partial) = tcp_packet(len);
            let hdr = VnetHdr {
                flags: F_NEEDS_CSUM,
                csum_start: 20,
                csum_offset: 16,
                ..VnetHdr::default()
            };
            complete_rx(&hdr, &mut partial).unwrap();
            assert_eq!(partial, whole, "payload of {len} bytes");
        }
    }

    #[test]
    fn checksum_offsets_beyond_the_packet_are_refused() {
        let (_, mut partial) = tcp_packet(10);
        let hdr = VnetHdr {
            flags: F_NEEDS_CSUM,
            csum_start: 60,
            csum_offset: 16,
            ..VnetHdr::default()
        };
        assert_eq!(
            complete_rx(&hdr, &mut partial),
            Err(VnetError::ChecksumOutOfBounds)
        );
    }

    #[test]
    fn a_partial_tcp_segment_is_vouched_for_and_left_as_it_is() {
        let (_, mut partial) = tcp_packet(3000);
        let before = partial.clone();
        let hdr = VnetHdr {
            flags: F_NEEDS_CSUM,
            gso_type: GSO_TCPV4,
            gso_size: 1448,
            csum_start: 20,
            csum_offset: 16,
            ..VnetHdr::default()
        };
        assert_eq!(receive(&hdr, &mut partial), Ok(RxOffload::L4_CSUM_VERIFIED));
        assert_eq!(partial, before, "no byte touched");
    }

    #[test]
    fn a_partial_checksum_elsewhere_than_tcp_is_completed_for_the_stack_to_verify() {
        // A UDP-style offset in a TCP packet (or any non-TCP partial checksum):
        // completed, not vouched for.
        let (_, mut p) = tcp_packet(100);
        p[9] = 17;
        let hdr = VnetHdr {
            flags: F_NEEDS_CSUM,
            csum_start: 20,
            csum_offset: 6,
            ..VnetHdr::default()
        };
        let before = p.clone();
        assert_eq!(receive(&hdr, &mut p), Ok(RxOffload::NONE));
        assert_ne!(p, before, "the field was completed");
        // TCP behind IPv4 options: completed too.
        let (whole, mut partial) = tcp_packet(100);
        partial[0] = 0x46;
        let hdr = VnetHdr {
            flags: F_NEEDS_CSUM,
            csum_start: 20,
            csum_offset: 16,
            ..VnetHdr::default()
        };
        assert_eq!(receive(&hdr, &mut partial), Ok(RxOffload::NONE));
        assert_eq!(partial[20..], whole[20..]);
    }

    #[test]
    fn data_valid_is_vouched_for_and_no_flag_is_not() {
        let (whole, mut p) = tcp_packet(100);
        p.copy_from_slice(&whole);
        let valid = VnetHdr {
            flags: F_DATA_VALID,
            ..VnetHdr::default()
        };
        assert_eq!(receive(&valid, &mut p), Ok(RxOffload::L4_CSUM_VERIFIED));
        assert_eq!(receive(&VnetHdr::default(), &mut p), Ok(RxOffload::NONE));
        assert_eq!(p, whole);
    }

    #[test]
    fn receive_refuses_what_complete_rx_refuses() {
        let (_, mut p) = tcp_packet(10);
        let out = VnetHdr {
            flags: F_NEEDS_CSUM,
            csum_start: 60,
            csum_offset: 16,
            ..VnetHdr::default()
        };
        assert_eq!(receive(&out, &mut p), Err(VnetError::ChecksumOutOfBounds));
        let udp_gso = VnetHdr {
            gso_type: 5,
            ..VnetHdr::default()
        };
        assert_eq!(receive(&udp_gso, &mut p), Err(VnetError::UnsupportedGso(5)));
    }

    #[test]
    fn udp_gso_is_refused() {
        let (_, mut p) = tcp_packet(10);
        let hdr = VnetHdr {
            gso_type: 5,
            ..VnetHdr::default()
        };
        assert_eq!(complete_rx(&hdr, &mut p), Err(VnetError::UnsupportedGso(5)));
    }
}
