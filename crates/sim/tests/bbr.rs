//! BBR (draft-ietf-ccwg-bbr, BBRv3) end to end, against the loss-based
//! controllers where the draft says it differs (section 1): under random loss it
//! keeps the link busy, and on a deep drop-tail buffer it keeps the queue short
//! where CUBIC fills it.
//!
//! Each test has an always-on version short enough for a debug build (CI runs
//! `cargo test` in debug) and, where a longer run says more, an `#[ignore]`d long
//! version (`cargo test --release -p layer4-sim --test bbr -- --ignored`).

mod common;

use common::*;
use layer4::time::{Duration, Instant};
use layer4_sim::link::{LinkConfig, LossModel};
use layer4_sim::metrics::{LinkMetrics, RunMetrics};
use layer4_sim::queue::{Limit, QueueConfig};
use layer4_sim::scenario::{AppSpec, IpVersion, Scenario, Topology};
use layer4_sim::Simulation;

const MBIT: u64 = 1_000_000;

/// A one-pair dumbbell: the bottleneck's data direction `rate` bit/s with `loss`
/// and `queue`, `one_way_ms` each way (plus 1 ms on each access link), clean ACKs;
/// one unlimited bulk flow of `cc` for `secs` seconds, with 8 MiB socket buffers so
/// that the window, not the buffers, limits it.
fn one_flow(
    cc: &str,
    rate: u64,
    one_way_ms: u64,
    loss: f64,
    queue: QueueConfig,
    secs: u64,
) -> Scenario {
    let data = LinkConfig {
        loss: if loss > 0.0 {
            LossModel::Bernoulli { p: loss }
        } else {
            LossModel::None
        },
        queue,
        ..link(rate, one_way_ms)
    };
    let acks = LinkConfig {
        queue: QueueConfig::DropTail(Limit::Packets(10_000)),
        ..link(rate, one_way_ms)
    };
    let mut flow = bulk("f", "left0", "right0", 0);
    flow.cc = cc.to_string();
    flow.app = AppSpec::Bulk {
        bytes: None,
        duration: None,
    };
    flow.send_buffer = Some(8 << 20);
    flow.recv_buffer = Some(8 << 20);
    let mut s = dumbbell(data.clone(), IpVersion::V4, vec![flow], secs);
    s.topology = Topology::Dumbbell {
        pairs: 1,
        bottleneck: data,
        bottleneck_reverse: acks,
        access: link(1_000_000_000, 1),
        ip: IpVersion::V4,
    };
    s.captures.clear();
    s
}

fn bottleneck(m: &RunMetrics) -> &LinkMetrics {
    m.links.iter().find(|l| l.name == "bottleneck").unwrap()
}

/// Prints the sender's `tcp_info` every 50 ms of a run of `s` (`BBR_TRACE=1`;
/// `BBR_SEED=n` reruns the loss tests with seed `n`).
fn trace(s: &Scenario) {
    let mut sim = Simulation::new(s).unwrap();
    let mut now = Instant::ZERO;
    while now < Instant::ZERO + s.duration {
        now += Duration::from_millis(50);
        sim.network_mut().run_until(now);
        let Some(h) = sim.flow_stats("f").unwrap().0.data_socket else {
            continue;
        };
        if let Ok(i) = sim.network().stack("left0").unwrap().tcp_info(now, h) {
            eprintln!("{now:?} {i}");
        }
    }
}

