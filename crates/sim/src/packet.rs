//! A packet in flight through the simulated network: the raw IP datagram plus the
//! bookkeeping links and queues need (a unique id, the time it entered a queue).
//!
//! # What routers read
//!
//! At 1 Gbit/s thousands of packets (megabytes) are in flight, so each packet's bytes
//! have left the CPU caches long before the next hop sees them, and a router that
//! reads the header pays a cache miss per packet. A packet therefore carries a
//! private summary of its IP header (destination, TTL / hop limit), taken once while
//! the bytes are hot (when a host has just written them, or when a router has had
//! to read them anyway), and a router that forwards it on that summary counts its
//! TTL decrement as *pending* instead of writing it. Pending decrements are written
//! into the bytes (with the same incremental checksum updates, one per hop, as
//! before) before anything reads or changes them: a host's stack, a capture, a
//! middlebox, ECN marking, corruption. Every byte anyone observes is the same as if
//! each router had written its TTL at once.

use layer4::time::Instant;
use layer4::wire::ip::Ecn;
use layer4::wire::{checksum, ipv4::Ipv4Packet, ipv6::Ipv6Packet};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// One IP datagram crossing the simulated network.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Packet {
    /// The IPv4 or IPv6 datagram, header first.
    ///
    /// Inside a [`Network`](crate::Network) the TTL / hop limit in these bytes may lag
    /// behind the routers a packet has crossed until the simulator hands the packet
    /// to anything that reads it (see the [module docs](self)); whatever a middlebox,
    /// queue, capture or host sees is up to date.
    pub data: Vec<u8>,
    /// A number unique within one run, for tracing one packet across hops.
    pub uid: u64,
    /// When the packet entered the queue it is in (set by the link on entry; queues
    /// such as CoDel read it to measure sojourn time).
    pub enqueued_at: Instant,
    /// The header summary routers forward on. See the [module docs](self).
    header: Header,
}

