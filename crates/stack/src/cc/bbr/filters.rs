//! The windowed filters of BBR's model: the maximum bandwidth over the last two
//! ProbeBW cycles, the maximum of a quantity over a window of rounds (the
//! aggregation estimate), and the two minimum-RTT filters (10 s for the model,
//! 5 s for scheduling ProbeRTT).

use crate::time::{Duration, Instant};

/// The max-bandwidth filter: the largest delivery rate seen in the current and the
/// previous ProbeBW cycle (`BBR.MaxBwFilterLen` = 2 cycles). Two slots suffice, so
/// the cycle count needs only its lowest bit.
//= https://datatracker.ietf.org/doc/html/draft-ietf-ccwg-bbr-06#section-5.5.3
//= https://datatracker.ietf.org/doc/html/draft-ietf-ccwg-bbr-06#section-5.5.5
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct MaxBwFilter {
    /// The previous cycle's maximum, and the current one's.
    slots: [u64; 2],
}

impl MaxBwFilter {
    /// The filtered maximum (`BBR.max_bw`), bytes per second.
    pub fn get(&self) -> u64 {
        self.slots[0].max(self.slots[1])
    }

    /// A delivery-rate sample of the current cycle.
    pub fn update(&mut self, bw: u64) {
        self.slots[1] = self.slots[1].max(bw);
    }

    /// A new cycle begins (`BBRAdvanceMaxBwFilter`): the oldest cycle's samples
    /// expire.
    //= https://datatracker.ietf.org/doc/html/draft-ietf-ccwg-bbr-06#section-5.5.6
    pub fn advance(&mut self) {
        self.slots = [self.slots[1], 0];
    }

    /// Forgets everything.
    pub fn reset(&mut self) {
        self.slots = [0, 0];
    }
}

/// A windowed running maximum over a virtual time (round trips), kept as the best,
/// second-best and third-best samples of the window (Kathleen Nichols' algorithm,
/// as in Linux's `lib/win_minmax.c`): O(1) per sample, three slots of memory.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct WindowedMax {
    /// (time, value), best first.
    s: [(u64, u64); 3],
}

impl WindowedMax {
    /// The maximum over the window.
    pub fn get(&self) -> u64 {
        self.s[0].1
    }

    /// Forgets everything but `value` at `t`.
    pub fn reset(&mut self, t: u64, value: u64) -> u64 {
        self.s = [(t, value); 3];
        value
    }

    /// A sample `value` at time `t` in a window of `win`: the new maximum.
    pub fn update(&mut self, win: u64, t: u64, value: u64) -> u64 {
        let val = (t, value);
        if value >= self.s[0].1 || t.saturating_sub(self.s[2].0) > win {
            return self.reset(t, value);
        }
        if value >= self.s[1].1 {
            self.s[1] = val;
            self.s[2] = val;
        } else if value >= self.s[2].1 {
            self.s[2] = val;
        }
        // The best expired: shift the others up (twice if the second expired too).
        let dt = t.saturating_sub(self.s[0].0);
        if dt > win {
            self.s = [self.s[1], self.s[2], val];
            if t.saturating_sub(self.s[0].0) > win {
                self.s = [self.s[1], self.s[2], val];
            }
        } else if self.s[1].0 == self.s[0].0 && dt > win / 4 {
            // A quarter of the window passed without a second choice: take one.
            self.s[1] = val;
            self.s[2] = val;
        } else if self.s[2].0 == self.s[1].0 && dt > win / 2 {
            // Half the window passed without a third choice: take one.
            self.s[2] = val;
        }
        self.s[0].1
    }
}

/// BBR's two minimum-RTT filters: `BBR.min_rtt` over `MinRTTFilterLen` (10 s) for
/// the model, and `BBR.probe_rtt_min_delay` over `ProbeRTTInterval` (5 s), whose
/// expiry schedules ProbeRTT.
//= https://datatracker.ietf.org/doc/html/draft-ietf-ccwg-bbr-06#section-5.5.7
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MinRttFilter {
    /// `BBR.min_rtt`, once there is a sample.
    pub min_rtt: Option<Duration>,
    /// `BBR.min_rtt_stamp`.
    pub min_rtt_stamp: Instant,
    /// `BBR.probe_rtt_min_delay`, once there is a sample.
    pub probe_rtt_min_delay: Option<Duration>,
    /// `BBR.probe_rtt_min_stamp`.
    pub probe_rtt_min_stamp: Instant,
    /// `BBR.probe_rtt_expired`: the 5 s filter is due for a refresh.
    pub probe_rtt_expired: bool,
}

