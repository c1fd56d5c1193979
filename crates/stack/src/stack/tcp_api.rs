//! TCP socket calls, named after `std::net`: listen, connect, accept, send, recv,
//! shutdown, close, abort, and the socket options.

use core::net::{IpAddr, SocketAddr};
use std::collections::BTreeSet;
use std::sync::Arc;

use super::demux::{
    key_overlaps, port_overlaps, unspecified_like, FourTuple, ListenKey, TupleHash,
};
use super::tcp_input::OpenChoice;
use super::{Entry, Listener, Socket, Stack};
use crate::cc::CcAlgorithm;
use crate::error::Error;
use crate::event::EventKind;
use crate::socket::SocketHandle;
use crate::tcp::conn::Opening;
use crate::tcp::{ConnCounters, Connection, EcnMode, SocketOptions, State, TcpConfig, TcpInfo};
use crate::time::{Duration, Instant};

#[cfg(test)]
std::thread_local! {
    /// Test-only: `close` takes the general path (the book-keeping pass, then the
    /// freeing) for every connection, so that tests can check that its one-pass
    /// close of a finished connection (`close_conn`) does what it does.
    static FORCE_GENERAL_CLOSE: core::cell::Cell<bool> = const { core::cell::Cell::new(false) };
    /// Test-only: how many closes `close_conn` finished without the general
    /// book-keeping pass.
    static FINISHED_CLOSES: core::cell::Cell<u32> = const { core::cell::Cell::new(0) };
}

/// Which side of a connection to shut down (`std::net::Shutdown`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Shutdown {
    /// Stop reading.
    Read,
    /// Stop writing: a FIN follows the buffered data.
    Write,
    /// Both.
    Both,
}

/// Options for [`Stack::tcp_listen`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ListenOptions {
    /// The accept queue bound. Default 4096 (Linux `SOMAXCONN`).
    pub backlog: usize,
    /// Allow listening while connections (e.g. in TIME-WAIT) still use the port
    /// (`SO_REUSEADDR`). Default off.
    pub reuse_addr: bool,
}

impl Default for ListenOptions {
    fn default() -> ListenOptions {
        ListenOptions {
            backlog: 4096,
            reuse_addr: false,
        }
    }
}

impl Stack {
    /// Listens on `local` (an unspecified address listens on every address of its
    /// family; IPv6 listeners take IPv6 only). Port 0 picks an ephemeral port.
    /// Only the stack's own addresses: connections to any address are
    /// [`tcp_listen_transparent`](Self::tcp_listen_transparent)'s.
    ///
    /// Cost: the stack keeps no per-port count of its connections (that would be
    /// paid at every open and close), so a listen on port 0, or one without
    /// [`ListenOptions::reuse_addr`], walks the sockets and TIME-WAIT records
    /// (twice for port 0 without `reuse_addr`): O(sockets + records), with an
    /// 8 KiB bitmap of ports for port 0 and a set of the port's local addresses
    /// in use otherwise as scratch memory.
    pub fn tcp_listen(
        &mut self,
        local: SocketAddr,
        options: ListenOptions,
    ) -> Result<SocketHandle, Error> {
        let ip = local.ip();
        if !ip.is_unspecified() && !self.is_local(ip) {
            return Err(Error::AddrNotAvailable);
        }
        let port = if local.port() == 0 {
            self.free_listen_port(ip)?
        } else {
            local.port()
        };
        let key = (ip, port);
        // A wildcard conflicts with any listener on the port in its family, and a
        // specific address with a wildcard.
        let conflict = port_overlaps(&self.listeners, ip, port, &self.config.addresses);
        if conflict {
            return Err(Error::AddrInUse);
        }
        if !options.reuse_addr && self.port_has_connections(ip, port) {
            return Err(Error::AddrInUse);
        }
        if self.sockets.len() >= self.config.max_sockets {
            return Err(Error::LimitReached);
        }
        let handle = self
            .sockets
            .insert(Entry::new(Socket::Listener(Box::new(Listener::new(
                SocketAddr::new(ip, port),
                &options,
                &self.tcp_config,
                false,
            )))));
        self.listeners.insert(key, handle);
        self.last_listener.set(None);
        Ok(handle)
    }

    fn port_has_connections(&self, ip: IpAddr, port: u16) -> bool {
        // At most one pair per local address: the walk's set stays small.
        let used: BTreeSet<ListenKey> = self
            .tcp_local_keys_in_use()
            .filter(|k| k.1 == port)
            .collect();
        key_overlaps(|k| used.contains(k), ip, port, &self.config.addresses)
    }

    fn free_listen_port(&mut self, ip: IpAddr) -> Result<u16, Error> {
        let remote = SocketAddr::new(unspecified_like(ip), 0);
        // The ports connections use on `ip`, as a bitmap of all 65,536: 8 KiB
        // however many connections there are.
        let mut used = vec![0u64; 1 << 10];
        for (_, p) in self.tcp_local_keys_in_use().filter(|k| k.0 == ip) {
            used[usize::from(p >> 6)] |= 1 << (p & 63);
        }
        let listeners = &self.listeners;
        self.tcp_ports
            .select(ip, remote, |p| {
                !listeners.contains_key(&(ip, p))
                    && !listeners.contains_key(&(unspecified_like(ip), p))
                    && used[usize::from(p >> 6)] & (1 << (p & 63)) == 0
            })
            .ok_or(Error::AddrNotAvailable)
    }

