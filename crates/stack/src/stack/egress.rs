//! `poll_transmit`: stack-made packets first (RSTs, ICMP), then the sockets with
//! something to say, in turn; IP headers and fragmentation.

use core::net::IpAddr;

use super::tcp_input::Requeue;
use super::{Entry, Socket, Stack};
use crate::ip::fragment::Fragmenter;
use crate::time::Instant;
use crate::wire::{
    AddrPair, Ecn, IpProtocol, Ipv4Options, Ipv4Packet, Ipv4Repr, Ipv6Packet, Ipv6Repr, TcpFlags,
    UdpPacket, UdpRepr,
};

/// The IPv4 header without options.
const IPV4_HEADER: usize = 20;
/// The IPv6 fixed header.
const IPV6_HEADER: usize = 40;

pub(super) fn ip_header_len(addr: IpAddr) -> usize {
    match addr {
        IpAddr::V4(_) => IPV4_HEADER,
        IpAddr::V6(_) => IPV6_HEADER,
    }
}

impl Stack {
    /// Writes the next packet to send into `buf` (a whole IP packet) and returns its
    /// length, or `None` when nothing is waiting. `buf` should hold the MTU; a
    /// stack-made packet that does not fit is dropped, and a TCP segment shrinks
    /// to fit.
    #[inline]
    pub fn poll_transmit(&mut self, now: Instant, buf: &mut [u8]) -> Option<usize> {
        // A driver polls until this answers `None`: that last call, the most
        // common one, looks at three queues and nothing more.
        if self.burst.is_none() && self.control.is_empty() && self.tx_queue.is_empty() {
            return None;
        }
        let now = self.clock.advance(now);
        self.poll_transmit_queued(now, buf)
    }

    /// [`poll_transmit`](Self::poll_transmit) when a packet may be waiting.
    #[inline(never)]
    fn poll_transmit_queued(&mut self, now: Instant, buf: &mut [u8]) -> Option<usize> {
        // The next full segment of a flight in progress, if nothing else changed
        // since the last call (see `burst`).
        if self.burst.is_some() {
            if let Some(n) = self.poll_burst(now, buf) {
                return Some(n);
            }
        }
        if !self.control.is_empty() {
            if let Some(n) = self.pop_control(buf) {
                return Some(n);
            }
        }
        while let Some(handle) = self.tx_queue.pop_front() {
            if let Some(n) = self.transmit_socket(now, handle, buf) {
                return Some(n);
            }
            // UDP may have queued fragments as control packets.
            if !self.control.is_empty() {
                if let Some(n) = self.pop_control(buf) {
                    return Some(n);
                }
            }
        }
        None
    }

    /// Copies the next stack-made packet that fits into `buf` (one that does not fit
    /// is dropped). Out of line: RSTs and ICMP errors are the rare packets.
    #[cold]
    #[inline(never)]
    fn pop_control(&mut self, buf: &mut [u8]) -> Option<usize> {
        while let Some(packet) = self.control.pop_front() {
            if let Some(out) = buf.get_mut(..packet.len()) {
                out.copy_from_slice(&packet);
                self.count_out_ip(packet.first().is_some_and(|b| b >> 4 == 6));
                return Some(packet.len());
            }
        }
        None
    }

