//! RACK-TLP (RFC 8985): time-based loss detection for a SACK sender.
//!
//! RACK ("recent acknowledgment") deems a segment lost when a segment sent
//! sufficiently later was delivered: `RACK.xmit_ts` and `RACK.end_seq` remember
//! the most recently sent segment the peer acknowledged (cumulatively or by SACK),
//! `RACK.rtt` its round trip, and an unacknowledged segment sent before it is lost
//! once `RACK.rtt + RACK.reo_wnd` passed since it was sent. The reordering window
//! starts at zero, becomes `min_RTT / 4` once reordering was seen, grows with
//! D-SACKs and is capped at SRTT. TLP ("tail loss probe") sends one probe
//! segment when no ACK came for `PTO = 2·SRTT` (plus 2 ms, as Linux), so that a lost tail brings SACKs
//! (and RACK's fast recovery) instead of a retransmission timeout.
//!
//! This module is the algorithm's state and its arithmetic, per segment and per
//! ACK; it knows nothing of the send records or the scoreboard. The connection's
//! side (`conn::rack`) walks its send records through it and feeds the losses
//! to the RFC 6675 scoreboard, whose retransmissions and PRR do the repair.

use crate::time::{Duration, Instant};
use crate::wire::SeqNumber;

/// RFC 6675's DupThresh, as RFC 8985 uses it for the reordering window.
const DUP_THRESH: u32 = 3;

/// D-SACK-free recoveries after which the reordering window shrinks back.
//= https://www.rfc-editor.org/rfc/rfc8985#section-6.2
const REO_WND_PERSIST: u8 = 16;

/// The worst-case delayed-ACK time added to the PTO with one segment in flight
/// (`WCDelAckT`).
//= https://www.rfc-editor.org/rfc/rfc8985#section-7.2
pub const WC_DEL_ACK_T: Duration = Duration::from_millis(200);

/// Slack added to `2·SRTT` with more than one segment in flight: Linux's
/// `TCP_TIMEOUT_MIN_US` (`tcp_schedule_loss_probe`). RFC 8985's bare `2·SRTT` is
/// tens of microseconds on a TUN or a LAN, where the peer's ACK is often later than
/// that by its scheduling alone: each such tail then went out twice (a spurious
/// probe, seen against the Linux kernel on a TUN at 2·SRTT = 66 µs). The RFC's
/// requirement that PTO leave time for an ACK to come back is what this keeps; at
/// Internet round trips 2 ms is noise.
//= https://www.rfc-editor.org/rfc/rfc8985#section-7.2
//# the PTO value MUST be set to at least 2*SRTT
pub const PTO_SLACK: Duration = Duration::from_millis(2);

/// The PTO before any RTT sample.
//= https://www.rfc-editor.org/rfc/rfc8985#section-7.2
pub const PTO_WITHOUT_RTT: Duration = Duration::from_secs(1);

/// What RACK says of one unacknowledged segment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// Sent after the most recently delivered segment: nothing known yet.
    Unknown,
    /// Lost.
    Lost,
    /// Lost unless acknowledged within this time (the reorder timer's delay).
    LostIn(Duration),
}

/// The state of RACK and TLP of one connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rack {
    /// RACK.xmit_ts: when the most recently sent delivered segment was sent.
    xmit_ts: Option<Instant>,
    /// RACK.end_seq: that segment's end.
    end_seq: SeqNumber,
    /// RACK.rtt: its round-trip time.
    rtt: Duration,
    /// RACK.fack: the highest end of a delivered segment; `None` before the first
    /// delivery. Not a sentinel sequence number: sequence comparison is modular
    /// (RFC 1982), so `SeqNumber(0)` is below every sequence number in the half
    /// of the space after it and above every one in the half before it, and a
    /// connection whose ISN fell in that upper half would see each delivery as
    /// reordering.
    fack: Option<SeqNumber>,
    /// RACK.reordering_seen.
    reordering_seen: bool,
    /// RACK.reo_wnd_mult.
    reo_wnd_mult: u8,
    /// RACK.reo_wnd_persist.
    reo_wnd_persist: u8,
    /// RACK.dsack_round: SND.NXT when the window last grew for a D-SACK.
    dsack_round: Option<SeqNumber>,
    /// TLP.end_seq: SND.NXT after the outstanding probe.
    tlp_end_seq: Option<SeqNumber>,
    /// TLP.is_retrans: the outstanding probe resent data.
    tlp_is_retrans: bool,
    /// When the last retransmission timeout fired: what was sent before it says
    /// nothing of reordering (see [`Rack::on_rto`]).
    rto_at: Option<Instant>,
}

