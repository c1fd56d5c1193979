//! The connection's side of RACK-TLP (RFC 8985), the default loss detection of a
//! connection that negotiated SACK (`SocketOptions::rack`).
//!
//! The send records (`congestion`, one per segment sent, with its last
//! transmission time) are RACK's per-segment state; they exist only while data is
//! in flight. Each ACK:
//! 1. before SND.UNA moves ([`Connection::on_ack_rack`]): every segment it newly
//!    delivers, cumulatively or by SACK, updates `RACK.xmit_ts/end_seq/rtt` and the
//!    reordering detection; an outstanding tail loss probe learns its fate;
//! 2. after ([`Connection::rack_detect_loss`]): a D-SACK widens the reordering
//!    window; every unacknowledged segment sent before the most recently delivered
//!    one is lost once `RACK.rtt + reo_wnd` passed since it left, else the reorder
//!    timer is armed for when it will have. Losses move the scoreboard's RACK
//!    boundary, so the RFC 6675 machinery (recovery entry on `IsLost(HighACK+1)`,
//!    `NextSeg`, `SetPipe`, PRR) repairs them.
//!
//! The tail loss probe timer (PTO) runs while data is in flight outside a
//! recovery and nothing is SACKed; when it fires, one segment (new data if the
//! receive window allows, else the last one sent) goes out whatever the
//! congestion window says, so that the ACK it brings starts a fast recovery
//! instead of waiting for the retransmission timeout.

use std::collections::VecDeque;

use super::congestion::{CcState, TxRecord, TLP_DUE};
use super::Connection;
use crate::cc::CongestionKind;
use crate::tcp::rack::{Rack, Verdict};
use crate::tcp::scoreboard::{SackUpdate, Scoreboard, DEFAULT_MAX_RANGES};
use crate::tcp::state::State;
use crate::tcp::timer::Timer;
use crate::time::{Duration, Instant};
use crate::wire::{SeqNumber, TcpRepr};

/// The D-SACK block of an ACK, if its first SACK block is one: below the
/// cumulative ACK, or inside the second block.
//= https://www.rfc-editor.org/rfc/rfc2883#section-4
#[inline(always)]
pub(super) fn dsack_block(seg: &TcpRepr<'_>) -> Option<(SeqNumber, SeqNumber)> {
    if seg.options.sack_ranges.is_empty() {
        return None;
    }
    dsack_block_of(seg)
}

/// [`dsack_block`] of an ACK with SACK blocks. Out of line: most ACKs carry none.
#[inline(never)]
fn dsack_block_of(seg: &TcpRepr<'_>) -> Option<(SeqNumber, SeqNumber)> {
    let blocks = seg.options.sack_ranges.as_slice();
    let &(start, end) = blocks.first()?;
    if end <= start {
        return None;
    }
    let below_ack = end <= seg.ack_number;
    let inside_second = blocks
        .get(1)
        .is_some_and(|&(s2, e2)| s2 <= start && end <= e2);
    (below_ack || inside_second).then_some((start, end))
}

impl Connection {
    /// Whether RACK-TLP decides the losses: SACK negotiated and the option on.
    pub(super) fn rack_on(&self) -> bool {
        self.sack_ok && self.options.rack
    }

    /// A scoreboard from HighACK `una`, with RACK deciding the losses if it is on.
    pub(super) fn new_scoreboard(&self, una: SeqNumber) -> Scoreboard {
        let mut board = Scoreboard::new(una, DEFAULT_MAX_RANGES);
        if self.rack_on() {
            board.use_rack();
        }
        board
    }

