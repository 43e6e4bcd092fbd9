//! `/api/v1/settings/expiry`: the tenant's expiry rule.

use crate::{
    expiry::service::{self, ExpirySettings},
    opportunities::service::statuses,
};
use forecourt_core::{
    App,
    access::Action,
    http::{JsonBody, TenantAuth},
};
use poem::web::Data;
use poem_openapi::{OpenApi, Tags, payload::Json};
use std::sync::Arc;

#[derive(Tags)]
enum ApiTags {
    /// Tenant settings of the CRM.
    Settings,
}

/// The CRM's tenant settings.
pub struct CrmSettingsApi;

#[OpenApi(prefix_path = "/api/v1", tag = "ApiTags::Settings")]
impl CrmSettingsApi {
    /// The expiry rule
    ///
    /// `{period_days, exempt_statuses}`; defaults to 56 days and the statuses taken in
    /// charge, sold not delivered and long-term follow-up.
    #[oai(path = "/settings/expiry", method = "get")]
    async fn get_expiry(
        &self,
        app: Data<&Arc<App>>,
        auth: TenantAuth,
    ) -> poem::Result<Json<ExpirySettings>> {
        let cx = app
            .authz
            .context(&auth.0, "settings.expiry", Action::Read)
            .await?;
        let statuses = statuses(&app, (&app.db).into(), &cx).await?;
        Ok(Json(service::settings(&app.db, &cx, &statuses).await?))
    }

    /// Change the expiry rule
    ///
    /// Needs `settings.expiry`/`write`. Applies at the next sweep and at lead intake.
    #[oai(path = "/settings/expiry", method = "put")]
    async fn put_expiry(
        &self,
        app: Data<&Arc<App>>,
        auth: TenantAuth,
        body: JsonBody<ExpirySettings>,
    ) -> poem::Result<Json<ExpirySettings>> {
        let cx = app
            .authz
            .context(&auth.0, "settings.expiry", Action::Write)
            .await?;
        Ok(Json(service::change(&app, &cx, body.0).await?))
    }
}
