//! IPv4 (RFC 791): the [`Ipv4Packet`] view, the [`Ipv4Repr`] value and its
//! [`Ipv4Options`].
//!
//! Options are carried as raw bytes and never interpreted: a host stack has no use for
//! source routes or timestamps, and keeping them opaque means a header with options
//! parses, and re-emits byte for byte.

use core::fmt;
use core::net::Ipv4Addr;

use crate::checksum;
use crate::error::{Error, Result};
use crate::ip::{ChecksumMode, Ecn, IpProtocol};

/// Byte ranges of the fixed IPv4 header.
mod field {
    use core::ops::Range;

    pub const VER_IHL: usize = 0;
    pub const DSCP_ECN: usize = 1;
    pub const LENGTH: Range<usize> = 2..4;
    pub const IDENT: Range<usize> = 4..6;
    pub const FLG_OFF: Range<usize> = 6..8;
    pub const TTL: usize = 8;
    pub const PROTOCOL: usize = 9;
    pub const CHECKSUM: Range<usize> = 10..12;
    pub const SRC_ADDR: Range<usize> = 12..16;
    pub const DST_ADDR: Range<usize> = 16..20;
}

/// Length of an IPv4 header without options.
pub const HEADER_LEN: usize = 20;

/// Largest IPv4 header: IHL is four bits, counted in 32-bit words.
pub const MAX_HEADER_LEN: usize = 60;

/// Largest options area: what is left of [`MAX_HEADER_LEN`] after the fixed header.
pub const MAX_OPTIONS_LEN: usize = MAX_HEADER_LEN - HEADER_LEN;

//= https://www.rfc-editor.org/rfc/rfc791#section-3.1
//# Bit 0: reserved, must be zero
//# Bit 1: (DF) 0 = May Fragment,  1 = Don't Fragment.
//# Bit 2: (MF) 0 = Last Fragment, 1 = More Fragments.
const FLAG_RESERVED: u16 = 0x8000;
const FLAG_DF: u16 = 0x4000;
const FLAG_MF: u16 = 0x2000;
const OFFSET_MASK: u16 = 0x1fff;

/// A read (and, over a mutable buffer, write) view of an IPv4 packet.
///
/// # Panics
///
/// A view made with [`Ipv4Packet::new_unchecked`] trusts the buffer: its getters index
/// the fixed header and the ranges the length fields name, and may panic when the
/// buffer is shorter. Untrusted bytes must go through [`Ipv4Packet::new_checked`];
/// after it succeeds no getter panics, whatever the bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ipv4Packet<T: AsRef<[u8]>> {
    buffer: T,
}

impl<T: AsRef<[u8]>> Ipv4Packet<T> {
    /// Wrap a buffer without checking it (see the panic contract on the type).
    pub fn new_unchecked(buffer: T) -> Ipv4Packet<T> {
        Ipv4Packet { buffer }
    }

    /// Wrap a buffer, checking that every getter can read what it needs.
    pub fn new_checked(buffer: T) -> Result<Ipv4Packet<T>> {
        let packet = Self::new_unchecked(buffer);
        packet.check_len()?;
        Ok(packet)
    }

    /// Check the version and the three lengths (buffer, header, total) against each
    /// other.
    ///
    /// In order: [`Error::Truncated`] below 20 bytes; [`Error::BadVersion`] when the
    /// version nibble is not 4; [`Error::BadHeaderLen`] when IHL is below 5;
    /// [`Error::Truncated`] when the header runs past the buffer;
    /// [`Error::BadTotalLen`] when the total length is shorter than the header;
    /// [`Error::Truncated`] when the total length runs past the buffer. A buffer
    /// longer than the total length (link-layer padding) is accepted.
    pub fn check_len(&self) -> Result<()> {
        let data = self.buffer.as_ref();
        if data.len() < HEADER_LEN {
            return Err(Error::Truncated);
        }
        let version = self.version();
        if version != 4 {
            return Err(Error::BadVersion(version));
        }
        //= https://www.rfc-editor.org/rfc/rfc791#section-3.1
        //# Internet Header Length is the length of the internet header in 32
        //# bit words, and thus points to the beginning of the data.  Note that
        //# the minimum value for a correct header is 5.
        let header_len = self.header_len();
        if header_len < HEADER_LEN {
            return Err(Error::BadHeaderLen);
        }
        if header_len > data.len() {
            return Err(Error::Truncated);
        }
        //= https://www.rfc-editor.org/rfc/rfc791#section-3.1
        //# Total Length is the length of the datagram, measured in octets,
        //# including internet header and data.
        let total_len = usize::from(self.total_len());
        if total_len < header_len {
            return Err(Error::BadTotalLen);
        }
        if total_len > data.len() {
            return Err(Error::Truncated);
        }
        Ok(())
    }

    /// The underlying buffer.
    pub fn into_inner(self) -> T {
        self.buffer
    }

    /// The version nibble (4 for a valid packet).
    #[inline]
    pub fn version(&self) -> u8 {
        self.buffer.as_ref()[field::VER_IHL] >> 4
    }

    /// The header length in bytes (IHL times four), options included.
    #[inline]
    pub fn header_len(&self) -> usize {
        usize::from(self.buffer.as_ref()[field::VER_IHL] & 0x0f) * 4
    }

    /// The differentiated-services codepoint: the high six bits of the TOS octet.
    #[inline]
    pub fn dscp(&self) -> u8 {
        self.buffer.as_ref()[field::DSCP_ECN] >> 2
    }

    /// The ECN codepoint: the low two bits of the TOS octet.
    //= https://www.rfc-editor.org/rfc/rfc3168#section-5
    //# Bits 6 and 7 in the IPv4 TOS octet are designated as the ECN field.
    #[inline]
    pub fn ecn(&self) -> Ecn {
        Ecn::from_bits(self.buffer.as_ref()[field::DSCP_ECN])
    }

    /// The whole TOS octet (DSCP and ECN together), as tcpdump prints it.
    #[inline]
    pub fn tos(&self) -> u8 {
        self.buffer.as_ref()[field::DSCP_ECN]
    }

