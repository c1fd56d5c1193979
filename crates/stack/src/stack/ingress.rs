//! `handle_packet`: IP validation (RFC 791, RFC 8200), reassembly, and dispatch to
//! TCP, UDP and ICMP. Malformed packets are counted and dropped, never a panic.
//! The common TCP packet of either family (IPv4 without options, not a fragment:
//! `Ipv4TcpSegment`; IPv6 with TCP right after the fixed header:
//! `Ipv6TcpSegment`) takes a fixed-layout path with the general path's checks
//! and counters (`handle_packet_start`, `handle_ipv6_start`); `handle_packets`
//! takes runs of predicted segments of either.

use core::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, SocketAddrV4, SocketAddrV6};

use super::demux::FourTuple;

use super::{Entry, Socket, Stack};
use crate::ip::reassembly::Reassembled;
use crate::socket::SocketHandle;
use crate::time::Instant;
use crate::wire::checksum;
use crate::wire::{
    AddrPair, ChecksumMode, Ecn, Error as WireError, IpProtocol, Ipv4Packet, Ipv4Repr,
    Ipv4TcpSegment, Ipv6Packet, Ipv6Repr, Ipv6TcpSegment, TcpPacket, TcpRepr,
};

/// TCP segments longer than this (header included) have their checksum verified
/// after parsing, with the payload summed as it is copied (`Stack::tcp_segment`);
/// shorter ones are verified whole while parsing.
const DEFER_CHECKSUM_ABOVE: usize = 128;

/// An IP packet reduced to what the transport layer needs.
#[derive(Debug, Clone, Copy)]
pub(crate) struct IpMeta<'a> {
    pub(crate) src: IpAddr,
    pub(crate) dst: IpAddr,
    pub(crate) protocol: IpProtocol,
    /// The transport header and payload.
    pub(crate) payload: &'a [u8],
    /// The whole packet (for ICMP errors that quote it).
    pub(crate) packet: &'a [u8],
    /// Whether the destination was a broadcast address.
    pub(crate) broadcast: bool,
    /// The ECN codepoint of the IP header (RFC 3168 section 5).
    pub(crate) ecn: Ecn,
    /// The device vouched for the TCP checksum ([`RxOffload::l4_csum_verified`]).
    pub(crate) l4_csum_verified: bool,
}

/// What the device that delivered a packet already did for it (checksum offload
/// on receive), for [`Stack::handle_packet_offloaded`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct RxOffload {
    /// The device verified the TCP checksum, or the packet never crossed a wire
    /// and its checksum was never computed (a segment the local kernel built and
    /// left to the device, `CHECKSUM_PARTIAL`): the stack does not sum a TCP
    /// segment's bytes again. IP header checksums, UDP and ICMP are verified
    /// whatever this says. Default `false`.
    pub l4_csum_verified: bool,
}

impl RxOffload {
    /// Nothing done by the device: everything is verified (what
    /// [`Stack::handle_packet`] assumes).
    pub const NONE: RxOffload = RxOffload {
        l4_csum_verified: false,
    };

    /// The device verified the TCP checksum.
    pub const L4_CSUM_VERIFIED: RxOffload = RxOffload {
        l4_csum_verified: true,
    };
}

/// Test-only switches of the receive shortcuts, to compare them with the general
/// path they shorten (`rx_path_tests`).
#[cfg(test)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct RxPaths {
    /// IPv4 and IPv6 TCP segments of the common layout take the fixed-layout
    /// path (`handle_packet_start`, `handle_ipv6_start`).
    pub(crate) fixed_layout: bool,
    /// How many IPv4 segments the fixed-layout path took.
    pub(crate) fixed_v4: u64,
    /// How many IPv6 segments the fixed-layout path took.
    pub(crate) fixed_v6: u64,
    /// Header prediction (`Stack::tcp_segment_predicted`).
    pub(crate) prediction: bool,
    /// [`Stack::handle_packets`] takes runs of predicted segments; off, it hands
    /// each packet to [`Stack::handle_packet`].
    pub(crate) batch: bool,
    /// How many segments header prediction took.
    pub(crate) predicted: u64,
}

#[cfg(test)]
impl Default for RxPaths {
    fn default() -> RxPaths {
        RxPaths {
            fixed_layout: true,
            fixed_v4: 0,
            fixed_v6: 0,
            prediction: true,
            batch: true,
            predicted: 0,
        }
    }
}

impl Stack {
    /// Whether the fixed-layout path runs (always, but in tests that turn it off).
    #[inline(always)]
    fn rx_fixed_layout_on(&self) -> bool {
        #[cfg(test)]
        return self.rx_paths.fixed_layout;
        #[cfg(not(test))]
        true
    }

