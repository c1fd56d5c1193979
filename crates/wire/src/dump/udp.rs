//! UDP as tcpdump's `udp_print` prints it.

use crate::checksum;
use crate::ip::IpProtocol;

use super::{should_be, Bytes, Ctx, Halt, Out, Printer};

impl Printer<'_, '_> {
    /// tcpdump's `udpipaddr_print`: addresses and ports, or the ports alone after an
    /// IPv6 extension header, or the addresses alone when the ports were not captured.
    fn udp_addrs(&mut self, ctx: &Ctx, ports: Option<(u16, u16)>) -> Out {
        match (ctx.direct, ports) {
            (true, Some((sport, dport))) => {
                self.fmt(format_args!("{}.{sport} > {}.{dport}: ", ctx.src, ctx.dst))
            }
            (true, None) => self.fmt(format_args!("{} > {}: ", ctx.src, ctx.dst)),
            (false, Some((sport, dport))) => self.fmt(format_args!("{sport} > {dport}: ")),
            (false, None) => Ok(()),
        }
    }

    /// A UDP datagram: `cap` the captured bytes, `length` its length according to the
    /// IP header.
    pub(super) fn udp(&mut self, cap: &[u8], length: usize, ctx: Ctx) -> Out {
        let b = Bytes::new(cap, "udp");
        if cap.len() < 4 {
            self.udp_addrs(&ctx, None)?;
            return Err(Halt::Trunc("udp"));
        }
        let ports = (b.u16(0)?, b.u16(2)?);
        self.udp_addrs(&ctx, Some(ports))?;
        if length < 8 {
            return self.fmt(format_args!("truncated-udp {length}"));
        }
        let ulen = usize::from(b.u16(4)?);
        //= https://www.rfc-editor.org/rfc/rfc768
        //# Length  is the length  in octets  of this user datagram  including  this
        //# header  and the data.   (This  means  the minimum value of the length is
        //# eight.)
        if ulen < 8 {
            return self.fmt(format_args!("truncated-udplength {ulen}"));
        }
        let data_len = ulen - 8;
        let ip_data_len = (length - 8).min(data_len);
        if cap.len() < 8 {
            return Err(Halt::Trunc("udp"));
        }
        if self.verbose && !ctx.fragmented {
            // tcpdump -v checks UDP checksums over IPv6 only (over IPv4 from -vv).
            if let (true, Some(datagram)) = (ctx.src.0.is_ipv6(), cap.get(..ip_data_len + 8)) {
                let stored = b.u16(6)?;
                let pseudo = ctx
                    .pseudo_pair()
                    .map(|pair| pair.pseudo_header(IpProtocol::Udp, datagram.len()));
                if let Some(pseudo) = pseudo {
                    let sum = checksum::combine(&[pseudo, checksum::data(datagram)]);
                    if sum == 0xffff {
                        self.w("[udp sum ok] ")?;
                    } else {
                        self.fmt(format_args!(
                            "[bad udp cksum 0x{stored:04x} -> 0x{:04x}!] ",
                            should_be(stored, sum)
                        ))?;
                    }
                }
            }
        }
        if data_len > ip_data_len && !ctx.fragmented {
            self.fmt(format_args!("UDP, bad length {data_len} > {ip_data_len}"))
        } else {
            self.fmt(format_args!("UDP, length {data_len}"))
        }
    }
}
