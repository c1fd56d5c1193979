//! Blocking sockets with the names and signatures of `std::net`: [`TcpListener`],
//! [`TcpStream`] (with `std::io::Read` and `Write`) and [`UdpSocket`].
//!
//! # Differences from `std::net`
//!
//! - The constructors take the [`Runtime`] whose stack the socket lives in as first
//!   argument: `TcpListener::bind(&rt, addr)`, `TcpStream::connect(&rt, addr)`,
//!   `TcpStream::connect_timeout(&rt, &addr, timeout)`, `UdpSocket::bind(&rt, addr)`;
//!   the same are on the runtime as `rt.tcp_bind(addr)`, `rt.tcp_connect(addr)`,
//!   `rt.udp_bind(addr)`. Everything else has std's name and signature.
//! - Beyond std, for tun2socks: transparent sockets (Linux's `IP_TRANSPARENT`),
//!   [`TcpListener::bind_transparent`] and [`UdpSocket::bind_transparent`]
//!   (`rt.tcp_bind_transparent`, `rt.udp_bind_transparent`), which take
//!   traffic to any address; [`UdpSocket::recv_from_to`] and
//!   [`UdpSocket::send_from_to`] (the destination of a datagram received; the
//!   source of one sent).
//! - A socket keeps its stack alive but not the runtime thread. The kernel
//!   finishes a closed connection's close after its process exits; a layer4
//!   stack stops with its runtime, so a program ends with
//!   [`Runtime::shutdown`]: every socket still open is closed (as exit
//!   closes descriptors), and the call returns once every connection's FIN is
//!   acknowledged (or it was reset, or reached TIME-WAIT) or after its
//!   timeout, with the number of connections abandoned. Dropping the
//!   [`Runtime`] instead stops it at once: one last transmit pass (a stream
//!   closed just before still sends its data, as far as the peer's window
//!   allows, and its FIN), then nothing is retransmitted or acknowledged.
//!   After either, calls (blocked ones too) fail with
//!   `io::ErrorKind::NetworkDown` ([`Runtime`] says why that kind).
//! - Errors are `io::Error` with the kinds std uses: `ConnectionRefused`,
//!   `ConnectionReset`, `TimedOut` (the stack gave up, or `connect_timeout`
//!   expired), `AddrInUse`, `AddrNotAvailable`, `NotConnected` (`shutdown` or
//!   `peer_addr` on a connection that is over), `BrokenPipe` (a write after
//!   `shutdown(Write)`, or after a RST that came behind the peer's FIN: Linux's
//!   `EPIPE` from `tcp_reset` in CLOSE-WAIT), `WouldBlock` when a read or write timeout expires (as
//!   std on Unix, where it is `EAGAIN`).
//! - As on Linux, a connection's failure (reset, timeout) is reported once, by
//!   the first read, peek, write or `take_error` (of any clone) that meets it
//!   (Linux clears `sk_err` when it is read); after that reads return `Ok(0)`
//!   and writes `BrokenPipe`. `tests/reset_reported_once.rs` and
//!   `tests/take_error.rs` compare it with the kernel's sockets.
//! - Listeners bind with `SO_REUSEADDR`, as std's do on Unix: a port is free
//!   again for a listener once the last one on it is dropped, whatever its old
//!   connections' states.
//! - A connection or datagram to one of the stack's own addresses is delivered
//!   inside the stack (Linux's `lo`); there is no `127.0.0.1` or `::1`, only the
//!   addresses the stack was configured with (`AddrNotAvailable` to bind one,
//!   `NetworkUnreachable` to reach one).
//! - The close follows Linux: dropping the last handle of a stream with received
//!   data unread sends a RST (RFC 9293 3.10.4, RFC 2525 2.17); otherwise the
//!   unsent data, then a FIN, leave in the background. `tests/std_semantics.rs`
//!   checks these behaviours against what std does on Linux.
//! - `set_nonblocking(true)` makes each call one attempt under the stack's lock
//!   (`WouldBlock` when it would wait); there is no descriptor to hand to
//!   `poll(2)`: use the async API (`crate::tokio`) to wait for readiness.
//! - `set_ttl` on an IPv6 socket leaves its hop limit alone, as on Linux
//!   (`IP_TTL` there is the TTL of IPv4-mapped traffic, which layer4 has
//!   not): the hop limit is the stack's option, through [`Runtime::with_stack`].
//! - Not yet: keep-alive (the stack's options cover it through
//!   [`Runtime::with_stack`]).

use std::io::{self, Read, Write};
use std::net::{SocketAddr, ToSocketAddrs};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use layer4::time::Instant;
use layer4::{Error, ListenOptions, SocketHandle, Stack, State, SynRefusal};

use crate::ip_ttl::{self, Kind, MappedTtl};
use crate::runtime::{Runtime, Shared};
use crate::sk_err::SkErr;
use crate::so_error;
use crate::syn_request::{self, SynRequest};

