//! The IP layer's self-contained pieces, each in its own file:
//!
//! - [`cidr`]: [`Ipv4Cidr`], [`Ipv6Cidr`], [`IpCidr`]: an address with a prefix
//!   length (`10.0.0.1/24`), parsed, printed and tested for containment.
//! - [`route`]: [`RouteTable`], longest-prefix match to a [`Route`] and a simplified
//!   RFC 6724 source-address selection.
//! - [`reassembly`]: [`Reassembler`], bounded IPv4 and IPv6 fragment reassembly
//!   (RFC 791, RFC 8200 section 4.5, RFC 5722 overlaps, RFC 6946 atomic fragments)
//!   with counters named like `netstat -s`.
//! - [`fragment`]: [`Fragmenter`], output fragmentation of one IPv4 or IPv6 packet
//!   into a caller's buffer, one fragment at a time.
//! - [`pmtu`]: [`PathMtuCache`], path MTU per destination from ICMP "fragmentation
//!   needed" and "packet too big" (RFC 1191, RFC 8201), aged out after ten minutes.
//! - [`ratelimit`]: [`TokenBucket`], the integer token bucket that limits ICMP errors
//!   (RFC 4443 section 2.4) and RFC 5961 challenge ACKs.

pub mod cidr;
pub mod fragment;
pub mod pmtu;
pub mod ratelimit;
pub mod reassembly;
pub mod route;

pub use cidr::{CidrError, IpCidr, Ipv4Cidr, Ipv6Cidr};
pub use fragment::{FragmentError, Fragmenter};
pub use pmtu::{PathMtuCache, PathMtuConfig};
pub use ratelimit::TokenBucket;
pub use reassembly::{
    DropReason, Reassembled, Reassembler, ReassemblyConfig, ReassemblyStats, TimeExceeded,
};
pub use route::{Route, RouteTable};
