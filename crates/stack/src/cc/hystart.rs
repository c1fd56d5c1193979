//! HyStart++ (RFC 9406): leave slow start when the RTT rises, before the queue
//! overflows, through a Conservative Slow Start (CSS) that undoes a spurious exit.
//!
//! Rounds are counted with the delivery-rate estimator's counters: a round ends when
//! a packet sent after it began is acknowledged (its `prior_delivered` reaches the
//! `delivered` count at the round's start), which is RFC 9406's `windowEnd` without
//! sequence numbers.

use super::AckSample;
use crate::time::Duration;

//= https://www.rfc-editor.org/rfc/rfc9406#section-4.3
//# It is RECOMMENDED that a HyStart++ implementation use the following
//# constants:
/// The least RTT increase that ends slow start.
pub const MIN_RTT_THRESH: Duration = Duration::from_millis(4);
/// The largest RTT increase needed to end slow start.
pub const MAX_RTT_THRESH: Duration = Duration::from_millis(16);
/// The RTT threshold is the last round's minimum RTT divided by this (clamped).
pub const MIN_RTT_DIVISOR: u32 = 8;
/// RTT samples a round needs before it is judged.
pub const N_RTT_SAMPLE: u32 = 8;
/// CSS grows the window this many times slower than slow start.
pub const CSS_GROWTH_DIVISOR: usize = 4;
/// CSS lasts this many rounds before congestion avoidance.
pub const CSS_ROUNDS: u32 = 5;
/// The most segments one ACK may grow the window by in slow start when the sender does
/// not pace (`L`; infinite when paced).
pub const NON_PACED_L: usize = 8;

/// Where HyStart++ has the slow start.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    /// Standard slow start, watching the RTT.
    SlowStart,
    /// Conservative Slow Start since the RTT rose to `baseline`; `rounds` begun so
    /// far (the round it was entered in counts).
    Css {
        /// `cssBaselineMinRtt`.
        baseline: Duration,
        /// CSS rounds begun.
        rounds: u32,
    },
    /// Done: slow start is over (CSS ran its rounds, or a congestion event came).
    Done,
}

/// What HyStart++ says about one ACK in slow start.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// Grow the window by this many bytes.
    Grow(usize),
    /// CSS is complete: enter congestion avoidance (`ssthresh = cwnd`), after growing
    /// by this many bytes.
    EnterCongestionAvoidance(usize),
}

/// HyStart++ state.
#[derive(Debug, Clone)]
pub struct HyStart {
    phase: Phase,
    /// The round ends when a packet sent with at least this much delivered is
    /// acknowledged; `None` before the first round.
    round_end: Option<u64>,
    last_round_min_rtt: Option<Duration>,
    current_round_min_rtt: Option<Duration>,
    rtt_sample_count: u32,
    /// The sender paces (L is infinite).
    paced: bool,
}

impl Default for HyStart {
    fn default() -> HyStart {
        HyStart::new(false)
    }
}

impl HyStart {
    /// HyStart++ for a sender that paces (`L` infinite) or not (`L` = 8).
    //= https://www.rfc-editor.org/rfc/rfc9406#section-4.2
    //# lastRoundMinRTT and currentRoundMinRTT are initialized to infinity at
    //# the initialization time.
    pub fn new(paced: bool) -> HyStart {
        HyStart {
            phase: Phase::SlowStart,
            round_end: None,
            last_round_min_rtt: None,
            current_round_min_rtt: None,
            rtt_sample_count: 0,
            paced,
        }
    }

    /// The phase.
    pub fn phase(&self) -> Phase {
        self.phase
    }

    /// Whether Conservative Slow Start is under way.
    pub fn in_css(&self) -> bool {
        matches!(self.phase, Phase::Css { .. })
    }

    /// A congestion event: HyStart++ is over for this connection.
    //= https://www.rfc-editor.org/rfc/rfc9406#section-4.2
    //# If loss or ECN-marking is observed anytime during standard slow start
    //# or CSS, enter congestion avoidance by setting the ssthresh to the
    //# current cwnd.
    pub fn on_congestion(&mut self) {
        self.phase = Phase::Done;
    }

