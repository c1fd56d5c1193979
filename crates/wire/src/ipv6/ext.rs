//! IPv6 extension headers that share the `Next Header | Hdr Ext Len` layout:
//! hop-by-hop options, destination options (both carrying TLV options) and routing.
//!
//! - [`Ipv6ExtHeader`] / [`Ipv6ExtHeaderRepr`]: the generic view and value, for any of
//!   the three.
//! - [`Ipv6OptionIter`] / [`Ipv6Option`]: the TLV options inside hop-by-hop and
//!   destination-options headers.
//! - [`Ipv6RoutingHeader`]: the routing header's own fields (type, segments left).
//!
//! The fragment header has a fixed length and its own layout: see
//! [`super::fragment`].

use core::fmt;

use crate::error::{Error, Result};
use crate::ip::IpProtocol;

//= https://www.rfc-editor.org/rfc/rfc8200#section-4.3
//# +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//# |  Next Header  |  Hdr Ext Len  |                               |
//# +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+                               +
/// Byte positions shared by the hop-by-hop, routing and destination-options headers.
mod field {
    pub const NXT_HDR: usize = 0;
    pub const LENGTH: usize = 1;
    pub const DATA: usize = 2;
    pub const ROUTING_TYPE: usize = 2;
    pub const SEG_LEFT: usize = 3;
    pub const ROUTING_DATA: usize = 4;
}

//= https://www.rfc-editor.org/rfc/rfc8200#section-4
//# Each extension header is an integer multiple of 8 octets long, in
//# order to retain 8-octet alignment for subsequent headers.
/// The shortest extension header: one 8-octet unit.
pub const MIN_HEADER_LEN: usize = 8;

/// The longest extension header of this layout: `Hdr Ext Len` 255.
pub const MAX_HEADER_LEN: usize = (255 + 1) * 8;

/// The length in bytes that a `Hdr Ext Len` value describes.
//= https://www.rfc-editor.org/rfc/rfc8200#section-4.3
//# Hdr Ext Len         8-bit unsigned integer.  Length of the
//#                     Hop-by-Hop Options header in 8-octet units,
//#                     not including the first 8 octets.
#[inline]
fn len_from_field(hdr_ext_len: u8) -> usize {
    (usize::from(hdr_ext_len) + 1) * 8
}

/// The `Hdr Ext Len` value for a header of `len` bytes (a multiple of 8, 8..=2048).
#[inline]
fn field_from_len(len: usize) -> u8 {
    debug_assert!(
        len % 8 == 0 && (MIN_HEADER_LEN..=MAX_HEADER_LEN).contains(&len),
        "extension header length {len} is not 8..=2048 in steps of 8"
    );
    (len / 8).saturating_sub(1) as u8
}

/// Check that a buffer holds the whole header its `Hdr Ext Len` describes.
fn check_ext_len(data: &[u8]) -> Result<()> {
    match data.get(field::LENGTH) {
        Some(&n) if len_from_field(n) <= data.len() => Ok(()),
        _ => Err(Error::Truncated),
    }
}

/// A view of a hop-by-hop, routing or destination-options header (the layout they
/// share: next header, length, then data).
///
/// # Panics
///
/// Getters of a view made with [`Ipv6ExtHeader::new_unchecked`] may panic on a buffer
/// shorter than the header's length field says; after
/// [`Ipv6ExtHeader::new_checked`] succeeds none does.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ipv6ExtHeader<T: AsRef<[u8]>> {
    buffer: T,
}

impl<T: AsRef<[u8]>> Ipv6ExtHeader<T> {
    /// Wrap a buffer that starts with the header, without checking it.
    pub fn new_unchecked(buffer: T) -> Ipv6ExtHeader<T> {
        Ipv6ExtHeader { buffer }
    }

    /// Wrap a buffer that starts with the header, checking it holds the whole header.
    pub fn new_checked(buffer: T) -> Result<Ipv6ExtHeader<T>> {
        let header = Self::new_unchecked(buffer);
        header.check_len()?;
        Ok(header)
    }