/// `cc` over 100 Mbit/s, 50 ms RTT, 1 % random loss on the data direction, for
/// `secs`; returns the goodput after the first 5 s, in bit/s.
fn under_one_percent_loss(cc: &str, secs: u64) -> f64 {
    // 23 ms each way plus 1 ms per access link: 50 ms RTT; a buffer of one BDP.
    let s = one_flow(
        cc,
        100 * MBIT,
        23,
        0.01,
        QueueConfig::DropTail(Limit::Bytes(625_000)),
        secs,
    );
    let mut s = s;
    if let Ok(seed) = std::env::var("BBR_SEED") {
        s.seed = seed.parse().unwrap();
    }
    if std::env::var("BBR_TRACE").is_ok() {
        trace(&s);
    }
    let mut sim = Simulation::new(&s).unwrap();
    let m = sim.run(&mut |_| {});
    let goodput = goodput_after(&m, 0, 5.0);
    let b = bottleneck(&m);
    eprintln!(
        "{cc}, 100 Mbit/s, 50 ms, 1 % loss, {secs} s: goodput {:.1} Mbit/s after 5 s \
         ({:.1} over the run), retransmits {}, losses {}, overflow {}",
        goodput / 1e6,
        m.flows[0].goodput_bps / 1e6,
        m.flows[0].retransmits,
        b.drops.loss,
        b.drops.overflow
    );
    let h = sim.flow_stats("f").unwrap().0.data_socket.unwrap();
    let end = Instant::ZERO + Duration::from_secs(secs);
    let info = sim
        .network()
        .stack("left0")
        .unwrap()
        .tcp_info(end, h)
        .unwrap();
    eprintln!("final tcp_info: {info}");
    eprintln!("loss counters: {:?}", info.loss);
    if cc == "bbr" {
        let model = info.cc_model.expect("BBR reports its model in tcp_info");
        // The long-term estimate never exceeds the bottleneck's 12.5 MB/s (by more
        // than a sampling error), and stays a good part of it.
        assert!(
            (5_000_000..=13_750_000).contains(&model.max_bandwidth),
            "{model:?}"
        );
        let min_rtt = model.min_rtt.unwrap();
        assert!(
            min_rtt >= Duration::from_millis(50) && min_rtt <= Duration::from_millis(55),
            "min_rtt {min_rtt:?}"
        );
    }
    goodput
}

/// Where loss-based control collapses (Mathis: about 2.8 Mbit/s for Reno at 1 %
/// and 50 ms), BBR, which does not read random loss as congestion below its 2 %
/// threshold, keeps a large share of the link.
#[test]
fn bbr_keeps_many_times_cubics_goodput_under_one_percent_random_loss() {
    let bbr = under_one_percent_loss("bbr", 15);
    let cubic = under_one_percent_loss("cubic", 15);
    assert!(
        bbr >= 5.0 * cubic,
        "bbr {:.1} Mbit/s, cubic {:.1} Mbit/s",
        bbr / 1e6,
        cubic / 1e6
    );
    // The target, 85 Mbit/s: seeds 1-8 give 88.5-90.7 Mbit/s over
    // 15 s (docs/benchmarks.md, session 5b).
    assert!(bbr >= 85e6, "bbr {:.1} Mbit/s", bbr / 1e6);
}

/// The target over a minute. Seeds 1-16 give 87.5-90.9 Mbit/s
/// (docs/benchmarks.md, session 5b).
#[test]
#[ignore = "long run (60 s of 100 Mbit/s): --release -- --ignored"]
fn bbr_keeps_85_mbit_of_100_under_one_percent_random_loss_for_a_minute() {
    let goodput = under_one_percent_loss("bbr", 60);
    assert!(goodput >= 85e6, "goodput {:.1} Mbit/s", goodput / 1e6);
}

/// BBR under 1 % loss over seeds `BBR_SEEDS` (default 1-8, e.g. `BBR_SEEDS=1-16`)
/// for `BBR_SECS` seconds (default 15): each seed's goodput after 5 s, and their
/// mean, min and max. A measurement, not a check.
#[test]
#[ignore = "measurement over seeds: --release -- --ignored --nocapture"]
fn bbr_goodput_under_one_percent_loss_across_seeds() {
    let secs = std::env::var("BBR_SECS").map_or(15, |s| s.parse().unwrap());
    let seeds = std::env::var("BBR_SEEDS").unwrap_or_else(|_| "1-8".into());
    let (a, b) = seeds.split_once('-').unwrap_or((&seeds, &seeds));
    let (a, b): (u64, u64) = (a.parse().unwrap(), b.parse().unwrap());
    let mut all = Vec::new();
    for seed in a..=b {
        std::env::set_var("BBR_SEED", seed.to_string());
        let g = under_one_percent_loss("bbr", secs) / 1e6;
        eprintln!("seed {seed}: {g:.1} Mbit/s");
        all.push(g);
    }
    std::env::remove_var("BBR_SEED");
    let mean = all.iter().sum::<f64>() / all.len() as f64;
    let min = all.iter().copied().fold(f64::INFINITY, f64::min);
    let max = all.iter().copied().fold(0.0, f64::max);
    eprintln!(
        "bbr, {secs} s, seeds {a}-{b}: mean {mean:.1} Mbit/s, min {min:.1}, max {max:.1}: {all:.1?}"
    );
}

