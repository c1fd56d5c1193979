//! Whole packets as `tcpdump -n -S -t` prints them ([`dump`], [`PacketDump`]), and a
//! strict check of every header and checksum ([`verify`]).
//!
//! [`dump`] takes the bytes of one IP packet (IPv4 or IPv6, chosen by the version
//! nibble, as tcpdump does for raw-IP captures) and returns a value whose `Display` is
//! the line tcpdump 4.99 prints for it:
//!
//! ```
//! use layer4_wire::dump::dump;
//!
//! let syn = [
//!     0x45, 0x00, 0x00, 0x28, 0x00, 0x01, 0x40, 0x00, 0x40, 0x06, 0x00, 0x00, // IPv4
//!     10, 0, 0, 1, 10, 0, 0, 2,
//!     0xc0, 0x00, 0x00, 0x50, 0x00, 0x00, 0x30, 0x39, 0, 0, 0, 0, // TCP
//!     0x50, 0x02, 0xff, 0xff, 0x00, 0x00, 0x00, 0x00,
//! ];
//! assert_eq!(
//!     dump(&syn).to_string(),
//!     "IP 10.0.0.1.49152 > 10.0.0.2.80: Flags [S], seq 12345, win 65535, length 0"
//! );
//! ```
//!
//! The rendering reads the bytes the way tcpdump does, not the way a stack would: it
//! never verifies a checksum (tcpdump without `-v` does not), it prints what it can of
//! malformed and truncated packets with tcpdump's markers (`[|tcp]`, `truncated-ip -
//! N bytes missing!`, `bad-hlen 16`, `[bad opt]`, ...), and it follows tcpdump's
//! quirks where they show (an IPv6 fragment header cut short prints its length as an
//! unsigned 64-bit wrap-around, exactly as tcpdump does). No input panics, and
//! nothing is allocated: everything is written straight into the formatter.
//!
//! With [`PacketDump::verbose`] the line gains what `tcpdump -v` adds: the IPv4 or IPv6
//! header details, the TCP, UDP-over-IPv6 and ICMPv6 checksum verdicts, the IPv6
//! fragment identification, and the packet quoted by an ICMP error (IPv4 headers and
//! the quoted packet go on continuation lines, as tcpdump prints them).
//!
//! Every packet of the golden captures in `tests/data` (real Linux traffic) and
//! `tests/data/crafted` (hand-made edge cases) renders exactly as tcpdump 4.99.3
//! printed it, with and without `-v` (`tests/tcpdump_golden.rs`). What is not rendered
//! like tcpdump:
//! - application protocols: tcpdump decodes some payloads by port (DNS, HTTP, SSH,
//!   NTP, DHCP/BOOTP, PTP, BGP, SNMP, syslog, VXLAN, Geneve, ...); we stop at
//!   `length N` (TCP, UDP) where tcpdump goes on;
//! - IP protocols other than TCP, UDP, ICMP, ICMPv6, IPv4/IPv6 in IP and the IPv6
//!   extension headers (IGMP, GRE, ESP, AH, SCTP, DCCP, OSPF, PIM, VRRP, ...) print as
//!   ` ip-proto-N LEN`, which is tcpdump's form for a protocol it does not know;
//! - the TCP MPTCP option prints as raw bytes (`mptcp 0x...`), and the ICMPv6 router
//!   renumbering, node information and RPL messages by name only;
//! - the link layer: tcpdump reports a version nibble that contradicts the Ethernet
//!   type (`IP6, wrong link-layer encapsulation`); [`dump`] only sees the IP packet;
//! - IP in IP is followed eight levels deep, then printed as ` ip-proto-N LEN`.
//!
//! [`verify`] is the strict counterpart: it parses the packet as a receiving stack
//! would, with every checksum checked, and reports the first problem.

use core::fmt;
use core::net::{IpAddr, Ipv4Addr, Ipv6Addr};

mod icmp;
mod ip6;
mod tcp;
mod udp;
mod verify;

pub use verify::{verify, Layer, VerifyError};

/// One IP packet, rendered by `Display` as `tcpdump -n -S -t` prints it. Made by
/// [`dump`].
#[derive(Debug, Clone, Copy)]
pub struct PacketDump<'a> {
    packet: &'a [u8],
    orig_len: usize,
    verbose: bool,
}

