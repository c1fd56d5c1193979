//! Queue sojourn delay: how long packets waited in a link's queue (dequeue time
//! minus `Packet::enqueued_at`), kept in a log-linear histogram of fixed size.
//!
//! Buckets: values below 128 ns have a bucket each; above, every power of two is
//! split into 128 equal buckets, so a bucket is at most 1/128 (0.8 %) of its
//! values wide and a quantile, reported as its bucket's midpoint, is within 0.4 %
//! of the true value. Values from 2^48 ns (about 78 hours) up share the top
//! bucket. The histogram is 5,376 counters (43 KiB), allocated on the first
//! sample, so a link that never queues holds none.
//!
//! For a metrics sampler that wants "the mean since the last read", a running
//! count and sum ([`SojournTotals`]) come with every [`LinkStats`](super::LinkStats);
//! difference two readings with [`SojournTotals::mean_since`].

use layer4::time::Duration;

const SUB_BITS: u32 = 7;
const SUB: usize = 1 << SUB_BITS;
/// The largest power of two (exponent) with buckets of its own.
const MAX_MAGNITUDE: u32 = 47;
const BUCKETS: usize = SUB + (MAX_MAGNITUDE - SUB_BITS + 1) as usize * SUB;
const MAX_VALUE: u64 = (1 << (MAX_MAGNITUDE + 1)) - 1;

/// A running count and sum of sojourn times, to be differenced by a sampler.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SojournTotals {
    /// Packets that left the queue.
    pub packets: u64,
    /// The sum of their sojourn times.
    pub total: Duration,
}

impl SojournTotals {
    /// The mean sojourn of the packets that left between `earlier` and `self`
    /// (two readings of the same link), or `None` if none did.
    pub fn mean_since(&self, earlier: &SojournTotals) -> Option<Duration> {
        let packets = self.packets.checked_sub(earlier.packets)?;
        if packets == 0 {
            return None;
        }
        let total = self.total.checked_sub(earlier.total)?;
        Some(Duration::from_nanos(
            (total.as_nanos() / u128::from(packets)) as u64,
        ))
    }

    /// The mean over all packets, or `None` if there were none.
    pub fn mean(&self) -> Option<Duration> {
        self.mean_since(&SojournTotals::default())
    }
}

/// Mean, percentiles and maximum of the sojourn times recorded so far (all zero
/// when nothing was recorded).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SojournSummary {
    /// Packets recorded.
    pub packets: u64,
    /// Exact mean.
    pub mean: Duration,
    /// Median (within 0.4 %).
    pub p50: Duration,
    /// 95th percentile (within 0.4 %).
    pub p95: Duration,
    /// 99th percentile (within 0.4 %).
    pub p99: Duration,
    /// Exact maximum.
    pub max: Duration,
}

/// A histogram of sojourn times with bounded memory (see the module docs).
#[derive(Debug, Clone, Default)]
pub struct SojournHistogram {
    /// Empty until the first sample, then `BUCKETS` long.
    counts: Vec<u64>,
    packets: u64,
    total_ns: u128,
    min_ns: u64,
    max_ns: u64,
}

impl SojournHistogram {
    /// An empty histogram (allocates nothing).
    pub fn new() -> SojournHistogram {
        SojournHistogram::default()
    }

    /// Records one packet's sojourn.
    #[inline]
    pub fn record(&mut self, sojourn: Duration) {
        let ns = u64::try_from(sojourn.as_nanos()).unwrap_or(u64::MAX);
        if self.counts.is_empty() {
            self.counts = vec![0; BUCKETS];
            self.min_ns = ns;
        }
        if let Some(c) = self.counts.get_mut(bucket_of(ns)) {
            *c += 1;
        }
        self.packets += 1;
        self.total_ns += u128::from(ns);
        self.min_ns = self.min_ns.min(ns);
        self.max_ns = self.max_ns.max(ns);
    }

    /// Packets recorded.
    pub fn packets(&self) -> u64 {
        self.packets
    }

    /// The running count and sum.
    pub fn totals(&self) -> SojournTotals {
        SojournTotals {
            packets: self.packets,
            total: Duration::from_nanos(u64::try_from(self.total_ns).unwrap_or(u64::MAX)),
        }
    }

    /// The exact mean, or `None` before the first sample.
    pub fn mean(&self) -> Option<Duration> {
        (self.packets > 0)
            .then(|| Duration::from_nanos((self.total_ns / u128::from(self.packets)) as u64))
    }

    /// The smallest sojourn recorded.
    pub fn min(&self) -> Option<Duration> {
        (self.packets > 0).then(|| Duration::from_nanos(self.min_ns))
    }

    /// The largest sojourn recorded.
    pub fn max(&self) -> Option<Duration> {
        (self.packets > 0).then(|| Duration::from_nanos(self.max_ns))
    }

