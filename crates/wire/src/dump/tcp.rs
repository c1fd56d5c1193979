//! TCP as tcpdump's `tcp_print` prints it with `-S` (absolute sequence numbers).

use crate::checksum;
use crate::ip::IpProtocol;
use crate::tcp::TcpFlags;

use super::{should_be, Bytes, Ctx, Halt, Out, Printer};

/// How an option walk ended early.
enum OptEnd {
    /// An illegal length: tcpdump prints `[bad opt]` and stops the line.
    Bad,
    /// The capture ended where a length check said data should be (tcpdump's
    /// `trunc` label: ` [|tcp]`, then `>` if an option was already printed).
    Trunc,
    /// A read past the capture (tcpdump's `GET_` macros: ` [|tcp]` alone).
    Get,
    /// The formatter failed.
    Fmt,
}

impl From<core::fmt::Error> for OptEnd {
    fn from(_: core::fmt::Error) -> OptEnd {
        OptEnd::Fmt
    }
}

impl From<Halt> for OptEnd {
    fn from(h: Halt) -> OptEnd {
        match h {
            Halt::Fmt => OptEnd::Fmt,
            Halt::Trunc(_) => OptEnd::Get,
        }
    }
}

impl Printer<'_, '_> {
    /// A TCP segment: `cap` the captured bytes, `length` the segment's length
    /// according to the IP header.
    pub(super) fn tcp(&mut self, cap: &[u8], length: usize, ctx: Ctx) -> Out {
        let b = Bytes::new(cap, "tcp");
        if cap.len() < 4 {
            self.fmt(format_args!("{} > {}:", ctx.src, ctx.dst))?;
            return Err(Halt::Trunc("tcp"));
        }
        let (sport, dport) = (b.u16(0)?, b.u16(2)?);
        if ctx.direct {
            self.fmt(format_args!("{}.{sport} > {}.{dport}: ", ctx.src, ctx.dst))?;
        } else {
            self.fmt(format_args!("{sport} > {dport}: "))?;
        }
        if cap.len() < 20 {
            return Err(Halt::Trunc("tcp"));
        }
        let hlen = usize::from(b.u8(12)? >> 4) * 4;
        if hlen < 20 {
            return self.fmt(format_args!(
                " tcp {} [bad hdr length {hlen} - too short, < 20]",
                length.wrapping_sub(hlen)
            ));
        }
        let seq = b.u32(4)?;
        let ack = b.u32(8)?;
        // tcpdump 4.99 reads the flags from byte 13 alone: the AE bit is not shown.
        let flags = TcpFlags::from_bits_truncate(u16::from(b.u8(13)?));
        let win = b.u16(14)?;
        let urp = b.u16(18)?;
        self.fmt(format_args!("Flags {flags}"))?;
        if hlen > length {
            return self.fmt(format_args!(
                " [bad hdr length {hlen} - too long, > {length}]"
            ));
        }
        if self.verbose && !ctx.fragmented {
            if let Some(segment) = cap.get(..length) {
                let stored = b.u16(16)?;
                let pseudo = ctx
                    .pseudo_pair()
                    .map(|pair| pair.pseudo_header(IpProtocol::Tcp, length));
                if let Some(pseudo) = pseudo {
                    let sum = checksum::combine(&[pseudo, checksum::data(segment)]);
                    self.fmt(format_args!(", cksum 0x{stored:04x}"))?;
                    if sum == 0xffff {
                        self.w(" (correct)")?;
                    } else {
                        self.fmt(format_args!(
                            " (incorrect -> 0x{:04x})",
                            should_be(stored, sum)
                        ))?;
                    }
                }
            }
        }
        let data_len = length - hlen;
        if data_len > 0 || flags.intersects(TcpFlags::SYN | TcpFlags::FIN | TcpFlags::RST) {
            self.fmt(format_args!(", seq {seq}"))?;
            if data_len > 0 {
                self.fmt(format_args!(":{}", seq.wrapping_add(data_len as u32)))?;
            }
        }
        if flags.contains(TcpFlags::ACK) {
            self.fmt(format_args!(", ack {ack}"))?;
        }
        self.fmt(format_args!(", win {win}"))?;
        if flags.contains(TcpFlags::URG) {
            self.fmt(format_args!(", urg {urp}"))?;
        }
        if hlen > 20 {
            self.w(", options [")?;
            let mut printed = false;
            match self.tcp_options(cap.get(20..).unwrap_or(&[]), hlen - 20, &mut printed) {
                Ok(()) => self.w("]")?,
                Err(OptEnd::Fmt) => return Err(Halt::Fmt),
                Err(OptEnd::Bad) => {
                    self.w("[bad opt]")?;
                    if printed {
                        self.w("]")?;
                    }
                    return Ok(());
                }
                Err(OptEnd::Trunc) => {
                    self.w(" [|tcp]")?;
                    if printed {
                        self.w(">")?;
                    }
                    return Ok(());
                }
                Err(OptEnd::Get) => return Err(Halt::Trunc("tcp")),
            }
        }
        self.fmt(format_args!(", length {data_len}"))?;
        if data_len == 0 {
            return Ok(());
        }
        if self.verbose && flags.contains(TcpFlags::RST) {
            return self.rst_data(cap.get(hlen..).unwrap_or(&[]), data_len);
        }
        // Before reading the payload tcpdump insists on the whole header.
        if cap.len() < hlen {
            self.fmt(format_args!(
                " [remaining caplen({}) < header length({hlen})]",
                cap.len()
            ))?;
            return Err(Halt::Trunc("tcp"));
        }
        Ok(())
    }

