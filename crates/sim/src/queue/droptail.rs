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

    fn enqueue_dequeue(&mut self, now: Instant, packet: Packet) -> Option<Packet> {
        if !self.packets.is_empty() {
            self.enqueue(now, packet);
            return self.dequeue(now);
        }
        // Into the empty queue and out again, without moving the packet there.
        let fits = match self.limit {
            Limit::Packets(n) => n > 0,
            Limit::Bytes(n) => packet.len() <= n,
        };
        if !fits {
            self.stats.dropped_overflow += 1;
            return None;
        }
        self.stats.enqueued += 1;
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

    /// The shortcut gives what `enqueue` then `dequeue` give: the same packets out,
    /// the same counters, empty or not, fitting or not.
    #[test]
    fn enqueue_dequeue_matches_enqueue_then_dequeue() {
        for limit in [
            Limit::Packets(1),
            Limit::Packets(3),
            Limit::Bytes(99),
            Limit::Bytes(250),
        ] {
            let (mut short, mut long) = (DropTail::new(limit), DropTail::new(limit));
            for uid in 0..40u64 {
                let len = [50, 100, 150][(uid % 3) as usize];
                let t = Instant::ZERO;
                if uid % 5 < 2 {
                    short.enqueue(t, pkt(len, uid));
                    long.enqueue(t, pkt(len, uid));
                    continue;
                }
                let a = short.enqueue_dequeue(t, pkt(len, uid)).map(|p| p.uid);
                long.enqueue(t, pkt(len, uid));
                let b = long.dequeue(t).map(|p| p.uid);
                assert_eq!(a, b, "{limit:?} packet {uid}");
                assert_eq!(short.stats(), long.stats());
                assert_eq!(short.len_bytes(), long.len_bytes());
                if uid % 7 == 0 {
                    while let Some(p) = short.dequeue(t) {
                        assert_eq!(long.dequeue(t).map(|q| q.uid), Some(p.uid));
                    }
                }
            }
        }
    }
}
