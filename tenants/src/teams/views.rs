//! What the teams endpoints take and answer.

use crate::teams::entities::team;
use poem_openapi::{Object, payload::Json, types::MaybeUndefined};
use uuid::Uuid;

/// A team of the tenant's users.
#[derive(Object, serde::Serialize)]
pub struct TeamView {
    /// Team id.
    pub id: Uuid,
    /// Name, unique in the tenant whatever its case and spacing.
    pub name: String,
    /// The establishment the team works for; its managers (`teams`/`write` at establishment
    /// scope) manage it.
    #[oai(nullable)]
    pub establishment_id: Option<Uuid>,
    /// The leader: always one of the members.
    #[oai(nullable)]
    pub leader_user_id: Option<Uuid>,
    /// The members, in the order given. Contacts and opportunities assigned to the team are
    /// within the `own` reach of each of them.
    pub member_ids: Vec<Uuid>,
    /// Version, also sent as the `ETag` (send it back as `If-Match` to change the team).
    pub version: i32,
    /// Creation time.
    pub created_at: chrono::DateTime<chrono::Utc>,
    /// Last change.
    pub updated_at: chrono::DateTime<chrono::Utc>,
}

impl TeamView {
    /// A stored team with its members.
    pub(crate) fn of(t: team::Model, member_ids: Vec<Uuid>) -> Self {
        Self {
            id: t.id,
            name: t.name,
            establishment_id: t.establishment_id,
            leader_user_id: t.leader_user_id,
            member_ids,
            version: t.version,
            created_at: t.created_at,
            updated_at: t.updated_at,
        }
    }
}

/// A team to create.
#[derive(Object, serde::Deserialize)]
#[oai(deny_unknown_fields)]
#[serde(deny_unknown_fields)]
pub struct NewTeam {
    /// Name (1 to 100 characters), unique in the tenant (409 `team_name_taken`).
    #[oai(validator(max_length = 100))]
    pub name: String,
    /// An establishment of the tenant (422 otherwise). Needed below tenant scope: it must be
    /// the caller's.
    pub establishment_id: Option<Uuid>,
    /// A user of the tenant (422 otherwise); added to the members when missing.
    pub leader_user_id: Option<Uuid>,
    /// Users of the tenant (422 naming the first unknown one, e.g. `member_ids[2]`); repeats
    /// are dropped.
    #[serde(default)]
    #[oai(default, validator(max_items = 500))]
    pub member_ids: Vec<Uuid>,
}

/// Changes to a team: absent fields stay, `null` clears.
#[derive(Object, serde::Deserialize)]
#[oai(deny_unknown_fields)]
#[serde(deny_unknown_fields)]
pub struct TeamPatch {
    /// New name, unique in the tenant.
    #[oai(validator(max_length = 100))]
    pub name: Option<String>,
    /// Another establishment of the tenant, or `null` for none.
    #[serde(default)]
    pub establishment_id: MaybeUndefined<Uuid>,
    /// Another leader (a user of the tenant, added to the members when missing), or `null`.
    #[serde(default)]
    pub leader_user_id: MaybeUndefined<Uuid>,
    /// The complete new list of members (replaces the old one; the leader stays a member).
    /// Takes effect at once on every node: a removed member no longer reaches the team's
    /// records on their next request.
    #[oai(validator(max_items = 500))]
    pub member_ids: Option<Vec<Uuid>>,
}

/// A team with its `ETag` (a create answers `Created`, with its `Location`).
#[derive(poem_openapi::ApiResponse)]
pub enum TeamResponse {
    /// The team.
    #[oai(status = 200)]
    Ok(Json<TeamView>, #[oai(header = "ETag")] String),
}

impl TeamResponse {
    /// The answer for `v`.
    pub(crate) fn of(v: TeamView) -> Self {
        let tag = forecourt_core::http::etag(v.version);
        TeamResponse::Ok(Json(v), tag)
    }
}
