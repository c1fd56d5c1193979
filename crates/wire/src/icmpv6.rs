//! ICMP for IPv6 (RFC 4443): the message header, its checksum over the IPv6
//! pseudo-header, and a `Repr` that names the messages a host acts on.
//!
//! ```text
//!  0                   1                   2                   3
//!  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |     Type      |     Code      |          Checksum             |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |      rest of header (identifier and sequence number, MTU,     |
//! |      pointer, or unused)                                      |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |     Data (echo data, the invoking packet, NDP fields) ...
//! ```
//!
//! A message is the whole upper-layer payload it arrives in (ICMPv6 has no length
//! field), so a packet view must be given exactly that slice. Neighbor discovery and
//! MLD messages parse as [`Icmpv6Repr::Other`]; the stack reads their fields from
//! `rest_of_header` and `data`.

use core::fmt;
use core::net::Ipv6Addr;

use crate::checksum;
use crate::error::{Error, Result};
use crate::ip::{AddrPair, ChecksumMode, IpProtocol};
use crate::quoted::{quoted_ipv6, Quoted};

mod field {
    use core::ops::Range;

    pub const TYPE: usize = 0;
    pub const CODE: usize = 1;
    pub const CHECKSUM: Range<usize> = 2..4;
    pub const REST: Range<usize> = 4..8;
    pub const ECHO_IDENT: Range<usize> = 4..6;
    pub const ECHO_SEQ_NO: Range<usize> = 6..8;
    pub const DATA: usize = 8;
}

/// The length of the ICMPv6 header (type, code, checksum and the 4-byte rest of header).
pub const HEADER_LEN: usize = field::DATA;

/// The most of the invoking packet an error message may quote: what keeps the whole
/// packet (40-byte IPv6 header, 8-byte ICMPv6 header, quote) within the 1280-byte
/// minimum IPv6 MTU.
//= https://www.rfc-editor.org/rfc/rfc4443#section-2.4
//# (c) Every ICMPv6 error message (type < 128) MUST include as much of
//#     the IPv6 offending (invoking) packet (the packet that caused the
//#     error) as possible without making the error message packet exceed
//#     the minimum IPv6 MTU [IPv6].
pub const MAX_ERROR_DATA_LEN: usize = 1280 - 40 - HEADER_LEN;

/// An ICMPv6 message type.
//= https://www.rfc-editor.org/rfc/rfc4443#section-2.1
//# Error messages are identified as such by a
//# zero in the high-order bit of their message Type field values.  Thus,
//# error messages have message types from 0 to 127; informational
//# messages have message types from 128 to 255.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Icmpv6Message {
    /// Destination unreachable (1).
    DstUnreachable,
    /// Packet too big (2).
    PktTooBig,
    /// Time exceeded (3).
    TimeExceeded,
    /// Parameter problem (4).
    ParamProblem,
    /// Echo request (128).
    EchoRequest,
    /// Echo reply (129).
    EchoReply,
    /// Multicast listener query (130), RFC 2710.
    MldQuery,
    /// Multicast listener report (131), RFC 2710.
    MldReport,
    /// Multicast listener done (132), RFC 2710.
    MldDone,
    /// Router solicitation (133), RFC 4861.
    RouterSolicit,
    /// Router advertisement (134), RFC 4861.
    RouterAdvert,
    /// Neighbor solicitation (135), RFC 4861.
    NeighborSolicit,
    /// Neighbor advertisement (136), RFC 4861.
    NeighborAdvert,
    /// Redirect (137), RFC 4861.
    Redirect,
    /// Version 2 multicast listener report (143), RFC 3810.
    MldReportV2,
    /// Any other type.
    Unknown(u8),
}

impl From<u8> for Icmpv6Message {
    fn from(v: u8) -> Self {
        match v {
            1 => Icmpv6Message::DstUnreachable,
            2 => Icmpv6Message::PktTooBig,
            3 => Icmpv6Message::TimeExceeded,
            4 => Icmpv6Message::ParamProblem,
            128 => Icmpv6Message::EchoRequest,
            129 => Icmpv6Message::EchoReply,
            130 => Icmpv6Message::MldQuery,
            131 => Icmpv6Message::MldReport,
            132 => Icmpv6Message::MldDone,
            133 => Icmpv6Message::RouterSolicit,
            134 => Icmpv6Message::RouterAdvert,
            135 => Icmpv6Message::NeighborSolicit,
            136 => Icmpv6Message::NeighborAdvert,
            137 => Icmpv6Message::Redirect,
            143 => Icmpv6Message::MldReportV2,
            other => Icmpv6Message::Unknown(other),
        }
    }
}

impl From<Icmpv6Message> for u8 {
    fn from(m: Icmpv6Message) -> u8 {
        match m {
            Icmpv6Message::DstUnreachable => 1,
            Icmpv6Message::PktTooBig => 2,
            Icmpv6Message::TimeExceeded => 3,
            Icmpv6Message::ParamProblem => 4,
            Icmpv6Message::EchoRequest => 128,
            Icmpv6Message::EchoReply => 129,
            Icmpv6Message::MldQuery => 130,
            Icmpv6Message::MldReport => 131,
            Icmpv6Message::MldDone => 132,
            Icmpv6Message::RouterSolicit => 133,
            Icmpv6Message::RouterAdvert => 134,
            Icmpv6Message::NeighborSolicit => 135,
            Icmpv6Message::NeighborAdvert => 136,
            Icmpv6Message::Redirect => 137,
            Icmpv6Message::MldReportV2 => 143,
            Icmpv6Message::Unknown(v) => v,
        }
    }
}

impl Icmpv6Message {
    /// Whether this is an error message type (0 to 127), which quotes the invoking
    /// packet.
    pub fn is_error(self) -> bool {
        u8::from(self) & 0x80 == 0
    }

    /// The name tcpdump gives the type, if it has one (also used by [`crate::dump`]).
    pub(crate) fn name(self) -> Option<&'static str> {
        Some(match u8::from(self) {
            1 => "destination unreachable",
            2 => "packet too big",
            3 => "time exceeded in-transit",
            4 => "parameter problem",
            128 => "echo request",
            129 => "echo reply",
            130 => "multicast listener query",
            131 => "multicast listener report",
            132 => "multicast listener done",
            133 => "router solicitation",
            134 => "router advertisement",
            135 => "neighbor solicitation",
            136 => "neighbor advertisement",
            137 => "redirect",
            138 => "router renumbering",
            139 => "who-are-you request",
            140 => "who-are-you reply",
            141 => "inverse neighbor solicitation",
            142 => "inverse neighbor advertisement",
            143 => "multicast listener report v2",
            144 => "ha discovery request",
            145 => "ha discovery reply",
            146 => "mobile router solicitation",
            147 => "mobile router advertisement",
            155 => "RPL",
            200 => "mtrace response",
            201 => "mtrace message",
            _ => return None,
        })
    }
}

/// Why a destination was unreachable: the code of a type 1 message.
//= https://www.rfc-editor.org/rfc/rfc4443#section-3.1
//# Code           0 - No route to destination
//#                1 - Communication with destination
//#                      administratively prohibited
//#                2 - Beyond scope of source address
//#                3 - Address unreachable
//#                4 - Port unreachable
//#                5 - Source address failed ingress/egress policy
//#                6 - Reject route to destination
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Icmpv6DstUnreachable {
    /// 0: no route to destination.
    NoRoute,
    /// 1: communication with destination administratively prohibited.
    AdminProhibit,
    /// 2: beyond scope of source address.
    BeyondScope,
    /// 3: address unreachable.
    AddrUnreachable,
    /// 4: port unreachable.
    PortUnreachable,
    /// 5: source address failed ingress/egress policy.
    FailedPolicy,
    /// 6: reject route to destination.
    RejectRoute,
    /// Any other code.
    Other(u8),
}

