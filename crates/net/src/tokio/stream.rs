//! The async [`TcpStream`] (`tokio::net::TcpStream`): tokio's `AsyncRead` and
//! `AsyncWrite`, readiness through the layer4 runtime's wakers.

use std::future::{poll_fn, Future};
use std::io;
use std::net::{SocketAddr, ToSocketAddrs};
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use ::tokio::io::{AsyncRead, AsyncWrite, Interest, ReadBuf, Ready};
use layer4::{Error, SocketHandle};

use super::tcp::{OwnedReadHalf, OwnedWriteHalf, ReadHalf, WriteHalf};
use super::{readiness, resolve};
use crate::ip_ttl::Kind;
use crate::runtime::{Direction, Runtime, Shared};
use crate::std_api::{connect_progress, peer_addr, Owned};

/// A TCP connection. The connection is closed (FIN, in the background) when the
/// stream, or the last of its halves, is dropped.
#[derive(Debug)]
pub struct TcpStream {
    sock: Arc<Owned>,
}

impl TcpStream {
    pub(crate) fn from_handle(shared: Arc<Shared>, handle: SocketHandle) -> TcpStream {
        TcpStream::from_owned(Owned::new(shared, handle))
    }

    pub(crate) fn from_owned(sock: Owned) -> TcpStream {
        TcpStream {
            sock: Arc::new(sock),
        }
    }

    fn shared(&self) -> &Shared {
        &self.sock.shared
    }

    fn handle(&self) -> SocketHandle {
        self.sock.handle
    }