    /// [`Error::Truncated`] when the buffer is shorter than the length the header
    /// declares (at least 8 bytes). The buffer may continue past the header.
    pub fn check_len(&self) -> Result<()> {
        check_ext_len(self.buffer.as_ref())
    }

    /// The underlying buffer.
    pub fn into_inner(self) -> T {
        self.buffer
    }

    /// The type of the header that follows.
    #[inline]
    pub fn next_header(&self) -> IpProtocol {
        IpProtocol::from(self.buffer.as_ref()[field::NXT_HDR])
    }

    /// The raw `Hdr Ext Len` field: the length in 8-octet units after the first 8.
    #[inline]
    pub fn hdr_ext_len(&self) -> u8 {
        self.buffer.as_ref()[field::LENGTH]
    }

    /// The length of the whole header in bytes: `(hdr_ext_len + 1) * 8`.
    #[inline]
    pub fn header_len(&self) -> usize {
        len_from_field(self.hdr_ext_len())
    }

    /// The header's contents after the next-header and length octets (the TLV options
    /// of a hop-by-hop or destination-options header; routing type, segments left and
    /// type-specific data of a routing header).
    #[inline]
    pub fn data(&self) -> &[u8] {
        &self.buffer.as_ref()[field::DATA..self.header_len()]
    }

    /// Whatever follows the header in the buffer.
    #[inline]
    pub fn payload(&self) -> &[u8] {
        &self.buffer.as_ref()[self.header_len()..]
    }

    /// The TLV options in [`Ipv6ExtHeader::data`]; meaningful for hop-by-hop and
    /// destination-options headers only.
    #[inline]
    pub fn options(&self) -> Ipv6OptionIter<'_> {
        Ipv6OptionIter::new(self.data())
    }

    /// Check that the TLV options tile the header exactly: the first option that would
    /// run past the end gives [`Error::BadOption`] with its type.
    pub fn check_options(&self) -> Result<()> {
        self.options().try_for_each(|o| o.map(|_| ()))
    }
}

impl<T: AsRef<[u8]> + AsMut<[u8]>> Ipv6ExtHeader<T> {
    /// Set the type of the header that follows.
    #[inline]
    pub fn set_next_header(&mut self, next: IpProtocol) {
        self.buffer.as_mut()[field::NXT_HDR] = next.into();
    }

    /// Set the header length in bytes (a multiple of 8 from 8 to 2048).
    #[inline]
    pub fn set_header_len(&mut self, len: usize) {
        self.buffer.as_mut()[field::LENGTH] = field_from_len(len);
    }

    /// The header's contents after the first two octets, mutably.
    #[inline]
    pub fn data_mut(&mut self) -> &mut [u8] {
        let end = self.header_len();
        &mut self.buffer.as_mut()[field::DATA..end]
    }

    /// Whatever follows the header in the buffer, mutably.
    #[inline]
    pub fn payload_mut(&mut self) -> &mut [u8] {
        let start = self.header_len();
        &mut self.buffer.as_mut()[start..]
    }
}

/// A hop-by-hop, routing or destination-options header as a value: what follows it
/// and its contents after the first two octets.
///
/// `data.len() + 2` must be a multiple of 8 (from 8 to 2048) for [`Self::emit`];
/// [`Self::parse`] always yields such a value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Ipv6ExtHeaderRepr<'a> {
    /// The type of the header that follows.
    pub next_header: IpProtocol,
    /// The contents after the next-header and length octets.
    pub data: &'a [u8],
}

