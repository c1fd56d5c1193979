//! [`Coalescer`]: joins the consecutive full-sized TCP segments of one connection
//! that the stack yields in one transmit pass into one super-packet, which a device
//! with TCP segmentation offload (a TUN with `IFF_VNET_HDR` and `TUNSETOFFLOAD`) cuts
//! back into the same segments: one `write` for up to 64 KB instead of one per
//! 1500 bytes. The stack stays unaware: it still sends, paces, counts and
//! retransmits segments of its MSS.
//!
//! Segments join when everything but the sequence number, the IP length, the IPv4
//! identification and the checksums is the same (addresses, ports, ACK, window,
//! options such as the timestamp, TOS/ECN bits, TTL), each continues where the last
//! ended, every segment but the last carries exactly `gso_size` payload bytes and
//! only `ACK`, and the last carries `ACK` or `ACK|PSH`. Linux's segmentation
//! (`tcp_gso_segment`) rebuilds exactly those segments: it copies the header,
//! advances the sequence number, gives `PSH`/`FIN` to the last segment only, adds
//! one to the IPv4 identification per segment, and finishes each checksum from the
//! pseudo-header sum left in the field (`VIRTIO_NET_HDR_F_NEEDS_CSUM`).
//!
//! Anything else (SYN, FIN, RST, pure ACKs, UDP, IPv4 options, IPv6 extension
//! headers) goes out alone, as the stack wrote it.

use std::net::{Ipv4Addr, Ipv6Addr};

use layer4_wire::checksum;

use crate::vnet::{self, VnetHdr};

/// The largest super-packet: the IPv4 total length field's limit (and the TUN's
/// default `gso_max_size` of 64 KiB).
pub const MAX_SUPER_PACKET: usize = 65535;

const TCP: u8 = 6;
const FLAG_PSH: u8 = 0x08;
const FLAG_ACK: u8 = 0x10;

/// What a packet in the coalescer is, once parsed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Family {
    V4,
    V6,
}

/// A super-packet being built from segments, or one packet that goes out alone.
#[derive(Debug)]
pub struct Coalescer {
    buf: Vec<u8>,
    /// Bytes in `buf`.
    len: usize,
    /// Bytes of IP + TCP header of the first segment (0: not coalescible).
    hdr_len: usize,
    /// Offset of the TCP header.
    ip_len: usize,
    family: Family,
    /// Payload bytes of the first segment; every segment but the last has as many.
    gso_size: usize,
    segments: usize,
    /// The sequence number the next segment must start at.
    next_seq: u32,
    /// No more segments may join.
    closed: bool,
    /// Packets sent (as given by the stack) and super-packets written, for tests and
    /// statistics.
    joined: u64,
}

impl Default for Coalescer {
    fn default() -> Self {
        Coalescer::new()
    }
}

impl Coalescer {
    /// An empty coalescer with room for a 64 KB super-packet.
    pub fn new() -> Coalescer {
        Coalescer {
            buf: vec![0; MAX_SUPER_PACKET],
            len: 0,
            hdr_len: 0,
            ip_len: 0,
            family: Family::V4,
            gso_size: 0,
            segments: 0,
            next_seq: 0,
            closed: false,
            joined: 0,
        }
    }

    /// Whether nothing waits in the coalescer.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Whether the coalescer is complete: it must be sent (then [`clear`](Self::clear)ed)
    /// before anything else is pushed.
    pub fn is_closed(&self) -> bool {
        self.closed
    }

    /// Segments in the coalescer.
    pub fn segments(&self) -> usize {
        self.segments
    }

    /// Segments joined into super-packets so far beyond the first of each (how many
    /// writes coalescing saved).
    pub fn joined(&self) -> u64 {
        self.joined
    }

    /// Adds a packet the stack wrote. `false` when it cannot join what is there: the
    /// coalescer is then closed (send it, clear it, and push the packet again).
    pub fn push(&mut self, packet: &[u8]) -> bool {
        if self.closed {
            return false;
        }
        if self.len == 0 {
            self.start(packet);
            return true;
        }
        match self.joinable(packet) {
            Some((tcp_hdr_end, psh)) => {
                let payload = packet.get(tcp_hdr_end..).unwrap_or(&[]);
                let end = self.len + payload.len();
                let Some(dst) = self.buf.get_mut(self.len..end) else {
                    self.closed = true;
                    return false;
                };
                dst.copy_from_slice(payload);
                self.len = end;
                self.segments += 1;
                self.joined += 1;
                self.next_seq = self.next_seq.wrapping_add(payload.len() as u32);
                if psh {
                    if let Some(flags) = self.buf.get_mut(self.ip_len + 13) {
                        *flags |= FLAG_PSH;
                    }
                }
                if psh
                    || payload.len() < self.gso_size
                    || self.len + self.gso_size > MAX_SUPER_PACKET
                {
                    self.closed = true;
                }
                true
            }
            None => {
                self.closed = true;
                false
            }
        }
    }

