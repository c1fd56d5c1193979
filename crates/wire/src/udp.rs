//! UDP (RFC 768): the datagram header, its checksum over IPv4 and IPv6, and a `Repr`.
//!
//! ```text
//!  0      7 8     15 16    23 24    31
//! +--------+--------+--------+--------+
//! |     Source      |   Destination   |
//! |      Port       |      Port       |
//! +--------+--------+--------+--------+
//! |                 |                 |
//! |     Length      |    Checksum     |
//! +--------+--------+--------+--------+
//! |          data octets ...
//! ```

use core::fmt;

use crate::checksum;
use crate::error::{Error, Result};
use crate::ip::{AddrPair, ChecksumMode, IpProtocol};

mod field {
    use core::ops::Range;

    pub const SRC_PORT: Range<usize> = 0..2;
    pub const DST_PORT: Range<usize> = 2..4;
    pub const LENGTH: Range<usize> = 4..6;
    pub const CHECKSUM: Range<usize> = 6..8;
    pub const PAYLOAD: usize = 8;
}

/// The length of a UDP header.
pub const HEADER_LEN: usize = field::PAYLOAD;

/// The largest payload one UDP datagram can carry (the length field is 16 bits).
pub const MAX_PAYLOAD_LEN: usize = u16::MAX as usize - HEADER_LEN;

/// A zero-copy view of a UDP datagram.
///
/// The datagram ends where its length field says, which may be before the end of the
/// buffer (a link layer may pad); [`UdpPacket::payload`] stops there.
///
/// Getters on a view made with [`UdpPacket::new_unchecked`] panic if the buffer is
/// shorter than the 8-byte header; untrusted bytes must go through
/// [`UdpPacket::new_checked`], after which no getter panics.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UdpPacket<T: AsRef<[u8]>> {
    buffer: T,
}

#[inline]
fn read_u16(bytes: &[u8], at: core::ops::Range<usize>) -> u16 {
    let b = &bytes[at];
    u16::from_be_bytes([b[0], b[1]])
}

impl<T: AsRef<[u8]>> UdpPacket<T> {
    /// Wrap a buffer without checking it. See the type docs for the panic contract.
    pub const fn new_unchecked(buffer: T) -> UdpPacket<T> {
        UdpPacket { buffer }
    }

    /// Wrap a buffer, checking that the header and the length field are consistent.
    pub fn new_checked(buffer: T) -> Result<UdpPacket<T>> {
        let packet = Self::new_unchecked(buffer);
        packet.check_len()?;
        Ok(packet)
    }

    /// Check the buffer against the header.
    ///
    /// [`Error::Truncated`] if the buffer is shorter than the header or than the
    /// length field; [`Error::BadLength`] if the length field is below 8. A buffer
    /// longer than the length field is fine.
    //= https://www.rfc-editor.org/rfc/rfc768
    //# Length  is the length  in octets  of this user datagram  including  this
    //# header  and the data.   (This  means  the minimum value of the length is
    //# eight.)
    pub fn check_len(&self) -> Result<()> {
        let buf = self.buffer.as_ref();
        if buf.len() < HEADER_LEN {
            return Err(Error::Truncated);
        }
        let len = usize::from(self.len());
        if len < HEADER_LEN {
            Err(Error::BadLength)
        } else if len > buf.len() {
            Err(Error::Truncated)
        } else {
            Ok(())
        }
    }

    /// The underlying buffer.
    pub fn into_inner(self) -> T {
        self.buffer
    }

    /// The source port.
    #[inline]
    pub fn src_port(&self) -> u16 {
        read_u16(self.buffer.as_ref(), field::SRC_PORT)
    }

    /// The destination port.
    #[inline]
    pub fn dst_port(&self) -> u16 {
        read_u16(self.buffer.as_ref(), field::DST_PORT)
    }

    /// The length field: header plus payload, in bytes.
    #[inline]
    pub fn len(&self) -> u16 {
        read_u16(self.buffer.as_ref(), field::LENGTH)
    }

    /// Whether the length field says the datagram has no payload.
    #[inline]
    pub fn is_empty(&self) -> bool {
        usize::from(self.len()) <= HEADER_LEN
    }

