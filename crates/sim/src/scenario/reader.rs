//! A typed walk over toml's spanned document tree ([`DeTable`]): every value read
//! knows its key path (`links[0].queue.limit`) and its position, so every mistake is
//! reported with both. A table declares the keys it knows up front; any other key is
//! an error at that key's line, with a suggestion when it looks like a typo.

use super::error::Sink;
use super::units;
use std::ops::Range;
use toml::de::{DeTable, DeValue};
use toml::Spanned;

/// A value in the document with its key path.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Item<'a, 'i> {
    pub(crate) path: &'a str,
    pub(crate) value: &'a Spanned<DeValue<'i>>,
}

/// What a value reader gives back: the value, or `None` after recording why not.
pub(crate) type Read<T> = Option<T>;

impl<'a, 'i> Item<'a, 'i> {
    pub(crate) fn span(&self) -> Range<usize> {
        self.value.span()
    }

    fn type_name(&self) -> &'static str {
        match self.value.get_ref() {
            DeValue::String(_) => "a string",
            DeValue::Integer(_) => "an integer",
            DeValue::Float(_) => "a float",
            DeValue::Boolean(_) => "a boolean",
            DeValue::Datetime(_) => "a datetime",
            DeValue::Array(_) => "an array",
            DeValue::Table(_) => "a table",
        }
    }

    /// Records `message` against this value.
    pub(crate) fn error(&self, sink: &mut Sink<'_>, message: impl Into<String>) {
        sink.error(self.span(), self.path, message);
    }

    fn wrong_type(&self, sink: &mut Sink<'_>, expected: &str) {
        let message = format!("{expected}, found {}", self.type_name());
        self.error(sink, message);
    }

    /// A string.
    pub(crate) fn str(&self, sink: &mut Sink<'_>) -> Read<&'a str> {
        match self.value.get_ref() {
            DeValue::String(s) => Some(s.as_ref()),
            _ => {
                self.wrong_type(sink, "expected a string");
                None
            }
        }
    }

    /// A boolean.
    pub(crate) fn bool(&self, sink: &mut Sink<'_>) -> Read<bool> {
        match self.value.get_ref() {
            DeValue::Boolean(b) => Some(*b),
            _ => {
                self.wrong_type(sink, "expected true or false");
                None
            }
        }
    }

    fn integer(&self) -> Option<Result<i128, ()>> {
        match self.value.get_ref() {
            DeValue::Integer(i) => {
                Some(i128::from_str_radix(i.as_str(), i.radix()).map_err(|_| ()))
            }
            _ => None,
        }
    }

    /// An integer within `min..=max`.
    pub(crate) fn int(&self, sink: &mut Sink<'_>, min: u64, max: u64) -> Read<u64> {
        match self.integer() {
            Some(Ok(n)) if n >= i128::from(min) && n <= i128::from(max) => u64::try_from(n).ok(),
            Some(_) => {
                self.error(sink, format!("expected an integer in {min}..={max}"));
                None
            }
            None => {
                self.wrong_type(sink, &format!("expected an integer in {min}..={max}"));
                None
            }
        }
    }

    /// A name: 1 to 64 of `A-Z a-z 0-9 _ -` (safe in file names and CSV).
    pub(crate) fn name(&self, sink: &mut Sink<'_>) -> Read<String> {
        let s = self.str(sink)?;
        let ok = !s.is_empty()
            && s.len() <= 64
            && s.chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
        if ok {
            Some(s.to_string())
        } else {
            self.error(
                sink,
                format!("{s:?} is not a name: use 1 to 64 letters, digits, '_' or '-'"),
            );
            None
        }
    }

    /// A string parsed by `parse` (a unit parser), its message reported on failure.
    fn unit<T>(
        &self,
        sink: &mut Sink<'_>,
        expected: &str,
        parse: impl FnOnce(&str) -> Result<T, String>,
    ) -> Read<T> {
        match self.value.get_ref() {
            DeValue::String(s) => match parse(s) {
                Ok(v) => Some(v),
                Err(message) => {
                    self.error(sink, message);
                    None
                }
            },
            _ => {
                self.wrong_type(sink, expected);
                None
            }
        }
    }

    /// A rate in bit/s (`"100Mbit"`); `None` inside for `"unlimited"`.
    pub(crate) fn rate(&self, sink: &mut Sink<'_>) -> Read<Option<u64>> {
        self.unit(sink, "expected a rate like \"100Mbit\"", units::parse_rate)
    }

    /// A duration in nanoseconds (`"20ms"`; the integer 0 is accepted).
    pub(crate) fn duration_ns(&self, sink: &mut Sink<'_>) -> Read<u64> {
        if let Some(Ok(0)) = self.integer() {
            return Some(0);
        }
        self.unit(
            sink,
            "expected a duration like \"20ms\"",
            units::parse_duration_ns,
        )
    }

    /// A size in bytes (`"64KiB"`, or an integer number of bytes).
    pub(crate) fn size(&self, sink: &mut Sink<'_>) -> Read<u64> {
        match self.integer() {
            Some(Ok(n)) => match u64::try_from(n) {
                Ok(n) => Some(n),
                Err(_) => {
                    self.error(sink, "a size cannot be negative");
                    None
                }
            },
            Some(Err(())) => {
                self.error(sink, "too large for a size");
                None
            }
            None => self.unit(sink, "expected a size like \"64KiB\"", units::parse_size),
        }
    }

    /// A probability: `"1%"` or a number in 0..=1.
    pub(crate) fn probability(&self, sink: &mut Sink<'_>) -> Read<f64> {
        let number = match self.value.get_ref() {
            DeValue::Float(f) => f.as_str().parse::<f64>().ok(),
            DeValue::Integer(_) => match self.integer() {
                Some(Ok(n)) => Some(n as f64),
                _ => None,
            },
            _ => None,
        };
        match number {
            Some(p) => match units::check_probability(p) {
                Ok(p) => Some(p),
                Err(message) => {
                    self.error(sink, message);
                    None
                }
            },
            None => self.unit(
                sink,
                "expected a probability like \"1%\" or 0.01",
                units::parse_percent,
            ),
        }
    }

    /// A queue limit (`"1000p"` or `"150KB"`).
    pub(crate) fn limit(&self, sink: &mut Sink<'_>) -> Read<units::LimitValue> {
        self.unit(
            sink,
            "expected a queue limit like \"1000p\" or \"150KB\"",
            units::parse_limit,
        )
    }

    /// A table that knows `keys`.
    pub(crate) fn table(
        &self,
        sink: &mut Sink<'_>,
        keys: &'static [&'static str],
    ) -> Read<Table<'a, 'i>> {
        match self.value.get_ref() {
            DeValue::Table(map) => Some(Table::new(
                self.path.to_string(),
                self.span(),
                map,
                keys,
                sink,
            )),
            _ => {
                self.wrong_type(sink, "expected a table");
                None
            }
        }
    }

    /// Whether the value is a table (for keys that take a string or a table).
    pub(crate) fn is_table(&self) -> bool {
        matches!(self.value.get_ref(), DeValue::Table(_))
    }

    /// Whether the value is a string.
    pub(crate) fn is_str(&self) -> bool {
        matches!(self.value.get_ref(), DeValue::String(_))
    }

    /// The elements of an array, with paths `path[i]`.
    pub(crate) fn array(
        &self,
        sink: &mut Sink<'_>,
    ) -> Read<Vec<(String, &'a Spanned<DeValue<'i>>)>> {
        match self.value.get_ref() {
            DeValue::Array(values) => Some(
                values
                    .iter()
                    .enumerate()
                    .map(|(i, v)| (format!("{}[{i}]", self.path), v))
                    .collect(),
            ),
            _ => {
                self.wrong_type(sink, "expected an array");
                None
            }
        }
    }
}

