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
use super::Connection;
use crate::tcp::state::State;
use crate::time::Instant;
use crate::wire::{
    emit_tcp_fixed_header, ChecksumMode, PseudoHeader, SeqNumber, TcpFlags, TcpHeaderFields,
    TcpPacket,
};

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
        // A SYN or SYN-ACK, never a RST (`poll_syn` writes no other).
        flags.insert(self.ecn_for_syn());
        let fields = TcpHeaderFields {
            seq_number: seq,
            ack_number,
            flags,
            window_len: window,
            urgent_pointer: 0,
            timestamp: None,
        };
        let (head, opts) = segment.split_first_chunk_mut::<{ TCP_HEADER_LEN as usize }>()?;
        let mut sum = emit_tcp_fixed_header(
            head,
            self.local.port(),
            self.remote.port(),
            &fields,
            header_len,
        );
        let written = options.get(..len)?;
        // The options' 32-bit words (every layout is whole words), copied one by
        // one and added to the fixed part's sum on the way: no call to `memcpy`
        // for a copy of at most 20 bytes.
        let mut options_sum = 0u64;
        for (out, word) in opts.chunks_exact_mut(4).zip(written.chunks_exact(4)) {
            let word = [word[0], word[1], word[2], word[3]];
            out.copy_from_slice(&word);
            options_sum += u64::from(u32::from_be_bytes(word));
        }
        if checksum == ChecksumMode::Enabled {
            sum += options_sum;
            TcpPacket::new_unchecked(&mut *segment)
                .set_checksum(pseudo.checksum(header_len, sum, 0));
        }
        let retransmission = self.after_send(now, seq, flags, 0, retransmit, edge);
        #[cfg(test)]
        FIXED_SYNS.set(FIXED_SYNS.get() + 1);
        Some(SentSegment {
            len: header_len,
            flags,
            retransmission,
        })
    }
}
