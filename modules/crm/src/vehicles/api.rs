//! `/api/v1/vehicles`: the dealer's stock.

use crate::{
    opportunities::{links, reads, views::OpportunityView},
    vehicles::{
        list::{self, VehicleFilter},
        service,
        views::{VehicleBody, VehiclePatch, VehicleResponse, VehicleStatus, VehicleView},
    },
};
use forecourt_core::{
    App,
    access::Action,
    http::{Created, JsonBody, List, PageRequest, TenantAuth},
};
use poem::web::Data;
use poem_openapi::{
    OpenApi, Tags,
    param::{Header, Path, Query},
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
    /// Needs `vehicles`/`read`. In creation order unless `sort` says otherwise, with cursor
    /// pagination; every filter given must hold, an unknown parameter is refused (422
    /// naming it).
    #[oai(path = "/vehicles", method = "get")]
    // Each query parameter is an argument of the handler: poem-openapi documents them so (it
    // has no query struct), and the handler gathers them into one filter at once.
    #[allow(clippy::too_many_arguments)]
    async fn list(
        &self,
        app: Data<&Arc<App>>,
        auth: TenantAuth,
        /// Only the vehicles in this stock status.
        status: Query<Option<VehicleStatus>>,
        /// Only the vehicles of this make (as written on them, e.g. `Opel`).
        make: Query<Option<String>>,
        /// Only the vehicles at this establishment.
        establishment_id: Query<Option<Uuid>>,
        /// The order: `created_at`, `updated_at`, `price` or `make`, `-` before it for
        /// descending (`-price`); equal values keep creation order. Default: creation order.
        sort: Query<Option<String>>,
        /// `true` to receive the `total` of the filtered list (one more statement).
        count: Query<Option<bool>>,
        /// The `next_cursor` of the previous page (made for the same `sort`).
        cursor: Query<Option<String>>,
        /// Page size, 1 to 200 (default 50).
        limit: Query<Option<u64>>,
    ) -> poem::Result<Json<List<VehicleView>>> {
        let filter = VehicleFilter {
            status: status.0,
            make: make.0,
            establishment: establishment_id.0,
        };
        let req = PageRequest::new(cursor.0, limit.0, sort.0, count.0);
        let cx = app.authz.context(&auth.0, "vehicles", Action::Read).await?;
        Ok(Json(list::page(&app, &cx, &filter, &req).await?))
    }

    /// Add a vehicle to stock
    ///
    /// Needs `vehicles`/`write`. The VIN is unique in the tenant (409 `duplicate_vin`). The
    /// price is in integer cents. Answers the vehicle, its `Location` and its `ETag`.
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
        let version = v.version;
        Ok(Created::at(format!("/api/v1/vehicles/{}", v.id), VehicleView::from(v)).tagged(version))
    }

    /// Get a vehicle
    ///
    /// With its `ETag`: send it back as `If-Match` when changing the vehicle.
    #[oai(path = "/vehicles/:id", method = "get")]
    async fn get(
        &self,
        app: Data<&Arc<App>>,
        auth: TenantAuth,
        id: Path<Uuid>,
    ) -> poem::Result<VehicleResponse> {
        let cx = app.authz.context(&auth.0, "vehicles", Action::Read).await?;
        Ok(service::find(&app.db, &cx, id.0).await?.into())
    }

    /// Change a vehicle
    ///
    /// Needs `vehicles`/`write`. Price (integer cents), status (`in_stock`, `reserved`,
    /// `sold`) and the descriptive fields; absent fields stay, `null` clears `trim` or
    /// `mileage_km`. With `If-Match` carrying a stale ETag (someone changed the vehicle since
    /// it was read) the answer is 412 and nothing changes. Recorded in the vehicle's activity.
    #[oai(path = "/vehicles/:id", method = "patch")]
    async fn patch(
        &self,
        app: Data<&Arc<App>>,
        auth: TenantAuth,
        id: Path<Uuid>,
        #[oai(name = "If-Match")] if_match: Header<Option<String>>,
        body: JsonBody<VehiclePatch>,
    ) -> poem::Result<VehicleResponse> {
        let cx = app
            .authz
            .context(&auth.0, "vehicles", Action::Write)
            .await?;
        Ok(
            service::patch(&app, &cx, id.0, if_match.0.as_deref(), body.0)
                .await?
                .into(),
        )
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
