//! [`Simulation`]: a [`Scenario`] built into a network ([`crate::build`]), run for
//! its duration, and measured into [`RunMetrics`].
//!
//! # What is measured
//!
//! Every `sample_interval` (100 ms if zero) of virtual time the run stops and reads,
//! per flow, the applications' counters (bytes delivered on both sides) and the data
//! sender's `tcp_info` (congestion window, slow-start threshold, smoothed RTT, RTO,
//! bytes sent and resent), and per link direction the queue length and
//! [`LinkStats`](crate::link::LinkStats). At the end:
//!
//! - a flow's goodput is its delivered bytes · 8 over the time from its start to its
//!   completion (or to the end of the run); its FCT runs from its start to the last
//!   byte the receiver read, for flows with an end (bulk transfers whose receiver read
//!   end-of-stream, request/response with a count that completed); retransmits are the
//!   sender's `total_retrans`; RTT mean and 95th percentile are over the sampled
//!   smoothed RTTs;
//! - a link direction's utilization is its transmitter's busy time over the run's
//!   length; drops, CE marks and deliveries are its counters.
//!
//! A connection the application has closed shows NaN in the state series (there is
//! no socket to ask) and its last `tcp_info`, taken before the close, in the totals.

use crate::app::AppStats;
use crate::build::{build, BuiltFlow, DataSender};
use crate::error::BuildError;
use crate::metrics::{FlowMetrics, FlowSeries, LinkMetrics, LinkSeries, RunMetrics};
use crate::network::{Direction, Network};
use crate::scenario::{AppSpec, Scenario};
use layer4::time::{Duration, Instant};
use layer4::TcpInfo;

/// The sample interval when the scenario gives zero.
const DEFAULT_SAMPLE_INTERVAL: Duration = Duration::from_millis(100);

#[derive(Debug, Default)]
struct FlowTracker {
    prev_delivered: u64,
    prev_wire_bytes: u64,
    srtt: Vec<f64>,
    last_info: Option<TcpInfo>,
    series: FlowSeries,
}

#[derive(Debug)]
struct LinkTracker {
    link: String,
    direction: Direction,
    prev_bytes: u64,
    /// Cumulative sojourn (seconds, packets) at the previous sample.
    prev_sojourn: (f64, u64),
    series: LinkSeries,
}

/// A link direction's queue sojourn statistics since it was built.
#[derive(Debug, Default)]
struct Sojourn {
    /// Sum of the sojourn times of the packets dequeued, seconds.
    total_s: f64,
    /// Packets dequeued.
    count: u64,
    p50_s: Option<f64>,
    p95_s: Option<f64>,
    p99_s: Option<f64>,
}

/// The one place that reads sojourn statistics from a link.
fn sojourn(link: &crate::link::Link) -> Sojourn {
    let hist = link.sojourn();
    let totals = hist.totals();
    let q = |p: f64| hist.quantile(p).map(|d| d.as_secs_f64());
    Sojourn {
        total_s: totals.total.as_secs_f64(),
        count: totals.packets,
        p50_s: q(0.50),
        p95_s: q(0.95),
        p99_s: q(0.99),
    }
}

/// A scenario ready to run. See the [module docs](self).
#[derive(Debug)]
pub struct Simulation {
    name: String,
    seed: u64,
    duration: Duration,
    interval: Duration,
    network: Network,
    flows: Vec<BuiltFlow>,
    flow_trackers: Vec<FlowTracker>,
    link_trackers: Vec<LinkTracker>,
    last_sample: Instant,
}

impl Simulation {
    /// Builds `scenario`'s network, applications and captures, or says what is
    /// wrong with it.
    pub fn new(scenario: &Scenario) -> Result<Simulation, BuildError> {
        let built = build(scenario)?;
        let mut link_trackers = Vec::new();
        for name in built.network.link_names() {
            for direction in [Direction::Forward, Direction::Reverse] {
                link_trackers.push(LinkTracker {
                    link: name.to_string(),
                    direction,
                    prev_bytes: 0,
                    prev_sojourn: (0.0, 0),
                    series: LinkSeries::default(),
                });
            }
        }
        let interval = if scenario.sample_interval.is_zero() {
            DEFAULT_SAMPLE_INTERVAL
        } else {
            scenario.sample_interval
        };
        Ok(Simulation {
            name: scenario.name.clone(),
            seed: scenario.seed,
            duration: scenario.duration,
            interval,
            flow_trackers: built.flows.iter().map(|_| FlowTracker::default()).collect(),
            flows: built.flows,
            network: built.network,
            link_trackers,
            last_sample: Instant::ZERO,
        })
    }

