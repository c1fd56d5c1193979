//! Scenarios: what to simulate. [`model`] is the typed description every part of the
//! simulator agrees on; [`parse`] and [`parse_with`] read it from TOML (the format is
//! documented key by key in `docs/scenarios.md`), reporting every mistake with its
//! line, column and key path.
//!
//! - [`model`]: the typed [`Scenario`].
//! - [`units`]: rates, durations, sizes, probabilities, queue limits.
//! - [`queue`]: the `queue` table ([`QueueSpec`](queue::QueueSpec)).
//! - `error`: [`ScenarioError`] and [`Diagnostic`].
//! - private: `reader` (the spanned, key-path-aware walk over the TOML tree), `link`,
//!   `topology`, `flows` (the tables of each part).
//!
//! The crate does no file I/O: trace files named in a scenario are read through the
//! [`TraceLoader`] the caller passes to [`parse_with`].

mod error;
mod flows;
mod link;
pub mod model;
pub mod queue;
mod reader;
mod topology;
pub mod units;

pub use error::{Diagnostic, ScenarioError, MAX_DIAGNOSTICS};
pub use flows::{CONGESTION_CONTROLLERS, DEFAULT_PORT, MAX_FLOWS, MAX_TCP_BUFFER, MIN_TCP_BUFFER};
pub use link::TraceLoader;
pub use model::{
    AppSpec, Flow, IpVersion, LinkSpec, NodeKind, NodeSpec, Scenario, Topology,
    DEFAULT_CAPTURE_SNAPLEN,
};
pub use topology::{MAX_ELEMENTS, MAX_HOPS, MAX_PAIRS};

use error::Sink;
use layer4::time::Duration;
use reader::{Item, Table};

/// The longest run a scenario may ask for (one day of virtual time).
pub const MAX_DURATION_NS: u64 = 86_400 * 1_000_000_000;
/// The most samples a time series may hold (`duration / sample_interval`).
pub const MAX_SAMPLES: u64 = 1_000_000;
/// The most datagrams per second a `udp_cbr` flow may send (`rate / 8 /
/// packet_bytes`): each one is an event of the run, so 1 Gbit/s of 1-byte datagrams
/// (125 M per second) took 36 s for each second of virtual time, and a mistyped
/// "1000Tbit" never finished. 10 M is 100 Gbit/s of 1,250-byte datagrams.
pub const MAX_CBR_DATAGRAMS_PER_SEC: u64 = 10_000_000;
/// The default run length.
pub const DEFAULT_DURATION: Duration = Duration::from_secs(10);
/// The default sampling interval.
pub const DEFAULT_SAMPLE_INTERVAL: Duration = Duration::from_millis(100);
/// The default seed.
pub const DEFAULT_SEED: u64 = 1;

const ROOT_KEYS: &[&str] = &[
    "name",
    "seed",
    "duration",
    "sample_interval",
    "topology",
    "nodes",
    "links",
    "flows",
    "captures",
    "capture_snaplen",
];

/// The largest snapshot length a capture may ask for: libpcap's limit, so tcpdump
/// reads every file (larger packets do not exist here: the MTU is at most 65535).
pub const MAX_CAPTURE_SNAPLEN: u32 = layer4::wire::pcap::DEFAULT_SNAPLEN;

/// Reads a scenario from TOML text. `origin` names the text in messages (usually the
/// file's path) and, when the file has no `name`, gives the scenario its name (the
/// file stem). A scenario that names a `trace` file fails here; use [`parse_with`].
pub fn parse(text: &str, origin: &str) -> Result<Scenario, ScenarioError> {
    parse_inner(text, origin, None)
}

/// Like [`parse`], with `load` to fetch the text of trace files named by `trace` keys
/// (given the path as written; the caller resolves it, usually against the scenario
/// file's folder). Each file is loaded once.
pub fn parse_with(
    text: &str,
    origin: &str,
    load: TraceLoader<'_>,
) -> Result<Scenario, ScenarioError> {
    parse_inner(text, origin, Some(load))
}

fn parse_inner(
    text: &str,
    origin: &str,
    load: Option<TraceLoader<'_>>,
) -> Result<Scenario, ScenarioError> {
    let mut sink = Sink::new(text, origin);
    let doc = match toml::de::DeTable::parse(text) {
        Ok(doc) => doc,
        Err(e) => {
            let span = e.span().unwrap_or(0..0);
            sink.error(span, "", syntax_message(e.message()));
            return Err(sink
                .finish()
                .err()
                .unwrap_or_else(|| unreachable_error(origin)));
        }
    };
    let root = Table::new(
        String::new(),
        doc.span(),
        doc.get_ref(),
        ROOT_KEYS,
        &mut sink,
    );
    let scenario = read_root(&mut sink, &root, origin, load);
    sink.finish()?;
    scenario.ok_or_else(|| unreachable_error(origin))
}

