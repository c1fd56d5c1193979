//! RED, Random Early Detection (Floyd & Jacobson 1993; recommended by RFC 2309,
//! whose recommendation RFC 7567 replaced), in bytes, as Linux `sch_red` runs it.
//!
//! At each arrival the average queue size is updated,
//! `avg <- (1 - w_q) * avg + w_q * backlog`; after an idle period it instead decays
//! as `avg <- (1 - w_q)^m * avg`, `m` being the number of packets the link could
//! have sent while idle. Then:
//! - `avg < min`: the packet is queued;
//! - `min <= avg < max`: it is dropped (or, with `ecn`, marked CE if ECN-capable)
//!   with a probability that grows linearly from 0 at `min` to `max_p` at `max`,
//!   `p_b = max_p * (avg - min) / (max - min)`. Drops are spaced by a count of
//!   packets since the last one: a uniform `u` in `[0, 1)` is drawn after each drop,
//!   and the next drop comes on the first packet for which `count * p_b >= u`
//!   (Linux's form of Floyd & Jacobson's `p_a = p_b / (1 - count * p_b)`): the gap
//!   between drops is uniform rather than geometric, which avoids clusters;
//! - `avg >= max`: every packet is dropped (or marked).
//!
//! A packet that would take the queue past `limit_bytes` is dropped as overflow
//! whatever the average says (checked first, so a packet is never both marked and
//! dropped).
//!
//! The link rate is not a queue parameter, so the idle decay learns the time one
//! packet takes to send from the queue's own service: the gap between two dequeues
//! when packets were waiting at the first is one transmission. Until it has a
//! sample, an idle period leaves the average as it was. Idle starts when a dequeue
//! finds the queue empty (the transmitter has gone idle), as in Linux.
//!
//! Floating-point use is deterministic: `(1 - w_q)^m` is computed by repeated
//! squaring, with no library `pow`.

use super::{Queue, QueueStats};
use crate::packet::Packet;
use layer4::rand::StackRng;
use layer4::time::Instant;
use std::collections::VecDeque;

/// RED's parameters, in bytes.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RedConfig {
    /// Hard bound on queued bytes. Default 720 000 (8 × `max_bytes`, as tc-red(8)
    /// advises).
    pub limit_bytes: usize,
    /// The average below which nothing is dropped (`min_th`). Default 30 000
    /// (20 full-size packets).
    pub min_bytes: usize,
    /// The average at and above which everything is dropped (`max_th`). Default
    /// 90 000 (3 × `min_bytes`, Floyd's advice).
    pub max_bytes: usize,
    /// The drop probability as the average reaches `max_bytes`, in `0..=1`.
    /// Default 0.1.
    pub max_p: f64,
    /// The averaging weight `w_q`, in `(0, 1]`. Default 0.002 (Floyd & Jacobson).
    pub weight: f64,
    /// Mark ECN-capable packets CE instead of dropping them (below the hard limit).
    /// Default `false`.
    pub ecn: bool,
}

impl Default for RedConfig {
    fn default() -> RedConfig {
        RedConfig {
            limit_bytes: 720_000,
            min_bytes: 30_000,
            max_bytes: 90_000,
            max_p: 0.1,
            weight: 0.002,
            ecn: false,
        }
    }
}

/// `base^exp` by repeated squaring: the same bits on every platform.
fn pow_u64(mut base: f64, mut exp: u64) -> f64 {
    let mut result = 1.0;
    while exp > 0 {
        if exp & 1 == 1 {
            result *= base;
        }
        base *= base;
        exp >>= 1;
    }
    result
}

/// A RED queue.
#[derive(Debug)]
pub struct Red {
    config: RedConfig,
    rng: StackRng,
    packets: VecDeque<Packet>,
    bytes: usize,
    /// The average queue size in bytes.
    avg: f64,
    /// Packets since the last drop while between the thresholds; -1 outside.
    count: i64,
    /// The uniform draw the next drop waits for.
    u: f64,
    /// When the queue went idle, if it is.
    idle_since: Option<Instant>,
    /// The learned time to send one packet (nanoseconds, smoothed).
    packet_time_ns: Option<f64>,
    /// The last dequeue, and whether packets were still waiting after it.
    last_dequeue: Option<(Instant, bool)>,
    stats: QueueStats,
}

