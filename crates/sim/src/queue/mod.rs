//! Queues at a link's entrance: the [`Queue`] trait every discipline implements, the
//! counters they keep, and [`QueueConfig`], which builds one.
//!
//! - [`droptail`]: first in, first out, bounded in packets or bytes.
//! - [`red`]: Random Early Detection (Floyd & Jacobson), in bytes, with ECN marking.
//! - [`codel`]: CoDel (RFC 8289), sojourn-time AQM, with ECN marking.
//! - [`fq_codel`]: FQ-CoDel (RFC 8290), per-flow queues with deficit round robin and
//!   a CoDel each, ECN marking on by default.
//!
//! A queue never sees the clock except through `now`. A packet that a queue drops,
//! at entry (overflow) or at exit (an AQM such as CoDel), is counted in
//! [`QueueStats`] and discarded; a packet it marks CE instead is counted as marked
//! and passed on.

pub mod codel;
pub mod droptail;
pub mod fq_codel;
pub mod red;
#[cfg(test)]
pub(crate) mod testutil;

use crate::packet::Packet;
use layer4::rand::StackRng;
use layer4::time::Instant;
use std::fmt;

pub use codel::{Codel, CodelConfig};
pub use droptail::DropTail;
pub use fq_codel::{FqCodel, FqCodelConfig};
pub use red::{Red, RedConfig};

/// A queue's bound.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Limit {
    /// At most this many packets.
    Packets(usize),
    /// At most this many bytes (IP datagram lengths).
    Bytes(usize),
}

/// What a queue counted since it was built.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct QueueStats {
    /// Packets accepted by `enqueue`.
    pub enqueued: u64,
    /// Packets handed out by `dequeue`.
    pub dequeued: u64,
    /// Packets dropped because the queue was full.
    pub dropped_overflow: u64,
    /// Packets dropped by active queue management (RED, CoDel).
    pub dropped_aqm: u64,
    /// Packets marked Congestion Experienced instead of dropped.
    pub ce_marked: u64,
}

/// A queueing discipline.
pub trait Queue: fmt::Debug + Send {
    /// Offers `packet` at `now`. The queue keeps it, or drops it (or another packet,
    /// as FQ-CoDel does from its fattest flow) and counts the drop.
    fn enqueue(&mut self, now: Instant, packet: Packet);
    /// The next packet to transmit at `now`, if any. An AQM may drop or mark
    /// packets here, counting them.
    fn dequeue(&mut self, now: Instant) -> Option<Packet>;
    /// [`enqueue`](Queue::enqueue) then [`dequeue`](Queue::dequeue) at the same
    /// `now`: what an idle transmitter does with a packet offered to it. A
    /// discipline may take a shortcut with the same outcome (drop-tail hands an
    /// arrival at an empty queue straight back, counted as enqueued and dequeued).
    fn enqueue_dequeue(&mut self, now: Instant, packet: Packet) -> Option<Packet> {
        self.enqueue(now, packet);
        self.dequeue(now)
    }
    /// Packets queued.
    fn len_packets(&self) -> usize;
    /// Bytes queued.
    fn len_bytes(&self) -> usize;
    /// Counters since the queue was built.
    fn stats(&self) -> QueueStats;
}

/// Which queue a link has, with its parameters.
#[derive(Debug, Clone, PartialEq)]
pub enum QueueConfig {
    /// First in, first out.
    DropTail(Limit),
    /// Random Early Detection.
    Red(RedConfig),
    /// CoDel (RFC 8289).
    Codel(CodelConfig),
    /// FQ-CoDel (RFC 8290).
    FqCodel(FqCodelConfig),
}

impl Default for QueueConfig {
    /// Drop-tail, 1000 packets (Linux's default txqueuelen).
    fn default() -> QueueConfig {
        QueueConfig::DropTail(Limit::Packets(1000))
    }
}

