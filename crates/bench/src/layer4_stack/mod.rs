//! layer4 in the harness: [`Layer4Harness`].
//!
//! Two `layer4::Stack`s joined by a [`crate::link::Link`] of raw IPv4 packets, driven
//! the way `layer4::stack` documents it: after every input (socket calls, packets,
//! timeouts) each stack's `poll_transmit` is drained onto its pipe, the other side
//! takes the packets with `handle_packets`, events are drained, and `handle_timeout`
//! runs once `poll_timeout` has passed. The stack's defaults otherwise (checksums
//! computed and verified, Nagle on, delayed ACK, CUBIC), with the link's MTU and the
//! benchmark's buffer sizes in `TcpConfig::send_buffer` / `recv_buffer`.
//!
//! - [`drain`], [`deliver`], [`pump`], [`service`]: the shared driving steps.
//! - `bulk`, `connect`, `idle`: the three benchmarks, one file each (the smoltcp
//!   versions in `crate::smoltcp_stack` are their references).

use core::net::{IpAddr, Ipv4Addr, SocketAddr};

use layer4::{Config, Instant, Stack};

use crate::clock::Clock;
use crate::config::{BulkConfig, ConnectConfig, IdleConfig};
use crate::error::BenchError;
use crate::harness::StackHarness;
use crate::link::Pipe;
use crate::results::{BulkResult, ConnectResult, IdleResult};

mod bulk;
mod connect;
mod idle;

/// The server's address (side B); the client's addresses are [`client_addr`].
const ADDR_B: Ipv4Addr = Ipv4Addr::new(198, 18, 0, 2);
/// The server port of `bulk` and `connect`.
const SERVER_PORT: u16 = 5001;
/// Client ports used per client address by `connect` and `idle` (1024..61024).
const PORTS_PER_ADDR: u64 = 60_000;

/// The client's `i`-th address: 198.18.1.0 + i (a /16 holds both sides).
fn client_addr(i: u64) -> Ipv4Addr {
    let n = u32::from(Ipv4Addr::new(198, 18, 1, 0)) + i as u32;
    Ipv4Addr::from(n)
}

/// The client's local address and port for connection `i` (every 4-tuple distinct
/// for `PORTS_PER_ADDR` × addresses connections).
fn client_local(i: u64) -> SocketAddr {
    SocketAddr::new(
        IpAddr::V4(client_addr(i / PORTS_PER_ADDR)),
        1024 + (i % PORTS_PER_ADDR) as u16,
    )
}

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

/// `bulk` on two `layer4::Stack`s.
pub fn bulk(cfg: &BulkConfig) -> Result<BulkResult, BenchError> {
    bulk::run(cfg)
}

/// `connect` on two `layer4::Stack`s.
pub fn connect(cfg: &ConnectConfig) -> Result<ConnectResult, BenchError> {
    connect::run(cfg)
}

/// `idle` on two `layer4::Stack`s.
pub fn idle(cfg: &IdleConfig) -> Result<IdleResult, BenchError> {
    idle::run(cfg)
}

/// `now` for the stacks: the harness clock, offset by one second so that no timer
/// arithmetic starts at zero.
fn now(clock: &Clock) -> Instant {
    Instant::from_nanos(clock.nanos() + 1_000_000_000)
}

/// A stack with `addrs` (each a /16 holding both sides), the link's MTU and `buf`-byte
/// socket buffers.
fn stack(addrs: &[Ipv4Addr], seed: u64, mtu: usize, buf: usize) -> Result<Stack, BenchError> {
    let cidr = |a: &Ipv4Addr| {
        format!("{a}/16")
            .parse()
            .map_err(|e| setup_err("address", format!("{e:?}")))
    };
    let first = addrs
        .first()
        .ok_or_else(|| setup_err("address", "none given"))?;
    let mut config = Config::with_address(cidr(first)?).seed(seed);
    for a in &addrs[1..] {
        config = config.address(cidr(a)?);
    }
    config.mtu = u16::try_from(mtu).map_err(|e| setup_err("mtu", e))?;
    config.tcp.send_buffer = buf;
    config.tcp.recv_buffer = buf;
    Stack::new(config).map_err(|e| setup_err("config", format!("{e:?}")))
}

/// Moves every packet `from` wants to send onto `pipe`.
pub fn drain(now: Instant, from: &mut Stack, pipe: &mut Pipe) {
    loop {
        let mut buf = pipe.take_buf();
        match from.poll_transmit(now, &mut buf) {
            Some(len) => pipe.push(buf, len),
            None => {
                pipe.recycle(buf);
                return;
            }
        }
    }
}

/// Hands every packet queued on `pipe` to `to`: several as one batch
/// (`Stack::handle_packets`: what a driver reading a TUN device or a socket in
/// batches does), a lone one with `Stack::handle_packet` (the same result,
/// without the batch's iterator).
pub fn deliver(now: Instant, pipe: &mut Pipe, to: &mut Stack) {
    if pipe.queued() > 1 {
        to.handle_packets(now, pipe.queued_packets());
        pipe.recycle_queued();
    } else if let Some(pkt) = pipe.pop() {
        to.handle_packet(now, pkt.bytes());
        pipe.recycle(pkt.into_buf());
    }
}

/// [`drain`] then [`deliver`]: `from`'s output arrives at `to`.
pub fn pump(now: Instant, from: &mut Stack, pipe: &mut Pipe, to: &mut Stack) {
    drain(now, from, pipe);
    deliver(now, pipe, to);
}

/// Discards pending events (the harnesses look at every socket each round) and runs
/// the stack's timers if they are due.
pub fn service(now: Instant, stack: &mut Stack) {
    while stack.poll_event().is_some() {}
    if stack.poll_timeout().is_some_and(|t| t <= now) {
        stack.handle_timeout(now);
    }
}

/// Out of line and cold: `connect` opens every connection through a call that
/// could fail with one of these, and never does.
#[cold]
#[inline(never)]
fn setup_err(what: &str, e: impl std::fmt::Display) -> BenchError {
    BenchError::Setup(format!("layer4 {what}: {e}"))
}

fn failed(conn: u64, why: String) -> BenchError {
    BenchError::ConnectionFailed { conn, why }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn client_tuples_are_distinct_across_addresses() {
        assert_eq!(client_local(0), "198.18.1.0:1024".parse().unwrap());
        assert_eq!(client_local(59_999), "198.18.1.0:61023".parse().unwrap());
        assert_eq!(client_local(60_000), "198.18.1.1:1024".parse().unwrap());
        assert_eq!(client_addr(300), Ipv4Addr::new(198, 18, 2, 44));
    }
}
