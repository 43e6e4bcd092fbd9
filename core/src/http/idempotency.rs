//! `Idempotency-Key` on POST, with Stripe's semantics: a client that did not hear the answer to
//! a write can send it again with the same key and get the first answer back instead of a
//! second write.
//!
//! A key belongs to the principal that sent it (a tenant's user: tenant and user; a platform
//! account: its user), never to anyone else. The first request with a key claims a row of
//! `idempotency_keys` (the primary key `(principal, idem_key)` decides between racing requests
//! on any number of nodes, on SQLite as on PostgreSQL), runs, and leaves its answer there for
//! [`KEPT_FOR`]. A retry with the same method, path, query and body gets that answer byte for
//! byte with `Idempotent-Replayed: true`, and the handler does not run; the same key with
//! anything else is 422 `idempotency_key_reused`; a retry while the first still runs is 409
//! `request_in_progress` with `Retry-After: 1`.
//!
//! Only answers of a handler that ran are kept: a 5xx, and the refusals that come before any
//! work (401, 413, 415, 429), release the key so the retry runs again. A handler, once started,
//! finishes even if the client goes away, so its retry finds the answer. A run holds the key
//! for [`LOCK_TIMEOUT`] and renews it while it lasts: a node that dies mid-request blocks the
//! key for that long at most, then another request takes it over.

use super::{
    edge::RequestId,
    operations::{Access, Operations},
    problem::error_to_response,
};
use crate::{
    App, Error, Result,
    context::{Authenticated, Principal},
};
use chrono::{DateTime, TimeDelta, Utc};
use poem::{
    Body, Endpoint, IntoResponse, Request, Response,
    http::{HeaderName, HeaderValue, Method, StatusCode, header},
};
use sea_orm::{
    ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, prelude::Expr, sea_query::OnConflict,
};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use std::{sync::Arc, time::Duration};
use tracing::Instrument;
use uuid::Uuid;

/// The request header that carries the key.
pub const HEADER: &str = "Idempotency-Key";
/// The response header that marks a stored answer sent again.
pub const REPLAYED: &str = "Idempotent-Replayed";
/// Longest key, in characters (printable ASCII, so also bytes): a UUID or a client's own
/// request id fits many times over.
pub const MAX_KEY_CHARS: usize = 255;
/// How long an answer is kept for retries; after that the key may be used again.
pub const KEPT_FOR: TimeDelta = TimeDelta::hours(24);
/// How long a run holds its key without renewing it: past this, the node that ran it is taken
/// for dead and another request may run under the key.
pub const LOCK_TIMEOUT: TimeDelta = TimeDelta::seconds(60);
/// How often a run renews its hold on the key, well within [`LOCK_TIMEOUT`].
const RENEW_EVERY: Duration = Duration::from_secs(20);
/// Largest answer kept for replay. Every POST answers a resource or a problem of a few KiB; a
/// larger answer is sent but not kept (its key is released).
pub const MAX_STORED_BYTES: usize = 1024 * 1024;
/// How often each node deletes the keys older than [`KEPT_FOR`].
pub const PURGE_EVERY: Duration = Duration::from_secs(3600);
/// The answer headers a client needs to use a replayed answer as it would the first.
const KEPT_HEADERS: [HeaderName; 3] = [header::CONTENT_TYPE, header::LOCATION, header::ETAG];

