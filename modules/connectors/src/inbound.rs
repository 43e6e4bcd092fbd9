//! Intake of a delivery, once its signature is verified (or when a stored delivery is
//! replayed): the delivery is logged with its raw body first, then checked (tenant, licence,
//! connector), parsed by content type, and each prospect lands in its own transaction.
//!
//! Idempotency is one unique key, `connector_leads (tenant_id, connector_id, lead_key)`,
//! inserted in the transaction that lands the lead: the partner's lead id (`id@source`) when
//! the prospect has one, else the `webhook-id` and the prospect's position. Of two concurrent
//! deliveries of one lead exactly one commits; the other meets the key and answers
//! `duplicate` with the winner's records.

use crate::{
    adf,
    entities::{connector, connector_lead, delivery},
    lead::{Interest, LeadDocument, LeadVehicle, Prospect, ProspectStatus, VehicleCondition},
};
use chrono::{DateTime, Duration, SecondsFormat, Utc};
use forecourt_core::{
    App, Error, Result,
    activity::{self, Actor},
    error::Problem,
    http::{parse_body, tenant_suspended},
    ports::leads::{InboundContact, InboundLead, InboundVehicle},
};
use poem_openapi::{Enum, Object};
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, EntityTrait, QueryFilter, prelude::Expr,
};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use uuid::Uuid;

/// Who the activity log names for intake (the CRM names the same actor for its part).
const ACTOR: Actor<'static> = Actor::System("connector");
/// Longest idempotency key stored as is; longer ones are stored as their SHA-256.
const MAX_KEY_BYTES: usize = 255;
/// How often a prospect is retried when its transaction lost a race on the same record.
const ATTEMPTS: usize = 3;

/// What became of one prospect.
#[derive(Enum, Serialize, Deserialize, Debug, Clone, Copy, PartialEq, Eq)]
#[oai(rename_all = "snake_case")]
#[serde(rename_all = "snake_case")]
pub enum LeadOutcome {
    /// A new opportunity was opened (and the contact matched or created).
    Created,
    /// Merged into the contact's open opportunity.
    Merged,
    /// This lead was landed before (same partner lead id, or same `webhook-id` and position);
    /// the ids are the ones it landed on then.
    Duplicate,
    /// Refused; `problem` says why. Nothing was written for it but the delivery log.
    Rejected,
}

/// Why a prospect was rejected.
#[derive(Object, Serialize, Deserialize, Debug, Clone, PartialEq)]
pub struct LeadProblem {
    /// Stable identifier, e.g. `contact_blocked`, `contact_unreachable`.
    #[oai(rename = "type")]
    #[serde(rename = "type")]
    pub kind: String,
    /// The offending part of the lead, e.g. `prospects[0].customer`.
    #[oai(skip_serializing_if_is_none)]
    #[serde(skip_serializing_if = "Option::is_none")]
    #[oai(nullable)]
    pub field: Option<String>,
    /// What went wrong.
    pub detail: String,
}

/// The result of one prospect of a delivery, in document order.
#[derive(Object, Serialize, Deserialize, Debug, Clone, PartialEq)]
pub struct LeadResult {
    /// The prospect's position in the document, from 0.
    pub index: u32,
    /// What became of it.
    pub outcome: LeadOutcome,
    /// The opportunity it opened or was merged into (for a duplicate: the original one).
    #[oai(skip_serializing_if_is_none)]
    #[serde(skip_serializing_if = "Option::is_none")]
    #[oai(nullable)]
    pub opportunity_id: Option<Uuid>,
    /// The contact it landed on (for a duplicate: the original one).
    #[oai(skip_serializing_if_is_none)]
    #[serde(skip_serializing_if = "Option::is_none")]
    #[oai(nullable)]
    pub contact_id: Option<Uuid>,
    /// Its idempotency key: `<lead id>@<source>` (the partner's first id of the prospect), or
    /// `webhook:<webhook-id>#<index>` when the prospect has no id.
    pub lead_key: String,
    /// Why it was rejected.
    #[oai(skip_serializing_if_is_none)]
    #[serde(skip_serializing_if = "Option::is_none")]
    #[oai(nullable)]
    pub problem: Option<LeadProblem>,
}

