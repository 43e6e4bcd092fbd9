//! The rules for a tenant's users: who reaches whom, creating a user (with the invitation),
//! changing one, and replacing their roles.

use crate::{
    auth::{
        accounts::{Account, email_taken, try_claim_email},
        credentials::revoke_all,
        passwords::invite,
    },
    directory::principals_changed,
    entities::{establishment, tenant, user},
    fields::required,
    password,
    permissions::service as permissions,
    users::views::UserPatch,
};
use forecourt_core::msg;
use forecourt_core::{
    App, Error, Result,
    access::Scope,
    activity, authz,
    context::TenantUser,
    entities::casbin_rule,
    error::map_unique,
    tenancy::{Cx, TenantId, TenantScoped, Tenanted},
    uow::{Activity, AfterCommit, Uow},
};
use poem_openapi::types::MaybeUndefined;
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, Condition, EntityTrait, PaginatorTrait,
    QueryFilter, Select,
};
use uuid::Uuid;

/// The users a scope lets the caller reach.
pub(crate) fn scope_condition(scope: Scope, caller: &TenantUser) -> Condition {
    match scope {
        Scope::Tenant => Condition::all(),
        Scope::Establishment => match caller.establishment_id {
            Some(e) => Condition::any()
                .add(user::Column::EstablishmentId.eq(e))
                .add(user::Column::Id.eq(caller.user_id)),
            None => Condition::all().add(user::Column::Id.eq(caller.user_id)),
        },
        Scope::Own => Condition::all().add(user::Column::Id.eq(caller.user_id)),
    }
}

/// Whether `target` lies within `scope` as seen from `caller`: the same rule as
/// [`scope_condition`], for a user already loaded.
pub(crate) fn in_scope(scope: Scope, caller: &TenantUser, target: &user::Model) -> bool {
    match scope {
        Scope::Tenant => true,
        Scope::Establishment => {
            target.id == caller.user_id
                || (caller.establishment_id.is_some()
                    && target.establishment_id == caller.establishment_id)
        }
        Scope::Own => target.id == caller.user_id,
    }
}

/// The users within the scope of the caller's grant in `cx`.
pub(crate) fn within(cx: &Cx) -> Select<user::Entity> {
    user::Entity::scoped(cx).filter(scope_condition(cx.scope(), cx.user()))
}

/// A user of the caller's tenant within the scope of the grant in `cx`, else 404.
pub(crate) async fn reachable(app: &App, cx: &Cx, id: Uuid) -> Result<user::Model> {
    within(cx)
        .filter(user::Column::Id.eq(id))
        .one(&app.db)
        .await?
        .ok_or(Error::NotFound("user"))
}

/// A user of the tenant, whoever the caller may see.
pub(crate) async fn of_tenant(
    app: &App,
    t: &impl Tenanted,
    id: Uuid,
) -> Result<Option<user::Model>> {
    Ok(user::Entity::scoped(t)
        .filter(user::Column::Id.eq(id))
        .one(&app.db)
        .await?)
}

/// The ids of the users the grant in `cx` reaches.
pub(crate) async fn ids_within(app: &App, cx: &Cx) -> Result<Vec<Uuid>> {
    Ok(within(cx)
        .all(&app.db)
        .await?
        .into_iter()
        .map(|u| u.id)
        .collect())
}

/// An establishment of the caller's tenant (else 404) that the caller's `users` grant in
/// `cx` lets them manage users of.
pub(crate) async fn check_establishment(app: &App, cx: &Cx, id: Uuid) -> Result<()> {
    establishment::Entity::scoped(cx)
        .filter(establishment::Column::Id.eq(id))
        .one(&app.db)
        .await?
        .ok_or(Error::NotFound("establishment"))?;
    if cx.scope() < Scope::Tenant && cx.establishment_id() != Some(id) {
        return Err(Error::forbidden(msg!(
            "you can only manage users of your own establishment"
        )));
    }
    Ok(())
}

/// The known roles among `roles` (422 otherwise), each covered by the caller's own rights.
pub(crate) async fn check_roles(
    app: &App,
    caller: &TenantUser,
    roles: &[String],
) -> Result<Vec<String>> {
    let known = permissions::known_roles(&app.db, caller.tenant_id).await?;
    let mut out = Vec::new();
    for r in roles {
        let r = r.trim().to_string();
        if !known.contains(&r) {
            return Err(Error::invalid("roles", msg!("unknown role `{r}`", r)));
        }
        permissions::ensure_covers_role(app, caller, &r).await?;
        if !out.contains(&r) {
            out.push(r);
        }
    }
    Ok(out)
}

