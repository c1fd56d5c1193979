//! `l4 demo`: a built-in scenario that shows what layer4 does, run through the same
//! code as `l4 sim`.
//!
//! The scenario is [`SCENARIO`], the text of `demo.toml` beside this file, parsed by
//! the same reader as any scenario file; `scenarios/demo.toml` is the same file (a
//! test keeps them identical), so `l4 sim scenarios/demo.toml` is the same run. Two
//! TCP flows share a 50 Mbit/s, 40 ms RTT dumbbell with 0.01 % random loss and a
//! drop-tail queue of about one bandwidth-delay product; the second starts 5 s later;
//! 20 s; the bottleneck is captured. After the run (unless `--quiet`) it prints the
//! summary, the files written, and one line per file on what to look at.

use std::fmt::Write as _;
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use layer4_sim::scenario::{self, Scenario};

use crate::sim::{self, run::SimulateFn, Failure, RunOptions};

/// The demo scenario (TOML), identical to `scenarios/demo.toml`.
pub const SCENARIO: &str = include_str!("demo.toml");

/// Where the demo writes by default.
const DEFAULT_OUT: &str = "l4-demo";

/// Options of `l4 demo`.
#[derive(Debug, clap::Args)]
#[command(
    after_help = "The scenario is scenarios/demo.toml (also built into l4); edit a copy \
                  and run it with `l4 sim`.\n\nExit status: 0 on success, 2 when the \
                  output folder cannot be written or the run fails."
)]
pub struct Args {
    /// Write the results into DIR.
    #[arg(long, value_name = "DIR", default_value = DEFAULT_OUT)]
    out: PathBuf,
    /// Seed every random generator with N instead of the scenario's seed (1).
    #[arg(long, value_name = "N")]
    seed: Option<u64>,
    /// Print nothing on success: no progress bar, no summary, no guide to the files.
    #[arg(long, short = 'q')]
    quiet: bool,
}

/// Runs `l4 demo`.
pub fn run(args: &Args) -> ExitCode {
    let stdout = io::stdout();
    match execute(args, sim::run::simulate, &mut stdout.lock()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(failure) => sim::exit_with(failure),
    }
}

/// The demo scenario as parsed by the scenario reader.
pub fn scenario() -> Result<Scenario, Failure> {
    scenario::parse(SCENARIO, "scenarios/demo.toml").map_err(Failure::Scenario)
}

/// The whole command with the engine given as `simulate`.
fn execute(args: &Args, simulate: SimulateFn, out: &mut dyn Write) -> Result<(), Failure> {
    let mut scenario = scenario()?;
    if let Some(seed) = args.seed {
        scenario.seed = seed;
    }
    let options = RunOptions {
        dir: args.out.clone(),
        plots: true,
        quiet: args.quiet,
    };
    sim::run_scenario(&scenario, &options, simulate, out)?;
    if !args.quiet {
        out.write_all(guide(&args.out).as_bytes())
            .map_err(sim::write_err)?;
    }
    Ok(())
}

/// What each file is and what to look at in it, one line each.
fn guide(dir: &Path) -> String {
    let files: [(&str, &str); 8] = [
        (
            "throughput.png",
            "goodput per flow: the first fills the link alone, then shares it when the second joins at 5 s",
        ),
        (
            "cwnd.png",
            "congestion windows: slow start, then NewReno's saw-tooth (halved on each loss, +1 segment per RTT)",
        ),
        (
            "rtt.png",
            "smoothed RTT: the 40 ms path plus the time spent waiting in the bottleneck queue",
        ),
        (
            "queue_delay.png",
            "sojourn time in each queue: the bottleneck fills (up to ~40 ms, one BDP) and drains after losses",
        ),
        (
            "report.json",
            "the summary above for scripts: goodput, retransmits, RTT, drops by cause, queue delay p50/p95/p99, Jain's index",
        ),
        (
            "flows.csv",
            "every flow series behind the plots (goodput, cwnd, ssthresh, srtt, rto), one row per 100 ms",
        ),
        (
            "links.csv",
            "queue length, queue delay and throughput per link direction, one row per 100 ms",
        ),
        (
            "bottleneck.pcap",
            "the headers (first 128 bytes) of every packet on the bottleneck, both ways: `l4 pcap`, `tcpdump -r` or Wireshark (Statistics > TCP Stream Graphs)",
        ),
    ];
    let shown = dir.display();
    let mut text = format!("\nwhat to look at in {shown}/ (the .svg files are the same plots):\n");
    for (file, what) in files {
        let _ = writeln!(text, "  {file:<16} {what}");
    }
    let _ = writeln!(
        text,
        "\nthe scenario is scenarios/demo.toml: change it and run `l4 sim scenarios/demo.toml`, or try `l4 demo --seed 2`."
    );
    text
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fs;

    #[test]
    fn embedded_scenario_is_identical_to_scenarios_demo_toml() {
        let path = format!("{}/../../scenarios/demo.toml", env!("CARGO_MANIFEST_DIR"));
        let shipped = fs::read_to_string(&path).expect("scenarios/demo.toml");
        assert!(
            shipped == SCENARIO,
            "crates/cli/src/demo.toml and scenarios/demo.toml differ: copy one onto the other"
        );
    }

    #[test]
    fn demo_scenario_matches_what_the_demo_promises() {
        use layer4_sim::scenario::Topology;
        let s = scenario().expect("the demo scenario parses");
        assert_eq!(s.duration.as_secs_f64(), 20.0);
        assert_eq!(s.captures, vec!["bottleneck".to_string()]);
        assert_eq!(s.flows.len(), 2);
        assert!(s.flows[1].start > s.flows[0].start);
        let Topology::Dumbbell {
            bottleneck, access, ..
        } = &s.topology
        else {
            panic!("a dumbbell")
        };
        assert_eq!(bottleneck.rate_bps, Some(50_000_000));
        let rtt = 2 * (bottleneck.delay + access.delay + access.delay).as_nanos();
        assert_eq!(rtt, 40_000_000, "40 ms RTT");
    }

    #[test]
    fn guide_names_every_file_the_demo_writes() {
        let text = guide(Path::new("l4-demo"));
        for file in [
            "throughput.png",
            "cwnd.png",
            "rtt.png",
            "queue_delay.png",
            "report.json",
            "flows.csv",
            "links.csv",
            "bottleneck.pcap",
        ] {
            assert!(text.contains(file), "{file}");
        }
    }
}
