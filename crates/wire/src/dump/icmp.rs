//! ICMP and ICMPv6 as tcpdump's `icmp_print` and `icmp6_print` print them.

use core::fmt;

use crate::checksum;
use crate::icmpv4::{Icmpv4Packet, Icmpv4Repr};
use crate::icmpv6::Icmpv6Message;
use crate::ip::{ChecksumMode, IpProtocol};

use super::{should_be, Bytes, Ctx, Halt, Out, Printer, MAX_DEPTH};

/// A writer that keeps nothing: used to find out whether a description can be
/// written in full before writing any of it.
struct Sink;

impl fmt::Write for Sink {
    fn write_str(&mut self, _: &str) -> fmt::Result {
        Ok(())
    }
}

/// The words tcpdump prints between `ICMP ` and `, length N`, failing where tcpdump
/// would print `[|icmp]` instead of the whole message.
struct Describe<'r, 'a>(&'r Icmpv4Repr<'a>);

impl fmt::Display for Describe<'_, '_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.describe(f).unwrap_or(Err(fmt::Error))
    }
}

/// How many leading bytes tcpdump needs to describe an ICMP message of this type
/// (the quote an error message needs is checked by the description itself).
fn icmpv4_needs(kind: u8, code: u8) -> usize {
    match kind {
        // Identifier and sequence number, gateway, or router-advertisement counts.
        0 | 5 | 8 | 9 | 13 | 14 => 8,
        // The parameter-problem pointer.
        12 if code == 0 => 5,
        _ => 2,
    }
}

/// Where RFC 4884 extensions start in an ICMP error: after the 8-byte header and a
/// 128-byte quote.
const EXT_OFFSET: usize = 136;

/// ICMP error types, whose data is the packet they are about.
fn icmpv4_is_error(kind: u8) -> bool {
    matches!(kind, 3 | 4 | 5 | 11 | 12)
}

impl Printer<'_, '_> {
    /// An ICMP message: `cap` the captured bytes, `length` its length by the IP header.
    pub(super) fn icmpv4(&mut self, cap: &[u8], length: usize, ctx: Ctx) -> Out {
        let b = Bytes::new(cap, "icmp");
        let (kind, code) = (b.u8(0)?, b.u8(1)?);
        if cap.len() < icmpv4_needs(kind, code) {
            return Err(Halt::Trunc("icmp"));
        }
        // Types that need only the first bytes may be shorter than the 8-byte header
        // the parser wants: pad them (the padding is never printed).
        let mut padded = [0u8; 8];
        let bytes = if cap.len() < 8 {
            padded[..cap.len()].copy_from_slice(cap);
            &padded[..]
        } else {
            cap
        };
        let repr = Icmpv4Packet::new_checked(bytes)
            .and_then(|packet| Icmpv4Repr::parse(&packet, ChecksumMode::Offloaded))
            .map_err(|_| Halt::Trunc("icmp"))?;
        if fmt::write(&mut Sink, format_args!("{}", Describe(&repr))).is_err() {
            return Err(Halt::Trunc("icmp"));
        }
        self.fmt(format_args!("ICMP {}, length {length}", Describe(&repr)))?;
        if !self.verbose {
            return Ok(());
        }
        if !ctx.fragmented {
            if let Some(message) = cap.get(..length) {
                let sum = checksum::data(message);
                if sum != 0xffff {
                    let stored = b.u16(2)?;
                    self.fmt(format_args!(
                        " (wrong icmp cksum {stored:x} (->{:x})!)",
                        should_be(stored, sum)
                    ))?;
                }
            }
        }
        if icmpv4_is_error(kind) && self.depth < MAX_DEPTH {
            self.w("\n\t")?;
            let quoted = cap.get(8..).unwrap_or(&[]);
            let quoted_len = usize::from(Bytes::new(quoted, "icmp").u16(2)?);
            let quoted = &quoted[..quoted.len().min(quoted_len)];
            // tcpdump reads the quoted total length again once the capture is cut to
            // it: a quote shorter than that is the ICMP printer's truncation.
            if quoted.len() < 4 {
                return Err(Halt::Trunc("icmp"));
            }
            self.depth += 1;
            let result = self.ipv4(quoted, quoted_len);
            self.depth -= 1;
            // A truncation inside the quoted packet is marked, and the ICMP message
            // goes on.
            match result {
                Err(Halt::Trunc(proto)) => self.fmt(format_args!(" [|{proto}]"))?,
                other => other?,
            }
        }
        if matches!(kind, 3 | 11 | 12) && length > EXT_OFFSET {
            self.icmp_extensions(cap, length)?;
        }
        Ok(())
    }

