//! One TCP connection (the TCB of RFC 9293 section 3.3.1) as a sans-IO state machine.
//!
//! A [`Connection`] knows nothing of IP, demultiplexing or other sockets: the stack
//! hands it the segments addressed to it ([`Connection::handle_segment`]), its expired
//! timers ([`Connection::handle_timeout`]) and the application's calls (`send`,
//! `recv`, `shutdown`, `close`, `abort`), and asks it for segments to send
//! ([`Connection::poll_transmit`], which writes the TCP header and payload straight
//! into the caller's buffer). It reports what the application should hear through
//! [`Connection::take_events`].
//!
//! The processing is split by concern:
//! - [`open`]: the constructors for an active open (SYN-SENT) and a passive open
//!   (SYN-RECEIVED), option negotiation and the effective MSS;
//! - [`input`]: segment arrival: SYN-SENT, acceptability, PAWS, RST and SYN checks
//!   (RFC 5961), the dispatch to `ack` and `recv`;
//! - [`ack`]: the sender's side of an ACK: SND.UNA, the send window, RTT samples,
//!   duplicate ACKs, FIN acknowledgment;
//! - [`congestion`]: the congestion controller it drives, NewReno's recovery window
//!   and the delivery-rate records;
//! - [`ecn`]: Explicit Congestion Notification (RFC 3168): negotiation, the
//!   codepoint and ECE / CWR of each segment, the echo of CE and the reaction to it;
//! - [`accecn`]: Accurate ECN (RFC 9768): its negotiation, the CE packet counters
//!   and the ACE field of each ACK;
//! - [`recv`]: the receiver's side: data into the buffer (in order or out of order),
//!   FIN, urgent pointer, when to acknowledge;
//! - [`output`]: what to send next (RST, SYN, retransmission, new data under Nagle and
//!   SWS avoidance, FIN, window updates, ACKs) and its encoding;
//! - [`output_control`]: the SYN and SYN-ACK written at their fixed layout;
//! - [`timeout`]: retransmission, delayed ACK, persist, keep-alive, TIME-WAIT;
//! - [`plpmtud`]: PMTU black-hole detection (RFC 4821, RFC 2923 2.1): smaller
//!   packets after timeouts of full-sized ones;
//! - [`frto`]: F-RTO (RFC 5682): after a retransmission timeout, new data instead
//!   of go-back-N until the next ACKs tell a spurious timeout from a real one;
//! - [`user`]: the application's calls;
//! - [`report`]: [`TcpInfo`](crate::tcp::TcpInfo) and the counters;
//! - [`sack`]: SACK-based loss recovery (RFC 6675) with PRR (RFC 6937);
//! - [`rack`]: RACK-TLP loss detection (RFC 8985) feeding that recovery, tail loss
//!   probes, and the undo of spurious congestion responses (Eifel detection,
//!   RFC 3522; D-SACK, RFC 2883);
//! - [`pacing`]: data segments spread over the round trip at the pacing rate;
//! - [`invariants`]: consistency checks for fuzzing and property tests;
//! - [`predict`]: header prediction, the fast path for the next in-order data
//!   segment of a receiver with nothing in flight;
//! - [`prune`]: the out-of-order span the stack-wide bound counts, and dropping it.
//! - [`burst`]: the full segments that follow one another within a flight, sent
//!   without the whole `poll_transmit` question each (the stack guards it).

mod accecn;
mod ack;
mod burst;
mod congestion;
mod ecn;
mod frto;
mod icmp;
mod input;
mod invariants;
mod open;
mod output;
mod output_control;
mod pacing;
mod plpmtud;
mod predict;
mod prune;
mod rack;
mod recv;
mod report;
mod sack;
mod timeout;
mod undo;
mod user;

#[cfg(test)]
mod control_tests;
#[cfg(test)]
mod layout_tests;
#[cfg(test)]
mod plpmtud_tests;
#[cfg(test)]
mod tests;

#[cfg(test)]
pub(crate) use burst::FORCE_GENERAL_SEND;
pub(crate) use burst::MAX_BURST_HEADER;

use core::net::SocketAddr;
use std::sync::Arc;

