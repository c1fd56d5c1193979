//! Routers: TTL expiry answered with time exceeded, path MTU discovery through a
//! narrow link (fragmentation needed / packet too big), IPv4 fragmentation.

mod common;

use common::*;
use layer4::time::{Duration, Instant};
use layer4::wire::{Ipv4Packet, Ipv6Packet, PcapReader};
use layer4_sim::app::{BulkSender, TcpSink, UdpCbrSender, UdpSink};
use layer4_sim::link::LinkConfig;
use layer4_sim::network::Network;
use layer4_sim::scenario::{IpVersion, Scenario, Topology};
use layer4_sim::Simulation;
use std::net::{IpAddr, SocketAddr};

fn empty_dumbbell(ip: IpVersion) -> Simulation {
    let mut s = dumbbell(link(10_000_000, 5), ip, vec![], 1);
    s.captures = vec!["left0".to_string()];
    Simulation::new(&s).unwrap()
}

/// Sends one UDP datagram with `ttl` from left0 to right0, runs a second, and
/// returns the ICMP(v6) types left0 received, from the capture, with their sources.
fn probe(ip: IpVersion, ttl: u8) -> (Simulation, Vec<(IpAddr, u8)>) {
    let mut sim = empty_dumbbell(ip);
    let (any, dst): (SocketAddr, SocketAddr) = match ip {
        IpVersion::V4 => (
            "0.0.0.0:0".parse().unwrap(),
            "10.2.0.2:33434".parse().unwrap(),
        ),
        IpVersion::V6 => (
            "[::]:0".parse().unwrap(),
            "[fd00:2:0::2]:33434".parse().unwrap(),
        ),
    };
    let net = sim.network_mut();
    net.with_stack("left0", |s, _| {
        let h = s.udp_bind(any).unwrap();
        s.udp_set_ttl(h, ttl).unwrap();
        s.udp_send_to(h, b"traceroute probe", dst).unwrap();
    })
    .unwrap();
    net.run_until(Instant::ZERO + Duration::from_secs(1));
    let pcap = net.take_capture("left0").unwrap();
    let mut r = PcapReader::new(&pcap[..]).unwrap();
    let mut icmp = Vec::new();
    while let Some(Ok(rec)) = r.next_packet() {
        match ip {
            IpVersion::V4 => {
                let p = Ipv4Packet::new_checked(&rec.data[..]).unwrap();
                if u8::from(p.protocol()) == 1 {
                    icmp.push((IpAddr::V4(p.src_addr()), p.payload()[0]));
                }
            }
            IpVersion::V6 => {
                let p = Ipv6Packet::new_checked(&rec.data[..]).unwrap();
                if u8::from(p.next_header()) == 58 {
                    icmp.push((IpAddr::V6(p.src_addr()), p.payload()[0]));
                }
            }
        }
    }
    (sim, icmp)
}

#[test]
fn ttl_one_probe_gets_time_exceeded_from_the_first_router() {
    let (sim, icmp) = probe(IpVersion::V4, 1);
    assert_eq!(icmp, [("10.0.0.1".parse().unwrap(), 11)]);
    let r0 = sim.network().router_stats("r0").unwrap();
    assert_eq!((r0.ttl_expired, r0.icmp_sent[0]), (1, 1));
    let stack = sim.network().stack("left0").unwrap();
    assert_eq!(
        stack.stats().icmp.in_type[11],
        1,
        "the stack took the error in"
    );
}

#[test]
fn ttl_two_probe_gets_time_exceeded_from_the_second_router() {
    let (sim, icmp) = probe(IpVersion::V4, 2);
    assert_eq!(icmp, [("10.0.0.2".parse().unwrap(), 11)]);
    assert_eq!(sim.network().router_stats("r1").unwrap().ttl_expired, 1);
}

#[test]
fn ttl_three_probe_reaches_the_host_which_answers_port_unreachable() {
    let (_, icmp) = probe(IpVersion::V4, 3);
    assert_eq!(icmp, [("10.2.0.2".parse().unwrap(), 3)]);
}

