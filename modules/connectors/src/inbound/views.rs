//! What a delivery is answered, and what the log keeps of each prospect.

use forecourt_core::error::Problem;
use poem::http::StatusCode;
use poem_openapi::{ApiResponse, Enum, Object, payload::Json};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use uuid::Uuid;

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

/// The answer to a delivery (or a replay).
#[derive(ApiResponse)]
pub enum InboundAnswer {
    /// At least one prospect was created, merged or already known: `{delivery_id, outcome,
    /// results}`, one result per prospect.
    #[oai(status = 202)]
    Accepted(Json<DeliveryReport>),
    /// Refused, as `application/problem+json` with `delivery_id`: 401 `invalid_signature`,
    /// 403 `tenant_suspended` / `module_not_licensed` / `module_disabled` /
    /// `connector_disabled`, 415 `unsupported_media_type`, 422 for a body that cannot be read
    /// (the parser's `type` and `field`) or `lead_rejected` when every prospect was rejected
    /// (with `results`).
    #[oai(content_type = "application/problem+json")]
    Refused(StatusCode, Json<InboundProblem>),
}

impl From<Answer> for InboundAnswer {
    fn from(a: Answer) -> Self {
        match a {
            Answer::Accepted(r) => InboundAnswer::Accepted(Json(r)),
            Answer::Refused(p) => refused(p),
        }
    }
}

/// The answer of a refused delivery, with its problem's status.
pub fn refused(p: InboundProblem) -> InboundAnswer {
    let status = StatusCode::from_u16(p.status).unwrap_or(StatusCode::UNPROCESSABLE_ENTITY);
    InboundAnswer::Refused(status, Json(p))
}
