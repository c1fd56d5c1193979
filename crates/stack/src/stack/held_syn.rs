//! The SYN-level decision: a listener that holds each new SYN unanswered until
//! the application decides (gVisor's `tcp.NewForwarder` and
//! `ForwarderRequest::Complete(sendReset)`). A tun2socks proxy first tries the
//! upstream connection, then completes the handshake only if that worked, and
//! otherwise refuses the way the upstream did (a RST for a refusal, an ICMP
//! unreachable, or nothing): the client sees what it would have seen from the
//! real host, and no data arrives before the proxy is ready (the "RST because
//! the socket wasn't created yet" race of shadowsocks-rust#1412 cannot happen).
//!
//! - [`Stack::tcp_hold_syns`] turns it on for a listener (any listener; made for
//!   the transparent ones of [`Stack::tcp_listen_transparent`]);
//! - a new SYN is held and the listener raises [`EventKind::Acceptable`];
//!   [`Stack::tcp_next_syn`] hands out the held SYNs' tuples, in arrival order;
//! - [`Stack::tcp_complete_syn`] answers one with the SYN-ACK (the connection
//!   then appears in the accept queue as any other once its handshake ends);
//!   [`Stack::tcp_refuse_syn`] answers with a RST, an ICMP destination
//!   unreachable, or nothing.
//!
//! # Bounds
//! Held SYNs count against the listener's SYN queue (`TcpConfig::syn_backlog`)
//! like connections in SYN-RECEIVED; a SYN beyond it is dropped and counted
//! (`TcpExtListenDrops`): SYN cookies do not apply, since a cookie's SYN-ACK
//! would complete the handshake without the application. A SYN that ended
//! TIME-WAIT is held beyond the bound, as a listener that answers SYNs itself
//! takes it (Linux's "TW buckets are converted to open requests without
//! limitations"): its connection must open past the old incarnation's
//! numbers, which neither a drop nor a cookie would do; those are bounded by
//! the TIME-WAIT connections and records they end. A repeated SYN of a
//! held tuple takes the held one's place (the SYN-ACK answers the latest: a
//! client that gave up and reconnected on the tuple has a new ISN, and one
//! may drop options from its retries); it is not held twice. A held SYN
//! expires after what a SYN-RECEIVED connection lives (the initial RTO doubled
//! over `TcpConfig::synack_retries` retransmissions: 63 s by default): lazily,
//! at the next SYN to the listener or the next of these calls on it, so it
//! needs no timer. What is kept for the held SYNs (their map, arrival and
//! hand-out queues) stays within a multiple of them whether or not the
//! application asks for them.

use std::collections::{BTreeMap, VecDeque};

use super::demux::{FourTuple, TupleHash};
use super::ingress::IpMeta;
use super::tcp_input::OpenChoice;
use super::{Entry, Socket, Stack};
use crate::error::Error;
use crate::event::EventKind;
use crate::socket::SocketHandle;
use crate::tcp::conn::Opening;
use crate::tcp::SynInfo;
use crate::time::{Duration, Instant};
use crate::wire::{
    AddrPair, ChecksumMode, Ecn, IpProtocol, SeqNumber, TcpFlags, TcpOptions, TcpPacket, TcpRepr,
};

/// How [`Stack::tcp_refuse_syn`] answers a held SYN.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SynRefusal {
    /// A RST (`<SEQ=0><ACK=SEG.SEQ+1><CTL=RST,ACK>`): the client's connect
    /// fails with "connection refused".
    Reset,
    /// An ICMP destination unreachable from the SYN's destination (IPv4 host
    /// unreachable, IPv6 address unreachable), quoting the SYN's headers as the
    /// stack rebuilt them: the client's connect fails with "host unreachable"
    /// (a Linux client at once: it takes the error as fatal in SYN-SENT, as
    /// the `l4 tun2socks` tests see; a layer4 client, which keeps it as a soft
    /// error as RFC 1122 section 4.2.3.9 says, once its SYN retries run out).
    HostUnreachable,
    /// Nothing: the client retries its SYN and, unless a later one is held
    /// and completed, times out.
    Silent,
}

