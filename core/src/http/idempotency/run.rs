//! A request's way through its key: the key and fingerprint read from the request, the claim,
//! then the replay, the refusal, or the run whose answer is kept.

use super::{
    HEADER, MAX_KEY_CHARS, MAX_STORED_BYTES, RENEW_EVERY, REPLAYED,
    store::{self, Answer, Claim, Keyed},
};
use crate::{
    App, Error, Result,
    context::{Authenticated, Principal},
    http::{
        edge::{AnswerLanguage, RequestId},
        operations::Access,
        problem::error_to_response,
    },
    i18n::Lang,
    msg,
};
use poem::{
    Body, Endpoint, IntoResponse, Request, Response,
    http::{HeaderName, HeaderValue, Method, StatusCode, header},
};
use sha2::{Digest, Sha256};
use std::sync::Arc;
use tracing::Instrument;
use uuid::Uuid;

/// The answer headers a client needs to use a replayed answer as it would the first.
const KEPT_HEADERS: [HeaderName; 3] = [header::CONTENT_TYPE, header::LOCATION, header::ETAG];

/// Runs `req` through `next` under its `Idempotency-Key`, if it is an authenticated POST to an
/// operation of the API that carries one; any other request goes straight through. Called by
/// the host once the caller is known and the body is in memory.
pub async fn call<E: Endpoint + 'static>(
    app: &Arc<App>,
    access: Access,
    next: E,
    mut req: Request,
) -> poem::Result<Response> {
    let Some(keyed) = keyed(access, &mut req).await? else {
        return next.call(req).await.map(IntoResponse::into_response);
    };
    let rid = req
        .extensions()
        .get::<RequestId>()
        .map(|r| r.0.clone())
        .unwrap_or_default();
    // Chosen by the edge and the host before the handler runs, read when an answer is written.
    let language = req
        .extensions()
        .get::<AnswerLanguage>()
        .cloned()
        .unwrap_or_default();
    match store::claim(&app.db, &keyed, app.clock.now()).await? {
        Claim::Replay(answer) => Ok(replay(answer)),
        Claim::Reused => Err(Error::Validation {
            kind: "idempotency_key_reused",
            field: HEADER.into(),
            detail: msg!(
                "this idempotency key was already used for another request (another path or \
                 body); send a new key for a new request"
            ),
        }
        .into()),
        Claim::Busy => {
            let busy = Error::Conflict {
                kind: "request_in_progress",
                detail: msg!(
                    "a request with this idempotency key is still running; retry in a second \
                     to get its answer"
                ),
                field: Some(HEADER.into()),
            };
            let mut resp = error_to_response(busy.into(), &rid, language.get());
            resp.headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(1));
            Ok(resp)
        }
        Claim::Run(owner) => {
            // The run goes on in a task of its own: a client that hangs up (the very case a key
            // is for) must not cut a write in half, and its retry then finds the answer.
            let app = app.clone();
            let task = tokio::spawn(
                async move {
                    let run = async { next.call(req).await.map(IntoResponse::into_response) };
                    let outcome = renewing(&app, &keyed, owner, run).await;
                    settle(&app, &keyed, owner, outcome, &rid, language.get()).await
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
async fn keyed(access: Access, req: &mut Request) -> Result<Option<Keyed>> {
    if req.method() != Method::POST || access == Access::Unknown {
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
        Principal::Reseller { user_id, .. } | Principal::Operator { user_id } => {
            (format!("platform:{user_id}"), None)
        }
    }
}

/// The key the request carries, if any: one header of 1 to [`MAX_KEY_CHARS`] printable ASCII
/// characters, else 422 naming the header.
fn parse_key<'a>(mut values: impl Iterator<Item = &'a HeaderValue>) -> Result<Option<String>> {
    let Some(value) = values.next() else {
        return Ok(None);
    };
    if values.next().is_some() {
        return Err(Error::invalid(
            HEADER,
            msg!("send one idempotency key per request, not several"),
        ));
    }
    let bytes = value.as_bytes();
    let length = bytes.len();
    if length == 0 || length > MAX_KEY_CHARS {
        return Err(Error::invalid(
            HEADER,
            msg!(
                "an idempotency key has 1 to {max} characters; this one has {length}",
                max = MAX_KEY_CHARS,
                length
            ),
        ));
    }
    if !bytes.iter().all(|b| (0x20..=0x7e).contains(b)) {
        return Err(Error::invalid(
            HEADER,
            msg!(
                "an idempotency key holds printable ASCII characters only (no control or \
                 non-ASCII characters); a UUID is a good key"
            ),
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
                if let Err(e) = store::renew(&app.db, k, owner, app.clock.now()).await {
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
    lang: Lang,
) -> poem::Result<Response> {
    let resp = match outcome {
        Ok(resp) => resp,
        // Rendered here, as the edge would, so that the kept bytes are those the client gets.
        Err(e) if kept(e.status()) => error_to_response(e, rid, lang),
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
    if bytes.len() > MAX_STORED_BYTES {
        release(app, k, owner).await;
        return Ok(Response::from_parts(parts, Body::from_bytes(bytes)));
    }
    let answer = Answer {
        status: parts.status.as_u16(),
        headers: KEPT_HEADERS
            .iter()
            .filter_map(|name| {
                let value = parts.headers.get(name)?.to_str().ok()?;
                Some((name.as_str().to_string(), value.to_string()))
            })
            .collect(),
        body: bytes.to_vec(),
    };
    match store::keep(&app.db, k, owner, &answer).await {
        Ok(true) => {}
        // Taken over after a stall longer than the lock timeout: the new holder answers.
        Ok(false) => tracing::warn!("an idempotency key was taken over before its answer was kept"),
        Err(e) => {
            tracing::warn!(error = %e, "could not keep an answer for its idempotency key");
            release(app, k, owner).await;
        }
    }
    Ok(Response::from_parts(parts, Body::from_bytes(bytes)))
}

/// Frees the key so that a retry runs again (best effort: a row left behind frees itself after
/// the lock timeout).
async fn release(app: &App, k: &Keyed, owner: Uuid) {
    if let Err(e) = store::release(&app.db, k, owner).await {
        tracing::warn!(error = %e, "could not release an idempotency key");
    }
}

/// The kept answer, as first sent, marked as a replay.
fn replay(answer: Answer) -> Response {
    let mut resp = Response::builder()
        .status(StatusCode::from_u16(answer.status).unwrap_or(StatusCode::OK))
        .body(answer.body);
    for (name, value) in answer.headers {
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

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

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
    fn kept_answers() {
        for s in [200, 201, 202, 204, 400, 403, 404, 409, 412, 422] {
            assert!(kept(StatusCode::from_u16(s).unwrap()), "{s}");
        }
        for s in [401, 413, 415, 429, 500, 502, 503] {
            assert!(!kept(StatusCode::from_u16(s).unwrap()), "{s}");
        }
    }

    #[test]
    fn replays_the_answer_with_its_headers() {
        let resp = replay(Answer {
            status: 201,
            headers: vec![
                ("content-type".into(), "application/json".into()),
                ("etag".into(), "\"3\"".into()),
            ],
            body: b"{}".to_vec(),
        });
        assert_eq!(resp.status(), StatusCode::CREATED);
        assert_eq!(resp.headers()["etag"], "\"3\"");
        assert_eq!(resp.headers()["content-type"], "application/json");
        assert_eq!(resp.headers()[REPLAYED], "true");
    }
}
