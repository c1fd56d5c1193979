//! Segment arrival (RFC 9293 section 3.10.7): SYN-SENT, then for the other states
//! PAWS, the acceptability test, the RST and SYN checks of RFC 5961, and the dispatch
//! to the sender's ACK processing and the receiver's data processing.

use super::open::SynInfo;
use super::{AckDue, ConnEvents, Connection, TcpError};
use crate::stack::TimeWaitState;
use crate::tcp::ring::odd_aligned;
use crate::tcp::ring_pool::RingPool;
use crate::tcp::state::State;
use crate::tcp::timer::Timer;
use crate::time::{Duration, Instant};
use crate::wire::checksum;
use crate::wire::{SeqNumber, TcpFlags, TcpRepr};

/// PAWS ignores a TS.Recent older than this.
//= https://www.rfc-editor.org/rfc/rfc7323#section-5.5
//# If the connection has been idle more than 24 days,
//# TS.Recent MUST be invalidated
const PAWS_IDLE: Duration = Duration::from_secs(24 * 24 * 60 * 60);
/// [`PAWS_IDLE`] in nanoseconds: the test compares integers, without building a
/// `Duration` per segment.
const PAWS_IDLE_NANOS: u64 = PAWS_IDLE.as_nanos() as u64;

impl Connection {
    /// The largest sequence number sent, plus one (SND.NXT after the FIN once in
    /// TIME-WAIT): what a new incarnation's ISS must lie beyond.
    pub(crate) fn send_max(&self) -> SeqNumber {
        self.snd_nxt.max(self.snd_max)
    }

    /// Ends TIME-WAIT early (a SYN that starts a new incarnation of the tuple
    /// took it, RFC 6191): CLOSED, with no error.
    pub(crate) fn end_time_wait(&mut self) {
        if self.state == State::TimeWait {
            self.set_state(State::Closed);
        }
    }

    /// Whether the connection sent anything beyond its SYN (data or a FIN):
    /// sequence numbers a new incarnation of its tuple must not reuse, which
    /// the ISN clock's next tick alone does not avoid.
    pub(crate) fn sent_past_syn(&self) -> bool {
        self.send_max() - self.iss > 1
    }

    /// What TIME-WAIT needs of this connection, once it is in TIME-WAIT: the stack
    /// then keeps that compact record and frees the connection
    /// (`stack::time_wait`).
    pub(crate) fn time_wait_state(&self) -> Option<TimeWaitState> {
        if self.state != State::TimeWait {
            return None;
        }
        Some(TimeWaitState {
            snd_nxt: self.send_max(),
            rcv_nxt: self.rcv_nxt,
            rcv_wnd: self.rcv_wnd(),
            window: self.window_to_advertise(false).0,
            max_snd_wnd: self.max_snd_wnd,
            ts_recent: self.ts.map(|t| t.recent),
            ts_offset: self.ts.map_or(0, |t| t.offset),
            expires: self.timers.get(Timer::Linger)?,
            last_answer: self.last_invalid_answer,
            ttl: self.options.ttl,
            dscp: self.options.dscp,
        })
    }

    /// A segment for this connection arrived (its checksum already verified and its
    /// ports matched by the stack).
    pub fn handle_segment(&mut self, now: Instant, seg: &TcpRepr<'_>) {
        self.handle_segment_pooled(now, seg, &mut RingPool::new(0));
    }

    /// [`handle_segment`](Self::handle_segment), with the stack's ring pool
    /// ([`RingPool`]): a receive ring's first storage comes from it, and a ring
    /// the segment lets go of (the send ring once its data is acknowledged, the
    /// rings on entering TIME-WAIT) goes to it.
    // Out of line: the stack's segment paths each call it, and a copy of the whole
    // state machine inlined in each costs more than the call.
    #[inline(never)]
    pub(crate) fn handle_segment_pooled(
        &mut self,
        now: Instant,
        seg: &TcpRepr<'_>,
        pool: &mut RingPool,
    ) {
        self.counters.segs_in += 1;
        match self.state {
            State::Closed | State::Listen => {}
            State::SynSent => self.on_segment_syn_sent(now, seg, pool),
            _ => self.on_segment(now, seg, pool),
        }
        self.payload_prestored = false;
    }

