//! Lead source rules and writes. Every read starts from `lead_source::Entity::scoped`, which
//! pins the tenant; every write of a request is one unit of work.

use super::entities::lead_source;
use chrono::{DateTime, Utc};
use forecourt_core::msg;
use forecourt_core::{
    App, Error, Result,
    error::map_unique,
    http::{Page, fetch_page},
    tenancy::{Cx, TenantId, TenantScoped, Tenanted},
    uow::{Activity, Uow},
};
use sea_orm::{ActiveModelTrait, ActiveValue::Set, ColumnTrait, ConnectionTrait, QueryFilter};
use serde_json::json;
use std::collections::BTreeMap;
use uuid::Uuid;

/// Validates a name: trimmed, 1 to 100 characters.
pub fn clean_name(raw: &str) -> Result<String> {
    let name = raw.split_whitespace().collect::<Vec<_>>().join(" ");
    if name.is_empty() {
        return Err(Error::invalid("name", msg!("must not be empty")));
    }
    if name.chars().count() > 100 {
        return Err(Error::invalid("name", msg!("at most 100 characters")));
    }
    Ok(name)
}

/// The uniqueness key of a name: "Website" and " website" are one source.
pub fn name_key(name: &str) -> String {
    name.to_lowercase()
}

fn duplicate(e: sea_orm::DbErr) -> Error {
    map_unique(
        e,
        "duplicate_name",
        msg!("a lead source with this name already exists"),
        "name",
    )
}

/// What an activity entry shows of a source.
pub fn snapshot(m: &lead_source::Model) -> serde_json::Value {
    json!({"name": m.name, "active": m.active})
}

/// Inserts a source (seeding, a connector's partner, the API).
pub async fn insert(
    conn: &impl ConnectionTrait,
    tenant: TenantId,
    by: Option<Uuid>,
    raw: &str,
    now: DateTime<Utc>,
) -> Result<lead_source::Model> {
    let name = clean_name(raw)?;
    lead_source::ActiveModel {
        tenant_id: Set(tenant.uuid()),
        id: Set(Uuid::now_v7()),
        name_key: Set(name_key(&name)),
        name: Set(name),
        active: Set(true),
        created_by: Set(by),
        created_at: Set(now),
        updated_at: Set(now),
    }
    .insert(conn)
    .await
    .map_err(duplicate)
}

/// One source of the tenant, or 404.
pub async fn get(
    conn: &impl ConnectionTrait,
    t: &impl Tenanted,
    id: Uuid,
) -> Result<lead_source::Model> {
    lead_source::Entity::scoped(t)
        .filter(lead_source::Column::Id.eq(id))
        .one(conn)
        .await?
        .ok_or(Error::NotFound("lead source"))
}

/// The tenant's source whose name key is `name`'s, if any.
pub async fn find_by_name(
    conn: &impl ConnectionTrait,
    t: &impl Tenanted,
    name: &str,
) -> Result<Option<lead_source::Model>> {
    Ok(lead_source::Entity::scoped(t)
        .filter(lead_source::Column::NameKey.eq(name_key(name)))
        .one(conn)
        .await?)
}

/// A page of the caller's tenant's sources, optionally only the active or inactive ones.
pub async fn list(
    app: &App,
    cx: &Cx,
    active: Option<bool>,
    cursor: Option<&str>,
    limit: Option<u64>,
) -> Result<Page<lead_source::Model>> {
    let mut q = lead_source::Entity::scoped(cx);
    if let Some(a) = active {
        q = q.filter(lead_source::Column::Active.eq(a));
    }
    fetch_page(&app.db, q, lead_source::Column::Id, cursor, limit).await
}

/// Creates a source for the caller.
pub async fn create(app: &App, cx: &Cx, name: &str) -> Result<lead_source::Model> {
    let uow = Uow::begin(app, cx).await?;
    let m = insert(uow.txn(), uow.tenant(), uow.user_id(), name, uow.now()).await?;
    uow.record(Activity::new("lead_source", m.id, "created").changes(snapshot(&m)))
        .await?;
    uow.commit().await?;
    Ok(m)
}

/// Renames and/or (de)activates a source.
pub async fn update(
    app: &App,
    cx: &Cx,
    id: Uuid,
    name: Option<&str>,
    active: Option<bool>,
) -> Result<lead_source::Model> {
    let uow = Uow::begin(app, cx).await?;
    let current = get(uow.txn(), &uow, id).await?;
    let before = snapshot(&current);
    let mut am: lead_source::ActiveModel = current.into();
    if let Some(n) = name {
        let n = clean_name(n)?;
        am.name_key = Set(name_key(&n));
        am.name = Set(n);
    }
    if let Some(a) = active {
        am.active = Set(a);
    }
    am.updated_at = Set(uow.now());
    let m = am.update(uow.txn()).await.map_err(duplicate)?;
    uow.record(
        Activity::new("lead_source", m.id, "updated")
            .changes(forecourt_core::activity::diff(&before, &snapshot(&m))),
    )
    .await?;
    uow.commit().await?;
    Ok(m)
}

/// The 409 for a source that records still refer to, counted per kind when known.
fn source_in_use(used_by: BTreeMap<String, u64>) -> Error {
    Error::InUse {
        kind: "source_in_use",
        detail: msg!(
            "this lead source is in use; deactivate it instead, or first move what uses it \
                 to another source"
        ),
        used_by,
    }
}

/// Deletes a source nothing refers to; a source in use is refused (409 `source_in_use`).
pub async fn delete(app: &App, cx: &Cx, id: Uuid) -> Result<()> {
    let uow = Uow::begin(app, cx).await?;
    let m = get(uow.txn(), &uow, id).await?;
    // Refused rather than deactivated: a DELETE that answers 204 but leaves the source in
    // place would surprise; the caller learns what still uses it and chooses.
    let mut used_by = BTreeMap::new();
    for users in &app.ports.lead_source_users {
        let n = users.count(uow.txn(), m.tenant_id, m.id).await?;
        if n > 0 {
            used_by.insert(users.kind().to_string(), n);
        }
    }
    if !used_by.is_empty() {
        return Err(source_in_use(used_by));
    }
    lead_source::Entity::delete_in(&uow)
        .filter(lead_source::Column::Id.eq(m.id))
        .exec(uow.txn())
        .await
        .map_err(|e| match e.sql_err() {
            // A reference added by a concurrent request after the count.
            Some(sea_orm::SqlErr::ForeignKeyConstraintViolation(_)) => {
                source_in_use(BTreeMap::new())
            }
            _ => Error::from(e),
        })?;
    uow.record(Activity::new("lead_source", m.id, "deleted").changes(snapshot(&m)))
        .await?;
    uow.commit().await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_normalised() {
        assert_eq!(clean_name("  Auto   Scout 24 ").unwrap(), "Auto Scout 24");
        assert!(clean_name("   ").is_err());
        assert_eq!(name_key("WebSite"), "website");
    }
}