#[test]
fn hop_limit_one_probe_gets_icmpv6_time_exceeded() {
    let (sim, icmp) = probe(IpVersion::V6, 1);
    assert_eq!(icmp, [("fd00::1".parse().unwrap(), 3)]);
    let stack = sim.network().stack("left0").unwrap();
    assert_eq!(stack.stats().icmp6.in_type[3], 1);
}

/// h1 —(1500)— r0 —(`narrow` MTU)— r1 —(1500)— h2, 10 Mbit/s, 5 ms per link.
fn narrow_path(ip: IpVersion, narrow: usize) -> Network {
    narrow_path_with(ip, narrow, |_| {})
}

/// [`narrow_path`], h1's configuration changed by `edit`.
fn narrow_path_with(
    ip: IpVersion,
    narrow: usize,
    edit: impl FnOnce(&mut layer4::Config),
) -> Network {
    let mut net = Network::new(3);
    let (h1, h2, r0, r1) = match ip {
        IpVersion::V4 => (
            vec!["10.0.1.2/24"],
            vec!["10.0.3.2/24"],
            vec!["10.0.1.1/24", "10.0.2.1/24"],
            vec!["10.0.2.2/24", "10.0.3.1/24"],
        ),
        IpVersion::V6 => (
            vec!["fd00:1::2/64"],
            vec!["fd00:3::2/64"],
            vec!["fd00:1::1/64", "fd00:2::1/64"],
            vec!["fd00:2::2/64", "fd00:3::1/64"],
        ),
    };
    let cidrs = |v: Vec<&str>| {
        v.into_iter()
            .map(|a| a.parse().unwrap())
            .collect::<Vec<_>>()
    };
    let host = |v: Vec<&str>| layer4::Config {
        addresses: cidrs(v),
        ..layer4::Config::default()
    };
    let mut h1 = host(h1);
    edit(&mut h1);
    net.add_host("h1", h1).unwrap();
    net.add_host("h2", host(h2)).unwrap();
    net.add_router("r0", cidrs(r0)).unwrap();
    net.add_router("r1", cidrs(r1)).unwrap();
    let wide = link(10_000_000, 5);
    let thin = LinkConfig {
        mtu: narrow,
        ..wide.clone()
    };
    net.add_link("l1", "h1", "r0", wide.clone(), wide.clone())
        .unwrap();
    net.add_link("l2", "r0", "r1", thin.clone(), thin).unwrap();
    net.add_link("l3", "r1", "h2", wide.clone(), wide).unwrap();
    net.compute_routes().unwrap();
    net
}

fn pmtud(ip: IpVersion, server: &str) {
    let mut net = narrow_path(ip, 1280);
    let server: SocketAddr = server.parse().unwrap();
    let bytes = 2_000_000;
    let sink = net
        .add_app("h2", Instant::ZERO, Box::new(TcpSink::new(server)))
        .unwrap();
    let sender = net
        .add_app(
            "h1",
            Instant::ZERO,
            Box::new(BulkSender::new(server, Some(bytes), None)),
        )
        .unwrap();
    net.run_until(Instant::ZERO + Duration::from_secs(20));
    let got = net.app_stats(sink).unwrap();
    assert_eq!(got.bytes_received, bytes, "transfer completed");
    assert_eq!(got.integrity_errors, 0);
    let r0 = net.router_stats("r0").unwrap();
    assert!(r0.too_big >= 1 && r0.icmp_sent[2] >= 1, "{r0:?}");
    let info = net.app_stats(sender).unwrap().final_tcp_info.unwrap();
    assert!(info.pmtu <= 1280, "pmtu {}", info.pmtu);
    assert!(
        usize::from(info.snd_mss) <= 1280 - 40,
        "mss {}",
        info.snd_mss
    );
    let l2 = net
        .link("l2", layer4_sim::network::Direction::Forward)
        .unwrap();
    assert_eq!(
        l2.stats().drops.mtu,
        0,
        "the router answered instead of the link dropping"
    );
}

#[test]
fn pmtud_ipv4_bulk_transfer_completes_through_a_1280_mtu_link() {
    pmtud(IpVersion::V4, "10.0.3.2:80");
}

#[test]
fn pmtud_ipv6_bulk_transfer_completes_through_a_1280_mtu_link() {
    pmtud(IpVersion::V6, "[fd00:3::2]:80");
}