/// The table of keys (migration `m0017_idempotency`). Not a tenant table: platform accounts
/// send keys too. The tenant is part of `principal`, taken from the authenticated caller
/// only, and `tenant_id` lets the tenant's rows go with it.
mod record {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
    #[sea_orm(table_name = "idempotency_keys")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub principal: String,
        #[sea_orm(primary_key, auto_increment = false)]
        pub idem_key: String,
        pub tenant_id: Option<Uuid>,
        pub fingerprint: String,
        /// The run that holds the key: only it may store or release the answer.
        pub owner: Uuid,
        /// `None` while the run is in progress.
        pub status: Option<i32>,
        /// The kept answer headers, a JSON array of `[name, value]`.
        pub headers: Option<String>,
        pub body: Option<Vec<u8>>,
        pub created_at: DateTimeUtc,
        pub locked_at: DateTimeUtc,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

/// A POST that carries a key: whose it is, and what it asks.
#[derive(Debug, Clone)]
struct Keyed {
    principal: String,
    tenant_id: Option<Uuid>,
    key: String,
    fingerprint: String,
}

/// Runs `req` through `next` under its `Idempotency-Key`, if it is an authenticated POST to an
/// operation of the API that carries one; any other request goes straight through. Called by
/// the host once the caller is known and the body is in memory.
pub async fn call<E: Endpoint + 'static>(
    app: &Arc<App>,
    operations: &Operations,
    next: E,
    mut req: Request,
) -> poem::Result<Response> {
    let Some(keyed) = keyed(operations, &mut req).await? else {
        return next.call(req).await.map(IntoResponse::into_response);
    };
    let rid = req
        .extensions()
        .get::<RequestId>()
        .map(|r| r.0.clone())
        .unwrap_or_default();
    match claim(&app.db, &keyed, app.clock.now()).await? {
        Claim::Replay(row) => Ok(replay(row)),
        Claim::Reused => Err(Error::Validation {
            kind: "idempotency_key_reused",
            field: HEADER.into(),
            detail: "this idempotency key was already used for another request (another path \
                     or body); send a new key for a new request"
                .into(),
        }
        .into()),
        Claim::Busy => {
            let busy = Error::Conflict {
                kind: "request_in_progress",
                detail: "a request with this idempotency key is still running; retry in a \
                         second to get its answer"
                    .into(),
                field: Some(HEADER.into()),
            };
            let mut resp = error_to_response(busy.into(), &rid);
            resp.headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(1));
            Ok(resp)
        }
        Claim::Run(owner) => {
            // The run goes on in a task of its own: a client that hangs up (the very case a key
            // is for) must not cut a write in half, and its retry then finds the answer.
            let (app, run_keyed) = (app.clone(), keyed.clone());
            let task = tokio::spawn(
                async move {
                    let run = async { next.call(req).await.map(IntoResponse::into_response) };
                    let outcome = renewing(&app, &run_keyed, owner, run).await;
                    settle(&app, &run_keyed, owner, outcome, &rid).await
                }
                .in_current_span(),
            );
            task.await
                .unwrap_or_else(|e| Err(Error::internal(e).into()))
        }
    }
}

/// The key of `req` if it is an authenticated POST to a known operation that carries one (422
/// for a malformed key), with the fingerprint of what it asks.
async fn keyed(operations: &Operations, req: &mut Request) -> Result<Option<Keyed>> {
    if req.method() != Method::POST
        || operations.access(req.method(), req.uri().path()) == Access::Unknown
    {
        return Ok(None);
    }
    let Some(auth) = req.extensions().get::<Authenticated>() else {
        return Ok(None);
    };
    let (principal, tenant_id) = principal_of(&auth.principal);
    let Some(key) = parse_key(req.headers().get_all(HEADER).iter())? else {
        return Ok(None);
    };
    // The host has read the body into memory already: taking it and putting it back is free.
    let body = req
        .take_body()
        .into_bytes()
        .await
        .map_err(|_| Error::PayloadTooLarge)?;
    let target = req.uri().path_and_query().map_or("", |p| p.as_str());
    let fingerprint = fingerprint(req.method().as_str(), target, &body);
    req.set_body(body);
    Ok(Some(Keyed {
        principal,
        tenant_id,
        key,
        fingerprint,
    }))
}

/// Whose keys these are: `(principal, tenant)`.
fn principal_of(principal: &Principal) -> (String, Option<Uuid>) {
    match principal {
        Principal::Tenant(u) => (
            format!("tenant:{}:user:{}", u.tenant_id, u.user_id),
            Some(u.tenant_id),
        ),
        Principal::Reseller { user_id, .. } => (format!("platform:{user_id}"), None),
        Principal::Operator { user_id } => (format!("platform:{user_id}"), None),
    }
}

