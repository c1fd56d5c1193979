//! First in, first out, bounded in packets or bytes; an arrival that does not fit
//! is dropped.

use super::{Limit, Queue, QueueStats};
use crate::packet::Packet;
use layer4::time::Instant;
use std::collections::VecDeque;

/// A drop-tail FIFO.
#[derive(Debug)]
pub struct DropTail {
    limit: Limit,
    packets: VecDeque<Packet>,
    bytes: usize,
    stats: QueueStats,
}

impl DropTail {
    /// An empty queue bounded by `limit`.
    pub fn new(limit: Limit) -> DropTail {
        DropTail {
            limit,
            packets: VecDeque::new(),
            bytes: 0,
            stats: QueueStats::default(),
        }
    }
}

impl Queue for DropTail {
    fn enqueue(&mut self, _now: Instant, packet: Packet) {
        let fits = match self.limit {
            Limit::Packets(n) => self.packets.len() < n,
            Limit::Bytes(n) => self.bytes + packet.len() <= n,
        };
        if !fits {
            self.stats.dropped_overflow += 1;
            return;
        }
        self.bytes += packet.len();
        self.stats.enqueued += 1;
        self.packets.push_back(packet);
    }

    fn dequeue(&mut self, _now: Instant) -> Option<Packet> {
        let packet = self.packets.pop_front()?;
        self.bytes -= packet.len();
        self.stats.dequeued += 1;
        Some(packet)
    }

    fn len_packets(&self) -> usize {
        self.packets.len()
    }

    fn len_bytes(&self) -> usize {
        self.bytes
    }

    fn stats(&self) -> QueueStats {
        self.stats
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pkt(len: usize, uid: u64) -> Packet {
        Packet::new(vec![0x45; len], uid)
    }

    #[test]
    fn packet_limit_drops_the_arrival_that_does_not_fit() {
        let mut q = DropTail::new(Limit::Packets(2));
        for uid in 0..3 {
            q.enqueue(Instant::ZERO, pkt(100, uid));
        }
        assert_eq!(q.len_packets(), 2);
        assert_eq!(q.stats().dropped_overflow, 1);
        assert_eq!(q.dequeue(Instant::ZERO).map(|p| p.uid), Some(0));
        assert_eq!(q.dequeue(Instant::ZERO).map(|p| p.uid), Some(1));
        assert_eq!(q.dequeue(Instant::ZERO), None);
    }

    #[test]
    fn byte_limit_counts_datagram_lengths() {
        let mut q = DropTail::new(Limit::Bytes(250));
        q.enqueue(Instant::ZERO, pkt(100, 0));
        q.enqueue(Instant::ZERO, pkt(100, 1));
        q.enqueue(Instant::ZERO, pkt(100, 2));
        q.enqueue(Instant::ZERO, pkt(50, 3));
        assert_eq!(q.len_bytes(), 250);
        assert_eq!(q.stats().dropped_overflow, 1);
    }
}
