//! The deadline heap over all sockets: `handle_timeout` and `poll_timeout`.
//!
//! Each connection has at most one live entry, its earliest deadline; an entry is
//! pushed only when a deadline moves earlier, and stale entries (deadlines that
//! moved later) are skipped when they surface. So the heap stays a small multiple
//! of the number of connections with timers, and finding the next deadline is
//! O(1), pushing O(log n).

use std::cmp::Reverse;
use std::collections::BinaryHeap;

use super::{Entry, Socket, Stack};
use crate::socket::SocketHandle;
use crate::time::Instant;

/// The heap of (deadline, socket), earliest first.
pub(crate) type TimerHeap = BinaryHeap<Reverse<(Instant, SocketHandle)>>;

/// Records the earliest deadline of the connection in `entry` (at `handle`) in the
/// heap if it moved earlier; returns whether it pushed one (only a push grows the
/// heap). A free function over the two fields, so that the book-keeping pass does
/// it within the one slab look-up it makes. The push is out of line: most calls
/// push nothing, and then need no saved registers.
pub(crate) fn schedule(timers: &mut TimerHeap, entry: &mut Entry, handle: SocketHandle) -> bool {
    let Entry {
        socket: Socket::Tcp(slot),
        scheduled,
        ..
    } = entry
    else {
        return false;
    };
    let Some(at) = slot.conn.poll_timeout() else {
        return false;
    };
    if scheduled.is_none_or(|s| at < s) {
        *scheduled = Some(at);
        push_deadline(timers, at, handle);
        return true;
    }
    false
}

/// Puts `handle`'s deadline `at` in the heap.
#[inline(never)]
fn push_deadline(timers: &mut TimerHeap, at: Instant, handle: SocketHandle) {
    timers.push(Reverse((at, handle)));
}

impl Stack {
    /// Drops stale heap entries once they pile up (more than two per socket
    /// slot, plus slack): every pass that pushed calls this after it let go
    /// of the entry (only a push grows the heap). A freed connection's entries stay until then, and each one
    /// that comes due first costs a pop (and a wake-up of the driver): small
    /// slack keeps both few when connections come and go (the `connect`
    /// benchmark). The rebuild walks every slot the slab ever made, so the
    /// bound counts slots, not live sockets: after a spike of connections
    /// has gone, a few busy ones would otherwise pay a walk of the spike's
    /// slots every few dozen pushes. Counted so, at least as many pushes as
    /// slots come between two rebuilds: amortised O(1) per push.
    #[inline]
    pub(super) fn drop_stale_timers(&mut self) {
        if self.timers.len() > 2 * self.sockets.slot_count() + 64 {
            self.rebuild_timers();
        }
    }

    /// Drops stale heap entries (after many deadline changes).
    /// The heap keeps its allocation: it is back at its size after the next
    /// stale entries.
    // Cold: once per many pushes (see `drop_stale_timers`).
    #[cold]
    #[inline(never)]
    pub(super) fn rebuild_timers(&mut self) {
        let mut live = core::mem::take(&mut self.timers).into_vec();
        live.clear();
        live.extend(
            self.sockets
                .iter()
                .filter_map(|(h, e)| e.scheduled.map(|at| Reverse((at, h)))),
        );
        self.timers = live.into();
    }

    /// Runs every timer due at `now`: connections' timers, reassembly and path-MTU
    /// expiry, and the raise of connections whose lowered path MTU expired.
    pub fn handle_timeout(&mut self, now: Instant) {
        let now = self.clock.advance(now);
        while let Some(&Reverse((at, handle))) = self.timers.peek() {
            if at > now {
                break;
            }
            self.timers.pop();
            let Some(entry) = self.sockets.get_mut(handle) else {
                continue;
            };
            if entry.scheduled != Some(at) {
                continue;
            }
            entry.scheduled = None;
            let expiries = self.with_conn(now, handle, |c| {
                let before = c.counters().timeouts;
                c.handle_timeout(now);
                c.counters().timeouts.saturating_sub(before)
            });
            self.stats.tcp.timeouts += u64::from(expiries.unwrap_or(0));
            if self.conn_releasable(handle) {
                self.release_conn(handle);
            }
        }
        if self.time_wait.poll_timeout().is_some_and(|at| at <= now) {
            self.expire_time_wait(now);
        }
        self.reassembler.handle_timeout(now);
        self.stats.ip.reasm_timeout = self.reassembler.stats_v4().reasm_timeout;
        self.stats.ip6.reasm_timeout = self.reassembler.stats_v6().reasm_timeout;
        self.stats.ip.reasm_fails = self.reassembler.stats_v4().reasm_fails;
        self.stats.ip6.reasm_fails = self.reassembler.stats_v6().reasm_fails;
        while self.reassembler.poll_time_exceeded().is_some() {}
        self.pmtu.handle_timeout(now);
        if self.pmtu_raises.poll_timeout().is_some_and(|at| at <= now) {
            self.raise_path_mtus(now);
        }
    }

