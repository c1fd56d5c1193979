//! BBR's network path model and control parameters: packet-timed rounds, the
//! bandwidth estimates, the BDP, the aggregation estimate, the loss- and ECN-driven
//! bounds, and from them the pacing rate, the send quantum and the cwnd.

use super::{
    AckPhase, Bbr, BbrState, ProbeBwPhase, BETA, DRAIN_MAX_ROUNDS, EXTRA_ACKED_FILTER_LEN,
    HEADROOM, LOSS_THRESH, PACING_MARGIN_PERCENT, PROBE_RTT_CWND_GAIN, STARTUP_PACING_GAIN,
};
use crate::cc::AckSample;
use crate::time::{Duration, Instant};

/// What BBR reads of one ACK (the draft's `RS`).
#[derive(Debug, Clone, Copy, Default)]
pub(super) struct Sample {
    /// A packet was delivered (there is a rate sample).
    pub(super) has_data: bool,
    /// `RS.delivery_rate`, bytes per second (0 without an interval).
    pub(super) delivery_rate: u64,
    /// `RS.delivered`.
    pub(super) delivered: u64,
    /// `RS.prior_delivered`.
    pub(super) prior_delivered: u64,
    /// `RS.is_app_limited`.
    pub(super) is_app_limited: bool,
    /// `RS.tx_in_flight`.
    pub(super) tx_in_flight: u64,
    /// `RS.lost`.
    pub(super) lost: u64,
    /// `RS.newly_lost`.
    pub(super) newly_lost: u64,
    /// `RS.newly_acked`.
    pub(super) newly_acked: u64,
    /// `RS.rtt`: the transport's RTT sample (Karn's algorithm or timestamps).
    pub(super) rtt: Option<Duration>,
}

impl Sample {
    pub(super) fn from_ack(s: &AckSample) -> Sample {
        let mut rs = Sample {
            newly_acked: s.newly_acked as u64,
            rtt: s.rtt,
            ..Sample::default()
        };
        if let Some(r) = s.rate {
            rs.has_data = true;
            rs.delivery_rate = r.delivery_rate().unwrap_or(0);
            rs.delivered = r.delivered;
            rs.prior_delivered = r.prior_delivered;
            rs.is_app_limited = r.is_app_limited;
            rs.tx_in_flight = r.tx_in_flight;
            rs.lost = r.lost;
            rs.newly_lost = r.newly_lost;
            // Not the rate sample's RTT: its packet's send state is the last
            // (re)transmission's, and an ACK for the original makes it far too
            // short (Karn's problem); the transport's sample avoids that.
        }
        rs
    }
}

/// `x × gain`, rounded down, saturating.
pub(super) fn scale(x: u64, gain: f64) -> u64 {
    if x == u64::MAX {
        return u64::MAX;
    }
    let v = x as f64 * gain;
    if v >= u64::MAX as f64 {
        u64::MAX
    } else {
        v as u64
    }
}

/// Bytes delivered at `bw` bytes per second over `d`.
pub(super) fn volume(bw: u64, d: Duration) -> u64 {
    let v = u128::from(bw) * d.as_nanos() / 1_000_000_000;
    v.min(u128::from(u64::MAX)) as u64
}

/// The time `bytes` take at `bw` bytes per second.
#[cfg(test)]
pub(super) fn duration_for(bytes: u64, bw: u64) -> Duration {
    let ns = u128::from(bytes) * 1_000_000_000 / u128::from(bw.max(1));
    Duration::from_nanos(ns.min(u128::from(u64::MAX)) as u64)
}

impl Bbr {
    /// `BBRUpdateModelAndState`.
    //= https://datatracker.ietf.org/doc/html/draft-ietf-ccwg-bbr-06#section-5.2.3
    pub(super) fn update_model_and_state(&mut self, now: Instant, s: &AckSample, rs: &Sample) {
        self.update_latest_delivery_signals(rs);
        self.update_congestion_signals(rs);
        self.update_ack_aggregation(now, rs);
        self.check_full_bw_reached(rs);
        self.check_startup_done(s, rs);
        self.check_drain_done(now);
        self.update_probe_bw_cycle_phase(now, rs);
        self.rtt.update(now, rs.rtt);
        self.check_probe_rtt(now, rs);
        self.advance_latest_delivery_signals(rs);
        self.bound_bw_for_model();
    }