/// A long transfer through the narrow link with h1's path MTU estimates
/// lasting 3 s instead of 10 minutes: the open connection is raised back to
/// 1500 each time its estimate expires (RFC 1191 section 6.3), draws a new
/// "too big" from the router, shrinks again, and the stream arrives intact.
/// Before the raise existed the router answered only the first flight.
fn pmtu_rediscovered(ip: IpVersion, server: &str) {
    let mut net = narrow_path_with(ip, 1280, |c| {
        c.pmtu.expires = Duration::from_secs(3);
    });
    let server: SocketAddr = server.parse().unwrap();
    let bytes = 8_000_000;
    let sink = net
        .add_app("h2", Instant::ZERO, Box::new(TcpSink::new(server)))
        .unwrap();
    let sender = net
        .add_app(
            "h1",
            Instant::ZERO,
            Box::new(BulkSender::new(server, Some(bytes), None)),
        )
        .unwrap();
    // The first discovery: the initial window's full-sized segments each
    // draw a "too big".
    net.run_until(Instant::ZERO + Duration::from_secs(2));
    let first = net.router_stats("r0").unwrap().too_big;
    assert!(first >= 1, "no discovery");
    net.run_until(Instant::ZERO + Duration::from_secs(20));
    let got = net.app_stats(sink).unwrap();
    assert_eq!(got.bytes_received, bytes, "transfer completed");
    assert_eq!(got.integrity_errors, 0);
    // Then one more at each expiry while the transfer ran (~7 s): the
    // connection sent full-sized segments again (a flight of them, each
    // answered: 10 at first, ~330 in all with the raises).
    let r0 = net.router_stats("r0").unwrap();
    assert!(r0.too_big > first, "never raised: {first} then {r0:?}");
    let info = net.app_stats(sender).unwrap().final_tcp_info.unwrap();
    assert!(info.pmtu <= 1280, "pmtu {}", info.pmtu);
}

#[test]
fn pmtud_ipv4_connection_is_raised_and_rediscovers_when_its_estimate_expires() {
    pmtu_rediscovered(IpVersion::V4, "10.0.3.2:80");
}

#[test]
fn pmtud_ipv6_connection_is_raised_and_rediscovers_when_its_estimate_expires() {
    pmtu_rediscovered(IpVersion::V6, "[fd00:3::2]:80");
}

#[test]
fn router_fragments_ipv4_udp_without_df_and_the_host_reassembles() {
    let mut net = narrow_path(IpVersion::V4, 1000);
    let server: SocketAddr = "10.0.3.2:9".parse().unwrap();
    let sink = net
        .add_app("h2", Instant::ZERO, Box::new(UdpSink::new(server)))
        .unwrap();
    // 1400-byte datagrams at 1.12 Mbit/s: 10 in 100 ms.
    net.add_app(
        "h1",
        Instant::ZERO,
        Box::new(UdpCbrSender::new(
            server,
            1_120_000,
            1400,
            Some(Duration::from_millis(100)),
        )),
    )
    .unwrap();
    net.run_until(Instant::ZERO + Duration::from_secs(1));
    let got = net.app_stats(sink).unwrap();
    assert_eq!(got.messages, 10);
    assert_eq!(got.bytes_received, 14_000);
    assert_eq!(got.integrity_errors, 0);
    let r0 = net.router_stats("r0").unwrap();
    assert_eq!(r0.fragmented, 10);
    assert_eq!(r0.fragments_created, 20);
}