    /// The next packet of the socket at `handle`, just taken from the transmit
    /// queue. A TCP connection's segment is written here, within the one slab
    /// look-up that also takes the socket off the queue.
    fn transmit_socket(
        &mut self,
        now: Instant,
        handle: crate::socket::SocketHandle,
        buf: &mut [u8],
    ) -> Option<usize> {
        let checksum = self.config.checksum_tx;
        let entry = self.sockets.get_mut(handle)?;
        entry.tx_queued = false;
        let slot = match &mut entry.socket {
            Socket::Tcp(slot) => slot,
            Socket::Udp(_) => return self.transmit_udp(now, handle, buf),
            Socket::Listener(_) => return None,
        };
        let conn = &mut slot.conn;
        let before = conn.state();
        let ipv6 = conn.remote().is_ipv6();
        let hl = if ipv6 { IPV6_HEADER } else { IPV4_HEADER };
        let end = buf.len().min(usize::from(conn.path_mtu()));
        let sent = match buf.get_mut(hl..end) {
            Some(space) => conn.poll_segment(now, space, checksum),
            None => None,
        };
        let Some((sent, template)) = sent else {
            self.after_empty_poll(now, handle, before);
            return None;
        };
        let ident = if ipv6 {
            0
        } else {
            self.ipv4_ident = self.ipv4_ident.wrapping_add(1);
            self.ipv4_ident
        };
        // The IP header from the sums the TCP checksum's pseudo-header took.
        template.emit_ip_header(buf, sent.len, conn.tx_ecn(), ident, checksum);
        let stats = &mut self.stats.tcp;
        if sent.retransmission {
            stats.retrans_segs += 1;
        } else {
            stats.out_segs += 1;
        }
        if sent.flags.contains(TcpFlags::RST) {
            stats.out_rsts += 1;
        }
        if sent.flags.contains(TcpFlags::CWR) && !sent.flags.contains(TcpFlags::SYN) {
            stats.ecn_cwr_sent += 1;
        }
        // Back in the queue only if it has more to say: otherwise the next call
        // would ask it once more for nothing (a second pass over the connection and
        // the stack's book-keeping per segment sent). What that empty pass did
        // (arm the persist timer, free a finished connection) happens here.
        let more = conn.after_transmit(now);
        if conn.only_timers_changed(before) {
            // All `after_conn_requeue` would do: the timer heap and the queue,
            // through the entry already in hand (no second slab look-up). The
            // connection is in neither CLOSED nor TIME-WAIT: nothing to free.
            let pushed = super::timers::schedule(&mut self.timers, entry, handle);
            if more {
                entry.enqueue_tx(&mut self.tx_queue, handle);
            }
            if pushed {
                self.drop_stale_timers();
            }
            self.count_out_ip(ipv6);
            if more {
                self.arm_burst(now, handle);
            }
            return Some(hl + sent.len);
        } else {
            let requeue = if more { Requeue::Yes } else { Requeue::No };
            self.after_conn_requeue(now, handle, before, requeue);
        }
        if !more && self.conn_releasable(handle) {
            self.release_conn(handle);
        }
        self.count_out_ip(ipv6);
        Some(hl + sent.len)
    }

    /// A connection in the transmit queue had nothing to send (rare: a
    /// connection is queued when it has something to say): it may be done.
    #[cold]
    #[inline(never)]
    fn after_empty_poll(
        &mut self,
        now: Instant,
        handle: crate::socket::SocketHandle,
        before: crate::tcp::state::State,
    ) {
        if self.conn_releasable(handle) {
            self.release_conn(handle);
        } else {
            self.after_conn_requeue(now, handle, before, Requeue::No);
        }
    }

    pub(super) fn count_out_ip(&mut self, ipv6: bool) {
        if ipv6 {
            self.stats.ip6.out_requests += 1;
        } else {
            self.stats.ip.out_requests += 1;
        }
    }

