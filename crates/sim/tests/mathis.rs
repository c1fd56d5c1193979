//! Theory: a NewReno bulk flow under random loss `p` moves data at the rate of the
//! Mathis formula, (MSS / RTT) · C / √p with C = √(3/2) ≈ 1.22 (Mathis, Semke,
//! Mahdavi, Ott, "The Macroscopic Behavior of the TCP Congestion Avoidance
//! Algorithm", CCR 1997), within ±30 %.
//!
//! The conditions the formula assumes: one bulk flow, a fixed RTT (100 ms), a
//! bottleneck far faster than the predicted rate (100 Mbit/s against 1–2 Mbit/s, and
//! a deep buffer, so neither the link nor the queue ever limits the flow: loss alone
//! does), Bernoulli loss on the data direction only (ACKs are never lost), and a
//! long run with hundreds of loss events. The window grows by one MSS per RTT in
//! congestion avoidance whatever the ACK ratio (the stack counts bytes), so C keeps
//! its no-delayed-ACK value.

mod common;

use common::*;
use layer4::time::{Duration, Instant};
use layer4_sim::link::{LinkConfig, LossModel};
use layer4_sim::network::Direction;
use layer4_sim::queue::{Limit, QueueConfig};
use layer4_sim::scenario::{AppSpec, IpVersion, Topology};
use layer4_sim::Simulation;

/// The base round-trip time: 48 ms each way on the bottleneck and 1 ms on each of
/// the two access links on either side.
const RTT: Duration = Duration::from_millis(100);
const BOTTLENECK_BPS: u64 = 100_000_000;
/// Losses are counted from this long before the measured stretch (see `run`).
const LOSS_LEAD: Duration = Duration::from_millis(250);
/// Goodput is measured from here on (slow start and the first losses are over).
const WARMUP: Duration = Duration::from_secs(10);
/// The measured stretch: ≥ 200 loss events even at p = 0.5 % (about 0.9 a second).
const MEASURE: Duration = Duration::from_secs(300);
/// How often the sender's `tcp_info` is read to count retransmission timeouts.
const STEP: Duration = Duration::from_millis(10);

/// √(3/2).
const C: f64 = 1.224_744_871;

struct Outcome {
    mss: u32,
    predicted_bps: f64,
    measured_bps: f64,
    losses: u64,
    retransmits: u64,
    /// Retransmissions RACK found lost again (and resent again) in the stretch.
    lost_retransmits: u32,
    timeouts: u32,
    srtt_mean_ms: f64,
}

fn run(p: f64, seed: u64) -> Outcome {
    let data = LinkConfig {
        loss: LossModel::Bernoulli { p },
        queue: QueueConfig::DropTail(Limit::Packets(10_000)),
        ..link(BOTTLENECK_BPS, 48)
    };
    let acks = LinkConfig {
        queue: QueueConfig::DropTail(Limit::Packets(10_000)),
        ..link(BOTTLENECK_BPS, 48)
    };
    let flow = layer4_sim::scenario::Flow {
        app: AppSpec::Bulk {
            bytes: None,
            duration: None,
        },
        ..bulk("f", "left0", "right0", 0)
    };
    let mut s = dumbbell(data.clone(), IpVersion::V4, vec![flow], 0);
    s.topology = Topology::Dumbbell {
        pairs: 1,
        bottleneck: data,
        bottleneck_reverse: acks,
        access: link(1_000_000_000, 1),
        ip: IpVersion::V4,
    };
    s.captures.clear();
    s.seed = seed;
    let mut sim = Simulation::new(&s).unwrap();

    let start = Instant::ZERO + WARMUP;
    let end = start + MEASURE;
    // A packet lost just before the measured stretch is resent inside it (RACK
    // notices a loss about a round trip and a quarter after it): the losses are
    // counted from a little earlier, so that every retransmission counted has
    // its loss counted.
    sim.network_mut().run_until(Instant::from_nanos(
        start.as_nanos() - LOSS_LEAD.as_nanos() as u64,
    ));
    let drops_before = sim
        .network()
        .link("bottleneck", Direction::Forward)
        .unwrap()
        .stats()
        .drops;
    sim.network_mut().run_until(start);
    let (client, server) = sim.flow_stats("f").unwrap();
    let handle = client
        .data_socket
        .expect("connected by the end of the warm-up");
    let info = |sim: &Simulation, now: Instant| {
        sim.network()
            .stack("left0")
            .unwrap()
            .tcp_info(now, handle)
            .unwrap()
    };
    let link_losses = |sim: &Simulation| {
        sim.network()
            .link("bottleneck", Direction::Forward)
            .unwrap()
            .stats()
            .drops
    };
    let before = info(&sim, start);
    let delivered_before = server.bytes_received;

    let (mut timeouts, mut in_rto) = (0u32, false);
    let (mut srtt_sum, mut srtt_n) = (0.0, 0u32);
    let mut now = start;
    while now < end {
        now += STEP;
        sim.network_mut().run_until(now);
        let i = info(&sim, now);
        // `retransmits` counts consecutive timeouts now: a rising edge is an RTO
        // (the state lasts at least a round trip, far longer than a step).
        if i.retransmits > 0 && !in_rto {
            timeouts += 1;
        }
        in_rto = i.retransmits > 0;
        if let Some(rtt) = i.rtt {
            srtt_sum += rtt.as_secs_f64();
            srtt_n += 1;
        }
    }
    let after = info(&sim, end);
    let drops_after = link_losses(&sim);
    let delivered = sim.flow_stats("f").unwrap().1.bytes_received - delivered_before;
    // Only the loss model drops on this path.
    assert_eq!(drops_after.total() - drops_after.loss, 0, "{drops_after:?}");

    // The payload bytes per segment: what the stack reports, checked against what
    // it actually sent (all data segments are full-sized in a bulk transfer).
    let mss = u32::from(after.snd_mss);
    // (`bytes_sent` and `data_segs_out` both count retransmissions, as in Linux.)
    let sent = after.bytes_sent - before.bytes_sent;
    let segs = after.data_segs_out - before.data_segs_out;
    let per_segment = sent as f64 / segs as f64;
    assert!(
        (per_segment - f64::from(mss)).abs() < 1.0,
        "snd_mss {mss} but {per_segment:.1} bytes per data segment"
    );
    Outcome {
        mss,
        predicted_bps: f64::from(mss) * 8.0 / RTT.as_secs_f64() * C / p.sqrt(),
        measured_bps: delivered as f64 * 8.0 / MEASURE.as_secs_f64(),
        losses: drops_after.loss - drops_before.loss,
        retransmits: after.total_retrans - before.total_retrans,
        lost_retransmits: after.loss.lost_retransmits - before.loss.lost_retransmits,
        timeouts,
        srtt_mean_ms: srtt_sum / f64::from(srtt_n.max(1)) * 1e3,
    }
}

