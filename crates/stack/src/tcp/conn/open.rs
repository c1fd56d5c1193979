//! Opening a connection: the active open (SYN-SENT), the passive open from a SYN
//! (SYN-RECEIVED), option negotiation and the effective MSS.

use core::net::SocketAddr;
use std::sync::Arc;

use super::{AckDue, ConnEvents, Connection, SocketOptions, Timestamps};
use crate::cc::CcAlgorithm;
use crate::tcp::assembler::Assembler;
use crate::tcp::config::TcpConfig;
use crate::tcp::info::ConnCounters;
use crate::tcp::recv_buffer::RecvBuffer;
use crate::tcp::rtt::RttEstimator;
use crate::tcp::send_buffer::SendBuffer;
use crate::tcp::state::State;
use crate::tcp::timer::{Timer, TimerTable};
use crate::time::Instant;
use crate::wire::{Ecn, SeqNumber, TcpOptions, TcpRepr};

/// The TCP header without options.
pub(crate) const TCP_HEADER_LEN: u16 = 20;
/// The timestamp option with its two NOPs, as every segment carries it.
pub(crate) const TS_OPTION_LEN: u16 = 12;
/// Segments acknowledged at once at the start of a connection (Linux's
/// `TCP_MAX_QUICKACKS`).
const QUICKACKS: u16 = 16;
/// The largest window shift (RFC 7323 section 2.3).
pub(crate) const MAX_WSCALE: u8 = 14;

/// What the stack decides for a new connection.
#[derive(Debug, Clone, Copy)]
pub struct OpenParams {
    /// The local address and port.
    pub local: SocketAddr,
    /// The remote address and port.
    pub remote: SocketAddr,
    /// The initial sequence number (RFC 6528).
    pub iss: SeqNumber,
    /// The random offset of the timestamp clock.
    pub ts_offset: u32,
    /// The path MTU toward the remote address.
    pub path_mtu: u16,
    /// The socket options.
    pub options: SocketOptions,
    /// The congestion controller.
    pub cc: CcAlgorithm,
}

/// How a connection opens: actively (SYN-SENT, our SYN first) or from a
/// listener that received the peer's SYN (SYN-RECEIVED, our SYN-ACK first).
#[derive(Debug, Clone, Copy)]
pub(crate) enum Opening<'a> {
    /// `connect`.
    Active,
    /// A listener took this SYN.
    Passive(&'a SynInfo),
}

impl Opening<'_> {
    fn state(self) -> State {
        match self {
            Opening::Active => State::SynSent,
            Opening::Passive(_) => State::SynReceived,
        }
    }
}

/// What a SYN announced, kept from the segment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SynInfo {
    /// The SYN's sequence number (the peer's ISS).
    pub seq: SeqNumber,
    /// The SYN's (unscaled) window.
    pub window: u16,
    /// The MSS option.
    pub mss: Option<u16>,
    /// The window-scale option.
    pub window_scale: Option<u8>,
    /// SACK permitted.
    pub sack_permitted: bool,
    /// The timestamp value, when the option was present.
    pub tsval: Option<u32>,
    /// An ECN-setup SYN: ECE and CWR both set (RFC 3168 section 6.1.1).
    pub ecn_setup: bool,
    /// A SYN asking for Accurate ECN (RFC 9768 section 3.1.1): AE, CWR and ECE
    /// set, or any combination a server must take as such.
    pub accecn_setup: bool,
    /// The IP-ECN field the SYN arrived with, which an AccECN SYN-ACK feeds back
    /// (RFC 9768 section 3.1.2). [`from_repr`](Self::from_repr) cannot see the IP
    /// header and leaves it Not-ECT; the stack fills it in.
    pub ip_ecn: Ecn,
}

impl SynInfo {
    /// Reads what a SYN announced.
    // Out of line: the listener's SYN and the connector's SYN-ACK each read one
    // per connection, and one copy serves both.
    #[inline(never)]
    pub fn from_repr(repr: &TcpRepr<'_>) -> SynInfo {
        SynInfo {
            seq: repr.seq_number,
            window: repr.window_len,
            mss: repr.options.mss,
            window_scale: repr.options.window_scale,
            sack_permitted: repr.options.sack_permitted,
            tsval: repr.options.timestamp.map(|t| t.tsval),
            ecn_setup: super::ecn::is_ecn_setup_syn(repr.flags),
            accecn_setup: super::accecn::is_accecn_setup_syn(repr.flags),
            ip_ecn: Ecn::NotEct,
        }
    }
}

