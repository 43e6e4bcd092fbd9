//! What a status move of an opportunity does to the records around it, in the move's own
//! transaction and in each record's history: a sale makes the customer contacts customers and
//! sells the stock vehicle of the latest offer; a status that reserves a vehicle
//! (`sold_not_delivered` by default) reserves it, and leaving it frees the vehicle again unless
//! another opportunity still holds it.

use crate::{
    contacts::status as prospects,
    lead_page::entities::opportunity_action,
    opportunities::entities::{opportunity, opportunity_contact},
    vehicles::service as vehicles,
};
use forecourt_core::{
    Result,
    ports::statuses::{StatusKind, StatusSet},
    tenancy::{TenantScoped, Tenanted},
    uow::Uow,
};
use sea_orm::{ColumnTrait, ConnectionTrait, QueryFilter, QueryOrder, QuerySelect, QueryTrait};
use uuid::Uuid;

/// Applies the consequences of `o` moving from `from` to `to`.
pub(crate) async fn follow(
    uow: &mut Uow<'_>,
    set: &StatusSet,
    o: &opportunity::Model,
    (from, to): (&str, &str),
) -> Result<()> {
    let won = set.kind(to) == StatusKind::Won;
    if won {
        let customers = customer_contacts(uow.txn(), &*uow, o.id).await?;
        let why = format!("opportunity {} won", o.id);
        prospects::convert_all(uow, &customers, &why).await?;
    }
    let reserves = |k: &str| set.get(k).is_some_and(|s| s.reserves_vehicle);
    let (held_before, holds_now) = (reserves(from), reserves(to));
    if !won && held_before == holds_now {
        return Ok(());
    }
    let Some(vehicle) = latest_offer_vehicle(uow.txn(), &*uow, o.id).await? else {
        return Ok(());
    };
    let status = if won {
        "sold"
    } else if holds_now {
        "reserved"
    } else if held_elsewhere(uow.txn(), &*uow, set, o.id, vehicle).await? {
        return Ok(());
    } else {
        "in_stock"
    };
    vehicles::set_status(
        uow,
        vehicle,
        status,
        &format!("opportunity {} moved to {to}", o.id),
    )
    .await
}

/// The contacts linked as the customer (or without a role) of opportunity `id`.
async fn customer_contacts(
    conn: &impl ConnectionTrait,
    t: &impl Tenanted,
    id: Uuid,
) -> Result<Vec<Uuid>> {
    let links: Vec<(Uuid, Option<String>)> = opportunity_contact::Entity::scoped(t)
        .select_only()
        .column(opportunity_contact::Column::ContactId)
        .column(opportunity_contact::Column::Role)
        .filter(opportunity_contact::Column::OpportunityId.eq(id))
        .into_tuple()
        .all(conn)
        .await?;
    Ok(links
        .into_iter()
        .filter(|(_, role)| role.as_deref().is_none_or(|r| r == "customer"))
        .map(|(c, _)| c)
        .collect())
}

/// The stock vehicle of the latest offer of opportunity `id`, if any.
async fn latest_offer_vehicle(
    conn: &impl ConnectionTrait,
    t: &impl Tenanted,
    id: Uuid,
) -> Result<Option<Uuid>> {
    let offer = opportunity_action::Entity::scoped(t)
        .filter(opportunity_action::Column::OpportunityId.eq(id))
        .filter(opportunity_action::Column::Kind.eq("offer"))
        .order_by_desc(opportunity_action::Column::Id)
        .one(conn)
        .await?;
    Ok(offer.and_then(|a| vehicle_of(&a)))
}

fn vehicle_of(offer: &opportunity_action::Model) -> Option<Uuid> {
    offer.data.get("vehicle_id")?.as_str()?.parse().ok()
}

/// Whether an opportunity other than `except`, in a status that reserves, has its latest
/// offer on `vehicle`.
async fn held_elsewhere(
    conn: &impl ConnectionTrait,
    t: &impl Tenanted,
    set: &StatusSet,
    except: Uuid,
    vehicle: Uuid,
) -> Result<bool> {
    let reserving: Vec<String> = set
        .0
        .iter()
        .filter(|s| s.reserves_vehicle)
        .map(|s| s.key.clone())
        .collect();
    if reserving.is_empty() {
        return Ok(false);
    }
    // One read: the offers of every other reserving opportunity, newest first; the first seen
    // of each opportunity is its latest.
    let holders = opportunity::Entity::scoped(t)
        .select_only()
        .column(opportunity::Column::Id)
        .filter(opportunity::Column::Status.is_in(reserving))
        .filter(opportunity::Column::Id.ne(except))
        .into_query();
    let offers = opportunity_action::Entity::scoped(t)
        .filter(opportunity_action::Column::Kind.eq("offer"))
        .filter(opportunity_action::Column::OpportunityId.in_subquery(holders))
        .order_by_desc(opportunity_action::Column::Id)
        .all(conn)
        .await?;
    let mut seen = std::collections::HashSet::new();
    Ok(offers
        .iter()
        .filter(|a| seen.insert(a.opportunity_id))
        .any(|a| vehicle_of(a) == Some(vehicle)))
}
