//! The one error type of the host, the problem document it becomes, and that document's
//! rendering as an HTTP response. This file depends on no other file of the crate, so the
//! HTTP layer (which turns errors that reach the edge into problems) can use it freely.

use crate::{
    i18n::{Lang, Msg, Term},
    msg,
};
use poem::http::{HeaderValue, StatusCode, header};
use serde::Serialize;

/// `Result` with the host's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Everything that can go wrong in a request. Each client variant maps to a stable
/// snake_case problem `type`; server variants reveal nothing to the client and are logged.
/// Every text a client reads is a [`Msg`]: written in English, answered in the caller's
/// language ([`crate::i18n`]).
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// 400: the request cannot be parsed (malformed JSON, wrong parameter type).
    #[error("{detail}")]
    BadRequest { detail: Msg, field: Option<String> },
    /// 400 `malformed_json`: the body is not JSON at all (unbalanced, cut off, trailing
    /// garbage). A well-formed document with a wrong value is a 422 [`Error::Validation`].
    #[error("{detail}")]
    MalformedJson { detail: Msg },
    /// 401: no credentials, or credentials that do not identify anyone. Deliberately vague.
    #[error("authentication required")]
    Unauthorized,
    /// 403 with a stable `type`, e.g. `forbidden`, `tenant_suspended`, `module_disabled`.
    #[error("{detail}")]
    Forbidden {
        kind: &'static str,
        detail: Msg,
        extra: Option<serde_json::Value>,
    },
    /// 404: missing, or belonging to someone else: the two are indistinguishable on purpose.
    /// The word names the kind of record (`"contact"`); the catalogues translate it.
    #[error("{0} not found")]
    NotFound(&'static str),
    /// 409: the request conflicts with the current state (duplicate email, last admin...).
    #[error("{detail}")]
    Conflict {
        kind: &'static str,
        detail: Msg,
        field: Option<String>,
    },
    /// 409: the record cannot be deleted while others refer to it; `used_by` counts the
    /// referring records per kind (`{"connectors": 1, "opportunities": 3}`), sent as the
    /// problem's `used_by` member so the client can say what to change first, and their sum
    /// as `count`.
    #[error("{detail}")]
    InUse {
        kind: &'static str,
        detail: Msg,
        used_by: std::collections::BTreeMap<String, u64>,
    },
    /// 405: the path exists, not with this method; `allow` lists the methods it takes (the
    /// answer's `Allow` header), when known.
    #[error("method not allowed")]
    MethodNotAllowed { allow: Option<String> },
    /// 412: `If-Match` did not match the current ETag.
    #[error("the resource was changed since it was read")]
    PreconditionFailed,
    /// 413: body larger than the limit.
    #[error("request body too large")]
    PayloadTooLarge,
    /// 415: a body of a type this route does not take; `field` names the header or part.
    #[error("{detail}")]
    UnsupportedMediaType { detail: Msg, field: Option<String> },
    /// 422: the input parsed but is invalid; names the offending field.
    #[error("{field}: {detail}")]
    Validation {
        kind: &'static str,
        field: String,
        detail: Msg,
    },
    /// 422 naming every invalid field of a body at once (the problem's `errors`, the first
    /// also as `field`). Never empty.
    #[error("{} invalid fields", .0.len())]
    Invalid(Vec<FieldError>),
    /// 422 with problem-specific members beside `field` (e.g. `transition_not_allowed` with
    /// the `allowed` keys, `required_fields_missing` with `fields`), so a client can act on the
    /// refusal without parsing its text.
    #[error("{field}: {detail}")]
    Refused {
        kind: &'static str,
        field: String,
        detail: Msg,
        extra: serde_json::Value,
    },
    /// 429: too many attempts; `retry_after` in seconds.
    #[error("too many attempts")]
    TooManyRequests { retry_after: u64 },
    /// 500: the database failed.
    #[error("database error: {0}")]
    Db(sea_orm::DbErr),
    /// 500: anything else internal.
    #[error("internal error: {0}")]
    Internal(String),
}

