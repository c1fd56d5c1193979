//! Scenarios: what to simulate. [`model`] is the typed description every part of the
//! simulator agrees on (the TOML reader produces it; the builder turns it into a
//! network).

pub mod model;

pub use model::{AppSpec, Flow, IpVersion, LinkSpec, NodeKind, NodeSpec, Scenario, Topology};
