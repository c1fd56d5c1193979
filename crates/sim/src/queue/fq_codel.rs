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
    /// Number of flow queues packets are hashed into, 1..=65536. Default 1024.
    pub flows: usize,
    /// Bytes a flow may send per round of the deficit round robin. Default 1514.
    pub quantum: usize,
    /// CoDel's target per flow. Default 5 ms.
    pub target: Duration,
    /// CoDel's interval per flow. Default 100 ms.
    pub interval: Duration,
    /// Hard bound on packets queued over all flows. Default 10240.
    pub limit_packets: usize,
    /// Hard bound on bytes queued over all flows. Default 32 MiB (Linux).
    pub memory_limit_bytes: usize,
    /// Mark ECN-capable packets CE instead of dropping them. Default `true`.
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