    /// The local (address, port) pair of every connection in the 4-tuple map
    /// and of every TIME-WAIT record: what a listener may not take without
    /// `reuse_addr`. Walked when a listener is made (rare; O(connections +
    /// records)), rather than counted per local pair at every open and close
    /// (every connection's).
    fn tcp_local_keys_in_use(&self) -> impl Iterator<Item = ListenKey> + '_ {
        let conns = self.sockets.iter().filter_map(|(_, e)| match &e.socket {
            Socket::Tcp(slot) if slot.in_demux => {
                let local = slot.conn.local();
                Some((local.ip(), local.port()))
            }
            _ => None,
        });
        let records = self
            .time_wait
            .iter()
            .map(|r| (r.tuple.local.ip(), r.tuple.local.port()));
        conns.chain(records)
    }

    /// Opens a connection to `remote` from `local` (or, when `None`, from the
    /// source address the routes pick and an ephemeral port). The handle reports
    /// [`EventKind::Connected`] or an error.
    pub fn tcp_connect(
        &mut self,
        now: Instant,
        remote: SocketAddr,
        local: Option<SocketAddr>,
    ) -> Result<SocketHandle, Error> {
        let now = self.clock.advance(now);
        self.check_connect(remote)?;
        // The route toward `remote` is looked up once, for the reachability check
        // and the path MTU.
        let (src_ip, route_mtu) = match local {
            Some(l) if !l.ip().is_unspecified() => {
                if !self.is_local(l.ip()) {
                    return Err(Error::AddrNotAvailable);
                }
                if l.is_ipv4() != remote.is_ipv4() {
                    return Err(Error::InvalidAddress);
                }
                let Some(route) = self.routes.lookup(remote.ip()) else {
                    return Err(Error::NetworkUnreachable);
                };
                (l.ip(), route.mtu)
            }
            _ => {
                let Some(route) = self.routes.lookup(remote.ip()) else {
                    return Err(Error::NetworkUnreachable);
                };
                let route_mtu = route.mtu;
                let src = self
                    .routes
                    .select_source(remote.ip(), &self.config.addresses)
                    .ok_or(Error::NetworkUnreachable)?;
                (src, route_mtu)
            }
        };
        self.connect_from(now, src_ip, local.map(|l| l.port()), remote, route_mtu)
    }

    /// Whether a connection to `remote` may be opened: a unicast remote
    /// address and a port, and room for one more connection and socket.
    #[inline(always)]
    pub(crate) fn check_connect(&self, remote: SocketAddr) -> Result<(), Error> {
        // RFC 9293 MUST-46: an OPEN to an invalid remote address (broadcast,
        // multicast, unspecified) is an error.
        if remote.port() == 0
            || !super::demux::is_unicast(remote.ip())
            || self.is_broadcast(remote.ip())
        {
            return Err(Error::InvalidAddress);
        }
        if self.tcp_conn_count >= self.tcp_config.max_connections
            || self.sockets.len() >= self.config.max_sockets
        {
            return Err(Error::LimitReached);
        }
        Ok(())
    }

    /// [`tcp_connect`](Self::tcp_connect) once the source address `src_ip` is
    /// chosen and checked: the local port (`port`, or an ephemeral one for
    /// `None` or 0), the connection opened. Shared with
    /// `tcp_connect_transparent`; in line, so `tcp_connect` stays one function.
    #[inline(always)]
    pub(crate) fn connect_from(
        &mut self,
        now: Instant,
        src_ip: IpAddr,
        port: Option<u16>,
        remote: SocketAddr,
        route_mtu: Option<u16>,
    ) -> Result<SocketHandle, Error> {
        // The new tuple's hash, when the checks below computed it.
        let mut hash = TupleHash::default();
        let key = match port {
            Some(p) if p != 0 => {
                let tuple = FourTuple::new(SocketAddr::new(src_ip, p), remote);
                if self.conns.contains(&tuple, &mut hash, &self.sockets)
                    || self.time_wait.contains(&tuple, &mut hash)
                {
                    return Err(Error::AddrInUse);
                }
                tuple
            }
            _ => self.select_ephemeral_port(src_ip, remote, &mut hash)?,
        };
        let (options, cc) = self.connect_defaults();
        let mut choice = OpenChoice::new(key.local, remote, route_mtu, options, cc);
        Ok(self.open_conn(now, &key, hash, &mut choice, Opening::Active, None))
    }

    /// The socket options and congestion controller of a connection `tcp_connect`
    /// opens, as [`SocketOptions::from_config`] and
    /// [`TcpConfig::default_congestion_algorithm`] give them for the stack's
    /// configuration: resolved (a controller's name looked up) once per
    /// configuration, not once per connection.
    #[inline]
    fn connect_defaults(&mut self) -> (SocketOptions, CcAlgorithm) {
        match &self.connect_defaults {
            Some(d) if Arc::ptr_eq(&d.config, &self.tcp_config) => (d.options, d.cc),
            _ => self.resolve_connect_defaults(),
        }
    }

    /// [`connect_defaults`](Self::connect_defaults) for a configuration not yet
    /// resolved (the first connect, or one after the configuration changed).
    #[cold]
    #[inline(never)]
    fn resolve_connect_defaults(&mut self) -> (SocketOptions, CcAlgorithm) {
        let d = ConnectDefaults {
            config: Arc::clone(&self.tcp_config),
            options: SocketOptions::from_config(&self.tcp_config),
            cc: self.tcp_config.default_congestion_algorithm(),
        };
        let out = (d.options, d.cc);
        self.connect_defaults = Some(d);
        out
    }

    /// The tuple of a connection from `src_ip` to `remote` on an ephemeral local
    /// port (RFC 6056), with its hash left in `hash`. Out of line: one copy, and
    /// `tcp_connect`'s own code stays short.
    #[inline(never)]
    fn select_ephemeral_port(
        &mut self,
        src_ip: IpAddr,
        remote: SocketAddr,
        hash: &mut TupleHash,
    ) -> Result<FourTuple, Error> {
        let conns = &self.conns;
        let time_wait = &self.time_wait;
        let sockets = &self.sockets;
        let listeners = &self.listeners;
        // The last candidate's tuple hash: the chosen port's, once one is
        // found, so that opening the connection does not hash it again.
        //= https://www.rfc-editor.org/rfc/rfc6056#section-3.3.4
        //# if(check_suitable_port(port))
        //#         return next_ephemeral;
        self.tcp_ports
            .select(src_ip, remote, |p| {
                let tuple = FourTuple::new(SocketAddr::new(src_ip, p), remote);
                *hash = TupleHash::default();
                !conns.contains(&tuple, hash, sockets)
                    && !time_wait.contains(&tuple, hash)
                    && !listeners.contains_key(&(src_ip, p))
                    && !listeners.contains_key(&(unspecified_like(src_ip), p))
            })
            .map(|p| FourTuple::new(SocketAddr::new(src_ip, p), remote))
            .ok_or(Error::AddrNotAvailable)
    }

    /// Takes a connection from a listener's accept queue: its handle and the peer.
    pub fn tcp_accept(
        &mut self,
        listener: SocketHandle,
    ) -> Result<(SocketHandle, SocketAddr), Error> {
        let l = match self.sockets.get_mut(listener) {
            Some(Entry {
                socket: Socket::Listener(l),
                ..
            }) => l,
            Some(_) => return Err(Error::WrongSocketType),
            None => return Err(Error::InvalidHandle),
        };
        let handle = l.accept_queue.pop_front().ok_or(Error::WouldBlock)?;
        let more = !l.accept_queue.is_empty();
        let Some(entry) = self.sockets.get_mut(handle) else {
            return Err(Error::WouldBlock);
        };
        let Socket::Tcp(slot) = &mut entry.socket else {
            return Err(Error::WouldBlock);
        };
        slot.parent = None;
        let remote = slot.conn.remote();
        // Events that arrived before the accept (data, even a FIN) are raised now,
        // all at once: one entry, queued once, as raising them one by one would
        // (the order of the bits of one entry does not matter; `poll_event` takes
        // them lowest first).
        let state = slot.conn.state();
        let readable = slot.conn.recv_queue() > 0 || slot.conn.peer_closed();
        let urgent = slot.conn.urgent_mark().is_some();
        let failed = slot.conn.error().is_some();
        let mut bits = EventKind::Writable.bit();
        if readable {
            bits |= EventKind::Readable.bit();
        }
        if urgent {
            bits |= EventKind::Urgent.bit();
        }
        if failed || state == State::Closed {
            bits |= EventKind::Error.bit();
        }
        entry.raise_bits(&mut self.events, handle, bits);
        if more {
            self.raise(listener, EventKind::Acceptable);
        }
        Ok((handle, remote))
    }

    fn tcp_conn_mut(&mut self, handle: SocketHandle) -> Result<&mut Connection, Error> {
        match self.sockets.get_mut(handle) {
            Some(Entry {
                socket: Socket::Tcp(slot),
                ..
            }) => Ok(&mut slot.conn),
            Some(_) => Err(Error::WrongSocketType),
            None => Err(Error::InvalidHandle),
        }
    }

    /// Why `handle` names no connection (for a call that found none).
    #[cold]
    #[inline(never)]
    fn not_a_connection(&self, handle: SocketHandle) -> Error {
        match self.sockets.get(handle) {
            Some(_) => Error::WrongSocketType,
            None => Error::InvalidHandle,
        }
    }

    fn tcp_conn_ref(&self, handle: SocketHandle) -> Result<&Connection, Error> {
        match self.sockets.get(handle) {
            Some(Entry {
                socket: Socket::Tcp(slot),
                ..
            }) => Ok(&slot.conn),
            Some(_) => Err(Error::WrongSocketType),
            None => Err(Error::InvalidHandle),
        }
    }

    /// Queues `data`; returns how many bytes were taken. `Err(WouldBlock)` when the
    /// send buffer is full.
    pub fn tcp_send(
        &mut self,
        now: Instant,
        handle: SocketHandle,
        data: &[u8],
    ) -> Result<usize, Error> {
        let now = self.clock.advance(now);
        // A first send storage comes from the stack's ring pool.
        let result = self.with_conn_sending(now, handle, |c, rings| c.send_pooled(data, rings));
        match result {
            Some(result) => result.map_err(Error::from),
            None => Err(self.not_a_connection(handle)),
        }
    }

    /// Queues `data` as urgent data (the urgent pointer marks its end).
    pub fn tcp_send_urgent(
        &mut self,
        now: Instant,
        handle: SocketHandle,
        data: &[u8],
    ) -> Result<usize, Error> {
        let now = self.clock.advance(now);
        self.tcp_conn_mut(handle)?;
        self.with_conn_sending(now, handle, |c, _| c.send_urgent(data))
            .ok_or(Error::InvalidHandle)?
            .map_err(Error::from)
    }

    /// Reads received data; `Ok(0)` is the end of the stream.
    pub fn tcp_recv(
        &mut self,
        now: Instant,
        handle: SocketHandle,
        buf: &mut [u8],
    ) -> Result<usize, Error> {
        let now = self.clock.advance(now);
        let conn = match self.sockets.get_mut(handle) {
            Some(Entry {
                socket: Socket::Tcp(slot),
                ..
            }) => &mut slot.conn,
            _ => return Err(self.not_a_connection(handle)),
        };
        let before = conn.state();
        // A receive storage the read lets go of goes to the stack's ring pool.
        let result = conn.recv_pooled(now, buf, &mut self.conns.ring_pool);
        // A read that took nothing changed nothing (no window to update, no event):
        // the book-keeping pass is for reads that took bytes.
        if matches!(result, Ok(n) if n > 0) {
            self.after_conn(now, handle, before);
        }
        result.map_err(Error::from)
    }

    /// Copies received data into `buf` without taking it (`MSG_PEEK`): the next
    /// [`Stack::tcp_recv`] returns the same bytes. `Ok(0)` is the end of the
    /// stream; otherwise the results of `tcp_recv`. Changes nothing.
    pub fn tcp_peek(&self, handle: SocketHandle, buf: &mut [u8]) -> Result<usize, Error> {
        self.tcp_conn_ref(handle)?.peek(buf).map_err(Error::from)
    }

    /// How far ahead urgent data ends, in bytes from the next byte `tcp_recv`
    /// returns.
    pub fn tcp_urgent_mark(&self, handle: SocketHandle) -> Result<Option<usize>, Error> {
        Ok(self.tcp_conn_ref(handle)?.urgent_mark())
    }

    /// Takes the connection's soft error, if any: a problem it survives and keeps
    /// retrying through (an ICMP destination unreachable, `HostUnreachable` or
    /// `ConnectionRefused`; retransmissions past R1, `TimedOut`), announced by
    /// [`EventKind::SoftError`] and forgotten once an
    /// acceptable ACK arrives (Linux's `SO_ERROR` on `sk_err_soft`).
    pub fn tcp_take_soft_error(&mut self, handle: SocketHandle) -> Result<Option<Error>, Error> {
        Ok(self
            .tcp_conn_mut(handle)?
            .take_soft_error()
            .map(Error::from))
    }

    /// The connection's failure, once it failed (reset, refused, timed out,
    /// unreachable, aborted): what its receives (once the buffered data is read)
    /// and sends report from then on. Changes nothing: Linux's `SO_ERROR` takes
    /// the error (`sk_err`) once, a rule of the socket layer above, which
    /// remembers whether it reported it (layer4-net's `SkErr`); the stack keeps
    /// reporting it.
    pub fn tcp_error(&self, handle: SocketHandle) -> Result<Option<Error>, Error> {
        Ok(self.tcp_conn_ref(handle)?.error().map(Error::from))
    }

    /// Shuts down one or both directions.
    ///
    /// Writing: a FIN follows the data already written, and later sends fail.
    /// While the connection is still being opened (SYN-SENT, SYN-RECEIVED) the
    /// FIN waits for the handshake and goes out behind the data, as on BSD; only a
    /// connection in SYN-SENT with nothing written ends at once, CLOSED, as RFC 9293
    /// section 3.10.4 says (and Linux does). Reading: `tcp_recv` returns `Ok(0)`
    /// whenever nothing is buffered; data that arrives later is still returned,
    /// as on Linux.
    pub fn tcp_shutdown(
        &mut self,
        now: Instant,
        handle: SocketHandle,
        how: Shutdown,
    ) -> Result<(), Error> {
        let now = self.clock.advance(now);
        let done = self.with_conn(now, handle, |c| {
            if matches!(how, Shutdown::Write | Shutdown::Both) {
                c.shutdown_write(now);
            }
            if matches!(how, Shutdown::Read | Shutdown::Both) {
                c.shutdown_read();
            }
        });
        match done {
            Some(()) => Ok(()),
            None => Err(self.not_a_connection(handle)),
        }
    }

    /// Closes the handle. A connection finishes its close in the background (FIN,
    /// TIME-WAIT) and is freed after; a listener resets its unaccepted connections.
    /// The handle is invalid afterwards.
    pub fn close(&mut self, now: Instant, handle: SocketHandle) -> Result<(), Error> {
        let now = self.clock.advance(now);
        match self.sockets.get(handle).map(|e| &e.socket) {
            None => Err(Error::InvalidHandle),
            Some(Socket::Listener(_)) => {
                self.close_listener(now, handle);
                Ok(())
            }
            Some(Socket::Tcp(_)) => {
                self.close_conn(now, handle);
                Ok(())
            }
            Some(Socket::Udp(_)) => {
                self.udp_close(handle);
                Ok(())
            }
        }
    }

    /// [`close`](Self::close) of the connection at `handle`: the close, the
    /// book-keeping pass ([`with_conn`](Self::with_conn)'s), and the freeing once
    /// nothing is left to do. A connection that was already CLOSED and out of
    /// the 4-tuple map, which no listener holds, with nothing to send, no timer
    /// and no out-of-order data (a server's connection after its last ACK) is
    /// freed in the same pass: what the general pass would do besides is nothing
    /// for it (no state change, no timer to schedule, and a place in the
    /// transmit queue the freeing would leave stale).
    fn close_conn(&mut self, now: Instant, handle: SocketHandle) {
        let Some(entry) = self.sockets.get_mut(handle) else {
            return;
        };
        let Socket::Tcp(slot) = &mut entry.socket else {
            return;
        };
        let c = &mut slot.conn;
        let before = c.state();
        c.close(now);
        #[cfg(test)]
        let force = FORCE_GENERAL_CLOSE.get();
        #[cfg(not(test))]
        let force = false;
        // In CLOSED the close only marked the connection orphaned: no segment,
        // no state change, no timer.
        let finished = before == State::Closed
            && !slot.in_demux
            && slot.parent.is_none()
            && !c.wants_to_send()
            && c.poll_timeout().is_none()
            && c.ooo_span() == 0
            && !force;
        // In TIME-WAIT (no unread data: still TIME-WAIT after the close) with
        // its last ACK still to send and already in the transmit queue (the
        // client of a short connection that closes as soon as the peer's FIN
        // arrived): the close marked it orphaned and nothing else. The general
        // pass would change no state, take no listener or tuple-map step (the
        // compact record waits for that ACK to go) and queue nothing: only the
        // timer heap is left to do.
        let waiting = before == State::TimeWait
            && c.state() == State::TimeWait
            && slot.parent.is_none()
            && entry.tx_queued
            && c.wants_to_send()
            && c.ooo_span() == 0
            && !force;
        if finished || waiting {
            #[cfg(test)]
            FINISHED_CLOSES.set(FINISHED_CLOSES.get() + 1);
            if let Some(d) = c.take_new_loss_counts() {
                self.stats.tcp.loss.add(&d);
            }
            let events = c.take_events();
            if !events.is_empty() {
                entry.raise_bits(&mut self.events, handle, events.bits());
            }
            if waiting {
                super::timers::schedule(&mut self.timers, entry, handle);
                self.drop_stale_timers();
                return;
            }
        } else {
            if c.ooo_span() != 0 || !self.ooo_charged.is_empty() {
                self.charge_ooo(handle);
            }
            self.after_conn(now, handle, before);
            if !self.conn_releasable(handle) {
                return;
            }
        }
        // One freeing for both paths.
        self.release_conn(handle);
    }

    /// [`close`](Self::close) of the listener at `handle`: out of line and cold, so
    /// that a connection's close (every connection's) stays dense.
    #[cold]
    #[inline(never)]
    fn close_listener(&mut self, now: Instant, handle: SocketHandle) {
        let Some(Socket::Listener(l)) = self.sockets.get(handle).map(|e| &e.socket) else {
            return;
        };
        let key = (l.local.ip(), l.local.port());
        let pending: Vec<SocketHandle> = l.accept_queue.iter().copied().collect();
        if l.transparent {
            let local = l.local;
            self.forget_transparent_listener(handle, local);
        } else {
            self.listeners.remove(&key);
            self.last_listener.set(None);
        }
        // Half-open connections of this listener are found through their
        // parent link.
        let children: Vec<SocketHandle> = self
            .sockets
            .iter()
            .filter_map(|(h, e)| match &e.socket {
                Socket::Tcp(slot) if slot.parent == Some(handle) => Some(h),
                _ => None,
            })
            .collect();
        self.sockets.remove(handle);
        for h in pending.into_iter().chain(children) {
            if let Some(Entry {
                socket: Socket::Tcp(slot),
                ..
            }) = self.sockets.get_mut(h)
            {
                slot.parent = None;
            }
            self.with_conn(now, h, |c| c.abort());
        }
    }

    /// Aborts a connection: a RST goes to the peer and the handle becomes invalid.
    pub fn tcp_abort(&mut self, now: Instant, handle: SocketHandle) -> Result<(), Error> {
        let now = self.clock.advance(now);
        self.tcp_conn_mut(handle)?;
        self.with_conn(now, handle, |c| c.abort());
        if self.conn_releasable(handle) {
            self.release_conn(handle);
        }
        Ok(())
    }

    /// The connection's state.
    pub fn tcp_state(&self, handle: SocketHandle) -> Result<State, Error> {
        Ok(self.tcp_conn_ref(handle)?.state())
    }

    /// What `ss -ti` shows for the connection.
    pub fn tcp_info(&self, now: Instant, handle: SocketHandle) -> Result<TcpInfo, Error> {
        let now = self.clock.read(now);
        Ok(self.tcp_conn_ref(handle)?.info(now))
    }

    /// The connection's counters (timeouts, fast retransmits, SACK recoveries, ...).
    pub fn tcp_counters(&self, handle: SocketHandle) -> Result<ConnCounters, Error> {
        Ok(*self.tcp_conn_ref(handle)?.counters())
    }

    /// Bytes the send buffer takes now.
    pub fn tcp_send_capacity(&self, handle: SocketHandle) -> Result<usize, Error> {
        Ok(self.tcp_conn_ref(handle)?.send_capacity())
    }

    /// The connection's local and remote addresses.
    pub fn tcp_addrs(&self, handle: SocketHandle) -> Result<(SocketAddr, SocketAddr), Error> {
        let c = self.tcp_conn_ref(handle)?;
        Ok((c.local(), c.remote()))
    }

    /// A listener's local address (with the port it got).
    pub fn listener_addr(&self, handle: SocketHandle) -> Result<SocketAddr, Error> {
        match self.sockets.get(handle).map(|e| &e.socket) {
            Some(Socket::Listener(l)) => Ok(l.local),
            Some(_) => Err(Error::WrongSocketType),
            None => Err(Error::InvalidHandle),
        }
    }

    /// The socket options of a connection, or a listener's (those of the
    /// connections it will accept; see [`tcp_set_options`](Self::tcp_set_options)).
    pub fn tcp_options(&self, handle: SocketHandle) -> Result<SocketOptions, Error> {
        if let Some(Entry {
            socket: Socket::Listener(l),
            ..
        }) = self.sockets.get(handle)
        {
            return Ok(l.options);
        }
        Ok(*self.tcp_conn_ref(handle)?.options())
    }

    /// Changes a connection's options (no-delay, keep-alive, user timeout, TTL,
    /// DSCP), or a listener's options for the connections it will accept.
    pub fn tcp_set_options(
        &mut self,
        now: Instant,
        handle: SocketHandle,
        options: SocketOptions,
    ) -> Result<(), Error> {
        let now = self.clock.advance(now);
        if let Some(Entry {
            socket: Socket::Listener(l),
            ..
        }) = self.sockets.get_mut(handle)
        {
            l.options = options;
            return Ok(());
        }
        self.tcp_conn_mut(handle)?;
        self.with_conn(now, handle, |c| c.set_options(now, options));
        Ok(())
    }

    /// Disables or enables Nagle's algorithm (`TCP_NODELAY`).
    pub fn tcp_set_nodelay(
        &mut self,
        now: Instant,
        handle: SocketHandle,
        nodelay: bool,
    ) -> Result<(), Error> {
        let mut o = self.tcp_options(handle)?;
        o.nodelay = nodelay;
        self.tcp_set_options(now, handle, o)
    }

    /// Chooses whether a connection uses ECN (RFC 3168): [`EcnMode::On`] asks on
    /// the SYN, [`EcnMode::Passive`] (the default) only accepts, [`EcnMode::Off`]
    /// refuses; [`EcnMode::AccEcn`] asks for Accurate ECN (RFC 9768) and accepts it
    /// or classic ECN. Effective for a SYN or SYN-ACK not yet sent (call it right after
    /// `tcp_connect`, or on a listener for the connections it will accept).
    pub fn tcp_set_ecn(
        &mut self,
        now: Instant,
        handle: SocketHandle,
        mode: EcnMode,
    ) -> Result<(), Error> {
        self.update_options(now, handle, |o| o.ecn = mode)
    }

    /// Switches pacing of a connection's data on or off (see
    /// [`TcpConfig::pacing`](crate::tcp::TcpConfig)); on a listener, for the
    /// connections it will accept. A controller with its own pacing rate paces
    /// whatever this says.
    pub fn tcp_set_pacing(
        &mut self,
        now: Instant,
        handle: SocketHandle,
        pacing: bool,
    ) -> Result<(), Error> {
        self.update_options(now, handle, |o| o.pacing = pacing)
    }

    /// Applies `change` to a listener's options (for the connections it will accept)
    /// or to a connection's, through [`tcp_set_options`](Self::tcp_set_options).
    fn update_options(
        &mut self,
        now: Instant,
        handle: SocketHandle,
        change: impl FnOnce(&mut SocketOptions),
    ) -> Result<(), Error> {
        if let Some(Entry {
            socket: Socket::Listener(l),
            ..
        }) = self.sockets.get_mut(handle)
        {
            change(&mut l.options);
            return Ok(());
        }
        let mut o = self.tcp_options(handle)?;
        change(&mut o);
        self.tcp_set_options(now, handle, o)
    }

    /// Sets the user timeout (`TCP_USER_TIMEOUT`; RFC 9293 MUST-20..23).
    pub fn tcp_set_user_timeout(
        &mut self,
        now: Instant,
        handle: SocketHandle,
        timeout: Option<Duration>,
    ) -> Result<(), Error> {
        let mut o = self.tcp_options(handle)?;
        o.user_timeout = timeout;
        self.tcp_set_options(now, handle, o)
    }

    /// Chooses a connection's congestion controller by name (`TCP_CONGESTION`):
    /// `"cubic"`, `"newreno"`, `"bbr"` or one registered in
    /// [`TcpConfig::custom_congestion_controls`](crate::tcp::TcpConfig). Allowed
    /// until the connection sends data; on a listener, it applies to the connections
    /// it will accept.
    ///
    /// Errors: [`Error::UnknownCongestionControl`], [`Error::NotImplemented`] (a
    /// reserved name; none is reserved now), [`Error::CongestionControlInUse`] once
    /// data was sent.
    pub fn tcp_set_congestion_control(
        &mut self,
        handle: SocketHandle,
        name: &str,
    ) -> Result<(), Error> {
        let algorithm = self.tcp_config.congestion_algorithm(name)?;
        match self.sockets.get_mut(handle) {
            Some(Entry {
                socket: Socket::Listener(l),
                ..
            }) => {
                l.cc = algorithm;
                Ok(())
            }
            Some(Entry {
                socket: Socket::Tcp(slot),
                ..
            }) => {
                if slot.conn.set_congestion_control(algorithm) {
                    Ok(())
                } else {
                    Err(Error::CongestionControlInUse)
                }
            }
            Some(_) => Err(Error::WrongSocketType),
            None => Err(Error::InvalidHandle),
        }
    }

    /// The name of a connection's congestion controller.
    pub fn tcp_congestion_control(&self, handle: SocketHandle) -> Result<&'static str, Error> {
        Ok(self.tcp_conn_ref(handle)?.congestion_control())
    }
}