/// What a router needs of a validated IP header, and the TTL / hop-limit decrements
/// not yet written into the bytes. `Unknown` unless the bytes were checked: an IPv4
/// header that parses with a valid checksum, or an IPv6 header that parses, whose
/// length field matches the datagram's length exactly.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) enum Header {
    /// Not read (or the bytes may have changed since).
    #[default]
    Unknown,
    /// A valid IPv4 header.
    V4 {
        /// Destination address.
        dst: Ipv4Addr,
        /// The TTL, pending decrements included.
        ttl: u8,
        /// Decrements not yet written into the bytes.
        pending: u8,
    },
    /// A valid IPv6 header.
    V6 {
        /// Destination address.
        dst: Ipv6Addr,
        /// The hop limit, pending decrements included.
        hop_limit: u8,
        /// Decrements not yet written into the bytes.
        pending: u8,
    },
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
            header: Header::Unknown,
        }
    }

    /// The header summary (see the [module docs](self)).
    pub(crate) fn header(&self) -> Header {
        self.header
    }

    /// Reads the header into the summary, writing pending decrements first. Call it
    /// while the bytes are likely in the CPU cache.
    pub(crate) fn learn_header(&mut self) {
        self.write_pending();
        self.header = match self.ip_version() {
            Some(4) => Ipv4Packet::new_checked(&self.data[..])
                .ok()
                .filter(|p| usize::from(p.total_len()) == self.data.len() && p.verify_checksum())
                .map_or(Header::Unknown, |p| Header::V4 {
                    dst: p.dst_addr(),
                    ttl: p.ttl(),
                    pending: 0,
                }),
            Some(6) => Ipv6Packet::new_checked(&self.data[..])
                .ok()
                .filter(|p| 40 + usize::from(p.payload_len()) == self.data.len())
                .map_or(Header::Unknown, |p| Header::V6 {
                    dst: p.dst_addr(),
                    hop_limit: p.hop_limit(),
                    pending: 0,
                }),
            _ => Header::Unknown,
        };
    }

    /// A router forwarded the packet on its summary: one more TTL / hop-limit
    /// decrement, written later. Returns false (and changes nothing) when the summary
    /// is unknown, the TTL would reach zero, or too many decrements are pending.
    pub(crate) fn decrement_ttl_lazily(&mut self) -> bool {
        match &mut self.header {
            Header::V4 { ttl, pending, .. }
            | Header::V6 {
                hop_limit: ttl,
                pending,
                ..
            } if *ttl > 1 && *pending < u8::MAX => {
                *ttl -= 1;
                *pending += 1;
                true
            }
            _ => false,
        }
    }

    /// Writes pending TTL / hop-limit decrements into the bytes: for IPv4 one
    /// incremental checksum update per decrement, as the routers would have made them.
    pub(crate) fn write_pending(&mut self) {
        match &mut self.header {
            Header::V4 { ttl, pending, .. } if *pending > 0 => {
                let now = *ttl;
                for step in (0..*pending).rev() {
                    set_ipv4_header_byte(&mut self.data, 8, now + step);
                }
                *pending = 0;
            }
            Header::V6 {
                hop_limit, pending, ..
            } if *pending > 0 => {
                if let Ok(mut p) = Ipv6Packet::new_checked(&mut self.data[..]) {
                    p.set_hop_limit(*hop_limit);
                }
                *pending = 0;
            }
            _ => {}
        }
    }

    /// Writes pending decrements and forgets the summary, before the bytes are
    /// handed to code that may change them (a middlebox, corruption).
    pub(crate) fn expose(&mut self) -> &mut Vec<u8> {
        self.write_pending();
        self.header = Header::Unknown;
        &mut self.data
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
                // Routers' decrements first, in the order they happened.
                self.write_pending();
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

#[cfg(test)]
mod tests {
    use super::*;

    /// A 20-byte IPv4 header (UDP, 10.0.0.1 -> 10.0.0.2, TTL `ttl`, DF) with a valid
    /// checksum.
    fn ipv4(ttl: u8) -> Vec<u8> {
        let mut data = vec![
            0x45, 0x02, 0, 20, 0, 0, 0x40, 0, ttl, 17, 0, 0, 10, 0, 0, 1, 10, 0, 0, 2,
        ];
        Ipv4Packet::new_unchecked(&mut data[..]).fill_checksum();
        data
    }

    #[test]
    fn pending_ttl_decrements_give_the_bytes_of_decrements_made_at_once() {
        for ttl in [2u8, 3, 64, 255] {
            let mut eager = ipv4(ttl);
            let mut lazy = Packet::new(ipv4(ttl), 1);
            lazy.learn_header();
            let mut hops = 0;
            while lazy.decrement_ttl_lazily() {
                hops += 1;
                set_ipv4_header_byte(&mut eager, 8, ttl - hops);
            }
            assert_eq!(hops, ttl - 1, "stops before the TTL reaches zero");
            assert_eq!(lazy.data, ipv4(ttl), "nothing written yet");
            lazy.write_pending();
            assert_eq!(lazy.data, eager);
            assert!(Ipv4Packet::new_checked(&lazy.data[..])
                .unwrap()
                .verify_checksum());
        }
    }

    #[test]
    fn ce_marking_writes_pending_decrements_first() {
        let mut eager = ipv4(64);
        set_ipv4_header_byte(&mut eager, 8, 63);
        let mut marked_eager = Packet::new(eager, 1);
        assert!(marked_eager.mark_ce());
        let mut lazy = Packet::new(ipv4(64), 1);
        lazy.learn_header();
        assert!(lazy.decrement_ttl_lazily());
        assert!(lazy.mark_ce());
        assert_eq!(lazy.data, marked_eager.data);
    }

    #[test]
    fn header_summary_needs_a_valid_checksum_and_an_exact_length() {
        let mut bad_sum = ipv4(64);
        bad_sum[10] ^= 1;
        let mut padded = ipv4(64);
        padded.push(0);
        for data in [bad_sum, padded, vec![0x60; 10]] {
            let mut p = Packet::new(data, 1);
            p.learn_header();
            assert_eq!(p.header(), Header::Unknown);
            assert!(!p.decrement_ttl_lazily());
        }
    }

    #[test]
    fn exposing_the_bytes_writes_them_and_forgets_the_summary() {
        let mut p = Packet::new(ipv4(10), 1);
        p.learn_header();
        assert!(p.decrement_ttl_lazily());
        assert_eq!(p.expose()[8], 9);
        assert_eq!(p.header(), Header::Unknown);
    }
}