    /// The checksum field (0 over IPv4 means "none").
    #[inline]
    pub fn checksum(&self) -> u16 {
        read_u16(self.buffer.as_ref(), field::CHECKSUM)
    }

    /// The range of the buffer the datagram covers, clamped to the buffer so that it
    /// never panics even when the length field lies.
    #[inline]
    fn datagram_end(&self) -> usize {
        let buf_len = self.buffer.as_ref().len();
        usize::from(self.len()).clamp(HEADER_LEN.min(buf_len), buf_len)
    }

    /// The payload, up to the length field (or the end of the buffer if that is
    /// shorter, which [`UdpPacket::check_len`] rules out).
    #[inline]
    pub fn payload(&self) -> &[u8] {
        let buf = self.buffer.as_ref();
        let end = self.datagram_end();
        &buf[HEADER_LEN.min(end)..end]
    }

    /// Whether the checksum field verifies over the pseudo-header, header and payload.
    ///
    /// This is the arithmetic alone: a zero field (which over IPv4 means the sender
    /// computed no checksum) does not verify here. [`UdpRepr::parse`] applies that rule.
    pub fn verify_checksum(&self, addrs: &AddrPair) -> bool {
        let datagram = &self.buffer.as_ref()[..self.datagram_end()];
        let pseudo = addrs.pseudo_header(IpProtocol::Udp, datagram.len());
        checksum::combine(&[pseudo, checksum::data(datagram)]) == 0xffff
    }
}

impl<T: AsRef<[u8]> + AsMut<[u8]>> UdpPacket<T> {
    /// Set the source port.
    #[inline]
    pub fn set_src_port(&mut self, value: u16) {
        self.buffer.as_mut()[field::SRC_PORT].copy_from_slice(&value.to_be_bytes());
    }

    /// Set the destination port.
    #[inline]
    pub fn set_dst_port(&mut self, value: u16) {
        self.buffer.as_mut()[field::DST_PORT].copy_from_slice(&value.to_be_bytes());
    }

    /// Set the length field.
    #[inline]
    pub fn set_len(&mut self, value: u16) {
        self.buffer.as_mut()[field::LENGTH].copy_from_slice(&value.to_be_bytes());
    }

    /// Set the checksum field.
    #[inline]
    pub fn set_checksum(&mut self, value: u16) {
        self.buffer.as_mut()[field::CHECKSUM].copy_from_slice(&value.to_be_bytes());
    }

    /// The payload, mutably, up to the length field.
    #[inline]
    pub fn payload_mut(&mut self) -> &mut [u8] {
        let end = self.datagram_end();
        &mut self.buffer.as_mut()[HEADER_LEN.min(end)..end]
    }

    /// Compute the checksum over the pseudo-header, header and payload (up to the
    /// length field) and store it, sending a computed zero as `0xffff`.
    pub fn fill_checksum(&mut self, addrs: &AddrPair) {
        self.set_checksum(0);
        let end = self.datagram_end();
        let datagram = &self.buffer.as_ref()[..end];
        let pseudo = addrs.pseudo_header(IpProtocol::Udp, datagram.len());
        let sum = checksum::finish(checksum::combine(&[pseudo, checksum::data(datagram)]));
        //= https://www.rfc-editor.org/rfc/rfc768
        //# If the computed  checksum  is zero,  it is transmitted  as all ones (the
        //# equivalent  in one's complement  arithmetic).
        self.set_checksum(if sum == 0 { 0xffff } else { sum });
    }
}

impl<T: AsRef<[u8]>> AsRef<[u8]> for UdpPacket<T> {
    fn as_ref(&self) -> &[u8] {
        self.buffer.as_ref()
    }
}

/// A parsed UDP datagram: ports and a borrowed payload.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct UdpRepr<'a> {
    /// The source port.
    pub src_port: u16,
    /// The destination port.
    pub dst_port: u16,
    /// The payload.
    pub payload: &'a [u8],
}

