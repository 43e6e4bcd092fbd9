//! Integration API keys: which keys a caller sees, creating one for a user the caller
//! manages, and revoking one.

use crate::{
    auth::{
        accounts::Account,
        credentials::{API_KEY_KIND, issue_credential, revoke_api_key},
    },
    directory::principals_changed,
    entities::{api_key, user},
    fields::required,
    permissions::service as permissions,
    users::service::{ids_within, in_scope, of_tenant},
};
use forecourt_core::msg;
use forecourt_core::{
    App, Error, Result,
    access::{Action, Scope},
    context::TenantUser,
    tenancy::{Cx, TenantScoped, Tenanted},
    uow::{Activity, AfterCommit, Uow},
};
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, QueryFilter, QueryOrder, prelude::Expr,
};
use uuid::Uuid;

/// The live keys the caller's `settings.api_keys`/`read` grant in `cx` reaches.
pub(crate) async fn list(app: &App, cx: &Cx) -> Result<Vec<api_key::Model>> {
    let mut q = api_key::Entity::scoped(cx).filter(api_key::Column::RevokedAt.is_null());
    if cx.scope() < Scope::Tenant {
        q = q.filter(api_key::Column::UserId.is_in(ids_within(app, cx).await?));
    }
    Ok(q.order_by_asc(api_key::Column::Id).all(&app.db).await?)
}

/// Creates a key named `name` acting as `user_id`, for a caller whose
/// `settings.api_keys`/`write` grant is `cx`; returns it with its secret.
pub(crate) async fn create(
    app: &App,
    cx: &Cx,
    name: &str,
    user_id: Uuid,
) -> Result<(api_key::Model, String)> {
    let name = required("name", name, 200)?;
    let target = of_tenant(app, cx, user_id)
        .await?
        .ok_or(Error::NotFound("user"))?;
    ensure_manages(app, cx.user(), &target, cx.scope()).await?;
    permissions::ensure_covers_user(app, cx.user(), user_id).await?;
    let id = Uuid::now_v7();
    let tid = cx.tenant().uuid();
    let uow = Uow::begin(app, cx).await?;
    let account = Account::Tenant {
        tenant_id: tid,
        user_id,
    };
    let key = issue_credential(uow.txn(), app, API_KEY_KIND, account, None, Some(id)).await?;
    let k = api_key::ActiveModel {
        tenant_id: Set(tid),
        id: Set(id),
        user_id: Set(user_id),
        name: Set(name),
        prefix: Set(key.chars().take(12).collect()),
        created_by: Set(Some(cx.user_id())),
        created_at: Set(app.clock.now()),
        revoked_at: Set(None),
    }
    .insert(uow.txn())
    .await?;
    uow.record(
        Activity::new("api_key", id, "created")
            .changes(serde_json::json!({"name": k.name, "user_id": k.user_id})),
    )
    .await?;
    uow.commit().await?;
    Ok((k, key))
}

/// Revokes a live key whose user the caller's `settings.api_keys`/`write` grant in `cx`
/// reaches; any other key is not found.
pub(crate) async fn revoke(app: &App, cx: &Cx, id: Uuid) -> Result<()> {
    let k = api_key::Entity::scoped(cx)
        .filter(api_key::Column::Id.eq(id))
        .one(&app.db)
        .await?
        .filter(|k| k.revoked_at.is_none())
        .ok_or(Error::NotFound("api key"))?;
    if cx.scope() < Scope::Tenant {
        let owner = of_tenant(app, cx, k.user_id).await?;
        if !owner.is_some_and(|o| in_scope(cx.scope(), cx.user(), &o)) {
            return Err(Error::NotFound("api key"));
        }
    }
    let mut uow = Uow::begin(app, cx).await?;
    let now = uow.now();
    api_key::Entity::update_in(cx)
        .col_expr(api_key::Column::RevokedAt, Expr::value(now))
        .filter(api_key::Column::Id.eq(k.id))
        .exec(uow.txn())
        .await?;
    revoke_api_key(uow.txn(), cx.tenant().uuid(), k.id, now).await?;
    uow.record(Activity::new("api_key", k.id, "revoked"))
        .await?;
    uow.after_commit(AfterCommit::Publish(principals_changed(Some(
        cx.tenant().uuid(),
    ))));
    uow.commit().await?;
    Ok(())
}

/// Fails unless `caller` may act for `target` with a grant of `scope` (e.g. create a key for
/// them): `target` must be within `scope` and, unless it is the caller, within the caller's
/// `users`/`write` scope, the rule for editing a user. A user the caller cannot even read is
/// not found.
async fn ensure_manages(
    app: &App,
    caller: &TenantUser,
    target: &user::Model,
    scope: Scope,
) -> Result<()> {
    let visible = app
        .authz
        .scope(caller, "users", Action::Read)
        .await?
        .is_some_and(|s| in_scope(s, caller, target));
    if !visible {
        return Err(Error::NotFound("user"));
    }
    let manages = target.id == caller.user_id
        || app
            .authz
            .scope(caller, "users", Action::Write)
            .await?
            .is_some_and(|s| in_scope(s, caller, target));
    if !manages || !in_scope(scope, caller, target) {
        return Err(Error::forbidden(msg!(
            "you can only create keys for yourself or for users you manage"
        )));
    }
    Ok(())
}
