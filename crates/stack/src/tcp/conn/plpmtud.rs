//! Packetization-layer path MTU discovery (PLPMTUD, RFC 4821) as Linux's
//! `tcp_mtu_probing = 1`: PMTU black-hole detection (`tcp_mtu_probing` in
//! net/ipv4/tcp_timer.c; RFC 2923 section 2.1), then probing upward
//! (`tcp_mtu_probe` in tcp_output.c; RFC 4821 section 7).
//!
//! A path whose bottleneck drops full-sized packets (DF set, too big for a
//! tunnel) while a firewall drops the ICMP errors that would say so never
//! lowers the path MTU (`on_path_mtu` never hears of it): every retransmission
//! of the full-sized segment is lost, and the connection stalls until R2 gives
//! up.
//!
//! **Black-hole detection.** Once retransmission timeouts of a full-sized
//! segment reach R1 (where RFC 9293 section 3.8.3 has TCP suspect the path),
//! the connection's packets shrink: first to [`BASE_MTU`] (RFC 4821's initial
//! `search_low`), then, if timeouts go on, to half the size, never below the
//! IP version's minimum MTU. The go-back-N that follows the timeout resends
//! what was in flight at the new size. From then on the connection keeps an
//! [`MtuSearch`] (`CcState::mtu`): its packets are at most `search_low`.
//!
//! **Probing.** The stack visits a searching connection at deadlines
//! (`stack/pmtu_raise.rs`, beside the path MTU raises), never per segment. At
//! each, an acknowledged probe raises `search_low` to its size (RFC 4821
//! 7.6.1); then, while `search_high` is more than [`PROBE_THRESHOLD`] above
//! it, one new-data segment of half-way size is due (`MTU_PROBE_DUE`, the bit
//! beside the tail loss probe's, which the transmit paths test anyway). It goes
//! only under Linux's conditions: no recovery or timeout under way, a
//! congestion window of at least [`MIN_CWND_SEGMENTS`], and enough data queued
//! and window open to send [`SEGMENTS_AFTER_PROBE`] full segments after it, so
//! that its loss shows as duplicate ACKs or SACKs; while the windows lack that
//! room and data is in flight, new data waits for the flight to drain (else a
//! window-limited transfer would keep the window full, and the probe would
//! never go), and a send window that could never hold it is no probe now. A
//! probe found lost at
//! SND.UNA (where fast recovery would begin) lowers `search_high` below it and
//! is resent at the current size without a congestion response (RFC 4821
//! 7.6.2, Linux's `tcp_mtup_probe_failed` and `tcp_simple_retransmit`); one
//! caught in a timeout or resent for another loss counts as failed too. A
//! search that ends short of the full size probes again after
//! [`REPROBE_INTERVAL`] (RFC 4821 7.7; Linux's `tcp_probe_interval`); one that
//! reaches it ends, and the connection is as it was before the black hole.
//!
//! Choices, against Linux's:
//! - Linux's floor is a 48-byte MSS (`tcp_mtu_probe_floor`), reached after five
//!   more timeouts; ours is the IP version's minimum MTU (576 bytes for IPv4,
//!   the datagram every host accepts; 1280 for IPv6, which every IPv6 link
//!   carries, RFC 8200 section 5). Smaller is for paths IPv4 does not promise,
//!   and a peer that is merely dead would leave a long-lived connection with
//!   tiny segments until probing climbs back.
//! - Linux lowers whatever is outstanding; here only when the segment the
//!   timeout resends is larger than the floor: a lost 100-byte segment is
//!   no sign of a black hole, and shrinking would not help it through. A
//!   segment above the floor but not above the next size (a message's tail)
//!   goes down the sizes at once to the largest below it, where Linux takes
//!   a timeout per size.
//! - Linux checks for a probe's acknowledgment on every ACK; here the next
//!   deadline does (one RTO after the probe left), so the search costs the
//!   per-segment paths nothing, and each of its steps takes an RTO.
//!
//! Cost on the per-segment paths: none. This runs on a retransmission timeout,
//! at the search's deadlines, when a probe is planned, and at the loss paths'
//! rare branches (the start of a fast recovery, a retransmission sent).

