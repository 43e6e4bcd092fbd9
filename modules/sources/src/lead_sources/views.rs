//! What the lead-source endpoints read and answer.

use super::entities::lead_source;
use poem_openapi::Object;
use uuid::Uuid;

/// A lead source.
#[derive(Object)]
pub struct LeadSourceView {
    /// Source id.
    pub id: Uuid,
    /// Name, unique in the tenant regardless of case.
    pub name: String,
    /// Inactive sources stay on past leads but are not offered for new ones.
    pub active: bool,
    /// Creation time.
    pub created_at: chrono::DateTime<chrono::Utc>,
    /// Last change.
    pub updated_at: chrono::DateTime<chrono::Utc>,
}

impl From<lead_source::Model> for LeadSourceView {
    fn from(m: lead_source::Model) -> Self {
        Self {
            id: m.id,
            name: m.name,
            active: m.active,
            created_at: m.created_at,
            updated_at: m.updated_at,
        }
    }
}

/// A lead source to create.
#[derive(Object, serde::Deserialize)]
#[oai(deny_unknown_fields)]
#[serde(deny_unknown_fields)]
pub struct NewLeadSource {
    /// Name (1 to 100 characters).
    #[oai(validator(max_length = 100))]
    pub name: String,
}

/// Changes to a lead source.
#[derive(Object, serde::Deserialize)]
#[oai(deny_unknown_fields)]
#[serde(deny_unknown_fields)]
pub struct LeadSourcePatch {
    /// New name.
    #[oai(validator(max_length = 100))]
    pub name: Option<String>,
    /// Activate or deactivate.
    pub active: Option<bool>,
}