/// Render `packet` (bytes starting at the IP header, as captured) like tcpdump.
///
/// The packet is taken to be whole; for a capture that kept less than the packet's
/// length on the wire, say so with [`PacketDump::with_orig_len`].
pub fn dump(packet: &[u8]) -> PacketDump<'_> {
    PacketDump {
        packet,
        orig_len: packet.len(),
        verbose: false,
    }
}

impl<'a> PacketDump<'a> {
    /// The packet's length on the wire, when the capture kept only the first
    /// `packet.len()` bytes of it (a pcap record's `orig_len` minus the link-layer
    /// header). Values below the captured length are ignored.
    pub fn with_orig_len(mut self, orig_len: usize) -> PacketDump<'a> {
        self.orig_len = orig_len.max(self.packet.len());
        self
    }

    /// Print what `tcpdump -v` adds (see the [module docs](self)). The IPv4 header
    /// details end with a newline and four spaces, as in tcpdump's output, so a
    /// verbose rendering may span several lines.
    pub fn verbose(mut self, verbose: bool) -> PacketDump<'a> {
        self.verbose = verbose;
        self
    }
}

impl fmt::Display for PacketDump<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut p = Printer {
            f,
            verbose: self.verbose,
            depth: 0,
        };
        p.top(self.packet, self.orig_len)
    }
}

/// How far IP-in-IP nesting is followed before the rest is printed as one
/// ` ip-proto-N LEN` (tcpdump has no bound; we keep the stack small).
const MAX_DEPTH: u8 = 8;

/// Why a printer stopped early.
enum Halt {
    /// The formatter failed.
    Fmt,
    /// The capture ended where tcpdump reads on: tcpdump prints ` [|proto]`.
    Trunc(&'static str),
}

impl From<fmt::Error> for Halt {
    fn from(_: fmt::Error) -> Halt {
        Halt::Fmt
    }
}

type Out = Result<(), Halt>;

/// Where a transport header sits: the addresses of the IP header it came in and how
/// tcpdump prints it.
#[derive(Clone, Copy)]
struct Ctx {
    /// The enclosing IP header's addresses.
    src: Ip,
    dst: Ip,
    /// Whether the IP header's own protocol field names this transport (no IPv6
    /// extension header between): tcpdump then prints addresses with the ports,
    /// otherwise the ports alone.
    direct: bool,
    /// Whether this is (the first piece of) a fragment: lengths cannot be checked
    /// against the IP length and checksums cannot be verified.
    fragmented: bool,
    /// The destination for upper-layer checksums: the IPv6 final destination named by
    /// a routing header, as tcpdump finds it, else `dst`.
    pseudo_dst: IpAddr,
}

impl Ctx {
    /// The address pair of the upper-layer checksum's pseudo-header.
    fn pseudo_pair(&self) -> Option<crate::ip::AddrPair> {
        crate::ip::AddrPair::new(self.src.0, self.pseudo_dst)
    }
}

struct Printer<'f, 'g> {
    f: &'f mut fmt::Formatter<'g>,
    verbose: bool,
    depth: u8,
}

impl Printer<'_, '_> {
    fn w(&mut self, s: &str) -> Out {
        self.f.write_str(s)?;
        Ok(())
    }

    fn fmt(&mut self, args: fmt::Arguments<'_>) -> Out {
        self.f.write_fmt(args)?;
        Ok(())
    }

    /// The outermost packet: dispatch on the version nibble like tcpdump's raw-IP
    /// printer, and turn a truncation into tcpdump's ` [|proto]` marker.
    fn top(&mut self, cap: &[u8], length: usize) -> fmt::Result {
        let result = match cap.first() {
            None if length == 0 => self.fmt(format_args!("truncated-ip {length}")),
            None => Err(Halt::Trunc("ipn")),
            Some(b) => match b >> 4 {
                4 => self.ipv4(cap, length),
                6 => self.ipv6(cap, length),
                v => self.fmt(format_args!("unknown ip {v}")),
            },
        };
        self.finish(result)
    }

