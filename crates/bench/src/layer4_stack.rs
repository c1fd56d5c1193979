//! layer4 in the harness: [`Layer4Harness`], waiting for `layer4::Stack`.
//!
//! Each benchmark is one function here: [`bulk`], [`connect`], [`idle`]. Until the host
//! stack exists they return [`BenchError::Unavailable`] with [`UNAVAILABLE`], which the
//! CLI prints as the layer4 row's note. To plug the stack in, replace their bodies; the
//! smoltcp versions in `crate::smoltcp_stack` are the reference for the setup, and the
//! shared helpers keep the two comparable:
//!
//! - [`crate::link::Link`] is the wire. After every socket call, drain each stack:
//!   `take_buf` -> `poll_transmit(now, &mut buf)` -> `push(buf, len)` (or `recycle`
//!   when it returns `None`), and feed the other side with `pop` -> `handle_packet(now,
//!   pkt.bytes())` -> `recycle(pkt.into_buf())`; `handle_timeout(now)` when
//!   `poll_timeout()` has passed. Raw IPv4, the link's MTU, checksums computed on
//!   emit and verified on parse (the stack's default; do not turn them off).
//! - [`crate::clock::Clock::nanos`] gives `now` (wrap it in `layer4::time::Instant`);
//!   [`crate::clock::StallGuard`] turns a hang into an error.
//! - `bulk`: [`crate::pattern::PatternSource::next_chunk`] / `advance` around the
//!   client's `send`, [`crate::pattern::PatternSink::buf_mut`] / `accept` around the
//!   server's `recv`; start the clock when the connection is established, stop it when
//!   the sink has `cfg.bytes`; buffers of `cfg.buf` bytes on both sockets.
//! - `connect`: `cfg.window` connections in flight, one byte each way (the server
//!   answers with the complement), close on both sides; count a connection when both
//!   sides are done. TIME-WAIT may stay in the stack (it is bounded by design).
//! - `idle`: wrap every call into the client stack in
//!   `alloc_count::with_tag(Tag::Client, ..)` and into the server stack (creation
//!   included) in `with_tag(Tag::Server, ..)`; after all `cfg.conns` connections are
//!   established and the link is idle, the server figure is
//!   `snapshot(Tag::Server).live_since(&before)`. One client address has only 64 K
//!   ports: give the client stack several addresses or the server several ports.

use crate::config::{BulkConfig, ConnectConfig, IdleConfig};
use crate::error::BenchError;
use crate::harness::StackHarness;
use crate::results::{BulkResult, ConnectResult, IdleResult};

/// The message every layer4 benchmark returns until the stack exists.
pub const UNAVAILABLE: &str = "layer4::Stack not available yet";

/// layer4 as a [`StackHarness`]; forwards to [`bulk`], [`connect`] and [`idle`].
#[derive(Clone, Copy, Debug, Default)]
pub struct Layer4Harness;

impl StackHarness for Layer4Harness {
    fn name(&self) -> &'static str {
        "layer4"
    }

    fn run_bulk(&self, cfg: &BulkConfig) -> Result<BulkResult, BenchError> {
        bulk(cfg)
    }

    fn run_connect(&self, cfg: &ConnectConfig) -> Result<ConnectResult, BenchError> {
        connect(cfg)
    }

    fn run_idle(&self, cfg: &IdleConfig) -> Result<IdleResult, BenchError> {
        idle(cfg)
    }
}

/// `bulk` on two `layer4::Stack`s (to be written).
pub fn bulk(_cfg: &BulkConfig) -> Result<BulkResult, BenchError> {
    Err(BenchError::Unavailable(UNAVAILABLE))
}

/// `connect` on two `layer4::Stack`s (to be written).
pub fn connect(_cfg: &ConnectConfig) -> Result<ConnectResult, BenchError> {
    Err(BenchError::Unavailable(UNAVAILABLE))
}

/// `idle` on two `layer4::Stack`s (to be written).
pub fn idle(_cfg: &IdleConfig) -> Result<IdleResult, BenchError> {
    Err(BenchError::Unavailable(UNAVAILABLE))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_benchmark_says_the_stack_is_missing() {
        let h = Layer4Harness;
        let msg = |e: BenchError| e.to_string();
        assert_eq!(
            msg(h.run_bulk(&BulkConfig::default()).unwrap_err()),
            UNAVAILABLE
        );
        assert_eq!(
            msg(h.run_connect(&ConnectConfig::default()).unwrap_err()),
            UNAVAILABLE
        );
        assert_eq!(
            msg(h.run_idle(&IdleConfig::default()).unwrap_err()),
            UNAVAILABLE
        );
    }
}
