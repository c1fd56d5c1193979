//! The retransmission timeout estimator of RFC 6298: SRTT, RTTVAR, RTO, and the
//! exponential backoff of the retransmission timer.
//!
//! This is the arithmetic only. The connection owns the timer itself (RFC 6298
//! section 5: start it when data is sent and it is not running, stop it when all
//! data is acknowledged, restart it when new data is acknowledged) and reads
//! [`RttEstimator::rto`] whenever it arms it.
//!
//! # Karn's algorithm is the caller's job
//!
//! ```text
//! TCP MUST use Karn's algorithm [KP87] for taking RTT samples.  That is, RTT samples
//! MUST NOT be made using segments that were retransmitted (and thus for which it is
//! ambiguous whether the reply was for the first instance of the packet or a later
//! instance).                                                  (RFC 6298 section 3)
//! ```
//!
//! The estimator cannot tell a good sample from an ambiguous one, so the sender feeds
//! [`on_sample`](RttEstimator::on_sample) only with RTTs measured on segments that
//! were never retransmitted, or from the timestamp option (RFC 7323), whose echo says
//! which transmission an ACK answers. RFC 9293 MUST-18.
//!
//! # The minimum RTO: RFC 6298 says 1 s, Linux says 200 ms
//!
//! RFC 6298 (2.4) says an RTO below 1 second SHOULD be rounded up to 1 second. Linux
//! uses 200 ms (`TCP_RTO_MIN`), and so does layer4 by default ([`RttConfig::default`]);
//! [`RttConfig::RFC6298`] gives the RFC's 1 s. The floor is applied as the RFC applies
//! it, to the whole RTO: `RTO = max(min_rto, SRTT + max(G, K*RTTVAR))`. (Linux applies
//! its floor to the variance term instead, roughly `SRTT + max(min_rto, 4*RTTVAR)`,
//! so on a LAN its RTO sits just above 200 ms where ours is exactly 200 ms.)
//!
//! # The maximum RTO
//!
//! RFC 6298 (2.5) allows a cap of at least 60 seconds; Linux caps at 120 s
//! (`TCP_RTO_MAX`), the default here. The cap bounds the backoff too.

use crate::time::{Duration, Instant};

/// The RTO estimator's parameters.
///
/// If `min_rto > max_rto`, `max_rto` wins.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RttConfig {
    /// The RTO before the first RTT sample (RFC 6298 (2.1): 1 s).
    pub initial_rto: Duration,
    /// The floor of a computed RTO (RFC 6298 (2.4): 1 s; Linux and the default: 200 ms).
    pub min_rto: Duration,
    /// The ceiling of the RTO, backoff included (RFC 6298 (2.5): at least 60 s; Linux
    /// and the default: 120 s).
    pub max_rto: Duration,
    /// The clock granularity G: the smallest variance term of the RTO. The stack's
    /// clock is nanoseconds, but timers are not that precise; 1 ms by default.
    pub granularity: Duration,
}

impl RttConfig {
    /// Linux's constants (`TCP_TIMEOUT_INIT`, `TCP_RTO_MIN`, `TCP_RTO_MAX`), the default:
    /// initial 1 s, minimum 200 ms, maximum 120 s, G = 1 ms.
    pub const LINUX: RttConfig = RttConfig {
        initial_rto: Duration::from_secs(1),
        min_rto: Duration::from_millis(200),
        max_rto: Duration::from_secs(120),
        granularity: Duration::from_millis(1),
    };

    /// RFC 6298 to the letter: initial 1 s, minimum 1 s, maximum 60 s, G = 1 ms.
    pub const RFC6298: RttConfig = RttConfig {
        initial_rto: Duration::from_secs(1),
        min_rto: Duration::from_secs(1),
        max_rto: Duration::from_secs(60),
        granularity: Duration::from_millis(1),
    };
}

impl Default for RttConfig {
    fn default() -> RttConfig {
        RttConfig::LINUX
    }
}

/// The RTO after a SYN timed out, for the data that follows (RFC 6298 (5.7)).
pub const SYN_TIMEOUT_FALLBACK_RTO: Duration = Duration::from_secs(3);

