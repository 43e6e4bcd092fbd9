//! `/api/v1/vehicles`: the dealer's stock.

use crate::{opportunities::entities::opportunity_vehicle, vehicles::entities::vehicle};
use forecourt_core::{
    App, Error, Result,
    access::Action,
    activity::{self, Actor},
    error::map_unique,
    http::{Created, JsonBody, List, TenantAuth, fetch_page},
};
use poem::web::Data;
use poem_openapi::{
    Enum, Object, OpenApi, Tags,
    param::{Path, Query},
    payload::Json,
};
use sea_orm::{ActiveModelTrait, ActiveValue::Set, ColumnTrait, EntityTrait, QueryFilter, Select};
use serde::{Deserialize, Serialize};
use std::sync::Arc;
use uuid::Uuid;

#[derive(Tags)]
enum ApiTags {
    /// The dealer's stock.
    Vehicles,
}

/// Where a stock vehicle stands.
#[derive(Enum, Serialize, Deserialize, Debug, Clone, Copy, PartialEq, Eq)]
#[oai(rename_all = "snake_case")]
#[serde(rename_all = "snake_case")]
pub enum VehicleStatus {
    /// Available.
    InStock,
    /// Held for a customer.
    Reserved,
    /// Sold.
    Sold,
}

/// A stock vehicle.
#[derive(Object, Serialize, Deserialize, Debug, Clone)]
#[oai(deny_unknown_fields)]
#[serde(deny_unknown_fields)]
pub struct VehicleBody {
    /// Vehicle identification number: 17 characters, letters (not I, O, Q) and digits.
    #[oai(validator(max_length = 32))]
    pub vin: String,
    /// Make, e.g. `Opel`.
    #[oai(validator(max_length = 60))]
    pub make: String,
    /// Model, e.g. `Corsa`.
    #[oai(validator(max_length = 60))]
    pub model: String,
    /// Version or trim.
    #[oai(validator(max_length = 100))]
    pub version: Option<String>,
    /// Model year.
    pub year: i32,
    /// Odometer, in km.
    pub mileage_km: Option<i32>,
    /// Price incl. VAT, in euros (two decimals).
    pub price: f64,
    /// `in_stock` (default), `reserved` or `sold`.
    pub status: Option<VehicleStatus>,
}

/// A stock vehicle as read.
#[derive(Object, Debug, Clone)]
pub struct VehicleView {
    /// Vehicle id.
    pub id: Uuid,
    /// VIN.
    pub vin: String,
    /// Make.
    pub make: String,
    /// Model.
    pub model: String,
    /// Version.
    #[oai(nullable)]
    pub version: Option<String>,
    /// Model year.
    pub year: i32,
    /// Odometer, in km.
    #[oai(nullable)]
    pub mileage_km: Option<i32>,
    /// Price in euros.
    pub price: f64,
    /// Status.
    pub status: VehicleStatus,
    /// Creation time.
    pub created_at: chrono::DateTime<chrono::Utc>,
    /// Last change.
    pub updated_at: chrono::DateTime<chrono::Utc>,
}

/// Vehicles of one tenant: the only way this crate reads the table.
pub fn scoped(tenant_id: Uuid) -> Select<vehicle::Entity> {
    vehicle::Entity::find().filter(vehicle::Column::TenantId.eq(tenant_id))
}

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
            "a VIN has 17 letters (not I, O, Q) and digits",
        ))
    }
}

fn view(v: vehicle::Model) -> VehicleView {
    VehicleView {
        id: v.id,
        vin: v.vin,
        make: v.make,
        model: v.model,
        version: v.version,
        year: v.year,
        mileage_km: v.mileage_km,
        price: v.price_cents as f64 / 100.0,
        status: match v.status.as_str() {
            "reserved" => VehicleStatus::Reserved,
            "sold" => VehicleStatus::Sold,
            _ => VehicleStatus::InStock,
        },
        created_at: v.created_at,
        updated_at: v.updated_at,
    }
}

fn required(field: &str, v: &str, max: usize) -> Result<String> {
    let v = v.trim();
    if v.is_empty() || v.chars().count() > max {
        return Err(Error::invalid(field, format!("1 to {max} characters")));
    }
    Ok(v.to_string())
}

/// Stock vehicles.
pub struct VehiclesApi;

#[OpenApi(prefix_path = "/api/v1", tag = "ApiTags::Vehicles")]
impl VehiclesApi {
    /// List stock vehicles
    ///
    /// Needs `vehicles`/`read`. Filter with `status`.
    #[oai(path = "/vehicles", method = "get")]
    async fn list(
        &self,
        app: Data<&Arc<App>>,
        auth: TenantAuth,
        status: Query<Option<VehicleStatus>>,
        cursor: Query<Option<String>>,
        limit: Query<Option<u64>>,
    ) -> poem::Result<Json<List<VehicleView>>> {
        app.authz.require(&auth.0, "vehicles", Action::Read).await?;
        let mut q = scoped(auth.tenant_id());
        if let Some(s) = status.0 {
            q = q.filter(vehicle::Column::Status.eq(crate::contacts::api::str_of(s)));
        }
        let page = fetch_page(
            &app.db,
            q,
            vehicle::Column::Id,
            cursor.0.as_deref(),
            limit.0,
        )
        .await?;
        Ok(Json(page.map(view)))
    }

