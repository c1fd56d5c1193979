//! The SYN-level decision on the runtime: a listener that holds each new SYN
//! until the application completes or refuses it (`Stack::tcp_hold_syns`,
//! gVisor's forwarder). A tun2socks proxy takes a [`SynRequest`], tries the
//! upstream connection to [`SynRequest::local`], and then completes the
//! handshake, or refuses it the way the upstream refused
//! ([`SynRefusal`]): the client sees what it would have seen from the real
//! host, and no data arrives before the proxy is ready.
//!
//! The blocking and async listeners share these calls; they differ only in how
//! they wait for the next SYN.

use std::io;
use std::net::SocketAddr;

use layer4::{FourTuple, Instant, SocketHandle, Stack, SynRefusal};

use crate::runtime::Shared;

/// A SYN held by a listener for the application's decision: from
/// `TcpListener::next_syn` (blocking or async), to pass to its `complete_syn`
/// or `refuse_syn`. Undecided, it expires after what a half-open connection
/// lives (63 s by default); the client's SYN retries until then take its
/// place without being handed out again, and one after it is held and handed
/// out afresh (else the client's connect times out). Dropped undecided, a
/// request is not given again before it expires.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct SynRequest {
    /// The address the client connected to (the SYN's destination): the
    /// connection's `local_addr` once completed; for a transparent listener,
    /// the remote host the client meant to reach.
    pub local: SocketAddr,
    /// The client's address.
    pub remote: SocketAddr,
}

impl From<FourTuple> for SynRequest {
    fn from(t: FourTuple) -> SynRequest {
        SynRequest {
            local: t.local,
            remote: t.remote,
        }
    }
}

impl SynRequest {
    fn tuple(self) -> FourTuple {
        FourTuple::new(self.local, self.remote)
    }
}

/// Turns holding on or off for `listener` (off: the SYNs held so far are
/// dropped unanswered, and new ones are answered at once again). Off, a
/// `next_syn` waiting on another thread or task is woken to fail with
/// `InvalidInput`: no event would wake it otherwise.
pub(crate) fn set_hold(shared: &Shared, listener: SocketHandle, on: bool) -> io::Result<()> {
    shared.with_stack(|s, _| s.tcp_hold_syns(listener, on))??;
    if !on {
        shared.wake_waiters(listener);
    }
    Ok(())
}

/// One attempt at the next held SYN: `WouldBlock` when none waits.
pub(crate) fn try_next(
    s: &mut Stack,
    now: Instant,
    listener: SocketHandle,
) -> Result<SynRequest, layer4::Error> {
    s.tcp_next_syn(now, listener).map(SynRequest::from)
}

/// Completes `syn`'s handshake: its SYN-ACK goes now, and the connection is
/// accepted as any other once the client's ACK arrives. `TimedOut` when the
/// SYN is no longer held (it expired or was decided); `AddrInUse` when a
/// connection or a TIME-WAIT record of the tuple exists already.
pub(crate) fn complete(shared: &Shared, listener: SocketHandle, syn: SynRequest) -> io::Result<()> {
    Ok(shared.with_stack(|s, now| s.tcp_complete_syn(now, listener, syn.tuple()))??)
}

/// Refuses `syn` as `how` says. `TimedOut` when it is no longer held.
pub(crate) fn refuse(
    shared: &Shared,
    listener: SocketHandle,
    syn: SynRequest,
    how: SynRefusal,
) -> io::Result<()> {
    Ok(shared.with_stack(|s, now| s.tcp_refuse_syn(now, listener, syn.tuple(), how))??)
}
