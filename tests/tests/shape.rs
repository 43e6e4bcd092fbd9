//! The shape of the code, checked on every test run by reading the sources: tenant tables are
//! reached only through their scoped constructors, no crate writes SQL against another crate's
//! tables, modules depend on `core` only, no file of a crate imports another that imports it
//! back (directly or in a circle), and no file grows past what one reader can hold.
//!
//! Run alone with `cargo test -p forecourt-tests --test shape`.

// Test-only code: panicking on an unexpected value is how a test fails.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::{
    collections::{BTreeMap, BTreeSet, HashMap},
    fs,
    path::{Path, PathBuf},
};

/// Longest a source file of `core/` or `modules/` may be (the ADF parser excepted: one grammar,
/// one file).
const MAX_LINES: usize = 700;

/// Methods that reach rows of any tenant when called on a tenant entity directly.
const UNSCOPED: &[&str] = &[
    "find",
    "find_by_id",
    "update_many",
    "delete_many",
    "delete_by_id",
];

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("the tests crate lives in the workspace")
        .to_path_buf()
}

fn rel(p: &Path) -> String {
    p.strip_prefix(root())
        .unwrap_or(p)
        .to_string_lossy()
        .into_owned()
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = fs::read_dir(dir) else {
        return;
    };
    let mut entries: Vec<_> = entries.flatten().map(|e| e.path()).collect();
    entries.sort();
    for p in entries {
        if p.is_dir() {
            rust_files(&p, out);
        } else if p.extension().is_some_and(|e| e == "rs") {
            out.push(p);
        }
    }
}

/// A source file with its comments removed and its string literals taken out.
struct Source {
    path: PathBuf,
    /// Module path from the crate root (`contacts::service`).
    module: Vec<String>,
    /// The code without comments; string literals are replaced by `""`.
    code: String,
    /// The string literals, in order.
    strings: Vec<String>,
    /// Byte ranges of `code` inside `#[cfg(test)]` modules.
    test_ranges: Vec<(usize, usize)>,
}

impl Source {
    fn read(path: PathBuf, src_dir: &Path) -> Self {
        let text = fs::read_to_string(&path).expect("readable source");
        let (code, strings) = lex(&text);
        let test_ranges = cfg_test_blocks(&code);
        let rel = path.strip_prefix(src_dir).expect("inside src");
        let mut module: Vec<String> = rel
            .with_extension("")
            .iter()
            .map(|s| s.to_string_lossy().into_owned())
            .collect();
        if matches!(
            module.last().map(String::as_str),
            Some("lib" | "main" | "mod")
        ) {
            module.pop();
        }
        Self {
            path,
            module,
            code,
            strings,
            test_ranges,
        }
    }

    fn in_tests(&self, at: usize) -> bool {
        self.test_ranges.iter().any(|(a, b)| (*a..*b).contains(&at))
    }
}

