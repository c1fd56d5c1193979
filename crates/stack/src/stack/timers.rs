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
/// heap if it moved earlier. A free function over the two fields, so that the
/// book-keeping pass does it within the one slab look-up it makes. The push is
/// out of line: most calls push nothing, and then need no saved registers.
pub(crate) fn schedule(timers: &mut TimerHeap, entry: &mut Entry, handle: SocketHandle) {
    let Entry {
        socket: Socket::Tcp(slot),
        scheduled,
        ..
    } = entry
    else {
        return;
    };
    let Some(at) = slot.conn.poll_timeout() else {
        return;
    };
    if scheduled.is_none_or(|s| at < s) {
        *scheduled = Some(at);
        push_deadline(timers, at, handle);
    }
}

/// Puts `handle`'s deadline `at` in the heap.
#[inline(never)]
fn push_deadline(timers: &mut TimerHeap, at: Instant, handle: SocketHandle) {
    timers.push(Reverse((at, handle)));
}

impl Stack {
    /// Drops stale heap entries once they pile up (more than four per socket, plus
    /// slack): every pass that may push calls this after it let go of the entry.
    #[inline]
    pub(super) fn drop_stale_timers(&mut self) {
        if self.timers.len() > 4 * self.sockets.len() + 1024 {
            self.rebuild_timers();
        }
    }

    /// Drops stale heap entries (after many deadline changes).
    pub(super) fn rebuild_timers(&mut self) {
        let live: Vec<_> = self
            .sockets
            .iter()
            .filter_map(|(h, e)| e.scheduled.map(|at| Reverse((at, h))))
            .collect();
        self.timers = live.into();
    }

    /// Runs every timer due at `now`: connections' timers, reassembly and path-MTU
    /// expiry.
    pub fn handle_timeout(&mut self, now: Instant) {
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
            self.with_conn(now, handle, |c| c.handle_timeout(now));
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
    }

    /// When [`handle_timeout`](Self::handle_timeout) should next run, if any timer is
    /// armed. Call it after draining [`poll_transmit`](Self::poll_transmit).
    pub fn poll_timeout(&self) -> Option<Instant> {
        // Plain comparisons rather than an iterator chain: a driver asks after
        // every input.
        let mut next = self.timers.peek().map(|Reverse((at, _))| *at);
        for other in [
            self.time_wait.poll_timeout(),
            self.reassembler.poll_timeout(),
            self.pmtu.poll_timeout(),
        ] {
            next = earlier(next, other);
        }
        next
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