    fn finish(&mut self, result: Out) -> fmt::Result {
        match result {
            Ok(()) => Ok(()),
            Err(Halt::Fmt) => Err(fmt::Error),
            Err(Halt::Trunc(proto)) => write!(self.f, " [|{proto}]"),
        }
    }

    /// An IPv4 packet: `cap` the captured bytes, `length` its length on the wire.
    fn ipv4(&mut self, cap: &[u8], length: usize) -> Out {
        if cap.is_empty() {
            return Err(Halt::Trunc("ip"));
        }
        if let Some(v) = cap.first().map(|b| b >> 4).filter(|&v| v != 4) {
            // Reached only through IP-in-IP, where tcpdump expects version 4.
            if v == 6 {
                self.w("IP6, wrong link-layer encapsulation")?;
            } else {
                self.fmt(format_args!("IP{v}"))?;
            }
            return self.w(" (invalid)");
        }
        self.w("IP ")?;
        let h = Bytes::new(cap, "ip");
        if cap.len() < 20 {
            return Err(Halt::Trunc("ip"));
        }
        if length < 20 {
            return self.fmt(format_args!("truncated-ip {length}"));
        }
        let hlen = usize::from(h.u8(0)? & 0x0f) * 4;
        if hlen < 20 {
            return self.fmt(format_args!("bad-hlen {hlen}"));
        }
        let total = usize::from(h.u16(2)?);
        if length < total {
            self.fmt(format_args!(
                "truncated-ip - {} bytes missing! ",
                total - length
            ))?;
        }
        if total < hlen {
            return self.fmt(format_args!("bad-len {total}"));
        }
        // Everything past the total length is link-layer padding.
        let cap = &cap[..cap.len().min(total)];
        let flags_off = h.u16(6)?;
        let offset = flags_off & 0x1fff;
        let more_frags = flags_off & 0x2000 != 0;
        let proto = h.u8(9)?;
        let src = Ip(IpAddr::V4(h.v4(12)?));
        let dst = Ip(IpAddr::V4(h.v4(16)?));
        if self.verbose && self.ipv4_verbose(cap, hlen, total)? {
            // The options ran past the capture: tcpdump names the hosts and stops.
            self.fmt(format_args!("{src} > {dst}: "))?;
            return Err(Halt::Trunc("ip"));
        }
        if offset != 0 {
            //= https://www.rfc-editor.org/rfc/rfc791#section-3.2
            //# The fragment offset field tells the receiver the position of a
            //# fragment in the original datagram.
            // A later fragment carries no transport header: tcpdump names the protocol.
            return self.fmt(format_args!("{src} > {dst}: ip-proto-{proto}"));
        }
        if !matches!(proto, 6 | 17 | 33 | 132) {
            self.fmt(format_args!("{src} > {dst}: "))?;
        }
        if cap.len() < hlen {
            self.fmt(format_args!(
                " [remaining caplen({}) < header length({hlen})]",
                cap.len()
            ))?;
            return Err(Halt::Trunc("ip"));
        }
        let ctx = Ctx {
            src,
            dst,
            direct: true,
            fragmented: more_frags,
            pseudo_dst: dst.0,
        };
        self.demux(proto, &cap[hlen..], total - hlen, ctx, 4)
    }

