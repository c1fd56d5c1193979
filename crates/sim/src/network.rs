//! [`Network`]: hosts, routers and links on one virtual clock, for people who write
//! their own setups in Rust (a [`Scenario`](crate::scenario::Scenario) builds one
//! through [`crate::build`]).
//!
//! ```
//! use layer4::time::{Duration, Instant};
//! use layer4_sim::app::{BulkSender, TcpSink};
//! use layer4_sim::link::LinkConfig;
//! use layer4_sim::network::Network;
//!
//! let mut net = Network::new(7);
//! let cfg = |a: &str| layer4::Config::with_address(a.parse().unwrap());
//! net.add_host("a", cfg("10.0.1.2/24")).unwrap();
//! net.add_host("b", cfg("10.0.2.2/24")).unwrap();
//! net.add_router("r", vec!["10.0.1.1/24".parse().unwrap(), "10.0.2.1/24".parse().unwrap()]).unwrap();
//! let link = LinkConfig { rate_bps: Some(10_000_000), delay: Duration::from_millis(5), ..LinkConfig::default() };
//! net.add_link("ar", "a", "r", link.clone(), link.clone()).unwrap();
//! net.add_link("rb", "r", "b", link.clone(), link).unwrap();
//! net.compute_routes().unwrap();
//! let server = "10.0.2.2:5001".parse().unwrap();
//! let sink = net.add_app("b", Instant::ZERO, Box::new(TcpSink::new(server))).unwrap();
//! net.add_app("a", Instant::ZERO, Box::new(BulkSender::new(server, Some(100_000), None))).unwrap();
//! net.run_until(Instant::ZERO + Duration::from_secs(2));
//! assert_eq!(net.app_stats(sink).unwrap().bytes_received, 100_000);
//! ```
//!
//! # How a run proceeds
//!
//! Everything happens in events on a [`Scheduler`] ordered by (time, sequence):
//! a link direction's wake-up (a transmission ends, a packet reaches the far end), a
//! host's wake-up (a stack timer, an application's start or timer), or a delayed
//! packet entering a link after its middlebox said [`Verdict::Delay`]. A packet that
//! reaches a router is forwarded at the same instant; one that reaches a host goes
//! through its stack, and whatever the stack and the applications send in response
//! is offered to the host's link at once.
//!
//! On entering a link direction a packet meets, in order: the direction's
//! [`Middlebox`], the link's capture (if any), then the [`Link`] itself (MTU check,
//! queue, transmission, impairments, delay).
//!
//! # Routes
//!
//! A host's stack gets an on-link default route for each address family it has an
//! address in (unless its configuration has one), so it sends everything into its
//! one link. Routers forward by longest-prefix match on their
//! [`ForwardingTable`](crate::node::ForwardingTable):
//! [`Network::compute_routes`] gives every router a host route (`/32`, `/128`) to every
//! address of every node, along a shortest path in hops (ties: the router's link added
//! first); [`Network::add_route`] adds a route by hand, which a computation leaves
//! alone for its own prefix.

use crate::app::{AppContext, AppStats, Application};
use crate::capture::Capture;
use crate::engine::{component_rng, component_seed, Fired, Scheduler, Slot};
use crate::error::BuildError;
use crate::link::{Link, LinkConfig};
use crate::node::host::{AppSlot, Host};
use crate::node::router::{Iface, Router};
use crate::node::{ForwardingTable, Middlebox, RouterStats, Verdict};
use crate::packet::Packet;
use layer4::ip::cidr::IpCidr;
use layer4::ip::route::Route;
use layer4::rand::StackRng;
use layer4::time::Instant;
use layer4::Stack;
use std::collections::{HashMap, VecDeque};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// A node of a [`Network`], by the order it was added.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct NodeId(pub usize);

/// A duplex link of a [`Network`], by the order it was added.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct LinkId(pub usize);

/// An application: the host it runs on and its index there.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct AppId {
    /// The host.
    pub host: NodeId,
    /// The application's index among the host's.
    pub index: usize,
}

/// One direction of a duplex link.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Direction {
    /// From the link's first node (`a`) to its second (`b`).
    Forward,
    /// From `b` to `a`.
    Reverse,
}

/// Where a node's state lives.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum NodeRef {
    Host(usize),
    Router(usize),
}

#[derive(Debug)]
struct Node {
    name: String,
    kind: NodeRef,
    /// Link directions leaving the node, in the order links were added.
    out: Vec<usize>,
}

