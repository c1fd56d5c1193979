//! The SYN and the SYN-ACK written at their fixed layout.
//!
//! A SYN or SYN-ACK carries no payload and only the options of the handshake
//! (MSS, and as configured and negotiated SACK-permitted, timestamps, window
//! scale), so its header is one of eight layouts known in advance. Written here
//! straight into the segment, with its checksum words summed as they are written,
//! instead of through a `TcpOptions` value and `TcpRepr::emit` and a second pass
//! summing the header: the same bytes (`TcpOptions`' canonical layout, the
//! general path's flags, window and book-keeping), checked against the general
//! path by `control_tests`.

use super::open::TCP_HEADER_LEN;
use super::output::SentSegment;
use super::{AckDue, Connection};
use crate::tcp::state::State;
use crate::tcp::timer::Timer;
use crate::time::Instant;
use crate::wire::{ChecksumMode, PseudoHeader, SeqNumber, TcpFlags, TcpPacket};

#[cfg(test)]
std::thread_local! {
    /// Test-only: every SYN and SYN-ACK goes through the general encoder, so that
    /// tests can check this one writes the same bytes.
    pub(super) static FORCE_GENERAL_SYN: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
    /// Test-only: how many SYNs and SYN-ACKs this writer wrote.
    pub(super) static FIXED_SYNS: std::cell::Cell<u32> = const { std::cell::Cell::new(0) };
}

/// The most option bytes a SYN or SYN-ACK of ours carries: MSS (4),
/// SACK-permitted and timestamps (12), NOP and window scale (4).
const MAX_SYN_OPTIONS: usize = 20;

impl Connection {
    /// The SYN or SYN-ACK `next_plan` would choose (with no RST due and the SYN
    /// due), written by [`encode_syn`](Self::encode_syn). `None`, having changed
    /// nothing, in any other state or when `buf` is too short: the general path
    /// then plans and encodes.
    #[inline(never)]
    pub(super) fn poll_syn(
        &mut self,
        now: Instant,
        buf: &mut [u8],
        pseudo: PseudoHeader,
        checksum: ChecksumMode,
    ) -> Option<SentSegment> {
        let flags = match self.state {
            State::SynSent => TcpFlags::SYN,
            State::SynReceived => TcpFlags::SYN | TcpFlags::ACK,
            _ => return None,
        };
        // As `next_plan` decides it: a SYN sent before is resent.
        let retransmit = self.snd_max != self.iss;
        // Taken first, as `next_plan` takes it; given back if nothing is sent.
        self.syn_due = false;
        let sent = self.encode_syn(now, self.iss, flags, retransmit, buf, pseudo, checksum);
        if sent.is_none() {
            self.syn_due = true;
        }
        sent
    }

