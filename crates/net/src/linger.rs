//! `SO_LINGER` of the async `TcpStream`: `set_linger`, `set_zero_linger`,
//! `linger` (checked against tokio's streams on this kernel by
//! `tests/zero_linger.rs`).
//!
//! # What Linux does
//!
//! The option is seconds (`struct linger`'s `l_linger`, an `int`): tokio
//! (socket2) passes a `Duration`'s whole seconds, so `Some(500 ms)` is a zero
//! linger, and `linger()` returns whole seconds.
//!
//! - A zero linger makes the close abortive (`tcp_close` calls
//!   `tcp_disconnect`): unsent data is discarded and, in ESTABLISHED,
//!   CLOSE-WAIT, FIN-WAIT-1, FIN-WAIT-2 and SYN-RECEIVED, a RST is sent
//!   (`tcp_need_reset`); a connection in SYN-SENT is dropped without one. No
//!   TIME-WAIT follows. Here: [`Stack::tcp_abort`] in those states, the same
//!   segments. In CLOSING and LAST-ACK Linux drops the connection silently;
//!   here it finishes its close as without the option (its FIN retransmitted
//!   until acknowledged): the stack has no abort without a RST, and a RST
//!   there is what RFC 9293 3.10.5 says ABORT must not send. In TIME-WAIT (a
//!   separate record on Linux, which the close does not touch) and CLOSED, the
//!   close is the ordinary one on both.
//! - A longer linger makes `close(2)` block the closing thread until the FIN
//!   is acknowledged or the time runs out (even on a non-blocking socket: why
//!   tokio deprecates `set_linger`); the connection is not reset when it runs
//!   out. A Rust drop cannot report the close's result, so what the peer sees
//!   is the same as without the option: here the drop does not block, and the
//!   data and FIN leave in the background as after any close.
//!
//! The value is the socket's (shared by its halves), kept by the runtime with
//! the sockets it holds, so that a [`Runtime::shutdown`](crate::Runtime::shutdown)
//! closing the streams still open resets those with a zero linger, as a
//! process's exit does.

use std::time::Duration;

use layer4::time::Instant;
use layer4::{SocketHandle, Stack, State};

use crate::runtime::Shared;

/// The linger `dur` sets, as Linux keeps it: whole seconds.
#[cfg_attr(not(feature = "tokio"), allow(dead_code))]
pub(crate) fn seconds(dur: Duration) -> Duration {
    Duration::from_secs(dur.as_secs())
}

/// Closes `handle` abortively if `linger` is zero and Linux would reset (or
/// drop) the connection in its state: `true` if it did (the handle is then
/// closed), `false` if the close is the ordinary one.
pub(crate) fn close_abortively(
    stack: &mut Stack,
    now: Instant,
    handle: SocketHandle,
    linger: Option<Duration>,
) -> bool {
    if linger != Some(Duration::ZERO) {
        return false;
    }
    let abortive = matches!(
        stack.tcp_state(handle),
        Ok(State::SynSent
            | State::SynReceived
            | State::Established
            | State::CloseWait
            | State::FinWait1
            | State::FinWait2)
    );
    // `tcp_abort` lets go of the handle as a close does.
    abortive && stack.tcp_abort(now, handle).is_ok()
}

#[cfg_attr(not(feature = "tokio"), allow(dead_code))]
impl Shared {
    /// Sets (`Some`, in whole seconds) or clears the linger of the stream at
    /// `handle`.
    pub(crate) fn set_linger(&self, handle: SocketHandle, linger: Option<Duration>) {
        let mut g = self.lock();
        match linger {
            Some(d) => g.linger.insert(handle, seconds(d)),
            None => g.linger.remove(&handle),
        };
    }

    /// The linger of the stream at `handle`.
    pub(crate) fn linger(&self, handle: SocketHandle) -> Option<Duration> {
        self.lock().linger.get(&handle).copied()
    }
}
