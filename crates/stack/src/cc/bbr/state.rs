//! BBR's state machine: Startup → Drain → ProbeBW (DOWN → CRUISE → REFILL → UP →
//! DOWN …), and ProbeRTT from any state, back to ProbeBW (or Startup when the pipe
//! was never full).

use super::model::{scale, Sample};
use super::{
    AckPhase, AckSample, Bbr, BETA, DEFAULT_CWND_GAIN, DRAIN_PACING_GAIN, FULL_BW_COUNT,
    FULL_BW_THRESH, MAX_RENO_ROUNDS, PROBE_DOWN_PACING_GAIN, PROBE_RTT_CWND_GAIN,
    PROBE_RTT_DURATION, PROBE_UP_CWND_GAIN, PROBE_UP_PACING_GAIN, PROBE_WAIT_BASE,
    STARTUP_FULL_LOSS_COUNT, STARTUP_PACING_GAIN,
};
use crate::time::{Duration, Instant};

/// The phases of ProbeBW.
//= https://datatracker.ietf.org/doc/html/draft-ietf-ccwg-bbr-06#section-5.3.3
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ProbeBwPhase {
    /// Decelerate: drain the queue a probe built, leave headroom.
    Down,
    /// Cruise at the estimated bandwidth.
    Cruise,
    /// Refill the pipe at the estimated bandwidth for a round before probing.
    Refill,
    /// Accelerate: probe for more bandwidth.
    Up,
}

/// `BBR.state`.
//= https://datatracker.ietf.org/doc/html/draft-ietf-ccwg-bbr-06#section-5.1
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum BbrState {
    /// Ramping up quickly to find the bandwidth.
    Startup,
    /// Draining the queue Startup built.
    Drain,
    /// Steady state: probing and sharing the bandwidth.
    ProbeBw(ProbeBwPhase),
    /// Cutting the flight to re-measure the minimum RTT.
    ProbeRtt,
}

impl BbrState {
    /// The state's name as `ss` shows BBR's mode.
    pub fn name(self) -> &'static str {
        match self {
            BbrState::Startup => "startup",
            BbrState::Drain => "drain",
            BbrState::ProbeBw(ProbeBwPhase::Down) => "probe_bw_down",
            BbrState::ProbeBw(ProbeBwPhase::Cruise) => "probe_bw_cruise",
            BbrState::ProbeBw(ProbeBwPhase::Refill) => "probe_bw_refill",
            BbrState::ProbeBw(ProbeBwPhase::Up) => "probe_bw_up",
            BbrState::ProbeRtt => "probe_rtt",
        }
    }
}

impl Bbr {
    // --- Startup ---

    /// `BBREnterStartup`.
    //= https://datatracker.ietf.org/doc/html/draft-ietf-ccwg-bbr-06#section-5.3.1
    pub(super) fn enter_startup(&mut self) {
        self.state = BbrState::Startup;
        self.pacing_gain = STARTUP_PACING_GAIN;
        self.cwnd_gain = DEFAULT_CWND_GAIN;
    }

    /// `BBRResetFullBW`.
    pub(super) fn reset_full_bw(&mut self) {
        self.full_bw = 0;
        self.full_bw_count = 0;
        self.full_bw_now = false;
    }

    /// `BBRCheckFullBWReached`: three non-app-limited rounds in a row without 25 %
    /// growth of `max_bw` mean the pipe is full.
    //= https://datatracker.ietf.org/doc/html/draft-ietf-ccwg-bbr-06#section-5.3.1
    pub(super) fn check_full_bw_reached(&mut self, rs: &Sample) {
        if self.full_bw_now || !self.round_start || rs.is_app_limited {
            return;
        }
        if self.max_bw as f64 >= self.full_bw as f64 * FULL_BW_THRESH {
            self.reset_full_bw();
            self.full_bw = self.max_bw;
            return;
        }
        self.full_bw_count += 1;
        self.full_bw_now = self.full_bw_count >= FULL_BW_COUNT;
        if self.full_bw_now {
            self.full_bw_reached = true;
        }
    }