/// The MSS to assume when the peer sent none.
//= https://www.rfc-editor.org/rfc/rfc9293#section-3.7.1
//# If an MSS Option is not received at connection setup, TCP
//# implementations MUST assume a default send MSS of 536 (576 - 40) for
//# IPv4 or 1220 (1280 - 60) for IPv6 (MUST-15).
fn default_peer_mss(remote: SocketAddr) -> u16 {
    match remote {
        SocketAddr::V4(_) => 536,
        SocketAddr::V6(_) => 1220,
    }
}

fn ip_header_len(remote: SocketAddr) -> u16 {
    match remote {
        SocketAddr::V4(_) => 20,
        SocketAddr::V6(_) => 40,
    }
}

/// The window shift that lets `buffer` bytes be advertised.
fn wscale_for(buffer: usize) -> u8 {
    // The smallest shift with 65535 << shift >= buffer: 2^shift must reach
    // ceil(buffer / 65535), which takes the bit length of that minus one.
    let units = buffer.div_ceil(65535);
    let shift = usize::BITS - units.saturating_sub(1).leading_zeros();
    shift.min(u32::from(MAX_WSCALE)) as u8
}

impl Connection {
    /// The values of a new connection's fields that its parameters and the
    /// configuration decide: (IP header length, MSS from the path MTU, our MSS,
    /// the peer's default MSS, our window shift).
    fn derived(config: &TcpConfig, p: &OpenParams) -> (u16, u16, u16, u16, u8) {
        let ip_header_len = ip_header_len(p.remote);
        let mtu_mss = p
            .path_mtu
            .saturating_sub(ip_header_len + TCP_HEADER_LEN)
            .max(1);
        //= https://www.rfc-editor.org/rfc/rfc9293#section-3.7.1
        //# TCP implementations SHOULD send an MSS Option in every SYN segment
        //# when its receive MSS differs from the default 536 for IPv4 or 1220
        //# for IPv6 (SHLD-5), and MAY send it always (MAY-3).
        let our_mss = config.mss_clamp.map_or(mtu_mss, |c| c.min(mtu_mss)).max(1);
        let peer_mss = default_peer_mss(p.remote);
        let rcv_wscale = if config.window_scaling {
            wscale_for(config.recv_buffer)
        } else {
            0
        };
        (ip_header_len, mtu_mss, our_mss, peer_mss, rcv_wscale)
    }

    /// A new connection in `state`, before the open's own steps
    /// ([`on_open`](Self::on_open)). [`reset`](Self::reset) writes the same
    /// values in place.
    fn blank(now: Instant, config: Arc<TcpConfig>, p: &OpenParams, state: State) -> Connection {
        let (ip_header_len, mtu_mss, our_mss, peer_mss, rcv_wscale) =
            Connection::derived(&config, p);
        Connection {
            state,
            local: p.local,
            remote: p.remote,
            options: p.options,
            iss: p.iss,
            snd_una: p.iss,
            snd_nxt: p.iss,
            snd_max: p.iss,
            snd_wnd: 0,
            max_snd_wnd: 0,
            snd_wl1: SeqNumber(0),
            snd_wl2: p.iss,
            snd_wscale: 0,
            send_buf: SendBuffer::new(config.send_buffer),
            fin_queued: false,
            fin_acked: false,
            snd_up: None,
            peer_mss,
            our_mss,
            path_mtu: p.path_mtu,
            ip_header_len,
            mss: peer_mss.min(mtu_mss),
            irs: SeqNumber(0),
            rcv_nxt: SeqNumber(0),
            rcv_adv: SeqNumber(0),
            rcv_wscale,
            wscale_ok: false,
            last_ack_sent: SeqNumber(0),
            recv_buf: RecvBuffer::new(config.recv_buffer),
            assembler: Assembler::new(config.max_ooo_ranges),
            fin_seq: None,
            rcv_up: None,
            rcv_mss: 0,
            dsack: None,
            ts: None,
            sack_ok: false,
            ecn: Default::default(),
            ecn_more: None,
            rtt: RttEstimator::new(config.rtt),
            rtt_probe: None,
            cc_algorithm: p.cc,
            cc: None,
            cc_spare: Default::default(),
            dupacks: 0,
            rto_count: 0,
            retransmit_una: false,
            unacked_since: None,
            persist_probes: 0,
            persist_backoff: 0,
            keepalive_probes: 0,
            probe_due: false,
            last_recv: now,
            last_data_sent: now,
            ack_due: AckDue::No,
            segs_unacked: 0,
            quickacks: QUICKACKS,
            last_invalid_answer: None,
            timers: TimerTable::default(),
            rst_due: None,
            syn_due: true,
            events: ConnEvents::empty(),
            error: None,
            soft_error: None,
            orphaned: false,
            read_shutdown: false,
            passive: false,
            payload_prestored: false,
            peer_streaming: false,
            counters: ConnCounters::default(),
            config,
        }
    }

