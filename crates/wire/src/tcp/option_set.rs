//! The options a segment carries, as values ([`TcpOptions`]), and their canonical
//! layout on the wire.
//!
//! See [`TcpOptions`] for the canonical layout emit writes.

use core::fmt;

use crate::error::Result;
use crate::seq::SeqNumber;

use super::options::{TcpOption, TcpOptionIter};

/// Up to four SACK blocks, each `(left edge, right edge)`: a fixed array and a count.
///
/// The blocks keep the order they had on the wire (RFC 2018 puts the most recently
/// received block first).
#[derive(Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct SackBlocks {
    // Entries at `len..` are always default, so the derived comparisons are right.
    blocks: [(SeqNumber, SeqNumber); SackBlocks::MAX],
    len: u8,
}

impl SackBlocks {
    /// The most blocks a SACK option can hold (RFC 2018 section 3).
    pub const MAX: usize = 4;

    /// No blocks.
    pub const fn new() -> SackBlocks {
        SackBlocks {
            blocks: [(SeqNumber(0), SeqNumber(0)); SackBlocks::MAX],
            len: 0,
        }
    }

    /// The given blocks, or `None` when there are more than four.
    pub fn from_slice(blocks: &[(SeqNumber, SeqNumber)]) -> Option<SackBlocks> {
        let mut out = SackBlocks::new();
        for &block in blocks {
            if !out.push(block) {
                return None;
            }
        }
        Some(out)
    }

    /// Append a block; `false` (and no change) when four are held already.
    pub fn push(&mut self, block: (SeqNumber, SeqNumber)) -> bool {
        let Some(slot) = self.blocks.get_mut(usize::from(self.len)) else {
            return false;
        };
        *slot = block;
        self.len += 1;
        true
    }

    /// Keep only the first `len` blocks.
    pub fn truncate(&mut self, len: usize) {
        while usize::from(self.len) > len {
            self.len -= 1;
            self.blocks[usize::from(self.len)] = Default::default();
        }
    }

    /// The blocks.
    pub fn as_slice(&self) -> &[(SeqNumber, SeqNumber)] {
        &self.blocks[..usize::from(self.len)]
    }

    /// How many blocks are held.
    pub fn len(&self) -> usize {
        usize::from(self.len)
    }

    /// Whether no block is held.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }
}

impl fmt::Debug for SackBlocks {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list()
            .entries(self.as_slice().iter().map(|(l, r)| (l.0, r.0)))
            .finish()
    }
}

/// The Timestamps option's two values (RFC 7323 section 3.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct TcpTimestamp {
    /// TSval: the sender's timestamp clock.
    pub tsval: u32,
    /// TSecr: the most recent TSval received (meaningful with ACK).
    pub tsecr: u32,
}

/// Whether `len` is a legal Fast Open cookie length: 0 (a cookie request) or an even
/// number from 4 to 16.
//= https://www.rfc-editor.org/rfc/rfc7413#section-4.1.1
//# Length          1 byte: range 6 to 18 (bytes); limited by
//#                         remaining space in the options field.
//#                         The number MUST be even.
pub(crate) fn tfo_cookie_len_is_valid(len: usize) -> bool {
    len == 0 || ((4..=16).contains(&len) && len % 2 == 0)
}

/// A TCP Fast Open cookie (RFC 7413), held by value: up to 16 bytes and a length.
///
/// An empty cookie is a cookie request.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct TfoCookie {
    // Bytes at `len..` are always zero, so the derived comparisons are right.
    bytes: [u8; 16],
    len: u8,
}

impl TfoCookie {
    /// The empty cookie, which asks the server for one.
    pub const fn request() -> TfoCookie {
        TfoCookie {
            bytes: [0; 16],
            len: 0,
        }
    }

    /// A cookie of the given bytes, or `None` unless its length is 0 or an even number
    /// from 4 to 16.
    pub fn new(cookie: &[u8]) -> Option<TfoCookie> {
        if !tfo_cookie_len_is_valid(cookie.len()) {
            return None;
        }
        let mut out = TfoCookie::request();
        out.bytes[..cookie.len()].copy_from_slice(cookie);
        out.len = cookie.len() as u8;
        Some(out)
    }