use super::congestion::MTU_PROBE_DUE;
use super::open::{TCP_HEADER_LEN, TS_OPTION_LEN};
use super::Connection;
use crate::tcp::config::MtuProbing;
use crate::tcp::state::State;
use crate::time::{Duration, Instant};
use crate::wire::SeqNumber;

/// The first size black-hole detection tries, in bytes of IP packet.
//= https://www.rfc-editor.org/rfc/rfc4821#section-7.2
// (In our words: the exact text could not be checked here.) search_low
// should start at an MTU likely to work over a very wide range of
// environments; 1024 bytes is suggested as probably safe enough. Linux's
// `tcp_base_mss` is the same 1024 as an MSS.
pub(crate) const BASE_MTU: u16 = 1024;

/// The smallest IPv4 packet size black-hole detection goes down to: the
/// datagram every IPv4 host must accept (RFC 791, RFC 1122 3.3.3).
pub(crate) const MIN_MTU_V4: u16 = 576;

/// The smallest IPv6 packet size black-hole detection goes down to.
//= https://www.rfc-editor.org/rfc/rfc8200#section-5
//# IPv6 requires that every link in the Internet have an MTU of 1280
//# octets or greater.
pub(crate) const MIN_MTU_V6: u16 = 1280;

/// The search ends when its bounds are closer than this, in bytes (Linux's
/// `tcp_probe_threshold`).
pub(crate) const PROBE_THRESHOLD: u16 = 8;

/// How long a search that ended short of the full size waits before probing
/// again (Linux's `tcp_probe_interval`, 10 minutes).
//= https://www.rfc-editor.org/rfc/rfc4821#section-7.7
// (In our words: the exact text could not be checked here.) A path's MTU may
// grow; a search that settled below the largest size should probe again
// after a while, on the order of the 10 minutes RFC 1191 gives a lowered
// estimate.
pub(crate) const REPROBE_INTERVAL: Duration = Duration::from_secs(600);

/// The congestion window, in full segments, below which no probe goes
/// (Linux's `tcp_mtu_probe`: 11).
pub(crate) const MIN_CWND_SEGMENTS: u32 = 11;

/// Full segments queued (and window open) after a probe before it goes: enough
/// for its loss to show as three duplicate ACKs or SACKs (Linux's
/// `tp->reordering + 1` with its default reordering of 3).
pub(crate) const SEGMENTS_AFTER_PROBE: usize = 4;

/// The longest a searching connection waits between deadlines at which no
/// probe could go (an idle or application-limited connection).
const MAX_WAIT: Duration = Duration::from_secs(60);

/// A connection's path MTU search (RFC 4821 section 7), from its first PMTU
/// black hole on. Sizes are IP packet sizes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct MtuSearch {
    /// `search_low`: the largest packet known (or assumed, after a black hole)
    /// to get through; the connection's packets are at most this.
    low: u16,
    /// `search_high`: the largest packet not yet shown too big.
    high: u16,
    /// The probe in flight, if any.
    probe: Option<MtuProbe>,
    /// Deadlines in a row at which no probe could go (each doubles the wait
    /// for the next, up to [`MAX_WAIT`]).
    waits: u8,
    /// A lost probe's bytes still to resend at the current size: from, to.
    resend: Option<(SeqNumber, SeqNumber)>,
}

/// What a due path MTU probe may do now (`Connection::mtu_probe_verdict`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ProbeVerdict {
    /// Go: its payload's offset from SND.UNA, its length, its packet size.
    Go(usize, usize, u16),
    /// Wait for the windows to open: new data waits too, so that the flight
    /// drains and makes the room (Linux's `tcp_mtu_probe` returning 0).
    Wait,
    /// Not now: the search's next deadline tries again.
    Never,
}

