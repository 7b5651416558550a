//! Reading the TOML text into a [`Config`]: every unknown key and every value of the wrong type
//! in one pass, each with its line, in the words the file used.
//!
//! serde stops at the first error, so a file with three mistakes of different kinds would need
//! three runs to find them. Here the text is parsed twice (a configuration is small): into a
//! `toml::Table` for the values, and into a `toml_edit::ImDocument` for where each key is. Each
//! section's keys are checked against the fields of its type (as serde's derive lists them), and
//! each key's value is deserialized on its own, as a one-key section; a key that fails is
//! reported and dropped, and the rest becomes the [`Config`], with defaults where keys were
//! dropped. [`Locations`] then gives the value problems of [`Config::validate`] their lines too.

use std::collections::HashMap;
use std::fmt;

use serde::de::{DeserializeOwned, Visitor};
use serde::{Deserialize, Deserializer};

use super::{
    Config, EngineConfig, ExchangeConfig, IpcConfig, JournalConfig, Problem, RiskConfig, SessionConfig,
    ThrottleConfig,
};

/// Where each section and key of the text is: line numbers by dotted path.
#[derive(Clone, Debug, Default)]
pub(super) struct Locations {
    lines: HashMap<String, usize>,
}

impl Locations {
    /// The line of `field` (`section.key`, `section`, `section.key.entry`); for a key not in the
    /// file, the line of the closest enclosing section that is.
    pub(super) fn line(&self, field: &str) -> Option<usize> {
        let mut path = field;
        loop {
            if let Some(l) = self.lines.get(path) {
                return Some(*l);
            }
            path = &path[..path.rfind('.')?];
        }
    }
}

/// 1-based line numbers of byte offsets.
struct LineIndex {
    starts: Vec<usize>,
}

impl LineIndex {
    fn new(text: &str) -> LineIndex {
        let starts = std::iter::once(0).chain(text.match_indices('\n').map(|(i, _)| i + 1)).collect();
        LineIndex { starts }
    }

    fn line(&self, offset: usize) -> usize {
        self.starts.partition_point(|s| *s <= offset)
    }
}

/// What reading the text gives: the configuration (defaults in place of the keys that could not
/// be read), the problems of those keys, and where every key is.
pub(super) struct Read {
    pub(super) config: Config,
    pub(super) problems: Vec<Problem>,
    pub(super) locations: Locations,
}

/// Reads `text`. `Err` only when it is not TOML at all (the parser's error, with line and
/// column).
pub(super) fn read(text: &str) -> Result<Read, toml::de::Error> {
    let mut table: toml::Table = toml::from_str(text)?;
    // The same text parses as a document too; if it somehow did not, problems go without lines.
    let doc = toml_edit::ImDocument::parse(text).ok();
    let mut locations = Locations::default();
    if let Some(doc) = &doc {
        locate(&LineIndex::new(text), &mut locations, "", doc.as_table());
    }
    let mut reader = Reader { text, doc, locations, problems: Vec::new() };
    let sections = keys_of::<Config>();
    let names: Vec<String> = table.keys().cloned().collect();
    for name in names {
        let Some(value) = table.get_mut(&name) else { continue };
        if !sections.contains(&name.as_str()) {
            let what = if value.is_table() { "section" } else { "key (keys belong in a section)" };
            let message = match closest(&name, sections) {
                Some(s) => format!("unknown {what} (did you mean [{s}]?)"),
                None => format!("unknown {what}; the sections are {}", bracketed(sections)),
            };
            reader.problem(&name, message);
            table.remove(&name);
            continue;
        }
        let Some(section) = value.as_table_mut() else {
            let shown = reader.as_written(&name, value);
            reader.problem(&name, format!("{shown} is not a table ([{name}] and its keys)"));
            table.remove(&name);
            continue;
        };
        match name.as_str() {
            "session" => reader.section::<SessionConfig>(&name, section),
            "throttle" => reader.section::<ThrottleConfig>(&name, section),
            "journal" => reader.section::<JournalConfig>(&name, section),
            "engine" => reader.section::<EngineConfig>(&name, section),
            "exchange" => reader.section::<ExchangeConfig>(&name, section),
            "risk" => reader.section::<RiskConfig>(&name, section),
            "ipc" => reader.section::<IpcConfig>(&name, section),
            // A section of `Config` this list does not name yet: checked whole, below.
            _ => {}
        }
    }
    let config = match Config::deserialize(toml::Value::Table(table)) {
        Ok(c) => c,
        Err(e) => {
            // Every key that failed alone was dropped; a failure here is one between keys.
            reader.problem("", plain(&e.to_string()));
            Config::default()
        }
    };
    let Reader { mut problems, locations, .. } = reader;
    for p in &mut problems {
        p.line = p.line.or_else(|| locations.line(&p.field));
    }
    Ok(Read { config, problems, locations })
}

