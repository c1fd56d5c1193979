//! Applications: what runs on a simulated host. A host drives each of its
//! applications: [`Application::start`] at the start time it was added with, the
//! [`Event`]s of the sockets the application claimed ([`AppContext::claim`]), and its
//! own timer ([`Application::poll_timeout`] / [`Application::handle_timeout`]).
//!
//! Built-in applications, one file each, made from a scenario's
//! [`AppSpec`](crate::scenario::AppSpec) by [`crate::build`]:
//! - [`bulk`]: [`BulkSender`], a TCP client that sends a number of bytes or for a time;
//! - [`sink`]: [`TcpSink`], a TCP server that reads, verifies and counts;
//! - [`request_response`]: [`RequestClient`] and [`ResponseServer`];
//! - [`onoff`]: [`OnOffSender`], a TCP client that alternates sending and silence;
//! - [`udp_cbr`]: [`UdpCbrSender`], constant-bit-rate UDP datagrams;
//! - [`udp_sink`]: [`UdpSink`], which counts and verifies them;
//! - [`pattern`]: the deterministic byte pattern every built-in sender writes and
//!   every receiver checks, byte for byte.

pub mod bulk;
pub mod onoff;
pub mod pattern;
pub mod request_response;
pub mod sink;
pub mod udp_cbr;
pub mod udp_sink;

pub use bulk::BulkSender;
pub use onoff::OnOffSender;
pub use request_response::{RequestClient, ResponseServer};
pub use sink::TcpSink;
pub use udp_cbr::UdpCbrSender;
pub use udp_sink::UdpSink;

use layer4::time::Instant;
use layer4::{Event, SocketHandle, Stack, TcpInfo};
use std::fmt;

/// What an application has done so far; the simulation turns these into flow metrics.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct AppStats {
    /// When the application started.
    pub started_at: Option<Instant>,
    /// Application bytes handed to the stack.
    pub bytes_sent: u64,
    /// Application bytes received (read from sockets).
    pub bytes_received: u64,
    /// Bytes received that differed from the pattern (0 for an intact transfer).
    pub integrity_errors: u64,
    /// When the last byte was received.
    pub last_received_at: Option<Instant>,
    /// When the application's work was done (for a sender: all data acknowledged and
    /// the connection closed by the peer; for a sink: end of stream read).
    pub completed_at: Option<Instant>,
    /// The socket that sends this application's data, for `tcp_info` sampling.
    pub data_socket: Option<SocketHandle>,
    /// The data socket's last `tcp_info`, taken before it was closed.
    pub final_tcp_info: Option<TcpInfo>,
    /// Socket errors seen (refused, reset, timed out).
    pub socket_errors: u64,
    /// Requests answered in full (request/response) or datagrams received (UDP sink).
    pub messages: u64,
}

/// What an application may do while the host runs it: the clock, the host's stack,
/// and claiming sockets so their events come to it.
pub struct AppContext<'a> {
    pub(crate) now: Instant,
    pub(crate) stack: &'a mut Stack,
    pub(crate) owners: &'a mut Owners,
    pub(crate) app: usize,
}

impl fmt::Debug for AppContext<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AppContext")
            .field("now", &self.now)
            .field("app", &self.app)
            .finish()
    }
}

impl<'a> AppContext<'a> {
    /// A context for application number `app` of a host (for driving an application
    /// outside a [`Network`](crate::network::Network), e.g. in a unit test).
    pub fn new(
        now: Instant,
        stack: &'a mut Stack,
        owners: &'a mut Owners,
        app: usize,
    ) -> AppContext<'a> {
        AppContext {
            now,
            stack,
            owners,
            app,
        }
    }

    /// The current virtual time.
    pub fn now(&self) -> Instant {
        self.now
    }

    /// The host's stack.
    pub fn stack(&mut self) -> &mut Stack {
        self.stack
    }

    /// Routes `handle`'s events to this application.
    pub fn claim(&mut self, handle: SocketHandle) {
        self.owners.insert(handle, self.app);
    }

    /// Stops routing `handle`'s events (call before closing it).
    pub fn release(&mut self, handle: SocketHandle) {
        self.owners.remove(&handle);
    }
}

/// An application on a simulated host. See the [module docs](self).
pub trait Application: fmt::Debug {
    /// Starts: open sockets, claim them, schedule a timer.
    fn start(&mut self, cx: &mut AppContext<'_>);
    /// One event of a socket this application claimed.
    fn handle_event(&mut self, cx: &mut AppContext<'_>, event: Event);
    /// When the application wants [`Application::handle_timeout`] called.
    fn poll_timeout(&self) -> Option<Instant> {
        None
    }
    /// Its timer expired (called at or after [`Application::poll_timeout`]).
    fn handle_timeout(&mut self, cx: &mut AppContext<'_>) {
        let _ = cx;
    }
    /// What it has done so far.
    fn stats(&self) -> AppStats;
}

/// Asks for ECN (RFC 3168) on the SYN of connection `h` when `ecn` (the stack's
/// default, passive ECN, still accepts it when the peer asks). A refusal counts as
/// a socket error.
pub(crate) fn set_ecn(cx: &mut AppContext<'_>, h: SocketHandle, ecn: bool, stats: &mut AppStats) {
    if !ecn {
        return;
    }
    let now = cx.now();
    if cx
        .stack()
        .tcp_set_ecn(now, h, layer4::tcp::EcnMode::On)
        .is_err()
    {
        stats.socket_errors += 1;
    }
}

/// Chooses the congestion controller of socket `h` (a connection before it sends, or
/// a listener for what it accepts) by name. A controller the stack reserves but has
/// not implemented leaves the stack's default; any other refusal counts as a socket
/// error.
pub(crate) fn set_congestion_control(
    cx: &mut AppContext<'_>,
    h: SocketHandle,
    cc: Option<&str>,
    stats: &mut AppStats,
) {
    let Some(name) = cc else { return };
    match cx.stack().tcp_set_congestion_control(h, name) {
        Ok(()) | Err(layer4::Error::NotImplemented) => {}
        Err(_) => stats.socket_errors += 1,
    }
}

/// Which application of a host owns each socket. Looked up for every event a stack
/// reports (one per segment at a receiver), so it hashes a handle with a
/// multiply-shift instead of SipHash: the keys come from the host's own stack, not
/// from the network, so there is nothing to flood.
pub type Owners =
    std::collections::HashMap<SocketHandle, usize, std::hash::BuildHasherDefault<HandleHasher>>;

/// The hasher of [`Owners`].
#[derive(Debug, Default, Clone, Copy)]
pub struct HandleHasher(u64);

impl std::hash::Hasher for HandleHasher {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.write_u64(u64::from(b));
        }
    }
    fn write_u32(&mut self, n: u32) {
        self.write_u64(u64::from(n));
    }
    fn write_u64(&mut self, n: u64) {
        self.0 = (self.0.rotate_left(29) ^ n).wrapping_mul(0x9e37_79b9_7f4a_7c15);
    }
}
