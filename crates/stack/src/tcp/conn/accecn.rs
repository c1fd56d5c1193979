//! Accurate ECN feedback (RFC 9768), without the AccECN TCP option: the
//! three-way handshake that negotiates it (and falls back to classic ECN or to
//! none), the data receiver's count of CE-marked packets (`r.cep`) echoed in the
//! 3-bit ACE field (AE, CWR, ECE) of every ACK, and the data sender's count
//! (`s.cep`) recovered from the ACE increments, with the safety rule for an ACE
//! field that may have wrapped.
//!
//! The congestion response stays RFC 3168's, one window reduction per round trip
//! (`ecn::on_ack_ecn`), and the controller also gets the number of newly
//! CE-marked segments ([`AckSample::ce_marked`](crate::cc::AckSample)).
//!
//! Not done: the AccECN option (byte counters), ECT on SYN/SYN-ACK, fallback on
//! SYN retransmission, most mangling tests; see
//! `docs/compliance/rfc9768.md`.

use super::ecn::EcnState;
use super::{AckDue, Connection, SynInfo};
use crate::tcp::state::State;
use crate::wire::{Ecn, SeqNumber, TcpFlags, TcpRepr};

/// The initial value of both CE packet counters.
//= https://www.rfc-editor.org/rfc/rfc9768#section-3.2.1
const CEP_INIT: u32 = 5;

/// The ACE field is 3 bits: a counter is fed back modulo 8.
const ACE_MOD: u32 = 8;

/// Increment-triggered ACKs: the receiver acknowledges at once after this many CE
/// marks since its last ACK (2 to 6 allowed; the RFC's recommended value).
//= https://www.rfc-editor.org/rfc/rfc9768#section-3.2.2.5
const CE_ACK_TRIGGER: u32 = 2;

/// From this many newly delivered packets on, the ACE field may have wrapped.
//= https://www.rfc-editor.org/rfc/rfc9768#section-3.2.2.5
const ACE_AMBIGUOUS: u32 = 7;

/// A connection's AccECN counters (in the connection's `EcnMore` box).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct AccEcnCounters {
    /// Data receiver: CE-marked packets received (`r.cep`), starting at 5.
    pub(crate) r_cep: u32,
    /// Data sender: CE-marked packets the peer reported (`s.cep`), starting at 5.
    pub(crate) s_cep: u32,
    /// Data receiver: CE marks since the last ACK sent.
    ce_since_ack: u32,
    /// Data sender: the CE marks newly reported by the ACK being processed.
    ce_delta: u32,
}

impl EcnState {
    /// AccECN is in use (with [`EcnState::OK`]).
    const ACC: u8 = 1;
    /// Our SYN asked for AccECN.
    const ACC_SYN_SENT: u8 = 2;
    /// The peer's SYN asked for AccECN.
    const ACC_PEER_SYN: u8 = 4;
    /// Client: the next ACK is the handshake's and feeds back the SYN-ACK's IP-ECN.
    const ACC_HS_ACK_DUE: u8 = 8;
    /// Data receiver: the last data segment arrived CE-marked.
    const ACC_PREV_CE: u8 = 16;

    fn acc_get(&self, bit: u8) -> bool {
        self.acc & bit != 0
    }

    fn acc_set(&mut self, bit: u8, on: bool) {
        if on {
            self.acc |= bit;
        } else {
            self.acc &= !bit;
        }
    }
}

/// The ACE field (AE, CWR, ECE) of `flags` as a number 0..=7.
fn ace_of(flags: TcpFlags) -> u8 {
    u8::from(flags.contains(TcpFlags::AE)) << 2
        | u8::from(flags.contains(TcpFlags::CWR)) << 1
        | u8::from(flags.contains(TcpFlags::ECE))
}

/// The flags that write `ace` (its low 3 bits) into the ACE field.
fn ace_flags(ace: u8) -> TcpFlags {
    let mut f = TcpFlags::empty();
    if ace & 4 != 0 {
        f.insert(TcpFlags::AE);
    }
    if ace & 2 != 0 {
        f.insert(TcpFlags::CWR);
    }
    if ace & 1 != 0 {
        f.insert(TcpFlags::ECE);
    }
    f
}

/// How a SYN-ACK (Table 3) or the handshake's ACK (Table 4) feeds back the IP-ECN
/// field of the SYN or the SYN-ACK.
//= https://www.rfc-editor.org/rfc/rfc9768#section-3.1.2
fn handshake_ace(ecn: Ecn) -> u8 {
    match ecn {
        Ecn::NotEct => 0b010,
        Ecn::Ect1 => 0b011,
        Ecn::Ect0 => 0b100,
        Ecn::Ce => 0b110,
    }
}

