//! `layer4-bench tun`: layer4 on a real TUN device against the Linux kernel, beside
//! Linux against Linux over the same kind of TUN wire and over veth (issue 6).
//!
//! - [`netns`]: threads in fresh or named network namespaces, the root check, the
//!   named-namespace guard that deletes what it made.
//! - [`stream`]: the timed bulk sender and receiver and the connect/echo loop, shared
//!   by every pairing (std and layer4 sockets alike).
//! - [`wire`]: the userspace TUN-to-TUN forwarder (the "plain TUN wire").
//! - [`runs`]: one run of each pairing: layer4 ↔ kernel over one TUN, kernel ↔ kernel
//!   over a TUN wire and over veth, connections per second.

pub mod netns;
pub mod runs;
pub mod stream;
pub mod wire;

use std::io;

use crate::BenchError;

/// `Setup("what: error")` for an I/O error while building the network.
pub fn setup_err(what: &'static str) -> impl FnOnce(io::Error) -> BenchError {
    move |e| BenchError::Setup(format!("{what}: {e}"))
}

/// `ConnectionFailed` for an I/O error during a transfer.
pub fn io_err(what: &'static str) -> impl FnOnce(io::Error) -> BenchError {
    move |e| BenchError::ConnectionFailed {
        conn: 0,
        why: format!("{what}: {e}"),
    }
}
