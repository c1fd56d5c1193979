//! `l4 tun2socks`: every TCP connection and UDP flow the kernel routes into a
//! TUN, relayed to the real destination through OS sockets, directly or through
//! a SOCKS5 proxy (Linux, root).
//!
//! The TUN is set up as `l4 nc` sets it up ([`crate::tun_setup`]: the kernel's
//! address on the link, up, offloads); the kernel routes into it whatever
//! should go through the relay (`ip route add 198.51.100.0/24 dev t2s0`, or a
//! default route in the clients' namespace). layer4 runs behind it with
//! layer4's transparent sockets, one of each per family of `--addr`:
//!
//! - [`tcp`]: a transparent listener on every port that holds each SYN. For
//!   each held SYN a task dials the destination (`--direct`: an OS TCP
//!   connection; `--socks5`: a SOCKS5 CONNECT, [`socks5`]) within
//!   `--connect-timeout`; only when that succeeds is the client's handshake
//!   completed, and the two streams are copied both ways, each half-close
//!   passed on. When it fails the client sees what the real host would have
//!   made it see: a RST for a refused connection (ECONNREFUSED, SOCKS5 reply
//!   5), an ICMP host unreachable for an unreachable destination or a timeout
//!   (SOCKS5 replies 3 and 4), a RST otherwise.
//! - [`udp`]: a transparent UDP socket on every port. Each (client,
//!   destination) pair is a flow with an OS UDP socket connected to the
//!   destination; answers go back to the client from the destination's
//!   address. A flow ends after `--udp-timeout` without a datagram either way;
//!   at most `--max-udp-flows` live, the least recently used evicted first.
//!   With `--socks5`, UDP is **not relayed** (no UDP ASSOCIATE): datagrams
//!   are dropped, so that nothing leaves around the proxy.
//!
//! `--upstream-netns NAME` makes the OS sockets inside network namespace NAME
//! while the TUN stays in the namespace the tool started in: the clients'
//! namespace routes into the TUN, and the way out is another namespace's. The
//! TUN and layer4's runtime are made first, then the process's main thread
//! enters NAME, and every thread it starts after (the tokio runtime's) lives
//! there. Without it, the OS sockets are in the tool's own namespace: routing
//! must then keep them out of the TUN (only some prefixes routed into it, or
//! policy routing), or their packets loop back into it.
//!
//! Bounds: at most `--max-tcp` connections relayed or being dialled at once
//! (more SYNs wait, held, in the listener's SYN queue, or are dropped beyond
//! it as the stack does, and the clients retry them), `--max-udp-flows` flows.
//! Connections to layer4's own addresses are refused (a RST): relaying them
//! would reach layer4 again.
//!
//! Exit status: 0 after SIGINT or SIGTERM (the relays are dropped, the
//! runtime given 2 s to finish their closes), 1 when the TUN, the runtime or
//! the namespace failed, 2 for bad arguments. `-v`: a line when ready, one per
//! refused connection, and the counters at exit.

pub mod socks5;
mod tcp;
mod udp;

use std::io;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, ToSocketAddrs};
use std::process::ExitCode;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use layer4::ip::cidr::IpCidr;
use layer4_net::emulator::Termination;
use layer4_net::{netns, Runtime};
use tokio::sync::Semaphore;

use crate::tun_setup::{self, net, parse_addrs, usage, Failure, TunSetup};

