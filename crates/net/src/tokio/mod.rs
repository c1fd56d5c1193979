//! Async sockets with the names and signatures of `tokio::net`: [`TcpListener`],
//! [`TcpStream`] (tokio's `AsyncRead` and `AsyncWrite`), [`UdpSocket`], and the
//! stream halves in [`tcp`].
//!
//! # How it runs
//!
//! The sockets live in a [`Runtime`](crate::Runtime)'s stack like the blocking ones;
//! no tokio runtime drives layer4. An async call makes one attempt under the
//! stack's lock; on `WouldBlock` it registers the task's waker for that socket and
//! returns `Pending`, and the layer4 runtime thread wakes it when the stack reports
//! the socket readable, acceptable, writable, connected, failed or closed. There is
//! no polling loop and no timer. Any executor works; the traits are tokio's.
//!
//! # Differences from `tokio::net`
//!
//! - Constructors take the runtime first: `TcpListener::bind(&rt, addr)`,
//!   `TcpStream::connect(&rt, addr)`, `UdpSocket::bind(&rt, addr)` (the parity test,
//!   `tests/api_parity.rs`, checks every other name and signature against tokio's).
//! - Addresses are `std::net::ToSocketAddrs` (tokio's trait is sealed): a host name
//!   is resolved with the blocking resolver; pass a `SocketAddr` to avoid that.
//! - Readiness (`ready(Interest)`, `readable`, `writable`, `try_*`, `peek`) is
//!   the stack's state, re-checked under its lock on every call; the
//!   [`Interest`](::tokio::io::Interest) and [`Ready`](::tokio::io::Ready) types
//!   are tokio's (which is why the `tokio` feature turns on tokio's `net`).
//! - `take_error` and `set_ttl` behave as on Linux (see [`crate::std_api`]);
//!   `set_linger` with more than zero does not block the drop (Linux's close
//!   does, why tokio deprecates it), the peer sees the same; a zero linger
//!   resets as there ([`TcpStream::set_zero_linger`]).
//! - Beyond tokio, for tun2socks: `TcpListener::bind_transparent`,
//!   `UdpSocket::bind_transparent`, `UdpSocket::recv_from_to` and
//!   `send_from_to`, as the blocking sockets' (see [`crate::std_api`]).
//! - Not yet: `from_std`/`into_std`, `try_io`/`async_io`, the vectored and
//!   `BufMut` variants.
//! - Errors are `io::Error` with the kinds of std (see [`crate::std_api`]), and
//!   the close, the reset (reported once, as tokio's sockets report it on
//!   Linux), `SO_REUSEADDR` and the runtime's end behave as there;
//!   `tests/tokio_semantics.rs` checks what is tokio's own (`poll_shutdown`,
//!   the owned write half's drop, cancel-safe reads) and the reset against
//!   tokio's own sockets.
//! - Once the [`Runtime`](crate::Runtime) has stopped or begun its
//!   [`shutdown`](crate::Runtime::shutdown), pending and later calls fail with
//!   `NetworkDown`, not with the `Other` tokio's give once their runtime has
//!   shut down (the runtime's docs say why). `shutdown` blocks: call it where
//!   blocking is allowed (`spawn_blocking`, the end of `main`).

mod listener;
mod readiness;
mod stream;
pub mod tcp;
mod udp;

pub use listener::TcpListener;
pub use stream::TcpStream;
pub use udp::UdpSocket;

use std::io;
use std::net::{SocketAddr, ToSocketAddrs};

/// The addresses `addr` resolves to, or std's error for none.
fn resolve<A: ToSocketAddrs>(addr: A) -> io::Result<Vec<SocketAddr>> {
    let addrs: Vec<SocketAddr> = addr.to_socket_addrs()?.collect();
    if addrs.is_empty() {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            "could not resolve to any addresses",
        ));
    }
    Ok(addrs)
}