/// A connection's socket options and congestion controller as `tcp_connect` gives
/// them, resolved from `config` (kept, so that its address identifies it: a
/// configuration replaced since is resolved again).
#[derive(Debug, Clone)]
pub(crate) struct ConnectDefaults {
    config: Arc<TcpConfig>,
    options: SocketOptions,
    cc: CcAlgorithm,
}

#[cfg(test)]
mod tests {
    use core::net::{IpAddr, SocketAddr};
    use std::sync::Arc;

    use super::super::tests::{Impairment, Pair, B4};
    use super::{ListenOptions, Shutdown};
    use crate::event::EventKind;
    use crate::socket::SocketHandle;
    use crate::tcp::{SocketOptions, State};
    use crate::time::Duration;

    #[test]
    fn accept_raises_what_arrived_before_it_in_one_entry_then_the_listener_s_next() {
        let mut pair = Pair::new(Impairment::default(), 22);
        let server = SocketAddr::new(IpAddr::V4(B4), 80);
        let l = pair.b.tcp_listen(server, ListenOptions::default()).unwrap();
        let clients: Vec<_> = (0..3)
            .map(|_| pair.a.tcp_connect(pair.now, server, None).unwrap())
            .collect();
        let up = pair.run_until(Duration::from_secs(5), |p| {
            clients
                .iter()
                .all(|&c| p.a.tcp_state(c) == Ok(State::Established))
        });
        assert!(up);
        // Before any accept: (urgent) data and a FIN on the first, a RST on the
        // second, nothing on the third.
        let (talker, quitter) = (clients[0], clients[1]);
        pair.a.tcp_send_urgent(pair.now, talker, b"!").unwrap();
        pair.a
            .tcp_shutdown(pair.now, talker, Shutdown::Write)
            .unwrap();
        pair.a.tcp_abort(pair.now, quitter).unwrap();
        pair.run_until(Duration::from_secs(1), |_| false);
        while pair.b.poll_event().is_some() {}
        let mut seen: Vec<Vec<(SocketHandle, EventKind)>> = Vec::new();
        let mut handles = Vec::new();
        while let Ok((h, _)) = pair.b.tcp_accept(l) {
            handles.push(h);
            seen.push(
                std::iter::from_fn(|| pair.b.poll_event())
                    .map(|e| (e.handle, e.kind))
                    .collect(),
            );
        }
        let last = handles.len() - 1;
        for (i, (&h, events)) in handles.iter().zip(&seen).enumerate() {
            let conn = pair.b.conn(h).unwrap();
            // The accepted connection's pending kinds, lowest bit first, then
            // the listener's, when another connection waits.
            let mut want = Vec::new();
            if conn.recv_queue() > 0 || conn.peer_closed() {
                want.push((h, EventKind::Readable));
            }
            want.push((h, EventKind::Writable));
            if conn.error().is_some() || conn.state() == State::Closed {
                want.push((h, EventKind::Error));
            }
            if conn.urgent_mark().is_some() {
                want.push((h, EventKind::Urgent));
            }
            if i < last {
                want.push((l, EventKind::Acceptable));
            }
            assert_eq!(events, &want, "accept {i}");
        }
        // The talker's: its data and its FIN, readable at once.
        assert_eq!(
            seen[0][..2],
            [
                (handles[0], EventKind::Readable),
                (handles[0], EventKind::Writable)
            ]
        );
        // The reset one left the queue: the talker and the silent one remain.
        assert_eq!(handles.len(), 2);
    }

