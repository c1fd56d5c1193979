//! TCP's tunables, each with its default and where the default comes from.

use crate::cc::{CcAlgorithm, CcError, CcRegistry};
use crate::tcp::rtt::RttConfig;
use crate::time::Duration;

/// Keep-alive parameters (RFC 9293 section 3.8.4; Linux's `tcp_keepalive_*`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KeepAlive {
    /// Idle time before the first probe. Default 2 hours.
    //= https://www.rfc-editor.org/rfc/rfc9293#section-3.8.4
    //# This interval MUST be
    //# configurable and MUST default to no less than two hours (MUST-28).
    pub idle: Duration,
    /// Time between unanswered probes. Default 75 s (Linux).
    pub interval: Duration,
    /// Unanswered probes before the connection is declared dead. Default 9 (Linux).
    pub probes: u32,
}

impl Default for KeepAlive {
    fn default() -> KeepAlive {
        KeepAlive {
            idle: Duration::from_secs(2 * 60 * 60),
            interval: Duration::from_secs(75),
            probes: 9,
        }
    }
}

/// Whether a connection uses Explicit Congestion Notification (RFC 3168), like
/// Linux's `net.ipv4.tcp_ecn` (0, 2, 1).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub enum EcnMode {
    /// Never: SYNs ask for nothing and an ECN-setup SYN is answered without ECN
    /// (`tcp_ecn = 0`).
    Off,
    /// Accept ECN when the peer's SYN asks for it, do not ask on our own SYNs
    /// (`tcp_ecn = 2`, Linux's default and ours: a path that drops ECN-setup SYNs
    /// then costs nothing, and peers that ask get it).
    #[default]
    Passive,
    /// Ask for ECN on our SYNs and accept it on the peer's (`tcp_ecn = 1`).
    On,
    /// Accurate ECN (RFC 9768): ask for AccECN on our SYNs, and answer a peer's
    /// AccECN SYN with AccECN and a classic ECN-setup SYN with classic ECN
    /// (Linux's `tcp_ecn = 3`). Opt-in: a peer that answers with classic ECN or
    /// none gets that.
    AccEcn,
}

impl EcnMode {
    /// Whether our SYN asks for ECN.
    pub fn requests(self) -> bool {
        matches!(self, EcnMode::On | EcnMode::AccEcn)
    }

    /// Whether our SYN asks for Accurate ECN (RFC 9768) and a peer's AccECN SYN
    /// is answered with AccECN.
    pub fn accurate(self) -> bool {
        self == EcnMode::AccEcn
    }

    /// Whether an ECN-setup SYN from the peer is accepted.
    pub fn accepts(self) -> bool {
        self != EcnMode::Off
    }
}

/// Packetization-layer path MTU discovery (RFC 4821), like Linux's
/// `net.ipv4.tcp_mtu_probing` (0, 1). Non-exhaustive: Linux's third mode
/// (probing from the start) may come.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum MtuProbing {
    /// Never: segments are sized by the path MTU (and its ICMP errors) alone
    /// (`tcp_mtu_probing = 0`). A path that drops both full-sized packets and
    /// the ICMP errors that say so (a PMTU black hole, RFC 2923 section 2.1)
    /// then stalls the connection until R2 gives up.
    Off,
    /// Black-hole detection, then probing (`tcp_mtu_probing = 1`): once
    /// retransmission timeouts of a full-sized segment reach R1, the connection's
    /// packets shrink (to 1024 bytes, then to the IP version's minimum MTU) so
    /// that data flows again; probes then search upward for the path's size
    /// (RFC 4821 section 7), a lost one costing no congestion response. The
    /// default, where Linux's is `Off`: layer4's first users run it behind VPNs
    /// and tunnels with a smaller MTU and firewalls that drop ICMP, where a
    /// connection stalled forever is worse than smaller packets for a few round
    /// trips after a path already failed three timeouts in a row. A connection
    /// that never times out past R1 pays nothing for it. (Linux's
    /// `tcp_mtu_probing = 2`, probing every connection from its start, is not
    /// offered.)
    #[default]
    BlackHole,
}

