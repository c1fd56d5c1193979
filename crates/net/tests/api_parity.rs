//! Compile-time parity of layer4's socket APIs with `std::net` and `tokio::net`.
//!
//! Each signature is written once, in a macro, and the macro is expanded twice:
//! in a module where `TcpStream` & co. are std's (or tokio's), and in one where
//! they are layer4's. A method whose name, receiver, arguments or result drift
//! from std's or tokio's stops this file from compiling.
//!
//! - Blocking methods are cast to the fn-pointer type (exact: no autoref, no
//!   coercion of arguments or result).
//! - Async methods are awaited inside an `async fn` with the stated arguments and
//!   result, called path-style (`TcpListener::accept(l)`), so the receiver kind and
//!   the output type must match.
//! - Constructors (`bind`, `connect`, `connect_timeout`) take the `Runtime` first
//!   in layer4 and nothing else differs: the expansion for layer4 prepends
//!   `&Runtime` to the same argument list.
//!
//! tokio's `TcpListener` has no `take_error` (std's has): layer4's async one
//! has none either.
//!
//! Deliberate differences, not checked here: `TcpListener::incoming` returns an
//! `impl Iterator` rather than `std::net::Incoming`; addresses are
//! `std::net::ToSocketAddrs` in the tokio API too (tokio's trait is sealed); the
//! signatures are checked at `A = SocketAddr`.
#![allow(dead_code, clippy::type_complexity)]

/// The `std::net` signatures layer4's blocking sockets mirror.
macro_rules! std_net_signatures {
    ([$($rt:ty,)?]) => {
        pub fn signatures() {
            // TcpListener
            let _ = TcpListener::bind::<SocketAddr> as fn($($rt,)? SocketAddr) -> io::Result<TcpListener>;
            let _ = TcpListener::accept as fn(&TcpListener) -> io::Result<(TcpStream, SocketAddr)>;
            let _ = TcpListener::local_addr as fn(&TcpListener) -> io::Result<SocketAddr>;
            let _ = TcpListener::set_nonblocking as fn(&TcpListener, bool) -> io::Result<()>;
            let _ = TcpListener::try_clone as fn(&TcpListener) -> io::Result<TcpListener>;
            let _ = TcpListener::set_ttl as fn(&TcpListener, u32) -> io::Result<()>;
            let _ = TcpListener::ttl as fn(&TcpListener) -> io::Result<u32>;
            let _ = TcpListener::take_error as fn(&TcpListener) -> io::Result<Option<io::Error>>;
            // TcpStream
            let _ = TcpStream::connect::<SocketAddr> as fn($($rt,)? SocketAddr) -> io::Result<TcpStream>;
            let _ = TcpStream::connect_timeout
                as fn($($rt,)? &SocketAddr, Duration) -> io::Result<TcpStream>;
            let _ = TcpStream::peer_addr as fn(&TcpStream) -> io::Result<SocketAddr>;
            let _ = TcpStream::local_addr as fn(&TcpStream) -> io::Result<SocketAddr>;
            let _ = TcpStream::shutdown as fn(&TcpStream, Shutdown) -> io::Result<()>;
            let _ = TcpStream::set_nodelay as fn(&TcpStream, bool) -> io::Result<()>;
            let _ = TcpStream::nodelay as fn(&TcpStream) -> io::Result<bool>;
            let _ = TcpStream::set_read_timeout as fn(&TcpStream, Option<Duration>) -> io::Result<()>;
            let _ = TcpStream::set_write_timeout as fn(&TcpStream, Option<Duration>) -> io::Result<()>;
            let _ = TcpStream::read_timeout as fn(&TcpStream) -> io::Result<Option<Duration>>;
            let _ = TcpStream::write_timeout as fn(&TcpStream) -> io::Result<Option<Duration>>;
            let _ = TcpStream::try_clone as fn(&TcpStream) -> io::Result<TcpStream>;
            let _ = TcpStream::peek as fn(&TcpStream, &mut [u8]) -> io::Result<usize>;
            let _ = TcpStream::set_nonblocking as fn(&TcpStream, bool) -> io::Result<()>;
            let _ = TcpStream::set_ttl as fn(&TcpStream, u32) -> io::Result<()>;
            let _ = TcpStream::ttl as fn(&TcpStream) -> io::Result<u32>;
            let _ = TcpStream::take_error as fn(&TcpStream) -> io::Result<Option<io::Error>>;
            let _ = <TcpStream as Read>::read as fn(&mut TcpStream, &mut [u8]) -> io::Result<usize>;
            let _ = <TcpStream as Write>::write as fn(&mut TcpStream, &[u8]) -> io::Result<usize>;
            let _ = <&'static TcpStream as Read>::read as fn(&mut &'static TcpStream, &mut [u8]) -> io::Result<usize>;
            let _ = <&'static TcpStream as Write>::write as fn(&mut &'static TcpStream, &[u8]) -> io::Result<usize>;
            // UdpSocket
            let _ = UdpSocket::bind::<SocketAddr> as fn($($rt,)? SocketAddr) -> io::Result<UdpSocket>;
            let _ = UdpSocket::try_clone as fn(&UdpSocket) -> io::Result<UdpSocket>;
            let _ = UdpSocket::connect::<SocketAddr> as fn(&UdpSocket, SocketAddr) -> io::Result<()>;
            let _ = UdpSocket::send_to::<SocketAddr>
                as fn(&UdpSocket, &[u8], SocketAddr) -> io::Result<usize>;
            let _ = UdpSocket::recv_from
                as fn(&UdpSocket, &mut [u8]) -> io::Result<(usize, SocketAddr)>;
            let _ = UdpSocket::send as fn(&UdpSocket, &[u8]) -> io::Result<usize>;
            let _ = UdpSocket::recv as fn(&UdpSocket, &mut [u8]) -> io::Result<usize>;
            let _ = UdpSocket::local_addr as fn(&UdpSocket) -> io::Result<SocketAddr>;
            let _ = UdpSocket::set_read_timeout as fn(&UdpSocket, Option<Duration>) -> io::Result<()>;
            let _ = UdpSocket::set_write_timeout as fn(&UdpSocket, Option<Duration>) -> io::Result<()>;
            let _ = UdpSocket::read_timeout as fn(&UdpSocket) -> io::Result<Option<Duration>>;
            let _ = UdpSocket::write_timeout as fn(&UdpSocket) -> io::Result<Option<Duration>>;
            let _ = UdpSocket::set_broadcast as fn(&UdpSocket, bool) -> io::Result<()>;
            let _ = UdpSocket::peek as fn(&UdpSocket, &mut [u8]) -> io::Result<usize>;
            let _ = UdpSocket::peek_from
                as fn(&UdpSocket, &mut [u8]) -> io::Result<(usize, SocketAddr)>;
            let _ = UdpSocket::set_nonblocking as fn(&UdpSocket, bool) -> io::Result<()>;
            let _ = UdpSocket::set_ttl as fn(&UdpSocket, u32) -> io::Result<()>;
            let _ = UdpSocket::ttl as fn(&UdpSocket) -> io::Result<u32>;
            let _ = UdpSocket::take_error as fn(&UdpSocket) -> io::Result<Option<io::Error>>;
        }

        fn traits<T: Send + Sync + std::fmt::Debug>() {}
        pub fn auto_traits() {
            traits::<TcpListener>();
            traits::<TcpStream>();
            traits::<UdpSocket>();
        }
    };
}