/// The key the request carries, if any: one header of 1 to [`MAX_KEY_CHARS`] printable ASCII
/// characters, else 422 naming the header.
fn parse_key<'a>(mut values: impl Iterator<Item = &'a HeaderValue>) -> Result<Option<String>> {
    let Some(value) = values.next() else {
        return Ok(None);
    };
    let invalid = |detail: String| Error::invalid(HEADER, detail);
    if values.next().is_some() {
        return Err(invalid(
            "send one idempotency key per request, not several".into(),
        ));
    }
    let bytes = value.as_bytes();
    if bytes.is_empty() || bytes.len() > MAX_KEY_CHARS {
        return Err(invalid(format!(
            "an idempotency key has 1 to {MAX_KEY_CHARS} characters; this one has {}",
            bytes.len()
        )));
    }
    if !bytes.iter().all(|b| (0x20..=0x7e).contains(b)) {
        return Err(invalid(
            "an idempotency key holds printable ASCII characters only (no control or \
             non-ASCII characters); a UUID is a good key"
                .into(),
        ));
    }
    Ok(Some(String::from_utf8_lossy(bytes).into_owned()))
}

/// SHA-256 (hex) of what a request asks: method, path with query, and body. The separators
/// cannot occur in a method or a request target, so two requests share a fingerprint only if
/// they ask the same.
fn fingerprint(method: &str, target: &str, body: &[u8]) -> String {
    let mut h = Sha256::new();
    h.update(method.as_bytes());
    h.update(b"\n");
    h.update(target.as_bytes());
    h.update(b"\n");
    h.update(body);
    hex::encode(h.finalize())
}

/// What a request with a key may do.
#[derive(Debug)]
enum Claim {
    /// Run: this request holds the key under this owner id.
    Run(Uuid),
    /// Send the kept answer again.
    Replay(record::Model),
    /// Another request holds the key: 409.
    Busy,
    /// The key was used for another request: 422.
    Reused,
}

/// What a stored row means for a request with `fingerprint` at `now` (the state rules).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Verdict {
    /// The row is expired, or its run was abandoned: take it over.
    Vacant,
    Replay,
    Busy,
    Reused,
}

fn judge(row: &record::Model, fingerprint: &str, now: DateTime<Utc>) -> Verdict {
    if now - row.created_at >= KEPT_FOR {
        // An expired key is as good as unused, whatever it was used for.
        return Verdict::Vacant;
    }
    if row.fingerprint != fingerprint {
        return Verdict::Reused;
    }
    match row.status {
        Some(_) => Verdict::Replay,
        None if now - row.locked_at >= LOCK_TIMEOUT => Verdict::Vacant,
        None => Verdict::Busy,
    }
}

/// Claims the key for this request, or says why not. The insert is the lock: of racing
/// requests exactly one inserts; the others read the row. A vacant row is taken over by a
/// conditional update on its owner, which again only one request wins.
async fn claim(db: &impl ConnectionTrait, k: &Keyed, now: DateTime<Utc>) -> Result<Claim> {
    use record::Column as C;
    // A row can vanish (released) or change hands between our statements: look again, a few
    // times; a key that keeps changing hands is busy.
    for _ in 0..3 {
        let owner = Uuid::now_v7();
        let inserted = record::Entity::insert(record::ActiveModel {
            principal: sea_orm::Set(k.principal.clone()),
            idem_key: sea_orm::Set(k.key.clone()),
            tenant_id: sea_orm::Set(k.tenant_id),
            fingerprint: sea_orm::Set(k.fingerprint.clone()),
            owner: sea_orm::Set(owner),
            status: sea_orm::Set(None),
            headers: sea_orm::Set(None),
            body: sea_orm::Set(None),
            created_at: sea_orm::Set(now),
            locked_at: sea_orm::Set(now),
        })
        .on_conflict(
            OnConflict::columns([C::Principal, C::IdemKey])
                .do_nothing()
                .to_owned(),
        )
        .exec_without_returning(db)
        .await?;
        if inserted == 1 {
            return Ok(Claim::Run(owner));
        }
        let Some(row) = record::Entity::find_by_id((k.principal.clone(), k.key.clone()))
            .one(db)
            .await?
        else {
            continue;
        };
        match judge(&row, &k.fingerprint, now) {
            Verdict::Replay => return Ok(Claim::Replay(row)),
            Verdict::Reused => return Ok(Claim::Reused),
            Verdict::Busy => return Ok(Claim::Busy),
            Verdict::Vacant => {
                let taken = mine(k, row.owner)
                    .col_expr(C::Owner, Expr::value(owner))
                    .col_expr(C::Fingerprint, Expr::value(k.fingerprint.clone()))
                    .col_expr(C::Status, Expr::value(Option::<i32>::None))
                    .col_expr(C::Headers, Expr::value(Option::<String>::None))
                    .col_expr(C::Body, Expr::value(Option::<Vec<u8>>::None))
                    .col_expr(C::CreatedAt, Expr::value(now))
                    .col_expr(C::LockedAt, Expr::value(now))
                    .exec(db)
                    .await?;
                if taken.rows_affected == 1 {
                    return Ok(Claim::Run(owner));
                }
            }
        }
    }
    Ok(Claim::Busy)
}

