//! What a run's [`RunMetrics`] become for people and programs: `report.json`
//! ([`Report`], [`to_json`]), CSV time series ([`csv`]) and the summary table
//! ([`table`]). Plain text in memory: the caller writes the files.
//!
//! - [`format`](mod@format): human-readable rates, times, percentages.
//! - [`csv`]: `flows.csv` and `links.csv`, one row per sample.
//! - [`table`]: the aligned summary printed after a run.
//!
//! Values that are not finite (NaN, infinite) or absent are `null` in JSON and empty
//! in CSV, never `"NaN"`.

pub mod csv;
pub mod format;
pub mod table;

use crate::metrics::{FlowMetrics, LinkMetrics, RunMetrics};
use serde::Serialize;

/// The contents of `report.json`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Report {
    /// The scenario's name.
    pub scenario: String,
    /// The run's seed.
    pub seed: u64,
    /// Virtual seconds simulated.
    pub duration_s: Option<f64>,
    /// Jain's fairness index over the flows' goodputs (null with no goodput).
    pub jain_index: Option<f64>,
    /// One entry per flow, in scenario order.
    pub flows: Vec<FlowReport>,
    /// One entry per link direction (`<link>` and `<link>.rev`).
    pub links: Vec<LinkReport>,
}

/// A flow in `report.json`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FlowReport {
    /// The flow's name.
    pub name: String,
    /// Congestion controller.
    pub cc: String,
    /// `"tcp"` or `"udp"`.
    pub protocol: String,
    /// Application bytes delivered.
    pub bytes_delivered: u64,
    /// Goodput, bit/s.
    pub goodput_bps: Option<f64>,
    /// Segments retransmitted.
    pub retransmits: u64,
    /// Flow completion time, seconds (null if the flow did not finish or has no end).
    pub fct_s: Option<f64>,
    /// Mean smoothed RTT, seconds.
    pub rtt_mean_s: Option<f64>,
    /// 95th percentile smoothed RTT, seconds.
    pub rtt_p95_s: Option<f64>,
}

/// A link direction in `report.json`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LinkReport {
    /// `<link>` or `<link>.rev`.
    pub name: String,
    /// Fraction of the run the transmitter was busy.
    pub utilization: Option<f64>,
    /// Packets delivered at the far end.
    pub packets_delivered: u64,
    /// Drops, total and by cause.
    pub drops: DropReport,
    /// Packets marked CE.
    pub ce_marks: u64,
    /// Mean queue sojourn delay, seconds.
    pub queue_delay_mean_s: Option<f64>,
    /// Median queue sojourn delay, seconds.
    pub queue_delay_p50_s: Option<f64>,
    /// 95th percentile queue sojourn delay, seconds.
    pub queue_delay_p95_s: Option<f64>,
    /// 99th percentile queue sojourn delay, seconds.
    pub queue_delay_p99_s: Option<f64>,
}

/// Drops by cause.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct DropReport {
    /// All drops.
    pub total: u64,
    /// The queue was full.
    pub overflow: u64,
    /// Active queue management.
    pub aqm: u64,
    /// The loss model.
    pub loss: u64,
    /// An outage.
    pub outage: u64,
    /// Larger than the MTU.
    pub mtu: u64,
    /// ICMP filtered by the link (`drop_icmp`).
    pub filtered: u64,
}

/// `Some(x)` for a finite `x`, else `None` (so JSON says `null`).
pub fn finite(x: f64) -> Option<f64> {
    x.is_finite().then_some(x)
}

fn finite_opt(x: Option<f64>) -> Option<f64> {
    x.and_then(finite)
}

impl Report {
    /// The report of `metrics`.
    pub fn new(metrics: &RunMetrics) -> Report {
        Report {
            scenario: metrics.scenario.clone(),
            seed: metrics.seed,
            duration_s: finite(metrics.duration_s),
            jain_index: finite_opt(metrics.jain_index()),
            flows: metrics.flows.iter().map(FlowReport::new).collect(),
            links: metrics.links.iter().map(LinkReport::new).collect(),
        }
    }
}

impl FlowReport {
    fn new(f: &FlowMetrics) -> FlowReport {
        FlowReport {
            name: f.name.clone(),
            cc: f.cc.clone(),
            protocol: f.protocol.clone(),
            bytes_delivered: f.bytes_delivered,
            goodput_bps: finite(f.goodput_bps),
            retransmits: f.retransmits,
            fct_s: finite_opt(f.fct_s),
            rtt_mean_s: finite_opt(f.rtt_mean_s),
            rtt_p95_s: finite_opt(f.rtt_p95_s),
        }
    }
}