/// Why a [`QueueConfig`] is unusable.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum QueueConfigError {
    /// A limit (packets, bytes or memory) of zero would drop every packet.
    #[error("{what} must be at least 1")]
    ZeroLimit {
        /// Which limit (`"limit_packets"`, `"limit_bytes"`, ...).
        what: &'static str,
    },
    /// RED's lower threshold is above its upper one.
    #[error("RED min_bytes ({min}) is above max_bytes ({max})")]
    RedThresholds {
        /// `min_bytes`.
        min: usize,
        /// `max_bytes`.
        max: usize,
    },
    /// RED's hard limit is below its upper threshold, which then never applies.
    #[error("RED limit_bytes ({limit}) is below max_bytes ({max})")]
    RedLimitBelowMax {
        /// `limit_bytes`.
        limit: usize,
        /// `max_bytes`.
        max: usize,
    },
    /// RED's `max_p` is not a probability.
    #[error("RED max_p ({0}) must be within 0..=1")]
    RedMaxP(f64),
    /// RED's averaging weight is not in `(0, 1]`.
    #[error("RED weight ({0}) must be above 0 and at most 1")]
    RedWeight(f64),
    /// CoDel's interval is zero.
    #[error("CoDel interval must be above zero")]
    ZeroInterval,
    /// FQ-CoDel with no flow queues.
    #[error("FQ-CoDel flows must be at least 1")]
    ZeroFlows,
    /// FQ-CoDel with more flow queues than Linux allows.
    #[error("FQ-CoDel flows ({0}) must be at most 65536")]
    TooManyFlows(usize),
    /// FQ-CoDel with a zero quantum would never serve a packet.
    #[error("FQ-CoDel quantum must be at least 1 byte")]
    ZeroQuantum,
}

impl QueueConfig {
    /// Builds the queue. `rng` feeds disciplines that draw random numbers (RED) and
    /// flow-hash perturbation (FQ-CoDel).
    ///
    /// Never panics: a configuration that [`validate`](QueueConfig::validate)
    /// rejects is clamped to the nearest usable one (see each queue's `new`).
    pub fn build(&self, rng: StackRng) -> Box<dyn Queue> {
        match self {
            QueueConfig::DropTail(limit) => Box::new(DropTail::new(*limit)),
            QueueConfig::Red(c) => Box::new(Red::new(*c, rng)),
            QueueConfig::Codel(c) => Box::new(Codel::new(*c)),
            QueueConfig::FqCodel(c) => Box::new(FqCodel::new(*c, rng)),
        }
    }

