//! ICMP for IPv4 (RFC 792, RFC 1122 section 3.2.2, RFC 1191): the message header, its
//! checksum, and a `Repr` that names the messages a host acts on.
//!
//! ```text
//!  0                   1                   2                   3
//!  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |     Type      |     Code      |          Checksum             |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |           rest of header (identifier and sequence number,     |
//! |           next-hop MTU, pointer, gateway, or unused)          |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |     Data (echo data, or the invoking packet for errors) ...
//! ```
//!
//! ICMP has no length field: a message is the whole IP payload it arrives in, so a
//! packet view must be given exactly that slice.

use core::fmt;
use core::net::Ipv4Addr;

use crate::checksum;
use crate::error::{Error, Result};
use crate::ip::{ChecksumMode, IpProtocol};
use crate::quoted::{quoted_ipv4, Quoted};

mod field {
    use core::ops::Range;

    pub const TYPE: usize = 0;
    pub const CODE: usize = 1;
    pub const CHECKSUM: Range<usize> = 2..4;
    pub const REST: Range<usize> = 4..8;
    pub const ECHO_IDENT: Range<usize> = 4..6;
    pub const ECHO_SEQ_NO: Range<usize> = 6..8;
    pub const NEXT_HOP_MTU: Range<usize> = 6..8;
    pub const POINTER: usize = 4;
    pub const DATA: usize = 8;
}

/// The length of the ICMP header (type, code, checksum and the 4-byte rest of header).
pub const HEADER_LEN: usize = field::DATA;

/// The most of the invoking packet an error message should quote: what keeps the
/// whole ICMP datagram (20-byte IP header, 8-byte ICMP header, quote) within 576 bytes,
/// as RFC 1812 section 4.3.2.3 asks. RFC 1122 section 3.2.2 requires at least the IP
/// header and 8 bytes after it.
pub const MAX_ERROR_DATA_LEN: usize = 576 - 20 - HEADER_LEN;

/// An ICMP message type (RFC 792 and its successors).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Icmpv4Message {
    /// Echo reply (0).
    EchoReply,
    /// Destination unreachable (3).
    DstUnreachable,
    /// Source quench (4), deprecated by RFC 6633.
    SourceQuench,
    /// Redirect (5).
    Redirect,
    /// Echo request (8).
    EchoRequest,
    /// Router advertisement (9), RFC 1256.
    RouterAdvert,
    /// Router solicitation (10), RFC 1256.
    RouterSolicit,
    /// Time exceeded (11).
    TimeExceeded,
    /// Parameter problem (12).
    ParamProblem,
    /// Timestamp (13).
    Timestamp,
    /// Timestamp reply (14).
    TimestampReply,
    /// Information request (15), deprecated.
    InfoRequest,
    /// Information reply (16), deprecated.
    InfoReply,
    /// Address mask request (17), RFC 950.
    AddrMaskRequest,
    /// Address mask reply (18), RFC 950.
    AddrMaskReply,
    /// Any other type.
    Unknown(u8),
}

impl From<u8> for Icmpv4Message {
    fn from(v: u8) -> Self {
        match v {
            0 => Icmpv4Message::EchoReply,
            3 => Icmpv4Message::DstUnreachable,
            4 => Icmpv4Message::SourceQuench,
            5 => Icmpv4Message::Redirect,
            8 => Icmpv4Message::EchoRequest,
            9 => Icmpv4Message::RouterAdvert,
            10 => Icmpv4Message::RouterSolicit,
            11 => Icmpv4Message::TimeExceeded,
            12 => Icmpv4Message::ParamProblem,
            13 => Icmpv4Message::Timestamp,
            14 => Icmpv4Message::TimestampReply,
            15 => Icmpv4Message::InfoRequest,
            16 => Icmpv4Message::InfoReply,
            17 => Icmpv4Message::AddrMaskRequest,
            18 => Icmpv4Message::AddrMaskReply,
            other => Icmpv4Message::Unknown(other),
        }
    }
}

impl From<Icmpv4Message> for u8 {
    fn from(m: Icmpv4Message) -> u8 {
        match m {
            Icmpv4Message::EchoReply => 0,
            Icmpv4Message::DstUnreachable => 3,
            Icmpv4Message::SourceQuench => 4,
            Icmpv4Message::Redirect => 5,
            Icmpv4Message::EchoRequest => 8,
            Icmpv4Message::RouterAdvert => 9,
            Icmpv4Message::RouterSolicit => 10,
            Icmpv4Message::TimeExceeded => 11,
            Icmpv4Message::ParamProblem => 12,
            Icmpv4Message::Timestamp => 13,
            Icmpv4Message::TimestampReply => 14,
            Icmpv4Message::InfoRequest => 15,
            Icmpv4Message::InfoReply => 16,
            Icmpv4Message::AddrMaskRequest => 17,
            Icmpv4Message::AddrMaskReply => 18,
            Icmpv4Message::Unknown(v) => v,
        }
    }
}

impl Icmpv4Message {
    /// Whether messages of this type report an error and quote the invoking packet
    /// (destination unreachable, source quench, redirect, time exceeded, parameter
    /// problem).
    pub fn is_error(self) -> bool {
        matches!(
            self,
            Icmpv4Message::DstUnreachable
                | Icmpv4Message::SourceQuench
                | Icmpv4Message::Redirect
                | Icmpv4Message::TimeExceeded
                | Icmpv4Message::ParamProblem
        )
    }
}

/// Why a destination was unreachable: the code of a type 3 message.
//= https://www.rfc-editor.org/rfc/rfc1122#section-3.2.2.1
//# The following additional codes are hereby defined:
// Codes 0 to 5 are RFC 792's, 6 to 12 RFC 1122's, 13 to 15 RFC 1812's (section 5.2.7.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Icmpv4DstUnreachable {
    /// 0: net unreachable.
    NetUnreachable,
    /// 1: host unreachable.
    HostUnreachable,
    /// 2: protocol unreachable.
    ProtoUnreachable,
    /// 3: port unreachable.
    PortUnreachable,
    /// 4: fragmentation needed and DF set (carries the next-hop MTU, RFC 1191).
    FragRequired,
    /// 5: source route failed.
    SrcRouteFailed,
    /// 6: destination network unknown.
    DstNetUnknown,
    /// 7: destination host unknown.
    DstHostUnknown,
    /// 8: source host isolated.
    SrcHostIsolated,
    /// 9: communication with destination network administratively prohibited.
    NetProhibited,
    /// 10: communication with destination host administratively prohibited.
    HostProhibited,
    /// 11: network unreachable for type of service.
    NetUnreachToS,
    /// 12: host unreachable for type of service.
    HostUnreachToS,
    /// 13: communication administratively prohibited (by filtering).
    CommProhibited,
    /// 14: host precedence violation.
    HostPrecedenceViolation,
    /// 15: precedence cutoff in effect.
    PrecedenceCutoff,
    /// Any other code.
    Other(u8),
}

impl From<u8> for Icmpv4DstUnreachable {
    fn from(v: u8) -> Self {
        use Icmpv4DstUnreachable::*;
        match v {
            0 => NetUnreachable,
            1 => HostUnreachable,
            2 => ProtoUnreachable,
            3 => PortUnreachable,
            4 => FragRequired,
            5 => SrcRouteFailed,
            6 => DstNetUnknown,
            7 => DstHostUnknown,
            8 => SrcHostIsolated,
            9 => NetProhibited,
            10 => HostProhibited,
            11 => NetUnreachToS,
            12 => HostUnreachToS,
            13 => CommProhibited,
            14 => HostPrecedenceViolation,
            15 => PrecedenceCutoff,
            other => Other(other),
        }
    }
}

