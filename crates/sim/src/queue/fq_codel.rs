//! FQ-CoDel (RFC 8290): packets are hashed by 5-tuple into flow queues, each managed
//! by its own CoDel, and served by deficit round robin with a preference for "new"
//! (sparse) flows.
//!
//! - Classification: a keyed hash of [`Packet::flow_key`] (the key, the
//!   "perturbation", comes from the queue's rng) picks one of `flows` queues.
//!   Packets whose 5-tuple does not parse all hash to one bucket.
//! - Scheduling: a flow that becomes active joins the tail of the *new* list with
//!   a deficit of one quantum. Dequeue serves the head of the new list, else of the
//!   old list; a flow whose deficit is used up gets another quantum and moves to the
//!   tail of the old list. A flow from the new list that runs empty moves to the
//!   tail of the old list (so a flow cannot stay "new" by trickling packets); one
//!   from the old list that runs empty becomes inactive.
//! - AQM: the flow's CoDel (see [`codel`](super::codel)) runs at dequeue. As in
//!   Linux, its one-MTU rule reads the total backlog of the whole FQ-CoDel queue,
//!   not the flow's, and CoDel's MTU is 1500 bytes.
//! - Overflow: when an arrival takes the queue past `limit_packets` or past
//!   `memory_limit_bytes` (counted as queued datagram bytes), packets are dropped
//!   from the head of the flow with the largest backlog in bytes, which is usually
//!   not the arriving flow. As Linux does, one overflow drops a batch: up to 64
//!   packets, stopping once half of that flow's backlog is gone; batches repeat
//!   while the queue is still past a limit. All count as `dropped_overflow`.
//!
//! Every arrival is accepted (`enqueued`), so
//! `enqueued == dequeued + dropped_overflow + dropped_aqm + len_packets()`.
//!
//! Cost: O(1) per packet except at overflow, where finding the fattest flow scans
//! the active flows (at most `flows`), amortized over the batch. Flow queues are
//! allocated once, empty (an empty `VecDeque` holds no heap memory); a flow's
//! storage grows on its first packets and is kept.

use super::codel::{CodelParams, CodelSource, CodelState};
use super::{Queue, QueueStats};
use crate::packet::{FlowKey, Packet};
use layer4::rand::StackRng;
use layer4::time::{Duration, Instant};
use std::collections::VecDeque;
use std::net::IpAddr;

/// FQ-CoDel's parameters.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FqCodelConfig {
    /// Number of flow queues packets are hashed into, 1..=65536. Default 1024
    /// (RFC 8290 section 5.2.5).
    pub flows: usize,
    /// Bytes a flow may send per round of the deficit round robin. Default 1514
    /// (RFC 8290 section 5.2.4).
    pub quantum: usize,
    /// CoDel's target per flow. Default 5 ms (RFC 8290 section 5.2.2).
    pub target: Duration,
    /// CoDel's interval per flow. Default 100 ms (RFC 8290 section 5.2.1).
    pub interval: Duration,
    /// Hard bound on packets queued over all flows. Default 10240 (RFC 8290
    /// section 5.2.3).
    pub limit_packets: usize,
    /// Hard bound on bytes queued over all flows. Default 32 MiB (Linux).
    pub memory_limit_bytes: usize,
    /// Mark ECN-capable packets CE instead of dropping them. Default `true`
    /// (RFC 8290 section 5.2.6; Linux's default).
    pub ecn: bool,
    /// Mark every ECN-capable packet whose sojourn time exceeds this, whatever
    /// CoDel's state (DCTCP/L4S-style shallow marking). Default `None` (off).
    pub ce_threshold: Option<Duration>,
}

impl Default for FqCodelConfig {
    fn default() -> FqCodelConfig {
        FqCodelConfig {
            flows: 1024,
            quantum: 1514,
            target: Duration::from_millis(5),
            interval: Duration::from_millis(100),
            limit_packets: 10240,
            memory_limit_bytes: 32 << 20,
            ecn: true,
            ce_threshold: None,
        }
    }
}

