//! Transparent ("any address, any port") sockets: what a tun2socks proxy needs
//! to terminate every TCP connection and UDP flow the OS routes into its TUN as
//! if it were the remote host. Linux calls it `IP_TRANSPARENT` (TPROXY);
//! smoltcp `set_any_ip`; gVisor promiscuous mode and spoofing with
//! `tcp.NewForwarder`.
//!
//! - [`Stack::tcp_listen_transparent`]: a listener for SYNs to any unicast
//!   address of its family, on one port or every port. An accepted connection's
//!   local address is the SYN's destination, and every segment it sends carries
//!   that source. Established connections and TIME-WAIT records come first, then
//!   the listeners of [`Stack::tcp_listen`] (which keep their meaning: the
//!   stack's own addresses), then a transparent listener of the port, then one of
//!   every port; only then the RST for "no such connection".
//! - [`Stack::tcp_connect_transparent`]: a connection opened from any unicast
//!   address of its family (a VPN delivering a peer's connection into its TUN
//!   from the peer's own address).
//! - [`Stack::udp_bind_transparent`]: a UDP socket for datagrams to any unicast
//!   address of its family (on one port or every port), after the sockets of
//!   [`Stack::udp_bind`]; [`Stack::udp_recv_from_to`] tells each datagram's
//!   destination and [`Stack::udp_send_from_to`] sends from any source (a DNS
//!   answer from 8.8.8.8:53).
//!
//! # What ingress takes
//! A packet to an address that is not the stack's is dropped (`InAddrErrors`)
//! unless it is TCP or UDP, its destination unicast (not unspecified, IPv4's
//! "this network" 0.0.0.0/8, multicast, loopback, a broadcast of the stack's
//! prefixes or the limited broadcast: RFC 1122 section 3.2.1.3, RFC 9293
//! MUST-57), and the stack is transparent for that
//! protocol and family:
//! - TCP from the first transparent listener or transparent connect of the
//!   family on, for the stack's life: the connections a listener accepted and
//!   their TIME-WAIT records outlive it. A segment to a foreign address that matches no connection,
//!   record or transparent listener is dropped unanswered (`InAddrErrors`); no
//!   RST goes out from an address nothing listens on.
//! - UDP while a transparent UDP socket of the family is open. A datagram to a
//!   foreign address no transparent socket takes is counted (`UdpNoPorts`) and
//!   draws no ICMP error.
//!
//! - ICMP and ICMPv6 only as an error about a packet the stack sent from that
//!   address, while a transparent socket of the family is (TCP: was) open:
//!   [`takes_foreign_icmp`](Stack::takes_foreign_icmp). A router's
//!   "fragmentation needed" / "packet too big" about a transparent
//!   connection's segment goes to the connection's foreign address, and
//!   without it the connection would get no path MTU discovery. The error is
//!   taken when, and only when, it is one the stack acts on (unreachable, too
//!   big, time exceeded, parameter problem), whole (an IPv4 fragment of one
//!   is dropped before reassembly, as any ICMP to a foreign address was; an
//!   IPv6 packet to a foreign address is reassembled before its protocol is
//!   known, as before), its checksum good, and its quote is of a packet from
//!   that very address whose ports name a connection, a TIME-WAIT record or a
//!   UDP socket of the stack (`Stack::quote_owner`, the look-up the error is
//!   then delivered with). From there on it is an error to one of the stack's
//!   own addresses (`icmp`): RFC 5927's sequence number check, the path MTU
//!   of the destination (the client) lowered, soft errors, a half-open
//!   connection dropped on a port unreachable quoting its SYN-ACK's ISN, a
//!   connected UDP socket's pending error (an unconnected one, as every
//!   transparent socket that was not `udp_connect`ed, reports none: Linux
//!   without `IP_RECVERR`). Anything else to a foreign address (an echo
//!   request to 8.8.8.8, an error quoting nothing of the stack's, from
//!   another address, or cut short) is dropped unanswered and counted as
//!   before, in `InAddrErrors`, not `IcmpInErrors`: Linux routes an ICMP
//!   error to a non-local address to its own `icmp_rcv` only when the TPROXY
//!   rules mark it, and the `socket` match they use (`xt_socket`,
//!   `nf_sk_lookup_slow_v4`) looks the socket up from the quoted header
//!   (`extract_icmp4_fields`); an error naming no socket is not routed
//!   locally, and a host that does not forward counts it in
//!   `InAddrErrors` (`ip_error`). Nothing ever answers ICMP to a foreign
//!   address: no echo reply, and no error about an error (RFC 1122 section
//!   3.2.2).
//!
//! # Bounds
//! A transparent listener is a listener: its SYN queue (`TcpConfig::syn_backlog`,
//! then SYN cookies), its accept queue (the backlog) and
//! `TcpConfig::max_connections` bound what a flood of SYNs to random addresses
//! and ports can make it hold. A transparent UDP socket's queues are bounded in
//! bytes as any UDP socket's. See docs/SECURITY.md.
//!
//! A forged ICMP error to a random foreign address costs the parse of its
//! header and quote and the look-ups a segment to that address costs (one hash,
//! the connection and TIME-WAIT tables), its checksum being summed only once
//! the quote named something; it changes nothing unless it quotes a connection
//! exactly and, for TCP, a sequence number in flight (RFC 5927; otherwise
//! `TcpExtOutOfWindowIcmps`, as for the stack's own addresses). A UDP quote has
//! no such number: a transparent UDP socket of every port takes any UDP quote
//! from a foreign address, which may lower the path MTU estimate of the
//! quoted destination, as an unconnected UDP socket's quote does on the
//! stack's own addresses (see docs/SECURITY.md).
//!
//! # Cost for a stack without them
//! None on the fixed-layout receive path: the address checks ask about
//! transparency only for a destination that is not the stack's (a packet about
//! to be dropped). A segment no connection takes pays one test of a flag
//! (`tcp_segment_unmatched`), and a datagram one (`deliver_udp`). ICMP to a
//! foreign address pays two tests of flags before its drop.

