//! UDP socket calls (bind, connect, send_to, recv_from, close) and datagram input
//! (RFC 768, RFC 8200 section 8.1 for IPv6's mandatory checksum).

use core::net::{IpAddr, SocketAddr};

use super::demux::{port_overlaps, unspecified_like};
use super::ingress::IpMeta;
use super::{Entry, Socket, Stack};
use crate::error::Error;
use crate::event::EventKind;
use crate::socket::SocketHandle;
use crate::time::Instant;
use crate::udp::UdpSocket;
use crate::wire::{AddrPair, Error as WireError, UdpPacket, UdpRepr};

impl Stack {
    /// Binds a UDP socket to `local` (unspecified address: every address of the
    /// family; port 0: an ephemeral port). Only the stack's own addresses:
    /// datagrams to any address are
    /// [`udp_bind_transparent`](Self::udp_bind_transparent)'s.
    pub fn udp_bind(&mut self, local: SocketAddr) -> Result<SocketHandle, Error> {
        let ip = local.ip();
        if !ip.is_unspecified() && !self.is_local(ip) {
            return Err(Error::AddrNotAvailable);
        }
        if self.sockets.len() >= self.config.max_sockets {
            return Err(Error::LimitReached);
        }
        let port = if local.port() == 0 {
            let bound = &self.udp_bound;
            let remote = SocketAddr::new(unspecified_like(ip), 0);
            self.udp_ports
                .select(ip, remote, |p| {
                    !bound.contains_key(&(ip, p)) && !bound.contains_key(&(unspecified_like(ip), p))
                })
                .ok_or(Error::AddrNotAvailable)?
        } else {
            local.port()
        };
        let taken = port_overlaps(&self.udp_bound, ip, port, &self.config.addresses);
        if taken {
            return Err(Error::AddrInUse);
        }
        let udp = &self.config.udp;
        let socket = UdpSocket::new(
            SocketAddr::new(ip, port),
            udp.recv_buffer,
            udp.send_buffer,
            udp.ttl,
        );
        let handle = self
            .sockets
            .insert(Entry::new(Socket::Udp(Box::new(socket))));
        self.udp_bound.insert((ip, port), handle);
        Ok(handle)
    }

    fn udp_ref(&self, handle: SocketHandle) -> Result<&UdpSocket, Error> {
        match self.sockets.get(handle) {
            Some(Entry {
                socket: Socket::Udp(u),
                ..
            }) => Ok(u),
            Some(_) => Err(Error::WrongSocketType),
            None => Err(Error::InvalidHandle),
        }
    }

    fn udp_mut(&mut self, handle: SocketHandle) -> Result<&mut UdpSocket, Error> {
        match self.sockets.get_mut(handle) {
            Some(Entry {
                socket: Socket::Udp(u),
                ..
            }) => Ok(u),
            Some(_) => Err(Error::WrongSocketType),
            None => Err(Error::InvalidHandle),
        }
    }

    /// Connects a UDP socket: `udp_send` goes to `peer`, and only datagrams from
    /// `peer` are received. A broadcast `peer` needs [`Stack::udp_set_broadcast`]
    /// first (`Error::BroadcastNotAllowed`, Linux's `EACCES`), as `udp_send_to`
    /// does, and no route.
    pub fn udp_connect(&mut self, handle: SocketHandle, peer: SocketAddr) -> Result<(), Error> {
        if peer.port() == 0 || peer.ip().is_unspecified() {
            return Err(Error::InvalidAddress);
        }
        let broadcast = self.is_broadcast(peer.ip());
        if self.routes.lookup(peer.ip()).is_none() && !broadcast {
            return Err(Error::NetworkUnreachable);
        }
        let u = self.udp_mut(handle)?;
        if u.local.is_ipv4() != peer.is_ipv4() {
            return Err(Error::InvalidAddress);
        }
        if broadcast && !u.broadcast {
            return Err(Error::BroadcastNotAllowed);
        }
        u.peer = Some(peer);
        Ok(())
    }

    /// Allows sending to broadcast addresses (`SO_BROADCAST`).
    pub fn udp_set_broadcast(&mut self, handle: SocketHandle, on: bool) -> Result<(), Error> {
        self.udp_mut(handle)?.broadcast = on;
        Ok(())
    }

