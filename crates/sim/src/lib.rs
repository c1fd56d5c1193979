//! # layer4-sim: a deterministic network simulator
//!
//! Virtual time, seeded randomness, lossy links and bottleneck queues around the
//! layer4 stack. Same scenario and seed, same bytes out.
//!
//! ## Map
//! - [`packet`]: [`Packet`], an IP datagram in flight, with ECN marking, its
//!   5-tuple ([`FlowKey`]) and the header summary routers forward on.
//! - [`queue`]: the [`Queue`](queue::Queue) trait and the disciplines: drop-tail, RED,
//!   CoDel (RFC 8289) and FQ-CoDel (RFC 8290), with ECN marking; [`QueueConfig`](queue::QueueConfig)
//!   builds and validates them.
//! - [`link`]: [`Link`](link::Link), one direction of a link: queue, rate or
//!   Mahimahi trace, delay, jitter, loss (Bernoulli, Gilbert–Elliott), duplication,
//!   corruption, reordering, outages and queue sojourn statistics, sans-IO.
//!   - [`link::config`] holds [`LinkConfig`](link::LinkConfig), and
//!     [`link::validate`] its [`validate`](link::LinkConfig::validate).
//!   - [`link::trace`] holds [`Trace`](link::Trace), the Mahimahi parser and the
//!     replay rules.
//!   - [`link::sojourn`] holds [`SojournHistogram`](link::SojournHistogram),
//!     p50/p95/p99 of queue sojourn in fixed memory.
//! - [`scenario`]: the typed [`Scenario`](scenario::Scenario) (topology, flows,
//!   captures, seed, duration) and its TOML reader
//!   ([`scenario::parse`], [`scenario::parse_with`]).
//! - [`metrics`]: [`RunMetrics`](metrics::RunMetrics), what a run measured, and
//!   Jain's fairness index.
//! - [`report`]: `report.json`, CSV time series and the summary table made from
//!   [`RunMetrics`](metrics::RunMetrics).
//! - [`engine`]: the [`Scheduler`](engine::Scheduler) on virtual time (a wake-up
//!   slot per component, one-off events beside them, ties in insertion order) and
//!   the per-component seeded generators.
//! - [`node`]: hosts (a layer4 stack and its applications), routers (forwarding,
//!   TTL, ICMP errors, fragmentation) and the [`Middlebox`](node::Middlebox) hook.
//! - [`app`]: the [`Application`](app::Application) trait and the built-in
//!   applications (bulk, sink, request/response, on/off, UDP CBR and its sink).
//! - [`network`]: [`Network`](network::Network), the Rust API for hand-built setups.
//! - [`capture`]: per-link pcap files in memory.
//! - [`live`]: two stacks on an in-memory wire, one connection between them, forged
//!   segments near its window and invariant checks: the driver of the `live` fuzz
//!   target and the attack tests.
//! - [`app_model`]: the application's calls in any order against two stacks, with
//!   losses and time, checking that no byte a send accepted is lost unreported:
//!   the driver of the `app` fuzz target.
//! - [`build`]: a scenario's topology and flows made into a network, with the
//!   addressing plan of the named topologies.
//! - [`simulation`]: [`Simulation`], a scenario run to [`RunMetrics`](metrics::RunMetrics).
//! - [`error`]: [`BuildError`], why a setup was refused.
#![forbid(unsafe_code)]
#![warn(missing_docs)]
// The module maps in these docs name private modules on purpose (they are the map for
// people working on the crate; `cargo doc --document-private-items` renders them), and
// some links spell out a path that rustdoc would also find.
#![allow(rustdoc::private_intra_doc_links, rustdoc::redundant_explicit_links)]

pub use layer4;

pub mod app;
pub mod app_model;
pub mod build;
pub mod capture;
pub mod engine;
pub mod error;
pub mod link;
pub mod live;
pub mod metrics;
pub mod network;
pub mod node;
pub mod packet;
pub mod queue;
pub mod report;
pub mod scenario;
pub mod simulation;

pub use error::BuildError;
pub use network::Network;
pub use packet::{FlowKey, Packet};
pub use simulation::Simulation;