    /// Checks the parameters, saying which one is wrong and why.
    pub fn validate(&self) -> Result<(), QueueConfigError> {
        use QueueConfigError as E;
        match self {
            QueueConfig::DropTail(Limit::Packets(0)) => Err(E::ZeroLimit {
                what: "limit_packets",
            }),
            QueueConfig::DropTail(Limit::Bytes(0)) => Err(E::ZeroLimit {
                what: "limit_bytes",
            }),
            QueueConfig::DropTail(_) => Ok(()),
            QueueConfig::Red(c) => {
                if c.limit_bytes == 0 {
                    return Err(E::ZeroLimit {
                        what: "limit_bytes",
                    });
                }
                if c.min_bytes > c.max_bytes {
                    return Err(E::RedThresholds {
                        min: c.min_bytes,
                        max: c.max_bytes,
                    });
                }
                if c.limit_bytes < c.max_bytes {
                    return Err(E::RedLimitBelowMax {
                        limit: c.limit_bytes,
                        max: c.max_bytes,
                    });
                }
                if !(0.0..=1.0).contains(&c.max_p) {
                    return Err(E::RedMaxP(c.max_p));
                }
                if !(c.weight > 0.0 && c.weight <= 1.0) {
                    return Err(E::RedWeight(c.weight));
                }
                Ok(())
            }
            QueueConfig::Codel(c) => {
                if c.limit_packets == 0 {
                    return Err(E::ZeroLimit {
                        what: "limit_packets",
                    });
                }
                if c.interval.is_zero() {
                    return Err(E::ZeroInterval);
                }
                Ok(())
            }
            QueueConfig::FqCodel(c) => {
                if c.flows == 0 {
                    return Err(E::ZeroFlows);
                }
                if c.flows > fq_codel::MAX_FLOWS {
                    return Err(E::TooManyFlows(c.flows));
                }
                if c.quantum == 0 {
                    return Err(E::ZeroQuantum);
                }
                if c.limit_packets == 0 {
                    return Err(E::ZeroLimit {
                        what: "limit_packets",
                    });
                }
                if c.memory_limit_bytes == 0 {
                    return Err(E::ZeroLimit {
                        what: "memory_limit_bytes",
                    });
                }
                if c.interval.is_zero() {
                    return Err(E::ZeroInterval);
                }
                Ok(())
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use layer4::time::Duration;
    use layer4::wire::Ecn;
    use testutil::{ms, udp4};

    fn all_defaults() -> Vec<QueueConfig> {
        vec![
            QueueConfig::default(),
            QueueConfig::Red(RedConfig::default()),
            QueueConfig::Codel(CodelConfig::default()),
            QueueConfig::FqCodel(FqCodelConfig::default()),
        ]
    }

    #[test]
    fn default_configs_validate_and_build_working_queues() {
        for config in all_defaults() {
            assert_eq!(config.validate(), Ok(()), "{config:?}");
            let mut q = config.build(StackRng::from_seed(1));
            q.enqueue(ms(0), udp4(1, Ecn::Ect0, 500, 7));
            assert_eq!((q.len_packets(), q.len_bytes()), (1, 500));
            assert_eq!(q.dequeue(ms(1)).map(|p| p.uid), Some(7), "{config:?}");
            assert_eq!(q.dequeue(ms(1)), None);
            assert_eq!(q.stats().enqueued, 1);
            assert_eq!(q.stats().dequeued, 1);
        }
    }

    #[test]
    fn validate_names_the_bad_parameter() {
        use QueueConfigError as E;
        let red = RedConfig::default();
        let fq = FqCodelConfig::default();
        let codel = CodelConfig::default();
        let cases = [
            (
                QueueConfig::DropTail(Limit::Packets(0)),
                E::ZeroLimit {
                    what: "limit_packets",
                },
            ),
            (
                QueueConfig::Red(RedConfig {
                    min_bytes: 10,
                    max_bytes: 5,
                    ..red
                }),
                E::RedThresholds { min: 10, max: 5 },
            ),
            (
                QueueConfig::Red(RedConfig {
                    limit_bytes: 1000,
                    ..red
                }),
                E::RedLimitBelowMax {
                    limit: 1000,
                    max: 90_000,
                },
            ),
            (
                QueueConfig::Red(RedConfig { max_p: 1.5, ..red }),
                E::RedMaxP(1.5),
            ),
            (
                QueueConfig::Red(RedConfig { weight: 0.0, ..red }),
                E::RedWeight(0.0),
            ),
            (
                QueueConfig::Codel(CodelConfig {
                    interval: Duration::ZERO,
                    ..codel
                }),
                E::ZeroInterval,
            ),
            (
                QueueConfig::Codel(CodelConfig {
                    limit_packets: 0,
                    ..codel
                }),
                E::ZeroLimit {
                    what: "limit_packets",
                },
            ),
            (
                QueueConfig::FqCodel(FqCodelConfig { flows: 0, ..fq }),
                E::ZeroFlows,
            ),
            (
                QueueConfig::FqCodel(FqCodelConfig {
                    flows: 70_000,
                    ..fq
                }),
                E::TooManyFlows(70_000),
            ),
            (
                QueueConfig::FqCodel(FqCodelConfig { quantum: 0, ..fq }),
                E::ZeroQuantum,
            ),
            (
                QueueConfig::FqCodel(FqCodelConfig {
                    memory_limit_bytes: 0,
                    ..fq
                }),
                E::ZeroLimit {
                    what: "memory_limit_bytes",
                },
            ),
        ];
        for (config, want) in cases {
            assert_eq!(config.validate(), Err(want), "{config:?}");
        }
        let nan = QueueConfig::Red(RedConfig {
            max_p: f64::NAN,
            ..red
        });
        assert!(matches!(nan.validate(), Err(E::RedMaxP(p)) if p.is_nan()));
        assert_eq!(
            E::RedThresholds { min: 10, max: 5 }.to_string(),
            "RED min_bytes (10) is above max_bytes (5)"
        );
    }

    #[test]
    fn invalid_configs_still_build_without_panicking() {
        let configs = [
            QueueConfig::DropTail(Limit::Bytes(0)),
            QueueConfig::Red(RedConfig {
                limit_bytes: 0,
                min_bytes: usize::MAX,
                max_bytes: 0,
                max_p: f64::INFINITY,
                weight: f64::NAN,
                ecn: true,
            }),
            QueueConfig::Codel(CodelConfig {
                target: Duration::MAX,
                interval: Duration::ZERO,
                limit_packets: 0,
                ecn: true,
                mtu: usize::MAX,
            }),
            QueueConfig::FqCodel(FqCodelConfig {
                flows: 0,
                quantum: 0,
                target: Duration::ZERO,
                interval: Duration::MAX,
                limit_packets: 0,
                memory_limit_bytes: 0,
                ecn: false,
                ce_threshold: Some(Duration::ZERO),
            }),
        ];
        for config in configs {
            assert!(config.validate().is_err());
            let mut q = config.build(StackRng::from_seed(2));
            for t in 0..100 {
                q.enqueue(ms(t), udp4(t as u16, Ecn::Ect0, 1000, t));
                if t % 3 == 0 {
                    q.dequeue(ms(t));
                }
            }
            while q.dequeue(ms(10_000)).is_some() {}
            assert_eq!(q.len_packets(), 0);
        }
    }
}
