//! Link-layer header types of a capture file, and how to reach the IP packet inside.

use core::fmt;
use core::hash::{Hash, Hasher};

/// The link-layer header type of every record in a capture file (the `LinkType`
/// field of the file header; values from the tcpdump.org LINKTYPE_ registry).
///
/// Equality and hashing go by [`LinkType::value`], so `LinkType::Other(1)` equals
/// `LinkType::Ethernet`; [`LinkType::from`] never builds such an `Other`.
#[derive(Debug, Clone, Copy)]
pub enum LinkType {
    /// `LINKTYPE_NULL` (0): BSD loopback, a 4-octet address family in the capturing
    /// host's byte order, then the IP packet.
    Null,
    /// `LINKTYPE_ETHERNET` (1): Ethernet II (what tcpdump writes for Linux `lo`).
    Ethernet,
    /// `LINKTYPE_RAW` (101): the IP packet itself, v4 or v6 by its version nibble.
    /// This is what layer4 writes.
    Raw,
    /// `LINKTYPE_LOOP` (108): OpenBSD loopback, like [`LinkType::Null`] but with the
    /// address family in network byte order.
    Loop,
    /// `LINKTYPE_LINUX_SLL` (113): Linux "cooked" capture v1, a 16-octet header
    /// (tcpdump `-i any` before libpcap 1.10).
    LinuxSll,
    /// `LINKTYPE_IPV4` (228): raw IPv4 only.
    Ipv4,
    /// `LINKTYPE_IPV6` (229): raw IPv6 only.
    Ipv6,
    /// `LINKTYPE_LINUX_SLL2` (276): Linux "cooked" capture v2, a 20-octet header
    /// (tcpdump `-i any` with libpcap 1.10 and later).
    LinuxSll2,
    /// Any other link type, by number.
    Other(u16),
}

impl LinkType {
    /// The LINKTYPE_ number written in the file header.
    pub fn value(self) -> u16 {
        match self {
            LinkType::Null => 0,
            LinkType::Ethernet => 1,
            LinkType::Raw => 101,
            LinkType::Loop => 108,
            LinkType::LinuxSll => 113,
            LinkType::Ipv4 => 228,
            LinkType::Ipv6 => 229,
            LinkType::LinuxSll2 => 276,
            LinkType::Other(v) => v,
        }
    }

    /// The IP packet inside one captured frame of this link type, or `None` when the
    /// frame is too short for its link-layer header or does not carry IPv4 or IPv6.
    ///
    /// Header lengths: Ethernet 14 octets (18 or 22 with one or two 802.1Q / 802.1ad
    /// VLAN tags), Linux SLL 16, Linux SLL2 20, Null and Loop 4, Raw / Ipv4 / Ipv6 none.
    /// The returned slice runs to the end of the frame, so it may carry link-layer
    /// padding or an FCS after the IP packet: the IP parser trims by its total length.
    /// Nothing past the link-layer header is validated (not even the version nibble).
    pub fn ip_payload(self, frame: &[u8]) -> Option<&[u8]> {
        match self {
            LinkType::Raw | LinkType::Ipv4 | LinkType::Ipv6 => Some(frame),
            LinkType::Ethernet => ethernet_payload(frame),
            //= https://www.tcpdump.org/linktypes/LINKTYPE_LINUX_SLL.html
            // The protocol type (an Ethertype for IP) is the last two octets of the
            // 16-octet header, in network byte order.
            LinkType::LinuxSll => ip_by_ethertype(be16(frame, 14)?, frame.get(16..)?),
            //= https://www.tcpdump.org/linktypes/LINKTYPE_LINUX_SLL2.html
            // The protocol type is the first two octets of the 20-octet header.
            LinkType::LinuxSll2 => ip_by_ethertype(be16(frame, 0)?, frame.get(20..)?),
            LinkType::Null => {
                let raw: [u8; 4] = frame.get(..4)?.try_into().ok()?;
                // Host byte order of the capturing machine, which the file does not
                // record: every IP family value is below 2^16, so a value that only
                // fits the other way round was written big-endian.
                let le = u32::from_le_bytes(raw);
                let family = if le > 0xffff {
                    u32::from_be_bytes(raw)
                } else {
                    le
                };
                ip_by_bsd_family(family, frame.get(4..)?)
            }
            LinkType::Loop => {
                let raw: [u8; 4] = frame.get(..4)?.try_into().ok()?;
                ip_by_bsd_family(u32::from_be_bytes(raw), frame.get(4..)?)
            }
            LinkType::Other(_) => None,
        }
    }