    /// RFC 8985 steps 2 and 3 for an acceptable ACK, before SND.UNA moves: the
    /// segments it newly delivers update RACK, in ascending sequence order; the
    /// tail loss probe episode learns whether the probe repaired a loss. Returns
    /// the ACK's D-SACK block.
    //= https://www.rfc-editor.org/rfc/rfc8985#section-6.2
    pub(super) fn on_ack_rack(
        &mut self,
        now: Instant,
        seg: &TcpRepr<'_>,
        update: SackUpdate,
    ) -> Option<(SeqNumber, SeqNumber)> {
        let dsack = if self.sack_ok { dsack_block(seg) } else { None };
        if !self.rack_on() {
            return dsack;
        }
        let ack = seg.ack_number.min(self.snd_max);
        let una = self.snd_una;
        let Some(s) = self.cc.as_deref_mut() else {
            return dsack;
        };
        // Cumulatively acknowledged (the records are dropped later, by `on_ack_cc`).
        // The common case, records sent once and in sequence order, in one pass
        // and one RACK update (`Rack::on_delivered_run`); the rest (the records
        // one by one, SACKed records, a tail loss probe outstanding) out of line.
        let each = ack > una && !rack_delivered_run(s, now, ack);
        if each || update.newly_sacked > 0 || s.rack.probe_outstanding() {
            self.on_ack_rack_rest(now, seg, dsack, each, update);
        }
        dsack
    }

    /// The uncommon steps of [`on_ack_rack`](Self::on_ack_rack) (RACK on, a
    /// congestion state, SND.UNA not moved yet) for an ACK `seg` with the D-SACK
    /// block `dsack`: the records it acknowledges cumulatively one by one
    /// (`each`: `rack_delivered_run` refused them), the records its SACK blocks
    /// newly cover (`update`), and an outstanding tail loss probe's fate. Out of
    /// line and cold: the common ACK delivers its records as a run, carries no
    /// SACK blocks and finds no probe outstanding.
    #[cold]
    #[inline(never)]
    fn on_ack_rack_rest(
        &mut self,
        now: Instant,
        seg: &TcpRepr<'_>,
        dsack: Option<(SeqNumber, SeqNumber)>,
        each: bool,
        update: SackUpdate,
    ) {
        let ack = seg.ack_number.min(self.snd_max);
        let una = self.snd_una;
        let echo = match (self.ts, seg.options.timestamp) {
            (Some(_), Some(opt)) if opt.tsecr != 0 => Some(opt.tsecr),
            _ => None,
        };
        let ts_offset = self.ts.map_or(0, |t| t.offset);
        let duplicate = ack == una && seg.payload.is_empty() && seg.options.sack_ranges.is_empty();
        let outstanding = self.outstanding() as usize;
        let min_rtt = self.rtt.min_rtt();
        let Some(s) = self.cc.as_deref_mut() else {
            return;
        };
        let mut reordered = false;
        if each {
            reordered |= rack_delivered_each(s, now, ack, echo, ts_offset, min_rtt);
        }
        // Selectively acknowledged: the records wholly inside a block, not seen
        // SACKed before.
        if update.newly_sacked > 0 {
            reordered |= rack_sacked(s, now, seg, ack, dsack, min_rtt);
        }
        if reordered {
            let c = s.loss_mut();
            c.sack_reorders = c.sack_reorders.saturating_add(1);
        }
        //= https://www.rfc-editor.org/rfc/rfc8985#section-7.4
        // A probe that resent data, acknowledged with data beyond it and no
        // D-SACK: it repaired a loss, and the congestion controller must hear of it.
        if s.rack.on_ack_probe(ack, dsack, duplicate) {
            on_probe_repaired_loss(s, now, outstanding);
        }
    }