/// Arguments of `l4 tun2socks`.
#[derive(Debug, clap::Args)]
#[command(group(
    clap::ArgGroup::new("upstream").required(true).args(["socks5", "direct"])
))]
pub struct Args {
    /// The TUN device to create or attach to.
    #[arg(long, value_name = "NAME")]
    tun: String,
    /// layer4's address and prefix on the TUN link, IPv4 or IPv6; give it twice
    /// for both (at most one of each family). Connections and flows of a family
    /// are relayed only with an address of it.
    #[arg(long, value_name = "CIDR", required = true)]
    addr: Vec<String>,
    /// The kernel's address on the TUN, one per family of `--addr` (default: the
    /// first other host address of the prefix).
    #[arg(long, value_name = "IP")]
    tun_addr: Vec<IpAddr>,
    /// Relay through the SOCKS5 proxy at HOST:PORT (CONNECT, no authentication);
    /// UDP is then dropped, not relayed.
    #[arg(long, value_name = "HOST:PORT")]
    socks5: Option<String>,
    /// Relay directly: OS sockets to each destination.
    #[arg(long)]
    direct: bool,
    /// Make the OS sockets (to the destinations or the proxy) inside this
    /// network namespace (an `ip netns` name, or a path like /proc/PID/ns/net);
    /// the TUN stays in the current one.
    #[arg(long, value_name = "NAME")]
    upstream_netns: Option<String>,
    /// End a UDP flow after SECS without a datagram either way.
    #[arg(long, value_name = "SECS", default_value = "60")]
    udp_timeout: f64,
    /// Give up dialling a destination (or the proxy) after SECS: the client's
    /// connection is refused as unreachable.
    #[arg(long, value_name = "SECS", default_value = "10")]
    connect_timeout: f64,
    /// The most TCP connections relayed or being dialled at once.
    #[arg(long, value_name = "N", default_value_t = 4096)]
    max_tcp: usize,
    /// The most UDP flows at once (the least recently used is evicted).
    #[arg(long, value_name = "N", default_value_t = 1024)]
    max_udp_flows: usize,
    /// Open the TUN without offloads (plain IFF_TUN | IFF_NO_PI).
    #[arg(long)]
    no_offload: bool,
    /// Say on stderr when ready, each refused connection, and the counters at
    /// exit.
    #[arg(short = 'v')]
    verbose: bool,
}

/// Where connections go.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Upstream {
    /// OS sockets to each destination.
    Direct,
    /// Through the SOCKS5 proxy at this `HOST:PORT` (resolved once the tool is in
    /// the upstream namespace).
    Socks5(String),
}

/// The checked arguments.
#[derive(Debug)]
pub struct Plan {
    cidrs: Vec<IpCidr>,
    upstream: Upstream,
    udp_timeout: Duration,
    connect_timeout: Duration,
    max_tcp: usize,
    max_udp_flows: usize,
}

/// A positive, finite number of seconds for `--{name}`.
fn seconds(name: &str, s: f64) -> Result<Duration, Failure> {
    if s.is_finite() && s > 0.0 && s <= 1e9 {
        Ok(Duration::from_secs_f64(s))
    } else {
        Err(usage(format!(
            "--{name} {s}: must be a positive number of seconds"
        )))
    }
}

/// `HOST:PORT` with a port (`[fd00::1]:1080` for an IPv6 address).
fn host_port(what: &str, s: &str) -> Result<(), Failure> {
    let bad = || usage(format!("{what} {s:?}: not HOST:PORT"));
    let (host, port) = s.rsplit_once(':').ok_or_else(bad)?;
    if host.is_empty() || port.parse::<u16>().is_err() {
        return Err(bad());
    }
    if host.contains(':') && !(host.starts_with('[') && host.ends_with(']')) {
        return Err(usage(format!(
            "{what} {s:?}: put an IPv6 address in brackets ([fd00::1]:1080)"
        )));
    }
    Ok(())
}