    /// Closes the coalescer (nothing more will come in this pass).
    pub fn close(&mut self) {
        if self.len > 0 {
            self.closed = true;
        }
    }

    /// Empties the coalescer after its contents were sent.
    pub fn clear(&mut self) {
        self.len = 0;
        self.hdr_len = 0;
        self.segments = 0;
        self.closed = false;
    }

    /// The packet to write and, for a super-packet of two or more segments, the
    /// `virtio_net_hdr` that asks the device to segment it (`None`: a packet as the
    /// stack wrote it, checksums complete). Fixes the IP length and checksums.
    pub fn finish(&mut self) -> (&[u8], Option<VnetHdr>) {
        if self.segments < 2 {
            return (&self.buf[..self.len], None);
        }
        let total = self.len;
        let ip = self.ip_len;
        let tcp_len = total - ip;
        let pseudo = match self.family {
            Family::V4 => {
                self.buf[2..4].copy_from_slice(&(total as u16).to_be_bytes());
                self.buf[10..12].copy_from_slice(&[0, 0]);
                let sum = checksum::finish(checksum::data(&self.buf[..ip]));
                self.buf[10..12].copy_from_slice(&sum.to_be_bytes());
                let src = Ipv4Addr::new(self.buf[12], self.buf[13], self.buf[14], self.buf[15]);
                let dst = Ipv4Addr::new(self.buf[16], self.buf[17], self.buf[18], self.buf[19]);
                checksum::pseudo_header_v4(src, dst, TCP, tcp_len as u16)
            }
            Family::V6 => {
                self.buf[4..6].copy_from_slice(&(tcp_len as u16).to_be_bytes());
                let addr = |b: &[u8]| {
                    let mut a = [0u8; 16];
                    a.copy_from_slice(b);
                    Ipv6Addr::from(a)
                };
                let src = addr(&self.buf[8..24]);
                let dst = addr(&self.buf[24..40]);
                checksum::pseudo_header_v6(src, dst, TCP, tcp_len as u32)
            }
        };
        // The field holds the pseudo-header sum; the device adds the rest per segment.
        self.buf[ip + 16..ip + 18].copy_from_slice(&pseudo.to_be_bytes());
        let hdr = VnetHdr {
            flags: vnet::F_NEEDS_CSUM,
            gso_type: match self.family {
                Family::V4 => vnet::GSO_TCPV4,
                Family::V6 => vnet::GSO_TCPV6,
            },
            hdr_len: self.hdr_len as u16,
            gso_size: self.gso_size as u16,
            csum_start: ip as u16,
            csum_offset: 16,
        };
        (&self.buf[..total], Some(hdr))
    }

    /// Takes the first packet; closes at once if no other can join it.
    fn start(&mut self, packet: &[u8]) {
        let n = packet.len().min(self.buf.len());
        self.buf[..n].copy_from_slice(&packet[..n]);
        self.len = n;
        self.segments = 1;
        self.closed = true;
        let Some((family, ip_len)) = tcp_offset(packet) else {
            return;
        };
        let Some((tcp_hdr_len, flags, seq)) = tcp_fields(packet, ip_len) else {
            return;
        };
        let hdr_len = ip_len + tcp_hdr_len;
        let payload = packet.len().saturating_sub(hdr_len);
        if flags != FLAG_ACK || payload == 0 || n != packet.len() {
            return;
        }
        self.family = family;
        self.ip_len = ip_len;
        self.hdr_len = hdr_len;
        self.gso_size = payload;
        self.next_seq = seq.wrapping_add(payload as u32);
        self.closed = packet.len() + payload > MAX_SUPER_PACKET;
    }

