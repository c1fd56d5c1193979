//! What a connection shows: [`TcpInfo`], the figures of Linux's `ss -ti`
//! (`struct tcp_info`), and the per-connection counters they come from.

use core::fmt;
use core::net::SocketAddr;

use crate::cc::CcModel;
use crate::tcp::state::State;
use crate::time::{Duration, Instant};

/// A connection's ECN counters (RFC 3168), from `Connection::ecn_counters` (kept
/// apart from [`ConnCounters`]: only connections that meet ECN allocate them).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct EcnCounters {
    /// Acceptable segments received with the CE codepoint.
    pub ce_received: u32,
    /// ACKs received with ECN-Echo.
    pub ece_received: u32,
    /// Segments sent with CWR.
    pub cwr_sent: u32,
    /// Window reductions in answer to ECN-Echo (at most one per window of data).
    pub reactions: u32,
    /// AccECN data sender: CE-marked segments reported through the ACE field.
    pub ace_ce: u32,
    /// AccECN data sender: ACKs whose ACE field was not used (no forward progress).
    pub ace_ignored: u32,
}

/// A connection's loss-detection and undo counters, named after Linux's `TcpExt`
/// ones; from `Connection::loss_counters` and [`TcpInfo::loss`] (kept apart from
/// [`ConnCounters`], with the congestion state: a connection that never sent holds
/// none).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct LossCounters {
    /// Tail loss probes sent (RFC 8985; `TcpExt:TCPLossProbes`).
    pub loss_probes: u32,
    /// Losses repaired by a tail loss probe (`TcpExt:TCPLossProbeRecovery`).
    pub loss_probe_recoveries: u32,
    /// Times RACK's reorder timer fired (RFC 8985 section 6.2).
    pub rack_reorder_timeouts: u32,
    /// Retransmissions RACK deemed lost again, and resent without waiting for
    /// the retransmission timer (`TcpExt:TCPLostRetransmit`).
    pub lost_retransmits: u32,
    /// Retransmission timeouts found spurious (`TcpExt:TCPSpuriousRTOs`).
    pub spurious_rtos: u32,
    /// Congestion responses undone because D-SACKs showed every retransmission
    /// of the episode a duplicate (`TcpExt:TCPDSACKUndo`).
    pub dsack_undos: u32,
    /// Timeout responses undone by timestamps (`TcpExt:TCPLossUndo`).
    pub loss_undos: u32,
    /// Fast recoveries undone by timestamps (`TcpExt:TCPFullUndo`).
    pub full_undos: u32,
    /// ACKs that showed reordering: a segment sent once delivered below one
    /// delivered before it (RFC 8985's RACK_detect_reordering;
    /// `TcpExt:TCPSACKReorder`).
    pub sack_reorders: u32,
    /// Times PMTU black-hole detection shrank the connection's packets after
    /// timeouts of a full-sized segment (RFC 4821, RFC 2923 section 2.1; Linux
    /// counts none, its `TcpExt:TCPMTUPFail` / `TCPMTUPSuccess` count probes).
    pub pmtu_black_holes: u32,
    /// Path MTU probes acknowledged: the connection's packets grew to their size
    /// (RFC 4821 section 7.6.1; `TcpExt:TCPMTUPSuccess`).
    pub mtu_probe_successes: u32,
    /// Path MTU probes lost (or resent) without a congestion response: the
    /// search's upper bound fell below them (RFC 4821 section 7.6.2;
    /// `TcpExt:TCPMTUPFail`).
    pub mtu_probe_failures: u32,
}

impl LossCounters {
    /// What grew since `earlier` (each count, saturating at zero).
    pub fn since(&self, earlier: &LossCounters) -> LossCounters {
        LossCounters {
            loss_probes: self.loss_probes.saturating_sub(earlier.loss_probes),
            loss_probe_recoveries: self
                .loss_probe_recoveries
                .saturating_sub(earlier.loss_probe_recoveries),
            rack_reorder_timeouts: self
                .rack_reorder_timeouts
                .saturating_sub(earlier.rack_reorder_timeouts),
            lost_retransmits: self
                .lost_retransmits
                .saturating_sub(earlier.lost_retransmits),
            spurious_rtos: self.spurious_rtos.saturating_sub(earlier.spurious_rtos),
            dsack_undos: self.dsack_undos.saturating_sub(earlier.dsack_undos),
            loss_undos: self.loss_undos.saturating_sub(earlier.loss_undos),
            full_undos: self.full_undos.saturating_sub(earlier.full_undos),
            sack_reorders: self.sack_reorders.saturating_sub(earlier.sack_reorders),
            pmtu_black_holes: self
                .pmtu_black_holes
                .saturating_sub(earlier.pmtu_black_holes),
            mtu_probe_successes: self
                .mtu_probe_successes
                .saturating_sub(earlier.mtu_probe_successes),
            mtu_probe_failures: self
                .mtu_probe_failures
                .saturating_sub(earlier.mtu_probe_failures),
        }
    }
}