/// What a due path MTU probe makes of the transmit pass (`take_mtu_probe`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum MtuProbeStep {
    /// This segment goes.
    Send(MtuSegment),
    /// Nothing new goes: the probe waits for the flight to drain.
    HoldNewData,
    /// Nothing to do here: new data goes as usual.
    Pass,
}

/// A segment the path MTU search sends (`take_mtu_probe`): a probe, or a
/// piece of a lost one resent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct MtuSegment {
    /// Its first sequence number.
    pub(super) seq: SeqNumber,
    /// Its payload's offset from SND.UNA.
    pub(super) off: usize,
    /// Its payload's length.
    pub(super) len: usize,
    /// Whether it resends data sent before.
    pub(super) resend: bool,
}

/// A probe in flight: its sequence space and its packet size.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct MtuProbe {
    start: SeqNumber,
    end: SeqNumber,
    size: u16,
}

impl MtuSearch {
    /// The next probe's packet size, or `None` once the bounds are closer than
    /// [`PROBE_THRESHOLD`]: `full` itself (the connection's packet size
    /// without a search) while no probe failed below it, then half way
    /// between the bounds.
    //= https://www.rfc-editor.org/rfc/rfc4821#section-7.3
    // (In our words: the exact text could not be checked here.) The probe
    // size is chosen by a search between search_low and search_high; a
    // binary search is the simplest.
    // Trying the full size first costs one failed probe on a real black hole,
    // and brings a connection whose path lost its ICMP (or everything) only
    // for a while back in one step; bisection alone would end up to
    // `PROBE_THRESHOLD` bytes short of it.
    fn next_probe_size(&self, full: u16) -> Option<u16> {
        let (low, high) = (self.low.min(full), self.high.min(full));
        if high < low.saturating_add(PROBE_THRESHOLD) {
            return None;
        }
        if high == full {
            return Some(full);
        }
        Some(((u32::from(low) + u32::from(high)) / 2) as u16)
    }

    /// The search's bounds (`search_low`, `search_high`), for tests.
    #[cfg(test)]
    pub(super) fn bounds(&self) -> (u16, u16) {
        (self.low, self.high)
    }
}

impl Connection {
    /// The largest packet a full-sized segment may fill: the path MTU, or less
    /// once black-hole detection lowered it (`search_low`).
    pub(super) fn packet_limit(&self) -> u16 {
        match self.mtu_search() {
            Some(m) => m.low.min(self.path_mtu),
            None => self.path_mtu,
        }
    }

    /// The path MTU search, once a black hole started it.
    pub(super) fn mtu_search(&self) -> Option<&MtuSearch> {
        self.cc.as_deref()?.mtu.as_deref()
    }

    /// IP, TCP and option bytes in front of each segment's payload.
    fn packet_overhead(&self) -> u16 {
        let options = if self.ts.is_some() { TS_OPTION_LEN } else { 0 };
        self.ip_header_len + TCP_HEADER_LEN + options
    }

    /// The IP packet size of a full-sized segment now.
    fn full_packet_len(&self) -> u16 {
        self.mss.saturating_add(self.packet_overhead())
    }

    /// The largest packet the connection would send without a search: within
    /// the path MTU and the peer's MSS option (as `update_mss_within` sizes
    /// it), the search's first `search_high`. Never above the peer's MSS.
    fn unsearched_packet_len(&self) -> u16 {
        let mms_s = self.path_mtu.saturating_sub(self.ip_header_len);
        self.peer_mss
            .saturating_add(TCP_HEADER_LEN)
            .min(mms_s)
            .saturating_add(self.ip_header_len)
    }

