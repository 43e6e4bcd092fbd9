//! `/api/v1/connectors`: configuration and secrets.

use super::{
    service::{self, Changes, NewConnector},
    views::{
        ConnectorPatch, ConnectorView, CreatedConnector, NewConnectorBody, RotatedSecret, maybe,
        view,
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

/// The permission object of the configuration and the log.
pub const OBJECT: &str = "settings.connectors";

/// The tags of this crate's endpoints.
#[derive(Tags)]
pub enum ApiTags {
    /// Partners' connectors: configuration, secrets and the delivery log (Expert).
    Connectors,
    /// Where partners push leads, signed per Standard Webhooks.
    InboundLeads,
}

/// Partners' connectors: their configuration and secrets.
pub struct ConnectorConfigApi;

#[OpenApi(prefix_path = "/api/v1", tag = "ApiTags::Connectors")]
impl ConnectorConfigApi {
    /// List connectors
    ///
    /// Needs `settings.connectors`/`read`. Never shows secrets.
    #[oai(path = "/connectors", method = "get")]
    async fn list(
        &self,
        app: Data<&Arc<App>>,
        auth: TenantAuth,
        cursor: Query<Option<String>>,
        limit: Query<Option<u64>>,
    ) -> poem::Result<Json<List<ConnectorView>>> {
        let cx = app.authz.context(&auth.0, OBJECT, Action::Read).await?;
        let page = service::list(&app, &cx, cursor.0.as_deref(), limit.0).await?;
        Ok(Json(page.map(|c| view(&app, c))))
    }

    /// Create a connector
    ///
    /// Needs `settings.connectors`/`write`. Answers the connector with its `secret`, shown
    /// only here (and on rotation). Without `source_id`, the lead source named after the
    /// partner (any case) is used, created when missing. 422 naming `partner`, `name`,
    /// `establishment_id` or `source_id` (another tenant's, unknown or deactivated).
    #[oai(path = "/connectors", method = "post")]
    async fn create(
        &self,
        app: Data<&Arc<App>>,
        auth: TenantAuth,
        body: JsonBody<NewConnectorBody>,
    ) -> poem::Result<Created<CreatedConnector>> {
        let cx = app.authz.context(&auth.0, OBJECT, Action::Write).await?;
        let c = service::create_for(
            &app,
            &cx,
            NewConnector {
                partner: &body.partner,
                name: &body.name,
                establishment_id: body.establishment_id,
                source_id: body.source_id,
                enabled: body.enabled.unwrap_or(true),
            },
        )
        .await?;
        let secret = c.secret.clone();
        Ok(Created::at(
            format!("/api/v1/connectors/{}", c.id),
            CreatedConnector {
                connector: view(&app, c),
                secret,
            },
        ))
    }

    /// Get a connector
    ///
    /// Needs `settings.connectors`/`read`. Never shows the secret.
    #[oai(path = "/connectors/:id", method = "get")]
    async fn get(
        &self,
        app: Data<&Arc<App>>,
        auth: TenantAuth,
        id: Path<Uuid>,
    ) -> poem::Result<Json<ConnectorView>> {
        let cx = app.authz.context(&auth.0, OBJECT, Action::Read).await?;
        let c = service::get(&app.db, &cx, id.0).await?;
        Ok(Json(view(&app, c)))
    }

    /// Change a connector
    ///
    /// Needs `settings.connectors`/`write`. A disabled connector refuses deliveries with 403
    /// `connector_disabled` (they are logged and can be replayed once it is enabled again).
    #[oai(path = "/connectors/:id", method = "patch")]
    async fn patch(
        &self,
        app: Data<&Arc<App>>,
        auth: TenantAuth,
        id: Path<Uuid>,
        body: JsonBody<ConnectorPatch>,
    ) -> poem::Result<Json<ConnectorView>> {
        let cx = app.authz.context(&auth.0, OBJECT, Action::Write).await?;
        let c = service::update(
            &app,
            &cx,
            id.0,
            Changes {
                name: body.name.as_deref(),
                establishment_id: maybe(&body.establishment_id),
                source_id: maybe(&body.source_id),
                enabled: body.enabled,
            },
        )
        .await?;
        Ok(Json(view(&app, c)))
    }

    /// Rotate a connector's secret
    ///
    /// Needs `settings.connectors`/`write`. Answers the new secret, shown this once; the
    /// previous one is still accepted for 24 hours so the partner can switch without losing
    /// a lead. Rotating again within that time ends the older secret's grace at once.
    #[oai(path = "/connectors/:id/rotate-secret", method = "post")]
    async fn rotate(
        &self,
        app: Data<&Arc<App>>,
        auth: TenantAuth,
        id: Path<Uuid>,
    ) -> poem::Result<Json<RotatedSecret>> {
        let cx = app.authz.context(&auth.0, OBJECT, Action::Write).await?;
        let c = service::rotate(&app, &cx, id.0).await?;
        let until = c.previous_secret_until.unwrap_or(c.updated_at);
        Ok(Json(RotatedSecret {
            secret: c.secret,
            previous_valid_until: until,
        }))
    }
}
