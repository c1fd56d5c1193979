//! A PMTU black hole: `scenarios/pmtu.toml` (a 1400-byte tunnel between 1500-byte
//! links) run twice, once as written (the router's ICMP "fragmentation needed" reaches
//! the sender, path MTU discovery works, the transfer completes) and once with a
//! middlebox on the router-to-client direction of `lan` that drops every ICMP packet,
//! as a firewall filtering ICMP would. Without the ICMP errors the sender keeps
//! sending 1500-byte segments the router must drop until its third timeout, when
//! black-hole detection (RFC 4821, `TcpConfig::mtu_probing`) shrinks its packets;
//! probes then climb back toward the tunnel's MTU, and the transfer completes,
//! seconds later than with the ICMP delivered.
//!
//! `cargo run -p layer4-sim --release --example pmtu_blackhole`

use layer4_sim::network::Direction;
use layer4_sim::node::middlebox::{FnMiddlebox, Verdict};
use layer4_sim::scenario;
use layer4_sim::Simulation;

/// The scenario, as shipped.
const SCENARIO: &str = include_str!("../../../scenarios/pmtu.toml");

/// IPv4's protocol number for ICMP.
const ICMP: u8 = 1;

fn run(filter_icmp: bool) -> Result<(), String> {
    let scenario = scenario::parse(SCENARIO, "scenarios/pmtu.toml").map_err(|e| e.to_string())?;
    let mut sim = Simulation::new(&scenario).map_err(|e| e.to_string())?;
    if filter_icmp {
        // `lan` is client -> r1 forward, so r1's ICMP errors travel in reverse.
        let drop_icmp = FnMiddlebox(|_, p: &mut layer4_sim::Packet| match p.ip_version() {
            Some(4) if p.data.get(9) == Some(&ICMP) => Verdict::Drop,
            _ => Verdict::Pass,
        });
        sim.network_mut()
            .set_middlebox("lan", Direction::Reverse, Box::new(drop_icmp))
            .map_err(|e| e.to_string())?;
    }
    let metrics = sim.run(&mut |_| {});
    let net = sim.network();
    let flow = &metrics.flows[0];
    let too_big = net.router_stats("r1").map_or(0, |s| s.too_big);
    let filtered = net.middlebox_drops("lan", Direction::Reverse).unwrap_or(0);
    let fct = flow.fct_s.map_or("did not finish".to_string(), |s| {
        format!("finished in {s:.2} s")
    });
    println!(
        "{:<22} {:>10} of 5000000 bytes delivered, {fct}; r1 dropped {too_big} packets as too big, \
         {filtered} ICMP errors filtered, {} retransmissions",
        if filter_icmp {
            "ICMP filtered (hole):"
        } else {
            "ICMP delivered:"
        },
        flow.bytes_delivered,
        flow.retransmits,
    );
    Ok(())
}

fn main() {
    for filter_icmp in [false, true] {
        if let Err(e) = run(filter_icmp) {
            eprintln!("pmtu_blackhole: {e}");
            std::process::exit(2);
        }
    }
}