    #[inline(never)]
    fn transmit_udp(
        &mut self,
        now: Instant,
        handle: crate::socket::SocketHandle,
        buf: &mut [u8],
    ) -> Option<usize> {
        let checksum = self.tx_checksum();
        let (local, dst, data, ttl, dscp) = match self.sockets.get_mut(handle) {
            Some(Entry {
                socket: Socket::Udp(udp),
                ..
            }) => {
                let (dst, src, data) = udp.take_send()?;
                // A source the caller chose (`udp_send_from_to`) stands for the
                // socket's address.
                (src.unwrap_or(udp.local), dst, data, udp.ttl, udp.dscp)
            }
            _ => return None,
        };
        let src_ip = if local.ip().is_unspecified() {
            match self.source_for(dst.ip()) {
                Some(ip) => ip,
                None => {
                    self.stats.ip.out_no_routes += 1;
                    self.after_udp_send(handle);
                    return None;
                }
            }
        } else {
            local.ip()
        };
        let repr = UdpRepr {
            src_port: local.port(),
            dst_port: dst.port(),
            payload: &data,
        };
        let Some(addrs) = AddrPair::new(src_ip, dst.ip()) else {
            self.after_udp_send(handle);
            return None;
        };
        let hl = ip_header_len(dst.ip());
        let total = hl + repr.buffer_len();
        let mtu = usize::from(self.path_mtu(now, dst.ip()));
        self.stats.udp.out_datagrams += 1;
        if total <= mtu && total <= buf.len() {
            repr.emit(
                &mut UdpPacket::new_unchecked(&mut buf[hl..total]),
                &addrs,
                checksum,
            );
            self.write_ip_header(
                buf,
                src_ip,
                dst.ip(),
                IpProtocol::Udp,
                total - hl,
                ttl,
                dscp,
                Ecn::NotEct,
                false,
            );
            self.after_udp_send(handle);
            self.count_out_ip(dst.is_ipv6());
            return Some(total);
        }
        // Too big for the path: build it whole, then fragment into control packets.
        if total > 65535 + if dst.is_ipv6() { IPV6_HEADER } else { 0 } {
            self.after_udp_send(handle);
            return None;
        }
        let mut whole = vec![0u8; total];
        repr.emit(
            &mut UdpPacket::new_unchecked(&mut whole[hl..]),
            &addrs,
            checksum,
        );
        self.write_ip_header(
            &mut whole,
            src_ip,
            dst.ip(),
            IpProtocol::Udp,
            total - hl,
            ttl,
            dscp,
            Ecn::NotEct,
            false,
        );
        self.queue_fragments(&whole, dst.ip(), mtu);
        self.after_udp_send(handle);
        None
    }

    /// Cuts `whole`, an IP packet to `dst` too big for `mtu` (IPv4: without DF),
    /// into fragments queued as stack-made packets; those beyond
    /// `max_control_queue` are discarded and counted. False (counted in
    /// `FragFails`) if it cannot be cut.
    pub(super) fn queue_fragments(&mut self, whole: &[u8], dst: IpAddr, mtu: usize) -> bool {
        let ident = self.rng.u32();
        let fragmenter = match dst {
            IpAddr::V4(_) => Fragmenter::ipv4(whole, mtu.min(65535) as u16),
            IpAddr::V6(_) => Fragmenter::ipv6(whole, mtu.min(65535) as u16, ident),
        };
        let stats = if dst.is_ipv6() {
            &mut self.stats.ip6
        } else {
            &mut self.stats.ip
        };
        let Ok(f) = fragmenter else {
            stats.frag_fails += 1;
            return false;
        };
        stats.frag_oks += 1;
        for i in 0..f.count() {
            let mut frag = vec![0u8; f.fragment_len(i).unwrap_or(0)];
            if let Ok(n) = f.write(i, &mut frag) {
                frag.truncate(n);
                if self.control.len() < self.config.max_control_queue {
                    self.control.push_back(frag);
                    if dst.is_ipv6() {
                        self.stats.ip6.frag_creates += 1;
                    } else {
                        self.stats.ip.frag_creates += 1;
                    }
                } else if dst.is_ipv6() {
                    self.stats.ip6.out_discards += 1;
                } else {
                    self.stats.ip.out_discards += 1;
                }
            }
        }
        true
    }

