//! Helpers shared by the cross-checking integration tests: the golden captures, a
//! layered parse of one IP packet, packet builders from our reprs, temp dirs and
//! external tools.
//!
//! Each test binary uses a different part of this module.
#![allow(dead_code)]

use std::net::{Ipv4Addr, Ipv6Addr};
use std::path::{Path, PathBuf};
use std::process::Command;

use layer4_wire::{
    AddrPair, ChecksumMode, Ecn, Error, Icmpv4Packet, Icmpv4Repr, Icmpv6Packet, Icmpv6Repr,
    IpProtocol, Ipv4Options, Ipv4Packet, Ipv4Repr, Ipv6Packet, Ipv6Repr, LinkType, PcapReader,
    TcpPacket, TcpRepr, UdpPacket, UdpRepr, UpperLayer,
};

// ---------------------------------------------------------------------------------
// Golden captures
// ---------------------------------------------------------------------------------

/// Every golden capture (tests/data/NAME.pcap) and how many packets it holds, as
/// tests/data/README.md lists them.
pub const GOLDEN: [(&str, usize); 14] = [
    ("tcp4_session", 10),
    ("tcp4_rst", 2),
    ("tcp6_session", 10),
    ("tcp4_sack", 22),
    ("udp4", 12),
    ("udp6", 12),
    ("icmp4_echo", 4),
    ("icmp6_echo", 4),
    ("icmp4_frag_needed", 2),
    ("icmp6_packet_too_big", 2),
    ("icmp4_time_exceeded", 2),
    ("icmp6_time_exceeded", 2),
    ("ipv4_fragments", 6),
    ("ipv6_fragments", 6),
];

/// The directory of the golden captures.
pub fn data_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests")
        .join("data")
}

/// The IP packets of golden capture `name`, in capture order, each cut to the length
/// its IP header states (an Ethernet frame may carry padding after it).
///
/// Panics unless the file is an Ethernet capture of whole IPv4 / IPv6 frames.
pub fn golden_ip_packets(name: &str) -> Vec<Vec<u8>> {
    let path = data_dir().join(format!("{name}.pcap"));
    let file = std::fs::File::open(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let reader = PcapReader::new(std::io::BufReader::new(file))
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let link = reader.link_type();
    assert_eq!(link, LinkType::Ethernet, "{name}: link type");
    reader
        .enumerate()
        .map(|(i, rec)| {
            let rec = rec.unwrap_or_else(|e| panic!("{name} #{i}: {e}"));
            assert!(!rec.is_truncated(), "{name} #{i}: record truncated");
            let ip = link
                .ip_payload(&rec.data)
                .unwrap_or_else(|| panic!("{name} #{i}: not an IP frame"));
            ip[..ip_len(ip)].to_vec()
        })
        .collect()
}

/// The length an IPv4 or IPv6 packet's header says the packet has.
pub fn ip_len(ip: &[u8]) -> usize {
    match ip[0] >> 4 {
        4 => usize::from(u16::from_be_bytes([ip[2], ip[3]])),
        6 => 40 + usize::from(u16::from_be_bytes([ip[4], ip[5]])),
        v => panic!("IP version {v}"),
    }
}

// ---------------------------------------------------------------------------------
// A layered parse
// ---------------------------------------------------------------------------------

/// The network layer of a parsed packet.
#[derive(Debug, Clone, Copy)]
#[allow(clippy::large_enum_variant)] // a test value, built once per packet
pub enum Net {
    /// IPv4 header.
    V4(Ipv4Repr),
    /// IPv6 fixed header and the walk along its extension headers.
    V6(Ipv6Repr, UpperLayer),
}

/// One IP packet parsed down to its transport bytes.
#[derive(Debug, Clone, Copy)]
pub struct IpView<'a> {
    /// The network layer.
    pub net: Net,
    /// Source and destination, for pseudo-header checksums.
    pub addrs: AddrPair,
    /// The upper-layer protocol, `None` after IPv6 No Next Header or in fragment data.
    pub protocol: Option<IpProtocol>,
    /// The IP payload after the headers (for a fragment: its fragment data).
    pub transport: &'a [u8],
    /// Whether the packet is a fragment (not a whole datagram).
    pub fragment: bool,
    /// Whether the packet is a fragment other than the first.
    pub later_fragment: bool,
}