    /// [`blank`](Self::blank) in place: every field of this connection gets the
    /// value `blank` gives it, written where it is (a freed connection becomes a
    /// new one without building one beside it and moving it in). The pattern
    /// names every field, so a field added to [`Connection`] and not here does not
    /// compile; `a_reopened_connection_equals_a_fresh_one` (and the stack's
    /// `a_recycled_connection_is_indistinguishable_from_a_fresh_one`) check the
    /// values.
    fn reset(&mut self, now: Instant, config: &Arc<TcpConfig>, p: &OpenParams, state: State) {
        let (ip_header_len, mtu_mss, our_mss, peer_mss, rcv_wscale) =
            Connection::derived(config, p);
        // The same configuration as before (a stack reuses its slots under its
        // one configuration): the estimator keeps its parameters, already in
        // nanoseconds, and restarts.
        let same_config = Arc::ptr_eq(&self.config, config);
        let Connection {
            state: f_state,
            local: f_local,
            remote: f_remote,
            options: f_options,
            iss: f_iss,
            snd_una: f_snd_una,
            snd_nxt: f_snd_nxt,
            snd_max: f_snd_max,
            snd_wnd: f_snd_wnd,
            max_snd_wnd: f_max_snd_wnd,
            snd_wl1: f_snd_wl1,
            snd_wl2: f_snd_wl2,
            snd_wscale: f_snd_wscale,
            send_buf: f_send_buf,
            fin_queued: f_fin_queued,
            fin_acked: f_fin_acked,
            snd_up: f_snd_up,
            peer_mss: f_peer_mss,
            our_mss: f_our_mss,
            path_mtu: f_path_mtu,
            ip_header_len: f_ip_header_len,
            mss: f_mss,
            irs: f_irs,
            rcv_nxt: f_rcv_nxt,
            rcv_adv: f_rcv_adv,
            rcv_wscale: f_rcv_wscale,
            wscale_ok: f_wscale_ok,
            last_ack_sent: f_last_ack_sent,
            recv_buf: f_recv_buf,
            assembler: f_assembler,
            fin_seq: f_fin_seq,
            rcv_up: f_rcv_up,
            rcv_mss: f_rcv_mss,
            dsack: f_dsack,
            ts: f_ts,
            sack_ok: f_sack_ok,
            ecn: f_ecn,
            ecn_more: f_ecn_more,
            rtt: f_rtt,
            rtt_probe: f_rtt_probe,
            cc_algorithm: f_cc_algorithm,
            cc: f_cc,
            cc_spare: f_cc_spare,
            dupacks: f_dupacks,
            rto_count: f_rto_count,
            retransmit_una: f_retransmit_una,
            unacked_since: f_unacked_since,
            persist_probes: f_persist_probes,
            persist_backoff: f_persist_backoff,
            keepalive_probes: f_keepalive_probes,
            probe_due: f_probe_due,
            last_recv: f_last_recv,
            last_data_sent: f_last_data_sent,
            ack_due: f_ack_due,
            segs_unacked: f_segs_unacked,
            quickacks: f_quickacks,
            last_invalid_answer: f_last_invalid_answer,
            timers: f_timers,
            rst_due: f_rst_due,
            syn_due: f_syn_due,
            events: f_events,
            error: f_error,
            soft_error: f_soft_error,
            orphaned: f_orphaned,
            read_shutdown: f_read_shutdown,
            passive: f_passive,
            payload_prestored: f_payload_prestored,
            peer_streaming: f_peer_streaming,
            counters: f_counters,
            config: f_config,
        } = self;
        *f_state = state;
        *f_local = p.local;
        *f_remote = p.remote;
        *f_options = p.options;
        *f_iss = p.iss;
        *f_snd_una = p.iss;
        *f_snd_nxt = p.iss;
        *f_snd_max = p.iss;
        *f_snd_wnd = 0;
        *f_max_snd_wnd = 0;
        *f_snd_wl1 = SeqNumber(0);
        *f_snd_wl2 = p.iss;
        *f_snd_wscale = 0;
        f_send_buf.renew(config.send_buffer);
        *f_fin_queued = false;
        *f_fin_acked = false;
        *f_snd_up = None;
        *f_peer_mss = peer_mss;
        *f_our_mss = our_mss;
        *f_path_mtu = p.path_mtu;
        *f_ip_header_len = ip_header_len;
        *f_mss = peer_mss.min(mtu_mss);
        *f_irs = SeqNumber(0);
        *f_rcv_nxt = SeqNumber(0);
        *f_rcv_adv = SeqNumber(0);
        *f_rcv_wscale = rcv_wscale;
        *f_wscale_ok = false;
        *f_last_ack_sent = SeqNumber(0);
        f_recv_buf.renew(config.recv_buffer);
        f_assembler.renew(config.max_ooo_ranges);
        *f_fin_seq = None;
        *f_rcv_up = None;
        *f_rcv_mss = 0;
        *f_dsack = None;
        *f_ts = None;
        *f_sack_ok = false;
        *f_ecn = Default::default();
        *f_ecn_more = None;
        if same_config {
            f_rtt.restart();
        } else {
            // A stack reopens its slots under its one configuration.
            crate::hint::cold_path();
            *f_rtt = RttEstimator::new(config.rtt);
        }
        *f_rtt_probe = None;
        // A state still held (a slot reopened without `shed`) is kept for
        // `make_ccs` to renew, as `shed` keeps it.
        f_cc_spare.keep(f_cc.take(), *f_cc_algorithm);
        *f_cc_algorithm = p.cc;
        *f_dupacks = 0;
        *f_rto_count = 0;
        *f_retransmit_una = false;
        *f_unacked_since = None;
        *f_persist_probes = 0;
        *f_persist_backoff = 0;
        *f_keepalive_probes = 0;
        *f_probe_due = false;
        *f_last_recv = now;
        *f_last_data_sent = now;
        *f_ack_due = AckDue::No;
        *f_segs_unacked = 0;
        *f_quickacks = QUICKACKS;
        *f_last_invalid_answer = None;
        *f_timers = TimerTable::default();
        *f_rst_due = None;
        *f_syn_due = true;
        *f_events = ConnEvents::empty();
        *f_error = None;
        *f_soft_error = None;
        *f_orphaned = false;
        *f_read_shutdown = false;
        *f_passive = false;
        *f_payload_prestored = false;
        *f_peer_streaming = false;
        *f_counters = ConnCounters::default();
        // The same configuration (a stack reuses its slots under its one
        // configuration): kept as it is, without an atomic increment here and a
        // decrement for the one it would replace.
        if !same_config {
            crate::hint::cold_path();
            *f_config = Arc::clone(config);
        }
    }