impl<'a> Ipv6ExtHeaderRepr<'a> {
    /// Parse a header (checking its length again). The TLV options are not checked
    /// here: the header's kind decides whether there are any; see
    /// [`Ipv6ExtHeader::check_options`].
    pub fn parse<T: AsRef<[u8]> + ?Sized>(
        header: &Ipv6ExtHeader<&'a T>,
    ) -> Result<Ipv6ExtHeaderRepr<'a>> {
        header.check_len()?;
        let bytes: &'a [u8] = header.buffer.as_ref();
        let data = bytes
            .get(field::DATA..header.header_len())
            .ok_or(Error::Truncated)?;
        Ok(Ipv6ExtHeaderRepr {
            next_header: header.next_header(),
            data,
        })
    }

    /// The length of the header this emits: `data.len() + 2`.
    #[inline]
    pub fn buffer_len(&self) -> usize {
        field::DATA + self.data.len()
    }

    /// The TLV options in `data` (hop-by-hop and destination options only).
    #[inline]
    pub fn options(&self) -> Ipv6OptionIter<'a> {
        Ipv6OptionIter::new(self.data)
    }

    /// Write the header.
    ///
    /// # Panics
    ///
    /// When the buffer is shorter than [`Self::buffer_len`]. `buffer_len()` must be a
    /// multiple of 8 from 8 to 2048 (checked in debug builds only).
    pub fn emit<T: AsRef<[u8]> + AsMut<[u8]>>(&self, header: &mut Ipv6ExtHeader<T>) {
        header.set_next_header(self.next_header);
        header.set_header_len(self.buffer_len());
        header.data_mut().copy_from_slice(self.data);
    }
}

impl fmt::Display for Ipv6ExtHeaderRepr<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "ext (len {}, next-header {})",
            self.buffer_len(),
            self.next_header
        )
    }
}

/// One TLV option of a hop-by-hop or destination-options header.
//= https://www.rfc-editor.org/rfc/rfc8200#section-4.2
//# +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+- - - - - - - - -
//# |  Option Type  |  Opt Data Len |  Option Data
//# +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+- - - - - - - - -
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Ipv6Option<'a> {
    /// Pad1 (type 0): one octet of padding, with no length or data.
    //= https://www.rfc-editor.org/rfc/rfc8200#section-4.2
    //# NOTE! the format of the Pad1 option is a special case -- it does
    //#       not have length and value fields.
    Pad1,
    /// PadN (type 1) with this many octets of option data (`N - 2`). The padding's
    /// contents are not checked.
    PadN(u8),
    /// Any other option: its full type octet and its data.
    Other {
        /// The option type, action and may-change bits included.
        kind: u8,
        /// The option data.
        data: &'a [u8],
    },
}

impl Ipv6Option<'_> {
    /// The option type octet.
    pub fn kind(&self) -> u8 {
        match *self {
            Ipv6Option::Pad1 => 0,
            Ipv6Option::PadN(_) => 1,
            Ipv6Option::Other { kind, .. } => kind,
        }
    }

    /// The octets this option occupies.
    pub fn buffer_len(&self) -> usize {
        match *self {
            Ipv6Option::Pad1 => 1,
            Ipv6Option::PadN(n) => 2 + usize::from(n),
            Ipv6Option::Other { data, .. } => 2 + data.len(),
        }
    }

    /// Write the option at the start of `buf` (PadN data is zero, as RFC 8200
    /// requires).
    ///
    /// # Panics
    ///
    /// When `buf` is shorter than [`Self::buffer_len`], or an `Other` option's data is
    /// longer than 255 octets.
    pub fn emit(&self, buf: &mut [u8]) {
        match *self {
            Ipv6Option::Pad1 => buf[0] = 0,
            Ipv6Option::PadN(n) => {
                buf[0] = 1;
                buf[1] = n;
                buf[2..2 + usize::from(n)].fill(0);
            }
            Ipv6Option::Other { kind, data } => {
                assert!(data.len() <= 255, "IPv6 option data longer than 255");
                buf[0] = kind;
                buf[1] = data.len() as u8;
                buf[2..2 + data.len()].copy_from_slice(data);
            }
        }
    }
}

