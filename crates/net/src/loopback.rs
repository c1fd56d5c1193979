//! Packets a stack sends to one of its own addresses: handed back to it instead
//! of the device. Linux delivers them through `lo`, so a program's client reaches
//! its own server; a TUN (or a [`DatagramDevice`](crate::DatagramDevice)) would
//! not bring them back: the kernel on the other side of a TUN does not forward
//! a packet back out of the interface it came in on unless it routes, and the
//! other stack of a pair drops what is not addressed to it.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use layer4::time::Instant;
use layer4::Stack;

/// The next packet the stack has for the device, into `buf` (its length);
/// packets for the stack itself are handed back to it on the way, and what they
/// make it send is looked at in turn.
pub(crate) fn poll_outbound(stack: &mut Stack, now: Instant, buf: &mut [u8]) -> Option<usize> {
    loop {
        let n = stack.poll_transmit(now, buf)?;
        let packet = &buf[..n];
        if !destination(packet).is_some_and(|dst| stack.is_local(dst)) {
            return Some(n);
        }
        stack.handle_packet(now, packet);
    }
}

/// The destination address of an IPv4 or IPv6 packet (`None` if too short).
fn destination(packet: &[u8]) -> Option<IpAddr> {
    match packet.first()? >> 4 {
        4 => {
            let dst: [u8; 4] = packet.get(16..20)?.try_into().ok()?;
            Some(Ipv4Addr::from(dst).into())
        }
        6 => {
            let dst: [u8; 16] = packet.get(24..40)?.try_into().ok()?;
            Some(Ipv6Addr::from(dst).into())
        }
        _ => None,
    }
}
