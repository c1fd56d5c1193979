//! CUBIC (RFC 9438), byte-based: the cubic window increase W_cubic(t) = C(t-K)³ +
//! W_max, the Reno-friendly region, multiplicative decrease by β_cubic = 0.7, fast
//! convergence, the timeout reaction, and HyStart++ (RFC 9406) in the initial slow
//! start.
//!
//! The RFC counts windows in segments; here windows are bytes, so W_cubic is scaled
//! by the MSS: `C · MSS · (t − K)³ + W_max` bytes, with `K = ∛((W_max −
//! cwnd_epoch) / (C · MSS))`. The window is kept as a float so that the fractional
//! per-ACK increments add up.

use super::hystart::{HyStart, Verdict};
use super::{AckSample, CcAlgorithm, CcParams, CongestionControl, CongestionKind};
use crate::time::{Duration, Instant};

//= https://www.rfc-editor.org/rfc/rfc9438#section-5.1
//# Therefore, C SHOULD be set to 0.4.
/// C, in segments per second cubed.
pub const C: f64 = 0.4;

//= https://www.rfc-editor.org/rfc/rfc9438#section-4.6
//# The parameter β_cubic SHOULD be set to 0.7
/// β_cubic, the multiplicative decrease factor.
pub const BETA: f64 = 0.7;

/// α_cubic = 3(1 − β_cubic)/(1 + β_cubic), the Reno-friendly additive increase in
/// segments per RTT.
//= https://www.rfc-editor.org/rfc/rfc9438#section-4.3
//# By the same analysis, to achieve a similar average window size as Reno
//# that uses AIMD(1, 0.5), α must be equal to,
pub const ALPHA: f64 = 3.0 * (1.0 - BETA) / (1.0 + BETA);

/// CUBIC's state.
#[derive(Debug, Clone)]
pub struct Cubic {
    mss: usize,
    /// The congestion window, bytes.
    cwnd: f64,
    /// The slow-start threshold, bytes; `usize::MAX` until set.
    ssthresh: usize,
    /// W_max, bytes.
    w_max: f64,
    /// cwnd_prior, bytes.
    cwnd_prior: f64,
    /// K, seconds.
    k: f64,
    /// t_epoch: the start of the current congestion avoidance stage, once it began.
    t_epoch: Option<Instant>,
    /// W_est, bytes.
    w_est: f64,
    /// The next stage starts with K = 0 and W_max = cwnd_epoch (after a timeout, or
    /// when HyStart++ ended slow start without a loss).
    k_zero: bool,
    /// Fast convergence (RFC 9438 section 4.7) on.
    fast_convergence: bool,
    hystart: HyStart,
    /// The last ACK or send, to leave application-limited periods out of t.
    last_activity: Option<Instant>,
    /// The state before the last congestion event, for its undo.
    prior: Option<Prior>,
}

/// What a congestion event changes, kept to undo a spurious one.
//= https://www.rfc-editor.org/rfc/rfc9438#section-4.9
#[derive(Debug, Clone, Copy)]
struct Prior {
    cwnd: f64,
    ssthresh: usize,
    w_max: f64,
    cwnd_prior: f64,
    k: f64,
    t_epoch: Option<Instant>,
    w_est: f64,
    k_zero: bool,
}

impl Cubic {
    /// A controller for segments of `mss` bytes starting with `initial_segments`,
    /// fast convergence on, HyStart++ for a sender that does not pace.
    pub fn new(mss: usize, initial_segments: u32) -> Cubic {
        let mss = mss.max(1);
        let iw = (initial_segments.max(1) as usize).saturating_mul(mss);
        Cubic {
            mss,
            cwnd: iw as f64,
            ssthresh: usize::MAX,
            w_max: 0.0,
            cwnd_prior: 0.0,
            k: 0.0,
            t_epoch: None,
            w_est: 0.0,
            k_zero: false,
            fast_convergence: true,
            hystart: HyStart::new(false),
            last_activity: None,
            prior: None,
        }
    }

    /// Turns fast convergence on or off.
    //= https://www.rfc-editor.org/rfc/rfc9438#section-4.7
    //# In network environments with only a single CUBIC flow and
    //# without any other traffic, Fast Convergence SHOULD be disabled.
    pub fn set_fast_convergence(&mut self, on: bool) {
        self.fast_convergence = on;
    }

