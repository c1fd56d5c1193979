//! What to send next and its encoding.
//!
//! The order of [`Connection::poll_transmit`]'s choices: a RST; the SYN or SYN-ACK; a
//! fast retransmission; a window or keep-alive probe; new data (or data resent after
//! a timeout) under the congestion and send windows, Nagle's algorithm and sender SWS
//! avoidance, with the FIN after the last byte; finally a pure ACK or window update.
//! Every segment but the first SYN carries an ACK, so a pending ACK rides along.
//! When the connection paces (see `pacing`), new data waits for the pacing timer;
//! nothing else does.

use core::net::SocketAddr;

use super::congestion::MAX_TX_RECORDS;
use super::open::{TCP_HEADER_LEN, TS_OPTION_LEN};
use super::plpmtud::MtuProbeStep;
use super::{AckDue, Connection};
use crate::tcp::state::State;
use crate::tcp::timer::Timer;
use crate::time::Instant;
use crate::wire::checksum as wire_checksum;
use crate::wire::{
    emit_tcp_header, AddrPair, ChecksumMode, IpProtocol, PseudoHeader, SackBlocks, SegmentTemplate,
    SeqNumber, TcpFlags, TcpHeaderFields, TcpOptions, TcpPacket, TcpRepr, TcpTimestamp,
};

/// What [`Connection::poll_segment`] wrote: what the stack needs to count it,
/// without reading the segment back.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct SentSegment {
    /// The segment's length (TCP header and payload).
    pub(crate) len: usize,
    /// Its control bits.
    pub(crate) flags: TcpFlags,
    /// It resent sequence space (counted in the connection's `retrans_segs`).
    pub(crate) retransmission: bool,
}

/// One segment decided on, before encoding.
#[derive(Debug, Clone, Copy)]
struct Plan {
    seq: SeqNumber,
    flags: TcpFlags,
    /// Payload bytes from the send buffer, starting `payload_off` bytes after its
    /// front (SND.UNA).
    payload_off: usize,
    payload_len: usize,
    /// The ACK number, for a RST answering something.
    ack: Option<SeqNumber>,
    /// Whether this segment resends sequence space already sent.
    retransmit: bool,
}

impl Plan {
    fn control(seq: SeqNumber, flags: TcpFlags) -> Plan {
        Plan {
            seq,
            flags,
            payload_off: 0,
            payload_len: 0,
            ack: None,
            retransmit: false,
        }
    }
}

/// The urgent pointer for a segment starting at `seq` with `len` bytes when the
/// urgent data ends before `up` (rare: out of line).
#[cold]
#[inline(never)]
fn urgent_pointer(up: SeqNumber, seq: SeqNumber, len: usize) -> (u16, bool) {
    if up > seq && len > 0 {
        //= https://www.rfc-editor.org/rfc/rfc9293#section-3.8.5
        //# The urgent pointer points to the sequence number of the octet
        //# following the urgent data (MUST-30).
        let ptr = up.diff(seq).clamp(0, i32::from(u16::MAX)) as u16;
        (ptr, true)
    } else {
        (0, false)
    }
}

/// The rest of [`Connection::copy_payload_summed`] when the payload wraps
/// around the end of the send ring: copies `b` (which follows `a_len` bytes
/// summed to `sum_a`) to `out_b` and returns the whole payload's sum. Out of
/// line: one segment in a ring's worth crosses its end.
#[cold]
#[inline(never)]
fn copy_wrapped_summed(sum_a: u16, a_len: usize, out_b: &mut [u8], b: &[u8]) -> u16 {
    let sum_b = wire_checksum::copy(out_b, b);
    //= https://www.rfc-editor.org/rfc/rfc1071#section-2
    //# (B)  Byte Order Independence
    // Past the ring's wrap the bytes may start at an odd offset of the segment:
    // their sum, taken from an even start, is then byte-swapped.
    let sum_b = if a_len % 2 == 1 {
        sum_b.swap_bytes()
    } else {
        sum_b
    };
    wire_checksum::combine(&[sum_a, sum_b])
}

impl Connection {
    /// Whether a RST waits to be sent: in CLOSED the only segment there can be
    /// (`plan_before_data` sends nothing else there, and leaves any other flag
    /// an ACK, a probe or a retransmission left as it was).
    pub(crate) fn owes_rst(&self) -> bool {
        self.rst_due.is_some()
    }

    /// Whether [`poll_transmit`](Self::poll_transmit) has something to send now.
    pub fn wants_to_send(&self) -> bool {
        self.rst_due.is_some()
            || (self.syn_due && matches!(self.state, State::SynSent | State::SynReceived))
            || self.ack_due == AckDue::Now
            || self.retransmit_una
            || self.probe_due
            || self
                .data_plan()
                .is_some_and(|p| p.payload_len == 0 || !self.paced_out())
            || self.cc.as_deref().is_some_and(|s| {
                // A tail loss probe, or a SACK recovery's retransmission
                // (`sack_next` finds none outside a recovery).
                s.probe_due != 0 || (s.recovery.is_some() && self.sack_retransmission_due())
            })
    }

    /// Whether a SACK recovery has a segment to resend now.
    #[cold]
    #[inline(never)]
    fn sack_retransmission_due(&self) -> bool {
        self.sack_next(false).is_some()
    }

    /// Writes the next segment (TCP header and payload, no IP header) into `buf`
    /// and returns its length, or `None` when there is nothing to send. `buf` should
    /// hold at least the header (60 bytes) plus one MSS; a smaller buffer gets a
    /// shorter payload. `addrs` are the IP addresses for the checksum.
    pub fn poll_transmit(
        &mut self,
        now: Instant,
        buf: &mut [u8],
        addrs: &AddrPair,
        checksum: ChecksumMode,
    ) -> Option<usize> {
        let pseudo = PseudoHeader::new(addrs, IpProtocol::Tcp);
        self.poll_segment_with(now, buf, pseudo, checksum)
            .map(|sent| sent.len)
    }

