//! The connection's side of congestion control: the controller ([`crate::cc`]) it
//! drives, NewReno's fast-recovery window (RFC 6582), and the per-segment records the
//! delivery-rate estimator needs. All of it lives in one box, [`CcState`], allocated
//! when the connection first sends data or meets a congestion event: a connection
//! that stays idle holds none of it.

use std::collections::VecDeque;

use super::Connection;
use crate::cc::{
    AckSample, CcAlgorithm, CcParams, CongestionControl, CongestionKind,
    DeliveryRateEstimator, RateSample, TxState,
};
use crate::time::{Duration, Instant};
use crate::wire::SeqNumber;

/// The most send records a connection keeps; past it a segment joins the last record
/// (its bytes then share that record's send state) and the merge is counted.
pub(crate) const MAX_TX_RECORDS: usize = 4096;

/// A fast recovery under way (RFC 6582).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Recovery {
    /// `recover`: the highest sequence number sent when it began.
    pub(crate) recover: SeqNumber,
    /// The window while it lasts: the controller's reduced window plus three
    /// segments, one more per further duplicate ACK, deflated by partial ACKs.
    pub(crate) cwnd: u32,
}

/// Payload bytes `[start, end)` sent with `tx`.
#[derive(Debug, Clone, Copy)]
pub(crate) struct TxRecord {
    start: SeqNumber,
    end: SeqNumber,
    tx: TxState,
}

/// The congestion-control state of a connection.
#[derive(Debug)]
pub(crate) struct CcState {
    /// The controller.
    cc: Box<dyn CongestionControl>,
    /// The fast recovery under way, with its window.
    recovery: Option<Recovery>,
    /// The last recovery point, kept after recovery ends so that duplicate ACKs for
    /// data sent before it do not start another recovery (RFC 6582 section 3.2 step 2).
    last_recover: Option<SeqNumber>,
    /// The controller heard of this run of retransmission timeouts.
    rto_reacted: bool,
    /// The delivery-rate estimator.
    rate: DeliveryRateEstimator,
    /// Payload sent and not yet acknowledged, with its send state (at most
    /// [`MAX_TX_RECORDS`]).
    tx_records: VecDeque<TxRecord>,
}

impl CcState {
    fn new(cc: Box<dyn CongestionControl>) -> CcState {
        CcState {
            cc,
            recovery: None,
            last_recover: None,
            rto_reacted: false,
            rate: DeliveryRateEstimator::new(),
            tx_records: VecDeque::new(),
        }
    }
}

impl Connection {
    /// The parameters a controller of this connection is made with.
    fn cc_params(&self) -> CcParams {
        CcParams {
            mss: usize::from(self.mss.max(1)),
            initial_window: self.config.initial_cwnd,
        }
    }

    /// The congestion state, allocated on first use.
    fn ccs(&mut self) -> &mut CcState {
        if self.cc.is_none() {
            let cc = self
                .cc_algorithm
                .build(&self.config.custom_congestion_controls, &self.cc_params());
            self.cc = Some(Box::new(CcState::new(cc)));
        }
        match self.cc.as_deref_mut() {
            Some(s) => s,
            None => unreachable!("allocated above"),
        }
    }

    /// An own controller is made at once: its initial window is its own business.
    pub(super) fn init_custom_cc(&mut self) {
        if matches!(self.cc_algorithm, CcAlgorithm::Custom(_)) {
            self.ccs();
        }
    }

    /// The controller, if it was made.
    pub(super) fn controller(&self) -> Option<&dyn CongestionControl> {
        self.cc.as_deref().map(|s| &*s.cc)
    }

    /// The window the sender uses: the recovery window during fast recovery, else
    /// the controller's (the initial window before the controller is made: both
    /// built-in controllers start there).
    pub(super) fn cwnd(&self) -> u32 {
        match self.cc.as_deref() {
            Some(CcState {
                recovery: Some(r), ..
            }) => r.cwnd,
            Some(s) => u32::try_from(s.cc.window()).unwrap_or(u32::MAX),
            None => {
                let p = self.cc_params();
                u32::try_from(p.mss.saturating_mul(p.initial_window.max(1) as usize))
                    .unwrap_or(u32::MAX)
            }
        }
    }

