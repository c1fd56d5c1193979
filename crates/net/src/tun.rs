//! [`Tun`]: a Linux TUN device (`IFF_TUN | IFF_NO_PI`): one IP packet per read and
//! per write, no packet-information header, non-blocking. [`Tun::open_offload`]
//! adds `IFF_VNET_HDR` and TCP offloads (`crate::vnet_io`): reads then bring TCP
//! super-packets of up to 64 KB, and the runtime writes super-packets the kernel
//! segments (see [`crate::gso`]).
//!
//! Creating a device needs `CAP_NET_ADMIN` (root). [`Tun::open`] creates the
//! interface, or attaches to an existing one of that name (made with
//! `ip tuntap add dev NAME mode tun`); the interface lives in the network namespace
//! of the thread that opens it and disappears with its last file descriptor unless
//! it was made persistent by someone else.
//!
//! The interface settings (MTU, up, the kernel's own IPv4 address on the link) are
//! set with the classic `SIOCSIF*` ioctls on an `AF_INET` datagram socket, the way
//! `ifconfig` does; the kernel's IPv6 address through rtnetlink (`crate::netlink`);
//! no `ip` command is run.

use std::ffi::CStr;
use std::io;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, FromRawFd, OwnedFd, RawFd};

use crate::device::Device;

/// A TUN device opened with `IFF_TUN | IFF_NO_PI`, in non-blocking mode.
#[derive(Debug)]
pub struct Tun {
    pub(crate) fd: OwnedFd,
    name: String,
    /// Opened with `IFF_VNET_HDR` and TCP offloads ([`Tun::open_offload`]).
    pub(crate) offload: bool,
    /// Packets read with a `virtio_net_hdr` the runtime cannot use (dropped).
    pub(crate) rx_vnet_errors: std::sync::atomic::AtomicU64,
}

/// Adds what was being done to an OS error, keeping its kind.
pub(crate) fn context(what: impl std::fmt::Display) -> impl FnOnce(io::Error) -> io::Error {
    move |e| io::Error::new(e.kind(), format!("{what}: {e}"))
}

/// `Ok(r)` for a non-negative syscall result, else the OS error.
pub(crate) fn check(r: libc::c_int) -> io::Result<libc::c_int> {
    if r < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(r)
    }
}

/// A zeroed `ifreq` naming `name`.
fn ifreq_for(name: &str) -> io::Result<libc::ifreq> {
    let bytes = name.as_bytes();
    if bytes.len() >= libc::IFNAMSIZ || bytes.contains(&0) {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!(
                "interface name {name:?} must be shorter than {} bytes, without NUL",
                libc::IFNAMSIZ
            ),
        ));
    }
    // SAFETY: `ifreq` is a plain C struct (a byte array and a union of integers,
    // sockaddrs and a pointer) for which all-zero bytes are a valid value.
    let mut ifr: libc::ifreq = unsafe { std::mem::zeroed() };
    for (dst, &src) in ifr.ifr_name.iter_mut().zip(bytes) {
        *dst = src as libc::c_char;
    }
    Ok(ifr)
}

/// An `AF_INET` datagram socket for the interface ioctls.
fn ioctl_socket() -> io::Result<OwnedFd> {
    // SAFETY: socket(2) takes no pointers; the result is checked before use.
    let fd =
        check(unsafe { libc::socket(libc::AF_INET, libc::SOCK_DGRAM | libc::SOCK_CLOEXEC, 0) })
            .map_err(context("socket(AF_INET, SOCK_DGRAM)"))?;
    // SAFETY: `fd` was just returned by socket(2) and is owned by nobody else.
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}

/// Runs an interface ioctl that reads or writes `ifr`.
fn ifreq_ioctl(
    fd: RawFd,
    request: libc::c_ulong,
    ifr: &mut libc::ifreq,
    what: &str,
) -> io::Result<()> {
    // SAFETY: every request passed here (TUNSETIFF, SIOC[GS]IF*) reads or writes at
    // most one `struct ifreq`, and `ifr` is a valid, exclusively borrowed one.
    check(unsafe { libc::ioctl(fd, request as _, ifr as *mut libc::ifreq) })
        .map(drop)
        .map_err(context(what))
}