/// Whose wake-up a scheduler slot is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Waker {
    /// A link direction.
    Link(usize),
    /// A host.
    Host(usize),
}

/// A one-off event: a packet a middlebox delayed enters its link.
#[derive(Debug)]
pub(crate) struct Enter {
    link: usize,
    packet: Packet,
}

/// One direction of a duplex link and what sits at its entrance.
#[derive(Debug)]
pub(crate) struct LinkDir {
    pub(crate) link: Link,
    pub(crate) duplex: usize,
    pub(crate) from: usize,
    pub(crate) to: usize,
    pub(crate) to_ref: NodeRef,
    pub(crate) middlebox: Option<Box<dyn Middlebox>>,
    pub(crate) middlebox_drops: u64,
    pub(crate) wake: Slot,
}

#[derive(Debug)]
struct Duplex {
    name: String,
    a: usize,
    b: usize,
    fwd: usize,
    rev: usize,
}

/// The most spare packet buffers kept for reuse.
const POOL_MAX: usize = 4096;

/// The links, captures and event queue: everything a node touches when it sends.
#[derive(Debug, Default)]
pub(crate) struct Fabric {
    pub(crate) links: Vec<LinkDir>,
    pub(crate) captures: Vec<Option<Capture>>,
    pub(crate) events: Scheduler<Waker, Enter>,
    pool: Vec<Vec<u8>>,
    next_uid: u64,
}

impl Fabric {
    /// A zeroed buffer of `len` bytes, reused when possible.
    pub(crate) fn buffer(&mut self, len: usize) -> Vec<u8> {
        let mut v = self.pool.pop().unwrap_or_default();
        v.clear();
        v.resize(len, 0);
        v
    }

    /// A buffer of exactly `len` bytes for a stack to write a packet into. Its
    /// contents are whatever the pooled buffer held (the writer overwrites what it
    /// uses); only growth is zeroed, so a buffer that held a full-size packet is
    /// ready at no cost.
    pub(crate) fn tx_buffer(&mut self, len: usize) -> Vec<u8> {
        let mut v = self.pool.pop().unwrap_or_default();
        if v.len() < len {
            v.resize(len, 0);
        } else {
            v.truncate(len);
        }
        v
    }

    /// A packet around `data`, with the next uid.
    pub(crate) fn packet_from_vec(&mut self, data: Vec<u8>) -> Packet {
        self.next_uid += 1;
        Packet::new(data, self.next_uid)
    }

    /// Keeps `data`'s allocation for a later packet.
    pub(crate) fn recycle(&mut self, data: Vec<u8>) {
        if self.pool.len() < POOL_MAX && data.capacity() > 0 {
            self.pool.push(data);
        }
    }

    /// Offers `packet` to link direction `link` at `now`: middlebox, capture, link.
    pub(crate) fn offer(&mut self, now: Instant, link: usize, mut packet: Packet) {
        let dir = &mut self.links[link];
        let verdict = match dir.middlebox.as_mut() {
            Some(mb) => {
                // The middlebox sees current bytes and may change them.
                packet.expose();
                mb.on_packet(now, &mut packet)
            }
            None => Verdict::Pass,
        };
        match verdict {
            Verdict::Pass => self.enter(now, link, packet),
            Verdict::Drop => {
                dir.middlebox_drops += 1;
                self.recycle(packet.data);
            }
            Verdict::Delay(d) => self.events.push(now + d, Enter { link, packet }),
        }
    }

    /// `packet` enters link direction `link` (after its middlebox).
    #[inline]
    pub(crate) fn enter(&mut self, now: Instant, link: usize, mut packet: Packet) {
        let dir = &mut self.links[link];
        if let Some(capture) = self.captures[dir.duplex].as_mut() {
            packet.write_pending();
            capture.record(now, &packet.data);
        }
        dir.link.handle_packet(now, packet);
        self.schedule_link(link);
    }

    /// Queues the link's next wake-up if it changed.
    #[inline]
    pub(crate) fn schedule_link(&mut self, link: usize) {
        let dir = &self.links[link];
        self.events.set(dir.wake, dir.link.poll_timeout());
    }
}

fn too_many() -> BuildError {
    BuildError::Invalid {
        context: "network".to_string(),
        reason: format!(
            "more than {} hosts and link directions",
            crate::engine::MAX_SLOTS
        ),
    }
}

