//! Lead source rules. Every query starts from [`scoped`], which pins the tenant.

use crate::entities::lead_source;
use chrono::{DateTime, Utc};
use forecourt_core::{Error, Result, error::map_unique};
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter,
    Select,
};
use uuid::Uuid;

/// Lead sources of one tenant: the only way this crate reads the table.
pub fn scoped(tenant_id: Uuid) -> Select<lead_source::Entity> {
    lead_source::Entity::find().filter(lead_source::Column::TenantId.eq(tenant_id))
}

/// Validates a name: trimmed, 1 to 100 characters.
pub fn clean_name(raw: &str) -> Result<String> {
    let name = raw.split_whitespace().collect::<Vec<_>>().join(" ");
    if name.is_empty() {
        return Err(Error::invalid("name", "must not be empty"));
    }
    if name.chars().count() > 100 {
        return Err(Error::invalid("name", "at most 100 characters"));
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
        "a lead source with this name already exists",
        "name",
    )
}

/// Creates a source.
pub async fn create(
    conn: &impl ConnectionTrait,
    tenant_id: Uuid,
    by: Option<Uuid>,
    raw: &str,
    now: DateTime<Utc>,
) -> Result<lead_source::Model> {
    let name = clean_name(raw)?;
    lead_source::ActiveModel {
        tenant_id: Set(tenant_id),
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
    tenant_id: Uuid,
    id: Uuid,
) -> Result<lead_source::Model> {
    scoped(tenant_id)
        .filter(lead_source::Column::Id.eq(id))
        .one(conn)
        .await?
        .ok_or(Error::NotFound("lead source"))
}

/// Renames and/or (de)activates a source.
pub async fn update(
    conn: &impl ConnectionTrait,
    current: lead_source::Model,
    name: Option<&str>,
    active: Option<bool>,
    now: DateTime<Utc>,
) -> Result<lead_source::Model> {
    let mut am: lead_source::ActiveModel = current.into();
    if let Some(n) = name {
        let n = clean_name(n)?;
        am.name_key = Set(name_key(&n));
        am.name = Set(n);
    }
    if let Some(a) = active {
        am.active = Set(a);
    }
    am.updated_at = Set(now);
    am.update(conn).await.map_err(duplicate)
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