/// SRTT, RTTVAR and the RTO of one connection (RFC 6298 section 2), with the
/// exponential backoff of section 5.
#[derive(Debug, Clone)]
pub struct RttEstimator {
    // The configuration in nanoseconds: every connection carries an estimator, so it
    // is kept compact (88 bytes instead of 176 with `Duration`s and `u128`s).
    initial_rto: u64,
    min_rto: u64,
    max_rto: u64,
    granularity: u64,
    /// SRTT and RTTVAR in nanoseconds, once a sample has been taken.
    smoothed: Option<Smoothed>,
    /// The RTO before clamping and backoff when there is no sample, in nanoseconds:
    /// the initial RTO, or the (5.7) fallback.
    unsampled_rto: u64,
    /// The latest sample in nanoseconds ([`NO_SAMPLE`] before the first).
    latest_rtt: u64,
    /// The smallest sample in nanoseconds ([`NO_SAMPLE`] before the first).
    min_rtt: u64,
    /// How many times the timer has been backed off since the last reset.
    backoff: u32,
}

/// `latest_rtt` / `min_rtt` before any sample.
const NO_SAMPLE: u64 = u64::MAX;

#[derive(Debug, Clone, Copy)]
struct Smoothed {
    srtt: u64,
    rttvar: u64,
}

/// Nanoseconds of `d`, saturating at `u64::MAX` (584 years).
fn nanos(d: Duration) -> u64 {
    u64::try_from(d.as_nanos()).unwrap_or(u64::MAX)
}

const K: u64 = 4;

impl RttEstimator {
    /// An estimator with no sample yet: [`rto`](Self::rto) is `config.initial_rto`.
    pub fn new(config: RttConfig) -> RttEstimator {
        //= https://www.rfc-editor.org/rfc/rfc6298#section-2
        //# (2.1) Until a round-trip time (RTT) measurement has been made for a
        //# segment sent between the sender and receiver, the sender SHOULD
        //# set RTO <- 1 second, though the "backing off" on repeated
        //# retransmission discussed in (5.5) still applies.
        RttEstimator {
            initial_rto: nanos(config.initial_rto),
            min_rto: nanos(config.min_rto),
            max_rto: nanos(config.max_rto),
            granularity: nanos(config.granularity),
            smoothed: None,
            unsampled_rto: nanos(config.initial_rto),
            latest_rtt: NO_SAMPLE,
            min_rtt: NO_SAMPLE,
            backoff: 0,
        }
    }

    /// Back to [`new`](Self::new)'s state under the same parameters (no sample,
    /// no backoff), without converting them to nanoseconds again: what a
    /// reused connection slot does under an unchanged configuration.
    pub(crate) fn restart(&mut self) {
        self.smoothed = None;
        self.unsampled_rto = self.initial_rto;
        self.latest_rtt = NO_SAMPLE;
        self.min_rtt = NO_SAMPLE;
        self.backoff = 0;
    }

    /// The parameters.
    pub fn config(&self) -> RttConfig {
        RttConfig {
            initial_rto: Duration::from_nanos(self.initial_rto),
            min_rto: Duration::from_nanos(self.min_rto),
            max_rto: Duration::from_nanos(self.max_rto),
            granularity: Duration::from_nanos(self.granularity),
        }
    }

    /// Takes an RTT measurement `rtt`, which must obey Karn's algorithm (see the
    /// [module docs](self#karns-algorithm-is-the-callers-job)). Resets the backoff.
    pub fn on_sample(&mut self, rtt: Duration) {
        self.on_sample_nanos(nanos(rtt));
    }