impl From<u8> for Icmpv6DstUnreachable {
    fn from(v: u8) -> Self {
        use Icmpv6DstUnreachable::*;
        match v {
            0 => NoRoute,
            1 => AdminProhibit,
            2 => BeyondScope,
            3 => AddrUnreachable,
            4 => PortUnreachable,
            5 => FailedPolicy,
            6 => RejectRoute,
            other => Other(other),
        }
    }
}

impl From<Icmpv6DstUnreachable> for u8 {
    fn from(c: Icmpv6DstUnreachable) -> u8 {
        use Icmpv6DstUnreachable::*;
        match c {
            NoRoute => 0,
            AdminProhibit => 1,
            BeyondScope => 2,
            AddrUnreachable => 3,
            PortUnreachable => 4,
            FailedPolicy => 5,
            RejectRoute => 6,
            Other(v) => v,
        }
    }
}

/// Why a packet's time ran out: the code of a type 3 message.
//= https://www.rfc-editor.org/rfc/rfc4443#section-3.3
//# Code           0 - Hop limit exceeded in transit
//#                1 - Fragment reassembly time exceeded
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Icmpv6TimeExceeded {
    /// 0: hop limit exceeded in transit.
    HopLimitExceeded,
    /// 1: fragment reassembly time exceeded.
    FragReassembly,
    /// Any other code.
    Other(u8),
}

impl From<u8> for Icmpv6TimeExceeded {
    fn from(v: u8) -> Self {
        match v {
            0 => Icmpv6TimeExceeded::HopLimitExceeded,
            1 => Icmpv6TimeExceeded::FragReassembly,
            other => Icmpv6TimeExceeded::Other(other),
        }
    }
}

impl From<Icmpv6TimeExceeded> for u8 {
    fn from(c: Icmpv6TimeExceeded) -> u8 {
        match c {
            Icmpv6TimeExceeded::HopLimitExceeded => 0,
            Icmpv6TimeExceeded::FragReassembly => 1,
            Icmpv6TimeExceeded::Other(v) => v,
        }
    }
}

/// What was wrong with a header: the code of a type 4 message.
//= https://www.rfc-editor.org/rfc/rfc4443#section-3.4
//# Code           0 - Erroneous header field encountered
//#                1 - Unrecognized Next Header type encountered
//#                2 - Unrecognized IPv6 option encountered
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Icmpv6ParamProblem {
    /// 0: erroneous header field encountered.
    ErroneousHeaderField,
    /// 1: unrecognized Next Header type encountered.
    UnrecognizedNextHeader,
    /// 2: unrecognized IPv6 option encountered.
    UnrecognizedOption,
    /// 3: the first fragment has an incomplete header chain (RFC 7112).
    IncompleteHeaderChain,
    /// Any other code.
    Other(u8),
}

impl From<u8> for Icmpv6ParamProblem {
    fn from(v: u8) -> Self {
        match v {
            0 => Icmpv6ParamProblem::ErroneousHeaderField,
            1 => Icmpv6ParamProblem::UnrecognizedNextHeader,
            2 => Icmpv6ParamProblem::UnrecognizedOption,
            3 => Icmpv6ParamProblem::IncompleteHeaderChain,
            other => Icmpv6ParamProblem::Other(other),
        }
    }
}

impl From<Icmpv6ParamProblem> for u8 {
    fn from(c: Icmpv6ParamProblem) -> u8 {
        match c {
            Icmpv6ParamProblem::ErroneousHeaderField => 0,
            Icmpv6ParamProblem::UnrecognizedNextHeader => 1,
            Icmpv6ParamProblem::UnrecognizedOption => 2,
            Icmpv6ParamProblem::IncompleteHeaderChain => 3,
            Icmpv6ParamProblem::Other(v) => v,
        }
    }
}

/// A zero-copy view of an ICMPv6 message.
///
/// Getters on a view made with [`Icmpv6Packet::new_unchecked`] panic if the buffer is
/// shorter than the 8-byte header; untrusted bytes must go through
/// [`Icmpv6Packet::new_checked`], after which no getter panics.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Icmpv6Packet<T: AsRef<[u8]>> {
    buffer: T,
}

#[inline]
fn read_u16(bytes: &[u8], at: core::ops::Range<usize>) -> u16 {
    let b = &bytes[at];
    u16::from_be_bytes([b[0], b[1]])
}

impl<T: AsRef<[u8]>> Icmpv6Packet<T> {
    /// Wrap a buffer without checking it. See the type docs for the panic contract.
    pub const fn new_unchecked(buffer: T) -> Icmpv6Packet<T> {
        Icmpv6Packet { buffer }
    }

    /// Wrap a buffer, checking that it holds the 8-byte header.
    pub fn new_checked(buffer: T) -> Result<Icmpv6Packet<T>> {
        let packet = Self::new_unchecked(buffer);
        packet.check_len()?;
        Ok(packet)
    }

    /// [`Error::Truncated`] if the buffer is shorter than the 8-byte header.
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

    /// The message type.
    #[inline]
    pub fn msg_type(&self) -> Icmpv6Message {
        Icmpv6Message::from(self.buffer.as_ref()[field::TYPE])
    }

    /// The message code (its meaning depends on the type).
    #[inline]
    pub fn msg_code(&self) -> u8 {
        self.buffer.as_ref()[field::CODE]
    }

    /// The checksum field.
    #[inline]
    pub fn checksum(&self) -> u16 {
        read_u16(self.buffer.as_ref(), field::CHECKSUM)
    }

    /// The four bytes after the checksum, whatever the type makes of them.
    #[inline]
    pub fn rest_of_header(&self) -> [u8; 4] {
        let b = &self.buffer.as_ref()[field::REST];
        [b[0], b[1], b[2], b[3]]
    }

    /// The echo identifier (echo request and reply).
    #[inline]
    pub fn echo_ident(&self) -> u16 {
        read_u16(self.buffer.as_ref(), field::ECHO_IDENT)
    }

    /// The echo sequence number (echo request and reply).
    #[inline]
    pub fn echo_seq_no(&self) -> u16 {
        read_u16(self.buffer.as_ref(), field::ECHO_SEQ_NO)
    }

    /// The MTU of a packet too big message.
    #[inline]
    pub fn mtu(&self) -> u32 {
        u32::from_be_bytes(self.rest_of_header())
    }

    /// The pointer of a parameter problem message: the offset in the invoking packet
    /// where the error was found.
    #[inline]
    pub fn pointer(&self) -> u32 {
        u32::from_be_bytes(self.rest_of_header())
    }

    /// Everything after the 8-byte header.
    #[inline]
    pub fn data(&self) -> &[u8] {
        let buf = self.buffer.as_ref();
        &buf[HEADER_LEN.min(buf.len())..]
    }

    /// Whether the checksum verifies over the pseudo-header for `addrs` and the whole
    /// message.
    //= https://www.rfc-editor.org/rfc/rfc4443#section-2.3
    //# The checksum is the 16-bit one's complement of the one's complement
    //# sum of the entire ICMPv6 message, starting with the ICMPv6 message
    //# type field, and prepended with a "pseudo-header" of IPv6 header
    //# fields, as specified in [IPv6, Section 8.1].  The Next Header value
    //# used in the pseudo-header is 58.
    pub fn verify_checksum(&self, addrs: &AddrPair) -> bool {
        let msg = self.buffer.as_ref();
        let pseudo = addrs.pseudo_header(IpProtocol::Icmpv6, msg.len());
        checksum::combine(&[pseudo, checksum::data(msg)]) == 0xffff
    }
}