/// The most packets one overflow drops from the fattest flow (Linux's
/// `drop_batch_size` default).
pub const DROP_BATCH: usize = 64;

/// The most flow queues (Linux's limit).
pub const MAX_FLOWS: usize = 65536;

/// CoDel's MTU inside FQ-CoDel.
const CODEL_MTU: usize = 1500;

/// Which scheduling list a flow is on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
enum ListKind {
    /// Empty and on no list.
    #[default]
    Inactive,
    /// On the new-flows list.
    New,
    /// On the old-flows list.
    Old,
}

/// One flow queue.
#[derive(Debug, Default)]
struct Flow {
    packets: VecDeque<Packet>,
    bytes: usize,
    deficit: i64,
    list: ListKind,
    codel: CodelState,
}

/// A flow queue as its CoDel sees it; the totals are the whole queue's.
struct FlowSource<'a> {
    flow_packets: &'a mut VecDeque<Packet>,
    flow_bytes: &'a mut usize,
    total_packets: &'a mut usize,
    total_bytes: &'a mut usize,
}

impl CodelSource for FlowSource<'_> {
    fn pop(&mut self) -> Option<Packet> {
        let packet = self.flow_packets.pop_front()?;
        *self.flow_bytes -= packet.len();
        *self.total_bytes -= packet.len();
        *self.total_packets -= 1;
        Some(packet)
    }

    fn backlog_bytes(&self) -> usize {
        *self.total_bytes
    }
}

/// An FQ-CoDel queue.
#[derive(Debug)]
pub struct FqCodel {
    config: FqCodelConfig,
    params: CodelParams,
    perturbation: u64,
    flows: Vec<Flow>,
    new_flows: VecDeque<usize>,
    old_flows: VecDeque<usize>,
    packets: usize,
    bytes: usize,
    stats: QueueStats,
}