    /// ICMP extensions (RFC 4884) after the first 128 bytes of an error's quote,
    /// with RFC 4950's MPLS label stack, as `tcpdump -v` prints them.
    fn icmp_extensions(&mut self, cap: &[u8], length: usize) -> Out {
        //= https://www.rfc-editor.org/rfc/rfc4884#section-5.1
        //# When the ICMP Extension Structure is appended to an ICMP message
        //# and that ICMP message contains an "original datagram" field, the
        //# "original datagram" field MUST contain at least 128 octets.
        // tcpdump wants the header, the 128 bytes and the extension header.
        if cap.len() < EXT_OFFSET + 5 {
            return Err(Halt::Trunc("icmp"));
        }
        let b = Bytes::new(cap, "icmp");
        let ext_len = length - EXT_OFFSET;
        if b.u8(5)? == 0 {
            // No length attribute: an extension is there only if its checksum says so.
            if let Some(ext) = cap.get(EXT_OFFSET..length) {
                if checksum::data(ext) != 0xffff {
                    return Ok(());
                }
            }
        }
        let version = b.u8(EXT_OFFSET)? >> 4;
        self.fmt(format_args!("\n\tICMP Multi-Part extension v{version}"))?;
        if version != 2 {
            return self.w(" packet not supported");
        }
        if let Some(ext) = cap.get(EXT_OFFSET..length) {
            let stored = b.u16(EXT_OFFSET + 2)?;
            let verdict = if checksum::data(ext) == 0xffff {
                ""
            } else {
                "in"
            };
            self.fmt(format_args!(
                ", checksum 0x{stored:04x} ({verdict}correct), length {ext_len}"
            ))?;
        }
        let mut left = ext_len.saturating_sub(4);
        let mut at = EXT_OFFSET + 4;
        while left > 4 {
            let object_len = usize::from(b.u16(at)?);
            let class = b.u8(at + 2)?;
            let ctype = b.u8(at + 3)?;
            at += 4;
            let name = match class {
                1 => "MPLS Stack Entry",
                2 => "Extended Payload",
                _ => "unknown",
            };
            self.fmt(format_args!(
                "\n\t  {name} Object ({class}), Class-Type: {ctype}, length {object_len}"
            ))?;
            left -= 4;
            if class == 0 || object_len < 4 {
                return Ok(());
            }
            let data_len = object_len - 4;
            if class == 1 && ctype == 1 {
                //= https://www.rfc-editor.org/rfc/rfc4950#section-7
                //# Label: 20 bits
                //# Experimental Use:  3 bits
                //# S: Bottom-of-Stack bit
                //# TTL: 8 bits
                let entry = b.u32(at)?;
                self.fmt(format_args!(
                    "\n\t    label {}, tc {}",
                    entry >> 12,
                    (entry >> 9) & 7
                ))?;
                if entry & 0x100 != 0 {
                    self.w(", [S]")?;
                }
                self.fmt(format_args!(", ttl {}", entry & 0xff))?;
            } else {
                let end = (at + data_len).min(cap.len());
                self.hex_lines_indented(cap.get(at..end).unwrap_or(&[]), "\n\t    ")?;
            }
            if left < data_len {
                break;
            }
            left -= data_len;
            at += data_len;
        }
        Ok(())
    }

