//! What a link is: rate, delay, jitter, loss, duplication, corruption, reordering,
//! MTU, a Mahimahi trace, outages and the queue at its entrance.

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
    /// Gilbert–Elliott, parameters as netem's `loss gemodel p r 1-h 1-k`: `p` good→bad
    /// transition probability, `r` bad→good, `h` the probability that a packet is
    /// *delivered* in the bad state (netem's 1-h is the loss probability there), `k`
    /// the probability of delivery in the good state.
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

/// Reordering: a packet is held back with `probability` so that `gap` later
/// packets overtake it (netem's `reorder ... gap`).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Reorder {
    /// Probability that a packet is delayed (0..=1).
    pub probability: f64,
    /// How many packets pass it.
    pub gap: u32,
}

/// The link drops everything from `start` for `duration`, once or every `period`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Outage {
    /// When the first outage begins (since the start of the run).
    pub start: Duration,
    /// How long each outage lasts.
    pub duration: Duration,
    /// If set, the outage repeats with this period.
    pub period: Option<Duration>,
}

/// One direction of a link.
#[derive(Debug, Clone, PartialEq)]
pub struct LinkConfig {
    /// Transmission rate in bit/s; `None` is infinitely fast.
    pub rate_bps: Option<u64>,
    /// One-way propagation delay.
    pub delay: Duration,
    /// Uniform jitter added to the delay, in `0..=jitter`.
    pub jitter: Duration,
    /// Whether jitter may reorder packets (netem's default) or only delays them
    /// while keeping order (like netem with `rate`/pfifo).
    pub jitter_reorders: bool,
    /// Random loss.
    pub loss: LossModel,
    /// Probability that a packet is duplicated.
    pub duplicate: f64,
    /// Probability that a packet has one random bit flipped.
    pub corrupt: f64,
    /// Deliberate reordering.
    pub reorder: Option<Reorder>,
    /// The largest datagram carried; larger ones are dropped (routers check first
    /// and answer with ICMP).
    pub mtu: usize,
    /// Mahimahi delivery opportunities, in milliseconds, repeating; replaces
    /// `rate_bps` when set. Each opportunity lets up to 1500 bytes leave.
    pub trace_ms: Option<Vec<u64>>,
    /// Periods when the link drops everything.
    pub outages: Vec<Outage>,
    /// The queue at the link's entrance.
    pub queue: QueueConfig,
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
        }
    }
}
