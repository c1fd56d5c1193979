//! # layer4: the sans-IO host stack
//!
//! A pure state machine for IP, ICMP, UDP and TCP. Everything that happens to the
//! stack arrives through a call that carries `now`; everything it wants to do comes
//! out of a poll (`handle_packet`, `handle_timeout`, socket calls in; `poll_transmit`,
//! `poll_timeout`, `poll_event` out). It never reads a clock, touches a socket or a
//! file, spawns a thread, or uses `unsafe`; randomness comes from a generator seeded by
//! its configuration.
//!
//! ## Map
//! - [`time`]: `Instant` and `Duration`, the virtual-or-real time every input carries.
//! - [`rand`]: `StackRng`, the seeded ChaCha12 generator every random choice comes
//!   from, with `fork(label)` for independent per-purpose streams.
//! - [`ports`]: `EphemeralPorts`, RFC 6056 Algorithm 4 (double-hash) ephemeral port
//!   selection over a configured range, asking the caller which ports are free.
//! - [`tcp`]: TCP's self-contained pieces so far:
//!   - [`tcp::isn`]: RFC 6528 initial sequence numbers (`IsnGenerator`);
//!   - [`tcp::rtt`]: the RFC 6298 RTO estimator (`RttEstimator`, `RttConfig`);
//!   - [`tcp::assembler`]: the receiver's bounded out-of-order ranges and SACK blocks
//!     (`Assembler`);
//!   - [`tcp::send_buffer`]: the unacknowledged bytes, read by offset into outgoing
//!     segments (`SendBuffer`);
//!   - [`tcp::recv_buffer`]: readable bytes plus room for out-of-order data at its
//!     offset (`RecvBuffer`). Both allocate lazily and grow up to a limit.
//!
//! - [`ip`]: the IP layer's pieces:
//!   - [`ip::cidr`]: `Ipv4Cidr`, `Ipv6Cidr`, `IpCidr` (`10.0.0.1/24`);
//!   - [`ip::route`]: `RouteTable` (longest-prefix match, source-address selection);
//!   - [`ip::reassembly`]: `Reassembler`, bounded IPv4/IPv6 fragment reassembly;
//!   - [`ip::fragment`]: `Fragmenter`, output fragmentation into a caller's buffer;
//!   - [`ip::pmtu`]: `PathMtuCache`, path MTU per destination (RFC 1191, RFC 8201);
//!   - [`ip::ratelimit`]: `TokenBucket` for ICMP errors and challenge ACKs.
//!
//! To come (the host-stack issue): `config` (addresses, routes, limits, seed), `iface`
//! (ingress/egress, routing), ICMP handling, `demux` (sockets by
//! 5-tuple in a hash map; it answers the `is_free` question of port selection), the
//! rest of `tcp/` (the RFC 9293 state machine split by concern: acceptability, RST/SYN
//! checks, sender, receiver, options, timers), `udp`, `cc/` (the congestion-control
//! trait and NewReno, CUBIC, BBR), `stats` (counters named like `netstat -s`) and
//! `TcpInfo`.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub use layer4_wire as wire;

pub mod ip;
pub mod ports;
pub mod rand;
pub mod tcp;
pub mod time;
