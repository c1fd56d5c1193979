//! From a [`Scenario`] to a [`Network`] with its applications: the named topologies'
//! nodes, links and addresses, the routes, the flows' applications, the captures,
//! and the checks that give a [`BuildError`] naming what is wrong.
//!
//! # Addressing plan
//!
//! The named topologies use one family, chosen by their `ip` field. IPv6 addresses
//! mirror the IPv4 ones: `10.X.Y.Z/24` becomes `fd00:X:Y::Z/64` (X and Y written in
//! hex). Every access link has its own /24 (/64): the host is `.2`, the router `.1`.
//! A router's first address (the first row below that names it) is the source of
//! the ICMP errors it sends.
//!
//! **Dumbbell** (`pairs` ≤ 250; `i` in `0..pairs`):
//!
//! | node / link | IPv4 | IPv6 |
//! |---|---|---|
//! | `r0` on `bottleneck` (r0→r1) | 10.0.0.1/24 | fd00:0:0::1/64 |
//! | `r1` on `bottleneck` | 10.0.0.2/24 | fd00:0:0::2/64 |
//! | `left{i}` on link `left{i}` (left{i}→r0) | 10.1.i.2/24 (r0: 10.1.i.1) | fd00:1:i::2/64 (r0: ::1) |
//! | `right{i}` on link `right{i}` (r1→right{i}) | 10.2.i.2/24 (r1: 10.2.i.1) | fd00:2:i::2/64 (r1: ::1) |
//!
//! **Parking lot** (`hops` ≤ 250; routers `r0..=r{hops}`; `i` in `0..hops`):
//!
//! | node / link | IPv4 | IPv6 |
//! |---|---|---|
//! | `hop{i}` (r{i}→r{i+1}) | r{i} 10.0.i.1/24, r{i+1} 10.0.i.2/24 | fd00:0:i::1, ::2 /64 |
//! | `src` on link `src` (src→r0) | 10.1.0.2/24 (r0: 10.1.0.1) | fd00:1:0::2/64 |
//! | `dst` on link `dst` (r{hops}→dst) | 10.2.0.2/24 (r{hops}: 10.2.0.1) | fd00:2:0::2/64 |
//! | `cross{i}_src` on link `cross{i}_src` (host→r{i}) | 10.3.i.2/24 (r{i}: 10.3.i.1) | fd00:3:i::2/64 |
//! | `cross{i}_dst` on link `cross{i}_dst` (r{i+1}→host) | 10.4.i.2/24 (r{i+1}: 10.4.i.1) | fd00:4:i::2/64 |
//!
//! A link's forward direction is the direction data flows in the usual traffic
//! (senders on the left, receivers on the right); access links use the topology's
//! `access` configuration both ways. Explicit topologies use the addresses given.
//!
//! A host's stack MTU is the MTU of the link direction leaving it, and its default
//! route points at its router's address (`.1`, `::1`) on the access link. Routes are
//! computed by [`Network::compute_routes`] (shortest path in hops).
//!
//! # Flows
//!
//! A flow's server application starts at time zero on `to`, listening on the first
//! address of `to` whose family `from` also has, at `port`; the client starts on
//! `from` at `start`. Applications by [`AppSpec`]: `Bulk` → [`BulkSender`] and
//! [`TcpSink`]; `RequestResponse` → [`RequestClient`] and [`ResponseServer`]; `OnOff`
//! → [`OnOffSender`] and [`TcpSink`]; `UdpCbr` → [`UdpCbrSender`] and [`UdpSink`].
//! The TCP applications that send data (the client; for request/response the server
//! too) run the flow's congestion controller (`cc`); with `ecn`, the client asks
//! for ECN on its SYN (every host accepts it when asked).
//!
//! A flow's `send_buffer` and `recv_buffer` are set in the TCP configuration of both
//! its hosts when they are built (layer4 has no per-socket buffer sizes), so they
//! hold for every connection of those hosts; a host in several flows gets the
//! largest value each of them asks ([`HostSettings`]).

