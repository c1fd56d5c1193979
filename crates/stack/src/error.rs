//! [`Error`]: why a socket call failed, with the `std::io::ErrorKind` it maps to.

use core::fmt;
use std::io;

use crate::tcp::TcpError;

/// Why a socket call failed. One enum for every call; [`Error::kind`] gives the
/// `std::io::ErrorKind` the blocking and async APIs return.
///
/// Non-exhaustive: the stack adds reasons as it grows (`ResetInCloseWait` came
/// in 2026-12), so a `match` outside this crate needs a wildcard arm, for
/// which [`Error::kind`] is the usual fallback.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Error {
    /// The handle names no socket (never did, or was closed).
    InvalidHandle,
    /// The call does not apply to this kind of socket (a UDP call on a TCP handle,
    /// `accept` on a connection, ...).
    WrongSocketType,
    /// Nothing can be done now; wait for the socket's next event.
    WouldBlock,
    /// The address and port are taken.
    AddrInUse,
    /// No local address or ephemeral port is available for this destination, or the
    /// address is not one of the stack's.
    AddrNotAvailable,
    /// No route to the destination.
    NetworkUnreachable,
    /// The address family of the peer and the socket do not match, or the address is
    /// unusable (port 0 for a peer, unspecified destination, ...).
    InvalidAddress,
    /// The socket is not connected.
    NotConnected,
    /// The socket is already connected (or listening).
    AlreadyConnected,
    /// Sending was shut down.
    BrokenPipe,
    /// The connection was refused (RST to the SYN, or ICMP port unreachable).
    ConnectionRefused,
    /// The peer reset the connection.
    ConnectionReset,
    /// The peer reset the connection after its FIN (in CLOSE-WAIT): Linux's
    /// `EPIPE` (`tcp_reset`), so its kind is `BrokenPipe`. A connection's
    /// failure like [`Error::ConnectionReset`] (reported by every later send
    /// and by `tcp_error`; a receive returns the end of the stream, which the
    /// FIN had already marked), unlike [`Error::BrokenPipe`], a call's own
    /// error after a shutdown.
    ResetInCloseWait,
    /// The connection was aborted locally.
    ConnectionAborted,
    /// The connection timed out.
    TimedOut,
    /// ICMP said the host or network cannot be reached.
    HostUnreachable,
    /// A datagram is larger than the socket or the protocol allows.
    MessageTooLong,
    /// A configured limit (sockets, connections) is reached.
    LimitReached,
    /// Broadcast destination without the broadcast option.
    BroadcastNotAllowed,
    /// No congestion controller has that name (Linux: `ENOENT`).
    UnknownCongestionControl,
    /// The congestion controller is reserved but not yet implemented (no name is
    /// reserved now; `"bbr"` was until BBR existed).
    NotImplemented,
    /// The congestion controller cannot change once the connection sent data.
    CongestionControlInUse,
}

impl Error {
    /// The `std::io::ErrorKind` this error becomes at the `std::net`-like layer.
    pub fn kind(self) -> io::ErrorKind {
        match self {
            Error::InvalidHandle | Error::WrongSocketType | Error::InvalidAddress => {
                io::ErrorKind::InvalidInput
            }
            Error::WouldBlock => io::ErrorKind::WouldBlock,
            Error::AddrInUse => io::ErrorKind::AddrInUse,
            Error::AddrNotAvailable => io::ErrorKind::AddrNotAvailable,
            Error::NetworkUnreachable => io::ErrorKind::NetworkUnreachable,
            Error::NotConnected => io::ErrorKind::NotConnected,
            Error::AlreadyConnected => io::ErrorKind::AlreadyExists,
            Error::BrokenPipe => io::ErrorKind::BrokenPipe,
            Error::ConnectionRefused => io::ErrorKind::ConnectionRefused,
            Error::ConnectionReset => io::ErrorKind::ConnectionReset,
            Error::ResetInCloseWait => io::ErrorKind::BrokenPipe,
            Error::ConnectionAborted => io::ErrorKind::ConnectionAborted,
            Error::TimedOut => io::ErrorKind::TimedOut,
            Error::HostUnreachable => io::ErrorKind::HostUnreachable,
            Error::MessageTooLong => io::ErrorKind::InvalidInput,
            Error::LimitReached => io::ErrorKind::OutOfMemory,
            Error::BroadcastNotAllowed => io::ErrorKind::PermissionDenied,
            Error::UnknownCongestionControl => io::ErrorKind::NotFound,
            Error::NotImplemented => io::ErrorKind::Unsupported,
            Error::CongestionControlInUse => io::ErrorKind::InvalidInput,
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Error::InvalidHandle => "no such socket",
            Error::WrongSocketType => "operation not supported on this socket",
            Error::WouldBlock => "operation would block",
            Error::AddrInUse => "address in use",
            Error::AddrNotAvailable => "address not available",
            Error::NetworkUnreachable => "network unreachable",
            Error::InvalidAddress => "invalid address",
            Error::NotConnected => "not connected",
            Error::AlreadyConnected => "already connected",
            Error::BrokenPipe => "broken pipe",
            Error::ConnectionRefused => "connection refused",
            Error::ConnectionReset => "connection reset by peer",
            Error::ResetInCloseWait => "broken pipe: connection reset by peer after its FIN",
            Error::ConnectionAborted => "connection aborted",
            Error::TimedOut => "timed out",
            Error::HostUnreachable => "host unreachable",
            Error::MessageTooLong => "message too long",
            Error::LimitReached => "limit reached",
            Error::BroadcastNotAllowed => "broadcast not allowed on this socket",
            Error::UnknownCongestionControl => "unknown congestion control",
            Error::NotImplemented => "not yet implemented",
            Error::CongestionControlInUse => "congestion control cannot change after data was sent",
        })
    }
}

impl core::error::Error for Error {}

impl From<Error> for io::Error {
    fn from(e: Error) -> io::Error {
        io::Error::new(e.kind(), e)
    }
}

impl From<TcpError> for Error {
    fn from(e: TcpError) -> Error {
        match e {
            TcpError::Refused => Error::ConnectionRefused,
            TcpError::Reset => Error::ConnectionReset,
            TcpError::ResetInCloseWait => Error::ResetInCloseWait,
            TcpError::TimedOut => Error::TimedOut,
            TcpError::HostUnreachable => Error::HostUnreachable,
            TcpError::Aborted => Error::ConnectionAborted,
        }
    }
}

impl From<crate::cc::CcError> for Error {
    fn from(e: crate::cc::CcError) -> Error {
        match e {
            crate::cc::CcError::NotImplemented(_) => Error::NotImplemented,
            _ => Error::UnknownCongestionControl,
        }
    }
}

impl From<crate::tcp::UserError> for Error {
    fn from(e: crate::tcp::UserError) -> Error {
        match e {
            crate::tcp::UserError::WouldBlock => Error::WouldBlock,
            crate::tcp::UserError::SendClosed => Error::BrokenPipe,
            crate::tcp::UserError::Failed(e) => e.into(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_map_to_io_kinds() {
        assert_eq!(Error::AddrInUse.kind(), io::ErrorKind::AddrInUse);
        assert_eq!(
            Error::from(TcpError::Refused).kind(),
            io::ErrorKind::ConnectionRefused
        );
        assert_eq!(
            Error::from(TcpError::ResetInCloseWait).kind(),
            io::ErrorKind::BrokenPipe
        );
        let io: io::Error = Error::TimedOut.into();
        assert_eq!(io.kind(), io::ErrorKind::TimedOut);
    }
}