/// The 202 answer of a delivery: at least one prospect landed or was a duplicate.
#[derive(Object, Debug, Clone)]
pub struct DeliveryReport {
    /// The delivery in the log (`GET /api/v1/connectors/{id}/deliveries/{delivery_id}`).
    pub delivery_id: Uuid,
    /// `accepted`, `partial` (some prospects rejected) or `duplicate` (all of them).
    pub outcome: String,
    /// One result per prospect, in document order.
    pub results: Vec<LeadResult>,
}

/// The problem document of a refused delivery (RFC 9457), with the delivery's id.
#[derive(Object, Serialize, Deserialize, Debug, Clone, PartialEq)]
pub struct InboundProblem {
    /// Stable identifier: `invalid_signature`, `tenant_suspended`, `module_not_licensed`,
    /// `module_disabled`, `connector_disabled`, `unsupported_media_type`, a parse error
    /// (`malformed_xml`, `dtd_refused`, `validation_error`, ...) or `lead_rejected`.
    #[oai(rename = "type")]
    #[serde(rename = "type")]
    pub kind: String,
    /// Short human summary.
    pub title: String,
    /// HTTP status.
    pub status: u16,
    /// What exactly went wrong.
    pub detail: String,
    /// The offending header or part of the lead (`webhook-signature`, `content-type`,
    /// `prospects[0].customer.emails`).
    #[oai(skip_serializing_if_is_none)]
    #[serde(skip_serializing_if = "Option::is_none")]
    #[oai(nullable)]
    pub field: Option<String>,
    /// The delivery in the log; quote it to the dealer, who can replay it.
    #[oai(skip_serializing_if_is_none)]
    #[serde(skip_serializing_if = "Option::is_none")]
    #[oai(nullable)]
    pub delivery_id: Option<Uuid>,
    /// For `lead_rejected`: one result per prospect, each with its problem.
    #[oai(skip_serializing_if_is_none)]
    #[serde(skip_serializing_if = "Option::is_none")]
    #[oai(nullable)]
    pub results: Option<Vec<LeadResult>>,
    /// For `module_*`: the module.
    #[oai(skip_serializing_if_is_none)]
    #[serde(skip_serializing_if = "Option::is_none")]
    #[oai(nullable)]
    pub module: Option<String>,
    /// For `module_not_licensed`: the tiers that include it.
    #[oai(skip_serializing_if_is_none)]
    #[serde(skip_serializing_if = "Option::is_none")]
    #[oai(nullable)]
    pub tiers: Option<Vec<String>>,
    /// The id of the request.
    #[oai(skip_serializing_if_is_none)]
    #[serde(skip_serializing_if = "Option::is_none")]
    #[oai(nullable)]
    pub request_id: Option<String>,
}

impl InboundProblem {
    /// A host problem, with the delivery's id.
    pub fn from_problem(p: Problem, delivery_id: Option<Uuid>) -> Self {
        let extra = p.extra.unwrap_or(Value::Null);
        Self {
            kind: p.kind,
            title: p.title,
            status: p.status,
            detail: p.detail,
            field: p.field,
            delivery_id,
            results: None,
            module: extra["module"].as_str().map(str::to_string),
            tiers: extra["tiers"].as_array().map(|t| {
                t.iter()
                    .filter_map(|v| v.as_str().map(str::to_string))
                    .collect()
            }),
            request_id: p.request_id,
        }
    }
}

/// How a delivery was answered.
#[derive(Debug)]
pub enum Answer {
    /// 202 with the report.
    Accepted(DeliveryReport),
    /// A problem document (401, 403, 415, 422).
    Refused(InboundProblem),
}

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