    /// The cookie bytes (empty for a request).
    pub fn as_bytes(&self) -> &[u8] {
        &self.bytes[..usize::from(self.len)]
    }

    /// Whether this is a cookie request (no cookie bytes).
    pub fn is_request(&self) -> bool {
        self.len == 0
    }

    /// The cookie length in bytes.
    pub fn len(&self) -> usize {
        usize::from(self.len)
    }

    /// Whether the cookie is empty, i.e. a request.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }
}

impl fmt::Debug for TfoCookie {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("TfoCookie(")?;
        if self.is_request() {
            f.write_str("request")?;
        }
        for b in self.as_bytes() {
            write!(f, "{b:02x}")?;
        }
        f.write_str(")")
    }
}

/// The options of a segment as values.
///
/// # Canonical layout
///
/// [`TcpOptions::emit`] writes the options in the order and alignment Linux uses
/// (`tcp_options_write` in `net/ipv4/tcp_output.c`), so that parsing a Linux segment
/// and emitting it again gives the same bytes:
///
/// | options present                 | bytes                                   |
/// |---------------------------------|-----------------------------------------|
/// | MSS                             | `2 4 mss`                               |
/// | timestamps and SACK-permitted   | `4 2 8 10 tsval tsecr`                  |
/// | timestamps only                 | `1 1 8 10 tsval tsecr`                  |
/// | SACK-permitted only             | `1 1 4 2`                               |
/// | window scale                    | `1 3 3 shift`                           |
/// | SACK blocks                     | `1 1 5 2+8n blocks...`                  |
/// | Fast Open cookie                | `34 2+len cookie` then `1 1` if needed  |
///
/// Every piece is a whole number of 32-bit words, so no trailing padding is ever
/// needed. The options must fit the 40 bytes a header has room for: when the SACK
/// blocks would not, only the first blocks that fit are written (at most 3 next to
/// timestamps, as in Linux), and [`TcpOptions::buffer_len`] counts exactly what
/// [`TcpOptions::emit`] writes. Everything but SACK blocks always fits.
///
/// Parsing keeps no order and drops unknown options (RFC 9293 MUST-6), so unknown
/// options, EOL, and non-canonical NOP padding do not survive a parse/emit round trip.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct TcpOptions {
    /// Maximum Segment Size (kind 2).
    pub mss: Option<u16>,
    /// Window Scale shift count (kind 3), as sent (not clamped to 14).
    pub window_scale: Option<u8>,
    /// SACK-Permitted (kind 4).
    pub sack_permitted: bool,
    /// SACK blocks (kind 5); empty when there is no SACK option.
    pub sack_ranges: SackBlocks,
    /// Timestamps (kind 8).
    pub timestamp: Option<TcpTimestamp>,
    /// TCP Fast Open cookie or cookie request (kind 34).
    pub fast_open: Option<TfoCookie>,
}

impl TcpOptions {
    /// The most option bytes a header holds (60 - 20).
    pub const MAX_LEN: usize = 40;

    /// No options.
    pub const fn new() -> TcpOptions {
        TcpOptions {
            mss: None,
            window_scale: None,
            sack_permitted: false,
            sack_ranges: SackBlocks::new(),
            timestamp: None,
            fast_open: None,
        }
    }

    /// The options in `bytes` (the raw option area of a header).
    ///
    /// Unknown options are skipped (RFC 9293 MUST-6), the walk ends at End of Option
    /// List, and an option that appears twice keeps its last value. An illegal option
    /// length is [`Error::BadOption`](crate::Error::BadOption).
    pub fn parse(bytes: &[u8]) -> Result<TcpOptions> {
        let mut out = TcpOptions::new();
        out.parse_over(bytes)?;
        Ok(out)
    }

