//! TCP segments to their connection or listener (RFC 9293 section 3.10.7), RSTs for
//! segments that match nothing, and the book-keeping after a connection changed.

use core::net::SocketAddr;

use super::conn_table::ConnTable;
use super::demux::{unspecified_like, FourTuple, ListenKey, TupleHash};
use super::time_wait::TimeWaitVerdict;
use super::{Entry, Socket, Stack, TcpSlot, TimeWaitState};
use crate::event::EventKind;
use crate::socket::SocketHandle;
use crate::tcp::conn::Opening;
use crate::tcp::ring_pool::RingPool;
use crate::tcp::EcnCounters;
use crate::tcp::{ConnEvents, Connection, OpenParams, State, SynInfo, TcpError};
use crate::time::Instant;
use crate::wire::checksum;
use crate::wire::{
    AddrPair, Ecn, SeqNumber, TcpFlags, TcpOptions, TcpPacket, TcpRepr, TcpTimestamp,
};

impl Stack {
    /// A segment from `remote` to `local`, valid but for its checksum when
    /// `header_sum` is given: then the checksum covers the pseudo-header and TCP
    /// header with that sum, and the payload is still to verify.
    pub(crate) fn tcp_segment(
        &mut self,
        now: Instant,
        local: SocketAddr,
        remote: SocketAddr,
        seg: &TcpRepr<'_>,
        ecn: Ecn,
        header_sum: Option<u16>,
    ) {
        self.tcp_segment_for(now, &FourTuple::new(local, remote), seg, ecn, header_sum);
    }

    /// [`tcp_segment`](Self::tcp_segment) for the tuple `key` (local, remote), as
    /// [`FourTuple::new`] makes it.
    pub(crate) fn tcp_segment_for(
        &mut self,
        now: Instant,
        key: &FourTuple,
        seg: &TcpRepr<'_>,
        ecn: Ecn,
        header_sum: Option<u16>,
    ) {
        if let Some(handle) = self.tcp_segment_run_start(now, key, seg, ecn, header_sum) {
            self.finish_predicted_run(handle);
        }
    }

    /// [`tcp_segment_for`](Self::tcp_segment_for), except that a segment the
    /// connection takes on its predicted path (`tcp::conn::predict`) starts a run
    /// (see [`Stack::handle_packets`]): its connection's handle is returned and
    /// the book-keeping after it is left to
    /// [`finish_predicted_run`](Self::finish_predicted_run), which the caller
    /// calls before anything else happens to the stack, after the run's other
    /// segments (`continue_run` in `ingress`) if any.
    // In line (one copy in the fixed-layout path, one in the general path's
    // `tcp_segment_for`): a short segment, verified already (every segment of
    // a short connection), goes from the look-up to `tcp_segment_checked`
    // without a call frame of its own; one still to verify takes the out-of-line
    // `tcp_segment_unverified`.
    #[inline(always)]
    pub(crate) fn tcp_segment_run_start(
        &mut self,
        now: Instant,
        key: &FourTuple,
        seg: &TcpRepr<'_>,
        ecn: Ecn,
        header_sum: Option<u16>,
    ) -> Option<SocketHandle> {
        // Computed by the first table that needs it, reused by the others.
        let mut hash = TupleHash::default();
        let handle = self.conns.get_hashed(key, &mut hash, &self.sockets);
        if let Some(header_sum) = header_sum {
            return self.tcp_segment_unverified(now, key, seg, ecn, header_sum, handle, hash);
        }
        self.tcp_segment_checked(now, key, seg, ecn, handle, hash);
        None
    }

    /// [`tcp_segment_run_start`](Self::tcp_segment_run_start) for a segment
    /// whose checksum is still to verify: `header_sum` covers the pseudo-header
    /// and TCP header; `handle` is the connection with the segment's tuple, if
    /// any, and `hash` the tuple's.
    #[inline(never)]
    #[allow(clippy::too_many_arguments)]
    fn tcp_segment_unverified(
        &mut self,
        now: Instant,
        key: &FourTuple,
        seg: &TcpRepr<'_>,
        ecn: Ecn,
        header_sum: u16,
        handle: Option<SocketHandle>,
        hash: TupleHash,
    ) -> Option<SocketHandle> {
        // The payload's sum: taken while copying it into the connection's
        // receive buffer when it is the next in-order data, else here.
        let prestored = match handle {
            Some(h) => match self.tcp_segment_predicted(now, h, seg, ecn, header_sum) {
                Predicted::Taken => return Some(h),
                Predicted::Prestored(sum) => Some(sum),
                Predicted::NotStored => None,
            },
            None => None,
        };
        let payload = prestored.unwrap_or_else(|| checksum::data(seg.payload));
        let good = checksum::combine(&[header_sum, payload]) == 0xffff;
        if good {
            self.tcp_segment_checked(now, key, seg, ecn, handle, hash);
        } else {
            self.stats.tcp.in_errs += 1;
            self.stats.tcp.in_csum_errors += 1;
        }
        if prestored.is_some() {
            // Whatever became of the segment, the copy is spoken for.
            self.forget_prestored(handle);
        }
        None
    }

    /// Drops the mark of a payload copied in ahead of the checksum
    /// (`Connection::forget_prestored`).
    fn forget_prestored(&mut self, handle: Option<SocketHandle>) {
        if let Some(Entry {
            socket: Socket::Tcp(slot),
            ..
        }) = handle.and_then(|h| self.sockets.get_mut(h))
        {
            slot.conn.forget_prestored();
        }
    }

    /// The payload copy and header prediction, with one look-up of the connection
    /// at `handle`: `seg`'s payload goes into the receive buffer, summed as it is
    /// copied, when it is the connection's next in-order data
    /// (`Connection::prestore_payload`); then, when the checksum (`header_sum`
    /// over the pseudo-header and header, plus the payload's) verifies and `seg` is
    /// the next in-order data of a connection with nothing else in it
    /// (`tcp::conn::predict`), the connection takes it on its fast path and the
    /// transmit queue takes the connection when it owes a segment now;
    /// the rest of the book-keeping is
    /// [`finish_predicted_run`](Self::finish_predicted_run)'s. Otherwise nothing
    /// but the copy has changed, and the caller takes the general path.
    #[inline]
    fn tcp_segment_predicted(
        &mut self,
        now: Instant,
        handle: SocketHandle,
        seg: &TcpRepr<'_>,
        ecn: Ecn,
        header_sum: u16,
    ) -> Predicted {
        let predict = self.rx_prediction_on();
        let Some(entry) = self.sockets.get_mut(handle) else {
            return Predicted::NotStored;
        };
        let Socket::Tcp(slot) = &mut entry.socket else {
            return Predicted::NotStored;
        };
        // A first receive storage comes from the stack's ring pool.
        let Some(sum) = slot.conn.prestore_payload(seg, &mut self.conns.ring_pool) else {
            return Predicted::NotStored;
        };
        if checksum::combine(&[header_sum, sum]) != 0xffff
            || !predict
            || !slot.conn.handle_predicted_segment(now, seg, ecn)
        {
            return Predicted::Prestored(sum);
        }
        #[cfg(test)]
        {
            self.rx_paths.predicted += 1;
        }
        // As `after_conn_requeue` does after every segment: the connection joins
        // the transmit queue after the first segment that leaves it owing one
        // (the rest of the run cannot take that back, but the queue's order with
        // other connections' entries is kept exactly this way).
        if !entry.tx_queued && slot.conn.wants_to_send() {
            entry.enqueue_tx(&mut self.tx_queue, handle);
        }
        Predicted::Taken
    }

