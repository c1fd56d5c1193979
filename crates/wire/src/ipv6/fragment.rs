//! The IPv6 fragment header (RFC 8200 section 4.5): the [`Ipv6FragmentHeader`] view
//! and the [`Ipv6FragmentRepr`] value.

use core::fmt;

use super::read_u16;
use crate::error::{Error, Result};
use crate::ip::IpProtocol;

//= https://www.rfc-editor.org/rfc/rfc8200#section-4.5
//# +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//# |  Next Header  |   Reserved    |      Fragment Offset    |Res|M|
//# +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//# |                         Identification                        |
//# +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// Byte ranges of the fragment header.
mod field {
    use core::ops::Range;

    pub const NXT_HDR: usize = 0;
    pub const RESERVED: usize = 1;
    pub const OFF_M: Range<usize> = 2..4;
    pub const IDENT: Range<usize> = 4..8;
}

/// Length of the fragment header.
pub const HEADER_LEN: usize = 8;

const OFFSET_MASK: u16 = 0xfff8;
const RES_MASK: u16 = 0x0006;
const M_FLAG: u16 = 0x0001;

/// A view of an IPv6 fragment header.
///
/// # Panics
///
/// Getters of a view made with [`Ipv6FragmentHeader::new_unchecked`] may panic on a
/// buffer shorter than 8 bytes; after [`Ipv6FragmentHeader::new_checked`] none does.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ipv6FragmentHeader<T: AsRef<[u8]>> {
    buffer: T,
}

impl<T: AsRef<[u8]>> Ipv6FragmentHeader<T> {
    /// Wrap a buffer that starts with the header, without checking it.
    pub fn new_unchecked(buffer: T) -> Ipv6FragmentHeader<T> {
        Ipv6FragmentHeader { buffer }
    }

    /// Wrap a buffer that starts with the header, checking it holds all 8 bytes.
    pub fn new_checked(buffer: T) -> Result<Ipv6FragmentHeader<T>> {
        let header = Self::new_unchecked(buffer);
        header.check_len()?;
        Ok(header)
    }

    /// [`Error::Truncated`] when the buffer is shorter than 8 bytes.
    pub fn check_len(&self) -> Result<()> {
        if self.buffer.as_ref().len() < HEADER_LEN {
            Err(Error::Truncated)
        } else {
            Ok(())
        }
    }

    /// The underlying buffer.
    pub fn into_inner(self) -> T {
        self.buffer
    }

    /// The type of the first header of the fragmentable part.
    #[inline]
    pub fn next_header(&self) -> IpProtocol {
        IpProtocol::from(self.buffer.as_ref()[field::NXT_HDR])
    }

    /// The offset of this fragment's data in the fragmentable part, in bytes (the
    /// field counts 8-octet units; this is a multiple of 8, at most 65528).
    //= https://www.rfc-editor.org/rfc/rfc8200#section-4.5
    //# Fragment Offset     13-bit unsigned integer.  The offset, in
    //#                     8-octet units, of the data following this
    //#                     header, relative to the start of the
    //#                     Fragmentable Part of the original packet.
    #[inline]
    pub fn frag_offset(&self) -> u16 {
        self.off_m() & OFFSET_MASK
    }

    /// The M flag: more fragments follow.
    //= https://www.rfc-editor.org/rfc/rfc8200#section-4.5
    //# M flag              1 = more fragments; 0 = last fragment.
    #[inline]
    pub fn more_frags(&self) -> bool {
        self.off_m() & M_FLAG != 0
    }

    /// The identification shared by all fragments of one original packet.
    #[inline]
    pub fn ident(&self) -> u32 {
        let d = self.buffer.as_ref();
        let at = field::IDENT.start;
        u32::from_be_bytes([d[at], d[at + 1], d[at + 2], d[at + 3]])
    }

    #[inline]
    fn off_m(&self) -> u16 {
        read_u16(self.buffer.as_ref(), field::OFF_M.start)
    }

    /// Whatever follows the header in the buffer (the fragment's data, or the
    /// extension and upper-layer headers of a first fragment).
    #[inline]
    pub fn payload(&self) -> &[u8] {
        &self.buffer.as_ref()[HEADER_LEN..]
    }
}

impl<T: AsRef<[u8]> + AsMut<[u8]>> Ipv6FragmentHeader<T> {
    /// Set the next-header field.
    #[inline]
    pub fn set_next_header(&mut self, next: IpProtocol) {
        self.buffer.as_mut()[field::NXT_HDR] = next.into();
    }

    /// Zero both reserved fields.
    //= https://www.rfc-editor.org/rfc/rfc8200#section-4.5
    //# Reserved            8-bit reserved field.  Initialized to zero for
    //#                     transmission; ignored on reception.
    #[inline]
    pub fn clear_reserved(&mut self) {
        self.buffer.as_mut()[field::RESERVED] = 0;
        let v = self.off_m() & !RES_MASK;
        self.write_off_m(v);
    }

