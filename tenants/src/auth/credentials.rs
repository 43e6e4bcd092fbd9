//! Hashed secrets (sessions, API keys, invitation and reset links): issuing, revoking and
//! using up single-use links.

use crate::{
    auth::accounts::Account,
    directory::{API_KEY, PASSWORD_RESET, SESSION},
    entities::credential,
};
use chrono::{DateTime, Duration as ChronoDuration, Utc};
use forecourt_core::{
    App, Result,
    secret::{new_token, token_hash},
};
use sea_orm::{
    ActiveValue::Set, ColumnTrait, Condition, ConnectionTrait, EntityTrait, QueryFilter,
    prelude::Expr,
};
use uuid::Uuid;

/// The credential kind of API keys, for the users API.
pub const API_KEY_KIND: &str = API_KEY;

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
    let (p, t, u) = account.columns();
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

/// Revokes the credential of an API key.
pub(crate) async fn revoke_api_key(
    conn: &impl ConnectionTrait,
    tenant_id: Uuid,
    api_key_id: Uuid,
    now: DateTime<Utc>,
) -> Result<()> {
    credential::Entity::update_many()
        .col_expr(credential::Column::RevokedAt, Expr::value(now))
        .filter(credential::Column::TenantId.eq(tenant_id))
        .filter(credential::Column::ApiKeyId.eq(api_key_id))
        .exec(conn)
        .await?;
    Ok(())
}

/// Revokes the one credential a call was made with (logout).
pub(crate) async fn revoke_token(
    conn: &impl ConnectionTrait,
    token_hash: &str,
    now: DateTime<Utc>,
) -> Result<()> {
    credential::Entity::update_many()
        .col_expr(credential::Column::RevokedAt, Expr::value(now))
        .filter(credential::Column::TokenHash.eq(token_hash))
        .exec(conn)
        .await?;
    Ok(())
}

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
pub(crate) async fn revoke_kinds(
    conn: &impl ConnectionTrait,
    account: Account,
    kinds: &[&str],
    now: DateTime<Utc>,
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
pub(crate) async fn live_link(
    app: &App,
    token: &str,
    kind: &str,
    now: DateTime<Utc>,
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
pub(crate) async fn consume(
    conn: &impl ConnectionTrait,
    link: &credential::Model,
    now: DateTime<Utc>,
) -> Result<bool> {
    let used = credential::Entity::update_many()
        .col_expr(credential::Column::RevokedAt, Expr::value(now))
        .filter(credential::Column::TokenHash.eq(link.token_hash.clone()))
        .filter(credential::Column::RevokedAt.is_null())
        .exec(conn)
        .await?;
    Ok(used.rows_affected == 1)
}
