//! Explicit Congestion Notification for TCP (RFC 3168 section 6.1): the negotiation
//! on the SYN and SYN-ACK, the IP codepoint and the ECE / CWR flags of each segment
//! sent, the receiver's echo of CE marks and the sender's reaction to the echo, once
//! per window of data.
//!
//! Whether a connection asks for or accepts ECN comes from
//! [`SocketOptions::ecn`](super::SocketOptions) ([`EcnMode`]); the stack learns the
//! codepoint of each segment written from [`Connection::tx_ecn`] and hands the
//! codepoint of each segment received to [`Connection::handle_segment_ecn`].

use super::{AckDue, Connection};
use crate::tcp::config::EcnMode;
use crate::tcp::info::EcnCounters;
use crate::tcp::ring_pool::RingPool;
use crate::tcp::state::State;
use crate::time::Instant;
use crate::wire::{Ecn, SeqNumber, TcpFlags, TcpRepr};

/// A connection's ECN state: two bytes in the connection (every idle connection
/// carries them, so they pack into its padding) and, once ECN does anything on the
/// connection, a small box with the counters and the reduction point.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(super) struct EcnState {
    /// The `EcnState::*` bits.
    bits: u8,
    /// The codepoint of the last segment written.
    tx: Ecn,
    /// The codepoint of the segment being processed.
    pub(super) rx: Ecn,
    /// The `EcnState::ACC_*` bits (Accurate ECN, RFC 9768; see `accecn`).
    pub(super) acc: u8,
    /// AccECN: the IP-ECN field of the peer's SYN (server) or SYN-ACK (client),
    /// which our SYN-ACK or our handshake ACK feeds back.
    pub(super) hs_ecn: Ecn,
}

/// What an ECN connection allocates on its first CE, ECE or window reduction.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(super) struct EcnMore {
    /// Sender: the window was last reduced with SND.MAX here (valid with
    /// [`EcnState::REDUCED`]); an ECE is not reacted to again until SND.UNA passes
    /// it.
    reduced_at: SeqNumber,
    /// The counters.
    pub(super) counters: EcnCounters,
    /// The Accurate ECN counters (RFC 9768), with AccECN in use.
    pub(super) acc: super::accecn::AccEcnCounters,
}

impl EcnState {
    /// Our last SYN or SYN-ACK was an ECN-setup one.
    pub(super) const SETUP_SENT: u8 = 1;
    /// The peer's SYN was an ECN-setup SYN.
    const PEER_SETUP: u8 = 2;
    /// ECN is in use: data goes out ECT(0), CE is echoed, ECE is reacted to.
    pub(super) const OK: u8 = 4;
    /// Receiver: a CE mark arrived; ECE goes on every ACK until a CWR arrives.
    const ECHO: u8 = 8;
    /// Sender: the window was reduced; CWR goes on the next new data segment.
    const CWR_DUE: u8 = 16;
    /// Sender: `reduced_at` is valid.
    pub(super) const REDUCED: u8 = 32;
    /// The ACK being processed carries an ECN-Echo the sender heeds.
    pub(super) const ECE_RX: u8 = 128;

    pub(super) fn get(&self, bit: u8) -> bool {
        self.bits & bit != 0
    }

    pub(super) fn set(&mut self, bit: u8, on: bool) {
        if on {
            self.bits |= bit;
        } else {
            self.bits &= !bit;
        }
    }
}

/// Whether `flags` make an ECN-setup SYN (RFC 3168 section 6.1.1).
pub(super) fn is_ecn_setup_syn(flags: TcpFlags) -> bool {
    flags.contains(TcpFlags::SYN | TcpFlags::ECE | TcpFlags::CWR)
}

impl Connection {
    /// Whether ECN was negotiated for this connection.
    pub fn ecn_enabled(&self) -> bool {
        self.ecn.get(EcnState::OK)
    }

    /// The connection's ECN counters (zero until ECN did anything).
    pub fn ecn_counters(&self) -> EcnCounters {
        self.ecn_more
            .as_ref()
            .map_or_else(EcnCounters::default, |m| m.counters)
    }

    /// [`ecn_counters`](Self::ecn_counters), or `None` while the connection has
    /// met no ECN (the counters are all zero then, and nothing is allocated).
    #[inline]
    pub(crate) fn ecn_counters_if_any(&self) -> Option<EcnCounters> {
        self.ecn_more.as_ref().map(|m| m.counters)
    }

    /// The ECN state kept outside the connection, allocated on first use.
    pub(super) fn ecn_more(&mut self) -> &mut EcnMore {
        self.ecn_more.get_or_insert_with(Box::default)
    }

