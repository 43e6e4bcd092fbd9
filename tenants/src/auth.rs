//! Login, logout, invitations and `/me`.

use crate::{
    Tags,
    directory::{API_KEY, INVITATION, PASSWORD_RESET, SESSION},
    entities::{credential, login_email, platform_user, reseller, tenant, user},
    password,
};
use chrono::Duration as ChronoDuration;
use forecourt_core::{
    App, Error, Result,
    access::Tier,
    authz,
    cache::CacheKey,
    context::Principal,
    http::{Auth, JsonBody, NoContent, tenant_suspended},
    mail::parse_email,
    secret::{new_token, token_hash},
};
use poem::{Request, web::Data};
use poem_openapi::{ApiResponse, Object, OpenApi, payload::Json};
use sea_orm::{
    ActiveValue::Set, ColumnTrait, Condition, ConnectionTrait, EntityTrait, QueryFilter,
    prelude::Expr, sea_query::OnConflict,
};
use std::{sync::Arc, time::Duration};
use uuid::Uuid;

/// Whose login an email is.
#[derive(Debug, Clone, Copy)]
pub enum Account {
    /// An operator or reseller account.
    Platform(Uuid),
    /// A tenant user.
    Tenant {
        /// The tenant.
        tenant_id: Uuid,
        /// The user.
        user_id: Uuid,
    },
}

/// Reserves an email for one account across the platform; 409 when it is taken.
pub async fn claim_email(conn: &impl ConnectionTrait, email: &str, account: Account) -> Result<()> {
    if try_claim_email(conn, email, account).await? {
        Ok(())
    } else {
        Err(email_taken())
    }
}

/// Reserves an email for one account across the platform; `false` (and nothing written)
/// when another account holds it. The insert itself decides (`ON CONFLICT DO NOTHING`), so
/// of two concurrent claims exactly one wins and the other is not an error inside its
/// transaction (which PostgreSQL would abort).
pub async fn try_claim_email(
    conn: &impl ConnectionTrait,
    email: &str,
    account: Account,
) -> Result<bool> {
    let (p, t, u) = match account {
        Account::Platform(id) => (Some(id), None, None),
        Account::Tenant { tenant_id, user_id } => (None, Some(tenant_id), Some(user_id)),
    };
    let inserted = login_email::Entity::insert(login_email::ActiveModel {
        email: Set(email.to_string()),
        platform_user_id: Set(p),
        tenant_id: Set(t),
        user_id: Set(u),
    })
    .on_conflict(
        OnConflict::column(login_email::Column::Email)
            .do_nothing()
            .to_owned(),
    )
    .exec_without_returning(conn)
    .await?;
    Ok(inserted == 1)
}

/// The 409 for an email another account of the same scope already uses.
pub fn email_taken() -> Error {
    Error::Conflict {
        kind: "email_taken",
        detail: "this email is already used by an account".into(),
        field: Some("email".into()),
    }
}

/// Stores a credential for an account and returns the secret to hand out.
pub async fn issue_credential(
    conn: &impl ConnectionTrait,
    app: &App,
    kind: &str,
    account: Account,
    ttl: Option<ChronoDuration>,
    api_key_id: Option<Uuid>,
) -> Result<String> {
    let prefix = match kind {
        SESSION => "fct_",
        API_KEY => "fck_",
        PASSWORD_RESET => "fcr_",
        _ => "fci_",
    };
    let token = new_token(prefix);
    let now = app.clock.now();
    let (p, t, u) = match account {
        Account::Platform(id) => (Some(id), None, None),
        Account::Tenant { tenant_id, user_id } => (None, Some(tenant_id), Some(user_id)),
    };
    credential::Entity::insert(credential::ActiveModel {
        token_hash: Set(token_hash(&token)),
        kind: Set(kind.to_string()),
        platform_user_id: Set(p),
        tenant_id: Set(t),
        user_id: Set(u),
        api_key_id: Set(api_key_id),
        created_at: Set(now),
        expires_at: Set(ttl.map(|d| now + d)),
        revoked_at: Set(None),
    })
    .exec_without_returning(conn)
    .await?;
    Ok(token)
}

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