    /// RFC 8985 steps 4 and 5 after an ACK (SND.UNA moved), or when the reorder
    /// timer fires: adapts the reordering window to a D-SACK, marks the segments
    /// RACK deems lost on the scoreboard and arms the reorder timer for those that
    /// will be unless acknowledged soon. Returns whether new losses were marked.
    //= https://www.rfc-editor.org/rfc/rfc8985#section-6.2
    pub(super) fn rack_detect_loss(&mut self, now: Instant, dsack: bool) -> bool {
        if !self.rack_on() {
            return false;
        }
        let (una, snd_nxt) = (self.snd_una, self.snd_max);
        let (srtt, min_rtt) = (self.rtt.srtt(), self.rtt.min_rtt());
        let mss = u32::from(self.mss.max(1));
        let rto_recovery = self.rto_count > 0;
        let Some(s) = self.cc.as_deref_mut() else {
            return false;
        };
        s.rack.on_ack_dsack(una, snd_nxt, dsack);
        let in_recovery = s.recovery.is_some() || rto_recovery;
        let Some(board) = s.board.as_mut() else {
            self.timers.clear(Timer::Reorder);
            return false;
        };
        let Some(lost_to) = board.rack_lost_to() else {
            return false;
        };
        let segs_sacked = board.sacked_bytes().div_ceil(mss);
        let reo_wnd = s.rack.reo_wnd(in_recovery, segs_sacked, min_rtt, srtt);
        let mut new_lost_to = lost_to;
        let mut wait = Duration::ZERO;
        let first = s.tx_records.partition_point(|r| r.end <= lost_to);
        for r in s.tx_records.range(first..) {
            if r.sacked {
                continue;
            }
            match s.rack.verdict(now, r.tx.sent_time, r.end, reo_wnd) {
                Verdict::Lost => new_lost_to = r.end,
                Verdict::LostIn(d) => wait = wait.max(d),
                // Sent after the most recently delivered segment: so is everything
                // after it, unless resent since.
                Verdict::Unknown if !r.retransmitted => break,
                Verdict::Unknown => {}
            }
        }
        let mut marked = board.mark_lost_to(new_lost_to);
        //= https://www.rfc-editor.org/rfc/rfc8985#section-6.2
        // A retransmission is timed like any transmission (its Segment.xmit_ts
        // is the retransmission's): once a segment sent after it was delivered
        // and RACK.rtt + reo_wnd passed, it is lost again, and is resent again
        // without waiting for the retransmission timer (Linux's
        // TCPLostRetransmit). Only the retransmissions of this recovery, below
        // HighRxt, not yet deemed lost, are in question.
        let high_rxt = board.high_rxt();
        if high_rxt > una {
            let mut relost = 0u32;
            let mut lost_bytes = 0usize;
            for r in s.tx_records.iter_mut() {
                if r.start >= high_rxt {
                    break;
                }
                if r.sacked || !r.retransmitted || r.rate_lost {
                    continue;
                }
                match s.rack.verdict(now, r.tx.sent_time, r.end, reo_wnd) {
                    Verdict::Lost => {
                        if board.mark_retransmission_lost(r.start, r.end) > 0 {
                            r.rate_lost = true;
                            relost = relost.saturating_add(1);
                            lost_bytes = lost_bytes
                                .saturating_add(r.end.min(high_rxt).diff(r.start).max(0) as usize);
                        }
                    }
                    Verdict::LostIn(d) => wait = wait.max(d),
                    Verdict::Unknown => {}
                }
            }
            if relost > 0 {
                marked = true;
                let c = s.loss_mut();
                c.lost_retransmits = c.lost_retransmits.saturating_add(relost);
                s.rate.on_packet_lost(lost_bytes);
            }
        }
        Connection::on_rack_marked_lost(s, first, new_lost_to);
        //= https://www.rfc-editor.org/rfc/rfc8985#section-6.2
        // RACK_detect_loss_and_arm_timer: the reorder timer waits for the
        // segments that will be deemed lost unless acknowledged in time.
        if wait > Duration::ZERO {
            self.timers.set(Timer::Reorder, now + wait);
        } else {
            self.timers.clear(Timer::Reorder);
        }
        marked
    }

    /// [`rack_detect_loss`](Self::rack_detect_loss) for a connection without a
    /// scoreboard (`loss_idle`): no segment can be marked lost, so only the D-SACK
    /// round bookkeeping (`RACK_update_reo_wnd`) and the reorder timer's
    /// cancelling remain. The same result, without the RTT and window reads.
    pub(super) fn rack_detect_loss_boardless(&mut self, dsack: bool) {
        if !self.rack_on() {
            return;
        }
        let (una, snd_nxt) = (self.snd_una, self.snd_max);
        let Some(s) = self.cc.as_deref_mut() else {
            return;
        };
        debug_assert!(s.board.is_none());
        s.rack.on_ack_dsack(una, snd_nxt, dsack);
        self.timers.clear(Timer::Reorder);
    }