/// Stack-wide TCP configuration. Per-socket options (no-delay, keep-alive, user
/// timeout, TTL, DSCP, ECN) start from these values and can be changed on each socket.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TcpConfig {
    /// The most bytes a socket's send buffer holds (written but not acknowledged).
    /// Allocated lazily. Default 256 KiB.
    pub send_buffer: usize,
    /// The most bytes a socket's receive buffer holds (in order plus out of order);
    /// it bounds the advertised window. Allocated lazily. Default 256 KiB.
    pub recv_buffer: usize,
    /// Offer and accept window scaling (RFC 7323). Default on.
    pub window_scaling: bool,
    /// Offer and accept timestamps (RFC 7323). Default on.
    pub timestamps: bool,
    /// Offer and accept SACK (RFC 2018). Default on.
    pub sack: bool,
    /// ECN (RFC 3168) for new sockets. Default [`EcnMode::Passive`], as Linux:
    /// accepted when the peer asks, never asked for; per socket through
    /// `SocketOptions::ecn`.
    pub ecn: EcnMode,
    /// An upper bound for the MSS this side announces, below what the MTU allows.
    /// Default none.
    pub mss_clamp: Option<u16>,
    /// Packetization-layer PMTUD of every connection. Default
    /// [`MtuProbing::BlackHole`] (see there why, where Linux's default is off).
    pub mtu_probing: MtuProbing,
    /// The RTO estimator's constants. Default: Linux's (200 ms minimum, 120 s maximum).
    pub rtt: RttConfig,
    /// Disable Nagle's algorithm on new sockets. Default off (Nagle on, MUST-17).
    pub nodelay: bool,
    /// The delayed-ACK timeout. Default 40 ms (Linux's minimum ATO); must stay below
    /// 500 ms (MUST-40).
    pub delayed_ack: Duration,
    /// Keep-alive for new sockets. Default off (MUST-25).
    pub keepalive: Option<KeepAlive>,
    /// SYN retransmissions before a connect fails. Default 7: with the 1 s initial
    /// RTO the SYN is retried for 255 s. (Linux's `tcp_syn_retries` is 6, 127 s,
    /// short of RFC 9293's three minutes.)
    //= https://www.rfc-editor.org/rfc/rfc9293#section-3.8.3
    //# the value of R2 for a SYN segment MUST be set large enough to provide
    //# retransmission of the segment for at least 3 minutes (MUST-23).
    pub syn_retries: u32,
    /// SYN-ACK retransmissions before a half-open connection is dropped. Default 5
    /// (Linux `tcp_synack_retries`).
    pub synack_retries: u32,
    /// R1: retransmissions after which the stack reports the path as suspect (and, in
    /// the real-network driver, asks IP to re-check the route). Default 3 (MUST-20).
    pub retries1: u32,
    /// R2: retransmissions after which the connection is aborted. Default 15 (Linux
    /// `tcp_retries2`, about 15 minutes with a 200 ms minimum RTO).
    pub retries2: u32,
    /// The user timeout for new sockets: abort when data stays unacknowledged this long.
    /// Default none (R2 applies).
    pub user_timeout: Option<Duration>,
    /// How long TIME-WAIT lasts: 2 MSL. Default 60 s (Linux `TCP_TIMEWAIT_LEN`).
    pub time_wait: Duration,
    /// The most connections the stack keeps in TIME-WAIT as compact records (those
    /// whose handle the application closed). When the limit is reached the oldest
    /// record is dropped to make room and `TcpStats::time_wait_overflow` counts it.
    /// Default 262,144 (the role of Linux's `tcp_max_tw_buckets`); at most 2^30
    /// whatever is set. A record is 120 bytes in the stack's FIFO ring and 8 in its
    /// index, ~150-250 with both's spare capacity, so the default bounds TIME-WAIT
    /// at ~40-65 MB.
    pub time_wait_limit: usize,
    /// How long FIN-WAIT-2 waits for the peer's FIN once the application closed.
    /// Default 60 s (Linux `tcp_fin_timeout`).
    pub fin_timeout: Duration,
    /// The initial congestion window in segments. Default 10 (RFC 6928).
    pub initial_cwnd: u32,
    /// The congestion controller of new sockets, by name: `"cubic"` (the default, as
    /// on Linux), `"newreno"`, `"bbr"` (BBRv3), or one of
    /// [`TcpConfig::custom_congestion_controls`]. `Stack::new` refuses an unknown
    /// name.
    pub congestion_control: String,
    /// Own controllers, by name, for [`TcpConfig::congestion_control`] and
    /// `Stack::tcp_set_congestion_control`. Default none.
    pub custom_congestion_controls: CcRegistry,
    /// Pace the data of new sockets (per socket through `SocketOptions::pacing` /
    /// `Stack::tcp_set_pacing`). Default off: Linux paces CUBIC only under the fq
    /// qdisc. A controller with its own pacing rate (BBR) paces regardless.
    pub pacing: bool,
    /// Loss detection of new sockets with SACK: RACK-TLP (RFC 8985), the default,
    /// as on Linux; off, the RFC 6675 DupThresh rules alone and no tail loss
    /// probes (per socket through `SocketOptions::rack`).
    pub rack: bool,
    /// Detect spurious retransmission timeouts with F-RTO (RFC 5682): after a
    /// timeout's retransmission is acknowledged, new data goes out instead of the
    /// rest of the window again, and the next ACK tells whether the timeout was
    /// spurious (its congestion response is then undone). The SACK-enhanced
    /// algorithm (section 3) when SACK was negotiated, the basic one (section 2)
    /// otherwise. Default on, as Linux's `tcp_frto = 2`; off, a timeout resends
    /// the whole window (go-back-N) and only timestamps (Eifel) or D-SACKs can
    /// show it spurious.
    pub frto: bool,
    /// The most out-of-order ranges one connection holds. Default 32.
    pub max_ooo_ranges: usize,
    /// The most receive-buffer bytes out-of-order data may pin across all the
    /// stack's connections (each connection's span from RCV.NXT to the end of its
    /// furthest out-of-order range). A connection whose out-of-order data grows the
    /// total past this has its out-of-order data dropped (Linux's
    /// `tcp_prune_ofo_queue`; RFC 2018 lets a receiver discard SACKed data), counted
    /// in `TcpStats::ofo_pruned`. Default 64 MiB (256 connections' full windows).
    pub max_ooo_bytes_total: usize,
    /// Time to live / hop limit for new sockets. Default 64.
    pub ttl: u8,
    /// DSCP for new sockets. Default 0.
    pub dscp: u8,
    /// The least time between two answers (challenge ACKs, duplicate ACKs for
    /// out-of-window or PAWS-failed segments) on one connection. Default 500 ms
    /// (Linux `tcp_invalid_ratelimit`). Per connection, not stack-wide: a global
    /// counter is the side channel of CVE-2016-5696.
    pub invalid_ratelimit: Duration,
    /// RSTs sent per second for segments that match no connection. Default 1000.
    pub rsts_per_sec: u32,
    /// The SYN queue bound of each listener (half-open connections). Default 1024.
    /// A SYN that ends TIME-WAIT is taken beyond it, as Linux takes one: its
    /// connection must open past the old incarnation's numbers, which a SYN
    /// cookie or a drop would not.
    pub syn_backlog: usize,
    /// Answer SYNs beyond a full SYN queue with SYN cookies (RFC 4987 section 3.6)
    /// instead of dropping them, as Linux's `tcp_syncookies = 1`. Default on.
    pub syn_cookies: bool,
    /// The most connections in the whole stack (all states, listeners excluded).
    /// Default 1,048,576.
    pub max_connections: usize,
    /// The most freed connection slots the stack keeps for the next opens to
    /// reuse, and the most of each of the two things kept beside them: the
    /// congestion states of freed connections and spare 1 KiB ring storages
    /// (see `Stack::tcp_spare_slot_bytes`). Enough for the connections a server
    /// closes in a burst before it opens as many again (64 connections in flight
    /// close and reopen together); beyond it a freed slot is freed for good.
    /// Each unit the bound allows holds at most 4 KiB (a slot, 0.9 KiB; a
    /// congestion state with the room of its send records, up to 2.1 KiB; a
    /// ring storage, 1 KiB; with their places in the lists), so the default
    /// bounds what the stack keeps at 1 MiB. 0 keeps nothing. Default 256.
    pub spare_slots: usize,
}