    /// The `tcpdump -v` IPv4 header details, ending in a newline and four spaces.
    /// Returns whether the options ran past the capture.
    fn ipv4_verbose(&mut self, cap: &[u8], hlen: usize, total: usize) -> Result<bool, Halt> {
        let h = Bytes::new(cap, "ip");
        let tos = h.u8(1)?;
        self.fmt(format_args!("(tos {tos:#x}"))?;
        match tos & 3 {
            1 => self.w(",ECT(1)")?,
            2 => self.w(",ECT(0)")?,
            3 => self.w(",CE")?,
            _ => {}
        }
        let ttl = h.u8(8)?;
        if ttl >= 1 {
            self.fmt(format_args!(", ttl {ttl}"))?;
        }
        let flags_off = h.u16(6)?;
        let proto = h.u8(9)?;
        self.fmt(format_args!(
            ", id {}, offset {}, flags [",
            h.u16(4)?,
            usize::from(flags_off & 0x1fff) * 8
        ))?;
        let mut sep = "";
        for (bit, name) in [(0x2000, "+"), (0x4000, "DF"), (0x8000, "rsvd")] {
            if flags_off & bit != 0 {
                self.fmt(format_args!("{sep}{name}"))?;
                sep = ", ";
            }
        }
        if sep.is_empty() {
            self.w("none")?;
        }
        self.fmt(format_args!(
            "], proto {} ({proto}), length {total}",
            ip_proto_name(proto)
        ))?;
        let mut truncated = false;
        if hlen > 20 {
            self.w(", options (")?;
            truncated = self.ipv4_options(cap.get(20..).unwrap_or(&[]), hlen - 20)?;
            if truncated {
                self.w(" [truncated-option]")?;
            }
            self.w(")")?;
        }
        if let Some(header) = cap.get(..hlen) {
            let sum = crate::checksum::data(header);
            if sum != 0xffff {
                let stored = h.u16(10)?;
                self.fmt(format_args!(
                    ", bad cksum {stored:x} (->{:x})!",
                    should_be(stored, sum)
                ))?;
            }
        }
        self.w(")\n    ")?;
        Ok(truncated)
    }

    /// IPv4 options as `tcpdump -v` names them; returns whether the capture ended
    /// inside them. `cap` is the captured part of the options area, `len` its size.
    fn ipv4_options(&mut self, cap: &[u8], len: usize) -> Result<bool, Halt> {
        let b = Bytes::new(cap, "ip");
        let mut at = 0usize;
        let mut sep = "";
        while at < len {
            self.w(sep)?;
            sep = ",";
            let code = b.u8(at)?;
            match code {
                0 => self.w("EOL")?,
                1 => self.w("NOP")?,
                7 => self.w("RR")?,
                68 => self.w("timestamp")?,
                82 => self.w("traceroute")?,
                130 => self.w("security")?,
                131 => self.w("LSRR")?,
                137 => self.w("SSRR")?,
                148 => self.w("RA")?,
                other => self.fmt(format_args!("unknown {other}"))?,
            }
            let option_len = if code <= 1 {
                1
            } else {
                let l = usize::from(b.u8(at + 1)?);
                if l < 2 {
                    self.fmt(format_args!(" [bad length {l}]"))?;
                    return Ok(false);
                }
                l
            };
            if option_len > len - at {
                self.fmt(format_args!(" [bad length {option_len}]"))?;
                return Ok(false);
            }
            if cap.len() < at + option_len {
                return Ok(true);
            }
            let o = Bytes::new(&cap[at..], "ip");
            match code {
                0 => return Ok(false),
                7 | 131 | 137 if self.ip_route_option(&o, option_len)? => return Ok(true),
                68 if self.ip_timestamp_option(&o, option_len)? => return Ok(true),
                148 => {
                    if option_len < 4 {
                        self.fmt(format_args!(" [bad length {option_len}]"))?;
                    } else {
                        let value = o.u16(2)?;
                        if value != 0 {
                            self.fmt(format_args!(" value {value}"))?;
                        }
                    }
                }
                _ => {}
            }
            at += option_len;
        }
        Ok(false)
    }

    /// Record route and source routes: the addresses, a comma after each one
    /// already recorded (before the pointer).
    /// Returns whether an address ran past the capture.
    fn ip_route_option(&mut self, o: &Bytes<'_>, len: usize) -> Result<bool, Halt> {
        if len < 3 {
            self.fmt(format_args!(" [bad length {len}]"))?;
            return Ok(false);
        }
        if (len + 1) & 3 != 0 {
            self.fmt(format_args!(" [bad length {len}]"))?;
        }
        let pointer = o.u8(2)?;
        let ptr = usize::from(pointer).wrapping_sub(1);
        if !(3..=len + 1).contains(&ptr) || (ptr + 1) & 3 != 0 {
            self.fmt(format_args!(" [bad ptr {pointer}]"))?;
        }
        let mut at = 3;
        while at < len {
            let Ok(address) = o.v4(at) else {
                return Ok(true);
            };
            self.fmt(format_args!(" {address}"))?;
            if ptr > at {
                self.w(",")?;
            }
            at += 4;
        }
        Ok(false)
    }

