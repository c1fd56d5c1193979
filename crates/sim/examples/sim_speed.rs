//! How fast the simulator runs: a 100 Mbit/s, 10 s bulk flow across a dumbbell.
//!
//! `cargo run -p layer4-sim --release --example sim_speed`

use layer4::time::Duration;
use layer4_sim::link::LinkConfig;
use layer4_sim::scenario::{AppSpec, Flow, IpVersion, Scenario, Topology};
use layer4_sim::Simulation;

fn main() {
    let rate = 100_000_000;
    let bottleneck = LinkConfig {
        rate_bps: Some(rate),
        delay: Duration::from_millis(5),
        ..LinkConfig::default()
    };
    let access = LinkConfig {
        rate_bps: Some(1_000_000_000),
        delay: Duration::from_micros(100),
        ..LinkConfig::default()
    };
    let scenario = Scenario {
        name: "speed".to_string(),
        seed: 1,
        duration: Duration::from_secs(10),
        sample_interval: Duration::from_millis(100),
        topology: Topology::Dumbbell {
            pairs: 1,
            bottleneck: bottleneck.clone(),
            bottleneck_reverse: bottleneck,
            access,
            ip: IpVersion::V4,
        },
        flows: vec![Flow {
            name: "bulk".to_string(),
            from: "left0".to_string(),
            to: "right0".to_string(),
            port: 5001,
            start: Duration::ZERO,
            cc: "newreno".to_string(),
            ecn: false,
            accecn: false,
            send_buffer: None,
            recv_buffer: None,
            app: AppSpec::Bulk {
                bytes: None,
                duration: Some(Duration::from_secs(10)),
            },
        }],
        captures: Vec::new(),
        capture_snaplen: 0,
        capture_snaplens: vec![],
    };
    let started = std::time::Instant::now();
    let mut sim = Simulation::new(&scenario).expect("scenario builds");
    let m = sim.run(&mut |_| {});
    let wall = started.elapsed().as_secs_f64();
    let delivered = sim.network().packets_delivered();
    let events = sim.network().events_run();
    let f = &m.flows[0];
    println!(
        "virtual 10 s, wall {wall:.3} s: {} bytes delivered ({:.1} Mbit/s goodput), {delivered} link deliveries ({:.0}/s wall), {events} events ({:.0}/s wall)",
        f.bytes_delivered,
        f.goodput_bps / 1e6,
        delivered as f64 / wall,
        events as f64 / wall
    );
}
