//! A listener's SYN cookies (RFC 4987 section 3.6): the SYN-ACK sent instead of a
//! half-open connection when the SYN queue is full, and the connection rebuilt from
//! an ACK that returns a valid cookie. The cookie itself is
//! [`crate::tcp::syncookie`]'s.

//= https://www.rfc-editor.org/rfc/rfc4987#section-3.6

use core::net::SocketAddr;

use super::{Entry, Socket, Stack};
use crate::socket::SocketHandle;
use crate::tcp::syncookie::{
    decode_ts_options, encode_ts_options, mss_index, mss_table, CookieOptions, COOKIE_STEP_SECS,
    MAX_COOKIE_AGE,
};
use crate::tcp::{Connection, OpenParams, State, SynInfo};
use crate::time::{Duration, Instant};
use crate::wire::{AddrPair, Ecn, IpProtocol, TcpFlags, TcpRepr};

/// How long after its last cookie a listener checks unmatched ACKs as cookies:
/// as long as a cookie stays valid.
const COOKIE_VALID: Duration = Duration::from_secs(COOKIE_STEP_SECS * MAX_COOKIE_AGE as u64);

/// The timestamp clock of a connection with offset zero (milliseconds).
fn ts_ms(now: Instant) -> u32 {
    (now.as_nanos() / 1_000_000) as u32
}

/// The MSS a cookie's index stands for.
fn table_mss(remote: SocketAddr, index: u8) -> u16 {
    let table = mss_table(remote);
    table.get(usize::from(index)).copied().unwrap_or(table[0])
}

impl Stack {
    /// Answers the SYN `seg` to a listener whose SYN queue is full with a cookie
    /// SYN-ACK, keeping no state.
    pub(super) fn send_cookie_syn_ack(
        &mut self,
        now: Instant,
        listener: SocketHandle,
        local: SocketAddr,
        remote: SocketAddr,
        seg: &TcpRepr<'_>,
    ) {
        let Some(Entry {
            socket: Socket::Listener(l),
            ..
        }) = self.sockets.get(listener)
        else {
            return;
        };
        let (options, cc) = (l.options, l.cc);
        let syn = SynInfo::from_repr(seg);
        let config = &self.tcp_config;
        let index = mss_index(remote, syn.mss.unwrap_or(0));
        let ts_offset = self.isn.ts_offset(local, remote);
        // Without timestamps nothing but the MSS survives the cookie: the
        // connection runs without window scaling, SACK and ECN.
        let with_ts = config.timestamps && syn.tsval.is_some();
        let kept = CookieOptions {
            window_scale: syn
                .window_scale
                .filter(|_| with_ts && config.window_scaling)
                .map(|s| s.min(14)),
            sack_permitted: with_ts && config.sack && syn.sack_permitted,
            ecn: with_ts && syn.ecn_setup && options.ecn.accepts(),
        };
        let offered = SynInfo {
            mss: Some(table_mss(remote, index)),
            window_scale: kept.window_scale,
            sack_permitted: kept.sack_permitted,
            ecn_setup: kept.ecn,
            // The cookie has no room for AccECN: an AccECN SYN is answered with
            // classic ECN (RFC 9768 section 3.1.2 lets a server do so).
            accecn_setup: false,
            ..syn
        };
        // The SYN-ACK's TSval carries `kept` in its low bits: give the throw-away
        // connection a clock offset that makes its TSval exactly that.
        let ms = ts_ms(now);
        let syn_ack_offset = if with_ts {
            encode_ts_options(ms.wrapping_add(ts_offset), kept).wrapping_sub(ms)
        } else {
            ts_offset
        };
        let params = OpenParams {
            local,
            remote,
            iss: self.syn_cookies.cookie(now, local, remote, syn.seq, index),
            ts_offset: syn_ack_offset,
            path_mtu: self.path_mtu(now, remote.ip()),
            options,
            cc,
        };
        let mut conn = Connection::accept(now, self.tcp_config.clone(), params, &offered);
        let Some(addrs) = AddrPair::new(local.ip(), remote.ip()) else {
            return;
        };
        let checksum = self.tx_checksum();
        let mut segment = [0u8; 60];
        let Some(n) = conn.poll_transmit(now, &mut segment, &addrs, checksum) else {
            return;
        };
        let Some(bytes) = segment.get(..n) else {
            return;
        };
        let Some(packet) = self.build_ip_packet_with(
            local.ip(),
            remote.ip(),
            IpProtocol::Tcp,
            n,
            options.ttl,
            options.dscp,
            |out| out.copy_from_slice(bytes),
        ) else {
            return;
        };
        if self.queue_control(packet) {
            self.stats.tcp.syncookies_sent += 1;
            self.stats.tcp.out_segs += 1;
            if let Some(Entry {
                socket: Socket::Listener(l),
                ..
            }) = self.sockets.get_mut(listener)
            {
                l.cookie_sent_at = Some(now);
            }
        }
    }