/// One held SYN: what the connection is opened from when it is completed.
#[derive(Debug, Clone, Copy)]
struct HeldSyn {
    syn: SynInfo,
    expires: Instant,
    /// The ISS when the SYN ended TIME-WAIT (`time_wait::reincarnation_iss`).
    iss: Option<SeqNumber>,
}

/// A listener's held SYNs (`Listener::held`), bounded by its SYN queue.
#[derive(Debug, Default)]
pub(crate) struct HeldSyns {
    /// Keyed by tuples a peer chooses: a `BTreeMap`, O(log n) whatever the
    /// keys (no hash to flood), n within the SYN queue's bound.
    syns: BTreeMap<FourTuple, HeldSyn>,
    /// Every held tuple in arrival order with its expiry, for expiring (the
    /// lifetime is the same for all, so the oldest expires first); entries
    /// decided before they expire stay until compacted.
    arrivals: VecDeque<(Instant, FourTuple)>,
    /// The held SYNs [`Stack::tcp_next_syn`] has not handed out yet, in
    /// arrival order, each by its expiry and tuple as in `arrivals` (a tuple
    /// held again after it expired is another SYN: handed out once more, its
    /// old entry skipped). Expired ones leave from the front as in `arrivals`,
    /// decided ones when compacted, so an application that never asks keeps
    /// it within the held SYNs too.
    fresh: VecDeque<(Instant, FourTuple)>,
}

impl HeldSyns {
    #[cfg(test)]
    pub(crate) fn sizes(&self) -> (usize, usize, usize) {
        (self.syns.len(), self.arrivals.len(), self.fresh.len())
    }

    /// Drops the SYNs that expired by `now`; returns how many.
    fn expire(&mut self, now: Instant) -> usize {
        let mut expired = 0;
        while let Some(&(at, tuple)) = self.arrivals.front() {
            if at > now {
                break;
            }
            self.arrivals.pop_front();
            if self.is_held(at, &tuple) {
                self.syns.remove(&tuple);
                expired += 1;
            }
        }
        while self.fresh.front().is_some_and(|&(at, _)| at <= now) {
            self.fresh.pop_front();
        }
        expired
    }

    /// Whether the SYN of `tuple` that expires `at` is still held (not
    /// decided, and not another SYN of the tuple held since).
    fn is_held(&self, at: Instant, tuple: &FourTuple) -> bool {
        self.syns.get(tuple).is_some_and(|h| h.expires == at)
    }

    /// Takes `tuple`'s held SYN (its decision), keeping the queues of stale
    /// entries within twice the held SYNs.
    fn take(&mut self, tuple: &FourTuple) -> Option<HeldSyn> {
        let held = self.syns.remove(tuple)?;
        if self.arrivals.len() > 2 * self.syns.len() + 64 {
            let syns = &self.syns;
            let held =
                |(at, t): &(Instant, FourTuple)| syns.get(t).is_some_and(|h| h.expires == *at);
            self.arrivals.retain(held);
            self.fresh.retain(held);
        }
        Some(held)
    }
}

impl Stack {
    /// How long a held SYN waits for a decision: what a connection in
    /// SYN-RECEIVED lives, its SYN-ACK sent and resent `synack_retries` times
    /// with the RTO doubling from the initial one.
    fn held_syn_lifetime(&self) -> Duration {
        let retries = self.tcp_config.synack_retries.min(16);
        let rto: Duration = self.tcp_config.rtt.initial_rto;
        rto.saturating_mul((2u32 << retries) - 1)
    }

