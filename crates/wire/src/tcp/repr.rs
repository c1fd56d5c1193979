//! [`TcpRepr`]: a whole TCP segment as a plain value.

use crate::error::{Error, Result};
use crate::ip::{AddrPair, ChecksumMode};
use crate::seq::SeqNumber;

use super::{TcpFlags, TcpOptions, TcpPacket, HEADER_LEN};

/// A TCP segment as a value: header fields, options, and a borrowed payload.
///
/// Fields hold what is on the wire, unscaled and uninterpreted: `ack_number` is kept
/// even without [`TcpFlags::ACK`] (where it means nothing), `window_len` is the raw
/// 16-bit field, and `urgent_pointer` is kept even without [`TcpFlags::URG`].
///
/// [`emit`](Self::emit) writes the options in Linux's canonical layout (see
/// [`TcpOptions`]), so `emit(parse(bytes)) == bytes` for segments Linux built.
/// Unknown options are dropped on parse and so do not survive a round trip. When the
/// options would not fit the 40 bytes of option space, emit writes fewer SACK blocks;
/// [`header_len`](Self::header_len) and [`buffer_len`](Self::buffer_len) count exactly
/// what emit writes.
///
/// `Display` prints the TCP part of a `tcpdump -n -S -t` line (ports only; see
/// [`display_with`](Self::display_with) for addresses), with options in the order
/// emit writes them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct TcpRepr<'a> {
    /// Source port.
    pub src_port: u16,
    /// Destination port.
    pub dst_port: u16,
    /// Sequence number.
    pub seq_number: SeqNumber,
    /// Acknowledgment number, as on the wire; meaningful when `flags` has ACK.
    pub ack_number: SeqNumber,
    /// Control bits.
    pub flags: TcpFlags,
    /// The raw window field (not scaled).
    pub window_len: u16,
    /// Urgent pointer, as on the wire; meaningful when `flags` has URG.
    pub urgent_pointer: u16,
    /// Options.
    pub options: TcpOptions,
    /// Payload.
    pub payload: &'a [u8],
}

impl<'a> TcpRepr<'a> {
    /// Parse a segment.
    ///
    /// Errors, in the order checked: [`Error::Truncated`] or [`Error::BadHeaderLen`]
    /// (see [`TcpPacket::check_len`]), [`Error::BadChecksum`] when `checksum` is
    /// [`ChecksumMode::Enabled`] and the checksum over the packet and the
    /// pseudo-header of `addrs` fails, and [`Error::BadOption`] for an illegal option
    /// length. The packet must span exactly the segment (the IP payload).
    pub fn parse<T>(
        packet: &TcpPacket<&'a T>,
        addrs: &AddrPair,
        checksum: ChecksumMode,
    ) -> Result<TcpRepr<'a>>
    where
        T: AsRef<[u8]> + ?Sized,
    {
        packet.check_len()?;
        if checksum == ChecksumMode::Enabled && !packet.verify_checksum(addrs) {
            return Err(Error::BadChecksum);
        }
        let options = TcpOptions::parse(packet.options())?;
        let bytes: &'a [u8] = packet.buffer.as_ref();
        let payload = bytes
            .get(usize::from(packet.header_len())..)
            .ok_or(Error::Truncated)?;
        Ok(TcpRepr {
            src_port: packet.src_port(),
            dst_port: packet.dst_port(),
            seq_number: packet.seq_number(),
            ack_number: packet.ack_number(),
            flags: packet.flags(),
            window_len: packet.window_len(),
            urgent_pointer: packet.urgent_at(),
            options,
            payload,
        })
    }

    /// The header length emit writes: 20 plus the options' canonical length.
    pub fn header_len(&self) -> usize {
        HEADER_LEN + self.options.buffer_len()
    }

    /// The segment length emit writes: header plus payload.
    pub fn buffer_len(&self) -> usize {
        self.header_len() + self.payload.len()
    }

    /// The sequence space the segment occupies: payload length, plus one for SYN and
    /// one for FIN.
    //= https://www.rfc-editor.org/rfc/rfc9293#section-3.4
    //# The segment length (SEG.LEN) includes both data and sequence space-
    //# occupying controls.
    pub fn segment_len(&self) -> usize {
        self.payload.len()
            + usize::from(self.flags.contains(TcpFlags::SYN))
            + usize::from(self.flags.contains(TcpFlags::FIN))
    }

