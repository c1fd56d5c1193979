//! `l4`: the layer4 command line.
use clap::Parser;

/// layer4: a userspace transport layer and the tools around it.
#[derive(Debug, Parser)]
#[command(name = "l4", version, about)]
struct Cli {}

fn main() {
    let _cli = Cli::parse();
}