    /// The IP ECN codepoint of the segment [`poll_transmit`](Self::poll_transmit)
    /// wrote last: ECT(0) for new data on an ECN connection, Not-ECT for everything
    /// else.
    pub fn tx_ecn(&self) -> Ecn {
        self.ecn.tx
    }

    /// A segment arrived with the IP ECN codepoint `ecn`: as
    /// [`handle_segment`](Self::handle_segment), and a CE mark is echoed to the
    /// sender if ECN is in use.
    pub fn handle_segment_ecn(&mut self, now: Instant, seg: &TcpRepr<'_>, ecn: Ecn) {
        self.handle_segment_ecn_pooled(now, seg, ecn, &mut RingPool::new(0));
    }

    /// [`handle_segment_ecn`](Self::handle_segment_ecn) with the stack's ring
    /// pool (see [`handle_segment_pooled`](Self::handle_segment_pooled)).
    pub(crate) fn handle_segment_ecn_pooled(
        &mut self,
        now: Instant,
        seg: &TcpRepr<'_>,
        ecn: Ecn,
        pool: &mut RingPool,
    ) {
        self.ecn.rx = ecn;
        self.handle_segment_pooled(now, seg, pool);
        self.ecn.rx = Ecn::NotEct;
    }

    /// The peer's SYN (passive open or simultaneous open) asked for ECN or not.
    pub(super) fn on_peer_syn_ecn(&mut self, syn: &super::SynInfo) {
        self.ecn.set(EcnState::PEER_SETUP, syn.ecn_setup);
        self.on_peer_syn_accecn(syn);
    }

    /// The peer's SYN-ACK arrived in SYN-SENT: ECN is in use if we asked and it is an
    /// ECN-setup SYN-ACK.
    //= https://www.rfc-editor.org/rfc/rfc3168#section-6.1.1
    //# Similarly, we call a SYN-ACK packet with only the ECE
    //# flag set but the CWR flag not set an "ECN-setup SYN-ACK packet", and
    //# we call a SYN-ACK packet with any other configuration of the ECE and
    //# CWR flags a "non-ECN-setup SYN-ACK packet".
    pub(super) fn on_syn_ack_ecn(&mut self, flags: TcpFlags) {
        if self.on_syn_ack_accecn(flags) {
            return;
        }
        let setup_ack = flags.contains(TcpFlags::ECE) && !flags.contains(TcpFlags::CWR);
        //= https://www.rfc-editor.org/rfc/rfc3168#section-6.1.1
        //# * A host MUST NOT set ECT on data packets unless it has sent at
        //#   least one ECN-setup SYN or ECN-setup SYN-ACK packet, and has
        //#   received at least one ECN-setup SYN or ECN-setup SYN-ACK packet,
        //#   and has sent no non-ECN-setup SYN or non-ECN-setup SYN-ACK
        //#   packet.
        self.ecn.set(
            EcnState::OK,
            self.ecn.get(EcnState::SETUP_SENT) && setup_ack,
        );
    }

    /// The ECE / CWR flags of our SYN or SYN-ACK (RFC 3168 section 6.1.1).
    pub(super) fn syn_ecn_flags(&mut self) -> TcpFlags {
        let mode: EcnMode = self.options.ecn;
        // AccECN (rare) decides out of line, so that the classic rules below
        // stay on one or two code lines.
        if mode.accurate() {
            if let Some(flags) = self.accecn_syn_ecn_flags() {
                return flags;
            }
        }
        let flags = if self.state == State::SynReceived {
            //= https://www.rfc-editor.org/rfc/rfc3168#section-6.1.1
            //# * If a host has received an ECN-setup SYN packet, then it MAY send
            //#   an ECN-setup SYN-ACK packet.  Otherwise, it MUST NOT send an
            //#   ECN-setup SYN-ACK packet.
            if self.ecn.get(EcnState::PEER_SETUP) && mode.accepts() {
                TcpFlags::ECE
            } else {
                TcpFlags::empty()
            }
        } else if mode.requests() {
            //= https://www.rfc-editor.org/rfc/rfc3168#section-6.1.1
            //# We call a SYN packet with the ECE and
            //# CWR flags set an "ECN-setup SYN packet"
            TcpFlags::ECE | TcpFlags::CWR
        } else {
            TcpFlags::empty()
        };
        self.ecn.set(EcnState::SETUP_SENT, !flags.is_empty());
        // A passive side (or a simultaneous open) knows the outcome once its
        // SYN-ACK leaves; an active open learns it from the SYN-ACK.
        self.ecn.set(
            EcnState::OK,
            self.state == State::SynReceived && self.ecn.get(EcnState::SETUP_SENT),
        );
        flags
    }

