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
        Some(token) => app.directory.authenticate(&app, &token).await?,
        None => None,
    };
    let anonymous = auth.is_none();
    if let Some(auth) = auth {
        if let Principal::Tenant(user) = &auth.principal {
            let info = app
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
/// the field, and for an enum the detail lists the accepted values.
pub fn parse_json<T: serde::de::DeserializeOwned>(bytes: &[u8]) -> crate::Result<T> {
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Err(Error::BadRequest {
            detail: "a JSON body is required".into(),
            field: None,
        });
    }
    // `IgnoredAny` scans numbers without converting them, so `1e400` passes here.
    if let Err(e) = serde_json::from_slice::<serde::de::IgnoredAny>(bytes) {
        return Err(Error::MalformedJson {
            detail: format!("malformed JSON: {e}"),
        });
    }
    typed(bytes)
}

/// Deserialises a document known to be well-formed JSON into `T`; a value serde refuses is a
/// 422 naming its path (see [`parse_json`]).
fn typed<T: serde::de::DeserializeOwned>(bytes: &[u8]) -> crate::Result<T> {
    let mut de = serde_json::Deserializer::from_slice(bytes);
    let value = serde_path_to_error::deserialize(&mut de).map_err(|e| {
        let place = place_of(e.path());
        let path = display_path(&place);
        let accepted = accepted_values::<T>(bytes, &place);
        let inner = e.into_inner();
        let text = inner.to_string();
        // For a missing or unknown field serde reports the parent's path; name the field itself.
        let named = ["missing field `", "unknown field `"].iter().find_map(|m| {
            let rest = &text[text.find(m)? + m.len()..];
            Some(rest[..rest.find('`')?].to_string())
        });
        let field = match (named, path.as_str()) {
            (Some(f), "." | "") => f,
            (Some(f), p) if p == f || p.ends_with(&format!(".{f}")) => p.to_string(),
            (Some(f), parent) => format!("{parent}.{f}"),
            (None, p) => p.to_string(),
        };
        let detail = match text.find(" at line ") {
            Some(i) => text[..i].to_string(),
            None => text,
        };
        let detail = match (accepted, detail.as_str()) {
            (Some(values), _) => format!("not an accepted value; {values}"),
            (None, "expected value") => "a value of the wrong type".to_string(),
            (None, "number out of range") => "number out of range for this field".to_string(),
            _ => detail,
        };
        Error::Validation {
            kind: "validation_error",
            field,
            detail,
        }
    })?;
    de.end().map_err(|e| Error::MalformedJson {
        detail: format!("malformed JSON: {e}"),
    })?;
    Ok(value)
}

/// Parses a JSON body into `T` after checking its text against `T`'s own OpenAPI schema
/// ([`crate::input::check_json`]: no control characters, every documented `maxLength`). The
/// check runs on any well-formed document before deserialisation, so that no error detail
/// (serde quotes unknown variants) ever carries a NUL into an answer or a stored log;
/// everything else is left to [`parse_json`].
pub fn parse_body<T: Type + serde::de::DeserializeOwned + 'static>(
    bytes: &[u8],
) -> crate::Result<T> {
    match serde_json::from_slice::<serde_json::Value>(bytes) {
        // Parsing it proved the document well-formed: no second scan before deserialising.
        Ok(value) => {
            crate::input::check_json::<T>(&value)?;
            typed(bytes)
        }
        // Empty, malformed, or holding a number no `Value` can (`1e400`): `parse_json` tells.
        Err(_) => parse_json(bytes),
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
    let rest = text.split_once(&format!("unknown variant `{PROBE}`, "))?.1;
    Some(rest.to_string())
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
            required: true,
        })
    }

    async fn from_request(
        request: &'a Request,
        body: &mut poem::RequestBody,
        _opts: poem_openapi::ExtractParamOptions<()>,
    ) -> poem::Result<Self> {
        use poem_openapi::payload::{ParsePayload, Payload};
        match request.content_type() {
            Some(ct) if Self::check_content_type(ct) => {
                <Self as ParsePayload>::from_request(request, body).await
            }
            _ => Err(Error::Validation {
                kind: "unsupported_media_type",
                field: "content-type".into(),
                detail: "send the body as application/json".into(),
            }
            .into()),
        }
    }
}

