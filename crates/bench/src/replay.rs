//! One side of `connect` alone (`connect --sides`): a [`Recording`] of what crossed the
//! link in a run, to drive one side's stack through the same run again without the other.
//!
//! The two-stack `connect` charges one core with both ends of every connection. A
//! server never does its clients' work, nor a client its server's, so `--sides` also
//! times each side alone. An untimed run of the usual loop records, for every round,
//! the clock reading and every batch of packets each side was handed
//! (the harness loop calls a [`Tap`] at those points; the timed run's tap is `()`,
//! which does nothing and compiles to nothing). Then a fresh stack of one side,
//! configured and seeded as in the recording, goes through the same rounds with the
//! same clock readings and the same application steps, taking the other side's
//! recorded packets where the other stack's output would have arrived; what it sends
//! is counted and dropped.
//!
//! Both stacks are deterministic given their inputs, their seed and the clock they are
//! handed (layer4 by its sans-IO contract; smoltcp seeds its generator from its
//! `Config`), so the side alone does exactly what it did in the recording. Each replay
//! checks that: every connection completes on its side, and the side sends as many
//! packets as it did when recorded; otherwise the run fails with
//! [`BenchError::ReplayDiverged`].

use crate::error::BenchError;
use crate::link::Pipe;

/// Where the harness loop tells a recording what happened. Every method does nothing
/// by default, so `()` is the tap of a timed run.
pub trait Tap {
    /// The clock reading the run started at (before the first round).
    fn start(&mut self, _nanos: u64) {}
    /// A new round begins at this clock reading.
    fn round(&mut self, _nanos: u64) {}
    /// Side A (the client) is about to be handed what is queued on `pipe`.
    fn to_a(&mut self, _pipe: &Pipe) {}
    /// Side B (the server) is about to be handed what is queued on `pipe`.
    fn to_b(&mut self, _pipe: &Pipe) {}
    /// The run is over; each side sent this many packets.
    fn end(&mut self, _a_sent: u64, _b_sent: u64) {}
}

impl Tap for () {}

/// The packets handed to one side, in order, in batches, stored back to back. A batch is
/// what the pipe into that side held at one point of the loop where the side reads it
/// (empty ones included), so that a replay can set the pipe to it
/// ([`Batch::refill`]) even for a stack that leaves packets queued.
#[derive(Debug, Default)]
pub struct PacketLog {
    bytes: Vec<u8>,
    /// End offset in `bytes` of each packet.
    ends: Vec<usize>,
    /// End index in `ends` of each batch.
    batches: Vec<usize>,
}

impl PacketLog {
    /// Appends one batch: `packets`, in order.
    pub fn record<'p>(&mut self, packets: impl Iterator<Item = &'p [u8]>) {
        for p in packets {
            self.bytes.extend_from_slice(p);
            self.ends.push(self.bytes.len());
        }
        self.batches.push(self.ends.len());
    }

    /// Packets recorded.
    pub fn packets(&self) -> usize {
        self.ends.len()
    }

    /// Batches recorded.
    pub fn batches(&self) -> usize {
        self.batches.len()
    }

    /// The batches from the first, one at a time.
    pub fn cursor(&self) -> Batches<'_> {
        Batches {
            log: self,
            batch: 0,
        }
    }

    /// Packets `from..to` of the log.
    fn packet_range(&self, from: usize, to: usize) -> Batch<'_> {
        Batch {
            log: self,
            next: from,
            end: to,
        }
    }
}

/// The batches of a [`PacketLog`], in the order they were recorded.
#[derive(Debug, Clone)]
pub struct Batches<'l> {
    log: &'l PacketLog,
    batch: usize,
}

