//! # layer4: the sans-IO host stack
//!
//! A pure state machine for IP, ICMP, UDP and TCP. Everything that happens to the
//! stack arrives through a call that carries `now`; everything it wants to do comes
//! out of a poll (`handle_packet` or a batch with `handle_packets`, `handle_timeout`,
//! socket calls in; `poll_transmit`, `poll_timeout`, `poll_event` out). It never reads
//! a clock, touches a socket or a file, spawns a thread, or uses `unsafe`; randomness
//! comes from a generator seeded by its configuration. [`Stack`]'s module docs give the order a driver calls the polls.
//!
//! ## Map
//! - [`stack`]: [`Stack`], the whole host: ingress, egress, demux, TCP and UDP socket
//!   calls, ICMP, timers, the socket table; transparent ("any address")
//!   listeners and UDP sockets for tun2socks, and listeners that hold SYNs for
//!   the application's decision ([`SynRefusal`]).
//! - [`config`]: [`Config`], addresses, routes, MTU, seed and every limit.
//! - [`socket`]: [`SocketHandle`] and the slab of sockets.
//! - [`event`]: [`Event`], what `poll_event` reports.
//! - [`error`]: [`Error`], why a socket call failed (with its `io::ErrorKind`).
//! - [`stats`]: [`Stats`], counters named like `netstat -s`.
//! - [`udp`]: a UDP socket's bounded queues.
//! - [`tcp`]: TCP, in these parts:
//!   - [`tcp::conn`]: one connection's RFC 9293 state machine, split by concern
//!     (ECN, RFC 3168, in its `ecn` part, Accurate ECN, RFC 9768, in `accecn`;
//!     [`tcp::EcnMode`] chooses per socket);
//!   - [`tcp::state`], [`tcp::config`], [`tcp::timer`], [`tcp::info`] (`TcpInfo`);
//!   - [`tcp::isn`]: RFC 6528 initial sequence numbers (`IsnGenerator`);
//!   - [`tcp::syncookie`]: SYN cookies (RFC 4987 section 3.6, `SynCookies`);
//!   - [`tcp::rtt`]: the RFC 6298 RTO estimator (`RttEstimator`, `RttConfig`);
//!   - [`tcp::assembler`]: the receiver's bounded out-of-order ranges and SACK blocks;
//!   - [`tcp::scoreboard`]: the sender's SACK scoreboard and RFC 6675 loss recovery
//!     (`Scoreboard`, `NextSeg`);
//!   - [`tcp::rack`]: RACK-TLP loss detection (RFC 8985, `Rack`): the default with
//!     SACK, feeding the scoreboard's recovery; tail loss probes; the undo of
//!     spurious congestion responses is in the connection's `undo` part, F-RTO
//!     (RFC 5682) in its `frto` part;
//!   - [`tcp::prr`]: proportional rate reduction during recovery (RFC 6937, `Prr`);
//!   - [`tcp::send_buffer`], [`tcp::recv_buffer`]: lazily allocated rings that grow
//!     up to a limit.
//! - [`cc`]: congestion control shared with QUIC: the [`cc::CongestionControl`] trait,
//!   [`cc::AckSample`], selection by name ([`cc::CcAlgorithm`], [`cc::CcRegistry`]):
//!   - [`cc::rate`]: the delivery-rate estimator (draft-cheng-iccrg-delivery-rate-estimation);
//!   - [`cc::newreno`]: slow start and congestion avoidance (RFC 5681, RFC 6582);
//!   - [`cc::cubic`]: CUBIC (RFC 9438), the default;
//!   - [`cc::hystart`]: HyStart++ (RFC 9406), CUBIC's slow start;
//!   - [`cc::bbr`]: BBRv3 (draft-ietf-ccwg-bbr): [`cc::bbr::filters`] (max-bandwidth,
//!     min-RTT and aggregation filters), [`cc::bbr::model`] (the path model, its
//!     loss and ECN bounds, pacing rate, send quantum and cwnd),
//!     [`cc::bbr::state`] (Startup, Drain, ProbeBW, ProbeRTT).
//! - [`ip`]: the IP layer's pieces:
//!   - [`ip::cidr`]: `Ipv4Cidr`, `Ipv6Cidr`, `IpCidr` (`10.0.0.1/24`);
//!   - [`ip::route`]: `RouteTable` (longest-prefix match, source-address selection);
//!   - [`ip::reassembly`]: `Reassembler`, bounded IPv4/IPv6 fragment reassembly;
//!   - [`ip::fragment`]: `Fragmenter`, output fragmentation into a caller's buffer;
//!   - [`ip::pmtu`]: `PathMtuCache`, path MTU per destination (RFC 1191, RFC 8201);
//!   - [`ip::ratelimit`]: `TokenBucket` for ICMP errors and RSTs.
//! - [`ports`]: `EphemeralPorts`, RFC 6056 Algorithm 4 ephemeral port selection.
//! - [`rand`]: `StackRng`, the seeded ChaCha12 generator, with `fork(label)`.
//! - [`time`]: `Instant` and `Duration`.
//! - [`hint`]: `cold_path`, the branch-layout hint for rare branches on hot paths.
//!
//! To come (the congestion-control issue): AccECN (RFC 9768).
//!
//! ## Example: two stacks joined in memory
//!
//! What a driver does (here the "wire" is a loop that hands each stack's packets to
//! the other; on a TUN it is a read and a write, in the simulator a link): after
//! every input, drain `poll_transmit`; when nothing is in flight, run the timers at
//! `poll_timeout`.
//!
//! ```
//! use layer4::{Config, ListenOptions, Stack};
//! use layer4::time::{Duration, Instant};
//!
//! /// Moves packets both ways until neither stack has one to send.
//! fn exchange(now: Instant, a: &mut Stack, b: &mut Stack) {
//!     let mut buf = [0u8; 1500];
//!     loop {
//!         let mut moved = false;
//!         while let Some(n) = a.poll_transmit(now, &mut buf) {
//!             b.handle_packet(now, &buf[..n]);
//!             moved = true;
//!         }
//!         while let Some(n) = b.poll_transmit(now, &mut buf) {
//!             a.handle_packet(now, &buf[..n]);
//!             moved = true;
//!         }
//!         if !moved {
//!             return;
//!         }
//!     }
//! }
//!
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! // Seeds make ISNs, ports and every other choice repeatable; a real driver
//! // seeds from OS entropy.
//! let mut server = Stack::new(Config::with_address("10.0.0.1/24".parse()?).seed(1))?;
//! let mut client = Stack::new(Config::with_address("10.0.0.2/24".parse()?).seed(2))?;
//! let listener = server.tcp_listen("10.0.0.1:7".parse()?, ListenOptions::default())?;
//!
//! let mut now = Instant::from_nanos(1_000_000_000); // the caller's clock
//! let conn = client.tcp_connect(now, "10.0.0.1:7".parse()?, None)?;
//! exchange(now, &mut client, &mut server); // SYN, SYN-ACK, ACK
//! let (accepted, peer) = server.tcp_accept(listener)?;
//! assert_eq!(peer.ip().to_string(), "10.0.0.2");
//!
//! client.tcp_send(now, conn, b"hello")?;
//! exchange(now, &mut client, &mut server);
//! let mut got = [0u8; 16];
//! let n = server.tcp_recv(now, accepted, &mut got)?;
//! assert_eq!(&got[..n], b"hello");
//!
//! // Close both ways; the client, which closed first, waits in TIME-WAIT.
//! client.close(now, conn)?;
//! exchange(now, &mut client, &mut server);
//! server.close(now, accepted)?;
//! exchange(now, &mut client, &mut server);
//! assert_eq!(server.tcp_state(accepted), Err(layer4::Error::InvalidHandle));
//!
//! // Time passes only when the driver says so: TIME-WAIT (2 MSL, 60 s by
//! // default) ends when `handle_timeout` runs at the instant `poll_timeout` gave.
//! while let Some(deadline) = client.poll_timeout() {
//!     now = deadline.max(now + Duration::from_millis(1));
//!     client.handle_timeout(now);
//!     exchange(now, &mut client, &mut server);
//! }
//! assert!(now >= Instant::from_nanos(61_000_000_000));
//! # Ok(())
//! # }
//! ```
#![forbid(unsafe_code)]
#![warn(missing_docs)]
// The module maps in these docs name private modules on purpose (they are the map for
// people working on the crate; `cargo doc --document-private-items` renders them).
#![allow(rustdoc::private_intra_doc_links)]

pub use layer4_wire as wire;

pub mod cc;
pub mod config;
pub mod error;
pub mod event;
mod hint;
pub mod ip;
pub mod ports;
pub mod rand;
pub mod socket;
pub mod stack;
pub mod stats;
pub mod tcp;
pub mod time;
pub mod udp;

pub use config::{Config, ConfigError, UdpConfig};
pub use error::Error;
pub use event::{Event, EventKind};
pub use socket::SocketHandle;
pub use stack::{
    FourTuple, ListenOptions, RxOffload, Shutdown, SocketEntry, SocketProtocol, Stack, SynRefusal,
};
pub use stats::Stats;
pub use tcp::{State, TcpConfig, TcpInfo};
pub use time::{Duration, Instant};
