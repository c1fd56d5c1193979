//! How fast the simulator runs: one bulk TCP flow across a dumbbell
//! (`client — r0 — bottleneck — r1 — server`), run for a span of virtual time, with
//! the wall time, the events the engine ran ([`Network::events_run`]) and the packets
//! links delivered ([`Network::packets_delivered`]) counted.
//!
//! The network is built with the Rust API rather than a scenario file, because the
//! hosts' TCP buffers must hold the path's bandwidth-delay product (the stack's
//! default, 256 KiB, caps a 1 Gbit/s × 50 ms path at ~40 Mbit/s) and scenario files
//! have no key for them.

use std::str::FromStr;

use layer4::ip::cidr::IpCidr;
use layer4::time::{Duration, Instant};
use layer4_sim::build::add_flow;
use layer4_sim::link::LinkConfig;
use layer4_sim::queue::{Limit, QueueConfig};
use layer4_sim::scenario::{AppSpec, Flow};
use layer4_sim::Network;

use crate::clock::Stopwatch;
use crate::BenchError;

/// One simulator speed run.
#[derive(Debug, Clone, PartialEq)]
pub struct SimSpeedConfig {
    /// Bottleneck rate, bit/s (the access links run 10× faster).
    pub rate_bps: u64,
    /// Round-trip propagation delay.
    pub rtt: Duration,
    /// Virtual time to simulate.
    pub duration: Duration,
    /// TCP send and receive buffer of both hosts, bytes.
    pub buffer: usize,
    /// Drop-tail queue of the bottleneck, bytes.
    pub queue_bytes: usize,
    /// Seed of the run.
    pub seed: u64,
}

impl SimSpeedConfig {
    /// A run at `rate_bps` and `rtt` for `duration`, with buffers of 1.5 × BDP (at
    /// least 256 KiB) and a one-BDP bottleneck queue (at least 64 KB): the receive
    /// window then fills the pipe and half the queue, and the flow runs at line rate
    /// without overflowing the queue. (With buffers above BDP + queue, slow start
    /// overshoots and today's loss recovery collapses the flow; `--buf` shows it.)
    pub fn new(rate_bps: u64, rtt: Duration, duration: Duration) -> SimSpeedConfig {
        let bdp = bdp_bytes(rate_bps, rtt);
        SimSpeedConfig {
            rate_bps,
            rtt,
            duration,
            buffer: (bdp + bdp / 2).max(256 * 1024),
            queue_bytes: bdp.max(64_000),
            seed: 1,
        }
    }
}

/// The bandwidth-delay product in bytes.
pub fn bdp_bytes(rate_bps: u64, rtt: Duration) -> usize {
    let bytes = u128::from(rate_bps) * rtt.as_nanos() / 8 / 1_000_000_000;
    usize::try_from(bytes).unwrap_or(usize::MAX)
}

/// What one run measured.
#[derive(Debug, Clone, PartialEq)]
pub struct SimSpeedResult {
    /// Wall time of the run (building the network excluded).
    pub wall: std::time::Duration,
    /// Time the thread was on a CPU during the run, where the platform reports it.
    pub cpu: Option<std::time::Duration>,
    /// Virtual time simulated.
    pub simulated: Duration,
    /// Events the engine ran.
    pub events: u64,
    /// Packets delivered by links (every hop counts).
    pub packets: u64,
    /// Application bytes the receiver read.
    pub bytes_delivered: u64,
}

impl SimSpeedResult {
    /// Simulated seconds per wall-clock second.
    pub fn speedup(&self) -> f64 {
        self.simulated.as_secs_f64() / self.wall.as_secs_f64().max(1e-9)
    }
    /// Simulated seconds per on-CPU second (what a core to itself would give).
    pub fn speedup_per_cpu(&self) -> Option<f64> {
        self.cpu
            .map(|c| self.simulated.as_secs_f64() / c.as_secs_f64().max(1e-9))
    }
    /// Events per wall-clock second.
    pub fn events_per_s(&self) -> f64 {
        self.events as f64 / self.wall.as_secs_f64().max(1e-9)
    }
    /// Link deliveries per wall-clock second.
    pub fn packets_per_s(&self) -> f64 {
        self.packets as f64 / self.wall.as_secs_f64().max(1e-9)
    }
    /// The flow's goodput over the simulated time, bit/s.
    pub fn goodput_bps(&self) -> f64 {
        self.bytes_delivered as f64 * 8.0 / self.simulated.as_secs_f64().max(1e-9)
    }
}

