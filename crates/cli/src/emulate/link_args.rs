//! The link and queue options of `l4 emulate`, and the simulator's [`LinkConfig`]
//! made from them. Values are written as in scenario files (the parsers of
//! `layer4_sim::scenario::units`): `20mbit`, `25ms`, `1%`, `1000p`.
//!
//! The options apply to both directions; `--to-right "OPTIONS"` and
//! `--to-left "OPTIONS"` hold options for one direction only, which replace the
//! shared ones (flags can only be turned on there).

use std::path::PathBuf;

use clap::Parser;
use layer4::time::Duration;
use layer4_sim::link::{LinkConfig, LossModel, Reorder, Trace};
use layer4_sim::scenario::queue::{CodelParams, FqCodelParams, QueueSpec, RedParams};
use layer4_sim::scenario::units::{
    check_probability, parse_duration_ns, parse_limit, parse_percent, parse_rate, LimitValue,
};

/// One direction's link: rate or trace, delay and impairments, the queue.
#[derive(Debug, Clone, Default, clap::Args)]
pub struct LinkArgs {
    /// Transmission rate (`20mbit`, `1gbit`; default unlimited).
    #[arg(long, value_name = "RATE")]
    rate: Option<String>,
    /// One-way propagation delay of each direction (`25ms`; RTT is twice this).
    #[arg(long, value_name = "DURATION")]
    delay: Option<String>,
    /// Jitter added to the delay, uniform in 0..=DURATION.
    #[arg(long, value_name = "DURATION")]
    jitter: Option<String>,
    /// Let jitter reorder packets (netem's default; here off: jitter keeps order).
    #[arg(long)]
    jitter_reorders: bool,
    /// Independent (Bernoulli) loss per packet (`1%` or `0.01`).
    #[arg(long, value_name = "P")]
    loss: Option<String>,
    /// Gilbert–Elliott loss, netem's `loss gemodel p r 1-h 1-k`: `P,R[,1-H[,1-K]]`
    /// (`1%,30%,50%,0%`; defaults R = 1-P, 1-H = 100%, 1-K = 0%).
    #[arg(long, value_name = "P,R[,1-H[,1-K]]", conflicts_with = "loss")]
    gilbert: Option<String>,
    /// Probability that a packet is duplicated.
    #[arg(long, value_name = "P")]
    dup: Option<String>,
    /// Probability that a packet has one bit flipped.
    #[arg(long, value_name = "P")]
    corrupt: Option<String>,
    /// netem-style reordering: `P[,GAP]`, a packet skips the delay with probability
    /// P (every GAP-th packet is eligible; default 1). Needs a delay or jitter.
    #[arg(long, value_name = "P[,GAP]")]
    reorder: Option<String>,
    /// A Mahimahi trace (one millisecond timestamp per 1500-byte delivery
    /// opportunity) instead of a rate.
    #[arg(long, value_name = "FILE", conflicts_with = "rate")]
    trace: Option<PathBuf>,
    /// The largest packet carried (also the TUNs' MTU; default 1500).
    #[arg(long, value_name = "BYTES")]
    mtu: Option<u16>,
    /// Drop every ICMP packet (a PMTU black hole).
    #[arg(long)]
    drop_icmp: bool,
    /// The queue: droptail (default), red, codel, fq_codel.
    #[arg(long, value_name = "KIND")]
    queue: Option<String>,
    /// The queue's limit: droptail `1000p` or bytes (`150KB`); codel and fq_codel
    /// packets; red bytes. A plain number is packets (red: bytes).
    #[arg(long, value_name = "LIMIT")]
    limit: Option<String>,
    /// Mark ECN-capable packets CE instead of dropping them (red, codel; fq_codel
    /// marks by default).
    #[arg(long)]
    ecn: bool,
    /// CoDel / FQ-CoDel target sojourn time (default 5ms).
    #[arg(long, value_name = "DURATION")]
    target: Option<String>,
    /// CoDel / FQ-CoDel interval (default 100ms).
    #[arg(long, value_name = "DURATION")]
    interval: Option<String>,
}

