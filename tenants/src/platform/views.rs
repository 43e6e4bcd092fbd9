//! What the operator's and resellers' endpoints take and answer.

use crate::entities::tenant;
use forecourt_core::access::Tier;
use poem_openapi::Object;
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