/// Strips comments and takes out string literals (plain, raw, byte), keeping char literals and
/// lifetimes apart.
fn lex(text: &str) -> (String, Vec<String>) {
    let b = text.as_bytes();
    let mut code = String::with_capacity(text.len());
    let mut strings = Vec::new();
    let mut i = 0;
    while i < b.len() {
        let c = b[i];
        if c == b'/' && b.get(i + 1) == Some(&b'/') {
            while i < b.len() && b[i] != b'\n' {
                i += 1;
            }
        } else if c == b'/' && b.get(i + 1) == Some(&b'*') {
            let mut depth = 0;
            while i < b.len() {
                if b[i] == b'/' && b.get(i + 1) == Some(&b'*') {
                    depth += 1;
                    i += 2;
                } else if b[i] == b'*' && b.get(i + 1) == Some(&b'/') {
                    depth -= 1;
                    i += 2;
                    if depth == 0 {
                        break;
                    }
                } else {
                    i += 1;
                }
            }
        } else if c == b'r'
            && (b.get(i + 1) == Some(&b'"') || b.get(i + 1) == Some(&b'#'))
            && (i == 0 || !(b[i - 1].is_ascii_alphanumeric() || b[i - 1] == b'_'))
        {
            let mut j = i + 1;
            let mut hashes = 0;
            while b.get(j) == Some(&b'#') {
                hashes += 1;
                j += 1;
            }
            if b.get(j) != Some(&b'"') {
                code.push(c as char);
                i += 1;
                continue;
            }
            let start = j + 1;
            let close: String = std::iter::once('"')
                .chain(std::iter::repeat_n('#', hashes))
                .collect();
            let end = text[start..].find(&close).map_or(b.len(), |k| start + k);
            strings.push(text[start..end].to_string());
            code.push_str("\"\"");
            i = (end + close.len()).min(b.len());
        } else if c == b'"' {
            let mut j = i + 1;
            let mut s = String::new();
            while j < b.len() && b[j] != b'"' {
                if b[j] == b'\\' {
                    j += 1;
                }
                if j < b.len() {
                    s.push(b[j] as char);
                }
                j += 1;
            }
            strings.push(s);
            code.push_str("\"\"");
            i = j + 1;
        } else if c == b'\'' {
            // A char literal ('a', '\n', '\'') or a lifetime ('a).
            if b.get(i + 1) == Some(&b'\\') {
                let mut j = i + 2;
                while j < b.len() && b[j] != b'\'' {
                    j += 1;
                }
                code.push_str("' '");
                i = j + 1;
            } else if let Some(ch) = text[i + 1..].chars().next()
                && text[i + 1 + ch.len_utf8()..].starts_with('\'')
            {
                code.push_str("' '");
                i += 2 + ch.len_utf8();
            } else {
                code.push('\'');
                i += 1;
            }
        } else {
            let ch = text[i..].chars().next().unwrap_or(' ');
            code.push(ch);
            i += ch.len_utf8();
        }
    }
    (code, strings)
}

/// The block that opens at `open` (a `{`), as the index just after its `}`.
fn block_end(code: &str, open: usize) -> usize {
    let mut depth = 0;
    for (i, c) in code[open..].char_indices() {
        match c {
            '{' => depth += 1,
            '}' => {
                depth -= 1;
                if depth == 0 {
                    return open + i + 1;
                }
            }
            _ => {}
        }
    }
    code.len()
}

fn cfg_test_blocks(code: &str) -> Vec<(usize, usize)> {
    let mut out = Vec::new();
    let mut from = 0;
    while let Some(k) = code[from..].find("#[cfg(test)]") {
        let at = from + k;
        let rest = &code[at..];
        let Some(m) = rest.find("mod ") else { break };
        if let Some(open) = rest[m..].find('{')
            && !rest[m..m + open].contains(';')
        {
            let open = at + m + open;
            out.push((at, block_end(code, open)));
        }
        from = at + 1;
    }
    out
}

/// Inline `mod name { .. }` blocks: their byte range.
fn inline_mods(code: &str) -> Vec<(usize, usize)> {
    let mut out = Vec::new();
    for (i, _) in code.match_indices("mod ") {
        if i > 0 && is_ident(code[..i].chars().next_back().unwrap_or(' ')) {
            continue;
        }
        let rest = &code[i + 4..];
        let name_len = rest.chars().take_while(|c| is_ident(*c)).count();
        let after = rest[name_len..].trim_start();
        if name_len > 0 && after.starts_with('{') {
            let open = code.len() - after.len();
            out.push((open, block_end(code, open)));
        }
    }
    out
}

fn is_ident(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_'
}