impl<'a> UdpRepr<'a> {
    /// Parse a datagram received between `addrs`, checking lengths and (under
    /// [`ChecksumMode::Enabled`]) the checksum.
    ///
    /// A zero checksum field means "no checksum" over IPv4 and is accepted; over IPv6
    /// it is [`Error::Illegal`]. A non-zero checksum that does not verify is
    /// [`Error::BadChecksum`]. Under [`ChecksumMode::Offloaded`] neither is checked
    /// (the field may hold anything the offload left there, zero included).
    pub fn parse<T>(
        packet: &UdpPacket<&'a T>,
        addrs: &AddrPair,
        mode: ChecksumMode,
    ) -> Result<UdpRepr<'a>>
    where
        T: AsRef<[u8]> + ?Sized,
    {
        packet.check_len()?;
        if mode == ChecksumMode::Enabled {
            if packet.checksum() == 0 {
                match addrs {
                    //= https://www.rfc-editor.org/rfc/rfc768
                    //# An all zero  transmitted
                    //# checksum  value means that the transmitter  generated  no checksum  (for
                    //# debugging or for higher level protocols that don't care).
                    AddrPair::V4 { .. } => {}
                    //= https://www.rfc-editor.org/rfc/rfc8200#section-8.1
                    //# IPv6 receivers must discard UDP packets containing a zero checksum
                    //# and should log the error.
                    AddrPair::V6 { .. } => return Err(Error::Illegal),
                }
            } else if !packet.verify_checksum(addrs) {
                return Err(Error::BadChecksum);
            }
        }
        let buf: &'a [u8] = packet.buffer.as_ref();
        let end = usize::from(packet.len());
        Ok(UdpRepr {
            src_port: packet.src_port(),
            dst_port: packet.dst_port(),
            payload: buf.get(HEADER_LEN..end).ok_or(Error::Truncated)?,
        })
    }

    /// The bytes [`UdpRepr::emit`] writes: header plus payload.
    pub fn buffer_len(&self) -> usize {
        HEADER_LEN + self.payload.len()
    }

    /// Write the header and payload into `packet` and, under
    /// [`ChecksumMode::Enabled`], the checksum (a computed zero is sent as `0xffff`);
    /// under [`ChecksumMode::Offloaded`] the checksum field is left zero.
    ///
    /// # Panics
    /// If the packet's buffer is shorter than [`UdpRepr::buffer_len`], or the payload
    /// is longer than [`MAX_PAYLOAD_LEN`].
    pub fn emit<T>(&self, packet: &mut UdpPacket<T>, addrs: &AddrPair, mode: ChecksumMode)
    where
        T: AsRef<[u8]> + AsMut<[u8]>,
    {
        assert!(
            self.payload.len() <= MAX_PAYLOAD_LEN,
            "UDP payload of {} bytes does not fit the length field",
            self.payload.len()
        );
        packet.set_src_port(self.src_port);
        packet.set_dst_port(self.dst_port);
        packet.set_len(self.buffer_len() as u16);
        packet.set_checksum(0);
        packet.payload_mut().copy_from_slice(self.payload);
        if mode == ChecksumMode::Enabled {
            //= https://www.rfc-editor.org/rfc/rfc8200#section-8.1
            //# Unlike IPv4, the default behavior when UDP packets are originated by
            //# an IPv6 node is that the UDP checksum is not optional.
            packet.fill_checksum(addrs);
        }
    }

    /// A `Display` of this datagram with its addresses, as `tcpdump -n` prints it:
    /// `10.0.0.1.5000 > 10.0.0.2.6000: UDP, length 5`.
    pub fn display_with<'r>(&'r self, addrs: &'r AddrPair) -> impl fmt::Display + 'r {
        UdpDisplay { repr: self, addrs }
    }
}

impl fmt::Display for UdpRepr<'_> {
    /// `UDP, length 5` (the payload length), as tcpdump ends a UDP line.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "UDP, length {}", self.payload.len())
    }
}

struct UdpDisplay<'r, 'a> {
    repr: &'r UdpRepr<'a>,
    addrs: &'r AddrPair,
}