    /// `BBRUpdateControlParameters`.
    pub(super) fn update_control_parameters(&mut self, s: &AckSample, rs: &Sample) {
        let _ = s;
        self.set_pacing_rate();
        self.set_send_quantum();
        self.set_cwnd(rs);
    }

    // --- rounds ---

    /// `BBRUpdateRound`: a round ends when a packet sent after its start is
    /// delivered.
    //= https://datatracker.ietf.org/doc/html/draft-ietf-ccwg-bbr-06#section-5.5.1
    fn update_round(&mut self, rs: &Sample) {
        if rs.has_data && rs.prior_delivered >= self.next_round_delivered {
            self.start_round();
            self.round_count += 1;
            self.rounds_since_bw_probe += 1;
            self.round_start = true;
            self.is_cwnd_limited = self.cwnd_limited_this_round;
            self.cwnd_limited_this_round = false;
            if self.packet_conservation && self.delivered >= self.conservation_round_end {
                // A round of packet conservation in recovery is over.
                self.packet_conservation = false;
            }
            if self.restore_after_timeout {
                // A round delivered since the timeout: the repair is through.
                self.restore_after_timeout = false;
                self.restore_cwnd();
            }
        } else {
            self.round_start = false;
        }
    }

    /// `BBRStartRound`.
    pub(super) fn start_round(&mut self) {
        self.next_round_delivered = self.delivered;
    }

    // --- bandwidth ---

    /// `BBRUpdateMaxBw`.
    //= https://datatracker.ietf.org/doc/html/draft-ietf-ccwg-bbr-06#section-5.5.5
    fn update_max_bw(&mut self, rs: &Sample) {
        self.update_round(rs);
        if rs.has_data
            && rs.delivery_rate > 0
            && (rs.delivery_rate >= self.max_bw || !rs.is_app_limited)
        {
            self.max_bw_filter.update(rs.delivery_rate);
            self.max_bw = self.max_bw_filter.get();
        }
    }

    /// `BBRAdvanceMaxBwFilter`.
    pub(super) fn advance_max_bw_filter(&mut self) {
        self.max_bw_filter.advance();
        self.max_bw = self.max_bw_filter.get();
    }

    /// `BBRUpdateLatestDeliverySignals`.
    //= https://datatracker.ietf.org/doc/html/draft-ietf-ccwg-bbr-06#section-5.5.10
    fn update_latest_delivery_signals(&mut self, rs: &Sample) {
        self.loss_round_start = false;
        if !rs.has_data {
            return;
        }
        self.bw_latest = self.bw_latest.max(rs.delivery_rate);
        self.inflight_latest = self.inflight_latest.max(rs.delivered);
        if rs.prior_delivered >= self.loss_round_delivered {
            self.delivered_last_round = self.delivered.saturating_sub(self.loss_round_delivered);
            self.loss_round_delivered = self.delivered;
            self.loss_round_start = true;
        }
    }

    /// `BBRAdvanceLatestDeliverySignals`.
    fn advance_latest_delivery_signals(&mut self, rs: &Sample) {
        if self.loss_round_start {
            self.bw_latest = rs.delivery_rate;
            self.inflight_latest = rs.delivered;
        }
    }

    /// `BBRUpdateCongestionSignals`.
    fn update_congestion_signals(&mut self, rs: &Sample) {
        self.update_max_bw(rs);
        if rs.newly_lost > 0 {
            self.loss_in_round = true;
            self.lost_in_round = self.lost_in_round.saturating_add(rs.newly_lost);
        }
        if !self.loss_round_start {
            return;
        }
        self.adapt_lower_bounds_from_congestion();
        self.lost_last_round = self.lost_in_round;
        self.loss_in_round = false;
        self.lost_in_round = 0;
        self.timeout_in_round = false;
        self.ecn_in_round = false;
    }

