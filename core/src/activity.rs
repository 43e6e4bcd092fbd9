//! The activity log: who did what to which record, when, with the changed fields. Modules
//! write to it through [`record`], inside the transaction of the change.

use crate::{
    Result,
    context::TenantUser,
    entities::activity_log,
    module::Readable,
    tenancy::{TenantId, TenantScoped},
};
use chrono::{DateTime, Utc};
use sea_orm::{
    ActiveValue::Set, Condition, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder,
    QuerySelect, prelude::*,
};
use serde_json::{Map, Value};
use uuid::Uuid;

/// Who acted: a tenant user, or the system (jobs, connectors).
#[derive(Debug, Clone, Copy)]
pub enum Actor<'a> {
    /// A user of the tenant.
    User(&'a TenantUser),
    /// A user of the tenant known by id only (a change made through a port on a user's
    /// behalf, e.g. an archived status's records moved by the admin who archived it).
    UserId(Uuid),
    /// The platform itself, named (e.g. `expiry-sweep`).
    System(&'static str),
}

/// Records one action on one entity. `changes` is an object of `field: new value` (or
/// `{from, to}` pairs, see [`diff`]).
#[allow(clippy::too_many_arguments)]
pub async fn record(
    conn: &impl ConnectionTrait,
    tenant_id: Uuid,
    actor: Actor<'_>,
    at: DateTime<Utc>,
    entity_type: &str,
    entity_id: Uuid,
    action: &str,
    changes: Value,
) -> Result<()> {
    let row = entry(
        tenant_id,
        actor,
        at,
        entity_type,
        entity_id,
        action,
        changes,
    );
    record_all(conn, vec![row]).await
}

/// Writes entries made with [`entry`] in as few statements as the backend allows (one
/// multi-row insert per few hundred entries), without reading them back.
pub async fn record_all(
    conn: &impl ConnectionTrait,
    entries: Vec<activity_log::ActiveModel>,
) -> Result<()> {
    // Nine columns a row: 500 rows stay far below every backend's parameter limit.
    let mut rows = entries.into_iter().peekable();
    while rows.peek().is_some() {
        let chunk: Vec<_> = rows.by_ref().take(500).collect();
        activity_log::Entity::insert_many(chunk)
            .exec_without_returning(conn)
            .await?;
    }
    Ok(())
}

/// One activity entry, to write with [`record_all`]. Its id is taken now, so entries written
/// together keep the order in which they were made.
#[allow(clippy::too_many_arguments)]
pub fn entry(
    tenant_id: Uuid,
    actor: Actor<'_>,
    at: DateTime<Utc>,
    entity_type: &str,
    entity_id: Uuid,
    action: &str,
    changes: Value,
) -> activity_log::ActiveModel {
    let (actor_user_id, label) = match actor {
        Actor::User(u) => (Some(u.user_id), format!("user:{}", u.user_id)),
        Actor::UserId(id) => (Some(id), format!("user:{id}")),
        Actor::System(name) => (None, format!("system:{name}")),
    };
    activity_log::ActiveModel {
        tenant_id: Set(tenant_id),
        id: Set(Uuid::now_v7()),
        at: Set(at),
        actor_user_id: Set(actor_user_id),
        actor: Set(label),
        entity_type: Set(entity_type.to_string()),
        entity_id: Set(entity_id),
        action: Set(action.to_string()),
        changes: Set(changes),
    }
}

/// The fields that differ between two JSON objects, as `{field: {from, to}}`.
pub fn diff(before: &Value, after: &Value) -> Value {
    let empty = Map::new();
    let b = before.as_object().unwrap_or(&empty);
    let a = after.as_object().unwrap_or(&empty);
    let mut out = Map::new();
    for (k, v) in a {
        let old = b.get(k).cloned().unwrap_or(Value::Null);
        if &old != v {
            out.insert(k.clone(), serde_json::json!({ "from": old, "to": v }));
        }
    }
    Value::Object(out)
}

/// The rows of `query` when `user` may read `object` (at any scope), else nothing: for records
/// that whoever reads the object reads all of (lead sources, connectors, sites).
pub async fn readable_if<E: EntityTrait>(
    app: &crate::App,
    user: &TenantUser,
    object: &str,
    query: sea_orm::Select<E>,
    id: E::Column,
) -> Result<Readable> {
    Ok(
        match app
            .authz
            .scope(user, object, crate::access::Action::Read)
            .await?
        {
            Some(_) => Readable::ids(query, id),
            None => Readable::Nothing,
        },
    )
}

/// The entries a caller may see: `None` for everything (an `activity` admin), else the
/// condition that keeps only the entries of records the caller may read.
pub async fn visible_to(app: &crate::App, user: &TenantUser) -> Result<Option<Condition>> {
    if app
        .authz
        .scope(user, "activity", crate::access::Action::Admin)
        .await?
        .is_some()
    {
        return Ok(None);
    }
    let info = app.ports.directory.tenant_info(app, user.tenant_id).await?;
    let mut any = Condition::any();
    for m in app.registry.available(info.as_ref()) {
        for ty in m.activity_entities() {
            let of_type = activity_log::Column::EntityType.eq(*ty);
            match m.readable(app, user, ty).await? {
                Readable::Nothing => {}
                Readable::All => any = any.add(of_type),
                Readable::Ids(ids) => {
                    any = any.add(
                        Condition::all()
                            .add(of_type)
                            .add(activity_log::Column::EntityId.in_subquery(*ids)),
                    )
                }
            }
        }
    }
    // An empty `any` matches nothing, which is what a caller with no readable type gets.
    Ok(Some(any))
}

/// A tenant's activity, newest first, optionally for one entity, keeping only the entries
/// `visible` admits (see [`visible_to`]).
pub async fn list(
    conn: &impl ConnectionTrait,
    tenant_id: Uuid,
    visible: Option<Condition>,
    entity: Option<(&str, Uuid)>,
    before: Option<Uuid>,
    limit: u64,
) -> Result<Vec<activity_log::Model>> {
    let mut q = activity_log::Entity::scoped(&TenantId::new(tenant_id));
    if let Some(v) = visible {
        q = q.filter(v);
    }
    if let Some((ty, id)) = entity {
        q = q
            .filter(activity_log::Column::EntityType.eq(ty))
            .filter(activity_log::Column::EntityId.eq(id));
    }
    if let Some(b) = before {
        q = q.filter(activity_log::Column::Id.lt(b));
    }
    Ok(q.order_by_desc(activity_log::Column::Id)
        .limit(limit)
        .all(conn)
        .await?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn diff_lists_only_changed_fields() {
        let d = diff(
            &serde_json::json!({"name": "a", "active": true}),
            &serde_json::json!({"name": "b", "active": true}),
        );
        assert_eq!(d, serde_json::json!({"name": {"from": "a", "to": "b"}}));
    }
}
