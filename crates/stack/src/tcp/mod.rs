//! TCP (RFC 9293), built bottom-up: the self-contained pieces first; the connection
//! state machine (acceptability, RST/SYN checks, sender, receiver, options, timers)
//! arrives next and uses them.
//!
//! - [`assembler`]: the receiver's bounded set of out-of-order byte ranges, with
//!   SACK blocks most recent first (RFC 2018).
//! - [`isn`]: RFC 6528 initial sequence numbers (4-microsecond clock plus a keyed
//!   SipHash of the 4-tuple).
//! - [`rtt`]: the RFC 6298 RTO estimator (SRTT, RTTVAR, RTO, exponential backoff).
//! - [`send_buffer`]: the bytes written and not yet acknowledged (front = SND.UNA),
//!   copied out by offset for first transmissions and retransmissions.
//! - [`recv_buffer`]: the bytes received, in order and readable, followed by room
//!   where out-of-order data is stored at its offset (the [`assembler`] says where).
//! - `ring` (private): the lazily allocated, geometrically growing byte ring both
//!   buffers are built on.

pub mod assembler;
pub mod isn;
pub mod recv_buffer;
mod ring;
pub mod rtt;
pub mod send_buffer;
