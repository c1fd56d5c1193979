//! ICMP and ICMPv6: echo replies, errors delivered to the socket they concern
//! (RFC 1122 4.2.3.9, RFC 5927), path MTU updates (RFC 1191, RFC 8201), and the
//! errors the stack sends (port and protocol unreachable), rate-limited.
//!
//! An error reaches here addressed to one of the stack's addresses, or to the
//! foreign address of a transparent connection or UDP socket whose packet it
//! quotes: ingress takes the latter only after asking [`Stack::quote_owner`]
//! (`transparent::takes_foreign_icmp`), the same look-up that delivers it here,
//! so both kinds of error are matched, checked and acted on by one path.

use core::net::{IpAddr, SocketAddr};

use super::demux::{FourTuple, TupleHash};
use super::egress::ip_header_len;
use super::ingress::IpMeta;
use super::{Entry, Socket, Stack};
use crate::error::Error;
use crate::event::EventKind;
use crate::socket::SocketHandle;
use crate::tcp::IcmpNotice;
use crate::time::Instant;
use crate::wire::{
    AddrPair, Error as WireError, Icmpv4DstUnreachable, Icmpv4Packet, Icmpv4Repr,
    Icmpv6DstUnreachable, Icmpv6Packet, Icmpv6Repr, IpProtocol, Quoted,
};

/// The most of the offending packet an ICMPv4 error quotes: the error stays within
/// 576 bytes (RFC 1812 section 4.3.2.3).
const ICMPV4_QUOTE: usize = 576 - 20 - 8;
/// The most an ICMPv6 error quotes: the error stays within the minimum MTU
/// (RFC 4443 section 2.4 (c)).
const ICMPV6_QUOTE: usize = 1280 - 40 - 8;

/// What an ICMP error reported, reduced to what the stack acts on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum IcmpError {
    PortUnreachable,
    ProtoUnreachable,
    Unreachable,
    /// Fragmentation needed / packet too big, with the MTU (0: not given).
    TooBig(u32),
    Transient,
}

/// The socket an ICMP error's quote names ([`Stack::quote_owner`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum QuoteOwner {
    /// A TCP connection (in any state but TIME-WAIT).
    Conn(SocketHandle),
    /// A TIME-WAIT record: the error is dropped there (Linux finds its
    /// timewait socket and does nothing with it).
    TimeWait,
    /// A UDP socket.
    Udp(SocketHandle),
}

/// What an ICMPv4 message reports, if it is an error the stack acts on
/// (destination unreachable, time exceeded, parameter problem; not an echo,
/// a redirect or a source quench).
pub(super) fn icmpv4_error(repr: &Icmpv4Repr<'_>) -> Option<IcmpError> {
    Some(match *repr {
        Icmpv4Repr::DstUnreachable {
            reason,
            next_hop_mtu,
            ..
        } => match reason {
            Icmpv4DstUnreachable::PortUnreachable => IcmpError::PortUnreachable,
            Icmpv4DstUnreachable::ProtoUnreachable => IcmpError::ProtoUnreachable,
            Icmpv4DstUnreachable::FragRequired => IcmpError::TooBig(u32::from(next_hop_mtu)),
            _ => IcmpError::Unreachable,
        },
        Icmpv4Repr::TimeExceeded { .. } | Icmpv4Repr::ParamProblem { .. } => IcmpError::Transient,
        _ => return None,
    })
}

/// What an ICMPv6 message reports, if it is an error the stack acts on
/// (destination unreachable, packet too big, time exceeded, parameter
/// problem).
pub(super) fn icmpv6_error(repr: &Icmpv6Repr<'_>) -> Option<IcmpError> {
    Some(match *repr {
        Icmpv6Repr::DstUnreachable { reason, .. } => match reason {
            Icmpv6DstUnreachable::PortUnreachable => IcmpError::PortUnreachable,
            _ => IcmpError::Unreachable,
        },
        Icmpv6Repr::PacketTooBig { mtu, .. } => IcmpError::TooBig(mtu),
        Icmpv6Repr::TimeExceeded { .. } | Icmpv6Repr::ParamProblem { .. } => IcmpError::Transient,
        _ => return None,
    })
}

