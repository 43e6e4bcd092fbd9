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

use crate::{Error, FieldError, Msg, Result, msg};
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
            match free_text {
                true => msg!(
                    "contains the control character {character} at character {at}; only tab, \
                     line feed and carriage return are allowed",
                    character = format!("U+{:04X}", u32::from(c)),
                    at = at + 1
                ),
                false => msg!(
                    "contains the control character {character} at character {at}; only tab \
                     and line feed are allowed",
                    character = format!("U+{:04X}", u32::from(c)),
                    at = at + 1
                ),
            },
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
            msg!(
                "at most {max} characters (Unicode characters, not bytes)",
                max
            ),
        ));
    }
    Ok(())
}

/// Checks a parsed JSON document against the text rules and `T`'s OpenAPI schema, and
/// answers one 422 naming every field that breaks them (see [`problems`]).
pub fn check_json<T: Type + 'static>(value: &Value) -> Result<()> {
    Error::check(
        problems::<T>(value)
            .into_iter()
            .filter(|p| p.kind != UNKNOWN && p.kind != MISSING)
            .collect(),
    )
}

/// The `kind` of a [`FieldError`] for a member the schema does not document. Whether that is
/// an error depends on the type (most bodies refuse unknown members, a few take any): the
/// caller decides, see [`crate::http::parse_body`].
pub const UNKNOWN: &str = "unknown_field";

/// The `kind` of a [`FieldError`] for a member the schema marks required that the document
/// lacks or sets to null. A type may still take it (a serde default the schema does not
/// show): like [`UNKNOWN`], the caller decides.
pub const MISSING: &str = "missing_field";

/// Every way a parsed JSON document breaks `T`'s OpenAPI schema, in document order: control
/// characters in any string or key, and against the schema that documents the request (the
/// same one clients read): the JSON type of each value, enum values (the detail lists the
/// accepted ones), the `date`, `date-time` and `uuid` formats (the detail shows the expected
/// form with an example), required members, `maxLength`/`minLength`, `minimum`/`maximum`,
/// `minItems`/`maxItems`, and members the schema does not document (kind [`UNKNOWN`]). A
/// value the schema leaves open (`oneOf`, `anyOf`, no type) is left to deserialisation.
pub fn problems<T: Type + 'static>(value: &Value) -> Vec<FieldError> {
    let schemas = schemas_of::<T>();
    let mut walker = Walker {
        registry: &schemas.registry,
        path: String::new(),
        found: Vec::new(),
    };
    // Recursion follows the document, whose nesting serde_json already caps (128 levels).
    walker.walk(Some(&schemas.root), value);
    walker.found
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

struct Walker<'r> {
    registry: &'r Registry,
    path: String,
    found: Vec<FieldError>,
}