    /// A retransmission timeout of data, the `rto_count`-th in a row, after the
    /// congestion response and before the resend. A probe in flight failed
    /// (RFC 4821 7.6.2); once the count reached R1 and the segment the timeout
    /// resends is full-sized, the connection's packets shrink (see the
    /// [module docs](self)). Returns whether they did.
    //= https://www.rfc-editor.org/rfc/rfc2923#section-2.1
    // (In our words: the exact text could not be checked here.) A black hole
    // shows as a connection that times out on its large packets; after several
    // timeouts TCP should try smaller packets.
    //= https://www.rfc-editor.org/rfc/rfc4821#section-3
    // (In our words, likewise.) PLPMTUD runs in the packetization layer,
    // where the loss of a packet is seen directly, and so works where ICMP
    // messages are filtered; an MTU change comes with the congestion control
    // adjustments it needs (here `update_mss_within` tells the controller).
    pub(super) fn on_rto_plpmtud(&mut self) -> bool {
        if self
            .mtu_search()
            .is_some_and(|m| m.probe.is_some() || m.resend.is_some())
        {
            self.on_mtu_probe_failed();
            // The go-back-N after the timeout resends a lost probe's bytes.
            if let Some(m) = self.cc.as_deref_mut().and_then(|s| s.mtu.as_deref_mut()) {
                m.resend = None;
            }
        }
        if self.config.mtu_probing == MtuProbing::Off || self.rto_count < self.config.retries1 {
            return false;
        }
        self.lower_for_black_hole()
    }

    #[cold]
    #[inline(never)]
    fn lower_for_black_hole(&mut self) -> bool {
        let current = self.full_packet_len();
        let floor = if self.ip_header_len > 20 {
            MIN_MTU_V6
        } else {
            MIN_MTU_V4
        };
        let mut next = if self.mtu_search().is_none() && current > BASE_MTU {
            BASE_MTU
        } else {
            current / 2
        }
        .max(floor);
        // The segment this timeout resends, as a packet: one at or below the
        // floor (a short message's) is no sign of a black hole, and shrinking
        // would not help it through. One above the floor but at or below the
        // next step (the tail of a message, 600 bytes behind a 1024-byte
        // step) takes the ladder's largest step below it: else it would be
        // resent at its size until R2 gave up, on a path that carries the
        // floor (the `app` model's finding, a tail of 529 bytes behind a
        // 576-byte black hole). Linux gets there too, a timeout per step (it
        // lowers `search_low` whatever the segment).
        let data = self.send_buf.len().min(self.outstanding() as usize);
        let resent = self.mss.min(u16::try_from(data).unwrap_or(u16::MAX));
        let resent_packet = current - (self.mss - resent);
        while resent_packet <= next && next > floor {
            next = (next / 2).max(floor);
        }
        if next >= current || resent_packet <= next {
            return false;
        }
        let high = self.unsearched_packet_len();
        let s = self.ccs();
        match s.mtu.as_deref_mut() {
            Some(m) => {
                m.low = next;
                m.waits = 0;
            }
            None => {
                s.mtu = Some(Box::new(MtuSearch {
                    low: next,
                    high,
                    probe: None,
                    waits: 0,
                    resend: None,
                }))
            }
        }
        s.loss_mut().pmtu_black_holes = s.loss().pmtu_black_holes.saturating_add(1);
        self.update_mss_within(self.packet_limit());
        // What was in flight at the old size is resent at the new one by the
        // go-back-N that follows; Karn's rule already voids the timed segment.
        self.rtt_probe = None;
        true
    }

    /// When the stack should first visit a search this connection just
    /// started (the stack notes it when its loss counters show the black
    /// hole, `Stack::after_conn_requeue`): one RTO (without backoff) on, the time the resent
    /// flight takes to be acknowledged at the earliest.
    pub(crate) fn first_mtu_search_deadline(&self, now: Instant) -> Option<Instant> {
        self.mtu_search()?;
        Some(now + self.rtt.base_rto())
    }

