//! `l4`: the layer4 command line.
//!
//! One module per subcommand; each has an `Args` struct (clap derive) and a
//! `run(args) -> ExitCode`. Exit status: 0 on success, 1 when a check the user asked
//! for found a problem (`l4 pcap --check`) or the network failed (`l4 nc`: refused,
//! reset, timed out; one `l4: nc: ...` line) or the emulator's TUNs could not be
//! made (`l4 emulate`) or the relay's TUN, runtime or namespace failed
//! (`l4 tun2socks`), 2 on an error (bad arguments, a file
//! that cannot be read), with a one-line `l4: error: ...` message on stderr.
// The arguments' doc comments are clap's `--help` text, written for a terminal
// (`[HOST] PORT`, `DIR [default: out/<scenario name>]`), not for rustdoc.
#![allow(rustdoc::broken_intra_doc_links, rustdoc::invalid_html_tags)]

use std::process::ExitCode;

use clap::{Parser, Subcommand};

mod demo;
mod emulate;
mod nc;
mod pcap;
mod runtimes;
mod sim;
mod ss;
mod stat;
mod tun2socks;
mod tun_setup;

/// layer4: a userspace transport layer and the tools around it.
#[derive(Debug, Parser)]
#[command(
    name = "l4",
    version,
    about = "layer4: a userspace transport layer and the tools around it"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run the built-in demo: two TCP flows sharing a 50 Mbit/s, 40 ms bottleneck;
    /// writes a report, plots and a capture into ./l4-demo and explains them.
    Demo(demo::Args),
    /// Print the packets of capture files the way `tcpdump -n -S` does, or check them.
    Pcap(pcap::Args),
    /// Run a scenario in the deterministic simulator; write a report, CSV series,
    /// plots and captures.
    Sim(sim::Args),
    /// Netcat over layer4 on a TUN device (root): connect or listen, stdin to the
    /// socket and the socket to stdout.
    Nc(nc::Args),
    /// List the sockets of the layer4 runtimes on this machine, like `ss -tuna`.
    Ss(ss::Args),
    /// Print the counters of the layer4 runtimes on this machine, like `netstat -s`.
    Stat(stat::Args),
    /// Emulate an impaired link between two network namespaces (root), in real
    /// time: a TUN in each, the simulator's link and queue models between them.
    Emulate(Box<emulate::Args>),
    /// Relay the TCP connections and UDP flows routed into a TUN to their real
    /// destinations, directly or through a SOCKS5 proxy (root).
    Tun2socks(tun2socks::Args),
}

/// The exit status for an error the user must fix.
const EXIT_ERROR: u8 = 2;

/// Print `l4: error: {message}` and return the error exit status.
fn error(message: impl std::fmt::Display) -> ExitCode {
    eprintln!("l4: error: {message}");
    ExitCode::from(EXIT_ERROR)
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::Demo(args) => demo::run(&args),
        Command::Pcap(args) => pcap::run(&args),
        Command::Sim(args) => sim::run(&args),
        Command::Nc(args) => nc::run(&args),
        Command::Ss(args) => ss::run(&args),
        Command::Stat(args) => stat::run(&args),
        Command::Emulate(args) => emulate::run(&args),
        Command::Tun2socks(args) => tun2socks::run(&args),
    }
}