    /// The reorder timer fired: the segments it waited for are lost now, and a
    /// recovery begins if the first unacknowledged one is among them.
    //= https://www.rfc-editor.org/rfc/rfc8985#section-6.3
    pub(super) fn on_reorder_timeout(&mut self, now: Instant) {
        if self.outstanding() == 0 {
            return;
        }
        if let Some(s) = self.cc.as_deref_mut() {
            let c = s.loss_mut();
            c.rack_reorder_timeouts = c.rack_reorder_timeouts.saturating_add(1);
        }
        if self.rack_detect_loss(now, false) {
            self.after_ack_sack(now, SackUpdate::default());
        }
        self.arm_loss_probe(now, false);
    }

    /// Whether a tail loss probe may be scheduled now: data in flight, no recovery
    /// or timeout under way, nothing SACKed, no probe outstanding, no reorder
    /// timer waiting.
    //= https://www.rfc-editor.org/rfc/rfc8985#section-7.2
    fn probe_allowed(&self) -> bool {
        if !self.rack_on()
            || self.outstanding() == 0
            || self.rto_count > 0
            || self.frto_active()
            || self.timers.is_set(Timer::Reorder)
            || !matches!(
                self.state,
                State::Established
                    | State::CloseWait
                    | State::FinWait1
                    | State::Closing
                    | State::LastAck
            )
        {
            return false;
        }
        let Some(s) = self.cc.as_deref() else {
            return false;
        };
        s.recovery.is_none()
            && s.probe_due & TLP_DUE == 0
            && !s.rack.probe_outstanding()
            && s.board.as_ref().is_none_or(|b| b.is_empty())
    }

    /// Schedules the probe timeout after new data left or an ACK acknowledged new
    /// data (`restart`), or cancels it when no probe may go. An ACK that
    /// acknowledged nothing new leaves a running timer alone.
    //= https://www.rfc-editor.org/rfc/rfc8985#section-7.2
    pub(super) fn arm_loss_probe(&mut self, now: Instant, restart: bool) {
        if !self.probe_allowed() {
            self.timers.clear(Timer::Probe);
            return;
        }
        if !restart && self.timers.is_set(Timer::Probe) {
            return;
        }
        let at = self.pto_deadline(now);
        self.timers.set(Timer::Probe, at);
    }

    /// What [`arm_loss_probe`](Self::arm_loss_probe) with a restart at `now` sets
    /// the probe timer to, or `None` when it clears it. Apart from `now`, it
    /// depends only on state that sending more new data leaves alone once more
    /// than a segment is outstanding (the send burst relies on that: `burst`).
    pub(super) fn loss_probe_deadline(&self, now: Instant) -> Option<Instant> {
        self.probe_allowed().then(|| self.pto_deadline(now))
    }

    /// The probe timeout a (re)start at `now` arms, when a probe is allowed.
    #[inline(always)]
    fn pto_deadline(&self, now: Instant) -> Instant {
        let rto_expiry = self
            .timers
            .get(Timer::Retransmit)
            .unwrap_or_else(|| self.rtt.rto_deadline(now));
        let one_segment = self.outstanding() <= u32::from(self.mss.max(1));
        // A few nanoseconds before the retransmission timeout at the latest: the
        // timer table may round the probe's deadline up by up to 3 ns, and the
        // probe is to go first.
        let latest = Instant::from_nanos(rto_expiry.as_nanos().saturating_sub(3)).max(now);
        Rack::pto_deadline_nanos(now, self.rtt.srtt_nanos(), one_segment, latest)
    }