    /// Sets the TTL / hop limit of the socket's datagrams.
    pub fn udp_set_ttl(&mut self, handle: SocketHandle, ttl: u8) -> Result<(), Error> {
        self.udp_mut(handle)?.ttl = ttl;
        Ok(())
    }

    /// The TTL / hop limit of the socket's datagrams.
    pub fn udp_ttl(&self, handle: SocketHandle) -> Result<u8, Error> {
        Ok(self.udp_ref(handle)?.ttl)
    }

    /// Takes the socket's pending error, if any: an ICMP error (port or host
    /// unreachable) for a datagram a connected socket sent to its peer, which
    /// the next receive or send would otherwise report (Linux's `SO_ERROR`,
    /// which clears `sk_err`).
    pub fn udp_take_error(&mut self, handle: SocketHandle) -> Result<Option<Error>, Error> {
        Ok(self.udp_mut(handle)?.pending_error.take())
    }

    /// The socket's local address.
    pub fn udp_local_addr(&self, handle: SocketHandle) -> Result<SocketAddr, Error> {
        match self.sockets.get(handle).map(|e| &e.socket) {
            Some(Socket::Udp(u)) => Ok(u.local),
            Some(_) => Err(Error::WrongSocketType),
            None => Err(Error::InvalidHandle),
        }
    }

    /// Sends a datagram to the connected peer.
    pub fn udp_send(&mut self, handle: SocketHandle, data: &[u8]) -> Result<usize, Error> {
        let peer = self.udp_mut(handle)?.peer.ok_or(Error::NotConnected)?;
        self.udp_send_to(handle, data, peer)
    }

    /// Sends a datagram to `dst`. The whole datagram is queued or nothing is.
    pub fn udp_send_to(
        &mut self,
        handle: SocketHandle,
        data: &[u8],
        dst: SocketAddr,
    ) -> Result<usize, Error> {
        self.udp_queue_send(handle, data, None, dst)
    }

    /// Sends a datagram to `dst` from `src` (Linux's `IP_PKTINFO` on a send, or
    /// `IP_TRANSPARENT`'s any source). From a transparent socket
    /// ([`udp_bind_transparent`](Self::udp_bind_transparent)) `src` may be any
    /// unicast address of `dst`'s family (a DNS answer from 8.8.8.8:53); from
    /// another socket it must be one of the addresses the socket is bound to
    /// (`Error::AddrNotAvailable` otherwise). An unspecified `src` address
    /// takes the source the routes pick, and port 0 the socket's port
    /// (`Error::InvalidAddress` for a transparent socket of every port, which
    /// has none).
    pub fn udp_send_from_to(
        &mut self,
        handle: SocketHandle,
        data: &[u8],
        src: SocketAddr,
        dst: SocketAddr,
    ) -> Result<usize, Error> {
        if src.is_ipv4() != dst.is_ipv4() {
            return Err(Error::InvalidAddress);
        }
        let u = self.udp_ref(handle)?;
        let (bound, transparent) = (u.local, u.transparent);
        let ip = src.ip();
        let usable = if transparent {
            ip.is_unspecified() || self.takes_as_source(ip)
        } else {
            ip.is_unspecified()
                || (self.is_local(ip) && (bound.ip().is_unspecified() || bound.ip() == ip))
        };
        if !usable || (src.port() != 0 && src.port() != bound.port() && !transparent) {
            return Err(Error::AddrNotAvailable);
        }
        let port = if src.port() == 0 {
            bound.port()
        } else {
            src.port()
        };
        self.udp_queue_send(handle, data, Some(SocketAddr::new(ip, port)), dst)
    }

