//! F-RTO (RFC 5682): telling a spurious retransmission timeout from a real one
//! without timestamps.
//!
//! A timeout resends the first unacknowledged segment (step 1) and the controller
//! collapses its window as usual. Then:
//! - step 2, the first ACK that advances SND.UNA: if it leaves data sent before
//!   the timeout unacknowledged, up to two new (never sent) segments go out
//!   instead of the rest of the window again (go-back-N), whatever the congestion
//!   window says;
//! - step 3, the next ACK: if it acknowledges more data sent before the timeout,
//!   which was never resent, that data was only delayed: the timeout was
//!   spurious. The response is the undo path of Eifel and D-SACK (`undo`): the
//!   controller restores its state from before the timeout
//!   ([`CongestionControl::on_spurious_congestion_event`](crate::cc::CongestionControl::on_spurious_congestion_event),
//!   RFC 4015's response), `spurious_rtos` counts it, and sending goes on with
//!   new data. A duplicate ACK instead says a segment was lost: the conventional
//!   recovery (go-back-N from SND.UNA) resumes.
//!
//! With SACK negotiated the SACK-enhanced algorithm (RFC 5682 section 3) runs:
//! duplicate ACKs before the first new ACK keep step 2 waiting, and in step 3 a
//! SACK of data sent before the timeout also proves it spurious, while a SACK of
//! only the new data (above the recovery point) proves a loss. Without SACK, the
//! basic algorithm (section 2): any duplicate ACK ends F-RTO.
//!
//! One deviation, as in Linux's `tcp_process_loss`: in step 3 a cumulative ACK
//! beyond the recovery point (it acknowledges the new data too) counts as
//! spurious, where section 3's step 3a would resume the conventional recovery:
//! every segment the timeout would have resent arrived without being resent.
//!
//! F-RTO is on by default (`TcpConfig::frto`, as Linux's `tcp_frto = 2`). While it
//! runs no tail loss probe is scheduled (RFC 8985's probes are for the open
//! state, not a timeout's recovery), and RACK starts no fast recovery for data
//! sent before the timeout (the recovery point `last_recover` covers it).

use super::Connection;
use crate::tcp::scoreboard::SackUpdate;
use crate::time::Instant;
use crate::wire::SeqNumber;

/// Where F-RTO stands after a retransmission timeout.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Frto {
    /// Step 2: the timeout's retransmission `[una, rxt_end)` is out; waiting for
    /// the first ACK that advances SND.UNA.
    AwaitFirstAck {
        /// One past the data resent in step 1.
        rxt_end: SeqNumber,
    },
    /// Step 3: new data went out after the recovery point; waiting for the next
    /// ACK.
    AwaitSecondAck {
        /// One past RecoveryPoint ("recover"): SND.MAX when the first ACK came.
        recover_end: SeqNumber,
        /// Bytes SACKed below `recover_end` then (SACK-enhanced algorithm).
        sacked_below: u32,
    },
}

/// What step 3 makes of an ACK.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Verdict {
    /// Data sent before the timeout arrived without being resent.
    Spurious,
    /// A segment was lost: the conventional recovery resumes.
    Loss,
    /// Neither (a window update, data from the peer): ignored.
    Ignore,
}

/// Bytes of `ranges` below `end`.
fn sacked_below(ranges: &[(SeqNumber, SeqNumber)], end: SeqNumber) -> u32 {
    ranges
        .iter()
        .filter(|r| r.0 < end)
        .map(|r| r.1.min(end).diff(r.0).max(0) as u32)
        .fold(0u32, u32::saturating_add)
}

impl Connection {
    /// Before a retransmission timeout's congestion response: whether F-RTO may
    /// run for it (RFC 5682 step 1): on, and no loss recovery under way whose
    /// recovery point SND.UNA has not passed, unless the timer fired again while
    /// F-RTO waited for its first ACK (step 2 says to go to step 1 then).
    pub(super) fn frto_may_start(&self) -> bool {
        if !self.config.frto {
            return false;
        }
        let Some(s) = self.cc.as_deref() else {
            return true;
        };
        //= https://www.rfc-editor.org/rfc/rfc5682#section-3.1
        //# If "RecoveryPoint" is larger than or
        //# equal to SND.UNA, do not enter step 2 of this algorithm.
        match s.frto {
            Some(Frto::AwaitFirstAck { .. }) => true,
            Some(Frto::AwaitSecondAck { .. }) => false,
            None => s.recovery.is_none() && s.last_recover.is_none_or(|r| r < self.snd_una),
        }
    }

