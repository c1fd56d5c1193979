//! One direction of a link: a queue at its entrance, a transmitter (at `rate`, or
//! replaying a Mahimahi trace), then propagation `delay` with its impairments to
//! the far end. Sans-IO like the stack: packets come in through
//! [`Link::handle_packet`], arrivals at the far end come out of
//! [`Link::poll_deliver`], and [`Link::poll_timeout`] says when to look next. The
//! simulator drives it on virtual time; `l4 emulate` can drive it on the real clock.
//!
//! - [`config`]: [`LinkConfig`] and its parts (loss models, reordering, outages).
//! - [`validate`]: [`LinkConfig::validate`] and [`LinkConfigError`].
//! - [`trace`]: Mahimahi traces ([`Trace`]: parser, opportunity clock, replay
//!   semantics and how utilization is counted).
//! - [`sojourn`]: queue sojourn-time statistics ([`SojournHistogram`], p50/p95/p99
//!   in fixed memory; [`SojournTotals`] for samplers).
//! - `loss` (private): the running Bernoulli / Gilbert–Elliott process;
//!   [`LossModel::mean_loss_rate`].
//! - `delay` (private): delay, jitter (order-keeping or not) and netem-style
//!   reordering.
//! - `outage` (private): [`Outage::is_active`].
//! - `corrupt` (private): the one-bit flip, and why receivers catch it.
//!
//! # A packet's journey
//!
//! 1. Offered at `now` ([`Link::handle_packet`]): dropped if an outage is active
//!    (`drops.outage`), then if larger than the MTU (`drops.mtu`); otherwise
//!    stamped `enqueued_at = now` and queued (the queue may drop or mark it).
//! 2. Dequeued when the transmitter is free (rate mode) or at a trace opportunity
//!    (trace mode); its sojourn, dequeue time minus `enqueued_at`, is recorded.
//! 3. When its last bit leaves (time `sent`): the loss model may drop it
//!    (`drops.loss`); it may be duplicated (the copy is intact); the original may
//!    get one bit flipped.
//! 4. Each copy gets an arrival time from the delay line (delay + jitter, or no
//!    delay at all if reordered). A copy whose arrival falls in an outage is
//!    dropped (`drops.outage`); one arriving before a packet sent ahead of it is
//!    counted in `reordered`.
//! 5. [`Link::poll_deliver`] hands it out at its arrival time; equal arrival
//!    times come out first-in first-out.
//!
//! # Randomness
//!
//! Each random model draws from its own child of the generator given to
//! [`Link::new`]: `"loss"`, `"dup"`, `"corrupt"`, `"jitter"`, `"reorder"` (and
//! `"queue"` for the queue). The same seed and the same calls give the same
//! deliveries, and turning one impairment on does not change the numbers another
//! one draws.
//!
//! # Driving a link
//!
//! Call [`Link::handle_packet`] for each packet offered, and whenever
//! [`Link::poll_timeout`] comes due call [`Link::poll_deliver`] with that time
//! until it returns `None`. Time must not go backwards between calls.
//!
//! A rate link does not ask to be woken when a transmission ends, only when a
//! packet may reach the far end: the transmissions that ended meanwhile are
//! completed then (or when the next packet is offered), in order and at their own
//! times, so the packets, their fates and their arrivals are the same. Before
//! reading the queue or the counters at some time, call [`Link::handle_timeout`]
//! with it. (An event per transmission end was a quarter of the events of the
//! `layer4-bench sim` runs.)

pub mod config;
mod corrupt;
mod delay;
mod loss;
mod outage;
pub mod sojourn;
pub mod trace;
pub mod validate;

use crate::packet::Packet;
use crate::queue::Queue;
use corrupt::flip_random_bit;
use delay::DelayLine;
use layer4::rand::StackRng;
use layer4::time::{Duration, Instant};
use loss::LossProcess;
use std::cmp::Reverse;
use std::collections::{BinaryHeap, VecDeque};
use trace::Cursor;

pub use config::{LinkConfig, LossModel, Outage, Reorder};
pub use sojourn::{SojournHistogram, SojournSummary, SojournTotals};
pub use trace::{Trace, TraceError, OPPORTUNITY_BYTES};
pub use validate::{LinkConfigError, MIN_MTU};