#[cfg(test)]
mod body_tests {
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
        tier: crate::module::Tier,
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
        tiers: Vec<crate::module::Tier>,
        tier: Option<crate::module::Tier>,
        rate: Option<f64>,
    }

    fn problem(json: &str) -> (String, String) {
        match parse_json::<Numbers>(json.as_bytes()).unwrap_err() {
            Error::Validation { field, detail, .. } => (field, detail),
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

/// The API's operations as the host sees them before routing: which ones a caller without
/// credentials may call (login, accepting an invitation, partners' signed deliveries...).
/// Built once at startup from the operations' own security declarations, so a new operation
/// is classified by what it declares, not by a list someone must remember to update.
#[derive(Debug, Clone, Default)]
pub struct Operations {
    routes: Vec<Operation>,
}

#[derive(Debug, Clone)]
struct Operation {
    method: Method,
    /// `None` for a path parameter (`{id}`), which matches any one segment.
    segments: Vec<Option<String>>,
    public: bool,
}

/// What the host knows of a request's route before the router runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// An operation that takes anonymous callers.
    Public,
    /// An operation that needs a principal: without one it can only answer 401.
    Principal,
    /// No operation has this path and method: the router answers 404 or 405.
    Unknown,
}

impl Operations {
    /// Collects the operations of the API description: an operation is public when it
    /// declares no security requirement, or an optional one (an empty requirement).
    pub fn from_meta(apis: &[poem_openapi::registry::MetaApi]) -> Self {
        let routes = apis
            .iter()
            .flat_map(|api| &api.paths)
            .flat_map(|path| {
                let segments: Vec<Option<String>> = path
                    .path
                    .split('/')
                    .filter(|s| !s.is_empty())
                    .map(|s| {
                        let param = s.starts_with(':') || (s.starts_with('{') && s.ends_with('}'));
                        (!param).then(|| s.to_string())
                    })
                    .collect();
                path.operations.iter().map(move |op| Operation {
                    method: op.method.clone(),
                    segments: segments.clone(),
                    public: op.security.is_empty() || op.security.iter().any(|r| r.is_empty()),
                })
            })
            .collect();
        Self { routes }
    }

    /// How `method` on `path` may be called.
    pub fn access(&self, method: &Method, path: &str) -> Access {
        let parts: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
        let mut access = Access::Unknown;
        for op in self.routes.iter().filter(|op| op.method == method) {
            let matches = op.segments.len() == parts.len()
                && op
                    .segments
                    .iter()
                    .zip(&parts)
                    .all(|(s, p)| s.as_deref().is_none_or(|s| s == *p));
            if matches {
                if op.public {
                    return Access::Public;
                }
                access = Access::Principal;
            }
        }
        access
    }
}

#[cfg(test)]
mod operations_tests {
    use super::*;
    use poem_openapi::registry::{MetaApi, MetaOperation, MetaPath, MetaResponses};
    use std::collections::HashMap;

    fn op(method: Method, secured: bool) -> MetaOperation {
        MetaOperation {
            method,
            tags: vec![],
            summary: None,
            description: None,
            external_docs: None,
            params: vec![],
            request: None,
            responses: MetaResponses { responses: vec![] },
            deprecated: false,
            security: if secured {
                vec![HashMap::from([("bearer", vec![])])]
            } else {
                vec![]
            },
            operation_id: None,
            code_samples: vec![],
        }
    }

    #[test]
    fn classifies_by_declared_security() {
        let ops = Operations::from_meta(&[MetaApi {
            paths: vec![
                MetaPath {
                    path: "/api/v1/auth/login".into(),
                    operations: vec![op(Method::POST, false)],
                },
                MetaPath {
                    path: "/api/v1/opportunities/{id}/documents".into(),
                    operations: vec![op(Method::POST, true), op(Method::GET, true)],
                },
                MetaPath {
                    path: "/inbound/{id}/leads".into(),
                    operations: vec![op(Method::POST, false)],
                },
            ],
        }]);
        assert_eq!(
            ops.access(&Method::POST, "/api/v1/auth/login"),
            Access::Public
        );
        assert_eq!(
            ops.access(&Method::POST, "/api/v1/opportunities/x/documents"),
            Access::Principal
        );
        assert_eq!(
            ops.access(&Method::POST, "/inbound/abc/leads"),
            Access::Public
        );
        assert_eq!(
            ops.access(&Method::PUT, "/api/v1/opportunities/x/documents"),
            Access::Unknown
        );
        assert_eq!(
            ops.access(&Method::POST, "/api/v1/opportunities/documents"),
            Access::Unknown
        );
    }
}