    /// A connection from `pair.a` to the listener `l` of `pair.b` at `server`,
    /// accepted and established: (the client's handle, the server's).
    fn connect_accepted(
        pair: &mut Pair,
        server: SocketAddr,
        l: SocketHandle,
    ) -> (SocketHandle, SocketHandle) {
        let c = pair.a.tcp_connect(pair.now, server, None).unwrap();
        let mut s = None;
        pair.run_until(Duration::from_secs(5), |p| {
            if s.is_none() {
                s = p.b.tcp_accept(l).ok().map(|(h, _)| h);
            }
            s.is_some() && p.a.tcp_state(c) == Ok(State::Established)
        });
        (c, s.expect("accepted"))
    }

    #[test]
    fn tcp_error_reports_a_failure_without_taking_it_and_listeners_have_options() {
        let mut pair = Pair::new(Impairment::default(), 23);
        let server = SocketAddr::new(IpAddr::V4(B4), 80);
        let l = pair.b.tcp_listen(server, ListenOptions::default()).unwrap();
        let mut o = pair.b.tcp_options(l).unwrap();
        assert_eq!(o, SocketOptions::from_config(&pair.b.tcp_config));
        o.ttl = 9;
        pair.b.tcp_set_options(pair.now, l, o).unwrap();
        assert_eq!(pair.b.tcp_options(l).map(|o| o.ttl), Ok(9));
        let (c, s) = connect_accepted(&mut pair, server, l);
        assert_eq!(pair.b.tcp_options(s).map(|o| o.ttl), Ok(9), "inherited");
        assert_eq!(pair.a.tcp_error(c), Ok(None));
        pair.b.tcp_abort(pair.now, s).unwrap();
        pair.run_until(Duration::from_secs(1), |p| {
            p.a.tcp_state(c) == Ok(State::Closed)
        });
        let reset = Ok(Some(crate::Error::ConnectionReset));
        assert_eq!(pair.a.tcp_error(c), reset);
        assert_eq!(pair.a.tcp_error(c), reset, "not taken");
        assert_eq!(
            pair.a.tcp_recv(pair.now, c, &mut [0u8; 4]),
            Err(crate::Error::ConnectionReset)
        );
        assert_eq!(pair.b.tcp_error(l), Err(crate::Error::WrongSocketType));
    }

