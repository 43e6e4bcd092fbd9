//! The history of status changes, shared by every entity that carries a status (see
//! [`crate::ports::statuses`]). The owner of the record appends a [`StatusMove`] in the
//! transaction that changes the status; the time spent in the status left is computed here,
//! from the record's previous change (or from when it entered its status, for records older
//! than this history).

use crate::{
    Result,
    activity::{self, Actor},
    entities::status_change,
    ports::statuses::StatusEntity,
    tenancy::{TenantScoped, Tenanted},
};
use chrono::{DateTime, Utc};
use sea_orm::{
    ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder,
    QuerySelect, sea_query::ExprTrait,
};
use std::collections::HashMap;
use uuid::Uuid;

/// Why a status changed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cause {
    /// A user asked for it (including the creation of the record).
    User,
    /// An admin archived the status and moved its records to another.
    Archive,
    /// A lead from a partner created or moved the record.
    Intake,
    /// An import created or moved the record.
    Import,
}

impl Cause {
    /// The cause's key in the history.
    pub fn as_str(self) -> &'static str {
        match self {
            Cause::User => "user",
            Cause::Archive => "archive",
            Cause::Intake => "intake",
            Cause::Import => "import",
        }
    }
}

/// One status change of one record.
#[derive(Debug, Clone)]
pub struct StatusMove {
    /// The record.
    pub record_id: Uuid,
    /// The status left (`None` when the record is created).
    pub from: Option<String>,
    /// The status entered.
    pub to: String,
    /// When the record entered `from`, for a record without an earlier history row (its
    /// creation); the previous history row wins when there is one.
    pub entered_from: Option<DateTime<Utc>>,
    /// Why (required for some moves; see the statuses port).
    pub reason: Option<String>,
    /// A free note.
    pub note: Option<String>,
}

/// Appends `moves` of records of `entity` in one statement (plus one read of the records'
/// previous changes), by `actor` at `at`.
pub async fn append(
    conn: &impl ConnectionTrait,
    t: &impl Tenanted,
    entity: StatusEntity,
    actor: Option<Uuid>,
    at: DateTime<Utc>,
    cause: Cause,
    moves: Vec<StatusMove>,
) -> Result<()> {
    if moves.is_empty() {
        return Ok(());
    }
    let tenant_id = t.tenant().uuid();
    let leaving: Vec<Uuid> = moves
        .iter()
        .filter(|m| m.from.is_some())
        .map(|m| m.record_id)
        .collect();
    let last = last_changes(conn, t, entity, &leaving).await?;
    let rows: Vec<status_change::ActiveModel> = moves
        .into_iter()
        .map(|m| {
            let since = last.get(&m.record_id).copied().or(m.entered_from);
            status_change::ActiveModel {
                tenant_id: Set(tenant_id),
                id: Set(Uuid::now_v7()),
                entity: Set(entity.as_str().to_string()),
                record_id: Set(m.record_id),
                seconds_in_from: Set(m
                    .from
                    .as_ref()
                    .and(since)
                    .map(|s| Ord::max((at - s).num_seconds(), 0))),
                from_status: Set(m.from),
                to_status: Set(m.to),
                at: Set(at),
                actor_user_id: Set(actor),
                reason: Set(m.reason),
                note: Set(m.note),
                cause: Set(cause.as_str().to_string()),
            }
        })
        .collect();
    let mut rows = rows.into_iter().peekable();
    // Twelve columns a row: 400 rows stay far below every backend's parameter limit.
    while rows.peek().is_some() {
        let chunk: Vec<_> = rows.by_ref().take(400).collect();
        status_change::Entity::insert_many(chunk)
            .exec_without_returning(conn)
            .await?;
    }
    Ok(())
}

/// Records that an archived status's records moved from `from` to `to` (see
/// `StatusHolders::reassign`): a history row (cause `archive`) and an activity entry
/// (`entity_type`, `status_changed`, the change under `field`) for each of `ids`, two
/// statements in all, by `actor` (`None`: the system) at `at`.
#[allow(clippy::too_many_arguments)]
pub async fn archived_moves(
    conn: &impl ConnectionTrait,
    t: &impl Tenanted,
    (entity, entity_type, field): (StatusEntity, &str, &str),
    ids: &[Uuid],
    (from, to): (&str, &str),
    actor: Option<Uuid>,
    at: DateTime<Utc>,
) -> Result<()> {
    let reason = format!("status `{from}` archived");
    let moves = ids
        .iter()
        .map(|id| StatusMove {
            record_id: *id,
            from: Some(from.to_string()),
            to: to.to_string(),
            entered_from: None,
            reason: Some(reason.clone()),
            note: None,
        })
        .collect();
    append(conn, t, entity, actor, at, Cause::Archive, moves).await?;
    let who = actor.map_or(Actor::System("statuses"), Actor::UserId);
    let entries = ids
        .iter()
        .map(|id| {
            activity::entry(
                t.tenant().uuid(),
                who,
                at,
                entity_type,
                *id,
                "status_changed",
                serde_json::json!({field: {"from": from, "to": to}, "reason": reason}),
            )
        })
        .collect();
    activity::record_all(conn, entries).await
}