use crate::cc::CcAlgorithm;
use crate::tcp::assembler::Assembler;
use crate::tcp::config::{EcnMode, KeepAlive, TcpConfig};
use crate::tcp::info::ConnCounters;
use crate::tcp::recv_buffer::RecvBuffer;
use crate::tcp::rtt::RttEstimator;
use crate::tcp::send_buffer::SendBuffer;
use crate::tcp::state::State;
use crate::tcp::timer::TimerTable;
use crate::time::{Duration, Instant};
use crate::wire::SeqNumber;

pub(crate) use congestion::CcPool;
pub use icmp::IcmpNotice;
pub(crate) use open::Opening;
pub use open::{OpenParams, SynInfo};
pub use user::UserError;

/// A ring this small is freed as soon as it empties (a request/response connection
/// then holds no buffer between messages, at the price of one small allocation per
/// message); a larger one, grown by bulk traffic, is kept until the connection
/// closes, so a bulk transfer does not free and regrow its rings every round trip.
/// A receive ring is also kept while the peer streams full-sized segments
/// (`peer_streaming`): a reader that drains every segment as it arrives would
/// otherwise allocate and zero a ring per segment. It is freed at the first read
/// that empties it after a short segment (the end of a message or of the stream).
pub(crate) const SMALL_RING: usize = 16 * 1024;

/// Why a connection failed. Sticky: once set, every later call reports it.
/// Non-exhaustive, as [`crate::Error`] is: new reasons come as the stack grows,
/// so a `match` outside this crate needs a wildcard arm. Without one, naming
/// every reason there is today, it does not compile:
///
/// ```compile_fail
/// use layer4::tcp::TcpError;
/// fn name(e: TcpError) -> &'static str {
///     match e {
///         TcpError::Refused => "refused",
///         TcpError::Reset => "reset",
///         TcpError::ResetInCloseWait => "reset in close-wait",
///         TcpError::TimedOut => "timed out",
///         TcpError::HostUnreachable => "unreachable",
///         TcpError::Aborted => "aborted",
///     }
/// }
/// ```
///
/// With one it does:
///
/// ```
/// use layer4::tcp::TcpError;
/// fn name(e: TcpError) -> &'static str {
///     match e {
///         TcpError::Reset | TcpError::ResetInCloseWait => "reset",
///         _ => "failed",
///     }
/// }
/// assert_eq!(name(TcpError::Reset), "reset");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum TcpError {
    /// The peer answered the SYN with a RST, or an ICMP port unreachable arrived
    /// while connecting.
    Refused,
    /// The peer reset the connection (in ESTABLISHED, FIN-WAIT-1 or -2, and,
    /// as Linux's `tcp_reset` reports it, in CLOSING and LAST-ACK, where RFC
    /// 9293 has the RST just close).
    Reset,
    /// The peer reset the connection after its FIN (a RST in CLOSE-WAIT): the
    /// stream had ended, and nothing more can be sent. Linux's `tcp_reset`
    /// reports it as `EPIPE`, not `ECONNRESET`.
    ResetInCloseWait,
    /// Retransmissions (R2, the SYN retries, keep-alive probes) or the user timeout
    /// ran out.
    TimedOut,
    /// An ICMP error said the host or network cannot be reached (while connecting).
    HostUnreachable,
    /// The application aborted the connection.
    Aborted,
}

impl core::fmt::Display for TcpError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(match self {
            TcpError::Refused => "connection refused",
            TcpError::Reset => "connection reset by peer",
            TcpError::ResetInCloseWait => "connection reset by peer after its FIN",
            TcpError::TimedOut => "connection timed out",
            TcpError::HostUnreachable => "host unreachable",
            TcpError::Aborted => "connection aborted",
        })
    }
}

impl core::error::Error for TcpError {}

/// What happened to a connection since the last [`Connection::take_events`], as bits.
///
/// Each bit is the one of the stack's `EventKind` of the same name (the stack
/// raises them as they are; it checks this at compile time).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct ConnEvents(u8);