    /// The network (to inspect stacks, links and routers).
    pub fn network(&self) -> &Network {
        &self.network
    }

    /// The network, mutably (to add a middlebox or an application before running).
    pub fn network_mut(&mut self) -> &mut Network {
        &mut self.network
    }

    /// The flows as built, in scenario order.
    pub fn flows(&self) -> &[BuiltFlow] {
        &self.flows
    }

    /// The client's and the server's application counters of flow `name`.
    pub fn flow_stats(&self, name: &str) -> Option<(AppStats, AppStats)> {
        let f = self.flows.iter().find(|f| f.flow.name == name)?;
        Some((
            self.network.app_stats(f.client)?,
            self.network.app_stats(f.server)?,
        ))
    }

    /// Runs to the scenario's duration, calling `progress` with the fraction of
    /// virtual time done after each sample, and returns what was measured. Calling it
    /// again runs nothing more and measures again.
    pub fn run(&mut self, progress: &mut dyn FnMut(f64)) -> RunMetrics {
        let end = Instant::ZERO + self.duration;
        if self.duration.is_zero() {
            progress(1.0);
        }
        while self.last_sample < end {
            let next = (self.last_sample + self.interval).min(end);
            self.network.run_until(next);
            if self.network.stalled().is_some() {
                break;
            }
            self.sample(next);
            progress(next.as_nanos() as f64 / end.as_nanos() as f64);
        }
        self.metrics()
    }

    /// When virtual time stopped moving, if it did ([`Network::stalled`]): the run
    /// ended there, short of its duration, and its metrics describe nothing useful.
    pub fn stalled(&self) -> Option<Instant> {
        self.network.stalled()
    }

    /// The pcap file of `link` (both directions) so far, or `None` if the scenario
    /// does not capture it. The capture continues into a new file.
    pub fn take_capture(&mut self, link: &str) -> Option<Vec<u8>> {
        self.network.take_capture(link)
    }

    fn sender_info(&self, flow: &BuiltFlow, now: Instant) -> (Option<TcpInfo>, Option<TcpInfo>) {
        let (app, host) = match flow.sender {
            DataSender::Client => (flow.client, &flow.flow.from),
            DataSender::Server => (flow.server, &flow.flow.to),
        };
        let Some(stats) = self.network.app_stats(app) else {
            return (None, None);
        };
        let live = stats.data_socket.and_then(|h| {
            self.network
                .stack(host)
                .and_then(|s| s.tcp_info(now, h).ok())
        });
        (live, stats.final_tcp_info)
    }