/// Tries `f` on each address `addr` resolves to, returning the first success or the
/// last error (as std does).
pub(crate) fn each_addr<A: ToSocketAddrs, T>(
    addr: A,
    mut f: impl FnMut(SocketAddr) -> io::Result<T>,
) -> io::Result<T> {
    let mut last = None;
    for a in addr.to_socket_addrs()? {
        match f(a) {
            Ok(t) => return Ok(t),
            Err(e) => last = Some(e),
        }
    }
    Err(last.unwrap_or_else(|| {
        io::Error::new(
            io::ErrorKind::InvalidInput,
            "could not resolve to any addresses",
        )
    }))
}

fn zero_timeout() -> io::Error {
    io::Error::new(
        io::ErrorKind::InvalidInput,
        "cannot set a 0 duration timeout",
    )
}

fn deadline(timeout: Option<Duration>) -> Option<std::time::Instant> {
    timeout.and_then(|t| std::time::Instant::now().checked_add(t))
}

/// [`Shared::block_on`] for a socket in blocking mode; for one in non-blocking
/// mode, a single attempt (`WouldBlock` at once when it would wait).
fn wait_on<R>(
    shared: &Shared,
    handle: SocketHandle,
    nonblocking: bool,
    deadline: Option<std::time::Instant>,
    timeout_kind: io::ErrorKind,
    f: impl FnMut(&mut Stack, Instant) -> Result<R, Error>,
) -> io::Result<R> {
    if nonblocking {
        shared.with_stack(f)?.map_err(io::Error::from)
    } else {
        shared.block_on(handle, deadline, timeout_kind, f)
    }
}

/// A socket handle that closes its socket when dropped.
#[derive(Debug)]
pub(crate) struct Owned {
    pub(crate) shared: Arc<Shared>,
    pub(crate) handle: SocketHandle,
    /// Whether the connection's failure was reported (Linux reports it once).
    pub(crate) sk_err: SkErr,
    /// The `IP_TTL` of an IPv6 socket (remembered, applied to nothing).
    pub(crate) mapped_ttl: MappedTtl,
}

impl Owned {
    /// The application's handle on `handle`, known to the runtime as open (a
    /// [`Runtime::shutdown`] closes it).
    pub(crate) fn new(shared: Arc<Shared>, handle: SocketHandle) -> Owned {
        shared.adopt(handle);
        Owned {
            shared,
            handle,
            sk_err: SkErr::default(),
            mapped_ttl: MappedTtl::default(),
        }
    }

    /// The socket accepted from listener `self` at `handle`: it starts with
    /// the listener's `IP_TTL` (the stack copies the listener's options, the
    /// IPv4 TTL among them; this is the IPv6 socket's remembered one).
    pub(crate) fn accepted(&self, handle: SocketHandle) -> Owned {
        let sock = Owned::new(self.shared.clone(), handle);
        sock.mapped_ttl.inherit(&self.mapped_ttl);
        sock
    }

    /// `set_ttl` (`IP_TTL`) of a socket of `kind`.
    pub(crate) fn set_ttl(&self, kind: Kind, ttl: u32) -> io::Result<()> {
        ip_ttl::set(&self.shared, self.handle, kind, &self.mapped_ttl, ttl)
    }

    /// `ttl` (`IP_TTL`) of a socket of `kind`.
    pub(crate) fn ttl(&self, kind: Kind) -> io::Result<u32> {
        ip_ttl::get(&self.shared, self.handle, kind, &self.mapped_ttl)
    }

    /// `take_error` (`SO_ERROR`) of a socket of `kind`.
    pub(crate) fn take_error(&self, kind: Kind) -> io::Result<Option<io::Error>> {
        let h = self.handle;
        let e = self.shared.with_stack(|s, _| match kind {
            Kind::TcpStream => so_error::tcp(s, h, &self.sk_err),
            Kind::TcpListener => so_error::listener(s, h),
            Kind::Udp => so_error::udp(s, h),
        })??;
        Ok(e.map(io::Error::from))
    }
}

impl Drop for Owned {
    fn drop(&mut self) {
        self.shared.close(self.handle);
    }
}

/// Where a connect stands: `Ok` once established, `WouldBlock` while the
/// handshake runs, else why it failed (what a send on the closed connection
/// reports).
pub(crate) fn connect_progress(
    s: &mut Stack,
    now: Instant,
    handle: SocketHandle,
) -> Result<(), Error> {
    match s.tcp_state(handle)? {
        State::SynSent | State::SynReceived => Err(Error::WouldBlock),
        State::Closed => Err(match s.tcp_send(now, handle, &[]) {
            Err(e) => e,
            Ok(_) => Error::ConnectionAborted,
        }),
        _ => Ok(()),
    }
}

