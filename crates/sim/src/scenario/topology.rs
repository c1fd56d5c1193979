//! The network's shape: a named topology (`[topology] kind = "dumbbell"` or
//! `"parking_lot"`) or explicit `[[nodes]]` and `[[links]]`; and [`Net`], the names
//! of its hosts, routers and links that flows and captures refer to.

use super::error::Sink;
use super::link::{read_duplex, Traces, DIRECTION_KEYS};
use super::reader::{Item, Table};
use crate::scenario::model::{IpVersion, LinkSpec, NodeKind, NodeSpec, Topology};
use layer4::ip::cidr::IpCidr;
use std::collections::HashMap;
use std::ops::Range;

/// Most host pairs of a dumbbell.
pub const MAX_PAIRS: u64 = 1000;
/// Most hops of a parking lot.
pub const MAX_HOPS: u64 = 100;
/// Most explicit nodes, and most explicit links.
pub const MAX_ELEMENTS: usize = 10_000;

/// A node as references see it.
#[derive(Debug, Clone)]
pub(crate) struct NetNode {
    pub(crate) kind: NodeKind,
    /// Address families the node has: (IPv4, IPv6).
    pub(crate) families: (bool, bool),
    /// Indices into `Net::links` of the links attached.
    pub(crate) links: Vec<usize>,
}

/// The names in a topology.
#[derive(Debug, Default)]
pub(crate) struct Net {
    pub(crate) nodes: HashMap<String, NetNode>,
    /// `(name, a, b)`.
    pub(crate) links: Vec<(String, String, String)>,
}

impl Net {
    fn add_node(&mut self, name: String, kind: NodeKind, families: (bool, bool)) {
        self.nodes.insert(
            name,
            NetNode {
                kind,
                families,
                links: Vec::new(),
            },
        );
    }

    fn add_link(&mut self, name: String, a: &str, b: &str) {
        let index = self.links.len();
        for end in [a, b] {
            if let Some(node) = self.nodes.get_mut(end) {
                node.links.push(index);
            }
        }
        self.links.push((name, a.to_string(), b.to_string()));
    }

    /// Whether a link of that name exists.
    pub(crate) fn has_link(&self, name: &str) -> bool {
        self.links.iter().any(|(n, _, _)| n == name)
    }

    /// Whether `to` can be reached from `from` over the links.
    pub(crate) fn connected(&self, from: &str, to: &str) -> bool {
        let mut seen = vec![from.to_string()];
        let mut next = vec![from.to_string()];
        while let Some(node) = next.pop() {
            if node == to {
                return true;
            }
            let Some(n) = self.nodes.get(&node) else {
                continue;
            };
            for &l in &n.links {
                let Some((_, a, b)) = self.links.get(l) else {
                    continue;
                };
                let other = if *a == node { b } else { a };
                if !seen.contains(other) {
                    seen.push(other.clone());
                    next.push(other.clone());
                }
            }
        }
        false
    }

    fn named(
        hosts: &[String],
        routers: usize,
        links: &[(String, String, String)],
        ip: IpVersion,
    ) -> Net {
        let families = match ip {
            IpVersion::V4 => (true, false),
            IpVersion::V6 => (false, true),
        };
        let mut net = Net::default();
        for r in 0..routers {
            net.add_node(format!("r{r}"), NodeKind::Router, families);
        }
        for h in hosts {
            net.add_node(h.clone(), NodeKind::Host, families);
        }
        for (name, a, b) in links {
            net.add_link(name.clone(), a, b);
        }
        net
    }

    /// A dumbbell's names (see [`Topology::Dumbbell`]).
    pub(crate) fn dumbbell(pairs: usize, ip: IpVersion) -> Net {
        let mut hosts = Vec::new();
        let mut links = vec![("bottleneck".to_string(), "r0".to_string(), "r1".to_string())];
        for i in 0..pairs {
            for (side, router) in [("left", "r0"), ("right", "r1")] {
                let host = format!("{side}{i}");
                links.push((host.clone(), host.clone(), router.to_string()));
                hosts.push(host);
            }
        }
        Net::named(&hosts, 2, &links, ip)
    }

