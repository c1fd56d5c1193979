//! Scenario builders shared by the integration tests.
#![allow(dead_code)]

use layer4::time::Duration;
use layer4_sim::link::LinkConfig;
use layer4_sim::scenario::{AppSpec, Flow, IpVersion, Scenario, Topology};

/// A link of `rate` bit/s and one-way `delay_ms`.
pub fn link(rate: u64, delay_ms: u64) -> LinkConfig {
    LinkConfig {
        rate_bps: Some(rate),
        delay: Duration::from_millis(delay_ms),
        ..LinkConfig::default()
    }
}

/// A bulk flow of `bytes` from `from` to `to`.
pub fn bulk(name: &str, from: &str, to: &str, bytes: u64) -> Flow {
    Flow {
        name: name.to_string(),
        from: from.to_string(),
        to: to.to_string(),
        port: 5001,
        start: Duration::ZERO,
        cc: "newreno".to_string(),
        ecn: false,
        accecn: false,
        send_buffer: None,
        recv_buffer: None,
        app: AppSpec::Bulk {
            bytes: Some(bytes),
            duration: None,
        },
    }
}

/// A one-pair dumbbell: `bottleneck` both ways, 1 Gbit/s 1 ms access links.
pub fn dumbbell(bottleneck: LinkConfig, ip: IpVersion, flows: Vec<Flow>, secs: u64) -> Scenario {
    Scenario {
        name: "test".to_string(),
        seed: 1,
        duration: Duration::from_secs(secs),
        sample_interval: Duration::from_millis(100),
        topology: Topology::Dumbbell {
            pairs: 1,
            bottleneck: bottleneck.clone(),
            bottleneck_reverse: bottleneck,
            access: link(1_000_000_000, 1),
            ip,
        },
        flows,
        captures: vec!["bottleneck".to_string()],
        capture_snaplen: 0,
        capture_snaplens: vec![],
    }
}

/// Mean goodput (bit/s) of flow `i` over the samples after `skip_s` seconds.
pub fn goodput_after(m: &layer4_sim::metrics::RunMetrics, i: usize, skip_s: f64) -> f64 {
    let f = &m.flows[i];
    let v: Vec<f64> = f
        .series
        .time_s
        .iter()
        .zip(&f.series.goodput_bps)
        .filter(|(t, _)| **t > skip_s)
        .map(|(_, v)| *v)
        .collect();
    v.iter().sum::<f64>() / v.len().max(1) as f64
}