/// Expands a use tree (`a::{b, c::{d, e as f}, self}`) into full paths.
fn expand_use(tree: &str) -> Vec<Vec<String>> {
    fn go(prefix: &[String], tree: &str, out: &mut Vec<Vec<String>>) {
        let tree = tree.trim();
        if tree.is_empty() {
            return;
        }
        if let Some(open) = tree.find('{') {
            let head: Vec<String> = tree[..open]
                .split("::")
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(String::from)
                .collect();
            let mut p = prefix.to_vec();
            p.extend(head);
            let inner = &tree[open + 1..tree.rfind('}').unwrap_or(tree.len())];
            let mut depth = 0;
            let mut start = 0;
            for (i, c) in inner.char_indices() {
                match c {
                    '{' => depth += 1,
                    '}' => depth -= 1,
                    ',' if depth == 0 => {
                        go(&p, &inner[start..i], out);
                        start = i + 1;
                    }
                    _ => {}
                }
            }
            go(&p, &inner[start..], out);
        } else {
            let path = tree.split(" as ").next().unwrap_or(tree);
            let mut p = prefix.to_vec();
            for seg in path.split("::").map(str::trim).filter(|s| !s.is_empty()) {
                if seg != "self" || p.is_empty() {
                    p.push(seg.to_string());
                }
            }
            out.push(p);
        }
    }
    let mut out = Vec::new();
    go(&[], tree, &mut out);
    out
}

/// One crate's files and how its paths resolve to them.
struct Crate {
    name: String,
    files: Vec<Source>,
    by_module: HashMap<Vec<String>, usize>,
    /// Per file: `pub use` names to the full path they stand for.
    reexports: Vec<HashMap<String, Vec<String>>>,
}

impl Crate {
    fn load(name: &str, src: &Path) -> Self {
        let mut paths = Vec::new();
        rust_files(src, &mut paths);
        let files: Vec<Source> = paths.into_iter().map(|p| Source::read(p, src)).collect();
        let by_module = files
            .iter()
            .enumerate()
            .map(|(i, f)| (f.module.clone(), i))
            .collect();
        let mut c = Self {
            name: name.to_string(),
            files,
            by_module,
            reexports: Vec::new(),
        };
        c.reexports = (0..c.files.len())
            .map(|i| {
                let mut map = HashMap::new();
                for (at, tree) in uses(&c.files[i].code) {
                    let before = c.files[i].code[..at].trim_end();
                    let tail = &before[before.len().saturating_sub(12)..];
                    if !tail.contains("pub") {
                        continue;
                    }
                    for p in expand_use(&tree) {
                        if let Some(abs) = c.absolute(i, &p, at)
                            && let Some(last) = tree_alias(&tree, &p)
                        {
                            map.insert(last, abs);
                        }
                    }
                }
                map
            })
            .collect();
        // A `#[macro_export]` macro is an item of the crate root defined in the file that
        // writes it: `crate::msg` names that file, as a `pub use` in the root would.
        if let Some(&root) = c.by_module.get(&Vec::new()) {
            for f in &c.files {
                for (at, _) in f.code.match_indices("#[macro_export]") {
                    let rest = &f.code[at..];
                    let Some(start) = rest.find("macro_rules!") else {
                        continue;
                    };
                    let name: String = rest[start + "macro_rules!".len()..]
                        .trim_start()
                        .chars()
                        .take_while(|c| is_ident(*c))
                        .collect();
                    let path = f.module.iter().cloned().chain([name.clone()]).collect();
                    c.reexports[root].insert(name, path);
                }
            }
        }
        c
    }

    /// The crate-relative module path `path` (as written in file `i` at `at`) names, or `None`
    /// for a path outside the crate.
    fn absolute(&self, i: usize, path: &[String], at: usize) -> Option<Vec<String>> {
        let f = &self.files[i];
        let first = path.first()?;
        let mut base: Vec<String> = match first.as_str() {
            "crate" => vec![],
            "self" => f.module.clone(),
            "super" => {
                let inline = inline_mods(&f.code)
                    .iter()
                    .filter(|(a, b)| (*a..*b).contains(&at))
                    .count();
                let supers = path.iter().take_while(|s| *s == "super").count();
                if supers <= inline {
                    return Some(f.module.clone());
                }
                let mut m = f.module.clone();
                for _ in 0..supers - inline {
                    m.pop();
                }
                return Some(
                    m.into_iter()
                        .chain(path[supers..].iter().cloned())
                        .collect(),
                );
            }
            child => {
                // A path relative to this module: only its child modules are ours.
                let mut m = f.module.clone();
                m.push(child.to_string());
                if self.by_module.contains_key(&m) {
                    return Some(
                        f.module
                            .iter()
                            .cloned()
                            .chain(path.iter().cloned())
                            .collect(),
                    );
                }
                return None;
            }
        };
        base.extend(path[1..].iter().cloned());
        Some(base)
    }