    /// Set the fragment offset, given in bytes (a multiple of 8; the low three bits
    /// are dropped).
    #[inline]
    pub fn set_frag_offset(&mut self, offset: u16) {
        debug_assert!(
            offset % 8 == 0,
            "fragment offset {offset} is not a multiple of 8"
        );
        let v = (self.off_m() & !OFFSET_MASK) | (offset & OFFSET_MASK);
        self.write_off_m(v);
    }

    /// Set or clear the M flag.
    #[inline]
    pub fn set_more_frags(&mut self, more: bool) {
        let v = (self.off_m() & !M_FLAG) | u16::from(more);
        self.write_off_m(v);
    }

    /// Set the identification.
    #[inline]
    pub fn set_ident(&mut self, ident: u32) {
        self.buffer.as_mut()[field::IDENT].copy_from_slice(&ident.to_be_bytes());
    }

    /// Whatever follows the header, mutably.
    #[inline]
    pub fn payload_mut(&mut self) -> &mut [u8] {
        &mut self.buffer.as_mut()[HEADER_LEN..]
    }

    #[inline]
    fn write_off_m(&mut self, v: u16) {
        self.buffer.as_mut()[field::OFF_M].copy_from_slice(&v.to_be_bytes());
    }
}

/// An IPv6 fragment header as a plain value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Ipv6FragmentRepr {
    /// The type of the first header of the fragmentable part.
    pub next_header: IpProtocol,
    /// Offset of this fragment's data in bytes (a multiple of 8).
    pub frag_offset: u16,
    /// More fragments follow.
    pub more_frags: bool,
    /// Identification of the original packet.
    pub ident: u32,
}

impl Ipv6FragmentRepr {
    /// Parse a fragment header (checking its length again). The reserved bits are
    /// ignored.
    pub fn parse<T: AsRef<[u8]> + ?Sized>(
        header: &Ipv6FragmentHeader<&T>,
    ) -> Result<Ipv6FragmentRepr> {
        header.check_len()?;
        Ok(Ipv6FragmentRepr {
            next_header: header.next_header(),
            frag_offset: header.frag_offset(),
            more_frags: header.more_frags(),
            ident: header.ident(),
        })
    }

    /// The length of the header this emits: always 8.
    #[inline]
    pub fn buffer_len(&self) -> usize {
        HEADER_LEN
    }

    /// Whether this is an atomic fragment (offset 0, no more fragments): a whole
    /// packet that needs no reassembly.
    //= https://www.rfc-editor.org/rfc/rfc8200#section-4.5
    //# If the fragment is a whole datagram (that is, both the Fragment
    //# Offset field and the M flag are zero), then it does not need
    //# any further reassembly and should be processed as a fully
    //# reassembled packet
    #[inline]
    pub fn is_atomic(&self) -> bool {
        self.frag_offset == 0 && !self.more_frags
    }

    /// Write the header, reserved fields zero.
    ///
    /// # Panics
    ///
    /// When the buffer is shorter than 8 bytes. `frag_offset` must be a multiple of 8
    /// (checked in debug builds only).
    pub fn emit<T: AsRef<[u8]> + AsMut<[u8]>>(&self, header: &mut Ipv6FragmentHeader<T>) {
        header.set_next_header(self.next_header);
        header.clear_reserved();
        header.set_frag_offset(self.frag_offset);
        header.set_more_frags(self.more_frags);
        header.set_ident(self.ident);
    }
}