/// Trimmed text, `None` when nothing is left (a reason or a note of only spaces is none).
pub fn clean(text: Option<String>) -> Option<String> {
    text.map(|r| r.trim().to_string()).filter(|r| !r.is_empty())
}

/// When each of `ids` last changed status, for those with a history.
async fn last_changes(
    conn: &impl ConnectionTrait,
    t: &impl Tenanted,
    entity: StatusEntity,
    ids: &[Uuid],
) -> Result<HashMap<Uuid, DateTime<Utc>>> {
    let mut out = HashMap::new();
    for chunk in ids.chunks(500) {
        let rows: Vec<(Uuid, Option<DateTime<Utc>>)> = status_change::Entity::scoped(t)
            .select_only()
            .column(status_change::Column::RecordId)
            .column_as(status_change::Column::At.max(), "last")
            .filter(status_change::Column::Entity.eq(entity.as_str()))
            .filter(status_change::Column::RecordId.is_in(chunk.iter().copied()))
            .group_by(status_change::Column::RecordId)
            .into_tuple()
            .all(conn)
            .await?;
        out.extend(rows.into_iter().filter_map(|(id, at)| Some((id, at?))));
    }
    Ok(out)
}

/// A requested status change (`POST /opportunities/{id}/status`, `POST
/// /contacts/{id}/status`).
#[derive(Debug, Clone, poem_openapi::Object, serde::Deserialize)]
#[oai(deny_unknown_fields)]
#[serde(deny_unknown_fields)]
pub struct StatusChange {
    /// The key of a status of the tenant for the record's entity (see `GET
    /// /statuses?entity=` with the `statuses` module; without it, the fixed sets: for
    /// opportunities `new`, `taken_in_charge`, `offer_sent`, `sold_not_delivered`,
    /// `long_term_follow_up`, `won`, `lost`; for prospects `new`, `contacted`, `qualified`,
    /// `converted`, `disqualified`). Archived statuses are refused.
    #[oai(validator(max_length = 64))]
    pub status: String,
    /// Why (required for a lost status, and for a transition that asks for one).
    #[oai(validator(max_length = 2000))]
    pub reason: Option<String>,
    /// A note kept in the status history.
    #[oai(validator(max_length = 2000))]
    pub note: Option<String>,
}

/// One status change, as the API shows it.
#[derive(Debug, Clone, poem_openapi::Object, serde::Serialize)]
pub struct StatusChangeView {
    /// The status left; absent for the record's creation.
    #[oai(nullable)]
    pub from: Option<String>,
    /// The status entered.
    pub to: String,
    /// When.
    pub at: DateTime<Utc>,
    /// The user who made the change; absent for the system (intake, jobs).
    #[oai(nullable)]
    pub actor_user_id: Option<Uuid>,
    /// The reason given.
    #[oai(nullable)]
    pub reason: Option<String>,
    /// The note given.
    #[oai(nullable)]
    pub note: Option<String>,
    /// Seconds the record spent in `from`; absent when unknown (records older than the
    /// history).
    #[oai(nullable)]
    pub seconds_in_from: Option<i64>,
    /// `user`, `archive`, `intake` or `import`.
    pub cause: String,
}

impl From<status_change::Model> for StatusChangeView {
    fn from(m: status_change::Model) -> Self {
        StatusChangeView {
            from: m.from_status,
            to: m.to_status,
            at: m.at,
            actor_user_id: m.actor_user_id,
            reason: m.reason,
            note: m.note,
            seconds_in_from: m.seconds_in_from,
            cause: m.cause,
        }
    }
}

/// A record's history, oldest first.
pub async fn of_record(
    conn: &impl ConnectionTrait,
    t: &impl Tenanted,
    entity: StatusEntity,
    record_id: Uuid,
) -> Result<Vec<status_change::Model>> {
    Ok(status_change::Entity::scoped(t)
        .filter(status_change::Column::Entity.eq(entity.as_str()))
        .filter(status_change::Column::RecordId.eq(record_id))
        .order_by_asc(status_change::Column::At)
        .order_by_asc(status_change::Column::Id)
        .all(conn)
        .await?)
}

/// Whether any record of `entity` ever entered or left `key` (a status with history cannot be
/// deleted, only archived).
pub async fn ever_used(
    conn: &impl ConnectionTrait,
    t: &impl Tenanted,
    entity: StatusEntity,
    key: &str,
) -> Result<bool> {
    let any = status_change::Entity::scoped(t)
        .select_only()
        .column(status_change::Column::Id)
        .filter(status_change::Column::Entity.eq(entity.as_str()))
        .filter(
            status_change::Column::ToStatus
                .eq(key)
                .or(status_change::Column::FromStatus.eq(key)),
        )
        .into_tuple::<Uuid>()
        .one(conn)
        .await?;
    Ok(any.is_some())
}