    /// W_max in bytes.
    pub fn w_max(&self) -> f64 {
        self.w_max
    }

    /// K in seconds.
    pub fn k(&self) -> f64 {
        self.k
    }

    /// W_est in bytes.
    pub fn w_est(&self) -> f64 {
        self.w_est
    }

    /// HyStart++'s state.
    pub fn hystart(&self) -> &HyStart {
        &self.hystart
    }

    /// W_cubic(t) in bytes, `t` seconds into the congestion avoidance stage.
    //= https://www.rfc-editor.org/rfc/rfc9438#section-4.2
    //# CUBIC uses the following window increase function:
    pub fn w_cubic(&self, t: f64) -> f64 {
        let d = t - self.k;
        C * self.mss as f64 * d * d * d + self.w_max
    }

    fn mss_f(&self) -> f64 {
        self.mss as f64
    }

    /// Begins a congestion avoidance stage at `now`.
    fn start_epoch(&mut self, now: Instant) {
        self.t_epoch = Some(now);
        let cwnd_epoch = self.cwnd;
        if self.k_zero || self.w_max <= cwnd_epoch {
            //= https://www.rfc-editor.org/rfc/rfc9438#section-4.8
            //# K is set to 0, and W_max is set to the congestion window
            //# size at the beginning of the current congestion avoidance stage.
            self.k = 0.0;
            self.w_max = cwnd_epoch;
        } else {
            //= https://www.rfc-editor.org/rfc/rfc9438#section-4.2
            //# K is the time period that the
            //# above function takes to increase the congestion window size at the
            //# beginning of the current congestion avoidance stage to
            //# W_max if there are no further congestion events
            self.k = ((self.w_max - cwnd_epoch) / (C * self.mss_f())).cbrt();
        }
        self.k_zero = false;
        //= https://www.rfc-editor.org/rfc/rfc9438#section-4.3
        //# W_est is set equal to cwnd_epoch at the start
        //# of the congestion avoidance stage.
        self.w_est = cwnd_epoch;
    }

    fn slow_start(&mut self, s: &AckSample) {
        if self.hystart.phase() == super::hystart::Phase::Done {
            self.slow_start_after_hystart(s);
            return;
        }
        match self.hystart.on_ack(s, self.mss) {
            Verdict::Grow(n) => self.cwnd += n as f64,
            Verdict::EnterCongestionAvoidance(n) => self.end_slow_start(n),
        }
    }

    /// Slow start once HyStart++ is over (a congestion event ended it, and the
    /// window since fell below ssthresh again). Out of line, like the two
    /// functions below: a short connection's ACKs take none of them, and
    /// `on_ack`'s slow-start steps stay in a few code lines.
    #[inline(never)]
    fn slow_start_after_hystart(&mut self, s: &AckSample) {
        //= https://www.rfc-editor.org/rfc/rfc5681#section-3.1
        //# During slow start, a TCP increments cwnd by at most SMSS bytes for
        //# each ACK received that cumulatively acknowledges new data.
        self.cwnd += s.newly_acked.min(self.mss) as f64;
    }

    /// HyStart++'s CSS is complete: the window grows by `n` one last time and
    /// congestion avoidance begins. Once per connection at most.
    #[cold]
    #[inline(never)]
    fn end_slow_start(&mut self, n: usize) {
        self.cwnd += n as f64;
        self.ssthresh = self.cwnd as usize;
        //= https://www.rfc-editor.org/rfc/rfc9438#section-4.10
        //# In this special case, CUBIC
        //# sets cwnd_prior = cwnd and switches to congestion avoidance.
        self.cwnd_prior = self.cwnd;
        self.k_zero = true;
        self.t_epoch = None;
    }

    /// [`in_slow_start`](CongestionControl::in_slow_start) once ssthresh is
    /// set: the window against it. Out of line (see `slow_start_after_hystart`).
    #[inline(never)]
    fn below_ssthresh(&self) -> bool {
        self.window() < self.ssthresh
    }