    /// [`udp_send_to`](Self::udp_send_to), from `src` when given (checked by
    /// [`udp_send_from_to`](Self::udp_send_from_to)).
    fn udp_queue_send(
        &mut self,
        handle: SocketHandle,
        data: &[u8],
        src: Option<SocketAddr>,
        dst: SocketAddr,
    ) -> Result<usize, Error> {
        if dst.port() == 0 || dst.ip().is_unspecified() {
            return Err(Error::InvalidAddress);
        }
        let max = match dst.ip() {
            IpAddr::V4(_) => 65535 - 20 - 8,
            IpAddr::V6(_) => 65535 - 8,
        };
        if data.len() > max {
            return Err(Error::MessageTooLong);
        }
        let broadcast = match dst.ip() {
            IpAddr::V4(_) => self.is_broadcast(dst.ip()),
            IpAddr::V6(_) => false,
        };
        if self.routes.lookup(dst.ip()).is_none() && !broadcast {
            self.stats.ip.out_no_routes += 1;
            return Err(Error::NetworkUnreachable);
        }
        let u = self.udp_mut(handle)?;
        if let Some(e) = u.pending_error.take() {
            return Err(e);
        }
        if u.local.is_ipv4() != dst.is_ipv4() {
            return Err(Error::InvalidAddress);
        }
        if src.unwrap_or(u.local).port() == 0 {
            // A transparent socket of every port: no port of its own.
            return Err(Error::InvalidAddress);
        }
        if broadcast && !u.broadcast {
            return Err(Error::BroadcastNotAllowed);
        }
        if !u.queue_send(dst, src, data) {
            self.stats.udp.sndbuf_errors += 1;
            return Err(Error::WouldBlock);
        }
        self.queue_tx(handle);
        Ok(data.len())
    }

    /// Receives a datagram into `buf` (truncated if longer): its length and sender.
    pub fn udp_recv_from(
        &mut self,
        handle: SocketHandle,
        buf: &mut [u8],
    ) -> Result<(usize, SocketAddr), Error> {
        let u = self.udp_mut(handle)?;
        if let Some((n, src, _dst)) = u.take(buf) {
            return Ok((n, src));
        }
        if let Some(e) = u.pending_error.take() {
            return Err(e);
        }
        Err(Error::WouldBlock)
    }

    /// [`udp_recv_from`](Self::udp_recv_from), with the address the datagram
    /// was sent to (Linux's `IP_PKTINFO` / `IPV6_RECVPKTINFO`, and a
    /// transparent socket's original destination, `IP_RECVORIGDSTADDR`): its
    /// length, sender and destination.
    pub fn udp_recv_from_to(
        &mut self,
        handle: SocketHandle,
        buf: &mut [u8],
    ) -> Result<(usize, SocketAddr, SocketAddr), Error> {
        let u = self.udp_mut(handle)?;
        if let Some(got) = u.take(buf) {
            return Ok(got);
        }
        if let Some(e) = u.pending_error.take() {
            return Err(e);
        }
        Err(Error::WouldBlock)
    }

    /// Copies the next datagram into `buf` (truncated if longer) without taking it
    /// (`MSG_PEEK`): its length and sender. With none waiting, the socket's
    /// pending error (left for the next receive to take) or `WouldBlock`.
    pub fn udp_peek_from(
        &self,
        handle: SocketHandle,
        buf: &mut [u8],
    ) -> Result<(usize, SocketAddr), Error> {
        let u = self.udp_ref(handle)?;
        if let Some((n, src, _dst)) = u.peek(buf) {
            return Ok((n, src));
        }
        Err(u.pending_error.unwrap_or(Error::WouldBlock))
    }

    /// Whether a receive would return at once (a datagram or an error waiting),
    /// and whether a send would (room in the send queue, or an error waiting):
    /// what `poll(2)` reports as `POLLIN` and `POLLOUT`.
    pub fn udp_readiness(&self, handle: SocketHandle) -> Result<(bool, bool), Error> {
        let u = self.udp_ref(handle)?;
        let error = u.pending_error.is_some();
        Ok((u.has_recv() || error, u.has_send_room() || error))
    }

    /// Bytes waiting in the receive queue, and datagrams dropped because it was full.
    pub fn udp_queue(&self, handle: SocketHandle) -> Result<(usize, u64), Error> {
        match self.sockets.get(handle).map(|e| &e.socket) {
            Some(Socket::Udp(u)) => Ok((u.recv_queue(), u.drops)),
            Some(_) => Err(Error::WrongSocketType),
            None => Err(Error::InvalidHandle),
        }
    }

    /// Bytes waiting in the send queue (datagrams `poll_transmit` has not emitted
    /// yet; closing the socket discards them).
    pub fn udp_send_queue(&self, handle: SocketHandle) -> Result<usize, Error> {
        match self.sockets.get(handle).map(|e| &e.socket) {
            Some(Socket::Udp(u)) => Ok(u.send_queue()),
            Some(_) => Err(Error::WrongSocketType),
            None => Err(Error::InvalidHandle),
        }
    }