    /// `BBRCheckStartupDone`.
    pub(super) fn check_startup_done(&mut self, s: &AckSample, rs: &Sample) {
        self.check_startup_high_loss(s, rs);
        if self.state == BbrState::Startup && self.full_bw_reached {
            self.enter_drain();
        }
    }

    /// `BBRCheckStartupHighLoss`: a round of Startup in recovery whose loss rate
    /// is above `LossThresh` (the round's bytes lost against what it sent, with
    /// the noise margin of `round_lost_too_much`) and that lost at least
    /// `StartupFullLossCnt` segments ends it; `inflight_longterm` becomes the
    /// larger of the BDP and the last round's delivery.
    //= https://datatracker.ietf.org/doc/html/draft-ietf-ccwg-bbr-06#section-5.3.1
    fn check_startup_high_loss(&mut self, s: &AckSample, rs: &Sample) {
        if self.full_bw_reached || self.state != BbrState::Startup {
            return;
        }
        // The draft counts discontiguous lost ranges; the transport reports
        // bytes, and RACK marks a whole flight's losses on one ACK, so counting
        // ACKs saw 1-5 "events" in rounds that lost hundreds of segments to the
        // overshoot. Each lost segment counts (an upper bound on the ranges).
        let lost_segments = rs.newly_lost.div_ceil(self.mss as u64);
        self.loss_events_in_round = self
            .loss_events_in_round
            .saturating_add(u32::try_from(lost_segments).unwrap_or(u32::MAX));
        if self.loss_round_start
            && s.in_recovery
            && self.loss_events_in_round >= STARTUP_FULL_LOSS_COUNT
            && self.round_lost_too_much(self.lost_last_round)
        {
            self.inflight_longterm = self
                .bdp_multiple(self.max_bw, 1.0)
                .max(self.inflight_latest);
            self.full_bw_reached = true;
        }
        if self.loss_round_start {
            self.loss_events_in_round = 0;
        }
    }

    // --- Drain ---

    /// `BBREnterDrain`.
    //= https://datatracker.ietf.org/doc/html/draft-ietf-ccwg-bbr-06#section-5.3.2
    pub(super) fn enter_drain(&mut self) {
        self.state = BbrState::Drain;
        self.pacing_gain = DRAIN_PACING_GAIN;
        self.cwnd_gain = DEFAULT_CWND_GAIN;
        self.drain_start_round = self.round_count;
    }

    /// `BBRCheckDrainDone`: the estimated queue is gone (in flight at most a BDP),
    /// or Drain has lasted three rounds.
    pub(super) fn check_drain_done(&mut self, now: Instant) {
        if self.state == BbrState::Drain
            && (self.inflight <= self.inflight_at(self.bw.max(1), 1.0) || self.drain_timed_out())
        {
            self.enter_probe_bw(now);
        }
    }

    // --- ProbeBW ---

    /// `BBREnterProbeBW`.
    //= https://datatracker.ietf.org/doc/html/draft-ietf-ccwg-bbr-06#section-5.3.3
    fn enter_probe_bw(&mut self, now: Instant) {
        self.cwnd_gain = DEFAULT_CWND_GAIN;
        self.start_probe_bw_down(Some(now));
    }

    /// `BBRPickProbeWait`: rounds and time to the next probe, randomized so that
    /// flows do not probe in step.
    //= https://datatracker.ietf.org/doc/html/draft-ietf-ccwg-bbr-06#section-5.3.3
    fn pick_probe_wait(&mut self) {
        self.rounds_since_bw_probe = (self.random_unit() * 2.0) as u64;
        self.bw_probe_wait = PROBE_WAIT_BASE + Duration::from_secs_f64(self.random_unit());
    }