    /// The `q`-quantile (`q` in `0..=1`, clamped; NaN counts as 0): the smallest
    /// recorded value with at least `q` of the samples at or below it, to within
    /// 0.4 %. `None` before the first sample.
    pub fn quantile(&self, q: f64) -> Option<Duration> {
        if self.packets == 0 {
            return None;
        }
        let q = if q.is_nan() { 0.0 } else { q.clamp(0.0, 1.0) };
        let rank = ((q * self.packets as f64).ceil() as u64).clamp(1, self.packets);
        let mut seen = 0;
        for (i, &c) in self.counts.iter().enumerate() {
            seen += c;
            if seen >= rank {
                let (lo, hi) = bucket_range(i);
                let mid = lo + (hi - lo) / 2;
                return Some(Duration::from_nanos(mid.clamp(self.min_ns, self.max_ns)));
            }
        }
        self.max()
    }

    /// Mean, p50, p95, p99 and maximum.
    pub fn summary(&self) -> SojournSummary {
        let zero = Duration::ZERO;
        SojournSummary {
            packets: self.packets,
            mean: self.mean().unwrap_or(zero),
            p50: self.quantile(0.50).unwrap_or(zero),
            p95: self.quantile(0.95).unwrap_or(zero),
            p99: self.quantile(0.99).unwrap_or(zero),
            max: self.max().unwrap_or(zero),
        }
    }
}

/// The bucket holding `ns`.
fn bucket_of(ns: u64) -> usize {
    if ns < SUB as u64 {
        return ns as usize;
    }
    let v = ns.min(MAX_VALUE);
    let magnitude = 63 - v.leading_zeros(); // >= SUB_BITS
    let shift = magnitude - SUB_BITS;
    let sub = ((v >> shift) as usize) & (SUB - 1);
    SUB + shift as usize * SUB + sub
}

/// The smallest and largest value bucket `i` holds.
fn bucket_range(i: usize) -> (u64, u64) {
    if i < SUB {
        return (i as u64, i as u64);
    }
    let shift = ((i - SUB) / SUB) as u32;
    let sub = ((i - SUB) % SUB) as u64;
    let lo = (1u64 << (shift + SUB_BITS)) | (sub << shift);
    (lo, lo + (1u64 << shift) - 1)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn empty_histogram_reports_nothing_and_allocates_nothing() {
        let h = SojournHistogram::new();
        assert_eq!(h.quantile(0.5), None);
        assert_eq!(h.mean(), None);
        assert_eq!(h.summary(), SojournSummary::default());
        assert!(h.counts.capacity() == 0);
    }

    #[test]
    fn percentiles_of_a_uniform_spread_are_within_a_percent() {
        let mut h = SojournHistogram::new();
        // 1..=10_000 microseconds.
        for us in 1..=10_000u64 {
            h.record(Duration::from_micros(us));
        }
        let s = h.summary();
        assert_eq!(s.packets, 10_000);
        assert_eq!(s.mean, Duration::from_nanos(5_000_500));
        for (got, want) in [
            (s.p50, 5_000_000.0),
            (s.p95, 9_500_000.0),
            (s.p99, 9_900_000.0),
        ] {
            let err = (got.as_nanos() as f64 - want).abs() / want;
            assert!(err < 0.01, "{got:?} vs {want}");
        }
        assert_eq!(s.max, Duration::from_millis(10));
    }

    #[test]
    fn mean_since_differences_two_readings() {
        let mut h = SojournHistogram::new();
        h.record(Duration::from_millis(100));
        let first = h.totals();
        h.record(Duration::from_millis(2));
        h.record(Duration::from_millis(4));
        assert_eq!(
            h.totals().mean_since(&first),
            Some(Duration::from_millis(3))
        );
        assert_eq!(h.totals().mean_since(&h.totals()), None);
    }

    #[test]
    fn huge_values_land_in_the_top_bucket_without_panicking() {
        let mut h = SojournHistogram::new();
        h.record(Duration::MAX);
        h.record(Duration::from_secs(u64::MAX / 2));
        assert_eq!(h.packets(), 2);
        assert!(h.quantile(1.0).is_some());
    }

    #[test]
    fn buckets_tile_the_range_without_gaps() {
        let mut next = 0;
        for i in 0..BUCKETS {
            let (lo, hi) = bucket_range(i);
            assert_eq!(lo, next, "bucket {i}");
            assert!(hi >= lo);
            next = hi + 1;
        }
        assert_eq!(next, MAX_VALUE + 1);
    }

    proptest! {
        #[test]
        fn every_value_falls_in_a_bucket_at_most_one_128th_wide(ns in 0u64..=MAX_VALUE) {
            let i = bucket_of(ns);
            let (lo, hi) = bucket_range(i);
            prop_assert!(lo <= ns && ns <= hi);
            prop_assert!(((hi - lo) as f64) <= (lo as f64) / 128.0);
        }
    }
}