/// The most events and packet deliveries [`Network::run_until`] runs at one instant of
/// virtual time before it declares the run stalled ([`Network::stalled`]). Far above
/// what a run that moves on does at one instant (every packet of every window in
/// flight landing at once, across every hop: a few million for 10,000 flows), and
/// about a second of work.
pub const MAX_WORK_AT_ONE_INSTANT: u64 = 10_000_000;

/// A simulated network. See the [module docs](self).
#[derive(Debug)]
pub struct Network {
    seed: u64,
    now: Instant,
    nodes: Vec<Node>,
    node_names: HashMap<String, usize>,
    hosts: Vec<Host>,
    routers: Vec<Router>,
    duplexes: Vec<Duplex>,
    link_names: HashMap<String, usize>,
    fabric: Fabric,
    events_run: u64,
    packets_delivered: u64,
    /// Events and deliveries run since virtual time last moved.
    work_at_now: u64,
    /// [`MAX_WORK_AT_ONE_INSTANT`], lower in tests.
    max_work_at_now: u64,
    /// When virtual time stopped moving (see [`MAX_WORK_AT_ONE_INSTANT`]).
    stalled: Option<Instant>,
}

impl Network {
    /// An empty network; `seed` derives every stack's, link's and queue's generator.
    pub fn new(seed: u64) -> Network {
        Network {
            seed,
            now: Instant::ZERO,
            nodes: Vec::new(),
            node_names: HashMap::new(),
            hosts: Vec::new(),
            routers: Vec::new(),
            duplexes: Vec::new(),
            link_names: HashMap::new(),
            fabric: Fabric::default(),
            events_run: 0,
            packets_delivered: 0,
            work_at_now: 0,
            max_work_at_now: MAX_WORK_AT_ONE_INSTANT,
            stalled: None,
        }
    }

    /// The seed.
    pub fn seed(&self) -> u64 {
        self.seed
    }

    /// The current virtual time (runs start at [`Instant::ZERO`]).
    pub fn now(&self) -> Instant {
        self.now
    }

    /// A generator for a component of your own (a middlebox, an application) named
    /// `label`, derived from the network's seed.
    pub fn rng(&self, label: &str) -> StackRng {
        component_rng(self.seed, label)
    }

    fn add_node(&mut self, name: &str, kind: NodeRef) -> Result<NodeId, BuildError> {
        if self.node_names.contains_key(name) {
            return Err(BuildError::DuplicateName {
                kind: "node",
                name: name.to_string(),
            });
        }
        let id = self.nodes.len();
        self.nodes.push(Node {
            name: name.to_string(),
            kind,
            out: Vec::new(),
        });
        self.node_names.insert(name.to_string(), id);
        Ok(NodeId(id))
    }

    /// Adds a host running a layer4 stack built from `config`. Its seed is replaced
    /// by one derived from the network's seed and `name` (`"host/<name>"`), and an
    /// on-link default route is added for each address family that has none.
    pub fn add_host(
        &mut self,
        name: &str,
        mut config: layer4::Config,
    ) -> Result<NodeId, BuildError> {
        if self.node_names.contains_key(name) {
            return Err(BuildError::DuplicateName {
                kind: "node",
                name: name.to_string(),
            });
        }
        config.seed = component_seed(self.seed, &format!("host/{name}"));
        for v4 in [true, false] {
            let has_addr = config.addresses.iter().any(|a| a.is_ipv4() == v4);
            let has_default = config
                .routes
                .iter()
                .any(|r| r.dest.is_ipv4() == v4 && r.dest.prefix_len() == 0);
            if has_addr && !has_default {
                let any = if v4 {
                    IpAddr::V4(Ipv4Addr::UNSPECIFIED)
                } else {
                    IpAddr::V6(Ipv6Addr::UNSPECIFIED)
                };
                if let Ok(dest) = IpCidr::new(any, 0) {
                    config.routes.push(Route::new(dest, None));
                }
            }
        }
        let stack = Stack::new(config).map_err(|error| BuildError::Stack {
            host: name.to_string(),
            error,
        })?;
        let index = self.hosts.len();
        let wake = self
            .fabric
            .events
            .add_slot(Waker::Host(index))
            .ok_or_else(too_many)?;
        self.hosts.push(Host::new(stack, wake));
        self.add_node(name, NodeRef::Host(index))
    }

