//! The sender's side of an arriving ACK (RFC 9293 section 3.10.7.4, "fifth, check
//! the ACK field"): the RFC 5961 ACK check, SND.UNA and the send buffer, RTT samples
//! (RFC 6298, RFC 7323), duplicate ACKs (RFC 5681) handed to the congestion side
//! (`congestion`), the send window, and the states our acknowledged FIN leads to.

use super::{AckDue, ConnEvents, Connection, SMALL_RING};
use crate::tcp::ring_pool::RingPool;
use crate::tcp::scoreboard::SackUpdate;
use crate::tcp::state::State;
use crate::tcp::timer::Timer;
use crate::time::{Duration, Instant};
use crate::wire::{SeqNumber, TcpFlags, TcpRepr};

#[cfg(test)]
std::thread_local! {
    /// Test-only: every ACK takes all the steps of the general processing, so
    /// that tests can check the shortcuts (`sack_idle`, `loss_idle`, RACK's
    /// `rack_delivered_run`) change nothing.
    pub(super) static FORCE_GENERAL_ACK: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

impl Connection {
    /// Processes the ACK field of an acceptable segment. Returns false when the
    /// segment must be dropped.
    /// A send ring the ACK empties goes to `pool` ([`RingPool`]).
    pub(super) fn on_ack_segment(
        &mut self,
        now: Instant,
        seg: &TcpRepr<'_>,
        pool: &mut RingPool,
    ) -> bool {
        let ack = seg.ack_number;

        //= https://www.rfc-editor.org/rfc/rfc5961#section-5.2
        //# All incoming segments whose ACK value doesn't satisfy the above
        //# condition MUST be discarded and an ACK sent back.
        // The condition: (SND.UNA - MAX.SND.WND) =< SEG.ACK =< SND.NXT, with SND.NXT
        // the highest sequence number sent.
        let oldest = self.snd_una - self.max_snd_wnd.max(65535);
        if ack > self.snd_max || ack < oldest {
            self.on_unacceptable_ack(now, ack);
            return false;
        }

        let handshake = self.state == State::SynReceived;
        if handshake && !self.on_ack_in_syn_received(now, seg) {
            return false;
        }

        // The peer is alive: its answers to window probes count as such, and a
        // soft error (ICMP unreachable, R1 reached) is over, as Linux's tcp_ack
        // clears `sk_err_soft`.
        self.persist_probes = 0;
        self.soft_error = None;
        // No SACK blocks and no scoreboard: the scoreboard learns nothing and
        // nothing is newly SACKed (`on_ack_scoreboard`, `on_sack_delivered_cc`).
        let sacked = if self.sack_idle(seg) {
            SackUpdate::default()
        } else {
            self.on_ack_sack_blocks(now, seg)
        };
        let dsack = self.on_ack_rack(now, seg, sacked);
        let una_before = self.snd_una;
        let mut duplicate = false;
        if ack > self.snd_una {
            self.on_new_ack(now, seg, pool, handshake);
        } else if ack == self.snd_una {
            duplicate = self.on_same_ack(now, seg);
        }
        if self.loss_idle() {
            // Nothing for undo, F-RTO or SACK recovery to look at (see
            // `loss_idle`); of RACK's loss detection only the D-SACK round
            // bookkeeping and the reorder timer's cancelling remain.
            self.rack_detect_loss_boardless(dsack.is_some());
        } else {
            self.on_ack_loss_side(now, seg, una_before, dsack, duplicate, sacked);
        }
        self.arm_loss_probe(now, self.snd_una > una_before);
        self.update_send_window(seg);

        if self.fin_acked {
            match self.state {
                //= https://www.rfc-editor.org/rfc/rfc9293#section-3.10.7.4
                //# FIN-WAIT-1 STATE
                //# In addition to the processing for the ESTABLISHED state, if
                //# the FIN segment is now acknowledged, then enter FIN-WAIT-2
                //# and continue processing in that state.
                State::FinWait1 => {
                    self.set_state(State::FinWait2);
                    if self.orphaned {
                        self.arm_fin_timeout(now);
                    }
                }
                //= https://www.rfc-editor.org/rfc/rfc9293#section-3.10.7.4
                //# CLOSING STATE
                //# In addition to the processing for the ESTABLISHED state, if
                //# the ACK acknowledges our FIN, then enter the TIME-WAIT state;
                //# otherwise, ignore the segment.
                State::Closing => self.enter_time_wait(now, pool),
                //= https://www.rfc-editor.org/rfc/rfc9293#section-3.10.7.4
                //# LAST-ACK STATE
                //# The only thing that can arrive in this state is an
                //# acknowledgment of our FIN.  If our FIN is now acknowledged,
                //# delete the TCB, enter the CLOSED state, and return.
                State::LastAck => {
                    self.set_state(State::Closed);
                    return false;
                }
                _ => {}
            }
        }
        true
    }

    /// The ACK of our SYN-ACK in SYN-RECEIVED (acceptable by RFC 5961's test):
    /// ESTABLISHED, or a RST due when it acknowledges nothing new. Returns false
    /// when the segment must be dropped. Out of line: once per passive
    /// connection, and the synchronized states' ACK code stays dense without it.
    #[inline(never)]
    fn on_ack_in_syn_received(&mut self, now: Instant, seg: &TcpRepr<'_>) -> bool {
        let ack = seg.ack_number;
        //= https://www.rfc-editor.org/rfc/rfc9293#section-3.10.7.4
        //# If SND.UNA < SEG.ACK =< SND.NXT, then enter ESTABLISHED state
        //# and continue processing with the variables below set to:
        //#
        //# SND.WND <- SEG.WND
        //# SND.WL1 <- SEG.SEQ
        //# SND.WL2 <- SEG.ACK
        if ack <= self.snd_una {
            self.rst_due = Some((ack, None));
            return false;
        }
        self.snd_wnd = u32::from(seg.window_len) << self.snd_wscale;
        self.max_snd_wnd = self.max_snd_wnd.max(self.snd_wnd);
        self.snd_wl1 = seg.seq_number;
        self.snd_wl2 = ack;
        self.syn_due = false;
        self.on_handshake_established(now, seg);
        true
    }

    /// FIN-WAIT-2 on a connection the application closed: nobody will read, so
    /// do not wait forever for the peer's FIN. Out of line: the application
    /// usually reads to the end.
    #[cold]
    #[inline(never)]
    pub(super) fn arm_fin_timeout(&mut self, now: Instant) {
        self.timers
            .set(Timer::Linger, now + self.config.fin_timeout);
    }

    /// An ACK outside (SND.UNA - MAX.SND.WND) ..= SND.NXT (RFC 5961 section 5.2):
    /// a RST in SYN-RECEIVED, a challenge ACK otherwise. Out of line: rare, and
    /// the common ACK's code stays dense.
    #[cold]
    #[inline(never)]
    fn on_unacceptable_ack(&mut self, now: Instant, ack: SeqNumber) {
        if self.state == State::SynReceived {
            //= https://www.rfc-editor.org/rfc/rfc9293#section-3.10.7.4
            //# If the segment acknowledgment is not acceptable, form a reset
            //# segment
            //#
            //# <SEQ=SEG.ACK><CTL=RST>
            //#
            //# and send it.
            self.rst_due = Some((ack, None));
        } else {
            self.counters.challenge_acks_ack = self.counters.challenge_acks_ack.saturating_add(1);
            self.challenge_ack(now);
        }
    }

    /// The scoreboard steps of an ACK that carries SACK blocks or finds a
    /// scoreboard (not [`sack_idle`](Self::sack_idle)): the scoreboard learns the
    /// blocks and the delivery-rate estimator the newly SACKed records. Out of
    /// line, as the common ACK needs none of it.
    #[cold]
    #[inline(never)]
    fn on_ack_sack_blocks(&mut self, now: Instant, seg: &TcpRepr<'_>) -> SackUpdate {
        let sacked = self.on_ack_scoreboard(seg);
        self.on_sack_delivered_cc(now, sacked.newly_sacked);
        sacked
    }

    /// The loss-side steps of an ACK when something is there for them (not
    /// [`loss_idle`](Self::loss_idle)): undo, F-RTO, RACK's loss detection and
    /// SACK recovery. Out of line, as the common ACK needs none of it.
    #[cold]
    #[inline(never)]
    fn on_ack_loss_side(
        &mut self,
        now: Instant,
        seg: &TcpRepr<'_>,
        una_before: SeqNumber,
        dsack: Option<(SeqNumber, SeqNumber)>,
        duplicate: bool,
        sacked: SackUpdate,
    ) {
        self.on_ack_undo(now, seg, una_before, dsack);
        self.on_ack_frto(now, una_before, duplicate, sacked);
        self.rack_detect_loss(now, dsack.is_some());
        self.after_ack_sack(now, sacked);
    }

    /// Whether the scoreboard steps of an ACK would do nothing: `seg` carries no
    /// SACK blocks and there is no scoreboard (it is made by the first SACK block
    /// or a SACK recovery), so `on_ack_scoreboard` returns an empty update and
    /// changes nothing.
    #[inline]
    pub(super) fn sack_idle(&self, seg: &TcpRepr<'_>) -> bool {
        #[cfg(test)]
        if FORCE_GENERAL_ACK.get() {
            return false;
        }
        seg.options.sack_ranges.is_empty() && self.cc.as_deref().is_none_or(|s| s.board.is_none())
    }

    /// Whether, after SND.UNA moved, the loss-side steps of an ACK would find
    /// nothing: no congestion response that could be undone (`undo`), no
    /// retransmission outstanding (`retrans_out`), no F-RTO, no scoreboard and no
    /// recovery. Then `on_ack_undo` and `on_ack_frto` return at once,
    /// `after_ack_sack` has no scoreboard to presume a loss from and no recovery
    /// to pace, and `rack_detect_loss` reduces to `rack_detect_loss_boardless`.
    #[inline]
    pub(super) fn loss_idle(&self) -> bool {
        #[cfg(test)]
        if FORCE_GENERAL_ACK.get() {
            return false;
        }
        self.cc.as_deref().is_none_or(|s| {
            s.undo.is_none()
                && s.retrans_out.is_none()
                && s.frto.is_none()
                && s.board.is_none()
                && s.recovery.is_none()
        })
    }

    /// An ACK that acknowledges new data (SND.UNA < SEG.ACK =< SND.MAX).
    /// `sampled`: it completed a passive open, whose RTT sample
    /// `on_handshake_established` took already (one sample per ACK).
    fn on_new_ack(&mut self, now: Instant, seg: &TcpRepr<'_>, pool: &mut RingPool, sampled: bool) {
        let ack = seg.ack_number;
        let flight_before = self.flight();
        let mut acked = ack.diff(self.snd_una) as u32;
        if !self.syn_acked() {
            // The SYN's sequence number.
            acked -= 1;
        }
        let mut data_acked = acked as usize;
        if let Some(fin) = self.fin_pos() {
            if !self.fin_acked && ack == fin + 1u32 {
                self.fin_acked = true;
                data_acked = data_acked.saturating_sub(1);
            }
        }
        let data_acked = data_acked.min(self.send_buf.len());
        self.send_buf.consume(data_acked);
        self.counters.bytes_acked += data_acked as u64;
        self.snd_una = ack;
        if self.snd_nxt < self.snd_una {
            self.snd_nxt = self.snd_una;
        }

        let rtt = if sampled {
            None
        } else {
            self.rtt_sample(now, seg)
        };
        //= https://www.rfc-editor.org/rfc/rfc6298#section-5
        //# (5.3) When an ACK is received that acknowledges new data, restart the
        //# retransmission timer so that it will expire after RTO seconds (for
        //# the current value of RTO).
        self.rtt.reset_backoff();
        self.rto_count = 0;
        self.on_rto_run_over();
        self.persist_probes = 0;
        let outstanding = self.outstanding();
        if outstanding > 0 {
            self.restart_retransmit_timer(now);
        } else {
            //= https://www.rfc-editor.org/rfc/rfc6298#section-5
            //# (5.2) When all outstanding data has been acknowledged, turn off the
            //# retransmission timer.
            self.timers.clear(Timer::Retransmit);
            self.unacked_since = None;
        }

        let partial = self.on_ack_cc(now, ack, acked, flight_before, rtt);
        if partial && outstanding > 0 {
            self.retransmit_una = true;
        }
        self.dupacks = 0;
        if data_acked > 0 && self.state.can_send() && self.send_buf.free() > 0 {
            self.events.insert(ConnEvents::WRITABLE);
        }
        // Without storage (the ACK of a SYN or a FIN, or of data whose ring already
        // went) there is nothing to let go of: the ring keeps `head` at 0 then, so
        // the call would change nothing.
        let held = self.send_buf.allocated();
        if self.send_buf.is_empty() && held != 0 && held <= SMALL_RING {
            self.send_buf.shrink_if_empty_into(pool);
        }
    }

    /// RFC 6298 (5.3) for an ACK of new data that leaves data outstanding: the
    /// retransmission timer restarts. Out of line: the ACK of everything sent
    /// (every ACK of a short connection) clears the timer instead, and its code
    /// stays dense without this.
    #[inline(never)]
    fn restart_retransmit_timer(&mut self, now: Instant) {
        self.timers
            .set(Timer::Retransmit, self.rtt.rto_deadline(now));
        self.unacked_since = Some(now);
    }

    /// An ACK that acknowledges nothing new: a duplicate ACK if it carries no data,
    /// does not move the window and data is outstanding. Returns whether it was
    /// one.
    //= https://www.rfc-editor.org/rfc/rfc5681#section-2
    //# DUPLICATE ACKNOWLEDGMENT: An acknowledgment is considered a
    //# "duplicate" in the following algorithms when (a) the receiver of the
    //# ACK has outstanding data, (b) the incoming acknowledgment carries no
    //# data, (c) the SYN and FIN bits are both off, (d) the acknowledgment
    //# number is equal to the greatest acknowledgment received on the given
    //# connection (TCP.UNA from [RFC793]) and (e) the advertised window in
    //# the incoming acknowledgment equals the advertised window in the last
    //# incoming acknowledgment.
    // Out of line: an ACK of nothing new is a data segment's or a duplicate,
    // and the ACK of new data's code (every ACK of a short connection) stays
    // dense without it.
    #[inline(never)]
    fn on_same_ack(&mut self, now: Instant, seg: &TcpRepr<'_>) -> bool {
        let window = u32::from(seg.window_len) << self.snd_wscale;
        let duplicate = self.outstanding() > 0
            && seg.payload.is_empty()
            && !seg.flags.intersects(TcpFlags::SYN | TcpFlags::FIN)
            && window == self.snd_wnd;
        if !duplicate {
            return false;
        }
        self.dupacks += 1;
        self.counters.dupacks_in = self.counters.dupacks_in.saturating_add(1);
        // With RACK deciding the losses (a scoreboard fed by SACK blocks), the
        // duplicate ACK count plays no part: RACK's zero reordering window until
        // reordering is seen does what DupThresh did.
        //= https://www.rfc-editor.org/rfc/rfc8985#section-6.2
        let rack_decides = self.rack_on()
            && self
                .cc
                .as_deref()
                .and_then(|s| s.board.as_ref())
                .is_some_and(|b| b.uses_rack());
        if self.dupacks == 3 && !rack_decides {
            //= https://www.rfc-editor.org/rfc/rfc5681#section-3.2
            //# The fast retransmit algorithm uses the arrival of 3 duplicate ACKs
            //# (as defined in section 2, without any intervening ACKs which move
            //# SND.UNA) as an indication that a segment has been lost.
            if self.on_triple_dupack(now, seg.ack_number) {
                self.retransmit_una = true;
                self.counters.fast_retransmits = self.counters.fast_retransmits.saturating_add(1);
                self.rtt_probe = None;
            }
        } else if self.dupacks > 3 {
            self.on_dupack_in_recovery();
        }
        true
    }

    /// The send-window update rule of RFC 9293 section 3.10.7.4.
    fn update_send_window(&mut self, seg: &TcpRepr<'_>) {
        let ack = seg.ack_number;
        //= https://www.rfc-editor.org/rfc/rfc9293#section-3.10.7.4
        //# If SND.UNA =< SEG.ACK =< SND.NXT, the send window should be
        //# updated.  If (SND.WL1 < SEG.SEQ or (SND.WL1 = SEG.SEQ and
        //# SND.WL2 =< SEG.ACK)), set SND.WND <- SEG.WND, set
        //# SND.WL1 <- SEG.SEQ, and set SND.WL2 <- SEG.ACK.
        if ack < self.snd_una || ack > self.snd_max {
            return;
        }
        let newer = self.snd_wl1 < seg.seq_number
            || (self.snd_wl1 == seg.seq_number && self.snd_wl2 <= ack);
        if !newer {
            return;
        }
        //= https://www.rfc-editor.org/rfc/rfc7323#section-2.3
        //# The window field (SEG.WND) in the header of every incoming
        //# segment, with the exception of <SYN> segments, MUST be left-shifted
        //# by Snd.Wind.Shift bits before updating SND.WND:
        let window = u32::from(seg.window_len) << self.snd_wscale;
        self.snd_wnd = window;
        self.max_snd_wnd = self.max_snd_wnd.max(window);
        self.snd_wl1 = seg.seq_number;
        self.snd_wl2 = ack;
        if window > 0 {
            self.timers.clear(Timer::Persist);
            self.persist_backoff = 0;
        }
    }

    /// Takes an RTT sample from an ACK of new data: from the timed segment if it was
    /// not retransmitted (Karn's algorithm), else from the echoed timestamp.
    // Out of line: one copy for the ACK of new data and the handshake.
    #[inline(never)]
    fn rtt_sample(&mut self, now: Instant, seg: &TcpRepr<'_>) -> Option<Duration> {
        // The sample in nanoseconds, from either source; the estimator's update and
        // the one `Duration` (for the congestion controller) follow, one copy for
        // both.
        let nanos = 'sample: {
            if let Some((end, sent, acked_then)) = self.rtt_probe {
                if seg.ack_number >= end {
                    self.rtt_probe = None;
                    let rtt = now.saturating_nanos_since(sent);
                    let delivered = self.counters.bytes_acked - acked_then;
                    // Data acknowledged means the congestion state exists; the
                    // SYN's sample (nothing delivered) needs none.
                    if let Some(s) = self.cc.as_deref_mut() {
                        s.delivery = super::congestion::DeliverySample {
                            bytes: delivered,
                            rtt_nanos: rtt,
                        };
                    }
                    break 'sample rtt;
                }
            }
            //= https://www.rfc-editor.org/rfc/rfc7323#section-4.1
            //# A TSecr value received in a segment MAY be used to
            //# update the averaged RTT measurement only if the segment advances
            //# the left edge of the send window, i.e., SND.UNA is increased.
            if self.rtt_probe.is_none() {
                if let (Some(_), Some(opt)) = (self.ts, seg.options.timestamp) {
                    if opt.tsecr != 0 {
                        let ticks = self.ts_now(now).wrapping_sub(opt.tsecr);
                        // A wild echo (older than a minute) is no sample.
                        if ticks < 60_000 {
                            break 'sample u64::from(ticks) * 1_000_000;
                        }
                    }
                }
            }
            return None;
        };
        self.rtt.on_sample_nanos(nanos);
        Some(Duration::from_nanos(nanos))
    }

    /// Our SYN is acknowledged (by the SYN-ACK in SYN-SENT, by the ACK of our
    /// SYN-ACK in SYN-RECEIVED): the handshake's RTT sample (the SYN or SYN-ACK
    /// was timed unless resent), ESTABLISHED, and keep-alive armed. Out of line:
    /// one copy serves both handshake paths, each of which runs once per
    /// connection.
    #[inline(never)]
    pub(super) fn on_handshake_established(&mut self, now: Instant, seg: &TcpRepr<'_>) {
        let retransmitted = self.rto_count > 0;
        self.rtt_sample(now, seg);
        if retransmitted {
            self.rtt.on_handshake_done_after_syn_timeout();
        }
        self.rto_count = 0;
        self.set_state(State::Established);
        if self.fin_queued {
            // The application shut down writing before the handshake completed
            // (`shutdown_write` in SYN-SENT or SYN-RECEIVED): its FIN goes now,
            // behind whatever it wrote.
            self.set_state(State::FinWait1);
            return;
        }
        self.arm_keepalive(now);
    }

    /// Enters TIME-WAIT for 2 MSL. The rings it lets go of go to `pool`
    /// ([`RingPool`]).
    pub(super) fn enter_time_wait(&mut self, now: Instant, pool: &mut RingPool) {
        self.set_state(State::TimeWait);
        self.timers.clear_all();
        self.timers.set(Timer::Linger, now + self.config.time_wait);
        self.ack_due = if self.ack_due == AckDue::No {
            AckDue::No
        } else {
            AckDue::Now
        };
        // Nothing of the buffers is needed any more (unread data stays).
        self.send_buf.shrink_if_empty_into(pool);
        self.recv_buf.shrink_if_empty_into(false, pool);
    }
}