use crate::app::{
    BulkSender, OnOffSender, RequestClient, ResponseServer, TcpSink, UdpCbrSender, UdpSink,
};
use crate::error::BuildError;
use crate::link::LinkConfig;
use crate::network::{AppId, Network};
use crate::scenario::{AppSpec, Flow, IpVersion, NodeKind, Scenario, Topology};
use layer4::ip::cidr::IpCidr;
use layer4::time::Instant;
use std::collections::{HashMap, HashSet};
use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr};

/// The most host pairs (dumbbell) or hops (parking lot) the addressing plan covers.
pub const MAX_NAMED_SIZE: usize = 250;

/// Which side of a flow sends its data (for `tcp_info` sampling).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DataSender {
    /// The client (`from`).
    Client,
    /// The server (`to`).
    Server,
}

/// A flow as built: its applications and how to measure it.
#[derive(Debug, Clone)]
pub struct BuiltFlow {
    /// The scenario's flow.
    pub flow: Flow,
    /// The client application, on `from`.
    pub client: AppId,
    /// The server application, on `to`.
    pub server: AppId,
    /// The server's address.
    pub server_addr: SocketAddr,
    /// When the client starts.
    pub start: Instant,
    /// Which side sends the data.
    pub sender: DataSender,
    /// "tcp" or "udp".
    pub protocol: &'static str,
}

/// A scenario made into a network.
#[derive(Debug)]
pub struct Built {
    /// The network, routes computed, applications added, captures on.
    pub network: Network,
    /// The flows, in scenario order.
    pub flows: Vec<BuiltFlow>,
}

/// `10.a.b.c/24` or `fd00:a:b::c/64` (`a`, `b` below 256 by the size checks).
fn addr(ip: IpVersion, a: usize, b: usize, c: u8) -> IpCidr {
    let (a8, b8) = (a as u8, b as u8);
    match ip {
        IpVersion::V4 => IpCidr::V4(
            layer4::ip::cidr::Ipv4Cidr::new(Ipv4Addr::new(10, a8, b8, c), 24)
                .unwrap_or_else(|_| unreachable!("24 <= 32")),
        ),
        IpVersion::V6 => IpCidr::V6(
            layer4::ip::cidr::Ipv6Cidr::new(
                Ipv6Addr::new(
                    0xfd00,
                    u16::from(a8),
                    u16::from(b8),
                    0,
                    0,
                    0,
                    0,
                    u16::from(c),
                ),
                64,
            )
            .unwrap_or_else(|_| unreachable!("64 <= 128")),
        ),
    }
}

/// A host configuration with `address`, a default route through `gateway` and the
/// MTU of the link leaving it.
fn host_config(address: IpCidr, gateway: IpCidr, mtu: usize) -> layer4::Config {
    let mut c = layer4::Config::with_address(address).gateway(gateway.addr());
    c.mtu = u16::try_from(mtu).unwrap_or(u16::MAX);
    c
}

fn explicit_host_config(addresses: &[IpCidr], mtu: usize) -> layer4::Config {
    let mut c = layer4::Config {
        addresses: addresses.to_vec(),
        ..layer4::Config::default()
    };
    c.mtu = u16::try_from(mtu).unwrap_or(u16::MAX);
    c
}

fn too_big(context: &str, what: &str, n: usize) -> Result<(), BuildError> {
    if n == 0 || n > MAX_NAMED_SIZE {
        return Err(BuildError::Invalid {
            context: context.to_string(),
            reason: format!("{what} must be in 1..={MAX_NAMED_SIZE}, is {n}"),
        });
    }
    Ok(())
}

