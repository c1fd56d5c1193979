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