    /// The total length field: header plus data, in bytes.
    #[inline]
    pub fn total_len(&self) -> u16 {
        read_u16(self.buffer.as_ref(), field::LENGTH.start)
    }

    /// The identification field.
    #[inline]
    pub fn ident(&self) -> u16 {
        read_u16(self.buffer.as_ref(), field::IDENT.start)
    }

    /// The reserved flag bit (RFC 791 says it must be zero; parsing ignores it).
    #[inline]
    pub fn reserved_flag(&self) -> bool {
        self.flags_offset() & FLAG_RESERVED != 0
    }

    /// The don't-fragment flag.
    #[inline]
    pub fn dont_frag(&self) -> bool {
        self.flags_offset() & FLAG_DF != 0
    }

    /// The more-fragments flag.
    #[inline]
    pub fn more_frags(&self) -> bool {
        self.flags_offset() & FLAG_MF != 0
    }

    /// The fragment offset in bytes (the field counts 8-byte units; this is always a
    /// multiple of 8, at most 65528).
    //= https://www.rfc-editor.org/rfc/rfc791#section-3.1
    //# The fragment offset is measured in units of 8 octets (64 bits).  The
    //# first fragment has offset zero.
    #[inline]
    pub fn frag_offset(&self) -> u16 {
        (self.flags_offset() & OFFSET_MASK) << 3
    }

    #[inline]
    fn flags_offset(&self) -> u16 {
        read_u16(self.buffer.as_ref(), field::FLG_OFF.start)
    }

    /// The time-to-live field.
    #[inline]
    pub fn ttl(&self) -> u8 {
        self.buffer.as_ref()[field::TTL]
    }

    /// The protocol of the payload.
    #[inline]
    pub fn protocol(&self) -> IpProtocol {
        IpProtocol::from(self.buffer.as_ref()[field::PROTOCOL])
    }

    /// The header checksum field as stored.
    #[inline]
    pub fn checksum(&self) -> u16 {
        read_u16(self.buffer.as_ref(), field::CHECKSUM.start)
    }

    /// The source address.
    #[inline]
    pub fn src_addr(&self) -> Ipv4Addr {
        read_addr(self.buffer.as_ref(), field::SRC_ADDR.start)
    }

    /// The destination address.
    #[inline]
    pub fn dst_addr(&self) -> Ipv4Addr {
        read_addr(self.buffer.as_ref(), field::DST_ADDR.start)
    }

    /// The raw option bytes between the fixed header and `header_len`, padding
    /// included (empty for a 20-byte header).
    #[inline]
    pub fn options(&self) -> &[u8] {
        &self.buffer.as_ref()[HEADER_LEN..self.header_len()]
    }

    /// The data after the header, up to the total length. Bytes of the buffer past the
    /// total length (link padding) are not part of it.
    #[inline]
    pub fn payload(&self) -> &[u8] {
        let range = self.header_len()..usize::from(self.total_len());
        &self.buffer.as_ref()[range]
    }

    /// Whether the header checksum verifies.
    //= https://www.rfc-editor.org/rfc/rfc791#section-3.1
    //# The checksum field is the 16 bit one's complement of the one's
    //# complement sum of all 16 bit words in the header.  For purposes of
    //# computing the checksum, the value of the checksum field is zero.
    pub fn verify_checksum(&self) -> bool {
        checksum::data(&self.buffer.as_ref()[..self.header_len()]) == 0xffff
    }
}

impl<T: AsRef<[u8]> + AsMut<[u8]>> Ipv4Packet<T> {
    /// Set the version nibble.
    #[inline]
    pub fn set_version(&mut self, version: u8) {
        let b = &mut self.buffer.as_mut()[field::VER_IHL];
        *b = (*b & 0x0f) | (version << 4);
    }

    /// Set the header length in bytes; it is stored divided by four (the low two bits
    /// are dropped) and must be at most 60.
    #[inline]
    pub fn set_header_len(&mut self, len: usize) {
        debug_assert!(len % 4 == 0 && len <= MAX_HEADER_LEN);
        let b = &mut self.buffer.as_mut()[field::VER_IHL];
        *b = (*b & 0xf0) | ((len / 4) as u8 & 0x0f);
    }

    /// Set the DSCP (six bits), keeping the ECN bits.
    #[inline]
    pub fn set_dscp(&mut self, dscp: u8) {
        let b = &mut self.buffer.as_mut()[field::DSCP_ECN];
        *b = (*b & 0b11) | (dscp << 2);
    }

    /// Set the ECN codepoint, keeping the DSCP.
    #[inline]
    pub fn set_ecn(&mut self, ecn: Ecn) {
        let b = &mut self.buffer.as_mut()[field::DSCP_ECN];
        *b = (*b & !0b11) | ecn.bits();
    }

    /// Set the total length field.
    #[inline]
    pub fn set_total_len(&mut self, len: u16) {
        write_u16(self.buffer.as_mut(), field::LENGTH.start, len);
    }

    /// Set the identification field.
    #[inline]
    pub fn set_ident(&mut self, ident: u16) {
        write_u16(self.buffer.as_mut(), field::IDENT.start, ident);
    }

    /// Clear all three flag bits, keeping the fragment offset.
    #[inline]
    pub fn clear_flags(&mut self) {
        let v = self.flags_offset() & OFFSET_MASK;
        write_u16(self.buffer.as_mut(), field::FLG_OFF.start, v);
    }

    /// Set or clear the don't-fragment flag.
    #[inline]
    pub fn set_dont_frag(&mut self, value: bool) {
        self.set_flag(FLAG_DF, value);
    }

    /// Set or clear the more-fragments flag.
    #[inline]
    pub fn set_more_frags(&mut self, value: bool) {
        self.set_flag(FLAG_MF, value);
    }

    #[inline]
    fn set_flag(&mut self, flag: u16, value: bool) {
        let old = self.flags_offset();
        let new = if value { old | flag } else { old & !flag };
        write_u16(self.buffer.as_mut(), field::FLG_OFF.start, new);
    }