    /// [`poll_transmit`](Self::poll_transmit) for the stack: the addresses are the
    /// connection's own, and what was written is returned whole, with the
    /// [`SegmentTemplate`] that writes the IP header in front of it.
    pub(crate) fn poll_segment(
        &mut self,
        now: Instant,
        buf: &mut [u8],
        checksum: ChecksumMode,
    ) -> Option<(SentSegment, SegmentTemplate)> {
        let template = self.segment_template()?;
        let sent = self.poll_segment_with(now, buf, template.pseudo_header(), checksum)?;
        Some((sent, template))
    }

    /// The template of this connection's segments' IP headers (what
    /// [`poll_segment`](Self::poll_segment) returns with each).
    #[inline]
    pub(crate) fn segment_template(&self) -> Option<SegmentTemplate> {
        // Straight from the socket addresses (no `IpAddr` in between).
        match (self.local, self.remote) {
            (SocketAddr::V4(local), SocketAddr::V4(remote)) => Some(SegmentTemplate::new_v4(
                *local.ip(),
                *remote.ip(),
                self.options.ttl,
                self.options.dscp,
            )),
            _ => self.segment_template_v6(),
        }
    }

    /// [`segment_template`](Self::segment_template) over IPv6 (or, never for
    /// a connection, mixed families: `None`), also straight from the socket
    /// addresses. Out of line and cold for IPv4's sake alone: without `#[cold]`
    /// the IPv4 code around the call in `Stack::poll_transmit_queued` came out
    /// 49 instructions a connection longer (its registers shuffled for a branch
    /// no longer unlikely), while IPv6 gained 7 (session 13's measurements);
    /// cold only moves this function's code away from the hot code.
    #[cold]
    #[inline(never)]
    fn segment_template_v6(&self) -> Option<SegmentTemplate> {
        match (self.local, self.remote) {
            (SocketAddr::V6(local), SocketAddr::V6(remote)) => Some(SegmentTemplate::new_v6(
                *local.ip(),
                *remote.ip(),
                self.options.ttl,
                self.options.dscp,
            )),
            _ => None,
        }
    }

    fn poll_segment_with(
        &mut self,
        now: Instant,
        buf: &mut [u8],
        pseudo: PseudoHeader,
        checksum: ChecksumMode,
    ) -> Option<SentSegment> {
        self.release_pacing(now);
        if self.syn_due && self.rst_due.is_none() {
            // The SYN or SYN-ACK at its fixed layout (`output_control`).
            if let Some(sent) = self.poll_syn(now, buf, pseudo, checksum) {
                return Some(sent);
            }
        }
        let plan = match self.next_plan() {
            Some(plan) => plan,
            None => {
                self.arm_persist(now);
                return None;
            }
        };
        self.encode(now, plan, buf, pseudo, checksum)
    }

    /// After a segment left: whether another may follow now. When none can, does
    /// what an empty [`poll_transmit`](Self::poll_transmit) would (arms the persist
    /// timer), so the stack need not ask again. [`wants_to_send`](Self::wants_to_send)
    /// is true whenever `poll_transmit` would send, so nothing is held back.
    pub(crate) fn after_transmit(&mut self, now: Instant) -> bool {
        // Data waiting behind SND.NXT (a bulk sender): ask again without working out
        // the windows here; the next `poll_transmit` does that anyway.
        // A full segment's worth waiting, room for it in the peer's window and no
        // pacing hold: the next pass most likely sends it. Anything less (pacing, a
        // full receive window, a small tail that Nagle may hold back) and the next
        // pass could be an empty one, so ask the full question now.
        // The congestion window is left to that next pass (it works it out anyway):
        // asking the controller here too cost a call per segment, while a burst
        // the congestion window ends pays one empty pass (one per burst, which is
        // harmless: an empty pass does what `wants_to_send` being false does here).
        let mss = u32::from(self.mss.max(1));
        let flight = self.flight();
        let full_segment = self.send_buf.len().saturating_sub(flight as usize) >= mss as usize
            && !self.paced_out()
            && self.snd_wnd >= flight.saturating_add(mss);
        if full_segment || self.wants_to_send() {
            return true;
        }
        self.arm_persist(now);
        false
    }

    /// After [`poll_segment`](Self::poll_segment): whether, since it was in state
    /// `before`, the connection changed nothing the stack's book-keeping after a
    /// call looks at but its timers and whether it has more to send: same state
    /// (and not one the stack frees or compacts), no events. The usual case after
    /// a data segment left.
    ///
    /// The loss counters need no look (a compare of a dozen fields per segment):
    /// every input that changes them (ACKs, timers) is followed by the stack's
    /// full book-keeping, which takes them, and sending changes one alone,
    /// rarely: a retransmission over a path MTU probe counts the probe failed,
    /// and the stack-wide `TcpExtTCPMTUPFail` takes it at the next full pass
    /// (the connection's own counter has it at once).
    pub(crate) fn only_timers_changed(&self, before: State) -> bool {
        debug_assert!(
            !self.has_new_loss_counts_but_probe_failures(),
            "loss counts left untaken"
        );
        self.state == before
            && !matches!(self.state, State::Closed | State::TimeWait)
            && self.events.is_empty()
    }

    /// Whether a [`poll_transmit`](Self::poll_transmit) at `now` would send
    /// something. When it would not, does what that empty call would have done
    /// (releases an expired pacing hold, arms the persist timer), so the stack can
    /// leave the connection out of its transmit queue instead of paying for an
    /// empty pass: an ACK that arrives while the sender is paced or window-limited,
    /// a read that opens no window worth announcing.
    pub(crate) fn ready_to_send(&mut self, now: Instant) -> bool {
        self.release_pacing(now);
        if self.wants_to_send() {
            return true;
        }
        self.arm_persist(now);
        false
    }