/// Revokes every session and API key of a tenant user (deactivation).
pub async fn revoke_all(
    conn: &impl ConnectionTrait,
    app: &App,
    tenant_id: Uuid,
    user_id: Uuid,
) -> Result<()> {
    credential::Entity::update_many()
        .col_expr(credential::Column::RevokedAt, Expr::value(app.clock.now()))
        .filter(credential::Column::TenantId.eq(tenant_id))
        .filter(credential::Column::UserId.eq(user_id))
        .filter(credential::Column::RevokedAt.is_null())
        .exec(conn)
        .await?;
    Ok(())
}

/// Credentials to log in with.
#[derive(Object, serde::Deserialize)]
#[oai(deny_unknown_fields)]
#[serde(deny_unknown_fields)]
pub struct LoginRequest {
    /// The account's email.
    #[oai(validator(max_length = 254))]
    pub email: String,
    /// The account's password.
    #[oai(validator(max_length = 256))]
    pub password: String,
}

/// A user as shown to themself.
#[derive(Object, Clone)]
pub struct UserBrief {
    /// The user's id.
    pub id: Uuid,
    /// Login email.
    pub email: String,
    /// Display name.
    pub name: String,
}

/// What a successful login returns.
#[derive(Object)]
pub struct LoginResponse {
    /// Bearer token for `Authorization: Bearer <token>`; expires after `token_ttl_hours`.
    pub token: String,
    /// When the token expires.
    pub expires_at: chrono::DateTime<chrono::Utc>,
    /// Who logged in.
    pub user: UserBrief,
    /// `operator`, `reseller` or `tenant`.
    pub kind: String,
}

/// Setting a password from an invitation link.
#[derive(Object, serde::Deserialize)]
#[oai(deny_unknown_fields)]
#[serde(deny_unknown_fields)]
pub struct AcceptInvitation {
    /// The `token` of the invitation link.
    #[oai(validator(max_length = 256))]
    pub token: String,
    /// The new password (at least 10 characters).
    #[oai(validator(max_length = 256))]
    pub password: String,
}

/// Asking for a link to choose a new password.
#[derive(Object, serde::Deserialize)]
#[oai(deny_unknown_fields)]
#[serde(deny_unknown_fields)]
pub struct PasswordResetRequest {
    /// The email the account signs in with.
    #[oai(validator(max_length = 254))]
    pub email: String,
}

/// The answer to a reset request: the same whether or not an account uses the address.
#[derive(Object)]
pub struct PasswordResetAccepted {
    /// What happens next, for the person who asked.
    pub detail: String,
}

/// The answer to a reset request.
#[derive(ApiResponse)]
pub enum PasswordResetAnswer {
    /// Accepted: a link is mailed if an account signs in with this address.
    #[oai(status = 202)]
    Accepted(Json<PasswordResetAccepted>),
}

/// Choosing a new password with the token of a reset link.
#[derive(Object, serde::Deserialize)]
#[oai(deny_unknown_fields)]
#[serde(deny_unknown_fields)]
pub struct ConfirmPasswordReset {
    /// The `token` of the reset link.
    #[oai(validator(max_length = 256))]
    pub token: String,
    /// The new password (at least 10 characters).
    #[oai(validator(max_length = 256))]
    pub password: String,
}

/// The caller's tenant.
#[derive(Object)]
pub struct MeTenant {
    /// Tenant id.
    pub id: Uuid,
    /// Tenant name.
    pub name: String,
    /// Licence tier.
    pub licence: Tier,
    /// Default country.
    pub country: String,
    /// Default language.
    pub language: String,
}

/// The caller's reseller.
#[derive(Object)]
pub struct MeReseller {
    /// Reseller id.
    pub id: Uuid,
    /// Reseller name.
    pub name: String,
}

/// The current caller.
#[derive(Object)]
pub struct Me {
    /// `operator`, `reseller` or `tenant`.
    pub kind: String,
    /// The user.
    pub user: UserBrief,
    /// The tenant, for tenant users.
    #[oai(nullable)]
    pub tenant: Option<MeTenant>,
    /// The reseller, for reseller users.
    #[oai(nullable)]
    pub reseller: Option<MeReseller>,
    /// The user's roles (tenant users).
    pub roles: Vec<String>,
    /// The modules enabled for the tenant (licensed and not switched off).
    pub modules: Vec<String>,
}

