//! The dealer's stock: the rules of a stock vehicle and the reads other parts of the CRM make
//! (a vehicle of interest, an offer's vehicle, a lead's VIN).

use crate::vehicles::{
    entities::vehicle,
    views::{VehicleBody, VehicleStatus, VehicleView},
};
use forecourt_core::msg;
use forecourt_core::{
    App, Error, Result,
    error::map_unique,
    http::{List, fetch_page},
    tenancy::{Cx, TenantScoped, Tenanted},
    uow::{Activity, Uow},
};
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, ConnectionTrait, QueryFilter, prelude::Expr,
};
use serde_json::json;
use uuid::Uuid;

/// A VIN: 17 characters of A-Z (without I, O, Q) and 0-9, upper-cased. The North-American
/// check digit is not required: European VINs need not carry one.
pub fn vin(field: &str, raw: &str) -> Result<String> {
    let v: String = raw.trim().to_uppercase();
    let ok = v.len() == 17
        && v.chars()
            .all(|c| (c.is_ascii_uppercase() && !"IOQ".contains(c)) || c.is_ascii_digit());
    if ok {
        Ok(v)
    } else {
        Err(Error::invalid(
            field,
            msg!("a VIN has 17 letters (not I, O, Q) and digits"),
        ))
    }
}

fn required(field: &str, v: &str, max: usize) -> Result<String> {
    let v = v.trim();
    if v.is_empty() || v.chars().count() > max {
        return Err(Error::invalid(field, msg!("1 to {max} characters", max)));
    }
    Ok(v.to_string())
}

/// Moves a stock vehicle to `status` (`in_stock`, `reserved`, `sold`) as a consequence of an
/// opportunity's move (`why`), in that unit of work and in the vehicle's activity; a vehicle
/// already there is left alone.
pub async fn set_status(uow: &Uow<'_>, id: Uuid, status: &str, why: &str) -> Result<()> {
    let Some(v) = get(uow.txn(), uow, id).await? else {
        return Ok(());
    };
    if v.status == status {
        return Ok(());
    }
    vehicle::Entity::update_in(uow)
        .col_expr(vehicle::Column::Status, Expr::value(status))
        .col_expr(vehicle::Column::UpdatedAt, Expr::value(uow.now()))
        .filter(vehicle::Column::Id.eq(id))
        .exec(uow.txn())
        .await?;
    uow.record(
        Activity::new("vehicle", id, "status_changed")
            .changes(json!({"status": {"from": v.status, "to": status}, "reason": why})),
    )
    .await
}

/// The tenant's vehicle `id` (404 when it is another tenant's or missing).
pub async fn find(
    conn: &impl ConnectionTrait,
    t: &impl Tenanted,
    id: Uuid,
) -> Result<vehicle::Model> {
    get(conn, t, id).await?.ok_or(Error::NotFound("vehicle"))
}

/// The tenant's vehicle `id`, if there is one.
pub async fn get(
    conn: &impl ConnectionTrait,
    t: &impl Tenanted,
    id: Uuid,
) -> Result<Option<vehicle::Model>> {
    Ok(vehicle::Entity::scoped(t)
        .filter(vehicle::Column::Id.eq(id))
        .one(conn)
        .await?)
}

/// Which of `ids` are vehicles of the tenant, in one statement.
pub async fn known(
    conn: &impl ConnectionTrait,
    t: &impl Tenanted,
    ids: &[Uuid],
) -> Result<Vec<Uuid>> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    Ok(vehicle::Entity::scoped(t)
        .filter(vehicle::Column::Id.is_in(ids.to_vec()))
        .all(conn)
        .await?
        .into_iter()
        .map(|v| v.id)
        .collect())
}

/// The tenant's stock vehicles with these VINs (as written by a partner): for each, the
/// vehicle's id if one has it. One statement for all of them (none when no VIN is valid).
pub async fn with_vins(
    conn: &impl ConnectionTrait,
    t: &impl Tenanted,
    raw: &[Option<&str>],
) -> Result<Vec<Option<Uuid>>> {
    let vins: Vec<Option<String>> = raw
        .iter()
        .map(|r| r.and_then(|v| vin("vin", v).ok()))
        .collect();
    let wanted: Vec<String> = vins.iter().flatten().cloned().collect();
    if wanted.is_empty() {
        return Ok(vec![None; raw.len()]);
    }
    let found = vehicle::Entity::scoped(t)
        .filter(vehicle::Column::Vin.is_in(wanted))
        .all(conn)
        .await?;
    Ok(vins
        .iter()
        .map(|v| {
            let v = v.as_deref()?;
            found.iter().find(|f| f.vin == v).map(|f| f.id)
        })
        .collect())
}

