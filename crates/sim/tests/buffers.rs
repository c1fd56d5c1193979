//! A flow's `send_buffer` / `recv_buffer`: on a long fat path (50 Mbit/s, 100 ms
//! RTT, a bandwidth-delay product of 625 kB) the stack's default 256 KiB buffers cap
//! a bulk flow at about one buffer per round trip (~21 Mbit/s); 2 MiB buffers let it
//! fill the link.

mod common;

use common::*;
use layer4_sim::build::HostSettings;
use layer4_sim::link::LinkConfig;
use layer4_sim::queue::{Limit, QueueConfig};
use layer4_sim::scenario::{AppSpec, IpVersion};
use layer4_sim::Simulation;

/// Goodput (bit/s) of a 15 s bulk flow on the long fat path with `buffer` bytes of
/// send and receive buffer (`None`: the stack's default).
fn goodput(buffer: Option<usize>) -> f64 {
    let bottleneck = LinkConfig {
        // 48 ms each way plus 1 ms on each access link: 100 ms RTT.
        queue: QueueConfig::DropTail(Limit::Bytes(1_000_000)),
        ..link(50_000_000, 48)
    };
    let mut flow = bulk("lfn", "left0", "right0", 0);
    flow.app = AppSpec::Bulk {
        bytes: None,
        duration: None,
    };
    flow.send_buffer = buffer;
    flow.recv_buffer = buffer;
    let mut s = dumbbell(bottleneck, IpVersion::V4, vec![flow], 15);
    s.captures.clear();
    let mut sim = Simulation::new(&s).unwrap();
    let metrics = sim.run(&mut |_| {});
    metrics.flows[0].goodput_bps
}

#[test]
fn larger_buffers_let_a_long_fat_flow_reach_higher_goodput() {
    let small = goodput(None);
    let large = goodput(Some(2 << 20));
    assert!(small < 25e6, "default buffers: {small} bit/s");
    eprintln!("default {small:.0} bit/s, 2 MiB {large:.0} bit/s");
    assert!(large > 1.6 * small, "2 MiB: {large} bit/s, default {small}");
    assert!(large > 35e6, "2 MiB buffers: {large} bit/s");
}

#[test]
fn a_host_in_several_flows_gets_the_largest_buffer() {
    let mut a = bulk("a", "left0", "right0", 1);
    a.send_buffer = Some(1 << 20);
    let mut b = bulk("b", "left0", "right1", 1);
    b.send_buffer = Some(4 << 20);
    b.recv_buffer = Some(65_536);
    let c = bulk("c", "left1", "right1", 1);
    let h = HostSettings::of_flows(&[a, b, c]);
    assert_eq!(h.get("left0"), (Some(4 << 20), Some(65_536)));
    assert_eq!(h.get("right0"), (Some(1 << 20), None));
    assert_eq!(h.get("right1"), (Some(4 << 20), Some(65_536)));
    assert_eq!(h.get("left1"), (None, None));
}
