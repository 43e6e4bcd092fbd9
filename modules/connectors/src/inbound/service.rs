//! Intake of a delivery, once its signature is verified (or when a stored delivery is
//! replayed): the delivery is logged with its raw body first, then checked (tenant, licence,
//! connector), parsed by content type, and each prospect lands in its own unit of work.
//!
//! Idempotency is one unique key, `connector_leads (tenant_id, connector_id, lead_key)`,
//! inserted in the unit of work that lands the lead: the partner's lead id (`id@source`) when
//! the prospect has one, else the `webhook-id` and the prospect's position. Of two concurrent
//! deliveries of one lead exactly one commits; the other meets the key and answers
//! `duplicate` with the winner's records.

use super::{
    entities::connector_lead,
    mapping::{prospect_field, to_inbound},
    parse::parse,
    views::{Answer, DeliveryReport, InboundProblem, LeadOutcome, LeadProblem, LeadResult},
};
use crate::{
    connectors::entities::connector, deliveries::entities::delivery, lead::Prospect,
    module::MODULE_ID,
};
use chrono::{DateTime, Utc};
use forecourt_core::msg;
use forecourt_core::{
    App, Error, Result,
    error::Problem,
    http::tenant_suspended,
    tenancy::{TenantId, TenantScoped},
    uow::{Activity, Uow},
};
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, EntityTrait, QueryFilter, prelude::Expr,
};
use serde_json::json;
use sha2::{Digest, Sha256};
use uuid::Uuid;

/// Who the activity log names for intake (the CRM names the same actor for its part).
const ACTOR: &str = "connector";
/// Longest idempotency key stored as is; longer ones are stored as their SHA-256.
const MAX_KEY_BYTES: usize = 255;
/// How often a prospect is retried when its transaction lost a race on the same record.
const ATTEMPTS: usize = 3;

/// A delivery to process: received on the inbound endpoint, or replayed from the log.
#[derive(Debug)]
pub struct Incoming<'a> {
    /// The connector, as configured now.
    pub connector: &'a connector::Model,
    /// The verified `webhook-id`.
    pub webhook_id: Option<String>,
    /// The `Content-Type` as sent.
    pub content_type: Option<String>,
    /// The raw body.
    pub body: &'a [u8],
    /// The delivery this one replays.
    pub replay_of: Option<Uuid>,
    /// The request id, quoted in problems.
    pub request_id: Option<String>,
}

/// The SHA-256 of a body, in hex.
pub fn sha256(body: &[u8]) -> String {
    hex::encode(Sha256::digest(body))
}

/// The problem document of an error, with the delivery's id.
fn problem_of(err: &Error, delivery_id: Uuid, request_id: Option<&str>) -> InboundProblem {
    let mut p = err.problem();
    p.request_id = request_id.map(str::to_string);
    InboundProblem::from_problem(p, Some(delivery_id))
}

/// Logs a delivery that failed the signature check, with its size and hash but never its
/// body (an unauthenticated body is untrusted), and answers its 401 problem.
pub async fn refuse_unsigned(
    app: &App,
    c: &connector::Model,
    webhook_id: Option<&str>,
    content_type: Option<&str>,
    body: &[u8],
    detail: String,
    request_id: Option<&str>,
) -> Result<InboundProblem> {
    let id = Uuid::now_v7();
    let now = app.clock.now();
    let problem = InboundProblem {
        kind: "invalid_signature".into(),
        title: "Invalid signature".into(),
        status: 401,
        detail,
        field: None,
        delivery_id: Some(id),
        results: None,
        module: None,
        tiers: None,
        request_id: request_id.map(str::to_string),
    };
    let row = delivery::ActiveModel {
        tenant_id: Set(c.tenant_id),
        id: Set(id),
        connector_id: Set(c.id),
        webhook_id: Set(webhook_id.map(|w| truncate(w, MAX_KEY_BYTES))),
        received_at: Set(now),
        content_type: Set(content_type.map(|t| truncate(t, MAX_KEY_BYTES))),
        body: Set(None),
        body_sha256: Set(sha256(body)),
        size: Set(body.len() as i64),
        outcome: Set("rejected".into()),
        status_code: Set(401),
        error: Set(serde_json::to_value(&problem).ok()),
        results: Set(json!([])),
        replay_of: Set(None),
        processed_at: Set(Some(now)),
    };
    log(app, row).await?;
    Ok(problem)
}