    /// `Some((end of the TCP header, PSH set))` when `packet` continues the
    /// super-packet.
    fn joinable(&self, packet: &[u8]) -> Option<(usize, bool)> {
        if self.hdr_len == 0 || packet.len() <= self.hdr_len {
            return None;
        }
        let first = self.buf.get(..self.hdr_len)?;
        let next = packet.get(..self.hdr_len)?;
        let ip = self.ip_len;
        // IP: the same but for length, identification and header checksum.
        let ip_same = match self.family {
            Family::V4 => {
                first[..2] == next[..2]
                    && first[6..10] == next[6..10]
                    && first[12..20] == next[12..20]
            }
            Family::V6 => first[..4] == next[..4] && first[6..ip] == next[6..ip],
        };
        // TCP: ports, ACK number, header length, window, urgent pointer and options;
        // flags ACK, or ACK|PSH to end the super-packet.
        let flags = next[ip + 13];
        let tcp_same = first[ip..ip + 4] == next[ip..ip + 4]
            && first[ip + 8..ip + 13] == next[ip + 8..ip + 13]
            && first[ip + 14..ip + 16] == next[ip + 14..ip + 16]
            && first[ip + 18..] == next[ip + 18..];
        let seq = u32::from_be_bytes([next[ip + 4], next[ip + 5], next[ip + 6], next[ip + 7]]);
        let payload = packet.len() - self.hdr_len;
        let ok = ip_same
            && tcp_same
            && (flags == FLAG_ACK || flags == FLAG_ACK | FLAG_PSH)
            && seq == self.next_seq
            && payload <= self.gso_size
            && self.len + payload <= MAX_SUPER_PACKET;
        ok.then_some((self.hdr_len, flags & FLAG_PSH != 0))
    }
}

/// The family and TCP header offset of a TCP packet without IPv4 options,
/// fragmentation or IPv6 extension headers, whose IP length matches the buffer.
fn tcp_offset(p: &[u8]) -> Option<(Family, usize)> {
    match p.first()? >> 4 {
        4 => {
            let h = p.get(..20)?;
            let total = usize::from(u16::from_be_bytes([h[2], h[3]]));
            let frag = u16::from_be_bytes([h[6], h[7]]) & 0x3fff;
            (h[0] == 0x45 && h[9] == TCP && total == p.len() && frag == 0)
                .then_some((Family::V4, 20))
        }
        6 => {
            let h = p.get(..40)?;
            let payload = usize::from(u16::from_be_bytes([h[4], h[5]]));
            (h[6] == TCP && payload + 40 == p.len()).then_some((Family::V6, 40))
        }
        _ => None,
    }
}

