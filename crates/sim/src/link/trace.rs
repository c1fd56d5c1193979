//! Mahimahi packet-delivery traces: the parser and the clock of delivery
//! opportunities a link replays.
//!
//! A trace file has one timestamp per line, in milliseconds since the start of the
//! trace, non-decreasing. Each line is one delivery opportunity; a timestamp
//! repeated on several lines is several opportunities in that millisecond. The
//! trace repeats forever with its last timestamp as period (so the last timestamp
//! must be above zero): opportunity `i` of cycle `c` comes at
//! `c·period + ms[i]` milliseconds after `Instant::ZERO`.
//!
//! Replay follows Mahimahi's `mm-link` (`LinkQueue::rationalize`): accounting is
//! per byte and each opportunity carries [`OPPORTUNITY_BYTES`] (mm-link(1) says
//! 1500; its code counts 1504, a TUN frame with its 4-byte header, whereas our
//! packets are bare IP datagrams). At an opportunity,
//! queued packets are taken in order and their bytes drained from its budget; a
//! packet whose last byte is drained leaves at the opportunity's time. A packet
//! the budget does not finish stays "in transit" and takes its remaining bytes
//! from the next opportunities (so a 1500-byte packet uses exactly one, and a
//! 9000-byte one six). Budget left when the queue is empty is wasted; a packet
//! enqueued at exactly an opportunity's time misses that opportunity (the link
//! settles everything due at `now` before accepting a packet at `now`).
//!
//! Utilization: each opportunity *owns* the time since the previous distinct
//! timestamp (the first of a cycle, since the cycle began), shared evenly among
//! the opportunities of its millisecond; a used opportunity adds its share to the
//! link's busy time, scaled by the fraction of its 1500 bytes that were used. So a
//! link kept saturated is busy for its whole elapsed time, and busy time never
//! runs ahead of the clock by more than one opportunity.

use layer4::time::{Duration, Instant};
use thiserror::Error;

/// Bytes one delivery opportunity lets leave (Mahimahi's MTU-sized packet).
pub const OPPORTUNITY_BYTES: usize = 1500;

const NANOS_PER_MS: u64 = 1_000_000;

/// The most opportunities a trace may hold: 10 million (80 MB of timestamps, plus
/// as much for the busy-time shares); Mahimahi's own traces hold tens of thousands.
pub const MAX_TRACE_ENTRIES: usize = 10_000_000;

/// Why a trace is unusable. Line numbers count from 1.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum TraceError {
    /// No timestamps at all.
    #[error("the trace has no timestamps")]
    Empty,
    /// A line that is not a whole number of milliseconds (blank lines included).
    #[error("line {line}: expected a timestamp in whole milliseconds, found {text:?}")]
    BadLine {
        /// The line's number.
        line: usize,
        /// The offending text (at most 40 characters of it).
        text: String,
    },
    /// A timestamp smaller than the one before it.
    #[error(
        "line {line}: timestamp {ms} ms comes after {previous} ms; timestamps must not decrease"
    )]
    Decreasing {
        /// The line's number.
        line: usize,
        /// Its timestamp.
        ms: u64,
        /// The previous line's timestamp.
        previous: u64,
    },
    /// More than [`MAX_TRACE_ENTRIES`] lines.
    #[error("the trace has more than {MAX_TRACE_ENTRIES} timestamps")]
    TooLong,
    /// The last timestamp is 0, so the trace would repeat with period zero.
    #[error("the trace must last a nonzero time: its last timestamp is 0 ms")]
    ZeroPeriod,
}

/// A validated Mahimahi trace: non-decreasing millisecond timestamps, at least
/// one, the last above zero.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Trace {
    ms: Vec<u64>,
    /// The busy time each opportunity stands for, in nanoseconds (module docs).
    share_ns: Vec<u64>,
}

impl Trace {
    /// Parses a Mahimahi trace file's text: one timestamp per line. Surrounding
    /// spaces and a trailing newline are accepted; a blank or non-numeric line is
    /// an error that names it.
    pub fn parse(text: &str) -> Result<Trace, TraceError> {
        let mut ms = Vec::new();
        for (i, line) in text.lines().enumerate() {
            if i >= MAX_TRACE_ENTRIES {
                return Err(TraceError::TooLong);
            }
            let trimmed = line.trim();
            let value = trimmed.parse::<u64>().map_err(|_| TraceError::BadLine {
                line: i + 1,
                text: trimmed.chars().take(40).collect(),
            })?;
            ms.push(value);
        }
        Trace::from_ms(ms)
    }

