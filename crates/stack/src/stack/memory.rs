//! Gauges of the memory that the network can make the stack hold, each beside the
//! bound that caps it, for monitoring and for the exhaustion tests.

use super::Stack;

impl Stack {
    /// Receive-buffer bytes pinned by out-of-order data, all connections together
    /// (bounded by `TcpConfig::max_ooo_bytes_total`).
    pub fn tcp_ooo_bytes(&self) -> usize {
        self.ooo_bytes
    }

    /// Bytes held by IP reassembly, IPv4 and IPv6 together (bounded by
    /// `ReassemblyConfig::max_bytes`).
    pub fn ip_reassembly_bytes(&self) -> usize {
        self.reassembler.held_bytes()
    }

    /// Datagrams being reassembled (bounded by `ReassemblyConfig::max_datagrams`).
    pub fn ip_reassembly_datagrams(&self) -> usize {
        self.reassembler.len()
    }

    /// Bytes held by freed connection slots kept for reuse (each holds its own
    /// ~900 bytes and no buffer), by the congestion states of freed connections
    /// kept for the next ones to renew (560 to 960 bytes each plus the room of
    /// up to 16 send records they keep, 72 bytes a record; lent to a connection
    /// when it queues data) and by spare 1 KiB ring storage (kept when a read
    /// lets go of it, for the next send's buffer). At most
    /// `TcpConfig::spare_slots` of each (256 by default), 4 KiB per unit of the
    /// bound with the lists' room: 1 MiB by default.
    pub fn tcp_spare_slot_bytes(&self) -> usize {
        self.conns.spare_bytes()
    }

    /// Freed connection slots kept for reuse.
    pub fn tcp_spare_slots(&self) -> usize {
        self.conns.spare_slots()
    }
}
