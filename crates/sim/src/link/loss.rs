//! Random loss: independent (Bernoulli) and bursty (Gilbert–Elliott, as netem's
//! `gemodel`). [`LossProcess`] is the running model; it draws from its own
//! generator (the link forks it with the label `"loss"`).

use super::config::LossModel;
use layer4::rand::StackRng;

impl LossModel {
    /// The long-run fraction of packets lost.
    ///
    /// Gilbert–Elliott: the chain's stationary distribution is
    /// `π_bad = p / (p + r)`, `π_good = r / (p + r)`, so the rate is
    /// `π_good·loss_good + π_bad·loss_bad`. With `p = r = 0` the chain stays in the
    /// good state it starts in.
    pub fn mean_loss_rate(&self) -> f64 {
        match *self {
            LossModel::None => 0.0,
            LossModel::Bernoulli { p } => p,
            LossModel::GilbertElliott {
                p,
                r,
                loss_bad,
                loss_good,
            } => {
                if p + r <= 0.0 {
                    loss_good
                } else {
                    (r * loss_good + p * loss_bad) / (p + r)
                }
            }
        }
    }
}

/// A loss model in motion: its parameters, the Gilbert–Elliott state and the
/// generator.
#[derive(Debug)]
pub(crate) struct LossProcess {
    model: LossModel,
    /// Gilbert–Elliott: whether the chain is in the bad state (it starts good).
    bad: bool,
    rng: StackRng,
}

impl LossProcess {
    /// A process for `model`, drawing from `rng`.
    pub(crate) fn new(model: &LossModel, rng: StackRng) -> LossProcess {
        LossProcess {
            model: model.clone(),
            bad: false,
            rng,
        }
    }

    /// Whether the next packet is lost.
    #[inline]
    pub(crate) fn lose(&mut self) -> bool {
        match self.model {
            LossModel::None => false,
            LossModel::Bernoulli { p } => self.rng.chance(p),
            LossModel::GilbertElliott {
                p,
                r,
                loss_bad,
                loss_good,
            } => {
                // netem's loss_gilb_ell: move first, then lose with the loss
                // probability of the state the packet met.
                let met_bad = self.bad;
                if met_bad {
                    if self.rng.chance(r) {
                        self.bad = false;
                    }
                    self.rng.chance(loss_bad)
                } else {
                    if self.rng.chance(p) {
                        self.bad = true;
                    }
                    self.rng.chance(loss_good)
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const N: usize = 200_000;

    fn run(model: &LossModel, seed: u64) -> Vec<bool> {
        let mut process = LossProcess::new(model, StackRng::from_seed(seed).fork("loss"));
        (0..N).map(|_| process.lose()).collect()
    }

    fn rate(losses: &[bool]) -> f64 {
        losses.iter().filter(|&&l| l).count() as f64 / losses.len() as f64
    }

    /// Mean length of runs of consecutive losses.
    fn mean_burst(losses: &[bool]) -> f64 {
        let (mut bursts, mut lost, mut previous) = (0u64, 0u64, false);
        for &l in losses {
            if l {
                lost += 1;
                if !previous {
                    bursts += 1;
                }
            }
            previous = l;
        }
        lost as f64 / bursts.max(1) as f64
    }

    #[test]
    fn no_loss_model_never_loses() {
        assert_eq!(rate(&run(&LossModel::None, 1)), 0.0);
    }

    #[test]
    fn bernoulli_long_run_rate_matches_p() {
        let model = LossModel::Bernoulli { p: 0.05 };
        let measured = rate(&run(&model, 7));
        assert!((measured - 0.05).abs() < 0.003, "measured {measured}");
    }

    #[test]
    fn gilbert_elliott_long_run_rate_matches_stationary_formula() {
        let model = LossModel::GilbertElliott {
            p: 0.02,
            r: 0.2,
            loss_bad: 0.8,
            loss_good: 0.001,
        };
        let expected = model.mean_loss_rate();
        assert!((expected - (0.2 * 0.001 + 0.02 * 0.8) / 0.22).abs() < 1e-12);
        for seed in [1, 2, 3] {
            let measured = rate(&run(&model, seed));
            assert!(
                (measured - expected).abs() < 0.006,
                "seed {seed}: measured {measured}, expected {expected}"
            );
        }
    }

    #[test]
    fn gilbert_elliott_bursts_are_longer_than_bernoulli_at_the_same_mean() {
        // Simple Gilbert: lose everything in bad, nothing in good. Mean burst 1/r.
        let ge = LossModel::GilbertElliott {
            p: 0.01,
            r: 0.3,
            loss_bad: 1.0,
            loss_good: 0.0,
        };
        let bernoulli = LossModel::Bernoulli {
            p: ge.mean_loss_rate(),
        };
        let (ge_losses, b_losses) = (run(&ge, 11), run(&bernoulli, 11));
        assert!((rate(&ge_losses) - rate(&b_losses)).abs() < 0.005);
        let (ge_burst, b_burst) = (mean_burst(&ge_losses), mean_burst(&b_losses));
        assert!((ge_burst - 1.0 / 0.3).abs() < 0.2, "GE burst {ge_burst}");
        assert!(b_burst < 1.1, "Bernoulli burst {b_burst}");
    }

    #[test]
    fn gilbert_elliott_without_transitions_stays_good() {
        let model = LossModel::GilbertElliott {
            p: 0.0,
            r: 0.0,
            loss_bad: 1.0,
            loss_good: 0.0,
        };
        assert_eq!(model.mean_loss_rate(), 0.0);
        assert_eq!(rate(&run(&model, 3)), 0.0);
    }
}