    /// The option list, `hlen` bytes of it by the data offset, `cap` what was
    /// captured from its start. Follows tcpdump's walk exactly, including how it
    /// steps by the data it printed rather than by the length byte when the two
    /// disagree (`mss 1460[len 5]`).
    fn tcp_options(&mut self, cap: &[u8], hlen: usize, printed: &mut bool) -> Result<(), OptEnd> {
        let b = Bytes::new(cap, "tcp");
        let mut at = 0usize;
        let mut left = hlen;
        while left > 0 {
            if *printed {
                self.w(",")?;
            }
            let kind = b.u8(at)?;
            let zero_len = kind <= 1;
            let len = if zero_len {
                1
            } else {
                let len = usize::from(b.u8(at + 1)?);
                if len < 2 || len > left {
                    return Err(OptEnd::Bad);
                }
                left -= 1;
                len
            };
            left -= 1;
            at += if zero_len { 1 } else { 2 };
            // Data of `n` bytes must lie within the header (else `[bad opt]`) and
            // within the capture (else truncation).
            let check = |n: usize| -> Result<(), OptEnd> {
                if n > left {
                    Err(OptEnd::Bad)
                } else if at + n > cap.len() {
                    Err(OptEnd::Trunc)
                } else {
                    Ok(())
                }
            };
            self.w(option_name(kind))?;
            if !is_named(kind) {
                self.fmt(format_args!("unknown-{kind}"))?;
            }
            let datalen = match kind {
                0 | 1 | 4 => 0,
                2 => {
                    check(2)?;
                    self.fmt(format_args!(" {}", b.u16(at)?))?;
                    2
                }
                3 => {
                    check(1)?;
                    self.fmt(format_args!(" {}", b.u8(at)?))?;
                    1
                }
                5 => {
                    let datalen = len - 2;
                    if datalen % 8 != 0 {
                        self.w(" invalid sack")?;
                    } else {
                        self.fmt(format_args!(" {} ", datalen / 8))?;
                        let mut i = 0;
                        while i < datalen {
                            check(i + 4)?;
                            let s = b.u32(at + i)?;
                            check(i + 8)?;
                            let e = b.u32(at + i + 4)?;
                            self.fmt(format_args!("{{{s}:{e}}}"))?;
                            i += 8;
                        }
                    }
                    datalen
                }
                6 | 7 | 11 | 12 | 13 => {
                    check(4)?;
                    self.fmt(format_args!(" {}", b.u32(at)?))?;
                    4
                }
                8 => {
                    check(8)?;
                    self.fmt(format_args!(" val {} ecr {}", b.u32(at)?, b.u32(at + 4)?))?;
                    8
                }
                19 => {
                    check(16)?;
                    self.w(" shared secret not supplied with -M, can't check - ")?;
                    for i in 0..16 {
                        self.fmt(format_args!("{:02x}", b.u8(at + i)?))?;
                    }
                    16
                }
                20 => {
                    check(2)?;
                    self.fmt(format_args!(" cap {:02x} id {}", b.u8(at)?, b.u8(at + 1)?))?;
                    2
                }
                28 => {
                    check(2)?;
                    let value = b.u16(at)?;
                    let seconds = if value & 1 != 0 {
                        u32::from(value >> 1) * 60
                    } else {
                        u32::from(value >> 1)
                    };
                    self.fmt(format_args!(" 0x{value:x} {seconds}"))?;
                    2
                }
                29 => {
                    let datalen = len - 2;
                    if datalen < 2 {
                        self.w(" (invalid)")?;
                    } else {
                        check(1)?;
                        self.fmt(format_args!(" keyid {}", b.u8(at)?))?;
                        check(2)?;
                        self.fmt(format_args!(" rnextkeyid {}", b.u8(at + 1)?))?;
                        if datalen > 2 {
                            self.w(" mac 0x")?;
                            for i in 2..datalen {
                                check(i + 1)?;
                                self.fmt(format_args!("{:02x}", b.u8(at + i)?))?;
                            }
                        }
                    }
                    datalen
                }
                34 => {
                    let datalen = len - 2;
                    check(datalen)?;
                    self.w(" ")?;
                    self.fast_open(cap.get(at..at + datalen).unwrap_or(&[]))?;
                    datalen
                }
                254 => {
                    let datalen = len - 2;
                    check(datalen)?;
                    if datalen < 2 {
                        return Err(OptEnd::Bad);
                    }
                    let magic = b.u16(at)?;
                    self.w("-")?;
                    if magic == 0xf989 {
                        self.w("tfo")?;
                        self.fast_open(cap.get(at + 2..at + datalen).unwrap_or(&[]))?;
                    } else {
                        self.fmt(format_args!("{magic:04x}"))?;
                    }
                    datalen
                }
                _ => {
                    let datalen = len - 2;
                    if datalen > 0 {
                        self.w(" 0x")?;
                    }
                    for i in 0..datalen {
                        check(i + 1)?;
                        self.fmt(format_args!("{:02x}", b.u8(at + i)?))?;
                    }
                    datalen
                }
            };
            at += datalen;
            left = left.saturating_sub(datalen);
            let consumed = datalen + if zero_len { 1 } else { 2 };
            if consumed != len {
                self.fmt(format_args!("[len {len}]"))?;
            }
            *printed = true;
            if kind == 0 {
                break;
            }
        }
        Ok(())
    }