fn check(p: f64) {
    let o = run(p, 1);
    let ratio = o.measured_bps / o.predicted_bps;
    eprintln!(
        "p = {:.1} %: mss {} B, predicted {:.3} Mbit/s, measured {:.3} Mbit/s, ratio {:.2}, \
         loss events {} (retransmitted {}, RTOs {}, lost retransmissions {}), mean srtt {:.1} ms",
        p * 100.0,
        o.mss,
        o.predicted_bps / 1e6,
        o.measured_bps / 1e6,
        ratio,
        o.losses,
        o.retransmits,
        o.timeouts,
        o.lost_retransmits,
        o.srtt_mean_ms
    );
    assert!(
        o.losses >= 200,
        "only {} loss events: too few to compare",
        o.losses
    );
    // Every retransmission resends a lost packet, or is part of the go-back-N
    // after a timeout (at most a window, under 20 segments here): no spurious
    // ones, such as a NewReno that mistakes a full ACK for a partial one. A
    // retransmission lost in its turn is now found by RACK and resent once
    // more instead of costing a timeout (and its slack): one more allowed per
    // lost retransmission counted. (With it, seed 1 shows one retransmission
    // more than losses at p = 1 % and 2 %; the lost retransmissions logged
    // looked real: a segment sent after each was delivered a full RACK.rtt
    // later. Not explained yet.)
    assert!(
        o.retransmits <= o.losses + 20 * u64::from(o.timeouts) + u64::from(o.lost_retransmits),
        "{} retransmissions for {} losses, {} RTOs, {} lost retransmissions",
        o.retransmits,
        o.losses,
        o.timeouts,
        o.lost_retransmits
    );
    assert!(
        o.predicted_bps < BOTTLENECK_BPS as f64 / 20.0,
        "the link must not be the limit"
    );
    assert!(
        (0.7..=1.3).contains(&ratio),
        "p = {p}: measured {:.3} Mbit/s is {:.2} × Mathis's {:.3} Mbit/s \
         ({} losses, {} RTOs)",
        o.measured_bps / 1e6,
        ratio,
        o.predicted_bps / 1e6,
        o.losses,
        o.timeouts
    );
}

#[test]
fn newreno_throughput_at_half_percent_loss_is_within_30_percent_of_mathis() {
    check(0.005);
}

#[test]
fn newreno_throughput_at_one_percent_loss_is_within_30_percent_of_mathis() {
    check(0.01);
}

#[test]
fn newreno_throughput_at_two_percent_loss_is_within_30_percent_of_mathis() {
    check(0.02);
}