/// An update of the key's row while `owner` holds it.
fn mine(k: &Keyed, owner: Uuid) -> sea_orm::UpdateMany<record::Entity> {
    record::Entity::update_many()
        .filter(record::Column::Principal.eq(k.principal.clone()))
        .filter(record::Column::IdemKey.eq(k.key.clone()))
        .filter(record::Column::Owner.eq(owner))
}

/// Runs the handler, renewing the hold on the key while it lasts.
async fn renewing(
    app: &App,
    k: &Keyed,
    owner: Uuid,
    run: impl Future<Output = poem::Result<Response>>,
) -> poem::Result<Response> {
    let mut run = std::pin::pin!(run);
    loop {
        tokio::select! {
            out = &mut run => return out,
            _ = tokio::time::sleep(RENEW_EVERY) => {
                let renewed = mine(k, owner)
                    .col_expr(record::Column::LockedAt, Expr::value(app.clock.now()))
                    .exec(&app.db)
                    .await;
                if let Err(e) = renewed {
                    tracing::warn!(error = %e, "could not renew an idempotency key");
                }
            }
        }
    }
}

/// Whether an answer of this status is kept: every answer of a handler that ran, except server
/// errors and the refusals that come before any work (credentials, size, type, rate).
fn kept(status: StatusCode) -> bool {
    !status.is_server_error()
        && !matches!(
            status,
            StatusCode::UNAUTHORIZED
                | StatusCode::PAYLOAD_TOO_LARGE
                | StatusCode::UNSUPPORTED_MEDIA_TYPE
                | StatusCode::TOO_MANY_REQUESTS
        )
}

/// Whether a body of this type can be kept: JSON (a resource or a problem) or nothing. Any
/// other answer (a stream, a file) is sent as it is and not kept.
fn storable(resp: &Response) -> bool {
    match resp.headers().get(header::CONTENT_TYPE) {
        None => true,
        Some(v) => {
            let essence = v.to_str().unwrap_or("").split(';').next().unwrap_or("");
            matches!(
                essence.trim(),
                "application/json" | "application/problem+json"
            )
        }
    }
}

