//! Human units in scenario files: rates, durations, sizes, probabilities and queue
//! limits. Every parser takes the string as written and returns the value or a
//! message that shows the expected form.
//!
//! Grammar (spaces between the number and the unit are allowed; the number is a
//! plain decimal, `12` or `1.5`, no sign, no exponent):
//!
//! - rate, bit/s: `bit`, `kbit`, `mbit`, `gbit`, `tbit` (powers of 1000) and `kibit`,
//!   `mibit`, `gibit`, `tibit` (powers of 1024), case-insensitive, as in `tc`:
//!   `"100Mbit"`, `"1.5gbit"`, `"64kbit"`. `bps`, `Mbps`, ... are refused: `tc` reads
//!   them as *bytes* per second and most people as bits. `"unlimited"` is
//!   infinitely fast.
//! - duration: `ns`, `us` (or `µs`), `ms`, `s`, `min`: `"20ms"`, `"1.5s"`,
//!   `"100us"`. Whole nanoseconds.
//! - size, bytes: `B`, `kB`/`KB`, `MB`, `GB`, `TB` (powers of 1000), `KiB`, `MiB`,
//!   `GiB`, `TiB` (powers of 1024): `"1500B"`, `"64KiB"`, `"10MB"`. The `B` is
//!   upper-case; `"10Mb"`/`"10kb"` are refused as looking like bits. Whole bytes.
//! - probability: `"1%"`, `"0.5%"` (a TOML number such as `0.01` is read by the
//!   caller), within 0..=1.
//! - queue limit: `"1000p"` (packets) or a size (`"150KB"`, bytes).

use std::fmt;

/// Largest number of digits accepted in one number (keeps arithmetic in `u128`).
const MAX_DIGITS: usize = 30;

/// A non-negative decimal number: `digits / 10^scale`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Decimal {
    digits: u128,
    scale: u32,
}

impl Decimal {
    /// `self · factor`, required to be a whole number that fits in `u64`.
    fn times(self, factor: u128, what: &str) -> Result<u64, String> {
        let too_large = || format!("too large for a {what}");
        let product = self.digits.checked_mul(factor).ok_or_else(too_large)?;
        let divisor = 10u128.pow(self.scale);
        if product % divisor != 0 {
            return Err(format!("not a whole number of {}", base_unit(what)));
        }
        u64::try_from(product / divisor).map_err(|_| too_large())
    }

    fn as_f64(self) -> f64 {
        self.digits as f64 / 10f64.powi(self.scale as i32)
    }
}

fn base_unit(what: &str) -> &'static str {
    match what {
        "rate" => "bit/s",
        "duration" => "nanoseconds",
        _ => "bytes",
    }
}

/// Splits `"1.5 Gbit"` into the number and the unit (`"Gbit"`, trimmed).
fn split_number(s: &str) -> Option<(Decimal, &str)> {
    let s = s.trim();
    let end = s
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(s.len());
    let (number, unit) = s.split_at(end);
    let (int, frac) = match number.split_once('.') {
        Some((i, f)) => (i, f),
        None => (number, ""),
    };
    if int.is_empty() && frac.is_empty()
        || frac.contains('.')
        || int.len() + frac.len() > MAX_DIGITS
        || (number.contains('.') && (int.is_empty() || frac.is_empty()))
    {
        return None;
    }
    let mut digits: u128 = 0;
    for c in int.chars().chain(frac.chars()) {
        digits = digits * 10 + u128::from(c.to_digit(10)?);
    }
    Some((
        Decimal {
            digits,
            scale: frac.len() as u32,
        },
        unit.trim(),
    ))
}