    /// [`syn_ecn_flags`](Self::syn_ecn_flags) when AccECN is configured: the
    /// flags AccECN decides, with the handshake state they set, or `None` (the
    /// classic rules apply).
    #[cold]
    #[inline(never)]
    fn accecn_syn_ecn_flags(&mut self) -> Option<TcpFlags> {
        let flags = self.accecn_syn_flags()?;
        self.ecn.set(EcnState::SETUP_SENT, true);
        self.ecn.set(EcnState::OK, self.state == State::SynReceived);
        Some(flags)
    }

    /// The ECN flags to add to a segment with `flags` and `payload_len` bytes
    /// (`retransmit` if it resends sequence space), and its IP codepoint, which
    /// [`tx_ecn`](Self::tx_ecn) reports. Called once per segment written.
    #[inline(always)]
    pub(super) fn ecn_for_segment(
        &mut self,
        flags: TcpFlags,
        payload_len: usize,
        retransmit: bool,
    ) -> TcpFlags {
        // A connection without ECN (the common case) past its handshake: answered
        // in line, as the general path below answers it.
        if !self.ecn.get(EcnState::OK) && !flags.intersects(TcpFlags::SYN | TcpFlags::RST) {
            self.ecn.tx = Ecn::NotEct;
            return TcpFlags::empty();
        }
        self.ecn_for_segment_general(flags, payload_len, retransmit)
    }

    /// [`ecn_for_segment`](Self::ecn_for_segment) for a SYN or SYN-ACK (never
    /// a RST): what the general rules answer for one, for the fixed-layout
    /// handshake writer (`poll_syn`), which thus runs no code of the other
    /// segments' rules.
    #[inline]
    pub(super) fn ecn_for_syn(&mut self) -> TcpFlags {
        //= https://www.rfc-editor.org/rfc/rfc3168#section-6.1.1
        //# * A host MUST NOT set ECT on SYN or SYN-ACK packets.
        self.ecn.tx = Ecn::NotEct;
        self.syn_ecn_flags()
    }

    /// [`ecn_for_segment`](Self::ecn_for_segment) for a SYN, a RST or a
    /// connection using ECN.
    #[inline(never)]
    fn ecn_for_segment_general(
        &mut self,
        flags: TcpFlags,
        payload_len: usize,
        retransmit: bool,
    ) -> TcpFlags {
        self.ecn.tx = Ecn::NotEct;
        if flags.contains(TcpFlags::RST) {
            return TcpFlags::empty();
        }
        if flags.contains(TcpFlags::SYN) {
            return self.ecn_for_syn();
        }
        if !self.ecn.get(EcnState::OK) {
            //= https://www.rfc-editor.org/rfc/rfc3168#section-6.1.1
            //# A host that is not willing to use ECN on a TCP connection SHOULD
            //# clear both the ECE and CWR flags in all non-ECN-setup SYN and/or
            //# SYN-ACK packets that it sends to indicate this unwillingness.
            return TcpFlags::empty();
        }
        let mut out = if self.accecn_enabled() {
            self.accecn_ace_for_segment(flags)
        } else {
            TcpFlags::empty()
        };
        if self.ecn.get(EcnState::ECHO) && flags.contains(TcpFlags::ACK) {
            //= https://www.rfc-editor.org/rfc/rfc3168#section-6.1.3
            //# After a TCP receiver sends an ACK packet with the ECN-Echo bit set,
            //# that TCP receiver continues to set the ECN-Echo flag in all the ACK
            //# packets it sends (whether they acknowledge CE data packets or non-CE
            //# data packets) until it receives a CWR packet (a packet with the CWR
            //# flag set).
            out.insert(TcpFlags::ECE);
        }
        //= https://www.rfc-editor.org/rfc/rfc3168#section-6.1.4
        //# For the current generation of TCP congestion control algorithms, pure
        //# acknowledgement packets (e.g., packets that do not contain any
        //# accompanying data) MUST be sent with the not-ECT codepoint.
        //= https://www.rfc-editor.org/rfc/rfc3168#section-6.1.5
        //# This document specifies ECN-capable TCP implementations MUST NOT set
        //# either ECT codepoint (ECT(0) or ECT(1)) in the IP header for
        //# retransmitted data packets
        // Window probes carry no data here (RFC 3168 section 6.1.6 forbids ECT and
        // CWR on them): they fall under the pure-ACK rule.
        if payload_len == 0 || retransmit {
            return out;
        }
        //= https://www.rfc-editor.org/rfc/rfc3168#section-6.1.2
        //# When only one ECT codepoint
        //# is needed by a sender for all packets sent on a TCP connection,
        //# ECT(0) SHOULD be used.
        self.ecn.tx = Ecn::Ect0;
        if self.ecn.get(EcnState::CWR_DUE) {
            //= https://www.rfc-editor.org/rfc/rfc3168#section-6.1.2
            //# When the TCP data sender is ready to set the CWR bit after reducing
            //# the congestion window, it SHOULD set the CWR bit only on the first
            //# new data packet that it transmits.
            self.ecn.set(EcnState::CWR_DUE, false);
            out.insert(TcpFlags::CWR);
            self.ecn_more().counters.cwr_sent = self.ecn_more().counters.cwr_sent.saturating_add(1);
        }
        out
    }

