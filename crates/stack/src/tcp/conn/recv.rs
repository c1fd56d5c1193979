//! The receiver's side of an arriving segment (RFC 9293 section 3.10.7.4, "seventh,
//! process the segment text" and "eighth, check the FIN bit"): data into the
//! receive buffer in order or out of order, D-SACK for duplicates, the peer's FIN, and
//! when to acknowledge (delayed ACKs, RFC 9293 section 3.8.6.3).

use super::{AckDue, ConnEvents, Connection, TcpError};
use crate::tcp::ring_pool::RingPool;
use crate::tcp::state::State;
use crate::tcp::timer::Timer;
use crate::time::Instant;
use crate::wire::{SeqNumber, TcpFlags, TcpRepr};

impl Connection {
    /// Takes the segment's data and FIN.
    /// A first receive storage comes from `pool`, and rings let go of on
    /// entering TIME-WAIT go to it ([`RingPool`]).
    #[inline]
    pub(super) fn on_data(&mut self, now: Instant, seg: &TcpRepr<'_>, pool: &mut RingPool) {
        // A segment with neither data nor a FIN, before any FIN arrived (a pure
        // ACK): nothing to store and no FIN to take (`maybe_take_fin` would
        // find none), so the call is saved.
        if seg.payload.is_empty() && !seg.flags.contains(TcpFlags::FIN) && self.fin_seq.is_none() {
            return;
        }
        self.on_data_or_fin(now, seg, pool);
    }

    /// [`on_data`](Self::on_data) for a segment with data or a FIN, or once a
    /// FIN arrived. Out of line: one copy for both callers.
    #[inline(never)]
    fn on_data_or_fin(&mut self, now: Instant, seg: &TcpRepr<'_>, pool: &mut RingPool) {
        // The sequence number of the first payload byte (a SYN comes first).
        let mut seq = seg.seq_number;
        if seg.flags.contains(TcpFlags::SYN) {
            seq += 1u32;
        }
        let payload = seg.payload;
        let mut all_stored = true;

        if !payload.is_empty() {
            if !self.state.receives_data() {
                // CLOSE-WAIT, CLOSING, LAST-ACK, TIME-WAIT: the peer already sent its
                // FIN; new data is an error the RFC says to ignore.
                //= https://www.rfc-editor.org/rfc/rfc9293#section-3.10.7.4
                //# This should not occur since a FIN has been received from the
                //# remote side.  Ignore the segment text.
                all_stored = false;
            } else if self.orphaned {
                //= https://www.rfc-editor.org/rfc/rfc9293#section-3.10.4
                //# If the local user has closed the connection and no
                //# data can be delivered, a reset is sent (RFC 2525 section 2.17;
                //# Linux does the same).
                self.counters.data_after_close = self.counters.data_after_close.saturating_add(1);
                self.abort_with_rst(TcpError::Aborted);
                return;
            } else {
                all_stored = self.store_payload(now, seq, payload, pool);
            }
        }

        if seg.flags.contains(TcpFlags::FIN) && all_stored && self.fin_seq.is_none() {
            let fin = seq + payload.len();
            if fin >= self.rcv_nxt {
                self.fin_seq = Some(fin);
            }
        }
        self.maybe_take_fin(now, pool);
    }