    /// A parking lot's names (see [`Topology::ParkingLot`]); access links are named
    /// after their host.
    pub(crate) fn parking_lot(hops: usize, ip: IpVersion) -> Net {
        let mut hosts = Vec::new();
        let mut links = Vec::new();
        let mut access = |host: String, router: usize| {
            links.push((host.clone(), host.clone(), format!("r{router}")));
            hosts.push(host);
        };
        access("src".into(), 0);
        access("dst".into(), hops);
        for i in 0..hops {
            access(format!("cross{i}_src"), i);
            access(format!("cross{i}_dst"), i + 1);
        }
        for i in 0..hops {
            links.push((format!("hop{i}"), format!("r{i}"), format!("r{}", i + 1)));
        }
        Net::named(&hosts, hops + 1, &links, ip)
    }
}

/// Reads the topology from the root table: `[topology]`, or `[[nodes]]` and
/// `[[links]]`. The names ([`Net`]) come back whenever the shape could be read, even
/// if a link's settings could not, so that flows and captures are still checked.
pub(crate) fn read_topology(
    sink: &mut Sink<'_>,
    traces: &mut Traces<'_>,
    root: &Table<'_, '_>,
) -> (Option<Topology>, Option<Net>) {
    let named = root.get("topology");
    let nodes = root.get("nodes");
    let links = root.get("links");
    match (named, nodes.or(links)) {
        (Some(_), Some(explicit)) => {
            explicit.error(
                sink,
                "a named [topology] and explicit [[nodes]]/[[links]] cannot be mixed: choose one",
            );
            (None, None)
        }
        (Some(t), None) => read_named(sink, traces, t),
        (None, Some(_)) => read_explicit(sink, traces, nodes, links),
        (None, None) => {
            sink.error(
                0..0,
                "topology",
                "missing: add a [topology] table (kind = \"dumbbell\" or \"parking_lot\") or [[nodes]] and [[links]]",
            );
            (None, None)
        }
    }
}

const NAMED_KEYS: &[&str] = &["kind", "pairs", "bottleneck", "access", "ip", "hops", "hop"];

fn read_named(
    sink: &mut Sink<'_>,
    traces: &mut Traces<'_>,
    item: Item<'_, '_>,
) -> (Option<Topology>, Option<Net>) {
    let Some(table) = item.table(sink, NAMED_KEYS) else {
        return (None, None);
    };
    let Some(kind_item) = table.require(sink, "kind") else {
        return (None, None);
    };
    let Some(kind) = kind_item.str(sink) else {
        return (None, None);
    };
    let (own, count_key, link_key, max): (&[&str], _, _, _) = match kind {
        "dumbbell" => (
            &["kind", "pairs", "bottleneck", "access", "ip"],
            "pairs",
            "bottleneck",
            MAX_PAIRS,
        ),
        "parking_lot" => (
            &["kind", "hops", "hop", "access", "ip"],
            "hops",
            "hop",
            MAX_HOPS,
        ),
        other => {
            kind_item.error(
                sink,
                format!("unknown topology kind {other:?} (known: dumbbell, parking_lot; or write [[nodes]] and [[links]])"),
            );
            return (None, None);
        }
    };
    let foreign: Vec<&str> = NAMED_KEYS
        .iter()
        .copied()
        .filter(|k| !own.contains(k))
        .collect();
    table.reject(
        sink,
        &foreign,
        &format!("for topology kind {kind:?} (its keys: {})", own.join(", ")),
    );

    let count = match table.get(count_key) {
        Some(v) => match v.int(sink, 1, max) {
            Some(n) => n as usize,
            None => return (None, None),
        },
        None => 1,
    };
    let ip = match table.get("ip") {
        Some(v) => match v.str(sink) {
            Some("v4") => IpVersion::V4,
            Some("v6") => IpVersion::V6,
            Some(other) => {
                v.error(sink, format!("expected \"v4\" or \"v6\", not {other:?}"));
                return (None, None);
            }
            None => return (None, None),
        },
        None => IpVersion::V4,
    };
    let net = if kind == "dumbbell" {
        Net::dumbbell(count, ip)
    } else {
        Net::parking_lot(count, ip)
    };
    let main = table
        .require(sink, link_key)
        .and_then(|v| v.table(sink, &LINK_TABLE_KEYS[3..]))
        .and_then(|t| read_duplex(sink, traces, &t, Ok(())));
    let access = match table.get("access") {
        Some(v) => v
            .table(sink, &LINK_TABLE_KEYS[3..])
            .and_then(|t| read_duplex(sink, traces, &t, Err("access links are the same both ways")))
            .map(|(forward, _)| forward),
        None => Some(Default::default()),
    };
    let (Some((forward, reverse)), Some(access)) = (main, access) else {
        return (None, Some(net));
    };
    let topology = if kind == "dumbbell" {
        Topology::Dumbbell {
            pairs: count,
            bottleneck: forward,
            bottleneck_reverse: reverse,
            access,
            ip,
        }
    } else {
        Topology::ParkingLot {
            hops: count,
            hop: forward,
            hop_reverse: reverse,
            access,
            ip,
        }
    };
    (Some(topology), Some(net))
}