/// An error for the case that cannot happen: reading failed without a diagnostic.
fn unreachable_error(origin: &str) -> ScenarioError {
    ScenarioError {
        diagnostics: vec![Diagnostic {
            origin: origin.to_string(),
            line: 1,
            column: 1,
            path: String::new(),
            message: "the scenario could not be read (internal error: no diagnostic)".into(),
        }],
        more: 0,
    }
}

/// toml's parse message on one line.
fn syntax_message(message: &str) -> String {
    let message = message.trim().replace('\n', " ");
    format!("TOML syntax: {message}")
}

fn read_root(
    sink: &mut Sink<'_>,
    root: &Table<'_, '_>,
    origin: &str,
    load: Option<TraceLoader<'_>>,
) -> Option<Scenario> {
    let before = sink.len();
    let name = match root.get("name") {
        Some(v) => v.name(sink),
        None => Some(default_name(origin)),
    };
    let seed = match root.get("seed") {
        Some(v) => v.int(sink, 0, i64::MAX as u64),
        None => Some(DEFAULT_SEED),
    };
    let duration_ns = match root.get("duration") {
        Some(v) => v.duration_ns(sink).and_then(|ns| {
            if ns == 0 || ns > MAX_DURATION_NS {
                v.error(sink, "a run lasts more than 0 and at most 24 hours");
                None
            } else {
                Some(ns)
            }
        }),
        None => Some(DEFAULT_DURATION.as_nanos() as u64),
    };
    let run_ns = duration_ns.unwrap_or(MAX_DURATION_NS);
    let sample_ns = match root.get("sample_interval") {
        Some(v) => v.duration_ns(sink).and_then(|ns| {
            if ns < 1_000_000 || ns > run_ns {
                v.error(sink, "the sample interval is at least 1ms and at most the run's duration");
                None
            } else if run_ns / ns > MAX_SAMPLES {
                v.error(sink, format!("too many samples: at most {MAX_SAMPLES} per run (duration / sample_interval)"));
                None
            } else {
                Some(ns)
            }
        }),
        None => {
            let ns = DEFAULT_SAMPLE_INTERVAL.as_nanos() as u64;
            Some(ns.min(run_ns))
        }
    };
    let mut traces = link::Traces::new(load);
    let (topology, net) = topology::read_topology(sink, &mut traces, root);
    let flows = flows::read_flows(sink, root.get("flows"), net.as_ref(), run_ns);
    let captures = read_captures(sink, root.get("captures"), net.as_ref());
    let capture_snaplen = match root.get("capture_snaplen") {
        Some(v) => read_snaplen(sink, v),
        None => Some(DEFAULT_CAPTURE_SNAPLEN),
    };
    if sink.len() != before {
        return None;
    }
    let captures = captures?;
    Some(Scenario {
        name: name?,
        seed: seed?,
        duration: Duration::from_nanos(duration_ns?),
        sample_interval: Duration::from_nanos(sample_ns?),
        topology: topology?,
        flows: flows?,
        capture_snaplens: captures
            .iter()
            .filter_map(|(link, snaplen)| Some((link.clone(), (*snaplen)?)))
            .collect(),
        captures: captures.into_iter().map(|(link, _)| link).collect(),
        capture_snaplen: capture_snaplen?,
    })
}

/// A snapshot length: an integer in `0..=MAX_CAPTURE_SNAPLEN` or `"full"` (0 and
/// `"full"` keep whole packets).
fn read_snaplen(sink: &mut Sink<'_>, item: Item<'_, '_>) -> Option<u32> {
    if item.is_str() {
        return match item.str(sink)? {
            "full" => Some(0),
            other => {
                item.error(
                    sink,
                    format!("expected a number of bytes or \"full\", found {other:?}"),
                );
                None
            }
        };
    }
    item.int(sink, 0, u64::from(MAX_CAPTURE_SNAPLEN))
        .map(|n| n as u32)
}

/// The file stem of `origin` if it makes a valid name, else `"scenario"`.
fn default_name(origin: &str) -> String {
    let file = origin.rsplit(['/', '\\']).next().unwrap_or(origin);
    let stem = file.strip_suffix(".toml").unwrap_or(file);
    let ok = !stem.is_empty()
        && stem.len() <= 64
        && stem
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
    if ok {
        stem.to_string()
    } else {
        "scenario".to_string()
    }
}