impl ConnEvents {
    /// The handshake completed.
    pub const CONNECTED: ConnEvents = ConnEvents(1);
    /// Data (or the peer's FIN) can be read.
    pub const READABLE: ConnEvents = ConnEvents(4);
    /// Send buffer space opened up.
    pub const WRITABLE: ConnEvents = ConnEvents(8);
    /// The connection is gone (CLOSED, or TIME-WAIT ended); see the error, if any.
    pub const CLOSED: ConnEvents = ConnEvents(32);
    /// The connection failed; [`Connection::error`] says why.
    pub const ERROR: ConnEvents = ConnEvents(16);
    /// The peer's urgent pointer advanced ahead of the data read
    /// ([`Connection::urgent_mark`]).
    pub const URGENT: ConnEvents = ConnEvents(64);
    /// A soft error was recorded ([`Connection::take_soft_error`]); the connection
    /// goes on.
    pub const SOFT_ERROR: ConnEvents = ConnEvents(128);

    /// The bits, those of the stack's event kinds.
    pub(crate) const fn bits(self) -> u8 {
        self.0
    }

    /// No event.
    pub const fn empty() -> ConnEvents {
        ConnEvents(0)
    }

    /// Whether every bit of `other` is set.
    pub const fn contains(self, other: ConnEvents) -> bool {
        self.0 & other.0 == other.0
    }

    /// Whether no bit is set.
    pub const fn is_empty(self) -> bool {
        self.0 == 0
    }

    fn insert(&mut self, other: ConnEvents) {
        self.0 |= other.0;
    }
}

/// When the next acknowledgment is due.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum AckDue {
    /// Nothing to acknowledge.
    No,
    /// Acknowledge when the delayed-ACK timer fires (or with the next segment).
    Delayed,
    /// Acknowledge now.
    Now,
}

/// Per-socket options, starting from the stack's [`TcpConfig`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SocketOptions {
    /// Nagle's algorithm disabled.
    pub nodelay: bool,
    /// Keep-alive, if on.
    pub keepalive: Option<KeepAlive>,
    /// Abort when data stays unacknowledged this long.
    pub user_timeout: Option<Duration>,
    /// IPv4 TTL / IPv6 hop limit of this connection's packets.
    pub ttl: u8,
    /// DSCP of this connection's packets.
    pub dscp: u8,
    /// ECN (RFC 3168): whether the SYN asks for it and whether the peer's SYN is
    /// accepted. Read when the SYN or SYN-ACK is sent; changing it later does not
    /// change what was negotiated.
    pub ecn: EcnMode,
    /// Pace data segments at the pacing rate (Linux's default of 2 × / 1.2 × cwnd /
    /// srtt unless the controller has its own rate). A controller with its own
    /// pacing rate paces whatever this says.
    pub pacing: bool,
    /// RACK-TLP loss detection (RFC 8985) when SACK was negotiated; off, RFC 6675's
    /// DupThresh rules alone.
    pub rack: bool,
}

impl SocketOptions {
    /// The defaults of `config`.
    pub fn from_config(config: &TcpConfig) -> SocketOptions {
        SocketOptions {
            nodelay: config.nodelay,
            keepalive: config.keepalive,
            user_timeout: config.user_timeout,
            ttl: config.ttl,
            dscp: config.dscp,
            ecn: config.ecn,
            pacing: config.pacing,
            rack: config.rack,
        }
    }
}

/// Negotiated timestamp state (RFC 7323).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Timestamps {
    /// TS.Recent: the peer's timestamp to echo.
    recent: u32,
    /// When TS.Recent was last updated (PAWS ignores a TS.Recent idle 24 days).
    recent_at: Instant,
    /// Our clock's offset, random per connection (RFC 7323 section 7.1).
    offset: u32,
}

/// One TCP connection. See the [module docs](self).
///
/// The fields are in a deliberate order (`#[repr(C)]`; Rust's own layout sorts
/// them by alignment): with many connections in flight a connection's state
/// is out of the L1 data cache each time it is visited (a segment in, a
/// segment out, an application call), so what costs is the number of 64-byte
/// lines a visit touches. The order puts fields read in the same visits on
/// the same lines. It was found by tracing which bytes of the connection each
/// visit touched in `layer4-bench connect --window 64` and searching for the
/// order that touches the fewest lines per visit (docs/benchmarks.md, session
/// 12, branch data12). The comments number 64-byte groups counted from the
/// start of `TcpSlot` (the stack's box of a connection, which holds this
/// struct at offset 24): they are the cache lines when the slot starts on a
/// line; otherwise (`malloc` aligns it to 16 bytes) each group straddles one
/// line boundary, and fields used together still share lines.
/// A new field goes beside the fields it is read with, without padding (the
/// layout tests pin the size and the hot line).
#[derive(Debug)]
#[repr(C)]
pub struct Connection {
    // Group 0 of the slot (after `TcpSlot`'s own 24 bytes): reassembly and the FIN,
    // which a segment in and the application's reads look at.
    /// The sequence number of the peer's FIN, once seen (possibly ahead of RCV.NXT).
    fin_seq: Option<SeqNumber>,
    assembler: Assembler,

