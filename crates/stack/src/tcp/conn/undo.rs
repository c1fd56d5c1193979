//! Undoing a congestion response that proves spurious: the data thought lost had
//! only been delayed or reordered.
//!
//! Two detectors, as Linux has them:
//! - Eifel (RFC 3522): with timestamps, the first ACK that advances SND.UNA after
//!   a retransmission echoes the timestamp of the transmission that arrived first.
//!   If it is older than the retransmission, the original arrived: the timeout
//!   (or fast retransmit) was spurious.
//! - D-SACK (RFC 2883, the use RFC 3708 describes): the receiver reports each
//!   duplicate it got. When every retransmission of the episode comes back as a
//!   duplicate, nothing was lost.
//!
//! - F-RTO (RFC 5682, in `frto`): without timestamps, after a timeout, new data
//!   goes out and the next ACK shows whether data sent before the timeout
//!   arrived unresent.
//!
//! The response: the controller restores its state from before the reduction
//! ([`CongestionControl::on_spurious_congestion_event`](crate::cc::CongestionControl::on_spurious_congestion_event)),
//! the recovery ends, and after a spurious timeout the go-back-N resending stops:
//! the sender goes on with new data (RFC 4015's response). An episode stays open
//! until the next congestion response replaces it: D-SACKs of its range come only
//! from its own retransmissions, however late they arrive.

use super::Connection;
use crate::time::Instant;
use crate::wire::{SeqNumber, TcpRepr};

/// One congestion response that may yet prove spurious.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Undo {
    /// SND.UNA when it began.
    from: SeqNumber,
    /// SND.MAX when it began: the data it was about.
    to: SeqNumber,
    /// A retransmission timeout (else a fast recovery).
    timeout: bool,
    /// Retransmissions sent in it and not yet reported duplicate by a D-SACK.
    retrans: u32,
    /// Our timestamp value when its first retransmission left.
    first_rxt_tsval: Option<u32>,
    /// The Eifel test was made (it is made once, on the first ACK after the first
    /// retransmission that advances SND.UNA).
    eifel_done: bool,
}

/// How a spurious congestion response was detected.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Detected {
    /// RFC 3522's timestamps.
    Eifel,
    /// RFC 2883's D-SACKs.
    Dsack,
    /// RFC 5682's F-RTO (`frto`).
    Frto,
}

impl Undo {
    /// A response to the loss of data in `[from, to)`, beginning with `s` as it
    /// is. Retransmissions still outstanding from before it (a segment resent
    /// in the last recovery, whose ACK has yet to come) belong to it, as Linux's
    /// `tcp_init_undo` and `retrans_stamp` have it: the Eifel test compares the
    /// echoed timestamp with the first of them (an ACK for the earlier copy echoes
    /// that copy's timestamp, which is not the original's), and a D-SACK
    /// undo waits for a duplicate report of each of them too.
    pub(crate) fn begin(
        s: &super::congestion::CcState,
        from: SeqNumber,
        to: SeqNumber,
        timeout: bool,
    ) -> Undo {
        let first_rxt_tsval = s.retrans_out.map(|(tsval, _)| tsval);
        let retrans = if first_rxt_tsval.is_some() {
            s.tx_records
                .iter()
                .filter(|r| r.retransmitted && !r.sacked && !r.rate_sacked && r.end > from)
                .count()
        } else {
            0
        };
        Undo {
            from,
            to,
            timeout,
            retrans: u32::try_from(retrans).unwrap_or(u32::MAX),
            first_rxt_tsval,
            eifel_done: false,
        }
    }

    /// A retransmission left with our timestamp value `tsval`.
    pub(crate) fn on_retransmit(&mut self, tsval: u32) {
        self.retrans = self.retrans.saturating_add(1);
        if self.first_rxt_tsval.is_none() {
            self.first_rxt_tsval = Some(tsval);
        }
    }
}