    /// When [`handle_timeout`](Self::handle_timeout) should next run, if any timer is
    /// armed. Call it after draining [`poll_transmit`](Self::poll_transmit).
    pub fn poll_timeout(&self) -> Option<Instant> {
        // Plain comparisons rather than an iterator chain: a driver asks after
        // every input.
        let next = earlier(
            self.timers.peek().map(|Reverse((at, _))| *at),
            self.time_wait.poll_timeout(),
        );
        // Reassembly and path-MTU deadlines are rare (fragments, ICMP): their
        // maps are read out of line, only when they hold one.
        if self.reassembler.has_deadline()
            || self.pmtu.has_deadline()
            || !self.pmtu_raises.is_empty()
        {
            return self.poll_timeout_rare(next);
        }
        next
    }

    /// [`poll_timeout`](Self::poll_timeout)'s `next` with the reassembly and
    /// path-MTU deadlines (the cache's and the raises of open connections).
    #[cold]
    #[inline(never)]
    fn poll_timeout_rare(&self, next: Option<Instant>) -> Option<Instant> {
        let next = earlier(next, self.reassembler.poll_timeout());
        let next = earlier(next, self.pmtu_raises.poll_timeout());
        earlier(next, self.pmtu.poll_timeout())
    }
}

/// The earlier of two optional deadlines.
#[inline(always)]
fn earlier(a: Option<Instant>, b: Option<Instant>) -> Option<Instant> {
    match (a, b) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    }
}

#[cfg(test)]
mod tests {
    use core::net::{IpAddr, SocketAddr};
    use std::cmp::Reverse;

    use super::super::tests::{Impairment, Pair, B4};
    use crate::stack::{ListenOptions, Stack};
    use crate::tcp::State;
    use crate::time::Duration;

    /// Every live deadline is in the heap, and stale ones stay within the bound.
    fn check_heap(stack: &Stack) {
        assert!(
            stack.timers.len() <= 2 * stack.sockets.slot_count() + 64,
            "{} heap entries for {} socket slots",
            stack.timers.len(),
            stack.sockets.slot_count()
        );
        for (h, e) in stack.sockets.iter() {
            if let Some(at) = e.scheduled {
                assert!(
                    stack.timers.iter().any(|r| *r == Reverse((at, h))),
                    "the deadline of {h:?} is not in the heap"
                );
            }
        }
    }

    #[test]
    fn closed_connections_deadlines_are_dropped_and_live_ones_kept() {
        let mut pair = Pair::new(Impairment::default(), 7);
        let server = SocketAddr::new(IpAddr::V4(B4), 80);
        let l = pair.b.tcp_listen(server, ListenOptions::default()).unwrap();
        for _ in 0..200 {
            let c = pair.a.tcp_connect(pair.now, server, None).unwrap();
            let mut s = None;
            let ok = pair.run_until(Duration::from_secs(30), |p| {
                if s.is_none() {
                    s = p.b.tcp_accept(l).ok().map(|(h, _)| h);
                }
                s.is_some() && p.a.tcp_state(c) == Ok(State::Established)
            });
            assert!(ok, "handshake did not complete");
            pair.a.close(pair.now, c).unwrap();
            pair.b.close(pair.now, s.unwrap()).unwrap();
            check_heap(&pair.a);
            check_heap(&pair.b);
        }
        // The last connections still finish their close on their timers.
        let ok = pair.run_until(Duration::from_secs(600), |p| {
            p.a.tcp_conn_count == 0 && p.b.tcp_conn_count == 0
        });
        assert!(ok, "connections left open");
        check_heap(&pair.a);
        check_heap(&pair.b);
    }
}
