//! Grants and roles as the tenant admin manages them, and the rule that nobody grants beyond
//! their own tenant or above their own rights.

use crate::{entities::user, tags::Tags};
use chrono::{DateTime, Utc};
use forecourt_core::entities::permission_seed;
use forecourt_core::{
    App, Error, Result,
    access::{Action, BUILTIN_ROLES, Scope},
    app::AppRegistry,
    authz::{self, Grant, role_subject, user_subject},
    context::TenantUser,
    http::{Created, JsonBody, List, NoContent, TenantAuth},
    tenancy::{Cx, TenantId, TenantScoped, Tenanted},
    uow::{Activity, Uow},
};
use poem::web::Data;
use poem_openapi::{Object, OpenApi, param::Query, payload::Json};
use sea_orm::{ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter};
use std::collections::HashSet;
use std::sync::Arc;
use uuid::Uuid;

/// Gives a tenant the default grants of every permission object it has not received them
/// for yet: `admin` gets `admin` at tenant scope, the other built-in roles the object's
/// defaults. Each (tenant, object) is seeded once, so an admin's later changes stand.
pub async fn seed_missing_defaults(
    conn: &impl ConnectionTrait,
    registry: &AppRegistry,
    tenant_id: Uuid,
    now: DateTime<Utc>,
) -> Result<usize> {
    let seeded: HashSet<String> = permission_seed::Entity::find()
        .filter(permission_seed::Column::TenantId.eq(tenant_id))
        .all(conn)
        .await?
        .into_iter()
        .map(|s| s.object)
        .collect();
    let mut count = 0;
    for obj in registry
        .permission_objects()
        .filter(|o| !seeded.contains(o.name))
    {
        let admin = std::iter::once((role_subject("admin"), Action::Admin, Scope::Tenant));
        let others = obj
            .defaults
            .iter()
            .map(|d| (role_subject(d.role), d.action, d.scope));
        for (subject, action, scope) in admin.chain(others) {
            authz::add_grant(
                conn,
                tenant_id,
                &Grant {
                    subject,
                    object: obj.name.into(),
                    action,
                    scope,
                },
            )
            .await?;
        }
        permission_seed::Entity::insert(permission_seed::ActiveModel {
            tenant_id: Set(tenant_id),
            object: Set(obj.name.into()),
            seeded_at: Set(now),
        })
        .exec_without_returning(conn)
        .await?;
        count += 1;
    }
    Ok(count)
}

/// Seeds a new tenant's rules and makes its first user an admin.
pub async fn seed_defaults(
    conn: &impl ConnectionTrait,
    registry: &AppRegistry,
    tenant_id: Uuid,
    admin: Uuid,
    now: DateTime<Utc>,
) -> Result<()> {
    seed_missing_defaults(conn, registry, tenant_id, now).await?;
    authz::set_user_roles(conn, tenant_id, admin, &["admin".to_string()]).await
}