impl From<Icmpv4DstUnreachable> for u8 {
    fn from(c: Icmpv4DstUnreachable) -> u8 {
        use Icmpv4DstUnreachable::*;
        match c {
            NetUnreachable => 0,
            HostUnreachable => 1,
            ProtoUnreachable => 2,
            PortUnreachable => 3,
            FragRequired => 4,
            SrcRouteFailed => 5,
            DstNetUnknown => 6,
            DstHostUnknown => 7,
            SrcHostIsolated => 8,
            NetProhibited => 9,
            HostProhibited => 10,
            NetUnreachToS => 11,
            HostUnreachToS => 12,
            CommProhibited => 13,
            HostPrecedenceViolation => 14,
            PrecedenceCutoff => 15,
            Other(v) => v,
        }
    }
}

/// Why a datagram's time ran out: the code of a type 11 message.
//= https://www.rfc-editor.org/rfc/rfc792#page-6
//# 0 = time to live exceeded in transit;
//#
//# 1 = fragment reassembly time exceeded.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Icmpv4TimeExceeded {
    /// 0: time to live exceeded in transit.
    TtlExpired,
    /// 1: fragment reassembly time exceeded.
    FragReassembly,
    /// Any other code.
    Other(u8),
}

impl From<u8> for Icmpv4TimeExceeded {
    fn from(v: u8) -> Self {
        match v {
            0 => Icmpv4TimeExceeded::TtlExpired,
            1 => Icmpv4TimeExceeded::FragReassembly,
            other => Icmpv4TimeExceeded::Other(other),
        }
    }
}

impl From<Icmpv4TimeExceeded> for u8 {
    fn from(c: Icmpv4TimeExceeded) -> u8 {
        match c {
            Icmpv4TimeExceeded::TtlExpired => 0,
            Icmpv4TimeExceeded::FragReassembly => 1,
            Icmpv4TimeExceeded::Other(v) => v,
        }
    }
}

/// What was wrong with a header: the code of a type 12 message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Icmpv4ParamProblem {
    /// 0: the pointer indicates the error (RFC 792).
    AtPointer,
    /// 1: a required option is missing (RFC 1108).
    MissingOption,
    /// 2: bad length (IANA ICMP parameters registry).
    BadLength,
    /// Any other code.
    Other(u8),
}

impl From<u8> for Icmpv4ParamProblem {
    fn from(v: u8) -> Self {
        match v {
            0 => Icmpv4ParamProblem::AtPointer,
            1 => Icmpv4ParamProblem::MissingOption,
            2 => Icmpv4ParamProblem::BadLength,
            other => Icmpv4ParamProblem::Other(other),
        }
    }
}

impl From<Icmpv4ParamProblem> for u8 {
    fn from(c: Icmpv4ParamProblem) -> u8 {
        match c {
            Icmpv4ParamProblem::AtPointer => 0,
            Icmpv4ParamProblem::MissingOption => 1,
            Icmpv4ParamProblem::BadLength => 2,
            Icmpv4ParamProblem::Other(v) => v,
        }
    }
}

/// A zero-copy view of an ICMP message.
///
/// Getters on a view made with [`Icmpv4Packet::new_unchecked`] panic if the buffer is
/// shorter than the 8-byte header; untrusted bytes must go through
/// [`Icmpv4Packet::new_checked`], after which no getter panics.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Icmpv4Packet<T: AsRef<[u8]>> {
    buffer: T,
}

#[inline]
fn read_u16(bytes: &[u8], at: core::ops::Range<usize>) -> u16 {
    let b = &bytes[at];
    u16::from_be_bytes([b[0], b[1]])
}

impl<T: AsRef<[u8]>> Icmpv4Packet<T> {
    /// Wrap a buffer without checking it. See the type docs for the panic contract.
    pub const fn new_unchecked(buffer: T) -> Icmpv4Packet<T> {
        Icmpv4Packet { buffer }
    }