/// Keeps the answer of a run for its retries, or releases the key when the answer is not to be
/// kept; answers it either way.
async fn settle(
    app: &App,
    k: &Keyed,
    owner: Uuid,
    outcome: poem::Result<Response>,
    rid: &str,
) -> poem::Result<Response> {
    let resp = match outcome {
        Ok(resp) => resp,
        // Rendered here, as the edge would, so that the kept bytes are those the client gets.
        Err(e) if kept(e.status()) => error_to_response(e, rid),
        Err(e) => {
            release(app, k, owner).await;
            return Err(e);
        }
    };
    if !kept(resp.status()) || !storable(&resp) {
        release(app, k, owner).await;
        return Ok(resp);
    }
    let (parts, body) = resp.into_parts();
    let bytes = match body.into_bytes().await {
        Ok(bytes) => bytes,
        Err(e) => {
            release(app, k, owner).await;
            return Err(Error::internal(e).into());
        }
    };
    let headers: Vec<(&str, &str)> = KEPT_HEADERS
        .iter()
        .filter_map(|name| Some((name.as_str(), parts.headers.get(name)?.to_str().ok()?)))
        .collect();
    let stored = if bytes.len() <= MAX_STORED_BYTES {
        use record::Column as C;
        mine(k, owner)
            .col_expr(C::Status, Expr::value(i32::from(parts.status.as_u16())))
            .col_expr(C::Headers, Expr::value(json!(headers).to_string()))
            .col_expr(C::Body, Expr::value(bytes.to_vec()))
            .exec(&app.db)
            .await
            .map(|r| r.rows_affected == 1)
    } else {
        Ok(false)
    };
    match stored {
        Ok(true) => {}
        // Taken over after a stall longer than the lock timeout: the new holder answers.
        Ok(false) if bytes.len() <= MAX_STORED_BYTES => {
            tracing::warn!("an idempotency key was taken over before its answer was kept");
        }
        Ok(false) => release(app, k, owner).await,
        Err(e) => {
            tracing::warn!(error = %e, "could not keep an answer for its idempotency key");
            release(app, k, owner).await;
        }
    }
    Ok(Response::from_parts(parts, Body::from_bytes(bytes)))
}

/// Frees the key so that a retry runs again (best effort: a row left behind frees itself after
/// [`LOCK_TIMEOUT`]).
async fn release(app: &App, k: &Keyed, owner: Uuid) {
    let deleted = record::Entity::delete_many()
        .filter(record::Column::Principal.eq(k.principal.clone()))
        .filter(record::Column::IdemKey.eq(k.key.clone()))
        .filter(record::Column::Owner.eq(owner))
        .exec(&app.db)
        .await;
    if let Err(e) = deleted {
        tracing::warn!(error = %e, "could not release an idempotency key");
    }
}

/// The kept answer, as first sent, marked as a replay.
fn replay(row: record::Model) -> Response {
    let status = row
        .status
        .and_then(|s| u16::try_from(s).ok())
        .and_then(|s| StatusCode::from_u16(s).ok())
        .unwrap_or(StatusCode::OK);
    let mut resp = Response::builder()
        .status(status)
        .body(row.body.unwrap_or_default());
    let headers: Vec<(String, String)> = row
        .headers
        .and_then(|h| serde_json::from_str(&h).ok())
        .unwrap_or_default();
    for (name, value) in headers {
        if let (Ok(name), Ok(value)) = (
            HeaderName::from_bytes(name.as_bytes()),
            HeaderValue::from_str(&value),
        ) {
            resp.headers_mut().insert(name, value);
        }
    }
    resp.headers_mut()
        .insert(REPLAYED, HeaderValue::from_static("true"));
    resp
}

/// Deletes the keys older than [`KEPT_FOR`] at `now`; returns how many.
pub async fn purge(db: &impl ConnectionTrait, now: DateTime<Utc>) -> Result<u64> {
    Ok(record::Entity::delete_many()
        .filter(record::Column::CreatedAt.lt(now - KEPT_FOR))
        .exec(db)
        .await?
        .rows_affected)
}

/// Purges expired keys every [`PURGE_EVERY`] on this node. Nodes may purge at once: the delete
/// is the same on every one. Expired keys are ignored on lookup anyway; this keeps the table
/// to one day's keys.
pub fn spawn_purger(app: Arc<App>) {
    tokio::spawn(async move {
        loop {
            if let Err(e) = purge(&app.db, app.clock.now()).await {
                tracing::warn!(error = %e, "idempotency key purge failed");
            }
            tokio::time::sleep(PURGE_EVERY).await;
        }
    });
}