    #[test]
    fn a_reset_in_close_wait_is_a_broken_pipe_and_an_estab_reset() {
        // Linux: `tcp_reset` sets `EPIPE` in CLOSE-WAIT, and `tcp_set_state`
        // counts EstabResets for CLOSE-WAIT -> CLOSE as for ESTABLISHED.
        let mut pair = Pair::new(Impairment::default(), 24);
        let server = SocketAddr::new(IpAddr::V4(B4), 80);
        let l = pair.b.tcp_listen(server, ListenOptions::default()).unwrap();
        let (c, s) = connect_accepted(&mut pair, server, l);
        pair.b.tcp_shutdown(pair.now, s, Shutdown::Write).unwrap();
        pair.run_until(Duration::from_secs(1), |p| {
            p.a.tcp_state(c) == Ok(State::CloseWait)
        });
        pair.b.tcp_abort(pair.now, s).unwrap();
        pair.run_until(Duration::from_secs(1), |p| {
            p.a.tcp_state(c) == Ok(State::Closed)
        });
        let pipe = crate::Error::ResetInCloseWait;
        assert_eq!(pipe.kind(), std::io::ErrorKind::BrokenPipe);
        assert_eq!(pair.a.tcp_error(c), Ok(Some(pipe)));
        assert_eq!(pair.a.tcp_recv(pair.now, c, &mut [0u8; 4]), Ok(0));
        assert_eq!(pair.a.tcp_send(pair.now, c, b"late"), Err(pipe));
        assert_eq!(pair.a.stats().tcp.estab_resets, 1);
        assert_eq!(pair.a.stats().tcp.curr_estab, 0);
    }

