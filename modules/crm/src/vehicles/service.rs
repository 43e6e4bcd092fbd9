//! The dealer's stock: the rules of a stock vehicle and the reads other parts of the CRM make
//! (a vehicle of interest, an offer's vehicle, a lead's VIN).

use crate::vehicles::{
    entities::vehicle,
    views::{VehicleBody, VehiclePatch, VehicleStatus, VehicleView},
};
use forecourt_core::msg;
use forecourt_core::{
    App, Error, Result,
    error::map_unique,
    tenancy::{Cx, TenantScoped, Tenanted},
    uow::{Activity, Uow},
};
use poem_openapi::types::MaybeUndefined;
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
        .col_expr(
            vehicle::Column::Version,
            sea_orm::sea_query::ExprTrait::add(Expr::col(vehicle::Column::Version), 1),
        )
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

fn year(app: &App, y: i32) -> Result<i32> {
    let this_year = chrono::Datelike::year(&app.clock.now());
    if !(1900..=this_year + 1).contains(&y) {
        return Err(Error::invalid(
            "year",
            msg!("between 1900 and {last}", last = this_year + 1),
        ));
    }
    Ok(y)
}

fn mileage(m: Option<i32>) -> Result<Option<i32>> {
    if m.is_some_and(|m| m < 0) {
        return Err(Error::invalid("mileage_km", msg!("not negative")));
    }
    Ok(m)
}

fn trim(t: Option<&str>) -> Result<Option<String>> {
    t.map(|v| required("trim", v, 100)).transpose()
}

/// A VIN already in the tenant's stock: 409.
fn duplicate_vin(e: sea_orm::DbErr) -> Error {
    map_unique(
        e,
        "duplicate_vin",
        msg!("a vehicle with this VIN is in stock"),
        "vin",
    )
}

/// Adds a vehicle to the stock of the caller's tenant, at the caller's establishment.
pub async fn create(app: &App, cx: &Cx, b: VehicleBody) -> Result<vehicle::Model> {
    let now = app.clock.now();
    let am = vehicle::ActiveModel {
        tenant_id: Set(cx.tenant().uuid()),
        id: Set(Uuid::now_v7()),
        vin: Set(vin("vin", &b.vin)?),
        make: Set(required("make", &b.make, 60)?),
        model: Set(required("model", &b.model, 60)?),
        trim: Set(trim(b.trim.as_deref())?),
        year: Set(year(app, b.year)?),
        mileage_km: Set(mileage(b.mileage_km)?),
        price_cents: Set(b.price.cents()),
        status: Set(b.status.unwrap_or(VehicleStatus::InStock).key().to_string()),
        establishment_id: Set(cx.establishment_id()),
        created_at: Set(now),
        updated_at: Set(now),
        version: Set(1),
    };
    let uow = Uow::begin(app, cx).await?.at(now);
    let v = am.insert(uow.txn()).await.map_err(duplicate_vin)?;
    uow.record(
        Activity::new("vehicle", v.id, "created").changes(serde_json::json!({"vin": v.vin})),
    )
    .await?;
    uow.commit().await?;
    Ok(v)
}

/// What of a vehicle its activity entries show.
fn recorded(v: &vehicle::Model) -> serde_json::Value {
    json!({
        "vin": v.vin, "make": v.make, "model": v.model, "trim": v.trim, "year": v.year,
        "mileage_km": v.mileage_km, "price": v.price_cents, "status": v.status,
    })
}

/// Changes a stock vehicle: the given fields, checked as on creation. With `If-Match`
/// carrying another version than the stored one the answer is 412 and nothing changes.
pub async fn patch(
    app: &App,
    cx: &Cx,
    id: Uuid,
    if_match: Option<&str>,
    p: VehiclePatch,
) -> Result<vehicle::Model> {
    let uow = Uow::begin(app, cx).await?;
    let v = find(uow.txn(), cx, id).await?;
    if let Some(m) = if_match
        && !forecourt_core::http::if_match(m, v.version)
    {
        return Err(Error::PreconditionFailed);
    }
    let mut am: vehicle::ActiveModel = v.clone().into();
    if let Some(x) = &p.vin {
        am.vin = Set(vin("vin", x)?);
    }
    if let Some(x) = &p.make {
        am.make = Set(required("make", x, 60)?);
    }
    if let Some(x) = &p.model {
        am.model = Set(required("model", x, 60)?);
    }
    match &p.trim {
        MaybeUndefined::Value(x) => am.trim = Set(trim(Some(x))?),
        MaybeUndefined::Null => am.trim = Set(None),
        MaybeUndefined::Undefined => {}
    }
    if let Some(y) = p.year {
        am.year = Set(year(app, y)?);
    }
    match p.mileage_km {
        MaybeUndefined::Value(m) => am.mileage_km = Set(mileage(Some(m))?),
        MaybeUndefined::Null => am.mileage_km = Set(None),
        MaybeUndefined::Undefined => {}
    }
    if let Some(price) = p.price {
        am.price_cents = Set(price.cents());
    }
    if let Some(s) = p.status {
        am.status = Set(s.key().to_string());
    }
    // The claim fails when another writer changed it since it was read here: 412, as for a
    // stale `If-Match`.
    if !uow.claim::<vehicle::Entity>(v.id, v.version).await? {
        return Err(Error::PreconditionFailed);
    }
    am.version = Set(v.version + 1);
    am.updated_at = Set(uow.now());
    let updated = am.update(uow.txn()).await.map_err(duplicate_vin)?;
    uow.record(
        Activity::new("vehicle", v.id, "updated").changes(forecourt_core::activity::diff(
            &recorded(&v),
            &recorded(&updated),
        )),
    )
    .await?;
    uow.commit().await?;
    Ok(updated)
}

/// Stock vehicles matching a query: a VIN prefix (an index range on `(tenant_id, vin)`), or
/// make, model and trim containing every word of it.
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
            .add(Expr::expr(Func::lower(Expr::col(vehicle::Column::Trim))).like(pattern));
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
