//! The rule that nobody grants beyond their own tenant or above their own rights, and the
//! grants and revocations that follow it.

use crate::{entities::user, permissions::views::GrantBody};
use forecourt_core::msg;
use forecourt_core::{
    App, Error, Result,
    access::{Action, BUILTIN_ROLES, Scope},
    authz::{self, Grant, role_subject, user_subject},
    context::TenantUser,
    tenancy::{Cx, TenantScoped, Tenanted},
    uow::{Activity, AfterCommit, Uow},
};
use sea_orm::{ColumnTrait, ConnectionTrait, QueryFilter};
use uuid::Uuid;

/// Checks a role name: built-in, or lower-case letters, digits, `-` and `_`.
pub fn check_role_name(field: &str, name: &str) -> Result<()> {
    let ok = (2..=40).contains(&name.len())
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '_')
        && name.starts_with(|c: char| c.is_ascii_lowercase());
    if ok {
        Ok(())
    } else {
        Err(Error::invalid(
            field,
            msg!("`{name}` is not a valid role name", name),
        ))
    }
}

/// Every grant a user holds, directly or through roles.
async fn effective_grants(
    conn: &impl ConnectionTrait,
    tenant_id: Uuid,
    user_id: Uuid,
) -> Result<Vec<Grant>> {
    let mut all = authz::grants(conn, tenant_id, Some(&user_subject(user_id))).await?;
    for role in authz::user_roles(conn, tenant_id, user_id).await? {
        all.extend(authz::grants(conn, tenant_id, Some(&role_subject(&role))).await?);
    }
    Ok(all)
}

/// Fails with 403 unless `caller` holds `grant`'s action on its object at least at its scope.
pub async fn ensure_covers(
    app: &App,
    caller: &TenantUser,
    grant_object: &str,
    action: Action,
    scope: Scope,
) -> Result<()> {
    match app.authz.scope(caller, grant_object, action).await? {
        Some(have) if have >= scope => Ok(()),
        _ => Err(Error::forbidden(msg!(
            "you cannot give `{grant_object}` / `{action}` at `{scope}` scope: it exceeds your \
             own rights",
            grant_object,
            action = action.as_str(),
            scope = scope.as_str()
        ))),
    }
}

/// Fails unless `caller` covers every grant of `role`.
pub async fn ensure_covers_role(app: &App, caller: &TenantUser, role: &str) -> Result<()> {
    for g in authz::grants(&app.db, caller.tenant_id, Some(&role_subject(role))).await? {
        ensure_covers(app, caller, &g.object, g.action, g.scope).await?;
    }
    Ok(())
}

/// Fails unless `caller` covers everything user `user_id` may do.
pub async fn ensure_covers_user(app: &App, caller: &TenantUser, user_id: Uuid) -> Result<()> {
    for g in effective_grants(&app.db, caller.tenant_id, user_id).await? {
        ensure_covers(app, caller, &g.object, g.action, g.scope).await?;
    }
    Ok(())
}

/// The roles of a tenant: the built-in ones and any custom role that has grants or members.
pub async fn known_roles(conn: &impl ConnectionTrait, tenant_id: Uuid) -> Result<Vec<String>> {
    let mut roles: Vec<String> = BUILTIN_ROLES.iter().map(|r| r.to_string()).collect();
    for r in authz::role_names(conn, tenant_id).await? {
        if !roles.contains(&r) {
            roles.push(r);
        }
    }
    Ok(roles)
}

/// Validates a grant's object and subject within the caller's tenant.
pub(crate) async fn checked(app: &App, cx: &Cx, body: &GrantBody) -> Result<Grant> {
    if app.registry.object_owner(&body.object).is_none() {
        return Err(Error::invalid(
            "object",
            msg!(
                "unknown permission object `{object}`",
                object = &body.object
            ),
        ));
    }
    if let Some(id) = body.subject.strip_prefix("user:") {
        let id = Uuid::parse_str(id).map_err(|_| {
            Error::invalid("subject", msg!("`user:` must be followed by a user id"))
        })?;
        user::Entity::scoped(cx)
            .filter(user::Column::Id.eq(id))
            .one(&app.db)
            .await?
            .ok_or(Error::NotFound("user"))?;
    } else if let Some(role) = body.subject.strip_prefix("role:") {
        check_role_name("subject", role)?;
    } else {
        return Err(Error::invalid(
            "subject",
            msg!("a subject is `user:<id>` or `role:<name>`"),
        ));
    }
    Ok(Grant {
        subject: body.subject.clone(),
        object: body.object.clone(),
        action: body.action,
        scope: body.scope,
    })
}

/// Gives a checked grant, for a caller whose `permissions`/`write` context is `cx` and who
/// holds it at least as widely. Applies at once on every node.
pub(crate) async fn grant(app: &App, cx: &Cx, g: &Grant) -> Result<()> {
    ensure_covers(app, cx.user(), &g.object, g.action, g.scope).await?;
    let tid = cx.tenant().uuid();
    let mut uow = Uow::begin(app, cx).await?;
    authz::add_grant(uow.txn(), tid, g).await?;
    uow.record(
        Activity::new("permission", tid, "granted")
            .changes(serde_json::to_value(g).map_err(Error::internal)?),
    )
    .await?;
    uow.after_commit(AfterCommit::AuthzChanged(uow.tenant()));
    uow.commit().await?;
    Ok(())
}

/// Removes exactly the grant `g` (404 when there is none), under the same rule as [`grant`].
pub(crate) async fn revoke(app: &App, cx: &Cx, g: &Grant) -> Result<()> {
    ensure_covers(app, cx.user(), &g.object, g.action, g.scope).await?;
    let tid = cx.tenant().uuid();
    let mut uow = Uow::begin(app, cx).await?;
    if !authz::remove_grant(uow.txn(), tid, g).await? {
        return Err(Error::NotFound("grant"));
    }
    uow.record(
        Activity::new("permission", tid, "revoked")
            .changes(serde_json::to_value(g).map_err(Error::internal)?),
    )
    .await?;
    uow.after_commit(AfterCommit::AuthzChanged(uow.tenant()));
    uow.commit().await?;
    Ok(())
}
