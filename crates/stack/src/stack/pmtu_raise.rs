//! Raising open connections' path MTU when a lowered estimate expires, and the
//! deadlines of their packetization-layer path MTU searches.
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
//! default) per connection. (Packetization-layer PMTUD, `tcp/conn/plpmtud.rs`,
//! probes with one segment first, but only on a connection that found a black
//! hole; a raise here does not wait for it.)
//!
//! The same maps hold the deadlines of the connections searching for their
//! path MTU after a black hole (RFC 4821; `tcp/conn/plpmtud.rs`), as entries of
//! their own kind ([`Due::MtuSearch`]): a connection is noted when its loss
//! counters show it found a black hole (the stack's book-keeping reads them
//! only when they changed), and at each deadline it says when the next is.
//! One set of maps, so that `Stack::poll_timeout` still asks one question.
//!
//! Bounds: one entry per connection and kind (a later note moves its deadline).
//! A freed connection's entry stays until its deadline, or until the maps
//! outgrow twice the live connections (plus slack), when the entries of freed
//! connections are dropped: amortised O(1) per entry, nothing on the path
//! that frees a connection.

use std::collections::{BTreeMap, BTreeSet};

use super::Stack;
use crate::socket::SocketHandle;
use crate::time::Instant;

/// What a connection's deadline is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum Due {
    /// Its lowered path MTU may be raised.
    Raise,
    /// Its path MTU search (RFC 4821) takes its next step.
    MtuSearch,
}

/// The connections waiting for their path MTU to be raised, or for their path
/// MTU search's next step, by deadline.
#[derive(Debug, Default)]
pub(crate) struct PmtuRaises {
    /// Each noted connection's deadline, per kind.
    due_at: BTreeMap<(SocketHandle, Due), Instant>,
    /// The same, in deadline order.
    by_deadline: BTreeSet<(Instant, SocketHandle, Due)>,
}

impl PmtuRaises {
    /// Notes `handle` for `due` at `at` (replacing an earlier note of that
    /// kind).
    pub(crate) fn note(&mut self, handle: SocketHandle, due: Due, at: Instant) {
        if let Some(old) = self.due_at.insert((handle, due), at) {
            self.by_deadline.remove(&(old, handle, due));
        }
        self.by_deadline.insert((at, handle, due));
    }

    /// Takes the next note due at `now`.
    fn pop_due(&mut self, now: Instant) -> Option<(SocketHandle, Due)> {
        let &(at, handle, due) = self.by_deadline.first()?;
        if at > now {
            return None;
        }
        self.by_deadline.pop_first();
        self.due_at.remove(&(handle, due));
        Some((handle, due))
    }

    /// The earliest deadline.
    pub(crate) fn poll_timeout(&self) -> Option<Instant> {
        self.by_deadline.first().map(|&(at, _, _)| at)
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
        self.due_at.retain(|&(h, _), _| live(h));
        self.by_deadline
            .retain(|&(_, h, due)| self.due_at.contains_key(&(h, due)));
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
        self.note_pmtu_deadline(handle, Due::Raise, at);
    }

    /// Notes `handle` for `due` at `at`, dropping the notes of freed
    /// connections when the maps outgrow the live ones.
    fn note_pmtu_deadline(&mut self, handle: SocketHandle, due: Due, at: Instant) {
        self.pmtu_raises.note(handle, due, at);
        // Two kinds of note per connection at most.
        if self.pmtu_raises.len() > 4 * self.tcp_conn_count + 64 {
            let sockets = &self.sockets;
            self.pmtu_raises.retain(|h| {
                matches!(
                    sockets.get(h).map(|e| &e.socket),
                    Some(super::Socket::Tcp(_))
                )
            });
        }
    }

    /// Raises the connections whose deadline came to the path's MTU, if higher,
    /// and takes the next step of the path MTU searches whose deadline came.
    pub(super) fn raise_path_mtus(&mut self, now: Instant) {
        while let Some((handle, due)) = self.pmtu_raises.pop_due(now) {
            if due == Due::MtuSearch {
                let next = self.with_conn(now, handle, |c| c.on_mtu_search_deadline(now));
                if let Some(Some(at)) = next {
                    self.note_pmtu_deadline(handle, Due::MtuSearch, at);
                }
                continue;
            }
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
                self.pmtu_raises.note(handle, Due::Raise, at);
            }
        }
    }
}
