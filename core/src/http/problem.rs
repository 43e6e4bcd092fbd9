//! problem+json for every error that reaches the edge: ours through [`Error::problem`], and
//! those poem and poem-openapi raise themselves (unknown routes, wrong methods, parameters and
//! bodies that do not parse), mapped here to the same stable `type`s.

use crate::error::{Error, Problem, problem_response};
use poem::{Response, http::StatusCode};

/// Turns any error that reached the edge (ours, poem's routing errors, poem-openapi's parse
/// errors) into problem+json. Server errors are logged with their cause and answered blandly.
pub fn error_to_response(err: poem::Error, request_id: &str) -> Response {
    let (mut problem, retry) = match err.downcast_ref::<Error>() {
        Some(e) => {
            if e.status().is_server_error() {
                tracing::error!(request_id, error = %e, "request failed");
            }
            let retry = match e {
                Error::TooManyRequests { retry_after } => Some(*retry_after),
                _ => None,
            };
            (e.problem(), retry)
        }
        None => (foreign_problem(&err), None),
    };
    problem.request_id = Some(request_id.to_string());
    problem_response(problem, retry)
}

/// Errors raised by poem and poem-openapi themselves.
fn foreign_problem(err: &poem::Error) -> Problem {
    let text = err.to_string();
    // An id in the path that is not even an id names no resource: 404, like a missing one.
    let status = if text.starts_with("failed to parse path") {
        StatusCode::NOT_FOUND
    } else {
        err.status()
    };
    let (kind, title, detail, field) = match status {
        StatusCode::NOT_FOUND => (
            "not_found",
            "Not found",
            "no such resource or route".to_string(),
            None,
        ),
        StatusCode::METHOD_NOT_ALLOWED => (
            "method_not_allowed",
            "Method not allowed",
            "this route does not accept this method".to_string(),
            None,
        ),
        StatusCode::UNAUTHORIZED => (
            "unauthorized",
            "Unauthorized",
            "missing, invalid or expired credentials".to_string(),
            None,
        ),
        StatusCode::PAYLOAD_TOO_LARGE => (
            "payload_too_large",
            "Payload too large",
            "the request body exceeds the size limit".to_string(),
            None,
        ),
        StatusCode::UNSUPPORTED_MEDIA_TYPE => (
            "unsupported_media_type",
            "Unsupported media type",
            text.clone(),
            None,
        ),
        s if s.is_client_error() => {
            let field = field_in(&text);
            if let Some(name) = parameter_in(&text) {
                // A query, path or header parameter of the wrong type: name it like a body field.
                (
                    "validation_error",
                    "Invalid parameter",
                    text.replace("failed to parse parameter ", "parameter "),
                    Some(name),
                )
            } else if is_body_error(&text) {
                let kind = if text.contains("expected value")
                    || text.contains("EOF while parsing")
                    || text.contains("key must be a string")
                {
                    "malformed_json"
                } else {
                    "validation_error"
                };
                (kind, "Invalid request body", clean(&text), field)
            } else {
                ("bad_request", "Bad request", clean(&text), field)
            }
        }
        _ => {
            tracing::error!(error = %text, "unhandled error");
            (
                "internal_error",
                "Internal server error",
                "the server failed to handle the request; quote the request id".to_string(),
                None,
            )
        }
    };
    let status = if kind == "validation_error" {
        StatusCode::UNPROCESSABLE_ENTITY
    } else {
        status
    };
    Problem {
        kind: kind.into(),
        title: title.into(),
        status: status.as_u16(),
        detail,
        field,
        extra: None,
        request_id: None,
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

fn clean(text: &str) -> String {
    text.replace("parse request payload error: ", "")
        .replace("failed to parse \"", "\"")
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