    /// The search's deadline came (the stack keeps it): an acknowledged probe
    /// raises the connection's packets to its size; then the next probe is due,
    /// or the search ends. Returns the next deadline, if any.
    pub(crate) fn on_mtu_search_deadline(&mut self, now: Instant) -> Option<Instant> {
        if !matches!(self.state, State::Established | State::CloseWait) {
            return None;
        }
        let una = self.snd_una;
        let full = self.unsearched_packet_len();
        // The RTO without a timeout's backoff: a black hole's timeouts have
        // just backed it off.
        let rto = self.rtt.base_rto();
        let before = self.packet_limit();
        let s = self.cc.as_deref_mut()?;
        let m = s.mtu.as_deref_mut()?;
        let mut succeeded = false;
        if let Some(p) = m.probe {
            if una < p.end {
                // Still in flight: the loss paths tell a failure; look again
                // later for its acknowledgment.
                return Some(now + rto);
            }
            //= https://www.rfc-editor.org/rfc/rfc4821#section-7.6.1
            // (In our words: the exact text could not be checked here.) A probe
            // acknowledged is a success: search_low becomes its size, and the
            // connection may use it.
            m.low = m.low.max(p.size);
            m.probe = None;
            succeeded = true;
        }
        // Never above the peer's MSS, nor the path MTU as ICMP last told it
        // (`next_probe_size` bounds the search by `full`).
        let next = if m.next_probe_size(full).is_some() {
            s.probe_due |= MTU_PROBE_DUE;
            let wait = rto
                .saturating_mul(1u32 << m.waits.min(10))
                .min(MAX_WAIT)
                .max(rto);
            Some(now + wait)
        } else if m.low >= full {
            // (Or the path MTU fell below the search: ICMP works again.)
            // Full size again: the search is over, the connection as it was.
            s.mtu = None;
            None
        } else {
            // Settled below the full size: search the whole range again later.
            m.high = m.high.max(full);
            Some(now + REPROBE_INTERVAL)
        };
        if succeeded {
            let c = s.loss_mut();
            c.mtu_probe_successes = c.mtu_probe_successes.saturating_add(1);
        }
        if self.packet_limit() != before {
            self.update_mss_within(self.packet_limit());
        }
        next
    }

    /// Whether a path MTU probe may go now (`Go`: its payload's offset from
    /// SND.UNA, its length and its packet size), should wait for the windows
    /// to open (`Wait`: the flag stays, new data waits with it, and the
    /// transmit pass after an ACK that makes the room sends it; `wants_to_send`
    /// says yes meanwhile, as for any probe due, so a waiting probe costs an
    /// empty transmit pass per input until then), or may not (`Never`: the flag
    /// goes, and the search's next deadline tries again, later each time).
    ///
    /// As Linux's `tcp_mtu_probe`: a send window too small for the probe and
    /// the segments behind it even when empty is `Never` (its "-1"), and so is
    /// a full congestion window with nothing in flight; otherwise a window
    /// without the room is `Wait` (its "0", where `tcp_write_xmit` sends
    /// nothing). Sending new data meanwhile would keep a window-limited
    /// flight's window full, and the probe would never go.
    //= https://www.rfc-editor.org/rfc/rfc4821#section-7.4
    // (In our words: the exact text could not be checked here.) A probe should
    // go only when its loss can be told from congestion and repaired cheaply:
    // not during a recovery, with enough data to send behind it, and within
    // the congestion window.
    fn mtu_probe_verdict(&self) -> ProbeVerdict {
        let Some(m) = self.mtu_search() else {
            return ProbeVerdict::Never;
        };
        let Some(size) = m.next_probe_size(self.unsearched_packet_len()) else {
            return ProbeVerdict::Never;
        };
        let in_recovery = self.cc.as_deref().is_some_and(|s| s.recovery.is_some());
        let mss = usize::from(self.mss.max(1));
        let len = usize::from(size.saturating_sub(self.packet_overhead()));
        let off = self.snd_nxt.diff(self.snd_una).max(0) as usize;
        let unsent = self.send_buf.len().saturating_sub(off);
        let needed = len + SEGMENTS_AFTER_PROBE * mss;
        if m.probe.is_some()
            || !matches!(self.state, State::Established | State::CloseWait)
            || !self.syn_acked()
            || self.snd_nxt != self.snd_max
            || self.rto_count != 0
            || self.dupacks != 0
            || self.retransmit_una
            || self.frto_active()
            || in_recovery
            || len <= mss
            || (self.cwnd() as usize) < MIN_CWND_SEGMENTS as usize * mss
            || unsent < needed
            || (self.snd_wnd as usize) < needed
        {
            return ProbeVerdict::Never;
        }
        if self.usable_window() < len || (self.snd_wnd as usize) < off + needed {
            // Nothing in flight, no ACK will open the windows: no waiting.
            if off == 0 {
                return ProbeVerdict::Never;
            }
            return ProbeVerdict::Wait;
        }
        ProbeVerdict::Go(off, len, size)
    }

