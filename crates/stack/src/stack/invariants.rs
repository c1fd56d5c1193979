//! [`Stack::tcp_check_invariants`]: a connection's internal consistency, for the
//! live-stack fuzz target and its property-test twin. Not part of the API a driver
//! uses (hidden from the docs); it reads, never changes.

use super::{Entry, Socket, Stack};
use crate::socket::SocketHandle;

impl Stack {
    /// Checks a TCP connection's internal invariants (SND.UNA ≤ SND.NXT ≤ SND.MAX,
    /// outstanding data was written, buffers and out-of-order ranges within their
    /// caps). `Ok` for a handle that is not a connection (gone or another kind).
    #[doc(hidden)]
    pub fn tcp_check_invariants(&self, handle: SocketHandle) -> Result<(), String> {
        match self.sockets.get(handle) {
            Some(Entry {
                socket: Socket::Tcp(slot),
                ..
            }) => slot.conn.check_invariants(),
            _ => Ok(()),
        }
    }
}
