//! `[[flows]]`: who talks to whom, when, with which congestion controller and which
//! application. The application's keys sit in the flow's table beside `app`.

use super::error::Sink;
use super::reader::{join, Item, Read};
use super::topology::{near, Net};
use crate::scenario::model::{AppSpec, Flow, NodeKind};
use crate::scenario::MAX_CBR_DATAGRAMS_PER_SEC;
use layer4::time::Duration;
use std::collections::HashMap;

/// Most flows in one scenario.
pub const MAX_FLOWS: usize = 10_000;
/// The first default port: flow `i` listens on `DEFAULT_PORT + i` unless `port` is set.
pub const DEFAULT_PORT: u16 = 5001;
/// The congestion controllers a flow may ask for.
pub const CONGESTION_CONTROLLERS: &[&str] = &["newreno", "cubic", "bbr"];
/// The smallest TCP buffer a flow may ask for (`send_buffer`, `recv_buffer`).
pub const MIN_TCP_BUFFER: u64 = 1024;
/// The largest TCP buffer a flow may ask for: 1 GiB, the most a window scale of 14
/// (RFC 7323's maximum) can advertise.
pub const MAX_TCP_BUFFER: u64 = 1 << 30;

const APP_KEYS: &[&str] = &[
    "bytes",
    "duration",
    "request_bytes",
    "response_bytes",
    "think_time",
    "count",
    "on",
    "off",
    "rate",
    "packet_bytes",
];

const FLOW_KEYS: &[&str] = &[
    "name",
    "from",
    "to",
    "port",
    "start",
    "cc",
    "ecn",
    "accecn",
    "send_buffer",
    "recv_buffer",
    "app",
    "bytes",
    "duration",
    "request_bytes",
    "response_bytes",
    "think_time",
    "count",
    "on",
    "off",
    "rate",
    "packet_bytes",
];

/// The keys each application takes.
fn app_keys(app: &str) -> Option<&'static [&'static str]> {
    Some(match app {
        "bulk" => &["bytes", "duration"],
        "request_response" => &["request_bytes", "response_bytes", "think_time", "count"],
        "on_off" => &["on", "off"],
        "udp_cbr" => &["rate", "packet_bytes", "duration"],
        _ => return None,
    })
}

