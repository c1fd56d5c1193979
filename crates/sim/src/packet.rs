//! A packet in flight through the simulated network: the raw IP datagram plus the
//! bookkeeping links and queues need (a unique id, the time it entered a queue).

use layer4::time::Instant;
use layer4::wire::ip::Ecn;
use layer4::wire::{checksum, ipv4::Ipv4Packet, ipv6::Ipv6Packet};
use std::net::IpAddr;

/// One IP datagram crossing the simulated network.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Packet {
    /// The IPv4 or IPv6 datagram, header first.
    pub data: Vec<u8>,
    /// A number unique within one run, for tracing one packet across hops.
    pub uid: u64,
    /// When the packet entered the queue it is in (set by the link on entry; queues
    /// such as CoDel read it to measure sojourn time).
    pub enqueued_at: Instant,
}

/// The 5-tuple of a packet, for flow queueing and per-flow metrics. Ports are zero
/// for protocols without them and for non-first fragments.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct FlowKey {
    /// Source address.
    pub src: IpAddr,
    /// Destination address.
    pub dst: IpAddr,
    /// IP protocol number (IPv6: the first next-header value, without walking
    /// extension headers).
    pub protocol: u8,
    /// Source port (TCP, UDP), else 0.
    pub src_port: u16,
    /// Destination port (TCP, UDP), else 0.
    pub dst_port: u16,
}

impl Packet {
    /// A packet holding `data`, with id `uid`.
    pub fn new(data: Vec<u8>, uid: u64) -> Packet {
        Packet {
            data,
            uid,
            enqueued_at: Instant::ZERO,
        }
    }

    /// Length of the datagram in bytes.
    pub fn len(&self) -> usize {
        self.data.len()
    }

    /// Whether the datagram is empty (never for a real packet).
    pub fn is_empty(&self) -> bool {
        self.data.is_empty()
    }

    /// The IP version nibble, if there is a first byte.
    pub fn ip_version(&self) -> Option<u8> {
        self.data.first().map(|b| b >> 4)
    }

    /// The ECN codepoint, or `None` when the bytes are not an IPv4/IPv6 header.
    pub fn ecn(&self) -> Option<Ecn> {
        match self.ip_version()? {
            4 => Ipv4Packet::new_checked(&self.data[..])
                .ok()
                .map(|p| p.ecn()),
            6 => Ipv6Packet::new_checked(&self.data[..])
                .ok()
                .map(|p| p.ecn()),
            _ => None,
        }
    }

    /// Marks the packet Congestion Experienced if it is ECN-capable (ECT(0), ECT(1))
    /// and returns whether it now carries CE (true too if it already did). IPv4's
    /// header checksum is updated incrementally (RFC 1624).
    pub fn mark_ce(&mut self) -> bool {
        match self.ecn() {
            Some(Ecn::Ce) => true,
            Some(Ecn::Ect0 | Ecn::Ect1) => {
                if self.ip_version() == Some(4) {
                    let tos = (self.data[1] & !0b11) | Ecn::Ce.bits();
                    set_ipv4_header_byte(&mut self.data, 1, tos);
                } else {
                    Ipv6Packet::new_unchecked(&mut self.data[..]).set_ecn(Ecn::Ce);
                }
                true
            }
            _ => false,
        }
    }

    /// The packet's 5-tuple, or `None` when the header does not parse.
    pub fn flow_key(&self) -> Option<FlowKey> {
        let (src, dst, protocol, payload): (IpAddr, IpAddr, u8, &[u8]) = match self.ip_version()? {
            4 => {
                let p = Ipv4Packet::new_checked(&self.data[..]).ok()?;
                let hl = p.header_len();
                let first = p.frag_offset() == 0;
                let payload = if first {
                    self.data.get(hl..).unwrap_or(&[])
                } else {
                    &[]
                };
                (
                    p.src_addr().into(),
                    p.dst_addr().into(),
                    p.protocol().into(),
                    payload,
                )
            }
            6 => {
                let p = Ipv6Packet::new_checked(&self.data[..]).ok()?;
                (
                    p.src_addr().into(),
                    p.dst_addr().into(),
                    p.next_header().into(),
                    self.data.get(40..).unwrap_or(&[]),
                )
            }
            _ => return None,
        };
        let (src_port, dst_port) = match (protocol, payload) {
            (6 | 17, [a, b, c, d, ..]) => {
                (u16::from_be_bytes([*a, *b]), u16::from_be_bytes([*c, *d]))
            }
            _ => (0, 0),
        };
        Some(FlowKey {
            src,
            dst,
            protocol,
            src_port,
            dst_port,
        })
    }
}

/// Sets byte `index` of a validated IPv4 header to `value` and updates the header
/// checksum incrementally (RFC 1624: HC' = ~(~HC + ~m + m')), as routers do, instead
/// of summing the header again. A header too short for `index` is left alone.
pub(crate) fn set_ipv4_header_byte(header: &mut [u8], index: usize, value: u8) {
    let word = index & !1;
    // The checksum field itself is not a byte this update can set.
    if word == 10 || header.len() < 12.max(word + 2) {
        return;
    }
    let old = u16::from_be_bytes([header[word], header[word + 1]]);
    header[index] = value;
    let new = u16::from_be_bytes([header[word], header[word + 1]]);
    let stored = u16::from_be_bytes([header[10], header[11]]);
    header[10..12].copy_from_slice(&checksum::update(stored, old, new).to_be_bytes());
}