    /// The receiver's side of an acceptable segment: a CWR ends the echo, a CE mark
    /// starts it (and is acknowledged at once, as Linux's quick-ACK on CE).
    #[inline]
    pub(super) fn on_segment_ecn_rx(&mut self, seg: &TcpRepr<'_>) {
        self.ecn.set(EcnState::ECE_RX, false);
        if !self.ecn.get(EcnState::OK) {
            return;
        }
        self.on_segment_ecn_rx_ok(seg);
    }

    /// [`on_segment_ecn_rx`](Self::on_segment_ecn_rx) on a connection that
    /// negotiated ECN. Out of line: the code of a connection without ECN stays
    /// dense.
    #[inline(never)]
    fn on_segment_ecn_rx_ok(&mut self, seg: &TcpRepr<'_>) {
        if self.accecn_enabled() {
            self.on_segment_accecn_rx(seg);
            return;
        }
        self.ecn.set(EcnState::ECE_RX, self.ece_in(seg));
        if seg.flags.contains(TcpFlags::CWR) {
            //= https://www.rfc-editor.org/rfc/rfc3168#section-6.1.3
            //# After the receipt of the CWR packet, acknowledgments for
            //# subsequent non-CE data packets do not have the ECN-Echo flag set.
            self.ecn.set(EcnState::ECHO, false);
        }
        if self.ecn.rx == Ecn::Ce {
            //= https://www.rfc-editor.org/rfc/rfc3168#section-6.1.3
            //# When TCP receives a CE data packet at the destination end-system, the
            //# TCP data receiver sets the ECN-Echo flag in the TCP header of the
            //# subsequent ACK packet.
            self.ecn_more().counters.ce_received =
                self.ecn_more().counters.ce_received.saturating_add(1);
            if !self.ecn.get(EcnState::ECHO) {
                // The sender may have a small window: do not delay this ACK.
                self.ecn.set(EcnState::ECHO, true);
                self.ack_due = AckDue::Now;
            }
        }
    }

    /// Whether the ACK being processed carries an ECN-Echo the sender heeds (for the
    /// controller's [`AckSample::ece`](crate::cc::AckSample)).
    pub(super) fn ece_rx(&self) -> bool {
        self.ecn.get(EcnState::ECE_RX)
    }

    /// Whether an acceptable ACK carries an ECN-Echo the sender heeds.
    pub(super) fn ece_in(&self, seg: &TcpRepr<'_>) -> bool {
        self.ecn.get(EcnState::OK)
            && seg.flags.contains(TcpFlags::ECE)
            && !seg.flags.contains(TcpFlags::SYN)
    }

    /// The sender's side of an acceptable ACK processed: an ECN-Echo reduces the
    /// window once per window of data (`flight` bytes were outstanding before it).
    #[inline]
    pub(super) fn on_ack_ecn(&mut self, now: Instant, flight: u32) {
        if !self.ecn.get(EcnState::ECE_RX) {
            return;
        }
        self.on_ack_ece(now, flight);
    }

    /// [`on_ack_ecn`](Self::on_ack_ecn) for an ACK with an ECN-Echo. Out of line:
    /// rare.
    #[cold]
    #[inline(never)]
    fn on_ack_ece(&mut self, now: Instant, flight: u32) {
        if !self.accecn_enabled() {
            self.ecn_more().counters.ece_received =
                self.ecn_more().counters.ece_received.saturating_add(1);
        }
        //= https://www.rfc-editor.org/rfc/rfc3168#section-6.1.2
        //# TCP should not react to congestion indications more than once every
        //# window of data (or more loosely, more than once every round-trip
        //# time).
        if self.ecn.get(EcnState::REDUCED)
            && self
                .ecn_more
                .as_ref()
                .is_some_and(|m| self.snd_una <= m.reduced_at)
        {
            return;
        }
        if !self.on_ecn_cc(now, flight) {
            // In loss recovery: the window was already reduced for this window.
            return;
        }
        self.ecn_more().counters.reactions = self.ecn_more().counters.reactions.saturating_add(1);
        self.on_window_reduced_ecn();
    }

