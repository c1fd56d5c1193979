//! What a link is: rate, delay, jitter, loss, duplication, corruption, reordering,
//! MTU, a Mahimahi trace, outages and the queue at its entrance.
//!
//! A config is plain data; [`LinkConfig::validate`] (in [`validate`](super::validate))
//! says whether it makes sense. [`Link::new`](super::Link::new) never panics on any
//! config, valid or not.

use crate::queue::QueueConfig;
use layer4::time::Duration;

/// The loss model of a link.
#[derive(Debug, Clone, PartialEq, Default)]
pub enum LossModel {
    /// No random loss.
    #[default]
    None,
    /// Each packet lost independently with probability `p` (0..=1).
    Bernoulli {
        /// Loss probability.
        p: f64,
    },
    /// Gilbert–Elliott, with the parameters of netem's `loss gemodel p r 1-h 1-k`:
    /// `p` is the good→bad transition probability, `r` bad→good, `1-h` the loss
    /// probability in the bad state (`h` is the probability that a packet is
    /// *delivered* there) and `1-k` the loss probability in the good state.
    ///
    /// Per packet, as Linux's `loss_gilb_ell` does it: first the chain moves (from
    /// good with probability `p`, from bad with `r`), then the packet is lost with
    /// the loss probability of the state it *met*, the one before the move. The
    /// long-run loss rate is `(r·loss_good + p·loss_bad) / (p + r)`
    /// ([`LossModel::mean_loss_rate`]); the mean stay in the bad state is `1/r`
    /// packets. netem's defaults when trailing parameters are omitted are
    /// `r = 1 - p`, `1-h = 1`, `1-k = 0`.
    GilbertElliott {
        /// Good → bad transition probability per packet.
        p: f64,
        /// Bad → good transition probability per packet.
        r: f64,
        /// Loss probability in the bad state (netem's `1-h`).
        loss_bad: f64,
        /// Loss probability in the good state (netem's `1-k`).
        loss_good: f64,
    },
}

/// Deliberate reordering, as netem's `reorder PERCENT gap DISTANCE` does it.
///
/// A packet that is *eligible* is, with `probability`, sent without the link's
/// propagation delay and jitter: it arrives as soon as its last bit is
/// transmitted, overtaking the packets still propagating (so reordering needs a
/// delay or jitter to have any effect, as in netem). After a reordered packet,
/// the next `gap - 1` packets are delayed normally and are not eligible; with
/// `gap = 1` every packet is eligible. How many packets a reordered one overtakes
/// therefore depends on the delay and the packet rate, not on `gap`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Reorder {
    /// Probability that an eligible packet skips the delay (0..=1).
    pub probability: f64,
    /// netem's gap: at least `gap - 1` normally delayed packets between two
    /// reordered ones (1 or more).
    pub gap: u32,
}

/// The link is down from `start` for `duration`, once or every `period`.
///
/// While it is down, every packet offered to the link is dropped, and so is every
/// packet that would reach the far end (counted in `drops.outage`). Packets
/// already queued stay queued and keep being transmitted; those whose arrival
/// falls after the outage survive.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Outage {
    /// When the first outage begins, since the start of the run (`Instant::ZERO`).
    pub start: Duration,
    /// How long each outage lasts.
    pub duration: Duration,
    /// If set, the outage repeats with this period (longer than `duration`).
    pub period: Option<Duration>,
}

/// One direction of a link.
#[derive(Debug, Clone, PartialEq)]
pub struct LinkConfig {
    /// Transmission rate in bit/s; `None` is infinitely fast.
    pub rate_bps: Option<u64>,
    /// One-way propagation delay.
    pub delay: Duration,
    /// Jitter added to the delay, uniform in `0..=jitter` (nanosecond grain).
    pub jitter: Duration,
    /// Whether jitter may reorder packets (netem's default). When `false`, a
    /// packet never arrives before one transmitted ahead of it: its arrival is
    /// pushed back to the latest arrival scheduled so far (like netem with
    /// `rate`, whose time queue keeps order).
    pub jitter_reorders: bool,
    /// Random loss, applied to each packet as it leaves the transmitter.
    pub loss: LossModel,
    /// Probability that a packet is duplicated (the copy is intact, travels with
    /// its own jitter and carries the same uid).
    pub duplicate: f64,
    /// Probability that a packet has one random bit flipped, anywhere in the
    /// datagram.
    pub corrupt: f64,
    /// Deliberate reordering.
    pub reorder: Option<Reorder>,
    /// The largest datagram carried; larger ones are dropped (routers check first
    /// and answer with ICMP).
    pub mtu: usize,
    /// Mahimahi delivery opportunities, in milliseconds since the start of the
    /// run, repeating with the last timestamp as period; replaces `rate_bps` when
    /// set. Each opportunity lets 1500 bytes of queued packets leave (see
    /// [`trace`](super::trace)). [`Trace::parse`](super::Trace::parse) reads a
    /// Mahimahi file's text into the values for this field.
    pub trace_ms: Option<Vec<u64>>,
    /// Periods when the link drops everything.
    pub outages: Vec<Outage>,
    /// The queue at the link's entrance.
    pub queue: QueueConfig,
    /// Drop every ICMP and ICMPv6 packet offered (a firewall that filters ICMP: with
    /// it, "fragmentation needed" / "packet too big" never arrive, the PMTU black
    /// hole of RFC 2923 section 2.1).
    pub drop_icmp: bool,
}

impl Default for LinkConfig {
    /// Infinitely fast, no delay, no impairment, MTU 1500, drop-tail 1000 packets.
    fn default() -> LinkConfig {
        LinkConfig {
            rate_bps: None,
            delay: Duration::ZERO,
            jitter: Duration::ZERO,
            jitter_reorders: false,
            loss: LossModel::None,
            duplicate: 0.0,
            corrupt: 0.0,
            reorder: None,
            mtu: 1500,
            trace_ms: None,
            outages: Vec::new(),
            queue: QueueConfig::default(),
            drop_icmp: false,
        }
    }
}
