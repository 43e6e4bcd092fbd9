//! JSON request bodies: parsed by serde so that a problem names the exact offending field,
//! after their text is checked against the schema that documents them ([`crate::input`]).

use crate::{Error, FieldError, Msg, msg};
use poem::Request;
use poem_openapi::types::Type;

/// A JSON request body parsed by serde, so that a problem names the exact offending field
/// (`company.name`, `licence`, `tenant_id`), which poem-openapi's own `Json` cannot do. The
/// type's `Object` derive documents it; its `Deserialize` derive (with
/// `deny_unknown_fields`) parses it. Before that, its text is checked against the documented
/// schema: the `maxLength` of every string field (in characters, not bytes) and the
/// control-character rule of [`crate::input`], each a 422 `validation_error` naming the field.
#[derive(Debug, Clone)]
pub struct JsonBody<T>(pub T);

impl<T> std::ops::Deref for JsonBody<T> {
    type Target = T;
    fn deref(&self) -> &T {
        &self.0
    }
}

/// Parses a JSON document into `T`, turning serde's error into a 4xx problem with the path.
///
/// Well-formedness is checked first, on its own: only a document that is not JSON at all
/// (unbalanced braces, trailing garbage, a cut-off body) is a 400 `malformed_json`. serde_json
/// also files a value of the wrong JSON type for an enum (`{"kind": 1}`: "expected value")
/// and a number beyond `f64` (`1e400`: "number out of range") as syntax errors, although the
/// client sent valid JSON and the path of the offending field is known: those are 422s naming
/// the field, and for an enum the detail lists the accepted values. No detail quotes serde:
/// each says in the catalogue's words what the field expects.
pub fn parse_json<T: serde::de::DeserializeOwned>(bytes: &[u8]) -> crate::Result<T> {
    well_formed(bytes)?;
    typed(bytes, &|_| None)
}

/// The 400 for a body that is empty or not JSON at all, saying where it breaks.
fn well_formed(bytes: &[u8]) -> crate::Result<()> {
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Err(Error::BadRequest {
            detail: msg!("a JSON body is required"),
            field: None,
        });
    }
    // `IgnoredAny` scans numbers without converting them, so `1e400` passes here.
    serde_json::from_slice::<serde::de::IgnoredAny>(bytes)
        .map(|_| ())
        .map_err(|e| malformed(&e))
}

fn malformed(e: &serde_json::Error) -> Error {
    Error::MalformedJson {
        detail: msg!(
            "the body is not well-formed JSON: it breaks at line {line}, column {column}",
            line = e.line(),
            column = e.column()
        ),
    }
}

/// What the schema says a field expects, by its path, for the details of serde's refusals.
type Expects<'a> = &'a dyn Fn(&str) -> Option<Msg>;

/// Deserialises a document known to be well-formed JSON into `T`; a value serde refuses is a
/// 422 naming its path (see [`parse_json`]), its detail from `expects` where the schema knows
/// the field, else from the kind of refusal.
fn typed<T: serde::de::DeserializeOwned>(bytes: &[u8], expects: Expects) -> crate::Result<T> {
    let mut de = serde_json::Deserializer::from_slice(bytes);
    let value = serde_path_to_error::deserialize(&mut de).map_err(|e| {
        let place = place_of(e.path());
        let path = display_path(&place);
        let accepted = accepted_values::<T>(bytes, &place);
        let text = e.into_inner().to_string();
        // For a missing or unknown field serde reports the parent's path; name the field itself.
        let quoted = |marker: &str| {
            let rest = &text[text.find(marker)? + marker.len()..];
            Some(rest[..rest.find('`')?].to_string())
        };
        let (named, detail) = if let Some(f) = quoted("missing field `") {
            (Some(f), msg!("required"))
        } else if let Some(f) = quoted("unknown field `") {
            (Some(f), msg!("not a field of this body"))
        } else if let Some(values) = accepted.or_else(|| variants(&text)) {
            (None, msg!("not an accepted value; one of {values}", values))
        } else if text.starts_with("number out of range") {
            (None, msg!("a number out of range for this field"))
        } else if let Some(expected) = expects(&path) {
            (None, expected)
        } else if text.starts_with("invalid type") || text.starts_with("expected value") {
            (None, msg!("a value of the wrong type for this field"))
        } else {
            (None, msg!("not a valid value for this field"))
        };
        let field = match (named, path.as_str()) {
            (Some(f), "." | "") => f,
            (Some(f), p) if p == f || p.ends_with(&format!(".{f}")) => p.to_string(),
            (Some(f), parent) => format!("{parent}.{f}"),
            (None, p) => p.to_string(),
        };
        Error::Validation {
            kind: "validation_error",
            field,
            detail,
        }
    })?;
    de.end().map_err(|e| malformed(&e))?;
    Ok(value)
}