    /// [`parse`](Self::parse) written over `self` (which a caller gives as
    /// [`TcpOptions::new`] for the same result), for a caller that holds the
    /// options in place: no copy of them comes back. On an error `self` is
    /// partly written, and the caller drops it. Out of line: one copy serves
    /// both.
    /// Crate-private: a caller that reused one `TcpOptions` without
    /// resetting it would keep the previous segment's options.
    #[inline(never)]
    pub(crate) fn parse_over(&mut self, bytes: &[u8]) -> Result<()> {
        let out = self;
        // Fast path for the layout nearly every segment of a timestamped connection
        // carries (RFC 7323 Appendix A): NOP, NOP, then the 10-byte timestamp. The
        // rest, if any (SACK blocks), goes through the general loop, whose later
        // options override as they would anyway.
        let mut rest = bytes;
        if let [1, 1, 8, 10, a0, a1, a2, a3, b0, b1, b2, b3, tail @ ..] = bytes {
            out.timestamp = Some(TcpTimestamp {
                tsval: u32::from_be_bytes([*a0, *a1, *a2, *a3]),
                tsecr: u32::from_be_bytes([*b0, *b1, *b2, *b3]),
            });
            rest = tail;
        } else if let [2, 4, m0, m1, 4, 2, 8, 10, a0, a1, a2, a3, b0, b1, b2, b3, 1, 3, 3, shift, tail @ ..] =
            bytes
        {
            // The SYN layout of Linux and of this stack's own SYNs and SYN-ACKs (MSS,
            // SACK-permitted, timestamps, NOP, window scale: see the table above):
            // every option in it is well-formed, so the general loop would set the
            // same four values. The rest, if any, goes through the loop.
            out.mss = Some(u16::from_be_bytes([*m0, *m1]));
            out.sack_permitted = true;
            out.timestamp = Some(TcpTimestamp {
                tsval: u32::from_be_bytes([*a0, *a1, *a2, *a3]),
                tsecr: u32::from_be_bytes([*b0, *b1, *b2, *b3]),
            });
            out.window_scale = Some(*shift);
            rest = tail;
        }
        if rest.is_empty() {
            // Nothing after the common layout (or no options at all): the walk
            // would find nothing to set.
            return Ok(());
        }
        Self::parse_into(out, rest)
    }

    /// The general walk of [`parse`](Self::parse): the options in `bytes` set over
    /// `out`.
    fn parse_into(out: &mut TcpOptions, bytes: &[u8]) -> Result<()> {
        for option in TcpOptionIter::new(bytes) {
            match option? {
                TcpOption::EndOfList | TcpOption::NoOperation | TcpOption::Unknown { .. } => {}
                TcpOption::MaxSegmentSize(mss) => out.mss = Some(mss),
                TcpOption::WindowScale(shift) => out.window_scale = Some(shift),
                TcpOption::SackPermitted => out.sack_permitted = true,
                TcpOption::SackRange(blocks) => out.sack_ranges = blocks,
                TcpOption::Timestamp { tsval, tsecr } => {
                    out.timestamp = Some(TcpTimestamp { tsval, tsecr });
                }
                TcpOption::FastOpen(cookie) => out.fast_open = TfoCookie::new(cookie),
            }
        }
        Ok(())
    }

    /// Whether no option is set.
    pub fn is_empty(&self) -> bool {
        *self == TcpOptions::new()
    }

    /// The bytes of everything except the SACK blocks (at most 40).
    fn fixed_len(&self) -> usize {
        let mut len = 0;
        if self.mss.is_some() {
            len += 4;
        }
        if self.timestamp.is_some() {
            len += 12;
        } else if self.sack_permitted {
            len += 4;
        }
        if self.window_scale.is_some() {
            len += 4;
        }
        if let Some(cookie) = self.fast_open {
            len += (2 + cookie.len()).next_multiple_of(4);
        }
        len
    }

    /// How many of [`sack_ranges`](Self::sack_ranges) [`emit`](Self::emit) writes:
    /// all of them when they fit in the 40 bytes next to the other options, otherwise
    /// the first ones that do.
    pub fn sack_blocks_emitted(&self) -> usize {
        let room = Self::MAX_LEN.saturating_sub(self.fixed_len());
        let fit = room.saturating_sub(4) / 8;
        self.sack_ranges.len().min(fit)
    }

