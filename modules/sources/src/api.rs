//! `/api/v1/lead-sources`.

use crate::{entities::lead_source, service};
use forecourt_core::{
    App, Error,
    activity::{self, Actor},
    http::{Created, JsonBody, List, NoContent, TenantAuth, fetch_page},
    module::Action,
};
use poem::web::Data;
use poem_openapi::{
    Object, OpenApi, Tags,
    param::{Path, Query},
    payload::Json,
};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, TransactionTrait};
use serde_json::json;
use std::sync::Arc;
use uuid::Uuid;

#[derive(Tags)]
enum ApiTags {
    /// Where leads come from (Expert).
    LeadSources,
}

/// A lead source.
#[derive(Object)]
pub struct LeadSourceView {
    /// Source id.
    pub id: Uuid,
    /// Name, unique in the tenant regardless of case.
    pub name: String,
    /// Inactive sources stay on past leads but are not offered for new ones.
    pub active: bool,
    /// Creation time.
    pub created_at: chrono::DateTime<chrono::Utc>,
    /// Last change.
    pub updated_at: chrono::DateTime<chrono::Utc>,
}

impl From<lead_source::Model> for LeadSourceView {
    fn from(m: lead_source::Model) -> Self {
        Self {
            id: m.id,
            name: m.name,
            active: m.active,
            created_at: m.created_at,
            updated_at: m.updated_at,
        }
    }
}

/// A lead source to create.
#[derive(Object, serde::Deserialize)]
#[oai(deny_unknown_fields)]
#[serde(deny_unknown_fields)]
pub struct NewLeadSource {
    /// Name (1 to 100 characters).
    pub name: String,
}

/// Changes to a lead source.
#[derive(Object, serde::Deserialize)]
#[oai(deny_unknown_fields)]
#[serde(deny_unknown_fields)]
pub struct LeadSourcePatch {
    /// New name.
    pub name: Option<String>,
    /// Activate or deactivate.
    pub active: Option<bool>,
}

fn snapshot(m: &lead_source::Model) -> serde_json::Value {
    json!({"name": m.name, "active": m.active})
}

/// Lead sources.
pub struct SourcesApi;

#[OpenApi(prefix_path = "/api/v1", tag = "ApiTags::LeadSources")]
impl SourcesApi {
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
        app.authz
            .require(&auth.0, "settings.sources", Action::Read)
            .await?;
        let mut q = service::scoped(auth.tenant_id());
        if let Some(a) = active.0 {
            q = q.filter(lead_source::Column::Active.eq(a));
        }
        let page = fetch_page(
            &app.db,
            q,
            lead_source::Column::Id,
            cursor.0.as_deref(),
            limit.0,
        )
        .await?;
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
        app.authz
            .require(&auth.0, "settings.sources", Action::Write)
            .await?;
        let now = app.clock.now();
        let txn = app.db.begin().await.map_err(Error::from)?;
        let m = service::create(
            &txn,
            auth.tenant_id(),
            Some(auth.0.user_id),
            &body.name,
            now,
        )
        .await?;
        activity::record(
            &txn,
            m.tenant_id,
            Actor::User(&auth.0),
            now,
            "lead_source",
            m.id,
            "created",
            snapshot(&m),
        )
        .await?;
        txn.commit().await.map_err(Error::from)?;
        Ok(Created::Created(Json(m.into())))
    }

    /// Get a lead source
    #[oai(path = "/lead-sources/:id", method = "get")]
    async fn get(
        &self,
        app: Data<&Arc<App>>,
        auth: TenantAuth,
        id: Path<Uuid>,
    ) -> poem::Result<Json<LeadSourceView>> {
        app.authz
            .require(&auth.0, "settings.sources", Action::Read)
            .await?;
        Ok(Json(
            service::get(&app.db, auth.tenant_id(), id.0).await?.into(),
        ))
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
        app.authz
            .require(&auth.0, "settings.sources", Action::Write)
            .await?;
        let now = app.clock.now();
        let txn = app.db.begin().await.map_err(Error::from)?;
        let current = service::get(&txn, auth.tenant_id(), id.0).await?;
        let before = snapshot(&current);
        let m = service::update(&txn, current, body.name.as_deref(), body.active, now).await?;
        activity::record(
            &txn,
            m.tenant_id,
            Actor::User(&auth.0),
            now,
            "lead_source",
            m.id,
            "updated",
            activity::diff(&before, &snapshot(&m)),
        )
        .await?;
        txn.commit().await.map_err(Error::from)?;
        Ok(Json(m.into()))
    }

    /// Delete a lead source
    ///
    /// Needs `settings.sources`/`delete`. Prefer deactivating a source that leads refer to.
    #[oai(path = "/lead-sources/:id", method = "delete")]
    async fn delete(
        &self,
        app: Data<&Arc<App>>,
        auth: TenantAuth,
        id: Path<Uuid>,
    ) -> poem::Result<NoContent> {
        app.authz
            .require(&auth.0, "settings.sources", Action::Delete)
            .await?;
        let txn = app.db.begin().await.map_err(Error::from)?;
        let m = service::get(&txn, auth.tenant_id(), id.0).await?;
        lead_source::Entity::delete_by_id((m.tenant_id, m.id))
            .exec(&txn)
            .await
            .map_err(Error::from)?;
        activity::record(
            &txn,
            m.tenant_id,
            Actor::User(&auth.0),
            app.clock.now(),
            "lead_source",
            m.id,
            "deleted",
            snapshot(&m),
        )
        .await?;
        txn.commit().await.map_err(Error::from)?;
        Ok(NoContent::NoContent)
    }
}