impl Default for Rack {
    fn default() -> Rack {
        Rack::new()
    }
}

/// Whether a segment sent at `t1` ending at `seq1` was sent after one sent at `t2`
/// ending at `seq2` (`RACK_sent_after`).
//= https://www.rfc-editor.org/rfc/rfc8985#section-6.2
fn sent_after(t1: Instant, seq1: SeqNumber, t2: Instant, seq2: SeqNumber) -> bool {
    t1 > t2 || (t1 == t2 && seq1 > seq2)
}

impl Rack {
    /// A connection's RACK before anything was delivered.
    pub const fn new() -> Rack {
        Rack {
            xmit_ts: None,
            end_seq: SeqNumber(0),
            rtt: Duration::ZERO,
            fack: None,
            reordering_seen: false,
            reo_wnd_mult: 1,
            reo_wnd_persist: REO_WND_PERSIST,
            dsack_round: None,
            tlp_end_seq: None,
            tlp_is_retrans: false,
            rto_at: None,
        }
    }

    /// RACK.rtt (zero before the first delivery).
    pub fn rtt(&self) -> Duration {
        self.rtt
    }

    /// RACK.xmit_ts, once something was delivered.
    pub fn xmit_ts(&self) -> Option<Instant> {
        self.xmit_ts
    }

    /// Whether the peer was seen to reorder.
    pub fn reordering_seen(&self) -> bool {
        self.reordering_seen
    }

    /// RACK.reo_wnd_mult.
    pub fn reo_wnd_mult(&self) -> u32 {
        u32::from(self.reo_wnd_mult)
    }

    /// A segment `[.., end_seq)` sent at `xmit_ts` (`retransmitted` if it was sent
    /// more than once) was newly acknowledged at `now`, cumulatively or by SACK.
    /// `echo_before_xmit` says the ACK's echoed timestamp predates the (last)
    /// transmission: the ACK was for an earlier one. Call in ascending order of
    /// sequence (which is the order of transmission for segments sent once).
    /// Returns whether this delivery showed reordering.
    //= https://www.rfc-editor.org/rfc/rfc8985#section-6.2
    pub fn on_delivered(
        &mut self,
        now: Instant,
        xmit_ts: Instant,
        end_seq: SeqNumber,
        retransmitted: bool,
        echo_before_xmit: bool,
        min_rtt: Option<Duration>,
    ) -> bool {
        let mut reordered = false;
        // Step 3, RACK_detect_reordering: a segment delivered below the highest
        // delivered one, sent once, arrived out of order.
        //= https://www.rfc-editor.org/rfc/rfc9293#section-3.4
        //# Since the
        //# space is finite, all arithmetic dealing with sequence numbers must be
        //# performed modulo 2^32.
        // So a sequence number compares only with one of the same connection
        // (RACK.fack starts at the first delivered end), never with a constant.
        let fack = *self.fack.get_or_insert(end_seq);
        if end_seq > fack {
            self.fack = Some(end_seq);
        } else if end_seq < fack && !retransmitted && self.rto_at.is_none_or(|at| xmit_ts >= at) {
            self.reordering_seen = true;
            reordered = true;
        }
        // Step 2, RACK_update: the delivery of a retransmitted segment says nothing
        // of the retransmission when the ACK echoes an older timestamp or came back
        // faster than any round trip.
        let rtt = now.saturating_duration_since(xmit_ts);
        if retransmitted && (echo_before_xmit || min_rtt.is_some_and(|m| rtt < m)) {
            return reordered;
        }
        self.rtt = rtt;
        self.note_most_recent(xmit_ts, end_seq);
        reordered
    }

