//! The halves of a [`TcpStream`] (`tokio::net::tcp`): borrowed ([`ReadHalf`],
//! [`WriteHalf`]) from [`TcpStream::split`], owned ([`OwnedReadHalf`],
//! [`OwnedWriteHalf`]) from [`TcpStream::into_split`].

use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::task::{Context, Poll};

use ::tokio::io::{AsyncRead, AsyncWrite, Interest, ReadBuf, Ready};

use super::TcpStream;

/// The read half of a borrowed stream.
#[derive(Debug)]
pub struct ReadHalf<'a>(&'a TcpStream);

/// The write half of a borrowed stream; `poll_shutdown` sends the FIN.
#[derive(Debug)]
pub struct WriteHalf<'a>(&'a TcpStream);

/// The read half of a stream, movable to another task.
#[derive(Debug)]
pub struct OwnedReadHalf(TcpStream);

/// The write half of a stream, movable to another task. Dropping it shuts down
/// writing (a FIN), unless [`OwnedWriteHalf::forget`] was called.
#[derive(Debug)]
pub struct OwnedWriteHalf {
    stream: TcpStream,
    shutdown_on_drop: bool,
}

impl<'a> ReadHalf<'a> {
    pub(super) fn new(s: &'a TcpStream) -> Self {
        ReadHalf(s)
    }

    /// The remote address.
    pub fn peer_addr(&self) -> io::Result<SocketAddr> {
        self.0.peer_addr()
    }

    /// The local address.
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.0.local_addr()
    }

    /// [`TcpStream::ready`] of the stream.
    pub async fn ready(&self, interest: Interest) -> io::Result<Ready> {
        self.0.ready(interest).await
    }

    /// [`TcpStream::readable`] of the stream.
    pub async fn readable(&self) -> io::Result<()> {
        self.0.readable().await
    }

    /// [`TcpStream::try_read`] of the stream.
    pub fn try_read(&self, buf: &mut [u8]) -> io::Result<usize> {
        self.0.try_read(buf)
    }

    /// [`TcpStream::peek`] of the stream.
    pub async fn peek(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.0.peek(buf).await
    }

    /// [`TcpStream::poll_peek`] of the stream.
    pub fn poll_peek(
        &mut self,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<usize>> {
        self.0.poll_peek(cx, buf)
    }
}

impl<'a> WriteHalf<'a> {
    pub(super) fn new(s: &'a TcpStream) -> Self {
        WriteHalf(s)
    }

    /// The remote address.
    pub fn peer_addr(&self) -> io::Result<SocketAddr> {
        self.0.peer_addr()
    }

    /// The local address.
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.0.local_addr()
    }

    /// [`TcpStream::ready`] of the stream.
    pub async fn ready(&self, interest: Interest) -> io::Result<Ready> {
        self.0.ready(interest).await
    }

    /// [`TcpStream::writable`] of the stream.
    pub async fn writable(&self) -> io::Result<()> {
        self.0.writable().await
    }

    /// [`TcpStream::try_write`] of the stream.
    pub fn try_write(&self, buf: &[u8]) -> io::Result<usize> {
        self.0.try_write(buf)
    }
}

impl OwnedReadHalf {
    pub(super) fn new(s: TcpStream) -> Self {
        OwnedReadHalf(s)
    }

    /// The remote address.
    pub fn peer_addr(&self) -> io::Result<SocketAddr> {
        self.0.peer_addr()
    }

    /// The local address.
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.0.local_addr()
    }

    /// [`TcpStream::ready`] of the stream.
    pub async fn ready(&self, interest: Interest) -> io::Result<Ready> {
        self.0.ready(interest).await
    }

    /// [`TcpStream::readable`] of the stream.
    pub async fn readable(&self) -> io::Result<()> {
        self.0.readable().await
    }

    /// [`TcpStream::try_read`] of the stream.
    pub fn try_read(&self, buf: &mut [u8]) -> io::Result<usize> {
        self.0.try_read(buf)
    }

    /// [`TcpStream::peek`] of the stream.
    pub async fn peek(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.0.peek(buf).await
    }

    /// [`TcpStream::poll_peek`] of the stream.
    pub fn poll_peek(
        &mut self,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<usize>> {
        self.0.poll_peek(cx, buf)
    }
}

impl OwnedWriteHalf {
    pub(super) fn new(stream: TcpStream) -> Self {
        OwnedWriteHalf {
            stream,
            shutdown_on_drop: true,
        }
    }

    /// Drops the half without shutting down writing.
    pub fn forget(mut self) {
        self.shutdown_on_drop = false;
    }

    /// The remote address.
    pub fn peer_addr(&self) -> io::Result<SocketAddr> {
        self.stream.peer_addr()
    }

    /// The local address.
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.stream.local_addr()
    }

    /// [`TcpStream::ready`] of the stream.
    pub async fn ready(&self, interest: Interest) -> io::Result<Ready> {
        self.stream.ready(interest).await
    }

    /// [`TcpStream::writable`] of the stream.
    pub async fn writable(&self) -> io::Result<()> {
        self.stream.writable().await
    }

    /// [`TcpStream::try_write`] of the stream.
    pub fn try_write(&self, buf: &[u8]) -> io::Result<usize> {
        self.stream.try_write(buf)
    }
}

impl Drop for OwnedWriteHalf {
    fn drop(&mut self) {
        if self.shutdown_on_drop {
            let _ = self.stream.shutdown_write();
        }
    }
}

impl AsyncRead for ReadHalf<'_> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        self.0.poll_read_priv(cx, buf)
    }
}

impl AsyncRead for OwnedReadHalf {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        self.0.poll_read_priv(cx, buf)
    }
}

impl AsyncWrite for WriteHalf<'_> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        self.0.poll_write_priv(cx, buf)
    }

    fn poll_flush(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }

    fn poll_shutdown(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(self.0.shutdown_write())
    }
}

impl AsyncWrite for OwnedWriteHalf {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        self.stream.poll_write_priv(cx, buf)
    }

    fn poll_flush(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }

    fn poll_shutdown(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(self.stream.shutdown_write())
    }
}
