//! HTTP plumbing of the host: the problem+json conversion (the one place errors become
//! responses), the request-id and logging middleware, authentication and licence gating, the
//! security schemes operations use, and the list envelope.

use crate::{
    App, Error,
    context::{Authenticated, Principal, TenantInfo, TenantUser},
    error::Problem,
};
use poem::{
    Endpoint, IntoResponse, Request, Response,
    http::{HeaderValue, Method, StatusCode, header},
};
use poem_openapi::{
    Object, SecurityScheme,
    auth::Bearer,
    types::{ParseFromJSON, ToJSON, Type},
};
use std::{sync::Arc, time::Instant};

pub use crate::body::{JsonBody, parse_body, parse_json};
pub use crate::operations::{Access, Operations};
use tracing::Instrument;
use uuid::Uuid;

/// The request id, in request extensions and the `x-request-id` header.
#[derive(Debug, Clone)]
pub struct RequestId(pub String);

/// Builds a problem+json response.
pub fn problem_response(problem: Problem, retry_after: Option<u64>) -> Response {
    let status = StatusCode::from_u16(problem.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let body = serde_json::to_vec(&problem).unwrap_or_default();
    let mut resp = Response::builder()
        .status(status)
        .content_type("application/problem+json")
        .body(body);
    if let Some(secs) = retry_after {
        resp.headers_mut()
            .insert(header::RETRY_AFTER, HeaderValue::from(secs));
    }
    resp
}

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

/// Longest request target (path and query) a request may have: no operation needs more, and
/// a longer one is a probe or a client bug. (hyper itself refuses 64 KiB and more; `web`
/// turns that refusal into the same problem.)
pub const MAX_URI_BYTES: usize = 16 * 1024;
/// Largest sum of header names and values a request may have: a bearer token and the usual
/// headers take a few KiB.
pub const MAX_HEADER_BYTES: usize = 64 * 1024;

/// The 414 or 431 for a request whose target or headers exceed the limits above.
fn oversized(req: &Request) -> Option<Problem> {
    let uri = req.uri().path_and_query().map_or(0, |p| p.as_str().len());
    let headers: usize = req
        .headers()
        .iter()
        .map(|(name, value)| name.as_str().len() + value.len())
        .sum();
    let (status, kind, title, detail) = if uri > MAX_URI_BYTES {
        (
            StatusCode::URI_TOO_LONG,
            "uri_too_long",
            "URI too long",
            format!(
                "the request URI has {uri} bytes, more than {MAX_URI_BYTES}; send long input \
                 in a body"
            ),
        )
    } else if headers > MAX_HEADER_BYTES {
        (
            StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE,
            "headers_too_large",
            "Request headers too large",
            format!("the request headers have {headers} bytes, more than {MAX_HEADER_BYTES}"),
        )
    } else {
        return None;
    };
    Some(Problem {
        kind: kind.into(),
        title: title.into(),
        status: status.as_u16(),
        detail,
        field: None,
        extra: None,
        request_id: None,
    })
}

/// The outermost middleware: request id, tracing span, access log, and problem+json for every
/// error including unknown routes and wrong methods.
pub async fn edge<E: Endpoint>(next: E, mut req: Request) -> poem::Result<Response> {
    let rid = req
        .headers()
        .get("x-request-id")
        .and_then(|v| v.to_str().ok())
        .filter(|v| {
            !v.is_empty()
                && v.len() <= 64
                && v.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
        })
        .map(str::to_string)
        .unwrap_or_else(|| Uuid::now_v7().to_string());
    req.extensions_mut().insert(RequestId(rid.clone()));
    let refused = oversized(&req);
    // A refused path is not logged whole: it may be 60 KiB long.
    let path = if refused.is_some() {
        "(too long)"
    } else {
        req.uri().path()
    };
    let span =
        tracing::info_span!("request", request_id = %rid, method = %req.method(), path = %path);
    async move {
        let started = Instant::now();
        let mut resp = match refused {
            Some(mut problem) => {
                problem.request_id = Some(rid.clone());
                problem_response(problem, None)
            }
            None => match next.call(req).await {
                Ok(r) => r.into_response(),
                Err(e) => error_to_response(e, &rid),
            },
        };
        if let Ok(v) = HeaderValue::from_str(&rid) {
            resp.headers_mut().insert("x-request-id", v);
        }
        tracing::info!(
            status = resp.status().as_u16(),
            elapsed_ms = started.elapsed().as_millis() as u64,
            "handled"
        );
        Ok(resp)
    }
    .instrument(span)
    .await
}

/// The text of the path and query string (no control characters), declared body size,
/// authentication, tenant status, licence gating, then the body itself (within the route's
/// limit), in that order, before any handler runs. Credentials that do not resolve leave the
/// request anonymous; an anonymous request to an operation that needs a principal is answered
/// 401 here, before a byte of its body is read, and one to no known operation goes to the
/// router (404, 405) with its body unread.
pub async fn host<E: Endpoint>(
    next: E,
    mut req: Request,
    app: Arc<App>,
    operations: Arc<Operations>,
) -> poem::Result<Response> {
    // Query parameters and path segments reach handlers (and the database) as text: one
    // check here covers every route, including the unauthenticated ones.
    crate::input::check_uri(req.uri())?;
    let limit = if app.registry.is_upload(req.uri().path()) {
        app.config.max_upload_bytes
    } else {
        app.config.max_body_bytes
    };
    let declared = req
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<usize>().ok());
    if declared.is_some_and(|len| len > limit) {
        return Err(Error::PayloadTooLarge.into());
    }
    let bearer = req
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| {
            v.strip_prefix("Bearer ")
                .or_else(|| v.strip_prefix("bearer "))
        })
        .map(|v| v.trim().to_string());
    let auth = match bearer {
        Some(token) => app.ports.directory.authenticate(&app, &token).await?,
        None => None,
    };
    let anonymous = auth.is_none();
    if let Some(auth) = auth {
        if let Principal::Tenant(user) = &auth.principal {
            let info = app
                .ports
                .directory
                .tenant_info(&app, user.tenant_id)
                .await?
                .ok_or(Error::Unauthorized)?;
            if info.suspended {
                return Err(tenant_suspended().into());
            }
            if let Some(module) = app.registry.module_for_path(req.uri().path()) {
                app.registry
                    .check_available(module, info.tier, &info.disabled_modules)?;
            }
            req.extensions_mut().insert(info);
        }
        req.extensions_mut().insert(auth);
    }
    // Read after authentication and gating, so a caller who may not post here cannot make the
    // node buffer an upload-sized body.
    let mut writes = !matches!(*req.method(), Method::GET | Method::HEAD | Method::OPTIONS);
    if writes && anonymous {
        // Only the operations that take anonymous callers get their body read for them.
        match operations.access(req.method(), req.uri().path()) {
            Access::Public => {}
            Access::Principal => return Err(Error::Unauthorized.into()),
            Access::Unknown => writes = false,
        }
    }
    if writes {
        let body = req.take_body();
        let bytes = body
            .into_bytes_limit(limit)
            .await
            .map_err(|_| Error::PayloadTooLarge)?;
        req.set_body(bytes);
    }
    // The body is in memory before the turn is taken: a slow client never holds the gate.
    let _turn = match writes {
        true => app.write_gate.enter().await,
        false => None,
    };
    next.call(req).await.map(IntoResponse::into_response)
}

