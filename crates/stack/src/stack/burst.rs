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
use crate::tcp::conn::MAX_BURST_HEADER;
use crate::time::Instant;
use crate::wire::{ChecksumMode, PseudoHeader};

#[cfg(test)]
thread_local! {
    /// Test-only: segments the burst wrote (the equivalence tests show it ran).
    pub(crate) static BURST_SEGMENTS: std::cell::Cell<u64> = const { std::cell::Cell::new(0) };
}

/// The longest IP and TCP headers of a burst segment: IPv6 and the timestamp.
const MAX_HEADERS: usize = 40 + MAX_BURST_HEADER;

/// A burst in progress: the connection, the `now` and the slab loan count it is
/// valid for, and its segments' headers as the first one had them.
#[derive(Clone, Copy)]
pub(crate) struct BurstCursor {
    handle: SocketHandle,
    now: Instant,
    lent: u64,
    /// The IP and TCP headers with a zero IPv4 identification and TCP sequence
    /// number and checksum, then whatever: the first `ip_len + tcp_len` bytes count.
    headers: [u8; MAX_HEADERS],
    ip_len: usize,
    tcp_len: usize,
    payload_len: usize,
    /// The IPv4 header's checksum field as written (identification zero).
    ip_checksum: u16,
    ipv6: bool,
    /// The TCP header's words less the sequence number, with the pseudo-header
    /// and the payload still to add (`PseudoHeader::checksum`).
    tcp_sum: u64,
    pseudo: PseudoHeader,
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
    #[inline(never)]
    pub(super) fn poll_burst(&mut self, now: Instant, buf: &mut [u8]) -> Option<usize> {
        let sent = self.burst_segment(now, buf);
        if sent.is_none() {
            self.burst = None;
        }
        sent
    }

    fn burst_segment(&mut self, now: Instant, buf: &mut [u8]) -> Option<usize> {
        let cursor = self.burst.as_ref()?;
        if cursor.now != now
            || cursor.lent != self.sockets.lent()
            || !self.control.is_empty()
            || self.tx_queue.len() != 1
            || self.tx_queue.front() != Some(&cursor.handle)
        {
            return None;
        }
        let checksum = self.config.checksum_tx;
        let hl = cursor.ip_len;
        let tcp_end = hl + cursor.tcp_len;
        let total = tcp_end + cursor.payload_len;
        // The headers as one fixed-size copy (the payload then overwrites what
        // is past them; arming made sure a segment is longer than `MAX_HEADERS`).
        let packet = buf.get_mut(..total)?;
        packet
            .get_mut(..MAX_HEADERS)?
            .copy_from_slice(&cursor.headers);
        let entry = self.sockets.get_mut_uncounted(cursor.handle)?;
        let Socket::Tcp(slot) = &mut entry.socket else {
            return None;
        };
        let (head, payload) = packet.split_at_mut(tcp_end);
        let (seq, payload_sum) = slot.conn.poll_burst_payload(now, payload, checksum)?;
        let tcp = head.get_mut(hl..)?;
        tcp.get_mut(4..8)?.copy_from_slice(&seq.0.to_be_bytes());
        let enabled = checksum == ChecksumMode::Enabled;
        if enabled {
            let sum = cursor.tcp_sum + u64::from(seq.0);
            let field = cursor.pseudo.checksum(total - hl, sum, payload_sum);
            tcp.get_mut(16..18)?.copy_from_slice(&field.to_be_bytes());
        }
        if cursor.ipv6 {
            self.stats.ip6.out_requests += 1;
        } else {
            self.ipv4_ident = self.ipv4_ident.wrapping_add(1);
            let ident = self.ipv4_ident;
            head.get_mut(4..6)?.copy_from_slice(&ident.to_be_bytes());
            if enabled {
                // The header's sum is the one written less the zero identification
                // (`!checksum`, never zero: the version is in it), plus this one.
                let field = !fold(u64::from(!cursor.ip_checksum) + u64::from(ident));
                head.get_mut(10..12)?.copy_from_slice(&field.to_be_bytes());
            }
            self.stats.ip.out_requests += 1;
        }
        // What `transmit_socket` counts for new data; its book-keeping after the
        // send (`after_transmit`, the timer heap, the requeue) changes nothing
        // here: more follows, the timers are as they were, the connection stays
        // queued.
        self.stats.tcp.out_segs += 1;
        #[cfg(test)]
        BURST_SEGMENTS.set(BURST_SEGMENTS.get() + 1);
        Some(total)
    }

    /// After `transmit_socket` sent a segment of the connection at `handle` at `now`
    /// and did all its book-keeping: arms the burst if the connection says one may
    /// follow.
    // Once per flight, not per segment: kept out of `transmit_socket`, whose code
    // every connection's segments run.
    #[cold]
    #[inline(never)]
    pub(super) fn arm_burst(&mut self, now: Instant, handle: SocketHandle) {
        // Another connection due: it goes next and the burst would be refused
        // at once (`burst_segment`), so skip the connection's checks.
        if self.tx_queue.len() != 1 {
            return;
        }
        let Some(entry) = self.sockets.get(handle) else {
            return;
        };
        let Socket::Tcp(slot) = &entry.socket else {
            return;
        };
        if !entry.tx_queued {
            return;
        }
        let conn = &slot.conn;
        let Some(tcp) = conn.burst_header(now) else {
            return;
        };
        let Some(template) = conn.segment_template() else {
            return;
        };
        let ipv6 = conn.remote().is_ipv6();
        let ip_len = super::egress::ip_header_len(conn.remote().ip());
        let segment = tcp.len + tcp.payload_len;
        let total = ip_len + segment;
        if total > usize::from(conn.path_mtu()) || total <= MAX_HEADERS {
            return;
        }
        let mut headers = [0u8; MAX_HEADERS];
        let checksum = self.config.checksum_tx;
        if template
            .emit_ip_header(&mut headers, segment, conn.tx_ecn(), 0, checksum)
            .is_none()
        {
            return;
        }
        let ip_checksum = u16::from_be_bytes([headers[10], headers[11]]);
        headers[ip_len..ip_len + tcp.len].copy_from_slice(&tcp.bytes[..tcp.len]);
        self.burst = Some(BurstCursor {
            handle,
            now,
            lent: self.sockets.lent(),
            headers,
            ip_len,
            tcp_len: tcp.len,
            payload_len: tcp.payload_len,
            ip_checksum,
            ipv6,
            tcp_sum: tcp.sum,
            pseudo: template.pseudo_header(),
        });
    }
}

/// Folds a sum of 16-bit words to 16 bits with end-around carries (RFC 1071).
fn fold(mut sum: u64) -> u16 {
    while sum > 0xffff {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    sum as u16
}