    /// Write the segment into `packet`: header, options in the canonical layout,
    /// payload, and (with [`ChecksumMode::Enabled`]) the checksum over the whole buffer
    /// and the pseudo-header of `addrs`; with [`ChecksumMode::Offloaded`] the checksum
    /// field is left zero. The reserved bits are written zero.
    ///
    /// # Panics
    ///
    /// When the packet's buffer is shorter than [`buffer_len`](Self::buffer_len). The
    /// buffer should be exactly `buffer_len()` long: the checksum covers all of it.
    pub fn emit<T>(&self, packet: &mut TcpPacket<T>, addrs: &AddrPair, checksum: ChecksumMode)
    where
        T: AsRef<[u8]> + AsMut<[u8]>,
    {
        self.emit_unsummed(packet);
        if checksum == ChecksumMode::Enabled {
            packet.fill_checksum(addrs);
        }
    }

    /// [`emit`](Self::emit) with the checksum field left zero, for a caller that
    /// sums the segment itself (no addresses needed).
    pub fn emit_unsummed<T>(&self, packet: &mut TcpPacket<T>)
    where
        T: AsRef<[u8]> + AsMut<[u8]>,
    {
        packet.set_src_port(self.src_port);
        packet.set_dst_port(self.dst_port);
        packet.set_seq_number(self.seq_number);
        packet.set_ack_number(self.ack_number);
        // header_len() is at most 60, so it fits a u8.
        packet.set_header_len(self.header_len() as u8);
        packet.set_flags(self.flags);
        packet.set_window_len(self.window_len);
        packet.set_checksum(0);
        packet.set_urgent_at(self.urgent_pointer);
        let written = self.options.emit(packet.options_mut());
        debug_assert_eq!(written, self.options.buffer_len());
        packet.payload_mut()[..self.payload.len()].copy_from_slice(self.payload);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tcp::testdata::{self, Capture};
    use crate::tcp::{SackBlocks, TcpTimestamp, TfoCookie};
    use core::net::{Ipv4Addr, Ipv6Addr};
    use proptest::prelude::*;

    fn parse_capture(c: &Capture) -> TcpRepr<'_> {
        let packet = TcpPacket::new_checked(&c.segment[..]).expect("whole header");
        TcpRepr::parse(&packet, &c.addrs, ChecksumMode::Enabled).expect("valid segment")
    }

    fn emit_to_vec(repr: &TcpRepr<'_>, addrs: &AddrPair, mode: ChecksumMode) -> Vec<u8> {
        let mut buf = vec![0xa5; repr.buffer_len()];
        repr.emit(&mut TcpPacket::new_unchecked(&mut buf[..]), addrs, mode);
        buf
    }

    #[test]
    fn linux_syn_parses_field_by_field() {
        let c = testdata::syn_v4();
        let repr = parse_capture(&c);
        assert_eq!(
            repr,
            TcpRepr {
                src_port: 49152,
                dst_port: 80,
                seq_number: SeqNumber(472_797_039),
                ack_number: SeqNumber(0),
                flags: TcpFlags::SYN,
                window_len: 64240,
                urgent_pointer: 0,
                options: TcpOptions {
                    mss: Some(1460),
                    window_scale: Some(10),
                    sack_permitted: true,
                    timestamp: Some(TcpTimestamp {
                        tsval: 3_146_245_160,
                        tsecr: 0
                    }),
                    ..TcpOptions::new()
                },
                payload: &[],
            }
        );
        assert_eq!(repr.segment_len(), 1);
        assert_eq!(repr.header_len(), 40);
    }

    #[test]
    fn tfo_syn_with_cookie_and_data_parses() {
        let c = testdata::tfo_syn_with_cookie_v4();
        let repr = parse_capture(&c);
        assert_eq!(
            repr.options.fast_open,
            TfoCookie::new(&[0xeb, 0x9d, 0x74, 0xa0, 0x51, 0x6b, 0x21, 0xb8])
        );
        assert_eq!(repr.payload, b"xxxxxxxxxx");
        assert_eq!(repr.segment_len(), 11);
    }

    #[test]
    fn linux_segments_emit_back_to_the_same_bytes() {
        for c in testdata::all() {
            let repr = parse_capture(&c);
            assert_eq!(repr.buffer_len(), c.segment.len(), "{}", c.tcpdump);
            assert_eq!(
                emit_to_vec(&repr, &c.addrs, ChecksumMode::Enabled),
                c.segment,
                "{}",
                c.tcpdump
            );
        }
    }

    #[test]
    fn offloaded_checksum_is_neither_checked_nor_written() {
        let mut c = testdata::data_v4();
        c.segment[16] ^= 0xff;
        let packet = TcpPacket::new_checked(&c.segment[..]).expect("whole header");
        assert_eq!(
            TcpRepr::parse(&packet, &c.addrs, ChecksumMode::Enabled),
            Err(Error::BadChecksum)
        );
        let repr = TcpRepr::parse(&packet, &c.addrs, ChecksumMode::Offloaded).expect("parses");
        let out = emit_to_vec(&repr, &c.addrs, ChecksumMode::Offloaded);
        assert_eq!(&out[16..18], &[0, 0]);
        assert_eq!(&out[18..], &c.segment[18..]);
    }