/// What RED decided for an arrival.
enum Verdict {
    /// Queue it.
    Pass,
    /// Drop it, or mark it CE.
    Congested,
}

impl Red {
    /// An empty RED queue drawing from `rng`. Out-of-range parameters are clamped
    /// (`max_p` and `weight` into range, NaN to the default, `max_bytes` raised to
    /// `min_bytes`); [`QueueConfig::validate`](super::QueueConfig::validate) rejects
    /// them instead.
    pub fn new(config: RedConfig, rng: StackRng) -> Red {
        let defaults = RedConfig::default();
        let max_p = if config.max_p.is_nan() {
            defaults.max_p
        } else {
            config.max_p.clamp(0.0, 1.0)
        };
        let weight = if config.weight.is_nan() || config.weight <= 0.0 {
            defaults.weight
        } else {
            config.weight.min(1.0)
        };
        let config = RedConfig {
            max_bytes: config.max_bytes.max(config.min_bytes),
            max_p,
            weight,
            ..config
        };
        Red {
            config,
            rng,
            packets: VecDeque::new(),
            bytes: 0,
            avg: 0.0,
            count: -1,
            u: 0.0,
            idle_since: None,
            packet_time_ns: None,
            last_dequeue: None,
            stats: QueueStats::default(),
        }
    }

    /// The configuration in use (after clamping).
    pub fn config(&self) -> &RedConfig {
        &self.config
    }

    /// The current average queue size in bytes.
    pub fn average_bytes(&self) -> f64 {
        self.avg
    }

    fn update_average(&mut self, now: Instant) {
        let w = self.config.weight;
        if let Some(start) = self.idle_since.take() {
            if let Some(t) = self.packet_time_ns.filter(|t| *t >= 1.0) {
                // Whole packets the link could have sent while idle.
                let m = ((now - start).as_nanos() as f64 / t) as u64;
                self.avg *= pow_u64(1.0 - w, m);
            }
        } else {
            self.avg += w * (self.bytes as f64 - self.avg);
        }
    }

    /// RED's verdict on an arrival at the current average.
    fn verdict(&mut self) -> Verdict {
        let (min, max) = (self.config.min_bytes as f64, self.config.max_bytes as f64);
        if self.avg < min {
            self.count = -1;
            return Verdict::Pass;
        }
        if self.avg >= max {
            self.count = -1;
            return Verdict::Congested;
        }
        self.count = self.count.saturating_add(1);
        if self.count == 0 {
            // First packet between the thresholds: draw the wait for the first drop.
            self.u = self.rng.f64();
            return Verdict::Pass;
        }
        let p_b = self.config.max_p * (self.avg - min) / (max - min);
        if p_b * self.count as f64 >= self.u {
            self.count = 0;
            self.u = self.rng.f64();
            Verdict::Congested
        } else {
            Verdict::Pass
        }
    }
}

impl Queue for Red {
    fn enqueue(&mut self, now: Instant, mut packet: Packet) {
        self.update_average(now);
        if self.bytes + packet.len() > self.config.limit_bytes {
            self.stats.dropped_overflow += 1;
            return;
        }
        if let Verdict::Congested = self.verdict() {
            if self.config.ecn && packet.mark_ce() {
                self.stats.ce_marked += 1;
            } else {
                self.stats.dropped_aqm += 1;
                return;
            }
        }
        packet.enqueued_at = now;
        self.bytes += packet.len();
        self.stats.enqueued += 1;
        self.packets.push_back(packet);
    }

    fn dequeue(&mut self, now: Instant) -> Option<Packet> {
        let Some(packet) = self.packets.pop_front() else {
            if self.idle_since.is_none() {
                self.idle_since = Some(now);
            }
            self.last_dequeue = None;
            return None;
        };
        if let Some((last, waiting)) = self.last_dequeue {
            if waiting {
                let sample = (now - last).as_nanos() as f64;
                self.packet_time_ns = Some(match self.packet_time_ns {
                    Some(t) => t + (sample - t) / 8.0,
                    None => sample,
                });
            }
        }
        self.last_dequeue = Some((now, !self.packets.is_empty()));
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
