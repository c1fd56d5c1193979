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
        // A zero payload length may be a jumbogram (RFC 2675): like tcpdump, walk the
        // extension headers over the whole capture looking for a Jumbo Payload
        // option, and settle the length at the upper layer.
        let mut total = 40 + payload_len;
        if payload_len != 0 && length < total {
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
        let mut cap = if payload_len == 0 {
            &cap[..cap.len().min(length)]
        } else {
            &cap[..cap.len().min(total)]
        };
        let src = h.v6(8)?;
        let dst = h.v6(24)?;
        let mut ctx = Ctx {
            src,
            dst,
            direct: true,
            fragmented: false,
            pseudo_dst: final_destination(cap, first).map_or(dst.0, IpAddr::V6),
        };
        if !matches!(first, 6 | 17 | 33 | 132) {
            self.fmt(format_args!("{src} > {dst}: "))?;
        }
        let mut next = first;
        let mut at = 40usize;
        let mut found_hbh = false;
        let mut found_extension = false;
        let mut jumbo: Option<u32> = None;
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
                    if rest.len() < 2 {
                        // The length byte is missing: tcpdump stops at once.
                        return Err(Halt::Trunc("hbhopt"));
                    }
                    let result = self.options_header(rest, "hbhopt", payload_len, &mut jumbo);
                    if payload_len == 0 && jumbo.is_none() {
                        match result {
                            Err(Halt::Trunc(proto)) => self.fmt(format_args!(" [|{proto}]"))?,
                            Err(Halt::Fmt) => return Err(Halt::Fmt),
                            Ok(_) => {}
                        }
                        self.w("[No valid Jumbo Payload Hop-by-Hop option found]")?;
                        return self.w(" (invalid)");
                    }
                    result?
                }
                60 => self.options_header(rest, "dstopt", payload_len, &mut None)?,
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
                    let mut remaining = remaining;
                    let mut rest = rest;
                    if let Some(jumbo) = jumbo {
                        total = 40 + jumbo as usize;
                        if total < at {
                            return Err(Halt::Trunc("ip6"));
                        }
                        if length < total {
                            self.fmt(format_args!(
                                "truncated-ip6 - {} bytes missing!",
                                total - length
                            ))?;
                        }
                        cap = &cap[..cap.len().min(total)];
                        rest = cap.get(at..).unwrap_or(&[]);
                        remaining = total - at;
                    } else if payload_len == 0 {
                        // No payload: an extension header cannot have been in it.
                        if found_extension {
                            return Err(Halt::Trunc("ip6"));
                        }
                        rest = &[];
                        remaining = 0;
                    }
                    return self.demux(upper, rest, remaining, ctx, 6);
                }
            };
            found_extension = true;
            next = Bytes::new(rest, "ip6").u8(0)?;
            at += advance;
        }
    }

    /// A hop-by-hop or destination-options header: its name, once the whole header
    /// is captured, then its options (see [`Self::ext_options`]). Returns its length.
    fn options_header(
        &mut self,
        rest: &[u8],
        proto: &'static str,
        payload_len: usize,
        jumbo: &mut Option<u32>,
    ) -> Result<usize, Halt> {
        let b = Bytes::new(rest, proto);
        let len = (usize::from(b.u8(1)?) + 1) * 8;
        if rest.len() < len {
            return Err(Halt::Trunc(proto));
        }
        let hop_by_hop = proto == "hbhopt";
        self.w(if hop_by_hop { "HBH " } else { "DSTOPT " })?;
        // tcpdump walks hop-by-hop options always (looking for a Jumbo Payload
        // option), destination options only with -v.
        if hop_by_hop || self.verbose {
            let options = rest.get(2..len).unwrap_or(&[]);
            self.ext_options(options, proto, hop_by_hop, payload_len, jumbo)?;
        }
        Ok(len)
    }

    /// The TLV options of a hop-by-hop or destination-options header (RFC 8200
    /// section 4.2). `tcpdump -v` lists them (`(pad1)`, `(padn)`,
    /// `(rtalert: 0x0000) `, ..., then a space); a malformed option ends the walk with
    /// ` [|hbhopt]`, after a word on what is wrong for the options tcpdump knows.
    fn ext_options(
        &mut self,
        data: &[u8],
        proto: &'static str,
        hop_by_hop: bool,
        payload_len: usize,
        valid_jumbo: &mut Option<u32>,
    ) -> Out {
        let len = data.len();
        let mut i = 0usize;
        let mut found_jumbo = false;
        while i < len {
            let kind = data[i];
            let option_len = if kind == 0 {
                1
            } else if i + 1 < len {
                usize::from(data[i + 1]) + 2
            } else {
                return Err(Halt::Trunc(proto));
            };
            if i + option_len > len {
                return Err(Halt::Trunc(proto));
            }
            let o = Bytes::new(&data[i..], proto);
            match kind {
                0 if self.verbose => self.w("(pad1)")?,
                1 if self.verbose => self.w("(padn)")?,
                0 | 1 => {}
                //= https://www.rfc-editor.org/rfc/rfc2711#section-2.1
                //# Length = 2
                5 => {
                    if len - i < 4 {
                        self.w("(rtalert: trunc)")?;
                        return Err(Halt::Trunc(proto));
                    }
                    if o.u8(1)? != 2 {
                        self.fmt(format_args!("(rtalert: invalid len {})", o.u8(1)?))?;
                        return Err(Halt::Trunc(proto));
                    }
                    if self.verbose {
                        self.fmt(format_args!("(rtalert: 0x{:04x}) ", o.u16(2)?))?;
                    }
                }
                //= https://www.rfc-editor.org/rfc/rfc2675#section-2
                //# Opt Data Len = 4
                0xc2 => {
                    if len - i < 6 {
                        self.w("(jumbo: trunc)")?;
                        return Err(Halt::Trunc(proto));
                    }
                    if o.u8(1)? != 4 {
                        self.fmt(format_args!("(jumbo: invalid len {})", o.u8(1)?))?;
                        return Err(Halt::Trunc(proto));
                    }
                    let jumbo = o.u32(2)?;
                    let verdict = if found_jumbo {
                        " - already seen"
                    } else if !hop_by_hop {
                        " - not a hop-by-hop option"
                    } else if payload_len != 0 {
                        " - payload len != 0"
                    } else if jumbo < 65536 {
                        " - < 65536"
                    } else {
                        *valid_jumbo = Some(jumbo);
                        ""
                    };
                    found_jumbo = true;
                    if self.verbose {
                        self.fmt(format_args!("(jumbo: {jumbo}{verdict}) "))?;
                    }
                }
                //= https://www.rfc-editor.org/rfc/rfc6275#section-6.3
                //# Option Length
                //#
                //#    8-bit unsigned integer.  Length of the option, in octets,
                //#    excluding the Option Type and Option Length fields.  This field
                //#    MUST be set to 16.
                0xc9 => {
                    if len - i < 18 {
                        self.w("(homeaddr: trunc)")?;
                        return Err(Halt::Trunc(proto));
                    }
                    if o.u8(1)? < 16 {
                        self.fmt(format_args!("(homeaddr: invalid len {})", o.u8(1)?))?;
                        return Err(Halt::Trunc(proto));
                    }
                    if self.verbose {
                        self.fmt(format_args!("(homeaddr: {}", o.v6(2)?))?;
                        if o.u8(1)? > 16 {
                            self.sub_options(&data[i + 18..i + option_len], proto)?;
                        }
                        self.w(")")?;
                    }
                }
                _ if self.verbose => self.fmt(format_args!(
                    "(opt_type 0x{kind:02x}: len={})",
                    option_len - 2
                ))?,
                _ => {}
            }
            i += option_len;
        }
        if self.verbose {
            self.w(" ")?;
        }
        Ok(())
    }

    /// The sub-options of a home address option, as `tcpdump -v` lists them.
    fn sub_options(&mut self, data: &[u8], proto: &'static str) -> Out {
        let len = data.len();
        let mut i = 0usize;
        while i < len {
            let kind = data[i];
            let option_len = if kind == 0 {
                1
            } else if i + 1 < len {
                usize::from(data[i + 1]) + 2
            } else {
                return Err(Halt::Trunc(proto));
            };
            if i + option_len > len {
                return Err(Halt::Trunc(proto));
            }
            match kind {
                0 => self.w(", pad1")?,
                1 => self.w(", padn")?,
                _ => self.fmt(format_args!(
                    ", sopt_type 0x{kind:02x}: len={}",
                    option_len - 2
                ))?,
            }
            i += option_len;
        }
        Ok(())
    }

    /// A routing header: `RT6 (len=2, type=0 [Deprecated], segleft=1, [0]2001:db8::1) `.
    /// Returns its length, or `None` when tcpdump stops after it.
    fn routing_header(&mut self, rest: &[u8]) -> Result<Option<usize>, Halt> {
        if rest.is_empty() {
            // tcpdump checks for the first byte before it names the header.
            return Err(Halt::Trunc("ip6"));
        }
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
                if len % 2 == 1 {
                    self.fmt(format_args!(" (invalid length {len})"))?;
                    self.w(" (invalid)")?;
                    return Ok(None);
                }
                // tcpdump lists every address the header's length holds.
                for i in 0..usize::from(len / 2) {
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