/// One invalid field of a 422: an item of the problem's `errors`.
#[derive(Debug, Clone, PartialEq)]
pub struct FieldError {
    /// The field's path in the body (`emails[1]`, `address.city`) or the parameter's name.
    pub field: String,
    /// The stable problem type of this field's error (`validation_error`...).
    pub kind: &'static str,
    /// What is wrong and what is expected.
    pub detail: Msg,
}

impl Error {
    /// A 422 `validation_error` on one field.
    pub fn invalid(field: impl Into<String>, detail: Msg) -> Self {
        Error::Validation {
            kind: "validation_error",
            field: field.into(),
            detail,
        }
    }

    /// A 403 `forbidden` saying which permission is missing.
    pub fn forbidden(detail: Msg) -> Self {
        Error::Forbidden {
            kind: "forbidden",
            detail,
            extra: None,
        }
    }

    /// A 409 with a stable type.
    pub fn conflict(kind: &'static str, detail: Msg) -> Self {
        Error::Conflict {
            kind,
            detail,
            field: None,
        }
    }

    /// Wraps any internal failure; the text is logged, never sent.
    pub fn internal(e: impl std::fmt::Display) -> Self {
        Error::Internal(e.to_string())
    }

    /// The 422 for the invalid fields found, or `Ok` when there are none: validators collect
    /// every problem of a body before answering.
    pub fn check(errors: Vec<FieldError>) -> Result<()> {
        match errors.len() {
            0 => Ok(()),
            _ => Err(Error::Invalid(errors)),
        }
    }

    /// The invalid fields this error names: one for a 422 on one field, all of them for
    /// [`Error::Invalid`], none for any other error.
    pub fn field_errors(&self) -> Vec<FieldError> {
        match self {
            Error::Validation {
                kind,
                field,
                detail,
            }
            | Error::Refused {
                kind,
                field,
                detail,
                ..
            } => vec![FieldError {
                field: field.clone(),
                kind,
                detail: detail.clone(),
            }],
            Error::Invalid(errors) => errors.clone(),
            _ => Vec::new(),
        }
    }

