//! The lead as intake sees it, whichever format it arrived in. The JSON lead format is this
//! type itself; the ADF parser (the `adf` module) produces it too, so processing has one input.

use chrono::{DateTime, Utc};
use poem_openapi::{Enum, Object};
use serde::Deserialize;

/// A lead document: one or more prospects, each processed on its own.
#[derive(Object, Deserialize, Debug, Clone, PartialEq)]
#[oai(deny_unknown_fields)]
#[serde(deny_unknown_fields)]
pub struct LeadDocument {
    /// The prospects (leads) in this document, at least one.
    pub prospects: Vec<Prospect>,
}

/// One lead: a customer asking about vehicles, as a partner sent it.
#[derive(Object, Deserialize, Debug, Clone, PartialEq)]
#[cfg_attr(test, derive(Default))]
#[oai(deny_unknown_fields)]
#[serde(deny_unknown_fields)]
pub struct Prospect {
    /// The partner's identifiers of this lead (ADF `prospect/id`). The first one, as
    /// `value@source`, makes the delivery idempotent: the same lead sent twice lands once.
    #[oai(default)]
    #[serde(default)]
    pub ids: Vec<LeadId>,
    /// `new` for a first delivery, `resend` for a re-delivery of a lead already sent.
    #[oai(default)]
    #[serde(default)]
    pub status: ProspectStatus,
    /// When the customer made the request (ADF `requestdate`).
    pub request_date: Option<DateTime<Utc>>,
    /// The customer.
    pub customer: LeadCustomer,
    /// Vehicles the customer is interested in, or offers as a trade-in or for sale.
    #[oai(default)]
    #[serde(default)]
    pub vehicles: Vec<LeadVehicle>,
    /// When the customer intends to buy (ADF `customer/timeframe`).
    pub timeframe: Option<Timeframe>,
    /// The service that originated the lead (ADF `provider`); names the source.
    pub provider: Option<Provider>,
    /// The dealer the lead is addressed to, as the partner knows it (ADF `vendor`).
    pub vendor: Option<Vendor>,
    /// Elements the format does not define, kept as `path = text` rather than dropped.
    #[oai(default)]
    #[serde(default)]
    pub extensions: Vec<Extension>,
}

/// A partner's identifier of a lead.
#[derive(Object, Deserialize, Debug, Clone, PartialEq)]
#[oai(deny_unknown_fields)]
#[serde(deny_unknown_fields)]
pub struct LeadId {
    /// The identifier.
    #[oai(validator(max_length = 200))]
    pub value: String,
    /// The system that issued it (ADF `id@source`).
    #[oai(validator(max_length = 200))]
    pub source: Option<String>,
}

/// Whether a lead is sent for the first time.
#[derive(Enum, Deserialize, Debug, Clone, Copy, PartialEq, Eq, Default)]
#[oai(rename_all = "lowercase")]
#[serde(rename_all = "lowercase")]
pub enum ProspectStatus {
    /// A first delivery.
    #[default]
    New,
    /// A re-delivery of a lead sent before.
    Resend,
}

/// The customer of a lead.
#[derive(Object, Deserialize, Debug, Clone, PartialEq, Default)]
#[oai(deny_unknown_fields)]
#[serde(deny_unknown_fields)]
pub struct LeadCustomer {
    /// First name.
    #[oai(validator(max_length = 200))]
    pub first_name: Option<String>,
    /// Middle name.
    #[oai(validator(max_length = 200))]
    pub middle_name: Option<String>,
    /// Last name.
    #[oai(validator(max_length = 200))]
    pub last_name: Option<String>,
    /// The whole name, when the partner does not split it.
    #[oai(validator(max_length = 200))]
    pub full_name: Option<String>,
    /// The business, when the customer is a company (ADF `name@type=business`).
    #[oai(validator(max_length = 200))]
    pub company_name: Option<String>,
    /// Email addresses, preferred first.
    #[oai(default)]
    #[serde(default)]
    #[oai(validator(max_length = 254))]
    pub emails: Vec<String>,
    /// Phone numbers, preferred first, as the partner wrote them.
    #[oai(default)]
    #[serde(default)]
    pub phones: Vec<LeadPhone>,
    /// Postal address.
    pub address: Option<LeadAddress>,
    /// The customer's own words (ADF `customer/comments`).
    #[oai(validator(max_length = 10000))]
    pub comments: Option<String>,
    /// The customer's language or locale (`fr`, `nl-BE`), when the partner knows it.
    #[oai(validator(max_length = 64))]
    pub language: Option<String>,
}

/// A phone number of a lead.
#[derive(Object, Deserialize, Debug, Clone, PartialEq)]
#[oai(deny_unknown_fields)]
#[serde(deny_unknown_fields)]
pub struct LeadPhone {
    /// The number as written (`0470 12 34 56`, `+32 470 12 34 56`).
    #[oai(validator(max_length = 64))]
    pub number: String,
    /// `voice`, `cellphone`, `fax`, `pager`, or what the partner wrote.
    #[oai(validator(max_length = 64))]
    pub kind: Option<String>,
}

/// A postal address of a lead.
#[derive(Object, Deserialize, Debug, Clone, PartialEq, Default)]
#[oai(deny_unknown_fields)]
#[serde(deny_unknown_fields)]
pub struct LeadAddress {
    /// Street lines, in order.
    #[oai(default)]
    #[serde(default)]
    #[oai(validator(max_length = 200))]
    pub street: Vec<String>,
    /// Apartment or box.
    #[oai(validator(max_length = 200))]
    pub apartment: Option<String>,
    /// City.
    #[oai(validator(max_length = 200))]
    pub city: Option<String>,
    /// Region or province code.
    #[oai(validator(max_length = 200))]
    pub region: Option<String>,
    /// Postal code.
    #[oai(validator(max_length = 64))]
    pub postal_code: Option<String>,
    /// Country, ISO 3166 alpha-2.
    #[oai(validator(max_length = 64))]
    pub country: Option<String>,
}

