//! [`Device`]: what the runtime needs from a packet device — non-blocking reads and
//! writes of whole IP packets and a descriptor to wait on with `poll(2)`.
//! [`Tun`](crate::tun::Tun) is one; a test double or a future `AF_PACKET` or
//! vnet-header device is another.

use std::io;
use std::os::fd::AsRawFd;

/// A non-blocking device of IP packets.
pub trait Device: AsRawFd + Send + 'static {
    /// Reads one packet into `buf`; `WouldBlock` when none is waiting.
    fn recv(&mut self, buf: &mut [u8]) -> io::Result<usize>;

    /// Writes one packet; `WouldBlock` when the device cannot take it now.
    fn send(&mut self, packet: &[u8]) -> io::Result<usize>;
}