    /// The bytes [`emit`](Self::emit) writes: a multiple of 4, at most 40.
    pub fn buffer_len(&self) -> usize {
        let blocks = self.sack_blocks_emitted();
        let sack = if blocks == 0 { 0 } else { 4 + 8 * blocks };
        self.fixed_len() + sack
    }

    /// Write the options in the canonical layout at the start of `buf` and return
    /// [`buffer_len`](Self::buffer_len).
    ///
    /// # Panics
    ///
    /// When `buf` is shorter than `buffer_len()`.
    pub fn emit(&self, buf: &mut [u8]) -> usize {
        // Fast path: a data segment or ACK of a timestamped connection carries only
        // the timestamp, in the canonical NOP, NOP, TS layout.
        if let (Some(ts), None, None, false, true, None) = (
            self.timestamp,
            self.mss,
            self.window_scale,
            self.sack_permitted,
            self.sack_ranges.is_empty(),
            self.fast_open,
        ) {
            let out = &mut buf[..12];
            out[..4].copy_from_slice(&[1, 1, 8, 10]);
            out[4..8].copy_from_slice(&ts.tsval.to_be_bytes());
            out[8..12].copy_from_slice(&ts.tsecr.to_be_bytes());
            return 12;
        }
        // Fast path: a SYN or SYN-ACK with everything on (the stack always offers
        // the same set for a given configuration), in the canonical MSS, SACK-
        // permitted + timestamps, NOP + window scale layout of the table above.
        if let (Some(mss), Some(ts), Some(shift), true, true, None) = (
            self.mss,
            self.timestamp,
            self.window_scale,
            self.sack_permitted,
            self.sack_ranges.is_empty(),
            self.fast_open,
        ) {
            let out = &mut buf[..20];
            let [m0, m1] = mss.to_be_bytes();
            out[..8].copy_from_slice(&[2, 4, m0, m1, 4, 2, 8, 10]);
            out[8..12].copy_from_slice(&ts.tsval.to_be_bytes());
            out[12..16].copy_from_slice(&ts.tsecr.to_be_bytes());
            out[16..20].copy_from_slice(&[1, 3, 3, shift]);
            return 20;
        }
        self.emit_general(buf)
    }

    /// The general writer of [`emit`](Self::emit), one option at a time.
    fn emit_general(&self, buf: &mut [u8]) -> usize {
        let mut at = 0;
        let mut put = |option: TcpOption<'_>, buf: &mut [u8]| {
            at += option.emit(&mut buf[at..]);
        };
        if let Some(mss) = self.mss {
            put(TcpOption::MaxSegmentSize(mss), buf);
        }
        if let Some(ts) = self.timestamp {
            if self.sack_permitted {
                put(TcpOption::SackPermitted, buf);
            } else {
                put(TcpOption::NoOperation, buf);
                put(TcpOption::NoOperation, buf);
            }
            put(
                TcpOption::Timestamp {
                    tsval: ts.tsval,
                    tsecr: ts.tsecr,
                },
                buf,
            );
        } else if self.sack_permitted {
            put(TcpOption::NoOperation, buf);
            put(TcpOption::NoOperation, buf);
            put(TcpOption::SackPermitted, buf);
        }
        if let Some(shift) = self.window_scale {
            put(TcpOption::NoOperation, buf);
            put(TcpOption::WindowScale(shift), buf);
        }
        let blocks = self.sack_blocks_emitted();
        if blocks > 0 {
            let mut sack = self.sack_ranges;
            sack.truncate(blocks);
            put(TcpOption::NoOperation, buf);
            put(TcpOption::NoOperation, buf);
            put(TcpOption::SackRange(sack), buf);
        }
        if let Some(cookie) = self.fast_open {
            put(TcpOption::FastOpen(cookie.as_bytes()), buf);
            if (2 + cookie.len()) % 4 == 2 {
                put(TcpOption::NoOperation, buf);
                put(TcpOption::NoOperation, buf);
            }
        }
        at
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Error;

    /// The general walk alone over no options (the reference for the fast
    /// layouts), as a value.
    fn general_walk(bytes: &[u8]) -> Result<TcpOptions> {
        let mut out = TcpOptions::new();
        TcpOptions::parse_into(&mut out, bytes).map(|()| out)
    }

