//! Raising open connections' path MTU when a lowered estimate expires.
//!
//! A connection takes a lower path MTU in two ways: its own segment drew a
//! "fragmentation needed" / "packet too big" (`icmp.rs`), or it opened while the
//! path MTU cache held a lowered estimate for its peer. Either way it is noted
//! here with a deadline: `expires` (10 minutes) after its own decrease, or when
//! the cached estimate it took expires. At the deadline (`handle_timeout`) the
//! connection takes the path's MTU again if that is higher (the link's, or the
//! route's, once no estimate is held; its MSS stays within what the peer
//! announced, `Connection::update_mss`); if the cache holds an estimate for the
//! path by then (another connection's error: lower than the connection's
//! value, which it keeps, or, its own estimate evicted, between that and the
//! link's, which it takes), it is noted again for that estimate's expiry.
//!
//! Why here and not in the send path: the per-segment path is the `connect`
//! benchmark's hot path, and this costs it nothing: only connections that
//! lowered their MTU are in these maps, and only a deadline visits them.
//! Because each connection's deadline counts from its own decrease, a raise
//! never comes sooner than `expires` after it, whether or not the cache kept
//! the estimate (a `capacity` of 0, or the entry evicted by newer ones).
//!
//! What a raise costs when the path is still narrow: the connection's next
//! flight goes at the larger size and is dropped, each segment answered with a
//! "too big" (the first one shrinks the connection again and resends, without
//! a congestion response; the others change nothing), as on Linux when a
//! route's learned MTU expires. Once per estimate lifetime (10 minutes by
//! default) per connection; probing with one segment first would be
//! packetization-layer PMTUD (RFC 4821), which layer4 does not do.
//!
//! Bounds: one entry per connection (a later decrease moves its deadline).
//! A freed connection's entry stays until its deadline, or until the maps
//! outgrow twice the live connections (plus slack), when the entries of freed
//! connections are dropped: amortised O(1) per entry, nothing on the path
//! that frees a connection.

use std::collections::{BTreeMap, BTreeSet};

use super::Stack;
use crate::socket::SocketHandle;
use crate::time::Instant;

/// The connections waiting for their path MTU to be raised, by deadline.
#[derive(Debug, Default)]
pub(crate) struct PmtuRaises {
    /// Each noted connection's deadline.
    due_at: BTreeMap<SocketHandle, Instant>,
    /// The same, in deadline order.
    by_deadline: BTreeSet<(Instant, SocketHandle)>,
}

impl PmtuRaises {
    /// Notes `handle` to be raised at `at` (replacing an earlier note).
    fn note(&mut self, handle: SocketHandle, at: Instant) {
        if let Some(old) = self.due_at.insert(handle, at) {
            self.by_deadline.remove(&(old, handle));
        }
        self.by_deadline.insert((at, handle));
    }

    /// Takes the next note due at `now`.
    fn pop_due(&mut self, now: Instant) -> Option<SocketHandle> {
        let &(at, handle) = self.by_deadline.first()?;
        if at > now {
            return None;
        }
        self.by_deadline.pop_first();
        self.due_at.remove(&handle);
        Some(handle)
    }

    /// The earliest deadline.
    pub(crate) fn poll_timeout(&self) -> Option<Instant> {
        self.by_deadline.first().map(|&(at, _)| at)
    }

    /// Whether no connection is noted.
    pub(crate) fn is_empty(&self) -> bool {
        self.by_deadline.is_empty()
    }

    /// How many connections are noted (freed ones not yet dropped included).
    pub(crate) fn len(&self) -> usize {
        self.by_deadline.len()
    }

    /// Keeps only the notes of handles `live` says still name a connection.
    fn retain(&mut self, mut live: impl FnMut(SocketHandle) -> bool) {
        self.due_at.retain(|&h, _| live(h));
        self.by_deadline
            .retain(|(_, h)| self.due_at.contains_key(h));
    }
}

impl Stack {
    /// The connection at `handle` lowered its path MTU at `now` (its own
    /// error): it is raised no sooner than the estimate's lifetime after.
    //= https://www.rfc-editor.org/rfc/rfc8201#section-4
    // (In our words: the exact text could not be checked here; RFC 1981, which
    // it replaces, said MUST NOT.) An attempt to detect an increase must not be
    // made less than 5 minutes after a Packet Too Big message was received for
    // the path; twice that, 10 minutes, is recommended.
    //= https://www.rfc-editor.org/rfc/rfc1191#section-6.3
    //# When a PMTU
    //# value has not been decreased for a while (on the order of 10
    //# minutes), the PMTU estimate should be set to the first-hop data-link
    //# MTU, and the packetization layers should be notified of the change.
    pub(super) fn note_pmtu_lowered(&mut self, now: Instant, handle: SocketHandle) {
        let at = now + self.pmtu.config().expires;
        self.note_pmtu_raise(handle, at);
    }

    /// A connection just opened at `handle` toward `dst`: if it took a lowered
    /// estimate from the cache, it is raised when that estimate expires. Only
    /// called when the cache holds an estimate (the caller checks: opening a
    /// connection costs one compare here).
    #[cold]
    #[inline(never)]
    pub(super) fn note_pmtu_cached(
        &mut self,
        now: Instant,
        handle: SocketHandle,
        dst: core::net::IpAddr,
    ) {
        if let Some(at) = self.pmtu.expiry(now, dst) {
            self.note_pmtu_raise(handle, at);
        }
    }

    fn note_pmtu_raise(&mut self, handle: SocketHandle, at: Instant) {
        self.pmtu_raises.note(handle, at);
        if self.pmtu_raises.len() > 2 * self.tcp_conn_count + 64 {
            let sockets = &self.sockets;
            self.pmtu_raises.retain(|h| {
                matches!(
                    sockets.get(h).map(|e| &e.socket),
                    Some(super::Socket::Tcp(_))
                )
            });
        }
    }

    /// Raises the connections whose deadline came to the path's MTU, if higher.
    pub(super) fn raise_path_mtus(&mut self, now: Instant) {
        while let Some(handle) = self.pmtu_raises.pop_due(now) {
            let Some(conn) = self.conn(handle) else {
                continue;
            };
            let (dst, current) = (conn.remote().ip(), conn.path_mtu());
            let path = self.path_mtu(now, dst);
            if path > current {
                self.with_conn(now, handle, |c| c.raise_path_mtu(path));
            }
            if let Some(at) = self.pmtu.expiry(now, dst) {
                // The cache holds an estimate for the path (another
                // connection's error, lower than this one's value, or, if this
                // one's was evicted, between it and the link's, which it was
                // just raised to): this one goes on when that estimate expires.
                self.pmtu_raises.note(handle, at);
            }
        }
    }
}