    /// Add a vehicle to stock
    ///
    /// Needs `vehicles`/`write`. The VIN is unique in the tenant (409 `duplicate_vin`).
    #[oai(path = "/vehicles", method = "post")]
    async fn create(
        &self,
        app: Data<&Arc<App>>,
        auth: TenantAuth,
        body: JsonBody<VehicleBody>,
    ) -> poem::Result<Created<VehicleView>> {
        app.authz
            .require(&auth.0, "vehicles", Action::Write)
            .await?;
        let b = body.0;
        let this_year = chrono::Datelike::year(&app.clock.now());
        if !(1900..=this_year + 1).contains(&b.year) {
            return Err(
                Error::invalid("year", format!("between 1900 and {}", this_year + 1)).into(),
            );
        }
        if b.mileage_km.is_some_and(|m| m < 0) {
            return Err(Error::invalid("mileage_km", "not negative").into());
        }
        if !b.price.is_finite() || b.price < 0.0 || b.price > 100_000_000.0 {
            return Err(Error::invalid("price", "a price in euros, not negative").into());
        }
        let now = app.clock.now();
        let am = vehicle::ActiveModel {
            tenant_id: Set(auth.tenant_id()),
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
            status: Set(crate::contacts::api::str_of(
                b.status.unwrap_or(VehicleStatus::InStock),
            )),
            establishment_id: Set(auth.0.establishment_id),
            created_at: Set(now),
            updated_at: Set(now),
        };
        let txn = forecourt_core::db::begin(&app.db)
            .await
            .map_err(Error::from)?;
        let v = am.insert(&txn).await.map_err(|e| {
            map_unique(
                e,
                "duplicate_vin",
                "a vehicle with this VIN is in stock",
                "vin",
            )
        })?;
        activity::record(
            &txn,
            v.tenant_id,
            Actor::User(&auth.0),
            now,
            "vehicle",
            v.id,
            "created",
            serde_json::json!({"vin": v.vin}),
        )
        .await?;
        txn.commit().await.map_err(Error::from)?;
        Ok(Created::Created(Json(view(v))))
    }

    /// Get a vehicle
    #[oai(path = "/vehicles/:id", method = "get")]
    async fn get(
        &self,
        app: Data<&Arc<App>>,
        auth: TenantAuth,
        id: Path<Uuid>,
    ) -> poem::Result<Json<VehicleView>> {
        app.authz.require(&auth.0, "vehicles", Action::Read).await?;
        Ok(Json(view(find(&app, auth.tenant_id(), id.0).await?)))
    }

    /// Opportunities involving a vehicle
    ///
    /// The opportunities the caller may see that have this vehicle of interest, open first.
    #[oai(path = "/vehicles/:id/opportunities", method = "get")]
    async fn opportunities(
        &self,
        app: Data<&Arc<App>>,
        auth: TenantAuth,
        id: Path<Uuid>,
    ) -> poem::Result<Json<List<crate::opportunities::api::OpportunityView>>> {
        app.authz.require(&auth.0, "vehicles", Action::Read).await?;
        let v = find(&app, auth.tenant_id(), id.0).await?;
        let ids: Vec<Uuid> = opportunity_vehicle::Entity::find()
            .filter(opportunity_vehicle::Column::TenantId.eq(v.tenant_id))
            .filter(opportunity_vehicle::Column::VehicleId.eq(v.id))
            .all(&app.db)
            .await
            .map_err(Error::from)?
            .into_iter()
            .map(|l| l.opportunity_id)
            .collect();
        let items = crate::opportunities::api::visible_views(&app, &auth.0, ids).await?;
        Ok(Json(List {
            items,
            next_cursor: None,
        }))
    }
}

/// Stock vehicles matching a query: a VIN prefix (an index range on `(tenant_id, vin)`), or
/// make, model and version containing every word of it.
pub async fn search(app: &App, tenant_id: Uuid, q: &str, limit: u64) -> Result<Vec<VehicleView>> {
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
    let rows = scoped(tenant_id)
        .filter(sea_orm::Condition::any().add(by_vin).add(by_name))
        .order_by_asc(vehicle::Column::Vin)
        .limit(limit)
        .all(&app.db)
        .await?;
    Ok(rows.into_iter().map(view).collect())
}

async fn find(app: &App, tenant_id: Uuid, id: Uuid) -> Result<vehicle::Model> {
    scoped(tenant_id)
        .filter(vehicle::Column::Id.eq(id))
        .one(&app.db)
        .await?
        .ok_or(Error::NotFound("vehicle"))
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
