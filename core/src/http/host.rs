//! The host middleware: everything decided about a request before its handler runs (input
//! text, body size, authentication, tenant status, licence gating, undocumented query
//! parameters, the write gate), and the
//! tenant facts it leaves in the request for handlers.

use super::{
    edge::AnswerLanguage,
    operations::{Access, Operations},
};
use crate::msg;
use crate::{
    App, Error,
    context::{Principal, TenantInfo},
    i18n::Lang,
};
use poem::{
    Endpoint, Request, Response,
    http::{Method, header},
};
use std::sync::Arc;

/// The text of the path and query string (no control characters), declared body size,
/// authentication, tenant status, licence gating, then the body itself (within the route's
/// limit), in that order, before any handler runs. Credentials that do not resolve leave the
/// request anonymous; an anonymous request to an operation that needs a principal is answered
/// 401 here, before a byte of its body is read, and one to no known operation goes to the
/// router (404, 405) with its body unread. Last, a POST with an `Idempotency-Key` goes
/// through [`super::idempotency::run::call`].
pub async fn host<E: Endpoint + 'static>(
    next: E,
    mut req: Request,
    app: Arc<App>,
    operations: Arc<Operations>,
) -> poem::Result<Response> {
    // Query parameters and path segments reach handlers (and the database) as text: one
    // check here covers every route, including the unauthenticated ones.
    crate::input::check_uri(req.uri())?;
    // The route is looked up once; every decision below reads this answer.
    let access = operations.access(req.method(), req.uri().path());
    // A path that exists with other methods: 405 naming them in `Allow`, before anything else.
    if access == Access::Unknown {
        let allowed = operations.allowed(req.uri().path());
        if !allowed.is_empty() && !allowed.contains(req.method()) {
            let allow = allowed
                .iter()
                .map(Method::as_str)
                .collect::<Vec<_>>()
                .join(", ");
            return Err(Error::MethodNotAllowed { allow: Some(allow) }.into());
        }
    }
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
            if let (Some(language), Some(lang)) = (
                req.extensions().get::<AnswerLanguage>(),
                Lang::from_tag(&info.language),
            ) {
                language.choose(lang);
            }
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
    // One check for every operation: a query parameter it does not document is refused.
    operations.check_query(req.method(), req.uri().path(), req.uri().query())?;
    // Read after authentication and gating, so a caller who may not post here cannot make the
    // node buffer an upload-sized body.
    let mut writes = !matches!(*req.method(), Method::GET | Method::HEAD | Method::OPTIONS);
    if writes && anonymous {
        // Only the operations that take anonymous callers get their body read for them.
        match access {
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
    // A POST with an `Idempotency-Key` runs at most once per key; any other goes straight on.
    super::idempotency::run::call(&app, access, next, req).await
}

/// The 403 a suspended tenant's users get.
pub fn tenant_suspended() -> Error {
    Error::Forbidden {
        kind: "tenant_suspended",
        detail: msg!("this tenant's subscription is suspended; contact your reseller"),
        extra: None,
    }
}

/// The tenant facts the host resolved for this request (licence, language, country).
pub fn tenant_info(req: &Request) -> Option<&TenantInfo> {
    req.extensions().get::<TenantInfo>()
}