    /// The book-keeping after a run of predicted segments on connection `handle`
    /// (one segment from `tcp_segment_for`, or a run of
    /// [`Stack::handle_packets`]). The state stays ESTABLISHED and no
    /// out-of-order data exists before or after, so of `after_conn` only the
    /// events and timers remain (what `after_conn_requeue` does of them; the
    /// transmit queue was seen to after every
    /// segment). Once per run is what once per segment leaves: the run raises
    /// the same events (readable), into a queue no other socket joined in
    /// between; its only timer change that can bring the deadline forward, the
    /// delayed ACK, is made by the first segment at the latest (later ones find
    /// an ACK already due) and the keep-alive deadline is the same for every
    /// segment at the same `now`, so the connection's earliest deadline after the
    /// run is the one after its first segment, or a later one (a timer cleared),
    /// which the heap does not take either.
    pub(crate) fn finish_predicted_run(&mut self, handle: SocketHandle) {
        let Some(entry) = self.sockets.get_mut(handle) else {
            return;
        };
        let Socket::Tcp(slot) = &mut entry.socket else {
            return;
        };
        let events = slot.conn.take_events();
        if slot.parent.is_none() && !events.is_empty() {
            entry.raise_bits(&mut self.events, handle, events.bits());
        }
        super::timers::schedule(&mut self.timers, entry, handle);
        // The connection's out-of-order span was and stays zero: re-charging it
        // changes something only when some connection is charged.
        if !self.ooo_charged.is_empty() {
            self.charge_ooo(handle);
        }
        self.drop_stale_timers();
    }

    /// [`tcp_segment`](Self::tcp_segment) once the checksum is known good; `handle`
    /// is the connection with the segment's tuple `key`, if any, and `hash` the
    /// tuple's. Out of line: one copy serves both of
    /// [`tcp_segment_run_start`](Self::tcp_segment_run_start)'s calls.
    #[inline(never)]
    fn tcp_segment_checked(
        &mut self,
        now: Instant,
        key: &FourTuple,
        seg: &TcpRepr<'_>,
        ecn: Ecn,
        handle: Option<SocketHandle>,
        hash: TupleHash,
    ) {
        if let Some(handle) = handle {
            if self.conn_segment(now, handle, seg, ecn) {
                return;
            }
        }
        self.tcp_segment_unmatched(now, key, seg, ecn, hash);
    }

    /// [`tcp_segment_checked`](Self::tcp_segment_checked) for a segment no
    /// connection took: a TIME-WAIT record's, a listener's, or a RST's. Out of
    /// line, so that the connection's path (six segments of seven in a short
    /// connection's life) stays short.
    #[inline(never)]
    fn tcp_segment_unmatched(
        &mut self,
        now: Instant,
        key: &FourTuple,
        seg: &TcpRepr<'_>,
        ecn: Ecn,
        mut hash: TupleHash,
    ) {
        let (local, remote) = (key.local, key.remote);
        if !self.time_wait.is_empty() && self.time_wait_segment(now, key, &mut hash, seg) {
            return;
        }
        // Set when this segment, a SYN, ended TIME-WAIT (a record's just now,
        // or a connection's before the tuple's connection let it go): taken
        // whatever becomes of the segment, so it never reaches another. (A
        // connection's is not passed over by the record check above: no
        // record shares a tuple with a connection, since `tcp_connect` and
        // `tcp_complete_syn` refuse a tuple in TIME-WAIT.)
        let recycled_iss = self.recycled_iss.take();
        // One call of `listener_segment` for both (it stays in line).
        let listener = match self.transparent.tcp_on() {
            false => self.find_listener(local),
            true => {
                let Some(listener) = self.find_listener_or_transparent(local) else {
                    return;
                };
                listener
            }
        };
        if let Some(listener) = listener {
            self.listener_segment(now, listener, key, seg, ecn, hash, recycled_iss);
            return;
        }
        self.reply_rst(now, local, remote, seg);
    }

    /// Whether a SYN to `local` that no connection took would reach a listener
    /// ([`tcp_segment_unmatched`](Self::tcp_segment_unmatched)'s choice): a
    /// SYN that may end TIME-WAIT ends it only then. Without one, TIME-WAIT
    /// stays and answers the SYN as any other segment it does not accept, as
    /// Linux's `tcp_v4_rcv` acknowledges a `TCP_TW_SYN` no listener takes,
    /// instead of a RST from a tuple whose TIME-WAIT was thrown away.
    ///
    /// `conns`: how many connections the stack counts once TIME-WAIT ended
    /// (a TIME-WAIT connection's end frees one). At `max_connections` a
    /// listener that does not hold its SYNs drops the SYN
    /// (`listener_segment`: a SYN that ended TIME-WAIT passes the SYN queue,
    /// not the limit), which would leave the tuple with neither TIME-WAIT nor
    /// a connection; a held SYN is held whatever the count (the limit
    /// applies when it is completed).
    fn listener_would_take(&self, local: SocketAddr, conns: usize) -> bool {
        let Some(listener) = self.listener_for(local) else {
            return false;
        };
        let Some(Entry {
            socket: Socket::Listener(l),
            ..
        }) = self.sockets.get(listener)
        else {
            return false;
        };
        // A full accept queue drops the SYN (`listener_segment`).
        l.accept_queue.len() < l.backlog
            && (conns < self.tcp_config.max_connections || l.held.is_some())
    }

    /// The listener a segment to `local` that no connection took goes to:
    /// a listener of `tcp_listen`; once the stack takes TCP to foreign
    /// addresses (`transparent`), only for one of the stack's addresses, then
    /// a transparent listener of the port, then of every port.
    fn listener_for(&self, local: SocketAddr) -> Option<SocketHandle> {
        if !self.transparent.tcp_on() {
            return self.find_listener(local);
        }
        let own = self.is_local(local.ip());
        own.then(|| self.find_listener(local))
            .flatten()
            .or_else(|| self.transparent.tcp_listener(local))
    }

    /// The listener for a segment to `local` that no connection took, once
    /// the stack takes TCP to foreign addresses (`transparent`): to one of the
    /// stack's addresses, a listener of `tcp_listen` first; then a transparent
    /// listener of the port, then of every port. `Some(None)` when nothing
    /// listens on one of the stack's addresses (the RST follows); `None` for a
    /// foreign address nothing takes, counted (`InAddrErrors`) and dropped
    /// unanswered: the stack does not speak for an address nothing listens on.
    #[cold]
    #[inline(never)]
    fn find_listener_or_transparent(&mut self, local: SocketAddr) -> Option<Option<SocketHandle>> {
        match self.listener_for(local) {
            Some(listener) => Some(Some(listener)),
            None if self.is_local(local.ip()) => Some(None),
            None => {
                // An IP-level discard after all, counted as ingress counts
                // one (InAddrErrors, not InDelivers or InSegs): ingress let it
                // through for the connections and records of foreign
                // addresses, which only demux can rule out. Both receive
                // paths counted it delivered and a segment before this.
                let ip = match local.is_ipv6() {
                    true => &mut self.stats.ip6,
                    false => &mut self.stats.ip,
                };
                ip.in_delivers = ip.in_delivers.saturating_sub(1);
                ip.in_addr_errors += 1;
                self.stats.tcp.in_segs = self.stats.tcp.in_segs.saturating_sub(1);
                None
            }
        }
    }