/// A rate, in bit/s; `None` for `"unlimited"`.
pub fn parse_rate(s: &str) -> Result<Option<u64>, String> {
    const EXPECTED: &str = "expected a rate like \"100Mbit\", \"1.5Gbit\" or \"64kbit\"";
    if s.trim().eq_ignore_ascii_case("unlimited") {
        return Ok(None);
    }
    let Some((number, unit)) = split_number(s) else {
        return Err(format!("{EXPECTED}, not {s:?}"));
    };
    let lower = unit.to_ascii_lowercase();
    let factor: u128 = match lower.as_str() {
        "bit" => 1,
        "kbit" => 1_000,
        "mbit" => 1_000_000,
        "gbit" => 1_000_000_000,
        "tbit" => 1_000_000_000_000,
        "kibit" => 1 << 10,
        "mibit" => 1 << 20,
        "gibit" => 1 << 30,
        "tibit" => 1 << 40,
        "bps" | "kbps" | "mbps" | "gbps" | "tbps" => {
            let prefix = &unit[..unit.len() - 3];
            return Err(format!(
                "{unit:?} is ambiguous (tc reads it as bytes per second): write \"{}{prefix}bit\" for bits per second",
                &s.trim()[..s.trim().len() - unit.len()].trim_end()
            ));
        }
        _ => return Err(format!("{EXPECTED}, not {s:?}")),
    };
    let bps = number.times(factor, "rate")?;
    if bps == 0 {
        return Err("a rate must be more than 0 (leave it out, or write \"unlimited\", for an infinitely fast link)".into());
    }
    Ok(Some(bps))
}

/// A duration, in nanoseconds.
pub fn parse_duration_ns(s: &str) -> Result<u64, String> {
    const EXPECTED: &str = "expected a duration like \"20ms\", \"1.5s\" or \"100us\"";
    let Some((number, unit)) = split_number(s) else {
        return Err(format!("{EXPECTED}, not {s:?}"));
    };
    let factor: u128 = match unit {
        "ns" => 1,
        "us" | "µs" | "μs" => 1_000,
        "ms" => 1_000_000,
        "s" => 1_000_000_000,
        "min" => 60_000_000_000,
        "" if number.digits == 0 => 1,
        _ => return Err(format!("{EXPECTED}, not {s:?}")),
    };
    number.times(factor, "duration")
}

/// A size, in bytes.
pub fn parse_size(s: &str) -> Result<u64, String> {
    const EXPECTED: &str = "expected a size like \"1500B\", \"64KiB\" or \"10MB\"";
    let Some((number, unit)) = split_number(s) else {
        return Err(format!("{EXPECTED}, not {s:?}"));
    };
    let factor: u128 = match unit {
        "B" => 1,
        "kB" | "KB" => 1_000,
        "MB" => 1_000_000,
        "GB" => 1_000_000_000,
        "TB" => 1_000_000_000_000,
        "KiB" => 1 << 10,
        "MiB" => 1 << 20,
        "GiB" => 1 << 30,
        "TiB" => 1 << 40,
        _ if unit.ends_with('b') || unit.ends_with("bit") => {
            return Err(format!(
                "{unit:?} looks like bits; sizes are in bytes (\"B\"): {EXPECTED}"
            ))
        }
        _ => return Err(format!("{EXPECTED}, not {s:?}")),
    };
    number.times(factor, "size")
}

/// A probability written as a percentage, `"1%"` → 0.01.
pub fn parse_percent(s: &str) -> Result<f64, String> {
    const EXPECTED: &str = "expected a probability like \"1%\" or a number in 0..=1";
    match split_number(s) {
        Some((number, "%")) => check_probability(number.as_f64() / 100.0),
        _ => Err(format!("{EXPECTED}, not {s:?}")),
    }
}

/// Checks that `p` is a probability (0..=1, not NaN).
pub fn check_probability(p: f64) -> Result<f64, String> {
    if (0.0..=1.0).contains(&p) {
        Ok(p)
    } else {
        Err(format!(
            "a probability must be within 0..=1 (0%..100%), not {p}"
        ))
    }
}

/// A queue limit: packets or bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LimitValue {
    /// `"1000p"`.
    Packets(u64),
    /// `"150KB"`.
    Bytes(u64),
}

impl fmt::Display for LimitValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            LimitValue::Packets(n) => write!(f, "{n}p"),
            LimitValue::Bytes(n) => write!(f, "{n}B"),
        }
    }
}