/// Login, logout, invitations, the current user.
pub struct AuthApi;

fn throttle_keys(email: &str, ip: &str) -> (CacheKey, CacheKey) {
    (
        CacheKey::platform(&format!("login:acct:{}", token_hash(email))),
        CacheKey::platform(&format!("login:addr:{ip}")),
    )
}

fn reset_throttle_keys(email: &str, ip: &str) -> (CacheKey, CacheKey) {
    (
        CacheKey::platform(&format!("reset:acct:{}", token_hash(email))),
        CacheKey::platform(&format!("reset:addr:{ip}")),
    )
}

fn client_ip(req: &Request) -> String {
    req.remote_addr()
        .as_socket_addr()
        .map(|a| a.ip().to_string())
        .unwrap_or_else(|| "unknown".into())
}

/// How long a password reset link works.
pub const RESET_TTL_MINUTES: i64 = 60;

/// The credentials of one account.
fn of_account(account: Account) -> Condition {
    match account {
        Account::Platform(id) => Condition::all().add(credential::Column::PlatformUserId.eq(id)),
        Account::Tenant { tenant_id, user_id } => Condition::all()
            .add(credential::Column::TenantId.eq(tenant_id))
            .add(credential::Column::UserId.eq(user_id)),
    }
}

/// Revokes an account's unused credentials of the given kinds.
async fn revoke_kinds(
    conn: &impl ConnectionTrait,
    account: Account,
    kinds: &[&str],
    now: chrono::DateTime<chrono::Utc>,
) -> Result<()> {
    credential::Entity::update_many()
        .col_expr(credential::Column::RevokedAt, Expr::value(now))
        .filter(of_account(account))
        .filter(credential::Column::Kind.is_in(kinds.iter().copied()))
        .filter(credential::Column::RevokedAt.is_null())
        .exec(conn)
        .await?;
    Ok(())
}

