//! The in-memory wire between the two stacks: [`Link`], two [`Pipe`]s of raw IP packets.
//!
//! Side A is the client, side B the server. A pipe is a FIFO of packets plus a free list
//! of packet buffers: a buffer goes out of the free list when a stack transmits into it
//! and back when the other stack has consumed the packet, so after warm-up no packet
//! allocates. Buffers are allocated under [`Tag::Link`] so that `idle` does not charge
//! them to either side. Packets are raw IP (no link-layer header), like a Linux TUN with
//! `IFF_NO_PI`; nothing is lost, reordered or corrupted.
//!
//! A sans-IO stack plugs in like this (A's output to B):
//!
//! ```text
//! let mut buf = link.a_to_b.take_buf();
//! match stack_a.poll_transmit(now, &mut buf) {
//!     Some(len) => link.a_to_b.push(buf, len),
//!     None => link.a_to_b.recycle(buf),
//! }
//! while let Some(pkt) = link.a_to_b.pop() {
//!     stack_b.handle_packet(now, pkt.bytes());
//!     link.a_to_b.recycle(pkt.into_buf());
//! }
//! ```

use std::collections::VecDeque;

use crate::alloc_count::{with_tag, Tag};

/// One packet on a pipe: a buffer of MTU bytes and how much of it is the packet.
#[derive(Debug)]
pub struct Packet {
    buf: Vec<u8>,
    len: usize,
}

impl Packet {
    /// The packet's bytes.
    pub fn bytes(&self) -> &[u8] {
        &self.buf[..self.len]
    }

    /// The buffer, to hand back with [`Pipe::recycle`].
    pub fn into_buf(self) -> Vec<u8> {
        self.buf
    }
}

/// One direction of the link.
#[derive(Debug)]
pub struct Pipe {
    mtu: usize,
    queue: VecDeque<Packet>,
    free: Vec<Vec<u8>>,
    packets: u64,
    bytes: u64,
}

impl Pipe {
    fn new(mtu: usize) -> Self {
        Pipe {
            mtu,
            queue: VecDeque::new(),
            free: Vec::new(),
            packets: 0,
            bytes: 0,
        }
    }

    /// The MTU: the size of every buffer [`Pipe::take_buf`] returns.
    pub fn mtu(&self) -> usize {
        self.mtu
    }

    /// An MTU-sized buffer to transmit into (recycled if one is free).
    pub fn take_buf(&mut self) -> Vec<u8> {
        match self.free.pop() {
            Some(buf) => buf,
            None => with_tag(Tag::Link, || vec![0; self.mtu]),
        }
    }

    /// Queue the first `len` bytes of `buf` (from [`Pipe::take_buf`]) as a packet.
    pub fn push(&mut self, buf: Vec<u8>, len: usize) {
        let len = len.min(buf.len());
        self.packets += 1;
        self.bytes += len as u64;
        with_tag(Tag::Link, || self.queue.push_back(Packet { buf, len }));
    }

    /// The oldest queued packet.
    pub fn pop(&mut self) -> Option<Packet> {
        self.queue.pop_front()
    }

    /// The queued packets, oldest first, left queued (to hand a stack the whole
    /// batch; [`Pipe::recycle_queued`] then pops them).
    pub fn queued_packets(&self) -> impl Iterator<Item = &[u8]> {
        self.queue.iter().map(Packet::bytes)
    }

    /// Pops every queued packet and returns its buffer to the free list.
    pub fn recycle_queued(&mut self) {
        let Pipe { queue, free, .. } = self;
        with_tag(Tag::Link, || {
            while let Some(packet) = queue.pop_front() {
                free.push(packet.buf);
            }
        });
    }

    /// Return a buffer to the free list.
    pub fn recycle(&mut self, buf: Vec<u8>) {
        with_tag(Tag::Link, || self.free.push(buf));
    }

    /// Packets queued and not yet popped.
    pub fn queued(&self) -> usize {
        self.queue.len()
    }

    /// Packets pushed so far.
    pub fn packets(&self) -> u64 {
        self.packets
    }

    /// Bytes pushed so far (IP headers included).
    pub fn bytes(&self) -> u64 {
        self.bytes
    }
}

/// The two pipes between side A (client) and side B (server).
#[derive(Debug)]
pub struct Link {
    /// Packets A sends to B.
    pub a_to_b: Pipe,
    /// Packets B sends to A.
    pub b_to_a: Pipe,
}

impl Link {
    /// An empty link with the given MTU.
    pub fn new(mtu: usize) -> Self {
        Link {
            a_to_b: Pipe::new(mtu),
            b_to_a: Pipe::new(mtu),
        }
    }

    /// Whether no packet is in flight in either direction.
    pub fn is_idle(&self) -> bool {
        self.a_to_b.queued() == 0 && self.b_to_a.queued() == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn packets_arrive_in_order_with_their_length() {
        let mut link = Link::new(1500);
        for n in [20usize, 1500, 40] {
            let mut buf = link.a_to_b.take_buf();
            assert_eq!(buf.len(), 1500);
            buf[0] = n as u8;
            link.a_to_b.push(buf, n);
        }
        let lens: Vec<(usize, u8)> = std::iter::from_fn(|| link.a_to_b.pop())
            .map(|p| (p.bytes().len(), p.bytes()[0]))
            .collect();
        assert_eq!(lens, [(20, 20), (1500, 220), (40, 40)]);
        assert_eq!(link.a_to_b.packets(), 3);
        assert_eq!(link.a_to_b.bytes(), 1560);
        assert!(link.is_idle());
    }

    #[test]
    fn recycled_buffer_is_reused() {
        let mut pipe = Pipe::new(100);
        let buf = pipe.take_buf();
        let ptr = buf.as_ptr();
        pipe.push(buf, 10);
        let pkt = pipe.pop().unwrap();
        pipe.recycle(pkt.into_buf());
        let again = pipe.take_buf();
        assert_eq!(again.as_ptr(), ptr);
    }
}
