//! The nodes of a simulated network and the hook on its links.
//!
//! - [`host`]: a host, one layer4 [`Stack`](layer4::Stack) with its applications,
//!   on exactly one link;
//! - [`router`]: a router: longest-prefix forwarding, TTL / hop limit, ICMP time
//!   exceeded, fragmentation needed / packet too big, IPv4 fragmentation, rate-limited
//!   ICMP errors;
//! - [`middlebox`]: the [`Middlebox`](middlebox::Middlebox) trait, run at a link
//!   direction's entrance.

pub mod host;
pub mod middlebox;
pub mod router;

pub use middlebox::{DropEveryNth, FnMiddlebox, Middlebox, Verdict};
pub use router::{ForwardingTable, RouterStats};