/// Parse an IPv4 or IPv6 packet (IPv4 header checksum verified) down to its
/// transport bytes.
pub fn parse_ip(ip: &[u8]) -> Result<IpView<'_>, Error> {
    match ip.first().map(|b| b >> 4) {
        Some(4) => {
            let packet = Ipv4Packet::new_checked(ip)?;
            let repr = Ipv4Repr::parse(&packet, ChecksumMode::Enabled)?;
            let start = repr.buffer_len();
            let transport = &ip[start..start + repr.payload_len];
            Ok(IpView {
                net: Net::V4(repr),
                addrs: AddrPair::V4 {
                    src: repr.src_addr,
                    dst: repr.dst_addr,
                },
                protocol: Some(repr.protocol),
                transport,
                fragment: repr.more_frags || repr.frag_offset != 0,
                later_fragment: repr.frag_offset != 0,
            })
        }
        Some(6) => {
            let packet = Ipv6Packet::new_checked(ip)?;
            let repr = Ipv6Repr::parse(&packet)?;
            let payload = &ip[40..40 + repr.payload_len];
            let upper = layer4_wire::walk_chain(repr.next_header, payload)?;
            let (fragment, later_fragment) = match upper.fragment {
                Some(f) => (!f.is_atomic(), f.frag_offset != 0),
                None => (false, false),
            };
            Ok(IpView {
                net: Net::V6(repr, upper),
                addrs: AddrPair::V6 {
                    src: repr.src_addr,
                    dst: repr.dst_addr,
                },
                protocol: upper.protocol(),
                transport: &payload[upper.offset..],
                fragment,
                later_fragment,
            })
        }
        Some(v) => Err(Error::BadVersion(v)),
        None => Err(Error::Truncated),
    }
}

/// The transport layer of a parsed packet, checksums verified.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transport<'a> {
    /// A TCP segment.
    Tcp(TcpRepr<'a>),
    /// A UDP datagram.
    Udp(UdpRepr<'a>),
    /// An ICMP message.
    Icmpv4(Icmpv4Repr<'a>),
    /// An ICMPv6 message.
    Icmpv6(Icmpv6Repr<'a>),
}

/// Parse the transport layer of a whole (unfragmented) packet with checksums
/// verified; `None` for a protocol this crate has no parser for.
pub fn parse_transport<'a>(view: &IpView<'a>) -> Option<Result<Transport<'a>, Error>> {
    let bytes = view.transport;
    let mode = ChecksumMode::Enabled;
    Some(match view.protocol? {
        IpProtocol::Tcp => TcpPacket::new_checked(bytes)
            .and_then(|p| TcpRepr::parse(&p, &view.addrs, mode))
            .map(Transport::Tcp),
        IpProtocol::Udp => UdpPacket::new_checked(bytes)
            .and_then(|p| UdpRepr::parse(&p, &view.addrs, mode))
            .map(Transport::Udp),
        IpProtocol::Icmp => Icmpv4Packet::new_checked(bytes)
            .and_then(|p| Icmpv4Repr::parse(&p, mode))
            .map(Transport::Icmpv4),
        IpProtocol::Icmpv6 => Icmpv6Packet::new_checked(bytes)
            .and_then(|p| Icmpv6Repr::parse(&p, &view.addrs, mode))
            .map(Transport::Icmpv6),
        _ => return None,
    })
}

/// Parse a whole packet that must be TCP, UDP, ICMP or ICMPv6, panicking with `what`
/// otherwise.
pub fn parse_whole<'a>(ip: &'a [u8], what: &str) -> (IpView<'a>, Transport<'a>) {
    let view = parse_ip(ip).unwrap_or_else(|e| panic!("{what}: IP layer: {e:?}"));
    assert!(!view.fragment, "{what}: is a fragment");
    let transport = parse_transport(&view)
        .unwrap_or_else(|| panic!("{what}: no transport parser for {:?}", view.protocol))
        .unwrap_or_else(|e| panic!("{what}: transport layer: {e:?}"));
    (view, transport)
}

// ---------------------------------------------------------------------------------
// Emitting with our reprs
// ---------------------------------------------------------------------------------

/// An IPv4 pair.
pub fn v4(src: [u8; 4], dst: [u8; 4]) -> AddrPair {
    AddrPair::V4 {
        src: Ipv4Addr::from(src),
        dst: Ipv4Addr::from(dst),
    }
}

/// An IPv6 pair.
pub fn v6(src: &str, dst: &str) -> AddrPair {
    AddrPair::V6 {
        src: src.parse::<Ipv6Addr>().expect("IPv6 address"),
        dst: dst.parse::<Ipv6Addr>().expect("IPv6 address"),
    }
}

/// A plain IPv4 header between `addrs` (which must be IPv4): TTL 64, DF, no options;
/// the payload length is set by [`ipv4_packet`].
pub fn ipv4_header(addrs: &AddrPair, protocol: IpProtocol, ident: u16) -> Ipv4Repr {
    let AddrPair::V4 { src, dst } = *addrs else {
        panic!("not an IPv4 pair: {addrs:?}");
    };
    Ipv4Repr {
        src_addr: src,
        dst_addr: dst,
        protocol,
        payload_len: 0,
        ttl: 64,
        dscp: 0,
        ecn: Ecn::NotEct,
        ident,
        dont_frag: true,
        more_frags: false,
        frag_offset: 0,
        options: Ipv4Options::default(),
    }
}