/// Per-connection counters, kept by the state machine. Byte and segment counts are
/// 64-bit; counts of rare events are 32-bit and saturate (a million idle connections
/// carry these, so every byte counts).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ConnCounters {
    /// Segments received.
    pub segs_in: u64,
    /// Segments sent.
    pub segs_out: u64,
    /// Segments received with payload.
    pub data_segs_in: u64,
    /// Segments sent with payload.
    pub data_segs_out: u64,
    /// Payload bytes sent, retransmissions included (Linux's `tcpi_bytes_sent`).
    pub bytes_sent: u64,
    /// Payload bytes resent.
    pub bytes_retrans: u64,
    /// Payload bytes acknowledged by the peer.
    pub bytes_acked: u64,
    /// Payload bytes received in order.
    pub bytes_received: u64,
    /// Segments resent (timeouts, fast retransmits, SYN retries).
    pub retrans_segs: u64,
    /// Retransmission timeouts.
    pub timeouts: u32,
    /// Fast retransmits (third duplicate ACK).
    pub fast_retransmits: u32,
    /// Duplicate ACKs received.
    pub dupacks_in: u32,
    /// Delayed ACKs sent when their timer fired.
    pub delayed_acks: u32,
    /// Segments dropped by PAWS.
    pub paws_drops: u32,
    /// Segments outside the receive window.
    pub out_of_window: u32,
    /// Challenge ACKs sent (RFC 5961).
    pub challenge_acks: u32,
    /// In-window RSTs not at RCV.NXT, each owed a challenge ACK: counted whether
    /// or not the rate limit let the ACK go (`challenge_acks` counts those sent,
    /// `invalid_answers_limited` those held back).
    pub challenge_acks_rst: u32,
    /// In-window SYNs in a synchronized state, each owed a challenge ACK, counted
    /// as `challenge_acks_rst` is. (A SYN outside the window is an unacceptable
    /// segment: `out_of_window`, answered with an ACK under the same limit.)
    pub challenge_acks_syn: u32,
    /// Segments with an unacceptable ACK value, each owed a challenge ACK, counted
    /// as `challenge_acks_rst` is.
    pub challenge_acks_ack: u32,
    /// Answers to invalid segments suppressed by the rate limit.
    pub invalid_answers_limited: u32,
    /// RSTs accepted.
    pub resets_received: u32,
    /// RSTs sent.
    pub rsts_out: u32,
    /// RSTs sent by an abort (the application's, a timeout's, unread data at close).
    pub resets_sent_abort: u32,
    /// Data that arrived after the application closed, answered by a RST.
    pub data_after_close: u32,
    /// Closes with unread data, answered by a RST.
    pub closed_with_unread: u32,
    /// Segments whose data did not all fit the receive buffer.
    pub rcv_pruned: u32,
    /// Out-of-order segments dropped because too many holes were held.
    pub ooo_dropped: u32,
    /// Zero-window probes sent.
    pub window_probes: u32,
    /// Keep-alive probes sent.
    pub keepalive_probes: u32,
    /// Times the retransmission count reached R1.
    pub r1_reached: u32,
    /// ICMP errors that concerned this connection.
    pub icmp_errors: u32,
    /// Send records of the delivery-rate estimator merged because the connection
    /// held the most it keeps.
    pub tx_records_merged: u32,
    /// SACK-based loss recoveries begun (RFC 6675).
    pub sack_recoveries: u32,
    /// Segments resent because the SACK scoreboard chose them (`NextSeg()`).
    pub sack_retransmits: u32,
    /// SACK blocks dropped because the scoreboard held its most ranges.
    pub sack_ranges_dropped: u32,
    /// Times the peer reneged on SACKed data (the scoreboard was cleared).
    pub sack_renegings: u32,
    /// Times this connection's out-of-order data was dropped for the stack-wide
    /// bound (`TcpConfig::max_ooo_bytes_total`).
    pub ooo_pruned: u32,
    /// When the connection became established.
    pub established_at: Option<Instant>,
}