impl<T: AsRef<[u8]> + AsMut<[u8]>> Icmpv6Packet<T> {
    /// Set the message type.
    #[inline]
    pub fn set_msg_type(&mut self, value: Icmpv6Message) {
        self.buffer.as_mut()[field::TYPE] = value.into();
    }

    /// Set the message code.
    #[inline]
    pub fn set_msg_code(&mut self, value: u8) {
        self.buffer.as_mut()[field::CODE] = value;
    }

    /// Set the checksum field.
    #[inline]
    pub fn set_checksum(&mut self, value: u16) {
        self.buffer.as_mut()[field::CHECKSUM].copy_from_slice(&value.to_be_bytes());
    }

    /// Set the four bytes after the checksum.
    #[inline]
    pub fn set_rest_of_header(&mut self, value: [u8; 4]) {
        self.buffer.as_mut()[field::REST].copy_from_slice(&value);
    }

    /// Set the echo identifier.
    #[inline]
    pub fn set_echo_ident(&mut self, value: u16) {
        self.buffer.as_mut()[field::ECHO_IDENT].copy_from_slice(&value.to_be_bytes());
    }

    /// Set the echo sequence number.
    #[inline]
    pub fn set_echo_seq_no(&mut self, value: u16) {
        self.buffer.as_mut()[field::ECHO_SEQ_NO].copy_from_slice(&value.to_be_bytes());
    }

    /// Set the MTU of a packet too big message.
    #[inline]
    pub fn set_mtu(&mut self, value: u32) {
        self.set_rest_of_header(value.to_be_bytes());
    }

    /// Set the pointer of a parameter problem message.
    #[inline]
    pub fn set_pointer(&mut self, value: u32) {
        self.set_rest_of_header(value.to_be_bytes());
    }

    /// Everything after the 8-byte header, mutably.
    #[inline]
    pub fn data_mut(&mut self) -> &mut [u8] {
        let buf = self.buffer.as_mut();
        let start = HEADER_LEN.min(buf.len());
        &mut buf[start..]
    }

    /// Compute the checksum over the pseudo-header for `addrs` and the whole buffer,
    /// and store it.
    //= https://www.rfc-editor.org/rfc/rfc4443#section-2.3
    //# For computing the checksum, the checksum field is first set to zero.
    pub fn fill_checksum(&mut self, addrs: &AddrPair) {
        self.set_checksum(0);
        let msg = self.buffer.as_ref();
        let pseudo = addrs.pseudo_header(IpProtocol::Icmpv6, msg.len());
        let sum = checksum::finish(checksum::combine(&[pseudo, checksum::data(msg)]));
        self.set_checksum(sum);
    }
}

impl<T: AsRef<[u8]>> AsRef<[u8]> for Icmpv6Packet<T> {
    fn as_ref(&self) -> &[u8] {
        self.buffer.as_ref()
    }
}

/// A parsed ICMPv6 message.
///
/// Every well-formed message parses: echo and the four error messages of RFC 4443
/// get their own variants, and anything else (neighbor discovery, MLD, unknown types,
/// echo with a non-zero code) is [`Icmpv6Repr::Other`], which emits back the same
/// bytes. Error variants carry the `invoking` packet as quoted; see
/// [`Icmpv6Repr::quoted`] to read it. Unused fields and the packet-too-big code are
/// ignored on parse and written as zero on emit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Icmpv6Repr<'a> {
    /// Echo request (type 128, code 0).
    EchoRequest {
        /// Identifier, to match replies to requests.
        ident: u16,
        /// Sequence number.
        seq_no: u16,
        /// The data, to be returned in the reply.
        data: &'a [u8],
    },
    /// Echo reply (type 129, code 0).
    EchoReply {
        /// Identifier copied from the request.
        ident: u16,
        /// Sequence number copied from the request.
        seq_no: u16,
        /// The request's data.
        data: &'a [u8],
    },
    /// Destination unreachable (type 1).
    DstUnreachable {
        /// The code.
        reason: Icmpv6DstUnreachable,
        /// The packet that could not be delivered, as quoted.
        invoking: &'a [u8],
    },
    /// Packet too big (type 2).
    PacketTooBig {
        /// The MTU of the next-hop link.
        mtu: u32,
        /// The packet that was too big, as quoted.
        invoking: &'a [u8],
    },
    /// Time exceeded (type 3).
    TimeExceeded {
        /// The code.
        reason: Icmpv6TimeExceeded,
        /// The packet that was dropped, as quoted.
        invoking: &'a [u8],
    },
    /// Parameter problem (type 4).
    ParamProblem {
        /// The code.
        reason: Icmpv6ParamProblem,
        /// The offset in the invoking packet where the error was found (it may point
        /// past the end of the quote).
        pointer: u32,
        /// The packet that was dropped, as quoted.
        invoking: &'a [u8],
    },
    /// Any other message, kept whole.
    Other {
        /// The type.
        msg_type: Icmpv6Message,
        /// The code.
        msg_code: u8,
        /// The four bytes after the checksum.
        rest_of_header: [u8; 4],
        /// Everything after the header.
        data: &'a [u8],
    },
}

impl<'a> Icmpv6Repr<'a> {
    /// Parse a message received between `addrs` (which must be IPv6), verifying its
    /// checksum under [`ChecksumMode::Enabled`] ([`Error::BadChecksum`]);
    /// [`Error::Truncated`] if shorter than 8 bytes.
    pub fn parse<T>(
        packet: &Icmpv6Packet<&'a T>,
        addrs: &AddrPair,
        mode: ChecksumMode,
    ) -> Result<Icmpv6Repr<'a>>
    where
        T: AsRef<[u8]> + ?Sized,
    {
        packet.check_len()?;
        if mode == ChecksumMode::Enabled && !packet.verify_checksum(addrs) {
            return Err(Error::BadChecksum);
        }
        let buf: &'a [u8] = packet.buffer.as_ref();
        let data: &'a [u8] = buf.get(HEADER_LEN..).ok_or(Error::Truncated)?;
        Ok(match (packet.msg_type(), packet.msg_code()) {
            //= https://www.rfc-editor.org/rfc/rfc4443#section-4.1
            //# Code           0
            (Icmpv6Message::EchoRequest, 0) => Icmpv6Repr::EchoRequest {
                ident: packet.echo_ident(),
                seq_no: packet.echo_seq_no(),
                data,
            },
            (Icmpv6Message::EchoReply, 0) => Icmpv6Repr::EchoReply {
                ident: packet.echo_ident(),
                seq_no: packet.echo_seq_no(),
                data,
            },
            //= https://www.rfc-editor.org/rfc/rfc4443#section-3.1
            //# Unused         This field is unused for all code values.
            //#                It must be initialized to zero by the originator
            //#                and ignored by the receiver.
            (Icmpv6Message::DstUnreachable, code) => Icmpv6Repr::DstUnreachable {
                reason: code.into(),
                invoking: data,
            },
            //= https://www.rfc-editor.org/rfc/rfc4443#section-3.2
            //# Code           Set to 0 (zero) by the originator and ignored by the
            //#                receiver.
            (Icmpv6Message::PktTooBig, _) => Icmpv6Repr::PacketTooBig {
                mtu: packet.mtu(),
                invoking: data,
            },
            (Icmpv6Message::TimeExceeded, code) => Icmpv6Repr::TimeExceeded {
                reason: code.into(),
                invoking: data,
            },
            (Icmpv6Message::ParamProblem, code) => Icmpv6Repr::ParamProblem {
                reason: code.into(),
                pointer: packet.pointer(),
                invoking: data,
            },
            (msg_type, msg_code) => Icmpv6Repr::Other {
                msg_type,
                msg_code,
                rest_of_header: packet.rest_of_header(),
                data,
            },
        })
    }

