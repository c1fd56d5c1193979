//! TCP segments (RFC 9293 section 3.1): a zero-copy [`TcpPacket`] view, the [`TcpFlags`]
//! control bits, option parsing ([`TcpOption`], [`TcpOptionIter`]) and the canonical
//! option set ([`TcpOptions`]), and the [`TcpRepr`] value that parses and emits whole
//! segments.
//!
//! A `TcpPacket` always spans exactly one segment: the IP layer hands over the bytes its
//! length field covers, and the checksum (which covers header and payload plus the IP
//! pseudo-header) is computed over the whole buffer.
//!
//! ```text
//!  0                   1                   2                   3
//!  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |          Source Port          |       Destination Port        |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |                        Sequence Number                        |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |                    Acknowledgment Number                      |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |  Data | Rsv |A|C|E|U|A|P|R|S|F|                               |
//! | Offset|     |E|W|C|R|C|S|S|Y|I|            Window             |
//! |       |     | |R|E|G|K|H|T|N|N|                               |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |           Checksum            |         Urgent Pointer        |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |                    Options (0 to 40 bytes)                    |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! ```
//!
//! AE is the former NS bit (RFC 3540), now the Accurate ECN flag (RFC 9768).

mod display;
mod flags;
mod option_set;
mod options;
mod repr;

pub use flags::TcpFlags;
pub use option_set::{SackBlocks, TcpOptions, TcpTimestamp, TfoCookie};
pub use options::{TcpOption, TcpOptionIter};
pub use repr::TcpRepr;

use crate::checksum;
use crate::error::{Error, Result};
use crate::ip::{AddrPair, IpProtocol};
use crate::seq::SeqNumber;

/// Byte ranges and bit masks of the fixed TCP header.
mod field {
    use core::ops::Range;

    pub const SRC_PORT: Range<usize> = 0..2;
    pub const DST_PORT: Range<usize> = 2..4;
    pub const SEQ_NUM: Range<usize> = 4..8;
    pub const ACK_NUM: Range<usize> = 8..12;
    /// Data offset (high nibble), three reserved bits, and the AE flag (bit 0).
    pub const OFFSET_AE: usize = 12;
    /// CWR ECE URG ACK PSH RST SYN FIN.
    pub const FLAGS: usize = 13;
    pub const WINDOW: Range<usize> = 14..16;
    pub const CHECKSUM: Range<usize> = 16..18;
    pub const URGENT: Range<usize> = 18..20;
    /// Where the options begin.
    pub const OPTIONS: usize = 20;

    /// The AE bit within [`OFFSET_AE`].
    pub const AE_MASK: u8 = 0x01;
}

/// The length of a TCP header without options.
pub const HEADER_LEN: usize = field::OPTIONS;

/// The longest TCP header: a data offset of 15 words.
pub const MAX_HEADER_LEN: usize = 60;

/// A read/write view of a TCP segment (header, options and payload) in a byte buffer.
///
/// # Panics
///
/// Build views of untrusted bytes with [`TcpPacket::new_checked`]; after it succeeds no
/// getter panics, whatever the bytes. A view made with [`TcpPacket::new_unchecked`] over
/// a buffer shorter than 20 bytes, or shorter than its data offset says, panics in the
/// getters that read past the end.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TcpPacket<T: AsRef<[u8]>> {
    buffer: T,
}

impl<T: AsRef<[u8]>> TcpPacket<T> {
    /// A view of `buffer` without any length check.
    pub const fn new_unchecked(buffer: T) -> TcpPacket<T> {
        TcpPacket { buffer }
    }

    /// A view of `buffer`, after [`check_len`](Self::check_len) says every getter is safe.
    pub fn new_checked(buffer: T) -> Result<TcpPacket<T>> {
        let packet = Self::new_unchecked(buffer);
        packet.check_len()?;
        Ok(packet)
    }

    /// Check that the buffer holds a whole header.
    ///
    /// Returns [`Error::Truncated`] when the buffer is shorter than 20 bytes or than the
    /// data offset says, and [`Error::BadHeaderLen`] when the data offset is below 5
    /// words.
    pub fn check_len(&self) -> Result<()> {
        let data = self.buffer.as_ref();
        if data.len() < HEADER_LEN {
            return Err(Error::Truncated);
        }
        let offset = data[field::OFFSET_AE];
        //= https://www.rfc-editor.org/rfc/rfc9293#section-3.1
        //# The number of 32-bit words in the TCP header. This indicates where the
        //# data begins. The TCP header (even one including options) is an integer
        //# multiple of 32 bits long.
        let header_len = usize::from(offset >> 4) * 4;
        if header_len < HEADER_LEN {
            return Err(Error::BadHeaderLen);
        }
        if header_len > data.len() {
            return Err(Error::Truncated);
        }
        Ok(())
    }