/// The options of one direction, as given to `--to-right` / `--to-left`.
#[derive(Debug, Parser)]
#[command(name = "--to-right/--to-left", no_binary_name = true)]
struct DirectionOnly {
    #[command(flatten)]
    link: LinkArgs,
}

impl LinkArgs {
    /// `self` with the options given in `words` (`"--delay 40ms --loss 2%"`)
    /// replacing its own.
    pub fn overridden_by(&self, words: &str) -> Result<LinkArgs, String> {
        let parsed = DirectionOnly::try_parse_from(words.split_whitespace())
            .map_err(|e| e.to_string().lines().next().unwrap_or_default().to_string())?;
        let o = parsed.link;
        let b = self.clone();
        Ok(LinkArgs {
            rate: o.rate.or(b.rate),
            delay: o.delay.or(b.delay),
            jitter: o.jitter.or(b.jitter),
            jitter_reorders: o.jitter_reorders || b.jitter_reorders,
            // A loss model given for one direction replaces the shared one, whichever it is.
            loss: if o.gilbert.is_some() {
                None
            } else {
                o.loss.clone().or(b.loss)
            },
            gilbert: if o.loss.is_some() {
                None
            } else {
                o.gilbert.or(b.gilbert)
            },
            dup: o.dup.or(b.dup),
            corrupt: o.corrupt.or(b.corrupt),
            reorder: o.reorder.or(b.reorder),
            trace: o.trace.or(b.trace),
            mtu: o.mtu.or(b.mtu),
            drop_icmp: o.drop_icmp || b.drop_icmp,
            queue: o.queue.or(b.queue),
            limit: o.limit.or(b.limit),
            ecn: o.ecn || b.ecn,
            target: o.target.or(b.target),
            interval: o.interval.or(b.interval),
        })
    }

    /// The link these options describe, validated.
    pub fn to_config(&self) -> Result<LinkConfig, String> {
        let mut c = LinkConfig::default();
        if let Some(r) = &self.rate {
            c.rate_bps = parse_rate(r).map_err(|e| format!("--rate: {e}"))?;
        }
        if let Some(d) = &self.delay {
            c.delay = duration("--delay", d)?;
        }
        if let Some(j) = &self.jitter {
            c.jitter = duration("--jitter", j)?;
        }
        c.jitter_reorders = self.jitter_reorders;
        if let Some(p) = &self.loss {
            c.loss = LossModel::Bernoulli {
                p: probability("--loss", p)?,
            };
        }
        if let Some(g) = &self.gilbert {
            c.loss = gilbert(g)?;
        }
        if let Some(p) = &self.dup {
            c.duplicate = probability("--dup", p)?;
        }
        if let Some(p) = &self.corrupt {
            c.corrupt = probability("--corrupt", p)?;
        }
        if let Some(r) = &self.reorder {
            c.reorder = Some(reorder(r)?);
        }
        if let Some(path) = &self.trace {
            let text = std::fs::read_to_string(path)
                .map_err(|e| format!("--trace {}: {e}", path.display()))?;
            let trace =
                Trace::parse(&text).map_err(|e| format!("--trace {}: {e}", path.display()))?;
            c.trace_ms = Some(trace.into_ms());
            c.rate_bps = None;
        }
        if let Some(mtu) = self.mtu {
            c.mtu = usize::from(mtu);
        }
        c.drop_icmp = self.drop_icmp;
        c.queue = self
            .queue_spec()?
            .to_config()
            .map_err(|e| format!("queue: {e}"))?;
        c.validate().map_err(|e| e.to_string())?;
        Ok(c)
    }

