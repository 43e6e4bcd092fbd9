//! What the settings endpoints take and answer.

use crate::entities::{company, establishment};
use forecourt_core::{access::Tier, app::AppModule};
use poem_openapi::{Object, types::MaybeUndefined};
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

/// A module as the tenant admin sees it, given the tenant's tier and switched-off modules.
pub(crate) fn module_view(m: &AppModule, tier: Tier, disabled: &[String]) -> ModuleView {
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