    /// `BBRStartProbeBW_DOWN` (`now` when known; else the cycle clock restarts at
    /// the next ACK).
    pub(super) fn start_probe_bw_down(&mut self, now: Option<Instant>) {
        self.reset_congestion_signals();
        self.probe_up_cnt = u64::MAX;
        self.pick_probe_wait();
        if let Some(now) = now {
            self.cycle_stamp = now;
        } else {
            self.cycle_stamp_pending = true;
        }
        self.ack_phase = AckPhase::ProbeStopping;
        self.start_round();
        self.state = BbrState::ProbeBw(ProbeBwPhase::Down);
        self.pacing_gain = PROBE_DOWN_PACING_GAIN;
        self.cwnd_gain = DEFAULT_CWND_GAIN;
    }

    /// `BBRStartProbeBW_CRUISE`.
    fn start_probe_bw_cruise(&mut self) {
        self.state = BbrState::ProbeBw(ProbeBwPhase::Cruise);
        self.pacing_gain = 1.0;
        self.cwnd_gain = DEFAULT_CWND_GAIN;
    }

    /// `BBRStartProbeBW_REFILL`.
    fn start_probe_bw_refill(&mut self) {
        self.reset_short_term_model();
        self.bw_probe_up_rounds = 0;
        self.bw_probe_up_acks = 0;
        self.ack_phase = AckPhase::Refilling;
        self.start_round();
        self.state = BbrState::ProbeBw(ProbeBwPhase::Refill);
        self.pacing_gain = 1.0;
        self.cwnd_gain = DEFAULT_CWND_GAIN;
    }

    /// `BBRStartProbeBW_UP`.
    fn start_probe_bw_up(&mut self, now: Instant, rs: &Sample) {
        self.ack_phase = AckPhase::ProbeStarting;
        self.start_round();
        self.reset_full_bw();
        self.full_bw = rs.delivery_rate;
        self.state = BbrState::ProbeBw(ProbeBwPhase::Up);
        self.pacing_gain = PROBE_UP_PACING_GAIN;
        self.cwnd_gain = PROBE_UP_CWND_GAIN;
        self.cycle_stamp = now;
        self.raise_inflight_longterm_slope();
    }

    /// `BBRUpdateProbeBWCyclePhase`.
    //= https://datatracker.ietf.org/doc/html/draft-ietf-ccwg-bbr-06#section-5.3.3
    pub(super) fn update_probe_bw_cycle_phase(&mut self, now: Instant, rs: &Sample) {
        if self.cycle_stamp_pending {
            self.cycle_stamp_pending = false;
            self.cycle_stamp = now;
        }
        if !self.full_bw_reached {
            return;
        }
        self.adapt_long_term_model(rs);
        let BbrState::ProbeBw(phase) = self.state else {
            return;
        };
        match phase {
            ProbeBwPhase::Down => {
                if self.check_time_to_probe_bw(now) {
                    return;
                }
                if self.check_time_to_cruise() {
                    self.start_probe_bw_cruise();
                }
            }
            ProbeBwPhase::Cruise => {
                self.check_time_to_probe_bw(now);
            }
            ProbeBwPhase::Refill => {
                // After a round of refilling, start probing.
                if self.round_start {
                    self.bw_probe_samples = true;
                    self.start_probe_bw_up(now, rs);
                }
            }
            ProbeBwPhase::Up => {
                if self.check_time_to_go_down(now) {
                    self.start_probe_bw_down(Some(now));
                }
            }
        }
    }

