//! A tenant admin's settings as rules and units of work: switching modules, the tenant's
//! companies and establishments, and the activity log as the caller may see it.

use crate::{
    admin::views::{
        CompanyPatch, EstablishmentPatch, ModuleToggle, NewCompanyBody, NewEstablishmentBody,
    },
    directory::{load_tenant_info, tenant_changed},
    entities::{company, establishment, tenant_module},
    fields::{optional, required},
};
use forecourt_core::msg;
use forecourt_core::{
    App, Error, Result, activity,
    app::AppModule,
    context::TenantInfo,
    entities::activity_log,
    tenancy::{Cx, TenantScoped, Tenanted},
    uow::{Activity, Uow},
};
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, EntityTrait, QueryFilter,
    sea_query::OnConflict,
};
use serde_json::json;
use uuid::Uuid;

/// The tenant's licence facts, 404 when the tenant is gone.
pub(crate) async fn tenant_info(app: &App, t: &impl Tenanted) -> Result<TenantInfo> {
    load_tenant_info(&app.db, t.tenant().uuid())
        .await?
        .ok_or(Error::NotFound("tenant"))
}

/// Switches a module on or off for the caller's tenant; returns it with the tenant's facts
/// afterwards. A module outside the tier cannot be switched on, the platform not off.
pub(crate) async fn toggle_module<'a>(
    app: &'a App,
    cx: &Cx,
    body: &ModuleToggle,
) -> Result<(&'a AppModule, TenantInfo)> {
    let m = app
        .registry
        .get(&body.module)
        .ok_or(Error::NotFound("module"))?;
    let info = tenant_info(app, cx).await?;
    if body.enabled {
        app.registry.check_available(m, info.tier, &[])?;
    } else if !m.can_be_disabled() {
        return Err(Error::conflict(
            "module_required",
            msg!(
                "the module `{module}` cannot be switched off",
                module = m.id()
            ),
        ));
    }
    let tid = cx.tenant().uuid();
    let mut uow = Uow::begin(app, cx).await?;
    tenant_module::Entity::insert(tenant_module::ActiveModel {
        tenant_id: Set(tid),
        module: Set(m.id().into()),
        enabled: Set(body.enabled),
        updated_at: Set(uow.now()),
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
    .exec_without_returning(uow.txn())
    .await?;
    uow.record(
        Activity::new(
            "module",
            tid,
            if body.enabled { "enabled" } else { "disabled" },
        )
        .changes(json!({"module": m.id()})),
    )
    .await?;
    for action in tenant_changed(tid) {
        uow.after_commit(action);
    }
    uow.commit().await?;
    Ok((m, tenant_info(app, cx).await?))
}

fn company_json(c: &company::Model) -> serde_json::Value {
    json!({"name": c.name, "vat_number": c.vat_number, "national_number": c.national_number})
}

fn establishment_json(e: &establishment::Model) -> serde_json::Value {
    json!({"name": e.name, "company_id": e.company_id})
}

/// A company of the tenant, else 404.
pub(crate) async fn company(app: &App, t: &impl Tenanted, id: Uuid) -> Result<company::Model> {
    company::Entity::scoped(t)
        .filter(company::Column::Id.eq(id))
        .one(&app.db)
        .await?
        .ok_or(Error::NotFound("company"))
}

/// An establishment of the tenant, else 404.
pub(crate) async fn establishment(
    app: &App,
    t: &impl Tenanted,
    id: Uuid,
) -> Result<establishment::Model> {
    establishment::Entity::scoped(t)
        .filter(establishment::Column::Id.eq(id))
        .one(&app.db)
        .await?
        .ok_or(Error::NotFound("establishment"))
}

/// Creates a company of the caller's tenant.
pub(crate) async fn create_company(
    app: &App,
    cx: &Cx,
    body: &NewCompanyBody,
) -> Result<company::Model> {
    let now = app.clock.now();
    let am = company::ActiveModel {
        tenant_id: Set(cx.tenant().uuid()),
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
    let uow = Uow::begin(app, cx).await?;
    let c = am.insert(uow.txn()).await?;
    uow.record(Activity::new("company", c.id, "created").changes(company_json(&c)))
        .await?;
    uow.commit().await?;
    Ok(c)
}

/// Changes a company of the caller's tenant (`null` clears an optional field).
pub(crate) async fn patch_company(
    app: &App,
    cx: &Cx,
    id: Uuid,
    body: &CompanyPatch,
) -> Result<company::Model> {
    let c = company(app, cx, id).await?;
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
    let uow = Uow::begin(app, cx).await?;
    let c = am.update(uow.txn()).await?;
    uow.record(
        Activity::new("company", c.id, "updated")
            .changes(activity::diff(&before, &company_json(&c))),
    )
    .await?;
    uow.commit().await?;
    Ok(c)
}

/// Creates an establishment of one of the tenant's companies (404 for another company).
pub(crate) async fn create_establishment(
    app: &App,
    cx: &Cx,
    body: &NewEstablishmentBody,
) -> Result<establishment::Model> {
    company(app, cx, body.company_id).await?;
    let now = app.clock.now();
    let am = establishment::ActiveModel {
        tenant_id: Set(cx.tenant().uuid()),
        id: Set(Uuid::now_v7()),
        company_id: Set(body.company_id),
        name: Set(required("name", &body.name, 200)?),
        created_at: Set(now),
        updated_at: Set(now),
    };
    let mut uow = Uow::begin(app, cx).await?;
    let e = am.insert(uow.txn()).await?;
    uow.record(Activity::new("establishment", e.id, "created").changes(establishment_json(&e)))
        .await?;
    // The tenant's facts list its sites' companies.
    for action in tenant_changed(e.tenant_id) {
        uow.after_commit(action);
    }
    uow.commit().await?;
    Ok(e)
}

/// Renames an establishment or moves it to another company of the tenant.
pub(crate) async fn patch_establishment(
    app: &App,
    cx: &Cx,
    id: Uuid,
    body: &EstablishmentPatch,
) -> Result<establishment::Model> {
    let e = establishment(app, cx, id).await?;
    let before = establishment_json(&e);
    let mut am: establishment::ActiveModel = e.into();
    if let Some(n) = &body.name {
        am.name = Set(required("name", n, 200)?);
    }
    if let Some(c) = body.company_id {
        company(app, cx, c).await?;
        am.company_id = Set(c);
    }
    am.updated_at = Set(app.clock.now());
    let mut uow = Uow::begin(app, cx).await?;
    let e = am.update(uow.txn()).await?;
    uow.record(
        Activity::new("establishment", e.id, "updated")
            .changes(activity::diff(&before, &establishment_json(&e))),
    )
    .await?;
    for action in tenant_changed(e.tenant_id) {
        uow.after_commit(action);
    }
    uow.commit().await?;
    Ok(e)
}

/// The activity entries the caller of `cx` may see, newest first, optionally of one record,
/// below the cursor `before`.
pub(crate) async fn activity(
    app: &App,
    cx: &Cx,
    entity: Option<(&str, Uuid)>,
    before: Option<Uuid>,
    limit: u64,
) -> Result<Vec<activity_log::Model>> {
    let visible = activity::visible_to(app, cx.user()).await?;
    activity::list(&app.db, cx.tenant().uuid(), visible, entity, before, limit).await
}
