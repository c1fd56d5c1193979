//! The send burst cursor: after `poll_transmit` sent a data segment, the calls
//! that follow at the same `now` write the next full segments of the same
//! connection without the general pass (the transmit queue, the whole
//! `Connection::poll_transmit` decision, the timer heap, the requeue).
//!
//! The connection says when a burst may follow and what its segments share
//! (`Connection::burst_header`, see `tcp::conn::burst`); this module keeps that
//! only as long as it holds. The guard is structural: the cursor remembers the
//! socket slab's loan count (`Slab::lent`), which
//! every mutable access to any socket bumps (every `handle_packet`,
//! `handle_timeout` that runs a timer, socket call, insertion or removal), and
//! the burst itself takes its connection without counting. So any entry point
//! that could change the answer drops the burst, with no line to remember at
//! each one. The rest is checked at every call: the same `now`, no stack-made
//! packet waiting, the connection alone in the transmit queue (another one due
//! would go next on the general path).

use super::{Socket, Stack};
use crate::socket::SocketHandle;
use crate::tcp::conn::BurstHeader;
use crate::time::Instant;
use crate::wire::SegmentTemplate;

#[cfg(test)]
thread_local! {
    /// Test-only: segments the burst wrote (the equivalence tests show it ran).
    pub(crate) static BURST_SEGMENTS: std::cell::Cell<u64> = const { std::cell::Cell::new(0) };
}

/// A burst in progress: the connection, the `now` and the slab loan count it is
/// valid for, and what its segments share.
#[derive(Clone, Copy)]
pub(crate) struct BurstCursor {
    handle: SocketHandle,
    now: Instant,
    lent: u64,
    template: SegmentTemplate,
    header: BurstHeader,
}

impl core::fmt::Debug for BurstCursor {
    // Which calls took the burst is not state: the loan count is left out (it
    // differs between paths that lend sockets a different number of times).
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("BurstCursor")
            .field("handle", &self.handle)
            .field("now", &self.now)
            .finish_non_exhaustive()
    }
}

impl Stack {
    /// The next segment of the burst in progress into `buf`, or `None` (and the
    /// burst dropped) when there is none or it no longer holds: the general path
    /// then answers.
    pub(super) fn poll_burst(&mut self, now: Instant, buf: &mut [u8]) -> Option<usize> {
        let cursor = self.burst.take()?;
        if cursor.now != now
            || cursor.lent != self.sockets.lent()
            || !self.control.is_empty()
            || self.tx_queue.len() != 1
            || self.tx_queue.front() != Some(&cursor.handle)
        {
            return None;
        }
        let checksum = self.config.checksum_tx;
        let entry = self.sockets.get_mut_uncounted(cursor.handle)?;
        let Socket::Tcp(slot) = &mut entry.socket else {
            return None;
        };
        let conn = &mut slot.conn;
        let ipv6 = conn.remote().is_ipv6();
        let hl = super::egress::ip_header_len(conn.remote().ip());
        let end = buf.len().min(usize::from(conn.path_mtu()));
        let space = buf.get_mut(hl..end)?;
        let pseudo = cursor.template.pseudo_header();
        let sent = conn.poll_burst_segment(now, &cursor.header, space, pseudo, checksum)?;
        let ident = if ipv6 {
            0
        } else {
            self.ipv4_ident = self.ipv4_ident.wrapping_add(1);
            self.ipv4_ident
        };
        cursor
            .template
            .emit_ip_header(buf, sent.len, conn.tx_ecn(), ident, checksum);
        // What `transmit_tcp` counts for new data; its book-keeping after the
        // send (`after_transmit`, the timer heap, the requeue) changes nothing
        // here: more follows, the timers are as they were, the connection stays
        // queued.
        self.stats.tcp.out_segs += 1;
        self.count_out_ip(ipv6);
        self.burst = Some(cursor);
        #[cfg(test)]
        BURST_SEGMENTS.set(BURST_SEGMENTS.get() + 1);
        Some(hl + sent.len)
    }

    /// After `transmit_tcp` sent a segment of the connection at `handle` and did
    /// all its book-keeping: arms the burst if the connection says one may follow.
    pub(super) fn arm_burst(
        &mut self,
        now: Instant,
        handle: SocketHandle,
        template: SegmentTemplate,
    ) {
        let Some(entry) = self.sockets.get(handle) else {
            return;
        };
        let Socket::Tcp(slot) = &entry.socket else {
            return;
        };
        if !entry.tx_queued {
            return;
        }
        if let Some(header) = slot.conn.burst_header(now) {
            self.burst = Some(BurstCursor {
                handle,
                now,
                lent: self.sockets.lent(),
                template,
                header,
            });
        }
    }
}
