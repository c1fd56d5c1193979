//! TCP (RFC 9293), built bottom-up: the self-contained pieces first; the connection
//! state machine (acceptability, RST/SYN checks, sender, receiver, options, timers)
//! arrives next and uses them.
//!
//! - [`assembler`]: the receiver's bounded set of out-of-order byte ranges, with
//!   SACK blocks most recent first (RFC 2018).
//! - [`isn`]: RFC 6528 initial sequence numbers (4-microsecond clock plus a keyed
//!   SipHash of the 4-tuple).
//! - [`rtt`]: the RFC 6298 RTO estimator (SRTT, RTTVAR, RTO, exponential backoff).

pub mod assembler;
pub mod isn;
pub mod rtt;