impl Stack {
    pub(super) fn deliver_icmpv4(&mut self, now: Instant, meta: IpMeta<'_>) {
        self.stats.icmp.in_msgs += 1;
        let Ok(packet) = Icmpv4Packet::new_checked(meta.payload) else {
            self.stats.icmp.in_errors += 1;
            return;
        };
        let repr = match Icmpv4Repr::parse(&packet, self.config.checksum_rx) {
            Ok(r) => r,
            Err(e) => {
                self.stats.icmp.in_errors += 1;
                if e == WireError::BadChecksum {
                    self.stats.icmp.in_csum_errors += 1;
                }
                return;
            }
        };
        self.stats.icmp.in_type[usize::from(u8::from(repr.msg_type()))] += 1;
        if let Icmpv4Repr::EchoRequest {
            ident,
            seq_no,
            data,
        } = repr
        {
            //= https://www.rfc-editor.org/rfc/rfc1122#section-3.2.2.6
            //# Every host MUST implement an ICMP Echo server function that
            //# receives Echo Requests and sends corresponding Echo Replies.
            // (Never to a foreign address: ingress takes no echo request to
            // one, `transparent::takes_foreign_icmp`.)
            if self.config.answer_pings && !meta.broadcast && self.names_one_host(meta.src) {
                let reply = Icmpv4Repr::EchoReply {
                    ident,
                    seq_no,
                    data,
                };
                self.send_icmpv4(now, meta.dst, meta.src, &reply);
            }
            return;
        }
        let Some(error) = icmpv4_error(&repr) else {
            return;
        };
        let quoted = match repr.quoted() {
            Some(Ok(q)) => q,
            // A quote too short for the transport header's first 8 bytes (the
            // ports, TCP's sequence number) or with a mangled IP header: Linux
            // counts it in IcmpInErrors and hands it to no protocol
            // (`icmp_unreach`, `icmp_socket_deliver`).
            Some(Err(_)) => {
                self.stats.icmp.in_errors += 1;
                return;
            }
            None => return,
        };
        let invoking = repr.invoking().unwrap_or(&[]);
        let foreign = self.foreign_destination(&meta);
        self.on_icmp_error(now, foreign, quoted, error, invoking);
    }

    pub(super) fn deliver_icmpv6(&mut self, now: Instant, meta: IpMeta<'_>) {
        self.stats.icmp6.in_msgs += 1;
        let Some(addrs) = AddrPair::new(meta.src, meta.dst) else {
            return;
        };
        let Ok(packet) = Icmpv6Packet::new_checked(meta.payload) else {
            self.stats.icmp6.in_errors += 1;
            return;
        };
        let repr = match Icmpv6Repr::parse(&packet, &addrs, self.config.checksum_rx) {
            Ok(r) => r,
            Err(e) => {
                self.stats.icmp6.in_errors += 1;
                if e == WireError::BadChecksum {
                    self.stats.icmp6.in_csum_errors += 1;
                }
                return;
            }
        };
        self.stats.icmp6.in_type[usize::from(u8::from(repr.msg_type()))] += 1;
        if let Icmpv6Repr::EchoRequest {
            ident,
            seq_no,
            data,
        } = repr
        {
            //= https://www.rfc-editor.org/rfc/rfc4443#section-4.1
            //# Every node MUST implement an ICMPv6 Echo responder function that
            //# receives Echo Requests and originates corresponding Echo Replies.
            // (Never to a foreign address, as for ICMPv4.)
            if self.config.answer_pings && self.names_one_host(meta.src) {
                let reply = Icmpv6Repr::EchoReply {
                    ident,
                    seq_no,
                    data,
                };
                self.send_icmpv6(now, meta.dst, meta.src, &reply);
            }
            return;
        }
        let Some(error) = icmpv6_error(&repr) else {
            return;
        };
        let quoted = match repr.quoted() {
            Some(Ok(q)) => q,
            // As for ICMPv4: Linux's `icmpv6_notify` counts a quote without
            // the IPv6 header, its extension headers and 8 bytes past them in
            // Icmp6InErrors.
            Some(Err(_)) => {
                self.stats.icmp6.in_errors += 1;
                return;
            }
            None => return,
        };
        let foreign = self.foreign_destination(&meta);
        self.on_icmp_error(now, foreign, quoted, error, &[]);
    }