/// Whether the connection at `handle` is over as Linux counts it: reset, timed
/// out, or closed both ways. Linux moves a socket to `TCP_CLOSE` when it enters
/// TIME-WAIT (a separate record keeps the 2 MSL), and `shutdown(2)` and
/// `getpeername(2)` on a socket in `TCP_CLOSE` fail with `ENOTCONN`.
pub(crate) fn connection_over(s: &Stack, handle: SocketHandle) -> Result<bool, Error> {
    Ok(matches!(
        s.tcp_state(handle)?,
        State::Closed | State::TimeWait
    ))
}

/// The remote address of the connection at `handle`: `NotConnected` once the
/// connection is over, as `getpeername(2)` on Linux.
pub(crate) fn peer_addr(s: &Stack, handle: SocketHandle) -> Result<SocketAddr, Error> {
    if connection_over(s, handle)? {
        return Err(Error::NotConnected);
    }
    Ok(s.tcp_addrs(handle)?.1)
}

/// The options `bind` listens with: `SO_REUSEADDR`, which std and tokio set on
/// every listener on Unix (a server restarted on its port does not wait for its
/// old connections to leave TIME-WAIT; a listener on the port still conflicts).
pub(crate) fn listen_options() -> ListenOptions {
    ListenOptions {
        reuse_addr: true,
        ..ListenOptions::default()
    }
}

/// A TCP listener (`std::net::TcpListener`).
#[derive(Debug)]
pub struct TcpListener {
    /// Shared with the clones ([`TcpListener::try_clone`]); the last one to go
    /// closes the listener.
    sock: Arc<Owned>,
    /// Shared with the clones, as `O_NONBLOCK` is by descriptors `dup`ed from one.
    nonblocking: Arc<AtomicBool>,
}

impl TcpListener {
    /// Listens on `addr` (port 0: an ephemeral port; see [`TcpListener::local_addr`]).
    pub fn bind<A: ToSocketAddrs>(rt: &Runtime, addr: A) -> io::Result<TcpListener> {
        Self::listen_with(rt, addr, |s, a| s.tcp_listen(a, listen_options()))
    }

    /// A transparent listener (what Linux's `IP_TRANSPARENT` gives a listener
    /// behind a TPROXY rule; smoltcp's `set_any_ip`): it accepts connections
    /// to any unicast address of `addr`'s family, whose address must be
    /// unspecified (`0.0.0.0` or `[::]`), on `addr`'s port, or on every port
    /// for port 0, that no connection and no listener of
    /// [`TcpListener::bind`] takes. Each accepted stream's
    /// [`TcpStream::local_addr`] is the address the client connected to, and
    /// everything it sends comes from there: a tun2socks proxy terminates
    /// whatever the OS routes into its TUN as if it were the remote host
    /// (layer4's `Stack::tcp_listen_transparent` says what the stack then
    /// takes, and its SECURITY notes what bounds it).
    pub fn bind_transparent<A: ToSocketAddrs>(rt: &Runtime, addr: A) -> io::Result<TcpListener> {
        Self::listen_with(rt, addr, |s, a| {
            s.tcp_listen_transparent(a, listen_options())
        })
    }

    /// A listener made by `listen` on the first of `addr`'s addresses it takes.
    fn listen_with<A: ToSocketAddrs>(
        rt: &Runtime,
        addr: A,
        listen: impl Fn(&mut Stack, SocketAddr) -> Result<SocketHandle, Error>,
    ) -> io::Result<TcpListener> {
        let shared = rt.shared.clone();
        each_addr(addr, |a| {
            let handle = shared.with_stack(|s, _| listen(s, a))??;
            Ok(TcpListener {
                sock: Arc::new(Owned::new(shared.clone(), handle)),
                nonblocking: Arc::new(AtomicBool::new(false)),
            })
        })
    }

    /// Waits for a connection: the stream and the peer's address.
    pub fn accept(&self) -> io::Result<(TcpStream, SocketAddr)> {
        let (handle, peer) = wait_on(
            &self.sock.shared,
            self.sock.handle,
            self.nonblocking.load(Ordering::Relaxed),
            None,
            io::ErrorKind::WouldBlock,
            |s, _| s.tcp_accept(self.sock.handle),
        )?;
        let stream = TcpStream::from_owned(self.sock.accepted(handle));
        Ok((stream, peer))
    }