    /// A datagram left the socket's send queue (sent, fragmented or dropped).
    fn after_udp_send(&mut self, handle: crate::socket::SocketHandle) {
        if let Some(Entry {
            socket: Socket::Udp(udp),
            ..
        }) = self.sockets.get_mut(handle)
        {
            if udp.has_send() {
                self.queue_tx(handle);
            } else {
                self.raise(handle, crate::event::EventKind::Writable);
            }
        }
    }

    /// Writes an IP header for `payload_len` bytes of `protocol` at the start of
    /// `buf`; returns its length.
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn write_ip_header(
        &mut self,
        buf: &mut [u8],
        src: IpAddr,
        dst: IpAddr,
        protocol: IpProtocol,
        payload_len: usize,
        ttl: u8,
        dscp: u8,
        ecn: Ecn,
        dont_frag: bool,
    ) -> usize {
        match (src, dst) {
            (IpAddr::V4(s), IpAddr::V4(d)) => {
                self.ipv4_ident = self.ipv4_ident.wrapping_add(1);
                let repr = Ipv4Repr {
                    src_addr: s,
                    dst_addr: d,
                    protocol,
                    payload_len,
                    ttl,
                    dscp,
                    ecn,
                    ident: self.ipv4_ident,
                    dont_frag,
                    more_frags: false,
                    frag_offset: 0,
                    options: Ipv4Options::default(),
                };
                repr.emit(
                    &mut Ipv4Packet::new_unchecked(&mut buf[..IPV4_HEADER]),
                    self.config.checksum_tx,
                );
                IPV4_HEADER
            }
            (IpAddr::V6(s), IpAddr::V6(d)) => {
                let repr = Ipv6Repr {
                    src_addr: s,
                    dst_addr: d,
                    next_header: protocol,
                    payload_len,
                    hop_limit: ttl,
                    dscp,
                    ecn,
                    flow_label: 0,
                };
                repr.emit(&mut Ipv6Packet::new_unchecked(&mut buf[..IPV6_HEADER]));
                IPV6_HEADER
            }
            _ => 0,
        }
    }

    /// A whole IP packet around `payload`, as a new buffer (for stack-made packets).
    #[cfg(test)]
    pub(crate) fn build_ip_packet(
        &mut self,
        src: IpAddr,
        dst: IpAddr,
        protocol: IpProtocol,
        payload: &[u8],
        ttl: u8,
        dscp: u8,
    ) -> Option<Vec<u8>> {
        self.build_ip_packet_with(src, dst, protocol, payload.len(), ttl, dscp, |out| {
            out.copy_from_slice(payload)
        })
    }

    /// A whole IP packet whose `payload_len`-byte payload `write` fills in place:
    /// one allocation per stack-made packet.
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn build_ip_packet_with(
        &mut self,
        src: IpAddr,
        dst: IpAddr,
        protocol: IpProtocol,
        payload_len: usize,
        ttl: u8,
        dscp: u8,
        write: impl FnOnce(&mut [u8]),
    ) -> Option<Vec<u8>> {
        self.build_ip_packet_df(src, dst, protocol, payload_len, ttl, dscp, true, write)
    }

    /// [`build_ip_packet_with`](Self::build_ip_packet_with), IPv4's DF flag as
    /// `dont_frag` says (clear for a packet to be fragmented).
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn build_ip_packet_df(
        &mut self,
        src: IpAddr,
        dst: IpAddr,
        protocol: IpProtocol,
        payload_len: usize,
        ttl: u8,
        dscp: u8,
        dont_frag: bool,
        write: impl FnOnce(&mut [u8]),
    ) -> Option<Vec<u8>> {
        if src.is_ipv4() != dst.is_ipv4() {
            return None;
        }
        let hl = ip_header_len(dst);
        let mut packet = vec![0u8; hl + payload_len];
        write(&mut packet[hl..]);
        self.write_ip_header(
            &mut packet,
            src,
            dst,
            protocol,
            payload_len,
            ttl,
            dscp,
            Ecn::NotEct,
            dont_frag,
        );
        Some(packet)
    }
}