    /// An ICMPv6 message, printed field by field as tcpdump does (so a truncation
    /// keeps what was printed before ` [|icmp6]`).
    pub(super) fn icmpv6(&mut self, cap: &[u8], length: usize, ctx: Ctx) -> Out {
        let b = Bytes::new(cap, "icmp6");
        if length == 0 {
            return self.w("ICMP6, length 0 (invalid)");
        }
        if self.verbose && !ctx.fragmented {
            if let Some(message) = cap.get(..length) {
                let stored = b.u16(2)?;
                let pseudo = ctx
                    .pseudo_pair()
                    .map(|pair| pair.pseudo_header(IpProtocol::Icmpv6, length));
                if let Some(pseudo) = pseudo {
                    let sum = checksum::combine(&[pseudo, checksum::data(message)]);
                    if sum == 0xffff {
                        self.w("[icmp6 sum ok] ")?;
                    } else {
                        self.fmt(format_args!(
                            "[bad icmp6 cksum 0x{stored:04x} -> 0x{:04x}!] ",
                            should_be(stored, sum)
                        ))?;
                    }
                }
            }
        }
        let kind = b.u8(0)?;
        match Icmpv6Message::from(kind).name() {
            Some(name) => self.fmt(format_args!("ICMP6, {name}"))?,
            None => self.fmt(format_args!("ICMP6, unknown icmp6 type ({kind})"))?,
        }
        if self.verbose && matches!(kind, 133..=137 | 145 | 147) {
            self.fmt(format_args!(", length {length}"))?;
        }
        let code = b.u8(1)?;
        // The invoking packet of an error message starts after the 8-byte header.
        let quoted_dst = 8 + 24;
        let quoted_src = 8 + 8;
        match kind {
            1 => {
                match dst_unreach_name(code) {
                    Some(name) => self.fmt(format_args!(", {name}"))?,
                    None => self.fmt(format_args!(", unknown unreach code ({code})"))?,
                }
                match code {
                    0 | 1 | 3 => self.fmt(format_args!(" {}", b.v6(quoted_dst)?))?,
                    2 => {
                        let dst = b.v6(quoted_dst)?;
                        let src = b.v6(quoted_src)?;
                        self.fmt(format_args!(" {dst}, source address {src}"))?;
                    }
                    4 => {
                        let quote = cap.get(8..).unwrap_or(&[]);
                        let (protocol, port) = quoted_port(quote).ok_or(Halt::Trunc("icmp6"))?;
                        let dst = b.v6(quoted_dst)?;
                        let name = if protocol == 6 { "tcp" } else { "udp" };
                        self.fmt(format_args!(", {dst} {name} port {port}"))?;
                    }
                    _ => return self.hex_lines(&cap[..cap.len().min(length)]),
                }
            }
            2 => self.fmt(format_args!(", mtu {}", b.u32(4)?))?,
            3 => match code {
                0 => self.fmt(format_args!(" for {}", b.v6(quoted_dst)?))?,
                1 => self.w(" (reassembly)")?,
                _ => self.fmt(format_args!(", unknown code ({code})"))?,
            },
            4 => {
                b.v6(quoted_dst)?;
                let what = match code {
                    0 => "erroneous",
                    1 => "next header",
                    2 => "option",
                    3 => "incomplete header chain",
                    _ => "",
                };
                if what.is_empty() {
                    self.fmt(format_args!(", code-#{code}"))?;
                } else {
                    self.fmt(format_args!(", {what} - octet {}", b.u32(4)?))?;
                }
            }
            128 | 129 => {
                let (id, seq) = (b.u16(4)?, b.u16(6)?);
                self.fmt(format_args!(", id {id}, seq {seq}"))?;
            }
            130 => {
                if length == 24 {
                    self.mld(cap)?;
                } else if length >= 28 {
                    self.w(" v2")?;
                    self.mld_query_v2(&b, length)?;
                } else {
                    self.fmt(format_args!(" unknown-version (len {length}) "))?;
                }
            }
            131 | 132 => self.mld(cap)?,
            135 => {
                self.fmt(format_args!(", who has {}", b.v6(8)?))?;
                if self.verbose {
                    self.nd_options(cap, 24, length)?;
                }
            }
            136 => {
                self.fmt(format_args!(", tgt is {}", b.v6(8)?))?;
                if self.verbose {
                    let flags = b.u32(4)?;
                    self.w(", Flags [")?;
                    let mut sep = "";
                    for (bit, name) in [
                        (0x8000_0000u32, "router"),
                        (0x4000_0000, "solicited"),
                        (0x2000_0000, "override"),
                    ] {
                        if flags & bit != 0 {
                            self.fmt(format_args!("{sep}{name}"))?;
                            sep = ", ";
                        }
                    }
                    if sep.is_empty() {
                        self.w("none")?;
                    }
                    self.w("]")?;
                    self.nd_options(cap, 24, length)?;
                }
            }
            137 => {
                self.fmt(format_args!(", {}", b.v6(24)?))?;
                self.fmt(format_args!(" to {}", b.v6(8)?))?;
                if self.verbose {
                    self.nd_options(cap, 40, length)?;
                }
            }
            143 => {
                if length < 8 {
                    return self.fmt(format_args!(" [invalid len {length}]"));
                }
                let groups = b.u16(6)?;
                self.fmt(format_args!(", {groups} group record(s)"))?;
                if self.verbose {
                    self.mld_report_groups(&b, groups, length)?;
                }
            }
            144 | 146 => self.fmt(format_args!(", id 0x{:04x}", b.u16(4)?))?,
            133 if self.verbose => self.nd_options(cap, 8, length)?,
            134 if self.verbose => {
                // tcpdump prints the fixed fields in one go, or not at all.
                let (hop_limit, flags) = (b.u8(4)?, b.u8(5)?);
                let (lifetime, reachable, retrans) = (b.u16(6)?, b.u32(8)?, b.u32(12)?);
                self.fmt(format_args!("\n\thop limit {hop_limit}, Flags ["))?;
                let mut sep = "";
                for (bit, name) in [
                    (0x80u8, "managed"),
                    (0x40, "other stateful"),
                    (0x20, "home agent"),
                    (0x02, "ipv6 only"),
                ] {
                    if flags & bit != 0 {
                        self.fmt(format_args!("{sep}{name}"))?;
                        sep = ", ";
                    }
                }
                if sep.is_empty() {
                    self.w("none")?;
                }
                let pref = ["medium", "high", "rsv", "low"][usize::from((flags >> 3) & 3)];
                self.fmt(format_args!(
                    "], pref {pref}, router lifetime {lifetime}s, reachable time {reachable}ms, \
                     retrans timer {retrans}ms"
                ))?;
                self.nd_options(cap, 16, length)?;
            }
            133 | 134 | 138..=142 | 145 | 147 | 155 => {}
            _ => {
                self.fmt(format_args!(", length {length}"))?;
                return self.hex_lines(&cap[..cap.len().min(length)]);
            }
        }
        if !self.verbose {
            self.fmt(format_args!(", length {length}"))?;
        }
        Ok(())
    }