    fn next_plan(&mut self) -> Option<Plan> {
        // The choices ahead of new data, each rare (a RST, the handshake, a fast
        // retransmission, a tail loss probe), out of line behind one test.
        if self.rst_due.is_some()
            || matches!(
                self.state,
                State::Closed | State::Listen | State::SynSent | State::SynReceived
            )
            || self.retransmit_una
            || self.probe_due()
        {
            if let Some(decided) = self.plan_before_data() {
                return decided;
            }
        }
        // RFC 6675 NextSeg() rules (1), (3) and (4) during a SACK recovery; rule
        // (2), new data, is `data_plan`'s.
        let data = if self.cc.as_deref().is_some_and(|s| s.recovery.is_some()) {
            match self.sack_recovery_plan() {
                Ok(plan) => return Some(plan),
                Err(data) => data,
            }
        } else {
            // Out of a recovery `take_sack_retransmission` finds nothing and
            // changes nothing.
            self.data_plan()
        };
        if self.probe_due {
            return Some(self.zero_window_probe_plan());
        }
        if let Some(plan) = data {
            // Pacing holds data back, never a FIN alone (see `pacing`).
            if plan.payload_len == 0 || !self.paced_out() {
                return Some(plan);
            }
        }
        if self.ack_due == AckDue::Now {
            return Some(Plan::control(self.ack_only_seq(), TcpFlags::ACK));
        }
        None
    }

    /// The sequence number of a segment that carries only an ACK: SND.NXT,
    /// except after a retransmission timeout went back to SND.UNA (go-back-N),
    /// when SND.NXT may be below what the peer already received. An ACK at that
    /// number fails the peer's acceptability test (RFC 9293 section 3.10.7.4)
    /// and is dropped with its acknowledgement; when both sides went back, each
    /// drops the other's ACKs and neither recovers. So it carries the highest
    /// sequence number sent, as BSD's do (`tcp_output`: snd_max for a segment
    /// without data, SYN or FIN; Linux never moves SND.NXT back), unless that is
    /// past the peer's window's end (a zero-length segment there is not
    /// acceptable either).
    /// A RST the application's abort sends takes it too (`abort_with_rst`).
    #[inline]
    pub(super) fn ack_only_seq(&self) -> SeqNumber {
        if self.snd_nxt == self.snd_max {
            return self.snd_nxt;
        }
        self.ack_only_seq_after_rewind()
    }

    #[cold]
    #[inline(never)]
    fn ack_only_seq_after_rewind(&self) -> SeqNumber {
        // Linux's `tcp_acceptable_seq`, with SND.MAX for its SND.NXT (which
        // never goes back): the highest sequence number sent if the peer's
        // window reaches it (its right edge included, which a receiver accepts
        // as Linux's does and ours, `acceptable`) or misses it by less than one
        // unit of the peer's window scale (its window is rounded down to one: a
        // FIN past a full window); else the window's right edge.
        let edge = self.snd_una + self.snd_wnd;
        let beyond = self.snd_max.diff(edge);
        if beyond <= 0 || (self.wscale_ok && beyond < 1i32 << self.snd_wscale) {
            self.snd_max
        } else {
            edge
        }
    }

    /// [`next_plan`](Self::next_plan)'s choices ahead of new data: `Some` with
    /// what it decides (a segment, or nothing to send), `None` to go on to new
    /// data.
    #[cold]
    #[inline(never)]
    fn plan_before_data(&mut self) -> Option<Option<Plan>> {
        if let Some((seq, ack)) = self.rst_due.take() {
            let mut plan = Plan::control(seq, TcpFlags::RST);
            if let Some(ack) = ack {
                plan.flags.insert(TcpFlags::ACK);
                plan.ack = Some(ack);
            }
            self.counters.rsts_out = self.counters.rsts_out.saturating_add(1);
            return Some(Some(plan));
        }
        match self.state {
            State::Closed | State::Listen => return Some(None),
            State::SynSent | State::SynReceived => {
                if self.syn_due {
                    self.syn_due = false;
                    let mut flags = TcpFlags::SYN;
                    if self.state == State::SynReceived {
                        flags.insert(TcpFlags::ACK);
                    }
                    let mut plan = Plan::control(self.iss, flags);
                    plan.retransmit = self.snd_max != self.iss;
                    return Some(Some(plan));
                }
                if self.ack_due == AckDue::Now && self.state == State::SynReceived {
                    return Some(Some(Plan::control(self.snd_nxt, TcpFlags::ACK)));
                }
                return Some(None);
            }
            _ => {}
        }
        if self.retransmit_una {
            self.retransmit_una = false;
            if let Some(plan) = self.retransmission_of_una() {
                return Some(Some(plan));
            }
        }
        if self.tlp_due() {
            match self.loss_probe_plan() {
                Some(plan) => {
                    let fin = usize::from(plan.flags.contains(TcpFlags::FIN));
                    self.on_probe_planned(plan.seq + (plan.payload_len + fin), plan.retransmit);
                    return Some(Some(plan));
                }
                None => self.on_probe_unsendable(),
            }
        }
        if self.probe_due() {
            // What is left is a path MTU probe (`plpmtud`): new data, larger
            // than a full-sized segment, if the windows and the queue allow.
            match self.take_mtu_probe() {
                MtuProbeStep::Send(seg) => {
                    let mut plan = Plan::control(seg.seq, TcpFlags::ACK);
                    plan.payload_off = seg.off;
                    plan.payload_len = seg.len;
                    plan.retransmit = seg.resend;
                    return Some(Some(plan));
                }
                // New data waits for the flight to drain; an ACK due goes.
                MtuProbeStep::HoldNewData => {
                    return Some(
                        (self.ack_due == AckDue::Now)
                            .then(|| Plan::control(self.ack_only_seq(), TcpFlags::ACK)),
                    );
                }
                MtuProbeStep::Pass => {}
            }
        }
        None
    }