    /// A connection opened as `opening` says: the connection's whole state, as
    /// [`connect`](Self::connect) or [`accept`](Self::accept) makes it.
    pub(crate) fn open(
        now: Instant,
        config: Arc<TcpConfig>,
        params: OpenParams,
        opening: Opening<'_>,
    ) -> Connection {
        let mut conn = Connection::blank(now, config, &params, opening.state());
        conn.on_open(now, &params, opening);
        conn
    }

    /// Makes this connection (a freed one, kept for reuse) the connection
    /// [`open`](Self::open) would make with the same arguments, in place: a slot
    /// from the stack's spare list is filled without moving a fresh connection
    /// into it through the stack and a new allocation. Everything the old
    /// connection held is dropped; nothing of it survives.
    pub(crate) fn reopen(
        &mut self,
        now: Instant,
        config: &Arc<TcpConfig>,
        params: &OpenParams,
        opening: Opening<'_>,
    ) {
        self.reset(now, config, params, opening.state());
        self.on_open(now, params, opening);
    }

    /// What an open sets past [`blank`](Self::blank): the congestion controller
    /// when it is an own one, the timestamp clock, the peer's SYN (passive open)
    /// and the SYN's retransmission timer.
    fn on_open(&mut self, now: Instant, params: &OpenParams, opening: Opening<'_>) {
        self.init_custom_cc();
        self.passive = matches!(opening, Opening::Passive(_));
        // Our timestamp clock's offset (RFC 7323 section 7.1), which `on_peer_syn`
        // keeps when it takes the peer's TSval.
        self.ts = self.config.timestamps.then_some(Timestamps {
            recent: 0,
            recent_at: now,
            offset: params.ts_offset,
        });
        if let Opening::Passive(syn) = opening {
            self.on_peer_syn(now, syn);
        }
        self.timers.set(Timer::Retransmit, now + self.rtt.rto());
    }