    // Group 1: the socket options, read to write each segment.
    options: SocketOptions,

    // Group 2: the send buffer.
    /// The congestion controller chosen.
    cc_algorithm: CcAlgorithm,
    /// Unanswered keep-alive probes.
    keepalive_probes: u32,
    send_buf: SendBuffer,

    // Group 3: what a data segment sent records (timing, urgent data, probes).
    /// The last time data was sent (idle restart of the congestion window).
    last_data_sent: Instant,
    /// The urgent pointer to send: the sequence number after the last urgent byte.
    snd_up: Option<SeqNumber>,
    config: Arc<TcpConfig>,
    /// The segment being timed (Karn's algorithm): it ends at this sequence number,
    /// was sent at this instant, when this many bytes had been acknowledged (for the
    /// delivery rate).
    rtt_probe: Option<(SeqNumber, Instant, u64)>,
    /// Unanswered zero-window probes.
    persist_probes: u32,
    snd_wl1: SeqNumber,
    /// When the oldest unacknowledged data was first sent (user timeout).
    unacked_since: Option<Instant>,

    // Group 4: what a segment in records, control segments due, local address.
    /// The last time any segment arrived.
    last_recv: Instant,
    /// The largest segment payload received (Linux's `rcv_mss` estimate).
    rcv_mss: u16,
    /// The SYN (or SYN-ACK) is to be (re)sent.
    syn_due: bool,
    /// Both SYNs carried the window-scale option.
    wscale_ok: bool,
    /// A RST is to be sent: its sequence number and, if the ACK bit is set, its
    /// acknowledgment number.
    rst_due: Option<(SeqNumber, Option<SeqNumber>)>,
    /// ECN's counters and reduction point, allocated on the first ECN event.
    ecn_more: Option<Box<ecn::EcnMore>>,
    /// Full-sized segments received since the last ACK.
    segs_unacked: u16,
    /// The IP header length toward the peer (20 or 40).
    ip_header_len: u16,
    /// A D-SACK block to report with the next ACK (RFC 2883).
    dsack: Option<(SeqNumber, SeqNumber)>,
    irs: SeqNumber,
    /// Zero-window probes sent since the window closed (the probe interval's
    /// backoff).
    persist_backoff: u32,
    local: SocketAddr,

    // Group 5: the receive buffer.
    /// When an invalid segment was last answered (challenge ACK rate limit).
    last_invalid_answer: Option<Instant>,
    recv_buf: RecvBuffer,

    // Group 6: what nearly every visit reads: the state, the sequence numbers
    // at both edges (the send and receive sequence spaces, RFC 9293 section
    // 3.3.1), the flags and pending events.
    snd_nxt: SeqNumber,
    /// The right edge of the window last advertised (never moved left).
    rcv_adv: SeqNumber,
    /// A freed connection's congestion state, kept for this one's
    /// [`make_ccs`](Self::make_ccs) to renew (a reused slot's; no state of
    /// this connection: `Debug` shows nothing of it).
    cc_spare: congestion::SpareCc,
    iss: SeqNumber,
    state: State,
    /// This connection came from a listener (passive open).
    passive: bool,
    ack_due: AckDue,
    error: Option<TcpError>,
    snd_una: SeqNumber,
    rcv_nxt: SeqNumber,
    /// The payload of the segment being handled is already in the receive buffer
    /// at RCV.NXT ([`Connection::prestore_payload`]); set only during
    /// `handle_segment`.
    payload_prestored: bool,
    /// The application closed its handle; the stack frees the connection when it
    /// reaches CLOSED.
    orphaned: bool,
    /// ECN (RFC 3168) negotiation, echo and reaction.
    ecn: ecn::EcnState,
    /// Our FIN has been acknowledged.
    fin_acked: bool,
    /// The application shut down its reading side.
    read_shutdown: bool,
    /// The last in-order data segment was full-sized (as large as any received):
    /// the peer is streaming, so more data is on its way and an emptied small
    /// receive ring is kept rather than freed and reallocated per segment.
    peer_streaming: bool,
    /// The application will send nothing more: a FIN follows the buffered data.
    fin_queued: bool,
    /// Our window shift (Rcv.Wind.Shift).
    rcv_wscale: u8,
    /// Segments still to acknowledge at once at the start of the connection (Linux's
    /// quick-ACK mode, which keeps the sender's slow start fast).
    quickacks: u16,
    events: ConnEvents,
    /// The last soft error (Linux's `sk_err_soft`): an ICMP destination unreachable
    /// (RFC 1122 4.2.3.9), or `TimedOut` once retransmissions reached R1. The
    /// application may take it; a timeout reports it instead of "timed out"; an
    /// acceptable ACK clears it.
    soft_error: Option<TcpError>,

