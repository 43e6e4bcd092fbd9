//! The operator's and resellers' API: resellers, onboarding, licences and suspension.

use crate::{
    auth::{
        accounts::{Account, claim_email, login_email},
        passwords::invite,
    },
    directory::invalidate_tenant,
    entities::{company, establishment, platform_user, reseller, tenant, user},
    fields::{optional, required},
    password, permissions,
    tags::Tags,
};
use forecourt_core::{
    App, Error, Result,
    access::Tier,
    context::Principal,
    events::Event,
    http::{Created, JsonBody, List, PlatformAuth, fetch_page},
};
use poem::web::Data;
use poem_openapi::{
    Object, OpenApi,
    param::{Path, Query},
    payload::Json,
};
use sea_orm::{ActiveModelTrait, ActiveValue::Set, ColumnTrait, EntityTrait, QueryFilter};
use std::sync::Arc;
use uuid::Uuid;

/// The first user of a reseller.
#[derive(Object, serde::Deserialize)]
#[oai(deny_unknown_fields)]
#[serde(deny_unknown_fields)]
pub struct NewPlatformUser {
    /// Login email, unique across the platform.
    #[oai(validator(max_length = 254))]
    pub email: String,
    /// Display name.
    #[oai(validator(max_length = 200))]
    pub name: String,
    /// Password; without it an invitation mail is sent.
    #[oai(validator(max_length = 256))]
    pub password: Option<String>,
}

/// A new reseller.
#[derive(Object, serde::Deserialize)]
#[oai(deny_unknown_fields)]
#[serde(deny_unknown_fields)]
pub struct NewReseller {
    /// Reseller name.
    #[oai(validator(max_length = 200))]
    pub name: String,
    /// Its first user.
    pub user: NewPlatformUser,
}

/// The ids of a created reseller.
#[derive(Object)]
pub struct ResellerCreated {
    /// The reseller.
    pub id: Uuid,
    /// Its first user.
    pub user_id: Uuid,
}

/// A reseller.
#[derive(Object)]
pub struct ResellerView {
    /// Reseller id.
    pub id: Uuid,
    /// Name.
    pub name: String,
    /// When it was created.
    pub created_at: chrono::DateTime<chrono::Utc>,
}

/// The first company of an onboarded tenant.
#[derive(Object, serde::Deserialize)]
#[oai(deny_unknown_fields)]
#[serde(deny_unknown_fields)]
pub struct NewCompany {
    /// Legal name.
    #[oai(validator(max_length = 200))]
    pub name: String,
    /// VAT number, e.g. `BE0123456749`.
    #[oai(validator(max_length = 32))]
    pub vat_number: Option<String>,
    /// National register number (Belgian KBO/BCE: 10 digits).
    #[oai(validator(max_length = 32))]
    pub national_number: Option<String>,
}

/// The first establishment of an onboarded tenant.
#[derive(Object, serde::Deserialize)]
#[oai(deny_unknown_fields)]
#[serde(deny_unknown_fields)]
pub struct NewEstablishment {
    /// Name of the site.
    #[oai(validator(max_length = 200))]
    pub name: String,
}

/// The first admin of an onboarded tenant.
#[derive(Object, serde::Deserialize)]
#[oai(deny_unknown_fields)]
#[serde(deny_unknown_fields)]
pub struct NewAdmin {
    /// Login email, unique across the platform.
    #[oai(validator(max_length = 254))]
    pub email: String,
    /// Display name.
    #[oai(validator(max_length = 200))]
    pub name: String,
    /// Password; without it an invitation mail with a single-use link is sent.
    #[oai(validator(max_length = 256))]
    pub password: Option<String>,
}

