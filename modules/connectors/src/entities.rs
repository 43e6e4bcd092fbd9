//! The connectors tables (migration `m0008_connectors`).

/// A partner's connector: where its leads land and the secret that signs them.
pub mod connector {
    use sea_orm::entity::prelude::*;

    /// A connector of a tenant.
    #[derive(Clone, PartialEq, DeriveEntityModel)]
    #[sea_orm(table_name = "connectors")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub tenant_id: Uuid,
        #[sea_orm(primary_key, auto_increment = false)]
        pub id: Uuid,
        pub partner: String,
        pub name: String,
        pub establishment_id: Option<Uuid>,
        pub source_id: Option<Uuid>,
        pub enabled: bool,
        /// `whsec_<base64>`, kept as given: the HMAC key must be read back to verify.
        pub secret: String,
        pub previous_secret: Option<String>,
        pub previous_secret_until: Option<DateTimeUtc>,
        pub created_by: Option<Uuid>,
        pub created_at: DateTimeUtc,
        pub updated_at: DateTimeUtc,
    }

    // By hand, so the secrets never reach a log line.
    impl std::fmt::Debug for Model {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.debug_struct("Connector")
                .field("tenant_id", &self.tenant_id)
                .field("id", &self.id)
                .field("partner", &self.partner)
                .field("name", &self.name)
                .field("enabled", &self.enabled)
                .finish_non_exhaustive()
        }
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

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
}

/// The idempotency key of a lead a connector landed.
pub mod connector_lead {
    use sea_orm::entity::prelude::*;

    /// A landed lead.
    #[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
    #[sea_orm(table_name = "connector_leads")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub tenant_id: Uuid,
        #[sea_orm(primary_key, auto_increment = false)]
        pub connector_id: Uuid,
        #[sea_orm(primary_key, auto_increment = false)]
        pub lead_key: String,
        pub delivery_id: Uuid,
        pub contact_id: Option<Uuid>,
        pub opportunity_id: Option<Uuid>,
        pub created_at: DateTimeUtc,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}
