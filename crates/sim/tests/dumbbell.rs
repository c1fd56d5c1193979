//! End to end: bulk transfers across a dumbbell, IPv4 and IPv6.

mod common;

use common::*;
use layer4_sim::scenario::IpVersion;
use layer4_sim::Simulation;

fn run_bulk(ip: IpVersion) {
    let bytes = 5_000_000;
    let scenario = dumbbell(
        link(10_000_000, 20),
        ip,
        vec![bulk("f", "left0", "right0", bytes)],
        10,
    );
    let mut sim = Simulation::new(&scenario).expect("builds");
    let mut last = 0.0;
    let m = sim.run(&mut |p| last = p);
    assert_eq!(last, 1.0);
    let (client, server) = sim.flow_stats("f").unwrap();
    eprintln!("{:#?}\n{:#?}", client, server);
    let f = &m.flows[0];
    eprintln!(
        "goodput {:.2} Mbit/s fct {:?} retrans {} rtt {:?}/{:?}",
        f.goodput_bps / 1e6,
        f.fct_s,
        f.retransmits,
        f.rtt_mean_s,
        f.rtt_p95_s
    );
    assert_eq!(server.bytes_received, bytes, "byte-exact delivery");
    assert_eq!(server.integrity_errors, 0);
    assert_eq!(f.bytes_delivered, bytes);
    assert!(f.fct_s.is_some(), "the transfer completed");
    assert!(
        f.goodput_bps >= 0.8 * 10e6,
        "goodput {} below 80% of the bottleneck",
        f.goodput_bps
    );
    let b = m.links.iter().find(|l| l.name == "bottleneck").unwrap();
    assert!(b.utilization > 0.3, "utilization {}", b.utilization);
    assert_eq!(m.links.len(), 6);
}

#[test]
fn dumbbell_bulk_transfer_ipv4_completes_near_bottleneck_rate() {
    run_bulk(IpVersion::V4);
}

#[test]
fn dumbbell_bulk_transfer_ipv6_completes_near_bottleneck_rate() {
    run_bulk(IpVersion::V6);
}
