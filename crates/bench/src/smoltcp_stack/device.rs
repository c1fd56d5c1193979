//! [`LinkEnd`]: one side of a [`Link`] as a smoltcp `phy::Device`.
//!
//! Medium IP (raw IPv4 packets), the link's MTU, and smoltcp's default
//! `ChecksumCapabilities`: IPv4 and TCP checksums computed on transmit and verified on
//! receive, in software.

use smoltcp::phy::{self, Device, DeviceCapabilities, Medium};
use smoltcp::time::Instant;

use crate::link::{Link, Packet, Pipe};

/// One side of the link, borrowed for one `Interface::poll`.
#[derive(Debug)]
pub struct LinkEnd<'l> {
    rx: &'l mut Pipe,
    tx: &'l mut Pipe,
}

impl<'l> LinkEnd<'l> {
    /// Side A (the client): receives from `b_to_a`, transmits into `a_to_b`.
    pub fn a(link: &'l mut Link) -> Self {
        LinkEnd {
            rx: &mut link.b_to_a,
            tx: &mut link.a_to_b,
        }
    }

    /// Side B (the server): receives from `a_to_b`, transmits into `b_to_a`.
    pub fn b(link: &'l mut Link) -> Self {
        LinkEnd {
            rx: &mut link.a_to_b,
            tx: &mut link.b_to_a,
        }
    }
}

/// A received packet; its buffer goes back to the pipe it came from.
#[derive(Debug)]
pub struct Rx<'p> {
    pkt: Packet,
    pipe: &'p mut Pipe,
}

/// Permission to transmit one packet into a pipe.
#[derive(Debug)]
pub struct Tx<'p> {
    pipe: &'p mut Pipe,
}

impl phy::RxToken for Rx<'_> {
    fn consume<R, F: FnOnce(&[u8]) -> R>(self, f: F) -> R {
        let r = f(self.pkt.bytes());
        self.pipe.recycle(self.pkt.into_buf());
        r
    }
}

impl phy::TxToken for Tx<'_> {
    fn consume<R, F: FnOnce(&mut [u8]) -> R>(self, len: usize, f: F) -> R {
        let mut buf = self.pipe.take_buf();
        if buf.len() < len {
            // smoltcp never asks for more than the MTU it was given; grow rather than
            // panic should that change.
            buf.resize(len, 0);
        }
        let r = f(&mut buf[..len]);
        self.pipe.push(buf, len);
        r
    }
}

impl Device for LinkEnd<'_> {
    type RxToken<'a>
        = Rx<'a>
    where
        Self: 'a;
    type TxToken<'a>
        = Tx<'a>
    where
        Self: 'a;

    fn receive(&mut self, _now: Instant) -> Option<(Rx<'_>, Tx<'_>)> {
        let pkt = self.rx.pop()?;
        Some((
            Rx {
                pkt,
                pipe: &mut *self.rx,
            },
            Tx {
                pipe: &mut *self.tx,
            },
        ))
    }

    fn transmit(&mut self, _now: Instant) -> Option<Tx<'_>> {
        Some(Tx {
            pipe: &mut *self.tx,
        })
    }

    fn capabilities(&self) -> DeviceCapabilities {
        let mut caps = DeviceCapabilities::default();
        caps.medium = Medium::Ip;
        caps.max_transmission_unit = self.tx.mtu();
        // `caps.checksum` stays at its default: compute and verify everything.
        caps
    }
}
