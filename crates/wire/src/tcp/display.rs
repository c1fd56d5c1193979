//! tcpdump-style text for options and segments (`tcpdump -n -S -t`, TCP part).
//!
//! The wording follows tcpdump's `print-tcp.c`: `Flags [..]`, `seq A:B` (printed when
//! there is payload or SYN, FIN or RST), `ack N` (with ACK), `win N`, `urg N` (with
//! URG), `options [..]` (when there are any), and `length N` (the payload length).

use core::fmt;
use core::net::IpAddr;

use crate::ip::AddrPair;

use super::options::{TcpOption, TcpOptionIter};
use super::{TcpFlags, TcpOptions, TcpRepr};

impl fmt::Display for TcpOption<'_> {
    /// One option as tcpdump prints it inside `options [..]`: `mss 1460`, `sackOK`,
    /// `TS val 1 ecr 0`, `nop`, `wscale 7`, `sack 1 {100:200}`, `tfo  cookiereq`,
    /// `tfo  cookie 0102..`, `eol`, and `unknown-N 0x..` for other kinds (tcpdump
    /// names a few more kinds than this crate parses).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TcpOption::EndOfList => f.write_str("eol"),
            TcpOption::NoOperation => f.write_str("nop"),
            TcpOption::MaxSegmentSize(mss) => write!(f, "mss {mss}"),
            TcpOption::WindowScale(shift) => write!(f, "wscale {shift}"),
            TcpOption::SackPermitted => f.write_str("sackOK"),
            TcpOption::SackRange(blocks) => {
                write!(f, "sack {} ", blocks.len())?;
                for (left, right) in blocks.as_slice() {
                    write!(f, "{{{}:{}}}", left.0, right.0)?;
                }
                Ok(())
            }
            TcpOption::Timestamp { tsval, tsecr } => write!(f, "TS val {tsval} ecr {tsecr}"),
            TcpOption::FastOpen([]) => f.write_str("tfo  cookiereq"),
            TcpOption::FastOpen(cookie) => {
                f.write_str("tfo  cookie ")?;
                write_hex(f, cookie)
            }
            TcpOption::Unknown { kind, data } => {
                write!(f, "unknown-{kind}")?;
                if !data.is_empty() {
                    f.write_str(" 0x")?;
                    write_hex(f, data)?;
                }
                Ok(())
            }
        }
    }
}

fn write_hex(f: &mut fmt::Formatter<'_>, bytes: &[u8]) -> fmt::Result {
    bytes.iter().try_for_each(|b| write!(f, "{b:02x}"))
}

/// Print `options [..]` for raw option bytes, as tcpdump does; `[bad opt]` ends the
/// list at a malformed option.
fn write_option_bytes(f: &mut fmt::Formatter<'_>, bytes: &[u8]) -> fmt::Result {
    f.write_str(", options [")?;
    for (i, option) in TcpOptionIter::new(bytes).enumerate() {
        if i > 0 {
            f.write_str(",")?;
        }
        match option {
            Ok(option) => write!(f, "{option}")?,
            Err(_) => {
                f.write_str("[bad opt]")?;
                break;
            }
        }
    }
    f.write_str("]")
}

/// Print the options of a repr in the order emit writes them.
fn write_options(f: &mut fmt::Formatter<'_>, options: &TcpOptions) -> fmt::Result {
    let mut buf = [0u8; TcpOptions::MAX_LEN];
    let len = options.emit(&mut buf);
    if len == 0 {
        return Ok(());
    }
    write_option_bytes(f, &buf[..len])
}

/// Everything after `src > dst: `.
fn write_body(f: &mut fmt::Formatter<'_>, repr: &TcpRepr<'_>) -> fmt::Result {
    write!(f, "Flags {}", repr.flags)?;
    let len = repr.payload.len();
    if len > 0
        || repr
            .flags
            .intersects(TcpFlags::SYN | TcpFlags::FIN | TcpFlags::RST)
    {
        write!(f, ", seq {}", repr.seq_number.0)?;
        if len > 0 {
            write!(f, ":{}", (repr.seq_number + len).0)?;
        }
    }
    if repr.flags.contains(TcpFlags::ACK) {
        write!(f, ", ack {}", repr.ack_number.0)?;
    }
    write!(f, ", win {}", repr.window_len)?;
    if repr.flags.contains(TcpFlags::URG) {
        write!(f, ", urg {}", repr.urgent_pointer)?;
    }
    write_options(f, &repr.options)?;
    write!(f, ", length {len}")
}