    /// RACK.xmit_ts and RACK.end_seq become the segment sent at `xmit_ts` and
    /// ending at `end_seq` if it was sent after the current one (step 2's
    /// `RACK_sent_after`).
    #[inline]
    fn note_most_recent(&mut self, xmit_ts: Instant, end_seq: SeqNumber) {
        let newer = match self.xmit_ts {
            None => true,
            Some(t) => sent_after(xmit_ts, end_seq, t, self.end_seq),
        };
        if newer {
            self.xmit_ts = Some(xmit_ts);
            self.end_seq = end_seq;
        }
    }

    /// [`on_delivered`](Self::on_delivered) for a run of segments, all sent once,
    /// newly acknowledged at `now`, in ascending order of sequence and of
    /// transmission (the first ending at `first_end`, the last sent at
    /// `last_xmit` and ending at `last_end`, ends strictly ascending), when none of
    /// them can show reordering: the calls in order would leave RACK.fack at the
    /// greatest end, RACK.rtt at the last one's round trip, and (each being sent
    /// after the one before) RACK.xmit_ts/end_seq at the last one if it was sent
    /// after the current ones. Returns false, having changed nothing, when the
    /// first one ends below RACK.fack (reordering to look at per segment).
    //= https://www.rfc-editor.org/rfc/rfc8985#section-6.2
    pub fn on_delivered_run(
        &mut self,
        now: Instant,
        first_end: SeqNumber,
        last_xmit: Instant,
        last_end: SeqNumber,
    ) -> bool {
        if self.fack.is_some_and(|f| first_end < f) {
            return false;
        }
        let fack = *self.fack.get_or_insert(first_end);
        if last_end > fack {
            self.fack = Some(last_end);
        }
        self.rtt = now.saturating_duration_since(last_xmit);
        self.note_most_recent(last_xmit, last_end);
        true
    }

    /// Step 4's D-SACK part, once per ACK: a D-SACK grows the reordering window
    /// once per round trip; `snd_una` and `snd_nxt` are SND.UNA and SND.NXT after
    /// the ACK. Only once reordering was seen, as Linux's `tcp_dsack_seen` has
    /// it: without reordering a D-SACK reports a retransmission that was not
    /// needed for another reason (a timeout's go-back-N resending what the peer
    /// had), and widening the window would only delay the repair of real losses
    /// (by up to SRTT, for 16 recoveries).
    //= https://www.rfc-editor.org/rfc/rfc8985#section-6.2
    #[inline]
    pub fn on_ack_dsack(&mut self, snd_una: SeqNumber, snd_nxt: SeqNumber, dsack: bool) {
        if self.dsack_round.is_some_and(|r| snd_una >= r) {
            self.dsack_round = None;
        }
        if self.dsack_round.is_none() && dsack && self.reordering_seen {
            self.on_dsack_round(snd_nxt);
        }
    }

    /// A D-SACK after reordering was seen, the first of a round trip: the
    /// reordering window grows. Out of line: the common ACK carries no D-SACK.
    #[cold]
    #[inline(never)]
    fn on_dsack_round(&mut self, snd_nxt: SeqNumber) {
        self.dsack_round = Some(snd_nxt);
        self.reo_wnd_mult = self.reo_wnd_mult.saturating_add(1);
        self.reo_wnd_persist = REO_WND_PERSIST;
    }

    /// A fast or RTO recovery ended: after 16 without a D-SACK the reordering
    /// window shrinks back to `min_RTT / 4`.
    //= https://www.rfc-editor.org/rfc/rfc8985#section-6.2
    pub fn on_recovery_exit(&mut self) {
        self.reo_wnd_persist = self.reo_wnd_persist.saturating_sub(1);
        if self.reo_wnd_persist == 0 {
            self.reo_wnd_mult = 1;
            self.reo_wnd_persist = REO_WND_PERSIST;
        }
    }