#[test]
fn explicit_topology_pmtud_scenario_runs() {
    // The same narrow path, as a scenario.
    use layer4_sim::scenario::{LinkSpec, NodeKind, NodeSpec};
    let node = |name: &str, kind, addrs: &[&str]| NodeSpec {
        name: name.to_string(),
        kind,
        addresses: addrs.iter().map(|a| a.parse().unwrap()).collect(),
    };
    let wide = link(10_000_000, 5);
    let thin = LinkConfig {
        mtu: 1280,
        ..wide.clone()
    };
    let l = |name: &str, a: &str, b: &str, c: &LinkConfig| LinkSpec {
        name: name.to_string(),
        a: a.to_string(),
        b: b.to_string(),
        forward: c.clone(),
        reverse: c.clone(),
    };
    let scenario = Scenario {
        name: "pmtud".to_string(),
        seed: 9,
        duration: Duration::from_secs(10),
        sample_interval: Duration::from_millis(100),
        topology: Topology::Explicit {
            nodes: vec![
                node("h1", NodeKind::Host, &["10.0.1.2/24"]),
                node("r0", NodeKind::Router, &["10.0.1.1/24", "10.0.2.1/24"]),
                node("r1", NodeKind::Router, &["10.0.2.2/24", "10.0.3.1/24"]),
                node("h2", NodeKind::Host, &["10.0.3.2/24"]),
            ],
            links: vec![
                l("l1", "h1", "r0", &wide),
                l("l2", "r0", "r1", &thin),
                l("l3", "r1", "h2", &wide),
            ],
        },
        flows: vec![bulk("f", "h1", "h2", 1_000_000)],
        captures: vec![],
        capture_snaplen: 0,
        capture_snaplens: vec![],
    };
    let mut sim = Simulation::new(&scenario).unwrap();
    let m = sim.run(&mut |_| {});
    assert_eq!(m.flows[0].bytes_delivered, 1_000_000);
    assert!(m.flows[0].fct_s.is_some());
    assert_eq!(
        m.links.iter().map(|l| l.name.as_str()).collect::<Vec<_>>(),
        ["l1", "l1.rev", "l2", "l2.rev", "l3", "l3.rev"]
    );
}

#[test]
fn router_icmp_errors_are_rate_limited_like_linux() {
    let mut sim = empty_dumbbell(IpVersion::V4);
    let net = sim.network_mut();
    net.with_stack("left0", |s, _| {
        let h = s.udp_bind("0.0.0.0:0".parse().unwrap()).unwrap();
        s.udp_set_ttl(h, 1).unwrap();
        for _ in 0..100 {
            s.udp_send_to(h, b"probe", "10.2.0.2:33434".parse().unwrap())
                .unwrap();
        }
    })
    .unwrap();
    net.run_until(Instant::ZERO + Duration::from_secs(1));
    let r0 = net.router_stats("r0").unwrap();
    assert_eq!(r0.ttl_expired, 100);
    // A burst of 50, and the 1000/s refill adds nothing in the few microseconds
    // the probes take to arrive.
    assert_eq!(r0.icmp_sent[0], 50);
    assert_eq!(r0.icmp_rate_limited, 50);
}

/// The example PMTU scenarios, run for 10 s: (bytes delivered, ICMP packets the
/// link toward the client filtered, the client's loss counters).
fn pmtu_run(text: &str) -> (u64, u64, layer4::stats::TcpLossStats) {
    let s = layer4_sim::scenario::parse(text, "pmtu.toml").unwrap();
    let mut sim = Simulation::new(&s).unwrap();
    let m = sim.run(&mut |_| {});
    let lan_rev = m.links.iter().find(|l| l.name == "lan.rev").unwrap();
    let loss = sim.network().stack("client").unwrap().stats().tcp.loss;
    (m.flows[0].bytes_delivered, lan_rev.drops.filtered, loss)
}

#[test]
fn black_hole_detection_crosses_a_pmtu_black_hole_that_pmtud_alone_cannot() {
    let (delivered, filtered, loss) = pmtu_run(include_str!("../../../scenarios/pmtu.toml"));
    assert_eq!((delivered, filtered), (5_000_000, 0));
    assert_eq!(loss.pmtu_black_holes, 0);
    // The router's errors are filtered, so path MTU discovery never hears of the
    // tunnel; the timeouts of the full-sized segments do, at R1, and the sender's
    // smaller packets cross (`MtuProbing::BlackHole`, the default). Probes then
    // climb back toward the tunnel's 1400 bytes, the ones above it lost.
    let (delivered, filtered, loss) =
        pmtu_run(include_str!("../../../scenarios/pmtu-blackhole.toml"));
    assert!(filtered > 0, "the router's errors were filtered");
    assert_eq!(delivered, 5_000_000, "the transfer completes");
    assert_eq!(loss.pmtu_black_holes, 1);
    assert!(loss.mtu_probe_successes > 0, "{loss:?}");
    assert!(loss.mtu_probe_failures > 0, "{loss:?}");
}
