//! Logging in (with the failed-attempt throttle) and out.

use crate::{
    auth::{
        accounts::{Account, find_account},
        credentials::{issue_credential, revoke_token},
        views::LoginResponse,
    },
    directory::SESSION,
    entities::{platform_user, tenant},
    password,
};
use chrono::Duration as ChronoDuration;
use forecourt_core::msg;
use forecourt_core::{
    App, Error, Result, cache::CacheKey, context::Authenticated, http::tenant_suspended,
    secret::token_hash,
};
use sea_orm::EntityTrait;
use std::time::Duration;

/// The failed-login counters of an account (by email) and of a client address.
pub(crate) fn throttle_keys(email: &str, ip: &str) -> (CacheKey, CacheKey) {
    (
        CacheKey::platform(&format!("login:acct:{}", token_hash(email))),
        CacheKey::platform(&format!("login:addr:{ip}")),
    )
}

/// Exchanges an email and password, from client address `ip`, for a session.
pub(crate) async fn login(
    app: &App,
    ip: &str,
    email: &str,
    given_password: &str,
) -> Result<LoginResponse> {
    let email = email.trim().to_lowercase();
    let (acct_key, ip_key) = throttle_keys(&email, ip);
    let window = Duration::from_secs(app.config.login_window_secs);
    if app.cache.count(&acct_key).await >= app.config.login_max_failures_per_account
        || app.cache.count(&ip_key).await >= app.config.login_max_failures_per_address
    {
        return Err(Error::TooManyRequests {
            retry_after: app.config.login_window_secs,
        });
    }
    let found = find_account(app, &email).await?;
    let ok = password::verify(given_password, found.as_ref().and_then(|f| f.1.as_deref())).await;
    let Some((account, _, user)) = found.filter(|_| ok) else {
        app.cache.incr(&acct_key, window).await;
        app.cache.incr(&ip_key, window).await;
        return Err(Error::Unauthorized);
    };
    app.cache.delete(&acct_key).await;
    let kind = match account {
        Account::Tenant { tenant_id, .. } => {
            let t = tenant::Entity::find_by_id(tenant_id).one(&app.db).await?;
            if t.is_some_and(|t| t.status == "suspended") {
                return Err(tenant_suspended());
            }
            "tenant"
        }
        Account::Platform(pid) => {
            let p = platform_user::Entity::find_by_id(pid).one(&app.db).await?;
            if p.and_then(|p| p.reseller_id).is_some() {
                "reseller"
            } else {
                "operator"
            }
        }
    };
    let ttl = ChronoDuration::hours(app.config.token_ttl_hours);
    let token = issue_credential(&app.db, app, SESSION, account, Some(ttl), None).await?;
    Ok(LoginResponse {
        token,
        expires_at: app.clock.now() + ttl,
        user,
        kind: kind.into(),
    })
}

/// Revokes the credential of this call; API keys are revoked as keys, not logged out.
pub(crate) async fn logout(app: &App, auth: &Authenticated) -> Result<()> {
    if auth.via_api_key {
        return Err(Error::forbidden(msg!(
            "API keys are revoked through /api/v1/api-keys"
        )));
    }
    revoke_token(&app.db, &auth.token_hash, app.clock.now()).await?;
    let tenant = auth.principal.tenant().map(|u| u.tenant_id);
    app.announce(crate::directory::principals_changed(tenant))
        .await;
    Ok(())
}
