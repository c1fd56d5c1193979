//! `take_error` (`SO_ERROR`) of the std and tokio sockets, as Linux answers
//! it (checked on this kernel's sockets by `tests/take_error.rs`):
//!
//! - A TCP connection: its failure (`sk_err`: reset, refused, timed out,
//!   unreachable; a reset after the peer's FIN is `BrokenPipe`), taken: reported once, by `take_error` or by the read, peek
//!   or write that meets it first ([`SkErr`]); after that reads return `Ok(0)`
//!   and writes `BrokenPipe`. Without one, its soft error (`sk_err_soft`: an
//!   ICMP host or port unreachable that the connection survives, forgotten
//!   when an acceptable ACK arrives), also taken; not the stack's notice of
//!   retransmissions past R1, which Linux does not have.
//! - A listener: none.
//! - A UDP socket: an ICMP port or host unreachable for a datagram a connected
//!   socket sent to its peer (Linux reports none to an unconnected socket, nor
//!   for a datagram `send_to` sent elsewhere), taken; otherwise the next
//!   receive or send would report it.

use layer4::{Error, SocketHandle, Stack};

use crate::sk_err::SkErr;

/// `take_error` of the TCP connection at `h`, whose socket's report is `sk_err`.
pub(crate) fn tcp(s: &mut Stack, h: SocketHandle, sk_err: &SkErr) -> Result<Option<Error>, Error> {
    if let Some(e) = s.tcp_error(h)? {
        // Taken as a read takes it: the failure the first time, then nothing.
        if sk_err.read(Err(e)).is_err() {
            return Ok(Some(e));
        }
    }
    // The stack's notice of retransmissions past R1 (RFC 1122 4.2.3.5) is a
    // soft `TimedOut`; Linux keeps no such error (`tcp_write_timeout` sets
    // nothing before it gives up), and a program that reads `SO_ERROR` to
    // check a connection would take it for a failure: taken, not reported.
    match s.tcp_take_soft_error(h)? {
        Some(Error::TimedOut) => Ok(None),
        soft => Ok(soft),
    }
}

/// `take_error` of the listener at `h`: Linux sets no error on a listening
/// socket.
pub(crate) fn listener(s: &Stack, h: SocketHandle) -> Result<Option<Error>, Error> {
    s.listener_addr(h)?;
    Ok(None)
}

/// `take_error` of the UDP socket at `h`.
pub(crate) fn udp(s: &mut Stack, h: SocketHandle) -> Result<Option<Error>, Error> {
    s.udp_take_error(h)
}
