//! Accurate ECN (RFC 9768) end to end: four bulk flows between AccECN stacks
//! through a CoDel bottleneck that marks instead of dropping. The receivers must
//! count exactly the CE marks the queue made, the senders must learn them through
//! the 3-bit ACE field, and the link must stay as busy as with classic ECN.

mod common;

use common::*;
use layer4::time::Duration;
use layer4_sim::link::LinkConfig;
use layer4_sim::metrics::RunMetrics;
use layer4_sim::queue::{CodelConfig, FqCodelConfig, QueueConfig};
use layer4_sim::scenario::{AppSpec, Flow, IpVersion, Scenario, Topology};
use layer4_sim::Simulation;

const RATE: u64 = 10_000_000;
const DELAY_MS: u64 = 20;
const PAIRS: usize = 4;
/// The flows send for this long; the run lasts `TAIL_SECS` more, so that the
/// send buffers drain and nothing is in flight at its end.
const SEND_SECS: u64 = 20;
const TAIL_SECS: u64 = 3;

/// What the hosts' stacks counted in one run.
struct HostCounts {
    /// CE-marked segments the receivers counted (`r.cep` - 5, summed).
    ce_received: u64,
    /// CE marks the senders learnt from the ACE field (`s.cep` - 5, summed).
    ce_reported: u64,
    accecn_negotiated: u64,
    ecn_negotiated: u64,
    reactions: u64,
}

fn run(accecn: bool) -> (RunMetrics, HostCounts) {
    let codel = CodelConfig {
        ecn: true,
        ..CodelConfig::default()
    };
    run_with(accecn, QueueConfig::Codel(codel), TAIL_SECS)
}

/// A run over `queue`, lasting `tail_secs` past the end of sending.
fn run_with(accecn: bool, queue: QueueConfig, tail_secs: u64) -> (RunMetrics, HostCounts) {
    let flows: Vec<Flow> = (0..PAIRS)
        .map(|i| Flow {
            ecn: !accecn,
            accecn,
            app: AppSpec::Bulk {
                bytes: None,
                duration: Some(Duration::from_secs(SEND_SECS)),
            },
            ..bulk(
                &format!("f{i}"),
                &format!("left{i}"),
                &format!("right{i}"),
                0,
            )
        })
        .collect();
    let s = Scenario {
        topology: Topology::Dumbbell {
            pairs: PAIRS,
            bottleneck: LinkConfig {
                queue,
                ..link(RATE, DELAY_MS)
            },
            bottleneck_reverse: link(RATE, DELAY_MS),
            access: link(1_000_000_000, 1),
            ip: IpVersion::V4,
        },
        captures: vec![],
        ..dumbbell(
            link(RATE, DELAY_MS),
            IpVersion::V4,
            flows,
            SEND_SECS + tail_secs,
        )
    };
    let mut sim = Simulation::new(&s).unwrap();
    let m = sim.run(&mut |_| {});
    let mut c = HostCounts {
        ce_received: 0,
        ce_reported: 0,
        accecn_negotiated: 0,
        ecn_negotiated: 0,
        reactions: 0,
    };
    for i in 0..PAIRS {
        let rx = sim.network().stack(&format!("right{i}")).unwrap().stats();
        let tx = sim.network().stack(&format!("left{i}")).unwrap().stats();
        c.ce_received += rx.tcp.ecn_ce_received;
        c.ce_reported += tx.tcp.accecn_ce_delivered;
        c.accecn_negotiated += rx.tcp.accecn_negotiated + tx.tcp.accecn_negotiated;
        c.ecn_negotiated += rx.tcp.ecn_negotiated + tx.tcp.ecn_negotiated;
        c.reactions += tx.tcp.ecn_reactions;
    }
    (m, c)
}

