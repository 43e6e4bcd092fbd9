//! The delivery log table (migration `m0008_connectors`).

/// One delivery to a connector's inbound endpoint (or a replay of one), as received.
pub mod delivery {
    use sea_orm::entity::prelude::*;

    /// A delivery.
    #[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
    #[sea_orm(table_name = "connector_deliveries")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub tenant_id: Uuid,
        #[sea_orm(primary_key, auto_increment = false)]
        pub id: Uuid,
        pub connector_id: Uuid,
        pub webhook_id: Option<String>,
        pub received_at: DateTimeUtc,
        pub content_type: Option<String>,
        /// The raw body; `None` when the signature check failed.
        pub body: Option<Vec<u8>>,
        pub body_sha256: String,
        pub size: i64,
        /// `received` while processing, then `accepted`, `partial`, `duplicate` or `rejected`.
        pub outcome: String,
        pub status_code: i32,
        /// The problem document answered, when the delivery was refused.
        pub error: Option<Json>,
        /// One result per prospect.
        pub results: Json,
        pub replay_of: Option<Uuid>,
        pub processed_at: Option<DateTimeUtc>,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}

    impl Model {
        /// Whether it may be replayed: it was refused or partly refused (or its processing
        /// was interrupted), and its body is kept.
        pub fn replayable(&self) -> bool {
            self.body.is_some() && replayable_outcome(&self.outcome)
        }
    }

    /// Whether a delivery with this outcome may be replayed, its body being kept.
    pub fn replayable_outcome(outcome: &str) -> bool {
        matches!(outcome, "rejected" | "partial" | "received")
    }
}

forecourt_core::tenant_scoped!(delivery);
