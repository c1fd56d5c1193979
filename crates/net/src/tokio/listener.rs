//! The async [`TcpListener`] (`tokio::net::TcpListener`).

use std::future::{poll_fn, Future};
use std::io;
use std::net::{SocketAddr, ToSocketAddrs};
use std::sync::Arc;
use std::task::{Context, Poll};

use super::{resolve, TcpStream};
use crate::ip_ttl::Kind;
use crate::runtime::{Direction, Runtime, Shared};
use crate::std_api::{listen_options, Owned};
use crate::syn_request::{self, SynRequest};
use layer4::SynRefusal;

/// A TCP listener whose `accept` is a future.
#[derive(Debug)]
pub struct TcpListener {
    sock: Owned,
}

impl TcpListener {
    /// Listens on `addr` (the first of its addresses that can be bound; port 0: an
    /// ephemeral port).
    /// The future does not borrow the runtime.
    pub fn bind<A: ToSocketAddrs>(
        rt: &Runtime,
        addr: A,
    ) -> impl Future<Output = io::Result<TcpListener>> + Send + 'static {
        let shared = rt.shared.clone();
        let addrs = resolve(addr);
        async move { Self::bind_any(shared, addrs?, false) }
    }

    /// A transparent listener (`IP_TRANSPARENT`): connections to any unicast
    /// address of `addr`'s family (its address unspecified), on its port or on
    /// every port for port 0, that no other listener takes; each accepted
    /// stream's `local_addr` is the address the client connected to. As
    /// [`crate::TcpListener::bind_transparent`], whose docs say more.
    /// The future does not borrow the runtime.
    pub fn bind_transparent<A: ToSocketAddrs>(
        rt: &Runtime,
        addr: A,
    ) -> impl Future<Output = io::Result<TcpListener>> + Send + 'static {
        let shared = rt.shared.clone();
        let addrs = resolve(addr);
        async move { Self::bind_any(shared, addrs?, true) }
    }

    fn bind_any(
        shared: Arc<Shared>,
        addrs: Vec<SocketAddr>,
        transparent: bool,
    ) -> io::Result<TcpListener> {
        let mut last = None;
        for a in addrs {
            let listened = shared.with_stack(|s, _| match transparent {
                true => s.tcp_listen_transparent(a, listen_options()),
                false => s.tcp_listen(a, listen_options()),
            })?;
            match listened {
                Ok(handle) => {
                    return Ok(TcpListener {
                        sock: Owned::new(shared.clone(), handle),
                    })
                }
                Err(e) => last = Some(io::Error::from(e)),
            }
        }
        Err(last.unwrap_or_else(|| io::Error::other("no address")))
    }

    /// Waits for a connection: the stream and the peer's address.
    pub async fn accept(&self) -> io::Result<(TcpStream, SocketAddr)> {
        poll_fn(|cx| self.poll_accept(cx)).await
    }

    /// Polls for a connection; on `Pending` the task is woken when one can be
    /// accepted.
    pub fn poll_accept(&self, cx: &mut Context<'_>) -> Poll<io::Result<(TcpStream, SocketAddr)>> {
        let h = self.sock.handle;
        self.sock
            .shared
            .poll_op(cx, h, Direction::Read, |s, _| s.tcp_accept(h))
            .map_ok(|(handle, peer)| (TcpStream::from_owned(self.sock.accepted(handle)), peer))
    }

    /// Holds each new SYN unanswered until the application decides (`on`):
    /// [`TcpListener::next_syn`] gives each, then [`TcpListener::complete_syn`]
    /// or [`TcpListener::refuse_syn`] decides it. As
    /// [`crate::TcpListener::set_hold_syns`], whose docs say more.
    pub fn set_hold_syns(&self, on: bool) -> io::Result<()> {
        syn_request::set_hold(&self.sock.shared, self.sock.handle, on)
    }

    /// Waits for the next held SYN, oldest first (`InvalidInput` when the
    /// listener does not hold SYNs, or stops holding them while this waits).
    /// Cancel-safe: a SYN is taken only by the poll that returns it.
    pub async fn next_syn(&self) -> io::Result<SynRequest> {
        poll_fn(|cx| self.poll_next_syn(cx)).await
    }

    /// Polls for the next held SYN; on `Pending` the task is woken when one
    /// arrives.
    pub fn poll_next_syn(&self, cx: &mut Context<'_>) -> Poll<io::Result<SynRequest>> {
        let h = self.sock.handle;
        self.sock.shared.poll_op(cx, h, Direction::Read, |s, now| {
            syn_request::try_next(s, now, h)
        })
    }

    /// Completes a held SYN's handshake: [`TcpListener::accept`] gives the
    /// connection once the client's ACK arrives. `TimedOut` when the SYN is
    /// no longer held; the other errors as
    /// [`crate::TcpListener::complete_syn`]'s.
    pub fn complete_syn(&self, syn: SynRequest) -> io::Result<()> {
        syn_request::complete(&self.sock.shared, self.sock.handle, syn)
    }

    /// Refuses a held SYN as `how` says. `TimedOut` when it is no longer held;
    /// `InvalidInput` when the listener no longer holds SYNs.
    pub fn refuse_syn(&self, syn: SynRequest, how: SynRefusal) -> io::Result<()> {
        syn_request::refuse(&self.sock.shared, self.sock.handle, syn, how)
    }

    /// The address listened on.
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        let h = self.sock.handle;
        Ok(self.sock.shared.with_stack(|s, _| s.listener_addr(h))??)
    }

    /// Sets the TTL of the connections it will accept (`IP_TTL`; see
    /// [`TcpStream::set_ttl`]).
    pub fn set_ttl(&self, ttl: u32) -> io::Result<()> {
        self.sock.set_ttl(Kind::TcpListener, ttl)
    }

    /// The TTL of the connections it will accept.
    pub fn ttl(&self) -> io::Result<u32> {
        self.sock.ttl(Kind::TcpListener)
    }
}