    /// The probe timer fired: a probe goes out with the next transmission, and
    /// the retransmission timer restarts.
    //= https://www.rfc-editor.org/rfc/rfc8985#section-7.3
    pub(super) fn on_probe_timeout(&mut self, now: Instant) {
        if !self.probe_allowed() {
            return;
        }
        if let Some(s) = self.cc.as_deref_mut() {
            s.probe_due |= TLP_DUE;
            let c = s.loss_mut();
            c.loss_probes = c.loss_probes.saturating_add(1);
        }
        self.timers.set(Timer::Retransmit, now + self.rtt.rto());
    }

    /// Whether a probe waits to be sent: a tail loss probe, or a path MTU
    /// probe (`plpmtud`).
    pub(super) fn probe_due(&self) -> bool {
        self.cc.as_deref().is_some_and(|s| s.probe_due != 0)
    }

    /// Whether a tail loss probe waits to be sent.
    pub(super) fn tlp_due(&self) -> bool {
        self.cc
            .as_deref()
            .is_some_and(|s| s.probe_due & TLP_DUE != 0)
    }

    /// The probe is being sent: it ends at `end` (SND.NXT after it) and resends
    /// data if `retransmission`.
    pub(super) fn on_probe_planned(&mut self, end: SeqNumber, retransmission: bool) {
        let end = end.max(self.snd_max);
        if let Some(s) = self.cc.as_deref_mut() {
            s.probe_due &= !TLP_DUE;
            s.rack.on_probe_sent(end, retransmission);
        }
    }

    /// Where the last segment sent begins (its send record), for a probe that
    /// resends it.
    pub(super) fn last_segment_start(&self) -> Option<SeqNumber> {
        self.cc.as_deref()?.tx_records.back().map(|r| r.start)
    }

    /// A probe was due but nothing could be sent.
    pub(super) fn on_probe_unsendable(&mut self) {
        if let Some(s) = self.cc.as_deref_mut() {
            s.probe_due &= !TLP_DUE;
        }
    }
}

/// A tail loss probe repaired a loss (`outstanding` bytes were outstanding): it
/// is counted, and outside a recovery the congestion controller hears of the
/// loss. Out of line: rare.
#[cold]
#[inline(never)]
fn on_probe_repaired_loss(s: &mut CcState, now: Instant, outstanding: usize) {
    let c = s.loss_mut();
    c.loss_probe_recoveries = c.loss_probe_recoveries.saturating_add(1);
    if s.recovery.is_none() {
        //= https://www.rfc-editor.org/rfc/rfc8985#section-7.4.2
        s.cc.on_congestion_event(now, CongestionKind::Loss, outstanding);
        s.undo = None;
    }
}

/// RFC 8985 steps 2 and 3 for the records cumulatively acknowledged up to `ack`,
/// one RACK update per record (what [`rack_delivered_run`] refused): `echo` is the
/// ACK's echoed timestamp, if any, and `ts_offset` our timestamps' offset. Returns
/// whether a record was seen reordered. Out of line: the common ACK takes the run.
#[cold]
#[inline(never)]
fn rack_delivered_each(
    s: &mut CcState,
    now: Instant,
    ack: SeqNumber,
    echo: Option<u32>,
    ts_offset: u32,
    min_rtt: Option<Duration>,
) -> bool {
    // Whether the ACK echoes a timestamp older than a transmission at `xmit`.
    let echo_before = |xmit: Instant| {
        echo.is_some_and(|e| {
            let tsval = ((xmit.as_nanos() / 1_000_000) as u32).wrapping_add(ts_offset);
            (e.wrapping_sub(tsval) as i32) < 0
        })
    };
    let mut reordered = false;
    for (r, end) in newly_acked(&s.tx_records, ack) {
        reordered |= s.rack.on_delivered(
            now,
            r.tx.sent_time,
            end,
            r.retransmitted,
            echo_before(r.tx.sent_time),
            min_rtt,
        );
    }
    reordered
}

