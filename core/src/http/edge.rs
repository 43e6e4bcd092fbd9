//! The outermost middleware: the request id, the tracing span and access log, the limits on
//! the request target and headers, and problem+json for every error that gets this far.

use super::problem::error_to_response;
use crate::{
    error::{Problem, problem_response},
    i18n::Lang,
    msg,
};
use poem::{
    Endpoint, IntoResponse, Request, Response,
    http::{HeaderValue, StatusCode, header},
};
use std::{
    sync::{Arc, OnceLock},
    time::Instant,
};
use tracing::Instrument;
use uuid::Uuid;

/// The request id, in request extensions and the `x-request-id` header.
#[derive(Debug, Clone)]
pub struct RequestId(pub String);

/// The language of this request's answers: the caller's `Accept-Language` when it names one
/// of ours, else the one the host chooses once it knows the tenant (its language), else
/// English. Shared between the edge, which writes problems, and the host, which learns the
/// tenant: the first choice stands.
#[derive(Debug, Clone, Default)]
pub struct AnswerLanguage(Arc<OnceLock<Lang>>);

impl AnswerLanguage {
    /// Chooses `lang` unless a language was chosen already.
    pub fn choose(&self, lang: Lang) {
        let _ = self.0.set(lang);
    }

    /// The chosen language; English when none was.
    pub fn get(&self) -> Lang {
        self.0.get().copied().unwrap_or_default()
    }
}

/// Longest request target (path and query) a request may have: no operation needs more, and
/// a longer one is a probe or a client bug. (hyper itself refuses 64 KiB and more; `web`
/// turns that refusal into the same problem.)
pub const MAX_URI_BYTES: usize = 16 * 1024;
/// Largest sum of header names and values a request may have: a bearer token and the usual
/// headers take a few KiB.
pub const MAX_HEADER_BYTES: usize = 64 * 1024;

/// The 414 or 431 for a request whose target or headers exceed the limits above.
fn oversized(req: &Request, lang: Lang) -> Option<Problem> {
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
            msg!("URI too long"),
            msg!(
                "the request URI has {uri} bytes, more than {MAX_URI_BYTES}; send long input \
                 in a body",
                uri,
                MAX_URI_BYTES
            ),
        )
    } else if headers > MAX_HEADER_BYTES {
        (
            StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE,
            "headers_too_large",
            msg!("Request headers too large"),
            msg!(
                "the request headers have {headers} bytes, more than {MAX_HEADER_BYTES}",
                headers,
                MAX_HEADER_BYTES
            ),
        )
    } else {
        return None;
    };
    Some(Problem {
        kind: kind.into(),
        title: title.render(lang),
        status: status.as_u16(),
        detail: detail.render(lang),
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
    let language = AnswerLanguage::default();
    if let Some(lang) = req
        .headers()
        .get(header::ACCEPT_LANGUAGE)
        .and_then(|v| v.to_str().ok())
        .and_then(Lang::negotiate)
    {
        language.choose(lang);
    }
    req.extensions_mut().insert(language.clone());
    let refused = oversized(&req, language.get());
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
                Err(e) => error_to_response(e, &rid, language.get()),
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