/// Why a link dropped a packet.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct DropCounts {
    /// The queue was full.
    pub overflow: u64,
    /// Active queue management (RED, CoDel) dropped it.
    pub aqm: u64,
    /// The loss model dropped it.
    pub loss: u64,
    /// The link was in an outage (when the packet was offered, or when it would
    /// have arrived).
    pub outage: u64,
    /// Larger than the link's MTU.
    pub mtu: u64,
    /// ICMP filtered (`drop_icmp`).
    pub filtered: u64,
}

impl DropCounts {
    /// All drops.
    pub fn total(&self) -> u64 {
        self.overflow + self.aqm + self.loss + self.outage + self.mtu + self.filtered
    }
}

/// What a link counted since it was built.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct LinkStats {
    /// Packets offered to the link.
    pub packets_in: u64,
    /// Bytes offered to the link.
    pub bytes_in: u64,
    /// Packets delivered at the far end (duplicates included).
    pub packets_delivered: u64,
    /// Bytes delivered at the far end.
    pub bytes_delivered: u64,
    /// Time the transmitter spent sending: utilization = busy / elapsed. With a
    /// trace, the time the used opportunities stand for (see [`trace`]).
    pub busy: Duration,
    /// Drops by cause.
    pub drops: DropCounts,
    /// Packets marked CE by the queue.
    pub ce_marks: u64,
    /// Packets duplicated.
    pub duplicated: u64,
    /// Packets corrupted (bits flipped).
    pub corrupted: u64,
    /// Packets that arrive before a packet transmitted ahead of them (reordering,
    /// jitter), counted when their arrival is scheduled.
    pub reordered: u64,
    /// Running count and sum of queue sojourn times; difference two readings with
    /// [`SojournTotals::mean_since`]. Percentiles: [`Link::sojourn`].
    pub sojourn: SojournTotals,
}

/// One direction of a link.
#[derive(Debug)]
pub struct Link {
    config: LinkConfig,
    queue: Box<dyn Queue>,
    transmitter: Transmitter,
    path: Path,
    /// Counters; `busy` is kept in `busy_ns` (a `Duration` sum per packet cost
    /// a dozen instructions) and filled in by [`Link::stats`].
    stats: LinkStats,
    busy_ns: u64,
    sojourn: SojournHistogram,
}

/// The sender: at a rate, or at a trace's opportunities.
#[derive(Debug)]
enum Transmitter {
    Rate {
        /// `None` (or 0) is infinitely fast.
        rate_bps: Option<u64>,
        /// When the packet being transmitted has left, if one is. The packet itself
        /// is already on its way: its fate (loss, duplication, corruption, delay) is
        /// drawn when its transmission starts, in the same order as ever, so a link
        /// whose queue is empty needs no wake-up at the end of each transmission.
        busy_until: Option<Instant>,
    },
    Trace {
        trace: Trace,
        /// The next opportunity.
        next: Cursor,
        /// A packet partly sent, with its bytes still to send.
        current: Option<(Packet, usize)>,
    },
}

/// Everything after the transmitter: loss, duplication, corruption, delay, and
/// the packets propagating.
#[derive(Debug)]
struct Path {
    loss: LossProcess,
    duplicate: f64,
    dup_rng: StackRng,
    corrupt: f64,
    corrupt_rng: StackRng,
    delay: DelayLine,
    outages: Vec<Outage>,
    /// No loss model, duplication, corruption or outage: a packet only needs its
    /// arrival time (the common case, taken without the draws' checks).
    plain: bool,
    /// Packets propagating, by arrival time then a sequence number (FIFO on ties).
    in_flight: InFlight,
    sequence: u64,
    /// The latest arrival scheduled, to count reordering.
    latest_arrival: Instant,
}

/// Packets propagating, ordered by (arrival, sequence). Most links never reorder
/// (no jitter that may reorder, no reordering), so arrivals come in order and a
/// FIFO holds them at O(1); an arrival earlier than the FIFO's last goes to a heap.
/// The next packet is the smaller of the two fronts. (A heap alone was a fifth of a
/// 1 Gbit/s simulation's time: thousands of packets in flight, 56-byte entries.)
#[derive(Debug, Default)]
struct InFlight {
    fifo: VecDeque<(Instant, u64, Packet)>,
    heap: BinaryHeap<Reverse<(Instant, u64, PacketOrd)>>,
}

impl InFlight {
    #[inline]
    fn push(&mut self, arrival: Instant, sequence: u64, packet: Packet) {
        if self.fifo.back().is_none_or(|(t, _, _)| *t <= arrival) {
            self.fifo.push_back((arrival, sequence, packet));
        } else {
            self.heap
                .push(Reverse((arrival, sequence, PacketOrd(packet))));
        }
    }

