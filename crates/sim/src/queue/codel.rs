//! CoDel, Controlled Delay (RFC 8289): a FIFO whose head packet's sojourn time is
//! watched at dequeue. Once the sojourn time has stayed at or above `target` for a
//! whole `interval` (and more than one MTU is queued), CoDel drops (or, with ECN,
//! marks) a packet and keeps doing so at `interval / sqrt(count)` spacing until the
//! sojourn time falls below `target`.
//!
//! The state machine, `CodelState`, is separate from the FIFO so that FQ-CoDel
//! runs one per flow over its own flow queues (through the `CodelSource` trait).
//!
//! Differences from RFC 8289's pseudocode, all taken from Linux `codel_impl.h`:
//! - with ECN, a packet due to be dropped that is ECN-capable is marked CE and
//!   handed out instead, which ends that dequeue's drop loop;
//! - the control law uses an exact `sqrt` (Linux approximates `1/sqrt(count)` with
//!   Newton steps);
//! - an optional CE threshold (FQ-CoDel's `ce_threshold`) marks every ECN-capable
//!   packet whose sojourn time exceeds it, independently of the drop logic.

use super::{Queue, QueueStats};
use crate::packet::Packet;
use layer4::time::{Duration, Instant};
use std::collections::VecDeque;

/// CoDel's parameters.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CodelConfig {
    /// Acceptable standing queue delay. Default 5 ms.
    pub target: Duration,
    /// The window over which the minimum sojourn time is taken, on the order of a
    /// worst-case round-trip time. Default 100 ms.
    pub interval: Duration,
    /// Hard bound on queued packets; arrivals beyond it are dropped (counted as
    /// overflow). Default 1000 (Linux `codel`).
    pub limit_packets: usize,
    /// Mark ECN-capable packets CE instead of dropping them. Default `false`
    /// (Linux `codel`).
    pub ecn: bool,
    /// CoDel never drops while at most this many bytes are queued behind the packet
    /// being dequeued: RFC 8289's MAXPACKET, one MTU. Default 1500 (an IP MTU; the
    /// queue holds IP datagrams).
    pub mtu: usize,
}

impl Default for CodelConfig {
    fn default() -> CodelConfig {
        CodelConfig {
            target: Duration::from_millis(5),
            interval: Duration::from_millis(100),
            limit_packets: 1000,
            ecn: false,
            mtu: 1500,
        }
    }
}

/// The parameters the CoDel state machine reads at each dequeue.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct CodelParams {
    pub(crate) target: Duration,
    pub(crate) interval: Duration,
    pub(crate) mtu: usize,
    pub(crate) ecn: bool,
    pub(crate) ce_threshold: Option<Duration>,
}

/// The queue a [`CodelState`] manages: a FIFO it can take the head of.
pub(crate) trait CodelSource {
    /// Removes and returns the head packet, updating the byte counts.
    fn pop(&mut self) -> Option<Packet>;
    /// Bytes still queued (read after a `pop`, for the one-MTU rule).
    fn backlog_bytes(&self) -> usize;
}

/// CoDel's per-queue state (RFC 8289 section 5.2).
#[derive(Debug, Clone, Default)]
pub(crate) struct CodelState {
    /// When the sojourn time will have been above target for an interval; `None`
    /// while it is below.
    first_above_time: Option<Instant>,
    /// When the next drop is due while dropping.
    drop_next: Instant,
    /// Drops (or marks) since entering the dropping state.
    count: u32,
    /// `count` when the dropping state was last entered.
    lastcount: u32,
    /// In the dropping state.
    dropping: bool,
}

//= https://www.rfc-editor.org/rfc/rfc8289#section-3.3
// The control law: the next drop is due `interval / sqrt(count)` after the last one,
// so the drop rate grows with the square root of the drops so far, which for TCP's
// throughput ~ 1/sqrt(p) gives a linear change in throughput.
fn control_law(t: Instant, interval: Duration, count: u32) -> Instant {
    let count = f64::from(count.max(1));
    let gap_ns = interval.as_nanos() as f64 / count.sqrt();
    // `gap_ns` is finite and at most `interval`: the conversion cannot overflow.
    t + Duration::from_nanos(gap_ns as u64)
}

impl CodelState {
    /// Whether CoDel is in its dropping state.
    #[cfg(test)]
    pub(crate) fn is_dropping(&self) -> bool {
        self.dropping
    }