    /// The destination of an ICMP error ingress delivered, if it is not one of
    /// the stack's addresses (nor, IPv4, a broadcast one): then ingress took it
    /// for the transparent socket its quote names (`transparent`).
    fn foreign_destination(&self, meta: &IpMeta<'_>) -> Option<IpAddr> {
        (!meta.broadcast && !self.is_local(meta.dst)).then_some(meta.dst)
    }

    /// An ICMP error quoting one of our packets (sent to `foreign`, an
    /// address not the stack's, or to one of the stack's: `None`): find its
    /// socket and tell it.
    ///
    /// Nothing is learnt from an error that quotes something the stack did not
    /// send: a TCP segment of no connection or outside its flight (RFC 5927), a
    /// datagram from a port no UDP socket has, or another protocol, whose quote
    /// nothing can be checked against. A forged "fragmentation needed" or "packet
    /// too big" would otherwise lower the path MTU of every connection to the
    /// destination, those opened later too, for as long as the estimate lasts.
    ///
    /// A TCP or UDP quote that names no socket counts in IcmpInErrors /
    /// Icmp6InErrors, as Linux's error handlers count it when their lookup
    /// finds nothing (`tcp_v4_err`, `tcp_v6_err`, `__udp4_lib_err`,
    /// `__udp6_lib_err`); a TCP quote of a connection in TIME-WAIT counts
    /// nothing (Linux finds its timewait socket and drops the error).
    ///
    /// An error to a foreign address reaches this only when its quote names a transparent connection, TIME-WAIT record or UDP
    /// socket (`transparent::takes_foreign_icmp`, which asks
    /// [`quote_owner`](Self::quote_owner) as this does); from there on it is
    /// handled as an error to one of the stack's addresses.
    //= https://www.rfc-editor.org/rfc/rfc8201#section-4
    // (In our words: the exact text could not be checked here.) Nodes should
    // validate the payload of a Packet Too Big message, to make sure it was
    // received in response to a packet they actually sent.
    fn on_icmp_error(
        &mut self,
        now: Instant,
        foreign: Option<IpAddr>,
        q: Quoted,
        error: IcmpError,
        invoking: &[u8],
    ) {
        if !matches!(q.protocol, IpProtocol::Tcp | IpProtocol::Udp) {
            return;
        }
        match self.quote_owner(&q, foreign) {
            Some(QuoteOwner::Conn(h)) => self.icmp_error_to_tcp(now, h, q, error, invoking),
            Some(QuoteOwner::TimeWait) => {}
            Some(QuoteOwner::Udp(h)) => self.icmp_error_to_udp(now, h, &q, error, invoking),
            None => {
                if q.src.is_ipv4() {
                    self.stats.icmp.in_errors += 1;
                } else {
                    self.stats.icmp6.in_errors += 1;
                }
            }
        }
    }

    /// What sent the packet quoted by an ICMP error to `foreign`, an address
    /// not the stack's (`None`: to one of the stack's): `q`'s source address
    /// is `foreign` itself (an error about a packet goes to its source), or
    /// one of the stack's for an error to one of them, and its ports name
    /// a TCP connection or TIME-WAIT record by its four-tuple, or the UDP
    /// socket a datagram to the quoted source would be delivered to
    /// (`deliver_udp`'s look-up: `udp_bind`'s sockets, then the transparent
    /// ones), unconnected or connected to the quoted destination (Linux's
    /// `__udp4_lib_lookup` takes no socket connected elsewhere). `None` for
    /// anything else, a quote without ports too (that of a fragment other
    /// than the first). Changes nothing: ingress asks it of an error to a
    /// foreign address before taking it.
    pub(super) fn quote_owner(&self, q: &Quoted, foreign: Option<IpAddr>) -> Option<QuoteOwner> {
        let (Some(sp), Some(dp)) = (q.src_port, q.dst_port) else {
            return None;
        };
        let sent_from_there = match foreign {
            Some(addr) => q.src == addr,
            None => self.is_local(q.src),
        };
        if !sent_from_there {
            return None;
        }
        let local = SocketAddr::new(q.src, sp);
        let remote = SocketAddr::new(q.dst, dp);
        match q.protocol {
            IpProtocol::Tcp => {
                let tuple = FourTuple::new(local, remote);
                // One hash for both tables, as `tcp_segment` computes it.
                let mut hash = TupleHash::default();
                match self.conns.get_hashed(&tuple, &mut hash, &self.sockets) {
                    Some(h) => Some(QuoteOwner::Conn(h)),
                    None => self
                        .time_wait
                        .contains(&tuple, &mut hash)
                        .then_some(QuoteOwner::TimeWait),
                }
            }
            IpProtocol::Udp => {
                // From a foreign address only a transparent socket may have
                // sent it: `find_udp` alone would give a wildcard socket of
                // `udp_bind` (the stack's own addresses) a quote from there.
                let h = match foreign.is_none() && !self.transparent.udp_on() {
                    true => self.find_udp(local),
                    false => self.find_udp_or_transparent(local),
                }?;
                match self.sockets.get(h).map(|e| &e.socket) {
                    Some(Socket::Udp(u)) if u.peer.is_none_or(|p| p == remote) => {
                        Some(QuoteOwner::Udp(h))
                    }
                    _ => None,
                }
            }
            _ => None,
        }
    }