/// A plain IPv6 header between `addrs` (which must be IPv6): hop limit 64; the
/// payload length is set by [`ipv6_packet`].
pub fn ipv6_header(addrs: &AddrPair, next_header: IpProtocol, flow_label: u32) -> Ipv6Repr {
    let AddrPair::V6 { src, dst } = *addrs else {
        panic!("not an IPv6 pair: {addrs:?}");
    };
    Ipv6Repr {
        src_addr: src,
        dst_addr: dst,
        next_header,
        payload_len: 0,
        hop_limit: 64,
        dscp: 0,
        ecn: Ecn::NotEct,
        flow_label,
    }
}

/// `header` (its payload length replaced by `payload.len()`) followed by `payload`,
/// header checksum filled.
pub fn ipv4_packet(header: &Ipv4Repr, payload: &[u8]) -> Vec<u8> {
    let header = Ipv4Repr {
        payload_len: payload.len(),
        ..*header
    };
    let mut buf = vec![0u8; header.total_len()];
    header.emit(
        &mut Ipv4Packet::new_unchecked(&mut buf[..]),
        ChecksumMode::Enabled,
    );
    buf[header.buffer_len()..].copy_from_slice(payload);
    buf
}

/// `header` (its payload length replaced by `payload.len()`) followed by `payload`
/// (extension headers included).
pub fn ipv6_packet(header: &Ipv6Repr, payload: &[u8]) -> Vec<u8> {
    let header = Ipv6Repr {
        payload_len: payload.len(),
        ..*header
    };
    let mut buf = vec![0u8; header.total_len()];
    header.emit(&mut Ipv6Packet::new_unchecked(&mut buf[..]));
    buf[header.buffer_len()..].copy_from_slice(payload);
    buf
}

/// The bytes of a TCP segment sent between `addrs`, checksum filled.
pub fn tcp_bytes(repr: &TcpRepr<'_>, addrs: &AddrPair) -> Vec<u8> {
    let mut buf = vec![0u8; repr.buffer_len()];
    repr.emit(
        &mut TcpPacket::new_unchecked(&mut buf[..]),
        addrs,
        ChecksumMode::Enabled,
    );
    buf
}

/// The bytes of a UDP datagram sent between `addrs`, checksum filled.
pub fn udp_bytes(repr: &UdpRepr<'_>, addrs: &AddrPair) -> Vec<u8> {
    let mut buf = vec![0u8; repr.buffer_len()];
    repr.emit(
        &mut UdpPacket::new_unchecked(&mut buf[..]),
        addrs,
        ChecksumMode::Enabled,
    );
    buf
}

/// The bytes of an ICMP message, checksum filled.
pub fn icmpv4_bytes(repr: &Icmpv4Repr<'_>) -> Vec<u8> {
    let mut buf = vec![0u8; repr.buffer_len()];
    repr.emit(
        &mut Icmpv4Packet::new_unchecked(&mut buf[..]),
        ChecksumMode::Enabled,
    );
    buf
}

/// The bytes of an ICMPv6 message sent between `addrs`, checksum filled.
pub fn icmpv6_bytes(repr: &Icmpv6Repr<'_>, addrs: &AddrPair) -> Vec<u8> {
    let mut buf = vec![0u8; repr.buffer_len()];
    repr.emit(
        &mut Icmpv6Packet::new_unchecked(&mut buf[..]),
        addrs,
        ChecksumMode::Enabled,
    );
    buf
}

// ---------------------------------------------------------------------------------
// Files and tools
// ---------------------------------------------------------------------------------

/// A fresh directory under the system temp dir, removed on drop.
pub struct TempDir(PathBuf);

impl TempDir {
    /// A new, empty directory whose name says which test made it.
    pub fn new(test: &str) -> TempDir {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or(0);
        let dir =
            std::env::temp_dir().join(format!("layer4-wire-{test}-{}-{nanos}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("create temp dir");
        TempDir(dir)
    }

    /// A path inside the directory.
    pub fn path(&self, name: &str) -> PathBuf {
        self.0.join(name)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Whether `tool` is on the PATH; prints why `test` is skipped when it is not.
///
/// Under CI (`CI=true`) the tools are installed, so a missing tool fails the test
/// instead of skipping it.
pub fn have_tool(tool: &str, test: &str) -> bool {
    let found = Command::new(tool)
        .arg("--version")
        .output()
        .map(|o| o.status.success())
        .unwrap_or(false);
    if !found {
        assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "{test}: `{tool}` is not installed, but CI must run this test"
        );
        eprintln!("skipping {test}: `{tool}` is not installed (apt-get install tshark)");
    }
    found
}

/// Run `cmd`, panicking with its stderr unless it succeeds; its stdout.
pub fn run(cmd: &mut Command) -> String {
    let out = cmd
        .output()
        .unwrap_or_else(|e| panic!("running {cmd:?}: {e}"));
    assert!(
        out.status.success(),
        "{cmd:?} failed: {}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}