    /// After a retransmission timeout's congestion response (SND.NXT moved back
    /// to SND.UNA, so the first unacknowledged segment is resent): step 1.
    //= https://www.rfc-editor.org/rfc/rfc5682#section-3.1
    //# 1) When the retransmission timer expires, retransmit the first
    //#    unacknowledged segment and set SpuriousRecovery to FALSE.
    pub(super) fn on_rto_frto(&mut self, start: bool) {
        let mss = u32::from(self.mss.max(1));
        let rxt_end = self.snd_una + self.outstanding().min(mss);
        if let Some(s) = self.cc.as_deref_mut() {
            s.frto = start.then_some(Frto::AwaitFirstAck { rxt_end });
        }
    }

    /// F-RTO's steps 2 and 3 for an acceptable ACK, after SND.UNA moved from
    /// `una_before` (and after the Eifel and D-SACK tests, which may have found
    /// the timeout spurious already). `duplicate`: it was a duplicate ACK
    /// (RFC 5681's definition).
    pub(super) fn on_ack_frto(
        &mut self,
        now: Instant,
        una_before: SeqNumber,
        duplicate: bool,
        update: SackUpdate,
    ) {
        let Some(state) = self.cc.as_deref().and_then(|s| s.frto) else {
            return;
        };
        let ack = self.snd_una;
        let advanced = ack > una_before;
        let sack = self.sack_ok;
        match state {
            Frto::AwaitFirstAck { rxt_end } => {
                if !advanced {
                    //= https://www.rfc-editor.org/rfc/rfc5682#section-3.1
                    //# If duplicate ACKs arrive before
                    //# the cumulative acknowledgment for retransmitted data, adjust the
                    //# scoreboard according to the incoming SACK information.  Stay in
                    //# step 2 and wait for the next new acknowledgment.
                    // Without SACK (section 2.1, step 2a) a duplicate ACK ends it.
                    //= https://www.rfc-editor.org/rfc/rfc5682#section-2.1
                    if duplicate && !sack {
                        self.frto_stop();
                    }
                    return;
                }
                //= https://www.rfc-editor.org/rfc/rfc5682#section-3.1
                //# When a new acknowledgment arrives, set variable
                //# "RecoveryPoint" to indicate the highest sequence number
                //# transmitted so far.
                let recover_end = self.snd_max;
                //= https://www.rfc-editor.org/rfc/rfc5682#section-3.1
                //# a) If the Cumulative Acknowledgment field covers "RecoveryPoint"
                //#    but not more than "RecoveryPoint", revert to the conventional
                //#    RTO recovery and set the congestion window to no more than 2 *
                //#    MSS, like a regular TCP would do.  Do not enter step 3 of this
                //#    algorithm.
                // The basic algorithm (section 2.1, step 2a) also reverts when the
                // ACK does not cover all the data resent in step 1.
                if ack >= recover_end || (!sack && ack < rxt_end) {
                    self.frto_stop();
                    return;
                }
                //= https://www.rfc-editor.org/rfc/rfc5682#section-3.1
                //# b) Else, if the Cumulative Acknowledgment field does not cover
                //#    "RecoveryPoint" but is larger than SND.UNA, transmit up to two
                //#    new (previously unsent) segments and proceed to step 3.  If the
                //#    TCP sender is not able to transmit any previously unsent data
                //#    -- either due to receiver window limitation or because it does
                //#    not have any new data to send -- the recommended action is to
                //#    refrain from entering step 3 of this algorithm.  Rather,
                //#    continue with slow-start retransmissions following the
                //#    conventional RTO recovery algorithm.
                let sent = recover_end.diff(ack).max(0) as usize;
                let unsent = self.send_buf.len() > sent;
                let room = (ack + self.snd_wnd) > recover_end;
                if !unsent || !room {
                    self.frto_stop();
                    return;
                }
                let sacked = self.frto_sacked_below(recover_end);
                if let Some(s) = self.cc.as_deref_mut() {
                    s.frto = Some(Frto::AwaitSecondAck {
                        recover_end,
                        sacked_below: sacked,
                    });
                }
                // No more go-back-N: what goes next is new data
                // (`frto_new_data_room` lets two segments of it past cwnd).
                self.snd_nxt = recover_end;
            }
            Frto::AwaitSecondAck {
                recover_end,
                sacked_below,
            } => {
                let beyond = sack
                    && self
                        .cc
                        .as_deref()
                        .and_then(|s| s.board.as_ref())
                        .and_then(|b| b.highest_sacked())
                        .is_some_and(|h| h > recover_end);
                let sacked_more = sack
                    && update.newly_sacked > 0
                    && self.frto_sacked_below(recover_end) > sacked_below;
                //= https://www.rfc-editor.org/rfc/rfc5682#section-3.1
                //# b) If the Cumulative Acknowledgment field or a SACK information in
                //#    the ACK does not cover more than "RecoveryPoint" AND it
                //#    acknowledges data that was not acknowledged earlier (either
                //#    with cumulative acknowledgment or using SACK information),
                //#    declare the timeout spurious and set SpuriousRecovery to
                //#    SPUR_TO.  The retransmission timeout can be declared spurious,
                //#    because the segment acknowledged with this ACK was transmitted
                //#    before the timeout.
                // (And, as Linux, a cumulative ACK beyond the recovery point: see
                // the module docs.)
                let verdict =
                    if (advanced && (ack > recover_end || !beyond)) || (sacked_more && !beyond) {
                        Verdict::Spurious
                    } else if beyond || duplicate {
                        //= https://www.rfc-editor.org/rfc/rfc5682#section-3.1
                        //# a) If the Cumulative Acknowledgment field or the SACK information
                        //#    covers more than "RecoveryPoint", set the congestion window to
                        //#    no more than 3 * MSS and proceed with the conventional RTO
                        //#    recovery, retransmitting unacknowledged segments.  Take this
                        //#    branch also when the acknowledgment is a duplicate ACK and it
                        //#    does not acknowledge any new, previously unacknowledged data
                        //#    below "RecoveryPoint" in the SACK information.  Leave
                        //#    SpuriousRecovery set to FALSE.
                        Verdict::Loss
                    } else {
                        //= https://www.rfc-editor.org/rfc/rfc5682#section-3.1
                        //# Other types of ACKs are ignored without any action.
                        Verdict::Ignore
                    };
                match verdict {
                    Verdict::Spurious => {
                        self.frto_stop();
                        self.on_spurious_timeout_frto(now);
                    }
                    Verdict::Loss => {
                        self.frto_stop();
                        // Go-back-N from SND.UNA. The window is the controller's
                        // after the timeout, grown by one ACK's slow start: at
                        // most 3 * MSS for the loss-based controllers.
                        self.snd_nxt = self.snd_una;
                    }
                    Verdict::Ignore => {}
                }
            }
        }
    }