/// A dealership to onboard, in one call and one transaction.
#[derive(Object, serde::Deserialize)]
#[oai(deny_unknown_fields)]
#[serde(deny_unknown_fields)]
pub struct Onboarding {
    /// Tenant (dealer group) name.
    #[oai(validator(max_length = 200))]
    pub name: String,
    /// Licence tier.
    pub licence: Tier,
    /// Default country, ISO 3166 alpha-2 (default `BE`).
    #[oai(validator(max_length = 64))]
    pub country: Option<String>,
    /// Default language: `fr` (default), `nl` or `en`.
    #[oai(validator(max_length = 64))]
    pub language: Option<String>,
    /// First company.
    pub company: NewCompany,
    /// First establishment, of that company.
    pub establishment: NewEstablishment,
    /// First admin user.
    pub admin: NewAdmin,
}

/// The ids of everything onboarding created.
#[derive(Object)]
pub struct Onboarded {
    /// The tenant.
    pub tenant_id: Uuid,
    /// Its first company.
    pub company_id: Uuid,
    /// Its first establishment.
    pub establishment_id: Uuid,
    /// Its first admin.
    pub admin_user_id: Uuid,
}

/// A tenant as the platform sees it (never its CRM data).
#[derive(Object)]
pub struct TenantView {
    /// Tenant id.
    pub id: Uuid,
    /// Name.
    pub name: String,
    /// Licence tier.
    pub licence: Tier,
    /// `active` or `suspended`.
    pub status: String,
    /// The reseller that onboarded it (absent when the operator did).
    #[oai(nullable)]
    pub reseller_id: Option<Uuid>,
    /// Default country.
    pub country: String,
    /// Default language.
    pub language: String,
    /// When it was onboarded.
    pub created_at: chrono::DateTime<chrono::Utc>,
    /// Last change.
    pub updated_at: chrono::DateTime<chrono::Utc>,
}

impl From<tenant::Model> for TenantView {
    fn from(t: tenant::Model) -> Self {
        Self {
            id: t.id,
            licence: Tier::parse(&t.licence).unwrap_or(Tier::Go),
            name: t.name,
            status: t.status,
            reseller_id: t.reseller_id,
            country: t.country,
            language: t.language,
            created_at: t.created_at,
            updated_at: t.updated_at,
        }
    }
}

/// A tenant's status.
#[derive(poem_openapi::Enum, serde::Deserialize, Debug, Clone, Copy, PartialEq, Eq)]
#[oai(rename_all = "snake_case")]
#[serde(rename_all = "snake_case")]
pub enum TenantStatus {
    /// Users can work.
    Active,
    /// Users get 403 `tenant_suspended`.
    Suspended,
}

/// Changes to a tenant.
#[derive(Object, serde::Deserialize)]
#[oai(deny_unknown_fields)]
#[serde(deny_unknown_fields)]
pub struct TenantPatch {
    /// New name.
    #[oai(validator(max_length = 200))]
    pub name: Option<String>,
    /// New licence tier.
    pub licence: Option<Tier>,
    /// Suspend or reactivate.
    pub status: Option<TenantStatus>,
}

fn language(field: &str, v: Option<&str>) -> Result<String> {
    match v.map(|s| s.trim().to_lowercase()) {
        None => Ok("fr".into()),
        Some(l) if forecourt_core::mail::LANGUAGES.contains(&l.as_str()) => Ok(l),
        Some(_) => Err(Error::invalid(field, "one of `fr`, `nl`, `en`")),
    }
}

fn country(field: &str, v: Option<&str>) -> Result<String> {
    match v.map(|s| s.trim().to_uppercase()) {
        None => Ok("BE".into()),
        Some(c) if c.len() == 2 && c.chars().all(|ch| ch.is_ascii_uppercase()) => Ok(c),
        Some(_) => Err(Error::invalid(
            field,
            "an ISO 3166 alpha-2 country code, e.g. `BE`",
        )),
    }
}