    /// The window was reduced (ECN-Echo, fast retransmit or timeout): the next new
    /// data segment carries CWR, and ECN-Echoes for data sent until now are not
    /// reacted to again.
    //= https://www.rfc-editor.org/rfc/rfc3168#section-6.1.2
    //# When an ECN-Capable TCP sender reduces its congestion window for any
    //# reason (because of a retransmit timeout, a Fast Retransmit, or in
    //# response to an ECN Notification), the TCP sender sets the CWR flag in
    //# the TCP header of the first new data packet sent after the window
    //# reduction.
    pub(super) fn on_window_reduced_ecn(&mut self) {
        if self.ecn.get(EcnState::OK) {
            // AccECN has no CWR signal: the CWR flag is part of the ACE field.
            self.ecn.set(EcnState::CWR_DUE, !self.accecn_enabled());
            self.ecn.set(EcnState::REDUCED, true);
            let snd_max = self.snd_max;
            self.ecn_more().reduced_at = snd_max;
        }
    }
}

#[cfg(test)]
mod tests {
    use core::net::{IpAddr, Ipv4Addr, SocketAddr};
    use std::sync::Arc;

    use super::super::{Connection, OpenParams, SocketOptions, SynInfo};
    use crate::tcp::config::{EcnMode, TcpConfig};
    use crate::tcp::state::State;
    use crate::time::Instant;
    use crate::wire::{
        AddrPair, ChecksumMode, Ecn, SeqNumber, TcpFlags, TcpOptions, TcpPacket, TcpRepr,
    };

    const A: SocketAddr = SocketAddr::new(IpAddr::V4(Ipv4Addr::new(10, 0, 0, 1)), 40000);
    const B: SocketAddr = SocketAddr::new(IpAddr::V4(Ipv4Addr::new(10, 0, 0, 2)), 80);

    fn t(ms: u64) -> Instant {
        Instant::from_nanos(ms * 1_000_000)
    }

    fn config(ecn: EcnMode) -> Arc<TcpConfig> {
        Arc::new(TcpConfig {
            ecn,
            timestamps: false,
            ..TcpConfig::default()
        })
    }

    fn params(local: SocketAddr, remote: SocketAddr, iss: u32, c: &TcpConfig) -> OpenParams {
        OpenParams {
            local,
            remote,
            iss: SeqNumber(iss),
            ts_offset: 0,
            path_mtu: 1500,
            options: SocketOptions::from_config(c),
            cc: c.default_congestion_algorithm(),
        }
    }

    /// A segment as it left a connection, with its IP codepoint.
    struct Out {
        bytes: Vec<u8>,
        addrs: AddrPair,
        ecn: Ecn,
    }