    /// The underlying buffer.
    pub fn into_inner(self) -> T {
        self.buffer
    }

    fn u16_at(&self, at: core::ops::Range<usize>) -> u16 {
        let b = &self.buffer.as_ref()[at];
        u16::from_be_bytes([b[0], b[1]])
    }

    fn u32_at(&self, at: core::ops::Range<usize>) -> u32 {
        let b = &self.buffer.as_ref()[at];
        u32::from_be_bytes([b[0], b[1], b[2], b[3]])
    }

    /// The source port.
    pub fn src_port(&self) -> u16 {
        self.u16_at(field::SRC_PORT)
    }

    /// The destination port.
    pub fn dst_port(&self) -> u16 {
        self.u16_at(field::DST_PORT)
    }

    /// The sequence number.
    pub fn seq_number(&self) -> SeqNumber {
        SeqNumber(self.u32_at(field::SEQ_NUM))
    }

    /// The acknowledgment number (meaningful only when [`TcpFlags::ACK`] is set).
    pub fn ack_number(&self) -> SeqNumber {
        SeqNumber(self.u32_at(field::ACK_NUM))
    }

    /// The header length in bytes: the data offset times four (20..=60 once checked).
    pub fn header_len(&self) -> u8 {
        (self.buffer.as_ref()[field::OFFSET_AE] >> 4) * 4
    }

    /// The nine control bits. The three reserved bits are ignored.
    //= https://www.rfc-editor.org/rfc/rfc9293#section-3.1
    //# A set of control bits reserved for future use. Must be zero in generated
    //# segments and must be ignored in received segments if the corresponding
    //# future features are not implemented by the sending or receiving host.
    pub fn flags(&self) -> TcpFlags {
        let data = self.buffer.as_ref();
        let ae = u16::from(data[field::OFFSET_AE] & field::AE_MASK) << 8;
        TcpFlags::from_bits_truncate(ae | u16::from(data[field::FLAGS]))
    }

    /// The raw (unscaled) window field.
    pub fn window_len(&self) -> u16 {
        self.u16_at(field::WINDOW)
    }

    /// The checksum field as stored.
    pub fn checksum(&self) -> u16 {
        self.u16_at(field::CHECKSUM)
    }

    /// The urgent pointer (meaningful only when [`TcpFlags::URG`] is set).
    pub fn urgent_at(&self) -> u16 {
        self.u16_at(field::URGENT)
    }

    /// The raw option bytes: everything between the fixed header and the data offset,
    /// padding included.
    pub fn options(&self) -> &[u8] {
        let header_len = usize::from(self.header_len());
        &self.buffer.as_ref()[field::OPTIONS..header_len]
    }

    /// An iterator over the options; see [`TcpOptionIter`].
    pub fn option_iter(&self) -> TcpOptionIter<'_> {
        TcpOptionIter::new(self.options())
    }

    /// The payload: everything after the header.
    pub fn payload(&self) -> &[u8] {
        let header_len = usize::from(self.header_len());
        &self.buffer.as_ref()[header_len..]
    }

    /// The sequence space the segment occupies: payload length plus one for SYN and
    /// one for FIN.
    pub fn segment_len(&self) -> usize {
        let flags = self.flags();
        self.payload().len()
            + usize::from(flags.contains(TcpFlags::SYN))
            + usize::from(flags.contains(TcpFlags::FIN))
    }

    /// Whether the checksum verifies over the whole buffer and the pseudo-header of
    /// `addrs`.
    //= https://www.rfc-editor.org/rfc/rfc9293#section-3.1
    //# The TCP checksum is never optional. The sender MUST generate it (MUST-2)
    //# and the receiver MUST check it (MUST-3).
    pub fn verify_checksum(&self, addrs: &AddrPair) -> bool {
        let data = self.buffer.as_ref();
        let pseudo = addrs.pseudo_header(IpProtocol::Tcp, data.len());
        checksum::combine(&[pseudo, checksum::data(data)]) == 0xffff
    }
}

impl<T: AsRef<[u8]> + AsMut<[u8]>> TcpPacket<T> {
    fn set_u16_at(&mut self, at: core::ops::Range<usize>, value: u16) {
        self.buffer.as_mut()[at].copy_from_slice(&value.to_be_bytes());
    }

    fn set_u32_at(&mut self, at: core::ops::Range<usize>, value: u32) {
        self.buffer.as_mut()[at].copy_from_slice(&value.to_be_bytes());
    }