    /// The file that defines what a crate-relative path names.
    fn resolve(&self, path: &[String], depth: usize) -> Option<usize> {
        let mut best = None;
        for n in (0..=path.len()).rev() {
            if let Some(&i) = self.by_module.get(&path[..n]) {
                best = Some((i, n));
                break;
            }
        }
        let (i, n) = best?;
        if depth < 8
            && let Some(item) = path.get(n)
            && let Some(target) = self.reexports[i].get(item)
        {
            let mut t = target.clone();
            t.extend(path[n + 1..].iter().cloned());
            if let Some(j) = self.resolve(&t, depth + 1) {
                return Some(j);
            }
        }
        Some(i)
    }

    /// Every file `i` reaches through its use statements and inline paths.
    fn edges(&self, i: usize) -> BTreeSet<usize> {
        let f = &self.files[i];
        let mut out = BTreeSet::new();
        let mut add = |path: Vec<String>, at: usize| {
            // `crate::{..}` alone is the head of a use tree, read with the tree.
            if path.len() < 2 {
                return;
            }
            if let Some(abs) = self.absolute(i, &path, at)
                && let Some(j) = self.resolve(&abs, 0)
                && j != i
            {
                out.insert(j);
            }
        };
        for (at, tree) in uses(&f.code) {
            for p in expand_use(&tree) {
                add(p, at);
            }
        }
        for (at, p) in inline_paths(&f.code) {
            add(p, at);
        }
        // Paths relative to this module through its child modules (`contacts::service::f()`).
        let children: Vec<&String> = self
            .by_module
            .keys()
            .filter(|m| m.len() == f.module.len() + 1 && m.starts_with(&f.module))
            .filter_map(|m| m.last())
            .collect();
        for child in children {
            let pat = format!("{child}::");
            for (at, _) in f.code.match_indices(&pat) {
                let before = f.code[..at].chars().next_back().unwrap_or(' ');
                if is_ident(before) || before == ':' {
                    continue;
                }
                let path: Vec<String> = f.code[at..]
                    .split(|c: char| !(is_ident(c) || c == ':'))
                    .next()
                    .unwrap_or("")
                    .split("::")
                    .filter(|s| !s.is_empty())
                    .map(String::from)
                    .collect();
                add(path, at);
            }
        }
        out
    }
}

/// The name a use path binds (its alias or last segment).
fn tree_alias(tree: &str, path: &[String]) -> Option<String> {
    let last = path.last()?.clone();
    let pat = format!("{last} as ");
    if let Some(k) = tree.find(&pat) {
        let alias: String = tree[k + pat.len()..]
            .chars()
            .take_while(|c| is_ident(*c))
            .collect();
        return Some(alias);
    }
    Some(last)
}

/// `use` statements: their position and tree.
fn uses(code: &str) -> Vec<(usize, String)> {
    let mut out = Vec::new();
    for (i, _) in code.match_indices("use ") {
        if i > 0 && is_ident(code[..i].chars().next_back().unwrap_or(' ')) {
            continue;
        }
        if let Some(end) = code[i..].find(';') {
            let tree = &code[i + 4..i + end];
            if !tree.contains('(') && !tree.contains('=') {
                out.push((i, tree.split_whitespace().collect::<Vec<_>>().join(" ")));
            }
        }
    }
    out
}