    /// Wrap a buffer, checking that it holds the 8-byte header.
    pub fn new_checked(buffer: T) -> Result<Icmpv4Packet<T>> {
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
    pub fn msg_type(&self) -> Icmpv4Message {
        Icmpv4Message::from(self.buffer.as_ref()[field::TYPE])
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

    /// The next-hop MTU of a "fragmentation needed" message (RFC 1191); the low half of
    /// the field RFC 792 calls unused.
    #[inline]
    pub fn next_hop_mtu(&self) -> u16 {
        read_u16(self.buffer.as_ref(), field::NEXT_HOP_MTU)
    }

    /// The pointer of a parameter problem message: the octet of the invoking header
    /// where the error was found.
    #[inline]
    pub fn pointer(&self) -> u8 {
        self.buffer.as_ref()[field::POINTER]
    }

    /// Everything after the 8-byte header: echo data, or the invoking packet.
    #[inline]
    pub fn data(&self) -> &[u8] {
        let buf = self.buffer.as_ref();
        &buf[HEADER_LEN.min(buf.len())..]
    }

    /// Whether the checksum verifies over the whole message.
    //= https://www.rfc-editor.org/rfc/rfc792#page-4
    //# The checksum is the 16-bit ones's complement of the one's
    //# complement sum of the ICMP message starting with the ICMP Type.
    pub fn verify_checksum(&self) -> bool {
        checksum::data(self.buffer.as_ref()) == 0xffff
    }
}

impl<T: AsRef<[u8]> + AsMut<[u8]>> Icmpv4Packet<T> {
    /// Set the message type.
    #[inline]
    pub fn set_msg_type(&mut self, value: Icmpv4Message) {
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

    /// Set the next-hop MTU (only the low 16 bits of the rest of header).
    #[inline]
    pub fn set_next_hop_mtu(&mut self, value: u16) {
        self.buffer.as_mut()[field::NEXT_HOP_MTU].copy_from_slice(&value.to_be_bytes());
    }

    /// Set the parameter-problem pointer (only the first byte of the rest of header).
    #[inline]
    pub fn set_pointer(&mut self, value: u8) {
        self.buffer.as_mut()[field::POINTER] = value;
    }

    /// Everything after the 8-byte header, mutably.
    #[inline]
    pub fn data_mut(&mut self) -> &mut [u8] {
        let buf = self.buffer.as_mut();
        let start = HEADER_LEN.min(buf.len());
        &mut buf[start..]
    }

    /// Compute the checksum over the whole buffer and store it.
    pub fn fill_checksum(&mut self) {
        self.set_checksum(0);
        let sum = checksum::finish(checksum::data(self.buffer.as_ref()));
        self.set_checksum(sum);
    }
}

impl<T: AsRef<[u8]>> AsRef<[u8]> for Icmpv4Packet<T> {
    fn as_ref(&self) -> &[u8] {
        self.buffer.as_ref()
    }
}

/// A parsed ICMP message.
///
/// Every well-formed message parses: the messages a host acts on get their own
/// variant, and anything else (including a known type with a code it does not define)
/// is [`Icmpv4Repr::Other`], which emits back the same bytes. Error variants carry the
/// `invoking` packet as quoted (its IP header and at least 8 bytes after it; see
/// [`Icmpv4Repr::quoted`] to read it). Fields RFC 792 calls unused are ignored on
/// parse and written as zero on emit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Icmpv4Repr<'a> {
    /// Echo request (type 8, code 0).
    EchoRequest {
        /// Identifier, to match replies to requests.
        ident: u16,
        /// Sequence number.
        seq_no: u16,
        /// The data, to be returned in the reply.
        data: &'a [u8],
    },
    /// Echo reply (type 0, code 0).
    EchoReply {
        /// Identifier copied from the request.
        ident: u16,
        /// Sequence number copied from the request.
        seq_no: u16,
        /// The request's data.
        data: &'a [u8],
    },
    /// Destination unreachable (type 3).
    DstUnreachable {
        /// The code.
        reason: Icmpv4DstUnreachable,
        /// The next-hop MTU for [`Icmpv4DstUnreachable::FragRequired`] (RFC 1191;
        /// 0 from a router that predates it); 0 for every other code.
        next_hop_mtu: u16,
        /// The packet that could not be delivered, as quoted.
        invoking: &'a [u8],
    },
    /// Time exceeded (type 11).
    TimeExceeded {
        /// The code.
        reason: Icmpv4TimeExceeded,
        /// The packet that was dropped, as quoted.
        invoking: &'a [u8],
    },
    /// Parameter problem (type 12).
    ParamProblem {
        /// The code.
        reason: Icmpv4ParamProblem,
        /// The octet of the invoking header where the error was found (meaningful for
        /// [`Icmpv4ParamProblem::AtPointer`]).
        pointer: u8,
        /// The packet that was dropped, as quoted.
        invoking: &'a [u8],
    },
    /// Any other message, kept whole.
    Other {
        /// The type.
        msg_type: Icmpv4Message,
        /// The code.
        msg_code: u8,
        /// The four bytes after the checksum.
        rest_of_header: [u8; 4],
        /// Everything after the header.
        data: &'a [u8],
    },
}

impl<'a> Icmpv4Repr<'a> {
    /// Parse a message, verifying its checksum under [`ChecksumMode::Enabled`]
    /// ([`Error::BadChecksum`]); [`Error::Truncated`] if shorter than 8 bytes.
    pub fn parse<T>(packet: &Icmpv4Packet<&'a T>, mode: ChecksumMode) -> Result<Icmpv4Repr<'a>>
    where
        T: AsRef<[u8]> + ?Sized,
    {
        packet.check_len()?;
        if mode == ChecksumMode::Enabled && !packet.verify_checksum() {
            return Err(Error::BadChecksum);
        }
        let buf: &'a [u8] = packet.buffer.as_ref();
        let data: &'a [u8] = buf.get(HEADER_LEN..).ok_or(Error::Truncated)?;
        let code = packet.msg_code();
        //= https://www.rfc-editor.org/rfc/rfc792#page-2
        //# Any field
        //# labeled "unused" is reserved for later extensions and must be zero
        //# when sent, but receivers should not use these fields (except to
        //# include them in the checksum).
        Ok(match (packet.msg_type(), code) {
            (Icmpv4Message::EchoRequest, 0) => Icmpv4Repr::EchoRequest {
                ident: packet.echo_ident(),
                seq_no: packet.echo_seq_no(),
                data,
            },
            (Icmpv4Message::EchoReply, 0) => Icmpv4Repr::EchoReply {
                ident: packet.echo_ident(),
                seq_no: packet.echo_seq_no(),
                data,
            },
            (Icmpv4Message::DstUnreachable, code) => {
                let reason = Icmpv4DstUnreachable::from(code);
                //= https://www.rfc-editor.org/rfc/rfc1191#section-4
                //# The high-order 16 bits remain unused, and MUST be set to zero.
                let next_hop_mtu = if reason == Icmpv4DstUnreachable::FragRequired {
                    packet.next_hop_mtu()
                } else {
                    0
                };
                Icmpv4Repr::DstUnreachable {
                    reason,
                    next_hop_mtu,
                    invoking: data,
                }
            }
            (Icmpv4Message::TimeExceeded, code) => Icmpv4Repr::TimeExceeded {
                reason: code.into(),
                invoking: data,
            },
            (Icmpv4Message::ParamProblem, code) => Icmpv4Repr::ParamProblem {
                reason: code.into(),
                pointer: packet.pointer(),
                invoking: data,
            },
            (msg_type, msg_code) => Icmpv4Repr::Other {
                msg_type,
                msg_code,
                rest_of_header: packet.rest_of_header(),
                data,
            },
        })
    }

    /// The type this message is sent as.
    pub fn msg_type(&self) -> Icmpv4Message {
        match self {
            Icmpv4Repr::EchoRequest { .. } => Icmpv4Message::EchoRequest,
            Icmpv4Repr::EchoReply { .. } => Icmpv4Message::EchoReply,
            Icmpv4Repr::DstUnreachable { .. } => Icmpv4Message::DstUnreachable,
            Icmpv4Repr::TimeExceeded { .. } => Icmpv4Message::TimeExceeded,
            Icmpv4Repr::ParamProblem { .. } => Icmpv4Message::ParamProblem,
            Icmpv4Repr::Other { msg_type, .. } => *msg_type,
        }
    }

    /// The code this message is sent with.
    pub fn msg_code(&self) -> u8 {
        match *self {
            Icmpv4Repr::EchoRequest { .. } | Icmpv4Repr::EchoReply { .. } => 0,
            Icmpv4Repr::DstUnreachable { reason, .. } => reason.into(),
            Icmpv4Repr::TimeExceeded { reason, .. } => reason.into(),
            Icmpv4Repr::ParamProblem { reason, .. } => reason.into(),
            Icmpv4Repr::Other { msg_code, .. } => msg_code,
        }
    }

    /// The rest-of-header bytes this message is sent with.
    fn rest_of_header(&self) -> [u8; 4] {
        match *self {
            Icmpv4Repr::EchoRequest { ident, seq_no, .. }
            | Icmpv4Repr::EchoReply { ident, seq_no, .. } => {
                let (i, s) = (ident.to_be_bytes(), seq_no.to_be_bytes());
                [i[0], i[1], s[0], s[1]]
            }
            //= https://www.rfc-editor.org/rfc/rfc1191#section-4
            // RFC 1191 gives the low 16 bits of the unused field the next-hop MTU in
            // "fragmentation needed" messages only. Only "fragmentation needed" carries the MTU, so parse reads it for that
            // code alone and emit writes it for that code alone: the two agree.
            Icmpv4Repr::DstUnreachable {
                reason: Icmpv4DstUnreachable::FragRequired,
                next_hop_mtu,
                ..
            } => {
                let m = next_hop_mtu.to_be_bytes();
                [0, 0, m[0], m[1]]
            }
            Icmpv4Repr::DstUnreachable { .. } => [0; 4],
            Icmpv4Repr::TimeExceeded { .. } => [0; 4],
            Icmpv4Repr::ParamProblem { pointer, .. } => [pointer, 0, 0, 0],
            Icmpv4Repr::Other { rest_of_header, .. } => rest_of_header,
        }
    }

    /// The bytes after the header: echo data, the invoking packet, or other data.
    pub fn data(&self) -> &'a [u8] {
        match *self {
            Icmpv4Repr::EchoRequest { data, .. }
            | Icmpv4Repr::EchoReply { data, .. }
            | Icmpv4Repr::Other { data, .. } => data,
            Icmpv4Repr::DstUnreachable { invoking, .. }
            | Icmpv4Repr::TimeExceeded { invoking, .. }
            | Icmpv4Repr::ParamProblem { invoking, .. } => invoking,
        }
    }

    /// Whether this message reports an error about a packet it quotes.
    pub fn is_error(&self) -> bool {
        self.msg_type().is_error()
    }

    /// The quoted invoking packet of an error message (including a source quench or
    /// redirect kept as [`Icmpv4Repr::Other`]), or `None` for other messages.
    pub fn invoking(&self) -> Option<&'a [u8]> {
        self.is_error().then(|| self.data())
    }

    /// The quoted packet's addresses, protocol and ports, read with [`quoted_ipv4`],
    /// or `None` if this is not an error message.
    //= https://www.rfc-editor.org/rfc/rfc1122#section-3.2.2
    //# In those cases where the Internet layer is required to pass an
    //# ICMP error message to the transport layer, the IP protocol
    //# number MUST be extracted from the original header and used to
    //# select the appropriate transport protocol entity to handle the
    //# error.
    pub fn quoted(&self) -> Option<Result<Quoted>> {
        self.invoking().map(quoted_ipv4)
    }

    /// The length of the message [`Icmpv4Repr::emit`] writes.
    pub fn buffer_len(&self) -> usize {
        HEADER_LEN + self.data().len()
    }

    /// Write the whole message into `packet`, with its checksum under
    /// [`ChecksumMode::Enabled`] (over the first [`Icmpv4Repr::buffer_len`] bytes) or
    /// a zero checksum under [`ChecksumMode::Offloaded`].
    ///
    /// # Panics
    /// If the packet's buffer is shorter than [`Icmpv4Repr::buffer_len`].
    pub fn emit<T>(&self, packet: &mut Icmpv4Packet<T>, mode: ChecksumMode)
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
            let sum = checksum::data(&packet.buffer.as_ref()[..self.buffer_len()]);
            packet.set_checksum(checksum::finish(sum));
        }
    }
}

