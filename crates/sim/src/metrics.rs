//! What a run measured: per-flow and per-link summaries and time series. The network
//! fills a [`RunMetrics`]; reports, CSV files, plots and the summary table read it.

use crate::link::DropCounts;

/// Everything a run measured.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct RunMetrics {
    /// The scenario's name.
    pub scenario: String,
    /// The seed of the run.
    pub seed: u64,
    /// Virtual seconds simulated.
    pub duration_s: f64,
    /// One entry per flow, in scenario order.
    pub flows: Vec<FlowMetrics>,
    /// One entry per link direction, named `<link>` for the forward direction
    /// (a→b) and `<link>.rev` for the reverse, in scenario order.
    pub links: Vec<LinkMetrics>,
}

/// One flow.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct FlowMetrics {
    /// The flow's name.
    pub name: String,
    /// The congestion controller asked for.
    pub cc: String,
    /// TCP or UDP.
    pub protocol: String,
    /// Application bytes delivered to the receiving application.
    pub bytes_delivered: u64,
    /// bytes_delivered · 8 over the time from the flow's start to its completion
    /// (or to the end of the run if unfinished).
    pub goodput_bps: f64,
    /// Segments retransmitted by the data sender (0 for UDP).
    pub retransmits: u64,
    /// Flow completion time: start to the last byte delivered, for flows with an end.
    pub fct_s: Option<f64>,
    /// Mean of the sender's smoothed-RTT samples.
    pub rtt_mean_s: Option<f64>,
    /// 95th percentile of the sender's smoothed-RTT samples.
    pub rtt_p95_s: Option<f64>,
    /// Time series, sampled every `sample_interval`.
    pub series: FlowSeries,
}

/// A flow's time series; every vector has one value per entry of `time_s`.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct FlowSeries {
    /// Sample times, seconds since the start of the run.
    pub time_s: Vec<f64>,
    /// Receiver-side application bytes per second over the last interval, in bit/s.
    pub goodput_bps: Vec<f64>,
    /// Sender-side bytes put on the wire (retransmissions included) over the last
    /// interval, in bit/s.
    pub throughput_bps: Vec<f64>,
    /// Congestion window in bytes (NaN when there is no TCP sender).
    pub cwnd_bytes: Vec<f64>,
    /// Slow-start threshold in bytes (NaN while infinite).
    pub ssthresh_bytes: Vec<f64>,
    /// Smoothed RTT in seconds (NaN before the first sample).
    pub srtt_s: Vec<f64>,
    /// Retransmission timeout in seconds.
    pub rto_s: Vec<f64>,
}

/// One direction of a link.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct LinkMetrics {
    /// `<link>` or `<link>.rev`.
    pub name: String,
    /// Fraction of the run the transmitter was busy (0..=1).
    pub utilization: f64,
    /// Drops by cause.
    pub drops: DropCounts,
    /// Packets marked CE.
    pub ce_marks: u64,
    /// Packets delivered at the far end.
    pub packets_delivered: u64,
    /// Queue sojourn delay: mean, p50, p95, p99 in seconds (None if nothing queued).
    pub queue_delay_mean_s: Option<f64>,
    /// Median sojourn delay.
    pub queue_delay_p50_s: Option<f64>,
    /// 95th percentile sojourn delay.
    pub queue_delay_p95_s: Option<f64>,
    /// 99th percentile sojourn delay.
    pub queue_delay_p99_s: Option<f64>,
    /// Time series.
    pub series: LinkSeries,
}

/// A link direction's time series.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct LinkSeries {
    /// Sample times, seconds since the start of the run.
    pub time_s: Vec<f64>,
    /// Packets in the queue at the sample time.
    pub queue_packets: Vec<f64>,
    /// Bytes in the queue at the sample time.
    pub queue_bytes: Vec<f64>,
    /// Mean sojourn delay of packets dequeued over the last interval, seconds (NaN if none).
    pub queue_delay_s: Vec<f64>,
    /// Bits delivered per second over the last interval.
    pub throughput_bps: Vec<f64>,
}

impl RunMetrics {
    /// Jain's fairness index over the flows' goodputs: (Σx)² / (n·Σx²); 1 is perfectly
    /// fair. `None` with no flows or all goodputs zero.
    pub fn jain_index(&self) -> Option<f64> {
        jain_index(self.flows.iter().map(|f| f.goodput_bps))
    }
}

/// Jain's fairness index of `values`; `None` if empty or all zero.
pub fn jain_index(values: impl IntoIterator<Item = f64>) -> Option<f64> {
    let (mut n, mut sum, mut squares) = (0usize, 0.0, 0.0);
    for x in values {
        n += 1;
        sum += x;
        squares += x * x;
    }
    (n > 0 && squares > 0.0).then(|| sum * sum / (n as f64 * squares))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn jain_index_is_one_for_equal_shares_and_one_over_n_for_a_hog() {
        assert_eq!(jain_index([5.0, 5.0, 5.0, 5.0]), Some(1.0));
        assert_eq!(jain_index([8.0, 0.0, 0.0, 0.0]), Some(0.25));
        assert_eq!(jain_index([]), None);
        assert_eq!(jain_index([0.0, 0.0]), None);
    }
}
