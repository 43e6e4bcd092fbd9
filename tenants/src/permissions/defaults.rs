//! The defaults every tenant gets once: the default grants of every permission object and the
//! default data sets of every module (`Module::default_sets`, such as the default statuses),
//! at onboarding, and at the next start for objects and sets of modules added since. One
//! marker row per (tenant, object or set) in `permission_seeds` says it was given.

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
    ActiveValue::Set, ColumnTrait, ConnectionTrait, DatabaseTransaction, EntityTrait, QueryFilter,
    QuerySelect,
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
    let seeded = seeded(conn, tenant_id).await?;
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
        mark(conn, tenant_id, obj.name, now).await?;
        count += 1;
    }
    Ok(count)
}

/// Gives a tenant every module's default data set it has not received yet
/// (`Module::default_sets`, e.g. the default statuses), by the same once-per-tenant rule as
/// the grants: a set the tenant received is never given again, whatever the admin did with
/// it since. Answers how many sets were seeded.
pub async fn seed_missing_data(
    app: &App,
    txn: &DatabaseTransaction,
    tenant_id: Uuid,
    now: DateTime<Utc>,
) -> Result<usize> {
    let seeded = seeded(txn, tenant_id).await?;
    let mut count = 0;
    for (marker, module, set) in app.registry.default_sets() {
        if seeded.contains(&marker) {
            continue;
        }
        module
            .seed_default(app, txn, TenantId::new(tenant_id), set, now)
            .await?;
        mark(txn, tenant_id, &marker, now).await?;
        count += 1;
    }
    Ok(count)
}

/// The objects and sets the tenant has received.
async fn seeded(conn: &impl ConnectionTrait, tenant_id: Uuid) -> Result<HashSet<String>> {
    Ok(permission_seed::Entity::scoped(&TenantId::new(tenant_id))
        .all(conn)
        .await?
        .into_iter()
        .map(|s| s.object)
        .collect())
}

/// Records that the tenant received the defaults of `marker` (an object or `<module>:<set>`).
async fn mark(
    conn: &impl ConnectionTrait,
    tenant_id: Uuid,
    marker: &str,
    now: DateTime<Utc>,
) -> Result<()> {
    permission_seed::Entity::insert(permission_seed::ActiveModel {
        tenant_id: Set(tenant_id),
        object: Set(marker.into()),
        seeded_at: Set(now),
    })
    .exec_without_returning(conn)
    .await?;
    Ok(())
}

/// Seeds a new tenant's rules and default data, and makes its first user an admin.
pub async fn seed_defaults(
    app: &App,
    txn: &DatabaseTransaction,
    tenant_id: Uuid,
    admin: Uuid,
    now: DateTime<Utc>,
) -> Result<()> {
    seed_missing_defaults(txn, &app.registry, tenant_id, now).await?;
    seed_missing_data(app, txn, tenant_id, now).await?;
    authz::set_user_roles(txn, tenant_id, admin, &["admin".to_string()]).await
}

/// At startup: gives every tenant the defaults (grants and data sets) of modules added since it
/// was onboarded. Which
/// tenants lack an object is found with one statement per thousand tenants, and only those
/// open a unit of work, so a node with many tenants starts as fast as one with a few.
pub async fn backfill_defaults(app: &App) -> Result<()> {
    let markers: Vec<String> = app.registry.default_sets().map(|(m, ..)| m).collect();
    let objects: Vec<&str> = app
        .registry
        .permission_objects()
        .map(|o| o.name)
        .chain(markers.iter().map(String::as_str))
        .collect();
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
            let sets = seed_missing_data(app, uow.txn(), *t, uow.now()).await?;
            if sets > 0 {
                tracing::info!(tenant_id = %t, sets, "seeded default data sets of modules");
            }
            if n > 0 {
                tracing::info!(tenant_id = %t, objects = n, "seeded default grants of new permission objects");
                uow.after_commit(AfterCommit::AuthzChanged(uow.tenant()));
            }
            uow.commit().await?;
        }
    }
    Ok(())
}