impl fmt::Display for UdpDisplay<'_, '_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}.{} > {}.{}: {}",
            self.addrs.src(),
            self.repr.src_port,
            self.addrs.dst(),
            self.repr.dst_port,
            self.repr
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use core::net::{Ipv4Addr, Ipv6Addr};
    use proptest::prelude::*;

    fn v4(a: [u8; 4], b: [u8; 4]) -> AddrPair {
        AddrPair::V4 {
            src: Ipv4Addr::from(a),
            dst: Ipv4Addr::from(b),
        }
    }

    fn v6_pair() -> AddrPair {
        AddrPair::V6 {
            src: Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, 1),
            dst: Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, 2),
        }
    }

    fn ten_pair() -> AddrPair {
        v4([10, 0, 0, 1], [10, 0, 0, 2])
    }

    /// 10.0.0.1:5000 -> 10.0.0.2:6000 "hello", checksum 0x7d07 (tcpdump -vv: "udp sum ok").
    const HELLO_V4: [u8; 13] = [
        0x13, 0x88, 0x17, 0x70, 0x00, 0x0d, 0x7d, 0x07, b'h', b'e', b'l', b'l', b'o',
    ];

    /// [2001:db8::1]:5000 -> [2001:db8::2]:6000 "hello" (tcpdump -vv: "udp sum ok").
    const HELLO_V6: [u8; 13] = [
        0x13, 0x88, 0x17, 0x70, 0x00, 0x0d, 0x35, 0x95, b'h', b'e', b'l', b'l', b'o',
    ];

    /// A datagram a Linux host sent on loopback, 127.0.0.1:5000 -> 127.0.0.1:9999:
    /// the checksum field holds only the pseudo-header sum (CHECKSUM_PARTIAL offload).
    const LOOPBACK_PARTIAL: [u8; 13] = [
        0x13, 0x88, 0x27, 0x0f, 0x00, 0x0d, 0xfe, 0x20, b'h', b'e', b'l', b'l', b'o',
    ];

    #[test]
    fn hello_over_ipv4_parses_and_verifies() {
        let packet = UdpPacket::new_checked(&HELLO_V4[..]).unwrap();
        assert_eq!(packet.src_port(), 5000);
        assert_eq!(packet.dst_port(), 6000);
        assert_eq!(packet.len(), 13);
        assert!(packet.verify_checksum(&ten_pair()));
        let repr = UdpRepr::parse(&packet, &ten_pair(), ChecksumMode::Enabled).unwrap();
        assert_eq!(repr.payload, b"hello");
        assert_eq!(repr.to_string(), "UDP, length 5");
        assert_eq!(
            repr.display_with(&ten_pair()).to_string(),
            "10.0.0.1.5000 > 10.0.0.2.6000: UDP, length 5"
        );
    }

    #[test]
    fn hello_over_ipv6_parses_and_displays_like_tcpdump() {
        let packet = UdpPacket::new_checked(&HELLO_V6[..]).unwrap();
        let repr = UdpRepr::parse(&packet, &v6_pair(), ChecksumMode::Enabled).unwrap();
        assert_eq!(repr.payload, b"hello");
        assert_eq!(
            repr.display_with(&v6_pair()).to_string(),
            "2001:db8::1.5000 > 2001:db8::2.6000: UDP, length 5"
        );
    }

    #[test]
    fn emit_of_parse_gives_the_same_bytes() {
        for (bytes, addrs) in [(&HELLO_V4, ten_pair()), (&HELLO_V6, v6_pair())] {
            let packet = UdpPacket::new_checked(&bytes[..]).unwrap();
            let repr = UdpRepr::parse(&packet, &addrs, ChecksumMode::Enabled).unwrap();
            let mut out = vec![0u8; repr.buffer_len()];
            repr.emit(
                &mut UdpPacket::new_unchecked(&mut out),
                &addrs,
                ChecksumMode::Enabled,
            );
            assert_eq!(&out[..], &bytes[..]);
        }
    }

    #[test]
    fn offloaded_checksum_from_loopback_is_bad_unless_offloaded() {
        let lo = v4([127, 0, 0, 1], [127, 0, 0, 1]);
        let packet = UdpPacket::new_checked(&LOOPBACK_PARTIAL[..]).unwrap();
        assert_eq!(
            UdpRepr::parse(&packet, &lo, ChecksumMode::Enabled),
            Err(Error::BadChecksum)
        );
        let repr = UdpRepr::parse(&packet, &lo, ChecksumMode::Offloaded).unwrap();
        assert_eq!((repr.src_port, repr.dst_port), (5000, 9999));
        // The field is the uncomplemented pseudo-header sum the NIC was to finish.
        assert_eq!(lo.pseudo_header(IpProtocol::Udp, 13), 0xfe20);
    }

    #[test]
    fn zero_checksum_over_ipv4_means_none_and_is_accepted() {
        let mut bytes = HELLO_V4;
        bytes[6] = 0;
        bytes[7] = 0;
        let packet = UdpPacket::new_checked(&bytes[..]).unwrap();
        assert!(!packet.verify_checksum(&ten_pair()));
        let repr = UdpRepr::parse(&packet, &ten_pair(), ChecksumMode::Enabled).unwrap();
        assert_eq!(repr.payload, b"hello");
    }

    #[test]
    fn zero_checksum_over_ipv6_is_illegal() {
        let mut bytes = HELLO_V6;
        bytes[6] = 0;
        bytes[7] = 0;
        let packet = UdpPacket::new_checked(&bytes[..]).unwrap();
        assert_eq!(
            UdpRepr::parse(&packet, &v6_pair(), ChecksumMode::Enabled),
            Err(Error::Illegal)
        );
        assert!(UdpRepr::parse(&packet, &v6_pair(), ChecksumMode::Offloaded).is_ok());
    }

    #[test]
    fn every_flipped_bit_fails_the_checksum() {
        for bit in 0..HELLO_V4.len() * 8 {
            let mut bytes = HELLO_V4;
            bytes[bit / 8] ^= 1 << (bit % 8);
            let Ok(packet) = UdpPacket::new_checked(&bytes[..]) else {
                continue; // the length field was hit
            };
            let r = UdpRepr::parse(&packet, &ten_pair(), ChecksumMode::Enabled);
            assert!(
                r == Err(Error::BadChecksum) || r == Err(Error::Illegal),
                "bit {bit}: {r:?}"
            );
        }
        // The pseudo-header is covered too: the same bytes between other hosts fail.
        let packet = UdpPacket::new_checked(&HELLO_V4[..]).unwrap();
        let other = v4([10, 0, 0, 1], [10, 0, 0, 3]);
        assert_eq!(
            UdpRepr::parse(&packet, &other, ChecksumMode::Enabled),
            Err(Error::BadChecksum)
        );
    }

    #[test]
    fn every_truncation_is_rejected() {
        for cut in 0..HELLO_V4.len() {
            assert_eq!(
                UdpPacket::new_checked(&HELLO_V4[..cut]).unwrap_err(),
                Error::Truncated,
                "cut {cut}"
            );
        }
    }

    #[test]
    fn length_field_below_header_is_bad_length() {
        for len in 0..8u8 {
            let mut bytes = HELLO_V4;
            bytes[5] = len;
            assert_eq!(
                UdpPacket::new_checked(&bytes[..]).unwrap_err(),
                Error::BadLength
            );
        }
    }

    #[test]
    fn length_field_past_buffer_is_truncated() {
        let mut bytes = HELLO_V4;
        bytes[5] = 14;
        assert_eq!(
            UdpPacket::new_checked(&bytes[..]).unwrap_err(),
            Error::Truncated
        );
    }

    #[test]
    fn trailing_padding_past_length_is_ignored() {
        let mut bytes = HELLO_V4.to_vec();
        bytes.extend_from_slice(&[0xaa; 5]);
        let packet = UdpPacket::new_checked(&bytes[..]).unwrap();
        assert_eq!(packet.payload(), b"hello");
        let repr = UdpRepr::parse(&packet, &ten_pair(), ChecksumMode::Enabled).unwrap();
        assert_eq!(repr.payload, b"hello");
    }

    #[test]
    fn computed_zero_checksum_is_sent_as_all_ones() {
        // Choose a two-byte payload whose word cancels everything else in the sum.
        let addrs = ten_pair();
        let mut repr_bytes = [0u8; 10];
        let base = UdpRepr {
            src_port: 5000,
            dst_port: 6000,
            payload: &[0, 0],
        };
        base.emit(
            &mut UdpPacket::new_unchecked(&mut repr_bytes[..]),
            &addrs,
            ChecksumMode::Offloaded,
        );
        let rest = checksum::combine(&[
            addrs.pseudo_header(IpProtocol::Udp, 10),
            checksum::data(&repr_bytes),
        ]);
        let word = (!rest).to_be_bytes();
        let repr = UdpRepr {
            payload: &word,
            ..base
        };
        let mut out = [0u8; 10];
        let mut packet = UdpPacket::new_unchecked(&mut out[..]);
        repr.emit(&mut packet, &addrs, ChecksumMode::Enabled);
        assert_eq!(packet.checksum(), 0xffff);
        assert!(packet.verify_checksum(&addrs));
        let packet = UdpPacket::new_checked(&out[..]).unwrap();
        assert_eq!(
            UdpRepr::parse(&packet, &addrs, ChecksumMode::Enabled)
                .unwrap()
                .payload,
            &word
        );
    }

    #[test]
    fn offloaded_emit_leaves_checksum_zero() {
        let repr = UdpRepr {
            src_port: 1,
            dst_port: 2,
            payload: b"x",
        };
        let mut out = [0xffu8; 9];
        repr.emit(
            &mut UdpPacket::new_unchecked(&mut out[..]),
            &v6_pair(),
            ChecksumMode::Offloaded,
        );
        assert_eq!(&out, &[0, 1, 0, 2, 0, 9, 0, 0, b'x']);
    }

    #[test]
    fn getters_on_a_lying_length_do_not_panic() {
        let mut bytes = HELLO_V4;
        bytes[5] = 200;
        let packet = UdpPacket::new_unchecked(&bytes[..]);
        assert_eq!(packet.payload(), b"hello");
        bytes[5] = 2;
        let packet = UdpPacket::new_unchecked(&bytes[..]);
        assert_eq!(packet.payload(), b"");
        assert!(packet.is_empty());
    }

    fn arb_addrs() -> impl Strategy<Value = AddrPair> {
        prop_oneof![
            (any::<[u8; 4]>(), any::<[u8; 4]>()).prop_map(|(a, b)| v4(a, b)),
            (any::<[u8; 16]>(), any::<[u8; 16]>()).prop_map(|(a, b)| AddrPair::V6 {
                src: Ipv6Addr::from(a),
                dst: Ipv6Addr::from(b),
            }),
        ]
    }

    proptest! {
        #[test]
        fn parse_of_emit_is_identity(
            src_port: u16,
            dst_port: u16,
            payload in proptest::collection::vec(any::<u8>(), 0..300),
            addrs in arb_addrs(),
        ) {
            let repr = UdpRepr { src_port, dst_port, payload: &payload };
            let mut out = vec![0u8; repr.buffer_len()];
            repr.emit(&mut UdpPacket::new_unchecked(&mut out), &addrs, ChecksumMode::Enabled);
            let packet = UdpPacket::new_checked(&out[..]).unwrap();
            prop_assert_ne!(packet.checksum(), 0);
            prop_assert_eq!(UdpRepr::parse(&packet, &addrs, ChecksumMode::Enabled), Ok(repr));
        }

        #[test]
        fn emit_matches_etherparse(
            src_port: u16,
            dst_port: u16,
            payload in proptest::collection::vec(any::<u8>(), 0..200),
            a: [u8; 4],
            b: [u8; 4],
        ) {
            let repr = UdpRepr { src_port, dst_port, payload: &payload };
            let mut out = vec![0u8; repr.buffer_len()];
            repr.emit(&mut UdpPacket::new_unchecked(&mut out), &v4(a, b), ChecksumMode::Enabled);
            let header = etherparse::UdpHeader::with_ipv4_checksum(src_port, dst_port, &etherparse::Ipv4Header::new(
                repr.buffer_len() as u16, 64, etherparse::IpNumber::UDP, a, b).unwrap(), &payload).unwrap();
            prop_assert_eq!(&out[..8], &header.to_bytes()[..]);
        }

        #[test]
        fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..64), addrs in arb_addrs()) {
            if let Ok(packet) = UdpPacket::new_checked(&bytes[..]) {
                let _ = packet.payload();
                let _ = UdpRepr::parse(&packet, &addrs, ChecksumMode::Enabled);
                let _ = UdpRepr::parse(&packet, &addrs, ChecksumMode::Offloaded);
            }
            let unchecked = UdpPacket::new_unchecked(&bytes[..]);
            let _ = UdpRepr::parse(&unchecked, &addrs, ChecksumMode::Enabled);
        }
    }
}