    /// A segment for the connection at `handle`: the connection takes it and the
    /// book-keeping follows. Returns false when the segment is not the
    /// connection's after all (no connection at `handle`, or a TIME-WAIT
    /// connection a new SYN recycled): it goes on to TIME-WAIT records, listeners
    /// or a RST.
    ///
    /// With one slab look-up in the synchronized states other than TIME-WAIT
    /// (every segment of a connection but the handshake's last ACK and a segment
    /// in TIME-WAIT): what `with_conn` does, without its second.
    #[inline]
    fn conn_segment(
        &mut self,
        now: Instant,
        handle: SocketHandle,
        seg: &TcpRepr<'_>,
        ecn: Ecn,
    ) -> bool {
        let mut slot: &mut TcpSlot = match self.sockets.get_mut(handle) {
            Some(Entry {
                socket: Socket::Tcp(slot),
                ..
            }) => slot,
            _ => return false,
        };
        let state = slot.conn.state();
        if matches!(state, State::TimeWait | State::SynReceived) {
            match self.conn_segment_checked_state(now, handle, state, seg) {
                Some(taken) => return taken,
                None => match self.sockets.get_mut(handle) {
                    Some(Entry {
                        socket: Socket::Tcp(again),
                        ..
                    }) => slot = again,
                    _ => return false,
                },
            }
        }
        let conn = &mut slot.conn;
        let ecn_before = conn.ecn_counters_if_any();
        // Rings the segment needs or lets go of come from and go to the
        // stack's ring pool.
        conn.handle_segment_ecn_pooled(now, seg, ecn, &mut self.conns.ring_pool);
        // Read before the book-keeping: the segment may close the connection (its
        // last ACK, into TIME-WAIT) and the book-keeping free it.
        let ecn_after = conn.ecn_counters_if_any();
        // Nothing to charge without out-of-order data here or anywhere (the
        // common case): skip the charge's own slab look-up.
        if conn.ooo_span() != 0 || !self.ooo_charged.is_empty() {
            self.charge_ooo(handle);
        }
        self.after_conn(now, handle, state);
        // No ECN met before or after: all counters were and stay zero.
        if ecn_before.is_some() || ecn_after.is_some() {
            self.count_ecn_in(
                ecn_before.unwrap_or_default(),
                ecn_after.unwrap_or_default(),
            );
        }
        true
    }

    /// What [`conn_segment`](Self::conn_segment) does first for a connection in
    /// TIME-WAIT (a new SYN may recycle it) or SYN-RECEIVED (the handshake's ACK
    /// waits for room in the accept queue): `Some` of its answer when that
    /// decides the segment, `None` when the connection takes it as in any other
    /// state.
    // Out of line: once per connection at most (the handshake's last ACK).
    #[inline(never)]
    fn conn_segment_checked_state(
        &mut self,
        now: Instant,
        handle: SocketHandle,
        state: State,
        seg: &TcpRepr<'_>,
    ) -> Option<bool> {
        let flags = seg.flags;
        if state == State::TimeWait {
            return self.time_wait_conn_segment(now, handle, seg);
        } else if flags.contains(TcpFlags::ACK)
            && !flags.intersects(TcpFlags::SYN | TcpFlags::RST)
            && self.accept_queue_full(handle)
        {
            // Linux (tcp_abort_on_overflow = 0): drop the handshake's
            // ACK; the SYN-ACK is resent and the client retries.
            self.stats.tcp.listen_overflows += 1;
            return Some(true);
        }
        None
    }

    /// [`conn_segment_checked_state`](Self::conn_segment_checked_state) for a
    /// connection in TIME-WAIT: a new SYN a listener would take ends it and
    /// goes on (`Some(false)`); anything else is the connection's (`None`).
    /// Out of line, apart from the handshake's last ACK.
    #[cold]
    #[inline(never)]
    fn time_wait_conn_segment(
        &mut self,
        now: Instant,
        handle: SocketHandle,
        seg: &TcpRepr<'_>,
    ) -> Option<bool> {
        let flags = seg.flags;
        // As for a record (`time_wait_segment`): a SYN with RST set is no new
        // incarnation's, and ends TIME-WAIT only as a RST does.
        let syn_only =
            flags.contains(TcpFlags::SYN) && !flags.intersects(TcpFlags::ACK | TcpFlags::RST);
        if syn_only
            && self.conn(handle)?.time_wait_accepts_syn(seg)
            && self.listener_would_take(
                self.conn(handle)?.local(),
                self.tcp_conn_count.saturating_sub(1),
            )
        {
            //= https://www.rfc-editor.org/rfc/rfc6191#section-2
            //# the TIME-WAIT state ... may be
            //# ended and the new connection accepted
            self.stats.tcp.time_wait_recycled += 1;
            let snd_max = self.conn(handle)?.send_max();
            self.recycled_iss = Some(super::time_wait::reincarnation_iss(snd_max));
            if self.conn(handle)?.is_orphaned() {
                self.release_conn(handle);
            } else {
                // The application still holds it: CLOSED, out of the
                // 4-tuple map, its handle valid until closed (reads end,
                // as Linux's socket does once its TIME-WAIT is a
                // separate record that a SYN ends).
                self.with_conn(now, handle, |c| c.end_time_wait());
            }
            return Some(false);
        }
        None
    }

    /// Adds what a segment changed in a connection's ECN counters to the stack's.
    fn count_ecn_in(&mut self, before: EcnCounters, after: EcnCounters) {
        let tcp = &mut self.stats.tcp;
        tcp.ecn_ce_received += u64::from(after.ce_received.saturating_sub(before.ce_received));
        tcp.ecn_ece_received += u64::from(after.ece_received.saturating_sub(before.ece_received));
        tcp.ecn_reactions += u64::from(after.reactions.saturating_sub(before.reactions));
        tcp.accecn_ce_delivered += u64::from(after.ace_ce.saturating_sub(before.ace_ce));
        tcp.accecn_ace_ignored += u64::from(after.ace_ignored.saturating_sub(before.ace_ignored));
    }

    /// The listener for a segment to `local`: on that address, else on the
    /// wildcard of its family. The last answer is kept (`last_listener`), so
    /// that a server's SYNs, all to one listener, take no map look-up.
    pub(super) fn find_listener(&self, local: SocketAddr) -> Option<SocketHandle> {
        let key = (local.ip(), local.port());
        match self.last_listener.get() {
            Some((k, handle)) if k == key => Some(handle),
            _ => self.find_listener_in_map(key),
        }
    }

