//! Time series as CSV, one row per sample, "long" format (one file for all flows, one
//! for all link directions), with a header row. Empty fields are values that were
//! not available (NaN: no RTT sample yet, no TCP sender, nothing dequeued).
//!
//! `flows.csv`: `flow,time_s,goodput_bps,throughput_bps,cwnd_bytes,ssthresh_bytes,srtt_s,rto_s`
//!
//! `links.csv`: `link,time_s,queue_packets,queue_bytes,queue_delay_s,throughput_bps`

use crate::metrics::RunMetrics;
use std::fmt::Write as _;

/// The header of `flows.csv`.
pub const FLOWS_HEADER: &str =
    "flow,time_s,goodput_bps,throughput_bps,cwnd_bytes,ssthresh_bytes,srtt_s,rto_s";
/// The header of `links.csv`.
pub const LINKS_HEADER: &str = "link,time_s,queue_packets,queue_bytes,queue_delay_s,throughput_bps";

/// `flows.csv`: every flow's samples, flow after flow.
pub fn flows_csv(metrics: &RunMetrics) -> String {
    let mut out = format!("{FLOWS_HEADER}\n");
    for f in &metrics.flows {
        let s = &f.series;
        let columns = [
            &s.goodput_bps,
            &s.throughput_bps,
            &s.cwnd_bytes,
            &s.ssthresh_bytes,
            &s.srtt_s,
            &s.rto_s,
        ];
        rows(&mut out, &f.name, &s.time_s, &columns);
    }
    out
}

/// `links.csv`: every link direction's samples, one after the other.
pub fn links_csv(metrics: &RunMetrics) -> String {
    let mut out = format!("{LINKS_HEADER}\n");
    for l in &metrics.links {
        let s = &l.series;
        let columns = [
            &s.queue_packets,
            &s.queue_bytes,
            &s.queue_delay_s,
            &s.throughput_bps,
        ];
        rows(&mut out, &l.name, &s.time_s, &columns);
    }
    out
}

fn rows(out: &mut String, name: &str, time_s: &[f64], columns: &[&Vec<f64>]) {
    let name = field(name);
    for (i, t) in time_s.iter().enumerate() {
        out.push_str(&name);
        out.push(',');
        number(out, Some(*t));
        for column in columns {
            out.push(',');
            number(out, column.get(i).copied());
        }
        out.push('\n');
    }
}

fn number(out: &mut String, x: Option<f64>) {
    if let Some(x) = x.filter(|x| x.is_finite()) {
        let _ = write!(out, "{x}");
    }
}

/// A text field, quoted when it holds a comma, quote or line break (RFC 4180).
fn field(s: &str) -> String {
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::sample_metrics;

    #[test]
    fn flows_csv_has_a_header_and_a_row_per_sample() {
        let text = flows_csv(&sample_metrics(4));
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines[0], FLOWS_HEADER);
        assert_eq!(lines.len(), 1 + 2 * 4);
        assert_eq!(lines[1], "a,0.1,9500000,9595000,14600,,,0.2");
        assert!(lines[2].starts_with("a,0.2,") && lines[2].ends_with(",,0.04,0.2"));
        assert!(lines.iter().all(|l| l.split(',').count() == 8));
        assert!(!text.contains("NaN"));
    }

    #[test]
    fn links_csv_leaves_nan_fields_empty() {
        let text = links_csv(&sample_metrics(3));
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines[0], LINKS_HEADER);
        assert_eq!(lines.len(), 1 + 2 * 3);
        assert_eq!(lines[2], "bottleneck,0.2,10,15000,,19740000");
        assert!(lines[4].starts_with("bottleneck.rev,0.1,"));
    }

    #[test]
    fn odd_names_are_quoted() {
        assert_eq!(field("a,b"), "\"a,b\"");
        assert_eq!(field("say \"hi\""), "\"say \"\"hi\"\"\"");
        assert_eq!(field("plain"), "plain");
    }
}
