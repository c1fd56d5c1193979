//! What packets actually see through one [`Link`]: the loss rate of a Bernoulli
//! model measured against its binomial confidence bound, and arrival times that
//! follow first-bit / last-bit arithmetic for mixed sizes, idle gaps and bursts.
//!
//! `src/link/tests.rs` already checks one packet (serialization + delay) and two
//! back-to-back packets; `src/link/loss.rs` checks the loss *process* on its own.
//! These drive the whole link through its public API.

use layer4::rand::StackRng;
use layer4::time::{Duration, Instant};
use layer4_sim::link::{Link, LinkConfig, LossModel};
use layer4_sim::queue::{Limit, QueueConfig};
use layer4_sim::Packet;

fn pkt(len: usize, uid: u64) -> Packet {
    let mut data = vec![0x45; len];
    data[1..].iter_mut().for_each(|b| *b = uid as u8);
    Packet::new(data, uid)
}

/// Delivers everything due by `until`, with arrival times.
fn drain(link: &mut Link, until: Instant, out: &mut Vec<(Instant, Packet)>) {
    while let Some(t) = link.poll_timeout() {
        if t > until {
            break;
        }
        while let Some(p) = link.poll_deliver(t) {
            out.push((t, p));
        }
    }
}

/// Offers each packet at its time and returns every arrival.
fn run(link: &mut Link, input: Vec<(Instant, Packet)>) -> Vec<(Instant, Packet)> {
    let mut out = Vec::new();
    for (t, p) in input {
        drain(link, t, &mut out);
        link.handle_packet(t, p);
    }
    drain(link, Instant::from_nanos(u64::MAX), &mut out);
    out
}

/// Offers `n` packets, one every 100 µs, to a link losing each with probability
/// `p`, and returns (delivered, lost by the model).
fn bernoulli_run(p: f64, n: u64, seed: u64) -> (u64, u64) {
    let config = LinkConfig {
        loss: LossModel::Bernoulli { p },
        ..LinkConfig::default()
    };
    let mut link = Link::new(config, StackRng::from_seed(seed));
    let input = (0..n)
        .map(|i| (Instant::ZERO + Duration::from_micros(100 * i), pkt(100, i)))
        .collect();
    let out = run(&mut link, input);
    let stats = link.stats();
    assert_eq!(stats.packets_in, n);
    assert_eq!(stats.packets_delivered, out.len() as u64);
    assert_eq!(
        stats.drops.total(),
        stats.drops.loss,
        "only the loss model drops"
    );
    (out.len() as u64, stats.drops.loss)
}

#[test]
fn bernoulli_one_percent_loss_rate_lies_within_four_standard_errors() {
    // The number lost is Binomial(n, p): its rate has standard error
    // sqrt(p(1-p)/n) = 3.1e-4 for p = 1 %, n = 100 000. A correct model lands
    // within 4 σ (1.3e-3, i.e. 0.87 %..1.13 %) except with probability 6e-5 per
    // seed; a model off by 15 % of p (0.85 % or 1.15 %) falls outside.
    let (p, n) = (0.01, 100_000u64);
    let sigma = (p * (1.0 - p) / n as f64).sqrt();
    for seed in [1, 2, 3, 4, 5] {
        let (delivered, lost) = bernoulli_run(p, n, seed);
        assert_eq!(delivered + lost, n, "every packet delivered or lost");
        let rate = lost as f64 / n as f64;
        let z = (rate - p) / sigma;
        eprintln!("seed {seed}: lost {lost} of {n} = {rate:.5} (z = {z:+.2})");
        assert!(
            z.abs() <= 4.0,
            "seed {seed}: loss rate {rate} is {z:.1} σ from {p} (σ = {sigma:.2e})"
        );
    }
}

#[test]
fn bernoulli_losses_are_independent_of_the_previous_packet() {
    // Bernoulli: P(lost | previous lost) = p. With ~1 000 losses the conditional
    // count is Binomial(1 000, 0.01), mean 10 and σ ≈ 3.2; a bursty model (say a
    // mean burst of 2) would give ~500.
    let (p, n) = (0.01, 100_000u64);
    let config = LinkConfig {
        loss: LossModel::Bernoulli { p },
        ..LinkConfig::default()
    };
    let mut link = Link::new(config, StackRng::from_seed(9));
    let input = (0..n)
        .map(|i| (Instant::ZERO + Duration::from_micros(100 * i), pkt(100, i)))
        .collect();
    let out = run(&mut link, input);
    let mut delivered = vec![false; n as usize];
    for (_, packet) in &out {
        delivered[packet.uid as usize] = true;
    }
    let lost: Vec<bool> = delivered.iter().map(|d| !d).collect();
    let losses = lost.iter().filter(|&&l| l).count() as f64;
    let after_loss = lost.windows(2).filter(|w| w[0] && w[1]).count() as f64;
    let mean = losses * p;
    let sigma = (losses * p * (1.0 - p)).sqrt();
    eprintln!(
        "{losses} losses, {after_loss} right after another (expected {mean:.1} ± {sigma:.1})"
    );
    assert!(
        (after_loss - mean).abs() <= 4.0 * sigma + 1.0,
        "{after_loss} losses follow a loss; Bernoulli expects {mean:.1} ± {sigma:.1}"
    );
}