/// What a node that does not recognise an option type must do, from the type's two
/// high-order bits.
//= https://www.rfc-editor.org/rfc/rfc8200#section-4.2
//# The Option Type identifiers are internally encoded such that their
//# highest-order 2 bits specify the action that must be taken if the
//# processing IPv6 node does not recognize the Option Type:
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Ipv6OptionAction {
    /// 00: skip the option and continue with the header.
    Skip,
    /// 01: discard the packet.
    Discard,
    /// 10: discard and send ICMP Parameter Problem, code 2, whatever the destination.
    DiscardAndReport,
    /// 11: discard and send ICMP Parameter Problem, code 2, unless the destination was
    /// a multicast address.
    DiscardAndReportUnlessMulticast,
}

impl Ipv6OptionAction {
    /// The action encoded in an option type.
    pub fn of(kind: u8) -> Ipv6OptionAction {
        match kind >> 6 {
            0b00 => Ipv6OptionAction::Skip,
            0b01 => Ipv6OptionAction::Discard,
            0b10 => Ipv6OptionAction::DiscardAndReport,
            _ => Ipv6OptionAction::DiscardAndReportUnlessMulticast,
        }
    }
}

/// An iterator over the TLV options of a hop-by-hop or destination-options header.
///
/// Yields `Err(Error::BadOption { kind })` for an option whose length octet is missing
/// or whose data runs past the end of the header, and then stops.
#[derive(Debug, Clone)]
pub struct Ipv6OptionIter<'a> {
    data: &'a [u8],
    pos: usize,
    failed: bool,
}

impl<'a> Ipv6OptionIter<'a> {
    /// Iterate over the options in `data` (a header's contents after its first two
    /// octets).
    pub fn new(data: &'a [u8]) -> Ipv6OptionIter<'a> {
        Ipv6OptionIter {
            data,
            pos: 0,
            failed: false,
        }
    }

    /// The offset in `data` of the next option to be read (e.g. for an ICMP
    /// Parameter Problem pointer: add 2 and the header's own offset).
    pub fn position(&self) -> usize {
        self.pos
    }
}

impl<'a> Iterator for Ipv6OptionIter<'a> {
    type Item = Result<Ipv6Option<'a>>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.failed {
            return None;
        }
        let kind = *self.data.get(self.pos)?;
        if kind == 0 {
            self.pos += 1;
            return Some(Ok(Ipv6Option::Pad1));
        }
        //= https://www.rfc-editor.org/rfc/rfc8200#section-4.2
        //# Opt Data Len        8-bit unsigned integer.  Length of the Option
        //#                     Data field of this option, in octets.
        let Some(&len) = self.data.get(self.pos + 1) else {
            self.failed = true;
            return Some(Err(Error::BadOption { kind }));
        };
        let start = self.pos + 2;
        let end = start + usize::from(len);
        let Some(data) = self.data.get(start..end) else {
            self.failed = true;
            return Some(Err(Error::BadOption { kind }));
        };
        self.pos = end;
        Some(Ok(match kind {
            1 => Ipv6Option::PadN(len),
            _ => Ipv6Option::Other { kind, data },
        }))
    }
}

impl core::iter::FusedIterator for Ipv6OptionIter<'_> {}

/// A view of a routing header: the generic layout plus routing type and segments left.
///
/// # Panics
///
/// As for [`Ipv6ExtHeader`]: getters of an unchecked view may panic on a short
/// buffer; after [`Ipv6RoutingHeader::new_checked`] none does.
//= https://www.rfc-editor.org/rfc/rfc8200#section-4.4
//# +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//# |  Next Header  |  Hdr Ext Len  |  Routing Type | Segments Left |
//# +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ipv6RoutingHeader<T: AsRef<[u8]>> {
    buffer: T,
}

impl<T: AsRef<[u8]>> Ipv6RoutingHeader<T> {
    /// Wrap a buffer that starts with the header, without checking it.
    pub fn new_unchecked(buffer: T) -> Ipv6RoutingHeader<T> {
        Ipv6RoutingHeader { buffer }
    }

    /// Wrap a buffer that starts with the header, checking it holds the whole header.
    pub fn new_checked(buffer: T) -> Result<Ipv6RoutingHeader<T>> {
        let header = Self::new_unchecked(buffer);
        header.check_len()?;
        Ok(header)
    }

