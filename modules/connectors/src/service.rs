//! Connector configuration rules. Every query starts from [`scoped`], which pins the tenant,
//! except the inbound endpoint's [`for_inbound`], which learns the tenant from the connector.

use crate::{entities::connector, signature};
use chrono::{DateTime, Duration, Utc};
use forecourt_core::{
    Error, Result,
    activity::{self, Actor},
};
use forecourt_sources::{entities::lead_source, service as sources};
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter,
    Select, Statement,
};
use serde_json::json;
use uuid::Uuid;

/// How long the previous secret stays valid after a rotation, so a partner can switch without
/// losing a lead.
pub const ROTATION_GRACE_HOURS: i64 = 24;

/// Connectors of one tenant: the way this crate reads the table.
pub fn scoped(tenant_id: Uuid) -> Select<connector::Entity> {
    connector::Entity::find().filter(connector::Column::TenantId.eq(tenant_id))
}

/// Connectors as users of lead sources: the source a connector gives its leads cannot be
/// deleted while the connector points at it.
pub struct ConnectorSources;

#[async_trait::async_trait]
impl forecourt_core::ports::lead_sources::LeadSourceUsers for ConnectorSources {
    fn kind(&self) -> &'static str {
        "connectors"
    }

    async fn count(
        &self,
        txn: &sea_orm::DatabaseTransaction,
        tenant_id: Uuid,
        source_id: Uuid,
    ) -> Result<u64> {
        use sea_orm::PaginatorTrait;
        Ok(scoped(tenant_id)
            .filter(connector::Column::SourceId.eq(source_id))
            .count(txn)
            .await?)
    }
}

/// One connector of the tenant, or 404.
pub async fn get(
    conn: &impl ConnectionTrait,
    tenant_id: Uuid,
    id: Uuid,
) -> Result<connector::Model> {
    scoped(tenant_id)
        .filter(connector::Column::Id.eq(id))
        .one(conn)
        .await?
        .ok_or(Error::NotFound("connector"))
}

/// The connector an inbound delivery names, whatever its tenant: the one read that does not
/// start from a tenant, because on that path the connector is what identifies the tenant
/// (and only once its signature is verified).
pub async fn for_inbound(conn: &impl ConnectionTrait, id: Uuid) -> Result<connector::Model> {
    connector::Entity::find()
        .filter(connector::Column::Id.eq(id))
        .one(conn)
        .await?
        .ok_or(Error::NotFound("connector"))
}

/// A name or partner: whitespace collapsed, 1 to 100 characters.
pub fn clean_text(field: &'static str, raw: &str) -> Result<String> {
    let text = raw.split_whitespace().collect::<Vec<_>>().join(" ");
    if text.is_empty() {
        return Err(Error::invalid(field, "must not be empty"));
    }
    if text.chars().count() > 100 {
        return Err(Error::invalid(field, "at most 100 characters"));
    }
    Ok(text)
}

/// The secrets a delivery may be signed with at `now`: the current one, and the previous one
/// until its grace period ends.
pub fn keys(c: &connector::Model, now: DateTime<Utc>) -> Vec<Vec<u8>> {
    let mut keys = Vec::new();
    keys.extend(signature::key_of(&c.secret));
    if let (Some(prev), Some(until)) = (&c.previous_secret, c.previous_secret_until)
        && now < until
    {
        keys.extend(signature::key_of(prev));
    }
    keys
}

/// What an activity entry shows of a connector (never its secret).
pub fn snapshot(c: &connector::Model) -> serde_json::Value {
    json!({
        "partner": c.partner,
        "name": c.name,
        "establishment_id": c.establishment_id,
        "source_id": c.source_id,
        "enabled": c.enabled,
    })
}

/// Checks that an establishment belongs to the tenant (the table is the platform's).
pub async fn check_establishment(
    conn: &impl ConnectionTrait,
    tenant_id: Uuid,
    id: Uuid,
) -> Result<()> {
    let row = conn
        .query_one_raw(Statement::from_sql_and_values(
            conn.get_database_backend(),
            "SELECT 1 AS one FROM establishments WHERE tenant_id = $1 AND id = $2",
            [tenant_id.into(), id.into()],
        ))
        .await?;
    match row {
        Some(_) => Ok(()),
        None => Err(Error::invalid(
            "establishment_id",
            "not an establishment of this tenant",
        )),
    }
}

/// The lead source a connector sets: the one given (it must be an active source of the
/// tenant), else the source named after the partner, whatever its case, created when missing.
pub async fn resolve_source(
    conn: &impl ConnectionTrait,
    tenant_id: Uuid,
    by: Actor<'_>,
    partner: &str,
    given: Option<Uuid>,
    now: DateTime<Utc>,
) -> Result<Uuid> {
    if let Some(id) = given {
        let source = match sources::get(conn, tenant_id, id).await {
            Err(Error::NotFound(_)) => {
                return Err(Error::invalid(
                    "source_id",
                    "not a lead source of this tenant",
                ));
            }
            other => other?,
        };
        if !source.active {
            return Err(Error::invalid(
                "source_id",
                "this lead source is deactivated; activate it or choose another",
            ));
        }
        return Ok(source.id);
    }
    let name = sources::clean_name(partner).map_err(|_| {
        Error::invalid("partner", "cannot name a lead source (1 to 100 characters)")
    })?;
    if let Some(found) = sources::scoped(tenant_id)
        .filter(lead_source::Column::NameKey.eq(sources::name_key(&name)))
        .one(conn)
        .await?
    {
        return Ok(found.id);
    }
    let created_by = match by {
        Actor::User(u) => Some(u.user_id),
        Actor::System(_) => None,
    };
    let source = sources::create(conn, tenant_id, created_by, &name, now).await?;
    activity::record(
        conn,
        tenant_id,
        by,
        now,
        "lead_source",
        source.id,
        "created",
        json!({"name": source.name, "active": source.active, "for_connector": true}),
    )
    .await?;
    Ok(source.id)
}