    /// RACK.reo_wnd (`RACK_update_reo_wnd`): zero while no reordering was seen and
    /// the connection is in recovery or DupThresh segments are SACKed (RACK then
    /// behaves like RFC 6675's DupThresh); else `reo_wnd_mult · min_RTT / 4`,
    /// at most SRTT.
    //= https://www.rfc-editor.org/rfc/rfc8985#section-6.2
    pub fn reo_wnd(
        &self,
        in_recovery: bool,
        segs_sacked: u32,
        min_rtt: Option<Duration>,
        srtt: Option<Duration>,
    ) -> Duration {
        if !self.reordering_seen && (in_recovery || segs_sacked >= DUP_THRESH) {
            return Duration::ZERO;
        }
        let Some(min_rtt) = min_rtt else {
            return Duration::ZERO;
        };
        let wnd = min_rtt.saturating_mul(u32::from(self.reo_wnd_mult)) / 4;
        match srtt {
            Some(srtt) => wnd.min(srtt),
            None => wnd,
        }
    }

    /// Step 5 for one unacknowledged segment sent at `xmit_ts` ending at `end_seq`
    /// (`RACK_detect_loss`): lost when sent before the most recently delivered
    /// segment and `RACK.rtt + reo_wnd` passed since.
    //= https://www.rfc-editor.org/rfc/rfc8985#section-6.2
    pub fn verdict(
        &self,
        now: Instant,
        xmit_ts: Instant,
        end_seq: SeqNumber,
        reo_wnd: Duration,
    ) -> Verdict {
        let Some(rack_ts) = self.xmit_ts else {
            return Verdict::Unknown;
        };
        if !sent_after(rack_ts, self.end_seq, xmit_ts, end_seq) {
            return Verdict::Unknown;
        }
        let deadline = xmit_ts + self.rtt + reo_wnd;
        if deadline <= now {
            Verdict::Lost
        } else {
            Verdict::LostIn(deadline.saturating_duration_since(now))
        }
    }

    /// The probe timeout (`TLP_calc_PTO`): 2·SRTT, plus the worst-case delayed
    /// ACK with one segment in flight and [`PTO_SLACK`] with more (1 s without an
    /// RTT sample), never later than `rto_expiry`.
    //= https://www.rfc-editor.org/rfc/rfc8985#section-7.2
    pub fn pto_deadline(
        now: Instant,
        srtt: Option<Duration>,
        one_segment_in_flight: bool,
        rto_expiry: Instant,
    ) -> Instant {
        let srtt = srtt.map(|d| u64::try_from(d.as_nanos()).unwrap_or(u64::MAX));
        Rack::pto_deadline_nanos(now, srtt, one_segment_in_flight, rto_expiry)
    }

    /// [`pto_deadline`](Self::pto_deadline) with SRTT in nanoseconds, computed in
    /// nanoseconds as `now + Duration` would give it (a sum past `Instant::MAX` is
    /// `Instant::MAX`): this runs after every data segment sent, and `Duration`'s
    /// seconds-and-nanoseconds arithmetic cost more.
    pub fn pto_deadline_nanos(
        now: Instant,
        srtt: Option<u64>,
        one_segment_in_flight: bool,
        rto_expiry: Instant,
    ) -> Instant {
        const WC_DEL_ACK_NANOS: u64 = WC_DEL_ACK_T.as_nanos() as u64;
        const PTO_SLACK_NANOS: u64 = PTO_SLACK.as_nanos() as u64;
        const PTO_WITHOUT_RTT_NANOS: u64 = PTO_WITHOUT_RTT.as_nanos() as u64;
        let pto = match srtt {
            Some(srtt) => {
                let add = match one_segment_in_flight {
                    true => WC_DEL_ACK_NANOS,
                    false => PTO_SLACK_NANOS,
                };
                srtt.checked_mul(2).and_then(|pto| pto.checked_add(add))
            }
            None => Some(PTO_WITHOUT_RTT_NANOS),
        };
        let at = pto
            .and_then(|pto| now.as_nanos().checked_add(pto))
            .filter(|&at| at < u64::MAX)
            .map_or(Instant::MAX, Instant::from_nanos);
        at.min(rto_expiry)
    }

