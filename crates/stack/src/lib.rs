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
//!   calls, ICMP, timers, the socket table.
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
    FourTuple, ListenOptions, RxOffload, Shutdown, SocketEntry, SocketProtocol, Stack,
};
pub use stats::Stats;
pub use tcp::{State, TcpConfig, TcpInfo};
pub use time::{Duration, Instant};
