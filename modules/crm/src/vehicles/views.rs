//! What `/api/v1/vehicles` takes and answers.

use crate::vehicles::entities::vehicle;
use poem_openapi::{Enum, Object};
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
    /// Version or trim.
    #[oai(validator(max_length = 100))]
    pub version: Option<String>,
    /// Model year.
    pub year: i32,
    /// Odometer, in km.
    pub mileage_km: Option<i32>,
    /// Price incl. VAT, in euros (two decimals).
    pub price: f64,
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
    /// Version.
    #[oai(nullable)]
    pub version: Option<String>,
    /// Model year.
    pub year: i32,
    /// Odometer, in km.
    #[oai(nullable)]
    pub mileage_km: Option<i32>,
    /// Price in euros.
    pub price: f64,
    /// Status.
    pub status: VehicleStatus,
    /// Creation time.
    pub created_at: chrono::DateTime<chrono::Utc>,
    /// Last change.
    pub updated_at: chrono::DateTime<chrono::Utc>,
}

impl From<vehicle::Model> for VehicleView {
    fn from(v: vehicle::Model) -> Self {
        VehicleView {
            id: v.id,
            vin: v.vin,
            make: v.make,
            model: v.model,
            version: v.version,
            year: v.year,
            mileage_km: v.mileage_km,
            price: v.price_cents as f64 / 100.0,
            status: VehicleStatus::of(&v.status),
            created_at: v.created_at,
            updated_at: v.updated_at,
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