impl Connection {
    /// After an ACK was processed (SND.UNA moved from `una_before`): tests the
    /// congestion response under way for spuriousness and undoes it if so.
    pub(super) fn on_ack_undo(
        &mut self,
        now: Instant,
        seg: &TcpRepr<'_>,
        una_before: SeqNumber,
        dsack: Option<(SeqNumber, SeqNumber)>,
    ) {
        let snd_una = self.snd_una;
        let echo = match (self.ts, seg.options.timestamp) {
            (Some(_), Some(opt)) if opt.tsecr != 0 => Some(opt.tsecr),
            _ => None,
        };
        let Some(s) = self.cc.as_deref_mut() else {
            return;
        };
        // Every retransmission is acknowledged: the next one starts afresh.
        if s.retrans_out.is_some_and(|(_, high)| snd_una >= high) {
            s.retrans_out = None;
        }
        let Some(u) = s.undo.as_mut() else {
            return;
        };
        let mut detected = None;
        //= https://www.rfc-editor.org/rfc/rfc3522#section-3.2
        // The first acceptable ACK after the retransmission that advances SND.UNA:
        // an echoed timestamp older than the retransmission's answers the original.
        if !u.eifel_done && snd_una > una_before {
            if let Some(tsval) = u.first_rxt_tsval {
                u.eifel_done = true;
                if echo.is_some_and(|e| (e.wrapping_sub(tsval) as i32) < 0) {
                    detected = Some(Detected::Eifel);
                }
            }
        }
        //= https://www.rfc-editor.org/rfc/rfc2883#section-5
        // A D-SACK of data the episode retransmitted: that retransmission was
        // a duplicate. All of them duplicates: nothing was lost.
        if let Some((start, end)) = dsack {
            if start >= u.from && end <= u.to && u.retrans > 0 {
                u.retrans -= 1;
                if u.retrans == 0 {
                    detected = detected.or(Some(Detected::Dsack));
                }
            }
        }
        if let Some(detected) = detected {
            self.undo_congestion_response(now, detected);
        }
    }

    /// F-RTO (RFC 5682, `frto`) found the retransmission timeout spurious.
    pub(super) fn on_spurious_timeout_frto(&mut self, now: Instant) {
        self.undo_congestion_response(now, Detected::Frto);
    }

    /// The response to a congestion response found spurious: the controller
    /// restores its state from before it, the recovery ends, and after a timeout
    /// transmission goes on with new data.
    fn undo_congestion_response(&mut self, now: Instant, detected: Detected) {
        let Some(s) = self.cc.as_deref_mut() else {
            return;
        };
        // F-RTO finds only timeouts spurious; its episode may be gone (an ECN
        // reduction replaced it), and then there is nothing left to undo.
        let timeout = match (detected, s.undo.take()) {
            (_, Some(u)) => {
                s.cc.on_spurious_congestion_event(now);
                u.timeout
            }
            (Detected::Frto, None) => true,
            (_, None) => return,
        };
        s.frto = None;
        if let Some(r) = s.recovery.take() {
            s.last_recover = Some(r.recover);
            s.rack.on_recovery_exit();
        }
        // The peer reordered (or delayed) rather than dropped.
        s.rack.on_spurious_retransmission();
        let c = s.loss_mut();
        match detected {
            Detected::Dsack => c.dsack_undos = c.dsack_undos.saturating_add(1),
            // F-RTO's undo is counted only as a spurious timeout (Linux counts
            // TCPSpuriousRTOs alone for it too).
            Detected::Frto => {}
            Detected::Eifel if timeout => c.loss_undos = c.loss_undos.saturating_add(1),
            Detected::Eifel => c.full_undos = c.full_undos.saturating_add(1),
        }
        if timeout {
            c.spurious_rtos = c.spurious_rtos.saturating_add(1);
            //= https://www.rfc-editor.org/rfc/rfc4015#section-3.1
            // The Eifel response: after a spurious timeout, transmission resumes
            // with new data rather than resending what was sent once already.
            //= https://www.rfc-editor.org/rfc/rfc5682#section-4
            //# When the retransmission timeout is detected
            //# to be spurious, the TCP sender should not continue retransmitting
            //# based on the timeout.
            if self.snd_nxt < self.snd_max {
                self.snd_nxt = self.snd_max;
            }
        }
    }
}
