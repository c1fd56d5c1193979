//! The socket table `ss` prints: one row per socket.

use core::net::SocketAddr;

use super::{Socket, Stack};
use crate::socket::SocketHandle;
use crate::tcp::{State, Timer};
use crate::time::{Duration, Instant};

/// The protocol of a socket-table row.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SocketProtocol {
    /// TCP (a listener or a connection).
    Tcp,
    /// UDP.
    Udp,
}

/// One row of the socket table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SocketEntry {
    /// The handle.
    pub handle: SocketHandle,
    /// The protocol.
    pub protocol: SocketProtocol,
    /// The state `ss` prints (`LISTEN`, `ESTAB`, `TIME-WAIT`, `UNCONN` for UDP, ...).
    pub state: &'static str,
    /// The local address.
    pub local: SocketAddr,
    /// The remote address, for connections and connected UDP sockets.
    pub remote: Option<SocketAddr>,
    /// Bytes not yet acknowledged (TCP) or not yet sent (UDP); for a listener, the
    /// backlog.
    pub send_q: usize,
    /// Bytes not yet read; for a listener, connections waiting to be accepted.
    pub recv_q: usize,
    /// The armed timer `ss -o` shows and the time left.
    pub timer: Option<(&'static str, Duration)>,
}

impl Stack {
    /// Every socket, in handle order, then the TIME-WAIT connections held as
    /// records (their handle is [`SocketHandle::DETACHED`]).
    pub fn socket_table(&self, now: Instant) -> Vec<SocketEntry> {
        let now = self.clock.read(now);
        let mut rows: Vec<SocketEntry> = self
            .sockets
            .iter()
            .map(|(handle, entry)| match &entry.socket {
                Socket::Listener(l) => SocketEntry {
                    handle,
                    protocol: SocketProtocol::Tcp,
                    state: State::Listen.ss_name(),
                    local: l.local,
                    remote: None,
                    send_q: l.backlog,
                    recv_q: l.accept_queue.len(),
                    timer: None,
                },
                Socket::Tcp(slot) => {
                    let c = &slot.conn;
                    SocketEntry {
                        handle,
                        protocol: SocketProtocol::Tcp,
                        state: c.state().ss_name(),
                        local: c.local(),
                        remote: Some(c.remote()),
                        send_q: c.send_queue(),
                        recv_q: c.recv_queue(),
                        timer: c.next_timer().map(|(t, at): (Timer, Instant)| {
                            (t.ss_name(), at.saturating_duration_since(now))
                        }),
                    }
                }
                Socket::Udp(u) => SocketEntry {
                    handle,
                    protocol: SocketProtocol::Udp,
                    state: if u.peer.is_some() { "ESTAB" } else { "UNCONN" },
                    local: u.local,
                    remote: u.peer,
                    send_q: u.send_queue(),
                    recv_q: u.recv_queue(),
                    timer: None,
                },
            })
            .collect();
        rows.extend(self.time_wait.iter().map(|r| SocketEntry {
            handle: SocketHandle::DETACHED,
            protocol: SocketProtocol::Tcp,
            state: State::TimeWait.ss_name(),
            local: r.tuple.local,
            remote: Some(r.tuple.remote),
            send_q: 0,
            recv_q: 0,
            timer: Some((
                Timer::Linger.ss_name(),
                r.state.expires.saturating_duration_since(now),
            )),
        }));
        rows
    }
}