fn dumbbell(
    net: &mut Network,
    tcp: &HostSettings,
    pairs: usize,
    bottleneck: &LinkConfig,
    bottleneck_reverse: &LinkConfig,
    access: &LinkConfig,
    ip: IpVersion,
) -> Result<(), BuildError> {
    too_big("dumbbell", "pairs", pairs)?;
    let mut r0 = vec![addr(ip, 0, 0, 1)];
    let mut r1 = vec![addr(ip, 0, 0, 2)];
    for i in 0..pairs {
        r0.push(addr(ip, 1, i, 1));
        r1.push(addr(ip, 2, i, 1));
    }
    net.add_router("r0", r0)?;
    net.add_router("r1", r1)?;
    for i in 0..pairs {
        add_host(
            net,
            tcp,
            &format!("left{i}"),
            host_config(addr(ip, 1, i, 2), addr(ip, 1, i, 1), access.mtu),
        )?;
        add_host(
            net,
            tcp,
            &format!("right{i}"),
            host_config(addr(ip, 2, i, 2), addr(ip, 2, i, 1), access.mtu),
        )?;
    }
    net.add_link(
        "bottleneck",
        "r0",
        "r1",
        bottleneck.clone(),
        bottleneck_reverse.clone(),
    )?;
    for i in 0..pairs {
        let l = format!("left{i}");
        net.add_link(&l, &l, "r0", access.clone(), access.clone())?;
    }
    for i in 0..pairs {
        let r = format!("right{i}");
        net.add_link(&r, "r1", &r, access.clone(), access.clone())?;
    }
    Ok(())
}

fn parking_lot(
    net: &mut Network,
    tcp: &HostSettings,
    hops: usize,
    hop: &LinkConfig,
    hop_reverse: &LinkConfig,
    access: &LinkConfig,
    ip: IpVersion,
) -> Result<(), BuildError> {
    too_big("parking lot", "hops", hops)?;
    let mut routers: Vec<Vec<IpCidr>> = vec![Vec::new(); hops + 1];
    for i in 0..hops {
        routers[i].push(addr(ip, 0, i, 1));
        routers[i + 1].push(addr(ip, 0, i, 2));
    }
    routers[0].push(addr(ip, 1, 0, 1));
    routers[hops].push(addr(ip, 2, 0, 1));
    for i in 0..hops {
        routers[i].push(addr(ip, 3, i, 1));
        routers[i + 1].push(addr(ip, 4, i, 1));
    }
    for (i, a) in routers.into_iter().enumerate() {
        net.add_router(&format!("r{i}"), a)?;
    }
    add_host(
        net,
        tcp,
        "src",
        host_config(addr(ip, 1, 0, 2), addr(ip, 1, 0, 1), access.mtu),
    )?;
    add_host(
        net,
        tcp,
        "dst",
        host_config(addr(ip, 2, 0, 2), addr(ip, 2, 0, 1), access.mtu),
    )?;
    for i in 0..hops {
        add_host(
            net,
            tcp,
            &format!("cross{i}_src"),
            host_config(addr(ip, 3, i, 2), addr(ip, 3, i, 1), access.mtu),
        )?;
        add_host(
            net,
            tcp,
            &format!("cross{i}_dst"),
            host_config(addr(ip, 4, i, 2), addr(ip, 4, i, 1), access.mtu),
        )?;
    }
    for i in 0..hops {
        net.add_link(
            &format!("hop{i}"),
            &format!("r{i}"),
            &format!("r{}", i + 1),
            hop.clone(),
            hop_reverse.clone(),
        )?;
    }
    net.add_link("src", "src", "r0", access.clone(), access.clone())?;
    net.add_link(
        "dst",
        &format!("r{hops}"),
        "dst",
        access.clone(),
        access.clone(),
    )?;
    for i in 0..hops {
        let s = format!("cross{i}_src");
        net.add_link(&s, &s, &format!("r{i}"), access.clone(), access.clone())?;
        let d = format!("cross{i}_dst");
        net.add_link(
            &d,
            &format!("r{}", i + 1),
            &d,
            access.clone(),
            access.clone(),
        )?;
    }
    Ok(())
}