/// Whether a SYN's flags ask for AccECN: (AE, CWR, ECE) = (1, 1, 1), or any
/// combination other than (0, 0, 0) and (0, 1, 1), which a server that implements
/// AccECN takes as (1, 1, 1) for forward compatibility.
//= https://www.rfc-editor.org/rfc/rfc9768#section-3.1.3
pub(super) fn is_accecn_setup_syn(flags: TcpFlags) -> bool {
    flags.contains(TcpFlags::SYN) && !matches!(ace_of(flags), 0b000 | 0b011)
}

/// The CE marks an ACK newly reports: the ACE increment over `s_cep`, or, when
/// `newly_delivered` packets are enough for the field to have wrapped, the largest
/// count not above `newly_delivered` that the field agrees with (the safe,
/// conservative reading: every mark it cannot rule out is counted).
//= https://www.rfc-editor.org/rfc/rfc9768#section-3.2.2.5
pub(super) fn ce_delta(ace: u8, s_cep: u32, newly_delivered: u32) -> u32 {
    let delta = u32::from(ace).wrapping_sub(s_cep) % ACE_MOD;
    if newly_delivered < ACE_AMBIGUOUS {
        return delta;
    }
    newly_delivered - (newly_delivered - delta) % ACE_MOD
}

impl Connection {
    /// Whether Accurate ECN (RFC 9768) is in use on this connection.
    pub fn accecn_enabled(&self) -> bool {
        self.ecn.get(EcnState::OK) && self.ecn.acc_get(EcnState::ACC)
    }

    /// AccECN counters: (`r.cep`, `s.cep`), the CE-marked packets received and the
    /// ones the peer reported, or `None` without AccECN.
    pub fn accecn_cep(&self) -> Option<(u32, u32)> {
        if !self.accecn_enabled() {
            return None;
        }
        self.ecn_more.as_ref().map(|m| (m.acc.r_cep, m.acc.s_cep))
    }

    /// AccECN is in use from now on: both counters start at 5.
    fn on_accecn_negotiated(&mut self) {
        self.ecn.set(EcnState::OK, true);
        self.ecn.acc_set(EcnState::ACC, true);
        let more = self.ecn_more();
        more.acc.r_cep = CEP_INIT;
        more.acc.s_cep = CEP_INIT;
    }

    /// The peer's SYN: whether it asked for AccECN, and its IP-ECN field.
    pub(super) fn on_peer_syn_accecn(&mut self, syn: &SynInfo) {
        self.ecn.acc_set(EcnState::ACC_PEER_SYN, syn.accecn_setup);
        self.ecn.hs_ecn = syn.ip_ecn;
    }

    /// The flags of our SYN or SYN-ACK when AccECN decides them, else `None` (the
    /// classic rules of `ecn` apply).
    pub(super) fn accecn_syn_flags(&mut self) -> Option<TcpFlags> {
        if !self.options.ecn.accurate() {
            return None;
        }
        if self.state == State::SynReceived {
            if !self.ecn.acc_get(EcnState::ACC_PEER_SYN) {
                return None;
            }
            //= https://www.rfc-editor.org/rfc/rfc9768#section-3.1.2
            // The SYN-ACK feeds back the SYN's IP-ECN field (Table 3).
            self.on_accecn_negotiated();
            return Some(ace_flags(handshake_ace(self.ecn.hs_ecn)));
        }
        //= https://www.rfc-editor.org/rfc/rfc9768#section-3.1.1
        // An AccECN SYN: (AE, CWR, ECE) = (1, 1, 1).
        self.ecn.acc_set(EcnState::ACC_SYN_SENT, true);
        Some(TcpFlags::AE | TcpFlags::CWR | TcpFlags::ECE)
    }

    /// The SYN-ACK answering our AccECN SYN (Table 2): returns false when our SYN
    /// did not ask for AccECN (the classic rules of `ecn` apply).
    //= https://www.rfc-editor.org/rfc/rfc9768#section-3.1.2
    pub(super) fn on_syn_ack_accecn(&mut self, flags: TcpFlags) -> bool {
        if !self.ecn.acc_get(EcnState::ACC_SYN_SENT) {
            return false;
        }
        self.on_syn_ack_to_accecn_syn(flags);
        true
    }