/// Notes the line of every table and key under `table` (at dotted path `prefix`).
fn locate(index: &LineIndex, locations: &mut Locations, prefix: &str, table: &dyn toml_edit::TableLike) {
    for (key, item) in table.iter() {
        let path = if prefix.is_empty() { key.to_string() } else { format!("{prefix}.{key}") };
        let span = table
            .key(key)
            .and_then(toml_edit::Key::span)
            .or_else(|| item.as_table().and_then(toml_edit::Table::span))
            .or_else(|| item.span());
        if let Some(span) = span {
            locations.lines.insert(path.clone(), index.line(span.start));
        }
        if let Some(inner) = item.as_table_like() {
            locate(index, locations, &path, inner);
        }
    }
}

struct Reader<'t> {
    text: &'t str,
    doc: Option<toml_edit::ImDocument<&'t str>>,
    locations: Locations,
    problems: Vec<Problem>,
}

impl Reader<'_> {
    fn problem(&mut self, field: &str, message: String) {
        let line = self.locations.line(field);
        self.problems.push(Problem { field: field.to_string(), message, line });
    }

    /// The value at `path` as the file wrote it (its text), else as TOML.
    fn as_written(&self, path: &str, value: &toml::Value) -> String {
        let from_text = self.doc.as_ref().and_then(|doc| {
            let mut item = doc.as_item();
            for part in path.split('.') {
                item = item.get(part)?;
            }
            let span = item.as_value()?.span()?;
            self.text.get(span).map(|s| s.trim().to_string())
        });
        let shown = from_text.unwrap_or_else(|| value.to_string());
        if shown.chars().count() > 60 {
            format!("{}…", shown.chars().take(60).collect::<String>())
        } else {
            shown
        }
    }

    /// Checks the keys of section `name` against `T`'s fields and each value alone; drops what
    /// fails.
    fn section<T: DeserializeOwned>(&mut self, name: &str, section: &mut toml::Table) {
        let fields = keys_of::<T>();
        let keys: Vec<String> = section.keys().cloned().collect();
        for key in keys {
            let path = format!("{name}.{key}");
            if !fields.contains(&key.as_str()) {
                let message = match closest(&key, fields) {
                    Some(k) => format!("unknown key (did you mean `{k}`?)"),
                    None => format!("unknown key; [{name}] takes {}", fields.join(", ")),
                };
                self.problem(&path, message);
                section.remove(&key);
                continue;
            }
            let Some(value) = section.get_mut(&key) else { continue };
            if alone::<T>(&key, value.clone()).is_ok() {
                continue;
            }
            // A table (`[exchange.symbols]`) keeps the entries that fit on their own.
            if let toml::Value::Table(entries) = value {
                let bad: Vec<String> = entries
                    .iter()
                    .filter(|(k, v)| alone::<T>(&key, one(k, v)).is_err())
                    .map(|(k, _)| k.clone())
                    .collect();
                for k in bad {
                    if let Some(v) = entries.remove(&k) {
                        let entry = format!("{path}.{k}");
                        let err = alone::<T>(&key, one(&k, &v)).err();
                        let message = wrong_type(&self.as_written(&entry, &v), &message_of(err));
                        self.problem(&entry, message);
                    }
                }
                if alone::<T>(&key, value.clone()).is_ok() {
                    continue;
                }
            }
            let message = wrong_type(
                &self.as_written(&path, value),
                &message_of(alone::<T>(&key, value.clone()).err()),
            );
            self.problem(&path, message);
            section.remove(&key);
        }
    }
}

/// A one-entry table `{k = v}`.
fn one(k: &str, v: &toml::Value) -> toml::Value {
    toml::Value::Table(toml::Table::from_iter([(k.to_string(), v.clone())]))
}

fn message_of(e: Option<toml::de::Error>) -> String {
    e.map(|e| e.to_string()).unwrap_or_default()
}

/// Deserializes `T` from a section holding only `key = value`.
fn alone<T: DeserializeOwned>(key: &str, value: toml::Value) -> Result<T, toml::de::Error> {
    T::deserialize(toml::Value::Table(toml::Table::from_iter([(key.to_string(), value)])))
}

/// `"many" is not a whole number from 0 to 4294967295`: a type error in the file's words.
fn wrong_type(shown: &str, serde_message: &str) -> String {
    let message = plain(serde_message);
    match message.split_once("expected ") {
        Some((_, expected)) => format!("{shown} is not {}", expected_in_words(expected.trim())),
        None => format!("{shown}: {message}"),
    }
}

