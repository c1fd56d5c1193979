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

/// One end of a pair of connected `AF_UNIX` datagram sockets, as a [`Device`]: what
/// one end sends, the other receives, packet by packet. Two runtimes on the two
/// ends talk to each other without a TUN and without privileges (tests, examples,
/// two stacks in one process).
#[derive(Debug)]
pub struct DatagramDevice(std::os::unix::net::UnixDatagram);

impl DatagramDevice {
    /// Two connected, non-blocking ends.
    pub fn pair() -> io::Result<(DatagramDevice, DatagramDevice)> {
        let (a, b) = std::os::unix::net::UnixDatagram::pair()?;
        a.set_nonblocking(true)?;
        b.set_nonblocking(true)?;
        Ok((DatagramDevice(a), DatagramDevice(b)))
    }
}

impl AsRawFd for DatagramDevice {
    fn as_raw_fd(&self) -> std::os::fd::RawFd {
        self.0.as_raw_fd()
    }
}

impl Device for DatagramDevice {
    fn recv(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.0.recv(buf)
    }

    fn send(&mut self, packet: &[u8]) -> io::Result<usize> {
        self.0.send(packet)
    }
}