    /// MLDv1 query, report and done: tcpdump prints the fields only when all 24
    /// bytes were captured, and with no separator before them.
    fn mld(&mut self, cap: &[u8]) -> Out {
        if cap.len() < 24 {
            return Ok(());
        }
        let b = Bytes::new(cap, "icmp6");
        self.fmt(format_args!(
            "max resp delay: {} addr: {}",
            b.u16(4)?,
            b.v6(8)?
        ))
    }

    /// An MLDv2 query (RFC 3810 section 5.1).
    fn mld_query_v2(&mut self, b: &Bytes<'_>, length: usize) -> Out {
        if self.verbose {
            let code = u32::from(b.u16(4)?);
            let delay = if code < 0x8000 {
                code
            } else {
                ((code & 0x0fff) | 0x1000) << (((code & 0x7000) >> 12) + 3)
            };
            self.fmt(format_args!(" [max resp delay={delay}]"))?;
        }
        self.fmt(format_args!(" [gaddr {}", b.v6(8)?))?;
        if self.verbose {
            let flags = b.u8(24)?;
            if flags & 0x08 != 0 {
                self.w(" sflag")?;
            }
            if flags & 0x07 != 0 {
                self.fmt(format_args!(" robustness={}", flags & 0x07))?;
            }
            let qqic = u32::from(b.u8(25)?);
            let qqi = if qqic < 128 {
                qqic
            } else {
                ((qqic & 0x0f) | 0x10) << (((qqic & 0x70) >> 4) + 3)
            };
            self.fmt(format_args!(" qqi={qqi}"))?;
        }
        let sources = usize::from(b.u16(26)?);
        if sources > 0 {
            if length < 28 + sources * 16 {
                self.w(" [invalid number of sources]")?;
            } else {
                self.fmt(format_args!(", {sources} source(s)"))?;
            }
        }
        self.w("]")
    }
}