fn explicit(
    net: &mut Network,
    tcp: &HostSettings,
    nodes: &[crate::scenario::NodeSpec],
    links: &[crate::scenario::LinkSpec],
) -> Result<(), BuildError> {
    let mut names = HashSet::new();
    for n in nodes {
        if !names.insert(n.name.as_str()) {
            return Err(BuildError::DuplicateName {
                kind: "node",
                name: n.name.clone(),
            });
        }
    }
    let mut link_names = HashSet::new();
    // The MTU leaving each host, and how many links each host has.
    let mut host_links: HashMap<&str, (usize, usize)> = HashMap::new();
    for l in links {
        if !link_names.insert(l.name.as_str()) {
            return Err(BuildError::DuplicateName {
                kind: "link",
                name: l.name.clone(),
            });
        }
        for (end, mtu) in [(&l.a, l.forward.mtu), (&l.b, l.reverse.mtu)] {
            if !names.contains(end.as_str()) {
                return Err(BuildError::UnknownNode {
                    context: format!("link {:?}", l.name),
                    node: end.clone(),
                });
            }
            let e = host_links.entry(end.as_str()).or_insert((0, mtu));
            e.0 += 1;
        }
    }
    for n in nodes {
        match n.kind {
            NodeKind::Host => {
                let (count, mtu) = host_links
                    .get(n.name.as_str())
                    .copied()
                    .unwrap_or((0, 1500));
                if count != 1 {
                    return Err(BuildError::HostLinks {
                        host: n.name.clone(),
                        links: count,
                    });
                }
                add_host(net, tcp, &n.name, explicit_host_config(&n.addresses, mtu))?;
            }
            NodeKind::Router => {
                net.add_router(&n.name, n.addresses.clone())?;
            }
        }
    }
    for l in links {
        net.add_link(&l.name, &l.a, &l.b, l.forward.clone(), l.reverse.clone())?;
    }
    Ok(())
}

/// What a scenario asks of its hosts' configuration beyond addresses and routes: TCP
/// socket buffers by host name ([`HostSettings::of_flows`]) and whether received
/// checksums are verified ([`HostSettings::skipping_rx_checksum_unless_corrupting`]).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct HostSettings {
    hosts: HashMap<String, (Option<usize>, Option<usize>)>,
    /// Hosts in a flow with `accecn`: their stacks use `EcnMode::AccEcn`.
    accecn: std::collections::BTreeSet<String>,
    /// Whether hosts skip verifying the checksums of what they receive: set when no
    /// link of the scenario corrupts packets, so nothing can arrive damaged (like a
    /// NIC's receive offload). Hosts always compute the checksums they send, so
    /// captures stay valid.
    skip_rx_checksum: bool,
}

impl HostSettings {
    /// The buffers `flows` ask for: each flow's `send_buffer` and `recv_buffer` go to
    /// both its hosts (layer4 sizes TCP buffers stack-wide, in its `TcpConfig`); a
    /// host in several flows gets the largest of each that any of them sets.
    pub fn of_flows(flows: &[Flow]) -> HostSettings {
        let mut hosts: HashMap<String, (Option<usize>, Option<usize>)> = HashMap::new();
        let mut accecn = std::collections::BTreeSet::new();
        for flow in flows {
            if flow.accecn {
                accecn.insert(flow.from.clone());
                accecn.insert(flow.to.clone());
            }
            for host in [&flow.from, &flow.to] {
                let entry = hosts.entry(host.clone()).or_default();
                entry.0 = entry.0.max(flow.send_buffer);
                entry.1 = entry.1.max(flow.recv_buffer);
            }
        }
        hosts.retain(|_, b| b.0.is_some() || b.1.is_some());
        HostSettings {
            hosts,
            accecn,
            skip_rx_checksum: false,
        }
    }

    /// These settings, with hosts not verifying received checksums when `topology`
    /// has no link that corrupts packets.
    pub fn skipping_rx_checksum_unless_corrupting(mut self, topology: &Topology) -> HostSettings {
        self.skip_rx_checksum = !corrupts(topology);
        self
    }

    /// The (send, receive) buffer sizes asked of `host`, `None` where it keeps the
    /// stack's default.
    pub fn get(&self, host: &str) -> (Option<usize>, Option<usize>) {
        self.hosts.get(host).copied().unwrap_or_default()
    }
}

/// `net.add_host` with the TCP buffers `tcp` asks of `name` applied to `config`.
fn add_host(
    net: &mut Network,
    tcp: &HostSettings,
    name: &str,
    mut config: layer4::Config,
) -> Result<crate::network::NodeId, BuildError> {
    let (send, recv) = tcp.get(name);
    if tcp.skip_rx_checksum {
        config.checksum_rx = layer4::wire::ChecksumMode::Offloaded;
    }
    if let Some(n) = send {
        config.tcp.send_buffer = n;
    }
    if let Some(n) = recv {
        config.tcp.recv_buffer = n;
    }
    if tcp.accecn.contains(name) {
        config.tcp.ecn = layer4::tcp::EcnMode::AccEcn;
    }
    net.add_host(name, config)
}

