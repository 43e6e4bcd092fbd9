//! The default grants every tenant gets: at onboarding, and for permission objects of modules
//! added since.

use crate::entities::tenant;
use chrono::{DateTime, Utc};
use forecourt_core::{
    App, Result,
    access::{Action, Scope},
    app::AppRegistry,
    authz::{self, Grant, role_subject},
    entities::permission_seed,
    tenancy::{TenantId, TenantScoped, Tenanted},
    uow::{AfterCommit, Uow},
};
use sea_orm::{
    ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QuerySelect,
};
use std::collections::{HashMap, HashSet};
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
    let seeded: HashSet<String> = permission_seed::Entity::scoped(&TenantId::new(tenant_id))
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

/// At startup: gives every tenant the defaults of modules added since it was onboarded. Which
/// tenants lack an object is found with one statement per thousand tenants, and only those
/// open a unit of work, so a node with many tenants starts as fast as one with a few.
pub async fn backfill_defaults(app: &App) -> Result<()> {
    let objects: Vec<&str> = app.registry.permission_objects().map(|o| o.name).collect();
    let tenants: Vec<Uuid> = tenant::Entity::find()
        .select_only()
        .column(tenant::Column::Id)
        .into_tuple()
        .all(&app.db)
        .await?;
    for chunk in tenants.chunks(1000) {
        let ids: Vec<TenantId> = chunk.iter().copied().map(TenantId::new).collect();
        let complete: HashMap<Uuid, i64> = permission_seed::Entity::of_tenants(&ids)
            .filter(permission_seed::Column::Object.is_in(objects.iter().copied()))
            .select_only()
            .column(permission_seed::Column::TenantId)
            .column_as(permission_seed::Column::Object.count(), "seeded")
            .group_by(permission_seed::Column::TenantId)
            .into_tuple::<(Uuid, i64)>()
            .all(&app.db)
            .await?
            .into_iter()
            .collect();
        for t in chunk {
            if complete
                .get(t)
                .is_some_and(|n| *n as usize >= objects.len())
            {
                continue;
            }
            let mut uow = Uow::system(app, TenantId::new(*t), "permission-defaults").await?;
            let n = seed_missing_defaults(uow.txn(), &app.registry, *t, uow.now()).await?;
            if n > 0 {
                tracing::info!(tenant_id = %t, objects = n, "seeded default grants of new permission objects");
                uow.after_commit(AfterCommit::AuthzChanged(uow.tenant()));
            }
            uow.commit().await?;
        }
    }
    Ok(())
}
