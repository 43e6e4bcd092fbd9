//! What `/api/v1/vehicles` takes and answers.

use crate::vehicles::entities::vehicle;
use forecourt_core::money::Money;
use poem_openapi::{Enum, Object, payload::Json, types::MaybeUndefined};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// Where a stock vehicle stands.
#[derive(Enum, Serialize, Deserialize, Debug, Clone, Copy, PartialEq, Eq)]
#[oai(rename_all = "snake_case")]
#[serde(rename_all = "snake_case")]
pub enum VehicleStatus {
    /// Available.
    InStock,
    /// Held for a customer.
    Reserved,
    /// Sold.
    Sold,
}

impl VehicleStatus {
    /// The stored key.
    pub fn key(self) -> &'static str {
        match self {
            VehicleStatus::InStock => "in_stock",
            VehicleStatus::Reserved => "reserved",
            VehicleStatus::Sold => "sold",
        }
    }

    /// The status of a stored key; anything unknown counts as in stock.
    pub fn of(key: &str) -> Self {
        match key {
            "reserved" => VehicleStatus::Reserved,
            "sold" => VehicleStatus::Sold,
            _ => VehicleStatus::InStock,
        }
    }
}

/// A stock vehicle.
#[derive(Object, Serialize, Deserialize, Debug, Clone)]
#[oai(deny_unknown_fields)]
#[serde(deny_unknown_fields)]
pub struct VehicleBody {
    /// Vehicle identification number: 17 characters, letters (not I, O, Q) and digits.
    #[oai(validator(max_length = 32))]
    pub vin: String,
    /// Make, e.g. `Opel`.
    #[oai(validator(max_length = 60))]
    pub make: String,
    /// Model, e.g. `Corsa`.
    #[oai(validator(max_length = 60))]
    pub model: String,
    /// Trim, e.g. `1.2 Turbo GS Line`.
    #[oai(validator(max_length = 100))]
    pub trim: Option<String>,
    /// Model year.
    pub year: i32,
    /// Odometer, in km.
    pub mileage_km: Option<i32>,
    /// Price incl. VAT, in integer cents (`2590000` is 25,900.00 euros).
    pub price: Money,
    /// `in_stock` (default), `reserved` or `sold`.
    pub status: Option<VehicleStatus>,
}

/// A stock vehicle as read.
#[derive(Object, Debug, Clone)]
pub struct VehicleView {
    /// Vehicle id.
    pub id: Uuid,
    /// VIN.
    pub vin: String,
    /// Make.
    pub make: String,
    /// Model.
    pub model: String,
    /// Trim.
    #[oai(nullable)]
    pub trim: Option<String>,
    /// Model year.
    pub year: i32,
    /// Odometer, in km.
    #[oai(nullable)]
    pub mileage_km: Option<i32>,
    /// Price incl. VAT, in integer cents.
    pub price: Money,
    /// Status.
    pub status: VehicleStatus,
    /// Creation time.
    pub created_at: chrono::DateTime<chrono::Utc>,
    /// Last change.
    pub updated_at: chrono::DateTime<chrono::Utc>,
    /// Bumped by every change to the vehicle; its `ETag`.
    pub version: i32,
}

/// Changes to a stock vehicle: absent fields stay, `null` clears an optional one.
#[derive(Object, Deserialize, Debug, Default)]
#[oai(deny_unknown_fields)]
#[serde(deny_unknown_fields)]
pub struct VehiclePatch {
    /// VIN (a correction; still unique in the tenant).
    #[oai(validator(max_length = 32))]
    pub vin: Option<String>,
    /// Make.
    #[oai(validator(max_length = 60))]
    pub make: Option<String>,
    /// Model.
    #[oai(validator(max_length = 60))]
    pub model: Option<String>,
    /// Trim; `null` clears it.
    #[serde(default)]
    #[oai(validator(max_length = 100))]
    pub trim: MaybeUndefined<String>,
    /// Model year.
    pub year: Option<i32>,
    /// Odometer, in km; `null` clears it.
    #[serde(default)]
    pub mileage_km: MaybeUndefined<i32>,
    /// Price incl. VAT, in integer cents.
    pub price: Option<Money>,
    /// `in_stock`, `reserved` or `sold`.
    pub status: Option<VehicleStatus>,
}

/// A stock vehicle with its `ETag` (send it back as `If-Match` to change it safely).
#[derive(poem_openapi::ApiResponse)]
pub enum VehicleResponse {
    /// The vehicle.
    #[oai(status = 200)]
    Ok(Json<VehicleView>, #[oai(header = "ETag")] String),
}

impl From<vehicle::Model> for VehicleResponse {
    fn from(v: vehicle::Model) -> Self {
        let tag = forecourt_core::http::etag(v.version);
        VehicleResponse::Ok(Json(v.into()), tag)
    }
}

impl From<vehicle::Model> for VehicleView {
    fn from(v: vehicle::Model) -> Self {
        VehicleView {
            id: v.id,
            vin: v.vin,
            make: v.make,
            model: v.model,
            trim: v.trim,
            year: v.year,
            mileage_km: v.mileage_km,
            // Stored values are checked on the way in; a row edited by hand beyond the range
            // reads as zero rather than failing the whole list.
            price: Money::from_cents(v.price_cents).unwrap_or_default(),
            status: VehicleStatus::of(&v.status),
            created_at: v.created_at,
            updated_at: v.updated_at,
            version: v.version,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::VehicleStatus;

    #[test]
    fn status_keys_are_the_serialised_names() {
        for s in [
            VehicleStatus::InStock,
            VehicleStatus::Reserved,
            VehicleStatus::Sold,
        ] {
            assert_eq!(serde_json::to_value(s).unwrap(), s.key());
            assert_eq!(VehicleStatus::of(s.key()), s);
        }
    }
}