/// At startup: gives every tenant the defaults of modules added since it was onboarded.
pub async fn backfill_defaults(app: &App) -> Result<()> {
    let tenants = crate::entities::tenant::Entity::find().all(&app.db).await?;
    for t in tenants {
        let uow = Uow::system(app, TenantId::new(t.id), "permission-defaults").await?;
        let n = seed_missing_defaults(uow.txn(), &app.registry, t.id, uow.now()).await?;
        uow.commit().await?;
        if n > 0 {
            tracing::info!(tenant_id = %t.id, objects = n, "seeded default grants of new permission objects");
            app.authz.changed(t.id).await;
        }
    }
    Ok(())
}

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
            format!("`{name}` is not a valid role name"),
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
        _ => Err(Error::forbidden(format!(
            "you cannot give `{grant_object}` / `{}` at `{}` scope: it exceeds your own rights",
            action.as_str(),
            scope.as_str()
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

/// A grant: what a subject may do on an object, and how far.
#[derive(Object, Debug, Clone, serde::Deserialize)]
#[oai(deny_unknown_fields)]
#[serde(deny_unknown_fields)]
pub struct GrantBody {
    /// `user:<id>` or `role:<name>`.
    #[oai(validator(max_length = 200))]
    pub subject: String,
    /// The permission object, e.g. `contacts`, `settings.sources` (see `/permissions/objects`).
    #[oai(validator(max_length = 200))]
    pub object: String,
    /// `read`, `write`, `delete` or `admin` (admin implies the others).
    pub action: Action,
    /// `own`, `establishment` or `tenant`.
    pub scope: Scope,
}

impl From<Grant> for GrantBody {
    fn from(g: Grant) -> Self {
        Self {
            subject: g.subject,
            object: g.object,
            action: g.action,
            scope: g.scope,
        }
    }
}

/// A role of the tenant.
#[derive(Object)]
pub struct RoleView {
    /// The role's name.
    pub name: String,
    /// Whether it is one of the built-in roles every tenant has.
    pub builtin: bool,
}

/// A permission object a module defines.
#[derive(Object)]
pub struct ObjectView {
    /// Its name, used in grants.
    pub object: String,
    /// The module that defines it.
    pub module: String,
    /// What it protects.
    pub description: String,
}

/// Grants and roles.
pub struct PermissionsApi;

impl PermissionsApi {
    /// Validates a grant's object and subject within the caller's tenant.
    async fn checked(app: &App, cx: &Cx, body: &GrantBody) -> Result<Grant> {
        if app.registry.object_owner(&body.object).is_none() {
            return Err(Error::invalid(
                "object",
                format!("unknown permission object `{}`", body.object),
            ));
        }
        if let Some(id) = body.subject.strip_prefix("user:") {
            let id = Uuid::parse_str(id)
                .map_err(|_| Error::invalid("subject", "`user:` must be followed by a user id"))?;
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
                "a subject is `user:<id>` or `role:<name>`",
            ));
        }
        Ok(Grant {
            subject: body.subject.clone(),
            object: body.object.clone(),
            action: body.action,
            scope: body.scope,
        })
    }
}

#[OpenApi(prefix_path = "/api/v1", tag = "Tags::Permissions")]
impl PermissionsApi {
    /// List grants
    ///
    /// The tenant's direct grants, optionally for one subject (`user:<id>` or `role:<name>`).
    /// A user's effective rights are their own grants plus those of their roles.
    #[oai(path = "/permissions", method = "get")]
    async fn list(
        &self,
        app: Data<&Arc<App>>,
        auth: TenantAuth,
        subject: Query<Option<String>>,
    ) -> poem::Result<Json<List<GrantBody>>> {
        let cx = app
            .authz
            .context(&auth.0, "permissions", Action::Read)
            .await?;
        let items = authz::grants(&app.db, cx.tenant().uuid(), subject.0.as_deref()).await?;
        Ok(Json(List {
            items: items.into_iter().map(Into::into).collect(),
            next_cursor: None,
        }))
    }

    /// Grant a permission
    ///
    /// Gives a user or a role an action on an object at a scope. The caller must hold
    /// `permissions`/`write` and must themself hold what they grant, at least as widely.
    /// Applies at once on every node.
    #[oai(path = "/permissions", method = "post")]
    async fn grant(
        &self,
        app: Data<&Arc<App>>,
        auth: TenantAuth,
        body: JsonBody<GrantBody>,
    ) -> poem::Result<Created<GrantBody>> {
        let cx = app
            .authz
            .context(&auth.0, "permissions", Action::Write)
            .await?;
        let g = Self::checked(&app, &cx, &body.0).await?;
        ensure_covers(&app, cx.user(), &g.object, g.action, g.scope).await?;
        let tid = cx.tenant().uuid();
        let uow = Uow::begin(&app, &cx).await?;
        authz::add_grant(uow.txn(), tid, &g).await?;
        uow.record(
            Activity::new("permission", tid, "granted")
                .changes(serde_json::to_value(&g).map_err(Error::internal)?),
        )
        .await?;
        uow.commit().await?;
        // The local enforcer is dropped at once (an announcement alone reaches this node
        // later).
        app.authz.changed(tid).await;
        Ok(Created::Created(Json(g.into())))
    }

    /// Revoke a permission
    ///
    /// Removes exactly the grant given in the body; 404 when there is no such grant.
    #[oai(path = "/permissions", method = "delete")]
    async fn revoke(
        &self,
        app: Data<&Arc<App>>,
        auth: TenantAuth,
        body: JsonBody<GrantBody>,
    ) -> poem::Result<NoContent> {
        let cx = app
            .authz
            .context(&auth.0, "permissions", Action::Write)
            .await?;
        let g = Self::checked(&app, &cx, &body.0).await?;
        ensure_covers(&app, cx.user(), &g.object, g.action, g.scope).await?;
        let tid = cx.tenant().uuid();
        let uow = Uow::begin(&app, &cx).await?;
        if !authz::remove_grant(uow.txn(), tid, &g).await? {
            return Err(Error::NotFound("grant").into());
        }
        uow.record(
            Activity::new("permission", tid, "revoked")
                .changes(serde_json::to_value(&g).map_err(Error::internal)?),
        )
        .await?;
        uow.commit().await?;
        app.authz.changed(tid).await;
        Ok(NoContent::NoContent)
    }

    /// List roles
    ///
    /// The built-in roles (admin, manager, salesperson, receptionist) and the tenant's own.
    /// A custom role comes into being when it is first granted something.
    #[oai(path = "/roles", method = "get")]
    async fn roles(
        &self,
        app: Data<&Arc<App>>,
        auth: TenantAuth,
    ) -> poem::Result<Json<List<RoleView>>> {
        let cx = app
            .authz
            .context(&auth.0, "permissions", Action::Read)
            .await?;
        let items = known_roles(&app.db, cx.tenant().uuid())
            .await?
            .into_iter()
            .map(|name| RoleView {
                builtin: BUILTIN_ROLES.contains(&name.as_str()),
                name,
            })
            .collect();
        Ok(Json(List {
            items,
            next_cursor: None,
        }))
    }

    /// List permission objects
    ///
    /// Every object that grants can name, with the module that defines it.
    #[oai(path = "/permissions/objects", method = "get")]
    async fn objects(
        &self,
        app: Data<&Arc<App>>,
        _auth: TenantAuth,
    ) -> poem::Result<Json<List<ObjectView>>> {
        let items = app
            .registry
            .modules()
            .flat_map(|m| {
                m.permission_objects().iter().map(move |o| ObjectView {
                    object: o.name.into(),
                    module: m.id().into(),
                    description: o.description.into(),
                })
            })
            .collect();
        Ok(Json(List {
            items,
            next_cursor: None,
        }))
    }
}
