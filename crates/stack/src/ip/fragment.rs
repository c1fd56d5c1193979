//! Output fragmentation: one IPv4 packet (DF clear) or IPv6 packet larger than the
//! path MTU, cut into fragments written one at a time into the caller's buffer.
//!
//! A [`Fragmenter`] borrows the whole packet and knows where each fragment starts;
//! [`Fragmenter::write`] writes fragment `i` into a `&mut [u8]` and returns its length,
//! with no allocation. Every fragment but the last carries a multiple of 8 data bytes,
//! as many as fit in the MTU.
//!
//! - **IPv4** (RFC 791 section 3.2, "Fragmentation and Reassembly"): each fragment
//!   carries the original header with total length, MF, fragment offset and checksum
//!   rewritten. The first fragment keeps all options; later fragments keep only the
//!   options whose copied flag is set (padded with End of Option List to a multiple of
//!   four), so they may carry more data. The identification is the packet's own (the
//!   caller chose it when building the packet). A packet that is already a fragment is
//!   cut further: offsets are relative to its own, and its MF flag goes on the last
//!   piece.
//! - **IPv6** (RFC 8200 section 4.5): the per-fragment part (the fixed header, and the
//!   extension headers up to a routing header, else a hop-by-hop header) is repeated
//!   in every fragment, followed by a fragment header with the caller's identification;
//!   the rest (the fragmentable part) is cut. The first fragment must hold the
//!   fragmentable part's extension headers (RFC 7112); an MTU too small for that is
//!   refused.

use core::fmt;

use crate::wire::ipv4::HEADER_LEN as IPV4_HEADER_LEN;
use crate::wire::ipv6::fragment::HEADER_LEN as FRAG_HEADER_LEN;
use crate::wire::ipv6::HEADER_LEN as IPV6_HEADER_LEN;
use crate::wire::{
    Error as WireError, IpProtocol, Ipv4Packet, Ipv6ExtHeader, Ipv6FragmentHeader,
    Ipv6FragmentRepr, Ipv6Packet, MAX_EXT_HEADERS,
};

/// Why a packet cannot be fragmented, or a fragment not written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FragmentError {
    /// The packet does not parse.
    Malformed(WireError),
    /// The IPv4 packet has DF set: send an ICMP "fragmentation needed" instead, or
    /// (for our own packets) make them smaller.
    DontFragment,
    /// The packet fits in the MTU.
    NotNeeded,
    /// The MTU leaves no room for 8 bytes of data after the headers (or, for IPv6, for
    /// the fragmentable part's extension headers in the first fragment).
    MtuTooSmall,
    /// The IPv4 options are malformed (an option runs past the header or has a length
    /// below 2).
    BadOptions,
    /// The IPv6 packet already has a fragment header.
    AlreadyFragmented,
    /// The output buffer is shorter than the fragment.
    BufferTooSmall,
    /// There is no fragment with that index.
    NoSuchFragment,
}

impl fmt::Display for FragmentError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FragmentError::Malformed(e) => write!(f, "cannot fragment a malformed packet: {e}"),
            FragmentError::DontFragment => f.write_str("packet has DF set"),
            FragmentError::NotNeeded => f.write_str("packet fits in the MTU"),
            FragmentError::MtuTooSmall => f.write_str("MTU too small to fragment into"),
            FragmentError::BadOptions => f.write_str("malformed IPv4 options"),
            FragmentError::AlreadyFragmented => f.write_str("IPv6 packet is already a fragment"),
            FragmentError::BufferTooSmall => f.write_str("buffer too small for the fragment"),
            FragmentError::NoSuchFragment => f.write_str("no fragment with that index"),
        }
    }
}

impl core::error::Error for FragmentError {}

impl From<WireError> for FragmentError {
    fn from(e: WireError) -> FragmentError {
        FragmentError::Malformed(e)
    }
}