    /// Whether the round that just ended lost clearly more than `LossThresh` of
    /// what it sent, or met a retransmission timeout.
    ///
    /// What it sent is what it delivered plus what it lost, and at least one BDP
    /// at `max_bw`: the ACK of a retransmission (its send state is recent) ends a
    /// loss round early, and RACK finds the losses of a whole flight at once, so a
    /// short round would read a flight's losses against a fraction of it. (At the
    /// model's own `bw` the floor would shrink with every cut and make the next
    /// one likelier.)
    ///
    /// "Clearly": the losses must exceed `LossThresh` by two standard deviations
    /// of a round's random loss count at that rate (Poisson, in segments). A
    /// round of 400 segments at 1 % random loss loses 4 on average, and more
    /// than 2 % (8) in one round in fifty by Poisson, in one in five to ten in
    /// the simulator's traces (rounds vary in length, and RACK reports losses in
    /// batches); each such cut set `bw_shortterm` to the last round's delivery
    /// rate, ~2.5 % below the model. With the margin (8 + 2·√8 ≈ 14 segments)
    /// it is about one round in fifty thousand by Poisson, while an overflowing
    /// queue loses tens of segments a round and still cuts.
    fn round_loss_too_high(&self) -> bool {
        self.timeout_in_round || self.round_lost_too_much(self.lost_in_round)
    }

    /// Whether `lost` bytes lost in the loss round that just ended are clearly
    /// more than `LossThresh` of what it sent (see `round_loss_too_high`).
    pub(super) fn round_lost_too_much(&self, lost: u64) -> bool {
        let sent = self
            .delivered_last_round
            .saturating_add(lost)
            .max(self.bdp_multiple(self.max_bw, 1.0));
        let allowed = sent as f64 * LOSS_THRESH;
        let noise = 2.0 * (allowed * self.mss as f64).sqrt();
        lost as f64 > allowed + noise
    }

    /// `BBRAdaptLowerBoundsFromCongestion`: after a round with loss (or CE marks)
    /// outside a bandwidth probe, the short-term bounds shrink by `Beta`, but never
    /// below what the last round delivered.
    fn adapt_lower_bounds_from_congestion(&mut self) {
        if self.is_probing_bw() {
            return;
        }
        // Deliberately not the draft's "any loss in the round": only a round
        // whose loss rate clearly exceeds LossThresh (2 %), the rate the draft
        // already tolerates while probing (IsInflightTooHigh); "clearly" is
        // two standard deviations of a round's random loss count (see
        // `round_loss_too_high`). Random loss below it (a lossy radio link,
        // 1 % in the test) is not congestion, and cutting bw_shortterm
        // to max(bw_latest, 0.7 bw_shortterm) on such a round slides the model
        // down: bw_latest is the last round's delivery rate, itself below the
        // pacing rate by the loss rate and the pacing margin, so each such cut
        // costs ~2-3 % until the next probe or ProbeRTT resets the bounds.
        let lossy = self.loss_in_round && self.round_loss_too_high();
        if lossy || self.ecn_in_round {
            self.init_lower_bounds();
            self.loss_lower_bounds();
        }
    }

    /// `BBRInitLowerBounds`.
    fn init_lower_bounds(&mut self) {
        if self.bw_shortterm == u64::MAX {
            self.bw_shortterm = self.max_bw;
        }
        if self.inflight_shortterm == u64::MAX {
            self.inflight_shortterm = self.cwnd as u64;
        }
    }

    /// `BBRLossLowerBounds`.
    fn loss_lower_bounds(&mut self) {
        self.bw_shortterm = self.bw_latest.max(scale(self.bw_shortterm, BETA));
        self.inflight_shortterm = self
            .inflight_latest
            .max(scale(self.inflight_shortterm, BETA));
    }

    /// `BBRResetShortTermModel`.
    pub(super) fn reset_short_term_model(&mut self) {
        self.bw_shortterm = u64::MAX;
        self.inflight_shortterm = u64::MAX;
    }

    /// `BBRResetCongestionSignals`.
    pub(super) fn reset_congestion_signals(&mut self) {
        self.loss_in_round = false;
        self.lost_in_round = 0;
        self.timeout_in_round = false;
        self.ecn_in_round = false;
        self.bw_latest = 0;
        self.inflight_latest = 0;
    }

    /// `BBRBoundBWForModel`.
    fn bound_bw_for_model(&mut self) {
        self.bw = self.max_bw.min(self.bw_shortterm);
    }

    /// Startup, ProbeBW_REFILL and ProbeBW_UP probe for bandwidth.
    pub(super) fn is_probing_bw(&self) -> bool {
        matches!(
            self.state,
            BbrState::Startup
                | BbrState::ProbeBw(ProbeBwPhase::Refill)
                | BbrState::ProbeBw(ProbeBwPhase::Up)
        )
    }

    // --- volume ---

