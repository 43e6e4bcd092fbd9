//! The message catalogues (`core/src/i18n/{fr,nl}.toml`) against the sources: every text a
//! client can read is written in English with `msg!("...")` (and every kind of record a 404
//! names with `Error::NotFound("...")`, `term!("...")` or a lead-page kind's `const KIND`);
//! this test collects those keys from the sources and refuses a catalogue that lacks one,
//! keeps one no source writes any more, or changes the placeholders a key has.
//!
//! Run with `FORECOURT_PRINT_MISSING=1` to print the missing keys as TOML, ready to translate.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use forecourt_core::Lang;
use std::{
    collections::{BTreeMap, BTreeSet},
    path::{Path, PathBuf},
};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_path_buf()
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            if path
                .file_name()
                .is_some_and(|n| n == "target" || n == "fuzz")
            {
                continue;
            }
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// The value of the Rust string literal starting at `text[0] == '"'`, as the compiler reads
/// it (escapes, and a backslash at a line's end skipping the next line's indentation).
fn literal(text: &str) -> Option<String> {
    let mut out = String::new();
    let mut chars = text[1..].chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '"' => return Some(out),
            '\\' => match chars.next()? {
                'n' => out.push('\n'),
                't' => out.push('\t'),
                '\\' => out.push('\\'),
                '"' => out.push('"'),
                '\'' => out.push('\''),
                '\n' => {
                    while chars.peek().is_some_and(|c| c.is_whitespace()) {
                        chars.next();
                    }
                }
                other => panic!("an escape the catalogue test does not read: \\{other}"),
            },
            c => out.push(c),
        }
    }
    None
}

/// Every key the sources write, with where, for the error message.
fn keys_in_sources() -> BTreeMap<String, String> {
    let mut files = Vec::new();
    for dir in ["core", "modules", "tenants", "web"] {
        rust_files(&root().join(dir), &mut files);
    }
    let markers = [
        "msg!(",
        "term!(",
        "NotFound(",
        "const KIND: &'static str = ",
    ];
    let mut keys = BTreeMap::new();
    for file in files {
        let text = std::fs::read_to_string(&file).unwrap();
        for marker in markers {
            for (at, _) in text.match_indices(marker) {
                let rest = text[at + marker.len()..].trim_start();
                let line_start = text[..at].rfind('\n').map_or(0, |i| i + 1);
                // Documentation shows examples; a comment is no message.
                if !rest.starts_with('"') || text[line_start..at].trim_start().starts_with("//") {
                    continue;
                }
                let key = literal(rest).expect("a closed string literal");
                let line = text[..at].lines().count();
                let place = format!("{}:{line}", file.strip_prefix(root()).unwrap().display());
                keys.entry(key).or_insert(place);
            }
        }
    }
    // The macro's own documentation and tests write examples, not messages.
    for example in ["at most {n} of {what}", "a {b} c"] {
        keys.remove(example);
    }
    keys
}

fn placeholders(text: &str) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    let mut rest = text;
    while let Some(open) = rest.find('{') {
        let after = &rest[open + 1..];
        match after.find('}') {
            Some(close)
                if after[..close]
                    .chars()
                    .all(|c| c.is_alphanumeric() || c == '_') =>
            {
                out.insert(after[..close].to_string());
                rest = &after[close + 1..];
            }
            _ => rest = after,
        }
    }
    out
}

#[test]
fn every_message_is_translated_in_every_language() {
    let keys = keys_in_sources();
    assert!(
        keys.len() > 100 && keys.contains_key("{what} not found") && keys.contains_key("contact"),
        "the scan found too little: {} keys",
        keys.len()
    );
    let mut problems = Vec::new();
    for lang in Lang::ALL.into_iter().filter(|l| *l != Lang::En) {
        let file = root().join(format!("core/src/i18n/{}.toml", lang.code()));
        let text = std::fs::read_to_string(&file).unwrap();
        let catalogue: BTreeMap<String, String> =
            toml::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", file.display()));
        let mut missing = Vec::new();
        for (key, place) in &keys {
            match catalogue.get(key) {
                None => missing.push((key, place)),
                Some(t) if t.trim().is_empty() => {
                    problems.push(format!("{}: `{key}` is empty", lang.code()))
                }
                Some(t) if placeholders(t) != placeholders(key) => problems.push(format!(
                    "{}: `{key}` has the placeholders {:?}, its translation {:?}",
                    lang.code(),
                    placeholders(key),
                    placeholders(t)
                )),
                Some(_) => {}
            }
        }
        for key in catalogue.keys().filter(|k| !keys.contains_key(*k)) {
            problems.push(format!(
                "{}: `{key}` is written by no source any more",
                lang.code()
            ));
        }
        if std::env::var_os("FORECOURT_PRINT_MISSING").is_some() {
            println!("# {} missing", lang.code());
            for (key, place) in &missing {
                println!("# {place}\n{} = \"\"", toml::Value::String(key.to_string()));
            }
        }
        problems.extend(
            missing
                .iter()
                .map(|(key, place)| format!("{}: `{key}` ({place}) is missing", lang.code())),
        );
        // The runtime reads the same file: the two agree.
        assert_eq!(lang.catalogue().len(), catalogue.len(), "{}", lang.code());
    }
    assert!(
        problems.is_empty(),
        "{} catalogue problems:\n{}",
        problems.len(),
        problems.join("\n")
    );
}

#[test]
fn the_scan_reads_literals_as_the_compiler_does() {
    assert_eq!(
        literal("\"a \\\"b\\\" c\\\n      d\" tail").as_deref(),
        Some("a \"b\" cd")
    );
    assert_eq!(
        placeholders("{a} and {b_c} not {x y}"),
        ["a", "b_c"].map(String::from).into()
    );
}