/// A connection's figures, as Linux's `ss -ti` shows them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TcpInfo {
    /// The state.
    pub state: State,
    /// The congestion controller's name (`cubic`, `newreno`).
    pub congestion_control: &'static str,
    /// The local address.
    pub local: SocketAddr,
    /// The remote address.
    pub remote: SocketAddr,
    /// Smoothed RTT (none before the first sample).
    pub rtt: Option<Duration>,
    /// RTT variance.
    pub rttvar: Option<Duration>,
    /// The smallest RTT seen.
    pub min_rtt: Option<Duration>,
    /// The current retransmission timeout, backoff included.
    pub rto: Duration,
    /// The RTO backoff exponent.
    pub backoff: u32,
    /// The effective send MSS.
    pub snd_mss: u16,
    /// The largest segment received.
    pub rcv_mss: u16,
    /// The MSS we announced.
    pub advmss: u16,
    /// The path MTU.
    pub pmtu: u16,
    /// The congestion window, in segments (as `ss` prints it).
    pub cwnd: u32,
    /// The congestion window in bytes.
    pub cwnd_bytes: u32,
    /// The slow-start threshold in segments (`None` before the first loss).
    pub ssthresh: Option<u32>,
    /// The peer's window (scaled), in bytes.
    pub snd_wnd: u32,
    /// The window we last advertised, in bytes.
    pub rcv_wnd: u32,
    /// Our window shift and the peer's (`wscale:snd,rcv`), when scaling is in use.
    pub wscale: Option<(u8, u8)>,
    /// Timestamps in use.
    pub timestamps: bool,
    /// SACK in use.
    pub sack: bool,
    /// ECN negotiated, classic (RFC 3168) or accurate.
    pub ecn: bool,
    /// Accurate ECN (RFC 9768) negotiated (then `ecn` too). `ss -ti` prints the
    /// mode as `ecn` (classic) or `accecn`; neither for none.
    pub accecn: bool,
    /// Payload bytes sent, retransmissions included (Linux's `tcpi_bytes_sent`).
    pub bytes_sent: u64,
    /// Payload bytes resent.
    pub bytes_retrans: u64,
    /// Payload bytes acknowledged.
    pub bytes_acked: u64,
    /// Payload bytes received.
    pub bytes_received: u64,
    /// Segments received.
    pub segs_in: u64,
    /// Segments sent.
    pub segs_out: u64,
    /// Segments with data received.
    pub data_segs_in: u64,
    /// Segments with data sent.
    pub data_segs_out: u64,
    /// Consecutive retransmission timeouts now (`retrans:N/…`).
    pub retransmits: u32,
    /// Segments resent over the connection's life (`retrans:…/N`).
    pub total_retrans: u64,
    /// Segments presumed lost now: after a timeout everything outstanding, else the
    /// SACK scoreboard's holes that RFC 6675's IsLost() marks.
    pub lost: u32,
    /// Segments the peer selectively acknowledged above SND.UNA (the scoreboard).
    pub sacked: u32,
    /// Loss detection and undo: tail loss probes, spurious timeouts, undos.
    pub loss: LossCounters,
    /// Bytes in flight.
    pub unacked: u32,
    /// The delivery rate of the last RTT sample, bytes per second.
    pub delivery_rate: u64,
    /// The controller's pacing rate, bytes per second; for a controller that does not
    /// pace, the rate Linux would compute: 2 × cwnd / srtt in slow start, 1.2 × after.
    pub pacing_rate: u64,
    /// A model-based controller's estimates (BBR: mode, bandwidth, min RTT, gains);
    /// `None` for a window-based one.
    pub cc_model: Option<CcModel>,
    /// Bytes written and not acknowledged (Send-Q).
    pub send_q: usize,
    /// Bytes received and not read (Recv-Q).
    pub recv_q: usize,
    /// The receive buffer limit (rcv_space).
    pub rcv_space: usize,
    /// Bytes of buffer memory the connection holds now.
    pub buffer_memory: usize,
    /// Time since the last segment arrived.
    pub last_recv: Duration,
}

