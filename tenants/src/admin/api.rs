//! The settings endpoints: take the caller's context, call the service, answer.

use crate::{
    admin::{
        service,
        views::{
            ActivityView, CompanyPatch, CompanyView, EstablishmentPatch, EstablishmentView,
            ModuleToggle, ModuleView, NewCompanyBody, NewEstablishmentBody, module_view,
        },
    },
    entities::{company, establishment},
    tags::Tags,
};
use forecourt_core::msg;
use forecourt_core::{
    App, Error,
    access::Action,
    http::{Created, JsonBody, List, TenantAuth, fetch_page, page_limit, parse_cursor},
    tenancy::TenantScoped,
};
use poem::web::Data;
use poem_openapi::{
    OpenApi,
    param::{Path, Query},
    payload::Json,
};
use std::sync::Arc;
use uuid::Uuid;

/// A tenant admin's settings.
pub struct AdminApi;

#[OpenApi(prefix_path = "/api/v1", tag = "Tags::Settings")]
impl AdminApi {
    /// List modules
    ///
    /// Every module of this server: the tiers that include it, whether the tenant's licence
    /// does, and whether it is on.
    #[oai(path = "/settings/modules", method = "get")]
    async fn modules(
        &self,
        app: Data<&Arc<App>>,
        auth: TenantAuth,
    ) -> poem::Result<Json<List<ModuleView>>> {
        let cx = app
            .authz
            .context(&auth.0, "settings.modules", Action::Read)
            .await?;
        let info = service::tenant_info(&app, &cx).await?;
        let items = app
            .registry
            .modules()
            .map(|m| module_view(m, info.tier, &info.disabled_modules))
            .collect();
        Ok(Json(List {
            items,
            next_cursor: None,
            total: None,
        }))
    }

    /// Switch a module on or off
    ///
    /// Needs `settings.modules`/`write`. A module outside the tenant's tier cannot be switched
    /// on (403 `module_not_licensed`); the platform cannot be switched off.
    #[oai(path = "/settings/modules", method = "patch")]
    async fn toggle(
        &self,
        app: Data<&Arc<App>>,
        auth: TenantAuth,
        body: JsonBody<ModuleToggle>,
    ) -> poem::Result<Json<ModuleView>> {
        let cx = app
            .authz
            .context(&auth.0, "settings.modules", Action::Write)
            .await?;
        let (m, info) = service::toggle_module(&app, &cx, &body).await?;
        Ok(Json(module_view(m, info.tier, &info.disabled_modules)))
    }

    /// List companies
    #[oai(path = "/companies", method = "get")]
    async fn companies(
        &self,
        app: Data<&Arc<App>>,
        auth: TenantAuth,
        cursor: Query<Option<String>>,
        limit: Query<Option<u64>>,
    ) -> poem::Result<Json<List<CompanyView>>> {
        let cx = app
            .authz
            .context(&auth.0, "companies", Action::Read)
            .await?;
        let q = company::Entity::scoped(&cx);
        let page = fetch_page(
            &app.db,
            q,
            company::Column::Id,
            cursor.0.as_deref(),
            limit.0,
        )
        .await?;
        Ok(Json(page.map(Into::into)))
    }

    /// Create a company
    #[oai(path = "/companies", method = "post")]
    async fn create_company(
        &self,
        app: Data<&Arc<App>>,
        auth: TenantAuth,
        body: JsonBody<NewCompanyBody>,
    ) -> poem::Result<Created<CompanyView>> {
        let cx = app
            .authz
            .context(&auth.0, "companies", Action::Write)
            .await?;
        let c = service::create_company(&app, &cx, &body).await?;
        Ok(Created::at(format!("/api/v1/companies/{}", c.id), c.into()))
    }

    /// Get a company
    #[oai(path = "/companies/:id", method = "get")]
    async fn get_company(
        &self,
        app: Data<&Arc<App>>,
        auth: TenantAuth,
        id: Path<Uuid>,
    ) -> poem::Result<Json<CompanyView>> {
        let cx = app
            .authz
            .context(&auth.0, "companies", Action::Read)
            .await?;
        Ok(Json(service::company(&app, &cx, id.0).await?.into()))
    }

    /// Change a company
    #[oai(path = "/companies/:id", method = "patch")]
    async fn patch_company(
        &self,
        app: Data<&Arc<App>>,
        auth: TenantAuth,
        id: Path<Uuid>,
        body: JsonBody<CompanyPatch>,
    ) -> poem::Result<Json<CompanyView>> {
        let cx = app
            .authz
            .context(&auth.0, "companies", Action::Write)
            .await?;
        let c = service::patch_company(&app, &cx, id.0, &body).await?;
        Ok(Json(c.into()))
    }