/// The destination address of a quoted IPv4 header, read as loosely as tcpdump does.
fn quoted_dst(invoking: &[u8]) -> Option<Ipv4Addr> {
    let d = invoking.get(16..20)?;
    Some(Ipv4Addr::new(d[0], d[1], d[2], d[3]))
}

/// Milliseconds since midnight UT as tcpdump prints them (`01:02:03.004`).
struct Millis(u32);

impl fmt::Display for Millis {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (ms, s) = (self.0 % 1000, self.0 / 1000);
        let (m, s) = (s / 60, s % 60);
        write!(f, "{:02}:{:02}:{:02}.{:03}", m / 60, m % 60, s, ms)
    }
}

impl Icmpv4Repr<'_> {
    /// The words between `ICMP ` and `, length N` in tcpdump's line; `None` where
    /// tcpdump would print `[|icmp]` because the quote is too short.
    pub(crate) fn describe(&self, f: &mut fmt::Formatter<'_>) -> Option<fmt::Result> {
        use Icmpv4DstUnreachable::*;
        Some(match *self {
            Icmpv4Repr::EchoRequest { ident, seq_no, .. } => {
                write!(f, "echo request, id {ident}, seq {seq_no}")
            }
            Icmpv4Repr::EchoReply { ident, seq_no, .. } => {
                write!(f, "echo reply, id {ident}, seq {seq_no}")
            }
            Icmpv4Repr::DstUnreachable {
                reason,
                next_hop_mtu,
                invoking,
            } => {
                let dst = quoted_dst(invoking)?;
                match reason {
                    ProtoUnreachable => {
                        write!(f, "{dst} protocol {} unreachable", invoking[9])
                    }
                    PortUnreachable => {
                        let ihl = usize::from(invoking[0] & 0x0f) * 4;
                        let port = invoking.get(ihl + 2..ihl + 4)?;
                        let port = u16::from_be_bytes([port[0], port[1]]);
                        match IpProtocol::from(invoking[9]) {
                            p @ (IpProtocol::Tcp | IpProtocol::Udp) => {
                                write!(f, "{dst} {p} port {port} unreachable")
                            }
                            p => {
                                write!(f, "{dst} protocol {} port {port} unreachable", u8::from(p))
                            }
                        }
                    }
                    FragRequired if next_hop_mtu != 0 => {
                        write!(f, "{dst} unreachable - need to frag (mtu {next_hop_mtu})")
                    }
                    FragRequired => write!(f, "{dst} unreachable - need to frag"),
                    NetUnreachable => write!(f, "net {dst} unreachable"),
                    HostUnreachable => write!(f, "host {dst} unreachable"),
                    SrcRouteFailed => write!(f, "{dst} unreachable - source route failed"),
                    DstNetUnknown => write!(f, "net {dst} unreachable - unknown"),
                    DstHostUnknown => write!(f, "host {dst} unreachable - unknown"),
                    SrcHostIsolated => write!(f, "{dst} unreachable - source host isolated"),
                    NetProhibited => write!(f, "net {dst} unreachable - admin prohibited"),
                    HostProhibited => write!(f, "host {dst} unreachable - admin prohibited"),
                    NetUnreachToS => write!(f, "net {dst} unreachable - tos prohibited"),
                    HostUnreachToS => write!(f, "host {dst} unreachable - tos prohibited"),
                    CommProhibited => {
                        write!(f, "host {dst} unreachable - admin prohibited filter")
                    }
                    HostPrecedenceViolation => {
                        write!(f, "host {dst} unreachable - host precedence violation")
                    }
                    PrecedenceCutoff => write!(f, "host {dst} unreachable - precedence cutoff"),
                    Other(code) => write!(f, "{dst} unreachable - #{code}"),
                }
            }
            Icmpv4Repr::TimeExceeded { reason, invoking } => {
                quoted_dst(invoking)?;
                match reason {
                    Icmpv4TimeExceeded::TtlExpired => f.write_str("time exceeded in-transit"),
                    Icmpv4TimeExceeded::FragReassembly => {
                        f.write_str("ip reassembly time exceeded")
                    }
                    Icmpv4TimeExceeded::Other(code) => write!(f, "time exceeded-#{code}"),
                }
            }
            Icmpv4Repr::ParamProblem {
                reason: Icmpv4ParamProblem::AtPointer,
                pointer,
                ..
            } => write!(f, "parameter problem - octet {pointer}"),
            Icmpv4Repr::ParamProblem { reason, .. } => {
                write!(f, "parameter problem - code {}", u8::from(reason))
            }
            Icmpv4Repr::Other {
                msg_type,
                msg_code,
                rest_of_header: rest,
                data,
            } => return describe_other(f, msg_type, msg_code, rest, data),
        })
    }
}

fn describe_other(
    f: &mut fmt::Formatter<'_>,
    msg_type: Icmpv4Message,
    code: u8,
    rest: [u8; 4],
    data: &[u8],
) -> Option<fmt::Result> {
    let ident = u16::from_be_bytes([rest[0], rest[1]]);
    let seq = u16::from_be_bytes([rest[2], rest[3]]);
    let word = |at: usize| -> Option<u32> {
        let w = data.get(at..at + 4)?;
        Some(u32::from_be_bytes([w[0], w[1], w[2], w[3]]))
    };
    Some(match msg_type {
        Icmpv4Message::EchoRequest => write!(f, "echo request, id {ident}, seq {seq}"),
        Icmpv4Message::EchoReply => write!(f, "echo reply, id {ident}, seq {seq}"),
        Icmpv4Message::Redirect => {
            let dst = quoted_dst(data)?;
            let gw = Ipv4Addr::from(rest);
            match code {
                0 => write!(f, "redirect {dst} to net {gw}"),
                1 => write!(f, "redirect {dst} to host {gw}"),
                2 => write!(f, "redirect-tos {dst} to net {gw}"),
                3 => write!(f, "redirect-tos {dst} to host {gw}"),
                _ => write!(f, "redirect-#{code} {dst} to {gw}"),
            }
        }
        Icmpv4Message::RouterAdvert => {
            let (num, size) = (rest[0], rest[1]);
            let life = seq;
            f.write_str("router advertisement lifetime ")
                .and_then(|()| match life {
                    0..60 => write!(f, "{life}"),
                    60..3600 => write!(f, "{}:{:02}", life / 60, life % 60),
                    _ => write!(
                        f,
                        "{}:{:02}:{:02}",
                        life / 3600,
                        life % 3600 / 60,
                        life % 60
                    ),
                })
                .and_then(|()| write!(f, " {num}:"))
                .and_then(|()| {
                    if size != 2 {
                        return write!(f, " [size {size}]");
                    }
                    for entry in data.chunks_exact(8).take(usize::from(num)) {
                        let addr = Ipv4Addr::new(entry[0], entry[1], entry[2], entry[3]);
                        let pref = u32::from_be_bytes([entry[4], entry[5], entry[6], entry[7]]);
                        write!(f, " {{{addr} {pref}}}")?;
                    }
                    Ok(())
                })
        }
        Icmpv4Message::Timestamp => write!(f, "time stamp query id {ident} seq {seq}"),
        Icmpv4Message::TimestampReply => {
            let (org, recv, xmit) = (word(0)?, word(4)?, word(8)?);
            write!(
                f,
                "time stamp reply id {ident} seq {seq}: org {}, recv {}, xmit {}",
                Millis(org),
                Millis(recv),
                Millis(xmit)
            )
        }
        Icmpv4Message::AddrMaskReply => write!(f, "address mask is 0x{:08x}", word(0)?),
        Icmpv4Message::SourceQuench => f.write_str("source quench"),
        Icmpv4Message::RouterSolicit => f.write_str("router solicitation"),
        Icmpv4Message::InfoRequest => f.write_str("information request"),
        Icmpv4Message::InfoReply => f.write_str("information reply"),
        Icmpv4Message::AddrMaskRequest => f.write_str("address mask request"),
        other => write!(f, "type-#{}", u8::from(other)),
    })
}