/// SplitMix64's finalizer: a bijective mix with full avalanche.
fn mix(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// An address as 128 bits, IPv4 tagged so it cannot equal an IPv6 address.
fn addr_bits(addr: IpAddr) -> u128 {
    match addr {
        IpAddr::V4(a) => u128::from(a.to_bits()) | (1 << 127),
        IpAddr::V6(a) => a.to_bits(),
    }
}

impl FqCodel {
    /// An empty FQ-CoDel queue; `rng` draws the hash perturbation. Out-of-range
    /// parameters are clamped (`flows` into 1..=65536, zero quantum, limits and
    /// interval to 1); [`QueueConfig::validate`](super::QueueConfig::validate)
    /// rejects them instead.
    pub fn new(config: FqCodelConfig, mut rng: StackRng) -> FqCodel {
        let config = FqCodelConfig {
            flows: config.flows.clamp(1, MAX_FLOWS),
            quantum: config.quantum.max(1),
            interval: config.interval.max(Duration::from_nanos(1)),
            limit_packets: config.limit_packets.max(1),
            memory_limit_bytes: config.memory_limit_bytes.max(1),
            ..config
        };
        let mut flows = Vec::with_capacity(config.flows);
        flows.resize_with(config.flows, Flow::default);
        FqCodel {
            params: CodelParams {
                target: config.target,
                interval: config.interval,
                mtu: CODEL_MTU,
                ecn: config.ecn,
                ce_threshold: config.ce_threshold,
            },
            perturbation: rng.u64(),
            flows,
            new_flows: VecDeque::with_capacity(config.flows),
            old_flows: VecDeque::with_capacity(config.flows),
            packets: 0,
            bytes: 0,
            stats: QueueStats::default(),
            config,
        }
    }

    /// The configuration in use (after clamping).
    pub fn config(&self) -> &FqCodelConfig {
        &self.config
    }

    //= https://www.rfc-editor.org/rfc/rfc8290#section-4.1.1
    // The default classification: a hash of the 5-tuple, salted with a random
    // perturbation chosen when the queue is built, reduced to a queue index.
    /// The flow queue `packet` belongs to.
    fn classify(&self, packet: &Packet) -> usize {
        let words: [u64; 5] = match packet.flow_key() {
            Some(FlowKey {
                src,
                dst,
                protocol,
                src_port,
                dst_port,
            }) => {
                let (s, d) = (addr_bits(src), addr_bits(dst));
                [
                    (s >> 64) as u64,
                    s as u64,
                    (d >> 64) as u64,
                    d as u64,
                    u64::from(protocol) << 32 | u64::from(src_port) << 16 | u64::from(dst_port),
                ]
            }
            // No 5-tuple: one bucket for all of them (still salted).
            None => [u64::MAX; 5],
        };
        let mut h = self.perturbation;
        for w in words {
            h = mix(h ^ w);
        }
        ((u128::from(h) * self.flows.len() as u128) >> 64) as usize
    }

    /// The active flow with the largest backlog in bytes (then in packets; the
    /// lowest index on a tie).
    fn fattest_flow(&self) -> Option<usize> {
        let backlog = |i: usize| (self.flows[i].bytes, self.flows[i].packets.len());
        self.new_flows
            .iter()
            .chain(self.old_flows.iter())
            .copied()
            .filter(|&i| !self.flows[i].packets.is_empty())
            .max_by(|&a, &b| backlog(a).cmp(&backlog(b)).then(b.cmp(&a)))
    }

    fn over_limit(&self) -> bool {
        self.packets > self.config.limit_packets || self.bytes > self.config.memory_limit_bytes
    }

    //= https://www.rfc-editor.org/rfc/rfc8290#section-4.1
    // When the queue is over its limit after an arrival, drop from the head of the
    // flow with the largest backlog in bytes; a batch, as Linux does, of up to
    // DROP_BATCH packets or half that flow's backlog.
    fn drop_from_fattest(&mut self) {
        while self.over_limit() {
            let Some(fat) = self.fattest_flow() else {
                return;
            };
            let flow = &mut self.flows[fat];
            let threshold = flow.bytes / 2;
            let mut dropped_bytes = 0;
            let mut dropped = 0;
            while let Some(packet) = flow.packets.pop_front() {
                flow.bytes -= packet.len();
                self.bytes -= packet.len();
                self.packets -= 1;
                dropped_bytes += packet.len();
                dropped += 1;
                if dropped >= DROP_BATCH || dropped_bytes >= threshold {
                    break;
                }
            }
            self.stats.dropped_overflow += dropped as u64;
        }
    }
}

impl Queue for FqCodel {
    //= https://www.rfc-editor.org/rfc/rfc8290#section-4.1
    // Enqueue: classify, timestamp, append to the flow queue; a flow not on either
    // list is added to the end of the new-flows list with a quantum of deficit.
    fn enqueue(&mut self, now: Instant, mut packet: Packet) {
        let idx = self.classify(&packet);
        packet.enqueued_at = now;
        let len = packet.len();
        let flow = &mut self.flows[idx];
        flow.packets.push_back(packet);
        flow.bytes += len;
        if flow.list == ListKind::Inactive {
            flow.list = ListKind::New;
            flow.deficit = self.config.quantum as i64;
            self.new_flows.push_back(idx);
        }
        self.packets += 1;
        self.bytes += len;
        self.stats.enqueued += 1;
        if self.over_limit() {
            self.drop_from_fattest();
        }
    }

    //= https://www.rfc-editor.org/rfc/rfc8290#section-4.2
    // Dequeue: new flows first, then old; a flow out of deficit gets a quantum and
    // goes to the end of the old list; CoDel runs on the chosen flow; a new flow that
    // runs empty goes to the end of the old list, an old one that runs empty leaves.
    fn dequeue(&mut self, now: Instant) -> Option<Packet> {
        let quantum = self.config.quantum as i64;
        loop {
            let (idx, from_new) = match self.new_flows.front() {
                Some(&i) => (i, true),
                None => (*self.old_flows.front()?, false),
            };
            let flow = &mut self.flows[idx];
            if flow.deficit <= 0 {
                flow.deficit += quantum;
                flow.list = ListKind::Old;
                if from_new {
                    self.new_flows.pop_front();
                } else {
                    self.old_flows.pop_front();
                }
                self.old_flows.push_back(idx);
                continue;
            }
            let mut src = FlowSource {
                flow_packets: &mut flow.packets,
                flow_bytes: &mut flow.bytes,
                total_packets: &mut self.packets,
                total_bytes: &mut self.bytes,
            };
            match flow
                .codel
                .dequeue(now, &self.params, &mut src, &mut self.stats)
            {
                Some(packet) => {
                    flow.deficit -= packet.len() as i64;
                    self.stats.dequeued += 1;
                    return Some(packet);
                }
                None => {
                    if from_new {
                        self.new_flows.pop_front();
                        //= https://www.rfc-editor.org/rfc/rfc8290#section-4.2
                        // An emptied new flow goes to the end of the old list, so
                        // new flows cannot starve old ones.
                        flow.list = ListKind::Old;
                        self.old_flows.push_back(idx);
                    } else {
                        self.old_flows.pop_front();
                        flow.list = ListKind::Inactive;
                    }
                }
            }
        }
    }

    fn len_packets(&self) -> usize {
        self.packets
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
    use crate::queue::testutil::{ms, udp4, udp6};
    use layer4::wire::Ecn;

    fn fq(config: FqCodelConfig) -> FqCodel {
        FqCodel::new(config, StackRng::from_seed(42))
    }

    /// A source port whose flow lands in a different bucket from port 1's.
    fn other_port(q: &FqCodel) -> u16 {
        let base = q.classify(&udp4(1, Ecn::NotEct, 100, 0));
        (2..)
            .find(|&p| q.classify(&udp4(p, Ecn::NotEct, 100, 0)) != base)
            .expect("a port in another bucket")
    }

    #[test]
    fn sparse_flow_is_served_before_a_backlogged_bulk_flow() {
        let mut q = fq(FqCodelConfig::default());
        let sparse = other_port(&q);
        for uid in 0..50 {
            q.enqueue(ms(0), udp4(1, Ecn::Ect0, 1500, uid));
        }
        for _ in 0..3 {
            assert!(q.dequeue(ms(0)).is_some_and(|p| p.uid < 50));
        }
        q.enqueue(ms(1), udp4(sparse, Ecn::Ect0, 100, 1000));
        assert_eq!(q.dequeue(ms(1)).map(|p| p.uid), Some(1000));
    }

    #[test]
    fn emptied_new_flow_moves_to_the_end_of_old_flows() {
        let mut q = fq(FqCodelConfig::default());
        let sparse = other_port(&q);
        for uid in 0..100 {
            q.enqueue(ms(0), udp4(1, Ecn::Ect0, 100, uid));
        }
        // 20 bulk packets: the bulk flow is now on the old list with 1028 bytes of
        // deficit left.
        for _ in 0..20 {
            q.dequeue(ms(0));
        }
        q.enqueue(ms(0), udp4(sparse, Ecn::Ect0, 100, 1000));
        assert_eq!(q.dequeue(ms(0)).map(|p| p.uid), Some(1000));
        // The sparse flow is empty: it goes behind the bulk flow on the old list.
        assert!(q.dequeue(ms(0)).is_some_and(|p| p.uid < 100));
        // Its next packet gets no new-flow priority: it waits for its turn...
        q.enqueue(ms(0), udp4(sparse, Ecn::Ect0, 100, 1001));
        assert!(q.dequeue(ms(0)).is_some_and(|p| p.uid < 100));
        // ...which comes once the bulk flow's deficit is spent.
        let waited = (0..20)
            .position(|_| q.dequeue(ms(0)).is_some_and(|p| p.uid == 1001))
            .expect("sparse packet served");
        assert!(waited >= 5, "served after {waited}");
    }

    fn share(len_a: usize, len_b: usize) -> (usize, usize) {
        let mut q = fq(FqCodelConfig::default());
        let b = other_port(&q);
        for uid in 0..3000 {
            q.enqueue(ms(0), udp4(1, Ecn::NotEct, len_a, uid));
            q.enqueue(ms(0), udp4(b, Ecn::NotEct, len_b, 10_000 + uid));
        }
        let (mut bytes_a, mut bytes_b) = (0, 0);
        for _ in 0..2000 {
            let p = q.dequeue(ms(0)).expect("backlogged");
            if p.uid < 10_000 {
                bytes_a += p.len();
            } else {
                bytes_b += p.len();
            }
        }
        (bytes_a, bytes_b)
    }

    #[test]
    fn backlogged_flows_with_equal_packets_get_equal_bytes() {
        let (a, b) = share(1000, 1000);
        assert!(a.abs_diff(b) <= 1514 + 1000, "{a} vs {b}");
        assert!(a + b == 2_000_000);
    }

    #[test]
    fn deficit_round_robin_shares_bytes_not_packets() {
        let (a, b) = share(1500, 300);
        assert!(a.abs_diff(b) <= 1514 + 1500, "{a} vs {b}");
    }

    #[test]
    fn overflow_drops_from_the_fattest_flow_not_the_arriving_sparse_flow() {
        let mut q = fq(FqCodelConfig {
            limit_packets: 100,
            ..FqCodelConfig::default()
        });
        let sparse = other_port(&q);
        for uid in 0..100 {
            q.enqueue(ms(0), udp4(1, Ecn::NotEct, 1000, uid));
        }
        assert_eq!(q.stats().dropped_overflow, 0);
        q.enqueue(ms(0), udp4(sparse, Ecn::NotEct, 100, 1000));
        // One batch: half the fat flow's backlog, from its head.
        assert_eq!(q.stats().dropped_overflow, 50);
        assert_eq!(q.len_packets(), 51);
        let out: Vec<u64> = std::iter::from_fn(|| q.dequeue(ms(0)).map(|p| p.uid)).collect();
        assert!(out.contains(&1000));
        assert_eq!(out.iter().filter(|&&u| u < 100).min(), Some(&50));
    }

    #[test]
    fn memory_limit_bounds_the_queued_bytes() {
        let mut q = fq(FqCodelConfig {
            memory_limit_bytes: 10_000,
            ..FqCodelConfig::default()
        });
        for uid in 0..30 {
            q.enqueue(ms(0), udp4(1, Ecn::NotEct, 1000, uid));
            assert!(q.len_bytes() <= 10_000);
        }
        assert!(q.stats().dropped_overflow >= 20);
    }

    #[test]
    fn packets_without_a_5_tuple_share_one_bucket() {
        let mut q = fq(FqCodelConfig::default());
        let junk = [vec![], vec![0xff; 3], vec![0x45; 10], vec![0x60; 20]];
        let buckets: Vec<usize> = junk
            .iter()
            .map(|d| q.classify(&Packet::new(d.clone(), 0)))
            .collect();
        assert!(buckets.windows(2).all(|w| w[0] == w[1]), "{buckets:?}");
        for (uid, d) in junk.into_iter().enumerate() {
            q.enqueue(ms(0), Packet::new(d, uid as u64));
        }
        let out: Vec<u64> = std::iter::from_fn(|| q.dequeue(ms(1)).map(|p| p.uid)).collect();
        assert_eq!(out, vec![0, 1, 2, 3]);
    }

    #[test]
    fn ipv6_flows_are_told_apart_by_5_tuple() {
        let q = fq(FqCodelConfig::default());
        let same = q.classify(&udp6(5, Ecn::NotEct, 100, 0));
        assert_eq!(q.classify(&udp6(5, Ecn::Ect0, 900, 1)), same);
        let mut buckets: Vec<usize> = (1..=64)
            .map(|p| q.classify(&udp6(p, Ecn::NotEct, 100, 0)))
            .collect();
        buckets.sort_unstable();
        buckets.dedup();
        assert!(buckets.len() > 55, "{} distinct", buckets.len());
    }

    /// One flow: every millisecond one dequeue, then top the queue up to 20.
    fn standing_queue(q: &mut FqCodel, ecn: Ecn) {
        let mut uid = 0;
        for t in 0..1000 {
            q.dequeue(ms(t));
            while q.len_packets() < 20 {
                uid += 1;
                q.enqueue(ms(t), udp4(1, ecn, 1000, uid));
            }
        }
    }

    #[test]
    fn fq_codel_marks_ect_packets_by_default() {
        let mut q = fq(FqCodelConfig::default());
        standing_queue(&mut q, Ecn::Ect0);
        assert!(q.stats().ce_marked > 5, "{:?}", q.stats());
        assert_eq!(q.stats().dropped_aqm, 0);
    }

    #[test]
    fn fq_codel_drops_not_ect_packets() {
        let mut q = fq(FqCodelConfig::default());
        standing_queue(&mut q, Ecn::NotEct);
        assert!(q.stats().dropped_aqm > 5, "{:?}", q.stats());
        assert_eq!(q.stats().ce_marked, 0);
    }

    #[test]
    fn ce_threshold_marks_packets_that_waited_longer() {
        let mut q = fq(FqCodelConfig {
            ce_threshold: Some(Duration::from_millis(1)),
            ..FqCodelConfig::default()
        });
        q.enqueue(ms(0), udp4(1, Ecn::Ect0, 100, 1));
        q.enqueue(ms(0), udp4(1, Ecn::Ect0, 100, 2));
        q.enqueue(ms(0), udp4(1, Ecn::NotEct, 100, 3));
        let first = q.dequeue(ms(0)).expect("packet");
        assert_eq!(first.ecn(), Some(Ecn::Ect0));
        let second = q.dequeue(ms(2)).expect("packet");
        assert_eq!(second.ecn(), Some(Ecn::Ce));
        let third = q.dequeue(ms(2)).expect("packet");
        assert_eq!(third.ecn(), Some(Ecn::NotEct));
        assert_eq!(q.stats().ce_marked, 1);
        assert_eq!(q.stats().dropped_aqm, 0);
    }

    #[test]
    fn every_packet_is_accounted_for() {
        let mut rng = StackRng::from_seed(9);
        let mut q = FqCodel::new(
            FqCodelConfig {
                flows: 16,
                limit_packets: 200,
                memory_limit_bytes: 150_000,
                ..FqCodelConfig::default()
            },
            StackRng::from_seed(10),
        );
        let mut t = 0u64;
        for uid in 0..50_000u64 {
            t += rng.range(0..300_000u64);
            let now = Instant::from_nanos(t);
            if rng.chance(0.55) {
                let len = rng.range(40..1500usize);
                let port = rng.range(1..40u16);
                let ecn = if rng.chance(0.5) {
                    Ecn::Ect0
                } else {
                    Ecn::NotEct
                };
                let p = match rng.range(0..10u8) {
                    0 => Packet::new(vec![0xff; len % 7], uid),
                    1..=3 => udp6(port, ecn, len.max(48), uid),
                    _ => udp4(port, ecn, len, uid),
                };
                q.enqueue(now, p);
            } else {
                q.dequeue(now);
            }
            let s = q.stats();
            assert_eq!(
                s.enqueued,
                s.dequeued + s.dropped_overflow + s.dropped_aqm + q.len_packets() as u64
            );
            assert!(q.len_packets() <= 200 && q.len_bytes() <= 150_000);
        }
        assert!(q.stats().dropped_aqm > 0 && q.stats().dropped_overflow > 0);
    }

    #[test]
    fn nonsense_parameters_are_clamped_not_panicked_on() {
        let mut q = fq(FqCodelConfig {
            flows: 0,
            quantum: 0,
            interval: Duration::ZERO,
            limit_packets: 0,
            memory_limit_bytes: 0,
            ..FqCodelConfig::default()
        });
        q.enqueue(ms(0), udp4(1, Ecn::NotEct, 100, 1));
        q.enqueue(ms(0), udp4(2, Ecn::NotEct, 100, 2));
        assert!(q.len_packets() <= 1);
        q.dequeue(ms(1));
        assert_eq!(q.dequeue(ms(1)), None);
        let big = fq(FqCodelConfig {
            flows: usize::MAX,
            ..FqCodelConfig::default()
        });
        assert_eq!(big.config().flows, MAX_FLOWS);
    }
}