    /// [`Error::Truncated`] when the buffer is shorter than the declared length.
    pub fn check_len(&self) -> Result<()> {
        check_ext_len(self.buffer.as_ref())
    }

    /// The underlying buffer.
    pub fn into_inner(self) -> T {
        self.buffer
    }

    /// The type of the header that follows.
    #[inline]
    pub fn next_header(&self) -> IpProtocol {
        IpProtocol::from(self.buffer.as_ref()[field::NXT_HDR])
    }

    /// The length of the whole header in bytes.
    #[inline]
    pub fn header_len(&self) -> usize {
        len_from_field(self.buffer.as_ref()[field::LENGTH])
    }

    /// The routing type (e.g. 2 for Mobile IPv6, 4 for segment routing).
    #[inline]
    pub fn routing_type(&self) -> u8 {
        self.buffer.as_ref()[field::ROUTING_TYPE]
    }

    /// The number of listed nodes still to be visited.
    //= https://www.rfc-editor.org/rfc/rfc8200#section-4.4
    //# If Segments Left is non-zero, the node must discard the packet and
    //# send an ICMP Parameter Problem, Code 0, message to the packet's
    //# Source Address, pointing to the unrecognized Routing Type.
    #[inline]
    pub fn segments_left(&self) -> u8 {
        self.buffer.as_ref()[field::SEG_LEFT]
    }

    /// The type-specific data after the first four octets.
    #[inline]
    pub fn data(&self) -> &[u8] {
        &self.buffer.as_ref()[field::ROUTING_DATA..self.header_len()]
    }

    /// Whatever follows the header in the buffer.
    #[inline]
    pub fn payload(&self) -> &[u8] {
        &self.buffer.as_ref()[self.header_len()..]
    }
}

impl<T: AsRef<[u8]> + AsMut<[u8]>> Ipv6RoutingHeader<T> {
    /// Set the type of the header that follows.
    #[inline]
    pub fn set_next_header(&mut self, next: IpProtocol) {
        self.buffer.as_mut()[field::NXT_HDR] = next.into();
    }

    /// Set the header length in bytes (a multiple of 8 from 8 to 2048).
    #[inline]
    pub fn set_header_len(&mut self, len: usize) {
        self.buffer.as_mut()[field::LENGTH] = field_from_len(len);
    }

    /// Set the routing type.
    #[inline]
    pub fn set_routing_type(&mut self, value: u8) {
        self.buffer.as_mut()[field::ROUTING_TYPE] = value;
    }

    /// Set segments left.
    #[inline]
    pub fn set_segments_left(&mut self, value: u8) {
        self.buffer.as_mut()[field::SEG_LEFT] = value;
    }