/// What [`insert_user`] does with an email that another account (of another tenant, or of
/// the platform) already logs in with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TakenElsewhere {
    /// 409 `email_taken`: for trusted callers (the demo seed), to whom it reveals nothing.
    Refuse,
    /// Answer exactly as for a free address, so a tenant admin learns nothing about other
    /// tenants: the user is created in the caller's tenant without a login (the email keeps
    /// logging in to its existing account only), and instead of an invitation the address
    /// is told that it already has an account and cannot be invited with it.
    Conceal,
}

/// Inserts a validated user with their roles in one unit of work, inviting them by mail when
/// no password is given. `by` is the acting user's context; without one (the demo seed) the
/// user is created in tenant `tid` by the system. The same email twice in one tenant is 409
/// `email_taken`; an email taken elsewhere is handled per `taken`.
#[allow(clippy::too_many_arguments)]
pub async fn insert_user(
    app: &App,
    by: Option<&Cx>,
    tid: Uuid,
    email: &str,
    name: &str,
    password: Option<&str>,
    est: Option<Uuid>,
    roles: &[String],
    taken: TakenElsewhere,
) -> Result<user::Model> {
    let hash = match password {
        Some(pw) => {
            password::check_new("password", pw)?;
            Some(password::hash(pw).await?)
        }
        None => None,
    };
    let id = Uuid::now_v7();
    let mut uow = match by {
        Some(cx) => Uow::begin(app, cx).await?,
        None => Uow::system(app, TenantId::new(tid), "demo-seed").await?,
    };
    let tid = uow.tenant().uuid();
    let now = uow.now();
    let u = user::ActiveModel {
        tenant_id: Set(tid),
        id: Set(id),
        email: Set(email.to_string()),
        name: Set(name.to_string()),
        password_hash: Set(hash.clone()),
        establishment_id: Set(est),
        active: Set(true),
        created_at: Set(now),
        updated_at: Set(now),
    }
    .insert(uow.txn())
    .await
    .map_err(|e| {
        map_unique(
            e,
            "email_taken",
            msg!("this email is already used by an account"),
            "email",
        )
    })?;
    let account = Account::Tenant {
        tenant_id: tid,
        user_id: id,
    };
    let claimed = try_claim_email(uow.txn(), email, account).await?;
    if !claimed && taken == TakenElsewhere::Refuse {
        return Err(email_taken());
    }
    authz::set_user_roles(uow.txn(), tid, id, roles).await?;
    let t = tenant::Entity::find_by_id(tid)
        .one(uow.txn())
        .await?
        .ok_or(Error::NotFound("tenant"))?;
    if !claimed {
        // The owner of the address learns that someone tried; the caller sees a user like
        // any other, whose invitation simply never gets accepted.
        app.mail
            .enqueue(
                uow.txn(),
                now,
                Some(tid),
                email,
                "account_exists",
                &t.language,
                &serde_json::json!({"name": name, "tenant_name": t.name}),
            )
            .await?;
    } else if hash.is_none() {
        invite(
            uow.txn(),
            app,
            account,
            Some(tid),
            email,
            name,
            &t.name,
            &t.language,
        )
        .await?;
    }
    uow.record(
        Activity::new("user", id, "created")
            .changes(serde_json::json!({"email": email, "name": name, "roles": roles})),
    )
    .await?;
    uow.after_commit(AfterCommit::WakeMailer);
    uow.after_commit(AfterCommit::AuthzChanged(uow.tenant()));
    uow.commit().await?;
    Ok(u)
}