    /// [`on_sample`](Self::on_sample) with the measurement in nanoseconds, as the
    /// connection takes it (the difference of two instants).
    pub(crate) fn on_sample_nanos(&mut self, r: u64) {
        //= https://www.rfc-editor.org/rfc/rfc6298#section-3
        //# TCP MUST use Karn's algorithm [KP87] for taking RTT samples.  That is,
        //# RTT samples MUST NOT be made using segments that were retransmitted
        //# (and thus for which it is ambiguous whether the reply was for the
        //# first instance of the packet or a later instance).
        //
        // The caller's duty: only unambiguous samples reach this function.
        //
        //= https://www.rfc-editor.org/rfc/rfc9293#section-3.8.1
        //# The RTO MUST be computed according to the algorithm in [10], including
        //# Karn's algorithm for taking RTT samples (MUST-18).
        self.smoothed = Some(match self.smoothed {
            //= https://www.rfc-editor.org/rfc/rfc6298#section-2
            //# (2.2) When the first RTT measurement R is made, the host MUST set
            //#
            //#    SRTT <- R
            //#    RTTVAR <- R/2
            //#    RTO <- SRTT + max (G, K*RTTVAR)
            //#
            //# where K = 4.
            None => Smoothed {
                srtt: r,
                rttvar: r / 2,
            },
            //= https://www.rfc-editor.org/rfc/rfc6298#section-2
            //# (2.3) When a subsequent RTT measurement R' is made, a host MUST set
            //#
            //#    RTTVAR <- (1 - beta) * RTTVAR + beta * |SRTT - R'|
            //#    SRTT <- (1 - alpha) * SRTT + alpha * R'
            //#
            //# The value of SRTT used in the update to RTTVAR is its value
            //# before updating SRTT itself using the second assignment.  That
            //# is, updating RTTVAR and SRTT MUST be computed in the above
            //# order.
            //#
            //# The above SHOULD be computed using alpha=1/8 and beta=1/4 (as
            //# suggested in [JK88]).
            // Below 2^60 ns (36 years) each, the sums fit in 64 bits: the same
            // quotients without 128-bit arithmetic.
            Some(Smoothed { srtt, rttvar }) if (srtt | rttvar | r) < 1 << 60 => {
                let rttvar = (3 * rttvar + srtt.abs_diff(r)) / 4;
                let srtt = (7 * srtt + r) / 8;
                Smoothed { srtt, rttvar }
            }
            Some(Smoothed { srtt, rttvar }) => {
                // In u128: no sample, however absurd, can overflow the sums.
                let (srtt, rttvar, r) = (u128::from(srtt), u128::from(rttvar), u128::from(r));
                let rttvar = ((3 * rttvar + srtt.abs_diff(r)) / 4) as u64;
                let srtt = ((7 * srtt + r) / 8) as u64;
                Smoothed { srtt, rttvar }
            }
        });
        self.latest_rtt = r;
        self.min_rtt = self.min_rtt.min(r);
        //= https://www.rfc-editor.org/rfc/rfc6298#section-5
        //# Note that after retransmitting, once a new RTT measurement is
        //# obtained (which can only happen when new data has been sent and
        //# acknowledged), the computations outlined in Section 2 are performed,
        //# including the computation of RTO, which may result in "collapsing"
        //# RTO back down after it has been subject to exponential back off (rule
        //# 5.5).
        self.backoff = 0;
    }

    /// The retransmission timer expired: back it off (doubles the RTO, up to the
    /// maximum).
    pub fn on_timeout(&mut self) {
        //= https://www.rfc-editor.org/rfc/rfc6298#section-5
        //# (5.5) The host MUST set RTO <- RTO * 2 ("back off the timer").  The
        //# maximum value discussed in (2.5) above may be used to provide an
        //# upper bound to this doubling operation.
        self.backoff = self.backoff.saturating_add(1);
    }

    /// Forgets the backoff, e.g. when an ACK for new data arrives without a usable
    /// RTT sample: the RTO returns to the value the estimate gives.
    pub fn reset_backoff(&mut self) {
        self.backoff = 0;
    }

    /// The handshake completed after the SYN (or SYN-ACK) timed out at least once:
    /// if no RTT sample exists, the RTO for the data becomes 3 s (unless it already
    /// is larger), and the backoff is reset.
    ///
    /// With a sample (possible only through timestamps, since Karn's algorithm
    /// forbids timing a retransmitted SYN) the estimate is kept, as Linux does: the
    /// rule exists because the handshake gave no usable measurement.
    pub fn on_handshake_done_after_syn_timeout(&mut self) {
        //= https://www.rfc-editor.org/rfc/rfc6298#section-5
        //# (5.7) If the timer expires awaiting the ACK of a SYN segment and the
        //# TCP implementation is using an RTO less than 3 seconds, the RTO
        //# MUST be re-initialized to 3 seconds when data transmission
        //# begins (i.e., after the three-way handshake completes).
        if self.smoothed.is_none() {
            self.unsampled_rto = self.unsampled_rto.max(nanos(SYN_TIMEOUT_FALLBACK_RTO));
        }
        self.backoff = 0;
    }

