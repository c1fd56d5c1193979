//! The summary printed after a run: a heading, a flow table and a link table with
//! aligned columns (text left, numbers right).

use super::format::{opt_seconds, percent, rate};
use crate::metrics::RunMetrics;

/// The summary of `metrics` as text, ending with a newline.
pub fn summary(metrics: &RunMetrics) -> String {
    let mut out = format!(
        "{}: seed {}, {} simulated",
        metrics.scenario,
        metrics.seed,
        super::format::seconds(metrics.duration_s)
    );
    if let Some(j) = metrics.jain_index().filter(|j| j.is_finite()) {
        out.push_str(&format!(", Jain's fairness index {j:.3}"));
    }
    out.push_str("\n\n");
    let mut flows = vec![row(&[
        "flow",
        "cc",
        "goodput",
        "delivered",
        "retrans",
        "fct",
        "rtt mean",
        "rtt p95",
    ])];
    for f in &metrics.flows {
        flows.push(vec![
            f.name.clone(),
            f.cc.clone(),
            rate(f.goodput_bps),
            bytes(f.bytes_delivered),
            f.retransmits.to_string(),
            opt_seconds(f.fct_s),
            opt_seconds(f.rtt_mean_s),
            opt_seconds(f.rtt_p95_s),
        ]);
    }
    out.push_str(&align(&flows, 2));
    out.push('\n');
    let mut links = vec![row(&[
        "link",
        "util",
        "delivered",
        "drops",
        "CE",
        "queue mean",
        "queue p95",
        "queue p99",
    ])];
    for l in &metrics.links {
        links.push(vec![
            l.name.clone(),
            percent(l.utilization),
            l.packets_delivered.to_string(),
            l.drops.total().to_string(),
            l.ce_marks.to_string(),
            opt_seconds(l.queue_delay_mean_s),
            opt_seconds(l.queue_delay_p95_s),
            opt_seconds(l.queue_delay_p99_s),
        ]);
    }
    out.push_str(&align(&links, 1));
    out
}

fn row(cells: &[&str]) -> Vec<String> {
    cells.iter().map(|c| c.to_string()).collect()
}

/// `1.23 MB` style byte counts (SI).
fn bytes(n: u64) -> String {
    let x = n as f64;
    if x >= 1e9 {
        format!("{:.2} GB", x / 1e9)
    } else if x >= 1e6 {
        format!("{:.2} MB", x / 1e6)
    } else if x >= 1e3 {
        format!("{:.1} kB", x / 1e3)
    } else {
        format!("{n} B")
    }
}

/// Columns padded to their widest cell, two spaces apart; the first `text_columns`
/// columns left-aligned, the others right-aligned.
fn align(rows: &[Vec<String>], text_columns: usize) -> String {
    let columns = rows.iter().map(Vec::len).max().unwrap_or(0);
    let widths: Vec<usize> = (0..columns)
        .map(|c| {
            rows.iter()
                .filter_map(|r| r.get(c))
                .map(|s| s.chars().count())
                .max()
                .unwrap_or(0)
        })
        .collect();
    let mut out = String::new();
    for r in rows {
        let mut line = String::new();
        for (c, cell) in r.iter().enumerate() {
            let width = widths.get(c).copied().unwrap_or(0);
            let pad = width.saturating_sub(cell.chars().count());
            if c > 0 {
                line.push_str("  ");
            }
            if c < text_columns {
                line.push_str(cell);
                line.push_str(&" ".repeat(pad));
            } else {
                line.push_str(&" ".repeat(pad));
                line.push_str(cell);
            }
        }
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::sample_metrics;

    #[test]
    fn summary_aligns_columns_and_shows_dashes_for_missing_values() {
        let text = summary(&sample_metrics(3));
        let lines: Vec<&str> = text.lines().collect();
        assert!(
            lines[0].starts_with("dumbbell: seed 1, 300 ms simulated, Jain's fairness index 0.99"),
            "{text}"
        );
        assert_eq!(
            lines[2].find("goodput"),
            lines[3]
                .find("9.50 Mbit/s")
                .map(|i| i + "9.50 Mbit/s".len() - "goodput".len())
        );
        assert!(lines[3].starts_with("a     newreno"), "{text}");
        assert!(lines[3].contains("4.20 s"), "{text}");
        assert!(lines[4].contains("  -  "), "{text}");
        let link_header = lines.iter().position(|l| l.starts_with("link")).unwrap();
        assert!(
            lines[link_header + 1].starts_with("bottleneck      98.7%"),
            "{text}"
        );
        assert!(
            lines[link_header + 2].starts_with("bottleneck.rev      -"),
            "{text}"
        );
        assert!(!text.contains("NaN"));
    }
}