    /// Whether a probe is outstanding (TLP.end_seq set).
    pub fn probe_outstanding(&self) -> bool {
        self.tlp_end_seq.is_some()
    }

    /// A probe left; SND.NXT is `snd_nxt` after it; `retransmission` if it resent
    /// data.
    //= https://www.rfc-editor.org/rfc/rfc8985#section-7.3
    pub fn on_probe_sent(&mut self, snd_nxt: SeqNumber, retransmission: bool) {
        self.tlp_end_seq = Some(snd_nxt);
        self.tlp_is_retrans = retransmission;
    }

    /// An ACK `ack` (with a D-SACK of `dsack` if any) arrived while a probe may be
    /// outstanding. Returns true when the probe repaired a loss (the congestion
    /// controller must hear of it).
    //= https://www.rfc-editor.org/rfc/rfc8985#section-7.4
    #[inline]
    pub fn on_ack_probe(
        &mut self,
        ack: SeqNumber,
        dsack: Option<(SeqNumber, SeqNumber)>,
        duplicate: bool,
    ) -> bool {
        let Some(end) = self.tlp_end_seq else {
            return false;
        };
        self.on_ack_probe_outstanding(end, ack, dsack, duplicate)
    }

    /// [`on_ack_probe`](Self::on_ack_probe) with a probe ending at `end`
    /// outstanding. Out of line: most ACKs find no probe.
    #[inline(never)]
    fn on_ack_probe_outstanding(
        &mut self,
        end: SeqNumber,
        ack: SeqNumber,
        dsack: Option<(SeqNumber, SeqNumber)>,
        duplicate: bool,
    ) -> bool {
        if ack < end {
            return false;
        }
        if !self.tlp_is_retrans {
            // A probe of new data: delivered, nothing to infer.
            self.tlp_end_seq = None;
            return false;
        }
        if dsack.is_some_and(|(_, e)| e == end) {
            // The peer had the probed data: the probe was redundant, no loss.
            self.tlp_end_seq = None;
            return false;
        }
        if ack > end {
            // The probe's data went through and later data too, with no D-SACK:
            // the probe repaired a loss.
            self.tlp_end_seq = None;
            return true;
        }
        if duplicate {
            // Both the original and the probe arrived (the duplicate ACK answers
            // the second), so there was no loss.
            self.tlp_end_seq = None;
        }
        false
    }

    /// A congestion response proved spurious (the data was delayed or reordered,
    /// not lost): the peer's path reorders, and the reordering window opens.
    pub fn on_spurious_retransmission(&mut self) {
        self.reordering_seen = true;
    }

    /// A retransmission timeout at `now`: the scoreboard forgets what was SACKed,
    /// so the SACKs that come again are no news of reordering, nor is the
    /// cumulative ACK of a segment sent before it (its SACK forgotten, or never
    /// reported when more holes were open than a SACK option lists) that arrives
    /// below a segment SACKed again.
    pub fn on_rto(&mut self, now: Instant, snd_una: SeqNumber) {
        self.rto_at = Some(now);
        self.fack = Some(snd_una);
        self.tlp_end_seq = None;
    }

