//! A tenant admin's settings: modules, companies, establishments, and the activity log.

use crate::{
    Tags,
    directory::{invalidate_tenant, load_tenant_info},
    entities::{company, establishment, tenant_module},
    platform::{optional, required},
};
use forecourt_core::{
    App, Error, Result,
    access::{Action, Tier},
    activity::{self, Actor},
    app::AppModule,
    context::TenantUser,
    http::{Created, JsonBody, List, TenantAuth, fetch_page, page_limit, parse_cursor},
};
use poem::web::Data;
use poem_openapi::{
    Object, OpenApi,
    param::{Path, Query},
    payload::Json,
    types::MaybeUndefined,
};
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, EntityTrait, QueryFilter,
    sea_query::OnConflict,
};
use serde_json::json;
use std::sync::Arc;
use uuid::Uuid;

/// A module as the tenant admin sees it.
#[derive(Object)]
pub struct ModuleView {
    /// Module id.
    pub module: String,
    /// Human name.
    pub name: String,
    /// The tiers that include it.
    pub tiers: Vec<Tier>,
    /// Whether the tenant's licence includes it.
    pub included: bool,
    /// Whether it is on (included and not switched off).
    pub enabled: bool,
    /// Whether the admin may switch it off.
    pub can_be_disabled: bool,
}

/// A module switch.
#[derive(Object, serde::Deserialize)]
#[oai(deny_unknown_fields)]
#[serde(deny_unknown_fields)]
pub struct ModuleToggle {
    /// Module id.
    #[oai(validator(max_length = 64))]
    pub module: String,
    /// On or off.
    pub enabled: bool,
}

/// A legal entity of the tenant.
#[derive(Object, serde::Serialize)]
pub struct CompanyView {
    /// Company id.
    pub id: Uuid,
    /// Legal name.
    pub name: String,
    /// VAT number.
    #[oai(nullable)]
    pub vat_number: Option<String>,
    /// National register number.
    #[oai(nullable)]
    pub national_number: Option<String>,
    /// Creation time.
    pub created_at: chrono::DateTime<chrono::Utc>,
    /// Last change.
    pub updated_at: chrono::DateTime<chrono::Utc>,
}

/// A company to create.
#[derive(Object, serde::Deserialize)]
#[oai(deny_unknown_fields)]
#[serde(deny_unknown_fields)]
pub struct NewCompanyBody {
    /// Legal name.
    #[oai(validator(max_length = 200))]
    pub name: String,
    /// VAT number.
    #[oai(validator(max_length = 32))]
    pub vat_number: Option<String>,
    /// National register number.
    #[oai(validator(max_length = 32))]
    pub national_number: Option<String>,
}

/// Changes to a company (`null` clears an optional field).
#[derive(Object, serde::Deserialize)]
#[oai(deny_unknown_fields)]
#[serde(deny_unknown_fields)]
pub struct CompanyPatch {
    /// Legal name.
    #[oai(validator(max_length = 200))]
    pub name: Option<String>,
    /// VAT number.
    #[serde(default)]
    #[oai(validator(max_length = 32))]
    pub vat_number: MaybeUndefined<String>,
    /// National register number.
    #[serde(default)]
    #[oai(validator(max_length = 32))]
    pub national_number: MaybeUndefined<String>,
}

/// A site of the tenant.
#[derive(Object, serde::Serialize)]
pub struct EstablishmentView {
    /// Establishment id.
    pub id: Uuid,
    /// The company it belongs to.
    pub company_id: Uuid,
    /// Name of the site.
    pub name: String,
    /// Creation time.
    pub created_at: chrono::DateTime<chrono::Utc>,
    /// Last change.
    pub updated_at: chrono::DateTime<chrono::Utc>,
}

/// An establishment to create.
#[derive(Object, serde::Deserialize)]
#[oai(deny_unknown_fields)]
#[serde(deny_unknown_fields)]
pub struct NewEstablishmentBody {
    /// Name of the site.
    #[oai(validator(max_length = 200))]
    pub name: String,
    /// The company it belongs to.
    pub company_id: Uuid,
}

/// Changes to an establishment.
#[derive(Object, serde::Deserialize)]
#[oai(deny_unknown_fields)]
#[serde(deny_unknown_fields)]
pub struct EstablishmentPatch {
    /// Name of the site.
    #[oai(validator(max_length = 200))]
    pub name: Option<String>,
    /// Move it to another company of the tenant.
    pub company_id: Option<Uuid>,
}

/// An activity log entry.
#[derive(Object)]
pub struct ActivityView {
    /// Entry id.
    pub id: Uuid,
    /// When it happened.
    pub at: chrono::DateTime<chrono::Utc>,
    /// The user who acted (absent for the system).
    #[oai(nullable)]
    pub actor_user_id: Option<Uuid>,
    /// `user:<id>` or `system:<job>`.
    pub actor: String,
    /// The kind of record, e.g. `lead_source`.
    pub entity_type: String,
    /// The record.
    pub entity_id: Uuid,
    /// What happened, e.g. `created`, `updated`.
    pub action: String,
    /// The changed fields.
    pub changes: serde_json::Value,
}

