//! Accounts as logins see them: whose an email is (platform-wide), finding the account that
//! signs in with one, and setting its password.

use crate::{
    auth::views::UserBrief,
    entities::{login_email, platform_user, user},
};
use forecourt_core::msg;
use forecourt_core::{
    App, Error, Result,
    mail::parse_email,
    tenancy::{TenantId, TenantScoped},
};
use sea_orm::{
    ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, prelude::Expr,
    sea_query::OnConflict,
};
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

impl Account {
    /// The tenant of a tenant user's account.
    pub(crate) fn tenant_id(self) -> Option<Uuid> {
        match self {
            Account::Platform(_) => None,
            Account::Tenant { tenant_id, .. } => Some(tenant_id),
        }
    }

    /// The account's columns as `(platform_user_id, tenant_id, user_id)`.
    pub(crate) fn columns(self) -> (Option<Uuid>, Option<Uuid>, Option<Uuid>) {
        match self {
            Account::Platform(id) => (Some(id), None, None),
            Account::Tenant { tenant_id, user_id } => (None, Some(tenant_id), Some(user_id)),
        }
    }
}

/// Normalises a login email for storage.
pub fn login_email(field: &str, raw: &str) -> Result<String> {
    parse_email(field, raw)
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
    let (p, t, u) = account.columns();
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
        detail: msg!("this email is already used by an account"),
        field: Some("email".into()),
    }
}

/// The account that signs in with `email` (an active one), with its password hash.
pub(crate) async fn find_account(
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
        // The login row is the tenant's source here: nobody is signed in yet.
        return Ok(tenant_user(&app.db, tid, uid)
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

/// A user of a tenant named by a credential or a login row (active or not).
pub(crate) async fn tenant_user(
    conn: &impl ConnectionTrait,
    tenant_id: Uuid,
    user_id: Uuid,
) -> Result<Option<user::Model>> {
    Ok(user::Entity::scoped(&TenantId::new(tenant_id))
        .filter(user::Column::Id.eq(user_id))
        .one(conn)
        .await?)
}

/// Stores an account's new password hash.
pub(crate) async fn set_password(
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
            user::Entity::update_in(&TenantId::new(tenant_id))
                .col_expr(user::Column::PasswordHash, Expr::value(hash))
                .col_expr(user::Column::UpdatedAt, Expr::value(now))
                .filter(user::Column::Id.eq(user_id))
                .exec(conn)
                .await?;
        }
    }
    Ok(())
}
