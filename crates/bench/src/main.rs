//! `layer4-bench`: whole-stack benchmarks, layer4 beside smoltcp, as Markdown tables.
//!
//! ```text
//! cargo run --release -p layer4-bench -- bulk    [--bytes 1GiB] [--mtu 1500] [--buf 256KiB] [--no-verify] [--ipv6]
//! cargo run --release -p layer4-bench -- connect [--conns 200000] [--window 1] [--buf 4KiB] [--clock-step-ns N] [--ipv6] [--sides]
//! cargo run --release -p layer4-bench -- idle    [--conns 1000000] [--smoltcp-conns 20000] [--buf 4KiB] [--ipv6]
//! cargo run --release -p layer4-bench -- sim     [--seconds 10] [--buf BYTES] [--rate 1000]   (layer4-sim only)
//! cargo run --release -p layer4-bench -- cc      [--acks 2000000] [--loss-every 1000] [--only NAME]   (layer4::cc only)
//! cargo run --release -p layer4-bench -- tun bulk    [--bytes 1GiB] [--buf 256KiB] [--mtu 1500]   (root: TUN, namespaces)
//! cargo run --release -p layer4-bench -- tun connect [--conns N | --seconds 2]
//! common: --stack layer4|smoltcp|both (default both), --runs N (default 3; median reported)
//! ```
//!
//! Everything runs on the calling thread (pin it with `taskset -c 1` for steadier
//! figures). A stack that cannot run a benchmark (`BenchError::Unavailable`) gets a row
//! whose note says why; that is not a failure. The exit status
//! is 1 only if a run failed (stall, corrupt data, refused connection).
#![forbid(unsafe_code)]

use std::process::ExitCode;
use std::time::Duration;

mod tun_cli;

use clap::{Args, Parser, Subcommand, ValueEnum};
use layer4_bench::alloc_count::CountingAlloc;
use layer4_bench::layer4_stack::Layer4Harness;
use layer4_bench::report::{group_digits, Row, Summary, Table};
use layer4_bench::results::{ConnectResult, SideRun};
use layer4_bench::smoltcp_stack::{socket_sizes, SmoltcpHarness};
use layer4_bench::{BenchError, BulkConfig, ConnectConfig, IdleConfig, IpFamily, StackHarness};

#[global_allocator]
static ALLOC: CountingAlloc = CountingAlloc;