use core::net::{IpAddr, SocketAddr};
use std::collections::BTreeMap;

use super::demux::ListenKey;
use super::icmp::{icmpv4_error, icmpv6_error};
use super::{Entry, Listener, Socket, Stack};
use crate::error::Error;
use crate::socket::SocketHandle;
use crate::time::Instant;
use crate::udp::UdpSocket;
use crate::wire::{
    AddrPair, ChecksumMode, Error as WireError, Icmpv4Packet, Icmpv4Repr, Icmpv6Packet, Icmpv6Repr,
    IpProtocol, Quoted,
};

use super::tcp_api::ListenOptions;

/// Ingress takes TCP to foreign IPv4 addresses.
const TCP_V4: u8 = 1;
/// Ingress takes TCP to foreign IPv6 addresses.
const TCP_V6: u8 = 2;

/// The stack's transparent sockets, by (unspecified address of their family,
/// port; 0 for every port). Few (one or two per family in a tun2socks proxy),
/// and looked up only for traffic no other socket takes.
#[derive(Debug, Default)]
pub(crate) struct TransparentSockets {
    tcp: BTreeMap<ListenKey, SocketHandle>,
    udp: BTreeMap<ListenKey, SocketHandle>,
    /// [`TCP_V4`] and [`TCP_V6`]: set by the first transparent listener or
    /// transparent connect of the family, never cleared (a listener's
    /// connections outlive it).
    tcp_any_ip: u8,
}

/// The unspecified address of `addr`'s family (the keys' family marker).
fn family_key(addr: IpAddr, port: u16) -> ListenKey {
    (super::demux::unspecified_like(addr), port)
}

fn tcp_bit(addr: IpAddr) -> u8 {
    match addr {
        IpAddr::V4(_) => TCP_V4,
        IpAddr::V6(_) => TCP_V6,
    }
}

impl TransparentSockets {
    /// Whether ingress takes TCP to foreign addresses of some family: the one
    /// test a segment no connection took pays (`tcp_segment_unmatched`).
    #[inline(always)]
    pub(crate) fn tcp_on(&self) -> bool {
        self.tcp_any_ip != 0
    }