    // Group 7: the timers and the congestion state's box.
    timers: TimerTable,
    snd_wl2: SeqNumber,
    /// The largest send window the peer offered (sender SWS avoidance; RFC 5961 ACK
    /// check).
    max_snd_wnd: u32,
    /// The controller, the recovery and the delivery-rate state; allocated when
    /// first needed (an idle connection that never sent data holds none).
    cc: Option<Box<congestion::CcState>>,

    // Group 8: the send window and segment size, timestamps, remote address.
    /// Consecutive retransmission timeouts (reset by an ACK of new data).
    rto_count: u32,
    /// The peer's window shift (Snd.Wind.Shift).
    snd_wscale: u8,
    sack_ok: bool,
    /// A window probe or keep-alive probe is due.
    probe_due: bool,
    /// A fast retransmission of the segment at SND.UNA is due.
    retransmit_una: bool,
    /// The send window, scaled.
    snd_wnd: u32,
    /// The IP MTU toward the peer (the path MTU).
    path_mtu: u16,
    /// The MSS we announced.
    our_mss: u16,
    dupacks: u32,
    /// RCV.NXT when the last ACK was sent (RFC 7323 Last.ACK.sent).
    last_ack_sent: SeqNumber,
    /// Payload bytes per full-sized segment, TCP options accounted (Linux's
    /// `mss_cache`).
    mss: u16,
    /// The MSS the peer announced (536 / 1220 when it announced none).
    peer_mss: u16,
    /// The highest sequence number sent plus one (SND.NXT can fall back to SND.UNA
    /// after a timeout; this does not).
    snd_max: SeqNumber,
    ts: Option<Timestamps>,
    remote: SocketAddr,

    // Group 9: the round-trip estimator.
    /// The receive urgent pointer: the sequence number after the last urgent byte.
    rcv_up: Option<SeqNumber>,
    rtt: RttEstimator,

    // Groups 10-13: the counters (each segment bumps a few; `tcp_info` reads
    // them all).
    counters: ConnCounters,
}

impl Connection {
    /// The state.
    pub fn state(&self) -> State {
        self.state
    }

    /// The local address and port.
    pub fn local(&self) -> SocketAddr {
        self.local
    }

    /// The remote address and port.
    pub fn remote(&self) -> SocketAddr {
        self.remote
    }

    /// The sticky error, once the connection failed.
    pub fn error(&self) -> Option<TcpError> {
        self.error
    }

    /// Takes the soft error, if one was recorded since the last call and no
    /// acceptable ACK has arrived since (Linux's `SO_ERROR` on `sk_err_soft`): a
    /// problem the connection survives, such as an ICMP host unreachable.
    pub fn take_soft_error(&mut self) -> Option<TcpError> {
        self.soft_error.take()
    }

    /// Records a soft error and tells the application.
    fn set_soft_error(&mut self, error: TcpError) {
        self.soft_error = Some(error);
        self.events.insert(ConnEvents::SOFT_ERROR);
    }

    /// Whether the connection passed through a listener.
    pub fn is_passive(&self) -> bool {
        self.passive
    }

    /// Whether this is a listener's half-open connection that its SYN-ACK's
    /// retransmission timeouts ended (`TcpConfig::synack_retries` run out):
    /// only that timeout takes the retransmission count past the limit in
    /// SYN-RECEIVED, and closes the connection in the same call.
    pub fn syn_ack_retries_ran_out(&self) -> bool {
        self.passive && self.rto_count > self.config.synack_retries
    }