/// TCP header length, flags and sequence number at `at`.
fn tcp_fields(p: &[u8], at: usize) -> Option<(usize, u8, u32)> {
    let t = p.get(at..at + 20)?;
    let hl = usize::from(t[12] >> 4) * 4;
    if hl < 20 || p.len() < at + hl {
        return None;
    }
    Some((hl, t[13], u32::from_be_bytes([t[4], t[5], t[6], t[7]])))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A TCP/IPv4 segment with `len` payload bytes (byte i of the stream is
    /// `(seq + i) % 251`), a timestamp option, full checksums.
    fn segment(seq: u32, len: usize, flags: u8, id: u16) -> Vec<u8> {
        let src = Ipv4Addr::new(10, 0, 0, 2);
        let dst = Ipv4Addr::new(10, 0, 0, 1);
        let tcp_len = 32 + len;
        let mut p = vec![0u8; 20 + tcp_len];
        p[0] = 0x45;
        p[2..4].copy_from_slice(&((20 + tcp_len) as u16).to_be_bytes());
        p[4..6].copy_from_slice(&id.to_be_bytes());
        p[6] = 0x40;
        p[8] = 64;
        p[9] = TCP;
        p[12..16].copy_from_slice(&src.octets());
        p[16..20].copy_from_slice(&dst.octets());
        let ip_sum = checksum::finish(checksum::data(&p[..20]));
        p[10..12].copy_from_slice(&ip_sum.to_be_bytes());
        let t = 20;
        p[t..t + 2].copy_from_slice(&40000u16.to_be_bytes());
        p[t + 2..t + 4].copy_from_slice(&5201u16.to_be_bytes());
        p[t + 4..t + 8].copy_from_slice(&seq.to_be_bytes());
        p[t + 8..t + 12].copy_from_slice(&777u32.to_be_bytes());
        p[t + 12] = 8 << 4;
        p[t + 13] = flags;
        p[t + 14..t + 16].copy_from_slice(&512u16.to_be_bytes());
        p[t + 20..t + 32].copy_from_slice(&[1, 1, 8, 10, 0, 0, 0, 9, 0, 0, 0, 3]);
        for (i, b) in p[t + 32..].iter_mut().enumerate() {
            *b = ((seq as usize + i) % 251) as u8;
        }
        let pseudo = checksum::pseudo_header_v4(src, dst, TCP, tcp_len as u16);
        let sum = checksum::finish(checksum::combine(&[pseudo, checksum::data(&p[t..])]));
        p[t + 16..t + 18].copy_from_slice(&sum.to_be_bytes());
        p
    }

    /// What Linux's `tcp_gso_segment` makes of a super-packet, rebuilt here: the
    /// header copied per segment, sequence advanced, PSH on the last only,
    /// identification + i, checksums completed.
    fn segment_like_linux(sp: &[u8], hdr: &VnetHdr) -> Vec<Vec<u8>> {
        let hl = usize::from(hdr.hdr_len);
        let mss = usize::from(hdr.gso_size);
        let payload = &sp[hl..];
        let chunks: Vec<&[u8]> = payload.chunks(mss).collect();
        let seq0 = u32::from_be_bytes([sp[24], sp[25], sp[26], sp[27]]);
        let id0 = u16::from_be_bytes([sp[4], sp[5]]);
        chunks
            .iter()
            .enumerate()
            .map(|(i, c)| {
                let mut p = sp[..hl].to_vec();
                p.extend_from_slice(c);
                let last = i + 1 == chunks.len();
                let total = p.len() as u16;
                p[2..4].copy_from_slice(&total.to_be_bytes());
                p[4..6].copy_from_slice(&id0.wrapping_add(i as u16).to_be_bytes());
                p[10..12].copy_from_slice(&[0, 0]);
                let s = checksum::finish(checksum::data(&p[..20]));
                p[10..12].copy_from_slice(&s.to_be_bytes());
                p[24..28].copy_from_slice(&seq0.wrapping_add((i * mss) as u32).to_be_bytes());
                if !last {
                    p[33] &= !FLAG_PSH;
                }
                let src = Ipv4Addr::new(p[12], p[13], p[14], p[15]);
                let dst = Ipv4Addr::new(p[16], p[17], p[18], p[19]);
                let tl = (p.len() - 20) as u16;
                p[36..38].copy_from_slice(&[0, 0]);
                let pseudo = checksum::pseudo_header_v4(src, dst, TCP, tl);
                let s = checksum::finish(checksum::combine(&[pseudo, checksum::data(&p[20..])]));
                p[36..38].copy_from_slice(&s.to_be_bytes());
                p
            })
            .collect()
    }

    #[test]
    fn full_segments_join_and_segment_back_to_the_same_packets() {
        let mss = 1448;
        let segs: Vec<Vec<u8>> = (0..5u32)
            .map(|i| {
                let last = i == 4;
                let len = if last { 700 } else { mss };
                let flags = if last { FLAG_ACK | FLAG_PSH } else { FLAG_ACK };
                segment(1000 + i * mss as u32, len, flags, 10 + i as u16)
            })
            .collect();
        let mut c = Coalescer::new();
        for s in &segs {
            assert!(c.push(s));
        }
        assert!(c.is_closed(), "a short segment ends the super-packet");
        let (sp, hdr) = c.finish();
        let hdr = hdr.expect("a super-packet");
        assert_eq!(hdr.gso_size as usize, mss);
        assert_eq!(hdr.hdr_len, 52);
        assert_eq!(hdr.csum_start, 20);
        // The super-packet's partial checksum, completed, is a valid checksum.
        let mut whole = sp.to_vec();
        let rx = VnetHdr {
            flags: vnet::F_NEEDS_CSUM,
            ..hdr
        };
        vnet::complete_rx(&rx, &mut whole).unwrap();
        assert_eq!(checksum::data(&whole[..20]), 0xffff, "IP header checksum");
        assert_eq!(segment_like_linux(sp, &hdr), segs);
    }

    /// A TCP/IPv6 segment with `len` payload bytes, no options, full checksum.
    fn segment_v6(seq: u32, len: usize, flags: u8) -> Vec<u8> {
        let src: Ipv6Addr = "fd00::2".parse().unwrap();
        let dst: Ipv6Addr = "fd00::1".parse().unwrap();
        let tcp_len = 20 + len;
        let mut p = vec![0u8; 40 + tcp_len];
        p[0] = 0x60;
        p[4..6].copy_from_slice(&(tcp_len as u16).to_be_bytes());
        p[6] = TCP;
        p[7] = 64;
        p[8..24].copy_from_slice(&src.octets());
        p[24..40].copy_from_slice(&dst.octets());
        p[40..42].copy_from_slice(&40000u16.to_be_bytes());
        p[42..44].copy_from_slice(&5201u16.to_be_bytes());
        p[44..48].copy_from_slice(&seq.to_be_bytes());
        p[52] = 5 << 4;
        p[53] = flags;
        p[54..56].copy_from_slice(&512u16.to_be_bytes());
        for (i, b) in p[60..].iter_mut().enumerate() {
            *b = ((seq as usize + i) % 251) as u8;
        }
        let pseudo = checksum::pseudo_header_v6(src, dst, TCP, tcp_len as u32);
        let sum = checksum::finish(checksum::combine(&[pseudo, checksum::data(&p[40..])]));
        p[56..58].copy_from_slice(&sum.to_be_bytes());
        p
    }

    #[test]
    fn ipv6_segments_join_with_the_payload_length_and_a_partial_checksum() {
        let mut c = Coalescer::new();
        for i in 0..3u32 {
            assert!(c.push(&segment_v6(i * 1000, 1000, FLAG_ACK)));
        }
        c.close();
        let (sp, hdr) = c.finish();
        let hdr = hdr.expect("a super-packet");
        assert_eq!(hdr.gso_type, vnet::GSO_TCPV6);
        assert_eq!((hdr.gso_size, hdr.hdr_len, hdr.csum_start), (1000, 60, 40));
        assert_eq!(
            u16::from_be_bytes([sp[4], sp[5]]),
            3020,
            "IPv6 payload length"
        );
        let mut whole = sp.to_vec();
        vnet::complete_rx(
            &VnetHdr {
                flags: vnet::F_NEEDS_CSUM,
                ..hdr
            },
            &mut whole,
        )
        .unwrap();
        // The completed checksum verifies over pseudo-header, header and payload.
        let src = Ipv6Addr::from(<[u8; 16]>::try_from(&whole[8..24]).unwrap());
        let dst = Ipv6Addr::from(<[u8; 16]>::try_from(&whole[24..40]).unwrap());
        let pseudo = checksum::pseudo_header_v6(src, dst, TCP, 3020);
        assert_eq!(
            checksum::combine(&[pseudo, checksum::data(&whole[40..])]),
            0xffff
        );
        let mut expected = segment_v6(0, 3000, FLAG_ACK);
        expected[56..58].copy_from_slice(&whole[56..58]);
        assert_eq!(whole, expected, "the same bytes as one 3000-byte segment");
    }

    #[test]
    fn a_gap_in_sequence_closes_and_refuses() {
        let mut c = Coalescer::new();
        assert!(c.push(&segment(0, 1000, FLAG_ACK, 1)));
        assert!(!c.is_closed());
        assert!(!c.push(&segment(1500, 1000, FLAG_ACK, 2)));
        assert!(c.is_closed());
        let (p, hdr) = c.finish();
        assert!(hdr.is_none(), "one segment goes out as the stack wrote it");
        assert_eq!(p, segment(0, 1000, FLAG_ACK, 1));
    }

    #[test]
    fn a_different_ack_or_timestamp_does_not_join() {
        let mut c = Coalescer::new();
        assert!(c.push(&segment(0, 1000, FLAG_ACK, 1)));
        let mut other = segment(1000, 1000, FLAG_ACK, 2);
        other[20 + 31] = 4; // TSecr differs
        assert!(!c.push(&other));
    }

    #[test]
    fn control_segments_and_pure_acks_go_alone() {
        for p in [
            segment(0, 0, FLAG_ACK, 1),
            segment(0, 100, FLAG_ACK | FLAG_PSH, 1),
            segment(0, 100, FLAG_ACK | 0x01, 1),
            vec![0x45, 0, 0],
        ] {
            let mut c = Coalescer::new();
            assert!(c.push(&p));
            assert!(c.is_closed());
            assert_eq!(c.finish().0, &p[..]);
        }
    }

    #[test]
    fn super_packets_stay_within_64_kb() {
        let mss = 1448;
        let mut c = Coalescer::new();
        let mut n = 0u32;
        while c.push(&segment(n * mss, mss as usize, FLAG_ACK, n as u16)) {
            n += 1;
            if c.is_closed() {
                break;
            }
        }
        let (sp, hdr) = c.finish();
        assert!(sp.len() <= MAX_SUPER_PACKET);
        assert_eq!(hdr.unwrap().gso_size as u32, mss);
        assert_eq!(sp.len(), 52 + 45 * 1448, "as many whole segments as fit");
    }
}