impl Walker<'_> {
    fn fail(&mut self, kind: &'static str, detail: Msg) {
        self.found.push(FieldError {
            field: field(&self.path).to_string(),
            kind,
            detail,
        });
    }

    fn invalid(&mut self, detail: Msg) {
        self.fail("validation_error", detail);
    }

    /// Pushes the result of one of the text checks.
    fn text(&mut self, checked: Result<()>) {
        if let Err(e) = checked {
            self.found.extend(e.field_errors());
        }
    }

    fn walk(&mut self, schema: Option<&MetaSchemaRef>, value: &Value) {
        let parts = schema.map(|s| parts(self.registry, s)).unwrap_or_default();
        // A value the schema leaves open is deserialisation's to judge.
        let open = parts
            .iter()
            .any(|s| !s.one_of.is_empty() || !s.any_of.is_empty());
        // `str::is_empty`: poem-openapi's `Type` (in scope) has an `is_empty` of its own for `&str`.
        let ty = parts.iter().map(|s| s.ty).find(|t| !str::is_empty(t));
        if !open && let Some(ty) = ty {
            if !value.is_null() && !fits(ty, value) {
                return self.invalid(expected(ty, &parts));
            }
            let values: Vec<&Value> = parts.iter().flat_map(|s| &s.enum_items).collect();
            if !values.is_empty() && !value.is_null() && !values.contains(&value) {
                return self.invalid(one_of(&values));
            }
        }
        let alternatives: Vec<&MetaSchemaRef> = parts.iter().flat_map(|s| &s.any_of).collect();
        if !alternatives.is_empty() && !value.is_null() && !self.fits_one(&alternatives, value) {
            return self.invalid(expected_of_any(self.registry, &alternatives));
        }
        match value {
            Value::String(text) => self.string(&parts, text, open),
            Value::Number(n) => self.number(&parts, n),
            Value::Array(items) => {
                if let Some(min) = parts.iter().find_map(|s| s.min_items)
                    && items.len() < min
                {
                    self.invalid(msg!("at least {min} items", min));
                }
                if let Some(max) = parts.iter().find_map(|s| s.max_items)
                    && items.len() > max
                {
                    self.invalid(msg!("at most {max} items", max));
                }
                let item_schema = parts.iter().find_map(|s| s.items.as_deref());
                for (i, item) in items.iter().enumerate() {
                    let len = self.path.len();
                    let _ = write!(self.path, "[{i}]");
                    self.walk(item_schema, item);
                    self.path.truncate(len);
                }
            }
            Value::Object(members) => self.object(&parts, members, open),
            Value::Null | Value::Bool(_) => {}
        }
    }

    /// Whether `value` is valid under one of the `anyOf` alternatives.
    fn fits_one(&self, alternatives: &[&MetaSchemaRef], value: &Value) -> bool {
        alternatives.iter().any(|alt| {
            let mut trial = Walker {
                registry: self.registry,
                path: self.path.clone(),
                found: Vec::new(),
            };
            trial.walk(Some(alt), value);
            trial.found.is_empty()
        })
    }

    fn string(&mut self, parts: &[&MetaSchema], text: &str, open: bool) {
        let max = parts.iter().find_map(|s| s.max_length);
        let free = max.is_some_and(|m| m >= FREE_TEXT_MIN);
        self.text(check_text(field(&self.path), text, free));
        if let Some(max) = max {
            self.text(check_length(field(&self.path), text, max));
        }
        if let Some(min) = parts.iter().find_map(|s| s.min_length)
            && text.chars().count() < min
        {
            self.invalid(msg!("at least {min} characters", min));
        }
        if open {
            return;
        }
        let format = parts.iter().find_map(|s| s.format).map(standard);
        let well_formed = match format {
            Some("date") => chrono::NaiveDate::parse_from_str(text, "%Y-%m-%d").is_ok(),
            Some("date-time") => chrono::DateTime::parse_from_rfc3339(text).is_ok(),
            Some("uuid") => uuid::Uuid::parse_str(text).is_ok(),
            _ => true,
        };
        if !well_formed && let Some(format) = format {
            self.invalid(formatted(format));
        }
    }

    fn number(&mut self, parts: &[&MetaSchema], n: &serde_json::Number) {
        let Some(value) = n.as_f64() else { return };
        let bound = |f: fn(&MetaSchema) -> Option<f64>| parts.iter().find_map(|s| f(s));
        let unsigned = parts
            .iter()
            .any(|s| s.format.is_some_and(|f| f.starts_with("uint")));
        let min = bound(|s| s.minimum).or(unsigned.then_some(0.0));
        if let Some(min) = min
            && value < min
        {
            self.invalid(msg!("at least {min}", min));
        }
        if let Some(max) = bound(|s| s.maximum)
            && value > max
        {
            self.invalid(msg!("at most {max}", max));
        }
    }

    fn object(
        &mut self,
        parts: &[&MetaSchema],
        members: &serde_json::Map<String, Value>,
        open: bool,
    ) {
        let documented = parts.iter().any(|s| !s.properties.is_empty());
        let takes_any = parts.iter().any(|s| s.additional_properties.is_some());
        for (key, member) in members {
            let len = self.path.len();
            if !self.path.is_empty() {
                self.path.push('.');
            }
            if key.chars().any(|c| forbidden(c, false)) {
                // The key itself is the problem: name it without the character, so the
                // answer (and any log of it) never carries it.
                self.path
                    .extend(key.chars().map(|c| if c.is_control() { '?' } else { c }));
                let checked = check_text(field(&self.path), key, false);
                self.text(checked);
                self.path.truncate(len);
                continue;
            }
            self.path.push_str(key);
            let member_schema = parts.iter().find_map(|s| {
                s.properties
                    .iter()
                    .find(|(name, _)| *name == key.as_str())
                    .map(|(_, p)| p)
                    .or(s.additional_properties.as_deref())
            });
            if member_schema.is_none() && documented && !takes_any && !open {
                self.fail(UNKNOWN, msg!("not a field of this body"));
            }
            self.walk(member_schema, member);
            self.path.truncate(len);
        }
        if open {
            return;
        }
        for required in parts.iter().flat_map(|s| &s.required) {
            if members.get(*required).is_none_or(Value::is_null) {
                let len = self.path.len();
                if !self.path.is_empty() {
                    self.path.push('.');
                }
                self.path.push_str(required);
                self.fail(MISSING, msg!("required"));
                self.path.truncate(len);
            }
        }
    }
}