    /// `BBRUpdateACKAggregation`: how much more was acknowledged than the
    /// bandwidth estimate explains, over a window of 10 rounds.
    //= https://datatracker.ietf.org/doc/html/draft-ietf-ccwg-bbr-06#section-5.5.9
    fn update_ack_aggregation(&mut self, now: Instant, rs: &Sample) {
        let start = *self.extra_acked_interval_start.get_or_insert(now);
        let mut expected = volume(self.bw, now.saturating_duration_since(start));
        if self.extra_acked_delivered <= expected {
            self.extra_acked_delivered = 0;
            self.extra_acked_interval_start = Some(now);
            expected = 0;
        }
        self.extra_acked_delivered = self.extra_acked_delivered.saturating_add(rs.newly_acked);
        let extra = self
            .extra_acked_delivered
            .saturating_sub(expected)
            .min(self.cwnd as u64);
        let win = if self.full_bw_reached {
            EXTRA_ACKED_FILTER_LEN
        } else {
            1
        };
        self.extra_acked = self.extra_acked_filter.update(win, self.round_count, extra);
    }

    /// `BBRBDPMultiple`: `gain × bw × min_rtt`, the initial window before an RTT.
    pub(super) fn bdp_multiple(&self, bw: u64, gain: f64) -> u64 {
        match self.rtt.min_rtt {
            None => self.initial_cwnd as u64,
            Some(min_rtt) => scale(volume(bw, min_rtt), gain),
        }
    }

    /// `BBRQuantizationBudget`: room for the offload budget, `MinPipeCwnd`, and
    /// in ProbeBW_UP two more segments.
    //= https://datatracker.ietf.org/doc/html/draft-ietf-ccwg-bbr-06#section-5.5.8
    pub(super) fn quantization_budget(&self, inflight: u64) -> u64 {
        let offload_budget = 3 * self.send_quantum as u64;
        let mut inflight = inflight.max(offload_budget).max(self.min_pipe_cwnd());
        if self.state == BbrState::ProbeBw(ProbeBwPhase::Up) {
            inflight = inflight.saturating_add(2 * self.mss as u64);
        }
        inflight
    }

    /// `BBRInflight(bw, gain)`.
    pub(super) fn inflight_at(&self, bw: u64, gain: f64) -> u64 {
        self.quantization_budget(self.bdp_multiple(bw, gain))
    }

    /// `BBRUpdateMaxInflight`.
    fn update_max_inflight(&mut self) {
        let inflight = self
            .bdp_multiple(self.bw, self.cwnd_gain)
            .saturating_add(self.extra_acked);
        self.max_inflight = self.quantization_budget(inflight);
    }

    /// `BBRInflightWithHeadroom`: `inflight_longterm` less the headroom left for
    /// other flows.
    pub(super) fn inflight_with_headroom(&self) -> u64 {
        if self.inflight_longterm == u64::MAX {
            return u64::MAX;
        }
        let headroom = (self.mss as u64).max(scale(self.inflight_longterm, HEADROOM));
        self.inflight_longterm
            .saturating_sub(headroom)
            .max(self.min_pipe_cwnd())
    }

    /// `BBRTargetInflight`.
    pub(super) fn target_inflight(&self) -> u64 {
        self.bdp_multiple(self.bw, 1.0).min(self.cwnd as u64)
    }

    /// `BBRProbeRTTCwnd`.
    pub(super) fn probe_rtt_cwnd(&self) -> u64 {
        self.bdp_multiple(self.bw, PROBE_RTT_CWND_GAIN)
            .max(self.min_pipe_cwnd())
    }

    // --- controls ---

    /// `BBRInitPacingRate`: the initial window over the smoothed RTT (1 ms before
    /// there is one), times the Startup gain.
    //= https://datatracker.ietf.org/doc/html/draft-ietf-ccwg-bbr-06#section-5.6.2
    pub(super) fn init_pacing_rate(&mut self, srtt: Option<Duration>) {
        let rtt = srtt
            .filter(|d| !d.is_zero())
            .unwrap_or(Duration::from_millis(1));
        let nominal = u128::from(self.initial_cwnd as u64) * 1_000_000_000 / rtt.as_nanos().max(1);
        let nominal = nominal.min(u128::from(u64::MAX)) as u64;
        self.pacing_rate = scale(nominal, STARTUP_PACING_GAIN);
    }

