//! Setting a password through a single-use link: invitations, and resets asked for by email.
//! These run before anyone is signed in, so there is no tenant context: the link itself
//! names the account.

use crate::{
    auth::{
        accounts::{Account, find_account, set_password, tenant_user},
        credentials::{consume, issue_credential, live_link, revoke_kinds},
        sessions::throttle_keys,
    },
    directory::{INVITATION, PASSWORD_RESET, SESSION, principals_changed},
    entities::{credential, platform_user, tenant},
    password,
};
use chrono::Duration as ChronoDuration;
use forecourt_core::{
    App, Error, Result,
    cache::CacheKey,
    context::TenantUser,
    secret::token_hash,
    uow::{Activity, Uow},
};
use sea_orm::{ConnectionTrait, EntityTrait};
use std::{sync::Arc, time::Duration};
use uuid::Uuid;

/// How long a password reset link works.
pub const RESET_TTL_MINUTES: i64 = 60;

/// Queues an invitation mail with a single-use link to set a password.
#[allow(clippy::too_many_arguments)]
pub async fn invite(
    conn: &impl ConnectionTrait,
    app: &App,
    account: Account,
    tenant_id: Option<Uuid>,
    email: &str,
    name: &str,
    org_name: &str,
    language: &str,
) -> Result<()> {
    let ttl = ChronoDuration::hours(app.config.invitation_ttl_hours);
    let token = issue_credential(conn, app, INVITATION, account, Some(ttl), None).await?;
    let link = format!(
        "{}/accept-invitation?token={token}",
        app.config.public_url.trim_end_matches('/')
    );
    let expires = (app.clock.now() + ttl)
        .format("%Y-%m-%d %H:%M UTC")
        .to_string();
    let ctx = serde_json::json!({ "name": name, "tenant_name": org_name, "link": link, "expires_at": expires });
    app.mail
        .enqueue(
            conn,
            app.clock.now(),
            tenant_id,
            email,
            "invitation",
            language,
            &ctx,
        )
        .await?;
    Ok(())
}

fn reset_throttle_keys(email: &str, ip: &str) -> (CacheKey, CacheKey) {
    (
        CacheKey::platform(&format!("reset:acct:{}", token_hash(email))),
        CacheKey::platform(&format!("reset:addr:{ip}")),
    )
}

/// Counts a reset request from `ip` for `email` (429 beyond the limits) and prepares the
/// link after returning, so the answer takes the same time whether or not the account exists.
pub(crate) async fn request_reset(app: &Arc<App>, ip: &str, email: String) -> Result<()> {
    let (acct_key, ip_key) = reset_throttle_keys(&email, ip);
    if app.cache.count(&acct_key).await >= app.config.login_max_failures_per_account
        || app.cache.count(&ip_key).await >= app.config.login_max_failures_per_address
    {
        return Err(Error::TooManyRequests {
            retry_after: app.config.login_window_secs,
        });
    }
    let window = Duration::from_secs(app.config.login_window_secs);
    app.cache.incr(&acct_key, window).await;
    app.cache.incr(&ip_key, window).await;
    let app = Arc::clone(app);
    tokio::spawn(async move {
        if let Err(e) = send_reset_link(&app, &email).await {
            tracing::error!(error = %e, "password reset link not sent");
        }
    });
    Ok(())
}

