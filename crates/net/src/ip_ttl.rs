//! `set_ttl` / `ttl` (`IP_TTL`) of the std and tokio sockets, as Linux has
//! them (checked on this kernel's sockets by `tests/set_ttl.rs`):
//!
//! - 1 to 255 is the TTL of the socket's IPv4 packets; 0 and anything above
//!   255 fail with `EINVAL` (`InvalidInput`), except `u32::MAX`, which std
//!   passes to `setsockopt` as the C `int` -1: back to the default (here the
//!   stack's configured TTL, [`layer4::TcpConfig::ttl`] or
//!   [`layer4::UdpConfig::ttl`]).
//! - A listener's TTL is its accepted connections' (Linux clones the listener
//!   when the handshake completes; the stack copies the listener's options when
//!   the SYN arrives, so its SYN-ACK carries it too).
//! - On an IPv6 socket `IP_TTL` is the TTL of IPv4-mapped traffic only: the
//!   hop limit of its IPv6 packets stays as it was (`IPV6_UNICAST_HOPS`), and
//!   `ttl` returns what was set. layer4's IPv6 sockets carry no IPv4, so the
//!   value is only remembered ([`MappedTtl`]); the hop limit is the stack's
//!   option (`tcp_set_options`, `udp_set_ttl` through
//!   [`Runtime::with_stack`](crate::Runtime::with_stack)).

use std::io;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU8, Ordering};

use layer4::{Error, SocketHandle, Stack};

use crate::runtime::Shared;

/// What kind of socket a handle names (each keeps its TTL in its own place).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    TcpListener,
    TcpStream,
    Udp,
}

/// The `IP_TTL` an IPv6 socket was given (`0`: never, or set back to the
/// default): what `ttl` returns, applied to nothing. Shared by a socket's
/// handles; an accepted connection starts with its listener's.
#[derive(Debug, Default)]
pub(crate) struct MappedTtl(AtomicU8);

impl MappedTtl {
    fn get(&self) -> Option<u8> {
        match self.0.load(Ordering::Relaxed) {
            0 => None,
            t => Some(t),
        }
    }

    fn set(&self, ttl: Option<u8>) {
        self.0.store(ttl.unwrap_or(0), Ordering::Relaxed);
    }

    /// Takes `listener`'s, for a connection accepted from it.
    pub(crate) fn inherit(&self, listener: &MappedTtl) {
        self.0
            .store(listener.0.load(Ordering::Relaxed), Ordering::Relaxed);
    }
}

/// The TTL `ttl` asks for: `Some` of 1 to 255, `None` for the default
/// (`u32::MAX`, the C `int` -1), else Linux's `EINVAL` (as std reports it).
pub(crate) fn requested(ttl: u32) -> io::Result<Option<u8>> {
    match ttl {
        u32::MAX => Ok(None),
        1..=255 => Ok(Some(ttl as u8)),
        _ => Err(io::Error::from_raw_os_error(libc::EINVAL)),
    }
}

fn local(s: &Stack, h: SocketHandle, kind: Kind) -> Result<SocketAddr, Error> {
    match kind {
        Kind::TcpListener => s.listener_addr(h),
        Kind::TcpStream => Ok(s.tcp_addrs(h)?.0),
        Kind::Udp => s.udp_local_addr(h),
    }
}

fn default_ttl(s: &Stack, kind: Kind) -> u8 {
    match kind {
        Kind::Udp => s.config().udp.ttl,
        Kind::TcpListener | Kind::TcpStream => s.config().tcp.ttl,
    }
}

/// `set_ttl(ttl)` on the socket at `h`.
pub(crate) fn set(
    shared: &Shared,
    h: SocketHandle,
    kind: Kind,
    mapped: &MappedTtl,
    ttl: u32,
) -> io::Result<()> {
    let ttl = requested(ttl)?;
    Ok(shared.with_stack(|s, now| {
        if local(s, h, kind)?.is_ipv6() {
            mapped.set(ttl);
            return Ok(());
        }
        let ttl = ttl.unwrap_or_else(|| default_ttl(s, kind));
        match kind {
            Kind::Udp => s.udp_set_ttl(h, ttl),
            Kind::TcpListener | Kind::TcpStream => {
                let mut o = s.tcp_options(h)?;
                o.ttl = ttl;
                s.tcp_set_options(now, h, o)
            }
        }
    })??)
}

/// `ttl()` of the socket at `h`.
pub(crate) fn get(
    shared: &Shared,
    h: SocketHandle,
    kind: Kind,
    mapped: &MappedTtl,
) -> io::Result<u32> {
    Ok(shared
        .with_stack(|s, _| {
            if local(s, h, kind)?.is_ipv6() {
                return Ok(mapped.get().unwrap_or_else(|| default_ttl(s, kind)));
            }
            match kind {
                Kind::Udp => s.udp_ttl(h),
                Kind::TcpListener | Kind::TcpStream => Ok(s.tcp_options(h)?.ttl),
            }
        })??
        .into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ttls_are_1_to_255_or_the_default_as_linux_takes_them() {
        assert_eq!(requested(1).unwrap(), Some(1));
        assert_eq!(requested(255).unwrap(), Some(255));
        assert_eq!(requested(u32::MAX).unwrap(), None, "-1 as a C int");
        for bad in [0, 256, 1 << 31, u32::MAX - 1] {
            let e = requested(bad).unwrap_err();
            assert_eq!(e.kind(), io::ErrorKind::InvalidInput, "{bad}");
            assert_eq!(e.raw_os_error(), Some(libc::EINVAL));
        }
    }
}
