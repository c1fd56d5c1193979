//! Header prediction (Van Jacobson's fast path, as BSD and Linux have it): the
//! common segment of a bulk transfer, the next in-order data with nothing else in
//! it, handled without the general segment processing of `input`.
//!
//! The prediction applies to a receiver that has nothing of its own in flight: an
//! ESTABLISHED connection gets a segment with only ACK (and PSH) set, at RCV.NXT,
//! whose payload the stack already copied into the receive buffer while checking
//! the checksum ([`Connection::prestore_payload`]) and which fits in it, that
//! acknowledges nothing new (SEG.ACK = SND.UNA = SND.MAX), keeps the send window,
//! carries no SACK blocks and no CE mark, and passes PAWS (and the connection does
//! not use Accurate ECN, whose ACE field every segment carries and must be read). For such a segment the
//! general processing reduces to: TS.Recent, the keep-alive restart, the send
//! window's WL1/WL2, the data committed and the ACK decision; every other step
//! (RST and SYN checks, the scoreboard, RACK, undo, duplicate ACKs, urgent data,
//! FIN) finds nothing to do, and the prediction leaves them out. Any other segment
//! takes the general path; the tests in `conn::tests` check both give the same
//! connection for the cases the prediction must refuse.
//!
//! The processing it shortens is RFC 9293 section 3.10.7.4's; the result is the
//! same, so the prediction is an implementation choice, not a protocol change.

use super::ecn::EcnState;
use super::Connection;
use crate::tcp::state::State;
use crate::tcp::timer::Timer;
use crate::time::Instant;
use crate::wire::{checksum, Ecn, TcpFlags, TcpRepr};

impl Connection {
    /// Whether `seg` (checksum verified, `ecn` its IP codepoint) is the predicted
    /// segment (see the module doc); if so, processes it as
    /// [`handle_segment_ecn`](Self::handle_segment_ecn) would and returns true.
    /// Returns false, having changed nothing, for any other segment.
    pub(crate) fn handle_predicted_segment(
        &mut self,
        now: Instant,
        seg: &TcpRepr<'_>,
        ecn: Ecn,
    ) -> bool {
        //= https://www.rfc-editor.org/rfc/rfc9293#section-3.10.7.4
        if !self.predicts(seg, ecn) || !self.paws_ok(now, seg) {
            return false;
        }
        self.on_predicted_at(now);
        self.on_predicted(now, seg);
        true
    }

    /// [`handle_predicted_segment`](Self::handle_predicted_segment) for a segment
    /// that follows, in one run, a segment this connection took as predicted at
    /// the same `now`, with nothing else done to the connection in between (a
    /// run of [`Stack::handle_packets`](crate::Stack::handle_packets)), its
    /// checksum not yet verified: `header_sum` is the sum of its pseudo-header
    /// and header. Copies the payload into the receive buffer, summed as it is
    /// copied (what [`prestore_payload`](Self::prestore_payload) does for the
    /// first), verifies the checksum and takes the segment. The steps that depend
    /// on nothing but `now` ([`on_predicted_at`](Self::on_predicted_at)) are left
    /// out: the first segment of the run took them and they would change nothing;
    /// so are the conditions that the first segment checked for the whole run
    /// (see [`predicts_of_segment`](Self::predicts_of_segment)).
    ///
    /// Returns false for a segment the prediction refuses, having changed
    /// nothing, or for a bad checksum, having copied the payload past the
    /// readable bytes, uncommitted (what `prestore_payload` leaves for a segment
    /// the stack then drops): the stack then takes it on the general path, which
    /// redoes that copy alike. It also refuses a segment while the persist timer
    /// runs (a segment could stop it): the segments it takes change no timer, so
    /// the run's first segment leaves the connection's deadline where the whole
    /// run leaves it (the stack schedules it once per run).
    ///
    /// Always in line: with two callers (the IPv4 and the IPv6 run) the
    /// compiler stopped inlining it into IPv4's, which cost a bulk transfer
    /// 2 % more instructions (session 13).
    #[inline(always)]
    pub(crate) fn handle_predicted_next(
        &mut self,
        now: Instant,
        seg: &TcpRepr<'_>,
        ecn: Ecn,
        header_sum: u16,
    ) -> bool {
        // The conditions the run's first segment checked for the run are left
        // out (`predicts_of_segment`); in debug builds they are asserted.
        debug_assert!(self.predicts_unstored(seg, ecn) || !self.predicts_of_segment(seg, ecn));
        if !self.predicts_of_segment(seg, ecn)
            || !self.paws_ok(now, seg)
            || self.timers.is_set(Timer::Persist)
        {
            return false;
        }
        // All of it fits (`predicts_of_segment`).
        let (_, sum) = self.recv_buf.write_at_summed(0, seg.payload);
        if checksum::combine(&[header_sum, sum]) != 0xffff {
            return false;
        }
        self.on_predicted(now, seg);
        true
    }