impl fmt::Display for TcpInfo {
    /// The `ss -ti` detail line.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.timestamps {
            f.write_str("ts ")?;
        }
        if self.sack {
            f.write_str("sack ")?;
        }
        if self.accecn {
            f.write_str("accecn ")?;
        } else if self.ecn {
            f.write_str("ecn ")?;
        }
        if !self.congestion_control.is_empty() {
            write!(f, "{} ", self.congestion_control)?;
        }
        if let Some((snd, rcv)) = self.wscale {
            write!(f, "wscale:{snd},{rcv} ")?;
        }
        write!(f, "rto:{}", ms(self.rto))?;
        if let (Some(rtt), Some(var)) = (self.rtt, self.rttvar) {
            write!(f, " rtt:{}/{}", ms(rtt), ms(var))?;
        }
        write!(
            f,
            " mss:{} pmtu:{} rcvmss:{} advmss:{}",
            self.snd_mss, self.pmtu, self.rcv_mss, self.advmss
        )?;
        write!(f, " cwnd:{}", self.cwnd)?;
        if let Some(ss) = self.ssthresh {
            write!(f, " ssthresh:{ss}")?;
        }
        write!(
            f,
            " bytes_sent:{} bytes_retrans:{} bytes_acked:{} bytes_received:{} segs_out:{} segs_in:{} data_segs_out:{} data_segs_in:{}",
            self.bytes_sent,
            self.bytes_retrans,
            self.bytes_acked,
            self.bytes_received,
            self.segs_out,
            self.segs_in,
            self.data_segs_out,
            self.data_segs_in
        )?;
        if self.pacing_rate > 0 {
            write!(f, " pacing_rate {}", rate(self.pacing_rate))?;
        }
        if self.delivery_rate > 0 {
            write!(f, " delivery_rate {}", rate(self.delivery_rate))?;
        }
        if let Some(m) = self.cc_model {
            // Linux: `bbr:(bw:…,mrtt:…,pacing_gain:…,cwnd_gain:…)`, plus the mode.
            write!(f, " {}:(bw:{}", self.congestion_control, rate(m.bandwidth))?;
            if let Some(mrtt) = m.min_rtt {
                write!(f, ",mrtt:{}", ms(mrtt))?;
            }
            write!(
                f,
                ",pacing_gain:{},cwnd_gain:{},mode:{})",
                gain(m.pacing_gain_percent),
                gain(m.cwnd_gain_percent),
                m.mode
            )?;
        }
        if self.unacked > 0 {
            write!(f, " unacked:{}", self.unacked)?;
        }
        if self.total_retrans > 0 {
            write!(f, " retrans:{}/{}", self.retransmits, self.total_retrans)?;
        }
        if self.lost > 0 {
            write!(f, " lost:{}", self.lost)?;
        }
        write!(f, " rcv_space:{}", self.rcv_space)?;
        if let Some(min) = self.min_rtt {
            write!(f, " minrtt:{}", ms(min))?;
        }
        write!(f, " snd_wnd:{}", self.snd_wnd)
    }
}

/// Milliseconds the way `ss` prints them: up to three decimals, trailing zeros off.
fn ms(d: Duration) -> String {
    let micros = d.as_micros();
    let whole = micros / 1000;
    let frac = micros % 1000;
    if frac == 0 {
        format!("{whole}")
    } else {
        let s = format!("{whole}.{frac:03}");
        s.trim_end_matches('0').to_string()
    }
}

/// A gain in percent the way `ss` prints it (`2.77`, `1.25`, `1`).
fn gain(percent: u32) -> String {
    let s = format!("{}.{:02}", percent / 100, percent % 100);
    s.trim_end_matches('0').trim_end_matches('.').to_string()
}

/// A rate in bit/s the way `ss` prints it (`1.2Gbps`, `850Mbps`, `12.5Kbps`).
fn rate(bytes_per_sec: u64) -> String {
    let bits = bytes_per_sec as f64 * 8.0;
    if bits >= 1e9 {
        format!("{:.1}Gbps", bits / 1e9)
    } else if bits >= 1e6 {
        format!("{:.1}Mbps", bits / 1e6)
    } else if bits >= 1e3 {
        format!("{:.1}Kbps", bits / 1e3)
    } else {
        format!("{bits:.0}bps")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ms_prints_like_ss() {
        assert_eq!(ms(Duration::from_millis(204)), "204");
        assert_eq!(ms(Duration::from_micros(1500)), "1.5");
        assert_eq!(ms(Duration::from_micros(23)), "0.023");
    }

    #[test]
    fn gain_prints_like_ss() {
        assert_eq!(gain(277), "2.77");
        assert_eq!(gain(125), "1.25");
        assert_eq!(gain(90), "0.9");
        assert_eq!(gain(100), "1");
    }

    #[test]
    fn rate_picks_the_unit() {
        assert_eq!(rate(125_000_000), "1.0Gbps");
        assert_eq!(rate(1_250_000), "10.0Mbps");
        assert_eq!(rate(100), "800bps");
    }
}