/// The credential of a single-use link (`kind`: an invitation or a password reset) while it
/// is unused and unexpired, with the account it sets the password of.
async fn live_link(
    app: &App,
    token: &str,
    kind: &str,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<Option<(credential::Model, Account)>> {
    let found = credential::Entity::find_by_id(token_hash(token.trim()))
        .one(&app.db)
        .await?
        .filter(|c| {
            c.kind == kind && c.revoked_at.is_none() && c.expires_at.is_none_or(|e| e > now)
        });
    Ok(found.and_then(|c| {
        let account = match (c.platform_user_id, c.tenant_id, c.user_id) {
            (Some(pid), _, _) => Account::Platform(pid),
            (None, Some(tenant_id), Some(user_id)) => Account::Tenant { tenant_id, user_id },
            _ => return None,
        };
        Some((c, account))
    }))
}

/// Uses up a single-use link, conditionally: of two concurrent uses, one wins and the other
/// gets `false`.
async fn consume(
    conn: &impl ConnectionTrait,
    link: &credential::Model,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<bool> {
    let used = credential::Entity::update_many()
        .col_expr(credential::Column::RevokedAt, Expr::value(now))
        .filter(credential::Column::TokenHash.eq(link.token_hash.clone()))
        .filter(credential::Column::RevokedAt.is_null())
        .exec(conn)
        .await?;
    Ok(used.rows_affected == 1)
}

/// Stores an account's new password hash.
async fn set_password(
    conn: &impl ConnectionTrait,
    account: Account,
    hash: String,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<()> {
    match account {
        Account::Platform(pid) => {
            platform_user::Entity::update_many()
                .col_expr(platform_user::Column::PasswordHash, Expr::value(hash))
                .filter(platform_user::Column::Id.eq(pid))
                .exec(conn)
                .await?;
        }
        Account::Tenant { tenant_id, user_id } => {
            user::Entity::update_many()
                .col_expr(user::Column::PasswordHash, Expr::value(hash))
                .col_expr(user::Column::UpdatedAt, Expr::value(now))
                .filter(user::Column::TenantId.eq(tenant_id))
                .filter(user::Column::Id.eq(user_id))
                .exec(conn)
                .await?;
        }
    }
    Ok(())
}

/// Mails a reset link to the account that signs in with `email`, if there is one. Runs after
/// the request has been answered (see [`AuthApi::request_reset`]).
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

async fn find_account(
    app: &App,
    email: &str,
) -> Result<Option<(Account, Option<String>, UserBrief)>> {
    let Some(l) = login_email::Entity::find_by_id(email.to_string())
        .one(&app.db)
        .await?
    else {
        return Ok(None);
    };
    if let Some(pid) = l.platform_user_id {
        return Ok(platform_user::Entity::find_by_id(pid)
            .one(&app.db)
            .await?
            .map(|p| {
                (
                    Account::Platform(p.id),
                    p.password_hash,
                    UserBrief {
                        id: p.id,
                        email: p.email,
                        name: p.name,
                    },
                )
            }));
    }
    if let (Some(tid), Some(uid)) = (l.tenant_id, l.user_id) {
        return Ok(user::Entity::find_by_id((tid, uid))
            .one(&app.db)
            .await?
            .filter(|u| u.active)
            .map(|u| {
                (
                    Account::Tenant {
                        tenant_id: tid,
                        user_id: uid,
                    },
                    u.password_hash,
                    UserBrief {
                        id: u.id,
                        email: u.email,
                        name: u.name,
                    },
                )
            }));
    }
    Ok(None)
}

#[OpenApi(prefix_path = "/api/v1", tag = "Tags::Auth")]
impl AuthApi {
    /// Log in
    ///
    /// Exchanges an email and password for a bearer token. A wrong password and an unknown
    /// email get the same 401. After repeated failures for one account or from one address,
    /// attempts are refused with 429 and `Retry-After` for the rest of the window.
    #[oai(path = "/auth/login", method = "post")]
    async fn login(
        &self,
        app: Data<&Arc<App>>,
        req: &Request,
        body: JsonBody<LoginRequest>,
    ) -> poem::Result<Json<LoginResponse>> {
        let email = body.email.trim().to_lowercase();
        let (acct_key, ip_key) = throttle_keys(&email, &client_ip(req));
        let window = Duration::from_secs(app.config.login_window_secs);
        if app.cache.count(&acct_key).await >= app.config.login_max_failures_per_account
            || app.cache.count(&ip_key).await >= app.config.login_max_failures_per_address
        {
            return Err(Error::TooManyRequests {
                retry_after: app.config.login_window_secs,
            }
            .into());
        }
        let found = find_account(&app, &email).await?;
        let ok =
            password::verify(&body.password, found.as_ref().and_then(|f| f.1.as_deref())).await;
        let Some((account, _, user)) = found.filter(|_| ok) else {
            app.cache.incr(&acct_key, window).await;
            app.cache.incr(&ip_key, window).await;
            return Err(Error::Unauthorized.into());
        };
        app.cache.delete(&acct_key).await;
        let kind = match account {
            Account::Tenant { tenant_id, .. } => {
                let t = tenant::Entity::find_by_id(tenant_id)
                    .one(&app.db)
                    .await
                    .map_err(Error::from)?;
                if t.is_some_and(|t| t.status == "suspended") {
                    return Err(tenant_suspended().into());
                }
                "tenant"
            }
            Account::Platform(pid) => {
                let p = platform_user::Entity::find_by_id(pid)
                    .one(&app.db)
                    .await
                    .map_err(Error::from)?;
                if p.and_then(|p| p.reseller_id).is_some() {
                    "reseller"
                } else {
                    "operator"
                }
            }
        };
        let ttl = ChronoDuration::hours(app.config.token_ttl_hours);
        let token = issue_credential(&app.db, &app, SESSION, account, Some(ttl), None).await?;
        Ok(Json(LoginResponse {
            token,
            expires_at: app.clock.now() + ttl,
            user,
            kind: kind.into(),
        }))
    }

    /// Log out
    ///
    /// Revokes the token used for this call. API keys are revoked through `/api-keys` instead.
    #[oai(path = "/auth/logout", method = "post")]
    async fn logout(&self, app: Data<&Arc<App>>, auth: Auth) -> poem::Result<NoContent> {
        if auth.0.via_api_key {
            return Err(Error::forbidden("API keys are revoked through /api/v1/api-keys").into());
        }
        credential::Entity::update_many()
            .col_expr(credential::Column::RevokedAt, Expr::value(app.clock.now()))
            .filter(credential::Column::TokenHash.eq(auth.0.token_hash.clone()))
            .exec(&app.db)
            .await
            .map_err(Error::from)?;
        Ok(NoContent::NoContent)
    }

    /// Accept an invitation
    ///
    /// Sets the password of an invited account with the single-use token of the invitation
    /// mail. An unknown, used or expired token answers 404.
    #[oai(path = "/auth/accept-invitation", method = "post")]
    async fn accept(
        &self,
        app: Data<&Arc<App>>,
        body: JsonBody<AcceptInvitation>,
    ) -> poem::Result<NoContent> {
        password::check_new("password", &body.password)?;
        let now = app.clock.now();
        let gone = || Error::NotFound("invitation");
        let (link, account) = live_link(&app, &body.token, INVITATION, now)
            .await?
            .ok_or_else(gone)?;
        let hash = password::hash(&body.password).await?;
        let txn = forecourt_core::db::begin(&app.db)
            .await
            .map_err(Error::from)?;
        if !consume(&txn, &link, now).await? {
            return Err(gone().into());
        }
        set_password(&txn, account, hash, now).await?;
        txn.commit().await.map_err(Error::from)?;
        Ok(NoContent::NoContent)
    }

    /// Ask for a password reset
    ///
    /// Mails a single-use link to `{public_url}/reset-password`, valid for an hour, to the
    /// account that signs in with `email` (in its tenant's language); a new request voids the
    /// previous link. The answer is the same 202, in the same time, whether or not such an
    /// account exists: the mail is prepared after answering. Requests are counted per address
    /// and per email like failed logins (`login_max_failures_per_account`,
    /// `login_max_failures_per_address` per `login_window_secs`); beyond them, 429 with
    /// `Retry-After`.
    #[oai(path = "/auth/password-reset", method = "post")]
    async fn request_reset(
        &self,
        app: Data<&Arc<App>>,
        req: &Request,
        body: JsonBody<PasswordResetRequest>,
    ) -> poem::Result<PasswordResetAnswer> {
        let email = login_email("email", &body.email)?;
        let (acct_key, ip_key) = reset_throttle_keys(&email, &client_ip(req));
        if app.cache.count(&acct_key).await >= app.config.login_max_failures_per_account
            || app.cache.count(&ip_key).await >= app.config.login_max_failures_per_address
        {
            return Err(Error::TooManyRequests {
                retry_after: app.config.login_window_secs,
            }
            .into());
        }
        let window = Duration::from_secs(app.config.login_window_secs);
        app.cache.incr(&acct_key, window).await;
        app.cache.incr(&ip_key, window).await;
        let app = Arc::clone(&app);
        tokio::spawn(async move {
            if let Err(e) = send_reset_link(&app, &email).await {
                tracing::error!(error = %e, "password reset link not sent");
            }
        });
        Ok(PasswordResetAnswer::Accepted(Json(PasswordResetAccepted {
            detail: "if an account signs in with this address, a link to choose a new password \
                     has been sent to it"
                .into(),
        })))
    }

    /// Choose a new password
    ///
    /// Sets the password of the account of a reset link's `token` (same rules as everywhere:
    /// 10 to 256 characters), consumes the token, and revokes the account's sessions, other
    /// reset links and pending invitations (API keys stay). An unknown, used or expired token
    /// answers 404.
    #[oai(path = "/auth/password-reset/confirm", method = "post")]
    async fn confirm_reset(
        &self,
        app: Data<&Arc<App>>,
        body: JsonBody<ConfirmPasswordReset>,
    ) -> poem::Result<NoContent> {
        password::check_new("password", &body.password)?;
        let now = app.clock.now();
        let gone = || Error::NotFound("password reset");
        let (link, account) = live_link(&app, &body.token, PASSWORD_RESET, now)
            .await?
            .ok_or_else(gone)?;
        let email = match account {
            Account::Platform(pid) => {
                platform_user::Entity::find_by_id(pid)
                    .one(&app.db)
                    .await
                    .map_err(Error::from)?
                    .ok_or_else(gone)?
                    .email
            }
            Account::Tenant { tenant_id, user_id } => {
                user::Entity::find_by_id((tenant_id, user_id))
                    .one(&app.db)
                    .await
                    .map_err(Error::from)?
                    .filter(|u| u.active)
                    .ok_or_else(gone)?
                    .email
            }
        };
        let hash = password::hash(&body.password).await?;
        let txn = forecourt_core::db::begin(&app.db)
            .await
            .map_err(Error::from)?;
        if !consume(&txn, &link, now).await? {
            return Err(gone().into());
        }
        set_password(&txn, account, hash, now).await?;
        // Whoever held the old password, or a session opened with it, is out.
        revoke_kinds(&txn, account, &[SESSION, PASSWORD_RESET, INVITATION], now).await?;
        if let Account::Tenant { tenant_id, user_id } = account {
            let me = forecourt_core::context::TenantUser {
                tenant_id,
                user_id,
                establishment_id: None,
            };
            forecourt_core::activity::record(
                &txn,
                tenant_id,
                forecourt_core::activity::Actor::User(&me),
                now,
                "user",
                user_id,
                "password_reset",
                serde_json::json!({}),
            )
            .await?;
        }
        txn.commit().await.map_err(Error::from)?;
        // The new password starts with a clean slate of failed logins.
        app.cache.delete(&throttle_keys(&email, "").0).await;
        Ok(NoContent::NoContent)
    }

    /// The current user
    ///
    /// Who the token belongs to: the user, their tenant or reseller, their roles and the
    /// modules enabled for them.
    #[oai(path = "/me", method = "get")]
    async fn me(&self, app: Data<&Arc<App>>, auth: Auth) -> poem::Result<Json<Me>> {
        Ok(Json(me(&app, &auth.0.principal).await?))
    }
}

async fn me(app: &App, principal: &Principal) -> Result<Me> {
    match principal {
        Principal::Operator { user_id } | Principal::Reseller { user_id, .. } => {
            let p = platform_user::Entity::find_by_id(*user_id)
                .one(&app.db)
                .await?
                .ok_or(Error::Unauthorized)?;
            let reseller = match p.reseller_id {
                Some(rid) => reseller::Entity::find_by_id(rid)
                    .one(&app.db)
                    .await?
                    .map(|r| MeReseller {
                        id: r.id,
                        name: r.name,
                    }),
                None => None,
            };
            Ok(Me {
                kind: if reseller.is_some() {
                    "reseller"
                } else {
                    "operator"
                }
                .into(),
                user: UserBrief {
                    id: p.id,
                    email: p.email,
                    name: p.name,
                },
                tenant: None,
                reseller,
                roles: vec![],
                modules: vec![],
            })
        }
        Principal::Tenant(tu) => {
            let u = user::Entity::find_by_id((tu.tenant_id, tu.user_id))
                .one(&app.db)
                .await?
                .ok_or(Error::Unauthorized)?;
            let t = tenant::Entity::find_by_id(tu.tenant_id)
                .one(&app.db)
                .await?
                .ok_or(Error::Unauthorized)?;
            let info = app
                .ports
                .directory
                .tenant_info(app, tu.tenant_id)
                .await?
                .ok_or(Error::Unauthorized)?;
            let modules = app
                .registry
                .available(Some(&info))
                .map(|m| m.id().to_string())
                .collect();
            Ok(Me {
                kind: "tenant".into(),
                user: UserBrief {
                    id: u.id,
                    email: u.email,
                    name: u.name,
                },
                tenant: Some(MeTenant {
                    id: t.id,
                    name: t.name,
                    licence: info.tier,
                    country: t.country,
                    language: t.language,
                }),
                reseller: None,
                roles: authz::user_roles(&app.db, tu.tenant_id, tu.user_id).await?,
                modules,
            })
        }
    }
}

/// Normalises a login email for storage.
pub fn login_email(field: &str, raw: &str) -> Result<String> {
    parse_email(field, raw)
}

/// The credential kind of API keys, for the users API.
pub const API_KEY_KIND: &str = API_KEY;