    /// Stores `payload` (starting at `seq`) in the receive buffer and decides the
    /// acknowledgment. Returns whether every byte at or after RCV.NXT was stored.
    /// A first storage comes from `pool` ([`RingPool`]).
    pub(super) fn store_payload(
        &mut self,
        now: Instant,
        seq: SeqNumber,
        payload: &[u8],
        pool: &mut RingPool,
    ) -> bool {
        let len = payload.len();
        // Trim what was already received.
        let dup = self.rcv_nxt.diff(seq).max(0) as usize;
        if dup > 0 && self.sack_ok {
            // A duplicate (a spurious retransmission, a tail loss probe after a
            // lost ACK): reported in a D-SACK block. Not a cold branch: loss
            // recovery takes it often.
            let end = seq + dup.min(len);
            self.dsack = Some((seq, end));
        }
        if dup >= len {
            // Entirely old: acknowledge at once so the sender learns RCV.NXT. Not a
            // cold branch: a sender without SACK that resends from SND.UNA after a
            // timeout sends one of these per segment already held.
            self.ack_due = AckDue::Now;
            return true;
        }
        let data = &payload[dup..];
        let offset = seq.diff(self.rcv_nxt).max(0) as usize;
        self.rcv_mss = self.rcv_mss.max(len.min(usize::from(u16::MAX)) as u16);

        let had_holes = !self.assembler.is_empty();
        let stored = if self.payload_prestored && offset == 0 && dup == 0 {
            // Copied in already, while the stack verified the checksum.
            self.recv_buf.storable(0, data.len())
        } else {
            self.recv_buf.write_at_pooled(offset, data, pool)
        };
        if stored < data.len() {
            // Past the receive window: the sender overran it.
            crate::hint::cold_path();
            self.counters.rcv_pruned = self.counters.rcv_pruned.saturating_add(1);
        }
        let advanced = if offset == 0 && !had_holes {
            self.recv_buf.commit(stored);
            stored
        } else {
            let Some(n) = self.store_out_of_order(offset, stored) else {
                return false;
            };
            n
        };
        if offset == 0 {
            // Full-sized: as large as the largest seen, and at least the default
            // MSS (RFC 9293's 536), so a first small message does not count.
            self.peer_streaming = len >= usize::from(self.rcv_mss).max(536);
        }
        if advanced > 0 {
            self.rcv_nxt += advanced;
            self.counters.bytes_received += advanced as u64;
            self.events.insert(ConnEvents::READABLE);
        }
        self.counters.data_segs_in += 1;

        //= https://www.rfc-editor.org/rfc/rfc9293#section-3.8.6.3
        //# an ACK SHOULD be generated for at least every second
        //# full-sized segment or 2*RMSS bytes of new data (where RMSS is the
        //# MSS specified by the TCP endpoint receiving the segments to be
        //# acknowledged, or the default value if not specified) (SHLD-19).
        //= https://www.rfc-editor.org/rfc/rfc5681#section-4.2
        //# Out-of-order data segments SHOULD be acknowledged immediately, in
        //# order to accelerate loss recovery.
        if offset > 0 || had_holes || stored < data.len() {
            self.ack_due = AckDue::Now;
        } else {
            self.ack_in_order(now, data.len());
        }
        stored == data.len()
    }

    /// The part of [`store_payload`](Self::store_payload) for data that is out of
    /// order or meets out-of-order data: `stored` bytes written at `offset` past
    /// RCV.NXT join the assembler, and what became contiguous with RCV.NXT is
    /// committed. Returns how many bytes that is, or `None` when the assembler
    /// has no room for another hole (the segment is dropped). Out of line: the
    /// common segment arrives in order.
    #[cold]
    #[inline(never)]
    fn store_out_of_order(&mut self, offset: usize, stored: usize) -> Option<usize> {
        match self.assembler.add(offset as u32, stored) {
            Ok(outcome) => {
                if outcome.is_duplicate() && stored > 0 && self.sack_ok {
                    let start = self.rcv_nxt + offset;
                    self.dsack = Some((start, start + stored));
                }
            }
            Err(_) => {
                // Too many holes: drop the segment; the sender will resend.
                self.counters.ooo_dropped = self.counters.ooo_dropped.saturating_add(1);
                self.ack_due = AckDue::Now;
                return None;
            }
        }
        let n = self.assembler.remove_front().unwrap_or(0);
        self.recv_buf.commit(n);
        Some(n)
    }

    /// [`store_payload`](Self::store_payload) for the predicted segment
    /// (`conn::predict`): `len` bytes at RCV.NXT, already copied in
    /// (`payload_prestored`) and all storable, with no out-of-order data. The same
    /// steps with the branches that segment cannot take left out.
    #[inline]
    pub(super) fn store_predicted(&mut self, now: Instant, len: usize) {
        self.rcv_mss = self.rcv_mss.max(len.min(usize::from(u16::MAX)) as u16);
        self.recv_buf.commit(len);
        self.peer_streaming = len >= usize::from(self.rcv_mss).max(536);
        self.rcv_nxt += len;
        self.counters.bytes_received += len as u64;
        self.events.insert(ConnEvents::READABLE);
        self.counters.data_segs_in += 1;
        self.ack_in_order(now, len);
    }