fn module_view(m: &AppModule, tier: Tier, disabled: &[String]) -> ModuleView {
    let included = m.tiers().contains(&tier);
    ModuleView {
        module: m.id().into(),
        name: m.name().into(),
        tiers: m.tiers().to_vec(),
        included,
        enabled: included && !disabled.iter().any(|d| d == m.id()),
        can_be_disabled: m.can_be_disabled(),
    }
}

async fn company_of(app: &App, caller: &TenantUser, id: Uuid) -> Result<company::Model> {
    company::Entity::find_by_id((caller.tenant_id, id))
        .one(&app.db)
        .await?
        .ok_or(Error::NotFound("company"))
}

async fn establishment_of(
    app: &App,
    caller: &TenantUser,
    id: Uuid,
) -> Result<establishment::Model> {
    establishment::Entity::find_by_id((caller.tenant_id, id))
        .one(&app.db)
        .await?
        .ok_or(Error::NotFound("establishment"))
}

fn company_json(c: &company::Model) -> serde_json::Value {
    json!({"name": c.name, "vat_number": c.vat_number, "national_number": c.national_number})
}

fn establishment_json(e: &establishment::Model) -> serde_json::Value {
    json!({"name": e.name, "company_id": e.company_id})
}

impl From<company::Model> for CompanyView {
    fn from(c: company::Model) -> Self {
        Self {
            id: c.id,
            name: c.name,
            vat_number: c.vat_number,
            national_number: c.national_number,
            created_at: c.created_at,
            updated_at: c.updated_at,
        }
    }
}