    /// tcpdump's name for the link type (`EN10MB`, `RAW`, `LINUX_SLL2`, ...), or
    /// `None` for [`LinkType::Other`].
    pub fn name(self) -> Option<&'static str> {
        Some(match LinkType::from(self.value()) {
            LinkType::Null => "NULL",
            LinkType::Ethernet => "EN10MB",
            LinkType::Raw => "RAW",
            LinkType::Loop => "LOOP",
            LinkType::LinuxSll => "LINUX_SLL",
            LinkType::Ipv4 => "IPV4",
            LinkType::Ipv6 => "IPV6",
            LinkType::LinuxSll2 => "LINUX_SLL2",
            LinkType::Other(_) => return None,
        })
    }
}

/// The IP packet inside a frame of link type `link` (the same as
/// [`LinkType::ip_payload`]).
pub fn ip_payload(link: LinkType, frame: &[u8]) -> Option<&[u8]> {
    link.ip_payload(frame)
}

const ETHERTYPE_IPV4: u16 = 0x0800;
const ETHERTYPE_IPV6: u16 = 0x86dd;
/// IEEE 802.1Q customer VLAN tag.
const ETHERTYPE_VLAN: u16 = 0x8100;
/// IEEE 802.1ad service VLAN tag (the outer tag of "QinQ").
const ETHERTYPE_QINQ: u16 = 0x88a8;
/// How many VLAN tags we look through before giving up on a frame.
const MAX_VLAN_TAGS: usize = 2;

/// Ethernet II: destination and source addresses (6 octets each), then the
/// Ethertype; each VLAN tag inserts 4 octets (TPID, TCI) before the real Ethertype.
fn ethernet_payload(frame: &[u8]) -> Option<&[u8]> {
    let mut type_at = 12;
    for _ in 0..MAX_VLAN_TAGS {
        match be16(frame, type_at)? {
            ETHERTYPE_VLAN | ETHERTYPE_QINQ => type_at += 4,
            _ => break,
        }
    }
    ip_by_ethertype(be16(frame, type_at)?, frame.get(type_at + 2..)?)
}

fn ip_by_ethertype(ethertype: u16, payload: &[u8]) -> Option<&[u8]> {
    match ethertype {
        ETHERTYPE_IPV4 | ETHERTYPE_IPV6 => Some(payload),
        _ => None,
    }
}

/// BSD address families: `AF_INET` is 2 everywhere; `AF_INET6` is 24 (NetBSD,
/// OpenBSD, BSD/OS), 28 (FreeBSD, DragonFly) or 30 (Darwin). Like tcpdump and
/// Wireshark we accept all three, and nothing else (23 is IPX on the BSDs).
fn ip_by_bsd_family(family: u32, payload: &[u8]) -> Option<&[u8]> {
    match family {
        2 | 24 | 28 | 30 => Some(payload),
        _ => None,
    }
}

fn be16(b: &[u8], at: usize) -> Option<u16> {
    let raw: [u8; 2] = b.get(at..at.checked_add(2)?)?.try_into().ok()?;
    Some(u16::from_be_bytes(raw))
}

impl From<u16> for LinkType {
    fn from(v: u16) -> LinkType {
        match v {
            0 => LinkType::Null,
            1 => LinkType::Ethernet,
            101 => LinkType::Raw,
            108 => LinkType::Loop,
            113 => LinkType::LinuxSll,
            228 => LinkType::Ipv4,
            229 => LinkType::Ipv6,
            276 => LinkType::LinuxSll2,
            v => LinkType::Other(v),
        }
    }
}

impl From<LinkType> for u16 {
    fn from(l: LinkType) -> u16 {
        l.value()
    }
}

impl From<LinkType> for u32 {
    fn from(l: LinkType) -> u32 {
        u32::from(l.value())
    }
}

impl PartialEq for LinkType {
    fn eq(&self, other: &LinkType) -> bool {
        self.value() == other.value()
    }
}

impl Eq for LinkType {}

impl Hash for LinkType {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.value().hash(state)
    }
}

/// Like tcpdump's `link-type` line: `EN10MB (Ethernet)`, `RAW (Raw IP)`, or the
/// number for a type we do not name.
impl fmt::Display for LinkType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (self.name(), self.description()) {
            (Some(name), Some(description)) => write!(f, "{name} ({description})"),
            _ => write!(f, "{}", self.value()),
        }
    }
}