/// Adds `topology`'s nodes and links to `net` (see the [addressing plan](self)).
pub fn build_topology(net: &mut Network, topology: &Topology) -> Result<(), BuildError> {
    build_topology_with(net, topology, &HostSettings::default())
}

/// [`build_topology`], with the TCP buffers `tcp` asks of each host set in its
/// stack's configuration.
pub fn build_topology_with(
    net: &mut Network,
    topology: &Topology,
    tcp: &HostSettings,
) -> Result<(), BuildError> {
    match topology {
        Topology::Dumbbell {
            pairs,
            bottleneck,
            bottleneck_reverse,
            access,
            ip,
        } => dumbbell(
            net,
            tcp,
            *pairs,
            bottleneck,
            bottleneck_reverse,
            access,
            *ip,
        ),
        Topology::ParkingLot {
            hops,
            hop,
            hop_reverse,
            access,
            ip,
        } => parking_lot(net, tcp, *hops, hop, hop_reverse, access, *ip),
        Topology::Explicit { nodes, links } => explicit(net, tcp, nodes, links),
    }
}

fn host_of(net: &Network, flow: &Flow, name: &str) -> Result<Vec<IpCidr>, BuildError> {
    let context = format!("flow {:?}", flow.name);
    let Some(addresses) = net.addresses(name) else {
        return Err(BuildError::UnknownNode {
            context,
            node: name.to_string(),
        });
    };
    if !net.is_host(name) {
        return Err(BuildError::WrongKind {
            context,
            node: name.to_string(),
            expected: "host",
        });
    }
    Ok(addresses)
}

fn invalid(flow: &Flow, reason: impl Into<String>) -> BuildError {
    BuildError::Invalid {
        context: format!("flow {:?}", flow.name),
        reason: reason.into(),
    }
}

/// Adds `flow`'s applications to `net` (routes must be computed).
pub fn add_flow(net: &mut Network, flow: &Flow) -> Result<BuiltFlow, BuildError> {
    let from = host_of(net, flow, &flow.from)?;
    let to = host_of(net, flow, &flow.to)?;
    if flow.from == flow.to {
        return Err(invalid(flow, "from and to are the same host"));
    }
    if flow.port == 0 {
        return Err(invalid(flow, "port 0"));
    }
    let Some(server_ip) = to
        .iter()
        .map(|a| a.addr())
        .find(|a| from.iter().any(|f| f.is_ipv4() == a.is_ipv4()))
    else {
        return Err(BuildError::NoCommonFamily {
            flow: flow.name.clone(),
            from: flow.from.clone(),
            to: flow.to.clone(),
        });
    };
    let client_ip = from
        .iter()
        .map(|a| a.addr())
        .find(|a| a.is_ipv4() == server_ip.is_ipv4())
        .unwrap_or(server_ip);
    if !net.reachable(&flow.from, server_ip) || !net.reachable(&flow.to, client_ip) {
        return Err(BuildError::NoRoute {
            flow: flow.name.clone(),
            from: flow.from.clone(),
            to: flow.to.clone(),
        });
    }
    let server_addr = SocketAddr::new(server_ip, flow.port);
    let start = Instant::ZERO + flow.start;
    let (client, server, sender, protocol): (
        Box<dyn crate::app::Application>,
        Box<dyn crate::app::Application>,
        DataSender,
        &'static str,
    ) = match &flow.app {
        AppSpec::Bulk { bytes, duration } => (
            Box::new(
                BulkSender::new(server_addr, *bytes, *duration)
                    .congestion_control(&flow.cc)
                    .ecn(flow.ecn),
            ),
            Box::new(TcpSink::new(server_addr)),
            DataSender::Client,
            "tcp",
        ),
        AppSpec::RequestResponse {
            request_bytes,
            response_bytes,
            think_time,
            count,
        } => {
            if *request_bytes == 0 {
                return Err(invalid(flow, "request_bytes must be positive"));
            }
            let sender = if response_bytes >= request_bytes {
                DataSender::Server
            } else {
                DataSender::Client
            };
            (
                Box::new(
                    RequestClient::new(
                        server_addr,
                        *request_bytes,
                        *response_bytes,
                        *think_time,
                        *count,
                    )
                    .congestion_control(&flow.cc)
                    .ecn(flow.ecn),
                ),
                Box::new(
                    ResponseServer::new(server_addr, *request_bytes, *response_bytes)
                        .congestion_control(&flow.cc),
                ),
                sender,
                "tcp",
            )
        }
        AppSpec::OnOff { on, off } => (
            Box::new(
                OnOffSender::new(server_addr, *on, *off)
                    .congestion_control(&flow.cc)
                    .ecn(flow.ecn),
            ),
            Box::new(TcpSink::new(server_addr)),
            DataSender::Client,
            "tcp",
        ),
        AppSpec::UdpCbr {
            rate_bps,
            packet_bytes,
            duration,
        } => {
            if *rate_bps == 0 {
                return Err(invalid(flow, "rate_bps must be positive"));
            }
            let max = if server_ip.is_ipv4() { 65_507 } else { 65_527 };
            if *packet_bytes == 0 || *packet_bytes > max {
                return Err(invalid(flow, format!("packet_bytes must be in 1..={max}")));
            }
            (
                Box::new(UdpCbrSender::new(
                    server_addr,
                    *rate_bps,
                    *packet_bytes,
                    *duration,
                )),
                Box::new(UdpSink::new(server_addr)),
                DataSender::Client,
                "udp",
            )
        }
    };
    let server = net.add_app(&flow.to, Instant::ZERO, server)?;
    let client = net.add_app(&flow.from, start, client)?;
    Ok(BuiltFlow {
        flow: flow.clone(),
        client,
        server,
        server_addr,
        start,
        sender,
        protocol,
    })
}