    /// Lets go of everything the connection holds beyond its own fields (ECN's
    /// extra counters, buffer storage, out-of-order blocks), for a freed
    /// connection kept for reuse. The stack takes the congestion state into its
    /// pool (`CcPool::collect`) before it sheds a slot, so a spare slot holds its
    /// own bytes alone; the state kept here (`SpareCc::keep`, for the next
    /// connection to renew in [`make_ccs`](Self::make_ccs)) serves a connection
    /// shed without a stack. [`reopen`](Self::reopen) rebuilds all of it.
    pub(crate) fn shed(&mut self) {
        self.cc_spare.keep(self.cc.take(), self.cc_algorithm);
        self.ecn_more = None;
        // Storage the buffers still hold is let go of. A connection that ended
        // as most do holds none (its rings went to the stack's ring pool when
        // it entered TIME-WAIT or CLOSED, and it never kept out-of-order
        // ranges): its buffers are left as they are, for `reopen` to rebuild.
        if self.send_buf.allocated() != 0
            || self.recv_buf.allocated() != 0
            || self.assembler.holds_storage()
        {
            crate::hint::cold_path();
            self.send_buf = SendBuffer::new(0);
            self.recv_buf = RecvBuffer::new(0);
            self.assembler = Assembler::new(0);
        }
    }

    /// Heap bytes a shed connection still holds: its kept congestion state.
    pub(crate) fn shed_bytes(&self) -> usize {
        self.cc_spare.bytes()
    }

    /// An active open: the connection starts in SYN-SENT and its first segment is the
    /// SYN.
    pub fn connect(now: Instant, config: Arc<TcpConfig>, params: OpenParams) -> Connection {
        Connection::open(now, config, params, Opening::Active)
    }

    /// A passive open: a listener received `syn`; the connection starts in
    /// SYN-RECEIVED and its first segment is the SYN-ACK.
    pub fn accept(
        now: Instant,
        config: Arc<TcpConfig>,
        params: OpenParams,
        syn: &SynInfo,
    ) -> Connection {
        Connection::open(now, config, params, Opening::Passive(syn))
    }

    /// A passive open rebuilt from a valid SYN-cookie ACK (RFC 4987 section 3.6):
    /// as [`accept`](Self::accept) with `syn` rebuilt from the cookie, and as if
    /// the SYN-ACK with ISN `params.iss` had been sent once. Hand it the ACK next.
    pub fn accept_cookie(
        now: Instant,
        config: Arc<TcpConfig>,
        params: OpenParams,
        syn: &SynInfo,
    ) -> Connection {
        let mut conn = Connection::accept(now, config, params, syn);
        conn.syn_due = false;
        let end = conn.iss + 1u32;
        conn.snd_nxt = end;
        conn.snd_max = end;
        let _ = conn.syn_ecn_flags();
        let (_, edge) = conn.window_to_advertise(true);
        conn.rcv_adv = edge;
        conn.last_ack_sent = conn.rcv_nxt;
        conn.unacked_since = Some(now);
        conn
    }