impl Printer<'_, '_> {
    /// The group records of an MLDv2 report, as `tcpdump -v` lists them.
    fn mld_report_groups(&mut self, b: &Bytes<'_>, groups: u16, length: usize) -> Out {
        let mut at = 8usize;
        for _ in 0..groups {
            if at + 20 > length {
                return self.w(" [invalid number of groups]");
            }
            let kind = b.u8(at)?;
            let sources = usize::from(b.u16(at + 2)?);
            self.fmt(format_args!(" [gaddr {}", b.v6(at + 4)?))?;
            match kind {
                1 => self.w(" is_in")?,
                2 => self.w(" is_ex")?,
                3 => self.w(" to_in")?,
                4 => self.w(" to_ex")?,
                5 => self.w(" allow")?,
                6 => self.w(" block")?,
                other => self.fmt(format_args!("  [v2-report-#{other}]"))?,
            }
            let end = at + 20 + sources * 16;
            if end > length {
                return self.fmt(format_args!(" [invalid number of sources {sources}]"));
            }
            self.fmt(format_args!(", {sources} source(s)]"))?;
            at = end;
        }
        Ok(())
    }

    /// Neighbor-discovery options (RFC 4861 section 4.6) from `start` to `length`, as
    /// `tcpdump -v` prints them, one per continuation line. An option tcpdump does
    /// not decode is dumped in hex and ends the list.
    fn nd_options(&mut self, cap: &[u8], start: usize, length: usize) -> Out {
        let mut at = start;
        let mut left = length as i64 - start as i64;
        let b = Bytes::new(cap, "icmp6");
        while at < cap.len() {
            if cap.len() < at + 2 {
                return Err(Halt::Trunc("icmp6"));
            }
            if left <= 0 {
                return Ok(());
            }
            let kind = b.u8(at)?;
            let units = usize::from(b.u8(at + 1)?);
            let len = units * 8;
            if len == 0 || at + len > cap.len() {
                return Err(Halt::Trunc("icmp6"));
            }
            let name = match kind {
                1 => "source link-address",
                2 => "destination link-address",
                3 => "prefix info",
                4 => "redirected header",
                5 => "mtu",
                7 => "advertisement interval",
                8 => "homeagent information",
                24 => "route info",
                25 => "rdnss",
                31 => "dnssl",
                _ => "unknown",
            };
            self.fmt(format_args!(
                "\n\t  {name} option ({kind}), length {len} ({units}): "
            ))?;
            let data = &cap[at + 2..at + len];
            let o = Bytes::new(&cap[at..], "icmp6");
            match kind {
                1 | 2 => {
                    for (i, byte) in data.iter().enumerate() {
                        let sep = if i == 0 { "" } else { ":" };
                        self.fmt(format_args!("{sep}{byte:02x}"))?;
                    }
                }
                3 => {
                    let (prefix, prefix_len, flags) = (o.v6(16)?, o.u8(2)?, o.u8(3)?);
                    let (valid, preferred) = (o.u32(4)?, o.u32(8)?);
                    let badlen = if units != 4 { "badlen" } else { "" };
                    self.fmt(format_args!("{prefix}/{prefix_len}{badlen}, Flags ["))?;
                    let mut sep = "";
                    for (bit, name) in [(0x80u8, "onlink"), (0x40, "auto"), (0x20, "router")] {
                        if flags & bit != 0 {
                            self.fmt(format_args!("{sep}{name}"))?;
                            sep = ", ";
                        }
                    }
                    if sep.is_empty() {
                        self.w("none")?;
                    }
                    self.w("], valid time ")?;
                    self.lifetime(valid)?;
                    self.w(", pref. time ")?;
                    self.lifetime(preferred)?;
                }
                // tcpdump dumps from the start of the option list here.
                4 => self.hex_lines_indented(
                    cap.get(start..(start + len).min(cap.len())).unwrap_or(&[]),
                    "\n\t    ",
                )?,
                5 => {
                    let mtu = o.u32(4)?;
                    let bad = if units != 1 { "bad option length" } else { "" };
                    self.fmt(format_args!(" {mtu}{bad}"))?;
                }
                7 => self.fmt(format_args!(" {}ms", o.u32(4)?))?,
                8 => {
                    let (preference, lifetime) = (o.u16(4)?, o.u16(6)?);
                    self.fmt(format_args!(
                        " preference {preference}, lifetime {lifetime}"
                    ))?;
                }
                24 => {
                    o.u32(4)?;
                    let mut prefix = [0u8; 16];
                    match units {
                        1 => {}
                        2 => {
                            prefix[..8].copy_from_slice(o.b.get(8..16).ok_or(Halt::Trunc("icmp6"))?)
                        }
                        3 => prefix.copy_from_slice(o.b.get(8..24).ok_or(Halt::Trunc("icmp6"))?),
                        _ => return Err(Halt::Trunc("icmp6")),
                    }
                    let prefix = super::Ip(core::net::IpAddr::from(prefix));
                    self.fmt(format_args!(" {prefix}/{}", o.u8(2)?))?;
                    let pref = ["medium", "high", "rsv", "low"][usize::from((o.u8(3)? >> 3) & 3)];
                    self.fmt(format_args!(", pref={pref}, lifetime="))?;
                    self.lifetime(o.u32(4)?)?;
                }
                25 => {
                    self.fmt(format_args!(" lifetime {}s,", o.u32(4)?))?;
                    for i in 0..(units.saturating_sub(1)) / 2 {
                        self.fmt(format_args!(" addr: {}", o.v6(8 + 16 * i)?))?;
                    }
                }
                31 => {
                    self.fmt(format_args!(" lifetime {}s, domain(s):", o.u32(4)?))?;
                    let mut name_at = 8;
                    while name_at < len && o.u8(name_at)? != 0 {
                        self.w(" ")?;
                        name_at = self.domain_name(&o, name_at)?;
                    }
                }
                _ => return self.hex_lines_indented(data, "\n\t  "),
            }
            at += len;
            left -= len as i64;
        }
        Ok(())
    }