    /// Adds a router with `addresses` (its first of each family is the source of the
    /// ICMP errors it sends; without one of a family it sends none for that family).
    pub fn add_router(&mut self, name: &str, addresses: Vec<IpCidr>) -> Result<NodeId, BuildError> {
        if self.node_names.contains_key(name) {
            return Err(BuildError::DuplicateName {
                kind: "node",
                name: name.to_string(),
            });
        }
        let index = self.routers.len();
        self.routers.push(Router::new(addresses));
        self.add_node(name, NodeRef::Router(index))
    }

    fn node(&self, name: &str, context: impl FnOnce() -> String) -> Result<usize, BuildError> {
        self.node_names
            .get(name)
            .copied()
            .ok_or_else(|| BuildError::UnknownNode {
                context: context(),
                node: name.to_string(),
            })
    }

    fn duplex(&self, name: &str, context: impl FnOnce() -> String) -> Result<usize, BuildError> {
        self.link_names
            .get(name)
            .copied()
            .ok_or_else(|| BuildError::UnknownLink {
                context: context(),
                link: name.to_string(),
            })
    }

    /// Joins nodes `a` and `b` with a duplex link: `fwd` carries a→b, `rev` b→a. A
    /// host takes exactly one link. Each direction's generator is derived from the
    /// seed and `"link/<name>/fwd"` or `"link/<name>/rev"`.
    pub fn add_link(
        &mut self,
        name: &str,
        a: &str,
        b: &str,
        fwd: LinkConfig,
        rev: LinkConfig,
    ) -> Result<LinkId, BuildError> {
        if self.link_names.contains_key(name) {
            return Err(BuildError::DuplicateName {
                kind: "link",
                name: name.to_string(),
            });
        }
        let context = || format!("link {name:?}");
        let na = self.node(a, context)?;
        let nb = self.node(b, context)?;
        if na == nb {
            return Err(BuildError::SelfLoop {
                link: name.to_string(),
                node: a.to_string(),
            });
        }
        for n in [na, nb] {
            if matches!(self.nodes[n].kind, NodeRef::Host(_)) && !self.nodes[n].out.is_empty() {
                return Err(BuildError::HostLinks {
                    host: self.nodes[n].name.clone(),
                    links: self.nodes[n].out.len() + 1,
                });
            }
        }
        if self.hosts.len() + self.fabric.links.len() + 2 > crate::engine::MAX_SLOTS {
            return Err(too_many());
        }
        let duplex = self.duplexes.len();
        let fwd_id = self.fabric.links.len();
        let rev_id = fwd_id + 1;
        for (id, from, to, config, label) in
            [(fwd_id, na, nb, fwd, "fwd"), (rev_id, nb, na, rev, "rev")]
        {
            let mtu = config.mtu;
            let wake = self
                .fabric
                .events
                .add_slot(Waker::Link(id))
                .ok_or_else(too_many)?;
            let link = Link::new(
                config,
                component_rng(self.seed, &format!("link/{name}/{label}")),
            );
            self.fabric.links.push(LinkDir {
                link,
                duplex,
                from,
                to,
                to_ref: self.nodes[to].kind,
                middlebox: None,
                middlebox_drops: 0,
                wake,
            });
            self.nodes[from].out.push(id);
            match self.nodes[from].kind {
                NodeRef::Host(h) => self.hosts[h].link = Some(id),
                NodeRef::Router(r) => self.routers[r].ifaces.push(Iface { link: id, mtu }),
            }
        }
        self.fabric.captures.push(None);
        self.duplexes.push(Duplex {
            name: name.to_string(),
            a: na,
            b: nb,
            fwd: fwd_id,
            rev: rev_id,
        });
        self.link_names.insert(name.to_string(), duplex);
        Ok(LinkId(duplex))
    }

    /// Routes `dest` at `router` into link `link` (which must touch the router).
    pub fn add_route(&mut self, router: &str, dest: IpCidr, link: &str) -> Result<(), BuildError> {
        let context = || format!("route at {router:?}");
        let n = self.node(router, context)?;
        let NodeRef::Router(r) = self.nodes[n].kind else {
            return Err(BuildError::WrongKind {
                context: context(),
                node: router.to_string(),
                expected: "router",
            });
        };
        let d = self.duplex(link, context)?;
        let dir = &self.duplexes[d];
        let out = if dir.a == n {
            dir.fwd
        } else if dir.b == n {
            dir.rev
        } else {
            return Err(BuildError::Invalid {
                context: context(),
                reason: format!("link {link:?} does not touch the router"),
            });
        };
        let iface = self.routers[r]
            .ifaces
            .iter()
            .position(|i| i.link == out)
            .ok_or_else(|| BuildError::Invalid {
                context: context(),
                reason: "interface missing".to_string(),
            })?;
        self.routers[r].add_route(dest, iface);
        Ok(())
    }

