//! Single TCP options on the wire and the iterator that walks an option list.
//!
//! The walk follows RFC 9293 section 3.1: kinds 0 (End of Option List) and 1
//! (No-Operation) are one byte; every other kind has a length byte that counts kind,
//! length and data. Options may start at any byte offset. Known kinds with an illegal
//! length, a length below 2 or a length past the end of the list are
//! [`Error::BadOption`]; unknown kinds with a sane length are yielded as
//! [`TcpOption::Unknown`] for the caller to skip.

use crate::error::{Error, Result};
use crate::seq::SeqNumber;

use super::option_set::SackBlocks;

/// Option kinds this crate understands.
pub(crate) mod kind {
    /// End of Option List (RFC 9293).
    pub const END_OF_LIST: u8 = 0;
    /// No-Operation (RFC 9293).
    pub const NOP: u8 = 1;
    /// Maximum Segment Size (RFC 9293).
    pub const MSS: u8 = 2;
    /// Window Scale (RFC 7323).
    pub const WINDOW_SCALE: u8 = 3;
    /// SACK-Permitted (RFC 2018).
    pub const SACK_PERMITTED: u8 = 4;
    /// SACK (RFC 2018).
    pub const SACK: u8 = 5;
    /// Timestamps (RFC 7323).
    pub const TIMESTAMP: u8 = 8;
    /// TCP Fast Open cookie (RFC 7413).
    pub const FAST_OPEN: u8 = 34;
}

/// One TCP option as it appears on the wire.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TcpOption<'a> {
    /// Kind 0: the end of the option list; what follows is padding.
    EndOfList,
    /// Kind 1: a one-byte filler, usually for alignment.
    NoOperation,
    /// Kind 2: the largest segment the sender will receive (RFC 9293 section 3.2).
    MaxSegmentSize(u16),
    /// Kind 3: the sender's window scale shift count (RFC 7323 section 2).
    WindowScale(u8),
    /// Kind 4: the sender can receive SACK options (RFC 2018 section 2).
    SackPermitted,
    /// Kind 5: one to four received blocks, each `(left edge, right edge)` (RFC 2018
    /// section 3).
    SackRange(SackBlocks),
    /// Kind 8: the sender's timestamp and the echoed one (RFC 7323 section 3).
    Timestamp {
        /// TSval: the sender's timestamp clock.
        tsval: u32,
        /// TSecr: the most recent TSval received (meaningful with ACK).
        tsecr: u32,
    },
    /// Kind 34: a TCP Fast Open cookie (RFC 7413 section 4.1.1); empty requests one.
    FastOpen(&'a [u8]),
    /// Any other kind, with its data (the bytes after the length byte).
    Unknown {
        /// The option kind.
        kind: u8,
        /// The option data.
        data: &'a [u8],
    },
}

impl<'a> TcpOption<'a> {
    /// The option kind byte.
    pub fn kind(&self) -> u8 {
        match self {
            TcpOption::EndOfList => kind::END_OF_LIST,
            TcpOption::NoOperation => kind::NOP,
            TcpOption::MaxSegmentSize(_) => kind::MSS,
            TcpOption::WindowScale(_) => kind::WINDOW_SCALE,
            TcpOption::SackPermitted => kind::SACK_PERMITTED,
            TcpOption::SackRange(_) => kind::SACK,
            TcpOption::Timestamp { .. } => kind::TIMESTAMP,
            TcpOption::FastOpen(_) => kind::FAST_OPEN,
            TcpOption::Unknown { kind, .. } => *kind,
        }
    }

    /// How many bytes [`emit`](Self::emit) writes.
    ///
    /// An empty [`TcpOption::SackRange`] has no legal encoding and takes 0 bytes.
    pub fn buffer_len(&self) -> usize {
        match self {
            TcpOption::EndOfList | TcpOption::NoOperation => 1,
            TcpOption::MaxSegmentSize(_) => 4,
            TcpOption::WindowScale(_) => 3,
            TcpOption::SackPermitted => 2,
            TcpOption::SackRange(blocks) if blocks.is_empty() => 0,
            TcpOption::SackRange(blocks) => 2 + 8 * blocks.len(),
            TcpOption::Timestamp { .. } => 10,
            TcpOption::FastOpen(cookie) => 2 + cookie.len(),
            TcpOption::Unknown { data, .. } => 2 + data.len(),
        }
    }