impl<'l> Batches<'l> {
    /// The next batch; an empty one once all have been taken (a replay that asks for
    /// more than was recorded has diverged, which its packet count then shows).
    pub fn next_batch(&mut self) -> Batch<'l> {
        let log = self.log;
        let Some(&end) = log.batches.get(self.batch) else {
            return log.packet_range(log.ends.len(), log.ends.len());
        };
        let from = match self.batch {
            0 => 0,
            i => log.batches[i - 1],
        };
        self.batch += 1;
        log.packet_range(from, end)
    }
}

/// One batch of packets, oldest first.
#[derive(Debug, Clone)]
pub struct Batch<'l> {
    log: &'l PacketLog,
    next: usize,
    end: usize,
}

impl<'l> Iterator for Batch<'l> {
    type Item = &'l [u8];

    fn next(&mut self) -> Option<&'l [u8]> {
        if self.next >= self.end {
            return None;
        }
        let from = match self.next {
            0 => 0,
            i => self.log.ends[i - 1],
        };
        let to = self.log.ends[self.next];
        self.next += 1;
        Some(&self.log.bytes[from..to])
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        let n = self.end.saturating_sub(self.next);
        (n, Some(n))
    }
}

impl ExactSizeIterator for Batch<'_> {}

impl Batch<'_> {
    /// Makes `pipe` hold this batch and nothing else.
    pub fn refill(self, pipe: &mut Pipe) {
        pipe.recycle_queued();
        for p in self {
            let mut buf = pipe.take_buf();
            if buf.len() < p.len() {
                buf.resize(p.len(), 0);
            }
            buf[..p.len()].copy_from_slice(p);
            pipe.push(buf, p.len());
        }
    }
}

/// A whole `connect` run as each side saw it: the clock readings and the packets.
#[derive(Debug, Default)]
pub struct Recording {
    /// The clock reading before the first round.
    pub start_nanos: u64,
    /// The clock reading of each round.
    pub rounds: Vec<u64>,
    /// What side A (the client) was handed.
    pub to_a: PacketLog,
    /// What side B (the server) was handed.
    pub to_b: PacketLog,
    /// Packets side A sent.
    pub a_sent: u64,
    /// Packets side B sent.
    pub b_sent: u64,
}

impl Tap for Recording {
    fn start(&mut self, nanos: u64) {
        self.start_nanos = nanos;
    }

    fn round(&mut self, nanos: u64) {
        self.rounds.push(nanos);
    }

    fn to_a(&mut self, pipe: &Pipe) {
        self.to_a.record(pipe.queued_packets());
    }

    fn to_b(&mut self, pipe: &Pipe) {
        self.to_b.record(pipe.queued_packets());
    }

    fn end(&mut self, a_sent: u64, b_sent: u64) {
        (self.a_sent, self.b_sent) = (a_sent, b_sent);
    }
}

/// A side alone must finish every connection and send what it sent when recorded.
pub fn check(
    side: &'static str,
    done: u64,
    conns: u64,
    sent: u64,
    recorded: u64,
) -> Result<(), BenchError> {
    if done != conns || sent != recorded {
        return Err(BenchError::ReplayDiverged {
            side,
            detail: format!(
                "{done} of {conns} connections done, {sent} packets sent against {recorded} recorded"
            ),
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn batches_come_back_in_order_with_their_packets_and_empty_ones_kept() {
        let mut log = PacketLog::default();
        log.record([&b"ab"[..], &b"c"[..]].into_iter());
        log.record(std::iter::empty());
        log.record([&b"defg"[..]].into_iter());
        assert_eq!((log.packets(), log.batches()), (3, 3));
        let mut c = log.cursor();
        assert_eq!(c.next_batch().collect::<Vec<_>>(), [&b"ab"[..], b"c"]);
        let empty = c.next_batch();
        assert_eq!(empty.len(), 0);
        let last = c.next_batch();
        assert_eq!(last.len(), 1);
        assert_eq!(last.collect::<Vec<_>>(), [&b"defg"[..]]);
        // Past the end: empty batches, never a panic.
        assert_eq!(c.next_batch().count(), 0);
    }
}