    /// The address listened on.
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        let h = self.sock.handle;
        Ok(self.sock.shared.with_stack(|s, _| s.listener_addr(h))??)
    }

    /// Another handle to the same listener (accepts from several threads): the
    /// listener closes when the last handle is dropped, and the non-blocking mode
    /// is shared, as with std's `dup`ed descriptor.
    pub fn try_clone(&self) -> io::Result<TcpListener> {
        Ok(TcpListener {
            sock: self.sock.clone(),
            nonblocking: self.nonblocking.clone(),
        })
    }

    /// Makes [`TcpListener::accept`] (and [`TcpListener::next_syn`]) return
    /// `WouldBlock` at once instead of waiting (`true`), or wait again
    /// (`false`). The accepted streams start in blocking mode.
    pub fn set_nonblocking(&self, nonblocking: bool) -> io::Result<()> {
        self.nonblocking.store(nonblocking, Ordering::Relaxed);
        Ok(())
    }

    /// Sets the TTL of the connections it will accept (`IP_TTL`; see
    /// [`TcpStream::set_ttl`]): their SYN-ACKs and everything after. Those
    /// already accepted, or whose SYN has arrived, keep theirs.
    pub fn set_ttl(&self, ttl: u32) -> io::Result<()> {
        self.sock.set_ttl(Kind::TcpListener, ttl)
    }

    /// The TTL of the connections it will accept.
    pub fn ttl(&self) -> io::Result<u32> {
        self.sock.ttl(Kind::TcpListener)
    }

    /// The listener's pending error (`SO_ERROR`): always `None`, as on Linux.
    pub fn take_error(&self) -> io::Result<Option<io::Error>> {
        self.sock.take_error(Kind::TcpListener)
    }

    /// An iterator of [`TcpListener::accept`]'s streams (`std::net::Incoming`).
    pub fn incoming(&self) -> impl Iterator<Item = io::Result<TcpStream>> + '_ {
        std::iter::repeat_with(move || self.accept().map(|(s, _)| s))
    }

    /// Holds each new SYN unanswered until the application decides (`on`), as
    /// gVisor's forwarder: [`TcpListener::next_syn`] gives each held SYN, then
    /// [`TcpListener::complete_syn`] answers it (the connection is accepted as
    /// any other once its handshake ends) or [`TcpListener::refuse_syn`]
    /// refuses it with a RST, an ICMP host unreachable or silence. Made for
    /// transparent listeners: a tun2socks proxy tries the upstream first.
    /// `false`: SYNs are answered at once again, those held so far dropped,
    /// and a `next_syn` waiting on another thread fails with `InvalidInput`.
    /// Held SYNs count against the SYN queue and get no SYN cookie
    /// (`layer4::Stack::tcp_hold_syns` says more).
    pub fn set_hold_syns(&self, on: bool) -> io::Result<()> {
        syn_request::set_hold(&self.sock.shared, self.sock.handle, on)
    }

    /// Waits for the next held SYN, oldest first (`WouldBlock` at once in
    /// non-blocking mode when none waits; `InvalidInput` when the listener
    /// does not hold SYNs, or stops holding them while this waits).
    pub fn next_syn(&self) -> io::Result<SynRequest> {
        let h = self.sock.handle;
        wait_on(
            &self.sock.shared,
            h,
            self.nonblocking.load(Ordering::Relaxed),
            None,
            io::ErrorKind::WouldBlock,
            |s, now| syn_request::try_next(s, now, h),
        )
    }

    /// Completes a held SYN's handshake: its SYN-ACK goes now, and
    /// [`TcpListener::accept`] gives the connection once the client's ACK
    /// arrives. `TimedOut` when the SYN is no longer held (it expired, or was
    /// decided already); `InvalidInput` when the listener no longer holds
    /// SYNs; `AddrInUse` when the tuple has a connection or TIME-WAIT of its
    /// own again, and `OutOfMemory` at the stack's connection limit (the SYN
    /// is dropped).
    pub fn complete_syn(&self, syn: SynRequest) -> io::Result<()> {
        syn_request::complete(&self.sock.shared, self.sock.handle, syn)
    }

    /// Refuses a held SYN as `how` says: [`SynRefusal::Reset`] fails the
    /// client's connect with `ConnectionRefused`. `TimedOut` when the SYN is
    /// no longer held; `InvalidInput` when the listener no longer holds SYNs.
    pub fn refuse_syn(&self, syn: SynRequest, how: SynRefusal) -> io::Result<()> {
        syn_request::refuse(&self.sock.shared, self.sock.handle, syn, how)
    }
}

/// How long reads and writes wait; `nonblocking`: not at all.
#[derive(Debug, Default, Clone, Copy)]
struct Timeouts {
    read: Option<Duration>,
    write: Option<Duration>,
    nonblocking: bool,
}

#[derive(Debug)]
struct StreamInner {
    sock: Owned,
    timeouts: Mutex<Timeouts>,
}

/// A TCP connection (`std::net::TcpStream`). `Read` and `Write` are implemented for
/// `TcpStream` and `&TcpStream`; [`TcpStream::try_clone`] gives another handle to
/// the same connection (read on one thread, write on another). The connection is
/// closed (FIN, in the background) when the last handle is dropped.
#[derive(Debug, Clone)]
pub struct TcpStream {
    inner: Arc<StreamInner>,
}

impl TcpStream {
    fn from_handle(shared: Arc<Shared>, handle: SocketHandle) -> TcpStream {
        TcpStream::from_owned(Owned::new(shared, handle))
    }

    fn from_owned(sock: Owned) -> TcpStream {
        TcpStream {
            inner: Arc::new(StreamInner {
                sock,
                timeouts: Mutex::new(Timeouts::default()),
            }),
        }
    }