/// Writes a delivery to the log as one statement of its own, committed at once: the log keeps
/// it whatever happens to the processing after. A single statement needs no transaction
/// around it (an explicit one would cost two more round trips on every delivery).
async fn log(app: &App, row: delivery::ActiveModel) -> Result<()> {
    delivery::Entity::insert(row)
        .exec_without_returning(&app.db)
        .await?;
    Ok(())
}

fn truncate(s: &str, max: usize) -> String {
    let mut end = s.len().min(max);
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    s[..end].to_string()
}

/// Processes a verified delivery: logs it with its body, answers it, and records the answer.
pub async fn receive(app: &App, incoming: Incoming<'_>) -> Result<Answer> {
    let c = incoming.connector;
    let received_at = app.clock.now();
    let id = Uuid::now_v7();
    // Logged before anything else, so a delivery is kept even if processing dies half-way.
    // Written without RETURNING, and finished with an update of the answer's columns only:
    // the body travels to the database once.
    let row = delivery::ActiveModel {
        tenant_id: Set(c.tenant_id),
        id: Set(id),
        connector_id: Set(c.id),
        webhook_id: Set(incoming.webhook_id.clone()),
        received_at: Set(received_at),
        content_type: Set(incoming
            .content_type
            .as_deref()
            .map(|t| truncate(t, MAX_KEY_BYTES))),
        body: Set(Some(incoming.body.to_vec())),
        body_sha256: Set(sha256(incoming.body)),
        size: Set(incoming.body.len() as i64),
        outcome: Set("received".into()),
        status_code: Set(0),
        error: Set(None),
        results: Set(json!([])),
        replay_of: Set(incoming.replay_of),
        processed_at: Set(None),
    };
    log(app, row).await?;
    let mut results = Vec::new();
    let answer = process(app, &incoming, id, received_at, &mut results).await;
    let (outcome, error) = match &answer {
        Ok(Answer::Accepted(r)) => (r.outcome.clone(), None),
        Ok(Answer::Refused(problem)) => ("rejected".to_string(), Some(problem.clone())),
        Err(e) => {
            let landed = results.iter().any(|r| r.outcome != LeadOutcome::Rejected);
            let outcome = if landed { "partial" } else { "rejected" };
            let problem = problem_of(e, id, incoming.request_id.as_deref());
            (outcome.to_string(), Some(problem))
        }
    };
    let status = error.as_ref().map_or(202, |p| p.status);
    // The results are stored on their own.
    let error = error.map(|p| InboundProblem { results: None, ..p });
    // One statement, like the log row: no transaction around it.
    delivery::Entity::update_in(&TenantId::new(c.tenant_id))
        .col_expr(delivery::Column::Outcome, Expr::value(outcome))
        .col_expr(delivery::Column::StatusCode, Expr::value(i32::from(status)))
        .col_expr(
            delivery::Column::Error,
            Expr::value(error.and_then(|p| serde_json::to_value(p).ok())),
        )
        .col_expr(
            delivery::Column::Results,
            Expr::value(serde_json::to_value(&results).unwrap_or_else(|_| json!([]))),
        )
        .col_expr(
            delivery::Column::ProcessedAt,
            Expr::value(Some(app.clock.now())),
        )
        .filter(delivery::Column::Id.eq(id))
        .exec(&app.db)
        .await?;
    answer
}

