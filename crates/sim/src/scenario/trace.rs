//! Mahimahi packet-delivery traces: one integer per line, the millisecond at which
//! one MTU-sized (1500-byte) delivery opportunity occurs, non-decreasing; the trace
//! repeats when it ends. Blank lines are ignored.
//!
//! This reader is what a scenario's `trace = "file"` goes through; the bytes come
//! from whoever loads the scenario (the simulator crate does no file I/O).

/// The most opportunities a trace may hold (80 MB of `u64`s).
pub const MAX_TRACE_ENTRIES: usize = 10_000_000;

/// Parses a Mahimahi trace into its opportunity times in milliseconds. Errors name
/// the 1-based line.
pub fn parse_mahimahi(text: &str) -> Result<Vec<u64>, String> {
    let mut out = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() {
            continue;
        }
        let ms: u64 = line.parse().map_err(|_| {
            format!(
                "line {}: expected a whole number of milliseconds, found {:?}",
                i + 1,
                line.chars().take(40).collect::<String>()
            )
        })?;
        if let Some(&last) = out.last() {
            if ms < last {
                return Err(format!(
                    "line {}: {ms} is earlier than the line before ({last}); a trace never goes back in time",
                    i + 1
                ));
            }
        }
        if out.len() == MAX_TRACE_ENTRIES {
            return Err(format!("more than {MAX_TRACE_ENTRIES} lines"));
        }
        out.push(ms);
    }
    match out.last() {
        None => Err("the trace is empty".into()),
        Some(0) => Err(
            "the trace must end after 0 ms (it repeats with its last time as the period)".into(),
        ),
        Some(_) => Ok(out),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mahimahi_trace_reads_non_decreasing_milliseconds() {
        assert_eq!(parse_mahimahi("1\n1\n2\n\n5\n"), Ok(vec![1, 1, 2, 5]));
        assert!(parse_mahimahi("3\n2\n").unwrap_err().starts_with("line 2:"));
        assert!(parse_mahimahi("1\nx\n").unwrap_err().starts_with("line 2:"));
        assert!(parse_mahimahi("").is_err());
        assert!(parse_mahimahi("0\n0\n").is_err());
    }
}
