//! The text rules every input goes through: JSON bodies (checked against the same
//! poem-openapi schema that documents them), query strings and paths (checked by the host
//! middleware before any handler), and whatever a module parses itself (inbound leads).
//!
//! Two rules, one place each:
//!
//! * **No control characters** other than tab and line feed; carriage return only in free
//!   text (a field whose documented `maxLength` is at least [`FREE_TEXT_MIN`]), where a
//!   browser's `\r\n` line ends are legitimate. A NUL cannot be stored by PostgreSQL at all,
//!   and the others make no sense in a name, an email or a key.
//! * **A documented maximum**: every string field of a request type carries
//!   `#[oai(validator(max_length = N))]`, which the OpenAPI document shows as `maxLength`, and
//!   [`check_json`] enforces exactly that number, so the document and the check never
//!   disagree. Lengths count Unicode characters (scalar values), not bytes.
//!
//! Both answer 422 `validation_error` naming the exact field (`emails[0]`,
//! `customer.name`, or the query parameter's name), never echoing the offending text.

use crate::{Error, Result};
use poem_openapi::{
    registry::{MetaSchema, MetaSchemaRef, Registry},
    types::Type,
};
use serde_json::Value;
use std::{
    any::TypeId,
    collections::HashMap,
    fmt::Write,
    sync::{Arc, OnceLock, RwLock},
};

/// Fields documented with a `maxLength` of at least this many characters are free text: they
/// may hold carriage returns (`\r\n` line ends) besides tabs and line feeds.
pub const FREE_TEXT_MIN: usize = 500;

/// Refuses the control characters a text may not hold: all of them (C0, DEL, C1) except tab
/// and line feed, and carriage return when `free_text`. `field` names the input in the 422.
pub fn check_text(field: &str, value: &str, free_text: bool) -> Result<()> {
    match value
        .chars()
        .enumerate()
        .find(|(_, c)| forbidden(*c, free_text))
    {
        None => Ok(()),
        Some((at, c)) => Err(Error::invalid(
            field,
            format!(
                "contains the control character U+{:04X} at character {}; only tab and line \
                 feed{} are allowed",
                u32::from(c),
                at + 1,
                if free_text {
                    " (and carriage return)"
                } else {
                    ""
                }
            ),
        )),
    }
}

fn forbidden(c: char, free_text: bool) -> bool {
    c.is_control() && c != '\t' && c != '\n' && !(free_text && c == '\r')
}

/// Refuses a text longer than `max` characters (Unicode scalar values, not bytes).
pub fn check_length(field: &str, value: &str, max: usize) -> Result<()> {
    // `nth` stops counting at the limit: a 1 MB value costs no more than a short one.
    if value.chars().nth(max).is_some() {
        return Err(Error::invalid(
            field,
            format!("at most {max} characters (Unicode characters, not bytes)"),
        ));
    }
    Ok(())
}

/// Checks a parsed JSON document against the text rules and the `maxLength`s of `T`'s
/// OpenAPI schema: every string (and every object key) anywhere in the document is checked
/// for control characters; strings whose schema has a `maxLength` are checked for it. Parts
/// of the document that do not fit the schema are left alone: deserialisation reports them.
pub fn check_json<T: Type + 'static>(value: &Value) -> Result<()> {
    let schemas = schemas_of::<T>();
    let mut path = String::new();
    // Recursion follows the document, whose nesting serde_json already caps (128 levels).
    walk(&schemas.registry, Some(&schemas.root), value, &mut path)
}

/// A type's registered schemas: built once per type, then shared by every request.
struct Schemas {
    registry: Registry,
    root: MetaSchemaRef,
}

type SchemaCache = RwLock<HashMap<TypeId, Arc<Schemas>>>;

fn schemas_of<T: Type + 'static>() -> Arc<Schemas> {
    static CACHE: OnceLock<SchemaCache> = OnceLock::new();
    let cache = CACHE.get_or_init(Default::default);
    let id = TypeId::of::<T>();
    if let Some(found) = cache.read().ok().and_then(|c| c.get(&id).cloned()) {
        return found;
    }
    let mut registry = Registry::new();
    T::register(&mut registry);
    let built = Arc::new(Schemas {
        registry,
        root: T::schema_ref(),
    });
    if let Ok(mut c) = cache.write() {
        c.insert(id, built.clone());
    }
    built
}

/// How many schemas (the schema and its `allOf` parts) are looked at for one value; schemas
/// are small, this only guards against a registry that refers to itself.
const MAX_SCHEMA_HOPS: usize = 16;

