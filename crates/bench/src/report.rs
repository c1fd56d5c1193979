//! Markdown output: [`Table`] of [`Row`]s (stack, figure, unit, notes), the
//! [`Table::ratio`] row, [`Summary`] of repeated runs and number formatting.

use std::fmt::Write as _;

/// One line of a result table.
#[derive(Clone, Debug, PartialEq)]
pub struct Row {
    /// The `stack` column (`"layer4"`, `"smoltcp 0.14"`, `"layer4 / smoltcp"`).
    pub stack: String,
    /// The figure, or `None` when the run produced none (the note says why).
    pub figure: Option<f64>,
    /// The unit of the figure.
    pub unit: &'static str,
    /// Free text: spread, secondary figures, or why there is no figure.
    pub note: String,
}

/// A titled Markdown table with the columns stack | figure | unit | notes.
#[derive(Clone, Debug, PartialEq)]
pub struct Table {
    title: String,
    decimals: usize,
    rows: Vec<Row>,
}

impl Table {
    /// An empty table; figures are printed with `decimals` decimals.
    pub fn new(title: impl Into<String>, decimals: usize) -> Self {
        Table {
            title: title.into(),
            decimals,
            rows: Vec::new(),
        }
    }

    /// Append a row.
    pub fn push(&mut self, row: Row) {
        self.rows.push(row);
    }

    /// Append the `numerator / denominator` row (e.g. layer4 / smoltcp), with `target`
    /// in its note; without both figures the row has no figure and says so.
    pub fn ratio(&mut self, label: &str, num: Option<f64>, den: Option<f64>, target: &str) {
        let (figure, note) = match (num, den) {
            (Some(n), Some(d)) if d > 0.0 => (Some(n / d), target.to_string()),
            _ => (None, format!("{target}; needs both figures")),
        };
        self.rows.push(Row {
            stack: label.to_string(),
            figure,
            unit: "x",
            note,
        });
    }

    /// The table as Markdown: a `###` title, a blank line, the table.
    pub fn render(&self) -> String {
        let mut out = String::new();
        let _ = writeln!(out, "### {}\n", self.title);
        out.push_str("| stack | figure | unit | notes |\n|---|---:|---|---|\n");
        for r in &self.rows {
            let figure = match r.figure {
                Some(x) if r.unit == "x" => format!("{x:.2}"),
                Some(x) => group_digits(x, self.decimals),
                None => "—".to_string(),
            };
            let note = r.note.replace('|', "\\|");
            let _ = writeln!(out, "| {} | {} | {} | {} |", r.stack, figure, r.unit, note);
        }
        out
    }
}

/// `x` with `decimals` decimals and thousands separated by commas: `1,234,567.89`.
pub fn group_digits(x: f64, decimals: usize) -> String {
    let s = format!("{:.*}", decimals, x.abs());
    let (int, frac) = match s.split_once('.') {
        Some((i, f)) => (i, Some(f)),
        None => (s.as_str(), None),
    };
    let mut grouped = String::new();
    for (i, c) in int.chars().enumerate() {
        if i > 0 && (int.len() - i) % 3 == 0 {
            grouped.push(',');
        }
        grouped.push(c);
    }
    let sign = if x < 0.0 && x.abs() >= 0.5 * 10f64.powi(-(decimals as i32)) {
        "-"
    } else {
        ""
    };
    match frac {
        Some(f) => format!("{sign}{grouped}.{f}"),
        None => format!("{sign}{grouped}"),
    }
}

/// Median and range of repeated runs.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Summary {
    /// The median (the mean of the middle two for an even count).
    pub median: f64,
    /// The smallest sample.
    pub min: f64,
    /// The largest sample.
    pub max: f64,
    /// How many samples.
    pub n: usize,
}

impl Summary {
    /// The summary of `samples`, or `None` if there are none.
    pub fn of(samples: &[f64]) -> Option<Summary> {
        let mut v: Vec<f64> = samples.iter().copied().filter(|x| x.is_finite()).collect();
        if v.is_empty() {
            return None;
        }
        v.sort_by(f64::total_cmp);
        let n = v.len();
        let median = if n % 2 == 1 {
            v[n / 2]
        } else {
            (v[n / 2 - 1] + v[n / 2]) / 2.0
        };
        Some(Summary {
            median,
            min: v[0],
            max: v[n - 1],
            n,
        })
    }

    /// `"median of 3 (29.81–33.02)"`, or `"1 run"`.
    pub fn describe(&self, decimals: usize) -> String {
        if self.n == 1 {
            "1 run".to_string()
        } else {
            format!(
                "median of {} ({}–{})",
                self.n,
                group_digits(self.min, decimals),
                group_digits(self.max, decimals)
            )
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn digits_are_grouped_by_thousands() {
        assert_eq!(group_digits(1234567.891, 2), "1,234,567.89");
        assert_eq!(group_digits(999.0, 0), "999");
        assert_eq!(group_digits(1000.0, 0), "1,000");
        assert_eq!(group_digits(-12345.6, 1), "-12,345.6");
        assert_eq!(group_digits(0.004, 2), "0.00");
    }

    #[test]
    fn median_of_even_and_odd_counts() {
        let s = Summary::of(&[3.0, 1.0, 2.0]).unwrap();
        assert_eq!((s.median, s.min, s.max, s.n), (2.0, 1.0, 3.0, 3));
        assert_eq!(Summary::of(&[4.0, 1.0, 2.0, 3.0]).unwrap().median, 2.5);
        assert!(Summary::of(&[]).is_none());
    }

    #[test]
    fn table_renders_missing_figure_and_ratio() {
        let mut t = Table::new("bulk", 2);
        t.push(Row {
            stack: "layer4".into(),
            figure: None,
            unit: "Gbit/s",
            note: "layer4::Stack not available yet".into(),
        });
        t.push(Row {
            stack: "smoltcp 0.14".into(),
            figure: Some(31.5),
            unit: "Gbit/s",
            note: "a|b".into(),
        });
        t.ratio("layer4 / smoltcp", None, Some(31.5), "target ≥ 1.5");
        let md = t.render();
        assert!(md.starts_with("### bulk\n\n| stack | figure | unit | notes |\n"));
        assert!(md.contains("| layer4 | — | Gbit/s | layer4::Stack not available yet |"));
        assert!(md.contains("| smoltcp 0.14 | 31.50 | Gbit/s | a\\|b |"));
        assert!(md.contains("| layer4 / smoltcp | — | x | target ≥ 1.5; needs both figures |"));
    }

    #[test]
    fn ratio_with_both_figures_is_their_quotient() {
        let mut t = Table::new("t", 0);
        t.ratio("a / b", Some(3.0), Some(2.0), "target");
        assert!(t.render().contains("| a / b | 1.50 | x | target |"));
    }
}