/// Whole-stack benchmarks: layer4 beside smoltcp, two stacks joined in memory on one
/// thread. Prints Markdown tables.
#[derive(Debug, Parser)]
#[command(name = "layer4-bench", version)]
struct Cli {
    #[command(subcommand)]
    bench: Bench,
    /// Which stacks to run.
    #[arg(long, value_enum, default_value_t = StackChoice::Both, global = true)]
    stack: StackChoice,
    /// Runs per stack for `bulk` and `connect`; the median is reported.
    #[arg(long, default_value_t = 3, global = true)]
    runs: usize,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum StackChoice {
    Layer4,
    Smoltcp,
    Both,
}

#[derive(Debug, Subcommand)]
enum Bench {
    /// Throughput of one TCP connection (checksums on, data copied in and out).
    Bulk(BulkArgs),
    /// Connections per second: open, one byte each way, close.
    Connect(ConnectArgs),
    /// Memory per idle established connection on the server side.
    Idle(IdleArgs),
    /// Speed of the simulator (layer4-sim): one bulk flow at 100 Mbit/s and one at
    /// 1 Gbit/s, 50 ms RTT; events, packets and simulated seconds per wall second.
    Sim(SimArgs),
    /// CPU time per ACK of each congestion controller (newreno, cubic, bbr), driven
    /// directly by a synthetic 100 Mbit/s, 50 ms ACK stream (layer4::cc only).
    Cc(CcArgs),
    /// layer4 on a real TUN device against the Linux kernel, beside Linux to Linux
    /// over a TUN wire and over veth (root; makes and removes its own namespaces).
    Tun(tun_cli::TunArgs),
}

#[derive(Debug, Args)]
struct CcArgs {
    /// ACKs per run.
    #[arg(long, default_value_t = 2_000_000)]
    acks: u64,
    /// A loss (congestion event, then the end of its recovery) every this many ACKs
    /// (0: none).
    #[arg(long, default_value_t = 1000)]
    loss_every: u64,
    /// Only this controller (for an instruction count under callgrind).
    #[arg(long)]
    only: Option<String>,
}

#[derive(Debug, Args)]
struct SimArgs {
    /// Virtual seconds to simulate per run.
    #[arg(long, default_value_t = 10)]
    seconds: u64,
    /// TCP send and receive buffer of both hosts [default: 1.5 × BDP, at least 256 KiB].
    #[arg(long, value_parser = parse_size)]
    buf: Option<u64>,
    /// Run only the case of this bottleneck rate, Mbit/s (100 or 1000) [default: both].
    #[arg(long)]
    rate: Option<u64>,
}

#[derive(Debug, Args)]
struct BulkArgs {
    /// Bytes to transfer (suffixes K, KiB, M, MiB, G, GiB).
    #[arg(long, default_value = "1GiB", value_parser = parse_nonzero_size)]
    bytes: u64,
    /// IP MTU of the in-memory link (576 to 65535; at least 1280 with --ipv6).
    #[arg(long, default_value_t = 1500, value_parser = parse_mtu)]
    mtu: usize,
    /// Send and receive buffer of both sockets.
    #[arg(long, default_value = "256KiB", value_parser = parse_nonzero_size)]
    buf: u64,
    /// Do not compare the received bytes with the sent pattern.
    #[arg(long)]
    no_verify: bool,
    /// Run over IPv6 (2001:db8::/64) instead of IPv4 (198.18.0.0/15); same MTU, so
    /// full-sized segments carry 20 bytes less (MSS 1440 at MTU 1500).
    #[arg(long)]
    ipv6: bool,
}

#[derive(Debug, Args)]
struct ConnectArgs {
    /// Connections to complete per run.
    #[arg(long, default_value_t = 200_000, value_parser = clap::value_parser!(u64).range(1..))]
    conns: u64,
    /// Connections in flight at once (1 = strictly one after another; at most 16384).
    #[arg(long, default_value_t = 1, value_parser = parse_window)]
    window: usize,
    /// IP MTU of the in-memory link (576 to 65535; at least 1280 with --ipv6).
    #[arg(long, default_value_t = 1500, value_parser = parse_mtu)]
    mtu: usize,
    /// Socket buffer size, for stacks that allocate buffers up front (smoltcp).
    #[arg(long, default_value = "4KiB", value_parser = parse_nonzero_size)]
    buf: u64,
    /// Give the stacks a clock that advances this many nanoseconds at every reading
    /// instead of the wall clock: the run then does the same work on any machine and
    /// under `valgrind` (for repeatable instruction counts). Rates are still timed by
    /// the wall clock.
    #[arg(long, value_parser = clap::value_parser!(u64).range(1..))]
    clock_step_ns: Option<u64>,
    /// Run over IPv6 (2001:db8::/64) instead of IPv4 (198.18.0.0/15); same MTU, so
    /// full-sized segments carry 20 bytes less (MSS 1440 at MTU 1500).
    #[arg(long)]
    ipv6: bool,
    /// Also time each side alone: after each run, a recorded run is replayed into the
    /// server's stack alone and then into the client's (the other side's packets from
    /// the recording, its output dropped): what one core serving, or opening,
    /// connections does, without the other end's work.
    #[arg(long)]
    sides: bool,
}

#[derive(Debug, Args)]
struct IdleArgs {
    /// Idle connections to establish.
    #[arg(long, default_value_t = 1_000_000, value_parser = parse_count)]
    conns: usize,
    /// Connections for smoltcp, whose setup costs O(N²) (it walks every socket for
    /// every packet); the per-connection figure does not depend on N.
    #[arg(long, default_value_t = 20_000, value_parser = parse_count)]
    smoltcp_conns: usize,
    /// Connections opened per round.
    #[arg(long, default_value_t = 1024, value_parser = parse_count)]
    batch: usize,
    /// IP MTU of the in-memory link (576 to 65535; at least 1280 with --ipv6).
    #[arg(long, default_value_t = 1500, value_parser = parse_mtu)]
    mtu: usize,
    /// Socket buffer size, for stacks that allocate buffers up front (smoltcp).
    #[arg(long, default_value = "4KiB", value_parser = parse_nonzero_size)]
    buf: u64,
    /// Run over IPv6 (2001:db8::/64) instead of IPv4 (198.18.0.0/15); same MTU, so
    /// full-sized segments carry 20 bytes less (MSS 1440 at MTU 1500).
    #[arg(long)]
    ipv6: bool,
}

/// IPv6 if `ipv6` (the `--ipv6` flag), else IPv4.
fn family(ipv6: bool) -> IpFamily {
    if ipv6 {
        IpFamily::V6
    } else {
        IpFamily::V4
    }
}

/// `1048576`, `1M`, `1MiB`, `64K`, `1G`, `1GiB` (K, M, G are binary here, as for
/// buffer sizes).
/// [`parse_size`], refusing zero (no bytes to send, or buffers that hold nothing).
fn parse_nonzero_size(s: &str) -> Result<u64, String> {
    match parse_size(s)? {
        0 => Err("must be at least 1 byte".into()),
        n => Ok(n),
    }
}

/// A link MTU: 576 (the IPv4 minimum the stack accepts) to 65535 (an IP packet's
/// largest); `--ipv6` asks for at least 1280 too ([`check_family_mtu`]).
fn parse_mtu(s: &str) -> Result<usize, String> {
    let n: usize = s
        .trim()
        .parse()
        .map_err(|_| format!("not a number: {s:?}"))?;
    if !(576..=65535).contains(&n) {
        return Err(format!("{n} is outside 576..=65535"));
    }
    Ok(n)
}

/// A count of at least 1.
fn parse_count(s: &str) -> Result<usize, String> {
    match s.trim().parse::<usize>() {
        Ok(0) => Err("must be at least 1".into()),
        Ok(n) => Ok(n),
        Err(_) => Err(format!("not a number: {s:?}")),
    }
}

/// `connect --window`: 1 to 16384 connections in flight.
fn parse_window(s: &str) -> Result<usize, String> {
    match parse_count(s)? {
        n if n > 16384 => Err(format!("{n} is more than 16384")),
        n => Ok(n),
    }
}

/// IPv6 links carry at least 1280-byte packets (RFC 8200 section 5); `None` when
/// `mtu` suits the family, else the message to print.
fn check_family_mtu(ipv6: bool, mtu: usize) -> Option<String> {
    (ipv6 && mtu < 1280).then(|| format!("--mtu {mtu} is below IPv6's minimum link MTU, 1280"))
}

fn parse_size(s: &str) -> Result<u64, String> {
    let t = s.trim();
    let split = t.find(|c: char| !c.is_ascii_digit()).unwrap_or(t.len());
    let (num, suffix) = t.split_at(split);
    let n: u64 = num.parse().map_err(|_| format!("not a size: {s:?}"))?;
    let mult: u64 = match suffix.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 1,
        "k" | "kib" => 1 << 10,
        "m" | "mib" => 1 << 20,
        "g" | "gib" => 1 << 30,
        other => return Err(format!("unknown size suffix {other:?} in {s:?}")),
    };
    n.checked_mul(mult)
        .ok_or_else(|| format!("size too large: {s:?}"))
}