/// What the customer wants to do with a vehicle.
#[derive(Enum, Deserialize, Debug, Clone, Copy, PartialEq, Eq, Default)]
#[oai(rename_all = "snake_case")]
#[serde(rename_all = "snake_case")]
pub enum Interest {
    /// Buy it (a vehicle of interest).
    #[default]
    Buy,
    /// Lease it (a vehicle of interest).
    Lease,
    /// Test-drive it (a vehicle of interest and a test drive to schedule).
    TestDrive,
    /// Trade it in (a trade-in).
    TradeIn,
    /// Sell it to the dealer (a trade-in).
    Sell,
}

impl Interest {
    /// Whether the vehicle is the customer's own, offered to the dealer.
    pub fn is_trade_in(self) -> bool {
        matches!(self, Interest::TradeIn | Interest::Sell)
    }
}

/// New or used.
#[derive(Enum, Deserialize, Debug, Clone, Copy, PartialEq, Eq)]
#[oai(rename_all = "lowercase")]
#[serde(rename_all = "lowercase")]
pub enum VehicleCondition {
    /// New.
    New,
    /// Used.
    Used,
}

/// A vehicle in a lead.
#[derive(Object, Deserialize, Debug, Clone, PartialEq, Default)]
#[oai(deny_unknown_fields)]
#[serde(deny_unknown_fields)]
pub struct LeadVehicle {
    /// What the customer wants to do with it.
    #[oai(default)]
    #[serde(default)]
    pub interest: Interest,
    /// New or used.
    pub status: Option<VehicleCondition>,
    /// Model year.
    pub year: Option<i32>,
    /// Make.
    #[oai(validator(max_length = 200))]
    pub make: Option<String>,
    /// Model.
    #[oai(validator(max_length = 200))]
    pub model: Option<String>,
    /// Trim or version.
    #[oai(validator(max_length = 200))]
    pub trim: Option<String>,
    /// VIN; a vehicle of interest whose VIN matches a stock vehicle is linked to it.
    #[oai(validator(max_length = 64))]
    pub vin: Option<String>,
    /// The dealer's stock number; matched against stock after the VIN.
    #[oai(validator(max_length = 64))]
    pub stock: Option<String>,
    /// Odometer in km (miles are converted).
    pub mileage_km: Option<i64>,
    /// `excellent`, `good`, `fair`, `poor` or `unknown`.
    #[oai(validator(max_length = 64))]
    pub condition: Option<String>,
    /// Asked or quoted price, in the currency below.
    pub price: Option<f64>,
    /// Appraisal of a trade-in, in the currency below.
    pub appraisal: Option<f64>,
    /// ISO 4217 currency of the amounts (EUR when absent).
    #[oai(validator(max_length = 64))]
    pub currency: Option<String>,
    /// Free text about the vehicle.
    #[oai(validator(max_length = 10000))]
    pub comments: Option<String>,
}

/// When the customer intends to buy.
#[derive(Object, Deserialize, Debug, Clone, PartialEq, Default)]
#[oai(deny_unknown_fields)]
#[serde(deny_unknown_fields)]
pub struct Timeframe {
    /// In words ("within 3 months").
    #[oai(validator(max_length = 2000))]
    pub description: Option<String>,
    /// Earliest date.
    pub earliest: Option<DateTime<Utc>>,
    /// Latest date; becomes the follow-up deadline.
    pub latest: Option<DateTime<Utc>>,
}

/// The service that originated a lead.
#[derive(Object, Deserialize, Debug, Clone, PartialEq, Default)]
#[oai(deny_unknown_fields)]
#[serde(deny_unknown_fields)]
pub struct Provider {
    /// Its name (AutoScout24, mobile.de, ...).
    #[oai(validator(max_length = 200))]
    pub name: Option<String>,
    /// The service or campaign within it.
    #[oai(validator(max_length = 200))]
    pub service: Option<String>,
    /// Its web address.
    #[oai(validator(max_length = 2000))]
    pub url: Option<String>,
    /// Its email.
    #[oai(validator(max_length = 254))]
    pub email: Option<String>,
    /// Its phone.
    #[oai(validator(max_length = 64))]
    pub phone: Option<String>,
}

/// The dealer a lead is addressed to, as the partner knows it.
#[derive(Object, Deserialize, Debug, Clone, PartialEq, Default)]
#[oai(deny_unknown_fields)]
#[serde(deny_unknown_fields)]
pub struct Vendor {
    /// The partner's id of the dealer.
    #[oai(validator(max_length = 200))]
    pub id: Option<String>,
    /// The dealer's name.
    #[oai(validator(max_length = 200))]
    pub name: Option<String>,
}

/// An element the format does not define, kept with its text.
#[derive(Object, Deserialize, Debug, Clone, PartialEq)]
#[oai(deny_unknown_fields)]
#[serde(deny_unknown_fields)]
pub struct Extension {
    /// Its path below the prospect (`provider/campaign`).
    #[oai(validator(max_length = 2000))]
    pub path: String,
    /// Its text.
    #[oai(validator(max_length = 10000))]
    pub value: String,
}