    /// During a recovery: the SACK recovery's retransmission if one is due
    /// (`Ok`), else the new data plan (`Err`).
    #[cold]
    #[inline(never)]
    fn sack_recovery_plan(&mut self) -> Result<Plan, Option<Plan>> {
        // Worked out once: a `take_sack_retransmission` that returns `None` changed
        // nothing the plan depends on.
        let mut data = self.data_plan();
        if let Some((seq, len)) = self.take_sack_retransmission(data.is_some()) {
            if let Some(plan) = self.retransmission_at(seq, len as usize) {
                return Ok(plan);
            }
            // The scoreboard took note of a retransmission: plan again.
            data = self.data_plan();
        }
        Err(data)
    }

    /// A zero-window probe (the flag is taken).
    #[cold]
    #[inline(never)]
    fn zero_window_probe_plan(&mut self) -> Plan {
        self.probe_due = false;
        //= https://www.rfc-editor.org/rfc/rfc9293#section-3.8.4
        //# Such a segment generally contains SEG.SEQ = SND.NXT-1 and may or
        //# may not contain one garbage octet of data.
        // Zero-window probes take the same form (as Linux's do): an old
        // sequence number the peer must answer with an ACK carrying its window.
        Plan::control(self.snd_una - 1u32, TcpFlags::ACK)
    }

    /// Up to `len` bytes from `seq` again (a SACK recovery's retransmission, the
    /// tail loss probe's last segment), with the FIN if it follows them; never
    /// past SND.MAX. A resend takes only what was sent: bytes never sent may lie
    /// beyond the peer's window (the tail loss probe asked for a full segment
    /// where a one-byte window had let one byte go, and sent 1,428 bytes into
    /// it, which the peer could only drop; the SND.MAX it left behind put this
    /// side's pure ACKs outside the peer's window).
    fn retransmission_at(&self, seq: SeqNumber, len: usize) -> Option<Plan> {
        let off = seq.diff(self.snd_una);
        let sent = self.snd_max.diff(seq);
        if off < 0 || sent <= 0 {
            return None;
        }
        let off = off as usize;
        let len = len.min(sent as usize);
        let data_len = self.send_buf.len().saturating_sub(off).min(len);
        let mut plan = Plan::control(seq, TcpFlags::ACK);
        plan.payload_off = off;
        plan.payload_len = data_len;
        plan.retransmit = true;
        if data_len < len && self.fin_pos() == Some(seq + data_len) && !self.fin_acked {
            plan.flags.insert(TcpFlags::FIN);
        }
        if data_len == 0 && !plan.flags.contains(TcpFlags::FIN) {
            return None;
        }
        Some(plan)
    }

    /// The tail loss probe: one segment of new data if the receive window allows
    /// it, else the last segment sent again; the congestion window does not hold
    /// it back.
    //= https://www.rfc-editor.org/rfc/rfc8985#section-7.3
    fn loss_probe_plan(&self) -> Option<Plan> {
        let off = self.snd_nxt.diff(self.snd_una).max(0) as usize;
        let avail = self.send_buf.len().saturating_sub(off);
        let room = self.snd_wnd.saturating_sub(self.flight()) as usize;
        if self.snd_nxt >= self.snd_max && avail > 0 && room > 0 {
            let len = avail.min(usize::from(self.mss)).min(room);
            let mut plan = Plan::control(self.snd_nxt, TcpFlags::ACK);
            plan.payload_off = off;
            plan.payload_len = len;
            if len == avail {
                plan.flags.insert(TcpFlags::PSH);
                if self.fin_pos().is_some() && !self.fin_acked {
                    plan.flags.insert(TcpFlags::FIN);
                }
            }
            return Some(plan);
        }
        let mss = u32::from(self.mss.max(1));
        let seq = self
            .last_segment_start()
            .unwrap_or(self.snd_max - mss)
            .max(self.snd_una);
        self.retransmission_at(seq, mss as usize)
    }

    /// The first unacknowledged segment again (fast retransmit, NewReno partial ACK).
    fn retransmission_of_una(&self) -> Option<Plan> {
        let outstanding = self.outstanding() as usize;
        if outstanding == 0 {
            return None;
        }
        let data_len = self
            .send_buf
            .len()
            .min(outstanding)
            .min(usize::from(self.mss));
        let mut plan = Plan::control(self.snd_una, TcpFlags::ACK);
        plan.payload_len = data_len;
        plan.retransmit = true;
        if data_len == 0 {
            // Only the FIN is outstanding.
            plan.flags.insert(TcpFlags::FIN);
        }
        Some(plan)
    }

    /// New data (or data to resend after a timeout moved SND.NXT back) from SND.NXT,
    /// and the FIN, if the windows and the small-segment rules allow.
    ///
    /// Most calls find nothing unsent (every segment sent asks again through
    /// [`wants_to_send`](Self::wants_to_send)): that answer costs a few loads
    /// here, the rest is [`data_plan_unsent`](Self::data_plan_unsent)'s.
    #[inline(always)]
    fn data_plan(&self) -> Option<Plan> {
        // `data_plan_unsent`'s own first exit (no byte and no FIN to send), taken
        // first: nothing it checks before changes the answer then.
        let off = self.snd_nxt.diff(self.snd_una).max(0) as usize;
        if self.send_buf.len() <= off && !self.fin_unsent() {
            return None;
        }
        self.data_plan_unsent()
    }

    /// Whether the FIN is queued and not yet sent (nor acknowledged).
    #[inline(always)]
    fn fin_unsent(&self) -> bool {
        match self.fin_pos() {
            Some(fin) => !self.fin_acked && self.snd_nxt <= fin,
            None => false,
        }
    }