/// The variants serde lists for an unknown one ("unknown variant `x`, expected one of `a`,
/// `b`" or "expected `a` or `b`"), as the catalogue's list: "`a`, `b`".
fn variants(text: &str) -> Option<String> {
    let rest = text.split_once("unknown variant `")?.1;
    let list = rest.split_once("expected ")?.1;
    let list = list.strip_prefix("one of ").unwrap_or(list);
    Some(list.replace(" or ", ", "))
}

/// Parses a JSON body into `T` after checking it against `T`'s own OpenAPI schema
/// ([`crate::input::problems`]): every field the schema refuses (wrong type, value outside an
/// enum, malformed date, missing, too long, a control character...) is named in one 422, not
/// only the first. The check runs on any well-formed document before deserialisation, so that
/// no error detail ever carries a NUL into an answer or a stored log. Members the schema does
/// not document are refused when the type refuses them (serde says so), all of them at once.
pub fn parse_body<T: Type + serde::de::DeserializeOwned + 'static>(
    bytes: &[u8],
) -> crate::Result<T> {
    let value = match serde_json::from_slice::<serde_json::Value>(bytes) {
        // Parsing it proved the document well-formed: no second scan before deserialising.
        Ok(value) => value,
        // Malformed, or holding a number no `Value` can (`1e400`): `parse_json` tells.
        Err(_) => return parse_json(bytes),
    };
    let problems = crate::input::problems::<T>(&value);
    let expects = |path: &str| {
        problems
            .iter()
            .find(|p| p.field == path)
            .map(|p| p.detail.clone())
    };
    let parsed = typed::<T>(bytes, &expects);
    use crate::input::{MISSING, UNKNOWN};
    let (tentative, mut invalid): (Vec<_>, Vec<_>) = problems
        .iter()
        .cloned()
        .partition(|p| p.kind == UNKNOWN || p.kind == MISSING);
    match parsed {
        Ok(v) if invalid.is_empty() => Ok(v),
        // The type takes what its schema does not show (unknown members, serde defaults):
        // only the schema's other refusals stand.
        Ok(_) => Err(Error::Invalid(invalid)),
        Err(e) => {
            // serde refused an unknown or a missing member: the type refuses that kind, so
            // every member of that kind the schema found is named, not only serde's first.
            let refused = e.field_errors();
            for kind in [UNKNOWN, MISSING] {
                let confirmed = tentative
                    .iter()
                    .any(|t| t.kind == kind && refused.iter().any(|r| r.field == t.field));
                if confirmed {
                    invalid.extend(tentative.iter().filter(|t| t.kind == kind).map(|t| {
                        FieldError {
                            kind: "validation_error",
                            ..t.clone()
                        }
                    }));
                }
            }
            match invalid.is_empty() {
                true => Err(e),
                false => Err(Error::Invalid(invalid)),
            }
        }
    }
}

/// Where in the document the error is: the path up to an enum, when serde went inside one
/// (`{"kind": {"person": true}}` fails at `kind.person`, but the value to fix is `kind`).
fn place_of(path: &serde_path_to_error::Path) -> Vec<&serde_path_to_error::Segment> {
    path.iter()
        .take_while(|s| !matches!(s, serde_path_to_error::Segment::Enum { .. }))
        .collect()
}