    /// An ACK in slow start: how much the window grows, `mss` being the segment size.
    pub fn on_ack(&mut self, s: &AckSample, mss: usize) -> Verdict {
        let delivered = s.delivered;
        let mut css_done = false;
        // A new round?
        if let Some(rate) = s.rate {
            let ended = self.round_end.is_none_or(|end| rate.prior_delivered >= end);
            if ended {
                self.round_end = Some(delivered);
                //= https://www.rfc-editor.org/rfc/rfc9406#section-4.2
                //# At the start of each round during standard slow start [RFC5681] and
                //# CSS, initialize the variables used to compute the last round's and
                //# current round's minimum RTT:
                self.last_round_min_rtt = self.current_round_min_rtt;
                self.current_round_min_rtt = None;
                self.rtt_sample_count = 0;
                if self.in_css() {
                    css_done = self.on_css_round();
                }
            }
        }
        if let Some(rtt) = s.rtt {
            self.current_round_min_rtt =
                Some(self.current_round_min_rtt.map_or(rtt, |m| m.min(rtt)));
            self.rtt_sample_count = self.rtt_sample_count.saturating_add(1);
        }

        // The count first: most ACKs of a round stop there, before any RTT is
        // looked at, and the checks are out of line.
        if self.rtt_sample_count >= N_RTT_SAMPLE {
            self.check_round();
        }

        //= https://www.rfc-editor.org/rfc/rfc9406#section-4.2
        //# cwnd = cwnd + min(N, L * SMSS)
        let cap = if self.paced {
            usize::MAX
        } else {
            NON_PACED_L.saturating_mul(mss)
        };
        let mut grow = s.newly_acked.min(cap);
        if self.in_css() || css_done {
            //= https://www.rfc-editor.org/rfc/rfc9406#section-4.2
            //# cwnd = cwnd + (min(N, L * SMSS) / CSS_GROWTH_DIVISOR)
            grow /= CSS_GROWTH_DIVISOR;
        }
        if css_done {
            Verdict::EnterCongestionAvoidance(grow)
        } else {
            Verdict::Grow(grow)
        }
    }

    /// A new round begins in CSS: the next CSS round, or congestion avoidance
    /// (returns true) when CSS_ROUNDS are complete. Out of line, like the
    /// checks below (`check_round`): the common slow-start ACK takes none of them.
    #[inline(never)]
    fn on_css_round(&mut self) -> bool {
        let Phase::Css { baseline, rounds } = self.phase else {
            return false;
        };
        //= https://www.rfc-editor.org/rfc/rfc9406#section-4.2
        //# If CSS_ROUNDS rounds are complete, enter congestion avoidance by
        //# setting the ssthresh to the current cwnd.
        if rounds >= CSS_ROUNDS {
            self.phase = Phase::Done;
            true
        } else {
            self.phase = Phase::Css {
                baseline,
                rounds: rounds + 1,
            };
            false
        }
    }

    /// A round with N_RTT_SAMPLE samples: the check of its phase, out of line
    /// with both checks (one call site in `on_ack`).
    #[inline(never)]
    fn check_round(&mut self) {
        match self.phase {
            Phase::SlowStart => self.check_delay_increase(),
            Phase::Css { baseline, .. } => self.check_css_spurious(baseline),
            Phase::Done => {}
        }
    }

    /// Standard slow start with N_RTT_SAMPLE samples in the round: CSS begins if
    /// the round's minimum RTT rose past the threshold.
    //= https://www.rfc-editor.org/rfc/rfc9406#section-4.2
    //# For rounds where at least N_RTT_SAMPLE RTT samples have been obtained
    //# and currentRoundMinRTT and lastRoundMinRTT are valid, check to see if
    //# delay increase triggers slow start exit:
    fn check_delay_increase(&mut self) {
        if let (Some(current), Some(last)) = (self.current_round_min_rtt, self.last_round_min_rtt) {
            let thresh = (last / MIN_RTT_DIVISOR).clamp(MIN_RTT_THRESH, MAX_RTT_THRESH);
            if current >= last + thresh {
                self.phase = Phase::Css {
                    baseline: current,
                    rounds: 1,
                };
            }
        }
    }

