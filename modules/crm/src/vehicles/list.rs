//! The stock list: its filters and orders, paged by the keyset of every list.

use crate::vehicles::{
    entities::vehicle,
    views::{VehicleStatus, VehicleView},
};
use forecourt_core::{
    App, Result,
    http::{List, PageRequest, SortField, fetch_sorted},
    tenancy::{TenantScoped, Tenanted},
};
use sea_orm::{ColumnTrait, QueryFilter, QueryTrait};
use uuid::Uuid;

/// What the stock list keeps; all given conditions must hold.
#[derive(Debug, Clone, Default)]
pub struct VehicleFilter {
    /// In this stock status.
    pub status: Option<VehicleStatus>,
    /// Of this make (as written on the vehicle).
    pub make: Option<String>,
    /// At this establishment.
    pub establishment: Option<Uuid>,
}

/// The orders the stock list offers besides creation order, each with the id as tie-break.
fn sorts() -> [SortField<vehicle::Model>; 4] {
    use vehicle::Column as C;
    [
        SortField::column("created_at", C::CreatedAt, |v| v.created_at.into()),
        SortField::column("updated_at", C::UpdatedAt, |v| v.updated_at.into()),
        SortField::column("price", C::PriceCents, |v| v.price_cents.into()),
        SortField::column("make", C::Make, |v| v.make.clone().into()),
    ]
}

/// The page `req` asks of the tenant's stock that `filter` keeps.
pub async fn page(
    app: &App,
    t: &impl Tenanted,
    filter: &VehicleFilter,
    req: &PageRequest,
) -> Result<List<VehicleView>> {
    use vehicle::Column as C;
    let q = vehicle::Entity::scoped(t)
        .apply_if(filter.status, |q, s| q.filter(C::Status.eq(s.key())))
        .apply_if(filter.make.clone(), |q, m| q.filter(C::Make.eq(m)))
        .apply_if(filter.establishment, |q, e| {
            q.filter(C::EstablishmentId.eq(e))
        });
    let page = fetch_sorted(&app.db, q, C::Id, &sorts(), req).await?;
    Ok(page.map(VehicleView::from))
}