/// `1 GiB`, `256 KiB`, `1500 B`.
fn human_bytes(n: u64) -> String {
    for (shift, unit) in [(30, "GiB"), (20, "MiB"), (10, "KiB")] {
        if n >= 1 << shift && n.is_multiple_of(1 << shift) {
            return format!("{} {unit}", n >> shift);
        }
    }
    format!("{} B", group_digits(n as f64, 0))
}

/// ` (on CPU 93 % of it: 35.10 Gbit/s per CPU-second)`, when the thread did not have
/// the core to itself; empty otherwise.
fn on_cpu(
    cpu: Option<std::time::Duration>,
    wall: std::time::Duration,
    per_cpu: Option<f64>,
    unit: &str,
    decimals: usize,
) -> String {
    match (cpu, per_cpu) {
        (Some(cpu), Some(rate)) => format!(
            " (on CPU {:.0} % of it: {} {unit} per CPU-second)",
            100.0 * cpu.as_secs_f64() / wall.as_secs_f64().max(1e-9),
            group_digits(rate, decimals)
        ),
        _ => String::new(),
    }
}

/// The row of one side alone (`connect --sides`): the median of the runs' rates.
fn side_row(
    stack: &str,
    side: &str,
    results: &[ConnectResult],
    pick: fn(&ConnectResult) -> Option<SideRun>,
) -> Row {
    let rates: Vec<f64> = results
        .iter()
        .filter_map(|r| pick(r).map(|s| r.conns as f64 / s.elapsed.as_secs_f64()))
        .collect();
    let best = results
        .iter()
        .filter_map(|r| pick(r).map(|s| (r.conns, s)))
        .max_by(|x, y| x.1.elapsed.cmp(&y.1.elapsed).reverse());
    let detail = best
        .map(|(conns, s)| {
            let per_cpu = s.cpu.map(|c| conns as f64 / c.as_secs_f64());
            format!(
                "best run: {:.3} s{}; the other side's packets replayed from a recorded run",
                s.elapsed.as_secs_f64(),
                on_cpu(s.cpu, s.elapsed, per_cpu, "conn/s", 0)
            )
        })
        .unwrap_or_default();
    row(
        &format!("{stack}, {side} side alone"),
        "conn/s",
        0,
        &rates,
        None,
        detail,
    )
    .0
}

