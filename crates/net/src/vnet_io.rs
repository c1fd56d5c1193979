//! The syscalls of a TUN opened with offloads ([`Tun::open_offload`]): enabling
//! them, and reading and writing a packet behind its `virtio_net_hdr` with
//! `readv`/`writev` (no copy to put the header in front).

use std::io;
use std::os::fd::{AsRawFd, RawFd};
use std::sync::atomic::Ordering;

use layer4::RxOffload;

use crate::tun::{check, context, Tun};
use crate::vnet::{self, VnetHdr, VNET_HDR_LEN};

/// The offloads asked for: checksums and TCP segmentation both ways, IPv4 and IPv6
/// (no UDP segmentation: the stack sends datagrams one by one).
const OFFLOADS: libc::c_uint = libc::TUN_F_CSUM | libc::TUN_F_TSO4 | libc::TUN_F_TSO6;

/// `TUNSETVNETHDRSZ` to the 10-byte header, then `TUNSETOFFLOAD`.
pub(crate) fn enable_offloads(fd: RawFd, name: &str) -> io::Result<()> {
    let size = VNET_HDR_LEN as libc::c_int;
    // SAFETY: TUNSETVNETHDRSZ reads one `int` through the pointer, which points to a
    // live one.
    check(unsafe { libc::ioctl(fd, libc::TUNSETVNETHDRSZ as _, &size as *const libc::c_int) })
        .map_err(context(format!("TUNSETVNETHDRSZ {name}")))?;
    // SAFETY: TUNSETOFFLOAD takes its argument by value (an unsigned long of flags);
    // no memory is read or written.
    check(unsafe { libc::ioctl(fd, libc::TUNSETOFFLOAD as _, libc::c_ulong::from(OFFLOADS)) })
        .map_err(context(format!("TUNSETOFFLOAD {name}")))?;
    Ok(())
}

impl Tun {
    /// Whether the device was opened with offloads ([`Tun::open_offload`]).
    pub fn offload(&self) -> bool {
        self.offload
    }

    /// Packets read that [`Tun::recv`] dropped because their `virtio_net_hdr`
    /// asked for something this crate does not do (a GSO type not enabled, a
    /// checksum offset beyond the packet).
    pub fn rx_vnet_errors(&self) -> u64 {
        self.rx_vnet_errors.load(Ordering::Relaxed)
    }

    /// Reads one packet and its `virtio_net_hdr` (offload devices only): the
    /// header as the kernel wrote it and the packet's length in `buf`.
    pub fn recv_vnet(&self, buf: &mut [u8]) -> io::Result<(VnetHdr, usize)> {
        let mut hdr = [0u8; VNET_HDR_LEN];
        let iov = [
            libc::iovec {
                iov_base: hdr.as_mut_ptr().cast(),
                iov_len: hdr.len(),
            },
            libc::iovec {
                iov_base: buf.as_mut_ptr().cast(),
                iov_len: buf.len(),
            },
        ];
        // SAFETY: both iovecs point to live, exclusively borrowed buffers of the
        // lengths given, for the duration of the call.
        let n = unsafe { libc::readv(self.fd.as_raw_fd(), iov.as_ptr(), 2) };
        if n < 0 {
            return Err(io::Error::last_os_error());
        }
        let n = n as usize;
        if n < VNET_HDR_LEN {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                format!("TUN read of {n} bytes is shorter than a virtio_net_hdr"),
            ));
        }
        Ok((VnetHdr::parse(&hdr), n - VNET_HDR_LEN))
    }

    /// Writes one packet behind `hdr` (offload devices only). Returns the packet
    /// bytes written.
    pub fn send_vnet(&self, hdr: &VnetHdr, packet: &[u8]) -> io::Result<usize> {
        let hdr = hdr.emit();
        let iov = [
            libc::iovec {
                iov_base: hdr.as_ptr() as *mut libc::c_void,
                iov_len: hdr.len(),
            },
            libc::iovec {
                iov_base: packet.as_ptr() as *mut libc::c_void,
                iov_len: packet.len(),
            },
        ];
        // SAFETY: both iovecs point to live buffers of the lengths given; writev
        // only reads through them.
        let n = unsafe { libc::writev(self.fd.as_raw_fd(), iov.as_ptr(), 2) };
        if n < 0 {
            return Err(io::Error::last_os_error());
        }
        Ok((n as usize).saturating_sub(VNET_HDR_LEN))
    }

    /// [`Tun::recv`] on an offload device: reads until a packet the stack can take
    /// (checksum completed) or `WouldBlock`; packets with an unusable header are
    /// dropped and counted.
    pub(crate) fn recv_offload(&self, buf: &mut [u8]) -> io::Result<usize> {
        self.recv_offload_with(buf, |hdr, packet| {
            vnet::complete_rx(hdr, packet).map(|()| RxOffload::NONE)
        })
        .map(|(n, _)| n)
    }

    /// Reads one packet and what the device vouched for ([`vnet::receive`]: a TCP
    /// segment the local kernel left partial is passed as it is, unsummed), for
    /// [`layer4::Stack::handle_packet_offloaded`]. On a device without offloads,
    /// [`Tun::recv`] and nothing vouched for.
    pub fn recv_offloaded(&self, buf: &mut [u8]) -> io::Result<(usize, RxOffload)> {
        if !self.offload {
            return self.recv(buf).map(|n| (n, RxOffload::NONE));
        }
        self.recv_offload_with(buf, vnet::receive)
    }

    /// Reads until `prepare` accepts a packet, or `WouldBlock`; packets with an
    /// unusable header are dropped and counted.
    fn recv_offload_with(
        &self,
        buf: &mut [u8],
        prepare: impl Fn(&VnetHdr, &mut [u8]) -> Result<RxOffload, vnet::VnetError>,
    ) -> io::Result<(usize, RxOffload)> {
        loop {
            let (hdr, n) = match self.recv_vnet(buf) {
                Ok(r) => r,
                Err(e) if e.kind() == io::ErrorKind::InvalidData => {
                    self.rx_vnet_errors.fetch_add(1, Ordering::Relaxed);
                    continue;
                }
                Err(e) => return Err(e),
            };
            let Some(packet) = buf.get_mut(..n) else {
                continue;
            };
            match prepare(&hdr, packet) {
                Ok(offload) => return Ok((n, offload)),
                Err(_) => {
                    self.rx_vnet_errors.fetch_add(1, Ordering::Relaxed);
                }
            }
        }
    }
}