/// Keys of an explicit `[[links]]` entry; from index 3 on, those of any link table.
const LINK_TABLE_KEYS: &[&str] = &[
    "name",
    "a",
    "b",
    "forward",
    "reverse",
    "rate",
    "delay",
    "jitter",
    "jitter_reorders",
    "loss",
    "duplicate",
    "corrupt",
    "reorder",
    "mtu",
    "trace",
    "outages",
    "queue",
    "drop_icmp",
];

fn read_explicit(
    sink: &mut Sink<'_>,
    traces: &mut Traces<'_>,
    nodes_item: Option<Item<'_, '_>>,
    links_item: Option<Item<'_, '_>>,
) -> (Option<Topology>, Option<Net>) {
    debug_assert_eq!(&LINK_TABLE_KEYS[5..], DIRECTION_KEYS);
    let before = sink.len();
    let mut net = Net::default();
    let mut nodes = Vec::new();
    let mut node_spans: HashMap<String, Range<usize>> = HashMap::new();
    let mut addresses: HashMap<std::net::IpAddr, String> = HashMap::new();
    let node_entries = match nodes_item.map(|item| item.array(sink)) {
        Some(Some(entries)) => entries,
        Some(None) => return (None, None),
        None => {
            sink.error(0..0, "nodes", "missing: explicit [[links]] need [[nodes]]");
            return (None, None);
        }
    };
    if node_entries.len() > MAX_ELEMENTS {
        if let Some(i) = nodes_item {
            i.error(sink, format!("at most {MAX_ELEMENTS} nodes"));
        }
        return (None, None);
    }
    for (path, value) in &node_entries {
        let item = Item { path, value };
        let Some(table) = item.table(sink, &["name", "kind", "addresses"]) else {
            continue;
        };
        let Some(name_item) = table.require(sink, "name") else {
            continue;
        };
        let Some(name) = name_item.name(sink) else {
            continue;
        };
        if node_spans.contains_key(&name) {
            name_item.error(sink, format!("a node named {name:?} already exists"));
            continue;
        }
        node_spans.insert(name.clone(), name_item.span());
        let kind = match table.get("kind") {
            None => NodeKind::Host,
            Some(v) => match v.str(sink) {
                Some("host") => NodeKind::Host,
                Some("router") => NodeKind::Router,
                Some(other) => {
                    v.error(
                        sink,
                        format!("expected \"host\" or \"router\", not {other:?}"),
                    );
                    continue;
                }
                None => continue,
            },
        };
        let mut cidrs = Vec::new();
        if let Some(list) = table.get("addresses") {
            for (apath, avalue) in list.array(sink).unwrap_or_default() {
                let a = Item {
                    path: &apath,
                    value: avalue,
                };
                let Some(text) = a.str(sink) else { continue };
                match text.parse::<IpCidr>() {
                    Ok(cidr) => {
                        let ip = cidr.addr();
                        if let Some(owner) = addresses.insert(ip, name.clone()) {
                            a.error(sink, format!("address {ip} is already used by node {owner:?}"));
                        }
                        cidrs.push(cidr);
                    }
                    Err(e) => a.error(sink, format!("expected an address with a prefix like \"10.0.1.2/24\" or \"fd00:1::2/64\": {e}")),
                }
            }
        }
        if kind == NodeKind::Host && cidrs.is_empty() && table.get("addresses").is_none() {
            sink.error(
                table.span(),
                &super::reader::join(table.path(), "addresses"),
                "missing: a host needs at least one address",
            );
        }
        let families = (
            cidrs.iter().any(|c| matches!(c, IpCidr::V4(_))),
            cidrs.iter().any(|c| matches!(c, IpCidr::V6(_))),
        );
        net.add_node(name.clone(), kind, families);
        nodes.push(NodeSpec {
            name,
            kind,
            addresses: cidrs,
        });
    }

    let mut links = Vec::new();
    let link_entries = match links_item.map(|item| item.array(sink)) {
        Some(Some(entries)) => entries,
        Some(None) => return (None, Some(net)),
        None => Vec::new(),
    };
    if link_entries.len() > MAX_ELEMENTS {
        if let Some(i) = links_item {
            i.error(sink, format!("at most {MAX_ELEMENTS} links"));
        }
        return (None, Some(net));
    }
    for (index, (path, value)) in link_entries.iter().enumerate() {
        let item = Item { path, value };
        let Some(table) = item.table(sink, LINK_TABLE_KEYS) else {
            continue;
        };
        let name = match table.get("name") {
            Some(v) => match v.name(sink) {
                Some(n) => n,
                None => continue,
            },
            None => format!("link{index}"),
        };
        if net.has_link(&name) {
            let span = table.key_span("name").unwrap_or(table.span());
            sink.error(
                span,
                &super::reader::join(table.path(), "name"),
                format!("a link named {name:?} already exists"),
            );
            continue;
        }
        let mut ends = Vec::new();
        for key in ["a", "b"] {
            let Some(v) = table.require(sink, key) else {
                continue;
            };
            let Some(end) = v.str(sink) else { continue };
            match net.nodes.get(end) {
                None => v.error(
                    sink,
                    format!("no node named {end:?}{}", near(end, net.nodes.keys())),
                ),
                Some(node) if node.kind == NodeKind::Host && !node.links.is_empty() => {
                    let other = net
                        .links
                        .get(node.links[0])
                        .map(|l| l.0.as_str())
                        .unwrap_or("?");
                    v.error(
                        sink,
                        format!(
                            "host {end:?} already has link {other:?}; a host has exactly one link"
                        ),
                    );
                }
                Some(_) => {
                    if ends.contains(&end) {
                        v.error(sink, "a link joins two different nodes");
                    } else {
                        ends.push(end);
                    }
                }
            }
        }
        let Some((forward, reverse)) = read_duplex(sink, traces, &table, Ok(())) else {
            continue;
        };
        if let [a, b] = ends[..] {
            net.add_link(name.clone(), a, b);
            links.push(LinkSpec {
                name,
                a: a.to_string(),
                b: b.to_string(),
                forward,
                reverse,
            });
        }
    }
    for node in &nodes {
        if node.kind == NodeKind::Host
            && net
                .nodes
                .get(&node.name)
                .is_some_and(|n| n.links.is_empty())
        {
            if let Some(span) = node_spans.get(&node.name) {
                sink.error(
                    span.clone(),
                    "nodes",
                    format!("host {:?} has no link", node.name),
                );
            }
        }
    }
    (
        (sink.len() == before).then_some(Topology::Explicit { nodes, links }),
        Some(net),
    )
}

/// `" (known: a, b, c)"` when there are few names to choose from, or `""`.
pub(crate) fn near<'n>(name: &str, names: impl Iterator<Item = &'n String>) -> String {
    let _ = name;
    let mut known: Vec<&str> = names.map(|s| s.as_str()).collect();
    known.sort_unstable();
    if known.is_empty() || known.len() > 8 {
        String::new()
    } else {
        format!(" (known: {})", known.join(", "))
    }
}