/// The fields of a new connector, checked by [`create`].
#[derive(Debug)]
pub struct NewConnector<'a> {
    /// The partner (free text, 1 to 100 characters).
    pub partner: &'a str,
    /// The connector's name.
    pub name: &'a str,
    /// Where its leads land.
    pub establishment_id: Option<Uuid>,
    /// The source its leads get; absent: the partner's.
    pub source_id: Option<Uuid>,
    /// Whether deliveries are accepted.
    pub enabled: bool,
}

/// Creates a connector with a fresh secret.
pub async fn create(
    conn: &impl ConnectionTrait,
    tenant_id: Uuid,
    by: Actor<'_>,
    new: NewConnector<'_>,
    now: DateTime<Utc>,
) -> Result<connector::Model> {
    let partner = clean_text("partner", new.partner)?;
    let name = clean_text("name", new.name)?;
    if let Some(e) = new.establishment_id {
        check_establishment(conn, tenant_id, e).await?;
    }
    let source_id = resolve_source(conn, tenant_id, by, &partner, new.source_id, now).await?;
    let created_by = match by {
        Actor::User(u) => Some(u.user_id),
        Actor::System(_) => None,
    };
    Ok(connector::ActiveModel {
        tenant_id: Set(tenant_id),
        id: Set(Uuid::now_v7()),
        partner: Set(partner),
        name: Set(name),
        establishment_id: Set(new.establishment_id),
        source_id: Set(Some(source_id)),
        enabled: Set(new.enabled),
        secret: Set(signature::new_secret()),
        previous_secret: Set(None),
        previous_secret_until: Set(None),
        created_by: Set(created_by),
        created_at: Set(now),
        updated_at: Set(now),
    }
    .insert(conn)
    .await?)
}

/// Changes to a connector: `Some(None)` clears the establishment, or sets the source back to
/// the partner's.
#[derive(Debug, Default)]
pub struct Changes<'a> {
    /// New name.
    pub name: Option<&'a str>,
    /// New establishment, or none.
    pub establishment_id: Option<Option<Uuid>>,
    /// New source, or the partner's.
    pub source_id: Option<Option<Uuid>>,
    /// Accept deliveries or not.
    pub enabled: Option<bool>,
}

/// Applies [`Changes`].
pub async fn update(
    conn: &impl ConnectionTrait,
    current: connector::Model,
    by: Actor<'_>,
    changes: Changes<'_>,
    now: DateTime<Utc>,
) -> Result<connector::Model> {
    let tenant_id = current.tenant_id;
    let partner = current.partner.clone();
    let mut am: connector::ActiveModel = current.into();
    if let Some(n) = changes.name {
        am.name = Set(clean_text("name", n)?);
    }
    if let Some(e) = changes.establishment_id {
        if let Some(id) = e {
            check_establishment(conn, tenant_id, id).await?;
        }
        am.establishment_id = Set(e);
    }
    if let Some(s) = changes.source_id {
        let id = resolve_source(conn, tenant_id, by, &partner, s, now).await?;
        am.source_id = Set(Some(id));
    }
    if let Some(e) = changes.enabled {
        am.enabled = Set(e);
    }
    am.updated_at = Set(now);
    Ok(am.update(conn).await?)
}

/// Replaces the secret; the old one stays valid for [`ROTATION_GRACE_HOURS`].
pub async fn rotate(
    conn: &impl ConnectionTrait,
    current: connector::Model,
    now: DateTime<Utc>,
) -> Result<connector::Model> {
    let old = current.secret.clone();
    let mut am: connector::ActiveModel = current.into();
    am.secret = Set(signature::new_secret());
    am.previous_secret = Set(Some(old));
    am.previous_secret_until = Set(Some(now + Duration::hours(ROTATION_GRACE_HOURS)));
    am.updated_at = Set(now);
    Ok(am.update(conn).await?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_trimmed_and_bounded() {
        assert_eq!(clean_text("partner", "  mobile.de ").unwrap(), "mobile.de");
        assert!(clean_text("partner", " ").is_err());
        assert!(clean_text("name", &"x".repeat(101)).is_err());
        assert!(clean_text("name", &"é".repeat(100)).is_ok());
    }

    #[test]
    fn previous_secret_counts_only_during_its_grace() {
        let now = Utc::now();
        let mut c = connector::Model {
            tenant_id: Uuid::now_v7(),
            id: Uuid::now_v7(),
            partner: "p".into(),
            name: "n".into(),
            establishment_id: None,
            source_id: None,
            enabled: true,
            secret: signature::new_secret(),
            previous_secret: Some(signature::new_secret()),
            previous_secret_until: Some(now + Duration::hours(1)),
            created_by: None,
            created_at: now,
            updated_at: now,
        };
        assert_eq!(keys(&c, now).len(), 2);
        c.previous_secret_until = Some(now - Duration::seconds(1));
        assert_eq!(keys(&c, now).len(), 1);
    }
}
