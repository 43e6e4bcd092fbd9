//! The rows that tie an opportunity to its contacts and its vehicles of interest.

use crate::{
    contacts::service as contacts,
    opportunities::entities::{opportunity_contact, opportunity_vehicle},
    vehicles::service as vehicles,
};
use forecourt_core::msg;
use forecourt_core::{
    App, Error, Result,
    access::Action,
    tenancy::{Cx, TenantId, TenantScoped, Tenanted},
};
use sea_orm::{
    ActiveValue::Set, ColumnTrait, ConnectionTrait, DatabaseTransaction, EntityTrait, QueryFilter,
    QueryOrder, QuerySelect, QueryTrait,
};
use uuid::Uuid;

/// Replaces the vehicles of interest of opportunity `id`.
pub(crate) async fn set_vehicles(
    conn: &impl ConnectionTrait,
    t: &impl Tenanted,
    id: Uuid,
    ids: &[Uuid],
) -> Result<()> {
    opportunity_vehicle::Entity::delete_in(t)
        .filter(opportunity_vehicle::Column::OpportunityId.eq(id))
        .exec(conn)
        .await?;
    add_vehicles(conn, t, id, ids).await
}

/// Adds the vehicles of interest of an opportunity that has none yet, in the order given
/// (repeats dropped): one statement checks they are the tenant's, one inserts them.
pub(crate) async fn add_vehicles(
    conn: &impl ConnectionTrait,
    t: &impl Tenanted,
    id: Uuid,
    ids: &[Uuid],
) -> Result<()> {
    let mut seen = Vec::new();
    for v in ids {
        if !seen.contains(v) {
            seen.push(*v);
        }
    }
    let known = vehicles::known(conn, t, &seen).await?;
    if let Some(i) = ids.iter().position(|v| !known.contains(v)) {
        return Err(Error::invalid(
            format!("vehicle_ids[{i}]"),
            msg!("not a vehicle of this tenant"),
        ));
    }
    let rows: Vec<(Uuid, i32)> = seen.into_iter().zip(0..).collect();
    link_vehicles(conn, t, id, &rows).await
}

/// The vehicles of interest of opportunity `id`, in order.
pub(crate) async fn vehicles_of(
    conn: &impl ConnectionTrait,
    t: &impl Tenanted,
    id: Uuid,
) -> Result<Vec<Uuid>> {
    Ok(opportunity_vehicle::Entity::scoped(t)
        .select_only()
        .column(opportunity_vehicle::Column::VehicleId)
        .filter(opportunity_vehicle::Column::OpportunityId.eq(id))
        .order_by_asc(opportunity_vehicle::Column::Position)
        .into_tuple()
        .all(conn)
        .await?)
}

/// Adds stock vehicles to an opportunity's vehicles of interest at their positions, in one
/// statement.
pub(crate) async fn link_vehicles(
    conn: &impl ConnectionTrait,
    t: &impl Tenanted,
    id: Uuid,
    rows: &[(Uuid, i32)],
) -> Result<()> {
    if rows.is_empty() {
        return Ok(());
    }
    opportunity_vehicle::Entity::insert_many(rows.iter().map(|(vehicle_id, position)| {
        opportunity_vehicle::ActiveModel {
            tenant_id: Set(t.tenant().uuid()),
            opportunity_id: Set(id),
            vehicle_id: Set(*vehicle_id),
            position: Set(*position),
        }
    }))
    .exec_without_returning(conn)
    .await?;
    Ok(())
}

/// The contact links of opportunity `id`, in order.
pub(crate) async fn links(
    conn: &impl ConnectionTrait,
    t: &impl Tenanted,
    id: Uuid,
) -> Result<Vec<opportunity_contact::Model>> {
    Ok(opportunity_contact::Entity::scoped(t)
        .filter(opportunity_contact::Column::OpportunityId.eq(id))
        .order_by_asc(opportunity_contact::Column::Position)
        .all(conn)
        .await?)
}

/// An opportunity's label, as people name it: its first contact's name (empty without one).
/// The assignment mail and the Details tab show it.
pub(crate) async fn label(
    conn: &impl ConnectionTrait,
    t: &impl Tenanted,
    id: Uuid,
) -> Result<String> {
    Ok(match links(conn, t, id).await?.first() {
        Some(l) => contacts::scoped(t)
            .filter(crate::contacts::entities::contact::Column::Id.eq(l.contact_id))
            .one(conn)
            .await?
            .map(|c| c.display_name)
            .unwrap_or_default(),
        None => String::new(),
    })
}