/// Runs `f` up to `runs` times, stopping at the first error.
fn repeat<R>(
    runs: usize,
    mut f: impl FnMut() -> Result<R, BenchError>,
) -> (Vec<R>, Option<BenchError>) {
    let mut out = Vec::new();
    for _ in 0..runs.max(1) {
        match f() {
            Ok(r) => out.push(r),
            Err(e) => return (out, Some(e)),
        }
    }
    (out, None)
}

/// What the CLI learned from one stack's runs.
struct Outcome {
    figure: Option<f64>,
    failed: bool,
}

/// The row for one stack: the median, or the error as the note.
fn row(
    name: &str,
    unit: &'static str,
    decimals: usize,
    samples: &[f64],
    error: Option<BenchError>,
    detail: String,
) -> (Row, Outcome) {
    let summary = Summary::of(samples);
    let failed = matches!(&error, Some(e) if !matches!(e, BenchError::Unavailable(_)));
    let note = match (&summary, error) {
        (Some(s), None) => format!("{}; {detail}", s.describe(decimals)),
        (Some(s), Some(e)) => format!("{}; then failed: {e}", s.describe(decimals)),
        (None, Some(e)) => e.to_string(),
        (None, None) => "no run".to_string(),
    };
    let figure = summary.map(|s| s.median);
    (
        Row {
            stack: name.to_string(),
            figure,
            unit,
            note,
        },
        Outcome { figure, failed },
    )
}

fn harnesses(choice: StackChoice) -> Vec<&'static dyn StackHarness> {
    let mut v: Vec<&'static dyn StackHarness> = Vec::new();
    if choice != StackChoice::Smoltcp {
        v.push(&Layer4Harness);
    }
    if choice != StackChoice::Layer4 {
        v.push(&SmoltcpHarness);
    }
    v
}