    /// The type-specific data, mutably.
    #[inline]
    pub fn data_mut(&mut self) -> &mut [u8] {
        let end = self.header_len();
        &mut self.buffer.as_mut()[field::ROUTING_DATA..end]
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// The hop-by-hop header Linux puts on MLDv2 reports: next header ICMPv6, length
    /// 8, Router Alert (type 5, value 0 = MLD), then PadN with no data.
    const HBH_ROUTER_ALERT: [u8; 8] = [0x3a, 0x00, 0x05, 0x02, 0x00, 0x00, 0x01, 0x00];

    /// A segment-routing header (type 4) with one segment, 2001:db8::99, segments left
    /// 1, followed by TCP.
    const SRH: [u8; 24] = [
        0x06, 0x02, 0x04, 0x01, 0x00, 0x00, 0x00, 0x00, // nh TCP, len 24, type 4, left 1
        0x20, 0x01, 0x0d, 0xb8, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
        0x99,
    ];

    #[test]
    fn router_alert_header_reads_correctly() {
        let h = Ipv6ExtHeader::new_checked(&HBH_ROUTER_ALERT[..]).unwrap();
        assert_eq!(h.next_header(), IpProtocol::Icmpv6);
        assert_eq!(h.hdr_ext_len(), 0);
        assert_eq!(h.header_len(), 8);
        assert_eq!(h.data(), &HBH_ROUTER_ALERT[2..]);
        assert!(h.payload().is_empty());
        let options: Vec<_> = h.options().collect::<Result<_>>().unwrap();
        assert_eq!(
            options,
            [
                Ipv6Option::Other {
                    kind: 5,
                    data: &[0, 0]
                },
                Ipv6Option::PadN(0)
            ]
        );
        assert!(h.check_options().is_ok());
    }

    #[test]
    fn router_alert_header_reemits_byte_for_byte() {
        let repr =
            Ipv6ExtHeaderRepr::parse(&Ipv6ExtHeader::new_checked(&HBH_ROUTER_ALERT[..]).unwrap())
                .unwrap();
        assert_eq!(repr.buffer_len(), 8);
        let mut out = [0xffu8; 8];
        repr.emit(&mut Ipv6ExtHeader::new_unchecked(&mut out[..]));
        assert_eq!(out, HBH_ROUTER_ALERT);
        assert_eq!(repr.to_string(), "ext (len 8, next-header icmp6)");
    }

    #[test]
    fn options_emit_to_the_same_bytes() {
        let mut out = [0xffu8; 8];
        let mut at = 0;
        for o in [
            Ipv6Option::Other {
                kind: 5,
                data: &[0, 0],
            },
            Ipv6Option::PadN(0),
            Ipv6Option::Pad1,
            Ipv6Option::Pad1,
        ] {
            o.emit(&mut out[at..]);
            at += o.buffer_len();
        }
        assert_eq!(out, [0x05, 0x02, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00]);
        let mut padn = [0xffu8; 4];
        Ipv6Option::PadN(2).emit(&mut padn);
        assert_eq!(padn, [1, 2, 0, 0]);
    }

    #[test]
    fn every_truncation_of_a_header_is_truncated() {
        for len in 0..SRH.len() {
            assert_eq!(
                Ipv6ExtHeader::new_checked(&SRH[..len]).unwrap_err(),
                Error::Truncated,
                "length {len}"
            );
            assert_eq!(
                Ipv6RoutingHeader::new_checked(&SRH[..len]).unwrap_err(),
                Error::Truncated,
                "length {len}"
            );
        }
    }

    #[test]
    fn parse_rechecks_lengths_of_unchecked_views() {
        let h = Ipv6ExtHeader::new_unchecked(&SRH[..16]);
        assert_eq!(Ipv6ExtHeaderRepr::parse(&h).unwrap_err(), Error::Truncated);
    }

    #[test]
    fn routing_header_fields_read_correctly() {
        let mut buf = [0u8; 30];
        buf[..24].copy_from_slice(&SRH);
        let r = Ipv6RoutingHeader::new_checked(&buf[..]).unwrap();
        assert_eq!(r.next_header(), IpProtocol::Tcp);
        assert_eq!(r.header_len(), 24);
        assert_eq!(r.routing_type(), 4);
        assert_eq!(r.segments_left(), 1);
        assert_eq!(r.data(), &SRH[4..]);
        assert_eq!(r.payload().len(), 6);
        assert_eq!(r.into_inner().len(), 30);
    }

    #[test]
    fn routing_header_setters_round_trip() {
        let mut buf = [0u8; 24];
        let mut r = Ipv6RoutingHeader::new_unchecked(&mut buf[..]);
        r.set_next_header(IpProtocol::Tcp);
        r.set_header_len(24);
        r.set_routing_type(4);
        r.set_segments_left(1);
        r.data_mut().copy_from_slice(&SRH[4..]);
        assert_eq!(buf, SRH);
    }

    #[test]
    fn option_overrunning_the_header_is_bad_option() {
        // PadN claiming 5 data octets where 4 remain.
        let h = [0x06, 0x00, 0x01, 0x05, 0x00, 0x00, 0x00, 0x00];
        let h = Ipv6ExtHeader::new_checked(&h[..]).unwrap();
        assert_eq!(h.check_options(), Err(Error::BadOption { kind: 1 }));
        // An unknown option whose data runs one octet past the end.
        let h = [0x06, 0x00, 0x00, 0x1e, 0x04, 0x00, 0x00, 0x00];
        let h = Ipv6ExtHeader::new_checked(&h[..]).unwrap();
        assert_eq!(h.check_options(), Err(Error::BadOption { kind: 0x1e }));
        // An option type in the very last octet, with no room for its length.
        let h = [0x06, 0x00, 0x01, 0x03, 0x00, 0x00, 0x00, 0xc2];
        let h = Ipv6ExtHeader::new_checked(&h[..]).unwrap();
        let mut it = h.options();
        assert_eq!(it.next(), Some(Ok(Ipv6Option::PadN(3))));
        assert_eq!(it.position(), 5);
        assert_eq!(it.next(), Some(Err(Error::BadOption { kind: 0xc2 })));
        assert_eq!(it.next(), None, "the iterator stops after an error");
    }

    #[test]
    fn option_filling_the_header_exactly_is_fine() {
        let h = [0x06, 0x00, 0x1e, 0x04, 0xaa, 0xbb, 0xcc, 0xdd];
        let h = Ipv6ExtHeader::new_checked(&h[..]).unwrap();
        assert!(h.check_options().is_ok());
        let all_pad1 = [0x06, 0x00, 0, 0, 0, 0, 0, 0];
        let h = Ipv6ExtHeader::new_checked(&all_pad1[..]).unwrap();
        assert_eq!(h.options().count(), 6);
    }

    #[test]
    fn option_action_comes_from_the_high_bits() {
        assert_eq!(Ipv6OptionAction::of(0x05), Ipv6OptionAction::Skip);
        assert_eq!(Ipv6OptionAction::of(0x5e), Ipv6OptionAction::Discard);
        assert_eq!(
            Ipv6OptionAction::of(0x8e),
            Ipv6OptionAction::DiscardAndReport
        );
        // The jumbo payload option, 0xC2.
        assert_eq!(
            Ipv6OptionAction::of(0xc2),
            Ipv6OptionAction::DiscardAndReportUnlessMulticast
        );
        assert_eq!(Ipv6Option::Pad1.kind(), 0);
        assert_eq!(Ipv6Option::PadN(4).kind(), 1);
    }

    #[test]
    fn setters_and_payload_of_generic_view() {
        let mut buf = [0u8; 20];
        let mut h = Ipv6ExtHeader::new_unchecked(&mut buf[..]);
        h.set_next_header(IpProtocol::Udp);
        h.set_header_len(16);
        h.data_mut().fill(0);
        h.payload_mut().fill(9);
        let h = Ipv6ExtHeader::new_checked(&buf[..]).unwrap();
        assert_eq!(h.hdr_ext_len(), 1);
        assert_eq!(h.data().len(), 14);
        assert_eq!(h.payload(), &[9, 9, 9, 9]);
        assert_eq!(h.into_inner().len(), 20);
    }

    /// An option as owned values, for generating [`Ipv6Option`]s (which borrow).
    #[derive(Debug, Clone)]
    enum OptionGen {
        Pad1,
        PadN(u8),
        Other(u8, Vec<u8>),
    }

    impl OptionGen {
        fn option(&self) -> Ipv6Option<'_> {
            match self {
                OptionGen::Pad1 => Ipv6Option::Pad1,
                OptionGen::PadN(n) => Ipv6Option::PadN(*n),
                OptionGen::Other(kind, data) => Ipv6Option::Other { kind: *kind, data },
            }
        }
    }

