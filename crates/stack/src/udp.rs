//! A UDP socket's state (RFC 768): its binding, its peer, and receive and send
//! queues bounded in bytes.

use core::net::SocketAddr;
use std::collections::VecDeque;

use crate::error::Error;

/// What each received datagram is charged against the receive queue's bound on
/// top of its payload: its queue entry (two addresses and a `Vec`, 88 bytes on a
/// 64-bit target) and the payload allocation's own overhead, rounded up. Without
/// it a flood of empty or 1-byte datagrams held some 100 times the bound (212,992
/// entries of ~100 bytes at the default). Linux charges each datagram's whole
/// buffer (`skb->truesize`) likewise.
pub const DATAGRAM_OVERHEAD: usize = 128;

/// One UDP socket.
#[derive(Debug)]
pub struct UdpSocket {
    pub(crate) local: SocketAddr,
    pub(crate) peer: Option<SocketAddr>,
    pub(crate) broadcast: bool,
    /// Bound by `Stack::udp_bind_transparent`: in the transparent table, not
    /// `Stack::udp_bound`; sends from any source.
    pub(crate) transparent: bool,
    pub(crate) ttl: u8,
    pub(crate) dscp: u8,
    recv: VecDeque<(SocketAddr, SocketAddr, Vec<u8>)>,
    recv_bytes: usize,
    /// `recv_bytes` plus [`DATAGRAM_OVERHEAD`] per datagram: what the bound limits.
    recv_charged: usize,
    recv_limit: usize,
    /// Datagrams to send: destination, the source when the caller chose one
    /// (`Stack::udp_send_from_to`), payload.
    send: VecDeque<(SocketAddr, Option<SocketAddr>, Vec<u8>)>,
    send_bytes: usize,
    send_limit: usize,
    /// An error from ICMP, reported by the next call (connected sockets only, as in
    /// Linux without IP_RECVERR).
    pub(crate) pending_error: Option<Error>,
    /// Datagrams dropped because the receive queue was full.
    pub(crate) drops: u64,
}

impl UdpSocket {
    pub(crate) fn new(local: SocketAddr, recv_limit: usize, send_limit: usize, ttl: u8) -> Self {
        UdpSocket {
            local,
            peer: None,
            broadcast: false,
            transparent: false,
            ttl,
            dscp: 0,
            recv: VecDeque::new(),
            recv_bytes: 0,
            recv_charged: 0,
            recv_limit,
            send: VecDeque::new(),
            send_bytes: 0,
            send_limit,
            pending_error: None,
            drops: 0,
        }
    }

    /// The local address.
    pub fn local(&self) -> SocketAddr {
        self.local
    }

    /// The connected peer.
    pub fn peer(&self) -> Option<SocketAddr> {
        self.peer
    }

    /// Payload bytes waiting to be read.
    pub fn recv_queue(&self) -> usize {
        self.recv_bytes
    }

    /// Payload bytes waiting to be sent.
    pub fn send_queue(&self) -> usize {
        self.send_bytes
    }

    /// Queues a received datagram (from `src`, addressed to `dst`); false (and a
    /// counted drop) when the queue has no room. Each datagram costs its payload
    /// plus [`DATAGRAM_OVERHEAD`]; one still goes into an empty queue whatever
    /// its size, so a bound below the largest datagram does not refuse them all.
    pub(crate) fn deliver(&mut self, src: SocketAddr, dst: SocketAddr, data: &[u8]) -> bool {
        //= https://www.rfc-editor.org/rfc/rfc768
        //# If a source port is not used, a value of zero is inserted.
        let cost = data.len() + DATAGRAM_OVERHEAD;
        if self.recv_charged + cost > self.recv_limit && !self.recv.is_empty() {
            self.drops += 1;
            return false;
        }
        self.recv_bytes += data.len();
        self.recv_charged += cost;
        self.recv.push_back((src, dst, data.to_vec()));
        true
    }

    /// Takes the next datagram into `buf`: its length (truncated to `buf`), the
    /// sender, and the address it was sent to.
    pub(crate) fn take(&mut self, buf: &mut [u8]) -> Option<(usize, SocketAddr, SocketAddr)> {
        let (src, dst, data) = self.recv.pop_front()?;
        self.recv_bytes -= data.len();
        self.recv_charged -= data.len() + DATAGRAM_OVERHEAD;
        let n = data.len().min(buf.len());
        buf[..n].copy_from_slice(&data[..n]);
        Some((n, src, dst))
    }

    /// Copies the next datagram into `buf` without taking it: its length
    /// (truncated to `buf`), the sender, and the address it was sent to.
    pub(crate) fn peek(&self, buf: &mut [u8]) -> Option<(usize, SocketAddr, SocketAddr)> {
        let (src, dst, data) = self.recv.front()?;
        let n = data.len().min(buf.len());
        buf[..n].copy_from_slice(&data[..n]);
        Some((n, *src, *dst))
    }