    /// Set the fragment offset, given in bytes: it is stored in 8-byte units, so it
    /// should be a multiple of 8 (the low three bits are dropped).
    #[inline]
    pub fn set_frag_offset(&mut self, offset: u16) {
        debug_assert!(
            offset % 8 == 0,
            "fragment offset {offset} is not a multiple of 8"
        );
        let v = (self.flags_offset() & !OFFSET_MASK) | (offset >> 3);
        write_u16(self.buffer.as_mut(), field::FLG_OFF.start, v);
    }

    /// Set the time-to-live field.
    #[inline]
    pub fn set_ttl(&mut self, ttl: u8) {
        self.buffer.as_mut()[field::TTL] = ttl;
    }

    /// Set the protocol field.
    #[inline]
    pub fn set_protocol(&mut self, protocol: IpProtocol) {
        self.buffer.as_mut()[field::PROTOCOL] = protocol.into();
    }

    /// Set the checksum field to a given value.
    #[inline]
    pub fn set_checksum(&mut self, value: u16) {
        write_u16(self.buffer.as_mut(), field::CHECKSUM.start, value);
    }

    /// Set the source address.
    #[inline]
    pub fn set_src_addr(&mut self, addr: Ipv4Addr) {
        self.buffer.as_mut()[field::SRC_ADDR].copy_from_slice(&addr.octets());
    }

    /// Set the destination address.
    #[inline]
    pub fn set_dst_addr(&mut self, addr: Ipv4Addr) {
        self.buffer.as_mut()[field::DST_ADDR].copy_from_slice(&addr.octets());
    }

    /// The option bytes, mutably (their length is set by `header_len`).
    #[inline]
    pub fn options_mut(&mut self) -> &mut [u8] {
        let end = self.header_len();
        &mut self.buffer.as_mut()[HEADER_LEN..end]
    }

    /// The payload, mutably (bounded by the total length).
    #[inline]
    pub fn payload_mut(&mut self) -> &mut [u8] {
        let range = self.header_len()..usize::from(self.total_len());
        &mut self.buffer.as_mut()[range]
    }

    /// Compute the header checksum and store it.
    pub fn fill_checksum(&mut self) {
        self.set_checksum(0);
        let header_len = self.header_len();
        let sum = checksum::data(&self.buffer.as_ref()[..header_len]);
        self.set_checksum(checksum::finish(sum));
    }
}

impl<T: AsRef<[u8]>> AsRef<[u8]> for Ipv4Packet<T> {
    fn as_ref(&self) -> &[u8] {
        self.buffer.as_ref()
    }
}

#[inline]
fn read_u16(data: &[u8], at: usize) -> u16 {
    u16::from_be_bytes([data[at], data[at + 1]])
}

#[inline]
fn write_u16(data: &mut [u8], at: usize, value: u16) {
    data[at..at + 2].copy_from_slice(&value.to_be_bytes());
}

#[inline]
fn read_addr(data: &[u8], at: usize) -> Ipv4Addr {
    Ipv4Addr::new(data[at], data[at + 1], data[at + 2], data[at + 3])
}

/// The raw options of an IPv4 header: up to 40 bytes, a multiple of four, stored
/// inline so that [`Ipv4Repr`] stays `Copy`. The bytes are not interpreted.
#[derive(Clone, Copy)]
pub struct Ipv4Options {
    buf: [u8; MAX_OPTIONS_LEN],
    len: u8,
}

impl Ipv4Options {
    /// Options from raw bytes (padding included).
    ///
    /// [`Error::BadHeaderLen`] when `bytes` is longer than 40 or not a multiple of
    /// four: IHL could not describe a header carrying them.
    pub fn new(bytes: &[u8]) -> Result<Ipv4Options> {
        if bytes.len() > MAX_OPTIONS_LEN || bytes.len() % 4 != 0 {
            return Err(Error::BadHeaderLen);
        }
        let mut buf = [0u8; MAX_OPTIONS_LEN];
        buf[..bytes.len()].copy_from_slice(bytes);
        Ok(Ipv4Options {
            buf,
            len: bytes.len() as u8,
        })
    }

    /// The option bytes.
    #[inline]
    pub fn as_bytes(&self) -> &[u8] {
        &self.buf[..usize::from(self.len)]
    }

    /// The number of option bytes.
    #[inline]
    pub fn len(&self) -> usize {
        usize::from(self.len)
    }

    /// Whether there are no options.
    #[inline]
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }
}

impl Default for Ipv4Options {
    fn default() -> Self {
        Ipv4Options {
            buf: [0; MAX_OPTIONS_LEN],
            len: 0,
        }
    }
}

impl PartialEq for Ipv4Options {
    fn eq(&self, other: &Self) -> bool {
        self.as_bytes() == other.as_bytes()
    }
}

impl Eq for Ipv4Options {}

impl core::hash::Hash for Ipv4Options {
    fn hash<H: core::hash::Hasher>(&self, state: &mut H) {
        self.as_bytes().hash(state);
    }
}

impl fmt::Debug for Ipv4Options {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("Ipv4Options")
            .field(&self.as_bytes())
            .finish()
    }
}

/// An IPv4 header as a plain value.
///
/// The payload is not part of it: [`Ipv4Repr::emit`] writes the header and the caller
/// writes `payload_len` bytes after it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Ipv4Repr {
    /// Source address.
    pub src_addr: Ipv4Addr,
    /// Destination address.
    pub dst_addr: Ipv4Addr,
    /// Protocol of the payload.
    pub protocol: IpProtocol,
    /// Length of the payload in bytes (total length minus header length).
    pub payload_len: usize,
    /// Time to live.
    pub ttl: u8,
    /// Differentiated-services codepoint (six bits).
    pub dscp: u8,
    /// ECN codepoint.
    pub ecn: Ecn,
    /// Identification.
    pub ident: u16,
    /// Don't-fragment flag.
    pub dont_frag: bool,
    /// More-fragments flag.
    pub more_frags: bool,
    /// Fragment offset in bytes (a multiple of 8).
    pub frag_offset: u16,
    /// Raw options, kept and re-emitted as bytes.
    pub options: Ipv4Options,
}