    /// A path MTU probe is due (the flag): the next piece of a lost probe's
    /// bytes to resend, if any; else the probe when it may go now (new data
    /// larger than a full-sized segment); `HoldNewData` when it waits for the
    /// windows, `Pass` when it may not go (the flag is then taken).
    #[cold]
    #[inline(never)]
    pub(super) fn take_mtu_probe(&mut self) -> MtuProbeStep {
        if let Some(resend) = self.take_mtu_probe_resend() {
            return resend.map_or(MtuProbeStep::Pass, MtuProbeStep::Send);
        }
        let verdict = self.mtu_probe_verdict();
        let snd_nxt = self.snd_nxt;
        let Some(s) = self.cc.as_deref_mut() else {
            return MtuProbeStep::Pass;
        };
        if verdict == ProbeVerdict::Wait {
            return MtuProbeStep::HoldNewData;
        }
        s.probe_due &= !MTU_PROBE_DUE;
        let Some(m) = s.mtu.as_deref_mut() else {
            return MtuProbeStep::Pass;
        };
        let ProbeVerdict::Go(off, len, size) = verdict else {
            m.waits = m.waits.saturating_add(1);
            return MtuProbeStep::Pass;
        };
        m.waits = 0;
        m.probe = Some(MtuProbe {
            start: snd_nxt,
            end: snd_nxt + len,
            size,
        });
        MtuProbeStep::Send(MtuSegment {
            seq: snd_nxt,
            off,
            len,
            resend: false,
        })
    }

    /// The next piece of a lost probe's bytes to resend (`Some(Some(_))`), or
    /// `Some(None)` once there is none left (the flag is taken), or `None`
    /// when no resend is under way.
    fn take_mtu_probe_resend(&mut self) -> Option<Option<MtuSegment>> {
        let (una, snd_nxt, snd_max) = (self.snd_una, self.snd_nxt, self.snd_max);
        let mss = u32::from(self.mss.max(1));
        let buffered = self.send_buf.len();
        let s = self.cc.as_deref_mut()?;
        let m = s.mtu.as_deref_mut()?;
        let (from, to) = m.resend?;
        let seq = from.max(una);
        let end = to.min(snd_max);
        let off = seq.diff(una).max(0) as usize;
        // SND.NXT at or below these bytes: a go-back-N is under way (a "too
        // big" below `search_low` shrank the segments, `on_path_mtu`), which
        // resends them in order. Resent from here, ahead of SND.NXT, they
        // would carry SND.NXT past the bytes before them (`after_send`), left
        // to a retransmission timeout.
        if seq >= end || off >= buffered || seq >= snd_nxt {
            m.resend = None;
            s.probe_due &= !MTU_PROBE_DUE;
            return Some(None);
        }
        let len = (end.diff(seq).max(0) as u32)
            .min(mss)
            .min((buffered - off) as u32);
        let next = seq + len;
        if next >= end {
            m.resend = None;
            s.probe_due &= !MTU_PROBE_DUE;
        } else {
            m.resend = Some((next, to));
        }
        Some(Some(MtuSegment {
            seq,
            off,
            len: len as usize,
            resend: true,
        }))
    }