    /// Checks that every host has its link and gives every router a host route to
    /// every node address along a shortest path (see the [module docs](self)).
    pub fn compute_routes(&mut self) -> Result<(), BuildError> {
        for node in &self.nodes {
            if matches!(node.kind, NodeRef::Host(_)) && node.out.len() != 1 {
                return Err(BuildError::HostLinks {
                    host: node.name.clone(),
                    links: node.out.len(),
                });
            }
        }
        for r in &mut self.routers {
            r.clear_computed_routes();
        }
        // Incoming link directions per node, in the order added.
        let mut incoming: Vec<Vec<usize>> = vec![Vec::new(); self.nodes.len()];
        for (id, dir) in self.fabric.links.iter().enumerate() {
            incoming[dir.to].push(id);
        }
        for dest in 0..self.nodes.len() {
            let addresses = self.node_addresses(dest);
            if addresses.is_empty() {
                continue;
            }
            // Hop counts to the destination, breadth-first over reversed links; only
            // routers pass traffic on, so only routers are expanded.
            let mut dist: Vec<Option<usize>> = vec![None; self.nodes.len()];
            dist[dest] = Some(0);
            let mut queue = VecDeque::from([dest]);
            while let Some(u) = queue.pop_front() {
                let du = dist[u].unwrap_or(0);
                for &d in &incoming[u] {
                    let v = self.fabric.links[d].from;
                    if dist[v].is_some() {
                        continue;
                    }
                    dist[v] = Some(du + 1);
                    if matches!(self.nodes[v].kind, NodeRef::Router(_)) {
                        queue.push_back(v);
                    }
                }
            }
            // Each router's next hop: its first link (in the order added) to a
            // neighbour one hop closer that forwards (a router) or is the destination.
            let mut first_hop: Vec<Option<usize>> = vec![None; self.nodes.len()];
            for (v, node) in self.nodes.iter().enumerate() {
                let (NodeRef::Router(_), Some(dv)) = (node.kind, dist[v]) else {
                    continue;
                };
                first_hop[v] = node.out.iter().copied().find(|&d| {
                    let to = self.fabric.links[d].to;
                    (to == dest || matches!(self.nodes[to].kind, NodeRef::Router(_)))
                        && dist[to].is_some_and(|dt| dt + 1 == dv)
                });
            }
            for (v, hop) in first_hop.iter().enumerate() {
                let (Some(d), NodeRef::Router(r)) = (hop, self.nodes[v].kind) else {
                    continue;
                };
                let Some(iface) = self.routers[r].ifaces.iter().position(|i| i.link == *d) else {
                    continue;
                };
                for a in &addresses {
                    let len = if a.is_ipv4() { 32 } else { 128 };
                    if let Ok(host_route) = IpCidr::new(a.addr(), len) {
                        self.routers[r].add_computed_route(host_route, iface);
                    }
                }
            }
        }
        Ok(())
    }

    fn node_addresses(&self, node: usize) -> Vec<IpCidr> {
        match self.nodes[node].kind {
            NodeRef::Host(h) => self.hosts[h].stack.config().addresses.clone(),
            NodeRef::Router(r) => self.routers[r].addresses.clone(),
        }
    }

    /// Whether packets from host `from` can reach host `to` (a path of links through
    /// routers whose tables lead there, checked for every address of `to`'s in the
    /// family of `dst`).
    pub fn reachable(&self, from: &str, dst: IpAddr) -> bool {
        let Some(&n) = self.node_names.get(from) else {
            return false;
        };
        let mut at = n;
        for _ in 0..=self.nodes.len() {
            if self.node_addresses(at).iter().any(|a| a.addr() == dst) {
                return true;
            }
            let next_dir = match self.nodes[at].kind {
                NodeRef::Host(h) if at == n => self.hosts[h].link,
                NodeRef::Host(_) => None,
                NodeRef::Router(r) => {
                    let router = &self.routers[r];
                    router.table.lookup(dst).map(|i| router.ifaces[i].link)
                }
            };
            let Some(d) = next_dir else { return false };
            at = self.fabric.links[d].to;
        }
        false
    }