/// The 403 a suspended tenant's users get.
pub fn tenant_suspended() -> Error {
    Error::Forbidden {
        kind: "tenant_suspended",
        detail: "this tenant's subscription is suspended; contact your reseller".into(),
        extra: None,
    }
}

fn authenticated(req: &Request) -> poem::Result<Authenticated> {
    req.extensions()
        .get::<Authenticated>()
        .cloned()
        .ok_or_else(|| Error::Unauthorized.into())
}

/// Any authenticated caller: operator, reseller or tenant user.
#[derive(SecurityScheme)]
#[oai(rename = "bearer", ty = "bearer", checker = "any_checker")]
pub struct Auth(pub Authenticated);

async fn any_checker(req: &Request, _b: Bearer) -> poem::Result<Authenticated> {
    authenticated(req)
}

/// A user of a tenant (or an API key acting as one). Operators and resellers get 403: they
/// manage tenants, never their data.
#[derive(SecurityScheme)]
#[oai(rename = "bearer", ty = "bearer", checker = "tenant_checker")]
pub struct TenantAuth(pub TenantUser);

async fn tenant_checker(req: &Request, _b: Bearer) -> poem::Result<TenantUser> {
    match authenticated(req)?.principal {
        Principal::Tenant(u) => Ok(u),
        _ => Err(Error::Forbidden {
            kind: "tenant_user_required",
            detail: "this operation is for users of a tenant".into(),
            extra: None,
        }
        .into()),
    }
}

impl TenantAuth {
    /// The tenant of the caller.
    pub fn tenant_id(&self) -> Uuid {
        self.0.tenant_id
    }
}

/// The tenant facts the host resolved for this request (licence, language, country).
pub fn tenant_info(req: &Request) -> Option<&TenantInfo> {
    req.extensions().get::<TenantInfo>()
}

/// The operator or a reseller.
#[derive(SecurityScheme)]
#[oai(rename = "bearer", ty = "bearer", checker = "platform_checker")]
pub struct PlatformAuth(pub Principal);