    #[test]
    fn a_reset_in_closing_or_last_ack_is_a_reset_and_no_estab_reset() {
        // RFC 9293 has such a RST just close; Linux's `tcp_reset` sets
        // `ECONNRESET` (every state but SYN-SENT and CLOSE-WAIT), and
        // `tcp_set_state` counts no EstabReset leaving CLOSING or LAST-ACK.
        for closing in [true, false] {
            let mut pair = Pair::new(Impairment::default(), 25 + u64::from(closing));
            let server = SocketAddr::new(IpAddr::V4(B4), 80);
            let l = pair.b.tcp_listen(server, ListenOptions::default()).unwrap();
            let (c, s) = connect_accepted(&mut pair, server, l);
            let now = pair.now;
            let mut buf = [0u8; 1500];
            if !closing {
                pair.b.tcp_shutdown(now, s, Shutdown::Write).unwrap();
                pair.run_until(Duration::from_secs(1), |p| {
                    p.a.tcp_state(c) == Ok(State::CloseWait)
                });
            }
            let now = pair.now;
            // A's FIN is lost.
            pair.a.tcp_shutdown(now, c, Shutdown::Write).unwrap();
            while pair.a.poll_transmit(now, &mut buf).is_some() {}
            if closing {
                pair.b.tcp_shutdown(now, s, Shutdown::Write).unwrap();
                let n = pair.b.poll_transmit(now, &mut buf).unwrap();
                pair.a.handle_packet(now, &buf[..n]);
            }
            let expected = if closing {
                State::Closing
            } else {
                State::LastAck
            };
            assert_eq!(pair.a.tcp_state(c), Ok(expected));
            pair.b.tcp_abort(now, s).unwrap();
            let n = pair.b.poll_transmit(now, &mut buf).unwrap();
            pair.a.handle_packet(now, &buf[..n]);
            assert_eq!(pair.a.tcp_state(c), Ok(State::Closed), "{expected:?}");
            let reset = crate::Error::ConnectionReset;
            assert_eq!(pair.a.tcp_error(c), Ok(Some(reset)), "{expected:?}");
            assert_eq!(pair.a.tcp_recv(now, c, &mut [0u8; 4]), Ok(0));
            assert_eq!(pair.a.tcp_send(now, c, b"late"), Err(reset));
            assert_eq!(pair.a.stats().tcp.estab_resets, 0, "{expected:?}");
            assert_eq!(pair.a.stats().tcp.curr_estab, 0, "{expected:?}");
        }
    }

