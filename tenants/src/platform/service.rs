//! The platform's own writes: operators, resellers, onboarding a dealership and changing a
//! tenant's licence or status. They run before (or above) any tenant context, so they open
//! their transactions themselves; onboarding runs as a system unit of work of the new tenant.

use crate::{
    auth::{
        accounts::{Account, claim_email, login_email},
        passwords::invite,
    },
    directory::invalidate_tenant,
    entities::{company, establishment, platform_user, reseller, tenant, user},
    fields::{optional, required},
    password,
    permissions::defaults::seed_defaults,
    platform::views::{
        NewReseller, Onboarded, Onboarding, ResellerCreated, TenantPatch, TenantStatus,
    },
};
use forecourt_core::msg;
use forecourt_core::{
    App, Error, Result,
    context::Principal,
    events::Event,
    tenancy::TenantId,
    uow::{AfterCommit, Uow},
};
use sea_orm::{ActiveModelTrait, ActiveValue::Set, ColumnTrait, EntityTrait, QueryFilter};
use uuid::Uuid;

fn language(field: &str, v: Option<&str>) -> Result<String> {
    match v.map(|s| s.trim().to_lowercase()) {
        None => Ok("fr".into()),
        Some(l) if forecourt_core::mail::LANGUAGES.contains(&l.as_str()) => Ok(l),
        Some(_) => Err(Error::invalid(field, msg!("one of `fr`, `nl`, `en`"))),
    }
}

fn country(field: &str, v: Option<&str>) -> Result<String> {
    match v.map(|s| s.trim().to_uppercase()) {
        None => Ok("BE".into()),
        Some(c) if c.len() == 2 && c.chars().all(|ch| ch.is_ascii_uppercase()) => Ok(c),
        Some(_) => Err(Error::invalid(
            field,
            msg!("an ISO 3166 alpha-2 country code, e.g. `BE`"),
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
    // The tenant is born in this unit of work: the platform acts in it as a system job.
    let mut uow = Uow::system(app, TenantId::new(tenant_id), "onboarding").await?;
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
    .insert(uow.txn())
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
    .insert(uow.txn())
    .await?;
    establishment::ActiveModel {
        tenant_id: Set(tenant_id),
        id: Set(establishment_id),
        company_id: Set(company_id),
        name: Set(est_name),
        created_at: Set(now),
        updated_at: Set(now),
    }
    .insert(uow.txn())
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
    .insert(uow.txn())
    .await?;
    let account = Account::Tenant {
        tenant_id,
        user_id: admin_id,
    };
    claim_email(uow.txn(), &admin_email, account)
        .await
        .map_err(|e| match e {
            Error::Conflict { kind, detail, .. } => Error::Conflict {
                kind,
                detail,
                field: Some("admin.email".into()),
            },
            other => other,
        })?;
    seed_defaults(app, uow.txn(), tenant_id, admin_id, now).await?;
    uow.emit(&Event::TenantCreated {
        tenant_id,
        tier: body.licence,
    })
    .await?;
    if hash.is_none() {
        invite(
            uow.txn(),
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
    uow.after_commit(AfterCommit::WakeMailer);
    uow.commit().await?;
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

/// A tenant the caller may manage: any for the operator, its own for a reseller; else 404.
pub(crate) async fn managed_tenant(app: &App, who: &Principal, id: Uuid) -> Result<tenant::Model> {
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

/// Fails with 403 unless the caller is the operator (resellers do not manage resellers).
pub(crate) fn require_operator(who: &Principal) -> Result<()> {
    match who {
        Principal::Operator { .. } => Ok(()),
        _ => Err(Error::forbidden(msg!(
            "only the operator manages resellers"
        ))),
    }
}

/// Renames a tenant the caller manages, changes its licence, suspends or reactivates it;
/// every node sees the change at once.
pub(crate) async fn patch_tenant(
    app: &App,
    who: &Principal,
    id: Uuid,
    body: &TenantPatch,
) -> Result<tenant::Model> {
    let t = managed_tenant(app, who, id).await?;
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
    let t = am.update(&app.db).await?;
    invalidate_tenant(app, t.id).await;
    Ok(t)
}
