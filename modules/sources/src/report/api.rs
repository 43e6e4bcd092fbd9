//! `/api/v1/reports/lead-sources`.

use super::{
    params::{DateParam, Grouping, Period},
    service,
    views::LeadSourceReport,
};
use crate::lead_sources::api::{ApiTags, OBJECT};
use forecourt_core::{App, access::Action, http::TenantAuth};
use poem::web::Data;
use poem_openapi::{OpenApi, param::Query, payload::Json};
use std::sync::Arc;

/// The lead-source report.
pub struct LeadSourceReportApi;

#[OpenApi(prefix_path = "/api/v1", tag = "ApiTags::LeadSources")]
impl LeadSourceReportApi {
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
        app.authz.context(&auth.0, OBJECT, Action::Read).await?;
        let cx = app
            .authz
            .context(&auth.0, "opportunities", Action::Read)
            .await?;
        let period = Period::parse(
            from.0.as_ref().map(|d| d.0.as_str()),
            to.0.as_ref().map(|d| d.0.as_str()),
        )?;
        let grouping = Grouping::parse(group_by.0.as_deref())?;
        let counted = service::run(&app, &cx, &period, grouping).await?;
        Ok(Json(LeadSourceReport::build(period, grouping, counted)))
    }
}