    // Out of line: the floating-point window growth would otherwise sit inside
    // `on_ack`, between the slow-start steps most short connections only take.
    #[inline(never)]
    fn congestion_avoidance(&mut self, now: Instant, s: &AckSample) {
        if s.app_limited() {
            //= https://www.rfc-editor.org/rfc/rfc9438#section-5.8
            //# CUBIC does not increase its congestion window if a flow is application-limited.
            self.skip_idle(now);
            return;
        }
        let t_epoch = match self.t_epoch {
            Some(t) => t,
            None => {
                self.start_epoch(now);
                now
            }
        };
        let cwnd = self.cwnd.max(self.mss_f());
        let t = now.saturating_duration_since(t_epoch).as_secs_f64();
        let rtt = s
            .srtt
            .or(s.min_rtt)
            .or(s.rtt)
            .unwrap_or(Duration::ZERO)
            .as_secs_f64();
        //= https://www.rfc-editor.org/rfc/rfc9438#section-4.2
        //# The lower and
        //# upper bounds below ensure that CUBIC's congestion window increase rate
        //# is non-decreasing and is less than the increase rate of slow start
        let target = self.w_cubic(t + rtt).clamp(cwnd, 1.5 * cwnd);
        let acked = s.newly_acked as f64;

        //= https://www.rfc-editor.org/rfc/rfc9438#section-4.3
        //# Once W_est has grown to reach the cwnd at the time of
        //# most recently setting ssthresh, that is, W_est >= cwnd_prior,
        //# the sender SHOULD set α_cubic to 1 to ensure that
        //# it can achieve the same congestion window increment rate as Reno,
        //# which uses AIMD(1, 0.5).
        let alpha = if self.w_est >= self.cwnd_prior {
            1.0
        } else {
            ALPHA
        };
        // segments_acked / cwnd segments, times the MSS: bytes.
        self.w_est += alpha * acked * self.mss_f() / cwnd;

        if self.w_cubic(t) < self.w_est {
            //= https://www.rfc-editor.org/rfc/rfc9438#section-4.3
            //# If so, CUBIC is
            //# in the Reno-friendly region and cwnd SHOULD be set to
            //# W_est at each reception of a new ACK.
            self.cwnd = self.cwnd.max(self.w_est);
        } else {
            //= https://www.rfc-editor.org/rfc/rfc9438#section-4.4
            //# In this region, cwnd MUST be
            //# incremented by
            // (target − cwnd)/cwnd per segment acknowledged, in bytes.
            self.cwnd += (target - cwnd) * acked / cwnd;
        }
        self.last_activity = Some(now);
    }

    /// Moves t_epoch forward by the time since the last activity: an application-
    /// limited or idle period does not count in t.
    //= https://www.rfc-editor.org/rfc/rfc9438#section-5.8
    //# CUBIC does not increase its congestion window if a flow is application-limited.
    fn skip_idle(&mut self, now: Instant) {
        if let (Some(epoch), Some(last)) = (self.t_epoch, self.last_activity) {
            self.t_epoch = Some(epoch + now.saturating_duration_since(last));
        }
        self.last_activity = Some(now);
    }
}

impl CongestionControl for Cubic {
    fn renew(&mut self, algorithm: CcAlgorithm, params: &CcParams) -> bool {
        if algorithm != CcAlgorithm::Cubic {
            return false;
        }
        *self = Cubic::new(params.mss, params.initial_window);
        true
    }

