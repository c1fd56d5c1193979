//! Out-of-order data as the stack-wide bound sees it (`stack::ooo_budget`): the span
//! it pins, and dropping it.

use super::Connection;
use crate::tcp::state::State;

impl Connection {
    /// The receive-buffer bytes out-of-order data pins: from RCV.NXT to the end of
    /// the furthest range (0 with no holes, and once the connection is closed).
    pub fn ooo_span(&self) -> usize {
        if self.state == State::Closed {
            return 0;
        }
        self.assembler.iter().last().map_or(0, |r| r.end as usize)
    }

    /// Drops the out-of-order data (the sender retransmits it; SACK blocks already
    /// sent are reneged, which RFC 2018 section 8 allows) and frees the buffer if
    /// nothing readable is left.
    pub fn prune_ooo(&mut self) {
        self.assembler.clear();
        self.recv_buf.shrink_if_empty(false);
        self.counters.ooo_pruned = self.counters.ooo_pruned.saturating_add(1);
    }
}
