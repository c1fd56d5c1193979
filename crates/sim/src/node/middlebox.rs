//! The middlebox hook: code that sees every packet at a link direction's entrance,
//! before the capture and the queue, and may pass, drop, delay or rewrite it.
//!
//! Rewriting is mutating the [`Packet`] in place; a middlebox that changes header
//! fields is responsible for the checksums (the receiving stack verifies them).

use crate::packet::Packet;
use layer4::time::{Duration, Instant};
use std::fmt;

/// What happens to a packet a middlebox has seen.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// The packet (possibly rewritten) enters the link now.
    Pass,
    /// The packet is discarded.
    Drop,
    /// The packet enters the link after this delay (the middlebox is not asked again).
    Delay(Duration),
}

/// A packet filter, rewriter or delayer on one direction of a link.
pub trait Middlebox: fmt::Debug {
    /// Looks at (and may rewrite) `packet`, which is about to enter the link at `now`.
    fn on_packet(&mut self, now: Instant, packet: &mut Packet) -> Verdict;
}

/// Drops every `n`-th packet (the `n`-th, `2n`-th, ...), for tests of loss recovery
/// that need a loss pattern independent of any seed.
#[derive(Debug, Clone)]
pub struct DropEveryNth {
    n: u64,
    seen: u64,
    /// Packets dropped so far.
    pub dropped: u64,
}

impl DropEveryNth {
    /// Drops every `n`-th packet; `n` of 0 drops nothing.
    pub fn new(n: u64) -> DropEveryNth {
        DropEveryNth {
            n,
            seen: 0,
            dropped: 0,
        }
    }
}

impl Middlebox for DropEveryNth {
    fn on_packet(&mut self, _now: Instant, _packet: &mut Packet) -> Verdict {
        self.seen += 1;
        if self.n > 0 && self.seen % self.n == 0 {
            self.dropped += 1;
            Verdict::Drop
        } else {
            Verdict::Pass
        }
    }
}

/// A middlebox made of a closure, for one-off filters in tests and examples.
pub struct FnMiddlebox<F>(pub F);

impl<F> fmt::Debug for FnMiddlebox<F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("FnMiddlebox")
    }
}

impl<F: FnMut(Instant, &mut Packet) -> Verdict> Middlebox for FnMiddlebox<F> {
    fn on_packet(&mut self, now: Instant, packet: &mut Packet) -> Verdict {
        (self.0)(now, packet)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn drop_every_nth_drops_exactly_the_multiples() {
        let mut m = DropEveryNth::new(3);
        let mut p = Packet::new(vec![0x45; 20], 0);
        let verdicts: Vec<Verdict> = (0..7).map(|_| m.on_packet(Instant::ZERO, &mut p)).collect();
        let drops: Vec<usize> = verdicts
            .iter()
            .enumerate()
            .filter(|(_, v)| **v == Verdict::Drop)
            .map(|(i, _)| i + 1)
            .collect();
        assert_eq!(drops, [3, 6]);
        assert_eq!(m.dropped, 2);
    }
}