    /// Replaces the middlebox at the entrance of one direction of `link`.
    pub fn set_middlebox(
        &mut self,
        link: &str,
        direction: Direction,
        middlebox: Box<dyn Middlebox>,
    ) -> Result<(), BuildError> {
        let d = self.duplex(link, || "middlebox".to_string())?;
        let id = self.direction_id(d, direction);
        self.fabric.links[id].middlebox = Some(middlebox);
        Ok(())
    }

    fn direction_id(&self, duplex: usize, direction: Direction) -> usize {
        match direction {
            Direction::Forward => self.duplexes[duplex].fwd,
            Direction::Reverse => self.duplexes[duplex].rev,
        }
    }

    /// Packets the middlebox of a link direction dropped.
    pub fn middlebox_drops(&self, link: &str, direction: Direction) -> Option<u64> {
        let d = *self.link_names.get(link)?;
        Some(self.fabric.links[self.direction_id(d, direction)].middlebox_drops)
    }

    /// Runs `app` on `host` from `start` on.
    pub fn add_app(
        &mut self,
        host: &str,
        start: Instant,
        app: Box<dyn Application>,
    ) -> Result<AppId, BuildError> {
        let context = || "application".to_string();
        let n = self.node(host, context)?;
        let NodeRef::Host(h) = self.nodes[n].kind else {
            return Err(BuildError::WrongKind {
                context: context(),
                node: host.to_string(),
                expected: "host",
            });
        };
        let host_state = &mut self.hosts[h];
        host_state.apps.push(AppSlot {
            app,
            start_at: Some(start.max(self.now)),
        });
        let index = host_state.apps.len() - 1;
        host_state.reschedule(&mut self.fabric);
        Ok(AppId {
            host: NodeId(n),
            index,
        })
    }

    /// Starts capturing both directions of `link` (see [`crate::capture`]), whole
    /// packets.
    pub fn capture(&mut self, link: &str) -> Result<(), BuildError> {
        self.capture_with_snaplen(link, 0)
    }

    /// Starts capturing both directions of `link`, keeping the first `snaplen`
    /// octets of each packet (0: whole packets; see [`Capture::with_snaplen`]).
    /// A link already captured keeps its capture.
    pub fn capture_with_snaplen(&mut self, link: &str, snaplen: u32) -> Result<(), BuildError> {
        let d = self.duplex(link, || "capture".to_string())?;
        if self.fabric.captures[d].is_none() {
            self.fabric.captures[d] = Some(Capture::with_snaplen(snaplen));
        }
        Ok(())
    }

    /// The pcap file of `link` so far (`None` if it is not captured); the capture
    /// continues into a new file.
    pub fn take_capture(&mut self, link: &str) -> Option<Vec<u8>> {
        let d = *self.link_names.get(link)?;
        self.fabric.captures[d].as_mut().map(Capture::take)
    }

    /// Runs every event due up to and including `until`; the clock then reads `until`.
    pub fn run_until(&mut self, until: Instant) {
        if self.stalled.is_some() {
            return;
        }
        while let Some((at, fired)) = self.fabric.events.pop_until(until) {
            // The clock never runs backwards, even if a component asks for a time
            // already past.
            let at = at.max(self.now);
            if at > self.now {
                self.work_at_now = 0;
            } else if self.count_work_at_now() {
                return;
            }
            self.now = at;
            self.events_run += 1;
            match fired {
                Fired::Wake(Waker::Link(link)) => self.on_link(at, link),
                Fired::Wake(Waker::Host(host)) => self.hosts[host].on_wake(at, &mut self.fabric),
                Fired::Event(Enter { link, packet }) => self.fabric.enter(at, link, packet),
            }
        }
        self.now = self.now.max(until);
        // Links complete the transmissions that ended by now without an event of
        // their own (see `crate::link`): bring them up to date for whoever reads
        // them before the next run.
        for link in 0..self.fabric.links.len() {
            self.fabric.links[link].link.handle_timeout(self.now);
            self.fabric.schedule_link(link);
        }
    }

    /// Counts an event or a delivery at the current instant; true (and the run
    /// stalled) past [`MAX_WORK_AT_ONE_INSTANT`].
    #[inline(always)]
    fn count_work_at_now(&mut self) -> bool {
        self.work_at_now += 1;
        if self.work_at_now > self.max_work_at_now {
            self.stalled = Some(self.now);
            return true;
        }
        false
    }