    /// The HTTP status of this error.
    pub fn status(&self) -> StatusCode {
        match self {
            Error::BadRequest { .. } | Error::MalformedJson { .. } => StatusCode::BAD_REQUEST,
            Error::Unauthorized => StatusCode::UNAUTHORIZED,
            Error::Forbidden { .. } => StatusCode::FORBIDDEN,
            Error::NotFound(_) => StatusCode::NOT_FOUND,
            Error::Conflict { .. } | Error::InUse { .. } => StatusCode::CONFLICT,
            Error::MethodNotAllowed { .. } => StatusCode::METHOD_NOT_ALLOWED,
            Error::PreconditionFailed => StatusCode::PRECONDITION_FAILED,
            Error::PayloadTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            Error::UnsupportedMediaType { .. } => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            Error::Validation { .. } | Error::Invalid(_) | Error::Refused { .. } => {
                StatusCode::UNPROCESSABLE_ENTITY
            }
            Error::TooManyRequests { .. } => StatusCode::TOO_MANY_REQUESTS,
            Error::Db(_) | Error::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// The RFC 9457 body for this error in English (what logs and stored records carry).
    pub fn problem(&self) -> Problem {
        self.problem_in(Lang::En)
    }

    /// The RFC 9457 body for this error, its `title` and `detail` in `lang`; `type` and
    /// `field` are the same in every language. Server errors say nothing about their cause.
    pub fn problem_in(&self, lang: Lang) -> Problem {
        let (kind, title, detail, field, extra): (&str, Msg, Msg, Option<String>, _) = match self {
            Error::BadRequest { detail, field } => (
                "bad_request",
                msg!("Bad request"),
                detail.clone(),
                field.clone(),
                None,
            ),
            Error::MalformedJson { detail } => (
                "malformed_json",
                msg!("Malformed JSON"),
                detail.clone(),
                None,
                None,
            ),
            Error::Unauthorized => (
                "unauthorized",
                msg!("Unauthorized"),
                msg!("missing, invalid or expired credentials"),
                None,
                None,
            ),
            Error::Forbidden {
                kind,
                detail,
                extra,
            } => (kind, msg!("Forbidden"), detail.clone(), None, extra.clone()),
            Error::NotFound(what) => (
                "not_found",
                msg!("Not found"),
                msg!("{what} not found").with_term("what", Term(what)),
                None,
                None,
            ),
            Error::Conflict {
                kind,
                detail,
                field,
            } => (kind, msg!("Conflict"), detail.clone(), field.clone(), None),
            Error::InUse {
                kind,
                detail,
                used_by,
            } => (
                kind,
                msg!("Conflict"),
                detail.clone(),
                None,
                Some(serde_json::json!({
                    "used_by": used_by,
                    "count": used_by.values().sum::<u64>(),
                })),
            ),
            Error::MethodNotAllowed { .. } => (
                "method_not_allowed",
                msg!("Method not allowed"),
                msg!("this route does not accept this method"),
                None,
                None,
            ),
            Error::PreconditionFailed => (
                "precondition_failed",
                msg!("Precondition failed"),
                msg!("the resource was changed since it was read; reload and retry"),
                None,
                None,
            ),
            Error::PayloadTooLarge => (
                "payload_too_large",
                msg!("Payload too large"),
                msg!("the request body exceeds the size limit"),
                None,
                None,
            ),
            Error::UnsupportedMediaType { detail, field } => (
                "unsupported_media_type",
                msg!("Unsupported media type"),
                detail.clone(),
                field.clone(),
                None,
            ),
            Error::Validation {
                kind,
                field,
                detail,
            } => (
                kind,
                msg!("Invalid input"),
                detail.clone(),
                Some(field.clone()),
                None,
            ),
            Error::Invalid(errors) => {
                let first = errors.first();
                let detail = match errors.len() {
                    1 => first
                        .map(|e| e.detail.clone())
                        .unwrap_or(msg!("invalid input")),
                    n => msg!(
                        "{n} fields are invalid: {fields}",
                        n,
                        fields = errors
                            .iter()
                            .map(|e| e.field.as_str())
                            .collect::<Vec<_>>()
                            .join(", ")
                    ),
                };
                (
                    first.map_or("validation_error", |e| e.kind),
                    msg!("Invalid input"),
                    detail,
                    first.map(|e| e.field.clone()),
                    None,
                )
            }
            Error::Refused {
                kind,
                field,
                detail,
                extra,
            } => (
                kind,
                msg!("Invalid input"),
                detail.clone(),
                Some(field.clone()),
                Some(extra.clone()),
            ),
            Error::TooManyRequests { retry_after } => (
                "too_many_attempts",
                msg!("Too many attempts"),
                msg!(
                    "too many attempts; retry in {seconds} seconds",
                    seconds = retry_after
                ),
                None,
                None,
            ),
            Error::Db(_) | Error::Internal(_) => (
                "internal_error",
                msg!("Internal server error"),
                msg!("the server failed to handle the request; quote the request id"),
                None,
                None,
            ),
        };
        let errors = self.field_errors();
        let extra = match (extra, errors.is_empty()) {
            (extra, true) => extra,
            (extra, false) => {
                let list: Vec<_> = errors
                    .iter()
                    .map(|e| {
                        serde_json::json!({
                            "field": e.field,
                            "type": e.kind,
                            "detail": e.detail.render(lang),
                        })
                    })
                    .collect();
                let mut members = match extra {
                    Some(serde_json::Value::Object(m)) => m,
                    _ => serde_json::Map::new(),
                };
                members.insert("errors".into(), serde_json::Value::Array(list));
                Some(serde_json::Value::Object(members))
            }
        };
        Problem {
            kind: kind.to_string(),
            title: title.render(lang),
            status: self.status().as_u16(),
            detail: detail.render(lang),
            field,
            extra,
            request_id: None,
        }
    }
}

/// Collects the invalid fields of a body, so that one 422 names every one of them
/// ([`Error::Invalid`]) instead of the first a validator met.
#[derive(Debug, Default)]
pub struct Checks(Vec<FieldError>);

impl Checks {
    /// The value of a field's check, or `None` once its invalid fields are recorded. Any
    /// other error (the database failed) ends validation: it is returned.
    pub fn take<T>(&mut self, checked: Result<T>) -> Result<Option<T>> {
        match checked {
            Ok(value) => Ok(Some(value)),
            Err(e) => self.refuse(e).map(|()| None),
        }
    }

    /// Records a refusal of one or more fields; any other error is returned.
    pub fn refuse(&mut self, err: Error) -> Result<()> {
        let fields = err.field_errors();
        if fields.is_empty() {
            return Err(err);
        }
        self.0.extend(fields);
        Ok(())
    }

    /// `Ok` when every field was valid, else the 422 naming them all.
    pub fn finish(self) -> Result<()> {
        Error::check(self.0)
    }
}

/// An RFC 9457 problem document.
#[derive(Debug, Clone, Serialize, serde::Deserialize)]
pub struct Problem {
    /// Stable snake_case identifier of the problem.
    #[serde(rename = "type")]
    pub kind: String,
    /// Short human summary.
    pub title: String,
    /// HTTP status.
    pub status: u16,
    /// What exactly went wrong.
    pub detail: String,
    /// The offending input field, for validation errors.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
    /// Problem-specific members (e.g. `module`, `tiers`), flattened into the body.
    #[serde(flatten, skip_serializing_if = "Option::is_none")]
    pub extra: Option<serde_json::Value>,
    /// The id of the request, to quote when reporting a 5xx.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub request_id: Option<String>,
}

/// Builds a problem+json response.
pub fn problem_response(problem: Problem, retry_after: Option<u64>) -> poem::Response {
    let status = StatusCode::from_u16(problem.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let body = serde_json::to_vec(&problem).unwrap_or_default();
    let mut resp = poem::Response::builder()
        .status(status)
        .content_type("application/problem+json")
        .body(body);
    if let Some(secs) = retry_after {
        resp.headers_mut()
            .insert(header::RETRY_AFTER, HeaderValue::from(secs));
    }
    resp
}

impl poem::error::ResponseError for Error {
    fn status(&self) -> StatusCode {
        Error::status(self)
    }

    fn as_response(&self) -> poem::Response {
        problem_response(self.problem(), self.retry_after())
    }
}

impl Error {
    fn retry_after(&self) -> Option<u64> {
        match self {
            Error::TooManyRequests { retry_after } => Some(*retry_after),
            _ => None,
        }
    }
}

impl From<sea_orm::DbErr> for Error {
    /// A write that lost a race to a concurrent writer (SQLite refuses the second writer of a
    /// stale snapshot even after its busy timeout) is a 409 `write_conflict` the client can
    /// retry, never a 500.
    fn from(err: sea_orm::DbErr) -> Self {
        let text = err.to_string();
        if text.contains("database is locked") || text.contains("(code: 517)") {
            return Error::Conflict {
                kind: "write_conflict",
                detail: msg!("another change was saved at the same moment; reload and retry"),
                field: None,
            };
        }
        Error::Db(err)
    }
}

/// Unique-constraint violations become 409 with the given type; everything else stays a 500.
pub fn map_unique(err: sea_orm::DbErr, kind: &'static str, detail: Msg, field: &str) -> Error {
    match err.sql_err() {
        Some(sea_orm::SqlErr::UniqueConstraintViolation(_)) => Error::Conflict {
            kind,
            detail,
            field: Some(field.to_string()),
        },
        _ => Error::Db(err),
    }
}
