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
//!
//! ## Map
//! - [`checksum`]: RFC 1071 sums, pseudo-headers, RFC 1624 incremental update.
//! - [`ipv4`]: [`Ipv4Packet`], [`Ipv4Repr`], [`Ipv4Options`]: the IPv4 header (RFC 791).
//! - [`ipv6`]: [`Ipv6Packet`], [`Ipv6Repr`], extension headers ([`Ipv6ExtHeader`],
//!   [`Ipv6FragmentRepr`], ...) and [`walk_chain`] to the upper layer (RFC 8200).
//! - [`ip`]: protocol numbers, ECN codepoints, address pairs, the checksum policy.
//! - [`seq`]: [`SeqNumber`], TCP sequence arithmetic modulo 2^32.
//! - [`tcp`]: TCP segments: [`TcpPacket`], [`TcpFlags`], options ([`TcpOption`],
//!   [`TcpOptions`]), and [`TcpRepr`] with Linux's canonical option layout.
//! - [`error`]: [`Error`], why bytes are not a packet.
//! - [`pcap`]: classic capture files: [`PcapWriter`], [`PcapReader`], [`LinkType`].
#![forbid(unsafe_code)]
#![cfg_attr(not(test), warn(clippy::unwrap_used, clippy::expect_used))]
#![warn(missing_docs)]

pub mod checksum;
pub mod error;
pub mod ip;
pub mod ipv4;
pub mod ipv6;
pub mod pcap;
pub mod seq;
pub mod tcp;

pub use error::{Error, Result};
pub use ip::{AddrPair, ChecksumMode, Ecn, IpProtocol};
pub use ipv4::{Ipv4Options, Ipv4Packet, Ipv4Repr};
pub use ipv6::{
    walk_chain, ChainEnd, ExtHeaderInfo, ExtHeaderList, Ipv6ExtHeader, Ipv6ExtHeaderRepr,
    Ipv6FragmentHeader, Ipv6FragmentRepr, Ipv6Option, Ipv6OptionAction, Ipv6OptionIter, Ipv6Packet,
    Ipv6Repr, Ipv6RoutingHeader, UpperLayer, MAX_EXT_HEADERS,
};
pub use pcap::{LinkType, PcapError, PcapReader, PcapRecord, PcapWriter};
pub use seq::SeqNumber;
pub use tcp::{
    SackBlocks, TcpFlags, TcpOption, TcpOptions, TcpPacket, TcpRepr, TcpTimestamp, TfoCookie,
};
