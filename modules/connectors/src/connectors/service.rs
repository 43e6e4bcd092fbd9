//! Connector configuration rules and writes. Every read starts from
//! `connector::Entity::scoped`, which pins the tenant, except the inbound endpoint's
//! [`for_inbound`], which learns the tenant from the connector. The establishment and the
//! lead source a connector names are checked through the directory and lead-source ports.

use super::entities::connector;
use crate::signature;
use chrono::{DateTime, Duration, Utc};
use forecourt_core::msg;
use forecourt_core::{
    App, Error, Result,
    http::{Page, fetch_page},
    ports::directory::DirectoryKind,
    tenancy::{Cx, TenantId, TenantScoped, Tenanted},
    uow::{Activity, Uow},
};
use sea_orm::{ActiveModelTrait, ActiveValue::Set, ColumnTrait, ConnectionTrait, QueryFilter};
use serde_json::json;
use uuid::Uuid;

/// How long the previous secret stays valid after a rotation, so a partner can switch without
/// losing a lead.
pub const ROTATION_GRACE_HOURS: i64 = 24;

/// One connector of the tenant, or 404.
pub async fn get(
    conn: &impl ConnectionTrait,
    t: &impl Tenanted,
    id: Uuid,
) -> Result<connector::Model> {
    connector::Entity::scoped(t)
        .filter(connector::Column::Id.eq(id))
        .one(conn)
        .await?
        .ok_or(Error::NotFound("connector"))
}

/// A page of the caller's tenant's connectors.
pub async fn list(
    app: &App,
    cx: &Cx,
    cursor: Option<&str>,
    limit: Option<u64>,
) -> Result<Page<connector::Model>> {
    fetch_page(
        &app.db,
        connector::Entity::scoped(cx),
        connector::Column::Id,
        cursor,
        limit,
    )
    .await
}

/// The connector an inbound delivery names, whatever its tenant: the one read that does not
/// start from a tenant, because on that path the connector is what identifies the tenant
/// (and only once its signature is verified).
pub async fn for_inbound(conn: &impl ConnectionTrait, id: Uuid) -> Result<connector::Model> {
    connector::Entity::across_tenants()
        .filter(connector::Column::Id.eq(id))
        .one(conn)
        .await?
        .ok_or(Error::NotFound("connector"))
}