    fn on_link(&mut self, now: Instant, link: usize) {
        while let Some(packet) = self.fabric.links[link].link.poll_deliver(now) {
            if self.count_work_at_now() {
                // Left undelivered: the run is over.
                self.fabric.recycle(packet.data);
                break;
            }
            self.packets_delivered += 1;
            match self.fabric.links[link].to_ref {
                NodeRef::Host(h) => self.hosts[h].deliver(now, packet, &mut self.fabric),
                NodeRef::Router(r) => self.routers[r].handle_packet(now, packet, &mut self.fabric),
            }
        }
        self.fabric.schedule_link(link);
    }

    fn host_index(&self, name: &str) -> Option<usize> {
        match self.nodes[*self.node_names.get(name)?].kind {
            NodeRef::Host(h) => Some(h),
            NodeRef::Router(_) => None,
        }
    }

    /// The stack of `host`.
    pub fn stack(&self, host: &str) -> Option<&Stack> {
        Some(&self.hosts[self.host_index(host)?].stack)
    }

    /// Calls `f` with `host`'s stack and the current time, then lets the host send
    /// what `f` queued and deliver its events (use this for socket calls from outside
    /// an application).
    pub fn with_stack<R>(
        &mut self,
        host: &str,
        f: impl FnOnce(&mut Stack, Instant) -> R,
    ) -> Option<R> {
        let h = self.host_index(host)?;
        let now = self.now;
        let r = f(&mut self.hosts[h].stack, now);
        self.hosts[h].service(now, &mut self.fabric);
        Some(r)
    }

    /// Calls `f` with application `id` and a context on its host (for poking an
    /// application from a test), then lets the host send and deliver events.
    pub fn with_app<R>(
        &mut self,
        id: AppId,
        f: impl FnOnce(&mut dyn Application, &mut AppContext<'_>) -> R,
    ) -> Option<R> {
        let NodeRef::Host(h) = self.nodes.get(id.host.0)?.kind else {
            return None;
        };
        let now = self.now;
        let host = &mut self.hosts[h];
        let slot = host.apps.get_mut(id.index)?;
        let mut cx = AppContext::new(now, &mut host.stack, &mut host.owners, id.index);
        let r = f(slot.app.as_mut(), &mut cx);
        host.service(now, &mut self.fabric);
        Some(r)
    }

    /// What application `id` has done so far.
    pub fn app_stats(&self, id: AppId) -> Option<AppStats> {
        let NodeRef::Host(h) = self.nodes.get(id.host.0)?.kind else {
            return None;
        };
        Some(self.hosts[h].apps.get(id.index)?.app.stats())
    }

    /// The addresses of a node.
    pub fn addresses(&self, node: &str) -> Option<Vec<IpCidr>> {
        Some(self.node_addresses(*self.node_names.get(node)?))
    }

    /// Whether `node` is a host.
    pub fn is_host(&self, node: &str) -> bool {
        self.host_index(node).is_some()
    }

    /// One direction of `link`.
    pub fn link(&self, link: &str, direction: Direction) -> Option<&Link> {
        let d = *self.link_names.get(link)?;
        Some(&self.fabric.links[self.direction_id(d, direction)].link)
    }

    /// The link names, in the order added.
    pub fn link_names(&self) -> impl Iterator<Item = &str> + '_ {
        self.duplexes.iter().map(|d| d.name.as_str())
    }

    /// The two ends of `link`: (a, b).
    pub fn link_ends(&self, link: &str) -> Option<(&str, &str)> {
        let d = &self.duplexes[*self.link_names.get(link)?];
        Some((&self.nodes[d.a].name, &self.nodes[d.b].name))
    }

    /// The counters of `router`.
    pub fn router_stats(&self, router: &str) -> Option<RouterStats> {
        match self.nodes[*self.node_names.get(router)?].kind {
            NodeRef::Router(r) => Some(self.routers[r].stats),
            NodeRef::Host(_) => None,
        }
    }

    /// The forwarding table of `router`: (prefix, name of the link it leaves by).
    pub fn routes(&self, router: &str) -> Option<Vec<(IpCidr, String)>> {
        let NodeRef::Router(r) = self.nodes[*self.node_names.get(router)?].kind else {
            return None;
        };
        let router = &self.routers[r];
        let table: &ForwardingTable = &router.table;
        Some(
            table
                .iter()
                .map(|(prefix, iface)| {
                    let d = self.fabric.links[router.ifaces[iface].link].duplex;
                    (prefix, self.duplexes[d].name.clone())
                })
                .collect(),
        )
    }

