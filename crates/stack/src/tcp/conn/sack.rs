//! SACK-based loss recovery for a connection that negotiated SACK (RFC 2018): the
//! scoreboard ([`crate::tcp::scoreboard`]) fed by every ACK, recovery entry on
//! DupThresh duplicate ACKs or `IsLost(HighACK + 1)` (RFC 6675 section 5), what
//! `NextSeg()` says to resend while `cwnd − pipe ≥ SMSS`, and the recovery window
//! from proportional rate reduction ([`crate::tcp::prr`], RFC 6937). Without SACK
//! the connection keeps NewReno's recovery (RFC 6582, in `congestion`).

use super::Connection;
use crate::tcp::prr::Prr;
use crate::tcp::scoreboard::{NextSeg, SackUpdate};
use crate::time::Instant;
use crate::wire::{SeqNumber, TcpRepr};

impl Connection {
    /// Feeds an acceptable ACK's SACK blocks and cumulative acknowledgment to the
    /// scoreboard, before SND.UNA moves. Returns what changed (nothing without
    /// SACK or before any data was sent).
    //= https://www.rfc-editor.org/rfc/rfc6675#section-5
    pub(super) fn on_ack_scoreboard(&mut self, seg: &TcpRepr<'_>) -> SackUpdate {
        if !self.sack_ok || !self.syn_acked() {
            return SackUpdate::default();
        }
        let una = self.snd_una;
        let ack = seg.ack_number.max(una);
        let snd_max = self.snd_max;
        let blocks = seg.options.sack_ranges;
        let fresh = self.new_scoreboard(una);
        let Some(s) = self.cc.as_deref_mut() else {
            return SackUpdate::default();
        };
        if s.board.is_none() {
            if blocks.is_empty() {
                return SackUpdate::default();
            }
            s.board = Some(fresh);
        }
        let Some(board) = s.board.as_mut() else {
            return SackUpdate::default();
        };
        let (dropped, renegings) = (board.dropped(), board.renegings());
        let update = board.on_ack(ack, blocks.as_slice(), snd_max);
        let c = &mut self.counters;
        c.sack_ranges_dropped = c
            .sack_ranges_dropped
            .saturating_add((board.dropped() - dropped) as u32);
        c.sack_renegings = c
            .sack_renegings
            .saturating_add((board.renegings() - renegings) as u32);
        update
    }

    /// After an ACK was processed: a SACK recovery begins when the scoreboard
    /// presumes SND.UNA lost (or the third duplicate ACK began one), and during
    /// one the window becomes pipe plus PRR's sndcnt for this ACK.
    pub(super) fn after_ack_sack(&mut self, now: Instant, update: SackUpdate) {
        if !self.sack_ok || self.cc.is_none() {
            return;
        }
        let mss = u32::from(self.mss.max(1));
        let una = self.snd_una;
        let snd_max = self.snd_max;
        let outstanding = self.outstanding();
        if outstanding == 0 {
            return;
        }
        let in_recovery = self.cc.as_deref().is_some_and(|s| s.recovery.is_some());
        //= https://www.rfc-editor.org/rfc/rfc6675#section-5
        // Recovery also begins when IsLost (HighACK + 1) is true, before DupThresh
        // duplicate ACKs arrived (with few segments in flight, or ACKs lost).
        if !in_recovery
            && self
                .cc
                .as_deref()
                .and_then(|s| s.board.as_ref())
                .is_some_and(|b| b.is_lost(una, mss))
            && self.on_triple_dupack(now, una)
        {
            self.retransmit_una = true;
            self.counters.fast_retransmits = self.counters.fast_retransmits.saturating_add(1);
            self.rtt_probe = None;
        }
        let fresh = self.new_scoreboard(una);
        let s = self.ccs();
        let Some(r) = s.recovery.as_mut() else {
            return;
        };
        let board = s.board.get_or_insert(fresh);
        let mut entered = false;
        if r.prr.is_none() {
            //= https://www.rfc-editor.org/rfc/rfc6675#section-5
            // (4.3) the first segment presumed dropped, from HighACK, is
            // retransmitted at once (`retransmit_una`); HighRxt and RescueRxt
            // move past it.
            board.on_recovery_start();
            let first = outstanding.min(mss);
            board.on_retransmit(una, first);
            board.on_rescue(una + first);
            //= https://www.rfc-editor.org/rfc/rfc6937#section-3.1
            // At the beginning of recovery: ssthresh from the controller, RecoverFS
            // the data in flight, prr_delivered = prr_out = 0.
            let ssthresh = u32::try_from(s.cc.window()).unwrap_or(u32::MAX);
            r.prr = Some(Prr::new(ssthresh, outstanding));
            entered = true;
        }
        let pipe = board.pipe(snd_max, mss);
        if let Some(prr) = r.prr.as_mut() {
            let sndcnt = prr.on_ack(update.delivered, pipe, mss);
            r.cwnd = if s.cc.controls_recovery_window() {
                // The controller's window rules its recoveries (BBR).
                u32::try_from(s.cc.window()).unwrap_or(u32::MAX)
            } else {
                pipe.saturating_add(sndcnt)
            };
        }
        if entered {
            self.counters.sack_recoveries = self.counters.sack_recoveries.saturating_add(1);
        }
    }

