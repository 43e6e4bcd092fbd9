//! `/api/v1/lead-sources`.

use super::{
    service,
    views::{LeadSourcePatch, LeadSourceView, NewLeadSource},
};
use forecourt_core::{
    App,
    access::Action,
    http::{Created, JsonBody, List, NoContent, TenantAuth},
};
use poem::web::Data;
use poem_openapi::{
    OpenApi, Tags,
    param::{Path, Query},
    payload::Json,
};
use std::sync::Arc;
use uuid::Uuid;

/// The permission object of the sources and their report.
pub const OBJECT: &str = "settings.sources";

/// The tag of every endpoint of this crate.
#[derive(Tags)]
pub enum ApiTags {
    /// Where leads come from (Expert).
    LeadSources,
}

/// Lead sources.
pub struct LeadSourcesApi;

#[OpenApi(prefix_path = "/api/v1", tag = "ApiTags::LeadSources")]
impl LeadSourcesApi {
    /// List lead sources
    ///
    /// Needs `settings.sources`/`read`. Filter with `active`.
    #[oai(path = "/lead-sources", method = "get")]
    async fn list(
        &self,
        app: Data<&Arc<App>>,
        auth: TenantAuth,
        active: Query<Option<bool>>,
        cursor: Query<Option<String>>,
        limit: Query<Option<u64>>,
    ) -> poem::Result<Json<List<LeadSourceView>>> {
        let cx = app.authz.context(&auth.0, OBJECT, Action::Read).await?;
        let page = service::list(&app, &cx, active.0, cursor.0.as_deref(), limit.0).await?;
        Ok(Json(page.map(Into::into)))
    }

    /// Create a lead source
    ///
    /// Needs `settings.sources`/`write`. 409 `duplicate_name` when the name exists.
    #[oai(path = "/lead-sources", method = "post")]
    async fn create(
        &self,
        app: Data<&Arc<App>>,
        auth: TenantAuth,
        body: JsonBody<NewLeadSource>,
    ) -> poem::Result<Created<LeadSourceView>> {
        let cx = app.authz.context(&auth.0, OBJECT, Action::Write).await?;
        let m = service::create(&app, &cx, &body.name).await?;
        Ok(Created::at(
            format!("/api/v1/lead-sources/{}", m.id),
            m.into(),
        ))
    }

    /// Get a lead source
    #[oai(path = "/lead-sources/:id", method = "get")]
    async fn get(
        &self,
        app: Data<&Arc<App>>,
        auth: TenantAuth,
        id: Path<Uuid>,
    ) -> poem::Result<Json<LeadSourceView>> {
        let cx = app.authz.context(&auth.0, OBJECT, Action::Read).await?;
        Ok(Json(service::get(&app.db, &cx, id.0).await?.into()))
    }

    /// Change a lead source
    #[oai(path = "/lead-sources/:id", method = "patch")]
    async fn patch(
        &self,
        app: Data<&Arc<App>>,
        auth: TenantAuth,
        id: Path<Uuid>,
        body: JsonBody<LeadSourcePatch>,
    ) -> poem::Result<Json<LeadSourceView>> {
        let cx = app.authz.context(&auth.0, OBJECT, Action::Write).await?;
        let m = service::update(&app, &cx, id.0, body.name.as_deref(), body.active).await?;
        Ok(Json(m.into()))
    }

    /// Delete a lead source
    ///
    /// Needs `settings.sources`/`delete`. A source that opportunities or connectors refer to
    /// is not deleted: 409 `source_in_use`, whose `used_by` counts them per kind
    /// (`{"connectors": 1, "opportunities": 3}`); deactivate it instead (`PATCH` with
    /// `active: false`), which keeps it on past leads and in the reports.
    #[oai(path = "/lead-sources/:id", method = "delete")]
    async fn delete(
        &self,
        app: Data<&Arc<App>>,
        auth: TenantAuth,
        id: Path<Uuid>,
    ) -> poem::Result<NoContent> {
        let cx = app.authz.context(&auth.0, OBJECT, Action::Delete).await?;
        service::delete(&app, &cx, id.0).await?;
        Ok(NoContent::NoContent)
    }
}
