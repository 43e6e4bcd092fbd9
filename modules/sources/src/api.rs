//! `/api/v1/lead-sources`.

use crate::{
    entities::lead_source,
    report::{self, DateParam, Grouping, LeadSourceReport, Period},
    service,
};
use forecourt_core::{
    App, Error,
    access::Action,
    activity::{self, Actor},
    http::{Created, JsonBody, List, NoContent, TenantAuth, fetch_page},
};
use poem::web::Data;
use poem_openapi::{
    Object, OpenApi, Tags,
    param::{Path, Query},
    payload::Json,
};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
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
    #[oai(validator(max_length = 100))]
    pub name: String,
}

/// Changes to a lead source.
#[derive(Object, serde::Deserialize)]
#[oai(deny_unknown_fields)]
#[serde(deny_unknown_fields)]
pub struct LeadSourcePatch {
    /// New name.
    #[oai(validator(max_length = 100))]
    pub name: Option<String>,
    /// Activate or deactivate.
    pub active: Option<bool>,
}

/// The 409 for a source that records still refer to, counted per kind when known.
fn source_in_use(used_by: std::collections::BTreeMap<String, u64>) -> Error {
    Error::InUse {
        kind: "source_in_use",
        detail: "this lead source is in use; deactivate it instead, or first move what uses it \
                 to another source"
            .into(),
        used_by,
    }
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
        let txn = forecourt_core::db::begin(&app.db)
            .await
            .map_err(Error::from)?;
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
        let txn = forecourt_core::db::begin(&app.db)
            .await
            .map_err(Error::from)?;
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
        app.authz
            .require(&auth.0, "settings.sources", Action::Delete)
            .await?;
        let txn = forecourt_core::db::begin(&app.db)
            .await
            .map_err(Error::from)?;
        let m = service::get(&txn, auth.tenant_id(), id.0).await?;
        // Refused rather than deactivated: a DELETE that answers 204 but leaves the source in
        // place would surprise; the caller learns what still uses it and chooses.
        let mut used_by = std::collections::BTreeMap::new();
        for users in &app.ports.lead_source_users {
            let n = users.count(&txn, m.tenant_id, m.id).await?;
            if n > 0 {
                used_by.insert(users.kind().to_string(), n);
            }
        }
        if !used_by.is_empty() {
            return Err(source_in_use(used_by).into());
        }
        lead_source::Entity::delete_by_id((m.tenant_id, m.id))
            .exec(&txn)
            .await
            .map_err(|e| match e.sql_err() {
                // A reference added by a concurrent request after the count.
                Some(sea_orm::SqlErr::ForeignKeyConstraintViolation(_)) => {
                    source_in_use(std::collections::BTreeMap::new())
                }
                _ => Error::from(e),
            })?;
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

    /// Lead-source report
    ///
    /// Leads, won, lost, open and conversion per lead source, optionally split per
    /// establishment and/or per assigned user, over a period. Needs `settings.sources`/`read`
    /// and `opportunities`/`read` (403 `forbidden` naming the missing one); the figures count
    /// only the opportunities the caller may read: with an `own` scope those assigned to them,
    /// with `establishment` those of their establishment or assigned to them, with `tenant`
    /// all of the tenant's.
    ///
    /// A lead counts in the period by its creation instant: from `from` at 00:00 UTC to the
    /// end of `to` (the midnight UTC that closes it), both days included, either end
    /// optional. It is a cohort report: `won` and `lost` are the current outcome of the leads
    /// created in the period, whenever they were closed, so `conversion_rate` answers "how
    /// many of the leads we got in March did we win?". Every status other than `won` and
    /// `lost` counts as `open`, expired leads included.
    ///
    /// Grouped by source only, every active source of the tenant has a row, with zeros when it
    /// brought no lead in the period, so a manager sees what a source did not deliver;
    /// deactivated sources appear only when they have leads in the period. Leads without a
    /// source form one row with `source_id` `null`, when there are any. Split by
    /// establishment or user, only combinations with leads appear. Establishment is the
    /// lead's own, user the one it is assigned to (`null` for none). Names are the current
    /// ones. Rows: most leads first, then by source name. `totals` sums every row: each
    /// lead is counted exactly once.
    ///
    /// 422 `validation_error` naming `from`, `to` or `group_by` for a malformed date, `from`
    /// after `to`, or an unknown grouping.
    #[oai(path = "/reports/lead-sources", method = "get")]
    async fn report(
        &self,
        app: Data<&Arc<App>>,
        auth: TenantAuth,
        /// First creation day counted, `YYYY-MM-DD`, from 00:00 UTC. Absent: since the first
        /// lead.
        from: Query<Option<DateParam>>,
        /// Last creation day counted, `YYYY-MM-DD`, included up to the midnight UTC that ends
        /// it. Absent: up to now. Must not be before `from`.
        to: Query<Option<DateParam>>,
        /// Comma-separated list of `source` (the default, always applied), `establishment`,
        /// `user`, e.g. `establishment,user` for one row per source × establishment × user.
        group_by: Query<Option<String>>,
    ) -> poem::Result<Json<LeadSourceReport>> {
        app.authz
            .require(&auth.0, "settings.sources", Action::Read)
            .await?;
        let scope = app
            .authz
            .require(&auth.0, "opportunities", Action::Read)
            .await?;
        let period = Period::parse(
            from.0.as_ref().map(|d| d.0.as_str()),
            to.0.as_ref().map(|d| d.0.as_str()),
        )?;
        let grouping = Grouping::parse(group_by.0.as_deref())?;
        let counted = report::run(&app.db, &auth.0, scope, &period, grouping).await?;
        Ok(Json(LeadSourceReport::build(period, grouping, counted)))
    }
}