    /// Whether header prediction runs (always, but in tests that turn it off).
    #[inline(always)]
    pub(crate) fn rx_prediction_on(&self) -> bool {
        #[cfg(test)]
        return self.rx_paths.prediction;
        #[cfg(not(test))]
        true
    }

    /// Whether [`handle_packets`](Self::handle_packets) takes runs (always, but in
    /// tests that turn it off).
    #[inline(always)]
    fn rx_batching_on(&self) -> bool {
        #[cfg(test)]
        return self.rx_paths.batch;
        #[cfg(not(test))]
        true
    }

    /// An IP packet arrived (IPv4 or IPv6, by its version nibble).
    pub fn handle_packet(&mut self, now: Instant, packet: &[u8]) {
        self.handle_packet_offloaded(now, packet, RxOffload::NONE);
    }

    /// IP packets arrived together, all at `now` (a batch from `recvmmsg`, a
    /// TUN device read in a loop, a link's queue): the same as
    /// [`handle_packet`](Self::handle_packet) for each in turn, leaving the stack
    /// exactly as that would (connections, counters, events, timers, and every
    /// byte it sends afterwards), at less cost per packet for the common case of
    /// a bulk transfer.
    ///
    /// Consecutive packets that are the next in-order data segments of one
    /// connection, each one the connection takes on its predicted path (header
    /// prediction: ESTABLISHED, nothing of its own in flight, only ACK or
    /// ACK+PSH, the next sequence number, all of it fits, same window, PAWS
    /// passes, checksum good), make a run: one connection look-up, one address
    /// check, and the book-keeping after the segments (events raised, timers
    /// scheduled) once for the run. Every packet is still fully validated: IP
    /// header checksum and lengths, TCP checksum, PAWS, the window. The ACK
    /// decision (every second full-sized segment, RFC 9293 SHLD-19, quick ACKs),
    /// TS.Recent and the counters are taken per segment as always. Runs are
    /// IPv4's or IPv6's (a segment of the other family ends one). Any other
    /// packet (another connection, out of order, a duplicate, a bad checksum,
    /// other flags, not TCP of the common layout of its family, ICMP, UDP, a
    /// fragment or extension header) ends the run and takes the path
    /// `handle_packet` takes.
    ///
    /// Like `handle_packet`, this verifies every checksum; a driver whose device
    /// vouched for them calls
    /// [`handle_packet_offloaded`](Self::handle_packet_offloaded) per packet.
    pub fn handle_packets<'a, I>(&mut self, now: Instant, packets: I)
    where
        I: IntoIterator<Item = &'a [u8]>,
    {
        let now = self.clock.advance(now);
        let mut packets = packets.into_iter();
        let mut next = packets.next();
        while let Some(packet) = next {
            next = packets.next();
            if next.is_some() && self.rx_batching_on() {
                // A run needs a second packet; a lone one is `handle_packet`'s.
                next = self.handle_packet_run(now, packet, next, &mut packets);
            } else {
                self.handle_packet(now, packet);
            }
        }
    }