/// Creates an operator account.
pub async fn create_operator(app: &App, email: &str, name: &str, pw: &str) -> Result<Uuid> {
    let email = login_email("email", email)?;
    password::check_new("password", pw)?;
    let hash = password::hash(pw).await?;
    let id = Uuid::now_v7();
    let txn = forecourt_core::db::begin(&app.db).await?;
    platform_user::ActiveModel {
        id: Set(id),
        reseller_id: Set(None),
        email: Set(email.clone()),
        name: Set(name.to_string()),
        password_hash: Set(Some(hash)),
        created_at: Set(app.clock.now()),
    }
    .insert(&txn)
    .await?;
    claim_email(&txn, &email, Account::Platform(id)).await?;
    txn.commit().await?;
    Ok(id)
}

/// Creates the configured first operator when there is no operator yet.
pub async fn ensure_operator(app: &App) -> Result<()> {
    let (Some(email), Some(pw)) = (&app.config.operator_email, &app.config.operator_password)
    else {
        return Ok(());
    };
    let exists = platform_user::Entity::find()
        .filter(platform_user::Column::ResellerId.is_null())
        .one(&app.db)
        .await?
        .is_some();
    if !exists {
        create_operator(app, email, "Operator", pw.expose()).await?;
        tracing::info!(email = %email, "created the first operator");
    }
    Ok(())
}

/// Onboards a dealership: tenant, company, establishment, admin, default grants, module
/// defaults and the invitation, in one transaction.
pub async fn onboard(app: &App, reseller_id: Option<Uuid>, body: &Onboarding) -> Result<Onboarded> {
    let name = required("name", &body.name, 200)?;
    let country = country("country", body.country.as_deref())?;
    let language = language("language", body.language.as_deref())?;
    let company_name = required("company.name", &body.company.name, 200)?;
    let vat = optional("company.vat_number", body.company.vat_number.as_deref(), 32)?;
    let national = optional(
        "company.national_number",
        body.company.national_number.as_deref(),
        32,
    )?;
    let est_name = required("establishment.name", &body.establishment.name, 200)?;
    let admin_email = login_email("admin.email", &body.admin.email)?;
    let admin_name = required("admin.name", &body.admin.name, 200)?;
    let hash = match &body.admin.password {
        Some(pw) => {
            password::check_new("admin.password", pw)?;
            Some(password::hash(pw).await?)
        }
        None => None,
    };
    let now = app.clock.now();
    let (tenant_id, company_id, establishment_id, admin_id) = (
        Uuid::now_v7(),
        Uuid::now_v7(),
        Uuid::now_v7(),
        Uuid::now_v7(),
    );
    let txn = forecourt_core::db::begin(&app.db).await?;
    tenant::ActiveModel {
        id: Set(tenant_id),
        reseller_id: Set(reseller_id),
        name: Set(name.clone()),
        licence: Set(body.licence.as_str().into()),
        status: Set("active".into()),
        country: Set(country),
        language: Set(language.clone()),
        created_at: Set(now),
        updated_at: Set(now),
    }
    .insert(&txn)
    .await?;
    company::ActiveModel {
        tenant_id: Set(tenant_id),
        id: Set(company_id),
        name: Set(company_name),
        vat_number: Set(vat),
        national_number: Set(national),
        created_at: Set(now),
        updated_at: Set(now),
    }
    .insert(&txn)
    .await?;
    establishment::ActiveModel {
        tenant_id: Set(tenant_id),
        id: Set(establishment_id),
        company_id: Set(company_id),
        name: Set(est_name),
        created_at: Set(now),
        updated_at: Set(now),
    }
    .insert(&txn)
    .await?;
    user::ActiveModel {
        tenant_id: Set(tenant_id),
        id: Set(admin_id),
        email: Set(admin_email.clone()),
        name: Set(admin_name.clone()),
        password_hash: Set(hash.clone()),
        establishment_id: Set(Some(establishment_id)),
        active: Set(true),
        created_at: Set(now),
        updated_at: Set(now),
    }
    .insert(&txn)
    .await?;
    let account = Account::Tenant {
        tenant_id,
        user_id: admin_id,
    };
    claim_email(&txn, &admin_email, account)
        .await
        .map_err(|e| match e {
            Error::Conflict { kind, detail, .. } => Error::Conflict {
                kind,
                detail,
                field: Some("admin.email".into()),
            },
            other => other,
        })?;
    permissions::seed_defaults(&txn, &app.registry, tenant_id, admin_id, now).await?;
    app.registry
        .dispatch(
            app,
            &txn,
            &Event::TenantCreated {
                tenant_id,
                tier: body.licence,
            },
        )
        .await?;
    if hash.is_none() {
        invite(
            &txn,
            app,
            account,
            Some(tenant_id),
            &admin_email,
            &admin_name,
            &name,
            &language,
        )
        .await?;
    }
    txn.commit().await?;
    app.mail.wake();
    Ok(Onboarded {
        tenant_id,
        company_id,
        establishment_id,
        admin_user_id: admin_id,
    })
}