    /// A retransmission timeout or a recovery cancels the probe episode.
    pub fn cancel_probe(&mut self) {
        self.tlp_end_seq = None;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(ms: u64) -> Instant {
        Instant::from_nanos(ms * 1_000_000)
    }

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    #[test]
    fn a_segment_sent_before_a_delivered_one_is_lost_after_rtt_plus_window() {
        let mut r = Rack::new();
        // Segment 2 (sent at 10 ms) is SACKed at 110 ms: RACK.rtt = 100 ms.
        r.on_delivered(t(110), t(10), SeqNumber(3000), false, false, Some(ms(100)));
        assert_eq!(r.rtt(), ms(100));
        // Segment 1, sent at 9 ms: lost once 9 + 100 + reo_wnd passed.
        assert_eq!(
            r.verdict(t(110), t(9), SeqNumber(2000), Duration::ZERO),
            Verdict::Lost
        );
        assert_eq!(
            r.verdict(t(110), t(9), SeqNumber(2000), ms(25)),
            Verdict::LostIn(ms(24))
        );
        // Segment 3, sent after the delivered one: unknown.
        assert_eq!(
            r.verdict(t(110), t(11), SeqNumber(4000), Duration::ZERO),
            Verdict::Unknown
        );
    }

    #[test]
    fn reordering_window_is_zero_until_reordering_then_a_quarter_min_rtt_capped_by_srtt() {
        let mut r = Rack::new();
        assert_eq!(r.reo_wnd(false, 3, Some(ms(100)), Some(ms(120))), ms(0));
        assert_eq!(r.reo_wnd(true, 0, Some(ms(100)), Some(ms(120))), ms(0));
        assert_eq!(r.reo_wnd(false, 1, Some(ms(100)), Some(ms(120))), ms(25));
        r.on_delivered(t(100), t(0), SeqNumber(5000), false, false, None);
        // Delivered below RACK.fack, sent once: reordering.
        r.on_delivered(t(101), t(0), SeqNumber(4000), false, false, None);
        assert!(r.reordering_seen());
        assert_eq!(r.reo_wnd(true, 5, Some(ms(100)), Some(ms(120))), ms(25));
        // D-SACKs grow it once per round, up to SRTT.
        for round in 0..8u32 {
            let una = SeqNumber(10_000 * (round + 1));
            r.on_ack_dsack(una, una + 5000u32, true);
            r.on_ack_dsack(una, una + 5000u32, true);
        }
        assert_eq!(r.reo_wnd_mult(), 9);
        assert_eq!(r.reo_wnd(true, 5, Some(ms(100)), Some(ms(120))), ms(120));
        // 16 D-SACK-free recoveries reset it.
        for _ in 0..16 {
            r.on_recovery_exit();
        }
        assert_eq!(r.reo_wnd_mult(), 1);
    }

    #[test]
    fn dsacks_without_reordering_leave_the_reordering_window_alone() {
        let mut r = Rack::new();
        // A timeout's go-back-N resent what the peer had: D-SACKs, no reordering.
        for round in 0..4u32 {
            let una = SeqNumber(10_000 * (round + 1));
            r.on_ack_dsack(una, una + 5000u32, true);
        }
        assert_eq!(r.reo_wnd_mult(), 1);
        assert_eq!(r.reo_wnd(true, 5, Some(ms(100)), Some(ms(120))), ms(0));
    }

    #[test]
    fn in_order_deliveries_are_no_reordering_anywhere_in_the_sequence_space() {
        for base in [0u32, 0x7fff_f000, 0x8000_0000, 0xffff_f000, u32::MAX] {
            let mut r = Rack::new();
            for k in 1..=8u32 {
                let end = SeqNumber(base.wrapping_add(k * 1000));
                let ts = t(u64::from(k));
                assert!(!r.on_delivered(t(100), ts, end, false, false, None));
            }
            assert!(!r.reordering_seen(), "from {base:#x}");
            // Below the highest delivered end: reordering, across the wrap too.
            let below = SeqNumber(base.wrapping_add(7500));
            assert!(r.on_delivered(t(101), t(0), below, false, false, None));
        }
    }

    #[test]
    fn data_sent_before_a_timeout_acknowledged_below_fack_is_no_reordering() {
        let mut r = Rack::new();
        r.on_delivered(t(100), t(0), SeqNumber(5000), false, false, None);
        r.on_rto(t(300), SeqNumber(1000));
        // After the timeout a segment sent before it is SACKed again, then the
        // cumulative ACK covers one below it whose SACK the timeout forgot.
        r.on_delivered(t(350), t(50), SeqNumber(6000), false, false, None);
        r.on_delivered(t(360), t(40), SeqNumber(4000), false, false, None);
        assert!(!r.reordering_seen());
        // Sent after the timeout and delivered below RACK.fack: reordering.
        r.on_delivered(t(400), t(310), SeqNumber(7000), false, false, None);
        r.on_delivered(t(401), t(311), SeqNumber(6500), false, false, None);
        assert!(r.reordering_seen());
    }

    #[test]
    fn a_retransmission_acknowledged_too_early_gives_no_rtt() {
        let mut r = Rack::new();
        r.on_delivered(t(100), t(0), SeqNumber(1000), false, false, Some(ms(100)));
        // Resent at 150 ms, acknowledged at 160 ms: faster than min RTT, so it was
        // the original that arrived.
        r.on_delivered(t(160), t(150), SeqNumber(2000), true, false, Some(ms(100)));
        assert_eq!(r.rtt(), ms(100));
        assert_eq!(r.xmit_ts(), Some(t(0)));
        // With an echoed timestamp older than the retransmission: likewise.
        r.on_delivered(t(300), t(150), SeqNumber(2000), true, true, Some(ms(100)));
        assert_eq!(r.xmit_ts(), Some(t(0)));
    }

    #[test]
    fn pto_is_two_srtt_plus_delayed_ack_for_one_segment_capped_by_rto() {
        let far = t(10_000);
        assert_eq!(Rack::pto_deadline(t(0), Some(ms(50)), false, far), t(102));
        assert_eq!(Rack::pto_deadline(t(0), Some(ms(50)), true, far), t(300));
        assert_eq!(Rack::pto_deadline(t(0), None, false, far), t(1000));
        assert_eq!(Rack::pto_deadline(t(0), Some(ms(50)), true, t(250)), t(250));
    }

    proptest::proptest! {
        #[test]
        fn pto_deadline_in_nanoseconds_is_the_duration_sum(
            now in proptest::prelude::any::<u64>(),
            srtt in proptest::option::of(proptest::prelude::any::<u64>()),
            one in proptest::prelude::any::<bool>(),
            expiry in proptest::prelude::any::<u64>(),
        ) {
            let (now, expiry) = (Instant::from_nanos(now), Instant::from_nanos(expiry));
            let srtt = srtt.map(Duration::from_nanos);
            // The formula as it was written with `Duration` and `Instant + Duration`.
            let pto = match srtt {
                Some(srtt) if one => srtt.saturating_mul(2) + WC_DEL_ACK_T,
                Some(srtt) => srtt.saturating_mul(2) + PTO_SLACK,
                None => PTO_WITHOUT_RTT,
            };
            proptest::prop_assert_eq!(
                Rack::pto_deadline(now, srtt, one, expiry),
                (now + pto).min(expiry)
            );
        }
    }

    #[test]
    fn a_retransmitted_probe_acked_beyond_its_end_means_a_repaired_loss() {
        let mut r = Rack::new();
        r.on_probe_sent(SeqNumber(5000), true);
        assert!(!r.on_ack_probe(SeqNumber(4000), None, false));
        assert!(r.on_ack_probe(SeqNumber(6000), None, false));
        assert!(!r.probe_outstanding());
        // A D-SACK of the probe: redundant, no loss.
        r.on_probe_sent(SeqNumber(5000), true);
        let dsack = Some((SeqNumber(4000), SeqNumber(5000)));
        assert!(!r.on_ack_probe(SeqNumber(5000), dsack, false));
        assert!(!r.probe_outstanding());
        // A probe of new data: nothing to infer.
        r.on_probe_sent(SeqNumber(5000), false);
        assert!(!r.on_ack_probe(SeqNumber(6000), None, false));
    }
}