    fn sample(&mut self, now: Instant) {
        let dt = now
            .saturating_duration_since(self.last_sample)
            .as_secs_f64();
        self.last_sample = now;
        let t = now.as_nanos() as f64 / 1e9;
        for i in 0..self.flows.len() {
            let flow = &self.flows[i];
            let (client, server) = match (
                self.network.app_stats(flow.client),
                self.network.app_stats(flow.server),
            ) {
                (Some(c), Some(s)) => (c, s),
                _ => continue,
            };
            let (live, last) = if flow.protocol == "tcp" {
                self.sender_info(flow, now)
            } else {
                (None, None)
            };
            let delivered = client.bytes_received + server.bytes_received;
            let sender_app = match flow.sender {
                DataSender::Client => &client,
                DataSender::Server => &server,
            };
            let info = live.or(last);
            let wire = match (flow.protocol, info) {
                ("tcp", Some(i)) => i.bytes_sent,
                ("tcp", None) => 0,
                _ => sender_app.bytes_sent,
            };
            let tr = &mut self.flow_trackers[i];
            let rate = |d: u64| if dt > 0.0 { d as f64 * 8.0 / dt } else { 0.0 };
            tr.series.time_s.push(t);
            tr.series
                .goodput_bps
                .push(rate(delivered.saturating_sub(tr.prev_delivered)));
            tr.series
                .throughput_bps
                .push(rate(wire.saturating_sub(tr.prev_wire_bytes)));
            tr.prev_delivered = delivered;
            tr.prev_wire_bytes = tr.prev_wire_bytes.max(wire);
            let nan = f64::NAN;
            match live {
                Some(i) => {
                    tr.series.cwnd_bytes.push(f64::from(i.cwnd_bytes));
                    tr.series.ssthresh_bytes.push(
                        i.ssthresh
                            .map(|s| f64::from(s) * f64::from(i.snd_mss))
                            .unwrap_or(nan),
                    );
                    let srtt = i.rtt.map(|r| r.as_secs_f64());
                    tr.series.srtt_s.push(srtt.unwrap_or(nan));
                    if let Some(s) = srtt {
                        tr.srtt.push(s);
                    }
                    tr.series.rto_s.push(i.rto.as_secs_f64());
                }
                None => {
                    tr.series.cwnd_bytes.push(nan);
                    tr.series.ssthresh_bytes.push(nan);
                    tr.series.srtt_s.push(nan);
                    tr.series.rto_s.push(nan);
                }
            }
            if info.is_some() {
                tr.last_info = info;
            }
        }
        for tr in &mut self.link_trackers {
            let Some(link) = self.network.link(&tr.link, tr.direction) else {
                continue;
            };
            let stats = link.stats();
            tr.series.time_s.push(t);
            tr.series
                .queue_packets
                .push(link.queue_len_packets() as f64);
            tr.series.queue_bytes.push(link.queue_len_bytes() as f64);
            let sojourn = sojourn(link);
            let (dsum, dcount) = (
                sojourn.total_s - tr.prev_sojourn.0,
                sojourn.count.saturating_sub(tr.prev_sojourn.1),
            );
            tr.series.queue_delay_s.push(if dcount > 0 {
                dsum / dcount as f64
            } else {
                f64::NAN
            });
            tr.prev_sojourn = (sojourn.total_s, sojourn.count);
            let bytes = stats.bytes_delivered.saturating_sub(tr.prev_bytes);
            tr.series.throughput_bps.push(if dt > 0.0 {
                bytes as f64 * 8.0 / dt
            } else {
                0.0
            });
            tr.prev_bytes = stats.bytes_delivered;
        }
    }

    fn metrics(&self) -> RunMetrics {
        let elapsed = self.last_sample.as_nanos() as f64 / 1e9;
        let mut flows = Vec::with_capacity(self.flows.len());
        for (flow, tr) in self.flows.iter().zip(&self.flow_trackers) {
            let (client, server) = match (
                self.network.app_stats(flow.client),
                self.network.app_stats(flow.server),
            ) {
                (Some(c), Some(s)) => (c, s),
                _ => (AppStats::default(), AppStats::default()),
            };
            let delivered = client.bytes_received + server.bytes_received;
            let start_s = flow.start.as_nanos() as f64 / 1e9;
            let finished = match &flow.flow.app {
                AppSpec::Bulk { .. } => server.completed_at.and(server.last_received_at),
                AppSpec::RequestResponse { .. } => client.completed_at,
                AppSpec::OnOff { .. } | AppSpec::UdpCbr { .. } => None,
            };
            let fct_s = finished.map(|t| (t.as_nanos() as f64 / 1e9 - start_s).max(0.0));
            let span = fct_s.unwrap_or(elapsed - start_s);
            let goodput_bps = if span > 0.0 {
                delivered as f64 * 8.0 / span
            } else {
                0.0
            };
            let mut srtt = tr.srtt.clone();
            if srtt.is_empty() {
                if let Some(r) = tr.last_info.and_then(|i| i.rtt) {
                    srtt.push(r.as_secs_f64());
                }
            }
            flows.push(FlowMetrics {
                name: flow.flow.name.clone(),
                cc: flow.flow.cc.clone(),
                protocol: flow.protocol.to_string(),
                bytes_delivered: delivered,
                goodput_bps,
                retransmits: tr.last_info.map(|i| i.total_retrans).unwrap_or(0),
                fct_s,
                rtt_mean_s: mean(&srtt),
                rtt_p95_s: percentile(&mut srtt, 0.95),
                series: tr.series.clone(),
            });
        }
        let mut links = Vec::with_capacity(self.link_trackers.len());
        for tr in &self.link_trackers {
            let Some(link) = self.network.link(&tr.link, tr.direction) else {
                continue;
            };
            let stats = link.stats();
            let sojourn = sojourn(link);
            let utilization = if elapsed > 0.0 {
                (stats.busy.as_secs_f64() / elapsed).clamp(0.0, 1.0)
            } else {
                0.0
            };
            let name = match tr.direction {
                Direction::Forward => tr.link.clone(),
                Direction::Reverse => format!("{}.rev", tr.link),
            };
            links.push(LinkMetrics {
                name,
                utilization,
                drops: stats.drops,
                ce_marks: stats.ce_marks,
                packets_delivered: stats.packets_delivered,
                queue_delay_mean_s: (sojourn.count > 0)
                    .then(|| sojourn.total_s / sojourn.count as f64),
                queue_delay_p50_s: sojourn.p50_s,
                queue_delay_p95_s: sojourn.p95_s,
                queue_delay_p99_s: sojourn.p99_s,
                series: tr.series.clone(),
            });
        }
        RunMetrics {
            scenario: self.name.clone(),
            seed: self.seed,
            duration_s: elapsed,
            flows,
            links,
        }
    }
}