    #[test]
    fn tcp_connect_gives_the_options_of_the_configuration_in_force() {
        let mut pair = Pair::new(Impairment::default(), 21);
        let server = SocketAddr::new(IpAddr::V4(B4), 80);
        pair.b.tcp_listen(server, ListenOptions::default()).unwrap();
        let first = pair.a.tcp_connect(pair.now, server, None).unwrap();
        let defaults = SocketOptions::from_config(&pair.a.tcp_config);
        assert_eq!(pair.a.tcp_options(first), Ok(defaults));
        assert_eq!(pair.a.tcp_congestion_control(first), Ok("cubic"));
        // A per-socket change is that socket's: the next one starts from the
        // configuration again.
        pair.a.tcp_set_nodelay(pair.now, first, true).unwrap();
        let second = pair.a.tcp_connect(pair.now, server, None).unwrap();
        assert_eq!(pair.a.tcp_options(second), Ok(defaults));
        // A replaced configuration (the resolved defaults were the old one's).
        let mut cfg = (*pair.a.tcp_config).clone();
        cfg.nodelay = true;
        cfg.ttl = 9;
        cfg.congestion_control = "newreno".to_string();
        pair.a.tcp_config = Arc::new(cfg);
        let third = pair.a.tcp_connect(pair.now, server, None).unwrap();
        let options = pair.a.tcp_options(third).unwrap();
        assert!(options.nodelay);
        assert_eq!(options.ttl, 9);
        assert_eq!(pair.a.tcp_congestion_control(third), Ok("newreno"));
        // Set back: the stack's own configuration again.
        pair.a.set_tcp_buffers(0, 0);
        let fourth = pair.a.tcp_connect(pair.now, server, None).unwrap();
        assert_eq!(pair.a.tcp_options(fourth), Ok(defaults));
        assert_eq!(pair.a.tcp_congestion_control(fourth), Ok("cubic"));
        assert_eq!(pair.a.tcp_options(second), Ok(defaults), "unchanged");
    }

