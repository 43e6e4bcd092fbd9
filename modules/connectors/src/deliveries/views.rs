//! What the delivery log answers.

use super::entities::delivery::{self, replayable_outcome};
use crate::inbound::views::LeadResult;
use base64::{Engine, engine::general_purpose::STANDARD};
use chrono::{DateTime, Utc};
use poem_openapi::Object;
use uuid::Uuid;

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
    /// The delivery, as the list shows it.
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
            replayable: d.replayable(),
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

/// A delivery row without its body and results.
#[derive(Debug, sea_orm::FromQueryResult)]
pub struct Summary {
    pub id: Uuid,
    pub connector_id: Uuid,
    pub webhook_id: Option<String>,
    pub received_at: DateTime<Utc>,
    pub content_type: Option<String>,
    body_sha256: String,
    pub size: i64,
    pub outcome: String,
    pub status_code: i32,
    pub error: Option<serde_json::Value>,
    pub replay_of: Option<Uuid>,
    pub processed_at: Option<DateTime<Utc>>,
    pub body_kept: bool,
}

impl From<Summary> for DeliveryView {
    fn from(s: Summary) -> Self {
        let replayable = s.body_kept && replayable_outcome(&s.outcome);
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