    /// The steps of the predicted segment that depend on nothing but `now`:
    /// the same again at the same `now` changes nothing.
    #[inline]
    fn on_predicted_at(&mut self, now: Instant) {
        self.last_recv = now;
        self.keepalive_probes = 0;
        self.arm_keepalive(now);
        // No ECE, no CWR, no CE (`predicts`; `ecn.rx` is Not-ECT outside
        // `handle_segment_ecn`) and no Accurate ECN: of `on_segment_ecn_rx` only
        // the clearing of the ECN-Echo-received mark remains.
        self.ecn.set(EcnState::ECE_RX, false);
        // The ACK side: nothing acknowledged, nothing outstanding, same window.
        self.persist_probes = 0;
        self.soft_error = None;
        self.timers.clear(Timer::Probe);
    }

    /// The steps of the predicted segment that depend on the segment.
    #[inline(always)]
    fn on_predicted(&mut self, now: Instant, seg: &TcpRepr<'_>) {
        self.counters.segs_in += 1;
        self.update_ts_recent(now, seg);
        //= https://www.rfc-editor.org/rfc/rfc9293#section-3.10.7.4
        //# If (SND.WL1 < SEG.SEQ or (SND.WL1 = SEG.SEQ and
        //# SND.WL2 =< SEG.ACK)), set SND.WND <- SEG.WND, set
        //# SND.WL1 <- SEG.SEQ, and set SND.WL2 <- SEG.ACK.
        if self.snd_wl1 < seg.seq_number
            || (self.snd_wl1 == seg.seq_number && self.snd_wl2 <= seg.ack_number)
        {
            self.snd_wl1 = seg.seq_number;
            self.snd_wl2 = seg.ack_number;
            self.max_snd_wnd = self.max_snd_wnd.max(self.snd_wnd);
            self.timers.clear(Timer::Persist);
            self.persist_backoff = 0;
        }
        // The data side, as `on_data` does it: the bytes are in place, at RCV.NXT,
        // and all fit (`predicts`).
        self.store_predicted(now, seg.payload.len());
        self.payload_prestored = false;
    }

    /// The conditions of the prediction that do not depend on the clock.
    #[inline]
    fn predicts(&self, seg: &TcpRepr<'_>, ecn: Ecn) -> bool {
        self.payload_prestored && self.predicts_unstored(seg, ecn)
    }

    /// [`predicts`](Self::predicts) but for the payload being in place: they
    /// imply that [`prestore_payload`](Self::prestore_payload) would copy all of
    /// it.
    #[inline(always)]
    fn predicts_unstored(&self, seg: &TcpRepr<'_>, ecn: Ecn) -> bool {
        self.predicts_of_segment(seg, ecn)
            && !self.accecn_enabled()
            && self.state == State::Established
            && self.snd_max == self.snd_una
            && self.cc.is_none()
            && self.snd_wnd > 0
            && self.fin_seq.is_none()
            && !self.orphaned
            && self.assembler.is_empty()
    }

    /// The conditions of [`predicts_unstored`](Self::predicts_unstored) that
    /// depend on the segment or on what a predicted segment changes (RCV.NXT,
    /// the receive buffer). The others (the state, Accurate ECN, SND.UNA =
    /// SND.MAX, no recovery, the send window, no FIN, not orphaned, no
    /// out-of-order data) hold after a predicted segment when they held before
    /// it, which takes nothing but in-order data: a run's first segment checks
    /// them for the run ([`handle_predicted_next`](Self::handle_predicted_next)).
    #[inline(always)]
    fn predicts_of_segment(&self, seg: &TcpRepr<'_>, ecn: Ecn) -> bool {
        let flags = seg.flags.bits() & !TcpFlags::PSH.bits();
        flags == TcpFlags::ACK.bits()
            && ecn != Ecn::Ce
            && seg.seq_number == self.rcv_nxt
            && !seg.payload.is_empty()
            && self.recv_buf.storable(0, seg.payload.len()) == seg.payload.len()
            && seg.ack_number == self.snd_una
            && u32::from(seg.window_len) << self.snd_wscale == self.snd_wnd
            && seg.options.sack_ranges.is_empty()
    }
}