    /// The type this message is sent as.
    pub fn msg_type(&self) -> Icmpv6Message {
        match self {
            Icmpv6Repr::EchoRequest { .. } => Icmpv6Message::EchoRequest,
            Icmpv6Repr::EchoReply { .. } => Icmpv6Message::EchoReply,
            Icmpv6Repr::DstUnreachable { .. } => Icmpv6Message::DstUnreachable,
            Icmpv6Repr::PacketTooBig { .. } => Icmpv6Message::PktTooBig,
            Icmpv6Repr::TimeExceeded { .. } => Icmpv6Message::TimeExceeded,
            Icmpv6Repr::ParamProblem { .. } => Icmpv6Message::ParamProblem,
            Icmpv6Repr::Other { msg_type, .. } => *msg_type,
        }
    }

    /// The code this message is sent with.
    pub fn msg_code(&self) -> u8 {
        match *self {
            Icmpv6Repr::EchoRequest { .. }
            | Icmpv6Repr::EchoReply { .. }
            | Icmpv6Repr::PacketTooBig { .. } => 0,
            Icmpv6Repr::DstUnreachable { reason, .. } => reason.into(),
            Icmpv6Repr::TimeExceeded { reason, .. } => reason.into(),
            Icmpv6Repr::ParamProblem { reason, .. } => reason.into(),
            Icmpv6Repr::Other { msg_code, .. } => msg_code,
        }
    }

    fn rest_of_header(&self) -> [u8; 4] {
        match *self {
            Icmpv6Repr::EchoRequest { ident, seq_no, .. }
            | Icmpv6Repr::EchoReply { ident, seq_no, .. } => {
                let (i, s) = (ident.to_be_bytes(), seq_no.to_be_bytes());
                [i[0], i[1], s[0], s[1]]
            }
            Icmpv6Repr::DstUnreachable { .. } | Icmpv6Repr::TimeExceeded { .. } => [0; 4],
            Icmpv6Repr::PacketTooBig { mtu, .. } => mtu.to_be_bytes(),
            Icmpv6Repr::ParamProblem { pointer, .. } => pointer.to_be_bytes(),
            Icmpv6Repr::Other { rest_of_header, .. } => rest_of_header,
        }
    }

    /// The bytes after the header: echo data, the invoking packet, or other data.
    pub fn data(&self) -> &'a [u8] {
        match *self {
            Icmpv6Repr::EchoRequest { data, .. }
            | Icmpv6Repr::EchoReply { data, .. }
            | Icmpv6Repr::Other { data, .. } => data,
            Icmpv6Repr::DstUnreachable { invoking, .. }
            | Icmpv6Repr::PacketTooBig { invoking, .. }
            | Icmpv6Repr::TimeExceeded { invoking, .. }
            | Icmpv6Repr::ParamProblem { invoking, .. } => invoking,
        }
    }

    /// Whether this is an error message (type below 128), known or not.
    pub fn is_error(&self) -> bool {
        self.msg_type().is_error()
    }

    /// The quoted invoking packet of an error message, including an error of unknown
    /// type kept as [`Icmpv6Repr::Other`]; `None` for informational messages.
    //= https://www.rfc-editor.org/rfc/rfc4443#section-2.4
    //# (a) If an ICMPv6 error message of unknown type is received at its
    //#     destination, it MUST be passed to the upper-layer process that
    //#     originated the packet that caused the error, where this can be
    //#     identified (see Section 2.4, (d)).
    pub fn invoking(&self) -> Option<&'a [u8]> {
        self.is_error().then(|| self.data())
    }

    /// The quoted packet's addresses, upper-layer protocol and ports, read with
    /// [`quoted_ipv6`], or `None` for informational messages.
    //= https://www.rfc-editor.org/rfc/rfc4443#section-2.4
    //# (d) In cases where the internet-layer protocol is required to pass an
    //#     ICMPv6 error message to the upper-layer process, the upper-layer
    //#     protocol type is extracted from the original packet (contained in
    //#     the body of the ICMPv6 error message) and used to select the
    //#     appropriate upper-layer process to handle the error.
    pub fn quoted(&self) -> Option<Result<Quoted>> {
        self.invoking().map(quoted_ipv6)
    }

    /// The length of the message [`Icmpv6Repr::emit`] writes.
    pub fn buffer_len(&self) -> usize {
        HEADER_LEN + self.data().len()
    }

    /// Write the whole message into `packet` and, under [`ChecksumMode::Enabled`], its
    /// checksum over the pseudo-header for `addrs` and the first
    /// [`Icmpv6Repr::buffer_len`] bytes; under [`ChecksumMode::Offloaded`] the checksum
    /// field is left zero.
    ///
    /// # Panics
    /// If the packet's buffer is shorter than [`Icmpv6Repr::buffer_len`].
    pub fn emit<T>(&self, packet: &mut Icmpv6Packet<T>, addrs: &AddrPair, mode: ChecksumMode)
    where
        T: AsRef<[u8]> + AsMut<[u8]>,
    {
        packet.set_msg_type(self.msg_type());
        packet.set_msg_code(self.msg_code());
        packet.set_checksum(0);
        packet.set_rest_of_header(self.rest_of_header());
        let data = self.data();
        packet.data_mut()[..data.len()].copy_from_slice(data);
        if mode == ChecksumMode::Enabled {
            let msg = &packet.buffer.as_ref()[..self.buffer_len()];
            let pseudo = addrs.pseudo_header(IpProtocol::Icmpv6, msg.len());
            let sum = checksum::combine(&[pseudo, checksum::data(msg)]);
            packet.set_checksum(checksum::finish(sum));
        }
    }
}

/// An IPv6 address at `at` in `bytes`, if the bytes reach that far.
fn addr_at(bytes: &[u8], at: usize) -> Option<Ipv6Addr> {
    let a = bytes.get(at..at + 16)?;
    let mut octets = [0u8; 16];
    octets.copy_from_slice(a);
    Some(Ipv6Addr::from(octets))
}

