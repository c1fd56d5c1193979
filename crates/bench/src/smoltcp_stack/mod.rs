//! smoltcp in the harness: [`SmoltcpHarness`].
//!
//! smoltcp 0.14 with features `std`, `medium-ip`, `proto-ipv4`, `socket-tcp`,
//! `socket-tcp-cubic` (CUBIC congestion control, selected explicitly on every socket).
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
use crate::config::{BulkConfig, ConnectConfig, IdleConfig};
use crate::error::BenchError;
use crate::harness::StackHarness;
use crate::results::{BulkResult, ConnectResult, IdleResult};

mod bulk;
mod connect;
pub mod device;
mod idle;

/// The client's address (side A).
const ADDR_A: Ipv4Address = Ipv4Address::new(198, 18, 0, 1);
/// The server's address (side B).
const ADDR_B: Ipv4Address = Ipv4Address::new(198, 18, 0, 2);
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

/// An interface with one address on the harness's /24, and its own random seed.
fn interface(device: &mut impl Device, addr: Ipv4Address, seed: u64, clock: &Clock) -> Interface {
    let mut config = Config::new(HardwareAddress::Ip);
    config.random_seed = seed;
    let mut iface = Interface::new(config, device, now(clock));
    iface.update_ip_addrs(|addrs| {
        // A fresh interface has room for at least one address.
        let _ = addrs.push(IpCidr::new(IpAddress::Ipv4(addr), 24));
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
