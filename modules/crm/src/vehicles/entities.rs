//! The `vehicles` tables.

/// A stock vehicle.
pub mod vehicle {
    use sea_orm::entity::prelude::*;
    #[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
    #[sea_orm(table_name = "vehicles")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub tenant_id: Uuid,
        #[sea_orm(primary_key, auto_increment = false)]
        pub id: Uuid,
        pub vin: String,
        pub make: String,
        pub model: String,
        pub trim: Option<String>,
        pub year: i32,
        pub mileage_km: Option<i32>,
        pub price_cents: i64,
        pub status: String,
        pub establishment_id: Option<Uuid>,
        pub created_at: DateTimeUtc,
        pub updated_at: DateTimeUtc,
        pub version: i32,
    }
    no_relations!();
}

forecourt_core::tenant_scoped!(vehicle);
forecourt_core::versioned!(vehicle);