    /// Takes what the peer's SYN (or SYN-ACK) announced: its ISS, MSS, window and the
    /// options both sides agree on.
    pub(super) fn on_peer_syn(&mut self, now: Instant, syn: &SynInfo) {
        self.irs = syn.seq;
        self.rcv_nxt = syn.seq + 1u32;
        self.last_ack_sent = self.rcv_nxt;
        // The right edge we promised: what our SYN's window offered from RCV.NXT. Left
        // at its initial placeholder, it would be compared in sequence space with the
        // edges of our ACKs and, for half the peer ISNs, never be passed: the window
        // would read as up to 2^31 bytes, advertised and accepted far past the buffer.
        self.rcv_adv = self.rcv_nxt;
        let (_, edge) = self.window_to_advertise(true);
        self.rcv_adv = edge;
        //= https://www.rfc-editor.org/rfc/rfc7323#section-2.2
        //# This option is an offer, not a promise; both sides MUST send
        //# Window Scale options in their <SYN> segments to enable window
        //# scaling in either direction.
        self.wscale_ok = self.config.window_scaling && syn.window_scale.is_some();
        match syn.window_scale {
            Some(shift) if self.config.window_scaling => {
                //= https://www.rfc-editor.org/rfc/rfc7323#section-2.3
                //# If a Window Scale option is received with a shift.cnt
                //# value larger than 14, the TCP SHOULD log the error but MUST
                //# use 14 instead of the specified value.
                self.snd_wscale = shift.min(MAX_WSCALE);
            }
            _ => {
                self.snd_wscale = 0;
                self.rcv_wscale = 0;
            }
        }
        self.sack_ok = self.config.sack && syn.sack_permitted;
        self.on_peer_syn_ecn(syn);
        self.ts = match (self.config.timestamps, syn.tsval) {
            (true, Some(tsval)) => Some(Timestamps {
                recent: tsval,
                recent_at: now,
                offset: self.ts.map_or(0, |t| t.offset),
            }),
            _ => None,
        };
        if let Some(mss) = syn.mss {
            //= https://www.rfc-editor.org/rfc/rfc9293#section-3.7.1
            //# the TCP implementation
            //# MUST set SendMSS to the smaller of the MSS Option value and the
            //# value computed from the network layer.
            // An MSS of zero would stall the connection; Linux treats values below
            // its floor the same way.
            self.peer_mss = mss.max(TCP_MIN_MSS);
        }
        //= https://www.rfc-editor.org/rfc/rfc9293#section-3.10.7.3
        //# SND.WND <- SEG.WND
        //# SND.WL1 <- SEG.SEQ
        //# SND.WL2 <- SEG.ACK
        // The window of a SYN is never scaled.
        self.snd_wnd = u32::from(syn.window);
        self.max_snd_wnd = self.snd_wnd;
        self.snd_wl1 = syn.seq;
        self.update_mss();
    }

    /// Recomputes the effective send MSS from the peer's MSS, the path MTU and the
    /// options every segment carries.
    //= https://www.rfc-editor.org/rfc/rfc9293#section-3.7.1
    //# Eff.snd.MSS = min(SendMSS+20, MMS_S) - TCPhdrsize - IPoptionsize
    ///
    /// Sized by the path MTU alone: called as the handshake ends, before a
    /// timeout could have lowered the connection's packets (`plpmtud`); later
    /// changes go through [`update_mss_within`](Self::update_mss_within).
    pub(super) fn update_mss(&mut self) {
        self.update_mss_within(self.path_mtu);
    }

    /// [`update_mss`](Self::update_mss) with packets of at most `mtu` bytes (the
    /// path MTU, or less once black-hole detection lowered it).
    pub(super) fn update_mss_within(&mut self, mtu: u16) {
        let mms_s = mtu.saturating_sub(self.ip_header_len);
        let with_header = (self.peer_mss.saturating_add(TCP_HEADER_LEN)).min(mms_s);
        let options = if self.ts.is_some() { TS_OPTION_LEN } else { 0 };
        let mss = with_header
            .saturating_sub(TCP_HEADER_LEN + options)
            .max(TCP_MIN_MSS);
        if mss != self.mss {
            let old = self.mss;
            self.mss = mss;
            self.on_mss_cc(old, mss);
        }
    }