    /// `parse_over` fresh options in place, as a value.
    fn parsed_over(bytes: &[u8]) -> Result<TcpOptions> {
        let mut out = TcpOptions::new();
        out.parse_over(bytes).map(|()| out)
    }

    fn emitted(options: &TcpOptions) -> Vec<u8> {
        let mut buf = vec![0xee; options.buffer_len()];
        assert_eq!(options.emit(&mut buf), buf.len());
        buf
    }

    #[test]
    fn timestamp_fast_paths_agree_with_the_general_layout() {
        let mut only_ts = TcpOptions::new();
        only_ts.timestamp = Some(TcpTimestamp {
            tsval: 0x0102_0304,
            tsecr: 0xa0b0_c0d0,
        });
        let bytes = emitted(&only_ts);
        assert_eq!(bytes, [1, 1, 8, 10, 1, 2, 3, 4, 0xa0, 0xb0, 0xc0, 0xd0]);
        assert_eq!(TcpOptions::parse(&bytes), Ok(only_ts));
        // Timestamp then SACK blocks: the fast path takes the first 12 bytes and the
        // general loop the rest.
        let mut with_sack = only_ts;
        with_sack
            .sack_ranges
            .push((crate::SeqNumber(100), crate::SeqNumber(200)));
        let bytes = emitted(&with_sack);
        assert_eq!(&bytes[..4], &[1, 1, 8, 10]);
        assert_eq!(TcpOptions::parse(&bytes), Ok(with_sack));
        // A later timestamp overrides the first, as in the general loop.
        let mut twice = bytes[..12].to_vec();
        twice.extend_from_slice(&[1, 1, 8, 10, 0, 0, 0, 9, 0, 0, 0, 8]);
        let parsed = TcpOptions::parse(&twice).unwrap();
        assert_eq!(parsed.timestamp, Some(TcpTimestamp { tsval: 9, tsecr: 8 }));
    }

    /// Every combination of options `emit` takes (each SACK block count, each kind
    /// of Fast Open option, with and without each of the others).
    fn every_option_set() -> Vec<TcpOptions> {
        let mut out = Vec::new();
        let cookies = [
            None,
            Some(TfoCookie::request()),
            TfoCookie::new(&[7; 4]),
            TfoCookie::new(&[8; 6]),
            TfoCookie::new(&[9; 16]),
        ];
        for mss in [None, Some(1460), Some(0xfedc)] {
            for window_scale in [None, Some(0), Some(7), Some(14), Some(255)] {
                for sack_permitted in [false, true] {
                    for timestamp in [
                        None,
                        Some(TcpTimestamp {
                            tsval: 0x0102_0304,
                            tsecr: 0,
                        }),
                        Some(TcpTimestamp {
                            tsval: u32::MAX,
                            tsecr: 0xa0b0_c0d0,
                        }),
                    ] {
                        for n in 0..=4 {
                            for fast_open in cookies {
                                out.push(TcpOptions {
                                    mss,
                                    window_scale,
                                    sack_permitted,
                                    sack_ranges: blocks(n),
                                    timestamp,
                                    fast_open,
                                });
                            }
                        }
                    }
                }
            }
        }
        out
    }

    #[test]
    fn fast_emit_writes_the_bytes_of_the_general_writer_for_every_option_set() {
        for options in every_option_set() {
            let mut fast = [0xeeu8; 48];
            let mut general = [0xeeu8; 48];
            let n = options.emit(&mut fast);
            assert_eq!(n, options.emit_general(&mut general), "{options:?}");
            assert_eq!(n, options.buffer_len(), "{options:?}");
            assert_eq!(fast, general, "{options:?}");
        }
    }