    /// Set the source port.
    pub fn set_src_port(&mut self, value: u16) {
        self.set_u16_at(field::SRC_PORT, value);
    }

    /// Set the destination port.
    pub fn set_dst_port(&mut self, value: u16) {
        self.set_u16_at(field::DST_PORT, value);
    }

    /// Set the sequence number.
    pub fn set_seq_number(&mut self, value: SeqNumber) {
        self.set_u32_at(field::SEQ_NUM, value.0);
    }

    /// Set the acknowledgment number.
    pub fn set_ack_number(&mut self, value: SeqNumber) {
        self.set_u32_at(field::ACK_NUM, value.0);
    }

    /// Set the header length in bytes (the data offset is `value / 4`). The low nibble
    /// of byte 12 (reserved bits and AE) is kept.
    ///
    /// `value` should be a multiple of 4 in 20..=60; other values are a caller bug and
    /// are rounded down to whole words (modulo 64).
    pub fn set_header_len(&mut self, value: u8) {
        let data = self.buffer.as_mut();
        data[field::OFFSET_AE] = ((value / 4) << 4) | (data[field::OFFSET_AE] & 0x0f);
    }

    /// Set the nine control bits, and zero the three reserved bits.
    pub fn set_flags(&mut self, flags: TcpFlags) {
        let bits = flags.bits();
        let data = self.buffer.as_mut();
        let ae = ((bits >> 8) as u8) & field::AE_MASK;
        data[field::OFFSET_AE] = (data[field::OFFSET_AE] & 0xf0) | ae;
        data[field::FLAGS] = bits as u8;
    }

    /// Set the raw (unscaled) window field.
    pub fn set_window_len(&mut self, value: u16) {
        self.set_u16_at(field::WINDOW, value);
    }

    /// Set the checksum field.
    pub fn set_checksum(&mut self, value: u16) {
        self.set_u16_at(field::CHECKSUM, value);
    }

    /// Set the urgent pointer.
    pub fn set_urgent_at(&mut self, value: u16) {
        self.set_u16_at(field::URGENT, value);
    }

    /// The option bytes, mutable (the header length must be set first).
    pub fn options_mut(&mut self) -> &mut [u8] {
        let header_len = usize::from(self.header_len());
        &mut self.buffer.as_mut()[field::OPTIONS..header_len]
    }

    /// The payload, mutable (the header length must be set first).
    pub fn payload_mut(&mut self) -> &mut [u8] {
        let header_len = usize::from(self.header_len());
        &mut self.buffer.as_mut()[header_len..]
    }

    /// Compute the checksum over the whole buffer and the pseudo-header of `addrs`, and
    /// store it.
    pub fn fill_checksum(&mut self, addrs: &AddrPair) {
        self.set_checksum(0);
        let data = self.buffer.as_ref();
        let pseudo = addrs.pseudo_header(IpProtocol::Tcp, data.len());
        let sum = checksum::combine(&[pseudo, checksum::data(data)]);
        self.set_checksum(checksum::finish(sum));
    }
}

impl<T: AsRef<[u8]>> AsRef<[u8]> for TcpPacket<T> {
    fn as_ref(&self) -> &[u8] {
        self.buffer.as_ref()
    }
}

