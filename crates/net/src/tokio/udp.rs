//! The async [`UdpSocket`] (`tokio::net::UdpSocket`).

use std::future::{poll_fn, Future};
use std::io;
use std::net::{SocketAddr, ToSocketAddrs};
use std::sync::Arc;
use std::task::{Context, Poll};

use ::tokio::io::ReadBuf;

use super::resolve;
use crate::runtime::{Direction, Runtime, Shared};
use crate::std_api::Owned;

/// A UDP socket whose sends and receives are futures. Every method takes `&self`:
/// several tasks may send and receive on one socket at once (each waiting task is
/// woken).
#[derive(Debug)]
pub struct UdpSocket {
    sock: Owned,
}

impl UdpSocket {
    /// Binds to `addr` (the first of its addresses that can be bound; port 0: an
    /// ephemeral port).
    /// The future does not borrow the runtime.
    pub fn bind<A: ToSocketAddrs>(
        rt: &Runtime,
        addr: A,
    ) -> impl Future<Output = io::Result<UdpSocket>> + Send + 'static {
        let shared = rt.shared.clone();
        let addrs = resolve(addr);
        async move { Self::bind_any(shared, addrs?) }
    }

    fn bind_any(shared: Arc<Shared>, addrs: Vec<SocketAddr>) -> io::Result<UdpSocket> {
        let mut last = None;
        for a in addrs {
            match shared.with_stack(|s, _| s.udp_bind(a))? {
                Ok(handle) => {
                    return Ok(UdpSocket {
                        sock: Owned {
                            shared: shared.clone(),
                            handle,
                        },
                    })
                }
                Err(e) => last = Some(io::Error::from(e)),
            }
        }
        Err(last.unwrap_or_else(|| io::Error::other("no address")))
    }

    /// Sets the peer for [`UdpSocket::send`] and [`UdpSocket::recv`]; datagrams from
    /// other addresses are dropped.
    pub async fn connect<A: ToSocketAddrs>(&self, addr: A) -> io::Result<()> {
        let h = self.sock.handle;
        let mut last = None;
        for a in resolve(addr)? {
            match self.sock.shared.with_stack(|s, _| s.udp_connect(h, a))? {
                Ok(()) => return Ok(()),
                Err(e) => last = Some(io::Error::from(e)),
            }
        }
        Err(last.unwrap_or_else(|| io::Error::other("no address")))
    }

    /// Sends `buf` as one datagram to `target` (its first address), waiting for
    /// room in the send queue.
    pub async fn send_to<A: ToSocketAddrs>(&self, buf: &[u8], target: A) -> io::Result<usize> {
        let dst = *resolve(target)?
            .first()
            .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "no address"))?;
        poll_fn(|cx| self.poll_send_to(cx, buf, dst)).await
    }

    /// Polls sending `buf` to `target`.
    pub fn poll_send_to(
        &self,
        cx: &mut Context<'_>,
        buf: &[u8],
        target: SocketAddr,
    ) -> Poll<io::Result<usize>> {
        let h = self.sock.handle;
        self.sock.shared.poll_op(cx, h, Direction::Write, |s, _| {
            s.udp_send_to(h, buf, target)
        })
    }

    /// Receives one datagram (truncated to `buf`): its length and sender.
    pub async fn recv_from(&self, buf: &mut [u8]) -> io::Result<(usize, SocketAddr)> {
        let h = self.sock.handle;
        poll_fn(|cx| {
            self.sock
                .shared
                .poll_op(cx, h, Direction::Read, |s, _| s.udp_recv_from(h, buf))
        })
        .await
    }

    /// Polls receiving a datagram into `buf`: the sender once one is there.
    pub fn poll_recv_from(
        &self,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<SocketAddr>> {
        let h = self.sock.handle;
        let dst = buf.initialize_unfilled();
        match self
            .sock
            .shared
            .poll_op(cx, h, Direction::Read, |s, _| s.udp_recv_from(h, dst))
        {
            Poll::Ready(Ok((n, from))) => {
                buf.advance(n);
                Poll::Ready(Ok(from))
            }
            Poll::Ready(Err(e)) => Poll::Ready(Err(e)),
            Poll::Pending => Poll::Pending,
        }
    }

    /// Sends a datagram to the connected peer.
    pub async fn send(&self, buf: &[u8]) -> io::Result<usize> {
        let h = self.sock.handle;
        poll_fn(|cx| {
            self.sock
                .shared
                .poll_op(cx, h, Direction::Write, |s, _| s.udp_send(h, buf))
        })
        .await
    }

    /// Receives a datagram from the connected peer.
    pub async fn recv(&self, buf: &mut [u8]) -> io::Result<usize> {
        self.recv_from(buf).await.map(|(n, _)| n)
    }

    /// Receives a datagram if one is waiting (`WouldBlock` if not).
    pub fn try_recv_from(&self, buf: &mut [u8]) -> io::Result<(usize, SocketAddr)> {
        let h = self.sock.handle;
        self.sock
            .shared
            .with_stack(|s, _| s.udp_recv_from(h, buf))?
            .map_err(io::Error::from)
    }

    /// Sends a datagram if the send queue has room (`WouldBlock` if not).
    pub fn try_send_to(&self, buf: &[u8], target: SocketAddr) -> io::Result<usize> {
        let h = self.sock.handle;
        self.sock
            .shared
            .with_stack(|s, _| s.udp_send_to(h, buf, target))?
            .map_err(io::Error::from)
    }

    /// The local address.
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        let h = self.sock.handle;
        Ok(self.sock.shared.with_stack(|s, _| s.udp_local_addr(h))??)
    }

    /// Allows sending to broadcast addresses (`SO_BROADCAST`).
    pub fn set_broadcast(&self, on: bool) -> io::Result<()> {
        let h = self.sock.handle;
        Ok(self
            .sock
            .shared
            .with_stack(|s, _| s.udp_set_broadcast(h, on))??)
    }
}