fn cidr(s: &str) -> Result<IpCidr, BenchError> {
    IpCidr::from_str(s).map_err(|e| BenchError::Setup(format!("address {s}: {e}")))
}

fn built(e: impl std::fmt::Display) -> BenchError {
    BenchError::Setup(format!("cannot build the network: {e}"))
}

/// Builds the dumbbell of `cfg` with one bulk flow `client → server`.
fn network(cfg: &SimSpeedConfig) -> Result<(Network, layer4_sim::network::AppId), BenchError> {
    let mut net = Network::new(cfg.seed);
    let host = |address: &str, gateway: &str| -> Result<layer4::Config, BenchError> {
        let gw = cidr(gateway)?.addr();
        let mut c = layer4::Config::with_address(cidr(address)?).gateway(gw);
        c.tcp.send_buffer = cfg.buffer;
        c.tcp.recv_buffer = cfg.buffer;
        // As `l4 sim` builds hosts when no link corrupts packets: received checksums
        // are not verified (sent ones are computed).
        c.checksum_rx = layer4::wire::ChecksumMode::Offloaded;
        Ok(c)
    };
    net.add_router("r0", vec![cidr("10.0.0.1/24")?, cidr("10.1.0.1/24")?])
        .map_err(built)?;
    net.add_router("r1", vec![cidr("10.0.0.2/24")?, cidr("10.2.0.1/24")?])
        .map_err(built)?;
    net.add_host("client", host("10.1.0.2/24", "10.1.0.1/24")?)
        .map_err(built)?;
    net.add_host("server", host("10.2.0.2/24", "10.2.0.1/24")?)
        .map_err(built)?;
    // A quarter of the one-way delay on each access link, half on the bottleneck.
    let quarter = cfg.rtt / 8;
    let access = LinkConfig {
        rate_bps: Some(cfg.rate_bps.saturating_mul(10)),
        delay: quarter,
        ..LinkConfig::default()
    };
    let bottleneck = LinkConfig {
        rate_bps: Some(cfg.rate_bps),
        delay: cfg.rtt / 2 - quarter * 2,
        queue: QueueConfig::DropTail(Limit::Bytes(cfg.queue_bytes)),
        ..LinkConfig::default()
    };
    net.add_link("client", "client", "r0", access.clone(), access.clone())
        .map_err(built)?;
    net.add_link("bottleneck", "r0", "r1", bottleneck.clone(), bottleneck)
        .map_err(built)?;
    net.add_link("server", "r1", "server", access.clone(), access)
        .map_err(built)?;
    net.compute_routes().map_err(built)?;
    let flow = Flow {
        name: "bulk".to_string(),
        from: "client".to_string(),
        to: "server".to_string(),
        port: 5001,
        start: Duration::ZERO,
        cc: "newreno".to_string(),
        ecn: false,
        accecn: false,
        send_buffer: None,
        recv_buffer: None,
        app: AppSpec::Bulk {
            bytes: None,
            duration: None,
        },
    };
    let f = add_flow(&mut net, &flow).map_err(built)?;
    Ok((net, f.server))
}

/// Runs `cfg` once.
pub fn run(cfg: &SimSpeedConfig) -> Result<SimSpeedResult, BenchError> {
    let (mut net, server) = network(cfg)?;
    let watch = Stopwatch::start();
    net.run_until(Instant::ZERO + cfg.duration);
    let (wall, cpu) = watch.stop();
    let bytes_delivered = net.app_stats(server).map_or(0, |s| s.bytes_received);
    if bytes_delivered == 0 {
        return Err(BenchError::Stalled {
            phase: "simulation",
            secs: cfg.duration.as_secs(),
            detail: "the bulk flow delivered nothing".to_string(),
        });
    }
    Ok(SimSpeedResult {
        wall,
        cpu,
        simulated: cfg.duration,
        events: net.events_run(),
        packets: net.packets_delivered(),
        bytes_delivered,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bdp_of_100_mbit_and_50_ms_is_625_kb() {
        assert_eq!(bdp_bytes(100_000_000, Duration::from_millis(50)), 625_000);
    }

    #[test]
    fn short_run_counts_events_packets_and_delivers_data() {
        let cfg = SimSpeedConfig::new(
            10_000_000,
            Duration::from_millis(20),
            Duration::from_millis(500),
        );
        let r = run(&cfg).expect("runs");
        assert!(r.events > r.packets && r.packets > 100, "{r:?}");
        assert!(r.bytes_delivered > 100_000, "{r:?}");
        assert!(r.goodput_bps() < 10_000_000.0);
    }
}