    /// An ICMP error quoting a TCP segment of connection `h` (`q`).
    fn icmp_error_to_tcp(
        &mut self,
        now: Instant,
        h: SocketHandle,
        q: Quoted,
        error: IcmpError,
        invoking: &[u8],
    ) {
        // In SYN-RECEIVED only the SYN-ACK is in flight: the quote must
        // carry exactly our ISN, which an off-path forger must guess.
        let valid = q
            .tcp_seq
            .is_some_and(|s| self.conn(h).is_some_and(|c| c.seq_in_flight(s)));
        if !valid {
            self.stats.tcp.out_of_window_icmps += 1;
            return;
        }
        let notice = match error {
            IcmpError::TooBig(mtu) => {
                let reported = self.report_too_big(now, q.dst, mtu, invoking);
                // The path's estimate, whether this report lowered it or an
                // earlier one (about another connection to the same
                // destination) already had: this connection's segments were
                // too big either way. And what the report said, which the
                // cache may not have kept (a `capacity` of 0): the segment
                // this error quotes was dropped all the same.
                let path = self.path_mtu(now, q.dst);
                let mtu = reported.map_or(path, |r| r.min(path));
                if self.with_conn(now, h, |c| c.on_path_mtu(mtu)) == Some(true) {
                    self.note_pmtu_lowered(now, h);
                }
                return;
            }
            IcmpError::PortUnreachable | IcmpError::ProtoUnreachable => IcmpNotice::Refused,
            IcmpError::Unreachable => IcmpNotice::Unreachable,
            IcmpError::Transient => IcmpNotice::Transient,
        };
        self.with_conn(now, h, |c| c.handle_icmp(notice));
        if self.conn_releasable(h) {
            // A half-open connection of a listener the error ended (its
            // SYN-ACK went to a port or host that refuses it): nobody
            // holds its handle, so it goes now, and is counted as
            // Linux's `tcp_req_err` counts it.
            if let Some(Entry {
                socket: Socket::Tcp(slot),
                ..
            }) = self.sockets.get(h)
            {
                if slot.parent.is_some() {
                    self.stats.tcp.listen_drops += 1;
                }
            }
            self.release_conn(h);
        }
    }

    /// An ICMP error quoting a UDP datagram UDP socket `h` sent (`q`).
    fn icmp_error_to_udp(
        &mut self,
        now: Instant,
        h: SocketHandle,
        q: &Quoted,
        error: IcmpError,
        invoking: &[u8],
    ) {
        if let IcmpError::TooBig(mtu) = error {
            // The socket's next datagrams to the quoted destination are
            // fragmented to fit.
            self.report_too_big(now, q.dst, mtu, invoking);
            return;
        }
        let Some(Entry {
            socket: Socket::Udp(u),
            ..
        }) = self.sockets.get_mut(h)
        else {
            return;
        };
        // Linux reports ICMP errors only to connected UDP sockets (without
        // IP_RECVERR): an unconnected socket cannot tell which send failed.
        // A transparent socket is unconnected unless `udp_connect`ed: a port
        // unreachable about what `udp_send_from_to` sent from a foreign
        // address fails no call (a "too big" lowered the estimate above).
        if u.peer.is_none() {
            return;
        }
        let e = match error {
            IcmpError::PortUnreachable | IcmpError::ProtoUnreachable => Error::ConnectionRefused,
            IcmpError::Unreachable => Error::HostUnreachable,
            _ => return,
        };
        u.pending_error = Some(e);
        self.raise(h, EventKind::Error);
    }