/// Mails a reset link to the account that signs in with `email`, if there is one. Runs after
/// the request has been answered (see [`request_reset`]).
async fn send_reset_link(app: &App, email: &str) -> Result<()> {
    let Some((account, _, who)) = find_account(app, email).await? else {
        return Ok(());
    };
    let language = match account {
        Account::Tenant { tenant_id, .. } => tenant::Entity::find_by_id(tenant_id)
            .one(&app.db)
            .await?
            .map(|t| t.language)
            .unwrap_or_else(|| "en".into()),
        // Platform accounts have no language of their own.
        Account::Platform(_) => "en".into(),
    };
    let _turn = app.write_gate.enter().await;
    let now = app.clock.now();
    let ttl = ChronoDuration::minutes(RESET_TTL_MINUTES);
    let txn = forecourt_core::db::begin(&app.db).await?;
    // One live link per account: a new request voids the earlier ones.
    revoke_kinds(&txn, account, &[PASSWORD_RESET], now).await?;
    let token = issue_credential(&txn, app, PASSWORD_RESET, account, Some(ttl), None).await?;
    let link = format!(
        "{}/reset-password?token={token}",
        app.config.public_url.trim_end_matches('/')
    );
    let expires = (now + ttl).format("%Y-%m-%d %H:%M UTC").to_string();
    let tenant_id = match account {
        Account::Tenant { tenant_id, .. } => Some(tenant_id),
        Account::Platform(_) => None,
    };
    app.mail
        .enqueue(
            &txn,
            now,
            tenant_id,
            &who.email,
            "password_reset",
            &language,
            &serde_json::json!({"name": who.name, "link": link, "expires_at": expires}),
        )
        .await?;
    txn.commit().await?;
    app.mail.wake();
    Ok(())
}

/// Sets the password of an invited account with the invitation's single-use token.
pub(crate) async fn accept_invitation(app: &App, token: &str, new_password: &str) -> Result<()> {
    password::check_new("password", new_password)?;
    let now = app.clock.now();
    let gone = || Error::NotFound("invitation");
    let (link, account) = live_link(app, token, INVITATION, now)
        .await?
        .ok_or_else(gone)?;
    let hash = password::hash(new_password).await?;
    let txn = forecourt_core::db::begin(&app.db).await?;
    if !consume(&txn, &link, now).await? {
        return Err(gone());
    }
    set_password(&txn, account, hash, now).await?;
    txn.commit().await?;
    Ok(())
}

/// Sets the password of a reset link's account, consumes the link, and signs the account out
/// everywhere (sessions, other reset links, pending invitations; API keys stay).
pub(crate) async fn confirm_reset(app: &App, token: &str, new_password: &str) -> Result<()> {
    password::check_new("password", new_password)?;
    let now = app.clock.now();
    let gone = || Error::NotFound("password reset");
    let (link, account) = live_link(app, token, PASSWORD_RESET, now)
        .await?
        .ok_or_else(gone)?;
    let email = match account {
        Account::Platform(pid) => {
            platform_user::Entity::find_by_id(pid)
                .one(&app.db)
                .await?
                .ok_or_else(gone)?
                .email
        }
        Account::Tenant { tenant_id, user_id } => {
            tenant_user(&app.db, tenant_id, user_id)
                .await?
                .filter(|u| u.active)
                .ok_or_else(gone)?
                .email
        }
    };
    let hash = password::hash(new_password).await?;
    match account {
        Account::Tenant { tenant_id, user_id } => {
            // The holder of the link acts as the user: nobody is signed in, and the user may
            // hold no grant at all, so the link is what proves who acts.
            let me = TenantUser {
                tenant_id,
                user_id,
                establishment_id: None,
                team_ids: vec![],
            };
            let uow = Uow::on_behalf_of(app, &me).await?.at(now);
            reset_credentials(uow.txn(), &link, account, hash, now).await?;
            uow.record(Activity::new("user", user_id, "password_reset"))
                .await?;
            uow.commit().await?;
        }
        Account::Platform { .. } => {
            let txn = forecourt_core::db::begin(&app.db).await?;
            reset_credentials(&txn, &link, account, hash, now).await?;
            txn.commit().await?;
        }
    }
    // The sessions it revoked end on every node now.
    app.announce(principals_changed(account.tenant_id())).await;
    // The new password starts with a clean slate of failed logins.
    app.cache.delete(&throttle_keys(&email, "").0).await;
    Ok(())
}

/// Consumes a reset link (404 when another request used it first), sets the new password
/// and signs out whoever held the old one: sessions, other reset links, pending invitations.
async fn reset_credentials(
    conn: &impl ConnectionTrait,
    link: &credential::Model,
    account: Account,
    hash: String,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<()> {
    if !consume(conn, link, now).await? {
        return Err(Error::NotFound("password reset"));
    }
    set_password(conn, account, hash, now).await?;
    revoke_kinds(conn, account, &[SESSION, PASSWORD_RESET, INVITATION], now).await
}