    /// Holds each new SYN to `listener` until the application decides (see the
    /// [module docs](self)), or (`on` false) answers SYNs at once again, the
    /// SYNs held so far dropped unanswered.
    pub fn tcp_hold_syns(&mut self, listener: SocketHandle, on: bool) -> Result<(), Error> {
        let l = self.listener_mut(listener)?;
        match (on, l.held.is_some()) {
            (true, false) => l.held = Some(Box::default()),
            (false, true) => {
                let dropped = l.held.take().map_or(0, |h| h.syns.len());
                l.syn_pending = l.syn_pending.saturating_sub(dropped);
            }
            _ => {}
        }
        Ok(())
    }

    /// The next held SYN of `listener` not handed out yet, oldest first: its
    /// tuple (local: the SYN's destination; remote: the client).
    /// `Error::WouldBlock` when none is waiting (the listener raises
    /// [`EventKind::Acceptable`] when one arrives, as for a connection to
    /// accept: a driver that holds SYNs calls this and
    /// [`tcp_accept`](Self::tcp_accept) on that event); `Error::WrongSocketType`
    /// for a listener that does not hold SYNs.
    pub fn tcp_next_syn(
        &mut self,
        now: Instant,
        listener: SocketHandle,
    ) -> Result<FourTuple, Error> {
        let now = self.clock.advance(now);
        let l = self.listener_mut(listener)?;
        let Some(held) = l.held.as_deref_mut() else {
            return Err(Error::WrongSocketType);
        };
        let expired = held.expire(now);
        l.syn_pending = l.syn_pending.saturating_sub(expired);
        while let Some((at, tuple)) = held.fresh.pop_front() {
            if held.is_held(at, &tuple) {
                if !held.fresh.is_empty() {
                    self.raise(listener, EventKind::Acceptable);
                }
                return Ok(tuple);
            }
        }
        Err(Error::WouldBlock)
    }

    /// Completes the handshake of the SYN of `tuple` held by `listener`: the
    /// SYN-ACK goes out now, and the connection joins the accept queue once
    /// the client's ACK arrives, as any other. `Error::TimedOut` when no SYN of
    /// that tuple is held (it expired, or was decided already);
    /// `Error::LimitReached` at `TcpConfig::max_connections`, `Error::AddrInUse`
    /// when a connection or a TIME-WAIT record of the tuple exists (made after
    /// the SYN was held: the application's own connection); the SYN is then
    /// dropped.
    pub fn tcp_complete_syn(
        &mut self,
        now: Instant,
        listener: SocketHandle,
        tuple: FourTuple,
    ) -> Result<(), Error> {
        let now = self.clock.advance(now);
        let tuple = FourTuple::new(tuple.local, tuple.remote);
        let held = self.take_held_syn(now, listener, &tuple)?;
        let limit = self.tcp_conn_count >= self.tcp_config.max_connections;
        let mut hash = TupleHash::default();
        // A TIME-WAIT record of the tuple was made after the SYN was held (a
        // connection the application opened on it itself): the SYN is older
        // than that incarnation, and a connection beside the record would
        // take the ISN clock's ISS, not one past the record's numbers.
        let taken = self.conns.contains(&tuple, &mut hash, &self.sockets)
            || self.time_wait.contains(&tuple, &mut hash);
        let l = self.listener_mut(listener)?;
        if limit || taken {
            l.syn_pending = l.syn_pending.saturating_sub(1);
            if limit {
                self.stats.tcp.connection_limit_drops += 1;
                return Err(Error::LimitReached);
            }
            return Err(Error::AddrInUse);
        }
        // Still counted in `syn_pending`: now as a connection in SYN-RECEIVED.
        let (options, cc) = (l.options, l.cc);
        let route_mtu = self.routes.lookup(tuple.remote.ip()).and_then(|r| r.mtu);
        let mut choice = OpenChoice::new(tuple.local, tuple.remote, route_mtu, options, cc);
        choice.iss = held.iss;
        self.open_conn(
            now,
            &tuple,
            hash,
            &mut choice,
            Opening::Passive(&held.syn),
            Some(listener),
        );
        Ok(())
    }