async fn process(
    app: &App,
    incoming: &Incoming<'_>,
    delivery_id: Uuid,
    received_at: DateTime<Utc>,
    results: &mut Vec<LeadResult>,
) -> Result<Answer> {
    let c = incoming.connector;
    let rid = incoming.request_id.as_deref();
    let refuse = |e: Error| Ok(Answer::Refused(problem_of(&e, delivery_id, rid)));
    let info = app
        .ports
        .directory
        .tenant_info(app, c.tenant_id)
        .await?
        .ok_or(Error::NotFound("connector"))?;
    if info.suspended {
        return refuse(tenant_suspended());
    }
    if let Some(m) = app.registry.get(MODULE_ID)
        && let Err(e) = app
            .registry
            .check_available(m, info.tier, &info.disabled_modules)
    {
        return refuse(e);
    }
    if !c.enabled {
        return refuse(Error::Forbidden {
            kind: "connector_disabled",
            detail: msg!(
                "this connector is disabled; the delivery is kept and can be replayed once \
                     it is enabled"
            ),
            extra: None,
        });
    }
    let doc = match parse(incoming.content_type.as_deref(), incoming.body) {
        Ok(doc) => doc,
        Err(p) => {
            let mut p = *p;
            p.request_id = rid.map(str::to_string);
            return Ok(Answer::Refused(InboundProblem::from_problem(
                p,
                Some(delivery_id),
            )));
        }
    };
    for (index, prospect) in doc.prospects.iter().enumerate() {
        let result = land_one(
            app,
            c,
            delivery_id,
            incoming.webhook_id.as_deref(),
            index,
            prospect,
            received_at,
        )
        .await?;
        results.push(result);
    }
    let rejected = results
        .iter()
        .filter(|r| r.outcome == LeadOutcome::Rejected)
        .count();
    if rejected == results.len() {
        let first = results.iter().find_map(|r| r.problem.clone());
        let (field, detail) = match &first {
            Some(p) => (p.field.clone(), p.detail.clone()),
            None => (None, "no prospect could be used".to_string()),
        };
        let p = Problem {
            kind: "lead_rejected".into(),
            title: "Lead rejected".into(),
            status: 422,
            detail: if results.len() == 1 {
                detail
            } else {
                format!("every prospect was rejected; the first: {detail}")
            },
            field,
            extra: None,
            request_id: rid.map(str::to_string),
        };
        let mut problem = InboundProblem::from_problem(p, Some(delivery_id));
        problem.results = Some(results.clone());
        return Ok(Answer::Refused(problem));
    }
    let outcome = if rejected > 0 {
        "partial"
    } else if results.iter().all(|r| r.outcome == LeadOutcome::Duplicate) {
        "duplicate"
    } else {
        "accepted"
    };
    Ok(Answer::Accepted(DeliveryReport {
        delivery_id,
        outcome: outcome.into(),
        results: results.clone(),
    }))
}

/// The idempotency key of a prospect: `<id>@<source>` of its first id (the source in lower
/// case, the connector's partner when the id has none; the id as sent), else
/// `webhook:<webhook-id>#<index>`. Keys longer than 255 bytes are stored as their SHA-256.
pub fn lead_key(p: &Prospect, partner: &str, webhook_id: Option<&str>, index: usize) -> String {
    let key = match p.ids.iter().find(|i| !i.value.trim().is_empty()) {
        Some(id) => {
            let source = id
                .source
                .as_deref()
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .unwrap_or(partner);
            format!("{}@{}", id.value.trim(), source.to_lowercase())
        }
        None => format!("webhook:{}#{index}", webhook_id.unwrap_or_default()),
    };
    if key.len() > MAX_KEY_BYTES {
        format!("sha256:{}", sha256(key.as_bytes()))
    } else {
        key
    }
}

