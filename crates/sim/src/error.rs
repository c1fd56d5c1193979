//! [`BuildError`]: why a network or a scenario could not be built.

use layer4::ConfigError;

/// Why a [`Network`](crate::network::Network) call or
/// [`Simulation::new`](crate::simulation::Simulation::new) refused its input. The
/// message names the node, link or flow at fault.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BuildError {
    /// Two nodes, two links or two flows share a name.
    #[error("duplicate {kind} name {name:?}")]
    DuplicateName {
        /// "node", "link" or "flow".
        kind: &'static str,
        /// The repeated name.
        name: String,
    },
    /// A link, flow, capture or call names a node that does not exist.
    #[error("{context} names unknown node {node:?}")]
    UnknownNode {
        /// Where the name appeared (`link "x"`, `flow "y"`, ...).
        context: String,
        /// The unknown name.
        node: String,
    },
    /// A capture, middlebox or route names a link that does not exist.
    #[error("{context} names unknown link {link:?}")]
    UnknownLink {
        /// Where the name appeared.
        context: String,
        /// The unknown name.
        link: String,
    },
    /// A node of the wrong kind: a flow between routers, a route on a host, ...
    #[error("{context}: {node:?} is not a {expected}")]
    WrongKind {
        /// Where the name appeared.
        context: String,
        /// The node.
        node: String,
        /// "host" or "router".
        expected: &'static str,
    },
    /// A host with no link, or a second link on a host.
    #[error("host {host:?} must have exactly one link, has {links}")]
    HostLinks {
        /// The host.
        host: String,
        /// How many links it has (or would have).
        links: usize,
    },
    /// A link from a node to itself.
    #[error("link {link:?} joins {node:?} to itself")]
    SelfLoop {
        /// The link.
        link: String,
        /// The node.
        node: String,
    },
    /// A host's stack configuration is unusable.
    #[error("host {host:?}: {error}")]
    Stack {
        /// The host.
        host: String,
        /// Why the stack refused it.
        #[source]
        error: ConfigError,
    },
    /// A flow's hosts share no address family.
    #[error("flow {flow:?}: {from:?} and {to:?} have no address family in common")]
    NoCommonFamily {
        /// The flow.
        flow: String,
        /// The client.
        from: String,
        /// The server.
        to: String,
    },
    /// No path of links and routers joins a flow's hosts.
    #[error("flow {flow:?}: no route from {from:?} to {to:?}")]
    NoRoute {
        /// The flow.
        flow: String,
        /// The client.
        from: String,
        /// The server.
        to: String,
    },
    /// Two flows would listen on the same host and port.
    #[error("flows {first:?} and {second:?} both listen on {host}:{port} ({protocol})")]
    PortClash {
        /// The earlier flow.
        first: String,
        /// The later flow.
        second: String,
        /// The server host.
        host: String,
        /// The port.
        port: u16,
        /// "tcp" or "udp".
        protocol: &'static str,
    },
    /// A flow or topology parameter is out of range.
    #[error("{context}: {reason}")]
    Invalid {
        /// What was wrong where.
        context: String,
        /// Why.
        reason: String,
    },
}