/// The body formats a connector reads.
#[derive(Debug, PartialEq, Eq)]
pub enum Format {
    /// ADF/XML, with the charset of the `Content-Type`, if any.
    Adf(Option<String>),
    /// Our JSON lead format ([`LeadDocument`]).
    Json,
}

/// The format a `Content-Type` announces, or `None` (415).
pub fn format_of(content_type: Option<&str>) -> Option<Format> {
    let mut parts = content_type?.split(';');
    let media = parts.next()?.trim().to_ascii_lowercase();
    let charset = parts.find_map(|p| {
        let (k, v) = p.split_once('=')?;
        k.trim()
            .eq_ignore_ascii_case("charset")
            .then(|| v.trim().trim_matches('"').to_string())
    });
    match media.as_str() {
        "application/xml" | "text/xml" => Some(Format::Adf(charset)),
        m if m.ends_with("+xml") => Some(Format::Adf(charset)),
        "application/json" => Some(Format::Json),
        m if m.ends_with("+json") => Some(Format::Json),
        _ => None,
    }
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
    delivery::Entity::insert(row)
        .exec_without_returning(&app.db)
        .await?;
    Ok(problem)
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
    delivery::Entity::insert(row)
        .exec_without_returning(&app.db)
        .await?;
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
    delivery::Entity::update_many()
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
        .filter(delivery::Column::TenantId.eq(c.tenant_id))
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
    if let Some(m) = app.registry.get(crate::MODULE_ID)
        && let Err(e) = app
            .registry
            .check_available(m, info.tier, &info.disabled_modules)
    {
        return refuse(e);
    }
    if !c.enabled {
        return refuse(Error::Forbidden {
            kind: "connector_disabled",
            detail: "this connector is disabled; the delivery is kept and can be replayed once \
                     it is enabled"
                .into(),
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

/// Parses a body by its content type: 415 for a type we do not read, 422 naming the problem
/// (and the field, when there is one) for a body we cannot use.
pub fn parse(content_type: Option<&str>, body: &[u8]) -> Result<LeadDocument, Box<Problem>> {
    let problem = |status: u16, kind: &str, title: &str, detail: String, field: Option<String>| {
        Box::new(Problem {
            kind: kind.into(),
            title: title.into(),
            status,
            detail,
            field,
            extra: None,
            request_id: None,
        })
    };
    let doc = match format_of(content_type) {
        None => {
            return Err(problem(
                415,
                "unsupported_media_type",
                "Unsupported media type",
                format!(
                    "`{}` is not a lead format; send ADF as `application/xml` (or `text/xml`, \
                     `application/x-adf+xml`) or the JSON lead format as `application/json`",
                    content_type.unwrap_or("(no Content-Type)")
                ),
                Some("content-type".into()),
            ));
        }
        Some(Format::Adf(charset)) => adf::parse(body, charset.as_deref())
            .map_err(|e| problem(422, e.kind, "Invalid lead", e.detail, e.field))?,
        Some(Format::Json) => match parse_body::<LeadDocument>(body) {
            Ok(doc) => doc,
            Err(Error::Validation {
                kind,
                field,
                detail,
            }) => return Err(problem(422, kind, "Invalid lead", detail, Some(field))),
            Err(e) => {
                return Err(problem(
                    422,
                    "malformed_json",
                    "Invalid lead",
                    e.to_string(),
                    None,
                ));
            }
        },
    };
    if doc.prospects.is_empty() {
        return Err(problem(
            422,
            "no_prospect",
            "Invalid lead",
            "the document holds no prospect".into(),
            Some("prospects".into()),
        ));
    }
    if doc.prospects.len() > adf::MAX_PROSPECTS {
        return Err(problem(
            422,
            "too_large",
            "Invalid lead",
            format!(
                "at most {} prospects per delivery; send the others separately",
                adf::MAX_PROSPECTS
            ),
            Some("prospects".into()),
        ));
    }
    Ok(doc)
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
        let txn = forecourt_core::db::begin(&app.db).await?;
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
        .insert(&txn)
        .await;
        if let Err(e) = claimed {
            let unique = matches!(
                e.sql_err(),
                Some(sea_orm::SqlErr::UniqueConstraintViolation(_))
            );
            txn.rollback().await?;
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
            if let Some(original) = connector_lead::Entity::find()
                .filter(connector_lead::Column::TenantId.eq(c.tenant_id))
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
        match app.ports.leads.land(app, &txn, c.tenant_id, &lead).await {
            Ok(landed) => {
                connector_lead::Entity::update_many()
                    .col_expr(
                        connector_lead::Column::ContactId,
                        Expr::value(landed.contact_id),
                    )
                    .col_expr(
                        connector_lead::Column::OpportunityId,
                        Expr::value(landed.opportunity_id),
                    )
                    .filter(connector_lead::Column::TenantId.eq(c.tenant_id))
                    .filter(connector_lead::Column::ConnectorId.eq(c.id))
                    .filter(connector_lead::Column::LeadKey.eq(key.as_str()))
                    .exec(&txn)
                    .await?;
                let outcome = if landed.merged {
                    LeadOutcome::Merged
                } else {
                    LeadOutcome::Created
                };
                activity::record(
                    &txn,
                    c.tenant_id,
                    ACTOR,
                    received_at,
                    "connector",
                    c.id,
                    if landed.merged {
                        "lead_merged"
                    } else {
                        "lead_created"
                    },
                    json!({
                        "delivery_id": delivery_id,
                        "lead_key": key,
                        "contact_id": landed.contact_id,
                        "opportunity_id": landed.opportunity_id,
                    }),
                )
                .await?;
                txn.commit().await?;
                app.ports.contacts.changed(app, c.tenant_id).await;
                result.outcome = outcome;
                result.opportunity_id = Some(landed.opportunity_id);
                result.contact_id = Some(landed.contact_id);
                return Ok(result);
            }
            Err(e) => {
                txn.rollback().await?;
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
    Err(last_conflict.unwrap_or_else(|| Error::conflict("write_conflict", "retry the delivery")))
}

/// A field of the CRM's lead, as a path in the document (`contact.emails` of prospect 2 is
/// `prospects[2].customer.emails`).
fn prospect_field(index: usize, field: Option<&str>) -> String {
    let base = format!("prospects[{index}]");
    match field.map(str::trim).filter(|f| !f.is_empty()) {
        None => base,
        Some(f) => {
            let f = match f.strip_prefix("contact") {
                Some(rest) if rest.is_empty() || rest.starts_with(['.', '[']) => {
                    format!("customer{rest}")
                }
                _ => f.to_string(),
            };
            format!("{base}.{f}")
        }
    }
}

fn text(v: &Option<String>) -> Option<String> {
    v.as_deref()
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_string)
}

fn join(parts: &[Option<String>], sep: &str) -> Option<String> {
    let parts: Vec<&str> = parts.iter().flatten().map(String::as_str).collect();
    (!parts.is_empty()).then(|| parts.join(sep))
}

fn date(d: DateTime<Utc>) -> String {
    d.to_rfc3339_opts(SecondsFormat::Secs, true)
}

fn amount(a: f64, currency: Option<&str>) -> String {
    let c = currency.unwrap_or("EUR").to_uppercase();
    format!("{a} {c}")
}

fn interest(i: Interest) -> &'static str {
    match i {
        Interest::Buy => "buy",
        Interest::Lease => "lease",
        Interest::TestDrive => "test_drive",
        Interest::TradeIn => "trade_in",
        Interest::Sell => "sell",
    }
}

fn vehicle(v: &LeadVehicle) -> InboundVehicle {
    let euros = v
        .currency
        .as_deref()
        .map(str::trim)
        .is_none_or(|c| c.is_empty() || c.eq_ignore_ascii_case("EUR"));
    let (main, other) = if v.interest.is_trade_in() {
        match (v.appraisal, v.price) {
            (Some(a), p) => (Some(a), p.map(|p| ("Asking price", p))),
            (None, p) => (p, None),
        }
    } else {
        (v.price, v.appraisal.map(|a| ("Appraisal", a)))
    };
    // What the CRM's vehicle has no field for travels in its comments.
    let mut notes: Vec<String> = Vec::new();
    if let Some(s) = text(&v.stock) {
        notes.push(format!("Stock number: {s}"));
    }
    if let Some(c) = text(&v.condition) {
        notes.push(format!("Condition: {c}"));
    }
    if !euros && let Some(a) = main {
        notes.push(format!(
            "{}: {}",
            if v.interest.is_trade_in() {
                "Appraisal"
            } else {
                "Price"
            },
            amount(a, v.currency.as_deref())
        ));
    }
    if let Some((label, a)) = other {
        notes.push(format!("{label}: {}", amount(a, v.currency.as_deref())));
    }
    if let Some(c) = text(&v.comments) {
        notes.push(c);
    }
    InboundVehicle {
        interest: interest(v.interest).into(),
        make: text(&v.make),
        model: text(&v.model),
        trim: text(&v.trim),
        year: v.year,
        vin: text(&v.vin),
        condition: v.status.map(|s| {
            match s {
                VehicleCondition::New => "new",
                VehicleCondition::Used => "used",
            }
            .to_string()
        }),
        mileage_km: v.mileage_km,
        amount: if euros { main } else { None },
        comments: (!notes.is_empty()).then(|| notes.join("; ")),
    }
}

/// A prospect in the CRM's terms. Whatever has no field of its own goes into `note`, so
/// nothing the partner sent is lost silently.
pub fn to_inbound(p: &Prospect, c: &connector::Model, received_at: DateTime<Utc>) -> InboundLead {
    let cu = &p.customer;
    let mut note: Vec<String> = Vec::new();
    if let Some(words) = text(&cu.comments) {
        note.push(words);
    }
    if let Some(d) = p.request_date {
        note.push(format!("Request date: {}", date(d)));
    }
    if p.status == ProspectStatus::Resend {
        note.push("Sent again by the partner (status resend).".into());
    }
    let provider_name = p.provider.as_ref().and_then(|pr| text(&pr.name));
    if let Some(pr) = &p.provider {
        let details = join(
            &[
                text(&pr.service).map(|s| format!("service {s}")),
                text(&pr.url),
                text(&pr.email),
                text(&pr.phone),
            ],
            ", ",
        );
        let line = match (&provider_name, details) {
            (Some(n), Some(d)) => Some(format!("Provider: {n} ({d})")),
            (Some(n), None) => Some(format!("Provider: {n}")),
            (None, Some(d)) => Some(format!("Provider: {d}")),
            (None, None) => None,
        };
        note.extend(line);
    }
    let ids: Vec<String> = p
        .ids
        .iter()
        .filter(|i| !i.value.trim().is_empty())
        .map(|i| match text(&i.source) {
            Some(s) => format!("{}@{s}", i.value.trim()),
            None => i.value.trim().to_string(),
        })
        .collect();
    if !ids.is_empty() {
        note.push(format!("Partner lead id: {}", ids.join(", ")));
    }
    if let Some(v) = &p.vendor {
        let line = match (text(&v.name), text(&v.id)) {
            (Some(n), Some(i)) => Some(format!("Addressed to: {n} (partner's dealer id {i})")),
            (Some(n), None) => Some(format!("Addressed to: {n}")),
            (None, Some(i)) => Some(format!("Addressed to the partner's dealer id {i}")),
            (None, None) => None,
        };
        note.extend(line);
    }

    // Names: a middle name joins the first; a whole name stands as the last name when the
    // partner did not split it, and is noted otherwise.
    let first = join(&[text(&cu.first_name), text(&cu.middle_name)], " ");
    let mut last = text(&cu.last_name);
    if let Some(full) = text(&cu.full_name) {
        if first.is_none() && last.is_none() {
            last = Some(full);
        } else {
            note.push(format!("Name as sent: {full}"));
        }
    }
    let phones: Vec<String> = cu
        .phones
        .iter()
        .filter(|ph| !ph.number.trim().is_empty())
        .map(|ph| ph.number.trim().to_string())
        .collect();
    for ph in &cu.phones {
        if let Some(kind) = text(&ph.kind)
            && !["voice", "cellphone", "phone", "mobile"].contains(&kind.to_lowercase().as_str())
        {
            note.push(format!("Phone {} is a {kind}", ph.number.trim()));
        }
    }
    let address = cu.address.as_ref().and_then(|a| {
        let street = join(
            &[
                join(
                    &a.street
                        .iter()
                        .map(|s| text(&Some(s.clone())))
                        .collect::<Vec<_>>(),
                    ", ",
                ),
                text(&a.apartment).map(|ap| format!("box {ap}")),
            ],
            ", ",
        );
        if let Some(r) = text(&a.region) {
            note.push(format!("Region: {r}"));
        }
        let parts = [
            street,
            text(&a.postal_code),
            text(&a.city),
            text(&a.country).map(|c| c.to_uppercase()),
        ];
        parts.iter().any(Option::is_some).then_some(parts)
    });

    let follow_up = p.timeframe.as_ref().map(|tf| {
        let dates = match (tf.earliest, tf.latest) {
            (Some(e), Some(l)) => Some(format!("between {} and {}", date(e), date(l))),
            (Some(e), None) => Some(format!("from {}", date(e))),
            (None, Some(l)) => Some(format!("by {}", date(l))),
            (None, None) => None,
        };
        let said =
            join(&[text(&tf.description), dates], ", ").unwrap_or_else(|| "not specified".into());
        note.push(format!("Timeframe: {said}"));
        let deadline = tf
            .latest
            .or(tf.earliest)
            .unwrap_or(received_at + Duration::days(7));
        (deadline, format!("Customer timeframe: {said}"))
    });

    for e in &p.extensions {
        note.push(format!("{}: {}", e.path, e.value.trim()));
    }

    let (trade_ins, vehicles): (Vec<&LeadVehicle>, Vec<&LeadVehicle>) =
        p.vehicles.iter().partition(|v| v.interest.is_trade_in());
    InboundLead {
        received_at,
        origin: provider_name.unwrap_or_else(|| c.partner.clone()),
        source_id: c.source_id,
        establishment_id: c.establishment_id,
        contact: InboundContact {
            first_name: first,
            last_name: last,
            company_name: text(&cu.company_name),
            emails: cu
                .emails
                .iter()
                .map(|e| e.trim().to_string())
                .filter(|e| !e.is_empty())
                .collect(),
            phones,
            address,
            language: text(&cu.language),
        },
        note: (!note.is_empty()).then(|| note.join("\n")),
        vehicles: vehicles.into_iter().map(vehicle).collect(),
        trade_ins: trade_ins.into_iter().map(vehicle).collect(),
        follow_up,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lead::*;

    fn connector() -> connector::Model {
        let now = Utc::now();
        connector::Model {
            tenant_id: Uuid::now_v7(),
            id: Uuid::now_v7(),
            partner: "AutoScout24".into(),
            name: "AS24".into(),
            establishment_id: None,
            source_id: Some(Uuid::now_v7()),
            enabled: true,
            secret: String::new(),
            previous_secret: None,
            previous_secret_until: None,
            created_by: None,
            created_at: now,
            updated_at: now,
        }
    }

    fn prospect() -> Prospect {
        Prospect {
            ids: vec![],
            status: ProspectStatus::New,
            request_date: None,
            customer: LeadCustomer::default(),
            vehicles: vec![],
            timeframe: None,
            provider: None,
            vendor: None,
            extensions: vec![],
        }
    }

    #[test]
    fn content_types_pick_the_format() {
        assert_eq!(
            format_of(Some("application/xml; charset=\"ISO-8859-1\"")),
            Some(Format::Adf(Some("ISO-8859-1".into())))
        );
        assert_eq!(format_of(Some("Text/XML")), Some(Format::Adf(None)));
        assert_eq!(
            format_of(Some("application/x-adf+xml")),
            Some(Format::Adf(None))
        );
        assert_eq!(
            format_of(Some("application/json; charset=utf-8")),
            Some(Format::Json)
        );
        assert_eq!(format_of(Some("text/plain")), None);
        assert_eq!(format_of(None), None);
    }

    #[test]
    fn keys_come_from_the_first_id_or_the_webhook() {
        let mut p = prospect();
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

    #[test]
    fn nothing_is_lost_in_the_mapping() {
        let c = connector();
        let at = Utc::now();
        let mut p = prospect();
        p.ids = vec![LeadId {
            value: "42".into(),
            source: Some("mobile.de".into()),
        }];
        p.provider = Some(Provider {
            name: Some("mobile.de".into()),
            service: Some("Leads".into()),
            ..Default::default()
        });
        p.vendor = Some(Vendor {
            id: Some("D1".into()),
            name: Some("Garage".into()),
        });
        p.customer = LeadCustomer {
            full_name: Some("Jan Peeters".into()),
            emails: vec![" jan@example.be ".into()],
            phones: vec![LeadPhone {
                number: "0470 12 34 56".into(),
                kind: Some("fax".into()),
            }],
            comments: Some("Call me".into()),
            ..Default::default()
        };
        p.timeframe = Some(Timeframe {
            description: Some("within 3 months".into()),
            ..Default::default()
        });
        p.extensions = vec![Extension {
            path: "provider/campaign".into(),
            value: "summer".into(),
        }];
        p.vehicles = vec![
            LeadVehicle {
                interest: Interest::TestDrive,
                make: Some("Opel".into()),
                price: Some(21990.0),
                ..Default::default()
            },
            LeadVehicle {
                interest: Interest::TradeIn,
                make: Some("VW".into()),
                price: Some(5000.0),
                appraisal: Some(4500.0),
                ..Default::default()
            },
        ];
        let lead = to_inbound(&p, &c, at);
        assert_eq!(lead.origin, "mobile.de");
        assert_eq!(lead.source_id, c.source_id);
        assert_eq!(lead.contact.last_name.as_deref(), Some("Jan Peeters"));
        assert_eq!(lead.contact.emails, vec!["jan@example.be"]);
        assert_eq!(lead.contact.phones, vec!["0470 12 34 56"]);
        assert_eq!(lead.vehicles.len(), 1);
        assert_eq!(lead.vehicles[0].interest, "test_drive");
        assert_eq!(lead.vehicles[0].amount, Some(21990.0));
        assert_eq!(lead.trade_ins[0].amount, Some(4500.0));
        assert!(
            lead.trade_ins[0]
                .comments
                .as_deref()
                .unwrap()
                .contains("Asking price: 5000 EUR")
        );
        let (deadline, reason) = lead.follow_up.clone().unwrap();
        assert_eq!(deadline, at + Duration::days(7));
        assert_eq!(reason, "Customer timeframe: within 3 months");
        let note = lead.note.unwrap();
        for want in [
            "Call me",
            "Provider: mobile.de (service Leads)",
            "Partner lead id: 42@mobile.de",
            "Addressed to: Garage (partner's dealer id D1)",
            "Phone 0470 12 34 56 is a fax",
            "provider/campaign: summer",
        ] {
            assert!(note.contains(want), "{want:?} missing from {note}");
        }
    }

    #[test]
    fn crm_fields_become_document_paths() {
        assert_eq!(
            prospect_field(1, Some("contact.emails")),
            "prospects[1].customer.emails"
        );
        assert_eq!(prospect_field(0, Some("customer")), "prospects[0].customer");
        assert_eq!(prospect_field(0, None), "prospects[0]");
    }
}