    /// A "fragmentation needed" or "packet too big" for `dst` (an `mtu` of 0: an
    /// IPv4 router older than RFC 1191, `invoking` the packet it quoted) goes to
    /// the path MTU cache, which keeps it if it lowers the estimate. Returns the
    /// path MTU the report gives (floors applied), kept or not; `None` if it is
    /// to be ignored.
    fn report_too_big(
        &mut self,
        now: Instant,
        dst: IpAddr,
        mtu: u32,
        invoking: &[u8],
    ) -> Option<u16> {
        // The estimate is capped by the route's MTU as `path_mtu` caps it.
        let route_mtu = self.routes.lookup(dst).and_then(|r| r.mtu);
        let link = route_mtu.unwrap_or(self.config.mtu).min(self.config.mtu);
        let reported = if mtu != 0 {
            self.pmtu.reported(dst, mtu)
        } else if let (IpAddr::V4(dst), [first, _, hi, lo, ..]) = (dst, invoking) {
            // An old router without RFC 1191: guess from the quoted length.
            let total = u16::from_be_bytes([*hi, *lo]);
            let hl = usize::from(first & 0x0f) * 4;
            self.pmtu
                .reported_ipv4_without_mtu(now, dst, total, hl, link)
        } else {
            None
        }?;
        self.pmtu.lower(now, dst, reported, link);
        Some(reported)
    }

    /// Whether `src`, the source of a packet received, names one host that an
    /// ICMP error or echo reply may go to: not unspecified, multicast or a
    /// broadcast address (`demux::is_unicast`, and not the broadcast address of
    /// one of our prefixes). Otherwise an answer would go to many hosts, or to
    /// none, for one forged packet.
    //= https://www.rfc-editor.org/rfc/rfc1122#section-3.2.2
    //# An ICMP error message MUST NOT be sent as the result of
    //# receiving:
    //= https://www.rfc-editor.org/rfc/rfc1122#section-3.2.2
    //# *    a datagram whose source address does not define a single
    //#      host -- e.g., a zero address, a loopback address, a
    //#      broadcast address, a multicast address, or a Class E
    //#      address.
    //= https://www.rfc-editor.org/rfc/rfc4443#section-2.4
    //# (e.6) A packet whose source address does not uniquely identify a
    //#       single node -- e.g., the IPv6 Unspecified Address, an IPv6
    //#       multicast address, or an address known by the ICMP message
    //#       originator to be an IPv6 anycast address.
    fn names_one_host(&self, src: IpAddr) -> bool {
        super::demux::is_unicast(src) && !self.is_broadcast(src)
    }

    /// ICMP port unreachable for a datagram to a closed port, rate-limited.
    pub(super) fn send_port_unreachable(&mut self, now: Instant, meta: IpMeta<'_>) {
        self.send_unreachable(
            now,
            meta,
            Icmpv4DstUnreachable::PortUnreachable,
            Icmpv6DstUnreachable::PortUnreachable,
        );
    }

    /// ICMP host unreachable (IPv6: address unreachable) for `meta`'s packet:
    /// a held SYN refused (`held_syn`).
    pub(super) fn send_host_unreachable(&mut self, now: Instant, meta: IpMeta<'_>) {
        self.send_unreachable(
            now,
            meta,
            Icmpv4DstUnreachable::HostUnreachable,
            Icmpv6DstUnreachable::AddrUnreachable,
        );
    }

    /// An ICMP destination unreachable of code `v4` or `v6` (by family) for
    /// `meta`'s packet, rate-limited.
    fn send_unreachable(
        &mut self,
        now: Instant,
        meta: IpMeta<'_>,
        v4: Icmpv4DstUnreachable,
        v6: Icmpv6DstUnreachable,
    ) {
        if !self.names_one_host(meta.src) {
            return;
        }
        if !self.icmp_limit.allow(now) {
            self.count_icmp_limited(meta.dst);
            return;
        }
        match meta.dst {
            IpAddr::V4(_) => {
                let quote = &meta.packet[..meta.packet.len().min(ICMPV4_QUOTE)];
                let err = Icmpv4Repr::DstUnreachable {
                    reason: v4,
                    next_hop_mtu: 0,
                    invoking: quote,
                };
                self.send_icmpv4(now, meta.dst, meta.src, &err);
            }
            IpAddr::V6(_) => {
                let quote = &meta.packet[..meta.packet.len().min(ICMPV6_QUOTE)];
                let err = Icmpv6Repr::DstUnreachable {
                    reason: v6,
                    invoking: quote,
                };
                self.send_icmpv6(now, meta.dst, meta.src, &err);
            }
        }
    }