/// Whether any link direction of `topology` corrupts packets.
fn corrupts(topology: &Topology) -> bool {
    let links: Vec<&LinkConfig> = match topology {
        Topology::Dumbbell {
            bottleneck,
            bottleneck_reverse,
            access,
            ..
        } => vec![bottleneck, bottleneck_reverse, access],
        Topology::ParkingLot {
            hop,
            hop_reverse,
            access,
            ..
        } => vec![hop, hop_reverse, access],
        Topology::Explicit { links, .. } => links
            .iter()
            .flat_map(|l| [&l.forward, &l.reverse])
            .collect(),
    };
    links.iter().any(|l| l.corrupt > 0.0)
}

/// Builds `scenario`: topology, routes, flows, captures.
pub fn build(scenario: &Scenario) -> Result<Built, BuildError> {
    let mut net = Network::new(scenario.seed);
    build_topology_with(
        &mut net,
        &scenario.topology,
        &HostSettings::of_flows(&scenario.flows)
            .skipping_rx_checksum_unless_corrupting(&scenario.topology),
    )?;
    net.compute_routes()?;
    let mut flows = Vec::with_capacity(scenario.flows.len());
    let mut names = HashSet::new();
    let mut listeners: HashMap<(String, u16, &'static str), String> = HashMap::new();
    for flow in &scenario.flows {
        if !names.insert(flow.name.as_str()) {
            return Err(BuildError::DuplicateName {
                kind: "flow",
                name: flow.name.clone(),
            });
        }
        let built = add_flow(&mut net, flow)?;
        let key = (flow.to.clone(), flow.port, built.protocol);
        if let Some(first) = listeners.get(&key) {
            return Err(BuildError::PortClash {
                first: first.clone(),
                second: flow.name.clone(),
                host: flow.to.clone(),
                port: flow.port,
                protocol: built.protocol,
            });
        }
        listeners.insert(key, flow.name.clone());
        flows.push(built);
    }
    for link in &scenario.captures {
        net.capture_with_snaplen(link, scenario.snaplen_of(link))
            .map_err(|_| BuildError::UnknownLink {
                context: "capture".to_string(),
                link: link.clone(),
            })?;
    }
    Ok(Built {
        network: net,
        flows,
    })
}
