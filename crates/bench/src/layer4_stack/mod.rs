//! layer4 in the harness: [`Layer4Harness`].
//!
//! Two `layer4::Stack`s joined by a [`crate::link::Link`] of raw IP packets (IPv4, or
//! IPv6 with the config's [`IpFamily::V6`]: the same setup in 2001:db8::/64), driven
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

use core::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

use layer4::{Config, Instant, Stack};

use crate::clock::Clock;
use crate::config::{BulkConfig, ConnectConfig, IdleConfig, IpFamily};
use crate::error::BenchError;
use crate::harness::StackHarness;
use crate::link::Pipe;
use crate::results::{BulkResult, ConnectResult, IdleResult};

mod bulk;
mod connect;
mod idle;

/// The server's IPv4 address (side B); the client's addresses are [`client_addr`].
const ADDR_B_V4: Ipv4Addr = Ipv4Addr::new(198, 18, 0, 2);
/// The server's IPv6 address (side B), in the documentation prefix 2001:db8::/32.
const ADDR_B_V6: Ipv6Addr = Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, 2);
/// The first IPv6 client address (the IPv6 counterpart of 198.18.1.0).
const CLIENT_BASE_V6: Ipv6Addr = Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 1, 0);
/// The server port of `bulk` and `connect`.
const SERVER_PORT: u16 = 5001;
/// Client ports used per client address by `connect` and `idle` (1024..61024).
const PORTS_PER_ADDR: u64 = 60_000;

/// The server's address (side B) in `family`.
fn server_addr(family: IpFamily) -> IpAddr {
    match family {
        IpFamily::V4 => IpAddr::V4(ADDR_B_V4),
        IpFamily::V6 => IpAddr::V6(ADDR_B_V6),
    }
}

/// The server's listening address and port in `family`.
fn server_endpoint(family: IpFamily) -> SocketAddr {
    SocketAddr::new(server_addr(family), SERVER_PORT)
}

/// The client's `i`-th address in `family`: 198.18.1.0 + i (a /16 holds both sides),
/// or 2001:db8::1:0 + i (a /64 holds both sides).
fn client_addr(family: IpFamily, i: u64) -> IpAddr {
    match family {
        IpFamily::V4 => {
            let n = u32::from(Ipv4Addr::new(198, 18, 1, 0)) + i as u32;
            IpAddr::V4(Ipv4Addr::from(n))
        }
        IpFamily::V6 => IpAddr::V6(Ipv6Addr::from(u128::from(CLIENT_BASE_V6) + u128::from(i))),
    }
}

/// The client's local address and port for connection `i` (every 4-tuple distinct
/// for `PORTS_PER_ADDR` × addresses connections).
fn client_local(family: IpFamily, i: u64) -> SocketAddr {
    SocketAddr::new(
        client_addr(family, i / PORTS_PER_ADDR),
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
    at(clock.nanos())
}

/// [`now`] for the clock reading `nanos`.
fn at(nanos: u64) -> Instant {
    Instant::from_nanos(nanos + 1_000_000_000)
}

/// A stack with `addrs` (each on a prefix holding both sides: /16 for IPv4, /64 for
/// IPv6), the link's MTU and `buf`-byte socket buffers.
fn stack(addrs: &[IpAddr], seed: u64, mtu: usize, buf: usize) -> Result<Stack, BenchError> {
    let cidr = |a: &IpAddr| {
        let prefix = if a.is_ipv4() { 16 } else { 64 };
        format!("{a}/{prefix}")
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
        let v4 = IpFamily::V4;
        assert_eq!(client_local(v4, 0), "198.18.1.0:1024".parse().unwrap());
        assert_eq!(
            client_local(v4, 59_999),
            "198.18.1.0:61023".parse().unwrap()
        );
        assert_eq!(client_local(v4, 60_000), "198.18.1.1:1024".parse().unwrap());
        assert_eq!(
            client_addr(v4, 300),
            IpAddr::V4(Ipv4Addr::new(198, 18, 2, 44))
        );
    }

    #[test]
    fn ipv6_client_tuples_are_distinct_across_addresses() {
        let v6 = IpFamily::V6;
        assert_eq!(client_local(v6, 0), "[2001:db8::1:0]:1024".parse().unwrap());
        assert_eq!(
            client_local(v6, 60_000),
            "[2001:db8::1:1]:1024".parse().unwrap()
        );
        assert_eq!(
            client_addr(v6, 0x1_0000),
            "2001:db8::2:0".parse::<IpAddr>().unwrap()
        );
        assert_eq!(server_endpoint(v6), "[2001:db8::2]:5001".parse().unwrap());
    }
}
