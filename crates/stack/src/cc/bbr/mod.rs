//! BBR, version 3 (draft-ietf-ccwg-bbr-06): a model-based controller that paces at
//! its estimate of the bottleneck bandwidth and bounds the data in flight by the
//! estimated bandwidth-delay product, instead of reacting to loss alone.
//!
//! - [`filters`]: the max-bandwidth filter (two ProbeBW cycles), the windowed max of
//!   the aggregation estimate, the min-RTT filters;
//! - [`model`]: the network path model: rounds, bandwidth, BDP, `extra_acked`, the
//!   loss- and ECN-driven bounds (`inflight_longterm`/`inflight_shortterm`, called
//!   `inflight_hi`/`inflight_lo` in earlier versions, and `bw_shortterm`), and the
//!   control outputs (pacing rate, send quantum, cwnd);
//! - [`state`]: the state machine: Startup, Drain, ProbeBW (DOWN, CRUISE, REFILL,
//!   UP) and ProbeRTT.
//!
//! # How it meets the transport
//!
//! Byte-based, driven through [`CongestionControl`]. Each [`AckSample`] carries the
//! rate sample of the delivery-rate estimator (draft section 4.1), with
//! `RS.tx_in_flight` and `RS.lost` for the loss-rate checks; the transport counts
//! a segment lost when it resends it, and SACKed data delivered when it is SACKed.
//! BBR sets the window during a recovery too
//! ([`CongestionControl::controls_recovery_window`]): packet conservation for the
//! first round (`inflight + newly_acked`, draft section 5.6.4), then its model;
//! the transport still chooses what to resend (RFC 6675). ECN: the draft
//! specifies no particular response but requires CE marks to count as congestion
//! (section 3.7); here an ECN echo counts like a loss round for the short-term
//! bounds, ends Startup, and ends a ProbeBW_UP probe.

pub mod filters;
pub mod model;
pub mod state;
#[cfg(test)]
mod tests;

use super::{AckSample, CcAlgorithm, CcModel, CcParams, CongestionControl, CongestionKind};
use crate::time::{Duration, Instant};
use filters::{MaxBwFilter, MinRttFilter, WindowedMax};
pub use state::{BbrState, ProbeBwPhase};

//= https://datatracker.ietf.org/doc/html/draft-ietf-ccwg-bbr-06#section-2.5
/// `BBR.StartupPacingGain`: 4 ln 2, the least that doubles the rate each round.
pub const STARTUP_PACING_GAIN: f64 = 2.77;
/// `BBR.DrainPacingGain`.
pub const DRAIN_PACING_GAIN: f64 = 0.5;
/// `BBR.PacingMarginPercent`: pace 1 % below the estimated bandwidth.
pub const PACING_MARGIN_PERCENT: u64 = 1;
//= https://datatracker.ietf.org/doc/html/draft-ietf-ccwg-bbr-06#section-2.6
/// `BBR.DefaultCwndGain`.
pub const DEFAULT_CWND_GAIN: f64 = 2.0;
/// The cwnd gain of ProbeBW_UP.
pub const PROBE_UP_CWND_GAIN: f64 = 2.25;
/// The pacing gains of ProbeBW_DOWN and ProbeBW_UP.
//= https://datatracker.ietf.org/doc/html/draft-ietf-ccwg-bbr-06#section-5.3.3
pub const PROBE_DOWN_PACING_GAIN: f64 = 0.9;
/// The pacing gain of ProbeBW_UP.
pub const PROBE_UP_PACING_GAIN: f64 = 1.25;
//= https://datatracker.ietf.org/doc/html/draft-ietf-ccwg-bbr-06#section-2.8
/// `BBR.LossThresh`: the loss rate per round trip tolerated while probing, 2 %.
pub const LOSS_THRESH: f64 = 0.02;
/// `BBR.Beta`: the multiplicative decrease per round with loss.
pub const BETA: f64 = 0.7;
/// `BBR.Headroom`: the share of `inflight_longterm` left free for others.
pub const HEADROOM: f64 = 0.15;
/// `BBR.MinPipeCwnd`, in segments.
pub const MIN_PIPE_CWND_SEGMENTS: usize = 4;
//= https://datatracker.ietf.org/doc/html/draft-ietf-ccwg-bbr-06#section-2.13
/// Rounds without 25 % bandwidth growth after which the pipe is full.
pub const FULL_BW_COUNT: u32 = 3;
/// The growth that counts as growth.
pub const FULL_BW_THRESH: f64 = 1.25;
/// Lost segments in a round of Startup that, with a loss rate clearly above
/// [`LOSS_THRESH`], end Startup (`BBR.StartupFullLossCnt`; the draft counts
/// discontiguous lost ranges, which the transport does not report).
pub const STARTUP_FULL_LOSS_COUNT: u32 = 6;
//= https://datatracker.ietf.org/doc/html/draft-ietf-ccwg-bbr-06#section-2.12
/// `BBR.ExtraAckedFilterLen`, rounds.
pub const EXTRA_ACKED_FILTER_LEN: u64 = 10;
//= https://datatracker.ietf.org/doc/html/draft-ietf-ccwg-bbr-06#section-2.16.2
/// `BBR.ProbeRTTCwndGain`.
pub const PROBE_RTT_CWND_GAIN: f64 = 0.5;
/// `BBR.ProbeRTTDuration`.
pub const PROBE_RTT_DURATION: Duration = Duration::from_millis(200);
/// Drain ends after this many rounds even if the estimated queue is not drained.
pub const DRAIN_MAX_ROUNDS: u64 = 3;
/// The shortest wait between bandwidth probes, plus up to one more second at random.
pub const PROBE_WAIT_BASE: Duration = Duration::from_secs(2);
/// The most rounds between bandwidth probes for Reno coexistence.
pub const MAX_RENO_ROUNDS: u64 = 63;

