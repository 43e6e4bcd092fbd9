//! problem+json for every error that reaches the edge: ours through [`Error::problem`], and
//! those poem and poem-openapi raise themselves (unknown routes, wrong methods, parameters and
//! bodies that do not parse), mapped here to the same stable `type`s.

use crate::{
    error::{Error, problem_response},
    i18n::{Lang, Msg},
    msg,
};
use poem::{Response, http::StatusCode};
use std::{collections::HashMap, sync::OnceLock};

/// Turns any error that reached the edge (ours, poem's routing errors, poem-openapi's parse
/// errors) into problem+json in `lang`. Server errors are logged with their cause and answered
/// blandly.
pub fn error_to_response(err: poem::Error, request_id: &str, lang: Lang) -> Response {
    let allow = match err.downcast_ref::<Error>() {
        Some(Error::MethodNotAllowed { allow: Some(allow) }) => Some(allow.clone()),
        _ => None,
    };
    let (mut problem, retry) = match err.downcast_ref::<Error>() {
        Some(e) => {
            if e.status().is_server_error() {
                tracing::error!(request_id, error = %e, "request failed");
            }
            let retry = match e {
                Error::TooManyRequests { retry_after } => Some(*retry_after),
                _ => None,
            };
            (e.problem_in(lang), retry)
        }
        None => (foreign_error(&err).problem_in(lang), None),
    };
    problem.request_id = Some(request_id.to_string());
    let mut response = problem_response(problem, retry);
    if let Some(allow) = allow.and_then(|a| poem::http::HeaderValue::from_str(&a).ok()) {
        response
            .headers_mut()
            .insert(poem::http::header::ALLOW, allow);
    }
    response
}

/// The enum types of the API's parameters and their values, by schema name, so that a
/// parameter poem-openapi refuses is answered with the values it accepts. Learned once from
/// the API description at startup ([`learn_parameter_enums`]).
static PARAMETER_ENUMS: OnceLock<HashMap<String, Vec<String>>> = OnceLock::new();

/// Records the enum types of the API (from its registry of schemas) for the details of
/// refused parameters. Called once at startup; later calls change nothing.
pub fn learn_parameter_enums(registry: &poem_openapi::registry::Registry) {
    let enums = registry
        .schemas
        .iter()
        .filter(|(_, s)| !s.enum_items.is_empty())
        .map(|(name, s)| {
            let values = s
                .enum_items
                .iter()
                .map(|v| v.as_str().map_or_else(|| v.to_string(), str::to_string))
                .collect();
            (name.clone(), values)
        })
        .collect();
    let _ = PARAMETER_ENUMS.set(enums);
}

/// Errors raised by poem and poem-openapi themselves, as ours: their own messages are never
/// shown (they quote Rust type names); the detail says what the input expects.
fn foreign_error(err: &poem::Error) -> Error {
    let text = err.to_string();
    // An id in the path that is not even an id names no resource: 404, like a missing one.
    if text.starts_with("failed to parse path") {
        return Error::NotFound("resource");
    }
    let status = err.status();
    match status {
        StatusCode::NOT_FOUND => Error::NotFound("resource"),
        StatusCode::METHOD_NOT_ALLOWED => Error::MethodNotAllowed { allow: None },
        StatusCode::UNAUTHORIZED => Error::Unauthorized,
        StatusCode::PAYLOAD_TOO_LARGE => Error::PayloadTooLarge,
        StatusCode::UNSUPPORTED_MEDIA_TYPE => Error::UnsupportedMediaType {
            detail: msg!("send the body in one of the media types this operation documents"),
            field: Some("content-type".into()),
        },
        s if s.is_client_error() => {
            if let Some(name) = parameter_in(&text) {
                // A query, path or header parameter of the wrong type: name it like a body field.
                Error::invalid(name, parameter_detail(&text))
            } else if is_body_error(&text) {
                let field = field_in(&text);
                match field {
                    Some(field) => Error::invalid(field, msg!("not a valid value for this field")),
                    None => Error::MalformedJson {
                        detail: msg!("the body is not well-formed JSON"),
                    },
                }
            } else {
                Error::BadRequest {
                    detail: msg!("the request cannot be read"),
                    field: field_in(&text),
                }
            }
        }
        _ => {
            tracing::error!(error = %text, "unhandled error");
            Error::Internal(text)
        }
    }
}

/// What a refused parameter expects, from the type poem-openapi names in its message
/// (`failed to parse "integer(uint64)": ...`, `Expected input type "VehicleStatus"`,
/// `Type "string" expects an input value`).
fn parameter_detail(text: &str) -> Msg {
    if text.contains("expects an input value") {
        return msg!("required");
    }
    let type_name = text
        .split('"')
        .nth(1)
        .unwrap_or_default()
        .trim_start_matches("Option<")
        .trim_end_matches('>');
    if let Some(values) = PARAMETER_ENUMS.get().and_then(|e| e.get(type_name)) {
        let values = values
            .iter()
            .map(|v| format!("`{v}`"))
            .collect::<Vec<_>>()
            .join(", ");
        return msg!("not an accepted value; one of {values}", values);
    }
    let (ty, format) = match type_name.split_once('(') {
        Some((ty, format)) => (ty, format.trim_end_matches(')')),
        None => (type_name, ""),
    };
    match (ty, format) {
        ("integer", f) if f.starts_with("uint") => msg!("a whole number, 0 or more"),
        ("integer", _) => msg!("a whole number"),
        ("number", _) => msg!("a number"),
        ("boolean", _) => msg!("true or false"),
        ("string", f) if matches!(crate::input::standard(f), "uuid" | "date" | "date-time") => {
            crate::input::formatted(crate::input::standard(f))
        }
        _ => msg!("not a valid value for this parameter"),
    }
}

/// The parameter named by poem-openapi's "failed to parse parameter `x`: ..." message.
fn parameter_in(text: &str) -> Option<String> {
    let rest = text.split("failed to parse parameter `").nth(1)?;
    Some(rest[..rest.find('`')?].to_string())
}

fn is_body_error(text: &str) -> bool {
    text.contains("parse request payload") || text.contains("failed to parse")
}

/// Pulls the offending field out of poem-openapi's messages: "unknown field `x`." or
/// "(field `x`)" or "field `x`".
fn field_in(text: &str) -> Option<String> {
    for marker in ["unknown field `", "field `", "missing field `"] {
        if let Some(start) = text.rfind(marker) {
            let rest = &text[start + marker.len()..];
            if let Some(end) = rest.find('`') {
                return Some(rest[..end].to_string());
            }
        }
    }
    if let Some(start) = text.find("(field ") {
        let rest = &text[start + 7..];
        return rest
            .find(')')
            .map(|e| rest[..e].trim_matches('`').to_string());
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_fields_in_parse_errors() {
        assert_eq!(
            field_in("failed to parse \"X\": unknown field `tenant_id`.").as_deref(),
            Some("tenant_id")
        );
        assert_eq!(
            field_in("failed to parse \"String\" (field `name`)").as_deref(),
            Some("name")
        );
        assert_eq!(field_in("nothing here"), None);
    }
}
