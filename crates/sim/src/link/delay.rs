//! When a transmitted packet reaches the far end: propagation delay, uniform
//! jitter (order-keeping or not) and netem-style reordering.
//!
//! For a packet whose last bit leaves at `sent`:
//! 1. Reordering ([`Reorder`]): if the packet is eligible (at least `gap - 1`
//!    packets were delayed normally since the last reordered one) and the
//!    `"reorder"` generator says so with `probability`, it arrives at `sent`,
//!    skipping delay and jitter, and the count of normal packets restarts.
//! 2. Otherwise it arrives at `sent + delay + U(0..=jitter)` (the jitter drawn
//!    from the `"jitter"` generator, to the nanosecond).
//! 3. When jitter may not reorder, that arrival is raised to the latest arrival
//!    scheduled so far for a normally delayed packet, so normally delayed packets
//!    keep their transmission order (ties keep it too: the link delivers equal
//!    arrival times first-in first-out).

use super::config::{LinkConfig, Reorder};
use layer4::rand::StackRng;
use layer4::time::{Duration, Instant};

/// The delay model in motion.
#[derive(Debug)]
pub(crate) struct DelayLine {
    delay: Duration,
    jitter_ns: u64,
    jitter_reorders: bool,
    reorder: Option<Reorder>,
    /// netem's `counter`: normally delayed packets since the last reordered one.
    since_reorder: u32,
    /// The latest arrival given to a normally delayed packet.
    latest: Instant,
    jitter_rng: StackRng,
    reorder_rng: StackRng,
}

impl DelayLine {
    /// The delay line of `config`, drawing from the two generators.
    pub(crate) fn new(config: &LinkConfig, jitter_rng: StackRng, reorder_rng: StackRng) -> Self {
        DelayLine {
            delay: config.delay,
            jitter_ns: u64::try_from(config.jitter.as_nanos()).unwrap_or(u64::MAX),
            jitter_reorders: config.jitter_reorders,
            reorder: config.reorder,
            since_reorder: 0,
            latest: Instant::ZERO,
            jitter_rng,
            reorder_rng,
        }
    }

    /// When a packet whose last bit left at `sent` arrives.
    #[inline]
    pub(crate) fn arrival(&mut self, sent: Instant) -> Instant {
        if let Some(reorder) = self.reorder {
            // tc-netem(8): netem sends an eligible packet "immediately" with the reorder
            // probability; a gap of 0 is treated as 1 (every packet eligible).
            let eligible = self.since_reorder.saturating_add(1) >= reorder.gap;
            if eligible && self.reorder_rng.chance(reorder.probability) {
                self.since_reorder = 0;
                return sent;
            }
            self.since_reorder = self.since_reorder.saturating_add(1);
        }
        let mut arrival = if self.jitter_ns > 0 {
            let jitter = Duration::from_nanos(self.jitter_rng.range_inclusive(0..=self.jitter_ns));
            sent + self.delay + jitter
        } else {
            sent + self.delay
        };
        if !self.jitter_reorders {
            arrival = arrival.max(self.latest);
        }
        self.latest = self.latest.max(arrival);
        arrival
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn line(config: &LinkConfig, seed: u64) -> DelayLine {
        let rng = StackRng::from_seed(seed);
        DelayLine::new(config, rng.fork("jitter"), rng.fork("reorder"))
    }

    fn us(n: u64) -> Instant {
        Instant::ZERO + Duration::from_micros(n)
    }

    #[test]
    fn jitter_stays_within_delay_and_delay_plus_jitter() {
        let config = LinkConfig {
            delay: Duration::from_millis(10),
            jitter: Duration::from_millis(5),
            jitter_reorders: true,
            ..LinkConfig::default()
        };
        let mut d = line(&config, 1);
        let (mut low, mut high) = (u64::MAX, 0);
        for i in 0..10_000 {
            let sent = us(i * 100);
            let a = d.arrival(sent) - sent;
            assert!(a >= Duration::from_millis(10) && a <= Duration::from_millis(15));
            low = low.min(a.as_nanos() as u64);
            high = high.max(a.as_nanos() as u64);
        }
        // The whole range is used.
        assert!(low < 10_100_000 && high > 14_900_000, "{low} {high}");
    }

    #[test]
    fn order_keeping_jitter_never_lets_arrivals_go_backwards() {
        let config = LinkConfig {
            delay: Duration::from_millis(10),
            jitter: Duration::from_millis(5),
            jitter_reorders: false,
            ..LinkConfig::default()
        };
        let mut d = line(&config, 2);
        let mut previous = Instant::ZERO;
        for i in 0..10_000 {
            let a = d.arrival(us(i * 100));
            assert!(a >= previous);
            previous = a;
        }
    }

    #[test]
    fn reordering_jitter_does_let_arrivals_go_backwards() {
        let config = LinkConfig {
            delay: Duration::from_millis(10),
            jitter: Duration::from_millis(5),
            jitter_reorders: true,
            ..LinkConfig::default()
        };
        let mut d = line(&config, 2);
        let arrivals: Vec<_> = (0..1000).map(|i| d.arrival(us(i * 100))).collect();
        assert!(arrivals.windows(2).any(|w| w[1] < w[0]));
    }

    #[test]
    fn reordered_packet_skips_the_delay_and_gap_spaces_reorderings() {
        let config = LinkConfig {
            delay: Duration::from_millis(10),
            reorder: Some(Reorder {
                probability: 1.0,
                gap: 4,
            }),
            ..LinkConfig::default()
        };
        let mut d = line(&config, 3);
        let skipped: Vec<bool> = (0..12)
            .map(|i| {
                let sent = us(i);
                d.arrival(sent) == sent
            })
            .collect();
        // With probability 1: three delayed (gap - 1), then one sent at once.
        let expected = [false, false, false, true];
        assert_eq!(skipped, expected.repeat(3));
    }

    #[test]
    fn gap_one_makes_every_packet_eligible() {
        let config = LinkConfig {
            delay: Duration::from_millis(10),
            reorder: Some(Reorder {
                probability: 0.25,
                gap: 1,
            }),
            ..LinkConfig::default()
        };
        let mut d = line(&config, 4);
        let n = 100_000;
        let skipped = (0..n).filter(|&i| d.arrival(us(i)) == us(i)).count();
        let fraction = skipped as f64 / n as f64;
        assert!((fraction - 0.25).abs() < 0.01, "{fraction}");
    }
}