/// A path as problems name fields: `addresses[0].type`; `.` for the document itself.
fn display_path(place: &[&serde_path_to_error::Segment]) -> String {
    use serde_path_to_error::Segment;
    let mut out = String::new();
    for segment in place {
        match segment {
            Segment::Seq { index } => out.push_str(&format!("[{index}]")),
            Segment::Map { key } if out.is_empty() => out.push_str(key),
            Segment::Map { key } => {
                out.push('.');
                out.push_str(key);
            }
            Segment::Enum { variant } => {
                out.push('.');
                out.push_str(variant);
            }
            Segment::Unknown => out.push_str(if out.is_empty() { "?" } else { ".?" }),
        }
    }
    if out.is_empty() { ".".to_string() } else { out }
}

/// The values an enum at `place` accepts, as serde words them ("expected one of `person`,
/// `company`"), found by putting a string no variant has at that place and parsing again:
/// serde's derive then lists the variants. `None` when the value there is not an enum (or the
/// document cannot be held as a `serde_json::Value`, e.g. because of `1e400`).
fn accepted_values<T: serde::de::DeserializeOwned>(
    bytes: &[u8],
    place: &[&serde_path_to_error::Segment],
) -> Option<String> {
    use serde_path_to_error::Segment;
    const PROBE: &str = "__no_such_variant__";
    let mut doc: serde_json::Value = serde_json::from_slice(bytes).ok()?;
    let mut slot = &mut doc;
    for segment in place {
        slot = match segment {
            Segment::Seq { index } => slot.get_mut(*index)?,
            Segment::Map { key } => slot.get_mut(key.as_str())?,
            Segment::Enum { .. } | Segment::Unknown => return None,
        };
    }
    if slot.is_string() {
        // A string that is no variant already carries serde's list in its own message.
        return None;
    }
    *slot = serde_json::Value::String(PROBE.into());
    let err = serde_path_to_error::deserialize::<_, T>(doc).err()?;
    if display_path(&place_of(err.path())) != display_path(place) {
        return None;
    }
    let text = err.into_inner().to_string();
    variants(&text)
}

impl<T: Type + serde::de::DeserializeOwned + 'static> poem_openapi::payload::Payload
    for JsonBody<T>
{
    const CONTENT_TYPE: &'static str = "application/json; charset=utf-8";

    fn check_content_type(content_type: &str) -> bool {
        content_type.split(';').next().is_some_and(|m| {
            let m = m.trim();
            m.eq_ignore_ascii_case("application/json") || m.ends_with("+json")
        })
    }

    fn schema_ref() -> poem_openapi::registry::MetaSchemaRef {
        T::schema_ref()
    }

    fn register(registry: &mut poem_openapi::registry::Registry) {
        T::register(registry);
    }
}

impl<T: Type + serde::de::DeserializeOwned + 'static> poem_openapi::payload::ParsePayload
    for JsonBody<T>
{
    const IS_REQUIRED: bool = true;

    async fn from_request(request: &Request, body: &mut poem::RequestBody) -> poem::Result<Self> {
        use poem::FromRequest;
        let data = Vec::<u8>::from_request(request, body).await?;
        Ok(Self(parse_body(&data)?))
    }
}

impl<'a, T: Type + serde::de::DeserializeOwned + 'static> poem_openapi::ApiExtractor<'a>
    for JsonBody<T>
{
    const TYPES: &'static [poem_openapi::ApiExtractorType] =
        &[poem_openapi::ApiExtractorType::RequestObject];
    type ParamType = ();
    type ParamRawType = ();

    fn register(registry: &mut poem_openapi::registry::Registry) {
        <Self as poem_openapi::payload::Payload>::register(registry);
    }

    fn request_meta() -> Option<poem_openapi::registry::MetaRequest> {
        use poem_openapi::payload::Payload;
        Some(poem_openapi::registry::MetaRequest {
            description: None,
            content: vec![poem_openapi::registry::MetaMediaType {
                content_type: Self::CONTENT_TYPE,
                schema: Self::schema_ref(),
            }],
            required: empty_as::<T>().is_none(),
        })
    }

    async fn from_request(
        request: &'a Request,
        body: &mut poem::RequestBody,
        _opts: poem_openapi::ExtractParamOptions<()>,
    ) -> poem::Result<Self> {
        use poem_openapi::payload::Payload;
        let data = <Vec<u8> as poem::FromRequest>::from_request(request, body).await?;
        if data.iter().all(u8::is_ascii_whitespace)
            && let Some(empty) = empty_as::<T>()
        {
            return Ok(Self(empty));
        }
        match request.content_type() {
            Some(ct) if Self::check_content_type(ct) => Ok(Self(parse_body(&data)?)),
            _ => Err(Error::Validation {
                kind: "unsupported_media_type",
                field: "content-type".into(),
                detail: msg!("send the body as application/json"),
            }
            .into()),
        }
    }
}

