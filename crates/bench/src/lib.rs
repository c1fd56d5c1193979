//! # layer4-bench: benchmarks
//!
//! Criterion benches live in `benches/`: `wire` (checksum throughput against memcpy,
//! TCP header parse and emit). Later issues add per-ACK congestion-control cost and
//! stack throughput. Results are recorded in `docs/benchmarks.md`.
#![forbid(unsafe_code)]
