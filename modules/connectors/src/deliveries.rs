//! The delivery log: every delivery a connector received, with its raw body (unless it failed
//! the signature check), its outcome and answer; filters; and what may be replayed.

use crate::{entities::delivery, inbound::LeadResult};
use base64::{Engine, engine::general_purpose::STANDARD};
use chrono::{DateTime, Duration, NaiveDate, Utc};
use forecourt_core::{
    Error, Result,
    http::{List, page_limit, parse_cursor},
};
use poem_openapi::Object;
use sea_orm::{
    ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect, Select,
};
use uuid::Uuid;

/// Outcomes a delivery can have.
pub const OUTCOMES: &[&str] = &["received", "accepted", "partial", "duplicate", "rejected"];

/// Deliveries of one connector of one tenant.
pub fn scoped(tenant_id: Uuid, connector_id: Uuid) -> Select<delivery::Entity> {
    delivery::Entity::find()
        .filter(delivery::Column::TenantId.eq(tenant_id))
        .filter(delivery::Column::ConnectorId.eq(connector_id))
}

/// One delivery of a connector, or 404.
pub async fn get(
    conn: &impl ConnectionTrait,
    tenant_id: Uuid,
    connector_id: Uuid,
    id: Uuid,
) -> Result<delivery::Model> {
    scoped(tenant_id, connector_id)
        .filter(delivery::Column::Id.eq(id))
        .one(conn)
        .await?
        .ok_or(Error::NotFound("delivery"))
}

/// A delivery in the log.
#[derive(Object, Debug)]
pub struct DeliveryView {
    /// Delivery id.
    pub id: Uuid,
    /// The connector.
    pub connector_id: Uuid,
    /// The `webhook-id` it was sent with (for a delivery that failed the signature check:
    /// as claimed, unverified).
    #[oai(nullable)]
    pub webhook_id: Option<String>,
    /// When it arrived.
    pub received_at: DateTime<Utc>,
    /// When processing finished; absent while it runs (or if it was interrupted).
    #[oai(nullable)]
    pub processed_at: Option<DateTime<Utc>>,
    /// The `Content-Type` it was sent with.
    #[oai(nullable)]
    pub content_type: Option<String>,
    /// Body size in bytes.
    pub size: i64,
    /// SHA-256 of the body, hex.
    pub body_sha256: String,
    /// Whether the raw body is kept: not for a delivery that failed the signature check
    /// (an unauthenticated body is not trusted, only its size and hash are logged).
    pub body_kept: bool,
    /// `accepted`, `partial` (some prospects rejected), `duplicate` (all of them known),
    /// `rejected` (nothing landed), or `received` (processing has not finished).
    pub outcome: String,
    /// The HTTP status answered (0 while processing).
    pub status_code: i32,
    /// The problem document answered, for a refused delivery.
    pub error: Option<serde_json::Value>,
    /// The delivery this one replays.
    #[oai(nullable)]
    pub replay_of: Option<Uuid>,
    /// Whether `POST .../replay` may re-process it.
    pub replayable: bool,
}

/// A delivery with its body and per-prospect results.
#[derive(Object, Debug)]
pub struct DeliveryDetail {
    #[oai(flatten)]
    pub delivery: DeliveryView,
    /// The raw body: as text when it is valid UTF-8, else base64 (see `body_encoding`).
    #[oai(nullable)]
    pub body: Option<String>,
    /// `utf8` or `base64`.
    #[oai(nullable)]
    pub body_encoding: Option<String>,
    /// One result per prospect.
    pub results: Vec<LeadResult>,
}

/// Whether a delivery may be replayed: it was refused or partly refused (or its processing
/// was interrupted), and its body is kept.
pub fn replayable(d: &delivery::Model) -> bool {
    d.body.is_some() && matches!(d.outcome.as_str(), "rejected" | "partial" | "received")
}

impl From<&delivery::Model> for DeliveryView {
    fn from(d: &delivery::Model) -> Self {
        Self {
            id: d.id,
            connector_id: d.connector_id,
            webhook_id: d.webhook_id.clone(),
            received_at: d.received_at,
            processed_at: d.processed_at,
            content_type: d.content_type.clone(),
            size: d.size,
            body_sha256: d.body_sha256.clone(),
            body_kept: d.body.is_some(),
            outcome: d.outcome.clone(),
            status_code: d.status_code,
            error: d.error.clone(),
            replay_of: d.replay_of,
            replayable: replayable(d),
        }
    }
}

impl From<delivery::Model> for DeliveryDetail {
    fn from(d: delivery::Model) -> Self {
        let view = DeliveryView::from(&d);
        let results = serde_json::from_value(d.results).unwrap_or_default();
        let (body, encoding) = match d.body {
            None => (None, None),
            Some(bytes) => match String::from_utf8(bytes) {
                Ok(text) => (Some(text), Some("utf8")),
                Err(e) => (Some(STANDARD.encode(e.as_bytes())), Some("base64")),
            },
        };
        Self {
            delivery: view,
            body,
            body_encoding: encoding.map(str::to_string),
            results,
        }
    }
}

/// The filters of the delivery list.
#[derive(Debug, Default)]
pub struct Filter {
    /// Only this outcome.
    pub outcome: Option<String>,
    /// Received at or after.
    pub from: Option<DateTime<Utc>>,
    /// Received before.
    pub to: Option<DateTime<Utc>>,
}

