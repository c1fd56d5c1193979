//! # layer4-bench: benchmarks
//!
//! Two kinds of benchmark live here.
//!
//! **Criterion benches** in `benches/`: `wire` (checksum throughput against memcpy, TCP
//! header parse and emit).
//!
//! **The `layer4-bench` binary** (`cargo run --release -p layer4-bench -- <name>`):
//! whole-stack benchmarks that run layer4 and smoltcp side by side in the same process
//! and setup, printing Markdown tables — `bulk` (one connection's throughput), `connect`
//! (connections per second) and `idle` (memory per idle connection) — and `sim`, the
//! simulator's own speed (events, packets and simulated seconds per wall second). Results are
//! recorded in `docs/benchmarks.md`.
//!
//! ## Map
//! - [`harness`]: `StackHarness`, the trait a stack implements to take part.
//! - [`config`]: `BulkConfig`, `ConnectConfig`, `IdleConfig` (what to run), and
//!   `IpFamily` (IPv4 or IPv6, for all three).
//! - [`results`]: `BulkResult`, `ConnectResult`, `IdleResult` (what was measured).
//! - [`error`]: `BenchError` (why there is no figure).
//! - [`link`]: `Link`, the in-memory wire of raw IP packets between two stacks.
//! - [`pattern`]: `PatternSource` / `PatternSink`, the checked byte stream of `bulk`.
//! - [`clock`]: `Clock` (wall time in each stack's units) and `StallGuard`.
//! - [`alloc_count`]: `CountingAlloc`, the global allocator that charges allocations
//!   to the client side, the server side or the link, for `idle`.
//! - [`replay`]: `Recording` and `Tap`: what each side of a `connect` run was handed,
//!   to run one side alone again (`connect --sides`).
//! - [`report`]: Markdown `Table`s, ratio rows, medians.
//! - [`sim_speed`]: how fast `layer4-sim` runs one bulk flow (`layer4-bench sim`).
//! - [`smoltcp_stack`]: `SmoltcpHarness` (smoltcp 0.14 with CUBIC), complete.
//! - [`tun`]: `layer4-bench tun bulk|connect` (root): layer4 on a real TUN against the
//!   Linux kernel, beside Linux ↔ Linux over a TUN wire (userspace forwarder) and veth;
//!   the namespaces, the forwarder and one run of each pairing.
//! - [`layer4_stack`]: `Layer4Harness` (two `layer4::Stack`s), complete; its `drain`,
//!   `deliver`, `pump` and `service` also drive layer4 in `tests/interop_smoltcp.rs`
//!   (layer4 against smoltcp in memory).
#![deny(unsafe_code)]
#![warn(missing_docs)]

pub mod alloc_count;
pub mod cc_cost;
pub mod clock;
pub mod config;
pub mod error;
pub mod harness;
pub mod layer4_stack;
pub mod link;
pub mod pattern;
pub mod replay;
pub mod report;
pub mod results;
pub mod sim_speed;
pub mod smoltcp_stack;
pub mod tun;

pub use config::{BulkConfig, ConnectConfig, IdleConfig, IpFamily};
pub use error::BenchError;
pub use harness::StackHarness;
pub use results::{BulkResult, ConnectResult, IdleResult};

/// The lib's own tests measure memory too.
#[cfg(test)]
#[global_allocator]
static TEST_ALLOC: alloc_count::CountingAlloc = alloc_count::CountingAlloc;