/// Checks the arguments without touching the system.
pub fn parse(args: &Args) -> Result<Plan, Failure> {
    // IFNAMSIZ, less the NUL; no '/' or whitespace (Linux's dev_valid_name).
    let t = &args.tun;
    if t.is_empty() || t.len() > 15 || t.contains(['/', ':']) || t.contains(char::is_whitespace) {
        return Err(usage(format!(
            "--tun {t:?}: not an interface name (1 to 15 bytes, no '/', ':' or spaces)"
        )));
    }
    let cidrs = parse_addrs(&args.addr)?;
    for a in &args.tun_addr {
        if !cidrs.iter().any(|c| c.is_ipv4() == a.is_ipv4()) {
            return Err(usage(format!("--tun-addr {a}: no --addr of its family")));
        }
    }
    let upstream = match (&args.socks5, args.direct) {
        (Some(p), false) => {
            host_port("--socks5", p)?;
            Upstream::Socks5(p.clone())
        }
        (None, true) => Upstream::Direct,
        _ => return Err(usage("give one of --socks5 HOST:PORT and --direct")),
    };
    if let Some(ns) = &args.upstream_netns {
        let path = netns::path_of(ns);
        match std::fs::metadata(&path) {
            Ok(_) if !ns.is_empty() => {}
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                return Err(usage(format!(
                    "--upstream-netns {ns}: no such network namespace ({} does not exist)",
                    path.display()
                )))
            }
            Err(e) => {
                return Err(usage(format!(
                    "--upstream-netns {ns}: {}: {e}",
                    path.display()
                )))
            }
            Ok(_) => return Err(usage("--upstream-netns: an empty name")),
        }
    }
    let positive = |name: &str, n: usize| {
        if n == 0 {
            Err(usage(format!("--{name} 0: must be at least 1")))
        } else {
            Ok(n)
        }
    };
    Ok(Plan {
        cidrs,
        upstream,
        udp_timeout: seconds("udp-timeout", args.udp_timeout)?,
        connect_timeout: seconds("connect-timeout", args.connect_timeout)?,
        max_tcp: positive("max-tcp", args.max_tcp)?,
        max_udp_flows: positive("max-udp-flows", args.max_udp_flows)?,
    })
}

/// The resolved upstream the relay tasks use.
#[derive(Debug, Clone, Copy)]
enum Via {
    Direct,
    Socks5(SocketAddr),
}

/// What the relay's tasks share.
#[derive(Debug)]
struct Relay {
    via: Via,
    /// layer4's own addresses: never relayed (it would reach layer4 again).
    own: Vec<IpAddr>,
    connect_timeout: Duration,
    udp_timeout: Duration,
    /// One permit per TCP connection relayed or being dialled.
    tcp_slots: Arc<Semaphore>,
    verbose: bool,
    counters: Counters,
    /// The clock of the UDP flows' idle times.
    origin: std::time::Instant,
}

impl Relay {
    fn is_own(&self, ip: IpAddr) -> bool {
        self.own.contains(&ip)
    }

    /// Milliseconds since the relay started.
    fn now_ms(&self) -> u64 {
        u64::try_from(self.origin.elapsed().as_millis()).unwrap_or(u64::MAX)
    }
}

/// What the relay did, for `-v` at exit.
#[derive(Debug, Default)]
struct Counters {
    tcp_relayed: AtomicU64,
    tcp_refused: AtomicU64,
    udp_flows: AtomicU64,
    udp_evicted: AtomicU64,
    udp_dropped: AtomicU64,
}

impl Counters {
    fn add(c: &AtomicU64) {
        c.fetch_add(1, Ordering::Relaxed);
    }

    fn line(&self) -> String {
        let get = |c: &AtomicU64| c.load(Ordering::Relaxed);
        format!(
            "{} TCP connections relayed, {} refused; {} UDP flows ({} evicted), {} datagrams dropped",
            get(&self.tcp_relayed),
            get(&self.tcp_refused),
            get(&self.udp_flows),
            get(&self.udp_evicted),
            get(&self.udp_dropped),
        )
    }
}

/// How long the runtime may take at exit to finish the relays' closes.
const LINGER: Duration = Duration::from_secs(2);

/// Runs `l4 tun2socks`.
pub fn run(args: &Args) -> ExitCode {
    // Before any thread exists, so that every thread leaves the signals to us.
    let termination = match Termination::install() {
        Ok(t) => t,
        Err(e) => {
            eprintln!("l4: tun2socks: {e}");
            return ExitCode::from(1);
        }
    };
    match run_inner(args, termination) {
        Ok(()) => ExitCode::SUCCESS,
        Err(Failure::Usage(m)) => crate::error(m),
        Err(Failure::Net(m)) => {
            eprintln!("l4: tun2socks: {m}");
            ExitCode::from(1)
        }
    }
}