    #[test]
    fn fast_parse_agrees_with_the_general_walk_on_every_layout_and_its_corruptions() {
        let mut syn_layout_seen = false;
        for options in every_option_set() {
            let bytes = emitted(&options);
            syn_layout_seen |= bytes.len() >= 20 && bytes[..2] == [2, 4];
            let general = general_walk(&bytes);
            assert_eq!(TcpOptions::parse(&bytes), general, "{bytes:?}");
            // Every byte changed, every truncation, and tails that override or
            // break what the fast path took: the general walk decides each.
            for i in 0..bytes.len() {
                for v in [0u8, 1, 2, 3, 4, 8, 10, 0xff] {
                    let mut b = bytes.clone();
                    b[i] = v;
                    let general = general_walk(&b);
                    assert_eq!(TcpOptions::parse(&b), general, "{b:?}");
                    assert_eq!(parsed_over(&b), general, "{b:?}");
                }
                let general = general_walk(&bytes[..i]);
                assert_eq!(TcpOptions::parse(&bytes[..i]), general);
            }
            for tail in [
                &[2u8, 4, 1, 0][..],
                &[3, 3, 9][..],
                &[1, 1, 8, 10, 0, 0, 0, 9, 0, 0, 0, 8][..],
                &[0, 0, 0][..],
                &[3, 2][..],
                &[8, 11, 0][..],
                &[254, 3, 0][..],
            ] {
                let mut b = bytes.clone();
                b.extend_from_slice(tail);
                let general = general_walk(&b);
                assert_eq!(TcpOptions::parse(&b), general, "{b:?}");
            }
        }
        assert!(syn_layout_seen);
    }

    #[test]
    fn our_syn_option_block_takes_the_fixed_layout() {
        let syn = TcpOptions {
            mss: Some(1460),
            window_scale: Some(7),
            sack_permitted: true,
            timestamp: Some(TcpTimestamp {
                tsval: 0x0102_0304,
                tsecr: 0,
            }),
            ..TcpOptions::new()
        };
        let bytes = emitted(&syn);
        assert_eq!(
            bytes,
            [2, 4, 5, 0xb4, 4, 2, 8, 10, 1, 2, 3, 4, 0, 0, 0, 0, 1, 3, 3, 7]
        );
        assert_eq!(TcpOptions::parse(&bytes), Ok(syn));
        // A refusal (no window scale) takes the general writer and walk.
        let no_ws = TcpOptions {
            window_scale: None,
            ..syn
        };
        let bytes = emitted(&no_ws);
        assert_eq!(bytes.len(), 16);
        assert_eq!(TcpOptions::parse(&bytes), Ok(no_ws));
    }

    fn blocks(n: u32) -> SackBlocks {
        let mut out = SackBlocks::new();
        for i in 0..n {
            assert!(out.push((SeqNumber(1000 * i), SeqNumber(1000 * i + 500))));
        }
        out
    }

    #[test]
    fn linux_syn_layout_round_trips() {
        // mss 1460,sackOK,TS val 3146245160 ecr 0,nop,wscale 10 from a Linux SYN.
        let bytes = [
            0x02, 0x04, 0x05, 0xb4, 0x04, 0x02, 0x08, 0x0a, 0xbb, 0x87, 0xe4, 0x28, 0x00, 0x00,
            0x00, 0x00, 0x01, 0x03, 0x03, 0x0a,
        ];
        let options = TcpOptions::parse(&bytes).expect("valid");
        assert_eq!(
            options,
            TcpOptions {
                mss: Some(1460),
                window_scale: Some(10),
                sack_permitted: true,
                timestamp: Some(TcpTimestamp {
                    tsval: 3_146_245_160,
                    tsecr: 0
                }),
                ..TcpOptions::new()
            }
        );
        assert_eq!(emitted(&options), bytes);
    }