    /// Whether a transparent UDP socket is open (the one test
    /// `deliver_udp` pays).
    #[inline(always)]
    pub(crate) fn udp_on(&self) -> bool {
        !self.udp.is_empty()
    }

    /// Whether any transparent socket is (TCP: was) open: what a stack
    /// without them pays to drop an IPv4 packet to a foreign address.
    #[inline(always)]
    pub(crate) fn any_on(&self) -> bool {
        self.tcp_on() || self.udp_on()
    }

    /// Whether ingress takes TCP to a foreign address of `dst`'s family.
    pub(crate) fn tcp_takes(&self, dst: IpAddr) -> bool {
        self.tcp_any_ip & tcp_bit(dst) != 0
    }

    /// Whether a transparent UDP socket of `dst`'s family is open.
    fn udp_takes(&self, dst: IpAddr) -> bool {
        let unspecified = super::demux::unspecified_like(dst);
        self.udp
            .range((unspecified, 0)..=(unspecified, u16::MAX))
            .next()
            .is_some()
    }

    /// The transparent listener for a SYN to `local`: the port's, else the one
    /// of every port.
    pub(crate) fn tcp_listener(&self, local: SocketAddr) -> Option<SocketHandle> {
        find(&self.tcp, local)
    }

    /// The transparent UDP socket for a datagram to `local`: the port's, else
    /// the one of every port.
    pub(crate) fn udp_socket(&self, local: SocketAddr) -> Option<SocketHandle> {
        find(&self.udp, local)
    }
}

fn find(map: &BTreeMap<ListenKey, SocketHandle>, local: SocketAddr) -> Option<SocketHandle> {
    // Port 0 names no port (RFC 6335 reserves it): a SYN or datagram to it
    // is no socket's, as on Linux, where no socket can be bound to it. Taken
    // by a socket of every port, it made a connection or a flow with port 0
    // as its local port, which nothing can answer from.
    if local.port() == 0 {
        return None;
    }
    map.get(&family_key(local.ip(), local.port()))
        .or_else(|| map.get(&family_key(local.ip(), 0)))
        .copied()
}

/// Whether `dst`, an address not the stack's, may be terminated as if it were:
/// a unicast address (`demux::is_unicast`: not unspecified, multicast, the
/// limited broadcast, IPv6's loopback or an IPv4-mapped address), not IPv4's
/// loopback or "this network" (0.0.0.0/8, Linux's martian destinations)
/// either, and not a directed broadcast of the stack's prefixes.
//= https://www.rfc-editor.org/rfc/rfc1122#section-3.2.1.3
//# (a)  { 0, 0 }
//#      This host on this network.  MUST NOT be sent, except as
//#      a source address as part of an initialization procedure
//#      by which the host learns its own IP address.
//#
//#      See also Section 3.3.6 for a non-standard use of {0,0}.
//#
//# (b)  { 0, <Host-number> }
//#      Specified host on this network.  It MUST NOT be sent,
//#      except as a source address as part of an initialization
//#      procedure by which the host learns its full IP address.
fn foreign_unicast(stack: &Stack, dst: IpAddr) -> bool {
    let this_network = matches!(dst, IpAddr::V4(a) if a.octets()[0] == 0);
    super::demux::is_unicast(dst) && !dst.is_loopback() && !this_network && !stack.is_broadcast(dst)
}

impl Stack {
    /// Whether ingress takes a packet of `protocol` to `dst`, an address that is
    /// not the stack's: TCP or UDP to a foreign unicast address while the stack
    /// is transparent for that protocol and family (see the
    /// [module docs](self)). Asked only for a packet about to be dropped.
    #[cold]
    #[inline(never)]
    pub(crate) fn takes_foreign(&self, dst: IpAddr, protocol: IpProtocol) -> bool {
        self.takes_foreign_tcp_udp(dst, protocol)
    }