fn run_inner(args: &Args, termination: Termination) -> Result<(), Failure> {
    let plan = parse(args)?;
    let rt = tun_setup::start(&TunSetup {
        tun: &args.tun,
        cidrs: &plan.cidrs,
        tun_addr: &args.tun_addr,
        gateway: &[],
        cc: None,
        no_offload: args.no_offload,
        tool: "tun2socks",
        verbose: args.verbose,
    })?;
    // The runtime's threads exist: from here on, this thread and those it
    // starts make their sockets in the upstream namespace.
    if let Some(ns) = &args.upstream_netns {
        netns::enter(ns).map_err(|e| Failure::Net(e.to_string()))?;
    }
    let via = match &plan.upstream {
        Upstream::Direct => Via::Direct,
        Upstream::Socks5(p) => Via::Socks5(
            p.to_socket_addrs()
                .ok()
                .and_then(|mut a| a.next())
                .ok_or_else(|| usage(format!("--socks5 {p}: cannot resolve it")))?,
        ),
    };
    let relay = Arc::new(Relay {
        via,
        own: plan.cidrs.iter().map(|c| c.addr()).collect(),
        connect_timeout: plan.connect_timeout,
        udp_timeout: plan.udp_timeout,
        tcp_slots: Arc::new(Semaphore::new(plan.max_tcp)),
        verbose: args.verbose,
        counters: Counters::default(),
        origin: std::time::Instant::now(),
    });
    let tokio_rt = tokio::runtime::Builder::new_multi_thread()
        .enable_io()
        .enable_time()
        .thread_name("l4-tun2socks")
        .build()
        .map_err(net("tokio runtime"))?;
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel();
    std::thread::spawn(move || {
        let _ = stop_tx.send(termination.wait());
    });
    let served = tokio_rt.block_on(serve(&rt, &plan, &args.tun, relay.clone(), stop_rx));
    // The relays end with the tokio runtime; then their closes get `LINGER`.
    tokio_rt.shutdown_timeout(Duration::from_secs(1));
    rt.shutdown(LINGER);
    let signal = served?;
    if args.verbose {
        let name = match signal {
            2 => "SIGINT".to_string(),
            15 => "SIGTERM".to_string(),
            n => format!("signal {n}"),
        };
        eprintln!(
            "l4: tun2socks: stopped by {name}: {}",
            relay.counters.line()
        );
    }
    Ok(())
}

/// The unspecified address of `cidr`'s family, port 0: every address and port.
fn everything(cidr: &IpCidr) -> SocketAddr {
    let ip = if cidr.is_ipv4() {
        IpAddr::V4(Ipv4Addr::UNSPECIFIED)
    } else {
        IpAddr::V6(Ipv6Addr::UNSPECIFIED)
    };
    SocketAddr::new(ip, 0)
}