    /// Write the option at the start of `buf` and return its length
    /// ([`buffer_len`](Self::buffer_len)).
    ///
    /// # Panics
    ///
    /// When `buf` is shorter than `buffer_len()`, or when a `FastOpen` or `Unknown`
    /// option holds more than 253 bytes of data (no length byte can say so).
    pub fn emit(&self, buf: &mut [u8]) -> usize {
        let len = self.buffer_len();
        if len == 0 {
            return 0;
        }
        let buf = &mut buf[..len];
        buf[0] = self.kind();
        if len > 1 {
            assert!(len <= usize::from(u8::MAX), "TCP option data too long");
            buf[1] = len as u8;
        }
        match self {
            TcpOption::EndOfList | TcpOption::NoOperation | TcpOption::SackPermitted => {}
            TcpOption::MaxSegmentSize(mss) => buf[2..4].copy_from_slice(&mss.to_be_bytes()),
            TcpOption::WindowScale(shift) => buf[2] = *shift,
            TcpOption::SackRange(blocks) => {
                for (chunk, (left, right)) in buf[2..].chunks_exact_mut(8).zip(blocks.as_slice()) {
                    chunk[..4].copy_from_slice(&left.0.to_be_bytes());
                    chunk[4..].copy_from_slice(&right.0.to_be_bytes());
                }
            }
            TcpOption::Timestamp { tsval, tsecr } => {
                buf[2..6].copy_from_slice(&tsval.to_be_bytes());
                buf[6..10].copy_from_slice(&tsecr.to_be_bytes());
            }
            TcpOption::FastOpen(data) | TcpOption::Unknown { data, .. } => {
                buf[2..].copy_from_slice(data);
            }
        }
        len
    }
}

/// An iterator over the options in a byte slice, yielding `Result<TcpOption>`.
///
/// It yields [`TcpOption::EndOfList`] once and stops there (what follows is padding,
/// which RFC 9293 MUST-69 says is zero; it is not checked). It stops after the first
/// error, so a malformed list ends the walk instead of looping on it: a zero length
/// byte is an error, never a step of zero.
#[derive(Debug, Clone)]
pub struct TcpOptionIter<'a> {
    rest: &'a [u8],
    done: bool,
}

impl<'a> TcpOptionIter<'a> {
    /// Walk the option bytes `options` (as from [`TcpPacket::options`](super::TcpPacket::options)).
    pub fn new(options: &'a [u8]) -> TcpOptionIter<'a> {
        TcpOptionIter {
            rest: options,
            done: false,
        }
    }

    fn fail(&mut self, kind: u8) -> Option<Result<TcpOption<'a>>> {
        self.done = true;
        Some(Err(Error::BadOption { kind }))
    }
}

fn be_u32(b: &[u8]) -> u32 {
    u32::from_be_bytes([b[0], b[1], b[2], b[3]])
}

