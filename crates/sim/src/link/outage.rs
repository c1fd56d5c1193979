//! Outages: when a link is down. Times count from `Instant::ZERO`, the start of
//! the run. What a link drops during an outage is described on [`Outage`].

use super::config::Outage;
use layer4::time::Instant;

impl Outage {
    /// Whether the link is down at `t`: within `[start, start + duration)`, or
    /// the same window shifted by a whole number of periods.
    pub fn is_active(&self, t: Instant) -> bool {
        let t = u128::from(t.as_nanos());
        let start = self.start.as_nanos();
        if t < start {
            return false;
        }
        let since = t - start;
        let duration = self.duration.as_nanos();
        match self.period.map(|p| p.as_nanos()) {
            Some(period) if period > 0 => since % period < duration,
            _ => since < duration,
        }
    }
}

/// Whether any of `outages` is active at `t`.
#[inline]
pub(crate) fn any_active(outages: &[Outage], t: Instant) -> bool {
    outages.iter().any(|o| o.is_active(t))
}

#[cfg(test)]
mod tests {
    use super::*;
    use layer4::time::Duration;

    fn ms(n: u64) -> Instant {
        Instant::ZERO + Duration::from_millis(n)
    }

    #[test]
    fn single_outage_covers_start_inclusive_to_end_exclusive() {
        let o = Outage {
            start: Duration::from_millis(10),
            duration: Duration::from_millis(5),
            period: None,
        };
        assert!(!o.is_active(ms(9)));
        assert!(o.is_active(ms(10)));
        assert!(o.is_active(Instant::from_nanos(14_999_999)));
        assert!(!o.is_active(ms(15)));
        assert!(!o.is_active(ms(1_000_010)));
    }

    #[test]
    fn periodic_outage_repeats_every_period() {
        let o = Outage {
            start: Duration::from_millis(10),
            duration: Duration::from_millis(5),
            period: Some(Duration::from_millis(100)),
        };
        assert!(o.is_active(ms(110)));
        assert!(o.is_active(ms(914)));
        assert!(!o.is_active(ms(915)));
        assert!(!o.is_active(ms(5)));
    }

    #[test]
    fn zero_period_counts_as_one_outage_without_panicking() {
        let o = Outage {
            start: Duration::ZERO,
            duration: Duration::from_millis(1),
            period: Some(Duration::ZERO),
        };
        assert!(o.is_active(Instant::ZERO));
        assert!(!o.is_active(ms(2)));
    }
}