/// Renames, moves, deactivates or reactivates a user the caller's `users`/`write` grant in
/// `cx` reaches; deactivating revokes the user's tokens and API keys at once.
pub(crate) async fn update_user(
    app: &App,
    cx: &Cx,
    id: Uuid,
    body: &UserPatch,
) -> Result<user::Model> {
    let u = reachable(app, cx, id).await?;
    permissions::ensure_covers_user(app, cx.user(), u.id).await?;
    let before = serde_json::json!({"name": u.name, "establishment_id": u.establishment_id, "active": u.active});
    let current_establishment = u.establishment_id;
    let mut am: user::ActiveModel = u.into();
    if let Some(n) = &body.name {
        am.name = Set(required("name", n, 200)?);
    }
    let new_establishment = match &body.establishment_id {
        MaybeUndefined::Value(e) => Some(Some(*e)),
        MaybeUndefined::Null => Some(None),
        MaybeUndefined::Undefined => None,
    };
    if let Some(est) = new_establishment.filter(|e| *e != current_establishment) {
        // One's establishment decides what one's establishment-scoped grants reach (and
        // which companies' contacts one sees), so it is set by someone else.
        if id == cx.user_id() {
            return Err(Error::forbidden(msg!(
                "you cannot change your own establishment; ask another administrator"
            )));
        }
        match est {
            Some(e) => check_establishment(app, cx, e).await?,
            // Without an establishment the user would leave an establishment-scoped
            // editor's reach, and "no establishment" is never a way to widen a view.
            None if cx.scope() < Scope::Tenant => {
                return Err(Error::forbidden(msg!(
                    "you can only manage users of your own establishment"
                )));
            }
            None => {}
        }
        am.establishment_id = Set(est);
    }
    let deactivate = body.active == Some(false);
    if let Some(a) = body.active {
        if !a && id == cx.user_id() {
            return Err(Error::conflict(
                "cannot_deactivate_self",
                msg!("you cannot deactivate yourself"),
            ));
        }
        am.active = Set(a);
    }
    am.updated_at = Set(app.clock.now());
    let mut uow = Uow::begin(app, cx).await?;
    let u = am.update(uow.txn()).await?;
    if deactivate {
        revoke_all(uow.txn(), app, u.tenant_id, u.id).await?;
    }
    let after = serde_json::json!({"name": u.name, "establishment_id": u.establishment_id, "active": u.active});
    uow.record(Activity::new("user", u.id, "updated").changes(activity::diff(&before, &after)))
        .await?;
    // The principal of each of the user's credentials carries the establishment and the
    // active flag: every node resolves them again.
    uow.after_commit(AfterCommit::Publish(principals_changed(Some(u.tenant_id))));
    uow.commit().await?;
    Ok(u)
}

/// Replaces the roles of a user: `perms` is the caller's `permissions`/`write` context,
/// `users` their `users`/`read` one (the user must be within it). The caller must hold every
/// right of each role given or taken away, and the tenant's last active admin keeps the
/// admin role.
pub(crate) async fn set_roles(
    app: &App,
    perms: &Cx,
    users: &Cx,
    id: Uuid,
    roles: &[String],
) -> Result<Vec<String>> {
    let u = reachable(app, users, id).await?;
    let tid = perms.tenant().uuid();
    let new = check_roles(app, perms.user(), roles).await?;
    let old = authz::user_roles(&app.db, tid, u.id).await?;
    for removed in old.iter().filter(|r| !new.contains(r)) {
        permissions::ensure_covers_role(app, perms.user(), removed).await?;
    }
    if old.iter().any(|r| r == "admin")
        && !new.iter().any(|r| r == "admin")
        && !other_admin_exists(app, perms, u.id).await?
    {
        return Err(Error::conflict(
            "last_admin",
            msg!("the tenant must keep at least one active admin"),
        ));
    }
    let mut uow = Uow::begin(app, perms).await?;
    authz::set_user_roles(uow.txn(), tid, u.id, &new).await?;
    uow.record(
        Activity::new("user", u.id, "roles_changed")
            .changes(serde_json::json!({"roles": {"from": old, "to": new}})),
    )
    .await?;
    uow.after_commit(AfterCommit::AuthzChanged(uow.tenant()));
    uow.commit().await?;
    Ok(new)
}

/// Whether an active user other than `except` holds the admin role in the tenant.
async fn other_admin_exists(app: &App, t: &impl Tenanted, except: Uuid) -> Result<bool> {
    let members = casbin_rule::Entity::scoped(t)
        .filter(casbin_rule::Column::Ptype.eq("g"))
        .filter(casbin_rule::Column::V1.eq(authz::role_subject("admin")))
        .filter(casbin_rule::Column::V0.ne(authz::user_subject(except)))
        .all(&app.db)
        .await?;
    let ids: Vec<Uuid> = members
        .iter()
        .filter_map(|m| m.v0.strip_prefix("user:")?.parse().ok())
        .collect();
    let active = user::Entity::scoped(t)
        .filter(user::Column::Id.is_in(ids))
        .filter(user::Column::Active.eq(true))
        .count(&app.db)
        .await?;
    Ok(active > 0)
}