    /// The third duplicate ACK (or RFC 6675's IsLost) finds a path MTU probe at
    /// SND.UNA (`ack`): the probe failed, not the network. Handles it and
    /// returns true (no fast recovery then); false when the loss is another.
    /// Out of line behind one test: the start of a recovery only.
    pub(super) fn on_loss_at_mtu_probe(&mut self, ack: SeqNumber) -> bool {
        let Some(s) = self.cc.as_deref() else {
            return false;
        };
        // (In a recovery already, the recovery resends it, and the probe fails
        // by `on_resend_of_mtu_probe`.)
        let at_probe = s.recovery.is_none()
            && s.mtu
                .as_deref()
                .and_then(|m| m.probe)
                .is_some_and(|p| p.start == ack);
        at_probe && self.on_mtu_probe_lost()
    }

    #[cold]
    #[inline(never)]
    fn on_mtu_probe_lost(&mut self) -> bool {
        let probe = self.mtu_search().and_then(|m| m.probe);
        self.on_mtu_probe_failed();
        let Some(p) = probe else {
            return false;
        };
        //= https://www.rfc-editor.org/rfc/rfc4821#section-7.5
        // (In our words: the exact text could not be checked here.) The loss of
        // a probe is not a sign of congestion, and no congestion response
        // follows it; the data it carried is resent at the current size.
        // As Linux's `tcp_simple_retransmit`: only the probe's bytes are resent,
        // in full-sized segments (`take_mtu_probe`), outside the congestion
        // window, and the duplicate ACKs of this flight start no recovery (its
        // recovery point, as after a timeout). A resent piece lost again is
        // left to the retransmission timer.
        let snd_max = self.snd_max;
        let s = self.ccs();
        s.last_recover = Some(snd_max - 1u32);
        s.probe_due |= MTU_PROBE_DUE;
        if let Some(m) = s.mtu.as_deref_mut() {
            m.resend = Some((p.start, p.end));
        }
        true
    }

    /// A retransmission of `len` bytes from `seq` was sent: if it resends part
    /// of a path MTU probe, the probe can no longer tell its size got through,
    /// and counts as failed. Called from the retransmission path only.
    pub(super) fn on_resend_of_mtu_probe(&mut self, seq: SeqNumber, len: usize) {
        let overlaps = self
            .mtu_search()
            .and_then(|m| m.probe)
            .is_some_and(|p| seq < p.end && seq + len > p.start);
        if overlaps {
            self.on_mtu_probe_failed();
        }
    }

    /// The path MTU fell to `mtu` (an ICMP "too big"): a larger probe in
    /// flight failed, and is resent as a lost one is. (The packets and the
    /// probes stay within the path MTU: `packet_limit`, `next_probe_size`.)
    pub(super) fn on_path_mtu_search(&mut self, mtu: u16) {
        let probe_too_big = self
            .mtu_search()
            .and_then(|m| m.probe)
            .is_some_and(|p| p.size > mtu);
        if probe_too_big {
            self.on_mtu_probe_lost();
        }
    }

    /// The probe in flight failed: `search_high` falls below its size.
    //= https://www.rfc-editor.org/rfc/rfc4821#section-7.6.2
    // (In our words: the exact text could not be checked here.) A probe lost
    // is a failure: search_high becomes less than its size.
    #[cold]
    #[inline(never)]
    fn on_mtu_probe_failed(&mut self) {
        let Some(s) = self.cc.as_deref_mut() else {
            return;
        };
        let Some(m) = s.mtu.as_deref_mut() else {
            return;
        };
        let Some(p) = m.probe.take() else {
            return;
        };
        m.high = m.high.min(p.size.saturating_sub(1)).max(m.low);
        let c = s.loss_mut();
        c.mtu_probe_failures = c.mtu_probe_failures.saturating_add(1);
    }
}
