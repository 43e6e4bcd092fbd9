//! `/api/v1/search`.

use crate::{
    contacts::views::{ContactView, view},
    search::service::search_contacts,
};
use forecourt_core::{App, access::Action, http::TenantAuth};
use poem::web::Data;
use poem_openapi::{Object, OpenApi, Tags, param::Query, payload::Json};
use serde_json::json;
use std::sync::Arc;
use uuid::Uuid;

#[derive(Tags)]
enum ApiTags {
    /// Search across the tenant.
    Search,
}

/// Search results.
#[derive(Object)]
pub struct SearchResults {
    /// Matching contacts, best first.
    pub contacts: Vec<ContactView>,
    /// Opportunities of those contacts the caller may see, open first (empty without
    /// `opportunities`/`read`).
    pub opportunities: Vec<crate::opportunities::views::OpportunityView>,
    /// Stock vehicles whose VIN starts with the query, or whose make, model and version
    /// contain every word of it (empty without `vehicles`/`read`).
    pub vehicles: Vec<crate::vehicles::views::VehicleView>,
}

/// Tenant-wide search.
pub struct SearchApi;

#[OpenApi(prefix_path = "/api/v1", tag = "ApiTags::Search")]
impl SearchApi {
    /// Search
    ///
    /// Contacts (the same search as `GET /contacts?q=`, cached per tenant and invalidated by
    /// every contact change), the opportunities of those contacts, and stock vehicles by VIN,
    /// make, model or version, each within the caller's permissions.
    #[oai(path = "/search", method = "get")]
    async fn search(
        &self,
        app: Data<&Arc<App>>,
        auth: TenantAuth,
        q: Query<String>,
        limit: Query<Option<u64>>,
    ) -> poem::Result<Json<SearchResults>> {
        let cx = app.authz.context(&auth.0, "contacts", Action::Read).await?;
        let limit = forecourt_core::http::page_limit(limit.0).min(50);
        let found = search_contacts(&app, &cx, &q.0, limit).await?;
        let contact_ids: Vec<Uuid> = found.iter().map(|f| f.contact.id).collect();
        let today = app.clock.now().date_naive();
        let contacts = found
            .into_iter()
            .map(|f| view(f, today, json!({})))
            .collect();
        let opportunities = match app
            .authz
            .scope(&auth.0, "opportunities", Action::Read)
            .await?
        {
            Some(_) => {
                crate::opportunities::reads::of_contacts(&app, &auth.0, &contact_ids, limit).await?
            }
            None => vec![],
        };
        let vehicles = match app.authz.scope(&auth.0, "vehicles", Action::Read).await? {
            Some(_) => crate::vehicles::service::search(&app, &cx, &q.0, limit).await?,
            None => vec![],
        };
        Ok(Json(SearchResults {
            contacts,
            opportunities,
            vehicles,
        }))
    }
}