    /// ICMP protocol unreachable for a protocol the stack does not speak.
    pub(super) fn send_icmpv4_proto_unreachable(&mut self, now: Instant, meta: IpMeta<'_>) {
        if !self.names_one_host(meta.src) {
            return;
        }
        if !self.icmp_limit.allow(now) {
            self.count_icmp_limited(meta.dst);
            return;
        }
        let quote = &meta.packet[..meta.packet.len().min(ICMPV4_QUOTE)];
        let err = Icmpv4Repr::DstUnreachable {
            reason: Icmpv4DstUnreachable::ProtoUnreachable,
            next_hop_mtu: 0,
            invoking: quote,
        };
        self.send_icmpv4(now, meta.dst, meta.src, &err);
    }

    fn count_icmp_limited(&mut self, dst: IpAddr) {
        if dst.is_ipv4() {
            self.stats.icmp.out_rate_limited += 1;
        } else {
            self.stats.icmp6.out_rate_limited += 1;
        }
    }

    fn send_icmpv4(&mut self, now: Instant, src: IpAddr, dst: IpAddr, repr: &Icmpv4Repr<'_>) {
        let ttl = self.config.udp.ttl;
        let checksum = self.tx_checksum();
        let len = repr.buffer_len();
        let mtu = usize::from(self.path_mtu(now, dst));
        let fits = ip_header_len(dst) + len <= mtu;
        // An echo reply goes without DF, as Linux sends it: a router before a
        // smaller link fragments it rather than answer with a "fragmentation
        // needed" that quotes an ICMP message, which `on_icmp_error` cannot check
        // against anything sent and so ignores.
        let echo = matches!(repr, Icmpv4Repr::EchoReply { .. });
        let dont_frag = fits && !echo;
        let packet =
            self.build_ip_packet_df(src, dst, IpProtocol::Icmp, len, ttl, 0, dont_frag, |out| {
                repr.emit(&mut Icmpv4Packet::new_unchecked(out), checksum)
            });
        if let Some(packet) = packet {
            if self.queue_icmp(dst, packet, fits, mtu) {
                self.stats.icmp.out_msgs += 1;
                self.stats.icmp.out_type[usize::from(u8::from(repr.msg_type()))] += 1;
            }
        }
    }

    fn send_icmpv6(&mut self, now: Instant, src: IpAddr, dst: IpAddr, repr: &Icmpv6Repr<'_>) {
        let Some(addrs) = AddrPair::new(src, dst) else {
            return;
        };
        let ttl = self.config.udp.ttl;
        let checksum = self.tx_checksum();
        let len = repr.buffer_len();
        let mtu = usize::from(self.path_mtu(now, dst));
        let fits = ip_header_len(dst) + len <= mtu;
        let packet = self.build_ip_packet_with(src, dst, IpProtocol::Icmpv6, len, ttl, 0, |out| {
            repr.emit(&mut Icmpv6Packet::new_unchecked(out), &addrs, checksum)
        });
        if let Some(packet) = packet {
            if self.queue_icmp(dst, packet, fits, mtu) {
                self.stats.icmp6.out_msgs += 1;
                self.stats.icmp6.out_type[usize::from(u8::from(repr.msg_type()))] += 1;
            }
        }
    }

    /// Queues a stack-made ICMP message to `dst`; one larger than the path MTU
    /// (`fits` false; built without DF) goes in fragments. Only an echo reply to
    /// a large, reassembled request is that large: errors quote at most 576 or
    /// 1280 bytes' worth.
    //= https://www.rfc-editor.org/rfc/rfc1122#section-3.2.2.6
    //# Data received in an ICMP Echo Request MUST be entirely
    //# included in the resulting Echo Reply.
    fn queue_icmp(&mut self, dst: IpAddr, packet: Vec<u8>, fits: bool, mtu: usize) -> bool {
        if fits {
            self.queue_control(packet)
        } else {
            self.queue_fragments(&packet, dst, mtu)
        }
    }
}
