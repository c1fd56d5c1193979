//! The send burst: the full data segments that follow one another within a
//! flight, written without asking the whole `poll_transmit` question again.
//!
//! A bulk sender's stack is polled for segment after segment at the same `now`.
//! Once [`Connection::poll_transmit`] has sent one, the answer to the next call is
//! known without working it out, as long as nothing but those sends happened in
//! between: no RST, SYN, retransmission or probe is due (those only arise from
//! input and timers), new data of a full segment waits under both windows, and
//! every side effect of a send but the ones that advance with SND.NXT is already
//! in place (the ACK sent, the timers armed, no pacing hold, no ECN codepoint to
//! choose), and the controller is a built-in one (an own controller's `on_sent`
//! could start pacing mid-burst). [`Connection::burst_header`] checks that state after a send and
//! returns the segments' TCP header, in which only the sequence number and the
//! checksum change; [`Connection::poll_burst_payload`] then writes the next full
//! segment's payload and does what the general path would do for it: the
//! counters, the send record and the controller's `on_sent`, SND.NXT.
//!
//! What keeps a burst from outliving the state it was checked against is the
//! stack's (`stack::burst`): any other entry point drops it. Equivalence with
//! the general path is the spec; `stack::tx_path_tests` runs both on the same
//! inputs and compares every packet and the whole state.

use super::{AckDue, Connection};
use crate::cc::CcAlgorithm;
use crate::tcp::state::State;
use crate::tcp::timer::Timer;
use crate::time::Instant;
use crate::wire::{emit_tcp_header, ChecksumMode, Ecn, SeqNumber, TcpFlags, TcpHeaderFields};

#[cfg(test)]
thread_local! {
    /// Test-only: no burst is ever armed, so every segment takes the general path
    /// (the equivalence tests compare the two).
    pub(crate) static FORCE_GENERAL_SEND: std::cell::Cell<bool> =
        const { std::cell::Cell::new(false) };
}

/// A burst segment's TCP header, written once: through a burst only its
/// sequence number and checksum change (the ACK number, window, flags and
/// timestamp option are those of the segment before).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct BurstHeader {
    /// The header with a zero sequence number and checksum; its first `len`
    /// bytes count.
    pub(crate) bytes: [u8; MAX_BURST_HEADER],
    /// The header's length: 20 bytes, 32 with the timestamp option.
    pub(crate) len: usize,
    /// The sum of its words (unfolded, as `emit_tcp_header` gives it): add the
    /// sequence number for a segment's.
    pub(crate) sum: u64,
    /// The payload of every segment: one MSS.
    pub(crate) payload_len: usize,
}

/// The longest burst header: 20 bytes and the timestamp option.
pub(crate) const MAX_BURST_HEADER: usize = 32;

