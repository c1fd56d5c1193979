//! The stack-wide bound on out-of-order data (`TcpConfig::max_ooo_bytes_total`).
//!
//! Each connection already bounds its own out-of-order data (its receive buffer and
//! `max_ooo_ranges`); this bounds their sum, so that many connections each holding
//! a window of holes cannot pin `max_connections × recv_buffer` bytes. A
//! connection is charged the receive-buffer span its out-of-order data pins (from
//! RCV.NXT to the end of its furthest range: the storage it forces the ring to
//! hold) after every call that reaches it (`Stack::with_conn`), and uncharged
//! when its slot is freed. When a connection's span grows and the total passes
//! the bound, that connection's out-of-order data is dropped, as Linux's
//! `tcp_prune_ofo_queue` does. RFC 2018 section 8 lets a receiver discard data it
//! reported in SACK blocks.
//!
//! The charges live in a map beside the socket slab holding only the connections
//! with holes, so the bound costs nothing per idle connection; the common case (no
//! holes anywhere) is one emptiness check per call.

use super::{Entry, Socket, Stack};
use crate::socket::SocketHandle;

impl Stack {
    /// Re-charges `handle`'s out-of-order span; prunes it if it grew past the bound.
    //= https://www.rfc-editor.org/rfc/rfc2018#section-8
    // Out of line: only a connection with holes (or a stack with one) calls it.
    #[inline(never)]
    pub(crate) fn charge_ooo(&mut self, handle: SocketHandle) {
        let Some(Entry {
            socket: Socket::Tcp(slot),
            ..
        }) = self.sockets.get_mut(handle)
        else {
            return;
        };
        let mut new = slot.conn.ooo_span().min(u32::MAX as usize);
        if new == 0 && self.ooo_charged.is_empty() {
            return;
        }
        let old = self.ooo_charged.get(&handle).map_or(0, |&c| c as usize);
        let others = self.ooo_bytes.saturating_sub(old);
        if new > old && others + new > self.tcp_config.max_ooo_bytes_total {
            slot.conn.prune_ooo();
            self.stats.tcp.ofo_pruned += 1;
            new = slot.conn.ooo_span().min(u32::MAX as usize);
        }
        if new == 0 {
            self.ooo_charged.remove(&handle);
        } else {
            self.ooo_charged.insert(handle, new as u32);
        }
        self.ooo_bytes = others + new;
    }

    /// Takes `handle`'s charge off the total (its slot is being freed).
    pub(crate) fn uncharge_ooo(&mut self, handle: SocketHandle) {
        if let Some(charged) = self.ooo_charged.remove(&handle) {
            self.ooo_bytes = self.ooo_bytes.saturating_sub(charged as usize);
        }
    }
}