#[test]
fn accecn_counts_every_ce_mark_end_to_end_and_keeps_the_link_as_busy_as_classic_ecn() {
    let (m, acc) = run(true);
    let b = m.links.iter().find(|l| l.name == "bottleneck").unwrap();
    let (classic_m, classic) = run(false);
    let cb = classic_m
        .links
        .iter()
        .find(|l| l.name == "bottleneck")
        .unwrap();
    eprintln!(
        "accecn: ce marks {}, receivers counted {}, senders learnt {}, reactions {}, utilization {:.3}, aqm drops {}; \
         classic: ce marks {}, reactions {}, utilization {:.3}, aqm drops {}",
        b.ce_marks,
        acc.ce_received,
        acc.ce_reported,
        acc.reactions,
        b.utilization,
        b.drops.aqm,
        cb.ce_marks,
        classic.reactions,
        cb.utilization,
        cb.drops.aqm,
    );
    assert_eq!(acc.accecn_negotiated, 2 * PAIRS as u64, "every host");
    assert_eq!(acc.ecn_negotiated, 2 * PAIRS as u64);
    assert_eq!(classic.accecn_negotiated, 0);
    assert!(b.ce_marks > 50, "CoDel marked ECT packets CE");
    // Every mark the queue made reached a receiver and was counted (nothing is
    // in flight at the end, and marked packets are never dropped afterwards).
    assert_eq!(acc.ce_received, b.ce_marks);
    // The senders learnt them all through the 3-bit field; the safety rule may
    // count a few more where an ACK covered 7 or more packets, never fewer.
    assert!(acc.ce_reported >= acc.ce_received);
    assert!(
        acc.ce_reported <= acc.ce_received + acc.ce_received / 20,
        "{} reported for {} marks",
        acc.ce_reported,
        acc.ce_received
    );
    // The response is RFC 3168's, once per round trip: the link stays as busy.
    assert!(acc.reactions > 0);
    // The link idles for the last 3 s of the run.
    let busy_share = SEND_SECS as f64 / (SEND_SECS + TAIL_SECS) as f64;
    assert!(
        b.utilization >= 0.9 * busy_share,
        "utilization {}",
        b.utilization
    );
    assert!(
        b.utilization >= cb.utilization - 0.03,
        "accecn {} against classic {}",
        b.utilization,
        cb.utilization
    );
    assert_eq!(b.drops.overflow, 0);
}

#[test]
fn accecn_counts_dense_step_marking_exactly_through_the_3_bit_field() {
    // FQ-CoDel marking every packet that waited over 1 ms: runs of consecutive
    // marks, so the ACE field wraps many times between reductions.
    let fq = FqCodelConfig {
        ecn: true,
        ce_threshold: Some(Duration::from_millis(1)),
        ..FqCodelConfig::default()
    };
    // The senders' windows stay small: a long tail lets their buffers drain.
    let (m, acc) = run_with(true, QueueConfig::FqCodel(fq), 15);
    let b = m.links.iter().find(|l| l.name == "bottleneck").unwrap();
    let (cm, _) = run_with(false, QueueConfig::FqCodel(fq), 15);
    let cb = cm.links.iter().find(|l| l.name == "bottleneck").unwrap();
    eprintln!(
        "accecn, step marking: ce marks {}, receivers counted {}, senders learnt {}, utilization {:.3}; classic: utilization {:.3}",
        b.ce_marks, acc.ce_received, acc.ce_reported, b.utilization, cb.utilization
    );
    // A window-based controller answers AccECN as RFC 3168 (once per round
    // trip), so it fares as with classic ECN under this harsh marking.
    assert!(
        (b.utilization - cb.utilization).abs() <= 0.03,
        "accecn {} against classic {}",
        b.utilization,
        cb.utilization
    );
    assert!(b.ce_marks > 1000, "{} marks", b.ce_marks);
    assert_eq!(acc.ce_received, b.ce_marks);
    assert!(acc.ce_reported >= acc.ce_received);
    assert!(
        acc.ce_reported <= acc.ce_received + acc.ce_received / 20,
        "{} reported for {} marks",
        acc.ce_reported,
        acc.ce_received
    );
}