    /// The congestion controller's name (`"cubic"`).
    pub fn congestion_control(&self) -> &'static str {
        match self.controller() {
            Some(cc) => cc.name(),
            None => self.cc_algorithm.builtin_name().unwrap_or(""),
        }
    }

    /// Replaces the congestion controller with a new one of `algorithm`; refused
    /// (false) once data was sent, as the window it built would be lost.
    pub fn set_congestion_control(&mut self, algorithm: CcAlgorithm) -> bool {
        if self.counters.data_segs_out > 0 {
            return false;
        }
        self.cc_algorithm = algorithm;
        self.cc = None;
        self.init_custom_cc();
        true
    }

    /// A segment with `len` payload bytes from `seq` left at `now`; `flight` bytes
    /// were in flight before it.
    pub(super) fn on_data_sent(
        &mut self,
        now: Instant,
        seq: SeqNumber,
        len: usize,
        retransmit: bool,
        flight: u32,
    ) {
        let s = self.ccs();
        let tx = s.rate.on_packet_sent(now, flight as usize);
        s.cc.on_sent(now, len, flight as usize);
        let end = seq + len;
        if retransmit {
            // The records this segment covers were sent again: their state is now.
            for r in s.tx_records.iter_mut() {
                if r.start >= end {
                    break;
                }
                if r.end > seq {
                    r.tx = tx;
                }
            }
            // A retransmission within the records needs nothing more.
            if s.tx_records.back().is_none_or(|r| r.end >= end) {
                return;
            }
        }
        let start = match s.tx_records.back() {
            Some(last) if last.end > seq => last.end,
            _ => seq,
        };
        if start >= end {
            return;
        }
        if s.tx_records.len() >= MAX_TX_RECORDS {
            if let Some(last) = s.tx_records.back_mut() {
                last.end = end;
                self.counters.tx_records_merged = self.counters.tx_records_merged.saturating_add(1);
                return;
            }
        }
        s.tx_records.push_back(TxRecord { start, end, tx });
    }

    /// An ACK of new data (`acked` bytes of sequence space, `ack` the new SND.UNA,
    /// `flight_before` the bytes in flight before it, `rtt` its RTT sample): the
    /// recovery window, the rate sample and the controller. Returns true for a
    /// partial ACK in recovery, after which the first unacknowledged segment is
    /// resent.
    pub(super) fn on_ack_cc(
        &mut self,
        now: Instant,
        ack: SeqNumber,
        acked: u32,
        flight_before: u32,
        rtt: Option<Duration>,
    ) -> bool {
        let mss = u32::from(self.mss.max(1));
        let flight = self.flight();
        let (srtt, min_rtt) = (self.rtt.srtt(), self.rtt.min_rtt());
        // No data sent and no congestion seen yet (the ACK of a SYN or of a lone FIN):
        // nothing for a controller, and none is made for it.
        let Some(s) = self.cc.as_deref_mut() else {
            return false;
        };
        // The records up to `ack` are delivered: the estimator hears of each.
        while let Some(r) = s.tx_records.front_mut() {
            if r.start >= ack {
                break;
            }
            if r.end <= ack {
                let bytes = r.end.diff(r.start).max(0) as usize;
                let tx = r.tx;
                s.tx_records.pop_front();
                s.rate.on_packet_delivered(now, bytes, &tx);
            } else {
                // Partly acknowledged: deliver the front, keep the rest.
                let bytes = ack.diff(r.start).max(0) as usize;
                r.start = ack;
                let tx = r.tx;
                s.rate.on_packet_delivered(now, bytes, &tx);
                break;
            }
        }
        if s.tx_records.is_empty() && s.tx_records.capacity() > 64 {
            s.tx_records.shrink_to_fit();
        }
        let rate: Option<RateSample> = s.rate.generate(now, min_rtt);
        let mut partial = false;
        let mut ended = false;
        let in_recovery = s.recovery.is_some();
        if let Some(r) = s.recovery.as_mut() {
            if ack > r.recover {
                s.last_recover = Some(r.recover);
                s.recovery = None;
                ended = true;
            } else {
                //= https://www.rfc-editor.org/rfc/rfc6582#section-3.2
                //# Partial acknowledgments:
                //# If this ACK does *not* acknowledge all of the data up to and
                //# including recover, then this is a partial ACK.  In this case,
                //# retransmit the first unacknowledged segment.  Deflate the
                //# congestion window by the amount of new data acknowledged by the
                //# Cumulative Acknowledgment field.  If the partial ACK
                //# acknowledges at least one SMSS of new data, then add back SMSS
                //# bytes to the congestion window.
                r.cwnd = r.cwnd.saturating_sub(acked);
                if acked >= mss {
                    r.cwnd += mss;
                }
                r.cwnd = r.cwnd.max(mss);
                partial = true;
            }
        }
        let sample = AckSample {
            newly_acked: acked as usize,
            bytes_in_flight_before: flight_before as usize,
            bytes_in_flight: flight as usize,
            rtt,
            srtt,
            min_rtt,
            rate,
            delivered: s.rate.delivered(),
            in_recovery,
            ece: false,
        };
        s.cc.on_ack(now, &sample);
        if ended {
            s.cc.on_recovery_end(now, flight as usize);
        }
        partial
    }

    /// The third duplicate ACK, acknowledging `ack`: enters fast recovery unless one
    /// is under way or the ACK does not cover the last one's recovery point. Returns
    /// whether it did (and the first unacknowledged segment is to be resent).
    pub(super) fn on_triple_dupack(&mut self, now: Instant, ack: SeqNumber) -> bool {
        let outstanding = self.outstanding();
        let snd_max = self.snd_max;
        let mss = u32::from(self.mss.max(1));
        let s = self.ccs();
        if s.recovery.is_some() {
            return false;
        }
        //= https://www.rfc-editor.org/rfc/rfc6582#section-3.2
        //# If the Cumulative Acknowledgment field didn't cover more than
        //# recover, check to see if the congestion window is greater than
        //# SMSS bytes and the difference between highest_ack and
        //# prev_highest_ack is at most 4*SMSS bytes.
        if s.last_recover.is_some_and(|last| ack <= last) {
            return false;
        }
        s.cc
            .on_congestion_event(now, CongestionKind::Loss, outstanding as usize);
        //= https://www.rfc-editor.org/rfc/rfc5681#section-3.2
        //# The lost segment starting at SND.UNA MUST be retransmitted and
        //# cwnd set to ssthresh plus 3*SMSS.
        let base = u32::try_from(s.cc.window()).unwrap_or(u32::MAX);
        s.recovery = Some(Recovery {
            recover: snd_max,
            cwnd: base.saturating_add(3 * mss),
        });
        true
    }

    /// A further duplicate ACK in fast recovery.
    pub(super) fn on_dupack_in_recovery(&mut self) {
        let mss = u32::from(self.mss.max(1));
        //= https://www.rfc-editor.org/rfc/rfc5681#section-3.2
        //# For each additional duplicate ACK received (after the third),
        //# cwnd MUST be incremented by SMSS.
        if let Some(r) = self.cc.as_deref_mut().and_then(|s| s.recovery.as_mut()) {
            r.cwnd = r.cwnd.saturating_add(mss);
        }
    }

    /// The retransmission timer expired with data outstanding: the controller reacts
    /// to the first expiry of a run; any recovery is over, and duplicate ACKs for data
    /// sent before now start no new one.
    pub(super) fn on_rto_cc(&mut self, now: Instant) {
        let outstanding = self.outstanding() as usize;
        let snd_max = self.snd_max;
        let s = self.ccs();
        if !s.rto_reacted {
            s.rto_reacted = true;
            s.cc
                .on_congestion_event(now, CongestionKind::Timeout, outstanding);
        }
        s.recovery = None;
        s.last_recover = Some(snd_max);
    }

    /// An ACK of new data ends a run of retransmission timeouts.
    pub(super) fn on_rto_run_over(&mut self) {
        if let Some(s) = self.cc.as_deref_mut() {
            s.rto_reacted = false;
        }
    }

    /// The segment size changed: the controller and the recovery window follow,
    /// keeping their size in segments.
    pub(super) fn on_mss_cc(&mut self, old: u16, new: u16) {
        let Some(s) = self.cc.as_deref_mut() else {
            // A controller made later starts with the new size.
            return;
        };
        s.cc.on_mtu_update(usize::from(new.max(1)));
        if let Some(r) = s.recovery.as_mut() {
            let segs = (r.cwnd / u32::from(old.max(1))).max(1);
            r.cwnd = segs.saturating_mul(u32::from(new.max(1)));
        }
    }

    /// The application writes: if less than a segment waits unsent, nothing waits to
    /// be resent and the window is not full, what is in flight is application-limited
    /// (draft-cheng-iccrg-delivery-rate-estimation section 3.4).
    pub(super) fn check_app_limited(&mut self) {
        let off = self.snd_nxt.diff(self.snd_una).max(0) as usize;
        let unsent = self.send_buf.len().saturating_sub(off);
        let flight = self.flight();
        if unsent < usize::from(self.mss)
            && !self.retransmit_una
            && self.snd_nxt >= self.snd_max
            && flight < self.cwnd()
        {
            if let Some(s) = self.cc.as_deref_mut() {
                s.rate.on_app_limited(flight as usize);
            }
        }
    }
}