    /// A trace from timestamps already read (entry `i` is reported as line
    /// `i + 1`).
    pub fn from_ms(ms: Vec<u64>) -> Result<Trace, TraceError> {
        Trace::check(&ms)?;
        let mut share_ns = vec![0; ms.len()];
        let mut start = 0;
        while start < ms.len() {
            let t = ms[start];
            let end = start + ms[start..].partition_point(|&m| m == t);
            let previous = if start == 0 { 0 } else { ms[start - 1] };
            let span = (t - previous).saturating_mul(NANOS_PER_MS);
            // Split evenly, the remainder's nanoseconds to the first ones, so the
            // shares of a cycle add up to its period exactly.
            let count = (end - start) as u64;
            let (share, remainder) = (span / count, span % count);
            for (j, slot) in share_ns[start..end].iter_mut().enumerate() {
                *slot = share + u64::from((j as u64) < remainder);
            }
            start = end;
        }
        Ok(Trace { ms, share_ns })
    }

    /// Checks timestamps without building a trace: at least one, non-decreasing,
    /// the last above zero.
    pub fn check(ms: &[u64]) -> Result<(), TraceError> {
        let last = *ms.last().ok_or(TraceError::Empty)?;
        for (i, pair) in ms.windows(2).enumerate() {
            if pair[1] < pair[0] {
                return Err(TraceError::Decreasing {
                    line: i + 2,
                    ms: pair[1],
                    previous: pair[0],
                });
            }
        }
        if last == 0 {
            return Err(TraceError::ZeroPeriod);
        }
        Ok(())
    }

    /// The timestamps, in milliseconds.
    pub fn as_ms(&self) -> &[u64] {
        &self.ms
    }

    /// The timestamps, for [`LinkConfig::trace_ms`](super::LinkConfig::trace_ms).
    pub fn into_ms(self) -> Vec<u64> {
        self.ms
    }

    /// Delivery opportunities per cycle.
    pub fn len(&self) -> usize {
        self.ms.len()
    }

    /// Never true: a trace has at least one opportunity.
    pub fn is_empty(&self) -> bool {
        self.ms.is_empty()
    }

    /// The period the trace repeats with: its last timestamp.
    pub fn period(&self) -> Duration {
        Duration::from_millis(self.period_ms())
    }

    /// The average rate the trace offers, in bit/s.
    pub fn mean_rate_bps(&self) -> f64 {
        (self.len() * OPPORTUNITY_BYTES * 8) as f64 / self.period().as_secs_f64()
    }

    fn period_ms(&self) -> u64 {
        self.ms.last().copied().unwrap_or(1)
    }

    /// When opportunity `cursor` comes.
    pub(crate) fn time_of(&self, cursor: Cursor) -> Instant {
        let ms = cursor
            .cycle
            .saturating_mul(self.period_ms())
            .saturating_add(self.ms.get(cursor.index).copied().unwrap_or(0));
        Instant::from_nanos(ms.saturating_mul(NANOS_PER_MS))
    }

    /// The busy time opportunity `cursor` stands for.
    pub(crate) fn share_of(&self, cursor: Cursor) -> Duration {
        Duration::from_nanos(self.share_ns.get(cursor.index).copied().unwrap_or(0))
    }

    /// The opportunity after `cursor`.
    pub(crate) fn next(&self, cursor: Cursor) -> Cursor {
        if cursor.index + 1 < self.ms.len() {
            Cursor {
                index: cursor.index + 1,
                ..cursor
            }
        } else {
            Cursor {
                cycle: cursor.cycle.saturating_add(1),
                index: 0,
            }
        }
    }

    /// The first opportunity strictly after `t`, in O(log n).
    pub(crate) fn first_after(&self, t: Instant) -> Cursor {
        // Opportunities fall on whole milliseconds: after t means at m >= floor + 1.
        let m = (t.as_nanos() / NANOS_PER_MS).saturating_add(1);
        let period = self.period_ms();
        let (cycle, offset) = (m / period, m % period);
        if offset == 0 && cycle > 0 {
            // m is both the end of cycle - 1 (its last timestamp, the period) and
            // the start of cycle; the previous cycle's opportunities come first.
            let index = self.ms.partition_point(|&x| x < period);
            return Cursor {
                cycle: cycle - 1,
                index,
            };
        }
        // offset < period = last timestamp, so some timestamp is >= offset.
        let index = self.ms.partition_point(|&x| x < offset);
        Cursor { cycle, index }
    }
}