fn ipv4_sockaddr(addr: Ipv4Addr) -> libc::sockaddr {
    let sin = libc::sockaddr_in {
        sin_family: libc::AF_INET as libc::sa_family_t,
        sin_port: 0,
        sin_addr: libc::in_addr {
            s_addr: u32::from(addr).to_be(),
        },
        sin_zero: [0; 8],
    };
    // SAFETY: `sockaddr_in` and `sockaddr` are both 16-byte plain C structs; the
    // kernel reads the family field to interpret the rest, as C code does with a cast.
    unsafe { std::mem::transmute::<libc::sockaddr_in, libc::sockaddr>(sin) }
}

impl Tun {
    /// Creates the TUN interface `name`, or attaches to it if it exists (an empty
    /// name lets the kernel pick `tunN`). The descriptor is non-blocking and
    /// close-on-exec. The interface is down until [`Tun::set_up`].
    pub fn open(name: &str) -> io::Result<Tun> {
        Tun::open_flags(name, false)
    }

    /// Like [`Tun::open`], with offloads: `IFF_VNET_HDR` (a `virtio_net_hdr` before
    /// every packet, `TUNSETVNETHDRSZ` 10 bytes) and `TUNSETOFFLOAD` with
    /// `TUN_F_CSUM | TUN_F_TSO4 | TUN_F_TSO6`. The kernel then hands over TCP
    /// super-packets of up to 64 KB with partial checksums, and takes super-packets
    /// it cuts into segments itself. [`Tun::recv`] and [`Tun::send`] still deal in
    /// whole IP packets (completing the checksums the kernel left partial; a
    /// received TCP super-packet comes whole); [`Device::send_tso`] writes a
    /// super-packet; [`Tun::recv_vnet`] and [`Tun::send_vnet`] pass the header
    /// through untouched (forwarders).
    pub fn open_offload(name: &str) -> io::Result<Tun> {
        Tun::open_flags(name, true)
    }

    fn open_flags(name: &str, offload: bool) -> io::Result<Tun> {
        let path = c"/dev/net/tun";
        // SAFETY: `path` is a NUL-terminated string that outlives the call.
        let fd = check(unsafe {
            libc::open(
                path.as_ptr(),
                libc::O_RDWR | libc::O_NONBLOCK | libc::O_CLOEXEC,
            )
        })
        .map_err(context("open /dev/net/tun"))?;
        // SAFETY: `fd` was just returned by open(2) and is owned by nobody else.
        let fd = unsafe { OwnedFd::from_raw_fd(fd) };
        let mut ifr = ifreq_for(name)?;
        let vnet = if offload { libc::IFF_VNET_HDR } else { 0 };
        ifr.ifr_ifru.ifru_flags = (libc::IFF_TUN | libc::IFF_NO_PI | vnet) as libc::c_short;
        ifreq_ioctl(
            fd.as_raw_fd(),
            libc::TUNSETIFF as libc::c_ulong,
            &mut ifr,
            &format!("TUNSETIFF {name:?}"),
        )?;
        // SAFETY: the kernel wrote the interface name, NUL-terminated within
        // IFNAMSIZ bytes, into `ifr_name`.
        let actual = unsafe { CStr::from_ptr(ifr.ifr_name.as_ptr()) }
            .to_string_lossy()
            .into_owned();
        if offload {
            crate::vnet_io::enable_offloads(fd.as_raw_fd(), &actual)?;
        }
        Ok(Tun {
            fd,
            name: actual,
            offload,
            rx_vnet_errors: std::sync::atomic::AtomicU64::new(0),
        })
    }

    /// The interface name (what the kernel chose if the name given was empty).
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Sets the interface MTU (`SIOCSIFMTU`).
    pub fn set_mtu(&self, mtu: u16) -> io::Result<()> {
        let sock = ioctl_socket()?;
        let mut ifr = ifreq_for(&self.name)?;
        ifr.ifr_ifru.ifru_mtu = libc::c_int::from(mtu);
        ifreq_ioctl(
            sock.as_raw_fd(),
            libc::SIOCSIFMTU,
            &mut ifr,
            &format!("SIOCSIFMTU {} {mtu}", self.name),
        )
    }

    /// The interface MTU (`SIOCGIFMTU`).
    pub fn mtu(&self) -> io::Result<u16> {
        let sock = ioctl_socket()?;
        let mut ifr = ifreq_for(&self.name)?;
        ifreq_ioctl(
            sock.as_raw_fd(),
            libc::SIOCGIFMTU,
            &mut ifr,
            &format!("SIOCGIFMTU {}", self.name),
        )?;
        // SAFETY: SIOCGIFMTU wrote the `ifru_mtu` member of the union.
        let mtu = unsafe { ifr.ifr_ifru.ifru_mtu };
        Ok(u16::try_from(mtu).unwrap_or(u16::MAX))
    }