    /// [`takes_foreign`](Self::takes_foreign)'s body, inlined in both of its
    /// out-of-line callers.
    #[inline(always)]
    fn takes_foreign_tcp_udp(&self, dst: IpAddr, protocol: IpProtocol) -> bool {
        let on = match protocol {
            IpProtocol::Tcp => self.transparent.tcp_takes(dst),
            IpProtocol::Udp => self.transparent.udp_takes(dst),
            _ => false,
        };
        on && foreign_unicast(self, dst)
    }

    /// Whether ingress takes a packet of `protocol` from `src` to `dst`, an
    /// address that is not the stack's, whose transport header and payload are
    /// `upper` (`None` for an IPv4 fragment, not reassembled yet): TCP and UDP as
    /// [`takes_foreign`](Self::takes_foreign) says, ICMP (to an IPv4 `dst`) or
    /// ICMPv6 (to an IPv6 one) only whole and only as
    /// [`takes_foreign_icmp`](Self::takes_foreign_icmp) says. Asked only for
    /// a packet about to be dropped.
    #[cold]
    #[inline(never)]
    pub(crate) fn takes_foreign_packet(
        &self,
        src: IpAddr,
        dst: IpAddr,
        protocol: IpProtocol,
        upper: Option<&[u8]>,
    ) -> bool {
        match (protocol, dst) {
            (IpProtocol::Icmp, IpAddr::V4(_)) | (IpProtocol::Icmpv6, IpAddr::V6(_)) => {
                upper.is_some_and(|icmp| self.takes_foreign_icmp(src, dst, icmp))
            }
            _ => self.takes_foreign_tcp_udp(dst, protocol),
        }
    }

    /// Whether ingress takes the ICMP or ICMPv6 message `icmp` (by `dst`'s
    /// family) from `src` to `dst`, a foreign address: only while a
    /// transparent listener or UDP socket of that family is (or was, for
    /// TCP) open, only to a foreign unicast address as TCP and UDP, and only an
    /// error the stack acts on (unreachable, "fragmentation needed" / "packet
    /// too big", time exceeded, parameter problem: never an echo request or
    /// anything else) whose quote is of a packet sent from `dst` that names a
    /// TCP connection, TIME-WAIT record or UDP socket of the stack
    /// ([`quote_owner`](Self::quote_owner), the look-up the error is then
    /// delivered with), and whose checksum verifies (under
    /// `Config::checksum_rx`). See the [module docs](self).
    ///
    /// Changes nothing. Cheapest first: the message is parsed without its
    /// checksum, which is summed only once the quote named a socket, so a
    /// forged error to a random address costs the parse of its header and
    /// quote and the look-ups a TCP segment to that address costs (one hash,
    /// the connection table, the TIME-WAIT table) or a UDP datagram.
    fn takes_foreign_icmp(&self, src: IpAddr, dst: IpAddr, icmp: &[u8]) -> bool {
        // The flags first: a stack without transparent sockets pays two tests.
        let udp = || self.transparent.udp_on() && self.transparent.udp_takes(dst);
        if !(self.transparent.tcp_takes(dst) || udp()) || !foreign_unicast(self, dst) {
            return false;
        }
        let names_ours = |q: Option<Result<Quoted, WireError>>| match q {
            Some(Ok(q)) => self.quote_owner(&q, Some(dst)).is_some(),
            _ => false,
        };
        let verify = self.config.checksum_rx == ChecksumMode::Enabled;
        match dst {
            IpAddr::V4(_) => {
                let Ok(packet) = Icmpv4Packet::new_checked(icmp) else {
                    return false;
                };
                let Ok(repr) = Icmpv4Repr::parse(&packet, ChecksumMode::Offloaded) else {
                    return false;
                };
                icmpv4_error(&repr).is_some()
                    && names_ours(repr.quoted())
                    && (!verify || packet.verify_checksum())
            }
            IpAddr::V6(_) => {
                let Some(addrs) = AddrPair::new(src, dst) else {
                    return false;
                };
                let Ok(packet) = Icmpv6Packet::new_checked(icmp) else {
                    return false;
                };
                let Ok(repr) = Icmpv6Repr::parse(&packet, &addrs, ChecksumMode::Offloaded) else {
                    return false;
                };
                icmpv6_error(&repr).is_some()
                    && names_ours(repr.quoted())
                    && (!verify || packet.verify_checksum(&addrs))
            }
        }
    }