    /// An ACK (no SYN, no RST) to a listener that matches no connection: if the
    /// listener sent cookies lately, checks ACK - 1 as one. Returns false when
    /// cookies do not apply (the caller answers with a RST); true when the ACK was
    /// taken: a connection made from it, or the ACK dropped and counted.
    pub(super) fn cookie_ack(
        &mut self,
        now: Instant,
        listener: SocketHandle,
        local: SocketAddr,
        remote: SocketAddr,
        seg: &TcpRepr<'_>,
        ecn: Ecn,
    ) -> bool {
        if !self.tcp_config.syn_cookies || seg.flags.intersects(TcpFlags::SYN | TcpFlags::RST) {
            return false;
        }
        let Some(Entry {
            socket: Socket::Listener(l),
            ..
        }) = self.sockets.get(listener)
        else {
            return false;
        };
        let recent = l
            .cookie_sent_at
            .is_some_and(|t| now.saturating_duration_since(t) < COOKIE_VALID);
        if !recent {
            return false;
        }
        let (options, cc) = (l.options, l.cc);
        let accept_full = l.accept_queue.len() >= l.backlog;
        let peer_isn = seg.seq_number - 1u32;
        let cookie = seg.ack_number - 1u32;
        let index = match self.syn_cookies.check(now, local, remote, peer_isn, cookie) {
            Ok(index) => index,
            Err(_) => {
                self.stats.tcp.syncookies_failed += 1;
                return true;
            }
        };
        let ts = seg.options.timestamp.filter(|_| self.tcp_config.timestamps);
        let kept = match ts {
            Some(t) => match decode_ts_options(t.tsecr) {
                Some(kept) => kept,
                None => {
                    self.stats.tcp.syncookies_failed += 1;
                    return true;
                }
            },
            None => CookieOptions::default(),
        };
        self.stats.tcp.syncookies_recv += 1;
        if accept_full {
            // As for a half-open connection's ACK: the client retries, and with
            // the cookie still valid a later ACK can get in.
            self.stats.tcp.listen_overflows += 1;
            return true;
        }
        if self.tcp_conn_count >= self.tcp_config.max_connections {
            self.stats.tcp.connection_limit_drops += 1;
            return true;
        }
        let syn = SynInfo {
            seq: peer_isn,
            window: seg.window_len,
            mss: Some(table_mss(remote, index)),
            window_scale: kept.window_scale,
            sack_permitted: kept.sack_permitted,
            tsval: ts.map(|t| t.tsval),
            ecn_setup: kept.ecn,
            accecn_setup: false,
            ip_ecn: Ecn::NotEct,
        };
        let params = OpenParams {
            local,
            remote,
            iss: cookie,
            ts_offset: self.isn.ts_offset(local, remote),
            path_mtu: self.path_mtu(now, remote.ip()),
            options,
            cc,
        };
        let conn = Connection::accept_cookie(now, self.tcp_config.clone(), params, &syn);
        let handle = self.insert_conn(conn, Some(listener), Default::default());
        if !self.pmtu.is_empty() {
            // It may have taken a lowered estimate: raised when that expires.
            self.note_pmtu_cached(now, handle, remote.ip());
        }
        if let Some(Entry {
            socket: Socket::Listener(l),
            ..
        }) = self.sockets.get_mut(listener)
        {
            l.syn_pending += 1;
        }
        self.stats.tcp.passive_opens += 1;
        // The same path a handshake's ACK takes: SYN-RECEIVED to ESTABLISHED, into
        // the accept queue.
        // With the stack's ring pool, moved out for the call (the connection is
        // borrowed from the stack), as on a connection's own path.
        let mut rings = core::mem::take(&mut self.conns.ring_pool);
        self.with_conn(now, handle, |c| {
            c.handle_segment_ecn_pooled(now, seg, ecn, &mut rings)
        });
        self.conns.ring_pool = rings;
        if self
            .conn(handle)
            .is_some_and(|c| c.state() == State::SynReceived)
        {
            // The ACK did not complete it (PAWS, a bad window): keep nothing.
            self.release_conn(handle);
        }
        true
    }
}