fn bulk(cli: &Cli, a: &BulkArgs) -> bool {
    let cfg = BulkConfig {
        bytes: a.bytes,
        mtu: a.mtu,
        buf: a.buf as usize,
        verify: !a.no_verify,
        family: family(a.ipv6),
    };
    let mut table = Table::new(
        format!(
            "bulk: one TCP connection over {}, {} client → server, MTU {} (MSS {}), {} send and \
             receive buffers, checksums computed and verified, data copied in and out{}, one thread",
            cfg.family.name(),
            human_bytes(cfg.bytes),
            cfg.mtu,
            cfg.family.mss(cfg.mtu),
            human_bytes(cfg.buf as u64),
            if cfg.verify { " and checked" } else { "" },
        ),
        2,
    );
    let mut figures = Vec::new();
    let mut failed = false;
    for h in harnesses(cli.stack) {
        let (results, err) = repeat(cli.runs, || h.run_bulk(&cfg));
        let gbps: Vec<f64> = results.iter().map(|r| r.gbit_per_s()).collect();
        let detail = results
            .iter()
            .max_by(|x, y| x.gbit_per_s().total_cmp(&y.gbit_per_s()))
            .map(|r| {
                format!(
                    "best run: {:.3} s{}, {:.2} M packets/s client → server, {} packets back",
                    r.elapsed.as_secs_f64(),
                    on_cpu(r.cpu, r.elapsed, r.gbit_per_cpu_s(), "Gbit/s", 2),
                    r.packets_per_s() / 1e6,
                    group_digits(r.packets_b_to_a as f64, 0)
                )
            })
            .unwrap_or_default();
        let (r, o) = row(h.name(), "Gbit/s", 2, &gbps, err, detail);
        table.push(r);
        figures.push(o.figure);
        failed |= o.failed;
    }
    if cli.stack == StackChoice::Both {
        table.ratio("layer4 / smoltcp", figures[0], figures[1], "target ≥ 1.5");
    }
    print!("{}", table.render());
    failed
}

fn connect(cli: &Cli, a: &ConnectArgs) -> bool {
    let cfg = ConnectConfig {
        conns: a.conns,
        window: a.window,
        mtu: a.mtu,
        buf: a.buf as usize,
        clock_step: a.clock_step_ns.map(Duration::from_nanos),
        family: family(a.ipv6),
        sides: a.sides,
    };
    let clock = match a.clock_step_ns {
        Some(ns) => format!("; stacks' clock: +{ns} ns per reading"),
        None => String::new(),
    };
    let mut table = Table::new(
        format!(
            "connect over {}: open, one byte each way, close; {} connections per run, {} in \
             flight, one thread{clock}",
            cfg.family.name(),
            group_digits(cfg.conns as f64, 0),
            cfg.window
        ),
        0,
    );
    let mut figures = Vec::new();
    let mut failed = false;
    for h in harnesses(cli.stack) {
        let (results, err) = repeat(cli.runs, || h.run_connect(&cfg));
        let rates: Vec<f64> = results.iter().map(|r| r.per_second()).collect();
        let detail = results
            .iter()
            .max_by(|x, y| x.per_second().total_cmp(&y.per_second()))
            .map(|r| {
                format!(
                    "best run: {:.3} s{}; {:.1} packets per connection; {} B socket buffers",
                    r.elapsed.as_secs_f64(),
                    on_cpu(r.cpu, r.elapsed, r.per_cpu_second(), "conn/s", 0),
                    r.packets as f64 / r.conns.max(1) as f64,
                    group_digits(cfg.buf as f64, 0)
                )
            })
            .unwrap_or_default();
        let (r, o) = row(h.name(), "conn/s", 0, &rates, err, detail);
        table.push(r);
        figures.push(o.figure);
        failed |= o.failed;
        if cfg.sides {
            for (side, pick) in [
                (
                    "server",
                    (|r| r.server_alone) as fn(&ConnectResult) -> Option<SideRun>,
                ),
                ("client", |r| r.client_alone),
            ] {
                table.push(side_row(h.name(), side, &results, pick));
            }
        }
    }
    if cli.stack == StackChoice::Both {
        table.ratio(
            "layer4 / smoltcp",
            figures[0],
            figures[1],
            "target: layer4 ≥ 500,000 conn/s",
        );
    }
    print!("{}", table.render());
    failed
}