/// A queue limit, `"1000p"` or a size.
pub fn parse_limit(s: &str) -> Result<LimitValue, String> {
    const EXPECTED: &str =
        "expected a queue limit in packets like \"1000p\" or in bytes like \"150KB\"";
    match split_number(s) {
        Some((number, "p")) => Ok(LimitValue::Packets(
            number
                .times(1, "packet count")
                .map_err(|_| format!("{EXPECTED}: a whole number of packets, not {s:?}"))?,
        )),
        Some(_) => parse_size(s)
            .map(LimitValue::Bytes)
            .map_err(|_| format!("{EXPECTED}, not {s:?}")),
        None => Err(format!("{EXPECTED}, not {s:?}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn rates_use_tc_bit_suffixes() {
        assert_eq!(parse_rate("100Mbit"), Ok(Some(100_000_000)));
        assert_eq!(parse_rate("1.5Gbit"), Ok(Some(1_500_000_000)));
        assert_eq!(parse_rate("64kbit"), Ok(Some(64_000)));
        assert_eq!(parse_rate("64 KBIT"), Ok(Some(64_000)));
        assert_eq!(parse_rate("1kibit"), Ok(Some(1024)));
        assert_eq!(parse_rate("300bit"), Ok(Some(300)));
        assert_eq!(parse_rate("unlimited"), Ok(None));
    }

    #[test]
    fn bps_is_refused_as_ambiguous() {
        let err = parse_rate("10Mbps").unwrap_err();
        assert!(err.contains("ambiguous"), "{err}");
        assert!(err.contains("\"10Mbit\""), "{err}");
        assert!(parse_rate("10").unwrap_err().contains("expected a rate"));
        assert!(parse_rate("0Mbit").unwrap_err().contains("more than 0"));
        assert!(parse_rate("0.5bit").unwrap_err().contains("whole number"));
        assert!(parse_rate("1.Mbit").is_err());
        assert!(parse_rate(".5Mbit").is_err());
        assert!(parse_rate("-5Mbit").is_err());
        assert!(parse_rate("99999999999999999999Tbit")
            .unwrap_err()
            .contains("too large"));
    }

    #[test]
    fn durations_are_exact_nanoseconds() {
        assert_eq!(parse_duration_ns("20ms"), Ok(20_000_000));
        assert_eq!(parse_duration_ns("1.5s"), Ok(1_500_000_000));
        assert_eq!(parse_duration_ns("100us"), Ok(100_000));
        assert_eq!(parse_duration_ns("100 µs"), Ok(100_000));
        assert_eq!(parse_duration_ns("2min"), Ok(120_000_000_000));
        assert_eq!(parse_duration_ns("0"), Ok(0));
        assert_eq!(parse_duration_ns("0.1s"), Ok(100_000_000));
        assert!(parse_duration_ns("20").unwrap_err().contains("\"20ms\""));
        assert!(parse_duration_ns("0.5ns").unwrap_err().contains("whole"));
        assert!(parse_duration_ns("20 MS").is_err());
    }

    #[test]
    fn sizes_are_bytes_with_si_and_iec_prefixes() {
        assert_eq!(parse_size("1500B"), Ok(1500));
        assert_eq!(parse_size("64KiB"), Ok(65_536));
        assert_eq!(parse_size("10MB"), Ok(10_000_000));
        assert_eq!(parse_size("1MiB"), Ok(1 << 20));
        assert_eq!(parse_size("1.5kB"), Ok(1500));
        assert!(parse_size("10Mb").unwrap_err().contains("bits"));
        assert!(parse_size("10").is_err());
        assert!(parse_size("0.3B").is_err());
    }

    #[test]
    fn percentages_and_limits() {
        assert_eq!(parse_percent("1%"), Ok(0.01));
        assert_eq!(parse_percent("100%"), Ok(1.0));
        assert!(parse_percent("101%").is_err());
        assert!(parse_percent("0.01").is_err());
        assert_eq!(parse_limit("1000p"), Ok(LimitValue::Packets(1000)));
        assert_eq!(parse_limit("150KB"), Ok(LimitValue::Bytes(150_000)));
        assert!(parse_limit("1.5p").is_err());
        assert!(parse_limit("1000").is_err());
        assert!(check_probability(f64::NAN).is_err());
    }

    proptest! {
        #[test]
        fn unit_parsers_never_panic(s in "\\PC{0,24}") {
            let _ = parse_rate(&s);
            let _ = parse_duration_ns(&s);
            let _ = parse_size(&s);
            let _ = parse_percent(&s);
            let _ = parse_limit(&s);
        }

        #[test]
        fn whole_millisecond_durations_round_trip(ms in 0u64..10_000_000) {
            prop_assert_eq!(parse_duration_ns(&format!("{ms}ms")), Ok(ms * 1_000_000));
        }
    }
}