/// A name or partner: whitespace collapsed, 1 to 100 characters.
pub fn clean_text(field: &'static str, raw: &str) -> Result<String> {
    let text = raw.split_whitespace().collect::<Vec<_>>().join(" ");
    if text.is_empty() {
        return Err(Error::invalid(field, msg!("must not be empty")));
    }
    if text.chars().count() > 100 {
        return Err(Error::invalid(field, msg!("at most 100 characters")));
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

/// Checks that an establishment belongs to the tenant (the directory owns them).
pub async fn check_establishment(uow: &Uow<'_>, id: Uuid) -> Result<()> {
    let known = uow
        .app()
        .ports
        .directory
        .exists(
            uow.txn().into(),
            uow.tenant(),
            DirectoryKind::Establishment,
            id,
        )
        .await?;
    if known {
        Ok(())
    } else {
        Err(Error::invalid(
            "establishment_id",
            msg!("not an establishment of this tenant"),
        ))
    }
}

/// The lead source a connector sets: the one given (it must be an active source of the
/// tenant), else the source named after the partner, whatever its case, created when missing
/// (and logged as created for a connector).
pub async fn resolve_source(uow: &Uow<'_>, partner: &str, given: Option<Uuid>) -> Result<Uuid> {
    let sources = &uow.app().ports.lead_sources;
    if let Some(id) = given {
        return match sources.get(uow.txn().into(), uow.tenant(), id).await? {
            None => Err(Error::invalid(
                "source_id",
                msg!("not a lead source of this tenant"),
            )),
            Some(s) if !s.active => Err(Error::invalid(
                "source_id",
                msg!("this lead source is deactivated; activate it or choose another"),
            )),
            Some(s) => Ok(s.id),
        };
    }
    let found = match sources
        .find_or_create(
            uow.txn().into(),
            uow.tenant(),
            partner,
            uow.user_id(),
            uow.now(),
        )
        .await
    {
        Err(Error::Validation { .. }) => {
            return Err(Error::invalid(
                "partner",
                msg!("cannot name a lead source (1 to 100 characters)"),
            ));
        }
        other => other?,
    };
    if found.created {
        let s = &found.source;
        uow.record(
            Activity::new("lead_source", s.id, "created")
                .changes(json!({"name": s.name, "active": s.active, "for_connector": true})),
        )
        .await?;
    }
    Ok(found.source.id)
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

/// Creates a connector with a fresh secret inside `uow` (whoever acts: a user, the demo
/// seeding, a benchmark); the caller commits.
pub async fn create(uow: &Uow<'_>, new: NewConnector<'_>) -> Result<connector::Model> {
    let partner = clean_text("partner", new.partner)?;
    let name = clean_text("name", new.name)?;
    if let Some(e) = new.establishment_id {
        check_establishment(uow, e).await?;
    }
    let source_id = resolve_source(uow, &partner, new.source_id).await?;
    let now = uow.now();
    Ok(connector::ActiveModel {
        tenant_id: Set(uow.tenant().uuid()),
        id: Set(Uuid::now_v7()),
        partner: Set(partner),
        name: Set(name),
        establishment_id: Set(new.establishment_id),
        source_id: Set(Some(source_id)),
        enabled: Set(new.enabled),
        secret: Set(signature::new_secret()),
        previous_secret: Set(None),
        previous_secret_until: Set(None),
        created_by: Set(uow.user_id()),
        created_at: Set(now),
        updated_at: Set(now),
    }
    .insert(uow.txn())
    .await?)
}

/// Creates a connector as a platform job in `tenant` (the demo seed, a benchmark), committed.
pub async fn create_as(
    app: &App,
    tenant: TenantId,
    job: &'static str,
    new: NewConnector<'_>,
) -> Result<connector::Model> {
    let uow = Uow::system(app, tenant, job).await?;
    let c = create(&uow, new).await?;
    uow.commit().await?;
    Ok(c)
}

/// Creates a connector for the caller, logged.
pub async fn create_for(app: &App, cx: &Cx, new: NewConnector<'_>) -> Result<connector::Model> {
    let uow = Uow::begin(app, cx).await?;
    let c = create(&uow, new).await?;
    uow.record(Activity::new("connector", c.id, "created").changes(snapshot(&c)))
        .await?;
    uow.commit().await?;
    Ok(c)
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

/// Applies [`Changes`] for the caller, logged.
pub async fn update(
    app: &App,
    cx: &Cx,
    id: Uuid,
    changes: Changes<'_>,
) -> Result<connector::Model> {
    let uow = Uow::begin(app, cx).await?;
    let current = get(uow.txn(), &uow, id).await?;
    let before = snapshot(&current);
    let partner = current.partner.clone();
    let mut am: connector::ActiveModel = current.into();
    if let Some(n) = changes.name {
        am.name = Set(clean_text("name", n)?);
    }
    if let Some(e) = changes.establishment_id {
        if let Some(id) = e {
            check_establishment(&uow, id).await?;
        }
        am.establishment_id = Set(e);
    }
    if let Some(s) = changes.source_id {
        let id = resolve_source(&uow, &partner, s).await?;
        am.source_id = Set(Some(id));
    }
    if let Some(e) = changes.enabled {
        am.enabled = Set(e);
    }
    am.updated_at = Set(uow.now());
    let c = am.update(uow.txn()).await?;
    uow.record(
        Activity::new("connector", c.id, "updated")
            .changes(forecourt_core::activity::diff(&before, &snapshot(&c))),
    )
    .await?;
    uow.commit().await?;
    Ok(c)
}

/// Replaces the secret for the caller, logged; the old one stays valid for
/// [`ROTATION_GRACE_HOURS`].
pub async fn rotate(app: &App, cx: &Cx, id: Uuid) -> Result<connector::Model> {
    let uow = Uow::begin(app, cx).await?;
    let current = get(uow.txn(), &uow, id).await?;
    let now = uow.now();
    let old = current.secret.clone();
    let mut am: connector::ActiveModel = current.into();
    am.secret = Set(signature::new_secret());
    am.previous_secret = Set(Some(old));
    am.previous_secret_until = Set(Some(now + Duration::hours(ROTATION_GRACE_HOURS)));
    am.updated_at = Set(now);
    let c = am.update(uow.txn()).await?;
    let until = c.previous_secret_until.unwrap_or(now);
    uow.record(
        Activity::new("connector", c.id, "secret_rotated")
            .changes(json!({"previous_valid_until": until})),
    )
    .await?;
    uow.commit().await?;
    Ok(c)
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