    /// Refuses the SYN of `tuple` held by `listener`, answering as `how` says.
    /// `Error::TimedOut` when no SYN of that tuple is held.
    pub fn tcp_refuse_syn(
        &mut self,
        now: Instant,
        listener: SocketHandle,
        tuple: FourTuple,
        how: SynRefusal,
    ) -> Result<(), Error> {
        let now = self.clock.advance(now);
        let tuple = FourTuple::new(tuple.local, tuple.remote);
        let held = self.take_held_syn(now, listener, &tuple)?;
        if let Ok(l) = self.listener_mut(listener) {
            l.syn_pending = l.syn_pending.saturating_sub(1);
        }
        let syn = TcpRepr {
            src_port: tuple.remote.port(),
            dst_port: tuple.local.port(),
            seq_number: held.syn.seq,
            ack_number: SeqNumber(0),
            flags: TcpFlags::SYN,
            window_len: held.syn.window,
            urgent_pointer: 0,
            options: TcpOptions::default(),
            payload: &[],
        };
        match how {
            SynRefusal::Reset => self.reply_rst(now, tuple.local, tuple.remote, &syn),
            SynRefusal::HostUnreachable => self.refuse_unreachable(now, &tuple, &syn),
            SynRefusal::Silent => {}
        }
        Ok(())
    }

    /// An ICMP destination unreachable for the SYN `syn` of `tuple`, quoting
    /// its headers rebuilt (what the client matches an error with: addresses,
    /// ports, sequence number).
    fn refuse_unreachable(&mut self, now: Instant, tuple: &FourTuple, syn: &TcpRepr<'_>) {
        let (src, dst) = (tuple.remote.ip(), tuple.local.ip());
        let Some(addrs) = AddrPair::new(src, dst) else {
            return;
        };
        let Some(packet) =
            self.build_ip_packet_with(src, dst, IpProtocol::Tcp, syn.buffer_len(), 64, 0, |out| {
                syn.emit(
                    &mut TcpPacket::new_unchecked(out),
                    &addrs,
                    ChecksumMode::Enabled,
                )
            })
        else {
            return;
        };
        let header = super::egress::ip_header_len(dst);
        let meta = IpMeta {
            src,
            dst,
            protocol: IpProtocol::Tcp,
            payload: &packet[header..],
            packet: &packet,
            broadcast: false,
            ecn: Ecn::NotEct,
            l4_csum_verified: true,
        };
        self.send_host_unreachable(now, meta);
    }

    /// Takes the held SYN of `tuple` from `listener`, after expiring those
    /// whose time is up (their count leaves the SYN queue; the taken one's is
    /// the caller's to settle).
    fn take_held_syn(
        &mut self,
        now: Instant,
        listener: SocketHandle,
        tuple: &FourTuple,
    ) -> Result<HeldSyn, Error> {
        let l = self.listener_mut(listener)?;
        let Some(held) = l.held.as_deref_mut() else {
            return Err(Error::WrongSocketType);
        };
        let expired = held.expire(now);
        let taken = held.take(tuple);
        l.syn_pending = l.syn_pending.saturating_sub(expired);
        taken.ok_or(Error::TimedOut)
    }