    /// Whether the application has closed its handle.
    pub fn is_orphaned(&self) -> bool {
        self.orphaned
    }

    /// The per-socket options.
    pub fn options(&self) -> &SocketOptions {
        &self.options
    }

    /// The effective send MSS: payload bytes per full-sized segment.
    pub fn mss(&self) -> u16 {
        self.mss
    }

    /// The path MTU toward the peer, as the connection last learned it.
    pub fn path_mtu(&self) -> u16 {
        self.path_mtu
    }

    /// Takes the events accumulated since the last call.
    pub fn take_events(&mut self) -> ConnEvents {
        core::mem::take(&mut self.events)
    }

    /// The earliest armed timer's deadline, or a time in the past when something is
    /// waiting to be sent is not the stack's concern: it asks [`Self::wants_to_send`].
    pub fn poll_timeout(&self) -> Option<Instant> {
        self.timers.earliest()
    }

    /// Bytes in flight: sent and not yet acknowledged (SYN and FIN included).
    fn flight(&self) -> u32 {
        self.snd_nxt.diff(self.snd_una).max(0) as u32
    }

    /// Bytes sent at least once and not yet acknowledged.
    fn outstanding(&self) -> u32 {
        self.snd_max.diff(self.snd_una).max(0) as u32
    }

    /// Whether our SYN has been acknowledged.
    fn syn_acked(&self) -> bool {
        self.snd_una != self.iss
    }

    /// The sequence number of the first byte in the send buffer.
    fn data_start(&self) -> SeqNumber {
        if self.syn_acked() {
            self.snd_una
        } else {
            self.iss + 1u32
        }
    }

    /// The sequence number after the last byte written by the application.
    fn data_end(&self) -> SeqNumber {
        self.data_start() + self.send_buf.len()
    }

    /// Our FIN's sequence number, once the application closed its sending side.
    fn fin_pos(&self) -> Option<SeqNumber> {
        if !self.fin_queued {
            None
        } else if self.fin_acked {
            Some(self.snd_una - 1u32)
        } else {
            Some(self.data_end())
        }
    }

    /// Enters `state`, raising the events the application should hear.
    fn set_state(&mut self, state: State) {
        if self.state == state {
            return;
        }
        let was = self.state;
        self.state = state;
        match state {
            State::Established if matches!(was, State::SynSent | State::SynReceived) => {
                self.counters.established_at = Some(self.last_recv);
                self.events.insert(ConnEvents::CONNECTED);
                self.events.insert(ConnEvents::WRITABLE);
            }
            State::CloseWait | State::Closing | State::TimeWait => {
                self.events.insert(ConnEvents::READABLE);
            }
            State::Closed => {
                // CLOSED sends nothing but a RST it may owe (`rst_due`): what was
                // flagged before (an ACK, a probe, a retransmission) is dropped, so
                // a held connection does not ask for transmit passes that can only
                // come back empty.
                self.ack_due = AckDue::No;
                self.retransmit_una = false;
                self.probe_due = false;
                self.syn_due = false;
                if let Some(cc) = self.cc.as_deref_mut() {
                    cc.probe_due = 0;
                }
                self.send_buf.shrink_if_empty();
                self.recv_buf.shrink_if_empty(!self.assembler.is_empty());
                self.timers.clear_all();
                self.events.insert(ConnEvents::CLOSED);
                self.events.insert(ConnEvents::READABLE);
                self.events.insert(ConnEvents::WRITABLE);
            }
            _ => {}
        }
    }

    /// Fails the connection with `error` and enters CLOSED. The first error sticks.
    fn fail(&mut self, error: TcpError) {
        if self.error.is_none() {
            self.error = Some(error);
        }
        self.events.insert(ConnEvents::ERROR);
        self.set_state(State::Closed);
    }

    /// Our timestamp clock: milliseconds plus the connection's offset.
    //= https://www.rfc-editor.org/rfc/rfc7323#section-5.4
    //# The timestamp clock frequency MUST be in the range 1 ms to 1 sec per tick.
    fn ts_now(&self, now: Instant) -> u32 {
        let ms = (now.as_nanos() / 1_000_000) as u32;
        ms.wrapping_add(self.ts.map_or(0, |t| t.offset))
    }
}