fn mean(v: &[f64]) -> Option<f64> {
    (!v.is_empty()).then(|| v.iter().sum::<f64>() / v.len() as f64)
}

/// The `q` quantile by the nearest-rank method.
fn percentile(v: &mut [f64], q: f64) -> Option<f64> {
    if v.is_empty() {
        return None;
    }
    v.sort_by(f64::total_cmp);
    let rank = ((q * v.len() as f64).ceil() as usize).clamp(1, v.len());
    Some(v[rank - 1])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_run_whose_virtual_time_cannot_move_stops_and_says_when() {
        // Requests and responses of one byte across links with neither delay nor a
        // rate limit: each exchange ends at the instant it began.
        let text = r#"
duration = "1s"
[topology]
kind = "dumbbell"
pairs = 1
[topology.bottleneck]
rate = "unlimited"
delay = 0
[topology.access]
rate = "unlimited"
delay = 0
[[flows]]
from = "left0"
to = "right0"
app = "request_response"
request_bytes = "1B"
response_bytes = "1B"
"#;
        let scenario = crate::scenario::parse(text, "zero.toml").unwrap();
        let mut sim = Simulation::new(&scenario).unwrap();
        sim.network.set_max_work_at_one_instant(100_000);
        let mut done = 0.0;
        sim.run(&mut |f| done = f);
        assert_eq!(sim.stalled(), Some(Instant::ZERO));
        assert_eq!(done, 0.0, "no sample was taken past the stall");
        // A bulk transfer over them: one link's deliveries go on for ever at t = 0.
        let bulk = text
            .replace("app = \"request_response\"", "app = \"bulk\"")
            .replace("request_bytes = \"1B\"\n", "")
            .replace("response_bytes = \"1B\"\n", "");
        let scenario = crate::scenario::parse(&bulk, "bulk.toml").unwrap();
        let mut sim = Simulation::new(&scenario).unwrap();
        sim.network.set_max_work_at_one_instant(100_000);
        sim.run(&mut |_| {});
        assert_eq!(sim.stalled(), Some(Instant::ZERO));
        // With a delay on the bottleneck, time moves and the run ends.
        let moving = text.replacen("delay = 0", "delay = \"1ms\"", 1);
        let scenario = crate::scenario::parse(&moving, "moving.toml").unwrap();
        let mut sim = Simulation::new(&scenario).unwrap();
        sim.network.set_max_work_at_one_instant(100_000);
        sim.run(&mut |_| {});
        assert_eq!(sim.stalled(), None);
    }

    #[test]
    fn nearest_rank_percentile() {
        let mut v: Vec<f64> = (1..=20).map(f64::from).collect();
        assert_eq!(percentile(&mut v, 0.95), Some(19.0));
        assert_eq!(percentile(&mut [3.0], 0.95), Some(3.0));
        assert_eq!(percentile(&mut [], 0.5), None);
        assert_eq!(mean(&[1.0, 2.0, 3.0]), Some(2.0));
    }
}