    /// [`handle_packets`](Self::handle_packets) from `first`: handles it as
    /// `handle_packet` does, and when it is a predicted segment, the packets
    /// that continue its run: `second`, then those of `rest`. Returns the first
    /// packet it did not handle.
    fn handle_packet_run<'a>(
        &mut self,
        now: Instant,
        first: &'a [u8],
        second: Option<&'a [u8]>,
        rest: &mut impl Iterator<Item = &'a [u8]>,
    ) -> Option<&'a [u8]> {
        if first.first().is_some_and(|b| b >> 4 == 6) {
            return self.handle_ipv6_run(now, first, second, rest);
        }
        let Some((handle, tuple)) = self.handle_packet_start(now, first, false) else {
            return second;
        };
        let next = self.continue_run(now, handle, &tuple, second, rest);
        self.finish_predicted_run(handle);
        next
    }

    /// The packets (`second`, then those of `rest`) that continue the run whose
    /// first segment (of tuple `first`) started on connection `handle`: segments
    /// of the same addresses and ports,
    /// of the layout [`Ipv4TcpSegment`] reads, long enough to have their checksum
    /// summed while copied, which the connection takes on its predicted path
    /// (`Connection::handle_predicted_next`), as `tcp_segment_for` would have,
    /// less the book-keeping the run's end does once
    /// (`Stack::finish_predicted_run`). The address and port checks of
    /// the fixed-layout path and the connection look-up give for them what
    /// they gave for `first`, and are not made again. Returns the first packet
    /// that does not continue the run, untouched but for the payload of a
    /// segment whose checksum fails, copied into the receive buffer past the
    /// readable bytes (which the general path redoes identically).
    fn continue_run<'a>(
        &mut self,
        now: Instant,
        handle: SocketHandle,
        first: &RunTuple,
        second: Option<&'a [u8]>,
        rest: &mut impl Iterator<Item = &'a [u8]>,
    ) -> Option<&'a [u8]> {
        let checksum_rx = self.config.checksum_rx;
        // The connection is held for the whole run (no other socket is touched).
        let Stack {
            sockets,
            tx_queue,
            stats,
            #[cfg(test)]
            rx_paths,
            ..
        } = self;
        let Some(Entry {
            socket: Socket::Tcp(slot),
            tx_queued,
            ..
        }) = sockets.get_mut(handle)
        else {
            return second;
        };
        let mut packet = second?;
        loop {
            // A segment with TCP options other than the timestamp is not
            // predicted: `handle_packet_run` takes it, as it takes one the
            // connection refuses.
            let Some(seg) = Ipv4TcpSegment::parse_common(packet, checksum_rx) else {
                return Some(packet);
            };
            if seg.src_addr != first.src_addr
                || seg.dst_addr != first.dst_addr
                || seg.tcp.src_port != first.src_port
                || seg.tcp.dst_port != first.dst_port
                || seg.segment.len() <= DEFER_CHECKSUM_ABOVE
                || !slot
                    .conn
                    .handle_predicted_next(now, &seg.tcp, seg.ecn, seg.header_sum())
            {
                return Some(packet);
            }
            // As `count_fixed_layout_segment` counts it.
            stats.ip.in_receives += 1;
            stats.ip.in_delivers += 1;
            stats.tcp.in_segs += 1;
            #[cfg(test)]
            {
                rx_paths.predicted += 1;
            }
            // As after the run's first segment (`tcp_segment_predicted`): the
            // transmit queue takes the connection after the first segment that
            // leaves it owing one (`Entry::enqueue_tx`).
            if !*tx_queued && slot.conn.wants_to_send() {
                *tx_queued = true;
                tx_queue.push_back(handle);
            }
            packet = rest.next()?;
        }
    }

    /// An IP packet arrived from a device that did some of the receive work
    /// (`offload`): with [`RxOffload::l4_csum_verified`] a TCP segment's checksum
    /// is not summed again, which on a 64 KB super-packet from a TUN with offloads
    /// is the largest part of the stack's work. A driver must only say so for
    /// packets the device vouched for; [`Stack::handle_packet`] verifies everything.
    pub fn handle_packet_offloaded(&mut self, now: Instant, packet: &[u8], offload: RxOffload) {
        let now = self.clock.advance(now);
        if let Some((handle, _)) = self.handle_packet_start(now, packet, offload.l4_csum_verified) {
            self.finish_predicted_run(handle);
        }
    }

    /// [`handle_packet_offloaded`](Self::handle_packet_offloaded) (`verified`:
    /// [`RxOffload::l4_csum_verified`]), except that a segment its connection
    /// takes on its predicted path starts a run (see
    /// [`handle_packets`](Self::handle_packets)): its connection's handle and
    /// tuple are returned and the book-keeping after it is left to
    /// `finish_predicted_run` (see `tcp_segment_run_start`). One copy of the
    /// fixed-layout path serves both.
    #[inline(never)]
    fn handle_packet_start(
        &mut self,
        now: Instant,
        packet: &[u8],
        verified: bool,
    ) -> Option<(SocketHandle, RunTuple)> {
        match packet.first().map(|b| b >> 4) {
            Some(4) => {
                let seg = match self.rx_fixed_layout_on() {
                    true => Ipv4TcpSegment::parse(packet, self.config.checksum_rx),
                    false => None,
                };
                if let Some(seg) = &seg {
                    if let Some(header_sum) = self.fixed_layout_checks(seg, verified) {
                        self.count_fixed_layout_segment();
                        let key = fixed_layout_key(seg);
                        let handle =
                            self.tcp_segment_run_start(now, &key, &seg.tcp, seg.ecn, header_sum)?;
                        return Some((handle, RunTuple::of(seg)));
                    }
                }
                self.handle_ipv4(now, packet, true, verified);
            }
            Some(6) => {
                if let Some(handle) = self.handle_ipv6_start(now, packet, verified) {
                    self.finish_predicted_run(handle);
                }
            }
            _ => {
                // Neither IPv4 nor IPv6: a malformed packet.
                crate::hint::cold_path();
                self.stats.ip.in_receives += 1;
                self.stats.ip.in_hdr_errors += 1;
            }
        }
        None
    }

    /// The common packet of a TCP connection (IPv4 without options, not a
    /// fragment: [`Ipv4TcpSegment`], the handshake's segments with their options
    /// too) on a path that reads it from fixed offsets. It makes every check
    /// [`handle_ipv4`](Self::handle_ipv4) and `deliver_tcp` make and hands
    /// `tcp_segment` the same segment with the same counters; it returns false,
    /// having changed nothing, for any packet those checks would not pass
    /// untouched (an error to count, a broadcast, a port 0, a short segment
    /// whose checksum fails), which then takes the general path.
    #[cfg(test)]
    pub(crate) fn handle_ipv4_tcp_fixed(
        &mut self,
        now: Instant,
        bytes: &[u8],
        verified: bool,
    ) -> bool {
        let Some(seg) = Ipv4TcpSegment::parse(bytes, self.config.checksum_rx) else {
            return false;
        };
        let Some(header_sum) = self.fixed_layout_checks(&seg, verified) else {
            return false;
        };
        self.count_fixed_layout_segment();
        let key = fixed_layout_key(&seg);
        self.tcp_segment_for(now, &key, &seg.tcp, seg.ecn, header_sum);
        true
    }

    /// The checks of the fixed-layout path (`handle_packet_start`) on `seg`, a
    /// segment [`Ipv4TcpSegment::parse`] read: the sum of its pseudo-header and
    /// header when its checksum is still to verify (`Some(Some(sum))`),
    /// `Some(None)` when it verified or is not to verify, or `None` for a packet
    /// the general path takes. Changes nothing but the address cache
    /// (`v4_peers_ok`).
    // By reference, not returning the segment: it stays where the parse made it.
    #[inline(always)]
    fn fixed_layout_checks(
        &mut self,
        seg: &Ipv4TcpSegment<'_>,
        verified: bool,
    ) -> Option<Option<u16>> {
        let tcp = &seg.tcp;
        if tcp.src_port == 0 || tcp.dst_port == 0 || !self.v4_peers_ok(seg.src_addr, seg.dst_addr) {
            return None;
        }
        self.fixed_layout_checksum(verified, seg.segment.len(), seg.header_sum(), tcp.payload)
    }

    /// The checksum half of the fixed-layout checks (both families), for a
    /// segment of `len` bytes whose pseudo-header and header sum to `header_sum`:
    /// as `deliver_tcp` decides, a long segment has its checksum finished over the
    /// payload while it is copied (`Some(Some(header_sum))`), a short one is
    /// verified here (`Some(None)`, or `None` when it fails), and one the device
    /// vouched for is not summed (`Some(None)`).
    #[inline(always)]
    fn fixed_layout_checksum(
        &self,
        verified: bool,
        len: usize,
        header_sum: u16,
        payload: &[u8],
    ) -> Option<Option<u16>> {
        let verify = self.config.checksum_rx == ChecksumMode::Enabled && !verified;
        if !verify {
            Some(None)
        } else if len > DEFER_CHECKSUM_ABOVE {
            Some(Some(header_sum))
        } else if checksum::combine(&[header_sum, payload_sum(payload)]) == 0xffff {
            Some(None)
        } else {
            None
        }
    }

    /// The counters of a segment the fixed-layout path takes, as `handle_ipv4`
    /// and `deliver_tcp` count it.
    #[inline(always)]
    fn count_fixed_layout_segment(&mut self) {
        #[cfg(test)]
        {
            self.rx_paths.fixed_v4 += 1;
        }
        self.stats.ip.in_receives += 1;
        self.stats.ip.in_delivers += 1;
        self.stats.tcp.in_segs += 1;
    }

    /// Whether a TCP segment from `src` to `dst` passes the address checks of
    /// `handle_ipv4` and `deliver_tcp` without an error: `dst` is one of our
    /// addresses (or one a transparent listener takes, `transparent`) and not a
    /// broadcast address, `src` can be a peer (RFC 9293
    /// MUST-57 and MUST-63, see `deliver_tcp`). The answer for the last pair that
    /// passed is kept.
    fn v4_peers_ok(&mut self, src: Ipv4Addr, dst: Ipv4Addr) -> bool {
        if self.rx_v4_peers == Some((src, dst)) {
            return true;
        }
        let ok = (self.is_local(IpAddr::V4(dst))
            || self.takes_foreign(IpAddr::V4(dst), IpProtocol::Tcp))
            && !self.is_broadcast_v4(dst)
            && super::demux::is_unicast(IpAddr::V4(src))
            && !self.is_broadcast_v4(src);
        if ok {
            self.rx_v4_peers = Some((src, dst));
        }
        ok
    }

    // Out of line and cold: the fixed-layout path takes nearly every packet.
    #[cold]
    #[inline(never)]
    fn handle_ipv4(&mut self, now: Instant, bytes: &[u8], count: bool, verified: bool) {
        if count {
            self.stats.ip.in_receives += 1;
        }
        let Ok(packet) = Ipv4Packet::new_checked(bytes) else {
            self.stats.ip.in_hdr_errors += 1;
            return;
        };
        let repr = match Ipv4Repr::parse(&packet, self.config.checksum_rx) {
            Ok(r) => r,
            Err(_) => {
                self.stats.ip.in_hdr_errors += 1;
                return;
            }
        };
        let dst = IpAddr::V4(repr.dst_addr);
        let broadcast = self.is_broadcast_v4(repr.dst_addr);
        let fragment = repr.more_frags || repr.frag_offset != 0;
        // Not ours: taken only for a transparent socket (`transparent`), an
        // ICMP error only whole.
        let foreign = !self.is_local(dst) && !broadcast;
        let src = IpAddr::V4(repr.src_addr);
        let upper = (!fragment).then(|| packet.payload());
        if foreign
            && !(self.transparent.any_on()
                && self.takes_foreign_packet(src, dst, repr.protocol, upper))
        {
            self.stats.ip.in_addr_errors += 1;
            return;
        }
        if fragment {
            self.stats.ip.reasm_reqds += 1;
            match self.reassembler.handle_ipv4(now, bytes) {
                Reassembled::Complete(whole) => {
                    self.stats.ip.reasm_oks += 1;
                    self.handle_ipv4(now, &whole, false, false);
                }
                Reassembled::Held | Reassembled::NotFragment | Reassembled::Dropped(_) => {}
            }
            // The reassembler counts every failure, evictions at its bounds too.
            self.stats.ip.reasm_fails = self.reassembler.stats_v4().reasm_fails;
            return;
        }
        let meta = IpMeta {
            src,
            dst,
            protocol: repr.protocol,
            payload: packet.payload(),
            packet: &bytes[..usize::from(packet.total_len()).min(bytes.len())],
            broadcast,
            ecn: repr.ecn,
            l4_csum_verified: verified,
        };
        self.deliver(now, meta);
    }

    /// An IPv6 packet (`verified`: [`RxOffload::l4_csum_verified`]): a TCP
    /// segment of the common layout ([`Ipv6TcpSegment`]: TCP right after the
    /// fixed header) on a fixed-layout path as IPv4's in `handle_packet_start`,
    /// which makes every check `handle_ipv6` and `deliver_tcp` make and hands
    /// `tcp_segment_run_start` the same segment with the same counters; any
    /// other packet, or one those checks would not pass untouched, on the
    /// general path. As `handle_packet_start` for IPv4, a segment its connection
    /// takes on its predicted path starts a run: its connection's handle is
    /// returned and the book-keeping after it left to `finish_predicted_run`
    /// (`handle_ipv6_run`, or at once in `handle_packet_start`). Out of line:
    /// one call in `handle_packet_start` (where `handle_ipv6` was called) and
    /// one in `handle_ipv6_run`.
    #[inline(never)]
    fn handle_ipv6_start(
        &mut self,
        now: Instant,
        packet: &[u8],
        verified: bool,
    ) -> Option<SocketHandle> {
        if self.rx_fixed_layout_on() {
            if let Some(seg) = Ipv6TcpSegment::parse(packet) {
                if let Some(header_sum) = self.fixed_layout_checks_v6(&seg, verified) {
                    #[cfg(test)]
                    {
                        self.rx_paths.fixed_v6 += 1;
                    }
                    // As `handle_ipv6`, `deliver` and `deliver_tcp` count it.
                    self.stats.ip6.in_receives += 1;
                    self.stats.ip6.in_delivers += 1;
                    self.stats.tcp.in_segs += 1;
                    let key = fixed_layout_key_v6(&seg);
                    return self.tcp_segment_run_start(now, &key, &seg.tcp, seg.ecn, header_sum);
                }
            }
        }
        self.handle_ipv6(now, packet, true, verified);
        None
    }

    /// [`handle_packet_run`](Self::handle_packet_run) from an IPv6 packet
    /// `first`: a run of predicted segments over IPv6, its later packets taken
    /// by [`continue_run_v6`](Self::continue_run_v6). (Its own function, called
    /// before `handle_packet_start`, so that the IPv4 run keeps its code.)
    #[inline(never)]
    fn handle_ipv6_run<'a>(
        &mut self,
        now: Instant,
        first: &'a [u8],
        second: Option<&'a [u8]>,
        rest: &mut impl Iterator<Item = &'a [u8]>,
    ) -> Option<&'a [u8]> {
        let Some(handle) = self.handle_ipv6_start(now, first, false) else {
            return second;
        };
        // `first` parsed when it started the run: parsed again for its tuple.
        let next = match Ipv6TcpSegment::parse(first) {
            Some(seg) => {
                let tuple = fixed_layout_key_v6(&seg);
                self.continue_run_v6(now, handle, &tuple, second, rest)
            }
            None => second,
        };
        self.finish_predicted_run(handle);
        next
    }

    /// [`continue_run`](Self::continue_run) over IPv6: the packets that
    /// continue the run whose first segment, of tuple `first` (local, remote),
    /// started on connection `handle`: segments of [`Ipv6TcpSegment`]'s layout
    /// with the same addresses and ports, long enough to have their checksum
    /// summed while copied, which the connection takes on its predicted path.
    /// The same steps as `continue_run` (which keeps IPv4's own copy, its code
    /// unchanged); returns the first packet that does not continue the run.
    fn continue_run_v6<'a>(
        &mut self,
        now: Instant,
        handle: SocketHandle,
        first: &FourTuple,
        second: Option<&'a [u8]>,
        rest: &mut impl Iterator<Item = &'a [u8]>,
    ) -> Option<&'a [u8]> {
        let Stack {
            sockets,
            tx_queue,
            stats,
            #[cfg(test)]
            rx_paths,
            ..
        } = self;
        let Some(Entry {
            socket: Socket::Tcp(slot),
            tx_queued,
            ..
        }) = sockets.get_mut(handle)
        else {
            return second;
        };
        let mut packet = second?;
        loop {
            let Some(seg) = Ipv6TcpSegment::parse(packet) else {
                return Some(packet);
            };
            if fixed_layout_key_v6(&seg) != *first
                || seg.segment.len() <= DEFER_CHECKSUM_ABOVE
                || !slot
                    .conn
                    .handle_predicted_next(now, &seg.tcp, seg.ecn, seg.header_sum())
            {
                return Some(packet);
            }
            // As `handle_ipv6_start` counts it.
            stats.ip6.in_receives += 1;
            stats.ip6.in_delivers += 1;
            stats.tcp.in_segs += 1;
            #[cfg(test)]
            {
                rx_paths.predicted += 1;
                rx_paths.fixed_v6 += 1;
            }
            if !*tx_queued && slot.conn.wants_to_send() {
                *tx_queued = true;
                tx_queue.push_back(handle);
            }
            packet = rest.next()?;
        }
    }

    /// [`fixed_layout_checks`](Self::fixed_layout_checks) for an IPv6 segment:
    /// the header sum to finish the checksum with, `Some(None)` when nothing is
    /// left to verify, or `None` for a packet the general path takes (a port 0,
    /// a destination not ours, a source that cannot be a peer, a short segment
    /// whose checksum fails). Changes nothing.
    #[inline(always)]
    fn fixed_layout_checks_v6(
        &self,
        seg: &Ipv6TcpSegment<'_>,
        verified: bool,
    ) -> Option<Option<u16>> {
        let tcp = &seg.tcp;
        if tcp.src_port == 0 || tcp.dst_port == 0 || !self.v6_peers_ok(seg.src_addr, seg.dst_addr) {
            return None;
        }
        self.fixed_layout_checksum(verified, seg.segment.len(), seg.header_sum(), tcp.payload)
    }

    /// Whether a TCP segment from `src` to `dst` passes the address checks of
    /// `handle_ipv6` and `deliver_tcp`: `dst` is one of our addresses, `src`
    /// can be a peer (a foreign `dst` a transparent listener takes too,
    /// `transparent`; `demux::is_unicast`: not unspecified, multicast, loopback
    /// or IPv4-mapped; RFC 9293 MUST-63, see `deliver_tcp`).
    #[inline(always)]
    fn v6_peers_ok(&self, src: Ipv6Addr, dst: Ipv6Addr) -> bool {
        // The foreign case out of line with the address by reference: built
        // here as an `IpAddr` for it, the destination cost every segment a
        // copy to the stack (~0.07 % of `connect --ipv6`'s instructions).
        (self.is_local(IpAddr::V6(dst)) || self.takes_foreign_v6_tcp(&dst))
            && super::demux::is_unicast(IpAddr::V6(src))
    }

    #[inline(never)]
    fn handle_ipv6(&mut self, now: Instant, bytes: &[u8], count: bool, verified: bool) {
        if count {
            self.stats.ip6.in_receives += 1;
        }
        let Ok(packet) = Ipv6Packet::new_checked(bytes) else {
            self.stats.ip6.in_hdr_errors += 1;
            return;
        };
        let Ok(repr) = Ipv6Repr::parse(&packet) else {
            self.stats.ip6.in_hdr_errors += 1;
            return;
        };
        let dst = IpAddr::V6(repr.dst_addr);
        // Not ours: taken only for a transparent socket, once the protocol is
        // known (`transparent`).
        let foreign = !self.is_local(dst);
        if foreign && !self.may_take_foreign(dst) {
            self.stats.ip6.in_addr_errors += 1;
            return;
        }
        let upper = match packet.walk_chain() {
            Ok(u) => u,
            Err(_) => {
                self.stats.ip6.in_hdr_errors += 1;
                return;
            }
        };
        if upper.fragment.is_some() {
            self.stats.ip6.reasm_reqds += 1;
            match self.reassembler.handle_ipv6(now, bytes) {
                Reassembled::Complete(whole) => {
                    self.stats.ip6.reasm_oks += 1;
                    self.handle_ipv6(now, &whole, false, false);
                }
                Reassembled::Held | Reassembled::NotFragment | Reassembled::Dropped(_) => {}
            }
            self.stats.ip6.reasm_fails = self.reassembler.stats_v6().reasm_fails;
            return;
        }
        let Some(protocol) = upper.protocol() else {
            // No Next Header: nothing to deliver.
            return;
        };
        let payload = packet.payload();
        let upper_bytes = payload.get(upper.offset..);
        let src = IpAddr::V6(repr.src_addr);
        if foreign && !self.takes_foreign_packet(src, dst, protocol, upper_bytes) {
            self.stats.ip6.in_addr_errors += 1;
            return;
        }
        let Some(upper_bytes) = upper_bytes else {
            self.stats.ip6.in_hdr_errors += 1;
            return;
        };
        let total = 40 + payload.len();
        let meta = IpMeta {
            src,
            dst,
            protocol,
            payload: upper_bytes,
            packet: &bytes[..total.min(bytes.len())],
            broadcast: false,
            ecn: repr.ecn,
            l4_csum_verified: verified,
        };
        self.deliver(now, meta);
    }

    /// Whether `dst` is the limited broadcast or the directed broadcast of one of
    /// our IPv4 prefixes.
    /// Whether `addr` is a broadcast address (limited, or directed to one of our
    /// IPv4 prefixes).
    pub(crate) fn is_broadcast(&self, addr: IpAddr) -> bool {
        match addr {
            IpAddr::V4(a) => self.is_broadcast_v4(a),
            IpAddr::V6(_) => false,
        }
    }

    fn is_broadcast_v4(&self, dst: Ipv4Addr) -> bool {
        if dst == Ipv4Addr::BROADCAST {
            return true;
        }
        self.config.addresses.iter().any(|a| match a {
            crate::ip::cidr::IpCidr::V4(c) => {
                c.prefix_len() < 31 && c.contains(dst) && {
                    let host_mask = !u32::from(c.netmask());
                    u32::from(dst) & host_mask == host_mask
                }
            }
            crate::ip::cidr::IpCidr::V6(_) => false,
        })
    }

    fn deliver(&mut self, now: Instant, meta: IpMeta<'_>) {
        let v6 = meta.dst.is_ipv6();
        let ip_stats = if v6 {
            &mut self.stats.ip6
        } else {
            &mut self.stats.ip
        };
        match meta.protocol {
            IpProtocol::Tcp | IpProtocol::Udp | IpProtocol::Icmp | IpProtocol::Icmpv6 => {
                ip_stats.in_delivers += 1;
            }
            _ => {}
        }
        match meta.protocol {
            IpProtocol::Tcp if !meta.broadcast => self.deliver_tcp(now, meta),
            IpProtocol::Udp => self.deliver_udp(now, meta),
            IpProtocol::Icmp if !v6 => self.deliver_icmpv4(now, meta),
            IpProtocol::Icmpv6 if v6 => self.deliver_icmpv6(now, meta),
            _ => {
                ip_stats.in_unknown_protos += 1;
                if !v6 && !meta.broadcast {
                    self.send_icmpv4_proto_unreachable(now, meta);
                }
            }
        }
    }

    fn deliver_tcp(&mut self, now: Instant, meta: IpMeta<'_>) {
        self.stats.tcp.in_segs += 1;
        let Some(addrs) = AddrPair::new(meta.src, meta.dst) else {
            self.stats.tcp.in_errs += 1;
            return;
        };
        let Ok(packet) = TcpPacket::new_checked(meta.payload) else {
            self.stats.tcp.in_errs += 1;
            return;
        };
        // A segment with a payload has its checksum verified later, over the header
        // here and over the payload while it is copied into the receive buffer
        // (`tcp_segment`): the payload is read once instead of twice.
        // A segment the device vouched for is not summed at all.
        let verify = self.config.checksum_rx == ChecksumMode::Enabled && !meta.l4_csum_verified;
        let defer = verify && meta.payload.len() > DEFER_CHECKSUM_ABOVE;
        let mode = if defer || !verify {
            ChecksumMode::Offloaded
        } else {
            self.config.checksum_rx
        };
        let seg = match TcpRepr::parse(&packet, &addrs, mode) {
            Ok(seg) => seg,
            Err(e) => {
                self.stats.tcp.in_errs += 1;
                if e == WireError::BadChecksum || (defer && !packet.verify_checksum(&addrs)) {
                    self.stats.tcp.in_csum_errors += 1;
                }
                return;
            }
        };
        let header_sum = defer.then(|| {
            let header_len = meta.payload.len() - seg.payload.len();
            checksum::combine(&[
                addrs.pseudo_header(IpProtocol::Tcp, meta.payload.len()),
                checksum::data(meta.payload.get(..header_len).unwrap_or_default()),
            ])
        });
        // Port 0 is reserved: no socket owns it and nothing answers it (Linux drops
        // such segments too).
        // RFC 9293 MUST-57 (segments to broadcast or multicast are dropped) is met
        // above: the destination is one of our unicast addresses. MUST-63: a
        // segment from a source that cannot be a peer (broadcast, multicast,
        // unspecified) is dropped and never answered.
        if !super::demux::is_unicast(meta.src) || self.is_broadcast(meta.src) {
            self.stats.tcp.in_errs += 1;
            return;
        }
        if seg.src_port == 0 || seg.dst_port == 0 {
            self.stats.tcp.in_errs += 1;
            return;
        }
        let remote = SocketAddr::new(meta.src, seg.src_port);
        let local = SocketAddr::new(meta.dst, seg.dst_port);
        self.tcp_segment(now, local, remote, &seg, meta.ecn, header_sum);
    }

    /// The checksum mode for output.
    pub(crate) fn tx_checksum(&self) -> ChecksumMode {
        self.config.checksum_tx
    }
}

