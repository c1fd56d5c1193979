//! What is wrong with a scenario file: one [`Diagnostic`] per mistake, each naming
//! the file, line, column and key path (`flows[2].cc`), collected in a
//! [`ScenarioError`].

use std::fmt;
use std::ops::Range;

/// The most mistakes one [`ScenarioError`] reports; the rest are counted.
pub const MAX_DIAGNOSTICS: usize = 20;

/// One mistake in a scenario file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnostic {
    /// The file (or whatever the caller named the text), as given to the parser.
    pub origin: String,
    /// 1-based line of the offending key or value.
    pub line: usize,
    /// 1-based column, in characters.
    pub column: usize,
    /// The key path, like `links[0].rate` or `topology.bottleneck.queue.kind`; empty
    /// for TOML syntax errors.
    pub path: String,
    /// What is wrong.
    pub message: String,
}

impl fmt::Display for Diagnostic {
    /// `origin:line:column: path: message` (no path for syntax errors).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}:{}: ", self.origin, self.line, self.column)?;
        if !self.path.is_empty() {
            write!(f, "{}: ", self.path)?;
        }
        f.write_str(&self.message)
    }
}

/// Why a scenario could not be read: every mistake found (up to
/// [`MAX_DIAGNOSTICS`]), in file order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScenarioError {
    /// The mistakes, in the order of their position in the file; never empty.
    pub diagnostics: Vec<Diagnostic>,
    /// Mistakes found beyond [`MAX_DIAGNOSTICS`] and not listed.
    pub more: usize,
}

impl fmt::Display for ScenarioError {
    /// One line per diagnostic.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, d) in self.diagnostics.iter().enumerate() {
            if i > 0 {
                f.write_str("\n")?;
            }
            write!(f, "{d}")?;
        }
        if self.more > 0 {
            write!(f, "\n... and {} more", self.more)?;
        }
        Ok(())
    }
}

impl std::error::Error for ScenarioError {}

/// Collects diagnostics while a scenario is read.
#[derive(Debug)]
pub(crate) struct Sink<'s> {
    text: &'s str,
    origin: &'s str,
    found: Vec<(usize, Diagnostic)>,
}

impl<'s> Sink<'s> {
    pub(crate) fn new(text: &'s str, origin: &'s str) -> Sink<'s> {
        Sink {
            text,
            origin,
            found: Vec::new(),
        }
    }

    /// Records a mistake at byte `span` of the text.
    pub(crate) fn error(&mut self, span: Range<usize>, path: &str, message: impl Into<String>) {
        let (line, column) = line_column(self.text, span.start);
        self.found.push((
            span.start,
            Diagnostic {
                origin: self.origin.to_string(),
                line,
                column,
                path: path.to_string(),
                message: message.into(),
            },
        ));
    }

    /// How many mistakes were recorded.
    pub(crate) fn len(&self) -> usize {
        self.found.len()
    }

    /// The error, if anything was recorded.
    pub(crate) fn finish(mut self) -> Result<(), ScenarioError> {
        if self.found.is_empty() {
            return Ok(());
        }
        // Stable: mistakes at one position keep the order they were found in.
        self.found.sort_by_key(|(at, _)| *at);
        let more = self.found.len().saturating_sub(MAX_DIAGNOSTICS);
        let diagnostics = self
            .found
            .into_iter()
            .take(MAX_DIAGNOSTICS)
            .map(|(_, d)| d)
            .collect();
        Err(ScenarioError { diagnostics, more })
    }
}

/// 1-based line and column (in characters) of byte `offset` in `text`; offsets past
/// the end or inside a character are clamped.
pub(crate) fn line_column(text: &str, offset: usize) -> (usize, usize) {
    let mut offset = offset.min(text.len());
    while !text.is_char_boundary(offset) {
        offset -= 1;
    }
    let before = &text[..offset];
    let line = before.matches('\n').count() + 1;
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    let column = before[line_start..].chars().count() + 1;
    (line, column)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_column_counts_lines_and_characters() {
        let text = "a = 1\nbé = 2\n";
        assert_eq!(line_column(text, 0), (1, 1));
        assert_eq!(line_column(text, 6), (2, 1));
        // 'é' is two bytes: the '=' after "bé " is character 4.
        assert_eq!(line_column(text, 10), (2, 4));
        assert_eq!(line_column(text, 999), (3, 1));
        assert_eq!(line_column(text, 8), (2, 2));
    }

    #[test]
    fn diagnostics_sort_by_position_and_cap() {
        let text = "x\ny\n";
        let mut sink = Sink::new(text, "s.toml");
        sink.error(2..3, "b", "second");
        sink.error(0..1, "a", "first");
        let err = sink.finish().unwrap_err();
        assert_eq!(
            err.to_string(),
            "s.toml:1:1: a: first\ns.toml:2:1: b: second"
        );
        let mut sink = Sink::new(text, "s.toml");
        for _ in 0..MAX_DIAGNOSTICS + 3 {
            sink.error(0..1, "", "syntax");
        }
        let err = sink.finish().unwrap_err();
        assert_eq!(err.diagnostics.len(), MAX_DIAGNOSTICS);
        assert_eq!(err.more, 3);
        assert!(err.to_string().ends_with("... and 3 more"));
    }
}