/// Documents the key in an OpenAPI document: the `Idempotency-Key` header on every POST that
/// takes a principal (the only ones it applies to), the `Idempotent-Replayed` answer header,
/// and the 409 and 422 the key can cause. poem-openapi adds a header to one operation or to
/// all, never to the POSTs alone, hence this pass over the generated document.
pub fn document(doc: &mut Value) {
    let problem = json!({"$ref": "#/components/schemas/Problem"});
    let parameter = json!({
        "name": HEADER,
        "in": "header",
        "required": false,
        "description": format!(
            "Makes a retry safe: the first answer for this key is kept for 24 hours and sent \
             again (with `{REPLAYED}: true`) for a request with the same key, path, query and \
             body, without running it twice. The same key with another request is 422 \
             `idempotency_key_reused`; while the first still runs, 409 `request_in_progress` \
             with `Retry-After`. Keys are per user; 1 to {MAX_KEY_CHARS} printable ASCII \
             characters (a UUID is a good key)."
        ),
        "schema": {"type": "string", "minLength": 1, "maxLength": MAX_KEY_CHARS,
                   "pattern": "^[ -~]+$"},
    });
    let replayed = json!({
        "description": "`true` when this is the kept answer of an earlier request with the \
                        same `Idempotency-Key`.",
        "required": false,
        "schema": {"type": "string", "enum": ["true"]},
    });
    let answers = [
        (
            "409",
            "`request_in_progress`: a request with this `Idempotency-Key` is still running; \
             retry after `Retry-After` seconds. Or another conflict the operation describes.",
        ),
        (
            "422",
            "`idempotency_key_reused`, or `validation_error` naming the invalid field or \
             header (`Idempotency-Key`).",
        ),
    ];
    let Some(paths) = doc.get_mut("paths").and_then(Value::as_object_mut) else {
        return;
    };
    for op in paths
        .values_mut()
        .filter_map(|p| p.get_mut("post"))
        .filter(|op| takes_principal(op))
    {
        let Some(op) = op.as_object_mut() else {
            continue;
        };
        if let Some(params) = op
            .entry("parameters")
            .or_insert_with(|| json!([]))
            .as_array_mut()
            && !params.iter().any(|p| p["name"] == HEADER)
        {
            params.push(parameter.clone());
        }
        let Some(responses) = op
            .entry("responses")
            .or_insert_with(|| json!({}))
            .as_object_mut()
        else {
            continue;
        };
        for (status, text) in answers {
            responses.entry(status).or_insert_with(|| {
                json!({
                    "description": text,
                    "content": {"application/problem+json": {"schema": problem.clone()}},
                })
            });
        }
        for response in responses.values_mut() {
            if let Some(r) = response.as_object_mut()
                && let Some(headers) = r
                    .entry("headers")
                    .or_insert_with(|| json!({}))
                    .as_object_mut()
            {
                headers.insert(REPLAYED.into(), replayed.clone());
            }
        }
        if let Some(conflict) = responses.get_mut("409").and_then(Value::as_object_mut)
            && let Some(headers) = conflict.get_mut("headers").and_then(Value::as_object_mut)
        {
            headers.entry("Retry-After").or_insert_with(|| {
                json!({"description": "Seconds to wait before retrying a request in progress.",
                       "required": false, "schema": {"type": "integer"}})
            });
        }
    }
    let Some(schemas) = doc
        .pointer_mut("/components/schemas")
        .and_then(Value::as_object_mut)
    else {
        return;
    };
    schemas.entry("Problem").or_insert_with(|| {
        json!({
            "type": "object",
            "description": "An RFC 9457 problem: every error answer is one.",
            "required": ["type", "title", "status", "detail"],
            "properties": {
                "type": {"type": "string", "description": "Stable snake_case identifier."},
                "title": {"type": "string", "description": "Short human summary."},
                "status": {"type": "integer", "description": "The HTTP status."},
                "detail": {"type": "string", "description": "What exactly went wrong."},
                "field": {"type": "string", "description": "The offending input, if any."},
                "request_id": {"type": "string", "description": "The request's id."},
            },
        })
    });
}