    /// An uncompressed domain name (RFC 1035 labels) as tcpdump prints it,
    /// `example.com.`; returns where it ends.
    fn domain_name(&mut self, o: &Bytes<'_>, mut at: usize) -> Result<usize, Halt> {
        loop {
            let label = usize::from(o.u8(at)?);
            at += 1;
            if label == 0 {
                return Ok(at);
            }
            if label >= 0x40 {
                // Compression and extended labels do not belong in an option.
                return Err(Halt::Trunc("icmp6"));
            }
            for i in 0..label {
                self.print_char(o.u8(at + i)?)?;
            }
            self.w(".")?;
            at += label;
        }
    }

    fn lifetime(&mut self, seconds: u32) -> Out {
        if seconds == u32::MAX {
            self.w("infinity")
        } else {
            self.fmt(format_args!("{seconds}s"))
        }
    }
}

/// The protocol (TCP or UDP) and destination port of the packet an ICMPv6 error
/// quotes, found as tcpdump finds them: stepping over extension headers (and AH)
/// without checking them, reading only the two port bytes. `None` where tcpdump
/// prints `[|icmp6]`: the chain leaves the quote, ends in another protocol, or
/// reaches a later fragment.
fn quoted_port(quote: &[u8]) -> Option<(u8, u16)> {
    let mut next = *quote.get(6)?;
    let mut at = 40usize;
    // Every step advances at least 8 bytes, and the walk stops at the quote's end.
    while at < quote.len() {
        match next {
            6 | 17 => {
                let port = quote.get(at + 2..at + 4)?;
                return Some((next, u16::from_be_bytes([port[0], port[1]])));
            }
            0 | 43 | 60 => {
                let header = quote.get(at..at + 2)?;
                next = header[0];
                at += (usize::from(header[1]) + 1) * 8;
            }
            44 => {
                let header = quote.get(at..at + 4)?;
                if u16::from_be_bytes([header[2], header[3]]) & 0xfff8 != 0 {
                    return None;
                }
                next = header[0];
                at += 8;
            }
            51 => {
                let header = quote.get(at..at + 2)?;
                next = header[0];
                at += (usize::from(header[1]) + 2) * 4;
            }
            _ => return None,
        }
    }
    None
}

/// tcpdump 4.99's names for destination-unreachable codes (the leading space of
/// code 1 is tcpdump's).
fn dst_unreach_name(code: u8) -> Option<&'static str> {
    Some(match code {
        0 => "unreachable route",
        1 => " unreachable prohibited",
        2 => "beyond scope",
        3 => "unreachable address",
        4 => "unreachable port",
        _ => return None,
    })
}