    /// The timestamp option (RFC 791): ` TS{TSONLY ^ 0@ 0@}`, the caret at the
    /// pointer. Returns whether a stamp ran past the capture.
    fn ip_timestamp_option(&mut self, o: &Bytes<'_>, len: usize) -> Result<bool, Halt> {
        self.w(" TS{")?;
        let flags = o.u8(3)?;
        let hop_len = if flags & 0x0f != 0 { 8 } else { 4 };
        if len.wrapping_sub(4) & (hop_len - 1) != 0 {
            self.fmt(format_args!("[bad length {len}]"))?;
        }
        let pointer = o.u8(2)?;
        let ptr = usize::from(pointer).wrapping_sub(1);
        if ptr < 4 || (ptr - 4) & (hop_len - 1) != 0 || ptr > len + 1 {
            self.fmt(format_args!("[bad ptr {pointer}]"))?;
        }
        let mut at = 0;
        let known = match flags & 0x0f {
            0 => Some("TSONLY"),
            1 => Some("TS+ADDR"),
            3 => Some("PRESPEC"),
            _ => None,
        };
        match known {
            Some(name) => {
                self.w(name)?;
                at = 4;
                while at < len {
                    let mark = if ptr == at { " ^ " } else { " " };
                    if o.b.len() < at + hop_len {
                        return Ok(true);
                    }
                    let stamp = o.u32(at + hop_len - 4)?;
                    if hop_len == 8 {
                        self.fmt(format_args!("{mark}{stamp}@{}", o.v4(at)?))?;
                    } else {
                        self.fmt(format_args!("{mark}{stamp}@"))?;
                    }
                    at += hop_len;
                }
            }
            None => self.fmt(format_args!("[bad ts type {}]", flags & 0x0f))?,
        }
        if ptr == at {
            self.w(" ^ ")?;
        }
        if flags >> 4 != 0 {
            self.fmt(format_args!(" [{} hops not recorded]}} ", flags >> 4))?;
        } else {
            self.w("}")?;
        }
        Ok(false)
    }

    /// Hand the payload of an IP header (or of the last IPv6 extension header) to
    /// its printer, like tcpdump's `ip_demux_print`. `len` is the payload's length
    /// according to the IP header; `cap` what was captured of it.
    fn demux(&mut self, proto: u8, cap: &[u8], len: usize, ctx: Ctx, version: u8) -> Out {
        match proto {
            6 => self.tcp(cap, len, ctx),
            17 => self.udp(cap, len, ctx),
            1 if version == 4 => self.icmpv4(cap, len, ctx),
            1 => self.w("[ICMP requires IPv4] (invalid)"),
            2 if version == 6 => self.w("[IGMP requires IPv4] (invalid)"),
            58 if version == 6 => self.icmpv6(cap, len, ctx),
            58 => self.w("[ICMPv6 requires IPv6] (invalid)"),
            4 | 41 if self.depth < MAX_DEPTH => {
                self.depth += 1;
                let result = if proto == 4 {
                    self.ipv4(cap, len)
                } else {
                    self.ipv6(cap, len)
                };
                self.depth -= 1;
                result
            }
            59 => self.w("no next header"),
            other => self.fmt(format_args!(" ip-proto-{other} {len}")),
        }
    }

    /// tcpdump's hex dump of undecoded data: `\n\t0x0000:  4500 0054 ...`, 16 bytes
    /// a line.
    fn hex_lines(&mut self, data: &[u8]) -> Out {
        self.hex_lines_indented(data, "\n\t")
    }