    /// `BBRSetPacingRateWithGain`: never lowered before the pipe was full.
    pub(super) fn set_pacing_rate_with_gain(&mut self, gain: f64) {
        let rate = scale(self.bw, gain) / 100 * (100 - PACING_MARGIN_PERCENT);
        if rate > 0 && (self.full_bw_reached || rate > self.pacing_rate) {
            self.pacing_rate = rate;
        }
    }

    fn set_pacing_rate(&mut self) {
        self.set_pacing_rate_with_gain(self.pacing_gain);
    }

    /// `BBRSetSendQuantum`: a millisecond at the pacing rate, between two segments
    /// and 64 KiB.
    //= https://datatracker.ietf.org/doc/html/draft-ietf-ccwg-bbr-06#section-5.6.3
    fn set_send_quantum(&mut self) {
        let q = (self.pacing_rate / 1000).min(64 * 1024) as usize;
        self.send_quantum = q.max(2 * self.mss);
    }

    /// `BBRSetCwnd`.
    //= https://datatracker.ietf.org/doc/html/draft-ietf-ccwg-bbr-06#section-5.6.4
    fn set_cwnd(&mut self, rs: &Sample) {
        self.update_max_inflight();
        self.modulate_cwnd_for_recovery(rs);
        let mut cwnd = self.cwnd as u64;
        if !self.packet_conservation {
            if self.full_bw_reached {
                cwnd = cwnd.saturating_add(rs.newly_acked).min(self.max_inflight);
            } else if cwnd < self.max_inflight || self.delivered < self.initial_cwnd as u64 {
                cwnd = cwnd.saturating_add(rs.newly_acked);
            }
            cwnd = cwnd.max(self.min_pipe_cwnd());
        }
        self.cwnd = usize::try_from(cwnd).unwrap_or(usize::MAX);
        self.bound_cwnd_for_probe_rtt();
        self.bound_cwnd_for_model();
    }

    /// `BBRModulateCwndForRecovery`.
    //= https://datatracker.ietf.org/doc/html/draft-ietf-ccwg-bbr-06#section-5.6.4
    fn modulate_cwnd_for_recovery(&mut self, rs: &Sample) {
        if rs.newly_lost > 0 {
            self.cwnd = self
                .cwnd
                .saturating_sub(rs.newly_lost as usize)
                .max(self.mss);
        }
        if self.packet_conservation {
            let floor = self.inflight.saturating_add(rs.newly_acked) as usize;
            self.cwnd = self.cwnd.max(floor);
        }
    }

    /// `BBRBoundCwndForProbeRTT`.
    //= https://datatracker.ietf.org/doc/html/draft-ietf-ccwg-bbr-06#section-5.6.4
    fn bound_cwnd_for_probe_rtt(&mut self) {
        if self.state == BbrState::ProbeRtt {
            let cap = usize::try_from(self.probe_rtt_cwnd()).unwrap_or(usize::MAX);
            self.cwnd = self.cwnd.min(cap);
        }
    }

    /// `BBRBoundCwndForModel`: `inflight_longterm` while probing in ProbeBW, the
    /// headroom below it in CRUISE and ProbeRTT, and `inflight_shortterm` always.
    //= https://datatracker.ietf.org/doc/html/draft-ietf-ccwg-bbr-06#section-5.6.4
    fn bound_cwnd_for_model(&mut self) {
        let cap = match self.state {
            BbrState::ProbeBw(ProbeBwPhase::Cruise) | BbrState::ProbeRtt => {
                self.inflight_with_headroom()
            }
            BbrState::ProbeBw(_) => self.inflight_longterm,
            _ => u64::MAX,
        };
        let cap = cap.min(self.inflight_shortterm).max(self.min_pipe_cwnd());
        self.cwnd = self.cwnd.min(usize::try_from(cap).unwrap_or(usize::MAX));
    }

    // --- congestion events ---

    /// A fast recovery begins: packet conservation for a round, the window saved
    /// to restore afterwards.
    //= https://datatracker.ietf.org/doc/html/draft-ietf-ccwg-bbr-06#section-5.6.4
    pub(super) fn on_enter_fast_recovery(&mut self) {
        self.save_cwnd();
        let floor = self.inflight.saturating_add(self.mss as u64) as usize;
        self.cwnd = floor.max(self.min_pipe_cwnd() as usize);
        self.packet_conservation = true;
        self.in_recovery = true;
        self.conservation_round_end = self.delivered.saturating_add(self.inflight);
        self.loss_in_round = true;
    }