    fn queue_spec(&self) -> Result<QueueSpec, String> {
        let kind = self.queue.as_deref().unwrap_or("droptail");
        let codel_only = |what: &str, given: bool| {
            if given && !matches!(kind, "codel" | "fq_codel") {
                Err(format!("--{what} is for --queue codel or fq_codel"))
            } else {
                Ok(())
            }
        };
        codel_only("target", self.target.is_some())?;
        codel_only("interval", self.interval.is_some())?;
        let limit = self.limit.as_deref().map(limit).transpose()?;
        let packets = |l: Option<LimitValue>| match l {
            None => Ok(None),
            Some(LimitValue::Packets(n)) => Ok(Some(n)),
            Some(LimitValue::Bytes(_)) => Err(format!("--queue {kind}: --limit is in packets")),
        };
        let target = self
            .target
            .as_deref()
            .map(|t| duration("--target", t))
            .transpose()?;
        let interval = self
            .interval
            .as_deref()
            .map(|t| duration("--interval", t))
            .transpose()?;
        let ns = |d: Duration| d.as_nanos() as u64;
        match kind {
            "droptail" => {
                if self.ecn {
                    return Err("--ecn needs an AQM queue (red, codel, fq_codel)".into());
                }
                Ok(QueueSpec::DropTail {
                    limit: limit.unwrap_or(LimitValue::Packets(1000)),
                })
            }
            "red" => {
                let mut p = RedParams {
                    ecn: self.ecn,
                    ..RedParams::default()
                };
                match limit {
                    None => {}
                    // A plain number is bytes for RED, whose thresholds are bytes.
                    Some(LimitValue::Bytes(n) | LimitValue::Packets(n))
                        if self.limit.as_deref().is_some_and(|l| !l.ends_with('p')) =>
                    {
                        p.limit_bytes = n
                    }
                    Some(_) => return Err("--queue red: --limit is in bytes".into()),
                }
                Ok(QueueSpec::Red(p))
            }
            "codel" => {
                let mut p = CodelParams {
                    ecn: self.ecn,
                    ..CodelParams::default()
                };
                if let Some(n) = packets(limit)? {
                    p.limit_packets = n;
                }
                p.target_ns = target.map_or(p.target_ns, ns);
                p.interval_ns = interval.map_or(p.interval_ns, ns);
                Ok(QueueSpec::Codel(p))
            }
            "fq_codel" => {
                let mut p = FqCodelParams::default();
                p.ecn |= self.ecn;
                if let Some(n) = packets(limit)? {
                    p.limit_packets = n;
                }
                p.target_ns = target.map_or(p.target_ns, ns);
                p.interval_ns = interval.map_or(p.interval_ns, ns);
                Ok(QueueSpec::FqCodel(p))
            }
            other => Err(format!(
                "--queue {other:?}: unknown (known: droptail, red, codel, fq_codel)"
            )),
        }
    }
}

fn duration(what: &str, s: &str) -> Result<Duration, String> {
    parse_duration_ns(s)
        .map(Duration::from_nanos)
        .map_err(|e| format!("{what}: {e}"))
}

/// `"1%"` or a number in 0..=1.
fn probability(what: &str, s: &str) -> Result<f64, String> {
    let s = s.trim();
    let p = if s.ends_with('%') {
        parse_percent(s)
    } else {
        s.parse::<f64>()
            .map_err(|_| format!("expected a probability like \"1%\" or 0.01, not {s:?}"))
            .and_then(check_probability)
    };
    p.map_err(|e| format!("{what}: {e}"))
}

/// A limit; a plain number is a packet count.
fn limit(s: &str) -> Result<LimitValue, String> {
    match s.trim().parse::<u64>() {
        Ok(0) => Err("--limit: a queue limit must be more than 0".into()),
        Ok(n) => Ok(LimitValue::Packets(n)),
        Err(_) => match parse_limit(s) {
            Ok(LimitValue::Packets(0) | LimitValue::Bytes(0)) => {
                Err("--limit: a queue limit must be more than 0".into())
            }
            r => r.map_err(|e| format!("--limit: {e}")),
        },
    }
}

/// `P,R[,1-H[,1-K]]` with netem's defaults for the missing ones.
fn gilbert(s: &str) -> Result<LossModel, String> {
    let parts: Vec<&str> = s.split(',').collect();
    if parts.is_empty() || parts.len() > 4 {
        return Err(format!("--gilbert: expected P,R[,1-H[,1-K]], not {s:?}"));
    }
    let mut v = Vec::with_capacity(4);
    for part in &parts {
        v.push(probability("--gilbert", part)?);
    }
    let p = v.first().copied().unwrap_or(0.0);
    Ok(LossModel::GilbertElliott {
        p,
        r: v.get(1).copied().unwrap_or(1.0 - p),
        loss_bad: v.get(2).copied().unwrap_or(1.0),
        loss_good: v.get(3).copied().unwrap_or(0.0),
    })
}