impl Ipv4Repr {
    /// Parse a packet's header.
    ///
    /// Checks the lengths again (so a view made with `new_unchecked` is safe here) and,
    /// when `checksum` is [`ChecksumMode::Enabled`], the header checksum
    /// ([`Error::BadChecksum`]). The reserved flag bit is ignored.
    pub fn parse<T: AsRef<[u8]> + ?Sized>(
        packet: &Ipv4Packet<&T>,
        checksum: ChecksumMode,
    ) -> Result<Ipv4Repr> {
        packet.check_len()?;
        if checksum == ChecksumMode::Enabled && !packet.verify_checksum() {
            return Err(Error::BadChecksum);
        }
        let options = Ipv4Options::new(packet.options())?;
        Ok(Ipv4Repr {
            src_addr: packet.src_addr(),
            dst_addr: packet.dst_addr(),
            protocol: packet.protocol(),
            payload_len: usize::from(packet.total_len()) - packet.header_len(),
            ttl: packet.ttl(),
            dscp: packet.dscp(),
            ecn: packet.ecn(),
            ident: packet.ident(),
            dont_frag: packet.dont_frag(),
            more_frags: packet.more_frags(),
            frag_offset: packet.frag_offset(),
            options,
        })
    }

    /// The 20-byte header [`emit`](Self::emit) writes when there are no options.
    #[inline]
    fn header_without_options(&self, checksum: ChecksumMode) -> [u8; HEADER_LEN] {
        let total = (self.total_len() as u16).to_be_bytes();
        let ident = self.ident.to_be_bytes();
        let flags_frag = (u16::from(self.dont_frag) << 14)
            | (u16::from(self.more_frags) << 13)
            | ((self.frag_offset / 8) & 0x1fff);
        let flags_frag = flags_frag.to_be_bytes();
        let src = self.src_addr.octets();
        let dst = self.dst_addr.octets();
        let mut h = [
            0x45,
            (self.dscp << 2) | self.ecn.bits(),
            total[0],
            total[1],
            ident[0],
            ident[1],
            flags_frag[0],
            flags_frag[1],
            self.ttl,
            u8::from(self.protocol),
            0,
            0,
            src[0],
            src[1],
            src[2],
            src[3],
            dst[0],
            dst[1],
            dst[2],
            dst[3],
        ];
        if checksum == ChecksumMode::Enabled {
            let sum = checksum::finish(checksum::data(&h)).to_be_bytes();
            h[10] = sum[0];
            h[11] = sum[1];
        }
        h
    }

    /// The length of the header this emits: 20 plus the options.
    #[inline]
    pub fn buffer_len(&self) -> usize {
        HEADER_LEN + self.options.len()
    }

    /// The total length: header plus payload.
    #[inline]
    pub fn total_len(&self) -> usize {
        self.buffer_len() + self.payload_len
    }

    /// Write the header into `packet` (the payload is the caller's to write).
    ///
    /// The total length is `buffer_len() + payload_len`; the checksum is filled when
    /// `checksum` is [`ChecksumMode::Enabled`] and left zero otherwise.
    ///
    /// # Panics
    ///
    /// When the packet's buffer is shorter than [`Ipv4Repr::buffer_len`]. The caller
    /// must keep `total_len()` within 65535 and `frag_offset` a multiple of 8 (checked
    /// in debug builds only; release builds truncate).
    pub fn emit<T: AsRef<[u8]> + AsMut<[u8]>>(
        &self,
        packet: &mut Ipv4Packet<T>,
        checksum: ChecksumMode,
    ) {
        debug_assert!(self.total_len() <= usize::from(u16::MAX));
        if self.options.is_empty() {
            // The common header (no options): built whole and written in one go,
            // instead of field by field through the setters (one packet in two of a
            // bulk transfer goes through here).
            let header = self.header_without_options(checksum);
            packet.buffer.as_mut()[..HEADER_LEN].copy_from_slice(&header);
            return;
        }
        packet.set_version(4);
        packet.set_header_len(self.buffer_len());
        packet.buffer.as_mut()[field::DSCP_ECN] = (self.dscp << 2) | self.ecn.bits();
        packet.set_total_len(self.total_len() as u16);
        packet.set_ident(self.ident);
        packet.clear_flags();
        packet.set_dont_frag(self.dont_frag);
        packet.set_more_frags(self.more_frags);
        packet.set_frag_offset(self.frag_offset);
        packet.set_ttl(self.ttl);
        packet.set_protocol(self.protocol);
        packet.set_src_addr(self.src_addr);
        packet.set_dst_addr(self.dst_addr);
        packet
            .options_mut()
            .copy_from_slice(self.options.as_bytes());
        match checksum {
            ChecksumMode::Enabled => packet.fill_checksum(),
            ChecksumMode::Offloaded => packet.set_checksum(0),
        }
    }
}

/// The protocol name tcpdump prints (`TCP`, `UDP`, `ICMP`, ...).
pub(crate) fn tcpdump_proto_name(protocol: IpProtocol) -> &'static str {
    match protocol {
        IpProtocol::HopByHop => "HBH",
        IpProtocol::Icmp => "ICMP",
        IpProtocol::Tcp => "TCP",
        IpProtocol::Udp => "UDP",
        IpProtocol::Ipv6Route => "Routing",
        IpProtocol::Ipv6Frag => "Fragment",
        IpProtocol::Icmpv6 => "ICMPv6",
        IpProtocol::Ipv6NoNxt => "NONE",
        IpProtocol::Ipv6Opts => "DSTOPT",
        IpProtocol::Unknown(_) => "unknown",
    }
}