    /// Drops the mark [`prestore_payload`](Self::prestore_payload) left, when the
    /// segment did not reach [`handle_segment`](Self::handle_segment).
    pub(crate) fn forget_prestored(&mut self) {
        self.payload_prestored = false;
    }

    /// Before the checksum is verified: when `seg` carries the next in-order data
    /// and nothing else is going on (the common segment of a transfer), copies its
    /// payload into the receive buffer at RCV.NXT, uncommitted, and returns the
    /// one's-complement sum of the payload, taken while copying. The stack then
    /// verifies the checksum with it and, if the segment is good, hands it to
    /// [`handle_segment`](Self::handle_segment), which finds the bytes in place
    /// instead of copying them again; a bad segment is dropped and the bytes, never
    /// committed, are overwritten later. Returns `None` (nothing copied) for any
    /// other segment.
    /// A first receive storage comes from `pool` ([`RingPool`]).
    pub(crate) fn prestore_payload(
        &mut self,
        seg: &TcpRepr<'_>,
        pool: &mut RingPool,
    ) -> Option<u16> {
        self.payload_prestored = false;
        if seg.payload.is_empty()
            || seg.seq_number != self.rcv_nxt
            || seg.flags.intersects(TcpFlags::SYN | TcpFlags::RST)
            || !seg.flags.contains(TcpFlags::ACK)
            || !self.state.receives_data()
            || self.orphaned
            || !self.assembler.is_empty()
        {
            return None;
        }
        let (stored, sum) = self.recv_buf.write_at_summed_pooled(0, seg.payload, pool);
        self.payload_prestored = true;
        let rest = seg.payload.get(stored..).unwrap_or_default();
        if rest.is_empty() {
            return Some(sum);
        }
        // Past the window: summed, not stored (store_payload clips it the same way).
        let rest = odd_aligned(checksum::data(rest), stored);
        Some(checksum::combine(&[sum, rest]))
    }

    /// RFC 9293 section 3.10.7.3. Out of line: once per active connection (its
    /// SYN-ACK), and the other states' segment code stays dense without it.
    #[inline(never)]
    fn on_segment_syn_sent(&mut self, now: Instant, seg: &TcpRepr<'_>, pool: &mut RingPool) {
        let flags = seg.flags;
        let has_ack = flags.contains(TcpFlags::ACK);
        if has_ack {
            //= https://www.rfc-editor.org/rfc/rfc9293#section-3.10.7.3
            //# If SEG.ACK =< ISS or SEG.ACK > SND.NXT, send a reset (unless
            //# the RST bit is set, if so drop the segment and return)
            let ack = seg.ack_number;
            if ack <= self.iss || ack > self.snd_max {
                if !flags.contains(TcpFlags::RST) {
                    self.rst_due = Some((ack, None));
                }
                return;
            }
        }
        if flags.contains(TcpFlags::RST) {
            //= https://www.rfc-editor.org/rfc/rfc9293#section-3.10.7.3
            //# If the ACK was acceptable, then signal to the user "error:
            //# connection reset", drop the segment, enter CLOSED state,
            //# delete TCB, and return.  Otherwise (no ACK), drop the segment
            //# and return.
            if has_ack {
                self.fail(TcpError::Refused);
            }
            return;
        }
        if !flags.contains(TcpFlags::SYN) {
            return;
        }
        self.last_recv = now;
        self.on_peer_syn(now, &SynInfo::from_repr(seg));
        if has_ack {
            // Our SYN is acknowledged: SND.UNA advances past it.
            self.snd_una = seg.ack_number;
            if self.snd_nxt < self.snd_una {
                self.snd_nxt = self.snd_una;
            }
            self.snd_wl2 = seg.ack_number;
            self.on_syn_ack_ecn(flags);
            self.timers.clear(Timer::Retransmit);
            //= https://www.rfc-editor.org/rfc/rfc9293#section-3.10.7.3
            //# If SND.UNA > ISS (our SYN has been ACKed), change the connection
            //# state to ESTABLISHED, form an ACK segment
            //#
            //# <SEQ=SND.NXT><ACK=RCV.NXT><CTL=ACK>
            //#
            //# and send it.
            self.ack_due = AckDue::Now;
            self.syn_due = false;
            self.on_handshake_established(now, seg);
            // Data or a FIN that came with the SYN-ACK.
            self.on_data(now, seg, pool);
        } else {
            //= https://www.rfc-editor.org/rfc/rfc9293#section-3.10.7.3
            //# Otherwise, enter SYN-RECEIVED, form a SYN,ACK segment
            //#
            //# <SEQ=ISS><ACK=RCV.NXT><CTL=SYN,ACK>
            //#
            //# and send it.
            self.set_state(State::SynReceived);
            self.syn_due = true;
            self.snd_nxt = self.iss;
        }
    }