    /// `BBRAdaptLongTermModel` (`BBRAdaptUpperBounds` in earlier versions): a new
    /// cycle for the max-bandwidth filter when the probe's feedback is in; a loss
    /// rate above `LossThresh` caps `inflight_longterm`, a safe one lets it grow.
    fn adapt_long_term_model(&mut self, rs: &Sample) {
        if self.ack_phase_is(AckPhase::ProbeStarting) && self.round_start {
            // Starting to get bandwidth-probing samples.
            self.ack_phase = AckPhase::ProbeFeedback;
        }
        if self.ack_phase_is(AckPhase::ProbeStopping) && self.round_start {
            // End of the samples from the bandwidth probe: the best chance of the
            // cycle to have measured the most bandwidth is past, so the oldest
            // cycle's samples may go.
            self.bw_probe_samples = false;
            self.ack_phase = AckPhase::Init;
            if matches!(self.state, BbrState::ProbeBw(_)) && !rs.is_app_limited {
                self.advance_max_bw_filter();
            }
        }
        if self.check_inflight_too_high(rs) {
            return;
        }
        if self.inflight_longterm == u64::MAX {
            return;
        }
        if rs.tx_in_flight > self.inflight_longterm {
            self.inflight_longterm = rs.tx_in_flight;
        }
        if self.state == BbrState::ProbeBw(ProbeBwPhase::Up) {
            self.probe_inflight_longterm_upward(rs);
        }
    }

    /// `BBRCheckInflightTooHigh`.
    fn check_inflight_too_high(&mut self, rs: &Sample) -> bool {
        if rs.has_data && Bbr::is_inflight_too_high(rs) {
            if self.bw_probe_samples {
                self.handle_inflight_too_high(rs);
            }
            return true;
        }
        false
    }

    /// `BBRHandleInflightTooHigh`: the probe went too high; remember where.
    fn handle_inflight_too_high(&mut self, rs: &Sample) {
        self.bw_probe_samples = false;
        if !rs.is_app_limited {
            self.inflight_longterm = rs
                .tx_in_flight
                .max(scale(self.target_inflight(), BETA))
                .max(self.min_pipe_cwnd());
        }
        if self.state == BbrState::ProbeBw(ProbeBwPhase::Up) {
            self.start_probe_bw_down(None);
        }
    }

    /// `BBRProbeInflightLongtermUpward`: while the window is full at
    /// `inflight_longterm`, raise it by a segment per `probe_up_cnt` bytes acked.
    fn probe_inflight_longterm_upward(&mut self, rs: &Sample) {
        if !self.is_cwnd_limited || (self.cwnd as u64) < self.inflight_longterm {
            return;
        }
        self.bw_probe_up_acks = self.bw_probe_up_acks.saturating_add(rs.newly_acked);
        if self.bw_probe_up_acks >= self.probe_up_cnt {
            let delta = self.bw_probe_up_acks / self.probe_up_cnt;
            self.bw_probe_up_acks -= delta * self.probe_up_cnt;
            self.inflight_longterm = self
                .inflight_longterm
                .saturating_add(delta.saturating_mul(self.mss as u64));
        }
        if self.round_start {
            self.raise_inflight_longterm_slope();
        }
    }

    /// `BBRRaiseInflightLongtermSlope`: the growth doubles each round of UP.
    fn raise_inflight_longterm_slope(&mut self) {
        let growth_this_round = 1u64 << self.bw_probe_up_rounds;
        self.bw_probe_up_rounds = (self.bw_probe_up_rounds + 1).min(30);
        let cwnd_segs = (self.cwnd / self.mss) as u64;
        self.probe_up_cnt = (cwnd_segs / growth_this_round).max(1) * self.mss as u64;
    }

    /// `BBRCheckTimeToProbeBW`: the probe wait elapsed, or as many rounds as Reno
    /// would take to grow back.
    fn check_time_to_probe_bw(&mut self, now: Instant) -> bool {
        if self.has_elapsed_in_phase(now, self.bw_probe_wait)
            || self.is_reno_coexistence_probe_time()
        {
            self.start_probe_bw_refill();
            return true;
        }
        false
    }

    /// `BBRIsRenoCoexistenceProbeTime`.
    //= https://datatracker.ietf.org/doc/html/draft-ietf-ccwg-bbr-06#section-5.3.3
    fn is_reno_coexistence_probe_time(&self) -> bool {
        let reno_rounds = self.target_inflight() / self.mss as u64;
        self.rounds_since_bw_probe >= reno_rounds.min(MAX_RENO_ROUNDS)
    }