impl Connection {
    /// Right after a segment left at `now`: whether the next calls may take the
    /// burst path, and the header parts they share. `None` unless every side
    /// effect a full new-data segment has on the connection, other than the ones
    /// [`poll_burst_payload`](Self::poll_burst_payload) does, would change nothing.
    pub(crate) fn burst_header(&self, now: Instant) -> Option<BurstHeader> {
        #[cfg(test)]
        if FORCE_GENERAL_SEND.get() {
            return None;
        }
        // `next_plan`: none of the segments that come before new data is due, and
        // `data_plan` is the one that answers.
        if !matches!(self.state, State::Established | State::CloseWait)
            || !self.syn_acked()
            || self.rst_due.is_some()
            || self.retransmit_una
            || self.probe_due
            || self.ack_due != AckDue::No
            || self.snd_nxt != self.snd_max
            || self.dupacks != 0
            || !self.events.is_empty()
        {
            return None;
        }
        // Only a built-in controller: an own one may start pacing (or change
        // anything else) in the `on_sent` of a burst segment, after which the
        // general path would hold the next segment for the pacer and arm the
        // pacing timer.
        if matches!(self.cc_algorithm, CcAlgorithm::Custom(_)) {
            return None;
        }
        let s = self.cc.as_deref()?;
        // No recovery (no SACK retransmission, `flight_for_window` is the
        // flight), no F-RTO room, no probe due, room for the send records, no
        // pacing clock running.
        if s.recovery.is_some()
            || s.frto.is_some()
            || s.probe_due != 0
            || s.tx_records.capacity() == 0
            || s.pacer.next_send_time.is_some()
            || self.pacing_enabled()
            || self.paced_out()
        {
            return None;
        }
        // `encode`: the plain header (no SACK blocks), no ECN codepoint or flags,
        // no urgent data ahead.
        if self.sack_blocks_due()
            || self.dsack.is_some()
            || self.ecn.get(super::ecn::EcnState::OK)
            || self.tx_ecn() != Ecn::NotEct
            || self.snd_up.is_some_and(|up| up > self.snd_nxt)
        {
            return None;
        }
        // `after_send`: the ACK it carries changes nothing (the advertised window
        // is at its fixed point), the timed segment, the idle mark and the
        // retransmission timer are set, the delayed ACK is off.
        let (window, edge) = self.window_to_advertise(false);
        if edge > self.rcv_adv
            || self.last_ack_sent != self.rcv_nxt
            || self.segs_unacked != 0
            || self.timers.is_set(Timer::DelayedAck)
            || !self.timers.is_set(Timer::Retransmit)
            || self.rtt_probe.is_none()
            || self.unacked_since.is_none()
            || self.last_data_sent != now
        {
            return None;
        }
        // The probe timeout a restart arms is the one armed: more than a segment
        // is outstanding already, so more data does not change it.
        if self.outstanding() <= u32::from(self.mss.max(1)) {
            return None;
        }
        let mut probe = self.timers.clone();
        match self.loss_probe_deadline(now) {
            Some(at) => probe.set(Timer::Probe, at),
            None => probe.clear(Timer::Probe),
        }
        if probe != self.timers {
            return None;
        }
        let fields = TcpHeaderFields {
            seq_number: SeqNumber(0),
            ack_number: self.rcv_nxt,
            flags: TcpFlags::ACK,
            window_len: window,
            urgent_pointer: 0,
            timestamp: self.ts.map(|ts| (self.ts_now(now), ts.recent)),
        };
        let mut bytes = [0u8; MAX_BURST_HEADER];
        let (len, sum) =
            emit_tcp_header(&mut bytes, self.local.port(), self.remote.port(), &fields)?;
        Some(BurstHeader {
            bytes,
            len,
            sum,
            payload_len: usize::from(self.mss),
        })
    }

    /// The payload of the next segment of a burst armed by
    /// [`burst_header`](Self::burst_header) at `now`: copies it into `out` (one
    /// MSS, `out.len()`) and returns its sequence number and, with `checksum`
    /// on, the sum of its bytes. Does so only when one more full segment waits
    /// behind it under both windows (so that the general path would send this one
    /// without PSH and ask again); else returns `None` and does nothing. Does what
    /// the general path does after a full segment of new data left: the counters,
    /// the send record and the controller's `on_sent`, SND.NXT.
    ///
    /// The caller vouches that nothing touched the connection since the burst was
    /// armed but earlier calls of this at the same `now`, and writes the header
    /// (`BurstHeader` with this sequence number).
    pub(crate) fn poll_burst_payload(
        &mut self,
        now: Instant,
        out: &mut [u8],
        checksum: ChecksumMode,
    ) -> Option<(SeqNumber, u16)> {
        let len = out.len();
        let off = self.flight() as usize;
        let avail = self.send_buf.len().saturating_sub(off);
        let usable = (self.snd_wnd.min(self.cwnd()) as usize).saturating_sub(off);
        if len == 0 || len != usize::from(self.mss) || avail < 2 * len || usable < 2 * len {
            return None;
        }
        let seq = self.snd_nxt;
        let sum = if checksum == ChecksumMode::Enabled {
            self.copy_payload_summed(off, out)
        } else {
            let copied = self.send_buf.read_at(off, out);
            debug_assert_eq!(copied, len);
            0
        };
        // `after_send` for a full segment of new data, less what the checks in
        // `burst_header` showed to be done already.
        self.counters.segs_out += 1;
        self.counters.data_segs_out += 1;
        let flight = self.flight();
        self.on_data_sent(now, seq, len, false, flight);
        self.counters.bytes_sent += len as u64;
        let end = seq + len;
        self.snd_nxt = end;
        self.snd_max = end;
        Some((seq, sum))
    }
}
