//! TCP (RFC 9293) and the extensions every modern stack has.
//!
//! - [`conn`]: one connection's state machine ([`Connection`]), split by concern.
//! - [`state`]: the RFC's eleven states ([`State`]).
//! - [`config`]: the stack-wide tunables ([`TcpConfig`]) and keep-alive parameters.
//! - [`timer`]: a connection's timer table ([`Timer`], [`TimerTable`]).
//! - [`send_buffer`] / [`recv_buffer`]: the lazily allocated ring buffers;
//!   `ring_pool`: a stack's spare 1 KiB ring storage, reused by the next ring;
//!   `spare_list`: the bounded list of that pool and the stack's other spares.
//! - [`assembler`]: the receiver's bounded out-of-order ranges and SACK blocks
//!   (RFC 2018).
//! - congestion control lives in [`crate::cc`]; the connection drives the
//!   controller and keeps the loss recovery: RFC 6675 SACK recovery with PRR when
//!   SACK was negotiated, NewReno's (RFC 6582) otherwise.
//! - [`isn`]: RFC 6528 initial sequence numbers.
//! - [`syncookie`]: SYN cookies (RFC 4987 section 3.6), as Linux lays them out.
//! - [`rtt`]: the RFC 6298 RTO estimator.
//! - [`scoreboard`]: the sender's SACK scoreboard and RFC 6675 loss recovery
//!   (`IsLost`, `NextSeg`, `SetPipe`).
//! - [`rack`]: RACK-TLP (RFC 8985) time-based loss detection and tail loss probe
//!   state and arithmetic.
//! - [`prr`]: proportional rate reduction (RFC 6937) during recovery.
//! - [`info`]: [`TcpInfo`], what `ss -ti` shows, and the per-connection counters.

pub mod assembler;
pub mod config;
pub mod conn;
pub mod info;
pub mod isn;
pub mod prr;
pub mod rack;
pub mod recv_buffer;
pub(crate) mod ring;
pub(crate) mod ring_pool;
pub mod rtt;
pub mod scoreboard;
pub mod send_buffer;
pub(crate) mod spare_list;
pub mod state;
pub mod syncookie;
pub mod timer;

pub use config::{EcnMode, KeepAlive, MtuProbing, TcpConfig};
pub use conn::{
    ConnEvents, Connection, IcmpNotice, OpenParams, SocketOptions, SynInfo, TcpError, UserError,
};
pub use info::{ConnCounters, EcnCounters, LossCounters, TcpInfo};
pub use state::State;
pub use timer::{Timer, TimerTable};