/// Whether a JSON value has the schema's type.
fn fits(ty: &str, value: &Value) -> bool {
    match ty {
        "string" => value.is_string(),
        "integer" => value.is_i64() || value.is_u64(),
        "number" => value.is_number(),
        "boolean" => value.is_boolean(),
        "array" => value.is_array(),
        "object" => value.is_object(),
        _ => true,
    }
}

/// What a value of the schema looks like, for a value of the wrong JSON type.
pub fn expected(ty: &str, parts: &[&MetaSchema]) -> Msg {
    let values: Vec<&Value> = parts.iter().flat_map(|s| &s.enum_items).collect();
    if !values.is_empty() {
        return one_of(&values);
    }
    if let Some(format) = parts.iter().find_map(|s| s.format).map(standard)
        && matches!(format, "date" | "date-time" | "uuid")
    {
        return formatted(format);
    }
    match ty {
        "string" => msg!("a text (a JSON string)"),
        "integer" => msg!("a whole number"),
        "number" => msg!("a number"),
        "boolean" => msg!("true or false"),
        "array" => msg!("a list (a JSON array)"),
        _ => msg!("an object with named fields"),
    }
}

/// What a value of one of several schemas looks like: a date or an instant (the one
/// `anyOf` the API writes, for deadlines), else the generic word.
fn expected_of_any(registry: &Registry, alternatives: &[&MetaSchemaRef]) -> Msg {
    let mut formats: Vec<&str> = alternatives
        .iter()
        .filter_map(|alt| resolve(registry, alt).and_then(|s| s.format).map(standard))
        .collect();
    formats.sort_unstable();
    match formats.as_slice() {
        ["date", "date-time"] => msg!(
            "a date written YYYY-MM-DD or a date and time in RFC 3339 form, for example \
             2026-12-31 or 2026-12-31T17:30:00+01:00"
        ),
        _ => msg!("not a valid value for this field"),
    }
}

/// The OpenAPI name of a format poem-openapi names its own way (`naive-date` is a `date`).
pub fn standard(format: &str) -> &str {
    match format {
        "naive-date" => "date",
        other => other,
    }
}

/// The form a `date`, `date-time` or `uuid` value takes, with an example.
pub fn formatted(format: &str) -> Msg {
    match format {
        "date" => msg!("a date written YYYY-MM-DD, for example 2026-12-31"),
        "date-time" => msg!(
            "a date and time in RFC 3339 form with its offset, for example \
             2026-12-31T17:30:00+01:00"
        ),
        "uuid" => msg!("an id (a UUID, for example 0190f5a2-8c1e-7b3a-9d4e-2f6a1b3c4d5e)"),
        _ => msg!("a value in the documented format"),
    }
}

/// The accepted values of an enum.
fn one_of(values: &[&Value]) -> Msg {
    let list = values
        .iter()
        .map(|v| match v {
            Value::String(s) => format!("`{s}`"),
            other => format!("`{other}`"),
        })
        .collect::<Vec<_>>()
        .join(", ");
    msg!("not an accepted value; one of {values}", values = list)
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

/// A name or value of a query string, decoded (`+` is a space there, unlike in a path).
pub fn decode_query_component(raw: &str) -> String {
    percent_decode(&raw.replace('+', " "))
}

/// Checks a request's path and query string: the decoded path, and every decoded query
/// parameter name and value. A bad value is named by its parameter (a bad name as `query`,
/// a bad path as `path`).
pub fn check_uri(uri: &poem::http::Uri) -> Result<()> {
    check_text("path", &percent_decode(uri.path()), false)?;
    if let Some(query) = uri.query() {
        for pair in query.split('&') {
            let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
            let name = decode_query_component(name);
            if name.chars().any(|c| forbidden(c, false)) {
                return check_text("query", &name, false);
            }
            check_text(&name, &decode_query_component(value), false)?;
        }
    }
    Ok(())
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests;
