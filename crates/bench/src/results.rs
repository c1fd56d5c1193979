//! What each benchmark measured: [`BulkResult`], [`ConnectResult`], [`IdleResult`].

use std::time::Duration;

/// The outcome of one `bulk` run.
#[derive(Clone, Debug, PartialEq)]
pub struct BulkResult {
    /// Payload bytes the server application received (and verified, if asked).
    pub bytes: u64,
    /// From the connection becoming established to the last byte read by the server.
    pub elapsed: Duration,
    /// On-CPU time of the benchmark thread over `elapsed`, if the platform reports it.
    pub cpu: Option<Duration>,
    /// Packets the client sent (data segments, mostly).
    pub packets_a_to_b: u64,
    /// Packets the server sent (ACKs and window updates).
    pub packets_b_to_a: u64,
}

impl BulkResult {
    /// Goodput in Gbit/s (10^9 bit/s).
    pub fn gbit_per_s(&self) -> f64 {
        self.bytes as f64 * 8.0 / self.elapsed.as_secs_f64() / 1e9
    }

    /// Goodput per on-CPU second, in Gbit/s: what one core to itself would do.
    pub fn gbit_per_cpu_s(&self) -> Option<f64> {
        self.cpu
            .map(|c| self.bytes as f64 * 8.0 / c.as_secs_f64() / 1e9)
    }

    /// Client packets per second.
    pub fn packets_per_s(&self) -> f64 {
        self.packets_a_to_b as f64 / self.elapsed.as_secs_f64()
    }
}

/// The outcome of one `connect` run.
#[derive(Clone, Debug, PartialEq)]
pub struct ConnectResult {
    /// Connections completed (opened, one byte each way, closed on both sides).
    pub conns: u64,
    /// Wall time for all of them.
    pub elapsed: Duration,
    /// On-CPU time of the benchmark thread over `elapsed`, if the platform reports it.
    pub cpu: Option<Duration>,
    /// Packets on the link, both directions.
    pub packets: u64,
    /// With `ConnectConfig::sides`: the server's stack alone through the same run.
    pub server_alone: Option<SideRun>,
    /// With `ConnectConfig::sides`: the client's stack alone through the same run.
    pub client_alone: Option<SideRun>,
}

/// One side of a `connect` run driven alone ([`crate::replay`]): the same connections,
/// the other side's packets replayed.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct SideRun {
    /// Wall time for all the connections.
    pub elapsed: Duration,
    /// On-CPU time of the benchmark thread over `elapsed`, if the platform reports it.
    pub cpu: Option<Duration>,
}

impl ConnectResult {
    /// Connections per second.
    pub fn per_second(&self) -> f64 {
        self.conns as f64 / self.elapsed.as_secs_f64()
    }

    /// Connections per on-CPU second: what one core to itself would do.
    pub fn per_cpu_second(&self) -> Option<f64> {
        self.cpu.map(|c| self.conns as f64 / c.as_secs_f64())
    }
}

/// The outcome of one `idle` run. Byte counts are what the harness's counting allocator
/// saw requested while each side ran (see [`crate::alloc_count`]).
#[derive(Clone, Debug, PartialEq)]
pub struct IdleResult {
    /// Connections established and held idle when memory was measured.
    pub conns: usize,
    /// Bytes the server side holds: its stack, socket table, per-connection state and
    /// buffers, everything allocated while the server side ran.
    pub server_bytes: u64,
    /// Heap blocks behind `server_bytes` (each costs malloc some overhead on top).
    pub server_blocks: u64,
    /// Of `server_bytes`, the bytes in socket send and receive buffers.
    pub server_buffer_bytes: u64,
    /// Bytes the client side holds.
    pub client_bytes: u64,
    /// Process resident-set growth over the run (both sides, the link, malloc overhead),
    /// if the platform reports it.
    pub rss_growth_bytes: Option<u64>,
    /// Wall time to open and establish all connections.
    pub setup: Duration,
}

impl IdleResult {
    /// Server bytes per connection.
    pub fn server_bytes_per_conn(&self) -> f64 {
        self.server_bytes as f64 / self.conns.max(1) as f64
    }
}
