//! The connection's figures for `ss -ti` and the stack's socket table.

use super::Connection;
use crate::tcp::info::{ConnCounters, TcpInfo};
use crate::time::Instant;

impl Connection {
    /// The connection's figures at `now`.
    pub fn info(&self, now: Instant) -> TcpInfo {
        let mss = u32::from(self.mss.max(1));
        let srtt = self.rtt.srtt();
        let cwnd = self.cwnd();
        let cc = self.controller();
        // Reported whether or not the connection paces, as Linux does.
        let pacing_rate = self.pacing_rate().unwrap_or(0);
        let sack = self.sack_info();
        let ssthresh = cc
            .and_then(|c| c.ssthresh())
            .map(|s| u32::try_from(s).unwrap_or(u32::MAX));
        TcpInfo {
            state: self.state,
            congestion_control: self.congestion_control(),
            local: self.local,
            remote: self.remote,
            rtt: srtt,
            rttvar: self.rtt.rttvar(),
            min_rtt: self.rtt.min_rtt(),
            rto: self.rtt.rto(),
            backoff: self.rtt.backoff(),
            snd_mss: self.mss,
            rcv_mss: self.rcv_mss,
            advmss: self.our_mss,
            pmtu: self.path_mtu,
            cwnd: cwnd / mss,
            cwnd_bytes: cwnd,
            ssthresh: ssthresh.map(|s| s / mss),
            snd_wnd: self.snd_wnd,
            rcv_wnd: self.rcv_wnd(),
            wscale: self.wscale_ok.then_some((self.snd_wscale, self.rcv_wscale)),
            timestamps: self.ts.is_some(),
            sack: self.sack_ok,
            ecn: self.ecn_enabled(),
            accecn: self.accecn_enabled(),
            bytes_sent: self.counters.bytes_sent,
            bytes_retrans: self.counters.bytes_retrans,
            bytes_acked: self.counters.bytes_acked,
            bytes_received: self.counters.bytes_received,
            segs_in: self.counters.segs_in,
            segs_out: self.counters.segs_out,
            data_segs_in: self.counters.data_segs_in,
            data_segs_out: self.counters.data_segs_out,
            retransmits: self.rto_count,
            total_retrans: self.counters.retrans_segs,
            lost: if self.rto_count > 0 {
                self.outstanding().div_ceil(mss)
            } else {
                sack.map_or(0, |s| s.1)
            },
            sacked: sack.map_or(0, |s| s.0),
            loss: self.loss_counters(),
            unacked: self.outstanding(),
            delivery_rate: self.cc.as_deref().map_or(0, |s| s.delivery.rate()),
            pacing_rate,
            cc_model: self.controller().and_then(|c| c.model()),
            send_q: self.send_buf.len(),
            recv_q: self.recv_buf.len(),
            rcv_space: self.recv_buf.limit(),
            buffer_memory: self.send_buf.allocated() + self.recv_buf.allocated(),
            last_recv: now.saturating_duration_since(self.last_recv),
        }
    }

    /// The loss-detection and undo counters (zero for a connection that never
    /// sent).
    pub fn loss_counters(&self) -> crate::tcp::info::LossCounters {
        self.cc
            .as_deref()
            .map_or_else(Default::default, |s| *s.loss())
    }

    /// The per-connection counters.
    pub fn counters(&self) -> &ConnCounters {
        &self.counters
    }

    /// The armed timer `ss -o` would show, and when it fires.
    pub fn next_timer(&self) -> Option<(crate::tcp::timer::Timer, Instant)> {
        self.timers.next()
    }
}
