//! The typed scenario: topology, flows, captures, seed and duration. Plain values,
//! already validated by whoever built them (the TOML reader checks names, ranges
//! and references and reports the line and key of a mistake).

use crate::link::LinkConfig;
use layer4::ip::cidr::IpCidr;
use layer4::time::Duration;

/// A whole simulation run.
#[derive(Debug, Clone, PartialEq)]
pub struct Scenario {
    /// A name for reports and plot titles.
    pub name: String,
    /// Seeds every random generator of the run (stacks, links, queues, apps).
    pub seed: u64,
    /// How long to simulate (virtual time).
    pub duration: Duration,
    /// How often time series are sampled (default 100 ms).
    pub sample_interval: Duration,
    /// Nodes and links.
    pub topology: Topology,
    /// Traffic.
    pub flows: Vec<Flow>,
    /// Names of links to capture to pcap (both directions of each).
    pub captures: Vec<String>,
    /// Octets kept of each captured packet (the pcap snapshot length), for captured
    /// links without their own entry in `capture_snaplens`; 0 keeps whole packets.
    /// Default [`DEFAULT_CAPTURE_SNAPLEN`].
    pub capture_snaplen: u32,
    /// Per-link snapshot lengths (`[[captures]]` tables with `snaplen`), overriding
    /// `capture_snaplen` for those links; 0 keeps whole packets.
    pub capture_snaplens: Vec<(String, u32)>,
}

/// The default snapshot length of captures: 128 octets hold an IPv6 header (40), an
/// 8-octet extension header such as a fragment header, and a TCP header with the
/// largest options (60), with room to spare; an IPv4 packet's headers need at most
/// 120. Payload is cut, which keeps a long run's pcap small.
pub const DEFAULT_CAPTURE_SNAPLEN: u32 = 128;

impl Scenario {
    /// The snapshot length of `link`'s capture: its own, else `capture_snaplen`
    /// (0 means whole packets).
    pub fn snaplen_of(&self, link: &str) -> u32 {
        self.capture_snaplens
            .iter()
            .find(|(l, _)| l == link)
            .map_or(self.capture_snaplen, |(_, n)| *n)
    }
}

/// IPv4 or IPv6 addressing for the named topologies.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum IpVersion {
    /// 10.0.0.0/8 addresses.
    #[default]
    V4,
    /// fd00::/8 addresses.
    V6,
}

/// The network's shape.
#[derive(Debug, Clone, PartialEq)]
pub enum Topology {
    /// `pairs` senders `left0..` behind router `r0`, a `bottleneck` link to router
    /// `r1`, `pairs` receivers `right0..` behind it. Access links are named
    /// `left{i}` and `right{i}`.
    Dumbbell {
        /// Number of host pairs (>= 1).
        pairs: usize,
        /// The r0→r1 direction of the bottleneck (`reverse` is r1→r0).
        bottleneck: LinkConfig,
        /// The bottleneck's r1→r0 direction.
        bottleneck_reverse: LinkConfig,
        /// Every access link, both directions.
        access: LinkConfig,
        /// Address family.
        ip: IpVersion,
    },
    /// Routers `r0..r{hops}` in a chain joined by links `hop{i}` (r{i}→r{i+1});
    /// a long flow's hosts `src` (at r0) and `dst` (at r{hops}); one cross-traffic
    /// pair per hop, `cross{i}_src` at r{i} and `cross{i}_dst` at r{i+1}.
    ParkingLot {
        /// Number of bottleneck hops (>= 1).
        hops: usize,
        /// Every hop link, forward direction (`reverse` for the other).
        hop: LinkConfig,
        /// Every hop link's reverse direction.
        hop_reverse: LinkConfig,
        /// Every access link, both directions.
        access: LinkConfig,
        /// Address family.
        ip: IpVersion,
    },
    /// Nodes and links spelled out.
    Explicit {
        /// Hosts and routers.
        nodes: Vec<NodeSpec>,
        /// Links between them.
        links: Vec<LinkSpec>,
    },
}