mod std_net {
    use std::io::{self, Read, Write};
    use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream, UdpSocket};
    use std::time::Duration;
    std_net_signatures!([]);
}

mod layer4_blocking {
    use layer4_net::{TcpListener, TcpStream, UdpSocket};
    use std::io::{self, Read, Write};
    use std::net::{Shutdown, SocketAddr};
    use std::time::Duration;
    std_net_signatures!([&layer4_net::Runtime,]);
}

/// The `tokio::net` signatures layer4's async sockets mirror. `$rt` is the
/// runtime parameter of constructors (`rt: &Runtime,` for layer4, nothing for
/// tokio); the call passes it on.
macro_rules! tokio_net_signatures {
    ([$($rt:ident: $rtty:ty,)?]) => {
        // Constructors.
        pub async fn listener_bind($($rt: $rtty,)? a: SocketAddr) -> io::Result<TcpListener> {
            TcpListener::bind($($rt,)? a).await
        }
        pub async fn stream_connect($($rt: $rtty,)? a: SocketAddr) -> io::Result<TcpStream> {
            TcpStream::connect($($rt,)? a).await
        }
        pub async fn udp_bind($($rt: $rtty,)? a: SocketAddr) -> io::Result<UdpSocket> {
            UdpSocket::bind($($rt,)? a).await
        }
        // Async methods.
        pub async fn accept(l: &TcpListener) -> io::Result<(TcpStream, SocketAddr)> {
            TcpListener::accept(l).await
        }
        pub async fn readable(s: &TcpStream) -> io::Result<()> {
            TcpStream::readable(s).await
        }
        pub async fn writable(s: &TcpStream) -> io::Result<()> {
            TcpStream::writable(s).await
        }
        pub async fn ready(s: &TcpStream, i: Interest) -> io::Result<Ready> {
            TcpStream::ready(s, i).await
        }
        pub async fn peek(s: &TcpStream, b: &mut [u8]) -> io::Result<usize> {
            TcpStream::peek(s, b).await
        }
        pub async fn owned_read_half(h: &mut tcp::OwnedReadHalf, i: Interest, b: &mut [u8]) -> io::Result<Ready> {
            tcp::OwnedReadHalf::readable(h).await?;
            tcp::OwnedReadHalf::peek(h, b).await?;
            tcp::OwnedReadHalf::ready(h, i).await
        }
        pub async fn owned_write_half(h: &tcp::OwnedWriteHalf, i: Interest) -> io::Result<Ready> {
            tcp::OwnedWriteHalf::writable(h).await?;
            tcp::OwnedWriteHalf::ready(h, i).await
        }
        pub async fn read_half(h: &mut tcp::ReadHalf<'_>, i: Interest, b: &mut [u8]) -> io::Result<Ready> {
            tcp::ReadHalf::readable(h).await?;
            tcp::ReadHalf::peek(h, b).await?;
            tcp::ReadHalf::ready(h, i).await
        }
        pub async fn write_half(h: &tcp::WriteHalf<'_>, i: Interest) -> io::Result<Ready> {
            tcp::WriteHalf::writable(h).await?;
            tcp::WriteHalf::ready(h, i).await
        }
        pub async fn udp_ready(u: &UdpSocket, i: Interest) -> io::Result<Ready> {
            UdpSocket::ready(u, i).await
        }
        pub async fn udp_readable(u: &UdpSocket) -> io::Result<()> {
            UdpSocket::readable(u).await
        }
        pub async fn udp_writable(u: &UdpSocket) -> io::Result<()> {
            UdpSocket::writable(u).await
        }
        pub async fn udp_peek_from(u: &UdpSocket, b: &mut [u8]) -> io::Result<(usize, SocketAddr)> {
            UdpSocket::peek_from(u, b).await
        }
        pub async fn udp_peek(u: &UdpSocket, b: &mut [u8]) -> io::Result<usize> {
            UdpSocket::peek(u, b).await
        }
        pub async fn udp_peek_sender(u: &UdpSocket) -> io::Result<SocketAddr> {
            UdpSocket::peek_sender(u).await
        }
        pub async fn udp_connect(u: &UdpSocket, a: SocketAddr) -> io::Result<()> {
            UdpSocket::connect(u, a).await
        }
        pub async fn send_to(u: &UdpSocket, b: &[u8], a: SocketAddr) -> io::Result<usize> {
            UdpSocket::send_to(u, b, a).await
        }
        pub async fn recv_from(u: &UdpSocket, b: &mut [u8]) -> io::Result<(usize, SocketAddr)> {
            UdpSocket::recv_from(u, b).await
        }
        pub async fn send(u: &UdpSocket, b: &[u8]) -> io::Result<usize> {
            UdpSocket::send(u, b).await
        }
        pub async fn recv(u: &UdpSocket, b: &mut [u8]) -> io::Result<usize> {
            UdpSocket::recv(u, b).await
        }

        pub fn signatures() {
            // TcpListener
            let _ = TcpListener::poll_accept
                as fn(&TcpListener, &mut Context<'_>) -> Poll<io::Result<(TcpStream, SocketAddr)>>;
            let _ = TcpListener::local_addr as fn(&TcpListener) -> io::Result<SocketAddr>;
            let _ = TcpListener::set_ttl as fn(&TcpListener, u32) -> io::Result<()>;
            let _ = TcpListener::ttl as fn(&TcpListener) -> io::Result<u32>;
            // TcpStream
            let _ = TcpStream::local_addr as fn(&TcpStream) -> io::Result<SocketAddr>;
            let _ = TcpStream::peer_addr as fn(&TcpStream) -> io::Result<SocketAddr>;
            let _ = TcpStream::set_ttl as fn(&TcpStream, u32) -> io::Result<()>;
            let _ = TcpStream::ttl as fn(&TcpStream) -> io::Result<u32>;
            let _ = TcpStream::take_error as fn(&TcpStream) -> io::Result<Option<io::Error>>;
            let _ = TcpStream::linger as fn(&TcpStream) -> io::Result<Option<Duration>>;
            #[allow(deprecated)]
            let _ = TcpStream::set_linger as fn(&TcpStream, Option<Duration>) -> io::Result<()>;
            let _ = TcpStream::set_zero_linger as fn(&TcpStream) -> io::Result<()>;
            let _ = TcpStream::set_nodelay as fn(&TcpStream, bool) -> io::Result<()>;
            let _ = TcpStream::nodelay as fn(&TcpStream) -> io::Result<bool>;
            let _ = TcpStream::poll_read_ready as fn(&TcpStream, &mut Context<'_>) -> Poll<io::Result<()>>;
            let _ = TcpStream::poll_write_ready as fn(&TcpStream, &mut Context<'_>) -> Poll<io::Result<()>>;
            let _ = TcpStream::try_read as fn(&TcpStream, &mut [u8]) -> io::Result<usize>;
            let _ = TcpStream::try_write as fn(&TcpStream, &[u8]) -> io::Result<usize>;
            let _ = TcpStream::poll_peek
                as fn(&TcpStream, &mut Context<'_>, &mut ReadBuf<'_>) -> Poll<io::Result<usize>>;
            let _ = tcp::OwnedReadHalf::try_read as fn(&tcp::OwnedReadHalf, &mut [u8]) -> io::Result<usize>;
            let _ = tcp::OwnedReadHalf::poll_peek
                as fn(&mut tcp::OwnedReadHalf, &mut Context<'_>, &mut ReadBuf<'_>) -> Poll<io::Result<usize>>;
            let _ = tcp::OwnedWriteHalf::try_write as fn(&tcp::OwnedWriteHalf, &[u8]) -> io::Result<usize>;
            let _ = tcp::ReadHalf::<'static>::try_read as fn(&tcp::ReadHalf<'static>, &mut [u8]) -> io::Result<usize>;
            let _ = tcp::ReadHalf::<'static>::poll_peek
                as fn(&mut tcp::ReadHalf<'static>, &mut Context<'_>, &mut ReadBuf<'_>) -> Poll<io::Result<usize>>;
            let _ = tcp::WriteHalf::<'static>::try_write as fn(&tcp::WriteHalf<'static>, &[u8]) -> io::Result<usize>;
            let _ = TcpStream::split as fn(&mut TcpStream) -> (tcp::ReadHalf<'_>, tcp::WriteHalf<'_>);
            let _ = TcpStream::into_split as fn(TcpStream) -> (tcp::OwnedReadHalf, tcp::OwnedWriteHalf);
            let _ = tcp::OwnedWriteHalf::forget as fn(tcp::OwnedWriteHalf);
            let _ = tcp::OwnedReadHalf::peer_addr as fn(&tcp::OwnedReadHalf) -> io::Result<SocketAddr>;
            let _ = tcp::OwnedWriteHalf::peer_addr as fn(&tcp::OwnedWriteHalf) -> io::Result<SocketAddr>;
            let _ = tcp::OwnedReadHalf::local_addr as fn(&tcp::OwnedReadHalf) -> io::Result<SocketAddr>;
            let _ = tcp::OwnedWriteHalf::local_addr as fn(&tcp::OwnedWriteHalf) -> io::Result<SocketAddr>;
            let _ = tcp::ReadHalf::<'static>::peer_addr as fn(&tcp::ReadHalf<'static>) -> io::Result<SocketAddr>;
            let _ = tcp::WriteHalf::<'static>::peer_addr as fn(&tcp::WriteHalf<'static>) -> io::Result<SocketAddr>;
            // UdpSocket
            let _ = UdpSocket::poll_send_to
                as fn(&UdpSocket, &mut Context<'_>, &[u8], SocketAddr) -> Poll<io::Result<usize>>;
            let _ = UdpSocket::poll_recv_from
                as fn(&UdpSocket, &mut Context<'_>, &mut ReadBuf<'_>) -> Poll<io::Result<SocketAddr>>;
            let _ = UdpSocket::try_recv_from
                as fn(&UdpSocket, &mut [u8]) -> io::Result<(usize, SocketAddr)>;
            let _ = UdpSocket::try_send_to as fn(&UdpSocket, &[u8], SocketAddr) -> io::Result<usize>;
            let _ = UdpSocket::local_addr as fn(&UdpSocket) -> io::Result<SocketAddr>;
            let _ = UdpSocket::set_broadcast as fn(&UdpSocket, bool) -> io::Result<()>;
            let _ = UdpSocket::set_ttl as fn(&UdpSocket, u32) -> io::Result<()>;
            let _ = UdpSocket::ttl as fn(&UdpSocket) -> io::Result<u32>;
            let _ = UdpSocket::take_error as fn(&UdpSocket) -> io::Result<Option<io::Error>>;
            let _ = UdpSocket::poll_recv_ready as fn(&UdpSocket, &mut Context<'_>) -> Poll<io::Result<()>>;
            let _ = UdpSocket::poll_send_ready as fn(&UdpSocket, &mut Context<'_>) -> Poll<io::Result<()>>;
            let _ = UdpSocket::poll_send
                as fn(&UdpSocket, &mut Context<'_>, &[u8]) -> Poll<io::Result<usize>>;
            let _ = UdpSocket::poll_recv
                as fn(&UdpSocket, &mut Context<'_>, &mut ReadBuf<'_>) -> Poll<io::Result<()>>;
            let _ = UdpSocket::try_send as fn(&UdpSocket, &[u8]) -> io::Result<usize>;
            let _ = UdpSocket::try_recv as fn(&UdpSocket, &mut [u8]) -> io::Result<usize>;
            let _ = UdpSocket::poll_peek_from
                as fn(&UdpSocket, &mut Context<'_>, &mut ReadBuf<'_>) -> Poll<io::Result<SocketAddr>>;
            let _ = UdpSocket::try_peek_from
                as fn(&UdpSocket, &mut [u8]) -> io::Result<(usize, SocketAddr)>;
            let _ = UdpSocket::poll_peek
                as fn(&UdpSocket, &mut Context<'_>, &mut ReadBuf<'_>) -> Poll<io::Result<()>>;
            let _ = UdpSocket::try_peek as fn(&UdpSocket, &mut [u8]) -> io::Result<usize>;
            let _ = UdpSocket::poll_peek_sender
                as fn(&UdpSocket, &mut Context<'_>) -> Poll<io::Result<SocketAddr>>;
            let _ = UdpSocket::try_peek_sender as fn(&UdpSocket) -> io::Result<SocketAddr>;
        }

        fn stream<T: AsyncRead + AsyncWrite + Unpin + Send + Sync + std::fmt::Debug>() {}
        fn read<T: AsyncRead + Unpin + Send + Sync + std::fmt::Debug>() {}
        fn write<T: AsyncWrite + Unpin + Send + Sync + std::fmt::Debug>() {}
        fn plain<T: Send + Sync + std::fmt::Debug>() {}
        pub fn auto_traits() {
            stream::<TcpStream>();
            read::<tcp::OwnedReadHalf>();
            write::<tcp::OwnedWriteHalf>();
            read::<tcp::ReadHalf<'static>>();
            write::<tcp::WriteHalf<'static>>();
            plain::<TcpListener>();
            plain::<UdpSocket>();
        }
    };
}

mod tokio_net {
    use std::io;
    use std::net::SocketAddr;
    use std::task::{Context, Poll};
    use std::time::Duration;
    use tokio::io::{AsyncRead, AsyncWrite, Interest, ReadBuf, Ready};
    use tokio::net::{tcp, TcpListener, TcpStream, UdpSocket};
    tokio_net_signatures!([]);
}

mod layer4_async {
    use layer4_net::tokio::{tcp, TcpListener, TcpStream, UdpSocket};
    use std::io;
    use std::net::SocketAddr;
    use std::task::{Context, Poll};
    use std::time::Duration;
    use tokio::io::{AsyncRead, AsyncWrite, Interest, ReadBuf, Ready};
    tokio_net_signatures!([rt: &layer4_net::Runtime,]);

    /// layer4's constructor futures do not borrow the runtime: they can be spawned.
    pub fn constructors_are_static(rt: &layer4_net::Runtime, a: SocketAddr) {
        fn is_static<F: std::future::Future + Send + 'static>(_: F) {}
        is_static(TcpStream::connect(rt, a));
        is_static(TcpListener::bind(rt, a));
        is_static(UdpSocket::bind(rt, a));
    }
}

/// The signatures are checked by compiling; running touches each so the checks
/// cannot be dead code that the compiler skips.
#[test]
fn layer4_sockets_have_the_signatures_of_std_and_tokio() {
    std_net::signatures();
    std_net::auto_traits();
    layer4_blocking::signatures();
    layer4_blocking::auto_traits();
    tokio_net::signatures();
    tokio_net::auto_traits();
    layer4_async::signatures();
    layer4_async::auto_traits();
}
