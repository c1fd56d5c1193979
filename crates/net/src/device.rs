//! [`Device`]: what the runtime needs from a packet device — non-blocking reads and
//! writes of whole IP packets and a descriptor to wait on with `poll(2)`.
//! [`Tun`](crate::tun::Tun) is one; a test double or a future `AF_PACKET` or
//! vnet-header device is another.

use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};

/// A non-blocking device of IP packets.
pub trait Device: AsRawFd + Send + 'static {
    /// Reads one packet into `buf`; `WouldBlock` when none is waiting.
    fn recv(&mut self, buf: &mut [u8]) -> io::Result<usize>;

    /// Reads one packet into `buf` and what the device vouched for (a checksum it
    /// verified, or one that never needed verifying): the runtime passes both to
    /// [`layer4::Stack::handle_packet_offloaded`]. The default vouches for nothing.
    fn recv_offloaded(&mut self, buf: &mut [u8]) -> io::Result<(usize, layer4::RxOffload)> {
        self.recv(buf).map(|n| (n, layer4::RxOffload::NONE))
    }

    /// Writes one packet; `WouldBlock` when the device cannot take it now.
    fn send(&mut self, packet: &[u8]) -> io::Result<usize>;

    /// Whether the device segments TCP super-packets itself ([`Device::send_tso`]):
    /// the runtime then joins consecutive segments of a connection
    /// ([`crate::gso::Coalescer`]) and writes them at once.
    fn tso(&self) -> bool {
        false
    }

    /// A second handle on the same device that a thread of its own writes with
    /// (the runtime's transmit thread, `tx_thread`), or `None` (the default): the
    /// runtime then writes from its own thread.
    fn writer(&self) -> io::Result<Option<Self>>
    where
        Self: Sized,
    {
        Ok(None)
    }

    /// Writes a TCP super-packet the device cuts into `hdr.gso_size`-byte segments
    /// (checksum left partial as `hdr` says). Only called when [`Device::tso`].
    fn send_tso(&mut self, packet: &[u8], hdr: &crate::vnet::VnetHdr) -> io::Result<usize> {
        let _ = (packet, hdr);
        Err(io::Error::from(io::ErrorKind::Unsupported))
    }
}

/// One end of a pair of connected `AF_UNIX` sequenced-packet sockets, as a
/// [`Device`]: what one end sends, the other receives, packet by packet. Two
/// runtimes on the two ends talk to each other without a TUN and without privileges
/// (tests, examples, two stacks in one process).
///
/// `SOCK_SEQPACKET`, not `SOCK_DGRAM`: Linux queues at most `net.unix.max_dgram_qlen`
/// (10 by default) datagrams on a datagram socket, so a burst of 11 segments lost one,
/// a wire far lossier than any TUN; a sequenced-packet socket keeps message
/// boundaries and queues by bytes (the socket buffer, ~200 KiB).
///
/// Dropping one end (its runtime) unplugs the link for the other: what it sends
/// is lost (counted as refused), it receives nothing more, and its runtime goes on
/// (its connections time out as over a dead link) instead of stopping on the
/// socket's `ECONNRESET` or spinning on its end of file.
///
/// The link loses nothing unless told to: [`DatagramDevice::dropping_every`]
/// makes an end lose every n-th packet it sends.
#[derive(Debug)]
pub struct DatagramDevice {
    sock: std::os::unix::net::UnixStream,
    /// Once the other end is gone: an eventfd never written, polled instead of
    /// the socket (which would report its hang-up at every `poll`).
    unplugged: Option<OwnedFd>,
    /// Every this many packets sent, one is lost (`0`: none).
    drop_every: u64,
    /// Sends attempted so far (those lost included).
    sent: u64,
}

impl DatagramDevice {
    /// Two connected, non-blocking ends.
    pub fn pair() -> io::Result<(DatagramDevice, DatagramDevice)> {
        let mut fds: [libc::c_int; 2] = [-1, -1];
        // SAFETY: socketpair writes two descriptors into `fds`, which has room for two,
        // and touches nothing else.
        let r = unsafe {
            libc::socketpair(
                libc::AF_UNIX,
                libc::SOCK_SEQPACKET | libc::SOCK_NONBLOCK | libc::SOCK_CLOEXEC,
                0,
                fds.as_mut_ptr(),
            )
        };
        if r < 0 {
            return Err(io::Error::last_os_error());
        }
        // SAFETY: both descriptors were just created by socketpair and are owned by
        // nobody else; each is wrapped exactly once.
        let (a, b) = unsafe { (OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1])) };
        // A sequenced-packet socket reads and writes one whole message per call,
        // which is what `UnixStream`'s `read` / `write` do on it.
        let end = |fd| DatagramDevice {
            sock: std::os::unix::net::UnixStream::from(fd),
            unplugged: None,
            drop_every: 0,
            sent: 0,
        };
        Ok((end(a), end(b)))
    }

    /// This end, losing every `n`-th packet it sends (the `n`-th, the `2n`-th,
    /// ...; `0`: none): a lossy link for tests, the same losses on every run. A
    /// lost packet is reported sent.
    pub fn dropping_every(mut self, n: u64) -> DatagramDevice {
        self.drop_every = n;
        self
    }

    /// The other end is gone: from now on, wait on a descriptor that never
    /// becomes ready.
    fn unplug(&mut self) -> io::Result<()> {
        // SAFETY: eventfd(2) takes no pointers; the result is checked before use.
        let fd = unsafe { libc::eventfd(0, libc::EFD_NONBLOCK | libc::EFD_CLOEXEC) };
        if fd < 0 {
            return Err(io::Error::last_os_error());
        }
        // SAFETY: `fd` was just returned by eventfd(2) and is owned by nobody else.
        self.unplugged = Some(unsafe { OwnedFd::from_raw_fd(fd) });
        Ok(())
    }
}

impl AsRawFd for DatagramDevice {
    fn as_raw_fd(&self) -> std::os::fd::RawFd {
        match &self.unplugged {
            Some(fd) => fd.as_raw_fd(),
            None => self.sock.as_raw_fd(),
        }
    }
}

impl Device for DatagramDevice {
    fn recv(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.unplugged.is_some() {
            return Err(io::ErrorKind::WouldBlock.into());
        }
        loop {
            match io::Read::read(&mut self.sock, buf) {
                // The other end was closed with packets unread: reported once,
                // before the packets still queued here.
                Err(e) if e.kind() == io::ErrorKind::ConnectionReset => continue,
                // The end of file: the other end is gone (the stack never sends
                // an empty packet).
                Ok(0) if !buf.is_empty() => {
                    self.unplug()?;
                    return Err(io::ErrorKind::WouldBlock.into());
                }
                r => return r,
            }
        }
    }

    fn send(&mut self, packet: &[u8]) -> io::Result<usize> {
        if self.drop_every != 0 {
            self.sent += 1;
            if self.sent % self.drop_every == 0 {
                return Ok(packet.len());
            }
        }
        io::Write::write(&mut self.sock, packet)
    }
}
