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

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::StackHarness;
    use crate::config::ConnectConfig;
    use crate::layer4_stack::Layer4Harness;
    use crate::smoltcp_stack::SmoltcpHarness;

    #[test]
    fn a_stepped_clock_makes_connect_runs_repeat_exactly() {
        let cfg = ConnectConfig {
            conns: 500,
            window: 4,
            clock_step: Some(Duration::from_nanos(100)),
            ..ConnectConfig::default()
        };
        let stacks: [&dyn StackHarness; 2] = [&Layer4Harness, &SmoltcpHarness];
        for h in stacks {
            let a = h.run_connect(&cfg).unwrap();
            let b = h.run_connect(&cfg).unwrap();
            assert_eq!((a.conns, b.conns), (500, 500), "{}", h.name());
            assert_eq!(a.packets, b.packets, "{}", h.name());
        }
    }
}