    /// Brings the interface up (`SIOCGIFFLAGS`, then `SIOCSIFFLAGS` with `IFF_UP`).
    pub fn set_up(&self) -> io::Result<()> {
        let sock = ioctl_socket()?;
        let mut ifr = ifreq_for(&self.name)?;
        ifreq_ioctl(
            sock.as_raw_fd(),
            libc::SIOCGIFFLAGS,
            &mut ifr,
            &format!("SIOCGIFFLAGS {}", self.name),
        )?;
        // SAFETY: SIOCGIFFLAGS wrote the `ifru_flags` member of the union.
        let flags = unsafe { ifr.ifr_ifru.ifru_flags };
        ifr.ifr_ifru.ifru_flags = flags | (libc::IFF_UP | libc::IFF_RUNNING) as libc::c_short;
        ifreq_ioctl(
            sock.as_raw_fd(),
            libc::SIOCSIFFLAGS,
            &mut ifr,
            &format!("SIOCSIFFLAGS {} up", self.name),
        )
    }

    /// Gives the *kernel's* side of the link an IPv4 address and prefix
    /// (`SIOCSIFADDR`, `SIOCSIFNETMASK`): the host then routes that prefix into the
    /// device, where the layer4 stack (with another address of the prefix) answers.
    pub fn set_ipv4_address(&self, addr: Ipv4Addr, prefix_len: u8) -> io::Result<()> {
        if prefix_len > 32 {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("IPv4 prefix length {prefix_len} is above 32"),
            ));
        }
        let mask = u32::MAX
            .checked_shl(32 - u32::from(prefix_len))
            .unwrap_or(0);
        let sock = ioctl_socket()?;
        let mut ifr = ifreq_for(&self.name)?;
        ifr.ifr_ifru.ifru_addr = ipv4_sockaddr(addr);
        ifreq_ioctl(
            sock.as_raw_fd(),
            libc::SIOCSIFADDR,
            &mut ifr,
            &format!("SIOCSIFADDR {} {addr}", self.name),
        )?;
        let mut ifr = ifreq_for(&self.name)?;
        ifr.ifr_ifru.ifru_netmask = ipv4_sockaddr(Ipv4Addr::from(mask));
        ifreq_ioctl(
            sock.as_raw_fd(),
            libc::SIOCSIFNETMASK,
            &mut ifr,
            &format!("SIOCSIFNETMASK {} /{prefix_len}", self.name),
        )
    }

    /// Gives the *kernel's* side of the link an IPv6 address and prefix
    /// (rtnetlink `RTM_NEWADDR`), and returns once the kernel takes packets for
    /// it: the host then routes that prefix into the device. Call it on a thread
    /// in the interface's network namespace, once the interface is up (the kernel
    /// runs IPv6 on it from then on, and needs an MTU of at least 1280).
    /// `AlreadyExists` if it has that address already.
    ///
    /// Why the wait: the kernel skips Duplicate Address Detection on a TUN
    /// (`IFF_NOARP`), but it completes a new address — clears its *tentative*
    /// flag and adds its local route — only once the link is ready, which the
    /// kernel learns asynchronously (link watch) after the device is opened and
    /// brought up. A packet for the address arriving before that is dropped
    /// (seen: the first datagram of `l4 nc -u` lost in about one run in ten).
    /// Binding a UDP socket to a tentative address fails with `EADDRNOTAVAIL`, so
    /// this retries such a bind every millisecond, for at most 2 s.
    /// (`IFA_F_NODAD` is not used for that reason: a "no DAD" address is never
    /// tentative, so nothing would show when its route arrives.)
    pub fn set_ipv6_address(&self, addr: Ipv6Addr, prefix_len: u8) -> io::Result<()> {
        let what = format!("RTM_NEWADDR {} {addr}/{prefix_len}", self.name);
        let index = crate::netlink::interface_index(&self.name)?;
        crate::netlink::add_address(index, IpAddr::V6(addr), prefix_len, false)
            .map_err(context(&what))?;
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(2);
        loop {
            match std::net::UdpSocket::bind((addr, 0)) {
                Ok(_) => return Ok(()),
                Err(e) if e.kind() == io::ErrorKind::AddrNotAvailable => {
                    if std::time::Instant::now() >= deadline {
                        return Err(io::Error::new(
                            io::ErrorKind::TimedOut,
                            format!("{what}: the address is still tentative after 2 s"),
                        ));
                    }
                    std::thread::sleep(std::time::Duration::from_millis(1));
                }
                Err(e) => return Err(context(&what)(e)),
            }
        }
    }

    /// Reads one packet. `WouldBlock` when none is waiting.
    pub fn recv(&self, buf: &mut [u8]) -> io::Result<usize> {
        if self.offload {
            return self.recv_offload(buf);
        }
        // SAFETY: `buf` is valid for writes of `buf.len()` bytes for the call.
        let n = unsafe { libc::read(self.fd.as_raw_fd(), buf.as_mut_ptr().cast(), buf.len()) };
        if n < 0 {
            return Err(io::Error::last_os_error());
        }
        Ok(n as usize)
    }

    /// Switches the descriptor between non-blocking (the default, what the runtime
    /// wants) and blocking reads and writes (`fcntl(F_SETFL)`), for simple
    /// one-thread-per-direction forwarders.
    pub fn set_nonblocking(&self, nonblocking: bool) -> io::Result<()> {
        let fd = self.fd.as_raw_fd();
        // SAFETY: fcntl(2) F_GETFL/F_SETFL on a descriptor we own; no pointers.
        let flags = check(unsafe { libc::fcntl(fd, libc::F_GETFL) })?;
        let flags = if nonblocking {
            flags | libc::O_NONBLOCK
        } else {
            flags & !libc::O_NONBLOCK
        };
        // SAFETY: as above.
        check(unsafe { libc::fcntl(fd, libc::F_SETFL, flags) }).map(drop)
    }

    /// Writes one packet.
    pub fn send(&self, packet: &[u8]) -> io::Result<usize> {
        if self.offload {
            return self.send_vnet(&crate::vnet::VnetHdr::default(), packet);
        }
        // SAFETY: `packet` is valid for reads of `packet.len()` bytes for the call.
        let n = unsafe { libc::write(self.fd.as_raw_fd(), packet.as_ptr().cast(), packet.len()) };
        if n < 0 {
            return Err(io::Error::last_os_error());
        }
        Ok(n as usize)
    }
}