    //= https://www.rfc-editor.org/rfc/rfc8289#section-5.5
    // `dodequeue`: the sojourn time of the packet just taken decides whether it is
    // OK to drop; it must have been above target for at least an interval, and more
    // than one MTU must remain queued (the "maxpacket" rule: a queue holding less than
    // a packet is not a standing queue).
    fn ok_to_drop(
        &mut self,
        packet: Option<&Packet>,
        now: Instant,
        params: &CodelParams,
        backlog: usize,
    ) -> bool {
        let Some(packet) = packet else {
            self.first_above_time = None;
            return false;
        };
        let sojourn = now - packet.enqueued_at;
        if sojourn < params.target || backlog <= params.mtu {
            self.first_above_time = None;
            return false;
        }
        match self.first_above_time {
            None => {
                self.first_above_time = Some(now + params.interval);
                false
            }
            Some(t) => now >= t,
        }
    }

    /// CoDel's dequeue (RFC 8289 section 5.5): the packet to hand out at `now`, if
    /// any, after dropping (or marking) what the control law says. Drops are counted
    /// in `stats.dropped_aqm`, marks in `stats.ce_marked`; nothing else in `stats` is
    /// touched.
    pub(crate) fn dequeue(
        &mut self,
        now: Instant,
        params: &CodelParams,
        src: &mut impl CodelSource,
        stats: &mut QueueStats,
    ) -> Option<Packet> {
        let mut packet = src.pop();
        let mut drop = self.ok_to_drop(packet.as_ref(), now, params, src.backlog_bytes());
        if packet.is_none() {
            //= https://www.rfc-editor.org/rfc/rfc8289#section-5.5
            // An empty queue takes CoDel out of the dropping state.
            self.dropping = false;
            return None;
        }
        if self.dropping {
            if !drop {
                //= https://www.rfc-editor.org/rfc/rfc8289#section-5.5
                // The sojourn time went below target: leave the dropping state.
                self.dropping = false;
            }
            while self.dropping && now >= self.drop_next {
                let Some(mut head) = packet.take() else {
                    self.dropping = false;
                    break;
                };
                self.count = self.count.saturating_add(1);
                if params.ecn && head.mark_ce() {
                    stats.ce_marked += 1;
                    self.drop_next = control_law(self.drop_next, params.interval, self.count);
                    return Some(head);
                }
                stats.dropped_aqm += 1;
                drop_packet(head);
                packet = src.pop();
                drop = self.ok_to_drop(packet.as_ref(), now, params, src.backlog_bytes());
                if drop {
                    //= https://www.rfc-editor.org/rfc/rfc8289#section-3.3
                    // Schedule the next drop from the previous schedule, not from
                    // now, so the spacing stays interval/sqrt(count).
                    self.drop_next = control_law(self.drop_next, params.interval, self.count);
                } else {
                    self.dropping = false;
                }
            }
        } else if drop {
            if let Some(mut head) = packet.take() {
                if params.ecn && head.mark_ce() {
                    stats.ce_marked += 1;
                    packet = Some(head);
                } else {
                    stats.dropped_aqm += 1;
                    drop_packet(head);
                    packet = src.pop();
                    // Keeps `first_above_time` current; the answer is not needed.
                    let _ = self.ok_to_drop(packet.as_ref(), now, params, src.backlog_bytes());
                }
            }
            self.dropping = true;
            //= https://www.rfc-editor.org/rfc/rfc8289#section-5.5
            // Re-entering the dropping state soon (within 16 intervals of the last
            // scheduled drop) after leaving it: the drop rate that controlled the
            // queue last time is a good starting point, so resume from the drops
            // made then (count - lastcount) rather than from 1.
            let delta = self.count.saturating_sub(self.lastcount);
            self.count = 1;
            if delta > 1 && now - self.drop_next < params.interval.saturating_mul(16) {
                self.count = delta;
            }
            self.drop_next = control_law(now, params.interval, self.count);
            self.lastcount = self.count;
        }
        let mut packet = packet?;
        //= https://www.rfc-editor.org/rfc/rfc8290#section-5.2.7
        // The CE threshold: ECN-capable packets whose sojourn time exceeds it are
        // marked, whatever the CoDel state (as Linux's `codel_dequeue` ends).
        if let Some(threshold) = params.ce_threshold {
            if now - packet.enqueued_at > threshold && packet.mark_ce() {
                stats.ce_marked += 1;
            }
        }
        Some(packet)
    }
}