#[derive(Debug, Clone, Copy)]
enum Kind {
    V4 {
        /// The original header's length (first fragment).
        header_len: usize,
        /// The options later fragments carry, padded.
        later_options: [u8; 40],
        later_options_len: usize,
        /// The packet's own offset, when it is already a fragment.
        base_offset: usize,
        /// The packet's own MF flag, for the last piece.
        last_more: bool,
    },
    V6 {
        /// Where in the packet the Next Header byte that will name the fragment header
        /// is.
        prev_nh: usize,
        /// The value it had: the fragment header's Next Header.
        next_header: u8,
        ident: u32,
    },
}

/// Cuts one packet into fragments. See the [module docs](self).
#[derive(Debug, Clone)]
pub struct Fragmenter<'a> {
    packet: &'a [u8],
    kind: Kind,
    /// Bytes of the packet repeated before the data of every fragment (IPv4: the
    /// first fragment's header; IPv6: the per-fragment part).
    unfragmentable: usize,
    /// Data bytes of the first fragment and of each later one (multiples of 8).
    first_data: usize,
    later_data: usize,
    next: usize,
}

impl<'a> Fragmenter<'a> {
    /// Fragment an IPv4 packet (starting at its header; bytes past the total length
    /// are ignored) for `mtu`.
    ///
    /// Errors: [`FragmentError::Malformed`] (also for a fragment whose offset plus
    /// length passes 65535), [`FragmentError::DontFragment`],
    /// [`FragmentError::NotNeeded`], [`FragmentError::BadOptions`],
    /// [`FragmentError::MtuTooSmall`].
    pub fn ipv4(packet: &'a [u8], mtu: u16) -> Result<Fragmenter<'a>, FragmentError> {
        let p = Ipv4Packet::new_checked(packet)?;
        let packet = &packet[..usize::from(p.total_len())];
        if packet.len() <= usize::from(mtu) {
            return Err(FragmentError::NotNeeded);
        }
        //= https://www.rfc-editor.org/rfc/rfc791#section-3.2
        //# If the Don't Fragment flag (DF) bit is set, then internet
        //# fragmentation of this datagram is NOT permitted, although it may be
        //# discarded.
        if p.dont_frag() {
            return Err(FragmentError::DontFragment);
        }
        let header_len = p.header_len();
        // A fragment being cut further must keep every piece's offset within the
        // 13-bit field: its own offset plus its data may not pass 65535.
        let base_offset = usize::from(p.frag_offset());
        if base_offset + packet.len() - header_len > 65535 {
            return Err(WireError::Illegal.into());
        }
        let (later_options, later_options_len) = copied_options(p.options())?;
        let later_header = IPV4_HEADER_LEN + later_options_len;
        let mtu = usize::from(mtu);
        let first_data = mtu.saturating_sub(header_len) / 8 * 8;
        let later_data = mtu.saturating_sub(later_header) / 8 * 8;
        if first_data == 0 || later_data == 0 {
            return Err(FragmentError::MtuTooSmall);
        }
        Ok(Fragmenter {
            packet,
            kind: Kind::V4 {
                header_len,
                later_options,
                later_options_len,
                base_offset,
                last_more: p.more_frags(),
            },
            unfragmentable: header_len,
            first_data,
            later_data,
            next: 0,
        })
    }

    /// Fragment an IPv6 packet (starting at its fixed header; bytes past the payload
    /// length are ignored) for `mtu`, with fragment identification `ident` (RFC 7739:
    /// the caller should make it unpredictable).
    ///
    /// Errors: [`FragmentError::Malformed`], [`FragmentError::NotNeeded`],
    /// [`FragmentError::AlreadyFragmented`], [`FragmentError::MtuTooSmall`].
    pub fn ipv6(packet: &'a [u8], mtu: u16, ident: u32) -> Result<Fragmenter<'a>, FragmentError> {
        let p = Ipv6Packet::new_checked(packet)?;
        let packet = &packet[..IPV6_HEADER_LEN + usize::from(p.payload_len())];
        if packet.len() <= usize::from(mtu) {
            return Err(FragmentError::NotNeeded);
        }
        let payload = p.payload();
        //= https://www.rfc-editor.org/rfc/rfc8200#section-4.5
        //# The Per-Fragment headers must consist of the IPv6 header plus any
        //# extension headers that must be processed by nodes en route to the
        //# destination, that is, all headers up to and including the Routing
        //# header if present, else the Hop-by-Hop Options header if present,
        //# else no extension headers.
        let mut next = p.next_header();
        let mut offset = 0;
        let mut per_fragment_end = 0;
        let mut prev_nh = 6;
        let mut walked = 0;
        loop {
            match next {
                IpProtocol::HopByHop | IpProtocol::Ipv6Route | IpProtocol::Ipv6Opts => {
                    if walked == MAX_EXT_HEADERS {
                        return Err(WireError::ChainTooLong.into());
                    }
                    walked += 1;
                    let rest = payload.get(offset..).ok_or(WireError::Truncated)?;
                    let header = Ipv6ExtHeader::new_checked(rest)?;
                    if next != IpProtocol::Ipv6Opts {
                        per_fragment_end = offset + header.header_len();
                        prev_nh = IPV6_HEADER_LEN + offset;
                    }
                    next = header.next_header();
                    offset += header.header_len();
                }
                IpProtocol::Ipv6Frag => return Err(FragmentError::AlreadyFragmented),
                _ => break,
            }
        }
        let unfragmentable = IPV6_HEADER_LEN + per_fragment_end;
        let data = usize::from(mtu).saturating_sub(unfragmentable + FRAG_HEADER_LEN) / 8 * 8;
        // The fragmentable part's extension headers must all be in the first fragment.
        //= https://www.rfc-editor.org/rfc/rfc8200#section-4.5
        //# The first fragment packet is composed of:
        //#
        //# (1)  The Per-Fragment headers of the original packet, with the
        //#      Payload Length of the original IPv6 header changed to contain
        //#      the length of this fragment packet only (excluding the length
        //#      of the IPv6 header itself), and the Next Header field of the
        //#      last header of the Per-Fragment headers changed to 44.
        if data == 0 || data < offset - per_fragment_end {
            return Err(FragmentError::MtuTooSmall);
        }
        let next_header = packet.get(prev_nh).copied().ok_or(WireError::Truncated)?;
        Ok(Fragmenter {
            packet,
            kind: Kind::V6 {
                prev_nh,
                next_header,
                ident,
            },
            unfragmentable,
            first_data: data,
            later_data: data,
            next: 0,
        })
    }

    fn data_len(&self) -> usize {
        self.packet.len() - self.unfragmentable
    }

    /// The number of fragments (at least 2).
    pub fn count(&self) -> usize {
        let len = self.data_len();
        if len <= self.first_data {
            1
        } else {
            1 + (len - self.first_data).div_ceil(self.later_data)
        }
    }

    /// Fragment `index`'s data range within the fragmentable part.
    fn range(&self, index: usize) -> Option<(usize, usize)> {
        if index >= self.count() {
            return None;
        }
        let start = if index == 0 {
            0
        } else {
            self.first_data + (index - 1) * self.later_data
        };
        let size = if index == 0 {
            self.first_data
        } else {
            self.later_data
        };
        Some((start, (start + size).min(self.data_len())))
    }

    /// The length of fragment `index`, or `None` past the last.
    pub fn fragment_len(&self, index: usize) -> Option<usize> {
        let (start, end) = self.range(index)?;
        let header = match self.kind {
            Kind::V4 {
                later_options_len, ..
            } if index > 0 => IPV4_HEADER_LEN + later_options_len,
            Kind::V4 { header_len, .. } => header_len,
            Kind::V6 { .. } => self.unfragmentable + FRAG_HEADER_LEN,
        };
        Some(header + end - start)
    }

    /// The largest fragment (the first), for sizing a buffer.
    pub fn max_fragment_len(&self) -> usize {
        self.fragment_len(0).unwrap_or(0)
    }

    /// Write fragment `index` into the start of `buf`; returns its length.
    ///
    /// Errors: [`FragmentError::NoSuchFragment`] past the last,
    /// [`FragmentError::BufferTooSmall`] when `buf` is shorter than
    /// [`Fragmenter::fragment_len`].
    pub fn write(&self, index: usize, buf: &mut [u8]) -> Result<usize, FragmentError> {
        let (start, end) = self.range(index).ok_or(FragmentError::NoSuchFragment)?;
        let len = self
            .fragment_len(index)
            .ok_or(FragmentError::NoSuchFragment)?;
        let buf = buf.get_mut(..len).ok_or(FragmentError::BufferTooSmall)?;
        let last = index + 1 == self.count();
        let data = &self.packet[self.unfragmentable + start..self.unfragmentable + end];
        match self.kind {
            Kind::V4 {
                header_len,
                later_options,
                later_options_len,
                base_offset,
                last_more,
            } => {
                let header = if index == 0 {
                    buf[..header_len].copy_from_slice(&self.packet[..header_len]);
                    header_len
                } else {
                    //= https://www.rfc-editor.org/rfc/rfc791#section-3.2
                    //# (7) Selectively copy the internet header (some options
                    //#     are not copied, see option definitions);
                    let header = IPV4_HEADER_LEN + later_options_len;
                    buf[..IPV4_HEADER_LEN].copy_from_slice(&self.packet[..IPV4_HEADER_LEN]);
                    buf[IPV4_HEADER_LEN..header]
                        .copy_from_slice(&later_options[..later_options_len]);
                    header
                };
                buf[header..].copy_from_slice(data);
                let mut p = Ipv4Packet::new_unchecked(&mut buf[..]);
                p.set_header_len(header);
                // `len` is at most the original total length.
                p.set_total_len(u16::try_from(len).unwrap_or(u16::MAX));
                p.set_more_frags(!last || last_more);
                // At most the original offset plus its data: below 65536, a multiple
                // of 8.
                p.set_frag_offset(u16::try_from(base_offset + start).unwrap_or(0xfff8));
                p.fill_checksum();
            }
            Kind::V6 {
                prev_nh,
                next_header,
                ident,
            } => {
                let unfrag = self.unfragmentable;
                buf[..unfrag].copy_from_slice(&self.packet[..unfrag]);
                buf[prev_nh] = IpProtocol::Ipv6Frag.into();
                let repr = Ipv6FragmentRepr {
                    next_header: next_header.into(),
                    frag_offset: u16::try_from(start).unwrap_or(0xfff8),
                    more_frags: !last,
                    ident,
                };
                let frag_end = unfrag + FRAG_HEADER_LEN;
                repr.emit(&mut Ipv6FragmentHeader::new_unchecked(
                    &mut buf[unfrag..frag_end],
                ));
                buf[frag_end..].copy_from_slice(data);
                let payload_len = u16::try_from(len - IPV6_HEADER_LEN).unwrap_or(u16::MAX);
                Ipv6Packet::new_unchecked(&mut buf[..]).set_payload_len(payload_len);
            }
        }
        Ok(len)
    }

    /// Write the next fragment into `buf`: `Ok(Some(len))`, or `Ok(None)` after the
    /// last. On [`FragmentError::BufferTooSmall`] nothing is consumed.
    pub fn write_next(&mut self, buf: &mut [u8]) -> Result<Option<usize>, FragmentError> {
        if self.next >= self.count() {
            return Ok(None);
        }
        let len = self.write(self.next, buf)?;
        self.next += 1;
        Ok(Some(len))
    }
}

/// The options with the copied flag, padded with End of Option List to a multiple of
/// four.
//= https://www.rfc-editor.org/rfc/rfc791#section-3.1
//# The copied flag indicates that this option is copied into all
//# fragments on fragmentation.
fn copied_options(options: &[u8]) -> Result<([u8; 40], usize), FragmentError> {
    let mut out = [0u8; 40];
    let mut n = 0;
    let mut i = 0;
    while let Some(&kind) = options.get(i) {
        match kind {
            // End of Option List.
            0 => break,
            // No Operation: one octet, not copied.
            1 => i += 1,
            _ => {
                let len = usize::from(*options.get(i + 1).ok_or(FragmentError::BadOptions)?);
                let option = options
                    .get(i..i + len)
                    .filter(|_| len >= 2)
                    .ok_or(FragmentError::BadOptions)?;
                if kind & 0x80 != 0 {
                    out.get_mut(n..n + len)
                        .ok_or(FragmentError::BadOptions)?
                        .copy_from_slice(option);
                    n += len;
                }
                i += len;
            }
        }
    }
    Ok((out, n.div_ceil(4) * 4))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ip::reassembly::tests::{v4_packet, v6_packet};
    use crate::ip::reassembly::{Reassembled, Reassembler, ReassemblyConfig};
    use crate::time::Instant;
    use proptest::prelude::*;

    fn all(f: &mut Fragmenter<'_>) -> Vec<Vec<u8>> {
        let mut out = Vec::new();
        let mut buf = [0u8; 2000];
        while let Some(len) = f.write_next(&mut buf).unwrap() {
            out.push(buf[..len].to_vec());
        }
        out
    }

    fn reassemble(frags: &[Vec<u8>], v4: bool) -> Vec<Reassembled> {
        let mut r = Reassembler::new(ReassemblyConfig::default());
        frags
            .iter()
            .map(|f| {
                if v4 {
                    r.handle_ipv4(Instant::ZERO, f)
                } else {
                    r.handle_ipv6(Instant::ZERO, f)
                }
            })
            .collect()
    }

    #[test]
    fn ipv4_fragments_fit_the_mtu_and_reassemble() {
        let whole = v4_packet(3000, 42, &[]);
        let mut f = Fragmenter::ipv4(&whole, 1500).unwrap();
        assert_eq!(f.count(), 3);
        let frags = all(&mut f);
        assert_eq!(frags.len(), 3);
        for (i, frag) in frags.iter().enumerate() {
            assert!(frag.len() <= 1500);
            let p = Ipv4Packet::new_checked(&frag[..]).unwrap();
            assert!(p.verify_checksum());
            assert_eq!(p.ident(), 42);
            assert_eq!(usize::from(p.frag_offset()), i * 1480);
            assert_eq!(p.more_frags(), i < 2);
        }
        let results = reassemble(&frags, true);
        assert_eq!(results[2], Reassembled::Complete(whole));
    }

    #[test]
    fn only_copied_options_go_into_later_ipv4_fragments() {
        // Loose source route (0x83, copied), then record route (0x07, not copied), NOP,
        // EOL padding: 7 + 7 + 1 + 1 = 16 bytes of options.
        let opts = [0x83, 7, 4, 192, 0, 2, 9, 0x07, 7, 4, 0, 0, 0, 0, 1, 0];
        let whole = v4_packet(1500, 7, &opts);
        let mut f = Fragmenter::ipv4(&whole, 576).unwrap();
        let frags = all(&mut f);
        let first = Ipv4Packet::new_checked(&frags[0][..]).unwrap();
        assert_eq!(first.options(), &opts);
        let second = Ipv4Packet::new_checked(&frags[1][..]).unwrap();
        assert_eq!(second.options(), &[0x83, 7, 4, 192, 0, 2, 9, 0]);
        assert!(second.verify_checksum());
        // The shorter header leaves room for more data in later fragments.
        assert_eq!(first.payload().len(), 536);
        assert_eq!(second.payload().len(), 544);
        assert_eq!(
            reassemble(&frags, true).last(),
            Some(&Reassembled::Complete(whole))
        );
    }

    #[test]
    fn df_small_and_malformed_packets_are_refused() {
        let mut whole = v4_packet(3000, 1, &[]);
        assert_eq!(
            Fragmenter::ipv4(&whole, 4000).unwrap_err(),
            FragmentError::NotNeeded
        );
        assert_eq!(
            Fragmenter::ipv4(&whole, 27).unwrap_err(),
            FragmentError::MtuTooSmall
        );
        let mut p = Ipv4Packet::new_unchecked(&mut whole[..]);
        p.set_dont_frag(true);
        p.fill_checksum();
        assert_eq!(
            Fragmenter::ipv4(&whole, 1500).unwrap_err(),
            FragmentError::DontFragment
        );
        assert_eq!(
            Fragmenter::ipv4(&whole[..10], 1500).unwrap_err(),
            FragmentError::Malformed(WireError::Truncated)
        );
        let bad_opts = v4_packet(3000, 1, &[0x83, 9, 0, 0]);
        assert_eq!(
            Fragmenter::ipv4(&bad_opts, 1500).unwrap_err(),
            FragmentError::BadOptions
        );
    }

    #[test]
    fn buffer_too_small_consumes_nothing() {
        let whole = v4_packet(3000, 1, &[]);
        let mut f = Fragmenter::ipv4(&whole, 1500).unwrap();
        let mut small = [0u8; 100];
        assert_eq!(f.write_next(&mut small), Err(FragmentError::BufferTooSmall));
        let mut buf = [0u8; 1500];
        assert_eq!(f.write_next(&mut buf), Ok(Some(1500)));
        assert_eq!(f.write(9, &mut buf), Err(FragmentError::NoSuchFragment));
        assert_eq!(f.max_fragment_len(), 1500);
    }

    #[test]
    fn a_fragment_is_cut_further_keeping_its_offset_and_mf() {
        let whole = v4_packet(4000, 3, &[]);
        let first_cut = all(&mut Fragmenter::ipv4(&whole, 2000).unwrap());
        let mut pieces = Vec::new();
        for frag in &first_cut {
            match Fragmenter::ipv4(frag, 1000) {
                Ok(mut f) => pieces.extend(all(&mut f)),
                Err(FragmentError::NotNeeded) => pieces.push(frag.clone()),
                Err(e) => panic!("{e}"),
            }
        }
        assert!(pieces.len() > first_cut.len());
        assert_eq!(
            reassemble(&pieces, true).last(),
            Some(&Reassembled::Complete(whole))
        );
    }

    #[test]
    fn ipv6_fragments_carry_the_per_fragment_headers_and_reassemble() {
        let whole = v6_packet(3000, true, 4);
        let mut f = Fragmenter::ipv6(&whole, 1280, 0xabcd_0123).unwrap();
        let frags = all(&mut f);
        assert_eq!(frags.len(), 3);
        for (i, frag) in frags.iter().enumerate() {
            assert!(frag.len() <= 1280);
            let p = Ipv6Packet::new_checked(&frag[..]).unwrap();
            assert_eq!(p.next_header(), IpProtocol::HopByHop);
            // The hop-by-hop header now names the fragment header.
            assert_eq!(frag[40], 44);
            let h = Ipv6FragmentHeader::new_checked(&frag[48..]).unwrap();
            assert_eq!(h.next_header(), IpProtocol::Udp);
            assert_eq!(h.ident(), 0xabcd_0123);
            assert_eq!(h.more_frags(), i < 2);
            assert_eq!(usize::from(h.frag_offset()), i * 1224);
        }
        let results = reassemble(&frags, false);
        assert_eq!(results[2], Reassembled::Complete(whole));
    }

    #[test]
    fn ipv6_routing_header_and_destination_options_before_it_are_per_fragment() {
        // Fixed header, destination options, routing (type 253, no segments left),
        // destination options, then 2000 bytes of UDP.
        let mut whole = v6_packet(2024, false, 9);
        whole[6] = 60;
        let ext = [
            43, 0, 1, 4, 0, 0, 0, 0, // dest opts -> routing
            60, 0, 253, 0, 0, 0, 0, 0, // routing -> dest opts
            17, 0, 1, 4, 0, 0, 0, 0, // dest opts -> UDP
        ];
        whole[40..64].copy_from_slice(&ext);
        let mut f = Fragmenter::ipv6(&whole, 1280, 5).unwrap();
        let frags = all(&mut f);
        for frag in &frags {
            // The first two extension headers are repeated; the routing header now
            // names the fragment header, which names the last destination options.
            assert_eq!(frag[6], 60);
            assert_eq!(frag[48], 44);
            assert_eq!(frag[56], 60);
        }
        assert_eq!(
            reassemble(&frags, false).last(),
            Some(&Reassembled::Complete(whole))
        );
    }

    #[test]
    fn ipv6_refusals() {
        let whole = v6_packet(3000, false, 1);
        assert_eq!(
            Fragmenter::ipv6(&whole, 9000, 1).unwrap_err(),
            FragmentError::NotNeeded
        );
        assert_eq!(
            Fragmenter::ipv6(&whole, 55, 1).unwrap_err(),
            FragmentError::MtuTooSmall
        );
        let frag = all(&mut Fragmenter::ipv6(&whole, 1280, 1).unwrap()).remove(0);
        assert_eq!(
            Fragmenter::ipv6(&frag, 600, 1).unwrap_err(),
            FragmentError::AlreadyFragmented
        );
    }

    proptest! {
        #[test]
        fn fragment_then_reassemble_gives_back_the_original(
            len in 1usize..6000, mtu in 68u16..2000, v4: bool, ident: u32,
        ) {
            let whole = if v4 { v4_packet(len, ident as u16, &[]) } else { v6_packet(len, ident % 2 == 0, ident as u8) };
            let f = if v4 { Fragmenter::ipv4(&whole, mtu) } else { Fragmenter::ipv6(&whole, mtu, ident) };
            let mut f = match f {
                Ok(f) => f,
                Err(FragmentError::NotNeeded) => {
                    prop_assert!(whole.len() <= usize::from(mtu));
                    return Ok(());
                }
                Err(FragmentError::MtuTooSmall) => {
                    prop_assert!(usize::from(mtu) < 48 + 8 + 8);
                    return Ok(());
                }
                Err(e) => return Err(TestCaseError::fail(format!("{e}"))),
            };
            let mut frags = Vec::new();
            let mut buf = vec![0u8; f.max_fragment_len()];
            while let Some(n) = f.write_next(&mut buf).unwrap() {
                prop_assert!(n <= usize::from(mtu));
                frags.push(buf[..n].to_vec());
            }
            prop_assert_eq!(frags.len(), f.count());
            let results = reassemble(&frags, v4);
            prop_assert!(results[..results.len() - 1].iter().all(|r| *r == Reassembled::Held));
            prop_assert!(results.last() == Some(&Reassembled::Complete(whole)), "did not reassemble");
        }

        #[test]
        fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..300), mtu: u16) {
            let mut b = bytes.clone();
            for first in [0x45u8, 0x46, 0x60] {
                if let Some(x) = b.first_mut() {
                    *x = first;
                }
                for f in [Fragmenter::ipv4(&b, mtu), Fragmenter::ipv6(&b, mtu, 1)].into_iter().flatten() {
                    let mut buf = vec![0u8; f.max_fragment_len()];
                    for i in 0..f.count() {
                        let _ = f.write(i, &mut buf);
                    }
                }
            }
        }
    }
}
