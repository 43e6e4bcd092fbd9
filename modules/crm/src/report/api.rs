//! `/api/v1/reports/pipeline`.

use crate::report::pipeline::{self, GroupBy, Period, PipelineReport};
use forecourt_core::msg;
use forecourt_core::{
    App, Error, access::Action, http::TenantAuth, ports::statuses::StatusEntity, tenancy::Tenanted,
};
use poem::web::Data;
use poem_openapi::{OpenApi, Tags, param::Query, payload::Json};
use std::sync::Arc;

#[derive(Tags)]
enum ApiTags {
    /// Reports over the CRM's records.
    Reports,
}

/// The CRM's reports.
pub struct ReportsApi;

#[OpenApi(prefix_path = "/api/v1", tag = "ApiTags::Reports")]
impl ReportsApi {
    /// Pipeline report
    ///
    /// Per status of the entity (in the tenant's order), or per kind with `group_by=kind`:
    /// `entered` (records that entered it during the period, their creation included),
    /// `current` (in it now), `left` with the `average_seconds` and `median_seconds` they spent
    /// in it, and, per status, `converted_to_next`: how many of those that entered it went on
    /// to the next status in the order, with the `conversion_rate`. Rows are keyed by status
    /// key and id: renaming a label changes no figure. Only records the caller may read count
    /// (`opportunities`/`read` for opportunities, `contacts`/`read` for prospects, at the
    /// caller's scope). Records older than the status history count in `current` only.
    ///
    /// 422 `validation_error` naming `entity`, `from`, `to` or `group_by`.
    #[oai(path = "/reports/pipeline", method = "get")]
    async fn pipeline(
        &self,
        app: Data<&Arc<App>>,
        auth: TenantAuth,
        /// `opportunity` (default) or `prospect`.
        entity: Query<Option<String>>,
        /// First day counted, `YYYY-MM-DD` from 00:00 UTC; absent: since the first move.
        from: Query<Option<String>>,
        /// Last day counted, `YYYY-MM-DD` up to the midnight UTC that ends it; absent: now.
        to: Query<Option<String>>,
        /// `status` (default) or `kind`.
        group_by: Query<Option<String>>,
    ) -> poem::Result<Json<PipelineReport>> {
        let entity = match entity.0.as_deref() {
            None => StatusEntity::Opportunity,
            Some(e) => StatusEntity::parse(e).ok_or_else(|| {
                Error::invalid(
                    "entity",
                    msg!("`{e}` is not `opportunity` or `prospect`", e),
                )
            })?,
        };
        let period = Period::parse(from.0.as_deref(), to.0.as_deref())?;
        let group_by = GroupBy::parse(group_by.0.as_deref())?;
        let object = match entity {
            StatusEntity::Opportunity => "opportunities",
            StatusEntity::Prospect => "contacts",
        };
        let cx = app.authz.context(&auth.0, object, Action::Read).await?;
        let set = app
            .ports
            .statuses
            .of(&app, (&app.db).into(), cx.tenant(), entity)
            .await?;
        Ok(Json(
            pipeline::run(&app, &cx, entity, &set, period, group_by).await?,
        ))
    }
}
