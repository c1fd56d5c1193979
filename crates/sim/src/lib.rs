//! # layer4-sim: a deterministic network simulator
//!
//! Virtual time, seeded randomness, lossy links and bottleneck queues around the
//! layer4 stack. Same scenario and seed, same bytes out.
//!
//! ## Map
//! - [`packet`]: [`Packet`], an IP datagram in flight, with ECN marking and its
//!   5-tuple ([`FlowKey`]).
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
#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub use layer4;

pub mod link;
pub mod metrics;
pub mod packet;
pub mod queue;
pub mod report;
pub mod scenario;

pub use packet::{FlowKey, Packet};