/// Which opportunity comes next: cycle number and index in the trace.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) struct Cursor {
    pub(crate) cycle: u64,
    pub(crate) index: usize,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(n: u64) -> Instant {
        Instant::from_nanos(n * NANOS_PER_MS)
    }

    #[test]
    fn parse_reads_repeated_lines_as_several_opportunities() {
        let trace = Trace::parse("1\n1\n3\n").unwrap();
        assert_eq!(trace.as_ms(), &[1, 1, 3]);
        assert_eq!(trace.len(), 3);
        assert_eq!(trace.period(), Duration::from_millis(3));
    }

    #[test]
    fn parse_accepts_crlf_and_surrounding_spaces() {
        assert_eq!(Trace::parse(" 2 \r\n5\r\n").unwrap().as_ms(), &[2, 5]);
    }

    #[test]
    fn parse_rejects_a_blank_line_naming_it() {
        assert_eq!(
            Trace::parse("1\n\n2\n"),
            Err(TraceError::BadLine {
                line: 2,
                text: String::new()
            })
        );
    }

    #[test]
    fn parse_rejects_garbage_naming_the_line() {
        let err = Trace::parse("1\n2\nthree\n").unwrap_err();
        assert_eq!(
            err.to_string(),
            "line 3: expected a timestamp in whole milliseconds, found \"three\""
        );
        assert!(matches!(
            Trace::parse("-1"),
            Err(TraceError::BadLine { line: 1, .. })
        ));
        assert!(matches!(
            Trace::parse("1.5"),
            Err(TraceError::BadLine { line: 1, .. })
        ));
    }

    #[test]
    fn parse_rejects_an_empty_trace() {
        assert_eq!(Trace::parse(""), Err(TraceError::Empty));
    }

    #[test]
    fn parse_rejects_decreasing_timestamps() {
        assert_eq!(
            Trace::parse("5\n7\n6\n"),
            Err(TraceError::Decreasing {
                line: 3,
                ms: 6,
                previous: 7
            })
        );
    }

    #[test]
    fn parse_rejects_a_trace_of_only_zeros() {
        assert_eq!(Trace::parse("0\n0\n"), Err(TraceError::ZeroPeriod));
    }

    #[test]
    fn opportunities_repeat_with_the_last_timestamp_as_period() {
        let trace = Trace::parse("0\n2\n5\n").unwrap();
        let mut cursor = Cursor::default();
        let mut times = Vec::new();
        for _ in 0..7 {
            times.push(trace.time_of(cursor));
            cursor = trace.next(cursor);
        }
        assert_eq!(
            times,
            [ms(0), ms(2), ms(5), ms(5), ms(7), ms(10), ms(10)].to_vec()
        );
    }

    #[test]
    fn first_after_skips_to_the_next_opportunity() {
        let trace = Trace::parse("0\n2\n5\n").unwrap();
        let at = |t: Instant| trace.time_of(trace.first_after(t));
        assert_eq!(at(Instant::ZERO), ms(2));
        assert_eq!(at(ms(2)), ms(5));
        assert_eq!(at(Instant::from_nanos(4_999_999)), ms(5));
        // 5 ms is the end of cycle 0 and the start of cycle 1; both are due at 5.
        let c = trace.first_after(Instant::from_nanos(4_999_999));
        assert_eq!(c, Cursor { cycle: 0, index: 2 });
        assert_eq!(at(ms(5)), ms(7));
        assert_eq!(at(ms(1_000_003)), ms(1_000_005));
    }

    #[test]
    fn shares_add_up_to_the_period() {
        let trace = Trace::parse("1\n1\n4\n6\n6\n6\n").unwrap();
        let total: u64 = trace.share_ns.iter().sum();
        assert_eq!(total, 6 * NANOS_PER_MS);
        assert_eq!(trace.share_ns[0], NANOS_PER_MS / 2);
        assert_eq!(trace.share_ns[3], 666_667);
        assert_eq!(trace.share_ns[2], 3 * NANOS_PER_MS);
    }

    #[test]
    fn mean_rate_of_one_packet_per_ms_is_twelve_megabits() {
        let trace = Trace::parse("1\n").unwrap();
        assert!((trace.mean_rate_bps() - 12e6).abs() < 1.0);
    }
}