    /// The data of a reset, which RFC 9293 suggests may explain it (`tcpdump -v`
    /// shows up to 30 bytes: ` [RST got 5 bytes]`, `+` when longer, `!` when the
    /// capture lacks some of it).
    //= https://www.rfc-editor.org/rfc/rfc9293#section-3.5.3
    //# TCP implementations SHOULD allow a received RST segment to include data
    //# (SHLD-2).
    fn rst_data(&mut self, data: &[u8], len: usize) -> Out {
        const MAX_SHOWN: usize = 30;
        let missing = if data.len() < len { "!" } else { "" };
        self.fmt(format_args!(" [{missing}RST"))?;
        if len > MAX_SHOWN {
            self.w("+")?;
        }
        self.w(" ")?;
        for &byte in data.iter().take(len.min(MAX_SHOWN)) {
            self.print_char(byte)?;
        }
        self.w("]")
    }

    /// A TCP Fast Open cookie (RFC 7413) as tcpdump prints it after `tfo `.
    fn fast_open(&mut self, cookie: &[u8]) -> Out {
        if cookie.is_empty() {
            return self.w(" cookiereq");
        }
        if cookie.len() % 2 != 0 || cookie.len() < 4 || cookie.len() > 16 {
            return self.w(" (invalid)");
        }
        self.w(" cookie ")?;
        for byte in cookie {
            self.fmt(format_args!("{byte:02x}"))?;
        }
        Ok(())
    }
}

/// Whether tcpdump has a name for this option kind.
fn is_named(kind: u8) -> bool {
    matches!(
        kind,
        0 | 1 | 2 | 3 | 4 | 5 | 6 | 7 | 8 | 11 | 12 | 13 | 19 | 20 | 28 | 29 | 30 | 34 | 254
    )
}

/// tcpdump's name for a TCP option kind (empty for kinds it does not name, and for
/// CC.ECHO, which its table names with an empty string).
fn option_name(kind: u8) -> &'static str {
    match kind {
        0 => "eol",
        1 => "nop",
        2 => "mss",
        3 => "wscale",
        4 => "sackOK",
        5 => "sack",
        6 => "echo",
        7 => "echoreply",
        8 => "TS",
        11 => "cc",
        12 => "ccnew",
        19 => "md5",
        20 => "scps",
        28 => "uto",
        29 => "tcp-ao",
        30 => "mptcp",
        34 => "tfo",
        254 => "exp",
        _ => "",
    }
}