    /// RFC 9293 section 3.10.7.4, for SYN-RECEIVED and the synchronized states.
    fn on_segment(&mut self, now: Instant, seg: &TcpRepr<'_>, pool: &mut RingPool) {
        let flags = seg.flags;
        let rst = flags.contains(TcpFlags::RST);

        if self.state == State::SynReceived
            && flags.contains(TcpFlags::SYN)
            && !flags.intersects(TcpFlags::ACK | TcpFlags::RST)
            && seg.seq_number == self.irs
        {
            self.on_syn_retransmitted();
            return;
        }

        if !rst && !self.paws_ok(now, seg) {
            self.on_paws_reject(now);
            return;
        }

        // An unacceptable segment is answered and dropped; only its ACK may be
        // taken (`on_unacceptable`), through the one copy of the ACK processing
        // below.
        let ack_alone = if self.acceptable(seg) {
            self.update_ts_recent(now, seg);
            self.last_recv = now;
            self.keepalive_probes = 0;
            if self.state == State::Established || self.state == State::CloseWait {
                self.arm_keepalive(now);
            }

            if rst {
                self.on_rst(now, seg);
                return;
            }

            if flags.contains(TcpFlags::SYN) {
                self.on_syn_in_window(now);
                return;
            }
            false
        } else if self.on_unacceptable(now, seg) {
            true
        } else {
            return;
        };

        //= https://www.rfc-editor.org/rfc/rfc9293#section-3.10.7.4
        //# if the ACK bit is off, drop the segment and return
        if !flags.contains(TcpFlags::ACK) {
            return;
        }
        self.on_segment_ecn_rx(seg);
        let flight = self.outstanding();
        if !self.on_ack_segment(now, seg, pool) {
            return;
        }
        self.on_ack_ecn(now, flight);
        if self.state == State::Closed || ack_alone {
            return;
        }
        self.on_urgent(seg);
        self.on_data(now, seg, pool);
    }

    /// The peer retransmitted its SYN in SYN-RECEIVED: our SYN-ACK was lost. (The
    /// SYN lies below RCV.NXT, so the acceptability test would only draw an ACK.)
    /// The rare branches of [`on_segment`](Self::on_segment) are out of line
    /// (`#[cold]`), so that the common segment's code stays dense.
    #[cold]
    #[inline(never)]
    fn on_syn_retransmitted(&mut self) {
        self.syn_due = true;
        self.snd_nxt = self.iss;
    }

    /// A segment PAWS rejected.
    //= https://www.rfc-editor.org/rfc/rfc7323#section-5.3
    //# If SEG.TSval < TS.Recent and the RST bit is off:
    //# ...
    //# Send an acknowledgment in reply as specified in
    //# RFC 793 page 69 and drop the segment.
    #[cold]
    #[inline(never)]
    fn on_paws_reject(&mut self, now: Instant) {
        self.counters.paws_drops = self.counters.paws_drops.saturating_add(1);
        self.answer_invalid(now);
    }