    /// The path MTU toward the peer fell (ICMP fragmentation needed / packet too
    /// big): segments shrink, and what is in flight beyond the new size is resent.
    //= https://www.rfc-editor.org/rfc/rfc1191#section-6.1
    //# When a Datagram Too Big message is received, it SHOULD be
    //# used to reduce the PMTU estimate
    pub fn on_path_mtu(&mut self, mtu: u16) -> bool {
        if mtu >= self.path_mtu {
            return false;
        }
        self.path_mtu = mtu;
        self.on_path_mtu_search(mtu);
        let before = self.mss;
        self.update_mss_within(self.packet_limit());
        if self.mss < before && self.outstanding() > 0 {
            // The segments in flight were too big and have been dropped: resend them
            // now at the new size, without a congestion response (the loss was not
            // congestion; Linux's tcp_simple_retransmit).
            self.snd_nxt = self.snd_una;
            self.rtt_probe = None;
            // Behind a zero window the resend waits for no window: the first
            // segment goes now at the new size, as the retransmission timer's
            // would (a window probe; Linux's `__tcp_retransmit_skb` lets the
            // head through a zero window). Else only that timer resends it,
            // and with a path MTU estimate that expires sooner than the
            // backed-off timeout, each resend went at the raised size, was
            // dropped again, and the connection timed out.
            if self.snd_wnd == 0 {
                self.retransmit_una = true;
            }
        }
        true
    }

    /// The path MTU toward the peer went back up (the lowered estimate expired,
    /// RFC 1191 section 6.3): full-sized segments grow again, never past what the
    /// peer's MSS option allows (`update_mss`). What is in flight stays as it was
    /// sent: the send records and the scoreboard are byte ranges, so a
    /// retransmission may cover several smaller segments sent before. Returns
    /// whether it rose.
    pub fn raise_path_mtu(&mut self, mtu: u16) -> bool {
        if mtu <= self.path_mtu {
            return false;
        }
        self.path_mtu = mtu;
        // Never past what black-hole detection found (`plpmtud`): a raise of
        // the path MTU says the ICMP-reported bottleneck is gone, not that the
        // path stopped losing large packets silently.
        self.update_mss_within(self.packet_limit());
        true
    }

    /// The options of our SYN or SYN-ACK.
    pub(super) fn syn_options(&self, now: Instant) -> TcpOptions {
        let mut options = TcpOptions {
            mss: Some(self.our_mss),
            ..TcpOptions::default()
        };
        // A SYN-ACK offers only what the peer's SYN offered.
        let answering = self.state == State::SynReceived;
        if self.config.window_scaling && (!answering || self.wscale_ok) {
            options.window_scale = Some(self.rcv_wscale);
        }
        if self.config.sack && (!answering || self.sack_ok) {
            options.sack_permitted = true;
        }
        if let Some(ts) = self.ts {
            options.timestamp = Some(crate::wire::TcpTimestamp {
                tsval: self.ts_now(now),
                tsecr: if self.state == State::SynSent {
                    0
                } else {
                    ts.recent
                },
            });
        }
        options
    }
}

/// The smallest effective MSS we use, whatever the peer says: Linux's
/// `tcp_min_snd_mss` default, introduced against peers that announce a tiny MSS to
/// make a sender cut its data into a flood of segments (CVE-2019-11478).
pub(crate) const TCP_MIN_MSS: u16 = 48;

#[cfg(test)]
mod tests {
    use super::*;
    use core::net::{IpAddr, Ipv4Addr};
    use proptest::prelude::*;

    fn params(local: u8, remote: u8, iss: u32, config: &TcpConfig) -> OpenParams {
        let addr =
            |last: u8, port: u16| SocketAddr::new(IpAddr::V4(Ipv4Addr::new(10, 0, 0, last)), port);
        OpenParams {
            local: addr(local, 40_000 + u16::from(local)),
            remote: addr(remote, 80),
            iss: SeqNumber(iss),
            ts_offset: 1000 + iss,
            path_mtu: 1500,
            options: SocketOptions::from_config(config),
            cc: config.default_congestion_algorithm(),
        }
    }

    #[test]
    fn a_connection_reopened_under_another_configuration_takes_it() {
        let first = Arc::new(TcpConfig::default());
        let second = Arc::new(TcpConfig {
            timestamps: false,
            window_scaling: false,
            recv_buffer: 4096,
            // Other RTO parameters: the reopen's estimator takes them, not the
            // ones the slot's estimator holds.
            rtt: crate::tcp::rtt::RttConfig::RFC6298,
            ..TcpConfig::default()
        });
        let t0 = Instant::from_nanos(1_000_000_000);
        let mut used =
            Connection::open(t0, first.clone(), params(1, 2, 1, &first), Opening::Active);
        used.rtt.on_sample(crate::time::Duration::from_millis(30));
        used.abort();
        used.shed();
        used.reopen(t0, &second, &params(3, 4, 9, &second), Opening::Active);
        let fresh = Connection::open(
            t0,
            second.clone(),
            params(3, 4, 9, &second),
            Opening::Active,
        );
        assert!(Arc::ptr_eq(&used.config, &second));
        assert_eq!(format!("{used:?}"), format!("{fresh:?}"));
        // Reopened under the configuration it has: the same one is kept.
        used.abort();
        used.shed();
        used.reopen(t0, &second, &params(5, 6, 11, &second), Opening::Active);
        assert!(Arc::ptr_eq(&used.config, &second));
        assert_eq!(Arc::strong_count(&second), 3, "second, fresh and used");
    }

