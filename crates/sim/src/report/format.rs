//! Numbers for people: `18.7 Mbit/s`, `42.1 ms`, `98.7%`, and `-` for nothing.

/// A rate in bit/s with an SI prefix and three significant digits: `9.50 Mbit/s`.
pub fn rate(bps: f64) -> String {
    if !bps.is_finite() {
        return "-".into();
    }
    let (value, unit) = if bps.abs() >= 1e9 {
        (bps / 1e9, "Gbit/s")
    } else if bps.abs() >= 1e6 {
        (bps / 1e6, "Mbit/s")
    } else if bps.abs() >= 1e3 {
        (bps / 1e3, "kbit/s")
    } else {
        (bps, "bit/s")
    };
    format!("{} {unit}", significant(value))
}

/// A time in seconds, in s, ms or µs: `42.1 ms`.
pub fn seconds(s: f64) -> String {
    if !s.is_finite() {
        return "-".into();
    }
    if s == 0.0 {
        "0 ms".into()
    } else if s.abs() >= 1.0 {
        format!("{} s", significant(s))
    } else if s.abs() >= 1e-3 {
        format!("{} ms", significant(s * 1e3))
    } else {
        format!("{} µs", significant(s * 1e6))
    }
}

/// An optional time, `-` when absent.
pub fn opt_seconds(s: Option<f64>) -> String {
    s.map_or_else(|| "-".into(), seconds)
}

/// A fraction as a percentage with one decimal: `98.7%`.
pub fn percent(fraction: f64) -> String {
    if fraction.is_finite() {
        format!("{:.1}%", fraction * 100.0)
    } else {
        "-".into()
    }
}

/// Three significant digits (`9.50`, `95.0`, `950`), more for large numbers.
fn significant(v: f64) -> String {
    let a = v.abs();
    if a >= 100.0 {
        format!("{v:.0}")
    } else if a >= 10.0 {
        format!("{v:.1}")
    } else {
        format!("{v:.2}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn human_units_pick_the_prefix() {
        assert_eq!(rate(9.5e6), "9.50 Mbit/s");
        assert_eq!(rate(1.25e9), "1.25 Gbit/s");
        assert_eq!(rate(64_000.0), "64.0 kbit/s");
        assert_eq!(rate(f64::NAN), "-");
        assert_eq!(seconds(0.0421), "42.1 ms");
        assert_eq!(seconds(4.2), "4.20 s");
        assert_eq!(seconds(0.000_25), "250 µs");
        assert_eq!(opt_seconds(None), "-");
        assert_eq!(percent(0.987), "98.7%");
    }
}