fn idle(cli: &Cli, a: &IdleArgs) -> bool {
    let mut table = Table::new(
        format!(
            "idle over {}: server-side memory per idle established connection, {} connections \
             (everything the server side allocated: stack, socket table, state, buffers)",
            family(a.ipv6).name(),
            group_digits(a.conns as f64, 0)
        ),
        0,
    );
    let mut figures = Vec::new();
    let mut failed = false;
    for h in harnesses(cli.stack) {
        let smoltcp = h.name().starts_with("smoltcp");
        let cfg = IdleConfig {
            conns: if smoltcp {
                a.conns.min(a.smoltcp_conns)
            } else {
                a.conns
            },
            batch: a.batch,
            mtu: a.mtu,
            buf: a.buf as usize,
            family: family(a.ipv6),
        };
        let (results, err) = repeat(1, || h.run_idle(&cfg));
        let per_conn: Vec<f64> = results.iter().map(|r| r.server_bytes_per_conn()).collect();
        let detail = results
            .first()
            .map(|r| {
                let n = r.conns.max(1) as f64;
                let mut d = format!("N = {}", group_digits(r.conns as f64, 0));
                if r.conns < a.conns {
                    d += &format!(
                        " (scaled down from {} with --smoltcp-conns: smoltcp walks its whole \
                         socket set for every packet, so setup is O(N²))",
                        group_digits(a.conns as f64, 0)
                    );
                }
                d += &format!(
                    "; of which socket buffers {} B",
                    group_digits(r.server_buffer_bytes as f64 / n, 0)
                );
                if smoltcp {
                    let (socket, slot) = socket_sizes();
                    d += &format!(
                        " (fixed rx + tx of {} B each, allocated with the socket), \
                         SocketSet slot {slot} B holding a {socket} B tcp::Socket, slots grow by doubling",
                        group_digits(cfg.buf as f64, 0)
                    );
                }
                d += &format!(
                    "; {:.1} heap blocks/conn; client side {} B/conn",
                    r.server_blocks as f64 / n,
                    group_digits(r.client_bytes as f64 / n, 0)
                );
                if let Some(rss) = r.rss_growth_bytes {
                    d += &format!(
                        "; process RSS growth {} B/conn (both sides, link, malloc overhead)",
                        group_digits(rss as f64 / n, 0)
                    );
                }
                d += &format!("; setup {:.1} s", r.setup.as_secs_f64());
                d
            })
            .unwrap_or_default();
        let (mut r, o) = row(h.name(), "B/conn", 0, &per_conn, err, detail);
        if let Some(rest) = r.note.strip_prefix("1 run; ") {
            r.note = rest.to_string();
        }
        table.push(r);
        figures.push(o.figure);
        failed |= o.failed;
    }
    if cli.stack == StackChoice::Both {
        table.ratio(
            "layer4 / smoltcp",
            figures[0],
            figures[1],
            "lower is better; target: layer4 ≤ 1,024 B/conn",
        );
    }
    print!("{}", table.render());
    failed
}

/// `sim`: the simulator's speed against its targets, one Markdown table.
fn sim(cli: &Cli, a: &SimArgs) -> bool {
    use layer4::time::Duration;
    use layer4_bench::sim_speed::{self, SimSpeedConfig};
    // (bottleneck rate, target simulated seconds per wall second)
    let cases: [(u64, f64); 2] = [(100_000_000, 50.0), (1_000_000_000, 5.0)];
    println!(
        "sim: one bulk NewReno flow over a dumbbell (client — r0 — bottleneck — r1 — server), \
         50 ms RTT, one-BDP drop-tail queue, {} s simulated, one thread; median of {} run(s)\n",
        a.seconds,
        cli.runs.max(1)
    );
    println!(
        "| bottleneck | buffers | goodput | wall | sim s / wall s | target | sim s / CPU s | events/s | packets/s | events |"
    );
    println!("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |");
    let mut failed = false;
    for (rate, target) in cases {
        if a.rate
            .is_some_and(|mbit| mbit.saturating_mul(1_000_000) != rate)
        {
            continue;
        }
        let mut cfg = SimSpeedConfig::new(
            rate,
            Duration::from_millis(50),
            Duration::from_secs(a.seconds.max(1)),
        );
        if let Some(buf) = a.buf {
            cfg.buffer = usize::try_from(buf).unwrap_or(usize::MAX);
        }
        let (mut results, err) = repeat(cli.runs, || sim_speed::run(&cfg));
        results.sort_by_key(|r| r.wall);
        let label = format!("{} Mbit/s", rate / 1_000_000);
        let Some(r) = results.get(results.len() / 2) else {
            let why = err.map_or_else(|| "no run".to_string(), |e| e.to_string());
            println!(
                "| {label} | {} | failed: {why} | | | | | | | |",
                human_bytes(cfg.buffer as u64)
            );
            failed = true;
            continue;
        };
        let speedup = r.speedup();
        let verdict = if speedup >= target { "met" } else { "missed" };
        println!(
            "| {label} | {} | {:.1} Mbit/s | {:.3} s | {:.1}× | ≥ {target}× ({verdict}) | {} | {} | {} | {} |",
            human_bytes(cfg.buffer as u64),
            r.goodput_bps() / 1e6,
            r.wall.as_secs_f64(),
            speedup,
            r.speedup_per_cpu()
                .map_or_else(|| "-".to_string(), |x| format!("{x:.1}×")),
            group_digits(r.events_per_s(), 0),
            group_digits(r.packets_per_s(), 0),
            group_digits(r.events as f64, 0),
        );
        if let Some(e) = err {
            println!("\n> {label}: a later run failed: {e}");
            failed = true;
        }
    }
    failed
}