/// `P[,GAP]`.
fn reorder(s: &str) -> Result<Reorder, String> {
    let (p, gap) = match s.split_once(',') {
        Some((p, gap)) => (
            p,
            gap.trim()
                .parse::<u32>()
                .ok()
                .filter(|g| *g >= 1)
                .ok_or_else(|| {
                    format!("--reorder: the gap must be a whole number >= 1, not {gap:?}")
                })?,
        ),
        None => (s, 1),
    };
    Ok(Reorder {
        probability: probability("--reorder", p)?,
        gap,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(words: &str) -> LinkArgs {
        LinkArgs::default().overridden_by(words).expect("parses")
    }

    #[test]
    fn units_are_read_as_in_scenario_files() {
        let c =
            args("--rate 20mbit --delay 25ms --jitter 2ms --loss 1% --dup 0.5% --corrupt 0.001")
                .to_config()
                .expect("valid");
        assert_eq!(c.rate_bps, Some(20_000_000));
        assert_eq!(c.delay, Duration::from_millis(25));
        assert_eq!(c.jitter, Duration::from_millis(2));
        assert_eq!(c.loss, LossModel::Bernoulli { p: 0.01 });
        assert_eq!(c.duplicate, 0.005);
        assert_eq!(c.corrupt, 0.001);
    }

    #[test]
    fn gilbert_takes_netems_defaults_for_missing_parameters() {
        let c = args("--gilbert 1%").to_config().expect("valid");
        assert_eq!(
            c.loss,
            LossModel::GilbertElliott {
                p: 0.01,
                r: 0.99,
                loss_bad: 1.0,
                loss_good: 0.0
            }
        );
    }

    #[test]
    fn a_direction_override_replaces_only_what_it_names() {
        let base = args("--delay 25ms --loss 1% --queue codel --ecn");
        let right = base
            .overridden_by("--delay 40ms --gilbert 1%,20%")
            .expect("parses");
        let c = right.to_config().expect("valid");
        assert_eq!(c.delay, Duration::from_millis(40));
        assert!(matches!(c.loss, LossModel::GilbertElliott { .. }));
        assert!(matches!(c.queue, layer4_sim::queue::QueueConfig::Codel(q) if q.ecn));
    }

    #[test]
    fn nonsense_is_refused_with_the_option_named() {
        for (words, needle) in [
            ("--loss 150%", "--loss"),
            ("--rate 10mbps", "--rate"),
            ("--delay fast", "--delay"),
            ("--reorder 5%", "reorder"),
            ("--reorder 5%,0 --delay 10ms", "gap"),
            ("--queue wfq", "--queue"),
            ("--ecn", "--ecn"),
            ("--limit 0", "--limit"),
            ("--queue codel --limit 150KB", "packets"),
            ("--target 5ms", "--target"),
            ("--gilbert 1%,2%,3%,4%,5%", "--gilbert"),
            ("--mtu 20", "mtu"),
        ] {
            let err = LinkArgs::default()
                .overridden_by(words)
                .and_then(|a| a.to_config())
                .expect_err(words);
            assert!(err.contains(needle), "{words}: {err}");
        }
    }

    #[test]
    fn a_plain_limit_is_packets_except_for_red() {
        let c = args("--limit 50").to_config().expect("valid");
        assert_eq!(
            c.queue,
            layer4_sim::queue::QueueConfig::DropTail(layer4_sim::queue::Limit::Packets(50))
        );
        let c = args("--queue red --limit 600000")
            .to_config()
            .expect("valid");
        assert!(
            matches!(c.queue, layer4_sim::queue::QueueConfig::Red(r) if r.limit_bytes == 600_000)
        );
    }
}