impl Icmpv6Repr<'_> {
    /// What tcpdump prints between `ICMP6, <type name>` and `, length N`; `None` where
    /// the quote or data is too short, which tcpdump marks `[|icmp6]`.
    fn describe(&self, f: &mut fmt::Formatter<'_>) -> Option<fmt::Result> {
        use Icmpv6DstUnreachable::*;
        let invoking = self.data();
        let quoted_src = || addr_at(invoking, 8);
        let quoted_dst = || addr_at(invoking, 24);
        Some(match *self {
            Icmpv6Repr::EchoRequest { ident, seq_no, .. }
            | Icmpv6Repr::EchoReply { ident, seq_no, .. } => {
                write!(f, ", id {ident}, seq {seq_no}")
            }
            Icmpv6Repr::DstUnreachable { reason, .. } => match reason {
                NoRoute => write!(f, ", unreachable route {}", quoted_dst()?),
                AdminProhibit => write!(f, ", unreachable prohibited {}", quoted_dst()?),
                AddrUnreachable => write!(f, ", unreachable address {}", quoted_dst()?),
                BeyondScope => write!(
                    f,
                    ", beyond scope {}, source address {}",
                    quoted_dst()?,
                    quoted_src()?
                ),
                PortUnreachable => {
                    if let Err(e) = f.write_str(", unreachable port") {
                        return Some(Err(e));
                    }
                    let q = quoted_ipv6(invoking).ok()?;
                    let port = q.dst_port?;
                    write!(f, ", {} {} port {port}", q.dst, q.protocol)
                }
                FailedPolicy => write!(f, ", source address failed policy {}", quoted_dst()?),
                RejectRoute => write!(f, ", reject route {}", quoted_dst()?),
                Other(code) => write!(f, ", unknown unreach code ({code})"),
            },
            Icmpv6Repr::PacketTooBig { mtu, .. } => write!(f, ", mtu {mtu}"),
            Icmpv6Repr::TimeExceeded { reason, .. } => match reason {
                Icmpv6TimeExceeded::HopLimitExceeded => write!(f, " for {}", quoted_dst()?),
                Icmpv6TimeExceeded::FragReassembly => f.write_str(" (reassembly)"),
                Icmpv6TimeExceeded::Other(code) => write!(f, ", unknown code ({code})"),
            },
            Icmpv6Repr::ParamProblem {
                reason, pointer, ..
            } => {
                quoted_dst()?;
                match reason {
                    Icmpv6ParamProblem::ErroneousHeaderField => {
                        write!(f, ", erroneous - octet {pointer}")
                    }
                    Icmpv6ParamProblem::UnrecognizedNextHeader => {
                        write!(f, ", next header - octet {pointer}")
                    }
                    Icmpv6ParamProblem::UnrecognizedOption => {
                        write!(f, ", option - octet {pointer}")
                    }
                    Icmpv6ParamProblem::IncompleteHeaderChain => {
                        write!(f, ", incomplete header chain - octet {pointer}")
                    }
                    Icmpv6ParamProblem::Other(code) => write!(f, ", code-#{code}"),
                }
            }
            Icmpv6Repr::Other {
                msg_type,
                rest_of_header: rest,
                data,
                ..
            } => match msg_type {
                Icmpv6Message::EchoRequest | Icmpv6Message::EchoReply => write!(
                    f,
                    ", id {}, seq {}",
                    u16::from_be_bytes([rest[0], rest[1]]),
                    u16::from_be_bytes([rest[2], rest[3]])
                ),
                Icmpv6Message::NeighborSolicit => write!(f, ", who has {}", addr_at(data, 0)?),
                Icmpv6Message::NeighborAdvert => write!(f, ", tgt is {}", addr_at(data, 0)?),
                Icmpv6Message::Redirect => {
                    let target = addr_at(data, 0)?;
                    write!(f, ", {} to {target}", addr_at(data, 16)?)
                }
                _ => Ok(()),
            },
        })
    }
}