impl<'a> Iterator for TcpOptionIter<'a> {
    type Item = Result<TcpOption<'a>>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.done {
            return None;
        }
        let (&option_kind, after_kind) = self.rest.split_first()?;

        //= https://www.rfc-editor.org/rfc/rfc9293#section-3.1
        //# An option may begin on any octet boundary. There are two cases for the
        //# format of an option:
        //= https://www.rfc-editor.org/rfc/rfc9293#section-3.2
        //# There is no guarantee that senders will use this option, so receivers
        //# MUST be prepared to process options even if they do not begin on a word
        //# boundary (MUST-64).
        match option_kind {
            kind::END_OF_LIST => {
                //= https://www.rfc-editor.org/rfc/rfc9293#section-3.1
                //# The content of the header beyond the End of Option List Option MUST
                //# be header padding of zeros (MUST-69).
                self.done = true;
                self.rest = &[];
                return Some(Ok(TcpOption::EndOfList));
            }
            kind::NOP => {
                self.rest = after_kind;
                return Some(Ok(TcpOption::NoOperation));
            }
            _ => {}
        }

        //= https://www.rfc-editor.org/rfc/rfc9293#section-3.1
        //# All TCP Options except End of Option List Option (EOL) and No-Operation
        //# (NOP) MUST have length fields, including all future options (MUST-68).
        //= https://www.rfc-editor.org/rfc/rfc9293#section-3.1
        //# The option-length counts the two octets of option-kind and option-length
        //# as well as the option-data octets.
        //= https://www.rfc-editor.org/rfc/rfc9293#section-3.1
        //# TCP implementations MUST be prepared to handle an illegal option length
        //# (e.g., zero); a suggested procedure is to reset the connection and log
        //# the error cause (MUST-7).
        let Some(&length) = after_kind.first() else {
            return self.fail(option_kind);
        };
        let length = usize::from(length);
        if length < 2 || length > self.rest.len() {
            return self.fail(option_kind);
        }
        let data = &self.rest[2..length];
        self.rest = &self.rest[length..];

        let option = match option_kind {
            //= https://www.rfc-editor.org/rfc/rfc9293#section-3.2
            //# 1 byte; Length == 4.
            kind::MSS => match data {
                [a, b] => TcpOption::MaxSegmentSize(u16::from_be_bytes([*a, *b])),
                _ => return self.fail(option_kind),
            },
            // RFC 7323 section 2.2: Window Scale is kind 3, length 3.
            kind::WINDOW_SCALE => match data {
                [shift] => TcpOption::WindowScale(*shift),
                _ => return self.fail(option_kind),
            },
            // RFC 2018 section 2: SACK-Permitted is kind 4, length 2.
            kind::SACK_PERMITTED => match data {
                [] => TcpOption::SackPermitted,
                _ => return self.fail(option_kind),
            },
            //= https://www.rfc-editor.org/rfc/rfc2018#section-3
            //# A SACK option that specifies n blocks will have a length of 8*n+2
            //# bytes, so the 40 bytes available for TCP options can specify a
            //# maximum of 4 blocks.
            kind::SACK => {
                if data.is_empty() || data.len() % 8 != 0 || data.len() > 8 * SackBlocks::MAX {
                    return self.fail(option_kind);
                }
                let mut blocks = SackBlocks::new();
                for chunk in data.chunks_exact(8) {
                    blocks.push((
                        SeqNumber(be_u32(&chunk[..4])),
                        SeqNumber(be_u32(&chunk[4..])),
                    ));
                }
                TcpOption::SackRange(blocks)
            }
            // RFC 7323 section 3.2: Timestamps is kind 8, length 10.
            kind::TIMESTAMP => {
                if data.len() != 8 {
                    return self.fail(option_kind);
                }
                TcpOption::Timestamp {
                    tsval: be_u32(&data[..4]),
                    tsecr: be_u32(&data[4..]),
                }
            }
            //= https://www.rfc-editor.org/rfc/rfc7413#section-4.1.1
            //# Cookie          0, or 4 to 16 bytes (Length - 2)
            kind::FAST_OPEN => {
                if !super::option_set::tfo_cookie_len_is_valid(data.len()) {
                    return self.fail(option_kind);
                }
                TcpOption::FastOpen(data)
            }
            //= https://www.rfc-editor.org/rfc/rfc9293#section-3.1
            //# A TCP implementation MUST (MUST-6) ignore without error any TCP Option
            //# it does not implement, assuming that the option has a length field.
            other => TcpOption::Unknown { kind: other, data },
        };
        Some(Ok(option))
    }
}

impl core::iter::FusedIterator for TcpOptionIter<'_> {}

#[cfg(test)]
mod tests {
    use super::*;