/// Where the ACKs stand with respect to a bandwidth probe (`BBR.ack_phase`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AckPhase {
    /// Not probing; no probe feedback.
    Init,
    /// Sending at the estimated bandwidth to fill the pipe.
    Refilling,
    /// In flight rising to probe.
    ProbeStarting,
    /// Feedback from the probe arriving.
    ProbeFeedback,
    /// The probe stopped; its feedback still arriving.
    ProbeStopping,
}

/// BBRv3's state: the model, the state machine and the control outputs.
#[derive(Debug, Clone)]
pub struct Bbr {
    // --- connection parameters ---
    pub(super) mss: usize,
    pub(super) initial_cwnd: usize,
    /// A xorshift state for the probe timing, seeded by the transport.
    pub(super) rng: u64,

    // --- outputs ---
    pub(super) cwnd: usize,
    pub(super) pacing_rate: u64,
    pub(super) send_quantum: usize,

    // --- state machine ---
    pub(super) state: BbrState,
    pub(super) pacing_gain: f64,
    pub(super) cwnd_gain: f64,
    pub(super) drain_start_round: u64,

    // --- rounds ---
    pub(super) delivered: u64,
    pub(super) round_count: u64,
    pub(super) round_start: bool,
    pub(super) next_round_delivered: u64,

    // --- bandwidth ---
    pub(super) max_bw_filter: MaxBwFilter,
    pub(super) max_bw: u64,
    pub(super) bw_shortterm: u64,
    pub(super) bw: u64,
    pub(super) bw_latest: u64,
    pub(super) inflight_latest: u64,

    // --- volume ---
    pub(super) rtt: MinRttFilter,
    pub(super) extra_acked: u64,
    pub(super) extra_acked_filter: WindowedMax,
    pub(super) extra_acked_interval_start: Option<Instant>,
    pub(super) extra_acked_delivered: u64,
    pub(super) max_inflight: u64,
    pub(super) inflight_longterm: u64,
    pub(super) inflight_shortterm: u64,

    // --- congestion signals ---
    pub(super) loss_round_delivered: u64,
    pub(super) loss_round_start: bool,
    pub(super) loss_in_round: bool,
    /// Bytes newly lost in this loss round, and delivered in the last one (the
    /// loss rate that decides whether a round was lossy; see
    /// `adapt_lower_bounds_from_congestion`).
    pub(super) lost_in_round: u64,
    pub(super) delivered_last_round: u64,
    /// Bytes newly lost in the last complete loss round (for Startup's
    /// high-loss exit, which runs after the round's counters are reset).
    pub(super) lost_last_round: u64,
    /// A retransmission timeout in this round: lossy whatever the rate.
    pub(super) timeout_in_round: bool,
    pub(super) loss_events_in_round: u32,
    pub(super) ecn_in_round: bool,

    // --- Startup ---
    pub(super) full_bw_reached: bool,
    pub(super) full_bw_now: bool,
    pub(super) full_bw: u64,
    pub(super) full_bw_count: u32,

    // --- ProbeBW ---
    pub(super) ack_phase: AckPhase,
    pub(super) bw_probe_samples: bool,
    pub(super) bw_probe_up_rounds: u32,
    pub(super) bw_probe_up_acks: u64,
    pub(super) probe_up_cnt: u64,
    pub(super) rounds_since_bw_probe: u64,
    pub(super) bw_probe_wait: Duration,
    pub(super) cycle_stamp: Instant,
    /// The cycle clock restarts at the next ACK (a phase began without `now`).
    pub(super) cycle_stamp_pending: bool,
    pub(super) is_cwnd_limited: bool,
    pub(super) cwnd_limited_this_round: bool,