    /// A segment that failed the acceptability test.
    //= https://www.rfc-editor.org/rfc/rfc9293#section-3.10.7.4
    //# If an incoming segment is not acceptable, an acknowledgment
    //# should be sent in reply (unless the RST bit is set, if so drop
    //# the segment and return):
    #[cold]
    #[inline(never)]
    /// Returns whether the segment's ACK is to be taken all the same.
    fn on_unacceptable(&mut self, now: Instant, seg: &TcpRepr<'_>) -> bool {
        let flags = seg.flags;
        // An ACK alone, less than a window below RCV.NXT, that acknowledges new
        // data: a peer that timed out and went back to SND.UNA sends its ACKs
        // at a sequence number below what we already hold (at its FIN's place,
        // or at the edge of a window of ours it has not seen grow). Dropped
        // with its acknowledgement, it left both sides retrying until R2 when
        // both had gone back. Its acknowledgement is taken (RFC 5961's ACK check
        // still applies, in `on_ack_segment`: for a blind forger the sequence
        // numbers that work are a window below RCV.NXT besides the window
        // above, twice as many), and it is answered as a keep-alive, which has
        // this form, is. (BSD takes the ACK of any old segment; Linux, which
        // never moves SND.NXT back, none.)
        // (ECN's flags may come with it: Accurate ECN's ACE counter, which
        // starts at 5, is in AE, CWR and ECE of every ACK, and RFC 3168's ECE
        // echoes a CE mark.)
        let below = self.rcv_nxt.diff(seg.seq_number);
        let take_ack = seg.segment_len() == 0
            && flags.contains(TcpFlags::ACK)
            && !flags.intersects(TcpFlags::SYN | TcpFlags::FIN | TcpFlags::RST | TcpFlags::URG)
            && below > 0
            && (below as u32) <= self.rcv_wnd().max(self.largest_window())
            && seg.ack_number > self.snd_una
            && self.state.is_synchronized();
        if !flags.contains(TcpFlags::RST) {
            if self.state == State::TimeWait && flags.contains(TcpFlags::FIN) {
                //= https://www.rfc-editor.org/rfc/rfc9293#section-3.10.7.4
                //# TIME-WAIT STATE
                //# The only thing that can arrive in this state is a
                //# retransmission of the remote FIN.  Acknowledge it, and
                //# restart the 2 MSL timeout.
                self.timers.set(Timer::Linger, now + self.config.time_wait);
                self.ack_due = AckDue::Now;
            } else {
                self.note_duplicate(seg);
                self.answer_invalid(now);
            }
        }
        self.counters.out_of_window = self.counters.out_of_window.saturating_add(1);
        take_ack
    }

    /// The largest receive window this connection can advertise: its buffer,
    /// within what the window field carries at its scale. No peer's flight can
    /// have been larger (what bounds how far below RCV.NXT its ACK may be
    /// after it went back, `on_unacceptable`).
    fn largest_window(&self) -> u32 {
        let field_max = 65535u32 << self.rcv_wscale;
        u32::try_from(self.recv_buf.limit()).map_or(field_max, |limit| limit.min(field_max))
    }

    /// A SYN in the window of a synchronized connection.
    //= https://www.rfc-editor.org/rfc/rfc5961#section-4.2
    //# If the SYN bit is set, irrespective of the sequence number, TCP
    //# MUST send an ACK (also referred to as challenge ACK) to the remote
    //# peer:
    #[cold]
    #[inline(never)]
    fn on_syn_in_window(&mut self, now: Instant) {
        self.counters.challenge_acks_syn = self.counters.challenge_acks_syn.saturating_add(1);
        self.challenge_ack(now);
    }

    /// PAWS (RFC 7323 section 5.3): a segment whose timestamp is older than
    /// TS.Recent is an old duplicate.
    pub(super) fn paws_ok(&self, now: Instant, seg: &TcpRepr<'_>) -> bool {
        let (Some(ts), Some(opt)) = (self.ts, seg.options.timestamp) else {
            return true;
        };
        if now.saturating_nanos_since(ts.recent_at) > PAWS_IDLE_NANOS {
            return true;
        }
        (opt.tsval.wrapping_sub(ts.recent) as i32) >= 0
    }

    /// Records the peer's timestamp to echo.
    //= https://www.rfc-editor.org/rfc/rfc7323#section-4.3
    //# If SEG.TSval >= TS.Recent and SEG.SEQ <= Last.ACK.sent
    //# then SEG.TSval is copied to TS.Recent; otherwise, it is ignored.
    pub(super) fn update_ts_recent(&mut self, now: Instant, seg: &TcpRepr<'_>) {
        let last_ack_sent = self.last_ack_sent;
        if let (Some(ts), Some(opt)) = (self.ts.as_mut(), seg.options.timestamp) {
            if seg.seq_number <= last_ack_sent && (opt.tsval.wrapping_sub(ts.recent) as i32) >= 0 {
                ts.recent = opt.tsval;
                ts.recent_at = now;
            }
        }
    }

