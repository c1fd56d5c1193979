//! Interface addresses through rtnetlink: [`add_address`] sends one `RTM_NEWADDR`
//! request on a `NETLINK_ROUTE` socket and reads the kernel's acknowledgement.
//!
//! Why netlink and not `SIOCSIFADDR` on an `AF_INET6` socket (`struct in6_ifreq`):
//! netlink takes the address flags (`IFA_F_NODAD`, `IFA_F_NOPREFIXROUTE`, ...) and
//! answers with a precise error; `Tun::set_ipv6_address` says why it does not ask
//! for `IFA_F_NODAD` on a TUN.
//!
//! The message is built into a byte vector with native-endian fields (netlink's
//! byte order), so the encoding is testable without privileges; only the socket
//! calls are `unsafe`.

use std::io;
use std::net::IpAddr;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};

/// `NLMSG_ALIGN`: netlink messages and attributes are padded to 4 bytes.
fn align(n: usize) -> usize {
    (n + 3) & !3
}

/// Appends one route attribute (`struct rtattr` and its padded payload).
fn push_attr(msg: &mut Vec<u8>, kind: u16, payload: &[u8]) {
    let len = 4 + payload.len();
    msg.extend_from_slice(&(len as u16).to_ne_bytes());
    msg.extend_from_slice(&kind.to_ne_bytes());
    msg.extend_from_slice(payload);
    msg.resize(align(msg.len()), 0);
}

/// The `RTM_NEWADDR` request giving interface `ifindex` the address `addr/prefix_len`
/// (`IFA_LOCAL` and `IFA_ADDRESS` both `addr`: not a point-to-point peer address),
/// with `IFA_F_NODAD` when `nodad`; `seq` is echoed in the kernel's answer.
pub(crate) fn new_address_request(
    ifindex: u32,
    addr: IpAddr,
    prefix_len: u8,
    nodad: bool,
    seq: u32,
) -> Vec<u8> {
    let (family, octets): (u8, Vec<u8>) = match addr {
        IpAddr::V4(a) => (libc::AF_INET as u8, a.octets().to_vec()),
        IpAddr::V6(a) => (libc::AF_INET6 as u8, a.octets().to_vec()),
    };
    let flags = if nodad { libc::IFA_F_NODAD } else { 0 };
    let nl_flags = libc::NLM_F_REQUEST | libc::NLM_F_ACK | libc::NLM_F_CREATE | libc::NLM_F_EXCL;
    let mut msg = Vec::with_capacity(64);
    // struct nlmsghdr: the length is patched in at the end.
    msg.extend_from_slice(&0u32.to_ne_bytes());
    msg.extend_from_slice(&libc::RTM_NEWADDR.to_ne_bytes());
    msg.extend_from_slice(&(nl_flags as u16).to_ne_bytes());
    msg.extend_from_slice(&seq.to_ne_bytes());
    msg.extend_from_slice(&0u32.to_ne_bytes()); // nlmsg_pid: to the kernel
                                                // struct ifaddrmsg: family, prefix length, flags (the 8-bit field; the full
                                                // flags go in IFA_FLAGS), scope (universe), interface index.
    msg.extend_from_slice(&[family, prefix_len, flags as u8, 0]);
    msg.extend_from_slice(&ifindex.to_ne_bytes());
    push_attr(&mut msg, libc::IFA_LOCAL, &octets);
    push_attr(&mut msg, libc::IFA_ADDRESS, &octets);
    push_attr(&mut msg, libc::IFA_FLAGS, &flags.to_ne_bytes());
    let len = msg.len() as u32;
    msg[..4].copy_from_slice(&len.to_ne_bytes());
    msg
}

/// The outcome a kernel answer reports for request `seq`: `Some(Ok(()))` for an
/// acknowledgement, `Some(Err(errno))` for a refusal, `None` when `reply` is not
/// an `NLMSG_ERROR` message for `seq` (or is too short to be one).
pub(crate) fn parse_ack(reply: &[u8], seq: u32) -> Option<Result<(), i32>> {
    let word = |at: usize| -> Option<[u8; 4]> { reply.get(at..at + 4)?.try_into().ok() };
    let half = |at: usize| -> Option<[u8; 2]> { reply.get(at..at + 2)?.try_into().ok() };
    let kind = u16::from_ne_bytes(half(4)?);
    let got_seq = u32::from_ne_bytes(word(8)?);
    if i32::from(kind) != libc::NLMSG_ERROR || got_seq != seq {
        return None;
    }
    // struct nlmsgerr: a negative errno (0: acknowledged), then the request's header.
    let error = i32::from_ne_bytes(word(16)?);
    Some(if error == 0 { Ok(()) } else { Err(-error) })
}

/// The index of interface `name` (`if_nametoindex(3)`).
pub(crate) fn interface_index(name: &str) -> io::Result<u32> {
    let cname = std::ffi::CString::new(name)
        .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "interface name has a NUL"))?;
    // SAFETY: `cname` is a NUL-terminated string that outlives the call.
    let index = unsafe { libc::if_nametoindex(cname.as_ptr()) };
    if index == 0 {
        let e = io::Error::last_os_error();
        return Err(io::Error::new(e.kind(), format!("interface {name}: {e}")));
    }
    Ok(index)
}

