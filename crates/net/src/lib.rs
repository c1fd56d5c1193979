//! # layer4-net: layer4 on real networks
//!
//! This is the only crate where `unsafe` and syscalls may appear; each `unsafe`
//! block says why it is sound.
//!
//! ## Map
//! - [`tun`]: [`Tun`], a Linux TUN device (`IFF_TUN | IFF_NO_PI`, non-blocking, or
//!   blocking on request for simple forwarders):
//!   create or attach by name, MTU, up, the kernel's IPv4 and IPv6 addresses on
//!   the link; `vnet_io`: the same opened with offloads ([`Tun::open_offload`]:
//!   `IFF_VNET_HDR`, `TUNSETOFFLOAD` checksums + TSO4/TSO6), `readv`/`writev`
//!   behind the header.
//! - `netlink`: one rtnetlink request (`RTM_NEWADDR`), for the kernel's IPv6
//!   address on a TUN.
//! - [`vnet`]: the `virtio_net_hdr` (parse, emit), what a packet read brings
//!   the stack ([`vnet::receive`]: a local kernel's partial TCP checksum is
//!   vouched for, not summed; others are completed); [`gso`]: [`Coalescer`](gso::Coalescer), which
//!   joins a connection's consecutive full-sized segments into one super-packet
//!   for a device that segments them.
//! - [`device`]: [`Device`], the packet-device trait the runtime drives, and
//!   [`DatagramDevice`], a connected pair of them (two runtimes without a TUN;
//!   dropping one end unplugs the link for the other; an end can lose every n-th
//!   packet it sends, a lossy link for tests).
//! - [`runtime`]: [`Runtime`] ([`RuntimeOptions`]), the thread that drives a
//!   `layer4::Stack` from a device (read → `handle_packet`, `poll_transmit` → write,
//!   `ppoll` on the device, an eventfd and the stack's deadline), and who waits for
//!   each socket: condition variables for blocking calls, wakers for async ones,
//!   woken on the stack's events; `loopback`: what the stack sends to its own
//!   addresses goes back to it, not to the device (Linux's `lo`); [`os_seed`](runtime::os_seed), and
//!   [`thread_cpu_time`](runtime::thread_cpu_time) for benchmarks. `tx_thread`: the
//!   runtime's transmit thread for a device with offloads (writes beside reads).
//!   `shutdown`: [`Runtime::shutdown`], the graceful end (the application's
//!   sockets closed as at exit, the stack driven until their connections have
//!   finished closing, or a timeout); a drop stops at once.
//! - `sk_err`: a connection's failure reported to the application once, then
//!   the end of the stream or `BrokenPipe`, as Linux's `sk_err`.
//! - [`std_api`]: blocking [`TcpListener`], [`TcpStream`], [`UdpSocket`] with the
//!   names and signatures of `std::net` (constructors take the runtime), `peek`
//!   and `set_nonblocking` included.
//! - `syn_request`: [`SynRequest`], a SYN a listener holds until the
//!   application completes or refuses it (`set_hold_syns`, `next_syn`,
//!   `complete_syn`, `refuse_syn` on both listeners; a tun2socks proxy tries
//!   the upstream first), with [`SynRefusal`].
//! - `tokio` (feature `tokio`, default): async `TcpListener`, `TcpStream`
//!   (tokio's `AsyncRead`/`AsyncWrite`), `UdpSocket` and the stream halves (`tcp`)
//!   with the names and signatures of `tokio::net` (constructors take the runtime),
//!   readiness (`ready(Interest)`, `readable`, `writable`, `try_*`, `peek`) from
//!   `tokio::readiness`.
//!   `tests/api_parity.rs` checks both APIs against std and tokio at compile time;
//!   `tests/std_semantics.rs` and `tests/tokio_semantics.rs` check their behaviour
//!   (close, reset, shutdown, timeouts, clones across threads, a dropped runtime,
//!   error kinds) against what std and tokio do on Linux, without privileges;
//!   `tests/reset_reported_once.rs` runs the same calls on the kernel's sockets
//!   and layer4's after a reset, `tests/graceful_shutdown.rs` checks
//!   [`Runtime::shutdown`].
//! - [`control`]: the control socket each runtime answers on
//!   (`/run/layer4/<pid>-<n>.sock`, JSON lines: the socket table with `tcp_info`,
//!   the counters) that `l4 ss` and `l4 stat` read: [`control::proto`] (the
//!   messages), `control::server` (the thread), [`control::client`].
//! - [`netns`]: [`unshare_thread`](netns::unshare_thread), a private network
//!   namespace for the calling thread (tests, tools); [`enter`](netns::enter) and
//!   [`run_in`](netns::run_in) for an existing one (`ip netns` names or paths).
//! - [`emulator`]: the real-time loop of `l4 emulate`: a TUN in each of two
//!   namespaces, packets carried between them through a
//!   [`PacketPath`](emulator::PacketPath) each way (the simulator's link model) on
//!   the monotonic clock; SIGINT/SIGTERM through a `signalfd`
//!   ([`Termination`](emulator::Termination)).
//!
//! To come: UDP segmentation offload (`TUN_F_USO4`/`USO6`).
#![warn(missing_docs)]
// The module maps in these docs name private modules on purpose (they are the map for
// people working on the crate; `cargo doc --document-private-items` renders them).
#![allow(rustdoc::private_intra_doc_links)]

pub use layer4;

pub mod control;
pub mod device;
pub mod emulator;
pub mod gso;
mod ip_ttl;
mod linger;
mod loopback;
mod netlink;
pub mod netns;
pub mod runtime;
mod shutdown;
mod sk_err;
mod so_error;
pub mod std_api;
mod syn_request;
#[cfg(feature = "tokio")]
pub mod tokio;
pub mod tun;
mod tx_thread;
pub mod vnet;
mod vnet_io;

pub use control::ControlSocket;
pub use device::{DatagramDevice, Device};

// The README's examples are compiled as doc-tests of this crate.
#[cfg(all(doctest, feature = "tokio"))]
#[doc = include_str!("../../../README.md")]
mod readme {}
pub use layer4::SynRefusal;
pub use runtime::{Runtime, RuntimeOptions, RuntimeStats};
pub use std_api::{TcpListener, TcpStream, UdpSocket};
pub use syn_request::SynRequest;
pub use tun::Tun;
