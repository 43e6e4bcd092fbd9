//! What `/api/v1/opportunities` takes and answers.

use crate::opportunities::entities::{opportunity, opportunity_contact, opportunity_vehicle};
use poem_openapi::{Object, payload::Json, types::MaybeUndefined};
use serde::Deserialize;
use uuid::Uuid;

/// A contact on an opportunity.
#[derive(Object, Deserialize, Debug, Clone)]
#[oai(deny_unknown_fields)]
#[serde(deny_unknown_fields)]
pub struct LinkedContact {
    /// The contact.
    pub contact_id: Uuid,
    /// Its role, e.g. `driver`, `buyer`, `fleet manager` (useful when it belongs to a company).
    #[oai(validator(max_length = 60))]
    pub role: Option<String>,
}

/// An opportunity to create.
#[derive(Object, Deserialize, Debug)]
#[oai(deny_unknown_fields)]
#[serde(deny_unknown_fields)]
pub struct NewOpportunity {
    /// At least one contact; blocked contacts cannot be linked (422 `contact_blocked`).
    pub contacts: Vec<LinkedContact>,
    /// What the customer wants, in their words.
    #[oai(validator(max_length = 4000))]
    pub customer_info: Option<String>,
    /// A lead source of the tenant (needs the `sources` module).
    pub source_id: Option<Uuid>,
    /// An open status (default `new`).
    #[oai(validator(max_length = 64))]
    pub status: Option<String>,
    /// The salesperson; the caller by default.
    pub assigned_user_id: Option<Uuid>,
    /// A team of the tenant (422 otherwise): its members reach the opportunity as their own.
    /// An own-scope caller assigns only teams of theirs.
    pub assigned_team_id: Option<Uuid>,
    /// The establishment; the caller's by default.
    pub establishment_id: Option<Uuid>,
    /// Stock vehicles of interest.
    #[oai(default)]
    #[serde(default)]
    pub vehicle_ids: Vec<Uuid>,
}

/// Changes to an opportunity. Status, assignment and contacts have their own operations;
/// `expired` belongs to the system.
#[derive(Object, Deserialize, Debug)]
#[oai(deny_unknown_fields)]
#[serde(deny_unknown_fields)]
pub struct OpportunityPatch {
    /// What the customer wants.
    #[serde(default)]
    #[oai(validator(max_length = 4000))]
    pub customer_info: MaybeUndefined<String>,
    /// The lead source.
    #[serde(default)]
    pub source_id: MaybeUndefined<Uuid>,
    /// Vehicles of interest (replace the list).
    pub vehicle_ids: Option<Vec<Uuid>>,
}

pub use forecourt_core::status_history::StatusChange;

/// A reassignment.
#[derive(Object, Deserialize, Debug)]
#[oai(deny_unknown_fields)]
#[serde(deny_unknown_fields)]
pub struct Assignment {
    /// The new salesperson.
    pub user_id: Option<Uuid>,
    /// The new establishment.
    pub establishment_id: Option<Uuid>,
    /// The new team (a team of the tenant, else 422; an own-scope caller gives only a team
    /// of theirs).
    pub team_id: Option<Uuid>,
}

/// A contact to unlink.
#[derive(Object, Deserialize, Debug)]
#[oai(deny_unknown_fields)]
#[serde(deny_unknown_fields)]
pub struct Unlink {
    /// The contact.
    pub contact_id: Uuid,
}

/// A contact on an opportunity, as read.
#[derive(Object, Debug, Clone)]
pub struct LinkedContactView {
    /// The contact.
    pub contact_id: Uuid,
    /// Its role.
    #[oai(nullable)]
    pub role: Option<String>,
}

