//! Whether a [`LinkConfig`] makes sense: [`LinkConfig::validate`] and the
//! [`LinkConfigError`] it returns, whose message a scenario reader can show as it
//! is.

use super::config::{LinkConfig, LossModel};
use super::trace::{Trace, TraceError};
use thiserror::Error;

/// The smallest MTU a link may have.
//= https://www.rfc-editor.org/rfc/rfc791#section-3.2
//# Every internet module must be able to forward a datagram of 68 octets
//# without further fragmentation.
pub const MIN_MTU: usize = 68;

/// Why a link configuration is rejected.
#[derive(Debug, Clone, PartialEq, Error)]
pub enum LinkConfigError {
    /// A probability outside `0..=1`, or NaN.
    #[error("{name} must be a probability between 0 and 1, got {value}")]
    Probability {
        /// Which parameter (`loss.p`, `duplicate`, `reorder.probability`, ...).
        name: &'static str,
        /// Its value.
        value: f64,
    },
    /// An MTU below IPv4's minimum.
    #[error("mtu {mtu} is below {MIN_MTU} bytes, the smallest datagram IPv4 must carry unfragmented (RFC 791)")]
    MtuTooSmall {
        /// The configured MTU.
        mtu: usize,
    },
    /// A rate of zero bit/s.
    #[error("rate_bps must be above 0; leave the rate unset for an infinitely fast link")]
    ZeroRate,
    /// Reordering with a gap of zero.
    #[error("reorder.gap must be at least 1 (1 makes every packet eligible)")]
    ReorderGapZero,
    /// Reordering on a link without delay or jitter, where it cannot happen.
    #[error("reordering needs a delay or jitter to overtake: both are zero")]
    ReorderWithoutDelay,
    /// An unusable queue configuration.
    #[error("queue: {0}")]
    Queue(#[from] crate::queue::QueueConfigError),
    /// An unusable Mahimahi trace.
    #[error("trace: {0}")]
    Trace(#[from] TraceError),
    /// A repeating outage whose period is not longer than its duration.
    #[error("outage {index}: period {period_ms} ms must be longer than the duration {duration_ms} ms (a longer outage never ends: give no period and a long duration)")]
    OutagePeriod {
        /// The outage's position in the list, from 0.
        index: usize,
        /// Its period in milliseconds.
        period_ms: u128,
        /// Its duration in milliseconds.
        duration_ms: u128,
    },
}

fn probability(name: &'static str, value: f64) -> Result<(), LinkConfigError> {
    if (0.0..=1.0).contains(&value) {
        Ok(())
    } else {
        Err(LinkConfigError::Probability { name, value })
    }
}

impl LinkConfig {
    /// Checks every parameter: probabilities in `0..=1` (not NaN), MTU at least
    /// [`MIN_MTU`], a nonzero rate, a usable reorder (gap ≥ 1, some delay or
    /// jitter), a valid trace, outage periods longer than their durations, a valid
    /// queue ([`QueueConfig::validate`](crate::queue::QueueConfig::validate)). The
    /// first problem found is returned.
    pub fn validate(&self) -> Result<(), LinkConfigError> {
        match self.loss {
            LossModel::None => {}
            LossModel::Bernoulli { p } => probability("loss.p", p)?,
            LossModel::GilbertElliott {
                p,
                r,
                loss_bad,
                loss_good,
            } => {
                probability("loss.p", p)?;
                probability("loss.r", r)?;
                probability("loss.loss_bad (netem's 1-h)", loss_bad)?;
                probability("loss.loss_good (netem's 1-k)", loss_good)?;
            }
        }
        probability("duplicate", self.duplicate)?;
        probability("corrupt", self.corrupt)?;
        if self.mtu < MIN_MTU {
            return Err(LinkConfigError::MtuTooSmall { mtu: self.mtu });
        }
        if self.rate_bps == Some(0) {
            return Err(LinkConfigError::ZeroRate);
        }
        if let Some(reorder) = self.reorder {
            probability("reorder.probability", reorder.probability)?;
            if reorder.gap == 0 {
                return Err(LinkConfigError::ReorderGapZero);
            }
            if self.delay.is_zero() && self.jitter.is_zero() {
                return Err(LinkConfigError::ReorderWithoutDelay);
            }
        }
        if let Some(ms) = &self.trace_ms {
            Trace::check(ms)?;
        }
        self.queue.validate()?;
        for (index, outage) in self.outages.iter().enumerate() {
            if let Some(period) = outage.period {
                if period <= outage.duration {
                    return Err(LinkConfigError::OutagePeriod {
                        index,
                        period_ms: period.as_millis(),
                        duration_ms: outage.duration.as_millis(),
                    });
                }
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::link::config::{Outage, Reorder};
    use layer4::time::Duration;

    fn err(config: LinkConfig) -> LinkConfigError {
        config.validate().unwrap_err()
    }

    #[test]
    fn a_bad_queue_is_a_link_error() {
        let config = LinkConfig {
            queue: crate::queue::QueueConfig::DropTail(crate::queue::Limit::Packets(0)),
            ..LinkConfig::default()
        };
        assert!(matches!(err(config), LinkConfigError::Queue(_)));
    }

    #[test]
    fn default_config_is_valid() {
        assert_eq!(LinkConfig::default().validate(), Ok(()));
    }

    #[test]
    fn probability_outside_zero_to_one_is_rejected_by_name() {
        let e = err(LinkConfig {
            loss: LossModel::Bernoulli { p: 1.5 },
            ..LinkConfig::default()
        });
        assert_eq!(
            e.to_string(),
            "loss.p must be a probability between 0 and 1, got 1.5"
        );
        assert!(matches!(
            err(LinkConfig {
                duplicate: -0.1,
                ..LinkConfig::default()
            }),
            LinkConfigError::Probability {
                name: "duplicate",
                ..
            }
        ));
    }

    #[test]
    fn nan_probability_is_rejected() {
        let e = err(LinkConfig {
            loss: LossModel::GilbertElliott {
                p: 0.1,
                r: f64::NAN,
                loss_bad: 1.0,
                loss_good: 0.0,
            },
            ..LinkConfig::default()
        });
        assert!(matches!(
            e,
            LinkConfigError::Probability { name: "loss.r", .. }
        ));
        assert!(matches!(
            err(LinkConfig {
                corrupt: f64::NAN,
                ..LinkConfig::default()
            }),
            LinkConfigError::Probability {
                name: "corrupt",
                ..
            }
        ));
    }

    #[test]
    fn mtu_below_68_is_rejected() {
        assert_eq!(
            err(LinkConfig {
                mtu: 67,
                ..LinkConfig::default()
            }),
            LinkConfigError::MtuTooSmall { mtu: 67 }
        );
        let ok = LinkConfig {
            mtu: 68,
            ..LinkConfig::default()
        };
        assert_eq!(ok.validate(), Ok(()));
    }

    #[test]
    fn zero_rate_is_rejected() {
        assert_eq!(
            err(LinkConfig {
                rate_bps: Some(0),
                ..LinkConfig::default()
            }),
            LinkConfigError::ZeroRate
        );
    }

    #[test]
    fn reorder_needs_a_gap_and_a_delay() {
        let reorder = Some(Reorder {
            probability: 0.1,
            gap: 0,
        });
        assert_eq!(
            err(LinkConfig {
                reorder,
                delay: Duration::from_millis(5),
                ..LinkConfig::default()
            }),
            LinkConfigError::ReorderGapZero
        );
        let reorder = Some(Reorder {
            probability: 0.1,
            gap: 3,
        });
        assert_eq!(
            err(LinkConfig {
                reorder,
                ..LinkConfig::default()
            }),
            LinkConfigError::ReorderWithoutDelay
        );
    }

    #[test]
    fn bad_trace_is_rejected_with_the_trace_error() {
        let e = err(LinkConfig {
            trace_ms: Some(vec![3, 2]),
            ..LinkConfig::default()
        });
        assert_eq!(
            e.to_string(),
            "trace: line 2: timestamp 2 ms comes after 3 ms; timestamps must not decrease"
        );
        assert_eq!(
            err(LinkConfig {
                trace_ms: Some(vec![]),
                ..LinkConfig::default()
            }),
            LinkConfigError::Trace(TraceError::Empty)
        );
    }

    #[test]
    fn outage_period_not_longer_than_duration_is_rejected() {
        let e = err(LinkConfig {
            outages: vec![Outage {
                start: Duration::ZERO,
                duration: Duration::from_millis(100),
                period: Some(Duration::from_millis(100)),
            }],
            ..LinkConfig::default()
        });
        assert!(matches!(e, LinkConfigError::OutagePeriod { index: 0, .. }));
    }
}
