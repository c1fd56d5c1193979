//! smoltcp in the harness: [`SmoltcpHarness`].
//!
//! smoltcp 0.14 with features `std`, `medium-ip`, `proto-ipv4`, `socket-tcp`,
//! `socket-tcp-cubic` (CUBIC congestion control, selected explicitly on every socket),
//! and `proto-ipv6` when this crate's `smoltcp-ipv6` feature is on. Each interface has
//! one address of the benchmark's [`IpFamily`]: 198.18.0.1 and .2 on a /24, or
//! 2001:db8::1 and ::2 on a /64. Without `smoltcp-ipv6` an IPv6 run is
//! [`BenchError::Unavailable`]: the feature is off by default because compiling
//! IPv6 in makes smoltcp's IPv4 path slower (every address an enum of two), which
//! would move the IPv4 reference figures.
//! Two `Interface`s (Medium::Ip) joined by a [`crate::link::Link`] through
//! [`device::LinkEnd`]; smoltcp's defaults otherwise (10 ms delayed ACK, Nagle on,
//! software checksums computed and verified). Sockets own fixed send and receive
//! buffers of the configured size, allocated when the socket is created.
//!
//! - [`device`]: the link end as a `phy::Device`.
//! - `bulk`, `connect`, `idle`: the three benchmarks.

use smoltcp::iface::{Config, Interface};
use smoltcp::phy::Device;
use smoltcp::socket::tcp;
use smoltcp::time::Instant;
use smoltcp::wire::{HardwareAddress, IpAddress, IpCidr, Ipv4Address};

use crate::clock::Clock;
use crate::config::{BulkConfig, ConnectConfig, IdleConfig, IpFamily};
use crate::error::BenchError;
use crate::harness::StackHarness;
use crate::results::{BulkResult, ConnectResult, IdleResult};

mod bulk;
mod connect;
pub mod device;
mod idle;

/// The client's address (side A) in `family`.
fn addr_a(family: IpFamily) -> Result<IpAddress, BenchError> {
    match family {
        IpFamily::V4 => Ok(IpAddress::Ipv4(Ipv4Address::new(198, 18, 0, 1))),
        IpFamily::V6 => ipv6(1),
    }
}

/// The server's address (side B) in `family`.
fn addr_b(family: IpFamily) -> Result<IpAddress, BenchError> {
    match family {
        IpFamily::V4 => Ok(IpAddress::Ipv4(Ipv4Address::new(198, 18, 0, 2))),
        IpFamily::V6 => ipv6(2),
    }
}

/// 2001:db8::`host`.
#[cfg(feature = "smoltcp-ipv6")]
fn ipv6(host: u16) -> Result<IpAddress, BenchError> {
    Ok(IpAddress::Ipv6(smoltcp::wire::Ipv6Address::new(
        0x2001, 0xdb8, 0, 0, 0, 0, 0, host,
    )))
}

/// Without smoltcp's `proto-ipv6` there is no IPv6 address to give.
#[cfg(not(feature = "smoltcp-ipv6"))]
fn ipv6(_host: u16) -> Result<IpAddress, BenchError> {
    Err(BenchError::Unavailable(
        "IPv6 needs smoltcp's proto-ipv6: build layer4-bench with --features smoltcp-ipv6",
    ))
}

/// The prefix both sides share: a /24 (IPv4) or a /64 (IPv6).
fn prefix_len(family: IpFamily) -> u8 {
    match family {
        IpFamily::V4 => 24,
        IpFamily::V6 => 64,
    }
}

/// The server port of `bulk` and `connect`.
const SERVER_PORT: u16 = 5001;

/// smoltcp as a [`StackHarness`].
#[derive(Clone, Copy, Debug, Default)]
pub struct SmoltcpHarness;

impl StackHarness for SmoltcpHarness {
    fn name(&self) -> &'static str {
        "smoltcp 0.14"
    }

    fn run_bulk(&self, cfg: &BulkConfig) -> Result<BulkResult, BenchError> {
        bulk::run(cfg)
    }

    fn run_connect(&self, cfg: &ConnectConfig) -> Result<ConnectResult, BenchError> {
        connect::run(cfg)
    }

    fn run_idle(&self, cfg: &IdleConfig) -> Result<IdleResult, BenchError> {
        idle::run(cfg)
    }
}

/// Size of one smoltcp TCP socket (its state without the buffers) and of one slot of a
/// `SocketSet`, in bytes; for the idle report's breakdown.
pub fn socket_sizes() -> (usize, usize) {
    (
        std::mem::size_of::<tcp::Socket<'static>>(),
        std::mem::size_of::<smoltcp::iface::SocketStorage<'static>>(),
    )
}

fn now(clock: &Clock) -> Instant {
    Instant::from_micros(clock.micros())
}

/// An interface with one address on the harness's /24 (IPv4) or /64 (IPv6), and its
/// own random seed.
fn interface(
    device: &mut impl Device,
    addr: IpAddress,
    prefix: u8,
    seed: u64,
    now: Instant,
) -> Interface {
    let mut config = Config::new(HardwareAddress::Ip);
    config.random_seed = seed;
    let mut iface = Interface::new(config, device, now);
    iface.update_ip_addrs(|addrs| {
        // A fresh interface has room for at least one address.
        let _ = addrs.push(IpCidr::new(addr, prefix));
    });
    iface
}

/// A TCP socket with `buf`-byte send and receive buffers and CUBIC.
fn socket(buf: usize) -> tcp::Socket<'static> {
    let mut s = tcp::Socket::new(
        tcp::SocketBuffer::new(vec![0u8; buf]),
        tcp::SocketBuffer::new(vec![0u8; buf]),
    );
    s.set_congestion_control(tcp::CongestionControl::Cubic);
    s
}

fn setup_err(what: &str, e: impl std::fmt::Display) -> BenchError {
    BenchError::Setup(format!("smoltcp {what}: {e}"))
}
