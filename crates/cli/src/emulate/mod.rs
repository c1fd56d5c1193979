//! `l4 emulate`: a real-time link emulator between two network namespaces (Linux,
//! root), netem's job done by the simulator's link and queue models.
//!
//! A TUN is made in each namespace (`--tun`, default `l4emu0`) with the kernel's
//! address `--left-addr` / `--right-addr`; what the left kernel routes into its TUN
//! crosses the `to_right` link and comes out of the right TUN, and back through
//! `to_left`. The links are `layer4_sim::link::Link`s (rate or Mahimahi trace,
//! delay, jitter, loss, duplication, corruption, reordering, a queue with ECN)
//! driven on the monotonic clock by `layer4_net::emulator`.
//!
//! - [`link_args`]: the link and queue options and the `LinkConfig` made from them.
//! - [`report`]: the per-direction summary line and `--stats-json`.
//!
//! Runs until SIGINT/SIGTERM or `--duration`, then prints one summary line per
//! direction on stdout. Exit status: 0 after a clean stop, 1 when the TUNs could not
//! be made (no such namespace, not root), 2 for bad arguments.

mod link_args;
mod report;

use std::net::Ipv4Addr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use layer4::ip::cidr::Ipv4Cidr;
use layer4::rand::StackRng;
use layer4::time::Instant;
use layer4_net::emulator::{Emulator, PacketPath, SideConfig, Stopped, Termination};
use layer4_sim::link::Link;
use layer4_sim::Packet;

pub use link_args::LinkArgs;

/// Arguments of `l4 emulate`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The left network namespace (an `ip netns` name, or a path like
    /// /proc/PID/ns/net).
    #[arg(long, value_name = "NS")]
    left: String,
    /// The right network namespace.
    #[arg(long, value_name = "NS")]
    right: String,
    /// The left kernel's address and prefix on its TUN.
    #[arg(long, value_name = "CIDR", default_value = "10.77.0.1/24")]
    left_addr: String,
    /// The right kernel's address and prefix on its TUN.
    #[arg(long, value_name = "CIDR", default_value = "10.77.0.2/24")]
    right_addr: String,
    /// The TUNs' name (one in each namespace).
    #[arg(long, value_name = "NAME", default_value = "l4emu0")]
    tun: String,
    #[command(flatten)]
    link: LinkArgs,
    /// Options for the left-to-right direction only, replacing the shared ones:
    /// `--to-right "--delay 40ms --loss 2%"`.
    #[arg(long, value_name = "OPTIONS", allow_hyphen_values = true)]
    to_right: Option<String>,
    /// Options for the right-to-left direction only.
    #[arg(long, value_name = "OPTIONS", allow_hyphen_values = true)]
    to_left: Option<String>,
    /// Seed of the random models (loss, jitter, ...); default: from the OS.
    #[arg(long, value_name = "N")]
    seed: Option<u64>,
    /// Stop after SECS (default: at SIGINT/SIGTERM).
    #[arg(long, value_name = "SECS")]
    duration: Option<f64>,
    /// Also write the counters as JSON to FILE at exit.
    #[arg(long, value_name = "FILE")]
    stats_json: Option<PathBuf>,
}

/// Packets one direction may hold (queued or propagating) before it drops new
/// ones: with no rate limit, nothing else bounds the packets propagating but the
/// senders' speed times the delay. 100,000 packets is at most ~150 MB at 1500 bytes.
const MAX_HELD_PACKETS: u64 = 100_000;

/// A simulator link as one direction of the emulator.
struct LinkPath {
    link: Link,
    next_uid: u64,
    /// Packets dropped because the link held [`MAX_HELD_PACKETS`].
    dropped_held: u64,
}

impl LinkPath {
    fn new(link: Link) -> LinkPath {
        LinkPath {
            link,
            next_uid: 0,
            dropped_held: 0,
        }
    }

    /// Packets in the queue or propagating.
    fn held(&self) -> u64 {
        let s = self.link.stats();
        (s.packets_in + s.duplicated).saturating_sub(s.drops.total() + s.packets_delivered)
    }
}

impl PacketPath for LinkPath {
    fn handle_packet(&mut self, now: Instant, packet: Vec<u8>) {
        if self.held() >= MAX_HELD_PACKETS {
            self.dropped_held += 1;
            return;
        }
        self.next_uid += 1;
        self.link
            .handle_packet(now, Packet::new(packet, self.next_uid));
    }

    fn poll_timeout(&self) -> Option<Instant> {
        self.link.poll_timeout()
    }

    fn poll_deliver(&mut self, now: Instant) -> Option<Vec<u8>> {
        self.link.poll_deliver(now).map(|p| p.data)
    }
}

fn side(
    name: &str,
    namespace: &str,
    cidr: &str,
    tun: &str,
    mtu: usize,
) -> Result<SideConfig, String> {
    let c: Ipv4Cidr = cidr
        .parse()
        .map_err(|e| format!("--{name}-addr {cidr}: {e} (an IPv4 CIDR)"))?;
    let addr: Ipv4Addr = c.addr();
    Ok(SideConfig {
        namespace: namespace.to_string(),
        tun: tun.to_string(),
        addr,
        prefix_len: c.prefix_len(),
        mtu: u16::try_from(mtu).unwrap_or(u16::MAX),
    })
}