    fn shared(&self) -> &Shared {
        &self.inner.sock.shared
    }

    fn handle(&self) -> SocketHandle {
        self.inner.sock.handle
    }

    fn timeouts(&self) -> Timeouts {
        *self
            .inner
            .timeouts
            .lock()
            .unwrap_or_else(|e| e.into_inner())
    }

    /// Connects to `addr` (each address it resolves to in turn), waiting for the
    /// handshake to complete or fail.
    pub fn connect<A: ToSocketAddrs>(rt: &Runtime, addr: A) -> io::Result<TcpStream> {
        each_addr(addr, |a| Self::connect_deadline(rt, a, None))
    }

    /// Connects to `addr`, failing with `TimedOut` after `timeout`.
    pub fn connect_timeout(
        rt: &Runtime,
        addr: &SocketAddr,
        timeout: Duration,
    ) -> io::Result<TcpStream> {
        if timeout.is_zero() {
            return Err(zero_timeout());
        }
        Self::connect_deadline(rt, *addr, deadline(Some(timeout)))
    }

    /// Connects to `addr` from `from`, which may be any unicast address of
    /// its family, not only one of the stack's (`IP_TRANSPARENT` with a
    /// `bind` to a foreign address before `connect`): a userspace VPN
    /// delivers a peer's connection into its TUN from the peer's own address.
    /// Port 0 in `from` takes an ephemeral port. Waits for the handshake as
    /// [`TcpStream::connect`] (layer4's `Stack::tcp_connect_transparent` says
    /// what the stack then takes).
    pub fn connect_transparent(
        rt: &Runtime,
        addr: SocketAddr,
        from: SocketAddr,
    ) -> io::Result<TcpStream> {
        Self::connect_from(rt, addr, Some(from), None)
    }

    fn connect_deadline(
        rt: &Runtime,
        addr: SocketAddr,
        deadline: Option<std::time::Instant>,
    ) -> io::Result<TcpStream> {
        Self::connect_from(rt, addr, None, deadline)
    }

    /// A connection to `addr`, from `from` when given (transparently: any
    /// address), waited for until `deadline`.
    fn connect_from(
        rt: &Runtime,
        addr: SocketAddr,
        from: Option<SocketAddr>,
        deadline: Option<std::time::Instant>,
    ) -> io::Result<TcpStream> {
        let shared = rt.shared.clone();
        let handle = shared.with_stack(|s, now| match from {
            None => s.tcp_connect(now, addr, None),
            Some(from) => s.tcp_connect_transparent(now, addr, from),
        })??;
        // The stream owns the handle from here: an error below closes it.
        let stream = TcpStream::from_handle(shared, handle);
        stream
            .shared()
            .block_on(handle, deadline, io::ErrorKind::TimedOut, |s, now| {
                connect_progress(s, now, handle)
            })?;
        Ok(stream)
    }

    /// The remote address (`NotConnected` once the connection is over, as in
    /// std on Linux).
    pub fn peer_addr(&self) -> io::Result<SocketAddr> {
        let h = self.handle();
        Ok(self.shared().with_stack(|s, _| peer_addr(s, h))??)
    }