    /// (arrival, sequence) of the next packet: whichever front is earlier.
    #[inline]
    fn front(&self) -> Option<((Instant, u64), bool)> {
        let fifo = self.fifo.front().map(|(t, s, _)| (*t, *s));
        let heap = self.heap.peek().map(|Reverse((t, s, _))| (*t, *s));
        match (fifo, heap) {
            (Some(f), Some(h)) if h < f => Some((h, true)),
            (Some(f), _) => Some((f, false)),
            (None, Some(h)) => Some((h, true)),
            (None, None) => None,
        }
    }

    #[inline]
    fn next_arrival(&self) -> Option<Instant> {
        self.front().map(|((t, _), _)| t)
    }

    /// The next packet, if it has arrived by `now`.
    #[inline]
    fn pop_due(&mut self, now: Instant) -> Option<Packet> {
        let ((arrival, _), from_heap) = self.front()?;
        if arrival > now {
            return None;
        }
        if from_heap {
            self.heap.pop().map(|Reverse((_, _, PacketOrd(p)))| p)
        } else {
            self.fifo.pop_front().map(|(_, _, p)| p)
        }
    }
}

/// Wrapper so packets can sit in a heap ordered by (time, sequence) only.
#[derive(Debug)]
struct PacketOrd(Packet);
impl PartialEq for PacketOrd {
    fn eq(&self, _: &Self) -> bool {
        true
    }
}
impl Eq for PacketOrd {}
impl PartialOrd for PacketOrd {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for PacketOrd {
    fn cmp(&self, _: &Self) -> std::cmp::Ordering {
        std::cmp::Ordering::Equal
    }
}

impl Link {
    /// A link built from `config`; `rng` drives its random models.
    ///
    /// Never panics, whatever the config: call [`LinkConfig::validate`] first to
    /// reject nonsense. Here, out-of-range probabilities are clamped (NaN is 0), a
    /// rate of 0 is infinitely fast, a reorder gap of 0 acts as 1, and an unusable
    /// trace is ignored (the link uses `rate_bps`).
    pub fn new(config: LinkConfig, rng: StackRng) -> Link {
        let queue = config.queue.build(rng.fork("queue"));
        let transmitter = match config.trace_ms.clone().map(Trace::from_ms) {
            Some(Ok(trace)) => Transmitter::Trace {
                trace,
                next: Cursor::default(),
                current: None,
            },
            _ => Transmitter::Rate {
                rate_bps: config.rate_bps,
                busy_until: None,
            },
        };
        let path = Path {
            loss: LossProcess::new(&config.loss, rng.fork("loss")),
            duplicate: config.duplicate,
            dup_rng: rng.fork("dup"),
            corrupt: config.corrupt,
            corrupt_rng: rng.fork("corrupt"),
            delay: DelayLine::new(&config, rng.fork("jitter"), rng.fork("reorder")),
            outages: config.outages.clone(),
            // `StackRng::chance(p)` is false without a draw unless `p > 0`.
            plain: matches!(config.loss, config::LossModel::None)
                && (config.duplicate <= 0.0 || config.duplicate.is_nan())
                && (config.corrupt <= 0.0 || config.corrupt.is_nan())
                && config.outages.is_empty(),
            in_flight: InFlight::default(),
            sequence: 0,
            latest_arrival: Instant::ZERO,
        };
        Link {
            config,
            queue,
            transmitter,
            path,
            stats: LinkStats::default(),
            busy_ns: 0,
            sojourn: SojournHistogram::new(),
        }
    }

    /// The link's configuration.
    pub fn config(&self) -> &LinkConfig {
        &self.config
    }

    /// The largest datagram the link carries.
    pub fn mtu(&self) -> usize {
        self.config.mtu
    }

    /// Offers `packet` to the link at `now`.
    pub fn handle_packet(&mut self, now: Instant, mut packet: Packet) {
        self.advance(now);
        self.stats.packets_in += 1;
        self.stats.bytes_in += packet.len() as u64;
        if outage::any_active(&self.config.outages, now) {
            self.stats.drops.outage += 1;
            return;
        }
        if packet.len() > self.config.mtu {
            self.stats.drops.mtu += 1;
            return;
        }
        if self.config.drop_icmp
            && packet
                .flow_key()
                .is_some_and(|k| matches!(k.protocol, 1 | 58))
        {
            self.stats.drops.filtered += 1;
            return;
        }
        packet.enqueued_at = now;
        match &mut self.transmitter {
            Transmitter::Rate {
                rate_bps,
                busy_until,
            } if busy_until.is_none() => {
                if let Some(packet) = self.queue.enqueue_dequeue(now, packet) {
                    *busy_until = Some(transmit_rate(
                        *rate_bps,
                        now,
                        packet,
                        &mut self.sojourn,
                        &mut self.path,
                        &mut self.stats,
                        &mut self.busy_ns,
                    ));
                }
            }
            _ => self.queue.enqueue(now, packet),
        }
    }

