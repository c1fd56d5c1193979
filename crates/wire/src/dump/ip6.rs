//! IPv6 and its extension headers, as tcpdump's `ip6_print` walks them.

use core::net::{IpAddr, Ipv6Addr};

use super::{ip_proto_name, Bytes, Ctx, Halt, Out, Printer};

impl Printer<'_, '_> {
    /// An IPv6 packet: `cap` the captured bytes, `length` its length on the wire.
    pub(super) fn ipv6(&mut self, cap: &[u8], length: usize) -> Out {
        let h = Bytes::new(cap, "ip6");
        if cap.len() < 40 {
            return Err(Halt::Trunc("ip6"));
        }
        if length < 40 {
            return self.fmt(format_args!("truncated-ip6 {length}"));
        }
        self.w("IP6 ")?;
        let version = h.u8(0)? >> 4;
        if version != 6 {
            return self.fmt(format_args!("version error: {version} != 6"));
        }
        let payload_len = usize::from(h.u16(4)?);
        let total = 40 + payload_len;
        if length < total {
            self.fmt(format_args!(
                "truncated-ip6 - {} bytes missing!",
                total - length
            ))?;
        }
        let first = h.u8(6)?;
        if self.verbose {
            let word = h.u32(0)?;
            self.w("(")?;
            let class = (word >> 20) & 0xff;
            if class != 0 {
                self.fmt(format_args!("class 0x{class:02x}, "))?;
            }
            let flow = word & 0x000f_ffff;
            if flow != 0 {
                self.fmt(format_args!("flowlabel 0x{flow:05x}, "))?;
            }
            self.fmt(format_args!(
                "hlim {}, next-header {} ({first}) payload length: {payload_len}) ",
                h.u8(7)?,
                ip_proto_name(first)
            ))?;
        }
        let cap = &cap[..cap.len().min(total)];
        let src = IpAddr::V6(h.v6(8)?);
        let dst = IpAddr::V6(h.v6(24)?);
        let mut ctx = Ctx {
            src,
            dst,
            direct: true,
            fragmented: false,
            pseudo_dst: final_destination(cap, first).map_or(dst, IpAddr::V6),
        };
        if !matches!(first, 6 | 17 | 33 | 132) {
            self.fmt(format_args!("{src} > {dst}: "))?;
        }
        let mut next = first;
        let mut at = 40usize;
        let mut found_hbh = false;
        // Every extension header is at least 8 bytes, so the walk ends.
        loop {
            let rest = cap.get(at..).unwrap_or(&[]);
            let remaining = total.saturating_sub(at);
            let advance = match next {
                0 => {
                    if found_hbh {
                        self.w("[The Hop-by-Hop Options header was already found]")?;
                        return self.w(" (invalid)");
                    }
                    if at != 40 {
                        self.w("[The Hop-by-Hop Options header don't follow the IPv6 header]")?;
                        return self.w(" (invalid)");
                    }
                    found_hbh = true;
                    self.options_header(rest, "hbhopt", "HBH ")?
                }
                60 => self.options_header(rest, "dstopt", "DSTOPT ")?,
                43 => match self.routing_header(rest)? {
                    Some(advance) => advance,
                    None => return Ok(()),
                },
                44 => {
                    let f = Bytes::new(rest, "frag6");
                    let off_flags = f.u16(2)?;
                    let offset = off_flags & 0xfff8;
                    // tcpdump computes the fragment's length in a 64-bit unsigned
                    // type, so a header that overruns the payload wraps around.
                    let frag_len = (total as u64).wrapping_sub(at as u64).wrapping_sub(8);
                    if self.verbose {
                        let ident = f.u32(4)?;
                        self.fmt(format_args!("frag (0x{ident:08x}:{offset}|{frag_len})"))?;
                    } else {
                        self.fmt(format_args!("frag ({offset}|{frag_len})"))?;
                    }
                    if offset != 0 {
                        // "it is meaningless to decode non-first fragment"
                        return Ok(());
                    }
                    self.w(" ")?;
                    if cap.len() <= at + 8 {
                        return Ok(());
                    }
                    ctx.fragmented = true;
                    8
                }
                upper => {
                    ctx.direct = at == 40;
                    return self.demux(upper, rest, remaining, ctx, 6);
                }
            };
            next = Bytes::new(rest, "ip6").u8(0)?;
            at += advance;
        }
    }

    /// A hop-by-hop or destination-options header: its name, once the whole header
    /// is captured. Returns its length.
    fn options_header(
        &mut self,
        rest: &[u8],
        proto: &'static str,
        name: &str,
    ) -> Result<usize, Halt> {
        let b = Bytes::new(rest, proto);
        let len = (usize::from(b.u8(1)?) + 1) * 8;
        if rest.len() < len {
            return Err(Halt::Trunc(proto));
        }
        self.w(name)?;
        if self.verbose {
            self.ext_options(rest.get(2..len).unwrap_or(&[]), proto)?;
        }
        Ok(len)
    }