/// A schema, through its `$ref` (the registry holds every named schema of the type).
fn resolve<'r>(registry: &'r Registry, schema: &'r MetaSchemaRef) -> Option<&'r MetaSchema> {
    match schema {
        MetaSchemaRef::Inline(s) => Some(s),
        MetaSchemaRef::Reference(name) => registry.schemas.get(name),
    }
}

/// The schema itself, then the parts of its `allOf` (a field whose type is a `$ref` and that
/// adds its own keywords is written `allOf: [$ref, {...}]`), breadth first.
fn parts<'r>(registry: &'r Registry, schema: &'r MetaSchemaRef) -> Vec<&'r MetaSchema> {
    let mut out = Vec::new();
    let mut queue = vec![schema];
    while let Some(next) = queue.pop() {
        if out.len() >= MAX_SCHEMA_HOPS {
            break;
        }
        if let Some(s) = resolve(registry, next) {
            out.push(s);
            queue.extend(s.all_of.iter());
        }
    }
    out
}

fn walk(
    registry: &Registry,
    schema: Option<&MetaSchemaRef>,
    value: &Value,
    path: &mut String,
) -> Result<()> {
    let parts = schema.map(|s| parts(registry, s)).unwrap_or_default();
    match value {
        Value::String(text) => {
            let max = parts.iter().find_map(|s| s.max_length);
            check_text(field(path), text, max.is_some_and(|m| m >= FREE_TEXT_MIN))?;
            if let Some(max) = max {
                check_length(field(path), text, max)?;
            }
            Ok(())
        }
        Value::Array(items) => {
            let item_schema = parts.iter().find_map(|s| s.items.as_deref());
            for (i, item) in items.iter().enumerate() {
                let len = path.len();
                let _ = write!(path, "[{i}]");
                walk(registry, item_schema, item, path)?;
                path.truncate(len);
            }
            Ok(())
        }
        Value::Object(members) => {
            for (key, member) in members {
                let len = path.len();
                if !path.is_empty() {
                    path.push('.');
                }
                if key.chars().any(|c| forbidden(c, false)) {
                    // The key itself is the problem: name it without the character, so the
                    // answer (and any log of it) never carries it.
                    path.extend(key.chars().map(|c| if c.is_control() { '?' } else { c }));
                    return check_text(field(path), key, false);
                }
                path.push_str(key);
                let member_schema = parts.iter().find_map(|s| {
                    s.properties
                        .iter()
                        .find(|(name, _)| *name == key.as_str())
                        .map(|(_, p)| p)
                        .or(s.additional_properties.as_deref())
                });
                walk(registry, member_schema, member, path)?;
                path.truncate(len);
            }
            Ok(())
        }
        Value::Null | Value::Bool(_) | Value::Number(_) => Ok(()),
    }
}

fn field(path: &str) -> &str {
    if path.is_empty() { "body" } else { path }
}