    /// [`find_listener`](Self::find_listener) in the listener map, keeping the
    /// answer. Out of line: one look-up per listener and local address while
    /// the listeners stay as they are.
    #[inline(never)]
    pub(super) fn find_listener_in_map(&self, key: ListenKey) -> Option<SocketHandle> {
        let found = self
            .listeners
            .get(&key)
            .or_else(|| self.listeners.get(&(unspecified_like(key.0), key.1)))
            .copied();
        if let Some(handle) = found {
            self.last_listener.set(Some((key, handle)));
        }
        found
    }

    fn accept_queue_full(&self, conn: SocketHandle) -> bool {
        let Some(Entry {
            socket: Socket::Tcp(slot),
            ..
        }) = self.sockets.get(conn)
        else {
            return false;
        };
        let Some(parent) = slot.parent else {
            return false;
        };
        match self.sockets.get(parent) {
            Some(Entry {
                socket: Socket::Listener(l),
                ..
            }) => l.accept_queue.len() >= l.backlog,
            _ => false,
        }
    }

    /// RFC 9293 section 3.10.7.2: a segment for a listener (`hash`: the hash of
    /// the tuple `key`; `recycled_iss`: the ISS a SYN that ended TIME-WAIT
    /// opens its connection with).
    #[allow(clippy::too_many_arguments)]
    fn listener_segment(
        &mut self,
        now: Instant,
        listener: SocketHandle,
        key: &FourTuple,
        seg: &TcpRepr<'_>,
        ecn: Ecn,
        hash: TupleHash,
        recycled_iss: Option<SeqNumber>,
    ) {
        let (local, remote) = (key.local, key.remote);
        let flags = seg.flags;
        //= https://www.rfc-editor.org/rfc/rfc9293#section-3.10.7.2
        //# First, check for a RST:
        //# An incoming RST segment could not be valid since it could not
        //# have been sent in response to anything sent by this incarnation
        //# of the connection.  An incoming RST should be ignored.  Return.
        if flags.contains(TcpFlags::RST) {
            return;
        }
        //= https://www.rfc-editor.org/rfc/rfc9293#section-3.10.7.2
        //# Second, check for an ACK:
        //# Any acknowledgment is bad if it arrives on a connection still in
        //# the LISTEN state.  An acceptable reset segment should be formed
        //# for any arriving ACK-bearing segment.  The RST should be
        //# formatted as follows:
        //#
        //# <SEQ=SEG.ACK><CTL=RST>
        if flags.contains(TcpFlags::ACK) {
            if self.cookie_ack(now, listener, local, remote, seg, ecn) {
                return;
            }
            self.reply_rst(now, local, remote, seg);
            return;
        }
        if !flags.contains(TcpFlags::SYN) {
            return;
        }
        if flags.contains(TcpFlags::FIN) {
            // SYN and FIN together: no TCP opens with them (T/TCP's did), but
            // scanners and firewall-evasion tools send them. Discarded, as
            // Linux's listener does (`tcp_rcv_state_process`), rather than
            // opening a connection whose peer has already closed.
            return;
        }
        // One look-up of the listener: its SYN-RECEIVED count is taken for the
        // new connection here, before the open (which reads no listener).
        let Some(Entry {
            socket: Socket::Listener(l),
            ..
        }) = self.sockets.get_mut(listener)
        else {
            return;
        };
        if l.accept_queue.len() >= l.backlog {
            // The application is not accepting: the SYN is dropped and the
            // client retries, as Linux's `tcp_conn_request` does (with SYN
            // cookies too), rather than a half-open connection whose
            // handshake's ACK would find no room either.
            self.stats.tcp.listen_overflows += 1;
            self.stats.tcp.listen_drops += 1;
            return;
        }
        if l.held.is_some() {
            // The application decides (`held_syn`).
            self.hold_syn(now, listener, key, seg, ecn, recycled_iss);
            return;
        }
        // A SYN that ended TIME-WAIT is not held to the SYN queue: a cookie's
        // ISS would ignore the old incarnation's numbers, and a drop would
        // leave the client's retry, TIME-WAIT gone, to the ISN clock's ISS.
        // What it takes beyond the queue is bounded by the TIME-WAIT
        // connections and records it ended.
        //= https://www.rfc-editor.org/rfc/rfc9293#section-3.6.1
        //# (1)  assigns its initial sequence number for the new connection to be
        //#      larger than the largest sequence number it used on the previous
        //#      connection incarnation, and
        if l.syn_pending >= self.tcp_config.syn_backlog && recycled_iss.is_none() {
            if self.tcp_config.syn_cookies {
                //= https://www.rfc-editor.org/rfc/rfc4987#section-3.6
                self.send_cookie_syn_ack(now, listener, local, remote, seg);
            } else {
                self.stats.tcp.listen_drops += 1;
            }
            return;
        }
        if self.tcp_conn_count >= self.tcp_config.max_connections {
            self.stats.tcp.connection_limit_drops += 1;
            return;
        }
        l.syn_pending += 1;
        let mut choice = OpenChoice::new(
            local,
            remote,
            self.routes.lookup(remote.ip()).and_then(|r| r.mtu),
            l.options,
            l.cc,
        );
        choice.iss = recycled_iss;
        let syn = SynInfo {
            ip_ecn: ecn,
            ..SynInfo::from_repr(seg)
        };
        self.open_conn(
            now,
            key,
            hash,
            &mut choice,
            Opening::Passive(&syn),
            Some(listener),
        );
    }

    /// The one routine of both opens, active (`tcp_connect`) and passive (a
    /// listener's SYN): the ISN and timestamp offset of tuple `key` (hashed
    /// `hash` if already known), the path MTU, the connection built as `opening`
    /// says with what the caller chose, added to the slab and the 4-tuple map,
    /// counted, and the book-keeping pass. A spare slot (a freed connection's,
    /// kept by the connection table) is reused when there is one: the
    /// connection is rebuilt in it, exactly as a fresh one
    /// ([`Connection::reopen`]).
    pub(crate) fn open_conn(
        &mut self,
        now: Instant,
        key: &FourTuple,
        mut hash: TupleHash,
        choice: &mut OpenChoice,
        opening: Opening<'_>,
        parent: Option<SocketHandle>,
    ) -> SocketHandle {
        let params = &mut choice.params;
        let (iss, ts_offset) = self.isn.isn_and_ts_offset(now, params.local, params.remote);
        params.iss = iss;
        if choice.iss.is_some() || !self.ended.is_empty() {
            // A SYN that ended TIME-WAIT, or a failed connection of the
            // tuple remembered: past the old numbers.
            params.iss = self.reincarnation_iss(now, key, choice.iss).unwrap_or(iss);
        }
        params.ts_offset = ts_offset;
        params.path_mtu = self.path_mtu_via(now, params.remote.ip(), choice.route_mtu);
        let params = &choice.params;
        let tuple_hash = self.conns.hash(key, &mut hash);
        let slot = match self.conns.take_spare() {
            Some(mut slot) => {
                slot.conn.reopen(now, &self.tcp_config, params, opening);
                slot.parent = parent;
                slot.in_demux = true;
                slot.tuple_hash = tuple_hash;
                slot
            }
            None => fresh_slot(
                now,
                self.tcp_config.clone(),
                params,
                opening,
                parent,
                tuple_hash,
            ),
        };
        let handle = self.insert_slot(slot, key, hash);
        if !self.pmtu.is_empty() {
            // It may have taken a lowered estimate: raised when that expires.
            self.note_pmtu_cached(now, handle, key.remote.ip());
        }
        let before = match opening {
            Opening::Active => {
                self.stats.tcp.active_opens += 1;
                State::Closed
            }
            // LISTEN -> SYN-RECEIVED under a listener is no change the
            // book-keeping acts on (no counter counts it, and the listener's
            // queues change only when the connection leaves SYN-RECEIVED): the
            // pass is the common one, as for a pass without a state change.
            Opening::Passive(_) => {
                self.stats.tcp.passive_opens += 1;
                debug_assert_eq!(
                    self.conn(handle).map(|c| c.state()),
                    Some(State::SynReceived)
                );
                State::SynReceived
            }
        };
        self.after_conn(now, handle, before);
        handle
    }

