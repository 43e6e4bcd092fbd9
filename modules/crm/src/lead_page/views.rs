//! What the lead page answers: actions as read, the history, purchase orders, documents.

use chrono::{DateTime, Utc};
use poem_openapi::{
    ApiResponse, Object,
    payload::{Binary, Json},
    types::{ParseFromJSON, ToJSON, Type},
};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// An action as read: who added it, when, and its fields.
#[derive(Object, Debug, Clone)]
pub struct ActionView<T: Type + ParseFromJSON + ToJSON + Send + Sync> {
    /// Action id.
    pub id: Uuid,
    /// Who added it.
    #[oai(nullable)]
    pub created_by: Option<Uuid>,
    /// When.
    pub created_at: DateTime<Utc>,
    /// The action's fields.
    #[oai(flatten)]
    pub data: T,
}

/// An entry of an opportunity's history.
#[derive(Object)]
pub struct HistoryEntry {
    /// When.
    pub at: DateTime<Utc>,
    /// Who (absent for the system).
    #[oai(nullable)]
    pub actor_user_id: Option<Uuid>,
    /// `user:<id>` or `system:<job>`.
    pub actor: String,
    /// The acting user's name as it is now (absent for the system, or a user no longer
    /// known).
    #[oai(nullable)]
    pub actor_name: Option<String>,
    /// What the entry is about, as people name it: the opportunity's label (its first
    /// contact's name).
    pub label: String,
    /// What, e.g. `created`, `status_changed`, `offer_added`.
    pub action: String,
    /// The details.
    pub changes: serde_json::Value,
}

/// A purchase order to send.
#[derive(Object, Deserialize, Debug, Default)]
#[oai(deny_unknown_fields)]
#[serde(deny_unknown_fields)]
pub struct PurchaseOrderRequest {
    /// `fr`, `nl` or `en`; when absent, the customer's language, else the tenant's.
    #[oai(validator(max_length = 64))]
    pub language: Option<String>,
}

/// A purchase order accepted for delivery.
#[derive(Object, Debug)]
pub struct PurchaseOrderSent {
    /// The mail in the outbox.
    pub mail_id: Uuid,
    /// The customer's address it goes to.
    pub to: String,
    /// The language it was written in.
    pub language: String,
    /// The offer it confirms.
    pub offer_id: Uuid,
}

/// 202: the purchase order is in the outbox.
#[derive(poem_openapi::ApiResponse)]
pub enum PurchaseOrderResponse {
    /// Queued; delivered by the outbox (retried while the mail server is down).
    #[oai(status = 202)]
    Accepted(Json<PurchaseOrderSent>),
}

/// A document as listed and answered after upload.
#[derive(Object, Serialize, Deserialize, Debug, Clone)]
pub struct Document {
    /// Document id; download it at `GET /opportunities/{id}/documents/{document_id}`.
    #[serde(skip)]
    pub id: Uuid,
    /// The file name shown to users (the client's name, without any path).
    pub filename: String,
    /// Its media type, one of the allowed types.
    pub content_type: String,
    /// Its size in bytes.
    pub size: i64,
    /// SHA-256 of its content, hex.
    pub sha256: String,
    /// Who uploaded it.
    #[serde(skip)]
    #[oai(nullable)]
    pub created_by: Option<Uuid>,
    /// When.
    #[serde(skip)]
    pub created_at: DateTime<Utc>,
}

/// A document's content.
#[derive(ApiResponse)]
pub enum Download {
    /// The file, with its type and name.
    #[oai(status = 200)]
    File(
        Binary<Vec<u8>>,
        #[oai(header = "content-type")] String,
        #[oai(header = "content-disposition")] String,
        #[oai(header = "x-content-type-options")] String,
    ),
}
