//! What `/api/v1/statuses` takes and answers.

use super::entities::status;
use crate::machine::strings;
use chrono::{DateTime, Utc};
use poem_openapi::{Enum, Object, payload::Json, types::MaybeUndefined};
use serde::Deserialize;
use uuid::Uuid;

/// What a status means for the rules.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Enum)]
#[serde(rename_all = "snake_case")]
#[oai(rename = "StatusKind", rename_all = "snake_case")]
pub enum Kind {
    /// Still being worked on.
    Open,
    /// Closed, sold (probability 100).
    Won,
    /// Closed, not sold (probability 0; a move to it needs a reason).
    Lost,
}

impl Kind {
    /// The stored key.
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Open => "open",
            Kind::Won => "won",
            Kind::Lost => "lost",
        }
    }

    /// The kind of a stored key (unknown: open).
    pub fn parse(s: &str) -> Self {
        match s {
            "won" => Kind::Won,
            "lost" => Kind::Lost,
            _ => Kind::Open,
        }
    }
}

/// Which moves between statuses are allowed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Enum)]
#[serde(rename_all = "snake_case")]
#[oai(rename = "StatusPolicyMode", rename_all = "snake_case")]
pub enum PolicyMode {
    /// Any status to any other that is not archived (the default).
    Free,
    /// Only the listed transitions; closing is final unless a transition out of the closed
    /// status is listed.
    Listed,
}

/// A status's labels, one per language.
#[derive(Debug, Clone, Object)]
#[oai(rename = "StatusLabels")]
pub struct Labels {
    /// French.
    pub fr: String,
    /// Dutch.
    pub nl: String,
    /// English.
    pub en: String,
}

/// Labels to set: on creation all three; on a change the ones given replace theirs.
#[derive(Debug, Clone, Default, Object, Deserialize)]
#[oai(rename = "StatusLabelsInput", deny_unknown_fields)]
#[serde(deny_unknown_fields)]
pub struct LabelsInput {
    /// French (1 to 100 characters).
    #[oai(validator(max_length = 100))]
    pub fr: Option<String>,
    /// Dutch (1 to 100 characters).
    #[oai(validator(max_length = 100))]
    pub nl: Option<String>,
    /// English (1 to 100 characters).
    #[oai(validator(max_length = 100))]
    pub en: Option<String>,
}

/// A status of an entity.
#[derive(Debug, Clone, Object)]
pub struct StatusView {
    /// Status id.
    pub id: Uuid,
    /// `opportunity` or `prospect`.
    pub entity: String,
    /// The key records carry; never changes, unique per entity.
    pub key: String,
    /// Labels in French, Dutch and English.
    pub labels: Labels,
    /// Place in the entity's list, from 0.
    pub position: i32,
    /// Open, won or lost.
    pub kind: Kind,
    /// Whether the expiry rule leaves records in this status alone.
    pub exempt_from_expiry: bool,
    /// Chance of a sale in this status, 0–100 (won 100, lost 0).
    pub probability: i32,
    /// Display colour, `#rrggbb`.
    #[oai(nullable)]
    pub colour: Option<String>,
    /// Whether new records start in this status (exactly one per entity).
    pub initial: bool,
    /// Whether an opportunity in this status reserves the stock vehicle of its latest offer.
    pub reserves_vehicle: bool,
    /// When it was archived: no record moves into it any more; records in it stay.
    #[oai(nullable)]
    pub archived_at: Option<DateTime<Utc>>,
    /// Bumped by every change; its `ETag`.
    pub version: i32,
    /// Creation time.
    pub created_at: DateTime<Utc>,
    /// Last change.
    pub updated_at: DateTime<Utc>,
}

/// The label of `lang` in stored labels ("" when missing).
fn label(labels: &serde_json::Value, lang: &str) -> String {
    labels[lang].as_str().unwrap_or_default().to_string()
}

impl From<status::Model> for StatusView {
    fn from(m: status::Model) -> Self {
        Self {
            id: m.id,
            labels: Labels {
                fr: label(&m.labels, "fr"),
                nl: label(&m.labels, "nl"),
                en: label(&m.labels, "en"),
            },
            entity: m.entity,
            key: m.key,
            position: m.position,
            kind: Kind::parse(&m.kind),
            exempt_from_expiry: m.exempt_from_expiry,
            probability: m.probability,
            colour: m.colour,
            initial: m.initial,
            reserves_vehicle: m.reserves_vehicle,
            archived_at: m.archived_at,
            version: m.version,
            created_at: m.created_at,
            updated_at: m.updated_at,
        }
    }
}