    // --- ProbeRTT ---
    pub(super) probe_rtt_done_stamp: Option<Instant>,
    pub(super) probe_rtt_round_done: bool,
    pub(super) prior_cwnd: usize,
    pub(super) idle_restart: bool,

    // --- recovery ---
    pub(super) packet_conservation: bool,
    pub(super) conservation_round_end: u64,
    pub(super) in_recovery: bool,
    pub(super) restore_after_timeout: bool,
    /// Whether an RTT has been seen, to set the initial pacing rate from it once.
    pub(super) has_seen_rtt: bool,
    /// Bytes in flight as of the last ACK or send.
    pub(super) inflight: u64,
}

impl Bbr {
    /// A BBR controller for segments of `mss` bytes and an initial window of
    /// `initial_window` segments, its probe timing drawn from `seed`.
    //= https://datatracker.ietf.org/doc/html/draft-ietf-ccwg-bbr-06#section-5.2.1
    pub fn new(mss: usize, initial_window: u32, seed: u64) -> Bbr {
        let mss = mss.max(1);
        let initial_cwnd = mss.saturating_mul(initial_window.max(1) as usize);
        let now = Instant::ZERO;
        let mut bbr = Bbr {
            mss,
            initial_cwnd,
            rng: seed | 1,
            cwnd: initial_cwnd,
            pacing_rate: 0,
            send_quantum: 2 * mss,
            state: BbrState::Startup,
            pacing_gain: STARTUP_PACING_GAIN,
            cwnd_gain: DEFAULT_CWND_GAIN,
            drain_start_round: 0,
            delivered: 0,
            round_count: 0,
            round_start: false,
            next_round_delivered: 0,
            max_bw_filter: MaxBwFilter::default(),
            max_bw: 0,
            bw_shortterm: u64::MAX,
            bw: 0,
            bw_latest: 0,
            inflight_latest: 0,
            rtt: MinRttFilter::new(now),
            extra_acked: 0,
            extra_acked_filter: WindowedMax::default(),
            extra_acked_interval_start: None,
            extra_acked_delivered: 0,
            max_inflight: 0,
            inflight_longterm: u64::MAX,
            inflight_shortterm: u64::MAX,
            loss_round_delivered: 0,
            loss_round_start: false,
            loss_in_round: false,
            lost_in_round: 0,
            delivered_last_round: 0,
            lost_last_round: 0,
            timeout_in_round: false,
            loss_events_in_round: 0,
            ecn_in_round: false,
            full_bw_reached: false,
            full_bw_now: false,
            full_bw: 0,
            full_bw_count: 0,
            ack_phase: AckPhase::Init,
            bw_probe_samples: false,
            bw_probe_up_rounds: 0,
            bw_probe_up_acks: 0,
            probe_up_cnt: u64::MAX,
            rounds_since_bw_probe: 0,
            bw_probe_wait: PROBE_WAIT_BASE,
            cycle_stamp: now,
            cycle_stamp_pending: false,
            is_cwnd_limited: false,
            cwnd_limited_this_round: false,
            probe_rtt_done_stamp: None,
            probe_rtt_round_done: false,
            prior_cwnd: 0,
            idle_restart: false,
            packet_conservation: false,
            conservation_round_end: 0,
            in_recovery: false,
            restore_after_timeout: false,
            has_seen_rtt: false,
            inflight: 0,
        };
        bbr.init_pacing_rate(None);
        bbr.enter_startup();
        bbr
    }

    /// The state (`BBR.state`).
    pub fn state(&self) -> BbrState {
        self.state
    }

    /// `BBR.max_bw`, bytes per second.
    pub fn max_bw(&self) -> u64 {
        self.max_bw
    }

    /// `BBR.bw`, the bandwidth the controls use, bytes per second.
    pub fn bw(&self) -> u64 {
        self.bw
    }

    /// `BBR.min_rtt`, once measured.
    pub fn min_rtt(&self) -> Option<Duration> {
        self.rtt.min_rtt
    }

    /// `BBR.inflight_longterm` (`None` while unbounded).
    pub fn inflight_longterm(&self) -> Option<u64> {
        (self.inflight_longterm != u64::MAX).then_some(self.inflight_longterm)
    }

    /// `BBR.inflight_shortterm` (`None` while unbounded).
    pub fn inflight_shortterm(&self) -> Option<u64> {
        (self.inflight_shortterm != u64::MAX).then_some(self.inflight_shortterm)
    }

    /// `BBR.full_bw_reached`.
    pub fn full_bw_reached(&self) -> bool {
        self.full_bw_reached
    }

    /// The pacing gain now.
    pub fn pacing_gain(&self) -> f64 {
        self.pacing_gain
    }

