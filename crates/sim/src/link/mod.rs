//! One direction of a link: a queue at its entrance, a transmitter at `rate`, then
//! propagation `delay` to the far end. Sans-IO like the stack: packets come in
//! through [`Link::handle_packet`], arrivals at the far end come out of
//! [`Link::poll_deliver`], and [`Link::poll_timeout`] says when to look next. The
//! simulator drives it on virtual time; `l4 emulate` can drive it on the real clock.
//!
//! - [`config`]: [`LinkConfig`] and its parts (loss models, reordering, outages).
//!
//! Order of a packet's journey: outage check → MTU check → queue → transmission
//! (rate or trace slot) → loss → corruption → duplication → delay + jitter /
//! reordering → delivery.

pub mod config;

use crate::packet::Packet;
use crate::queue::Queue;
use layer4::rand::StackRng;
use layer4::time::{Duration, Instant};
use std::cmp::Reverse;
use std::collections::BinaryHeap;

pub use config::{LinkConfig, LossModel, Outage, Reorder};

/// Why a link dropped a packet.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct DropCounts {
    /// The queue was full.
    pub overflow: u64,
    /// Active queue management (RED, CoDel) dropped it.
    pub aqm: u64,
    /// The loss model dropped it.
    pub loss: u64,
    /// The link was in an outage.
    pub outage: u64,
    /// Larger than the link's MTU.
    pub mtu: u64,
}

impl DropCounts {
    /// All drops.
    pub fn total(&self) -> u64 {
        self.overflow + self.aqm + self.loss + self.outage + self.mtu
    }
}

/// What a link counted since it was built.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct LinkStats {
    /// Packets offered to the link.
    pub packets_in: u64,
    /// Bytes offered to the link.
    pub bytes_in: u64,
    /// Packets delivered at the far end (duplicates included).
    pub packets_delivered: u64,
    /// Bytes delivered at the far end.
    pub bytes_delivered: u64,
    /// Time the transmitter spent sending: utilization = busy / elapsed.
    pub busy: Duration,
    /// Drops by cause.
    pub drops: DropCounts,
    /// Packets marked CE by the queue.
    pub ce_marks: u64,
    /// Packets duplicated.
    pub duplicated: u64,
    /// Packets corrupted (bits flipped).
    pub corrupted: u64,
    /// Packets delivered out of order on purpose (reordering, jitter).
    pub reordered: u64,
}

/// One direction of a link.
#[derive(Debug)]
pub struct Link {
    config: LinkConfig,
    queue: Box<dyn Queue>,
    #[allow(dead_code)]
    rng: StackRng,
    /// The packet being transmitted and when its last bit leaves.
    transmitting: Option<(Instant, Packet)>,
    /// Packets propagating, by arrival time then a sequence number (FIFO on ties).
    in_flight: BinaryHeap<Reverse<(Instant, u64, PacketOrd)>>,
    sequence: u64,
    stats: LinkStats,
}

/// Wrapper so packets can sit in a heap ordered by (time, sequence) only.
#[derive(Debug)]
struct PacketOrd(Packet);
impl PartialEq for PacketOrd {
    fn eq(&self, _: &Self) -> bool {
        true
    }
}
impl Eq for PacketOrd {}
impl PartialOrd for PacketOrd {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for PacketOrd {
    fn cmp(&self, _: &Self) -> std::cmp::Ordering {
        std::cmp::Ordering::Equal
    }
}

impl Link {
    /// A link built from `config`; `rng` drives its random models.
    pub fn new(config: LinkConfig, rng: StackRng) -> Link {
        let queue = config.queue.build(rng.fork("queue"));
        Link {
            config,
            queue,
            rng,
            transmitting: None,
            in_flight: BinaryHeap::new(),
            sequence: 0,
            stats: LinkStats::default(),
        }
    }

    /// The link's configuration.
    pub fn config(&self) -> &LinkConfig {
        &self.config
    }

    /// The largest datagram the link carries.
    pub fn mtu(&self) -> usize {
        self.config.mtu
    }

    /// Offers `packet` to the link at `now`.
    pub fn handle_packet(&mut self, now: Instant, mut packet: Packet) {
        self.advance(now);
        self.stats.packets_in += 1;
        self.stats.bytes_in += packet.len() as u64;
        if packet.len() > self.config.mtu {
            self.stats.drops.mtu += 1;
            return;
        }
        packet.enqueued_at = now;
        self.queue.enqueue(now, packet);
        self.start_transmission(now);
    }

