//! The tables of the module (created by the `m0014_statuses` migration).

/// A status of one entity of a tenant.
pub mod status {
    use sea_orm::entity::prelude::*;

    /// One status: its stable key, labels, order and what it means for the rules.
    #[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
    #[sea_orm(table_name = "statuses")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub tenant_id: Uuid,
        #[sea_orm(primary_key, auto_increment = false)]
        pub id: Uuid,
        /// `opportunity` or `prospect`.
        pub entity: String,
        /// The key records store; never changes.
        pub key: String,
        /// `{fr, nl, en}`.
        pub labels: Json,
        pub position: i32,
        /// `open`, `won` or `lost`.
        pub kind: String,
        pub exempt_from_expiry: bool,
        pub probability: i32,
        /// `#rrggbb`.
        pub colour: Option<String>,
        pub initial: bool,
        pub reserves_vehicle: bool,
        pub archived_at: Option<DateTimeUtc>,
        pub version: i32,
        pub created_at: DateTimeUtc,
        pub updated_at: DateTimeUtc,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

/// An allowed move between two statuses of an entity (enforced under the `listed` policy).
pub mod transition {
    use sea_orm::entity::prelude::*;

    /// `from → to`, with what the move asks for.
    #[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
    #[sea_orm(table_name = "status_transitions")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub tenant_id: Uuid,
        #[sea_orm(primary_key, auto_increment = false)]
        pub id: Uuid,
        pub entity: String,
        /// `None`: from any open status of the entity.
        pub from_status_id: Option<Uuid>,
        pub to_status_id: Uuid,
        pub requires_reason: bool,
        /// A JSON array of field names.
        pub required_fields: Json,
        /// A JSON array of role names; `None` for anyone.
        pub roles: Option<Json>,
        pub created_at: DateTimeUtc,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

/// The transition policy of one entity of a tenant (absent: `free`).
pub mod policy {
    use sea_orm::entity::prelude::*;

    /// `free` or `listed`.
    #[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
    #[sea_orm(table_name = "status_policies")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub tenant_id: Uuid,
        #[sea_orm(primary_key, auto_increment = false)]
        pub id: Uuid,
        pub entity: String,
        pub mode: String,
        pub version: i32,
        pub updated_at: DateTimeUtc,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

forecourt_core::tenant_scoped!(status, transition, policy);
forecourt_core::versioned!(status, policy);
