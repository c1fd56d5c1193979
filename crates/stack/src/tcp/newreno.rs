//! The built-in congestion control: slow start, congestion avoidance (RFC 5681) and
//! NewReno fast recovery (RFC 6582), byte-based. The congestion-control issue replaces
//! this with the `cc` trait and CUBIC/BBR; the connection talks to it through the
//! same few reactions.

use crate::wire::SeqNumber;

/// NewReno's state: the congestion window, the slow-start threshold and, during fast
/// recovery, the `recover` point.
#[derive(Debug, Clone)]
pub struct NewReno {
    cwnd: u32,
    ssthresh: u32,
    mss: u32,
    /// Bytes acknowledged in congestion avoidance since cwnd last grew (RFC 5681
    /// section 3.1, appropriate byte counting).
    ca_acked: u32,
    /// In fast recovery: the highest sequence number sent when it began (RFC 6582).
    recover: Option<SeqNumber>,
    /// The last `recover`, kept after recovery ends so that duplicate ACKs for data
    /// sent before it do not start another recovery (RFC 6582 section 3.2 step 2).
    last_recover: Option<SeqNumber>,
}

impl NewReno {
    /// A controller for segments of `mss` bytes starting with `initial_segments`.
    /// The window is `initial_segments` full segments, as Linux counts it (RFC 6928
    /// bounds it by 14600 bytes for large MSS; Linux does not, and neither do we).
    pub fn new(mss: u16, initial_segments: u32) -> NewReno {
        let mss = u32::from(mss.max(1));
        let iw = initial_segments.max(1).saturating_mul(mss);
        NewReno {
            cwnd: iw.max(mss),
            ssthresh: u32::MAX,
            mss,
            ca_acked: 0,
            recover: None,
            last_recover: None,
        }
    }

    /// The congestion window in bytes.
    pub fn cwnd(&self) -> u32 {
        self.cwnd
    }

    /// The slow-start threshold in bytes (`u32::MAX` until the first loss).
    pub fn ssthresh(&self) -> u32 {
        self.ssthresh
    }

    /// Whether fast recovery is under way.
    pub fn in_recovery(&self) -> bool {
        self.recover.is_some()
    }

    /// The segment size changed (path MTU, or the handshake settled the MSS).
    pub fn set_mss(&mut self, mss: u16) {
        let mss = u32::from(mss.max(1));
        // Keep the window in segments, as Linux does.
        let segs = (self.cwnd / self.mss).max(1);
        self.mss = mss;
        self.cwnd = segs.saturating_mul(mss);
    }

    /// New data was acknowledged: `acked` bytes, `ack` the new SND.UNA, `flight` the
    /// bytes still outstanding. Returns true for a partial ACK in recovery, after
    /// which the connection retransmits the next unacknowledged segment.
    pub fn on_ack(&mut self, ack: SeqNumber, acked: u32, flight: u32) -> bool {
        if let Some(recover) = self.recover {
            if ack > recover {
                //= https://www.rfc-editor.org/rfc/rfc6582#section-3.2
                //# Full acknowledgments:
                //# If this ACK acknowledges all of the data up to and including
                //# recover, then the ACK acknowledges all the intermediate segments
                //# sent between the original transmission of the lost segment and
                //# the receipt of the third duplicate ACK.  Set cwnd to either (1)
                //# min (ssthresh, max(FlightSize, SMSS) + SMSS) or (2) ssthresh
                self.cwnd = self.ssthresh.min(flight.max(self.mss) + self.mss);
                self.last_recover = Some(recover);
                self.recover = None;
                return false;
            }
            //= https://www.rfc-editor.org/rfc/rfc6582#section-3.2
            //# Partial acknowledgments:
            //# If this ACK does *not* acknowledge all of the data up to and
            //# including recover, then this is a partial ACK.  In this case,
            //# retransmit the first unacknowledged segment.  Deflate the
            //# congestion window by the amount of new data acknowledged by the
            //# Cumulative Acknowledgment field.  If the partial ACK
            //# acknowledges at least one SMSS of new data, then add back SMSS
            //# bytes to the congestion window.
            self.cwnd = self.cwnd.saturating_sub(acked);
            if acked >= self.mss {
                self.cwnd += self.mss;
            }
            self.cwnd = self.cwnd.max(self.mss);
            return true;
        }
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
        false
    }

    /// The third duplicate ACK arrived with `flight` bytes outstanding and `snd_max`
    /// the highest sequence number sent. Returns whether to enter fast recovery (and
    /// fast-retransmit the first unacknowledged segment).
    pub fn on_triple_dupack(&mut self, ack: SeqNumber, flight: u32, snd_max: SeqNumber) -> bool {
        if self.recover.is_some() {
            return false;
        }
        //= https://www.rfc-editor.org/rfc/rfc6582#section-3.2
        //# If the Cumulative Acknowledgment field didn't cover more than
        //# recover, check to see if the congestion window is greater than
        //# SMSS bytes and the difference between highest_ack and
        //# prev_highest_ack is at most 4*SMSS bytes.
        if let Some(last) = self.last_recover {
            if ack <= last {
                return false;
            }
        }
        //= https://www.rfc-editor.org/rfc/rfc5681#section-3.2
        //# ssthresh = max (FlightSize / 2, 2*SMSS)            (4)
        self.ssthresh = (flight / 2).max(2 * self.mss);
        self.cwnd = self.ssthresh + 3 * self.mss;
        self.recover = Some(snd_max);
        true
    }