/// A page of the tenant's stock, in `status` when given.
pub async fn page(
    app: &App,
    t: &impl Tenanted,
    status: Option<VehicleStatus>,
    cursor: Option<&str>,
    limit: Option<u64>,
) -> Result<List<VehicleView>> {
    let mut q = vehicle::Entity::scoped(t);
    if let Some(s) = status {
        q = q.filter(vehicle::Column::Status.eq(s.key()));
    }
    let page = fetch_page(&app.db, q, vehicle::Column::Id, cursor, limit).await?;
    Ok(page.map(VehicleView::from))
}

/// Adds a vehicle to the stock of the caller's tenant, at the caller's establishment.
pub async fn create(app: &App, cx: &Cx, b: VehicleBody) -> Result<vehicle::Model> {
    let this_year = chrono::Datelike::year(&app.clock.now());
    if !(1900..=this_year + 1).contains(&b.year) {
        return Err(Error::invalid(
            "year",
            msg!("between 1900 and {last}", last = this_year + 1),
        ));
    }
    if b.mileage_km.is_some_and(|m| m < 0) {
        return Err(Error::invalid("mileage_km", msg!("not negative")));
    }
    if !b.price.is_finite() || b.price < 0.0 || b.price > 100_000_000.0 {
        return Err(Error::invalid(
            "price",
            msg!("a price in euros, not negative"),
        ));
    }
    let now = app.clock.now();
    let am = vehicle::ActiveModel {
        tenant_id: Set(cx.tenant().uuid()),
        id: Set(Uuid::now_v7()),
        vin: Set(vin("vin", &b.vin)?),
        make: Set(required("make", &b.make, 60)?),
        model: Set(required("model", &b.model, 60)?),
        version: Set(b
            .version
            .as_deref()
            .map(|v| required("version", v, 100))
            .transpose()?),
        year: Set(b.year),
        mileage_km: Set(b.mileage_km),
        price_cents: Set((b.price * 100.0).round() as i64),
        status: Set(b.status.unwrap_or(VehicleStatus::InStock).key().to_string()),
        establishment_id: Set(cx.establishment_id()),
        created_at: Set(now),
        updated_at: Set(now),
    };
    let uow = Uow::begin(app, cx).await?.at(now);
    let v = am.insert(uow.txn()).await.map_err(|e| {
        map_unique(
            e,
            "duplicate_vin",
            msg!("a vehicle with this VIN is in stock"),
            "vin",
        )
    })?;
    uow.record(
        Activity::new("vehicle", v.id, "created").changes(serde_json::json!({"vin": v.vin})),
    )
    .await?;
    uow.commit().await?;
    Ok(v)
}

/// Stock vehicles matching a query: a VIN prefix (an index range on `(tenant_id, vin)`), or
/// make, model and version containing every word of it.
pub async fn search(app: &App, t: &impl Tenanted, q: &str, limit: u64) -> Result<Vec<VehicleView>> {
    use sea_orm::{
        ExprTrait, QueryOrder, QuerySelect,
        sea_query::{Expr, Func},
    };
    let compact: String = q
        .trim()
        .to_uppercase()
        .chars()
        .filter(|c| !c.is_whitespace())
        .collect();
    let words = crate::contacts::validate::words(q);
    if compact.len() < 2 || words.is_empty() {
        return Ok(vec![]);
    }
    let mut by_name = sea_orm::Condition::all();
    for w in &words {
        let pattern = format!("%{w}%");
        let any = sea_orm::Condition::any()
            .add(Expr::expr(Func::lower(Expr::col(vehicle::Column::Make))).like(pattern.clone()))
            .add(Expr::expr(Func::lower(Expr::col(vehicle::Column::Model))).like(pattern.clone()))
            .add(Expr::expr(Func::lower(Expr::col(vehicle::Column::Version))).like(pattern));
        by_name = by_name.add(any);
    }
    let by_vin = sea_orm::Condition::all()
        .add(vehicle::Column::Vin.gte(compact.clone()))
        .add(vehicle::Column::Vin.lt(format!("{compact}{{")));
    let rows = vehicle::Entity::scoped(t)
        .filter(sea_orm::Condition::any().add(by_vin).add(by_name))
        .order_by_asc(vehicle::Column::Vin)
        .limit(limit)
        .all(&app.db)
        .await?;
    Ok(rows.into_iter().map(VehicleView::from).collect())
}

#[cfg(test)]
mod tests {
    #[test]
    fn vins() {
        assert_eq!(
            super::vin("v", " w0l0xcf0814000001 ").unwrap(),
            "W0L0XCF0814000001"
        );
        assert!(super::vin("v", "W0L0XCF081400000I").is_err());
        assert!(super::vin("v", "SHORT").is_err());
    }
}