    #[test]
    fn each_piece_takes_linux_alignment() {
        let ts = Some(TcpTimestamp { tsval: 1, tsecr: 2 });
        let cases: [(TcpOptions, &[u8]); 6] = [
            (
                TcpOptions {
                    timestamp: ts,
                    ..TcpOptions::new()
                },
                &[1, 1, 8, 10, 0, 0, 0, 1, 0, 0, 0, 2],
            ),
            (
                TcpOptions {
                    sack_permitted: true,
                    ..TcpOptions::new()
                },
                &[1, 1, 4, 2],
            ),
            (
                TcpOptions {
                    window_scale: Some(7),
                    ..TcpOptions::new()
                },
                &[1, 3, 3, 7],
            ),
            (
                TcpOptions {
                    sack_ranges: blocks(1),
                    ..TcpOptions::new()
                },
                &[1, 1, 5, 10, 0, 0, 0, 0, 0, 0, 1, 0xf4],
            ),
            (
                TcpOptions {
                    fast_open: Some(TfoCookie::request()),
                    ..TcpOptions::new()
                },
                &[34, 2, 1, 1],
            ),
            (
                TcpOptions {
                    fast_open: TfoCookie::new(&[1, 2, 3, 4, 5, 6]),
                    ..TcpOptions::new()
                },
                &[34, 8, 1, 2, 3, 4, 5, 6],
            ),
        ];
        for (options, bytes) in cases {
            assert_eq!(emitted(&options), bytes, "{options:?}");
            assert_eq!(TcpOptions::parse(bytes), Ok(options));
        }
    }

    #[test]
    fn sack_blocks_shrink_to_fit_forty_bytes() {
        let mut options = TcpOptions {
            sack_ranges: blocks(4),
            ..TcpOptions::new()
        };
        assert_eq!(options.sack_blocks_emitted(), 4);
        assert_eq!(options.buffer_len(), 36);

        // Timestamps leave room for three blocks, as in Linux.
        options.timestamp = Some(TcpTimestamp::default());
        assert_eq!(options.sack_blocks_emitted(), 3);
        assert_eq!(options.buffer_len(), 40);
        let parsed = TcpOptions::parse(&emitted(&options)).expect("valid");
        assert_eq!(parsed.sack_ranges.as_slice(), &blocks(4).as_slice()[..3]);

        // The largest other set leaves no room at all.
        options.mss = Some(1460);
        options.window_scale = Some(14);
        options.sack_permitted = true;
        options.fast_open = TfoCookie::new(&[0xab; 16]);
        assert_eq!(options.sack_blocks_emitted(), 0);
        assert_eq!(options.buffer_len(), 40);
        let parsed = TcpOptions::parse(&emitted(&options)).expect("valid");
        assert!(parsed.sack_ranges.is_empty());
    }

    #[test]
    fn unknown_options_eol_and_padding_are_dropped() {
        let bytes = [30, 4, 0xaa, 0xbb, 1, 3, 3, 5, 0, 0, 0, 0];
        let options = TcpOptions::parse(&bytes).expect("valid");
        assert_eq!(
            options,
            TcpOptions {
                window_scale: Some(5),
                ..TcpOptions::new()
            }
        );
        assert_eq!(emitted(&options), [1, 3, 3, 5]);
    }

    #[test]
    fn a_repeated_option_keeps_its_last_value() {
        let bytes = [2, 4, 0, 1, 2, 4, 0, 2];
        assert_eq!(TcpOptions::parse(&bytes).expect("valid").mss, Some(2));
    }

    #[test]
    fn an_illegal_option_fails_the_whole_set() {
        assert_eq!(
            TcpOptions::parse(&[2, 4, 5, 0xb4, 3, 2]),
            Err(Error::BadOption { kind: 3 })
        );
    }

    #[test]
    fn sack_blocks_hold_at_most_four() {
        let mut b = blocks(4);
        assert!(!b.push((SeqNumber(1), SeqNumber(2))));
        assert_eq!(b.len(), 4);
        assert!(SackBlocks::from_slice(&[(SeqNumber(0), SeqNumber(0)); 5]).is_none());
        b.truncate(1);
        assert_eq!(b, blocks(1));
        assert_eq!(format!("{b:?}"), "[(0, 500)]");
    }

    #[test]
    fn tfo_cookie_lengths_follow_rfc7413() {
        for len in 0..=20usize {
            let valid = len == 0 || (4..=16).contains(&len) && len % 2 == 0;
            assert_eq!(TfoCookie::new(&vec![7; len]).is_some(), valid, "{len}");
        }
        assert!(TfoCookie::request().is_request());
        assert_eq!(
            format!(
                "{:?}",
                TfoCookie::new(&[0xeb, 0x9d, 0x74, 0xa0]).expect("valid")
            ),
            "TfoCookie(eb9d74a0)"
        );
    }
}
