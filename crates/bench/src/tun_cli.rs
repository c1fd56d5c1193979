//! `layer4-bench tun bulk|connect`: the tables of issue 6 (layer4 on a TUN against
//! the Linux kernel, beside Linux against Linux over a TUN wire and over veth).

use std::time::Duration;

use clap::{Args, Subcommand};
use layer4_bench::report::{group_digits, Row, Summary, Table};
use layer4_bench::tun::netns::why_not_root;
use layer4_bench::tun::runs::{self, Connector, Direction, Transfer};
use layer4_bench::BenchError;

use super::{human_bytes, parse_size};

/// Share of the plain-TUN ceiling layer4 should reach without offloads (issue 6).
const TARGET_SHARE: f64 = 0.80;

/// The plain TUN wire's ceiling at MTU 1500 measured on a quiet machine of this kind
/// (limits.md 3a), Gbit/s: the ratio against it is printed beside the one against
/// this run's own wire, which shares the CPUs with whatever else runs.
const REFERENCE_CEILING: f64 = 2.87;
/// Issue 6: layer4 against the kernel over a TUN with offloads, each way.
const OFFLOAD_TARGET_GBPS: f64 = 8.0;

#[derive(Debug, Args)]
pub struct TunArgs {
    #[command(subcommand)]
    pub which: TunBench,
}

#[derive(Debug, Subcommand)]
pub enum TunBench {
    /// Bulk transfer: layer4 → Linux and Linux → layer4 over one TUN, beside Linux →
    /// Linux over a TUN wire (userspace forwarder) and over veth.
    Bulk(TunBulkArgs),
    /// Connections per second, layer4 client → Linux listener over the TUN (open,
    /// one byte each way, close), beside Linux → Linux over loopback.
    Connect(TunConnectArgs),
}

#[derive(Debug, Args)]
pub struct TunBulkArgs {
    /// Bytes per transfer (suffixes K, KiB, M, MiB, G, GiB).
    #[arg(long, default_value = "1GiB", value_parser = parse_size)]
    pub bytes: u64,
    /// Size of each write and read.
    #[arg(long, default_value = "256KiB", value_parser = parse_size)]
    pub buf: u64,
    /// MTU of the TUN and veth devices.
    #[arg(long, default_value_t = 1500)]
    pub mtu: u16,
    /// Open the TUNs with IFF_VNET_HDR and TCP offloads (checksums, TSO4/TSO6):
    /// 64 KB super-packets both ways, for layer4 and for the TUN wire.
    #[arg(long)]
    pub offload: bool,
    /// layer4's TCP send and receive buffers [default: the stack's, 256 KiB; on a
    /// TUN with offloads the runtime's, 4 MiB].
    #[arg(long, value_parser = parse_size)]
    pub stack_buf: Option<u64>,
    /// With --offload, layer4's runtime writes to the TUN from its own thread
    /// (RuntimeOptions::tx_thread, on by default) unless this is given: for A/B
    /// comparisons.
    #[arg(long)]
    pub no_tx_thread: bool,
}

#[derive(Debug, Args)]
pub struct TunConnectArgs {
    /// Connections per run [default: as many as fit in --seconds].
    #[arg(long)]
    pub conns: Option<u64>,
    /// Length of a run when --conns is not given.
    #[arg(long, default_value_t = 2.0)]
    pub seconds: f64,
    /// MTU of the TUN.
    #[arg(long, default_value_t = 1500)]
    pub mtu: u16,
}

/// Runs `f` `runs` times; the samples and the first error.
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

/// A row with the median of `samples`, `detail` after the spread; the median.
fn push_row(
    table: &mut Table,
    name: &str,
    unit: &'static str,
    decimals: usize,
    samples: &[f64],
    err: Option<BenchError>,
    detail: &str,
) -> (Option<f64>, bool) {
    let summary = Summary::of(samples);
    let failed = err.is_some();
    let note = match (&summary, err) {
        (Some(s), None) => format!("{}; {detail}", s.describe(decimals)),
        (Some(s), Some(e)) => format!("{}; then failed: {e}", s.describe(decimals)),
        (None, Some(e)) => format!("failed: {e}"),
        (None, None) => "no run".to_string(),
    };
    let figure = summary.map(|s| s.median);
    table.push(Row {
        stack: name.to_string(),
        figure,
        unit,
        note,
    });
    (figure, failed)
}