/// Creates a reseller and its first user (invited by mail when no password is given).
pub async fn create_reseller(app: &App, body: &NewReseller) -> Result<ResellerCreated> {
    let name = required("name", &body.name, 200)?;
    let email = login_email("user.email", &body.user.email)?;
    let user_name = required("user.name", &body.user.name, 200)?;
    let hash = match &body.user.password {
        Some(pw) => {
            password::check_new("user.password", pw)?;
            Some(password::hash(pw).await?)
        }
        None => None,
    };
    let now = app.clock.now();
    let (id, user_id) = (Uuid::now_v7(), Uuid::now_v7());
    let txn = forecourt_core::db::begin(&app.db).await?;
    reseller::ActiveModel {
        id: Set(id),
        name: Set(name.clone()),
        created_at: Set(now),
    }
    .insert(&txn)
    .await?;
    platform_user::ActiveModel {
        id: Set(user_id),
        reseller_id: Set(Some(id)),
        email: Set(email.clone()),
        name: Set(user_name.clone()),
        password_hash: Set(hash.clone()),
        created_at: Set(now),
    }
    .insert(&txn)
    .await?;
    claim_email(&txn, &email, Account::Platform(user_id)).await?;
    if hash.is_none() {
        invite(
            &txn,
            app,
            Account::Platform(user_id),
            None,
            &email,
            &user_name,
            &name,
            "en",
        )
        .await?;
    }
    txn.commit().await?;
    app.mail.wake();
    Ok(ResellerCreated { id, user_id })
}

/// The operator's and resellers' API.
pub struct PlatformApi;

/// A tenant the caller may manage: any for the operator, its own for a reseller; else 404.
async fn managed_tenant(app: &App, who: &Principal, id: Uuid) -> Result<tenant::Model> {
    let t = tenant::Entity::find_by_id(id)
        .one(&app.db)
        .await?
        .ok_or(Error::NotFound("tenant"))?;
    match who {
        Principal::Operator { .. } => Ok(t),
        Principal::Reseller { reseller_id, .. } if t.reseller_id == Some(*reseller_id) => Ok(t),
        _ => Err(Error::NotFound("tenant")),
    }
}

fn require_operator(who: &Principal) -> Result<()> {
    match who {
        Principal::Operator { .. } => Ok(()),
        _ => Err(Error::forbidden("only the operator manages resellers")),
    }
}

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
        Ok(Created::Created(Json(
            create_reseller(&app, &body.0).await?,
        )))
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
        Ok(Created::Created(Json(
            onboard(&app, reseller_id, &body.0).await?,
        )))
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
        let t = managed_tenant(&app, &auth.0, id.0).await?;
        let mut am: tenant::ActiveModel = t.into();
        if let Some(n) = &body.name {
            am.name = Set(required("name", n, 200)?);
        }
        if let Some(l) = body.licence {
            am.licence = Set(l.as_str().into());
        }
        if let Some(s) = body.status {
            am.status = Set(match s {
                TenantStatus::Active => "active",
                TenantStatus::Suspended => "suspended",
            }
            .into());
        }
        am.updated_at = Set(app.clock.now());
        let t = am.update(&app.db).await.map_err(Error::from)?;
        invalidate_tenant(&app, t.id).await;
        Ok(Json(t.into()))
    }
}