    /// List establishments
    #[oai(path = "/establishments", method = "get")]
    async fn establishments(
        &self,
        app: Data<&Arc<App>>,
        auth: TenantAuth,
        cursor: Query<Option<String>>,
        limit: Query<Option<u64>>,
    ) -> poem::Result<Json<List<EstablishmentView>>> {
        let cx = app
            .authz
            .context(&auth.0, "establishments", Action::Read)
            .await?;
        let q = establishment::Entity::scoped(&cx);
        let page = fetch_page(
            &app.db,
            q,
            establishment::Column::Id,
            cursor.0.as_deref(),
            limit.0,
        )
        .await?;
        Ok(Json(page.map(Into::into)))
    }

    /// Create an establishment
    ///
    /// The company must be one of the tenant's (404 otherwise).
    #[oai(path = "/establishments", method = "post")]
    async fn create_establishment(
        &self,
        app: Data<&Arc<App>>,
        auth: TenantAuth,
        body: JsonBody<NewEstablishmentBody>,
    ) -> poem::Result<Created<EstablishmentView>> {
        let cx = app
            .authz
            .context(&auth.0, "establishments", Action::Write)
            .await?;
        let e = service::create_establishment(&app, &cx, &body).await?;
        Ok(Created::at(
            format!("/api/v1/establishments/{}", e.id),
            e.into(),
        ))
    }

    /// Get an establishment
    #[oai(path = "/establishments/:id", method = "get")]
    async fn get_establishment(
        &self,
        app: Data<&Arc<App>>,
        auth: TenantAuth,
        id: Path<Uuid>,
    ) -> poem::Result<Json<EstablishmentView>> {
        let cx = app
            .authz
            .context(&auth.0, "establishments", Action::Read)
            .await?;
        Ok(Json(service::establishment(&app, &cx, id.0).await?.into()))
    }

    /// Change an establishment
    #[oai(path = "/establishments/:id", method = "patch")]
    async fn patch_establishment(
        &self,
        app: Data<&Arc<App>>,
        auth: TenantAuth,
        id: Path<Uuid>,
        body: JsonBody<EstablishmentPatch>,
    ) -> poem::Result<Json<EstablishmentView>> {
        let cx = app
            .authz
            .context(&auth.0, "establishments", Action::Write)
            .await?;
        let e = service::patch_establishment(&app, &cx, id.0, &body).await?;
        Ok(Json(e.into()))
    }

    /// The activity log
    ///
    /// Newest first; filter by `entity_type` and `entity_id` for one record's history. Needs
    /// `activity`/`read`, and shows only the entries of records the caller may read (with the
    /// same scopes and company sharing as reading the record itself: a contact, an
    /// opportunity, a user...). Entries of deleted or merged records, and of modules the
    /// tenant switched off, are shown to `activity` admins only (the `admin` role).
    #[oai(path = "/activity", method = "get")]
    async fn activity(
        &self,
        app: Data<&Arc<App>>,
        auth: TenantAuth,
        entity_type: Query<Option<String>>,
        entity_id: Query<Option<Uuid>>,
        cursor: Query<Option<String>>,
        limit: Query<Option<u64>>,
    ) -> poem::Result<Json<List<ActivityView>>> {
        let cx = app.authz.context(&auth.0, "activity", Action::Read).await?;
        let limit = page_limit(limit.0);
        let entity = match (entity_type.0.as_deref(), entity_id.0) {
            (Some(t), Some(i)) => Some((t, i)),
            (None, None) => None,
            _ => {
                return Err(Error::invalid(
                    "entity_id",
                    msg!("give both entity_type and entity_id, or neither"),
                )
                .into());
            }
        };
        let rows = service::activity(
            &app,
            &cx,
            entity,
            parse_cursor(cursor.0.as_deref())?,
            limit + 1,
        )
        .await?;
        let items = rows
            .into_iter()
            .map(|r| ActivityView {
                id: r.id,
                at: r.at,
                actor_user_id: r.actor_user_id,
                actor: r.actor,
                entity_type: r.entity_type,
                entity_id: r.entity_id,
                action: r.action,
                changes: r.changes,
            })
            .collect();
        Ok(Json(List::page(items, limit, |a: &ActivityView| a.id)))
    }
}