    /// Whether a datagram is waiting to be read.
    pub(crate) fn has_recv(&self) -> bool {
        !self.recv.is_empty()
    }

    /// Whether the send queue takes another datagram now (a datagram too big
    /// for the room left still goes into an empty queue).
    pub(crate) fn has_send_room(&self) -> bool {
        self.send_bytes < self.send_limit || self.send.is_empty()
    }

    /// Queues a datagram to send to `dst` (from `src` when given, else from the
    /// socket's address); false when the send queue has no room.
    pub(crate) fn queue_send(
        &mut self,
        dst: SocketAddr,
        src: Option<SocketAddr>,
        data: &[u8],
    ) -> bool {
        let cost = data.len().max(1);
        if self.send_bytes + cost > self.send_limit && !self.send.is_empty() {
            return false;
        }
        self.send_bytes += cost;
        self.send.push_back((dst, src, data.to_vec()));
        true
    }

    /// Takes the next datagram to send: destination, chosen source, payload.
    pub(crate) fn take_send(&mut self) -> Option<(SocketAddr, Option<SocketAddr>, Vec<u8>)> {
        let (dst, src, data) = self.send.pop_front()?;
        self.send_bytes -= data.len().max(1);
        Some((dst, src, data))
    }

    pub(crate) fn has_send(&self) -> bool {
        !self.send.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn addr(port: u16) -> SocketAddr {
        SocketAddr::from(([10, 0, 0, 1], port))
    }

    #[test]
    fn receive_queue_is_bounded_in_bytes_and_counts_drops() {
        let mut s = UdpSocket::new(addr(53), 1000, 1000, 64);
        assert!(s.deliver(addr(1), addr(53), &[0; 600]));
        assert!(!s.deliver(addr(1), addr(53), &[0; 600]));
        assert_eq!(s.drops, 1);
        let mut buf = [0u8; 2000];
        assert_eq!(s.take(&mut buf).map(|t| t.0), Some(600));
        assert!(s.deliver(addr(1), addr(53), &[0; 600]));
    }

    #[test]
    fn a_flood_of_empty_datagrams_is_charged_its_bookkeeping() {
        let limit = 212_992;
        for size in [0, 1] {
            let mut s = UdpSocket::new(addr(53), limit, 1000, 64);
            let mut queued = 0;
            while s.deliver(addr(1), addr(53), &vec![0; size]) {
                queued += 1;
                assert!(queued <= limit, "size {size}: unbounded");
            }
            // Before the overhead was charged, 212,992 of them (~20 MB) were held.
            assert_eq!(queued, limit / (size + DATAGRAM_OVERHEAD), "size {size}");
            assert_eq!(s.recv_queue(), queued * size);
        }
    }

    #[test]
    fn a_datagram_larger_than_the_bound_still_enters_an_empty_queue() {
        let mut s = UdpSocket::new(addr(53), 1000, 1000, 64);
        assert!(s.deliver(addr(1), addr(53), &[0; 1400]));
        assert!(!s.deliver(addr(1), addr(53), &[0; 1]));
        s.take(&mut [0u8; 2000]);
        assert_eq!(s.recv_queue(), 0);
        assert!(s.deliver(addr(1), addr(53), &[0; 600]));
    }

    #[test]
    fn peek_copies_the_next_datagram_and_leaves_it_for_take() {
        let mut s = UdpSocket::new(addr(53), 1000, 1000, 64);
        let mut buf = [0u8; 5];
        assert_eq!(s.peek(&mut buf), None);
        s.deliver(addr(1), addr(53), b"first");
        s.deliver(addr(2), addr(53), b"second");
        assert_eq!(s.peek(&mut buf[..3]), Some((3, addr(1), addr(53))));
        assert_eq!(&buf[..3], b"fir");
        assert_eq!(s.peek(&mut buf), Some((5, addr(1), addr(53))));
        assert_eq!(s.recv_queue(), 11);
        let mut big = [0u8; 16];
        assert_eq!(s.take(&mut big), Some((5, addr(1), addr(53))));
        assert_eq!(s.peek(&mut big), Some((6, addr(2), addr(53))));
        assert_eq!(&big[..6], b"second");
    }

    #[test]
    fn the_send_queue_has_room_until_its_limit_and_always_when_empty() {
        let mut s = UdpSocket::new(addr(53), 1000, 100, 64);
        assert!(s.has_send_room());
        assert!(s.queue_send(addr(1), None, &[0; 300]));
        assert!(!s.has_send_room());
        assert!(!s.queue_send(addr(1), None, &[0; 1]));
        s.take_send();
        assert!(s.has_send_room());
    }

    #[test]
    fn take_truncates_to_the_buffer() {
        let mut s = UdpSocket::new(addr(53), 1000, 1000, 64);
        s.deliver(addr(1), addr(53), b"hello world");
        let mut buf = [0u8; 5];
        assert_eq!(s.take(&mut buf).map(|t| t.0), Some(5));
        assert_eq!(&buf, b"hello");
        assert_eq!(s.recv_queue(), 0);
    }
}