/// Paths in code that start at `crate`, `super` or `self` (`crate::a::b(..)`).
fn inline_paths(code: &str) -> Vec<(usize, Vec<String>)> {
    let mut out = Vec::new();
    for start in ["crate::", "super::", "self::"] {
        for (i, _) in code.match_indices(start) {
            if i > 0 {
                let before = code[..i].chars().next_back().unwrap_or(' ');
                if is_ident(before) || before == ':' {
                    continue;
                }
            }
            let path: Vec<String> = code[i..]
                .split(|c: char| !(is_ident(c) || c == ':'))
                .next()
                .unwrap_or("")
                .split("::")
                .filter(|s| !s.is_empty())
                .map(String::from)
                .collect();
            out.push((i, path));
        }
    }
    out
}

fn crates() -> Vec<Crate> {
    let root = root();
    let mut list = vec![
        ("core".to_string(), root.join("core/src")),
        ("tenants".to_string(), root.join("tenants/src")),
        ("web".to_string(), root.join("web/src")),
        ("migrations".to_string(), root.join("migrations/src")),
    ];
    let mut modules: Vec<_> = fs::read_dir(root.join("modules"))
        .expect("modules/")
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.join("Cargo.toml").exists())
        .collect();
    modules.sort();
    for m in modules {
        let name = m
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        list.push((name, m.join("src")));
    }
    list.iter().map(|(n, p)| Crate::load(n, p)).collect()
}

/// Tables with a non-null `tenant_id`, by entity module name, with their table and owner.
struct Table {
    entity: String,
    table: String,
    owner: String,
    tenant: bool,
}

fn tables(crates: &[Crate]) -> Vec<Table> {
    let mut out = Vec::new();
    for c in crates {
        for f in &c.files {
            let mut from = 0;
            while let Some(k) = f.code[from..].find("#[sea_orm(table_name = \"\")]") {
                let at = from + k;
                from = at + 1;
                // The table name is the string literal of this attribute: count literals before.
                let nth = f.code[..at].matches("\"\"").count();
                let Some(table) = f.strings.get(nth).cloned() else {
                    continue;
                };
                let model_end = f.code[at..].find('}').map_or(f.code.len(), |e| at + e);
                let model = &f.code[at..model_end];
                let tenant = model.contains("pub tenant_id: Uuid");
                // The entity's module: the innermost inline `mod` around it, else the file.
                let entity = inline_mods(&f.code)
                    .into_iter()
                    .filter(|(a, b)| (*a..*b).contains(&at))
                    .max_by_key(|(a, _)| *a)
                    .map(|(open, _)| {
                        let head = f.code[..open].trim_end();
                        let name: String =
                            head.chars().rev().take_while(|c| is_ident(*c)).collect();
                        name.chars().rev().collect()
                    })
                    .or_else(|| f.module.last().cloned())
                    .unwrap_or_default();
                out.push(Table {
                    entity,
                    table,
                    owner: c.name.clone(),
                    tenant,
                });
            }
        }
    }
    out
}

#[test]
fn tenant_tables_are_read_only_through_their_scoped_constructors() {
    let crates = crates();
    let tables = tables(&crates);
    let tenant: BTreeSet<&str> = tables
        .iter()
        .filter(|t| t.tenant)
        .map(|t| t.entity.as_str())
        .collect();
    assert!(
        tenant.contains("contact") && tenant.contains("user") && tenant.contains("activity_log"),
        "the check must see the tenant tables, found {tenant:?}"
    );
    let mut found = Vec::new();
    for c in &crates {
        for f in &c.files {
            // Aliases: `use ...::contact::Entity as Contact;`
            let mut names: Vec<(String, String)> = tenant
                .iter()
                .map(|e| (format!("{e}::Entity::"), e.to_string()))
                .collect();
            for (_, tree) in uses(&f.code) {
                for e in &tenant {
                    let pat = format!("{e}::Entity as ");
                    if let Some(k) = tree.find(&pat) {
                        let alias: String = tree[k + pat.len()..]
                            .chars()
                            .take_while(|c| is_ident(*c))
                            .collect();
                        names.push((format!("{alias}::"), e.to_string()));
                    }
                }
            }
            for (prefix, entity) in &names {
                for (at, _) in f.code.match_indices(prefix.as_str()) {
                    if at > 0 && is_ident(f.code[..at].chars().next_back().unwrap_or(' ')) {
                        continue;
                    }
                    let rest = &f.code[at + prefix.len()..];
                    let method: String = rest.chars().take_while(|c| is_ident(*c)).collect();
                    if UNSCOPED.contains(&method.as_str()) && !f.in_tests(at) {
                        let line = f.code[..at].matches('\n').count() + 1;
                        found.push(format!(
                            "{}:{line}: {entity}::Entity::{method} (use {entity}::Entity::scoped/update_in/delete_in)",
                            rel(&f.path)
                        ));
                    }
                }
            }
        }
    }
    assert!(
        found.is_empty(),
        "tenant tables reached without their tenant:\n{}",
        found.join("\n")
    );
}