    /// Adds a connection to the slab and the 4-tuple map; `hash` is the hash of its
    /// tuple if already known.
    pub(crate) fn insert_conn(
        &mut self,
        conn: Connection,
        parent: Option<SocketHandle>,
        mut hash: TupleHash,
    ) -> SocketHandle {
        let key = FourTuple::new(conn.local(), conn.remote());
        let tuple_hash = self.conns.hash(&key, &mut hash);
        let slot = Box::new(TcpSlot {
            conn,
            parent,
            in_demux: true,
            tuple_hash,
        });
        self.insert_slot(slot, &key, hash)
    }

    /// Adds `slot`, whose connection has tuple `key` (and `slot.tuple_hash` its
    /// hash, also in `hash`), to the slab and the 4-tuple map.
    fn insert_slot(
        &mut self,
        slot: Box<TcpSlot>,
        key: &FourTuple,
        mut hash: TupleHash,
    ) -> SocketHandle {
        let handle = self.sockets.insert(Entry::new(Socket::Tcp(slot)));
        self.conns.insert(key, &mut hash, handle, &self.sockets);
        self.tcp_conn_count += 1;
        handle
    }

    /// The connection behind `handle`, if it is one.
    pub(crate) fn conn(&self, handle: SocketHandle) -> Option<&Connection> {
        match self.sockets.get(handle) {
            Some(Entry {
                socket: Socket::Tcp(slot),
                ..
            }) => Some(&slot.conn),
            _ => None,
        }
    }

    /// Runs `f` on the connection, then does the stack's book-keeping.
    pub(crate) fn with_conn<R>(
        &mut self,
        now: Instant,
        handle: SocketHandle,
        f: impl FnOnce(&mut Connection) -> R,
    ) -> Option<R> {
        self.with_conn_lending(now, handle, false, |c, _| f(c))
    }

    /// [`with_conn`](Self::with_conn) for a call that queues data: the
    /// connection is lent a kept congestion state first if it has no controller
    /// yet (`CcPool::lend`), for its first segment to renew.
    /// The connection is also handed the stack's ring pool, from which a
    /// first send storage comes (a field apart from the socket slab: no move
    /// of the pool out of the stack and back around the call).
    pub(crate) fn with_conn_sending<R>(
        &mut self,
        now: Instant,
        handle: SocketHandle,
        f: impl FnOnce(&mut Connection, &mut RingPool) -> R,
    ) -> Option<R> {
        self.with_conn_lending(now, handle, true, f)
    }

    #[inline(always)]
    fn with_conn_lending<R>(
        &mut self,
        now: Instant,
        handle: SocketHandle,
        lend: bool,
        f: impl FnOnce(&mut Connection, &mut RingPool) -> R,
    ) -> Option<R> {
        let slot = match self.sockets.get_mut(handle) {
            Some(Entry {
                socket: Socket::Tcp(slot),
                ..
            }) => slot,
            _ => return None,
        };
        if lend {
            self.conns.cc_pool.lend(&mut slot.conn);
        }
        let before = slot.conn.state();
        let r = f(&mut slot.conn, &mut self.conns.ring_pool);
        // Nothing to charge without out-of-order data here or anywhere (the
        // common case): skip the charge's own slab look-up.
        if slot.conn.ooo_span() != 0 || !self.ooo_charged.is_empty() {
            self.charge_ooo(handle);
        }
        self.after_conn(now, handle, before);
        Some(r)
    }
}

/// A new slot for [`Stack::open_conn`] when no spare one is kept: out of line
/// and cold (once the spare list has filled, every open reuses a slot), so that
/// the open's hot lines stay dense.
#[cold]
#[inline(never)]
fn fresh_slot(
    now: Instant,
    config: std::sync::Arc<crate::tcp::TcpConfig>,
    params: &OpenParams,
    opening: Opening<'_>,
    parent: Option<SocketHandle>,
    tuple_hash: u64,
) -> Box<TcpSlot> {
    Box::new(TcpSlot {
        conn: Connection::open(now, config, *params, opening),
        parent,
        in_demux: true,
        tuple_hash,
    })
}

/// Remembers the tuple of `conn`, a connection that failed and leaves the
/// 4-tuple map, with the end of its sequence space (`ended_tuples`), for the
/// TIME-WAIT length. Out of line: failures are the rare way out.
#[cold]
#[inline(never)]
fn note_ended(
    ended: &mut super::ended_tuples::EndedTuples,
    clock: &super::clock::StackClock,
    config: &crate::tcp::TcpConfig,
    conn: &Connection,
) {
    let tuple = FourTuple::new(conn.local(), conn.remote());
    ended.note(
        clock.read(Instant::ZERO),
        config.time_wait,
        tuple,
        conn.send_max(),
    );
}

/// Takes the connection in `slot` (at `handle`) out of the 4-tuple map if it is
/// there: one connection less.
fn unhash_slot(conns: &mut ConnTable, count: &mut usize, slot: &mut TcpSlot, handle: SocketHandle) {
    if slot.in_demux {
        slot.in_demux = false;
        conns.remove(slot.tuple_hash, handle);
        *count = count.saturating_sub(1);
    }
}

/// What the caller of [`Stack::open_conn`] decides for a new connection: its
/// parameters but for the ISN, the timestamp offset and the path MTU, which
/// the open fills in (from the tuple, and from `route_mtu`, the MTU of the
/// route toward the peer if it has one). Built once, where the caller's
/// values are, and completed in place: no copy of the whole.
pub(crate) struct OpenChoice {
    pub(crate) params: OpenParams,
    pub(crate) route_mtu: Option<u16>,
    /// The ISS when the ISN clock does not choose it: a SYN that ended
    /// TIME-WAIT (`time_wait::reincarnation_iss`).
    pub(crate) iss: Option<SeqNumber>,
}

impl OpenChoice {
    /// `remote` as the application named it (an active open) or as the packet
    /// gave it (a passive one).
    pub(crate) fn new(
        local: SocketAddr,
        remote: SocketAddr,
        route_mtu: Option<u16>,
        options: crate::tcp::SocketOptions,
        cc: crate::cc::CcAlgorithm,
    ) -> OpenChoice {
        OpenChoice {
            params: OpenParams {
                local,
                remote,
                iss: SeqNumber(0),
                ts_offset: 0,
                path_mtu: 0,
                options,
                cc,
            },
            route_mtu,
            iss: None,
        }
    }
}