    /// A SYN (`seg`, of tuple `key`, with IP-ECN `ecn`) to `listener`, which
    /// holds SYNs: held, unless its tuple is already held or the SYN queue is
    /// full. Out of line: `listener_segment` calls it for holding listeners
    /// only.
    #[cold]
    #[inline(never)]
    pub(crate) fn hold_syn(
        &mut self,
        now: Instant,
        listener: SocketHandle,
        key: &FourTuple,
        seg: &TcpRepr<'_>,
        ecn: Ecn,
        recycled_iss: Option<SeqNumber>,
    ) {
        let lifetime = self.held_syn_lifetime();
        let backlog = self.tcp_config.syn_backlog;
        let Ok(l) = self.listener_mut(listener) else {
            return;
        };
        let Some(held) = l.held.as_deref_mut() else {
            return;
        };
        let expired = held.expire(now);
        l.syn_pending = l.syn_pending.saturating_sub(expired);
        let syn = SynInfo {
            ip_ecn: ecn,
            ..SynInfo::from_repr(seg)
        };
        if let Some(h) = held.syns.get_mut(key) {
            // Another SYN of a held tuple: the client's retransmission, or a
            // new connection of the tuple (a new ISN) after its first gave
            // up. Nothing has answered the held one, so the latest SYN is the
            // one the client waits on: its sequence number and options are
            // what the SYN-ACK must acknowledge and agree to (a client may
            // also drop options from its later SYNs). Still held once, in its
            // place. A repeated SYN that itself ended TIME-WAIT (of a
            // connection the application opened on the tuple after the
            // first was held) brings the ISS past that incarnation.
            h.syn = syn;
            h.iss = recycled_iss.or(h.iss);
            return;
        }
        // A SYN that ended TIME-WAIT is held beyond a full queue, as
        // `listener_segment` takes it: dropped, the tuple's TIME-WAIT would
        // be gone and the client's retry would get the ISN clock's ISS.
        if l.syn_pending >= backlog && recycled_iss.is_none() {
            self.stats.tcp.listen_drops += 1;
            return;
        }
        l.syn_pending += 1;
        let expires = now + lifetime;
        held.syns.insert(
            *key,
            HeldSyn {
                syn,
                expires,
                iss: recycled_iss,
            },
        );
        held.arrivals.push_back((expires, *key));
        held.fresh.push_back((expires, *key));
        self.raise(listener, EventKind::Acceptable);
    }

    fn listener_mut(&mut self, handle: SocketHandle) -> Result<&mut super::Listener, Error> {
        match self.sockets.get_mut(handle) {
            Some(Entry {
                socket: Socket::Listener(l),
                ..
            }) => Ok(l),
            Some(_) => Err(Error::WrongSocketType),
            None => Err(Error::InvalidHandle),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use core::net::{IpAddr, Ipv4Addr, SocketAddr};

    fn tuple(port: u16) -> FourTuple {
        FourTuple::new(
            SocketAddr::new(IpAddr::V4(Ipv4Addr::new(203, 0, 113, 7)), 443),
            SocketAddr::new(IpAddr::V4(Ipv4Addr::new(10, 0, 0, 1)), port),
        )
    }

    fn syn() -> HeldSyn {
        HeldSyn {
            syn: SynInfo::from_repr(&TcpRepr {
                src_port: 1,
                dst_port: 2,
                seq_number: SeqNumber(0),
                ack_number: SeqNumber(0),
                flags: TcpFlags::SYN,
                window_len: 0,
                urgent_pointer: 0,
                options: TcpOptions::default(),
                payload: &[],
            }),
            expires: Instant::from_nanos(0),
            iss: None,
        }
    }

    /// Deciding SYNs quickly leaves stale entries in the arrival and fresh
    /// queues; they are compacted, never more than twice the held ones plus
    /// slack.
    #[test]
    fn decided_syns_leave_the_queues_bounded() {
        let mut held = HeldSyns::default();
        for i in 0..10_000u16 {
            let t = tuple(i);
            let at = Instant::from_nanos(1_000_000 + u64::from(i));
            held.syns.insert(
                t,
                HeldSyn {
                    expires: at,
                    ..syn()
                },
            );
            held.arrivals.push_back((at, t));
            held.fresh.push_back((at, t));
            assert!(held.take(&t).is_some());
            assert!(held.arrivals.len() <= 2 * held.syns.len() + 65);
            assert!(held.fresh.len() <= 2 * held.syns.len() + 65);
        }
        assert_eq!(held.expire(Instant::from_nanos(u64::MAX)), 0);
    }
}