impl From<establishment::Model> for EstablishmentView {
    fn from(e: establishment::Model) -> Self {
        Self {
            id: e.id,
            company_id: e.company_id,
            name: e.name,
            created_at: e.created_at,
            updated_at: e.updated_at,
        }
    }
}

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
        app.authz
            .require(&auth.0, "settings.modules", Action::Read)
            .await?;
        let info = load_tenant_info(&app.db, auth.tenant_id())
            .await?
            .ok_or(Error::NotFound("tenant"))?;
        let items = app
            .registry
            .modules()
            .map(|m| module_view(m, info.tier, &info.disabled_modules))
            .collect();
        Ok(Json(List {
            items,
            next_cursor: None,
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
        app.authz
            .require(&auth.0, "settings.modules", Action::Write)
            .await?;
        let tid = auth.tenant_id();
        let m = app
            .registry
            .get(&body.module)
            .ok_or(Error::NotFound("module"))?;
        let info = load_tenant_info(&app.db, tid)
            .await?
            .ok_or(Error::NotFound("tenant"))?;
        if body.enabled {
            app.registry.check_available(m, info.tier, &[])?;
        } else if !m.can_be_disabled() {
            return Err(Error::conflict(
                "module_required",
                format!("the module `{}` cannot be switched off", m.id()),
            )
            .into());
        }
        let now = app.clock.now();
        let txn = forecourt_core::db::begin(&app.db)
            .await
            .map_err(Error::from)?;
        tenant_module::Entity::insert(tenant_module::ActiveModel {
            tenant_id: Set(tid),
            module: Set(m.id().into()),
            enabled: Set(body.enabled),
            updated_at: Set(now),
        })
        .on_conflict(
            OnConflict::columns([
                tenant_module::Column::TenantId,
                tenant_module::Column::Module,
            ])
            .update_columns([
                tenant_module::Column::Enabled,
                tenant_module::Column::UpdatedAt,
            ])
            .to_owned(),
        )
        .exec_without_returning(&txn)
        .await
        .map_err(Error::from)?;
        activity::record(
            &txn,
            tid,
            Actor::User(&auth.0),
            now,
            "module",
            tid,
            if body.enabled { "enabled" } else { "disabled" },
            json!({"module": m.id()}),
        )
        .await?;
        txn.commit().await.map_err(Error::from)?;
        invalidate_tenant(&app, tid).await;
        let info = load_tenant_info(&app.db, tid)
            .await?
            .ok_or(Error::NotFound("tenant"))?;
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
        app.authz
            .require(&auth.0, "companies", Action::Read)
            .await?;
        let q = company::Entity::find().filter(company::Column::TenantId.eq(auth.tenant_id()));
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
        app.authz
            .require(&auth.0, "companies", Action::Write)
            .await?;
        let now = app.clock.now();
        let am = company::ActiveModel {
            tenant_id: Set(auth.tenant_id()),
            id: Set(Uuid::now_v7()),
            name: Set(required("name", &body.name, 200)?),
            vat_number: Set(optional("vat_number", body.vat_number.as_deref(), 32)?),
            national_number: Set(optional(
                "national_number",
                body.national_number.as_deref(),
                32,
            )?),
            created_at: Set(now),
            updated_at: Set(now),
        };
        let txn = forecourt_core::db::begin(&app.db)
            .await
            .map_err(Error::from)?;
        let c = am.insert(&txn).await.map_err(Error::from)?;
        activity::record(
            &txn,
            c.tenant_id,
            Actor::User(&auth.0),
            now,
            "company",
            c.id,
            "created",
            company_json(&c),
        )
        .await?;
        txn.commit().await.map_err(Error::from)?;
        Ok(Created::Created(Json(c.into())))
    }

    /// Get a company
    #[oai(path = "/companies/:id", method = "get")]
    async fn get_company(
        &self,
        app: Data<&Arc<App>>,
        auth: TenantAuth,
        id: Path<Uuid>,
    ) -> poem::Result<Json<CompanyView>> {
        app.authz
            .require(&auth.0, "companies", Action::Read)
            .await?;
        Ok(Json(company_of(&app, &auth.0, id.0).await?.into()))
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
        app.authz
            .require(&auth.0, "companies", Action::Write)
            .await?;
        let c = company_of(&app, &auth.0, id.0).await?;
        let before = company_json(&c);
        let mut am: company::ActiveModel = c.into();
        if let Some(n) = &body.name {
            am.name = Set(required("name", n, 200)?);
        }
        if !body.vat_number.is_undefined() {
            am.vat_number = Set(optional(
                "vat_number",
                body.vat_number.value().map(String::as_str),
                32,
            )?);
        }
        if !body.national_number.is_undefined() {
            am.national_number = Set(optional(
                "national_number",
                body.national_number.value().map(String::as_str),
                32,
            )?);
        }
        am.updated_at = Set(app.clock.now());
        let txn = forecourt_core::db::begin(&app.db)
            .await
            .map_err(Error::from)?;
        let c = am.update(&txn).await.map_err(Error::from)?;
        activity::record(
            &txn,
            c.tenant_id,
            Actor::User(&auth.0),
            app.clock.now(),
            "company",
            c.id,
            "updated",
            activity::diff(&before, &company_json(&c)),
        )
        .await?;
        txn.commit().await.map_err(Error::from)?;
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
        app.authz
            .require(&auth.0, "establishments", Action::Read)
            .await?;
        let q = establishment::Entity::find()
            .filter(establishment::Column::TenantId.eq(auth.tenant_id()));
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
        app.authz
            .require(&auth.0, "establishments", Action::Write)
            .await?;
        company_of(&app, &auth.0, body.company_id).await?;
        let now = app.clock.now();
        let am = establishment::ActiveModel {
            tenant_id: Set(auth.tenant_id()),
            id: Set(Uuid::now_v7()),
            company_id: Set(body.company_id),
            name: Set(required("name", &body.name, 200)?),
            created_at: Set(now),
            updated_at: Set(now),
        };
        let txn = forecourt_core::db::begin(&app.db)
            .await
            .map_err(Error::from)?;
        let e = am.insert(&txn).await.map_err(Error::from)?;
        activity::record(
            &txn,
            e.tenant_id,
            Actor::User(&auth.0),
            now,
            "establishment",
            e.id,
            "created",
            establishment_json(&e),
        )
        .await?;
        txn.commit().await.map_err(Error::from)?;
        Ok(Created::Created(Json(e.into())))
    }

    /// Get an establishment
    #[oai(path = "/establishments/:id", method = "get")]
    async fn get_establishment(
        &self,
        app: Data<&Arc<App>>,
        auth: TenantAuth,
        id: Path<Uuid>,
    ) -> poem::Result<Json<EstablishmentView>> {
        app.authz
            .require(&auth.0, "establishments", Action::Read)
            .await?;
        Ok(Json(establishment_of(&app, &auth.0, id.0).await?.into()))
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
        app.authz
            .require(&auth.0, "establishments", Action::Write)
            .await?;
        let e = establishment_of(&app, &auth.0, id.0).await?;
        let before = establishment_json(&e);
        let mut am: establishment::ActiveModel = e.into();
        if let Some(n) = &body.name {
            am.name = Set(required("name", n, 200)?);
        }
        if let Some(c) = body.company_id {
            company_of(&app, &auth.0, c).await?;
            am.company_id = Set(c);
        }
        am.updated_at = Set(app.clock.now());
        let txn = forecourt_core::db::begin(&app.db)
            .await
            .map_err(Error::from)?;
        let e = am.update(&txn).await.map_err(Error::from)?;
        activity::record(
            &txn,
            e.tenant_id,
            Actor::User(&auth.0),
            app.clock.now(),
            "establishment",
            e.id,
            "updated",
            activity::diff(&before, &establishment_json(&e)),
        )
        .await?;
        txn.commit().await.map_err(Error::from)?;
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
        app.authz.require(&auth.0, "activity", Action::Read).await?;
        let limit = page_limit(limit.0);
        let entity = match (entity_type.0.as_deref(), entity_id.0) {
            (Some(t), Some(i)) => Some((t, i)),
            (None, None) => None,
            _ => {
                return Err(Error::invalid(
                    "entity_id",
                    "give both entity_type and entity_id, or neither",
                )
                .into());
            }
        };
        let visible = activity::visible_to(&app, &auth.0).await?;
        let rows = activity::list(
            &app.db,
            auth.tenant_id(),
            visible,
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