/// What [`Stack::tcp_segment_predicted`] did with a segment.
enum Predicted {
    /// Took it: the segment is fully handled.
    Taken,
    /// Copied its payload into the receive buffer, with this sum, but did not
    /// take it: the general path follows.
    Prestored(u16),
    /// Nothing: the general path follows.
    NotStored,
}

/// The counters after a connection went from `before` to `state`. Inlined
/// into its two callers, as it was before the cold SYN-RECEIVED case moved out.
#[inline]
fn count_state_change(
    tcp: &mut crate::stats::TcpStats,
    conn: &Connection,
    before: State,
    state: State,
) {
    // As bits of a mask: two tests, not four compares, on every state change.
    const ESTAB: u16 = 1 << State::Established as u16 | 1 << State::CloseWait as u16;
    let estab = |s: State| ESTAB & (1 << s as u16) != 0;
    if !estab(before) && estab(state) {
        tcp.curr_estab += 1;
    } else if estab(before) && !estab(state) {
        tcp.curr_estab = tcp.curr_estab.saturating_sub(1);
    }
    // The handshake's end, into ESTABLISHED or, when the application shut down
    // writing while connecting, straight on to FIN-WAIT-1.
    if matches!(before, State::SynSent | State::SynReceived) && state.is_synchronized() {
        if conn.ecn_enabled() {
            tcp.ecn_negotiated += 1;
        }
        if conn.accecn_enabled() {
            tcp.accecn_negotiated += 1;
        }
    }
    if state == State::Closed && before != State::Closed {
        if matches!(before, State::SynSent | State::SynReceived)
            && !half_open_dropped_uncounted(conn, before)
        {
            tcp.attempt_fails += 1;
        }
        if estab(before)
            && matches!(
                conn.error(),
                Some(TcpError::Reset | TcpError::ResetInCloseWait)
            )
        {
            tcp.estab_resets += 1;
        }
    }
}

/// Whether a connection that went from SYN-RECEIVED to CLOSED is a listener's
/// half-open connection that Linux, holding it as a request socket, drops
/// without an AttemptFail (which `tcp_done` counts for full sockets and
/// `tcp_check_req` for a RST or SYN):
/// - one that an ICMP port or protocol unreachable ended (the one way such a
///   connection fails `Refused`: a RST closes it without an error) is a
///   ListenDrop, which the ICMP path counts: `tcp_req_err` drops the request
///   with `inet_csk_reqsk_queue_drop` and counts only `tcp_listendrop`;
/// - one whose SYN-ACK retries ran out: `reqsk_timer_handler` drops the
///   request with `inet_csk_reqsk_queue_drop_and_put` and counts nothing (its
///   `tcp_syn_ack_timeout` counts `TcpExt:TCPTimeouts` at every expiry, as the
///   stack does in `TcpStats::timeouts`).
#[cold]
fn half_open_dropped_uncounted(conn: &Connection, before: State) -> bool {
    before == State::SynReceived
        && conn.is_passive()
        && (conn.error() == Some(TcpError::Refused) || conn.syn_ack_retries_ran_out())
}

/// Each connection event is the bit of the stack's event of the same name, so
/// that a pass raises `ConnEvents::bits` as they are, with no translation.
const _: () = {
    let pairs = [
        (ConnEvents::CONNECTED, EventKind::Connected),
        (ConnEvents::READABLE, EventKind::Readable),
        (ConnEvents::WRITABLE, EventKind::Writable),
        (ConnEvents::ERROR, EventKind::Error),
        (ConnEvents::CLOSED, EventKind::Closed),
        (ConnEvents::URGENT, EventKind::Urgent),
        (ConnEvents::SOFT_ERROR, EventKind::SoftError),
    ];
    let mut all = 0u8;
    let mut i = 0;
    while i < pairs.len() {
        assert!(pairs[i].0.bits() == pairs[i].1.bit());
        all |= pairs[i].0.bits();
        i += 1;
    }
    // No other bit: `Acceptable` (a listener's) is never a connection's.
    assert!(all == !EventKind::Acceptable.bit());
};

/// Whether [`after_conn_requeue`](Stack::after_conn_requeue) puts the connection
/// in the transmit queue.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Requeue {
    /// No: it just said it has nothing to send.
    No,
    /// Yes: it just said it has more to send.
    Yes,
    /// If it has something to send now (asked here, so that a connection with
    /// nothing to say costs no empty `poll_transmit` pass).
    IfReady,
}

impl Stack {
    /// After anything happened to a connection: counters, events, the listener's
    /// queues, the demux map, timers, the transmit queue, and freeing.
    pub(crate) fn after_conn(&mut self, now: Instant, handle: SocketHandle, before: State) {
        self.after_conn_requeue(now, handle, before, Requeue::IfReady);
    }

    /// [`after_conn`](Self::after_conn), putting the connection in the transmit
    /// queue as `requeue` says (the transmit path knows whether the connection has
    /// more to send; every other path asks it).
    pub(crate) fn after_conn_requeue(
        &mut self,
        now: Instant,
        handle: SocketHandle,
        before: State,
        requeue: Requeue,
    ) {
        let Some(entry) = self.sockets.get_mut(handle) else {
            return;
        };
        let Socket::Tcp(slot) = &mut entry.socket else {
            return;
        };
        let state = slot.conn.state();
        if let Some(d) = slot.conn.take_new_loss_counts() {
            self.stats.tcp.loss.add(&d);
            if d.pmtu_black_holes > 0 {
                // A black hole started (or moved) the connection's path MTU
                // search: its first step is the stack's to schedule
                // (`pmtu_raise`). Only when the loss counters changed.
                if let Some(at) = slot.conn.first_mtu_search_deadline(now) {
                    self.pmtu_raises
                        .note(handle, super::pmtu_raise::Due::MtuSearch, at);
                }
            }
        }
        let events = slot.conn.take_events();
        let passive_unaccepted = slot.parent.is_some();
        // Most passes (a segment, a send, a read; without a state change, or with
        // one but no listener to tell): no listener queues, no demux change, no
        // freeing; the counters, the events, the timer heap and the transmit
        // queue within this one slab look-up.
        // In CLOSED or TIME-WAIT the uncommon pass has work only while the
        // connection is in the demux map (CLOSED: to take it out) or once the
        // application let go of it (TIME-WAIT: a compact record may replace
        // it); other passes in those states (a closed connection's queue pass,
        // TIME-WAIT before the application closes) did nothing there but a
        // slab look-up again.
        let common = (state == before || !passive_unaccepted)
            && match state {
                State::Closed => !slot.in_demux,
                State::TimeWait => passive_unaccepted || !slot.conn.is_orphaned(),
                _ => true,
            };
        // A connection no listener holds: a state change is the counters alone,
        // and its events are raised here, on either path. One a listener holds
        // raises no events of its own (the listener's come out of
        // `on_conn_state_change` below), so nothing raised changes order.
        if !passive_unaccepted {
            if state != before {
                count_state_change(&mut self.stats.tcp, &slot.conn, before, state);
            }
            if !events.is_empty() {
                entry.raise_bits(&mut self.events, handle, events.bits());
            }
        }
        let entry = if common {
            entry
        } else {
            if !self.after_conn_uncommon(handle, before, state) {
                return;
            }
            match self.sockets.get_mut(handle) {
                Some(entry) => entry,
                None => return,
            }
        };
        // One tail for both paths (one copy of it in the code). A connection
        // with nothing to send stays out of the queue: the pass `poll_transmit`
        // would make over it comes back empty (and its side effects, timers,
        // happen here, before the timer heap learns of them). A closed one goes
        // in, for that pass frees it.
        let queue = !entry.tx_queued
            && match (requeue, &mut entry.socket) {
                (Requeue::No, _) => false,
                (Requeue::IfReady, Socket::Tcp(slot)) if state != State::Closed => {
                    slot.conn.ready_to_send(now)
                }
                _ => true,
            };
        // The queue before the timers (the two touch disjoint state): the
        // paths join ahead of one copy of `schedule`, not behind two.
        if queue {
            entry.enqueue_tx(&mut self.tx_queue, handle);
        }
        // Only a push grows the heap: the stale entries' bound is checked then.
        if super::timers::schedule(&mut self.timers, entry, handle) {
            self.drop_stale_timers();
        }
    }

