//! # layer4-wire: the byte formats of layer4
//!
//! Every format follows one pattern (smoltcp's): a zero-copy **`Packet<T: AsRef<[u8]>>`**
//! view with field accessors (and setters where `T: AsMut<[u8]>`), plus a **`Repr`**, a
//! plain value with `parse`, `buffer_len` and `emit`. Parsing untrusted bytes goes
//! through `Packet::new_checked` and `Repr::parse`, which return an [`Error`] that says
//! why and never panic. `Display` on a `Repr` reads like tcpdump.
//!
//! This crate is sans-IO: it never reads a clock, touches a socket or a file, or uses
//! `unsafe`. The pcap module reads and writes through `std::io` traits the caller owns.
//! The checksum's AVX2 path runs through the `pulp` crate, which holds the one `unsafe`
//! step (calling a `#[target_feature]` function after detecting the CPU feature).
//!
//! ## Map
//! - [`error`]: [`Error`], why bytes are not a packet.
//! - [`checksum`]: RFC 1071 sums, pseudo-headers, RFC 1624 incremental update.
//! - [`ip`]: protocol numbers, ECN codepoints, address pairs, the checksum policy.
//! - [`ipv4`]: [`Ipv4Packet`], [`Ipv4Repr`], [`Ipv4Options`]: the IPv4 header (RFC 791).
//! - [`ipv4_tcp`]: [`Ipv4TcpSegment`], the common IPv4 TCP packet (no IP options, not a
//!   fragment) read from fixed offsets.
//! - [`ipv6`]: [`Ipv6Packet`], [`Ipv6Repr`], extension headers ([`Ipv6ExtHeader`],
//!   [`Ipv6FragmentRepr`], ...) and [`walk_chain`] to the upper layer (RFC 8200).
//! - [`ipv6_tcp`]: [`Ipv6TcpSegment`], the common IPv6 TCP packet (TCP right after
//!   the fixed header) read from fixed offsets.
//! - [`seq`]: [`SeqNumber`], TCP sequence arithmetic modulo 2^32.
//! - [`tcp`]: TCP segments: [`TcpPacket`], [`TcpFlags`], options ([`TcpOption`],
//!   [`TcpOptions`]), and [`TcpRepr`] with Linux's canonical option layout.
//! - [`template`]: [`SegmentTemplate`], the constant part of a TCP connection's IP and TCP
//!   headers, pre-built and pre-summed, for the common data segment's fast emit.
//! - [`udp`]: [`UdpPacket`], [`UdpRepr`], UDP datagrams (RFC 768) over IPv4 and IPv6.
//! - [`icmpv4`]: [`Icmpv4Packet`], [`Icmpv4Repr`], ICMP (RFC 792, RFC 1122, RFC 1191).
//! - [`icmpv6`]: [`Icmpv6Packet`], [`Icmpv6Repr`], ICMPv6 (RFC 4443) with its pseudo-header
//!   checksum.
//! - [`quoted`]: [`Quoted`], the offending packet an ICMP error quotes, read to find its
//!   socket.
//! - [`pcap`]: classic capture files: [`PcapWriter`], [`PcapReader`], [`LinkType`].
//! - [`dump`](mod@dump): [`dump()`] renders a whole packet as `tcpdump -n -S -t` prints it;
//!   [`verify`] checks every header and checksum of one.
#![forbid(unsafe_code)]
#![cfg_attr(not(test), warn(clippy::unwrap_used, clippy::expect_used))]
#![warn(missing_docs)]
// The module maps in these docs name private modules on purpose (they are the map for
// people working on the crate; `cargo doc --document-private-items` renders them).
#![allow(rustdoc::private_intra_doc_links)]

pub mod checksum;
pub mod dump;
pub mod error;
pub mod icmpv4;
pub mod icmpv6;
pub mod ip;
pub mod ipv4;
pub mod ipv4_tcp;
pub mod ipv6;
pub mod ipv6_tcp;
pub mod pcap;
pub mod quoted;
pub mod seq;
pub mod tcp;
pub mod template;
pub mod udp;

pub use dump::{dump, verify, PacketDump, VerifyError};
pub use error::{Error, Result};
pub use icmpv4::{Icmpv4DstUnreachable, Icmpv4Message, Icmpv4Packet, Icmpv4Repr};
pub use icmpv6::{Icmpv6DstUnreachable, Icmpv6Message, Icmpv6Packet, Icmpv6Repr};
pub use ip::{AddrPair, ChecksumMode, Ecn, IpProtocol};
pub use ipv4::{Ipv4Options, Ipv4Packet, Ipv4Repr};
pub use ipv4_tcp::Ipv4TcpSegment;
pub use ipv6::{
    walk_chain, ChainEnd, ExtHeaderInfo, ExtHeaderList, Ipv6ExtHeader, Ipv6ExtHeaderRepr,
    Ipv6FragmentHeader, Ipv6FragmentRepr, Ipv6Option, Ipv6OptionAction, Ipv6OptionIter, Ipv6Packet,
    Ipv6Repr, Ipv6RoutingHeader, UpperLayer, MAX_EXT_HEADERS,
};
pub use ipv6_tcp::Ipv6TcpSegment;
pub use pcap::{LinkType, PcapError, PcapReader, PcapRecord, PcapWriter};
pub use quoted::{quoted_ipv4, quoted_ipv6, Quoted};
pub use seq::SeqNumber;
pub use tcp::{
    SackBlocks, TcpFlags, TcpOption, TcpOptions, TcpPacket, TcpRepr, TcpTimestamp, TfoCookie,
};
pub use template::{
    emit_tcp_fixed_header, emit_tcp_header, PseudoHeader, SegmentTemplate, TcpHeaderFields,
};
pub use udp::{UdpPacket, UdpRepr};