/// A table being read.
#[derive(Debug)]
pub(crate) struct Table<'a, 'i> {
    path: String,
    span: Range<usize>,
    map: &'a DeTable<'i>,
    /// `(key, path)` for every key present.
    paths: Vec<(String, String)>,
}

impl<'a, 'i> Table<'a, 'i> {
    /// Wraps `map` (at `path`), reporting keys not in `keys`.
    pub(crate) fn new(
        path: String,
        span: Range<usize>,
        map: &'a DeTable<'i>,
        keys: &'static [&'static str],
        sink: &mut Sink<'_>,
    ) -> Table<'a, 'i> {
        let mut paths = Vec::new();
        for (key, _) in map.iter() {
            let key_path = join(&path, key.get_ref());
            if !keys.contains(&key.get_ref().as_ref()) {
                let mut message = format!("unknown key {:?}", key.get_ref());
                match suggest(key.get_ref(), keys) {
                    Some(near) => message.push_str(&format!(" (did you mean {near:?}?)")),
                    None => message.push_str(&format!(" (known keys: {})", keys.join(", "))),
                }
                sink.error(key.span(), &key_path, message);
            }
            paths.push((key.get_ref().to_string(), key_path));
        }
        Table {
            path,
            span,
            map,
            paths,
        }
    }

    /// This table's key path.
    pub(crate) fn path(&self) -> &str {
        &self.path
    }

    /// Where the table is.
    pub(crate) fn span(&self) -> Range<usize> {
        self.span.clone()
    }

    /// The value of `key`, if present.
    pub(crate) fn get(&self, key: &str) -> Option<Item<'_, 'i>> {
        let value = self.map.get(key)?;
        let path = self
            .paths
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, p)| p.as_str())?;
        Some(Item { path, value })
    }

    /// The value of `key`, or an error at the table if it is missing.
    pub(crate) fn require(&self, sink: &mut Sink<'_>, key: &str) -> Option<Item<'_, 'i>> {
        let item = self.get(key);
        if item.is_none() {
            sink.error(
                self.span(),
                &join(&self.path, key),
                "missing (this key is required)",
            );
        }
        item
    }

    /// The span of `key` itself (its name), if present.
    pub(crate) fn key_span(&self, key: &str) -> Option<Range<usize>> {
        self.map
            .iter()
            .find(|(k, _)| k.get_ref() == key)
            .map(|(k, _)| k.span())
    }

    /// Reports every key of `keys` present, saying `why` it does not belong.
    pub(crate) fn reject(&self, sink: &mut Sink<'_>, keys: &[&str], why: &str) {
        for key in keys {
            if let (Some(span), Some(item)) = (self.key_span(key), self.get(key)) {
                sink.error(span, item.path, format!("unknown key {key:?} {why}"));
            }
        }
    }
}