/// `met` / `missed` / `not measured`.
fn verdict(ok: Option<bool>) -> &'static str {
    match ok {
        Some(true) => "met",
        Some(false) => "missed",
        None => "not measured",
    }
}

pub fn tun(runs: usize, a: &TunArgs) -> bool {
    if let Some(why) = why_not_root() {
        println!("> tun: not run: {why}. Run as root (e.g. `sudo -E cargo run --release -p layer4-bench -- tun ...`).");
        return true;
    }
    match &a.which {
        TunBench::Bulk(b) => bulk(runs, b),
        TunBench::Connect(c) => connect(runs, c),
    }
}

fn bulk(runs: usize, a: &TunBulkArgs) -> bool {
    let buf = usize::try_from(a.buf).unwrap_or(usize::MAX);
    let mut table = Table::new(
        format!(
            "tun bulk: one TCP connection, {} per run, {} writes and reads, MTU {}, layer4's TCP \
             buffers {}, {}; Gbit/s of payload timed by the receiver; median of {} run(s)",
            human_bytes(a.bytes),
            human_bytes(a.buf),
            a.mtu,
            a.stack_buf.map_or(
                if a.offload {
                    "4 MiB (the runtime's default on a TUN with offloads)".to_string()
                } else {
                    "256 KiB (default)".to_string()
                },
                human_bytes
            ),
            if a.offload && a.no_tx_thread {
                "TUNs with offloads (IFF_VNET_HDR, TUNSETOFFLOAD CSUM|TSO4|TSO6), layer4's \
                 transmit thread off"
            } else if a.offload {
                "TUNs with offloads (IFF_VNET_HDR, TUNSETOFFLOAD CSUM|TSO4|TSO6)"
            } else {
                "no offloads on the TUNs (plain IFF_TUN | IFF_NO_PI)"
            },
            runs.max(1)
        ),
        2,
    );
    let mut failed = false;
    let describe = |xs: &[Transfer], extra: &str| -> String {
        let retrans: Vec<String> = xs
            .iter()
            .filter_map(|t| t.retransmits)
            .map(|r| group_digits(r as f64, 0))
            .collect();
        let mut d = extra.to_string();
        if !retrans.is_empty() {
            d += &format!("; layer4 retransmitted {} segments", retrans.join(" / "));
        }
        let refused: Vec<String> = xs
            .iter()
            .filter_map(|t| t.tun_refused)
            .map(|r| group_digits(r as f64, 0))
            .collect();
        if !refused.is_empty() {
            d += &format!(", the TUN refused {} of its writes", refused.join(" / "));
        }
        d
    };
    let mut one = |table: &mut Table,
                   name: &str,
                   extra: &str,
                   f: &mut dyn FnMut() -> Result<Transfer, BenchError>|
     -> Option<f64> {
        let (xs, err) = repeat(runs, f);
        let g: Vec<f64> = xs.iter().map(Transfer::gbit_per_s).collect();
        let (fig, f) = push_row(table, name, "Gbit/s", 2, &g, err, &describe(&xs, extra));
        failed |= f;
        fig
    };
    let (bytes, mtu, offload) = (a.bytes, a.mtu, a.offload);
    let tx_thread = !a.no_tx_thread;
    let stack_buf = a
        .stack_buf
        .map(|b| usize::try_from(b).unwrap_or(usize::MAX));
    let l4_out = one(
        &mut table,
        "layer4 → Linux, one TUN",
        "layer4_net::Runtime on the TUN; the Linux peer is the kernel of the TUN's own namespace \
         (std::net socket), so one TUN crossing",
        &mut || {
            runs::layer4_bulk(
                Direction::Layer4ToLinux,
                bytes,
                buf,
                mtu,
                offload,
                stack_buf,
                tx_thread,
            )
        },
    );
    let l4_in = one(
        &mut table,
        "Linux → layer4, one TUN",
        "the same setup, the other way",
        &mut || {
            runs::layer4_bulk(
                Direction::LinuxToLayer4,
                bytes,
                buf,
                mtu,
                offload,
                stack_buf,
                tx_thread,
            )
        },
    );
    let wire = one(
        &mut table,
        if offload {
            "Linux → Linux, TUN wire (vnet ceiling)"
        } else {
            "Linux → Linux, TUN wire (plain ceiling)"
        },
        if offload {
            "two namespaces, a TUN with offloads in each, joined by a userspace forwarder \
             passing virtio_net_hdr + super-packet verbatim; two TUN crossings; limits.md 3g: 11.5"
        } else {
            "two namespaces, a TUN in each, joined by a userspace forwarder (one thread per \
             direction, one read + one write per packet); two TUN crossings; limits.md 3a: 2.87"
        },
        &mut || runs::linux_tun_wire(bytes, buf, mtu, offload),
    );
    one(
        &mut table,
        "Linux → Linux, veth",
        "two namespaces, a veth pair, offloads at their defaults (on); limits.md 2d: 14.7",
        &mut || runs::linux_veth(bytes, buf, mtu),
    );
    if offload {
        for (label, fig) in [
            ("layer4 → Linux with offloads", l4_out),
            ("Linux → layer4 with offloads", l4_in),
        ] {
            table.ratio(
                label,
                fig,
                wire,
                &format!(
                    "target ≥ {OFFLOAD_TARGET_GBPS} Gbit/s: {} (ratio against this run's vnet TUN \
                     wire; limits.md 3g: 11.5 Gbit/s)",
                    verdict(fig.map(|x| x >= OFFLOAD_TARGET_GBPS)),
                ),
            );
        }
    } else {
        for (label, fig) in [
            ("layer4 → Linux / plain TUN", l4_out),
            ("Linux → layer4 / plain TUN", l4_in),
        ] {
            let ok = match (fig, wire) {
                (Some(x), Some(w)) if w > 0.0 => Some(x / w >= TARGET_SHARE),
                _ => None,
            };
            table.ratio(
                label,
                fig,
                wire,
                &format!(
                    "target ≥ {TARGET_SHARE:.2} without offloads: {} (against limits.md's quiet-machine \
                     {REFERENCE_CEILING} Gbit/s: {}); smoltcp on a TUN (limits.md 4l/4m): 2.45 out, \
                     3.52 in",
                    verdict(ok),
                    fig.map_or_else(
                        || "—".to_string(),
                        |x| format!("{:.2}", x / REFERENCE_CEILING)
                    ),
                ),
            );
        }
        table.push(Row {
            stack: "layer4 with TUN offloads".to_string(),
            figure: None,
            unit: "Gbit/s",
            note: format!(
                "target ≥ {OFFLOAD_TARGET_GBPS} Gbit/s: measured with `tun bulk --offload`"
            ),
        });
    }
    print!("{}", table.render());
    failed
}