impl LinkReport {
    fn new(l: &LinkMetrics) -> LinkReport {
        let d = &l.drops;
        LinkReport {
            name: l.name.clone(),
            utilization: finite(l.utilization),
            packets_delivered: l.packets_delivered,
            drops: DropReport {
                total: d.total(),
                overflow: d.overflow,
                aqm: d.aqm,
                loss: d.loss,
                outage: d.outage,
                mtu: d.mtu,
                filtered: d.filtered,
            },
            ce_marks: l.ce_marks,
            queue_delay_mean_s: finite_opt(l.queue_delay_mean_s),
            queue_delay_p50_s: finite_opt(l.queue_delay_p50_s),
            queue_delay_p95_s: finite_opt(l.queue_delay_p95_s),
            queue_delay_p99_s: finite_opt(l.queue_delay_p99_s),
        }
    }
}

/// `report.json`: [`Report`] as pretty-printed JSON, with a final newline.
pub fn to_json(metrics: &RunMetrics) -> String {
    // Serializing plain structs of strings, integers and options cannot fail.
    let mut text = serde_json::to_string_pretty(&Report::new(metrics)).unwrap_or_default();
    text.push('\n');
    text
}

/// Hand-made metrics for tests of the report writers: two flows and one duplex link
/// (`bottleneck`, `bottleneck.rev`), `samples` samples each, a NaN here and there.
#[cfg(test)]
pub(crate) fn sample_metrics(samples: usize) -> RunMetrics {
    use crate::link::DropCounts;
    use crate::metrics::{FlowSeries, LinkSeries};
    let time_s: Vec<f64> = (1..=samples).map(|i| i as f64 * 0.1).collect();
    let flow = |name: &str, goodput: f64, fct: Option<f64>| FlowMetrics {
        name: name.into(),
        cc: "newreno".into(),
        protocol: "tcp".into(),
        bytes_delivered: (goodput / 8.0) as u64,
        goodput_bps: goodput,
        retransmits: 3,
        fct_s: fct,
        rtt_mean_s: Some(0.042),
        rtt_p95_s: Some(0.051),
        series: FlowSeries {
            time_s: time_s.clone(),
            goodput_bps: vec![goodput; samples],
            throughput_bps: vec![goodput * 1.01; samples],
            cwnd_bytes: (0..samples).map(|i| 14_600.0 + 1460.0 * i as f64).collect(),
            ssthresh_bytes: vec![f64::NAN; samples],
            srtt_s: (0..samples)
                .map(|i| if i == 0 { f64::NAN } else { 0.04 })
                .collect(),
            rto_s: vec![0.2; samples],
        },
    };
    let link = |name: &str, util: f64, delay: Option<f64>| LinkMetrics {
        name: name.into(),
        utilization: util,
        drops: DropCounts {
            overflow: 7,
            loss: 2,
            ..DropCounts::default()
        },
        ce_marks: 0,
        packets_delivered: 1000,
        queue_delay_mean_s: delay,
        queue_delay_p50_s: delay,
        queue_delay_p95_s: delay.map(|d| d * 2.0),
        queue_delay_p99_s: delay.map(|d| d * 3.0),
        series: LinkSeries {
            time_s: time_s.clone(),
            queue_packets: vec![10.0; samples],
            queue_bytes: vec![15_000.0; samples],
            queue_delay_s: (0..samples)
                .map(|i| if i % 2 == 0 { 0.01 } else { f64::NAN })
                .collect(),
            throughput_bps: vec![util * 20e6; samples],
        },
    };
    RunMetrics {
        scenario: "dumbbell".into(),
        seed: 1,
        duration_s: samples as f64 * 0.1,
        flows: vec![flow("a", 9.5e6, Some(4.2)), flow("b", 8.1e6, None)],
        links: vec![
            link("bottleneck", 0.987, Some(0.012)),
            link("bottleneck.rev", f64::NAN, None),
        ],
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn report_json_has_the_documented_keys_and_nulls_for_nan() {
        let json = to_json(&sample_metrics(5));
        assert!(!json.contains("NaN"));
        let v: serde_json::Value = serde_json::from_str(&json).unwrap();
        for key in [
            "scenario",
            "seed",
            "duration_s",
            "jain_index",
            "flows",
            "links",
        ] {
            assert!(v.get(key).is_some(), "{key}");
        }
        let f = &v["flows"][1];
        for key in [
            "name",
            "cc",
            "protocol",
            "bytes_delivered",
            "goodput_bps",
            "retransmits",
            "fct_s",
            "rtt_mean_s",
            "rtt_p95_s",
        ] {
            assert!(f.get(key).is_some(), "{key}");
        }
        assert!(f["fct_s"].is_null());
        assert_eq!(v["flows"][0]["fct_s"], 4.2);
        let l = &v["links"][1];
        assert!(l["utilization"].is_null());
        assert_eq!(l["drops"]["total"], 9);
        assert_eq!(l["drops"]["overflow"], 7);
        for key in [
            "queue_delay_mean_s",
            "queue_delay_p50_s",
            "queue_delay_p95_s",
            "queue_delay_p99_s",
            "ce_marks",
        ] {
            assert!(l.get(key).is_some(), "{key}");
        }
        let jain = v["jain_index"].as_f64().unwrap();
        assert!(jain > 0.98 && jain <= 1.0);
    }
}