    /// The recovery is over: the window saved at its start comes back.
    pub(super) fn on_exit_recovery(&mut self) {
        self.in_recovery = false;
        self.packet_conservation = false;
        self.restore_cwnd();
    }

    /// The last loss response proved spurious (the transport's undo, RFC 3522 or
    /// RFC 2883): the recovery, or the timeout's restart from one segment, is
    /// over, and the window saved when it began comes back (Linux's
    /// `bbr_undo_cwnd` returns that window too). The model keeps what it learned.
    pub(super) fn on_spurious_loss_response(&mut self) {
        self.in_recovery = false;
        self.packet_conservation = false;
        self.restore_after_timeout = false;
        self.restore_cwnd();
    }

    /// A retransmission timeout: everything in flight is presumed lost; the window
    /// restarts from one segment and the saved window comes back a round later.
    pub(super) fn on_timeout(&mut self) {
        self.save_cwnd();
        self.cwnd = self.mss;
        self.packet_conservation = false;
        self.restore_after_timeout = true;
        self.loss_in_round = true;
        self.timeout_in_round = true;
        // The next round is measured from what is delivered from now on.
        self.start_round();
    }

    /// An ECN echo: CE marks count as congestion (draft section 3.7). In Startup
    /// the queue has built: the pipe is full. While probing up, the probe went too
    /// high. Otherwise the short-term bounds shrink at the round's end.
    //= https://datatracker.ietf.org/doc/html/draft-ietf-ccwg-bbr-06#section-3.7
    pub(super) fn on_ecn(&mut self) {
        self.ecn_in_round = true;
        match self.state {
            BbrState::Startup => {
                self.inflight_longterm = self
                    .bdp_multiple(self.bw.max(self.max_bw), 1.0)
                    .max(self.inflight_latest);
                self.full_bw_reached = true;
                self.enter_drain();
            }
            BbrState::ProbeBw(ProbeBwPhase::Up) => {
                self.inflight_longterm = self
                    .inflight
                    .max(scale(self.target_inflight(), BETA))
                    .max(self.min_pipe_cwnd());
                self.start_probe_bw_down(None);
            }
            _ => {}
        }
    }

    /// `BBRSaveCwnd`.
    pub(super) fn save_cwnd(&mut self) {
        self.prior_cwnd = if !self.in_recovery && self.state != BbrState::ProbeRtt {
            self.cwnd
        } else {
            self.prior_cwnd.max(self.cwnd)
        };
    }

    /// `BBRRestoreCwnd`.
    pub(super) fn restore_cwnd(&mut self) {
        self.cwnd = self.cwnd.max(self.prior_cwnd);
    }

    /// `BBRHandleRestartFromIdle`: sending again after an idle period, pace at the
    /// estimated bandwidth rather than above it.
    //= https://datatracker.ietf.org/doc/html/draft-ietf-ccwg-bbr-06#section-5.4.1
    pub(super) fn handle_restart_from_idle(&mut self, now: Instant, bytes_in_flight: usize) {
        if bytes_in_flight != 0 || self.delivered == 0 {
            return;
        }
        self.idle_restart = true;
        self.extra_acked_interval_start = Some(now);
        if matches!(self.state, BbrState::ProbeBw(_)) {
            self.set_pacing_rate_with_gain(1.0);
        } else if self.state == BbrState::ProbeRtt {
            self.check_probe_rtt_done(now);
        }
    }

    /// Drain lasted long enough.
    pub(super) fn drain_timed_out(&self) -> bool {
        self.round_count > self.drain_start_round + DRAIN_MAX_ROUNDS
    }

    /// `BBRIsInflightTooHigh`: the sample's flight lost more than `LossThresh`.
    //= https://datatracker.ietf.org/doc/html/draft-ietf-ccwg-bbr-06#section-5.5.10.2
    pub(super) fn is_inflight_too_high(rs: &Sample) -> bool {
        rs.lost as f64 > rs.tx_in_flight as f64 * LOSS_THRESH
    }

    /// Whether the ACKs report on a bandwidth probe.
    pub(super) fn ack_phase_is(&self, p: AckPhase) -> bool {
        self.ack_phase == p
    }
}