    /// Writes the SYN or SYN-ACK (`flags` holds SYN, and ACK for a SYN-ACK) with
    /// sequence number `seq` into `buf` and does the book-keeping of a segment
    /// sent, as the general encoder would. `None` (and nothing written or changed)
    /// when `buf` cannot hold the header: the general encoder then decides.
    #[allow(clippy::too_many_arguments)]
    pub(super) fn encode_syn(
        &mut self,
        now: Instant,
        seq: SeqNumber,
        flags: TcpFlags,
        retransmit: bool,
        buf: &mut [u8],
        pseudo: PseudoHeader,
        checksum: ChecksumMode,
    ) -> Option<SentSegment> {
        #[cfg(test)]
        if FORCE_GENERAL_SYN.get() {
            return None;
        }
        let has_ack = flags.contains(TcpFlags::ACK);
        // The options of `syn_options`, in `TcpOptions`' canonical layout.
        let answering = self.state == State::SynReceived;
        let wscale = self.config.window_scaling && (!answering || self.wscale_ok);
        let sack = self.config.sack && (!answering || self.sack_ok);
        let mut options = [0u8; MAX_SYN_OPTIONS];
        let [m0, m1] = self.our_mss.to_be_bytes();
        options[..4].copy_from_slice(&[2, 4, m0, m1]);
        let mut len = 4;
        if let Some(ts) = self.ts {
            let tsval = self.ts_now(now);
            let tsecr = if self.state == State::SynSent {
                0
            } else {
                ts.recent
            };
            let lead: [u8; 2] = if sack { [4, 2] } else { [1, 1] };
            options[4..6].copy_from_slice(&lead);
            options[6..8].copy_from_slice(&[8, 10]);
            options[8..12].copy_from_slice(&tsval.to_be_bytes());
            options[12..16].copy_from_slice(&tsecr.to_be_bytes());
            len = 16;
        } else if sack {
            options[4..8].copy_from_slice(&[1, 1, 4, 2]);
            len = 8;
        }
        if wscale {
            if let Some(out) = options.get_mut(len..len + 4) {
                out.copy_from_slice(&[1, 3, 3, self.rcv_wscale]);
            }
            len += 4;
        }
        let header_len = usize::from(TCP_HEADER_LEN) + len;
        let segment = buf.get_mut(..header_len)?;
        let (window, edge) = self.window_to_advertise(true);
        let ack_number = if has_ack { self.rcv_nxt } else { SeqNumber(0) };
        // No payload: no urgent pointer.
        let mut flags = flags;
        flags.insert(self.ecn_for_segment(flags, 0, retransmit));
        let off_flags = ((header_len as u16 / 4) << 12) | flags.bits();
        let ports = (u32::from(self.local.port()) << 16) | u32::from(self.remote.port());
        let (head, opts) = segment.split_at_mut(usize::from(TCP_HEADER_LEN));
        head[..4].copy_from_slice(&ports.to_be_bytes());
        head[4..8].copy_from_slice(&seq.0.to_be_bytes());
        head[8..12].copy_from_slice(&ack_number.0.to_be_bytes());
        head[12..14].copy_from_slice(&off_flags.to_be_bytes());
        head[14..16].copy_from_slice(&window.to_be_bytes());
        head[16..20].copy_from_slice(&[0; 4]);
        let written = options.get(..len)?;
        opts.copy_from_slice(written);
        if checksum == ChecksumMode::Enabled {
            // The header's 32-bit words (checksum and urgent pointer zero), summed
            // unfolded as `emit_tcp_header` sums the template's.
            let mut sum = u64::from(ports)
                + u64::from(seq.0)
                + u64::from(ack_number.0)
                + u64::from(off_flags)
                + u64::from(window);
            for word in written.chunks_exact(4) {
                sum += u64::from(u32::from_be_bytes([word[0], word[1], word[2], word[3]]));
            }
            TcpPacket::new_unchecked(&mut *segment)
                .set_checksum(pseudo.checksum(header_len, sum, 0));
        }
        let retransmission = self.after_syn_sent(now, seq, flags, retransmit, edge);
        #[cfg(test)]
        FIXED_SYNS.set(FIXED_SYNS.get() + 1);
        Some(SentSegment {
            len: header_len,
            flags,
            retransmission,
        })
    }

    /// `after_send` for a SYN or SYN-ACK (one sequence number, no payload, no
    /// RST): its steps, less the branches such a segment cannot take. Written out
    /// here so that the data path's encoder, which inlines `after_send`, stays as
    /// it was; `control_tests` hold the two to the same result.
    fn after_syn_sent(
        &mut self,
        now: Instant,
        seq: SeqNumber,
        flags: TcpFlags,
        retransmit: bool,
        edge: SeqNumber,
    ) -> bool {
        self.counters.segs_out += 1;
        let end = seq + 1u32;
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
        if retransmit {
            self.counters.retrans_segs += 1;
            // Karn: a retransmission makes the timed segment ambiguous.
            if let Some((probe_end, _, _)) = self.rtt_probe {
                if probe_end > seq {
                    self.rtt_probe = None;
                }
            }
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
        if !self.timers.is_set(Timer::Retransmit) {
            self.timers.set(Timer::Retransmit, now + self.rtt.rto());
        }
        if !retransmit {
            //= https://www.rfc-editor.org/rfc/rfc8985#section-7.2
            self.arm_loss_probe(now, true);
        }
        retransmit
    }
}