async fn platform_checker(req: &Request, _b: Bearer) -> poem::Result<Principal> {
    match authenticated(req)?.principal {
        p @ (Principal::Operator { .. } | Principal::Reseller { .. }) => Ok(p),
        Principal::Tenant(_) => {
            Err(Error::forbidden("this operation is for the operator and resellers").into())
        }
    }
}

/// A page of a list, with the cursor of the next page (absent on the last one).
#[derive(Object, Debug)]
pub struct List<T: ParseFromJSON + ToJSON + Type + Send + Sync> {
    /// The records of this page.
    pub items: Vec<T>,
    /// Pass as `cursor` to get the next page; absent on the last page.
    #[oai(nullable)]
    pub next_cursor: Option<String>,
}

/// Default and maximum page sizes.
pub const PAGE_DEFAULT: u64 = 50;
/// Largest page a client may ask for.
pub const PAGE_MAX: u64 = 200;

/// Parses a `cursor` query parameter (the id of the last item of the previous page).
pub fn parse_cursor(cursor: Option<&str>) -> crate::Result<Option<Uuid>> {
    cursor
        .map(|c| {
            Uuid::parse_str(c)
                .map_err(|_| Error::invalid("cursor", "not a cursor returned by this API"))
        })
        .transpose()
}

/// Clamps a `limit` query parameter.
pub fn page_limit(limit: Option<u64>) -> u64 {
    limit.unwrap_or(PAGE_DEFAULT).clamp(1, PAGE_MAX)
}

/// One page of rows in creation order (ids are UUIDv7), and the cursor of the next page.
#[derive(Debug)]
pub struct Page<M> {
    /// The rows of this page.
    pub rows: Vec<M>,
    /// The cursor of the next page; `None` on the last one.
    pub next_cursor: Option<String>,
}

impl<M> Page<M> {
    /// The page as an API list.
    pub fn map<V: ParseFromJSON + ToJSON + Type + Send + Sync>(
        self,
        f: impl FnMut(M) -> V,
    ) -> List<V> {
        List {
            items: self.rows.into_iter().map(f).collect(),
            next_cursor: self.next_cursor,
        }
    }
}

/// Fetches the page of `query` that follows `cursor`, ordered by the id column `id`. Every
/// list endpoint pages through this one function.
pub async fn fetch_page<E>(
    db: &impl sea_orm::ConnectionTrait,
    query: sea_orm::Select<E>,
    id: E::Column,
    cursor: Option<&str>,
    limit: Option<u64>,
) -> crate::Result<Page<E::Model>>
where
    E: sea_orm::EntityTrait,
{
    use sea_orm::{ColumnTrait, ModelTrait, QueryFilter, QueryOrder, QuerySelect};
    let limit = page_limit(limit);
    let mut query = query;
    if let Some(after) = parse_cursor(cursor)? {
        query = query.filter(id.gt(after));
    }
    let mut rows = query.order_by_asc(id).limit(limit + 1).all(db).await?;
    let more = rows.len() as u64 > limit;
    rows.truncate(limit as usize);
    let next_cursor = match (more, rows.last()) {
        (true, Some(last)) => match last.get(id) {
            sea_orm::Value::Uuid(Some(u)) => Some(u.to_string()),
            _ => None,
        },
        _ => None,
    };
    Ok(Page { rows, next_cursor })
}

impl<T: ParseFromJSON + ToJSON + Type + Send + Sync> List<T> {
    /// Builds a page from `limit + 1` fetched rows: the extra row only tells that there is more.
    pub fn page(mut items: Vec<T>, limit: u64, id_of: impl Fn(&T) -> Uuid) -> Self {
        let more = items.len() as u64 > limit;
        items.truncate(limit as usize);
        let next_cursor = if more {
            items.last().map(|i| id_of(i).to_string())
        } else {
            None
        };
        Self { items, next_cursor }
    }
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

/// A 201 answer with the created resource.
#[derive(poem_openapi::ApiResponse)]
pub enum Created<T: ToJSON + Send + Sync> {
    /// Created.
    #[oai(status = 201)]
    Created(poem_openapi::payload::Json<T>),
}

/// A 204 answer.
#[derive(poem_openapi::ApiResponse)]
pub enum NoContent {
    /// Done; nothing to return.
    #[oai(status = 204)]
    NoContent,
}

/// The `ETag` of a record at `version` (a strong validator: the version changes with every
/// write).
pub fn etag(version: i32) -> String {
    format!("\"{version}\"")
}

/// Whether an `If-Match` header value admits the record at `version` (`*`, or one of the
/// listed tags; a weak `W/` prefix is tolerated).
pub fn if_match(header: &str, version: i32) -> bool {
    let current = etag(version);
    header.split(',').any(|t| {
        let t = t.trim();
        t == "*" || t.trim_start_matches("W/") == current
    })
}