/// The IP part of `tcpdump -v`, on one line:
/// `IP 10.0.0.1 > 10.0.0.2: tos 0x0, ttl 64, id 1234, offset 0, flags [DF], proto TCP (6), length 60`.
///
/// A nonzero ECN codepoint follows the TOS as tcpdump shows it (`tos 0x2,ECT(0)`);
/// options, when present, end the line as `options (N bytes)`.
impl fmt::Display for Ipv4Repr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let tos = (self.dscp << 2) | self.ecn.bits();
        write!(
            f,
            "IP {} > {}: tos {:#x}",
            self.src_addr, self.dst_addr, tos
        )?;
        match self.ecn {
            Ecn::NotEct => {}
            Ecn::Ect1 => f.write_str(",ECT(1)")?,
            Ecn::Ect0 => f.write_str(",ECT(0)")?,
            Ecn::Ce => f.write_str(",CE")?,
        }
        let flags = match (self.more_frags, self.dont_frag) {
            (false, false) => "none",
            (true, false) => "+",
            (false, true) => "DF",
            (true, true) => "+, DF",
        };
        write!(
            f,
            ", ttl {}, id {}, offset {}, flags [{}], proto {} ({}), length {}",
            self.ttl,
            self.ident,
            self.frag_offset,
            flags,
            tcpdump_proto_name(self.protocol),
            u8::from(self.protocol),
            self.total_len()
        )?;
        if !self.options.is_empty() {
            write!(f, ", options ({} bytes)", self.options.len())?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// A TCP SYN from a Linux host, 172.16.10.99 -> 172.16.10.12: IP header as in the
    /// well-known worked checksum example (checksum 0xb1e6, DF, TTL 64, total 60),
    /// followed by a 40-byte SYN laid out the way Linux sends it (MSS 1460,
    /// SACK-permitted, timestamps, window scale 7). The TCP checksum is not meaningful
    /// here; only the IP header checksum is checked.
    const SYN: [u8; 60] = [
        0x45, 0x00, 0x00, 0x3c, 0x1c, 0x46, 0x40, 0x00, 0x40, 0x06, 0xb1, 0xe6, 0xac, 0x10, 0x0a,
        0x63, 0xac, 0x10, 0x0a, 0x0c, // IP
        0xa6, 0x2c, 0x00, 0x50, 0x5d, 0x1f, 0x3c, 0x0a, 0x00, 0x00, 0x00, 0x00, 0xa0, 0x02, 0xfa,
        0xf0, 0x12, 0x34, 0x00, 0x00, // TCP fixed
        0x02, 0x04, 0x05, 0xb4, 0x04, 0x02, 0x08, 0x0a, 0x00, 0x1b, 0x4f, 0x6a, 0x00, 0x00, 0x00,
        0x00, 0x01, 0x03, 0x03, 0x07, // TCP options
    ];

    /// An IGMPv2 membership report for 239.1.2.3 as Linux sends it: IHL 6 with the
    /// Router Alert option (94 04 00 00), TOS 0xc0, TTL 1. IP checksum 0x3161 and IGMP
    /// checksum 0xf8fa, both computed by hand and checked below.
    const IGMP_WITH_RA: [u8; 32] = [
        0x46, 0xc0, 0x00, 0x20, 0x00, 0x00, 0x40, 0x00, 0x01, 0x02, 0x31, 0x61, 0xc0, 0xa8, 0x01,
        0x0a, 0xef, 0x01, 0x02, 0x03, // IP fixed
        0x94, 0x04, 0x00, 0x00, // Router Alert
        0x16, 0x00, 0xf8, 0xfa, 0xef, 0x01, 0x02, 0x03, // IGMPv2 report
    ];

    fn syn_repr() -> Ipv4Repr {
        Ipv4Repr {
            src_addr: Ipv4Addr::new(172, 16, 10, 99),
            dst_addr: Ipv4Addr::new(172, 16, 10, 12),
            protocol: IpProtocol::Tcp,
            payload_len: 40,
            ttl: 64,
            dscp: 0,
            ecn: Ecn::NotEct,
            ident: 0x1c46,
            dont_frag: true,
            more_frags: false,
            frag_offset: 0,
            options: Ipv4Options::default(),
        }
    }

    #[test]
    fn real_syn_fields_read_correctly() {
        let p = Ipv4Packet::new_checked(&SYN[..]).unwrap();
        assert_eq!(p.version(), 4);
        assert_eq!(p.header_len(), 20);
        assert_eq!(p.dscp(), 0);
        assert_eq!(p.ecn(), Ecn::NotEct);
        assert_eq!(p.total_len(), 60);
        assert_eq!(p.ident(), 0x1c46);
        assert!(p.dont_frag());
        assert!(!p.more_frags());
        assert!(!p.reserved_flag());
        assert_eq!(p.frag_offset(), 0);
        assert_eq!(p.ttl(), 64);
        assert_eq!(p.protocol(), IpProtocol::Tcp);
        assert_eq!(p.checksum(), 0xb1e6);
        assert_eq!(p.src_addr(), Ipv4Addr::new(172, 16, 10, 99));
        assert_eq!(p.dst_addr(), Ipv4Addr::new(172, 16, 10, 12));
        assert!(p.options().is_empty());
        assert_eq!(p.payload(), &SYN[20..]);
        assert!(p.verify_checksum());
    }

    #[test]
    fn real_syn_parses_to_repr() {
        let p = Ipv4Packet::new_checked(&SYN[..]).unwrap();
        assert_eq!(
            Ipv4Repr::parse(&p, ChecksumMode::Enabled).unwrap(),
            syn_repr()
        );
    }

    #[test]
    fn real_syn_reemits_byte_for_byte() {
        let repr = syn_repr();
        let mut buf = SYN;
        buf[..20].fill(0);
        repr.emit(
            &mut Ipv4Packet::new_unchecked(&mut buf[..]),
            ChecksumMode::Enabled,
        );
        assert_eq!(buf, SYN);
    }

    #[test]
    fn header_with_options_parses_and_reemits() {
        // Both checksums of the hand-made packet verify.
        assert_eq!(checksum::data(&IGMP_WITH_RA[..24]), 0xffff);
        assert_eq!(checksum::data(&IGMP_WITH_RA[24..]), 0xffff);
        let p = Ipv4Packet::new_checked(&IGMP_WITH_RA[..]).unwrap();
        assert_eq!(p.header_len(), 24);
        assert_eq!(p.options(), &[0x94, 0x04, 0x00, 0x00]);
        assert_eq!(p.payload(), &IGMP_WITH_RA[24..]);
        assert_eq!(p.dscp(), 0x30);
        let repr = Ipv4Repr::parse(&p, ChecksumMode::Enabled).unwrap();
        assert_eq!(repr.options.as_bytes(), &[0x94, 0x04, 0x00, 0x00]);
        assert_eq!(repr.payload_len, 8);
        assert_eq!(repr.buffer_len(), 24);
        assert_eq!(repr.protocol, IpProtocol::Unknown(2));
        let mut out = [0u8; 32];
        repr.emit(
            &mut Ipv4Packet::new_unchecked(&mut out[..]),
            ChecksumMode::Enabled,
        );
        out[24..].copy_from_slice(&IGMP_WITH_RA[24..]);
        assert_eq!(out, IGMP_WITH_RA);
    }

    #[test]
    fn link_padding_beyond_total_len_is_not_payload() {
        // A 46-byte Ethernet payload carrying the 32-byte IGMP packet.
        let mut padded = [0u8; 46];
        padded[..32].copy_from_slice(&IGMP_WITH_RA);
        let p = Ipv4Packet::new_checked(&padded[..]).unwrap();
        assert_eq!(p.payload().len(), 8);
        assert_eq!(
            Ipv4Repr::parse(&p, ChecksumMode::Enabled)
                .unwrap()
                .payload_len,
            8
        );
    }

    #[test]
    fn every_truncation_is_rejected_as_truncated() {
        for packet in [&SYN[..], &IGMP_WITH_RA[..]] {
            for len in 0..packet.len() {
                assert_eq!(
                    Ipv4Packet::new_checked(&packet[..len]).unwrap_err(),
                    Error::Truncated,
                    "length {len}"
                );
            }
        }
    }

    #[test]
    fn wrong_version_is_rejected() {
        let mut bytes = SYN;
        bytes[0] = 0x65;
        assert_eq!(
            Ipv4Packet::new_checked(&bytes[..]).unwrap_err(),
            Error::BadVersion(6)
        );
        bytes[0] = 0x05;
        assert_eq!(
            Ipv4Packet::new_checked(&bytes[..]).unwrap_err(),
            Error::BadVersion(0)
        );
    }

    #[test]
    fn ihl_below_five_is_rejected() {
        for ihl in 0..5u8 {
            let mut bytes = SYN;
            bytes[0] = 0x40 | ihl;
            assert_eq!(
                Ipv4Packet::new_checked(&bytes[..]).unwrap_err(),
                Error::BadHeaderLen,
                "ihl {ihl}"
            );
        }
    }

    #[test]
    fn ihl_beyond_buffer_is_truncated() {
        let mut bytes = SYN;
        bytes[0] = 0x4f; // a 60-byte header
        assert_eq!(
            Ipv4Packet::new_checked(&bytes[..40]).unwrap_err(),
            Error::Truncated
        );
        // It fits the 60-byte buffer, and total length 60 leaves an empty payload.
        let p = Ipv4Packet::new_checked(&bytes[..]).unwrap();
        assert_eq!(p.options().len(), 40);
        assert!(p.payload().is_empty());
    }

    #[test]
    fn total_len_shorter_than_header_is_bad_total_len() {
        for total in [0u16, 1, 19] {
            let mut bytes = SYN;
            bytes[2..4].copy_from_slice(&total.to_be_bytes());
            assert_eq!(
                Ipv4Packet::new_checked(&bytes[..]).unwrap_err(),
                Error::BadTotalLen
            );
        }
        // With options, a total length inside the options is also too short.
        let mut bytes = IGMP_WITH_RA;
        bytes[2..4].copy_from_slice(&22u16.to_be_bytes());
        assert_eq!(
            Ipv4Packet::new_checked(&bytes[..]).unwrap_err(),
            Error::BadTotalLen
        );
    }

    #[test]
    fn total_len_beyond_buffer_is_truncated() {
        let mut bytes = SYN;
        bytes[2..4].copy_from_slice(&61u16.to_be_bytes());
        assert_eq!(
            Ipv4Packet::new_checked(&bytes[..]).unwrap_err(),
            Error::Truncated
        );
    }

    #[test]
    fn corrupted_header_fails_checksum_unless_offloaded() {
        let mut bytes = SYN;
        bytes[8] = 63; // TTL changed without updating the checksum
        let p = Ipv4Packet::new_checked(&bytes[..]).unwrap();
        assert!(!p.verify_checksum());
        assert_eq!(
            Ipv4Repr::parse(&p, ChecksumMode::Enabled).unwrap_err(),
            Error::BadChecksum
        );
        let repr = Ipv4Repr::parse(&p, ChecksumMode::Offloaded).unwrap();
        assert_eq!(repr.ttl, 63);
    }

    #[test]
    fn corrupted_option_byte_fails_checksum() {
        let mut bytes = IGMP_WITH_RA;
        bytes[22] = 0x01;
        let p = Ipv4Packet::new_checked(&bytes[..]).unwrap();
        assert_eq!(
            Ipv4Repr::parse(&p, ChecksumMode::Enabled).unwrap_err(),
            Error::BadChecksum
        );
    }

    #[test]
    fn parse_rechecks_lengths_of_unchecked_views() {
        let p = Ipv4Packet::new_unchecked(&SYN[..10]);
        assert_eq!(
            Ipv4Repr::parse(&p, ChecksumMode::Offloaded).unwrap_err(),
            Error::Truncated
        );
    }

    #[test]
    fn offloaded_emit_leaves_checksum_zero() {
        let mut buf = [0xffu8; 20];
        syn_repr().emit(
            &mut Ipv4Packet::new_unchecked(&mut buf[..]),
            ChecksumMode::Offloaded,
        );
        assert_eq!(&buf[10..12], &[0, 0]);
        let mut expected = SYN;
        expected[10] = 0;
        expected[11] = 0;
        assert_eq!(&buf[..], &expected[..20]);
    }

    #[test]
    fn emit_over_dirty_buffer_clears_reserved_flag_and_old_fields() {
        let mut buf = [0xffu8; 60];
        syn_repr().emit(
            &mut Ipv4Packet::new_unchecked(&mut buf[..]),
            ChecksumMode::Enabled,
        );
        assert_eq!(&buf[..20], &SYN[..20]);
    }

    #[test]
    fn fragment_fields_use_byte_offsets() {
        // The second fragment of a 3000-byte UDP datagram sent over a 1500 MTU:
        // offset 1480 bytes = 185 units, more fragments set.
        let repr = Ipv4Repr {
            protocol: IpProtocol::Udp,
            payload_len: 1480,
            dont_frag: false,
            more_frags: true,
            frag_offset: 1480,
            ..syn_repr()
        };
        let mut buf = vec![0u8; repr.total_len()];
        repr.emit(
            &mut Ipv4Packet::new_unchecked(&mut buf[..]),
            ChecksumMode::Enabled,
        );
        assert_eq!(&buf[6..8], &(0x2000u16 | 185).to_be_bytes());
        let p = Ipv4Packet::new_checked(&buf[..]).unwrap();
        assert_eq!(p.frag_offset(), 1480);
        assert!(p.more_frags());
        assert!(!p.dont_frag());
        assert_eq!(Ipv4Repr::parse(&p, ChecksumMode::Enabled).unwrap(), repr);
    }

    #[test]
    fn largest_fragment_offset_round_trips() {
        let mut buf = SYN;
        let mut p = Ipv4Packet::new_unchecked(&mut buf[..]);
        p.set_frag_offset(0x1fff * 8);
        assert_eq!(p.frag_offset(), 65528);
        assert!(p.dont_frag(), "setting the offset keeps the flags");
        p.set_dont_frag(false);
        assert_eq!(p.frag_offset(), 65528, "clearing a flag keeps the offset");
    }

    #[test]
    fn reserved_flag_is_readable_and_ignored_by_parse() {
        let mut bytes = SYN;
        bytes[6] |= 0x80;
        let mut p = Ipv4Packet::new_unchecked(&mut bytes[..]);
        p.fill_checksum();
        let p = Ipv4Packet::new_checked(&bytes[..]).unwrap();
        assert!(p.reserved_flag());
        assert_eq!(
            Ipv4Repr::parse(&p, ChecksumMode::Enabled).unwrap(),
            syn_repr()
        );
    }

    #[test]
    fn setters_touch_only_their_bits() {
        let mut buf = SYN;
        let mut p = Ipv4Packet::new_unchecked(&mut buf[..]);
        p.set_dscp(46);
        p.set_ecn(Ecn::Ce);
        assert_eq!(p.tos(), 0xbb);
        p.set_ecn(Ecn::Ect0);
        assert_eq!(p.dscp(), 46);
        assert_eq!(p.ecn(), Ecn::Ect0);
        p.set_header_len(24);
        assert_eq!(p.version(), 4);
        p.set_version(4);
        assert_eq!(p.header_len(), 24);
        p.set_more_frags(true);
        assert!(p.more_frags() && p.dont_frag());
        p.clear_flags();
        assert!(!p.more_frags() && !p.dont_frag());
        p.set_ttl(1);
        p.set_protocol(IpProtocol::Udp);
        p.set_ident(7);
        p.set_src_addr(Ipv4Addr::new(1, 2, 3, 4));
        p.set_dst_addr(Ipv4Addr::new(5, 6, 7, 8));
        p.options_mut().copy_from_slice(&[1, 1, 1, 0]);
        p.set_total_len(28);
        p.payload_mut().fill(9);
        p.fill_checksum();
        let p = Ipv4Packet::new_checked(&buf[..]).unwrap();
        assert!(p.verify_checksum());
        assert_eq!(p.ttl(), 1);
        assert_eq!(p.protocol(), IpProtocol::Udp);
        assert_eq!(p.ident(), 7);
        assert_eq!(p.src_addr(), Ipv4Addr::new(1, 2, 3, 4));
        assert_eq!(p.dst_addr(), Ipv4Addr::new(5, 6, 7, 8));
        assert_eq!(p.options(), &[1, 1, 1, 0]);
        assert_eq!(p.payload(), &[9, 9, 9, 9]);
        assert_eq!(p.into_inner().len(), 60);
    }

    #[test]
    fn options_must_be_whole_words_within_forty_bytes() {
        assert_eq!(Ipv4Options::new(&[1]).unwrap_err(), Error::BadHeaderLen);
        assert_eq!(Ipv4Options::new(&[1; 6]).unwrap_err(), Error::BadHeaderLen);
        assert_eq!(Ipv4Options::new(&[1; 44]).unwrap_err(), Error::BadHeaderLen);
        assert_eq!(Ipv4Options::new(&[1; 40]).unwrap().len(), 40);
        let empty = Ipv4Options::new(&[]).unwrap();
        assert!(empty.is_empty());
        assert_eq!(empty, Ipv4Options::default());
        assert_eq!(
            format!("{:?}", Ipv4Options::new(&[1, 1, 1, 0]).unwrap()),
            "Ipv4Options([1, 1, 1, 0])"
        );
    }

    #[test]
    fn display_reads_like_tcpdump() {
        assert_eq!(
            Ipv4Repr {
                src_addr: Ipv4Addr::new(10, 0, 0, 1),
                dst_addr: Ipv4Addr::new(10, 0, 0, 2),
                ident: 1234,
                ..syn_repr()
            }
            .to_string(),
            "IP 10.0.0.1 > 10.0.0.2: tos 0x0, ttl 64, id 1234, offset 0, flags [DF], \
             proto TCP (6), length 60"
        );
        let p = Ipv4Packet::new_checked(&IGMP_WITH_RA[..]).unwrap();
        assert_eq!(
            Ipv4Repr::parse(&p, ChecksumMode::Enabled)
                .unwrap()
                .to_string(),
            "IP 192.168.1.10 > 239.1.2.3: tos 0xc0, ttl 1, id 0, offset 0, flags [DF], \
             proto unknown (2), length 32, options (4 bytes)"
        );
        let frag = Ipv4Repr {
            ecn: Ecn::Ect0,
            protocol: IpProtocol::Udp,
            dont_frag: false,
            more_frags: true,
            frag_offset: 1480,
            payload_len: 1480,
            ..syn_repr()
        };
        assert_eq!(
            frag.to_string(),
            "IP 172.16.10.99 > 172.16.10.12: tos 0x2,ECT(0), ttl 64, id 7238, offset 1480, \
             flags [+], proto UDP (17), length 1500"
        );
    }

    fn arb_repr() -> impl Strategy<Value = Ipv4Repr> {
        (
            (any::<u32>(), any::<u32>(), any::<u8>(), any::<u8>()),
            (0u8..64, 0u8..4, any::<u16>(), any::<bool>(), any::<bool>()),
            (0u16..=0x1fff, 0usize..=10, 0usize..=1000),
            proptest::collection::vec(any::<u8>(), 40),
        )
            .prop_map(
                |(
                    (src, dst, proto, ttl),
                    (dscp, ecn, ident, df, mf),
                    (off, words, payload),
                    opt,
                )| {
                    Ipv4Repr {
                        src_addr: Ipv4Addr::from(src),
                        dst_addr: Ipv4Addr::from(dst),
                        protocol: IpProtocol::from(proto),
                        payload_len: payload,
                        ttl,
                        dscp,
                        ecn: Ecn::from_bits(ecn),
                        ident,
                        dont_frag: df,
                        more_frags: mf,
                        frag_offset: off * 8,
                        options: Ipv4Options::new(&opt[..words * 4]).unwrap(),
                    }
                },
            )
    }

    proptest! {
        #[test]
        fn parse_of_emit_is_identity(repr in arb_repr()) {
            let mut buf = vec![0u8; repr.total_len()];
            repr.emit(&mut Ipv4Packet::new_unchecked(&mut buf[..]), ChecksumMode::Enabled);
            let p = Ipv4Packet::new_checked(&buf[..]).unwrap();
            prop_assert!(p.verify_checksum());
            prop_assert_eq!(p.payload().len(), repr.payload_len);
            prop_assert_eq!(Ipv4Repr::parse(&p, ChecksumMode::Enabled).unwrap(), repr);
        }

        #[test]
        fn emit_of_parse_is_identity(repr in arb_repr(), fill: u8) {
            let mut bytes = vec![fill; repr.total_len()];
            repr.emit(&mut Ipv4Packet::new_unchecked(&mut bytes[..]), ChecksumMode::Enabled);
            let parsed = Ipv4Repr::parse(&Ipv4Packet::new_checked(&bytes[..]).unwrap(), ChecksumMode::Enabled).unwrap();
            let mut again = vec![fill; repr.total_len()];
            parsed.emit(&mut Ipv4Packet::new_unchecked(&mut again[..]), ChecksumMode::Enabled);
            prop_assert_eq!(again, bytes);
        }

        #[test]
        fn etherparse_agrees_with_emit(repr in arb_repr()) {
            let mut buf = vec![0u8; repr.total_len()];
            repr.emit(&mut Ipv4Packet::new_unchecked(&mut buf[..]), ChecksumMode::Enabled);
            let h = etherparse::Ipv4HeaderSlice::from_slice(&buf).unwrap();
            prop_assert_eq!(h.source_addr(), repr.src_addr);
            prop_assert_eq!(h.destination_addr(), repr.dst_addr);
            prop_assert_eq!(h.protocol().0, u8::from(repr.protocol));
            prop_assert_eq!(usize::from(h.total_len()), repr.total_len());
            prop_assert_eq!(h.ttl(), repr.ttl);
            prop_assert_eq!(h.dcp().value(), repr.dscp);
            prop_assert_eq!(h.ecn().value(), repr.ecn.bits());
            prop_assert_eq!(h.identification(), repr.ident);
            prop_assert_eq!(h.dont_fragment(), repr.dont_frag);
            prop_assert_eq!(h.more_fragments(), repr.more_frags);
            prop_assert_eq!(h.fragments_offset().value() * 8, repr.frag_offset);
            prop_assert_eq!(h.options(), repr.options.as_bytes());
            prop_assert_eq!(h.to_header().calc_header_checksum(), h.header_checksum());
        }

        #[test]
        fn arbitrary_bytes_never_panic(
            mut bytes in proptest::collection::vec(any::<u8>(), 0..80),
            first in 0x40u8..0x50,
            force_v4: bool,
        ) {
            // Half the cases get a version-4 first byte so that the length checks run.
            if force_v4 && !bytes.is_empty() {
                bytes[0] = first;
            }
            if let Ok(p) = Ipv4Packet::new_checked(&bytes[..]) {
                let _ = (p.version(), p.header_len(), p.dscp(), p.ecn(), p.total_len());
                let _ = (p.ident(), p.dont_frag(), p.more_frags(), p.frag_offset(), p.ttl());
                let _ = (p.protocol(), p.checksum(), p.src_addr(), p.dst_addr());
                let _ = (p.options(), p.payload(), p.verify_checksum());
                let _ = Ipv4Repr::parse(&p, ChecksumMode::Enabled);
                let _ = Ipv4Repr::parse(&p, ChecksumMode::Offloaded).map(|r| r.to_string());
            }
            let _ = Ipv4Repr::parse(&Ipv4Packet::new_unchecked(&bytes[..]), ChecksumMode::Offloaded);
        }

        #[test]
        fn valid_version_four_bytes_pass_check_len_iff_lengths_fit(
            ihl in 0u8..16, total: u16, len in 20usize..80
        ) {
            let mut bytes = vec![0u8; len];
            bytes[0] = 0x40 | ihl;
            bytes[2..4].copy_from_slice(&total.to_be_bytes());
            let hl = usize::from(ihl) * 4;
            let expected = if ihl < 5 {
                Err(Error::BadHeaderLen)
            } else if hl > len {
                Err(Error::Truncated)
            } else if usize::from(total) < hl {
                Err(Error::BadTotalLen)
            } else if usize::from(total) > len {
                Err(Error::Truncated)
            } else {
                Ok(())
            };
            prop_assert_eq!(Ipv4Packet::new_unchecked(&bytes[..]).check_len(), expected);
        }
    }
}
