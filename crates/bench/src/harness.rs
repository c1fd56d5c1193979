//! [`StackHarness`]: the one trait a stack implements to take part in the benchmarks.
//!
//! Each method builds two instances of the stack in this process, joins them with a
//! [`crate::link::Link`], runs the benchmark on the calling thread and returns what it
//! measured. Both stacks use the same helpers ([`crate::pattern`] for data,
//! [`crate::link`] for the wire, [`crate::clock`] for time and stall detection,
//! [`crate::alloc_count`] for memory), so their figures compare like with like.

use crate::config::{BulkConfig, ConnectConfig, IdleConfig};
use crate::error::BenchError;
use crate::results::{BulkResult, ConnectResult, IdleResult};

/// A TCP stack that can run the `bulk`, `connect` and `idle` benchmarks in memory.
pub trait StackHarness {
    /// The name printed in the `stack` column (e.g. `"smoltcp 0.14"`).
    fn name(&self) -> &'static str;

    /// One connection, `cfg.bytes` from client to server, copied in and out, checksums
    /// computed and verified, received data checked against the pattern if
    /// `cfg.verify`.
    fn run_bulk(&self, cfg: &BulkConfig) -> Result<BulkResult, BenchError>;

    /// `cfg.conns` times: connect, one byte each way, close on both sides.
    fn run_connect(&self, cfg: &ConnectConfig) -> Result<ConnectResult, BenchError>;

    /// Establish `cfg.conns` connections and report the server side's memory.
    fn run_idle(&self, cfg: &IdleConfig) -> Result<IdleResult, BenchError>;
}
