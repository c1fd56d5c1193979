//! The compliance tables in `docs/compliance/` name, for each RFC requirement, the
//! code that implements it and the tests that show it. This checks that every
//! file they name exists and every test they name is a function somewhere in the
//! workspace, so that a rename or a move cannot leave the map pointing at nothing.

use std::collections::HashSet;
use std::fs;
use std::path::{Path, PathBuf};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// Every `fn name` in the Rust sources under `dir`.
fn functions(dir: &Path, out: &mut HashSet<String>) {
    let Ok(entries) = fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        let name = entry.file_name();
        let name = name.to_string_lossy();
        if path.is_dir() {
            if name != "target" && name != "corpus" && !name.starts_with('.') {
                functions(&path, out);
            }
        } else if name.ends_with(".rs") {
            let text = fs::read_to_string(&path).unwrap_or_default();
            let mut rest = text.as_str();
            while let Some(at) = rest.find("fn ") {
                let before = rest[..at].chars().next_back();
                rest = &rest[at + 3..];
                if before.is_some_and(|c| c.is_alphanumeric() || c == '_') {
                    continue;
                }
                let ident: String = rest
                    .chars()
                    .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                    .collect();
                if !ident.is_empty() {
                    out.insert(ident);
                }
            }
        }
    }
}

/// `text` without its parenthesised remarks.
fn without_remarks(text: &str) -> String {
    let mut depth = 0u32;
    text.chars()
        .filter(|&c| {
            match c {
                '(' => depth += 1,
                ')' => depth = depth.saturating_sub(1),
                _ => return depth == 0,
            }
            false
        })
        .collect()
}

/// The words of `text` made of identifier characters and `::` / `/` / `.`.
fn words(text: &str) -> impl Iterator<Item = &str> {
    text.split(|c: char| !(c.is_ascii_alphanumeric() || matches!(c, '_' | ':' | '/' | '.' | '-')))
        .map(|w| w.trim_matches(|c| c == '.' || c == ':'))
        .filter(|w| !w.is_empty())
}

/// A test's name as the tables write it: the last segment of a path, snake case,
/// 12 characters or more with an underscore (prose words in the column are not).
fn test_name(word: &str) -> Option<&str> {
    let name = word.rsplit("::").next()?;
    let snake = name
        .chars()
        .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
    (snake
        && name.len() >= 12
        && name.contains('_')
        && name.starts_with(|c: char| c.is_ascii_lowercase()))
    .then_some(name)
}

#[test]
fn every_file_and_test_the_compliance_tables_name_exists() {
    let root = root();
    let mut fns = HashSet::new();
    for dir in ["crates", "fuzz", "src"] {
        functions(&root.join(dir), &mut fns);
    }
    assert!(fns.len() > 1000, "found only {} functions", fns.len());
    let mut tables = 0;
    let mut tests_named = 0;
    let mut missing = Vec::new();
    for entry in fs::read_dir(root.join("docs/compliance"))
        .unwrap()
        .flatten()
    {
        let path = entry.path();
        if path.extension().is_none_or(|e| e != "md") {
            continue;
        }
        tables += 1;
        let text = fs::read_to_string(&path).unwrap();
        let file = path.file_name().unwrap().to_string_lossy().into_owned();
        for (n, line) in text.lines().enumerate() {
            let cells: Vec<&str> = line.trim().trim_matches('|').split('|').collect();
            if !line.starts_with('|') || cells.len() < 4 || line.starts_with("|---") {
                continue;
            }
            let (code, tests) = (cells[cells.len() - 2], cells[cells.len() - 1]);
            for word in words(code).chain(words(tests)) {
                let is_path = ["crates/", "scenarios/", "fuzz/"]
                    .iter()
                    .any(|p| word.starts_with(p))
                    && [".rs", ".toml"].iter().any(|e| word.ends_with(e));
                if is_path && !root.join(word).exists() {
                    missing.push(format!("{file}:{}: no file {word}", n + 1));
                }
            }
            for word in words(&without_remarks(tests)) {
                if let Some(name) = test_name(word) {
                    tests_named += 1;
                    // `prefix_*` names a family of tests.
                    let found = match name.strip_suffix('_') {
                        Some(prefix) => fns.iter().any(|f| f.starts_with(prefix)),
                        None => fns.contains(name),
                    };
                    if !found {
                        missing.push(format!("{file}:{}: no function {name}", n + 1));
                    }
                }
            }
        }
    }
    assert!(tables >= 4, "found {tables} tables");
    assert!(tests_named > 200, "found only {tests_named} test names");
    assert!(missing.is_empty(), "{}", missing.join("\n"));
}
