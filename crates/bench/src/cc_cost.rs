//! What a congestion controller costs per acknowledgment: each built-in controller
//! (`layer4::cc`) driven directly, without a stack, by the same synthetic stream of
//! sends and ACKs, its CPU time divided by the ACKs.
//!
//! The stream is what a sender on a 100 Mbit/s, 50 ms path sees: one ACK per
//! 1448-byte segment, each with an RTT sample and a delivery-rate sample of the
//! path's rate (a little jitter on both, so that filters keep working), one send per
//! ACK, and a loss every `loss_every` ACKs (a congestion event, then the end of its
//! recovery a round trip later), so that the controllers also run their loss paths.
//! The samples are made before the clock starts; the timed loop only calls the
//! controller.

use std::hint::black_box;

use layer4::cc::{AckSample, CcAlgorithm, CcParams, CcRegistry, CongestionKind, RateSample};
use layer4::time::{Duration, Instant};

use crate::clock::Stopwatch;

/// One timed run of a controller.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct CcCost {
    /// ACKs processed.
    pub acks: u64,
    /// Wall time of the loop.
    pub wall: std::time::Duration,
    /// On-CPU time of the loop, if the platform reports it.
    pub cpu: Option<std::time::Duration>,
}

impl CcCost {
    /// Nanoseconds per ACK: CPU time when known (and not below the scheduler's
    /// accounting granularity, zero for a very short run), else wall time.
    pub fn ns_per_ack(&self) -> f64 {
        let t = self.cpu.filter(|c| !c.is_zero()).unwrap_or(self.wall);
        t.as_nanos() as f64 / self.acks.max(1) as f64
    }
}

/// The segment size of the stream.
const MSS: usize = 1448;
/// The path: 100 Mbit/s, 50 ms.
const RATE: u64 = 12_500_000;
const RTT_NS: u64 = 50_000_000;

/// One event of the stream.
#[derive(Debug, Clone, Copy)]
enum Step {
    Ack(AckSample),
    Loss,
    RecoveryEnd,
}

/// The synthetic stream of `acks` ACKs with a loss every `loss_every`.
fn stream(acks: u64, loss_every: u64) -> Vec<(Instant, Step)> {
    let mut out = Vec::with_capacity(acks as usize + 2 * (acks / loss_every.max(1)) as usize);
    let per_ack_ns = MSS as u64 * 1_000_000_000 / RATE;
    let bdp = RATE * RTT_NS / 1_000_000_000;
    let mut delivered = 0u64;
    let mut recovery_end = None;
    for i in 0..acks {
        let now = Instant::from_nanos(RTT_NS + i * per_ack_ns);
        // Deterministic jitter: ±2 % on the rate, 0..1 ms on the RTT.
        let jitter = (i.wrapping_mul(2_654_435_761) >> 7) % 41;
        let rtt = Duration::from_nanos(RTT_NS + jitter * 25_000);
        let interval = Duration::from_nanos(RTT_NS * (980 + jitter) / 1000);
        delivered += MSS as u64;
        let in_recovery = recovery_end.is_some();
        let rate = RateSample {
            prior_delivered: delivered.saturating_sub(bdp),
            delivered: bdp.min(delivered),
            interval: Some(interval),
            is_app_limited: false,
            rtt,
            newly_lost: 0,
            tx_in_flight: bdp,
            lost: 0,
        };
        let sample = AckSample {
            newly_acked: MSS,
            bytes_in_flight_before: bdp as usize,
            bytes_in_flight: bdp as usize - MSS,
            rtt: Some(rtt),
            srtt: Some(Duration::from_nanos(RTT_NS)),
            min_rtt: Some(Duration::from_nanos(RTT_NS)),
            rate: Some(rate),
            delivered,
            in_recovery,
            ece: false,
            ce_marked: 0,
        };
        out.push((now, Step::Ack(sample)));
        if loss_every > 0 && i % loss_every == loss_every - 1 {
            out.push((now, Step::Loss));
            recovery_end = Some(i + bdp / MSS as u64);
        }
        if recovery_end == Some(i) {
            out.push((now, Step::RecoveryEnd));
            recovery_end = None;
        }
    }
    out
}

/// Runs controller `name` over a stream of `acks` ACKs with a loss every
/// `loss_every` (0: none).
pub fn run(name: &str, acks: u64, loss_every: u64) -> Option<CcCost> {
    let registry = CcRegistry::new();
    let alg = CcAlgorithm::resolve(name, &registry).ok()?;
    let params = CcParams {
        mss: MSS,
        initial_window: 10,
        seed: 1,
    };
    let mut cc = alg.build(&registry, &params);
    let steps = stream(acks, loss_every);
    let bdp = (RATE * RTT_NS / 1_000_000_000) as usize;
    let watch = Stopwatch::start();
    for (now, step) in &steps {
        match step {
            Step::Ack(s) => {
                cc.on_ack(*now, s);
                cc.on_sent(*now, MSS, bdp - MSS);
            }
            Step::Loss => cc.on_congestion_event(*now, CongestionKind::Loss, bdp),
            Step::RecoveryEnd => cc.on_recovery_end(*now, bdp),
        }
        black_box(cc.window());
        black_box(cc.pacing_rate());
    }
    let (wall, cpu) = watch.stop();
    Some(CcCost { acks, wall, cpu })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_built_in_controller_runs_the_stream() {
        for name in ["newreno", "cubic", "bbr"] {
            let c = run(name, 10_000, 1000).unwrap();
            assert_eq!(c.acks, 10_000);
            assert!(c.ns_per_ack().is_finite() && !c.wall.is_zero());
        }
        assert!(run("vegas", 10, 0).is_none());
    }

    #[test]
    fn the_stream_has_its_losses_and_recoveries() {
        let s = stream(10_000, 1000);
        let losses = s.iter().filter(|(_, x)| matches!(x, Step::Loss)).count();
        let ends = s
            .iter()
            .filter(|(_, x)| matches!(x, Step::RecoveryEnd))
            .count();
        assert_eq!(losses, 10);
        assert!(ends >= 9);
    }
}