/// Gives interface `ifindex` the address `addr/prefix_len`; `nodad` skips
/// Duplicate Address Detection for IPv6 (`IFA_F_NODAD`). `AlreadyExists` if the
/// interface has that address already.
pub(crate) fn add_address(
    ifindex: u32,
    addr: IpAddr,
    prefix_len: u8,
    nodad: bool,
) -> io::Result<()> {
    let max = if addr.is_ipv4() { 32 } else { 128 };
    if prefix_len > max {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("prefix length {prefix_len} is above {max}"),
        ));
    }
    // SAFETY: socket(2) takes no pointers; the result is checked before use.
    let fd = unsafe {
        libc::socket(
            libc::AF_NETLINK,
            libc::SOCK_RAW | libc::SOCK_CLOEXEC,
            libc::NETLINK_ROUTE,
        )
    };
    if fd < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: `fd` was just returned by socket(2) and is owned by nobody else.
    let sock = unsafe { OwnedFd::from_raw_fd(fd) };
    let seq = 1;
    let msg = new_address_request(ifindex, addr, prefix_len, nodad, seq);
    // SAFETY: `sockaddr_nl` is a plain C struct for which all-zero bytes are valid.
    let mut kernel: libc::sockaddr_nl = unsafe { std::mem::zeroed() };
    kernel.nl_family = libc::AF_NETLINK as libc::sa_family_t;
    // SAFETY: `msg` is valid for reads of its length and `kernel` is a live
    // `sockaddr_nl` whose size is passed with it.
    let sent = unsafe {
        libc::sendto(
            sock.as_raw_fd(),
            msg.as_ptr().cast(),
            msg.len(),
            0,
            (&kernel as *const libc::sockaddr_nl).cast(),
            std::mem::size_of::<libc::sockaddr_nl>() as libc::socklen_t,
        )
    };
    if sent < 0 {
        return Err(io::Error::last_os_error());
    }
    let mut reply = [0u8; 1024];
    loop {
        // SAFETY: `reply` is valid for writes of its length for the call.
        let n = unsafe { libc::recv(sock.as_raw_fd(), reply.as_mut_ptr().cast(), reply.len(), 0) };
        if n < 0 {
            let e = io::Error::last_os_error();
            if e.kind() == io::ErrorKind::Interrupted {
                continue;
            }
            return Err(e);
        }
        match parse_ack(reply.get(..n as usize).unwrap_or_default(), seq) {
            Some(Ok(())) => return Ok(()),
            Some(Err(errno)) => return Err(io::Error::from_raw_os_error(errno)),
            // Not our answer (nothing else is subscribed, but be strict).
            None if n > 0 => continue,
            None => return Err(io::Error::other("netlink: the kernel closed the socket")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::Ipv6Addr;

    #[test]
    fn new_address_request_is_header_ifaddrmsg_and_three_attributes() {
        let a: Ipv6Addr = "fd00:213::1".parse().unwrap();
        let m = new_address_request(7, IpAddr::V6(a), 64, true, 9);
        // 16 header + 8 ifaddrmsg + (4 + 16) IFA_LOCAL + (4 + 16) IFA_ADDRESS + 8 IFA_FLAGS.
        assert_eq!(m.len(), 16 + 8 + 20 + 20 + 8);
        assert_eq!(u32::from_ne_bytes(m[0..4].try_into().unwrap()), 72);
        assert_eq!(
            u16::from_ne_bytes(m[4..6].try_into().unwrap()),
            libc::RTM_NEWADDR
        );
        assert_eq!(u32::from_ne_bytes(m[8..12].try_into().unwrap()), 9);
        assert_eq!(m[16], libc::AF_INET6 as u8);
        assert_eq!(m[17], 64);
        assert_eq!(u32::from_ne_bytes(m[20..24].try_into().unwrap()), 7);
        assert_eq!(
            u16::from_ne_bytes(m[26..28].try_into().unwrap()),
            libc::IFA_LOCAL
        );
        assert_eq!(&m[28..44], &a.octets());
        assert_eq!(
            u16::from_ne_bytes(m[46..48].try_into().unwrap()),
            libc::IFA_ADDRESS
        );
        assert_eq!(
            u16::from_ne_bytes(m[66..68].try_into().unwrap()),
            libc::IFA_FLAGS
        );
        assert_eq!(
            u32::from_ne_bytes(m[68..72].try_into().unwrap()),
            libc::IFA_F_NODAD
        );
    }

    #[test]
    fn an_ipv4_request_pads_nothing_and_has_no_nodad() {
        let m = new_address_request(2, IpAddr::V4([10, 0, 0, 1].into()), 24, false, 1);
        assert_eq!(m.len(), 16 + 8 + 8 + 8 + 8);
        assert_eq!(m[16], libc::AF_INET as u8);
        assert_eq!(&m[28..32], &[10, 0, 0, 1]);
        assert_eq!(&m[44..48], &[0, 0, 0, 0]);
    }

    fn error_message(seq: u32, error: i32) -> Vec<u8> {
        let mut m = Vec::new();
        m.extend_from_slice(&36u32.to_ne_bytes());
        m.extend_from_slice(&(libc::NLMSG_ERROR as u16).to_ne_bytes());
        m.extend_from_slice(&0u16.to_ne_bytes());
        m.extend_from_slice(&seq.to_ne_bytes());
        m.extend_from_slice(&0u32.to_ne_bytes());
        m.extend_from_slice(&error.to_ne_bytes());
        m.extend_from_slice(&[0; 16]);
        m
    }

    #[test]
    fn acknowledgements_and_refusals_are_told_apart() {
        assert_eq!(parse_ack(&error_message(3, 0), 3), Some(Ok(())));
        assert_eq!(
            parse_ack(&error_message(3, -libc::EEXIST), 3),
            Some(Err(libc::EEXIST))
        );
        // Another request's answer, and truncated input, are not ours.
        assert_eq!(parse_ack(&error_message(4, 0), 3), None);
        assert_eq!(parse_ack(&error_message(3, 0)[..18], 3), None);
        assert_eq!(parse_ack(&[], 3), None);
    }
}
