//! # layer4-sim: a deterministic network simulator
//!
//! Skeleton. The simulator issue fills it with:
//! - `engine`: discrete events on virtual time, a priority queue with deterministic
//!   tie-breaking, a seeded generator per component;
//! - `node`: hosts (a layer4 `Stack` plus applications), routers, middlebox hooks;
//! - `link`: rate, delay, jitter, loss models (Bernoulli, Gilbert–Elliott), duplication,
//!   corruption, reordering, MTU, Mahimahi traces, outages;
//! - `queue`: drop-tail, RED, CoDel, FQ-CoDel, ECN marking;
//! - `app`: bulk, request/response, on/off, UDP constant bit rate;
//! - `scenario`: the TOML scenario format; `metrics`: per-flow and per-link series and
//!   the `report.json` summary.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub use layer4;