    /// The retransmission timeout: the estimate clamped to `[min_rto, max_rto]`, then
    /// doubled once per backoff, never above `max_rto`.
    pub fn rto(&self) -> Duration {
        Duration::from_nanos(self.rto_nanos())
    }

    /// [`rto`](Self::rto) in nanoseconds.
    fn rto_nanos(&self) -> u64 {
        let base = self.base_rto_nanos();
        let backed_off = match 1u64.checked_shl(self.backoff) {
            Some(factor) => base.saturating_mul(factor),
            None => u64::MAX,
        };
        // A zero base stays zero however often it doubles; only max_rto = 0 allows it.
        backed_off.min(self.max_rto)
    }

    /// When a retransmission timer armed at `now` expires: `now + rto()`,
    /// saturating at [`Instant::MAX`] as that sum does, without building the
    /// `Duration` and taking it apart again.
    pub(crate) fn rto_deadline(&self, now: Instant) -> Instant {
        Instant::from_nanos(now.as_nanos().saturating_add(self.rto_nanos()))
    }

    /// The RTO the estimate gives, clamped, without backoff.
    pub fn base_rto(&self) -> Duration {
        Duration::from_nanos(self.base_rto_nanos())
    }

    /// [`base_rto`](Self::base_rto) in nanoseconds.
    fn base_rto_nanos(&self) -> u64 {
        let raw = match self.smoothed {
            //= https://www.rfc-editor.org/rfc/rfc6298#section-2
            //# After the computation, a host MUST update
            //# RTO <- SRTT + max (G, K*RTTVAR)
            Some(Smoothed { srtt, rttvar }) => {
                srtt.saturating_add(self.granularity.max(K.saturating_mul(rttvar)))
            }
            None => self.unsampled_rto,
        };
        //= https://www.rfc-editor.org/rfc/rfc6298#section-2
        //# (2.4) Whenever RTO is computed, if it is less than 1 second, then the
        //# RTO SHOULD be rounded up to 1 second.
        //
        // Rounded up to `min_rto` instead: 200 ms by default, 1 s with
        // `RttConfig::RFC6298` (see the module docs).
        //
        //= https://www.rfc-editor.org/rfc/rfc6298#section-2
        //# (2.5) A maximum value MAY be placed on RTO provided it is at least 60
        //# seconds.
        raw.max(self.min_rto).min(self.max_rto)
    }

    /// SRTT, once a sample has been taken.
    pub fn srtt(&self) -> Option<Duration> {
        self.smoothed.map(|s| Duration::from_nanos(s.srtt))
    }

    /// [`srtt`](Self::srtt) in nanoseconds (no `Duration` to build and take apart
    /// where the caller computes in nanoseconds).
    pub fn srtt_nanos(&self) -> Option<u64> {
        self.smoothed.map(|s| s.srtt)
    }

    /// RTTVAR, once a sample has been taken.
    pub fn rttvar(&self) -> Option<Duration> {
        self.smoothed.map(|s| Duration::from_nanos(s.rttvar))
    }

    /// The smallest sample ever taken (not windowed).
    pub fn min_rtt(&self) -> Option<Duration> {
        (self.min_rtt != NO_SAMPLE).then(|| Duration::from_nanos(self.min_rtt))
    }

    /// [`min_rtt`](Self::min_rtt) in nanoseconds.
    pub(crate) fn min_rtt_nanos(&self) -> Option<u64> {
        (self.min_rtt != NO_SAMPLE).then_some(self.min_rtt)
    }

    /// The most recent sample.
    pub fn latest_rtt(&self) -> Option<Duration> {
        (self.latest_rtt != NO_SAMPLE).then(|| Duration::from_nanos(self.latest_rtt))
    }