    #[test]
    fn any_flipped_bit_fails_the_checksum() {
        let c = testdata::sack3_v4();
        for bit in 0..c.segment.len() * 8 {
            let mut bytes = c.segment.clone();
            bytes[bit / 8] ^= 1 << (bit % 8);
            let result = TcpPacket::new_checked(&bytes[..])
                .and_then(|p| TcpRepr::parse(&p, &c.addrs, ChecksumMode::Enabled));
            // A flip in the data offset may make the header too long or too short
            // first; every other flip is a checksum failure.
            assert!(
                matches!(
                    result,
                    Err(Error::BadChecksum | Error::Truncated | Error::BadHeaderLen)
                ),
                "bit {bit}: {result:?}"
            );
        }
        // The wrong address pair fails too.
        let packet = TcpPacket::new_checked(&c.segment[..]).expect("whole header");
        assert_eq!(
            TcpRepr::parse(&packet, &c.addrs.reversed(), ChecksumMode::Enabled),
            Ok(parse_capture(&c)),
            "swapping source and destination keeps the sum"
        );
        let other = AddrPair::V4 {
            src: Ipv4Addr::new(10, 0, 0, 3),
            dst: Ipv4Addr::new(10, 0, 0, 2),
        };
        assert_eq!(
            TcpRepr::parse(&packet, &other, ChecksumMode::Enabled),
            Err(Error::BadChecksum)
        );
    }

    #[test]
    fn illegal_option_in_a_valid_segment_is_bad_option() {
        // A SYN whose window-scale option claims length 4; checksum refilled.
        let c = testdata::syn_v4();
        let mut bytes = c.segment.clone();
        assert_eq!(&bytes[36..40], &[1, 3, 3, 10]);
        bytes[36..40].copy_from_slice(&[3, 4, 10, 0]);
        TcpPacket::new_unchecked(&mut bytes[..]).fill_checksum(&c.addrs);
        let packet = TcpPacket::new_checked(&bytes[..]).expect("whole header");
        assert_eq!(
            TcpRepr::parse(&packet, &c.addrs, ChecksumMode::Enabled),
            Err(Error::BadOption { kind: 3 })
        );
    }

    #[test]
    fn reserved_bits_are_ignored_on_parse_and_zeroed_on_emit() {
        let c = testdata::ack_v4();
        let mut bytes = c.segment.clone();
        bytes[12] |= 0x0e;
        TcpPacket::new_unchecked(&mut bytes[..]).fill_checksum(&c.addrs);
        let packet = TcpPacket::new_checked(&bytes[..]).expect("whole header");
        let repr = TcpRepr::parse(&packet, &c.addrs, ChecksumMode::Enabled).expect("valid");
        assert_eq!(repr, parse_capture(&c));
        assert_eq!(
            emit_to_vec(&repr, &c.addrs, ChecksumMode::Enabled),
            c.segment
        );
    }

    #[test]
    fn too_many_sack_blocks_emit_as_many_as_fit() {
        let addrs = testdata::v4_pair();
        let blocks = SackBlocks::from_slice(&[
            (SeqNumber(10), SeqNumber(20)),
            (SeqNumber(30), SeqNumber(40)),
            (SeqNumber(50), SeqNumber(60)),
            (SeqNumber(70), SeqNumber(80)),
        ])
        .expect("four");
        let repr = TcpRepr {
            src_port: 1,
            dst_port: 2,
            seq_number: SeqNumber(5),
            ack_number: SeqNumber(10),
            flags: TcpFlags::ACK,
            window_len: 100,
            urgent_pointer: 0,
            options: TcpOptions {
                timestamp: Some(TcpTimestamp { tsval: 1, tsecr: 2 }),
                sack_ranges: blocks,
                ..TcpOptions::new()
            },
            payload: b"abc",
        };
        assert_eq!(repr.header_len(), 60);
        assert_eq!(repr.buffer_len(), 63);
        let bytes = emit_to_vec(&repr, &addrs, ChecksumMode::Enabled);
        let packet = TcpPacket::new_checked(&bytes[..]).expect("whole header");
        let parsed = TcpRepr::parse(&packet, &addrs, ChecksumMode::Enabled).expect("valid");
        let mut expected = repr;
        expected.options.sack_ranges.truncate(3);
        assert_eq!(parsed, expected);
    }

    fn seq() -> impl Strategy<Value = SeqNumber> {
        any::<u32>().prop_map(SeqNumber)
    }