    /// When the link next has something to do (a transmission ends, a packet
    /// arrives), if anything is in progress.
    pub fn poll_timeout(&self) -> Option<Instant> {
        let tx = self.transmitting.as_ref().map(|(t, _)| *t);
        let rx = self.in_flight.peek().map(|Reverse((t, _, _))| *t);
        match (tx, rx) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    /// The next packet that has reached the far end by `now`, if any.
    pub fn poll_deliver(&mut self, now: Instant) -> Option<Packet> {
        self.advance(now);
        match self.in_flight.peek() {
            Some(Reverse((t, _, _))) if *t <= now => {}
            _ => return None,
        }
        let Reverse((_, _, PacketOrd(packet))) = self.in_flight.pop()?;
        self.stats.packets_delivered += 1;
        self.stats.bytes_delivered += packet.len() as u64;
        Some(packet)
    }

    /// Packets in the queue (not counting the one being transmitted).
    pub fn queue_len_packets(&self) -> usize {
        self.queue.len_packets()
    }

    /// Bytes in the queue.
    pub fn queue_len_bytes(&self) -> usize {
        self.queue.len_bytes()
    }

    /// Counters since the link was built (the queue's drops and marks included).
    pub fn stats(&self) -> LinkStats {
        let q = self.queue.stats();
        let mut s = self.stats.clone();
        s.drops.overflow = q.dropped_overflow;
        s.drops.aqm = q.dropped_aqm;
        s.ce_marks = q.ce_marked;
        s
    }

    /// Completes every transmission that ends by `now`, starting the next.
    fn advance(&mut self, now: Instant) {
        while let Some((end, _)) = &self.transmitting {
            let end = *end;
            if end > now {
                break;
            }
            if let Some((_, packet)) = self.transmitting.take() {
                self.propagate(end, packet);
            }
            self.start_transmission(end);
        }
    }

    fn start_transmission(&mut self, now: Instant) {
        if self.transmitting.is_some() {
            return;
        }
        let Some(packet) = self.queue.dequeue(now) else {
            return;
        };
        let time = self.serialization_time(packet.len());
        self.stats.busy += time;
        self.transmitting = Some((now + time, packet));
    }

    fn serialization_time(&self, len: usize) -> Duration {
        match self.config.rate_bps {
            Some(rate) if rate > 0 => {
                let bits = len as u128 * 8;
                Duration::from_nanos(((bits * 1_000_000_000).div_ceil(u128::from(rate))) as u64)
            }
            _ => Duration::ZERO,
        }
    }

    fn propagate(&mut self, sent: Instant, packet: Packet) {
        let arrival = sent + self.config.delay;
        self.sequence += 1;
        self.in_flight
            .push(Reverse((arrival, self.sequence, PacketOrd(packet))));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pkt(len: usize, uid: u64) -> Packet {
        Packet::new(vec![0x45; len], uid)
    }

    #[test]
    fn packet_arrives_after_serialization_plus_delay() {
        let config = LinkConfig {
            rate_bps: Some(8_000_000), // 1 byte per microsecond
            delay: Duration::from_millis(10),
            ..LinkConfig::default()
        };
        let mut link = Link::new(config, StackRng::from_seed(1));
        link.handle_packet(Instant::ZERO, pkt(1000, 7));
        let due = Instant::ZERO + Duration::from_millis(11);
        assert_eq!(
            link.poll_timeout(),
            Some(Instant::ZERO + Duration::from_millis(1))
        );
        assert_eq!(
            link.poll_deliver(Instant::from_nanos(due.as_nanos() - 1)),
            None
        );
        assert_eq!(link.poll_deliver(due).map(|p| p.uid), Some(7));
        assert_eq!(link.stats().busy, Duration::from_millis(1));
    }

    #[test]
    fn back_to_back_packets_are_spaced_by_the_rate() {
        let config = LinkConfig {
            rate_bps: Some(8_000_000),
            ..LinkConfig::default()
        };
        let mut link = Link::new(config, StackRng::from_seed(1));
        link.handle_packet(Instant::ZERO, pkt(1000, 1));
        link.handle_packet(Instant::ZERO, pkt(1000, 2));
        let t1 = Instant::ZERO + Duration::from_millis(1);
        assert_eq!(link.poll_deliver(t1).map(|p| p.uid), Some(1));
        assert_eq!(link.poll_deliver(t1), None);
        assert_eq!(link.poll_timeout(), Some(t1 + Duration::from_millis(1)));
        assert_eq!(
            link.poll_deliver(t1 + Duration::from_millis(1))
                .map(|p| p.uid),
            Some(2)
        );
    }

    #[test]
    fn oversize_packet_is_dropped_and_counted() {
        let config = LinkConfig {
            mtu: 1500,
            ..LinkConfig::default()
        };
        let mut link = Link::new(config, StackRng::from_seed(1));
        link.handle_packet(Instant::ZERO, pkt(1501, 1));
        assert_eq!(link.stats().drops.mtu, 1);
        assert_eq!(link.poll_timeout(), None);
    }
}