/// RFC 8985 steps 2 and 3 for the records `seg`'s SACK blocks newly cover (wholly
/// inside a block, not seen SACKed before), `ack` being the cumulative ACK and
/// `dsack` the ACK's D-SACK block. Returns whether a record was seen reordered.
/// Out of line: only an ACK with new SACK blocks needs it.
#[cold]
#[inline(never)]
fn rack_sacked(
    s: &mut CcState,
    now: Instant,
    seg: &TcpRepr<'_>,
    ack: SeqNumber,
    dsack: Option<(SeqNumber, SeqNumber)>,
    min_rtt: Option<Duration>,
) -> bool {
    let mut reordered = false;
    let mut blocks: [(SeqNumber, SeqNumber); 4] = [(SeqNumber(0), SeqNumber(0)); 4];
    let mut n = 0;
    for &b in seg.options.sack_ranges.as_slice() {
        if n < blocks.len() && b.1 > b.0 && b.1 > ack && Some(b) != dsack {
            blocks[n] = b;
            n += 1;
        }
    }
    let blocks = &mut blocks[..n];
    blocks.sort_unstable_by_key(|b| b.0.diff(ack));
    for &(start, end) in blocks.iter() {
        let first = s.tx_records.partition_point(|r| r.end <= start);
        for r in s.tx_records.range_mut(first..) {
            if r.start >= end {
                break;
            }
            if r.sacked || r.start < start || r.end > end {
                continue;
            }
            r.sacked = true;
            // The echoed timestamp says nothing of a SACKed segment: an
            // RFC 7323 receiver echoes the last in-order segment's for
            // one that arrived out of order (a tail loss probe's, say).
            // Only the min_RTT test tells its transmissions apart, as in
            // Linux's tcp_rack_advance.
            reordered |=
                s.rack
                    .on_delivered(now, r.tx.sent_time, r.end, r.retransmitted, false, min_rtt);
        }
    }
    reordered
}

/// The send records an ACK up to `ack` delivers cumulatively, in order, with where
/// each one's delivered part ends: those starting below `ack`, less the ones a SACK
/// already delivered.
fn newly_acked(
    records: &VecDeque<TxRecord>,
    ack: SeqNumber,
) -> impl Iterator<Item = (&TxRecord, SeqNumber)> {
    records
        .iter()
        .take_while(move |r| r.start < ack)
        .filter(|r| !r.sacked)
        .map(move |r| (r, r.end.min(ack)))
}

/// RFC 8985 step 2 and 3 for the records cumulatively acknowledged up to `ack`
/// (the SACKed ones skipped), in one call of [`Rack::on_delivered_run`], when
/// they were all sent once, in ascending order of sequence and transmission, and
/// the first of them does not end below RACK.fack. Returns false, having changed
/// nothing, otherwise.
fn rack_delivered_run(s: &mut CcState, now: Instant, ack: SeqNumber) -> bool {
    #[cfg(test)]
    if super::ack::FORCE_GENERAL_ACK.get() {
        return false;
    }
    let taken = rack_run(s, now, ack);
    #[cfg(test)]
    RACK_RUNS.with(|r| {
        let [t, n] = r.get();
        r.set([t + u32::from(taken), n + u32::from(!taken)]);
    });
    taken
}

#[cfg(test)]
std::thread_local! {
    /// Test-only: how many ACKs `rack_delivered_run` took on its one pass, and
    /// how many it refused.
    pub(super) static RACK_RUNS: std::cell::Cell<[u32; 2]> = const { std::cell::Cell::new([0; 2]) };
}

/// [`rack_delivered_run`] without the test switch.
fn rack_run(s: &mut CcState, now: Instant, ack: SeqNumber) -> bool {
    // (first end, last send time, last end)
    let mut run: Option<(SeqNumber, Instant, SeqNumber)> = None;
    for (r, end) in newly_acked(&s.tx_records, ack) {
        let first = match run {
            None => end,
            Some((first, t, e)) => {
                if r.tx.sent_time < t || end <= e {
                    return false;
                }
                first
            }
        };
        if r.retransmitted {
            return false;
        }
        run = Some((first, r.tx.sent_time, end));
    }
    match run {
        Some((first, t, last)) => s.rack.on_delivered_run(now, first, t, last),
        None => true,
    }
}