/// Discards a packet CoDel dropped (named for readability at the call sites).
fn drop_packet(packet: Packet) {
    drop(packet);
}

/// A FIFO managed by CoDel.
#[derive(Debug)]
pub struct Codel {
    config: CodelConfig,
    params: CodelParams,
    state: CodelState,
    packets: VecDeque<Packet>,
    bytes: usize,
    stats: QueueStats,
}

/// The FIFO as CoDel's state machine sees it.
struct Fifo<'a> {
    packets: &'a mut VecDeque<Packet>,
    bytes: &'a mut usize,
}

impl CodelSource for Fifo<'_> {
    fn pop(&mut self) -> Option<Packet> {
        let packet = self.packets.pop_front()?;
        *self.bytes -= packet.len();
        Some(packet)
    }

    fn backlog_bytes(&self) -> usize {
        *self.bytes
    }
}

impl Codel {
    /// An empty CoDel queue. A zero `limit_packets` is taken as 1 and a zero
    /// `interval` as 1 ns (see [`QueueConfig::validate`](super::QueueConfig::validate),
    /// which rejects both).
    pub fn new(config: CodelConfig) -> Codel {
        let config = CodelConfig {
            limit_packets: config.limit_packets.max(1),
            interval: config.interval.max(Duration::from_nanos(1)),
            ..config
        };
        Codel {
            params: CodelParams {
                target: config.target,
                interval: config.interval,
                mtu: config.mtu,
                ecn: config.ecn,
                ce_threshold: None,
            },
            config,
            state: CodelState::default(),
            packets: VecDeque::new(),
            bytes: 0,
            stats: QueueStats::default(),
        }
    }

    /// The configuration in use.
    pub fn config(&self) -> &CodelConfig {
        &self.config
    }
}

impl Queue for Codel {
    fn enqueue(&mut self, now: Instant, mut packet: Packet) {
        if self.packets.len() >= self.config.limit_packets {
            self.stats.dropped_overflow += 1;
            return;
        }
        //= https://www.rfc-editor.org/rfc/rfc8289#section-5.4
        // Each packet is timestamped as it enters the queue.
        packet.enqueued_at = now;
        self.bytes += packet.len();
        self.stats.enqueued += 1;
        self.packets.push_back(packet);
    }

    fn dequeue(&mut self, now: Instant) -> Option<Packet> {
        let mut fifo = Fifo {
            packets: &mut self.packets,
            bytes: &mut self.bytes,
        };
        let packet = self
            .state
            .dequeue(now, &self.params, &mut fifo, &mut self.stats)?;
        self.stats.dequeued += 1;
        Some(packet)
    }

    fn len_packets(&self) -> usize {
        self.packets.len()
    }

    fn len_bytes(&self) -> usize {
        self.bytes
    }