    /// [`on_syn_ack_accecn`](Self::on_syn_ack_accecn) when our SYN asked for
    /// AccECN. Out of line and cold: a connection that did not ask (the
    /// default) keeps its SYN-ACK's code short.
    #[cold]
    #[inline(never)]
    fn on_syn_ack_to_accecn_syn(&mut self, flags: TcpFlags) {
        match ace_of(flags) {
            // A server without ECN, or a "broken" one reflecting the flags.
            0b000 | 0b111 => self.ecn.set(EcnState::OK, false),
            // A classic ECN server: RFC 3168 feedback.
            0b001 => self.ecn.set(EcnState::OK, true),
            // AccECN; (1, 0, 1), reserved, counts as AccECN with the SYN's
            // IP-ECN field unchanged (section 3.1.3).
            _ => {
                self.on_accecn_negotiated();
                self.ecn.hs_ecn = self.ecn.rx;
                self.ecn.acc_set(EcnState::ACC_HS_ACK_DUE, true);
            }
        }
    }

    /// The ACE field of a segment with `flags` on an AccECN connection: the
    /// handshake's ACK feeds back the SYN-ACK's IP-ECN field (Table 4), every
    /// other ACK `r.cep` modulo 8.
    pub(super) fn accecn_ace_for_segment(&mut self, flags: TcpFlags) -> TcpFlags {
        if !flags.contains(TcpFlags::ACK) {
            return TcpFlags::empty();
        }
        if self.ecn.acc_get(EcnState::ACC_HS_ACK_DUE) {
            //= https://www.rfc-editor.org/rfc/rfc9768#section-3.2.2.1
            self.ecn.acc_set(EcnState::ACC_HS_ACK_DUE, false);
            return ace_flags(handshake_ace(self.ecn.hs_ecn));
        }
        let more = self.ecn_more();
        more.acc.ce_since_ack = 0;
        //= https://www.rfc-editor.org/rfc/rfc9768#section-3.2.2
        // Every ACK carries the CE packet count, modulo 8.
        ace_flags((more.acc.r_cep % ACE_MOD) as u8)
    }

    /// An acceptable segment on an AccECN connection: the receiver counts a CE
    /// mark (and decides whether to acknowledge at once), the sender reads the ACE
    /// field (before the ACK is processed, so the controller hears of the marks
    /// with it).
    pub(super) fn on_segment_accecn_rx(&mut self, seg: &TcpRepr<'_>) {
        let ace = ace_of(seg.flags);
        if self.state == State::SynReceived {
            //= https://www.rfc-editor.org/rfc/rfc9768#section-3.2.2
            // The handshake's ACK feeds back our SYN-ACK's IP-ECN field; zero
            // means a middlebox cleared the flags: no ECN then.
            if ace == 0 {
                self.ecn.set(EcnState::OK, false);
                self.ecn.acc_set(EcnState::ACC, false);
                return;
            }
            // Data may come with it: its CE mark counts; its ACE is no count.
            self.on_ce_count_rx(seg);
            return;
        }
        self.on_ce_count_rx(seg);
        self.on_ace_rx(seg, ace);
    }

    /// Data receiver: `r.cep` counts CE-marked packets; a change between CE and
    /// not-CE, or the second mark since the last ACK, is acknowledged at once.
    fn on_ce_count_rx(&mut self, seg: &TcpRepr<'_>) {
        let ce = self.ecn.rx == Ecn::Ce;
        if ce {
            //= https://www.rfc-editor.org/rfc/rfc9768#section-3.2.2
            let more = self.ecn_more();
            more.acc.r_cep = more.acc.r_cep.wrapping_add(1);
            more.acc.ce_since_ack = more.acc.ce_since_ack.saturating_add(1);
            more.counters.ce_received = more.counters.ce_received.saturating_add(1);
        }
        if seg.payload.is_empty() {
            return;
        }
        let since = self.ecn_more.as_ref().map_or(0, |m| m.acc.ce_since_ack);
        //= https://www.rfc-editor.org/rfc/rfc9768#section-3.2.2.5
        // Change-triggered and increment-triggered ACKs.
        if ce != self.ecn.acc_get(EcnState::ACC_PREV_CE) || since >= CE_ACK_TRIGGER {
            self.ack_due = AckDue::Now;
        }
        self.ecn.acc_set(EcnState::ACC_PREV_CE, ce);
    }