impl AsFd for Tun {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.fd.as_fd()
    }
}

impl AsRawFd for Tun {
    fn as_raw_fd(&self) -> RawFd {
        self.fd.as_raw_fd()
    }
}

impl Device for Tun {
    fn recv(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        Tun::recv(self, buf)
    }

    fn recv_offloaded(&mut self, buf: &mut [u8]) -> io::Result<(usize, layer4::RxOffload)> {
        Tun::recv_offloaded(self, buf)
    }

    fn send(&mut self, packet: &[u8]) -> io::Result<usize> {
        Tun::send(self, packet)
    }

    fn tso(&self) -> bool {
        self.offload
    }

    /// With offloads, a duplicate of the descriptor: each write of a super-packet
    /// or an ACK runs the kernel's receive path in the writer, which the runtime's
    /// transmit thread then carries beside the reads (`tx_thread`).
    fn writer(&self) -> io::Result<Option<Tun>> {
        if !self.offload {
            return Ok(None);
        }
        let fd = self
            .fd
            .try_clone()
            .map_err(context(format!("dup {}", self.name)))?;
        Ok(Some(Tun {
            fd,
            name: self.name.clone(),
            offload: true,
            rx_vnet_errors: std::sync::atomic::AtomicU64::new(0),
        }))
    }

    fn send_tso(&mut self, packet: &[u8], hdr: &crate::vnet::VnetHdr) -> io::Result<usize> {
        if !self.offload {
            return Err(io::Error::from(io::ErrorKind::Unsupported));
        }
        self.send_vnet(hdr, packet)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn overlong_interface_name_is_invalid_input() {
        let e = ifreq_for("a-name-of-sixteen").unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::InvalidInput);
        assert!(ifreq_for("l4tun0").is_ok());
        assert!(ifreq_for("bad\0name").is_err());
    }

    #[test]
    fn ipv4_sockaddr_is_network_order() {
        let sa = ipv4_sockaddr(Ipv4Addr::new(10, 213, 0, 1));
        assert_eq!(sa.sa_family, libc::AF_INET as libc::sa_family_t);
        // sa_data: port (2 bytes) then the address in network order.
        let data: Vec<u8> = sa.sa_data[..6].iter().map(|&c| c as u8).collect();
        assert_eq!(data, [0, 0, 10, 213, 0, 1]);
    }
}