    /// How many times the timer has been backed off since the last sample or reset
    /// (`ss -ti` shows it as `backoff:N`).
    pub fn backoff(&self) -> u32 {
        self.backoff
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    fn us(n: u64) -> Duration {
        Duration::from_micros(n)
    }

    fn linux() -> RttEstimator {
        RttEstimator::new(RttConfig::LINUX)
    }

    #[test]
    fn a_restarted_estimator_is_a_new_one_under_the_same_parameters() {
        for config in [RttConfig::LINUX, RttConfig::RFC6298] {
            let mut e = RttEstimator::new(config);
            e.on_sample(ms(40));
            e.on_sample(ms(25));
            e.on_timeout();
            e.on_timeout();
            e.restart();
            assert_eq!(format!("{e:?}"), format!("{:?}", RttEstimator::new(config)));
        }
    }

    #[test]
    fn before_any_sample_the_rto_is_one_second() {
        let e = linux();
        assert_eq!(e.rto(), ms(1000));
        assert_eq!(e.srtt(), None);
        assert_eq!(e.rttvar(), None);
        assert_eq!(e.min_rtt(), None);
        assert_eq!(RttEstimator::new(RttConfig::RFC6298).rto(), ms(1000));
    }

    #[test]
    fn first_sample_sets_srtt_r_and_rttvar_half_r() {
        let mut e = linux();
        e.on_sample(ms(100));
        assert_eq!(e.srtt(), Some(ms(100)));
        assert_eq!(e.rttvar(), Some(ms(50)));
        // 100 + max(1, 4 * 50) = 300 ms, above the 200 ms floor.
        assert_eq!(e.rto(), ms(300));
        // The RFC's 1 s floor hides the formula.
        let mut rfc = RttEstimator::new(RttConfig::RFC6298);
        rfc.on_sample(ms(100));
        assert_eq!(rfc.rto(), ms(1000));
    }

    #[test]
    fn subsequent_samples_update_rttvar_before_srtt() {
        let mut e = linux();
        e.on_sample(ms(100));
        e.on_sample(ms(200));
        // RTTVAR = 3/4 * 50 + 1/4 * |100 - 200| = 62.5 ms (with the new SRTT it
        // would be 59.375 ms); SRTT = 7/8 * 100 + 1/8 * 200 = 112.5 ms.
        assert_eq!(e.rttvar(), Some(us(62_500)));
        assert_eq!(e.srtt(), Some(us(112_500)));
        // RTO = 112.5 + 4 * 62.5 = 362.5 ms.
        assert_eq!(e.rto(), us(362_500));

        e.on_sample(ms(50));
        // RTTVAR = 3/4 * 62.5 + 1/4 * |112.5 - 50| = 46.875 + 15.625 = 62.5 ms;
        // SRTT = 7/8 * 112.5 + 1/8 * 50 = 98.4375 + 6.25 = 104.6875 ms.
        assert_eq!(e.rttvar(), Some(us(62_500)));
        assert_eq!(e.srtt(), Some(Duration::from_nanos(104_687_500)));
        assert_eq!(e.rto(), Duration::from_nanos(354_687_500));
    }

    #[test]
    fn small_rtos_are_rounded_up_to_the_minimum() {
        let mut e = linux();
        e.on_sample(ms(10));
        // 10 + 4 * 5 = 30 ms, floored at 200 ms.
        assert_eq!(e.base_rto(), ms(200));
        assert_eq!(e.rto(), ms(200));
    }

    #[test]
    fn a_steady_rtt_leaves_the_granularity_as_variance_term() {
        let config = RttConfig {
            min_rto: Duration::ZERO,
            ..RttConfig::LINUX
        };
        let mut e = RttEstimator::new(config);
        for _ in 0..40 {
            e.on_sample(ms(100));
        }
        // RTTVAR = 50 ms * (3/4)^39, far below G / 4.
        assert!(e.rttvar().unwrap() < us(250));
        assert_eq!(e.srtt(), Some(ms(100)));
        assert_eq!(e.rto(), ms(101));
    }

    #[test]
    fn a_zero_sample_gives_the_floor() {
        let mut e = linux();
        e.on_sample(Duration::ZERO);
        assert_eq!(e.srtt(), Some(Duration::ZERO));
        assert_eq!(e.rto(), ms(200));
        let mut bare = RttEstimator::new(RttConfig {
            min_rto: Duration::ZERO,
            ..RttConfig::LINUX
        });
        bare.on_sample(Duration::ZERO);
        // G keeps the timer from firing at once.
        assert_eq!(bare.rto(), ms(1));
    }

    #[test]
    fn backoff_doubles_and_caps_at_120_s() {
        let mut e = linux();
        let mut seen = Vec::new();
        for _ in 0..9 {
            e.on_timeout();
            seen.push(e.rto().as_secs());
        }
        assert_eq!(seen, [2, 4, 8, 16, 32, 64, 120, 120, 120]);
        assert_eq!(e.backoff(), 9);
    }

    #[test]
    fn rfc_backoff_caps_at_60_s() {
        let mut e = RttEstimator::new(RttConfig::RFC6298);
        let mut seen = Vec::new();
        for _ in 0..7 {
            e.on_timeout();
            seen.push(e.rto().as_secs());
        }
        assert_eq!(seen, [2, 4, 8, 16, 32, 60, 60]);
    }

    #[test]
    fn backoff_applies_to_the_clamped_estimate() {
        let mut e = linux();
        e.on_sample(ms(10));
        e.on_timeout();
        assert_eq!(e.rto(), ms(400));
        e.on_timeout();
        assert_eq!(e.rto(), ms(800));
        assert_eq!(e.base_rto(), ms(200));
    }

    #[test]
    fn endless_timeouts_saturate_without_panicking() {
        let mut e = linux();
        for _ in 0..200 {
            e.on_timeout();
        }
        assert_eq!(e.rto(), ms(120_000));
        e.backoff = u32::MAX;
        e.on_timeout();
        assert_eq!(e.backoff(), u32::MAX);
        assert_eq!(e.rto(), ms(120_000));
    }

    #[test]
    fn reset_backoff_returns_to_the_estimate() {
        let mut e = linux();
        e.on_sample(ms(100));
        e.on_timeout();
        e.on_timeout();
        assert_eq!(e.rto(), ms(1200));
        e.reset_backoff();
        assert_eq!(e.backoff(), 0);
        assert_eq!(e.rto(), ms(300));
    }

    #[test]
    fn a_new_sample_collapses_the_backed_off_rto() {
        let mut e = linux();
        e.on_sample(ms(100));
        for _ in 0..3 {
            e.on_timeout();
        }
        assert_eq!(e.rto(), ms(2400));
        e.on_sample(ms(100));
        assert_eq!(e.backoff(), 0);
        // RTTVAR = 3/4 * 50 = 37.5; RTO = 100 + 150 = 250 ms.
        assert_eq!(e.rto(), ms(250));
    }

    #[test]
    fn syn_timeout_without_sample_raises_the_rto_to_three_seconds() {
        let mut e = linux();
        e.on_timeout();
        assert_eq!(e.rto(), ms(2000));
        e.on_handshake_done_after_syn_timeout();
        assert_eq!(e.rto(), ms(3000));
        e.on_timeout();
        assert_eq!(e.rto(), ms(6000));
        // The first sample replaces the fallback.
        e.on_sample(ms(100));
        assert_eq!(e.rto(), ms(300));
    }

    #[test]
    fn syn_timeout_with_a_timestamp_sample_keeps_the_estimate() {
        let mut e = linux();
        e.on_timeout();
        e.on_sample(ms(100));
        e.on_timeout();
        e.on_handshake_done_after_syn_timeout();
        assert_eq!(e.rto(), ms(300));
    }

    #[test]
    fn syn_fallback_keeps_a_larger_initial_rto() {
        let mut e = RttEstimator::new(RttConfig {
            initial_rto: ms(5000),
            ..RttConfig::LINUX
        });
        e.on_handshake_done_after_syn_timeout();
        assert_eq!(e.rto(), ms(5000));
    }

    #[test]
    fn min_rtt_is_the_smallest_sample_and_latest_the_last() {
        let mut e = linux();
        for r in [120, 80, 95, 81, 200] {
            e.on_sample(ms(r));
        }
        assert_eq!(e.min_rtt(), Some(ms(80)));
        assert_eq!(e.latest_rtt(), Some(ms(200)));
    }

    #[test]
    fn huge_samples_saturate_at_the_maximum() {
        let mut e = linux();
        e.on_sample(Duration::MAX);
        assert_eq!(e.rto(), ms(120_000));
        e.on_sample(Duration::MAX);
        e.on_sample(ms(1));
        assert_eq!(e.rto(), ms(120_000));
        assert_eq!(e.min_rtt(), Some(ms(1)));
    }

    #[test]
    fn max_wins_over_a_larger_min() {
        let mut e = RttEstimator::new(RttConfig {
            min_rto: ms(5000),
            max_rto: ms(2000),
            ..RttConfig::LINUX
        });
        assert_eq!(e.rto(), ms(2000));
        e.on_sample(ms(1));
        assert_eq!(e.rto(), ms(2000));
    }

    #[test]
    fn nanos_saturates() {
        assert_eq!(nanos(Duration::MAX), u64::MAX);
        assert_eq!(nanos(Duration::new(1, 500_000_001)), 1_500_000_001);
    }

    #[test]
    fn an_absurd_sample_saturates_instead_of_overflowing() {
        let mut e = linux();
        e.on_sample(Duration::MAX);
        e.on_sample(Duration::MAX);
        assert_eq!(e.rto(), ms(120_000));
    }

    proptest! {
        /// The 64-bit smoothing below 2^60 ns and the 128-bit one above give
        /// what RFC 6298's formulas give computed without overflow.
        #[test]
        fn smoothing_matches_the_formulas_in_128_bits(
            srtt in prop_oneof![0u64..1 << 61, any::<u64>()],
            rttvar in prop_oneof![0u64..1 << 61, any::<u64>()],
            r in prop_oneof![0u64..1 << 61, any::<u64>()],
        ) {
            let mut e = linux();
            e.smoothed = Some(Smoothed { srtt, rttvar });
            e.on_sample_nanos(r);
            let (s, v, x) = (u128::from(srtt), u128::from(rttvar), u128::from(r));
            let got = e.smoothed.unwrap();
            prop_assert_eq!(u128::from(got.rttvar), (3 * v + s.abs_diff(x)) / 4);
            prop_assert_eq!(u128::from(got.srtt), (7 * s + x) / 8);
        }

        #[test]
        fn rto_stays_within_bounds_and_backoff_never_lowers_it(
            samples in proptest::collection::vec(0u64..10_000_000_000_000, 1..40),
            timeouts in 0u32..80,
        ) {
            let mut e = linux();
            for s in &samples {
                e.on_sample(Duration::from_nanos(*s));
                let rto = e.rto();
                prop_assert!(rto >= ms(200) && rto <= ms(120_000));
            }
            let lo = samples.iter().min().copied().unwrap_or(0);
            let hi = samples.iter().max().copied().unwrap_or(0);
            let srtt = e.srtt().unwrap().as_nanos();
            prop_assert!(u128::from(lo) <= srtt && srtt <= u128::from(hi));
            prop_assert_eq!(e.min_rtt(), Some(Duration::from_nanos(lo)));
            let mut prev = e.rto();
            for _ in 0..timeouts {
                e.on_timeout();
                let rto = e.rto();
                prop_assert!(rto >= prev && rto <= ms(120_000));
                prop_assert!(rto == ms(120_000) || rto == prev * 2);
                prev = rto;
            }
        }
    }

    #[test]
    fn the_rto_deadline_is_now_plus_the_rto_saturating_alike() {
        let mut e = linux();
        let now = Instant::from_nanos(5_000_000_000);
        assert_eq!(e.rto_deadline(now), now + e.rto());
        // The nanosecond sample path gives the estimate the Duration one gives.
        let mut d = linux();
        e.on_sample_nanos(123_456_789);
        d.on_sample(Duration::from_nanos(123_456_789));
        assert_eq!(
            (e.srtt(), e.rttvar(), e.rto()),
            (d.srtt(), d.rttvar(), d.rto())
        );
        assert_eq!(e.min_rtt_nanos(), Some(123_456_789));
        for _ in 0..40 {
            e.on_timeout();
            for now in [
                Instant::ZERO,
                now,
                Instant::from_nanos(u64::MAX - 5),
                Instant::MAX,
            ] {
                assert_eq!(e.rto_deadline(now), now + e.rto());
            }
        }
    }
}