    /// CSS with N_RTT_SAMPLE samples in the round: back to standard slow start if
    /// the round's minimum RTT fell below the baseline.
    //= https://www.rfc-editor.org/rfc/rfc9406#section-4.2
    //# For CSS rounds where at least N_RTT_SAMPLE RTT samples have been
    //# obtained, check to see if the current round's minRTT drops below
    //# baseline (cssBaselineMinRtt) indicating that slow start exit was
    //# spurious:
    fn check_css_spurious(&mut self, baseline: Duration) {
        if self.current_round_min_rtt.is_some_and(|c| c < baseline) {
            self.phase = Phase::SlowStart;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cc::RateSample;

    /// Feeds one round of `acks` ACKs of 1000 bytes with RTT `rtt_ms`, starting with
    /// `delivered` bytes delivered; returns the verdicts and the new delivered count.
    fn round(h: &mut HyStart, delivered: &mut u64, acks: u32, rtt_ms: u64) -> Vec<Verdict> {
        // Every packet acknowledged in this round was sent once the round began.
        let start = *delivered;
        (0..acks)
            .map(|_| {
                *delivered += 1000;
                let mut s = AckSample::new(1000);
                s.rtt = Some(Duration::from_millis(rtt_ms));
                s.rate = Some(RateSample {
                    prior_delivered: start,
                    delivered: 1000,
                    interval: None,
                    is_app_limited: false,
                    rtt: Duration::from_millis(rtt_ms),
                    newly_lost: 0,
                    tx_in_flight: 0,
                    lost: 0,
                });
                s.delivered = *delivered;
                h.on_ack(&s, 1000)
            })
            .collect()
    }

    #[test]
    fn an_rtt_rise_by_the_threshold_enters_css() {
        let mut h = HyStart::new(false);
        let mut d = 0;
        round(&mut h, &mut d, 10, 100);
        round(&mut h, &mut d, 10, 100);
        assert_eq!(h.phase(), Phase::SlowStart);
        // 100 ms / 8 = 12.5 ms: a rise of 12 ms is not enough ...
        round(&mut h, &mut d, 10, 112);
        assert_eq!(h.phase(), Phase::SlowStart);
        // ... and against the last round's 112 ms the threshold is 14 ms: 126 ms is.
        let v = round(&mut h, &mut d, 10, 126);
        assert_eq!(
            h.phase(),
            Phase::Css {
                baseline: Duration::from_millis(126),
                rounds: 1
            }
        );
        // Before the eighth sample the window grows by a full segment per ACK, after
        // it by a quarter.
        assert_eq!(v[6], Verdict::Grow(1000));
        assert_eq!(v[7], Verdict::Grow(250));
    }

    #[test]
    fn the_threshold_is_clamped_to_4_and_16_ms() {
        // 8 ms / 8 = 1 ms, clamped to 4 ms.
        let mut h = HyStart::new(false);
        let mut d = 0;
        round(&mut h, &mut d, 10, 8);
        round(&mut h, &mut d, 10, 11);
        assert_eq!(h.phase(), Phase::SlowStart);
        round(&mut h, &mut d, 10, 15);
        assert!(h.in_css());
        // 400 ms / 8 = 50 ms, clamped to 16 ms.
        let mut h = HyStart::new(false);
        let mut d = 0;
        round(&mut h, &mut d, 10, 400);
        round(&mut h, &mut d, 10, 416);
        assert!(h.in_css());
    }

    #[test]
    fn fewer_than_eight_samples_never_end_slow_start() {
        let mut h = HyStart::new(false);
        let mut d = 0;
        round(&mut h, &mut d, 7, 100);
        round(&mut h, &mut d, 7, 200);
        assert_eq!(h.phase(), Phase::SlowStart);
    }

    #[test]
    fn an_rtt_back_below_the_baseline_resumes_slow_start() {
        let mut h = HyStart::new(false);
        let mut d = 0;
        round(&mut h, &mut d, 10, 100);
        round(&mut h, &mut d, 10, 120);
        assert!(h.in_css());
        let v = round(&mut h, &mut d, 10, 110);
        assert_eq!(h.phase(), Phase::SlowStart);
        assert_eq!(*v.last().unwrap(), Verdict::Grow(1000));
    }

    #[test]
    fn css_ends_in_congestion_avoidance_after_five_rounds() {
        let mut h = HyStart::new(false);
        let mut d = 0;
        round(&mut h, &mut d, 10, 100);
        round(&mut h, &mut d, 10, 120); // CSS round 1 (entered in it)
        for _ in 2..=5 {
            let v = round(&mut h, &mut d, 10, 120);
            assert!(v.iter().all(|v| matches!(v, Verdict::Grow(250))));
        }
        let v = round(&mut h, &mut d, 10, 120);
        assert_eq!(v[0], Verdict::EnterCongestionAvoidance(250));
        assert_eq!(h.phase(), Phase::Done);
    }

    #[test]
    fn growth_per_ack_is_capped_at_l_segments_unless_paced() {
        let mut h = HyStart::new(false);
        let s = AckSample::new(20_000);
        assert_eq!(h.on_ack(&s, 1000), Verdict::Grow(8000));
        let mut h = HyStart::new(true);
        assert_eq!(h.on_ack(&s, 1000), Verdict::Grow(20_000));
    }
}