    /// [`data_plan`](Self::data_plan) when a byte or the FIN waits.
    #[inline(never)]
    fn data_plan_unsent(&self) -> Option<Plan> {
        if !self.syn_acked() {
            return None;
        }
        if !matches!(
            self.state,
            State::Established
                | State::CloseWait
                | State::FinWait1
                | State::Closing
                | State::LastAck
        ) {
            return None;
        }
        let off = self.snd_nxt.diff(self.snd_una).max(0) as usize;
        let buffered = self.send_buf.len();
        let avail = buffered.saturating_sub(off);
        let mss = usize::from(self.mss);
        // Looked at only when the segment could take the last byte (more than a
        // segment's worth waiting leaves no room for the FIN in this one).
        let fin_pending = avail <= mss && self.fin_unsent();
        if avail == 0 && !fin_pending {
            return None;
        }
        let flight = self.flight();
        // The FIN alone takes no window (nor a look at the controller's).
        let usable = if avail == 0 { 0 } else { self.usable_window() };
        let len = avail.min(mss).min(usable);

        let mut send = false;
        if len > 0 {
            //= https://www.rfc-editor.org/rfc/rfc9293#section-3.8.6.2.1
            //# Send data:
            //#
            //# (1)  if a maximum-sized segment can be sent, i.e., if:
            //#
            //#      min(D,U) >= Eff.snd.MSS;
            //#
            //# (2)  or if the data is pushed and all queued data can be sent
            //#      now, i.e., if:
            //#
            //#      [SND.NXT = SND.UNA and] PUSHed and D <= U
            //#
            //#      (the bracketed condition is imposed by the Nagle algorithm);
            //#
            //# (3)  or if at least a fraction Fs of the maximum window can be
            //#      sent, i.e., if:
            //#
            //#      [SND.NXT = SND.UNA and]
            //#
            //#      min(D,U) >= Fs * Max(SND.WND);
            let nagle_ok = self.options.nodelay || flight == 0;
            if len >= mss {
                send = true;
            } else if len == avail && nagle_ok {
                // Every write is pushed.
                send = true;
            } else if nagle_ok && len >= (self.max_snd_wnd as usize) / 2 {
                send = true;
            } else if flight == 0 && len == usable {
                // The window is smaller than a segment and nothing is in flight to
                // open it: send what fits rather than stall (the override of (4)).
                send = true;
            }
        }
        // A FIN goes with the last byte; like Linux, it is exempt from Nagle.
        let fin = fin_pending && len == avail;
        if !send && !fin {
            return None;
        }
        let mut plan = Plan::control(self.snd_nxt, TcpFlags::ACK);
        plan.payload_off = off;
        plan.payload_len = len;
        if fin {
            plan.flags.insert(TcpFlags::FIN);
        }
        if len > 0 && len == avail {
            plan.flags.insert(TcpFlags::PSH);
        }
        plan.retransmit = self.snd_nxt < self.snd_max;
        Some(plan)
    }

    /// The bytes the send and congestion windows let go now. Always in line:
    /// `data_plan_unsent` is the hot caller (the path MTU probe's decision,
    /// `plpmtud`, the other).
    #[inline(always)]
    pub(super) fn usable_window(&self) -> usize {
        match self.frto_new_data_room() {
            // F-RTO's two new segments (RFC 5682 step 2b), past the window.
            Some(room) => room,
            None => {
                let window = self.snd_wnd.min(self.cwnd());
                window.saturating_sub(self.flight_for_window()) as usize
            }
        }
    }

    /// Arms the persist timer when data waits behind a zero window with nothing in
    /// flight that could bring a window update.
    #[inline]
    pub(super) fn arm_persist(&mut self, now: Instant) {
        // Only a zero window needs it: that test in line, the rest out of line.
        if self.snd_wnd == 0 {
            self.arm_persist_at_zero_window(now);
        }
    }

    /// [`arm_persist`](Self::arm_persist) once the peer's window is known to be
    /// zero (its only caller tests it).
    #[inline(never)]
    fn arm_persist_at_zero_window(&mut self, now: Instant) {
        let waiting = self.syn_acked()
            && self.state.is_synchronized()
            && self.send_buf.len() > self.snd_nxt.diff(self.snd_una).max(0) as usize;
        if waiting && self.outstanding() == 0 {
            //= https://www.rfc-editor.org/rfc/rfc9293#section-3.8.6.1
            //# The transmitting host SHOULD send the first zero-window probe when a
            //# zero window has existed for the retransmission timeout period
            //# (SHLD-29) (Section 3.8.1), and SHOULD increase exponentially the
            //# interval between successive probes (SHLD-30).
            let backoff = 1u32.checked_shl(self.persist_backoff).unwrap_or(u32::MAX);
            let delay = self
                .rtt
                .base_rto()
                .saturating_mul(backoff)
                .min(self.config.rtt.max_rto);
            self.timers.set_if_idle(Timer::Persist, now + delay);
        }
    }

    /// The window to advertise, scaled for the header, and the right edge it sets.
    ///
    /// Out of line: the segment writers, the SYN-ACK's, the receive path and the
    /// book-keeping after a read all ask, and in line each kept its own copy (a
    /// connection's life ran five).
    #[inline(never)]
    pub(super) fn window_to_advertise(&self, syn: bool) -> (u16, SeqNumber) {
        let free = self.recv_buf.window() as u32;
        let promised = self.rcv_wnd();
        let mut wnd = free;
        if wnd > promised {
            //= https://www.rfc-editor.org/rfc/rfc9293#section-3.8.6.2.2
            //# The suggested SWS avoidance algorithm for the receiver is to keep
            //# RCV.NXT+RCV.WND fixed until the reduction satisfies:
            //#
            //#    RCV.BUFF - RCV.USER - RCV.WND  >=
            //#
            //#           min( Fr * RCV.BUFF, Eff.snd.MSS )
            let step = (self.recv_buf.limit() as u32 / 2).min(u32::from(self.mss.max(1)));
            // Also from a zero window: opening it by less than the step is the
            // silly window the rule exists to prevent.
            if wnd - promised < step {
                wnd = promised;
            }
        }
        //= https://www.rfc-editor.org/rfc/rfc9293#section-3.8.6.2.2
        //# the receiver SHOULD NOT shrink the window
        let wnd = wnd.max(promised);
        if syn {
            //= https://www.rfc-editor.org/rfc/rfc7323#section-2.2
            //# The window field in a segment where the SYN bit is set (i.e., a <SYN>
            //# or <SYN,ACK>) MUST NOT be scaled.
            let field = wnd.min(65535) as u16;
            return (field, self.rcv_nxt + u32::from(field));
        }
        let shift = self.rcv_wscale;
        // Round up so that scaling never takes back a byte already promised.
        let field = wnd.div_ceil(1 << shift).min(65535);
        let edge = self.rcv_nxt + (field << shift);
        (field as u16, edge)
    }

