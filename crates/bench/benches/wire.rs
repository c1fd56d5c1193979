//! Placeholder until the wire benches land in this issue.
fn main() {}