impl fmt::Display for TcpRepr<'_> {
    /// `49152 > 80: Flags [S], seq 12345, win 65535, options [mss 1460,...], length 0`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} > {}: ", self.src_port, self.dst_port)?;
        write_body(f, self)
    }
}

/// A [`TcpRepr`] with its addresses, printed as tcpdump prints them.
struct WithAddrs<'b> {
    repr: &'b TcpRepr<'b>,
    addrs: &'b AddrPair,
}

fn write_endpoint(f: &mut fmt::Formatter<'_>, addr: IpAddr, port: u16) -> fmt::Result {
    write!(f, "{addr}.{port}")
}

impl fmt::Display for WithAddrs<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write_endpoint(f, self.addrs.src(), self.repr.src_port)?;
        f.write_str(" > ")?;
        write_endpoint(f, self.addrs.dst(), self.repr.dst_port)?;
        f.write_str(": ")?;
        write_body(f, self.repr)
    }
}

impl TcpRepr<'_> {
    /// The segment with its addresses, as tcpdump prints it:
    /// `10.0.0.1.49152 > 10.0.0.2.80: Flags [S], ...` or
    /// `2001:db8::1.49152 > 2001:db8::2.80: Flags [S], ...`.
    pub fn display_with<'b>(&'b self, addrs: &'b AddrPair) -> impl fmt::Display + 'b {
        WithAddrs { repr: self, addrs }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::seq::SeqNumber;
    use crate::tcp::testdata;
    use crate::tcp::{SackBlocks, TcpPacket, TcpTimestamp, TfoCookie};
    use crate::ChecksumMode;

    fn repr() -> TcpRepr<'static> {
        TcpRepr {
            src_port: 49152,
            dst_port: 80,
            seq_number: SeqNumber(12345),
            ack_number: SeqNumber(0),
            flags: TcpFlags::SYN,
            window_len: 65535,
            urgent_pointer: 0,
            options: TcpOptions {
                mss: Some(1460),
                sack_permitted: true,
                timestamp: Some(TcpTimestamp { tsval: 1, tsecr: 0 }),
                window_scale: Some(7),
                ..TcpOptions::new()
            },
            payload: &[],
        }
    }

    #[test]
    fn syn_prints_like_tcpdump() {
        assert_eq!(
            repr().to_string(),
            "49152 > 80: Flags [S], seq 12345, win 65535, \
             options [mss 1460,sackOK,TS val 1 ecr 0,nop,wscale 7], length 0"
        );
    }

    #[test]
    fn data_prints_seq_range_and_ack() {
        let payload = [0u8; 100];
        let data = TcpRepr {
            seq_number: SeqNumber(1000),
            ack_number: SeqNumber(5),
            flags: TcpFlags::ACK,
            window_len: 502,
            options: TcpOptions {
                timestamp: Some(TcpTimestamp { tsval: 3, tsecr: 4 }),
                ..TcpOptions::new()
            },
            payload: &payload,
            ..repr()
        };
        assert_eq!(
            data.to_string(),
            "49152 > 80: Flags [.], seq 1000:1100, ack 5, win 502, \
             options [nop,nop,TS val 3 ecr 4], length 100"
        );
    }

    #[test]
    fn pure_ack_has_no_seq_and_no_options_part_without_options() {
        let ack = TcpRepr {
            flags: TcpFlags::ACK,
            ack_number: SeqNumber(7),
            options: TcpOptions::new(),
            ..repr()
        };
        assert_eq!(
            ack.to_string(),
            "49152 > 80: Flags [.], ack 7, win 65535, length 0"
        );
    }

    #[test]
    fn ack_number_is_printed_only_with_ack() {
        let syn = TcpRepr {
            ack_number: SeqNumber(99),
            options: TcpOptions::new(),
            ..repr()
        };
        assert_eq!(
            syn.to_string(),
            "49152 > 80: Flags [S], seq 12345, win 65535, length 0"
        );
    }

    #[test]
    fn urgent_pointer_is_printed_with_urg() {
        let urg = TcpRepr {
            flags: TcpFlags::URG | TcpFlags::ACK | TcpFlags::PSH,
            urgent_pointer: 5,
            ack_number: SeqNumber(1),
            options: TcpOptions::new(),
            payload: b"!",
            ..repr()
        };
        assert_eq!(
            urg.to_string(),
            "49152 > 80: Flags [P.U], seq 12345:12346, ack 1, win 65535, urg 5, length 1"
        );
    }

    #[test]
    fn sack_and_tfo_print_like_tcpdump() {
        let sack = TcpRepr {
            flags: TcpFlags::ACK,
            ack_number: SeqNumber(100),
            options: TcpOptions {
                sack_ranges: SackBlocks::from_slice(&[(SeqNumber(100), SeqNumber(200))])
                    .expect("one"),
                ..TcpOptions::new()
            },
            ..repr()
        };
        assert_eq!(
            sack.to_string(),
            "49152 > 80: Flags [.], ack 100, win 65535, options [nop,nop,sack 1 {100:200}], length 0"
        );
        let tfo = TcpRepr {
            options: TcpOptions {
                fast_open: TfoCookie::new(&[0xde, 0xad, 0xbe, 0xef]),
                ..TcpOptions::new()
            },
            ..repr()
        };
        assert_eq!(
            tfo.to_string(),
            "49152 > 80: Flags [S], seq 12345, win 65535, \
             options [tfo  cookie deadbeef,nop,nop], length 0"
        );
    }

    #[test]
    fn options_print_in_emitted_order_with_only_the_sack_blocks_that_fit() {
        let mut r = repr();
        r.flags = TcpFlags::ACK;
        r.options = TcpOptions {
            timestamp: Some(TcpTimestamp { tsval: 9, tsecr: 8 }),
            sack_ranges: SackBlocks::from_slice(&[
                (SeqNumber(1), SeqNumber(2)),
                (SeqNumber(3), SeqNumber(4)),
                (SeqNumber(5), SeqNumber(6)),
                (SeqNumber(7), SeqNumber(8)),
            ])
            .expect("four"),
            ..TcpOptions::new()
        };
        assert_eq!(
            r.to_string(),
            "49152 > 80: Flags [.], ack 0, win 65535, \
             options [nop,nop,TS val 9 ecr 8,nop,nop,sack 3 {1:2}{3:4}{5:6}], length 0"
        );
    }

    #[test]
    fn captured_segments_print_exactly_as_tcpdump_printed_them() {
        for c in testdata::all() {
            let packet = TcpPacket::new_checked(&c.segment[..]).expect("whole header");
            let repr =
                TcpRepr::parse(&packet, &c.addrs, ChecksumMode::Enabled).expect("valid segment");
            assert_eq!(repr.display_with(&c.addrs).to_string(), c.tcpdump);
            let ports_only = c.tcpdump.split_once(": ").expect("has a colon").1;
            assert_eq!(
                repr.to_string(),
                format!("{} > {}: {ports_only}", repr.src_port, repr.dst_port)
            );
        }
    }

    #[test]
    fn unknown_and_malformed_options_print_like_tcpdump() {
        struct Raw<'a>(&'a [u8]);
        impl fmt::Display for Raw<'_> {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write_option_bytes(f, self.0)
            }
        }
        assert_eq!(
            Raw(&[99, 4, 0xab, 0xcd, 1, 200, 2, 0]).to_string(),
            ", options [unknown-99 0xabcd,nop,unknown-200,eol]"
        );
        assert_eq!(Raw(&[1, 2, 3]).to_string(), ", options [nop,[bad opt]]");
    }
}