impl LinkType {
    fn description(self) -> Option<&'static str> {
        Some(match LinkType::from(self.value()) {
            LinkType::Null => "BSD loopback",
            LinkType::Ethernet => "Ethernet",
            LinkType::Raw => "Raw IP",
            LinkType::Loop => "OpenBSD loopback",
            LinkType::LinuxSll => "Linux cooked v1",
            LinkType::Ipv4 => "Raw IPv4",
            LinkType::Ipv6 => "Raw IPv6",
            LinkType::LinuxSll2 => "Linux cooked v2",
            LinkType::Other(_) => return None,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// A minimal IPv4 header (no checksum needed: ip_payload does not look inside).
    const IP4: [u8; 20] = [
        0x45, 0, 0, 20, 0, 0, 0x40, 0, 64, 17, 0, 0, 127, 0, 0, 1, 127, 0, 0, 1,
    ];

    fn cat(parts: &[&[u8]]) -> Vec<u8> {
        parts.concat()
    }

    const MACS: [u8; 12] = [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0];

    #[test]
    fn raw_types_have_no_link_header() {
        for link in [LinkType::Raw, LinkType::Ipv4, LinkType::Ipv6] {
            assert_eq!(link.ip_payload(&IP4), Some(&IP4[..]));
            assert_eq!(link.ip_payload(&[]), Some(&[][..]));
        }
    }

    #[test]
    fn ethernet_ipv4_and_ipv6_are_stripped() {
        let f = cat(&[&MACS, &[0x08, 0x00], &IP4]);
        assert_eq!(ip_payload(LinkType::Ethernet, &f), Some(&IP4[..]));
        let f = cat(&[&MACS, &[0x86, 0xdd], &[0x60, 0, 0, 0]]);
        assert_eq!(
            LinkType::Ethernet.ip_payload(&f),
            Some(&[0x60, 0, 0, 0][..])
        );
    }

    #[test]
    fn ethernet_payload_keeps_padding_after_the_ip_packet() {
        let f = cat(&[&MACS, &[0x08, 0x00], &IP4, &[0; 26]]);
        assert_eq!(LinkType::Ethernet.ip_payload(&f).map(<[u8]>::len), Some(46));
    }

    #[test]
    fn ethernet_with_one_vlan_tag_is_stripped() {
        let f = cat(&[&MACS, &[0x81, 0x00, 0x00, 0x2a, 0x08, 0x00], &IP4]);
        assert_eq!(LinkType::Ethernet.ip_payload(&f), Some(&IP4[..]));
    }

    #[test]
    fn ethernet_with_qinq_tags_is_stripped() {
        let tags = [0x88, 0xa8, 0x00, 0x01, 0x81, 0x00, 0x00, 0x2a, 0x86, 0xdd];
        let f = cat(&[&MACS, &tags, &IP4]);
        assert_eq!(LinkType::Ethernet.ip_payload(&f), Some(&IP4[..]));
    }

    #[test]
    fn ethernet_with_three_vlan_tags_is_not_ip() {
        let tags = [0x81, 0, 0, 1, 0x81, 0, 0, 2, 0x81, 0, 0, 3, 0x08, 0x00];
        let f = cat(&[&MACS, &tags, &IP4]);
        assert_eq!(LinkType::Ethernet.ip_payload(&f), None);
    }

    #[test]
    fn ethernet_non_ip_ethertypes_are_none() {
        // ARP, 802.3 length field, LLDP, MPLS.
        for et in [[0x08, 0x06], [0x00, 0x2e], [0x88, 0xcc], [0x88, 0x47]] {
            let f = cat(&[&MACS, &et, &IP4]);
            assert_eq!(LinkType::Ethernet.ip_payload(&f), None, "{et:02x?}");
        }
        // ARP behind a VLAN tag.
        let f = cat(&[&MACS, &[0x81, 0x00, 0x00, 0x2a, 0x08, 0x06], &IP4]);
        assert_eq!(LinkType::Ethernet.ip_payload(&f), None);
    }

    #[test]
    fn short_ethernet_frames_are_none() {
        let f = cat(&[&MACS, &[0x08, 0x00]]);
        assert_eq!(LinkType::Ethernet.ip_payload(&f), Some(&[][..]));
        assert_eq!(LinkType::Ethernet.ip_payload(&f[..13]), None);
        let tagged = cat(&[&MACS, &[0x81, 0x00, 0x00, 0x2a]]);
        assert_eq!(LinkType::Ethernet.ip_payload(&tagged), None);
        assert_eq!(LinkType::Ethernet.ip_payload(&[]), None);
    }

    #[test]
    fn linux_sll_is_stripped_by_its_protocol_field() {
        // Packet type 0 (to us), ARPHRD_LOOPBACK (772), address length 6, address, IPv4.
        let hdr = [0, 0, 0x03, 0x04, 0, 6, 0, 0, 0, 0, 0, 0, 0, 0, 0x08, 0x00];
        let f = cat(&[&hdr, &IP4]);
        assert_eq!(LinkType::LinuxSll.ip_payload(&f), Some(&IP4[..]));
        let mut arp = f.clone();
        arp[14..16].copy_from_slice(&[0x08, 0x06]);
        assert_eq!(LinkType::LinuxSll.ip_payload(&arp), None);
        assert_eq!(LinkType::LinuxSll.ip_payload(&f[..15]), None);
    }

    #[test]
    fn linux_sll2_is_stripped_by_its_protocol_field() {
        // Protocol IPv6, reserved, ifindex 1, ARPHRD_LOOPBACK, outgoing (4), addr len 6.
        let hdr = [
            0x86, 0xdd, 0, 0, 0, 0, 0, 1, 0x03, 0x04, 4, 6, 0, 0, 0, 0, 0, 0, 0, 0,
        ];
        let f = cat(&[&hdr, &[0x60, 0, 0, 0]]);
        assert_eq!(
            LinkType::LinuxSll2.ip_payload(&f),
            Some(&[0x60, 0, 0, 0][..])
        );
        let mut other = f.clone();
        other[0..2].copy_from_slice(&[0x00, 0x03]);
        assert_eq!(LinkType::LinuxSll2.ip_payload(&other), None);
        assert_eq!(LinkType::LinuxSll2.ip_payload(&f[..19]), None);
    }

    #[test]
    fn null_family_is_read_in_either_byte_order() {
        for fam in [
            [2, 0, 0, 0],
            [0, 0, 0, 2],
            [24, 0, 0, 0],
            [0, 0, 0, 28],
            [30, 0, 0, 0],
        ] {
            let f = cat(&[&fam, &IP4]);
            assert_eq!(LinkType::Null.ip_payload(&f), Some(&IP4[..]), "{fam:?}");
        }
        for fam in [[23, 0, 0, 0], [7, 0, 0, 0], [0, 0, 0, 0], [2, 0, 0, 1]] {
            let f = cat(&[&fam, &IP4]);
            assert_eq!(LinkType::Null.ip_payload(&f), None, "{fam:?}");
        }
        assert_eq!(LinkType::Null.ip_payload(&[2, 0, 0]), None);
    }

    #[test]
    fn loop_family_is_big_endian() {
        let f = cat(&[&[0, 0, 0, 2], &IP4]);
        assert_eq!(LinkType::Loop.ip_payload(&f), Some(&IP4[..]));
        let f = cat(&[&[0, 0, 0, 24], &IP4]);
        assert_eq!(LinkType::Loop.ip_payload(&f), Some(&IP4[..]));
        let f = cat(&[&[2, 0, 0, 0], &IP4]);
        assert_eq!(LinkType::Loop.ip_payload(&f), None);
    }

    #[test]
    fn unknown_link_types_are_not_ip() {
        assert_eq!(LinkType::Other(105).ip_payload(&IP4), None);
    }

    #[test]
    fn numbers_round_trip_and_compare_by_value() {
        for v in [0u16, 1, 101, 108, 113, 228, 229, 276, 105, 65535] {
            assert_eq!(LinkType::from(v).value(), v);
            assert_eq!(u32::from(LinkType::from(v)), u32::from(v));
        }
        assert_eq!(LinkType::from(1), LinkType::Ethernet);
        assert_eq!(LinkType::Other(1), LinkType::Ethernet);
        assert_ne!(LinkType::Other(2), LinkType::Ethernet);
        assert_eq!(LinkType::from(113), LinkType::LinuxSll);
    }

    #[test]
    fn display_reads_like_tcpdump() {
        assert_eq!(LinkType::Ethernet.to_string(), "EN10MB (Ethernet)");
        assert_eq!(LinkType::Raw.to_string(), "RAW (Raw IP)");
        assert_eq!(
            LinkType::LinuxSll2.to_string(),
            "LINUX_SLL2 (Linux cooked v2)"
        );
        assert_eq!(LinkType::Other(147).to_string(), "147");
        assert_eq!(LinkType::Other(0).to_string(), "NULL (BSD loopback)");
        assert_eq!(LinkType::Other(147).name(), None);
    }

    proptest! {
        #[test]
        fn ip_payload_never_panics_and_is_a_suffix(
            link in any::<u16>(),
            frame in proptest::collection::vec(any::<u8>(), 0..64),
        ) {
            if let Some(p) = LinkType::from(link).ip_payload(&frame) {
                prop_assert!(frame.ends_with(p));
            }
        }
    }
}