#[test]
fn no_crate_writes_sql_against_another_crates_tables() {
    let crates = crates();
    let tables = tables(&crates);
    let mut found = Vec::new();
    for c in &crates {
        if c.name == "migrations" {
            continue; // the schema's history names every table
        }
        for f in &c.files {
            for t in tables.iter().filter(|t| t.owner != c.name) {
                let quoted = format!("\"{}\"", t.table);
                for s in &f.strings {
                    let upper = s.to_uppercase();
                    let words: Vec<&str> = upper
                        .split(|ch: char| !(ch.is_ascii_alphanumeric() || ch == '_' || ch == '"'))
                        .filter(|w| !w.is_empty())
                        .collect();
                    let table = t.table.to_uppercase();
                    let named = words.windows(2).any(|w| {
                        matches!(w[0], "FROM" | "JOIN" | "INTO" | "UPDATE" | "TABLE")
                            && (w[1] == table || w[1] == quoted.to_uppercase())
                    });
                    if named {
                        found.push(format!(
                            "{}: SQL names `{}` of {}",
                            rel(&f.path),
                            t.table,
                            t.owner
                        ));
                    }
                }
                // sea-query identifiers: Alias::new("table")
                let alias_uses = f.code.matches("Alias::new(\"\")").count();
                if alias_uses > 0 {
                    for (k, _) in f.code.match_indices("Alias::new(\"\")") {
                        let nth = f.code[..k].matches("\"\"").count();
                        if f.strings.get(nth) == Some(&t.table) {
                            found.push(format!(
                                "{}: Alias::new(\"{}\") names a table of {}",
                                rel(&f.path),
                                t.table,
                                t.owner
                            ));
                        }
                    }
                }
            }
        }
    }
    found.dedup();
    assert!(
        found.is_empty(),
        "a crate reads another crate's tables (ask through a port of core instead):\n{}",
        found.join("\n")
    );
}

#[test]
fn modules_depend_on_core_only() {
    let root = root();
    let mut found = Vec::new();
    let mut dirs: Vec<PathBuf> = fs::read_dir(root.join("modules"))
        .expect("modules/")
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.join("Cargo.toml").exists())
        .collect();
    dirs.push(root.join("tenants"));
    dirs.push(root.join("core"));
    for d in dirs {
        let manifest = fs::read_to_string(d.join("Cargo.toml")).expect("manifest");
        let deps = manifest
            .split("\n[")
            .find(|s| s.starts_with("dependencies]"))
            .unwrap_or("");
        for line in deps.lines().skip(1) {
            let name = line.split(['=', '.']).next().unwrap_or("").trim();
            if name.starts_with("forecourt-") && name != "forecourt-core" {
                found.push(format!("{} depends on {name}", rel(&d)));
            }
        }
    }
    assert!(
        found.is_empty(),
        "modules reach each other only through core's ports and events:\n{}",
        found.join("\n")
    );
}