    fn name(&self) -> &'static str {
        "cubic"
    }

    fn window(&self) -> usize {
        (self.cwnd as usize).max(self.mss)
    }

    fn ssthresh(&self) -> Option<usize> {
        (self.ssthresh != usize::MAX).then_some(self.ssthresh)
    }

    fn in_slow_start(&self) -> bool {
        if self.ssthresh == usize::MAX {
            // No ssthresh yet: `window() < usize::MAX` unless the window
            // saturates, which takes a cwnd of 2^64 bytes or more (or an MSS of
            // usize::MAX). The same answer without the float conversion.
            return (self.cwnd < 18_446_744_073_709_551_616.0 || self.cwnd.is_nan())
                && self.mss != usize::MAX;
        }
        self.below_ssthresh()
    }

    fn on_sent(&mut self, now: Instant, _bytes: usize, bytes_in_flight: usize) {
        if bytes_in_flight == 0 {
            // Restarting after idle.
            self.skip_idle(now);
        }
    }

    fn on_ack(&mut self, now: Instant, s: &AckSample) {
        if s.in_recovery {
            return;
        }
        if self.in_slow_start() {
            self.slow_start(s);
            self.last_activity = Some(now);
        } else {
            self.congestion_avoidance(now, s);
        }
    }

    fn on_congestion_event(&mut self, _now: Instant, kind: CongestionKind, bytes_in_flight: usize) {
        self.prior = Some(Prior {
            cwnd: self.cwnd,
            ssthresh: self.ssthresh,
            w_max: self.w_max,
            cwnd_prior: self.cwnd_prior,
            k: self.k,
            t_epoch: self.t_epoch,
            w_est: self.w_est,
            k_zero: self.k_zero,
        });
        self.hystart.on_congestion();
        let mss = self.mss_f();
        let flight = bytes_in_flight as f64;
        match kind {
            CongestionKind::Loss | CongestionKind::Ecn => {
                //= https://www.rfc-editor.org/rfc/rfc9438#section-4.7
                //# With Fast Convergence, when a congestion event occurs, W_max
                //# is updated as follows, before the window reduction described
                //# in Section 4.6.
                self.w_max = if self.fast_convergence && self.cwnd < self.w_max {
                    self.cwnd * (1.0 + BETA) / 2.0
                } else {
                    self.cwnd
                };
                //= https://www.rfc-editor.org/rfc/rfc9438#section-4.6
                //# In case of packet loss, the sender MUST reduce cwnd
                //# and ssthresh immediately upon entering loss recovery, similar to
                //# [RFC5681] (and [RFC6675]).
                let ssthresh = flight * BETA;
                self.cwnd_prior = self.cwnd;
                let floor = if kind == CongestionKind::Loss {
                    2.0 * mss
                } else {
                    mss
                };
                self.cwnd = ssthresh.max(floor);
                self.ssthresh = ssthresh.max(2.0 * mss) as usize;
                self.k_zero = false;
            }
            CongestionKind::Timeout => {
                //= https://www.rfc-editor.org/rfc/rfc9438#section-4.8
                //# In case of a timeout, CUBIC follows Reno to reduce cwnd
                //# [RFC5681], but sets ssthresh using β_cubic
                //# (same as in Section 4.6) in a way that is different from Reno TCP
                //# [RFC5681].
                self.ssthresh = (flight * BETA).max(2.0 * mss) as usize;
                self.cwnd_prior = self.cwnd;
                self.cwnd = mss;
                self.k_zero = true;
            }
        }
        self.t_epoch = None;
    }

    //= https://www.rfc-editor.org/rfc/rfc9438#section-4.9
    // A spurious congestion event is undone by restoring the state saved when it
    // began (cwnd_prior, ssthresh_prior, W_max, K, t_epoch, W_est); the window
    // never shrinks by the undo.
    fn on_spurious_congestion_event(&mut self, _now: Instant) {
        if let Some(p) = self.prior.take() {
            self.cwnd = self.cwnd.max(p.cwnd);
            self.ssthresh = if p.ssthresh == usize::MAX {
                usize::MAX
            } else {
                self.ssthresh.max(p.ssthresh)
            };
            self.w_max = p.w_max;
            self.cwnd_prior = p.cwnd_prior;
            self.k = p.k;
            self.t_epoch = p.t_epoch;
            self.w_est = p.w_est;
            self.k_zero = p.k_zero;
        }
    }

    fn on_recovery_end(&mut self, _now: Instant, bytes_in_flight: usize) {
        //= https://www.rfc-editor.org/rfc/rfc6582#section-3.2
        //# Set cwnd to either (1)
        //# min (ssthresh, max(FlightSize, SMSS) + SMSS) or (2) ssthresh
        let w = (bytes_in_flight.max(self.mss) + self.mss).min(self.ssthresh);
        self.cwnd = w as f64;
    }

    fn on_mtu_update(&mut self, mss: usize) {
        let mss = mss.max(1);
        let factor = mss as f64 / self.mss_f();
        // Keep the windows in segments, as Linux does.
        let segs = (self.window() / self.mss).max(1);
        self.mss = mss;
        self.cwnd = segs.saturating_mul(mss) as f64;
        self.w_max *= factor;
        self.w_est *= factor;
        self.cwnd_prior *= factor;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cc::RateSample;

    const MSS: usize = 1000;

    fn at(ms: u64) -> Instant {
        Instant::from_nanos(ms * 1_000_000)
    }

    /// Acknowledges one window's worth of bytes in one-segment ACKs, spread over
    /// `rtt_ms`, starting at `t_ms`; returns the time after it.
    fn one_rtt(cc: &mut Cubic, t_ms: u64, rtt_ms: u64) -> u64 {
        let segs = (cc.window() / MSS).max(1) as u64;
        for i in 0..segs {
            let mut s = AckSample::new(MSS);
            s.srtt = Some(Duration::from_millis(rtt_ms));
            s.rtt = s.srtt;
            cc.on_ack(at(t_ms + i * rtt_ms / segs), &s);
        }
        t_ms + rtt_ms
    }

    /// A CUBIC sender that lost at a window of `segs` segments (all in flight) at
    /// time 0.
    fn after_loss(segs: usize) -> Cubic {
        let mut cc = Cubic::new(MSS, 10);
        cc.cwnd = (segs * MSS) as f64;
        cc.on_congestion_event(at(0), CongestionKind::Loss, segs * MSS);
        cc
    }

    #[test]
    fn alpha_is_three_times_one_minus_beta_over_one_plus_beta() {
        assert!((ALPHA - 0.9 / 1.7).abs() < 1e-12);
    }

    #[test]
    fn loss_reduces_the_window_by_beta() {
        let cc = after_loss(1000);
        assert_eq!(cc.window(), 700 * MSS);
        assert_eq!(cc.ssthresh(), Some(700 * MSS));
        assert_eq!(cc.w_max(), (1000 * MSS) as f64);
        assert!(!cc.in_slow_start());
        // Never below two segments.
        let cc = after_loss(2);
        assert_eq!(cc.window(), 2 * MSS);
        assert_eq!(cc.ssthresh(), Some(2 * MSS));
    }

    #[test]
    fn ecn_floors_the_window_at_one_segment() {
        let mut cc = Cubic::new(MSS, 1);
        cc.on_congestion_event(at(0), CongestionKind::Ecn, MSS);
        assert_eq!(cc.window(), MSS);
        assert_eq!(cc.ssthresh(), Some(2 * MSS));
    }

    #[test]
    fn window_follows_w_cubic_of_t() {
        // W_max = 1000 segments, cwnd_epoch = 700: K = ∛(300 / 0.4) ≈ 9.09 s.
        let mut cc = after_loss(1000);
        let mut t = 0;
        one_rtt(&mut cc, t, 100); // the first ACK starts the epoch at 0
        let k = cc.k();
        assert!((k - 750f64.cbrt()).abs() < 1e-9, "K = {k}");
        t += 100;
        for check_s in [1.0, 3.0, 6.0, k, 12.0, 14.0] {
            while (t as f64) < check_s * 1000.0 {
                t = one_rtt(&mut cc, t, 100);
            }
            let expected = cc.w_cubic(t as f64 / 1000.0);
            let got = cc.window() as f64;
            assert!(
                (got - expected).abs() / expected < 0.01,
                "t = {t} ms: cwnd {got} vs W_cubic {expected}"
            );
        }
        // Past K the window is above W_max again (the convex region).
        assert!(cc.window() > 1000 * MSS);
    }

    #[test]
    fn fast_convergence_lowers_w_max() {
        let mut cc = after_loss(1000);
        assert_eq!(cc.w_max(), (1000 * MSS) as f64);
        // A second loss below W_max: W_max = cwnd (1 + β) / 2.
        cc.cwnd = (900 * MSS) as f64;
        cc.on_congestion_event(at(1000), CongestionKind::Loss, 900 * MSS);
        assert!((cc.w_max() - (900 * MSS) as f64 * 0.85).abs() < 1e-6);
        assert_eq!(cc.window(), 630 * MSS);
        // Without fast convergence W_max is the window before the reduction.
        let mut cc = after_loss(1000);
        cc.set_fast_convergence(false);
        cc.cwnd = (900 * MSS) as f64;
        cc.on_congestion_event(at(1000), CongestionKind::Loss, 900 * MSS);
        assert_eq!(cc.w_max(), (900 * MSS) as f64);
    }

    #[test]
    fn reno_friendly_region_dominates_at_small_rtt_and_bdp() {
        // 20 segments at 1 ms RTT: W_cubic climbs by seconds, Reno by round trips.
        let mut cc = after_loss(20);
        let mut t = 0;
        while t < 100 {
            t = one_rtt(&mut cc, t, 1);
        }
        let w_cubic = cc.w_cubic(t as f64 / 1000.0);
        let cwnd = cc.window() as f64;
        assert!(w_cubic < 20.0 * MSS as f64, "W_cubic {w_cubic}");
        assert!(cwnd > 60.0 * MSS as f64, "cwnd {cwnd}");
        assert!((cwnd - cc.w_est()).abs() <= MSS as f64);
        // About α_cubic per RTT up to cwnd_prior (20 segments), then one per RTT:
        // 14 → 20 in ~11 RTTs, then ~89 more.
        assert!(
            (100.0..=115.0).contains(&(cwnd / MSS as f64)),
            "cwnd {cwnd}"
        );
    }

    #[test]
    fn application_limited_acks_neither_grow_the_window_nor_count_in_t() {
        let mut cc = after_loss(1000);
        let t = one_rtt(&mut cc, 0, 100);
        let w = cc.window();
        let epoch = cc.t_epoch;
        let mut s = AckSample::new(MSS);
        s.srtt = Some(Duration::from_millis(100));
        s.rate = Some(RateSample {
            prior_delivered: 0,
            delivered: MSS as u64,
            interval: None,
            is_app_limited: true,
            rtt: Duration::from_millis(100),
            newly_lost: 0,
            tx_in_flight: 0,
            lost: 0,
        });
        cc.on_ack(at(t + 5000), &s);
        assert_eq!(cc.window(), w);
        assert!(cc.t_epoch > epoch, "the epoch moves past the idle time");
    }

    #[test]
    fn timeout_restarts_from_one_segment_and_grows_from_k_zero() {
        let mut cc = Cubic::new(MSS, 10);
        cc.cwnd = (100 * MSS) as f64;
        cc.on_congestion_event(at(0), CongestionKind::Timeout, 100 * MSS);
        assert_eq!(cc.window(), MSS);
        assert_eq!(cc.ssthresh(), Some(70 * MSS));
        assert!(cc.in_slow_start());
        let mut t = 0;
        while cc.in_slow_start() {
            t = one_rtt(&mut cc, t, 100);
        }
        // The first ACK in congestion avoidance: K = 0, W_max = cwnd_epoch.
        one_rtt(&mut cc, t, 100);
        assert_eq!(cc.k(), 0.0);
        assert!(cc.w_max() >= (70 * MSS) as f64);
    }

    #[test]
    fn hystart_ends_slow_start_without_loss_and_cubic_takes_over() {
        let mut cc = Cubic::new(MSS, 10);
        let mut delivered = 0u64;
        let mut t = 0;
        // Rounds of one window each: 100 ms RTT for two rounds, then 150 ms.
        for round in 0..12 {
            let rtt = if round < 2 { 100 } else { 150 };
            let start = delivered;
            let segs = cc.window() / MSS;
            for _ in 0..segs {
                delivered += MSS as u64;
                let mut s = AckSample::new(MSS);
                s.rtt = Some(Duration::from_millis(rtt));
                s.srtt = s.rtt;
                s.delivered = delivered;
                s.rate = Some(RateSample {
                    prior_delivered: start,
                    delivered: MSS as u64,
                    interval: None,
                    is_app_limited: false,
                    rtt: Duration::from_millis(rtt),
                    newly_lost: 0,
                    tx_in_flight: 0,
                    lost: 0,
                });
                cc.on_ack(at(t), &s);
            }
            t += rtt;
            if !cc.in_slow_start() {
                break;
            }
        }
        assert!(!cc.in_slow_start());
        // ssthresh = cwnd when CSS ended; the rest of that round grew it in
        // congestion avoidance.
        let ss = cc.ssthresh().unwrap();
        assert!(cc.window() >= ss && cc.window() < ss + ss / 20, "{ss}");
        // 10 → 20 → 40 segments in slow start, then CSS at a quarter of the rate
        // (×1.25 per round): far below the 2^12 segments of plain slow start.
        assert!(cc.window() < 200 * MSS, "cwnd {}", cc.window());
        assert_eq!(cc.hystart().phase(), crate::cc::hystart::Phase::Done);
    }

    #[test]
    fn nothing_grows_in_recovery_and_the_full_ack_sets_the_window() {
        let mut cc = after_loss(100);
        let mut s = AckSample::new(10 * MSS);
        s.in_recovery = true;
        cc.on_ack(at(10), &s);
        assert_eq!(cc.window(), 70 * MSS);
        cc.on_recovery_end(at(20), 30 * MSS);
        assert_eq!(cc.window(), 31 * MSS);
        assert!(cc.in_slow_start(), "back to ssthresh in slow start");
    }
}