/// Whether an operation of the document declares a security requirement that must be met
/// (keys apply to authenticated callers only).
fn takes_principal(op: &Value) -> bool {
    op.get("security")
        .and_then(Value::as_array)
        .is_some_and(|reqs| {
            !reqs.is_empty()
                && reqs
                    .iter()
                    .all(|r| r.as_object().is_some_and(|o| !o.is_empty()))
        })
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    fn row(fingerprint: &str, status: Option<i32>, age: i64, lock_age: i64) -> record::Model {
        let now = at();
        record::Model {
            principal: "tenant:t:user:u".into(),
            idem_key: "k".into(),
            tenant_id: None,
            fingerprint: fingerprint.into(),
            owner: Uuid::now_v7(),
            status,
            headers: None,
            body: None,
            created_at: now - TimeDelta::seconds(age),
            locked_at: now - TimeDelta::seconds(lock_age),
        }
    }

    fn at() -> DateTime<Utc> {
        "2026-06-01T12:00:00Z".parse().unwrap()
    }

    #[test]
    fn fingerprint_covers_method_target_and_body() {
        let base = fingerprint("POST", "/api/v1/contacts?x=1", b"{\"a\":1}");
        assert_eq!(base.len(), 64);
        assert_eq!(
            base,
            fingerprint("POST", "/api/v1/contacts?x=1", b"{\"a\":1}")
        );
        for other in [
            fingerprint("PUT", "/api/v1/contacts?x=1", b"{\"a\":1}"),
            fingerprint("POST", "/api/v1/contacts?x=2", b"{\"a\":1}"),
            fingerprint("POST", "/api/v1/contacts", b"{\"a\":1}"),
            fingerprint("POST", "/api/v1/contacts?x=1", b"{\"a\":2}"),
            // Moving bytes between the target and the body changes the fingerprint.
            fingerprint("POST", "/api/v1/contacts?x=1\n", b"\"a\":1}"),
        ] {
            assert_ne!(base, other);
        }
    }

    #[test]
    fn keys_are_one_printable_ascii_header() {
        let ok = HeaderValue::from_static("0192f0c6-7d1e-7c3b-9a4e-5f1d2c3b4a59");
        assert_eq!(
            parse_key([&ok].into_iter()).unwrap().as_deref(),
            Some("0192f0c6-7d1e-7c3b-9a4e-5f1d2c3b4a59")
        );
        assert_eq!(parse_key(std::iter::empty()).unwrap(), None);
        let longest = HeaderValue::from_str(&"k".repeat(MAX_KEY_CHARS)).unwrap();
        assert!(parse_key([&longest].into_iter()).is_ok());
        let spaced = HeaderValue::from_static("order 12 ~ retry");
        assert!(parse_key([&spaced].into_iter()).is_ok());
        let too_long = HeaderValue::from_str(&"k".repeat(MAX_KEY_CHARS + 1)).unwrap();
        let tab = HeaderValue::from_bytes(b"a\tb").unwrap();
        let latin = HeaderValue::from_bytes("caf\u{e9}".as_bytes()).unwrap();
        let empty = HeaderValue::from_static("");
        for bad in [&too_long, &tab, &latin, &empty] {
            match parse_key([bad].into_iter()) {
                Err(Error::Validation { field, .. }) => assert_eq!(field, HEADER),
                other => panic!("{bad:?} accepted: {other:?}"),
            }
        }
        assert!(parse_key([&ok, &ok].into_iter()).is_err());
    }

    #[test]
    fn state_rules() {
        let now = at();
        // Done, same request: replay; another request: reused.
        assert_eq!(
            judge(&row("f", Some(201), 10, 10), "f", now),
            Verdict::Replay
        );
        assert_eq!(
            judge(&row("f", Some(201), 10, 10), "g", now),
            Verdict::Reused
        );
        // Running: busy until the lock times out, then vacant.
        assert_eq!(judge(&row("f", None, 10, 10), "f", now), Verdict::Busy);
        assert_eq!(judge(&row("f", None, 120, 59), "f", now), Verdict::Busy);
        assert_eq!(judge(&row("f", None, 120, 60), "f", now), Verdict::Vacant);
        // A running row with another request is reused either way.
        assert_eq!(judge(&row("f", None, 120, 120), "g", now), Verdict::Reused);
        // Expired after 24 hours: vacant, whatever it held.
        let day = KEPT_FOR.num_seconds();
        assert_eq!(
            judge(&row("f", Some(201), day - 1, day), "f", now),
            Verdict::Replay
        );
        assert_eq!(
            judge(&row("f", Some(201), day, day), "g", now),
            Verdict::Vacant
        );
        assert_eq!(judge(&row("f", None, day, 1), "f", now), Verdict::Vacant);
    }

    #[test]
    fn kept_answers() {
        for s in [200, 201, 202, 204, 400, 403, 404, 409, 412, 422] {
            assert!(kept(StatusCode::from_u16(s).unwrap()), "{s}");
        }
        for s in [401, 413, 415, 429, 500, 502, 503] {
            assert!(!kept(StatusCode::from_u16(s).unwrap()), "{s}");
        }
    }

    fn keyed(principal: &str, fingerprint: &str) -> Keyed {
        Keyed {
            principal: principal.into(),
            tenant_id: None,
            key: "key-1".into(),
            fingerprint: fingerprint.into(),
        }
    }

    #[tokio::test]
    async fn claims_race_takeover_and_purge_on_the_database() {
        let db = forecourt_migrations::testing::scratch_sqlite()
            .await
            .unwrap();
        let now = at();
        let a = keyed("platform:a", "f");
        let Claim::Run(owner) = claim(&db, &a, now).await.unwrap() else {
            panic!("the first request runs")
        };
        assert!(matches!(claim(&db, &a, now).await.unwrap(), Claim::Busy));
        assert!(matches!(
            claim(&db, &keyed("platform:a", "g"), now).await.unwrap(),
            Claim::Reused
        ));
        // Another principal's same key is its own.
        assert!(matches!(
            claim(&db, &keyed("platform:b", "g"), now).await.unwrap(),
            Claim::Run(_)
        ));
        // The holder went silent: after the lock timeout, one request takes the key over and
        // the old holder can no longer store into it.
        let later = now + LOCK_TIMEOUT;
        let Claim::Run(second) = claim(&db, &a, later).await.unwrap() else {
            panic!("an abandoned key is taken over")
        };
        assert_ne!(owner, second);
        assert!(matches!(claim(&db, &a, later).await.unwrap(), Claim::Busy));
        let stale = mine(&a, owner)
            .col_expr(record::Column::Status, Expr::value(201))
            .exec(&db)
            .await
            .unwrap();
        assert_eq!(stale.rows_affected, 0);
        // Stored, it replays; a day later it is purged.
        mine(&a, second)
            .col_expr(record::Column::Status, Expr::value(201))
            .exec(&db)
            .await
            .unwrap();
        assert!(matches!(
            claim(&db, &a, later).await.unwrap(),
            Claim::Replay(r) if r.status == Some(201)
        ));
        // The other principal's key was claimed first, so it goes first.
        assert_eq!(purge(&db, later + KEPT_FOR).await.unwrap(), 1);
        assert_eq!(purge(&db, later + KEPT_FOR * 2).await.unwrap(), 1);
    }

    #[test]
    fn documents_the_header_on_authenticated_posts_only() {
        let mut doc = json!({
            "paths": {
                "/api/v1/contacts": {
                    "post": {"security": [{"bearer": []}], "responses": {"201": {}}},
                    "get": {"security": [{"bearer": []}], "responses": {"200": {}}},
                },
                "/api/v1/auth/login": {"post": {"responses": {"200": {}}}},
            },
            "components": {"schemas": {}},
        });
        document(&mut doc);
        let post = &doc["paths"]["/api/v1/contacts"]["post"];
        assert_eq!(post["parameters"][0]["name"], HEADER);
        assert_eq!(post["parameters"][0]["in"], "header");
        for status in ["409", "422"] {
            assert_eq!(
                post["responses"][status]["content"]["application/problem+json"]["schema"]["$ref"],
                "#/components/schemas/Problem"
            );
        }
        assert!(post["responses"]["201"]["headers"][REPLAYED].is_object());
        assert!(post["responses"]["409"]["headers"]["Retry-After"].is_object());
        assert!(doc["paths"]["/api/v1/contacts"]["get"]["parameters"].is_null());
        assert!(doc["paths"]["/api/v1/auth/login"]["post"]["parameters"].is_null());
        assert!(doc["components"]["schemas"]["Problem"].is_object());
        // Applying it twice adds nothing.
        let once = doc.clone();
        document(&mut doc);
        assert_eq!(once, doc);
    }
}