#[test]
fn no_file_imports_one_that_imports_it_back() {
    let mut circles = Vec::new();
    let mut edges_seen = 0;
    for c in crates() {
        let graph: Vec<BTreeSet<usize>> = (0..c.files.len()).map(|i| c.edges(i)).collect();
        edges_seen += graph.iter().map(BTreeSet::len).sum::<usize>();
        for scc in strongly_connected(&graph) {
            if scc.len() > 1 {
                let names: Vec<String> = scc.iter().map(|&i| rel(&c.files[i].path)).collect();
                circles.push(format!("{}: {}", c.name, names.join(" <-> ")));
            }
        }
    }
    assert!(
        edges_seen > 100,
        "the import graph must be read ({edges_seen} edges)"
    );
    assert!(
        circles.is_empty(),
        "files that import each other, directly or in a circle:\n{}",
        circles.join("\n")
    );
}

#[test]
fn no_file_in_core_or_modules_is_too_long() {
    let root = root();
    let mut files = Vec::new();
    rust_files(&root.join("core"), &mut files);
    rust_files(&root.join("modules"), &mut files);
    let mut long: BTreeMap<String, usize> = BTreeMap::new();
    for f in files {
        let r = rel(&f);
        if r.contains("/target/")
            || (r.starts_with("modules/connectors/")
                && r.ends_with("/adf.rs")
                && r.contains("/src/"))
        {
            continue;
        }
        let n = fs::read_to_string(&f).map_or(0, |t| t.lines().count());
        if n > MAX_LINES {
            long.insert(r, n);
        }
    }
    assert!(long.is_empty(), "files over {MAX_LINES} lines: {long:#?}");
}

/// Tarjan's strongly connected components.
fn strongly_connected(graph: &[BTreeSet<usize>]) -> Vec<Vec<usize>> {
    struct State<'g> {
        graph: &'g [BTreeSet<usize>],
        index: Vec<Option<usize>>,
        low: Vec<usize>,
        on_stack: Vec<bool>,
        stack: Vec<usize>,
        next: usize,
        out: Vec<Vec<usize>>,
    }
    fn visit(s: &mut State<'_>, v: usize) {
        s.index[v] = Some(s.next);
        s.low[v] = s.next;
        s.next += 1;
        s.stack.push(v);
        s.on_stack[v] = true;
        for &w in &s.graph[v] {
            match s.index[w] {
                None => {
                    visit(s, w);
                    s.low[v] = s.low[v].min(s.low[w]);
                }
                Some(iw) if s.on_stack[w] => s.low[v] = s.low[v].min(iw),
                Some(_) => {}
            }
        }
        if Some(s.low[v]) == s.index[v] {
            let mut comp = Vec::new();
            while let Some(w) = s.stack.pop() {
                s.on_stack[w] = false;
                comp.push(w);
                if w == v {
                    break;
                }
            }
            s.out.push(comp);
        }
    }
    let n = graph.len();
    let mut s = State {
        graph,
        index: vec![None; n],
        low: vec![0; n],
        on_stack: vec![false; n],
        stack: Vec::new(),
        next: 0,
        out: Vec::new(),
    };
    for v in 0..n {
        if s.index[v].is_none() {
            visit(&mut s, v);
        }
    }
    s.out
}

#[test]
fn the_checks_see_what_they_must() {
    // The lexer keeps code and strings apart, so a check cannot pass by missing its input.
    let (code, strings) = lex(
        "let a = \"FROM users\"; // contact::Entity::find()\nlet b = r#\"x\"#; let c = 'a'; fn f<'a>() {}",
    );
    assert_eq!(strings, ["FROM users", "x"]);
    assert!(!code.contains("contact::Entity"));
    assert!(code.contains("fn f<'a>()"));
    assert_eq!(
        expand_use("crate::{a::{b, c as d}, e::self, f}"),
        [
            vec!["crate", "a", "b"],
            vec!["crate", "a", "c"],
            vec!["crate", "e"],
            vec!["crate", "f"]
        ]
    );
    let g = vec![
        BTreeSet::from([1]),
        BTreeSet::from([2]),
        BTreeSet::from([0]),
        BTreeSet::new(),
    ];
    let mut sccs: Vec<usize> = strongly_connected(&g).iter().map(Vec::len).collect();
    sccs.sort();
    assert_eq!(sccs, [1, 3]);
}
