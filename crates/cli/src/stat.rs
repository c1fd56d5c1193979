//! `l4 stat`: the counters of every layer4 runtime on this machine, printed the way
//! `netstat -s` prints Linux's.

use std::fmt::Write as _;
use std::path::PathBuf;
use std::process::ExitCode;

use layer4_net::control::proto::{Counter, Request, Response};

use crate::runtimes;

/// Arguments of `l4 stat`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// One JSON document (each runtime with its counters by nstat name).
    #[arg(long)]
    json: bool,
    /// Where the runtimes' control sockets are (default: $LAYER4_CONTROL_DIR, else
    /// /run/layer4).
    #[arg(long, value_name = "DIR")]
    dir: Option<PathBuf>,
}

/// The section and `netstat -s` phrase of each counter: `{n} {phrase}`. Counters not
/// listed are printed as `Name: n` under their protocol's prefix.
const PHRASES: &[(&str, &str, &str)] = &[
    ("IpInReceives", "Ip", "total packets received"),
    ("IpInHdrErrors", "Ip", "with invalid headers"),
    ("IpInAddrErrors", "Ip", "with invalid addresses"),
    ("IpInUnknownProtos", "Ip", "with unknown protocol"),
    ("IpInDelivers", "Ip", "incoming packets delivered"),
    ("IpOutRequests", "Ip", "requests sent out"),
    ("IpOutNoRoutes", "Ip", "dropped because of missing route"),
    ("IpReasmReqds", "Ip", "fragments received"),
    ("IpReasmOKs", "Ip", "packets reassembled ok"),
    ("IpReasmFails", "Ip", "packet reassemblies failed"),
    ("IpReasmTimeout", "Ip", "reassemblies timed out"),
    ("IpFragOKs", "Ip", "fragments received ok"),
    ("IpFragCreates", "Ip", "fragments created"),
    ("IpFragFails", "Ip", "fragments failed"),
    ("IcmpInMsgs", "Icmp", "ICMP messages received"),
    ("IcmpInErrors", "Icmp", "input ICMP message failed"),
    (
        "IcmpInCsumErrors",
        "Icmp",
        "ICMP messages with bad checksum",
    ),
    ("IcmpOutMsgs", "Icmp", "ICMP messages sent"),
    ("TcpActiveOpens", "Tcp", "active connection openings"),
    ("TcpPassiveOpens", "Tcp", "passive connection openings"),
    ("TcpAttemptFails", "Tcp", "failed connection attempts"),
    ("TcpEstabResets", "Tcp", "connection resets received"),
    ("TcpCurrEstab", "Tcp", "connections established"),
    ("TcpInSegs", "Tcp", "segments received"),
    ("TcpOutSegs", "Tcp", "segments sent out"),
    ("TcpRetransSegs", "Tcp", "segments retransmitted"),
    ("TcpInErrs", "Tcp", "bad segments received"),
    ("TcpOutRsts", "Tcp", "resets sent"),
    ("TcpInCsumErrors", "Tcp", "segments with bad checksum"),
    ("UdpInDatagrams", "Udp", "packets received"),
    ("UdpNoPorts", "Udp", "packets to unknown port received"),
    ("UdpInErrors", "Udp", "packet receive errors"),
    ("UdpOutDatagrams", "Udp", "packets sent"),
    ("UdpRcvbufErrors", "Udp", "receive buffer errors"),
    ("UdpSndbufErrors", "Udp", "send buffer errors"),
    ("UdpInCsumErrors", "Udp", "packets with bad checksum"),
    (
        "TcpExtListenOverflows",
        "TcpExt",
        "times the listen queue of a socket overflowed",
    ),
    (
        "TcpExtListenDrops",
        "TcpExt",
        "SYNs to LISTEN sockets dropped",
    ),
    (
        "TcpExtOutOfWindowIcmps",
        "TcpExt",
        "ICMP packets dropped because they were out-of-window",
    ),
    ("TcpExtSyncookiesSent", "TcpExt", "SYN cookies sent"),
    ("TcpExtSyncookiesRecv", "TcpExt", "SYN cookies received"),
    (
        "TcpExtSyncookiesFailed",
        "TcpExt",
        "invalid SYN cookies received",
    ),
    ("TcpExtTCPTimeouts", "TcpExt", "other TCP timeouts"),
    (
        "RuntimeTxErrors",
        "Runtime",
        "packets the device refused (dropped)",
    ),
];

