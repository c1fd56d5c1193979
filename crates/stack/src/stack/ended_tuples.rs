//! The tuples of connections that ended in a failure (a RST sent or received,
//! an abort, a timeout), each with the end of the sequence space it used, for
//! one TIME-WAIT length: a new incarnation of such a tuple opens past it.
//!
//! A connection that closes normally leaves TIME-WAIT on one side, and a SYN
//! that ends TIME-WAIT opens past the old numbers (`time_wait::reincarnation_iss`).
//! A failed one leaves nothing, on either side, so its next incarnation takes
//! the ISN clock's ISS: M + F(tuple), with M a 4 us clock. When the old
//! connection used more sequence numbers than M advanced since its ISS (any
//! connection faster than 1 byte per 4 us, or every connection of a caller
//! whose clock stands still, as a simulation's or a batch's may), the new ISS
//! falls inside the old connection's numbers, and the peer's segments of the
//! old connection are acceptable to the new one: an old duplicate SYN opens a
//! connection that the peer's challenge ACK (RFC 5961) or a late ACK then
//! completes, and the peer's data goes on into a connection its application
//! never opened (the `app` fuzz target's findings 9 and 10). Remembering the
//! failed tuples for as long as TIME-WAIT lasts closes that, at no cost to
//! connections that end normally.
//!
//! # Bounds
//! At most [`MAX_ENDED_TUPLES`] tuples (the oldest goes first) for at most the
//! TIME-WAIT length; a `BTreeMap` (O(log n), no hash for peer-chosen keys to
//! flood). A peer that resets many connections only pushes the oldest records
//! out, which leaves their tuples as they would be without this.

use std::collections::{BTreeMap, VecDeque};

use super::demux::FourTuple;
use crate::time::{Duration, Instant};
use crate::wire::SeqNumber;

/// How many failed tuples are remembered at most.
pub(crate) const MAX_ENDED_TUPLES: usize = 1024;

/// The failed tuples and how far each one's sequence space went.
#[derive(Debug, Default)]
pub(crate) struct EndedTuples {
    /// Each tuple's SND.MAX and the serial number of its record.
    ends: BTreeMap<FourTuple, (SeqNumber, u64)>,
    /// Every record in the order it was made: its expiry (the lifetime is the
    /// same for all, so the oldest expires first), tuple and serial number; a
    /// tuple recorded again or taken leaves a stale entry, which removes
    /// nothing when it leaves.
    order: VecDeque<(Instant, FourTuple, u64)>,
    /// The next record's serial number.
    serial: u64,
}

impl EndedTuples {
    /// Whether no tuple is remembered (the one test an open pays otherwise).
    #[inline(always)]
    pub(crate) fn is_empty(&self) -> bool {
        self.ends.is_empty()
    }

    /// Remembers that the connection of `tuple` failed at `now` after using
    /// sequence numbers up to `snd_max`, for `lifetime`.
    pub(crate) fn note(
        &mut self,
        now: Instant,
        lifetime: Duration,
        tuple: FourTuple,
        snd_max: SeqNumber,
    ) {
        self.expire(now);
        while self.order.len() >= MAX_ENDED_TUPLES {
            self.pop_oldest();
        }
        self.serial += 1;
        self.ends.insert(tuple, (snd_max, self.serial));
        self.order.push_back((now + lifetime, tuple, self.serial));
    }

    /// The SND.MAX of `tuple`'s failed connection, if it is remembered at
    /// `now`; the record goes (one new incarnation takes it).
    pub(crate) fn take(&mut self, now: Instant, tuple: &FourTuple) -> Option<SeqNumber> {
        self.expire(now);
        self.ends.remove(tuple).map(|(snd_max, _)| snd_max)
    }

    /// How many tuples are remembered.
    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.ends.len()
    }

    fn expire(&mut self, now: Instant) {
        while self.order.front().is_some_and(|&(at, _, _)| at <= now) {
            self.pop_oldest();
        }
    }

    /// Drops the oldest entry, and its tuple's record if that entry made it.
    fn pop_oldest(&mut self) {
        if let Some((_, tuple, serial)) = self.order.pop_front() {
            if self.ends.get(&tuple).is_some_and(|&(_, s)| s == serial) {
                self.ends.remove(&tuple);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use core::net::{IpAddr, Ipv4Addr, SocketAddr};

    fn tuple(port: u16) -> FourTuple {
        FourTuple::new(
            SocketAddr::new(IpAddr::V4(Ipv4Addr::new(10, 0, 0, 1)), 80),
            SocketAddr::new(IpAddr::V4(Ipv4Addr::new(10, 0, 0, 2)), port),
        )
    }

    const LIFE: Duration = Duration::from_secs(60);

    #[test]
    fn a_record_is_taken_once_and_expires_after_its_lifetime() {
        let mut e = EndedTuples::default();
        let t0 = Instant::from_nanos(1_000);
        e.note(t0, LIFE, tuple(1), SeqNumber(500));
        e.note(t0, LIFE, tuple(2), SeqNumber(700));
        assert_eq!(e.take(t0, &tuple(1)), Some(SeqNumber(500)));
        assert_eq!(e.take(t0, &tuple(1)), None);
        assert_eq!(e.take(t0 + LIFE, &tuple(2)), None, "expired");
        assert!(e.is_empty());
    }

    #[test]
    fn a_tuple_recorded_again_keeps_its_latest_end_and_lifetime() {
        let mut e = EndedTuples::default();
        let t0 = Instant::from_nanos(1_000);
        e.note(t0, LIFE, tuple(1), SeqNumber(500));
        let t1 = t0 + Duration::from_secs(30);
        e.note(t1, LIFE, tuple(1), SeqNumber(900));
        // The first record's expiry passes: the second stays.
        assert_eq!(e.take(t0 + LIFE, &tuple(1)), Some(SeqNumber(900)));
    }

    #[test]
    fn records_stay_within_their_bound_the_oldest_leaving_first() {
        let mut e = EndedTuples::default();
        let t0 = Instant::from_nanos(1_000);
        for port in 0..(MAX_ENDED_TUPLES as u16 + 100) {
            e.note(t0, LIFE, tuple(port), SeqNumber(u32::from(port)));
        }
        assert_eq!(e.len(), MAX_ENDED_TUPLES);
        assert!(e.order.len() <= MAX_ENDED_TUPLES);
        assert_eq!(e.take(t0, &tuple(99)), None, "among the oldest");
        assert_eq!(e.take(t0, &tuple(100)), Some(SeqNumber(100)));
        // The same tuple over and over: one record, the queue still bounded.
        for i in 0..5000u32 {
            e.note(t0, LIFE, tuple(7), SeqNumber(i));
        }
        assert!(e.order.len() <= MAX_ENDED_TUPLES);
        assert_eq!(e.take(t0, &tuple(7)), Some(SeqNumber(4999)));
    }
}