    #[test]
    fn shed_lets_go_of_buffer_storage_still_held() {
        let config = Arc::new(TcpConfig::default());
        let t0 = Instant::from_nanos(5_000_000_000);
        let mut c = Connection::open(
            t0,
            config.clone(),
            params(1, 2, 1, &config),
            Opening::Active,
        );
        let _ = c.send(b"queued, never sent");
        assert_ne!(c.send_buf.allocated(), 0, "the send ring holds storage");
        c.abort();
        c.shed();
        assert_eq!(c.send_buf.allocated(), 0);
        assert_eq!(c.recv_buf.allocated(), 0);
        assert!(!c.assembler.holds_storage());
        // Shed again with nothing held: nothing changes.
        let before = format!("{c:?}");
        c.shed();
        assert_eq!(format!("{c:?}"), before);
    }

    #[test]
    fn a_reopened_connection_equals_a_fresh_one() {
        let config = Arc::new(TcpConfig::default());
        let t0 = Instant::from_nanos(5_000_000_000);
        let syn = SynInfo {
            seq: SeqNumber(777),
            window: 65535,
            mss: Some(1400),
            window_scale: Some(7),
            sack_permitted: true,
            tsval: Some(42),
            ecn_setup: true,
            accecn_setup: false,
            ip_ecn: Ecn::NotEct,
        };
        let other = SynInfo {
            seq: SeqNumber(5),
            mss: None,
            window_scale: None,
            sack_permitted: false,
            tsval: None,
            ecn_setup: false,
            ..syn
        };
        for opening in [Opening::Active, Opening::Passive(&syn)] {
            // A used connection: the other kind of open, congestion state made,
            // data queued, shut down, aborted; then freed for reuse.
            let used_as = match opening {
                Opening::Active => Opening::Passive(&other),
                Opening::Passive(_) => Opening::Active,
            };
            let mut used = Connection::open(t0, config.clone(), params(1, 2, 1, &config), used_as);
            used.ccs();
            // An RTT sample and a backed-off timer, which the reopen's
            // estimator (restarted in place) must not keep.
            used.rtt.on_sample(crate::time::Duration::from_millis(30));
            used.rtt.on_timeout();
            let _ = used.send(b"some data");
            used.shutdown_write(t0);
            used.abort();
            used.shed();
            let t1 = t0 + crate::time::Duration::from_secs(3);
            used.reopen(t1, &config, &params(3, 4, 99, &config), opening);
            let fresh = Connection::open(t1, config.clone(), params(3, 4, 99, &config), opening);
            assert_eq!(format!("{used:?}"), format!("{fresh:?}"));
        }
    }

    /// The definition: the first shift whose scaled maximum window covers `buffer`.
    fn wscale_by_search(buffer: usize) -> u8 {
        let mut shift = 0u8;
        while shift < MAX_WSCALE && (65535usize << shift) < buffer {
            shift += 1;
        }
        shift
    }

    #[test]
    fn wscale_covers_the_buffer_at_every_boundary() {
        for shift in 0..=16u32 {
            let edge = 65535usize << shift;
            for buffer in [edge.saturating_sub(1), edge, edge + 1] {
                assert_eq!(wscale_for(buffer), wscale_by_search(buffer), "{buffer}");
            }
        }
        assert_eq!(wscale_for(0), 0);
        assert_eq!(wscale_for(usize::MAX), MAX_WSCALE);
    }

    proptest! {
        #[test]
        fn wscale_matches_the_search(buffer in any::<usize>()) {
            prop_assert_eq!(wscale_for(buffer), wscale_by_search(buffer));
        }
    }
}