/// A status with its `ETag` (send it back as `If-Match` to change it safely).
#[derive(poem_openapi::ApiResponse)]
pub enum StatusResponse {
    /// The status.
    #[oai(status = 200)]
    Ok(Json<StatusView>, #[oai(header = "ETag")] String),
}

impl From<status::Model> for StatusResponse {
    fn from(m: status::Model) -> Self {
        let tag = forecourt_core::http::etag(m.version);
        StatusResponse::Ok(Json(m.into()), tag)
    }
}

/// A status to create. It goes last in the entity's list.
#[derive(Debug, Object, Deserialize)]
#[oai(deny_unknown_fields)]
#[serde(deny_unknown_fields)]
pub struct NewStatus {
    /// The key: a lower-case letter, then up to 39 lower-case letters, digits and `_`;
    /// unique per entity and never changed.
    #[oai(validator(max_length = 40))]
    pub key: String,
    /// Labels: all three languages.
    pub labels: LabelsInput,
    /// Open, won or lost.
    pub kind: Kind,
    /// 0–100; defaults to 100 for won, 0 for lost, 50 for open. A won status is 100 and a
    /// lost one 0: another value is refused.
    pub probability: Option<i64>,
    /// `#rrggbb`.
    #[oai(validator(max_length = 7))]
    pub colour: Option<String>,
    /// Whether the expiry rule leaves records in it alone (default `false`).
    pub exempt_from_expiry: Option<bool>,
    /// Make it the entity's initial status (an open one; the previous initial one stops being).
    pub initial: Option<bool>,
    /// Whether an opportunity in it reserves its offer's stock vehicle (opportunities only).
    pub reserves_vehicle: Option<bool>,
}

/// Changes to a status. The `key` never changes (refused as an unknown field).
#[derive(Debug, Object, Deserialize)]
#[oai(deny_unknown_fields)]
#[serde(deny_unknown_fields)]
pub struct StatusPatch {
    /// Labels to replace (the others stay).
    pub labels: Option<LabelsInput>,
    /// New kind: won sets the probability to 100, lost to 0. The initial status stays open.
    pub kind: Option<Kind>,
    /// 0–100 (a won status 100, a lost one 0).
    pub probability: Option<i64>,
    /// `#rrggbb`; `null` removes it.
    #[serde(default)]
    #[oai(validator(max_length = 7))]
    pub colour: MaybeUndefined<String>,
    /// Whether the expiry rule leaves records in it alone.
    pub exempt_from_expiry: Option<bool>,
    /// `true` makes it the initial status (moved from the previous one); `false` on the
    /// initial status is refused: make another one initial instead.
    pub initial: Option<bool>,
    /// Whether an opportunity in it reserves its offer's stock vehicle (opportunities only).
    pub reserves_vehicle: Option<bool>,
}

/// The new order of an entity's statuses.
#[derive(Debug, Object, Deserialize)]
#[oai(deny_unknown_fields)]
#[serde(deny_unknown_fields)]
pub struct StatusOrder {
    /// Every status id of the entity (archived ones included), each once, in the new order.
    pub ids: Vec<Uuid>,
}

/// A transition to list.
#[derive(Debug, Clone, Object, Deserialize)]
#[oai(rename = "StatusTransitionInput", deny_unknown_fields)]
#[serde(deny_unknown_fields)]
pub struct TransitionInput {
    /// The key of the status it leads to (a status of the same entity, not archived).
    #[oai(validator(max_length = 40))]
    pub to: String,
    /// Whether the move needs a reason (always true towards a lost status). Default `false`.
    pub requires_reason: Option<bool>,
    /// Fields of the record that must be set before the move (`offer_id`). Default none.
    #[oai(validator(max_length = 64))]
    pub required_fields: Option<Vec<String>>,
    /// The roles that may take it; absent or `null`: anyone who may change the record.
    #[oai(validator(max_length = 100))]
    pub roles: Option<Vec<String>>,
}

/// A listed transition.
#[derive(Debug, Clone, Object)]
#[oai(rename = "StatusTransition")]
pub struct TransitionView {
    /// The key of the status it leads to.
    pub to: String,
    /// The id of that status.
    pub to_id: Uuid,
    /// Whether the move needs a reason (a move to a lost status always does).
    pub requires_reason: bool,
    /// Fields of the record that must be set before the move.
    pub required_fields: Vec<String>,
    /// The roles that may take it; `null`: anyone who may change the record.
    #[oai(nullable)]
    pub roles: Option<Vec<String>>,
}

impl TransitionView {
    /// A stored transition, given the key of its target.
    pub fn of(t: &super::entities::transition::Model, to: String) -> Self {
        Self {
            to,
            to_id: t.to_status_id,
            requires_reason: t.requires_reason,
            required_fields: strings(&t.required_fields),
            roles: t.roles.as_ref().map(strings),
        }
    }
}

/// An entity's transition policy.
#[derive(Debug, Object)]
#[oai(rename = "StatusPolicy")]
pub struct PolicyView {
    /// `opportunity` or `prospect`.
    pub entity: String,
    /// `free` or `listed`.
    pub mode: PolicyMode,
    /// Transitions listed from any open status (those from one status are under
    /// `/statuses/{id}/transitions`).
    pub from_any: Vec<TransitionView>,
    /// Bumped by every change; its `ETag`.
    pub version: i32,
}

/// A policy with its `ETag`.
#[derive(poem_openapi::ApiResponse)]
pub enum PolicyResponse {
    /// The policy.
    #[oai(status = 200)]
    Ok(Json<PolicyView>, #[oai(header = "ETag")] String),
}

impl From<PolicyView> for PolicyResponse {
    fn from(v: PolicyView) -> Self {
        let tag = forecourt_core::http::etag(v.version);
        PolicyResponse::Ok(Json(v), tag)
    }
}

/// The policy to set.
#[derive(Debug, Object, Deserialize)]
#[oai(rename = "StatusPolicyInput", deny_unknown_fields)]
#[serde(deny_unknown_fields)]
pub struct PolicyInput {
    /// `free` or `listed`.
    pub mode: PolicyMode,
    /// Replaces the transitions listed from any open status; absent: they stay.
    pub from_any: Option<Vec<TransitionInput>>,
}

/// What to do with the records in a status being archived.
#[derive(Debug, Default, Object, Deserialize)]
#[oai(deny_unknown_fields)]
#[serde(deny_unknown_fields)]
pub struct ArchiveInput {
    /// The key of the status its records move to (same entity, not archived); required when
    /// records are in the status.
    #[oai(validator(max_length = 40))]
    pub reassign_to: Option<String>,
}

/// An archived status and how many records moved out of it.
#[derive(Debug, Object)]
pub struct Archived {
    /// The status, now archived.
    pub status: StatusView,
    /// How many records moved to `reassign_to`.
    pub reassigned: u64,
}
