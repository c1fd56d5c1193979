//! NewReno: slow start and congestion avoidance (RFC 5681), byte-based, and the window
//! NewReno recovery leaves (RFC 6582). The recovery itself (the recovery point,
//! window inflation by duplicate ACKs, partial ACKs) is the transport's.

use super::{AckSample, CcAlgorithm, CcParams, CongestionControl, CongestionKind};
use crate::time::Instant;

/// NewReno's state: the congestion window and the slow-start threshold.
#[derive(Debug, Clone)]
pub struct NewReno {
    cwnd: usize,
    /// `usize::MAX` until the first congestion event.
    ssthresh: usize,
    mss: usize,
    /// Bytes acknowledged in congestion avoidance since cwnd last grew (RFC 5681
    /// section 3.1, appropriate byte counting).
    ca_acked: usize,
    /// cwnd and ssthresh before the last congestion event, for its undo.
    prior: Option<(usize, usize)>,
}

impl NewReno {
    /// A controller for segments of `mss` bytes starting with `initial_segments`.
    /// The window is `initial_segments` full segments, as Linux counts it (RFC 6928
    /// bounds it by 14600 bytes for large MSS; Linux does not, and neither do we).
    pub fn new(mss: usize, initial_segments: u32) -> NewReno {
        let mss = mss.max(1);
        let iw = (initial_segments.max(1) as usize).saturating_mul(mss);
        NewReno {
            cwnd: iw.max(mss),
            ssthresh: usize::MAX,
            mss,
            ca_acked: 0,
            prior: None,
        }
    }

    /// The reduction of RFC 5681 equation (4).
    fn reduced_ssthresh(&self, bytes_in_flight: usize) -> usize {
        //= https://www.rfc-editor.org/rfc/rfc5681#section-3.2
        //# ssthresh = max (FlightSize / 2, 2*SMSS)            (4)
        (bytes_in_flight / 2).max(2 * self.mss)
    }
}

impl CongestionControl for NewReno {
    fn renew(&mut self, algorithm: CcAlgorithm, params: &CcParams) -> bool {
        if algorithm != CcAlgorithm::NewReno {
            return false;
        }
        *self = NewReno::new(params.mss, params.initial_window);
        true
    }