impl fmt::Display for Icmpv6Repr<'_> {
    /// As `tcpdump -n` prints the ICMPv6 part of a line:
    /// `ICMP6, echo request, id 1, seq 1, length 64`,
    /// `ICMP6, destination unreachable, unreachable port, 2001:db8::2 udp port 9999, length 72`,
    /// `ICMP6, packet too big, mtu 1280, length 1240`; ` [|icmp6]` where the quote is
    /// too short for what tcpdump prints.
    ///
    /// Neighbor discovery and MLD messages print their name (and NS/NA target or
    /// redirect addresses), not their options.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let msg_type = self.msg_type();
        match msg_type.name() {
            Some(name) => write!(f, "ICMP6, {name}")?,
            None => write!(f, "ICMP6, unknown icmp6 type ({})", u8::from(msg_type))?,
        }
        match self.describe(f) {
            Some(r) => {
                r?;
                write!(f, ", length {}", self.buffer_len())
            }
            None => f.write_str(" [|icmp6]"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::seq::SeqNumber;
    use core::net::IpAddr;
    use proptest::prelude::*;

    fn loopback() -> AddrPair {
        AddrPair::V6 {
            src: Ipv6Addr::LOCALHOST,
            dst: Ipv6Addr::LOCALHOST,
        }
    }

    fn ip(last: u16) -> Ipv6Addr {
        Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, last)
    }

    /// From the router 2001:db8::fe to 2001:db8::1.
    fn from_router() -> AddrPair {
        AddrPair::V6 {
            src: ip(0xfe),
            dst: ip(1),
        }
    }

    /// `ping -6 -c1 ::1` on Linux: the echo request, 64 bytes.
    const PING_REQUEST: [u8; 64] = [
        0x80, 0x00, 0x25, 0x1d, 0x28, 0xbe, 0x00, 0x01, 0x94, 0x51, 0x02, 0x6b, 0x00, 0x00, 0x00,
        0x00, 0xdc, 0x17, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x10, 0x11, 0x12, 0x13, 0x14, 0x15,
        0x16, 0x17, 0x18, 0x19, 0x1a, 0x1b, 0x1c, 0x1d, 0x1e, 0x1f, 0x20, 0x21, 0x22, 0x23, 0x24,
        0x25, 0x26, 0x27, 0x28, 0x29, 0x2a, 0x2b, 0x2c, 0x2d, 0x2e, 0x2f, 0x30, 0x31, 0x32, 0x33,
        0x34, 0x35, 0x36, 0x37,
    ];

    /// The kernel's echo reply to [`PING_REQUEST`].
    const PING_REPLY: [u8; 64] = [
        0x81, 0x00, 0x24, 0x1d, 0x28, 0xbe, 0x00, 0x01, 0x94, 0x51, 0x02, 0x6b, 0x00, 0x00, 0x00,
        0x00, 0xdc, 0x17, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x10, 0x11, 0x12, 0x13, 0x14, 0x15,
        0x16, 0x17, 0x18, 0x19, 0x1a, 0x1b, 0x1c, 0x1d, 0x1e, 0x1f, 0x20, 0x21, 0x22, 0x23, 0x24,
        0x25, 0x26, 0x27, 0x28, 0x29, 0x2a, 0x2b, 0x2c, 0x2d, 0x2e, 0x2f, 0x30, 0x31, 0x32, 0x33,
        0x34, 0x35, 0x36, 0x37,
    ];

    /// Linux's port unreachable for a UDP datagram [::1]:5000 -> [::1]:9999 ("hello"),
    /// quoting the whole 53-byte packet.
    const PORT_UNREACHABLE: [u8; 61] = [
        0x01, 0x04, 0x09, 0x01, 0x00, 0x00, 0x00, 0x00, 0x60, 0x0e, 0x05, 0x8e, 0x00, 0x0d, 0x11,
        0x40, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
        0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
        0x00, 0x00, 0x01, 0x13, 0x88, 0x27, 0x0f, 0x00, 0x0d, 0x00, 0x20, 0x68, 0x65, 0x6c, 0x6c,
        0x6f,
    ];

    /// Packet too big (MTU 1280) from 2001:db8::fe about a 1500-byte TCP segment
    /// [2001:db8::1]:40000 -> [2001:db8::2]:80, seq 0xdeadbeef, quoting 60 bytes.
    const PACKET_TOO_BIG: [u8; 68] = [
        0x02, 0x00, 0x4a, 0x68, 0x00, 0x00, 0x05, 0x00, 0x60, 0x00, 0x00, 0x00, 0x05, 0xb4, 0x06,
        0x40, 0x20, 0x01, 0x0d, 0xb8, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
        0x00, 0x01, 0x20, 0x01, 0x0d, 0xb8, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
        0x00, 0x00, 0x02, 0x9c, 0x40, 0x00, 0x50, 0xde, 0xad, 0xbe, 0xef, 0x00, 0x00, 0x00, 0x00,
        0x50, 0x10, 0xff, 0xff, 0x00, 0x00, 0x00, 0x00,
    ];

    /// Hop limit exceeded, from 2001:db8::fe, about a traceroute-style UDP probe
    /// [2001:db8::1]:33434 -> [2001:db8::2]:33434 with hop limit 1.
    const TIME_EXCEEDED: [u8; 66] = [
        0x03, 0x00, 0x2f, 0x22, 0x00, 0x00, 0x00, 0x00, 0x60, 0x00, 0x00, 0x00, 0x00, 0x12, 0x11,
        0x01, 0x20, 0x01, 0x0d, 0xb8, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
        0x00, 0x01, 0x20, 0x01, 0x0d, 0xb8, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
        0x00, 0x00, 0x02, 0x82, 0x9a, 0x82, 0x9a, 0x00, 0x12, 0x9f, 0x20, 0x00, 0x00, 0x00, 0x00,
        0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    ];

    /// Parameter problem (unrecognized next header at octet 40) about the same probe.
    const PARAM_PROBLEM: [u8; 66] = [
        0x04, 0x01, 0x2d, 0xf9, 0x00, 0x00, 0x00, 0x28, 0x60, 0x00, 0x00, 0x00, 0x00, 0x12, 0x11,
        0x01, 0x20, 0x01, 0x0d, 0xb8, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
        0x00, 0x01, 0x20, 0x01, 0x0d, 0xb8, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
        0x00, 0x00, 0x02, 0x82, 0x9a, 0x82, 0x9a, 0x00, 0x12, 0x9f, 0x20, 0x00, 0x00, 0x00, 0x00,
        0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    ];

    /// Neighbor solicitation from 2001:db8::1 to ff02::1:ff00:2 for 2001:db8::2, with a
    /// source link-layer address option.
    const NEIGHBOR_SOLICIT: [u8; 32] = [
        0x87, 0x00, 0x1c, 0x27, 0x00, 0x00, 0x00, 0x00, 0x20, 0x01, 0x0d, 0xb8, 0x00, 0x00, 0x00,
        0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x02, 0x01, 0x01, 0x02, 0x00, 0x00, 0x00,
        0x00, 0x01,
    ];

    fn ns_addrs() -> AddrPair {
        AddrPair::V6 {
            src: ip(1),
            dst: Ipv6Addr::new(0xff02, 0, 0, 0, 0, 1, 0xff00, 2),
        }
    }

    fn all_real() -> [(&'static [u8], AddrPair); 7] {
        [
            (&PING_REQUEST, loopback()),
            (&PING_REPLY, loopback()),
            (&PORT_UNREACHABLE, loopback()),
            (&PACKET_TOO_BIG, from_router()),
            (&TIME_EXCEEDED, from_router()),
            (&PARAM_PROBLEM, from_router()),
            (&NEIGHBOR_SOLICIT, ns_addrs()),
        ]
    }

    fn parse<'a>(bytes: &'a [u8], addrs: &AddrPair) -> Result<Icmpv6Repr<'a>> {
        Icmpv6Repr::parse(
            &Icmpv6Packet::new_checked(bytes)?,
            addrs,
            ChecksumMode::Enabled,
        )
    }

    fn emit(repr: &Icmpv6Repr<'_>, addrs: &AddrPair) -> Vec<u8> {
        let mut out = vec![0u8; repr.buffer_len()];
        repr.emit(
            &mut Icmpv6Packet::new_unchecked(&mut out),
            addrs,
            ChecksumMode::Enabled,
        );
        out
    }

    #[test]
    fn linux_ping6_request_parses() {
        let packet = Icmpv6Packet::new_checked(&PING_REQUEST[..]).unwrap();
        assert_eq!(packet.msg_type(), Icmpv6Message::EchoRequest);
        assert!(packet.verify_checksum(&loopback()));
        let repr = parse(&PING_REQUEST, &loopback()).unwrap();
        assert_eq!(
            repr,
            Icmpv6Repr::EchoRequest {
                ident: 10430,
                seq_no: 1,
                data: &PING_REQUEST[8..],
            }
        );
        assert!(!repr.is_error());
        assert_eq!(repr.quoted(), None);
        assert_eq!(
            repr.to_string(),
            "ICMP6, echo request, id 10430, seq 1, length 64"
        );
    }

    #[test]
    fn reply_built_from_the_request_matches_the_kernels() {
        let Icmpv6Repr::EchoRequest {
            ident,
            seq_no,
            data,
        } = parse(&PING_REQUEST, &loopback()).unwrap()
        else {
            panic!("not an echo request");
        };
        //= https://www.rfc-editor.org/rfc/rfc4443#section-4.2
        //# The data received in the ICMPv6 Echo Request message MUST be returned
        //# entirely and unmodified in the ICMPv6 Echo Reply message.
        let reply = Icmpv6Repr::EchoReply {
            ident,
            seq_no,
            data,
        };
        assert_eq!(emit(&reply, &loopback()), PING_REPLY);
        assert_eq!(
            parse(&PING_REPLY, &loopback()).unwrap().to_string(),
            "ICMP6, echo reply, id 10430, seq 1, length 64"
        );
    }

    #[test]
    fn linux_port_unreachable_quotes_the_udp_socket() {
        let repr = parse(&PORT_UNREACHABLE, &loopback()).unwrap();
        assert_eq!(
            repr,
            Icmpv6Repr::DstUnreachable {
                reason: Icmpv6DstUnreachable::PortUnreachable,
                invoking: &PORT_UNREACHABLE[8..],
            }
        );
        let quoted = repr.quoted().unwrap().unwrap();
        assert_eq!(quoted.src, IpAddr::V6(Ipv6Addr::LOCALHOST));
        assert_eq!(quoted.protocol, IpProtocol::Udp);
        assert_eq!((quoted.src_port, quoted.dst_port), (Some(5000), Some(9999)));
        assert_eq!(
            repr.to_string(),
            "ICMP6, destination unreachable, unreachable port, ::1 udp port 9999, length 61"
        );
    }

    #[test]
    fn packet_too_big_carries_the_mtu_and_the_tcp_segment() {
        let repr = parse(&PACKET_TOO_BIG, &from_router()).unwrap();
        assert_eq!(
            repr,
            Icmpv6Repr::PacketTooBig {
                mtu: 1280,
                invoking: &PACKET_TOO_BIG[8..],
            }
        );
        let quoted = repr.quoted().unwrap().unwrap();
        assert_eq!(quoted.dst, IpAddr::V6(ip(2)));
        assert_eq!((quoted.src_port, quoted.dst_port), (Some(40000), Some(80)));
        assert_eq!(quoted.tcp_seq, Some(SeqNumber(0xdead_beef)));
        assert_eq!(
            repr.to_string(),
            "ICMP6, packet too big, mtu 1280, length 68"
        );
    }

    #[test]
    fn a_full_1280_byte_quote_displays_its_length() {
        assert_eq!(MAX_ERROR_DATA_LEN, 1232);
        let mut quote = PACKET_TOO_BIG[8..].to_vec();
        quote.resize(MAX_ERROR_DATA_LEN, 0);
        let repr = Icmpv6Repr::PacketTooBig {
            mtu: 1280,
            invoking: &quote,
        };
        let bytes = emit(&repr, &from_router());
        assert_eq!(parse(&bytes, &from_router()), Ok(repr));
        assert_eq!(
            repr.to_string(),
            "ICMP6, packet too big, mtu 1280, length 1240"
        );
    }

    #[test]
    fn packet_too_big_code_is_ignored() {
        let mut bytes = PACKET_TOO_BIG;
        bytes[1] = 1;
        bytes[3] -= 1; // keep the checksum right: 0x4a68 - 0x0001
        let repr = parse(&bytes, &from_router()).unwrap();
        assert!(matches!(repr, Icmpv6Repr::PacketTooBig { mtu: 1280, .. }));
        assert_eq!(emit(&repr, &from_router()), PACKET_TOO_BIG);
    }

    #[test]
    fn time_exceeded_and_param_problem_parse_and_display() {
        let repr = parse(&TIME_EXCEEDED, &from_router()).unwrap();
        assert_eq!(
            repr,
            Icmpv6Repr::TimeExceeded {
                reason: Icmpv6TimeExceeded::HopLimitExceeded,
                invoking: &TIME_EXCEEDED[8..],
            }
        );
        assert_eq!(
            repr.to_string(),
            "ICMP6, time exceeded in-transit for 2001:db8::2, length 66"
        );
        let quoted = repr.quoted().unwrap().unwrap();
        assert_eq!(quoted.src_port, Some(33434));

        let repr = parse(&PARAM_PROBLEM, &from_router()).unwrap();
        assert_eq!(
            repr,
            Icmpv6Repr::ParamProblem {
                reason: Icmpv6ParamProblem::UnrecognizedNextHeader,
                pointer: 40,
                invoking: &PARAM_PROBLEM[8..],
            }
        );
        assert_eq!(
            repr.to_string(),
            "ICMP6, parameter problem, next header - octet 40, length 66"
        );
    }

    #[test]
    fn neighbor_solicitation_is_kept_as_other() {
        let repr = parse(&NEIGHBOR_SOLICIT, &ns_addrs()).unwrap();
        assert_eq!(
            repr,
            Icmpv6Repr::Other {
                msg_type: Icmpv6Message::NeighborSolicit,
                msg_code: 0,
                rest_of_header: [0; 4],
                data: &NEIGHBOR_SOLICIT[8..],
            }
        );
        assert!(!repr.is_error());
        assert_eq!(
            repr.to_string(),
            "ICMP6, neighbor solicitation, who has 2001:db8::2, length 32"
        );
    }

    #[test]
    fn emit_of_parse_gives_the_same_bytes() {
        for (bytes, addrs) in all_real() {
            assert_eq!(emit(&parse(bytes, &addrs).unwrap(), &addrs), bytes);
        }
    }

    #[test]
    fn checksum_covers_the_pseudo_header() {
        // Same bytes, another destination: the pseudo-header no longer matches.
        let elsewhere = AddrPair::V6 {
            src: ip(0xfe),
            dst: ip(3),
        };
        assert_eq!(parse(&PACKET_TOO_BIG, &elsewhere), Err(Error::BadChecksum));
        let packet = Icmpv6Packet::new_checked(&PACKET_TOO_BIG[..]).unwrap();
        assert!(Icmpv6Repr::parse(&packet, &elsewhere, ChecksumMode::Offloaded).is_ok());
    }

    #[test]
    fn every_flipped_bit_fails_the_checksum() {
        for (bytes, addrs) in all_real() {
            for bit in 0..bytes.len() * 8 {
                let mut b = bytes.to_vec();
                b[bit / 8] ^= 1 << (bit % 8);
                assert_eq!(parse(&b, &addrs), Err(Error::BadChecksum), "bit {bit}");
            }
        }
    }

    #[test]
    fn every_truncation_is_rejected() {
        for cut in 0..HEADER_LEN {
            assert_eq!(
                Icmpv6Packet::new_checked(&PING_REQUEST[..cut]).unwrap_err(),
                Error::Truncated
            );
        }
        // Past the header, a cut changes the checksummed length and so fails it.
        for cut in HEADER_LEN..PING_REQUEST.len() {
            assert_eq!(
                parse(&PING_REQUEST[..cut], &loopback()),
                Err(Error::BadChecksum),
                "cut {cut}"
            );
        }
    }

    #[test]
    fn offloaded_emit_leaves_checksum_zero() {
        let repr = parse(&PING_REQUEST, &loopback()).unwrap();
        let mut out = [0u8; 64];
        repr.emit(
            &mut Icmpv6Packet::new_unchecked(&mut out[..]),
            &loopback(),
            ChecksumMode::Offloaded,
        );
        assert_eq!(&out[2..4], &[0, 0]);
        assert_eq!(&out[4..], &PING_REQUEST[4..]);
    }

    #[test]
    fn unknown_error_type_still_quotes_its_packet() {
        let mut bytes = TIME_EXCEEDED;
        bytes[0] = 100;
        let mut packet = Icmpv6Packet::new_unchecked(&mut bytes[..]);
        packet.fill_checksum(&from_router());
        let repr = parse(&bytes, &from_router()).unwrap();
        assert!(matches!(
            repr,
            Icmpv6Repr::Other {
                msg_type: Icmpv6Message::Unknown(100),
                ..
            }
        ));
        assert!(repr.is_error());
        assert_eq!(repr.quoted().unwrap().unwrap().dst_port, Some(33434));
        assert_eq!(
            repr.to_string(),
            "ICMP6, unknown icmp6 type (100), length 66"
        );
    }

    #[test]
    fn echo_with_a_nonzero_code_is_kept_as_other() {
        let bytes = [0x80, 0x01, 0xc1, 0xe4, 0x00, 0x01, 0x00, 0x01, b'a', b'b'];
        let repr = parse(&bytes, &from_router()).unwrap();
        assert!(matches!(
            repr,
            Icmpv6Repr::Other {
                msg_type: Icmpv6Message::EchoRequest,
                msg_code: 1,
                ..
            }
        ));
        assert_eq!(emit(&repr, &from_router()), bytes);
        assert_eq!(
            repr.to_string(),
            "ICMP6, echo request, id 1, seq 1, length 10"
        );
    }

    /// Each line as tcpdump 4.99 prints it, except where noted.
    #[test]
    fn errors_display_like_tcpdump() {
        let q = &TIME_EXCEEDED[8..];
        let unreach = |code: u8| Icmpv6Repr::DstUnreachable {
            reason: code.into(),
            invoking: q,
        };
        let cases = [
            (
                unreach(0),
                "ICMP6, destination unreachable, unreachable route 2001:db8::2, length 66",
            ),
            // tcpdump prints two spaces before "unreachable prohibited".
            (
                unreach(1),
                "ICMP6, destination unreachable, unreachable prohibited 2001:db8::2, length 66",
            ),
            (
                unreach(2),
                "ICMP6, destination unreachable, beyond scope 2001:db8::2, source address 2001:db8::1, length 66",
            ),
            (
                unreach(3),
                "ICMP6, destination unreachable, unreachable address 2001:db8::2, length 66",
            ),
            (
                unreach(4),
                "ICMP6, destination unreachable, unreachable port, 2001:db8::2 udp port 33434, length 66",
            ),
            // tcpdump has no words for 5 and 6 and prints "unknown unreach code (N)".
            (
                unreach(5),
                "ICMP6, destination unreachable, source address failed policy 2001:db8::2, length 66",
            ),
            (
                unreach(6),
                "ICMP6, destination unreachable, reject route 2001:db8::2, length 66",
            ),
            (
                unreach(7),
                "ICMP6, destination unreachable, unknown unreach code (7), length 66",
            ),
            (
                Icmpv6Repr::TimeExceeded {
                    reason: Icmpv6TimeExceeded::FragReassembly,
                    invoking: q,
                },
                "ICMP6, time exceeded in-transit (reassembly), length 66",
            ),
            (
                Icmpv6Repr::TimeExceeded {
                    reason: Icmpv6TimeExceeded::Other(2),
                    invoking: q,
                },
                "ICMP6, time exceeded in-transit, unknown code (2), length 66",
            ),
        ];
        for (repr, line) in cases {
            assert_eq!(repr.to_string(), line);
        }
        let param = |code: u8| Icmpv6Repr::ParamProblem {
            reason: code.into(),
            pointer: 6,
            invoking: q,
        };
        let words = [
            "erroneous - octet 6",
            "next header - octet 6",
            "option - octet 6",
            "incomplete header chain - octet 6",
            "code-#4",
        ];
        for (code, words) in words.iter().enumerate() {
            assert_eq!(
                param(code as u8).to_string(),
                format!("ICMP6, parameter problem, {words}, length 66")
            );
        }
        let tcp = Icmpv6Repr::DstUnreachable {
            reason: Icmpv6DstUnreachable::PortUnreachable,
            invoking: &PACKET_TOO_BIG[8..],
        };
        assert_eq!(
            tcp.to_string(),
            "ICMP6, destination unreachable, unreachable port, 2001:db8::2 tcp port 80, length 68"
        );
    }

    #[test]
    fn informational_messages_display_like_tcpdump() {
        let other = |t: u8, rest: [u8; 4], data: &'static [u8]| Icmpv6Repr::Other {
            msg_type: t.into(),
            msg_code: 0,
            rest_of_header: rest,
            data,
        };
        let target: &[u8] = &[
            0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2, 2, 1, 2, 0, 0, 0, 0, 2,
        ];
        let redirect: &[u8] = &[
            0xfe, 0x80, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2, 0x20, 0x01, 0x0d, 0xb8, 0, 0, 0,
            0, 0, 0, 0, 0, 0, 0, 0, 9,
        ];
        let cases = [
            (
                other(136, [0x60, 0, 0, 0], target),
                "ICMP6, neighbor advertisement, tgt is 2001:db8::2, length 32",
            ),
            (
                other(133, [0; 4], &[]),
                "ICMP6, router solicitation, length 8",
            ),
            (
                other(134, [64, 0, 7, 8], &[0; 8]),
                "ICMP6, router advertisement, length 16",
            ),
            (
                other(137, [0; 4], redirect),
                "ICMP6, redirect, 2001:db8::9 to fe80::2, length 40",
            ),
            (
                other(141, [0; 4], &[]),
                "ICMP6, inverse neighbor solicitation, length 8",
            ),
            (
                other(200, [1, 2, 3, 4], b"xy"),
                "ICMP6, mtrace response, length 10",
            ),
            (
                other(255, [0; 4], &[]),
                "ICMP6, unknown icmp6 type (255), length 8",
            ),
            (
                other(135, [0; 4], &[0; 4]),
                "ICMP6, neighbor solicitation [|icmp6]",
            ),
        ];
        for (repr, line) in cases {
            assert_eq!(repr.to_string(), line);
        }
    }

    #[test]
    fn too_short_quotes_display_as_truncated() {
        let short = Icmpv6Repr::DstUnreachable {
            reason: Icmpv6DstUnreachable::PortUnreachable,
            invoking: &TIME_EXCEEDED[8..50],
        };
        assert_eq!(
            short.to_string(),
            "ICMP6, destination unreachable, unreachable port [|icmp6]"
        );
        assert_eq!(short.quoted(), Some(Err(Error::Truncated)));
        let empty = Icmpv6Repr::TimeExceeded {
            reason: Icmpv6TimeExceeded::HopLimitExceeded,
            invoking: &[],
        };
        assert_eq!(
            empty.to_string(),
            "ICMP6, time exceeded in-transit [|icmp6]"
        );
        let ptb = Icmpv6Repr::PacketTooBig {
            mtu: 1280,
            invoking: &[],
        };
        assert_eq!(ptb.to_string(), "ICMP6, packet too big, mtu 1280, length 8");
    }

    #[derive(Debug, Clone)]
    enum Gen {
        Echo(bool, u16, u16),
        Unreach(u8),
        TooBig(u32),
        TimeEx(u8),
        Param(u8, u32),
        Other(u8, u8, [u8; 4]),
    }

    fn arb_gen() -> impl Strategy<Value = Gen> {
        prop_oneof![
            (any::<bool>(), any::<u16>(), any::<u16>()).prop_map(|(r, i, s)| Gen::Echo(r, i, s)),
            any::<u8>().prop_map(Gen::Unreach),
            any::<u32>().prop_map(Gen::TooBig),
            any::<u8>().prop_map(Gen::TimeEx),
            (any::<u8>(), any::<u32>()).prop_map(|(c, p)| Gen::Param(c, p)),
            (any::<u8>(), any::<u8>(), any::<[u8; 4]>())
                .prop_filter("would parse as a specific variant", |(t, c, _)| {
                    match t {
                        1..=4 => false,
                        128 | 129 => *c != 0,
                        _ => true,
                    }
                })
                .prop_map(|(t, c, r)| Gen::Other(t, c, r)),
        ]
    }

    fn build<'a>(g: &Gen, data: &'a [u8]) -> Icmpv6Repr<'a> {
        match *g {
            Gen::Echo(true, ident, seq_no) => Icmpv6Repr::EchoRequest {
                ident,
                seq_no,
                data,
            },
            Gen::Echo(false, ident, seq_no) => Icmpv6Repr::EchoReply {
                ident,
                seq_no,
                data,
            },
            Gen::Unreach(code) => Icmpv6Repr::DstUnreachable {
                reason: code.into(),
                invoking: data,
            },
            Gen::TooBig(mtu) => Icmpv6Repr::PacketTooBig {
                mtu,
                invoking: data,
            },
            Gen::TimeEx(code) => Icmpv6Repr::TimeExceeded {
                reason: code.into(),
                invoking: data,
            },
            Gen::Param(code, pointer) => Icmpv6Repr::ParamProblem {
                reason: code.into(),
                pointer,
                invoking: data,
            },
            Gen::Other(t, c, rest) => Icmpv6Repr::Other {
                msg_type: t.into(),
                msg_code: c,
                rest_of_header: rest,
                data,
            },
        }
    }

    fn arb_addrs() -> impl Strategy<Value = AddrPair> {
        (any::<[u8; 16]>(), any::<[u8; 16]>()).prop_map(|(a, b)| AddrPair::V6 {
            src: Ipv6Addr::from(a),
            dst: Ipv6Addr::from(b),
        })
    }

    proptest! {
        #[test]
        fn parse_of_emit_is_identity(
            g in arb_gen(),
            data in proptest::collection::vec(any::<u8>(), 0..120),
            addrs in arb_addrs(),
        ) {
            let repr = build(&g, &data);
            let bytes = emit(&repr, &addrs);
            prop_assert_eq!(parse(&bytes, &addrs), Ok(repr));
            let _ = repr.to_string();
        }

        #[test]
        fn echo_emit_matches_etherparse(
            ident: u16,
            seq: u16,
            data in proptest::collection::vec(any::<u8>(), 0..100),
            a: [u8; 16],
            b: [u8; 16],
        ) {
            let addrs = AddrPair::V6 { src: Ipv6Addr::from(a), dst: Ipv6Addr::from(b) };
            let repr = Icmpv6Repr::EchoRequest { ident, seq_no: seq, data: &data };
            let header = etherparse::Icmpv6Header::with_checksum(
                etherparse::Icmpv6Type::EchoRequest(etherparse::IcmpEchoHeader { id: ident, seq }),
                a,
                b,
                &data,
            ).unwrap();
            prop_assert_eq!(&emit(&repr, &addrs)[..8], &header.to_bytes()[..]);
        }

        #[test]
        fn codes_round_trip(v: u8) {
            prop_assert_eq!(u8::from(Icmpv6Message::from(v)), v);
            prop_assert_eq!(u8::from(Icmpv6DstUnreachable::from(v)), v);
            prop_assert_eq!(u8::from(Icmpv6TimeExceeded::from(v)), v);
            prop_assert_eq!(u8::from(Icmpv6ParamProblem::from(v)), v);
        }

        #[test]
        fn arbitrary_bytes_never_panic(
            bytes in proptest::collection::vec(any::<u8>(), 0..120),
            addrs in arb_addrs(),
        ) {
            if let Ok(packet) = Icmpv6Packet::new_checked(&bytes[..]) {
                let _ = (packet.msg_type(), packet.mtu(), packet.pointer(), packet.data());
                if let Ok(repr) = Icmpv6Repr::parse(&packet, &addrs, ChecksumMode::Offloaded) {
                    let _ = repr.to_string();
                    let _ = repr.quoted();
                    prop_assert_eq!(emit(&repr, &addrs).len(), bytes.len());
                }
            }
            let unchecked = Icmpv6Packet::new_unchecked(&bytes[..]);
            let _ = Icmpv6Repr::parse(&unchecked, &addrs, ChecksumMode::Enabled);
        }
    }
}