/// `captures = ["bottleneck"]` or `[[captures]] link = "bottleneck"` (with an
/// optional `snaplen`): each link with its own snapshot length, if set.
fn read_captures(
    sink: &mut Sink<'_>,
    item: Option<Item<'_, '_>>,
    net: Option<&topology::Net>,
) -> Option<Vec<(String, Option<u32>)>> {
    let Some(item) = item else {
        return Some(Vec::new());
    };
    let before = sink.len();
    let mut out: Vec<(String, Option<u32>)> = Vec::new();
    for (path, value) in item.array(sink)? {
        let element = Item { path: &path, value };
        let link_item = if element.is_str() {
            element
        } else {
            let Some(table) = element.table(sink, &["link", "snaplen"]) else {
                continue;
            };
            let snaplen = match table.get("snaplen") {
                Some(v) => match read_snaplen(sink, v) {
                    Some(n) => Some(n),
                    None => continue,
                },
                None => None,
            };
            let Some(link) = table.require(sink, "link") else {
                continue;
            };
            // Re-borrow with the table's path (`captures[0].link`).
            let path = link.path.to_string();
            let value = link.value;
            if let Some(name) = check_capture(sink, Item { path: &path, value }, net, &out) {
                out.push((name, snaplen));
            }
            continue;
        };
        if let Some(name) = check_capture(sink, link_item, net, &out) {
            out.push((name, None));
        }
    }
    (sink.len() == before).then_some(out)
}

fn check_capture(
    sink: &mut Sink<'_>,
    item: Item<'_, '_>,
    net: Option<&topology::Net>,
    seen: &[(String, Option<u32>)],
) -> Option<String> {
    let name = item.str(sink)?;
    if let Some(net) = net {
        if !net.has_link(name) {
            let names: Vec<String> = net.links.iter().map(|l| l.0.clone()).collect();
            item.error(
                sink,
                format!(
                    "no link named {name:?}{}",
                    topology::near(name, names.iter())
                ),
            );
            return None;
        }
    }
    if seen.iter().any(|(s, _)| s == name) {
        item.error(sink, format!("link {name:?} is already captured"));
        return None;
    }
    Some(name.to_string())
}

