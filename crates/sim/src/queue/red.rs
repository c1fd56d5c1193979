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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::queue::testutil::{ms, udp4};
    use layer4::wire::Ecn;

    fn instant_average(ecn: bool) -> RedConfig {
        // Weight 1: the "average" is the backlog an arrival finds, so a test can
        // hold it at a chosen level.
        RedConfig {
            weight: 1.0,
            ecn,
            ..RedConfig::default()
        }
    }

    /// Holds the backlog at `level` bytes (1000-byte packets) for `n` arrivals and
    /// returns the stats those arrivals added.
    fn hold_at(q: &mut Red, level: usize, n: u64, ecn: Ecn) -> QueueStats {
        let mut uid = 0;
        while q.len_bytes() < level {
            uid += 1;
            q.enqueue(ms(0), udp4(1, ecn, 1000, uid));
        }
        let before = q.stats();
        for _ in 0..n {
            uid += 1;
            q.enqueue(ms(0), udp4(1, ecn, 1000, uid));
            if q.len_bytes() > level {
                q.dequeue(ms(0));
            }
        }
        let after = q.stats();
        QueueStats {
            enqueued: after.enqueued - before.enqueued,
            dequeued: after.dequeued - before.dequeued,
            dropped_overflow: after.dropped_overflow - before.dropped_overflow,
            dropped_aqm: after.dropped_aqm - before.dropped_aqm,
            ce_marked: after.ce_marked - before.ce_marked,
        }
    }

    fn drop_rate(level: usize, seed: u64) -> f64 {
        let mut q = Red::new(instant_average(false), StackRng::from_seed(seed));
        let n = 20_000;
        hold_at(&mut q, level, n, Ecn::NotEct).dropped_aqm as f64 / n as f64
    }

    #[test]
    fn red_never_drops_while_average_is_below_min() {
        let mut q = Red::new(RedConfig::default(), StackRng::from_seed(1));
        let s = hold_at(&mut q, 20_000, 100_000, Ecn::NotEct);
        assert_eq!(s.dropped_aqm + s.dropped_overflow, 0);
        assert!(q.average_bytes() < 30_000.0);
        assert_eq!(drop_rate(29_000, 1), 0.0);
    }

    #[test]
    fn red_drop_rate_ramps_between_the_thresholds() {
        // p_b = 0.1 * (level - 30 000) / 60 000; with the count spacing the drop
        // gap is uniform on 1..=1/p_b, so the rate is about 2 p_b / (1 + p_b).
        let low = drop_rate(45_000, 2); // p_b = 0.025
        let high = drop_rate(75_000, 2); // p_b = 0.075
        assert!((0.040..0.056).contains(&low), "{low}");
        assert!((0.12..0.16).contains(&high), "{high}");
    }

    #[test]
    fn red_drops_every_arrival_once_the_average_reaches_max() {
        assert_eq!(drop_rate(90_000, 3), 1.0);
    }

    #[test]
    fn red_is_deterministic_for_a_seed() {
        let run = |seed| {
            let mut q = Red::new(instant_average(false), StackRng::from_seed(seed));
            let mut served = Vec::new();
            for uid in 0..5_000u64 {
                q.enqueue(ms(uid), udp4(1, Ecn::NotEct, 1000, uid));
                if q.len_bytes() > 60_000 {
                    served.extend(q.dequeue(ms(uid)).map(|p| p.uid));
                }
            }
            (served, q.stats())
        };
        assert_eq!(run(7), run(7));
        assert_ne!(run(7).0, run(8).0);
    }

    #[test]
    fn red_with_ecn_marks_ect_packets_instead_of_dropping() {
        let mut q = Red::new(instant_average(true), StackRng::from_seed(4));
        let s = hold_at(&mut q, 75_000, 10_000, Ecn::Ect0);
        assert_eq!(s.dropped_aqm, 0);
        assert!(s.ce_marked > 1000, "{s:?}");
        let marked = (0..q.len_packets())
            .filter_map(|_| q.dequeue(ms(1)))
            .filter(|p| p.ecn() == Some(Ecn::Ce))
            .count();
        assert!(marked > 0);
    }

    #[test]
    fn red_with_ecn_still_drops_not_ect_packets() {
        let mut q = Red::new(instant_average(true), StackRng::from_seed(4));
        let s = hold_at(&mut q, 75_000, 10_000, Ecn::NotEct);
        assert_eq!(s.ce_marked, 0);
        assert!(s.dropped_aqm > 1000, "{s:?}");
    }

    #[test]
    fn red_average_decays_over_idle_time() {
        let config = RedConfig {
            weight: 0.5,
            ..RedConfig::default()
        };
        let run = |idle_ms: u64| {
            let mut q = Red::new(config, StackRng::from_seed(5));
            for uid in 0..40 {
                q.enqueue(ms(0), udp4(1, Ecn::NotEct, 1000, uid));
            }
            // Served one per millisecond: RED learns a 1 ms packet time.
            let mut t = 1;
            while q.dequeue(ms(t)).is_some() {
                t += 1;
            }
            let high = q.average_bytes();
            q.enqueue(ms(t + idle_ms), udp4(1, Ecn::NotEct, 1000, 99));
            (high, q.average_bytes())
        };
        let (high, after_short) = run(1);
        let (_, after_long) = run(1000);
        assert!(high > 20_000.0, "{high}");
        assert!(after_short > high / 4.0, "{after_short}");
        assert!(after_long < 1.0, "{after_long}");
    }

    #[test]
    fn red_hard_limit_drops_arrivals_as_overflow() {
        let mut q = Red::new(
            RedConfig {
                limit_bytes: 5_000,
                ..RedConfig::default()
            },
            StackRng::from_seed(6),
        );
        for uid in 0..10 {
            q.enqueue(ms(0), udp4(1, Ecn::NotEct, 1000, uid));
        }
        assert_eq!(q.len_bytes(), 5_000);
        assert_eq!(q.stats().dropped_overflow, 5);
        assert_eq!(q.stats().dropped_aqm, 0);
    }

    #[test]
    fn red_clamps_nonsense_parameters_instead_of_panicking() {
        let mut q = Red::new(
            RedConfig {
                limit_bytes: 0,
                min_bytes: 10,
                max_bytes: 5,
                max_p: f64::NAN,
                weight: -3.0,
                ecn: true,
            },
            StackRng::from_seed(7),
        );
        q.enqueue(ms(0), udp4(1, Ecn::Ect0, 100, 1));
        assert_eq!(q.dequeue(ms(1)), None);
        assert_eq!(q.stats().dropped_overflow, 1);
        assert!(q.config().max_bytes >= q.config().min_bytes);
    }
}