    /// What [`after_conn_requeue`](Self::after_conn_requeue) does besides the
    /// common pass for a connection that went from `before` to `state` while
    /// a listener holds it, is CLOSED and still in the demux map, or is in
    /// TIME-WAIT with no handle left: the listener's queues, the demux map,
    /// the compact TIME-WAIT record. Returns false when
    /// the connection's slot is gone. Out of line (a few passes per connection
    /// at most): the common pass keeps a small frame and dense code.
    #[cold]
    #[inline(never)]
    fn after_conn_uncommon(&mut self, handle: SocketHandle, before: State, state: State) -> bool {
        // One slab look-up for what the steps below ask of the slot (none of
        // them changes what another reads first).
        let Some(Entry {
            socket: Socket::Tcp(slot),
            ..
        }) = self.sockets.get(handle)
        else {
            return false;
        };
        let held = slot.parent.is_some();
        // A TIME-WAIT connection no handle refers to, with nothing left to
        // send: the compact record that replaces it.
        let record = match state == State::TimeWait
            && !held
            && slot.conn.is_orphaned()
            && !slot.conn.wants_to_send()
        {
            true => slot.conn.time_wait_state().map(|tw| {
                (
                    FourTuple::new(slot.conn.local(), slot.conn.remote()),
                    tw,
                    TupleHash::known(slot.tuple_hash),
                )
            }),
            false => None,
        };
        // The listener's queues change only with the state.
        if state != before && held {
            self.on_conn_state_change(handle, before, state);
        }
        if state == State::Closed {
            self.unhash_conn(handle);
        } else if let Some((tuple, tw, hash)) = record {
            self.compact_time_wait(handle, tuple, tw, hash);
            return false;
        }
        true
    }

    /// The counters and the listener's queues after a connection went from
    /// `before` to `state`.
    fn on_conn_state_change(&mut self, handle: SocketHandle, before: State, state: State) {
        let Some(Entry {
            socket: Socket::Tcp(slot),
            ..
        }) = self.sockets.get(handle)
        else {
            return;
        };
        let parent = slot.parent;
        count_state_change(&mut self.stats.tcp, &slot.conn, before, state);

        if let Some(listener) = parent {
            if before == State::SynReceived && state != State::SynReceived {
                if let Some(Entry {
                    socket: Socket::Listener(l),
                    ..
                }) = self.sockets.get_mut(listener)
                {
                    l.syn_pending = l.syn_pending.saturating_sub(1);
                    if state.is_synchronized() {
                        l.accept_queue.push_back(handle);
                    }
                }
                if state.is_synchronized() {
                    self.raise(listener, EventKind::Acceptable);
                }
            }
        }
    }

    /// Takes a closed connection out of the 4-tuple map (its handle stays valid for
    /// the application until it closes it).
    fn unhash_conn(&mut self, handle: SocketHandle) {
        if let Some(Entry {
            socket: Socket::Tcp(slot),
            ..
        }) = self.sockets.get_mut(handle)
        {
            if slot.in_demux && slot.conn.error().is_some() && slot.conn.sent_past_syn() {
                note_ended(&mut self.ended, &self.clock, &self.tcp_config, &slot.conn);
            }
            unhash_slot(&mut self.conns, &mut self.tcp_conn_count, slot, handle);
        }
    }

    /// The ISS of a new connection of `tuple` that must open past an old
    /// incarnation's numbers: `recycled` when its SYN ended TIME-WAIT, else
    /// when a failed connection of the tuple is remembered (`ended_tuples`),
    /// past every sequence number that one used, as after TIME-WAIT.
    #[cold]
    #[inline(never)]
    fn reincarnation_iss(
        &mut self,
        now: Instant,
        tuple: &FourTuple,
        recycled: Option<SeqNumber>,
    ) -> Option<SeqNumber> {
        if recycled.is_some() {
            return recycled;
        }
        let snd_max = self.ended.take(now, tuple)?;
        Some(super::time_wait::reincarnation_iss(snd_max))
    }

    /// Frees a connection's slot now (it must have nothing left to send).
    pub(crate) fn release_conn(&mut self, handle: SocketHandle) {
        if let Some(Entry {
            socket: Socket::Tcp(slot),
            ..
        }) = self
            .sockets
            .remove_if(handle, |e| matches!(e.socket, Socket::Tcp(_)))
        {
            self.free_slot(handle, slot);
        }
    }

    /// The one pass that ends a connection the slab no longer holds (`slot`, which
    /// was at `handle`): out of the 4-tuple map and the out-of-order budget, out of
    /// its listener's queues, and kept as a spare slot. Everything it needs is in
    /// `slot`: no look-up of the connection again.
    fn free_slot(&mut self, handle: SocketHandle, mut slot: Box<TcpSlot>) {
        // Nothing charged anywhere: no map look-up. Not a cold branch: the map is
        // the whole stack's, not empty whenever any connection holds out-of-order
        // data (a server with many lossy clients).
        if !self.ooo_charged.is_empty() {
            self.uncharge_ooo(handle);
        }
        if slot.in_demux && slot.conn.error().is_some() && slot.conn.sent_past_syn() {
            note_ended(&mut self.ended, &self.clock, &self.tcp_config, &slot.conn);
        }
        unhash_slot(&mut self.conns, &mut self.tcp_conn_count, &mut slot, handle);
        if let Some(Entry {
            socket: Socket::Listener(l),
            ..
        }) = slot.parent.and_then(|p| self.sockets.get_mut(p))
        {
            l.accept_queue.retain(|&h| h != handle);
            if slot.conn.state() == State::SynReceived {
                // Freed before its handshake ended (a RST, a timeout).
                crate::hint::cold_path();
                l.syn_pending = l.syn_pending.saturating_sub(1);
            }
        }
        self.conns.keep_spare(slot);
    }