    /// When virtual time stopped moving: more than [`MAX_WORK_AT_ONE_INSTANT`] events
    /// and deliveries ran at that instant, so the run could never reach its end (a
    /// flow across links with neither delay nor a rate limit answers itself at the
    /// same instant, for ever). [`run_until`](Self::run_until) then runs nothing more.
    pub fn stalled(&self) -> Option<Instant> {
        self.stalled
    }

    /// A lower [`MAX_WORK_AT_ONE_INSTANT`], for tests that stall on purpose.
    #[cfg(test)]
    pub(crate) fn set_max_work_at_one_instant(&mut self, work: u64) {
        self.max_work_at_now = work;
    }

    /// Events run so far (stale wake-ups not counted).
    pub fn events_run(&self) -> u64 {
        self.events_run
    }

    /// Packets delivered at the far end of any link so far.
    pub fn packets_delivered(&self) -> u64 {
        self.packets_delivered
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn host(net: &mut Network, name: &str, addr: &str) {
        net.add_host(name, layer4::Config::with_address(addr.parse().unwrap()))
            .unwrap();
    }

    /// a — r0 — {r1, r2} — r3 — b: two equal paths; the link added first wins.
    #[test]
    fn shortest_path_ties_go_to_the_link_added_first() {
        let mut net = Network::new(1);
        host(&mut net, "a", "10.0.1.2/24");
        host(&mut net, "b", "10.0.2.2/24");
        for r in ["r0", "r1", "r2", "r3"] {
            net.add_router(r, Vec::new()).unwrap();
        }
        let c = LinkConfig::default;
        net.add_link("a", "a", "r0", c(), c()).unwrap();
        net.add_link("b", "r3", "b", c(), c()).unwrap();
        net.add_link("r0r2", "r0", "r2", c(), c()).unwrap();
        net.add_link("r0r1", "r0", "r1", c(), c()).unwrap();
        net.add_link("r1r3", "r1", "r3", c(), c()).unwrap();
        net.add_link("r2r3", "r2", "r3", c(), c()).unwrap();
        net.compute_routes().unwrap();
        let to_b = |r: &str| {
            net.routes(r)
                .unwrap()
                .into_iter()
                .find(|(p, _)| p.to_string() == "10.0.2.2/32")
                .map(|(_, l)| l)
        };
        assert_eq!(to_b("r0").as_deref(), Some("r0r2"));
        assert_eq!(to_b("r3").as_deref(), Some("b"));
        assert!(net.reachable("a", "10.0.2.2".parse().unwrap()));
        assert!(!net.reachable("a", "10.9.9.9".parse().unwrap()));
    }

    #[test]
    fn a_host_takes_one_link_only() {
        let mut net = Network::new(1);
        host(&mut net, "a", "10.0.1.2/24");
        net.add_router("r", Vec::new()).unwrap();
        net.add_router("s", Vec::new()).unwrap();
        let c = LinkConfig::default;
        net.add_link("ar", "a", "r", c(), c()).unwrap();
        let e = net.add_link("as", "a", "s", c(), c()).unwrap_err();
        assert_eq!(
            e,
            BuildError::HostLinks {
                host: "a".to_string(),
                links: 2
            }
        );
        assert!(matches!(
            net.add_link("rr", "r", "r", c(), c()),
            Err(BuildError::SelfLoop { .. })
        ));
    }

    #[test]
    fn manual_route_survives_route_computation() {
        let mut net = Network::new(1);
        host(&mut net, "a", "10.0.1.2/24");
        host(&mut net, "b", "10.0.2.2/24");
        net.add_router("r", Vec::new()).unwrap();
        let c = LinkConfig::default;
        net.add_link("ar", "a", "r", c(), c()).unwrap();
        net.add_link("rb", "r", "b", c(), c()).unwrap();
        net.add_route("r", "10.0.2.2/32".parse().unwrap(), "ar")
            .unwrap();
        net.compute_routes().unwrap();
        let routes = net.routes("r").unwrap();
        assert!(routes
            .iter()
            .any(|(p, l)| p.to_string() == "10.0.2.2/32" && l == "ar"));
    }
}