/// `parent.key`, or `key` at the top.
pub(crate) fn join(parent: &str, key: &str) -> String {
    if parent.is_empty() {
        key.to_string()
    } else {
        format!("{parent}.{key}")
    }
}

/// The known key closest to `key` by edit distance, if it is close.
fn suggest(key: &str, keys: &[&'static str]) -> Option<&'static str> {
    keys.iter()
        .map(|k| (edit_distance(key, k), *k))
        .filter(|(d, k)| *d <= 2.max(k.len() / 4) && *d < k.len())
        .min_by_key(|(d, _)| *d)
        .map(|(_, k)| k)
}

/// Levenshtein distance (characters), for typo suggestions; long keys are cut to
/// 64 characters.
fn edit_distance(a: &str, b: &str) -> usize {
    let a: Vec<char> = a.chars().take(64).collect();
    let b: Vec<char> = b.chars().take(64).collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.iter().enumerate() {
        let mut prev = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let cur = row[j + 1];
            row[j + 1] = (prev + usize::from(ca != cb)).min(row[j] + 1).min(cur + 1);
            prev = cur;
        }
    }
    row[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn typos_get_a_suggestion() {
        assert_eq!(suggest("ccc", &["cc", "from", "to"]), Some("cc"));
        assert_eq!(suggest("rtae", &["rate", "delay"]), Some("rate"));
        assert_eq!(suggest("zzzzzz", &["rate", "delay"]), None);
        assert_eq!(edit_distance("kitten", "sitting"), 3);
    }
}