    /// Connects to `addr` (each address it resolves to in turn), completing when
    /// the handshake does. The future does not borrow the runtime (it can be
    /// spawned); dropping it abandons the attempt (the half-open connection is
    /// closed).
    pub fn connect<A: ToSocketAddrs>(
        rt: &Runtime,
        addr: A,
    ) -> impl Future<Output = io::Result<TcpStream>> + Send + 'static {
        let shared = rt.shared.clone();
        let addrs = resolve(addr);
        async move {
            let mut last = None;
            for a in addrs? {
                match Self::connect_one(&shared, a).await {
                    Ok(s) => return Ok(s),
                    Err(e) => last = Some(e),
                }
            }
            Err(last.unwrap_or_else(|| io::Error::other("no address")))
        }
    }

    /// Connects to `addr` from `from`, which may be any unicast address of
    /// its family (`IP_TRANSPARENT`); as
    /// [`crate::TcpStream::connect_transparent`], whose docs say more.
    /// The future does not borrow the runtime.
    pub fn connect_transparent(
        rt: &Runtime,
        addr: SocketAddr,
        from: SocketAddr,
    ) -> impl Future<Output = io::Result<TcpStream>> + Send + 'static {
        let shared = rt.shared.clone();
        async move { Self::connect_from(&shared, addr, Some(from)).await }
    }

    async fn connect_one(shared: &Arc<Shared>, addr: SocketAddr) -> io::Result<TcpStream> {
        Self::connect_from(shared, addr, None).await
    }

    async fn connect_from(
        shared: &Arc<Shared>,
        addr: SocketAddr,
        from: Option<SocketAddr>,
    ) -> io::Result<TcpStream> {
        let handle = shared.with_stack(|s, now| match from {
            None => s.tcp_connect(now, addr, None),
            Some(from) => s.tcp_connect_transparent(now, addr, from),
        })??;
        // The stream owns the handle from here: an error or a drop closes it.
        let stream = TcpStream::from_handle(shared.clone(), handle);
        poll_fn(|cx| {
            stream
                .shared()
                .poll_op(cx, handle, Direction::Write, |s, now| {
                    connect_progress(s, now, handle)
                })
        })
        .await?;
        Ok(stream)
    }

    /// The local address.
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        let h = self.handle();
        Ok(self.shared().with_stack(|s, _| s.tcp_addrs(h))??.0)
    }

    /// The remote address (`NotConnected` once the connection is over, as
    /// tokio's on Linux).
    pub fn peer_addr(&self) -> io::Result<SocketAddr> {
        let h = self.handle();
        Ok(self.shared().with_stack(|s, _| peer_addr(s, h))??)
    }

    /// Disables (`true`) or enables Nagle's algorithm (`TCP_NODELAY`).
    pub fn set_nodelay(&self, nodelay: bool) -> io::Result<()> {
        let h = self.handle();
        Ok(self
            .shared()
            .with_stack(|s, now| s.tcp_set_nodelay(now, h, nodelay))??)
    }

    /// Whether Nagle's algorithm is disabled.
    pub fn nodelay(&self) -> io::Result<bool> {
        let h = self.handle();
        Ok(self.shared().with_stack(|s, _| s.tcp_options(h))??.nodelay)
    }

    /// Sets the TTL of the connection's packets (`IP_TTL`): 1 to 255, or
    /// `u32::MAX` for the stack's default; anything else fails with
    /// `InvalidInput` (`EINVAL`), as on Linux. On an IPv6 connection the value
    /// only concerns IPv4-mapped traffic (none in layer4), as on Linux: `ttl`
    /// returns it, the hop limit is unchanged.
    pub fn set_ttl(&self, ttl: u32) -> io::Result<()> {
        self.sock.set_ttl(Kind::TcpStream, ttl)
    }

    /// The TTL of the connection's packets (`IP_TTL`).
    pub fn ttl(&self) -> io::Result<u32> {
        self.sock.ttl(Kind::TcpStream)
    }

    /// Takes the connection's pending error (`SO_ERROR`): its failure (a
    /// reset, a timeout) if no read, peek or write reported it yet (reads then
    /// return `Ok(0)` and writes `BrokenPipe`), else a soft error (an ICMP
    /// unreachable the connection survived), as on Linux.
    pub fn take_error(&self) -> io::Result<Option<io::Error>> {
        self.sock.take_error(Kind::TcpStream)
    }

    /// The stream's `SO_LINGER`, in whole seconds (`None`: not set).
    pub fn linger(&self) -> io::Result<Option<Duration>> {
        let h = self.handle();
        self.shared().with_stack(|s, _| s.tcp_state(h))??;
        Ok(self.shared().linger(h))
    }

    /// Sets `SO_LINGER` (whole seconds, as Linux keeps it: under a second is
    /// zero). Zero makes the close (the drop of the stream or of its last
    /// half) abortive, as [`TcpStream::set_zero_linger`]. Longer: on Linux the
    /// close blocks the thread until the FIN is acknowledged or the time runs
    /// out (why tokio deprecates this method); here the drop does not block and
    /// the data and FIN leave in the background, what the peer sees either way.
    #[deprecated = "`SO_LINGER` causes the socket to block the thread on drop"]
    pub fn set_linger(&self, dur: Option<Duration>) -> io::Result<()> {
        let h = self.handle();
        self.shared().with_stack(|s, _| s.tcp_state(h))??;
        self.shared().set_linger(h, dur);
        Ok(())
    }

    /// Sets a zero `SO_LINGER`: the close (the drop of the stream or of its
    /// last half) aborts the connection, as on Linux: unsent data is discarded
    /// and a RST is sent (none in SYN-SENT), no TIME-WAIT follows.
    pub fn set_zero_linger(&self) -> io::Result<()> {
        let h = self.handle();
        self.shared().with_stack(|s, _| s.tcp_state(h))??;
        self.shared().set_linger(h, Some(Duration::ZERO));
        Ok(())
    }

    /// Waits until the stream is ready for one of `interest`'s operations: the
    /// ready bits (`READABLE` with `READ_CLOSED` at the end of the stream or
    /// after an error, `WRITABLE` with `WRITE_CLOSED` once writing is over,
    /// `PRIORITY` with urgent data pending). Readiness can be stale by the time
    /// the caller acts: a `try_read`/`try_write` may still say `WouldBlock`.
    pub async fn ready(&self, interest: Interest) -> io::Result<Ready> {
        poll_fn(|cx| self.poll_ready(cx, interest)).await
    }

    fn poll_ready(&self, cx: &mut Context<'_>, interest: Interest) -> Poll<io::Result<Ready>> {
        let h = self.handle();
        self.shared()
            .poll_op(cx, h, readiness::direction(interest), |s, _| {
                readiness::select(readiness::tcp(s, h, self.sock.sk_err.taken()), interest)
            })
    }

    /// Waits until a read would not wait: data is buffered, the peer has closed,
    /// or the connection failed (the read then returns the error).
    pub async fn readable(&self) -> io::Result<()> {
        poll_fn(|cx| self.poll_read_ready(cx)).await
    }

    /// Polls for read readiness (see [`TcpStream::readable`]).
    pub fn poll_read_ready(&self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.poll_ready(cx, Interest::READABLE).map_ok(drop)
    }

    /// Waits until a write would not wait: the send buffer has room, or writing is
    /// over (the write then returns the error).
    pub async fn writable(&self) -> io::Result<()> {
        poll_fn(|cx| self.poll_write_ready(cx)).await
    }

    /// Polls for write readiness (see [`TcpStream::writable`]).
    pub fn poll_write_ready(&self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.poll_ready(cx, Interest::WRITABLE).map_ok(drop)
    }

    /// Receives data without taking it (`MSG_PEEK`), waiting for some: the next
    /// read returns the same bytes. `Ok(0)` at the end of the stream.
    pub async fn peek(&self, buf: &mut [u8]) -> io::Result<usize> {
        if buf.is_empty() {
            return Ok(0);
        }
        let h = self.handle();
        let sk_err = &self.sock.sk_err;
        poll_fn(|cx| {
            self.shared().poll_op(cx, h, Direction::Read, |s, _| {
                sk_err.read(s.tcp_peek(h, buf))
            })
        })
        .await
    }

    /// Polls receiving data without taking it into `buf`'s unfilled part: the
    /// number of bytes peeked (`0` at the end of the stream).
    pub fn poll_peek(
        &self,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<usize>> {
        if buf.remaining() == 0 {
            return Poll::Ready(Ok(0));
        }
        let h = self.handle();
        let dst = buf.initialize_unfilled();
        let sk_err = &self.sock.sk_err;
        match self.shared().poll_op(cx, h, Direction::Read, |s, _| {
            sk_err.read(s.tcp_peek(h, dst))
        }) {
            Poll::Ready(Ok(n)) => {
                buf.advance(n);
                Poll::Ready(Ok(n))
            }
            other => other,
        }
    }

    /// Reads what is there without waiting: `WouldBlock` when nothing is; `Ok(0)` at
    /// the end of the stream.
    pub fn try_read(&self, buf: &mut [u8]) -> io::Result<usize> {
        let h = self.handle();
        self.shared()
            .with_stack(|s, now| self.sock.sk_err.read(s.tcp_recv(now, h, buf)))?
            .map_err(io::Error::from)
    }

    /// Writes what fits without waiting: `WouldBlock` when the send buffer is full.
    pub fn try_write(&self, buf: &[u8]) -> io::Result<usize> {
        let h = self.handle();
        self.shared()
            .with_stack(|s, now| {
                self.sock
                    .sk_err
                    .write(send_some(s.tcp_send(now, h, buf), buf))
            })?
            .map_err(io::Error::from)
    }

    /// Splits the stream into a read half and a write half borrowing it.
    pub fn split(&mut self) -> (ReadHalf<'_>, WriteHalf<'_>) {
        (ReadHalf::new(self), WriteHalf::new(self))
    }

    /// Splits the stream into halves that can move to different tasks. Dropping
    /// the write half shuts down writing (a FIN), as tokio's does.
    pub fn into_split(self) -> (OwnedReadHalf, OwnedWriteHalf) {
        let other = TcpStream {
            sock: self.sock.clone(),
        };
        (OwnedReadHalf::new(self), OwnedWriteHalf::new(other))
    }

    pub(crate) fn poll_read_priv(
        &self,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        if buf.remaining() == 0 {
            return Poll::Ready(Ok(()));
        }
        let h = self.handle();
        let dst = buf.initialize_unfilled();
        let sk_err = &self.sock.sk_err;
        match self.shared().poll_op(cx, h, Direction::Read, |s, now| {
            sk_err.read(s.tcp_recv(now, h, dst))
        }) {
            Poll::Ready(Ok(n)) => {
                buf.advance(n);
                Poll::Ready(Ok(()))
            }
            Poll::Ready(Err(e)) => Poll::Ready(Err(e)),
            Poll::Pending => Poll::Pending,
        }
    }

    pub(crate) fn poll_write_priv(
        &self,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        if buf.is_empty() {
            return Poll::Ready(Ok(0));
        }
        let h = self.handle();
        let sk_err = &self.sock.sk_err;
        self.shared().poll_op(cx, h, Direction::Write, |s, now| {
            sk_err.write(send_some(s.tcp_send(now, h, buf), buf))
        })
    }

    /// Shuts down writing: a FIN follows the data written.
    pub(crate) fn shutdown_write(&self) -> io::Result<()> {
        let h = self.handle();
        Ok(self
            .shared()
            .with_stack(|s, now| s.tcp_shutdown(now, h, layer4::Shutdown::Write))??)
    }
}

/// A send that took nothing of a non-empty buffer is `WouldBlock` (wait for
/// `Writable`), never a `0` that `write_all` would take for a closed stream.
fn send_some(r: Result<usize, Error>, buf: &[u8]) -> Result<usize, Error> {
    match r {
        Ok(0) if !buf.is_empty() => Err(Error::WouldBlock),
        r => r,
    }
}

impl AsyncRead for TcpStream {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        self.poll_read_priv(cx, buf)
    }
}

impl AsyncWrite for TcpStream {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        self.poll_write_priv(cx, buf)
    }

    /// Data is handed to the stack by `poll_write`; nothing to flush.
    fn poll_flush(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }

    /// Shuts down writing (a FIN after the data written), as tokio's does.
    fn poll_shutdown(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(self.shutdown_write())
    }
}