/// Reads `flows` and checks them against the topology; `run_ns` is the run's length.
pub(crate) fn read_flows(
    sink: &mut Sink<'_>,
    item: Option<Item<'_, '_>>,
    net: Option<&Net>,
    run_ns: u64,
) -> Read<Vec<Flow>> {
    let Some(item) = item else {
        sink.error(
            0..0,
            "flows",
            "missing: add at least one [[flows]] entry (nothing to simulate)",
        );
        return None;
    };
    let entries = item.array(sink)?;
    if entries.is_empty() {
        item.error(
            sink,
            "add at least one [[flows]] entry (nothing to simulate)",
        );
        return None;
    }
    if entries.len() > MAX_FLOWS {
        item.error(sink, format!("at most {MAX_FLOWS} flows"));
        return None;
    }
    let before = sink.len();
    let mut flows = Vec::new();
    let mut names: HashMap<String, usize> = HashMap::new();
    let mut listeners: HashMap<(String, u16), String> = HashMap::new();
    for (index, (path, value)) in entries.iter().enumerate() {
        let item = Item { path, value };
        let Some(table) = item.table(sink, FLOW_KEYS) else {
            continue;
        };
        let name = match table.get("name") {
            Some(v) => match v.name(sink) {
                Some(n) => n,
                None => continue,
            },
            None => format!("flow{index}"),
        };
        if names.insert(name.clone(), index).is_some() {
            let span = table.key_span("name").unwrap_or(table.span());
            sink.error(
                span,
                &join(table.path(), "name"),
                format!("a flow named {name:?} already exists"),
            );
        }
        let mut hosts = Vec::new();
        for key in ["from", "to"] {
            let Some(v) = table.require(sink, key) else {
                continue;
            };
            let Some(host) = v.str(sink) else { continue };
            if let Some(net) = net {
                match net.nodes.get(host) {
                    None => {
                        let hosts = net
                            .nodes
                            .iter()
                            .filter(|(_, n)| n.kind == NodeKind::Host)
                            .map(|(k, _)| k);
                        v.error(sink, format!("no host named {host:?}{}", near(host, hosts)));
                        continue;
                    }
                    Some(n) if n.kind == NodeKind::Router => {
                        v.error(
                            sink,
                            format!("{host:?} is a router; flows run between hosts"),
                        );
                        continue;
                    }
                    Some(_) => {}
                }
            }
            hosts.push((host.to_string(), v));
        }
        if let ([(from, _), (to, to_item)], Some(net)) = (&hosts[..], net) {
            if from == to {
                to_item.error(sink, "a flow runs between two different hosts");
            } else if !net.connected(from, to) {
                to_item.error(
                    sink,
                    format!("no path from {from:?} to {to:?} over the links"),
                );
            } else if let (Some(a), Some(b)) = (net.nodes.get(from), net.nodes.get(to)) {
                if !(a.families.0 && b.families.0 || a.families.1 && b.families.1) {
                    to_item.error(
                        sink,
                        format!("{from:?} and {to:?} share no address family (IPv4 or IPv6)"),
                    );
                }
            }
        }
        let port = match table.get("port") {
            Some(v) => match v.int(sink, 1, 65_535) {
                Some(p) => p as u16,
                None => continue,
            },
            None => match u16::try_from(index)
                .ok()
                .and_then(|i| DEFAULT_PORT.checked_add(i))
            {
                Some(p) => p,
                None => {
                    sink.error(
                        table.span(),
                        &join(table.path(), "port"),
                        "missing: too many flows for default ports; set port",
                    );
                    continue;
                }
            },
        };
        if let [_, (to, _)] = &hosts[..] {
            if let Some(other) = listeners.insert((to.clone(), port), name.clone()) {
                let span = table.key_span("port").unwrap_or(table.span());
                sink.error(
                    span,
                    &join(table.path(), "port"),
                    format!("flow {other:?} already listens on {to}:{port}; give this flow another port"),
                );
            }
        }
        let start = match table.get("start") {
            Some(v) => {
                let Some(ns) = v.duration_ns(sink) else {
                    continue;
                };
                if ns >= run_ns {
                    v.error(sink, "the flow starts after the run ends (see duration)");
                    continue;
                }
                ns
            }
            None => 0,
        };
        let cc = match table.get("cc") {
            Some(v) => match v.str(sink) {
                Some(cc) if CONGESTION_CONTROLLERS.contains(&cc) => cc.to_string(),
                Some(other) => {
                    v.error(
                        sink,
                        format!(
                            "unknown congestion controller {other:?} (known: {})",
                            CONGESTION_CONTROLLERS.join(", ")
                        ),
                    );
                    continue;
                }
                None => continue,
            },
            None => "newreno".to_string(),
        };
        let ecn = match table.get("ecn") {
            Some(v) => match v.bool(sink) {
                Some(b) => b,
                None => continue,
            },
            None => false,
        };
        let accecn = match table.get("accecn") {
            Some(v) => match v.bool(sink) {
                Some(b) => b,
                None => continue,
            },
            None => false,
        };
        let mut buffers = [None, None];
        let mut bad_buffer = false;
        for (slot, key) in buffers.iter_mut().zip(["send_buffer", "recv_buffer"]) {
            let Some(v) = table.get(key) else { continue };
            match v.size(sink) {
                Some(n) if (MIN_TCP_BUFFER..=MAX_TCP_BUFFER).contains(&n) => {
                    *slot = usize::try_from(n).ok();
                }
                Some(_) => {
                    v.error(sink, "a TCP buffer holds 1KiB to 1GiB");
                    bad_buffer = true;
                }
                None => bad_buffer = true,
            }
        }
        if bad_buffer {
            continue;
        }
        let [send_buffer, recv_buffer] = buffers;
        let (app_name, app_item) = match table.get("app") {
            Some(v) => match v.str(sink) {
                Some(a) => (a, Some(v)),
                None => continue,
            },
            None => ("bulk", None),
        };
        let Some(own) = app_keys(app_name) else {
            if let Some(v) = app_item {
                v.error(
                    sink,
                    format!(
                        "unknown app {app_name:?} (known: bulk, request_response, on_off, udp_cbr)"
                    ),
                );
            }
            continue;
        };
        let foreign: Vec<&str> = APP_KEYS
            .iter()
            .copied()
            .filter(|k| !own.contains(k))
            .collect();
        table.reject(
            sink,
            &foreign,
            &format!("for app {app_name:?} (its keys: {})", own.join(", ")),
        );
        if app_name == "udp_cbr" {
            table.reject(
                sink,
                &["send_buffer", "recv_buffer"],
                "for app \"udp_cbr\" (TCP buffers; UDP flows have none)",
            );
        }
        let positive = |v: Item<'_, '_>, sink: &mut Sink<'_>| -> Read<Duration> {
            let ns = v.duration_ns(sink)?;
            if ns == 0 {
                v.error(sink, "must be more than 0");
                return None;
            }
            Some(Duration::from_nanos(ns))
        };
        let app = (|| {
            Some(match app_name {
                "bulk" => AppSpec::Bulk {
                    bytes: match table.get("bytes") {
                        Some(v) => Some(v.size(sink)?),
                        None => None,
                    },
                    duration: match table.get("duration") {
                        Some(v) => Some(positive(v, sink)?),
                        None => None,
                    },
                },
                "request_response" => AppSpec::RequestResponse {
                    request_bytes: table.require(sink, "request_bytes")?.size(sink)?,
                    response_bytes: table.require(sink, "response_bytes")?.size(sink)?,
                    think_time: match table.get("think_time") {
                        Some(v) => Duration::from_nanos(v.duration_ns(sink)?),
                        None => Duration::ZERO,
                    },
                    count: match table.get("count") {
                        Some(v) => Some(v.int(sink, 1, u64::MAX >> 1)?),
                        None => None,
                    },
                },
                "on_off" => AppSpec::OnOff {
                    on: positive(table.require(sink, "on")?, sink)?,
                    off: positive(table.require(sink, "off")?, sink)?,
                },
                _ => {
                    let rate_item = table.require(sink, "rate")?;
                    let Some(rate_bps) = rate_item.rate(sink)? else {
                        rate_item.error(sink, "a constant bit rate cannot be \"unlimited\"");
                        return None;
                    };
                    let packet_bytes = match table.get("packet_bytes") {
                        Some(v) => v.int(sink, 1, 65_507)? as usize,
                        None => 1200,
                    };
                    // Each datagram is an event of the run: past this rate a second
                    // of virtual time takes minutes to hours, and the run looks hung.
                    let per_sec = rate_bps / (8 * packet_bytes as u64);
                    if per_sec > MAX_CBR_DATAGRAMS_PER_SEC {
                        rate_item.error(
                            sink,
                            format!(
                                "{per_sec} datagrams per second (rate / 8 / packet_bytes {packet_bytes}): \
                                 at most {MAX_CBR_DATAGRAMS_PER_SEC} per flow, each is an event of the simulation"
                            ),
                        );
                        return None;
                    }
                    AppSpec::UdpCbr {
                        rate_bps,
                        packet_bytes,
                        duration: match table.get("duration") {
                            Some(v) => Some(positive(v, sink)?),
                            None => None,
                        },
                    }
                }
            })
        })();
        let (Some(app), [(from, _), (to, _)]) = (app, &hosts[..]) else {
            continue;
        };
        flows.push(Flow {
            name,
            from: from.clone(),
            to: to.clone(),
            port,
            start: Duration::from_nanos(start),
            cc,
            ecn,
            accecn,
            send_buffer,
            recv_buffer,
            app,
        });
    }
    (sink.len() == before).then_some(flows)
}