    /// The cwnd gain now.
    pub fn cwnd_gain(&self) -> f64 {
        self.cwnd_gain
    }

    /// `C.send_quantum`, bytes.
    pub fn send_quantum(&self) -> usize {
        self.send_quantum
    }

    /// `BBR.MinPipeCwnd` in bytes.
    pub(super) fn min_pipe_cwnd(&self) -> u64 {
        (MIN_PIPE_CWND_SEGMENTS * self.mss) as u64
    }

    /// A uniform draw in [0, 1).
    pub(super) fn random_unit(&mut self) -> f64 {
        // xorshift64*: determined by the seed, as the sans-IO stack requires.
        let mut x = self.rng;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.rng = x;
        (x.wrapping_mul(0x2545_f491_4f6c_dd1d) >> 11) as f64 / (1u64 << 53) as f64
    }

    /// The per-ACK steps (`BBRUpdateOnACK`).
    //= https://datatracker.ietf.org/doc/html/draft-ietf-ccwg-bbr-06#section-5.2.3
    fn update_on_ack(&mut self, now: Instant, s: &AckSample) {
        self.delivered = s.delivered;
        self.inflight = s.bytes_in_flight as u64;
        if !self.has_seen_rtt {
            if let Some(srtt) = s.srtt {
                self.has_seen_rtt = true;
                self.init_pacing_rate(Some(srtt));
            }
        }
        let rs = model::Sample::from_ack(s);
        self.update_model_and_state(now, s, &rs);
        self.update_control_parameters(s, &rs);
    }
}

impl CongestionControl for Bbr {
    fn renew(&mut self, algorithm: CcAlgorithm, params: &CcParams) -> bool {
        if algorithm != CcAlgorithm::Bbr {
            return false;
        }
        *self = Bbr::new(params.mss, params.initial_window, params.seed);
        true
    }

    fn name(&self) -> &'static str {
        "bbr"
    }

    fn window(&self) -> usize {
        self.cwnd
    }

    fn ssthresh(&self) -> Option<usize> {
        None
    }

    fn in_slow_start(&self) -> bool {
        self.state == BbrState::Startup
    }

    fn pacing_rate(&self) -> Option<u64> {
        Some(self.pacing_rate.max(1))
    }

    fn controls_recovery_window(&self) -> bool {
        true
    }

    fn model(&self) -> Option<CcModel> {
        Some(CcModel {
            mode: self.state.name(),
            bandwidth: self.bw,
            max_bandwidth: self.max_bw,
            min_rtt: self.rtt.min_rtt,
            pacing_gain_percent: (self.pacing_gain * 100.0).round() as u32,
            cwnd_gain_percent: (self.cwnd_gain * 100.0).round() as u32,
        })
    }

    //= https://datatracker.ietf.org/doc/html/draft-ietf-ccwg-bbr-06#section-5.2.2
    fn on_sent(&mut self, now: Instant, bytes: usize, bytes_in_flight: usize) {
        self.handle_restart_from_idle(now, bytes_in_flight);
        // (`inflight` stays the last ACK's: the transport's count here includes
        // SACKed bytes, which the window is not measured against in a recovery.)
        let after = bytes_in_flight.saturating_add(bytes);
        if after >= self.cwnd {
            self.cwnd_limited_this_round = true;
            self.is_cwnd_limited = true;
        }
    }

    fn on_ack(&mut self, now: Instant, sample: &AckSample) {
        self.update_on_ack(now, sample);
    }

    //= https://datatracker.ietf.org/doc/html/draft-ietf-ccwg-bbr-06#section-5.2.4
    fn on_congestion_event(&mut self, now: Instant, kind: CongestionKind, bytes_in_flight: usize) {
        // `bytes_in_flight` is what was outstanding, SACKed bytes included; the
        // model keeps the last ACK's in-flight count (the pipe).
        let _ = (now, bytes_in_flight);
        match kind {
            CongestionKind::Loss => self.on_enter_fast_recovery(),
            CongestionKind::Ecn => self.on_ecn(),
            CongestionKind::Timeout => self.on_timeout(),
        }
    }

    fn on_recovery_end(&mut self, _now: Instant, _bytes_in_flight: usize) {
        self.on_exit_recovery();
    }

    fn on_spurious_congestion_event(&mut self, _now: Instant) {
        self.on_spurious_loss_response();
    }

    fn on_mtu_update(&mut self, mss: usize) {
        let mss = mss.max(1);
        let segs = (self.cwnd / self.mss).max(1);
        self.cwnd = segs.saturating_mul(mss);
        self.initial_cwnd = (self.initial_cwnd / self.mss).max(1).saturating_mul(mss);
        self.mss = mss;
    }
}