/// Checks a contact can be linked: visible to the caller (404 otherwise) and not blocked.
pub(crate) async fn linkable(
    conn: &DatabaseTransaction,
    app: &App,
    cx: &Cx,
    contact_id: Uuid,
) -> Result<()> {
    let contacts_cx = app
        .authz
        .context(cx.user(), "contacts", Action::Read)
        .await?;
    let c = contacts::load_visible(app, conn, &contacts_cx, contact_id).await?;
    if c.contact.blocked {
        return Err(Error::Validation {
            kind: "contact_blocked",
            field: "contacts".into(),
            detail: msg!(
                "{name} is blocked and cannot be linked to an opportunity",
                name = &c.contact.display_name
            ),
        });
    }
    Ok(())
}

/// A contact's role on an opportunity, trimmed; empty is none.
pub(crate) fn role(v: Option<&str>) -> Result<Option<String>> {
    match v.map(str::trim).filter(|r| !r.is_empty()) {
        Some(r) if r.chars().count() > 60 => {
            Err(Error::invalid("role", msg!("at most 60 characters")))
        }
        other => Ok(other.map(str::to_string)),
    }
}

/// Moves a merged contact's opportunity links to the survivor (core `ContactsMerged`).
pub async fn move_links(
    conn: &impl ConnectionTrait,
    t: TenantId,
    survivor: Uuid,
    merged: &[Uuid],
) -> Result<()> {
    let links = opportunity_contact::Entity::scoped(&t)
        .filter(opportunity_contact::Column::ContactId.is_in(merged.to_vec()))
        .all(conn)
        .await?;
    for l in links {
        let exists = opportunity_contact::Entity::scoped(&t)
            .filter(opportunity_contact::Column::OpportunityId.eq(l.opportunity_id))
            .filter(opportunity_contact::Column::ContactId.eq(survivor))
            .one(conn)
            .await?
            .is_some();
        if !exists {
            opportunity_contact::Entity::insert(opportunity_contact::ActiveModel {
                tenant_id: Set(t.uuid()),
                opportunity_id: Set(l.opportunity_id),
                contact_id: Set(survivor),
                role: Set(l.role.clone()),
                position: Set(l.position),
            })
            .exec_without_returning(conn)
            .await?;
        }
        opportunity_contact::Entity::delete_in(&t)
            .filter(opportunity_contact::Column::OpportunityId.eq(l.opportunity_id))
            .filter(opportunity_contact::Column::ContactId.eq(l.contact_id))
            .exec(conn)
            .await?;
    }
    Ok(())
}

/// The ids of the opportunities linked to a contact, as a subquery (in the tenant, whoever
/// reaches them): a read filters on it in its own statement.
pub(crate) fn of_contact(
    t: &impl Tenanted,
    contact_id: Uuid,
) -> sea_orm::sea_query::SelectStatement {
    opportunity_contact::Entity::scoped(t)
        .select_only()
        .column(opportunity_contact::Column::OpportunityId)
        .filter(opportunity_contact::Column::ContactId.eq(contact_id))
        .into_query()
}

/// The opportunities linked to any of these contacts (in the tenant, whoever reaches them).
pub(crate) async fn ids_of_contacts(
    conn: &impl ConnectionTrait,
    t: &impl Tenanted,
    contact_ids: &[Uuid],
) -> Result<Vec<Uuid>> {
    Ok(opportunity_contact::Entity::scoped(t)
        .filter(opportunity_contact::Column::ContactId.is_in(contact_ids.to_vec()))
        .all(conn)
        .await?
        .into_iter()
        .map(|l| l.opportunity_id)
        .collect())
}

/// The opportunities with this vehicle of interest (in the tenant, whoever reaches them).
pub(crate) async fn ids_of_vehicle(
    conn: &impl ConnectionTrait,
    t: &impl Tenanted,
    vehicle_id: Uuid,
) -> Result<Vec<Uuid>> {
    Ok(opportunity_vehicle::Entity::scoped(t)
        .filter(opportunity_vehicle::Column::VehicleId.eq(vehicle_id))
        .all(conn)
        .await?
        .into_iter()
        .map(|l| l.opportunity_id)
        .collect())
}

/// Links contacts to opportunity `id`, each with its role at its position, in one statement.
pub(crate) async fn link_contacts(
    conn: &impl ConnectionTrait,
    t: &impl Tenanted,
    id: Uuid,
    rows: Vec<(Uuid, Option<String>, i32)>,
) -> Result<()> {
    if rows.is_empty() {
        return Ok(());
    }
    opportunity_contact::Entity::insert_many(rows.into_iter().map(
        |(contact_id, role, position)| opportunity_contact::ActiveModel {
            tenant_id: Set(t.tenant().uuid()),
            opportunity_id: Set(id),
            contact_id: Set(contact_id),
            role: Set(role),
            position: Set(position),
        },
    ))
    .exec_without_returning(conn)
    .await?;
    Ok(())
}