    /// When the link next has something to do (a packet may reach the far end, a
    /// trace opportunity can be used), if anything is in progress. See
    /// [Driving a link](self#driving-a-link).
    #[inline]
    pub fn poll_timeout(&self) -> Option<Instant> {
        let tx = match &self.transmitter {
            // A waiting packet starts when the current transmission ends and cannot
            // arrive before the propagation delay has passed after that (no delay at
            // all if it may be reordered), so that is the earliest it needs a look.
            Transmitter::Rate { busy_until, .. } => busy_until
                .filter(|_| self.queue.len_packets() > 0)
                .map(|end| end + self.min_flight()),
            Transmitter::Trace {
                trace,
                next,
                current,
            } => (current.is_some() || self.queue.len_packets() > 0).then(|| trace.time_of(*next)),
        };
        let rx = self.path.in_flight.next_arrival();
        match (tx, rx) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    /// The least time between a packet's start of transmission and its arrival.
    #[inline]
    fn min_flight(&self) -> Duration {
        if self.config.reorder.is_some() {
            Duration::ZERO
        } else {
            self.config.delay
        }
    }

    /// Completes every transmission that has ended by `now` (and, with a trace,
    /// every opportunity), so that the queue and the counters read as of `now`.
    pub fn handle_timeout(&mut self, now: Instant) {
        self.advance(now);
    }

    /// The next packet that has reached the far end by `now`, if any.
    #[inline]
    pub fn poll_deliver(&mut self, now: Instant) -> Option<Packet> {
        self.advance(now);
        let packet = self.path.in_flight.pop_due(now)?;
        self.stats.packets_delivered += 1;
        self.stats.bytes_delivered += packet.len() as u64;
        Some(packet)
    }

    /// Packets in the queue (not counting the one being transmitted).
    pub fn queue_len_packets(&self) -> usize {
        self.queue.len_packets()
    }

    /// Bytes in the queue.
    pub fn queue_len_bytes(&self) -> usize {
        self.queue.len_bytes()
    }

    /// Counters since the link was built (the queue's drops and marks included).
    pub fn stats(&self) -> LinkStats {
        let q = self.queue.stats();
        let mut s = self.stats.clone();
        s.drops.overflow = q.dropped_overflow;
        s.drops.aqm = q.dropped_aqm;
        s.ce_marks = q.ce_marked;
        s.sojourn = self.sojourn.totals();
        s.busy = Duration::from_nanos(self.busy_ns);
        s
    }

    /// The queue sojourn times recorded so far: mean, percentiles
    /// ([`SojournHistogram::summary`]).
    pub fn sojourn(&self) -> &SojournHistogram {
        &self.sojourn
    }

    /// Completes every transmission (or trace opportunity) due by `now`.
    #[inline]
    fn advance(&mut self, now: Instant) {
        // Most calls find the transmitter idle or still busy: no call for those.
        if let Transmitter::Rate { busy_until, .. } = &self.transmitter {
            if busy_until.is_none_or(|end| end > now) {
                return;
            }
        }
        self.advance_due(now);
    }

    fn advance_due(&mut self, now: Instant) {
        let Link {
            queue,
            transmitter,
            path,
            stats,
            busy_ns,
            sojourn,
            ..
        } = self;
        let queue = &mut **queue;
        match transmitter {
            Transmitter::Rate {
                rate_bps,
                busy_until,
            } => {
                while let Some(end) = *busy_until {
                    if end > now {
                        break;
                    }
                    *busy_until = start_rate(*rate_bps, end, queue, sojourn, path, stats, busy_ns);
                }
            }
            Transmitter::Trace {
                trace,
                next,
                current,
            } => loop {
                let t = trace.time_of(*next);
                if t > now {
                    break;
                }
                if current.is_none() && queue.len_packets() == 0 {
                    // Nothing to send: every opportunity up to now is wasted.
                    *next = trace.first_after(now);
                    break;
                }
                let share = trace.share_of(*next);
                *next = trace.next(*next);
                let mut budget = OPPORTUNITY_BYTES;
                while budget > 0 {
                    if current.is_none() {
                        let Some(packet) = queue.dequeue(t) else {
                            break;
                        };
                        sojourn.record(t - packet.enqueued_at);
                        let len = packet.len();
                        *current = Some((packet, len));
                    }
                    let Some((_, left)) = current.as_mut() else {
                        break;
                    };
                    let used = budget.min(*left);
                    *left -= used;
                    budget -= used;
                    if *left == 0 {
                        if let Some((packet, _)) = current.take() {
                            path.propagate(t, packet, stats);
                        }
                    }
                }
                let used = (OPPORTUNITY_BYTES - budget) as u32;
                let share = share * used / OPPORTUNITY_BYTES as u32;
                *busy_ns =
                    busy_ns.saturating_add(u64::try_from(share.as_nanos()).unwrap_or(u64::MAX));
            },
        }
    }
}

/// Starts sending the next queued packet at `now`, if there is one; returns when
/// its last bit leaves.
#[inline]
fn start_rate(
    rate_bps: Option<u64>,
    now: Instant,
    queue: &mut dyn Queue,
    sojourn: &mut SojournHistogram,
    path: &mut Path,
    stats: &mut LinkStats,
    busy_ns: &mut u64,
) -> Option<Instant> {
    let packet = queue.dequeue(now)?;
    Some(transmit_rate(
        rate_bps, now, packet, sojourn, path, stats, busy_ns,
    ))
}

/// Sends `packet`, just taken from the queue, from `now` on: records its sojourn
/// and busy time and sends it on its way; returns when its last bit leaves.
#[inline]
fn transmit_rate(
    rate_bps: Option<u64>,
    now: Instant,
    packet: Packet,
    sojourn: &mut SojournHistogram,
    path: &mut Path,
    stats: &mut LinkStats,
    busy_ns: &mut u64,
) -> Instant {
    sojourn.record(now - packet.enqueued_at);
    let time = serialization_time(rate_bps, packet.len());
    *busy_ns = busy_ns.saturating_add(u64::try_from(time.as_nanos()).unwrap_or(u64::MAX));
    let end = now + time;
    if path.plain {
        path.schedule(end, packet, stats);
    } else {
        path.propagate(end, packet, stats);
    }
    end
}

#[inline]
fn serialization_time(rate_bps: Option<u64>, len: usize) -> Duration {
    match rate_bps {
        // The same ceiling in 64 bits, which hold any datagram's bits × 10⁹ (a
        // 128-bit division is a library call).
        Some(rate) if rate > 0 && len <= u16::MAX as usize => {
            let bits_ns = len as u64 * 8 * 1_000_000_000;
            Duration::from_nanos(bits_ns.div_ceil(rate))
        }
        Some(rate) if rate > 0 => {
            let bits = len as u128 * 8;
            let nanos = (bits * 1_000_000_000).div_ceil(u128::from(rate));
            Duration::from_nanos(u64::try_from(nanos).unwrap_or(u64::MAX))
        }
        _ => Duration::ZERO,
    }
}

impl Path {
    /// A packet's last bit left at `sent`: loss, duplication, corruption, then
    /// on its way. (A `plain` path goes straight to [`Path::schedule`].)
    #[inline(never)]
    fn propagate(&mut self, sent: Instant, mut packet: Packet, stats: &mut LinkStats) {
        if self.loss.lose() {
            stats.drops.loss += 1;
            return;
        }
        // netem clones before corrupting: the duplicate is intact.
        let copy = self.dup_rng.chance(self.duplicate).then(|| packet.clone());
        if self.corrupt_rng.chance(self.corrupt)
            && flip_random_bit(packet.expose(), &mut self.corrupt_rng).is_some()
        {
            stats.corrupted += 1;
        }
        self.schedule(sent, packet, stats);
        if let Some(copy) = copy {
            stats.duplicated += 1;
            self.schedule(sent, copy, stats);
        }
    }

    #[inline(always)]
    fn schedule(&mut self, sent: Instant, packet: Packet, stats: &mut LinkStats) {
        let arrival = self.delay.arrival(sent);
        if outage::any_active(&self.outages, arrival) {
            stats.drops.outage += 1;
            return;
        }
        if arrival < self.latest_arrival {
            stats.reordered += 1;
        } else {
            self.latest_arrival = arrival;
        }
        self.sequence += 1;
        self.in_flight.push(arrival, self.sequence, packet);
    }
}

#[cfg(test)]
mod tests;