    fn stats(&self) -> QueueStats {
        self.stats
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::queue::testutil::{ms, udp4};
    use layer4::wire::Ecn;

    /// Drives `q` one millisecond at a time from `start` to `end` (exclusive): at
    /// each step one dequeue, then top the queue up to `depth` packets of `len`
    /// bytes. Returns the times (ms) at which a dequeue dropped or marked something.
    fn standing_queue(
        q: &mut Codel,
        start: u64,
        end: u64,
        depth: usize,
        len: usize,
        ecn: Ecn,
        uid: &mut u64,
    ) -> Vec<u64> {
        let mut events = Vec::new();
        for t in start..end {
            let before = q.stats();
            q.dequeue(ms(t));
            let after = q.stats();
            if after.dropped_aqm + after.ce_marked > before.dropped_aqm + before.ce_marked {
                events.push(t);
            }
            while q.len_packets() < depth {
                *uid += 1;
                q.enqueue(ms(t), udp4(1, ecn, len, *uid));
            }
        }
        events
    }

    fn fill(q: &mut Codel, at: u64, n: usize, len: usize, ecn: Ecn, uid: &mut u64) {
        for _ in 0..n {
            *uid += 1;
            q.enqueue(ms(at), udp4(1, ecn, len, *uid));
        }
    }

    #[test]
    fn codel_does_nothing_while_sojourn_stays_below_target() {
        let mut q = Codel::new(CodelConfig::default());
        let mut uid = 0;
        fill(&mut q, 0, 3, 1000, Ecn::NotEct, &mut uid);
        // Three packets queued, one served per millisecond: 3 ms of sojourn.
        let events = standing_queue(&mut q, 1, 3000, 3, 1000, Ecn::NotEct, &mut uid);
        assert!(events.is_empty());
        assert_eq!(q.stats().dropped_aqm, 0);
        assert!(q.stats().dequeued > 2900);
    }

    #[test]
    fn codel_first_drop_comes_one_interval_after_sojourn_exceeds_target() {
        let mut q = Codel::new(CodelConfig::default());
        let mut uid = 0;
        fill(&mut q, 0, 20, 1000, Ecn::NotEct, &mut uid);
        // Serving starts at 10 ms with sojourn >= 10 ms: above target from then on,
        // so the first drop is due at 10 + 100 ms.
        let events = standing_queue(&mut q, 10, 111, 20, 1000, Ecn::NotEct, &mut uid);
        assert_eq!(events, vec![110]);
        assert!(q.state.is_dropping());
    }

    #[test]
    fn codel_drop_spacing_shrinks_as_interval_over_sqrt_count() {
        let mut q = Codel::new(CodelConfig::default());
        let mut uid = 0;
        fill(&mut q, 0, 20, 1000, Ecn::NotEct, &mut uid);
        let events = standing_queue(&mut q, 10, 1500, 20, 1000, Ecn::NotEct, &mut uid);
        // Expected schedule: 110 ms, then each next drop interval/sqrt(count) after
        // the previous *scheduled* time; served on the next whole millisecond.
        let mut due = 110.0f64;
        let mut expected = vec![110u64];
        let mut count = 1.0f64;
        while expected.len() < events.len() {
            due += 100.0 / count.sqrt();
            count += 1.0;
            expected.push(due.ceil() as u64);
        }
        assert!(events.len() > 15, "{events:?}");
        for (i, (got, want)) in events.iter().zip(&expected).enumerate() {
            assert!(
                got.abs_diff(*want) <= 1,
                "drop {i}: at {got} ms, expected {want} ms"
            );
        }
        let gaps: Vec<u64> = events.windows(2).map(|w| w[1] - w[0]).collect();
        assert!(gaps[0] >= 99 && gaps[gaps.len() - 1] < 30, "{gaps:?}");
    }

    #[test]
    fn codel_leaves_dropping_state_when_sojourn_falls_below_target() {
        let mut q = Codel::new(CodelConfig::default());
        let mut uid = 0;
        fill(&mut q, 0, 20, 1000, Ecn::NotEct, &mut uid);
        standing_queue(&mut q, 10, 150, 20, 1000, Ecn::NotEct, &mut uid);
        assert!(q.state.is_dropping());
        let drops = q.stats().dropped_aqm;
        // Serve the queue in a burst at 150 ms (no drop is due before 210 ms): CoDel
        // stays in the dropping state while the packets served waited at least
        // `target`, and leaves it with the first that waited less.
        fill(&mut q, 150, 3, 1000, Ecn::NotEct, &mut uid);
        loop {
            let head = q.packets.front().expect("packets").enqueued_at;
            q.dequeue(ms(150));
            if ms(150) - head < Duration::from_millis(5) {
                assert!(!q.state.is_dropping());
                break;
            }
            assert!(q.state.is_dropping());
        }
        // A short queue from then on: no further drops, even past the old schedule.
        standing_queue(&mut q, 152, 600, 3, 1000, Ecn::NotEct, &mut uid);
        assert_eq!(q.stats().dropped_aqm, drops);
    }

    #[test]
    fn codel_reentering_dropping_soon_resumes_the_previous_drop_rate() {
        let mut q = Codel::new(CodelConfig::default());
        let mut uid = 0;
        fill(&mut q, 0, 20, 1000, Ecn::NotEct, &mut uid);
        standing_queue(&mut q, 10, 600, 20, 1000, Ecn::NotEct, &mut uid);
        let count = q.state.count;
        assert!(count > 5);
        // Drain: the queue empties, which ends the dropping state.
        while q.dequeue(ms(600)).is_some() {}
        assert!(!q.state.is_dropping());
        // Build a standing queue again right away: 100 ms later it re-enters.
        fill(&mut q, 600, 20, 1000, Ecn::NotEct, &mut uid);
        standing_queue(&mut q, 610, 711, 20, 1000, Ecn::NotEct, &mut uid);
        assert!(q.state.is_dropping());
        assert!(q.state.count > 1, "count restarted at {}", q.state.count);
    }

    #[test]
    fn codel_reentering_long_after_starts_counting_from_one() {
        let mut q = Codel::new(CodelConfig::default());
        let mut uid = 0;
        fill(&mut q, 0, 20, 1000, Ecn::NotEct, &mut uid);
        standing_queue(&mut q, 10, 600, 20, 1000, Ecn::NotEct, &mut uid);
        while q.dequeue(ms(600)).is_some() {}
        // More than 16 intervals later.
        fill(&mut q, 3000, 20, 1000, Ecn::NotEct, &mut uid);
        standing_queue(&mut q, 3010, 3111, 20, 1000, Ecn::NotEct, &mut uid);
        assert!(q.state.is_dropping());
        assert_eq!(q.state.count, 1);
    }

    #[test]
    fn codel_never_drops_while_less_than_an_mtu_is_queued() {
        let mut q = Codel::new(CodelConfig::default());
        let mut uid = 0;
        // Five 100-byte packets, 50 ms of sojourn each, but only 400 bytes behind
        // the head.
        fill(&mut q, 0, 5, 100, Ecn::NotEct, &mut uid);
        for t in (50..5000).step_by(10) {
            q.dequeue(ms(t));
            uid += 1;
            q.enqueue(ms(t), udp4(1, Ecn::NotEct, 100, uid));
        }
        assert_eq!(q.stats().dropped_aqm, 0);
    }

    #[test]
    fn codel_with_ecn_marks_ect_packets_instead_of_dropping() {
        let mut q = Codel::new(CodelConfig {
            ecn: true,
            ..CodelConfig::default()
        });
        let mut uid = 0;
        fill(&mut q, 0, 20, 1000, Ecn::Ect0, &mut uid);
        let events = standing_queue(&mut q, 10, 1000, 20, 1000, Ecn::Ect0, &mut uid);
        assert!(events.len() > 10);
        assert_eq!(q.stats().dropped_aqm, 0);
        assert_eq!(q.stats().ce_marked, events.len() as u64);
        // Every packet handed out is accounted for: nothing vanished.
        let s = q.stats();
        assert_eq!(s.enqueued, s.dequeued + q.len_packets() as u64);
    }

    #[test]
    fn codel_marked_packet_carries_ce_with_a_valid_checksum() {
        let mut q = Codel::new(CodelConfig {
            ecn: true,
            ..CodelConfig::default()
        });
        let mut uid = 0;
        fill(&mut q, 0, 20, 1000, Ecn::Ect0, &mut uid);
        standing_queue(&mut q, 10, 110, 20, 1000, Ecn::Ect0, &mut uid);
        let marked = q.dequeue(ms(110)).expect("a packet");
        assert_eq!(marked.ecn(), Some(Ecn::Ce));
        let ip = layer4::wire::Ipv4Packet::new_checked(&marked.data[..]).expect("ipv4");
        assert!(ip.verify_checksum());
    }

    #[test]
    fn codel_with_ecn_still_drops_not_ect_packets() {
        let mut q = Codel::new(CodelConfig {
            ecn: true,
            ..CodelConfig::default()
        });
        let mut uid = 0;
        fill(&mut q, 0, 20, 1000, Ecn::NotEct, &mut uid);
        let events = standing_queue(&mut q, 10, 1000, 20, 1000, Ecn::NotEct, &mut uid);
        assert!(events.len() > 10);
        assert_eq!(q.stats().ce_marked, 0);
        assert!(q.stats().dropped_aqm >= events.len() as u64);
    }

    #[test]
    fn codel_limit_drops_arrivals_as_overflow() {
        let mut q = Codel::new(CodelConfig {
            limit_packets: 4,
            ..CodelConfig::default()
        });
        let mut uid = 0;
        fill(&mut q, 0, 6, 100, Ecn::NotEct, &mut uid);
        assert_eq!(q.len_packets(), 4);
        assert_eq!(q.len_bytes(), 400);
        assert_eq!(q.stats().dropped_overflow, 2);
        assert_eq!(q.stats().dropped_aqm, 0);
    }

    #[test]
    fn codel_stamps_enqueue_time_itself() {
        let mut q = Codel::new(CodelConfig::default());
        let mut p = udp4(1, Ecn::NotEct, 100, 1);
        p.enqueued_at = ms(999);
        q.enqueue(ms(7), p);
        assert_eq!(q.dequeue(ms(8)).map(|p| p.enqueued_at), Some(ms(7)));
        assert_eq!(q.dequeue(ms(9)), None);
    }
}