    impl Out {
        fn repr(&self) -> TcpRepr<'_> {
            let packet = TcpPacket::new_checked(&self.bytes[..]).unwrap();
            TcpRepr::parse(&packet, &self.addrs, ChecksumMode::Enabled).unwrap()
        }
    }

    fn poll(c: &mut Connection, now: Instant) -> Option<Out> {
        let mut buf = [0u8; 1600];
        let addrs = AddrPair::new(c.local().ip(), c.remote().ip()).unwrap();
        let n = c.poll_transmit(now, &mut buf[..1480], &addrs, ChecksumMode::Enabled)?;
        Some(Out {
            bytes: buf[..n].to_vec(),
            addrs,
            ecn: c.tx_ecn(),
        })
    }

    fn poll_all(c: &mut Connection, now: Instant) -> Vec<Out> {
        let mut out = Vec::new();
        while let Some(s) = poll(c, now) {
            out.push(s);
            assert!(out.len() < 1000);
        }
        out
    }

    /// A handshake between a client in `client` mode and a server in `server`
    /// mode; returns both, established, and the SYN's and SYN-ACK's flags.
    fn pair(client: EcnMode, server: EcnMode) -> (Connection, Connection, TcpFlags, TcpFlags) {
        let (cc, sc) = (config(client), config(server));
        let mut c = Connection::connect(t(0), cc.clone(), params(A, B, 1000, &cc));
        let syn = poll(&mut c, t(0)).unwrap();
        assert_eq!(syn.ecn, Ecn::NotEct, "a SYN is never ECT");
        let syn_info = SynInfo::from_repr(&syn.repr());
        let mut s = Connection::accept(t(0), sc.clone(), params(B, A, 5000, &sc), &syn_info);
        let synack = poll(&mut s, t(1)).unwrap();
        assert_eq!(synack.ecn, Ecn::NotEct, "a SYN-ACK is never ECT");
        c.handle_segment(t(2), &synack.repr());
        assert_eq!(c.state(), State::Established);
        let ack = poll(&mut c, t(2)).unwrap();
        s.handle_segment(t(3), &ack.repr());
        assert_eq!(s.state(), State::Established);
        (c, s, syn.repr().flags, synack.repr().flags)
    }

    /// A segment from the peer B (ISS 5000) to a client at A.
    fn from_b(seq: u32, ack: u32, flags: TcpFlags, payload: &[u8]) -> TcpRepr<'_> {
        TcpRepr {
            src_port: 80,
            dst_port: 40000,
            seq_number: SeqNumber(seq),
            ack_number: SeqNumber(ack),
            flags,
            window_len: 65535,
            urgent_pointer: 0,
            options: TcpOptions::default(),
            payload,
        }
    }

    /// A client in `On` mode established against a hand-driven ECN peer (ISS 5000,
    /// MSS 1000, no window scaling).
    fn ecn_client() -> Connection {
        let cc = config(EcnMode::On);
        let mut c = Connection::connect(t(0), cc.clone(), params(A, B, 1000, &cc));
        poll(&mut c, t(0)).unwrap();
        let mut synack = from_b(
            5000,
            1001,
            TcpFlags::SYN | TcpFlags::ACK | TcpFlags::ECE,
            &[],
        );
        synack.options.mss = Some(1000);
        c.handle_segment(t(100), &synack);
        assert!(c.ecn_enabled());
        poll_all(&mut c, t(100));
        c
    }

    #[test]
    fn ecn_for_segment_in_line_answer_is_the_general_one() {
        // Connections made twice the same way (each a fresh, identical copy): one
        // asks `ecn_for_segment`, whose in-line answer covers a connection
        // without ECN past its handshake, the other its general path.
        let makers: [fn() -> Connection; 6] = [
            || pair(EcnMode::Passive, EcnMode::Passive).0,
            || pair(EcnMode::Passive, EcnMode::Passive).1,
            || pair(EcnMode::On, EcnMode::Passive).0,
            || pair(EcnMode::On, EcnMode::Passive).1,
            ecn_client,
            || {
                let cc = config(EcnMode::On);
                Connection::connect(t(0), cc.clone(), params(A, B, 1000, &cc))
            },
        ];
        let flag_sets = [
            TcpFlags::ACK,
            TcpFlags::ACK | TcpFlags::PSH,
            TcpFlags::ACK | TcpFlags::FIN,
            TcpFlags::SYN,
            TcpFlags::SYN | TcpFlags::ACK,
            TcpFlags::RST,
            TcpFlags::RST | TcpFlags::ACK,
        ];
        for (i, make) in makers.iter().enumerate() {
            for flags in flag_sets {
                for (payload_len, retransmit) in [(0, false), (100, false), (100, true)] {
                    let (mut fast, mut general) = (make(), make());
                    let a = fast.ecn_for_segment(flags, payload_len, retransmit);
                    let b = general.ecn_for_segment_general(flags, payload_len, retransmit);
                    let case = format!("connection {i}, {flags:?}, {payload_len} B, {retransmit}");
                    assert_eq!(a, b, "{case}");
                    assert_eq!(fast.tx_ecn(), general.tx_ecn(), "{case}");
                    assert_eq!(format!("{fast:?}"), format!("{general:?}"), "{case}");
                }
            }
        }
    }

    #[test]
    fn ecn_for_syn_is_the_general_answer_for_a_syn_or_syn_ack() {
        // The handshake writer's shortcut against the general rules, from the
        // same fresh connections: both ends of a handshake in each ECN mode
        // (the SYN-ACK side once the SYN was seen), a connection past it.
        let modes = [EcnMode::Off, EcnMode::Passive, EcnMode::On, EcnMode::AccEcn];
        let mut makers: Vec<Box<dyn Fn() -> Connection>> = Vec::new();
        for a in modes {
            for b in modes {
                makers.push(Box::new(move || pair(a, b).0));
                makers.push(Box::new(move || pair(a, b).1));
            }
            makers.push(Box::new(move || {
                let cc = config(a);
                Connection::connect(t(0), cc.clone(), params(A, B, 1000, &cc))
            }));
        }
        makers.push(Box::new(ecn_client));
        for (i, make) in makers.iter().enumerate() {
            for flags in [TcpFlags::SYN, TcpFlags::SYN | TcpFlags::ACK] {
                for retransmit in [false, true] {
                    let (mut fast, mut general) = (make(), make());
                    let a = fast.ecn_for_syn();
                    let b = general.ecn_for_segment_general(flags, 0, retransmit);
                    let case = format!("connection {i}, {flags:?}, {retransmit}");
                    assert_eq!(a, b, "{case}");
                    assert_eq!(fast.tx_ecn(), general.tx_ecn(), "{case}");
                    assert_eq!(format!("{fast:?}"), format!("{general:?}"), "{case}");
                }
            }
        }
    }

    #[test]
    fn ecn_setup_syn_and_syn_ack_negotiate_ecn() {
        let (c, s, syn, synack) = pair(EcnMode::On, EcnMode::Passive);
        assert_eq!(syn, TcpFlags::SYN | TcpFlags::ECE | TcpFlags::CWR);
        assert_eq!(synack, TcpFlags::SYN | TcpFlags::ACK | TcpFlags::ECE);
        assert!(c.ecn_enabled() && s.ecn_enabled());
        assert!(c.info(t(3)).ecn);
        assert!(c.info(t(3)).to_string().contains("ecn "));
    }

    #[test]
    fn passive_default_neither_asks_nor_negotiates() {
        let (c, s, syn, synack) = pair(EcnMode::Passive, EcnMode::Passive);
        assert_eq!(syn, TcpFlags::SYN);
        assert_eq!(synack, TcpFlags::SYN | TcpFlags::ACK);
        assert!(!c.ecn_enabled() && !s.ecn_enabled());
        assert_eq!(TcpConfig::default().ecn, EcnMode::Passive);
    }

    #[test]
    fn server_with_ecn_off_refuses_and_data_stays_not_ect() {
        let (mut c, s, _, synack) = pair(EcnMode::On, EcnMode::Off);
        assert_eq!(synack, TcpFlags::SYN | TcpFlags::ACK);
        assert!(!c.ecn_enabled() && !s.ecn_enabled());
        c.send(&[7; 3000]).unwrap();
        let data = poll_all(&mut c, t(4));
        assert!(!data.is_empty());
        assert!(data.iter().all(|d| d.ecn == Ecn::NotEct));
    }

    #[test]
    fn syn_ack_reflecting_ece_and_cwr_is_not_ecn_setup() {
        let cc = config(EcnMode::On);
        let mut c = Connection::connect(t(0), cc.clone(), params(A, B, 1000, &cc));
        poll(&mut c, t(0)).unwrap();
        let flags = TcpFlags::SYN | TcpFlags::ACK | TcpFlags::ECE | TcpFlags::CWR;
        c.handle_segment(t(1), &from_b(5000, 1001, flags, &[]));
        assert_eq!(c.state(), State::Established);
        assert!(!c.ecn_enabled());
    }

    #[test]
    fn ect0_only_on_new_data_never_on_acks_or_retransmissions() {
        let mut c = ecn_client();
        c.send(&[1; 2000]).unwrap();
        let data = poll_all(&mut c, t(110));
        assert_eq!(data.len(), 2);
        assert!(data.iter().all(|d| d.ecn == Ecn::Ect0));
        // The peer's data draws a pure ACK: Not-ECT.
        c.handle_segment(t(120), &from_b(5001, 1001, TcpFlags::ACK, b"hi"));
        let acks = poll_all(&mut c, t(120));
        assert!(!acks.is_empty());
        assert!(acks
            .iter()
            .all(|a| a.ecn == Ecn::NotEct && a.repr().payload.is_empty()));
        // A retransmission after a timeout: Not-ECT.
        let rto = c.poll_timeout().unwrap();
        c.handle_timeout(rto);
        let again = poll(&mut c, rto).expect("retransmission");
        assert_eq!(again.repr().seq_number, SeqNumber(1001));
        assert_eq!(again.ecn, Ecn::NotEct);
        assert!(!again.repr().flags.contains(TcpFlags::CWR));
    }

    #[test]
    fn ce_is_echoed_on_every_ack_until_cwr_arrives() {
        let (_c, mut s, _, _) = pair(EcnMode::On, EcnMode::Passive);
        // The server receives data from the client (ISS 1000) with CE.
        let data = |seq: u32, flags: TcpFlags| TcpRepr {
            src_port: 40000,
            dst_port: 80,
            seq_number: SeqNumber(seq),
            ack_number: SeqNumber(5001),
            flags: TcpFlags::ACK | flags,
            window_len: 65535,
            urgent_pointer: 0,
            options: TcpOptions::default(),
            payload: &[0; 100],
        };
        poll_all(&mut s, t(10));
        // Past the quick-ACK start, where every segment is acknowledged at once.
        s.quickacks = 0;
        s.handle_segment_ecn(t(10), &data(1001, TcpFlags::empty()), Ecn::Ect0);
        assert!(
            poll_all(&mut s, t(10)).is_empty(),
            "an ECT(0) segment is delayed-ACKed"
        );
        s.handle_segment_ecn(t(11), &data(1101, TcpFlags::empty()), Ecn::Ce);
        let acks = poll_all(&mut s, t(11));
        assert_eq!(acks.len(), 1, "CE is acknowledged at once");
        assert!(acks[0].repr().flags.contains(TcpFlags::ECE));
        assert_eq!(s.ecn_counters().ce_received, 1);
        // Later segments without CE: the echo goes on.
        for (i, seq) in [1201u32, 1301, 1401, 1501].into_iter().enumerate() {
            s.handle_segment_ecn(t(12 + i as u64), &data(seq, TcpFlags::empty()), Ecn::Ect0);
        }
        let acks = poll_all(&mut s, t(20));
        assert!(!acks.is_empty());
        assert!(acks.iter().all(|a| a.repr().flags.contains(TcpFlags::ECE)));
        // A CWR ends it.
        s.handle_segment_ecn(t(21), &data(1601, TcpFlags::CWR), Ecn::Ect0);
        s.handle_segment_ecn(t(21), &data(1701, TcpFlags::empty()), Ecn::Ect0);
        let acks = poll_all(&mut s, t(21));
        assert!(!acks.is_empty());
        assert!(acks.iter().all(|a| !a.repr().flags.contains(TcpFlags::ECE)));
    }

    #[test]
    fn ce_on_a_connection_without_ecn_is_ignored() {
        let (_c, mut s, _, _) = pair(EcnMode::Passive, EcnMode::Passive);
        let seg = TcpRepr {
            src_port: 40000,
            dst_port: 80,
            seq_number: SeqNumber(1001),
            ack_number: SeqNumber(5001),
            flags: TcpFlags::ACK,
            window_len: 65535,
            urgent_pointer: 0,
            options: TcpOptions::default(),
            payload: &[0; 100],
        };
        s.handle_segment_ecn(t(10), &seg, Ecn::Ce);
        let acks = poll_all(&mut s, t(10));
        assert!(acks.iter().all(|a| !a.repr().flags.contains(TcpFlags::ECE)));
        assert_eq!(s.ecn_counters().ce_received, 0);
    }

    #[test]
    fn several_eces_reduce_the_window_once_per_window_of_data() {
        let mut c = ecn_client();
        c.send(&[1; 20_000]).unwrap();
        let first = poll_all(&mut c, t(110));
        assert_eq!(first.len(), 10, "the initial window");
        let cwnd0 = c.cwnd();
        // Each of the window's segments comes back acknowledged with ECE.
        let ece = TcpFlags::ACK | TcpFlags::ECE;
        c.handle_segment(t(200), &from_b(5001, 2001, ece, &[]));
        assert_eq!(c.ecn_counters().reactions, 1);
        let reduced = c.cwnd();
        assert!(reduced < cwnd0, "{reduced} < {cwnd0}");
        let mut sent = poll_all(&mut c, t(200));
        for i in 2..=10u32 {
            c.handle_segment(
                t(200 + u64::from(i)),
                &from_b(5001, 1001 + i * 1000, ece, &[]),
            );
            sent.extend(poll_all(&mut c, t(200 + u64::from(i))));
        }
        let cwr: Vec<bool> = sent
            .iter()
            .filter(|s| !s.repr().payload.is_empty())
            .map(|s| s.repr().flags.contains(TcpFlags::CWR))
            .collect();
        assert!(cwr.len() > 1);
        assert!(
            cwr[0] && cwr[1..].iter().all(|c| !c),
            "CWR on the first new segment only"
        );
        assert_eq!(c.ecn_counters().ece_received, 10);
        assert_eq!(c.ecn_counters().reactions, 1, "one reaction for one window");
        assert_eq!(c.ecn_counters().cwr_sent, 1);
        // An ECE acknowledging data sent after the reduction is a new event.
        let una = c.snd_max;
        c.handle_segment(t(300), &from_b(5001, una.0, ece, &[]));
        assert_eq!(c.ecn_counters().reactions, 2);
    }
}