    fn options() -> impl Strategy<Value = TcpOptions> {
        (
            proptest::option::of(any::<u16>()),
            proptest::option::of(any::<u8>()),
            any::<bool>(),
            proptest::collection::vec((seq(), seq()), 0..=4),
            proptest::option::of((any::<u32>(), any::<u32>())),
            proptest::option::of(prop_oneof![
                Just(0usize),
                (2usize..=8).prop_map(|half| half * 2)
            ]),
            any::<u8>(),
        )
            .prop_map(|(mss, window_scale, sack_permitted, sack, ts, tfo, fill)| {
                let mut options = TcpOptions {
                    mss,
                    window_scale,
                    sack_permitted,
                    sack_ranges: SackBlocks::from_slice(&sack).expect("at most four"),
                    timestamp: ts.map(|(tsval, tsecr)| TcpTimestamp { tsval, tsecr }),
                    fast_open: tfo.map(|len| {
                        let cookie: Vec<u8> = (0..len as u8).map(|i| i ^ fill).collect();
                        TfoCookie::new(&cookie).expect("valid length")
                    }),
                };
                // Only what fits survives emit; keep the generated value to that.
                let fit = options.sack_blocks_emitted();
                options.sack_ranges.truncate(fit);
                options
            })
    }

    fn addrs() -> impl Strategy<Value = AddrPair> {
        prop_oneof![
            (any::<u32>(), any::<u32>()).prop_map(|(s, d)| AddrPair::V4 {
                src: Ipv4Addr::from(s),
                dst: Ipv4Addr::from(d)
            }),
            (any::<u128>(), any::<u128>()).prop_map(|(s, d)| AddrPair::V6 {
                src: Ipv6Addr::from(s),
                dst: Ipv6Addr::from(d)
            }),
        ]
    }

    proptest! {
        #[test]
        fn parse_of_emit_is_identity(
            src_port: u16, dst_port: u16, seq_number in seq(), ack_number in seq(),
            flag_bits in 0u16..0x200, window_len: u16, urgent_pointer: u16,
            options in options(), payload in proptest::collection::vec(any::<u8>(), 0..200),
            addrs in addrs(),
        ) {
            let repr = TcpRepr {
                src_port, dst_port, seq_number, ack_number,
                flags: TcpFlags::from_bits_truncate(flag_bits),
                window_len, urgent_pointer, options, payload: &payload,
            };
            let bytes = emit_to_vec(&repr, &addrs, ChecksumMode::Enabled);
            prop_assert_eq!(bytes.len(), repr.buffer_len());
            let packet = TcpPacket::new_checked(&bytes[..]).expect("whole header");
            prop_assert_eq!(usize::from(packet.header_len()), repr.header_len());
            prop_assert!(packet.verify_checksum(&addrs));
            let parsed = TcpRepr::parse(&packet, &addrs, ChecksumMode::Enabled);
            prop_assert_eq!(parsed, Ok(repr));
            // And the bytes are canonical: emitting the parse gives them back.
            prop_assert_eq!(emit_to_vec(&parsed.expect("ok"), &addrs, ChecksumMode::Enabled), bytes);
        }

        #[test]
        fn emit_buffer_len_matches_with_any_sack_count(
            options in options(), extra in proptest::collection::vec((seq(), seq()), 0..=4),
        ) {
            let mut options = options;
            for block in extra {
                let _ = options.sack_ranges.push(block);
            }
            let repr = TcpRepr {
                src_port: 1, dst_port: 2, seq_number: SeqNumber(3), ack_number: SeqNumber(4),
                flags: TcpFlags::ACK, window_len: 5, urgent_pointer: 0, options, payload: b"x",
            };
            prop_assert!(repr.header_len() <= 60);
            let addrs = testdata::v4_pair();
            let bytes = emit_to_vec(&repr, &addrs, ChecksumMode::Enabled);
            let packet = TcpPacket::new_checked(&bytes[..]).expect("whole header");
            prop_assert_eq!(usize::from(packet.header_len()), repr.header_len());
            let parsed = TcpRepr::parse(&packet, &addrs, ChecksumMode::Enabled).expect("valid");
            prop_assert_eq!(parsed.options.sack_ranges.len(), options.sack_blocks_emitted());
        }

        #[test]
        fn parsing_arbitrary_bytes_never_panics(
            bytes in proptest::collection::vec(any::<u8>(), 0..100), addrs in addrs(),
        ) {
            if let Ok(packet) = TcpPacket::new_checked(&bytes[..]) {
                for mode in [ChecksumMode::Enabled, ChecksumMode::Offloaded] {
                    if let Ok(repr) = TcpRepr::parse(&packet, &addrs, mode) {
                        let _ = repr.to_string();
                        let _ = repr.display_with(&addrs).to_string();
                        let _ = emit_to_vec(&repr, &addrs, mode);
                    }
                }
            }
        }
    }
}