fn cc(cli: &Cli, a: &CcArgs) -> bool {
    use layer4_bench::cc_cost;
    println!(
        "cc: each controller driven directly by {} synthetic ACKs (100 Mbit/s, 50 ms, one \
         send per ACK, a loss every {} ACKs), one thread; median of {} run(s)\n",
        group_digits(a.acks as f64, 0),
        a.loss_every,
        cli.runs.max(1)
    );
    let mut table = Table::new("CPU time per ACK", 1);
    let mut failed = false;
    for name in ["newreno", "cubic", "bbr"] {
        if a.only.as_deref().is_some_and(|o| o != name) {
            continue;
        }
        let mut runs: Vec<f64> = Vec::new();
        for _ in 0..cli.runs.max(1) {
            match cc_cost::run(name, a.acks, a.loss_every) {
                Some(c) => runs.push(c.ns_per_ack()),
                None => failed = true,
            }
        }
        let summary = Summary::of(&runs);
        table.push(Row {
            stack: name.to_string(),
            figure: summary.as_ref().map(|s| s.median),
            unit: "ns/ACK",
            note: summary.map_or_else(|| "no run".to_string(), |s| s.describe(1)),
        });
    }
    print!("{}", table.render());
    failed
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let family_mtu = match &cli.bench {
        Bench::Bulk(a) => check_family_mtu(a.ipv6, a.mtu),
        Bench::Connect(a) => check_family_mtu(a.ipv6, a.mtu),
        Bench::Idle(a) => check_family_mtu(a.ipv6, a.mtu),
        _ => None,
    };
    if let Some(why) = family_mtu {
        eprintln!("error: {why}");
        return ExitCode::from(2);
    }
    if cfg!(debug_assertions) {
        println!("> debug build: figures are meaningless, use `cargo run --release`\n");
    }
    let failed = match &cli.bench {
        Bench::Bulk(a) => bulk(&cli, a),
        Bench::Connect(a) => connect(&cli, a),
        Bench::Idle(a) => idle(&cli, a),
        Bench::Sim(a) => sim(&cli, a),
        Bench::Cc(a) => cc(&cli, a),
        Bench::Tun(a) => tun_cli::tun(cli.runs, a),
    };
    if failed {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arguments_that_would_measure_nothing_are_refused() {
        for args in [
            &["connect", "--conns", "0"][..],
            &["connect", "--window", "0"],
            &["connect", "--window", "16385"],
            &["connect", "--mtu", "10"],
            &["connect", "--mtu", "70000"],
            &["connect", "--buf", "0"],
            &["bulk", "--bytes", "0"],
            &["bulk", "--buf", "0KiB"],
            &["bulk", "--mtu", "575"],
            &["idle", "--conns", "0"],
            &["idle", "--batch", "0"],
            &["idle", "--smoltcp-conns", "0"],
        ] {
            let argv = std::iter::once("layer4-bench").chain(args.iter().copied());
            assert!(Cli::try_parse_from(argv).is_err(), "{args:?} was accepted");
        }
        let ok = Cli::try_parse_from(["layer4-bench", "connect", "--window", "16384"]);
        assert!(ok.is_ok());
        // The family's minimum MTU is checked after parsing.
        assert!(check_family_mtu(true, 1279).is_some());
        assert_eq!(check_family_mtu(true, 1280), None);
        assert_eq!(check_family_mtu(false, 576), None);
    }

    #[test]
    fn sizes_parse_with_binary_suffixes() {
        assert_eq!(parse_size("1500"), Ok(1500));
        assert_eq!(parse_size("256KiB"), Ok(256 * 1024));
        assert_eq!(parse_size("4k"), Ok(4096));
        assert_eq!(parse_size("1GiB"), Ok(1 << 30));
        assert_eq!(parse_size("2 M"), Ok(2 << 20));
        assert!(parse_size("1TB").is_err());
        assert!(parse_size("x").is_err());
    }

    #[test]
    fn human_bytes_picks_the_largest_exact_unit() {
        assert_eq!(human_bytes(1 << 30), "1 GiB");
        assert_eq!(human_bytes(256 * 1024), "256 KiB");
        assert_eq!(human_bytes(1500), "1,500 B");
    }

    #[test]
    fn tun_subcommands_parse_with_their_defaults() {
        let cli = Cli::try_parse_from(["layer4-bench", "tun", "bulk", "--runs", "5"]).unwrap();
        assert_eq!(cli.runs, 5);
        let Bench::Tun(t) = cli.bench else {
            panic!("not tun")
        };
        assert!(matches!(
            t.which,
            tun_cli::TunBench::Bulk(tun_cli::TunBulkArgs {
                bytes,
                buf,
                mtu: 1500,
                offload: false,
                stack_buf: None,
                no_tx_thread: false,
            }) if bytes == 1 << 30 && buf == 256 * 1024
        ));
        let cli = Cli::try_parse_from([
            "layer4-bench",
            "tun",
            "bulk",
            "--offload",
            "--stack-buf",
            "4MiB",
        ])
        .unwrap();
        assert!(matches!(
            cli.bench,
            Bench::Tun(tun_cli::TunArgs {
                which: tun_cli::TunBench::Bulk(tun_cli::TunBulkArgs {
                    offload: true,
                    stack_buf: Some(b),
                    ..
                })
            }) if b == 4 << 20
        ));
        let cli =
            Cli::try_parse_from(["layer4-bench", "tun", "connect", "--conns", "100"]).unwrap();
        assert!(matches!(
            cli.bench,
            Bench::Tun(tun_cli::TunArgs {
                which: tun_cli::TunBench::Connect(tun_cli::TunConnectArgs {
                    conns: Some(100),
                    ..
                })
            })
        ));
        assert!(Cli::try_parse_from(["layer4-bench", "tun", "bulk", "--mtu", "70000"]).is_err());
    }

    #[test]
    fn ipv6_is_an_option_of_bulk_connect_and_idle() {
        for bench in ["bulk", "connect", "idle"] {
            let cli = Cli::try_parse_from(["layer4-bench", bench]).unwrap();
            let ipv6 = match cli.bench {
                Bench::Bulk(a) => a.ipv6,
                Bench::Connect(a) => a.ipv6,
                Bench::Idle(a) => a.ipv6,
                _ => panic!("{bench}"),
            };
            assert!(!ipv6, "{bench} defaults to IPv4");
            let cli = Cli::try_parse_from(["layer4-bench", bench, "--ipv6"]).unwrap();
            let ipv6 = match cli.bench {
                Bench::Bulk(a) => a.ipv6,
                Bench::Connect(a) => a.ipv6,
                Bench::Idle(a) => a.ipv6,
                _ => panic!("{bench}"),
            };
            assert!(ipv6, "{bench} --ipv6");
        }
        assert_eq!(family(true), IpFamily::V6);
        assert_eq!(family(false), IpFamily::V4);
    }

    #[test]
    fn cli_accepts_stack_after_the_subcommand() {
        let cli = Cli::try_parse_from(["layer4-bench", "bulk", "--stack", "smoltcp"]).unwrap();
        assert_eq!(cli.stack, StackChoice::Smoltcp);
        assert!(matches!(cli.bench, Bench::Bulk(BulkArgs { bytes, .. }) if bytes == 1 << 30));
    }
}