impl fmt::Display for Icmpv4Repr<'_> {
    /// As `tcpdump -n` prints the ICMP part of a line:
    /// `ICMP echo request, id 1, seq 1, length 64`,
    /// `ICMP 10.0.0.2 udp port 9999 unreachable, length 36`; `[|icmp]` where the
    /// quoted header is too short to say what tcpdump says.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ICMP ")?;
        match self.describe(f) {
            Some(r) => {
                r?;
                write!(f, ", length {}", self.buffer_len())
            }
            None => f.write_str("[|icmp]"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::seq::SeqNumber;
    use core::net::IpAddr;
    use proptest::prelude::*;

    /// `ping -c1 127.0.0.1` on Linux: the ICMP part of the echo request, 64 bytes
    /// (a 16-byte timeval, then the bytes 0x10 to 0x37).
    const PING_REQUEST: [u8; 64] = [
        0x08, 0x00, 0x2a, 0xa1, 0x28, 0xbd, 0x00, 0x01, 0x94, 0x51, 0x02, 0x6b, 0x00, 0x00, 0x00,
        0x00, 0x4f, 0x11, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x10, 0x11, 0x12, 0x13, 0x14, 0x15,
        0x16, 0x17, 0x18, 0x19, 0x1a, 0x1b, 0x1c, 0x1d, 0x1e, 0x1f, 0x20, 0x21, 0x22, 0x23, 0x24,
        0x25, 0x26, 0x27, 0x28, 0x29, 0x2a, 0x2b, 0x2c, 0x2d, 0x2e, 0x2f, 0x30, 0x31, 0x32, 0x33,
        0x34, 0x35, 0x36, 0x37,
    ];

    /// The kernel's echo reply to [`PING_REQUEST`].
    const PING_REPLY: [u8; 64] = [
        0x00, 0x00, 0x32, 0xa1, 0x28, 0xbd, 0x00, 0x01, 0x94, 0x51, 0x02, 0x6b, 0x00, 0x00, 0x00,
        0x00, 0x4f, 0x11, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x10, 0x11, 0x12, 0x13, 0x14, 0x15,
        0x16, 0x17, 0x18, 0x19, 0x1a, 0x1b, 0x1c, 0x1d, 0x1e, 0x1f, 0x20, 0x21, 0x22, 0x23, 0x24,
        0x25, 0x26, 0x27, 0x28, 0x29, 0x2a, 0x2b, 0x2c, 0x2d, 0x2e, 0x2f, 0x30, 0x31, 0x32, 0x33,
        0x34, 0x35, 0x36, 0x37,
    ];

    /// Linux's port unreachable for a UDP datagram 127.0.0.1:5000 -> 127.0.0.1:9999
    /// ("hello"), quoting the whole 33-byte datagram.
    const PORT_UNREACHABLE: [u8; 41] = [
        0x03, 0x03, 0x80, 0x65, 0x00, 0x00, 0x00, 0x00, 0x45, 0x00, 0x00, 0x21, 0x87, 0x86, 0x40,
        0x00, 0x40, 0x11, 0xb5, 0x43, 0x7f, 0x00, 0x00, 0x01, 0x7f, 0x00, 0x00, 0x01, 0x13, 0x88,
        0x27, 0x0f, 0x00, 0x0d, 0xfe, 0x20, 0x68, 0x65, 0x6c, 0x6c, 0x6f,
    ];

    /// A router's "fragmentation needed" (next-hop MTU 1400) about a 1500-byte TCP
    /// segment 10.0.0.1:40000 -> 10.0.0.2:80, seq 0x01020304, quoting header + 8 bytes.
    /// tcpdump: `ICMP 10.0.0.2 unreachable - need to frag (mtu 1400), length 36`.
    const NEED_FRAG: [u8; 36] = [
        0x03, 0x04, 0x56, 0xed, 0x00, 0x00, 0x05, 0x78, 0x45, 0x00, 0x05, 0xdc, 0x12, 0x34, 0x40,
        0x00, 0x40, 0x06, 0x0e, 0xe6, 0x0a, 0x00, 0x00, 0x01, 0x0a, 0x00, 0x00, 0x02, 0x9c, 0x40,
        0x00, 0x50, 0x01, 0x02, 0x03, 0x04,
    ];

    /// A router's "time exceeded in transit" about a traceroute-style UDP probe
    /// 10.0.0.1:33434 -> 10.0.0.2:33434 with TTL 1.
    const TIME_EXCEEDED: [u8; 36] = [
        0x0b, 0x00, 0xef, 0xb8, 0x00, 0x00, 0x00, 0x00, 0x45, 0x00, 0x00, 0x26, 0x12, 0x34, 0x40,
        0x00, 0x01, 0x11, 0x53, 0x91, 0x0a, 0x00, 0x00, 0x01, 0x0a, 0x00, 0x00, 0x02, 0x82, 0x9a,
        0x82, 0x9a, 0x00, 0x12, 0x00, 0x00,
    ];

    /// Parameter problem, pointer 1, about the TCP segment of [`NEED_FRAG`].
    const PARAM_PROBLEM: [u8; 36] = [
        0x0c, 0x00, 0x52, 0x69, 0x01, 0x00, 0x00, 0x00, 0x45, 0x00, 0x05, 0xdc, 0x12, 0x34, 0x40,
        0x00, 0x40, 0x06, 0x0e, 0xe6, 0x0a, 0x00, 0x00, 0x01, 0x0a, 0x00, 0x00, 0x02, 0x9c, 0x40,
        0x00, 0x50, 0x01, 0x02, 0x03, 0x04,
    ];

    /// A host redirect to gateway 10.0.0.253 about the probe of [`TIME_EXCEEDED`].
    const REDIRECT: [u8; 36] = [
        0x05, 0x01, 0xea, 0xba, 0x0a, 0x00, 0x00, 0xfd, 0x45, 0x00, 0x00, 0x26, 0x12, 0x34, 0x40,
        0x00, 0x01, 0x11, 0x53, 0x91, 0x0a, 0x00, 0x00, 0x01, 0x0a, 0x00, 0x00, 0x02, 0x82, 0x9a,
        0x82, 0x9a, 0x00, 0x12, 0x00, 0x00,
    ];

    /// A timestamp request, id 7, seq 9.
    const TIMESTAMP: [u8; 20] = [
        0x0d, 0x00, 0xf2, 0xef, 0x00, 0x07, 0x00, 0x09, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    ];

    const ALL_REAL: [&[u8]; 8] = [
        &PING_REQUEST,
        &PING_REPLY,
        &PORT_UNREACHABLE,
        &NEED_FRAG,
        &TIME_EXCEEDED,
        &PARAM_PROBLEM,
        &REDIRECT,
        &TIMESTAMP,
    ];

    fn parse(bytes: &[u8]) -> Result<Icmpv4Repr<'_>> {
        Icmpv4Repr::parse(&Icmpv4Packet::new_checked(bytes)?, ChecksumMode::Enabled)
    }

    fn emit(repr: &Icmpv4Repr<'_>) -> Vec<u8> {
        let mut out = vec![0u8; repr.buffer_len()];
        repr.emit(
            &mut Icmpv4Packet::new_unchecked(&mut out),
            ChecksumMode::Enabled,
        );
        out
    }

    #[test]
    fn linux_ping_request_parses() {
        let packet = Icmpv4Packet::new_checked(&PING_REQUEST[..]).unwrap();
        assert_eq!(packet.msg_type(), Icmpv4Message::EchoRequest);
        assert_eq!(packet.checksum(), 0x2aa1);
        assert!(packet.verify_checksum());
        let repr = parse(&PING_REQUEST).unwrap();
        assert_eq!(
            repr,
            Icmpv4Repr::EchoRequest {
                ident: 10429,
                seq_no: 1,
                data: &PING_REQUEST[8..],
            }
        );
        assert!(!repr.is_error());
        assert_eq!(repr.quoted(), None);
        assert_eq!(
            repr.to_string(),
            "ICMP echo request, id 10429, seq 1, length 64"
        );
    }

    #[test]
    fn reply_built_from_the_request_matches_the_kernels() {
        let Icmpv4Repr::EchoRequest {
            ident,
            seq_no,
            data,
        } = parse(&PING_REQUEST).unwrap()
        else {
            panic!("not an echo request");
        };
        //= https://www.rfc-editor.org/rfc/rfc792#page-15
        //# The data received in the echo message must be returned in the echo
        //# reply message.
        let reply = Icmpv4Repr::EchoReply {
            ident,
            seq_no,
            data,
        };
        assert_eq!(emit(&reply), PING_REPLY);
        assert_eq!(
            parse(&PING_REPLY).unwrap().to_string(),
            "ICMP echo reply, id 10429, seq 1, length 64"
        );
    }

    #[test]
    fn linux_port_unreachable_quotes_the_udp_socket() {
        let repr = parse(&PORT_UNREACHABLE).unwrap();
        assert_eq!(
            repr,
            Icmpv4Repr::DstUnreachable {
                reason: Icmpv4DstUnreachable::PortUnreachable,
                next_hop_mtu: 0,
                invoking: &PORT_UNREACHABLE[8..],
            }
        );
        let quoted = repr.quoted().unwrap().unwrap();
        assert_eq!(quoted.src, IpAddr::V4(Ipv4Addr::LOCALHOST));
        assert_eq!(quoted.protocol, IpProtocol::Udp);
        assert_eq!(quoted.src_port, Some(5000));
        assert_eq!(quoted.dst_port, Some(9999));
        assert_eq!(
            repr.to_string(),
            "ICMP 127.0.0.1 udp port 9999 unreachable, length 41"
        );
    }

    #[test]
    fn need_frag_carries_the_next_hop_mtu() {
        let repr = parse(&NEED_FRAG).unwrap();
        assert_eq!(
            repr,
            Icmpv4Repr::DstUnreachable {
                reason: Icmpv4DstUnreachable::FragRequired,
                next_hop_mtu: 1400,
                invoking: &NEED_FRAG[8..],
            }
        );
        let quoted = repr.quoted().unwrap().unwrap();
        assert_eq!(quoted.protocol, IpProtocol::Tcp);
        assert_eq!((quoted.src_port, quoted.dst_port), (Some(40000), Some(80)));
        assert_eq!(quoted.tcp_seq, Some(SeqNumber(0x0102_0304)));
        assert_eq!(
            repr.to_string(),
            "ICMP 10.0.0.2 unreachable - need to frag (mtu 1400), length 36"
        );
    }

    #[test]
    fn a_full_576_byte_quote_displays_its_length() {
        assert_eq!(MAX_ERROR_DATA_LEN, 548);
        let mut quote = NEED_FRAG[8..].to_vec();
        quote.resize(MAX_ERROR_DATA_LEN, 0);
        let repr = Icmpv4Repr::DstUnreachable {
            reason: Icmpv4DstUnreachable::FragRequired,
            next_hop_mtu: 1400,
            invoking: &quote,
        };
        let bytes = emit(&repr);
        assert_eq!(parse(&bytes), Ok(repr));
        assert_eq!(
            repr.to_string(),
            "ICMP 10.0.0.2 unreachable - need to frag (mtu 1400), length 556"
        );
    }

    #[test]
    fn next_hop_mtu_is_written_only_for_fragmentation_needed() {
        let quote = [0x45u8; 28];
        let repr = Icmpv4Repr::DstUnreachable {
            reason: Icmpv4DstUnreachable::PortUnreachable,
            next_hop_mtu: 1400,
            invoking: &quote,
        };
        let bytes = emit(&repr);
        assert_eq!(&bytes[4..8], &[0, 0, 0, 0]);
        assert!(matches!(
            parse(&bytes),
            Ok(Icmpv4Repr::DstUnreachable {
                next_hop_mtu: 0,
                ..
            })
        ));
    }

    #[test]
    fn next_hop_mtu_is_ignored_for_other_codes() {
        let mut bytes = PORT_UNREACHABLE;
        bytes[6] = 0x05;
        bytes[7] = 0x78;
        bytes[2] = 0x7a; // fix the checksum for the changed word: 0x8065 - 0x0578
        bytes[3] = 0xed;
        let repr = parse(&bytes).unwrap();
        assert!(matches!(
            repr,
            Icmpv4Repr::DstUnreachable {
                next_hop_mtu: 0,
                ..
            }
        ));
    }

    #[test]
    fn time_exceeded_and_param_problem_parse_and_display() {
        let repr = parse(&TIME_EXCEEDED).unwrap();
        assert_eq!(
            repr,
            Icmpv4Repr::TimeExceeded {
                reason: Icmpv4TimeExceeded::TtlExpired,
                invoking: &TIME_EXCEEDED[8..],
            }
        );
        assert_eq!(repr.to_string(), "ICMP time exceeded in-transit, length 36");
        let quoted = repr.quoted().unwrap().unwrap();
        assert_eq!(
            (quoted.src_port, quoted.dst_port),
            (Some(33434), Some(33434))
        );

        let repr = parse(&PARAM_PROBLEM).unwrap();
        assert_eq!(
            repr,
            Icmpv4Repr::ParamProblem {
                reason: Icmpv4ParamProblem::AtPointer,
                pointer: 1,
                invoking: &PARAM_PROBLEM[8..],
            }
        );
        assert_eq!(
            repr.to_string(),
            "ICMP parameter problem - octet 1, length 36"
        );
    }

    #[test]
    fn redirect_and_timestamp_are_kept_as_other() {
        let repr = parse(&REDIRECT).unwrap();
        assert_eq!(
            repr,
            Icmpv4Repr::Other {
                msg_type: Icmpv4Message::Redirect,
                msg_code: 1,
                rest_of_header: [10, 0, 0, 253],
                data: &REDIRECT[8..],
            }
        );
        assert!(repr.is_error());
        assert!(repr.quoted().unwrap().is_ok());
        assert_eq!(
            repr.to_string(),
            "ICMP redirect 10.0.0.2 to host 10.0.0.253, length 36"
        );
        let repr = parse(&TIMESTAMP).unwrap();
        assert_eq!(
            repr.to_string(),
            "ICMP time stamp query id 7 seq 9, length 20"
        );
    }

    #[test]
    fn emit_of_parse_gives_the_same_bytes() {
        for bytes in ALL_REAL {
            assert_eq!(emit(&parse(bytes).unwrap()), bytes);
        }
    }

    #[test]
    fn every_truncation_of_the_header_is_rejected() {
        for cut in 0..HEADER_LEN {
            assert_eq!(
                Icmpv4Packet::new_checked(&PING_REQUEST[..cut]).unwrap_err(),
                Error::Truncated
            );
        }
    }

    #[test]
    fn every_flipped_bit_fails_the_checksum() {
        for bytes in ALL_REAL {
            for bit in 0..bytes.len() * 8 {
                let mut b = bytes.to_vec();
                b[bit / 8] ^= 1 << (bit % 8);
                assert_eq!(parse(&b), Err(Error::BadChecksum), "bit {bit}");
            }
        }
    }

    #[test]
    fn truncated_messages_fail_the_checksum_unless_offloaded() {
        // Cutting an even number of zero-sum bytes keeps the sum; anything else breaks it.
        let packet = Icmpv4Packet::new_checked(&PING_REQUEST[..40]).unwrap();
        assert_eq!(
            Icmpv4Repr::parse(&packet, ChecksumMode::Enabled),
            Err(Error::BadChecksum)
        );
        let repr = Icmpv4Repr::parse(&packet, ChecksumMode::Offloaded).unwrap();
        assert_eq!(repr.data().len(), 32);
    }

    #[test]
    fn offloaded_emit_leaves_checksum_zero() {
        let repr = parse(&PING_REQUEST).unwrap();
        let mut out = [0u8; 64];
        repr.emit(
            &mut Icmpv4Packet::new_unchecked(&mut out[..]),
            ChecksumMode::Offloaded,
        );
        assert_eq!(&out[2..4], &[0, 0]);
        assert_eq!(&out[4..], &PING_REQUEST[4..]);
    }

    #[test]
    fn echo_with_a_nonzero_code_is_kept_as_other() {
        let bytes = [0x08, 0x01, 0x96, 0x9a, 0x00, 0x01, 0x00, 0x01, b'a', b'b'];
        let repr = parse(&bytes).unwrap();
        assert!(matches!(
            repr,
            Icmpv4Repr::Other {
                msg_type: Icmpv4Message::EchoRequest,
                msg_code: 1,
                ..
            }
        ));
        assert_eq!(emit(&repr), bytes);
        assert_eq!(
            repr.to_string(),
            "ICMP echo request, id 1, seq 1, length 10"
        );
    }

    #[test]
    fn unknown_type_is_kept_whole() {
        let bytes = [0xc8, 0x03, 0xbb, 0x7c, 0x01, 0x02, 0x03, 0x04, 0x78, 0x79];
        let repr = parse(&bytes).unwrap();
        assert_eq!(
            repr,
            Icmpv4Repr::Other {
                msg_type: Icmpv4Message::Unknown(200),
                msg_code: 3,
                rest_of_header: [1, 2, 3, 4],
                data: b"xy",
            }
        );
        assert_eq!(emit(&repr), bytes);
        assert_eq!(repr.to_string(), "ICMP type-#200, length 10");
    }

    /// Every destination-unreachable code as tcpdump 4.99 prints it, quoting the probe
    /// of [`TIME_EXCEEDED`].
    #[test]
    fn unreachable_codes_display_like_tcpdump() {
        let expected = [
            (0, "net 10.0.0.2 unreachable"),
            (1, "host 10.0.0.2 unreachable"),
            (2, "10.0.0.2 protocol 17 unreachable"),
            (3, "10.0.0.2 udp port 33434 unreachable"),
            (4, "10.0.0.2 unreachable - need to frag"),
            (5, "10.0.0.2 unreachable - source route failed"),
            (6, "net 10.0.0.2 unreachable - unknown"),
            (7, "host 10.0.0.2 unreachable - unknown"),
            (8, "10.0.0.2 unreachable - source host isolated"),
            (9, "net 10.0.0.2 unreachable - admin prohibited"),
            (10, "host 10.0.0.2 unreachable - admin prohibited"),
            (11, "net 10.0.0.2 unreachable - tos prohibited"),
            (12, "host 10.0.0.2 unreachable - tos prohibited"),
            (13, "host 10.0.0.2 unreachable - admin prohibited filter"),
            (14, "host 10.0.0.2 unreachable - host precedence violation"),
            (15, "host 10.0.0.2 unreachable - precedence cutoff"),
            (16, "10.0.0.2 unreachable - #16"),
        ];
        for (code, words) in expected {
            let repr = Icmpv4Repr::DstUnreachable {
                reason: code.into(),
                next_hop_mtu: 0,
                invoking: &TIME_EXCEEDED[8..],
            };
            assert_eq!(repr.to_string(), format!("ICMP {words}, length 36"));
        }
        let tcp = Icmpv4Repr::DstUnreachable {
            reason: Icmpv4DstUnreachable::PortUnreachable,
            next_hop_mtu: 0,
            invoking: &NEED_FRAG[8..],
        };
        assert_eq!(
            tcp.to_string(),
            "ICMP 10.0.0.2 tcp port 80 unreachable, length 36"
        );
    }

    #[test]
    fn other_messages_display_like_tcpdump() {
        let other = |t: u8, c: u8, rest: [u8; 4], data: &'static [u8]| Icmpv4Repr::Other {
            msg_type: t.into(),
            msg_code: c,
            rest_of_header: rest,
            data,
        };
        let cases = [
            (
                other(14, 0, [0, 7, 0, 9], &[0, 0, 3, 232, 0, 56, 206, 252, 5, 38, 91, 255]),
                "ICMP time stamp reply id 7 seq 9: org 00:00:01.000, recv 01:02:03.004, xmit 23:59:59.999, length 20",
            ),
            (other(15, 0, [0, 7, 0, 9], &[]), "ICMP information request, length 8"),
            (other(16, 0, [0, 7, 0, 9], &[]), "ICMP information reply, length 8"),
            (other(17, 0, [0, 1, 0, 1], &[0; 4]), "ICMP address mask request, length 12"),
            (
                other(18, 0, [0, 7, 0, 9], &[255, 255, 255, 0]),
                "ICMP address mask is 0xffffff00, length 12",
            ),
            (other(10, 0, [0; 4], &[]), "ICMP router solicitation, length 8"),
            (other(4, 0, [0; 4], &TIME_EXCEEDED[8..]), "ICMP source quench, length 36"),
            (
                other(9, 0, [2, 2, 0x0e, 0x10], &[10, 0, 0, 1, 0, 0, 0, 5, 10, 0, 0, 2, 0, 0, 0, 7]),
                "ICMP router advertisement lifetime 1:00:00 2: {10.0.0.1 5} {10.0.0.2 7}, length 24",
            ),
            (
                other(9, 0, [1, 2, 0, 90], &[10, 0, 0, 1, 0, 0, 0, 5]),
                "ICMP router advertisement lifetime 1:30 1: {10.0.0.1 5}, length 16",
            ),
            (
                other(9, 0, [1, 3, 0, 90], &[10, 0, 0, 1, 0, 0, 0, 5]),
                "ICMP router advertisement lifetime 1:30 1: [size 3], length 16",
            ),
            (
                other(5, 0, [10, 0, 0, 253], &TIME_EXCEEDED[8..]),
                "ICMP redirect 10.0.0.2 to net 10.0.0.253, length 36",
            ),
            (
                other(5, 2, [10, 0, 0, 253], &TIME_EXCEEDED[8..]),
                "ICMP redirect-tos 10.0.0.2 to net 10.0.0.253, length 36",
            ),
            (
                other(5, 3, [10, 0, 0, 253], &TIME_EXCEEDED[8..]),
                "ICMP redirect-tos 10.0.0.2 to host 10.0.0.253, length 36",
            ),
            (
                other(5, 4, [10, 0, 0, 253], &TIME_EXCEEDED[8..]),
                "ICMP redirect-#4 10.0.0.2 to 10.0.0.253, length 36",
            ),
        ];
        for (repr, line) in cases {
            assert_eq!(repr.to_string(), line);
        }
        let reass = Icmpv4Repr::TimeExceeded {
            reason: Icmpv4TimeExceeded::FragReassembly,
            invoking: &TIME_EXCEEDED[8..],
        };
        assert_eq!(
            reass.to_string(),
            "ICMP ip reassembly time exceeded, length 36"
        );
        let odd = Icmpv4Repr::TimeExceeded {
            reason: Icmpv4TimeExceeded::Other(5),
            invoking: &TIME_EXCEEDED[8..],
        };
        assert_eq!(odd.to_string(), "ICMP time exceeded-#5, length 36");
        let pp = Icmpv4Repr::ParamProblem {
            reason: Icmpv4ParamProblem::MissingOption,
            pointer: 0,
            invoking: &TIME_EXCEEDED[8..],
        };
        assert_eq!(pp.to_string(), "ICMP parameter problem - code 1, length 36");
        let mut icmp_quote = TIME_EXCEEDED[8..28].to_vec();
        icmp_quote[9] = 1;
        icmp_quote.extend_from_slice(&[8, 0, 0, 0, 0, 0, 0, 0]);
        let proto = Icmpv4Repr::DstUnreachable {
            reason: Icmpv4DstUnreachable::PortUnreachable,
            next_hop_mtu: 0,
            invoking: &icmp_quote,
        };
        assert_eq!(
            proto.to_string(),
            "ICMP 10.0.0.2 protocol 1 port 0 unreachable, length 36"
        );
    }

    #[test]
    fn too_short_quotes_display_as_truncated() {
        let short = Icmpv4Repr::DstUnreachable {
            reason: Icmpv4DstUnreachable::PortUnreachable,
            next_hop_mtu: 0,
            invoking: &TIME_EXCEEDED[8..30],
        };
        assert_eq!(short.to_string(), "ICMP [|icmp]");
        assert_eq!(short.quoted(), Some(Err(Error::Truncated)));
        let empty = Icmpv4Repr::TimeExceeded {
            reason: Icmpv4TimeExceeded::TtlExpired,
            invoking: &[],
        };
        assert_eq!(empty.to_string(), "ICMP [|icmp]");
    }

    fn arb_data() -> impl Strategy<Value = Vec<u8>> {
        proptest::collection::vec(any::<u8>(), 0..100)
    }

    /// A repr of every variant; `data` is borrowed from the generated vector.
    #[derive(Debug, Clone)]
    enum Gen {
        Echo(bool, u16, u16),
        Unreach(u8, u16),
        TimeEx(u8),
        Param(u8, u8),
        Other(u8, u8, [u8; 4]),
    }

    fn arb_gen() -> impl Strategy<Value = Gen> {
        prop_oneof![
            (any::<bool>(), any::<u16>(), any::<u16>()).prop_map(|(r, i, s)| Gen::Echo(r, i, s)),
            (any::<u8>(), any::<u16>()).prop_map(|(c, m)| Gen::Unreach(c, m)),
            any::<u8>().prop_map(Gen::TimeEx),
            (any::<u8>(), any::<u8>()).prop_map(|(c, p)| Gen::Param(c, p)),
            (any::<u8>(), any::<u8>(), any::<[u8; 4]>())
                .prop_filter("would parse as a specific variant", |(t, c, _)| {
                    match t {
                        3 | 11 | 12 => false,
                        0 | 8 => *c != 0,
                        _ => true,
                    }
                })
                .prop_map(|(t, c, r)| Gen::Other(t, c, r)),
        ]
    }

    fn build<'a>(g: &Gen, data: &'a [u8]) -> Icmpv4Repr<'a> {
        match *g {
            Gen::Echo(true, ident, seq_no) => Icmpv4Repr::EchoRequest {
                ident,
                seq_no,
                data,
            },
            Gen::Echo(false, ident, seq_no) => Icmpv4Repr::EchoReply {
                ident,
                seq_no,
                data,
            },
            Gen::Unreach(code, mtu) => {
                let reason = Icmpv4DstUnreachable::from(code);
                Icmpv4Repr::DstUnreachable {
                    reason,
                    next_hop_mtu: if reason == Icmpv4DstUnreachable::FragRequired {
                        mtu
                    } else {
                        0
                    },
                    invoking: data,
                }
            }
            Gen::TimeEx(code) => Icmpv4Repr::TimeExceeded {
                reason: code.into(),
                invoking: data,
            },
            Gen::Param(code, pointer) => Icmpv4Repr::ParamProblem {
                reason: code.into(),
                pointer,
                invoking: data,
            },
            Gen::Other(t, c, rest) => Icmpv4Repr::Other {
                msg_type: t.into(),
                msg_code: c,
                rest_of_header: rest,
                data,
            },
        }
    }

    proptest! {
        #[test]
        fn parse_of_emit_is_identity(g in arb_gen(), data in arb_data()) {
            let repr = build(&g, &data);
            let bytes = emit(&repr);
            prop_assert_eq!(parse(&bytes), Ok(repr));
            // Display never panics, whatever the quote holds.
            let _ = repr.to_string();
        }

        #[test]
        fn echo_emit_matches_etherparse(ident: u16, seq: u16, data in arb_data()) {
            let repr = Icmpv4Repr::EchoRequest { ident, seq_no: seq, data: &data };
            let header = etherparse::Icmpv4Header::with_checksum(
                etherparse::Icmpv4Type::EchoRequest(etherparse::IcmpEchoHeader { id: ident, seq }),
                &data,
            );
            prop_assert_eq!(&emit(&repr)[..8], &header.to_bytes()[..]);
        }

        #[test]
        fn codes_round_trip(v: u8) {
            prop_assert_eq!(u8::from(Icmpv4Message::from(v)), v);
            prop_assert_eq!(u8::from(Icmpv4DstUnreachable::from(v)), v);
            prop_assert_eq!(u8::from(Icmpv4TimeExceeded::from(v)), v);
            prop_assert_eq!(u8::from(Icmpv4ParamProblem::from(v)), v);
        }

        #[test]
        fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..80)) {
            if let Ok(packet) = Icmpv4Packet::new_checked(&bytes[..]) {
                let _ = (packet.msg_type(), packet.next_hop_mtu(), packet.pointer(), packet.data());
                if let Ok(repr) = Icmpv4Repr::parse(&packet, ChecksumMode::Offloaded) {
                    let _ = repr.to_string();
                    let _ = repr.quoted();
                    prop_assert_eq!(emit(&repr).len(), bytes.len());
                }
            }
            let unchecked = Icmpv4Packet::new_unchecked(&bytes[..]);
            let _ = Icmpv4Repr::parse(&unchecked, ChecksumMode::Enabled);
        }
    }
}