    /// The acknowledgment decision for `len` bytes of new data that arrived in
    /// order, all stored, with no holes before or after.
    #[inline]
    fn ack_in_order(&mut self, now: Instant, len: usize) {
        // A segment larger than a full-sized one (a super-packet a device with
        // receive offload joined) counts as the full-sized segments it
        // carries, so two of them in one are acknowledged at once. Full-sized:
        // the payload of this connection's full-sized segments (its effective
        // MSS, options deducted; the peer's are the same size when both use
        // the same options).
        // Below two full-sized segments it counts as one: no division (the
        // common segment, at most one MSS long, costs no `div`).
        let mss = usize::from(self.mss.max(1));
        let carried = if len < 2 * mss {
            1
        } else {
            u16::try_from(len / mss).unwrap_or(u16::MAX)
        };
        self.segs_unacked = self.segs_unacked.saturating_add(carried);
        if self.segs_unacked >= 2 || self.quickacks > 0 {
            self.quickacks = self.quickacks.saturating_sub(1);
            self.ack_due = AckDue::Now;
        } else if self.ack_due == AckDue::No {
            self.ack_due = AckDue::Delayed;
            //= https://www.rfc-editor.org/rfc/rfc9293#section-3.8.6.3
            //# The delay MUST be less than 0.5 seconds (MUST-40).
            self.timers
                .set_if_idle(Timer::DelayedAck, now + self.config.delayed_ack);
        }
    }

    /// Takes the peer's FIN once every byte before it arrived.
    fn maybe_take_fin(&mut self, now: Instant, pool: &mut RingPool) {
        let Some(fin) = self.fin_seq else { return };
        if fin != self.rcv_nxt || !self.state.receives_data() {
            return;
        }
        //= https://www.rfc-editor.org/rfc/rfc9293#section-3.10.7.4
        //# If the FIN bit is set, signal the user "connection closing" and
        //# return any pending RECEIVEs with same message, advance RCV.NXT
        //# over the FIN, and send an acknowledgment for the FIN.
        self.rcv_nxt += 1u32;
        self.ack_due = AckDue::Now;
        self.events.insert(ConnEvents::READABLE);
        match self.state {
            //= https://www.rfc-editor.org/rfc/rfc9293#section-3.10.7.4
            //# SYN-RECEIVED STATE
            //# ESTABLISHED STATE
            //# Enter the CLOSE-WAIT state.
            State::Established => self.set_state(State::CloseWait),
            //= https://www.rfc-editor.org/rfc/rfc9293#section-3.10.7.4
            //# FIN-WAIT-1 STATE
            //# If our FIN has been ACKed (perhaps in this segment), then
            //# enter TIME-WAIT, start the time-wait timer, turn off the other
            //# timers; otherwise, enter the CLOSING state.
            State::FinWait1 if self.fin_acked => self.enter_time_wait(now, pool),
            State::FinWait1 => self.set_state(State::Closing),
            //= https://www.rfc-editor.org/rfc/rfc9293#section-3.10.7.4
            //# FIN-WAIT-2 STATE
            //# Enter the TIME-WAIT state.  Start the time-wait timer, turn
            //# off the other timers.
            State::FinWait2 => self.enter_time_wait(now, pool),
            _ => {}
        }
        self.timers.clear(Timer::KeepAlive);
    }

    /// Aborts: a RST goes to the peer and the connection closes.
    #[cold]
    #[inline(never)]
    pub(super) fn abort_with_rst(&mut self, error: TcpError) {
        //= https://www.rfc-editor.org/rfc/rfc9293#section-3.10.5
        //# CLOSING STATE, LAST-ACK STATE, TIME-WAIT STATE
        //# Respond with "ok" and delete the TCB, enter CLOSED state, and
        //# return.
        // (Our FIN is out in those states, the peer's in, and Linux sends
        // nothing either.)
        if matches!(
            self.state,
            State::SynReceived
                | State::Established
                | State::FinWait1
                | State::FinWait2
                | State::CloseWait
        ) {
            //= https://www.rfc-editor.org/rfc/rfc9293#section-3.10.5
            //# SYN-RECEIVED STATE, ESTABLISHED STATE, FIN-WAIT-1 STATE, FIN-WAIT-2
            //# STATE, CLOSE-WAIT STATE
            //# Send a reset segment:
            //#
            //# <SEQ=SND.NXT><CTL=RST>
            // With the ACK bit and RCV.NXT, as Linux sends it. SND.NXT as a
            // segment without data takes it (`ack_only_seq`): after a timeout
            // went back to SND.UNA, the highest sequence number sent, or the
            // RST could fall below the peer's window and be dropped unseen
            // (RFC 5961 section 3.2).
            self.queue_abort_rst();
        }
        self.fail(error);
    }

    /// An abort's RST, due at the next transmit pass, counted.
    pub(super) fn queue_abort_rst(&mut self) {
        self.rst_due = Some((self.ack_only_seq(), Some(self.rcv_nxt)));
        self.counters.resets_sent_abort = self.counters.resets_sent_abort.saturating_add(1);
    }
}