    pub(crate) fn udp_close(&mut self, handle: SocketHandle) {
        if let Some(Entry {
            socket: Socket::Udp(u),
            ..
        }) = self.sockets.get(handle)
        {
            let key = (u.local.ip(), u.local.port());
            if u.transparent {
                let local = u.local;
                self.forget_transparent_udp(handle, local);
            } else if self.udp_bound.get(&key) == Some(&handle) {
                self.udp_bound.remove(&key);
            }
        }
        self.sockets.remove(handle);
    }

    /// The socket a datagram to `local` (from `remote`) belongs to.
    pub(crate) fn find_udp(&self, local: SocketAddr) -> Option<SocketHandle> {
        self.udp_bound
            .get(&(local.ip(), local.port()))
            .or_else(|| {
                self.udp_bound
                    .get(&(unspecified_like(local.ip()), local.port()))
            })
            .copied()
    }

    /// [`find_udp`](Self::find_udp) while a transparent socket is open: a
    /// datagram to one of the stack's addresses goes to a socket of
    /// [`udp_bind`](Self::udp_bind) first; any datagram then to a transparent
    /// socket of its port, then of every port. (A wildcard socket of
    /// `udp_bind` keeps its meaning: the stack's addresses; a broadcast goes
    /// to `udp_bind`'s sockets only.)
    #[cold]
    #[inline(never)]
    pub(super) fn find_udp_or_transparent(&self, local: SocketAddr) -> Option<SocketHandle> {
        if self.is_broadcast(local.ip()) {
            return self.find_udp(local);
        }
        let own = match self.is_local(local.ip()) {
            true => self.find_udp(local),
            false => None,
        };
        own.or_else(|| self.transparent.udp_socket(local))
    }

    pub(super) fn deliver_udp(&mut self, now: Instant, meta: IpMeta<'_>) {
        let Some(addrs) = AddrPair::new(meta.src, meta.dst) else {
            self.stats.udp.in_errors += 1;
            return;
        };
        let Ok(packet) = UdpPacket::new_checked(meta.payload) else {
            self.stats.udp.in_errors += 1;
            return;
        };
        //= https://www.rfc-editor.org/rfc/rfc8200#section-8.1
        //# IPv6 receivers must discard UDP packets containing a zero checksum
        //# and should log the error.
        let repr = match UdpRepr::parse(&packet, &addrs, self.config.checksum_rx) {
            Ok(r) => r,
            Err(e) => {
                self.stats.udp.in_errors += 1;
                if e == WireError::BadChecksum {
                    self.stats.udp.in_csum_errors += 1;
                }
                return;
            }
        };
        let remote = SocketAddr::new(meta.src, repr.src_port);
        let local = SocketAddr::new(meta.dst, repr.dst_port);
        let handle = match self.transparent.udp_on() {
            false => self.find_udp(local),
            true => self.find_udp_or_transparent(local),
        };
        let accepted = handle.and_then(|h| match self.sockets.get(h).map(|e| &e.socket) {
            Some(Socket::Udp(u)) => match u.peer {
                Some(peer) if peer != remote => None,
                _ => Some(h),
            },
            _ => None,
        });
        let Some(handle) = accepted else {
            self.stats.udp.no_ports += 1;
            //= https://www.rfc-editor.org/rfc/rfc1122#section-4.1.3.1
            //# If a datagram arrives addressed to a UDP port for which
            //# there is no pending LISTEN call, UDP SHOULD send an ICMP
            //# Port Unreachable message.
            // Never from an address not the stack's, which only a transparent
            // socket answers for (`transparent`).
            if !meta.broadcast && (!self.transparent.udp_on() || self.is_local(meta.dst)) {
                self.send_port_unreachable(now, meta);
            }
            return;
        };
        let Some(Entry {
            socket: Socket::Udp(u),
            ..
        }) = self.sockets.get_mut(handle)
        else {
            return;
        };
        if u.deliver(remote, local, repr.payload) {
            self.stats.udp.in_datagrams += 1;
            self.raise(handle, EventKind::Readable);
        } else {
            self.stats.udp.rcvbuf_errors += 1;
            self.stats.udp.in_errors += 1;
        }
    }
}
