//! The operator's and resellers' endpoints: resellers, onboarding, licences and suspension.

use crate::{
    entities::{reseller, tenant},
    platform::{
        service::{self, managed_tenant, require_operator},
        views::{
            NewReseller, Onboarded, Onboarding, ResellerCreated, ResellerView, TenantPatch,
            TenantView,
        },
    },
    tags::Tags,
};
use forecourt_core::{
    App,
    context::Principal,
    http::{Created, JsonBody, List, PlatformAuth, fetch_page},
};
use poem::web::Data;
use poem_openapi::{
    OpenApi,
    param::{Path, Query},
    payload::Json,
};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
use std::sync::Arc;
use uuid::Uuid;

/// The operator's and resellers' API.
pub struct PlatformApi;
#[OpenApi(prefix_path = "/api/v1/platform", tag = "Tags::Platform")]
impl PlatformApi {
    /// Create a reseller
    ///
    /// Operator only. Creates the reseller and its first user (invited by mail when no
    /// password is given).
    #[oai(path = "/resellers", method = "post")]
    async fn create_reseller(
        &self,
        app: Data<&Arc<App>>,
        auth: PlatformAuth,
        body: JsonBody<NewReseller>,
    ) -> poem::Result<Created<ResellerCreated>> {
        require_operator(&auth.0)?;
        // Resellers are read in their list only.
        Ok(Created::at(
            "/api/v1/platform/resellers",
            service::create_reseller(&app, &body.0).await?,
        ))
    }

    /// List resellers
    ///
    /// Operator only.
    #[oai(path = "/resellers", method = "get")]
    async fn list_resellers(
        &self,
        app: Data<&Arc<App>>,
        auth: PlatformAuth,
        cursor: Query<Option<String>>,
        limit: Query<Option<u64>>,
    ) -> poem::Result<Json<List<ResellerView>>> {
        require_operator(&auth.0)?;
        let q = reseller::Entity::find();
        let page = fetch_page(
            &app.db,
            q,
            reseller::Column::Id,
            cursor.0.as_deref(),
            limit.0,
        )
        .await?;
        Ok(Json(page.map(|r| ResellerView {
            id: r.id,
            name: r.name,
            created_at: r.created_at,
        })))
    }

    /// Onboard a dealership
    ///
    /// Operator or reseller. Creates the tenant with its licence, first company, first
    /// establishment and first admin in one transaction, seeds the default roles and grants,
    /// and invites the admin by mail when no password is given.
    #[oai(path = "/tenants", method = "post")]
    async fn onboard(
        &self,
        app: Data<&Arc<App>>,
        auth: PlatformAuth,
        body: JsonBody<Onboarding>,
    ) -> poem::Result<Created<Onboarded>> {
        let reseller_id = match auth.0 {
            Principal::Reseller { reseller_id, .. } => Some(reseller_id),
            _ => None,
        };
        let onboarded = service::onboard(&app, reseller_id, &body.0).await?;
        Ok(Created::at(
            format!("/api/v1/platform/tenants/{}", onboarded.tenant_id),
            onboarded,
        ))
    }

    /// List tenants
    ///
    /// The operator sees every tenant; a reseller only those it onboarded.
    #[oai(path = "/tenants", method = "get")]
    async fn list_tenants(
        &self,
        app: Data<&Arc<App>>,
        auth: PlatformAuth,
        cursor: Query<Option<String>>,
        limit: Query<Option<u64>>,
    ) -> poem::Result<Json<List<TenantView>>> {
        let mut q = tenant::Entity::find();
        if let Principal::Reseller { reseller_id, .. } = auth.0 {
            q = q.filter(tenant::Column::ResellerId.eq(reseller_id));
        }
        let page = fetch_page(&app.db, q, tenant::Column::Id, cursor.0.as_deref(), limit.0).await?;
        Ok(Json(page.map(Into::into)))
    }

    /// Get a tenant
    #[oai(path = "/tenants/:id", method = "get")]
    async fn get_tenant(
        &self,
        app: Data<&Arc<App>>,
        auth: PlatformAuth,
        id: Path<Uuid>,
    ) -> poem::Result<Json<TenantView>> {
        Ok(Json(managed_tenant(&app, &auth.0, id.0).await?.into()))
    }

    /// Change a tenant
    ///
    /// Change the licence tier, suspend (its users then get 403 `tenant_suspended`) or
    /// reactivate, or rename. Takes effect at once.
    #[oai(path = "/tenants/:id", method = "patch")]
    async fn patch_tenant(
        &self,
        app: Data<&Arc<App>>,
        auth: PlatformAuth,
        id: Path<Uuid>,
        body: JsonBody<TenantPatch>,
    ) -> poem::Result<Json<TenantView>> {
        let t = service::patch_tenant(&app, &auth.0, id.0, &body).await?;
        Ok(Json(t.into()))
    }
}
