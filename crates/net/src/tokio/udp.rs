//! The async [`UdpSocket`] (`tokio::net::UdpSocket`).

use std::future::{poll_fn, Future};
use std::io;
use std::net::{SocketAddr, ToSocketAddrs};
use std::sync::Arc;
use std::task::{Context, Poll};

use ::tokio::io::{Interest, ReadBuf, Ready};

use super::{readiness, resolve};
use crate::ip_ttl::Kind;
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
        async move { Self::bind_any(shared, addrs?, false) }
    }

    /// A transparent UDP socket (`IP_TRANSPARENT`): datagrams to any unicast
    /// address of `addr`'s family (its address unspecified), on its port or on
    /// every port for port 0, that no other socket takes;
    /// [`recv_from_to`](Self::recv_from_to) tells where each was sent and
    /// [`send_from_to`](Self::send_from_to) answers from there. As
    /// [`crate::UdpSocket::bind_transparent`], whose docs say more.
    /// The future does not borrow the runtime.
    pub fn bind_transparent<A: ToSocketAddrs>(
        rt: &Runtime,
        addr: A,
    ) -> impl Future<Output = io::Result<UdpSocket>> + Send + 'static {
        let shared = rt.shared.clone();
        let addrs = resolve(addr);
        async move { Self::bind_any(shared, addrs?, true) }
    }

    fn bind_any(
        shared: Arc<Shared>,
        addrs: Vec<SocketAddr>,
        transparent: bool,
    ) -> io::Result<UdpSocket> {
        let mut last = None;
        for a in addrs {
            let bound = shared.with_stack(|s, _| match transparent {
                true => s.udp_bind_transparent(a),
                false => s.udp_bind(a),
            })?;
            match bound {
                Ok(handle) => {
                    return Ok(UdpSocket {
                        sock: Owned::new(shared.clone(), handle),
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

    /// Receives one datagram (truncated to `buf`): its length, sender and
    /// destination (Linux's `IP_PKTINFO` / `IP_RECVORIGDSTADDR`; for a
    /// transparent socket, the address the client sent to).
    pub async fn recv_from_to(
        &self,
        buf: &mut [u8],
    ) -> io::Result<(usize, SocketAddr, SocketAddr)> {
        let h = self.sock.handle;
        poll_fn(|cx| {
            self.sock
                .shared
                .poll_op(cx, h, Direction::Read, |s, _| s.udp_recv_from_to(h, buf))
        })
        .await
    }

    /// Sends `buf` as one datagram to `dst` from `src` (from a transparent
    /// socket any unicast address of the family, from another one of its own),
    /// waiting for room in the send queue.
    pub async fn send_from_to(
        &self,
        buf: &[u8],
        src: SocketAddr,
        dst: SocketAddr,
    ) -> io::Result<usize> {
        let h = self.sock.handle;
        poll_fn(|cx| {
            self.sock.shared.poll_op(cx, h, Direction::Write, |s, _| {
                s.udp_send_from_to(h, buf, src, dst)
            })
        })
        .await
    }

    /// Polls receiving a datagram into `buf`: the sender once one is there.
    pub fn poll_recv_from(
        &self,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<SocketAddr>> {
        self.poll_datagram(cx, buf, false)
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

    /// Waits until the socket is ready for one of `interest`'s operations: the
    /// ready bits (`READABLE` with a datagram or an error waiting, `WRITABLE`
    /// with room in the send queue).
    pub async fn ready(&self, interest: Interest) -> io::Result<Ready> {
        let h = self.sock.handle;
        poll_fn(|cx| {
            self.sock
                .shared
                .poll_op(cx, h, readiness::direction(interest), |s, _| {
                    readiness::select(readiness::udp(s, h), interest)
                })
        })
        .await
    }

    /// Waits until a receive would not wait.
    pub async fn readable(&self) -> io::Result<()> {
        poll_fn(|cx| self.poll_recv_ready(cx)).await
    }

    /// Waits until a send would not wait.
    pub async fn writable(&self) -> io::Result<()> {
        poll_fn(|cx| self.poll_send_ready(cx)).await
    }

    /// Polls for receive readiness (see [`UdpSocket::readable`]).
    pub fn poll_recv_ready(&self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let h = self.sock.handle;
        self.sock.shared.poll_op(cx, h, Direction::Read, |s, _| {
            readiness::select(readiness::udp(s, h), Interest::READABLE).map(drop)
        })
    }

    /// Polls for send readiness (see [`UdpSocket::writable`]).
    pub fn poll_send_ready(&self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let h = self.sock.handle;
        self.sock.shared.poll_op(cx, h, Direction::Write, |s, _| {
            readiness::select(readiness::udp(s, h), Interest::WRITABLE).map(drop)
        })
    }

    /// Polls sending `buf` to the connected peer.
    pub fn poll_send(&self, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        let h = self.sock.handle;
        self.sock
            .shared
            .poll_op(cx, h, Direction::Write, |s, _| s.udp_send(h, buf))
    }

    /// Sends a datagram to the connected peer if the send queue has room
    /// (`WouldBlock` if not).
    pub fn try_send(&self, buf: &[u8]) -> io::Result<usize> {
        let h = self.sock.handle;
        self.sock
            .shared
            .with_stack(|s, _| s.udp_send(h, buf))?
            .map_err(io::Error::from)
    }

    /// Polls receiving a datagram from the connected peer into `buf`.
    pub fn poll_recv(&self, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        self.poll_recv_from(cx, buf).map_ok(drop)
    }

    /// Receives a datagram from the connected peer if one is waiting
    /// (`WouldBlock` if not).
    pub fn try_recv(&self, buf: &mut [u8]) -> io::Result<usize> {
        self.try_recv_from(buf).map(|(n, _)| n)
    }

    /// Receives the next datagram (truncated to `buf`) without taking it
    /// (`MSG_PEEK`), waiting for one: its length and sender.
    pub async fn peek_from(&self, buf: &mut [u8]) -> io::Result<(usize, SocketAddr)> {
        let h = self.sock.handle;
        poll_fn(|cx| {
            self.sock
                .shared
                .poll_op(cx, h, Direction::Read, |s, _| s.udp_peek_from(h, buf))
        })
        .await
    }

    /// Polls peeking at the next datagram into `buf`: its sender once one is there.
    pub fn poll_peek_from(
        &self,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<SocketAddr>> {
        self.poll_datagram(cx, buf, true)
    }

    /// [`poll_recv_from`](Self::poll_recv_from) (`peek` false) and
    /// [`poll_peek_from`](Self::poll_peek_from) (`peek` true): the datagram into
    /// `buf`'s unfilled part, its sender once one is there.
    fn poll_datagram(
        &self,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
        peek: bool,
    ) -> Poll<io::Result<SocketAddr>> {
        let h = self.sock.handle;
        let dst = buf.initialize_unfilled();
        let n_from = self.sock.shared.poll_op(cx, h, Direction::Read, |s, _| {
            if peek {
                s.udp_peek_from(h, dst)
            } else {
                s.udp_recv_from(h, dst)
            }
        });
        n_from.map_ok(|(n, from)| {
            buf.advance(n);
            from
        })
    }

    /// Peeks at the next datagram if one is waiting (`WouldBlock` if not).
    pub fn try_peek_from(&self, buf: &mut [u8]) -> io::Result<(usize, SocketAddr)> {
        let h = self.sock.handle;
        self.sock
            .shared
            .with_stack(|s, _| s.udp_peek_from(h, buf))?
            .map_err(io::Error::from)
    }

    /// Receives the next datagram from the connected peer without taking it,
    /// waiting for one: its length.
    pub async fn peek(&self, buf: &mut [u8]) -> io::Result<usize> {
        self.peek_from(buf).await.map(|(n, _)| n)
    }

    /// Polls peeking at the next datagram from the connected peer into `buf`.
    pub fn poll_peek(&self, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        self.poll_peek_from(cx, buf).map_ok(drop)
    }

    /// Peeks at the next datagram from the connected peer if one is waiting.
    pub fn try_peek(&self, buf: &mut [u8]) -> io::Result<usize> {
        self.try_peek_from(buf).map(|(n, _)| n)
    }

    /// The sender of the next datagram, waiting for one, without taking it.
    pub async fn peek_sender(&self) -> io::Result<SocketAddr> {
        self.peek_from(&mut []).await.map(|(_, from)| from)
    }

    /// Polls for the sender of the next datagram.
    pub fn poll_peek_sender(&self, cx: &mut Context<'_>) -> Poll<io::Result<SocketAddr>> {
        self.poll_peek_from(cx, &mut ReadBuf::new(&mut []))
    }

    /// The sender of the next datagram if one is waiting (`WouldBlock` if not).
    pub fn try_peek_sender(&self) -> io::Result<SocketAddr> {
        self.try_peek_from(&mut []).map(|(_, from)| from)
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

    /// Sets the TTL of the socket's datagrams (`IP_TTL`; the values
    /// [`TcpStream::set_ttl`](super::TcpStream::set_ttl) takes).
    pub fn set_ttl(&self, ttl: u32) -> io::Result<()> {
        self.sock.set_ttl(Kind::Udp, ttl)
    }

    /// The TTL of the socket's datagrams.
    pub fn ttl(&self) -> io::Result<u32> {
        self.sock.ttl(Kind::Udp)
    }

    /// Takes the socket's pending error (`SO_ERROR`): on a connected socket,
    /// an ICMP port unreachable (`ConnectionRefused`) or host unreachable for a
    /// datagram sent to its peer; Linux reports none to an unconnected socket.
    pub fn take_error(&self) -> io::Result<Option<io::Error>> {
        self.sock.take_error(Kind::Udp)
    }
}