    /// [`takes_foreign`](Self::takes_foreign) of a TCP segment to `dst` (the
    /// fixed-layout IPv6 path's form).
    #[cold]
    #[inline(never)]
    pub(crate) fn takes_foreign_v6_tcp(&self, dst: &core::net::Ipv6Addr) -> bool {
        self.takes_foreign(IpAddr::V6(*dst), IpProtocol::Tcp)
    }

    /// Whether ingress may take some packet to `dst`, not the stack's, before
    /// its protocol is known (IPv6, whose protocol follows the extension
    /// headers): [`takes_foreign`](Self::takes_foreign) for TCP or UDP.
    #[cold]
    #[inline(never)]
    pub(crate) fn may_take_foreign(&self, dst: IpAddr) -> bool {
        self.takes_foreign(dst, IpProtocol::Tcp) || self.takes_foreign(dst, IpProtocol::Udp)
    }

    /// Whether a transparent UDP socket may send from `ip`: one of the
    /// stack's addresses, or a foreign unicast one.
    pub(crate) fn takes_as_source(&self, ip: IpAddr) -> bool {
        self.is_local(ip) || foreign_unicast(self, ip)
    }

    /// Listens transparently (`IP_TRANSPARENT`): SYNs to any unicast address of
    /// `local`'s family, on `local`'s port or, for port 0, on every port, which
    /// no connection and no listener of [`tcp_listen`](Self::tcp_listen) takes,
    /// start connections whose local address is the SYN's destination
    /// ([`tcp_addrs`](Self::tcp_addrs) reports it; every segment carries it as
    /// its source). `local`'s address must be unspecified (IPv4's or IPv6's:
    /// the family). The listener's accept queue, SYN queue and SYN cookies
    /// apply as to any listener; [`tcp_accept`](Self::tcp_accept),
    /// [`close`](Self::close) and the events are the same. See the
    /// [module docs](self) for what ingress then takes.
    ///
    /// Its own call rather than a flag of [`ListenOptions`]: port 0 means "every
    /// port" here where it means "an ephemeral port" to `tcp_listen`, and a
    /// transparent listener neither conflicts with nor replaces a listener of
    /// `tcp_listen` on the same port (which keeps the stack's own addresses), so
    /// none of `tcp_listen`'s checks apply; `reuse_addr` is ignored.
    pub fn tcp_listen_transparent(
        &mut self,
        local: SocketAddr,
        options: ListenOptions,
    ) -> Result<SocketHandle, Error> {
        let key = check_transparent_local(local)?;
        if self.transparent.tcp.contains_key(&key) {
            return Err(Error::AddrInUse);
        }
        if self.sockets.len() >= self.config.max_sockets {
            return Err(Error::LimitReached);
        }
        let handle = self
            .sockets
            .insert(Entry::new(Socket::Listener(Box::new(Listener::new(
                local,
                &options,
                &self.tcp_config,
                true,
            )))));
        self.transparent.tcp.insert(key, handle);
        self.transparent.tcp_any_ip |= tcp_bit(local.ip());
        // The fixed-layout path's cache of address pairs that passed holds only
        // local destinations so far; it stays right (transparency only adds).
        Ok(handle)
    }