/// Relays until a signal arrives (its number) or a listener fails.
async fn serve(
    rt: &Runtime,
    plan: &Plan,
    tun: &str,
    relay: Arc<Relay>,
    stop: tokio::sync::oneshot::Receiver<io::Result<i32>>,
) -> Result<i32, Failure> {
    let mut loops = tokio::task::JoinSet::new();
    let flows: udp::Shared = Arc::new(std::sync::Mutex::new(udp::Flows::new(plan.max_udp_flows)));
    for cidr in &plan.cidrs {
        let any = everything(cidr);
        let listener = layer4_net::tokio::TcpListener::bind_transparent(rt, any)
            .await
            .map_err(net(format!("transparent TCP listener {any}")))?;
        listener
            .set_hold_syns(true)
            .map_err(net(format!("transparent TCP listener {any}")))?;
        loops.spawn(tcp::serve(listener, relay.clone()));
        if let Via::Direct = relay.via {
            let sock = layer4_net::tokio::UdpSocket::bind_transparent(rt, any)
                .await
                .map_err(net(format!("transparent UDP socket {any}")))?;
            loops.spawn(udp::serve(sock, flows.clone(), relay.clone()));
        }
    }
    if relay.verbose {
        let addrs: Vec<String> = plan.cidrs.iter().map(|c| c.to_string()).collect();
        let via = match relay.via {
            Via::Direct => "direct".to_string(),
            Via::Socks5(p) => format!("SOCKS5 {p} (UDP dropped)"),
        };
        eprintln!(
            "l4: tun2socks: ready on {tun} ({}), upstream {via}",
            addrs.join(", ")
        );
    }
    tokio::select! {
        signal = stop => match signal {
            Ok(Ok(n)) => Ok(n),
            Ok(Err(e)) => Err(net("waiting for signals")(e)),
            Err(_) => Err(Failure::Net("the signal thread ended".into())),
        },
        ended = loops.join_next() => match ended {
            Some(Ok(Err(e))) => Err(net("relay")(e)),
            Some(Err(e)) => Err(Failure::Net(format!("relay: {e}"))),
            Some(Ok(Ok(()))) | None => Err(Failure::Net("relay: a loop ended".into())),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Debug, Parser)]
    struct Cli {
        #[command(flatten)]
        args: Args,
    }

    fn parsed(argv: &[&str]) -> Result<Plan, String> {
        let cli = Cli::try_parse_from(std::iter::once("tun2socks").chain(argv.iter().copied()))
            .map_err(|e| e.to_string())?;
        parse(&cli.args).map_err(|f| match f {
            Failure::Usage(m) | Failure::Net(m) => m,
        })
    }

    #[test]
    fn direct_and_socks5_plans_take_their_defaults() {
        let p = parsed(&["--tun", "t0", "--addr", "10.0.0.2/30", "--direct"]).unwrap();
        assert_eq!(p.upstream, Upstream::Direct);
        assert_eq!(p.udp_timeout, Duration::from_secs(60));
        assert_eq!(p.connect_timeout, Duration::from_secs(10));
        assert_eq!((p.max_tcp, p.max_udp_flows), (4096, 1024));
        let p = parsed(&[
            "--tun",
            "t0",
            "--addr",
            "10.0.0.2/30",
            "--addr",
            "fd00::2/64",
            "--socks5",
            "[fd00::9]:1080",
            "--udp-timeout",
            "1.5",
        ])
        .unwrap();
        assert_eq!(p.upstream, Upstream::Socks5("[fd00::9]:1080".into()));
        assert_eq!(p.cidrs.len(), 2);
        assert_eq!(p.udp_timeout, Duration::from_millis(1500));
    }

    #[test]
    fn bad_arguments_are_named() {
        let base = ["--tun", "t0", "--addr", "10.0.0.2/30"];
        for (extra, says) in [
            (&["--direct", "--socks5", "h:1"][..], "cannot be used with"),
            (&[][..], "required"),
            (&["--socks5", "localhost"][..], "not HOST:PORT"),
            (&["--socks5", "h:99999"][..], "not HOST:PORT"),
            (&["--socks5", "fd00::1:1080"][..], "in brackets"),
            (&["--direct", "--udp-timeout", "0"][..], "--udp-timeout 0"),
            (&["--direct", "--udp-timeout", "NaN"][..], "positive"),
            (&["--direct", "--connect-timeout=-1"][..], "positive"),
            (&["--direct", "--max-tcp", "0"][..], "--max-tcp 0"),
            (
                &["--direct", "--tun-addr", "fd00::1"][..],
                "no --addr of its family",
            ),
            (
                &["--direct", "--upstream-netns", "l4-no-such-netns"][..],
                "no such network namespace",
            ),
            (
                &["--direct", "--addr", "10.1.0.2/30"][..],
                "one address of each family",
            ),
        ] {
            let argv: Vec<&str> = base.iter().chain(extra).copied().collect();
            match parsed(&argv) {
                Ok(p) => panic!("{argv:?}: accepted as {p:?}"),
                Err(m) => assert!(m.contains(says), "{argv:?}: {m}"),
            }
        }
        for tun in ["", "a-name-too-long-0", "a/b"] {
            let m = parsed(&["--tun", tun, "--addr", "10.0.0.2/30", "--direct"]).unwrap_err();
            assert!(m.contains("not an interface name"), "{tun:?}: {m}");
        }
        assert!(parsed(&["--tun", "t0", "--direct"])
            .unwrap_err()
            .contains("--addr"));
    }
}