    /// `BBRHasElapsedInPhase`.
    fn has_elapsed_in_phase(&self, now: Instant, interval: Duration) -> bool {
        now > self.cycle_stamp + interval
    }

    /// `BBRCheckTimeToCruise`: the queue the probe built has drained.
    fn check_time_to_cruise(&self) -> bool {
        if self.inflight > self.inflight_with_headroom() {
            return false;
        }
        self.inflight <= self.inflight_at(self.max_bw, 1.0)
    }

    /// `BBRCheckTimeToGoDown`: the bandwidth stopped growing, or (after a min_rtt
    /// in UP) the flight reached the probe's target, 1.25 BDP.
    fn check_time_to_go_down(&mut self, now: Instant) -> bool {
        if self.is_cwnd_limited && self.cwnd as u64 >= self.inflight_longterm {
            // The bandwidth is limited by inflight_longterm: start afresh.
            self.reset_full_bw();
            self.full_bw = self.max_bw;
        } else if self.full_bw_now {
            return true;
        }
        let min_rtt = self.rtt.min_rtt.unwrap_or(Duration::ZERO);
        self.has_elapsed_in_phase(now, min_rtt)
            && self.inflight > self.inflight_at(self.max_bw, PROBE_UP_PACING_GAIN)
    }

    // --- ProbeRTT ---

    /// `BBRCheckProbeRTT`: every `ProbeRTTInterval` without a lower RTT, cut the
    /// flight for `ProbeRTTDuration` and a round.
    //= https://datatracker.ietf.org/doc/html/draft-ietf-ccwg-bbr-06#section-5.3.4
    pub(super) fn check_probe_rtt(&mut self, now: Instant, rs: &Sample) {
        if self.state != BbrState::ProbeRtt && self.rtt.probe_rtt_expired && !self.idle_restart {
            self.enter_probe_rtt();
            self.save_cwnd();
            self.probe_rtt_done_stamp = None;
            self.ack_phase = AckPhase::ProbeStopping;
            self.start_round();
        }
        if self.state == BbrState::ProbeRtt {
            self.handle_probe_rtt(now);
        }
        if rs.delivered > 0 {
            self.idle_restart = false;
        }
    }

    /// `BBREnterProbeRTT`.
    fn enter_probe_rtt(&mut self) {
        self.state = BbrState::ProbeRtt;
        self.pacing_gain = 1.0;
        self.cwnd_gain = PROBE_RTT_CWND_GAIN;
    }

    /// `BBRHandleProbeRTT`.
    fn handle_probe_rtt(&mut self, now: Instant) {
        match self.probe_rtt_done_stamp {
            None if self.inflight <= self.probe_rtt_cwnd() => {
                // The flight is down: hold it for ProbeRTTDuration and a round.
                self.probe_rtt_done_stamp = Some(now + PROBE_RTT_DURATION);
                self.probe_rtt_round_done = false;
                self.start_round();
            }
            None => {}
            Some(_) => {
                if self.round_start {
                    self.probe_rtt_round_done = true;
                }
                if self.probe_rtt_round_done {
                    self.check_probe_rtt_done(now);
                }
            }
        }
    }

    /// `BBRCheckProbeRTTDone`.
    pub(super) fn check_probe_rtt_done(&mut self, now: Instant) {
        if self.probe_rtt_done_stamp.is_some_and(|done| now > done) {
            // Wait a while until the next ProbeRTT.
            self.rtt.probe_rtt_min_stamp = now;
            self.restore_cwnd();
            self.exit_probe_rtt(now);
        }
    }

    /// `BBRExitProbeRTT`.
    fn exit_probe_rtt(&mut self, now: Instant) {
        self.reset_short_term_model();
        if self.full_bw_reached {
            self.start_probe_bw_down(Some(now));
            self.start_probe_bw_cruise();
        } else {
            self.enter_startup();
        }
    }
}