    fn walk(bytes: &[u8]) -> Vec<Result<TcpOption<'_>>> {
        // Bounded, so that a walk that failed to make progress fails the test
        // instead of hanging it.
        TcpOptionIter::new(bytes).take(bytes.len() + 1).collect()
    }

    #[test]
    fn linux_syn_options_parse_in_order() {
        // The options of a real Linux 6.18 SYN: mss 1460,sackOK,TS val 3146245160 ecr 0,nop,wscale 10.
        let bytes = [
            0x02, 0x04, 0x05, 0xb4, 0x04, 0x02, 0x08, 0x0a, 0xbb, 0x87, 0xe4, 0x28, 0x00, 0x00,
            0x00, 0x00, 0x01, 0x03, 0x03, 0x0a,
        ];
        assert_eq!(
            walk(&bytes),
            vec![
                Ok(TcpOption::MaxSegmentSize(1460)),
                Ok(TcpOption::SackPermitted),
                Ok(TcpOption::Timestamp {
                    tsval: 3_146_245_160,
                    tsecr: 0
                }),
                Ok(TcpOption::NoOperation),
                Ok(TcpOption::WindowScale(10)),
            ]
        );
    }

    #[test]
    fn options_at_odd_offsets_parse() {
        // MUST-64: no alignment. One NOP pushes everything to odd offsets.
        let mut bytes = vec![0x01];
        for option in [
            TcpOption::MaxSegmentSize(536),
            TcpOption::WindowScale(14),
            TcpOption::Timestamp {
                tsval: 0x0102_0304,
                tsecr: 0x0506_0708,
            },
            TcpOption::SackPermitted,
            TcpOption::SackRange(
                SackBlocks::from_slice(&[(SeqNumber(100), SeqNumber(200))]).expect("one block"),
            ),
            TcpOption::FastOpen(&[9, 8, 7, 6]),
        ] {
            let at = bytes.len();
            bytes.resize(at + option.buffer_len(), 0xee);
            assert_eq!(option.emit(&mut bytes[at..]), option.buffer_len());
        }
        let parsed = walk(&bytes);
        assert_eq!(parsed.len(), 7);
        assert_eq!(parsed[1], Ok(TcpOption::MaxSegmentSize(536)));
        assert_eq!(parsed[2], Ok(TcpOption::WindowScale(14)));
        assert_eq!(
            parsed[3],
            Ok(TcpOption::Timestamp {
                tsval: 0x0102_0304,
                tsecr: 0x0506_0708
            })
        );
        assert_eq!(parsed[4], Ok(TcpOption::SackPermitted));
        assert!(
            matches!(parsed[5], Ok(TcpOption::SackRange(b)) if b.as_slice() == [(SeqNumber(100), SeqNumber(200))])
        );
        assert_eq!(parsed[6], Ok(TcpOption::FastOpen(&[9, 8, 7, 6])));
    }

    #[test]
    fn end_of_list_stops_the_walk() {
        let bytes = [0x01, 0x00, 0x02, 0x04, 0x05, 0xb4];
        assert_eq!(
            walk(&bytes),
            vec![Ok(TcpOption::NoOperation), Ok(TcpOption::EndOfList)]
        );
    }

    #[test]
    fn unknown_options_are_yielded_and_skipped() {
        // MUST-6: kind 30 (MPTCP) and kind 254 (experimental) are skipped by length.
        let bytes = [30, 4, 0xaa, 0xbb, 254, 2, 0x03, 0x03, 0x07];
        assert_eq!(
            walk(&bytes),
            vec![
                Ok(TcpOption::Unknown {
                    kind: 30,
                    data: &[0xaa, 0xbb]
                }),
                Ok(TcpOption::Unknown {
                    kind: 254,
                    data: &[]
                }),
                Ok(TcpOption::WindowScale(7)),
            ]
        );
    }

    #[test]
    fn each_illegal_length_is_a_bad_option_of_its_kind() {
        let cases: &[(&[u8], u8)] = &[
            // Length byte below 2 (MUST-7), for known and unknown kinds.
            (&[2, 0, 0, 0], 2),
            (&[2, 1, 0, 0], 2),
            (&[5, 0], 5),
            (&[99, 1], 99),
            // Length byte missing.
            (&[8], 8),
            (&[1, 1, 77], 77),
            // Length past the end of the list.
            (&[2, 4, 5], 2),
            (&[99, 9, 1, 2, 3], 99),
            // MSS length != 4.
            (&[2, 3, 5], 2),
            (&[2, 5, 5, 0xb4, 0], 2),
            // Window scale length != 3.
            (&[3, 2], 3),
            (&[3, 4, 7, 0], 3),
            // SACK-permitted length != 2.
            (&[4, 3, 0], 4),
            (&[4, 4, 0, 0], 4),
            // Timestamps length != 10.
            (&[8, 9, 0, 0, 0, 0, 0, 0, 0], 8),
            (&[8, 11, 0, 0, 0, 0, 0, 0, 0, 0, 0], 8),
            // SACK: 2 + 8n for n in 1..=4 only.
            (&[5, 2], 5),
            (&[5, 9, 0, 0, 0, 0, 0, 0, 0], 5),
            (&[5, 11, 0, 0, 0, 0, 0, 0, 0, 0, 0], 5),
            (
                &[
                    5, 42, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
                    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
                ],
                5,
            ),
            // TFO cookie: 0 or 4..=16 bytes, even.
            (&[34, 3, 0], 34),
            (&[34, 4, 0, 0], 34),
            (&[34, 7, 0, 0, 0, 0, 0], 34),
            (
                &[34, 20, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0],
                34,
            ),
        ];
        for (bytes, kind) in cases {
            let parsed = walk(bytes);
            assert_eq!(
                parsed.last(),
                Some(&Err(Error::BadOption { kind: *kind })),
                "{bytes:?}"
            );
            assert_eq!(
                parsed.iter().filter(|r| r.is_err()).count(),
                1,
                "the walk stops at the first error: {bytes:?}"
            );
        }
    }

    #[test]
    fn legal_sack_and_tfo_lengths_parse() {
        for n in 1..=4usize {
            let mut bytes = vec![5, (2 + 8 * n) as u8];
            bytes.resize(2 + 8 * n, 0x11);
            let parsed = walk(&bytes);
            assert!(matches!(parsed[..], [Ok(TcpOption::SackRange(b))] if b.len() == n));
        }
        for len in [0usize, 4, 6, 8, 10, 12, 14, 16] {
            let mut bytes = vec![34, (2 + len) as u8];
            bytes.resize(2 + len, 0x22);
            assert!(matches!(walk(&bytes)[..], [Ok(TcpOption::FastOpen(c))] if c.len() == len));
        }
    }

    #[test]
    fn zero_length_option_ends_the_walk() {
        // A zero length must not be a step of zero: 40 bytes of [kind, 0] pairs end
        // after one error, and the iterator stays finished.
        let bytes = [0x05, 0x00].repeat(20);
        let mut iter = TcpOptionIter::new(&bytes);
        assert_eq!(iter.next(), Some(Err(Error::BadOption { kind: 5 })));
        assert_eq!(iter.next(), None);
        assert_eq!(iter.next(), None);
    }

    #[test]
    fn emit_writes_what_parse_reads() {
        let blocks = SackBlocks::from_slice(&[
            (SeqNumber(1), SeqNumber(2)),
            (SeqNumber(u32::MAX), SeqNumber(7)),
        ])
        .expect("two blocks");
        for option in [
            TcpOption::EndOfList,
            TcpOption::NoOperation,
            TcpOption::MaxSegmentSize(65495),
            TcpOption::WindowScale(0),
            TcpOption::SackPermitted,
            TcpOption::SackRange(blocks),
            TcpOption::Timestamp { tsval: 1, tsecr: 2 },
            TcpOption::FastOpen(&[]),
            TcpOption::FastOpen(&[1; 16]),
            TcpOption::Unknown {
                kind: 30,
                data: &[1, 2, 3],
            },
        ] {
            let mut buf = [0u8; 40];
            let len = option.emit(&mut buf);
            assert_eq!(len, option.buffer_len());
            assert_eq!(walk(&buf[..len]), vec![Ok(option)]);
        }
    }

    #[test]
    fn empty_sack_range_emits_nothing() {
        let option = TcpOption::SackRange(SackBlocks::new());
        assert_eq!(option.buffer_len(), 0);
        assert_eq!(option.emit(&mut []), 0);
    }

    /// An option as owned values, for generating [`TcpOption`]s (which borrow).
    #[derive(Debug, Clone)]
    enum Gen {
        Nop,
        Mss(u16),
        Ws(u8),
        SackPermitted,
        Sack(Vec<(u32, u32)>),
        Ts(u32, u32),
        FastOpen(Vec<u8>),
        Unknown(u8, Vec<u8>),
    }

    impl Gen {
        fn option(&self) -> TcpOption<'_> {
            match self {
                Gen::Nop => TcpOption::NoOperation,
                Gen::Mss(v) => TcpOption::MaxSegmentSize(*v),
                Gen::Ws(v) => TcpOption::WindowScale(*v),
                Gen::SackPermitted => TcpOption::SackPermitted,
                Gen::Sack(blocks) => {
                    let blocks: Vec<_> = blocks
                        .iter()
                        .map(|&(l, r)| (SeqNumber(l), SeqNumber(r)))
                        .collect();
                    TcpOption::SackRange(SackBlocks::from_slice(&blocks).expect("at most four"))
                }
                Gen::Ts(tsval, tsecr) => TcpOption::Timestamp {
                    tsval: *tsval,
                    tsecr: *tsecr,
                },
                Gen::FastOpen(cookie) => TcpOption::FastOpen(cookie),
                Gen::Unknown(kind, data) => TcpOption::Unknown { kind: *kind, data },
            }
        }
    }

    fn arb_gen() -> impl proptest::strategy::Strategy<Value = Gen> {
        use proptest::collection::vec;
        use proptest::prelude::*;
        prop_oneof![
            Just(Gen::Nop),
            any::<u16>().prop_map(Gen::Mss),
            any::<u8>().prop_map(Gen::Ws),
            Just(Gen::SackPermitted),
            vec((any::<u32>(), any::<u32>()), 1..=4).prop_map(Gen::Sack),
            (any::<u32>(), any::<u32>()).prop_map(|(a, b)| Gen::Ts(a, b)),
            prop_oneof![Just(0usize), (2usize..=8).prop_map(|n| 2 * n)]
                .prop_flat_map(|len| vec(any::<u8>(), len))
                .prop_map(Gen::FastOpen),
            (
                any::<u8>().prop_filter("a kind we parse", |k| {
                    ![0, 1, 2, 3, 4, 5, 8, 34].contains(k)
                }),
                vec(any::<u8>(), 0..=38)
            )
                .prop_map(|(k, d)| Gen::Unknown(k, d)),
        ]
    }

    proptest::proptest! {
        #[test]
        fn parse_of_emit_is_identity_and_every_truncation_is_bad_option(g in arb_gen()) {
            let option = g.option();
            let mut buf = [0u8; 64];
            let len = option.emit(&mut buf);
            proptest::prop_assert_eq!(len, option.buffer_len());
            proptest::prop_assert_eq!(walk(&buf[..len]), vec![Ok(option)]);
            // A cut inside an option with a length byte fails with its kind.
            for cut in 1..len {
                proptest::prop_assert_eq!(
                    walk(&buf[..cut]),
                    vec![Err(Error::BadOption { kind: option.kind() })],
                    "cut {}", cut
                );
            }
        }

        #[test]
        fn lists_of_options_parse_back_in_order(
            gens in proptest::collection::vec(arb_gen(), 0..8),
            end_of_list: bool,
        ) {
            let options: Vec<TcpOption<'_>> = gens.iter().map(Gen::option).collect();
            let mut buf = vec![0u8; 600];
            let mut at = 0;
            for o in &options {
                at += o.emit(&mut buf[at..]);
            }
            let mut want: Vec<Result<TcpOption<'_>>> = options.iter().copied().map(Ok).collect();
            if end_of_list {
                // EOL ends the walk: what follows (zero padding) is not read.
                want.push(Ok(TcpOption::EndOfList));
                at += TcpOption::EndOfList.emit(&mut buf[at..]) + 3;
            }
            proptest::prop_assert_eq!(walk(&buf[..at]), want);
        }

        #[test]
        fn walking_arbitrary_bytes_ends_without_panic(bytes in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..60)) {
            let mut steps = 0;
            for item in TcpOptionIter::new(&bytes) {
                steps += 1;
                proptest::prop_assert!(steps <= bytes.len());
                if let Ok(option) = item {
                    let mut buf = [0u8; 64];
                    let _ = option.emit(&mut buf);
                }
            }
        }
    }
}