/// `cc` alone on 20 Mbit/s, 40 ms RTT, with a drop-tail buffer of 10 BDPs
/// (1 MB, 400 ms), for `secs`: the bottleneck's metrics.
fn deep_buffer(cc: &str, secs: u64) -> (RunMetrics, Duration) {
    let base_rtt = Duration::from_millis(40);
    // 20 Mbit/s × 40 ms = 100 kB; ten of them.
    let s = one_flow(
        cc,
        20 * MBIT,
        18,
        0.0,
        QueueConfig::DropTail(Limit::Bytes(1_000_000)),
        secs,
    );
    let m = Simulation::new(&s).unwrap().run(&mut |_| {});
    let b = bottleneck(&m);
    eprintln!(
        "{cc}: 20 Mbit/s, 40 ms, 10 BDP drop-tail, {secs} s: queue delay p50 {:.1} ms \
         p95 {:.1} ms p99 {:.1} ms, utilization {:.3}, overflow drops {}, goodput {:.1} Mbit/s",
        b.queue_delay_p50_s.unwrap_or(0.0) * 1e3,
        b.queue_delay_p95_s.unwrap_or(0.0) * 1e3,
        b.queue_delay_p99_s.unwrap_or(0.0) * 1e3,
        b.utilization,
        b.drops.overflow,
        m.flows[0].goodput_bps / 1e6
    );
    (m, base_rtt)
}

fn check_deep_buffer(secs: u64) {
    let (bbr, base_rtt) = deep_buffer("bbr", secs);
    let (cubic, _) = deep_buffer("cubic", secs);
    let (b, c) = (bottleneck(&bbr), bottleneck(&cubic));
    let bbr_p95 = b.queue_delay_p95_s.unwrap();
    let cubic_p95 = c.queue_delay_p95_s.unwrap();
    // BBR: at most 1.5 × the base RTT of queueing delay at the 95th percentile.
    assert!(
        bbr_p95 <= 1.5 * base_rtt.as_secs_f64(),
        "BBR p95 queueing delay {:.1} ms",
        bbr_p95 * 1e3
    );
    // CUBIC fills the buffer: the 400 ms it holds, nearly, and overflows it.
    assert!(
        cubic_p95 >= 0.8 * 0.4,
        "CUBIC p95 queueing delay {:.1} ms",
        cubic_p95 * 1e3
    );
    assert!(c.drops.overflow > 0, "CUBIC overflowed the buffer");
    assert!(cubic_p95 >= 4.0 * bbr_p95);
    // Both keep the link busy.
    assert!(b.utilization >= 0.9, "BBR utilization {}", b.utilization);
    assert!(c.utilization >= 0.9, "CUBIC utilization {}", c.utilization);
}

#[test]
fn on_a_deep_buffer_bbr_keeps_the_queue_short_where_cubic_fills_it() {
    check_deep_buffer(20);
}

#[test]
#[ignore = "long version (90 s): run with --release -- --ignored"]
fn on_a_deep_buffer_bbr_keeps_the_queue_short_where_cubic_fills_it_for_90_s() {
    check_deep_buffer(90);
}

/// The sender's `tcp_info` follows BBR through its states: Startup at first, then
/// ProbeBW phases, with a bandwidth estimate near the bottleneck's.
#[test]
fn tcp_info_shows_bbr_mode_bandwidth_and_min_rtt() {
    let s = one_flow(
        "bbr",
        20 * MBIT,
        18,
        0.0,
        QueueConfig::DropTail(Limit::Bytes(200_000)),
        4,
    );
    let mut sim = Simulation::new(&s).unwrap();
    let mut modes: Vec<&'static str> = Vec::new();
    let mut now = Instant::ZERO;
    let mut last = None;
    while now < Instant::ZERO + Duration::from_secs(4) {
        now += Duration::from_millis(5);
        sim.network_mut().run_until(now);
        let (client, _) = sim.flow_stats("f").unwrap();
        let Some(h) = client.data_socket else {
            continue;
        };
        let Ok(info) = sim.network().stack("left0").unwrap().tcp_info(now, h) else {
            continue;
        };
        if let Some(m) = info.cc_model {
            if modes.last() != Some(&m.mode) {
                modes.push(m.mode);
            }
            last = Some(info);
        }
    }
    let info = last.unwrap();
    eprintln!("modes {modes:?}\n{info}");
    assert_eq!(info.congestion_control, "bbr");
    assert_eq!(modes.first(), Some(&"startup"));
    assert!(modes.iter().any(|m| m.starts_with("probe_bw")), "{modes:?}");
    let m = info.cc_model.unwrap();
    // 20 Mbit/s = 2.5 MB/s.
    assert!((2_200_000..=2_800_000).contains(&m.bandwidth), "{m:?}");
    assert!(m.min_rtt.unwrap() <= Duration::from_millis(42), "{m:?}");
    assert!(info.to_string().contains("bbr:(bw:"), "{info}");
}