    /// The local address.
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        let h = self.handle();
        Ok(self.shared().with_stack(|s, _| s.tcp_addrs(h))??.0)
    }

    /// Shuts down reading, writing (a FIN follows the data written), or both.
    /// Once the connection is over (reset, or closed both ways) the shutdown
    /// still applies but the call fails with `NotConnected`, as std's on Linux.
    pub fn shutdown(&self, how: std::net::Shutdown) -> io::Result<()> {
        let how = match how {
            std::net::Shutdown::Read => layer4::Shutdown::Read,
            std::net::Shutdown::Write => layer4::Shutdown::Write,
            std::net::Shutdown::Both => layer4::Shutdown::Both,
        };
        let h = self.handle();
        Ok(self.shared().with_stack(|s, now| {
            let over = connection_over(s, h)?;
            s.tcp_shutdown(now, h, how)?;
            if over {
                return Err(Error::NotConnected);
            }
            Ok(())
        })??)
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
    /// `u32::MAX` for the stack's default (the C `int` -1 std passes on);
    /// anything else fails with `InvalidInput` (`EINVAL`), as on Linux. On an
    /// IPv6 connection, as on Linux, the value only concerns IPv4-mapped
    /// traffic (none in layer4): `ttl` returns it, the hop limit is unchanged.
    pub fn set_ttl(&self, ttl: u32) -> io::Result<()> {
        self.inner.sock.set_ttl(Kind::TcpStream, ttl)
    }

    /// The TTL of the connection's packets (`IP_TTL`).
    pub fn ttl(&self) -> io::Result<u32> {
        self.inner.sock.ttl(Kind::TcpStream)
    }

    /// Takes the connection's pending error (`SO_ERROR`): its failure (a
    /// reset, a timeout) if no read, peek or write reported it yet (then reads
    /// return `Ok(0)` and writes `BrokenPipe`, as after a read that reported
    /// it), else a soft error (an ICMP unreachable the connection survived), as
    /// on Linux.
    pub fn take_error(&self) -> io::Result<Option<io::Error>> {
        self.inner.sock.take_error(Kind::TcpStream)
    }

    /// How long a read waits before failing with `WouldBlock` (`None`: forever).
    /// A zero duration is `InvalidInput`, as in std.
    pub fn set_read_timeout(&self, dur: Option<Duration>) -> io::Result<()> {
        if dur == Some(Duration::ZERO) {
            return Err(zero_timeout());
        }
        self.inner
            .timeouts
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .read = dur;
        Ok(())
    }

    /// How long a write waits before failing with `WouldBlock` (`None`: forever).
    pub fn set_write_timeout(&self, dur: Option<Duration>) -> io::Result<()> {
        if dur == Some(Duration::ZERO) {
            return Err(zero_timeout());
        }
        self.inner
            .timeouts
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .write = dur;
        Ok(())
    }

    /// The read timeout.
    pub fn read_timeout(&self) -> io::Result<Option<Duration>> {
        Ok(self.timeouts().read)
    }

    /// The write timeout.
    pub fn write_timeout(&self) -> io::Result<Option<Duration>> {
        Ok(self.timeouts().write)
    }

    /// Another handle to the same connection.
    pub fn try_clone(&self) -> io::Result<TcpStream> {
        Ok(self.clone())
    }

    /// Receives data without taking it (`MSG_PEEK`), waiting as a read does:
    /// the next read returns the same bytes. `Ok(0)` at the end of the stream.
    pub fn peek(&self, buf: &mut [u8]) -> io::Result<usize> {
        if buf.is_empty() {
            return Ok(0);
        }
        let h = self.handle();
        let t = self.timeouts();
        let sk_err = &self.inner.sock.sk_err;
        wait_on(
            self.shared(),
            h,
            t.nonblocking,
            deadline(t.read),
            io::ErrorKind::WouldBlock,
            |s, _| sk_err.read(s.tcp_peek(h, buf)),
        )
    }

    /// Makes reads, writes and peeks return `WouldBlock` at once instead of
    /// waiting (`true`), or wait again (`false`); on every handle of the
    /// connection ([`TcpStream::try_clone`]), as with std's shared descriptor.
    pub fn set_nonblocking(&self, nonblocking: bool) -> io::Result<()> {
        self.inner
            .timeouts
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .nonblocking = nonblocking;
        Ok(())
    }

    fn read_impl(&self, buf: &mut [u8]) -> io::Result<usize> {
        if buf.is_empty() {
            return Ok(0);
        }
        let h = self.handle();
        let t = self.timeouts();
        let sk_err = &self.inner.sock.sk_err;
        wait_on(
            self.shared(),
            h,
            t.nonblocking,
            deadline(t.read),
            io::ErrorKind::WouldBlock,
            |s, now| sk_err.read(s.tcp_recv(now, h, buf)),
        )
    }

    fn write_impl(&self, buf: &[u8]) -> io::Result<usize> {
        if buf.is_empty() {
            return Ok(0);
        }
        let h = self.handle();
        let t = self.timeouts();
        let sk_err = &self.inner.sock.sk_err;
        wait_on(
            self.shared(),
            h,
            t.nonblocking,
            deadline(t.write),
            io::ErrorKind::WouldBlock,
            |s, now| match s.tcp_send(now, h, buf) {
                Ok(0) => Err(Error::WouldBlock),
                r => sk_err.write(r),
            },
        )
    }
}

impl Read for TcpStream {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.read_impl(buf)
    }
}

impl Read for &TcpStream {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.read_impl(buf)
    }
}