/// `BBR.MinRTTFilterLen`.
pub const MIN_RTT_FILTER_LEN: Duration = Duration::from_secs(10);
/// `BBR.ProbeRTTInterval`.
pub const PROBE_RTT_INTERVAL: Duration = Duration::from_secs(5);

impl MinRttFilter {
    /// Empty filters whose windows start at `now`.
    pub fn new(now: Instant) -> MinRttFilter {
        MinRttFilter {
            min_rtt: None,
            min_rtt_stamp: now,
            probe_rtt_min_delay: None,
            probe_rtt_min_stamp: now,
            probe_rtt_expired: false,
        }
    }

    /// An RTT sample (if the ACK gave one) at `now` (`BBRUpdateMinRTT`).
    pub fn update(&mut self, now: Instant, rtt: Option<Duration>) {
        self.probe_rtt_expired = now > self.probe_rtt_min_stamp + PROBE_RTT_INTERVAL;
        if let Some(rtt) = rtt {
            if self.probe_rtt_min_delay.is_none_or(|d| rtt < d) || self.probe_rtt_expired {
                self.probe_rtt_min_delay = Some(rtt);
                self.probe_rtt_min_stamp = now;
            }
        }
        let min_rtt_expired = now > self.min_rtt_stamp + MIN_RTT_FILTER_LEN;
        if let Some(d) = self.probe_rtt_min_delay {
            if self.min_rtt.is_none_or(|m| d < m) || min_rtt_expired {
                self.min_rtt = Some(d);
                self.min_rtt_stamp = self.probe_rtt_min_stamp;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(n: u64) -> Instant {
        Instant::from_nanos(n * 1_000_000)
    }

    #[test]
    fn max_bw_forgets_a_sample_after_two_cycles() {
        let mut f = MaxBwFilter::default();
        f.update(100);
        f.update(80);
        assert_eq!(f.get(), 100);
        f.advance();
        f.update(50);
        assert_eq!(f.get(), 100, "the previous cycle still counts");
        f.advance();
        assert_eq!(f.get(), 50, "two cycles later the 100 expired");
        f.advance();
        assert_eq!(f.get(), 0);
    }

    #[test]
    fn windowed_max_keeps_the_best_of_the_window_and_lets_it_expire() {
        let mut f = WindowedMax::default();
        assert_eq!(f.update(10, 0, 500), 500);
        assert_eq!(f.update(10, 3, 300), 500);
        assert_eq!(f.update(10, 6, 200), 500);
        assert_eq!(f.update(10, 9, 100), 500);
        // Round 11: the 500 of round 0 is more than 10 rounds old; the next best
        // of the window takes over.
        assert_eq!(f.update(10, 11, 50), 300);
        assert_eq!(f.update(10, 30, 10), 10);
    }

    #[test]
    fn min_rtt_expires_after_ten_seconds_and_probe_rtt_after_five() {
        let mut f = MinRttFilter::new(ms(0));
        f.update(ms(1), Some(Duration::from_millis(50)));
        f.update(ms(100), Some(Duration::from_millis(80)));
        assert_eq!(f.min_rtt, Some(Duration::from_millis(50)));
        assert!(!f.probe_rtt_expired);
        f.update(ms(5_002), Some(Duration::from_millis(80)));
        assert!(f.probe_rtt_expired, "no lower sample for 5 s");
        assert_eq!(f.probe_rtt_min_delay, Some(Duration::from_millis(80)));
        assert_eq!(f.min_rtt, Some(Duration::from_millis(50)), "10 s not over");
        f.update(ms(10_002), Some(Duration::from_millis(90)));
        assert_eq!(f.min_rtt, Some(Duration::from_millis(80)));
    }
}