    /// Connections closed every way (the server after its last ACK, in
    /// LAST-ACK, before the peer's FIN; aborts; unread data) over a lossy,
    /// reordering link, with `close` on its fast path for finished connections
    /// and forced onto the general one: the same packets at the same times, the
    /// same counters, events, sockets and timers.
    #[test]
    fn closing_a_finished_connection_in_one_pass_is_the_general_close() {
        use super::{FINISHED_CLOSES, FORCE_GENERAL_CLOSE};

        fn run(force: bool) -> Vec<String> {
            FORCE_GENERAL_CLOSE.set(force);
            let imp = Impairment {
                loss: 30,
                dup: 20,
                reorder: 30,
            };
            let mut pair = Pair::new(imp, 77);
            let server = SocketAddr::new(IpAddr::V4(B4), 80);
            let l = pair.b.tcp_listen(server, ListenOptions::default()).unwrap();
            let mut out = Vec::new();
            for round in 0..28u32 {
                let case = round % 7;
                let c = pair.a.tcp_connect(pair.now, server, None).unwrap();
                let mut s = None;
                pair.run_until(Duration::from_secs(20), |p| {
                    if s.is_none() {
                        s = p.b.tcp_accept(l).ok().map(|(h, _)| h);
                    }
                    s.is_some() && p.a.tcp_state(c) == Ok(State::Established)
                });
                let Some(s) = s else { continue };
                let _ = pair.a.tcp_send(pair.now, c, b"ping");
                pair.run_until(Duration::from_millis(50), |_| false);
                let mut buf = [0u8; 16];
                if case != 5 {
                    let _ = pair.b.tcp_recv(pair.now, s, &mut buf);
                }
                match case {
                    // The client closes first; the server closes once CLOSED.
                    0 | 1 => {
                        pair.a.close(pair.now, c).unwrap();
                        pair.run_until(Duration::from_millis(50), |_| false);
                        let _ = pair.b.tcp_shutdown(pair.now, s, Shutdown::Write);
                        pair.run_until(Duration::from_secs(5), |p| {
                            p.b.tcp_state(s) == Ok(State::Closed)
                        });
                        out.push(format!("{:?}", pair.b.tcp_state(s)));
                        let _ = pair.b.close(pair.now, s);
                    }
                    // The server closes in LAST-ACK.
                    2 => {
                        pair.a.close(pair.now, c).unwrap();
                        pair.run_until(Duration::from_millis(50), |_| false);
                        let _ = pair.b.close(pair.now, s);
                    }
                    // The server closes first.
                    3 => {
                        let _ = pair.b.close(pair.now, s);
                        pair.run_until(Duration::from_millis(50), |_| false);
                        let _ = pair.a.close(pair.now, c);
                    }
                    // An abort, then both close their handles.
                    4 => {
                        let _ = pair.a.tcp_abort(pair.now, c);
                        pair.run_until(Duration::from_millis(50), |_| false);
                        let _ = pair.b.close(pair.now, s);
                    }
                    // The client closes in TIME-WAIT, the peer's FIN just
                    // taken and its ACK not yet sent.
                    6 => {
                        let _ = pair.a.tcp_shutdown(pair.now, c, Shutdown::Write);
                        pair.run_until(Duration::from_millis(50), |_| false);
                        let _ = pair.b.tcp_shutdown(pair.now, s, Shutdown::Write);
                        let mut pkt = [0u8; 2000];
                        while let Some(n) = pair.b.poll_transmit(pair.now, &mut pkt) {
                            pair.sent.push((pair.now, false, pkt[..n].to_vec()));
                            pair.a.handle_packet(pair.now, &pkt[..n]);
                        }
                        out.push(format!("{:?}", pair.a.tcp_state(c)));
                        let _ = pair.a.close(pair.now, c);
                        pair.run_until(Duration::from_millis(50), |_| false);
                        let _ = pair.b.close(pair.now, s);
                    }
                    // The server closes with unread data (a RST).
                    _ => {
                        let _ = pair.b.close(pair.now, s);
                        pair.run_until(Duration::from_millis(50), |_| false);
                        let _ = pair.a.close(pair.now, c);
                    }
                }
                pair.run_until(Duration::from_millis(200), |_| false);
                for st in [&mut pair.a, &mut pair.b] {
                    out.push(format!("{:?}", st.poll_timeout()));
                    while let Some(e) = st.poll_event() {
                        out.push(format!("{e:?}"));
                    }
                    out.push(format!("{:?}", st.socket_table(pair.now)));
                }
            }
            pair.run_until(Duration::from_secs(300), |_| false);
            for st in [&pair.a, &pair.b] {
                out.push(format!("{:?}", st.stats()));
                out.push(format!("{:?}", st.socket_table(pair.now)));
            }
            out.extend(pair.sent.iter().map(|p| format!("{p:?}")));
            FORCE_GENERAL_CLOSE.set(false);
            out
        }
        FINISHED_CLOSES.set(0);
        let fast = run(false);
        let taken = FINISHED_CLOSES.get();
        let general = run(true);
        assert!(taken >= 4, "the one-pass close ran {taken} times");
        let time_wait = format!("{:?}", Ok::<State, crate::Error>(State::TimeWait));
        assert!(
            fast.contains(&time_wait),
            "a close in TIME-WAIT with its ACK due"
        );
        assert_eq!(FINISHED_CLOSES.get(), taken, "none when forced off");
        assert_eq!(fast.len(), general.len());
        for (f, g) in fast.iter().zip(&general) {
            assert_eq!(f, g);
        }
    }
}
