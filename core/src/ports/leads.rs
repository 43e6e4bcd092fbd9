//! Leads from partners, in the CRM's terms (filled by `connectors`, landed by `crm`).

use crate::Result;
use chrono::{DateTime, Utc};
use sea_orm::DatabaseTransaction;
use uuid::Uuid;

/// A lead arriving from outside the tenant's users (a partner's connector), in the CRM's
/// terms. The connectors module fills it from ADF or JSON; the CRM decides which contact and
/// which opportunity it lands on.
#[derive(Debug, Clone, Default)]
pub struct InboundLead {
    /// When it arrived: the expiry rule is evaluated at this instant.
    pub received_at: DateTime<Utc>,
    /// Who sent it, for notes and the activity log (`AutoScout24`, `mobile.de`).
    pub origin: String,
    /// The lead source a new opportunity gets.
    pub source_id: Option<Uuid>,
    /// The establishment a new contact and opportunity belong to.
    pub establishment_id: Option<Uuid>,
    /// The customer.
    pub contact: InboundContact,
    /// Text for the opportunity's customer information (the customer's words, the timeframe,
    /// whatever the partner sent that has no field of its own).
    pub note: Option<String>,
    /// Vehicles the customer is interested in.
    pub vehicles: Vec<InboundVehicle>,
    /// Vehicles the customer offers (trade-in or sale).
    pub trade_ins: Vec<InboundVehicle>,
    /// A follow-up to plan: deadline and reason.
    pub follow_up: Option<(DateTime<Utc>, String)>,
}

/// The customer of an inbound lead, as sent (the CRM normalises and validates it).
#[derive(Debug, Clone, Default)]
pub struct InboundContact {
    /// First name.
    pub first_name: Option<String>,
    /// Last name (or the whole name when the partner does not split it).
    pub last_name: Option<String>,
    /// A business name: the lead is a company's.
    pub company_name: Option<String>,
    /// Emails, preferred first.
    pub emails: Vec<String>,
    /// Phones as written, preferred first.
    pub phones: Vec<String>,
    /// Street, postal code, city, country (ISO alpha-2), when given.
    pub address: Option<[Option<String>; 4]>,
    /// Language or locale.
    pub language: Option<String>,
}

/// A vehicle of an inbound lead.
#[derive(Debug, Clone, Default)]
pub struct InboundVehicle {
    /// `buy`, `lease`, `test_drive`, `trade_in` or `sell`.
    pub interest: String,
    /// Make.
    pub make: Option<String>,
    /// Model.
    pub model: Option<String>,
    /// Trim or version.
    pub trim: Option<String>,
    /// Model year.
    pub year: Option<i32>,
    /// VIN: a vehicle of interest with a VIN in stock is linked to it.
    pub vin: Option<String>,
    /// `new` or `used`.
    pub condition: Option<String>,
    /// Odometer in km.
    pub mileage_km: Option<i64>,
    /// Asked or quoted price (vehicle of interest) or appraisal (trade-in), in euros.
    pub amount: Option<f64>,
    /// Free text.
    pub comments: Option<String>,
}

/// What became of an inbound lead.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LeadLanded {
    /// The contact it was matched to or created as.
    pub contact_id: Uuid,
    /// The opportunity it opened or was merged into.
    pub opportunity_id: Uuid,
    /// `true` when merged into the contact's open opportunity, `false` when a new one opened.
    pub merged: bool,
}

/// What the connectors module may ask of the CRM without depending on the `crm` crate.
#[async_trait::async_trait]
pub trait LeadPort<A: Sync>: Send + Sync + 'static {
    /// Lands a lead inside `txn`: matches the contact by normalised email, then phone, within
    /// the tenant (or creates a prospect), refuses a blocked contact (422 `contact_blocked`) or
    /// a lead without a usable email or phone (422 `contact_unreachable`), then merges into
    /// the contact's open opportunity unless it has expired at `received_at`, or opens one.
    async fn land(
        &self,
        app: &A,
        txn: &DatabaseTransaction,
        tenant_id: Uuid,
        lead: &InboundLead,
    ) -> Result<LeadLanded>;
}