    /// The TLV options of a hop-by-hop or destination-options header, as `tcpdump -v`
    /// lists them: `(pad1)`, `(padn)`, `(rtalert: 0x0000) `, then a space. A malformed
    /// option ends the list.
    fn ext_options(&mut self, data: &[u8], proto: &'static str) -> Out {
        let mut i = 0usize;
        while i < data.len() {
            let kind = data[i];
            let option_len = if kind == 0 {
                1
            } else {
                match data.get(i + 1) {
                    Some(&l) => usize::from(l) + 2,
                    None => return Err(Halt::Trunc(proto)),
                }
            };
            if i + option_len > data.len() {
                return Err(Halt::Trunc(proto));
            }
            match kind {
                0 => self.w("(pad1)")?,
                1 => self.w("(padn)")?,
                5 if option_len == 4 => {
                    let value = u16::from_be_bytes([data[i + 2], data[i + 3]]);
                    self.fmt(format_args!("(rtalert: 0x{value:04x}) "))?;
                }
                5 => self.fmt(format_args!("(rtalert: invalid len {})", option_len - 2))?,
                _ => self.fmt(format_args!(
                    "(opt_type 0x{kind:02x}: len={})",
                    option_len - 2
                ))?,
            }
            i += option_len;
        }
        self.w(" ")
    }

    /// A routing header: `RT6 (len=2, type=0 [Deprecated], segleft=1, [0]2001:db8::1) `.
    /// Returns its length, or `None` when tcpdump stops after it.
    fn routing_header(&mut self, rest: &[u8]) -> Result<Option<usize>, Halt> {
        let b = Bytes::new(rest, "rt6");
        self.w("RT6")?;
        let len = b.u8(1)?;
        self.fmt(format_args!(" (len={len}"))?;
        let kind = b.u8(2)?;
        self.fmt(format_args!(", type={kind}"))?;
        if kind == 0 {
            self.w(" [Deprecated]")?;
        }
        self.fmt(format_args!(", segleft={}", b.u8(3)?))?;
        match kind {
            0 | 2 => {
                let reserved = b.u32(4)?;
                if reserved != 0 || self.verbose {
                    self.fmt(format_args!(", rsv=0x{reserved:x}"))?;
                }
                if len % 2 == 1 {
                    self.fmt(format_args!(" (invalid length {len})"))?;
                    self.w(" (invalid)")?;
                    return Ok(None);
                }
                for i in 0..usize::from(len / 2) {
                    let addr = b.v6(8 + 16 * i)?;
                    self.fmt(format_args!(", [{i}]{addr}"))?;
                }
            }
            4 => {
                let last = b.u8(4)?;
                self.fmt(format_args!(", last-entry={last}"))?;
                let flags = b.u8(5)?;
                if flags != 0 || self.verbose {
                    self.fmt(format_args!(", flags=0x{flags:x}"))?;
                }
                self.fmt(format_args!(", tag={:x}", b.u16(6)?))?;
                for i in 0..=usize::from(last) {
                    let addr = b.v6(8 + 16 * i)?;
                    self.fmt(format_args!(", [{i}]{addr}"))?;
                }
            }
            _ => {
                self.w(" (unknown type)")?;
                self.w(" (invalid)")?;
                return Ok(None);
            }
        }
        self.w(") ")?;
        Ok(Some((usize::from(len) + 1) * 8))
    }
}

/// The destination tcpdump uses in upper-layer checksums: the last address of a type 0
/// or 2 routing header, or the first segment (the final one) of a segment routing
/// header, else `None` (the IPv6 destination). RFC 8200 section 8.1: "If the IPv6
/// packet contains a Routing header, the Destination Address used in the
/// pseudo-header is that of the final destination."
fn final_destination(cap: &[u8], first: u8) -> Option<Ipv6Addr> {
    let mut next = first;
    let mut at = 40usize;
    let mut found = None;
    for _ in 0..crate::ipv6::MAX_EXT_HEADERS {
        let header = cap.get(at..)?;
        let len = match next {
            0 | 60 => (usize::from(*header.get(1)?) + 1) * 8,
            44 => 8,
            43 => {
                let units = *header.get(1)?;
                let address = |index: usize| -> Option<Ipv6Addr> {
                    let bytes: [u8; 16] = header
                        .get(8 + 16 * index..24 + 16 * index)?
                        .try_into()
                        .ok()?;
                    Some(Ipv6Addr::from(bytes))
                };
                match *header.get(2)? {
                    0 | 2 if units % 2 == 0 && units > 0 => {
                        found = Some(address(usize::from(units / 2) - 1)?);
                    }
                    4 => found = Some(address(0)?),
                    _ => {}
                }
                (usize::from(units) + 1) * 8
            }
            _ => return found,
        };
        next = *header.first()?;
        at += len;
    }
    found
}
