//! The delivery log: every delivery a connector received, with its raw body (unless it failed
//! the signature check), its outcome and answer; filters; and what may be replayed.

use super::{
    entities::delivery,
    views::{DeliveryView, Summary},
};
use crate::{
    connectors::service as connectors,
    inbound::{
        service::{self as inbound, Incoming},
        views::Answer,
    },
};
use chrono::{DateTime, Duration, NaiveDate, Utc};
use forecourt_core::msg;
use forecourt_core::{
    App, Error, Result,
    http::{List, page_limit, parse_cursor},
    tenancy::{Cx, TenantScoped, Tenanted},
    uow::{Activity, Uow},
};
use sea_orm::{ColumnTrait, ConnectionTrait, QueryFilter, QueryOrder, QuerySelect};
use serde_json::json;
use uuid::Uuid;

/// Outcomes a delivery can have.
pub const OUTCOMES: &[&str] = &["received", "accepted", "partial", "duplicate", "rejected"];

/// One delivery of a connector of the tenant, or 404.
pub async fn get(
    conn: &impl ConnectionTrait,
    t: &impl Tenanted,
    connector_id: Uuid,
    id: Uuid,
) -> Result<delivery::Model> {
    delivery::Entity::scoped(t)
        .filter(delivery::Column::ConnectorId.eq(connector_id))
        .filter(delivery::Column::Id.eq(id))
        .one(conn)
        .await?
        .ok_or(Error::NotFound("delivery"))
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
            msg!("a date (`YYYY-MM-DD`) or an RFC 3339 instant (`2026-03-01T10:00:00Z`)"),
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
                    msg!("one of: {outcomes}", outcomes = OUTCOMES.join(", ")),
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
            return Err(Error::invalid("to", msg!("must be after `from`")));
        }
        Ok(Self { outcome, from, to })
    }
}

/// A page of a connector's deliveries, newest first.
pub async fn list(
    conn: &impl ConnectionTrait,
    t: &impl Tenanted,
    connector_id: Uuid,
    filter: &Filter,
    cursor: Option<&str>,
    limit: Option<u64>,
) -> Result<List<DeliveryView>> {
    let limit = page_limit(limit);
    let mut q = delivery::Entity::scoped(t).filter(delivery::Column::ConnectorId.eq(connector_id));
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

/// Re-processes a stored delivery of one of the caller's connectors with its current
/// configuration, as a new delivery that replays it, and logs the replay.
pub async fn replay(
    app: &App,
    cx: &Cx,
    connector_id: Uuid,
    delivery_id: Uuid,
    request_id: Option<String>,
) -> Result<Answer> {
    let c = connectors::get(&app.db, cx, connector_id).await?;
    let original = get(&app.db, cx, c.id, delivery_id).await?;
    let body = match (&original.body, original.replayable()) {
        (Some(body), true) => body.clone(),
        (None, _) => {
            return Err(Error::conflict(
                "not_replayable",
                msg!("this delivery failed the signature check, so its body was not kept"),
            ));
        }
        (Some(_), false) => {
            return Err(Error::conflict(
                "not_replayable",
                msg!(
                    "only rejected or partial deliveries can be replayed; this one is `{outcome}`",
                    outcome = &original.outcome
                ),
            ));
        }
    };
    let answer = inbound::receive(
        app,
        Incoming {
            connector: &c,
            webhook_id: original.webhook_id.clone(),
            content_type: original.content_type.clone(),
            body: &body,
            replay_of: Some(original.id),
            request_id,
        },
    )
    .await?;
    let replay_id = match &answer {
        Answer::Accepted(r) => Some(r.delivery_id),
        Answer::Refused(p) => p.delivery_id,
    };
    let uow = Uow::begin(app, cx).await?;
    uow.record(
        Activity::new("connector", c.id, "delivery_replayed")
            .changes(json!({"delivery_id": original.id, "replay_id": replay_id})),
    )
    .await?;
    uow.commit().await?;
    Ok(answer)
}