    /// Whether a SACK recovery is under way.
    fn in_sack_recovery(&self) -> bool {
        self.cc
            .as_deref()
            .and_then(|s| s.recovery.as_ref())
            .is_some_and(|r| r.prr.is_some())
    }

    /// The bytes the congestion window is measured against: the scoreboard's pipe
    /// during a SACK recovery, else the bytes in flight less the limited-transmit
    /// allowance.
    #[inline]
    pub(super) fn flight_for_window(&self) -> u32 {
        // Outside a recovery and with no duplicate ACK, neither the pipe nor a
        // limited-transmit allowance applies: the flight itself.
        if self.dupacks == 0 && self.cc.as_deref().is_none_or(|s| s.recovery.is_none()) {
            return self.flight();
        }
        self.flight_for_window_recovering()
    }

    /// [`flight_for_window`](Self::flight_for_window) in a recovery or after a
    /// duplicate ACK. Out of line: the common ACK and send need none of it.
    #[inline(never)]
    fn flight_for_window_recovering(&self) -> u32 {
        if self.in_sack_recovery() {
            if let Some(board) = self.cc.as_deref().and_then(|s| s.board.as_ref()) {
                return board.pipe(self.snd_max, u32::from(self.mss.max(1)));
            }
        }
        self.flight()
            .saturating_sub(self.limited_transmit_allowance())
    }

    /// Limited transmit: outside a recovery, each of the first two duplicate ACKs
    /// lets one more new segment go beyond the congestion window (whose value does
    /// not change), so that a small window still brings the ACKs that detect a loss.
    //= https://www.rfc-editor.org/rfc/rfc3042#section-2
    fn limited_transmit_allowance(&self) -> u32 {
        // Only new data may go: not the resending after a timeout (whose
        // duplicate ACKs would otherwise clock out segments the peer may hold,
        // during F-RTO's wait for its first new ACK too).
        if self.dupacks == 0
            || self.snd_nxt < self.snd_max
            || self.cc.as_deref().is_none_or(|s| s.recovery.is_some())
        {
            return 0;
        }
        self.dupacks.min(2) * u32::from(self.mss.max(1))
    }

    /// What `NextSeg()` would resend now, if the window allows a segment: its start,
    /// its length and whether it is the rescue retransmission. `new_data` says
    /// whether new data could go (rule 2, which `data_plan` then sends).
    pub(super) fn sack_next(&self, new_data: bool) -> Option<(SeqNumber, u32, bool)> {
        let s = self.cc.as_deref()?;
        let r = s.recovery.as_ref()?;
        r.prr.as_ref()?;
        let board = s.board.as_ref()?;
        let mss = u32::from(self.mss.max(1));
        //= https://www.rfc-editor.org/rfc/rfc6675#section-5
        // (C) If cwnd - pipe >= 1 SMSS, the sender SHOULD transmit one or more
        // segments.
        let pipe = board.pipe(self.snd_max, mss);
        if r.cwnd.saturating_sub(pipe) < mss {
            return None;
        }
        match board.next_seg(self.snd_max, mss, new_data, r.recover)? {
            NextSeg::Retransmit { seq, len } => Some((seq, len, false)),
            NextSeg::Rescue { seq, len } => Some((seq, len, true)),
            NextSeg::NewData => None,
        }
    }

    /// Takes the retransmission `NextSeg()` chose: HighRxt (or RescueRxt) moves
    /// past it and it is counted.
    pub(super) fn take_sack_retransmission(&mut self, new_data: bool) -> Option<(SeqNumber, u32)> {
        let (seq, len, rescue) = self.sack_next(new_data)?;
        let s = self.cc.as_deref_mut()?;
        let recover = s.recovery.as_ref()?.recover;
        let board = s.board.as_mut()?;
        if rescue {
            board.on_rescue(recover);
        } else {
            board.on_retransmit(seq, len);
        }
        self.counters.sack_retransmits = self.counters.sack_retransmits.saturating_add(1);
        Some((seq, len))
    }

    /// Segments SACKed and presumed lost, for `TcpInfo` (None without a
    /// scoreboard).
    pub(super) fn sack_info(&self) -> Option<(u32, u32)> {
        let board = self.cc.as_deref()?.board.as_ref()?;
        let mss = u32::from(self.mss.max(1));
        Some((
            board.sacked_bytes().div_ceil(mss),
            board.lost_bytes(mss).div_ceil(mss),
        ))
    }
}