/// What makes a segment part of a run of [`Stack::handle_packets`]: the same
/// addresses and ports as the run's first.
#[derive(Debug, Clone, Copy)]
struct RunTuple {
    src_addr: Ipv4Addr,
    dst_addr: Ipv4Addr,
    src_port: u16,
    dst_port: u16,
}

impl RunTuple {
    #[inline(always)]
    fn of(seg: &Ipv4TcpSegment<'_>) -> RunTuple {
        RunTuple {
            src_addr: seg.src_addr,
            dst_addr: seg.dst_addr,
            src_port: seg.tcp.src_port,
            dst_port: seg.tcp.dst_port,
        }
    }
}

/// [`checksum::data`] of a short segment's payload, without its call for the
/// empty payload of most handshake and closing segments (whose sum is zero).
#[inline(always)]
fn payload_sum(payload: &[u8]) -> u16 {
    if payload.is_empty() {
        0
    } else {
        checksum::data(payload)
    }
}

/// The tuple (local, remote) of a segment the fixed-layout path takes.
#[inline(always)]
fn fixed_layout_key(seg: &Ipv4TcpSegment<'_>) -> FourTuple {
    FourTuple {
        local: SocketAddr::V4(SocketAddrV4::new(seg.dst_addr, seg.tcp.dst_port)),
        remote: SocketAddr::V4(SocketAddrV4::new(seg.src_addr, seg.tcp.src_port)),
    }
}

/// The tuple (local, remote) of an IPv6 segment the fixed-layout path takes.
#[inline(always)]
fn fixed_layout_key_v6(seg: &Ipv6TcpSegment<'_>) -> FourTuple {
    FourTuple {
        local: SocketAddr::V6(SocketAddrV6::new(seg.dst_addr, seg.tcp.dst_port, 0, 0)),
        remote: SocketAddr::V6(SocketAddrV6::new(seg.src_addr, seg.tcp.src_port, 0, 0)),
    }
}