    /// Opens a connection to `remote` from `local`, which may be any unicast
    /// address of `remote`'s family, not only one of the stack's
    /// (`IP_TRANSPARENT` with a `bind` to a foreign address before `connect`;
    /// gVisor's spoofing): a userspace VPN delivers a peer's connection into
    /// the TUN from the peer's own address, or a transparent proxy reaches
    /// the server from the client's. `local`'s port 0 takes an ephemeral port
    /// (RFC 6056, keyed by that address). From then on ingress takes TCP to
    /// foreign addresses of the family, as after a transparent listener (see
    /// the [module docs](self)): the answers reach the connection, and a
    /// segment to a foreign address nothing takes is dropped unanswered.
    /// One of the stack's own addresses (or an unspecified one) is
    /// [`tcp_connect`](Self::tcp_connect)'s case. Errors as `tcp_connect`'s,
    /// and `Error::InvalidAddress` for a source that is not a unicast address
    /// of `remote`'s family (loopback, multicast, a broadcast of the stack's
    /// prefixes, 0.0.0.0/8).
    pub fn tcp_connect_transparent(
        &mut self,
        now: Instant,
        remote: SocketAddr,
        local: SocketAddr,
    ) -> Result<SocketHandle, Error> {
        if local.ip().is_unspecified() || self.is_local(local.ip()) {
            return self.tcp_connect(now, remote, Some(local));
        }
        let now = self.clock.advance(now);
        self.check_connect(remote)?;
        if local.is_ipv4() != remote.is_ipv4() || !foreign_unicast(self, local.ip()) {
            return Err(Error::InvalidAddress);
        }
        let Some(route) = self.routes.lookup(remote.ip()) else {
            return Err(Error::NetworkUnreachable);
        };
        let route_mtu = route.mtu;
        let handle = self.connect_from(now, local.ip(), Some(local.port()), remote, route_mtu)?;
        self.transparent.tcp_any_ip |= tcp_bit(local.ip());
        Ok(handle)
    }

    /// Takes a transparent listener out of the table (its close).
    pub(crate) fn forget_transparent_listener(&mut self, handle: SocketHandle, local: SocketAddr) {
        let key = family_key(local.ip(), local.port());
        if self.transparent.tcp.get(&key) == Some(&handle) {
            self.transparent.tcp.remove(&key);
        }
    }

    /// Binds a transparent UDP socket (`IP_TRANSPARENT`): it receives the
    /// datagrams to any unicast address of `local`'s family, on `local`'s port
    /// or, for port 0, on every port, which no socket of
    /// [`udp_bind`](Self::udp_bind) takes. `local`'s address must be
    /// unspecified (the family). [`udp_recv_from_to`](Self::udp_recv_from_to)
    /// tells each datagram's destination, and
    /// [`udp_send_from_to`](Self::udp_send_from_to) answers from it (any
    /// unicast source of the family). Its queues are bounded as any UDP
    /// socket's (`UdpConfig`). A socket of every port has no port of its own:
    /// [`udp_send_to`](Self::udp_send_to) from it is `Error::InvalidAddress`;
    /// it answers with `udp_send_from_to`.
    pub fn udp_bind_transparent(&mut self, local: SocketAddr) -> Result<SocketHandle, Error> {
        let key = check_transparent_local(local)?;
        if self.transparent.udp.contains_key(&key) {
            return Err(Error::AddrInUse);
        }
        if self.sockets.len() >= self.config.max_sockets {
            return Err(Error::LimitReached);
        }
        let udp = &self.config.udp;
        let mut socket = UdpSocket::new(local, udp.recv_buffer, udp.send_buffer, udp.ttl);
        socket.transparent = true;
        let handle = self
            .sockets
            .insert(Entry::new(Socket::Udp(Box::new(socket))));
        self.transparent.udp.insert(key, handle);
        Ok(handle)
    }

    /// Takes a transparent UDP socket out of the table (its close).
    pub(crate) fn forget_transparent_udp(&mut self, handle: SocketHandle, local: SocketAddr) {
        let key = family_key(local.ip(), local.port());
        if self.transparent.udp.get(&key) == Some(&handle) {
            self.transparent.udp.remove(&key);
        }
    }
}

/// The key of a transparent socket bound to `local`, or why it cannot be: the
/// address must be unspecified (it names the family, not an address).
fn check_transparent_local(local: SocketAddr) -> Result<ListenKey, Error> {
    if !local.ip().is_unspecified() {
        return Err(Error::InvalidAddress);
    }
    Ok(family_key(local.ip(), local.port()))
}