/// An opportunity as read.
#[derive(Object, Debug, Clone)]
pub struct OpportunityView {
    /// Opportunity id.
    pub id: Uuid,
    /// Linked contacts.
    pub contacts: Vec<LinkedContactView>,
    /// What the customer wants.
    #[oai(nullable)]
    pub customer_info: Option<String>,
    /// Lead source.
    #[oai(nullable)]
    pub source_id: Option<Uuid>,
    /// Status key.
    pub status: String,
    /// Why it was lost.
    #[oai(nullable)]
    pub lost_reason: Option<String>,
    /// Whether it is won or lost.
    pub closed: bool,
    /// Salesperson.
    #[oai(nullable)]
    pub assigned_user_id: Option<Uuid>,
    /// The team it is assigned to: its members reach it as their own.
    #[oai(nullable)]
    pub assigned_team_id: Option<Uuid>,
    /// Establishment.
    #[oai(nullable)]
    pub establishment_id: Option<Uuid>,
    /// Vehicles of interest.
    pub vehicle_ids: Vec<Uuid>,
    /// Set by the system under the tenant's expiry rule; present only for callers with
    /// `opportunities.expired`/`read` (admins by default), never writable.
    #[oai(skip_serializing_if_is_none)]
    #[oai(nullable)]
    pub expired: Option<bool>,
    /// Creation time.
    pub created_at: chrono::DateTime<chrono::Utc>,
    /// Last change.
    pub updated_at: chrono::DateTime<chrono::Utc>,
    /// When it was won or lost.
    #[oai(nullable)]
    pub closed_at: Option<chrono::DateTime<chrono::Utc>>,
    /// Bumped by every change to the opportunity or its lead page; its `ETag`.
    pub version: i32,
}

/// An opportunity with its `ETag` (send it back as `If-Match` to change it safely).
#[derive(poem_openapi::ApiResponse)]
pub enum OpportunityResponse {
    /// The opportunity.
    #[oai(status = 200)]
    Ok(Json<OpportunityView>, #[oai(header = "ETag")] String),
}

impl From<OpportunityView> for OpportunityResponse {
    fn from(v: OpportunityView) -> Self {
        let tag = forecourt_core::http::etag(v.version);
        OpportunityResponse::Ok(Json(v), tag)
    }
}

/// A created opportunity: the opportunity itself (the body `GET` on its `Location` answers)
/// and, in a field of its own, the contacts' other open opportunities, so the client can offer
/// to extend one instead of keeping a duplicate.
#[derive(Object)]
pub struct CreatedOpportunity {
    /// The new opportunity.
    #[oai(flatten)]
    pub opportunity: OpportunityView,
    /// Other open opportunities of the linked contacts that the caller may read.
    pub other_open_opportunities: Vec<OpportunityView>,
}

impl OpportunityView {
    /// The view of `o` with its contact links and vehicles of interest (rows of other
    /// opportunities among them are skipped); `closed` is its status's kind, `expired` shown
    /// only to callers who may see the flag.
    pub fn of(
        o: opportunity::Model,
        links: &[opportunity_contact::Model],
        vehicles: &[opportunity_vehicle::Model],
        closed: bool,
        show_expired: bool,
    ) -> Self {
        OpportunityView {
            contacts: links
                .iter()
                .filter(|l| l.opportunity_id == o.id)
                .map(|l| LinkedContactView {
                    contact_id: l.contact_id,
                    role: l.role.clone(),
                })
                .collect(),
            vehicle_ids: vehicles
                .iter()
                .filter(|v| v.opportunity_id == o.id)
                .map(|v| v.vehicle_id)
                .collect(),
            closed,
            expired: show_expired.then_some(o.expired),
            id: o.id,
            customer_info: o.customer_info,
            source_id: o.source_id,
            status: o.status,
            lost_reason: o.lost_reason,
            assigned_user_id: o.assigned_user_id,
            assigned_team_id: o.assigned_team_id,
            establishment_id: o.establishment_id,
            created_at: o.created_at,
            updated_at: o.updated_at,
            closed_at: o.closed_at,
            version: o.version,
        }
    }
}