/// The one rule for bodies whose fields are all optional: no body (or a blank one, with or
/// without a `Content-Type`) means `{}`. `Some` for such a `T`, which is also documented as
/// an optional request body; `None` when `T` needs something.
fn empty_as<T: serde::de::DeserializeOwned>() -> Option<T> {
    serde_json::from_slice(b"{}").ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(serde::Deserialize, Debug)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Inner {
        name: String,
    }

    #[derive(serde::Deserialize, Debug)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Outer {
        tier: crate::access::Tier,
        inner: Inner,
    }

    fn field(json: &str) -> Option<String> {
        match parse_json::<Outer>(json.as_bytes()).unwrap_err() {
            Error::Validation { field, .. } => Some(field),
            _ => None,
        }
    }

    #[test]
    fn problems_name_the_exact_field() {
        assert_eq!(
            field(r#"{"tier":"gold","inner":{"name":"x"}}"#).as_deref(),
            Some("tier")
        );
        assert_eq!(
            field(r#"{"tier":"go","inner":{}}"#).as_deref(),
            Some("inner.name")
        );
        assert_eq!(
            field(r#"{"tier":"go","inner":{"name":1}}"#).as_deref(),
            Some("inner.name")
        );
        assert_eq!(
            field(r#"{"tier":"go","inner":{"name":"x"},"tenant_id":1}"#).as_deref(),
            Some("tenant_id")
        );
        assert_eq!(field(r#"{"inner":{"name":"x"}}"#).as_deref(), Some("tier"));
        assert!(matches!(
            parse_json::<Outer>(b"{\"tier\":"),
            Err(Error::MalformedJson { .. })
        ));
        assert!(matches!(
            parse_json::<Outer>(b""),
            Err(Error::BadRequest { .. })
        ));
    }

    #[derive(serde::Deserialize, Debug)]
    #[allow(dead_code)]
    struct Numbers {
        tiers: Vec<crate::access::Tier>,
        tier: Option<crate::access::Tier>,
        rate: Option<f64>,
    }

    fn problem(json: &str) -> (String, String) {
        match parse_json::<Numbers>(json.as_bytes()).unwrap_err() {
            Error::Validation { field, detail, .. } => (field, detail.to_string()),
            other => panic!("not a validation error: {other:?}"),
        }
    }

    #[test]
    fn wrong_json_types_on_enums_name_the_field_and_the_values() {
        let (field, detail) = problem(r#"{"tiers":[],"tier":1}"#);
        assert_eq!(field, "tier");
        assert!(
            detail.contains("`go`") && detail.contains("`expert`"),
            "{detail}"
        );
        let (field, detail) = problem(r#"{"tiers":["go",{"x":1}],"tier":null}"#);
        assert_eq!(field, "tiers[1]");
        assert!(detail.contains("`expert`"), "{detail}");
        let (field, detail) = problem(r#"{"tiers":[true]}"#);
        assert_eq!(field, "tiers[0]");
        assert!(detail.contains("`go`"), "{detail}");
    }

    #[test]
    fn out_of_range_numbers_are_invalid_not_malformed() {
        let (field, detail) = problem(r#"{"tiers":[],"rate":1e400}"#);
        assert_eq!(field, "rate");
        assert!(detail.contains("out of range"), "{detail}");
    }

    #[test]
    fn broken_documents_stay_malformed() {
        for doc in [
            r#"{"tiers":[]"#,
            r#"{"tiers":[]}}"#,
            r#"{"tiers":[]} x"#,
            r#"{"tiers":[1,]}"#,
            r#"{tiers:[]}"#,
        ] {
            assert!(
                matches!(
                    parse_json::<Numbers>(doc.as_bytes()),
                    Err(Error::MalformedJson { .. })
                ),
                "{doc}"
            );
        }
    }
}
