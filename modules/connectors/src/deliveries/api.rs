//! `/api/v1/connectors/{id}/deliveries`: the delivery log and replays.

use super::{
    service::{self, Filter},
    views::{DeliveryDetail, DeliveryView},
};
use crate::{
    connectors::{
        api::{ApiTags, OBJECT},
        service as connectors,
    },
    inbound::{api::request_id, views::InboundAnswer},
};
use forecourt_core::{
    App,
    access::Action,
    http::{List, TenantAuth},
};
use poem::{Request, web::Data};
use poem_openapi::{
    OpenApi,
    param::{Path, Query},
    payload::Json,
};
use std::sync::Arc;
use uuid::Uuid;

/// A connector's delivery log.
pub struct DeliveriesApi;

#[OpenApi(prefix_path = "/api/v1", tag = "ApiTags::Connectors")]
impl DeliveriesApi {
    /// List a connector's deliveries
    ///
    /// Needs `settings.connectors`/`read`. Newest first. Filters: `outcome` (`accepted`,
    /// `partial`, `duplicate`, `rejected`, `received`), `from` and `to` (RFC 3339 instants,
    /// or days `YYYY-MM-DD`: `from` at 00:00 UTC, `to` through the end of that day). 422
    /// naming the parameter for a bad value.
    #[oai(path = "/connectors/:id/deliveries", method = "get")]
    #[allow(clippy::too_many_arguments)]
    async fn deliveries(
        &self,
        app: Data<&Arc<App>>,
        auth: TenantAuth,
        id: Path<Uuid>,
        outcome: Query<Option<String>>,
        from: Query<Option<String>>,
        to: Query<Option<String>>,
        cursor: Query<Option<String>>,
        limit: Query<Option<u64>>,
    ) -> poem::Result<Json<List<DeliveryView>>> {
        let cx = app.authz.context(&auth.0, OBJECT, Action::Read).await?;
        let filter = Filter::parse(outcome.0.as_deref(), from.0.as_deref(), to.0.as_deref())?;
        let c = connectors::get(&app.db, &cx, id.0).await?;
        let page = service::list(&app.db, &cx, c.id, &filter, cursor.0.as_deref(), limit.0).await?;
        Ok(Json(page))
    }

    /// Get a delivery
    ///
    /// Needs `settings.connectors`/`read`. With the raw body (as text when it is valid UTF-8,
    /// else base64; absent when the signature check failed), the problem answered and the
    /// result of each prospect.
    #[oai(path = "/connectors/:id/deliveries/:delivery_id", method = "get")]
    async fn delivery(
        &self,
        app: Data<&Arc<App>>,
        auth: TenantAuth,
        id: Path<Uuid>,
        delivery_id: Path<Uuid>,
    ) -> poem::Result<Json<DeliveryDetail>> {
        let cx = app.authz.context(&auth.0, OBJECT, Action::Read).await?;
        let c = connectors::get(&app.db, &cx, id.0).await?;
        let d = service::get(&app.db, &cx, c.id, delivery_id.0).await?;
        Ok(Json(d.into()))
    }

    /// Replay a delivery
    ///
    /// Needs `settings.connectors`/`write`. Re-processes the stored body with the connector's
    /// current configuration (no signature check: it was verified on receipt), as a new
    /// delivery with `replay_of`, and answers like the inbound endpoint. Only deliveries
    /// that were `rejected` or `partial` (or whose processing was interrupted) and whose body
    /// is kept can be replayed: 409 `not_replayable` otherwise. Prospects that landed before
    /// answer `duplicate`.
    #[oai(
        path = "/connectors/:id/deliveries/:delivery_id/replay",
        method = "post"
    )]
    async fn replay(
        &self,
        app: Data<&Arc<App>>,
        auth: TenantAuth,
        req: &Request,
        id: Path<Uuid>,
        delivery_id: Path<Uuid>,
    ) -> poem::Result<InboundAnswer> {
        let cx = app.authz.context(&auth.0, OBJECT, Action::Write).await?;
        let answer = service::replay(&app, &cx, id.0, delivery_id.0, request_id(req)).await?;
        Ok(answer.into())
    }
}
