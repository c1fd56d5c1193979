//! The control-socket protocol: a client writes one [`Request`] as a JSON line and
//! reads one [`Response`] as a JSON line, as often as it likes on one connection.
//! Fields are added, never renamed or removed, so old clients keep working
//! ([`VERSION`] counts breaking changes).

use std::net::SocketAddr;

use serde::{Deserialize, Serialize};

/// The protocol version every response carries.
pub const VERSION: u32 = 1;

/// The longest request line a server reads, in bytes.
pub const MAX_REQUEST: usize = 4096;

/// A request: `{"request":"sockets"}` or `{"request":"counters"}`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "request", rename_all = "snake_case")]
pub enum Request {
    /// The socket table, with `tcp_info` for each TCP connection.
    Sockets,
    /// The stack's counters (`netstat -s` / `nstat` names).
    Counters,
}

/// Who answers: the process and which of its runtimes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Origin {
    /// The process id.
    pub pid: u32,
    /// The process name (`/proc/self/comm`).
    pub process: String,
    /// Which runtime of the process (0, 1, ...).
    pub runtime: u32,
    /// The stack's addresses (CIDR).
    pub addresses: Vec<String>,
}

/// An answer. Exactly one of `sockets`, `counters` and `error` is present.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Response {
    /// [`VERSION`].
    pub version: u32,
    /// Who answers.
    pub origin: Origin,
    /// For [`Request::Sockets`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sockets: Option<Vec<SocketRow>>,
    /// For [`Request::Counters`], in `nstat` order.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub counters: Option<Vec<Counter>>,
    /// Why the request could not be answered (malformed, unknown, the runtime
    /// stopped).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// One counter.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Counter {
    /// The `nstat` name (`TcpActiveOpens`, `UdpNoPorts`, ...).
    pub name: String,
    /// The value.
    pub value: u64,
}

/// One socket (a row of `ss`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SocketRow {
    /// `"tcp"` or `"udp"`.
    pub protocol: String,
    /// The state as `ss` prints it (`LISTEN`, `ESTAB`, `TIME-WAIT`, `UNCONN`, ...).
    pub state: String,
    /// Bytes received and not read; for a listener, connections waiting to be
    /// accepted.
    pub recv_q: u64,
    /// Bytes not yet acknowledged (TCP) or sent (UDP); for a listener, the backlog.
    pub send_q: u64,
    /// The local address.
    pub local: SocketAddr,
    /// The remote address (connections and connected UDP sockets).
    #[serde(default)]
    pub remote: Option<SocketAddr>,
    /// The armed timer (`ss -o`): its name and the milliseconds left.
    #[serde(default)]
    pub timer: Option<(String, u64)>,
    /// `tcp_info` for a TCP connection.
    #[serde(default)]
    pub tcp_info: Option<TcpInfoRow>,
}

/// A connection's `tcp_info` (the fields of `ss -ti`); times in microseconds,
/// rates in bytes per second.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[allow(missing_docs)] // named after `layer4::tcp::TcpInfo`'s fields, documented there
pub struct TcpInfoRow {
    pub state: String,
    pub congestion_control: String,
    pub rtt_us: Option<u64>,
    pub rttvar_us: Option<u64>,
    pub min_rtt_us: Option<u64>,
    pub rto_us: u64,
    pub backoff: u32,
    pub snd_mss: u16,
    pub rcv_mss: u16,
    pub advmss: u16,
    pub pmtu: u16,
    pub cwnd: u32,
    pub cwnd_bytes: u32,
    pub ssthresh: Option<u32>,
    pub snd_wnd: u32,
    pub rcv_wnd: u32,
    pub wscale: Option<(u8, u8)>,
    pub timestamps: bool,
    pub sack: bool,
    pub ecn: bool,
    #[serde(default)]
    pub accecn: bool,
    pub bytes_sent: u64,
    pub bytes_retrans: u64,
    pub bytes_acked: u64,
    pub bytes_received: u64,
    pub segs_in: u64,
    pub segs_out: u64,
    pub data_segs_in: u64,
    pub data_segs_out: u64,
    pub retransmits: u32,
    pub total_retrans: u64,
    pub lost: u32,
    pub sacked: u32,
    pub unacked: u32,
    pub delivery_rate: u64,
    pub pacing_rate: u64,
    pub rcv_space: u64,
    pub buffer_memory: u64,
    pub last_recv_us: u64,
}

fn us(d: layer4::time::Duration) -> u64 {
    u64::try_from(d.as_micros()).unwrap_or(u64::MAX)
}

impl From<&layer4::tcp::TcpInfo> for TcpInfoRow {
    fn from(i: &layer4::tcp::TcpInfo) -> TcpInfoRow {
        TcpInfoRow {
            state: i.state.to_string(),
            congestion_control: i.congestion_control.to_string(),
            rtt_us: i.rtt.map(us),
            rttvar_us: i.rttvar.map(us),
            min_rtt_us: i.min_rtt.map(us),
            rto_us: us(i.rto),
            backoff: i.backoff,
            snd_mss: i.snd_mss,
            rcv_mss: i.rcv_mss,
            advmss: i.advmss,
            pmtu: i.pmtu,
            cwnd: i.cwnd,
            cwnd_bytes: i.cwnd_bytes,
            ssthresh: i.ssthresh,
            snd_wnd: i.snd_wnd,
            rcv_wnd: i.rcv_wnd,
            wscale: i.wscale,
            timestamps: i.timestamps,
            sack: i.sack,
            ecn: i.ecn,
            accecn: i.accecn,
            bytes_sent: i.bytes_sent,
            bytes_retrans: i.bytes_retrans,
            bytes_acked: i.bytes_acked,
            bytes_received: i.bytes_received,
            segs_in: i.segs_in,
            segs_out: i.segs_out,
            data_segs_in: i.data_segs_in,
            data_segs_out: i.data_segs_out,
            retransmits: i.retransmits,
            total_retrans: i.total_retrans,
            lost: i.lost,
            sacked: i.sacked,
            unacked: i.unacked,
            delivery_rate: i.delivery_rate,
            pacing_rate: i.pacing_rate,
            rcv_space: i.rcv_space as u64,
            buffer_memory: i.buffer_memory as u64,
            last_recv_us: us(i.last_recv),
        }
    }
}