/// Like tcpdump's `frag (0x0000abcd:1448|...)`: identification and byte offset, then
/// `, more` when the M flag is set.
impl fmt::Display for Ipv6FragmentRepr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "frag (0x{:08x}:{}", self.ident, self.frag_offset)?;
        if self.more_frags {
            f.write_str(", more")?;
        }
        f.write_str(")")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// The fragment header of the second fragment of a UDP datagram: offset 1448
    /// (181 units), more fragments, identification 0xf88eb466.
    const SECOND: [u8; 8] = [0x11, 0x00, 0x05, 0xa9, 0xf8, 0x8e, 0xb4, 0x66];

    #[test]
    fn fields_read_correctly() {
        let h = Ipv6FragmentHeader::new_checked(&SECOND[..]).unwrap();
        assert_eq!(h.next_header(), IpProtocol::Udp);
        assert_eq!(h.frag_offset(), 1448);
        assert!(h.more_frags());
        assert_eq!(h.ident(), 0xf88e_b466);
        assert!(h.payload().is_empty());
        let repr = Ipv6FragmentRepr::parse(&h).unwrap();
        assert_eq!(
            repr,
            Ipv6FragmentRepr {
                next_header: IpProtocol::Udp,
                frag_offset: 1448,
                more_frags: true,
                ident: 0xf88e_b466
            }
        );
        assert!(!repr.is_atomic());
        assert_eq!(repr.to_string(), "frag (0xf88eb466:1448, more)");
    }

    #[test]
    fn reemits_byte_for_byte() {
        let repr = Ipv6FragmentRepr::parse(&Ipv6FragmentHeader::new_checked(&SECOND[..]).unwrap())
            .unwrap();
        let mut out = [0xffu8; 8];
        repr.emit(&mut Ipv6FragmentHeader::new_unchecked(&mut out[..]));
        assert_eq!(out, SECOND);
    }

    #[test]
    fn reserved_bits_are_ignored_on_parse_and_zeroed_on_emit() {
        let mut bytes = SECOND;
        bytes[1] = 0xff;
        bytes[3] |= 0x06;
        let h = Ipv6FragmentHeader::new_checked(&bytes[..]).unwrap();
        let repr = Ipv6FragmentRepr::parse(&h).unwrap();
        assert_eq!(repr.frag_offset, 1448);
        assert!(repr.more_frags);
        let mut out = [0u8; 8];
        repr.emit(&mut Ipv6FragmentHeader::new_unchecked(&mut out[..]));
        assert_eq!(out, SECOND);
    }

    #[test]
    fn every_truncation_is_truncated() {
        for len in 0..8 {
            assert_eq!(
                Ipv6FragmentHeader::new_checked(&SECOND[..len]).unwrap_err(),
                Error::Truncated
            );
        }
        assert_eq!(
            Ipv6FragmentRepr::parse(&Ipv6FragmentHeader::new_unchecked(&SECOND[..7])).unwrap_err(),
            Error::Truncated
        );
    }

    #[test]
    fn atomic_fragment_is_recognised_and_last_fragment_displays_without_more() {
        let atomic = Ipv6FragmentRepr {
            next_header: IpProtocol::Tcp,
            frag_offset: 0,
            more_frags: false,
            ident: 1,
        };
        assert!(atomic.is_atomic());
        assert_eq!(atomic.to_string(), "frag (0x00000001:0)");
    }

    #[test]
    fn setters_and_payload() {
        let mut buf = [0u8; 12];
        let mut h = Ipv6FragmentHeader::new_unchecked(&mut buf[..]);
        h.set_frag_offset(65528);
        h.set_more_frags(true);
        h.set_more_frags(false);
        h.payload_mut().fill(3);
        let h = Ipv6FragmentHeader::new_checked(&buf[..]).unwrap();
        assert_eq!(h.frag_offset(), 65528);
        assert!(!h.more_frags());
        assert_eq!(h.payload(), &[3, 3, 3, 3]);
        assert_eq!(h.into_inner().len(), 12);
    }

    fn arb_repr() -> impl Strategy<Value = Ipv6FragmentRepr> {
        (any::<u8>(), 0u16..=0x1fff, any::<bool>(), any::<u32>()).prop_map(
            |(nh, units, more, ident)| Ipv6FragmentRepr {
                next_header: IpProtocol::from(nh),
                frag_offset: units * 8,
                more_frags: more,
                ident,
            },
        )
    }

    proptest! {
        #[test]
        fn parse_of_emit_is_identity(repr in arb_repr()) {
            let mut buf = [0xffu8; 8];
            repr.emit(&mut Ipv6FragmentHeader::new_unchecked(&mut buf[..]));
            let h = Ipv6FragmentHeader::new_checked(&buf[..]).unwrap();
            prop_assert_eq!(Ipv6FragmentRepr::parse(&h).unwrap(), repr);
        }

        #[test]
        fn emit_of_parse_is_identity(mut bytes: [u8; 8]) {
            bytes[1] = 0;
            bytes[3] &= !0x06;
            let repr = Ipv6FragmentRepr::parse(&Ipv6FragmentHeader::new_checked(&bytes[..]).unwrap()).unwrap();
            let mut again = [0u8; 8];
            repr.emit(&mut Ipv6FragmentHeader::new_unchecked(&mut again[..]));
            prop_assert_eq!(again, bytes);
        }

        #[test]
        fn etherparse_agrees_with_emit(repr in arb_repr()) {
            let mut buf = [0u8; 8];
            repr.emit(&mut Ipv6FragmentHeader::new_unchecked(&mut buf[..]));
            let h = etherparse::Ipv6FragmentHeaderSlice::from_slice(&buf).unwrap();
            prop_assert_eq!(h.next_header().0, u8::from(repr.next_header));
            prop_assert_eq!(h.fragment_offset().value() * 8, repr.frag_offset);
            prop_assert_eq!(h.more_fragments(), repr.more_frags);
            prop_assert_eq!(h.identification(), repr.ident);
        }
    }
}