#[cfg(test)]
mod testdata;

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn captured_syn_fields_read_back() {
        let c = testdata::syn_v4();
        let packet = TcpPacket::new_checked(&c.segment[..]).expect("whole header");
        assert_eq!(packet.src_port(), 49152);
        assert_eq!(packet.dst_port(), 80);
        assert_eq!(packet.seq_number(), SeqNumber(472_797_039));
        assert_eq!(packet.ack_number(), SeqNumber(0));
        assert_eq!(packet.header_len(), 40);
        assert_eq!(packet.flags(), TcpFlags::SYN);
        assert_eq!(packet.window_len(), 64240);
        assert_eq!(packet.checksum(), 0x6d6b);
        assert_eq!(packet.urgent_at(), 0);
        assert_eq!(packet.options().len(), 20);
        assert_eq!(packet.option_iter().count(), 5);
        assert!(packet.payload().is_empty());
        assert_eq!(packet.segment_len(), 1);
    }

    #[test]
    fn kernel_checksums_verify_and_are_reproduced() {
        for c in testdata::all() {
            let packet = TcpPacket::new_checked(&c.segment[..]).expect("whole header");
            assert!(packet.verify_checksum(&c.addrs), "{}", c.tcpdump);
            let mut copy = c.segment.clone();
            let mut packet = TcpPacket::new_unchecked(&mut copy[..]);
            packet.set_checksum(0x1234);
            packet.fill_checksum(&c.addrs);
            assert_eq!(copy, c.segment, "{}", c.tcpdump);
        }
    }

    #[test]
    fn every_truncation_of_the_header_is_truncated() {
        let c = testdata::syn_v4();
        for len in 0..40 {
            assert_eq!(
                TcpPacket::new_checked(&c.segment[..len]),
                Err(Error::Truncated),
                "{len}"
            );
        }
        assert!(TcpPacket::new_checked(&c.segment[..]).is_ok());
        // A truncated payload is not a header error; the checksum catches it.
        let d = testdata::data_v4();
        let packet = TcpPacket::new_checked(&d.segment[..d.segment.len() - 1]).expect("header");
        assert!(!packet.verify_checksum(&d.addrs));
    }

    #[test]
    fn data_offset_below_five_is_bad_header_len() {
        let mut bytes = testdata::ack_v4().segment;
        for offset in 0..5u8 {
            bytes[12] = offset << 4;
            assert_eq!(TcpPacket::new_checked(&bytes[..]), Err(Error::BadHeaderLen));
        }
        bytes[12] = 15 << 4;
        assert_eq!(TcpPacket::new_checked(&bytes[..]), Err(Error::Truncated));
    }

    #[test]
    fn ae_is_bit_zero_of_byte_twelve_and_reserved_bits_are_zeroed() {
        let mut bytes = [0u8; 20];
        let mut packet = TcpPacket::new_unchecked(&mut bytes[..]);
        packet.set_header_len(20);
        packet.set_flags(TcpFlags::SYN | TcpFlags::AE | TcpFlags::CWR | TcpFlags::ECE);
        assert_eq!(packet.as_ref()[12], 0x51);
        assert_eq!(packet.as_ref()[13], 0xc2);
        assert_eq!(
            packet.flags(),
            TcpFlags::SYN | TcpFlags::AE | TcpFlags::CWR | TcpFlags::ECE
        );
        // Reserved bits set on the wire are ignored, and cleared by set_flags.
        packet.buffer[12] = 0x5e;
        assert_eq!(
            packet.flags(),
            TcpFlags::SYN | TcpFlags::CWR | TcpFlags::ECE
        );
        packet.set_flags(TcpFlags::ACK);
        assert_eq!(packet.as_ref()[12], 0x50);
        // The header length keeps AE.
        packet.set_flags(TcpFlags::AE);
        packet.set_header_len(24);
        assert_eq!(packet.as_ref()[12], 0x61);
        assert_eq!(packet.header_len(), 24);
    }

    #[test]
    fn setters_write_what_getters_read() {
        let mut bytes = [0u8; 28];
        let mut packet = TcpPacket::new_unchecked(&mut bytes[..]);
        packet.set_src_port(0xabcd);
        packet.set_dst_port(443);
        packet.set_seq_number(SeqNumber(u32::MAX));
        packet.set_ack_number(SeqNumber(7));
        packet.set_header_len(24);
        packet.set_flags(TcpFlags::PSH | TcpFlags::ACK);
        packet.set_window_len(65535);
        packet.set_checksum(0xbeef);
        packet.set_urgent_at(3);
        packet.options_mut().copy_from_slice(&[1, 1, 1, 0]);
        packet.payload_mut().copy_from_slice(b"data");
        let packet = TcpPacket::new_checked(&bytes[..]).expect("valid");
        assert_eq!(packet.src_port(), 0xabcd);
        assert_eq!(packet.dst_port(), 443);
        assert_eq!(packet.seq_number(), SeqNumber(u32::MAX));
        assert_eq!(packet.ack_number(), SeqNumber(7));
        assert_eq!(packet.header_len(), 24);
        assert_eq!(packet.flags(), TcpFlags::PSH | TcpFlags::ACK);
        assert_eq!(packet.window_len(), 65535);
        assert_eq!(packet.checksum(), 0xbeef);
        assert_eq!(packet.urgent_at(), 3);
        assert_eq!(packet.options(), &[1, 1, 1, 0]);
        assert_eq!(packet.payload(), b"data");
        assert_eq!(packet.into_inner().len(), 28);
    }

    proptest! {
        #[test]
        fn checked_packets_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..80)) {
            if let Ok(packet) = TcpPacket::new_checked(&bytes[..]) {
                let _ = (packet.src_port(), packet.dst_port(), packet.seq_number());
                let _ = (packet.ack_number(), packet.flags(), packet.window_len());
                let _ = (packet.checksum(), packet.urgent_at(), packet.segment_len());
                prop_assert!(usize::from(packet.header_len()) >= HEADER_LEN);
                prop_assert_eq!(packet.options().len() + packet.payload().len() + HEADER_LEN, bytes.len());
                let _ = packet.option_iter().count();
            }
        }
    }
}