    /// Writes the segment `plan` describes into `buf` and does the book-keeping of
    /// a segment sent. The common segment (data or an ACK, no SACK blocks to
    /// report) is written here: its only option is the timestamp, and the template
    /// writes its header as one array. Everything else goes through `TcpRepr`, out
    /// of line ([`encode_with_options`](Self::encode_with_options)).
    fn encode(
        &mut self,
        now: Instant,
        plan: Plan,
        buf: &mut [u8],
        pseudo: PseudoHeader,
        checksum: ChecksumMode,
    ) -> Option<SentSegment> {
        if plan.flags.intersects(TcpFlags::SYN | TcpFlags::RST) || self.sack_blocks_due() {
            return self.encode_with_options(now, plan, buf, pseudo, checksum);
        }
        let (window, edge) = self.window_to_advertise(false);
        let timestamp = self.ts.map(|ts| (self.ts_now(now), ts.recent));
        let header_len = usize::from(TCP_HEADER_LEN) + if timestamp.is_some() { 12 } else { 0 };
        if header_len > buf.len() {
            return None;
        }
        let (flags, payload_len, ack_number, urgent_pointer) =
            self.segment_fields(&plan, buf.len() - header_len);
        let total = header_len + payload_len;
        let segment = buf.get_mut(..total)?;
        let fields = TcpHeaderFields {
            seq_number: plan.seq,
            ack_number,
            flags,
            window_len: window,
            urgent_pointer,
            timestamp,
        };
        let (src_port, dst_port) = (self.local.port(), self.remote.port());
        let header_sum = emit_tcp_header(segment, src_port, dst_port, &fields)?.1;
        self.finish_segment(
            now,
            &plan,
            flags,
            segment,
            header_len,
            Some(header_sum),
            pseudo,
            checksum,
            edge,
        )
    }

    /// [`encode`](Self::encode) for a SYN, a RST or a segment with SACK blocks:
    /// the options through `TcpOptions` and the header through `TcpRepr`.
    #[cold]
    #[inline(never)]
    fn encode_with_options(
        &mut self,
        now: Instant,
        plan: Plan,
        buf: &mut [u8],
        pseudo: PseudoHeader,
        checksum: ChecksumMode,
    ) -> Option<SentSegment> {
        let syn = plan.flags.contains(TcpFlags::SYN);
        let rst = plan.flags.contains(TcpFlags::RST);
        let mut options = if syn {
            self.syn_options(now)
        } else if rst {
            TcpOptions::default()
        } else {
            self.segment_options(now)
        };
        let (window, edge) = if rst {
            (0, self.rcv_adv)
        } else {
            self.window_to_advertise(syn)
        };
        // The largest segment `plan` may make: a full-sized one's header (the
        // timestamp is the only option the send MSS already left room for) and
        // the MSS, or a path MTU probe's data, larger than the MSS.
        let ts_len = if self.ts.is_some() { TS_OPTION_LEN } else { 0 };
        let mss = usize::from(self.mss);
        let probe = plan.payload_len > mss && !syn;
        if probe {
            // A probe's size is what it tests: no SACK blocks on top of it
            // (the next ACK carries them).
            options.sack_ranges = SackBlocks::default();
        }
        let largest = usize::from(TCP_HEADER_LEN + ts_len) + plan.payload_len.max(mss);
        let mut header_len = usize::from(TCP_HEADER_LEN) + options.buffer_len();
        if header_len > buf.len() {
            // Not even the header fits: drop the SACK blocks, then give up.
            options.sack_ranges = SackBlocks::default();
            header_len = usize::from(TCP_HEADER_LEN) + options.buffer_len();
            if header_len > buf.len() {
                return None;
            }
        }
        // SACK blocks come out of the data, never on top of a full-sized
        // segment: past the peer's MSS, or past a lowered path MTU search's
        // `search_low` (packets are sized by the path MTU here).
        //= https://www.rfc-editor.org/rfc/rfc9293#section-3.7.1
        //# Eff.snd.MSS = min(SendMSS+20, MMS_S) - TCPhdrsize - IPoptionsize
        //= https://www.rfc-editor.org/rfc/rfc6691#section-2
        //# the sender MUST reduce the TCP data length to account for any IP or
        //# TCP options that it is including in the packets that it sends.
        let room = buf.len().min(largest.max(header_len + 1)) - header_len;
        let (flags, payload_len, ack_number, urgent_pointer) = self.segment_fields(&plan, room);
        let total = header_len + payload_len;
        let segment = buf.get_mut(..total)?;
        let repr = TcpRepr {
            src_port: self.local.port(),
            dst_port: self.remote.port(),
            seq_number: plan.seq,
            ack_number,
            flags,
            window_len: window,
            urgent_pointer,
            options,
            payload: &[],
        };
        repr.emit_unsummed(&mut TcpPacket::new_unchecked(&mut *segment));
        self.finish_segment(
            now, &plan, flags, segment, header_len, None, pseudo, checksum, edge,
        )
    }

    /// What the header of `plan`'s segment says, with `room` bytes left for its
    /// payload: (flags, payload length, ACK number, urgent pointer).
    #[inline(always)]
    fn segment_fields(&mut self, plan: &Plan, room: usize) -> (TcpFlags, usize, SeqNumber, u16) {
        let payload_len = plan.payload_len.min(room);
        let mut flags = plan.flags;
        if payload_len < plan.payload_len {
            // A FIN only follows the last byte.
            flags.remove(TcpFlags::FIN);
        }
        let ack_number = if plan.flags.contains(TcpFlags::ACK) {
            plan.ack.unwrap_or(self.rcv_nxt)
        } else {
            SeqNumber(0)
        };
        let (urgent_pointer, urg) = self.urgent_for(plan.seq, payload_len);
        if urg {
            flags.insert(TcpFlags::URG);
        }
        flags.insert(self.ecn_for_segment(flags, payload_len, plan.retransmit));
        (flags, payload_len, ack_number, urgent_pointer)
    }