#[test]
fn arrivals_follow_first_bit_last_bit_arithmetic_for_mixed_sizes_and_gaps() {
    // 10 Mbit/s: a byte takes 800 ns; 7 ms propagation. A packet's first bit leaves
    // when it is offered or when the previous last bit left, whichever is later;
    // its last bit leaves len·8/rate later (rounded up to the nanosecond); it
    // arrives `delay` after its last bit.
    let rate: u64 = 10_000_000;
    let delay = Duration::from_millis(7);
    let config = LinkConfig {
        rate_bps: Some(rate),
        delay,
        queue: QueueConfig::DropTail(Limit::Packets(10_000)),
        ..LinkConfig::default()
    };
    let mut link = Link::new(config, StackRng::from_seed(1));
    // Bursts of mixed sizes with idle gaps between them, and a few packets that
    // arrive while the transmitter is busy but the queue is empty.
    let sizes = [1500usize, 40, 576, 1500, 1, 1337, 20, 999];
    let mut input = Vec::new();
    let mut t = 0u64; // ns
    for i in 0..400u64 {
        let len = sizes[(i as usize * 7 + i as usize / 3) % sizes.len()];
        input.push((Instant::from_nanos(t), pkt(len, i)));
        t += match i % 10 {
            0..=5 => 0,      // back to back: queue builds
            6 => 300_000,    // 300 µs: mid-transmission of the burst's tail
            7 => 1_234_567,  // an odd gap
            _ => 25_000_000, // long idle: link drains
        };
    }
    // The reference model.
    let mut expected = Vec::new();
    let mut busy_until = 0u64;
    let mut busy = 0u64;
    for (at, p) in &input {
        let first_bit = at.as_nanos().max(busy_until);
        let bits = p.len() as u128 * 8;
        let tx = (bits * 1_000_000_000).div_ceil(u128::from(rate)) as u64;
        let last_bit = first_bit + tx;
        busy_until = last_bit;
        busy += tx;
        expected.push((last_bit + delay.as_nanos() as u64, p.uid));
    }
    let out = run(&mut link, input.clone());
    let got: Vec<(u64, u64)> = out.iter().map(|(t, p)| (t.as_nanos(), p.uid)).collect();
    assert_eq!(got.len(), expected.len(), "nothing lost");
    for (g, e) in got.iter().zip(&expected) {
        assert_eq!(
            g, e,
            "packet {} arrives at first bit + len·8/rate + delay",
            e.1
        );
    }
    // The intact bytes, in order.
    for ((_, a), (_, b)) in out.iter().zip(&input) {
        assert!(a.data == b.data, "packet {} changed on the way", a.uid);
    }
    let stats = link.stats();
    assert_eq!(
        stats.busy,
        Duration::from_nanos(busy),
        "busy = Σ len·8/rate"
    );
    // Sojourn: the first packet of each burst waits nothing.
    assert_eq!(link.sojourn().min(), Some(Duration::ZERO));
}

#[test]
fn saturated_link_delivers_bytes_at_exactly_its_rate() {
    // 5 000 packets of 1 250 bytes offered at once to a 100 Mbit/s link: 100 µs
    // each, so the last arrives at 5000 × 100 µs + delay and every gap is 100 µs.
    let config = LinkConfig {
        rate_bps: Some(100_000_000),
        delay: Duration::from_millis(30),
        queue: QueueConfig::DropTail(Limit::Packets(10_000)),
        ..LinkConfig::default()
    };
    let mut link = Link::new(config, StackRng::from_seed(1));
    let input = (0..5000).map(|i| (Instant::ZERO, pkt(1250, i))).collect();
    let out = run(&mut link, input);
    assert_eq!(out.len(), 5000);
    let first = out[0].0;
    let last = out[4999].0;
    assert_eq!(
        first,
        Instant::ZERO + Duration::from_micros(100) + Duration::from_millis(30)
    );
    assert_eq!(
        last,
        Instant::ZERO + Duration::from_micros(500_000 + 30_000)
    );
    assert!(out
        .windows(2)
        .all(|w| w[1].0 - w[0].0 == Duration::from_micros(100)));
    // Throughput over the spacing of the arrivals: (n-1) packets in (last-first).
    let bps = 4999.0 * 1250.0 * 8.0 / (last - first).as_secs_f64();
    assert!((bps - 1e8).abs() < 1.0, "{bps}");
    // The last packet waited in the queue for the 4 999 ahead of it: 499.9 ms (the
    // histogram's buckets are at most 1/128 wide).
    let max = link.sojourn().max().unwrap().as_secs_f64();
    assert!((max - 0.4999).abs() <= 0.4999 / 128.0, "{max}");
}