impl Default for TcpConfig {
    fn default() -> TcpConfig {
        TcpConfig {
            send_buffer: 256 * 1024,
            recv_buffer: 256 * 1024,
            window_scaling: true,
            timestamps: true,
            sack: true,
            ecn: EcnMode::Passive,
            mss_clamp: None,
            mtu_probing: MtuProbing::BlackHole,
            rtt: RttConfig::LINUX,
            nodelay: false,
            delayed_ack: Duration::from_millis(40),
            keepalive: None,
            syn_retries: 7,
            synack_retries: 5,
            retries1: 3,
            retries2: 15,
            user_timeout: None,
            time_wait: Duration::from_secs(60),
            time_wait_limit: 1 << 18,
            fin_timeout: Duration::from_secs(60),
            initial_cwnd: 10,
            congestion_control: "cubic".to_string(),
            custom_congestion_controls: CcRegistry::new(),
            pacing: false,
            rack: true,
            frto: true,
            max_ooo_ranges: crate::tcp::assembler::DEFAULT_MAX_RANGES,
            max_ooo_bytes_total: 64 << 20,
            ttl: 64,
            dscp: 0,
            invalid_ratelimit: Duration::from_millis(500),
            rsts_per_sec: 1000,
            syn_backlog: 1024,
            syn_cookies: true,
            max_connections: 1 << 20,
            spare_slots: 256,
        }
    }
}

impl TcpConfig {
    /// The controller called `name`, among the built-in ones and
    /// [`TcpConfig::custom_congestion_controls`].
    pub fn congestion_algorithm(&self, name: &str) -> Result<CcAlgorithm, CcError> {
        CcAlgorithm::resolve(name, &self.custom_congestion_controls)
    }

    /// The controller of new sockets ([`TcpConfig::congestion_control`]); CUBIC if the
    /// name is not valid (`Stack::new` refuses such a configuration).
    pub fn default_congestion_algorithm(&self) -> CcAlgorithm {
        self.congestion_algorithm(&self.congestion_control)
            .unwrap_or(CcAlgorithm::Cubic)
    }
}