/// The section a counter without a phrase goes to, from its name's prefix.
fn section_of(name: &str) -> &'static str {
    for p in [
        "Icmp6", "Ip6", "TcpExt", "Icmp", "Ip", "Tcp", "Udp", "Runtime",
    ] {
        if name.starts_with(p) {
            return p;
        }
    }
    "Other"
}

/// Sections in `netstat -s` order.
const SECTIONS: &[&str] = &[
    "Ip", "Icmp", "Tcp", "Udp", "TcpExt", "Ip6", "Icmp6", "Runtime", "Other",
];

/// One runtime's counters as `netstat -s` text.
fn netstat(counters: &[Counter]) -> String {
    let mut out = String::new();
    for &section in SECTIONS {
        let mut lines = Vec::new();
        for c in counters {
            match PHRASES.iter().find(|(n, _, _)| *n == c.name) {
                Some((_, s, phrase)) if *s == section => {
                    lines.push(format!("    {} {phrase}", c.value));
                }
                None if section_of(&c.name) == section => {
                    let short = c.name.strip_prefix(section).unwrap_or(&c.name);
                    lines.push(format!("    {short}: {}", c.value));
                }
                _ => {}
            }
        }
        if !lines.is_empty() {
            let _ = writeln!(out, "{section}:");
            for l in lines {
                let _ = writeln!(out, "{l}");
            }
        }
    }
    out
}

/// Runs `l4 stat`.
pub fn run(args: &Args) -> ExitCode {
    let dir = runtimes::dir(args.dir.as_deref());
    let answers = match runtimes::ask_all(&dir, Request::Counters) {
        Ok(a) => a,
        Err(e) => return crate::error(e),
    };
    if args.json {
        let doc: Vec<serde_json::Value> = answers.iter().map(json).collect();
        match serde_json::to_string_pretty(&doc) {
            Ok(s) => println!("{s}"),
            Err(e) => return crate::error(e),
        }
        return ExitCode::SUCCESS;
    }
    for a in &answers {
        let o = &a.origin;
        println!(
            "# {} (pid {}, runtime {}) {}",
            o.process,
            o.pid,
            o.runtime,
            o.addresses.join(" ")
        );
        print!("{}", netstat(a.counters.as_deref().unwrap_or_default()));
    }
    if answers.is_empty() {
        eprintln!("l4: no layer4 runtime answers in {}", dir.display());
    }
    ExitCode::SUCCESS
}

/// `{"origin": ..., "counters": {"TcpActiveOpens": 3, ...}}`.
fn json(a: &Response) -> serde_json::Value {
    let counters: serde_json::Map<String, serde_json::Value> = a
        .counters
        .iter()
        .flatten()
        .map(|c| (c.name.clone(), c.value.into()))
        .collect();
    serde_json::json!({ "origin": a.origin, "counters": counters })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counters_print_in_netstat_sections_with_phrases() {
        let c = |name: &str, value| Counter {
            name: name.into(),
            value,
        };
        let text = netstat(&[
            c("TcpActiveOpens", 3),
            c("UdpNoPorts", 1),
            c("Ip6InReceives", 9),
            c("IcmpInType8", 2),
        ]);
        assert_eq!(
            text,
            "Icmp:\n    InType8: 2\nTcp:\n    3 active connection openings\n\
             Udp:\n    1 packets to unknown port received\nIp6:\n    InReceives: 9\n"
        );
    }
}