    /// A further duplicate ACK during fast recovery: inflate the window by one segment.
    pub fn on_dupack_in_recovery(&mut self) {
        if self.recover.is_some() {
            self.cwnd = self.cwnd.saturating_add(self.mss);
        }
    }

    /// The retransmission timer expired with `flight` bytes outstanding (counted once
    /// per loss episode: only for the first expiry in a row).
    //= https://www.rfc-editor.org/rfc/rfc5681#section-3.1
    //# Furthermore, upon a timeout (as specified in [RFC2988]) cwnd MUST be set to
    //# no more than the loss window, LW, which equals 1 full-sized segment
    //# (regardless of the value of IW).
    pub fn on_rto(&mut self, flight: u32, first: bool, snd_max: SeqNumber) {
        if first {
            self.ssthresh = (flight / 2).max(2 * self.mss);
        }
        self.cwnd = self.mss;
        self.ca_acked = 0;
        self.recover = None;
        self.last_recover = Some(snd_max);
    }

    /// After an idle period longer than the RTO, restart from the initial window
    /// (RFC 5681 section 4.1).
    pub fn on_idle_restart(&mut self, initial_segments: u32) {
        let iw = NewReno::new(self.mss as u16, initial_segments).cwnd;
        self.cwnd = self.cwnd.min(iw);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn initial_window_is_ten_segments() {
        assert_eq!(NewReno::new(1448, 10).cwnd(), 14480);
    }

    #[test]
    fn slow_start_adds_one_mss_per_ack() {
        let mut cc = NewReno::new(1000, 10);
        cc.on_ack(SeqNumber(1000), 1000, 0);
        assert_eq!(cc.cwnd(), 11000);
        // A stretch ACK still adds at most one MSS.
        cc.on_ack(SeqNumber(5000), 4000, 0);
        assert_eq!(cc.cwnd(), 12000);
    }

    #[test]
    fn congestion_avoidance_adds_one_mss_per_window() {
        let mut cc = NewReno::new(1000, 10);
        assert!(cc.on_triple_dupack(SeqNumber(0), 20000, SeqNumber(20000)));
        cc.on_ack(SeqNumber(20001), 1000, 20000); // full ack ends recovery
        let w = cc.cwnd();
        assert_eq!(w, 10000);
        for i in 0..10 {
            cc.on_ack(SeqNumber(30000 + i * 1000), 1000, 5000);
        }
        assert_eq!(cc.cwnd(), w + 1000);
    }

    #[test]
    fn triple_dupack_halves_and_inflates() {
        let mut cc = NewReno::new(1000, 10);
        assert!(cc.on_triple_dupack(SeqNumber(0), 10000, SeqNumber(10000)));
        assert_eq!(cc.ssthresh(), 5000);
        assert_eq!(cc.cwnd(), 8000);
        cc.on_dupack_in_recovery();
        assert_eq!(cc.cwnd(), 9000);
        // A second triple dupack during recovery changes nothing.
        assert!(!cc.on_triple_dupack(SeqNumber(0), 10000, SeqNumber(10000)));
    }

    #[test]
    fn partial_ack_deflates_and_asks_for_retransmit() {
        let mut cc = NewReno::new(1000, 10);
        cc.on_triple_dupack(SeqNumber(0), 10000, SeqNumber(10000));
        assert!(cc.on_ack(SeqNumber(2000), 2000, 8000));
        assert_eq!(cc.cwnd(), 8000 - 2000 + 1000);
        assert!(!cc.on_ack(SeqNumber(10001), 8000, 0));
        assert!(!cc.in_recovery());
        assert_eq!(cc.cwnd(), 2000);
    }

    #[test]
    fn dupacks_for_data_before_last_recovery_do_not_restart_it() {
        let mut cc = NewReno::new(1000, 10);
        cc.on_rto(10000, true, SeqNumber(10000));
        assert!(!cc.on_triple_dupack(SeqNumber(5000), 3000, SeqNumber(10000)));
        assert!(cc.on_triple_dupack(SeqNumber(10001), 3000, SeqNumber(20000)));
    }

    #[test]
    fn rto_collapses_to_one_segment() {
        let mut cc = NewReno::new(1000, 10);
        cc.on_rto(10000, true, SeqNumber(10000));
        assert_eq!(cc.cwnd(), 1000);
        assert_eq!(cc.ssthresh(), 5000);
        // A second expiry in a row keeps ssthresh.
        cc.on_rto(1000, false, SeqNumber(10000));
        assert_eq!(cc.ssthresh(), 5000);
    }
}