/// A node of an explicit topology.
#[derive(Debug, Clone, PartialEq)]
pub struct NodeSpec {
    /// Unique name, used by links, flows and reports.
    pub name: String,
    /// Host or router.
    pub kind: NodeKind,
    /// Addresses with prefixes (`10.0.1.2/24`, `fd00:1::2/64`). A host needs at
    /// least one; a router uses its first of each family as the source of ICMP
    /// errors it sends.
    pub addresses: Vec<IpCidr>,
}

/// What a node is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NodeKind {
    /// A layer4 stack with applications; exactly one link.
    Host,
    /// Forwards by longest prefix; routes are computed from the topology (shortest
    /// path in hops to every host address).
    Router,
}

/// A duplex link of an explicit topology.
#[derive(Debug, Clone, PartialEq)]
pub struct LinkSpec {
    /// Unique name, used by captures and reports.
    pub name: String,
    /// One end (a node name).
    pub a: String,
    /// The other end.
    pub b: String,
    /// The a→b direction.
    pub forward: LinkConfig,
    /// The b→a direction.
    pub reverse: LinkConfig,
}

/// One flow of traffic between two hosts.
#[derive(Debug, Clone, PartialEq)]
pub struct Flow {
    /// Unique name, used in reports.
    pub name: String,
    /// The host that opens the connection (the client).
    pub from: String,
    /// The host that listens (the server).
    pub to: String,
    /// The server's port.
    pub port: u16,
    /// When the client starts, since the beginning of the run.
    pub start: Duration,
    /// Congestion controller of the data sender ("newreno", "cubic", "bbr"): the TCP
    /// applications that send data ask their stack for it by name. Reported as
    /// given.
    pub cc: String,
    /// The client asks for ECN (RFC 3168) on its SYN (TOML `ecn = true`; default
    /// false). Every host accepts ECN when asked (the stack's default, as Linux's
    /// `tcp_ecn = 2`), so this turns ECN on for the flow.
    pub ecn: bool,
    /// Accurate ECN (RFC 9768) for the flow (TOML `accecn = true`; default false):
    /// both hosts' stacks use [`EcnMode::AccEcn`](layer4::tcp::EcnMode), so the
    /// client asks for AccECN (unless `ecn` asks for classic ECN) and the server
    /// answers with it. Stack-wide, like the buffers.
    pub accecn: bool,
    /// The TCP send buffer of this flow's hosts (bytes; `None`: the stack's default,
    /// 256 KiB). The stack sizes buffers stack-wide, so this sets both hosts' TCP
    /// configuration; a host in several flows gets the largest value any of them asks.
    pub send_buffer: Option<usize>,
    /// The TCP receive buffer of this flow's hosts (bytes; `None`: the stack's
    /// default, 256 KiB); it bounds the advertised window and sets the window scale.
    /// Stack-wide like `send_buffer`.
    pub recv_buffer: Option<usize>,
    /// What the flow does.
    pub app: AppSpec,
}

/// A built-in application.
#[derive(Debug, Clone, PartialEq)]
pub enum AppSpec {
    /// TCP: the client sends `bytes` (or for `duration`, whichever is set; both set:
    /// whichever ends first), then closes.
    Bulk {
        /// Bytes to send.
        bytes: Option<u64>,
        /// How long to send.
        duration: Option<Duration>,
    },
    /// TCP: the client sends a request of `request_bytes`, the server answers with
    /// `response_bytes`; the next request follows `think_time` after the response
    /// ends. `count` requests, or until the run ends.
    RequestResponse {
        /// Request size.
        request_bytes: u64,
        /// Response size.
        response_bytes: u64,
        /// Pause between a response and the next request.
        think_time: Duration,
        /// Number of requests; `None` until the end of the run.
        count: Option<u64>,
    },
    /// TCP: the client sends as fast as the connection allows for `on`, is silent
    /// for `off`, and repeats, on one connection.
    OnOff {
        /// Sending period.
        on: Duration,
        /// Silent period.
        off: Duration,
    },
    /// UDP: datagrams of `packet_bytes` (payload) at `rate_bps`, for `duration` (or
    /// until the run ends).
    UdpCbr {
        /// Payload bit rate.
        rate_bps: u64,
        /// UDP payload size per datagram.
        packet_bytes: usize,
        /// How long to send.
        duration: Option<Duration>,
    },
}