    /// [`Self::hex_lines`] with another line prefix.
    fn hex_lines_indented(&mut self, data: &[u8], prefix: &str) -> Out {
        for (i, line) in data.chunks(16).enumerate() {
            self.fmt(format_args!("{prefix}0x{:04x}: ", i * 16))?;
            for pair in line.chunks(2) {
                match pair {
                    [a, b] => self.fmt(format_args!(" {a:02x}{b:02x}"))?,
                    [a] => self.fmt(format_args!(" {a:02x}"))?,
                    _ => {}
                }
            }
        }
        Ok(())
    }
}

impl Printer<'_, '_> {
    /// One byte of text as tcpdump shows it: printable ASCII as is, control
    /// characters as `^X`, bytes above 127 as `M-` and the same.
    fn print_char(&mut self, c: u8) -> Out {
        let mut c = c;
        if !c.is_ascii() {
            c &= 0x7f;
            self.w("M-")?;
        }
        if !(0x20..0x7f).contains(&c) {
            c ^= 0x40;
            self.w("^")?;
        }
        self.fmt(format_args!("{}", char::from(c)))
    }
}

/// The checksum field value that would make a header with `stored` in its field sum
/// to `0xffff`, given that it sums to `sum` now: tcpdump's `in_cksum_shouldbe`, the
/// stored value plus the checksum of the whole (one's complement, end-around carry).
/// Its zero is `0xffff` where the two representations of zero differ.
fn should_be(stored: u16, sum: u16) -> u16 {
    let mut v = u32::from(stored) + u32::from(!sum);
    v = (v & 0xffff) + (v >> 16);
    v = (v & 0xffff) + (v >> 16);
    v as u16
}

/// tcpdump's names for IP protocol numbers in `proto NAME (N)` (`-v`).
fn ip_proto_name(proto: u8) -> &'static str {
    match proto {
        0 => "Options",
        1 => "ICMP",
        2 => "IGMP",
        4 => "IPIP",
        6 => "TCP",
        8 => "EGP",
        9 => "IGRP",
        17 => "UDP",
        33 => "DCCP",
        41 => "IPv6",
        43 => "Routing",
        44 => "Fragment",
        46 => "RSVP",
        47 => "GRE",
        50 => "ESP",
        51 => "AH",
        55 => "Mobile IP",
        58 => "ICMPv6",
        88 => "EIGRP",
        89 => "OSPF",
        103 => "PIM",
        108 => "Compressed IP",
        112 => "VRRP",
        113 => "PGM",
        132 => "SCTP",
        135 => "Mobility",
        143 => "Ethernet",
        _ => "unknown",
    }
}

/// An address as tcpdump prints it, which is `inet_ntop`'s form: like Rust's, except
/// that an IPv6 address whose first 96 bits are zero (and the next 16 not) takes the
/// deprecated IPv4-compatible form `::192.0.2.1`.
#[derive(Clone, Copy)]
struct Ip(IpAddr);

impl fmt::Display for Ip {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            IpAddr::V6(a) if a.segments()[..6] == [0; 6] && a.segments()[6] != 0 => {
                let o = a.octets();
                write!(f, "::{}.{}.{}.{}", o[12], o[13], o[14], o[15])
            }
            a => write!(f, "{a}"),
        }
    }
}

/// Bounds-checked big-endian reads that stop the printer with ` [|proto]` when the
/// capture ends first, as tcpdump's `GET_` macros do.
#[derive(Clone, Copy)]
struct Bytes<'a> {
    b: &'a [u8],
    proto: &'static str,
}

impl<'a> Bytes<'a> {
    fn new(b: &'a [u8], proto: &'static str) -> Bytes<'a> {
        Bytes { b, proto }
    }

    fn get<const N: usize>(&self, at: usize) -> Result<[u8; N], Halt> {
        at.checked_add(N)
            .and_then(|end| self.b.get(at..end))
            .and_then(|s| s.try_into().ok())
            .ok_or(Halt::Trunc(self.proto))
    }

    fn u8(&self, at: usize) -> Result<u8, Halt> {
        Ok(self.get::<1>(at)?[0])
    }

    fn u16(&self, at: usize) -> Result<u16, Halt> {
        Ok(u16::from_be_bytes(self.get(at)?))
    }

    fn u32(&self, at: usize) -> Result<u32, Halt> {
        Ok(u32::from_be_bytes(self.get(at)?))
    }

    fn v4(&self, at: usize) -> Result<Ipv4Addr, Halt> {
        Ok(Ipv4Addr::from(self.get::<4>(at)?))
    }

    fn v6(&self, at: usize) -> Result<Ip, Halt> {
        Ok(Ip(IpAddr::V6(Ipv6Addr::from(self.get::<16>(at)?))))
    }
}

#[cfg(test)]
mod tests;