    /// Data sender: the ACE field of an ACK that makes forward progress (newly
    /// acknowledged or SACKed data) advances `s.cep`; any other ACK may be old
    /// or reordered and is left alone (its count comes with a later ACK).
    fn on_ace_rx(&mut self, seg: &TcpRepr<'_>, ace: u8) {
        let delivered = self.newly_delivered_bytes(seg);
        if delivered == 0 {
            let more = self.ecn_more();
            more.acc.ce_delta = 0;
            if u32::from(ace) != more.acc.s_cep % ACE_MOD {
                more.counters.ace_ignored = more.counters.ace_ignored.saturating_add(1);
            }
            return;
        }
        let mss = u32::from(self.mss.max(1));
        let packets = delivered.div_ceil(mss);
        let more = self.ecn_more();
        let delta = ce_delta(ace, more.acc.s_cep, packets);
        more.acc.s_cep = more.acc.s_cep.wrapping_add(delta);
        more.acc.ce_delta = delta;
        more.counters.ace_ce = more.counters.ace_ce.saturating_add(delta);
        self.ecn.set(EcnState::ECE_RX, delta > 0);
    }

    /// The CE marks the ACK being processed newly reported (AccECN), for the
    /// controller's sample.
    pub(super) fn accecn_ce_delta(&self) -> u32 {
        if !self.accecn_enabled() {
            return 0;
        }
        self.ecn_more.as_ref().map_or(0, |m| m.acc.ce_delta)
    }

    /// The bytes `seg` newly delivers: acknowledged above SND.UNA and not SACKed
    /// before, plus SACK blocks above the ACK whose start the scoreboard does
    /// not hold yet (an estimate: a block that grows an old one counts whole).
    fn newly_delivered_bytes(&self, seg: &TcpRepr<'_>) -> u32 {
        let ack = seg.ack_number;
        let board = self.cc.as_deref().and_then(|s| s.board.as_ref());
        let mut bytes = 0u32;
        if ack > self.snd_una && ack <= self.snd_max {
            bytes = ack.diff(self.snd_una).max(0) as u32;
            if let Some(b) = board {
                for &(l, r) in b.ranges() {
                    bytes = bytes.saturating_sub(overlap((l, r), (self.snd_una, ack)));
                }
            }
        }
        for &(l, r) in seg.options.sack_ranges.as_slice() {
            if l < ack || r <= l || r > self.snd_max {
                continue;
            }
            if board.is_some_and(|b| b.is_sacked(l)) {
                continue;
            }
            bytes = bytes.saturating_add(r.diff(l).max(0) as u32);
        }
        bytes
    }
}

/// The bytes two ranges share.
fn overlap(a: (SeqNumber, SeqNumber), b: (SeqNumber, SeqNumber)) -> u32 {
    let lo = if a.0 > b.0 { a.0 } else { b.0 };
    let hi = if a.1 < b.1 { a.1 } else { b.1 };
    hi.diff(lo).max(0) as u32
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ace_flags_round_trip_every_value() {
        for v in 0..8u8 {
            assert_eq!(ace_of(ace_flags(v)), v);
        }
    }

    #[test]
    fn ce_delta_is_the_ace_increment_modulo_8() {
        assert_eq!(ce_delta(5, 5, 1), 0);
        assert_eq!(ce_delta(6, 5, 1), 1);
        // Wrapped past 7 to 1: 4 marks.
        assert_eq!(ce_delta(1, 5, 4), 4);
        assert_eq!(ce_delta(1, 5 + 8 * 1000, 4), 4);
        assert_eq!(ce_delta(0, u32::MAX, 2), 1);
    }

    #[test]
    fn ce_delta_assumes_the_worst_when_the_field_may_have_wrapped() {
        // 10 packets delivered, the field moved by 2: 2 or 10 marks; count 10.
        assert_eq!(ce_delta(7, 5, 10), 10);
        // 10 packets, moved by 3: 3 (11 is impossible); count 3.
        assert_eq!(ce_delta(0, 5, 10), 3);
        // 20 packets, moved by 0: 0, 8 or 16; count 16.
        assert_eq!(ce_delta(5, 5, 20), 16);
        // Never more than were delivered, never a panic.
        for ace in 0..8u8 {
            for s_cep in [0u32, 5, u32::MAX] {
                for d in [0u32, 6, 7, 8, 100, u32::MAX] {
                    let c = ce_delta(ace, s_cep, d);
                    assert!(c < 8 || c <= d, "{ace} {s_cep} {d} {c}");
                }
            }
        }
    }

    #[test]
    fn accecn_syn_detection_follows_forward_compatibility() {
        let syn = |f: TcpFlags| is_accecn_setup_syn(TcpFlags::SYN | f);
        assert!(syn(TcpFlags::AE | TcpFlags::CWR | TcpFlags::ECE));
        assert!(syn(TcpFlags::AE));
        assert!(syn(TcpFlags::ECE));
        assert!(!syn(TcpFlags::CWR | TcpFlags::ECE), "classic ECN setup");
        assert!(!syn(TcpFlags::empty()));
        assert!(!is_accecn_setup_syn(TcpFlags::ACK | TcpFlags::AE));
    }
}