    /// The window we promised: from RCV.NXT to the right edge last advertised.
    pub(super) fn rcv_wnd(&self) -> u32 {
        self.rcv_adv.diff(self.rcv_nxt).max(0) as u32
    }

    /// The acceptability test of RFC 9293 section 3.10.7.4.
    //= https://www.rfc-editor.org/rfc/rfc9293#section-3.10.7.4
    //# There are four cases for the acceptability test for an incoming
    //# segment:
    fn acceptable(&self, seg: &TcpRepr<'_>) -> bool {
        let len = seg.segment_len() as u32;
        let wnd = self.rcv_wnd();
        let seq = seg.seq_number;
        match (len, wnd) {
            (0, 0) => seq == self.rcv_nxt,
            // The right edge itself too, as Linux's `tcp_sequence` accepts it: a
            // sender that filled our window sends its ACKs at SND.NXT, which is
            // that edge while its data is still on the way. Strictly (RFC 9293's
            // `<`), every such ACK, and what it acknowledges of our data, was
            // dropped until the data arrived; if it never did (lost, and the
            // sender timed out and went back), neither side recovered.
            (0, _) => seq.in_window(self.rcv_nxt, wnd.saturating_add(1)),
            //= https://www.rfc-editor.org/rfc/rfc9293#section-3.10.7.4
            //# If the RCV.WND is zero, no segments will be acceptable, but
            //# special allowance should be made to accept valid ACKs, URGs, and
            //# RSTs.
            // A segment at RCV.NXT is let through so that its ACK, URG and RST are
            // processed; the data processing stores none of its bytes.
            (_, 0) => seq == self.rcv_nxt,
            (_, _) => {
                seq.in_window(self.rcv_nxt, wnd) || (seq + (len - 1)).in_window(self.rcv_nxt, wnd)
            }
        }
    }

    /// RST processing with RFC 5961's sequence check.
    #[cold]
    #[inline(never)]
    fn on_rst(&mut self, now: Instant, seg: &TcpRepr<'_>) {
        //= https://www.rfc-editor.org/rfc/rfc5961#section-3.2
        //# 1) If the RST bit is set and the sequence number is outside the
        //#    current receive window, silently drop the segment.
        //#
        //# 2) If the RST bit is set and the sequence number exactly matches
        //#    the next expected sequence number (RCV.NXT), then TCP MUST reset
        //#    the connection.
        //#
        //# 3) If the RST bit is set and the sequence number does not exactly
        //#    match the next expected sequence value, yet is within the current
        //#    receive window, TCP MUST send an acknowledgment (challenge ACK):
        if seg.seq_number != self.rcv_nxt {
            self.counters.challenge_acks_rst = self.counters.challenge_acks_rst.saturating_add(1);
            self.challenge_ack(now);
            return;
        }
        self.counters.resets_received = self.counters.resets_received.saturating_add(1);
        match self.state {
            //= https://www.rfc-editor.org/rfc/rfc9293#section-3.10.7.4
            //# If this connection was initiated with a passive OPEN (i.e.,
            //# came from the LISTEN state), then return this connection to
            //# LISTEN state and return.
            // The listener keeps listening; this half-open connection just goes.
            State::SynReceived if self.passive => self.set_state(State::Closed),
            State::SynReceived => self.fail(TcpError::Refused),
            //= https://www.rfc-editor.org/rfc/rfc9293#section-3.10.7.4
            //# If the RST bit is set, then any outstanding RECEIVEs and SEND
            //# should receive "reset" responses.  All segment queues should be
            //# flushed.  Users should also receive an unsolicited general
            //# "connection reset" signal.  Enter the CLOSED state, delete the
            //# TCB, and return.
            State::Established | State::FinWait1 | State::FinWait2 => self.fail(TcpError::Reset),
            // Linux's `tcp_reset` reports a RST in CLOSE-WAIT as `EPIPE`, not
            // `ECONNRESET`: the peer had closed, so the stream has ended and
            // what fails is writing to it.
            State::CloseWait => self.fail(TcpError::ResetInCloseWait),
            //= https://www.rfc-editor.org/rfc/rfc9293#section-3.10.7.4
            //# If the RST bit is set, then enter the CLOSED state, delete the
            //# TCB, and return.
            // So the RFC in CLOSING and LAST-ACK; but Linux's `tcp_reset`
            // reports `ECONNRESET` there as in ESTABLISHED (every state but
            // SYN-SENT and CLOSE-WAIT), and its sockets are the reference for
            // the `std::net`-like API, which could not tell this end from an
            // acknowledged FIN's: the application sees the reset, taken once
            // by its error query or a send, while receives still end the
            // stream (the peer's FIN came first).
            State::Closing | State::LastAck => self.fail(TcpError::Reset),
            _ => self.set_state(State::Closed),
        }
    }