    /// Replaces the TIME-WAIT connection at `handle` (no handle refers to it,
    /// it has nothing left to send) by a compact record (`time_wait`) of
    /// `tuple` (hashed `hash`) in TIME-WAIT state `tw`.
    fn compact_time_wait(
        &mut self,
        handle: SocketHandle,
        tuple: FourTuple,
        tw: TimeWaitState,
        mut hash: TupleHash,
    ) {
        self.release_conn(handle);
        let limit = self
            .tcp_config
            .time_wait_limit
            .min(super::time_wait::MAX_RECORDS);
        if self.time_wait.len() >= limit {
            self.stats.tcp.time_wait_overflow += 1;
            if limit == 0 {
                // No TIME-WAIT at all: the connection just ends.
                return;
            }
            self.time_wait.pop_oldest(None);
        }
        self.time_wait.insert(tuple, &mut hash, tw);
    }

    /// Ends the TIME-WAIT records whose time is up.
    pub(crate) fn expire_time_wait(&mut self, now: Instant) {
        while self.time_wait.pop_oldest(Some(now)).is_some() {}
    }

    /// A segment for a TIME-WAIT record. Returns whether it was taken: false when
    /// no record has the tuple, or when a SYN ended TIME-WAIT (RFC 6191) and goes
    /// on to the listener.
    fn time_wait_segment(
        &mut self,
        now: Instant,
        key: &FourTuple,
        hash: &mut TupleHash,
        seg: &TcpRepr<'_>,
    ) -> bool {
        let Some(record) = self.time_wait.get(key, hash) else {
            return false;
        };
        let syn_only = seg.flags.contains(TcpFlags::SYN)
            && !seg.flags.intersects(TcpFlags::ACK | TcpFlags::RST);
        let recycle = syn_only
            && record.accepts_syn(seg)
            && self.listener_would_take(key.local, self.tcp_conn_count);
        let Some(record) = self.time_wait.get_mut(key, hash) else {
            return false;
        };
        let verdict = match recycle {
            true => None,
            false => Some(record.on_segment(now, seg, &self.tcp_config)),
        };
        let state = record.state;
        match verdict {
            None => {
                //= https://www.rfc-editor.org/rfc/rfc6191#section-2
                //# the TIME-WAIT state ... may be
                //# ended and the new connection accepted
                self.stats.tcp.time_wait_recycled += 1;
                self.recycled_iss = Some(super::time_wait::reincarnation_iss(state.snd_nxt));
                self.time_wait.remove(key, hash);
                return false;
            }
            Some(TimeWaitVerdict::Drop) => {}
            Some(TimeWaitVerdict::Ack) => self.time_wait_ack(now, key, &state),
            Some(TimeWaitVerdict::AckRestart) => {
                self.time_wait.restarted(key, hash);
                self.time_wait_ack(now, key, &state);
            }
            Some(TimeWaitVerdict::Close) => {
                self.time_wait.remove(key, hash);
            }
        }
        true
    }

    /// The ACK a TIME-WAIT record sends: <SEQ=SND.NXT><ACK=RCV.NXT><CTL=ACK>, with
    /// the timestamp option when in use.
    fn time_wait_ack(&mut self, now: Instant, key: &FourTuple, s: &TimeWaitState) {
        let mut options = TcpOptions::default();
        if let Some(recent) = s.ts_recent {
            let ms = (now.as_nanos() / 1_000_000) as u32;
            options.timestamp = Some(TcpTimestamp {
                tsval: ms.wrapping_add(s.ts_offset),
                tsecr: recent,
            });
        }
        let ack = TcpRepr {
            src_port: key.local.port(),
            dst_port: key.remote.port(),
            seq_number: s.snd_nxt,
            ack_number: s.rcv_nxt,
            flags: TcpFlags::ACK,
            window_len: s.window,
            urgent_pointer: 0,
            options,
            payload: &[],
        };
        let Some(addrs) = AddrPair::new(key.local.ip(), key.remote.ip()) else {
            return;
        };
        let checksum = self.tx_checksum();
        if let Some(packet) = self.build_ip_packet_with(
            key.local.ip(),
            key.remote.ip(),
            crate::wire::IpProtocol::Tcp,
            ack.buffer_len(),
            s.ttl,
            s.dscp,
            |out| ack.emit(&mut TcpPacket::new_unchecked(out), &addrs, checksum),
        ) {
            if self.queue_control(packet) {
                self.stats.tcp.out_segs += 1;
            }
        }
    }

    /// Whether a closed connection can be freed: the application let go of it (or
    /// never had it) and it has no RST left to send (all a CLOSED connection sends).
    pub(crate) fn conn_releasable(&self, handle: SocketHandle) -> bool {
        match self.sockets.get(handle) {
            Some(Entry {
                socket: Socket::Tcp(slot),
                ..
            }) => {
                slot.conn.state() == State::Closed
                    && (slot.conn.is_orphaned() || slot.parent.is_some())
                    // Not `wants_to_send`: an ACK or probe that was due when the
                    // connection closed stays flagged, and CLOSED never sends it.
                    && !slot.conn.owes_rst()
            }
            _ => false,
        }
    }

    /// Answers a segment that matches no connection with a RST (rate-limited).
    //= https://www.rfc-editor.org/rfc/rfc9293#section-3.10.7.1
    //# If the state is CLOSED (i.e., TCB does not exist), then
    //# all data in the incoming segment is discarded.  An incoming segment
    //# containing a RST is discarded.  An incoming segment not containing a
    //# RST causes a RST to be sent in response.
    pub(crate) fn reply_rst(
        &mut self,
        now: Instant,
        local: SocketAddr,
        remote: SocketAddr,
        seg: &TcpRepr<'_>,
    ) {
        if seg.flags.contains(TcpFlags::RST) {
            return;
        }
        if !self.rst_limit.allow(now) {
            self.stats.tcp.rsts_rate_limited += 1;
            return;
        }
        //= https://www.rfc-editor.org/rfc/rfc9293#section-3.10.7.1
        //# If the ACK bit is off, sequence number zero is used,
        //#
        //# <SEQ=0><ACK=SEG.SEQ+SEG.LEN><CTL=RST,ACK>
        //#
        //# If the ACK bit is on,
        //#
        //# <SEQ=SEG.ACK><CTL=RST>
        let (seq, ack, flags) = if seg.flags.contains(TcpFlags::ACK) {
            (seg.ack_number, SeqNumber(0), TcpFlags::RST)
        } else {
            (
                SeqNumber(0),
                seg.seq_number + seg.segment_len(),
                TcpFlags::RST | TcpFlags::ACK,
            )
        };
        let rst = TcpRepr {
            src_port: local.port(),
            dst_port: remote.port(),
            seq_number: seq,
            ack_number: ack,
            flags,
            window_len: 0,
            urgent_pointer: 0,
            options: TcpOptions::default(),
            payload: &[],
        };
        let Some(addrs) = AddrPair::new(local.ip(), remote.ip()) else {
            return;
        };
        let ttl = self.tcp_config.ttl;
        let checksum = self.tx_checksum();
        if let Some(packet) = self.build_ip_packet_with(
            local.ip(),
            remote.ip(),
            crate::wire::IpProtocol::Tcp,
            rst.buffer_len(),
            ttl,
            0,
            |out| rst.emit(&mut TcpPacket::new_unchecked(out), &addrs, checksum),
        ) {
            if self.queue_control(packet) {
                self.stats.tcp.out_rsts += 1;
            }
        }
    }
}