    fn arb_option() -> impl Strategy<Value = OptionGen> {
        prop_oneof![
            Just(OptionGen::Pad1),
            any::<u8>().prop_map(OptionGen::PadN),
            (2u8..=255, proptest::collection::vec(any::<u8>(), 0..=255))
                .prop_map(|(k, d)| OptionGen::Other(k, d)),
        ]
    }

    fn arb_data() -> impl Strategy<Value = Vec<u8>> {
        (0usize..=255).prop_flat_map(|units| proptest::collection::vec(any::<u8>(), units * 8 + 6))
    }

    proptest! {
        #[test]
        fn parse_of_emit_is_identity(nh: u8, data in arb_data()) {
            let repr = Ipv6ExtHeaderRepr { next_header: IpProtocol::from(nh), data: &data };
            let mut buf = vec![0u8; repr.buffer_len()];
            repr.emit(&mut Ipv6ExtHeader::new_unchecked(&mut buf[..]));
            let h = Ipv6ExtHeader::new_checked(&buf[..]).unwrap();
            prop_assert_eq!(h.header_len(), repr.buffer_len());
            prop_assert_eq!(Ipv6ExtHeaderRepr::parse(&h).unwrap(), repr);
        }

        #[test]
        fn emit_of_parse_is_identity(bytes in arb_data(), nh: u8) {
            let mut bytes = bytes;
            bytes.splice(0..0, [nh, 0]);
            bytes[1] = (bytes.len() / 8 - 1) as u8;
            let repr = Ipv6ExtHeaderRepr::parse(&Ipv6ExtHeader::new_checked(&bytes[..]).unwrap()).unwrap();
            let mut again = vec![0u8; repr.buffer_len()];
            repr.emit(&mut Ipv6ExtHeader::new_unchecked(&mut again[..]));
            prop_assert_eq!(again, bytes);
        }

        #[test]
        fn option_parse_of_emit_is_identity_and_every_truncation_is_bad_option(
            g in arb_option(),
        ) {
            let option = g.option();
            let mut buf = vec![0xa5u8; option.buffer_len()];
            option.emit(&mut buf);
            let mut iter = Ipv6OptionIter::new(&buf);
            prop_assert_eq!(iter.next(), Some(Ok(option)));
            prop_assert_eq!(iter.position(), buf.len());
            prop_assert_eq!(iter.next(), None);
            // A cut after the type octet fails with the option's type.
            for cut in 1..buf.len() {
                let got: Vec<_> = Ipv6OptionIter::new(&buf[..cut]).collect();
                prop_assert_eq!(got, vec![Err(Error::BadOption { kind: option.kind() })]);
            }
        }

        #[test]
        fn option_lists_parse_back_in_order(gens in proptest::collection::vec(arb_option(), 0..8)) {
            let options: Vec<Ipv6Option<'_>> = gens.iter().map(OptionGen::option).collect();
            let mut buf = vec![0u8; options.iter().map(Ipv6Option::buffer_len).sum()];
            let mut at = 0;
            for o in &options {
                o.emit(&mut buf[at..]);
                at += o.buffer_len();
            }
            let got: Vec<_> = Ipv6OptionIter::new(&buf).collect();
            prop_assert_eq!(got, options.into_iter().map(Ok).collect::<Vec<_>>());
        }

        #[test]
        fn option_iteration_never_panics_and_tiles_or_fails(data in proptest::collection::vec(any::<u8>(), 0..64)) {
            let mut used = 0;
            let mut failed = false;
            for o in Ipv6OptionIter::new(&data) {
                match o {
                    Ok(o) => used += o.buffer_len(),
                    Err(Error::BadOption { .. }) => failed = true,
                    Err(e) => prop_assert!(false, "unexpected {e:?}"),
                }
            }
            prop_assert!(failed || used == data.len());
        }

        #[test]
        fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..64)) {
            if let Ok(h) = Ipv6ExtHeader::new_checked(&bytes[..]) {
                let _ = (h.next_header(), h.header_len(), h.data(), h.payload(), h.check_options());
                let _ = Ipv6ExtHeaderRepr::parse(&h).map(|r| r.to_string());
            }
            if let Ok(r) = Ipv6RoutingHeader::new_checked(&bytes[..]) {
                let _ = (r.next_header(), r.routing_type(), r.segments_left(), r.data(), r.payload());
            }
        }
    }
}