/// A bound of the period: an RFC 3339 instant, or a day (`YYYY-MM-DD`, UTC): its start for
/// `from`, its end for `to`.
fn bound(field: &'static str, raw: &str, end_of_day: bool) -> Result<DateTime<Utc>> {
    let raw = raw.trim();
    if let Ok(at) = DateTime::parse_from_rfc3339(raw) {
        // A year PostgreSQL's timestamps cannot hold would fail the query with a 500.
        return forecourt_core::dates::instant(field, at.with_timezone(&Utc));
    }
    match NaiveDate::parse_from_str(raw, "%Y-%m-%d") {
        Ok(day) => {
            let day = forecourt_core::dates::day(field, day)?;
            let day = if end_of_day {
                day.succ_opt().unwrap_or(day)
            } else {
                day
            };
            Ok(day.and_time(chrono::NaiveTime::MIN).and_utc())
        }
        Err(_) => Err(Error::invalid(
            field,
            "a date (`YYYY-MM-DD`) or an RFC 3339 instant (`2026-03-01T10:00:00Z`)",
        )),
    }
}

impl Filter {
    /// Validates the query parameters, naming the offending one.
    pub fn parse(outcome: Option<&str>, from: Option<&str>, to: Option<&str>) -> Result<Self> {
        let outcome = match outcome.map(str::trim).filter(|o| !o.is_empty()) {
            Some(o) if OUTCOMES.contains(&o) => Some(o.to_string()),
            Some(_) => {
                return Err(Error::invalid(
                    "outcome",
                    format!("one of: {}", OUTCOMES.join(", ")),
                ));
            }
            None => None,
        };
        let from = from.map(|f| bound("from", f, false)).transpose()?;
        // A bare day as `to` includes that whole day; an instant is included itself.
        let to = to
            .map(|t| {
                let is_day = NaiveDate::parse_from_str(t.trim(), "%Y-%m-%d").is_ok();
                bound("to", t, true).map(|at| {
                    if is_day {
                        at
                    } else {
                        at + Duration::nanoseconds(1)
                    }
                })
            })
            .transpose()?;
        if let (Some(f), Some(t)) = (from, to)
            && f >= t
        {
            return Err(Error::invalid("to", "must be after `from`"));
        }
        Ok(Self { outcome, from, to })
    }
}

/// A page of a connector's deliveries, newest first.
pub async fn list(
    conn: &impl ConnectionTrait,
    tenant_id: Uuid,
    connector_id: Uuid,
    filter: &Filter,
    cursor: Option<&str>,
    limit: Option<u64>,
) -> Result<List<DeliveryView>> {
    let limit = page_limit(limit);
    let mut q = scoped(tenant_id, connector_id);
    if let Some(o) = &filter.outcome {
        q = q.filter(delivery::Column::Outcome.eq(o.as_str()));
    }
    if let Some(f) = filter.from {
        q = q.filter(delivery::Column::ReceivedAt.gte(f));
    }
    if let Some(t) = filter.to {
        q = q.filter(delivery::Column::ReceivedAt.lt(t));
    }
    if let Some(before) = parse_cursor(cursor)? {
        q = q.filter(delivery::Column::Id.lt(before));
    }
    // The list leaves the bodies in the database; the detail view shows them.
    let rows = q
        .select_only()
        .columns([
            delivery::Column::TenantId,
            delivery::Column::Id,
            delivery::Column::ConnectorId,
            delivery::Column::WebhookId,
            delivery::Column::ReceivedAt,
            delivery::Column::ContentType,
            delivery::Column::BodySha256,
            delivery::Column::Size,
            delivery::Column::Outcome,
            delivery::Column::StatusCode,
            delivery::Column::Error,
            delivery::Column::ReplayOf,
            delivery::Column::ProcessedAt,
        ])
        .column_as(
            sea_orm::sea_query::ExprTrait::is_not_null(sea_orm::prelude::Expr::col(
                delivery::Column::Body,
            )),
            "body_kept",
        )
        .order_by_desc(delivery::Column::Id)
        .limit(limit + 1)
        .into_model::<Summary>()
        .all(conn)
        .await?;
    let items = rows.into_iter().map(DeliveryView::from).collect();
    Ok(List::page(items, limit, |v| v.id))
}

/// A delivery row without its body and results.
#[derive(Debug, sea_orm::FromQueryResult)]
struct Summary {
    id: Uuid,
    connector_id: Uuid,
    webhook_id: Option<String>,
    received_at: DateTime<Utc>,
    content_type: Option<String>,
    body_sha256: String,
    size: i64,
    outcome: String,
    status_code: i32,
    error: Option<serde_json::Value>,
    replay_of: Option<Uuid>,
    processed_at: Option<DateTime<Utc>>,
    body_kept: bool,
}

impl From<Summary> for DeliveryView {
    fn from(s: Summary) -> Self {
        let replayable =
            s.body_kept && matches!(s.outcome.as_str(), "rejected" | "partial" | "received");
        Self {
            id: s.id,
            connector_id: s.connector_id,
            webhook_id: s.webhook_id,
            received_at: s.received_at,
            processed_at: s.processed_at,
            content_type: s.content_type,
            size: s.size,
            body_sha256: s.body_sha256,
            body_kept: s.body_kept,
            outcome: s.outcome,
            status_code: s.status_code,
            error: s.error,
            replay_of: s.replay_of,
            replayable,
        }
    }
}