/// Runs `l4 emulate`.
pub fn run(args: &Args) -> ExitCode {
    // Before any thread exists, so that every thread leaves the signals to us.
    let termination = match Termination::install() {
        Ok(t) => t,
        Err(e) => {
            eprintln!("l4: emulate: {e}");
            return ExitCode::from(1);
        }
    };
    let (to_right, to_left, left, right, duration) = match parse(args) {
        Ok(v) => v,
        Err(m) => return crate::error(m),
    };
    let seed = match args.seed {
        Some(s) => s,
        None => layer4_net::runtime::os_seed().unwrap_or(0),
    };
    let rng = StackRng::from_seed(seed);
    let emulator = match Emulator::open(&left, &right) {
        Ok(e) => e,
        Err(e) => {
            eprintln!("l4: emulate: {e}");
            return ExitCode::from(1);
        }
    };
    let mut right_path = LinkPath::new(Link::new(to_right, rng.fork("to-right")));
    let mut left_path = LinkPath::new(Link::new(to_left, rng.fork("to-left")));
    eprintln!(
        "l4: emulate: ready: {} {} {}/{} <-> {} {} {}/{} (seed {seed})",
        left.namespace,
        left.tun,
        left.addr,
        left.prefix_len,
        right.namespace,
        right.tun,
        right.addr,
        right.prefix_len
    );
    let started = std::time::Instant::now();
    let outcome = emulator.run(&mut right_path, &mut left_path, &termination, duration);
    let elapsed = started.elapsed();
    let (stopped, left_io, right_io) = match outcome {
        Ok(v) => v,
        Err(e) => {
            eprintln!("l4: emulate: {e}");
            return ExitCode::from(1);
        }
    };
    let summary = report::Summary {
        seed,
        elapsed,
        stopped: match stopped {
            Stopped::Signal(2) => "SIGINT".to_string(),
            Stopped::Signal(15) => "SIGTERM".to_string(),
            Stopped::Signal(n) => format!("signal {n}"),
            Stopped::Elapsed => "duration".to_string(),
        },
        to_right: report::Direction::new(
            &right_path.link,
            right_path.dropped_held,
            left_io.read,
            right_io,
        ),
        to_left: report::Direction::new(
            &left_path.link,
            left_path.dropped_held,
            right_io.read,
            left_io,
        ),
    };
    print!("{}", summary.lines());
    if let Some(path) = &args.stats_json {
        if let Err(e) = std::fs::write(path, summary.json()) {
            eprintln!("l4: emulate: {}: {e}", path.display());
            return ExitCode::from(1);
        }
    }
    ExitCode::SUCCESS
}

type Parsed = (
    layer4_sim::link::LinkConfig,
    layer4_sim::link::LinkConfig,
    SideConfig,
    SideConfig,
    Option<Duration>,
);

fn parse(args: &Args) -> Result<Parsed, String> {
    if args.left == args.right {
        return Err(format!(
            "--left and --right are the same namespace ({:?}): the emulator joins two",
            args.left
        ));
    }
    let direction = |name: &str, words: &Option<String>| {
        let a = match words {
            Some(w) => args
                .link
                .overridden_by(w)
                .map_err(|e| format!("--{name}: {e}"))?,
            None => args.link.clone(),
        };
        a.to_config().map_err(|e| match words {
            Some(_) => format!("{name}: {e}"),
            None => e,
        })
    };
    let to_right = direction("to-right", &args.to_right)?;
    let to_left = direction("to-left", &args.to_left)?;
    let mtu = to_right.mtu.max(to_left.mtu);
    let left = side("left", &args.left, &args.left_addr, &args.tun, mtu)?;
    let right = side("right", &args.right, &args.right_addr, &args.tun, mtu)?;
    if left.addr == right.addr {
        return Err(format!(
            "--left-addr and --right-addr are the same address ({})",
            left.addr
        ));
    }
    let duration = match args.duration {
        None => None,
        Some(s) if s.is_finite() && s > 0.0 => Some(Duration::from_secs_f64(s)),
        Some(s) => {
            return Err(format!(
                "--duration {s}: must be a positive number of seconds"
            ))
        }
    };
    Ok((to_right, to_left, left, right, duration))
}

#[cfg(test)]
mod tests {
    use super::*;
    use layer4_sim::link::LinkConfig;

    /// An IPv4 header's worth of bytes: the link does not look inside.
    fn packet() -> Vec<u8> {
        let mut p = vec![0u8; 60];
        p[0] = 0x45;
        p
    }

    #[test]
    fn a_bad_address_is_refused_in_words() {
        for (cidr, says) in [
            (
                "10.77.0.1/33",
                "--left-addr 10.77.0.1/33: prefix length 33 is longer than 32",
            ),
            (
                "10.77.0.1",
                "--left-addr 10.77.0.1: missing '/prefix-length'",
            ),
            ("fd00::1/64", "--left-addr fd00::1/64: invalid IP address"),
        ] {
            let err = side("left", "ns", cidr, "l4emu0", 1500).expect_err(cidr);
            assert!(err.starts_with(says), "{cidr}: {err}");
        }
    }

    #[test]
    fn a_direction_holds_a_bounded_number_of_packets_and_counts_the_rest() {
        // Unlimited rate, a long delay and a queue that never fills: only the
        // emulator's own bound stops the packets propagating from growing.
        let config = LinkConfig {
            delay: layer4::time::Duration::from_secs(10),
            ..LinkConfig::default()
        };
        let mut path = LinkPath::new(Link::new(config, StackRng::from_seed(1)));
        let now = Instant::from_nanos(1);
        for _ in 0..MAX_HELD_PACKETS + 5 {
            path.handle_packet(now, packet());
        }
        assert_eq!(path.held(), MAX_HELD_PACKETS);
        assert_eq!(path.dropped_held, 5);
        // Once they arrive, there is room again.
        let later = Instant::from_nanos(11_000_000_000);
        let mut delivered = 0;
        while path.poll_deliver(later).is_some() {
            delivered += 1;
        }
        assert_eq!(delivered, MAX_HELD_PACKETS);
        path.handle_packet(later, packet());
        assert_eq!(path.dropped_held, 5);
        assert_eq!(path.held(), 1);
    }
}