    /// F-RTO ends (either way, or it falls back to the conventional recovery).
    fn frto_stop(&mut self) {
        if let Some(s) = self.cc.as_deref_mut() {
            s.frto = None;
        }
    }

    /// Bytes the scoreboard holds SACKed below `end`.
    fn frto_sacked_below(&self, end: SeqNumber) -> u32 {
        self.cc
            .as_deref()
            .and_then(|s| s.board.as_ref())
            .map_or(0, |b| sacked_below(b.ranges(), end))
    }

    /// In F-RTO's step 3, the new data that may still go whatever the
    /// congestion window says: up to two segments past the recovery point, within
    /// the peer's window. `None` outside step 3.
    //= https://www.rfc-editor.org/rfc/rfc5682#section-3.1
    //# transmit up to two
    //#    new (previously unsent) segments
    pub(super) fn frto_new_data_room(&self) -> Option<usize> {
        let Some(Frto::AwaitSecondAck { recover_end, .. }) = self.cc.as_deref()?.frto else {
            return None;
        };
        // Only in the ACKs right after a retransmission timeout.
        crate::hint::cold_path();
        let mss = u32::from(self.mss.max(1));
        let two = (recover_end + 2 * mss).diff(self.snd_nxt).max(0);
        let rwnd = (self.snd_una + self.snd_wnd).diff(self.snd_nxt).max(0);
        Some(two.min(rwnd) as usize)
    }

    /// Whether F-RTO is under way (no tail loss probe then).
    pub(super) fn frto_active(&self) -> bool {
        self.cc.as_deref().is_some_and(|s| s.frto.is_some())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sacked_below_counts_only_the_part_under_the_end() {
        let r = [
            (SeqNumber(100), SeqNumber(200)),
            (SeqNumber(300), SeqNumber(500)),
            (SeqNumber(600), SeqNumber(700)),
        ];
        assert_eq!(sacked_below(&r, SeqNumber(400)), 200);
        assert_eq!(sacked_below(&r, SeqNumber(100)), 0);
        assert_eq!(sacked_below(&r, SeqNumber(1000)), 400);
    }
}