    /// Sends a challenge ACK, at most one per `invalid_ratelimit`.
    //= https://www.rfc-editor.org/rfc/rfc5961#section-7
    //# An implementation SHOULD include an ACK throttling mechanism to be
    //# conservative.
    pub(super) fn challenge_ack(&mut self, now: Instant) {
        if self.answer_invalid(now) {
            self.counters.challenge_acks = self.counters.challenge_acks.saturating_add(1);
        }
    }

    /// Acknowledges an invalid segment, rate-limited. Returns whether an ACK will go.
    fn answer_invalid(&mut self, now: Instant) -> bool {
        if let Some(last) = self.last_invalid_answer {
            if now.saturating_duration_since(last) < self.config.invalid_ratelimit {
                self.counters.invalid_answers_limited =
                    self.counters.invalid_answers_limited.saturating_add(1);
                return false;
            }
        }
        self.last_invalid_answer = Some(now);
        self.ack_due = AckDue::Now;
        true
    }

    /// An unacceptable segment carrying data already received: report it with a
    /// D-SACK block (RFC 2883) if SACK is in use.
    fn note_duplicate(&mut self, seg: &TcpRepr<'_>) {
        let len = seg.payload.len();
        if len == 0 || !self.sack_ok {
            return;
        }
        let start = seg.seq_number;
        let end = start + len;
        if end <= self.rcv_nxt {
            //= https://www.rfc-editor.org/rfc/rfc2883#section-4
            //# If the data receiver receives a duplicate segment, the
            //# first SACK block reports the duplicate
            self.dsack = Some((start, end));
        }
    }

    /// The urgent pointer (RFC 9293 section 3.8.5): remembered so the application can
    /// learn where urgent data ends.
    #[inline]
    fn on_urgent(&mut self, seg: &TcpRepr<'_>) {
        if !seg.flags.contains(TcpFlags::URG) || !self.state.receives_data() {
            return;
        }
        self.on_urgent_pointer(seg);
    }

    /// [`on_urgent`](Self::on_urgent) for a segment with URG, in a state that
    /// receives data. Out of line: rare.
    #[cold]
    #[inline(never)]
    fn on_urgent_pointer(&mut self, seg: &TcpRepr<'_>) {
        //= https://www.rfc-editor.org/rfc/rfc9293#section-3.10.7.4
        //# If the URG bit is set, RCV.UP <- max(RCV.UP,SEG.UP), and signal
        //# the user that the remote side has urgent data if the urgent
        //# pointer (RCV.UP) is in advance of the data consumed.
        //= https://www.rfc-editor.org/rfc/rfc9293#section-3.8.5
        //# the urgent pointer points to the sequence number of the octet
        //# following the urgent data.
        let up: SeqNumber = seg.seq_number + u32::from(seg.urgent_pointer);
        let advanced = self.rcv_up.is_none_or(|cur| up > cur);
        self.rcv_up = Some(match self.rcv_up {
            Some(cur) => cur.max(up),
            None => up,
        });
        //= https://www.rfc-editor.org/rfc/rfc9293#section-3.8.5
        // MUST-32: the application is told asynchronously, once per advance of the
        // pointer, while urgent data lies ahead of what it has read.
        if advanced && self.urgent_mark().is_some() {
            self.events.insert(ConnEvents::URGENT);
        }
    }
}