    fn name(&self) -> &'static str {
        "newreno"
    }

    fn window(&self) -> usize {
        self.cwnd
    }

    fn ssthresh(&self) -> Option<usize> {
        (self.ssthresh != usize::MAX).then_some(self.ssthresh)
    }

    fn in_slow_start(&self) -> bool {
        self.cwnd < self.ssthresh
    }

    fn on_ack(&mut self, _now: Instant, s: &AckSample) {
        if s.in_recovery {
            // The transport's recovery window rules until the recovery ends.
            return;
        }
        let acked = s.newly_acked;
        if self.cwnd < self.ssthresh {
            //= https://www.rfc-editor.org/rfc/rfc5681#section-3.1
            //# During slow start, a TCP increments cwnd by at most SMSS bytes for
            //# each ACK received that cumulatively acknowledges new data.
            self.cwnd = self.cwnd.saturating_add(acked.min(self.mss));
        } else {
            //= https://www.rfc-editor.org/rfc/rfc5681#section-3.1
            //# Another common formula that a TCP MAY use to update cwnd during
            //# congestion avoidance is given in equation (3):
            //#
            //#    cwnd += SMSS*SMSS/cwnd                     (3)
            // Byte counting: one MSS per cwnd's worth of acknowledged bytes.
            self.ca_acked = self.ca_acked.saturating_add(acked);
            if self.ca_acked >= self.cwnd {
                self.ca_acked -= self.cwnd;
                self.cwnd = self.cwnd.saturating_add(self.mss);
            }
        }
    }

    fn on_congestion_event(&mut self, _now: Instant, kind: CongestionKind, bytes_in_flight: usize) {
        self.prior = Some((self.cwnd, self.ssthresh));
        self.ssthresh = self.reduced_ssthresh(bytes_in_flight);
        match kind {
            // The transport inflates this by its recovery window (RFC 6582: ssthresh
            // plus 3*SMSS, plus one SMSS per further duplicate ACK).
            CongestionKind::Loss | CongestionKind::Ecn => self.cwnd = self.ssthresh,
            CongestionKind::Timeout => {
                //= https://www.rfc-editor.org/rfc/rfc5681#section-3.1
                //# Furthermore, upon a timeout (as specified in [RFC2988]) cwnd MUST be set to
                //# no more than the loss window, LW, which equals 1 full-sized segment
                //# (regardless of the value of IW).
                self.cwnd = self.mss;
                self.ca_acked = 0;
            }
        }
    }

    fn on_spurious_congestion_event(&mut self, _now: Instant) {
        // Like Linux's tcp_undo_cwnd_reduction: back to at least the window and
        // threshold from before the reduction.
        if let Some((cwnd, ssthresh)) = self.prior.take() {
            self.cwnd = self.cwnd.max(cwnd);
            self.ssthresh = if ssthresh == usize::MAX {
                usize::MAX
            } else {
                self.ssthresh.max(ssthresh)
            };
        }
    }

    fn on_recovery_end(&mut self, _now: Instant, bytes_in_flight: usize) {
        //= https://www.rfc-editor.org/rfc/rfc6582#section-3.2
        //# Full acknowledgments:
        //# If this ACK acknowledges all of the data up to and including
        //# recover, then the ACK acknowledges all the intermediate segments
        //# sent between the original transmission of the lost segment and
        //# the receipt of the third duplicate ACK.  Set cwnd to either (1)
        //# min (ssthresh, max(FlightSize, SMSS) + SMSS) or (2) ssthresh
        self.cwnd = self.ssthresh.min(bytes_in_flight.max(self.mss) + self.mss);
    }

    fn on_mtu_update(&mut self, mss: usize) {
        let mss = mss.max(1);
        // Keep the window in segments, as Linux does.
        let segs = (self.cwnd / self.mss).max(1);
        self.mss = mss;
        self.cwnd = segs.saturating_mul(mss);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ack(cc: &mut NewReno, bytes: usize) {
        cc.on_ack(Instant::ZERO, &AckSample::new(bytes));
    }

    #[test]
    fn initial_window_is_ten_segments() {
        assert_eq!(NewReno::new(1448, 10).window(), 14480);
        assert!(NewReno::new(1448, 10).in_slow_start());
        assert_eq!(NewReno::new(1448, 10).ssthresh(), None);
    }

    #[test]
    fn slow_start_adds_one_mss_per_ack() {
        let mut cc = NewReno::new(1000, 10);
        ack(&mut cc, 1000);
        assert_eq!(cc.window(), 11000);
        // A stretch ACK still adds at most one MSS.
        ack(&mut cc, 4000);
        assert_eq!(cc.window(), 12000);
    }

    #[test]
    fn congestion_avoidance_adds_one_mss_per_window() {
        let mut cc = NewReno::new(1000, 10);
        cc.on_congestion_event(Instant::ZERO, CongestionKind::Loss, 20000);
        cc.on_recovery_end(Instant::ZERO, 20000);
        let w = cc.window();
        assert_eq!(w, 10000);
        assert!(!cc.in_slow_start());
        for _ in 0..10 {
            ack(&mut cc, 1000);
        }
        assert_eq!(cc.window(), w + 1000);
    }

    #[test]
    fn loss_halves_the_flight() {
        let mut cc = NewReno::new(1000, 10);
        cc.on_congestion_event(Instant::ZERO, CongestionKind::Loss, 10000);
        assert_eq!(cc.ssthresh(), Some(5000));
        assert_eq!(cc.window(), 5000);
        // Nothing grows while the transport recovers.
        let mut s = AckSample::new(1000);
        s.in_recovery = true;
        cc.on_ack(Instant::ZERO, &s);
        assert_eq!(cc.window(), 5000);
        // The full ACK leaves min(ssthresh, max(FlightSize, SMSS) + SMSS).
        cc.on_recovery_end(Instant::ZERO, 0);
        assert_eq!(cc.window(), 2000);
    }

    #[test]
    fn rto_collapses_to_one_segment() {
        let mut cc = NewReno::new(1000, 10);
        cc.on_congestion_event(Instant::ZERO, CongestionKind::Timeout, 10000);
        assert_eq!(cc.window(), 1000);
        assert_eq!(cc.ssthresh(), Some(5000));
        assert!(cc.in_slow_start());
    }

    #[test]
    fn a_new_mss_keeps_the_window_in_segments() {
        let mut cc = NewReno::new(1000, 10);
        cc.on_mtu_update(500);
        assert_eq!(cc.window(), 5000);
    }
}