impl Write for TcpStream {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.write_impl(buf)
    }

    /// Data is handed to the stack by `write`; like std's, this does nothing.
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl Write for &TcpStream {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.write_impl(buf)
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// A UDP socket (`std::net::UdpSocket`).
#[derive(Debug)]
pub struct UdpSocket {
    /// Shared with the clones ([`UdpSocket::try_clone`]); the last one to go
    /// closes the socket.
    sock: Arc<Owned>,
    /// Shared with the clones, as socket options and `O_NONBLOCK` are by
    /// descriptors `dup`ed from one.
    timeouts: Arc<Mutex<Timeouts>>,
}

impl UdpSocket {
    /// Binds to `addr` (port 0: an ephemeral port).
    pub fn bind<A: ToSocketAddrs>(rt: &Runtime, addr: A) -> io::Result<UdpSocket> {
        Self::bind_with(rt, addr, |s, a| s.udp_bind(a))
    }

    /// A transparent UDP socket (Linux's `IP_TRANSPARENT` with
    /// `IP_RECVORIGDSTADDR`): it receives the datagrams to any unicast address
    /// of `addr`'s family, whose address must be unspecified (`0.0.0.0` or
    /// `[::]`), on `addr`'s port, or on every port for port 0, that no socket of
    /// [`UdpSocket::bind`] takes. [`UdpSocket::recv_from_to`] tells where each
    /// was sent, and [`UdpSocket::send_from_to`] answers from there (a DNS
    /// answer from 8.8.8.8:53). A socket of every port has no port of its own:
    /// its `send_to` fails with `InvalidInput`.
    pub fn bind_transparent<A: ToSocketAddrs>(rt: &Runtime, addr: A) -> io::Result<UdpSocket> {
        Self::bind_with(rt, addr, |s, a| s.udp_bind_transparent(a))
    }

    /// A socket bound by `bind` to the first of `addr`'s addresses it takes.
    fn bind_with<A: ToSocketAddrs>(
        rt: &Runtime,
        addr: A,
        bind: impl Fn(&mut Stack, SocketAddr) -> Result<SocketHandle, Error>,
    ) -> io::Result<UdpSocket> {
        let shared = rt.shared.clone();
        each_addr(addr, |a| {
            let handle = shared.with_stack(|s, _| bind(s, a))??;
            Ok(UdpSocket {
                sock: Arc::new(Owned::new(shared.clone(), handle)),
                timeouts: Arc::new(Mutex::new(Timeouts::default())),
            })
        })
    }

    /// Receives one datagram (truncated to `buf`): its length, sender and
    /// destination (the address it was sent to: one of the stack's, or for a
    /// [transparent](UdpSocket::bind_transparent) socket any; Linux's
    /// `IP_PKTINFO` / `IP_RECVORIGDSTADDR`). Waits as
    /// [`UdpSocket::recv_from`] does.
    pub fn recv_from_to(&self, buf: &mut [u8]) -> io::Result<(usize, SocketAddr, SocketAddr)> {
        let h = self.sock.handle;
        self.wait_read(|s, _| s.udp_recv_from_to(h, buf))
    }

    /// Sends `buf` as one datagram to `dst` from `src`: from a
    /// [transparent](UdpSocket::bind_transparent) socket any unicast address
    /// of the family, from another one of its own addresses
    /// (`AddrNotAvailable` otherwise; layer4's `Stack::udp_send_from_to`).
    /// Waits for room as [`UdpSocket::send_to`] does.
    pub fn send_from_to(&self, buf: &[u8], src: SocketAddr, dst: SocketAddr) -> io::Result<usize> {
        let h = self.sock.handle;
        self.wait_write(|s, _| s.udp_send_from_to(h, buf, src, dst))
    }

    fn timeouts(&self) -> Timeouts {
        *self.timeouts.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// `f` retried until it stops returning `WouldBlock`, waiting as a
    /// receive does: not at all in non-blocking mode, else up to the read
    /// timeout (`WouldBlock` past it, as std's on Unix).
    fn wait_read<R>(
        &self,
        f: impl FnMut(&mut Stack, Instant) -> Result<R, Error>,
    ) -> io::Result<R> {
        let t = self.timeouts();
        self.wait(t.nonblocking, t.read, f)
    }

    /// [`wait_read`](Self::wait_read) for a send, with the write timeout.
    fn wait_write<R>(
        &self,
        f: impl FnMut(&mut Stack, Instant) -> Result<R, Error>,
    ) -> io::Result<R> {
        let t = self.timeouts();
        self.wait(t.nonblocking, t.write, f)
    }

    fn wait<R>(
        &self,
        nonblocking: bool,
        timeout: Option<Duration>,
        f: impl FnMut(&mut Stack, Instant) -> Result<R, Error>,
    ) -> io::Result<R> {
        wait_on(
            &self.sock.shared,
            self.sock.handle,
            nonblocking,
            deadline(timeout),
            io::ErrorKind::WouldBlock,
            f,
        )
    }

    /// Another handle to the same socket (receive on one thread, send on
    /// another): closed when the last handle is dropped; timeouts and the
    /// non-blocking mode are shared, as with std's `dup`ed descriptor.
    pub fn try_clone(&self) -> io::Result<UdpSocket> {
        Ok(UdpSocket {
            sock: self.sock.clone(),
            timeouts: self.timeouts.clone(),
        })
    }

    /// Sends `buf` as one datagram to `addr` (the first address it resolves to).
    pub fn send_to<A: ToSocketAddrs>(&self, buf: &[u8], addr: A) -> io::Result<usize> {
        let dst = addr.to_socket_addrs()?.next().ok_or_else(|| {
            io::Error::new(io::ErrorKind::InvalidInput, "no addresses to send data to")
        })?;
        let h = self.sock.handle;
        self.wait_write(|s, _| s.udp_send_to(h, buf, dst))
    }

    /// Receives one datagram (truncated to `buf`): its length and sender.
    pub fn recv_from(&self, buf: &mut [u8]) -> io::Result<(usize, SocketAddr)> {
        let h = self.sock.handle;
        self.wait_read(|s, _| s.udp_recv_from(h, buf))
    }

    /// Receives the next datagram (truncated to `buf`) without taking it
    /// (`MSG_PEEK`), waiting as a receive does: its length and sender.
    pub fn peek_from(&self, buf: &mut [u8]) -> io::Result<(usize, SocketAddr)> {
        let h = self.sock.handle;
        self.wait_read(|s, _| s.udp_peek_from(h, buf))
    }

    /// Receives the next datagram from the connected peer without taking it.
    pub fn peek(&self, buf: &mut [u8]) -> io::Result<usize> {
        self.peek_from(buf).map(|(n, _)| n)
    }

    /// Makes sends, receives and peeks return `WouldBlock` at once instead of
    /// waiting (`true`), or wait again (`false`).
    pub fn set_nonblocking(&self, nonblocking: bool) -> io::Result<()> {
        self.timeouts
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .nonblocking = nonblocking;
        Ok(())
    }

    /// Sets the peer for [`UdpSocket::send`] and [`UdpSocket::recv`]; datagrams from
    /// other addresses are dropped.
    pub fn connect<A: ToSocketAddrs>(&self, addr: A) -> io::Result<()> {
        let h = self.sock.handle;
        each_addr(addr, |a| {
            Ok(self.sock.shared.with_stack(|s, _| s.udp_connect(h, a))??)
        })
    }

    /// Sends a datagram to the connected peer.
    pub fn send(&self, buf: &[u8]) -> io::Result<usize> {
        let h = self.sock.handle;
        self.wait_write(|s, _| s.udp_send(h, buf))
    }

    /// Receives a datagram from the connected peer.
    pub fn recv(&self, buf: &mut [u8]) -> io::Result<usize> {
        self.recv_from(buf).map(|(n, _)| n)
    }

    /// The local address.
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        let h = self.sock.handle;
        Ok(self.sock.shared.with_stack(|s, _| s.udp_local_addr(h))??)
    }

    /// How long a receive waits before failing with `WouldBlock` (`None`: forever).
    pub fn set_read_timeout(&self, dur: Option<Duration>) -> io::Result<()> {
        if dur == Some(Duration::ZERO) {
            return Err(zero_timeout());
        }
        self.timeouts.lock().unwrap_or_else(|e| e.into_inner()).read = dur;
        Ok(())
    }

    /// How long a send waits for queue space before failing with `WouldBlock`.
    pub fn set_write_timeout(&self, dur: Option<Duration>) -> io::Result<()> {
        if dur == Some(Duration::ZERO) {
            return Err(zero_timeout());
        }
        self.timeouts
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .write = dur;
        Ok(())
    }

    /// The receive timeout.
    pub fn read_timeout(&self) -> io::Result<Option<Duration>> {
        Ok(self.timeouts().read)
    }

    /// The send timeout.
    pub fn write_timeout(&self) -> io::Result<Option<Duration>> {
        Ok(self.timeouts().write)
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
    /// [`TcpStream::set_ttl`] takes).
    pub fn set_ttl(&self, ttl: u32) -> io::Result<()> {
        self.sock.set_ttl(Kind::Udp, ttl)
    }

    /// The TTL of the socket's datagrams.
    pub fn ttl(&self) -> io::Result<u32> {
        self.sock.ttl(Kind::Udp)
    }

    /// Takes the socket's pending error (`SO_ERROR`): on a connected socket,
    /// an ICMP port unreachable (`ConnectionRefused`) or host unreachable for a
    /// datagram sent to its peer, which the next receive or send would
    /// otherwise report; Linux reports none to an unconnected socket.
    pub fn take_error(&self) -> io::Result<Option<io::Error>> {
        self.sock.take_error(Kind::Udp)
    }
}

impl Runtime {
    /// [`TcpListener::bind`] on this runtime.
    pub fn tcp_bind<A: ToSocketAddrs>(&self, addr: A) -> io::Result<TcpListener> {
        TcpListener::bind(self, addr)
    }

    /// [`TcpStream::connect`] on this runtime.
    pub fn tcp_connect<A: ToSocketAddrs>(&self, addr: A) -> io::Result<TcpStream> {
        TcpStream::connect(self, addr)
    }

    /// [`UdpSocket::bind`] on this runtime.
    pub fn udp_bind<A: ToSocketAddrs>(&self, addr: A) -> io::Result<UdpSocket> {
        UdpSocket::bind(self, addr)
    }

    /// [`TcpListener::bind_transparent`] on this runtime.
    pub fn tcp_bind_transparent<A: ToSocketAddrs>(&self, addr: A) -> io::Result<TcpListener> {
        TcpListener::bind_transparent(self, addr)
    }

    /// [`UdpSocket::bind_transparent`] on this runtime.
    pub fn udp_bind_transparent<A: ToSocketAddrs>(&self, addr: A) -> io::Result<UdpSocket> {
        UdpSocket::bind_transparent(self, addr)
    }
}