fn connect(runs: usize, a: &TunConnectArgs) -> bool {
    let limit = Duration::from_secs_f64(a.seconds.clamp(0.01, 3600.0));
    let what = match a.conns {
        Some(n) => format!("{} connections per run", group_digits(n as f64, 0)),
        None => format!("{:.1} s per run", limit.as_secs_f64()),
    };
    let mut table = Table::new(
        format!(
            "tun connect: connect, one byte each way, the server closes, then the client; one \
             after another, {what}; the server is the kernel (std::net); median of {} run(s)",
            runs.max(1)
        ),
        0,
    );
    let mut failed = false;
    let mut figs = Vec::new();
    for (name, who, detail) in [
        (
            "layer4 → Linux, one TUN",
            Connector::Layer4,
            "layer4_net::TcpStream client over the TUN, kernel listener in the TUN's namespace",
        ),
        (
            "Linux → Linux, loopback",
            Connector::LinuxLoopback,
            "std::net client and listener on 127.0.0.1 in a fresh namespace; limits.md 2i: about 23 k/s pinned to one CPU",
        ),
    ] {
        let (xs, err) = repeat(runs, || runs::connect_rate(who, a.conns, limit, a.mtu));
        let rates: Vec<f64> = xs
            .iter()
            .map(|(n, d)| *n as f64 / d.as_secs_f64().max(1e-9))
            .collect();
        let counts: Vec<String> = xs.iter().map(|(n, _)| group_digits(*n as f64, 0)).collect();
        let detail = format!("{detail}; connections per run {}", counts.join(" / "));
        let (fig, f) = push_row(&mut table, name, "conn/s", 0, &rates, err, &detail);
        failed |= f;
        figs.push(fig);
    }
    table.ratio(
        "layer4 / Linux loopback",
        figs.first().copied().flatten(),
        figs.get(1).copied().flatten(),
        "no target in issue 6 beyond the comparison",
    );
    print!("{}", table.render());
    failed
}
