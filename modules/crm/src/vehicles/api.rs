//! `/api/v1/vehicles`: the dealer's stock.

use crate::{
    opportunities::{links, reads, views::OpportunityView},
    vehicles::{
        service,
        views::{VehicleBody, VehicleStatus, VehicleView},
    },
};
use forecourt_core::{
    App,
    access::Action,
    http::{Created, JsonBody, List, TenantAuth},
};
use poem::web::Data;
use poem_openapi::{
    OpenApi, Tags,
    param::{Path, Query},
    payload::Json,
};
use std::sync::Arc;
use uuid::Uuid;

// The contacts' search finds vehicles through this until it asks `vehicles::service`.

#[derive(Tags)]
enum ApiTags {
    /// The dealer's stock.
    Vehicles,
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
        let cx = app.authz.context(&auth.0, "vehicles", Action::Read).await?;
        Ok(Json(
            service::page(&app, &cx, status.0, cursor.0.as_deref(), limit.0).await?,
        ))
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
        let cx = app
            .authz
            .context(&auth.0, "vehicles", Action::Write)
            .await?;
        let v = service::create(&app, &cx, body.0).await?;
        Ok(Created::Created(Json(v.into())))
    }

    /// Get a vehicle
    #[oai(path = "/vehicles/:id", method = "get")]
    async fn get(
        &self,
        app: Data<&Arc<App>>,
        auth: TenantAuth,
        id: Path<Uuid>,
    ) -> poem::Result<Json<VehicleView>> {
        let cx = app.authz.context(&auth.0, "vehicles", Action::Read).await?;
        Ok(Json(service::find(&app.db, &cx, id.0).await?.into()))
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
    ) -> poem::Result<Json<List<OpportunityView>>> {
        let vehicles = app.authz.context(&auth.0, "vehicles", Action::Read).await?;
        let v = service::find(&app.db, &vehicles, id.0).await?;
        let cx = app
            .authz
            .context(&auth.0, "opportunities", Action::Read)
            .await?;
        let ids = links::ids_of_vehicle(&app.db, &cx, v.id).await?;
        Ok(Json(List {
            items: reads::visible_views(&app, &cx, ids).await?,
            next_cursor: None,
            total: None,
        }))
    }
}
