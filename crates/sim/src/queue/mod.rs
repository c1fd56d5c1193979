//! Queues at a link's entrance: the [`Queue`] trait every discipline implements, the
//! counters they keep, and [`QueueConfig`], which builds one.
//!
//! - [`droptail`]: first in, first out, bounded in packets or bytes.
//!
//! A queue never sees the clock except through `now`. A packet that a queue drops,
//! at entry (overflow) or at exit (an AQM such as CoDel), is counted in
//! [`QueueStats`] and discarded; a packet it marks CE instead is counted as marked
//! and passed on.

pub mod droptail;

use crate::packet::Packet;
use layer4::rand::StackRng;
use layer4::time::Instant;
use std::fmt;

pub use droptail::DropTail;

/// A queue's bound.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Limit {
    /// At most this many packets.
    Packets(usize),
    /// At most this many bytes (IP datagram lengths).
    Bytes(usize),
}

/// What a queue counted since it was built.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct QueueStats {
    /// Packets accepted by `enqueue`.
    pub enqueued: u64,
    /// Packets handed out by `dequeue`.
    pub dequeued: u64,
    /// Packets dropped because the queue was full.
    pub dropped_overflow: u64,
    /// Packets dropped by active queue management (RED, CoDel).
    pub dropped_aqm: u64,
    /// Packets marked Congestion Experienced instead of dropped.
    pub ce_marked: u64,
}

/// A queueing discipline.
pub trait Queue: fmt::Debug + Send {
    /// Offers `packet` at `now`. The queue keeps it, or drops it (or another packet,
    /// as FQ-CoDel does from its fattest flow) and counts the drop.
    fn enqueue(&mut self, now: Instant, packet: Packet);
    /// The next packet to transmit at `now`, if any. An AQM may drop or mark
    /// packets here, counting them.
    fn dequeue(&mut self, now: Instant) -> Option<Packet>;
    /// Packets queued.
    fn len_packets(&self) -> usize;
    /// Bytes queued.
    fn len_bytes(&self) -> usize;
    /// Counters since the queue was built.
    fn stats(&self) -> QueueStats;
}

/// Which queue a link has, with its parameters.
#[derive(Debug, Clone, PartialEq)]
pub enum QueueConfig {
    /// First in, first out.
    DropTail(Limit),
}

impl Default for QueueConfig {
    /// Drop-tail, 1000 packets (Linux's default txqueuelen).
    fn default() -> QueueConfig {
        QueueConfig::DropTail(Limit::Packets(1000))
    }
}

impl QueueConfig {
    /// Builds the queue. `rng` feeds disciplines that draw random numbers (RED) and
    /// flow-hash perturbation (FQ-CoDel).
    pub fn build(&self, rng: StackRng) -> Box<dyn Queue> {
        let _ = rng;
        match self {
            QueueConfig::DropTail(limit) => Box::new(DropTail::new(*limit)),
        }
    }
}