/// The link names of `scenario`'s topology (duplex links, as captures and reports
/// name them), in scenario order.
pub fn link_names(scenario: &Scenario) -> Vec<String> {
    match &scenario.topology {
        Topology::Dumbbell { pairs, ip, .. } => topology::Net::dumbbell(*pairs, *ip),
        Topology::ParkingLot { hops, ip, .. } => topology::Net::parking_lot(*hops, *ip),
        Topology::Explicit { links, .. } => {
            return links.iter().map(|l| l.name.clone()).collect();
        }
    }
    .links
    .into_iter()
    .map(|(name, _, _)| name)
    .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::link::LossModel;
    use crate::queue::{Limit, QueueConfig};
    use proptest::prelude::*;

    const MINIMAL: &str = r#"
[topology]
kind = "dumbbell"
[topology.bottleneck]
rate = "10Mbit"
[[flows]]
from = "left0"
to = "right0"
"#;

    fn err(text: &str) -> String {
        parse(text, "s.toml").expect_err("should fail").to_string()
    }

    fn example(name: &str) -> String {
        let path = format!("{}/../../scenarios/{name}", env!("CARGO_MANIFEST_DIR"));
        std::fs::read_to_string(path).expect("example scenario")
    }

    #[test]
    fn minimal_dumbbell_takes_documented_defaults() {
        let s = parse(MINIMAL, "dir/my-run.toml").unwrap();
        assert_eq!(s.name, "my-run");
        assert_eq!(s.seed, DEFAULT_SEED);
        assert_eq!(s.duration, DEFAULT_DURATION);
        assert_eq!(s.sample_interval, DEFAULT_SAMPLE_INTERVAL);
        let Topology::Dumbbell {
            pairs,
            bottleneck,
            bottleneck_reverse,
            access,
            ip,
        } = &s.topology
        else {
            panic!("dumbbell expected");
        };
        assert_eq!((*pairs, *ip), (1, IpVersion::V4));
        assert_eq!(bottleneck.rate_bps, Some(10_000_000));
        assert_eq!(bottleneck, bottleneck_reverse);
        assert_eq!(access, &crate::link::LinkConfig::default());
        let f = &s.flows[0];
        assert_eq!(
            (f.name.as_str(), f.port, f.cc.as_str()),
            ("flow0", DEFAULT_PORT, "newreno")
        );
        assert_eq!(
            f.app,
            AppSpec::Bulk {
                bytes: None,
                duration: None
            }
        );
        assert!(s.captures.is_empty());
    }

    #[test]
    fn flow_ecn_key_is_read_and_defaults_to_off() {
        assert!(!parse(MINIMAL, "s.toml").unwrap().flows[0].ecn);
        let on = parse(&format!("{MINIMAL}ecn = true\n"), "s.toml").unwrap();
        assert!(on.flows[0].ecn);
        let e = err(&format!("{MINIMAL}ecn = \"yes\"\n"));
        assert!(e.contains("flows[0].ecn"), "{e}");
    }

    #[test]
    fn flow_accecn_key_is_read_and_defaults_to_off() {
        assert!(!parse(MINIMAL, "s.toml").unwrap().flows[0].accecn);
        let on = parse(&format!("{MINIMAL}accecn = true\n"), "s.toml").unwrap();
        assert!(on.flows[0].accecn && !on.flows[0].ecn);
        let e = err(&format!("{MINIMAL}accecn = 1\n"));
        assert!(e.contains("flows[0].accecn"), "{e}");
    }

    #[test]
    fn captures_keep_128_octets_unless_told_otherwise() {
        let text = format!("captures = [\"bottleneck\"]\n{MINIMAL}");
        let s = parse(&text, "s.toml").unwrap();
        assert_eq!(s.capture_snaplen, DEFAULT_CAPTURE_SNAPLEN);
        assert_eq!(s.snaplen_of("bottleneck"), 128);

        let text = format!("capture_snaplen = \"full\"\ncaptures = [\"bottleneck\"]\n{MINIMAL}");
        assert_eq!(parse(&text, "s.toml").unwrap().snaplen_of("bottleneck"), 0);
        let text = format!("capture_snaplen = 96\n{MINIMAL}");
        assert_eq!(parse(&text, "s.toml").unwrap().capture_snaplen, 96);
    }

    #[test]
    fn a_capture_table_sets_its_own_snaplen() {
        let text = format!(
            "capture_snaplen = 200\n{MINIMAL}\n[[captures]]\nlink = \"bottleneck\"\nsnaplen = 65535\n\
             [[captures]]\nlink = \"left0\"\nsnaplen = \"full\"\n[[captures]]\nlink = \"right0\"\n"
        );
        let s = parse(&text, "s.toml").unwrap();
        assert_eq!(s.captures, ["bottleneck", "left0", "right0"]);
        assert_eq!(s.snaplen_of("bottleneck"), 65535);
        assert_eq!(s.snaplen_of("left0"), 0);
        assert_eq!(s.snaplen_of("right0"), 200);
    }

    #[test]
    fn bad_snaplen_is_an_error_at_its_key() {
        let e = err(&format!("capture_snaplen = \"all\"\n{MINIMAL}"));
        assert!(
            e.starts_with("s.toml:1:19: capture_snaplen: expected a number of bytes or \"full\""),
            "{e}"
        );
        let e = err(&format!("capture_snaplen = 300000\n{MINIMAL}"));
        assert!(
            e.contains("capture_snaplen: expected an integer in 0..=262144"),
            "{e}"
        );
        let e = err(&format!(
            "{MINIMAL}\n[[captures]]\nlink = \"bottleneck\"\nsnaplen = -1\n"
        ));
        assert!(
            e.contains("captures[0].snaplen: expected an integer"),
            "{e}"
        );
    }

    #[test]
    fn flow_buffers_are_read_as_sizes() {
        let text = format!("{MINIMAL}send_buffer = \"4MiB\"\nrecv_buffer = 65536\n");
        let f = &parse(&text, "s.toml").unwrap().flows[0];
        assert_eq!(f.send_buffer, Some(4 << 20));
        assert_eq!(f.recv_buffer, Some(65536));
        let f = &parse(MINIMAL, "s.toml").unwrap().flows[0];
        assert_eq!((f.send_buffer, f.recv_buffer), (None, None));

        let e = err(&format!("{MINIMAL}recv_buffer = \"2GiB\"\n"));
        assert!(
            e.contains("flows[0].recv_buffer: a TCP buffer holds 1KiB to 1GiB"),
            "{e}"
        );
        let e = err(&format!(
            "{MINIMAL}app = \"udp_cbr\"\nrate = \"1Mbit\"\nsend_buffer = \"1MiB\"\n"
        ));
        assert!(
            e.contains("flows[0].send_buffer: unknown key \"send_buffer\" for app \"udp_cbr\""),
            "{e}"
        );
    }

    #[test]
    fn unknown_key_names_line_path_and_suggestion() {
        let text = format!("{MINIMAL}ccc = \"cubic\"\n");
        assert_eq!(
            err(&text),
            "s.toml:9:1: flows[0].ccc: unknown key \"ccc\" (did you mean \"cc\"?)"
        );
        let e = err("seed = 1\nsede = 2\n");
        assert!(
            e.contains("s.toml:2:1: sede: unknown key \"sede\" (did you mean \"seed\"?)"),
            "{e}"
        );
    }

    #[test]
    fn bad_unit_names_key_and_expected_form() {
        let text = MINIMAL.replace("\"10Mbit\"", "\"10 megabits\"");
        let e = err(&text);
        assert!(
            e.starts_with("s.toml:5:8: topology.bottleneck.rate: expected a rate like \"100Mbit\""),
            "{e}"
        );
        let e = err(&MINIMAL.replace("\"10Mbit\"", "10"));
        assert!(
            e.contains(
                "topology.bottleneck.rate: expected a rate like \"100Mbit\", found an integer"
            ),
            "{e}"
        );
        let e = err(&MINIMAL.replace("\"10Mbit\"", "\"10Mbps\""));
        assert!(e.contains("ambiguous"), "{e}");
    }

    #[test]
    fn references_are_checked_with_line_numbers() {
        let text = MINIMAL.replace("to = \"right0\"", "to = \"right7\"");
        let e = err(&text);
        assert!(
            e.starts_with(
                "s.toml:8:6: flows[0].to: no host named \"right7\" (known: left0, right0)"
            ),
            "{e}"
        );
        let e = err(&MINIMAL.replace("from = \"left0\"", "from = \"r0\""));
        assert!(e.contains("flows[0].from: \"r0\" is a router"), "{e}");
        let e = err(&format!("captures = [\"bottleneck\", \"wan\"]\n{MINIMAL}"));
        assert!(
            e.starts_with("s.toml:1:27: captures[1]: no link named \"wan\""),
            "{e}"
        );
        let e = err(&MINIMAL.replace("to = \"right0\"", "to = \"left0\""));
        assert!(e.contains("two different hosts"), "{e}");
    }

    #[test]
    fn every_mistake_is_reported_in_file_order() {
        let text = "seed = -1\nduration = \"1 fortnight\"\n[topology]\nkind = \"ring\"\n";
        let e = parse(text, "s.toml").unwrap_err();
        let lines: Vec<usize> = e.diagnostics.iter().map(|d| d.line).collect();
        // Line 1 twice: `seed` and the missing `flows` (reported at the top).
        assert_eq!(lines, vec![1, 1, 2, 4], "{e}");
        assert!(e.diagnostics[3]
            .message
            .contains("unknown topology kind \"ring\""));
    }

    #[test]
    fn deep_nesting_and_huge_numbers_are_errors() {
        let deep = format!("seed = {}1{}\n", "[".repeat(100_000), "]".repeat(100_000));
        assert!(parse(&deep, "s.toml").is_err());
        let inline = format!("x = {}\n", "{ a = ".repeat(50_000));
        assert!(parse(&inline, "s.toml").is_err());
        let e = err("seed = 99999999999999999999999\n");
        assert!(e.contains("s.toml:1:"), "{e}");
        let e = err(&MINIMAL.replace(
            "kind = \"dumbbell\"",
            "kind = \"dumbbell\"\npairs = 1000000",
        ));
        assert!(
            e.contains("topology.pairs: expected an integer in 1..=1000"),
            "{e}"
        );
    }

    #[test]
    fn syntax_errors_name_the_line() {
        let e = parse("seed = 1\nduration = \n", "s.toml").unwrap_err();
        assert_eq!(e.diagnostics.len(), 1);
        assert_eq!(e.diagnostics[0].line, 2);
        assert!(e.diagnostics[0].message.starts_with("TOML syntax:"), "{e}");
    }

    #[test]
    fn aqm_queue_kinds_are_read_and_checked() {
        for q in [
            "{ kind = \"codel\", target = \"5ms\", interval = \"100ms\" }",
            "{ kind = \"fq_codel\", flows = 1024, ce_threshold = \"1ms\" }",
            "{ kind = \"red\", min_bytes = \"30KB\", max_bytes = \"90KB\", max_p = \"10%\", ecn = true }",
        ] {
            let text = MINIMAL.replace("rate = \"10Mbit\"", &format!("rate = \"10Mbit\"\nqueue = {q}"));
            assert!(parse(&text, "t.toml").is_ok(), "{q}");
        }
        // The queue's own rules apply, reported at the link.
        let text = MINIMAL.replace(
            "rate = \"10Mbit\"",
            "rate = \"10Mbit\"\nqueue = { kind = \"red\", min_bytes = \"90KB\", max_bytes = \"30KB\" }",
        );
        let e = err(&text);
        assert!(e.contains("topology.bottleneck"), "{e}");
        let text = MINIMAL.replace(
            "rate = \"10Mbit\"",
            "rate = \"10Mbit\"\nqueue = { kind = \"codel\", limit = \"5p\" }",
        );
        let e = err(&text);
        assert!(
            e.contains("queue.limit: unknown key \"limit\" for queue kind \"codel\""),
            "{e}"
        );
    }

    #[test]
    fn queue_spec_reads_aqm_parameters() {
        use queue::{CodelParams, QueueSpec};
        let spec = QueueSpec::Codel(CodelParams {
            target_ns: 5_000_000,
            ..CodelParams::default()
        });
        assert_eq!(spec.kind(), "codel");
        assert!(matches!(spec.to_config(), Ok(QueueConfig::Codel(c)) if c.target.as_millis() == 5));
        let ok = QueueSpec::DropTail {
            limit: units::LimitValue::Bytes(150_000),
        };
        assert_eq!(
            ok.to_config(),
            Ok(QueueConfig::DropTail(Limit::Bytes(150_000)))
        );
    }

    #[test]
    fn forward_and_reverse_override_the_shared_keys() {
        let s = parse(&example("explicit.toml"), "explicit.toml").unwrap();
        let Topology::Explicit { nodes, links } = &s.topology else {
            panic!()
        };
        assert_eq!(nodes.len(), 6);
        let wan = links.iter().find(|l| l.name == "wan").unwrap();
        assert_eq!(wan.forward.rate_bps, Some(5_000_000));
        assert_eq!(wan.reverse.rate_bps, Some(50_000_000));
        assert_eq!(wan.forward.delay, Duration::from_millis(15));
        assert_eq!(wan.reverse.mtu, 1400);
        assert_eq!(
            wan.forward.queue,
            QueueConfig::DropTail(Limit::Packets(200))
        );
        assert_eq!(s.captures, vec!["wan".to_string()]);
        assert_eq!(
            s.flows[1].app,
            AppSpec::UdpCbr {
                rate_bps: 64_000,
                packet_bytes: 160,
                duration: None
            }
        );
        assert_eq!(link_names(&s), vec!["c1", "c2", "wan", "s1", "s2"]);
    }

    #[test]
    fn loss_models_and_impairments() {
        let s = parse(&example("lossy-wan.toml"), "lossy-wan.toml").unwrap();
        let Topology::Dumbbell {
            bottleneck,
            bottleneck_reverse,
            ..
        } = &s.topology
        else {
            panic!()
        };
        assert_eq!(
            bottleneck.loss,
            LossModel::GilbertElliott {
                p: 0.005,
                r: 0.3,
                loss_bad: 0.5,
                loss_good: 0.0
            }
        );
        assert_eq!(bottleneck_reverse.loss, LossModel::None);
        assert_eq!(bottleneck.duplicate, 0.001);
        assert_eq!(bottleneck_reverse.duplicate, 0.0);
        assert_eq!(bottleneck.jitter, Duration::from_millis(5));
        assert_eq!(bottleneck.outages.len(), 1);
        assert_eq!(
            bottleneck.queue,
            QueueConfig::DropTail(Limit::Bytes(500_000))
        );
        let text = MINIMAL.replace(
            "rate = \"10Mbit\"",
            "rate = \"10Mbit\"\ndelay = \"10ms\"\nloss = 0.02\nreorder = { probability = \"25%\", gap = 5 }",
        );
        let s = parse(&text, "s.toml").unwrap();
        let Topology::Dumbbell { bottleneck, .. } = &s.topology else {
            panic!()
        };
        assert_eq!(bottleneck.loss, LossModel::Bernoulli { p: 0.02 });
        assert_eq!(
            bottleneck.reorder,
            Some(crate::link::Reorder {
                probability: 0.25,
                gap: 5
            })
        );
    }

    #[test]
    fn traces_load_through_the_callers_loader_once() {
        let text = example("cellular.toml");
        let e = parse(&text, "cellular.toml").unwrap_err().to_string();
        assert!(
            e.contains("topology.bottleneck.forward.trace: trace files cannot be read here"),
            "{e}"
        );
        let mut calls = Vec::new();
        let mut load = |path: &str| {
            calls.push(path.to_string());
            Ok("1\n2\n2\n4\n".to_string())
        };
        let s = parse_with(&text, "cellular.toml", &mut load).unwrap();
        assert_eq!(calls, vec!["traces/cellular.trace"]);
        let Topology::Dumbbell {
            bottleneck,
            bottleneck_reverse,
            ..
        } = &s.topology
        else {
            panic!()
        };
        assert_eq!(bottleneck.trace_ms, Some(vec![1, 2, 2, 4]));
        assert_eq!(bottleneck.rate_bps, None);
        assert_eq!(bottleneck_reverse.rate_bps, Some(10_000_000));
        let mut bad = |_: &str| Ok("5\n3\n".to_string());
        let e = parse_with(&text, "cellular.toml", &mut bad)
            .unwrap_err()
            .to_string();
        assert!(e.contains("trace: traces/cellular.trace: line 2:"), "{e}");
        let mut missing = |p: &str| Err(format!("{p}: No such file"));
        let e = parse_with(&text, "cellular.toml", &mut missing)
            .unwrap_err()
            .to_string();
        assert!(e.starts_with("cellular.toml:17:9: topology.bottleneck.forward.trace: traces/cellular.trace: No such file"), "{e}");
    }

    #[test]
    fn a_constant_bit_rate_beyond_ten_million_datagrams_a_second_is_refused() {
        let cbr = |rate: &str, bytes: u32| {
            format!("{MINIMAL}app = \"udp_cbr\"\nrate = \"{rate}\"\npacket_bytes = {bytes}\n")
        };
        // A mistyped rate: every event of the run at the same nanosecond.
        let e = err(&cbr("1000Tbit", 1));
        assert!(
            e.contains("flows[0].rate: 125000000000000 datagrams per second"),
            "{e}"
        );
        assert!(err(&cbr("1Gbit", 1)).contains("at most 10000000 per flow"));
        // 100 Gbit/s of 1,250-byte datagrams is the most.
        assert!(parse(&cbr("100Gbit", 1250), "s.toml").is_ok());
        assert!(parse(&cbr("100Gbit", 1249), "s.toml").is_err());
    }

    #[test]
    fn rate_and_trace_together_are_refused() {
        let text = MINIMAL.replace("rate = \"10Mbit\"", "rate = \"10Mbit\"\ntrace = \"t\"");
        let mut load = |_: &str| Ok("1\n".to_string());
        let e = parse_with(&text, "s.toml", &mut load)
            .unwrap_err()
            .to_string();
        assert!(e.contains("either rate or trace"), "{e}");
    }

    #[test]
    fn explicit_topology_checks_ends_and_host_links() {
        let base = r#"
[[nodes]]
name = "h1"
addresses = ["10.0.0.1/24"]
[[nodes]]
name = "h2"
addresses = ["10.0.0.2/24"]
[[nodes]]
name = "r"
kind = "router"
[[links]]
a = "h1"
b = "r"
[[links]]
a = "h2"
b = "rr"
[[flows]]
from = "h1"
to = "h2"
"#;
        let e = err(base);
        assert!(
            e.contains("s.toml:16:5: links[1].b: no node named \"rr\" (known: h1, h2, r)"),
            "{e}"
        );
        assert!(e.contains("nodes: host \"h2\" has no link"), "{e}");
        let e = err(&base.replace("b = \"rr\"", "b = \"h1\""));
        assert!(
            e.contains("links[1].b: host \"h1\" already has link \"link0\""),
            "{e}"
        );
        let ok = parse(&base.replace("b = \"rr\"", "b = \"r\""), "s.toml").unwrap();
        assert_eq!(ok.flows.len(), 1);
        let e = err(&format!("[topology]\nkind = \"dumbbell\"\n{base}"));
        assert!(e.contains("cannot be mixed"), "{e}");
        let e = err(&base
            .replace("[\"10.0.0.2/24\"]", "[\"fd00::2/64\"]")
            .replace("b = \"rr\"", "b = \"r\""));
        assert!(e.contains("share no address family"), "{e}");
    }

    #[test]
    fn apps_take_only_their_own_keys() {
        let text = format!("{MINIMAL}app = \"bulk\"\nthink_time = \"1s\"\n");
        let e = err(&text);
        assert!(e.contains("flows[0].think_time: unknown key \"think_time\" for app \"bulk\" (its keys: bytes, duration)"), "{e}");
        let text = format!("{MINIMAL}app = \"on_off\"\non = \"1s\"\noff = \"2s\"\n");
        let s = parse(&text, "s.toml").unwrap();
        assert_eq!(
            s.flows[0].app,
            AppSpec::OnOff {
                on: Duration::from_secs(1),
                off: Duration::from_secs(2)
            }
        );
        let e = err(&format!(
            "{MINIMAL}app = \"request_response\"\nrequest_bytes = 10\n"
        ));
        assert!(e.contains("flows[0].response_bytes: missing"), "{e}");
        let e = err(&format!("{MINIMAL}cc = \"vegas\"\n"));
        assert!(e.contains("unknown congestion controller \"vegas\""), "{e}");
        let e = err(&format!("{MINIMAL}start = \"11s\"\n"));
        assert!(e.contains("starts after the run ends"), "{e}");
    }

    #[test]
    fn duplicate_listeners_and_names_are_refused() {
        let text = format!("{MINIMAL}port = 80\n[[flows]]\nfrom = \"left0\"\nto = \"right0\"\nport = 80\nname = \"flow0\"\n");
        let e = err(&text);
        assert!(
            e.contains("flows[1].name: a flow named \"flow0\" already exists"),
            "{e}"
        );
        assert!(
            e.contains("flows[1].port: flow \"flow0\" already listens on right0:80"),
            "{e}"
        );
    }

    #[test]
    fn parking_lot_names_hosts_and_links() {
        let s = parse(&example("parking-lot.toml"), "parking-lot.toml").unwrap();
        assert_eq!(s.flows.len(), 4);
        assert_eq!(
            link_names(&s),
            vec![
                "src",
                "dst",
                "cross0_src",
                "cross0_dst",
                "cross1_src",
                "cross1_dst",
                "cross2_src",
                "cross2_dst",
                "hop0",
                "hop1",
                "hop2"
            ]
        );
        let e = err(&example("parking-lot.toml").replace("hops = 3", "hops = 3\npairs = 2"));
        assert!(
            e.contains("topology.pairs: unknown key \"pairs\" for topology kind \"parking_lot\""),
            "{e}"
        );
    }

    #[test]
    fn every_example_scenario_parses() {
        let dir = format!("{}/../../scenarios", env!("CARGO_MANIFEST_DIR"));
        let mut count = 0;
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.extension().is_none_or(|e| e != "toml") {
                continue;
            }
            let text = std::fs::read_to_string(&path).unwrap();
            let mut load =
                |p: &str| std::fs::read_to_string(format!("{dir}/{p}")).map_err(|e| e.to_string());
            let origin = path.display().to_string();
            if let Err(e) = parse_with(&text, &origin, &mut load) {
                panic!("{e}");
            }
            count += 1;
        }
        assert!(count >= 6, "{count} scenarios");
    }

    /// The ```toml blocks of docs/scenarios.md.
    fn doc_blocks() -> Vec<String> {
        let path = format!("{}/../../docs/scenarios.md", env!("CARGO_MANIFEST_DIR"));
        let doc = std::fs::read_to_string(path).unwrap();
        doc.split("```toml\n")
            .skip(1)
            .map(|b| b.split("```").next().unwrap_or("").to_string())
            .collect()
    }

    #[test]
    fn documented_examples_parse() {
        let flow = "\n[[flows]]\nfrom = \"left0\"\nto = \"right0\"\n";
        let blocks = doc_blocks();
        assert!(blocks.len() > 10);
        let mut checked = 0;
        for block in &blocks {
            let text = if block.starts_with("name = \"dumbbell\"") {
                block.clone()
            } else if block.starts_with("name = \"my-run\"") {
                format!(
                    "{}captures = []\n{MINIMAL}",
                    block.replace("captures = [\"bottleneck\", \"left0\"]\n", "")
                )
            } else if block.starts_with("[topology]") {
                format!(
                    "{block}{}",
                    flow.replace(
                        "right0",
                        if block.contains("parking_lot") {
                            "dst"
                        } else {
                            "right0"
                        }
                    )
                    .replace(
                        "left0",
                        if block.contains("parking_lot") {
                            "src"
                        } else {
                            "left0"
                        }
                    )
                )
            } else if block.starts_with("[topology.bottleneck]") {
                format!("[topology]\nkind = \"dumbbell\"\n{block}{flow}")
            } else if block.starts_with("[[nodes]]") {
                format!("{block}\n[[flows]]\nfrom = \"client\"\nto = \"server\"\n")
            } else if block.starts_with("queue =") {
                let text =
                    MINIMAL.replace("rate = \"10Mbit\"", &format!("rate = \"10Mbit\"\n{block}"));
                match parse(&text, "doc.toml") {
                    Ok(_) => {}
                    Err(e) => assert!(e.to_string().contains("not yet supported"), "{block}: {e}"),
                }
                checked += 1;
                continue;
            } else if block.starts_with("[[flows]]") {
                format!(
                    "[topology]\nkind = \"dumbbell\"\npairs = 2\n[topology.bottleneck]\n{block}"
                )
            } else {
                format!("{}{}", MINIMAL, block)
            };
            if let Err(e) = parse(&text, "doc.toml") {
                panic!("{block}\n{e}");
            }
            checked += 1;
        }
        assert_eq!(checked, blocks.len());
    }

    /// Mutations of a real scenario: cut a range, insert a fragment, or swap a line.
    fn mangle(text: &str, op: u8, at: usize, len: usize, fragment: &str) -> String {
        let mut chars: Vec<char> = text.chars().collect();
        let at = at % (chars.len() + 1);
        match op % 3 {
            0 => {
                let end = (at + len % 40).min(chars.len());
                chars.drain(at..end);
            }
            1 => {
                for (i, c) in fragment.chars().enumerate() {
                    chars.insert(at + i, c);
                }
            }
            _ => {
                let lines: Vec<&str> = text.lines().collect();
                let mut lines: Vec<String> = lines.iter().map(|s| s.to_string()).collect();
                if !lines.is_empty() {
                    let a = at % lines.len();
                    let b = len % lines.len();
                    lines.swap(a, b);
                }
                return lines.join("\n");
            }
        }
        chars.into_iter().collect()
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(400))]

        #[test]
        fn mangled_scenarios_give_errors_not_panics(
            which in 0usize..6,
            ops in proptest::collection::vec((any::<u8>(), any::<usize>(), any::<usize>(), "[\\[\\]{}=\",.a-z0-9%\n -]{0,12}"), 1..6),
        ) {
            let names = ["dumbbell.toml", "parking-lot.toml", "lossy-wan.toml", "bufferbloat.toml", "explicit.toml", "cellular.toml"];
            let mut text = example(names[which]);
            for (op, at, len, fragment) in &ops {
                text = mangle(&text, *op, *at, *len, fragment);
            }
            let mut load = |_: &str| Ok("1\n2\n".to_string());
            if let Err(e) = parse_with(&text, "m.toml", &mut load) {
                prop_assert!(!e.diagnostics.is_empty());
                for d in &e.diagnostics {
                    prop_assert!(d.line >= 1 && d.line <= text.lines().count() + 1);
                }
            }
        }

        #[test]
        fn arbitrary_text_gives_errors_not_panics(text in "\\PC{0,200}") {
            let _ = parse(&text, "x.toml");
        }
    }
}