/// Percent-decodes a URL component (`+` is left alone: paths do not use it for spaces).
/// Invalid escapes are kept as written; invalid UTF-8 becomes U+FFFD.
pub fn percent_decode(raw: &str) -> String {
    let bytes = raw.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = |b: u8| (b as char).to_digit(16);
        match (bytes[i], bytes.get(i + 1), bytes.get(i + 2)) {
            (b'%', Some(&h), Some(&l)) if hex(h).is_some() && hex(l).is_some() => {
                let (h, l) = (hex(h).unwrap_or(0), hex(l).unwrap_or(0));
                out.push((h * 16 + l) as u8);
                i += 3;
            }
            (b, _, _) => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Checks a request's path and query string: the decoded path, and every decoded query
/// parameter name and value. A bad value is named by its parameter (a bad name as `query`,
/// a bad path as `path`).
pub fn check_uri(uri: &poem::http::Uri) -> Result<()> {
    check_text("path", &percent_decode(uri.path()), false)?;
    if let Some(query) = uri.query() {
        for pair in query.split('&') {
            let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
            let decode = |s: &str| percent_decode(&s.replace('+', " "));
            let name = decode(name);
            if name.chars().any(|c| forbidden(c, false)) {
                return check_text("query", &name, false);
            }
            check_text(&name, &decode(value), false)?;
        }
    }
    Ok(())
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use poem_openapi::Object;
    use serde_json::json;
    use std::collections::HashMap;

    /// An address.
    #[derive(Object)]
    struct Address {
        /// City.
        #[oai(validator(max_length = 5))]
        city: String,
    }

    /// A kind.
    #[derive(poem_openapi::Enum)]
    enum Kind {
        /// A.
        A,
    }

    /// A body exercising every shape the walker follows.
    #[derive(Object)]
    struct Body {
        /// Name.
        #[oai(validator(max_length = 3))]
        name: String,
        /// Emails.
        #[oai(validator(max_length = 4))]
        emails: Vec<String>,
        /// Nested, by `$ref`.
        address: Option<Address>,
        /// Nested in a list.
        addresses: Vec<Address>,
        /// A map.
        #[oai(validator(max_length = 2))]
        tags: HashMap<String, String>,
        /// Free text.
        #[oai(validator(max_length = 2000))]
        notes: Option<String>,
        /// An enum: no length, still no control characters.
        kind: Option<Kind>,
    }

    fn failing(v: Value) -> Option<(String, String)> {
        match check_json::<Body>(&v) {
            Ok(()) => None,
            Err(Error::Validation { field, detail, .. }) => Some((field, detail)),
            Err(e) => panic!("unexpected {e}"),
        }
    }

    fn field_of(v: Value) -> Option<String> {
        failing(v).map(|(f, _)| f)
    }

    #[test]
    fn lengths_follow_the_schema_through_refs_items_and_maps() {
        assert_eq!(field_of(json!({"name": "abc", "emails": ["abcd"]})), None);
        assert_eq!(field_of(json!({"name": "abcd"})).as_deref(), Some("name"));
        assert_eq!(
            field_of(json!({"emails": ["a", "abcde"]})).as_deref(),
            Some("emails[1]")
        );
        assert_eq!(
            field_of(json!({"address": {"city": "abcdef"}})).as_deref(),
            Some("address.city")
        );
        assert_eq!(
            field_of(json!({"addresses": [{"city": "ok"}, {"city": "abcdef"}]})).as_deref(),
            Some("addresses[1].city")
        );
        assert_eq!(
            field_of(json!({"tags": {"x": "abc"}})).as_deref(),
            Some("tags.x")
        );
    }

    #[test]
    fn lengths_count_characters_not_bytes() {
        // Three characters, nine bytes.
        assert_eq!(field_of(json!({"name": "ééé"})), None);
        assert_eq!(field_of(json!({"name": "éééé"})).as_deref(), Some("name"));
    }

    #[test]
    fn control_characters_are_refused_everywhere_and_named() {
        assert_eq!(
            field_of(json!({"name": "a\u{0}b"})).as_deref(),
            Some("name")
        );
        assert_eq!(
            field_of(json!({"emails": ["a\u{1}"]})).as_deref(),
            Some("emails[0]")
        );
        assert_eq!(
            field_of(json!({"address": {"city": "\u{7f}"}})).as_deref(),
            Some("address.city")
        );
        assert_eq!(field_of(json!({"kind": "A\u{0}"})).as_deref(), Some("kind"));
        assert_eq!(
            field_of(json!({"unknown": "\u{0}"})).as_deref(),
            Some("unknown")
        );
        // C1 controls too.
        assert_eq!(field_of(json!({"name": "\u{85}"})).as_deref(), Some("name"));
        let (field, detail) = failing(json!({"tags": {"a\u{0}": "x"}})).unwrap();
        assert_eq!(field, "tags.a?");
        assert!(detail.contains("U+0000"), "{detail}");
    }

    #[test]
    fn tab_and_newline_pass_carriage_return_only_in_free_text() {
        assert_eq!(field_of(json!({"name": "a\tb"})), None);
        assert_eq!(field_of(json!({"name": "a\nb"})), None);
        assert_eq!(field_of(json!({"name": "a\rb"})).as_deref(), Some("name"));
        assert_eq!(field_of(json!({"notes": "line\r\nline\tx"})), None);
        assert_eq!(
            field_of(json!({"notes": "a\u{0}"})).as_deref(),
            Some("notes")
        );
    }

    #[test]
    fn a_document_that_does_not_fit_the_schema_is_left_to_deserialisation() {
        assert_eq!(
            field_of(json!({"name": 1, "emails": "x", "address": []})),
            None
        );
        assert_eq!(field_of(json!("top\u{0}")).as_deref(), Some("body"));
    }

    #[test]
    fn uris_are_checked_decoded() {
        let uri = |s: &str| s.parse::<poem::http::Uri>().unwrap();
        assert!(check_uri(&uri("/api/v1/search?q=a%20b&limit=5")).is_ok());
        let field = |s: &str| match check_uri(&uri(s)) {
            Err(Error::Validation { field, .. }) => field,
            other => panic!("{other:?}"),
        };
        assert_eq!(field("/api/v1/search?q=a%00b"), "q");
        assert_eq!(field("/api/v1/opportunities?status=new%0D"), "status");
        assert_eq!(field("/api/v1/x%01y"), "path");
        assert_eq!(field("/api/v1/search?a%00=1"), "query");
        assert_eq!(percent_decode("a%C3%A9%zz%4"), "aé%zz%4");
    }
}