    /// The payload and the checksum of the `header_len`-byte header already in
    /// `segment` (whose words sum to `header_sum`, if known), then the
    /// book-keeping of a segment sent.
    #[inline(always)]
    #[allow(clippy::too_many_arguments)]
    fn finish_segment(
        &mut self,
        now: Instant,
        plan: &Plan,
        flags: TcpFlags,
        segment: &mut [u8],
        header_len: usize,
        header_sum: Option<u64>,
        pseudo: PseudoHeader,
        checksum: ChecksumMode,
        edge: SeqNumber,
    ) -> Option<SentSegment> {
        let total = segment.len();
        let payload_len = total - header_len;
        if checksum == ChecksumMode::Enabled {
            // The payload is summed as it is copied out of the send buffer (one
            // pass over it, not a copy and then a sum over the whole segment).
            let (head, body) = segment.split_at_mut(header_len);
            let payload = self.copy_payload_summed(plan.payload_off, body);
            let head = header_sum.unwrap_or_else(|| u64::from(wire_checksum::data(head)));
            TcpPacket::new_unchecked(&mut *segment)
                .set_checksum(pseudo.checksum(total, head, payload));
        } else if payload_len > 0 {
            self.copy_payload(plan.payload_off, &mut segment[header_len..]);
        }
        let retransmission =
            self.after_send(now, plan.seq, flags, payload_len, plan.retransmit, edge);
        Some(SentSegment {
            len: total,
            flags,
            retransmission,
        })
    }

    /// Copies `out.len()` bytes from `offset` bytes into the send buffer to `out`
    /// and returns their one's-complement sum (`out` starts at an even offset of
    /// the segment).
    #[inline(always)]
    pub(super) fn copy_payload_summed(&self, offset: usize, out: &mut [u8]) -> u16 {
        let (a, b) = self.send_buf.slices_at(offset, out.len());
        let (out_a, out_b) = out.split_at_mut(a.len());
        let sum_a = wire_checksum::copy(out_a, a);
        if b.is_empty() {
            return sum_a;
        }
        copy_wrapped_summed(sum_a, a.len(), out_b, b)
    }

    /// [`finish_segment`](Self::finish_segment)'s payload copy when the checksum
    /// is left to the device (no sum to take): out of line, as the stack's
    /// default computes it.
    #[cold]
    #[inline(never)]
    fn copy_payload(&self, offset: usize, out: &mut [u8]) {
        let copied = self.send_buf.read_at(offset, out);
        debug_assert_eq!(copied, out.len());
    }

    /// Whether a non-SYN segment would carry SACK blocks ([`segment_options`]
    /// finds none when this is false).
    ///
    /// [`segment_options`]: Self::segment_options
    pub(super) fn sack_blocks_due(&self) -> bool {
        self.sack_ok && (self.dsack.is_some() || !self.assembler.is_empty())
    }

    /// The options of a non-SYN segment: the timestamp and SACK blocks.
    fn segment_options(&mut self, now: Instant) -> TcpOptions {
        let mut options = TcpOptions::default();
        if let Some(ts) = self.ts {
            options.timestamp = Some(TcpTimestamp {
                tsval: self.ts_now(now),
                tsecr: ts.recent,
            });
        }
        if self.sack_ok {
            //= https://www.rfc-editor.org/rfc/rfc2018#section-4
            //# If sent at all, SACK options SHOULD be included in all ACKs which do
            //# not ACK the highest sequence number in the data receiver's queue.
            let max = if options.timestamp.is_some() { 3 } else { 4 };
            let mut blocks = SackBlocks::default();
            //= https://www.rfc-editor.org/rfc/rfc2883#section-4
            //# If the data receiver has received a duplicate segment ... the first
            //# SACK block reports the duplicate contiguous sequence.
            if let Some((start, end)) = self.dsack {
                blocks.push((start, end));
            }
            for range in self.assembler.sack_blocks(max) {
                if blocks.len() >= max {
                    break;
                }
                blocks.push((self.rcv_nxt + range.start, self.rcv_nxt + range.end));
            }
            options.sack_ranges = blocks;
        }
        options
    }

    /// Makes room for the send records (one per data segment in flight) of what
    /// the windows let go now, in one allocation, when there is none left (a new
    /// state has none; one renewed from a freed connection keeps a short
    /// flight's room, `TX_RECORDS_KEPT`): growing them one push at a time would
    /// reallocate and copy at every doubling (7 times for a 256 KiB flight). The
    /// room is what this flight will fill anyway.
    fn reserve_send_records(&mut self) {
        // At the bound no record is added (the next segment joins the last
        // one): room past it would never be used.
        if self.cc.as_deref().is_some_and(|s| {
            s.tx_records.len() < s.tx_records.capacity() || s.tx_records.len() >= MAX_TX_RECORDS
        }) {
            return;
        }
        let mss = usize::from(self.mss.max(1));
        let off = self.snd_nxt.diff(self.snd_una).max(0) as usize;
        let unsent = self.send_buf.len().saturating_sub(off);
        let room = (self.snd_wnd.min(self.cwnd()) as usize).saturating_sub(self.flight() as usize);
        let records = (unsent.min(room) / mss + 1).min(MAX_TX_RECORDS);
        let tx_records = &mut self.ccs().tx_records;
        if tx_records.capacity() - tx_records.len() < records {
            grow_send_records(tx_records, records);
        }
    }