async fn land_one(
    app: &App,
    c: &connector::Model,
    delivery_id: Uuid,
    webhook_id: Option<&str>,
    index: usize,
    prospect: &Prospect,
    received_at: DateTime<Utc>,
) -> Result<LeadResult> {
    let key = lead_key(prospect, &c.partner, webhook_id, index);
    let lead = to_inbound(prospect, c, received_at);
    let mut result = LeadResult {
        index: u32::try_from(index).unwrap_or(u32::MAX),
        outcome: LeadOutcome::Rejected,
        opportunity_id: None,
        contact_id: None,
        lead_key: key.clone(),
        problem: None,
    };
    let mut last_conflict = None;
    for _ in 0..ATTEMPTS {
        let uow = Uow::system(app, TenantId::new(c.tenant_id), ACTOR)
            .await?
            .at(received_at);
        // The key first: it is the lock. A concurrent delivery of the same lead waits here
        // for this transaction, then meets the key.
        let claimed = connector_lead::ActiveModel {
            tenant_id: Set(c.tenant_id),
            connector_id: Set(c.id),
            lead_key: Set(key.clone()),
            delivery_id: Set(delivery_id),
            contact_id: Set(None),
            opportunity_id: Set(None),
            created_at: Set(received_at),
        }
        .insert(uow.txn())
        .await;
        if let Err(e) = claimed {
            let unique = matches!(
                e.sql_err(),
                Some(sea_orm::SqlErr::UniqueConstraintViolation(_))
            );
            // Rolled back now, not when the connection is next used: on SQLite the write lock
            // goes at once.
            uow.rollback().await?;
            if !unique {
                match Error::from(e) {
                    e @ Error::Conflict {
                        kind: "write_conflict",
                        ..
                    } => {
                        last_conflict = Some(e);
                        continue;
                    }
                    e => return Err(e),
                }
            }
            // Read after the rollback: the winner has committed.
            if let Some(original) = connector_lead::Entity::scoped(&TenantId::new(c.tenant_id))
                .filter(connector_lead::Column::ConnectorId.eq(c.id))
                .filter(connector_lead::Column::LeadKey.eq(key.as_str()))
                .one(&app.db)
                .await?
            {
                result.outcome = LeadOutcome::Duplicate;
                result.opportunity_id = original.opportunity_id;
                result.contact_id = original.contact_id;
                return Ok(result);
            }
            continue;
        }
        match app
            .ports
            .leads
            .land(app, uow.txn(), c.tenant_id, &lead)
            .await
        {
            Ok(landed) => {
                connector_lead::Entity::update_in(&uow)
                    .col_expr(
                        connector_lead::Column::ContactId,
                        Expr::value(landed.contact_id),
                    )
                    .col_expr(
                        connector_lead::Column::OpportunityId,
                        Expr::value(landed.opportunity_id),
                    )
                    .filter(connector_lead::Column::ConnectorId.eq(c.id))
                    .filter(connector_lead::Column::LeadKey.eq(key.as_str()))
                    .exec(uow.txn())
                    .await?;
                let outcome = if landed.merged {
                    LeadOutcome::Merged
                } else {
                    LeadOutcome::Created
                };
                let action = if landed.merged {
                    "lead_merged"
                } else {
                    "lead_created"
                };
                uow.record(Activity::new("connector", c.id, action).changes(json!({
                    "delivery_id": delivery_id,
                    "lead_key": key,
                    "contact_id": landed.contact_id,
                    "opportunity_id": landed.opportunity_id,
                })))
                .await?;
                uow.commit().await?;
                app.ports.contacts.changed(app, c.tenant_id).await;
                result.outcome = outcome;
                result.opportunity_id = Some(landed.opportunity_id);
                result.contact_id = Some(landed.contact_id);
                return Ok(result);
            }
            Err(e) => {
                uow.rollback().await?;
                match e {
                    Error::Conflict {
                        kind: "write_conflict",
                        ..
                    } => {
                        last_conflict = Some(e);
                        continue;
                    }
                    e if e.status().is_client_error() => {
                        let p = e.problem();
                        result.problem = Some(LeadProblem {
                            kind: p.kind,
                            field: Some(prospect_field(index, p.field.as_deref())),
                            detail: p.detail,
                        });
                        return Ok(result);
                    }
                    e => return Err(e),
                }
            }
        }
    }
    Err(last_conflict
        .unwrap_or_else(|| Error::conflict("write_conflict", msg!("retry the delivery"))))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lead::*;

    #[test]
    fn keys_come_from_the_first_id_or_the_webhook() {
        let mut p = Prospect::default();
        assert_eq!(lead_key(&p, "Gocar", Some("msg_1"), 2), "webhook:msg_1#2");
        p.ids = vec![
            LeadId {
                value: " ".into(),
                source: None,
            },
            LeadId {
                value: "AB-12".into(),
                source: Some("AutoScout24".into()),
            },
        ];
        assert_eq!(lead_key(&p, "Gocar", Some("msg_1"), 0), "AB-12@autoscout24");
        p.ids[1].source = None;
        assert_eq!(lead_key(&p, "Gocar", None, 0), "AB-12@gocar");
        p.ids[1].value = "x".repeat(300);
        assert!(lead_key(&p, "Gocar", None, 0).starts_with("sha256:"));
    }
}