/// serde's name of what it expected, as a user would say it.
fn expected_in_words(expected: &str) -> String {
    let whole = |max: u128| format!("a whole number from 0 to {max}");
    match expected {
        "u8" => whole(u8::MAX.into()),
        "u16" => whole(u16::MAX.into()),
        "u32" => whole(u32::MAX.into()),
        "u64" => whole(u64::MAX.into()),
        "usize" => whole(usize::MAX as u128),
        "i8" | "i16" | "i32" | "i64" | "isize" => "a whole number".into(),
        "f32" | "f64" => "a number".into(),
        "a boolean" => "true or false".into(),
        "a string" | "a borrowed string" => "a string".into(),
        "a sequence" => "a list (e.g. [\"Mon\", \"Fri\"])".into(),
        "a map" => "a table".into(),
        other if other.starts_with("struct ") => "a table".into(),
        other => other.to_string(),
    }
}

/// The first line of a serde / toml message, without a trailing period.
fn plain(message: &str) -> String {
    message.lines().next().unwrap_or_default().trim().trim_end_matches('.').to_string()
}

/// `[a], [b], [c]`.
fn bracketed(names: &[&str]) -> String {
    names.iter().map(|n| format!("[{n}]")).collect::<Vec<_>>().join(", ")
}

/// The known name within two edits of `name` (the closest), for a "did you mean".
fn closest<'a>(name: &str, known: &[&'a str]) -> Option<&'a str> {
    known
        .iter()
        .map(|k| (edit_distance(name, k), *k))
        .filter(|(d, _)| *d <= 2)
        .min_by_key(|(d, _)| *d)
        .map(|(_, k)| k)
}

/// Levenshtein distance, adjacent swaps counting one (`brust` → `burst`).
fn edit_distance(a: &str, b: &str) -> usize {
    let (a, b): (Vec<char>, Vec<char>) = (a.chars().collect(), b.chars().collect());
    let mut d = vec![vec![0usize; b.len() + 1]; a.len() + 1];
    for (i, row) in d.iter_mut().enumerate() {
        row[0] = i;
    }
    for (j, cell) in d[0].iter_mut().enumerate() {
        *cell = j;
    }
    for i in 1..=a.len() {
        for j in 1..=b.len() {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            d[i][j] = (d[i - 1][j] + 1).min(d[i][j - 1] + 1).min(d[i - 1][j - 1] + cost);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                d[i][j] = d[i][j].min(d[i - 2][j - 2] + 1);
            }
        }
    }
    d[a.len()][b.len()]
}

/// The keys a `#[derive(Deserialize)]` struct takes: the field names its derive hands to
/// `deserialize_struct`, so that the list cannot drift from the struct.
fn keys_of<T: DeserializeOwned>() -> &'static [&'static str] {
    let mut fields: &'static [&'static str] = &[];
    let _ = T::deserialize(FieldNames(&mut fields));
    fields
}

/// A deserializer that only learns a struct's field names, then stops.
struct FieldNames<'a>(&'a mut &'static [&'static str]);

/// [`FieldNames`] always stops with this.
#[derive(Debug)]
struct Stop;

impl fmt::Display for Stop {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("field names read")
    }
}

impl std::error::Error for Stop {}

impl serde::de::Error for Stop {
    fn custom<T: fmt::Display>(_: T) -> Stop {
        Stop
    }
}

impl<'de> Deserializer<'de> for FieldNames<'_> {
    type Error = Stop;

    fn deserialize_any<V: Visitor<'de>>(self, _: V) -> Result<V::Value, Stop> {
        Err(Stop)
    }

    fn deserialize_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        fields: &'static [&'static str],
        _: V,
    ) -> Result<V::Value, Stop> {
        *self.0 = fields;
        Err(Stop)
    }

    serde::forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string bytes byte_buf option
        unit unit_struct newtype_struct seq tuple tuple_struct map enum identifier ignored_any
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn field_names_come_from_the_structs() {
        assert_eq!(
            keys_of::<Config>(),
            ["session", "throttle", "journal", "engine", "exchange", "risk", "ipc"]
        );
        assert_eq!(keys_of::<ThrottleConfig>(), ["max_orders_per_sec", "mode", "burst"]);
    }

    #[test]
    fn close_names_are_suggested() {
        assert_eq!(closest("brust", &["burst", "mode"]), Some("burst"));
        assert_eq!(closest("sesion", &["session", "throttle"]), Some("session"));
        assert_eq!(closest("colour", &["burst", "mode"]), None);
        assert_eq!(edit_distance("", "abc"), 3);
    }

    #[test]
    fn lines_of_offsets() {
        let index = LineIndex::new("a\nbb\n\nc");
        let lines: Vec<usize> = [0, 1, 2, 4, 5, 6].iter().map(|o| index.line(*o)).collect();
        assert_eq!(lines, [1, 1, 2, 2, 3, 4]);
    }
}