    /// The urgent pointer for a segment starting at `seq` with `len` bytes.
    #[inline(always)]
    fn urgent_for(&self, seq: SeqNumber, len: usize) -> (u16, bool) {
        match self.snd_up {
            None => (0, false),
            Some(up) => urgent_pointer(up, seq, len),
        }
    }

    /// Book-keeping after a segment left; returns whether it was counted as a
    /// retransmission.
    pub(super) fn after_send(
        &mut self,
        now: Instant,
        seq: SeqNumber,
        flags: TcpFlags,
        payload_len: usize,
        retransmit: bool,
        edge: SeqNumber,
    ) -> bool {
        self.counters.segs_out += 1;
        if flags.contains(TcpFlags::RST) {
            return false;
        }
        let seq_len = payload_len
            + usize::from(flags.contains(TcpFlags::SYN))
            + usize::from(flags.contains(TcpFlags::FIN));
        let end = seq + seq_len;
        if flags.contains(TcpFlags::ACK) {
            self.ack_due = AckDue::No;
            self.segs_unacked = 0;
            self.timers.clear(Timer::DelayedAck);
            self.last_ack_sent = self.rcv_nxt;
            self.dsack = None;
            if edge > self.rcv_adv {
                self.rcv_adv = edge;
            }
        }
        if seq_len == 0 {
            return false;
        }
        if payload_len > 0 {
            self.counters.data_segs_out += 1;
            self.last_data_sent = now;
            let flight = self.flight();
            self.reserve_send_records();
            if retransmit {
                self.on_data_resent(now, seq, payload_len, flight);
            } else {
                self.on_data_sent(now, seq, payload_len, false, flight);
            }
            self.on_paced_send(now, payload_len);
        }
        // Like Linux's tcpi_bytes_sent (RFC 4898 HCDataOctetsOut): every payload byte
        // put on the wire, retransmissions included; bytes_retrans counts those.
        self.counters.bytes_sent += payload_len as u64;
        if retransmit {
            self.on_retransmission_sent(seq, payload_len);
        } else if self.rtt_probe.is_none() {
            self.rtt_probe = Some((end, now, self.counters.bytes_acked));
        }
        if end > self.snd_nxt || seq == self.snd_nxt {
            self.snd_nxt = self.snd_nxt.max(end);
        }
        if end > self.snd_max {
            self.snd_max = end;
        }
        if self.unacked_since.is_none() {
            self.unacked_since = Some(now);
        }
        //= https://www.rfc-editor.org/rfc/rfc6298#section-5
        //# (5.1) Every time a packet containing data is sent (including a
        //# retransmission), if the timer is not running, start it running so
        //# that it will expire after RTO seconds (for the current value of
        //# RTO).
        // Checked first: the RTO is worked out only when the timer starts.
        if !self.timers.is_set(Timer::Retransmit) {
            self.timers.set(Timer::Retransmit, now + self.rtt.rto());
        }
        if !retransmit {
            //= https://www.rfc-editor.org/rfc/rfc8985#section-7.2
            // New data restarts the probe timeout.
            self.arm_loss_probe(now, true);
        }
        retransmit
    }

    /// [`on_data_sent`](Self::on_data_sent) for a retransmission, out of line:
    /// new data, the common case, takes the short path inlined in
    /// [`after_send`](Self::after_send).
    #[cold]
    #[inline(never)]
    fn on_data_resent(&mut self, now: Instant, seq: SeqNumber, len: usize, flight: u32) {
        self.on_data_sent(now, seq, len, true, flight);
    }

    /// [`after_send`](Self::after_send)'s counting of a retransmission of
    /// `payload_len` bytes from `seq`.
    #[cold]
    #[inline(never)]
    fn on_retransmission_sent(&mut self, seq: SeqNumber, payload_len: usize) {
        self.counters.retrans_segs += 1;
        self.counters.bytes_retrans += payload_len as u64;
        self.on_resend_of_mtu_probe(seq, payload_len);
        // Karn: a retransmission makes the timed segment ambiguous.
        if let Some((probe_end, _, _)) = self.rtt_probe {
            if probe_end > seq {
                self.rtt_probe = None;
            }
        }
    }
}

/// Room for `records` more send records. Out of line: a first data segment
/// usually finds room (a state renewed from a freed connection keeps
/// `TX_RECORDS_KEPT` records' room, a short connection's flight), and a bulk
/// sender's records grow only a few times per connection.
#[cold]
#[inline(never)]
fn grow_send_records(
    tx_records: &mut std::collections::VecDeque<super::congestion::TxRecord>,
    records: usize,
) {
    tx_records.reserve(records);
}

#[cfg(test)]
mod tests {
    use std::collections::VecDeque;

    use super::super::tests::pair;
    use super::MAX_TX_RECORDS;
    use crate::tcp::config::TcpConfig;
    use crate::time::Instant;

    #[test]
    fn send_records_room_does_not_grow_once_the_records_are_at_their_bound() {
        let (mut client, _server) = pair(TcpConfig::default());
        let now = Instant::from_nanos(10_000_000);
        client.send(&[7u8; 4000]).unwrap();
        let mut buf = [0u8; 1600];
        assert!(client
            .poll_segment(now, &mut buf, crate::wire::ChecksumMode::Enabled)
            .is_some());
        let s = client.ccs();
        let record = *s.tx_records.front().expect("a record of the segment sent");
        // The records at their bound in room of exactly that many: the next
        // segment joins the last record (`on_data_sent` merges), so no room
        // is wanted.
        let mut full = VecDeque::with_capacity(MAX_TX_RECORDS);
        full.extend(std::iter::repeat_n(record, MAX_TX_RECORDS));
        assert_eq!(full.capacity(), MAX_TX_RECORDS);
        s.tx_records = full;
        client.reserve_send_records();
        let s = client.ccs();
        assert_eq!(s.tx_records.len(), MAX_TX_RECORDS);
        assert_eq!(
            s.tx_records.capacity(),
            MAX_TX_RECORDS,
            "no room past the bound"
        );
    }
}
